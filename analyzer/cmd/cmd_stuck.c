/* cmd_stuck.c - `socklens stuck DIR|PID`: every thread blocked in a socket call right now for longer
 * than a threshold, longest first, like a goroutine dump for any program: pid, tid, call, fd, peer,
 * how long, the options in force, and the thread's stack, read from outside without stopping it.
 * In a Go program the goroutines parked on the network (sampled by socklens run's tracer), each
 * with its own stack and the deadline in force, read from the program now. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "goroutines.h"

struct stuck {
	const struct sl_proc *proc;
	uint32_t tid, call;
	int fd;
	uint64_t blocked_ns;
	int have_slot;
	struct sl_slot slot;
	struct sl_frame *stack;      /* the thread's stack now, else the call's own frame */
	size_t nstack;
	int live_stack;              /* read from the thread (1), or the call site alone (0) */
	int read_recorded;           /* the stack recorded at the socket's first blocking read (2) */
	struct sl_frame *opened;     /* where the connection was made */
	size_t nopened;
	int goroutine;               /* a Go goroutine parked in the netpoller (tid: its id) */
	int deadline;                /* a goroutine's: 0 not known, 1 none, 2 set (in deadline_ns), 3 expired */
	int64_t deadline_ns;         /* how far ahead */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: socklens stuck [--json] [--min DURATION] [--all] RUNDIR|PID\n"
		     "\n"
		     "Threads of running traced processes blocked in a socket call, and a Go program's\n"
		     "goroutines parked on a socket (with their deadlines), longest first.\n"
		     "  --json           a JSON array instead of text\n"
		     "  --min DURATION   only calls blocked at least this long (default 1s; 0 for all)\n"
		     "  --all            include accept() (servers waiting for clients)\n"
		     "A PID finds its run directory in the process's environment (same user or root).\n");
}

/* Whether p is pid or one of its descendants in the run. */
static int under(const struct sl_run *run, const struct sl_proc *p, int pid)
{
	for (int hops = 0; p && hops < 64; hops++) {
		if (p->pid == pid)
			return 1;
		p = sl_proc_parent(run, p);
	}
	return 0;
}

static const struct sl_slot *slot_of(const struct sl_image *img, uint64_t conn_id)
{
	for (uint32_t i = 0; i < img->nslots; i++)
		if (img->slots[i].state == SL_SLOT_LIVE && img->slots[i].conn_id == conn_id)
			return &img->slots[i];
	return NULL;
}

/* The deadline of goroutine s's wait, read from the program now (the same goroutine on the same fd). */
static void go_deadline(struct stuck *s, const struct sl_gowait *gw, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (((uint32_t)gw[i].goid != s->tid && (uint32_t)gw[i].caller_goid != s->tid) || gw[i].fd != s->fd)
			continue;
		s->deadline = !gw[i].deadline ? 1 : gw[i].deadline < 0 || (uint64_t)gw[i].deadline <= now ? 3 : 2;
		s->deadline_ns = s->deadline == 2 ? gw[i].deadline - (int64_t)now : 0;
		return;
	}
}

static void collect(const struct sl_run *run, const struct sl_proc *p, uint64_t min_ns, int all, struct stuck **v,
		    size_t *n)
{
	struct sl_image img;
	char err[256];
	const struct sl_image_info *info = sl_proc_last(p);
	if (!p->alive || sl_image_load(&img, info->path, err, sizeof err) < 0)
		return;
	/* a Go program's goroutines now: the deadlines in force */
	struct sl_gowait *gw = NULL;
	size_t ngw = 0;
	char why[256];
	struct sl_goproc *gp = (img.h.flags & SL_HDR_GOROUTINES) ? sl_go_open(p->pid, why, sizeof why) : NULL;
	if (gp && sl_go_waits(gp, &gw, &ngw, why, sizeof why) < 0)
		ngw = 0;
	sl_go_close(gp);
	for (uint32_t i = 0; i < img.ninfl; i++) {
		const struct sl_inflight *f = &img.infl[i];
		if (!f->owner || !f->call || f->since_cns >= run->now_ns || (f->call == SL_CALL_ACCEPT && !all))
			continue;
		uint64_t blocked = run->now_ns - f->since_cns;
		if (blocked < min_ns)
			continue;
		*v = realloc(*v, (*n + 1) * sizeof **v);
		struct stuck *s = &(*v)[(*n)++];
		memset(s, 0, sizeof *s);
		s->proc = p;
		s->tid = f->owner;
		s->call = f->call;
		s->fd = f->fd;
		s->blocked_ns = blocked;
		const struct sl_slot *slot = slot_of(&img, f->conn_id);
		if (slot) {
			s->have_slot = 1;
			s->slot = *slot;
			s->opened = sl_stack_frames(&img, sl_conn_stack(slot), &s->nopened);
		}
		if (f->goroutine) { /* its own stack, taken by the sample that found it parked */
			s->goroutine = 1;
			s->stack = sl_stack_frames(&img, (uint32_t)(f->site & 0xffffffffu), &s->nstack);
			s->live_stack = 1;
			go_deadline(s, gw, ngw, run->now_ns);
			continue;
		}
		/* a Python, Java or JavaScript program: the thread's own frames are the interpreter's or
		 * the JIT's; the read's stack with the language's frames was recorded at the socket's first
		 * blocking read */
		if ((img.h.flags & (SL_HDR_PY_FRAMES | SL_HDR_JAVA_FRAMES | SL_HDR_V8_MAP | SL_HDR_JS_ORIGINS)) && slot &&
		    (slot->read_site & SL_SITE_STACK) && (f->call == SL_CALL_RECV || f->call == SL_CALL_READ) &&
		    (s->stack = sl_stack_frames(&img, (uint32_t)slot->read_site, &s->nstack))) {
			s->read_recorded = 1;
			continue;
		}
		struct sl_frame tmp[SL_MAX_FRAMES];
		size_t k = sl_live_stack(p->pid, (int)f->owner, tmp, SL_MAX_FRAMES);
		s->live_stack = k > 0;
		if (!k)
			k = sl_symbolize(&img.space, f->site, tmp, SL_SHOWN_FRAMES);
		s->stack = malloc(k * sizeof *tmp);
		memcpy(s->stack, tmp, k * sizeof *tmp);
		s->nstack = k;
	}
	free(gw);
	sl_image_release(&img);
}

static int by_time(const void *a, const void *b)
{
	const struct stuck *x = a, *y = b;
	return x->blocked_ns < y->blocked_ns ? 1 : x->blocked_ns > y->blocked_ns ? -1 : 0;
}

/* "no SO_RCVTIMEO, SO_KEEPALIVE on (idle 60 s)"; a write's: its SO_SNDTIMEO */
static void options(const struct sl_slot *s, uint32_t call, char *out, size_t len)
{
	char to[32];
	int write = call == SL_CALL_WRITE || call == SL_CALL_SEND || call == SL_CALL_SENDFILE || call == SL_CALL_CONNECT;
	int opt = write ? SL_OPT_SNDTIMEO : SL_OPT_RCVTIMEO;
	const char *name = write ? "SO_SNDTIMEO" : "SO_RCVTIMEO";
	if (sl_opt_on(s, opt)) {
		sl_dur_format((uint64_t)s->opt[opt] * 1000, to, sizeof to);
		snprintf(out, len, "%s %s", name, to);
	} else {
		snprintf(out, len, "no %s%s", name, (s->flags & SL_SF_GUARDED) ? " (polled)" : "");
	}
	size_t n = strlen(out);
	if (!sl_opt_on(s, SL_OPT_KEEPALIVE))
		snprintf(out + n, len - n, ", no keepalive");
	else if (sl_opt_on(s, SL_OPT_KEEPIDLE))
		snprintf(out + n, len - n, ", keepalive (idle %lld s)", (long long)s->opt[SL_OPT_KEEPIDLE]);
	else
		snprintf(out + n, len - n, ", keepalive (the system's idle time)");
	n = strlen(out);
	if (s->flags & SL_SF_EOF)
		snprintf(out + n, len - n, "; the peer has closed its side");
}

static void print_frames(FILE *out, const char *label, const struct sl_frame *f, size_t n)
{
	for (size_t i = 0; i < n && i < 12; i++) {
		fprintf(out, "        %-*s ", (int)strlen(label), i ? "" : label);
		if (f[i].function[0])
			fprintf(out, "%s", sl_esc(f[i].function));
		else
			fprintf(out, "0x%llx", (unsigned long long)f[i].addr);
		if (f[i].file[0])
			fprintf(out, " at %s:%d", sl_esc(f[i].file), f[i].line);
		if (f[i].module[0] && f[i].addr) /* a language frame has no address */
			fprintf(out, " (%s+0x%llx)", sl_esc(f[i].module), (unsigned long long)f[i].offset);
		fputc('\n', out);
	}
}

static void text(FILE *out, const struct sl_run *run, const struct stuck *v, size_t n, uint64_t min_ns)
{
	char min[32];
	sl_dur_format(min_ns, min, sizeof min);
	size_t gs = 0;
	for (size_t i = 0; i < n; i++)
		gs += v[i].goroutine;
	if (gs)
		fprintf(out, "socklens stuck: %zu goroutine%s and %zu thread%s blocked on the network for %s or more (%s)\n\n",
			gs, gs == 1 ? "" : "s", n - gs, n - gs == 1 ? "" : "s", min, sl_esc(run->dir));
	else
		fprintf(out, "socklens stuck: %zu thread%s blocked in a socket call for %s or more (%s)\n\n", n,
			n == 1 ? "" : "s", min, sl_esc(run->dir));
	for (size_t i = 0; i < n; i++) {
		const struct stuck *s = &v[i];
		char dur[32], peer[160] = "", opts[200] = "";
		sl_dur_format(s->blocked_ns, dur, sizeof dur);
		if (s->have_slot) {
			sl_addr_format(s->slot.role == SL_ROLE_LISTENER ? &s->slot.local : &s->slot.peer, peer, sizeof peer);
			options(&s->slot, s->call, opts, sizeof opts);
		}
		fprintf(out, "%s[%d] %s %u: %s() on fd %d%s%s, blocked %s%s\n", sl_esc(sl_proc_name(s->proc)),
			s->proc->pid, s->goroutine ? "goroutine" : "thread", s->tid, sl_call_name((int)s->call), s->fd,
			peer[0] ? (s->slot.role == SL_ROLE_LISTENER ? " on " : " to ") : "", sl_esc(peer),
			s->goroutine ? "at least " : "", dur);
		if (s->goroutine) {
			char dl[48] = "deadline: not known (the goroutine has moved on)";
			if (s->deadline == 1)
				snprintf(dl, sizeof dl, "no deadline");
			else if (s->deadline == 3)
				snprintf(dl, sizeof dl, "deadline passed");
			else if (s->deadline == 2) {
				char in[32];
				sl_dur_format((uint64_t)s->deadline_ns, in, sizeof in);
				snprintf(dl, sizeof dl, "deadline in %s", in);
			}
			fprintf(out, "        %s%s\n", dl, s->have_slot && (s->slot.flags & SL_SF_EOF) ? "; the peer has closed its side" : "");
		} else if (opts[0])
			fprintf(out, "        %s\n", opts);
		print_frames(out, s->read_recorded ? "read at:" : s->live_stack ? "stack:" : "call at:", s->stack, s->nstack);
		if (s->nopened)
			print_frames(out, s->slot.role == SL_ROLE_SERVER ? "accepted at:" : "connected at:", s->opened,
				     s->nopened < 4 ? s->nopened : 4);
		fputc('\n', out);
	}
}

static int json(FILE *out, const struct sl_run *run, const struct stuck *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct stuck *s = &v[i];
		char peer[160] = "";
		json_t *opts = json_object();
		if (s->have_slot) {
			sl_addr_format(s->slot.role == SL_ROLE_LISTENER ? &s->slot.local : &s->slot.peer, peer, sizeof peer);
			for (int o = 0; o < SL_OPT__COUNT; o++)
				if (s->slot.opts_set & (1u << o))
					json_object_set_new(opts, sl_opt_name(o), json_integer(s->slot.opt[o]));
		}
		json_t *o = json_pack("{s:i, s:s, s:i, s:s, s:i, s:o, s:s, s:f, s:o, s:b, s:o, s:o}", "pid", s->proc->pid,
				      "process", sl_proc_name(s->proc), "tid", (int)s->tid, "call", sl_call_name((int)s->call),
				      "fd", s->fd, "peer", peer[0] ? json_string(peer) : json_null(), "role",
				      s->have_slot ? sl_role_name(s->slot.role) : "unknown", "blocked_ms",
				      (double)s->blocked_ns / 1e6, "options", opts, "peer_closed",
				      s->have_slot && (s->slot.flags & SL_SF_EOF), "stack", sl_frames_json(s->stack, s->nstack),
				      "connected_at", sl_frames_json(s->opened, s->nopened));
		json_object_set_new(o, "stack_from_thread", json_boolean(s->live_stack));
		if (s->goroutine) {
			static const char *const dl[] = {"unknown", "none", "set", "passed"};
			json_object_set_new(o, "goroutine", json_integer(s->tid));
			json_object_set_new(o, "deadline", json_string(dl[s->deadline]));
			json_object_set_new(o, "deadline_in_ms", s->deadline == 2 ? json_real((double)s->deadline_ns / 1e6)
										  : json_null());
		}
		json_array_append_new(a, o);
	}
	json_t *doc = json_pack("{s:i, s:s, s:s, s:o}", "socklens_stuck", SL_JSON_STUCK_VERSION, "socklens_version", SL_VERSION,
				"run_dir", run->dir, "stuck", a);
	int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | SL_JSON_REALS) == 0 ? 0 : -1;
	fputc('\n', out);
	json_decref(doc);
	return rc;
}

int cmd_stuck(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'}, {"min", required_argument, NULL, 'm'},
		{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	int c, as_json = 0, all = 0;
	uint64_t min_ns = 1000000000ull;
	while ((c = getopt_long(argc, argv, "+jm:ah", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = 1; break;
		case 'a': all = 1; break;
		case 'm':
			if (sl_dur_parse(optarg, &min_ns) < 0) {
				sl_error("bad --min '%s' (a duration: 500ms, 2s)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return sl_usage_error("stuck");
		}
	}
	if (optind != argc - 1) {
		sl_error("stuck needs exactly one run directory (or the pid of a traced process)");
		return sl_usage_error("stuck");
	}
	char dir[4096], err[512];
	int pid = 0;
	if (sl_target_dir(argv[optind], dir, sizeof dir, &pid, err, sizeof err) < 0) {
		sl_error("%s", err);
		return 1;
	}
	struct sl_run run;
	if (sl_run_index_live(&run, dir, err, sizeof err) < 0) {
		sl_error("%s", err);
		sl_run_release(&run);
		return 1;
	}
	struct stuck *v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < run.nprocs; i++)
		if (!pid || under(&run, &run.procs[i], pid))
			collect(&run, &run.procs[i], min_ns, all, &v, &n);
	if (n)
		qsort(v, n, sizeof *v, by_time);
	int rc = 0;
	if (as_json)
		rc = json(stdout, &run, v, n);
	else
		text(stdout, &run, v, n, min_ns);
	for (size_t i = 0; i < n; i++) {
		free(v[i].stack);
		free(v[i].opened);
	}
	free(v);
	sl_run_release(&run);
	sl_symbolizer_reset();
	return rc < 0 ? SL_EXIT_INTERNAL : 0;
}
