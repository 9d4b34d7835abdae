/* catch_signals.c - waits for SIGALRM, SIGURG and SIGRTMIN+3 (signals socklens run must pass on,
 * as a shell does, not die of), says which came, and exits 5. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_alrm, got_urg, got_rt;

static void on(int sig)
{
	if (sig == SIGALRM)
		got_alrm = 1;
	else if (sig == SIGURG)
		got_urg = 1;
	else
		got_rt = 1;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	sigaction(SIGRTMIN + 3, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!(got_alrm && got_urg && got_rt))
		pause();
	printf("got SIGALRM, SIGURG and SIGRTMIN+3\n");
	return 5;
}
