/* accept_queue.c - bug: a server listens with a backlog of 1 and is busy for 1.5 s before it
 * accepts. Its accept queue fills, the kernel drops the next SYNs, and those clients' connects
 * take a SYN retransmission (1 s, then 2 s more) to get through. */
#include <time.h>
#include "common.h"

#define CLIENTS 4

static int port;

static void *client(void *arg)
{
	(void)arg;
	int fd = dial_local(port);
	char buf[8];
	set_rcvtimeo(fd, 10);
	send(fd, "hi\n", 3, 0);
	recv(fd, buf, sizeof buf, 0);
	close(fd);
	return NULL;
}

int main(void)
{
	int lfd = listen_local(1, &port); /* the bug: a backlog of 1 */
	pthread_t t[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&t[i], NULL, client, NULL);
	struct timespec busy = {.tv_sec = 1, .tv_nsec = 500000000};
	nanosleep(&busy, NULL); /* the scenario: the server is busy elsewhere */
	for (int i = 0; i < CLIENTS; i++) {
		int fd = accept(lfd, NULL, NULL);
		char buf[8];
		if (fd < 0)
			die("accept");
		set_rcvtimeo(fd, 10);
		recv(fd, buf, sizeof buf, 0);
		send(fd, "ok\n", 3, 0);
		close(fd);
	}
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(t[i], NULL);
	close(lfd);
	fprintf(stderr, "accept_queue: served %d clients\n", CLIENTS);
	return 0;
}
