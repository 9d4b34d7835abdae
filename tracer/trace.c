/* trace.c - `socklens run` for programs the preload cannot reach: Go binaries (static or not) and
 * statically linked programs, which make their system calls themselves.
 *
 * The run's child becomes a tracer: it forks the program, seizes it with ptrace, and the program
 * installs a seccomp filter before exec that stops it only at the calls that shape a connection's
 * life (socket, connect, accept, bind, listen, getsockopt, shutdown, close, dup, exec,
 * exit_group, and setsockopt of the few options a program sets by choice). Data calls run
 * untouched. What the tracer does not see per call (bytes, last send and receive, retransmissions,
 * unread data, a peer's FIN, the options a runtime sets on every connection) it reads from the
 * kernel: TCP_INFO, SIOCINQ and getsockopt on a duplicate of the socket taken with pidfd_getfd (into the tracer, never into the
 * program), at close, at exit and every second for the open ones. Stacks are unwound at the stop
 * by libdw from the stopped thread's registers. Everything goes into the same logs the shim
 * writes, so the rules and reports need no second path.
 *
 * When ptrace is refused (a container's seccomp profile, Yama's ptrace_scope 3), the filter is
 * never installed (a RET_TRACE filter without a tracer makes the traced calls fail) and the
 * program runs untraced; the run's counters say so. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
enum { TCP_ESTABLISHED_STATE = 1, TCP_TIME_WAIT_STATE = 6, TCP_CLOSE_WAIT_STATE = 8 }; /* the kernel's TCP states (include/net/tcp_states.h) */
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "symbols/symbols.h"
#include "recorder.h"
#include "goroutines.h"
#include "tracer.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

static struct sl_run_header *run_ctl; /* the run's control file: budget, counters, --inject's rules */

/* ---- the filter ------------------------------------------------------------------------ */

static const int traced_calls[] = {
	SYS_socket, SYS_socketpair, SYS_connect, SYS_accept, SYS_accept4, SYS_bind, SYS_listen,
	SYS_shutdown, SYS_getsockopt, SYS_close, SYS_close_range, SYS_dup, SYS_dup2,
	SYS_dup3, SYS_execve, SYS_execveat, SYS_exit_group, SYS_io_uring_setup, SYS_ptrace,
};
#define NCALLS (sizeof traced_calls / sizeof traced_calls[0])

/* --trace-data: every data call stops too (on files and pipes as well: the filter cannot tell),
 * for resets and broken pipes per call and exact bytes, at strace's kind of cost */
static const int data_calls[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg,
};
#define NDATA (sizeof data_calls / sizeof data_calls[0])
static int trace_data;

/* The filter is written with two labels, the final RET ALLOW and RET TRACE, which jumps name by
 * these values in jt/jf until they are resolved into offsets. */
enum { TO_ALLOW = 254, TO_TRACE = 255 };

static void emit(struct sock_filter *f, unsigned *n, unsigned short code, unsigned k, unsigned char jt,
		 unsigned char jf)
{
	f[(*n)++] = (struct sock_filter){code, jt, jf, k};
}

#define LOAD(off) emit(f, &n, BPF_LD | BPF_W | BPF_ABS, (unsigned)(off), 0, 0)
#define IF_EQ(v, jt, jf) emit(f, &n, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)(v), jt, jf)

/* Options a runtime sets on every connection (TCP_NODELAY, keep-alive and its timing, address
 * reuse) are read from the kernel when they matter (options_now); those a program sets by choice,
 * rarely, and that change what a connection does (a read timeout, lingering, a user timeout) stop
 * the program, so that when and where they were set is known. */
static const int stop_options[][2] = {
	{SOL_SOCKET, SO_LINGER}, {SOL_SOCKET, SO_RCVTIMEO_OLD}, {SOL_SOCKET, SO_SNDTIMEO_OLD},
	{SOL_SOCKET, SO_RCVTIMEO_NEW}, {SOL_SOCKET, SO_SNDTIMEO_NEW}, {IPPROTO_TCP, TCP_USER_TIMEOUT},
};

/* The options read from the kernel instead (sl_rec_options_now): all of them when an open socket is
 * viewed (once a second, and at exit) and at listen; at a close, those the rules ask of a short
 * connection (keep-alive's timing only with keep-alive on); at bind, address reuse. */
#define OPT(o) (1u << SL_OPT_##o)
#define OPTS_CLOSE (OPT(NODELAY) | OPT(KEEPALIVE) | OPT(KEEPIDLE))
#define OPTS_BIND (OPT(REUSEADDR) | OPT(REUSEPORT))
#define OPTS_READ (OPTS_CLOSE | OPTS_BIND | OPT(KEEPINTVL) | OPT(KEEPCNT))

/* A run that starts a script or a launcher (execs_only): the program is not traced, but the
 * preload asks the tracer to follow a process about to exec a Go or static program (follow_asked),
 * and that program gets the filter (filter_inject). */
static int execs_only;
static long trace_opts; /* the ptrace options every traced task has */

/* x86-64 calls in the list, fcntl(F_DUPFD*) and setsockopt of stop_options stop for the tracer;
 * everything else runs. Returns the filter's length in f. */
static unsigned build_filter(struct sock_filter *f)
{
	int calls[NCALLS + NDATA + 1];
	unsigned n = 0, i, ncalls = 0;
	for (i = 0; i < NCALLS; i++)
		calls[ncalls++] = traced_calls[i];
	/* --inject through the relay: a relayed connection's getpeername is given the real peer */
	if (sl_inject_faults(sl_inject_table_of(run_ctl)) & (1u << SL_FAULT_RELAY))
		calls[ncalls++] = SYS_getpeername;
	for (i = 0; trace_data && i < NDATA; i++)
		calls[ncalls++] = data_calls[i];
	LOAD(offsetof(struct seccomp_data, arch));
	IF_EQ(AUDIT_ARCH_X86_64, 0, TO_ALLOW);
	LOAD(offsetof(struct seccomp_data, nr));
	for (i = 0; i < ncalls; i++)
		IF_EQ(calls[i], TO_TRACE, 0);
	/* fcntl: F_DUPFD and F_DUPFD_CLOEXEC stop */
	IF_EQ(SYS_fcntl, 0, 3);
	LOAD(offsetof(struct seccomp_data, args[1]));
	IF_EQ(F_DUPFD, TO_TRACE, 0);
	IF_EQ(F_DUPFD_CLOEXEC, TO_TRACE, TO_ALLOW);
	/* setsockopt: each (level, name) of stop_options, compared in turn */
	IF_EQ(SYS_setsockopt, 0, TO_ALLOW);
	for (i = 0; i < sizeof stop_options / sizeof stop_options[0]; i++) {
		LOAD(offsetof(struct seccomp_data, args[1]));
		IF_EQ(stop_options[i][0], 0, 2);
		LOAD(offsetof(struct seccomp_data, args[2]));
		IF_EQ(stop_options[i][1], TO_TRACE, 0);
	}
	unsigned allow = n, trace = n + 1;
	emit(f, &n, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	emit(f, &n, BPF_RET | BPF_K, SECCOMP_RET_TRACE, 0, 0);
	for (i = 0; i + 2 < n; i++) { /* the labels become offsets */
		if (f[i].jt == TO_ALLOW || f[i].jt == TO_TRACE)
			f[i].jt = (unsigned char)((f[i].jt == TO_ALLOW ? allow : trace) - i - 1);
		if (f[i].jf == TO_ALLOW || f[i].jf == TO_TRACE)
			f[i].jf = (unsigned char)((f[i].jf == TO_ALLOW ? allow : trace) - i - 1);
	}
	return n;
}

#define FILTER_MAX 96

static int install_filter(void)
{
	struct sock_filter f[FILTER_MAX];
	unsigned n = build_filter(f);
	struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
	/* With CAP_SYS_ADMIN (root) a filter needs no no_new_privs, and setuid programs the run starts
	 * keep their privileges; without it the kernel asks for no_new_privs, and they lose them
	 * (the tracer says so when one is started). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
		return 0;
	if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

/* The value of KEY (with its colon) in /proc/PID/status, into val; 0 if found. */
static int proc_status(pid_t pid, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	int found = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && found && fgets(line, sizeof line, f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(val, len, "%s", line + strlen(key));
			found = 0;
		}
	if (f)
		fclose(f);
	return found;
}

/* Whether pid runs with no_new_privs (its setuid and file-capability programs gain nothing). */
static int no_new_privs(pid_t pid)
{
	char v[32];
	return !proc_status(pid, "NoNewPrivs:", v, sizeof v) && atoi(v) == 1;
}

/* Whether tid ignores sig (a signal ignored is delivered to a traced process all the same). */
static int ignores(pid_t tid, int sig)
{
	char v[64];
	return !proc_status(tid, "SigIgn:", v, sizeof v) && (strtoull(v, NULL, 16) >> (sig - 1) & 1);
}

/* ---- processes and threads ------------------------------------------------------------- */

struct fdent {
	struct sl_slot *slot;        /* the socket's record, NULL if none */
	int from_parent;             /* open when the process was forked: the parent's record */
	int parent_served;           /* ... a connection the parent accepted: this child serves it */
	int closed_socket;           /* a socket closed here: a later EBADF on it is a use after close */
	int dns;                     /* a connected socket to a DNS server's port 53: its answers are read */
	int dnsq;                    /* ... the question its answer was to (index + 1 in dns.q), 0: none yet */
	uint64_t dns_t0;             /* ... when it was made (its socket call) */
	int look;                    /* its first bytes each way are looked at (a TLS handshake) */
	int look_calls;              /* ... data calls seen so far */
	uint64_t look_t0;            /* ... since when */
	int broken;                  /* a data call on it failed with EPIPE or ECONNRESET (data_done) */
};

struct tproc {
	pid_t pid, ppid;
	int threads;
	int exiting;                 /* its open sockets were read at exit */
	struct sl_log log;           /* hdr NULL: no log (budget, or the creation failed) */
	struct fdent *fds;
	int nfds;
	int pidfd;
	Dwfl *dwfl;
	struct user_regs_struct *regs; /* the registers of the thread being unwound */
	pid_t unwinding;
	int cursor;                  /* where the next sample starts */
	int go;                      /* a Go program: unwound by its frame pointers */
	struct { uint64_t lo, hi; } text[16]; /* its executable mappings */
	int ntext;
	uint64_t exe_lo, exe_hi;     /* ... those of the program file (a Go program's own code) */
	unsigned char *stack;        /* a copy of the stopped thread's stack, STACK_WINDOW bytes */
	uint64_t stack_base;
	size_t stack_len;
	int before_exec;             /* the run's first child, not yet the program: no log yet */
	int traceme_refused;         /* asked to be traced by its parent: it could not be (we are) */
	int filtered;                /* the filter is on it (it stops at socket calls): see execs_only */
	struct sl_rec rec;           /* the recorder, writing log, asking through tracer_probe */
	pid_t at;                    /* the thread whose stop is being handled (stacks are its) */
	struct sl_goproc *gr;        /* a Go program's goroutines (NULL: not read yet, or unreadable) */
	int gr_tried;
	struct gowatch *watch;       /* the goroutines parked at the last sample */
	size_t nwatch;
	uint64_t go_next;            /* when to read them again: a second, or fifty times the CPU time
				      * the last read took (the loop serves no stop meanwhile: at most 2%
				      * of it, on a machine that is not loaded) */
	uint64_t go_prev;            /* when go_sample last looked (0: never) */
	struct {                     /* the last dialing goroutine's asker: a connection's socket,
				      * options and connect are one walk of the goroutines, not three */
		uint64_t goid;
		uint64_t pc[SL_MAX_FRAMES];
		uint32_t n;
	} asker;
	int looking;                 /* connections whose first bytes are looked at (fdent.look) */
	int unseen;                  /* its threads interrupted by step_begin not yet stopped */
	pid_t held;                  /* ... the thread kept stopped until they all have (0: none) */
	uint64_t held_since;
	uint64_t look_checked;       /* when the looks were last checked for their time limit */
#define LOOK_SITES 32
	struct {                     /* per call site, the connections looked at lately */
		uint32_t stack, n;
		uint64_t since;
	} look_site[LOOK_SITES];
#define DNS_SUFFIXES 6
#define DNS_QUESTIONS 16
#define DNS_SAID 8
	struct {                     /* the program's own resolver (Go's): its exchanges in flight */
		int open;            /* DNS sockets open: while any is, every thread stops at each call */
		struct {             /* the names asked by the sockets open (lookups run side by side) */
			char name[SL_ADDR_DATA]; /* "" : a free entry */
			int rcode;   /* the failure answered to its last try (0: none) */
			int answered; /* an answer with addresses came: the lookup found something */
			int replied; /* any answer came (a server is there) */
			int open;    /* its sockets still open */
			uint64_t t0; /* when the first of them was connected */
		} q[DNS_QUESTIONS];
		struct {             /* the failures said lately: the A and AAAA questions of one lookup */
			char name[SL_ADDR_DATA]; /* may each end in an exchange of their own */
			uint64_t ns;
		} said[DNS_SAID];
		int said_next;
		int conf;            /* resolv.conf read: 1, or -1 unreadable */
		int ndots;
		int nsuffix;
		char suffix[DNS_SUFFIXES][128]; /* the search domains, without their final dot */
	} dns;
};

/* A goroutine parked on a socket, followed from sample to sample: its in-flight record says since
 * when (the first sample that saw it; samples are a second apart). */
struct gowatch {
	uint64_t goid, seq, call;    /* (call: the caller's, for a round trip: sl_gowait.call) */
	uint64_t timer;              /* ... and the timerCtx of its deadline (sl_gowait.ctx_timer) */
	int fd, write, seen;
	int round_trip;              /* a net/http readLoop some round trip waits on */
	int unseen;                  /* ... whose bound, if it has one, cannot be seen (Go 1.21+): its
				      * socket's missing-timeout stands only while it still waits */
	int cancel_only;             /* ... whose bound is a context the program cancels, no deadline */
	int bounded;                 /* ... under a deadline or a context's bound (at the last look) */
	struct sl_inflight *f;
	uint64_t first_seen;         /* the sample that first saw the wait (its record's since_cns, when
				      * it began, may be earlier: go_watch) */
};

struct tthread {
	pid_t tid;
	struct tproc *p;
	int in_sys;                  /* between a seccomp stop and its syscall-exit stop */
	int step;                    /* at a call's entry while its process is stepped (dns.open): */
	long step_nr;                /* ... that call and its first arguments */
	unsigned long long step_args[3];
	int started;                 /* its first stop (an auto-attached task's) has been seen */
	int unseen;                  /* interrupted by step_begin, its stop not yet seen */
	int arm;                     /* exec'd a Go or static program unfiltered: filter at the exec's end */
	int later_sig;               /* a signal that came during filter_inject, delivered after it */
	long nr;
	unsigned long long args[6];
	uint64_t t0;
	/* --inject at this call (inject_entry): undone at its syscall-exit stop */
	int inj_rule;                /* the rule applied, or -1 */
	int inj_errno;               /* the call was skipped: it returns this */
	unsigned char inj_saved[sizeof(struct sockaddr_in6)]; /* the program's address, rewritten */
	size_t inj_saved_len;
	unsigned long long inj_len;  /* the program's addrlen, when it was changed (0: not) */
};

static const struct sl_probe tracer_probe;
static struct sl_goproc *go_reader(struct tproc *p);
static struct tproc **procs;
static size_t nprocs;
static struct tthread **threads;
static size_t nthreads;
static const char *run_dir;
static struct sl_log_params params;
static FILE *exits_file;

/* TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT of a socket nobody set them on: the sysctls (of the
 * tracer's network namespace, the program's unless it makes its own), read once. */
static const int64_t *keepalive_default(void)
{
	static int64_t v[3];
	static int read_once;
	static const char *const name[3] = {"tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes"};
	for (int i = 0; !read_once && i < 3; i++) {
		char path[96];
		snprintf(path, sizeof path, "/proc/sys/net/ipv4/%s", name[i]);
		FILE *f = fopen(path, "re");
		long long x = 0;
		if (f && fscanf(f, "%lld", &x) == 1)
			v[i] = x;
		if (f)
			fclose(f);
	}
	read_once = 1;
	return v;
}

static struct tproc *proc_find(pid_t pid)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i]->pid == pid)
			return procs[i];
	return NULL;
}

static struct tthread *thread_find(pid_t tid)
{
	for (size_t i = 0; i < nthreads; i++)
		if (threads[i]->tid == tid)
			return threads[i];
	return NULL;
}

/* A process is recorded here when the preload cannot record it (a Go or static program); a
 * dynamically linked one it runs records itself through the shim, and is only let through. */
static void proc_log(struct tproc *p)
{
	char exe[64], path[4096];
	snprintf(exe, sizeof exe, "/proc/%d/exe", p->pid);
	ssize_t n = readlink(exe, path, sizeof path - 1);
	memset(&p->log, 0, sizeof p->log);
	if (n <= 0)
		return;
	path[n] = 0;
	if (sl_untraceable_kind(path) != SL_UNTRACED_STATIC)
		return;
	params.of_pid = p->pid;
	if (sl_log_create(&p->log, run_dir, &params, p->pid, p->ppid, run_ctl) != 0) {
		memset(&p->log, 0, sizeof p->log);
		sl_run_untraced(run_ctl, SL_UNTRACED_CREATE);
	}
	if (p->log.hdr)
		p->log.hdr->flags |= SL_HDR_STACKS | SL_HDR_PTRACE;
}

/* A process traced for a follow (execs_only) that is no Go or static program yet: no filter, no log. */
static int unfollowed(const struct tproc *p)
{
	return execs_only && !p->filtered && !p->log.hdr;
}

static struct tproc *proc_add(pid_t pid, pid_t ppid, const struct tproc *parent, int before_exec)
{
	struct tproc *p = calloc(1, sizeof *p);
	p->pid = pid;
	p->ppid = ppid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->stack = malloc(32768);
	if (parent && parent->nfds) { /* a fork: the parent's sockets, its records not ours */
		p->nfds = parent->nfds;
		p->fds = calloc((size_t)p->nfds, sizeof *p->fds);
		for (int fd = 0; fd < p->nfds; fd++) {
			const struct fdent *pe = &parent->fds[fd];
			p->fds[fd].from_parent = pe->slot != NULL || pe->from_parent;
			p->fds[fd].parent_served = pe->slot ? pe->slot->role == SL_ROLE_SERVER : pe->parent_served;
		}
	}
	/* (a child of a process followed for the exec it is about to make, posix_spawn's, waits for
	 * its own: see released) */
	p->before_exec = before_exec || (parent && unfollowed(parent) && parent->before_exec);
	p->go = parent && parent->go;
	p->filtered = parent ? parent->filtered : !execs_only; /* (a filter is inherited) */
	/* the recorder sees no data calls here: the kernel's counts stand in */
	p->rec = (struct sl_rec){.log = &p->log, .probe = &tracer_probe, .arg = p, .trace = params.trace, .kernel_counts = 1};
	memcpy(p->rec.keepalive_default, keepalive_default(), sizeof p->rec.keepalive_default);
	p->at = pid;
	if (!before_exec && (!parent || parent->log.hdr)) /* a fork of a program the shim records: its shim too */
		proc_log(p);
	if (p->log.hdr && parent)
		p->log.hdr->flags |= SL_HDR_FORKED;
	procs = realloc(procs, (nprocs + 1) * sizeof *procs);
	procs[nprocs++] = p;
	return p;
}

static struct tthread *thread_add(pid_t tid, struct tproc *p)
{
	struct tthread *t = calloc(1, sizeof *t);
	t->tid = tid;
	t->p = p;
	t->inj_rule = -1;
	p->threads++;
	threads = realloc(threads, (nthreads + 1) * sizeof *threads);
	threads[nthreads++] = t;
	return t;
}

static void step_seen(struct tthread *t);
static void thread_gone(struct tthread *t, int status);
static int holds; /* processes with a held thread (step_begin) */

static void thread_drop(struct tthread *t)
{
	step_seen(t);
	if (t->p->held == t->tid) {
		t->p->held = 0;
		holds--;
	}
	for (size_t i = 0; i < nthreads; i++) {
		if (threads[i] == t) {
			threads[i] = threads[--nthreads];
			break;
		}
	}
	t->p->threads--;
	free(t);
}

/* The thread group of tid, from /proc (a thread we have not met yet). */
static pid_t tgid_of(pid_t tid)
{
	char v[32];
	return proc_status(tid, "Tgid:", v, sizeof v) ? tid : atoi(v);
}

/* The entry of fd if there is one: a stop's first argument is not always an fd (the calls a DNS
 * exchange is stepped through, a call's entry before its number is looked at), so a lookup never
 * grows the table (a stray 1 << 20 once cleared 64 MiB in the middle of a program's connect). */
static struct fdent *fd_ent(struct tproc *p, int fd)
{
	return fd >= 0 && fd < p->nfds ? &p->fds[fd] : NULL;
}

/* The entry of fd, the table grown to hold it: for an fd a call returned or is known to be a socket. */
static struct fdent *fd_new(struct tproc *p, int fd)
{
	if (fd < 0 || fd > (1 << 20))
		return NULL;
	if (fd >= p->nfds) {
		int n = fd + 64;
		p->fds = realloc(p->fds, (size_t)n * sizeof *p->fds);
		memset(p->fds + p->nfds, 0, (size_t)(n - p->nfds) * sizeof *p->fds);
		p->nfds = n;
	}
	return &p->fds[fd];
}

/* ---- reading the program --------------------------------------------------------------- */

static int peek(pid_t pid, unsigned long long addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* A duplicate of the program's fd in this process (pidfd_getfd), or -1: one per stop, kept for all
 * the questions asked about that socket while the stop is handled (a close reads TCP_INFO, the
 * unread bytes and the options), closed before the thread goes on (dup_release; never kept across
 * stops: the program may close and reuse the number meanwhile, and a socket it closed must not
 * outlive its close in here). */
static struct {
	const struct tproc *p;
	int fd, dup;
} held = {NULL, -1, -1};

static void dup_release(void)
{
	if (held.dup >= 0)
		close(held.dup);
	held.p = NULL;
	held.fd = held.dup = -1;
}

static int dup_of(struct tproc *p, int fd)
{
	if (held.p == p && held.fd == fd)
		return held.dup;
	dup_release();
	int d = p->pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, p->pidfd, fd, 0);
	if (d >= 0) {
		held.p = p;
		held.fd = fd;
		held.dup = d;
	}
	return d;
}

/* ---- stacks ------------------------------------------------------------------------------ */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	(void)dwfl;
	struct tproc *p = arg;
	if (!p->unwinding)
		return 0;
	*thread_arg = p;
	pid_t tid = p->unwinding;
	p->unwinding = 0;
	return tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	(void)dwfl;
	(void)tid;
	*thread_arg = arg;
	return true;
}

/* The stopped thread's stack from its stack pointer up, read at once: the unwinder reads it a word
 * at a time, and one system call per word is most of an unwind's cost. */
#define STACK_WINDOW 32768u

static void read_stack(struct tproc *p, uint64_t sp)
{
	struct iovec local[STACK_WINDOW / 4096 + 1], remote[STACK_WINDOW / 4096 + 1];
	size_t n = 0;
	uint64_t at = sp, end = sp + STACK_WINDOW;
	while (at < end) { /* page by page: a read stops at the first page that cannot be read */
		uint64_t next = (at | 4095) + 1;
		if (next > end)
			next = end;
		local[n] = (struct iovec){p->stack + (at - sp), next - at};
		remote[n] = (struct iovec){(void *)(uintptr_t)at, next - at};
		n++;
		at = next;
	}
	ssize_t got = process_vm_readv(p->pid, local, n, remote, n, 0);
	p->stack_base = sp;
	p->stack_len = got > 0 ? (size_t)got : 0;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct tproc *p = arg;
	/* (an offset into the copy, never addr + 8: an address near 2^64 from a stack wraps past it) */
	if (addr >= p->stack_base && p->stack_len >= sizeof *result && addr - p->stack_base <= p->stack_len - sizeof *result) {
		memcpy(result, p->stack + (addr - p->stack_base), sizeof *result);
		return true;
	}
	return peek(p->pid, addr, result, sizeof *result) == 0;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct user_regs_struct *r = ((struct tproc *)arg)->regs;
	/* DWARF's x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then rip */
	Dwarf_Word regs[17] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8, r->r9,
			       r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip};
	return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};


static void dwfl_reset(struct tproc *p)
{
	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->dwfl = NULL;
}

static Dwfl *dwfl_for(struct tproc *p)
{
	if (p->dwfl)
		return p->dwfl;
	p->dwfl = dwfl_begin(sl_dw_proc_callbacks());
	if (!p->dwfl)
		return NULL;
	if (dwfl_linux_proc_report(p->dwfl, p->pid) != 0 || dwfl_report_end(p->dwfl, NULL, NULL) != 0 ||
	    !dwfl_attach_state(p->dwfl, NULL, p->pid, &thread_callbacks, p)) {
		dwfl_reset(p);
		return NULL;
	}
	return p->dwfl;
}

struct frames {
	uint64_t ip[SL_MAX_FRAMES];
	uint32_t n;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct frames *f = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	f->ip[f->n++] = pc;
	return f->n < SL_MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* Records the module of ip once, so the analyzer can symbolize it after the process is gone. */
static void note_module(struct tproc *p, Dwfl *dwfl, uint64_t ip)
{
	if (sl_module_known(&p->log, ip))
		return;
	Dwfl_Module *m = dwfl_addrmodule(dwfl, ip);
	Dwarf_Addr lo, hi, bias = 0;
	const char *name = m ? dwfl_module_info(m, NULL, &lo, &hi, NULL, NULL, NULL, NULL) : NULL;
	if (!name || name[0] != '/')
		return;
	dwfl_module_getelf(m, &bias);
	const unsigned char *bid = NULL;
	GElf_Addr vaddr;
	int bidlen = dwfl_module_build_id(m, &bid, &vaddr);
	sl_module_add(&p->log, name, bias, lo, hi, bid, bidlen > 0 ? (uint32_t)bidlen : 0);
}

/* The executable mappings of p, from /proc/PID/maps (what a return address may point into). */
static void read_text(struct tproc *p)
{
	char path[64], line[4200], exe[4096];
	snprintf(path, sizeof path, "/proc/%d/exe", p->pid);
	ssize_t el = readlink(path, exe, sizeof exe - 1);
	exe[el > 0 ? el : 0] = 0;
	snprintf(path, sizeof path, "/proc/%d/maps", p->pid);
	FILE *f = fopen(path, "re");
	p->ntext = 0;
	p->exe_lo = p->exe_hi = 0;
	while (f && fgets(line, sizeof line, f) && p->ntext < 16) {
		unsigned long long lo, hi;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &at) >= 3 && perms[2] == 'x') {
			p->text[p->ntext].lo = lo;
			p->text[p->ntext].hi = hi;
			p->ntext++;
			line[strcspn(line, "\n")] = 0;
			if (at > 0 && exe[0] && !strcmp(line + at, exe) && !p->exe_lo) {
				p->exe_lo = lo;
				p->exe_hi = hi;
			}
		}
	}
	if (f)
		fclose(f);
}

static int in_text(const struct tproc *p, uint64_t a)
{
	for (int i = 0; i < p->ntext; i++)
		if (a >= p->text[i].lo && a < p->text[i].hi)
			return 1;
	return 0;
}

static int stack_word(struct tproc *p, uint64_t addr, uint64_t *w)
{
	Dwarf_Word v;
	if (!cb_memory_read(NULL, addr, &v, p))
		return 0;
	*w = v;
	return 1;
}

/* Go keeps frame pointers: return address at [bp+8], the caller's bp at [bp]. A system call stops
 * in a frameless assembly function (runtime/internal/syscall.Syscall6), whose return address is at
 * [sp] and whose bp is still its caller's. A libdw unwind through Go's .debug_frame costs tens of
 * microseconds per stop; this costs a few reads of the stack already copied. */
static void go_frames(struct tproc *p, const struct user_regs_struct *r, struct frames *f)
{
	uint64_t ret, bp = r->rbp, next;
	f->ip[f->n++] = r->rip;
	if (stack_word(p, r->rsp, &ret) && in_text(p, ret))
		f->ip[f->n++] = ret;
	while (f->n < SL_MAX_FRAMES && bp && stack_word(p, bp + 8, &ret) && in_text(p, ret)) {
		f->ip[f->n++] = ret;
		if (!stack_word(p, bp, &next) || next <= bp)
			break;
		bp = next;
	}
}

/* The stopped thread's stack, as a stack id of p's log (0 when it cannot be had). */
static uint32_t capture(struct tproc *p, pid_t tid)
{
	struct user_regs_struct regs;
	if (!p->log.hdr || ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0)
		return 0;
	read_stack(p, regs.rsp);
	Dwfl *dwfl = dwfl_for(p);
	struct frames f = {.n = 0};
	if (p->go && !p->ntext)
		read_text(p);
	/* (a Go program's own code is its file's; another module's is C: a cgo call's) */
	int in_c = p->go && p->exe_lo && (regs.rip < p->exe_lo || regs.rip >= p->exe_hi);
	if (p->go && (!in_c || !dwfl)) {
		go_frames(p, &regs, &f);
	} else if (dwfl) {
		p->regs = &regs;
		p->unwinding = tid;
		if (dwfl_getthread_frames(dwfl, tid, frame_cb, &f) != 0 && f.n == 0) {
			/* a module loaded since the report (dlopen, the runtime's own maps): report again */
			dwfl_reset(p);
			if ((dwfl = dwfl_for(p))) {
				p->regs = &regs;
				p->unwinding = tid;
				dwfl_getthread_frames(dwfl, tid, frame_cb, &f);
			}
		}
	}
	if (!f.n) {
		f.ip[0] = regs.rip;
		f.n = 1;
	}
	/* a cgo program in C code (glibc's resolver, a C library's connect): below the C frames, the
	 * goroutine that made the cgo call */
	if (in_c && f.n < SL_MAX_FRAMES && go_reader(p)) {
		uint64_t gpc[SL_MAX_FRAMES], cg = 0;
		uint32_t gn = 0;
		if (sl_go_cgo_caller(p->gr, regs.rsp, gpc, &gn, &cg) == 0) {
			/* glibc's lookup runs in a goroutine of its own: the program's waits for it */
			uint64_t apc[SL_MAX_FRAMES];
			uint32_t an = 0;
			if (sl_go_cgo_resolving(p->gr, gpc, gn) && sl_go_cgo_asker(p->gr, cg, apc, &an) == 0 && an) {
				memcpy(gpc, apc, an * sizeof *apc);
				gn = an;
			}
			for (uint32_t k = 0; k < gn && f.n < SL_MAX_FRAMES; k++)
				f.ip[f.n++] = gpc[k];
		}
	}
	/* net/http's Transport dials in a goroutine of its own: the connection is the program's
	 * request's, whose goroutine waits for it (Go keeps the running goroutine in R14) */
	/* ... and its resolver asks each question in a goroutine of its own: the lookup is the one of
	 * the program's goroutine waiting for the answers */
	int dialing = p->go && go_reader(p) ? sl_go_dialing(p->gr, f.ip, f.n) : 0;
	int resolving = !dialing && p->go && go_reader(p) && sl_go_resolving(p->gr, f.ip, f.n);
	if (dialing || resolving) {
		uint64_t goid = sl_go_id(p->gr, regs.r14);
		/* asked again until found: the asker may not be parked yet at the first stop */
		if (!goid || p->asker.goid != goid || !p->asker.n) {
			p->asker.goid = goid;
			uint64_t who = 0;
			int via;
			if ((dialing ? sl_go_asker(p->gr, dialing, regs.r14, p->asker.pc, &p->asker.n)
				     : sl_go_lookup_asker(p->gr, regs.r14, p->asker.pc, &p->asker.n, &who)) < 0)
				p->asker.n = 0;
			/* a lookup net/http's Transport makes as it dials: the program's request, past it */
			else if (who && (via = sl_go_dialing(p->gr, p->asker.pc, p->asker.n))) {
				uint64_t pc[SL_MAX_FRAMES];
				uint32_t n = 0;
				if (sl_go_asker(p->gr, via, who, pc, &n) == 0 && n) {
					memcpy(p->asker.pc, pc, n * sizeof *pc);
					p->asker.n = n;
				}
			}
		}
		if (p->asker.n) {
			memcpy(f.ip, p->asker.pc, p->asker.n * sizeof *p->asker.pc);
			f.n = p->asker.n;
		}
	}
	for (uint32_t i = 0; dwfl && i < f.n; i++)
		note_module(p, dwfl, f.ip[i]);
	return sl_stack_intern(&p->log, f.ip, f.n, NULL);
}

/* Whether a stack is a net/http dial's own or a resolver question's (its asker not found when it
 * was taken). */
static int raw_ask(struct tproc *p, uint32_t id)
{
	const struct sl_stack *st = id && p->gr ? sl_stack_at(&p->log, id) : NULL;
	uint32_t n = st ? (st->nframes < SL_MAX_FRAMES ? st->nframes : SL_MAX_FRAMES) : 0;
	return st && (sl_go_dialing(p->gr, st->ip, n) || sl_go_resolving(p->gr, st->ip, n));
}

/* A net/http dial, or a resolver's question, whose socket and connect came before the program's
 * goroutine parked to wait for it (a new goroutine can run on another thread at once): its asker
 * is looked for again once the connect completes (a dial) or the socket is closed (a question: its
 * asker waits for the answers until then), so the socket is the program's line's, not the
 * Transport's or the resolver's. */
static void attribute_again(struct tproc *p, struct sl_slot *s, int recapture)
{
	if (!p->go || !p->gr)
		return;
	int open_raw = raw_ask(p, s->open_stack), connect_raw = raw_ask(p, s->connect_stack);
	if (!open_raw && !connect_raw)
		return;
	uint32_t st = !connect_raw && s->connect_stack ? s->connect_stack : recapture ? capture(p, p->at) : 0;
	if (!st || raw_ask(p, st))
		return;
	if (open_raw)
		s->open_stack = st;
	if (connect_raw)
		s->connect_stack = st;
}

/* ---- records ----------------------------------------------------------------------------- */

/* The recorder's questions, answered from outside: the kernel is asked on a duplicate of the
 * program's fd (dup_of). */
static int probe_sockopt(void *arg, int fd, int level, int name, void *val, socklen_t *len)
{
	int mine = dup_of(arg, fd), r = mine >= 0 ? getsockopt(mine, level, name, val, len) : -1;
	return r == 0 ? 0 : -1;
}

static int probe_unread(void *arg, int fd, int *n, unsigned char *head, size_t len)
{
	int mine = dup_of(arg, fd), r = mine >= 0 ? ioctl(mine, SIOCINQ, n) : -1;
	if (r == 0 && head && *n > 0 && recv(mine, head, len, MSG_PEEK | MSG_DONTWAIT) != (ssize_t)len)
		memset(head, 0, len);
	return r == 0 ? 0 : -1;
}

static int probe_name(void *arg, int fd, int peer, struct sockaddr *a, socklen_t *len)
{
	int mine = dup_of(arg, fd), r = -1;
	if (mine >= 0)
		r = peer ? getpeername(mine, a, len) : getsockname(mine, a, len);
	return r == 0 ? 0 : -1;
}

/* The kernel's TIME_WAIT socket for local -> peer, asked of sock_diag by the exact four-tuple (a
 * netlink socket of the tracer's own): 1 there, 0 not, -1 cannot tell (another network namespace
 * than the tracer's, no sock_diag). */
static int diag_fd = -1;
static int probe_timewait(void *arg, const struct sl_addr *local, const struct sl_addr *peer)
{
	struct tproc *p = arg;
	struct sockaddr_storage l, r;
	static struct stat mine; /* the tracer's own network namespace, looked at once */
	static int mine_read;
	struct stat theirs;
	char ns[64];
	snprintf(ns, sizeof ns, "/proc/%d/ns/net", (int)p->pid);
	if (!mine_read)
		mine_read = stat("/proc/self/ns/net", &mine) == 0 ? 1 : -1;
	if (!sl_addr_get(local, &l) || !sl_addr_get(peer, &r) || l.ss_family != r.ss_family ||
	    (l.ss_family != AF_INET && l.ss_family != AF_INET6) || mine_read < 0 || stat(ns, &theirs) != 0 ||
	    mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
		return -1;
	if (diag_fd < 0 && (diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
		return -1;
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} m;
	memset(&m, 0, sizeof m);
	m.nh.nlmsg_len = sizeof m;
	m.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m.nh.nlmsg_flags = NLM_F_REQUEST;
	m.req.sdiag_family = (uint8_t)l.ss_family;
	m.req.sdiag_protocol = IPPROTO_TCP;
	m.req.idiag_states = 1u << TCP_TIME_WAIT_STATE;
	m.req.id.idiag_cookie[0] = m.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (l.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&l, *b = (const struct sockaddr_in *)&r;
		m.req.id.idiag_sport = a->sin_port;
		m.req.id.idiag_dport = b->sin_port;
		memcpy(m.req.id.idiag_src, &a->sin_addr, 4);
		memcpy(m.req.id.idiag_dst, &b->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&l, *b = (const struct sockaddr_in6 *)&r;
		m.req.id.idiag_sport = a->sin6_port;
		m.req.id.idiag_dport = b->sin6_port;
		memcpy(m.req.id.idiag_src, &a->sin6_addr, 16);
		memcpy(m.req.id.idiag_dst, &b->sin6_addr, 16);
	}
	union {
		struct nlmsghdr nh;
		char b[1024];
	} buf;
	if (send(diag_fd, &m, sizeof m, 0) != (ssize_t)sizeof m)
		return -1;
	ssize_t n = recv(diag_fd, &buf, sizeof buf, 0);
	if (n < (ssize_t)sizeof(struct nlmsghdr) || !NLMSG_OK(&buf.nh, (size_t)n))
		return -1;
	if (buf.nh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&buf.nh);
		return e->error == -ENOENT ? 0 : -1;
	}
	if (buf.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY || buf.nh.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -1;
	return ((const struct inet_diag_msg *)NLMSG_DATA(&buf.nh))->idiag_state == TCP_TIME_WAIT_STATE;
}

static uint32_t probe_stack(void *arg)
{
	struct tproc *p = arg;
	return capture(p, p->at);
}

static uint32_t probe_tid(void *arg)
{
	return (uint32_t)((struct tproc *)arg)->at;
}

/* (asked only of a close that found the connection reset just after a small last send) */
static int probe_tls_closing(void *arg)
{
	struct tproc *p = arg;
	if (!p->go || !go_reader(p))
		return 0;
	const struct sl_stack *st = sl_stack_at(&p->log, capture(p, p->at));
	return st && sl_go_tls_closing(p->gr, st->ip, st->nframes < SL_MAX_FRAMES ? st->nframes : SL_MAX_FRAMES);
}

static const struct sl_probe tracer_probe = {probe_sockopt, probe_unread, probe_name, probe_stack, probe_tid, NULL,
					     probe_timewait, probe_tls_closing};

/* A socket made by a call we saw (socket, socketpair, accept). */
static struct sl_slot *new_slot(struct tproc *p, int fd, int family, int type, int protocol, int role, uint32_t flags,
				uint16_t call)
{
	struct fdent *e = fd_new(p, fd);
	if (!p->log.hdr || !e)
		return NULL;
	struct sl_slot *s = sl_rec_open(&p->rec, fd, family, type, protocol, role, flags);
	if (!s)
		return NULL;
	sl_rec_opened(&p->rec, s, fd, call, 1);
	e->slot = s;
	e->from_parent = 0;
	e->parent_served = 0;
	e->closed_socket = 0;
	e->broken = 0;
	return s;
}

/* The record of fd: ours, or made now for a socket we meet first here (inherited, from the parent). */
static struct sl_slot *slot_for(struct tproc *p, int fd)
{
	struct fdent *e = fd_ent(p, fd);
	if (!p->log.hdr)
		return NULL;
	if (e && e->slot)
		return e->slot;
	struct sl_ident id;
	if (sl_rec_identify(&p->rec, fd, &id) < 0 || !(e = fd_new(p, fd))) /* (a socket: the table may grow) */
		return NULL;
	struct sl_slot *s = new_slot(p, fd, id.family, id.type, id.protocol,
				     id.listening ? SL_ROLE_LISTENER : e->parent_served ? SL_ROLE_SERVER : SL_ROLE_INHERITED,
				     e->from_parent ? SL_SF_FROM_PARENT : 0, SL_CALL_NONE);
	if (s)
		sl_rec_found(&p->rec, s, fd);
	return s;
}

/* The record of fd if we have one (no first look at a socket we never met). */
static struct sl_slot *slot_known(struct tproc *p, int fd)
{
	struct fdent *e = fd_ent(p, fd);
	return e && p->log.hdr ? e->slot : NULL;
}

static int poke(pid_t pid, unsigned long long addr, const void *buf, size_t len);
static void comm_of(void *arg, char *out);

/* ---- the program's own resolver ------------------------------------------------------------ */

/* Go resolves names itself: per query a UDP socket (TCP for a long answer) connected to a DNS
 * server's port 53, written and read with plain read and write calls, which the filter lets run.
 * While such a socket is open, every thread of the process is resumed with PTRACE_SYSCALL, so its
 * reads stop at their end and the answer's header is read: the answer code and the name asked,
 * nothing else, and nothing is kept but those. A lookup costs a few milliseconds of stops; a
 * process that resolves nothing pays nothing. A lookup failed when the last name it tries (Go
 * tries the search list's names first or last, by resolv.conf's ndots) was answered NXDOMAIN,
 * SERVFAIL or REFUSED, and no answer of those exchanges had addresses. */

static void dns_conf(struct tproc *p)
{
	char path[64], line[1024];
	p->dns.conf = -1;
	p->dns.ndots = 1;
	p->dns.nsuffix = 0;
	snprintf(path, sizeof path, "/proc/%d/root/etc/resolv.conf", (int)p->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	p->dns.conf = 1;
	while (fgets(line, sizeof line, f)) {
		char *save, *tok = strtok_r(line, " \t\r\n", &save);
		if (tok && (!strcmp(tok, "search") || !strcmp(tok, "domain"))) {
			p->dns.nsuffix = 0; /* the last such line wins, as in Go */
			while ((tok = strtok_r(NULL, " \t\r\n", &save)) && p->dns.nsuffix < DNS_SUFFIXES) {
				size_t n = strlen(tok);
				while (n && tok[n - 1] == '.')
					tok[--n] = 0;
				if (n && n < sizeof p->dns.suffix[0])
					memcpy(p->dns.suffix[p->dns.nsuffix++], tok, n + 1);
			}
		} else if (tok && !strcmp(tok, "options")) {
			while ((tok = strtok_r(NULL, " \t\r\n", &save)))
				if (!strncmp(tok, "ndots:", 6)) {
					int v = atoi(tok + 6);
					p->dns.ndots = v < 0 ? 0 : v > 15 ? 15 : v; /* Go's bounds */
				}
		}
	}
	fclose(f);
}

static int dots(const char *s, size_t n)
{
	int d = 0;
	for (size_t i = 0; i < n; i++)
		d += s[i] == '.';
	return d;
}

/* Whether name is the last one its lookup tries (Go's nameList: the name alone first when it has
 * ndots dots or more, then with each search domain, else the name alone last). */
static int dns_last_try(struct tproc *p, const char *name)
{
	if (!p->dns.conf)
		dns_conf(p);
	size_t n = strlen(name);
	for (int i = 0; i < p->dns.nsuffix; i++) {
		size_t sl = strlen(p->dns.suffix[i]);
		if (n > sl + 1 && name[n - sl - 1] == '.' && !strcasecmp(name + n - sl, p->dns.suffix[i]))
			return i == p->dns.nsuffix - 1 && dots(name, n - sl - 1) >= p->dns.ndots;
	}
	return !p->dns.nsuffix || dots(name, n) < p->dns.ndots;
}

/* An answer's header (a query's, with query): its code, how many addresses, and the name asked
 * (the question's labels, dotted). Returns -1 for what is not a DNS answer (query). */
static int dns_header(const unsigned char *b, size_t n, int query, int *rcode, int *answers, char *name, size_t cap)
{
	if (n < 12 || (!(b[2] & 0x80)) != query || !(b[4] << 8 | b[5]))
		return -1;
	*rcode = b[3] & 0x0f;
	*answers = b[6] << 8 | b[7];
	size_t at = 12, out = 0;
	while (at < n && b[at] && b[at] < 64 && at + 1 + b[at] <= n) {
		for (unsigned i = 0; i < b[at] && out + 2 < cap; i++) {
			unsigned char c = b[at + 1 + i];
			name[out++] = c > 32 && c < 127 ? (char)c : '?';
		}
		if (out + 1 < cap)
			name[out++] = '.';
		at += 1u + b[at];
	}
	if (out && name[out - 1] == '.')
		out--;
	name[out] = 0;
	return 0;
}

/* --inject nxdomain or servfail for Go's own resolver: the server's answer, just read into the
 * program's buffer, turned into that code with no records (its header rewritten there), as a
 * server that failed would have answered. Each answer (A, AAAA) is a matching call. */
static void dns_inject(struct tproc *p, int fd, unsigned long long buf, unsigned char *b, const char *name, int *rcode,
		       int *answers)
{
	struct sl_inject_table *tab = sl_inject_table_of(run_ctl);
	struct sl_inject_who who = {comm_of, p, &p->rec};
	int i = tab ? sl_inject_pick(tab, 1u << SL_FAULT_NXDOMAIN | 1u << SL_FAULT_SERVFAIL, NULL, 0, name, 0, &who) : -1;
	if (i < 0)
		return;
	unsigned char h[12];
	memcpy(h, b, sizeof h);
	*rcode = tab->rule[i].fault == SL_FAULT_NXDOMAIN ? 3 : 2;
	*answers = 0;
	h[3] = (unsigned char)((h[3] & 0xf0) | *rcode);
	memset(h + 6, 0, 6); /* no answer, authority or additional records */
	if (poke(p->pid, buf, h, sizeof h) < 0) {
		sl_inject_undo(tab, i);
		return;
	}
	memcpy(b, h, sizeof h);
	sl_rec_injected(&p->rec, tab, i, SL_CALL_RESOLVE, fd, NULL, *rcode == 3 ? EAI_NONAME : EAI_AGAIN, NULL, 0, name);
}

/* A sendmsg's or recvmsg's (sendmmsg's first message's) first buffer: *buf the msghdr's address
 * in, the buffer's out, with its length; -1 when it cannot be read. */
static int msg_first_buffer(struct tproc *p, unsigned long long *buf, size_t *len)
{
	struct msghdr m;
	struct iovec v;
	if (peek(p->pid, *buf, &m, sizeof m) != 0 || !m.msg_iovlen || peek(p->pid, (unsigned long long)m.msg_iov, &v, sizeof v) != 0)
		return -1;
	*buf = (unsigned long long)v.iov_base;
	*len = v.iov_len;
	return 0;
}

/* The DNS message a stepped call moved (ret bytes): a query sent (write, sendto, sendmsg, sendmmsg's
 * first) or an answer read (read, recvfrom, recvmsg), its first buffer's address in *at, up to cap
 * bytes of it read into b and its header parsed (dns_header); how many bytes, or -1 when the call
 * is not that or its message not a DNS one. */
static int dns_message(struct tproc *p, const struct tthread *t, long ret, int query, unsigned char *b, size_t cap,
		       unsigned long long *at, int *rcode, int *answers, char *name, size_t namecap)
{
	long nr = t->step_nr;
	int vec = nr == SYS_sendmsg || nr == SYS_sendmmsg || nr == SYS_recvmsg;
	int sends = nr == SYS_write || nr == SYS_sendto || nr == SYS_sendmsg || nr == SYS_sendmmsg;
	size_t len;
	*at = t->step_args[1];
	if (sends != query || (!vec && !sends && nr != SYS_read && nr != SYS_recvfrom))
		return -1;
	if (vec && msg_first_buffer(p, at, &len) < 0)
		return -1;
	if (vec && (query || (long)len < ret))
		ret = (long)len; /* (sendmmsg returns a count of messages) */
	size_t n = (size_t)ret < cap ? (size_t)ret : cap;
	if (peek(p->pid, *at, b, n) != 0 || dns_header(b, n, query, rcode, answers, name, namecap) < 0)
		return -1;
	return (int)n;
}

/* The question the socket's query or answer is about: the socket's, or the name's (made now, its
 * time the socket's); -1 when more names are in flight than are followed (this one is not said). */
static int dns_question(struct tproc *p, struct fdent *e, const char *name)
{
	int k = e->dnsq - 1;
	if (k >= 0 && !strcmp(p->dns.q[k].name, name))
		return k;
	if (k >= 0) { /* a socket asking its next name (a search list's): it leaves the last one */
		if (--p->dns.q[k].open <= 0)
			p->dns.q[k].name[0] = 0;
		e->dnsq = 0;
	}
	int free_k = -1;
	for (k = 0; k < DNS_QUESTIONS && strcmp(p->dns.q[k].name, name); k++)
		if (free_k < 0 && !p->dns.q[k].name[0])
			free_k = k;
	if (k == DNS_QUESTIONS && (k = free_k) < 0)
		return -1;
	if (!p->dns.q[k].name[0]) {
		memset(&p->dns.q[k], 0, sizeof p->dns.q[k]);
		snprintf(p->dns.q[k].name, sizeof p->dns.q[k].name, "%s", name);
		p->dns.q[k].t0 = e->dns_t0;
	}
	if (!e->dnsq) {
		e->dnsq = k + 1;
		p->dns.q[k].open++;
		if (e->dns_t0 < p->dns.q[k].t0)
			p->dns.q[k].t0 = e->dns_t0;
	}
	return k;
}

/* A query sent on a DNS socket, while the process is stepped: the question is followed from now,
 * so one no server answers is said when its sockets close (dns_closed). */
static void dns_sent(struct tproc *p, struct tthread *t, long ret)
{
	struct fdent *e = fd_ent(p, (int)t->step_args[0]);
	unsigned long long buf;
	if ((ret <= 12 && t->step_nr != SYS_sendmmsg) || ret <= 0 || !e || !e->dns || !e->slot ||
	    e->slot->type != SOCK_DGRAM) /* (over TCP a query has its length first: its answer tells) */
		return;
	unsigned char b[512];
	char name[SL_ADDR_DATA];
	int rcode, answers;
	if (dns_message(p, t, ret, 1, b, sizeof b, &buf, &rcode, &answers, name, sizeof name) > 0 && name[0])
		dns_question(p, e, name);
}

/* A read on a DNS socket ended, while the process is stepped: what the server answered. */
static void dns_read(struct tproc *p, struct tthread *t, long ret)
{
	int fd = (int)t->step_args[0];
	struct fdent *e = fd_ent(p, fd);
	unsigned long long buf;
	if (ret <= 2 || !e || !e->dns) /* TCP: the 2-byte length is read on its own */
		return;
	unsigned char b[512];
	char name[SL_ADDR_DATA];
	int rcode, answers;
	if (dns_message(p, t, ret, 0, b, sizeof b, &buf, &rcode, &answers, name, sizeof name) < 0)
		return;
	dns_inject(p, fd, buf, b, name, &rcode, &answers);
	int fails = (rcode == 2 || rcode == 3 || rcode == 5) && dns_last_try(p, name);
	int k = dns_question(p, e, name);
	if (k < 0)
		return;
	p->dns.q[k].replied = 1;
	if (rcode && !fails)
		return;
	if (!rcode)
		p->dns.q[k].answered |= answers > 0;
	else if (!p->dns.q[k].rcode)
		p->dns.q[k].rcode = rcode;
}

static int stepping(const struct tproc *p)
{
	return p->dns.open > 0 || (p->looking > 0 && !trace_data);
}

/* The process is about to be stepped (nothing was): glibc's calls come on the thread that is
 * stopped now, but Go's may on any thread, so a Go process's other threads are interrupted, to be
 * resumed stepping. An interrupt can end a blocking epoll_wait with EINTR (as attaching strace
 * does), which Go's runtime retries; other programs' threads are never interrupted.
 * The stopped thread (its connect's or accept's stop) is held until every other thread has
 * stopped: the goroutine that will write the query or the first bytes is still in that call, so
 * none of its writes can come before the stepping does (the runtime hands a goroutine whose call
 * was long to whichever thread is free, one that may not have met its interrupt yet). A thread
 * that does not stop within HOLD_MAX_NS (a disk wait) lets it go: the program is never kept. */
#define HOLD_MAX_NS 100000000ull

static void step_begin(struct tproc *p)
{
	for (size_t i = 0; p->go && i < nthreads; i++) {
		struct tthread *t = threads[i];
		if (t->p == p && t->tid != p->at && ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) == 0 && !t->unseen) {
			t->unseen = 1;
			p->unseen++;
		}
	}
	if (p->unseen && !p->held) {
		p->held = p->at;
		p->held_since = sl_now();
		holds++;
	}
}

static void resume(struct tthread *t, int sig);

/* The held thread goes on (its process's threads have all stopped, or it waited too long). */
static void step_release(struct tproc *p)
{
	pid_t tid = p->held;
	if (!tid)
		return;
	p->held = 0;
	holds--;
	struct tthread *t = thread_find(tid);
	if (t)
		resume(t, 0);
}

/* A thread's stop, or its end: one fewer to wait for. */
static void step_seen(struct tthread *t)
{
	if (!t->unseen)
		return;
	t->unseen = 0;
	if (--t->p->unseen <= 0) {
		t->p->unseen = 0;
		step_release(t->p);
	}
}

/* Holds past HOLD_MAX_NS end (the loop's idle turns). */
static void step_expire(void)
{
	uint64_t now = sl_now();
	for (size_t i = 0; holds && i < nprocs; i++)
		if (procs[i]->held && now - procs[i]->held_since >= HOLD_MAX_NS)
			step_release(procs[i]);
}

/* A socket connected to a DNS server's port 53: the process is stepped until its DNS sockets are
 * all closed. */
static int dns_watch(struct tproc *p, int fd, const struct sl_slot *s)
{
	struct fdent *e = fd_ent(p, fd);
	if (trace_data || sl_addr_port(&s->peer) != 53 || !e || e->dns)
		return sl_addr_port(&s->peer) == 53;
	int was = stepping(p);
	e->dns = 1;
	e->dnsq = 0;
	e->dns_t0 = s->open_ns ? s->open_ns : sl_now();
	if (!p->dns.open++ && !was)
		step_begin(p);
	return 1;
}

/* ---- the first bytes of a connection: a TLS handshake and its failures ---------------------- */

/* Without --trace-data the program's reads and writes run without a stop, so a TLS handshake's
 * records (the hello, an alert, an encrypted alert in the client's second flight) and an EOF
 * right after the hello are not seen. They are looked at on a sample: the first LOOK_PER_SITE
 * connections of each call site (connect, accept) in every LOOK_PERIOD, while the process is
 * stepped (as for a DNS lookup), until the first bytes each way were classified or LOOK_CALLS data
 * calls went by. Only the record headers and an alert's two bytes are read (recorder/data.c
 * keeps the verdict, no payload). A handshake failure at a call site repeats, so a sample finds
 * it; a process that makes a connection a minute per site pays for no more than a few calls each.
 * With --trace-data every connection is looked at (its data calls stop anyway). */
#define LOOK_PER_SITE 4u
#define LOOK_PERIOD 10000000000ull
#define LOOK_CALLS 12
#define LOOK_MAX_NS 2000000000ull /* an idle connection is not looked at longer (the process is stepped) */

static void look_begin(struct tproc *p, int fd, struct sl_slot *s, uint32_t stack)
{
	struct fdent *e = fd_ent(p, fd);
	if (!e || e->look || e->dns || !sl_rec_is_tcp(s))
		return;
	if (!trace_data) {
		uint64_t now = sl_now();
		unsigned k = 0, oldest = 0;
		for (; k < LOOK_SITES && p->look_site[k].n && p->look_site[k].stack != stack; k++)
			if (p->look_site[k].since < p->look_site[oldest].since)
				oldest = k;
		if (k == LOOK_SITES) /* a busy table: the site seen least lately gives way */
			k = oldest, p->look_site[k].n = 0;
		if (!p->look_site[k].n || now - p->look_site[k].since >= LOOK_PERIOD) {
			p->look_site[k].stack = stack;
			p->look_site[k].n = 0;
			p->look_site[k].since = now;
		}
		if (p->look_site[k].n >= LOOK_PER_SITE)
			return;
		p->look_site[k].n++;
	}
	int was = stepping(p);
	e->look = 1;
	e->look_calls = 0;
	e->look_t0 = sl_now();
	p->looking++;
	sl_slot_flag(s, SL_SF_FIRST_IN | SL_SF_FIRST_OUT);
	if (!was && stepping(p))
		step_begin(p);
}

static void look_end(struct tproc *p, struct fdent *e)
{
	e->look = 0;
	p->looking--;
	if (e->slot)
		__atomic_fetch_and(&e->slot->flags, ~(uint32_t)(SL_SF_FIRST_IN | SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
}

/* Looks older than LOOK_MAX_NS end (checked at stepped calls, every 100 ms at most): a connection
 * that stays silent must not keep its process stepped. */
static void look_expire(struct tproc *p)
{
	uint64_t now = sl_now();
	if (!p->looking || now - p->look_checked < 100000000ull)
		return;
	p->look_checked = now;
	for (int fd = 0; fd < p->nfds && p->looking; fd++)
		if (p->fds[fd].look && now - p->fds[fd].look_t0 >= LOOK_MAX_NS)
			look_end(p, &p->fds[fd]);
}

/* The first bytes a data call moved (nr, buf: its call and buffer; ret: what it returned), into b
 * (16 bytes); how many, 0 if none or a vector call, -1 if they could not be read. */
static long look_peek(struct tproc *p, long nr, unsigned long long buf, long ret, unsigned char *b)
{
	if (ret <= 0 || (nr != SYS_read && nr != SYS_recvfrom && nr != SYS_write && nr != SYS_sendto))
		return 0;
	size_t n = (size_t)ret < 16 ? (size_t)ret : 16;
	return peek(p->pid, buf, b, n) == 0 ? (long)n : -1;
}

/* A data call on a looked-at socket ended (nr, fd and buf its arguments): its first bytes, fed
 * to the recorder unless data_done did (--trace-data). */
static void look_at(struct tproc *p, long nr, int fd, unsigned long long buf, long ret, int feed)
{
	struct fdent *e = fd_ent(p, fd);
	if (!e || !e->look || !e->slot || ret < 0)
		return;
	int in = nr == SYS_read || nr == SYS_recvfrom || nr == SYS_readv || nr == SYS_recvmsg;
	unsigned char b[16];
	long n = look_peek(p, nr, buf, ret, b);
	if (feed && (n > 0 || (in && ret == 0))) {
		sl_rec_first_look(&p->rec, e->slot, in, b, n);
	} else if (ret > 0 && n == 0) { /* a vector call: not looked into; that direction is done */
		__atomic_fetch_and(&e->slot->flags, ~(uint32_t)(in ? SL_SF_FIRST_IN : SL_SF_FIRST_OUT), __ATOMIC_RELAXED);
	}
	uint32_t left = __atomic_load_n(&e->slot->flags, __ATOMIC_RELAXED) & (SL_SF_FIRST_IN | SL_SF_FIRST_OUT);
	/* (only data calls count: Go sets and reads its options on the socket before a byte moves) */
	int data = in || nr == SYS_write || nr == SYS_sendto || nr == SYS_writev || nr == SYS_sendmsg;
	if (!left || (data && ++e->look_calls >= LOOK_CALLS) || (ret == 0 && in))
		look_end(p, e);
}

/* A DNS socket closed: when it was the last of its question's, that lookup is over, and said if it
 * failed (once for the A and AAAA questions of one name). */
/* A question no server answered is said when its sockets lived about as long as a resolver's
 * shortest timeout (resolv.conf's timeout: is a second at least, in Go as in glibc), not when the
 * program's own shorter deadline ended it. Go starts that timeout before it makes the socket, and
 * the socket's close comes at the timer's wake-up: the socket lives a little less than the timeout
 * when the machine is quiet, so the bound is a tenth short of it. */
#define DNS_GAVE_UP_NS 900000000ull

static void dns_closed(struct tproc *p, struct fdent *e)
{
	e->dns = 0;
	p->dns.open--;
	int k = e->dnsq - 1;
	e->dnsq = 0;
	if (k < 0 || --p->dns.q[k].open > 0)
		return;
	uint64_t now = sl_now();
	const char *name = p->dns.q[k].name;
	int said = 0, says = 0;
	for (int i = 0; i < DNS_SAID; i++)
		said |= !strcmp(p->dns.said[i].name, name) && now - p->dns.said[i].ns <= 1000000000ull;
	if (p->dns.q[k].rcode && !p->dns.q[k].answered && p->log.hdr && !said) {
		int rcode = p->dns.q[k].rcode;
		sl_rec_dns(&p->rec, SL_CALL_RESOLVE, name, rcode == 3 ? EAI_NONAME : rcode == 2 ? EAI_AGAIN : EAI_FAIL,
			   now - p->dns.q[k].t0);
		says = 1;
	} else if (!p->dns.q[k].replied && p->log.hdr && !said && now - p->dns.q[k].t0 >= DNS_GAVE_UP_NS &&
		   dns_last_try(p, name)) {
		/* asked, and no server answered before the resolver gave up on it */
		sl_rec_dns_unanswered(&p->rec, name, now - p->dns.q[k].t0);
		says = 1;
	}
	if (says) {
		int s = p->dns.said_next++ % DNS_SAID;
		memcpy(p->dns.said[s].name, name, sizeof p->dns.said[s].name);
		p->dns.said[s].ns = now;
	}
	p->dns.q[k].name[0] = 0;
}

/* Why the peer's last reply may hide an unanswered request: the kernel's last-send and
 * last-receive times move in 4 ms steps, so a keep-alive request sent right after the previous
 * reply cannot be ordered after it by them. A goroutine a sample saw waiting to read the
 * connection, nothing received since (a step's margin), and the peer still silent when the wait
 * ends (the program closes the connection, or its read gives up at a deadline), orders them: a
 * net/http round trip waits for the response to a request it sent; any other read, when the last
 * send was in the last reply's step (a request written at once after reading the reply; a send
 * earlier than the reply was answered by it). SL_SF_RT_UNANSWERED; 1 when it is set so. */
static int wait_ended(struct tproc *p, struct sl_slot *s, int fd, const struct gowatch *g, int closing)
{
	const uint64_t step = 10000000ull, since = g->first_seen;
	/* the exchange as the last sample saw it: before any goodbye */
	uint64_t out_before = s->last_out_cns, in_before = s->last_in_cns, bytes_before = s->bytes_out,
		 got_before = s->bytes_in;
	sl_rec_kernel_view(&p->rec, s, fd, closing); /* (at a close, the one look of sl_rec_close) */
	int open = !(s->flags & SL_SF_EOF) && s->tcp_state == TCP_ESTABLISHED_STATE;
	/* A program giving up may say goodbye as it closes (Go's TLS sends close_notify, 31 bytes at
	 * most, not another request): what the peer sent after it (its own close_notify, its FIN within
	 * 100 ms, a late empty response it left unread) answered that, and the exchange to judge is the
	 * one before, as the last sample saw it. More than 31 bytes come since that sample and read by
	 * the program are the answer, come just before the close (in the same millisecond, often). */
	uint64_t fresh = s->bytes_in > got_before ? s->bytes_in - got_before : 0;
	uint64_t taken = fresh - (s->unread_at_close < fresh ? s->unread_at_close : fresh);
	int bye = closing && s->last_out_cns > since + step && s->bytes_out >= bytes_before &&
		  s->bytes_out - bytes_before <= 31 && taken <= 31 /* (not an answer the program read) */ &&
		  (s->last_in_cns <= in_before + step || s->last_in_cns + step >= s->last_out_cns) &&
		  (open || ((s->flags & SL_SF_EOF) && s->tcp_state == TCP_CLOSE_WAIT_STATE &&
			    s->eof_cns >= s->last_out_cns && s->eof_cns - s->last_out_cns < 100000000ull));
	uint64_t in = bye ? in_before : s->last_in_cns, sent = bye ? out_before : s->last_out_cns;
	/* silent since the wait began: a round trip's request, or a send in the last reply's step */
	if ((open || bye) && s->bytes_out && in + step < since && (g->round_trip || sent >= in)) {
		s->flags |= SL_SF_RT_UNANSWERED;
		if (closing && g->cancel_only)
			s->flags2 |= SL_SF2_CANCELLED; /* the program's own logic ended it */
		if (bye) {
			s->last_in_cns = in;
			s->last_out_cns = sent > in && sent < since ? sent : in + 1;
		}
		return 1;
	} else if (g->unseen) {
		s->flags &= ~(SL_SF_PARKED_READ | SL_SF_BLOCKING_READ); /* answered, or the peer ended it */
	}
	return 0;
}

/* A round trip's wait a sample found over, the peer silent and the connection left open: a gRPC or
 * HTTP/2 call whose deadline ran out (or the program cancelled). Its connection carries on, and its
 * record's times move with whatever goes next (the call's cancel first, RST_STREAM), so the wait is
 * an event of its own: from its start to its end (its deadline, when that ran out and can be read;
 * else the cancel's send, if one went out after the sample that still saw the wait; else this
 * sample), at the caller's line. */
static void wait_unanswered_open(struct tproc *p, const struct sl_slot *s, int fd, const struct gowatch *g,
				 uint64_t prev, uint64_t now, int ran_out)
{
	uint64_t since = g->f->since_cns, dl;
	uint64_t end = s->last_out_cns > prev && s->last_out_cns <= now ? s->last_out_cns : now;
	/* one whose deadline ran out ended at it (the traffic since may be later calls') */
	if (ran_out && sl_go_ctx_deadline(p->gr, g->timer, &dl) == 0 && dl > since && dl <= now)
		end = dl;
	struct sl_event *ev = sl_rec_event(&p->rec, SL_EV_SLOW, SL_CALL_READ, fd, s, (uint32_t)(g->f->site & 0xffffffffu), 0);
	if (!ev)
		return; /* the table is full: counted */
	ev->tid = g->f->owner;
	ev->ts_ns = since;
	ev->dur_ns = end > since ? end - since : 0;
	ev->a = (g->bounded ? SL_SLOW_BOUNDED : 0) | (g->cancel_only ? SL_SLOW_CANCEL_ONLY : 0);
	ev->b = SL_SLOW_UNANSWERED;
	sl_ev_commit(p->rec.log, ev);
}

/* ... at the program's close of a client's connection a goroutine was seen reading: 1 if so (the
 * closing kernel view was taken) */
static int wait_unanswered(struct tproc *p, struct sl_slot *s, int fd)
{
	for (size_t k = 0; k < p->nwatch; k++)
		if (p->watch[k].fd == fd && !p->watch[k].write && p->watch[k].f) {
			sl_rec_gave_up(&p->rec, s, fd);
			wait_ended(p, s, fd, &p->watch[k], 1);
			return 1;
		}
	return 0;
}

static void close_slot(struct tproc *p, int fd, int by_exec)
{
	struct fdent *e = fd_ent(p, fd);
	if (e && e->slot && !by_exec && sl_addr_port(&e->slot->peer) == 53)
		attribute_again(p, e->slot, 1); /* a resolver's question: its asker waits by now */
	if (e && e->dns)
		dns_closed(p, e);
	if (e && e->look)
		look_end(p, e);
	if (!e || !e->slot)
		return;
	struct sl_slot *s = e->slot;
	e->slot = NULL;
	e->closed_socket = 1;
	if (--s->refs == 0) {
		int viewed = !by_exec && p->nwatch && s->role == SL_ROLE_CLIENT && wait_unanswered(p, s, fd);
		if (!by_exec)
			sl_rec_options_now(&p->rec, s, fd, OPTS_CLOSE); /* as they ended */
		sl_rec_close(&p->rec, s, fd, by_exec ? SL_CLOSE_EXEC : viewed ? SL_CLOSE_VIEWED : SL_CLOSE_CALL);
	}
}

/* What a call pointed at in the program's memory, up to len bytes (0: nothing read). */
static size_t peek_arg(struct tproc *p, unsigned long long addr, unsigned long long len, void *buf, size_t cap)
{
	size_t n = len < cap ? (size_t)len : cap;
	return n && peek(p->pid, addr, buf, n) == 0 ? n : 0;
}

/* A data call seen to its end (--trace-data): failures with their call site, EOF, the last moves
 * each way; the bytes come from the kernel (kernel.c). */
/* A data call on a socket ended (nr, with its first arguments, begun at t0). */
static void data_done(struct tproc *p, long nr, const unsigned long long *args, uint64_t t0, struct sl_slot *s,
		      long ret, int err)
{
	int in = nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom || nr == SYS_recvmsg;
	if (err == EINTR)
		return;
	struct sl_data_call c = {
		.ret = err ? -1 : ret, .err = err, .want = err || in ? 1 : (size_t)ret, .now = sl_now(), .in = (uint8_t)in,
		.call = in ? (nr == SYS_read || nr == SYS_readv ? SL_CALL_READ : SL_CALL_RECV)
			   : (nr == SYS_write || nr == SYS_writev ? SL_CALL_WRITE : SL_CALL_SEND),
	};
	c.dt = c.now - t0;
	/* a connection's first bytes each way (a TLS handshake), while they are looked at */
	unsigned char b[16];
	struct fdent *e = fd_ent(p, (int)args[0]);
	/* once a call met the peer's close or reset, a TLS library's goodbye (close_notify, 31 bytes
	 * at most) written by the program's Close fails with EPIPE: the same broken connection, not a
	 * second failure at the Close's line */
	if ((err == EPIPE || err == ECONNRESET) && e) {
		if (e->broken && err == EPIPE && (nr == SYS_write || nr == SYS_sendto) && args[2] <= 31)
			return;
		e->broken = 1;
	}
	if (e && e->look && look_peek(p, nr, args[1], c.ret, b) > 0)
		c.first_buf = b; /* (recorder/data.c reads at most the 13 bytes it asks for) */
	sl_rec_data(&p->rec, s, (int)args[0], &c);
}

/* SIGPIPE, at its delivery to a thread of the program: in the default mode the data calls run
 * without a stop, but a write that fails with EPIPE raises SIGPIPE (Go's runtime takes it for a
 * socket), and its delivery stops the thread as it returns from that call, whose number, fd and
 * result the registers still hold. The failed write is recorded as --trace-data would have (its
 * time unknown: none), at the program's line. A SIGPIPE sent by someone, or one delivered later
 * than the call (blocked a while), does not hold EPIPE in a write's result and is left alone. */
static void pipe_broken(struct tthread *t)
{
	struct user_regs_struct r;
	struct sl_slot *s;
	if (trace_data || ptrace(PTRACE_GETREGS, t->tid, NULL, &r) != 0 || (long long)r.rax != -EPIPE)
		return;
	long nr = (long)r.orig_rax;
	if (nr != SYS_write && nr != SYS_writev && nr != SYS_sendto && nr != SYS_sendmsg)
		return;
	if (!t->p->log.hdr || !(s = slot_known(t->p, (int)r.rdi)))
		return;
	/* a TLS alert record of 31 bytes at most (close_notify, type 21, or 23 encrypted in TLS 1.3):
	 * the TLS library's goodbye at the program's Close, after a failure this mode did not see (a
	 * write that met the reset: ECONNRESET raises no signal); the reset is the kernel's to tell */
	unsigned char h[3];
	if (nr == SYS_write && r.rdx <= 31 && peek(t->p->pid, r.rsi, h, sizeof h) == 0 && (h[0] == 21 || h[0] == 23) &&
	    h[1] == 3)
		return;
	const unsigned long long args[3] = {r.rdi, r.rsi, r.rdx};
	data_done(t->p, nr, args, sl_now(), s, -EPIPE, EPIPE);
}

/* The end of a traced call, at its syscall-exit stop (close and exec at their entry). */
static void call_done(struct tthread *t, long ret)
{
	struct tproc *p = t->p;
	struct sl_rec *r = &p->rec;
	int fd = (int)t->args[0], err = ret < 0 && ret > -4096 ? (int)-ret : 0;
	struct sockaddr_storage a;
	size_t alen;
	struct sl_slot *s;
	if (!p->log.hdr)
		return;
	switch (t->nr) {
	case SYS_socket:
		if (!err)
			new_slot(p, (int)ret, (int)t->args[0], (int)t->args[1], (int)t->args[2], SL_ROLE_NONE,
				 sl_rec_type_flags((int)t->args[1]), SL_CALL_SOCKET);
		else if (err == EMFILE || err == ENFILE)
			sl_rec_create_failed(r, SL_CALL_SOCKET, -1, NULL, err);
		break;
	case SYS_socketpair: {
		int sv[2];
		if (!err && peek(p->pid, t->args[3], sv, sizeof sv) == 0)
			for (int i = 0; i < 2; i++)
				new_slot(p, sv[i], (int)t->args[0], (int)t->args[1], (int)t->args[2], SL_ROLE_PAIR,
					 sl_rec_type_flags((int)t->args[1]), SL_CALL_SOCKETPAIR);
		break;
	}
	case SYS_connect:
		if (err == EBADF || err == ENOTSOCK || err == EFAULT || !(s = slot_for(p, fd)))
			break;
		alen = peek_arg(p, t->args[1], t->args[2], &a, sizeof a);
		if (alen >= sizeof(sa_family_t) || err == EISCONN || err == EALREADY || err == EINTR)
			sl_rec_connect(r, s, fd, alen ? (struct sockaddr *)&a : NULL, (socklen_t)alen, t->t0, err ? -1 : 0, err);
		attribute_again(p, s, 0); /* the socket's stack, when the connect's found the asker */
		if ((!err || err == EINPROGRESS) && !dns_watch(p, fd, s))
			look_begin(p, fd, s, s->connect_stack);
		break;
	case SYS_getpeername: /* (stops only under --inject with the relay) */
		if (!err && (s = slot_known(p, fd)) && (s->flags & SL_SF_INJECTED) && (alen = sl_addr_get(&s->peer, &a))) {
			socklen_t have, full = (socklen_t)alen;
			if (peek(p->pid, t->args[2], &have, sizeof have) == 0) {
				poke(p->pid, t->args[1], &a, full < have ? full : have);
				poke(p->pid, t->args[2], &full, sizeof full);
			}
		}
		break;
	case SYS_getsockopt: {
		int v;
		if (!err && t->args[1] == SOL_SOCKET && t->args[2] == SO_ERROR && (s = slot_known(p, fd)) &&
		    peek(p->pid, t->args[3], &v, sizeof v) == 0) {
			attribute_again(p, s, 1);
			sl_rec_so_error(r, s, fd, v);
		}
		break;
	}
	case SYS_accept:
	case SYS_accept4: {
		struct sl_slot *ls = slot_for(p, fd);
		if (err) {
			if (ls && (err == EMFILE || err == ENFILE))
				sl_rec_failed(r, ls, fd, SL_CALL_ACCEPT, 0, err, 0, 0);
			break;
		}
		if (!ls)
			break;
		int flags = t->nr == SYS_accept4 ? (int)t->args[3] : 0;
		s = new_slot(p, (int)ret, ls->family, ls->type, ls->protocol, SL_ROLE_SERVER, sl_rec_type_flags(flags),
			     SL_CALL_ACCEPT);
		sl_rec_accepted(r, ls, fd, s, (int)ret, NULL, 0);
		if (s)
			look_begin(p, (int)ret, s, s->open_stack);
		break;
	}
	case SYS_bind:
		if ((s = slot_for(p, fd))) {
			alen = peek_arg(p, t->args[1], t->args[2], &a, sizeof a);
			sl_rec_options_now(r, s, fd, OPTS_BIND); /* a failed bind says whether SO_REUSEADDR was */
			sl_rec_bind(r, s, fd, alen ? (struct sockaddr *)&a : NULL, (socklen_t)alen, err ? -1 : 0, err);
		}
		break;
	case SYS_listen:
		if ((s = slot_for(p, fd))) {
			sl_rec_options_now(r, s, fd, OPTS_READ); /* what the connections it accepts start with */
			sl_rec_listen(r, s, fd, (int)t->args[1], err ? -1 : 0, err);
		}
		break;
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg:
		if ((s = slot_known(p, fd)))
			data_done(p, t->nr, t->args, t->t0, s, ret, err);
		look_at(p, t->nr, fd, t->args[1], err ? -1 : ret, 0);
		break;
	case SYS_close:
		if (err == EBADF && fd_ent(p, fd) && p->fds[fd].closed_socket) {
			sl_rec_stale(r, fd, NULL, EBADF, SL_CALL_CLOSE);
			p->fds[fd].closed_socket = 0;
		}
		break;
	case SYS_dup:
	case SYS_dup2:
	case SYS_dup3:
	case SYS_fcntl: {
		struct fdent *from = fd_ent(p, fd);
		int to = (int)ret;
		if (err || to == fd || !from || !fd_new(p, to))
			break;
		close_slot(p, to, 0); /* dup2 onto an open socket closes it */
		if ((s = p->fds[fd].slot)) {
			s->refs++;
			p->fds[to].slot = s;
		} else {
			p->fds[to].from_parent = p->fds[fd].from_parent;
			p->fds[to].parent_served = p->fds[fd].parent_served;
		}
		break;
	}
	}
}

/* At a call's entry: what must be read before the kernel acts (a socket about to be closed), and
 * the calls recorded from their arguments alone (options, shutdown: they do not fail on a socket
 * that is open), which then need no second stop. Returns whether the call's end must be seen. */
/* A process asks its parent to trace it (a debugger's launcher): a task has one tracer, and it is
 * socklens, so the call fails with EPERM as it would under strace -f. Said when it happens and in
 * the report; the stop such a child then sends itself (its side of the handshake, which its parent
 * cannot see) is not kept, so neither of them waits forever. */
static void traceme(struct tproc *p)
{
	if (p->traceme_refused++)
		return;
	fprintf(stderr, "socklens: warning: process %d asked to be traced by its parent (PTRACE_TRACEME), but "
		"socklens's tracer already traces it: the request fails (run with SOCKLENS_NO_PTRACE=1 to let "
		"it be traced)\n", (int)p->pid);
	if (run_ctl)
		__atomic_fetch_add(&run_ctl->traceme_refused, 1, __ATOMIC_RELAXED);
}

static int call_begins(struct tthread *t)
{
	struct tproc *p = t->p;
	int fd = (int)t->args[0];
	struct fdent *e = fd_ent(p, fd);
	struct sl_slot *s;
	t->t0 = sl_now();
	switch (t->nr) {
	case SYS_setsockopt: /* (only the options of stop_options stop) */
		if ((s = slot_for(p, fd))) {
			unsigned char val[16];
			size_t len = peek_arg(p, t->args[3], t->args[4], val, sizeof val);
			sl_rec_setsockopt(&p->rec, s, fd, (int)t->args[1], (int)t->args[2], len ? val : NULL,
					  (socklen_t)len, 0, 0);
		}
		return 0;
	case SYS_shutdown:
		if ((s = slot_for(p, fd))) {
			sl_rec_gave_up(&p->rec, s, fd);
			/* the peer's FIN already in (CLOSE_WAIT): the program's is the second, and its
			 * socket ends in TCP_CLOSE with no TIME_WAIT of its own (kernel.c) */
			struct tcp_info ti;
			socklen_t tl = sizeof ti;
			if (t->args[1] != SHUT_RD && sl_rec_is_tcp(s) &&
			    probe_sockopt(p, fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_state == TCP_CLOSE_WAIT_STATE)
				sl_slot_flag(s, SL_SF_FIN_FIRST);
			sl_rec_shutdown(s, (int)t->args[1]);
		}
		return 0;
	case SYS_getsockopt: /* only SO_ERROR ending a connect matters */
		return t->args[1] == SOL_SOCKET && t->args[2] == SO_ERROR && e && e->slot &&
		       e->slot->connect_state == SL_CONN_PENDING;
	case SYS_execve:
	case SYS_execveat:
	case SYS_exit_group:
		return 0;
	case SYS_ptrace:
		if (t->args[0] == PTRACE_TRACEME)
			traceme(p);
		return 0;
	case SYS_io_uring_setup: /* what is submitted to the ring is not seen: the report says so */
		if (p->log.hdr)
			p->log.hdr->flags |= SL_HDR_IO_URING;
		return 0;
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg: case SYS_recvmsg:
		return e && e->slot; /* a file's read goes on at once */
	case SYS_close:
		if (e && e->slot) {
			close_slot(p, fd, 0);
			return 0;
		}
		return e && e->closed_socket; /* closing a socket again: EBADF says use after close */
	case SYS_close_range:
		for (long long k = (long long)t->args[0]; k < p->nfds && k <= (long long)(unsigned)t->args[1]; k++)
			if (p->fds[k].slot && !(t->args[2] & 4 /* CLOSE_RANGE_CLOEXEC */))
				close_slot(p, (int)k, 0);
		return 0;
	}
	return 1;
}

/* ---- goroutines ------------------------------------------------------------------------ */

/* Why a Go program's goroutines cannot be read, for the report (header lang_why). */
static void go_unread(struct tproc *p, const char *why)
{
	int minor;
	p->log.hdr->flags |= SL_HDR_GO_UNREAD;
	p->log.hdr->lang_why = strstr(why, "memory") ? SL_WHY_GO_MEMORY
			       : sscanf(why, "built with go1.%d", &minor) == 1 ? SL_WHY_GO_RELEASE | (uint32_t)(minor & 0xff)
									: SL_WHY_GO_OTHER;
}

/* The reader of a Go program's goroutines, opened on first use (NULL: not readable, said once). */
static struct sl_goproc *go_reader(struct tproc *p)
{
	char why[256];
	if (p->gr_tried || !p->log.hdr)
		return p->gr;
	p->gr_tried = 1;
	if (!(p->gr = sl_go_open(p->pid, why, sizeof why)))
		go_unread(p, why);
	else
		p->log.hdr->flags |= SL_HDR_GOROUTINES;
	return p->gr;
}

/* What a parked goroutine's wait means for its socket's record: a read with no deadline is a read
 * that can hang (the netpoller makes it a blocking read for the program), a read under a deadline
 * is bounded, a parked write has a peer that is not reading. */
static void go_slot_facts(struct sl_slot *s, const struct sl_gowait *w, uint32_t stack, uint64_t waited)
{
	if (w->write) {
		s->flags |= SL_SF_PARKED_WRITE;
		if (waited > s->write_max_cns)
			s->write_max_cns = waited;
		return;
	}
	if (s->role == SL_ROLE_LISTENER)
		return; /* waiting for clients is a server's job */
	if (w->deadline || w->ctx_bounded) {
		s->flags |= SL_SF_DEADLINE_READ;
		return;
	}
	/* a round trip that may have a bound we cannot see is said to have none only once it has
	 * waited a second (two samples: a healthy server has answered long before); so is a gRPC
	 * call, whose connection's traffic says nothing of it (a healthy call caught in flight by a
	 * sample was a warning in one run of three) */
	if ((w->bound_unseen || w->grpc_call) && waited < 1000000000ull)
		return;
	s->flags |= SL_SF_PARKED_READ | SL_SF_BLOCKING_READ;
	if (!s->read_site)
		s->read_site = SL_SITE_STACK | stack;
	if (waited > s->read_max_cns)
		s->read_max_cns = waited;
}

/* The stack of the goroutine that waits: the program's own, for a net/http client's read (the
 * round trip waiting for the response), else the parked goroutine's. */
static uint32_t go_stack(struct tproc *p, const struct sl_gowait *w)
{
	const uint64_t *pc = w->caller_goid ? w->caller_pc : w->pc;
	uint32_t n = w->caller_goid ? w->caller_npc : w->npc;
	Dwfl *dwfl = dwfl_for(p);
	for (uint32_t i = 0; dwfl && i < n; i++)
		note_module(p, dwfl, pc[i]);
	return sl_stack_intern(&p->log, pc, n, NULL);
}

/* A new parked goroutine: an in-flight record of its own (owner: its id), as a thread's. */
static void go_watch(struct tproc *p, const struct sl_gowait *w, struct sl_slot *s, uint64_t now)
{
	uint64_t who = w->caller_goid ? w->caller_goid : w->goid;
	struct sl_inflight *f = sl_inflight_claim(&p->log, (uint32_t)who ? (uint32_t)who : 1);
	uint32_t stack = go_stack(p, w);
	/* the wait began after the previous look, which did not see it, most likely as the socket's
	 * last data went or came (a read follows its request): its first sighting is not its start
	 * (waits were a second short) */
	uint64_t last = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
	uint64_t after = p->go_prev ? p->go_prev : s->open_ns; /* (the first look: since the socket opened) */
	uint64_t since = last > after && last < now ? last : now;
	go_slot_facts(s, w, stack, now - since);
	if (!f)
		return; /* the table is full: counted */
	f->goroutine = 1;
	f->fd = w->fd;
	f->conn_id = s->conn_id;
	f->since_cns = since;
	f->site = SL_SITE_STACK | stack;
	__atomic_store_n(&f->call,
			 w->write ? (s->connect_state == SL_CONN_PENDING ? SL_CALL_CONNECT : SL_CALL_WRITE)
				  : (s->role == SL_ROLE_LISTENER ? SL_CALL_ACCEPT : SL_CALL_READ),
			 __ATOMIC_RELEASE);
	p->watch = realloc(p->watch, (p->nwatch + 1) * sizeof *p->watch);
	p->watch[p->nwatch++] = (struct gowatch){w->goid, w->seq, w->call, w->ctx_timer, w->fd, w->write, 1, w->caller_goid != 0,
						 w->bound_unseen, w->cancel_only, w->deadline || w->ctx_bounded, f, now};
}

/* The goroutines of a Go program parked on its sockets now: each gets an in-flight record while it
 * stays parked (so live reports, `socklens stuck` and the final report see it, with how long),
 * and its socket's record keeps what its waits showed after they end. */
static void go_sample(struct tproc *p)
{
	char why[256];
	if (!p->go || !p->log.hdr || !go_reader(p))
		return;
	struct sl_gowait *w;
	size_t n;
	if (sl_go_waits(p->gr, &w, &n, why, sizeof why) < 0)
		return;
	uint64_t now = sl_now(), prev = p->go_prev;
	for (size_t k = 0; k < p->nwatch; k++)
		p->watch[k].seen = 0;
	/* idle in a pool is what this look says, not an earlier one (a connection taken from the pool
	 * since, whose body the program never read, is not parked on its socket) */
	for (int fd = 0; fd < p->nfds; fd++)
		if (p->fds[fd].slot)
			p->fds[fd].slot->flags2 &= ~SL_SF2_POOL_IDLE;
	for (size_t i = 0; i < n; i++) {
		/* (a pool's wait is only looked up: it names no call to record) */
		struct sl_slot *s = w[i].pool ? slot_known(p, w[i].fd) : slot_for(p, w[i].fd);
		size_t k = 0;
		if (s && w[i].idle_reader && s->role == SL_ROLE_CLIENT)
			s->flags2 |= SL_SF2_POOL_IDLE;
		if (!s || w[i].pool)
			continue; /* (net/http's idle pooled connections wait for the server's close: not a call) */
		while (k < p->nwatch && (p->watch[k].goid != w[i].goid || p->watch[k].fd != w[i].fd ||
					 p->watch[k].write != w[i].write || p->watch[k].seq != w[i].seq ||
					 p->watch[k].call != w[i].call))
			k++;
		if (k == p->nwatch) {
			go_watch(p, &w[i], s, now);
			continue;
		}
		p->watch[k].seen = 1;
		p->watch[k].unseen = w[i].bound_unseen;
		p->watch[k].cancel_only = w[i].cancel_only;
		p->watch[k].bounded = w[i].deadline || w[i].ctx_bounded;
		if (w[i].ctx_timer)
			p->watch[k].timer = w[i].ctx_timer;
		/* a reader of a stream (a body, server-sent events) reads again and again with nothing
		 * to tell its waits apart: data come since the wait was first seen start a new one */
		if (p->watch[k].f && !w[i].write && s->last_in_cns > p->watch[k].f->since_cns && s->last_in_cns < now)
			p->watch[k].f->since_cns = p->watch[k].first_seen = s->last_in_cns;
		if (p->watch[k].f && now > p->watch[k].f->since_cns)
			go_slot_facts(s, &w[i], (uint32_t)(p->watch[k].f->site & 0xffffffffu), now - p->watch[k].f->since_cns);
	}
	free(w);
	p->go_prev = now;
	/* those no longer parked: their calls are over */
	for (size_t k = 0; k < p->nwatch;) {
		if (p->watch[k].seen) {
			k++;
			continue;
		}
		if (p->watch[k].f && !p->watch[k].write) {
			/* a client's read that ended with the connection open: answered, or given up */
			const struct gowatch *g = &p->watch[k];
			struct sl_slot *s = slot_known(p, g->fd);
			if (s && s->conn_id == g->f->conn_id && s->role == SL_ROLE_CLIENT) {
				/* silent since, or (a round trip) its deadline ran out while it waited: what
				 * came in since, then, was the peer's late word, or the next call's traffic */
				int silent = wait_ended(p, s, g->fd, g, 0);
				int ran_out = g->timer && sl_go_deadline_passed(p->gr, g->timer) == 1;
				if (g->round_trip && !(s->flags & SL_SF_EOF) && s->tcp_state == TCP_ESTABLISHED_STATE &&
				    (silent || ran_out))
					wait_unanswered_open(p, s, g->fd, g, prev, now, ran_out);
			}
		}
		if (p->watch[k].f)
			sl_inflight_release(p->watch[k].f);
		p->watch[k] = p->watch[--p->nwatch];
	}
}

/* Every open socket of p read once more (at its exit), or up to max of them from where the last
 * sample stopped (a sample tick: a server with ten thousand connections is read a slice a second). */
static void view_some(struct tproc *p, int max)
{
	for (int k = 0; k < p->nfds && max > 0; k++) {
		int fd = (p->cursor + k) % p->nfds;
		if (p->fds[fd].slot && p->fds[fd].slot->fd == fd) {
			sl_rec_kernel_view(&p->rec, p->fds[fd].slot, fd, 0);
			sl_rec_options_now(&p->rec, p->fds[fd].slot, fd, OPTS_READ);
			if (--max == 0)
				p->cursor = fd + 1;
		}
	}
}

static void view_all(struct tproc *p)
{
	p->cursor = 0;
	view_some(p, p->nfds);
}

static void image_ends(struct tproc *p, uint32_t reason, int status)
{
	if (!p->log.hdr)
		return;
	p->log.hdr->exit_status = status;
	p->log.hdr->end_mono_ns = sl_now();
	__atomic_store_n(&p->log.hdr->end_reason, reason, __ATOMIC_RELEASE);
}

/* A setuid or file-capability program started under the filter's no_new_privs runs without its
 * privileges (passwd answers for the caller, ping's raw socket is refused): said when it happens,
 * and counted for the report. */
static void privileges_lost(struct tproc *p)
{
	char exe[64], path[4096];
	snprintf(exe, sizeof exe, "/proc/%d/exe", p->pid);
	ssize_t n = readlink(exe, path, sizeof path - 1);
	if (n <= 0)
		return;
	path[n] = 0;
	if (sl_untraceable_kind(path) != SL_UNTRACED_SETUID || !no_new_privs(p->pid))
		return;
	fprintf(stderr, "socklens: warning: %s (setuid or with file capabilities) runs without its privileges: "
		"socklens's tracer needs no_new_privs when it is not run as root\n", sl_esc(path));
	if (run_ctl)
		__atomic_fetch_add(&run_ctl->privileges_lost, 1, __ATOMIC_RELAXED);
}

/* Whether pid may install a seccomp filter without no_new_privs (CAP_SYS_ADMIN, bit 21). */
static int may_filter(pid_t pid)
{
	char v[32];
	return !proc_status(pid, "CapEff:", v, sizeof v) && (strtoull(v, NULL, 16) >> 21 & 1);
}

/* The address of a `syscall` instruction (0f 05) in pid's vDSO, 0 if none is found. */
static unsigned long long vdso_syscall(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	unsigned long long lo = 0, hi = 0, at = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			break;
	if (f)
		fclose(f);
	static unsigned char b[16384];
	size_t n = hi > lo && hi - lo <= sizeof b ? (size_t)(hi - lo) : 0;
	if (!n || peek(pid, lo, b, n) != 0)
		return 0;
	for (size_t i = 0; i + 1 < n && !at; i++)
		if (b[i] == 0x0f && b[i + 1] == 0x05)
			at = lo + i;
	return at;
}

/* One system call made by the stopped thread t (stopped at a syscall-exit stop, registers r0), from
 * the instruction at `at`: its result; -ESRCH when the thread is gone (then t is freed). A signal
 * that comes meanwhile is kept in t->later_sig (one; any other stays pending in the kernel). */
static long inject_call(struct tthread *t, const struct user_regs_struct *r0, unsigned long long at, long nr,
			unsigned long long a0, unsigned long long a1, unsigned long long a2)
{
	struct user_regs_struct r = *r0;
	r.rip = at;
	r.rax = (unsigned long long)nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	pid_t tid = t->tid;
	if (ptrace(PTRACE_SETREGS, tid, NULL, &r) != 0)
		return -EIO;
	for (int stops = 0; stops < 2;) { /* the call's entry, then its exit */
		int st;
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) != 0)
			return -EIO;
		while (waitpid(tid, &st, __WALL) < 0)
			if (errno != EINTR)
				return -EIO;
		if (!WIFSTOPPED(st)) {
			thread_gone(t, st);
			return -ESRCH;
		}
		if (WSTOPSIG(st) == (SIGTRAP | 0x80))
			stops++;
		else if ((st >> 16) == 0 && !t->later_sig)
			t->later_sig = WSTOPSIG(st); /* a signal for the program, delivered after this */
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &r) != 0)
		return -EIO;
	return (long)r.rax;
}

/* A process followed without the filter (execs_only) exec'd a Go or static program: at the end of
 * that exec, before the program's first instruction, the thread is made to install the filter
 * itself (only it can): its registers are pointed at a `syscall` instruction of its vDSO with
 * prctl(PR_SET_NO_NEW_PRIVS) when it needs it (as the run's first Go program would), then
 * seccomp(SECCOMP_SET_MODE_FILTER) with the filter written just below its stack pointer (unused
 * stack at a program's start), and then everything is put back as the exec left it. Nothing is
 * left in the program but the filter. When it cannot be done, the program runs untraced and the
 * report says so, as for an exec nobody follows. Returns 0 when t is gone. */
static int filter_inject(struct tthread *t)
{
	struct tproc *p = t->p;
	struct __ptrace_syscall_info si;
	struct user_regs_struct r0;
	struct sock_filter f[FILTER_MAX];
	unsigned n = build_filter(f);
	struct sock_fprog prog;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof si, &si) <= 0 || si.op != PTRACE_SYSCALL_INFO_EXIT ||
	    ptrace(PTRACE_GETREGS, t->tid, NULL, &r0) != 0)
		goto fail;
	unsigned long long at = vdso_syscall(p->pid), mem = (r0.rsp - 2048) & ~15ull;
	prog.len = (unsigned short)n;
	prog.filter = (struct sock_filter *)(uintptr_t)(mem + 16);
	if (!at || poke(p->pid, mem, &prog, sizeof prog) != 0 || poke(p->pid, mem + 16, f, n * sizeof *f) != 0)
		goto fail;
	long rc = 0;
	if (!may_filter(p->pid) && !no_new_privs(p->pid))
		rc = inject_call(t, &r0, at, SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0);
	if (rc == -ESRCH)
		return 0;
	if (rc == 0)
		rc = inject_call(t, &r0, at, SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, mem);
	if (rc == -ESRCH)
		return 0;
	static const unsigned char zero[16 + FILTER_MAX * sizeof(struct sock_filter)];
	poke(p->pid, mem, zero, 16 + n * sizeof *f);
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r0) != 0 || rc != 0)
		goto fail;
	p->filtered = 1;
	return 1;
fail:
	fprintf(stderr, "socklens: warning: cannot follow %s (pid %d): its sockets are not seen\n",
		p->log.hdr ? sl_esc(p->log.hdr->exe) : "a program", (int)p->pid);
	if (run_ctl)
		sl_run_not_followed(run_ctl, p->pid, SL_UNTRACED_STATIC);
	return 1;
}

/* exec: the sockets the kernel closes go with the old image, a new log starts for the new one. */
static void exec_done(struct tproc *p)
{
	for (int fd = 0; fd < p->nfds; fd++) {
		struct sl_slot *s = p->fds[fd].slot;
		if (s && (s->flags & SL_SF_CLOEXEC))
			close_slot(p, fd, 1);
		else if (s) { /* passed on: the new image meets it as inherited */
			p->fds[fd].slot = NULL;
			p->fds[fd].from_parent = 0;
			p->fds[fd].parent_served = 0;
		}
	}
	if (!p->before_exec)
		image_ends(p, SL_END_EXEC, 0);
	sl_go_close(p->gr); /* the goroutines were the old image's */
	p->gr = NULL;
	p->gr_tried = 0;
	free(p->watch);
	p->watch = NULL;
	p->nwatch = 0;
	p->before_exec = 0;
	dwfl_reset(p);
	p->ntext = 0;
	proc_log(p);
	p->go = p->log.hdr && sl_elf_is_go(p->log.hdr->exe);
	if (p->log.hdr)
		p->log.hdr->flags |= SL_HDR_INHERITED;
}

/* The program file of a process about to exit, kept beside its log as p<pid>.<seq>.exe (a hard
 * link: no copy, no fd in the program) when the log has addresses to symbolize: `go test` and
 * `go run` delete the binary they built once it has run, before the report reads it. Nothing is
 * kept when the link cannot be made (another filesystem, a file the user does not own under
 * protected_hardlinks): such files are not the temporary builds this is for. */
static void keep_exe(struct tproc *p)
{
	const struct sl_log_header *h = p->log.hdr;
	if (!h || !run_dir || (!h->slot_next && !h->event_next))
		return;
	char from[64], to[4096];
	snprintf(from, sizeof from, "/proc/%d/exe", (int)p->pid);
	if (snprintf(to, sizeof to, "%s/p%d.%u.exe", run_dir, (int)p->pid, h->seq) < (int)sizeof to)
		if (linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) != 0)
			return; /* another filesystem, or gone: the report shows addresses, as before */
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Signals to pass on, one bit each: several may come between two turns of the loop. */
static uint64_t pending_signals;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	/* only what our parent (socklens run) forwards: a terminal's signals reach the program directly */
	if ((si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL) && sig > 0 && sig <= 64)
		__atomic_fetch_or(&pending_signals, 1ull << (sig - 1), __ATOMIC_RELAXED);
}

static void pass_on_signals(pid_t pid)
{
	uint64_t bits = __atomic_exchange_n(&pending_signals, 0, __ATOMIC_RELAXED);
	for (int sig = 1; bits; sig++, bits >>= 1)
		if (bits & 1)
			kill(pid, sig);
}

static void resume(struct tthread *t, int sig)
{
	if (t && t->p->held == t->tid)
		return; /* step_release resumes it */
	dup_release();
	ptrace(t && (t->in_sys || t->arm || stepping(t->p)) ? PTRACE_SYSCALL : PTRACE_CONT, t ? t->tid : 0, NULL,
	       (void *)(long)sig);
}

/* A process of the run ended: a line for socklens run (pid, wait status, when). */
static void exit_note(pid_t pid, int status)
{
	if (exits_file && (WIFEXITED(status) || WIFSIGNALED(status))) {
		fprintf(exits_file, "%d %d %llu\n", (int)pid, status, (unsigned long long)sl_now());
		fflush(exits_file);
	}
}

static void thread_gone(struct tthread *t, int status)
{
	struct tproc *p = t->p;
	int last = p->threads == 1;
	thread_drop(t);
	if (!last)
		return;
	if (!p->exiting)
		image_ends(p, WIFEXITED(status) ? SL_END_EXIT : SL_END_NONE, WIFEXITED(status) ? WEXITSTATUS(status) : 0);
	exit_note(p->pid, status);
}

/* ---- --inject (recorder/inject.c matches; here a rule is applied at the call's stops) -------- */

static int poke(pid_t pid, unsigned long long addr, const void *buf, size_t len)
{
	struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return addr && process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static void comm_of(void *arg, char *out)
{
	const struct tproc *p = arg;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", p->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, SL_COMM_MAX - 1) : -1;
	if (fd >= 0)
		close(fd);
	out[n > 0 ? n - (out[n - 1] == '\n') : 0] = 0;
}

/* The call is not made: it fails with err at its exit stop. */
static int skip_call(struct tthread *t, struct user_regs_struct *r, int err)
{
	r->orig_rax = (unsigned long long)-1;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, r) != 0)
		return -1;
	t->inj_errno = err;
	return 0;
}

/* A connect, socket or accept a rule picks, at its seccomp stop: skipped (an errno), or its
 * address rewritten in the program's memory to socklens run's port, for the call alone. */
static void inject_entry(struct tthread *t, struct user_regs_struct *r)
{
	struct tproc *p = t->p;
	struct sl_inject_table *tab = sl_inject_table_of(run_ctl);
	struct sl_inject_who who = {comm_of, p, &p->rec};
	t->inj_rule = -1;
	t->inj_errno = 0;
	t->inj_len = 0;
	if (!tab || !p->log.hdr)
		return;
	int fd = (int)t->args[0], i;
	if (t->nr == SYS_socket || t->nr == SYS_accept || t->nr == SYS_accept4) {
		int dom = (int)t->args[0];
		if (t->nr == SYS_socket && dom != AF_INET && dom != AF_INET6)
			return;
		if (t->nr != SYS_socket && !slot_for(p, fd))
			return;
		i = sl_inject_pick(tab, 1u << SL_FAULT_EMFILE | 1u << SL_FAULT_ENFILE, NULL, 0, NULL,
				   t->nr == SYS_socket ? SL_FCALL_SOCKET : SL_FCALL_ACCEPT, &who);
		int err = i < 0 ? 0 : tab->rule[i].fault == SL_FAULT_EMFILE ? EMFILE : ENFILE;
		if (i >= 0 && skip_call(t, r, err) == 0) {
			t->inj_rule = i;
			sl_rec_injected(&p->rec, tab, i, t->nr == SYS_socket ? SL_CALL_SOCKET : SL_CALL_ACCEPT, -1, NULL, err,
					NULL, 0, NULL);
		}
		return;
	}
	struct sl_slot *s = slot_for(p, fd);
	struct sockaddr_storage a, to;
	size_t alen = peek_arg(p, t->args[1], t->args[2], &a, sizeof a);
	if (!s || s->type != SOCK_STREAM || (s->family != AF_INET && s->family != AF_INET6) ||
	    s->connect_state != SL_CONN_NONE || alen < sizeof(struct sockaddr_in))
		return; /* (a connect retried after EINTR is the same one) */
	i = sl_inject_pick(tab, 1u << SL_FAULT_REFUSE | 1u << SL_FAULT_BLACKHOLE | 1u << SL_FAULT_UNREACHABLE |
				    1u << SL_FAULT_RELAY, (struct sockaddr *)&a, (socklen_t)alen, NULL, 0, &who);
	if (i < 0)
		return;
	const struct sl_inject_rule *rule = &tab->rule[i];
	if (rule->fault == SL_FAULT_UNREACHABLE) {
		int err = rule->p[SL_FP_ERRNO] ? (int)rule->p[SL_FP_ERRNO] : ENETUNREACH;
		if (skip_call(t, r, err) < 0) {
			sl_inject_undo(tab, i);
			return;
		}
		t->inj_rule = i;
		sl_slot_flag(s, SL_SF_INJECTED);
		sl_rec_injected(&p->rec, tab, i, SL_CALL_CONNECT, fd, s, err, (struct sockaddr *)&a, (socklen_t)alen, NULL);
		return;
	}
	int wire6, d;
	socklen_t tolen = sl_inject_target(tab, rule, (struct sockaddr *)&a, &to, &wire6);
	if (tolen && rule->fault == SL_FAULT_RELAY) {
		/* through a duplicate of the socket (held by the tracer, never by the program) */
		uint16_t lport = (d = dup_of(p, fd)) >= 0 ? sl_inject_local_port(d, &to, tolen) : 0;
		if (!lport || sl_inject_relay_note(tab, run_ctl, run_ctl->file_size, i, wire6, lport, (struct sockaddr *)&a,
						   p->pid, s->conn_id) < 0)
			tolen = 0;
	}
	size_t n = alen < sizeof t->inj_saved ? alen : sizeof t->inj_saved;
	if (!tolen || tolen > alen || peek(p->pid, t->args[1], t->inj_saved, n) < 0 ||
	    poke(p->pid, t->args[1], &to, tolen) < 0) {
		sl_inject_undo(tab, i);
		return;
	}
	t->inj_saved_len = n;
	if (tolen != t->args[2]) {
		t->inj_len = t->args[2];
		r->rdx = tolen;
		ptrace(PTRACE_SETREGS, t->tid, NULL, r);
	}
	t->inj_rule = i;
	sl_slot_flag(s, SL_SF_INJECTED);
	sl_rec_injected(&p->rec, tab, i, SL_CALL_CONNECT, fd, s, 0, (struct sockaddr *)&a, (socklen_t)alen, NULL);
}

/* The call's exit stop: the program's address back in its memory, a skipped call's errno. */
static void inject_exit(struct tthread *t, struct user_regs_struct *r)
{
	if (t->inj_rule < 0)
		return;
	if (t->inj_saved_len)
		poke(t->p->pid, t->args[1], t->inj_saved, t->inj_saved_len);
	if (t->inj_len || t->inj_errno) {
		if (t->inj_len)
			r->rdx = t->inj_len;
		if (t->inj_errno)
			r->rax = (unsigned long long)-(long long)t->inj_errno;
		ptrace(PTRACE_SETREGS, t->tid, NULL, r);
	}
	t->inj_rule = -1;
	t->inj_saved_len = 0;
	t->inj_len = 0;
	t->inj_errno = 0;
}

/* A task followed for nothing (execs_only): neither a Go or static program (no filter, no log)
 * nor about to exec one: a followed process whose exec failed (sl__unfollow), or a child it forked
 * meanwhile. It is let go at its next stop, so the program it goes on running is not traced. */
static int released(const struct tthread *t)
{
	const struct tproc *p = t->p;
	/* (not a task seen before its parent's event, ppid 0 until then: it may be a spawned child) */
	return unfollowed(p) && !p->before_exec && !t->arm && p->ppid;
}

static void on_stop(pid_t tid, int status)
{
	struct tthread *t = thread_find(tid);
	if (!t) { /* a new thread or process, seen before its parent's event */
		pid_t tgid = tgid_of(tid);
		struct tproc *p = proc_find(tgid);
		t = thread_add(tid, p ? p : proc_add(tgid, 0, NULL, 0));
	}
	int sig = WSTOPSIG(status), event = status >> 16;
	unsigned long msg = 0;
	t->p->at = tid;
	step_seen(t); /* (before its own resume: a thread stepped from here on) */
	if (released(t)) { /* let go, with the signal it was stopped for */
		ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)(event == 0 && sig != (SIGTRAP | 0x80) ? sig : 0));
		thread_drop(t);
		return;
	}
	if (sig == SIGTRAP && event == PTRACE_EVENT_SECCOMP) {
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, tid, NULL, &r) == 0) {
			t->nr = (long)r.orig_rax;
			unsigned long long a[6] = {r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9};
			memcpy(t->args, a, sizeof a);
			t->in_sys = call_begins(t);
			if (t->in_sys && (t->nr == SYS_connect || t->nr == SYS_socket || t->nr == SYS_accept ||
					  t->nr == SYS_accept4))
				inject_entry(t, &r);
			if (t->nr == SYS_exit_group) {
				go_sample(t->p); /* what its goroutines wait on as it ends */
				view_all(t->p); /* the sockets it leaves open, as the kernel sees them now */
				t->p->exiting = 1;
				image_ends(t->p, SL_END_EXIT, (int)(t->args[0] & 0xff));
			}
		}
		resume(t, 0);
		return;
	}
	if (sig == (SIGTRAP | 0x80) && t->arm) { /* the end of the exec that armed it */
		t->arm = 0;
		if (filter_inject(t) == 0)
			return; /* the thread is gone */
		sig = t->later_sig;
		t->later_sig = 0;
		resume(t, sig);
		return;
	}
	if (sig == (SIGTRAP | 0x80)) { /* a syscall stop: the exit of a traced call, or a stepped one */
		struct user_regs_struct r;
		struct __ptrace_syscall_info si;
		long got = stepping(t->p) || t->step ? ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si) : 0;
		if (got > 0 && si.op == PTRACE_SYSCALL_INFO_ENTRY) {
			t->step = 1;
			t->step_nr = (long)si.entry.nr;
			memcpy(t->step_args, si.entry.args, sizeof t->step_args);
			resume(t, 0);
			return;
		}
		if (t->in_sys && ptrace(PTRACE_GETREGS, tid, NULL, &r) == 0) {
			inject_exit(t, &r);
			call_done(t, (long)r.rax);
		}
		if (t->step && got > 0 && si.op == PTRACE_SYSCALL_INFO_EXIT && !si.exit.is_error) {
			dns_read(t->p, t, (long)si.exit.rval);
			dns_sent(t->p, t, (long)si.exit.rval);
			look_at(t->p, t->step_nr, (int)t->step_args[0], t->step_args[1], (long)si.exit.rval, 1);
		}
		if (t->step)
			look_expire(t->p);
		t->in_sys = 0;
		t->step = 0;
		resume(t, 0);
		return;
	}
	if (sig == SIGTRAP && (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE)) {
		ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg);
		pid_t child = (pid_t)msg;
		if (!thread_find(child)) {
			if (event == PTRACE_EVENT_CLONE && tgid_of(child) == t->p->pid)
				thread_add(child, t->p);
			else
				thread_add(child, proc_add(child, t->p->pid, t->p, 0));
		} else if (event != PTRACE_EVENT_CLONE || tgid_of(child) != t->p->pid) {
			/* the child stopped first and was taken for a stranger: it is t's */
			struct tproc *cp = thread_find(child)->p;
			cp->ppid = t->p->pid;
			cp->filtered = t->p->filtered;
			cp->before_exec |= unfollowed(t->p) && t->p->before_exec;
			if (cp->log.hdr)
				cp->log.hdr->ppid = t->p->pid;
		}
		if (t->p->log.hdr && event != PTRACE_EVENT_CLONE) {
			t->p->log.hdr->nforks++;
			t->p->log.hdr->last_fork_ns = sl_now();
		}
		resume(t, 0);
		return;
	}
	if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
		ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg);
		struct tthread *former = (pid_t)msg != tid ? thread_find((pid_t)msg) : NULL;
		if (former && former != t) { /* exec from a non-leader thread: it takes the leader's tid */
			thread_drop(t);
			t = former;
			t->tid = tid;
		}
		t->in_sys = 0;
		exec_done(t->p);
		privileges_lost(t->p);
		t->arm = !t->p->filtered && t->p->log.hdr; /* a Go or static program: see filter_inject */
		if (released(t)) { /* a spawned child that exec'd another kind of program */
			ptrace(PTRACE_DETACH, t->tid, NULL, NULL);
			thread_drop(t);
			return;
		}
		resume(t, 0);
		return;
	}
	if (sig == SIGTRAP && event == PTRACE_EVENT_EXIT) {
		ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg);
		if (tid == t->p->pid)
			keep_exe(t->p);
		if (!t->p->exiting && WIFSIGNALED((int)msg)) { /* killed: the sockets as they were */
			go_sample(t->p);
			view_all(t->p);
			t->p->exiting = 1;
		}
		t->in_sys = 0;
		resume(t, 0);
		return;
	}
	if (event == PTRACE_EVENT_STOP) {
		/* a new task's first stop goes on; a group-stop stays stopped until SIGCONT */
		if (t->started && (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
			ptrace(PTRACE_LISTEN, tid, NULL, NULL);
		else
			resume(t, 0);
		t->started = 1;
		return;
	}
	t->started = 1;
	siginfo_t si;
	if (sig == SIGSTOP && t->p->traceme_refused && ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0 &&
	    si.si_pid == t->p->pid) {
		resume(t, 0); /* the stop of a refused PTRACE_TRACEME handshake (see traceme()) */
		return;
	}
	/* (not SIGHUP: a daemon's "read your configuration again") */
	if ((sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) && t->p->log.hdr &&
	    !t->p->log.hdr->stop_signal && !ignores(tid, sig)) { /* told to stop: the waits it ends from now are its own choice */
		t->p->log.hdr->stop_signal_ns = sl_now();
		__atomic_store_n(&t->p->log.hdr->stop_signal, (uint32_t)sig, __ATOMIC_RELEASE);
	}
	if (sig == SIGPIPE)
		pipe_broken(t);
	resume(t, sig); /* a signal for the program: delivered as it was */
}

/* Reads every open socket again, once a second: a live report sees bytes, silences and FINs. */
static void sample_all(void)
{
	for (size_t i = 0; i < nprocs; i++) {
		struct tproc *p = procs[i];
		if (!p->threads || p->exiting)
			continue;
		view_some(p, 256);
		uint64_t t0 = sl_now();
		if (t0 < p->go_next)
			continue;
		/* its cost: the tracer's CPU time, not the wall time (a loaded machine's preemptions
		 * would stretch the period and miss waits of a second or two) */
		struct timespec c0, c1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		go_sample(p);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		uint64_t cost = (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec));
		p->go_next = t0 + (cost * 50 > 1000000000ull ? cost * 50 : 1000000000ull);
	}
}

/* Whether pid is one of ours: its parents lead to this process (the run's processes, but those
 * a daemon's double fork gave to socklens run, which are not followed). */
static int descends(pid_t pid)
{
	char v[32];
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		if (proc_status(pid, "PPid:", v, sizeof v))
			return 0;
		pid = atoi(v);
		if (pid == getpid())
			return 1;
	}
	return 0;
}

/* The requests of processes about to exec a Go or static program (execs_only; the shim's
 * follow_me): each asking thread is seized, with the options of every traced task, and told; its
 * exec then stops here (exec_done), and the program gets the filter (filter_inject). A thread
 * already traced (a Go program's child running a script) is told at once. */
static void follow_asked(void)
{
	for (size_t i = 0; run_ctl && i < SL_FOLLOW_REQS; i++) {
		struct sl_follow_req *q = &run_ctl->follow[i];
		pid_t tid = (pid_t)__atomic_load_n(&q->tid, __ATOMIC_ACQUIRE);
		uint32_t state = tid ? __atomic_load_n(&q->state, __ATOMIC_ACQUIRE) : SL_FOLLOW_FREE;
		if (state == SL_FOLLOW_RELEASE) { /* its exec failed: let go of its process (released) */
			struct tthread *t = thread_find(tid);
			if (t && unfollowed(t->p)) {
				t->p->before_exec = 0;
				for (size_t k = 0; k < nthreads; k++)
					if (threads[k]->p == t->p)
						ptrace(PTRACE_INTERRUPT, threads[k]->tid, NULL, NULL);
			}
			__atomic_store_n(&q->state, SL_FOLLOW_FREE, __ATOMIC_RELEASE);
			__atomic_store_n(&q->tid, 0, __ATOMIC_RELEASE);
			continue;
		}
		if (state != SL_FOLLOW_ASKED)
			continue;
		uint32_t to = SL_FOLLOW_DONE, asked = SL_FOLLOW_ASKED;
		pid_t tgid = thread_find(tid) ? 0 : tgid_of(tid);
		if (tgid) {
			if (!descends(tgid))
				to = SL_FOLLOW_REFUSED; /* not one of the run's processes: nothing is done to it */
			else if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)trace_opts) == 0) {
				char v[32];
				struct tproc *p = proc_find(tgid);
				if (!p)
					p = proc_add(tgid, proc_status(tgid, "PPid:", v, sizeof v) ? 0 : atoi(v), NULL, 1);
				p->filtered = 0;
				thread_add(tid, p)->started = 1;
			} else {
				static int said; /* (a script running a Go tool a thousand times says it once) */
				to = SL_FOLLOW_REFUSED;
				if (!said++)
					fprintf(stderr, "socklens: warning: cannot follow process %d (ptrace: %s): the Go or "
						"static program it runs is not seen (the report names each)\n", (int)tid,
						strerror(errno));
			}
		}
		__atomic_compare_exchange_n(&q->state, &asked, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		syscall(SYS_futex, &q->state, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

/* The tracer goes: processes that outlive the run (a daemon the script left) no longer ask, and
 * one asking now is told at once. */
static void follow_end(void)
{
	if (!execs_only || !run_ctl)
		return;
	__atomic_store_n(&run_ctl->follow_tracer, 0, __ATOMIC_RELEASE);
	for (size_t i = 0; i < SL_FOLLOW_REQS; i++) {
		uint32_t asked = SL_FOLLOW_ASKED;
		if (__atomic_compare_exchange_n(&run_ctl->follow[i].state, &asked, SL_FOLLOW_REFUSED, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			syscall(SYS_futex, &run_ctl->follow[i].state, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

static int trace_loop(pid_t main_pid)
{
	int main_status = 0;
	uint64_t next_sample = sl_now() + 1000000000ull;
	for (;;) {
		int status;
		pass_on_signals(main_pid);
		if (execs_only)
			follow_asked();
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid == 0) {
			if (sl_now() >= next_sample) {
				sample_all();
				dup_release();
				next_sample = sl_now() + 1000000000ull;
			}
			/* nothing to do: wait for the next stop, a second at most */
			struct timespec ts;
			sigset_t chld;
			sigemptyset(&chld);
			sigaddset(&chld, SIGCHLD);
			step_expire();
			ts.tv_sec = 0;
			ts.tv_nsec = holds ? 10000000 : 200000000;
			sigtimedwait(&chld, NULL, &ts);
			continue;
		}
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			return main_status; /* ECHILD: nobody left */
		}
		if (WIFSTOPPED(status)) {
			on_stop(tid, status);
			continue;
		}
		struct tthread *t = thread_find(tid);
		if (tid == main_pid)
			main_status = status;
		if (t)
			thread_gone(t, status);
		else if (tid == main_pid) /* (execs_only: the program itself is not traced) */
			exit_note(tid, status);
	}
}

/* Ends this process the way the program ended: its exit status, or its signal (no core of ours). */
static __attribute__((noreturn)) void end_like(int status)
{
	if (WIFSIGNALED(status)) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(WTERMSIG(status), SIG_DFL);
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

void sl_trace_exec(char **cmd, const char *dir, int no_argv, int data, int execs, FILE *exits,
		   const sigset_t *program_mask, void (*in_child)(void))
{
	int go[2];
	run_dir = dir;
	execs_only = execs;
	exits_file = exits;
	trace_data = data;
	sl_log_params_default(&params);
	params.no_argv = no_argv;
	run_ctl = sl_run_attach(dir, sl_budget_default, no_argv ? SL_RUN_NO_ARGV : 0);
	if (pipe2(go, O_CLOEXEC) < 0) {
		if (in_child)
			in_child();
		execvp(cmd[0], cmd);
		_exit(127);
	}
	pid_t pid = fork();
	if (pid == 0) {
		char traced = 0;
		close(go[1]);
		if (read(go[0], &traced, 1) != 1)
			traced = 0;
		close(go[0]);
		sigprocmask(SIG_SETMASK, program_mask, NULL);
		if (in_child)
			in_child();
		/* only under a tracer: a RET_TRACE filter with none makes the traced calls fail */
		char me[16];
		snprintf(me, sizeof me, "%d", (int)getppid());
		if (traced == 'T' || traced == 'F')
			setenv("SOCKLENS_TRACER", me, 1); /* the shim leaves cgo programs to us */
		if (traced == 'T' && install_filter() < 0)
			fprintf(stderr, "socklens: warning: cannot install the system call filter: %s\n", strerror(errno));
		execvp(cmd[0], cmd);
		fprintf(stderr, "socklens: error: cannot run '%s': %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;
	trace_opts = opts;
	/* execs_only: the program is not traced, its processes ask (follow_asked); without the run's
	 * control file they cannot, and it runs as under the preload alone */
	struct stat ns;
	int follow = execs_only && run_ctl && pid > 0 && stat("/proc/self/ns/pid", &ns) == 0, seized = 0;
	if (follow) {
		run_ctl->follow_pidns = (uint32_t)ns.st_ino;
		__atomic_store_n(&run_ctl->follow_tracer, (uint32_t)getpid(), __ATOMIC_RELEASE);
	} else if (pid > 0 && !execs_only) {
		seized = ptrace(PTRACE_SEIZE, pid, NULL, (void *)opts) == 0;
		if (!seized) {
			fprintf(stderr, "socklens: warning: cannot trace '%s' (ptrace: %s); it runs untraced\n", cmd[0],
				strerror(errno));
			sl_run_untraced(run_ctl, SL_UNTRACED_PTRACE);
		}
	}
	if (write(go[1], follow ? "F" : seized ? "T" : "N", 1) != 1)
		seized = follow = 0;
	close(go[1]);
	if (pid < 0)
		_exit(127);
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO};
	sigset_t fwd;
	sl_forwarded_signals(&fwd);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&fwd, sig) == 1)
			sigaction(sig, &sa, NULL);
	/* SIGCHLD stays blocked: the loop takes it with sigtimedwait; the forwarded signals interrupt it */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	if (!seized && !follow) {
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			pass_on_signals(pid);
		exit_note(pid, status);
		end_like(status);
	}
	if (seized)
		thread_add(pid, proc_add(pid, getpid(), NULL, 1))->started = 1;
	int status = trace_loop(pid);
	follow_end();
	end_like(status);
}
