/* good_client.c - the control: timeouts, keepalive, every socket closed. socklens finds nothing. */
#include <netinet/tcp.h>
#include "common.h"

int main(void)
{
	struct server srv;
	int one = 1, idle = 30;
	int port = server_start(&srv, echo_once);
	int fd = dial_local(port);
	set_rcvtimeo(fd, 5);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char buf[8];
	send(fd, "hi", 2, 0);
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	close(fd);
	pthread_join(srv.thread, NULL);
	printf("good_client: echoed %zd bytes\n", n);
	return 0;
}
