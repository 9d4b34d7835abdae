/* log_read.c - reads one log (header alone, or the materialized part of every table) into private
 * memory and validates every size and offset. Logs are untrusted input. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "analyzer.h"

#define SL_LOG_MAX_SIZE (1ull << 40) /* a sparse file may be large; we only read what is in use */
#define SL_TABLE_READ_MAX (1ull << 30) /* what one table may make us allocate, whatever a header says */

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* Opens path without following links or blocking (a FIFO planted in the run directory must
 * not hang us) and checks it is a regular file of ours to read. */
int sl_open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return fail(err, errlen, "not a regular file");
	}
	return fd;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static const uint32_t record_size[SL_T__COUNT] = {
	[SL_T_SLOTS] = sizeof(struct sl_slot), [SL_T_EVENTS] = sizeof(struct sl_event),
	[SL_T_STACKS] = sizeof(struct sl_stack), [SL_T_BUCKETS] = sizeof(uint32_t),
	[SL_T_MODULES] = sizeof(struct sl_module), [SL_T_INFLIGHT] = sizeof(struct sl_inflight),
	[SL_T_LANG] = sizeof(struct sl_lang),
};

/* A table fits when [off, off + cap * size) lies inside the file, after the header. */
static int table_ok(const struct sl_table_hdr *t, uint32_t size, uint64_t file)
{
	if (t->size != size || t->off < SL_HEADER_SIZE || t->off % 8 || t->off > file)
		return 0;
	return (uint64_t)t->cap * size <= file - t->off;
}

static int validate(struct sl_log_header *h, uint64_t size, char *err, size_t errlen)
{
	if (memcmp(h->magic, SL_LOG_MAGIC, 8) != 0)
		return fail(err, errlen, "not a socklens log (bad magic)");
	if (h->version != SL_LOG_VERSION) {
		snprintf(err, errlen, "log format version %u is not supported (this socklens reads %u)",
			 h->version, SL_LOG_VERSION);
		return -1;
	}
	if (h->header_size != SL_HEADER_SIZE || h->file_size != size)
		return fail(err, errlen, "truncated or corrupt log (size mismatch)");
	for (int t = 0; t < SL_T__COUNT; t++) {
		if (!table_ok(&h->tab[t], record_size[t], size))
			return fail(err, errlen, "corrupt log (table outside the file)");
		if (h->tab[t].avail > h->tab[t].cap)
			h->tab[t].avail = h->tab[t].cap;
	}
	if (h->event_first > h->tab[SL_T_EVENTS].cap)
		h->event_first = h->tab[SL_T_EVENTS].cap;
	for (int t = 0; t < SL_T__COUNT; t++)
		if ((uint64_t)h->tab[t].avail * h->tab[t].size > SL_TABLE_READ_MAX)
			return fail(err, errlen, "corrupt log (a table larger than 1 GiB in use)");
	/* strings come from another process: terminate them ourselves */
	h->exe[SL_EXE_MAX - 1] = 0;
	h->comm[SL_COMM_MAX - 1] = 0;
	if (h->argv_len > SL_ARGV_MAX)
		h->argv_len = SL_ARGV_MAX;
	return 0;
}

int sl_header_read(const char *path, struct sl_log_header *h, char *err, size_t errlen)
{
	struct stat st;
	int fd = sl_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	int r = -1;
	if ((uint64_t)st.st_size < SL_HEADER_SIZE || (uint64_t)st.st_size > SL_LOG_MAX_SIZE)
		fail(err, errlen, "truncated or oversized log");
	else if (read_at(fd, h, sizeof *h, 0) < 0)
		fail(err, errlen, "short read");
	else
		r = validate(h, (uint64_t)st.st_size, err, errlen);
	close(fd);
	return r;
}

/* The materialized records of table t, in a fresh buffer; *n how many. */
static void *read_table(int fd, const struct sl_log_header *h, int t, uint32_t *n)
{
	const struct sl_table_hdr *th = &h->tab[t];
	*n = th->avail;
	if (!*n)
		return NULL;
	size_t len = (size_t)*n * th->size;
	void *buf = malloc(len);
	if (buf && read_at(fd, buf, len, th->off) < 0) {
		free(buf);
		buf = NULL;
	}
	if (!buf)
		*n = 0;
	return buf;
}

static int cmp_event(const void *a, const void *b)
{
	const struct sl_event *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Keeps the committed events (a ring slot being rewritten is not), in the order they happened. */
static void order_events(struct sl_image *img, struct sl_event *ev, uint32_t n)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (ev[i].commit && ev[i].commit == ev[i].seq + 1)
			ev[k++] = ev[i];
	if (k)
		qsort(ev, k, sizeof *ev, cmp_event);
	img->events = ev;
	img->nevents = k;
}

int sl_image_load(struct sl_image *img, const char *path, char *err, size_t errlen)
{
	struct stat st;
	memset(img, 0, sizeof *img);
	int fd = sl_open_regular(path, &st, err, errlen);
	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size < SL_HEADER_SIZE || read_at(fd, &img->h, sizeof img->h, 0) < 0 ||
	    validate(&img->h, (uint64_t)st.st_size, err, errlen) < 0) {
		if ((uint64_t)st.st_size < SL_HEADER_SIZE)
			fail(err, errlen, "truncated or oversized log");
		close(fd);
		return -1;
	}
	uint32_t nev, nbuckets;
	img->slots = read_table(fd, &img->h, SL_T_SLOTS, &img->nslots);
	struct sl_event *ev = read_table(fd, &img->h, SL_T_EVENTS, &nev);
	img->stacks = read_table(fd, &img->h, SL_T_STACKS, &img->nstacks);
	img->mods = read_table(fd, &img->h, SL_T_MODULES, &img->nmods);
	img->infl = read_table(fd, &img->h, SL_T_INFLIGHT, &img->ninfl);
	img->langs = read_table(fd, &img->h, SL_T_LANG, &img->nlangs);
	(void)nbuckets;
	close(fd);
	order_events(img, ev, nev);
	img->path = strdup(path);
	for (uint32_t i = 0; i < img->nmods; i++) {
		img->mods[i].path[SL_MODPATH_MAX - 1] = 0;
		if (img->mods[i].buildid_len > SL_BUILDID_MAX)
			img->mods[i].buildid_len = 0;
	}
	if (img->h.module_next < img->nmods)
		img->nmods = (uint32_t)img->h.module_next;
	for (uint32_t i = 0; i < img->nlangs; i++) {
		img->langs[i].func[SL_LANG_FUNC - 1] = 0;
		img->langs[i].file[SL_LANG_FILE - 1] = 0;
	}
	sl_jitmap_attach(img);
	return 0;
}

void sl_image_release(struct sl_image *img)
{
	free(img->slots);
	free(img->events);
	free(img->stacks);
	free(img->mods);
	free(img->infl);
	free(img->langs);
	free(img->path);
	sl_jitmap_free(img->jit);
	memset(img, 0, sizeof *img);
}

/* The stack with id, or NULL if the id is out of range or the record is not complete. */
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id)
{
	if (id == 0 || id > img->nstacks)
		return NULL;
	const struct sl_stack *s = &img->stacks[id - 1];
	if (s->commit != 2 || s->nframes == 0 || s->nframes > SL_MAX_FRAMES)
		return NULL;
	return s;
}

/* The run's control file, copied; its exec records in *execs (committed ones). */
int sl_runctl_read(const char *dir, struct sl_run_header *out, struct sl_exec_rec **execs, size_t *nexecs)
{
	char path[4096], err[128];
	struct stat st;
	*execs = NULL;
	*nexecs = 0;
	snprintf(path, sizeof path, "%s/run.slctl", dir);
	int fd = sl_open_regular(path, &st, err, sizeof err);
	if (fd < 0)
		return -1;
	int r = -1;
	if ((uint64_t)st.st_size >= SL_HEADER_SIZE && read_at(fd, out, sizeof *out, 0) == 0 &&
	    !memcmp(out->magic, SL_RUN_MAGIC, 8) && out->version == SL_LOG_VERSION &&
	    out->exec_off >= SL_HEADER_SIZE && out->exec_off <= (uint64_t)st.st_size &&
	    (uint64_t)out->exec_cap * sizeof(struct sl_exec_rec) <= (uint64_t)st.st_size - out->exec_off) {
		uint64_t n = out->exec_avail < out->exec_cap ? out->exec_avail : out->exec_cap;
		struct sl_exec_rec *v = n ? calloc((size_t)n, sizeof *v) : NULL;
		if (v && read_at(fd, v, (size_t)n * sizeof *v, out->exec_off) == 0) {
			size_t k = 0;
			for (uint64_t i = 0; i < n; i++) {
				if (v[i].commit != 1)
					continue;
				v[i].path[SL_EXEC_PATH_MAX - 1] = 0;
				v[k++] = v[i];
			}
			*execs = v;
			*nexecs = k;
			v = NULL;
		}
		free(v);
		r = 0;
	}
	close(fd);
	return r;
}
