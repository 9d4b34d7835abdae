/* nagle.c - bug: a client sends each request as a header write and a body write, then reads the
 * reply. Without TCP_NODELAY the body waits for the ACK of the header, which the server delays
 * by 40 ms: every request takes 40 ms more than it should. */
#include <netinet/tcp.h>
#include <time.h>
#include "common.h"

#define ROUNDS 8

static void respond(int fd)
{
	char buf[48];
	for (int r = 0; r < ROUNDS; r++) {
		size_t got = 0;
		while (got < sizeof buf) { /* the whole request: header and body */
			ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
			if (n <= 0)
				die("server recv");
			got += (size_t)n;
		}
		send(fd, "200 OK\n", 7, 0);
	}
	close(fd);
}

int main(void)
{
	struct server srv;
	int port = server_start(&srv, respond);
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < ROUNDS; r++) {
		char header[16] = "PUT /k len=32\n", body[32] = "value", reply[16];
		send(fd, header, sizeof header, 0);
		send(fd, body, sizeof body, 0);
		if (recv(fd, reply, sizeof reply, 0) <= 0)
			die("recv");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "nagle: %d requests, %.1f ms each\n", ROUNDS,
		((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / ROUNDS);
	close(fd);
	pthread_join(srv.thread, NULL);
	return 0;
}
