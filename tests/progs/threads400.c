/* threads400.c - 400 threads, one after another, each reading a reply on a blocking socket
 * with no timeout: every one of them must be seen, however few threads live at once. */
#include "../../examples/common.h"

static int port;

static void *client(void *arg)
{
	(void)arg;
	int fd = dial_local(port);
	char c;
	if (write(fd, "?", 1) != 1 || read(fd, &c, 1) != 1)
		die("client");
	close(fd);
	return NULL;
}

static void *server(void *arg)
{
	int lfd = *(int *)arg;
	for (int i = 0; i < 400; i++) {
		int fd = accept(lfd, NULL, NULL);
		char c;
		set_rcvtimeo(fd, 10);
		if (fd < 0 || read(fd, &c, 1) != 1 || write(fd, "!", 1) != 1)
			die("server");
		close(fd);
	}
	return NULL;
}

int main(void)
{
	int lfd = listen_local(16, &port);
	pthread_t s;
	pthread_create(&s, NULL, server, &lfd);
	for (int i = 0; i < 400; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, client, NULL) != 0 || pthread_join(t, NULL) != 0)
			die("thread");
	}
	pthread_join(s, NULL);
	close(lfd);
	printf("400 threads done\n");
	return 0;
}
