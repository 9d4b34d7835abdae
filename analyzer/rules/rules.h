/* rules.h - from a process's connections to findings: the one table of kinds (kinds.c), the one
 * table of thresholds (thresholds.c), findings and their grouping by call site (diag.c), exact
 * counts from the call sites' counters (tally.c), one file per family of rules (rule_*.c), and the
 * second pass that runs them on one image at a time (analyze.c). Uses model/, symbols/, base/.
 *
 * A new rule is one rule_*.c, its kinds' rows in kinds.c, and a line in analyze.c's table. */
#ifndef SL_RULES_H
#define SL_RULES_H

#include "model/model.h"

/* ---- thresholds.c: --threshold NAME=VALUE, one row per field ---- */

struct sl_thresholds {
	uint64_t blocked_ns;         /* missing-timeout turns into an error past this */
	uint64_t keepalive_ns;       /* missing-keepalive for connections older than this */
	uint64_t unanswered_ns, close_wait_ns, connect_ns, dns_ns, rtt_ns;
	uint64_t retrans_pct;        /* hundredths of a percent */
	uint64_t churn;              /* short connections to one peer from one call site */
};

void sl_thresholds_default(struct sl_thresholds *th);
/* Parses "NAME=VALUE" (blocked=1s, retrans=2%, churn=50); returns 0 or -1. */
int sl_threshold_set(struct sl_thresholds *th, const char *arg);
/* One line per threshold: name, default, meaning. */
void sl_thresholds_usage(FILE *out, const char *indent);
const char *sl_thresholds_names(void); /* "blocked, keepalive, ..." */

/* ---- kinds.c and diag.c: findings ---- */

enum sl_severity { SL_SEV_INFO = 0, SL_SEV_WARNING = 1, SL_SEV_ERROR = 2 };

enum sl_kind {
	SL_K_CONNECT_REFUSED, SL_K_CONNECT_TIMEOUT, SL_K_CONNECT_UNREACHABLE,
	SL_K_CONNECTION_RESET, SL_K_BROKEN_PIPE, SL_K_SOCKET_LEAK,
	SL_K_MISSING_TIMEOUT, SL_K_MISSING_KEEPALIVE, SL_K_FD_EXHAUSTION, SL_K_UNTRACED_EXEC,
	SL_K_HUNG_CALL, SL_K_CLOSED_BY_PEER,
	SL_K_UNANSWERED_REQUEST, SL_K_CLOSE_WAIT, SL_K_TLS_ALERT, SL_K_TLS_ABORTED, SL_K_NAGLE_DELAY,
	SL_K_SLOW_CONNECT, SL_K_RETRANSMISSIONS, SL_K_HIGH_RTT, SL_K_ACCEPT_QUEUE_FULL, SL_K_BACKLOG_TRUNCATED,
	SL_K_ADDR_IN_USE, SL_K_PORT_EXHAUSTION, SL_K_CONNECTION_CHURN, SL_K_RESET_ON_CLOSE, SL_K_USE_AFTER_CLOSE,
	SL_K_DNS_FAILURE, SL_K_SLOW_DNS, SL_K_KEEPALIVE_INEFFECTIVE, SL_K_SHORT_WRITE, SL_K_TLS_REJECTED,
	SL_K_BIND_FAILED, SL_K_WRITE_STALLED, SL_K_INJECTED,
	SL_K__COUNT
};

#define SL_EVIDENCE_MAX 8
#define SL_SHOWN_FRAMES 6
#define SL_LIST_MAX 4

/* One finding, or a group of identical ones (same kind, call site frames, errno and peer group).
 * Frames are symbolized when the finding is made, so the image can be freed. */
/* A set of 64-bit keys (a pid, a peer's hash): how many distinct ones a group of findings has,
 * however many it is, where only the first few are listed. */
struct sl_distinct {
	uint64_t *v;
	unsigned n, cap;
};

struct sl_diag {
	enum sl_kind kind;
	enum sl_severity sev;
	const struct sl_proc *proc;  /* the process of the instance shown */
	int fd;
	int err;                     /* errno, 0 if none */
	char peer[160];              /* the instance shown */
	char group_peer[160];        /* the part of the peer that groups findings ("" = any) */
	uint64_t conn_id;
	uint64_t worst_ns;           /* the longest duration among grouped findings */
	unsigned count;
	char summary[640];           /* the instance shown */
	struct sl_frame *stack;      /* where the connection was made (or the call failed) */
	size_t nstack;
	struct sl_frame *site;       /* the call's own site (a blocking read, a hung call) */
	size_t nsite;
	int pids[SL_LIST_MAX];       /* processes with this finding: the first few, and how many */
	unsigned npids;
	char peers[SL_LIST_MAX][160];/* distinct peers: the first few, and how many */
	unsigned npeers;
	unsigned nhosts;             /* ... and how many distinct hosts among them (a server's clients:
				      * one host's ephemeral ports are many peers) */
	struct sl_distinct seen;     /* every pid, peer and host noted, so the counts stay exact */
	uint32_t site_stack;         /* a second stack id to show as the site (an earlier close) */
	const char *site_label;      /* what the site is, when not the kind's ("first send at") */
	const char *stack_label;     /* what the stack is, when not the kind's ("accepted at") */
	const char *advice;          /* what to do, when not the kind's (a static string) */
	uint64_t when_ns;            /* when the instance happened (CLOCK_MONOTONIC; 0: now) */
	uint64_t wall_ns;            /* the same as wall-clock time (set when added; a group's latest) */
	struct { const char *name; double value; } evidence[SL_EVIDENCE_MAX]; /* the instance shown */
	unsigned nevidence;
	uint64_t key;                /* grouping hash */
	int injected;                /* caused by --inject (shown as info, grouped apart) */
};

/* Instances of a kind for one peer: host:port for a client's peer, the host alone for the clients
 * of a server (their ports are ephemeral); past SL_PEER_COUNTS pairs, peer "other". */
#define SL_PEER_COUNTS 1000
struct sl_peer_count {
	enum sl_kind kind;
	char peer[160];
	uint64_t n;
};

struct sl_diags {
	struct sl_diag *v;
	size_t n, cap;
	size_t *index;               /* open-addressed: key -> position + 1 */
	size_t index_cap;
	uint64_t added;              /* findings added, grouped or not */
	uint64_t since_ns;           /* --since: instances before this (CLOCK_MONOTONIC) are left out */
	struct sl_peer_count *pc;    /* instances per kind and peer (metrics), SL_PEER_COUNTS at most */
	size_t npc, cappc;
};

/* kinds.c: the one table of kinds */
struct sl_kind_info {
	const char *name;
	const char *stack_label;     /* what the finding's stack is: "connect at", "opened at" */
	const char *site_label;      /* what its call site is: "read at", "blocked in" (NULL: none) */
	const char *site_key;        /* the call site's JSON key ("call_site" when NULL) */
	const char *advice;
};
const struct sl_kind_info *sl_kind(enum sl_kind k);
const char *sl_kind_name(enum sl_kind k);
const char *sl_kind_advice(enum sl_kind k);
const char *sl_diag_advice(const struct sl_diag *d); /* its own, else its kind's */
int sl_kind_parse(const char *name); /* -1 if unknown */
const char *sl_sev_name(enum sl_severity s);
/* Parses "connect-refused,socket-leak" or "all" into a mask; returns 0 or -1. */
int sl_fail_on_parse(const char *list, uint64_t *mask);

const char *sl_diag_stack_label(const struct sl_diag *d); /* the finding's, else its kind's */
const char *sl_diag_site_label(const struct sl_diag *d);  /* the same for the site */
/* Adds d, or folds it into an identical finding. stack (an id of img) and site (an address)
 * are symbolized here; img may be NULL when there are neither. */
void sl_diags_add(struct sl_diags *ds, const struct sl_image *img, struct sl_diag *d, uint32_t stack,
		  uint64_t site);
void sl_diags_sort(struct sl_diags *ds);
void sl_diags_release(struct sl_diags *ds);
/* The frames of stack id of img as findings show them (startup frames dropped; malloc'd, NULL
 * when none), and a hash of the first n for grouping (h: a seed, or a running hash). */
struct sl_frame *sl_stack_frames(const struct sl_image *img, uint32_t id, size_t *n);
uint64_t sl_frames_key(uint64_t h, const struct sl_frame *f, size_t n);
/* Lists of the first SL_LIST_MAX distinct pids and peers, *n counting every distinct one noted. */
void sl_note_pid(int *pids, unsigned *n, struct sl_distinct *seen, int pid);
/* Notes a peer ("host:port", "[v6]:port", or a path), and its host in *nhosts unless NULL. */
void sl_note_peer(char (*peers)[160], unsigned *n, unsigned *nhosts, struct sl_distinct *seen, const char *peer);
void sl_distinct_free(struct sl_distinct *s);
/* A finding filled with what every rule sets. */
void sl_diag_init(struct sl_diag *d, enum sl_kind k, enum sl_severity sev, const struct sl_proc *p, int fd);
struct sl_conn;
/* A finding about connection c: its peer, grouped by call site and role. Returns the stack to
 * show: where it was connected, else opened. */
uint32_t sl_diag_conn(struct sl_diag *d, const struct sl_conn *c, enum sl_kind k, enum sl_severity sev);
/* A recorded fact behind the finding, by name (JSON "evidence"); name must be a literal. */
void sl_diag_fact(struct sl_diag *d, const char *name, double value);

/* ---- analyze.c: the second pass ---- */

/* A connection of the image being analyzed. */
struct sl_conn {
	struct sl_proc *proc;
	const struct sl_image *img;
	const struct sl_slot *s;
	int open_at_end;             /* the image ended (or is now) with this fd open */
	uint64_t end_ns;             /* close time, or the image's end / now */
};

/* What a rule looks at: one image of one process of the run. */
struct sl_ctx {
	const struct sl_run *run;
	const struct sl_thresholds *th;
	struct sl_proc *proc;
	const struct sl_image *img;
	struct sl_conn *conns;
	size_t nconns;
	struct sl_diags *out;
	const struct sl_slot **connected; /* the client connections that got through, for sl_retried_ok: */
	size_t nconnected;                /* sorted by call site, peer and start (sl_index_connected) */
};
/* Fills c->connected (freed by the caller). */
void sl_index_connected(struct sl_ctx *c);

/* Called with each image once its rules ran, before it is freed (the JSON report streams its
 * connections, the audit counts its call sites). */
typedef void (*sl_image_visit)(void *arg, const struct sl_ctx *c);

/* Runs every rule on every image of run into out, with thresholds th; visit(arg, ...) after each
 * image when not NULL. */
void sl_analyze(struct sl_run *run, const struct sl_thresholds *th, struct sl_diags *out, sl_image_visit visit,
		void *arg);

/* rule files: each looks at one image */
void sl_rule_connect(struct sl_ctx *c);
void sl_rule_io_errors(struct sl_ctx *c);
void sl_rule_leak(struct sl_ctx *c);
void sl_rule_timeouts(struct sl_ctx *c);
void sl_rule_hung(struct sl_ctx *c);
void sl_rule_exchange(struct sl_ctx *c);
void sl_rule_network(struct sl_ctx *c);
void sl_rule_events(struct sl_ctx *c);
void sl_rule_context(struct sl_ctx *c); /* last: it speaks only when nothing else did */
void sl_rule_inject(struct sl_ctx *c);  /* what --inject put in, and how the program reacted */
/* rule_inject.c: a rule of --inject in words ("blackhole to 10.0.0.5:443, the 1st"); out has 200 bytes */
void sl_inject_describe(const struct sl_inject_rule *r, const struct sl_inject_site *site, char *out, size_t len);
const char *sl_fault_name(const struct sl_inject_rule *r);
/* ... and this one the run's exec table */
void sl_rule_untraced(const struct sl_run *run, struct sl_diags *out);

/* The request to stop (SIGTERM, SIGINT, SIGQUIT; not SIGHUP, a daemon's reload) c's process was
 * handling between from and to (coarse times): delivered in that window, and the process went on to
 * exit by itself or still runs, so a wait it ended then ended with its shutdown, by its own choice;
 * 0 if none. */
int sl_stopping(const struct sl_conn *c, uint64_t from_cns, uint64_t to_cns);
/* Whether the image whose header is h, the last of p, ended its process in failure: a non-zero exit
 * or a signal (0 for an earlier image or a running process). */
int sl_proc_failed(const struct sl_proc *p, const struct sl_log_header *h);
/* Whether c's image ended with its process killed by a signal (not by an exit of its own). */
int sl_conn_killed(const struct sl_conn *c);
/* When the last failure at call site st happened (the image's end for a log that did not date it). */
uint64_t sl_site_last_failure(const struct sl_ctx *x, const struct sl_stack *st);
/* A finding's site for a request: the first send's stack when there is one (into d), else the
 * send's site to pass to sl_diags_add (diag.c). */
uint64_t sl_send_site(const struct sl_image *img, struct sl_diag *d, const struct sl_slot *s);

/* Facts about a connection several rules share. */
/* A connection's present: now if it is live, else its end. */
static inline uint64_t sl_conn_now(const struct sl_run *run, const struct sl_conn *c)
{
	return c->proc->alive && c->open_at_end ? run->now_ns : c->end_ns;
}
/* rule_exchange.c: how long the program has held c since the peer closed (0: not a close-wait) */
uint64_t sl_close_wait_ns(const struct sl_ctx *x, const struct sl_conn *c);
/* ... and how long a request has waited for an answer that never came (0: not that) */
uint64_t sl_unanswered_ns(const struct sl_ctx *x, const struct sl_conn *c);
/* rule_connect.c: whether the program connected again from the call site stack to peer after when
 * (and within ns of it, unless 0), and went on (the new connection got data back, or sent nothing
 * that waited for it): a failure it recovered from by retrying (a wait for a service to come up,
 * an HTTP client's retry of a request on a new connection, at once). */
int sl_retried_ok(const struct sl_ctx *x, uint32_t stack, const struct sl_addr *peer, uint64_t when, uint64_t ns);
/* rule_hung.c: c's last write, blocked the `blocked` threshold or longer, was cut short by the
 * signal its process then ended by (or was told to stop with): a stalled write interrupted, said as
 * write-stalled, not a short write the program failed to finish (Python's sendall under Ctrl-C) */
int sl_write_interrupted(const struct sl_ctx *x, const struct sl_conn *c);
/* rule_timeouts.c: a blocking read could hang here: no timeout, no poll */
int sl_read_unguarded(const struct sl_slot *s);

/* ---- tally.c: exact counts for findings made from events ---- */

struct sl_tally;
struct sl_tally *sl_tally_new(void);
/* A finding d was just made from an event of call site stack failing with err (d NULL: the event
 * is no finding, and neither is the rest of the site's count for err). */
void sl_tally_note(struct sl_tally *t, uint32_t stack, int err, const struct sl_diag *d);
int sl_tally_seen(const struct sl_tally *t, uint32_t stack, int err);
/* How many calls from stack failed with err, by the site's own counter. */
uint64_t sl_site_errors(const struct sl_image *img, uint32_t stack, int err);
/* Adds what the counters counted beyond the events seen to each noted group; frees t. */
void sl_tally_flush(struct sl_tally *t, const struct sl_ctx *x);

#endif
