/* keepalive_default.c - bug: a long-lived connection turns SO_KEEPALIVE on and stops there. With
 * the kernel's idle time (2 hours by default), a dead peer goes unnoticed that long. Idle for
 * 2 s here; run with --threshold keepalive=1s to see it. */
#include <time.h>
#include "common.h"

int main(void)
{
	struct server srv;
	int port = server_start(&srv, echo_once);
	int fd = dial_local(port), one = 1;
	set_rcvtimeo(fd, 10);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one); /* no TCP_KEEPIDLE */
	struct timespec idle = {.tv_sec = 2};
	nanosleep(&idle, NULL); /* the scenario: an idle pooled connection */
	char buf[8];
	send(fd, "hi", 2, 0);
	recv(fd, buf, sizeof buf, 0);
	close(fd);
	pthread_join(srv.thread, NULL);
	return 0;
}
