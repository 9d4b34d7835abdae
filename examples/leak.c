/* leak.c - bug: the health check returns early on a bad answer and forgets to close its socket. */
#include "common.h"

static void answer_bad(int fd)
{
	char buf[64];
	if (recv(fd, buf, sizeof buf, 0) > 0)
		send(fd, "503\n", 4, 0);
	close(fd);
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
	int port = server_start(&srv, answer_bad);
	int ok = health_check(port);
	pthread_join(srv.thread, NULL);
	fprintf(stderr, "leak: health check %s\n", ok == 0 ? "passed" : "failed");
	return 0;
}
