/* raw_clone.c - children made without fork() (so no atfork handler runs): clone3 and clone
 * through syscall(), glibc's _Fork and clone(), and a clone system call in inline assembly that
 * no wrapper sees. Each child makes and closes a socket: its sockets are its own, and the parent
 * has none left open. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "../../examples/common.h"

static void child_work(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		_exit(1);
	close(fd);
	_exit(0);
}

static int clone_fn(void *arg)
{
	(void)arg;
	child_work();
	return 0;
}

/* clone(SIGCHLD) with no new stack, as a program with its own system call code makes it */
static long inline_clone(void)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_clone), "D"((long)SIGCHLD), "S"(0L), "d"(0L),
			 "r"(r10), "r"(r8) : "rcx", "r11", "memory");
	return ret;
}

static char stack[5][64 * 1024];

static long make_child(int how)
{
	struct clone_args ca;
	switch (how) {
	case 0:
		memset(&ca, 0, sizeof ca);
		ca.exit_signal = SIGCHLD;
		return syscall(SYS_clone3, &ca, sizeof ca);
	case 1: return syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	case 2: return _Fork();
	case 3: return clone(clone_fn, stack[how] + sizeof stack[how], SIGCHLD, NULL);
	default: return inline_clone();
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500, failed = 0;
	for (int i = 0; i < n; i++) {
		long pid = make_child(i % 5);
		if (pid < 0)
			die("clone");
		if (pid == 0)
			child_work();
		int st;
		if (waitpid((pid_t)pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	printf("%d children, %d failed\n", n, failed);
	return failed != 0;
}
