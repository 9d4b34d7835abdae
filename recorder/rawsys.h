/* rawsys.h - raw x86-64 system calls: no errno, no PLT, no cancellation point. */
#ifndef SL_RAWSYS_H
#define SL_RAWSYS_H

#include <sys/syscall.h>

/* Returns the kernel's result: >= 0, or -errno. Never touches errno. */
static inline long sl_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sl_sys3(n, a, b, c) sl_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sl_sys5(n, a, b, c, d, e) sl_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#endif
