/* clock_reads.c - prints how many clock reads the shim makes per call, for each kind of fd: run
 * with a shim built with SL_COUNT_CLOCK_READS, whose sl_clock_reads counts them. */
#include "../../examples/common.h"
#include <fcntl.h>

extern uint64_t sl_clock_reads __attribute__((weak));

static double per_call(void (*loop)(int, int, int), int a, int b)
{
	loop(a, b, 10); /* first calls take the slow paths once */
	uint64_t before = sl_clock_reads;
	loop(a, b, 1000);
	return (double)(sl_clock_reads - before) / 2000.0;
}

static void rw(int a, int b, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++)
		if (write(a, &c, 1) != 1 || read(b, &c, 1) != 1)
			die("rw");
}

static void sendrecv(int a, int b, int n)
{
	char c = 'x';
	for (int i = 0; i < n; i++)
		if (send(a, &c, 1, 0) != 1 || recv(b, &c, 1, 0) != 1)
			die("sendrecv");
}

int main(void)
{
	if (!&sl_clock_reads) {
		fprintf(stderr, "clock_reads: run with a shim built with SL_COUNT_CLOCK_READS\n");
		return 2;
	}
	int port, lfd = listen_local(1, &port), c = dial_local(port), s = accept(lfd, NULL, NULL);
	int zero = open("/dev/zero", O_RDONLY), null = open("/dev/null", O_WRONLY);
	printf("file %.2f\n", per_call(rw, null, zero) - 0); /* write to /dev/null, read /dev/zero */
	printf("blocking %.2f\n", per_call(rw, c, s));
	printf("blocking-sendrecv %.2f\n", per_call(sendrecv, c, s));
	fcntl(c, F_SETFL, O_NONBLOCK);
	fcntl(s, F_SETFL, O_NONBLOCK);
	printf("nonblocking %.2f\n", per_call(rw, c, s));
	return 0;
}
