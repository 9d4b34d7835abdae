/* record.c - turns wrapped calls into slot updates and events; never changes errno or results. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include "rawsys.h"
#include "record.h"

static SL_TLS uint32_t t_tid;
SL_TLS struct sl_inflight *sl_t_infl;
SL_TLS const void *sl_t_first_buf;
static SL_TLS int t_infl_claimed;
uint64_t sl_slow_ns = UINT64_MAX;

void sl__thread_reset(void)
{
	t_tid = 0;
	sl_t_infl = NULL;
	t_infl_claimed = 0;
	sl__thread_own(NULL); /* the key's value named the parent's record */
}

static uint32_t tid(void)
{
	if (!t_tid)
		t_tid = (uint32_t)sl_sys3(SYS_gettid, 0, 0, 0);
	return t_tid;
}

static struct sl_slot *slot_at(uint32_t ent)
{
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return NULL;
	return sl_slot_of(ent);
}

static void fill_names(struct sl_slot *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (sl_sys3(SYS_getsockname, fd, &ss, &len) == 0)
		sl_addr_set(&s->local, (struct sockaddr *)&ss, len);
	len = sizeof ss;
	if (sl_sys3(SYS_getpeername, fd, &ss, &len) == 0)
		sl_addr_set(&s->peer, (struct sockaddr *)&ss, len);
}

/* Events that only repeat what the slot keeps (open, close, options, successful connects)
 * are logged in trace mode only, so a busy process spends its event table on problems. */
static int tracing(void)
{
	return sl_g.params.trace;
}

static void emit_open(struct sl_slot *s, int fd, uint16_t call)
{
	if (!tracing())
		return;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_OPEN, call, fd);
	if (!ev)
		return;
	ev->ts_ns = s->open_ns;
	ev->conn_id = s->conn_id;
	ev->stack = s->open_stack;
	ev->tid = tid();
	ev->a = s->role;
	ev->addr = s->peer;
	sl_ev_commit(&sl_g.log, ev);
}

static int no_stack; /* the constructor's scan of inherited sockets: no stack worth taking */

/* A slot for fd, named in the fd table. expect (NULL for a socket this call just created) is the
 * entry an fd seen for the first time had: if another thread changed it meanwhile (it closed the
 * number, or a new socket got it), that thread's entry stands and the slot is given back. */
static struct sl_slot *track(int fd, int family, int type, int protocol, int role, int flags,
			     uint16_t call, uint32_t *expect)
{
	struct sl_slot *s = sl_slot_open(&sl_g.log, fd, family, type, protocol, role);
	if (!s) {
		if (!expect)
			sl_fd_set(fd, SL_FD_NOSLOT);
		else
			sl_fd_replace(fd, expect, SL_FD_NOSLOT);
		return NULL;
	}
	s->flags = (uint32_t)flags | ((flags & SL_SF_NONBLOCK) ? 0 : SL_SF_WATCH_READ);
	if ((family == AF_INET || family == AF_INET6) && s->type == SOCK_STREAM)
		s->flags |= SL_SF_FIRST_IN | SL_SF_FIRST_OUT;
	s->open_ns = sl_now();
	s->sample_epoch = (uint32_t)(sl_clock() >> SL_SAMPLE_SHIFT);
	uint32_t ent = SL_FD_SLOT0 + (uint32_t)(s - sl_g.log.slots);
	if (!expect) {
		sl_fd_set(fd, ent);
	} else if (!sl_fd_replace(fd, expect, ent)) {
		sl_slot_close(&sl_g.log, s, s->open_ns);
		return sl_fd_live(*expect) ? sl_slot_of(*expect) : NULL;
	}
	s->open_stack = no_stack ? 0 : sl_stack_capture();
	emit_open(s, fd, call);
	return s;
}

static int type_flags(int type)
{
	return ((type & SOCK_NONBLOCK) ? SL_SF_NONBLOCK : 0) | ((type & SOCK_CLOEXEC) ? SL_SF_CLOEXEC : 0);
}

struct sl_slot *sl__record_socket(int fd, int family, int type, int protocol, int role)
{
	if (!sl_g.ready || fd < 0 || sl_in_vfork_child())
		return NULL;
	return track(fd, family, type, protocol, role, type_flags(type),
		     role == SL_ROLE_PAIR ? SL_CALL_SOCKETPAIR : SL_CALL_SOCKET, NULL);
}

static int sockopt_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof v;
	return sl_sys5(SYS_getsockopt, fd, level, name, &v, &len) == 0 ? v : -1;
}

/* An event about slot s (NULL: none), begun with what every event says; the caller fills in the
 * rest and commits it. NULL when the event table is full. */
static struct sl_event *ev_about(uint16_t type, uint16_t call, int fd, const struct sl_slot *s, uint32_t stack,
				 int err)
{
	struct sl_event *ev = sl_ev_begin(&sl_g.log, type, call, fd);
	if (!ev)
		return NULL;
	ev->err = err;
	ev->ts_ns = sl_now();
	ev->conn_id = s ? s->conn_id : 0;
	ev->stack = stack;
	ev->tid = tid();
	return ev;
}

/* A socket that was closed here is used again: EBADF (or, reused by a file, ENOTSOCK for a
 * socket-only call) is coming. The event names the earlier close. */
static void stale_use(int fd, uint32_t ent, int err, uint16_t call)
{
	uint32_t idx = ent ^ SL_FD_CLOSED;
	const struct sl_slot *old = idx < sl_g.log.hdr->tab[SL_T_SLOTS].avail ? &sl_g.log.slots[idx] : NULL;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_STALE_FD, call, fd);
	if (!ev)
		return;
	ev->err = err;
	ev->ts_ns = sl_now();
	ev->stack = sl_stack_capture();
	ev->tid = tid();
	if (old && old->fd == fd && __atomic_load_n(&old->state, __ATOMIC_ACQUIRE) == SL_SLOT_CLOSED) {
		ev->conn_id = old->conn_id;
		ev->a = old->close_stack;
		ev->addr = old->peer;
	}
	sl_ev_commit(&sl_g.log, ev);
	sl_site_count(&sl_g.log, ev->stack, err, 0, 0, 0);
}

/* Calls that fail with ENOTSOCK on anything but a socket. */
static int socket_only(uint16_t call)
{
	return call != SL_CALL_NONE && call != SL_CALL_READ && call != SL_CALL_WRITE && call != SL_CALL_CLOSE &&
	       call != SL_CALL_FCNTL;
}

/* An fd we never saw created: inherited (exec, fork), passed with SCM_RIGHTS, or made by a path
 * we cannot wrap; or one closed here and used again. prev is the fd table's entry for it; what we
 * learn replaces it only if no other thread changed it meanwhile. */
static struct sl_slot *classify(int fd, int role, uint16_t call, uint32_t prev)
{
	struct stat st;
	if (sl_sys3(SYS_fstat, fd, &st, 0) < 0) {
		if ((prev & SL_FD_CLOSED) && sl_fd_replace(fd, &prev, SL_FD_UNKNOWN))
			stale_use(fd, prev, EBADF, call); /* once per close */
		return NULL; /* not open */
	}
	if (!S_ISSOCK(st.st_mode)) {
		if ((prev & SL_FD_CLOSED) && socket_only(call))
			stale_use(fd, prev, ENOTSOCK, call);
		sl_fd_replace(fd, &prev, SL_FD_OTHER);
		return NULL;
	}
	int flags = prev == SL_FD_PARENT ? SL_SF_FROM_PARENT : 0;
	long fl = sl_sys3(SYS_fcntl, fd, F_GETFL, 0);
	if (fl >= 0 && (fl & O_NONBLOCK))
		flags |= SL_SF_NONBLOCK;
	if (sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1)
		role = SL_ROLE_LISTENER;
	uint32_t expect = prev;
	struct sl_slot *s = track(fd, sockopt_int(fd, SOL_SOCKET, SO_DOMAIN),
				  sockopt_int(fd, SOL_SOCKET, SO_TYPE),
				  sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), role, flags, SL_CALL_NONE, &expect);
	if (s && expect == prev) {
		fill_names(s, fd);
		if (s->peer.family)
			s->connect_state = SL_CONN_DONE;
		__atomic_fetch_add(&sl_g.log.hdr->inherited_socks, 1, __ATOMIC_RELAXED);
	}
	return s;
}

struct sl_slot *sl__slot_for_call(int fd, uint16_t call)
{
	if (!sl_g.ready)
		return NULL;
	uint32_t ent = sl_fd_get(fd);
	if ((ent == SL_FD_UNKNOWN || ent == SL_FD_PARENT || (ent & SL_FD_CLOSED)) && (unsigned)fd < sl_fdcap)
		return classify(fd, SL_ROLE_INHERITED, call, ent);
	return slot_at(ent);
}

struct sl_slot *sl__slot_for(int fd)
{
	return sl__slot_for_call(fd, SL_CALL_NONE);
}

struct sl_slot *sl__slot_inherited(int fd)
{
	no_stack = 1;
	struct sl_slot *s = sl__slot_for(fd);
	no_stack = 0;
	return s;
}

/* The calling thread's in-flight record, claimed on its first blocking call and given back when
 * the thread ends (NULL when none can be had). */
struct sl_inflight *sl__inflight_claim(void)
{
	if (!t_infl_claimed) {
		t_infl_claimed = 1;
		sl_t_infl = sl_inflight_claim(&sl_g.log, tid());
		if (sl_t_infl)
			sl__thread_own(sl_t_infl);
	}
	return sl_t_infl;
}

uint32_t sl__call_classify(int fd, uint16_t call)
{
	if (!sl_g.ready)
		return 0;
	int saved = errno;
	struct sl_slot *s = sl__slot_for_call(fd, call);
	errno = saved;
	return s ? SL_FD_SLOT0 + (uint32_t)(s - sl_g.log.slots) : 0;
}

static void set_flag(struct sl_slot *s, uint32_t f)
{
	if (!(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & f))
		__atomic_fetch_or(&s->flags, f, __ATOMIC_RELAXED);
}

/* The caller's address, known when the call went through the in-flight record. */
static uint64_t call_site(const struct sl_call_ctx *c)
{
	return c->infl ? c->infl->site : 0;
}

static void emit_call_event(struct sl_call_ctx *c, uint16_t type, int err, uint64_t dur_ns, uint32_t stack)
{
	struct sl_event *ev = sl_ev_begin(&sl_g.log, type, c->call, c->fd);
	if (!ev)
		return;
	ev->err = err;
	ev->ts_ns = sl_now() - dur_ns;
	ev->dur_ns = dur_ns;
	ev->conn_id = c->slot->conn_id;
	ev->stack = stack;
	ev->tid = tid();
	ev->a = (int64_t)call_site(c);
	ev->addr = c->slot->peer;
	sl_ev_commit(&sl_g.log, ev);
}

/* A pending non-blocking connect learned its outcome (err 0 = connected) at time now (ns). */
static void connect_resolved(struct sl_slot *s, int fd, int err, uint64_t now)
{
	uint8_t st = SL_CONN_PENDING;
	if (!__atomic_compare_exchange_n(&s->connect_state, &st, err ? SL_CONN_FAILED : SL_CONN_DONE, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_CONNECTING, __ATOMIC_RELAXED);
	s->connect_ns = now - s->connect_start_ns;
	s->connect_errno = err;
	sl_site_count(&sl_g.log, s->connect_stack, err, s->connect_ns, SL_CALL_CONNECT, 0);
	if (err)
		sl_slot_count_error(s, err);
	else
		fill_names(s, fd);
	if (!err && !tracing())
		return;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_CONNECT, SL_CALL_CONNECT, fd);
	if (!ev)
		return;
	ev->err = err;
	ev->ts_ns = s->connect_start_ns;
	ev->dur_ns = s->connect_ns;
	ev->conn_id = s->conn_id;
	ev->stack = s->connect_stack;
	ev->tid = tid();
	ev->addr = s->peer;
	sl_ev_commit(&sl_g.log, ev);
}

static void call_failed(struct sl_call_ctx *c, int err, uint64_t dt)
{
	struct sl_slot *s = c->slot;
	if (err == EAGAIN || err == EWOULDBLOCK) {
		__atomic_fetch_add(c->dir == SL_DIR_IN ? &s->eagain_in : &s->eagain_out, 1, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) == SL_CONN_PENDING && err != EINTR) {
		/* the error of a connect still in progress surfaces on the first I/O */
		connect_resolved(s, c->fd, err, sl_now());
		return;
	}
	sl_slot_count_error(s, err);
	uint32_t stack = sl_stack_capture();
	if (!s->error_stack)
		s->error_stack = stack;
	sl_site_count(&sl_g.log, stack, err, dt, 0, 0);
	emit_call_event(c, SL_EV_ERROR, err, dt, stack);
}

/* Everything sl__call_end leaves to us: failures, EOF, slow calls, a pending connect, the
 * first blocking read. Leaves errno as the real call left it. */
/* What the first bytes of a direction were: a TLS handshake record, a TLS alert (level and
 * description kept), another TLS record, or something else. Only the 5-byte record header and
 * the 2 alert bytes are looked at; nothing of the payload is kept but this verdict. */
/* The client's flight after its ClientHello: a plain alert (TLS 1.2), or a TLS 1.3 alert, encrypted
 * with the handshake's keys: one 19-byte application-data record where a Finished would be (53
 * bytes or more), after an optional ChangeCipherSpec. A lone ChangeCipherSpec keeps us looking. */
static void second_flight(struct sl_slot *s, const unsigned char *b, long n)
{
	if (n == 6 && b[0] == 20)
		return;
	if (n >= 6 && b[0] == 20 && b[3] == 0 && b[4] == 1) {
		b += 6;
		n -= 6;
	}
	if (n >= 7 && b[0] == 21 && b[1] == 3 && !s->alert_level) {
		s->alert_level = b[5];
		s->alert_desc = b[6];
		s->alert_dir = 1;
	} else if (n >= 5 && b[0] == 23 && b[1] == 3 && b[3] == 0 && b[4] == 19) {
		set_flag(s, SL_SF_TLS_ENC_ALERT);
	}
	__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_FIRST_OUT, __ATOMIC_RELAXED);
}

static void first_bytes(struct sl_slot *s, int in, const unsigned char *b, long n)
{
	uint8_t kind = SL_FB_OTHER;
	if (!in && s->first_out == SL_FB_TLS_HELLO) {
		second_flight(s, b, n);
		return;
	}
	if (in && s->first_in == SL_FB_TLS_ALERT && !s->alert_level && n >= 2) {
		/* the alert's body, read on its own after its 5-byte header (as OpenSSL reads) */
		s->alert_level = b[0];
		s->alert_desc = b[1];
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_FIRST_IN, __ATOMIC_RELAXED);
		return;
	}
	if (n >= 5 && b[1] == 3 && b[2] <= 4 && b[0] >= 20 && b[0] <= 24) {
		kind = b[0] == 22 ? SL_FB_TLS_HELLO : b[0] == 21 ? SL_FB_TLS_ALERT : SL_FB_TLS_OTHER;
		if (kind == SL_FB_TLS_ALERT && n >= 7 && !s->alert_level) {
			s->alert_level = b[5];
			s->alert_desc = b[6];
			s->alert_dir = (uint8_t)!in;
		}
	}
	if (in)
		s->first_in = kind;
	else
		s->first_out = kind;
	if (kind == SL_FB_TLS_ALERT && n == 5)
		return; /* keep looking: the next read brings the alert's two bytes */
	if (!in && kind == SL_FB_TLS_HELLO && s->role == SL_ROLE_CLIENT)
		return; /* keep looking: the client's next flight (second_flight) */
	__atomic_fetch_and(&s->flags, ~(uint32_t)(in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
}

/* A reply after two or more writes with Nagle on: the peer's delayed ACK held the last write
 * back for ~40 ms (Linux acks at 40 ms at the least, 200 ms at the most) if that is how long
 * the reply took. */
static void reply_after_writes(struct sl_slot *s, uint64_t now)
{
	int nodelay = (s->opts_set & (1u << SL_OPT_NODELAY)) && s->opt[SL_OPT_NODELAY];
	uint64_t gap = now - s->last_out_cns;
	s->rounds_multi++;
	if (!nodelay && s->last_out_cns && gap >= 30000000ull && gap <= 80000000ull) {
		s->nagle_rounds++;
		s->nagle_cns += gap;
	}
}

/* A write that sent less than asked: kept until the program writes again. */
static void short_write(struct sl_slot *s, size_t sent, size_t asked)
{
	s->short_asked = asked > UINT32_MAX ? UINT32_MAX : (uint32_t)asked;
	s->short_sent = sent > UINT32_MAX ? UINT32_MAX : (uint32_t)sent;
	set_flag(s, SL_SF_SHORT_WRITE);
}

/* Everything sl__call_end leaves to us: failures, EOF, slow calls, a pending connect, the first
 * blocking read, the first record each way, a reply after several writes. Leaves errno as the
 * real call left it. */
void sl__call_end_slow(struct sl_slot *s, long ret, uint64_t dt, uint64_t now, unsigned info, size_t want)
{
	int err = errno;
	struct sl_call_ctx ctx = {.slot = s, .fd = s->fd, .call = (uint16_t)(info & 0xff),
				  .dir = (info >> 8) & 1, .infl = ((info >> 9) & 1) ? sl_t_infl : NULL};
	struct sl_call_ctx *c = &ctx;
	int in = c->dir == SL_DIR_IN, peek = (info >> 10) & 1;
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	if (in && (uint32_t)(now >> SL_SAMPLE_SHIFT) != s->sample_epoch)
		sl__call_sample(s, c->fd, now);
	if (!in && (flags & SL_SF_SHORT_WRITE)) /* the program wrote again after a short write */
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_SHORT_WRITE, __ATOMIC_RELAXED);
	if (!in && ret >= 0 && (size_t)ret < want)
		short_write(s, (size_t)ret, want);
	__atomic_fetch_add(in ? &s->calls_in : &s->calls_out, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(in ? &s->blocked_in_cns : &s->blocked_out_cns, dt, __ATOMIC_RELAXED);
	uint64_t *max = in ? &s->read_max_cns : &s->write_max_cns;
	if (dt > __atomic_load_n(max, __ATOMIC_RELAXED))
		__atomic_store_n(max, dt, __ATOMIC_RELAXED);
	if (in && (flags & SL_SF_WATCH_READ) && !(flags & SL_SF_NONBLOCK)) {
		if (!(s->read_site & SL_SITE_STACK)) { /* taken when it began, in a language's program */
			s->read_site = call_site(c);
			sl_stack_note_site(s->read_site); /* symbolized later, even with no stack taken */
		}
		set_flag(s, SL_SF_BLOCKING_READ);
		if (__atomic_load_n(&sl_g.alarm_armed, __ATOMIC_RELAXED))
			set_flag(s, SL_SF_GUARDED); /* the process's alarm bounds the read */
		__atomic_fetch_and(&s->flags, ~(uint32_t)SL_SF_WATCH_READ, __ATOMIC_RELAXED);
	}
	if (ret < 0) {
		call_failed(c, err, dt);
	} else {
		if (!peek)
			__atomic_fetch_add(in ? &s->bytes_in : &s->bytes_out, (uint64_t)ret, __ATOMIC_RELAXED);
		if (in && ret == 0 && !(flags & SL_SF_EOF)) {
			s->eof_cns = now;
			set_flag(s, SL_SF_EOF);
			/* where a Python or Java program learned the peer was done: the line that should
			 * close (its accept, for a server, is the runtime's library) */
			if (sl_py_active() || sl_java_active())
				s->eof_stack = sl_stack_capture();
		}
		if (ret > 0 && !peek && (flags & (in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT)) && sl_t_first_buf)
			first_bytes(s, in, sl_t_first_buf, ret);
		else if (ret > 0 && !peek && (flags & (in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT)))
			/* a vector call (writev, sendmsg): no look at its bytes, and no more slow path */
			__atomic_fetch_and(&s->flags, ~(uint32_t)(in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT),
					   __ATOMIC_RELAXED);
		if (in && ret > 0 && !peek && s->writes_since_read > 1)
			reply_after_writes(s, now);
		if (ret > 0 && !peek) {
			if (in) {
				s->last_in_cns = now;
				s->writes_since_read = 0;
			} else {
				s->last_out_cns = now;
				s->writes_since_read++;
			}
		}
		if (__atomic_load_n(&s->connect_state, __ATOMIC_RELAXED) == SL_CONN_PENDING)
			connect_resolved(s, c->fd, 0, sl_now());
	}
	sl_t_first_buf = NULL;
	if (dt >= sl_slow_ns) {
		uint32_t stack = sl_stack_capture();
		sl_site_count(&sl_g.log, stack, 0, dt, 0, 1);
		emit_call_event(c, SL_EV_SLOW, ret < 0 ? err : 0, dt, stack);
	}
	errno = err;
}

static void connect_done(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	struct sl_slot *s = c->slot;
	uint64_t now = sl_now();
	sl__inflight_done(c);
	if (ret < 0 && (err == EFAULT || err == EBADF || err == ENOTSOCK))
		return; /* never read an address the kernel refused */
	if (sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return; /* UDP "disconnect" */
	if (ret < 0 && err == EISCONN) {
		connect_resolved(s, c->fd, 0, now);
		return;
	}
	if (ret < 0 && (err == EALREADY || err == EINTR) &&
	    __atomic_load_n(&s->connect_state, __ATOMIC_RELAXED) == SL_CONN_PENDING)
		return; /* still connecting in the background */
	if (s->role == SL_ROLE_NONE || s->role == SL_ROLE_INHERITED)
		s->role = SL_ROLE_CLIENT;
	sl_addr_set(&s->peer, sa, len);
	s->connect_start_ns = c->t0; /* the connect wrapper's precise start */
	s->connect_stack = sl_stack_capture();
	if (!s->open_stack)
		s->open_stack = s->connect_stack;
	__atomic_store_n(&s->connect_state, SL_CONN_PENDING, __ATOMIC_RELEASE);
	if (ret < 0 && (err == EINPROGRESS || err == EINTR)) {
		/* followed to its outcome by SO_ERROR, the next I/O, or close */
		__atomic_fetch_or(&s->flags, SL_SF_CONNECTING, __ATOMIC_RELAXED);
		return;
	}
	connect_resolved(s, c->fd, ret < 0 ? err : 0, now);
}

void sl__record_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int ret)
{
	int err = errno;
	connect_done(c, sa, len, ret, ret < 0 ? err : 0);
	errno = err;
}

/* How full the listener's accept queue is, as the kernel says (TCP_INFO on a listener: unacked is
 * the queue's length, sacked its limit); the fullest seen is kept. */
static void accept_queue(struct sl_slot *ls, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if ((ls->family != AF_INET && ls->family != AF_INET6) || ls->type != SOCK_STREAM ||
	    sl_sys5(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	/* the connection just accepted had been in the queue too */
	if (ti.tcpi_unacked + 1 > ls->accept_queue_max)
		ls->accept_queue_max = ti.tcpi_unacked + 1;
	if (ti.tcpi_sacked)
		ls->listen_limit = ti.tcpi_sacked; /* the limit in force, after somaxconn */
}

static void accept_done(struct sl_call_ctx *c, int ret, int err, int flags, const struct sockaddr *sa,
			const socklen_t *len)
{
	struct sl_slot *ls = c->slot;
	sl__inflight_done(c);
	if (ret < 0) {
		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ECONNABORTED)
			call_failed(c, err, c->t0 ? sl_clock() - c->t0 : 0);
		return;
	}
	accept_queue(ls, c->fd);
	/* Node.js accepts from its event loop: the listener's stack (where the program set up its
	 * server) says more than libuv's */
	uint32_t origin = sl_t_origin;
	if (sl_node_origins() && ls->open_stack)
		sl_t_origin = ls->open_stack;
	struct sl_slot *s = track(ret, ls->family, ls->type, ls->protocol, SL_ROLE_SERVER,
				  type_flags(flags), SL_CALL_ACCEPT, NULL);
	sl_t_origin = origin;
	if (!s)
		return;
	if (sa && len && *len >= sizeof(sa_family_t))
		sl_addr_set(&s->peer, sa, *len);
	fill_names(s, ret);
	s->connect_state = SL_CONN_DONE;
}

void sl__record_accept(struct sl_call_ctx *c, int ret, int flags, const struct sockaddr *sa,
		       const socklen_t *len)
{
	int err = errno;
	accept_done(c, ret, ret < 0 ? err : 0, flags, sa, len);
	errno = err;
}

void sl__record_create_failed(uint16_t call, int err)
{
	if (!sl_g.ready || err == EINTR)
		return;
	int saved = errno;
	uint32_t stack = sl_stack_capture();
	sl_site_count(&sl_g.log, stack, err, 0, 0, 0);
	struct sl_event *ev = ev_about(SL_EV_ERROR, call, -1, NULL, stack, err);
	if (ev)
		sl_ev_commit(&sl_g.log, ev);
	errno = saved;
}

/* A bind refused for its address (in use, or not ours): an event naming the address, and whether
 * SO_REUSEADDR was set. The kernel read the address to refuse it, so it is safe to copy. */
static void bind_failed(struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len, int err)
{
	uint32_t stack = sl_stack_capture();
	sl_site_count(&sl_g.log, stack, err, 0, 0, 0);
	sl_slot_count_error(s, err);
	struct sl_event *ev = ev_about(SL_EV_BIND, SL_CALL_BIND, fd, s, stack, err);
	if (!ev)
		return;
	ev->a = (s->opts_set & (1u << SL_OPT_REUSEADDR)) && s->opt[SL_OPT_REUSEADDR];
	sl_addr_set(&ev->addr, sa, len);
	sl_ev_commit(&sl_g.log, ev);
}

void sl__record_bind(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (!s)
		return;
	if (ret == 0)
		fill_names(s, fd); /* the kernel's view: port 0 became a real port */
	else if (err == EADDRINUSE || err == EADDRNOTAVAIL)
		bind_failed(s, fd, sa, len, err);
}

/* The accept queue's limit the kernel kept (TCP_INFO on a listener: sacked), which is the backlog
 * asked for capped by net.core.somaxconn of the socket's network namespace. */
static void listen_limit(struct sl_slot *s, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if ((s->family == AF_INET || s->family == AF_INET6) && s->type == SOCK_STREAM &&
	    sl_sys5(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		s->listen_limit = ti.tcpi_sacked;
}

void sl__record_listen(int fd, int backlog, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (!s)
		return;
	if (ret < 0) {
		sl_slot_count_error(s, err);
		return;
	}
	s->role = SL_ROLE_LISTENER;
	s->listen_backlog = backlog;
	listen_limit(s, fd);
	fill_names(s, fd);
	struct sl_event *ev = ev_about(SL_EV_LISTEN, SL_CALL_LISTEN, fd, s, sl_stack_capture(), 0);
	if (!ev)
		return;
	ev->a = backlog;
	ev->addr = s->local;
	sl_ev_commit(&sl_g.log, ev);
}

static void tcp_info_of(struct sl_slot *s, int fd);

/* A connect still sending SYNs when the program shuts the socket down or closes it: the program gave
 * up waiting (the JDK's connect timeout shuts down, then closes; the kernel's state is CLOSE by
 * the time of the close). */
static void connect_gave_up(struct sl_slot *s, int fd)
{
	if (__atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) != SL_CONN_PENDING)
		return;
	tcp_info_of(s, fd);
	if ((s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_SYN_SENT)
		set_flag(s, SL_SF_GAVE_UP);
}

void sl__record_shutdown_begin(int fd)
{
	struct sl_slot *s = sl_g.ready ? slot_at(sl_fd_get(fd)) : NULL;
	if (s)
		connect_gave_up(s, fd);
}

void sl__record_shutdown(int fd, int how, int ret)
{
	struct sl_slot *s = ret == 0 ? sl__slot_for(fd) : NULL;
	if (!s)
		return;
	if (how == SHUT_RD || how == SHUT_RDWR)
		set_flag(s, SL_SF_SHUT_RD);
	if (how == SHUT_WR || how == SHUT_RDWR)
		set_flag(s, SL_SF_SHUT_WR);
}

void sl__record_setsockopt(int fd, int level, int name, const void *val, socklen_t len, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (!s)
		return;
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
	if (!tracing())
		return;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_OPTION, SL_CALL_SETSOCKOPT, fd);
	if (!ev)
		return;
	ev->ts_ns = sl_now();
	ev->conn_id = s->conn_id;
	ev->tid = tid();
	ev->a = idx;
	ev->b = v;
	sl_ev_commit(&sl_g.log, ev);
}

void sl__record_getsockopt(int fd, int level, int name, const void *val, const socklen_t *len, int ret)
{
	if (ret != 0 || level != SOL_SOCKET || name != SO_ERROR || !val || !len || *len < sizeof(int))
		return;
	struct sl_slot *s = sl__slot_for(fd);
	if (!s || __atomic_load_n(&s->connect_state, __ATOMIC_ACQUIRE) != SL_CONN_PENDING)
		return;
	int v;
	memcpy(&v, val, sizeof v);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	/* SO_ERROR 0 also means "still connecting"; getpeername tells the two apart */
	if (v != 0)
		connect_resolved(s, fd, v, sl_now());
	else if (sl_sys3(SYS_getpeername, fd, &ss, &sl) == 0)
		connect_resolved(s, fd, 0, sl_now());
}

void sl__record_flags(int fd, int nonblock, int cloexec)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (!s)
		return;
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

void sl__record_guarded(int fd)
{
	if (!sl_g.ready)
		return;
	struct sl_slot *s = slot_at(sl_fd_get(fd));
	if (s)
		set_flag(s, SL_SF_GUARDED);
}

/* The kernel's struct tcp_info goes on where glibc's ends (at tcpi_total_retrans); the fields we
 * read from the rest are at these fixed places of the kernel ABI (linux/tcp.h). */
struct sl_tcp_info {
	struct tcp_info base;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen;
};

static int is_tcp(const struct sl_slot *s)
{
	return (s->family == AF_INET || s->family == AF_INET6) && s->type == SOCK_STREAM;
}

/* The kernel's view of a connection, on the fd handed to the call being wrapped. */
static void tcp_info_of(struct sl_slot *s, int fd)
{
	struct sl_tcp_info ti;
	socklen_t len = sizeof ti;
	if (!is_tcp(s) || s->connect_state == SL_CONN_NONE)
		return; /* never connected, accepted or connecting: the kernel has nothing to say */
	memset(&ti, 0, sizeof ti);
	if (sl_sys5(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return;
	s->tcp_state = ti.base.tcpi_state;
	s->tcp_rtt_us = ti.base.tcpi_rtt;
	s->tcp_rttvar_us = ti.base.tcpi_rttvar;
	s->tcp_retrans = ti.base.tcpi_total_retrans;
	s->tcp_lost = ti.base.tcpi_lost;
	if (len >= offsetof(struct sl_tcp_info, segs_in)) {
		/* the count runs on sequence numbers, and a FIN takes one */
		int fin = ti.base.tcpi_state == TCP_CLOSE_WAIT || ti.base.tcpi_state == TCP_LAST_ACK ||
			  ti.base.tcpi_state == TCP_CLOSING || ti.base.tcpi_state == TCP_TIME_WAIT;
		s->tcp_bytes_received = ti.bytes_received - (fin && ti.bytes_received ? 1 : 0);
		s->tcp_segs_out = ti.segs_out;
	}
	if (len >= offsetof(struct sl_tcp_info, reord_seen))
		s->tcp_dsack_dups = ti.dsack_dups;
	set_flag(s, SL_SF_TCPINFO);
}

/* Data the peer sent that nobody read, as the kernel counts it at close (SIOCINQ: exact, whichever
 * process read the rest, and a FIN not counted). Asked only when the counters say there may be some. */
static void unread_data(struct sl_slot *s, int fd)
{
	int n = 0;
	if ((s->flags & SL_SF_TCPINFO) && s->tcp_bytes_received > s->bytes_in &&
	    sl_sys3(SYS_ioctl, fd, SIOCINQ, (long)&n) == 0 && n > 0)
		s->unread_at_close = (uint32_t)n;
}

/* A long-lived connection's kernel counters, sampled on a data call once per period. */
void sl__first_call(struct sl_slot *s, uint8_t dir, const void *buf)
{
	sl_t_first_buf = buf;
	if (!(sl_py_active() || sl_java_active()))
		return;
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	int e = errno;
	if (dir == SL_DIR_IN && (flags & SL_SF_WATCH_READ) && !(flags & SL_SF_NONBLOCK)) {
		uint32_t st = sl_stack_capture();
		if (st)
			s->read_site = SL_SITE_STACK | st;
	} else if (dir == SL_DIR_OUT && !s->send_stack) {
		s->send_stack = sl_stack_capture();
	}
	errno = e;
}

void sl__call_sample(struct sl_slot *s, int fd, uint64_t now)
{
	int err = errno;
	s->sample_epoch = (uint32_t)(now >> SL_SAMPLE_SHIFT);
	tcp_info_of(s, fd);
	errno = err;
}

static uint64_t addr_hash(const struct sl_addr *a)
{
	uint64_t h = 1469598103934665603ull ^ a->family;
	for (uint32_t i = 0; i < a->len && i < SL_ADDR_DATA; i++)
		h = (h ^ a->data[i]) * 1099511628211ull;
	return h;
}

/* Per call site: connections closed, those that were one short exchange, and of these the ones
 * to the same peer as the connection closed before (churn: no reuse, no pooling). */
static void count_closed(const struct sl_slot *s, uint64_t now)
{
	struct sl_stack *site = sl_stack_at(&sl_g.log, s->connect_stack ? s->connect_stack : s->open_stack);
	/* a connect that failed made no connection: refusals are their own finding, not churn */
	if (!site || s->role != SL_ROLE_CLIENT || !is_tcp(s) || s->connect_state != SL_CONN_DONE)
		return;
	__atomic_fetch_add(&site->closed, 1, __ATOMIC_RELAXED);
	if (now - s->open_ns >= 1000000000ull || s->calls_out > 1 || s->calls_in > 2)
		return;
	__atomic_fetch_add(&site->short_closed, 1, __ATOMIC_RELAXED);
	uint64_t h = addr_hash(&s->peer);
	if (__atomic_exchange_n(&site->last_peer, h, __ATOMIC_RELAXED) == h)
		__atomic_fetch_add(&site->same_peer_short, 1, __ATOMIC_RELAXED);
}

/* A connection closed with something a rule may report: errors, a blocking read that could have
 * hung, a long life (keepalive), a slow connect, Nagle stalls, a TLS alert or an unanswered
 * handshake, retransmissions, a reset on close, a request left unanswered or a socket held
 * after the peer closed. Its slot is recycled last. Waits shorter than SL_KEEP_NS are not kept,
 * so analyzer thresholds below it see only slots the table still holds. */
static int worth_keeping(const struct sl_slot *s, uint64_t now)
{
	int timeout = (s->opts_set & (1u << SL_OPT_RCVTIMEO)) && s->opt[SL_OPT_RCVTIMEO] > 0;
	if (s->err_total || s->connect_state == SL_CONN_FAILED || (s->flags & SL_SF_GAVE_UP))
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
	if (s->unread_at_close || (s->flags & SL_SF_SHORT_WRITE))
		return 1; /* closed with unread data (a reset too), or after a short write never finished */
	if (s->first_out == SL_FB_TLS_HELLO && !s->bytes_in)
		return 1; /* a TLS handshake the peer never answered */
	if ((s->flags & SL_SF_EOF) && now - s->eof_cns >= SL_KEEP_NS)
		return 1; /* held after the peer closed */
	return s->last_out_cns > s->last_in_cns && now - s->last_out_cns >= SL_KEEP_NS; /* no reply */
}

/* Drops fd's reference to its slot; the last one closes the connection. Call before the real close. */
static void release_fd(int fd, uint32_t ent)
{
	struct sl_slot *s = slot_at(ent);
	if (!s) {
		sl_fd_set(fd, SL_FD_UNKNOWN);
		return;
	}
	/* Linux frees the number even if close fails; a later use of it names this close */
	sl_fd_set(fd, SL_FD_CLOSED | (ent - SL_FD_SLOT0));
	if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SL_SLOT_LIVE)
		return;
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	uint64_t now = sl_now();
	connect_gave_up(s, fd);
	tcp_info_of(s, fd);
	unread_data(s, fd);
	sl_stack_note_site(s->send_site);
	count_closed(s, now);
	s->close_stack = sl_stack_capture();
	if (worth_keeping(s, now))
		__atomic_fetch_or(&s->flags, SL_SF_KEEP, __ATOMIC_RELAXED);
	struct sl_event *ev = tracing() ? sl_ev_begin(&sl_g.log, SL_EV_CLOSE, SL_CALL_CLOSE, fd) : NULL;
	if (ev) {
		ev->ts_ns = now;
		ev->conn_id = s->conn_id;
		ev->stack = s->close_stack;
		ev->tid = tid();
		ev->addr = s->peer;
		sl_ev_commit(&sl_g.log, ev);
	}
	sl_slot_close(&sl_g.log, s, now);
}

void sl__record_close(int fd)
{
	uint32_t ent = sl_fd_get(fd);
	if (!sl_g.ready || ent == SL_FD_UNKNOWN)
		return;
	if (!sl_fd_live(ent))
		sl_fd_replace(fd, &ent, SL_FD_UNKNOWN); /* harmless even from a vfork child: one reclassification */
	else if (!sl_in_vfork_child()) /* a syscall, so only where a slot is at stake */
		release_fd(fd, ent);
}

void sl__record_stale(int fd, uint32_t ent, int err, uint16_t call)
{
	if (!sl_g.ready || !(ent & SL_FD_CLOSED) || sl_in_vfork_child())
		return;
	stale_use(fd, ent, err, call);
}

int sl__forget_closed(int fd, uint32_t *ent)
{
	if (!sl_g.ready || sl_in_vfork_child())
		return 1; /* nothing of ours to update (a vfork child must not) */
	return sl_fd_replace(fd, ent, SL_FD_UNKNOWN);
}

void sl__record_close_range(unsigned first, unsigned last, int cloexec_only)
{
	if (!sl_g.ready || sl_in_vfork_child())
		return;
	uint32_t hi = sl_fd_hiwater();
	for (unsigned fd = first; fd <= last && fd < hi; fd++) {
		uint32_t ent = sl_fd_get((int)fd);
		if (ent == SL_FD_UNKNOWN)
			continue;
		if (!cloexec_only)
			release_fd((int)fd, ent);
		else if (sl_fd_live(ent))
			sl__record_flags((int)fd, -1, 1);
	}
}

void sl__record_dup(int oldfd, int newfd)
{
	if (!sl_g.ready || newfd < 0 || sl_in_vfork_child())
		return;
	uint32_t old = sl_fd_get(newfd);
	if (old != SL_FD_UNKNOWN)
		release_fd(newfd, old); /* dup2 onto an open fd closes it first */
	if (sl_fd_get(oldfd) & SL_FD_CLOSED)
		return; /* cannot be: the dup succeeded; the number was reused unseen */
	struct sl_slot *s = sl__slot_for(oldfd);
	if (!s)
		return;
	__atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
	sl_fd_set(newfd, SL_FD_SLOT0 + (uint32_t)(s - sl_g.log.slots));
}

/* fds that arrive in SCM_RIGHTS messages replace whatever we knew of their numbers. */
void sl__record_received_fds(const struct msghdr *msg)
{
	if (!sl_g.ready || !msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			sl_fd_set(fd, SL_FD_UNKNOWN);
		}
	}
}

/* Lookups at least this slow are events whatever the analyzer's threshold (it is higher). */
#define SL_DNS_SLOW_NS 100000000ull

void sl__record_dns(uint16_t call, const char *name, int code, uint64_t dur_ns)
{
	uint32_t stack = sl_stack_capture();
	sl_site_count(&sl_g.log, stack, code, dur_ns, call, dur_ns >= SL_DNS_SLOW_NS);
	if (!code && dur_ns < SL_DNS_SLOW_NS)
		return;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_DNS, call, -1);
	if (!ev)
		return;
	size_t len = name ? strnlen(name, SL_ADDR_DATA - 1) : 0;
	ev->err = code;
	ev->dur_ns = dur_ns;
	ev->ts_ns = sl_now() - dur_ns;
	ev->stack = stack;
	ev->tid = tid();
	if (name)
		memcpy(ev->addr.data, name, len);
	ev->addr.data[len] = 0;
	ev->addr.len = (uint16_t)(len + 1);
	sl_ev_commit(&sl_g.log, ev);
}
