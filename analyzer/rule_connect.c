/* rule_connect.c - connect-refused, connect-timeout, connect-unreachable. */
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
	}
	return -1;
}

static void add(struct sl_diags *out, const struct sl_proc *p, struct sl_image *img, int kind, int err,
		const struct sl_addr *peer, int fd, uint32_t stack, uint64_t dur, uint64_t conn_id, const char *how)
{
	struct sl_diag d;
	char ms[32];
	memset(&d, 0, sizeof d);
	d.kind = (enum sl_kind)kind;
	d.sev = SL_SEV_ERROR;
	d.proc = p;
	d.img = img;
	d.fd = fd;
	d.err = err;
	d.stack = stack;
	d.conn_id = conn_id;
	d.worst_ns = dur;
	d.count = 1;
	sl_addr_format(peer, d.peer, sizeof d.peer);
	memcpy(d.group_peer, d.peer, sizeof d.peer);
	sl_dur_format(dur, ms, sizeof ms);
	const char *en = sl_errno_name(err);
	snprintf(d.summary, sizeof d.summary, "connect() to %s %s%s%s%s after %s.",
		 d.peer[0] ? d.peer : "an unknown peer", how, en ? " (" : "", en ? en : "", en ? ")" : "", ms);
	sl_diags_add(out, &d);
}

static const char *verb(int kind)
{
	return kind == SL_K_CONNECT_REFUSED ? "was refused"
	       : kind == SL_K_CONNECT_TIMEOUT ? "timed out"
					      : "failed: no route to the peer";
}

/* CONNECT events carry every outcome the shim saw: blocking, or a non-blocking one followed to its end. */
static void from_events(const struct sl_run *run, const struct sl_proc *p, struct sl_image *img,
			struct sl_diags *out)
{
	(void)run;
	for (uint32_t i = 0; i < img->nevents; i++) {
		const struct sl_event *ev = &img->events[i];
		if (ev->commit != i + 1 || ev->type != SL_EV_CONNECT || ev->err == 0)
			continue;
		int kind = kind_of(ev->err);
		if (kind >= 0)
			add(out, p, img, kind, ev->err, &ev->addr, ev->fd, ev->stack, ev->dur_ns, ev->conn_id, verb(kind));
	}
}

/* A connect still pending when the program closed the socket, with the kernel still
 * sending SYNs: the program gave up waiting, which is a timeout it chose. */
static void abandoned(const struct sl_run *run, struct sl_diags *out)
{
	for (size_t i = 0; i < run->nconns; i++) {
		const struct sl_conn *c = &run->conns[i];
		const struct sl_slot *s = c->s;
		if (s->connect_state != SL_CONN_PENDING || !(s->flags & SL_SF_TCPINFO) ||
		    s->tcp_state != TCP_SYN_SENT)
			continue;
		add(out, c->proc, c->img, SL_K_CONNECT_TIMEOUT, ETIMEDOUT, &s->peer, s->fd, s->connect_stack,
		    c->end_ns > s->connect_start_ns ? c->end_ns - s->connect_start_ns : 0, s->conn_id,
		    "got no answer; the program gave up");
	}
}

void sl_rule_connect(const struct sl_run *run, struct sl_diags *out)
{
	sl_run_each_image(run, out, from_events);
	abandoned(run, out);
}
