/* parleyd.c: the daemon (the link issue builds it). */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "parleyd: not built yet\n");
	return 1;
}
