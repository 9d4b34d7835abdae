/* unreachable.c - bug: the program is configured with an address its network has no route to.
 * It isolates itself in a new network namespace first, so no packet can leave this host. */
#include "common.h"
#include <sched.h>

int main(int argc, char **argv)
{
	const char *ip = argc > 1 ? argv[1] : "192.0.2.10"; /* TEST-NET-1, documentation only */
	if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
		fprintf(stderr, "unreachable: cannot create an isolated network namespace (%s); skipped\n",
			strerror(errno));
		return 77;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		fprintf(stderr, "unreachable: connect to %s:8080: %s\n", ip, strerror(errno));
	close(fd);
	return 1;
}
