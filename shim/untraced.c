/* untraced.c - records every exec a traced process attempts in the run's exec table, so the
 * analyzer can name the children that left no log (static, Go or setuid programs, stripped
 * environments). Only memory and path lookups, but for the program about to be exec'd when the
 * run's tracer follows such programs (followable). */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/futex.h>
#include "rawsys.h"
#include "record.h"
#include "strbuf.h"

/* s starts with prefix: the rest of s, else NULL. */
SL_START static const char *after(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (*s != *prefix)
			return NULL;
	return s;
}

/* Plain loops, not strncmp and strstr: run between a fork and its exec, where each page of libc
 * touched is a fault of its own (process.c). */
SL_START static int env_has(char *const envp[], const char *prefix, const char *needle)
{
	for (size_t i = 0; envp && envp[i]; i++) {
		const char *v = after(envp[i], prefix);
		if (v && !needle)
			return 1;
		for (; v && *v; v++)
			if (after(v, needle))
				return 1;
	}
	return 0;
}

/* Whether path is a program the preload cannot reach and the run's tracer can follow: a 64-bit ELF
 * file with no interpreter (static), or with Go's build ID note (Go with cgo), read from its first
 * 4 KiB (the headers are there) through an fd opened and closed here, inside the exec call; not a
 * setuid or setgid file (a tracer would change what it may do). */
SL_START static int followable(const char *path)
{
	int fd = (int)sl_sys3(SYS_open, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	unsigned char b[4096] __attribute__((aligned(8)));
	struct stat st;
	/* (a file without an execute bit fails its exec: the tracer would follow a process going on) */
	long n = sl_sys3(SYS_fstat, fd, &st, 0) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & (S_ISUID | S_ISGID)) &&
			 (st.st_mode & 0111) ? sl_sys6(SYS_pread64, fd, (long)b, sizeof b, 0, 0, 0) : -1;
	sl_sys3(SYS_close, fd, 0, 0);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)b;
	if (n < (long)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_machine != EM_X86_64 || eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > (uint64_t)n ||
	    eh->e_phnum > ((uint64_t)n - eh->e_phoff) / sizeof(ElfW(Phdr)))
		return 0;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(b + eh->e_phoff);
	int interp = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		interp |= ph[i].p_type == PT_INTERP;
	uint32_t len;
	return !interp || sl__elf_note(ph, eh->e_phnum, (uintptr_t)b, 4 /* NT_GO_BUILDID */, "Go", &len, (size_t)n);
}

/* A free request of the run's, taken for thread tid (NULL: all are taken: nothing is asked). */
SL_START static struct sl_follow_req *claim(struct sl_run_header *r, uint32_t tid)
{
	for (int i = 0; r && i < SL_FOLLOW_REQS; i++) {
		uint32_t free_tid = 0;
		if (__atomic_compare_exchange_n(&r->follow[i].tid, &free_tid, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return &r->follow[i];
	}
	return NULL;
}

/* This thread, about to exec a program followable says the tracer can follow: it asks the tracer
 * to seize it (see sl_run_header.follow), and waits until it has, 5 s at most (a tracer that does
 * not answer, busy on a loaded machine, leaves the program to run untraced, and the report names
 * it: untraced-exec). A tracer that has ended has said so (follow_tracer 0). */
SL_START static int follow_me(struct sl_run_header *r)
{
	struct sl_follow_req *q = claim(r, (uint32_t)sl_sys3(SYS_gettid, 0, 0, 0));
	if (!q)
		return 0;
	__atomic_store_n(&q->state, SL_FOLLOW_ASKED, __ATOMIC_RELEASE);
	sl_sys3(SYS_kill, r->follow_tracer, SIGCHLD, 0); /* (refused to another user: it looks on its own) */
	struct timespec step = {0, 100000000};
	uint32_t st = SL_FOLLOW_ASKED;
	for (int k = 0; k < 50 && (st = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE)) == SL_FOLLOW_ASKED; k++)
		sl_sys6(SYS_futex, (long)&q->state, FUTEX_WAIT, SL_FOLLOW_ASKED, (long)&step, 0, 0);
	if (st == SL_FOLLOW_ASKED) {
		uint32_t asked = SL_FOLLOW_ASKED;
		__atomic_compare_exchange_n(&q->state, &asked, SL_FOLLOW_GAVE_UP, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	st = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);
	__atomic_store_n(&q->state, SL_FOLLOW_FREE, __ATOMIC_RELEASE);
	__atomic_store_n(&q->tid, 0, __ATOMIC_RELEASE);
	return st == SL_FOLLOW_DONE;
}

/* Whether the new program's environment keeps the preload (SL_UNTRACED_ENV when it does not). */
SL_START static int env_why(char *const envp[])
{
	return !env_has(envp, "LD_PRELOAD=", "libsocklens") || !env_has(envp, "SOCKLENS_DIR=", NULL) ? SL_UNTRACED_ENV
												     : 0;
}

/* When the run's tracer follows the Go and static programs its processes exec and path is one, this
 * thread asks to be followed: 1 when it now is (sl__unfollow if what it was for fails). */
SL_START int sl__follow_for(const char *path)
{
	struct sl_run_header *r = sl_g.log.run;
	struct stat ns;
	if (sl_g.ready && path && r && __atomic_load_n(&r->follow_tracer, __ATOMIC_RELAXED) && followable(path) &&
	    sl_sys3(SYS_stat, "/proc/self/ns/pid", &ns, 0) == 0 && (uint32_t)ns.st_ino == r->follow_pidns)
		return follow_me(r);
	return 0;
}

/* Called before an exec of path with envp. Async-signal-safe: the run's shared table only.
 * A vfork child (posix_spawn, Python's subprocess) may call it too: the table is shared.
 * SL_CHECKED_RECORDED when the exec was recorded, | SL_CHECKED_FOLLOWED when the tracer now
 * follows this thread (for exec_failed: the record to mark, sl__unfollow). */
SL_START int sl__check_exec(const char *path, char *const envp[])
{
	if (!sl_g.ready || !path)
		return 0;
	int why = env_why(envp);
	int pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	/* not in a vfork child: sl_g is its parent's, and the child has no log of its own */
	if (pid == sl_g.pid && __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE) == SL_LOG_MADE)
		why |= (int)SL_EXEC_LOGGED;
	sl_run_exec(sl_g.log.run, pid, (int)sl_sys3(SYS_getppid, 0, 0, 0), why, path, sl_now());
	return SL_CHECKED_RECORDED | (sl__follow_for(path) ? SL_CHECKED_FOLLOWED : 0);
}

/* A child posix_spawn made (glibc execs it inside, not through execve): its exec recorded as the
 * child's own, at the time the spawn began (t0), so a log made for it counts as after it. */
void sl__spawned(int child, const char *path, char *const envp[], uint64_t t0)
{
	if (sl_g.ready && path)
		sl_run_exec(sl_g.log.run, child, (int)sl_sys3(SYS_getpid, 0, 0, 0), env_why(envp), path, t0);
}

/* The exec the tracer was asked to follow failed (its file is no program, a noexec mount): the
 * tracer lets this thread go (a request it frees itself; nothing is waited for). */
SL_START void sl__unfollow(void)
{
	struct sl_run_header *r = sl_g.log.run;
	struct sl_follow_req *q = claim(r, (uint32_t)sl_sys3(SYS_gettid, 0, 0, 0));
	if (q) {
		__atomic_store_n(&q->state, SL_FOLLOW_RELEASE, __ATOMIC_RELEASE);
		sl_sys3(SYS_kill, r->follow_tracer, SIGCHLD, 0);
	}
}

/* execvp's search, for the record only: the first executable PATH entry. */
SL_START int sl__check_execvp(const char *file, char *const envp[], const char *pathvar)
{
	struct sl_strbuf b;
	const char *path = sl__search_path(file, pathvar, &b);
	return path ? sl__check_exec(path, envp) : 0;
}

/* file as execvp finds it: itself when it has a slash, else the first executable PATH entry (in b);
 * NULL when none is. */
SL_START const char *sl__search_path(const char *file, const char *pathvar, struct sl_strbuf *b)
{
	if (!file || strchr(file, '/'))
		return file;
	const char *p = pathvar ? pathvar : "/bin:/usr/bin";
	while (*p) {
		const char *end = strchrnul(p, ':');
		sl_sb_init(b);
		char dir[256];
		size_t n = (size_t)(end - p) < sizeof dir - 1 ? (size_t)(end - p) : sizeof dir - 1;
		memcpy(dir, p, n);
		dir[n] = 0;
		sl_sb_str(b, n ? dir : ".");
		sl_sb_str(b, "/");
		sl_sb_str(b, file);
		if (!b->overflow && sl_sys3(SYS_access, b->buf, 1 /* X_OK */, 0) == 0)
			return b->buf;
		p = *end ? end + 1 : end;
	}
	return NULL;
}
