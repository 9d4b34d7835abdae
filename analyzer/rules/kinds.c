/* kinds.c - the one table of diagnostic kinds: name, how its stacks are labelled, and advice. A new
 * kind is one row here and one rule file; the renderers read everything else from this table. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

static const struct sl_kind_info kinds[SL_K__COUNT] = {
	[SL_K_CONNECT_REFUSED] = {"connect-refused", "connect at", NULL, NULL,
		"Nothing was listening at that address: check that the service is running and that the "
		"host and port in the program's configuration are right."},
	[SL_K_CONNECT_TIMEOUT] = {"connect-timeout", "connect at", NULL, NULL,
		"The peer never answered the handshake: a firewall dropping packets, a wrong address, or a "
		"server whose accept queue is full. Check reachability and the server's backlog."},
	[SL_K_CONNECT_UNREACHABLE] = {"connect-unreachable", "connect at", NULL, NULL,
		"The kernel had no route to the peer: check the address, the routing table and the "
		"network the program runs in (container, namespace)."},
	[SL_K_CONNECTION_RESET] = {"connection-reset", "failed at", NULL, NULL,
		"The peer aborted the connection (RST): it crashed, closed with unread data, or a proxy "
		"or idle timeout killed it. Handle the error and retry or reconnect where safe."},
	[SL_K_BROKEN_PIPE] = {"broken-pipe", "failed at", NULL, NULL,
		"The program wrote after the peer had closed the connection: check the peer's close "
		"reason and stop writing once a read returns 0 or an error."},
	[SL_K_SOCKET_LEAK] = {"socket-leak", "opened at", NULL, NULL,
		"This socket was never closed: close it on every path (errors included), or use a "
		"scope-bound owner so it cannot outlive its use."},
	[SL_K_MISSING_TIMEOUT] = {"missing-timeout", "connected at", "read at", "read_site",
		"A blocking read with no timeout hangs forever if the peer goes silent: set SO_RCVTIMEO "
		"(or the library's read timeout), or poll with a timeout before reading."},
	[SL_K_MISSING_KEEPALIVE] = {"missing-keepalive", "connected at", NULL, NULL,
		"A long-lived connection without keepalive never notices a dead peer or a dropped NAT "
		"entry: enable SO_KEEPALIVE and tune TCP_KEEPIDLE/KEEPINTVL/KEEPCNT."},
	[SL_K_FD_EXHAUSTION] = {"fd-exhaustion", "failed at", NULL, NULL,
		"The process ran out of file descriptors (EMFILE: its RLIMIT_NOFILE; ENFILE: the system's): "
		"look for leaked sockets first, then raise the limit (ulimit -n, LimitNOFILE=) if the load "
		"is real."},
	[SL_K_UNTRACED_EXEC] = {"untraced-exec", NULL, NULL, NULL,
		"socklens did not follow that program. A Go or static program is followed when socklens run "
		"starts it, or the script or launcher that runs it; in a stripped environment, pass "
		"LD_PRELOAD and SOCKLENS_DIR through; a setuid program can only be traced by running a copy "
		"without the setuid bit."},
	[SL_K_HUNG_CALL] = {"hung-call", "connected at", "blocked in", NULL,
		"A call that waits this long is usually waiting for a peer that will not answer: give it a "
		"deadline (SO_RCVTIMEO/SO_SNDTIMEO, a connect timeout, poll with a timeout) and check the "
		"peer shown."},
	[SL_K_CLOSED_BY_PEER] = {"closed-by-peer", "connected at", NULL, NULL,
		"Context for a failure nothing else explains: the peer closed (or the exchange ended) early. "
		"Look at the peer's logs for why it hung up, and at what the program expected to read."},
	[SL_K_UNANSWERED_REQUEST] = {"unanswered-request", "connected at", "last send at", "send_site",
		"The peer took the request and never answered: look at the peer (overloaded, stuck, or "
		"waiting for more input than was sent), and give the program a read deadline that fits the "
		"service so a silent peer fails fast."},
	[SL_K_CLOSE_WAIT] = {"close-wait", "opened at", NULL, "eof_site",
		"The peer closed its side but the program kept the socket open, so the kernel holds it in "
		"CLOSE_WAIT: close the socket when a read returns 0, on every path, and do not keep idle "
		"connections nobody reads."},
	[SL_K_TLS_ALERT] = {"tls-alert", "connected at", NULL, NULL,
		"A TLS handshake failed with this alert: compare the protocol versions, cipher suites and "
		"certificates both sides accept (openssl s_client -connect shows the server's side)."},
	[SL_K_TLS_ABORTED] = {"tls-aborted", "connected at", NULL, NULL,
		"The peer hung up on the ClientHello without a word: usually a TLS version or cipher the "
		"server will not speak, SNI it does not know, or a port that does not speak TLS at all."},
	[SL_K_NAGLE_DELAY] = {"nagle-delay", "connected at", "last write at", "send_site",
		"Several small writes and then a read: Nagle's algorithm holds the last write until the "
		"peer's delayed ACK (40 ms on Linux). Send each request in one write (writev, a buffer), or "
		"set TCP_NODELAY."},
	[SL_K_SLOW_CONNECT] = {"slow-connect", "connect at", NULL, NULL,
		"Connects this slow usually mean lost SYNs (a retransmission waits 1 s, then 2 s, 3 s...), "
		"a full accept queue at the server, or a distant or overloaded peer: check the server's "
		"backlog and the path's loss."},
	[SL_K_RETRANSMISSIONS] = {"retransmissions", "connected at", NULL, NULL,
		"The kernel had to send segments again: packets are being lost between the hosts (a "
		"congested or faulty link, a policer, a full queue). Check the path (mtr, interface "
		"errors) before tuning the program."},
	[SL_K_HIGH_RTT] = {"high-rtt", "connected at", NULL, NULL,
		"Round trips to this peer are slow: every request pays this at least once. Check where the "
		"peer is, queueing on the path (bufferbloat), or a peer too busy to acknowledge promptly."},
	[SL_K_ACCEPT_QUEUE_FULL] = {"accept-queue-full", "listen at", NULL, NULL,
		"The listener's accept queue filled: the kernel drops new SYNs, so clients see slow or "
		"timed-out connects. Accept faster (more workers, less work before accept) or raise the "
		"backlog (and net.core.somaxconn)."},
	[SL_K_BACKLOG_TRUNCATED] = {"backlog-truncated", "listen at", NULL, NULL,
		"listen() asked for a longer accept queue than net.core.somaxconn allows, and the kernel "
		"silently capped it: raise the sysctl (sysctl -w net.core.somaxconn=N) or ask for less."},
	[SL_K_ADDR_IN_USE] = {"addr-in-use", "bind at", NULL, NULL,
		"Another socket holds that address: another instance still running, or, without "
		"SO_REUSEADDR, connections of a previous run in TIME_WAIT. Set SO_REUSEADDR on listeners; "
		"find the holder with ss -ltnp."},
	[SL_K_PORT_EXHAUSTION] = {"port-exhaustion", "connect at", NULL, NULL,
		"No local port was free for a new connection: the ephemeral range (net.ipv4.ip_local_port_range) "
		"is used up, usually by connections in TIME_WAIT from opening one connection per request. "
		"Reuse connections (keep-alive, a pool)."},
	[SL_K_CONNECTION_CHURN] = {"connection-churn", "connect at", NULL, NULL,
		"A new connection per request to the same peer: each pays a handshake (and TLS), and the "
		"closed ones pile up in TIME_WAIT until ports run out. Keep connections alive and reuse "
		"them (HTTP keep-alive, a connection pool); if the client does, the server ends each one "
		"(it answers \"Connection: close\": turn keep-alive on there)."},
	[SL_K_RESET_ON_CLOSE] = {"reset-on-close", "closed at", NULL, NULL,
		"Closing this way makes the kernel send RST instead of FIN, and the peer sees \"connection "
		"reset\" and may lose the last data it was sent: read what the peer sent (or shutdown(SHUT_WR) "
		"and drain) before close, and do not set SO_LINGER to {1, 0}."},
	[SL_K_USE_AFTER_CLOSE] = {"use-after-close", "failed at", "closed earlier at", "close_site",
		"The program used a socket's fd number after closing it (or closed it twice): a race or a "
		"stale copy of the number. Once the number is reused, the same bug reads or closes someone "
		"else's file: clear the variable at close and give the socket one owner."},
	[SL_K_DNS_FAILURE] = {"dns-failure", "lookup at", NULL, NULL,
		"A name lookup failed: check the name (a typo, a missing search domain), /etc/resolv.conf "
		"and /etc/hosts, and that the resolver answers (EAI_AGAIN: it did not, in time)."},
	[SL_K_SLOW_DNS] = {"slow-dns", "lookup at", NULL, NULL,
		"Name lookups this slow usually mean a resolver that drops queries (glibc retries after its "
		"timeout, 5 s by default), an unreachable first nameserver, or a long search list: fix "
		"resolv.conf, run a local cache, or look names up once and reuse the addresses."},
	[SL_K_KEEPALIVE_INEFFECTIVE] = {"keepalive-ineffective", "connected at", NULL, NULL,
		"SO_KEEPALIVE is on, but with the kernel's idle time (net.ipv4.tcp_keepalive_time, 2 hours "
		"by default) a dead peer or dropped NAT entry goes unnoticed that long: also set "
		"TCP_KEEPIDLE (and TCP_KEEPINTVL, TCP_KEEPCNT) to what the network needs, e.g. 60 s."},
	[SL_K_SHORT_WRITE] = {"short-write", "connected at", "short write at", "send_site",
		"A write sent less than it was asked to (a non-blocking socket with a full send buffer, or a "
		"signal) and the program never sent the rest: loop until every byte is written, waiting for "
		"POLLOUT when the socket says EAGAIN."},
	[SL_K_TLS_REJECTED] = {"tls-rejected", "connected at", NULL, NULL,
		"The program would not go on with the server it reached: most often the server's certificate "
		"failed verification (a CA the program does not trust, a self-signed or expired certificate, "
		"a name that does not match). Check with openssl s_client -connect HOST:PORT -servername NAME, "
		"and fix the server's chain or the program's trust store, not the verification."},
	[SL_K_BIND_FAILED] = {"bind-failed", "bind at", NULL, NULL,
		"The address could not be taken: EACCES for a port below 1024 without CAP_NET_BIND_SERVICE "
		"(or net.ipv4.ip_unprivileged_port_start), or a unix socket in a directory the process cannot "
		"write; EADDRNOTAVAIL for an address no interface of this host has (yet: IP_FREEBIND); ENOENT "
		"for a unix socket whose directory does not exist. Fix the configuration or the permissions."},
	[SL_K_INJECTED] = {"injected", "injected at", NULL, NULL,
		"socklens put this fault in (--inject); read what the program did next. A hang or a leak "
		"after it is the program's to fix (a timeout, a close on the error path), and so is a retry "
		"loop without a bound or a pause."},
	[SL_K_WRITE_STALLED] = {"write-stalled", "connected at", "blocked in", NULL,
		"The peer stopped reading: its receive buffer and ours are full. Find out why it is not "
		"reading (stuck itself, blocked on something else, overloaded), and give the write a "
		"deadline (conn.SetWriteDeadline, SO_SNDTIMEO, poll with a timeout) so the writer gives up "
		"instead of hanging."},
};

const struct sl_kind_info *sl_kind(enum sl_kind k)
{
	static const struct sl_kind_info none = {"?", NULL, NULL, NULL, ""};
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

const char *sl_diag_advice(const struct sl_diag *d)
{
	return d->advice ? d->advice : sl_kind_advice(d->kind);
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

int sl_fail_on_parse(const char *list, uint64_t *mask)
{
	char *copy = strdup(list), *save = NULL;
	int ok = copy != NULL;
	*mask = 0;
	for (char *tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
		int k = sl_kind_parse(tok);
		if (!strcmp(tok, "all"))
			*mask |= (1ull << SL_K__COUNT) - 1;
		else if (k >= 0)
			*mask |= 1ull << k;
		else {
			sl_error("unknown diagnostic kind '%s' in --fail-on", tok);
			ok = 0;
		}
	}
	free(copy);
	return ok && *mask ? 0 : -1;
}
