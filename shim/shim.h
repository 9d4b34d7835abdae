/* shim.h - internal interfaces of libsocklens.so: real functions, fd table, log writer, recorder. */
#ifndef SL_SHIM_H
#define SL_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "socklens/log.h"
#include "clock.h"

/* Everything declared here is internal to the shim: accessed directly, never through the GOT. */
#pragma GCC visibility push(hidden)

#define SL_EXPORT __attribute__((visibility("default")))
/* The out-of-line body of a data wrapper: not cold (it is every socket call), just kept
 * out of the exported function so the non-socket path stays a few instructions. */
#define SL_OUTLINE __attribute__((noinline))
#define SL_INLINE static inline __attribute__((always_inline))
#define SL_TLS __attribute__((tls_model("initial-exec"))) __thread

/* ---- log writer (logw.c) and run control (runctl.c): usable without preloading ---- */

struct sl_log_params {
	uint32_t slots, events, stacks, modules, inflight, langs;
	uint64_t slow_ns;
	int trace;           /* also log opens, closes, options and successful connects */
	int no_argv;         /* keep argv[0] only */
	int no_lang_frames;  /* SOCKLENS_NO_LANG_FRAMES=1: native frames only */
	int v8_perf_map;     /* SOCKLENS_V8_PERF_MAP=1: V8 writes its perf map (names JIT frames) */
	int of_pid;          /* the process the log is about, when not this one (a tracer's) */
};

struct sl_log {
	struct sl_log_header *hdr; /* NULL: not recording */
	struct sl_run_header *run; /* the run's budget and counters; NULL: none (unlimited) */
	struct sl_slot *slots;
	struct sl_event *events;
	struct sl_stack *stacks;
	uint32_t *buckets;
	struct sl_module *mods;
	struct sl_inflight *infl;
	struct sl_lang *langs;
	size_t size;
};

void sl_log_params_default(struct sl_log_params *p);
/* Creates p<pid>.<seq>.sllog in dir, owner-only and exclusive, sparse, with only its header
 * materialized (charged to run). Returns 0 or -errno (-ENOSPC: budget or filesystem full,
 * -EFBIG: RLIMIT_FSIZE too small); on error nothing is left behind. Async-signal-safe. */
int sl_log_create(struct sl_log *log, const char *dir, const struct sl_log_params *p,
		  int pid, int ppid, struct sl_run_header *run);
/* Makes record i of table t usable; 0 or -errno (the caller counts a drop). */
int sl_grow(struct sl_log *log, int t, uint64_t i);

/* Takes a free (or the oldest closed) slot and marks it live; NULL when none can be had. */
struct sl_slot *sl_slot_alloc(struct sl_log *log);
/* A slot for a new socket, its identity filled (the type without SOCK_NONBLOCK/SOCK_CLOEXEC); NULL
 * when none is free, counted in untracked_fds. Used by the shim and by socklens run's tracer. */
struct sl_slot *sl_slot_open(struct sl_log *log, int fd, int family, int type, int protocol, int role);
void sl_slot_close(struct sl_log *log, struct sl_slot *s, uint64_t when);
/* Reserves an event record; NULL (and counted as dropped) when it cannot be had. */
struct sl_event *sl_ev_begin(struct sl_log *log, uint16_t type, uint16_t call, int fd);
void sl_ev_commit(struct sl_log *log, struct sl_event *ev);
/* Deduplicates a stack; returns its id (index + 1) or 0 when the table is full.
 * *inserted (if not NULL) says whether this call added it. */
uint32_t sl_stack_intern(struct sl_log *log, const uint64_t *ip, uint32_t n, int *inserted);
struct sl_stack *sl_stack_at(struct sl_log *log, uint32_t id);
/* Counts one call at site id: failed with err (0 = ok), lasting dur_ns, a connect latency for
 * the histogram, a slow call. */
/* sockopt.c: the option (enum sl_opt) setsockopt(level, name) sets, -1 for those not kept; and
 * its value as the log stores it (timeouts in microseconds, SO_LINGER's seconds or -1 when off). */
int sl_opt_index(int level, int name);
int64_t sl_opt_value(int idx, const void *val, socklen_t len);
void sl_site_count(struct sl_log *log, uint32_t id, int err, uint64_t dur_ns, int lat_call, int slow);
/* Records a loaded object; returns 0 or -ENOSPC. */
int sl_module_add(struct sl_log *log, const char *path, uint64_t base, uint64_t lo,
		  uint64_t hi, const uint8_t *bid, uint32_t bidlen);
int sl_module_known(const struct sl_log *log, uint64_t ip);
/* Records a language frame; its index (for SL_LANG_IP), or -1 when the table is full. */
int64_t sl_lang_add(struct sl_log *log, int lang, uint64_t key, const char *func, const char *file, int line);
struct sl_inflight *sl_inflight_claim(struct sl_log *log, uint32_t tid);
void sl_inflight_release(struct sl_inflight *f);
void sl_addr_set(struct sl_addr *dst, const struct sockaddr *sa, socklen_t len);
void sl_slot_count_error(struct sl_slot *s, int err);

/* madvise(MADV_POPULATE_WRITE): 0, or -errno where touching would have raised SIGBUS. */
int sl_populate(void *addr, size_t len);
/* Half the free space of dir's filesystem, at most 1 GiB. */
uint64_t sl_budget_default(const char *dir);
/* Maps dir/run.slctl, creating it (with budget and flags) if it does not exist yet. NULL when
 * it cannot be had or is not ours. */
struct sl_run_header *sl_run_attach(const char *dir, uint64_t budget, uint32_t flags);
/* Creates dir/run.slctl exclusively; NULL with *err = -errno on failure. */
struct sl_run_header *sl_run_create(const char *dir, uint64_t budget, uint32_t flags, int *err);
/* Takes bytes from the budget; 0 or -ENOSPC (counted). r may be NULL (no budget). */
int sl_run_reserve(struct sl_run_header *r, uint64_t bytes);
void sl_run_untraced(struct sl_run_header *r, int why);
/* 1 for the first caller in the whole run, 0 after. */
int sl_run_first_warning(struct sl_run_header *r);
void sl_run_exec(struct sl_run_header *r, int pid, int ppid, int why, const char *path, uint64_t now);

/* ---- fd table (fdtab.c): private memory, one word per fd ---- */

/* Entries: below SL_FD_SLOT0 a state; from SL_FD_SLOT0 a live slot (index + SL_FD_SLOT0); with
 * the top bit set, a socket closed here, whose slot was SL_FD_CLOSED ^ entry. Read as signed,
 * everything that is not a live slot compares below SL_FD_SLOT0. */
enum {
	SL_FD_UNKNOWN = 0,   /* never seen, or closed: classify on next use */
	SL_FD_OTHER = 1,     /* not a socket */
	SL_FD_NOSLOT = 2,    /* a socket with no slot (table full) */
	SL_FD_PARENT = 3,    /* open at fork: the parent's socket, seen here only once used */
	SL_FD_SLOT0 = 4
};
#define SL_FD_CLOSED 0x80000000u

extern uint32_t *sl_fdtab;
extern uint32_t sl_fdcap; /* 0 until the table exists: every lookup then says UNKNOWN */

static inline uint32_t sl_fd_get(int fd)
{
	return (unsigned)fd < sl_fdcap ? __atomic_load_n(&sl_fdtab[fd], __ATOMIC_ACQUIRE) : SL_FD_UNKNOWN;
}

static inline int sl_fd_live(uint32_t ent)
{
	return (int32_t)ent >= SL_FD_SLOT0;
}

int sl_fdtab_init(uint32_t cap);
void sl_fd_set(int fd, uint32_t ent);
/* Replaces fd's entry if it still is old; 0 if another thread changed it first (*old: what it is). */
int sl_fd_replace(int fd, uint32_t *old, uint32_t ent);
uint32_t sl_fd_hiwater(void);

/* ---- process-wide state (init.c) ---- */

struct sl_state {
	struct sl_log log;
	int pid;             /* cached; differs from getpid() in a vfork child */
	int ready;           /* constructor done and log created */
	char dir[512];       /* where this process's logs go: top, or top/u<uid> (hook_user.c) */
	char top[512];       /* the run directory (SOCKLENS_DIR) */
	struct sl_log_params params;
	uint64_t shim_lo, shim_hi; /* our own text, dropped from stacks */
	uintptr_t slot_bias;       /* slots - SL_FD_SLOT0: an fd-table entry indexes it directly */
	uint64_t run_size;         /* bytes of log.run's mapping (read from private memory on a fault) */
	int alarm_armed;           /* alarm() or ITIMER_REAL is set: blocking calls have a deadline */
};
extern struct sl_state sl_g;

/* The slot an fd-table entry >= SL_FD_SLOT0 names (one multiply and one add). */
static inline struct sl_slot *sl_slot_of(uint32_t ent)
{
	return (struct sl_slot *)(sl_g.slot_bias + (uintptr_t)ent * sizeof(struct sl_slot));
}

static inline void sl_slot_bias_set(void)
{
	sl_g.slot_bias = (uintptr_t)sl_g.log.slots - SL_FD_SLOT0 * sizeof(struct sl_slot);
}

/* 1 in a vfork child (it shares our memory: the log is not its to touch). A child of a raw clone
 * with its own memory is given its own log here and is not one. */
int sl_in_vfork_child(void);
void sl_after_fork_child(void);
void sl_after_fork_parent(void);

/* ---- stacks (stack.c) ---- */

void sl_stack_init(void);
/* Language frames named once per process (stack.c): the record of key or -1; remember returns id. */
int64_t sl_lang_cached(uint64_t key);
int64_t sl_lang_remember(uint64_t key, int64_t id);
void sl_lang_forget(void);

/* pyframes.c: CPython's frames in captured stacks. sl_py_frames rewrites ip[0, n): the native
 * frames above the evaluator, then the thread's Python frames (SL_LANG_IP records); the new n. */
void sl_py_init(void);
int sl_py_active(void); /* Python frames are being read */
uint32_t sl_py_frames(uint64_t *ip, uint32_t n, uint32_t cap);
/* langrt.c: Node.js (V8 asked for its perf map) and Java (JVMTI) frames */
void sl_v8_init(void);
extern SL_TLS uint32_t sl_t_origin; /* Node.js: the stack of the JavaScript call under way */
int sl_node_origins(void);          /* socklens-node.js runs in this process */
int sl_java_active(void); /* Java frames are being read */
uint32_t sl_java_frames(uint64_t *ip, uint32_t n, uint32_t cap);
uint32_t sl_stack_capture(void);
/* Makes sure the object holding the code address ip is in the module map (a call site kept as an
 * address, not in a captured stack). */
void sl_stack_note_site(uint64_t ip);

#pragma GCC visibility pop

#endif
