/* libs.c - elfutils and ncurses loaded on first use (dwlib.h, curseslib.h). */
#define SL_LIBS_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "base/base.h"
#include "base/curseslib.h"
#include "base/dwlib.h"

/* The libraries' sonames, from the build (the Makefile reads them off what pkg-config links). */
#ifndef SL_LIBDW_SONAME
#define SL_LIBDW_SONAME "libdw.so.1"
#endif
#ifndef SL_LIBELF_SONAME
#define SL_LIBELF_SONAME "libelf.so.1"
#endif
#ifndef SL_LIBCURSES_SONAME
#define SL_LIBCURSES_SONAME "libncursesw.so.6"
#endif

struct sl_dw_fns sl_dw_fns;
struct sl_elf_fns sl_elf_fns;
int sl_dw_loaded, sl_elf_loaded;
struct sl_curses_fns sl_curses_fns;
int sl_curses_loaded;

/* Fills n pointers at fns from the library named soname (and those it depends on: tinfo's
 * functions are found through ncursesw), or exits. */
static void load(const char *soname, void *fns, const char *const *names, size_t n, int *loaded)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		sl_error("cannot load %s, which this needs: %s (scripts/install-deps.sh installs it)", soname,
			 dlerror());
		exit(SL_EXIT_INTERNAL);
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, names[i]);
		if (!f) {
			sl_error("%s has no %s: socklens was built against another version", soname, names[i]);
			exit(SL_EXIT_INTERNAL);
		}
		memcpy((char *)fns + i * sizeof f, &f, sizeof f);
	}
	__atomic_store_n(loaded, 1, __ATOMIC_RELEASE);
}

#define SL_LIB_NAME(f) #f,

/* One library's loader: sl_NAME_load fills sl_NAME_fns from soname, once, with every name FUNCS
 * lists (one pointer each). */
#define SL_LOADER(name, FUNCS, soname)                                                                   \
	static void load_##name(void)                                                                    \
	{                                                                                                \
		static const char *const names[] = {FUNCS(SL_LIB_NAME)};                                 \
		_Static_assert(sizeof names / sizeof *names * sizeof(void *) == sizeof sl_##name##_fns,   \
			       "one pointer per name");                                                  \
		load(soname, &sl_##name##_fns, names, sizeof names / sizeof *names, &sl_##name##_loaded); \
	}                                                                                                \
	void sl_##name##_load(void)                                                                      \
	{                                                                                                \
		static pthread_once_t once = PTHREAD_ONCE_INIT;                                          \
		pthread_once(&once, load_##name);                                                        \
	}

SL_LOADER(dw, SL_DW_FUNCS, SL_LIBDW_SONAME)
SL_LOADER(elf, SL_ELF_FUNCS, SL_LIBELF_SONAME)
SL_LOADER(curses, SL_CURSES_FUNCS, SL_LIBCURSES_SONAME)

const Dwfl_Callbacks *sl_dw_proc_callbacks(void)
{
	static char *debuginfo_path;
	static Dwfl_Callbacks cb = {.debuginfo_path = &debuginfo_path};
	const struct sl_dw_fns *dw = sl_dw();
	cb.find_elf = dw->dwfl_linux_proc_find_elf;
	cb.find_debuginfo = dw->dwfl_standard_find_debuginfo;
	return &cb;
}
