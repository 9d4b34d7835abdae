/* fdtab.c - per-fd table in private memory: UNKNOWN, OTHER (not a socket), or a slot index. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "rawsys.h"
#include "shim.h"

uint32_t *sl_fdtab;
uint32_t sl_fdcap;
static uint32_t hiwater;

/* Maps cap words with MAP_NORESERVE: untouched pages cost nothing, and the
 * mapping is private so a fork child gets a copy matching its inherited fds. */
SL_START int sl_fdtab_init(uint32_t cap)
{
	long p = sl_sys6(SYS_mmap, 0, (long)cap * sizeof(uint32_t), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p < 0 && p > -4096)
		return (int)p;
	sl_fdtab = (uint32_t *)p;
	__atomic_store_n(&sl_fdcap, cap, __ATOMIC_RELEASE);
	return 0;
}

/* hiwater only grows (a compare-and-swap: two threads raising it at once keep the higher). */
static void raise_hiwater(int fd, uint32_t ent)
{
	uint32_t hw = __atomic_load_n(&hiwater, __ATOMIC_RELAXED);
	while (ent != SL_FD_UNKNOWN && (uint32_t)fd + 1 > hw &&
	       !__atomic_compare_exchange_n(&hiwater, &hw, (uint32_t)fd + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void sl_fd_set(int fd, uint32_t ent)
{
	if ((unsigned)fd >= sl_fdcap)
		return;
	__atomic_store_n(&sl_fdtab[fd], ent, __ATOMIC_RELEASE);
	raise_hiwater(fd, ent);
}

int sl_fd_replace(int fd, uint32_t *old, uint32_t ent)
{
	if ((unsigned)fd >= sl_fdcap)
		return 0;
	if (!__atomic_compare_exchange_n(&sl_fdtab[fd], old, ent, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return 0;
	raise_hiwater(fd, ent);
	return 1;
}

/* One past the highest fd ever classified: bounds the walks of close_range and fork. */
SL_START uint32_t sl_fd_hiwater(void)
{
	return __atomic_load_n(&hiwater, __ATOMIC_RELAXED);
}
