/* silent_upstream.c - bug (in the peer): a proxy forwards a request to an upstream that accepts it
 * and never answers. The proxy waits 2 s (like nginx's proxy_read_timeout) and gives up: its
 * client gets a 504. Nothing failed at the socket level; the request was just never answered. */
#include <poll.h>
#include "common.h"

static void swallow(int fd)
{
	char buf[512];
	/* reads the request, then sits on it until the proxy hangs up */
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
	close(fd);
}

static int forward(int port, const char *req)
{
	int fd = dial_local(port);
	if (send(fd, req, strlen(req), 0) < 0)
		die("send");
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int ready = poll(&p, 1, 2000); /* proxy_read_timeout 2s */
	close(fd);
	return ready > 0;
}

int main(void)
{
	struct server upstream;
	int port = server_start(&upstream, swallow);
	int ok = forward(port, "GET /api/orders HTTP/1.1\r\nHost: upstream\r\n\r\n");
	fprintf(stderr, "silent_upstream: %s\n", ok ? "200" : "504 Gateway Time-out");
	pthread_join(upstream.thread, NULL);
	return ok ? 0 : 1;
}
