/* report_text.c - the human report: grouped, worst first, pointing at file:line. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report/report.h"

#define TEXT_FRAMES 6


/* Colour by severity, on a terminal (--color=auto, unless NO_COLOR is set), or always. */
static int use_color;
static const char *const sev_color[] = {"\033[36m", "\033[33m", "\033[1;31m"};

void sl_text_color(int mode, FILE *out)
{
	use_color = mode == SL_COLOR_ALWAYS ||
		    (mode == SL_COLOR_AUTO && isatty(fileno(out)) && !getenv("NO_COLOR"));
}

static const char *paint(enum sl_severity sev)
{
	return use_color ? sev_color[sev] : "";
}

static const char *plain(void)
{
	return use_color ? "\033[0m" : "";
}

static void frame_line(FILE *out, const char *lead, const struct sl_frame *f)
{
	fprintf(out, "%s", lead);
	if (f->function[0])
		fprintf(out, "%s", sl_esc(f->function));
	else
		fprintf(out, "0x%llx", (unsigned long long)f->addr);
	if (f->file[0] && f->line > 0)
		fprintf(out, " at %s:%d%s", sl_esc(f->file), f->line, f->line_is_start ? " (where the function starts)" : "");
	else if (f->file[0])
		fprintf(out, " in %s", sl_esc(f->file));
	if (f->module[0] && f->addr) /* a language frame has no address */
		fprintf(out, " (%s+0x%llx)", sl_esc(f->module), (unsigned long long)f->offset);
	fputc('\n', out);
}

/* A labelled list of frames: "        connect at  f at x.c:3 (m+0x1)", the rest aligned under it. */
static void frames(FILE *out, const char *label, const struct sl_frame *f, size_t n)
{
	char lead[48], pad[48];
	int w = snprintf(lead, sizeof lead, "        %s  ", label);
	snprintf(pad, sizeof pad, "%*s", w, "");
	for (size_t i = 0; i < n && i < TEXT_FRAMES; i++)
		frame_line(out, i ? pad : lead, &f[i]);
}

/* "in 3 processes: curl[12], curl[13], curl[14]" and "peers: a, b (and 5 more)" */
static void lists(FILE *out, const struct sl_diag *d, const struct sl_run *run)
{
	char line[1024];
	int n = 0;
	if (d->npids > 1) {
		n = snprintf(line, sizeof line, "in %u processes:", d->npids);
		for (unsigned i = 0; i < d->npids && i < SL_LIST_MAX && n < (int)sizeof line - 64; i++) {
			const struct sl_proc *p = sl_run_find(run, d->pids[i]);
			n += snprintf(line + n, sizeof line - (size_t)n, "%s %s[%d]", i ? "," : "", p ? sl_proc_name(p) : "?",
				      d->pids[i]);
		}
		if (d->npids > SL_LIST_MAX)
			snprintf(line + n, sizeof line - (size_t)n, " and %u more", d->npids - SL_LIST_MAX);
		sl_text_wrapped(out, "        ", line);
	}
	if (d->npeers > 1) {
		/* (a server's clients: one host's ports are many peers) */
		if (d->nhosts && d->nhosts < d->npeers)
			n = snprintf(line, sizeof line, "%u peers on %u host%s:", d->npeers, d->nhosts, d->nhosts > 1 ? "s" : "");
		else
			n = snprintf(line, sizeof line, "%u peers:", d->npeers);
		for (unsigned i = 0; i < d->npeers && i < SL_LIST_MAX && n < (int)sizeof line - 64; i++)
			n += snprintf(line + n, sizeof line - (size_t)n, "%s %s", i ? "," : "", d->peers[i]);
		if (d->npeers > SL_LIST_MAX)
			snprintf(line + n, sizeof line - (size_t)n, " and %u more", d->npeers - SL_LIST_MAX);
		sl_text_wrapped(out, "        ", line);
	}
}

static void where(const struct sl_diag *d, char *out, size_t len)
{
	char fd[24] = "";
	if (d->fd >= 0)
		snprintf(fd, sizeof fd, " fd %d", d->fd);
	snprintf(out, len, "%s[%d]%s%s%s", d->proc ? sl_esc(sl_proc_name(d->proc)) : "?", d->proc ? d->proc->pid : 0, fd,
		 d->peer[0] ? " -> " : "", sl_esc(d->peer));
}

/* "error   connect-refused (x3)  curl[12] fd 5 -> 127.0.0.1:1", without the newline: the first
 * line of a finding, in full or brief. */
static void heading(FILE *out, const struct sl_diag *d)
{
	char at[400];
	where(d, at, sizeof at);
	fprintf(out, "%s%-7s %s%s", paint(d->sev), sl_sev_name(d->sev), sl_kind(d->kind)->name, plain());
	if (d->count > 1)
		fprintf(out, " (x%u)", d->count);
	fprintf(out, "  %s", at);
}

/* A finding in full: header, summary, who and whom, advice (unless the one before said it), stacks. */
static void print_diag(FILE *out, const struct sl_diag *d, const struct sl_run *run, int advice)
{
	heading(out, d);
	fputc('\n', out);
	sl_text_wrapped(out, "        ", d->summary);
	lists(out, d, run);
	sl_text_wrapped(out, "        fix: ", advice ? sl_diag_advice(d) : "as above.");
	const char *label = sl_diag_stack_label(d);
	if (label && d->nstack)
		frames(out, label, d->stack, d->nstack);
	else if (label && !strcmp(label, "inherited"))
		fprintf(out, "        inherited  (open when the program started: its parent process made it)\n");
	else if (label)
		fprintf(out, "        %s  (no stack recorded)\n", label);
	if (sl_diag_site_label(d) && d->nsite)
		frames(out, sl_diag_site_label(d), d->site, d->nsite);
	fputc('\n', out);
}

/* What a process's logs could not keep, over its images. */
struct drops {
	uint64_t records, slots;     /* records dropped for a full log (of which connection slots) */
	uint64_t overwritten;        /* closed connections with findings overwritten (slot table full) */
	uint64_t threads, most;      /* blocking calls not seen in flight, and the in-flight table's size */
};

static struct drops drops_of(const struct sl_proc *p)
{
	struct drops d = {0};
	for (size_t k = 0; k < p->nimages; k++) {
		const struct sl_log_header *ih = &p->images[k].h;
		d.records += ih->event_dropped + ih->slot_dropped + ih->stack_dropped;
		d.slots += ih->slot_dropped;
		d.overwritten += ih->keepers_recycled;
		d.threads += ih->inflight_dropped;
		d.most = ih->tab[SL_T_INFLIGHT].cap > d.most ? ih->tab[SL_T_INFLIGHT].cap : d.most;
	}
	return d;
}

static void print_proc(FILE *out, const struct sl_proc *p, size_t depth)
{
	const struct sl_log_header *h = &sl_proc_last(p)->h;
	char st[96];
	sl_proc_status(p, st, sizeof st);
	fprintf(out, "%*s%s[%d] %s", (int)(2 + 2 * depth), "", sl_esc(sl_proc_name(p)), p->pid, st);
	struct drops d = drops_of(p);
	if (d.records)
		fprintf(out, ", %llu records dropped (log full)", (unsigned long long)d.records);
	if (d.threads)
		fprintf(out, ", %llu blocking calls made while %llu threads were already blocked: not seen as in "
			"flight (a hang among them is not reported)", (unsigned long long)d.threads, (unsigned long long)d.most);
	if (d.overwritten)
		fprintf(out, ", %llu closed connections with findings overwritten (slot table full: its counts are "
			"lower bounds)", (unsigned long long)d.overwritten);
	if (!(h->flags & SL_HDR_STACKS))
		fprintf(out, ", no stacks");
	if (sl_proc_uses_io_uring(p) == 2)
		fprintf(out, ", io_uring: what it submits to its ring is not seen");
	else if (sl_proc_uses_io_uring(p))
		fprintf(out, ", io_uring for files (no socket in what it submitted)");
	fputc('\n', out);
}

/* Processes worth a line: they used sockets or have findings, or started the run. */
static int shown(const struct sl_run *run, const struct sl_proc *p)
{
	return p->sockets || p->inherited || p->findings || !sl_proc_parent(run, p) || sl_proc_uses_io_uring(p) == 2;
}

/* The nearest shown ancestor of p within the run, or NULL. */
static const struct sl_proc *shown_parent(const struct sl_run *run, const struct sl_proc *p)
{
	for (size_t hops = 0; hops < run->nprocs; hops++) {
		p = sl_proc_parent(run, p);
		if (!p)
			return NULL;
		if (shown(run, p))
			return p;
	}
	return NULL;
}

/* The process tree being printed: done[] guards against cycles in pids read from untrusted logs;
 * kids[i] says whether process i has shown descendants. */
struct tree {
	const struct sl_run *run;
	char *done, *kids;
};

#define LIKE_SHOWN 3 /* siblings alike (same name and fate, no children of their own): the first few */

struct alike {
	const char *name;
	char status[96];
	size_t shown, more;
};

/* Prints p and, indented under it, its shown descendants; of many siblings alike (a forking
 * server's children: sshd's sessions, rsync's transfers) the first few and a count. */
static void print_tree(FILE *out, struct tree *t, size_t i, size_t depth)
{
	const struct sl_run *run = t->run;
	struct alike *al = NULL;
	size_t nal = 0;
	t->done[i] = 1;
	print_proc(out, &run->procs[i], depth);
	for (size_t k = 0; k < run->nprocs; k++) {
		const struct sl_proc *c = &run->procs[k];
		if (t->done[k] || !shown(run, c) || shown_parent(run, c) != &run->procs[i])
			continue;
		if (t->kids[k]) {
			print_tree(out, t, k, depth + 1);
			continue;
		}
		char st[96];
		sl_proc_status(c, st, sizeof st);
		size_t a = 0;
		while (a < nal && (strcmp(al[a].name, sl_proc_name(c)) || strcmp(al[a].status, st)))
			a++;
		if (a == nal) {
			al = realloc(al, (nal + 1) * sizeof *al);
			al[nal].name = sl_proc_name(c);
			snprintf(al[nal].status, sizeof al[nal].status, "%s", st);
			al[nal].shown = al[nal].more = 0;
			nal++;
		}
		t->done[k] = 1;
		if (al[a].shown++ < LIKE_SHOWN)
			print_proc(out, c, depth + 1);
		else
			al[a].more++;
	}
	for (size_t a = 0; a < nal; a++)
		if (al[a].more)
			fprintf(out, "%*s+ %zu more %s, %s\n", (int)(4 + 2 * depth), "", al[a].more, sl_esc(al[a].name),
				al[a].status);
	free(al);
}

struct hidden_name {
	const char *name;
	size_t n;
};

/* One name among the three most common of the rest. */
static void count_name(struct hidden_name *top, const char *name, size_t n)
{
	for (int t = 0; t < 3; t++) {
		if (top[t].name && !strcmp(top[t].name, name)) {
			if (n > top[t].n)
				top[t].n = n;
			return;
		}
		if (n > top[t].n) {
			memmove(&top[t + 1], &top[t], (size_t)(2 - t) * sizeof top[0]);
			top[t].name = name;
			top[t].n = n;
			return;
		}
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The rest as one line: "+ 42 processes without sockets (bash 30, readlink 12)": processes that
 * left a log without a socket in it, and fork children that made none, named by their records in
 * the run's exec table (sl_run_unlogged). */
static void print_hidden(FILE *out, const struct sl_run *run)
{
	struct hidden_name top[3] = {{0}};
	size_t hidden = 0;
	for (size_t i = 0; i < run->nprocs; i++) {
		if (shown(run, &run->procs[i]))
			continue;
		hidden++;
		if (run->nprocs > 2000 && hidden > 2000)
			continue; /* counting names is quadratic: enough for the three most common */
		const char *name = sl_proc_name(&run->procs[i]);
		size_t n = 0;
		for (size_t k = 0; k < run->nprocs; k++)
			n += !shown(run, &run->procs[k]) && !strcmp(sl_proc_name(&run->procs[k]), name);
		count_name(top, name, n);
	}
	const struct sl_exec_rec **un = NULL;
	size_t nun = sl_run_unlogged(run, &un);
	for (size_t i = 0; i < nun && i < 2000; i++) {
		const char *name = base_name(un[i]->path);
		size_t n = 0;
		for (size_t k = 0; k < nun; k++)
			n += !strcmp(base_name(un[k]->path), name);
		count_name(top, name, n);
	}
	hidden += nun;
	free(un);
	if (!hidden)
		return;
	fprintf(out, "  + %zu process%s without sockets (", hidden, hidden == 1 ? "" : "es");
	for (int t = 0; t < 3 && top[t].name; t++)
		fprintf(out, "%s%s %zu", t ? ", " : "", sl_esc(top[t].name), top[t].n);
	fprintf(out, ")\n");
}

/* The run as a process tree of the processes that matter: roots have no shown ancestor. */
static void print_processes(FILE *out, const struct sl_run *run)
{
	size_t n = run->nprocs ? run->nprocs : 1;
	struct tree t = {run, calloc(n, 1), calloc(n, 1)};
	for (size_t i = 0; i < run->nprocs; i++) {
		const struct sl_proc *up = shown(run, &run->procs[i]) ? shown_parent(run, &run->procs[i]) : NULL;
		if (up)
			t.kids[up - run->procs] = 1;
	}
	for (size_t i = 0; i < run->nprocs; i++)
		if (!t.done[i] && shown(run, &run->procs[i]) && !shown_parent(run, &run->procs[i]))
			print_tree(out, &t, i, 0);
	for (size_t i = 0; i < run->nprocs; i++) /* only a pid cycle leaves any */
		if (!t.done[i] && shown(run, &run->procs[i]))
			print_tree(out, &t, i, 0);
	free(t.done);
	free(t.kids);
	print_hidden(out, run);
}

/* Processes that ran without a log, and why: never a silent "no problems". */
static void print_unlogged(FILE *out, const struct sl_run *run)
{
	static const char *const why[SL_UNTRACED__COUNT] = {
		[SL_UNTRACED_BUDGET] = "the run's log space budget was used up (--max-log-space)",
		[SL_UNTRACED_CREATE] = "the log file could not be created (a full or read-only filesystem?)",
		[SL_UNTRACED_FSIZE] = "the file size limit (ulimit -f) left no room for a log",
		[SL_UNTRACED_PTRACE] = "a Go or static program that ptrace was refused for (a container's "
				       "seccomp profile, kernel.yama.ptrace_scope=3): it ran untraced",
		[SL_UNTRACED_NO_DIR] = "the run directory was not there from where they ran (a chroot, as rsync's "
				       "and vsftpd's children make, or another mount namespace)",
		[SL_UNTRACED_USER] = "it ran as a user who cannot write in the run directory (it was started "
				     "as that user, or changed to it without the privilege to make its subdirectory)",
	};
	if (!run->have_ctl)
		return;
	for (int i = SL_UNTRACED_BUDGET; i < SL_UNTRACED__COUNT; i++)
		if (run->ctl.untraced[i])
			fprintf(out, "  %llu process%s ran without a log: %s\n", (unsigned long long)run->ctl.untraced[i],
				run->ctl.untraced[i] == 1 ? "" : "es", why[i]);
	/* runtimes whose frames could not be read: one line per runtime, with a process's reason */
	static const char *const runtimes[][2] = {
		{"python", "Python"}, {"java", "Java"}, {"javascript", "JavaScript"}, {"go", "Go"}};
	unsigned unread[4] = {0};
	const char *reason[4] = {NULL};
	for (size_t i = 0; i < run->nprocs; i++) {
		const char *rt, *because, *st = sl_lang_state(sl_proc_last(&run->procs[i]), &rt, &because);
		for (size_t k = 0; st && !strcmp(st, "unavailable") && k < 4; k++)
			if (!strcmp(rt, runtimes[k][0])) {
				unread[k]++;
				reason[k] = because;
			}
	}
	for (size_t k = 0; k < 3; k++)
		if (unread[k])
			fprintf(out, "  %s frames unavailable in %u process%s: %s (stacks show the runtime's native code)\n",
				runtimes[k][1], unread[k], unread[k] == 1 ? "" : "es", reason[k]);
	if (unread[3])
		fprintf(out, "  Go goroutines unavailable in %u process%s: %s (goroutines waiting on sockets are not seen)\n",
			unread[3], unread[3] == 1 ? "" : "es", reason[3]);
	if (run->ctl.grow_refused)
		fprintf(out, "  %llu time%s a log could not grow (the budget): records were dropped\n",
			(unsigned long long)run->ctl.grow_refused, run->ctl.grow_refused == 1 ? "" : "s");
	if (run->ctl.privileges_lost)
		fprintf(out, "  %llu setuid or file-capability program%s ran without %s privileges: socklens's tracer "
			"sets no_new_privs when not run as root\n", (unsigned long long)run->ctl.privileges_lost,
			run->ctl.privileges_lost == 1 ? "" : "s", run->ctl.privileges_lost == 1 ? "its" : "their");
	if (run->ctl.traceme_refused)
		fprintf(out, "  %llu process%s asked to be traced by %s parent (PTRACE_TRACEME) and could not be: socklens's "
			"tracer traces it (SOCKLENS_NO_PTRACE=1 runs Go and static programs untraced)\n",
			(unsigned long long)run->ctl.traceme_refused, run->ctl.traceme_refused == 1 ? "" : "es",
			run->ctl.traceme_refused == 1 ? "its" : "their");
	if (run->ctl.logs_lost)
		fprintf(out, "  %u log%s truncated or removed while %s process ran (logrotate's copytruncate?): "
			"what it did after was not recorded\n", run->ctl.logs_lost, run->ctl.logs_lost == 1 ? " was" : "s were",
			run->ctl.logs_lost == 1 ? "its" : "their");
}

/* Logs that could not be read: their processes' findings are missing, and the result says so. */
static void print_unreadable(FILE *out, const struct sl_run *run)
{
	if (run->bad_logs == 1)
		fprintf(out, "  1 log could not be read: %s\n", sl_esc(run->bad_why));
	else if (run->bad_logs)
		fprintf(out, "  %zu logs could not be read, the first %s\n", run->bad_logs, sl_esc(run->bad_why));
}

/* Each kind's first group in full, and second groups (in order) while fewer than FULL_SOFT groups
 * are shown in full; the rest one line each (the JSON has them all). */
#define FULL_PER_KIND 2
#define FULL_SOFT 8
#define BRIEF_PER_KIND 8

static void print_brief(FILE *out, const struct sl_diag *d)
{
	heading(out, d);
	const struct sl_frame *f = d->nsite ? d->site : d->nstack ? d->stack : NULL;
	if (!f) {
		fputc('\n', out);
		return;
	}
	fprintf(out, ", %s ", d->nsite ? sl_diag_site_label(d) : sl_diag_stack_label(d));
	frame_line(out, "", f);
}

static void print_findings(FILE *out, const struct sl_run *run, const struct sl_diags *ds)
{
	unsigned shown[SL_K__COUNT] = {0}, kinds = 0, seconds;
	const char *said[SL_K__COUNT] = {0}; /* the advice last printed for each kind */
	char *brief = calloc(ds->n ? ds->n : 1, 1);
	size_t briefs = 0;
	for (size_t i = 0; i < ds->n; i++)
		kinds += !shown[ds->v[i].kind]++;
	seconds = kinds < FULL_SOFT ? FULL_SOFT - kinds : 0;
	memset(shown, 0, sizeof shown);
	for (size_t i = 0; i < ds->n; i++) {
		const struct sl_diag *d = &ds->v[i];
		unsigned nth = shown[d->kind]++;
		if (nth == 0 || (nth < FULL_PER_KIND && seconds && seconds--)) {
			print_diag(out, d, run, said[d->kind] != sl_diag_advice(d));
			said[d->kind] = sl_diag_advice(d);
		} else {
			brief[i] = 1;
			briefs++;
		}
	}
	if (briefs) {
		/* one line each, BRIEF_PER_KIND of a kind at most: a test suite's hundred call sites of
		 * one kind are counted, not listed */
		unsigned listed[SL_K__COUNT] = {0}, left[SL_K__COUNT] = {0}, groups[SL_K__COUNT] = {0};
		fprintf(out, "More findings of the kinds above (in full in the JSON report):\n");
		for (size_t i = 0; i < ds->n; i++) {
			enum sl_kind k = ds->v[i].kind;
			if (!brief[i])
				continue;
			if (listed[k] < BRIEF_PER_KIND) {
				print_brief(out, &ds->v[i]);
				listed[k]++;
			} else {
				left[k] += ds->v[i].count;
				groups[k]++;
			}
		}
		for (int k = 0; k < SL_K__COUNT; k++)
			if (groups[k])
				fprintf(out, "        ... and %u more %s (%u call site%s)\n", left[k], sl_kind_name((enum sl_kind)k),
					groups[k], groups[k] == 1 ? "" : "s");
		fputc('\n', out);
	}
	free(brief);
}

/* "1 error, 2 warnings" */
static void counts(FILE *out, const size_t n[3])
{
	static const char *const names[3] = {"info", "warning", "error"};
	int first = 1;
	for (int sev = SL_SEV_ERROR; sev >= SL_SEV_INFO; sev--) {
		if (!n[sev])
			continue;
		fprintf(out, "%s%zu %s%s", first ? "" : ", ", n[sev], names[sev], n[sev] == 1 || sev == SL_SEV_INFO ? "" : "s");
		first = 0;
	}
	if (first)
		fprintf(out, "no findings");
}

/* --inject's faults: what each matched and how often it fired; one that matched nothing says so
 * (a wrong address or port would otherwise pass for a program that survived the fault). */
static void print_injected(FILE *out, const struct sl_run *run)
{
	const struct sl_inject_table *t = &run->inject;
	char desc[200];
	for (uint32_t i = 0; i < t->count; i++) {
		const struct sl_inject_rule *r = &t->rule[i];
		sl_inject_describe(r, &t->site[i], desc, sizeof desc);
		if (r->done)
			fprintf(out, "  injected: %s: into %llu of %llu matching call%s (rule %u)\n", desc,
				(unsigned long long)r->done, (unsigned long long)r->seen, r->seen == 1 ? "" : "s", i + 1);
		else
			fprintf(out, "  injected: %s: nothing (%llu matching call%s; rule %u)\n", desc,
				(unsigned long long)r->seen, r->seen == 1 ? "" : "s", i + 1);
	}
	if (t->unredirected)
		fprintf(out, "  injected: %llu connection%s matched but could not be redirected (no IPv6 loopback, or "
			"a socket bound without a port)\n", (unsigned long long)t->unredirected, t->unredirected == 1 ? "" : "s");
}

void sl_report_text(FILE *out, const struct sl_run *run, const struct sl_diags *ds, struct sl_audit *audit)
{
	size_t n[3] = {0};
	for (size_t i = 0; i < ds->n; i++)
		n[ds->v[i].sev]++;
	fprintf(out, "\nsocklens: ");
	counts(out, n);
	/* "in X of Y processes": X those with a finding (each finding lists its first few pids and
	 * counts them all), Y every process of the run, logged or not */
	size_t all = run->nprocs + sl_run_unlogged(run, NULL), with = 0, most = 0, cap = 0;
	int *seen = NULL;
	for (size_t i = 0; i < ds->n; i++) {
		const struct sl_diag *d = &ds->v[i];
		most = d->npids > most ? d->npids : most;
		for (unsigned k = 0; k < d->npids && k < SL_LIST_MAX; k++) {
			size_t j = 0;
			while (j < with && seen[j] != d->pids[k])
				j++;
			if (j < with)
				continue;
			if (with == cap) {
				cap = cap ? cap * 2 : 16;
				seen = realloc(seen, cap * sizeof *seen);
			}
			seen[with++] = d->pids[k];
		}
	}
	free(seen);
	with = with > most ? with : most;
	if (ds->n)
		fprintf(out, " in %zu of %zu process%s", with, all, all == 1 ? "" : "es");
	else
		fprintf(out, " in %zu process%s", all, all == 1 ? "" : "es");
	/* (a live report: "at end" is for processes that ended) */
	size_t running = 0;
	for (size_t i = 0; i < run->nprocs; i++)
		running += run->procs[i].alive != 0;
	fprintf(out, ", %llu socket%s (%llu open %s)\n", (unsigned long long)run->sockets, run->sockets == 1 ? "" : "s",
		(unsigned long long)run->open_at_end,
		!running ? "at end" : running == run->nprocs ? "now" : "now or when their process ended");
	print_processes(out, run);
	print_unlogged(out, run);
	print_unreadable(out, run);
	print_injected(out, run);
	fputc('\n', out);
	print_findings(out, run, ds);
	char why[256];
	enum sl_checked checked = sl_run_checked(run, why, sizeof why);
	if (!ds->n && checked == SL_CHECKED_ALL)
		fprintf(out, "No socket problems found.\n\n");
	else if (!ds->n && checked == SL_CHECKED_PART)
		fprintf(out, "No socket problems found in what could be read (%s).\n\n", why);
	if (audit)
		sl_audit_text(out, audit);
	/* one line a CI log can grep: "socklens: result: 1 error, 2 warnings (connect-refused x1, ...)",
	 * kinds in the order of their worst finding */
	uint64_t per_kind[SL_K__COUNT] = {0};
	int listed = 0;
	for (size_t i = 0; i < ds->n; i++)
		per_kind[ds->v[i].kind] += ds->v[i].count;
	fprintf(out, "socklens: result: ");
	if (checked == SL_CHECKED_NONE) {
		fprintf(out, "not checked (%s)\n", why);
		return;
	}
	counts(out, n);
	for (size_t i = 0; i < ds->n; i++) {
		enum sl_kind k = ds->v[i].kind;
		if (!per_kind[k])
			continue;
		fprintf(out, "%s%s x%llu", listed++ ? ", " : " (", sl_kind_name(k), (unsigned long long)per_kind[k]);
		per_kind[k] = 0;
	}
	fprintf(out, "%s", listed ? ")" : "");
	uint64_t dropped = 0; /* connections and blocked calls not kept: the counts may be short */
	for (size_t i = 0; i < run->nprocs; i++) {
		struct drops d = drops_of(&run->procs[i]);
		dropped += d.slots + d.overwritten + d.threads;
	}
	if (checked == SL_CHECKED_PART)
		fprintf(out, "; incomplete: %s", why);
	if (dropped)
		fprintf(out, "%s%llu connections or blocked calls were not kept, so counts may be lower bounds (see each "
			"process)", checked == SL_CHECKED_PART ? ", " : "; incomplete: ", (unsigned long long)dropped);
	fputc('\n', out);
}
