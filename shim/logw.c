/* logw.c - the log writer: creates the per-process file and appends records without locks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "rawsys.h"
#include "clock.h"
#include "shim.h"
#include "strbuf.h"

void sl_log_params_default(struct sl_log_params *p)
{
	p->slots = 4096;
	p->events = 8192;
	p->stacks = 2048;
	p->modules = 256;
	p->inflight = 256;
	p->slow_ns = 1000000000ull;
	p->trace = 0;
}

static uint64_t now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t align64(uint64_t v)
{
	return (v + 63) & ~63ull;
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

/* Field 22 of /proc/self/stat, counted after the ")" that ends the command name. */
static uint64_t proc_start_ticks(void)
{
	char buf[1024];
	long n = read_small("/proc/self/stat", buf, sizeof buf - 1);
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

static void fill_identity(struct sl_log_header *h)
{
	long n = sl_sys3(SYS_readlink, "/proc/self/exe", h->exe, SL_EXE_MAX - 1);
	h->exe[n > 0 ? n : 0] = 0;
	n = read_small("/proc/self/cmdline", h->argv, SL_ARGV_MAX);
	h->argv_len = n > 0 ? (uint32_t)n : 0;
	h->proc_start_ticks = proc_start_ticks();
}

static void fill_layout(struct sl_log_header *h, const struct sl_log_params *p)
{
	memcpy(h->magic, SL_LOG_MAGIC, 8);
	h->version = SL_LOG_VERSION;
	h->header_size = SL_HEADER_SIZE;
	h->slot_size = sizeof(struct sl_slot);
	h->event_size = sizeof(struct sl_event);
	h->stack_size = sizeof(struct sl_stack);
	h->module_size = sizeof(struct sl_module);
	h->inflight_size = sizeof(struct sl_inflight);
	h->slot_cap = p->slots;
	h->event_cap = p->events;
	h->stack_cap = p->stacks;
	h->module_cap = p->modules;
	h->inflight_cap = p->inflight;
	h->slot_off = SL_HEADER_SIZE;
	h->event_off = align64(h->slot_off + (uint64_t)p->slots * h->slot_size);
	h->stack_off = align64(h->event_off + (uint64_t)p->events * h->event_size);
	h->module_off = align64(h->stack_off + (uint64_t)p->stacks * h->stack_size);
	h->inflight_off = align64(h->module_off + (uint64_t)p->modules * h->module_size);
	h->file_size = (h->inflight_off + (uint64_t)p->inflight * h->inflight_size + 4095) & ~4095ull;
	h->slow_ns = p->slow_ns;
}

/* Opens dir/p<pid>.<seq>.sllog exclusively, trying the next seq while it exists. */
static long open_exclusive(const char *dir, int pid, uint32_t *seq)
{
	for (uint32_t s = 0; s < 1000; s++) {
		struct sl_strbuf b;
		sl_sb_init(&b);
		sl_sb_str(&b, dir);
		sl_sb_str(&b, "/p");
		sl_sb_u64(&b, (uint64_t)pid);
		sl_sb_str(&b, ".");
		sl_sb_u64(&b, s);
		sl_sb_str(&b, ".sllog");
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

int sl_log_create(struct sl_log *log, const char *dir, const struct sl_log_params *p, int pid, int ppid)
{
	struct sl_log_header tmp;
	uint32_t seq;
	memset(&tmp, 0, sizeof tmp);
	fill_layout(&tmp, p);
	long fd = open_exclusive(dir, pid, &seq);
	if (fd < 0)
		return (int)fd;
	/* Allocate every page now: a sparse file on a full tmpfs would SIGBUS the host later. */
	long r = sl_sys6(SYS_fallocate, fd, 0, 0, (long)tmp.file_size, 0, 0);
	if (r == -EOPNOTSUPP)
		r = sl_sys3(SYS_ftruncate, fd, tmp.file_size, 0);
	long map = r < 0 ? r : sl_sys6(SYS_mmap, 0, (long)tmp.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sl_sys3(SYS_close, fd, 0, 0); /* the mapping keeps the file; the program never sees this fd */
	if (map < 0 && map > -4096)
		return (int)map;
	struct sl_log_header *h = (struct sl_log_header *)map;
	memcpy(h, &tmp, sizeof tmp);
	h->pid = pid;
	h->ppid = ppid;
	h->seq = seq;
	h->start_mono_ns = sl_now();
	h->start_real_ns = now_real();
	sl_clock_init(h);
	fill_identity(h);
	log->hdr = h;
	log->size = h->file_size;
	log->slots = (struct sl_slot *)((char *)h + h->slot_off);
	log->events = (struct sl_event *)((char *)h + h->event_off);
	log->stacks = (struct sl_stack *)((char *)h + h->stack_off);
	log->mods = (struct sl_module *)((char *)h + h->module_off);
	log->infl = (struct sl_inflight *)((char *)h + h->inflight_off);
	return 0;
}

static uint64_t add64(uint64_t *p, uint64_t v)
{
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

struct sl_slot *sl_slot_alloc(struct sl_log *log)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	for (uint32_t tries = 0; tries < h->slot_cap; tries++) {
		struct sl_slot *s = &log->slots[add64(&h->slot_next, 1) % h->slot_cap];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (st == SL_SLOT_LIVE || st == SL_SLOT_BUSY)
			continue;
		if (!__atomic_compare_exchange_n(&s->state, &st, SL_SLOT_BUSY, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		if (st == SL_SLOT_CLOSED)
			add64(&h->slot_recycled, 1);
		uint32_t gen = s->gen + 1;
		memset((char *)s + 8, 0, sizeof *s - 8);
		__atomic_store_n(&s->gen, gen, __ATOMIC_RELEASE);
		s->conn_id = add64(&h->conn_next, 1) + 1;
		s->refs = 1;
		__atomic_store_n(&s->state, SL_SLOT_LIVE, __ATOMIC_RELEASE);
		return s;
	}
	add64(&h->slot_dropped, 1);
	return NULL;
}

void sl_slot_close(struct sl_log *log, struct sl_slot *s, uint64_t when)
{
	(void)log;
	s->close_ns = when;
	__atomic_store_n(&s->state, SL_SLOT_CLOSED, __ATOMIC_RELEASE);
}

struct sl_event *sl_ev_begin(struct sl_log *log, uint16_t type, uint16_t call, int fd)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	uint64_t i = add64(&h->event_next, 1);
	if (i >= h->event_cap) {
		add64(&h->event_dropped, 1);
		return NULL;
	}
	struct sl_event *ev = &log->events[i];
	ev->type = type;
	ev->call = call;
	ev->fd = fd;
	return ev;
}

void sl_ev_commit(struct sl_log *log, struct sl_event *ev)
{
	__atomic_store_n(&ev->commit, (uint32_t)(ev - log->events) + 1, __ATOMIC_RELEASE);
}

static uint64_t hash_ips(const uint64_t *ip, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ ip[i]) * 1099511628211ull;
	return h | 1;
}

#define SL_STACK_PROBES 64u

uint32_t sl_stack_intern(struct sl_log *log, const uint64_t *ip, uint32_t n, int *inserted)
{
	if (inserted)
		*inserted = 0;
	struct sl_log_header *h = log->hdr;
	if (!h || n == 0 || h->stack_cap == 0)
		return 0;
	if (n > SL_MAX_FRAMES)
		n = SL_MAX_FRAMES;
	uint64_t hash = hash_ips(ip, n);
	for (uint32_t probe = 0; probe < SL_STACK_PROBES; probe++) {
		uint32_t idx = (uint32_t)((hash + probe) % h->stack_cap);
		struct sl_stack *s = &log->stacks[idx];
		uint32_t c = __atomic_load_n(&s->commit, __ATOMIC_ACQUIRE);
		if (c == 0 && __atomic_compare_exchange_n(&s->commit, &c, 1, 0, __ATOMIC_ACQ_REL,
							  __ATOMIC_ACQUIRE)) {
			s->hash = hash;
			s->nframes = n;
			memcpy(s->ip, ip, n * sizeof *ip);
			__atomic_store_n(&s->commit, 2, __ATOMIC_RELEASE);
			if (inserted)
				*inserted = 1;
			return idx + 1;
		}
		/* c == 1: another thread is writing it; if it is ours we store a twin, harmlessly. */
		if (c == 2 && s->hash == hash && s->nframes == n && !memcmp(s->ip, ip, n * sizeof *ip))
			return idx + 1;
	}
	add64(&h->stack_dropped, 1);
	return 0;
}

int sl_module_add(struct sl_log *log, const char *path, uint64_t base, uint64_t lo, uint64_t hi,
		  const uint8_t *bid, uint32_t bidlen)
{
	struct sl_log_header *h = log->hdr;
	uint64_t i = add64(&h->module_next, 1);
	if (i >= h->module_cap) {
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

int sl_module_known(const struct sl_log *log, uint64_t ip)
{
	const struct sl_log_header *h = log->hdr;
	uint64_t n = __atomic_load_n(&h->module_next, __ATOMIC_ACQUIRE);
	if (n > h->module_cap)
		n = h->module_cap;
	for (uint64_t i = 0; i < n; i++) {
		const struct sl_module *m = &log->mods[i];
		if (__atomic_load_n(&m->commit, __ATOMIC_ACQUIRE) && ip >= m->lo && ip < m->hi)
			return 1;
	}
	return 0;
}

struct sl_inflight *sl_inflight_claim(struct sl_log *log, uint32_t tid)
{
	struct sl_log_header *h = log->hdr;
	if (!h)
		return NULL;
	uint64_t i = add64(&h->inflight_next, 1);
	if (i >= h->inflight_cap) {
		add64(&h->inflight_dropped, 1);
		return NULL;
	}
	log->infl[i].tid = tid;
	return &log->infl[i];
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

/* Counts err in the slot's small errno histogram; the first SL_ERRS distinct values are kept. */
void sl_slot_count_error(struct sl_slot *s, int err)
{
	__atomic_fetch_add(&s->err_total, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < SL_ERRS; i++) {
		if (s->err_no[i] == err || s->err_no[i] == 0) {
			s->err_no[i] = err;
			__atomic_fetch_add(&s->err_count[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
}
