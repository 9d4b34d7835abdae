/* no_keepalive.c - bug: a pooled connection sits idle without TCP keepalive, so a dead peer
 * would go unnoticed. Idle for 2 s here; run with --threshold keepalive=1s to see it. */
#include <time.h>
#include "common.h"

int main(void)
{
	struct server srv;
	int port = server_start(&srv, echo_once);
	int fd = dial_local(port);
	set_rcvtimeo(fd, 10);
	struct timespec idle = {.tv_sec = 2};
	nanosleep(&idle, NULL); /* the scenario: an idle pooled connection */
	char buf[8];
	send(fd, "hi", 2, 0);
	recv(fd, buf, sizeof buf, 0);
	close(fd);
	pthread_join(srv.thread, NULL);
	return 0;
}
