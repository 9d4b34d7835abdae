/* unwind.h - the caller's stack as return addresses, without libunwind (see unwind.c). */
#ifndef SL_UNWIND_H
#define SL_UNWIND_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Fills ips with up to max return addresses, innermost first, starting with sl_unwind's caller.
 * Async-signal-safe: no fd, no lock, no allocation; errno untouched. */
int sl_unwind(uint64_t *ips, int max);
/* Maps the rule cache; once, at start. */
void sl_unwind_init(void);
/* Forgets cached rules: code may have been unmapped (dlclose). */
void sl_unwind_forget(void);

#pragma GCC visibility pop

#endif
