/* churn.c - bug: a client opens a new connection for every request to the same server (no
 * keep-alive, no pool): 150 handshakes where one would do, and 150 ports in TIME_WAIT.
 *
 *	churn          each connection closed after its exchange
 *	churn idle     each left open and idle after it (a pool made per request keeps it), to the end
 *	churn linger   ... and closed 1.5 s after the last exchange */
#include <string.h>
#include "common.h"

#define REQUESTS 150

static int keep; /* idle, linger: connections stay open after their exchange */

static void serve_all(int lfd)
{
	int kept[REQUESTS];
	for (int i = 0; i < REQUESTS; i++) {
		int fd = accept(lfd, NULL, NULL);
		char buf[32];
		if (fd < 0)
			die("accept");
		set_rcvtimeo(fd, 10);
		if (recv(fd, buf, sizeof buf, 0) > 0)
			send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38, 0);
		kept[i] = fd;
		if (!keep)
			recv(fd, buf, sizeof buf, 0); /* until the client closes */
	}
	for (int i = 0; i < REQUESTS; i++)
		close(kept[i]);
}

static void *server(void *arg)
{
	serve_all(*(int *)arg);
	return NULL;
}

static int get(int port, int i)
{
	char req[32], buf[64];
	int fd = dial_local(port); /* the bug: a connection per request */
	set_rcvtimeo(fd, 10);
	int n = snprintf(req, sizeof req, "GET /item/%d\r\n\r\n", i);
	send(fd, req, (size_t)n, 0);
	recv(fd, buf, sizeof buf, 0);
	if (!keep)
		close(fd);
	return fd;
}

int main(int argc, char **argv)
{
	int port, lfd = listen_local(64, &port), fds[REQUESTS];
	const char *mode = argc > 1 ? argv[1] : "";
	pthread_t t;
	keep = !strcmp(mode, "idle") || !strcmp(mode, "linger");
	pthread_create(&t, NULL, server, &lfd);
	for (int i = 0; i < REQUESTS; i++)
		fds[i] = get(port, i);
	if (!strcmp(mode, "linger")) {
		struct timespec idle = {1, 500000000};
		nanosleep(&idle, NULL);
		for (int i = 0; i < REQUESTS; i++)
			close(fds[i]);
	}
	if (keep && strcmp(mode, "linger"))
		_exit(0); /* the connections still open, as a program's pools are at its exit */
	pthread_join(t, NULL);
	close(lfd);
	fprintf(stderr, "churn: %d requests, %d connections\n", REQUESTS, REQUESTS);
	return 0;
}
