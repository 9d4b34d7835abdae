/* live.c - looking at a running traced process from outside without stopping it or touching its
 * fds: its run directory (SOCKLENS_DIR in /proc/PID/environ), and the stack of a thread blocked in
 * a system call. /proc/PID/task/TID/syscall gives the stack pointer and program counter the thread
 * entered the kernel with; libdw unwinds from there, reading the (still) stack through
 * process_vm_readv. Neither ptrace nor a signal is involved, so the blocked call is not
 * interrupted. Both need the rights ptrace would: the same user, or root. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "base/dwlib.h"
#include "model/model.h"

/* The directory of the log the shim has mapped in pid (its maps name the file), or -1. */
static int mapped_log_dir(int pid, char *out, size_t len)
{
	char path[64], line[4608];
	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int found = -1;
	while (found < 0 && fgets(line, sizeof line, f)) {
		char *file = strchr(line, '/'), *end;
		if (!file)
			continue;
		file[strcspn(file, "\n")] = 0;
		end = file + strlen(file);
		if (end - file > 6 && !strcmp(end - 6, ".sllog") && strrchr(file, '/') > file) {
			*strrchr(file, '/') = 0;
			snprintf(out, len, "%s", file);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

int sl_live_run_dir(int pid, char *out, size_t len, char *err, size_t errlen)
{
	char path[64], buf[65536];
	/* what the shim has open is the truth; the environment can have been rewritten (a process
	 * title written over it, as nginx and redis do) */
	if (mapped_log_dir(pid, out, len) == 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		snprintf(err, errlen, "no process %d (it has ended, or it is in another pid namespace)", pid);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the environment of process %d: %s", pid, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read the environment of process %d: %s", pid, strerror(errno));
		return -1;
	}
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		if (!strncmp(p, "SOCKLENS_DIR=", 13) && p[13]) {
			snprintf(out, len, "%s", p + 13);
			return 0;
		}
	}
	snprintf(err, errlen, "process %d is not traced by socklens (no log mapped, no SOCKLENS_DIR in its environment)",
		 pid);
	return -1;
}

int sl_target_dir(const char *target, char *dir, size_t len, int *pid, char *err, size_t errlen)
{
	struct stat st;
	int digits = *target != 0;
	for (const char *p = target; *p; p++)
		digits &= *p >= '0' && *p <= '9';
	*pid = 0;
	if (!digits || stat(target, &st) == 0) { /* a directory named like a number is a directory */
		snprintf(dir, len, "%s", target);
		return 0;
	}
	*pid = atoi(target);
	return sl_live_run_dir(*pid, dir, len, err, errlen);
}

struct thread_state {
	pid_t pid, tid;
	Dwarf_Word sp, pc;
	int given;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_arg)
{
	(void)dwfl;
	struct thread_state *t = arg;
	if (t->given)
		return 0;
	t->given = 1;
	*thread_arg = t;
	return t->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_arg)
{
	(void)dwfl;
	struct thread_state *t = arg;
	*thread_arg = t;
	return tid == t->tid;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct thread_state *t = arg;
	struct iovec local = {result, sizeof *result}, remote = {(void *)(uintptr_t)addr, sizeof *result};
	return process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof *result;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct thread_state *t = arg;
	Dwarf_Word sp = t->sp;
	dwfl_thread_state_register_pc(thread, t->pc);
	return dwfl_thread_state_registers(thread, 7 /* rsp in DWARF's x86-64 numbering */, 1, &sp);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};


struct pcs {
	Dwarf_Addr pc[SL_MAX_FRAMES];
	size_t n;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct pcs *p = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	p->pc[p->n++] = pc;
	return p->n < SL_MAX_FRAMES ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* "nr arg1 ... arg6 sp pc" for a thread in a system call; "running" or "-1 sp pc" otherwise. */
static int read_syscall(int pid, int tid, Dwarf_Word *sp, Dwarf_Word *pc)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	long nr;
	uint64_t a[6], s, p;
	if (sscanf(buf, "%ld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
		   " %" SCNx64, &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &s, &p) != 9 || nr < 0)
		return -1;
	*sp = s;
	*pc = p;
	return 0;
}

size_t sl_live_stack(int pid, int tid, struct sl_frame *f, size_t max)
{
	struct thread_state t = {.pid = pid, .tid = tid};
	struct pcs pcs = {.n = 0};
	if (max == 0 || read_syscall(pid, tid, &t.sp, &t.pc) < 0)
		return 0;
	Dwfl *dwfl = dwfl_begin(sl_dw_proc_callbacks());
	if (!dwfl)
		return 0;
	if (dwfl_linux_proc_report(dwfl, pid) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0 ||
	    !dwfl_attach_state(dwfl, NULL, pid, &thread_callbacks, &t)) {
		dwfl_end(dwfl);
		return 0;
	}
	dwfl_getthread_frames(dwfl, tid, frame_cb, &pcs);
	/* each pc through the run's symbolizer, as a module recorded at its load bias */
	struct sl_module mods[SL_MAX_FRAMES];
	struct sl_space space = {.mods = mods};
	size_t n = 0;
	for (size_t i = 0; i < pcs.n && n < max; i++) {
		Dwfl_Module *mod = dwfl_addrmodule(dwfl, pcs.pc[i]);
		Dwarf_Addr lo = 0, hi = 0, bias = 0;
		const char *name = mod ? dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL) : NULL;
		if (mod)
			dwfl_module_getelf(mod, &bias);
		space.nmods = 0;
		if (name && name[0] == '/') {
			memset(&mods[0], 0, sizeof mods[0]);
			mods[0].commit = 1;
			mods[0].base = bias;
			mods[0].lo = lo;
			mods[0].hi = hi;
			snprintf(mods[0].path, sizeof mods[0].path, "%s", name);
			space.nmods = 1;
		}
		n += sl_symbolize(&space, pcs.pc[i], f + n, max - n);
	}
	dwfl_end(dwfl);
	/* the shim's wrapper and what it called are not the program's: start at its caller */
	size_t first = 0;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(f[i].module, "libsocklens.so", 14))
			first = i + 1;
	if (first && first < n) {
		memmove(f, f + first, (n - first) * sizeof *f);
		n -= first;
	}
	return sl_frames_trim(f, n);
}
