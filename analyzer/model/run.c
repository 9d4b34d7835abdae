/* run.c - the index of a run directory: every log's header, grouped into processes (pid ->
 * images), their fates from the exits file, and the run's control file. No table is read here. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "model/model.h"

/* Alive means the pid exists and started when the log says it did (not a reused pid). */
static int pid_alive(int pid, uint64_t start_ticks)
{
	char state;
	int ppid;
	uint64_t ticks;
	/* a zombie has ended for our purposes: it runs no code */
	return sl_proc_stat(pid, &state, &ppid, &ticks) == 0 && state != 'Z' && state != 'X' &&
	       ticks == start_ticks;
}

/* A process is its pid, pid namespace and start time (exec keeps all three); its images follow
 * each other in time. */
static int cmp_info(const void *a, const void *b)
{
	const struct sl_log_header *x = &((const struct sl_image_info *)a)->h, *y = &((const struct sl_image_info *)b)->h;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->pidns != y->pidns)
		return x->pidns < y->pidns ? -1 : 1;
	if (x->proc_start_ticks != y->proc_start_ticks)
		return x->proc_start_ticks < y->proc_start_ticks ? -1 : 1;
	if (x->start_mono_ns != y->start_mono_ns)
		return x->start_mono_ns < y->start_mono_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_process(const struct sl_log_header *x, const struct sl_log_header *y)
{
	return x->pid == y->pid && x->pidns == y->pidns && x->proc_start_ticks == y->proc_start_ticks;
}

static int is_log_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] == 'p' && len > 6 && !strcmp(n + len - 6, ".sllog");
}

struct infos {
	struct sl_image_info *v;
	size_t n, cap;
};

/* The headers of dir's logs, added to out. -1 when dir cannot be read. */
static int read_dir(struct sl_run *run, const char *dir, struct infos *out)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_log_name(de->d_name))
			continue;
		char path[4096], why[256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 64;
			out->v = realloc(out->v, out->cap * sizeof *out->v);
		}
		if (sl_header_read(path, &out->v[out->n].h, why, sizeof why) < 0) {
			sl_run_bad_log(run, path, why);
			continue;
		}
		out->v[out->n++].path = strdup(path);
	}
	closedir(d);
	return 0;
}

/* u<uid>: where the processes of a run that changed user log (the shim's hook_user.c). */
static int is_user_dir(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	if (name[0] != 'u' || !name[1] || strspn(name + 1, "0123456789") != strlen(name + 1))
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The control file of a user's subdirectory: its counts and exec records join the run's. */
static void merge_ctl(struct sl_run *run, const char *dir)
{
	struct sl_run_header h;
	struct sl_exec_rec *x;
	size_t n;
	if (sl_runctl_read(dir, &h, &x, &n, NULL) != 0)
		return;
	for (int i = 0; i < SL_UNTRACED__COUNT; i++)
		run->ctl.untraced[i] += h.untraced[i];
	run->ctl.used += h.used;
	run->ctl.procs_logged += h.procs_logged;
	run->ctl.grow_refused += h.grow_refused;
	run->ctl.logs_lost += h.logs_lost;
	run->ctl.privileges_lost += h.privileges_lost;
	run->ctl.traceme_refused += h.traceme_refused;
	struct sl_exec_rec *all = realloc(run->execs, (run->nexecs + n + 1) * sizeof *all);
	if (all) {
		if (n) /* x is NULL when the file has no exec record */
			memcpy(all + run->nexecs, x, n * sizeof *x);
		run->execs = all;
		run->nexecs += n;
	}
	free(x);
}

static int read_headers(struct sl_run *run, const char *dir, struct sl_image_info **out, size_t *count,
			char *err, size_t errlen)
{
	struct infos v = {0};
	if (read_dir(run, dir, &v) < 0) {
		snprintf(err, errlen, "cannot open run directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[4096];
		if (!is_user_dir(dir, de->d_name))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		read_dir(run, sub, &v);
	}
	if (d)
		closedir(d);
	if (v.n)
		qsort(v.v, v.n, sizeof *v.v, cmp_info);
	*out = v.v;
	*count = v.n;
	return 0;
}

/* The run's control file, and those of its users' subdirectories. */
static void read_ctl(struct sl_run *run, const char *dir)
{
	run->have_ctl = sl_runctl_read(dir, &run->ctl, &run->execs, &run->nexecs, &run->inject) == 0;
	DIR *d = run->have_ctl ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char sub[4096];
		if (!is_user_dir(dir, de->d_name))
			continue;
		snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
		merge_ctl(run, sub);
	}
	if (d)
		closedir(d);
}

/* The exits file written by socklens run: "pid wstatus end_ns" per line. */
static void read_exits(struct sl_run *run)
{
	char path[4096], line[128], err[128];
	struct stat st;
	snprintf(path, sizeof path, "%s/exits", run->dir);
	int fd = sl_open_regular(path, &st, err, sizeof err);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		int pid, ws;
		unsigned long long end;
		struct sl_proc *p;
		if (sscanf(line, "%d %d %llu", &pid, &ws, &end) != 3 || !(p = sl_run_find_at(run, pid, end)))
			continue;
		p->have_status = 1;
		p->wstatus = ws;
		p->end_ns = end;
	}
	fclose(f);
}

void sl_run_bad_log(struct sl_run *run, const char *path, const char *why)
{
	sl_warn("skipping log '%s': %s", path, why);
	if (!run->bad_logs++)
		snprintf(run->bad_why, sizeof run->bad_why, "'%.200s': %.90s", path, why);
}

static uint64_t proc_start(const struct sl_proc *p)
{
	return p->images[0].h.start_mono_ns;
}

struct sl_proc *sl_run_find_at(const struct sl_run *run, int pid, uint64_t at_ns)
{
	size_t lo = 0, hi = run->nprocs;
	while (lo < hi) { /* the first process with this pid */
		size_t mid = (lo + hi) / 2;
		if (run->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct sl_proc *best = NULL;
	for (size_t i = lo; i < run->nprocs && run->procs[i].pid == pid; i++) {
		struct sl_proc *p = &run->procs[i];
		if (!best || (proc_start(p) <= at_ns && (proc_start(best) > at_ns || proc_start(p) > proc_start(best))))
			best = p;
	}
	return best;
}

struct sl_proc *sl_run_find(const struct sl_run *run, int pid)
{
	return sl_run_find_at(run, pid, UINT64_MAX);
}

static int by_pid_then_time(const void *a, const void *b)
{
	const struct sl_exec_rec *x = *(const struct sl_exec_rec *const *)a, *y = *(const struct sl_exec_rec *const *)b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* The exec records marked arrived, sorted by pid then time, for lookups by pid. */
static void index_arrived(struct sl_run *run)
{
	run->arrived = calloc(run->nexecs + 1, sizeof *run->arrived);
	run->narrived = 0;
	for (size_t i = 0; run->arrived && i < run->nexecs; i++)
		if (run->execs[i].why & SL_EXEC_ARRIVED)
			run->arrived[run->narrived++] = &run->execs[i];
	if (run->arrived)
		qsort(run->arrived, run->narrived, sizeof *run->arrived, by_pid_then_time);
}

const struct sl_exec_rec *sl_run_arrived_at(const struct sl_run *run, int pid, uint64_t at)
{
	size_t lo = 0, hi = run->narrived;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (run->arrived[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct sl_exec_rec *best = NULL;
	for (; lo < run->narrived && run->arrived[lo]->pid == pid && run->arrived[lo]->ts_ns <= at; lo++)
		best = run->arrived[lo];
	return best;
}

/* The ppid of a process that made no log, from the newest of its arrived records not later than
 * at; 0 when none is. */
static int unlogged_ppid(const struct sl_run *run, int pid, uint64_t at)
{
	const struct sl_exec_rec *best = sl_run_arrived_at(run, pid, at);
	return best && best->ppid != pid ? best->ppid : 0;
}

/* The nearest process with a log among pid and its ancestors at time at, through those that made
 * none (a fork child that used no socket and forked again, a shell a build started); NULL when
 * none is within 16 generations. */
static struct sl_proc *logged_ancestor(const struct sl_run *run, int pid, uint64_t at)
{
	for (int hops = 0; pid > 0 && hops < 16; hops++) {
		struct sl_proc *q = sl_run_find_at(run, pid, at);
		if (q)
			return q;
		pid = unlogged_ppid(run, pid, at);
	}
	return NULL;
}

const struct sl_proc *sl_proc_parent(const struct sl_run *run, const struct sl_proc *p)
{
	const struct sl_proc *q = logged_ancestor(run, p->ppid, proc_start(p));
	return q && q != p && proc_start(q) <= proc_start(p) ? q : NULL;
}

static void group_processes(struct sl_run *run, struct sl_image_info *v, size_t n)
{
	run->procs = calloc(n ? n : 1, sizeof *run->procs);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && same_process(&v[j].h, &v[i].h))
			j++;
		struct sl_proc *p = &run->procs[run->nprocs];
		p->index = run->nprocs++;
		p->pid = v[i].h.pid;
		p->ppid = v[i].h.ppid;
		p->images = malloc((j - i) * sizeof *p->images);
		memcpy(p->images, v + i, (j - i) * sizeof *p->images);
		p->nimages = j - i;
		/* a socket counts where it was made: not again in an image that inherited it */
		for (size_t k = 0; k < p->nimages; k++) {
			const struct sl_log_header *h = &p->images[k].h;
			p->sockets += h->conn_next - (h->inherited_socks < h->conn_next ? h->inherited_socks : h->conn_next);
			p->inherited += h->inherited_socks;
		}
		const struct sl_log_header *last = &p->images[p->nimages - 1].h;
		p->alive = last->end_reason != SL_END_EXEC && pid_alive(p->pid, last->proc_start_ticks);
		if (!p->alive && last->end_reason == SL_END_EXIT)
			p->end_ns = last->end_mono_ns;
		i = j;
	}
}

int sl_run_index(struct sl_run *run, const char *dir, char *err, size_t errlen)
{
	struct sl_image_info *v;
	size_t n;
	memset(run, 0, sizeof *run);
	run->dir = strdup(dir);
	run->now_ns = sl_mono_now();
	if (read_headers(run, dir, &v, &n, err, errlen) < 0)
		return -1;
	group_processes(run, v, n);
	free(v);
	read_ctl(run, dir); /* before parents are looked for: the exec table names processes without a log */
	index_arrived(run);
	/* what the run was handed (socket activation, inherited listeners) counts in its first image */
	for (size_t i = 0; i < run->nprocs; i++) {
		struct sl_proc *p = &run->procs[i];
		if (!sl_proc_parent(run, p))
			p->sockets += p->images[0].h.inherited_socks;
		run->sockets += p->sockets;
	}
	read_exits(run);
	return 0;
}

int sl_run_index_live(struct sl_run *run, const char *dir, char *err, size_t errlen)
{
	if (sl_run_index(run, dir, err, errlen) < 0)
		return -1;
	if (!run->nprocs && !run->have_ctl && !run->bad_logs) {
		snprintf(err, errlen, "'%s' is not a socklens run directory: no run.slctl and no logs in it "
			 "(was the program started by socklens run?)", dir);
		return -1;
	}
	return 0;
}

void sl_run_release(struct sl_run *run)
{
	for (size_t i = 0; i < run->nprocs; i++) {
		for (size_t k = 0; k < run->procs[i].nimages; k++)
			free(run->procs[i].images[k].path);
		free(run->procs[i].images);
	}
	free(run->procs);
	free(run->execs);
	free(run->arrived);
	free(run->dir);
	free(run->kview);
	memset(run, 0, sizeof *run);
}

int sl_proc_uses_io_uring(const struct sl_proc *p)
{
	uint32_t f = 0;
	for (size_t k = 0; k < p->nimages; k++)
		f |= p->images[k].h.flags;
	return (f & (SL_HDR_IO_URING | SL_HDR_IO_URING_SOCK)) ? 2 : (f & SL_HDR_IO_URING_LIB) ? 1 : 0;
}

const struct sl_image_info *sl_proc_last(const struct sl_proc *p)
{
	return &p->images[p->nimages - 1];
}

const char *sl_proc_name(const struct sl_proc *p)
{
	const struct sl_log_header *h = &sl_proc_last(p)->h;
	const char *slash = strrchr(h->exe, '/'), *base = slash ? slash + 1 : h->exe;
	/* the kernel keeps 15 bytes of a name: the program file's whole name when it is the one cut */
	size_t cl = strnlen(h->comm, sizeof h->comm);
	if (h->comm[0] && cl == 15 && strlen(base) > cl && !strncmp(base, h->comm, cl))
		return base;
	return h->comm[0] ? h->comm : base;
}

/* The latest timestamp an image holds: the best "end" we have for a killed process. */
static uint64_t image_last_ts(const struct sl_image *img)
{
	uint64_t t = img->h.start_mono_ns;
	for (uint32_t i = 0; i < img->nevents; i++)
		if (img->events[i].ts_ns + img->events[i].dur_ns > t)
			t = img->events[i].ts_ns + img->events[i].dur_ns;
	for (uint32_t i = 0; i < img->nslots; i++)
		if (img->slots[i].state == SL_SLOT_CLOSED && img->slots[i].close_ns > t)
			t = img->slots[i].close_ns;
	return t;
}

uint64_t sl_image_end(const struct sl_run *run, const struct sl_proc *p, const struct sl_image *img)
{
	if (img->h.end_reason != SL_END_NONE && img->h.end_mono_ns)
		return img->h.end_mono_ns;
	if (p->alive && img->h.seq == sl_proc_last(p)->h.seq)
		return run->now_ns;
	return p->end_ns ? p->end_ns : image_last_ts(img);
}

/* Processes that ran without a log for a reason that is a loss, not a choice (the untraceable
 * children an exec record names are findings of their own). */
static uint64_t unlogged(const struct sl_run *run)
{
	static const int lost[] = {SL_UNTRACED_BUDGET, SL_UNTRACED_CREATE, SL_UNTRACED_FSIZE, SL_UNTRACED_PTRACE,
				   SL_UNTRACED_USER, SL_UNTRACED_NO_DIR};
	uint64_t n = 0;
	for (size_t i = 0; run->have_ctl && i < sizeof lost / sizeof lost[0]; i++)
		n += run->ctl.untraced[lost[i]];
	return n;
}

/* The exec'ing process's image ended by that exec (it did not fail): a new image ran. */
static int exec_happened(const struct sl_proc *p, uint64_t ts)
{
	for (size_t k = 0; p && k < p->nimages; k++) {
		const struct sl_log_header *h = &p->images[k].h;
		if (h->start_mono_ns <= ts && h->end_reason == SL_END_EXEC && h->end_mono_ns >= ts)
			return 1;
	}
	return 0;
}

/* A log of pid begun at or after the exec: the child was traced. */
static int logged_after(const struct sl_run *run, int pid, uint64_t ts)
{
	const struct sl_proc *p = sl_run_find_at(run, pid, ts);
	for (size_t k = 0; p && k < p->nimages; k++)
		if (p->images[k].h.start_mono_ns >= ts)
			return 1;
	return 0;
}

int sl_exec_untraced(const struct sl_run *run, const struct sl_exec_rec *x, const struct sl_proc **proc)
{
	*proc = NULL;
	if ((x->why & (SL_EXEC_ARRIVED | SL_EXEC_NOLOG | SL_EXEC_FAILED)) || logged_after(run, x->pid, x->ts_ns))
		return 0; /* the shim ran in the program (it made no log if it had no socket) */
	int why = (x->why & SL_EXEC_WHY_MASK) ? (int)(x->why & SL_EXEC_WHY_MASK) : sl_untraceable_kind(x->path);
	const struct sl_proc *p = sl_run_find_at(run, x->pid, x->ts_ns);
	/* a program that should have been logged and was not, though its exec went through */
	if (!why && exec_happened(p, x->ts_ns))
		why = SL_UNTRACED_USER;
	if (!p) /* told in the log of the nearest ancestor that has one */
		p = logged_ancestor(run, x->ppid, x->ts_ns);
	if (!why || !p)
		return 0; /* an exec that failed, or a log the budget refused (counted apart) */
	*proc = p;
	return why;
}

size_t sl_run_unlogged(const struct sl_run *run, const struct sl_exec_rec ***out)
{
	const struct sl_exec_rec **v = calloc(run->narrived + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; v && i < run->narrived; i++) { /* the last program each pid without a log ran */
		const struct sl_exec_rec *x = run->arrived[i];
		if ((i + 1 == run->narrived || run->arrived[i + 1]->pid != x->pid) && !sl_run_find(run, x->pid))
			v[k++] = x;
	}
	if (out)
		*out = v;
	else
		free(v);
	return k;
}

void sl_run_note_reaped(struct sl_run *run, const struct sl_image *img)
{
	for (uint32_t i = 0; i < img->nevents; i++) {
		const struct sl_event *ev = &img->events[i];
		struct sl_proc *c;
		if (ev->type != SL_EV_REAPED || ev->a <= 0 || ev->a > INT32_MAX ||
		    !(c = sl_run_find_at(run, (int)ev->a, ev->ts_ns)) || c->have_status || c->ppid != img->h.pid)
			continue;
		c->have_status = 1;
		c->wstatus = (int)ev->b;
		c->end_ns = ev->ts_ns;
	}
}

enum sl_checked sl_run_checked(const struct sl_run *run, char *why, size_t len)
{
	uint64_t lost = run->have_ctl ? run->ctl.logs_lost : 0, none = unlogged(run);
	int n = 0;
	why[0] = 0;
	if (run->bad_logs)
		n += snprintf(why + n, len - (size_t)n, "%zu log%s unreadable", run->bad_logs, run->bad_logs == 1 ? "" : "s");
	if (run->damaged_records && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%zu damaged record%s left out (times no clock gives)",
			      n ? ", " : "", run->damaged_records, run->damaged_records == 1 ? "" : "s");
	if (lost && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%llu log%s truncated while its process ran", n ? ", " : "",
			      (unsigned long long)lost, lost == 1 ? "" : "s");
	if (none && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%llu process%s without a log", n ? ", " : "",
			      (unsigned long long)none, none == 1 ? "" : "es");
	size_t execs = 0;
	const struct sl_proc *p;
	for (size_t i = 0; i < run->nexecs; i++)
		execs += sl_exec_untraced(run, &run->execs[i], &p) != 0;
	if (execs && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%zu exec%s not followed (untraced-exec)", n ? ", " : "", execs,
			      execs == 1 ? "" : "s");
	size_t ring = 0;
	for (size_t i = 0; i < run->nprocs; i++)
		ring += sl_proc_uses_io_uring(&run->procs[i]) == 2;
	if (ring && n < (int)len)
		n += snprintf(why + n, len - (size_t)n, "%s%zu process%s io_uring, whose ring operations are not seen",
			      n ? ", " : "", ring, ring == 1 ? " uses" : "es use");
	for (size_t i = 0; i < run->nprocs && n < (int)len; i++)
		if (sl_proc_last(&run->procs[i])->h.flags & SL_HDR_RUN_LOST) {
			n += snprintf(why + n, len - (size_t)n, "%sthe run's control file was truncated: processes "
				      "that ran without a log were not counted", n ? ", " : "");
			break;
		}
	if (run->nprocs == 0 && !run->main_untraced && !run->bad_logs && sl_run_unlogged(run, NULL))
		return n ? SL_CHECKED_PART : SL_CHECKED_ALL; /* the programs ran traced, none had a socket */
	if (run->nprocs == 0) {
		if (run->main_untraced)
			snprintf(why, len, "the program cannot be traced: %s", run->main_untraced);
		else if (!n)
			snprintf(why, len, "no process left a log");
		return SL_CHECKED_NONE;
	}
	return n ? SL_CHECKED_PART : SL_CHECKED_ALL;
}

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
		snprintf(out, len, "ended without an exit socklens saw (a signal, or a crash)");
}

/* Copies the lines of V8's map that name the addresses of one log's stacks beside it; removes
 * V8's map when socklens asked for it. */
static void keep_one(const char *log)
{
	struct sl_image img;
	char err[256], copy[4096], tmp[64];
	if (sl_image_load(&img, log, err, sizeof err) < 0)
		return;
	sl_perfmap_tmp_path(tmp, sizeof tmp, img.h.pid);
	struct sl_jitmap *m = img.jit;
	if (m && sl_perfmap_copy_path(log, copy, sizeof copy) == 0 && access(copy, F_OK) != 0) {
		int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
		char line[600];
		for (uint32_t s = 0; out && s < img.nstacks; s++)
			for (uint32_t i = 0; img.stacks[s].commit == 2 && i < img.stacks[s].nframes && i < SL_MAX_FRAMES; i++)
				if (sl_jitmap_line(m, img.stacks[s].ip[i], line, sizeof line) == 0)
					fprintf(out, "%s\n", line);
		if (out)
			fclose(out);
		else if (fd >= 0)
			close(fd);
		if (img.h.flags & SL_HDR_V8_MAP_OURS)
			unlink(tmp);
	}
	sl_image_release(&img);
}

void sl_jitmap_keep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 6, ".sllog"))
			continue;
		struct sl_log_header h;
		char err[256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (sl_header_read(path, &h, err, sizeof err) == 0 && (h.flags & SL_HDR_V8_MAP))
			keep_one(path);
	}
	if (d)
		closedir(d);
}
