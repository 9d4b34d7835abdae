/* clockcost.c - what one clock read costs on this machine, each way the shim could read one:
 * rdtsc, glibc's clock_gettime (MONOTONIC and MONOTONIC_COARSE), and the vDSO's entry point
 * called directly, as the shim's data path does. Prints ns per read, the median of 7 runs. */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

typedef int (*gettime_fn)(clockid_t, struct timespec *);

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The same lookup as shim/clock.c: __vdso_clock_gettime through the vDSO's DT_HASH. */
static gettime_fn vdso_gettime(void)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return NULL;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	uint64_t bias = 0;
	for (int i = eh->e_phnum - 1; i >= 0; i--) {
		if (ph[i].p_type == PT_LOAD)
			bias = (uint64_t)(uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
	}
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	const uint32_t *hash = NULL;
	for (; dyn && dyn->d_tag; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(bias + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_HASH)
			hash = (const uint32_t *)(bias + dyn->d_un.d_ptr);
	}
	for (uint32_t i = 0; sym && str && hash && i < hash[1]; i++)
		if (!strcmp(str + sym[i].st_name, "__vdso_clock_gettime"))
			return (gettime_fn)(uintptr_t)(bias + sym[i].st_value);
	return NULL;
}

static volatile uint64_t sink;

static double run(int kind, gettime_fn direct, int n)
{
	struct timespec ts;
	double t0 = now_ns();
	for (int i = 0; i < n; i++) {
		if (kind == 0) {
			uint32_t lo, hi;
			__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
			sink += lo;
		} else {
			(kind == 3 ? direct : clock_gettime)(kind == 1 ? CLOCK_MONOTONIC : CLOCK_MONOTONIC_COARSE, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
	}
	return (now_ns() - t0) / n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	static const char *const names[] = {"rdtsc", "clock_gettime(MONOTONIC)", "clock_gettime(MONOTONIC_COARSE)",
					    "vDSO MONOTONIC_COARSE, called directly (the shim's data path)"};
	gettime_fn direct = vdso_gettime();
	for (int kind = 0; kind < 4; kind++) {
		double t[7];
		if (kind == 3 && !direct)
			continue;
		for (int r = 0; r < 7; r++)
			t[r] = run(kind, direct, 2000000);
		qsort(t, 7, sizeof t[0], cmp);
		printf("  %-62s %5.1f ns\n", names[kind], t[3]);
	}
	struct timespec res;
	clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	printf("  coarse clock resolution: %.0f ms\n", res.tv_nsec / 1e6);
	return 0;
}
