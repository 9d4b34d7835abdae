/* options.c - what the program set on a socket: options (the values sockopt.c keeps), O_NONBLOCK
 * and FD_CLOEXEC, a shutdown. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
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

/* An accepted connection starts with its listener's options: Linux copies the listening socket
 * (keepalive and its timing, TCP_NODELAY, timeouts, lingering, buffers) into each it accepts. */
void sl_rec_inherit_options(struct sl_slot *s, const struct sl_slot *ls)
{
	/* (the address-reuse flags are copied too, but mean nothing on a connection) */
	uint32_t set = __atomic_load_n(&ls->opts_set, __ATOMIC_RELAXED) &
		       ~((1u << SL_OPT_REUSEADDR) | (1u << SL_OPT_REUSEPORT));
	for (int i = 0; i < SL_OPT__COUNT; i++)
		if (set & (1u << i))
			s->opt[i] = ls->opt[i];
	__atomic_fetch_or(&s->opts_set, set, __ATOMIC_RELAXED);
}

/* The options read back from the kernel (the keep-alive timings last: their unset values are the
 * sysctls', not zero) */
static const struct { int level, name; } asked[] = {
	{SOL_SOCKET, SO_RCVTIMEO}, {SOL_SOCKET, SO_SNDTIMEO}, {SOL_SOCKET, SO_KEEPALIVE},
	{SOL_SOCKET, SO_LINGER}, {SOL_SOCKET, SO_REUSEADDR}, {SOL_SOCKET, SO_REUSEPORT},
	{IPPROTO_TCP, TCP_NODELAY}, {IPPROTO_TCP, TCP_USER_TIMEOUT}, {IPPROTO_TCP, TCP_KEEPIDLE},
	{IPPROTO_TCP, TCP_KEEPINTVL}, {IPPROTO_TCP, TCP_KEEPCNT},
};
#define ASKED_PLAIN 8 /* those before the keep-alive timings */

/* A socket found open (inherited, from the parent): the options in force, as the kernel has them,
 * for those whose value says someone set them (the rest may be defaults or not). */
void sl_rec_options_from_kernel(struct sl_rec *r, struct sl_slot *s, int fd)
{
	int tcp = sl_rec_is_tcp(s);
	for (size_t i = 0; i < ASKED_PLAIN; i++) {
		unsigned char val[16];
		socklen_t len = sizeof val;
		int idx = sl_opt_index(asked[i].level, asked[i].name);
		if ((asked[i].level == IPPROTO_TCP && !tcp) || (s->opts_set & (1u << idx)))
			continue;
		memset(val, 0, sizeof val);
		if (r->probe->sockopt(r->arg, fd, asked[i].level, asked[i].name, val, &len) != 0)
			continue;
		int64_t v = sl_opt_value(idx, val, len);
		if (v <= 0 && !(idx == SL_OPT_LINGER && v == 0))
			continue; /* off, zero or lingering off: a default as much as a choice */
		s->opt[idx] = v;
		__atomic_fetch_or(&s->opts_set, 1u << idx, __ATOMIC_RELAXED);
	}
}

/* The options of which (a mask of 1 << SL_OPT_*) in force now, as the kernel has them, for a front
 * end that does not stop at every setsockopt (the tracer: one stop fewer per option a runtime sets
 * on every connection). An option counts as set when its value is not the kernel's default: flags
 * off, timeouts zero and lingering off are defaults, and so are the keep-alive timings the sysctls
 * give (r->keepalive_default), which are read only with keep-alive on. */
void sl_rec_options_now(struct sl_rec *r, struct sl_slot *s, int fd, uint32_t which)
{
	int tcp = sl_rec_is_tcp(s);
	if (s->family != AF_INET && s->family != AF_INET6 && s->family != AF_UNIX)
		return;
	for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
		unsigned char val[16];
		socklen_t len = sizeof val;
		int idx = sl_opt_index(asked[i].level, asked[i].name);
		uint32_t bit = 1u << idx;
		if (!(which & bit) || (asked[i].level == IPPROTO_TCP && !tcp))
			continue;
		if (i >= ASKED_PLAIN && !((s->opts_set >> SL_OPT_KEEPALIVE) & 1)) {
			__atomic_fetch_and(&s->opts_set, ~bit, __ATOMIC_RELAXED);
			continue; /* keep-alive timings matter only with keep-alive on */
		}
		memset(val, 0, sizeof val);
		if (r->probe->sockopt(r->arg, fd, asked[i].level, asked[i].name, val, &len) != 0)
			continue;
		int64_t v = sl_opt_value(idx, val, len), dflt = 0;
		if (i >= ASKED_PLAIN)
			dflt = r->keepalive_default[i - ASKED_PLAIN];
		int set = idx == SL_OPT_LINGER ? v >= 0 : v > 0 && v != dflt;
		if (set && (!(s->opts_set & bit) || s->opt[idx] != v)) {
			s->opt[idx] = v;
			__atomic_fetch_or(&s->opts_set, bit, __ATOMIC_RELAXED);
		} else if (!set && (s->opts_set & bit)) {
			__atomic_fetch_and(&s->opts_set, ~bit, __ATOMIC_RELAXED);
		}
	}
}
