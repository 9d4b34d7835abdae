/* fortify_client.c - reads a socket through __read_chk and __recv_chk (built with _FORTIFY_SOURCE=2):
 * the shim must count these bytes even though read()/recv() are never called. */
#include "../../examples/common.h"

static void send_100(int fd)
{
	char buf[100];
	memset(buf, 'x', sizeof buf);
	if (send(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf)
		die("send");
	close(fd);
}

int main(int argc, char **argv)
{
	struct server srv;
	/* a length the compiler cannot prove fits, so it emits the checked calls */
	size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : 16;
	int port = server_start(&srv, send_100);
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	char small[16];
	long total = 0;
	ssize_t n = recv(fd, small, want, 0); /* __recv_chk */
	while (n > 0) {
		total += n;
		n = read(fd, small, want); /* __read_chk */
	}
	close(fd);
	pthread_join(srv.thread, NULL);
	printf("fortify_client: %ld bytes\n", total);
	return total == 100 ? 0 : 1;
}
