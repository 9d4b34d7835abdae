/* clock.c - TSC detection and calibration: the hot path reads rdtsc, rare paths convert. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <time.h>
#include "clock.h"
#include "rawsys.h"
#include "shim.h"

uint64_t sl_slow_ticks = UINT64_MAX;

/* A floor for TSC rates, so the first guess at the slow threshold errs on the side of
 * checking too often (each check costs one clock_gettime), never of missing a slow call. */
#define SL_TSC_MIN_HZ 200000000ull

uint64_t sl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Invariant TSC (CPUID 0x80000007 EDX bit 8): constant rate, runs in every C-state. */
static int tsc_invariant(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
		return 0;
	__get_cpuid(0x80000007, &a, &b, &c, &d);
	return (d >> 8) & 1;
}

static void read_boot_id(char *out, size_t len)
{
	long fd = sl_sys3(SYS_openat, AT_FDCWD, "/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	long n = fd >= 0 ? sl_sys3(SYS_read, fd, out, len - 1) : 0;
	if (fd >= 0)
		sl_sys3(SYS_close, fd, 0, 0);
	out[n > 0 ? n : 0] = 0;
	for (long i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = 0;
}

void sl_clock_init(struct sl_log_header *h)
{
	h->tick_kind = tsc_invariant() ? SL_TICK_TSC : SL_TICK_TSC_VARIABLE;
	h->mono0 = sl_now();
	h->tsc0 = sl_ticks();
	h->tsc1 = h->tsc0;
	h->mono1 = h->mono0;
	read_boot_id(h->boot_id, sizeof h->boot_id);
	uint64_t rough = h->slow_ns / 1000000000ull * SL_TSC_MIN_HZ +
			 h->slow_ns % 1000000000ull * SL_TSC_MIN_HZ / 1000000000ull;
	__atomic_store_n(&sl_slow_ticks, rough ? rough : 1, __ATOMIC_RELAXED);
}

void sl_clock_mark(struct sl_log_header *h)
{
	sl_ticks_to_ns(h, 0);
}

uint64_t sl_ticks_to_ns(struct sl_log_header *h, uint64_t ticks)
{
	uint64_t mono = sl_now(), tsc = sl_ticks();
	uint64_t dm = mono - h->mono0, dt = tsc - h->tsc0;
	if (dt == 0 || dm < 100000) /* under 100 us of history: the guess is all we have */
		return ticks * 1000000000ull / SL_TSC_MIN_HZ;
	__atomic_store_n(&h->tsc1, tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&h->mono1, mono, __ATOMIC_RELAXED);
	/* with a real rate known, check calls at 90% of the threshold from now on */
	unsigned __int128 slow = (unsigned __int128)h->slow_ns * dt / dm;
	__atomic_store_n(&sl_slow_ticks, (uint64_t)(slow * 9 / 10), __ATOMIC_RELAXED);
	return (uint64_t)((unsigned __int128)ticks * dm / dt);
}
