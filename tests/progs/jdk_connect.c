/* jdk_connect.c - a client written as the JDK's Socket.connect(addr, timeout) works: a
 * non-blocking connect, poll() for POLLOUT as the connect deadline, then
 *   timeout  the peer never answers the SYN (its accept queue is full): after the deadline the
 *            socket is shut down (SHUT_WR), then closed;
 *   read     the peer answers the SYN but not the request: the socket goes back to blocking and
 *            the reply is read with no read timeout (setSoTimeout was never called), until the
 *            peer gives up and closes after 1.5 s. */
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include "../../examples/common.h"

static int connect_with_deadline(int port, int ms)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = local_addr(port);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof err;
	if (poll(&p, 1, ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
		return fd;
	shutdown(fd, SHUT_WR); /* what the JDK does on a connect timeout, before close */
	close(fd);
	return -1;
}

static void *silent(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	char buf[64];
	struct timespec t = {1, 500000000};
	set_rcvtimeo(fd, 10);
	recv(fd, buf, sizeof buf, 0);
	nanosleep(&t, NULL);
	close(fd); /* gives up on the client: its read ends */
	return NULL;
}

int main(int argc, char **argv)
{
	int port, ls;
	if (argc == 2 && !strcmp(argv[1], "timeout")) {
		ls = listen_local(0, &port); /* a queue of one, filled: the next SYNs are dropped */
		int first = dial_local(port);
		int fd = connect_with_deadline(port, 500);
		printf("jdk_connect: connect %s\n", fd < 0 ? "timed out" : "succeeded");
		close(first);
		close(ls);
		return fd < 0 ? 1 : 0;
	}
	pthread_t t;
	ls = listen_local(4, &port);
	pthread_create(&t, NULL, silent, &ls);
	int fd = connect_with_deadline(port, 2000);
	if (fd < 0)
		die("connect");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* back to blocking, no SO_RCVTIMEO */
	char buf[64];
	send(fd, "GET\n", 4, 0);
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	printf("jdk_connect: read returned %zd\n", n);
	close(fd);
	pthread_join(t, NULL);
	close(ls);
	return 0;
}
