/* addr_in_use.c - bug: a server restarts on its port without SO_REUSEADDR. It closed a client
 * connection first, so that connection sits in TIME_WAIT for a minute, and the new bind() is
 * refused: the restart fails until TIME_WAIT ends. */
#include "common.h"

static int bind_port(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	/* the bug: no SO_REUSEADDR */
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr, "addr_in_use: bind port %d: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(void)
{
	int port, lfd = listen_local(4, &port);
	close(lfd); /* only to learn a free port */
	lfd = bind_port(port);
	if (lfd < 0 || listen(lfd, 4) < 0)
		die("first start");
	int c = dial_local(port), fd = accept(lfd, NULL, NULL);
	char buf[4];
	set_rcvtimeo(c, 10);
	close(fd); /* the server closes first: its side goes to TIME_WAIT */
	recv(c, buf, sizeof buf, 0);
	close(c);
	close(lfd);
	lfd = bind_port(port); /* the restart */
	if (lfd < 0)
		return 1;
	close(lfd);
	return 0;
}
