/* run.c - a run directory as a set of processes (pid -> images) and their connections. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "analyzer.h"

void sl_thresholds_default(struct sl_thresholds *th)
{
	th->blocked_ns = 1000000000ull;
	th->keepalive_ns = 60000000000ull;
}

int sl_threshold_set(struct sl_thresholds *th, const char *arg)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;
	if (!eq || sl_dur_parse(eq + 1, &v) < 0)
		return -1;
	size_t n = (size_t)(eq - arg);
	if (n == 7 && !strncmp(arg, "blocked", n))
		th->blocked_ns = v;
	else if (n == 9 && !strncmp(arg, "keepalive", n))
		th->keepalive_ns = v;
	else
		return -1;
	return 0;
}

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

static int cmp_image(const void *a, const void *b)
{
	const struct sl_image *x = *(struct sl_image *const *)a, *y = *(struct sl_image *const *)b;
	if (x->h->pid != y->h->pid)
		return x->h->pid < y->h->pid ? -1 : 1;
	return x->h->seq < y->h->seq ? -1 : x->h->seq > y->h->seq;
}

static int is_log_name(const char *n)
{
	size_t len = strlen(n);
	return n[0] == 'p' && len > 6 && !strcmp(n + len - 6, ".sllog");
}

static int load_images(struct sl_run *run, const char *dir, struct sl_image ***out, size_t *count,
		       char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open run directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	struct sl_image **v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_log_name(de->d_name))
			continue;
		char path[4096], why[256];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		struct sl_image *img = calloc(1, sizeof *img);
		if (!img || sl_image_load(img, path, why, sizeof why) < 0) {
			sl_warn("skipping log '%s': %s", path, img ? why : "out of memory");
			free(img);
			run->bad_logs++;
			continue;
		}
		v = realloc(v, (n + 1) * sizeof *v);
		v[n++] = img;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_image);
	*out = v;
	*count = n;
	return 0;
}

/* The exits file written by socklens run: "pid wstatus end_ns" per line. */
static void read_exits(struct sl_run *run)
{
	char path[4096], line[128];
	snprintf(path, sizeof path, "%s/exits", run->dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		int pid, ws;
		unsigned long long end;
		if (sscanf(line, "%d %d %llu", &pid, &ws, &end) != 3)
			continue;
		for (size_t i = 0; i < run->nprocs; i++) {
			if (run->procs[i].pid == pid) {
				run->procs[i].have_status = 1;
				run->procs[i].wstatus = ws;
				run->procs[i].end_ns = end;
			}
		}
	}
	fclose(f);
}

static void group_processes(struct sl_run *run, struct sl_image **v, size_t n)
{
	run->procs = calloc(n ? n : 1, sizeof *run->procs);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j]->h->pid == v[i]->h->pid)
			j++;
		struct sl_proc *p = &run->procs[run->nprocs++];
		p->pid = v[i]->h->pid;
		p->ppid = v[i]->h->ppid;
		p->images = malloc((j - i) * sizeof *p->images);
		memcpy(p->images, v + i, (j - i) * sizeof *p->images);
		p->nimages = j - i;
		const struct sl_log_header *last = p->images[p->nimages - 1]->h;
		p->alive = last->end_reason != SL_END_EXEC && pid_alive(p->pid, last->proc_start_ticks);
		if (!p->alive && last->end_reason == SL_END_EXIT)
			p->end_ns = last->end_mono_ns;
		i = j;
	}
}

/* The latest timestamp an image holds: the best "end" we have for a killed process. */
static uint64_t image_last_ts(const struct sl_image *img)
{
	uint64_t t = img->h->start_mono_ns;
	for (uint32_t i = 0; i < img->nevents; i++)
		if (img->events[i].commit == i + 1 && img->events[i].ts_ns + img->events[i].dur_ns > t)
			t = img->events[i].ts_ns + img->events[i].dur_ns;
	for (uint32_t i = 0; i < img->h->slot_cap; i++)
		if (img->slots[i].state == SL_SLOT_CLOSED && img->slots[i].close_ns > t)
			t = img->slots[i].close_ns;
	return t;
}

static uint64_t image_end(const struct sl_run *run, const struct sl_proc *p, const struct sl_image *img)
{
	if (img->h->end_reason != SL_END_NONE && img->h->end_mono_ns)
		return img->h->end_mono_ns;
	if (p->alive && img == sl_proc_last(p))
		return run->now_ns;
	return p->end_ns ? p->end_ns : image_last_ts(img);
}

static void collect_conns(struct sl_run *run)
{
	size_t cap = 0;
	for (size_t i = 0; i < run->nprocs; i++) {
		struct sl_proc *p = &run->procs[i];
		for (size_t k = 0; k < p->nimages; k++) {
			struct sl_image *img = p->images[k];
			uint64_t end = image_end(run, p, img);
			for (uint32_t s = 0; s < img->h->slot_cap; s++) {
				const struct sl_slot *sl = &img->slots[s];
				if (sl->state != SL_SLOT_LIVE && sl->state != SL_SLOT_CLOSED)
					continue;
				if (run->nconns == cap) {
					cap = cap ? cap * 2 : 64;
					run->conns = realloc(run->conns, cap * sizeof *run->conns);
				}
				struct sl_conn *c = &run->conns[run->nconns++];
				c->proc = p;
				c->img = img;
				c->s = sl;
				c->open_at_end = sl->state == SL_SLOT_LIVE;
				c->end_ns = sl->state == SL_SLOT_CLOSED ? sl->close_ns : end;
			}
		}
	}
}

int sl_run_load(struct sl_run *run, const char *dir, char *err, size_t errlen)
{
	struct sl_image **v;
	size_t n;
	memset(run, 0, sizeof *run);
	sl_thresholds_default(&run->th);
	run->dir = strdup(dir);
	run->now_ns = sl_mono_now();
	if (load_images(run, dir, &v, &n, err, errlen) < 0)
		return -1;
	group_processes(run, v, n);
	free(v);
	read_exits(run);
	collect_conns(run);
	return 0;
}

void sl_run_release(struct sl_run *run)
{
	for (size_t i = 0; i < run->nprocs; i++) {
		for (size_t k = 0; k < run->procs[i].nimages; k++) {
			sl_image_release(run->procs[i].images[k]);
			free(run->procs[i].images[k]);
		}
		free(run->procs[i].images);
	}
	free(run->procs);
	free(run->conns);
	free(run->dir);
	memset(run, 0, sizeof *run);
}

void sl_run_each_image(const struct sl_run *run, struct sl_diags *out,
		       void (*fn)(const struct sl_run *, const struct sl_proc *, struct sl_image *, struct sl_diags *))
{
	for (size_t i = 0; i < run->nprocs; i++)
		for (size_t k = 0; k < run->procs[i].nimages; k++)
			fn(run, &run->procs[i], run->procs[i].images[k], out);
}

struct sl_image *sl_proc_last(const struct sl_proc *p)
{
	return p->images[p->nimages - 1];
}

const char *sl_proc_name(const struct sl_proc *p)
{
	const char *exe = sl_proc_last(p)->h->exe;
	const char *slash = strrchr(exe, '/');
	return slash ? slash + 1 : exe;
}
