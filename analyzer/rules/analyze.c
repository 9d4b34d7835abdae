/* analyze.c - the second pass: one image at a time, loaded, ruled on, streamed out, freed. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "rules/rules.h"

static void (*const rules[])(struct sl_ctx *) = {
	sl_rule_connect, sl_rule_io_errors, sl_rule_leak, sl_rule_timeouts, sl_rule_hung, sl_rule_exchange,
	sl_rule_network, sl_rule_events, sl_rule_context, sl_rule_inject,
};

/* The image's connections: live and closed slots, with when each ended. */
static struct sl_conn *collect_conns(struct sl_run *run, struct sl_proc *p, const struct sl_image *img,
				     size_t *n)
{
	struct sl_conn *v = calloc(img->nslots ? img->nslots : 1, sizeof *v);
	uint64_t end = sl_image_end(run, p, img);
	*n = 0;
	for (uint32_t i = 0; i < img->nslots; i++) {
		const struct sl_slot *s = &img->slots[i];
		if (s->state != SL_SLOT_LIVE && s->state != SL_SLOT_CLOSED)
			continue;
		struct sl_conn *c = &v[(*n)++];
		c->proc = p;
		c->img = img;
		c->s = s;
		c->open_at_end = s->state == SL_SLOT_LIVE;
		/* counted once: not again in a forked child (its parent has it), nor in an image an exec
		 * ended (the next image has it, or the exec closed it) */
		run->open_at_end += c->open_at_end && !(s->flags & SL_SF_FROM_PARENT) && img->h.end_reason != SL_END_EXEC;
		c->end_ns = s->state == SL_SLOT_CLOSED ? s->close_ns : end;
	}
	return v;
}

static void analyze_image(struct sl_run *run, const struct sl_thresholds *th, struct sl_proc *p,
			  const struct sl_image_info *info, struct sl_diags *out, sl_image_visit visit, void *arg)
{
	struct sl_image img;
	char err[256];
	if (sl_image_load(&img, info->path, err, sizeof err) < 0) {
		sl_run_bad_log(run, info->path, err); /* it changed since the index, or holds too much */
		return;
	}
	sl_run_note_reaped(run, &img);
	if (img.damaged)
		sl_warn("log '%s': %u damaged records left out (times no clock gives)", info->path, img.damaged);
	run->damaged_records += img.damaged;
	if (info == sl_proc_last(p))
		sl_live_kernel_view(run, p, &img); /* (a running process's current image) */
	struct sl_ctx c = {.run = run, .th = th, .proc = p, .img = &img, .out = out};
	c.conns = collect_conns(run, p, &img, &c.nconns);
	sl_index_connected(&c);
	uint64_t before = out->added;
	for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
		rules[r](&c);
	p->findings += (unsigned)(out->added - before);
	if (visit)
		visit(arg, &c);
	free(c.conns);
	free(c.connected);
	sl_image_release(&img);
}

void sl_analyze(struct sl_run *run, const struct sl_thresholds *th, struct sl_diags *out, sl_image_visit visit,
		void *arg)
{
	for (size_t i = 0; i < run->nprocs; i++)
		for (size_t k = 0; k < run->procs[i].nimages; k++)
			analyze_image(run, th, &run->procs[i], &run->procs[i].images[k], out, visit, arg);
	sl_rule_untraced(run, out);
	sl_diags_sort(out);
}
