/* fork_after_read.c - one blocking read without timeout, then three children forked that never
 * touch the socket: the finding is the parent's alone. */
#include "../../examples/common.h"
#include <sys/wait.h>

static void reply(int fd)
{
	char c;
	if (read(fd, &c, 1) == 1 && write(fd, "!", 1) == 1)
		read(fd, &c, 1); /* until the client closes */
	close(fd);
}

int main(void)
{
	struct server s;
	int port = server_start(&s, reply), fd = dial_local(port);
	char c;
	if (write(fd, "?", 1) != 1 || read(fd, &c, 1) != 1) /* blocking, no timeout */
		die("read");
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	close(fd);
	pthread_join(s.thread, NULL);
	printf("done\n");
	return 0;
}
