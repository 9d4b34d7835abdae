/* backlog.c - bug: a server configured with "backlog 8192" on a host whose net.core.somaxconn is
 * lower (4096 on Debian 12): the kernel silently caps the accept queue. */
#include "common.h"

int main(int argc, char **argv)
{
	int backlog = argc > 1 ? atoi(argv[1]) : 8192, port;
	int lfd = listen_local(backlog, &port);
	int c = dial_local(port), fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	close(c);
	close(fd);
	close(lfd);
	fprintf(stderr, "backlog: listened on port %d with a backlog of %d\n", port, backlog);
	return 0;
}
