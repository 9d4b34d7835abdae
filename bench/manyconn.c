/* manyconn.c N [setup] - a server holding N accepted loopback TCP connections (a forked child holds
 * the client ends) prints its resident memory in kB: the base for "memory the shim adds"; with
 * "setup", the microseconds from the first connect to the last connection accepted instead. */
#include "../examples/common.h"
#include <sys/wait.h>
#include <time.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* the client ends: connect n times, send a byte on each, then hold them until told to stop */
static void clients(int port, int n, int stop)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	char c = 'x';
	for (int i = 0; i < n; i++) {
		fds[i] = dial_local(port);
		if (write(fds[i], &c, 1) != 1)
			die("client write");
	}
	if (read(stop, &c, 1) < 0)
		die("client wait");
	_exit(0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000, port, stop[2];
	int setup = argc > 2 && strcmp(argv[2], "setup") == 0;
	int lfd = listen_local(4096, &port);
	if (pipe(stop) != 0)
		die("pipe");
	uint64_t t0 = now_us();
	pid_t pid = fork();
	if (pid == 0) {
		close(lfd);
		close(stop[1]);
		clients(port, n, stop[0]);
	}
	close(stop[0]);
	int *fds = calloc((size_t)n, sizeof *fds);
	for (int i = 0; i < n; i++) {
		char c;
		fds[i] = accept(lfd, NULL, NULL);
		if (fds[i] < 0 || read(fds[i], &c, 1) != 1)
			die("accept");
	}
	if (setup)
		printf("%llu\n", (unsigned long long)(now_us() - t0));
	else
		printf("%ld\n", rss_kb());
	close(stop[1]);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(lfd);
	free(fds);
	return 0;
}
