/* silent_peer.c - a client whose server reads the request and never answers: the client's recv
 * waits for its receive timeout (SECONDS, default 4) and the program prints how long it waited, so
 * a test can check that looking at it from outside (socklens stuck) changed neither its output nor
 * its timing. Prints "waiting" when it is about to block. */
#include <time.h>
#include "../../examples/common.h"

static void never_answer(int fd)
{
	char buf[64];
	recv(fd, buf, sizeof buf, 0);
	struct timespec forever = {.tv_sec = 3600};
	nanosleep(&forever, NULL);
}

static ssize_t await_reply(int fd, char *buf, size_t n)
{
	return recv(fd, buf, n, 0); /* the call socklens stuck should point at */
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 4;
	struct server srv;
	int port = server_start(&srv, never_answer);
	int fd = dial_local(port);
	set_rcvtimeo(fd, seconds);
	send(fd, "GET /\n", 6, 0);
	printf("waiting\n");
	fflush(stdout);
	struct timespec t0, t1;
	char buf[64];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ssize_t r = await_reply(fd, buf, sizeof buf);
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("recv returned %zd (%s) after %.2f s\n", r, r < 0 ? strerror(e) : "data", waited);
	return 0;
}
