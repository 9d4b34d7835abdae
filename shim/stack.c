/* stack.c - call-site stacks with libunwind (loaded privately) and the module map for symbolizing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>
#include "shim.h"

/*
 * libunwind is dlopen()ed with RTLD_LOCAL instead of linked: Debian's
 * libunwind.so.8 exports _Unwind_RaiseException and friends, and as a
 * DT_NEEDED of a preloaded library it would capture the host's C++ exception
 * unwinding (shim-pitfalls E5). Loaded locally, its symbols stay private.
 */
static int (*unw_backtrace_fn)(void **, int);
static SL_TLS int t_unwinding; /* nesting guard: a signal handler inside an unwind skips stacks */

void sl_stack_init(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	int (*policy)(void *, int) = (int (*)(void *, int))dlsym(h, "_ULx86_64_set_caching_policy");
	void **as = (void **)dlsym(h, "_ULx86_64_local_addr_space");
	if (policy && as)
		policy(*as, 2 /* UNW_CACHE_PER_THREAD */);
	unw_backtrace_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	if (!unw_backtrace_fn)
		return;
	void *warm[SL_MAX_FRAMES];
	unw_backtrace_fn(warm, SL_MAX_FRAMES); /* fill this thread's caches outside any hook */
	if (sl_g.log.hdr)
		sl_g.log.hdr->flags |= SL_HDR_STACKS;
}

static int is_shim_ip(uint64_t ip)
{
	return ip >= sl_g.shim_lo && ip < sl_g.shim_hi;
}

/* Captures the caller's stack, drops our own frames, and interns it. Returns 0 if unavailable. */
uint32_t sl_stack_capture(void)
{
	void *raw[SL_MAX_FRAMES + 8];
	uint64_t ip[SL_MAX_FRAMES];
	uint32_t n = 0;
	if (!unw_backtrace_fn || t_unwinding)
		return 0;
	t_unwinding = 1;
	int got = unw_backtrace_fn(raw, (int)(sizeof raw / sizeof raw[0]));
	int first = 0, inserted;
	/* everything up to our outermost frame is the shim or libunwind itself */
	for (int i = 0; i < got; i++)
		if (is_shim_ip((uint64_t)(uintptr_t)raw[i]))
			first = i + 1;
	for (int i = first; i < got && n < SL_MAX_FRAMES; i++) {
		uint64_t a = (uint64_t)(uintptr_t)raw[i];
		if (a == 0)
			break;
		ip[n++] = a;
	}
	uint32_t id = sl_stack_intern(&sl_g.log, ip, n, &inserted);
	/* a stack seen before had its modules checked then; a new one may come from a
	 * library dlopen()ed since the last scan */
	for (uint32_t i = 0; inserted && i < n; i++) {
		if (!sl_module_known(&sl_g.log, ip[i])) {
			sl_modules_scan();
			break;
		}
	}
	t_unwinding = 0;
	return id;
}

static uint32_t build_id(const struct dl_phdr_info *info, const uint8_t **out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof *nh;
			const char *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				*out = (const uint8_t *)desc;
				return nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : sl_g.log.hdr->exe;
	if (hi == 0 || strstr(path, "linux-vdso") || sl_module_known(&sl_g.log, lo))
		return 0;
	if ((uint64_t)(uintptr_t)&sl_stack_capture >= lo && (uint64_t)(uintptr_t)&sl_stack_capture < hi) {
		sl_g.shim_lo = lo;
		sl_g.shim_hi = hi;
	}
	const uint8_t *bid = NULL;
	uint32_t bidlen = build_id(info, &bid);
	sl_module_add(&sl_g.log, path, info->dlpi_addr, lo, hi, bid, bidlen);
	return 0;
}

/* Records every loaded object not yet in the module table. Not for signal context. */
void sl_modules_scan(void)
{
	if (sl_g.log.hdr)
		dl_iterate_phdr(module_cb, NULL);
}
