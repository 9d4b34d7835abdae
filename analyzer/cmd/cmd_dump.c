/* cmd_dump.c - `socklens dump`: every raw record of a run, one per line, for debugging socklens. */
#define _GNU_SOURCE
#include <string.h>
#include "cmd/cmd.h"

static void dump_slot(const struct sl_slot *s, uint32_t idx)
{
	char local[160], peer[160];
	sl_addr_format(&s->local, local, sizeof local);
	sl_addr_format(&s->peer, peer, sizeof peer);
	printf("slot %u state=%u gen=%u conn=%llu fd=%d %s role=%s local=%s peer=%s flags=0x%x opts=0x%x "
	       "out=%llu/%llu in=%llu/%llu connect=%u/%d errs=%u stacks=%u,%u,%u,%u\n",
	       idx, s->state, s->gen, (unsigned long long)s->conn_id, s->fd, sl_type_name(s->family, s->type),
	       sl_role_name(s->role), sl_esc(local), sl_esc(peer), s->flags, s->opts_set, (unsigned long long)s->bytes_out,
	       (unsigned long long)s->calls_out, (unsigned long long)s->bytes_in, (unsigned long long)s->calls_in,
	       s->connect_state, s->connect_errno, s->err_total, s->open_stack, s->connect_stack, s->error_stack,
	       s->close_stack);
}

static void dump_event(const struct sl_event *e)
{
	char addr[160], num[16];
	if (e->type == SL_EV_DNS) /* the name asked, not an address */
		snprintf(addr, sizeof addr, "%.*s", (int)strnlen((const char *)e->addr.data, sizeof e->addr.data),
			 (const char *)e->addr.data);
	else
		sl_addr_format(&e->addr, addr, sizeof addr);
	const char *en = e->type == SL_EV_DNS ? NULL : sl_errno_name(e->err);
	snprintf(num, sizeof num, "%d", e->err);
	printf("event %llu type=%u call=%s fd=%d err=%s ts=%llu dur=%llu conn=%llu stack=%u tid=%u a=%lld b=%lld "
	       "addr=%s\n",
	       (unsigned long long)e->seq, e->type, sl_call_name(e->call), e->fd, en ? en : num,
	       (unsigned long long)e->ts_ns, (unsigned long long)e->dur_ns, (unsigned long long)e->conn_id, e->stack,
	       e->tid, (long long)e->a, (long long)e->b, sl_esc(addr));
}

static void dump_image(struct sl_image *img)
{
	const struct sl_log_header *h = &img->h;
	printf("log %s pid=%d ppid=%d seq=%u exe=%s comm=%s flags=0x%x end=%u status=%d events=%llu dropped=%llu "
	       "overwritten=%llu slots=%u/%u recycled=%llu dropped=%llu stacks=%u dropped=%llu modules=%u forks=%u\n",
	       sl_esc(img->path), h->pid, h->ppid, h->seq, sl_esc(h->exe), sl_esc(h->comm), h->flags, h->end_reason, h->exit_status,
	       (unsigned long long)h->event_next, (unsigned long long)h->event_dropped,
	       (unsigned long long)h->event_overwritten, img->nslots, h->tab[SL_T_SLOTS].cap,
	       (unsigned long long)h->slot_recycled, (unsigned long long)h->slot_dropped, img->nstacks,
	       (unsigned long long)h->stack_dropped, img->nmods, h->nforks);
	for (uint32_t i = 0; i < img->nslots; i++)
		if (img->slots[i].state != SL_SLOT_FREE)
			dump_slot(&img->slots[i], i);
	for (uint32_t i = 0; i < img->nevents; i++)
		dump_event(&img->events[i]);
	for (uint32_t i = 0; i < img->nstacks; i++) {
		const struct sl_stack *s = sl_image_stack(img, sl_image_stack_id(img, i));
		if (!s)
			continue;
		printf("stack %u hits=%llu fails=%llu slow=%llu max=%llu closed=%llu short=%llu same_peer=%llu lat=%u:", sl_image_stack_id(img, i),
		       (unsigned long long)s->hits, (unsigned long long)s->fails, (unsigned long long)s->slow,
		       (unsigned long long)s->max_ns, (unsigned long long)s->closed, (unsigned long long)s->short_closed,
		       (unsigned long long)s->same_peer_short, s->lat_call);
		for (uint32_t b = 0; b < SL_LAT_BUCKETS && s->lat_call; b++)
			printf("%s%llu", b ? "," : "", (unsigned long long)s->lat[b]);
		printf(" ips:");
		for (uint32_t k = 0; k < s->nframes; k++)
			printf(" 0x%llx", (unsigned long long)s->ip[k]);
		printf("\n");
	}
	for (uint32_t i = 0; i < img->nmods; i++)
		printf("module %u base=0x%llx range=0x%llx-0x%llx %s\n", i, (unsigned long long)img->mods[i].base,
		       (unsigned long long)img->mods[i].lo, (unsigned long long)img->mods[i].hi, sl_esc(img->mods[i].path));
	for (uint32_t i = 0; i < img->ninfl; i++)
		if (img->infl[i].owner)
			printf("inflight tid=%u call=%s fd=%d since_cns=%llu\n", img->infl[i].owner,
			       sl_call_name((int)img->infl[i].call), img->infl[i].fd,
			       (unsigned long long)img->infl[i].since_cns);
}

static void dump_run(const struct sl_run *run)
{
	const struct sl_run_header *c = &run->ctl;
	if (!run->have_ctl)
		return;
	printf("run budget=%llu used=%llu logged=%llu refused=%llu exec=%llu/%u", (unsigned long long)c->budget,
	       (unsigned long long)c->used, (unsigned long long)c->procs_logged, (unsigned long long)c->grow_refused,
	       (unsigned long long)c->exec_next, c->exec_cap);
	for (int i = 1; i < SL_UNTRACED__COUNT; i++)
		printf(" untraced%d=%llu", i, (unsigned long long)c->untraced[i]);
	printf("\n");
	for (size_t i = 0; i < run->nexecs; i++)
		printf("exec pid=%d ppid=%d why=%u ts=%llu %s\n", run->execs[i].pid, run->execs[i].ppid, run->execs[i].why,
		       (unsigned long long)run->execs[i].ts_ns, sl_esc(run->execs[i].path));
}

int cmd_dump(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr, "usage: socklens dump RUNDIR\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : SL_EXIT_USAGE;
	}
	struct sl_run run;
	char err[512];
	if (sl_run_index(&run, argv[1], err, sizeof err) < 0) {
		sl_error("%s", err);
		sl_run_release(&run);
		return 1;
	}
	dump_run(&run);
	for (size_t i = 0; i < run.nprocs; i++) {
		for (size_t k = 0; k < run.procs[i].nimages; k++) {
			struct sl_image img;
			if (sl_image_load(&img, run.procs[i].images[k].path, err, sizeof err) < 0) {
				sl_warn("skipping log '%s': %s", run.procs[i].images[k].path, err);
				continue;
			}
			dump_image(&img);
			sl_image_release(&img);
		}
	}
	sl_run_release(&run);
	return 0;
}
