/* relay.h - `socklens run --inject`: the specs (inject_spec.c) and the loopback ports and relay that
 * produce connect-time faults outside the program (relay.c). */
#ifndef SL_RELAY_H
#define SL_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include "base/base.h"
#include "socklens/log.h"

/* One spec into a rule and its site; -1 with err saying which word and what was expected. */
int sl_inject_parse(const char *spec, struct sl_inject_rule *r, struct sl_inject_site *site, char *err,
		    size_t errlen);
/* A file of specs, one per line ('#' comments), appended to rules[*n] and sites[*n]. */
int sl_inject_file(const char *path, struct sl_inject_rule *rules, struct sl_inject_site *sites, uint32_t *n,
		   char *err, size_t errlen);
/* The native code of each site=, resolved in the program file exe; -1 (err) when a FILE:LINE of a
 * compiled language is not in its line table. */
int sl_inject_sites(const char *exe, struct sl_inject_site *sites, uint32_t n, char *err, size_t errlen);

struct sl_relay;
/* Opens the ports t's n rules need and writes them into t; NULL with err on failure. run is the
 * control file's mapping (run_size bytes), where the relay map is. */
struct sl_relay *sl_relay_open(struct sl_inject_table *t, uint32_t n, struct sl_run_header *run, size_t run_size,
			       char *err, size_t errlen);
/* Starts the relay's thread (after the program was forked: no thread of ours is copied into it). */
int sl_relay_start(struct sl_relay *r);
/* Stops it and closes every port and connection; r may be NULL. */
void sl_relay_close(struct sl_relay *r);

#endif
