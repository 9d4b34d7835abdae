/* shimcost.c - the shim's own time per call, without the system call's noise: the program is
 * linked with libshimstub.so (shimstub.c), whose send, recv, read and write return at once, and
 * which comes before libc in lookup order, so the preloaded shim's dlsym(RTLD_NEXT) binds to the
 * stubs and a loop of calls times the wrapper alone.
 * usage: shimcost KIND N  (KIND: blocking, nonblocking, file); prints ns per call, best of 9. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

__attribute__((noinline)) static void loop_sock(int a, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++) {
		send(a, &c, 1, 0);
		recv(a, &c, 1, 0);
	}
}

__attribute__((noinline)) static void loop_file(int a, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++) {
		write(a, &c, 1);
		read(a, &c, 1);
	}
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "blocking";
	int n = argc > 2 ? atoi(argv[2]) : 1000000, sv[2], fd;
	if (!strcmp(kind, "file")) {
		fd = open("/dev/null", O_RDWR);
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return 1;
		fd = sv[0];
		if (!strcmp(kind, "nonblocking"))
			fcntl(fd, F_SETFL, O_NONBLOCK);
	}
	void (*loop)(int, int) = !strcmp(kind, "file") ? loop_file : loop_sock;
	double best = 1e18;
	loop(fd, n / 10);
	for (int r = 0; r < 9; r++) {
		double t0 = now_ns();
		loop(fd, n);
		double t = (now_ns() - t0) / (2.0 * n);
		if (t < best)
			best = t;
	}
	printf("%.1f\n", best);
	return 0;
}
