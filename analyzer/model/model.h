/* model.h - a run's logs as processes and images: one log read and validated (image.c), a run
 * directory indexed (run.c: processes, their tree and fates, how much could be looked at), V8's
 * perf maps kept beside the logs (perfmap.c), and a running process seen from outside (live.c).
 * Uses symbols/ and base/.
 *
 * A run is read in two passes so memory follows the findings, not the logs: the index reads every
 * log's header; the analysis (rules/) then loads one image at a time, and frees it. */
#ifndef SL_MODEL_H
#define SL_MODEL_H

#include "symbols/symbols.h"

/* ---- image.c: one log, copied and validated ---- */

struct sl_image {
	char *path;
	struct sl_log_header h;      /* validated copy */
	struct sl_slot *slots;       /* the records present in each table (holes left out) */
	struct sl_event *events;     /* committed events, in the order they happened */
	struct sl_stack *stacks;     /* by sl_image_stack(id): stack_ids[k] + 1 is stacks[k]'s id */
	struct sl_module *mods;
	struct sl_inflight *infl;
	struct sl_lang *langs;       /* by sl_space_lang(&space, index) */
	uint32_t *stack_ids, *lang_ids;
	uint32_t nslots, nevents, nstacks, nmods, ninfl, nlangs;
	struct sl_jitmap *jit;       /* V8's perf map, for a Node.js process (perfmap.c) */
	char *kept_exe;              /* the program file kept beside the log, or NULL */
	struct sl_space space;       /* what symbolizing its addresses needs */
	uint64_t *injected;          /* connections --inject put a fault into (conn ids, ascending) */
	uint32_t ninjected;
	uint32_t inject_calls;       /* 1 << enum sl_call of every call a fault was injected into */
	uint32_t damaged;            /* records left out: their times cannot be (a log damaged on disk) */
};

/* Reads and validates the header alone. 0, or -1 with a message in err. */
int sl_header_read(const char *path, struct sl_log_header *h, char *err, size_t errlen);
/* Reads the header and every table's records. 0, or -1 with a message in err. */
int sl_image_load(struct sl_image *img, const char *path, char *err, size_t errlen);
void sl_image_release(struct sl_image *img);
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id);
uint32_t sl_image_stack_id(const struct sl_image *img, uint32_t k); /* the id of stacks[k] */
/* Symbolizes stack id of img into at most max frames; returns how many. */
size_t sl_image_symbolize_stack(const struct sl_image *img, uint32_t id, struct sl_frame *f, size_t max);
/* The run control file and its committed exec records (malloc'd). 0, or -1 if absent or bad. */
/* ... and, when inject is not NULL, the faults socklens run --inject was given, with their counters
 * (count 0: none, or none readable). */
int sl_runctl_read(const char *dir, struct sl_run_header *out, struct sl_exec_rec **execs, size_t *nexecs,
		   struct sl_inject_table *inject);
/* 1 when --inject put a fault into connection conn_id of img. */
int sl_image_injected(const struct sl_image *img, uint64_t conn_id);

/* ---- perfmap.c: V8's perf maps ---- */

/* Reads the map of a loaded image: its copy in the run directory, else V8's own while it is that
 * process's. */
void sl_jitmap_attach(struct sl_image *img);
/* Where V8 writes pid's map, and where the copy beside log goes (0, or -1: not a log's name). */
void sl_perfmap_tmp_path(char *out, size_t len, int pid);
int sl_perfmap_copy_path(const char *log, char *out, size_t len);
/* A file kept beside a log: "dir/p12.0.sllog" and ".exe" give "dir/p12.0.exe"; -1 if log is not
 * a log's name or out is too small. */
int sl_log_beside(const char *log, const char *ext, char *out, size_t len);

/* ---- run.c: the index of a run directory ---- */

/* What the index keeps of each log: its header, minus the tables. */
struct sl_image_info {
	char *path;
	struct sl_log_header h;
};

struct sl_proc {
	int pid, ppid;
	struct sl_image_info *images; /* by start time: exec makes a new image */
	size_t nimages;
	int alive;                   /* still running (pid and start time match) */
	int have_status, wstatus;    /* from socklens run's exits file */
	uint64_t end_ns;             /* when it ended, 0 if unknown or alive */
	uint64_t sockets;            /* sockets its images created or found */
	uint64_t inherited;          /* sockets it was handed and used (a forked server's connection) */
	unsigned findings;           /* set by the analysis */
	size_t index;                /* position in run->procs */
};

struct sl_run {
	char *dir;
	struct sl_proc *procs;
	size_t nprocs;
	int have_ctl;
	struct sl_run_header ctl;    /* budget, untraced counts */
	struct sl_inject_table inject; /* --inject's faults (count 0: none) */
	struct sl_exec_rec *execs;
	size_t nexecs;
	const struct sl_exec_rec **arrived; /* the exec records marked arrived, by pid then time */
	size_t narrived;
	uint64_t now_ns;
	const char *main_untraced;   /* why socklens run could not trace the program it started */
	size_t bad_logs;             /* files skipped with an error */
	size_t damaged_records;      /* records of the logs analyzed left out as damaged (image.c) */
	char bad_why[300];           /* the first one and why */
	uint64_t sockets;            /* over every process */
	uint64_t open_at_end;        /* counted by the analysis */
	struct sl_kview *kview;      /* the kernel's TCP sockets in CLOSE_WAIT, asked once (kview.c) */
	size_t nkview;
	int kview_state;             /* 0 not asked yet, 1 asked, -1 could not be */
};

/* Indexes every log in dir (headers only). Returns 0 or -1 with err set; bad files are reported
 * on stderr and skipped. */
int sl_run_index(struct sl_run *run, const char *dir, char *err, size_t errlen);
/* The same for a look at a running program (stuck, top): a directory with neither a control file
 * nor a log is no run (its parent, a typo), not a run with nothing wrong: -1 with err. */
int sl_run_index_live(struct sl_run *run, const char *dir, char *err, size_t errlen);
void sl_run_release(struct sl_run *run);
/* Notes a log that could not be read (the first one's path and reason are kept). */
void sl_run_bad_log(struct sl_run *run, const char *path, const char *why);
/* How much of a run could be looked at: all of it, part (a log unreadable, lost or never made),
 * or nothing (no process left a readable log). why says what was missed. */
enum sl_checked { SL_CHECKED_ALL, SL_CHECKED_PART, SL_CHECKED_NONE };
enum sl_checked sl_run_checked(const struct sl_run *run, char *why, size_t len);
/* The name a process was started as (its comm), else its executable's base name. */
const char *sl_proc_name(const struct sl_proc *p);
const struct sl_image_info *sl_proc_last(const struct sl_proc *p);
/* Whether p used io_uring: 2 where socket operations may have gone through a ring unseen (a ring
 * set up with a raw system call, or a submission that named a socket), 1 for rings whose
 * submissions were all looked at and named no socket, 0 for none. */
int sl_proc_uses_io_uring(const struct sl_proc *p);
/* Process facts every renderer prints: "exited 3", "killed by SIGKILL", "running". */
void sl_proc_status(const struct sl_proc *p, char *out, size_t len);
struct sl_proc *sl_run_find(const struct sl_run *run, int pid); /* the latest with pid */
/* The process with pid that was running at at_ns (the latest started by then; pids are reused). */
struct sl_proc *sl_run_find_at(const struct sl_run *run, int pid, uint64_t at_ns);
/* p's parent within the run (the process with its ppid that started before it), or NULL. */
const struct sl_proc *sl_proc_parent(const struct sl_run *run, const struct sl_proc *p);
/* When a process's image ended: its exit or exec, else the exits file, else now (alive). */
uint64_t sl_image_end(const struct sl_run *run, const struct sl_proc *p, const struct sl_image *img);
/* The language frames of a process: which runtime, and "read" or "unavailable" with why; NULL
 * when it ran no runtime socklens reads (perfmap.c). */
const char *sl_lang_state(const struct sl_image_info *ii, const char **runtime, const char **why);

/* Why the exec x led to a program that left no log (enum sl_untraced; *proc: the process it
 * concerns), or 0: it was traced, or failed, or its log was refused for the budget (counted apart). */
int sl_exec_untraced(const struct sl_run *run, const struct sl_exec_rec *x, const struct sl_proc **proc);
/* The newest exec record of pid marked arrived not later than at (the program pid ran then, as the
 * shim ran in it: an exec'd one, the run's first, or a fork child's own); NULL when none is. */
const struct sl_exec_rec *sl_run_arrived_at(const struct sl_run *run, int pid, uint64_t at);
/* Processes the shim ran in that made no log (no socket, no name lookup): the exec record of the
 * last program each ran (or the fork child's record), sorted by pid, in *out (free it; NULL: only
 * counted). */
size_t sl_run_unlogged(const struct sl_run *run, const struct sl_exec_rec ***out);
/* How the children of img's process ended, as it reaped them (a worker its master stopped with
 * SIGTERM), for those socklens run did not reap itself. */
void sl_run_note_reaped(struct sl_run *run, const struct sl_image *img);
/* Copies what a run's stacks need of each V8 map beside its log when the run ends. */
void sl_jitmap_keep(const char *dir);

/* ---- live.c: a running traced process, seen from outside ---- */

/* The run directory of traced process pid (its SOCKLENS_DIR); 0, or -1 with err set. */
int sl_live_run_dir(int pid, char *out, size_t len, char *err, size_t errlen);
/* A RUNDIR|PID argument: dir as given, or the run directory of process *pid; 0, or -1 with err. */
int sl_target_dir(const char *target, char *dir, size_t len, int *pid, char *err, size_t errlen);
/* The symbolized stack of thread tid of pid, blocked in a system call, read without stopping it;
 * how many frames (0 when it is not in a system call or cannot be read). */
size_t sl_live_stack(int pid, int tid, struct sl_frame *f, size_t max);
/* A running process's live TCP records that the kernel has in CLOSE_WAIT now (the preload asks
 * only at a close): their state and the FIN's time, in img's copy (kview.c). */
void sl_live_kernel_view(struct sl_run *run, struct sl_proc *p, struct sl_image *img);

#endif
