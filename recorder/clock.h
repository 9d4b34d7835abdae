/* clock.h - the shim's two clocks: a cheap coarse one for data calls, a precise one for rare calls. */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Everything declared here is internal to the shim: accessed directly, never through the GOT. */
#pragma GCC visibility push(hidden)

/* CLOCK_MONOTONIC in ns, precise: connects, events, opens and closes (rare calls). */
uint64_t sl_now(void);

/* The vDSO's clock_gettime, found at start (glibc's until then); sl_now reads CLOCK_MONOTONIC
 * through it too. sl_clock: CLOCK_MONOTONIC_COARSE in ns, about 7 ns where rdtsc costs 25-50 ns
 * on some Intel VMs, at the kernel tick's resolution (4 ms at HZ=250), which every duration rule
 * allows (see BENCHMARKS.md). The data-call hot path reads it once per call on a non-blocking
 * socket, twice on a blocking one (start and end), never for other fds. A test build counts the
 * reads (sl_clock_reads). */
extern int (*sl_coarse_fn)(clockid_t, struct timespec *);
#ifdef SL_COUNT_CLOCK_READS
extern __attribute__((visibility("default"))) uint64_t sl_clock_reads;
#endif

static inline uint64_t sl_clock(void)
{
	struct timespec ts;
#ifdef SL_COUNT_CLOCK_READS
	__atomic_fetch_add(&sl_clock_reads, 1, __ATOMIC_RELAXED);
#endif
	sl_coarse_fn(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Finds the vDSO's clock_gettime; notes the coarse clock's resolution. */
void sl_clock_init(void);
uint64_t sl_clock_res_ns(void);

#pragma GCC visibility pop

#endif
