/* cmd_run.c - `socklens run`: runs a program and all its descendants under the shim, then reports. */
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "analyzer.h"

struct run_opts {
	struct sl_output out;
	const char *report_path;
	const char *dir;
	int keep;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: socklens run [options] -- CMD [ARGS]...\n"
		"\n"
		"  --json FILE              also write the JSON report to FILE ('-' for stdout)\n"
		"  --report FILE            write the text report to FILE instead of stderr\n"
		"  --fail-on KINDS          exit %d if any of these kinds (comma-separated, or all) is found\n"
		"  --threshold NAME=VALUE   blocked=1s, keepalive=60s (see socklens report --help)\n"
		"  --dir DIR                keep the logs in DIR (created if missing) for socklens report\n"
		"  --keep                   keep the temporary log directory and print its path\n"
		"\n"
		"Exits with CMD's status (128+N if a signal N killed it).\n",
		SL_EXIT_FAIL_ON);
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

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

#define FWD_MAX 256

/* The last signal forwarded, and who got it: orphans adopted after the signal (their parent was
 * still exiting when it came) get it when they show up. */
struct fwd {
	int sig;
	int from_process; /* kill(2)/sigqueue, not the terminal */
	pid_t sent[FWD_MAX];
	size_t nsent;
};

/* A signal a process sent us goes to every child. One from the terminal (Ctrl-C) already
 * reached the children in our process group, so only the others (setsid daemons) get it. */
static void forward_one(pid_t pid, void *arg)
{
	struct fwd *f = arg;
	for (size_t i = 0; i < f->nsent; i++)
		if (f->sent[i] == pid)
			return;
	if (f->from_process || getpgid(pid) != getpgrp())
		kill(pid, f->sig);
	if (f->nsent < FWD_MAX)
		f->sent[f->nsent++] = pid;
}

static void block_signals(sigset_t *set, sigset_t *old)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(set, forwarded[i]);
	sigprocmask(SIG_BLOCK, set, old);
}

/* The shim: $SOCKLENS_SHIM, else libsocklens.so beside us, else ../lib/socklens/ (installed). */
static int find_shim(char *out, size_t len)
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
	const char *tries[] = {"libsocklens.so", "../lib/socklens/libsocklens.so"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(cand, sizeof cand, "%s/%s", self, tries[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, out))
			return 0;
	}
	(void)len;
	return -1;
}

static int make_dir(struct run_opts *o, char *dir, size_t len)
{
	if (o->dir) {
		if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
			sl_error("cannot create log directory '%s': %s", o->dir, strerror(errno));
			return -1;
		}
		if (!realpath(o->dir, dir))
			return -1;
		return 0;
	}
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ?: "/tmp";
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

static void set_env(const char *shim, const char *dir)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	/* ours goes last: a sanitizer runtime already preloaded must stay first */
	if (old && *old && asprintf(&val, "%s:%s", old, shim) > 0)
		setenv("LD_PRELOAD", val, 1);
	else
		setenv("LD_PRELOAD", shim, 1);
	setenv("SOCKLENS_DIR", dir, 1);
}

/* Reaps the program and every descendant (we are their subreaper), forwarding signals while
 * waiting; returns the program's status. Signals are blocked, so none is lost between checks. */
static int wait_all(pid_t main_pid, FILE *exits, const sigset_t *set)
{
	int main_status = 0, st, reaped;
	struct fwd f = {0};
	for (;;) {
		pid_t p;
		reaped = 0;
		while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
			reaped = 1;
			if (exits) {
				fprintf(exits, "%d %d %llu\n", p, st, (unsigned long long)sl_mono_now());
				fflush(exits);
			}
			if (p == main_pid)
				main_status = st;
		}
		if (p < 0 && errno == ECHILD)
			return main_status; /* nobody left */
		if (reaped && f.sig)
			for_each_child(forward_one, &f); /* orphans adopted since the signal */
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig > 0 && sig != SIGCHLD) {
			f.sig = sig;
			f.from_process = si.si_code == SI_USER || si.si_code == SI_QUEUE;
			f.nsent = 0;
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

static int launch(char **cmd, const char *dir, int *status)
{
	char exits_path[PATH_MAX + 16];
	snprintf(exits_path, sizeof exits_path, "%s/exits", dir);
	FILE *exits = fopen(exits_path, "we");
	sigset_t set, old;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	block_signals(&set, &old);
	pid_t pid = fork();
	if (pid < 0) {
		sl_error("cannot fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL); /* the program starts with the mask we were given */
		execvp(cmd[0], cmd);
		fprintf(stderr, "socklens: error: cannot run '%s': %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
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
		{"help", no_argument, NULL, 'h'}, {0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "+j:r:f:t:d:kh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->out.json_path = optarg; break;
		case 'r': o->report_path = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'k': o->keep = 1; break;
		case 'f':
			if (sl_fail_on_parse(optarg, &o->out.fail_mask) < 0)
				return -1;
			break;
		case 't':
			if (sl_threshold_set(&o->out.th, optarg) < 0) {
				sl_error("bad threshold '%s' (expected blocked=DURATION or keepalive=DURATION)", optarg);
				return -1;
			}
			break;
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

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	char shim[PATH_MAX], dir[PATH_MAX], exe[PATH_MAX];
	sl_thresholds_default(&o.out.th);
	int first = parse(argc, argv, &o);
	if (first < 0) {
		usage(stderr);
		return SL_EXIT_USAGE;
	}
	if (find_shim(shim, sizeof shim) < 0) {
		sl_error("cannot find libsocklens.so beside socklens; set SOCKLENS_SHIM to its path");
		return SL_EXIT_INTERNAL;
	}
	const char *why = resolve(argv[first], exe, sizeof exe) == 0 ? sl_untraceable_reason(exe) : NULL;
	if (why)
		sl_warn("'%s' cannot be traced: %s; the report will not see its sockets", argv[first], why);
	if (make_dir(&o, dir, sizeof dir) < 0)
		return SL_EXIT_INTERNAL;
	set_env(shim, dir);
	int status;
	if (launch(argv + first, dir, &status) < 0)
		return SL_EXIT_INTERNAL;
	o.out.text = stderr;
	if (o.report_path && !(o.out.text = fopen(o.report_path, "we"))) {
		sl_error("cannot write report '%s': %s", o.report_path, strerror(errno));
		o.out.text = stderr;
	}
	int r = sl_report_dir(dir, &o.out);
	if (o.out.text != stderr)
		fclose(o.out.text);
	if (o.dir || o.keep)
		fprintf(stderr, "socklens: logs kept in %s (socklens report %s)\n", dir, dir);
	else
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (r > 0)
		return SL_EXIT_FAIL_ON;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
