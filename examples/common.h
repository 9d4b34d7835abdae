/* common.h - small helpers shared by the example programs (each example is one realistic bug). */
#ifndef EXAMPLES_COMMON_H
#define EXAMPLES_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void set_rcvtimeo(int fd, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		die("setsockopt SO_RCVTIMEO");
}

/* A listening TCP socket on 127.0.0.1 with a port the kernel picked. */
static inline int listen_local(int backlog, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("listen_local");
	*port = ntohs(a.sin_port);
	return fd;
}

static inline struct sockaddr_in local_addr(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return a;
}

/* Connects a blocking TCP client to 127.0.0.1:port. */
static inline int dial_local(int port)
{
	struct sockaddr_in a = local_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	return fd;
}

/* A server's handler: answers one message with itself, then hangs up. */
static inline void echo_once(int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	if (n > 0)
		send(fd, buf, (size_t)n, 0);
	close(fd);
}

/* A server thread that accepts one connection and runs handle() on it. The
 * server itself is well-behaved (receive timeout, closes everything), so the
 * report only points at the client's bug. */
struct server {
	int lfd;
	void (*handle)(int fd);
	pthread_t thread;
};

static inline void *server_main(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	int one = 1, idle = 60;
	set_rcvtimeo(fd, 10);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	s->handle(fd);
	close(s->lfd);
	return NULL;
}

static inline int server_start(struct server *s, void (*handle)(int))
{
	int port;
	s->lfd = listen_local(16, &port);
	s->handle = handle;
	if (pthread_create(&s->thread, NULL, server_main, s) != 0)
		die("pthread_create");
	return port;
}

#endif
