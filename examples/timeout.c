/* timeout.c - bug: connecting to a server whose accept queue is full; the handshake never
 * completes and the client gives up after its own 1 s deadline. */
#include <fcntl.h>
#include <poll.h>
#include "common.h"

static int connect_with_deadline(int port, int ms)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	if (errno != EINPROGRESS)
		die("connect");
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, ms) == 1) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err == 0)
			return fd;
	}
	close(fd); /* gave up: the kernel was still retrying the SYN */
	return -1;
}

int main(void)
{
	int port, lfd = listen_local(0, &port); /* backlog 0, never accepted: the queue fills */
	int held[4], n = 0, fd;
	/* the first connections fill the queue; then handshakes stall */
	while (n < 4 && (fd = connect_with_deadline(port, 1000)) >= 0)
		held[n++] = fd;
	if (n == 4) {
		fprintf(stderr, "timeout: the accept queue never filled\n");
		return 2;
	}
	fprintf(stderr, "timeout: connection %d timed out after 1 s\n", n + 1);
	while (n > 0)
		close(held[--n]);
	close(lfd);
	return 1;
}
