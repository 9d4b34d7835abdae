/* rule_connect.c - connect-refused, connect-timeout, connect-unreachable, port-exhaustion. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include "analyzer.h"

static int kind_of(int err)
{
	switch (err) {
	case ECONNREFUSED: return SL_K_CONNECT_REFUSED;
	case ETIMEDOUT: return SL_K_CONNECT_TIMEOUT;
	case EHOSTUNREACH: case ENETUNREACH: case EHOSTDOWN: case ENETDOWN: return SL_K_CONNECT_UNREACHABLE;
	case EADDRNOTAVAIL: return SL_K_PORT_EXHAUSTION;
	}
	return -1;
}

static void add(struct sl_ctx *c, int kind, int err, const struct sl_addr *peer, int fd, uint32_t stack, uint64_t dur,
		uint64_t conn_id, const char *how, uint64_t when)
{
	struct sl_diag d;
	char ms[32];
	sl_diag_init(&d, (enum sl_kind)kind, SL_SEV_ERROR, c->proc, fd);
	d.when_ns = when;
	d.err = err;
	d.conn_id = conn_id;
	d.worst_ns = dur;
	sl_addr_format(peer, d.peer, sizeof d.peer); /* peers are listed per call site, not split */
	sl_dur_format(dur, ms, sizeof ms);
	const char *en = sl_errno_name(err);
	snprintf(d.summary, sizeof d.summary, "connect() to %s %s%s%s%s after %s.",
		 d.peer[0] ? d.peer : "an unknown peer", how, en ? " (" : "", en ? en : "", en ? ")" : "", ms);
	sl_diags_add(c->out, c->img, &d, stack, 0);
}

static const char *verb(int kind)
{
	return kind == SL_K_CONNECT_REFUSED   ? "was refused"
	       : kind == SL_K_CONNECT_TIMEOUT ? "timed out"
	       : kind == SL_K_PORT_EXHAUSTION ? "failed: no local port was free"
					      : "failed: no route to the peer";
}

/* CONNECT events carry every outcome the shim saw: blocking, or a non-blocking one followed to its end. */
static void from_events(struct sl_ctx *c)
{
	for (uint32_t i = 0; i < c->img->nevents; i++) {
		const struct sl_event *ev = &c->img->events[i];
		if (ev->type != SL_EV_CONNECT || ev->err == 0)
			continue;
		int kind = kind_of(ev->err);
		if (kind >= 0)
			add(c, kind, ev->err, &ev->addr, ev->fd, ev->stack, ev->dur_ns, ev->conn_id, verb(kind), ev->ts_ns);
	}
}

/* A connect still pending when the program closed the socket, with the kernel still
 * sending SYNs: the program gave up waiting, which is a timeout it chose. */
static void abandoned(struct sl_ctx *c)
{
	for (size_t i = 0; i < c->nconns; i++) {
		const struct sl_conn *cn = &c->conns[i];
		const struct sl_slot *s = cn->s;
		if (s->connect_state != SL_CONN_PENDING || !(s->flags & SL_SF_TCPINFO) || s->tcp_state != TCP_SYN_SENT)
			continue;
		add(c, SL_K_CONNECT_TIMEOUT, ETIMEDOUT, &s->peer, s->fd, s->connect_stack,
		    cn->end_ns > s->connect_start_ns ? cn->end_ns - s->connect_start_ns : 0, s->conn_id,
		    "got no answer; the program gave up", cn->end_ns);
	}
}

void sl_rule_connect(struct sl_ctx *c)
{
	from_events(c);
	abandoned(c);
}
