/* reset.c - bug: the client assumes the server always answers; the server aborts (RST) instead. */
#include "common.h"

static void abort_after_request(int fd)
{
	char buf[64];
	struct linger l = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
	if (recv(fd, buf, sizeof buf, 0) <= 0)
		die("server recv");
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, abort_after_request);
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	char buf[64];
	send(fd, "GET\n", 4, 0);
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n < 0)
		fprintf(stderr, "reset: reading the reply failed: %s\n", strerror(errno));
	close(fd);
	pthread_join(srv.thread, NULL);
	return n < 0;
}
