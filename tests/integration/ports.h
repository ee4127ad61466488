/*
 * ports.h: a block of free ports on 127.0.0.1 for an integration test.
 * Agreements name fixed addresses, so a test cannot bind port 0: it picks
 * a block in its own range from its pid and the time, and takes it only
 * when every port of the block binds now, for TCP and for UDP (EADDRINUSE,
 * TIME_WAIT: next block). Parallel runs (make check beside make asan) then
 * rarely collide; a port taken between the probe and the daemon's bind
 * still can. Every integration test picks its ports here, each in its own
 * range, so no two ranges overlap:
 *   it_ctl_raw   10000-10499
 *   it_ctl_held  10500-10999
 *   it_anchor    11000-11999
 *   it_link_read 12000-12999
 *   it_slow      13000-13999
 *   it_link_replay 14000-14999
 *   it_powercut  15000-15999
 *   it_people    16000-16499
 *   it_people_owed 16500-16999
 *   it_record    17000-17499
 *   it_record_owner 17500-17999
 *   it_messages  18000-18399
 *   it_flash     18400-18699
 *   it_early_send 18700-18999
 *   it_restore   19000-19999
 *   it_link      20000-23999
 *   it_link_strangers 24000-27999
 *   it_link_api  28000-28499
 *   it_link_api_fake 28500-28999
 *   it_ctl       29000-29999
 *   it_dns       30000-30999 (its fake DNS server's UDP port too)
 *   msg_bench    31000-31499 (make bench)
 *   link_bench   31500-31999 (make bench)
 * all below the kernel's ephemeral range (32768-).
 */
#ifndef PARLEY_TESTS_PORTS_H
#define PARLEY_TESTS_PORTS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static bool
ports_free(int first, int n)
{
	for (int p = first; p < first + n; p++) {
		for (int udp = 0; udp < 2; udp++) {
			struct sockaddr_in sa;
			int fd = socket(AF_INET, udp ? SOCK_DGRAM :
			    SOCK_STREAM, 0), ok;

			if (fd < 0)
				return false;
			memset(&sa, 0, sizeof sa);
			sa.sin_family = AF_INET;
			sa.sin_port = htons((uint16_t)p);
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
			close(fd);
			if (!ok)
				return false;
		}
	}
	return true;
}

/* The first port of a free block of n in [lo, hi), or -1. */
static int
ports_pick(int lo, int hi, int n)
{
	int blocks = (hi - lo) / n;
	unsigned start = ((unsigned)getpid() * 2654435761u) ^
	    (unsigned)time(NULL);

	for (int i = 0; i < blocks; i++) {
		int b = lo + (int)((start + (unsigned)i) % (unsigned)blocks) * n;
		if (ports_free(b, n))
			return b;
	}
	return -1;
}

#endif
