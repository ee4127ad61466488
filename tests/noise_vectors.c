/* noise_vectors.c: runs Noise test vectors (being built). */
#include <stdio.h>

int
main(void)
{
	printf("0 passed, 1 failed, 0 skipped\n");
	return 1;
}
