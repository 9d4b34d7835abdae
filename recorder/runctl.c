/* runctl.c - the run control file: the log space budget every process draws from, counts of
 * processes that ran untraced, and the table of execs. Mapped once per image; no fd is kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include "rawsys.h"
#include "logw.h"
#include "strbuf.h"

#define SL_EXEC_CAP 65536u /* 8 MiB of sparse file; pages materialized as records come */
#define SL_BUDGET_MAX (1ull << 30)

static uint64_t add64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

/* A fault on a hole of a sparse file reads ahead around it: on ext4 that is 1 to 3 ms for the
 * first page a process touches, against 0.01 ms on tmpfs (the zero pages cost nothing to read;
 * the readahead's set-up does), and a process start pays it. Our pages are touched one record at
 * a time, never sequentially: no readahead, at tmpfs cost on any filesystem (BENCHMARKS.md). */
void sl_no_readahead(void *addr, size_t len)
{
	sl_sys3(SYS_madvise, addr, len, MADV_RANDOM);
}

int sl_populate(void *addr, size_t len)
{
	long r = sl_sys3(SYS_madvise, addr, len, MADV_POPULATE_WRITE);
	return r < 0 ? (int)r : 0;
}

uint64_t sl_budget_default(const char *dir)
{
	struct statfs st;
	if (sl_sys3(SYS_statfs, dir, &st, 0) != 0)
		return SL_BUDGET_MAX;
	uint64_t half_free = (uint64_t)st.f_bavail * (uint64_t)st.f_bsize / 2;
	return half_free < SL_BUDGET_MAX ? half_free : SL_BUDGET_MAX;
}

int sl_run_reserve(struct sl_run_header *r, uint64_t bytes)
{
	if (!r)
		return 0;
	if (add64(&r->used, bytes) + bytes > r->budget) {
		__atomic_fetch_sub(&r->used, bytes, __ATOMIC_RELAXED);
		add64(&r->grow_refused, 1);
		return -ENOSPC;
	}
	return 0;
}

void sl_run_untraced(struct sl_run_header *r, int why)
{
	if (r && why > 0 && why < SL_UNTRACED__COUNT)
		add64(&r->untraced[why], 1);
}

int sl_run_first_warning(struct sl_run_header *r)
{
	uint32_t zero = 0;
	return !r || __atomic_compare_exchange_n(&r->warned, &zero, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* As many exec records as RLIMIT_FSIZE allows (growing a file past it raises SIGXFSZ). */
static uint32_t exec_cap(void)
{
	struct rlimit rl;
	uint64_t cap = SL_EXEC_CAP;
	if (sl_sys3(SYS_getrlimit, RLIMIT_FSIZE, &rl, 0) == 0 && rl.rlim_cur != RLIM_INFINITY)
		cap = rl.rlim_cur <= SL_HEADER_SIZE ? 0 : (rl.rlim_cur - SL_HEADER_SIZE) / sizeof(struct sl_exec_rec);
	return cap < SL_EXEC_CAP ? (uint32_t)cap : SL_EXEC_CAP;
}

_Static_assert(sizeof(struct sl_run_header) <= SL_INJECT_OFF, "the run header overlaps the fault table");
_Static_assert(SL_INJECT_OFF + sizeof(struct sl_inject_table) <= SL_HEADER_SIZE, "the fault table is too big");

/* A fresh control file: the header's page materialized, then marked ready. */
static int init_run(struct sl_run_header *r, uint64_t budget, uint32_t flags, uint32_t cap, uint64_t map_off)
{
	int e = sl_populate(r, SL_HEADER_SIZE);
	if (e < 0)
		return e;
	memcpy(r->magic, SL_RUN_MAGIC, 8);
	r->version = SL_LOG_VERSION;
	r->header_size = SL_HEADER_SIZE;
	r->file_size = SL_HEADER_SIZE + (uint64_t)cap * sizeof(struct sl_exec_rec);
	if (map_off)
		r->file_size = map_off + (uint64_t)SL_RELAY_MAP_ENTRIES * sizeof(struct sl_relay_ent);
	((struct sl_inject_table *)((char *)r + SL_INJECT_OFF))->map_off = map_off;
	r->flags = flags;
	r->budget = budget;
	r->used = SL_HEADER_SIZE;
	r->exec_cap = cap;
	r->exec_off = SL_HEADER_SIZE;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->created_real_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

SL_START static void path_of(struct sl_strbuf *b, const char *dir)
{
	sl_sb_init(b);
	sl_sb_str(b, dir);
	sl_sb_str(b, "/run.slctl");
}

/* Maps fd's control file when it is ours; its size is checked against the header once ready. */
SL_START static struct sl_run_header *map_run(long fd)
{
	struct stat st;
	if (sl_sys3(SYS_fstat, fd, &st, 0) != 0 || !S_ISREG(st.st_mode) || st.st_uid != sl_sys3(SYS_geteuid, 0, 0, 0) ||
	    (st.st_mode & 077) || st.st_size < SL_HEADER_SIZE || st.st_size > (64 << 20))
		return NULL;
	long m = sl_sys6(SYS_mmap, 0, (long)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m < 0 && m > -4096)
		return NULL;
	sl_no_readahead((void *)m, (size_t)st.st_size);
	return (struct sl_run_header *)m;
}

struct sl_run_header *sl_run_create_with(const char *dir, uint64_t budget, uint32_t flags, int relay_map, int *err)
{
	struct sl_strbuf b;
	path_of(&b, dir);
	long fd = sl_sys6(SYS_openat, AT_FDCWD, (long)b.buf, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600, 0, 0);
	struct sl_run_header *r = NULL;
	uint32_t cap = exec_cap();
	uint64_t size = SL_HEADER_SIZE + (uint64_t)cap * sizeof(struct sl_exec_rec);
	uint64_t map_off = relay_map ? (size + SL_PAGE - 1) / SL_PAGE * SL_PAGE : 0;
	if (map_off)
		size = map_off + (uint64_t)SL_RELAY_MAP_ENTRIES * sizeof(struct sl_relay_ent);
	*err = fd < 0 ? (int)fd : 0;
	if (fd >= 0 && (*err = (int)sl_sys3(SYS_ftruncate, fd, size, 0)) == 0) {
		r = map_run(fd);
		*err = r ? init_run(r, budget, flags, cap, map_off) : -EIO;
	}
	if (fd >= 0)
		sl_sys3(SYS_close, fd, 0, 0);
	if (*err < 0 && r) {
		sl_sys3(SYS_munmap, r, size, 0);
		r = NULL;
	}
	if (*err < 0 && fd >= 0)
		sl_sys3(SYS_unlink, b.buf, 0, 0);
	return r;
}

struct sl_run_header *sl_run_create(const char *dir, uint64_t budget, uint32_t flags, int *err)
{
	return sl_run_create_with(dir, budget, flags, 0, err);
}

/* Opens and checks the control file at path: NULL when it is missing (*missing set) or not a
 * run's control file of ours. */
SL_START static struct sl_run_header *open_run(const char *path, int *missing)
{
	long fd = sl_sys3(SYS_openat, AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	*missing = fd == -ENOENT;
	if (fd < 0)
		return NULL;
	struct stat st;
	struct sl_run_header *r = map_run(fd);
	if (r && sl_sys3(SYS_fstat, fd, &st, 0) != 0)
		st.st_size = 0;
	sl_sys3(SYS_close, fd, 0, 0);
	/* another process may have created it an instant ago: give it a moment, never long */
	for (int i = 0; r && !__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) && i < 100000; i++)
		sl_sys3(SYS_sched_yield, 0, 0, 0);
	if (r && (!__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) || memcmp(r->magic, SL_RUN_MAGIC, 8) ||
		  r->version != SL_LOG_VERSION || r->file_size != (uint64_t)st.st_size ||
		  r->exec_off + (uint64_t)r->exec_cap * sizeof(struct sl_exec_rec) > r->file_size)) {
		sl_sys3(SYS_munmap, r, st.st_size, 0);
		r = NULL;
	}
	return r;
}

/* The run's control file, opened (the usual case: socklens run or the run's first process made
 * it) or else created with budget(dir) bytes of log space (a statfs, so asked for only then). */
SL_START struct sl_run_header *sl_run_attach(const char *dir, uint64_t (*budget)(const char *dir),
					     uint32_t flags)
{
	struct sl_strbuf b;
	int err, missing;
	path_of(&b, dir);
	if (b.overflow)
		return NULL;
	struct sl_run_header *r = open_run(b.buf, &missing);
	if (r || !missing)
		return r;
	r = sl_run_create(dir, budget(dir), flags, &err);
	if (r || err != -EEXIST)
		return r;
	return open_run(b.buf, &missing); /* another process made it meanwhile */
}

/* Materializes exec records up to index i; 0 or -errno. One grower at a time; a writer that finds
 * the table growing faults in its own record's page instead of waiting (readers look at every
 * reserved record, not only those below exec_avail). */
SL_START static int exec_grow(struct sl_run_header *r, uint64_t i)
{
	uint32_t zero = 0;
	uint64_t per_page = SL_PAGE / sizeof(struct sl_exec_rec);
	if (i < __atomic_load_n(&r->exec_avail, __ATOMIC_ACQUIRE))
		return 0;
	if (!__atomic_compare_exchange_n(&r->exec_growing, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return sl_populate((char *)r + r->exec_off + i / per_page * SL_PAGE, SL_PAGE);
	uint64_t avail = r->exec_avail;
	uint64_t want = (i / per_page + 1) * per_page;
	int e = 0;
	if (want > avail) {
		size_t bytes = (size_t)(want - avail) * sizeof(struct sl_exec_rec);
		char *at = (char *)r + r->exec_off + avail * sizeof(struct sl_exec_rec);
		e = sl_run_reserve(r, bytes);
		if (e == 0 && (e = sl_populate(at, bytes)) == 0)
			__atomic_store_n(&r->exec_avail, want, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r->exec_growing, 0, __ATOMIC_RELEASE);
	return e;
}

SL_START void sl_run_exec(struct sl_run_header *r, int pid, int ppid, int why, const char *path, uint64_t now)
{
	if (!r || !path)
		return;
	uint64_t i = add64(&r->exec_next, 1);
	if (i >= r->exec_cap || exec_grow(r, i) < 0)
		return; /* exec_next past what is committed: the reader counts it */
	struct sl_exec_rec *x = (struct sl_exec_rec *)((char *)r + r->exec_off) + i;
	x->pid = pid;
	x->ppid = ppid;
	x->why = (uint32_t)why;
	x->ts_ns = now;
	/* a loop, not strnlen and memcpy: in a fork child each libc page touched is a fault */
	size_t len = 0;
	for (; len < SL_EXEC_PATH_MAX - 1 && path[len]; len++)
		x->path[len] = path[len];
	x->path[len] = 0;
	__atomic_store_n(&x->commit, 1, __ATOMIC_RELEASE);
}

/* The newest committed exec record of pid among the last few whose SL_EXEC_ARRIVED bit is
 * arrived (0 or the bit): an exec's record is written just before the call, and a fork child's at
 * once, so it is almost always the last or close to it. NULL when none is. */
static struct sl_exec_rec *recent_of(struct sl_run_header *r, int pid, uint32_t arrived)
{
	if (!r)
		return NULL;
	uint64_t n = __atomic_load_n(&r->exec_next, __ATOMIC_ACQUIRE);
	if (n > r->exec_cap)
		n = r->exec_cap;
	struct sl_exec_rec *tab = (struct sl_exec_rec *)((char *)r + r->exec_off);
	for (uint64_t k = 0; k < 256 && k < n; k++) {
		struct sl_exec_rec *x = &tab[n - 1 - k];
		if (__atomic_load_n(&x->commit, __ATOMIC_ACQUIRE) == 1 && x->pid == pid &&
		    (__atomic_load_n(&x->why, __ATOMIC_RELAXED) & SL_EXEC_ARRIVED) == arrived)
			return x;
	}
	return NULL;
}

/* The exec record that started this image, marked arrived. Its why with SL_EXEC_ARRIVED set when
 * found (this image continues a process the run already counted), 0 when none is (a process new
 * to the run). */
SL_START uint32_t sl_run_arrived(struct sl_run_header *r, int pid)
{
	struct sl_exec_rec *x = recent_of(r, pid, 0);
	return x ? __atomic_fetch_or(&x->why, SL_EXEC_ARRIVED, __ATOMIC_RELAXED) | SL_EXEC_ARRIVED : 0;
}

void sl_run_not_followed(struct sl_run_header *r, int pid, uint32_t why)
{
	struct sl_exec_rec *x = recent_of(r, pid, SL_EXEC_ARRIVED);
	if (x)
		__atomic_store_n(&x->why, why & SL_EXEC_WHY_MASK, __ATOMIC_RELAXED);
}

void sl_run_exec_failed(struct sl_run_header *r, int pid)
{
	struct sl_exec_rec *x = recent_of(r, pid, 0);
	if (x)
		__atomic_fetch_or(&x->why, SL_EXEC_FAILED, __ATOMIC_RELAXED);
}

void sl_run_no_log(struct sl_run_header *r, int pid)
{
	struct sl_exec_rec *x = recent_of(r, pid, SL_EXEC_ARRIVED);
	if (x)
		__atomic_store_n(&x->why, SL_EXEC_NOLOG, __ATOMIC_RELAXED);
}
