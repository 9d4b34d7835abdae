/* refused.c - bug: the client is configured with a port nothing listens on. */
#include "common.h"

/* Finds a port that is free right now, the way a stale config points at a dead service. */
static int stale_port(void)
{
	int port, fd = listen_local(1, &port);
	close(fd);
	return port;
}

static int fetch_status(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		fprintf(stderr, "refused: cannot reach status service on port %d: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int main(void)
{
	return fetch_status(stale_port()) == 0 ? 0 : 1;
}
