/* shim.h - internal interfaces of libsocklens.so: fd table, process state, stacks and language
 * frames. The log writer and the recorder it calls are in recorder/. */
#ifndef SL_SHIM_H
#define SL_SHIM_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "logw.h"

/* Everything declared here is internal to the shim: accessed directly, never through the GOT. */
#pragma GCC visibility push(hidden)

#define SL_EXPORT __attribute__((visibility("default")))
/* The out-of-line body of a data wrapper: not cold (it is every socket call), just kept
 * out of the exported function so the non-socket path stays a few instructions. */
#define SL_OUTLINE __attribute__((noinline))

/* ---- fd table (fdtab.c): private memory, one word per fd ---- */

/* Entries: below SL_FD_SLOT0 a state; from SL_FD_SLOT0 a live slot (index + SL_FD_SLOT0); with
 * the top bit set, a socket closed here, whose slot was SL_FD_CLOSED ^ entry. Read as signed,
 * everything that is not a live slot compares below SL_FD_SLOT0. */
enum {
	SL_FD_UNKNOWN = 0,   /* never seen, or closed: classify on next use */
	SL_FD_OTHER = 1,     /* not a socket */
	SL_FD_NOSLOT = 2,    /* a socket with no slot (table full) */
	SL_FD_PARENT = 3,    /* open at fork: the parent's socket, seen here only once used */
	SL_FD_PARENT_SERVER = 4, /* the same, a connection the parent accepted: this child serves it */
	SL_FD_SLOT0 = 5
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
	int ready;           /* constructor done: recording (the log itself may not be made yet) */
	int log_state;       /* enum sl_log_state */
	char dir[512];       /* where this process's logs go: top, or top/u<uid> (hook_user.c) */
	char top[512];       /* the run directory (SOCKLENS_DIR) */
	struct sl_log_params params;
	uint64_t shim_lo, shim_hi; /* our own text, dropped from stacks */
	uintptr_t slot_bias;       /* slots - SL_FD_SLOT0: an fd-table entry indexes it directly */
	uint64_t run_size;         /* bytes of log.run's mapping (read from private memory on a fault) */
	int alarm_armed;           /* alarm() or ITIMER_REAL is set: blocking calls have a deadline */
	/* A fork child's parent's log, still mapped: read for what the child inherits and unmapped
	 * when the child makes its own (an exec drops it for nothing); NULL: none */
	struct sl_log_header *parent_hdr;
	size_t parent_size;
};
extern struct sl_state sl_g;

/* An exec'd program makes its log in the constructor; a fork child the first time it has something
 * to record (a socket, a lookup): one that execs at once costs no file, no page of it, no /proc
 * read. Until then sl_g.log.hdr is a header in the shim's own memory (no tables) that gathers what
 * the image learns of itself (its runtime's flags, its forks), copied into the log when made. */
enum sl_log_state {
	SL_LOG_MADE = 0,   /* sl_g.log is the file's (or the shim is not recording) */
	SL_LOG_LATER = 1,  /* not made yet */
	SL_LOG_MAKING = 2, /* a thread is making it */
	SL_LOG_FAILED = 3  /* it could not be made: the image runs untraced */
};
/* What a fork child takes from its parent's log header: what the parent learned of its runtime. */
#define SL_HDR_INHERIT                                                                                    \
	(SL_HDR_STACKS | SL_HDR_PY_FRAMES | SL_HDR_PY_UNREAD | SL_HDR_JAVA_FRAMES | SL_HDR_JAVA_UNREAD |  \
	 SL_HDR_JS_ORIGINS | SL_HDR_JS_UNREAD | SL_HDR_V8_MAP | SL_HDR_IO_URING)
/* The log, made now if it is not yet (process.c): 1 when sl_g.log is a file's, 0 when not. */
int sl__log_need(void);
/* While the constructor runs (on: 1), a log needed is made in place: no other thread runs yet. */
void sl__constructing(int on);
/* The image's log is to be made when first needed (process.c): the header in memory starts
 * with ppid, flags and the start times. */
void sl__log_later(int ppid, uint32_t flags);

/* The slot an fd-table entry >= SL_FD_SLOT0 names (one multiply and one add). */
static inline struct sl_slot *sl_slot_of(uint32_t ent)
{
	return (struct sl_slot *)(sl_g.slot_bias + (uintptr_t)ent * sizeof(struct sl_slot));
}

static inline void sl_slot_bias_set(void)
{
	sl_g.slot_bias = (uintptr_t)sl_g.log.slots - SL_FD_SLOT0 * sizeof(struct sl_slot);
}

/* ---- this process and its threads (process.c) ---- */

/* 1 in a vfork child (it shares our memory: the log is not its to touch). A child of a raw clone
 * with its own memory is given its own log here and is not one. */
int sl_in_vfork_child(void);
void sl_after_fork_child(void);
void sl_after_fork_parent(void);
/* Blocks every signal while the shim holds an fd of its own, so no handler of the program can
 * run and see it; the old mask goes back with sl__restore_signals. */
void sl__block_signals(uint64_t *old);
void sl__restore_signals(const uint64_t *old);
/* Why a log could not be created (sl_log_create's -errno), as the run counts it (SL_UNTRACED_*). */
int sl__untraced_reason(int err, const struct sl_run_header *run);
/* One line on stderr, "socklens: " and the parts that are not NULL, with raw syscalls (process.c). */
void sl__say(const char *a, const char *b, const char *c, const char *d, const char *e);
uint32_t sl__tid(void); /* the calling thread's id, cached */
void sl__threads_init(void); /* a thread's in-flight record goes back when it ends */
void sl__thread_reset(void); /* in a fork child: the thread's cached state was the parent's */
/* This process reaped child pid, which ended with wait status status (an event). Keeps errno. */
void sl__record_reaped(int pid, int status);

/* ---- stacks (stack.c) ---- */

void sl_stack_init(void);
/* The descriptor of the note of that type and name ("GNU", "Go") among a loaded object's program
 * headers (its load bias: what the headers' addresses are off by), mapped as the loader left it;
 * NULL when there is none. in_file: the headers are a file's, read from its start into in_file
 * bytes at bias (the notes found by their offsets, those past in_file left out). */
const void *sl__elf_note(const ElfW(Phdr) *ph, unsigned phnum, uint64_t bias, uint32_t type, const char *name,
			 uint32_t *len, size_t in_file);
/* Language frames named once per process (langcache.c): the record of key or -1; remember returns id. */
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
