/* data.h - the usual end of a data call on a tracked socket, inlined into the shim's wrappers:
 * plain adds to its direction's counters. Everything unusual goes to sl_rec_data (data.c). */
#ifndef SL_DATA_H
#define SL_DATA_H

#include "recorder.h"

/* Slot flags that send a call's end to sl_rec_data, by direction. */
#define SL_SF_SLOW_IN (SL_SF_CONNECTING | SL_SF_WATCH_READ | SL_SF_FIRST_IN)
#define SL_SF_SLOW_OUT (SL_SF_CONNECTING | SL_SF_FIRST_OUT | SL_SF_SHORT_WRITE)

/* Whether a call that returned ret, having asked for want bytes, after dt, at now, needs
 * sl_rec_data: a write (want: its length) that sent less, a read (want 1) that returned 0, and any
 * failure, all with one comparison; a slow call; a flag of the slot; a reply after two or more
 * writes; a new sampling period. */
SL_INLINE int sl_data_unusual(const struct sl_slot *s, int in, long ret, uint64_t dt, uint64_t now, size_t want)
{
	uint32_t slow_flags = in ? SL_SF_SLOW_IN : SL_SF_SLOW_OUT;
	return __builtin_expect((unsigned long)ret + 1 <= want || dt >= sl_slow_ns ||
					(__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & slow_flags) ||
					(in && (s->writes_since_read > 1 ||
						(uint32_t)(now >> SL_SAMPLE_SHIFT) != s->sample_epoch)),
				0);
}

/* Counts a call that returned ret > 0 bytes (or 0 on a write) after dt, at now. No generation
 * check: the slot can only be reused while this call runs if every other slot is live or the
 * whole slot ring wraps during it; then this one call's result would be counted for the new
 * connection. Checking would cost two registers on every call. Plain adds, no lock prefix: see
 * the counters' contract in socklens/log.h. */
SL_INLINE void sl_data_count(struct sl_slot *s, int in, long ret, uint64_t dt, uint64_t now, int peek)
{
	if (in) {
		if (!peek)
			s->bytes_in += (uint64_t)ret;
		s->calls_in++;
		s->blocked_in_cns += dt;
		if (__builtin_expect(dt > s->read_max_cns, 0))
			s->read_max_cns = dt;
		s->last_in_cns = now;
		s->writes_since_read = 0;
	} else {
		s->bytes_out += (uint64_t)ret;
		s->calls_out++;
		s->blocked_out_cns += dt;
		if (__builtin_expect(dt > s->write_max_cns, 0))
			s->write_max_cns = dt;
		s->last_out_cns = now;
		s->writes_since_read++;
	}
}

#endif
