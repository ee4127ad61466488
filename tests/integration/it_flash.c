/*
 * it_flash.c: FLASH and slow paths between real parleyd processes on
 * loopback (a north and south pair set up as it_messages.c's): FLASH
 * sent last after 1,000 ROUTINE to a stopped (SIGSTOP) peer, and to a
 * slow one behind tools/throttle, arrives before most of them; a slow
 * path resends nothing while its session still has bytes to send; a
 * FLASH sent while the active path's relay is stopped (SIGSTOP: the
 * connection stays open, nothing passes) reaches south at once over the
 * other path, before the link notices (path 0 still up), and its repeat
 * is harmless.
 *
 * Ports: 127.0.0.1, 18400-18699, a free block of 14 (ports.h). Kills
 * only its own children; removes its temporary directory; bounded by an
 * alarm.
 */
#include "msg_pair.h"

/* --- FLASH overtakes ------------------------------------------------------- */

static void
test_flash_overtakes(void)
{
	json_t *r, *m;
	long long base = msg_field(home_n, "assigned"), fseq = -1;
	size_t i;
	int ok = 0;
	char text[64];

	CHECK(wait_synced(15000));
	kill_pid(pid_s, SIGSTOP);
	for (int k = 0; k < 1000; k++) {
		snprintf(text, sizeof text, "routine %d", k);
		ok += send_text(home_n, text, "routine", NULL, 0) == 1;
	}
	ok += send_text(home_n, "FLASH: sent last", "flash", NULL, 0) == 1;
	kill_pid(pid_s, SIGCONT);
	CHECK_INT(ok, 1001);
	CHECK(wait_settled(60000));
	r = call(home_n, json_pack("{s:s, s:i}", "cmd", "log", "max", 1100));
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "precedence")),
		    "flash") == 0 && fseq < 0)
			fseq = json_integer_value(json_object_get(m, "seq"));
	json_decref(r);
	printf("  FLASH was number %lld of 1001 (1,000 ROUTINE queued "
	    "before it)\n", fseq - base);
	CHECK(fseq > base && fseq - base < 500);
}

/*
 * North and south (stopped first) with north's sends through
 * tools/throttle at rate bytes a second (south's answers pass at once),
 * their link up (pair_start_relayed), and the relay's pid (SIGUSR1 pauses
 * and resumes it); heartbeats 10 s apart, so a paused relay keeps the
 * link up.
 */
static pid_t
start_throttled(const char *rate)
{
	pid_t thr = -1;

	stop_pair(NULL, NULL);
	CHECK(pair_start_relayed(rate, "\"heartbeat_ms\": 10000, ", &thr));
	return thr;
}

/* The relay stopped, the pair back on the common configuration. */
static void
stop_throttled(pid_t thr)
{
	kill_pid(thr, SIGKILL);
	reap(thr, 2000);
	restart_pair(conf, conf);
	CHECK(wait_synced(15000));
}

/* The same through tools/throttle (start_throttled): south is slow
 * (nothing passes while the backlog is queued, then 100 KB/s from north)
 * with its link up. */
static void
test_flash_slow_peer(void)
{
	char text[400];
	long long base, fseq = -1;
	json_t *r, *m;
	pid_t thr;
	size_t i;
	int ok = 0;

	thr = start_throttled("100000");
	base = msg_field(home_n, "assigned");
	/* Nothing passes while the backlog is queued (heartbeats are 10 s
	 * apart here, so the link stays up); then 100 KB/s. */
	kill_pid(thr, SIGUSR1);
	usleep(100000);
	memset(text, '.', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	for (int k = 0; k < 1000; k++) {
		int n = snprintf(text, 32, "slow routine %d", k);
		text[n] = ' ';
		ok += send_text(home_n, text, "routine", NULL, 0) == 1;
	}
	printf("  1,000 ROUTINE queued; north has %lld receipted of them\n",
	    msg_field(home_n, "receipted") - base);
	ok += send_text(home_n, "FLASH: sent last, slow peer", "flash", NULL,
	    0) == 1;
	kill_pid(thr, SIGUSR1);
	CHECK_INT(ok, 1001);
	CHECK(wait_settled(60000));
	r = call(home_s, json_pack("{s:s, s:i}", "cmd", "inbox", "max",
	    1100));
	json_array_foreach(json_object_get(json_object_get(r, "result"),
	    "messages"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "precedence")),
		    "flash") == 0 && fseq < 0)
			fseq = json_integer_value(json_object_get(m, "seq"));
	json_decref(r);
	printf("  FLASH arrived as number %lld of 1001 at the slow peer\n",
	    fseq - base);
	CHECK(fseq > base && fseq - base < 500);
	stop_throttled(thr);
}

/*
 * A slow path (tools/throttle, 200 KB/s from north): three messages of
 * 800 KB, each longer on the wire than the sender's stall timer (3 s).
 * North resends nothing while its session still has bytes to send
 * (link_queued): copies would only queue behind what is on its way and
 * delay what comes after (before: 3 resends, and a short message sent
 * next took 24 s, behind 2.4 MB of copies; now about 0.1 s).
 */
static void
test_slow_path_no_resend(void)
{
	char *text = malloc(800001);
	long long r0;
	uint64_t t0;
	pid_t thr;
	int ok = 0;

	thr = start_throttled("200000");
	r0 = msg_field(home_n, "resends");
	t0 = now_ms();
	for (int k = 0; k < 3; k++) {
		char f[1400], cmd[4000];
		FILE *fp;

		memset(text, 'a' + k, 800000);
		snprintf(f, sizeof f, "%s/big.txt", home_n);
		if ((fp = fopen(f, "w")) != NULL) {
			fwrite(text, 1, 800000, fp);
			fclose(fp);
		}
		snprintf(cmd, sizeof cmd, "%s/parley send --home %s --file %s "
		    ">/dev/null", build, home_n, f);
		ok += system(cmd) == 0;
	}
	CHECK_INT(ok, 3);
	CHECK(wait_settled(120000));
	printf("  3 x 800 KB at 200 KB/s: settled in %llu ms, %lld resends\n",
	    (unsigned long long)(now_ms() - t0),
	    msg_field(home_n, "resends") - r0);
	CHECK_INT(msg_field(home_n, "resends") - r0, 0);
	t0 = now_ms();
	CHECK_INT(send_text(home_n, "a short one after them", "routine", NULL,
	    0), 1);
	CHECK(wait_settled(120000));
	printf("  then a short one: settled in %llu ms\n",
	    (unsigned long long)(now_ms() - t0));
	free(text);
	stop_throttled(thr);
}

/*
 * Path 0 (the active one) goes through tools/throttle, path 1 is direct;
 * north dials both (north listens elsewhere, so south's dials fail). The
 * relay is stopped (SIGSTOP): its connections stay open and nothing
 * passes, so the link sees path 0 up until 2 heartbeat intervals of
 * silence (heartbeat_ms 15000 here: 30 s; the agreement's 1 s would
 * make it 2 s). A FLASH sent then is in south's inbox while north still
 * shows path 0 up: it came over path 1, before any failover. Once the
 * relay goes on, south gets the copy on path 0 again: taken as a repeat,
 * nothing refused, the FLASH in the inbox once.
 */
static void
test_flash_every_path(void)
{
	const char *text = "FLASH: on every live path";
	long long refused;
	uint64_t t0, took = 0;
	bool in = false;

	relayed_pair("\"heartbeat_ms\": 15000, ");
	refused = msg_field(home_s, "refused");

	kill_pid(pid_relay, SIGSTOP);
	t0 = now_ms();
	CHECK_INT(send_text(home_n, text, "flash", NULL, 0), 1);
	while (!(in = inbox_count(home_s, text, 50) > 0) &&
	    now_ms() - t0 < 20000)
		usleep(20000);
	took = now_ms() - t0;
	CHECK(in);
	/* south's receipt came back on path 1, where the copy got through:
	 * north's operator sees the FLASH receipted */
	while (msg_field(home_n, "receipted") < msg_field(home_n, "assigned")
	    && now_ms() - t0 < 20000)
		usleep(20000);
	CHECK_INT(msg_field(home_n, "receipted"), msg_field(home_n,
	    "assigned"));
	/* before the link noticed anything: path 0 still up and active */
	CHECK_INT(path_up(home_n, NULL, 0), 1);
	CHECK_INT(msg_field(home_n, "active_path"), 0);
	printf("  FLASH %s south's inbox %llu ms after the send; path 0 "
	    "(stopped relay) up: %d\n", in ? "in" : "NOT in",
	    (unsigned long long)took, path_up(home_n, NULL, 0));
	kill_pid(pid_relay, SIGCONT);

	/* path 0 flows again: the repeat changes nothing */
	CHECK(wait_settled(30000));
	CHECK_INT(inbox_count(home_s, text, 50), 1);
	CHECK_INT(msg_field(home_s, "refused"), refused);
	relayed_pair_end();
}

int
main(void)
{
	if (!msg_pair_begin("it_flash", 18400, 18700, true))
		return 1;
	RUN(test_flash_overtakes);
	RUN(test_flash_slow_peer);
	RUN(test_slow_path_no_resend);
	RUN(test_flash_every_path);
	return msg_pair_end();
}
