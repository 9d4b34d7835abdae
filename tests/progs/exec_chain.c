/* exec_chain.c N - makes a listening socket (inherited across exec), then execs itself N times:
 * one process, N + 1 images, one socket, and every image logged at the same cost. */
#include <stdlib.h>
#include "../../examples/common.h"

int main(int argc, char **argv)
{
	int left = argc > 1 ? atoi(argv[1]) : 0;
	if (argc > 2) {
		int port;
		listen_local(16, &port); /* fd 3, not close-on-exec: every image inherits it */
	}
	if (left <= 0) {
		printf("exec_chain: done\n");
		return 0;
	}
	char n[16];
	snprintf(n, sizeof n, "%d", left - 1);
	execl("/proc/self/exe", argv[0], n, (char *)NULL);
	die("exec");
}
