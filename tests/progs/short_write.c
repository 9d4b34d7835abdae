/* short_write.c - bug: a non-blocking client sends a 4 MB request in one send() and ignores that
 * it sent only part of it; then it waits for the reply, which cannot come: the server is still
 * waiting for the rest. It gives up after 1.5 s. */
#include <fcntl.h>
#include <poll.h>
#include "../../examples/common.h"

#define REQUEST (4 << 20)

static int sent_pipe[2];

static void *server(void *arg)
{
	int fd = accept(*(int *)arg, NULL, NULL);
	static char buf[1 << 16];
	long got = 0;
	ssize_t n;
	char c;
	set_rcvtimeo(fd, 3);
	if (read(sent_pipe[0], &c, 1) != 1) /* the client's send has returned: now read */
		die("pipe");
	while (got < REQUEST && (n = recv(fd, buf, sizeof buf, 0)) > 0)
		got += n; /* the whole request first, then an answer */
	if (got == REQUEST)
		send(fd, "ok\n", 3, 0);
	close(fd);
	return NULL;
}

int main(void)
{
	static char req[REQUEST];
	int port, ls = listen_local(4, &port);
	pthread_t t;
	if (pipe(sent_pipe) != 0)
		die("pipe");
	pthread_create(&t, NULL, server, &ls);
	int fd = dial_local(port);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ssize_t sent = send(fd, req, sizeof req, 0); /* the bug: the rest is never sent */
	if (write(sent_pipe[1], "s", 1) != 1)
		die("pipe");
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int ready = poll(&p, 1, 1500);
	printf("short_write: sent %zd of %d bytes, reply %s\n", sent, REQUEST, ready > 0 ? "came" : "never came");
	close(fd);
	pthread_join(t, NULL);
	close(ls);
	return 0;
}
