/* sockopt.c - which socket options the log keeps, and how their values are stored: shared by the
 * shim (setsockopt in the process) and the tracer (setsockopt seen from outside). */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "logw.h"

/* Maps (level, name) to the slot option it sets; -1 for options we do not keep. */
int sl_opt_index(int level, int name)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVTIMEO_OLD: case SO_RCVTIMEO_NEW: return SL_OPT_RCVTIMEO;
		case SO_SNDTIMEO_OLD: case SO_SNDTIMEO_NEW: return SL_OPT_SNDTIMEO;
		case SO_KEEPALIVE: return SL_OPT_KEEPALIVE;
		case SO_LINGER: return SL_OPT_LINGER;
		case SO_RCVBUF: return SL_OPT_RCVBUF;
		case SO_SNDBUF: return SL_OPT_SNDBUF;
		case SO_REUSEADDR: return SL_OPT_REUSEADDR;
		case SO_REUSEPORT: return SL_OPT_REUSEPORT;
		}
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: return SL_OPT_NODELAY;
		case TCP_KEEPIDLE: return SL_OPT_KEEPIDLE;
		case TCP_KEEPINTVL: return SL_OPT_KEEPINTVL;
		case TCP_KEEPCNT: return SL_OPT_KEEPCNT;
		case TCP_USER_TIMEOUT: return SL_OPT_USER_TIMEOUT;
		}
	}
	return -1;
}

/* The value the kernel accepted, read only after success and within len. */
int64_t sl_opt_value(int idx, const void *val, socklen_t len)
{
	if (idx == SL_OPT_RCVTIMEO || idx == SL_OPT_SNDTIMEO) {
		struct timeval tv; /* same layout as the _NEW variant on x86-64 */
		if (len < sizeof tv)
			return -1;
		memcpy(&tv, val, sizeof tv);
		return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	}
	if (idx == SL_OPT_LINGER) {
		struct linger l;
		if (len < sizeof l)
			return -1;
		memcpy(&l, val, sizeof l);
		return l.l_onoff ? l.l_linger : -1; /* -1: lingering off */
	}
	int v = 0;
	if (len < sizeof v)
		return len >= 1 ? *(const unsigned char *)val : 0;
	memcpy(&v, val, sizeof v);
	return v;
}
