/* pingpong.c - lockstep request/response over one loopback TCP connection.
 * usage: pingpong server PORTFILE | pingpong client PORT ROUNDS [SIZE]
 * The client prints round trips per second in its fastest window of WINDOW round trips: on a VM
 * whose vCPU the host takes away now and then, interference only ever slows a window down, so the
 * fastest one is the machine's own speed, and it repeats from run to run where the average does not. */
#include "../examples/common.h"
#include <netinet/tcp.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full(ssize_t (*io)(int, void *, size_t, int), int fd, char *buf, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = io(fd, buf + done, n - done, 0);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static ssize_t send_io(int fd, void *buf, size_t n, int flags)
{
	return send(fd, buf, n, flags);
}

static int server(const char *portfile)
{
	int port, lfd = listen_local(1, &port), one = 1;
	FILE *f = fopen(portfile, "w");
	fprintf(f, "%d\n", port);
	fclose(f);
	int fd = accept(lfd, NULL, NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char buf[65536];
	size_t size;
	if (full(recv, fd, (char *)&size, sizeof size) < 0 || size > sizeof buf)
		return 1;
	while (full(recv, fd, buf, size) == 0 && full(send_io, fd, buf, size) == 0)
		;
	close(fd);
	close(lfd);
	return 0;
}

static int client(int port, long rounds, size_t size)
{
	int fd = dial_local(port), one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char buf[65536] = {0};
	if (size > sizeof buf || full(send_io, fd, (char *)&size, sizeof size) < 0)
		return 1;
	enum { WINDOW = 500 };
	double best = 0;
	for (long done = 0; done < rounds; done += WINDOW) {
		double t0 = now();
		for (long i = 0; i < WINDOW; i++)
			if (full(send_io, fd, buf, size) < 0 || full(recv, fd, buf, size) < 0)
				die("round trip");
		double t = now() - t0;
		if (best == 0 || t < best)
			best = t;
	}
	printf("%.0f\n", WINDOW / best);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "client"))
		return client(atoi(argv[2]), atol(argv[3]), argc > 4 ? (size_t)atol(argv[4]) : 64);
	fprintf(stderr, "usage: pingpong server PORTFILE | pingpong client PORT ROUNDS [SIZE]\n");
	return 2;
}
