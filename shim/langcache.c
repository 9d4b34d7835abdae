/* langcache.c - the language frames this process has named already (pyframes.c, langrt.c), so a
 * frame seen again costs a lookup, not a new record. */
#define _GNU_SOURCE
#include <string.h>
#include "shim.h"

/* Language frames already named, by their runtime's key (Python: code object and offset; Java:
 * method and bytecode index; JavaScript: the frame's text): key -> record + 1. Open addressing,
 * 8 probes, lock-free; a full neighbourhood only means naming a frame again. */
#define LANG_CACHE 4096u
static uint64_t lang_key[LANG_CACHE];
static uint32_t lang_id[LANG_CACHE];
static int lang_used; /* a frame was remembered: there is something to forget */

int64_t sl_lang_cached(uint64_t key)
{
	uint32_t h = (uint32_t)(key >> 20) & (LANG_CACHE - 1);
	for (uint32_t k = 0; k < 8; k++) {
		uint32_t i = (h + k) & (LANG_CACHE - 1);
		if (__atomic_load_n(&lang_key[i], __ATOMIC_ACQUIRE) == key && lang_id[i])
			return lang_id[i] - 1;
	}
	return -1;
}

int64_t sl_lang_remember(uint64_t key, int64_t id)
{
	uint32_t h = (uint32_t)(key >> 20) & (LANG_CACHE - 1);
	for (uint32_t k = 0; id >= 0 && k < 8; k++) {
		uint32_t i = (h + k) & (LANG_CACHE - 1);
		uint64_t empty = 0;
		if (__atomic_compare_exchange_n(&lang_key[i], &empty, key, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_store_n(&lang_used, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&lang_id[i], (uint32_t)id + 1, __ATOMIC_RELEASE);
			break;
		}
	}
	return id;
}

/* A fork child writes a new log: the parent's records are not in it. A cache never used is left
 * alone: zeroing it would fault in 48 KiB of pages in every fork child. */
SL_START void sl_lang_forget(void)
{
	if (!__atomic_load_n(&lang_used, __ATOMIC_RELAXED))
		return;
	lang_used = 0;
	memset(lang_key, 0, sizeof lang_key);
	memset(lang_id, 0, sizeof lang_id);
}
