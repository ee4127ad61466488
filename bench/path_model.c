/*
 * path_model.c: what one message alone costs on this machine when only
 * the protocol's own work is done: the yardstick for msg_bench's first
 * row (issue 6: within 1.5 x two fsyncs and a round trip). Three
 * processes, as in msg_bench: a client, north and south, each on its own
 * sockets, blocking (no event loop), no SQLite:
 *
 *   client -> north   1 KiB body over a unix socket
 *   north             BLAKE2b of the body and of a 170-byte header, the
 *                     head signed (Ed25519), MSG and HEAD sealed
 *                     (ChaCha20-Poly1305) and written in one writev to
 *                     south over loopback TCP; then its own commit:
 *                     8 WAL-sized pages written and fdatasync'd (what
 *                     parley writes for a message alone, docs/store.md
 *                     "Pages per commit")
 *   south             both records opened, the body's hash checked, the
 *                     head verified; 6 pages written, write-back started,
 *                     the receipt signed meanwhile, fdatasync; the
 *                     receipt sealed and sent back
 *   north             the receipt opened and verified, the client answered
 *
 * Left out, and so what parley adds to this: SQLite (b-trees, the WAL
 * index, 6 fcntl locks per transaction at each side), libevent's loop,
 * the control request's parsing, the audit entry, the deadline watch.
 * The floor is measured in the same run as msg_bench measures it
 * (bench_util.h). Prints numbers, asserts nothing.
 */
#include <sodium.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "bench_util.h"

#define MESSAGES 2000
#define PAGE (4096 + 24)		/* a WAL frame */
#define WAL_BYTES (64u << 20)		/* pre-sized, reused from its start */
#define HEADER 170
#define SIGNED 110			/* a head's or receipt's signed bytes */
#define SEALED(n) ((n) + crypto_aead_chacha20poly1305_ietf_ABYTES)

static unsigned char sign_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char sign_sk[crypto_sign_SECRETKEYBYTES];
static unsigned char link_key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];

static void
die(const char *what)
{
	perror(what);
	_exit(1);
}

static void
read_all(int fd, void *b, size_t n)
{
	size_t done = 0;
	ssize_t k;

	while (done < n) {
		if ((k = read(fd, (char *)b + done, n - done)) <= 0)
			die("read");
		done += (size_t)k;
	}
}

static void
write_all(int fd, const void *b, size_t n)
{
	if (write(fd, b, n) != (ssize_t)n)
		die("write");
}

/* A record sealed under the link key, the nonce a counter. */
static void
seal(unsigned char *out, const unsigned char *in, size_t n, uint64_t ctr)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};

	memcpy(nonce + 4, &ctr, sizeof ctr);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, n, NULL, 0,
	    NULL, nonce, link_key);
}

static void
open_rec(unsigned char *out, const unsigned char *in, size_t n, uint64_t ctr)
{
	unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};

	memcpy(nonce + 4, &ctr, sizeof ctr);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, n,
	    NULL, 0, nonce, link_key) != 0)
		die("open");
}

struct wal {
	int fd, wb;			/* the file, and read-only for write-back */
	off_t off;
	unsigned char page[8 * PAGE];
};

static void
wal_open(struct wal *w, const char *dir, const char *name)
{
	char p[256];
	unsigned char *z;

	snprintf(p, sizeof p, "%s/path-model-%s.wal", dir, name);
	if ((w->fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (w->wb = open(p, O_RDONLY)) < 0 || (z = calloc(1, 1u << 20)) == NULL)
		die("wal");
	for (unsigned i = 0; i < WAL_BYTES >> 20; i++)
		if (pwrite(w->fd, z, 1u << 20, (off_t)i << 20) != 1 << 20)
			die("pwrite");
	free(z);
	if (fsync(w->fd) != 0)
		die("fsync");
	unlink(p);
	w->off = 0;
	memset(w->page, 0x5a, sizeof w->page);
}

/* A commit of pages frames; work, if any, runs while the disk writes. */
static void
wal_commit(struct wal *w, int pages, void (*work)(void))
{
	size_t n = (size_t)pages * PAGE;

	if (w->off + (off_t)n > (off_t)WAL_BYTES)
		w->off = 0;
	if (pwrite(w->fd, w->page, n, w->off) != (ssize_t)n)
		die("pwrite");
	w->off += (off_t)n;
	if (work != NULL) {
		(void)sync_file_range(w->wb, 0, 0, SYNC_FILE_RANGE_WRITE);
		work();
	}
	if (fdatasync(w->fd) != 0)
		die("fdatasync");
}

static unsigned char receipt[SIGNED + crypto_sign_BYTES];

static void
sign_receipt(void)
{
	crypto_sign_detached(receipt + SIGNED, NULL, receipt, SIGNED, sign_sk);
}

static void
south(int link, const char *dir)
{
	unsigned char rec[SEALED(HEADER + 1024) + SEALED(SIGNED + 64)];
	unsigned char msg[HEADER + 1024], head[SIGNED + 64], h[32];
	unsigned char out[SEALED(sizeof receipt)];
	struct wal w;

	wal_open(&w, dir, "south");
	for (uint64_t i = 0; i < MESSAGES; i++) {
		read_all(link, rec, sizeof rec);
		open_rec(msg, rec, SEALED(sizeof msg), 2 * i);
		open_rec(head, rec + SEALED(sizeof msg), SEALED(sizeof head),
		    2 * i + 1);
		crypto_generichash(h, sizeof h, msg + HEADER, 1024, NULL, 0);
		if (memcmp(h, msg, sizeof h) != 0 ||
		    crypto_sign_verify_detached(head + SIGNED, head, SIGNED,
		    sign_pk) != 0)
			die("head");
		memcpy(receipt, head, SIGNED);
		wal_commit(&w, 6, sign_receipt);
		seal(out, receipt, sizeof receipt, i);
		write_all(link, out, sizeof out);
	}
}

static void
north(int client, int link, const char *dir)
{
	unsigned char body[1024], msg[HEADER + 1024], head[SIGNED + 64];
	unsigned char rec[SEALED(sizeof msg) + SEALED(sizeof head)];
	unsigned char in[SEALED(sizeof receipt)], rc[sizeof receipt];
	unsigned char answer[64] = "ok";
	struct wal w;

	wal_open(&w, dir, "north");
	memset(msg, 0, sizeof msg);
	memset(head, 0, sizeof head);
	for (uint64_t i = 0; i < MESSAGES; i++) {
		read_all(client, body, sizeof body);
		crypto_generichash(msg, 32, body, sizeof body, NULL, 0);
		memcpy(msg + 32, &i, sizeof i);
		memcpy(msg + HEADER, body, sizeof body);
		crypto_generichash(head, 32, msg, HEADER, NULL, 0);
		crypto_sign_detached(head + SIGNED, NULL, head, SIGNED,
		    sign_sk);
		seal(rec, msg, sizeof msg, 2 * i);
		seal(rec + SEALED(sizeof msg), head, sizeof head, 2 * i + 1);
		write_all(link, rec, sizeof rec);
		wal_commit(&w, 8, NULL);
		read_all(link, in, sizeof in);
		open_rec(rc, in, sizeof in, i);
		if (crypto_sign_verify_detached(rc + SIGNED, rc, SIGNED,
		    sign_pk) != 0)
			die("receipt");
		write_all(client, answer, sizeof answer);
	}
}

/* A connected loopback TCP pair, Nagle off. */
static void
tcp_pair(int fd[2])
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int one = 1, ls;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) != 0 ||
	    (fd[0] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(fd[0], (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    (fd[1] = accept(ls, NULL, NULL)) < 0)
		die("loopback");
	close(ls);
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/parley-path-model-XXXXXX";
	unsigned char body[1024], answer[64];
	struct bench_stat fs, rt, lat;
	int client[2], link[2], status;
	double *t;
	pid_t pn, ps;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL ||
	    (t = calloc(MESSAGES, sizeof *t)) == NULL)
		return 1;
	crypto_sign_keypair(sign_pk, sign_sk);
	crypto_aead_chacha20poly1305_ietf_keygen(link_key);
	if (bench_floor_fsync(dir, 500, &fs) != 0 ||
	    bench_floor_rtt(500, &rt) != 0) {
		printf("path_model: cannot measure the floor\n");
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, client) != 0)
		return 1;
	tcp_pair(link);
	if ((ps = fork()) == 0) {
		south(link[1], dir);
		_exit(0);
	}
	if ((pn = fork()) == 0) {
		north(client[1], link[0], dir);
		_exit(0);
	}
	memset(body, 'x', sizeof body);
	for (int i = 0; i < MESSAGES; i++) {
		double t0 = bench_now_us();

		write_all(client[0], body, sizeof body);
		read_all(client[0], answer, sizeof answer);
		t[i] = bench_now_us() - t0;
	}
	waitpid(pn, &status, 0);
	waitpid(ps, &status, 0);
	rmdir(dir);
	lat = bench_stat_of(t, MESSAGES);
	printf("floor: fsync of 4 KiB median %.0f us, loopback round trip "
	    "median %.0f us: 2 fsyncs + 1 round trip = %.0f us\n", fs.median,
	    rt.median, 2 * fs.median + rt.median);
	printf("the protocol's own work, one message alone, send -> "
	    "receipted: median %.0f us (p99 %.0f) = %.2f x the floor "
	    "(%d messages)\n", lat.median, lat.p99,
	    lat.median / (2 * fs.median + rt.median), MESSAGES);
	free(t);
	return 0;
}
