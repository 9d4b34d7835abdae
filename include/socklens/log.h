/* socklens log format: the only contract between the shim (writer) and the analyzer (reader). */
#ifndef SOCKLENS_LOG_H
#define SOCKLENS_LOG_H

#include <stdint.h>

/*
 * One file per process image, created by the shim in the run directory as
 * "p<pid>.<seq>.sllog" (seq counts images of one pid: exec starts a new file).
 * All fields are fixed-width and little-endian (the shim only supports x86-64).
 * Layout: header (SL_HEADER_SIZE bytes), then the five tables at the offsets the
 * header gives. The reader checks magic, version, every size and every offset.
 *
 * Concurrency: writers never lock and never wait. Counters named *_next are
 * reservation counters bumped with atomic adds; a reservation past a table's
 * capacity is counted in the matching *_dropped counter. Records carry a commit
 * word stored last with release ordering; a reader ignores uncommitted records.
 */

#define SL_LOG_MAGIC "SOCKLENS"
#define SL_LOG_VERSION 1u
#define SL_HEADER_SIZE 4096u
#define SL_MAX_FRAMES 32u
#define SL_EXE_MAX 256u
#define SL_ARGV_MAX 1024u
#define SL_MODPATH_MAX 400u
#define SL_BUILDID_MAX 20u
#define SL_ADDR_DATA 108u

/* A socket address as the kernel returned it, truncated to SL_ADDR_DATA bytes. */
struct sl_addr {
	uint16_t family;        /* AF_UNSPEC (0) when unknown */
	uint16_t len;           /* bytes of data[] that are valid */
	uint8_t data[SL_ADDR_DATA]; /* the sockaddr after its family field */
};

enum sl_end_reason {
	SL_END_NONE = 0,        /* running, or ended without telling (signal, SIGKILL) */
	SL_END_EXIT = 1,        /* exit()/_exit() with exit_status */
	SL_END_EXEC = 2,        /* replaced by execve(); the next seq continues the pid */
};

enum sl_tick_kind { SL_TICK_NS = 0, SL_TICK_TSC = 1, SL_TICK_TSC_VARIABLE = 2 };

enum sl_hdr_flags {
	SL_HDR_STACKS = 1u << 0,   /* libunwind was loaded: stacks are captured */
	SL_HDR_FORKED = 1u << 1,   /* created in a fork child */
	SL_HDR_INHERITED = 1u << 2 /* created after exec: inherited fds were scanned */
};

struct sl_log_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint64_t file_size;

	/* record sizes, so a reader can refuse a layout it was not built for */
	uint32_t slot_size, event_size, stack_size, module_size, inflight_size;
	/* table capacities and offsets from the start of the file */
	uint32_t slot_cap, event_cap, stack_cap, module_cap, inflight_cap;
	uint64_t slot_off, event_off, stack_off, module_off, inflight_off;

	int32_t pid, ppid;
	uint32_t seq;             /* image number within pid (0 = first) */
	uint32_t flags;           /* enum sl_hdr_flags */
	uint64_t start_mono_ns;   /* CLOCK_MONOTONIC at creation; every *_ns is on this clock */
	uint64_t start_real_ns;   /* CLOCK_REALTIME at creation, to print wall times */
	uint64_t proc_start_ticks;/* /proc/<pid>/stat field 22: tells a live pid from a reused one */
	uint64_t slow_ns;         /* calls slower than this were logged as events */
	/* Clock: slot and in-flight times marked "ticks" are TSC cycles. Two calibration pairs,
	 * (tsc0, mono0) at creation and the latest (tsc1, mono1), convert them to time.
	 * SL_TICK_TSC_VARIABLE: the CPU does not promise a constant rate; durations are rough. */
	uint32_t tick_kind;
	uint32_t pad_clock;
	uint64_t tsc0, mono0, tsc1, mono1;
	char boot_id[40];         /* /proc/sys/kernel/random/boot_id: the TSC means nothing across boots */
	char exe[SL_EXE_MAX];     /* readlink /proc/self/exe, NUL-terminated */
	char argv[SL_ARGV_MAX];   /* NUL-separated arguments, truncated */
	uint32_t argv_len;

	/* live counters, updated with atomics by the writer */
	uint32_t end_reason;      /* enum sl_end_reason */
	int32_t exit_status;
	uint32_t pad0;
	uint64_t end_mono_ns;
	uint64_t slot_next, slot_recycled, slot_dropped;
	uint64_t event_next, event_dropped;
	uint64_t stack_dropped;
	uint64_t module_next, module_dropped;
	uint64_t inflight_next, inflight_dropped;
	uint64_t conn_next;       /* last connection id handed out */
	uint64_t untracked_fds;   /* sockets seen with no free slot */
};

/* ---- connection slots ---------------------------------------------------- */

enum sl_slot_state { SL_SLOT_FREE = 0, SL_SLOT_LIVE = 1, SL_SLOT_CLOSED = 2, SL_SLOT_BUSY = 3 };

enum sl_role {
	SL_ROLE_NONE = 0,      /* created, not yet connected or listening */
	SL_ROLE_CLIENT = 1,    /* connect() */
	SL_ROLE_SERVER = 2,    /* accept()ed */
	SL_ROLE_LISTENER = 3,  /* listen() */
	SL_ROLE_PAIR = 4,      /* socketpair() */
	SL_ROLE_INHERITED = 5  /* found open at start (exec, socket activation) */
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
	SL_SF_EOF = 1u << 3,       /* a read returned 0 */
	SL_SF_SHUT_RD = 1u << 4,
	SL_SF_SHUT_WR = 1u << 5,
	SL_SF_TCPINFO = 1u << 6,   /* tcp_* fields are valid */
	SL_SF_BLOCKING_READ = 1u << 7, /* a read ran while the socket was blocking */
	SL_SF_CLOSED_BY_EXEC = 1u << 8,
	SL_SF_CLOSE_UNSEEN = 1u << 9,  /* fd was reused before we saw a close */
	SL_SF_FROM_PARENT = 1u << 10,  /* inherited across fork: the parent has its own record */
	SL_SF_CONNECTING = 1u << 11,   /* a non-blocking connect awaits its outcome */
	SL_SF_WATCH_READ = 1u << 12    /* blocking, and no blocking read seen yet: record the next */
};

#define SL_ERRS 4u

struct sl_slot {
	uint32_t state;           /* enum sl_slot_state, the commit word */
	uint32_t gen;             /* bumped each time the slot is reused */
	uint64_t conn_id;         /* unique within the log, from 1 */
	int32_t fd;
	uint16_t family, type;    /* type without SOCK_NONBLOCK/SOCK_CLOEXEC */
	int32_t protocol;
	uint8_t role, connect_state, tcp_state, pad1;
	uint32_t flags;           /* enum sl_slot_flags */
	uint32_t refs;            /* fds sharing this slot (dup) */
	uint64_t open_ns, close_ns;
	uint32_t open_stack, close_stack, connect_stack, error_stack; /* 0 = none */
	uint64_t read_site;       /* caller address of the first blocking read */
	struct sl_addr local, peer;
	/* Counters of one direction are updated with plain (unlocked) adds: exact while one thread
	 * at a time moves data in that direction, which is how sockets are used; two threads
	 * sending (or receiving) on one socket at the same instant can lose an increment. */
	uint64_t bytes_out, bytes_in, calls_out, calls_in, eagain_out, eagain_in;
	uint64_t blocked_out_ticks, blocked_in_ticks; /* total time inside data calls */
	uint64_t read_max_ticks;  /* longest single read-side call */
	uint64_t write_max_ticks;
	uint64_t connect_start_ns, connect_ns;
	int32_t connect_errno, pad2;
	int32_t err_no[SL_ERRS];
	uint32_t err_count[SL_ERRS];
	uint32_t err_total;
	uint32_t opts_set;        /* bitmask of enum sl_opt */
	int64_t opt[SL_OPT__COUNT]; /* timeouts in microseconds, the rest as set */
	uint32_t tcp_rtt_us, tcp_rttvar_us, tcp_retrans, tcp_lost;
	uint64_t pad3;
};

/* ---- events --------------------------------------------------------------- */

/* Without SOCKLENS_TRACE=1 only failed connects, listens, errors and slow calls are logged:
 * the slots already hold what OPEN, OPTION, CLOSE and successful CONNECT events would say. */
enum sl_ev_type {
	SL_EV_OPEN = 1,        /* socket/socketpair/accept/inherit: see role */
	SL_EV_CONNECT = 2,     /* a connect outcome: err 0 = connected */
	SL_EV_LISTEN = 3,
	SL_EV_ERROR = 4,       /* a socket call failed (not EAGAIN/EINPROGRESS) */
	SL_EV_SLOW = 5,        /* a call took longer than slow_ns */
	SL_EV_OPTION = 6,      /* setsockopt/fcntl: a = level/opt code, value in b */
	SL_EV_CLOSE = 7,
	SL_EV_UNTRACED_EXEC = 8 /* an exec the preload cannot follow: err is an enum sl_untraced,
				   addr.data the program's path (NUL-terminated, truncated) */
};

enum sl_untraced {
	SL_UNTRACED_ENV = 1,      /* the new environment drops LD_PRELOAD or SOCKLENS_DIR */
	SL_UNTRACED_SETUID = 2,   /* setuid/setgid: the loader ignores LD_PRELOAD */
	SL_UNTRACED_STATIC = 3    /* no PT_INTERP: nothing loads the shim */
};

/* which libc call an event or in-flight record is about */
enum sl_call {
	SL_CALL_NONE = 0, SL_CALL_SOCKET, SL_CALL_SOCKETPAIR, SL_CALL_CONNECT,
	SL_CALL_ACCEPT, SL_CALL_BIND, SL_CALL_LISTEN, SL_CALL_SEND, SL_CALL_RECV,
	SL_CALL_READ, SL_CALL_WRITE, SL_CALL_SENDFILE, SL_CALL_SETSOCKOPT,
	SL_CALL_GETSOCKOPT, SL_CALL_SHUTDOWN, SL_CALL_CLOSE, SL_CALL_FCNTL,
	SL_CALL_EXEC, SL_CALL__COUNT
};

struct sl_event {
	uint32_t commit;          /* index + 1 once the record is complete */
	uint16_t type;            /* enum sl_ev_type */
	uint16_t call;            /* enum sl_call */
	int32_t fd;
	int32_t err;              /* errno, 0 on success */
	uint64_t ts_ns;           /* when the call started */
	uint64_t dur_ns;
	uint64_t conn_id;
	uint32_t stack;
	uint32_t tid;
	int64_t a, b;             /* per type: option code/value, exit reason… */
	struct sl_addr addr;      /* peer for CONNECT/OPEN, local for LISTEN */
};

/* ---- stacks, modules, in-flight calls ------------------------------------ */

/* Open-addressed table of raw return addresses; stack id = index + 1. */
struct sl_stack {
	uint32_t commit;          /* 0 empty, 1 being written, 2 valid */
	uint32_t nframes;
	uint64_t hash;
	uint64_t ip[SL_MAX_FRAMES]; /* return addresses, innermost first, shim frames removed */
};

struct sl_module {
	uint32_t commit;          /* 1 once valid */
	uint32_t buildid_len;
	uint64_t base;            /* load bias (dlpi_addr) */
	uint64_t lo, hi;          /* lowest and highest mapped address of PT_LOAD segments */
	uint8_t buildid[SL_BUILDID_MAX];
	char path[SL_MODPATH_MAX];/* "" never: the main program's path is filled in */
	uint32_t pad;
};

struct sl_inflight {
	uint32_t tid;
	uint32_t call;            /* enum sl_call, 0 when the thread is not in a call */
	int32_t fd;
	uint32_t pad;
	uint64_t conn_id;
	uint64_t since_ticks;
	uint64_t site;            /* caller address */
};

#endif
