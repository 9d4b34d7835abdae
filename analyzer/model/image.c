/* image.c - reads one log (header alone, or the materialized part of every table) into private
 * memory and validates every size and offset. Logs are untrusted input. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model/model.h"

#define SL_LOG_MAX_SIZE (1ull << 40) /* a sparse file may be large; we only read what is in use */
/* What one log may make us keep in memory, whatever its header says; a log holding more records
 * than this (a gigabyte of them) is refused with a message rather than read in part. */
#define SL_LOG_READ_MAX (1ull << 30)

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
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

/* Whether record r of table t holds something: a hole (never written) reads as zeros, which no
 * committed record is. */
static int present(int t, const void *r)
{
	switch (t) {
	case SL_T_SLOTS: return ((const struct sl_slot *)r)->state != SL_SLOT_FREE;
	case SL_T_EVENTS: {
		const struct sl_event *e = r;
		return e->commit && e->commit == e->seq + 1;
	}
	case SL_T_STACKS: return ((const struct sl_stack *)r)->commit == 2;
	case SL_T_MODULES: return ((const struct sl_module *)r)->commit == 1;
	case SL_T_INFLIGHT: return ((const struct sl_inflight *)r)->owner != 0;
	case SL_T_LANG: return ((const struct sl_lang *)r)->commit == 1;
	default: return 0;
	}
}

/* Records the writers reserved in table t (its *_next counter), at most its cap. */
static uint64_t reserved(const struct sl_log_header *h, int t)
{
	uint64_t next;
	switch (t) {
	case SL_T_SLOTS: next = h->slot_next; break;
	case SL_T_EVENTS: next = h->event_next; break;
	case SL_T_STACKS: next = h->stack_next; break;
	case SL_T_MODULES: next = h->module_next; break;
	case SL_T_LANG: next = h->lang_next; break;
	default: next = h->tab[t].cap; break; /* in-flight records are claimed anywhere below cap */
	}
	return next < h->tab[t].cap ? next : h->tab[t].cap;
}

struct table_buf {
	char *rec;
	uint32_t *idx;   /* each kept record's index in the table */
	uint32_t n, cap;
	size_t size;
	uint64_t budget; /* bytes this log may still make us keep */
};

/* Keeps the present records of a chunk of len bytes read at record index first. */
static int keep_chunk(struct table_buf *b, int t, const char *chunk, size_t len, uint64_t first)
{
	for (size_t off = 0; off + b->size <= len; off += b->size) {
		if (!present(t, chunk + off))
			continue;
		if (b->n == b->cap) {
			uint32_t cap = b->cap ? b->cap * 2 : 64;
			if ((uint64_t)cap * (b->size + sizeof *b->idx) > b->budget)
				return -1;
			char *rec = realloc(b->rec, (size_t)cap * b->size);
			uint32_t *idx = rec ? realloc(b->idx, (size_t)cap * sizeof *idx) : NULL;
			if (rec)
				b->rec = rec;
			if (!idx)
				return -1;
			b->idx = idx;
			b->cap = cap;
		}
		memcpy(b->rec + (size_t)b->n * b->size, chunk + off, b->size);
		b->idx[b->n++] = (uint32_t)(first + off / b->size);
	}
	return 0;
}

#define SL_READ_CHUNK (256u * 1024u)

/* The present records of table t, read only where the file holds data (SEEK_DATA skips the holes
 * of a sparse log, so a header claiming full tables costs nothing unless the data is there). 0,
 * or -1 when the records would pass what this log may make us keep (b->budget). */
static int read_table(int fd, const struct sl_log_header *h, int t, struct table_buf *b)
{
	const struct sl_table_hdr *th = &h->tab[t];
	uint64_t end = th->off + reserved(h, t) * th->size, pos = th->off;
	char *chunk = malloc(SL_READ_CHUNK);
	int r = chunk ? 0 : -1;
	b->size = th->size;
	while (r == 0 && pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= end)
			break; /* the rest is a hole (ENXIO: up to the end of the file) */
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
		/* whole records from the one the data starts in */
		uint64_t first = ((uint64_t)data - th->off) / th->size;
		pos = th->off + first * th->size;
		while (r == 0 && pos < stop) {
			uint64_t want = end - pos < SL_READ_CHUNK ? end - pos : SL_READ_CHUNK;
			want -= want % th->size;
			if (!want || read_at(fd, chunk, (size_t)want, pos) < 0)
				break;
			r = keep_chunk(b, t, chunk, (size_t)want, (pos - th->off) / th->size);
			pos += want;
		}
		if (pos < stop)
			break;
	}
	free(chunk);
	return r;
}

/* Reads table t into *rec (and its records' indexes into *idx, when asked), charging the log's
 * budget; 0, or -1 with a message in err. */
static int load_table(int fd, const struct sl_log_header *h, int t, void **rec, uint32_t **idx, uint32_t *n,
		      uint64_t *budget, char *err, size_t errlen)
{
	struct table_buf b = {.budget = *budget};
	if (read_table(fd, h, t, &b) < 0) {
		free(b.rec);
		free(b.idx);
		snprintf(err, errlen, "the log holds more than socklens reads of one log (%llu MiB)",
			 (unsigned long long)(SL_LOG_READ_MAX >> 20));
		return -1;
	}
	*budget -= (uint64_t)b.n * (b.size + sizeof *b.idx);
	*rec = b.rec;
	*n = b.n;
	if (idx)
		*idx = b.idx;
	else
		free(b.idx);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
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
	uint32_t with_conn = 0;
	for (uint32_t i = 0; i < k; i++)
		if (ev[i].type == SL_EV_INJECT) {
			img->inject_calls |= ev[i].call < 32 ? 1u << ev[i].call : 0;
			with_conn += ev[i].conn_id != 0;
		}
	img->injected = with_conn ? malloc(with_conn * sizeof *img->injected) : NULL;
	for (uint32_t i = 0; img->injected && i < k; i++)
		if (ev[i].type == SL_EV_INJECT && ev[i].conn_id)
			img->injected[img->ninjected++] = ev[i].conn_id;
	if (img->ninjected)
		qsort(img->injected, img->ninjected, sizeof *img->injected, cmp_u64);
}

int sl_image_injected(const struct sl_image *img, uint64_t conn_id)
{
	return img && img->ninjected && conn_id &&
	       bsearch(&conn_id, img->injected, img->ninjected, sizeof conn_id, cmp_u64) != NULL;
}

/* Whether a slot's times cannot be those of a socket of this log, whose process began at start and
 * ended at end (0: not known): a close before the open, a time past the end, a duration longer
 * than the socket's whole span. Only what no clock can give: a bit flipped high in a damaged log
 * (a connect of 576460752 s), not a plausible wrong value. */
#define SANE_SLACK 1000000000ull /* a second: the coarse clock's lag, a stamp taken as the log ended */
#define SANE_YEAR (366ull * 86400 * 1000000000ull) /* the longest wait of a log with no end (below) */
static int slot_damaged(const struct sl_slot *s, uint64_t start, uint64_t end)
{
	const uint64_t stamps[] = {s->close_ns, s->last_out_cns, s->last_in_cns, s->eof_cns};
	uint64_t first = s->open_ns < start ? s->open_ns : start;
	if (s->state == SL_SLOT_CLOSED && s->close_ns + SANE_SLACK < s->open_ns)
		return 1;
	for (size_t i = 0; i < sizeof stamps / sizeof *stamps; i++) {
		if (stamps[i] && ((end && stamps[i] > end + SANE_SLACK) || stamps[i] + SANE_SLACK < first))
			return 1;
	}
	/* TCP_INFO's: a smoothed RTT past TCP's longest retransmission timeout (120 s), more segments
	 * retransmitted than sent */
	if (s->tcp_rtt_us > 120000000u || s->tcp_rttvar_us > 120000000u || (s->tcp_segs_out && s->tcp_retrans > s->tcp_segs_out))
		return 1;
	/* (a running or killed process's log has no end, and a wait goes on past its socket's last
	 * stamp: a year, then, which a bit flipped high still passes) */
	uint64_t span = end ? end - first + SANE_SLACK : SANE_YEAR;
	const uint64_t durations[] = {s->connect_ns, s->read_max_cns, s->write_max_cns, s->blocked_in_cns,
				      s->blocked_out_cns, s->nagle_cns};
	for (size_t i = 0; i < sizeof durations / sizeof *durations; i++)
		if (durations[i] > span)
			return 1;
	return 0;
}

/* ... and an event's: before the process began, past its end, or longer than its life */
static int event_damaged(const struct sl_event *ev, uint64_t start, uint64_t end)
{
	if (!ev->ts_ns)
		return 0; /* (not dated: nothing to check) */
	if (ev->ts_ns + SANE_SLACK < start || (end && ev->ts_ns > end + SANE_SLACK))
		return 1;
	return ev->dur_ns > (end ? end - start + SANE_SLACK : SANE_YEAR);
}

/* Leaves out the slots and events whose times cannot be, counted in img->damaged. */
static void drop_damaged(struct sl_image *img)
{
	uint64_t start = img->h.start_mono_ns, end = img->h.end_mono_ns;
	uint32_t k = 0;
	for (uint32_t i = 0; i < img->nslots; i++) {
		const struct sl_slot *s = &img->slots[i];
		if ((s->state == SL_SLOT_LIVE || s->state == SL_SLOT_CLOSED) && slot_damaged(s, start, end))
			img->damaged++;
		else
			img->slots[k++] = *s;
	}
	img->nslots = k;
	k = 0;
	for (uint32_t i = 0; i < img->nevents; i++) {
		if (event_damaged(&img->events[i], start, end))
			img->damaged++;
		else
			img->events[k++] = img->events[i];
	}
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
	uint64_t budget = SL_LOG_READ_MAX;
	uint32_t nev = 0;
	void *ev = NULL;
	int r = load_table(fd, &img->h, SL_T_SLOTS, (void **)&img->slots, NULL, &img->nslots, &budget, err, errlen);
	if (r == 0)
		r = load_table(fd, &img->h, SL_T_EVENTS, &ev, NULL, &nev, &budget, err, errlen);
	if (r == 0)
		r = load_table(fd, &img->h, SL_T_STACKS, (void **)&img->stacks, &img->stack_ids, &img->nstacks,
			       &budget, err, errlen);
	if (r == 0)
		r = load_table(fd, &img->h, SL_T_MODULES, (void **)&img->mods, NULL, &img->nmods, &budget, err, errlen);
	if (r == 0)
		r = load_table(fd, &img->h, SL_T_INFLIGHT, (void **)&img->infl, NULL, &img->ninfl, &budget, err, errlen);
	if (r == 0)
		r = load_table(fd, &img->h, SL_T_LANG, (void **)&img->langs, &img->lang_ids, &img->nlangs, &budget,
			       err, errlen);
	close(fd);
	order_events(img, ev, nev);
	if (r < 0) {
		sl_image_release(img);
		return -1;
	}
	img->path = strdup(path);
	drop_damaged(img);
	for (uint32_t i = 0; i < img->nmods; i++) {
		img->mods[i].path[SL_MODPATH_MAX - 1] = 0;
		if (img->mods[i].buildid_len > SL_BUILDID_MAX)
			img->mods[i].buildid_len = 0;
	}
	for (uint32_t i = 0; i < img->nlangs; i++) {
		img->langs[i].func[SL_LANG_FUNC - 1] = 0;
		img->langs[i].file[SL_LANG_FILE - 1] = 0;
	}
	sl_jitmap_attach(img);
	/* a program started through a link to another name (redis-server -> redis-check-rdb) shows
	 * the name it ran as; not when the file's name merely goes on (python3 is python3.11, a
	 * command name cut at 15 characters) */
	const char *base = strrchr(img->h.exe, '/') ? strrchr(img->h.exe, '/') + 1 : img->h.exe;
	const char *ran_as = img->h.comm[0] && strncmp(base, img->h.comm, strlen(img->h.comm)) ? img->h.comm : NULL;
	img->space = (struct sl_space){img->mods, img->nmods, img->langs, img->lang_ids, img->nlangs, img->jit,
				       img->h.exe, ran_as, NULL};
	/* the program file the tracer kept (tracer/trace.c keep_exe) */
	char kept[4096];
	struct stat kst;
	if (sl_log_beside(path, ".exe", kept, sizeof kept) == 0 && lstat(kept, &kst) == 0 && S_ISREG(kst.st_mode))
		img->space.kept_exe = img->kept_exe = strdup(kept);
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
	free(img->stack_ids);
	free(img->lang_ids);
	free(img->path);
	free(img->kept_exe);
	free(img->injected);
	sl_jitmap_free(img->jit);
	memset(img, 0, sizeof *img);
}

/* Position of the record with table index want among n kept ones (their indexes ascending), or -1. */
static long find_index(const uint32_t *idx, uint32_t n, uint32_t want)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (idx[mid] == want)
			return mid;
		if (idx[mid] < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The stack with id, or NULL if the id is out of range or the record is not complete. */
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id)
{
	long k = id ? find_index(img->stack_ids, img->nstacks, id - 1) : -1;
	if (k < 0)
		return NULL;
	const struct sl_stack *s = &img->stacks[k];
	if (s->nframes == 0 || s->nframes > SL_MAX_FRAMES)
		return NULL;
	return s;
}

uint32_t sl_image_stack_id(const struct sl_image *img, uint32_t k)
{
	return img->stack_ids[k] + 1;
}

size_t sl_image_symbolize_stack(const struct sl_image *img, uint32_t id, struct sl_frame *f, size_t max)
{
	const struct sl_stack *s = sl_image_stack(img, id);
	size_t n = 0;
	for (uint32_t i = 0; s && i < s->nframes && n < max; i++)
		n += sl_symbolize(&img->space, s->ip[i], f + n, max - n);
	return n;
}

/* The run's control file, copied; its exec records in *execs (committed ones). */
/* --inject's rules from the control file fd is open on, their strings and counts bounded (the file
 * is input like any log); none when they cannot be read. */
static void inject_read(int fd, struct sl_inject_table *out)
{
	if (read_at(fd, out, sizeof *out, SL_INJECT_OFF) < 0 || out->count > SL_INJECT_MAX) {
		memset(out, 0, sizeof *out);
		return;
	}
	for (uint32_t i = 0; i < out->count; i++) {
		out->rule[i].proc[SL_COMM_MAX - 1] = 0;
		out->rule[i].host[SL_INJECT_HOST - 1] = 0;
		if (out->rule[i].naddr > SL_INJECT_ADDRS)
			out->rule[i].naddr = SL_INJECT_ADDRS;
		struct sl_inject_site *site = &out->site[i];
		site->file[sizeof site->file - 1] = site->func[sizeof site->func - 1] = 0;
		site->module[sizeof site->module - 1] = 0;
		if (site->nranges > 2)
			site->nranges = 2;
	}
}

int sl_runctl_read(const char *dir, struct sl_run_header *out, struct sl_exec_rec **execs, size_t *nexecs,
		   struct sl_inject_table *inject)
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
		/* every reserved record: a writer may have materialized its own beyond exec_avail */
		uint64_t n = out->exec_next < out->exec_cap ? out->exec_next : out->exec_cap;
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
		if (inject)
			inject_read(fd, inject);
		r = 0;
	}
	close(fd);
	return r;
}
