/* cmd_top.c - `socklens top RUNDIR|PID`: a refreshing view of a running run's open connections,
 * per process: peer, role, age, idle time, bytes each way, state (peer closed, connecting, blocked
 * in a call) and errors. ncurses on a terminal (keys sort; q quits), plain tables otherwise. */
#define _GNU_SOURCE
#include <getopt.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/curseslib.h"
#include "cmd/cmd.h"

struct row {
	int pid;
	char name[32];
	char role[12], peer[64], state[48];
	uint64_t age_ns, idle_ns, in, out, errs;
};

struct view {
	struct row *rows;
	size_t n, cap;
	size_t procs, blocked;
	char sort;                   /* 'a'ge, 'i'dle, 'b'ytes, 'p'eer */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: socklens top [--every DURATION] [--once] [--sort age|idle|bytes|peer] RUNDIR|PID\n"
		     "\n"
		     "Open connections of the run's running processes, refreshed. On a terminal: a, i, b, p sort\n"
		     "by age, idle time, bytes or peer; q quits. Otherwise (or with --once) plain tables.\n");
}

static struct row *add_row(struct view *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->rows = realloc(v->rows, v->cap * sizeof *v->rows);
	}
	struct row *r = &v->rows[v->n++];
	memset(r, 0, sizeof *r);
	return r;
}

static const struct sl_inflight *blocked_on(const struct sl_image *img, uint64_t conn_id)
{
	for (uint32_t i = 0; i < img->ninfl; i++)
		if (img->infl[i].owner && img->infl[i].call && img->infl[i].conn_id == conn_id)
			return &img->infl[i];
	return NULL;
}

static void state_of(const struct sl_slot *s, const struct sl_inflight *f, uint64_t now, char *out, size_t len)
{
	char dur[32];
	if (f && f->since_cns < now) {
		sl_dur_format(now - f->since_cns, dur, sizeof dur);
		snprintf(out, len, "in %s() %s", sl_call_name((int)f->call), dur);
	} else if (s->flags & SL_SF_EOF) {
		snprintf(out, len, "peer closed");
	} else if ((s->flags & SL_SF_TCPINFO) && s->tcp_state == TCP_CLOSE_WAIT) {
		snprintf(out, len, "peer closed, unread (CLOSE_WAIT)"); /* (the kernel asked now: kview.c) */
	} else if (s->connect_state == SL_CONN_PENDING) {
		snprintf(out, len, "connecting");
	} else if (s->role == SL_ROLE_LISTENER) {
		snprintf(out, len, "listening");
	} else {
		snprintf(out, len, "open");
	}
}

static void load_proc(struct view *v, struct sl_run *run, struct sl_proc *p)
{
	struct sl_image img;
	char err[256];
	if (!p->alive || sl_image_load(&img, sl_proc_last(p)->path, err, sizeof err) < 0)
		return;
	sl_live_kernel_view(run, p, &img);
	v->procs++;
	uint64_t now = run->now_ns;
	for (uint32_t i = 0; i < img.nslots; i++) {
		const struct sl_slot *s = &img.slots[i];
		if (s->state != SL_SLOT_LIVE || s->role == SL_ROLE_PAIR || s->role == SL_ROLE_NONE)
			continue;
		const struct sl_inflight *f = blocked_on(&img, s->conn_id);
		struct row *r = add_row(v);
		r->pid = p->pid;
		char peer[160];
		snprintf(r->name, sizeof r->name, "%s", sl_esc(sl_proc_name(p)));
		snprintf(r->role, sizeof r->role, "%s", sl_role_name(s->role));
		sl_addr_format(s->role == SL_ROLE_LISTENER ? &s->local : &s->peer, peer, sizeof peer);
		snprintf(r->peer, sizeof r->peer, "%s", sl_esc(peer));
		state_of(s, f, now, r->state, sizeof r->state);
		v->blocked += f != NULL;
		r->age_ns = now > s->open_ns ? now - s->open_ns : 0;
		uint64_t last = s->last_in_cns > s->last_out_cns ? s->last_in_cns : s->last_out_cns;
		r->idle_ns = last && now > last ? now - last : r->age_ns;
		if (r->idle_ns > r->age_ns) /* last_* come from the coarse clock, open_ns from the precise one */
			r->idle_ns = r->age_ns;
		r->in = s->bytes_in;
		r->out = s->bytes_out;
		r->errs = s->err_total;
	}
	sl_image_release(&img);
}

static char sort_key = 'a';

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	switch (sort_key) {
	case 'i': return x->idle_ns < y->idle_ns ? 1 : x->idle_ns > y->idle_ns ? -1 : 0;
	case 'b': return x->in + x->out < y->in + y->out ? 1 : x->in + x->out > y->in + y->out ? -1 : 0;
	case 'p': return strcmp(x->peer, y->peer);
	default: return x->age_ns < y->age_ns ? 1 : x->age_ns > y->age_ns ? -1 : 0;
	}
}

/* Reads the run again; returns 0, or -1 with err set. */
static int reload(struct view *v, const char *dir, char *err, size_t errlen)
{
	struct sl_run run;
	v->n = v->procs = v->blocked = 0;
	if (sl_run_index_live(&run, dir, err, errlen) < 0) {
		sl_run_release(&run);
		return -1;
	}
	for (size_t i = 0; i < run.nprocs; i++)
		load_proc(v, &run, &run.procs[i]);
	sl_run_release(&run);
	sort_key = v->sort;
	if (v->n)
		qsort(v->rows, v->n, sizeof *v->rows, cmp_rows);
	return 0;
}

static void human_bytes(uint64_t b, char *out, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* One line of the table; the header when r is NULL. */
static void format_row(const struct row *r, char *out, size_t len)
{
	char age[32], idle[32], in[32], o[32], pid[40];
	if (!r) {
		snprintf(out, len, "%-22s %-9s %-24s %9s %9s %10s %10s %5s  %s", "PROCESS", "ROLE", "PEER", "AGE", "IDLE",
			 "IN", "OUT", "ERRS", "STATE");
		return;
	}
	sl_dur_format(r->age_ns, age, sizeof age);
	sl_dur_format(r->idle_ns, idle, sizeof idle);
	human_bytes(r->in, in, sizeof in);
	human_bytes(r->out, o, sizeof o);
	snprintf(pid, sizeof pid, "%.15s[%d]", r->name, r->pid);
	snprintf(out, len, "%-22s %-9s %-24s %9s %9s %10s %10s %5llu  %s", pid, r->role, r->peer[0] ? r->peer : "-", age,
		 idle, in, o, (unsigned long long)r->errs, r->state);
}

static void plain(FILE *out, const struct view *v, const char *dir)
{
	char line[320];
	fprintf(out, "socklens top: %s, %zu running process%s, %zu connection%s, %zu blocked in a call\n", sl_esc(dir), v->procs,
		v->procs == 1 ? "" : "es", v->n, v->n == 1 ? "" : "s", v->blocked);
	format_row(NULL, line, sizeof line);
	fprintf(out, "%s\n", line);
	for (size_t i = 0; i < v->n; i++) {
		format_row(&v->rows[i], line, sizeof line);
		fprintf(out, "%s\n", line);
	}
	fputc('\n', out);
	fflush(out);
}

static void draw(const struct view *v, const char *dir, const char *err)
{
	char line[320];
	int rows, cols;
	getmaxyx(stdscr, rows, cols);
	erase();
	attron(A_BOLD);
	mvprintw(0, 0, "socklens top  %.*s", cols > 20 ? cols - 16 : 4, sl_esc(dir));
	attroff(A_BOLD);
	mvprintw(1, 0, "%zu running process%s, %zu connection%s, %zu blocked in a call   sort: %s   (a/i/b/p sort, q quits)",
		 v->procs, v->procs == 1 ? "" : "es", v->n, v->n == 1 ? "" : "s", v->blocked,
		 v->sort == 'i' ? "idle" : v->sort == 'b' ? "bytes" : v->sort == 'p' ? "peer" : "age");
	if (err)
		mvprintw(2, 0, "%s", sl_esc(err));
	format_row(NULL, line, sizeof line);
	attron(A_REVERSE);
	mvprintw(3, 0, "%-*.*s", cols, cols, line);
	attroff(A_REVERSE);
	for (size_t i = 0; i < v->n && (int)i + 4 < rows; i++) {
		format_row(&v->rows[i], line, sizeof line);
		mvprintw((int)i + 4, 0, "%.*s", cols, line);
	}
	refresh();
}

static int interactive(struct view *v, const char *dir, uint64_t every)
{
	char err[512];
	initscr();
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	int ms = (int)(every / 1000000ull);
	for (;;) {
		int bad = reload(v, dir, err, sizeof err) < 0;
		draw(v, dir, bad ? err : NULL);
		timeout(ms);
		int ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch == 'a' || ch == 'i' || ch == 'b' || ch == 'p')
			v->sort = (char)ch;
	}
	endwin();
	return 0;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{"every", required_argument, NULL, 'e'}, {"once", no_argument, NULL, '1'},
		{"sort", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	uint64_t every = 1000000000ull;
	int once = 0, c;
	struct view v = {.sort = 'a'};
	while ((c = getopt_long(argc, argv, "+e:1s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (sl_dur_parse(optarg, &every) < 0 || every < 100000000ull) {
				sl_error("bad --every '%s' (a duration of at least 100ms)", optarg);
				return SL_EXIT_USAGE;
			}
			break;
		case '1': once = 1; break;
		case 's':
			if (strcmp(optarg, "age") && strcmp(optarg, "idle") && strcmp(optarg, "bytes") && strcmp(optarg, "peer")) {
				sl_error("bad --sort '%s' (age, idle, bytes or peer)", optarg);
				return SL_EXIT_USAGE;
			}
			v.sort = optarg[0];
			break;
		case 'h': usage(stdout); return 0;
		default: return sl_usage_error("top");
		}
	}
	if (optind != argc - 1) {
		sl_error("top needs exactly one run directory (or the pid of a traced process)");
		return sl_usage_error("top");
	}
	char dir[4096], err[512];
	int pid;
	if (sl_target_dir(argv[optind], dir, sizeof dir, &pid, err, sizeof err) < 0) {
		sl_error("%s", err);
		return 1;
	}
	int rc = 0;
	if (!once && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		rc = interactive(&v, dir, every);
	} else {
		for (;;) {
			if (reload(&v, dir, err, sizeof err) < 0) {
				sl_error("%s", err);
				rc = 1;
				break;
			}
			plain(stdout, &v, dir);
			if (once)
				break;
			struct timespec t = {.tv_sec = (time_t)(every / 1000000000ull), .tv_nsec = (long)(every % 1000000000ull)};
			nanosleep(&t, NULL);
		}
	}
	free(v.rows);
	return rc;
}
