/* no_timeout.c - bug: a blocking read with no timeout; a slow server stalls the client (1.5 s here,
 * forever in production). */
#include <time.h>
#include "common.h"

static void slow_reply(int fd)
{
	char buf[64];
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 500000000};
	if (recv(fd, buf, sizeof buf, 0) <= 0)
		die("server recv");
	nanosleep(&pause, NULL); /* the scenario: a server that answers late */
	send(fd, "pong\n", 5, 0);
	close(fd);
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, slow_reply);
	int fd = dial_local(port); /* no SO_RCVTIMEO, no poll: can hang forever */
	char buf[64];
	send(fd, "ping\n", 5, 0);
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	fprintf(stderr, "no_timeout: got %zd bytes\n", n);
	close(fd);
	pthread_join(srv.thread, NULL);
	return 0;
}
