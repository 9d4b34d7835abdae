/* record.c - the shim's side of recording: which slot an fd names (the fd table), the probe that
 * answers the recorder from inside the program, and each wrapped call handed to the recorder
 * (recorder/). Never changes a call's result; errno as the sl__record_* contract in record.h says. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "rawsys.h"
#include "record.h"

/* ---- the probe: the program's own fds, asked with raw system calls (libc's are wrapped) ---- */

static int probe_sockopt(void *arg, int fd, int level, int name, void *val, socklen_t *len)
{
	(void)arg;
	return sl_sys5(SYS_getsockopt, fd, level, name, val, len) == 0 ? 0 : -1;
}

static int probe_unread(void *arg, int fd, int *n, unsigned char *head, size_t len)
{
	(void)arg;
	if (sl_sys3(SYS_ioctl, fd, SIOCINQ, (long)n) != 0)
		return -1;
	if (head && *n > 0 && sl_sys6(SYS_recvfrom, fd, (long)head, (long)len, MSG_PEEK | MSG_DONTWAIT, 0, 0) != (long)len)
		memset(head, 0, len);
	return 0;
}

static int probe_name(void *arg, int fd, int peer, struct sockaddr *a, socklen_t *len)
{
	(void)arg;
	return sl_sys3(peer ? SYS_getpeername : SYS_getsockname, fd, a, len) == 0 ? 0 : -1;
}

static uint32_t probe_stack(void *arg)
{
	(void)arg;
	return sl_stack_capture();
}

static uint32_t probe_tid(void *arg)
{
	(void)arg;
	return sl__tid();
}

static void probe_note_site(void *arg, uint64_t ip)
{
	(void)arg;
	sl_stack_note_site(ip);
}

static const struct sl_probe shim_probe = {probe_sockopt, probe_unread, probe_name, probe_stack, probe_tid,
					   probe_note_site};
struct sl_rec sl_rec_shim = {.log = &sl_g.log, .probe = &shim_probe};
#define R (&sl_rec_shim)

SL_TLS const void *sl_t_first_buf;

/* ---- fds and their slots ---- */

static struct sl_slot *slot_at(uint32_t ent)
{
	if (!sl_fd_live(ent) || !sl_g.log.hdr)
		return NULL;
	return sl_slot_of(ent);
}

static uint32_t ent_of(const struct sl_slot *s)
{
	return SL_FD_SLOT0 + (uint32_t)(s - sl_g.log.slots);
}

static int no_stack; /* the constructor's scan of inherited sockets: no stack worth taking */

/* A slot for fd, named in the fd table. expect (NULL for a socket this call just created) is the
 * entry an fd seen for the first time had: if another thread changed it meanwhile (it closed the
 * number, or a new socket got it), that thread's entry stands and the slot is given back. */
static struct sl_slot *track(int fd, int family, int type, int protocol, int role, uint32_t flags,
			     uint16_t call, uint32_t *expect)
{
	if (!sl__log_need())
		return NULL; /* it could not be made: the shim is passing calls through now */
	struct sl_slot *s = sl_rec_open(R, fd, family, type, protocol, role, flags);
	if (!s) {
		if (!expect)
			sl_fd_set(fd, SL_FD_NOSLOT);
		else
			sl_fd_replace(fd, expect, SL_FD_NOSLOT);
		return NULL;
	}
	if (!expect) {
		sl_fd_set(fd, ent_of(s));
	} else if (!sl_fd_replace(fd, expect, ent_of(s))) {
		sl_slot_close(&sl_g.log, s, s->open_ns);
		return sl_fd_live(*expect) ? sl_slot_of(*expect) : NULL;
	}
	sl_rec_opened(R, s, fd, call, !no_stack);
	return s;
}

struct sl_slot *sl__record_socket(int fd, int family, int type, int protocol, int role)
{
	if (!sl_g.ready || fd < 0 || sl_in_vfork_child())
		return NULL;
	return track(fd, family, type, protocol, role, sl_rec_type_flags(type),
		     role == SL_ROLE_PAIR ? SL_CALL_SOCKETPAIR : SL_CALL_SOCKET, NULL);
}

/* The slot that the closed entry ent named, if it still holds that connection's record. */
static const struct sl_slot *closed_slot(uint32_t ent)
{
	uint32_t idx = ent ^ SL_FD_CLOSED;
	return idx < sl_g.log.hdr->tab[SL_T_SLOTS].avail ? &sl_g.log.slots[idx] : NULL;
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
			sl_rec_stale(R, fd, closed_slot(prev), EBADF, call); /* once per close */
		return NULL; /* not open */
	}
	if (!S_ISSOCK(st.st_mode)) {
		if ((prev & SL_FD_CLOSED) && socket_only(call))
			sl_rec_stale(R, fd, closed_slot(prev), ENOTSOCK, call);
		sl_fd_replace(fd, &prev, SL_FD_OTHER);
		return NULL;
	}
	uint32_t flags = prev == SL_FD_PARENT || prev == SL_FD_PARENT_SERVER ? SL_SF_FROM_PARENT : 0;
	if (prev == SL_FD_PARENT_SERVER)
		role = SL_ROLE_SERVER;
	long fl = sl_sys3(SYS_fcntl, fd, F_GETFL, 0);
	if (fl >= 0 && (fl & O_NONBLOCK))
		flags |= SL_SF_NONBLOCK;
	struct sl_ident id;
	sl_rec_identify(R, fd, &id);
	uint32_t expect = prev;
	struct sl_slot *s = track(fd, id.family, id.type, id.protocol, id.listening ? SL_ROLE_LISTENER : role, flags,
				  SL_CALL_NONE, &expect);
	if (s && expect == prev)
		sl_rec_found(R, s, fd);
	return s;
}

struct sl_slot *sl__slot_for_call(int fd, uint16_t call)
{
	if (!sl_g.ready)
		return NULL;
	uint32_t ent = sl_fd_get(fd);
	if ((ent == SL_FD_UNKNOWN || ent == SL_FD_PARENT || ent == SL_FD_PARENT_SERVER || (ent & SL_FD_CLOSED)) &&
	    (unsigned)fd < sl_fdcap)
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

uint32_t sl__call_classify(int fd, uint16_t call)
{
	if (!sl_g.ready)
		return 0;
	int saved = errno;
	struct sl_slot *s = sl__slot_for_call(fd, call);
	errno = saved;
	return s ? ent_of(s) : 0;
}

/* ---- calls handed to the recorder ---- */

/* Everything sl__call_end leaves to the recorder. Leaves errno as the real call left it. */
void sl__call_end_slow(struct sl_slot *s, long ret, uint64_t dt, uint64_t now, unsigned info, size_t want)
{
	int err = errno;
	struct sl_inflight *infl = ((info >> 9) & 1) ? sl_t_infl : NULL;
	struct sl_data_call c = {
		.ret = ret, .err = ret < 0 ? err : 0, .want = want, .dt = dt, .now = now,
		.site = infl ? infl->site : 0, .first_buf = sl_t_first_buf, .call = (uint16_t)(info & 0xff),
		.in = (info >> 8) & 1, .peek = (info >> 10) & 1,
		.guarded = (uint8_t)__atomic_load_n(&sl_g.alarm_armed, __ATOMIC_RELAXED),
		.eof_stack = (uint8_t)(sl_py_active() || sl_java_active()),
	};
	sl_rec_data(R, s, s->fd, &c);
	sl_t_first_buf = NULL;
	errno = err;
}

void sl__record_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int ret)
{
	int err = errno;
	sl__inflight_done(c);
	sl_rec_connect(R, c->slot, c->fd, sa, len, c->t0, ret, ret < 0 ? err : 0);
	errno = err;
}

static void accept_done(struct sl_call_ctx *c, int ret, int err, int flags, const struct sockaddr *sa,
			const socklen_t *len)
{
	struct sl_slot *ls = c->slot;
	sl__inflight_done(c);
	if (ret < 0) {
		if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ECONNABORTED)
			sl_rec_failed(R, ls, c->fd, c->call, 0, err, c->t0 ? sl_clock() - c->t0 : 0,
				      c->infl ? c->infl->site : 0);
		return;
	}
	/* Node.js accepts from its event loop: the listener's stack (where the program set up its
	 * server) says more than libuv's */
	uint32_t origin = sl_t_origin;
	if (sl_node_origins() && ls->open_stack)
		sl_t_origin = ls->open_stack;
	struct sl_slot *s = track(ret, ls->family, ls->type, ls->protocol, SL_ROLE_SERVER, sl_rec_type_flags(flags),
				  SL_CALL_ACCEPT, NULL);
	sl_t_origin = origin;
	sl_rec_accepted(R, ls, c->fd, s, ret, sa, sa && len ? *len : 0);
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
	if (sl__log_need())
		sl_rec_create_failed(R, call, -1, NULL, err);
	errno = saved;
}

void sl__record_bind(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (s)
		sl_rec_bind(R, s, fd, sa, len, ret, err);
}

void sl__record_listen(int fd, int backlog, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (s)
		sl_rec_listen(R, s, fd, backlog, ret, err);
}

void sl__record_shutdown_begin(int fd)
{
	struct sl_slot *s = sl_g.ready ? slot_at(sl_fd_get(fd)) : NULL;
	if (s)
		sl_rec_gave_up(R, s, fd);
}

void sl__record_shutdown(int fd, int how, int ret)
{
	struct sl_slot *s = ret == 0 ? sl__slot_for(fd) : NULL;
	if (s)
		sl_rec_shutdown(s, how);
}

void sl__record_setsockopt(int fd, int level, int name, const void *val, socklen_t len, int ret, int err)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (s)
		sl_rec_setsockopt(R, s, fd, level, name, val, len, ret, err);
}

void sl__record_getsockopt(int fd, int level, int name, const void *val, const socklen_t *len, int ret)
{
	if (ret != 0 || level != SOL_SOCKET || name != SO_ERROR || !val || !len || *len < sizeof(int))
		return;
	struct sl_slot *s = sl__slot_for(fd);
	int v;
	memcpy(&v, val, sizeof v);
	if (s)
		sl_rec_so_error(R, s, fd, v);
}

void sl__record_flags(int fd, int nonblock, int cloexec)
{
	struct sl_slot *s = sl__slot_for(fd);
	if (s)
		sl_rec_flags(s, nonblock, cloexec);
}

void sl__record_guarded(int fd)
{
	if (!sl_g.ready)
		return;
	struct sl_slot *s = slot_at(sl_fd_get(fd));
	if (s)
		sl_slot_flag(s, SL_SF_GUARDED);
}

/* The first call each way on a socket: its buffer is kept for a look at the first bytes, and in a
 * language runtime's program the stack of a first blocking read (before it can block forever)
 * and of a first send (the program's line that sent the request) are captured. */
void sl__first_call(struct sl_slot *s, uint8_t dir, const void *buf)
{
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	sl_t_first_buf = buf;
	if (!(sl_py_active() || sl_java_active()))
		return;
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
	sl_rec_close(R, s, fd, SL_CLOSE_CALL);
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
	sl_rec_stale(R, fd, closed_slot(ent), err, call);
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
	sl_fd_set(newfd, ent_of(s));
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

void sl__record_dns(uint16_t call, const char *name, int code, uint64_t dur_ns)
{
	int err = errno;
	if (sl__log_need())
		sl_rec_dns(R, call, name, code, dur_ns);
	errno = err;
}

/* A child reaped (hook_proc.c): how it ended, in this process's log. A child that exited says so
 * in its own log (if it made one); a parent without a log makes one only for a child killed by a
 * signal, which no log of the child's can tell. */
void sl__record_reaped(int pid, int status)
{
	int e = errno;
	int log = sl_g.ready && !sl_in_vfork_child() &&
		  (__atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE) == SL_LOG_MADE ||
		   (WIFSIGNALED(status) && sl__log_need()));
	struct sl_event *ev = log ? sl_rec_event(&sl_rec_shim, SL_EV_REAPED, SL_CALL_NONE, -1, NULL, 0, 0) : NULL;
	if (ev) {
		ev->a = pid;
		ev->b = status;
		sl_ev_commit(&sl_g.log, ev);
	}
	errno = e;
}
