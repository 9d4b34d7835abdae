/* lifecycle.c - a socket's record opened, found open, closed; a closed number used again. */
#define _GNU_SOURCE
#include <errno.h>
#include "recorder.h"

uint32_t sl_rec_type_flags(int type)
{
	return ((type & SOCK_NONBLOCK) ? SL_SF_NONBLOCK : 0) | ((type & SOCK_CLOEXEC) ? SL_SF_CLOEXEC : 0);
}

struct sl_slot *sl_rec_open(struct sl_rec *r, int fd, int family, int type, int protocol, int role, uint32_t flags)
{
	struct sl_slot *s = sl_slot_open(r->log, fd, family, type, protocol, role);
	if (!s)
		return NULL;
	/* a front end that sees data calls watches a blocking socket's first read, and the first
	 * bytes each way of a TCP connection */
	if (!r->kernel_counts) {
		flags |= (flags & SL_SF_NONBLOCK) ? 0 : SL_SF_WATCH_READ;
		if (sl_rec_is_tcp(s))
			flags |= SL_SF_FIRST_IN | SL_SF_FIRST_OUT;
	}
	s->flags = flags;
	s->open_ns = sl_now();
	s->sample_epoch = (uint32_t)(sl_clock() >> SL_SAMPLE_SHIFT);
	return s;
}

/* Events that only repeat what the slot keeps (open, close, options, successful connects) are
 * logged in trace mode only, so a busy process spends its event table on problems. */
void sl_rec_opened(struct sl_rec *r, struct sl_slot *s, int fd, uint16_t call, int with_stack)
{
	s->open_stack = with_stack ? r->probe->stack(r->arg) : 0;
	if (!r->trace)
		return;
	struct sl_event *ev = sl_rec_event(r, SL_EV_OPEN, call, fd, s, s->open_stack, 0);
	if (!ev)
		return;
	ev->ts_ns = s->open_ns;
	ev->a = s->role;
	sl_ev_commit(r->log, ev);
}

static int sockopt_int(struct sl_rec *r, int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof v;
	return r->probe->sockopt(r->arg, fd, level, name, &v, &len) == 0 ? v : -1;
}

int sl_rec_identify(struct sl_rec *r, int fd, struct sl_ident *id)
{
	id->family = sockopt_int(r, fd, SOL_SOCKET, SO_DOMAIN);
	id->type = sockopt_int(r, fd, SOL_SOCKET, SO_TYPE);
	id->protocol = sockopt_int(r, fd, SOL_SOCKET, SO_PROTOCOL);
	id->listening = sockopt_int(r, fd, SOL_SOCKET, SO_ACCEPTCONN) == 1;
	return id->family >= 0 && id->type >= 0 ? 0 : -1;
}

void sl_rec_found(struct sl_rec *r, struct sl_slot *s, int fd)
{
	sl_rec_names(r, s, fd);
	sl_rec_options_from_kernel(r, s, fd);
	if (s->peer.family)
		s->connect_state = SL_CONN_DONE;
	__atomic_fetch_add(&r->log->hdr->inherited_socks, 1, __ATOMIC_RELAXED);
}

static uint64_t addr_hash(const struct sl_addr *a)
{
	uint64_t h = 1469598103934665603ull ^ a->family;
	for (uint32_t i = 0; i < a->len && i < SL_ADDR_DATA; i++)
		h = (h ^ a->data[i]) * 1099511628211ull;
	return h;
}

/* Per call site: connections closed, those that were one short exchange (over within a second of
 * the open, however long the connection sat idle after it: a pool per request keeps each one),
 * and of these the ones to the same peer as the connection closed before (churn: no reuse). */
static void count_closed(struct sl_rec *r, const struct sl_slot *s, uint64_t now)
{
	struct sl_stack *site = sl_stack_at(r->log, s->connect_stack ? s->connect_stack : s->open_stack);
	/* a connect that failed made no connection: refusals are their own finding, not churn */
	if (!site || s->role != SL_ROLE_CLIENT || !sl_rec_is_tcp(s) || s->connect_state != SL_CONN_DONE)
		return;
	__atomic_fetch_add(&site->closed, 1, __ATOMIC_RELAXED);
	/* one request (a write or two; from the kernel, two data segments) and its answer, however
	 * many reads that took (nginx reads a response in chunks, then the EOF) */
	uint64_t last = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
	uint64_t end = last ? last : now; /* (the coarse clock's data times may read just before the open) */
	if ((end > s->open_ns ? end - s->open_ns : 0) >= 1000000000ull || s->calls_out > 2)
		return;
	__atomic_fetch_add(&site->short_closed, 1, __ATOMIC_RELAXED);
	uint64_t h = addr_hash(&s->peer);
	if (__atomic_exchange_n(&site->last_peer, h, __ATOMIC_RELAXED) == h)
		__atomic_fetch_add(&site->same_peer_short, 1, __ATOMIC_RELAXED);
}

/* A connection closed with something a rule may report: errors, a connect never finished, a
 * blocking read that could have hung, a long life (keepalive), a slow connect, Nagle stalls, a TLS
 * alert or an unanswered handshake, retransmissions, a reset on close, a request left unanswered
 * or a socket held after the peer closed. Its slot is recycled last. Waits shorter than
 * SL_KEEP_NS are not kept, so analyzer thresholds below it see only slots the table still holds. */
static int worth_keeping(const struct sl_slot *s, uint64_t now)
{
	int timeout = (s->opts_set & (1u << SL_OPT_RCVTIMEO)) && s->opt[SL_OPT_RCVTIMEO] > 0;
	if (s->err_total || s->connect_state == SL_CONN_FAILED || s->connect_state == SL_CONN_PENDING ||
	    (s->flags & SL_SF_GAVE_UP))
		return 1;
	if ((s->flags & SL_SF_BLOCKING_READ) && !(s->flags & SL_SF_GUARDED) && !timeout)
		return 1;
	if (now - s->open_ns >= 60000000000ull) /* keepalive findings */
		return 1;
	if (s->connect_ns >= SL_KEEP_NS || s->nagle_rounds || s->alert_level || s->tcp_retrans ||
	    (s->flags & SL_SF_TLS_ENC_ALERT))
		return 1;
	if ((s->opts_set & (1u << SL_OPT_LINGER)) && s->opt[SL_OPT_LINGER] == 0)
		return 1; /* closing sends a reset */
	if (s->unread_at_close || (s->flags & (SL_SF_SHORT_WRITE | SL_SF_RT_UNANSWERED)))
		return 1; /* closed with unread data (a reset too), after a short write never finished, or
			   * while a request waited for its answer */
	if (s->first_out == SL_FB_TLS_HELLO && !s->bytes_in)
		return 1; /* a TLS handshake the peer never answered */
	if ((s->flags & SL_SF_EOF) && now - s->eof_cns >= SL_KEEP_NS)
		return 1; /* held after the peer closed */
	/* no reply (a write in the reply's clock step counts: writes_since_read orders them) */
	return (s->last_out_cns > s->last_in_cns || (s->last_out_cns == s->last_in_cns && s->writes_since_read)) &&
	       now - s->last_out_cns >= SL_KEEP_NS;
}

void sl_rec_close(struct sl_rec *r, struct sl_slot *s, int fd, int how)
{
	uint64_t now = sl_now();
	int by_exec = how == SL_CLOSE_EXEC;
	if (how == SL_CLOSE_CALL) { /* an exec closes without a stop of ours: the kernel cannot be asked then */
		sl_rec_gave_up(r, s, fd);
		sl_rec_kernel_view(r, s, fd, 1);
	}
	if (r->probe->note_site)
		r->probe->note_site(r->arg, s->send_site);
	count_closed(r, s, now);
	s->close_stack = by_exec ? 0 : r->probe->stack(r->arg);
	if (by_exec)
		sl_slot_flag(s, SL_SF_CLOSED_BY_EXEC);
	if (worth_keeping(s, now))
		sl_slot_flag(s, SL_SF_KEEP);
	struct sl_event *ev = r->trace ? sl_rec_event(r, SL_EV_CLOSE, SL_CALL_CLOSE, fd, s, s->close_stack, 0) : NULL;
	if (ev) {
		ev->ts_ns = now;
		sl_ev_commit(r->log, ev);
	}
	sl_slot_close(r->log, s, now);
}

/* A socket that was closed here is used again: EBADF (or, reused by a file, ENOTSOCK for a
 * socket-only call) is coming. The event names the earlier close. */
void sl_rec_stale(struct sl_rec *r, int fd, const struct sl_slot *old, int err, uint16_t call)
{
	uint32_t stack = r->probe->stack(r->arg);
	sl_site_count(r->log, stack, err, 0, 0, 0);
	struct sl_event *ev = sl_rec_event(r, SL_EV_STALE_FD, call, fd, NULL, stack, err);
	if (!ev)
		return;
	if (old && old->fd == fd && __atomic_load_n(&old->state, __ATOMIC_ACQUIRE) == SL_SLOT_CLOSED) {
		ev->conn_id = old->conn_id;
		ev->role = old->role;
		ev->a = old->close_stack;
		ev->addr = old->peer;
	}
	sl_ev_commit(r->log, ev);
}

void sl_rec_create_failed(struct sl_rec *r, uint16_t call, int fd, const struct sl_slot *s, int err)
{
	uint32_t stack = r->probe->stack(r->arg);
	sl_site_count(r->log, stack, err, 0, 0, 0);
	struct sl_event *ev = sl_rec_event(r, SL_EV_ERROR, call, fd, s, stack, err);
	if (ev)
		sl_ev_commit(r->log, ev);
}
