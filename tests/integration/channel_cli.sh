#!/bin/sh
# channel_cli.sh: parley init, id and channel end to end between two node
# homes, north and south (and isle, a third node that is no party), in a
# temporary directory: the full round trip, then each refusal with its
# message. No network. Prints "ok NAME" / "FAIL NAME" and "N passed, N failed".
set -u
BUILD=${BUILD:-build}
case $BUILD in
/*) P=$BUILD/parley ;;
*) P=$(pwd)/$BUILD/parley ;;
esac
T=$(mktemp -d /tmp/parley-channel-cli.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
pass=0
fail=0

ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }

# expect NAME RC PATTERN CMD...: CMD must exit RC, and its output (stdout and
# stderr) match the extended regular expression PATTERN (if not empty).
expect() {
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		bad "$name" "exit $rc, want $want"
		sed 's/^/    | /' "$T/out"
		return 1
	fi
	if [ -n "$pat" ] && ! grep -qE -- "$pat" "$T/out"; then
		bad "$name" "output lacks /$pat/"
		sed 's/^/    | /' "$T/out"
		return 1
	fi
	ok "$name"
}

# check NAME CONDITION...: a test command that must succeed.
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

# flip FILE OFFSET: xors the byte at OFFSET with 1, in place.
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

mode() { stat -c %a "$1"; }
fp_of() { sed -n 's/^fingerprint  //p' "$1"; }

N=$T/north S=$T/south I=$T/isle
C="--paths 127.0.0.1:7101,[::1]:7102 --peer-paths 127.0.0.1:7201,south.example:7202"

# --- nodes and identities ---
expect init_north 0 "created node north" "$P" init --home "$N" --name north
expect init_south 0 "created node south" "$P" init --home "$S" --name south
expect init_isle 0 "created node isle" "$P" init --home "$I" --name isle
check home_mode_0700 [ "$(mode "$N")" = 700 ]
check link_key_0600 [ "$(mode "$N/link.key")" = 600 ]
check sign_key_0600 [ "$(mode "$N/sign.key")" = 600 ]
expect init_refuses_existing 1 "already holds a node" "$P" init --home "$N" --name north
expect init_refuses_bad_name 2 "invalid node name 'North'" "$P" init --home "$T/x" --name North
check bad_name_made_nothing [ ! -e "$T/x" ]
expect id_groups_of_five 0 "^link key fingerprint +[0-9]{5}( [0-9]{5}){5}$" "$P" id --home "$N"
expect id_export_north 0 "" "$P" id --home "$N" --export "$T/north.id"
expect id_export_south 0 "" "$P" id --home "$S" --export "$T/south.id"
expect id_export_isle 0 "" "$P" id --home "$I" --export "$T/isle.id"
expect id_json 0 '"name": "south"' "$P" id --home "$S" --json
check export_is_json grep -q '"sign_key": "[0-9a-f]\{64\}"' "$T/north.id"
# an export never overwrites a file, above all not a key
cp "$N/link.key" "$T/link.before"
expect id_export_refuses_key 1 "exists; refusing to overwrite" \
    "$P" id --home "$N" --export "$N/link.key"
check id_export_kept_key cmp -s "$N/link.key" "$T/link.before"
expect id_export_refuses_existing 1 "exists; refusing to overwrite" \
    "$P" id --home "$N" --export "$T/north.id"
expect id_after_refused_export 0 "^node +north" "$P" id --home "$N"

# --- the round trip ---
# shellcheck disable=SC2086
expect draft 0 "drafted an agreement between north and south" \
    "$P" channel draft --home "$N" --peer "$T/south.id" $C \
    --deadline flash=300,routine=6h --peer-language fr --out "$T/ag"
check draft_mode_0600 [ "$(mode "$T/ag")" = 600 ]
fp_draft=$(fp_of "$T/out")
expect draft_refuses_overwrite 1 "exists; refusing" "$P" channel draft \
    --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:2 --out "$T/ag"
expect show_unsigned 0 "signature +missing" "$P" channel show "$T/ag"
check show_no_psk [ "$(grep -cE '[0-9a-f]{64}' "$T/out")" = 1 ]
expect show_deadline 0 "flash 300 s, immediate 1800 s, priority 10800 s, routine 21600 s" \
    "$P" channel show "$T/ag"
# paths numbered from 0, as parley status and the log number them
check show_paths_from_0 grep -qE '^  path 0 +127\.0\.0\.1:7101$' "$T/out"
check show_peer_path_1 grep -qE '^  path 1 +south\.example:7202$' "$T/out"
expect add_unsigned 1 "agreement refused: unsigned: neither north nor south has signed" \
    "$P" channel add --home "$N" "$T/ag"
# --expect-fingerprint: a wrong one refuses and leaves the file unsigned
cp "$T/ag" "$T/ag.before"
expect sign_wrong_fingerprint 1 "not the expected 00000 00000.*not signed" \
    "$P" channel sign --home "$N" \
    --expect-fingerprint "00000 00000 00000 00000 00000 00000" "$T/ag"
check sign_wrong_fingerprint_unchanged cmp -s "$T/ag" "$T/ag.before"
expect sign_bad_fingerprint_arg 2 "bad --expect-fingerprint" \
    "$P" channel sign --home "$N" --expect-fingerprint "12345 x" "$T/ag"
check sign_bad_arg_unchanged cmp -s "$T/ag" "$T/ag.before"
expect sign_north 0 "next: hand .* to south" "$P" channel sign --home "$N" \
    --expect-fingerprint "$fp_draft" "$T/ag"
check sign_north_changed_file sh -c "! cmp -s '$T/ag' '$T/ag.before'"
expect sign_again 0 "already signed" "$P" channel sign --home "$N" "$T/ag"
cp "$T/ag" "$T/half"
expect sign_south 0 "both parties have signed" "$P" channel sign --home "$S" "$T/ag"
check signed_mode_0600 [ "$(mode "$T/ag")" = 600 ]
expect add_north 0 "installed the channel between north and south" \
    "$P" channel add --home "$N" "$T/ag"
fp_north=$(fp_of "$T/out")
expect add_south 0 "installed the channel between south and north" \
    "$P" channel add --home "$S" "$T/ag"
fp_south=$(fp_of "$T/out")
check fingerprint_north_read echo "$fp_north" | grep -qE '^[0-9]{5}( [0-9]{5}){5}$'
check fingerprint_south_is_north [ "$fp_south" = "$fp_north" ]
check fingerprint_draft_is_north [ "$fp_draft" = "$fp_north" ]
expect list_north 0 "^south .*$fp_north" "$P" channel list --home "$N"
expect list_south 0 "^north .*$fp_north" "$P" channel list --home "$S"
expect list_json 0 "\"fingerprint\": \"$fp_north\"" "$P" channel list --home "$S" --json
check list_json_full_id grep -qE '"channel_id": "[0-9a-f]{64}"' "$T/out"
check installed_0600 [ "$(mode "$N"/channels/*.agreement)" = 600 ]
expect add_twice 1 "already installed" "$P" channel add --home "$N" "$T/ag"

# --- refusals ---
cp "$T/ag" "$T/tamper1"
flip "$T/tamper1" $(($(stat -c %s "$T/tamper1") - 1))	# south's signature
expect tampered_signature 1 "agreement refused: signature of south does not verify \(tampered\?\)" \
    "$P" channel add --home "$S" "$T/tamper1"
cp "$T/ag" "$T/tamper2"
flip "$T/tamper2" 30	# inside north's link key, in the body
expect tampered_body 1 "agreement refused: signature of north does not verify \(tampered\?\)" \
    "$P" channel add --home "$S" "$T/tamper2"
expect sign_tampered 1 "does not verify" "$P" channel sign --home "$S" "$T/tamper2"
expect half_signed 1 "agreement refused: half-signed: south has not signed it" \
    "$P" channel add --home "$N" "$T/half"
expect foreign_add 1 "agreement refused: foreign: this node \(isle\) is not a party" \
    "$P" channel add --home "$I" "$T/ag"
expect foreign_sign 1 "foreign: this node \(isle\)" "$P" channel sign --home "$I" "$T/half"
head -c 100 "$T/ag" >"$T/trunc"
expect truncated 1 "truncated or malformed" "$P" channel add --home "$N" "$T/trunc"
: >"$T/empty"
expect empty_file 1 "truncated or malformed" "$P" channel show "$T/empty"
expect missing_file 2 "no such file" "$P" channel add --home "$N" "$T/nonexistent"

# shellcheck disable=SC2086
"$P" channel draft --home "$N" --peer "$T/south.id" $C --start-days -10 \
    --days 5 --out "$T/old" >/dev/null 2>&1
"$P" channel sign --home "$N" "$T/old" >/dev/null 2>&1
expect sign_expired_warns 0 "warning: this agreement has already expired" \
    "$P" channel sign --home "$S" "$T/old"
expect expired 1 "agreement refused: expired on 20" "$P" channel add --home "$S" "$T/old"

# shellcheck disable=SC2086
"$P" channel draft --home "$S" --peer "$T/north.id" $C --start-days 2 \
    --out "$T/future" >/dev/null 2>&1
"$P" channel sign --home "$N" "$T/future" >/dev/null 2>&1
"$P" channel sign --home "$S" "$T/future" >/dev/null 2>&1
expect not_yet_valid 1 "agreement refused: not yet valid: valid from 20" \
    "$P" channel add --home "$N" "$T/future"

# shellcheck disable=SC2086
"$P" channel draft --home "$N" --peer "$T/isle.id" $C --days 10 \
    --out "$T/soon" >/dev/null 2>&1
"$P" channel sign --home "$N" "$T/soon" >/dev/null 2>&1
"$P" channel sign --home "$I" "$T/soon" >/dev/null 2>&1
"$P" channel add --home "$N" "$T/soon" >/dev/null 2>&1
expect list_warns_expiry 0 "^isle .*expires in (9|10) day" "$P" channel list --home "$N"
expect list_two_channels 0 "^south " "$P" channel list --home "$N"

# --- bad command lines (exit 2, nothing written) ---
expect draft_unequal_paths 2 "counts must match" "$P" channel draft --home "$N" \
    --peer "$T/south.id" --paths 127.0.0.1:1,127.0.0.1:2 \
    --peer-paths 127.0.0.1:3 --out "$T/bad1"
expect draft_bad_port 2 "'127.0.0.1:70000' is not HOST:PORT" "$P" channel draft \
    --home "$N" --peer "$T/south.id" --paths 127.0.0.1:70000 \
    --peer-paths 127.0.0.1:3 --out "$T/bad2"
expect draft_bad_heartbeat 2 '^parley channel draft: --heartbeat: "0" is not a whole number from 1 to 3600$' "$P" channel draft --home "$N" \
    --peer "$T/south.id" --paths 127.0.0.1:1 --peer-paths 127.0.0.1:3 \
    --heartbeat 0 --out "$T/bad3"
expect draft_bad_deadline 2 "bad --deadline" "$P" channel draft --home "$N" \
    --peer "$T/south.id" --paths 127.0.0.1:1 --peer-paths 127.0.0.1:3 \
    --deadline flash=0 --out "$T/bad4"
expect draft_days_plus 2 '^parley channel draft: --days: "\+5" is not a whole number from 1 to 36500$' "$P" channel draft --home "$N" \
    --peer "$T/south.id" --paths 127.0.0.1:1 --peer-paths 127.0.0.1:3 \
    --days +5 --out "$T/bad6"
expect draft_days_space 2 '^parley channel draft: --days: " 5" is not a whole number from 1 to 36500$' "$P" channel draft --home "$N" \
    --peer "$T/south.id" --paths 127.0.0.1:1 --peer-paths 127.0.0.1:3 \
    --days " 5" --out "$T/bad7"
expect draft_heartbeat_huge 2 '^parley channel draft: --heartbeat: "99999999999999999999" is not a whole number from 1 to 3600$' "$P" channel draft \
    --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:3 --heartbeat 99999999999999999999 \
    --out "$T/bad8"
# every number of a draft: the whole string, base 10, in its range
expect draft_days_trailing 2 '^parley channel draft: --days: "12x" is not a whole number from 1 to 36500$' \
    "$P" channel draft --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:3 --days 12x --out "$T/bad9"
expect draft_days_empty 2 '^parley channel draft: --days: "" is not a whole number from 1 to 36500$' \
    "$P" channel draft --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:3 --days "" --out "$T/bad10"
expect draft_start_days_range 2 '^parley channel draft: --start-days: "-36501" is not a whole number from -36500 to 36500$' \
    "$P" channel draft --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:3 --start-days -36501 --out "$T/bad11"
expect draft_test_interval_hex 2 '^parley channel draft: --test-interval: "0x10" is not a whole number from 1 to 604800$' \
    "$P" channel draft --home "$N" --peer "$T/south.id" --paths 127.0.0.1:1 \
    --peer-paths 127.0.0.1:3 --test-interval 0x10 --out "$T/bad12"
expect draft_self_as_peer 2 "needs two parties" "$P" channel draft --home "$N" \
    --peer "$T/north.id" --paths 127.0.0.1:1 --peer-paths 127.0.0.1:3 \
    --out "$T/bad5"
for f in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 bad9 bad10 bad11 bad12; do
	check "bad_draft_wrote_nothing_$f" [ ! -e "$T/$f" ]
done
expect channel_no_sub 2 "usage: parley channel" "$P" channel
expect channel_unknown_sub 2 "unknown subcommand" "$P" channel frob
for c in "init" "id" "channel" "channel draft" "channel sign" "channel add" \
    "channel list" "channel show"; do
	# shellcheck disable=SC2086
	expect "help_$(echo "$c" | tr ' ' _)" 0 "^usage: parley $c" "$P" $c --help
done

# --- a key file others can read is refused ---
chmod 644 "$S/sign.key"
expect world_readable_key 1 "$S/sign.key is readable or writable by group or others" \
    "$P" id --home "$S"
expect world_readable_key_add 1 "sign.key is readable" "$P" channel add --home "$S" "$T/ag"
chmod 600 "$S/sign.key"
expect key_private_again 0 "^node +south" "$P" id --home "$S"

# --- homes others may write, key files that are links or FIFOs ---
mkdir "$T/open" && chmod 755 "$T/open"
expect init_refuses_open_home 1 "accessible by group or others" \
    "$P" init --home "$T/open" --name north
check open_home_untouched [ "$(ls -A "$T/open")" = "" ]
chmod 770 "$S"
expect id_refuses_writable_home 1 "the home $S is not owned by this user or group or others may write it" \
    "$P" id --home "$S"
chmod 700 "$S"
mv "$S/link.key" "$S/link.real" && ln -s "$S/link.real" "$S/link.key"
expect id_refuses_symlinked_key 1 "link.key is readable" "$P" id --home "$S"
rm "$S/link.key" && mkfifo -m 600 "$S/link.key"
expect id_refuses_fifo_key 1 "link.key is readable" timeout 10 "$P" id --home "$S"
rm "$S/link.key" && mv "$S/link.real" "$S/link.key"
expect id_after_restore 0 "^node +south" "$P" id --home "$S"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
