/* tally.c - exact counts for findings made from events. A process that runs for days fails more
 * often than its event table holds (the first problems and a ring of the most recent are kept), but
 * each call site counts its failures by errno for as long as it runs. A rule notes every finding it
 * makes from an event; afterwards the difference between the site's count and the events seen is
 * added to the same group (the call site's shown instance stays a real one), and a site whose
 * events were all lost gets a finding of its own, from the counter alone. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

struct entry {
	uint32_t stack;
	int err;
	uint64_t seen;
	struct sl_diag like;         /* the last finding made from this site and errno, frames not set */
};

struct sl_tally {
	struct entry *v;
	size_t n, cap;
};

struct sl_tally *sl_tally_new(void)
{
	return calloc(1, sizeof(struct sl_tally));
}

void sl_tally_note(struct sl_tally *t, uint32_t stack, int err, const struct sl_diag *d)
{
	if (!stack)
		return; /* no stack, no counter */
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].stack == stack && t->v[i].err == err) {
			if (d && t->v[i].seen != UINT64_MAX) {
				t->v[i].seen++;
				t->v[i].like = *d;
			}
			return;
		}
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = realloc(t->v, t->cap * sizeof *t->v);
	}
	/* (d NULL: the site's failures with err are no finding, and its counter adds none) */
	t->v[t->n++] = d ? (struct entry){.stack = stack, .err = err, .seen = 1, .like = *d}
			 : (struct entry){.stack = stack, .err = err, .seen = UINT64_MAX};
}

uint64_t sl_site_errors(const struct sl_image *img, uint32_t stack, int err)
{
	const struct sl_stack *s = sl_image_stack(img, stack);
	for (uint32_t i = 0; s && i < SL_ERRS; i++)
		if (s->err_no[i] == err)
			return s->err_count[i];
	return 0;
}

int sl_tally_seen(const struct sl_tally *t, uint32_t stack, int err)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].stack == stack && t->v[i].err == err)
			return 1;
	return 0;
}

void sl_tally_flush(struct sl_tally *t, const struct sl_ctx *x)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct entry *e = &t->v[i];
		uint64_t total = sl_site_errors(x->img, e->stack, e->err);
		if (total <= e->seen)
			continue;
		struct sl_diag d = e->like;
		d.count = (unsigned)(total - e->seen);
		const struct sl_stack *st = sl_image_stack(x->img, e->stack);
		if (st && st->last_fail_ns > d.when_ns)
			d.when_ns = st->last_fail_ns; /* the group's last failure, not the last one kept */
		d.peer[0] = 0;            /* instances without details: counted, never shown */
		d.worst_ns = 0;
		d.nevidence = 0;
		d.stack = d.site = NULL;
		d.nstack = d.nsite = 0;
		sl_diags_add(x->out, x->img, &d, e->stack, 0);
	}
	free(t->v);
	free(t);
}
