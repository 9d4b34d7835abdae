/* iouring.c - io_uring is a way to make socket calls that no wrapper sees: a program submits
 * socket, connect, accept, send and recv to a ring shared with the kernel. liburing makes its
 * system calls itself (no libc), so the shim cannot record them; it can say where it is blind.
 * A process is marked (SL_HDR_IO_URING) when liburing is loaded at start, when io_uring_setup goes
 * through libc's syscall(), or when a ring is still mapped at exit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include "rawsys.h"
#include "record.h"

static void mark(void)
{
	if (sl_g.ready)
		__atomic_fetch_or(&sl_g.log.hdr->flags, SL_HDR_IO_URING, __ATOMIC_RELAXED);
}

static int liburing_object(struct dl_phdr_info *info, size_t size, void *found)
{
	(void)size;
	const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	if (slash && !strncmp(slash + 1, "liburing.so", 11))
		*(int *)found = 1;
	return *(int *)found;
}

void sl__iouring_init(void)
{
	int found = 0;
	dl_iterate_phdr(liburing_object, &found);
	if (found)
		mark();
}

void sl__iouring_syscall(long n)
{
	if (n == SYS_io_uring_setup)
		mark();
}

/* At exit: a ring still mapped (a program with liburing built in, or one that set it up itself).
 * The one fd of our own is held with signals blocked, as at start. */
void sl__iouring_exit(void)
{
	static const char ring[] = "anon_inode:[io_uring]";
	char buf[4096];
	uint64_t all = ~0ull, old;
	if (!sl_g.ready || (sl_g.log.hdr->flags & SL_HDR_IO_URING))
		return;
	sl_sys6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, 8, 0, 0);
	long fd = sl_sys3(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t have = 0, tail = sizeof ring - 1;
	while (fd >= 0) {
		long n = sl_sys3(SYS_read, fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		if (strstr(buf, ring)) {
			mark();
			break;
		}
		if (have > tail) { /* a name may straddle two reads: keep the end */
			memmove(buf, buf + have - tail, tail);
			have = tail;
		}
	}
	if (fd >= 0)
		sl_sys3(SYS_close, fd, 0, 0);
	sl_sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8, 0, 0);
}
