/* report_text.c - the human report: grouped, worst first, pointing at file:line. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "analyzer.h"

#define TEXT_FRAMES 6

void sl_proc_status(const struct sl_proc *p, char *out, size_t len)
{
	const struct sl_log_header *h = &sl_proc_last(p)->h;
	if (p->alive)
		snprintf(out, len, "running");
	else if (p->have_status && WIFSIGNALED(p->wstatus))
		snprintf(out, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(p->wstatus)) ?: "?");
	else if (p->have_status && WIFEXITED(p->wstatus))
		snprintf(out, len, "exited %d", WEXITSTATUS(p->wstatus));
	else if (h->end_reason == SL_END_EXIT)
		snprintf(out, len, "exited %d", h->exit_status & 0xff);
	else if (h->end_reason == SL_END_EXEC)
		snprintf(out, len, "exec'd a program socklens could not follow");
	else
		snprintf(out, len, "ended (no exit recorded: killed or crashed)");
}

void sl_wall_time(const struct sl_log_header *h, uint64_t mono_ns, char *out, size_t len)
{
	int64_t delta = (int64_t)(mono_ns - h->start_mono_ns);
	uint64_t real = h->start_real_ns + (uint64_t)delta;
	time_t sec = (time_t)(real / 1000000000ull);
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&sec, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, len, "%s", "?"); /* a corrupt timestamp */
		return;
	}
	snprintf(out, len, "%s.%03uZ", buf, (unsigned)(real / 1000000ull % 1000));
}

static void frame_line(FILE *out, const char *lead, const struct sl_frame *f)
{
	fprintf(out, "%s", lead);
	if (f->function[0])
		fprintf(out, "%s", f->function);
	else
		fprintf(out, "0x%llx", (unsigned long long)f->addr);
	if (f->file[0])
		fprintf(out, " at %s:%d", f->file, f->line);
	if (f->module[0])
		fprintf(out, " (%s+0x%llx)", f->module, (unsigned long long)f->offset);
	fputc('\n', out);
}

#define TEXT_WIDTH 100

/* Prints lead then text, wrapped at TEXT_WIDTH columns with continuation lines indented under it. */
static void wrapped(FILE *out, const char *lead, const char *text)
{
	size_t indent = strlen(lead), col = indent;
	fputs(lead, out);
	while (*text) {
		size_t word = strcspn(text, " ");
		if (col > indent && col + 1 + word > TEXT_WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, word, out);
		col += word;
		text += word;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

static void print_diag(FILE *out, const struct sl_diag *d)
{
	char where[400], fd[24] = "";
	if (d->fd >= 0)
		snprintf(fd, sizeof fd, " fd %d", d->fd);
	snprintf(where, sizeof where, "%s[%d]%s%s%s", d->proc ? sl_proc_name(d->proc) : "?", d->proc ? d->proc->pid : 0,
		 fd, d->peer[0] ? " -> " : "", d->peer);
	fprintf(out, "%-7s %s", sl_sev_name(d->sev), sl_kind_name(d->kind));
	if (d->count > 1)
		fprintf(out, " (x%u)", d->count);
	fprintf(out, "  %s\n", where);
	wrapped(out, "        ", d->summary);
	wrapped(out, "        fix: ", sl_kind_advice(d->kind));
	for (size_t i = 0; i < d->nstack && i < TEXT_FRAMES; i++)
		frame_line(out, i ? "            " : "        at  ", &d->stack[i]);
	if (!d->nstack && d->kind != SL_K_UNTRACED_EXEC)
		fprintf(out, "        at  (no stack recorded)\n");
	const char *label = d->kind == SL_K_MISSING_TIMEOUT ? "        read " : "        call ";
	for (size_t i = 0; i < d->nsite && i < TEXT_FRAMES; i++)
		frame_line(out, i ? "            " : label, &d->site[i]);
	fputc('\n', out);
}

static void print_proc(FILE *out, const struct sl_proc *p, size_t depth)
{
	const struct sl_log_header *h = &sl_proc_last(p)->h;
	char st[96];
	sl_proc_status(p, st, sizeof st);
	fprintf(out, "%*s%s[%d] %s", (int)(2 + 2 * depth), "", sl_proc_name(p), p->pid, st);
	uint64_t dropped = 0;
	for (size_t k = 0; k < p->nimages; k++) {
		const struct sl_log_header *ih = &p->images[k].h;
		dropped += ih->event_dropped + ih->slot_dropped + ih->stack_dropped + ih->inflight_dropped;
	}
	if (dropped)
		fprintf(out, ", %llu records dropped (log full)", (unsigned long long)dropped);
	if (!(h->flags & SL_HDR_STACKS))
		fprintf(out, ", no stacks");
	fputc('\n', out);
}

static int has_parent_in_run(const struct sl_run *run, const struct sl_proc *p)
{
	for (size_t i = 0; i < run->nprocs; i++)
		if (run->procs[i].pid == p->ppid && &run->procs[i] != p)
			return 1;
	return 0;
}

/* Prints p and, indented under it, its descendants; done[] guards against cycles in pids
 * read from untrusted logs. */
static void print_tree(FILE *out, const struct sl_run *run, size_t i, size_t depth, char *done)
{
	done[i] = 1;
	print_proc(out, &run->procs[i], depth);
	for (size_t k = 0; k < run->nprocs; k++)
		if (!done[k] && run->procs[k].ppid == run->procs[i].pid)
			print_tree(out, run, k, depth + 1, done);
}

/* The run as a process tree: roots are processes whose parent is not in the run. */
static void print_processes(FILE *out, const struct sl_run *run)
{
	char *done = calloc(run->nprocs ? run->nprocs : 1, 1);
	for (size_t i = 0; i < run->nprocs; i++)
		if (!done[i] && !has_parent_in_run(run, &run->procs[i]))
			print_tree(out, run, i, 0, done);
	for (size_t i = 0; i < run->nprocs; i++) /* only a pid cycle leaves any */
		if (!done[i])
			print_tree(out, run, i, 0, done);
	free(done);
}

/* Processes that ran without a log, and why: never a silent "no problems". */
static void print_unlogged(FILE *out, const struct sl_run *run)
{
	static const char *const why[SL_UNTRACED__COUNT] = {
		[SL_UNTRACED_BUDGET] = "the run's log space budget was used up (--max-log-space)",
		[SL_UNTRACED_CREATE] = "the log file could not be created (a full or read-only filesystem?)",
		[SL_UNTRACED_FSIZE] = "the file size limit (ulimit -f) left no room for a log",
	};
	if (!run->have_ctl)
		return;
	for (int i = SL_UNTRACED_BUDGET; i < SL_UNTRACED__COUNT; i++)
		if (run->ctl.untraced[i])
			fprintf(out, "  %llu process%s ran without a log: %s\n", (unsigned long long)run->ctl.untraced[i],
				run->ctl.untraced[i] == 1 ? "" : "es", why[i]);
	if (run->ctl.grow_refused)
		fprintf(out, "  %llu time%s a log could not grow (the budget): records were dropped\n",
			(unsigned long long)run->ctl.grow_refused, run->ctl.grow_refused == 1 ? "" : "s");
}

void sl_report_text(FILE *out, const struct sl_run *run, const struct sl_diags *ds)
{
	size_t nerr = 0;
	for (size_t i = 0; i < ds->n; i++)
		nerr += ds->v[i].sev == SL_SEV_ERROR;
	fprintf(out, "\nsocklens: %zu finding%s (%zu error%s) in %zu process%s, %llu socket%s (%llu open at end)\n",
		ds->n, ds->n == 1 ? "" : "s", nerr, nerr == 1 ? "" : "s", run->nprocs,
		run->nprocs == 1 ? "" : "es", (unsigned long long)run->sockets, run->sockets == 1 ? "" : "s",
		(unsigned long long)run->open_at_end);
	print_processes(out, run);
	print_unlogged(out, run);
	fputc('\n', out);
	for (size_t i = 0; i < ds->n; i++)
		print_diag(out, &ds->v[i]);
	if (!ds->n)
		fprintf(out, "No socket problems found.\n\n");
}
