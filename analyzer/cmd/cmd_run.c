/* cmd_run.c - `socklens run`: runs a program and all its descendants under the shim, then reports,
 * and ends the way the program ended. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cmd/cmd.h"
#include "cmd/relay.h"
#include "shim.h"
#include "tracer.h"

struct run_opts {
	struct sl_output out;
	struct sl_outfile report_file, json_file, html_file, trace_file;
	const char *report_path;
	const char *json_path;
	const char *html_path;
	const char *trace_path;
	const char *dir;
	uint64_t budget;             /* 0: the default */
	int keep;
	int no_argv;
	int trace_data;               /* --trace-data: the tracer stops at data calls too */
	struct sl_inject_rule rules[SL_INJECT_MAX]; /* --inject, --inject-file */
	struct sl_inject_site sites[SL_INJECT_MAX];
	uint32_t nrules;
	struct sl_relay *relay;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: socklens run [options] -- CMD [ARGS]...\n"
		"\n"
		"  --json FILE              also write the JSON report to FILE ('-': stdout, and the\n"
		"                           program's own stdout goes to stderr)\n"
		"  --report FILE            write the text report to FILE instead of stderr\n"
		"  --html FILE              also write a self-contained HTML report: findings, a\n"
		"                           timeline of connections, latency histograms\n"
		"  --trace FILE             also write the run as a Chrome/Perfetto trace (JSON)\n"
		"  --fail-on KINDS          exit %d if any of these kinds (comma-separated, or all) is found\n"
		"                           as a warning or an error (info never fails)\n"
		"  --error-exitcode N       exit N instead when --fail-on matches (alone: --fail-on all)\n"
		"  --threshold NAME=VALUE   unanswered=1s, close-wait=1s... (see socklens report --help)\n"
		"  --audit                  also list each call site's socket options and what is missing\n"
		"  --no-lang-frames         stacks without Python's, Java's and JavaScript's own frames\n"
		"                           (the runtime's native code only)\n"
		"  --js-perf-map            Node.js: have V8 write its perf map, which names every\n"
		"                           JavaScript frame (V8 then holds two more fds)\n"
		"  --trace-data             Go and static programs: stop at every data call too (resets\n"
		"                           and broken pipes per call; costs what strace costs)\n"
		"  --inject SPEC            inject a fault into this program's connections, e.g.\n"
		"                           blackhole,to=10.0.0.5:443  refuse,to=:6379,nth=1\n"
		"                           reset,after=1k  delay=200ms,jitter=50ms  nxdomain,host=.corp\n"
		"                           (socklens help inject: every fault and key)\n"
		"  --inject-file FILE       the same, one SPEC per line\n"
		"  --dir DIR                keep the logs in DIR (a new or empty directory of yours)\n"
		"  --keep                   keep the temporary log directory and print its path\n"
		"  --max-log-space SIZE     log space for the whole run (default: half the free space\n"
		"                           of the log directory's filesystem, at most 1G)\n"
		"  --no-argv                do not store command lines (they may hold secrets)\n"
		"  --color WHEN             colour the text report: auto (a terminal, unless NO_COLOR\n"
		"                           is set), always, never\n"
		"\n"
		"Exits with CMD's status; if a signal killed CMD, socklens ends by the same signal.\n",
		SL_EXIT_FAIL_ON);
}

/* The children we reap: the program, and orphans of its tree that were reparented to us. */
static void for_each_child(void (*fn)(pid_t, void *), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	while (d && (de = readdir(d))) {
		int pid = atoi(de->d_name), ppid;
		char state;
		uint64_t ticks;
		if (pid > 0 && sl_proc_stat(pid, &state, &ppid, &ticks) == 0 && ppid == self)
			fn(pid, arg);
	}
	if (d)
		closedir(d);
}

/* A signal being forwarded. */
struct fwd {
	int sig;
	union sigval value;
	int from_process; /* kill(2)/sigqueue, not the terminal */
};

/* A signal a process sent us goes where it would have gone without socklens: to the program. Once
 * the program has ended (it daemonized, or left children behind), to the processes we still wait
 * for, which are then what socklens stands for. Never to an orphan adopted later: a server's
 * children that outlive it (sshd's sessions, rsync's transfers) would not have got it either. One
 * from the terminal (Ctrl-C) already reached the processes in our process group, so only the
 * others (setsid daemons) get it. */
static void forward_one(pid_t pid, void *arg)
{
	struct fwd *f = arg;
	if (f->from_process || getpgid(pid) != getpgrp())
		sigqueue(pid, f->sig, f->value); /* kill, with a sigqueue's value passed on */
}

/* Everything we forward, and SIGCHLD, is blocked and taken with sigwaitinfo: a SIGALRM or a
 * real-time signal sent to socklens reaches the program instead of ending socklens without it. */
static void block_signals(sigset_t *set, sigset_t *old)
{
	sl_forwarded_signals(set);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_BLOCK, set, old);
}

#ifndef SL_SHIMDIR /* set by the Makefile from LIBDIR: where `make install` puts the shim */
#define SL_SHIMDIR "/usr/local/lib/socklens"
#define SL_SHIMDIR_REL "../lib/socklens"
#endif

/* The shim: $SOCKLENS_SHIM, else libsocklens.so beside us (the build tree), else where it was
 * installed: relative to our binary (a tree moved elsewhere), then the absolute path. */
static int find_shim(char *out)
{
	const char *env = getenv("SOCKLENS_SHIM");
	char self[PATH_MAX], cand[PATH_MAX + 64];
	if (env && *env)
		return realpath(env, out) ? 0 : -1;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = 0;
	*strrchr(self, '/') = 0;
	const char *tries[] = {"libsocklens.so", SL_SHIMDIR_REL "/libsocklens.so", SL_SHIMDIR "/libsocklens.so"};
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		snprintf(cand, sizeof cand, "%s%s%s", tries[i][0] == '/' ? "" : self, tries[i][0] == '/' ? "" : "/", tries[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, out))
			return 0;
	}
	return -1;
}

/* A directory the user named is used only if it is ours, not a link, writable by nobody else,
 * and empty (another run's logs would mix with this one's). */
static int trusted_dir(const char *dir, char *out)
{
	struct stat st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		sl_error("cannot create log directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	const char *why = NULL;
	DIR *d = NULL;
	if (lstat(dir, &st) != 0)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "it is not a directory (or it is a symbolic link)";
	else if (st.st_uid != geteuid())
		why = "it belongs to another user";
	else if (st.st_mode & 022)
		why = "other users can write to it";
	else if ((d = opendir(dir))) {
		struct dirent *de;
		while ((de = readdir(d)) && !why)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				why = "it is not empty (use a new directory for each run)";
		closedir(d);
	}
	if (why || !realpath(dir, out)) {
		sl_error("refusing log directory '%s': %s", dir, why ? why : strerror(errno));
		return -1;
	}
	return 0;
}

/* Without --dir the logs go to a fresh directory under $TMPDIR (or /tmp): on most systems a
 * disk, not the RAM that /dev/shm is; the budget keeps any filesystem from filling up. */
static int make_dir(const struct run_opts *o, char *dir, size_t len)
{
	if (o->dir)
		return trusted_dir(o->dir, dir);
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(dir, len, "%s/socklens-%u-XXXXXX", base, (unsigned)getuid());
	if (!mkdtemp(dir)) {
		sl_error("cannot create log directory in '%s': %s", base, strerror(errno));
		return -1;
	}
	return 0;
}

/* Finds cmd the way execvp will, to check it before running it. */
static int resolve(const char *cmd, char *out, size_t len)
{
	if (strchr(cmd, '/'))
		return snprintf(out, len, "%s", cmd) < (int)len ? 0 : -1;
	const char *path = getenv("PATH") ?: "/usr/bin:/bin";
	char *copy = strdup(path), *save = NULL;
	int found = -1;
	for (char *d = strtok_r(copy, ":", &save); d && found; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *d ? d : ".", cmd);
		if (access(out, X_OK) == 0)
			found = 0;
	}
	free(copy);
	return found;
}

static void set_env(const char *shim, const char *dir, int no_argv)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	/* ours goes last: a sanitizer runtime already preloaded must stay first */
	if (old && *old && asprintf(&val, "%s:%s", old, shim) > 0)
		setenv("LD_PRELOAD", val, 1);
	else
		setenv("LD_PRELOAD", shim, 1);
	setenv("SOCKLENS_DIR", dir, 1);
	if (no_argv)
		setenv("SOCKLENS_NO_ARGV", "1", 1);
}

/* Reaps the program and every descendant (we are their subreaper), forwarding signals while
 * waiting; returns the program's status. Signals are blocked, so none is lost between checks. */
static int wait_all(pid_t main_pid, FILE *exits, const sigset_t *set)
{
	int main_status = 0, main_alive = 1, st;
	for (;;) {
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
			if (exits) {
				fprintf(exits, "%d %d %llu\n", p, st, (unsigned long long)sl_mono_now());
				fflush(exits);
			}
			if (p == main_pid) {
				main_status = st;
				main_alive = 0;
			}
		}
		if (p < 0 && errno == ECHILD)
			return main_status; /* nobody left */
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig > 0 && sig != SIGCHLD) {
			struct fwd f = {sig, si.si_value,
					si.si_code == SI_USER || si.si_code == SI_QUEUE || si.si_code == SI_TKILL};
			if (main_alive)
				forward_one(main_pid, &f);
			else
				for_each_child(forward_one, &f);
		}
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The exits file: created by us alone, never through a link someone planted. */
static FILE *open_exits(const char *dir)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/exits", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

/* The errno of an exec that failed in a vfork child, for the parent to say (the memory is shared). */
static volatile int exec_errno;

/* The child's part: the program's signal mask and fd limit back, then the program. In a vfork
 * child (borrowed: our memory until the exec) it makes system calls only and leaves a failure
 * for the parent to say; a forked child says it itself. */
__attribute__((noreturn)) static void exec_program(char **cmd, const sigset_t *old, int borrowed)
{
	sigprocmask(SIG_SETMASK, old, NULL); /* the program starts with the mask we were given */
	sl_limits_restore();
	execvp(cmd[0], cmd);
	int e = errno;
	if (borrowed)
		exec_errno = e;
	else
		sl_error("cannot run '%s': %s", cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

enum { TRACE_ALL = 1, TRACE_EXECS };

/* ptrace_it: 0, TRACE_ALL (a Go or static program) or TRACE_EXECS (launches) */
static int launch(char **cmd, const char *dir, int ptrace_it, const struct run_opts *o, struct sl_run_header *ctl,
		  int *status)
{
	FILE *exits = dir ? open_exits(dir) : NULL;
	sigset_t set, old;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	block_signals(&set, &old);
	if (ctl) { /* --inject: from/until count from now */
		struct sl_inject_table *t = (struct sl_inject_table *)((char *)ctl + SL_INJECT_OFF);
		t->start_ns = sl_mono_now();
		__atomic_store_n(&t->count, o->nrules, __ATOMIC_RELEASE);
	}
	/* The program is started through vfork (the child borrows our memory until its exec), not
	 * fork: copying socklens's page tables took about 2 ms of every run on a VM like ours, where
	 * each page-table update is the hypervisor's. posix_spawn would do the same, but glibc 2.36's
	 * starts the program with glibc's two internal signals ignored. A Go or static program is
	 * forked: the child traces it (trace.c). */
	pid_t pid = ptrace_it ? fork() : vfork();
	if (pid == 0) {
		/* --json -: our standard output is the JSON's alone, the program writes to our stderr */
		if (o->json_path && !strcmp(o->json_path, "-"))
			dup2(STDERR_FILENO, STDOUT_FILENO);
		if (ptrace_it)
			sl_trace_exec(cmd, dir, o->no_argv, o->trace_data, ptrace_it == TRACE_EXECS, exits, &old,
				      sl_limits_restore);
		exec_program(cmd, &old, !ptrace_it);
	}
	if (pid < 0) {
		sl_error("cannot fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (exec_errno) /* as the child would have said it, before its exit is seen */
		sl_error("cannot run '%s': %s", cmd[0], strerror(exec_errno));
	/* our own writes past RLIMIT_FSIZE fail with EFBIG instead of killing us */
	signal(SIGXFSZ, SIG_IGN);
	if (o->relay && sl_relay_start(o->relay) < 0)
		sl_warn("--inject: cannot start the relay: %s; relayed connections will hang", strerror(errno));
	*status = wait_all(pid, exits, &set);
	/* the signals stay blocked until we exit: a late Ctrl-C must not cut the report short */
	if (exits)
		fclose(exits);
	return 0;
}

static int parse(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'}, {"report", required_argument, NULL, 'r'},
		{"fail-on", required_argument, NULL, 'f'}, {"threshold", required_argument, NULL, 't'},
		{"dir", required_argument, NULL, 'd'}, {"keep", no_argument, NULL, 'k'},
		{"max-log-space", required_argument, NULL, 'm'}, {"no-argv", no_argument, NULL, 'a'},
		{"color", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{"audit", no_argument, NULL, 'A'}, {"trace-data", no_argument, NULL, 'D'},
		{"no-lang-frames", no_argument, NULL, 'L'}, {"js-perf-map", no_argument, NULL, 'J'},
		{"error-exitcode", required_argument, NULL, 'E'}, {"html", required_argument, NULL, 'H'},
		{"trace", required_argument, NULL, 'T'}, {"inject", required_argument, NULL, 'I'},
		{"inject-file", required_argument, NULL, 'F'}, {0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "+j:r:f:t:d:km:ac:h", opts, NULL)) != -1) {
		switch (c) {
		case 'A': o->out.audit = 1; break;
		case 'D': o->trace_data = 1; break;
		case 'L': setenv("SOCKLENS_NO_LANG_FRAMES", "1", 1); break;
		case 'J': setenv("SOCKLENS_V8_PERF_MAP", "1", 1); break;
		case 'c':
			if (sl_color_parse(optarg, &o->out.color) < 0)
				return -1;
			break;
		case 'j': o->json_path = optarg; break;
		case 'r': o->report_path = optarg; break;
		case 'H': o->html_path = optarg; break;
		case 'T': o->trace_path = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'k': o->keep = 1; break;
		case 'a': o->no_argv = 1; break;
		case 'm':
			if (sl_size_parse(optarg, &o->budget) < 0 || o->budget < (1u << 20)) {
				sl_error("bad --max-log-space '%s' (a size of at least 1M, e.g. 512M or 2G)", optarg);
				return -1;
			}
			break;
		case 'f':
			if (sl_fail_on_parse(optarg, &o->out.fail_mask) < 0)
				return -1;
			break;
		case 'E':
			if (sl_error_exitcode_parse(optarg, &o->out.fail_status) < 0)
				return -1;
			break;
		case 't':
			if (sl_threshold_set(&o->out.th, optarg) < 0) {
				sl_error("bad threshold '%s' (names: %s)", optarg, sl_thresholds_names());
				return -1;
			}
			break;
		case 'I':
		case 'F': {
			char err[512];
			int rc;
			if (c == 'F')
				rc = sl_inject_file(optarg, o->rules, o->sites, &o->nrules, err, sizeof err);
			else if (o->nrules >= SL_INJECT_MAX) {
				snprintf(err, sizeof err, "more than %u --inject faults", SL_INJECT_MAX);
				rc = -1;
			} else if ((rc = sl_inject_parse(optarg, &o->rules[o->nrules], &o->sites[o->nrules], err, sizeof err)) == 0)
				o->nrules++;
			if (rc < 0) {
				sl_error("%s", err);
				return -1;
			}
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind >= argc) {
		sl_error("run needs a command: socklens run -- CMD [ARGS]...");
		return -1;
	}
	return optind;
}

/* The report destinations, opened before the program runs: a path we cannot write is an error
 * now, not after the program did its work. */
struct output {
	const char *what, *path;
	struct sl_outfile *file;
	FILE **dest;
};

static size_t outputs(struct run_opts *o, struct output *v)
{
	v[0] = (struct output){"report", o->report_path, &o->report_file, &o->out.text};
	v[1] = (struct output){"JSON report", o->json_path, &o->json_file, &o->out.json};
	v[2] = (struct output){"HTML report", o->html_path, &o->html_file, &o->out.html};
	v[3] = (struct output){"trace", o->trace_path, &o->trace_file, &o->out.trace};
	return 4;
}

static void abort_outputs(struct run_opts *o)
{
	struct output v[4];
	for (size_t i = 0, n = outputs(o, v); i < n; i++)
		if (v[i].path)
			sl_out_abort(v[i].file);
}

static int open_outputs(struct run_opts *o)
{
	char err[256];
	struct output v[4];
	o->out.text = stderr;
	for (size_t i = 0, n = outputs(o, v); i < n; i++) {
		if (!v[i].path)
			continue;
		if (sl_out_open(v[i].file, v[i].path, err, sizeof err) < 0) {
			sl_error("cannot write %s '%s': %s", v[i].what, v[i].path, err);
			for (size_t k = 0; k < i; k++)
				if (v[k].path)
					sl_out_abort(v[k].file);
			return -1;
		}
		*v[i].dest = v[i].file->f;
	}
	return 0;
}

/* The reports take their names now that they are complete. */
static int close_outputs(struct run_opts *o)
{
	int r = 0;
	struct output v[4];
	for (size_t i = 0, n = outputs(o, v); i < n; i++) {
		if (v[i].path && sl_out_close(v[i].file) < 0) {
			sl_error("cannot write %s '%s': %s", v[i].what, v[i].path, strerror(errno));
			r = -1;
		}
	}
	return r;
}

/* Ends this process the way the program ended: by its signal (no core of ours), or its status. */
static int end_like(int status)
{
	if (!WIFSIGNALED(status))
		return WEXITSTATUS(status);
	int sig = WTERMSIG(status);
	struct rlimit none = {0, 0};
	sigset_t all;
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	raise(sig);
	return 128 + sig; /* a signal that does not end a process by default */
}

/* --inject: the rules into the control file, and the ports they need opened; -1 when they cannot
 * be (the run does not start: a fault asked for and not injected would be a false pass). */
static int prepare_inject(struct run_opts *o, struct sl_run_header *r)
{
	struct sl_inject_table *t = (struct sl_inject_table *)((char *)r + SL_INJECT_OFF);
	char err[256];
	memcpy(t->rule, o->rules, o->nrules * sizeof o->rules[0]);
	memcpy(t->site, o->sites, o->nrules * sizeof o->sites[0]);
	/* (the count that enables them is set by launch, with start_ns) */
	if (!(o->relay = sl_relay_open(t, o->nrules, r, r->file_size, err, sizeof err))) {
		sl_error("--inject: %s", err);
		return -1;
	}
	return 0;
}

/* Creates the run's control file; its budget bounds every log of the run. With --inject it stays
 * mapped (*ctl): the relay reads its map, the report its counters. */
static int prepare_run(struct run_opts *o, const char *dir, struct sl_run_header **ctl)
{
	int err;
	uint64_t budget = o->budget ? o->budget : sl_budget_default(dir);
	int relay = 0;
	for (uint32_t i = 0; i < o->nrules; i++)
		relay |= o->rules[i].fault == SL_FAULT_RELAY;
	struct sl_run_header *r = sl_run_create_with(dir, budget, o->no_argv ? SL_RUN_NO_ARGV : 0, relay, &err);
	*ctl = NULL;
	if (!r) {
		sl_warn("cannot create the run's control file in '%s': %s; the program runs untraced", dir,
			strerror(-err));
		return -1;
	}
	if (o->nrules && prepare_inject(o, r) < 0) {
		munmap(r, r->file_size);
		return -2;
	}
	if (o->nrules)
		*ctl = r;
	else
		munmap(r, r->file_size);
	return 0;
}

/* A program that may exec a Go or static one for the rest of the run (which the preload cannot
 * record): a script (an entrypoint ending in `exec ./server`), a shell, a launcher that execs its
 * arguments, make. Such a run has a tracer that traces nothing until a process asks it to follow a
 * Go or static program it is about to exec (trace.c: execs_only). Other programs run without it:
 * the tracer's own process, forked from socklens, costs a run's start about 6 ms here. */
static int launches(const char *exe)
{
	static const char *const names[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox",
					    "env", "timeout", "nice", "nohup", "setsid", "taskset", "stdbuf",
					    "ionice", "chrt", "tini", "dumb-init", "catatonit", "xargs", "flock", "make"};
	char real[PATH_MAX], head[2];
	const char *paths[2] = {exe, realpath(exe, real)};
	for (int k = 0; k < 2; k++) {
		const char *base = paths[k] ? strrchr(paths[k], '/') : NULL;
		base = base ? base + 1 : paths[k];
		for (size_t i = 0; base && i < sizeof names / sizeof names[0]; i++)
			if (!strcmp(base, names[i]))
				return 1;
	}
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	int script = fd >= 0 && read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	if (fd >= 0)
		close(fd);
	return script;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	char shim[PATH_MAX], dir[PATH_MAX], exe[PATH_MAX];
	sl_thresholds_default(&o.out.th);
	int first = parse(argc, argv, &o);
	if (first < 0)
		return sl_usage_error("run");
	if (find_shim(shim) < 0) {
		sl_error("cannot find libsocklens.so beside socklens; set SOCKLENS_SHIM to its path");
		return SL_EXIT_INTERNAL;
	}
	/* a program that cannot be started ends as the shell would end it: 127 or 126, one line */
	if (resolve(argv[first], exe, sizeof exe) < 0 || access(exe, X_OK) != 0) {
		int e = errno;
		sl_error("cannot run '%s': %s", argv[first],
			 e == ENOENT && !strchr(argv[first], '/') ? "command not found" : strerror(e));
		return e == ENOENT ? 127 : 126;
	}
	char serr[600];
	if (o.nrules && sl_inject_sites(exe, o.sites, o.nrules, serr, sizeof serr) < 0) {
		sl_error("%s", serr);
		return SL_EXIT_USAGE;
	}
	if (open_outputs(&o) < 0)
		return SL_EXIT_INTERNAL;
	/* a directory the user named must be right; a temporary one that cannot be made (a full or
	 * read-only /tmp) only costs the trace: the program runs anyway */
	int have_dir = make_dir(&o, dir, sizeof dir) == 0;
	if (!have_dir && o.dir) {
		abort_outputs(&o);
		return SL_EXIT_INTERNAL;
	}
	const char *why = sl_untraceable_reason(exe);
	/* what the preload cannot reach because it never calls libc, ptrace follows instead */
	int ptrace_it = getenv("SOCKLENS_NO_PTRACE") ? 0
			: sl_untraceable_kind(exe) == SL_UNTRACED_STATIC ? TRACE_ALL
			: launches(exe) ? TRACE_EXECS : 0;
	if (why && !ptrace_it) {
		sl_warn("'%s' cannot be traced: %s; the report will not see its sockets", argv[first], why);
		o.out.main_untraced = why;
	}
	struct sl_run_header *ctl = NULL;
	int prep = have_dir ? prepare_run(&o, dir, &ctl) : -1;
	if (prep == -2 || (o.nrules && prep < 0)) {
		if (prep != -2)
			sl_error("--inject needs the run's control file: the faults cannot be injected");
		abort_outputs(&o);
		return SL_EXIT_INTERNAL;
	}
	int traced = have_dir && prep == 0;
	if (!have_dir)
		snprintf(dir, sizeof dir, "%s", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (traced)
		set_env(shim, dir, o.no_argv);
	int status;
	if (launch(argv + first, traced ? dir : NULL, traced ? ptrace_it : 0, &o, ctl, &status) < 0) {
		abort_outputs(&o);
		return SL_EXIT_INTERNAL;
	}
	sl_relay_close(o.relay); /* the program and its children are gone: nothing more to relay */
	if (ctl)
		munmap(ctl, ctl->file_size);
	int r = 0;
	if (traced) {
		sl_jitmap_keep(dir); /* V8's perf maps, before another process can be given the pid */
		r = sl_report_dir(dir, &o.out);
	}
	else if (o.out.text) /* said on stderr before it ran; the report says it too */
		fprintf(o.out.text, "\nsocklens: the program ran untraced: its logs could not be created in %s\n"
			"socklens: result: not checked (the program ran untraced)\n", dir);
	if (!traced) {
		r = SL_REPORT_UNCHECKED;
		/* nothing to draw: no empty page or trace is left under the names asked for */
		if (o.html_path)
			sl_out_abort(&o.html_file);
		if (o.trace_path)
			sl_out_abort(&o.trace_file);
		o.html_path = o.trace_path = NULL;
	}
	if (close_outputs(&o) < 0 && r >= 0)
		r = -1;
	if (have_dir && (o.dir || o.keep))
		fprintf(stderr, "socklens: logs kept in %s (socklens report %s)\n", dir, dir);
	else if (have_dir)
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (r < 0)
		return SL_EXIT_INTERNAL;
	if (sl_report_status(r, &o.out))
		return sl_report_status(r, &o.out);
	return end_like(status);
}
