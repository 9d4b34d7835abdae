/* hook_user.c - what a process does to itself that changes what its sockets mean: the user it runs
 * as, and a process-wide alarm bounding its calls.
 *
 * Programs that change user after start (dnsmasq, sshd's sessions, postgres, nginx's
 * workers) keep being recorded. The run directory is its owner's alone (0700), so a process that
 * becomes another user could not create the logs of the children it forks, nor could the programs
 * it execs. Before a setuid-family call that changes the effective user, while still privileged,
 * the shim makes that user a subdirectory of the run directory, u<uid>, owned by it and 0700, makes
 * the run directory traversable (0711: others can reach their own subdirectory, list and read
 * nothing), and logs there from then on. A program exec'd later as that user finds its
 * subdirectory itself (init.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "rawsys.h"
#include "real.h"
#include "record.h"
#include "strbuf.h"

/* dir/u<uid> */
static int user_dir(struct sl_strbuf *b, const char *dir, uid_t uid)
{
	sl_sb_init(b);
	sl_sb_str(b, dir);
	sl_sb_str(b, "/u");
	sl_sb_u64(b, uid);
	return b->overflow ? -1 : 0;
}

/* Lets uid (and the owner) into dir with a POSIX ACL: for a process that dropped CAP_CHOWN before
 * changing user (dnsmasq keeps only CAP_SETUID), its owner may still set one. */
static int grant(const char *dir, uid_t uid)
{
	struct __attribute__((packed)) {
		uint32_t version;
		struct __attribute__((packed)) { uint16_t tag, perm; uint32_t id; } e[5];
	} acl = {2, {{0x01, 7, ~0u}, {0x02, 7, uid}, {0x04, 0, ~0u}, {0x10, 7, ~0u}, {0x20, 0, ~0u}}};
	return (int)sl_sys6(SYS_setxattr, (long)dir, (long)"system.posix_acl_access", (long)&acl, sizeof acl, 0, 0);
}

/* A subdirectory to log in as uid, made while we are still root: owned by uid, or by root with an
 * ACL that lets uid in; nobody else may write it. 0 when it is there, -1 otherwise. */
static int prepare(const char *dir, uid_t uid)
{
	struct sl_strbuf b;
	struct stat st;
	if (user_dir(&b, dir, uid) < 0)
		return -1;
	long r = sl_sys3(SYS_mkdir, b.buf, 0700, 0);
	if (r == 0 && sl_sys6(SYS_fchownat, AT_FDCWD, (long)b.buf, uid, -1, AT_SYMLINK_NOFOLLOW, 0) != 0 &&
	    grant(b.buf, uid) != 0)
		return -1;
	if (r != 0 && r != -EEXIST)
		return -1;
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)b.buf, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) != 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_uid != uid && st.st_uid != 0) || (st.st_mode & 07))
		return -1;
	/* others may now pass through the run directory to their own subdirectory; nothing more */
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)dir, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) == 0 &&
	    (st.st_mode & 0777) == 0700)
		sl_sys3(SYS_chmod, dir, 0711, 0);
	return 0;
}

/* The directory a process running as uid logs in, under the run directory top: top itself if it
 * is uid's, else top/u<uid>. */
static void switch_to(uid_t uid)
{
	struct sl_strbuf b;
	struct stat st;
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)sl_g.top, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) != 0)
		return;
	if (st.st_uid == uid) {
		strcpy(sl_g.dir, sl_g.top);
		return;
	}
	if (prepare(sl_g.top, uid) == 0 && user_dir(&b, sl_g.top, uid) == 0 && b.len < sizeof sl_g.dir)
		strcpy(sl_g.dir, b.buf);
}

/* Before a process confines itself (another user, a chroot, a mount namespace, a seccomp filter
 * or a Landlock ruleset) it makes its log if it has none yet: afterwards it may not be allowed to
 * (the run directory out of reach, openat refused, or a filter that kills on a call the log's
 * creation makes). Keeps errno. */
void sl__before_confinement(void)
{
	if (!sl_g.ready || __atomic_load_n(&sl_g.log_state, __ATOMIC_ACQUIRE) == SL_LOG_MADE || sl_in_vfork_child())
		return;
	int e = errno;
	sl__log_need();
	errno = e;
}

/* Called before a call that makes euid the effective user (-1: unchanged). Keeps errno. */
static void before_user_change(long euid)
{
	sl__before_confinement();
	if (!sl_g.ready || euid < 0 || (uid_t)euid == (uid_t)sl_sys3(SYS_geteuid, 0, 0, 0) ||
	    sl_sys3(SYS_geteuid, 0, 0, 0) != 0)
		return; /* only a privileged process can make another user's directory */
	int e = errno;
	switch_to((uid_t)euid);
	errno = e;
}

SL_EXPORT int chroot(const char *path)
{
	sl__before_confinement();
	return REAL(chroot)(path);
}

SL_EXPORT int unshare(int flags)
{
	if (flags & (CLONE_NEWNS | CLONE_NEWUSER))
		sl__before_confinement();
	return REAL(unshare)(flags);
}

SL_EXPORT int setns(int fd, int nstype)
{
	sl__before_confinement();
	return REAL(setns)(fd, nstype);
}

SL_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
	unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP)
		sl__before_confinement();
	return REAL(prctl)(option, a, b, c, d);
}

SL_EXPORT int setuid(uid_t uid)
{
	before_user_change(uid);
	return REAL(setuid)(uid);
}

SL_EXPORT int seteuid(uid_t euid)
{
	before_user_change(euid == (uid_t)-1 ? -1 : (long)euid);
	return REAL(seteuid)(euid);
}

SL_EXPORT int setreuid(uid_t ruid, uid_t euid)
{
	before_user_change(euid == (uid_t)-1 ? -1 : (long)euid);
	return REAL(setreuid)(ruid, euid);
}

SL_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	before_user_change(euid == (uid_t)-1 ? -1 : (long)euid);
	return REAL(setresuid)(ruid, euid, suid);
}

/* top/u<uid> is trusted when top is root's and nobody else can write it (so root made every entry
 * in it), or ours; and u<uid> is a real directory no other user can write: uid's own, or root's
 * with uid let in (faccessat2 with AT_EACCESS answers for our effective user and the ACL). */
int sl__user_dir_for(const char *top, uid_t uid, char *out, size_t len)
{
	struct sl_strbuf b;
	struct stat st;
	if (sl_sys6(SYS_newfstatat, AT_FDCWD, (long)top, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) != 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != uid) || (st.st_mode & 022))
		return -1;
	if (user_dir(&b, top, uid) < 0 || b.len >= len ||
	    sl_sys6(SYS_newfstatat, AT_FDCWD, (long)b.buf, (long)&st, AT_SYMLINK_NOFOLLOW, 0, 0) != 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_mode & 07))
		return -1;
	if (st.st_uid != uid && (st.st_uid != 0 || sl_sys6(SYS_faccessat2, AT_FDCWD, (long)b.buf, W_OK | X_OK,
							    AT_EACCESS, 0, 0) != 0))
		return -1;
	memcpy(out, b.buf, b.len + 1);
	return 0;
}

/* A process that arms alarm() or ITIMER_REAL before a blocking read (dnsmasq's TCP children get
 * 150 s to finish) has a deadline for it: the signal ends the call or the process. */
static void alarm_set(long armed)
{
	__atomic_store_n(&sl_g.alarm_armed, armed != 0, __ATOMIC_RELAXED);
}

SL_EXPORT unsigned int alarm(unsigned int seconds)
{
	alarm_set(seconds);
	return REAL(alarm)(seconds);
}

SL_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *nv, struct itimerval *old)
{
	int r = REAL(setitimer)(which, nv, old);
	if (r == 0 && which == ITIMER_REAL && nv)
		alarm_set(nv->it_value.tv_sec || nv->it_value.tv_usec);
	return r;
}
