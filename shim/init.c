/* init.c - the constructor: binds real functions, reads the environment, creates the log. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"

struct sl_state sl_g;

int sl_in_vfork_child(void)
{
	return sl_sys3(SYS_getpid, 0, 0, 0) != sl_g.pid;
}

/* One line on stderr, written with raw syscalls (our own write() wrapper is not needed here). */
static void say(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	const char *parts[] = {"socklens: ", a, b, c, d, e, "\n"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (parts[i])
			sl_sys3(SYS_write, 2, parts[i], strlen(parts[i]));
}

static uint32_t env_u32(const char *name, uint32_t def, uint32_t lo, uint32_t hi)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi)
		return def;
	return (uint32_t)v;
}

static void read_params(struct sl_log_params *p)
{
	sl_log_params_default(p);
	p->slots = env_u32("SOCKLENS_SLOTS", p->slots, 16, 1u << 20);
	p->events = env_u32("SOCKLENS_EVENTS", p->events, 16, 1u << 22);
	p->stacks = env_u32("SOCKLENS_STACKS", p->stacks, 16, 1u << 20);
	p->slow_ns = (uint64_t)env_u32("SOCKLENS_SLOW_MS", (uint32_t)(p->slow_ns / 1000000), 1,
				       86400000) * 1000000ull;
	p->trace = env_u32("SOCKLENS_TRACE", 0, 0, 1) == 1;
}

static uint32_t fd_capacity(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20))
		return 1u << 20;
	return rl.rlim_max < 1024 ? 1024 : (uint32_t)rl.rlim_max;
}

void sl__record_exit(int status)
{
	int e = errno;
	if (sl_g.ready && !sl_in_vfork_child()) {
		struct sl_log_header *h = sl_g.log.hdr;
		h->exit_status = status;
		h->end_mono_ns = sl_now();
		sl_clock_mark(h);
		__atomic_store_n(&h->end_reason, SL_END_EXIT, __ATOMIC_RELEASE);
	}
	errno = e;
}

static void on_exit_cb(int status, void *arg)
{
	(void)arg;
	sl__record_exit(status);
}

/* Copies one inherited connection into the child's new log, with its stacks. */
static uint32_t copy_stack(const struct sl_log *from, uint32_t id)
{
	if (id == 0 || id > from->hdr->stack_cap)
		return 0;
	const struct sl_stack *s = &from->stacks[id - 1];
	return sl_stack_intern(&sl_g.log, s->ip, s->nframes, NULL);
}

static struct sl_slot *clone_slot(const struct sl_log *from, const struct sl_slot *old)
{
	struct sl_slot *s = sl_slot_alloc(&sl_g.log);
	if (!s)
		return NULL;
	size_t head = offsetof(struct sl_slot, fd);
	memcpy((char *)s + head, (const char *)old + head, sizeof *s - head);
	s->refs = 0;
	s->open_stack = copy_stack(from, old->open_stack);
	s->connect_stack = copy_stack(from, old->connect_stack);
	s->error_stack = copy_stack(from, old->error_stack);
	s->flags |= SL_SF_FROM_PARENT;
	return s;
}

static void copy_modules(const struct sl_log *from)
{
	uint64_t n = from->hdr->module_next;
	for (uint64_t i = 0; i < n && i < from->hdr->module_cap; i++) {
		const struct sl_module *m = &from->mods[i];
		if (m->commit)
			sl_module_add(&sl_g.log, m->path, m->base, m->lo, m->hi, m->buildid, m->buildid_len);
	}
}

/* Re-points every fd that holds a slot at a copy in the new log. Async-signal-safe:
 * the old-to-new map lives in a private anonymous mapping, not on the heap. */
static void adopt_open_sockets(const struct sl_log *from)
{
	size_t mapsz = (size_t)from->hdr->slot_cap * sizeof(uint32_t);
	long m = sl_sys6(SYS_mmap, 0, (long)mapsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t *map = (m < 0 && m > -4096) ? NULL : (uint32_t *)m;
	uint32_t hi = sl_fd_hiwater();
	for (uint32_t fd = 0; fd < hi; fd++) {
		uint32_t ent = sl_fd_get((int)fd), idx = ent - SL_FD_SLOT0;
		if (ent < SL_FD_SLOT0 || idx >= from->hdr->slot_cap)
			continue;
		uint32_t nent = map ? map[idx] : 0;
		if (!nent) {
			struct sl_slot *s = clone_slot(from, &from->slots[idx]);
			nent = s ? SL_FD_SLOT0 + (uint32_t)(s - sl_g.log.slots) : SL_FD_NOSLOT;
			if (map)
				map[idx] = nent;
		}
		if (nent >= SL_FD_SLOT0)
			sl_g.log.slots[nent - SL_FD_SLOT0].refs++;
		sl_fd_set((int)fd, nent);
	}
	if (map)
		sl_sys3(SYS_munmap, map, mapsz, 0);
}

/* atfork child handler: the child gets its own log, seeded with the sockets it inherited. */
void sl_after_fork_child(void)
{
	int e = errno;
	if (!sl_g.ready)
		return;
	struct sl_log old = sl_g.log;
	int ppid = sl_g.pid;
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	sl__thread_reset();
	if (sl_log_create(&sl_g.log, sl_g.dir, &sl_g.params, sl_g.pid, ppid) < 0) {
		sl_g.ready = 0;
		sl_g.log.hdr = NULL;
		__atomic_store_n(&sl_fdcap, 0, __ATOMIC_RELEASE); /* every fd unknown: pass through */
		errno = e;
		return;
	}
	sl_g.log.hdr->flags = (old.hdr->flags & SL_HDR_STACKS) | SL_HDR_FORKED;
	sl_slot_bias_set();
	copy_modules(&old);
	adopt_open_sockets(&old);
	errno = e;
}

/* Sockets already open at start: exec'd with them, socket activation, inetd. */
static void scan_inherited(void)
{
	char buf[4096];
	long dfd = sl_sys3(SYS_openat, -100 /* AT_FDCWD */, "/proc/self/fd", 0200000 | 02000000);
	if (dfd < 0)
		return;
	for (;;) {
		long n = sl_sys3(SYS_getdents64, dfd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d =
				(void *)(buf + off);
			int fd = atoi(d->name);
			if (d->name[0] >= '0' && d->name[0] <= '9' && fd != dfd)
				sl__slot_for(fd);
			off += d->reclen;
		}
	}
	sl_sys3(SYS_close, dfd, 0, 0);
}

__attribute__((constructor)) static void sl_init(void)
{
	int e = errno;
	sl_real_bind_all();
	const char *dir = getenv("SOCKLENS_DIR");
	if (!dir || !*dir || strlen(dir) >= sizeof sl_g.dir - 32)
		goto out; /* not started by socklens run: stay a pass-through */
	strcpy(sl_g.dir, dir);
	read_params(&sl_g.params);
	sl_g.pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	int r = sl_log_create(&sl_g.log, sl_g.dir, &sl_g.params, sl_g.pid, getppid());
	if (r < 0) {
		say("cannot create log in '", sl_g.dir, "': ", strerror(-r), "; running untraced");
		goto out;
	}
	if (sl_fdtab_init(fd_capacity()) < 0) {
		sl_g.log.hdr = NULL;
		goto out;
	}
	sl_slot_bias_set();
	sl_stack_init();
	pthread_atfork(NULL, NULL, sl_after_fork_child);
	on_exit(on_exit_cb, NULL);
	__atomic_store_n(&sl_g.ready, 1, __ATOMIC_RELEASE);
	scan_inherited();
	sl_g.log.hdr->flags |= SL_HDR_INHERITED;
out:
	errno = e;
}
