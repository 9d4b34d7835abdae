/* many_conns.c - N connections one after another, with failures spread over the whole run: every
 * REFUSE-th connect goes to a port nobody listens on (refused), and every RESET-th of the others
 * asks the server to abort it (SO_LINGER {1, 0}), so the client's read fails with ECONNRESET. Prints
 * what it saw, for a test to hold the report's counts against.
 * usage: many_conns N REFUSE RESET */
#include "../../examples/common.h"

static void *server(void *arg)
{
	int lfd = *(int *)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		char c;
		if (fd < 0)
			return NULL;
		if (recv(fd, &c, 1, 0) == 1 && c == 'r') {
			struct linger l = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		} else {
			send(fd, "k", 1, 0);
		}
		close(fd); /* the server closes first: no TIME_WAIT on the client's ports */
	}
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	long n = atol(argv[1]), refuse = atol(argv[2]), reset = atol(argv[3]);
	int port, lfd = listen_local(128, &port);
	/* a port bound and not listening: connects to it are refused */
	struct sockaddr_in closed = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof closed;
	int hold = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(hold, (struct sockaddr *)&closed, sizeof closed) < 0 ||
	    getsockname(hold, (struct sockaddr *)&closed, &len) < 0)
		die("bind");
	pthread_t t;
	pthread_create(&t, NULL, server, &lfd);
	struct sockaddr_in open = local_addr(port);
	long refused = 0, resets = 0, ok = 0;
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), is_refuse = i % refuse == 0;
		struct sockaddr_in *to = is_refuse ? &closed : &open;
		if (connect(fd, (struct sockaddr *)to, sizeof *to) < 0) {
			refused += errno == ECONNREFUSED;
			close(fd);
			continue;
		}
		char c = i % reset == 0 ? 'r' : 'x';
		set_rcvtimeo(fd, 10);
		send(fd, &c, 1, 0);
		ssize_t r = recv(fd, &c, 1, 0);
		if (r < 0 && errno == ECONNRESET)
			resets++;
		else if (r == 1)
			ok++;
		close(fd);
	}
	printf("connections %ld refused %ld resets %ld ok %ld\n", n, refused, resets, ok);
	return 0;
}
