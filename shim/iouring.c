/* iouring.c - io_uring is a way to make socket calls that no wrapper sees: a program submits
 * socket, connect, accept, send and recv to a ring shared with the kernel. liburing makes its
 * system calls itself (no libc), so the shim cannot record them; it can say where it is blind.
 * A process is marked (SL_HDR_IO_URING) when liburing is loaded at start, or when io_uring_setup
 * goes through libc's syscall(). A program with liburing linked in statically and its own system
 * call code is not seen doing it: the shim opens no file of its own after start to look (its
 * rings would show in /proc/self/maps). */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>
#include <sys/syscall.h>
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
