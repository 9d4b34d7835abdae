/* options.c - what the program set on a socket: options (the values sockopt.c keeps), O_NONBLOCK
 * and FD_CLOEXEC, a shutdown. */
#define _GNU_SOURCE
#include "recorder.h"

void sl_rec_setsockopt(struct sl_rec *r, struct sl_slot *s, int fd, int level, int name, const void *val,
		       socklen_t len, int ret, int err)
{
	if (ret < 0) {
		sl_slot_count_error(s, err);
		return;
	}
	int idx = sl_opt_index(level, name);
	if (idx < 0 || !val)
		return;
	int64_t v = sl_opt_value(idx, val, len);
	s->opt[idx] = v;
	__atomic_fetch_or(&s->opts_set, 1u << idx, __ATOMIC_RELAXED);
	if (!r->trace)
		return;
	struct sl_event *ev = sl_rec_event(r, SL_EV_OPTION, SL_CALL_SETSOCKOPT, fd, s, 0, 0);
	if (!ev)
		return;
	ev->a = idx;
	ev->b = v;
	sl_ev_commit(r->log, ev);
}

void sl_rec_flags(struct sl_slot *s, int nonblock, int cloexec)
{
	if (nonblock == 1) {
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_WATCH_READ, __ATOMIC_RELAXED);
		__atomic_fetch_or(&s->flags, SL_SF_NONBLOCK, __ATOMIC_RELAXED);
	} else if (nonblock == 0) {
		uint32_t watch = (s->flags & SL_SF_BLOCKING_READ) ? 0 : SL_SF_WATCH_READ;
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_NONBLOCK, __ATOMIC_RELAXED);
		__atomic_fetch_or(&s->flags, watch, __ATOMIC_RELAXED);
	}
	if (cloexec == 1)
		__atomic_fetch_or(&s->flags, SL_SF_CLOEXEC, __ATOMIC_RELAXED);
	else if (cloexec == 0)
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_CLOEXEC, __ATOMIC_RELAXED);
}

void sl_rec_shutdown(struct sl_slot *s, int how)
{
	if (how == SHUT_RD || how == SHUT_RDWR)
		sl_slot_flag(s, SL_SF_SHUT_RD);
	if (how == SHUT_WR || how == SHUT_RDWR)
		sl_slot_flag(s, SL_SF_SHUT_WR);
}
