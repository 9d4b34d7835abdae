/* broken_pipe.c - bug: the client keeps writing after the server has closed the connection. */
#include <signal.h>
#include "common.h"

static void close_at_once(int fd)
{
	close(fd);
}

int main(void)
{
	struct server srv;
	signal(SIGPIPE, SIG_IGN);
	int port = server_start(&srv, close_at_once);
	int fd = dial_local(port);
	pthread_join(srv.thread, NULL); /* the server has closed its end by now */
	char chunk[512] = {0};
	int i;
	for (i = 0; i < 1000; i++) /* the first write draws an RST; the next ones fail */
		if (write(fd, chunk, sizeof chunk) < 0)
			break;
	fprintf(stderr, "broken_pipe: write %d failed: %s\n", i + 1, strerror(errno));
	close(fd);
	return 1;
}
