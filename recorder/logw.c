/* logw.c - the log writer: creates the per-process file and appends records without locks.
 * Tables start empty and are materialized page by page, within the run's budget, as records
 * need them (see socklens/log.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "rawsys.h"
#include "clock.h"
#include "logw.h"
#include "strbuf.h"

#define SL_MIN_LOG (64u * 1024u) /* below this (RLIMIT_FSIZE) a log is not worth creating */

SL_START void sl_log_params_default(struct sl_log_params *p)
{
	/* a million connections live or kept: 664 MiB of address space, a sparse file whose pages
	 * exist only as they are used (a slot per connection, 664 bytes), within the run's budget */
	p->slots = 1u << 20;
	p->events = 8192;
	p->stacks = 2048;
	p->modules = 256;
	p->inflight = 1024;
	p->langs = 2048;
	p->slow_ns = 1000000000ull;
	p->trace = 0;
	p->no_argv = 0;
	p->of_pid = 0;
}

static uint64_t now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t page_up(uint64_t v)
{
	return (v + SL_PAGE - 1) & ~(uint64_t)(SL_PAGE - 1);
}

/* Reads a small /proc file into buf with raw syscalls; returns its length or -errno. */
static long read_small(const char *path, char *buf, size_t cap)
{
	long fd = sl_sys3(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	long n = sl_sys3(SYS_read, fd, buf, cap);
	sl_sys3(SYS_close, fd, 0, 0);
	return n;
}

/* /proc/self/NAME, or /proc/PID/NAME for a log written about another process (a tracer's). */
static const char *proc_path(struct sl_strbuf *b, int pid, const char *name)
{
	sl_sb_init(b);
	sl_sb_str(b, "/proc/");
	if (pid > 0)
		sl_sb_u64(b, (uint64_t)pid);
	else
		sl_sb_str(b, "self");
	sl_sb_str(b, "/");
	sl_sb_str(b, name);
	return b->buf;
}

/* Field 22 of /proc/PID/stat, counted after the ")" that ends the command name. */
static uint64_t proc_start_ticks(int pid)
{
	char buf[1024];
	struct sl_strbuf path;
	long n = read_small(proc_path(&path, pid, "stat"), buf, sizeof buf - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	uint64_t v = 0;
	while (p && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

static void fill_identity(struct sl_log_header *h, int no_argv, int pid)
{
	struct sl_strbuf path;
	long n = sl_sys3(SYS_readlink, proc_path(&path, pid, "exe"), h->exe, SL_EXE_MAX - 1);
	h->exe[n > 0 ? n : 0] = 0;
	n = read_small(proc_path(&path, pid, "comm"), h->comm, SL_COMM_MAX);
	h->comm[n > 0 ? n - 1 : 0] = 0; /* drop the newline */
	n = read_small(proc_path(&path, pid, "cmdline"), h->argv, SL_ARGV_MAX);
	h->argv_len = n > 0 ? (uint32_t)n : 0;
	if (no_argv) {
		h->argv_len = (uint32_t)strnlen(h->argv, h->argv_len);
		memset(h->argv + h->argv_len, 0, SL_ARGV_MAX - h->argv_len);
		h->flags |= SL_HDR_NO_ARGV;
	}
	h->proc_start_ticks = proc_start_ticks(pid);
	struct stat st;
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)proc_path(&path, pid, "ns/pid"), (long)&st, 0, 0, 0) == 0)
		h->pidns = st.st_ino;
}

static uint64_t place(struct sl_table_hdr *t, uint64_t off, uint32_t size, uint32_t cap)
{
	t->off = page_up(off);
	t->size = size;
	t->cap = cap;
	return t->off + (uint64_t)size * cap;
}

/* Stack buckets: a power of two, about one per two stacks, at most 16384 (64 KiB). */
static uint32_t bucket_count(uint32_t stacks)
{
	uint32_t n = 16;
	while (n < stacks / 2 && n < 16384)
		n *= 2;
	return n;
}

static void fill_layout(struct sl_log_header *h, const struct sl_log_params *p)
{
	memcpy(h->magic, SL_LOG_MAGIC, 8);
	h->version = SL_LOG_VERSION;
	h->header_size = SL_HEADER_SIZE;
	uint64_t end = SL_HEADER_SIZE;
	end = place(&h->tab[SL_T_SLOTS], end, sizeof(struct sl_slot), p->slots);
	end = place(&h->tab[SL_T_EVENTS], end, sizeof(struct sl_event), p->events);
	end = place(&h->tab[SL_T_STACKS], end, sizeof(struct sl_stack), p->stacks);
	end = place(&h->tab[SL_T_BUCKETS], end, sizeof(uint32_t), bucket_count(p->stacks));
	end = place(&h->tab[SL_T_MODULES], end, sizeof(struct sl_module), p->modules);
	end = place(&h->tab[SL_T_INFLIGHT], end, sizeof(struct sl_inflight), p->inflight);
	end = place(&h->tab[SL_T_LANG], end, sizeof(struct sl_lang), p->langs);
	h->file_size = page_up(end);
	h->event_first = p->events / 2;
	h->slow_ns = p->slow_ns;
}

/* The log's size within RLIMIT_FSIZE (growing a file past it raises SIGXFSZ in the program) and
 * within an eighth of RLIMIT_AS (the mapping takes address space, and a program under a limit
 * must keep its own): the slot table is halved first, down to 4,096, then every table, until the
 * file fits; 0 when even a small log does not. */
static int fit_fsize(struct sl_log_header *h, struct sl_log_params *p)
{
	struct rlimit rl, as;
	if (sl_sys3(SYS_getrlimit, RLIMIT_FSIZE, &rl, 0) != 0)
		rl.rlim_cur = RLIM_INFINITY;
	if (sl_sys3(SYS_getrlimit, RLIMIT_AS, &as, 0) == 0 && as.rlim_cur != RLIM_INFINITY && as.rlim_cur / 8 < rl.rlim_cur)
		rl.rlim_cur = as.rlim_cur / 8;
	if (rl.rlim_cur == RLIM_INFINITY)
		return 1;
	while (h->file_size > rl.rlim_cur && h->file_size > SL_MIN_LOG) {
		if (p->slots > 4096) {
			p->slots /= 2;
			fill_layout(h, p);
			continue;
		}
		p->slots = p->slots > 32 ? p->slots / 2 : p->slots;
		p->events = p->events > 32 ? p->events / 2 : p->events;
		p->stacks = p->stacks > 32 ? p->stacks / 2 : p->stacks;
		p->modules = p->modules > 32 ? p->modules / 2 : p->modules;
		p->inflight = p->inflight > 32 ? p->inflight / 2 : p->inflight;
		p->langs = p->langs > 32 ? p->langs / 2 : p->langs;
		uint64_t before = h->file_size;
		fill_layout(h, p);
		if (h->file_size == before)
			break;
	}
	return h->file_size <= rl.rlim_cur;
}

static void log_name(struct sl_strbuf *b, const char *dir, int pid, uint32_t seq)
{
	sl_sb_init(b);
	sl_sb_str(b, dir);
	sl_sb_str(b, "/p");
	sl_sb_u64(b, (uint64_t)pid);
	sl_sb_str(b, ".");
	sl_sb_u64(b, seq);
	sl_sb_str(b, ".sllog");
}

/* A number for the next log: the run's counter, else 0 first and random after (a directory of
 * another run's logs, or none). */
static uint32_t next_seq(struct sl_run_header *run, int attempt)
{
	uint32_t r = 0;
	if (run)
		return (uint32_t)__atomic_fetch_add(&run->log_next, 1, __ATOMIC_RELAXED);
	if (attempt && sl_sys3(SYS_getrandom, &r, sizeof r, 1 /* GRND_NONBLOCK */) != sizeof r)
		r = (uint32_t)sl_now() ^ (uint32_t)attempt;
	return r & 0x7fffffff;
}

/* Opens dir/p<pid>.<seq>.sllog exclusively: one try, unless a file of that name is already there
 * (then a few more numbers, never a search). */
static long open_exclusive(const char *dir, int pid, struct sl_run_header *run, uint32_t *seq)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		struct sl_strbuf b;
		uint32_t s = next_seq(run, attempt);
		log_name(&b, dir, pid, s);
		if (b.overflow)
			return -ENAMETOOLONG;
		long fd = sl_sys6(SYS_openat, AT_FDCWD, (long)b.buf,
				  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600, 0, 0);
		if (fd != -EEXIST) {
			*seq = s;
			return fd;
		}
	}
	return -EEXIST;
}

static void unlink_log(const char *dir, int pid, uint32_t seq)
{
	struct sl_strbuf b;
	log_name(&b, dir, pid, seq);
	sl_sys3(SYS_unlink, b.buf, 0, 0);
}

static void bind_tables(struct sl_log *log, struct sl_log_header *h)
{
	char *base = (char *)h;
	log->hdr = h;
	log->size = h->file_size;
	log->slots = (struct sl_slot *)(base + h->tab[SL_T_SLOTS].off);
	log->events = (struct sl_event *)(base + h->tab[SL_T_EVENTS].off);
	log->stacks = (struct sl_stack *)(base + h->tab[SL_T_STACKS].off);
	log->buckets = (uint32_t *)(base + h->tab[SL_T_BUCKETS].off);
	log->mods = (struct sl_module *)(base + h->tab[SL_T_MODULES].off);
	log->infl = (struct sl_inflight *)(base + h->tab[SL_T_INFLIGHT].off);
	log->langs = (struct sl_lang *)(base + h->tab[SL_T_LANG].off);
}

/* Maps the sparse file and materializes its header page (within the budget). On a kernel
 * without MADV_POPULATE_WRITE (before 5.14) the whole file is allocated now instead. */
static long map_log(long fd, uint64_t size, struct sl_run_header *run, int *whole)
{
	long r = sl_sys3(SYS_ftruncate, fd, size, 0);
	long map = r < 0 ? r : sl_sys6(SYS_mmap, 0, (long)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map < 0 && map > -4096)
		return map;
	sl_no_readahead((void *)map, size);
	*whole = 0;
	r = sl_run_reserve(run, SL_HEADER_SIZE);
	if (r == 0 && (r = sl_populate((void *)map, SL_HEADER_SIZE)) == -EINVAL) {
		*whole = 1;
		r = sl_run_reserve(run, size - SL_HEADER_SIZE);
		if (r == 0)
			r = sl_sys6(SYS_fallocate, fd, 0, 0, (long)size, 0, 0);
	}
	if (r < 0) {
		sl_sys3(SYS_munmap, map, size, 0);
		return r == -EFAULT || r == -ENOMEM ? -ENOSPC : r;
	}
	return map;
}

int sl_log_create(struct sl_log *log, const char *dir, const struct sl_log_params *params, int pid, int ppid,
		  struct sl_run_header *run)
{
	struct sl_log_header tmp;
	struct sl_log_params p = *params;
	uint32_t seq;
	int whole;
	memset(&tmp, 0, sizeof tmp);
	fill_layout(&tmp, &p);
	if (!fit_fsize(&tmp, &p))
		return -EFBIG;
	long fd = open_exclusive(dir, pid, run, &seq);
	if (fd < 0)
		return (int)fd;
	long map = map_log(fd, tmp.file_size, run, &whole);
	sl_sys3(SYS_close, fd, 0, 0); /* the mapping keeps the file; the program never sees this fd */
	if (map < 0 && map > -4096) {
		unlink_log(dir, pid, seq);
		return (int)map;
	}
	struct sl_log_header *h = (struct sl_log_header *)map;
	memcpy(h, &tmp, sizeof tmp);
	h->pid = pid;
	h->ppid = ppid;
	h->seq = seq;
	h->start_mono_ns = sl_now();
	h->start_real_ns = now_real();
	h->coarse_res_ns = sl_clock_res_ns();
	fill_identity(h, p.no_argv, p.of_pid);
	for (int t = 0; whole && t < SL_T__COUNT; t++)
		h->tab[t].avail = h->tab[t].cap;
	bind_tables(log, h);
	log->run = run;
	if (run)
		__atomic_fetch_add(&run->procs_logged, 1, __ATOMIC_RELAXED);
	return 0;
}

/* The pages that hold record i of table t, materialized by a writer that found another one
 * growing the table: it does not wait for the grower's madvise (a millisecond or more on a disk
 * filesystem), it faults in its own record's pages. avail catches up at the next growth; readers
 * look at every reserved record, not only those below avail (socklens/log.h). */
static int populate_record(struct sl_log *log, const struct sl_table_hdr *th, uint64_t i)
{
	uint64_t lo = th->off + i * th->size, hi = lo + th->size;
	lo &= ~(uint64_t)(SL_PAGE - 1);
	return sl_populate((char *)log->hdr + lo, page_up(hi) - lo);
}

/* Materializes table t up to record index i (and a little beyond, so growth is rare): 0 when
 * record i is usable, -errno when it is not (the caller counts a drop). One grower at a time;
 * a writer that finds the table growing materializes its own record instead of waiting. Pages
 * so faulted in are not charged to the budget (a page or two per thread that raced a grower). */
int sl_grow(struct sl_log *log, int t, uint64_t i)
{
	struct sl_table_hdr *th = &log->hdr->tab[t];
	uint32_t zero = 0, avail = __atomic_load_n(&th->avail, __ATOMIC_ACQUIRE);
	if (i < avail)
		return 0;
	if (i >= th->cap || __atomic_load_n(&th->full, __ATOMIC_RELAXED))
		return -ENOSPC;
	if (!__atomic_compare_exchange_n(&th->growing, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return populate_record(log, th, i);
	avail = th->avail;
	/* read once: a log truncated under the program is replaced by zeroed memory (shim/sigbus.c),
	 * and another thread may still be here then; a zero is no table, never a division by it */
	uint64_t size = __atomic_load_n(&th->size, __ATOMIC_RELAXED), cap = __atomic_load_n(&th->cap, __ATOMIC_RELAXED);
	if (!size || !cap) {
		__atomic_store_n(&th->growing, 0, __ATOMIC_RELEASE);
		return -ENOSPC;
	}
	/* a page at least, then a quarter more each time: few madvise calls for a busy table */
	uint64_t have = (uint64_t)avail * size, need = (i + 1) * size;
	uint64_t want = page_up(need > have + have / 4 ? need : have + have / 4);
	uint64_t limit = page_up(cap * size);
	if (want > limit)
		want = limit;
	int e = 0;
	if (i >= avail) {
		e = sl_run_reserve(log->run, want - page_up(have));
		if (e == 0)
			e = sl_populate((char *)log->hdr + th->off + page_up(have), want - page_up(have));
		if (e == 0) {
			uint64_t n = want / size;
			__atomic_store_n(&th->avail, (uint32_t)(n < cap ? n : cap), __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&th->full, 1, __ATOMIC_RELAXED);
		}
	}
	__atomic_store_n(&th->growing, 0, __ATOMIC_RELEASE);
	return e;
}

static uint64_t add64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static struct sl_slot *slot_init(struct sl_log *log, struct sl_slot *s, uint32_t was)
{
	struct sl_log_header *h = log->hdr;
	if (was == SL_SLOT_CLOSED) {
		add64(&h->slot_recycled, 1);
		if (!(s->flags & SL_SF_KEEP))
			__atomic_fetch_sub(&h->slots_closed, 1, __ATOMIC_RELAXED);
		else
			add64(&h->keepers_recycled, 1);
	}
	uint32_t gen = s->gen + 1;
	memset((char *)s + 8, 0, sizeof *s - 8);
	__atomic_store_n(&s->gen, gen, __ATOMIC_RELEASE);
	s->conn_id = add64(&h->conn_next, 1) + 1;
	s->refs = 1;
	__atomic_store_n(&s->state, SL_SLOT_LIVE, __ATOMIC_RELEASE);
	return s;
}

static struct sl_slot *claim(struct sl_log *log, struct sl_slot *s, int keepers)
{
	uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	if (st == SL_SLOT_LIVE || st == SL_SLOT_BUSY || (!keepers && (s->flags & SL_SF_KEEP)))
		return NULL;
	if (!__atomic_compare_exchange_n(&s->state, &st, SL_SLOT_BUSY, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return NULL;
	return slot_init(log, s, st);
}

/* Keep at least this much history of closed connections before recycling their slots. */
#define SL_HISTORY_MIN 64u

/* Recycling the oldest closed slot is preferred once enough history is kept, so a process that
 * opens and closes connections one after another stays small; otherwise the table grows. Slots
 * closed with something to report (SL_SF_KEEP) are recycled only when the table cannot grow:
 * the log grows with the problems, not with the connections. */
/* A never used slot, materializing more of the table if need be. */
static struct sl_slot *fresh_slot(struct sl_log *log)
{
	struct sl_log_header *h = log->hdr;
	uint64_t i = __atomic_load_n(&h->slot_next, __ATOMIC_RELAXED);
	while (i < h->tab[SL_T_SLOTS].cap && sl_grow(log, SL_T_SLOTS, i) == 0) {
		if (__atomic_compare_exchange_n(&h->slot_next, &i, i + 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			struct sl_slot *s = claim(log, &log->slots[i], 0);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* Slots looked at for one allocation at most: when every closed slot has something to report, a
 * search for one that has not must not cost a scan of the table per new socket. */
#define SL_RECYCLE_TRIES 64u
/* ... and for a slot closed with something to report, once the table cannot grow: a server with
 * more live connections than slots must not pay a scan of every live slot per accept (4,096 loads
 * were ~35 us); the search goes on from there at the next socket, and a miss is counted. */
#define SL_RECYCLE_KEEPER_TRIES 512u

/* The oldest closed slot (keepers: even one closed with something to report). */
static struct sl_slot *recycled_slot(struct sl_log *log, int keepers)
{
	struct sl_log_header *h = log->hdr;
	/* Only slots handed out before: a slot past slot_next is materialized but never used, and a
	 * reader stops at slot_next, so a connection recorded there would be lost to it. */
	uint64_t used = __atomic_load_n(&h->slot_next, __ATOMIC_ACQUIRE);
	uint32_t avail = __atomic_load_n(&h->tab[SL_T_SLOTS].avail, __ATOMIC_ACQUIRE);
	if (used < avail)
		avail = (uint32_t)used;
	uint32_t most = keepers ? SL_RECYCLE_KEEPER_TRIES : SL_RECYCLE_TRIES;
	uint32_t tries_max = avail < most ? avail : most;
	for (uint32_t tries = 0; tries < tries_max; tries++) {
		struct sl_slot *s = claim(log, &log->slots[add64(&h->slot_recycle_next, 1) % avail], keepers);
		if (s)
			return s;
	}
	return NULL;
}

struct sl_slot *sl_slot_alloc(struct sl_log *log)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	uint64_t closed = __atomic_load_n(&h->slots_closed, __ATOMIC_RELAXED);
	uint32_t avail = __atomic_load_n(&h->tab[SL_T_SLOTS].avail, __ATOMIC_ACQUIRE);
	struct sl_slot *s = NULL;
	if (closed < SL_HISTORY_MIN || closed < avail / 4)
		s = fresh_slot(log);
	if (!s && closed)
		s = recycled_slot(log, 0);
	if (!s)
		s = fresh_slot(log);
	if (!s)
		s = recycled_slot(log, 1);
	if (!s)
		add64(&h->slot_dropped, 1);
	return s;
}

struct sl_slot *sl_slot_open(struct sl_log *log, int fd, int family, int type, int protocol, int role)
{
	struct sl_slot *s = sl_slot_alloc(log);
	if (!s) {
		if (log->hdr)
			add64(&log->hdr->untracked_fds, 1);
		return NULL;
	}
	s->fd = fd;
	s->family = (uint16_t)family;
	s->type = (uint16_t)(type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
	s->protocol = protocol;
	s->role = (uint8_t)role;
	return s;
}

void sl_slot_close(struct sl_log *log, struct sl_slot *s, uint64_t when)
{
	s->close_ns = when;
	__atomic_store_n(&s->state, SL_SLOT_CLOSED, __ATOMIC_RELEASE);
	if (!(s->flags & SL_SF_KEEP))
		add64(&log->hdr->slots_closed, 1);
}

/* The record for reservation i: the first event_first in place, later ones round the ring. */
static uint64_t event_index(const struct sl_log_header *h, uint64_t i)
{
	uint64_t first = h->event_first, ring = h->tab[SL_T_EVENTS].cap - first;
	return i < first || ring == 0 ? i : first + (i - first) % ring;
}

struct sl_event *sl_ev_begin(struct sl_log *log, uint16_t type, uint16_t call, int fd)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	uint64_t i = add64(&h->event_next, 1), cap = h->tab[SL_T_EVENTS].cap;
	if (i >= cap && cap == h->event_first) {
		add64(&h->event_dropped, 1);
		return NULL;
	}
	uint64_t k = event_index(h, i);
	if (sl_grow(log, SL_T_EVENTS, k) < 0) {
		add64(&h->event_dropped, 1);
		return NULL;
	}
	if (i >= cap)
		add64(&h->event_overwritten, 1);
	struct sl_event *ev = &log->events[k];
	__atomic_store_n(&ev->commit, 0, __ATOMIC_RELAXED);
	memset((char *)ev + sizeof ev->commit, 0, sizeof *ev - sizeof ev->commit);
	ev->type = type;
	ev->call = call;
	ev->fd = fd;
	ev->seq = i;
	return ev;
}

void sl_ev_commit(struct sl_log *log, struct sl_event *ev)
{
	(void)log;
	__atomic_store_n(&ev->commit, ev->seq + 1, __ATOMIC_RELEASE);
}

static uint64_t hash_ips(const uint64_t *ip, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ ip[i]) * 1099511628211ull;
	return h | 1;
}

static int same_stack(const struct sl_stack *s, uint64_t hash, const uint64_t *ip, uint32_t n)
{
	return __atomic_load_n(&s->commit, __ATOMIC_ACQUIRE) == 2 && s->hash == hash && s->nframes == n &&
	       !memcmp(s->ip, ip, n * sizeof *ip);
}

uint32_t sl_stack_intern(struct sl_log *log, const uint64_t *ip, uint32_t n, int *inserted)
{
	if (inserted)
		*inserted = 0;
	struct sl_log_header *h = log->hdr;
	if (!h || n == 0 || sl_grow(log, SL_T_BUCKETS, h->tab[SL_T_BUCKETS].cap - 1) < 0)
		return 0;
	if (n > SL_MAX_FRAMES)
		n = SL_MAX_FRAMES;
	uint64_t hash = hash_ips(ip, n);
	uint32_t nbuckets = __atomic_load_n(&h->tab[SL_T_BUCKETS].cap, __ATOMIC_RELAXED); /* once: see sl_grow */
	if (!nbuckets)
		return 0;
	uint32_t *bucket = &log->buckets[hash % nbuckets];
	uint32_t head = __atomic_load_n(bucket, __ATOMIC_ACQUIRE);
	for (uint32_t id = head, hops = 0; id && id <= h->tab[SL_T_STACKS].cap && hops < 64; hops++) {
		if (same_stack(&log->stacks[id - 1], hash, ip, n))
			return id;
		id = log->stacks[id - 1].next;
	}
	uint64_t i = add64(&h->stack_next, 1);
	if (i >= h->tab[SL_T_STACKS].cap || sl_grow(log, SL_T_STACKS, i) < 0) {
		add64(&h->stack_dropped, 1);
		return 0;
	}
	struct sl_stack *s = &log->stacks[i];
	s->hash = hash;
	s->nframes = n;
	memcpy(s->ip, ip, n * sizeof *ip);
	__atomic_store_n(&s->commit, 2, __ATOMIC_RELEASE);
	/* link it; when another thread linked first, its entries are searched for a twin of ours
	 * (the same stack captured at the same instant): that one is used, so a call site's counts
	 * stay in one record, and ours stays unlinked */
	for (int tries = 0; tries < 8; tries++) {
		uint32_t seen = head;
		s->next = head;
		if (__atomic_compare_exchange_n(bucket, &head, (uint32_t)i + 1, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
			break;
		for (uint32_t id = head, hops = 0; id && id != seen && id <= h->tab[SL_T_STACKS].cap && hops < 64; hops++) {
			if (same_stack(&log->stacks[id - 1], hash, ip, n))
				return id;
			id = log->stacks[id - 1].next;
		}
	}
	if (inserted)
		*inserted = 1;
	return (uint32_t)i + 1;
}

struct sl_stack *sl_stack_at(struct sl_log *log, uint32_t id)
{
	if (!log->hdr || id == 0 || id > __atomic_load_n(&log->hdr->tab[SL_T_STACKS].avail, __ATOMIC_ACQUIRE))
		return NULL;
	return &log->stacks[id - 1];
}

int sl_module_add(struct sl_log *log, const char *path, uint64_t base, uint64_t lo, uint64_t hi,
		  const uint8_t *bid, uint32_t bidlen)
{
	struct sl_log_header *h = log->hdr;
	uint64_t i = add64(&h->module_next, 1);
	if (i >= h->tab[SL_T_MODULES].cap || sl_grow(log, SL_T_MODULES, i) < 0) {
		add64(&h->module_dropped, 1);
		return -ENOSPC;
	}
	struct sl_module *m = &log->mods[i];
	m->base = base;
	m->lo = lo;
	m->hi = hi;
	m->buildid_len = bidlen > SL_BUILDID_MAX ? SL_BUILDID_MAX : bidlen;
	memcpy(m->buildid, bid, m->buildid_len);
	size_t len = strnlen(path, SL_MODPATH_MAX - 1);
	memcpy(m->path, path, len);
	m->path[len] = 0;
	__atomic_store_n(&m->commit, 1, __ATOMIC_RELEASE);
	return 0;
}

const struct sl_module *sl_module_of(const struct sl_log *log, uint64_t ip)
{
	const struct sl_log_header *h = log->hdr;
	uint64_t n = h ? __atomic_load_n(&h->module_next, __ATOMIC_ACQUIRE) : 0;
	uint32_t avail = h ? __atomic_load_n(&h->tab[SL_T_MODULES].avail, __ATOMIC_ACQUIRE) : 0;
	if (n > avail)
		n = avail;
	for (uint64_t i = 0; i < n; i++) {
		const struct sl_module *m = &log->mods[i];
		if (__atomic_load_n(&m->commit, __ATOMIC_ACQUIRE) && ip >= m->lo && ip < m->hi)
			return m;
	}
	return NULL;
}

int sl_module_known(const struct sl_log *log, uint64_t ip)
{
	return sl_module_of(log, ip) != NULL;
}

/* A free record (released by a thread that ended) or a new one. */
struct sl_inflight *sl_inflight_claim(struct sl_log *log, uint32_t tid)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	struct sl_table_hdr *th = &h->tab[SL_T_INFLIGHT];
	for (uint32_t i = 0; i < th->cap; i++) {
		if (i >= __atomic_load_n(&th->avail, __ATOMIC_ACQUIRE) && sl_grow(log, SL_T_INFLIGHT, i) < 0)
			break;
		struct sl_inflight *f = &log->infl[i];
		uint32_t zero = 0;
		if (__atomic_load_n(&f->owner, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&f->owner, &zero, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(&f->call, 0, __ATOMIC_RELEASE);
			return f;
		}
	}
	add64(&h->inflight_dropped, 1);
	return NULL;
}

void sl_inflight_release(struct sl_inflight *f)
{
	__atomic_store_n(&f->call, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&f->owner, 0, __ATOMIC_RELEASE);
}

void sl_addr_set(struct sl_addr *dst, const struct sockaddr *sa, socklen_t len)
{
	if (!sa || len < sizeof(sa_family_t)) {
		dst->family = 0;
		dst->len = 0;
		return;
	}
	size_t n = len - sizeof(sa_family_t);
	if (n > SL_ADDR_DATA)
		n = SL_ADDR_DATA;
	dst->family = sa->sa_family;
	dst->len = (uint16_t)n;
	memcpy(dst->data, sa->sa_data, n);
}

socklen_t sl_addr_get(const struct sl_addr *a, struct sockaddr_storage *out)
{
	size_t n = sizeof(sa_family_t) + a->len;
	if (!a->family || a->len > SL_ADDR_DATA || n > sizeof *out)
		return 0;
	memset(out, 0, sizeof *out);
	out->ss_family = a->family;
	memcpy((char *)out + sizeof(sa_family_t), a->data, a->len);
	return (socklen_t)n;
}

/* Counts err in a small errno histogram; the first SL_ERRS distinct values are kept. */
static void count_err(int32_t *no, void *counts, size_t width, int err)
{
	for (uint32_t i = 0; i < SL_ERRS; i++) {
		if (no[i] == err || no[i] == 0) {
			no[i] = err;
			if (width == 8)
				__atomic_fetch_add(&((uint64_t *)counts)[i], 1, __ATOMIC_RELAXED);
			else
				__atomic_fetch_add(&((uint32_t *)counts)[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

void sl_slot_count_error(struct sl_slot *s, int err)
{
	__atomic_fetch_add(&s->err_total, 1, __ATOMIC_RELAXED);
	count_err(s->err_no, s->err_count, sizeof s->err_count[0], err);
}

/* Bucket of a connect latency: [2^i, 2^(i+1)) x 64 us, the last one open-ended. */
static uint32_t lat_bucket(uint64_t ns)
{
	uint64_t units = ns / 64000;
	uint32_t b = 0;
	while (units > 1 && b < SL_LAT_BUCKETS - 1) {
		units >>= 1;
		b++;
	}
	return b;
}

void sl_site_count(struct sl_log *log, uint32_t id, int err, uint64_t dur_ns, int lat_call, int slow)
{
	struct sl_stack *s = sl_stack_at(log, id);
	if (!s)
		return;
	add64(&s->hits, 1);
	if (err) {
		add64(&s->fails, 1);
		count_err(s->err_no, s->err_count, sizeof s->err_count[0], err);
		__atomic_store_n(&s->last_fail_ns, sl_now(), __ATOMIC_RELAXED);
	}
	if (slow)
		add64(&s->slow, 1);
	if (lat_call) {
		add64(&s->lat[lat_bucket(dur_ns)], 1);
		s->lat_call = (uint32_t)lat_call;
	}
	uint64_t max = __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED);
	while (dur_ns > max && !__atomic_compare_exchange_n(&s->max_ns, &max, dur_ns, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

uint64_t sl_site_failures(struct sl_log *log, uint32_t id, int err)
{
	const struct sl_stack *s = sl_stack_at(log, id);
	for (uint32_t i = 0; s && i < SL_ERRS; i++)
		if (s->err_no[i] == err)
			return __atomic_load_n(&s->err_count[i], __ATOMIC_RELAXED);
	return 0;
}

int64_t sl_lang_add(struct sl_log *log, int lang, uint64_t key, const char *func, const char *file, int line)
{
	struct sl_log_header *h = log->hdr;
	uint64_t i = add64(&h->lang_next, 1);
	if (i >= h->tab[SL_T_LANG].cap || sl_grow(log, SL_T_LANG, i) < 0) {
		add64(&h->lang_dropped, 1);
		return -1;
	}
	struct sl_lang *l = &log->langs[i];
	l->key = key;
	l->lang = (uint16_t)lang;
	l->line = line;
	size_t n = strnlen(func, SL_LANG_FUNC - 1);
	memcpy(l->func, func, n);
	l->func[n] = 0;
	n = strnlen(file, SL_LANG_FILE - 1);
	memcpy(l->file, file, n);
	l->file[n] = 0;
	__atomic_store_n(&l->commit, 1, __ATOMIC_RELEASE);
	return (int64_t)i;
}
