/* rule_connect.c - connect-refused, connect-timeout, connect-unreachable, port-exhaustion. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

/* ENOENT: a unix socket's path that does not exist (nothing listens there either). */
static int kind_of(int err)
{
	switch (err) {
	case ECONNREFUSED: case ENOENT: return SL_K_CONNECT_REFUSED;
	case ETIMEDOUT: return SL_K_CONNECT_TIMEOUT;
	case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN: case ENETDOWN: return SL_K_CONNECT_UNREACHABLE;
	case EADDRNOTAVAIL: return SL_K_PORT_EXHAUSTION;
	}
	return -1;
}

static int same_addr(const struct sl_addr *a, const struct sl_addr *b)
{
	return a->family == b->family && a->len == b->len && a->len <= SL_ADDR_DATA && !memcmp(a->data, b->data, a->len);
}

/* Connections that got through (and, if they sent, got something back), ordered so that a later
 * connect from one call site to one peer is found by binary search: a run of a million failures
 * asks a million times. */
static int key_cmp(const struct sl_slot *a, uint32_t stack, const struct sl_addr *peer, uint64_t start)
{
	uint32_t sa = sl_conn_stack(a);
	if (sa != stack)
		return sa < stack ? -1 : 1;
	if (a->peer.family != peer->family)
		return a->peer.family < peer->family ? -1 : 1;
	if (a->peer.len != peer->len)
		return a->peer.len < peer->len ? -1 : 1;
	int d = memcmp(a->peer.data, peer->data, a->peer.len <= SL_ADDR_DATA ? a->peer.len : SL_ADDR_DATA);
	if (d)
		return d;
	return a->connect_start_ns < start ? -1 : a->connect_start_ns > start;
}

static int connected_cmp(const void *pa, const void *pb)
{
	const struct sl_slot *a = *(const struct sl_slot *const *)pa, *b = *(const struct sl_slot *const *)pb;
	return key_cmp(a, sl_conn_stack(b), &b->peer, b->connect_start_ns);
}

void sl_index_connected(struct sl_ctx *c)
{
	c->connected = calloc(c->nconns ? c->nconns : 1, sizeof *c->connected);
	c->nconnected = 0;
	for (size_t i = 0; c->connected && i < c->nconns; i++) {
		const struct sl_slot *s = c->conns[i].s;
		if (s->role == SL_ROLE_CLIENT && s->connect_state == SL_CONN_DONE && sl_conn_stack(s) &&
		    s->peer.family && (s->bytes_in || !s->bytes_out))
			c->connected[c->nconnected++] = s;
	}
	if (c->nconnected)
		qsort(c->connected, c->nconnected, sizeof *c->connected, connected_cmp);
}

/* Whether a connection from call site stack to peer got through after when (within ns of it,
 * unless ns is 0): the program tried again and went on. */
int sl_retried_ok(const struct sl_ctx *x, uint32_t stack, const struct sl_addr *peer, uint64_t when, uint64_t ns)
{
	if (!stack || !peer->family || !x->connected)
		return 0;
	size_t lo = 0, hi = x->nconnected; /* the first entry not before (stack, peer, when] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key_cmp(x->connected[mid], stack, peer, when) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == x->nconnected)
		return 0;
	const struct sl_slot *s = x->connected[lo];
	return sl_conn_stack(s) == stack && same_addr(&s->peer, peer) && s->connect_start_ns > when &&
	       (!ns || s->connect_start_ns - when <= ns);
}

static void add(struct sl_ctx *c, int kind, int err, const struct sl_addr *peer, int fd, uint32_t stack, uint64_t dur,
		uint64_t conn_id, const char *how, uint64_t when, struct sl_tally *t)
{
	struct sl_diag d;
	char ms[32];
	int retried = sl_retried_ok(c, stack, peer, when, 0);
	sl_diag_init(&d, (enum sl_kind)kind, retried ? SL_SEV_WARNING : SL_SEV_ERROR, c->proc, fd);
	d.when_ns = when;
	d.err = err;
	d.conn_id = conn_id;
	d.worst_ns = dur;
	sl_addr_format(peer, d.peer, sizeof d.peer); /* peers are listed per call site, not split */
	sl_dur_format(dur, ms, sizeof ms);
	const char *en = sl_errno_name(err);
	snprintf(d.summary, sizeof d.summary, "connect() to %s %s%s%s%s after %s%s.",
		 d.peer[0] ? d.peer : "an unknown peer", how, en ? " (" : "", en ? en : "", en ? ")" : "", ms,
		 retried ? "; a later connect from here to it succeeded, and the program went on" : "");
	if (t)
		sl_tally_note(t, stack, err, &d);
	sl_diags_add(c->out, c->img, &d, stack, 0);
}

static const char *verb(int kind)
{
	return kind == SL_K_CONNECT_REFUSED   ? "was refused"
	       : kind == SL_K_CONNECT_TIMEOUT ? "timed out"
	       : kind == SL_K_PORT_EXHAUSTION ? "failed: no local port was free"
					      : "failed: no route to the peer";
}

/* A unix socket the C library's name services try and do without: nscd's (glibc asks it first for
 * users, groups and hosts and falls back to the files and DNS when no nscd runs) and systemd's
 * user database services (nss-systemd). A program calling getpwuid or getaddrinfo through glibc
 * meets these refusals on every machine without them; the preload does not see glibc's internal
 * calls, the tracer (a cgo Go program's) does. Not the program's error. */
static int optional_service(const struct sl_addr *peer, int err)
{
	static const char *const paths[] = {"unix:/var/run/nscd/socket", "unix:/run/nscd/socket",
					    "unix:/run/systemd/userdb/"};
	char a[SL_ADDR_DATA + 16];
	if (err != ENOENT && err != ECONNREFUSED)
		return 0;
	sl_addr_format(peer, a, sizeof a);
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		if (!strncmp(a, paths[i], strlen(paths[i])) &&
		    (paths[i][strlen(paths[i]) - 1] == '/' || !a[strlen(paths[i])]))
			return 1;
	return 0;
}

/* CONNECT events carry every outcome the shim saw: blocking, or a non-blocking one followed to its
 * end. The connect sites' own counters make the counts exact when the event table lost some. */
static void from_events(struct sl_ctx *c)
{
	struct sl_tally *t = sl_tally_new();
	for (uint32_t i = 0; i < c->img->nevents; i++) {
		const struct sl_event *ev = &c->img->events[i];
		if (ev->type != SL_EV_CONNECT || ev->err == 0)
			continue;
		int kind = kind_of(ev->err);
		if (kind >= 0 && optional_service(&ev->addr, ev->err))
			sl_tally_note(t, ev->stack, ev->err, NULL); /* (its site's counter is not said either) */
		else if (kind >= 0)
			add(c, kind, ev->err, &ev->addr, ev->fd, ev->stack, ev->dur_ns, ev->conn_id, verb(kind), ev->ts_ns, t);
	}
	/* connect sites none of whose failures is left in the events: the counter alone */
	for (uint32_t n = 0; n < c->img->nstacks; n++) {
		uint32_t id = sl_image_stack_id(c->img, n);
		const struct sl_stack *st = sl_image_stack(c->img, id);
		for (uint32_t k = 0; st && st->lat_call == SL_CALL_CONNECT && k < SL_ERRS; k++) {
			int err = st->err_no[k], kind = kind_of(err);
			if (!st->err_count[k] || kind < 0 || sl_tally_seen(t, id, err))
				continue;
			struct sl_diag d;
			sl_diag_init(&d, (enum sl_kind)kind, SL_SEV_ERROR, c->proc, -1);
			d.err = err;
			d.count = (unsigned)st->err_count[k];
			d.worst_ns = st->max_ns;
			d.when_ns = sl_site_last_failure(c, st);
			snprintf(d.summary, sizeof d.summary,
				 "%llu connects from this call site failed with %s; the event table kept none of them, so "
				 "their peers are not known.", (unsigned long long)st->err_count[k], sl_errno_name(err));
			sl_diags_add(c->out, c->img, &d, id, 0);
		}
	}
	sl_tally_flush(t, c);
}

/* A connect still pending when the program shut the socket down or closed it, with the kernel
 * still sending SYNs: the program gave up waiting, which is a timeout it chose. */
static void abandoned(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		if (s->connect_state != SL_CONN_PENDING ||
		    (!(s->flags & SL_SF_GAVE_UP) && (!(s->flags & SL_SF_TCPINFO) || s->tcp_state != TCP_SYN_SENT)))
			continue;
		add(c, SL_K_CONNECT_TIMEOUT, ETIMEDOUT, &s->peer, s->fd, s->connect_stack,
		    cn->end_ns > s->connect_start_ns ? cn->end_ns - s->connect_start_ns : 0, s->conn_id,
		    "got no answer; the program gave up", cn->end_ns, NULL);
	}
}

void sl_rule_connect(struct sl_ctx *c)
{
	from_events(c);
	abandoned(c);
}
