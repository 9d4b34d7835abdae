/* reset_on_close.c - bug: a server rejects an upload after reading its header and closes without
 * reading the body. Closing with unread data makes the kernel send RST: the client sees
 * "connection reset" and often never gets the rejection it was sent. */
#include <linux/sockios.h>
#include <semaphore.h>
#include <sys/ioctl.h>
#include "common.h"

static sem_t uploaded; /* the whole upload is in the server's receive queue */

static void reject(int fd)
{
	char header[16];
	if (recv(fd, header, sizeof header, MSG_WAITALL) != sizeof header)
		die("server recv");
	sem_wait(&uploaded); /* (so the example's unread byte count is exact) */
	send(fd, "413 Too Large\n", 14, 0);
	close(fd); /* the bug: the body is still unread */
}

int main(void)
{
	struct server srv;
	sem_init(&uploaded, 0, 0);
	int port = server_start(&srv, reject);
	int fd = dial_local(port);
	static char upload[65536] = "PUT /f len=65520";
	set_rcvtimeo(fd, 10);
	send(fd, upload, sizeof upload, 0);
	/* the peer acknowledged every byte: on loopback, all of it is queued at the server */
	int unacked;
	while (ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked > 0)
		usleep(1000);
	sem_post(&uploaded);
	pthread_join(srv.thread, NULL);
	char reply[32];
	ssize_t n = recv(fd, reply, sizeof reply, 0);
	fprintf(stderr, "reset_on_close: client got %zd (%s)\n", n, n < 0 ? strerror(errno) : "a reply");
	close(fd);
	return 0;
}
