/* gowalk.c - `make bench`: how long reading a running Go program's network waits takes
 * (tracer/goroutines.c), the median of ROUNDS reads. The program is never stopped: everything is
 * read with process_vm_readv while it runs. Prints "ms waits goroutines-read". */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "goroutines.h"

/* libs.c (libelf, loaded on first use) reports a library it cannot load through the analyzer's
 * sl_error: said here the same way */
void sl_error(const char *fmt, ...);
void sl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gowalk: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char why[256];
	int rounds = argc > 2 ? atoi(argv[2]) : 21;
	struct sl_goproc *gp = argc > 1 ? sl_go_open(atoi(argv[1]), why, sizeof why) : NULL;
	if (!gp) {
		fprintf(stderr, "gowalk: %s\n", argc > 1 ? why : "usage: gowalk PID [ROUNDS]");
		return 1;
	}
	double *t = calloc((size_t)rounds, sizeof *t);
	size_t n = 0, callers = 0;
	for (int r = 0; r < rounds; r++) {
		struct sl_gowait *w;
		double s = now_ms();
		if (sl_go_waits(gp, &w, &n, why, sizeof why) < 0) {
			fprintf(stderr, "gowalk: %s\n", why);
			return 1;
		}
		t[r] = now_ms() - s;
		callers = 0;
		for (size_t i = 0; i < n; i++)
			callers += w[i].caller_goid != 0;
		free(w);
	}
	qsort(t, (size_t)rounds, sizeof *t, cmp);
	printf("%.2f %zu %zu %s\n", t[rounds / 2], n, callers, sl_go_version(gp));
	sl_go_close(gp);
	return 0;
}
