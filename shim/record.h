/* record.h - what the wrappers tell the recorder (sl__record_*, record.c), and the inline hot
 * path of a data call (sl__call_begin/sl__call_end, over recorder/data.h). */
#ifndef SL_RECORD_H
#define SL_RECORD_H

#include <errno.h>
#include "shim.h"
#include "data.h"

/* Everything declared here is internal to the shim: accessed directly, never through the GOT. */
#pragma GCC visibility push(hidden)

enum sl_dir { SL_DIR_OUT = 0, SL_DIR_IN = 1, SL_DIR_NONE = 2 /* connect, accept */ };

/* One data or blocking call in progress on a tracked socket. */
struct sl_call_ctx {
	struct sl_slot *slot;
	uint64_t t0;              /* coarse clock at the start (clock.h); 0 on a non-blocking socket */
	int fd;                   /* for connect/accept; the data fast path never reads it */
	uint16_t call;
	uint8_t dir;
	struct sl_inflight *infl; /* the thread's in-flight record, if it holds this call (and its site) */
};

/* The slot an fd maps to, classifying an fd seen for the first time. NULL if not a tracked socket. */
struct sl_slot *sl__slot_for(int fd);
/* The same for a socket found open at start: no stack (it would be the loader's). */
struct sl_slot *sl__slot_inherited(int fd);
/* The same, for the call about to be made (a socket-only call on a reused fd is a stale use). */
struct sl_slot *sl__slot_for_call(int fd, uint16_t call);

extern SL_TLS struct sl_inflight *sl_t_infl;
/* The buffer of a socket's first send or receive, for the call's end to look at once the
 * kernel has taken or filled it (set only then). */
extern SL_TLS const void *sl_t_first_buf;
/* The recorder as the shim calls it: this process's log, the shim's probe (record.c). */
extern struct sl_rec sl_rec_shim;
/* The thread's in-flight record, claimed on its first blocking call (process.c); NULL: none. */
struct sl_inflight *sl__inflight_claim(void);
/* Ties the thread's record to its lifetime (process.c); NULL unties. */
void sl__thread_own(struct sl_inflight *f);
/* Classifies an fd seen for the first time: the fd-table entry of its slot (a live one), or 0
 * when it is not a tracked socket. */
uint32_t sl__call_classify(int fd, uint16_t call);
/* The context goes as scalars (info: call | dir << 8 | inflight << 9 | peek << 10) so the
 * fast path keeps it in registers and never builds it in memory. The fd is the slot's. Hands
 * the call to the recorder (sl_rec_data). */
void sl__call_end_slow(struct sl_slot *s, long ret, uint64_t dt, uint64_t now, unsigned info, size_t want);
/* The first call each way on a socket: its buffer is kept for a look at the first bytes, and in a
 * language runtime's program the stack of a first blocking read (before it can block forever)
 * and of a first send (the program's line that sent the request) are captured. Out of line: the
 * hot path only tests the flag. */
void sl__first_call(struct sl_slot *s, uint8_t dir, const void *buf);
/* The hot path's way to both: a connection's first call each way (sl__first_call), and every call
 * on one an eintr rule matched (inject.c): -1 (errno EINTR) when the call is to fail, not be made. */
__attribute__((cold)) int sl__unusual_call(struct sl_slot *s, uint8_t dir, const void *buf);

/*
 * The hot path; ent is sl_fd_get(fd), which the caller usually has at hand. Returns 1 for a tracked
 * socket, 0 for anything else (make the real call), -1 for a call --inject fails with EINTR
 * (return -1: errno is set). A data call on a
 * tracked socket costs an fd-table load, one coarse clock read on a non-blocking socket or two
 * on a blocking one (with the thread's in-flight record), and plain adds to its direction's
 * counters. It never touches errno; everything unusual (first sight of an fd, failure, EOF, a
 * slow call, a pending connect, the first blocking read, the first record, a reply after two or
 * more writes) goes to the out-of-line functions above. buf: the call's buffer (NULL for vector
 * calls), looked at only on a connection's first send and first receive.
 */
SL_INLINE int sl__call_begin(struct sl_call_ctx *c, int fd, uint32_t ent, uint16_t call, uint8_t dir,
			      void *site, const void *buf)
{
	/* The entry is validated once, never read again: another thread may close and reuse fd
	 * meanwhile, and a second look could find a closed entry, which names no slot. */
	if (__builtin_expect(!sl_fd_live(ent), 0)) {
		if (ent == SL_FD_OTHER || ent == SL_FD_NOSLOT || !(ent = sl__call_classify(fd, call)))
			return 0;
	}
	struct sl_slot *s = sl_slot_of(ent);
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	c->slot = s;
	c->fd = fd;
	c->call = call;
	c->dir = dir;
	c->infl = NULL;
	c->t0 = 0;
	if (dir == SL_DIR_OUT)
		s->send_site = (uint64_t)(uintptr_t)site;
	if (dir != SL_DIR_NONE &&
	    __builtin_expect(flags & ((dir == SL_DIR_IN ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT) | SL_SF_INJECT_EINTR), 0) &&
	    sl__unusual_call(s, dir, buf) < 0)
		return -1;
	if (!(flags & SL_SF_NONBLOCK)) {
		struct sl_inflight *f = sl_t_infl;
		if (__builtin_expect(!f, 0))
			f = sl__inflight_claim();
		/* a call already in flight on this thread: we are in a signal handler that
		 * interrupted it, and the record keeps naming the interrupted call */
		if (f && !f->call) {
			f->fd = fd;
			f->conn_id = s->conn_id;
			f->site = (uint64_t)(uintptr_t)site;
			c->infl = f;
		}
		/* the clock last: fewer values have to survive its call */
		c->t0 = sl_clock();
		if (c->infl) {
			c->infl->since_cns = c->t0;
			__atomic_store_n(&c->infl->call, call, __ATOMIC_RELEASE);
		}
	}
	return 1;
}

/* The call is over: the thread's in-flight record stops naming it. */
SL_INLINE void sl__inflight_done(const struct sl_call_ctx *c)
{
	if (c->infl)
		__atomic_store_n(&c->infl->call, 0, __ATOMIC_RELEASE);
}

/* Accounts for a finished call that returned ret (errno holds the error when ret < 0), having asked
 * for want bytes: a write (want: its length) that sent less, a read (want 1) that returned 0,
 * and any failure go to the slow path, all with one comparison. Leaves errno as the real call
 * left it. */
SL_INLINE void sl__call_end_want(struct sl_call_ctx *c, long ret, int peek, size_t want)
{
	uint64_t now = sl_clock();
	uint64_t dt = c->t0 ? now - c->t0 : 0;
	struct sl_slot *s = c->slot;
	int in = c->dir == SL_DIR_IN;
	sl__inflight_done(c);
	if (sl_data_unusual(s, in, ret, dt, now, want)) {
		sl__call_end_slow(s, ret, dt, now,
				  c->call | (unsigned)c->dir << 8 | (unsigned)!!c->infl << 9 | (peek ? 1u << 10 : 0), want);
		return;
	}
	sl_data_count(s, in, ret, dt, now, peek);
}

SL_INLINE void sl__call_end(struct sl_call_ctx *c, long ret, int peek)
{
	sl__call_end_want(c, ret, peek, 1);
}

/* After a write of n bytes on a tracked socket: a short one is noted (SL_SF_SHORT_WRITE). */
SL_INLINE void sl__call_end_write(struct sl_call_ctx *c, long r, size_t n)
{
	sl__call_end_want(c, r, 0, n);
}

struct sl_slot *sl__record_socket(int fd, int family, int type, int protocol, int role);
/* Both read errno themselves when ret < 0, and leave it as they found it. */
void sl__record_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int ret);
void sl__record_accept(struct sl_call_ctx *c, int ret, int flags, const struct sockaddr *sa,
		       const socklen_t *len);
void sl__record_bind(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err);
/* A socket()/socketpair() that failed: no fd, so an event with no connection. Keeps errno. */
void sl__record_create_failed(uint16_t call, int err);
void sl__record_listen(int fd, int backlog, int ret, int err);
void sl__record_shutdown_begin(int fd);
void sl__record_shutdown(int fd, int how, int ret);
void sl__record_setsockopt(int fd, int level, int name, const void *val, socklen_t len, int ret, int err);
void sl__record_getsockopt(int fd, int level, int name, const void *val, const socklen_t *len, int ret);
void sl__record_flags(int fd, int nonblock, int cloexec); /* -1 = unchanged */
void sl__record_guarded(int fd);
void sl__record_close(int fd);
/* fd, once a socket closed here (ent), failed with err in call: a use after close. Keeps errno;
 * leaves the fd table alone (the number may already be another thread's). */
void sl__record_stale(int fd, uint32_t ent, int err, uint16_t call);
/* Before closing fd, whose entry *ent says a socket closed here: forgets that, unless another
 * thread changed the entry first (0, and *ent is what it found). */
int sl__forget_closed(int fd, uint32_t *ent);
void sl__record_close_range(unsigned first, unsigned last, int cloexec_only);
void sl__record_dup(int oldfd, int newfd);
void sl__record_received_fds(const struct msghdr *msg);
/* untraced.c: log an exec the preload cannot follow; what was done (SL_CHECKED_*: recorded, and
 * followed by the tracer, see sl__unfollow). */
enum { SL_CHECKED_RECORDED = 1, SL_CHECKED_FOLLOWED = 2 };
int sl__check_exec(const char *path, char *const envp[]);
int sl__check_execvp(const char *file, char *const envp[], const char *pathvar);
void sl__unfollow(void);
int sl__follow_for(const char *path);
void sl__spawned(int child, const char *path, char *const envp[], uint64_t t0);
struct sl_strbuf;
const char *sl__search_path(const char *file, const char *pathvar, struct sl_strbuf *b);
void sl__record_exit(int status);
/* hook_user.c: the log is made before the process confines itself (user, chroot, seccomp). */
void sl__before_confinement(void);
/* hook_user.c: top/u<uid> into out when it is a directory uid owns that nobody else can write;
 * 0, or -1. */
int sl__user_dir_for(const char *top, uid_t uid, char *out, size_t len);
/* iouring.c: a process whose socket calls may go through an io_uring is marked (raw setup) */
void sl__iouring_syscall(long n);
/* sigbus.c: the program survives its log being truncated under it */
void sl__sigbus_install(void);
void sl__sigbus_exec(int done); /* before an exec (0), and after one that failed (1) */
/* After a clone or clone3 system call returned ret with these flags (hook_proc.c). */
void sl__clone_done(long ret, uint64_t flags);
/* A name lookup of name that ended with EAI code (0: found) after dur_ns. Keeps errno. */
void sl__record_dns(uint16_t call, const char *name, int code, uint64_t dur_ns);

/* ---- --inject (inject.c): only when the run has rules (sl_inject_on) ---- */
extern unsigned sl_inject_on; /* 1 << enum sl_fault of each rule's fault; 0: no --inject */
#define SL_INJECT_FD_FAULTS (1u << SL_FAULT_EMFILE | 1u << SL_FAULT_ENFILE)
#define SL_INJECT_DNS_FAULTS (1u << SL_FAULT_NXDOMAIN | 1u << SL_FAULT_SERVFAIL | 1u << SL_FAULT_DNS_DELAY)
#define SL_INJECT_CONNECT_FAULTS \
	(1u << SL_FAULT_REFUSE | 1u << SL_FAULT_BLACKHOLE | 1u << SL_FAULT_UNREACHABLE | 1u << SL_FAULT_RELAY)
void sl__inject_init(void);
/* A connect a rule picked: made here (redirected, or failed at once); the rule's index, with the
 * call's result in *ret and errno. -1: not injected, the caller makes the real call. */
int sl__inject_connect(struct sl_call_ctx *c, const struct sockaddr *sa, socklen_t len, int *ret);
/* socket() or accept(): the errno to fail with (EMFILE, ENFILE), 0 for the real call. */
int sl__inject_fd_call(uint16_t call);
/* A name lookup: the EAI code to fail with, 0 for the real lookup (after a delay, if one is asked). */
int sl__inject_lookup(uint16_t call, const char *name);
/* eintr: connection fd, if an eintr rule matches its peer, is marked for its data calls to look. */
void sl__inject_mark_eintr(int fd);
/* ... and a call on it that would block: 1 (errno EINTR) when it is to fail now (the slot's fd:
 * a duplicate is the same socket). */
int sl__inject_eintr(struct sl_slot *s, uint8_t dir);
/* accept-stall: the accept on listener fd held for the rule's time, if one picks it. */
void sl__inject_accept_stall(int fd);
/* slow-close: the close of connection fd (fd-table entry ent) held, if a rule picks it. */
void sl__inject_close(int fd, uint32_t ent);
/* getpeername on a redirected connection: the real peer, not socklens run's port. */
void sl__inject_peername(int fd, struct sockaddr *sa, socklen_t *len);
/* Every other sl__record_* may change errno: wrappers save it around them. */

#pragma GCC visibility pop

#endif
