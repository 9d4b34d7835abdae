/* leak.c - bug: the health check returns early on a bad answer and forgets to close its socket;
 * it runs every few seconds, so a service leaks one socket per failed check. */
#include "common.h"

#define CHECKS 3

static int leak_server_fd;

static void answer_bad(int fd)
{
	char buf[64];
	for (int i = 0;; i++) { /* the first connection is served by server_main, the rest here */
		if (recv(fd, buf, sizeof buf, 0) > 0)
			send(fd, "503\n", 4, 0);
		close(fd);
		if (i + 1 == CHECKS || (fd = accept(leak_server_fd, NULL, NULL)) < 0)
			return;
		set_rcvtimeo(fd, 10);
	}
}

static int health_check(int port)
{
	char buf[16] = {0};
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	send(fd, "HEALTH\n", 7, 0);
	if (recv(fd, buf, sizeof buf - 1, 0) <= 0 || strncmp(buf, "200", 3) != 0)
		return -1; /* leaks fd */
	close(fd);
	return 0;
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, answer_bad), failed = 0;
	leak_server_fd = srv.lfd;
	for (int i = 0; i < CHECKS; i++)
		failed += health_check(port) != 0;
	pthread_join(srv.thread, NULL);
	fprintf(stderr, "leak: %d of %d health checks failed\n", failed, CHECKS);
	return 0;
}
