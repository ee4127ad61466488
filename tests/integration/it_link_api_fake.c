/*
 * it_link_api_fake.c: the link layer's interface (link.h) with the test
 * itself as north's peer (an in-process fake south, north a struct link on
 * the test's libevent loop, over loopback TCP): records sent in the
 * response's own write are all delivered, in order, though more than one
 * read callback's worth (the leftover is processed with no new bytes on
 * the socket); records written a byte at a time, a read per byte, arrive
 * whole; link_hold keeps sends off the socket until link_flush, or until
 * the loop's turn ends; a PONG with impossible times is ignored; a rekey
 * whose initiation waits behind a slow path's queue longer than the
 * handshake timeout does not end the session; a stranger's oversized
 * length is refused without the bytes after it being read (the close
 * resets the connection); a peer's second rekey initiation before north
 * could write the first's response ends the session; and link_send on a
 * socket the peer reset returns 0 (queued), the session ending through
 * its handlers, not ERR_IO. Two struct link: it_link_api.c.
 *
 * Ports: 127.0.0.1, 28500-28999, a free block of four (ports.h). Removes
 * its temporary directory.
 */
static char tmpdir[] = "/tmp/parley-it-link-api-fake-XXXXXX";

#include "link_api.h"

/* --- the test as north's peer ------------------------------------------ */

/* An in-process fake south on south's path address: the loop runs north,
 * the test plays south's end of the session byte by byte. */
static struct {
	int lfd, fd;
	bool up;
	struct link_transport tr;
	size_t with_resp;	/* SEQ_TYPE records sent with the response */
	uint8_t in[4 * FRAME_CHUNK_LEN];	/* from north, not yet cut */
	size_t inlen;
	size_t got;		/* SEQ_TYPE records north sent, read here */
	uint8_t last[SEQ_BODY_MAX];
	size_t last_len;
} fk = { .lfd = -1, .fd = -1 };

static bool
fake_open(int port)
{
	struct sockaddr_in sa;
	int one = 1;

	fk.lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fk.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa = loopback(port);
	if (fk.lfd < 0 ||
	    bind(fk.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(fk.lfd, 4) != 0 || fcntl(fk.lfd, F_SETFL, O_NONBLOCK) != 0)
		return false;
	fk.fd = -1;
	fk.up = false;
	fk.inlen = fk.got = 0;
	return true;
}

static void
fake_close(void)
{
	if (fk.up)
		link_transport_fini(&fk.tr);
	if (fk.fd >= 0)
		close(fk.fd);
	if (fk.lfd >= 0)
		close(fk.lfd);
	fk.fd = fk.lfd = -1;
	fk.up = false;
}

/* A frame for one record under the fake's keys; its length. */
static size_t
fake_seal(uint8_t type, const uint8_t *body, size_t len, uint8_t *out)
{
	size_t n = 0;

	if (link_transport_seal(&fk.tr, type, body, len, out + FRAME_HDR_LEN,
	    LINK_DATA_LEN(len), &n) != 0 || frame_header(out, n) != 0)
		return 0;
	return FRAME_HDR_LEN + n;
}

static size_t
bytes_waiting(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

/*
 * A run_until condition: accepts north's dial; once the whole initiation
 * is in, answers it, and writes fk.with_resp SEQ_TYPE records after the
 * response in the same write(2). True once north's path is up.
 */
static bool
fake_answered(void)
{
	static uint8_t out[2 + LINK_RESP_LEN + 200 * (2 + LINK_DATA_LEN(
	    SEQ_BODY_MAX))];
	uint8_t mk[32], init[2 + LINK_INIT_LEN], ts[LINK_TS_LEN];
	uint8_t body[SEQ_BODY_MAX];
	struct link_hs_params hp;
	struct noise_handshake hs;
	struct noise_cipher snd, rcv;
	size_t n, len;

	if (fk.fd < 0) {
		int one = 1;
		if ((fk.fd = accept(fk.lfd, NULL, NULL)) < 0)
			return false;
		/* each write its own segment: no Nagle in the byte test */
		setsockopt(fk.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	if (!fk.up) {
		if (bytes_waiting(fk.fd) < sizeof init)
			return false;
		if (read(fk.fd, init, sizeof init) != (ssize_t)sizeof init)
			return false;
		south_hs_params(&hp, mk);
		if (link_hs_read_init(&hs, &hp, init + 2, LINK_INIT_LEN,
		    ts) != 0 ||
		    link_hs_write_resp(&hs, &hp, out + 2, &snd, &rcv) != 0)
			return false;
		out[0] = 0;
		out[1] = LINK_RESP_LEN;
		link_transport_init(&fk.tr, &snd, &rcv, false, 0);
		fk.up = true;
		n = 2 + LINK_RESP_LEN;
		for (size_t i = 0; i < fk.with_resp && i < 200; i++) {
			len = seq_body(body, i);
			n += fake_seal(SEQ_TYPE, body, len, out + n);
		}
		CHECK_INT(write(fk.fd, out, n), (ssize_t)n);
	}
	return north.ups >= 1;
}

/*
 * Reads what north wrote (waiting up to ms for something new) and opens
 * each whole frame: SEQ_TYPE records are counted in fk.got (the last kept
 * in fk.last), others (pings) skipped. False on a frame that does not
 * open.
 */
static bool
fake_read(int ms)
{
	struct pollfd pfd = { .fd = fk.fd, .events = POLLIN };
	const uint8_t *body;
	size_t flen, blen, off = 0;
	uint8_t type;
	ssize_t r;

	if (poll(&pfd, 1, ms) > 0 && (r = read(fk.fd, fk.in + fk.inlen,
	    sizeof fk.in - fk.inlen)) > 0)
		fk.inlen += (size_t)r;
	while (fk.inlen - off >= 2) {
		flen = (size_t)fk.in[off] << 8 | fk.in[off + 1];
		if (fk.inlen - off - 2 < flen)
			break;
		if (link_transport_open(&fk.tr, fk.in + off + 2, flen, &type,
		    &body, &blen) != 0)
			return false;
		if (type == SEQ_TYPE && blen <= sizeof fk.last) {
			fk.got++;
			memcpy(fk.last, body, blen);
			fk.last_len = blen;
		}
		off += 2 + flen;
	}
	memmove(fk.in, fk.in + off, fk.inlen - off);
	fk.inlen -= off;
	return true;
}

static bool north_got_100(void) { return north.nrec >= 100; }
static bool north_got_106(void) { return north.nrec >= 106; }
static bool fake_readable(void) { return bytes_waiting(fk.fd) > 0; }

/*
 * North dials the fake south, whose response comes in one write(2) with
 * 100 short records behind it (about 7 KiB: one read, more frames than
 * one read callback takes). North reads the response alone, takes the
 * keys, and delivers all 100 in order: the 36 left after the first 64 are
 * processed though no new byte comes (the fake sends nothing more).
 */
static void
test_records_with_response(void)
{
	CHECK(fake_open(base_port + 1));
	fk.with_resp = 100;
	opt_hb_ms = 20000;		/* no silence limit in the way */
	side_start(&north, &ag, 1, 0);
	opt_hb_ms = 0;
	CHECK(run_until(fake_answered, 10000));
	CHECK(run_until(north_got_100, 5000));
	CHECK_INT(north.nrec, 100);
	CHECK_INT(north.seq_bad, 0);
	CHECK_INT(north.downs, 0);
}

/*
 * Records written to north a byte at a time (TCP_NODELAY), the loop run
 * after each byte, so north reads them in as many pieces as loopback
 * delivers (mostly one byte each): header and body split everywhere, the
 * records delivered whole and in order. test_frame cuts a stream at every
 * boundary deterministically; this is the same through conn.c's reads.
 * The session of test_records_with_response.
 */
static void
test_records_byte_by_byte(void)
{
	static uint8_t stream[6 * (2 + LINK_DATA_LEN(SEQ_BODY_MAX))];
	uint8_t body[SEQ_BODY_MAX];
	size_t n = 0, len;
	int before = north.nrec;

	if (!fk.up || north.l == NULL) {
		CHECK(fk.up);
		return;
	}
	for (uint64_t i = 100; i < 106; i++) {
		len = seq_body(body, i);
		n += fake_seal(SEQ_TYPE, body, len, stream + n);
	}
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(write(fk.fd, stream + i, 1), 1);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	run_until(north_got_106, 3000);
	CHECK_INT(north.nrec - before, 6);
	CHECK_INT(north.seq_bad, 0);
	CHECK_INT(north.downs, 0);
}

static int pong_want;
static bool north_got_pong_want(void) { return north.nrec >= pong_want; }

/* The fake sends a PONG with times t1..t3, then a record of type 0x22
 * behind it, and waits until north has delivered that record: the PONG
 * was handled. */
static void
fake_pong(uint64_t t1, uint64_t t2, uint64_t t3)
{
	uint8_t body[LINK_PONG_LEN], out[2 * (2 + LINK_DATA_LEN(
	    LINK_PONG_LEN))];
	size_t n;

	link_put64(body, t1);
	link_put64(body + 8, t2);
	link_put64(body + 16, t3);
	n = fake_seal(0x02, body, sizeof body, out);
	n += fake_seal(0x22, body, 1, out + n);
	pong_want = north.nrec + 1;
	CHECK_INT(write(fk.fd, out, n), (ssize_t)n);
	CHECK(run_until(north_got_pong_want, 3000));
}

/*
 * A PONG's times are the peer's to choose. One that cannot be (t1 at
 * 2^63, t3 at 2^64-1) is ignored: the path's RTT stays unknown (the fake
 * answers none of north's pings). Before, north computed with them in
 * int64: a signed overflow (an abort under the UBSan build) and an RTT
 * of 0 shown as measured. A sane one still gives the RTT. The session of
 * test_records_with_response.
 */
static void
test_pong_times_checked(void)
{
	struct link_channel_status st;
	uint64_t t;

	if (!fk.up || north.l == NULL) {
		CHECK(fk.up);
		return;
	}
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	CHECK(!st.paths[0].have_rtt);
	fake_pong((uint64_t)1 << 63, 0, UINT64_MAX);
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	CHECK(!st.paths[0].have_rtt);
	t = unix_ns();
	fake_pong(t - 50000000u, t - 30000000u, t - 30000000u);
	CHECK(link_channel_status(north.l, 0, &st) == 0);
	CHECK(st.paths[0].have_rtt);
	CHECK(st.paths[0].rtt_ms >= 49.0);
	CHECK_INT(north.downs, 0);
}

/*
 * link_hold: three records sent, nothing on the socket (the loop does not
 * run in between), then link_flush writes them, in order. A hold not
 * ended by link_flush ends with the loop's turn: the record arrives.
 */
static void
test_hold_flush(void)
{
	uint8_t body[SEQ_BODY_MAX];
	size_t len;

	if (!fk.up || north.l == NULL) {
		CHECK(fk.up);
		return;
	}
	CHECK(fake_read(200));		/* north's pings so far */
	while (bytes_waiting(fk.fd) > 0)
		CHECK(fake_read(0));
	fk.got = 0;
	link_hold(north.l);
	for (uint64_t i = 0; i < 3; i++) {
		len = seq_body(body, i);
		CHECK_INT(link_send(north.l, ag.id, 0, SEQ_TYPE, body, len),
		    0);
	}
	CHECK_INT(bytes_waiting(fk.fd), 0);
	link_flush(north.l);
	for (int k = 0; k < 20 && fk.got < 3; k++)
		CHECK(fake_read(100));
	CHECK_INT(fk.got, 3);
	len = seq_body(body, 2);
	CHECK_INT(fk.last_len, len);
	CHECK_MEM(fk.last, body, len);

	link_hold(north.l);
	len = seq_body(body, 7);
	CHECK_INT(link_send(north.l, ag.id, 0, SEQ_TYPE, body, len), 0);
	CHECK_INT(bytes_waiting(fk.fd), 0);
	CHECK(run_until(fake_readable, 2000));
	for (int k = 0; k < 20 && fk.got < 4; k++)
		CHECK(fake_read(100));
	CHECK_INT(fk.got, 4);
	CHECK_INT(fk.last_len, len);
	CHECK_MEM(fk.last, body, len);
	CHECK_INT(north.downs, 0);
	stop(&north);
	fake_close();
}

/*
 * A rekey on a slow path: north (the initiator, rekey every second,
 * handshake timeout 300 ms) queues 160 KB of records that the fake south
 * reads at about 40 KB/s, so north's rekey initiation, queued behind
 * them, reaches south some 3 s after it was sent; south answers it at
 * once. The session must survive and the rekey complete: the initiation
 * waited in north's own queue, and the peer was live all along. Before,
 * the rekey had the handshake timeout from its queueing: the session
 * ended ("handshake ... timed out") at every rekey of a path slower than
 * its queue (4 MiB in 5 s: about 7 Mbit/s).
 */
static void
test_rekey_slow_path(void)
{
	static uint8_t rec[4000], buf[1 << 16];
	uint8_t mk[32], ts[LINK_TS_LEN], resp[2 + LINK_RESP_LEN];
	struct link_hs_params hp;
	struct noise_handshake hs;
	struct noise_cipher snd, rcv;
	size_t inlen = 0, off, flen, total = 0;
	long long rk;
	int answered = 0;
	ssize_t n;

	CHECK(fake_open(base_port + 1));
	fk.with_resp = 0;
	opt_hb_ms = 20000;		/* no ping or silence in the way */
	opt_rekey_s = 1;
	opt_hs_ms = 300;
	side_start(&north, &ag, 1, 0);
	opt_hb_ms = opt_rekey_s = opt_hs_ms = 0;
	CHECK(run_until(fake_answered, 10000));
	rk = rekeys(&north);
	for (int i = 0; i < 40; i++)
		CHECK_INT(link_send(north.l, ag.id, 0, 0x20, rec, sizeof rec),
		    0);
	south_hs_params(&hp, mk);
	/* 4000 bytes a tenth of a second; the loop runs in between */
	for (int k = 0; k < 150 && north.downs == 0 && rekeys(&north) == rk;
	    k++) {
		run_until(both_down, 100);
		n = recv(fk.fd, buf + inlen, 4000, MSG_DONTWAIT);
		if (n > 0)
			inlen += (size_t)n, total += (size_t)n;
		for (off = 0; inlen - off >= 2; off += 2 + flen) {
			flen = (size_t)buf[off] << 8 | buf[off + 1];
			if (inlen - off - 2 < flen)
				break;
			if (buf[off + 2] != LINK_TYPE_INIT)
				continue;
			if (link_hs_read_init(&hs, &hp, buf + off + 2, flen,
			    ts) != 0 || link_hs_write_resp(&hs, &hp, resp + 2,
			    &snd, &rcv) != 0)
				continue;
			link_transport_rekey(&fk.tr, &snd, &rcv, 0);
			resp[0] = 0;
			resp[1] = LINK_RESP_LEN;
			CHECK_INT(write(fk.fd, resp, sizeof resp),
			    (ssize_t)sizeof resp);
			answered++;
		}
		memmove(buf, buf + off, inlen - off);
		inlen -= off;
	}
	run_until(both_down, 300);
	printf("  %zu bytes read at 40 KB/s, the rekey answered %d time(s)\n",
	    total, answered);
	CHECK_INT(answered, 1);
	CHECK(rekeys(&north) > rk);
	CHECK_INT(north.downs, 0);
	stop(&north);
	fake_close();
}

static int stranger = -1;
static int stranger_err;

static bool
stranger_closed(void)
{
	uint8_t b[16];
	ssize_t r = recv(stranger, b, sizeof b, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	stranger_err = r < 0 ? errno : 0;
	return true;
}

/*
 * A stranger's frame length over the initiation's (65535) with 4000
 * bytes after it, in one write: the listener refuses at the length and
 * closes without reading on. The bytes it left unread make the close a
 * reset (Linux sends RST when a socket closes with unread data): had it
 * read them, the stranger would see a plain end of stream.
 */
static void
test_oversized_unread(void)
{
	static uint8_t junk[2 + 4000];
	struct sockaddr_in sa;

	side_start(&south, &ag, 1, 0);
	memset(junk, 0x41, sizeof junk);
	junk[0] = junk[1] = 0xff;
	sa = loopback(base_port + 1);
	stranger = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(stranger >= 0 &&
	    connect(stranger, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK_INT(write(stranger, junk, sizeof junk), (ssize_t)sizeof junk);
	CHECK(run_until(stranger_closed, 5000));
	CHECK_INT(stranger_err, ECONNRESET);
	close(stranger);
	stop(&south);
}

static int dial_fd = -1;
static bool dial_answered(void)
{
	return bytes_waiting(dial_fd) >= 2 + LINK_RESP_LEN;
}

/* The test, as south, dials north's path address (its socket's
 * SO_RCVBUF rcvbuf; 0: the default) and completes the handshake as the
 * initiator; the socket (kept open: the session stays up at north), or
 * -1. */
static int
fake_dial(int port, int rcvbuf)
{
	struct sockaddr_in sa;
	struct link_hs_params hp;
	struct noise_handshake hs;
	struct noise_cipher snd, rcv;
	uint8_t mk[32], ts[LINK_TS_LEN], init[2 + LINK_INIT_LEN];
	uint8_t resp[2 + LINK_RESP_LEN];
	int fd, ok = 0;

	sa = loopback(port);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	south_hs_params(&hp, mk);
	link_ts_encode(ts, unix_ns());
	if (link_hs_write_init(&hs, &hp, ts, init + 2) == 0) {
		init[0] = 0;
		init[1] = LINK_INIT_LEN;
		dial_fd = fd;
		ok = write(fd, init, sizeof init) == (ssize_t)sizeof init &&
		    run_until(dial_answered, 5000) &&
		    read(fd, resp, sizeof resp) == (ssize_t)sizeof resp &&
		    link_hs_read_resp(&hs, &hp, resp + 2, LINK_RESP_LEN, &snd,
		    &rcv) == 0;
	}
	if (!ok) {
		close(fd);
		return -1;
	}
	noise_cipher_fini(&snd);
	noise_cipher_fini(&rcv);
	return fd;
}

/* Starts north (heartbeats every 20 s: the test answers no ping) and
 * dials it as south (fake_dial, SO_RCVBUF rcvbuf) until its path is up;
 * the socket, or -1. */
static int
north_dialled(int rcvbuf)
{
	int a;

	opt_hb_ms = 20000;
	side_start(&north, &ag, 1, 0);
	opt_hb_ms = 0;
	a = fake_dial(base_port, rcvbuf);
	CHECK(a >= 0);
	CHECK(run_until(north_up_1, 5000));
	return a;
}

/*
 * A second session on a path that is up replaces the first (both started
 * by south: the newer stays, invariant 3 of link.c): the path stays up,
 * and the layer above is told all the same (path_change up again, no
 * down): what it sent on the old session went with it (the message layer
 * restarts that path's FLASH copy run). The test dials north twice as
 * south. Before, the swap was silent: one up.
 */
static void
test_duplicate_swap_told(void)
{
	int a, b;

	a = north_dialled(0);
	b = fake_dial(base_port, 0);
	CHECK(b >= 0);
	run_until(north_up_2, 3000);
	CHECK_INT(north.ups, 2);
	CHECK_INT(north.downs, 0);
	stop(&north);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

/*
 * link_send on a session whose socket is broken (the peer reset it) keeps
 * its contract (link.h): 0, the record queued, and the session ends
 * through its handlers (path down), as a write failing in link_flush
 * does. Before, it returned ERR_IO, which the contract does not list.
 */
static void
test_send_on_broken_socket(void)
{
	struct linger lg = { 1, 0 };
	uint8_t rec[16] = { 0 };
	int a, r = 0;

	a = north_dialled(0);
	/* a reset: north's next write fails (EPIPE / ECONNRESET) */
	if (a >= 0) {
		setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(a);
	}
	usleep(50000);
	for (int i = 0; i < 3 && r == 0; i++)
		r = link_send(north.l, ag.id, 0, 0x20, rec, sizeof rec);
	CHECK_INT(r, 0);
	CHECK(run_until(north_down_1, 3000));
	stop(&north);
}

/*
 * One rekey at a time, enforced at the responder: the test (as south,
 * the initiator) sends two rekey initiations back to back while north's
 * queue is full (4 MiB, the test reads nothing; the kernel takes at most
 * some 200 KB more when they arrive), so north's response to the first
 * is still in its queue when the second arrives:
 * the initiator cannot have read it. North answers the first and ends
 * the session at the second. Before, north answered every one, each
 * response queued over out_max: a peer sending initiations and reading
 * nothing grew north's queue without bound (70 bytes and an fsync each).
 */
static void
test_rekey_one_at_a_time(void)
{
	static uint8_t rec[4000];
	uint8_t two[2 * (2 + LINK_INIT_LEN)];
	long long rk;
	int a, r = 0, sent = 0;

	a = north_dialled(4096);	/* the kernel holds little of it */
	/* north's queue full, and still full after the loop ran a while
	 * (until then the kernel takes more of it: its buffers fill) */
	for (int k = 0, more = 1; k < 50 && more > 0; k++) {
		more = 0;
		while (sent < 40000 && (r = link_send(north.l, ag.id, 0, 0x20,
		    rec, sizeof rec)) == 0)
			sent++, more++;
		CHECK_INT(r, ERR_FULL);
		run_until(north_down_1, 200);
	}
	rk = rekeys(&north);
	for (int i = 0; i < 2; i++)
		make_init(two + i * (2 + LINK_INIT_LEN),
		    unix_ns() + (uint64_t)i, NULL);
	if (a >= 0)
		CHECK_INT(write(a, two, sizeof two), (ssize_t)sizeof two);
	run_until(north_down_1, 3000);
	CHECK_INT(rekeys(&north) - rk, 1);
	CHECK_INT(north.downs, 1);
	stop(&north);
	if (a >= 0)
		close(a);
}

int
main(void)
{
	if (!link_api_begin("it_link_api_fake", 28500, 29000))
		return 1;
	RUN(test_records_with_response);
	RUN(test_records_byte_by_byte);
	RUN(test_pong_times_checked);
	RUN(test_hold_flush);
	RUN(test_rekey_slow_path);
	RUN(test_oversized_unread);
	RUN(test_duplicate_swap_told);
	RUN(test_rekey_one_at_a_time);
	RUN(test_send_on_broken_socket);
	return link_api_end();
}
