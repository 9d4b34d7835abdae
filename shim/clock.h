/* clock.h - the hot-path clock: one rdtsc, converted to time off the hot path. */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stdint.h>

/* Everything declared here is internal to the shim: accessed directly, never through the GOT. */
#pragma GCC visibility push(hidden)

extern uint64_t sl_slow_ticks; /* a call at least this long is checked against slow_ns */

uint64_t sl_now(void);

/* rdtsc, not clock_gettime: one instruction instead of about seventy (shim-pitfalls E6). */
static inline uint64_t sl_ticks(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct sl_log_header;
/* Decides the tick source and writes the first calibration pair; sets sl_slow_ticks. */
void sl_clock_init(struct sl_log_header *h);
/* Converts a tick interval to ns with a fresh calibration pair (stored in the header for
 * the analyzer). Not for the hot path: one clock_gettime. */
uint64_t sl_ticks_to_ns(struct sl_log_header *h, uint64_t ticks);
/* Stores a fresh calibration pair (rare paths: close, exit). */
void sl_clock_mark(struct sl_log_header *h);

#pragma GCC visibility pop

#endif
