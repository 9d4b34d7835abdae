/* use_after_close.c - bug: a connection helper closes the socket on error, and its caller, which
 * still holds the number, sends on it and closes it again. In a threaded program the number may
 * already belong to another file by then. */
#include "common.h"

struct conn {
	int fd;
};

static int conn_check(struct conn *c)
{
	char buf[8];
	if (recv(c->fd, buf, sizeof buf, MSG_DONTWAIT) == 0) { /* the peer hung up */
		close(c->fd); /* the bug: c->fd still holds the number */
		return -1;
	}
	return 0;
}

static void hang_up(int fd)
{
	close(fd);
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, hang_up);
	struct conn c = {.fd = dial_local(port)};
	pthread_join(srv.thread, NULL);
	char buf[8];
	set_rcvtimeo(c.fd, 10);
	recv(c.fd, buf, sizeof buf, MSG_PEEK); /* wait for the hang-up */
	if (conn_check(&c) < 0) {
		if (send(c.fd, "quit\n", 5, MSG_NOSIGNAL) < 0)
			fprintf(stderr, "use_after_close: send: %s\n", strerror(errno));
		close(c.fd); /* and a double close */
	}
	return 0;
}
