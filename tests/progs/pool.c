/* pool.c - clients of a local echo server that exit with connections open:
 *   pool  two connections, each reused for five requests, idle in a pool at exit: not a leak;
 *   leak  ten connections, one request each, never closed (a forgotten response body): a leak;
 *   pile  the same thirty times, then it waits until killed: a pile-up a live report must see. */
#include <stdint.h>
#include <string.h>
#include "../../examples/common.h"

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[64];
	ssize_t n;
	set_rcvtimeo(fd, 10);
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
		send(fd, buf, (size_t)n, 0);
	close(fd);
	return NULL;
}

static void *echo(void *arg)
{
	int ls = *(int *)arg;
	for (;;) {
		pthread_t t;
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_create(&t, NULL, serve, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static void request(int fd)
{
	char buf[8];
	if (send(fd, "ping", 4, 0) != 4 || recv(fd, buf, sizeof buf, 0) != 4)
		die("request");
}

static int dial(int port)
{
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	return fd;
}

int main(int argc, char **argv)
{
	int port, ls = listen_local(16, &port);
	pthread_t t;
	pthread_create(&t, NULL, echo, &ls);
	if (argc == 2 && !strcmp(argv[1], "pool")) {
		int fds[2] = {dial(port), dial(port)};
		for (int i = 0; i < 10; i++)
			request(fds[i % 2]);
	} else {
		int n = argc == 2 && !strcmp(argv[1], "pile") ? 30 : 10;
		for (int i = 0; i < n; i++)
			request(dial(port)); /* the bug: never closed */
		if (n == 30) {
			printf("pool: piled\n");
			fflush(stdout);
			for (;;)
				pause();
		}
	}
	printf("pool: done\n");
	return 0;
}
