/* kinds.c - the one table of diagnostic kinds: name, how its stacks are labelled, and advice. A new
 * kind is one row here and one rule file; the renderers read everything else from this table. */
#define _GNU_SOURCE
#include <string.h>
#include "analyzer.h"

static const struct sl_kind_info kinds[SL_K__COUNT] = {
	[SL_K_CONNECT_REFUSED] = {"connect-refused", "connect at", NULL,
		"Nothing was listening at that address: check that the service is running and that the "
		"host and port in the program's configuration are right."},
	[SL_K_CONNECT_TIMEOUT] = {"connect-timeout", "connect at", NULL,
		"The peer never answered the handshake: a firewall dropping packets, a wrong address, or a "
		"server whose accept queue is full. Check reachability and the server's backlog."},
	[SL_K_CONNECT_UNREACHABLE] = {"connect-unreachable", "connect at", NULL,
		"The kernel had no route to the peer: check the address, the routing table and the "
		"network the program runs in (container, namespace)."},
	[SL_K_CONNECTION_RESET] = {"connection-reset", "failed at", NULL,
		"The peer aborted the connection (RST): it crashed, closed with unread data, or a proxy "
		"or idle timeout killed it. Handle the error and retry or reconnect where safe."},
	[SL_K_BROKEN_PIPE] = {"broken-pipe", "failed at", NULL,
		"The program wrote after the peer had closed the connection: check the peer's close "
		"reason and stop writing once a read returns 0 or an error."},
	[SL_K_SOCKET_LEAK] = {"socket-leak", "opened at", NULL,
		"This socket was never closed: close it on every path (errors included), or use a "
		"scope-bound owner so it cannot outlive its use."},
	[SL_K_MISSING_TIMEOUT] = {"missing-timeout", "connected at", "read at",
		"A blocking read with no timeout hangs forever if the peer goes silent: set SO_RCVTIMEO "
		"(or the library's read timeout), or poll with a timeout before reading."},
	[SL_K_MISSING_KEEPALIVE] = {"missing-keepalive", "connected at", NULL,
		"A long-lived connection without keepalive never notices a dead peer or a dropped NAT "
		"entry: enable SO_KEEPALIVE and tune TCP_KEEPIDLE/KEEPINTVL/KEEPCNT."},
	[SL_K_FD_EXHAUSTION] = {"fd-exhaustion", "failed at", NULL,
		"The process ran out of file descriptors (EMFILE: its RLIMIT_NOFILE; ENFILE: the system's): "
		"look for leaked sockets first, then raise the limit (ulimit -n, LimitNOFILE=) if the load "
		"is real."},
	[SL_K_UNTRACED_EXEC] = {"untraced-exec", NULL, NULL,
		"socklens cannot see inside that program. For a stripped environment, pass LD_PRELOAD and "
		"SOCKLENS_DIR through; for a static build, use a dynamic one; a setuid program can only be "
		"traced by running a copy without the setuid bit."},
	[SL_K_HUNG_CALL] = {"hung-call", "connected at", "blocked in",
		"A call that waits this long is usually waiting for a peer that will not answer: give it a "
		"deadline (SO_RCVTIMEO/SO_SNDTIMEO, a connect timeout, poll with a timeout) and check the "
		"peer shown."},
	[SL_K_CLOSED_BY_PEER] = {"closed-by-peer", "connected at", NULL,
		"Context for a failure nothing else explains: the peer closed (or the exchange ended) early. "
		"Look at the peer's logs for why it hung up, and at what the program expected to read."},
};

const struct sl_kind_info *sl_kind(enum sl_kind k)
{
	static const struct sl_kind_info none = {"?", NULL, NULL, ""};
	return (unsigned)k < SL_K__COUNT && kinds[k].name ? &kinds[k] : &none;
}

const char *sl_kind_name(enum sl_kind k)
{
	return sl_kind(k)->name;
}

const char *sl_kind_advice(enum sl_kind k)
{
	return sl_kind(k)->advice;
}

int sl_kind_parse(const char *name)
{
	for (int k = 0; k < SL_K__COUNT; k++)
		if (kinds[k].name && !strcmp(kinds[k].name, name))
			return k;
	return -1;
}

const char *sl_sev_name(enum sl_severity s)
{
	return s == SL_SEV_ERROR ? "error" : s == SL_SEV_WARNING ? "warning" : "info";
}
