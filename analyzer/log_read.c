/* log_read.c - reads one log file into private memory and validates every size and offset. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "analyzer.h"

#define SL_LOG_MAX_SIZE (1ull << 33) /* refuse anything larger than 8 GiB */

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static int read_all(const char *path, unsigned char **out, size_t *size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < SL_HEADER_SIZE ||
	    (uint64_t)st.st_size > SL_LOG_MAX_SIZE) {
		close(fd);
		return fail(err, errlen, S_ISREG(st.st_mode) ? "truncated or oversized log" : "not a regular file");
	}
	unsigned char *buf = malloc((size_t)st.st_size);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		return fail(err, errlen, buf ? "short read" : "out of memory");
	}
	*out = buf;
	*size = got;
	return 0;
}

/* A table fits when [off, off + cap * size) lies inside the file and does not overflow. */
static int table_ok(uint64_t off, uint32_t cap, uint32_t size, size_t file)
{
	if (off < SL_HEADER_SIZE || off % 8 || off > file)
		return 0;
	return (uint64_t)cap * size <= file - off;
}

static int validate(const struct sl_log_header *h, size_t size, char *err, size_t errlen)
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
	if (h->slot_size != sizeof(struct sl_slot) || h->event_size != sizeof(struct sl_event) ||
	    h->stack_size != sizeof(struct sl_stack) || h->module_size != sizeof(struct sl_module) ||
	    h->inflight_size != sizeof(struct sl_inflight))
		return fail(err, errlen, "corrupt log (record sizes do not match this version)");
	if (!table_ok(h->slot_off, h->slot_cap, h->slot_size, size) ||
	    !table_ok(h->event_off, h->event_cap, h->event_size, size) ||
	    !table_ok(h->stack_off, h->stack_cap, h->stack_size, size) ||
	    !table_ok(h->module_off, h->module_cap, h->module_size, size) ||
	    !table_ok(h->inflight_off, h->inflight_cap, h->inflight_size, size))
		return fail(err, errlen, "corrupt log (table outside the file)");
	return 0;
}

static uint32_t bounded(uint64_t next, uint32_t cap)
{
	return next < cap ? (uint32_t)next : cap;
}

static int same_boot(const struct sl_log_header *h)
{
	char id[40] = {0};
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return 0;
	if (!fgets(id, sizeof id, f))
		id[0] = 0;
	fclose(f);
	id[strcspn(id, "\n")] = 0;
	return id[0] && !strncmp(id, h->boot_id, sizeof h->boot_id);
}

/* TSC ticks to ns: the log's own pairs when they span a millisecond; else, on the same boot,
 * our own reading of the TSC and the clock; else a 2.5 GHz guess. clock_guessed says when
 * durations are estimates (that guess, or a CPU without an invariant TSC). */
static void calibrate(struct sl_image *img)
{
	const struct sl_log_header *h = img->h;
	img->ns_per_tick = 1.0;
	if (h->tick_kind == SL_TICK_NS)
		return;
	img->clock_guessed = h->tick_kind != SL_TICK_TSC;
	if (h->mono1 > h->mono0 + 1000000 && h->tsc1 > h->tsc0) {
		img->ns_per_tick = (double)(h->mono1 - h->mono0) / (double)(h->tsc1 - h->tsc0);
		return;
	}
	uint32_t lo, hi;
	uint64_t mono = sl_mono_now();
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t tsc = ((uint64_t)hi << 32) | lo;
	if (same_boot(h) && mono > h->mono0 + 1000000 && tsc > h->tsc0) {
		img->ns_per_tick = (double)(mono - h->mono0) / (double)(tsc - h->tsc0);
		return;
	}
	img->ns_per_tick = 0.4;
	img->clock_guessed = 1;
}

uint64_t sl_image_ns(const struct sl_image *img, uint64_t ticks)
{
	double ns = (double)ticks * img->ns_per_tick;
	return ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX;
}

uint64_t sl_image_mono(const struct sl_image *img, uint64_t ticks)
{
	const struct sl_log_header *h = img->h;
	if (ticks >= h->tsc0)
		return h->mono0 + sl_image_ns(img, ticks - h->tsc0);
	uint64_t back = sl_image_ns(img, h->tsc0 - ticks);
	return back < h->mono0 ? h->mono0 - back : 0;
}

int sl_image_load(struct sl_image *img, const char *path, char *err, size_t errlen)
{
	memset(img, 0, sizeof *img);
	if (read_all(path, &img->buf, &img->size, err, errlen) < 0)
		return -1;
	struct sl_log_header *h = (struct sl_log_header *)img->buf;
	if (validate(h, img->size, err, errlen) < 0) {
		free(img->buf);
		img->buf = NULL;
		return -1;
	}
	/* strings come from another process: terminate them ourselves */
	h->exe[SL_EXE_MAX - 1] = 0;
	h->boot_id[sizeof h->boot_id - 1] = 0;
	if (h->argv_len > SL_ARGV_MAX)
		h->argv_len = SL_ARGV_MAX;
	img->h = h;
	img->path = strdup(path);
	img->slots = (const struct sl_slot *)(img->buf + h->slot_off);
	img->events = (const struct sl_event *)(img->buf + h->event_off);
	img->stacks = (const struct sl_stack *)(img->buf + h->stack_off);
	img->mods = (const struct sl_module *)(img->buf + h->module_off);
	img->infl = (const struct sl_inflight *)(img->buf + h->inflight_off);
	img->nevents = bounded(h->event_next, h->event_cap);
	img->nmods = bounded(h->module_next, h->module_cap);
	img->ninfl = bounded(h->inflight_next, h->inflight_cap);
	calibrate(img);
	struct sl_module *mods = (struct sl_module *)(img->buf + h->module_off);
	for (uint32_t i = 0; i < img->nmods; i++) {
		mods[i].path[SL_MODPATH_MAX - 1] = 0;
		if (mods[i].buildid_len > SL_BUILDID_MAX)
			mods[i].buildid_len = 0;
	}
	return 0;
}

void sl_image_release(struct sl_image *img)
{
	sl_symbolizer_release(img);
	free(img->buf);
	free(img->path);
	memset(img, 0, sizeof *img);
}

/* The stack with id, or NULL if the id is out of range or the record is not complete. */
const struct sl_stack *sl_image_stack(const struct sl_image *img, uint32_t id)
{
	if (id == 0 || id > img->h->stack_cap)
		return NULL;
	const struct sl_stack *s = &img->stacks[id - 1];
	if (s->commit != 2 || s->nframes == 0 || s->nframes > SL_MAX_FRAMES)
		return NULL;
	return s;
}
