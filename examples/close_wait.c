/* close_wait.c - bug: a server drops a connection from its poll set when the client hangs up but
 * never closes it. Each such socket sits in CLOSE_WAIT (ss -tn state close-wait) until the
 * process dies, and the fds pile up. Five clients here; the server runs on for 1.5 s. */
#include <poll.h>
#include <time.h>
#include "common.h"

#define CLIENTS 5

struct loop {
	int lfd;
	struct pollfd p[CLIENTS + 1];
	int n, done;
};

static void serve(struct loop *l)
{
	while (l->done < CLIENTS) {
		if (poll(l->p, (nfds_t)l->n, 10000) <= 0)
			die("poll");
		if (l->p[0].revents & POLLIN) {
			int fd = accept(l->lfd, NULL, NULL);
			if (fd < 0)
				die("accept");
			l->p[l->n++] = (struct pollfd){.fd = fd, .events = POLLIN};
		}
		for (int i = 1; i < l->n; i++) {
			char buf[64];
			if (!(l->p[i].revents & POLLIN) || l->p[i].fd < 0)
				continue;
			ssize_t got = recv(l->p[i].fd, buf, sizeof buf, 0);
			if (got > 0) {
				send(l->p[i].fd, "ok\n", 3, 0);
			} else {
				l->p[i].fd = -1; /* the bug: forgotten, not closed */
				l->done++;
			}
		}
	}
}

static void *server(void *arg)
{
	serve(arg);
	return NULL;
}

int main(void)
{
	struct loop l = {.n = 1};
	int port;
	l.lfd = listen_local(16, &port);
	l.p[0] = (struct pollfd){.fd = l.lfd, .events = POLLIN};
	pthread_t t;
	pthread_create(&t, NULL, server, &l);
	for (int i = 0; i < CLIENTS; i++) {
		int fd = dial_local(port);
		char buf[8];
		set_rcvtimeo(fd, 10);
		send(fd, "hello\n", 6, 0);
		recv(fd, buf, sizeof buf, 0);
		close(fd);
	}
	pthread_join(t, NULL);
	struct timespec on = {.tv_sec = 1, .tv_nsec = 500000000};
	nanosleep(&on, NULL); /* the scenario: the server keeps running */
	fprintf(stderr, "close_wait: served %d clients\n", CLIENTS);
	close(l.lfd);
	return 0;
}
