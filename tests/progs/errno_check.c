/* errno_check.c - prints errno after each socket call, successful or not; the output must be
 * identical with and without the shim (a wrapper must never change errno on success). */
#include "../../examples/common.h"
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>

#define SENTINEL 4242

static void show(const char *call, long ret)
{
	printf("%-12s ret=%s errno=%d\n", call, ret < 0 ? "-1" : "ok", errno);
	errno = SENTINEL;
}

int main(void)
{
	int port, one = 1, err = 0;
	socklen_t len = sizeof err;
	char buf[8];
	errno = SENTINEL;
	int lfd = listen_local(4, &port);
	show("listen", lfd);
	struct sockaddr_in a = local_addr(port), bad = local_addr(1);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	show("socket", c);
	show("connect", connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(lfd, NULL, NULL);
	show("accept", s);
	show("setsockopt", setsockopt(c, IPPROTO_TCP, 1, &one, sizeof one));
	show("getsockopt", getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len));
	show("fcntl", fcntl(s, F_SETFL, O_NONBLOCK));
	show("recv-eagain", recv(s, buf, sizeof buf, 0));
	show("send", send(c, "abc", 3, 0));
	struct pollfd p = {.fd = s, .events = POLLIN};
	show("poll", poll(&p, 1, 5000));
	show("read", read(s, buf, sizeof buf));
	show("write", write(s, "x", 1));
	show("recv", recv(c, buf, sizeof buf, 0));
	int d = dup(c);
	show("dup", d);
	show("dup2", dup2(d, 40));
	show("close", close(d));
	show("syscall-close", syscall(SYS_close, 40));
	show("shutdown", shutdown(c, SHUT_WR));
	show("close", close(c));
	show("close-again", close(c));
	show("close", close(s));
	int r = socket(AF_INET, SOCK_STREAM, 0);
	show("connect-bad", connect(r, (struct sockaddr *)&bad, sizeof bad));
	show("send-enotconn", send(r, "x", 1, MSG_NOSIGNAL));
	show("connect-efault", connect(r, (struct sockaddr *)8, sizeof bad));
	show("close", close(r));
	show("close", close(lfd));
	show("recv-ebadf", recv(999, buf, sizeof buf, 0));
	return 0;
}
