/* untraced.c - records every exec a traced process attempts in the run's exec table, so the
 * analyzer can name the children that left no log (static, Go or setuid programs, stripped
 * environments). Only memory and path lookups: no file is opened here. */
#define _GNU_SOURCE
#include <string.h>
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

/* Called before an exec of path with envp. Async-signal-safe: the run's shared table only.
 * A vfork child (posix_spawn, Python's subprocess) may call it too: the table is shared. */
SL_START void sl__check_exec(const char *path, char *const envp[])
{
	if (!sl_g.ready || !path)
		return;
	int why = !env_has(envp, "LD_PRELOAD=", "libsocklens") || !env_has(envp, "SOCKLENS_DIR=", NULL)
			  ? SL_UNTRACED_ENV : 0;
	int pid = (int)sl_sys3(SYS_getpid, 0, 0, 0);
	/* not in a vfork child: sl_g is its parent's, and the child has no log of its own */
	if (pid == sl_g.pid && __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE) == SL_LOG_MADE)
		why |= (int)SL_EXEC_LOGGED;
	sl_run_exec(sl_g.log.run, pid, (int)sl_sys3(SYS_getppid, 0, 0, 0), why, path, sl_now());
}

/* execvp's search, for the record only: the first executable PATH entry. */
SL_START void sl__check_execvp(const char *file, char *const envp[], const char *pathvar)
{
	if (!file || strchr(file, '/')) {
		sl__check_exec(file, envp);
		return;
	}
	const char *p = pathvar ? pathvar : "/bin:/usr/bin";
	while (*p) {
		const char *end = strchrnul(p, ':');
		struct sl_strbuf b;
		sl_sb_init(&b);
		char dir[256];
		size_t n = (size_t)(end - p) < sizeof dir - 1 ? (size_t)(end - p) : sizeof dir - 1;
		memcpy(dir, p, n);
		dir[n] = 0;
		sl_sb_str(&b, n ? dir : ".");
		sl_sb_str(&b, "/");
		sl_sb_str(&b, file);
		if (!b.overflow && sl_sys3(SYS_access, b.buf, 1 /* X_OK */, 0) == 0) {
			sl__check_exec(b.buf, envp);
			return;
		}
		p = *end ? end + 1 : end;
	}
}
