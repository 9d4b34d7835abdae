/* bulk_upload.c - a client uploads 4 MiB (or KIB KiB) in 1 KiB messages and waits for the server's
 * receipt. Usage: bulk_upload [KIB].
 * Healthy in itself: on a lossy or congested path its connection shows retransmissions and a
 * high round-trip time (tests/network.sh runs it behind packet loss and a slow link). */
#include "common.h"

static size_t total = 4u << 20;

static void receive_all(int fd)
{
	static char buf[65536];
	size_t got = 0;
	while (got < total) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0)
			die("server recv");
		got += (size_t)n;
	}
	send(fd, "stored\n", 7, 0);
	close(fd);
}

int main(int argc, char **argv)
{
	struct server srv;
	if (argc > 1 && atoi(argv[1]) > 0)
		total = (size_t)atoi(argv[1]) << 10;
	int port = server_start(&srv, receive_all), one = 1;
	int fd = dial_local(port);
	size_t msg = 1024;
	static char chunk[1024];
	set_rcvtimeo(fd, 60);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* one segment per message */
	for (size_t sent = 0; sent < total; sent += msg)
		if (send(fd, chunk, msg, 0) < 0)
			die("send");
	char reply[16];
	ssize_t n = recv(fd, reply, sizeof reply, 0);
	fprintf(stderr, "bulk_upload: %s\n", n > 0 ? "stored" : "no receipt");
	close(fd);
	pthread_join(srv.thread, NULL);
	return n > 0 ? 0 : 1;
}
