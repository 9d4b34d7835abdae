/* spawn_setuid.c - a statically linked program (socklens run traces it with ptrace) that starts a
 * setuid program, passwd -S, whose answer depends on the privileges it runs with. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	fflush(stdout);
	return system("passwd -S \"$(id -un)\"") ? 1 : 0;
}
