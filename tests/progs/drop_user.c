/* drop_user.c - started as root, becomes nobody the way dnsmasq does (capabilities dropped to
 * CAP_SETUID first, then setgid and setuid), then makes a refused connect in a forked child and in
 * a program it execs: each must be recorded, though root's run directory is not nobody's. */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "../../examples/common.h"

static void refused(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = local_addr(port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		die("connect succeeded");
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc == 3) { /* the exec'd image, already nobody */
		refused(atoi(argv[2]));
		printf("drop_user: exec'd as uid %d\n", (int)geteuid());
		return 0;
	}
	int port, ls = listen_local(1, &port);
	close(ls);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{1u << CAP_SETUID, 1u << CAP_SETUID, 0}, {0, 0, 0}};
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || syscall(SYS_capset, &h, d) != 0 || setuid(65534) != 0)
		die("becoming nobody");
	pid_t pid = fork();
	if (pid == 0) {
		refused(port);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	fflush(stdout);
	execl("/proc/self/exe", argv[0], "exec", p, (char *)NULL);
	die("exec");
}
