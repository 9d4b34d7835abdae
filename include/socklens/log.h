/* socklens log format: the only contract between the shim (writer) and the analyzer (reader). */
#ifndef SOCKLENS_LOG_H
#define SOCKLENS_LOG_H

#include <stdint.h>

/*
 * A run directory holds one control file, "run.slctl" (struct sl_run_header: the space budget
 * every process draws from, run-wide counters, the exec table), and one log per process image
 * (a fork child's made when it first has something to record: one that execs first, or never
 * does, leaves only its record in the exec table), "p<pid>.<seq>.sllog": seq is unique in the
 * run (the control file's log_next, or a random number without one), so naming a log costs one try whatever the number of images; exec starts a new
 * file. A process is its (pid namespace, pid, start time): exec keeps all three, and two
 * processes given the same pid (reused, or in two pid namespaces) differ in one of them.
 *
 * Both are sparse files mapped shared by the writers. Nothing is allocated up front: a table's
 * pages are materialized (madvise MADV_POPULATE_WRITE, which fails with an error where a plain
 * touch of a full tmpfs would raise SIGBUS) when the table first needs them, after the bytes
 * were reserved from the run's budget. Each table's header entry says how many records are
 * materialized ("avail"), for the writers: one that finds another growing the table materializes
 * its own record's pages instead of waiting, beyond avail. Readers therefore look at every
 * reserved record (below the table's *_next counter and its cap), skip the file's holes, and
 * keep only records whose commit word is set (a hole reads as zeros).
 *
 * All fields are fixed-width and little-endian (the shim only supports x86-64). The reader
 * checks magic, version, every size and every offset. Writers never lock and never wait:
 * counters named *_next are reservations bumped with atomic adds; what does not fit is counted
 * in a *_dropped counter. Records carry a commit word stored last with release ordering; a
 * reader ignores uncommitted records.
 */

#define SL_LOG_MAGIC "SOCKLENS"
#define SL_RUN_MAGIC "SLRUNCTL"
#define SL_LOG_VERSION 7u
#define SL_HEADER_SIZE 4096u
#define SL_PAGE 4096u
#define SL_MAX_FRAMES 32u
#define SL_EXE_MAX 256u
#define SL_ARGV_MAX 1024u
#define SL_COMM_MAX 16u
#define SL_MODPATH_MAX 400u
#define SL_BUILDID_MAX 20u
#define SL_ADDR_DATA 108u
#define SL_EXEC_PATH_MAX 104u

/* A socket address as the kernel returned it, truncated to SL_ADDR_DATA bytes. */
struct sl_addr {
	uint16_t family;        /* AF_UNSPEC (0) when unknown */
	uint16_t len;           /* bytes of data[] that are valid */
	uint8_t data[SL_ADDR_DATA]; /* the sockaddr after its family field */
};

/* ---- the run control file ------------------------------------------------ */

enum sl_run_flags {
	SL_RUN_NO_ARGV = 1u << 0   /* processes store argv[0] only (secrets on command lines) */
};

/* Why a process ran untraced: run-wide counters, and the reason an exec record gives. */
enum sl_untraced {
	SL_UNTRACED_ENV = 1,      /* the new environment drops LD_PRELOAD or SOCKLENS_DIR */
	SL_UNTRACED_SETUID = 2,   /* setuid/setgid or file capabilities: the loader ignores LD_PRELOAD */
	SL_UNTRACED_STATIC = 3,   /* no dynamic loader, or a Go program: libc is never called */
	SL_UNTRACED_BUDGET = 4,   /* the run's log space budget was used up */
	SL_UNTRACED_CREATE = 5,   /* the log could not be created (full or read-only filesystem) */
	SL_UNTRACED_FSIZE = 6,    /* RLIMIT_FSIZE leaves no room for a log */
	SL_UNTRACED_PTRACE = 7,   /* a Go or static program socklens run could not trace: ptrace refused */
	SL_UNTRACED_USER = 8,     /* it ran as a user who cannot write in the run directory */
	SL_UNTRACED_NO_DIR = 9,   /* the run directory was not there: a chroot, a mount namespace */
	SL_UNTRACED__COUNT = 10
};

struct sl_run_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t file_size;
	uint32_t ready;           /* 1 once the creator filled the header (release) */
	uint32_t flags;           /* enum sl_run_flags */
	uint64_t budget;          /* bytes all logs of the run may materialize together */
	uint64_t used;            /* bytes materialized so far (atomic); may pass budget by one chunk */
	uint64_t created_real_ns;
	uint64_t procs_logged;    /* logs created */
	uint64_t untraced[SL_UNTRACED__COUNT]; /* processes that ran without a log, by reason */
	uint64_t grow_refused;    /* table growths refused for the budget (those records were dropped) */
	uint32_t warned;          /* the one line about the budget has been printed */
	uint32_t exec_cap;        /* records in the exec table */
	uint64_t exec_off;        /* its offset from the start of the file */
	uint64_t exec_next;       /* reservations (atomic); past exec_cap counts as dropped */
	uint64_t exec_avail;      /* records materialized */
	uint32_t exec_growing;
	uint32_t logs_lost;       /* logs truncated under their process (it went on untraced) */
	uint64_t log_next;        /* logs named so far (atomic): a log's seq, unique in the run */
	uint64_t privileges_lost; /* setuid programs started under the tracer's no_new_privs */
	uint64_t traceme_refused; /* processes that asked to be traced by their parent (PTRACE_TRACEME) */
	/* A run started through a script or a launcher: its tracer follows the Go and static programs
	 * the preloaded processes exec. Such a process, about to exec one, claims a request (tid, from
	 * 0), sets it SL_FOLLOW_ASKED, signals the tracer and waits (a futex on state) until the tracer
	 * has seized it (SL_FOLLOW_DONE) or could not (SL_FOLLOW_REFUSED), then frees it. */
	uint32_t follow_tracer;   /* the tracer's pid (0: nobody follows) */
	uint32_t follow_pidns;    /* ... in this pid namespace (its inode): a pid in another means another process */
#define SL_FOLLOW_REQS 4
	struct sl_follow_req {
		uint32_t tid, state;
	} follow[SL_FOLLOW_REQS];
};

enum sl_follow_state { SL_FOLLOW_FREE, SL_FOLLOW_ASKED, SL_FOLLOW_DONE, SL_FOLLOW_REFUSED, SL_FOLLOW_GAVE_UP,
		       SL_FOLLOW_RELEASE /* the followed exec failed: let it go (the tracer frees the request) */ };

/*
 * Faults `socklens run --inject` asks the shim to inject (analyzer/cmd/inject.c compiles the specs).
 * The table sits in the control file's header page at SL_INJECT_OFF, written by socklens run before
 * the program starts and read-only to the processes but for the counters. A connect-time fault the
 * kernel itself produces is a redirection: to a loopback port socklens run keeps bound and not
 * listening (refused), to a listener whose accept queue it keeps full (the SYN is dropped: a
 * blackhole), or to its relay (latency, rate, reset, silence, slicing), which finds the real peer
 * in the relay map by the redirected socket's local port.
 */
enum sl_fault {
	SL_FAULT_NONE = 0,
	SL_FAULT_REFUSE = 1,      /* connect: ECONNREFUSED from a real RST */
	SL_FAULT_BLACKHOLE = 2,   /* connect: no answer to the SYN */
	SL_FAULT_UNREACHABLE = 3, /* connect: fails at once with p[SL_FP_ERRNO] (ENETUNREACH) */
	SL_FAULT_NXDOMAIN = 4,    /* getaddrinfo/gethostbyname: no such name */
	SL_FAULT_SERVFAIL = 5,    /* ... a temporary failure (EAI_AGAIN, TRY_AGAIN) */
	SL_FAULT_DNS_DELAY = 6,   /* ... answered p[SL_FP_DELAY_MS] later */
	SL_FAULT_RELAY = 7,       /* connect through the relay: the p[] below say what it does */
	SL_FAULT_EMFILE = 8,      /* socket/accept: EMFILE (a full fd table) */
	SL_FAULT_ENFILE = 9,      /* socket/accept: ENFILE (the system's table) */
	SL_FAULT_ACCEPT_STALL = 10, /* accept: made p[SL_FP_DELAY_MS] later (a server busy elsewhere) */
	SL_FAULT_SLOW_CLOSE = 11, /* close of a connection: returns p[SL_FP_DELAY_MS] later */
	SL_FAULT_EINTR = 12,      /* a blocking data call that would block fails with EINTR (once a wait) */
	SL_FAULT__COUNT = 13
};

/* A rule's parameters (p[]); 0 = not set. Times in ms, sizes in bytes. */
enum sl_fault_param {
	SL_FP_ERRNO = 0,          /* unreachable: the errno */
	SL_FP_DELAY_MS = 1,       /* relay: one-way latency added in each direction of dir; dns-delay,
				   accept-stall, slow-close: how long the call is held */
	SL_FP_JITTER_MS = 2,      /* relay: up to this much more, uniformly, order kept */
	SL_FP_RATE = 3,           /* relay: bytes per second, each direction of dir */
	SL_FP_RESET_AFTER = 4,    /* relay: reset once this many bytes (+1) reached the program */
	SL_FP_RESET_AT_MS = 5,    /* relay: reset this long after the connection (+1) */
	SL_FP_SILENT_AFTER = 6,   /* relay: forward nothing more once this many bytes (+1) reached it */
	SL_FP_SLICE = 7,          /* relay: at most this many bytes per delivery to the program */
	SL_FP__COUNT = 8
};

enum sl_fault_dir { SL_FDIR_BOTH = 0, SL_FDIR_IN = 1, SL_FDIR_OUT = 2 };
enum sl_fault_calls { SL_FCALL_SOCKET = 1u << 0, SL_FCALL_ACCEPT = 1u << 1 };

#define SL_INJECT_MAX 8u
#define SL_INJECT_ADDRS 4u
#define SL_INJECT_HOST 48u
#define SL_INJECT_OFF 256u

struct sl_inject_rule {
	uint16_t fault;           /* enum sl_fault */
	uint16_t calls;           /* emfile/enfile: enum sl_fault_calls */
	uint16_t port;            /* the peer's port (host order); 0 any */
	uint8_t naddr;            /* addresses in addr[] (0: any peer) */
	uint8_t prefix;           /* bits of addr[0] that must match (a CIDR); 0 with naddr: all */
	uint16_t family[SL_INJECT_ADDRS]; /* AF_INET (IPv4-mapped IPv6 peers match too) or AF_INET6 */
	uint8_t addr[SL_INJECT_ADDRS][16];
	uint8_t dir;              /* enum sl_fault_dir */
	uint8_t pad[3];
	char proc[SL_COMM_MAX];   /* the process's name (comm) must be this; "" any */
	char host[SL_INJECT_HOST];/* DNS faults: the name ('.' first: it and its subdomains) */
	uint32_t nth;             /* only the nth match (1-based); 0 any */
	uint32_t every;           /* every nth match; 0 any */
	uint32_t limit;           /* at most this many injections; 0 no limit */
	uint32_t p_ppm;           /* probability in millionths (1000000: always) */
	uint64_t seed;
	uint64_t from_ns, until_ns; /* window after the run started; until 0: no end */
	uint64_t p[SL_FP__COUNT];
	uint64_t seen;            /* matching calls (atomic) */
	uint64_t done;            /* injections (atomic) */
};

/* A rule's call site (site=): a frame of the call's stack must be it. Language frames (Python,
 * Java, JavaScript) are compared by name; native ones by address, in the ranges socklens run
 * resolved from the program file's symbols and line table (offsets from its load base). */
#define SL_INJECT_SITE_FILE 56u
struct sl_inject_site {
	char file[SL_INJECT_SITE_FILE]; /* a source file's name ends with this ("" none) */
	char func[40];            /* or the function is this ("" none) */
	int32_t line;             /* with file: the line */
	uint32_t nranges;         /* native ranges below (0: language frames only) */
	char module[32];          /* ... in the object whose file name is this */
	uint64_t lo[2], hi[2];
};

struct sl_inject_table {
	uint32_t count;           /* rules */
	uint16_t refuse_port[2];  /* [0] on 127.0.0.1, [1] on ::1 (0: none) */
	uint16_t blackhole_port[2];
	uint16_t relay_port[2];
	uint64_t start_ns;        /* CLOCK_MONOTONIC when the program was started */
	uint64_t map_off;         /* the relay map's offset in the control file (0: none) */
	uint64_t unredirected;    /* connections a rule matched but that could not be redirected */
	struct sl_inject_rule rule[SL_INJECT_MAX];
	struct sl_inject_site site[SL_INJECT_MAX]; /* rule i's site=, when its file or func is set */
};

/* The relay map: 2 x 65536 entries, by the redirected socket's local port (IPv6 after IPv4). */
#define SL_RELAY_MAP_ENTRIES (2u * 65536u)
struct sl_relay_ent {
	uint32_t commit;          /* 1 once written by the shim; the relay sets it back to 0 */
	uint16_t rule;
	uint16_t family;          /* the real peer's */
	uint8_t addr[16];
	uint16_t port;            /* network order, as in the sockaddr */
	uint16_t pad;
	int32_t pid;
	uint64_t conn_id;
};

/* Every exec a traced process attempts, so the analyzer can tell which children left no log of
 * their own (static, Go or setuid programs, stripped environments) and why. Written by the
 * process (or vfork child) that calls exec, before the call. */
struct sl_exec_rec {
	uint32_t commit;          /* 1 once complete */
	int32_t pid;              /* the process that called exec (a vfork child's own pid) */
	int32_t ppid;
	uint32_t why;             /* 0, or enum sl_untraced known before the exec (ENV); | SL_EXEC_ARRIVED */
	uint64_t ts_ns;           /* CLOCK_MONOTONIC */
	char path[SL_EXEC_PATH_MAX]; /* the program, as resolved through PATH; NUL-terminated */
};

/* Set in an exec record's why by the program it started, once the shim runs in it: the exec was
 * followed. A program the shim starts in without an exec record (the run's first, or one exec'd by
 * an untraced process) writes one of its own, and so does every fork child (it makes its log only
 * when it first needs one): every process the shim ran in is named, log or not. */
#define SL_EXEC_ARRIVED 0x80000000u
/* Set instead when the program's log could not be made: the run's untraced counters say why. */
#define SL_EXEC_NOLOG 0x40000000u
/* Set by an exec'ing image that had a log: the program it starts continues that process's log
 * (its images, its name, how it ends) and makes its own log at once. Without it the program, like
 * a fork child, makes its log only when it first needs one. */
#define SL_EXEC_LOGGED 0x20000000u
/* Set by the exec'ing image when its exec failed (ENOENT, EACCES...): no program ran, nothing to name. */
#define SL_EXEC_FAILED 0x10000000u
/* The bits of why that say why a program was not followed (enum sl_untraced). */
#define SL_EXEC_WHY_MASK 0x0fffffffu

/* ---- the per-process log -------------------------------------------------- */

enum sl_end_reason {
	SL_END_NONE = 0,        /* running, or ended without telling (signal, SIGKILL) */
	SL_END_EXIT = 1,        /* exit()/_exit() with exit_status */
	SL_END_EXEC = 2,        /* replaced by execve(); the next seq continues the pid */
};

enum sl_hdr_flags {
	SL_HDR_STACKS = 1u << 0,   /* stacks are captured */
	SL_HDR_FORKED = 1u << 1,   /* created in a fork child */
	SL_HDR_INHERITED = 1u << 2,/* created after exec: inherited fds were scanned */
	SL_HDR_NO_ARGV = 1u << 3,  /* argv holds argv[0] only */
	SL_HDR_PTRACE = 1u << 4,   /* written by socklens run's tracer, not by the shim in the process */
	SL_HDR_PY_FRAMES = 1u << 5,/* CPython found and its frames read into stacks */
	SL_HDR_PY_UNREAD = 1u << 6,/* CPython found but its frames could not be read (version, layout) */
	SL_HDR_V8_MAP = 1u << 7,   /* V8 found: it writes /tmp/perf-<pid>.map, which names JIT frames */
	SL_HDR_V8_MAP_OURS = 1u << 8, /* ... because socklens asked: the run may remove it once copied */
	SL_HDR_JAVA_FRAMES = 1u << 9, /* a JVM found and its frames read into stacks */
	SL_HDR_JAVA_UNREAD = 1u << 10,/* a JVM found but its frames could not be read (lang_why) */
	SL_HDR_JS_ORIGINS = 1u << 11, /* Node.js: socklens-node.js describes where sockets are asked for */
	SL_HDR_JS_UNREAD = 1u << 12,  /* Node.js, but socklens-node.js was not found beside the shim */
	SL_HDR_RUN_LOST = 1u << 13,   /* the run's control file was truncated under it (counts lost) */
	SL_HDR_IO_URING = 1u << 14,   /* a ring set up where its submissions cannot be looked at (a raw
				       * io_uring_setup): what it did is not known */
	SL_HDR_IO_URING_LIB = 1u << 15,  /* rings set up through liburing: submissions looked at */
	SL_HDR_IO_URING_SOCK = 1u << 16, /* ... and one named a socket: those operations are not seen */
	SL_HDR_GOROUTINES = 1u << 17,    /* a Go program whose parked goroutines the tracer read */
	SL_HDR_GO_UNREAD = 1u << 18      /* a Go program whose goroutines could not be read (lang_why) */
};

/* Why a runtime's frames (or a Go program's goroutines) could not be read (header lang_why). */
enum sl_lang_why {
	SL_WHY_NONE = 0,
	SL_WHY_NO_JVMTI = 1,      /* JNI_GetCreatedJavaVMs or GetEnv(JVMTI) failed */
	SL_WHY_NO_CAPS = 2,       /* the line-number capabilities were refused */
	SL_WHY_GO_MEMORY = 3,     /* a Go program's memory could not be read (another user's) */
	SL_WHY_GO_OTHER = 4,      /* a Go program whose goroutines could not be read, otherwise */
	SL_WHY_GO_RELEASE = 0x1000 /* | minor: a Go 1.minor whose runtime layout is not known */
};

enum sl_lang_kind { SL_LANG_PYTHON = 1, SL_LANG_JAVA = 2, SL_LANG_JS = 3 };

/* The tables of a log, in file order. */
enum sl_table {
	SL_T_SLOTS, SL_T_EVENTS, SL_T_STACKS, SL_T_BUCKETS, SL_T_MODULES, SL_T_INFLIGHT, SL_T_LANG, SL_T__COUNT
};

struct sl_table_hdr {
	uint64_t off;             /* from the start of the file; page-aligned */
	uint32_t size;            /* bytes per record */
	uint32_t cap;             /* records the table may grow to */
	uint32_t avail;           /* records materialized and usable (release-stored) */
	uint32_t growing;         /* a writer is materializing more (never waited for) */
	uint32_t full;            /* growth was refused: budget, RLIMIT or filesystem */
	uint32_t pad;
};

struct sl_log_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t file_size;       /* the sparse file's size: every table at its cap */
	struct sl_table_hdr tab[SL_T__COUNT];
	uint32_t event_first;     /* events [0, event_first) keep the first problems; the rest is a
				     ring of the most recent ones */
	uint32_t lang_why;        /* enum sl_lang_why */

	int32_t pid, ppid;
	uint32_t seq;             /* the log's number in the run (images of a pid: by start_mono_ns) */
	uint32_t flags;           /* enum sl_hdr_flags */
	uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at creation; every *_ns is on this clock */
	uint64_t start_real_ns;   /* CLOCK_REALTIME at creation, to print wall times */
	uint64_t proc_start_ticks;/* /proc/<pid>/stat field 22: tells a live pid from a reused one */
	uint64_t slow_ns;         /* calls slower than this were logged as events */
	/* Times marked "_cns" (slots, in-flight calls) come from CLOCK_MONOTONIC_COARSE, the others
	 * from CLOCK_MONOTONIC: one timeline, the coarse one up to its resolution behind. */
	uint64_t coarse_res_ns;
	char exe[SL_EXE_MAX];     /* readlink /proc/self/exe, NUL-terminated */
	char comm[SL_COMM_MAX];   /* the name it was started as (/proc/self/comm) */
	char argv[SL_ARGV_MAX];   /* NUL-separated arguments, truncated (argv[0] only: SL_HDR_NO_ARGV) */
	uint32_t argv_len;

	/* live counters, updated with atomics by the writer */
	uint32_t end_reason;      /* enum sl_end_reason */
	int32_t exit_status;
	uint32_t nforks;          /* children this image forked */
	uint64_t end_mono_ns;
	uint64_t last_fork_ns;
	uint64_t slot_next, slot_recycle_next, slot_recycled, slot_dropped;
	uint64_t slots_closed;    /* closed slots with nothing to report, ready for reuse (atomic) */
	uint64_t event_next, event_dropped, event_overwritten;
	uint64_t stack_next, stack_dropped;
	uint64_t module_next, module_dropped;
	uint64_t inflight_dropped;
	uint64_t conn_next;       /* last connection id handed out */
	uint64_t lang_next, lang_dropped;
	uint64_t untracked_fds;   /* sockets seen with no free slot */
	uint64_t pidns;           /* the inode of the process's pid namespace (0: unknown) */
	uint64_t inherited_socks; /* slots made for sockets this image did not create (exec, fork,
				     SCM_RIGHTS): counted where they were created, not again here */
	uint64_t keepers_recycled;/* closed slots with something to report, recycled once the table
				     could not grow: findings about them are lost, counts undercount */
	/* The first request to stop (SIGTERM, SIGINT, SIGQUIT) delivered to the process, and
	 * when (the tracer sees every signal delivered; 0: none, or not seen) */
	uint32_t stop_signal;
	uint32_t stop_pad;
	uint64_t stop_signal_ns;
};
_Static_assert(sizeof(struct sl_log_header) <= SL_HEADER_SIZE, "the header fits its page");

/* ---- connection slots ---------------------------------------------------- */

enum sl_slot_state { SL_SLOT_FREE = 0, SL_SLOT_LIVE = 1, SL_SLOT_CLOSED = 2, SL_SLOT_BUSY = 3 };

enum sl_role {
	SL_ROLE_NONE = 0,      /* created, not yet connected or listening */
	SL_ROLE_CLIENT = 1,    /* connect() */
	SL_ROLE_SERVER = 2,    /* accept()ed */
	SL_ROLE_LISTENER = 3,  /* listen() */
	SL_ROLE_PAIR = 4,      /* socketpair() */
	SL_ROLE_INHERITED = 5  /* found open (exec, socket activation, fork): not created here */
};

enum sl_connect_state {
	SL_CONN_NONE = 0, SL_CONN_PENDING = 1, SL_CONN_DONE = 2, SL_CONN_FAILED = 3
};

/* options the program set; bit i of opts_set means field i below is valid */
enum sl_opt {
	SL_OPT_RCVTIMEO, SL_OPT_SNDTIMEO, SL_OPT_KEEPALIVE, SL_OPT_KEEPIDLE,
	SL_OPT_KEEPINTVL, SL_OPT_KEEPCNT, SL_OPT_USER_TIMEOUT, SL_OPT_NODELAY,
	SL_OPT_LINGER, SL_OPT_RCVBUF, SL_OPT_SNDBUF, SL_OPT_REUSEADDR,
	SL_OPT_REUSEPORT, SL_OPT__COUNT
};

enum sl_slot_flags {
	SL_SF_NONBLOCK = 1u << 0,  /* O_NONBLOCK now */
	SL_SF_CLOEXEC = 1u << 1,
	SL_SF_GUARDED = 1u << 2,   /* the program polled/selected/epolled this fd */
	SL_SF_EOF = 1u << 3,       /* a read returned 0: the peer closed its side */
	SL_SF_SHUT_RD = 1u << 4,
	SL_SF_SHUT_WR = 1u << 5,
	SL_SF_TCPINFO = 1u << 6,   /* tcp_* fields are valid */
	SL_SF_BLOCKING_READ = 1u << 7, /* a read ran while the socket was blocking */
	SL_SF_CLOSED_BY_EXEC = 1u << 8,
	SL_SF_CLOSE_UNSEEN = 1u << 9,  /* fd was reused before we saw a close */
	SL_SF_FROM_PARENT = 1u << 10,  /* inherited across fork: the parent has its own record */
	SL_SF_CONNECTING = 1u << 11,   /* a non-blocking connect awaits its outcome */
	SL_SF_WATCH_READ = 1u << 12,   /* blocking, and no blocking read seen yet: record the next */
	SL_SF_FIRST_IN = 1u << 13,     /* no data received yet: look at the first record's header */
	SL_SF_FIRST_OUT = 1u << 14,    /* no data sent yet: look at the first record's header */
	SL_SF_KEEP = 1u << 15,         /* closed with something to report: its slot is recycled last */
	SL_SF_GAVE_UP = 1u << 16,      /* shut down or closed while its connect still sent SYNs */
	SL_SF_SHORT_WRITE = 1u << 17,  /* the last write sent less than asked, and no write followed */
	SL_SF_TLS_ENC_ALERT = 1u << 18,/* a TLS 1.3 client's second flight was an encrypted alert (a
					  19-byte record: alert, type, tag) and no Finished */
	SL_SF_PARKED_READ = 1u << 19,  /* a goroutine was seen parked reading it with no read deadline */
	SL_SF_DEADLINE_READ = 1u << 20,/* ... with a read deadline in force */
	SL_SF_PARKED_WRITE = 1u << 21, /* a goroutine was seen parked writing it (the peer not reading) */
	SL_SF_INJECTED = 1u << 22,     /* its connect was redirected by --inject: peer is the real one,
					  the kernel's peer is socklens run's (refuse, blackhole, relay) */
	SL_SF_INJECT_EINTR = 1u << 23, /* an eintr rule matched its peer: data calls look at the rules */
	SL_SF_EINTR_DONE = 1u << 24,   /* ... and the last call that would have blocked got EINTR */
	SL_SF_TLS_AWAIT = 1u << 25,    /* a TLS 1.3 client sent its Finished: the server's next record is
					  looked at (FIRST_IN set again) */
	SL_SF_TLS_SERVER_ALERT = 1u << 26,/* ... and it was a 19-byte encrypted record: an alert (a server
					     refusing the client's certificate, or the lack of one) */
	SL_SF_RESET_PENDING = 1u << 27,/* closed in TCP_CLOSE after a shutdown or an EOF, with the kernel's
					  error (SO_ERROR) still ECONNRESET, EPIPE or ETIMEDOUT: aborted,
					  not the orderly end those also lead to */
	SL_SF_TLS_THIRD = 1u << 28,    /* a TLS client sent its handshake's last flight: its next record
					  is looked at (FIRST_OUT still set) */
	SL_SF_TLS_LAST_ALERT = 1u << 29,/* ... and it was an alert (TLS 1.2's alert record, TLS 1.3's
					   19-byte encrypted one), not a request */
	SL_SF_FIN_FIRST = 1u << 30,    /* the peer's FIN had come when the program shut its side down
					  (CLOSE_WAIT then: LAST_ACK and TCP_CLOSE are the orderly end) */
	SL_SF_RT_UNANSWERED = 1u << 31 /* Go (the tracer): closed by the program, the peer still silent,
					  while a goroutine waited to read it, nothing received since a
					  sample first saw it wait: a net/http round trip's request, or a
					  send in the last reply's 4 ms step, was not answered (the
					  kernel's last send and receive times cannot order those) */
};

#define SL_ERRS 4u
#define SL_SITE_STACK (1ull << 62) /* a site holding a whole stack's id (in a Python program) */

/* What the first bytes of each direction looked like (5-byte TLS record header, 2 alert bytes);
 * after a TLS ClientHello the header of the client's next flight too (an alert there is the
 * client rejecting the server's certificate). Nothing else of the payload is looked at, and only
 * this verdict is kept. */
enum sl_first_bytes {
	SL_FB_NONE = 0,
	SL_FB_OTHER = 1,
	SL_FB_TLS_HELLO = 2,
	SL_FB_TLS_ALERT = 3,
	SL_FB_TLS_OTHER = 4,
	SL_FB_HTTP = 5, /* "HTTP/": a plaintext HTTP response (a TLS client that reached an HTTP port) */
};

struct sl_slot {
	uint32_t state;           /* enum sl_slot_state, the commit word */
	uint32_t gen;             /* bumped each time the slot is reused */
	uint64_t conn_id;         /* unique within the log, from 1 */
	int32_t fd;
	uint16_t family, type;    /* type without SOCK_NONBLOCK/SOCK_CLOEXEC */
	int32_t protocol;
	uint8_t role, connect_state, tcp_state;
	uint8_t alert_dir : 1;    /* the TLS alert's direction: 0 received from the peer, 1 sent by the program */
	uint8_t flags2 : 7;       /* enum sl_slot_flags2 (in this byte: the slot's size, 664, is part of
				   * the hot path, and 8 bytes more made gcc's address of a slot two
				   * instructions longer) */
	uint32_t flags;           /* enum sl_slot_flags */
	uint32_t refs;            /* fds sharing this slot (dup) */
	uint64_t open_ns, close_ns;
	uint32_t open_stack, close_stack, connect_stack, error_stack; /* 0 = none */
	uint64_t read_site;       /* caller address of the first blocking read (SL_SITE_STACK: a stack id) */
	uint64_t send_site;       /* caller address of the last send */
	struct sl_addr local, peer;
	/* Counters of one direction are updated with plain (unlocked) adds: exact while one thread
	 * at a time moves data in that direction, which is how sockets are used; two threads
	 * sending (or receiving) on one socket at the same instant can lose an increment. */
	uint64_t bytes_out, bytes_in, calls_out, calls_in, eagain_out, eagain_in;
	uint64_t blocked_out_cns, blocked_in_cns; /* total time inside blocking data calls */
	uint64_t read_max_cns;    /* longest single blocking read-side call */
	uint64_t write_max_cns;
	uint64_t last_out_cns;    /* end of the last call that sent data */
	uint64_t last_in_cns;     /* end of the last call that received data */
	uint64_t eof_cns;         /* when a read first returned 0 */
	uint64_t connect_start_ns, connect_ns;
	int32_t connect_errno;
	union {
		int32_t listen_backlog;   /* listeners: what listen() asked for (listen_limit: what the kernel kept) */
		uint32_t reply_us;        /* connections: the first exchange's wait, µs: from a client's last
					   * write to the first data back, a server's last read to its first
					   * write (0: not seen); the preload's only */
	};
	int32_t err_no[SL_ERRS];
	uint32_t err_count[SL_ERRS];
	uint32_t err_total;
	uint32_t opts_set;        /* bitmask of enum sl_opt */
	int64_t opt[SL_OPT__COUNT]; /* timeouts in microseconds, the rest as set */
	uint32_t tcp_rtt_us, tcp_rttvar_us, tcp_retrans, tcp_lost; /* TCP_INFO at close, or sampled */
	uint32_t tcp_segs_out;    /* segments sent, to weigh tcp_retrans */
	uint32_t sample_epoch;    /* which ~8.6 s period the last TCP_INFO sample was taken in */
	uint64_t tcp_bytes_received; /* payload the kernel received (a FIN not counted): more than bytes_in = unread */
	union {
		uint32_t accept_queue_max; /* listeners: the fullest accept queue seen at an accept() */
		uint32_t short_asked;      /* connections: bytes the last short write asked to send */
	};
	union {
		uint32_t listen_limit;     /* listeners: the queue's limit in force (backlog capped by somaxconn) */
		uint32_t short_sent;       /* connections: ... and what it sent (SL_SF_SHORT_WRITE) */
	};
	uint32_t writes_since_read; /* data calls out since the last data received */
	uint32_t rounds_multi;    /* replies that followed two or more writes */
	uint32_t nagle_rounds;    /* ... and came 35-80 ms after the last of them (delayed ACK) */
	uint32_t tcp_dsack_dups;  /* retransmissions the peer reported as duplicates (DSACK): spurious */
	uint64_t nagle_cns;       /* time those replies waited */
	uint8_t first_in, first_out; /* enum sl_first_bytes */
	uint8_t alert_level, alert_desc; /* the TLS alert, when one direction began with one */
	uint32_t eof_stack;       /* a language runtime's program: the stack of the read that saw EOF */
	uint32_t unread_at_close; /* bytes left in the receive queue at the last close (SIOCINQ): a reset */
	uint32_t send_stack;      /* a language runtime's program: the stack of the first send (0 none);
				     in the tail padding */
};

/* More of what is known of a connection (the slot's flags are all taken): 7 bits, all taken. */
enum sl_slot_flags2 {
	SL_SF2_POOL_IDLE = 1u << 0,   /* Go (the tracer): at the last look at the goroutines, an HTTP
					 client's reader waited on it with no request outstanding
					 (net/http's readLoop, an HTTP/2 or gRPC connection's reader):
					 a pooled connection, idle */
	SL_SF2_RESET_AFTER_FIN = 1u << 1, /* closed in TCP_CLOSE with EPIPE pending: the peer's reset came
					 after its FIN (the kernel says EPIPE, not ECONNRESET, for a
					 reset in CLOSE_WAIT), answering what the program sent after the
					 peer had closed */
	SL_SF2_GOODBYE_ONLY = 1u << 2,/* ... and that was 31 bytes at most (a TLS close_notify, a QUIT):
					 the two closes crossed, nothing was lost; or (the tracer) a
					 reset came after such a goodbye the program sent as it closed */
	SL_SF2_GOODBYE_UNREAD = 1u << 3,/* what was unread at close (unread_at_close) is one TLS record
					 of 31 bytes at most: the peer's close_notify crossing the
					 program's close, so the reset lost nothing */
	SL_SF2_ALERT_AFTER_FLIGHT = 1u << 4,/* the alert (alert_level) answered the other side's first
					 flight, not the hello: a TLS 1.2 server refusing the client's
					 certificate (or its lack) or key exchange, a client refusing
					 the server's certificate */
	SL_SF2_CLIENT_ENC_ALERT = 1u << 5,/* a server's: the client's record after the server's first
					 flight was a TLS 1.3 alert (19 bytes, encrypted) where its
					 Finished would be: the client refused the server's certificate */
	SL_SF2_CANCELLED = 1u << 6    /* Go (the tracer): a request the program closed unanswered whose
					 only bound was a context with no deadline: cancelled by the
					 program's own logic (an errgroup's other member failing), not
					 a timeout */
};

/* ---- events --------------------------------------------------------------- */

/* Without SOCKLENS_TRACE=1 only problems are logged: the slots hold what OPEN, OPTION, CLOSE and
 * successful CONNECT events would say. The first event_first events stay; later ones go round a
 * ring that keeps the most recent (event_overwritten counts what the ring lost). */
enum sl_ev_type {
	SL_EV_OPEN = 1,        /* socket/socketpair/accept/inherit: see role */
	SL_EV_CONNECT = 2,     /* a connect outcome: err 0 = connected */
	SL_EV_LISTEN = 3,      /* a = the backlog asked for */
	SL_EV_ERROR = 4,       /* a socket call failed (not EAGAIN/EINPROGRESS) */
	SL_EV_SLOW = 5,        /* a call took longer than slow_ns; or (b = SL_SLOW_UNANSWERED, the
				* tracer) a goroutine's round trip waited ts_ns..+dur_ns and ended
				* with nothing received, its connection left open (a gRPC or HTTP/2
				* call whose deadline ran out): a = SL_SLOW_BOUNDED | SL_SLOW_CANCEL_ONLY */
	SL_EV_OPTION = 6,      /* setsockopt/fcntl: a = option (enum sl_opt), value in b */
	SL_EV_CLOSE = 7,
	SL_EV_DNS = 8,         /* getaddrinfo/gethostbyname: err = EAI code (0 ok), addr.data the name;
				* a = 1: the program's own resolver got no answer at all */
	SL_EV_STALE_FD = 9,    /* EBADF/ENOTSOCK on an fd that was a socket: conn_id the closed one */
	SL_EV_BIND = 10,       /* bind failed: a = 1 if SO_REUSEADDR was set; addr the address */
	SL_EV_REAPED = 11,     /* the process reaped a child: a = its pid, b = its wait status */
	SL_EV_INJECT = 12      /* socklens injected a fault into call: a = the rule's index, b = enum
				* sl_fault, addr = the real peer (or the name looked up), conn_id the
				* connection it was injected into (0: none, a lookup or a socket call) */
};

enum { SL_SLOW_UNANSWERED = 1 };                            /* SL_EV_SLOW's b */
enum { SL_SLOW_BOUNDED = 1, SL_SLOW_CANCEL_ONLY = 2 };      /* ... and then its a: a deadline or a
							     * context's bound was in force; its only
							     * bound was a context with no deadline */

/* which libc call an event or in-flight record is about */
enum sl_call {
	SL_CALL_NONE = 0, SL_CALL_SOCKET, SL_CALL_SOCKETPAIR, SL_CALL_CONNECT,
	SL_CALL_ACCEPT, SL_CALL_BIND, SL_CALL_LISTEN, SL_CALL_SEND, SL_CALL_RECV,
	SL_CALL_READ, SL_CALL_WRITE, SL_CALL_SENDFILE, SL_CALL_SETSOCKOPT,
	SL_CALL_GETSOCKOPT, SL_CALL_SHUTDOWN, SL_CALL_CLOSE, SL_CALL_FCNTL,
	SL_CALL_EXEC, SL_CALL_GETADDRINFO, SL_CALL_GETHOSTBYNAME, SL_CALL_SPLICE,
	SL_CALL_RESOLVE, /* a lookup by the program's own resolver (Go's), seen in its DNS exchanges */
	SL_CALL__COUNT
};

struct sl_event {
	uint64_t commit;          /* seq + 1 once the record is complete; 0 while it is written */
	uint64_t seq;             /* the reservation number: the order events happened in */
	uint16_t type;            /* enum sl_ev_type */
	uint16_t call;            /* enum sl_call */
	int32_t fd;
	int32_t err;              /* errno, 0 on success */
	uint32_t tid;
	uint64_t ts_ns;           /* when the call started */
	uint64_t dur_ns;
	uint64_t conn_id;
	uint32_t stack;
	uint8_t role;             /* the connection's enum sl_role then (its slot may be reused by the
				   * time the log is read); 0 when not known */
	uint8_t pad[3];
	int64_t a, b;             /* per type */
	struct sl_addr addr;      /* peer for CONNECT/OPEN, local for LISTEN/BIND, name for DNS */
};

/* ---- stacks, modules, in-flight calls ------------------------------------ */

#define SL_LAT_BUCKETS 16u /* latency histogram: bucket i counts [2^i, 2^(i+1)) x 64 us; the last is open */

/* A call site: raw return addresses, deduplicated through the bucket table (chained by next),
 * and exact counters of what happened there, kept however long the process runs. Stack id =
 * index + 1. */
struct sl_stack {
	uint32_t commit;          /* 0 empty, 1 being written, 2 valid */
	uint32_t nframes;
	uint32_t next;            /* next stack id in the same bucket, 0 = end */
	uint32_t lat_call;        /* enum sl_call whose latencies lat[] counts (connect, getaddrinfo), 0 none */
	uint64_t hash;
	uint64_t ip[SL_MAX_FRAMES]; /* return addresses, innermost first, shim frames removed */
	/* counters (atomic adds) */
	uint64_t hits;            /* calls made from here that were captured */
	uint64_t fails;           /* of which failed (err_no histogram below) */
	int32_t err_no[SL_ERRS];
	uint64_t err_count[SL_ERRS];
	uint64_t slow;            /* calls from here over slow_ns */
	uint64_t max_ns;          /* the longest (connect latency, blocked call) */
	uint64_t lat[SL_LAT_BUCKETS]; /* latencies of lat_call */
	uint64_t closed;          /* TCP client connections opened here that were closed */
	uint64_t short_closed;    /* ... within a second, after at most one write and one read */
	uint64_t same_peer_short; /* ... of which to the same peer as the previous one (churn) */
	uint64_t last_peer;       /* hash of the previous closed connection's peer address */
	uint64_t last_fail_ns;    /* when the last failure here ended (CLOCK_MONOTONIC): failures past
				   * what the event table keeps are counted here, and still dated */
};

struct sl_module {
	uint32_t commit;          /* 1 once valid */
	uint32_t buildid_len;
	uint64_t base;            /* load bias */
	uint64_t lo, hi;          /* the object's mapped address range */
	uint8_t buildid[SL_BUILDID_MAX];
	char path[SL_MODPATH_MAX];/* "" never: the main program's path is filled in */
	uint32_t pad;
};

/* A frame of an interpreted language (Python, Java, JavaScript), named when first seen. A stack's ip is then
 * SL_LANG_IP | (record index): no code address has the top bit set. */
#define SL_LANG_IP (1ull << 63)
#define SL_LANG_FUNC 96u
#define SL_LANG_FILE 152u
struct sl_lang {
	uint16_t commit;          /* 1 once valid */
	uint16_t lang;            /* enum sl_lang_kind */
	int32_t line;             /* -1 when the code has no line there */
	uint64_t key;             /* what the writer deduplicates by (code object and offset) */
	char func[SL_LANG_FUNC];  /* the qualified name, NUL-terminated */
	char file[SL_LANG_FILE];
};

/* One per live thread that made a blocking socket call; released when the thread ends. */
struct sl_inflight {
	uint32_t owner;           /* 0 free; else the tid holding the record (claimed by CAS), or the
				   * goroutine's id (its low 32 bits) */
	uint32_t call;            /* enum sl_call, 0 when the thread is not in a call */
	int32_t fd;
	uint32_t goroutine;       /* 1: a Go goroutine parked in the netpoller (the tracer's sample);
				   * site then holds SL_SITE_STACK | its stack */
	uint64_t conn_id;
	uint64_t since_cns;
	uint64_t site;            /* caller address */
};

#endif
