/* logw.h - the log writer (logw.c), the run's control file (runctl.c) and the option table
 * (sockopt.c): what both front ends and the analyzer use to write the log format of
 * include/socklens/log.h. No libc wrapping, no process-wide state: a log is an sl_log. */
#ifndef SL_LOGW_H
#define SL_LOGW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "socklens/log.h"
#include "clock.h"

/* Hidden: inside the shim these are called directly, never through the GOT. */
#pragma GCC visibility push(hidden)

#define SL_INLINE static inline __attribute__((always_inline))
#define SL_TLS __attribute__((tls_model("initial-exec"))) __thread
/* Code a process runs as it starts (the constructor) and between a fork and its exec: kept in one
 * stretch of the shim's text (the linker puts .text.startup ahead of the rest), so a fork child,
 * whose every page read is a fault of its own, and a new image fault it in once, not in three
 * places. */
#define SL_START __attribute__((section(".text.startup")))

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
/* How many calls at site id failed with err so far (0 when not known). */
uint64_t sl_site_failures(struct sl_log *log, uint32_t id, int err);
/* Records a loaded object; returns 0 or -ENOSPC. */
int sl_module_add(struct sl_log *log, const char *path, uint64_t base, uint64_t lo,
		  uint64_t hi, const uint8_t *bid, uint32_t bidlen);
int sl_module_known(const struct sl_log *log, uint64_t ip);
/* The recorded object holding ip, or NULL. */
const struct sl_module *sl_module_of(const struct sl_log *log, uint64_t ip);
/* Records a language frame; its index (for SL_LANG_IP), or -1 when the table is full. */
int64_t sl_lang_add(struct sl_log *log, int lang, uint64_t key, const char *func, const char *file, int line);
struct sl_inflight *sl_inflight_claim(struct sl_log *log, uint32_t tid);
void sl_inflight_release(struct sl_inflight *f);
void sl_addr_set(struct sl_addr *dst, const struct sockaddr *sa, socklen_t len);
/* The other way: a as a sockaddr in out; its length, or 0 when a holds none. */
socklen_t sl_addr_get(const struct sl_addr *a, struct sockaddr_storage *out);
void sl_slot_count_error(struct sl_slot *s, int err);

/* madvise(MADV_POPULATE_WRITE): 0, or -errno where touching would have raised SIGBUS. */
int sl_populate(void *addr, size_t len);
/* madvise(MADV_RANDOM) on a log's mapping: its faults read nothing ahead (runctl.c says why). */
void sl_no_readahead(void *addr, size_t len);
/* Half the free space of dir's filesystem, at most 1 GiB. */
uint64_t sl_budget_default(const char *dir);
/* Maps dir/run.slctl, creating it (with budget(dir) bytes of log space and flags) if it does not
 * exist yet. NULL when it cannot be had or is not ours. */
struct sl_run_header *sl_run_attach(const char *dir, uint64_t (*budget)(const char *dir), uint32_t flags);
/* Creates dir/run.slctl exclusively; NULL with *err = -errno on failure. */
struct sl_run_header *sl_run_create(const char *dir, uint64_t budget, uint32_t flags, int *err);
/* ... with room for --inject's relay map after the exec table (struct sl_inject_table's map_off). */
struct sl_run_header *sl_run_create_with(const char *dir, uint64_t budget, uint32_t flags, int relay_map, int *err);
/* Takes bytes from the budget; 0 or -ENOSPC (counted). r may be NULL (no budget). */
int sl_run_reserve(struct sl_run_header *r, uint64_t bytes);
void sl_run_untraced(struct sl_run_header *r, int why);
/* 1 for the first caller in the whole run, 0 after. */
int sl_run_first_warning(struct sl_run_header *r);
void sl_run_exec(struct sl_run_header *r, int pid, int ppid, int why, const char *path, uint64_t now);
/* The image just started by an exec marks its exec record arrived (1), or finds none (0). */
uint32_t sl_run_arrived(struct sl_run_header *r, int pid);
/* The image of pid could not make its log: its arrived record says so (SL_EXEC_NOLOG). */
void sl_run_no_log(struct sl_run_header *r, int pid);
/* pid's last exec failed: its record says so (SL_EXEC_FAILED). Async-signal-safe. */
void sl_run_exec_failed(struct sl_run_header *r, int pid);
/* The exec that started pid, just marked arrived, was not followed after all (why: enum
 * sl_untraced): the shim runs in the program but cannot see its sockets (a cgo Go program's). */
void sl_run_not_followed(struct sl_run_header *r, int pid, uint32_t why);

#pragma GCC visibility pop

#endif
