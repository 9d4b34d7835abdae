/* untraced.c - notices an exec the preload cannot follow (stripped environment, setuid, static)
 * and logs it, so the report can say which children it could not see. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "rawsys.h"
#include "record.h"
#include "strbuf.h"

static int env_has(char *const envp[], const char *prefix, const char *needle)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], prefix, n) && (!needle || strstr(envp[i] + n, needle)))
			return 1;
	return 0;
}

/* An ELF executable without PT_INTERP is static: the dynamic loader never runs for it. */
static int is_static_elf(const char *path)
{
	union {
		Elf64_Ehdr eh;
		char buf[4096];
	} u;
	long fd = sl_sys3(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	long n = sl_sys3(SYS_read, fd, u.buf, sizeof u.buf);
	sl_sys3(SYS_close, fd, 0, 0);
	if (n < (long)sizeof u.eh || memcmp(u.eh.e_ident, ELFMAG, SELFMAG) || u.eh.e_ident[EI_CLASS] != ELFCLASS64)
		return 0; /* a script or something else: its interpreter is what runs */
	if (u.eh.e_phentsize != sizeof(Elf64_Phdr) || u.eh.e_phoff > (uint64_t)n ||
	    u.eh.e_phnum > ((uint64_t)n - u.eh.e_phoff) / sizeof(Elf64_Phdr))
		return 0; /* program headers beyond what we read: do not guess */
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(u.buf + u.eh.e_phoff);
	for (int i = 0; i < u.eh.e_phnum; i++)
		if (ph[i].p_type == PT_INTERP)
			return 0;
	return 1;
}

static int why_untraced(const char *path, char *const envp[])
{
	struct stat st;
	if (!env_has(envp, "LD_PRELOAD=", "libsocklens") || !env_has(envp, "SOCKLENS_DIR=", NULL))
		return SL_UNTRACED_ENV;
	if (sl_sys3(SYS_stat, path, &st, 0) != 0)
		return 0; /* the exec will fail and say so */
	if (st.st_mode & (S_ISUID | S_ISGID))
		return SL_UNTRACED_SETUID;
	return is_static_elf(path) ? SL_UNTRACED_STATIC : 0;
}

/* Called before an exec of path with envp. Async-signal-safe: raw syscalls and the log only.
 * A vfork child may call it too; appending an event to the shared log is safe there. */
void sl__check_exec(const char *path, char *const envp[])
{
	if (!sl_g.ready || !path)
		return;
	int why = why_untraced(path, envp);
	if (!why)
		return;
	struct sl_event *ev = sl_ev_begin(&sl_g.log, SL_EV_UNTRACED_EXEC, SL_CALL_EXEC, -1);
	if (!ev)
		return;
	size_t len = strnlen(path, SL_ADDR_DATA - 1);
	ev->err = why;
	ev->ts_ns = sl_now();
	ev->a = (int64_t)sl_sys3(SYS_getpid, 0, 0, 0);
	memcpy(ev->addr.data, path, len);
	ev->addr.data[len] = 0;
	ev->addr.len = (uint16_t)(len + 1);
	sl_ev_commit(&sl_g.log, ev);
}

/* execvp's search, for the check only: the first executable PATH entry. */
void sl__check_execvp(const char *file, char *const envp[], const char *pathvar)
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
