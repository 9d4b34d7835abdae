/* elfcheck.c - tells, before running it, whether LD_PRELOAD can reach a program at all. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "symbols/symbols.h"

static int has_interp(Elf *elf)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0)
		return 1; /* cannot tell: do not warn */
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
			return 1;
	}
	return 0;
}

/* Go binaries carry a .note.go.buildid section; they call the kernel directly, not libc. */
static int is_go(Elf *elf)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (name && (!strcmp(name, ".note.go.buildid") || !strcmp(name, ".gopclntab")))
			return 1;
	}
	return 0;
}

enum { SETUID = 1, CAPS, GO, STATIC };

static int classify(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return 0;
	/* the loader ignores LD_PRELOAD in secure mode: when exec changes the effective ids */
	if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
		return SETUID;
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return CAPS;
	if (!S_ISREG(st.st_mode))
		return 0;
	/* the file read last, known by its identity and change time: socklens run asks twice of the
	 * program it starts (why, and how to follow it), and a report of many execs of one program
	 * asks of each */
	static struct stat last;
	static int last_why = -1;
	if (last_why >= 0 && st.st_dev == last.st_dev && st.st_ino == last.st_ino && st.st_size == last.st_size &&
	    st.st_mtim.tv_sec == last.st_mtim.tv_sec && st.st_mtim.tv_nsec == last.st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == last.st_ctim.tv_sec && st.st_ctim.tv_nsec == last.st_ctim.tv_nsec)
		return last_why;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), why = 0;
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		why = is_go(elf) ? GO : !has_interp(elf) ? STATIC : 0;
	if (elf)
		elf_end(elf);
	close(fd);
	last = st;
	last_why = why;
	return why;
}

const char *sl_untraceable_reason(const char *path)
{
	switch (classify(path)) {
	case SETUID: return "it is setuid/setgid: the loader ignores LD_PRELOAD for it and everything it runs";
	case CAPS: return "it has file capabilities: the loader ignores LD_PRELOAD for it";
	case GO: return "it is a Go program: Go calls the kernel directly, so its sockets bypass libc";
	case STATIC: return "it is statically linked: there is no dynamic loader to preload socklens";
	}
	return NULL;
}

int sl_elf_is_go(const char *path)
{
	return classify(path) == GO;
}

int sl_untraceable_kind(const char *path)
{
	switch (classify(path)) {
	case SETUID: case CAPS: return SL_UNTRACED_SETUID;
	case GO: case STATIC: return SL_UNTRACED_STATIC;
	}
	return 0;
}
