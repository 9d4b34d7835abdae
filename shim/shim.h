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

/* ---- log writer (logw.c): usable without preloading, as the unit tests do ---- */

struct sl_log_params {
	uint32_t slots, events, stacks, modules, inflight;
	uint64_t slow_ns;
	int trace;           /* also log opens, closes, options and successful connects */
};

struct sl_log {
	struct sl_log_header *hdr; /* NULL: not recording */
	struct sl_slot *slots;
	struct sl_event *events;
	struct sl_stack *stacks;
	struct sl_module *mods;
	struct sl_inflight *infl;
	size_t size;
};

void sl_log_params_default(struct sl_log_params *p);
/* Creates p<pid>.<seq>.sllog in dir, owner-only and exclusive, fully allocated.
 * Returns 0 or -errno; on error log is left unset. Async-signal-safe. */
int sl_log_create(struct sl_log *log, const char *dir, const struct sl_log_params *p,
		  int pid, int ppid);

/* Takes a free (or the oldest closed) slot and marks it live; NULL when all are open. */
struct sl_slot *sl_slot_alloc(struct sl_log *log);
void sl_slot_close(struct sl_log *log, struct sl_slot *s, uint64_t when);
/* Reserves an event record; NULL (and counted as dropped) when the table is full. */
struct sl_event *sl_ev_begin(struct sl_log *log, uint16_t type, uint16_t call, int fd);
void sl_ev_commit(struct sl_log *log, struct sl_event *ev);
/* Deduplicates a stack; returns its id (index + 1) or 0 when the table is full.
 * *inserted (if not NULL) says whether this call added it. */
uint32_t sl_stack_intern(struct sl_log *log, const uint64_t *ip, uint32_t n, int *inserted);
/* Records a loaded object; returns 0 or -ENOSPC. */
int sl_module_add(struct sl_log *log, const char *path, uint64_t base, uint64_t lo,
		  uint64_t hi, const uint8_t *bid, uint32_t bidlen);
int sl_module_known(const struct sl_log *log, uint64_t ip);
struct sl_inflight *sl_inflight_claim(struct sl_log *log, uint32_t tid);
void sl_addr_set(struct sl_addr *dst, const struct sockaddr *sa, socklen_t len);
void sl_slot_count_error(struct sl_slot *s, int err);

/* ---- fd table (fdtab.c): private memory, one word per fd ---- */

enum { SL_FD_UNKNOWN = 0, SL_FD_OTHER = 1, SL_FD_NOSLOT = 2, SL_FD_SLOT0 = 3 };

extern uint32_t *sl_fdtab;
extern uint32_t sl_fdcap; /* 0 until the table exists: every lookup then says UNKNOWN */

static inline uint32_t sl_fd_get(int fd)
{
	return (unsigned)fd < sl_fdcap ? __atomic_load_n(&sl_fdtab[fd], __ATOMIC_ACQUIRE) : SL_FD_UNKNOWN;
}


int sl_fdtab_init(uint32_t cap);
void sl_fd_set(int fd, uint32_t ent);
uint32_t sl_fd_hiwater(void);

/* ---- process-wide state (init.c) ---- */

struct sl_state {
	struct sl_log log;
	int pid;             /* cached; differs from getpid() in a vfork child */
	int ready;           /* constructor done and log created */
	char dir[512];
	struct sl_log_params params;
	uint64_t shim_lo, shim_hi; /* our own text, dropped from stacks */
	uintptr_t slot_bias;       /* slots - SL_FD_SLOT0: an fd-table entry indexes it directly */
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

int sl_in_vfork_child(void);
void sl_after_fork_child(void);

/* ---- stacks (stack.c) ---- */

void sl_stack_init(void);
uint32_t sl_stack_capture(void);

#pragma GCC visibility pop

#endif
