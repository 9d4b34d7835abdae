/* real.c - binds the real libc functions once, in a typed table (required vs optional). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include "logw.h"
#include "real.h"

struct sl_real sl_real;

/* Every name the table holds; a missing one only disables its hook's recording. */
static const struct { const char *name; void **slot; } binds[] = {
	{"socket", (void **)&sl_real.socket}, {"socketpair", (void **)&sl_real.socketpair},
	{"connect", (void **)&sl_real.connect}, {"accept", (void **)&sl_real.accept},
	{"accept4", (void **)&sl_real.accept4}, {"bind", (void **)&sl_real.bind},
	{"listen", (void **)&sl_real.listen}, {"shutdown", (void **)&sl_real.shutdown},
	{"read", (void **)&sl_real.read}, {"write", (void **)&sl_real.write},
	{"readv", (void **)&sl_real.readv}, {"writev", (void **)&sl_real.writev},
	{"send", (void **)&sl_real.send}, {"sendto", (void **)&sl_real.sendto},
	{"sendmsg", (void **)&sl_real.sendmsg}, {"sendmmsg", (void **)&sl_real.sendmmsg},
	{"recv", (void **)&sl_real.recv}, {"recvfrom", (void **)&sl_real.recvfrom},
	{"recvmsg", (void **)&sl_real.recvmsg}, {"recvmmsg", (void **)&sl_real.recvmmsg},
	{"sendfile", (void **)&sl_real.sendfile}, {"sendfile64", (void **)&sl_real.sendfile64},
	{"splice", (void **)&sl_real.splice},
	{"__read_chk", (void **)&sl_real.__read_chk}, {"__recv_chk", (void **)&sl_real.__recv_chk},
	{"__recvfrom_chk", (void **)&sl_real.__recvfrom_chk},
	{"setsockopt", (void **)&sl_real.setsockopt}, {"getsockopt", (void **)&sl_real.getsockopt},
	{"fcntl", (void **)&sl_real.fcntl}, {"fcntl64", (void **)&sl_real.fcntl64},
	{"ioctl", (void **)&sl_real.ioctl}, {"close", (void **)&sl_real.close},
	{"close_range", (void **)&sl_real.close_range}, {"closefrom", (void **)&sl_real.closefrom},
	{"fclose", (void **)&sl_real.fclose}, {"dup", (void **)&sl_real.dup},
	{"dup2", (void **)&sl_real.dup2}, {"dup3", (void **)&sl_real.dup3},
	{"syscall", (void **)&sl_real.syscall}, {"poll", (void **)&sl_real.poll},
	{"__poll_chk", (void **)&sl_real.__poll_chk}, {"ppoll", (void **)&sl_real.ppoll},
	{"select", (void **)&sl_real.select}, {"pselect", (void **)&sl_real.pselect},
	{"epoll_ctl", (void **)&sl_real.epoll_ctl}, {"execve", (void **)&sl_real.execve},
	{"execvpe", (void **)&sl_real.execvpe}, {"execveat", (void **)&sl_real.execveat},
	{"fexecve", (void **)&sl_real.fexecve}, {"exit", (void **)&sl_real.exit},
	{"posix_spawn", (void **)&sl_real.posix_spawn}, {"posix_spawnp", (void **)&sl_real.posix_spawnp},
	{"_exit", (void **)&sl_real._exit}, {"_Exit", (void **)&sl_real._Exit},
	{"dlclose", (void **)&sl_real.dlclose}, {"getaddrinfo", (void **)&sl_real.getaddrinfo},
	{"gethostbyname", (void **)&sl_real.gethostbyname}, {"getpriority", (void **)&sl_real.getpriority},
	{"setenv", (void **)&sl_real.setenv}, {"_Fork", (void **)&sl_real._Fork},
	{"clone", (void **)&sl_real.clone}, {"setuid", (void **)&sl_real.setuid},
	{"seteuid", (void **)&sl_real.seteuid}, {"setreuid", (void **)&sl_real.setreuid},
	{"setresuid", (void **)&sl_real.setresuid}, {"alarm", (void **)&sl_real.alarm},
	{"setitimer", (void **)&sl_real.setitimer}, {"sigaction", (void **)&sl_real.sigaction},
	{"signal", (void **)&sl_real.signal}, {"sysv_signal", (void **)&sl_real.sysv_signal},
	{"wait", (void **)&sl_real.wait}, {"waitpid", (void **)&sl_real.waitpid},
	{"wait3", (void **)&sl_real.wait3}, {"wait4", (void **)&sl_real.wait4},
	{"waitid", (void **)&sl_real.waitid}, {"chroot", (void **)&sl_real.chroot},
	{"prctl", (void **)&sl_real.prctl}, {"unshare", (void **)&sl_real.unshare},
	{"setns", (void **)&sl_real.setns}, {"getpeername", (void **)&sl_real.getpeername},
};

void *sl_real_bind(void **slot, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	/* Every name exists in glibc >= 2.34. A program can only reach one of our
	 * wrappers through a name its libc defines, so a NULL here is never called. */
	if (p)
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}

SL_START void sl_real_bind_all(void)
{
	for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++)
		if (!__atomic_load_n(binds[i].slot, __ATOMIC_ACQUIRE))
			sl_real_bind(binds[i].slot, binds[i].name);
}
