/* dwlib.h - elfutils (libdw, libelf) loaded when first used, not when socklens starts.
 *
 * Include this instead of <elfutils/libdwfl.h>, <elfutils/libdw.h>, <libelf.h> or <gelf.h>. Every
 * libdw and libelf function the analyzer and the tracer call is named in SL_DW_FUNCS or
 * SL_ELF_FUNCS, and each
 * name is a macro for the pointer dlsym found: the first call loads the libraries (libs.c). A run
 * that symbolizes nothing (a program without sockets, `socklens --version`) never maps them, which
 * was about a third of `socklens run`'s start-up (BENCHMARKS.md). A function missing from the list
 * fails the link (socklens is not linked with libdw); a name listed but not in the library fails
 * the build of libs.c. When the library cannot be loaded, socklens says so and exits. */
#ifndef SL_DWLIB_H
#define SL_DWLIB_H

#include <elfutils/libdwfl.h>
#include <gelf.h>

#define SL_DW_FUNCS(X) \
	X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_begin_elf) X(dwarf_diename) X(dwarf_dieoffset) \
	X(dwarf_end) X(dwarf_filesrc) X(dwarf_formref_die) X(dwarf_formstring) X(dwarf_formudata) \
	X(dwarf_getscopes) X(dwarf_getscopes_die) X(dwarf_getsrc_die) X(dwarf_getsrcfiles) \
	X(dwarf_getsrclines) X(dwarf_lineaddr) X(dwarf_lineno) X(dwarf_linesrc) X(dwarf_nextcu) \
	X(dwarf_offdie) X(dwarf_onesrcline) X(dwarf_ranges) X(dwarf_tag) X(dwfl_addrmodule) \
	X(dwfl_attach_state) X(dwfl_begin) X(dwfl_build_id_find_elf) X(dwfl_end) X(dwfl_frame_pc) \
	X(dwfl_getthread_frames) X(dwfl_lineinfo) X(dwfl_linux_proc_find_elf) \
	X(dwfl_linux_proc_report) X(dwfl_module_addrdie) X(dwfl_module_addrinfo) \
	X(dwfl_module_build_id) X(dwfl_module_getdwarf) X(dwfl_module_getelf) X(dwfl_module_getsrc) \
	X(dwfl_module_info) X(dwfl_offline_section_address) X(dwfl_report_begin) X(dwfl_report_elf) \
	X(dwfl_report_end) X(dwfl_standard_find_debuginfo) X(dwfl_thread_state_register_pc) \
	X(dwfl_thread_state_registers)

#define SL_ELF_FUNCS(X) \
	X(elf_begin) X(elf_end) X(elf_getdata) X(elf_getphdrnum) X(elf_getshdrstrndx) X(elf_kind) \
	X(elf_nextscn) X(elf_strptr) X(elf_version) X(gelf_getehdr) X(gelf_getphdr) X(gelf_getshdr) \
	X(gelf_getsym)

#ifndef SL_LIB_MEMBER
#define SL_LIB_MEMBER(f) __typeof__(f) *f;
#endif
struct sl_dw_fns {
	SL_DW_FUNCS(SL_LIB_MEMBER)
};
struct sl_elf_fns {
	SL_ELF_FUNCS(SL_LIB_MEMBER)
};

extern struct sl_dw_fns sl_dw_fns;
extern struct sl_elf_fns sl_elf_fns;
extern int sl_dw_loaded, sl_elf_loaded;
/* Both exit when the library cannot be loaded. */
void sl_dw_load(void);
void sl_elf_load(void);

static inline const struct sl_dw_fns *sl_dw(void)
{
	if (__builtin_expect(!__atomic_load_n(&sl_dw_loaded, __ATOMIC_ACQUIRE), 0))
		sl_dw_load();
	return &sl_dw_fns;
}

/* libelf alone (libdw loads libelf and three decompressors): reading an ELF file's headers,
 * whether a program is static or Go, needs only this. */
static inline const struct sl_elf_fns *sl_elf(void)
{
	if (__builtin_expect(!__atomic_load_n(&sl_elf_loaded, __ATOMIC_ACQUIRE), 0))
		sl_elf_load();
	return &sl_elf_fns;
}

/* The callbacks of a Dwfl reporting a live process (dwfl_linux_proc_report), its debuginfo found
 * in the standard places. */
const Dwfl_Callbacks *sl_dw_proc_callbacks(void);

#ifndef SL_LIBS_IMPL
#define dwarf_attr (sl_dw()->dwarf_attr)
#define dwarf_attr_integrate (sl_dw()->dwarf_attr_integrate)
#define dwarf_begin_elf (sl_dw()->dwarf_begin_elf)
#define dwarf_diename (sl_dw()->dwarf_diename)
#define dwarf_dieoffset (sl_dw()->dwarf_dieoffset)
#define dwarf_end (sl_dw()->dwarf_end)
#define dwarf_filesrc (sl_dw()->dwarf_filesrc)
#define dwarf_formref_die (sl_dw()->dwarf_formref_die)
#define dwarf_formstring (sl_dw()->dwarf_formstring)
#define dwarf_formudata (sl_dw()->dwarf_formudata)
#define dwarf_getscopes (sl_dw()->dwarf_getscopes)
#define dwarf_getscopes_die (sl_dw()->dwarf_getscopes_die)
#define dwarf_getsrc_die (sl_dw()->dwarf_getsrc_die)
#define dwarf_getsrcfiles (sl_dw()->dwarf_getsrcfiles)
#define dwarf_getsrclines (sl_dw()->dwarf_getsrclines)
#define dwarf_lineaddr (sl_dw()->dwarf_lineaddr)
#define dwarf_lineno (sl_dw()->dwarf_lineno)
#define dwarf_linesrc (sl_dw()->dwarf_linesrc)
#define dwarf_nextcu (sl_dw()->dwarf_nextcu)
#define dwarf_offdie (sl_dw()->dwarf_offdie)
#define dwarf_onesrcline (sl_dw()->dwarf_onesrcline)
#define dwarf_ranges (sl_dw()->dwarf_ranges)
#define dwarf_tag (sl_dw()->dwarf_tag)
#define dwfl_addrmodule (sl_dw()->dwfl_addrmodule)
#define dwfl_attach_state (sl_dw()->dwfl_attach_state)
#define dwfl_begin (sl_dw()->dwfl_begin)
#define dwfl_build_id_find_elf (sl_dw()->dwfl_build_id_find_elf)
#define dwfl_end (sl_dw()->dwfl_end)
#define dwfl_frame_pc (sl_dw()->dwfl_frame_pc)
#define dwfl_getthread_frames (sl_dw()->dwfl_getthread_frames)
#define dwfl_lineinfo (sl_dw()->dwfl_lineinfo)
#define dwfl_linux_proc_find_elf (sl_dw()->dwfl_linux_proc_find_elf)
#define dwfl_linux_proc_report (sl_dw()->dwfl_linux_proc_report)
#define dwfl_module_addrdie (sl_dw()->dwfl_module_addrdie)
#define dwfl_module_addrinfo (sl_dw()->dwfl_module_addrinfo)
#define dwfl_module_build_id (sl_dw()->dwfl_module_build_id)
#define dwfl_module_getdwarf (sl_dw()->dwfl_module_getdwarf)
#define dwfl_module_getelf (sl_dw()->dwfl_module_getelf)
#define dwfl_module_getsrc (sl_dw()->dwfl_module_getsrc)
#define dwfl_module_info (sl_dw()->dwfl_module_info)
#define dwfl_offline_section_address (sl_dw()->dwfl_offline_section_address)
#define dwfl_report_begin (sl_dw()->dwfl_report_begin)
#define dwfl_report_elf (sl_dw()->dwfl_report_elf)
#define dwfl_report_end (sl_dw()->dwfl_report_end)
#define dwfl_standard_find_debuginfo (sl_dw()->dwfl_standard_find_debuginfo)
#define dwfl_thread_state_register_pc (sl_dw()->dwfl_thread_state_register_pc)
#define dwfl_thread_state_registers (sl_dw()->dwfl_thread_state_registers)
#define elf_begin (sl_elf()->elf_begin)
#define elf_end (sl_elf()->elf_end)
#define elf_getdata (sl_elf()->elf_getdata)
#define elf_getphdrnum (sl_elf()->elf_getphdrnum)
#define elf_getshdrstrndx (sl_elf()->elf_getshdrstrndx)
#define elf_kind (sl_elf()->elf_kind)
#define elf_nextscn (sl_elf()->elf_nextscn)
#define elf_strptr (sl_elf()->elf_strptr)
#define elf_version (sl_elf()->elf_version)
#define gelf_getehdr (sl_elf()->gelf_getehdr)
#define gelf_getphdr (sl_elf()->gelf_getphdr)
#define gelf_getshdr (sl_elf()->gelf_getshdr)
#define gelf_getsym (sl_elf()->gelf_getsym)
#endif

#endif
