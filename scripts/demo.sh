#!/bin/sh
# make demo: a scripted crisis exercise on loopback, fictional parties north
# and south. Each node lives in its own home under a temporary directory;
# the daemons are stopped and the directory removed at the end.
set -eu
BUILD=${BUILD:-build}
P="$PWD/$BUILD/parley"
PD="$PWD/$BUILD/parleyd"
D=$(mktemp -d /tmp/parley-demo.XXXXXX)
PIDS=""
cleanup() {
	for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
	for pid in $PIDS; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

step() { printf '\n=== %s\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s#$D/##g; s#$PWD/##g"; "$@"; }

step "1. Each party creates its node"
run "$P" init --home "$D/north" --name north
run "$P" init --home "$D/south" --name south
run "$P" id --home "$D/north"
run "$P" id --home "$D/south"

step "2. south gives north its public identity; north drafts the channel agreement"
run "$P" id --home "$D/south" --export "$D/south.id"
run "$P" channel draft --home "$D/north" --peer "$D/south.id" \
    --paths 127.0.0.1:7101,127.0.0.1:7102 \
    --peer-paths 127.0.0.1:7111,127.0.0.1:7112 \
    --language en --peer-language fr --heartbeat 1 --deadline routine=4 \
    --out "$D/north-south.agreement"

step "3. Both sign it (the file travels by hand: it holds the pre-shared key)"
run "$P" channel sign --home "$D/north" "$D/north-south.agreement"
run "$P" channel sign --home "$D/south" "$D/north-south.agreement"

step "4. Both import it; the officers read the fingerprints to each other"
run "$P" channel add --home "$D/north" "$D/north-south.agreement"
run "$P" channel add --home "$D/south" "$D/north-south.agreement"
run "$P" channel list --home "$D/north"
run "$P" channel list --home "$D/south"
fn=$("$P" channel list --home "$D/north" --json | grep -o '"fingerprint": *"[0-9 ]*"')
fs=$("$P" channel list --home "$D/south" --json | grep -o '"fingerprint": *"[0-9 ]*"')
if [ "$fn" = "$fs" ]; then
	echo "north and south read the same fingerprint: ${fn#*: }"
else
	echo "FINGERPRINTS DIFFER: north $fn, south $fs" >&2
	exit 1
fi

step "5. Both daemons start; the two paths come up"
# The operators (docs/operators.md): whoever runs the demo is each node's
# named duty officer, with every role (a one-person watch).
for side in "north:Maj. Aster (north duty officer)" "south:Capt. Lark (south duty officer)"; do
	printf '{"version": 1, "operators": [{"uid": %s, "name": "%s", "roles": ["duty-officer", "principal", "communications-officer", "auditor"]}]}\n' \
	    "$(id -u)" "${side#*:}" > "$D/${side%%:*}/roles.json"
	chmod 600 "$D/${side%%:*}/roles.json"
done
# A co-signed checkpoint every 5 messages (both ways), so that this short
# exercise shows one (the default is every 100, or 10 minutes).
for side in north south; do
	printf '{"checkpoint_every": 5}\n' > "$D/$side/parleyd.conf"
done
"$PD" --home "$D/north" 2>"$D/north.log" &
PIDS="$PIDS $!"
"$PD" --home "$D/south" 2>"$D/south.log" &
PIDS="$PIDS $!"
up=0
for _ in $(seq 1 100); do
	n=$("$P" status --home "$D/north" --json 2>/dev/null | grep -o '"up": *true' | wc -l || true)
	s=$("$P" status --home "$D/south" --json 2>/dev/null | grep -o '"up": *true' | wc -l || true)
	if [ "$n" -ge 2 ] && [ "$s" -ge 2 ]; then up=1; break; fi
	sleep 0.1
done
sleep 1.5 # a heartbeat or two, for round-trip times
run "$P" status --home "$D/north"
run "$P" status --home "$D/south"
[ "$up" -eq 1 ] || { echo "the paths did not come up; logs:" >&2; cat "$D/north.log" "$D/south.log" >&2; exit 1; }

step "5b. Messages: north sends one of each precedence; south's inbox; north's log"
for prec in routine priority immediate flash; do
	run "$P" send --home "$D/north" --precedence "$prec" --marking releasable \
	    "north to south, $prec: status report follows"
done
run "$P" send --home "$D/south" --to north "south to north: report received"
for _ in $(seq 1 100); do
	r=$("$P" log --home "$D/north" --json | grep -c '"state": *"receipted"' || true)
	[ "$r" -ge 4 ] && break
	sleep 0.1
done
run "$P" inbox --home "$D/south"
run "$P" log --home "$D/north"
id=$("$P" inbox --home "$D/south" --json | grep -o '"id": *"[0-9a-f]*"' | head -n 1 | grep -o '[0-9a-f]\{64\}')
run "$P" show --home "$D/south" "$(echo "$id" | cut -c1-12)"
[ "$r" -ge 4 ] || { echo "the messages were not receipted; logs:" >&2; tail -n 20 "$D/north.log" "$D/south.log" >&2; exit 1; }

step "5c. The record: a co-signed checkpoint; each audit log anchored by the peer; both sides verify and print the same transcript head"
hn="" hs="" cn="" cs=""
for _ in $(seq 1 100); do
	hn=$("$P" verify --home "$D/north" | grep 'transcript head' || true)
	hs=$("$P" verify --home "$D/south" | grep 'transcript head' || true)
	cn=$("$P" verify --home "$D/north" | grep -o '[1-9][0-9]* checkpoints verified' || true)
	cs=$("$P" verify --home "$D/south" | grep -o '[1-9][0-9]* checkpoints verified' || true)
	[ -n "$hn" ] && [ "$hn" = "$hs" ] && [ -n "$cn" ] && [ -n "$cs" ] && break
	sleep 0.1
done
[ -n "$cn" ] && [ -n "$cs" ] || { echo "no co-signed checkpoint on both sides; logs:" >&2; tail -n 20 "$D/north.log" "$D/south.log" >&2; exit 1; }
grep -h 'checkpoint co-signed' "$D/north.log" "$D/south.log" | sed 's/^/log: /' 
# each side has the other sign its audit log's head now, rather than at
# the next scheduled ask (ten minutes): verify then names the anchor
run "$P" anchor --home "$D/north"
run "$P" anchor --home "$D/south"
run "$P" verify --home "$D/north"
run "$P" verify --home "$D/south"
if [ -n "$hn" ] && [ "$hn" = "$hs" ]; then
	echo "north and south print the same${hn#*transcript}"
else
	echo "TRANSCRIPT HEADS DIFFER: north '$hn', south '$hs'" >&2
	exit 1
fi
# south discloses one RELEASABLE message from north (the one shown above), and no other body
run "$P" export --home "$D/south" --channel north --only "$(echo "$id" | cut -c1-16)" "$D/one-message.export"
run "$P" verify --file "$D/one-message.export"
run "$P" show --file "$D/one-message.export"

step "5d. People in the loop: north sends a FLASH and a ROUTINE; south acknowledges the FLASH"
# (the agreement shortened the ROUTINE acknowledgment deadline to 4 s for the demo)
fl=$("$P" send --home "$D/north" --precedence flash "north to south, FLASH: acknowledge at once")
rt=$("$P" send --home "$D/north" --precedence routine "north to south, ROUTINE: weekly summary")
echo "north sent $fl (FLASH) and $rt (ROUTINE)"
fid="" rid=""
for _ in $(seq 1 100); do
	fid=$("$P" show --home "$D/north" --json "$fl" | grep -o '"id": "[0-9a-f]\{64\}"' | grep -o '[0-9a-f]\{64\}' || true)
	rid=$("$P" show --home "$D/north" --json "$rt" | grep -o '"id": "[0-9a-f]\{64\}"' | grep -o '[0-9a-f]\{64\}' || true)
	[ -n "$fid" ] && [ -n "$rid" ] && "$P" show --home "$D/south" "$fid" >/dev/null 2>&1 && break
	sleep 0.1
done
run "$P" show --home "$D/south" "$(echo "$fid" | cut -c1-12)"
run "$P" ack --home "$D/south" "$(echo "$fid" | cut -c1-12)" "understood; standing by"
for _ in $(seq 1 100); do
	"$P" show --home "$D/north" --json "$fid" | grep -q '"ack_state": "acknowledged"' && break
	sleep 0.1
done
run "$P" show --home "$D/north" "$(echo "$fid" | cut -c1-12)"
echo "(waiting for the ROUTINE deadline to pass: nobody acknowledges it)"
for _ in $(seq 1 100); do
	"$P" alerts --home "$D/north" --json | grep -q "$rid" && \
	    "$P" alerts --home "$D/south" --json | grep -q "$rid" && break
	sleep 0.1
done
run "$P" alerts --home "$D/north"
run "$P" alerts --home "$D/south"
run "$P" status --home "$D/north" --json | grep -A 8 '"peer_overdue"' | head -n 8
an=$("$P" alerts --home "$D/north" --json | tr -d ' \n' | grep -o "{[^{}]*$rid[^{}]*}" | grep -o '"n":[0-9]*' | head -n 1 | cut -d: -f2)
run "$P" alert clear --home "$D/north" "$an" "phoned south's duty officer; summary not urgent"
run "$P" alerts --home "$D/north" --all
run "$P" audit --home "$D/north"
run "$P" audit --home "$D/south"

step "6. The daemons stop cleanly (SIGTERM)"
for pid in $PIDS; do kill -TERM "$pid"; done
for pid in $PIDS; do wait "$pid" && echo "parleyd $pid stopped cleanly"; done
PIDS=""
grep -h -E 'INFO.*(listening|session|stopp)' "$D/north.log" | head -n 8 | sed 's/^/north log: /'

if [ -x scripts/demo-aw.sh ]; then
	step "7. The negotiating table: an Adjusted Winner package"
	BUILD="$BUILD" scripts/demo-aw.sh
fi
echo
echo "demo finished"
