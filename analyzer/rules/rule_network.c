/* rule_network.c - what the kernel and the call sites' counters say about the path and the peers:
 *  - slow-connect: connects over a threshold, with the call site's p50/p99/max;
 *  - retransmissions, high-rtt: from TCP_INFO (at close, or sampled on long-lived connections);
 *  - connection-churn: a call site opening one short connection per request to the same peer;
 *  - accept-queue-full, backlog-truncated: listeners whose queue filled, or was capped;
 *  - addr-in-use: bind() refused for an address another socket holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include "rules/rules.h"

/* Upper bound of latency bucket b (see SL_LAT_BUCKETS): 128 us, 256 us, ...; the last is open. */
static uint64_t bucket_top(unsigned b)
{
	return (2ull << b) * 64000ull;
}

/* The latency below which a share q (0..1) of the site's connects fall, as a bucket's top. */
static uint64_t percentile(const struct sl_stack *st, double q, uint64_t max)
{
	uint64_t n = 0, seen = 0;
	for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
		n += st->lat[b];
	for (unsigned b = 0; b < SL_LAT_BUCKETS && n; b++) {
		seen += st->lat[b];
		if ((double)seen >= q * (double)n) {
			uint64_t top = bucket_top(b);
			return b == SL_LAT_BUCKETS - 1 || top > max ? max : top;
		}
	}
	return max;
}

static void slow_connect(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role != SL_ROLE_CLIENT || s->connect_state != SL_CONN_DONE || s->connect_ns < x->th->connect_ns)
		return;
	const struct sl_stack *st = sl_image_stack(x->img, s->connect_stack);
	struct sl_diag d;
	char took[32], p50[32], p99[32], max[32];
	sl_diag_conn(&d, c, SL_K_SLOW_CONNECT, SL_SEV_WARNING);
	snprintf(d.group_peer, sizeof d.group_peer, "%s", d.peer); /* per destination */
	d.worst_ns = s->connect_ns;
	sl_dur_format(s->connect_ns, took, sizeof took);
	if (st && st->lat_call == SL_CALL_CONNECT) {
		uint64_t n = 0, top = st->max_ns > s->connect_ns ? st->max_ns : s->connect_ns;
		for (unsigned b = 0; b < SL_LAT_BUCKETS; b++)
			n += st->lat[b];
		uint64_t q50 = percentile(st, 0.5, top), q99 = percentile(st, 0.99, top);
		sl_dur_format(q50, p50, sizeof p50);
		sl_dur_format(q99, p99, sizeof p99);
		sl_dur_format(top, max, sizeof max);
		snprintf(d.summary, sizeof d.summary,
			 "connect() to %s took %s; the %llu connects from this call site: p50 under %s, p99 under %s, "
			 "max %s.",
			 d.peer[0] ? d.peer : "its peer", took, (unsigned long long)n, p50, p99, max);
		sl_diag_fact(&d, "connects", (double)n);
		sl_diag_fact(&d, "p50_ms", (double)q50 / 1e6);
		sl_diag_fact(&d, "p99_ms", (double)q99 / 1e6);
		sl_diag_fact(&d, "max_ms", (double)top / 1e6);
	} else {
		snprintf(d.summary, sizeof d.summary, "connect() to %s took %s.", d.peer[0] ? d.peer : "its peer", took);
	}
	sl_diag_fact(&d, "connect_ms", (double)s->connect_ns / 1e6);
	sl_diags_add(x->out, x->img, &d, s->connect_stack, 0);
}

/* Per peer host: the findings of one path group together whatever the ports. */
static void by_host(struct sl_diag *d)
{
	char host[160];
	sl_peer_host(d->peer, host, sizeof host);
	snprintf(d->group_peer, sizeof d->group_peer, "%s", host);
}

/* Whether c went through a listener of this image whose accept queue overflowed, on this host: its
 * client's handshake ACK and first data were dropped and sent again, and its round-trip time
 * measured that wait. The accept-queue-full finding says it; no path is to blame. */
static int through_full_queue(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	int port = s->role == SL_ROLE_SERVER ? sl_addr_port(&s->local) : sl_addr_port(&s->peer);
	if (port <= 0 || !sl_addr_same_host(&s->local, &s->peer))
		return 0;
	for (size_t i = 0; i < x->nconns; i++) {
		const struct sl_slot *l = x->conns[i].s;
		if (l->role == SL_ROLE_LISTENER && l->listen_limit && l->accept_queue_max > l->listen_limit &&
		    sl_addr_port(&l->local) == port)
			return 1;
	}
	return 0;
}

static void path(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (!sl_is_tcp(s) || !(s->flags & SL_SF_TCPINFO) || !sl_connected(s))
		return;
	struct sl_diag d;
	uint32_t stack;
	/* a few retransmissions happen on any path; a share of what was sent is a loss rate. Those
	 * the peer reported as duplicates (DSACK: tail-loss probes answered, on loopback above all)
	 * were not losses. */
	uint32_t lost = s->tcp_retrans > s->tcp_dsack_dups ? s->tcp_retrans - s->tcp_dsack_dups : 0;
	/* a SYN the peer's full accept queue dropped is sent again 1 s later, then 2 s, 4 s: those of a
	 * slow connect are that connect's (slow-connect says so), not a loss rate */
	uint32_t syns = 0;
	for (uint64_t t = 1000000000ull; s->role == SL_ROLE_CLIENT && s->connect_ns >= t && syns < 6; t = t * 2 + 1000000000ull)
		syns++;
	lost = lost > syns ? lost - syns : 0;
	int local = sl_addr_same_host(&s->local, &s->peer);
	int high_rtt = (uint64_t)s->tcp_rtt_us * 1000 >= x->th->rtt_ns && s->tcp_rtt_us;
	/* asked only of a connection with something to say (the search walks the image's sockets) */
	int queued = local && ((s->role == SL_ROLE_CLIENT && s->connect_ns >= x->th->connect_ns) ||
			       ((lost >= 3 || high_rtt) && through_full_queue(x, c)));
	if (queued)
		lost = 0; /* the same full queue at the listener as the slow connect: one finding */
	/* over loopback what drops is the receiving socket's memory: a peer that stopped reading and
	 * left (the program met its reset, or the kernel had closed the connection) made these, as
	 * wrk does when its run ends mid-response; the program has no line to change */
	if (local && (sl_met(s, ECONNRESET) || sl_met(s, EPIPE) || s->tcp_state == TCP_CLOSE))
		lost = 0;
	if (lost >= 3 && s->tcp_segs_out && (uint64_t)lost * 10000 >= x->th->retrans_pct * (uint64_t)s->tcp_segs_out) {
		stack = sl_diag_conn(&d, c, SL_K_RETRANSMISSIONS, SL_SEV_WARNING);
		by_host(&d);
		if (local) /* no link, no loss: the receiving socket dropped them */
			d.advice = "Over loopback no link loses packets: something on this host dropped them, most "
				   "often the peer itself: a listener whose accept queue was full (raise its listen() "
				   "backlog, accept faster), a socket over its receive memory (read faster); else a "
				   "firewall rule on lo.";
		double pct = 100.0 * s->tcp_retrans / s->tcp_segs_out;
		d.worst_ns = (uint64_t)(pct * 1e6); /* the worst share shows */
		snprintf(d.summary, sizeof d.summary,
			 "%u of the %u segments sent %s %s were retransmitted (%.1f%%)%s; RTT %.1f ms.", s->tcp_retrans,
			 s->tcp_segs_out, s->role == SL_ROLE_SERVER ? "to the client" : "to",
			 d.peer[0] ? d.peer : "its peer", pct, c->open_at_end ? " so far" : "", s->tcp_rtt_us / 1000.0);
		sl_diag_fact(&d, "retransmitted", s->tcp_retrans);
		sl_diag_fact(&d, "segments_sent", s->tcp_segs_out);
		sl_diag_fact(&d, "lost", s->tcp_lost);
		sl_diag_fact(&d, "rtt_ms", s->tcp_rtt_us / 1000.0);
		sl_diags_add(x->out, x->img, &d, stack, 0);
	}
	/* the round-trip time of a connection whose handshake waited for a full accept queue on this
	 * host measures that wait, not a path (slow-connect says it) */
	if (high_rtt && !queued) {
		stack = sl_diag_conn(&d, c, SL_K_HIGH_RTT, SL_SEV_WARNING);
		by_host(&d);
		d.worst_ns = (uint64_t)s->tcp_rtt_us * 1000;
		snprintf(d.summary, sizeof d.summary, "The smoothed round-trip time to %s was %.1f ms (variation %.1f ms).",
			 d.peer[0] ? d.peer : "its peer", s->tcp_rtt_us / 1000.0, s->tcp_rttvar_us / 1000.0);
		sl_diag_fact(&d, "rtt_ms", s->tcp_rtt_us / 1000.0);
		sl_diag_fact(&d, "rttvar_ms", s->tcp_rttvar_us / 1000.0);
		sl_diags_add(x->out, x->img, &d, stack, 0);
	}
}

/* A listener's queue and backlog, as the kernel reported them. */
static void listener(const struct sl_ctx *x, const struct sl_conn *c)
{
	const struct sl_slot *s = c->s;
	if (s->role != SL_ROLE_LISTENER || !s->listen_limit)
		return;
	struct sl_diag d;
	uint32_t stack = sl_diag_conn(&d, c, SL_K_ACCEPT_QUEUE_FULL, SL_SEV_ERROR);
	sl_addr_format(&s->local, d.peer, sizeof d.peer);
	/* the listen() call itself, when its event was kept */
	for (uint32_t i = 0; i < x->img->nevents; i++)
		if (x->img->events[i].type == SL_EV_LISTEN && x->img->events[i].conn_id == s->conn_id)
			stack = x->img->events[i].stack;
	/* the kernel queues up to limit + 1 connections before it drops SYNs */
	int full = s->accept_queue_max > s->listen_limit;
	if (full) {
		d.worst_ns = s->accept_queue_max;
		snprintf(d.summary, sizeof d.summary,
			 "The accept queue of the listener on %s held %u connections waiting for accept(), over its "
			 "limit of %u: the kernel dropped SYNs meanwhile.",
			 d.peer[0] ? d.peer : "(unnamed)", s->accept_queue_max, s->listen_limit);
		sl_diag_fact(&d, "queue_max", s->accept_queue_max);
		sl_diag_fact(&d, "queue_limit", s->listen_limit);
		sl_diags_add(x->out, x->img, &d, stack, 0);
	}
	/* a backlog of -1, or a huge one, means "as many as allowed" */
	if (s->listen_backlog > 0 && s->listen_backlog < 65536 && (uint32_t)s->listen_backlog > s->listen_limit) {
		uint32_t keep = stack;
		sl_diag_conn(&d, c, SL_K_BACKLOG_TRUNCATED, full ? SL_SEV_WARNING : SL_SEV_INFO);
		sl_addr_format(&s->local, d.peer, sizeof d.peer);
		snprintf(d.summary, sizeof d.summary,
			 "listen() on %s asked for a backlog of %d; the kernel kept %u (net.core.somaxconn)%s.",
			 d.peer[0] ? d.peer : "(unnamed)", s->listen_backlog, s->listen_limit,
			 full ? ", and the queue filled" : "");
		sl_diag_fact(&d, "backlog_asked", s->listen_backlog);
		sl_diag_fact(&d, "backlog_kept", s->listen_limit);
		sl_diags_add(x->out, x->img, &d, keep, 0);
	}
}

/* A client connection still open at the end that was one short exchange (as the recorder counts
 * a closed one: lifecycle.c), idle since: its call site, its open and when its exchange ended. */
struct idle_one {
	uint32_t site;
	uint64_t open_ns, done_ns;
	const struct sl_slot *s;
};

static int idle_cmp(const void *a, const void *b)
{
	const struct idle_one *x = a, *y = b;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->open_ns < y->open_ns ? -1 : x->open_ns > y->open_ns;
}

/* ... of which, per call site, those opened after an earlier one to the same peer had finished its
 * exchange: a new connection while an idle one was there to reuse (a transport made per request
 * keeps each one idle in a pool of its own; a burst of concurrent requests opens its connections
 * before any is idle). Sorted by site into *out. */
static size_t idle_ones(const struct sl_ctx *x, struct idle_one **out)
{
	struct idle_one *v = calloc(x->nconns ? x->nconns : 1, sizeof *v);
	size_t n = 0, m = 0;
	for (size_t i = 0; v && i < x->nconns; i++) {
		const struct sl_slot *s = x->conns[i].s;
		uint64_t done = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
		if (x->conns[i].open_at_end && s->role == SL_ROLE_CLIENT && sl_is_tcp(s) &&
		    s->connect_state == SL_CONN_DONE && s->calls_out <= 2 && s->bytes_in && sl_conn_stack(s) &&
		    (done <= s->open_ns || done - s->open_ns < 1000000000ull))
			v[n++] = (struct idle_one){sl_conn_stack(s), s->open_ns, done, s};
	}
	if (n > 1)
		qsort(v, n, sizeof *v, idle_cmp);
	struct idle_one first = {0}; /* the site's earliest done so far (s NULL: none yet) */
	for (size_t i = 0; i < n; i++) {
		struct idle_one o = v[i];
		if (first.s && first.site != o.site)
			first.s = NULL;
		const struct sl_addr *a = first.s ? &first.s->peer : NULL, *b = &o.s->peer;
		if (a && o.open_ns >= first.done_ns && a->family == b->family && a->len == b->len &&
		    !memcmp(a->data, b->data, a->len))
			v[m++] = o;
		if (!first.s || o.done_ns < first.done_ns)
			first = o;
	}
	*out = v;
	return m;
}

/* How many of the sorted idle[0..n) are from call site id. */
static uint64_t idle_at(const struct idle_one *idle, size_t n, uint32_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idle[mid].site < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = lo;
	while (k < n && idle[k].site == id)
		k++;
	return k - lo;
}

/* Call sites whose connections were each one short exchange with the peer of the one before. */
static void churn(const struct sl_ctx *x)
{
	struct idle_one *idle;
	size_t nidle = idle_ones(x, &idle);
	for (uint32_t k = 0; k < x->img->nstacks; k++) {
		uint32_t id = sl_image_stack_id(x->img, k);
		const struct sl_stack *st = sl_image_stack(x->img, id);
		uint64_t open = idle_at(idle, nidle, id);
		if (!st || st->same_peer_short + open < x->th->churn || (st->same_peer_short + open) * 2 < st->closed + open)
			continue;
		struct sl_diag d;
		const struct sl_conn *eg = NULL;
		for (size_t i = 0; i < x->nconns && !eg; i++)
			if (sl_conn_stack(x->conns[i].s) == id)
				eg = &x->conns[i];
		if (eg) {
			sl_diag_conn(&d, eg, SL_K_CONNECTION_CHURN, SL_SEV_WARNING);
		} else {
			sl_diag_init(&d, SL_K_CONNECTION_CHURN, SL_SEV_WARNING, x->proc, -1);
			d.when_ns = sl_image_end(x->run, x->proc, x->img);
			snprintf(d.group_peer, sizeof d.group_peer, "client");
		}
		d.worst_ns = st->same_peer_short + open;
		char idle_note[96] = "";
		if (open)
			snprintf(idle_note, sizeof idle_note, "; %llu more still open, each left idle after its exchange",
				 (unsigned long long)open);
		snprintf(d.summary, sizeof d.summary,
			 "%llu connections from this call site were each opened and used for one exchange within a second, "
			 "to the same peer as the one before (%s; %llu closed in all%s): no reuse.",
			 (unsigned long long)(st->same_peer_short + open),
			 d.peer[0] ? d.peer : "the peer is no longer in the table", (unsigned long long)st->closed, idle_note);
		sl_diag_fact(&d, "short_same_peer", (double)(st->same_peer_short + open));
		sl_diag_fact(&d, "short", (double)st->short_closed);
		sl_diag_fact(&d, "closed", (double)st->closed);
		sl_diag_fact(&d, "idle_open", (double)open);
		sl_diags_add(x->out, x->img, &d, id, 0);
	}
	free(idle);
}

static void bind_failures(const struct sl_ctx *x)
{
	for (uint32_t i = 0; i < x->img->nevents; i++) {
		const struct sl_event *ev = &x->img->events[i];
		if (ev->type != SL_EV_BIND || !ev->err)
			continue;
		int in_use = ev->err == EADDRINUSE;
		struct sl_diag d;
		sl_diag_init(&d, in_use ? SL_K_ADDR_IN_USE : SL_K_BIND_FAILED, SL_SEV_ERROR, x->proc, ev->fd);
		d.when_ns = ev->ts_ns;
		d.err = ev->err;
		d.conn_id = ev->conn_id;
		sl_addr_format(&ev->addr, d.peer, sizeof d.peer);
		if (!in_use) {
			snprintf(d.summary, sizeof d.summary, "bind() to %s failed with %s.", d.peer[0] ? d.peer : "(an address)",
				 sl_errno_name(ev->err));
			sl_diags_add(x->out, x->img, &d, ev->stack, 0);
			continue;
		}
		snprintf(d.group_peer, sizeof d.group_peer, "%lld", (long long)ev->a);
		snprintf(d.summary, sizeof d.summary, "bind() to %s failed with EADDRINUSE; %s",
			 d.peer[0] ? d.peer : "(an address)",
			 ev->a ? "SO_REUSEADDR was set, so another socket is bound or listening there."
			       : "SO_REUSEADDR was not set, so even connections of an earlier run in TIME_WAIT block it.");
		sl_diag_fact(&d, "reuseaddr", (double)ev->a);
		sl_diags_add(x->out, x->img, &d, ev->stack, 0);
	}
}

void sl_rule_network(struct sl_ctx *x)
{
	for (size_t i = 0; i < x->nconns; i++) {
		slow_connect(x, &x->conns[i]);
		path(x, &x->conns[i]);
		listener(x, &x->conns[i]);
	}
	churn(x);
	bind_failures(x);
}
