/* forkexec.c N [nosocket] - process start: forks and execs N one-connection clients one after
 * another (each connects to this process's listener, sends a byte and exits; this process accepts
 * it), and prints the wall time of the whole in microseconds. A test suite starts processes like
 * this; under socklens each one creates its log. With nosocket the children exit at once and
 * nothing listens: a build system's processes, which under socklens make no log. */
#include "../examples/common.h"
#include <sys/wait.h>
#include <time.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "quiet") == 0)
		return 0;
	if (argc == 3 && strcmp(argv[1], "client") == 0) {
		int fd = dial_local(atoi(argv[2]));
		char c = 'x';
		if (write(fd, &c, 1) != 1)
			die("client write");
		close(fd);
		return 0;
	}
	int n = argc > 1 ? atoi(argv[1]) : 100, port = 0;
	int quiet = argc > 2 && strcmp(argv[2], "nosocket") == 0;
	int lfd = quiet ? -1 : listen_local(128, &port);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);
	uint64_t t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (quiet)
				execl("/proc/self/exe", argv[0], "quiet", (char *)NULL);
			close(lfd);
			execl("/proc/self/exe", argv[0], "client", portarg, (char *)NULL);
			_exit(127);
		}
		char c;
		int status;
		if (!quiet) {
			int cfd = accept(lfd, NULL, NULL);
			if (cfd < 0 || read(cfd, &c, 1) != 1)
				die("accept");
			close(cfd);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("client");
	}
	printf("%llu\n", (unsigned long long)(now_us() - t0));
	if (!quiet)
		close(lfd);
	return 0;
}
