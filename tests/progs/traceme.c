/* traceme.c - a statically linked program (traced by socklens run) whose child asks to be traced
 * by it (PTRACE_TRACEME) and stops itself, as a debugger's launcher does; the parent waits for the
 * stop, lets the child go on and exits 0. It must end, with or without socklens. */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(r == 0 ? 0 : 3);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSTOPPED(st)) {
		ptrace(PTRACE_CONT, pid, NULL, NULL);
		waitpid(pid, &st, 0);
	}
	printf("traceme: child %s %d\n", WIFEXITED(st) ? "exited" : "ended by signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}
