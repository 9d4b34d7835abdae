/* fd_exhaustion.c - bug: a connection pool that opens a socket per request and never returns
 * them; under a low fd limit it runs out of descriptors. */
#include <sys/resource.h>
#include "common.h"

static int open_pooled(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd; /* never handed back or closed */
}

int main(void)
{
	struct rlimit rl = {.rlim_cur = 64, .rlim_max = 64}; /* a small limit, to fail quickly */
	int port, lfd = listen_local(128, &port), n = 0;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit");
	while (open_pooled(port) >= 0)
		n++;
	fprintf(stderr, "fd_exhaustion: opened %d connections, then: %s\n", n, strerror(errno));
	close(lfd);
	return 1;
}
