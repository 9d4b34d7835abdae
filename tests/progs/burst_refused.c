/* burst_refused.c - N threads released at once, each making one refused connect and closing its
 * socket: every refusal must be counted, whatever the log's tables were doing at that instant. */
#include <stdlib.h>
#include "../../examples/common.h"

static pthread_barrier_t go;
static int port;

static void *client(void *arg)
{
	(void)arg;
	struct sockaddr_in a = local_addr(port);
	pthread_barrier_wait(&go);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		die("connect succeeded");
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	int ls = listen_local(1, &port);
	close(ls); /* nothing listens there now: every connect is refused */
	pthread_t *t = calloc((size_t)n, sizeof *t);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, client, NULL) != 0)
			die("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%d connects refused\n", n);
	return 0;
}
