/* recorder.h - what a socket's life records, for both front ends: the preload shim (shim/, inside
 * the program, one call at a time) and the tracer (tracer/, outside it, at ptrace stops).
 *
 * A front end finds the slot of an fd its own way (the shim's fd table, the tracer's table per
 * process) and hands the recorder the facts of a call; the recorder asks the kernel and the
 * stack what else it needs through the front end's probe, and writes slots, events and per-site
 * counters with the log writer (logw.h). By topic:
 *
 *   lifecycle.c  a socket opened, found open (inherited), closed; stale fds; failed socket()s
 *   connect.c    connect and its outcome, accept, bind, listen
 *   data.c       a data call's unusual end: failures, EOF, first bytes (TLS), short writes
 *                (data.h: the usual end, inlined into the shim's wrappers)
 *   options.c    socket options, O_NONBLOCK and FD_CLOEXEC, shutdown, guarded reads
 *   kernel.c     the kernel's view: TCP_INFO, the accept queue, unread data at close
 *   dns.c        name lookups
 *   rec.c        what the topics share: events about a slot, a socket's names
 *
 * Depends on logw.h and socklens/log.h only: no libc wrapping, no ptrace, no process-wide state.
 * Functions here may change errno (a probe may); the shim keeps the program's around them.
 */
#ifndef SL_RECORDER_H
#define SL_RECORDER_H

#include <sys/socket.h>
#include "logw.h"

#pragma GCC visibility push(hidden)

/* How a front end answers the recorder's questions. fd is always the program's number. */
struct sl_probe {
	/* getsockopt on the program's socket; 0, or -1 */
	int (*sockopt)(void *arg, int fd, int level, int name, void *val, socklen_t *len);
	/* ioctl(SIOCINQ): bytes received and not read; 0, or -1. With head, the first len of them
	 * looked at (MSG_PEEK: left for the program; 0 bytes when they cannot be) */
	int (*unread)(void *arg, int fd, int *n, unsigned char *head, size_t len);
	/* getsockname (peer 0) or getpeername (peer 1); 0, or -1 */
	int (*name)(void *arg, int fd, int peer, struct sockaddr *a, socklen_t *len);
	/* the calling thread's stack, interned in the log (0: none) */
	uint32_t (*stack)(void *arg);
	uint32_t (*tid)(void *arg);
	/* makes sure the code address ip will be symbolized (NULL: nothing to do) */
	void (*note_site)(void *arg, uint64_t ip);
	/* whether the kernel holds a TIME_WAIT socket for the connection local -> peer: 1, 0, or -1
	 * (cannot tell; NULL: a front end that sees the program's reads needs no such question) */
	int (*timewait)(void *arg, const struct sl_addr *local, const struct sl_addr *peer);
	/* whether the close under way follows a goodbye the program's TLS library just sent (a
	 * close_notify): 1, or 0 (NULL: cannot tell) */
	int (*tls_closing)(void *arg);
};

/* One process being recorded. */
struct sl_rec {
	struct sl_log *log;
	const struct sl_probe *probe;
	void *arg;
	int trace;          /* also log opens, closes, options and successful connects */
	int kernel_counts;  /* the front end sees no data calls: bytes, segments and the last moves
			     * each way come from TCP_INFO (the tracer) */
	int64_t keepalive_default[3]; /* the kernel's TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT when nobody
				       * set them (sl_rec_options_now) */
};

static inline int sl_rec_is_tcp(const struct sl_slot *s)
{
	return (s->family == AF_INET || s->family == AF_INET6) && s->type == SOCK_STREAM;
}

static inline void sl_slot_flag(struct sl_slot *s, uint32_t f)
{
	if (!(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & f))
		__atomic_fetch_or(&s->flags, f, __ATOMIC_RELAXED);
}

/* A long-lived TCP connection's kernel counters (retransmissions, RTT) are sampled on its first
 * receive of each 2^33 ns (~8.6 s) period. */
#define SL_SAMPLE_SHIFT 33
#define SL_KEEP_NS 100000000ull /* 100 ms: the shortest wait worth keeping a closed slot for */
/* Failures of one errno at one call site past this many are counted at the site, not events: a
 * thirty-second of the event table (256 of the default 8192). */
static inline uint64_t sl_rec_events_per_site(const struct sl_rec *r)
{
	return r->log->hdr->tab[SL_T_EVENTS].cap / 32;
}

/* ---- rec.c ---- */

/* An event about slot s (NULL: none), begun with what every event says; the caller fills in the
 * rest and commits it (sl_ev_commit). NULL when the event table is full. */
struct sl_event *sl_rec_event(struct sl_rec *r, uint16_t type, uint16_t call, int fd, const struct sl_slot *s,
			      uint32_t stack, int err);
/* The socket's local and peer addresses, as the kernel has them now. */
void sl_rec_names(struct sl_rec *r, struct sl_slot *s, int fd);

/* ---- lifecycle.c ---- */

/* A slot for a socket that fd now names (flags: SL_SF_NONBLOCK, SL_SF_CLOEXEC, SL_SF_FROM_PARENT);
 * NULL when the table is full (counted). Its stack and open event come with sl_rec_opened, once
 * the front end has made the slot the fd's. */
struct sl_slot *sl_rec_open(struct sl_rec *r, int fd, int family, int type, int protocol, int role, uint32_t flags);
void sl_rec_opened(struct sl_rec *r, struct sl_slot *s, int fd, uint16_t call, int with_stack);
/* SL_SF_NONBLOCK and SL_SF_CLOEXEC from socket()'s or accept4()'s type or flags. */
uint32_t sl_rec_type_flags(int type);
/* What a socket we did not see created is, asked of the kernel; 0, or -1 (not a socket now). */
struct sl_ident {
	int family, type, protocol, listening;
};
int sl_rec_identify(struct sl_rec *r, int fd, struct sl_ident *id);
/* A socket found open (inherited, passed, made where no front end saw): its names, and whether
 * it is connected. */
void sl_rec_found(struct sl_rec *r, struct sl_slot *s, int fd);
/* The last fd of s is being closed (how: SL_CLOSE_*): what the kernel still knows, the close's
 * stack, whether the slot is worth keeping; then the slot is closed. */
enum {
	SL_CLOSE_CALL = 0,   /* the program's close */
	SL_CLOSE_EXEC = 1,   /* an exec's (O_CLOEXEC): the kernel cannot be asked then */
	SL_CLOSE_VIEWED = 2, /* the program's, the closing kernel view already taken (sl_rec_kernel_view) */
};
void sl_rec_close(struct sl_rec *r, struct sl_slot *s, int fd, int how);
/* fd, once the socket of slot old (NULL: not known), failed with err in call: a use after close. */
void sl_rec_stale(struct sl_rec *r, int fd, const struct sl_slot *old, int err, uint16_t call);
/* A call that makes a socket (socket, socketpair, accept) failed for want of one: an event with
 * no connection (s: the listener of a failed accept, else NULL). */
void sl_rec_create_failed(struct sl_rec *r, uint16_t call, int fd, const struct sl_slot *s, int err);

/* ---- connect.c ---- */

/* connect(fd, sa, len) begun at t0 (coarse clock) returned ret (err when it failed). */
void sl_rec_connect(struct sl_rec *r, struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len,
		    uint64_t t0, int ret, int err);
/* A pending connect learned its outcome (err 0: connected) at now (ns). */
void sl_rec_connect_result(struct sl_rec *r, struct sl_slot *s, int fd, int err, uint64_t now);
/* getsockopt(SO_ERROR) gave v: a pending connect's outcome, when it has one. */
void sl_rec_so_error(struct sl_rec *r, struct sl_slot *s, int fd, int v);
/* The program shuts down or closes a socket: a connect still sending SYNs was given up. */
void sl_rec_gave_up(struct sl_rec *r, struct sl_slot *s, int fd);
/* The listener ls (on lfd) handed out a connection; s (NULL: no slot) is the new one on fd, its
 * peer sa (NULL: ask the kernel). */
void sl_rec_accepted(struct sl_rec *r, struct sl_slot *ls, int lfd, struct sl_slot *s, int fd,
		     const struct sockaddr *sa, socklen_t len);
/* bind: the port the kernel gave, or a refusal (the address copied: the kernel read it). */
void sl_rec_bind(struct sl_rec *r, struct sl_slot *s, int fd, const struct sockaddr *sa, socklen_t len, int ret,
		 int err);
void sl_rec_listen(struct sl_rec *r, struct sl_slot *s, int fd, int backlog, int ret, int err);

/* ---- data.c ---- */

/* A data call's end that needs more than counting. */
struct sl_data_call {
	long ret;                /* what the call returned; < 0: failed with err */
	int err;
	size_t want;             /* the bytes a write asked to send (a read: 1) */
	uint64_t dt, now;        /* how long it took, when it ended (coarse clock) */
	uint64_t site;           /* the caller's address, 0 if not known */
	const void *first_buf;   /* the buffer of a connection's first call each way, NULL if none */
	uint16_t call;
	uint8_t in, peek;
	uint8_t guarded;         /* a process-wide deadline (alarm) bounds a blocking call */
	uint8_t eof_stack;       /* take the stack of an EOF (a runtime whose reader is the program) */
};
void sl_rec_data(struct sl_rec *r, struct sl_slot *s, int fd, const struct sl_data_call *c);
/* A front end that sees no data calls (the tracer) looking at one anyway, at its end: the first n
 * bytes it moved each way (a TLS handshake or alert; the slot's SL_SF_FIRST_* flags say which are
 * still wanted, and are cleared once seen), or EOF (in, n == 0). */
void sl_rec_first_look(struct sl_rec *r, struct sl_slot *s, int in, const void *buf, long n);
/* A call on s failed with err after dt (site: the caller's address, 0 if not known). */
void sl_rec_failed(struct sl_rec *r, struct sl_slot *s, int fd, uint16_t call, int in, int err, uint64_t dt,
		   uint64_t site);
/* Calls lasting this long (coarse clock) are slow-call events; UINT64_MAX: none. */
extern uint64_t sl_slow_ns;

/* ---- options.c ---- */

void sl_rec_setsockopt(struct sl_rec *r, struct sl_slot *s, int fd, int level, int name, const void *val,
		       socklen_t len, int ret, int err);
void sl_rec_flags(struct sl_slot *s, int nonblock, int cloexec); /* -1 = unchanged */
void sl_rec_shutdown(struct sl_slot *s, int how);
/* An accepted connection's options, copied from its listener as the kernel copies them. */
void sl_rec_inherit_options(struct sl_slot *s, const struct sl_slot *ls);
/* A socket found open: the options the kernel has in force that someone set. */
void sl_rec_options_from_kernel(struct sl_rec *r, struct sl_slot *s, int fd);
void sl_rec_options_now(struct sl_rec *r, struct sl_slot *s, int fd, uint32_t which);

/* ---- kernel.c ---- */

/* What the kernel knows of a connection now: state, RTT, retransmissions, bytes received, and
 * with kernel_counts the bytes, segments and last moves each way and a FIN; closing: data left
 * unread. A listener: its accept queue (just_accepted: one connection left it a moment ago). */
void sl_rec_kernel_view(struct sl_rec *r, struct sl_slot *s, int fd, int closing);
void sl_rec_listener_view(struct sl_rec *r, struct sl_slot *ls, int fd, int just_accepted);
/* The kernel's counters of a long-lived connection, once per period (data.h). */
void sl_rec_sample(struct sl_rec *r, struct sl_slot *s, int fd, uint64_t now);

/* ---- dns.c ---- */

/* A name lookup of name that ended with EAI code (0: found) after dur_ns. */
void sl_rec_dns(struct sl_rec *r, uint16_t call, const char *name, int code, uint64_t dur_ns);
/* The program's own resolver asked name and no server answered before it gave up (dur_ns after):
 * a failed lookup (EAI_AGAIN, its event's a = 1). */
void sl_rec_dns_unanswered(struct sl_rec *r, const char *name, uint64_t dur_ns);

/* ---- inject.c: --inject's rules, for both front ends ---- */

/* The run's rules, or NULL when it has none. */
struct sl_inject_table *sl_inject_table_of(struct sl_run_header *run);
/* The faults t's rules inject (1 << enum sl_fault each): calls no rule can apply to skip the match. */
unsigned sl_inject_faults(const struct sl_inject_table *t);
/* Who is calling, for rules that name a process (comm fills 16 bytes, asked only then) or a site. */
struct sl_inject_who {
	void (*comm)(void *arg, char *out);
	void *arg;
	struct sl_rec *rec;       /* the caller's stack, through its probe: asked only for a rule's site= */
};
/* The index of the first rule among faults (a mask of 1 << enum sl_fault) that matches the peer sa
 * (NULL: none), the name looked up (NULL: none) and call (enum sl_fault_calls, 0: any), and that
 * fires (its window, occurrence and probability); -1 when none does. Counts in the rules. */
int sl_inject_pick(struct sl_inject_table *t, unsigned faults, const struct sockaddr *sa, socklen_t len,
		   const char *name, unsigned call, const struct sl_inject_who *who);
/* The first rule among faults that matches the peer sa (and process, site), not counted: for a
 * fault decided call by call later (eintr), with sl_inject_fire; -1 when none does. */
int sl_inject_match(struct sl_inject_table *t, unsigned faults, const struct sockaddr *sa, socklen_t len,
		    const struct sl_inject_who *who);
/* Rule rule's occurrence: its window, nth, every, probability and count say whether it fires. */
int sl_inject_fire(struct sl_inject_table *t, int rule);
/* What one match asked of the caller, asked once (internal to inject.c). */
struct sl_inject_cache {
	char comm[SL_COMM_MAX + 1];
	int have_comm, have_stack;
	uint32_t stack;
};
/* Where rule r sends a connect to sa: socklens run's loopback port, as an address of sa's family
 * (*wire6: the connection is IPv6 on the wire); 0 when there is no such port. */
socklen_t sl_inject_target(const struct sl_inject_table *t, const struct sl_inject_rule *r, const struct sockaddr *sa,
			   struct sockaddr_storage *to, int *wire6);
/* The relay finds a redirected connection's real peer by its local port: fd's (the program's socket,
 * or the tracer's duplicate of it), bound to the loopback address of to (port 0) when the program
 * did not bind it, as connect would have. 0 when it cannot be had. */
uint16_t sl_inject_local_port(int fd, const struct sockaddr_storage *to, socklen_t tolen);
/* Tells the relay the real peer sa of the connection from local port lport; 0, or -1. */
int sl_inject_relay_note(struct sl_inject_table *t, struct sl_run_header *run, uint64_t run_size, int rule, int wire6,
			 uint16_t lport, const struct sockaddr *sa, int pid, uint64_t conn_id);
/* A rule that fired but could not be applied: not counted as injected. */
void sl_inject_undo(struct sl_inject_table *t, int rule);
/* The event saying what was injected into call, with the caller's stack: the real peer sa, or the
 * name looked up. */
void sl_rec_injected(struct sl_rec *r, const struct sl_inject_table *t, int rule, uint16_t call, int fd,
		     const struct sl_slot *s, int err, const struct sockaddr *sa, socklen_t salen, const char *name);

#pragma GCC visibility pop

#endif
