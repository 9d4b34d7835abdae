/* connect.c - a connection made: connect and its outcome, accept, bind, listen. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include "recorder.h"

void sl_rec_connect_result(struct sl_rec *r, struct sl_slot *s, int fd, int err, uint64_t now)
{
	uint8_t st = SL_CONN_PENDING;
	if (!__atomic_compare_exchange_n(&s->connect_state, &st, err ? SL_CONN_FAILED : SL_CONN_DONE, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return; /* another thread, or an earlier call, got there first */
	__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_CONNECTING, __ATOMIC_RELAXED);
	s->connect_ns = now - s->connect_start_ns;
	s->connect_errno = err;
	sl_site_count(r->log, s->connect_stack, err, s->connect_ns, SL_CALL_CONNECT, 0);
	if (err)
		sl_slot_count_error(s, err);
	else
		sl_rec_names(r, s, fd);
	if (!err && !r->trace)
		return;
	if (err && s->connect_stack && sl_site_failures(r->log, s->connect_stack, err) > sl_rec_events_per_site(r))
		return; /* counted at the site; the ring keeps room for the rest */
	struct sl_event *ev = sl_rec_event(r, SL_EV_CONNECT, SL_CALL_CONNECT, fd, s, s->connect_stack, err);
	if (!ev)
		return;
	ev->ts_ns = s->connect_start_ns;
	ev->dur_ns = s->connect_ns;
	sl_ev_commit(r->log, ev);
}

void sl_rec_connect(struct sl_rec *r, struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len,
		    uint64_t t0, int ret, int err)
{
	if (ret < 0 && (err == EFAULT || err == EBADF || err == ENOTSOCK))
		return; /* never read an address the kernel refused */
	if (sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return; /* UDP "disconnect" */
	if (ret < 0 && err == EISCONN) {
		sl_rec_connect_result(r, s, fd, 0, sl_now());
		return;
	}
	if (ret < 0 && (err == EALREADY || err == EINTR) &&
	    __atomic_load_n(&s->connect_state, __ATOMIC_RELAXED) == SL_CONN_PENDING)
		return; /* still connecting in the background */
	if (s->role == SL_ROLE_NONE || s->role == SL_ROLE_INHERITED)
		s->role = SL_ROLE_CLIENT;
	sl_addr_set(&s->peer, sa, len);
	s->connect_start_ns = t0;
	s->connect_stack = r->probe->stack(r->arg);
	if (!s->open_stack)
		s->open_stack = s->connect_stack;
	__atomic_store_n(&s->connect_state, SL_CONN_PENDING, __ATOMIC_RELEASE);
	if (ret < 0 && (err == EINPROGRESS || err == EINTR)) {
		/* followed to its outcome by SO_ERROR, the next I/O, or close */
		__atomic_fetch_or(&s->flags, SL_SF_CONNECTING, __ATOMIC_RELAXED);
		return;
	}
	sl_rec_connect_result(r, s, fd, ret < 0 ? err : 0, sl_now());
}

void sl_rec_so_error(struct sl_rec *r, struct sl_slot *s, int fd, int v)
{
	if (__atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) != SL_CONN_PENDING)
		return;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	/* SO_ERROR 0 also means "still connecting"; a peer's name tells the two apart */
	if (v != 0)
		sl_rec_connect_result(r, s, fd, v, sl_now());
	else if (r->probe->name(r->arg, fd, 1, (struct sockaddr *)&ss, &len) == 0)
		sl_rec_connect_result(r, s, fd, 0, sl_now());
}

/* A connect still sending SYNs when the program shuts the socket down or closes it: the program
 * gave up waiting (the JDK's connect timeout shuts down, then closes; the kernel's state is CLOSE by
 * the time of the close). */
void sl_rec_gave_up(struct sl_rec *r, struct sl_slot *s, int fd)
{
	if (__atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) != SL_CONN_PENDING)
		return;
	sl_rec_kernel_view(r, s, fd, 0);
	if ((s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_SYN_SENT)
		sl_slot_flag(s, SL_SF_GAVE_UP);
}

void sl_rec_accepted(struct sl_rec *r, struct sl_slot *ls, int lfd, struct sl_slot *s, int fd,
		     const struct sockaddr *sa, socklen_t len)
{
	sl_rec_listener_view(r, ls, lfd, 1);
	if (!s)
		return;
	sl_rec_inherit_options(s, ls);
	if (sa && len >= sizeof(sa_family_t))
		sl_addr_set(&s->peer, sa, len);
	sl_rec_names(r, s, fd);
	s->connect_state = SL_CONN_DONE;
	if (r->kernel_counts)
		sl_rec_kernel_view(r, s, fd, 0);
}

/* A bind refused (the address in use, not this host's, not allowed, a unix path's directory
 * missing): an event naming the address, and whether SO_REUSEADDR was set. */
static void bind_failed(struct sl_rec *r, struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len,
			int err)
{
	uint32_t stack = r->probe->stack(r->arg);
	sl_site_count(r->log, stack, err, 0, 0, 0);
	sl_slot_count_error(s, err);
	struct sl_event *ev = sl_rec_event(r, SL_EV_BIND, SL_CALL_BIND, fd, s, stack, err);
	if (!ev)
		return;
	ev->a = (s->opts_set & (1u << SL_OPT_REUSEADDR)) && s->opt[SL_OPT_REUSEADDR];
	memset(&ev->addr, 0, sizeof ev->addr);
	if (sa)
		sl_addr_set(&ev->addr, sa, len);
	sl_ev_commit(r->log, ev);
}

void sl_rec_bind(struct sl_rec *r, struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len, int ret,
		 int err)
{
	if (ret == 0)
		sl_rec_names(r, s, fd); /* the kernel's view: port 0 became a real port */
	else if (err != EBADF && err != ENOTSOCK && err != EFAULT && err != EINTR)
		bind_failed(r, s, fd, sa, len, err); /* in use, not ours, not here, not allowed */
}

void sl_rec_listen(struct sl_rec *r, struct sl_slot *s, int fd, int backlog, int ret, int err)
{
	if (ret < 0) {
		sl_slot_count_error(s, err);
		return;
	}
	s->role = SL_ROLE_LISTENER;
	s->listen_backlog = backlog;
	sl_rec_listener_view(r, s, fd, 0);
	sl_rec_names(r, s, fd);
	struct sl_event *ev = sl_rec_event(r, SL_EV_LISTEN, SL_CALL_LISTEN, fd, s, r->probe->stack(r->arg), 0);
	if (!ev)
		return;
	ev->a = backlog;
	ev->addr = s->local;
	sl_ev_commit(r->log, ev);
}
