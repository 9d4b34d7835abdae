/* churn.c - bug: a client opens a new connection for every request to the same server (no
 * keep-alive, no pool): 150 handshakes where one would do, and 150 ports in TIME_WAIT. */
#include "common.h"

#define REQUESTS 150

static void serve_all(int lfd)
{
	for (int i = 0; i < REQUESTS; i++) {
		int fd = accept(lfd, NULL, NULL);
		char buf[32];
		if (fd < 0)
			die("accept");
		set_rcvtimeo(fd, 10);
		if (recv(fd, buf, sizeof buf, 0) > 0)
			send(fd, "HTTP/1.0 200 OK\r\n\r\n", 19, 0);
		recv(fd, buf, sizeof buf, 0); /* until the client closes */
		close(fd);
	}
}

static void *server(void *arg)
{
	serve_all(*(int *)arg);
	return NULL;
}

static void get(int port, int i)
{
	char req[32], buf[64];
	int fd = dial_local(port); /* the bug: a connection per request */
	set_rcvtimeo(fd, 10);
	int n = snprintf(req, sizeof req, "GET /item/%d\r\n\r\n", i);
	send(fd, req, (size_t)n, 0);
	recv(fd, buf, sizeof buf, 0);
	close(fd);
}

int main(void)
{
	int port, lfd = listen_local(64, &port);
	pthread_t t;
	pthread_create(&t, NULL, server, &lfd);
	for (int i = 0; i < REQUESTS; i++)
		get(port, i);
	pthread_join(t, NULL);
	close(lfd);
	fprintf(stderr, "churn: %d requests, %d connections\n", REQUESTS, REQUESTS);
	return 0;
}
