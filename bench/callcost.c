/* callcost.c - loops of single calls for callgrind: instructions the shim adds per call are
 * (Ir with the shim - Ir without) / calls, counted only inside the loop functions. */
#include "../examples/common.h"
#include <fcntl.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

/* write+read of one byte on a connected loopback TCP pair: two socket data calls per round */
NOINLINE static void socket_rw(int a, int b, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++) {
		if (write(a, &c, 1) != 1 || read(b, &c, 1) != 1)
			die("socket_rw");
	}
}

/* send+recv: the socket-only entry points */
NOINLINE static void socket_sendrecv(int a, int b, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++) {
		if (send(a, &c, 1, 0) != 1 || recv(b, &c, 1, 0) != 1)
			die("socket_sendrecv");
	}
}

/* the same on non-blocking sockets (no in-flight record), as event loops use them */
NOINLINE static void socket_rw_nonblocking(int a, int b, int n)
{
	socket_rw(a, b, 0); /* keep the two loops' code identical: only the flags differ */
	char c = 'x';
	for (int i = 0; i < n; i++) {
		if (write(a, &c, 1) != 1 || read(b, &c, 1) != 1)
			die("socket_rw_nonblocking");
	}
}

/* read of /dev/zero and write to /dev/null: the non-socket fast path */
NOINLINE static void file_rw(int zero, int null, int n)
{
	char c;
	for (int i = 0; i < n; i++) {
		if (read(zero, &c, 1) != 1 || write(null, &c, 1) != 1)
			die("file_rw");
	}
}

/* socket+close: two rare calls per round, each capturing a stack from one repeated call site */
NOINLINE static void socket_close(int n)
{
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || close(fd) != 0)
			die("socket_close");
	}
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* n loopback connections: socket, connect, accept, both closed */
static void connect_accept(int lfd, int port, int n)
{
	for (int i = 0; i < n; i++) {
		int c = dial_local(port), a = accept(lfd, NULL, NULL);
		if (c < 0 || a < 0)
			die("connect");
		close(a);
		close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "time_connect")) { /* wall time per connection */
		int n = atoi(argv[2]), port, lfd = listen_local(64, &port);
		connect_accept(lfd, port, n / 10);
		double t0 = now_ns();
		connect_accept(lfd, port, n);
		printf("%.0f\n", (now_ns() - t0) / n);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "time_socket_close")) { /* wall time per socket()+close() */
		int n = atoi(argv[2]);
		socket_close(n / 10); /* warm up caches: the first stack of a site is the slow one */
		double t0 = now_ns();
		socket_close(n);
		printf("%.0f\n", (now_ns() - t0) / n);
		return 0;
	}
	int n = argc > 2 ? atoi(argv[2]) : 100000;
	const char *what = argc > 1 ? argv[1] : "socket_rw";
	int timed = argc > 3 && !strcmp(argv[3], "time"); /* print ns per call, as well */
	double t0 = now_ns();
	int port, lfd = listen_local(1, &port);
	int a = dial_local(port), b = accept(lfd, NULL, NULL);
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
	if (b < 0 || zero < 0 || null < 0)
		die("setup");
	if (!strcmp(what, "socket_rw"))
		socket_rw(a, b, n);
	else if (!strcmp(what, "socket_rw_nonblocking")) {
		fcntl(a, F_SETFL, O_NONBLOCK);
		fcntl(b, F_SETFL, O_NONBLOCK);
		socket_rw_nonblocking(a, b, n);
	} else if (!strcmp(what, "socket_sendrecv"))
		socket_sendrecv(a, b, n);
	else if (!strcmp(what, "file_rw"))
		file_rw(zero, null, n);
	else if (!strcmp(what, "socket_close"))
		socket_close(n);
	else
		return 2;
	if (timed)
		printf("%.1f\n", (now_ns() - t0) / (2.0 * n));
	close(a);
	close(b);
	close(lfd);
	return 0;
}
