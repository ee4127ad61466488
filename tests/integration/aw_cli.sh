#!/bin/sh
# aw_cli.sh: `parley aw` end to end. Runs $BUILD/parley aw on tables written
# into a temporary directory: exact --json output for hand-worked tables
# (docs/adjusted-winner.md), the readable table, and every refusal with its
# message and exit status 2. Needs no daemon and no network.
set -u
BUILD=${BUILD:-build}
PARLEY=$(cd "$(dirname "$BUILD/parley")" && pwd)/parley
EXAMPLES=$(cd "$(dirname "$0")/../../examples" && pwd)
dir=$(mktemp -d /tmp/parley-aw.XXXXXX)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0

ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# json_is NAME FILE: --json output of FILE equals $dir/NAME.want
json_is() {
	"$PARLEY" aw "$2" --json >"$dir/$1.out" 2>"$dir/$1.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "$1" "exit $rc: $(cat "$dir/$1.err")"
	elif cmp -s "$dir/$1.out" "$dir/$1.want"; then
		ok "$1"
	else
		bad "$1" "output differs"
		diff "$dir/$1.want" "$dir/$1.out" | head -20
	fi
}

# refused NAME MESSAGE: `parley aw $dir/NAME.json` exits 2 and says MESSAGE
refused() {
	"$PARLEY" aw "$dir/$1.json" >"$dir/$1.out" 2>"$dir/$1.err"
	rc=$?
	if [ $rc -ne 2 ]; then
		bad "$1" "exit $rc, want 2"
	elif [ -s "$dir/$1.out" ]; then
		bad "$1" "printed on stdout: $(cat "$dir/$1.out")"
	elif ! grep -qF -- "$2" "$dir/$1.err"; then
		bad "$1" "message '$(cat "$dir/$1.err")' lacks '$2'"
	else
		ok "$1"
	fi
}

# table NAME ISSUES...: writes $dir/NAME.json for north and south, each
# issue "name:a:b"
table() {
	name=$1
	shift
	{
		printf '{"parties": ["north", "south"], "issues": ['
		sep=""
		for i in "$@"; do
			printf '%s{"name": "%s", "points": [%s, %s]}' "$sep" \
			    "${i%%:*}" "$(echo "$i" | cut -d: -f2)" \
			    "$(echo "$i" | cut -d: -f3)"
			sep=", "
		done
		printf ']}\n'
	} >"$dir/$name.json"
}

# --- exact output for hand-worked tables ---

cat >"$dir/ceasefire.want" <<'WANT'
{
  "issues": [
    {
      "name": "ceasefire line",
      "shares": [
        "13/14",
        "1/14"
      ]
    },
    {
      "name": "prisoner exchange",
      "shares": [
        "0/1",
        "1/1"
      ]
    },
    {
      "name": "demilitarised zone width",
      "shares": [
        "1/1",
        "0/1"
      ]
    },
    {
      "name": "humanitarian corridor",
      "shares": [
        "0/1",
        "1/1"
      ]
    },
    {
      "name": "monitoring mission",
      "shares": [
        "0/1",
        "1/1"
      ]
    }
  ],
  "totals": [
    "435/7",
    "435/7"
  ]
}
WANT
json_is ceasefire "$EXAMPLES/ceasefire-aw.json"

# a tie with equal outright totals goes to the second party, who then
# gives half of it back: 55 each
table tie "a:50:50" "b:30:20" "c:20:30"
cat >"$dir/tie.want" <<'WANT'
{
  "issues": [
    {
      "name": "a",
      "shares": [
        "1/2",
        "1/2"
      ]
    },
    {
      "name": "b",
      "shares": [
        "1/1",
        "0/1"
      ]
    },
    {
      "name": "c",
      "shares": [
        "0/1",
        "1/1"
      ]
    }
  ],
  "totals": [
    "55/1",
    "55/1"
  ]
}
WANT
json_is tie "$dir/tie.json"

# a whole move that lands exactly on 64 each: no split
table exact "a:6:4" "b:64:36" "c:30:60"
"$PARLEY" aw "$dir/exact.json" --json >"$dir/exact.out" 2>&1
if [ "$(tr -d ' \n' <"$dir/exact.out")" = \
    '{"issues":[{"name":"a","shares":["0/1","1/1"]},{"name":"b","shares":["1/1","0/1"]},{"name":"c","shares":["0/1","1/1"]}],"totals":["64/1","64/1"]}' ]; then
	ok exact_whole_move
else
	bad exact_whole_move "$(cat "$dir/exact.out")"
fi

# the readable table names the split issue with both shares
"$PARLEY" aw "$EXAMPLES/ceasefire-aw.json" >"$dir/human.out" 2>&1
rc=$?
if [ $rc -eq 0 ] &&
    grep -q 'ceasefire line .*split: north 13/14 (92.86%), south 1/14 (7.14%)' "$dir/human.out" &&
    grep -q 'monitoring mission .*south (moved from north)' "$dir/human.out" &&
    grep -q 'north 435/7 (62.14), south 435/7 (62.14)' "$dir/human.out"; then
	ok human_table
else
	bad human_table "exit $rc: $(cat "$dir/human.out")"
fi

# 64 issues is the maximum and is accepted
set --
i=1
while [ $i -le 64 ]; do
	if [ $i -le 25 ]; then set -- "$@" "i$i:4:0"; else set -- "$@" "i$i:0:$(( i <= 63 ? 2 : 24 ))"; fi
	i=$((i + 1))
done
table max "$@"
if "$PARLEY" aw "$dir/max.json" --json >"$dir/max.out" 2>&1 &&
    grep -q '"100/1"' "$dir/max.out"; then
	ok max_issues
else
	bad max_issues "$(head -5 "$dir/max.out")"
fi

# --- refusals: each names the problem, exit 2 ---

table negative "a:95:50" "b:-5:50"
refused negative "issue \"b\": north's points are negative (-5)"

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [2.5, 50]}, {"name": "b", "points": [97.5, 50]}]}' >"$dir/fraction.json"
refused fraction "issue \"a\": north's points must be a whole number like 25, not 2.5"

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [50, "3"]}, {"name": "b", "points": [50, 97]}]}' >"$dir/string.json"
refused string "issue \"a\": south's points must be a whole number like 25, not \"3\""

table over "a:101:50" "b:0:50"
refused over "issue \"a\": north's points exceed 100 (101)"

table sum "a:50:50" "b:50:40"
refused sum "party south's points sum to 90, not 100"

table one_issue "a:100:100"
refused one_issue "fewer than two issues (1)"

printf '{"parties": ["north", "south", "isle"], "issues": [{"name": "a", "points": [50, 50]}, {"name": "b", "points": [50, 50]}]}' >"$dir/three_parties.json"
refused three_parties "\"parties\" must name exactly two parties, not 3"

printf '{"parties": ["north"], "issues": [{"name": "a", "points": [50, 50]}, {"name": "b", "points": [50, 50]}]}' >"$dir/one_party.json"
refused one_party "\"parties\" must name exactly two parties, not 1"

printf '{"parties": ["north", "north"], "issues": [{"name": "a", "points": [50, 50]}, {"name": "b", "points": [50, 50]}]}' >"$dir/same_party.json"
refused same_party "both parties are named \"north\""

table duplicate "a:50:50" "b:25:25" "a:25:25"
refused duplicate "duplicate issue name \"a\" (issues 1 and 3)"

printf '{"parties": ["north", "south"],\n "issues": [\n {"name": "a" "points": [50, 50]}]}' >"$dir/malformed.json"
refused malformed "malformed JSON at line 3, column"

printf '{"parties": ["north", "south"], "parties": ["isle", "south"], "issues": []}' >"$dir/dup_key.json"
refused dup_key "duplicate object key"

set --
i=1
while [ $i -le 65 ]; do
	set -- "$@" "i$i:1:1"
	i=$((i + 1))
done
table too_many "$@"
refused too_many "too many issues: 65 (at most 64)"

printf '{"issues": [{"name": "a", "points": [50, 50]}, {"name": "b", "points": [50, 50]}]}' >"$dir/no_parties.json"
refused no_parties "missing field \"parties\""

printf '{"parties": ["north", "south"]}' >"$dir/no_issues.json"
refused no_issues "missing field \"issues\""

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [50, 50]}, {"points": [50, 50]}]}' >"$dir/no_name.json"
refused no_name "issue 2: missing field \"name\""

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [50, 50]}, {"name": "b"}]}' >"$dir/no_points.json"
refused no_points "issue \"b\": missing field \"points\""

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [50, 50, 0]}, {"name": "b", "points": [50, 50]}]}' >"$dir/three_points.json"
refused three_points "issue \"a\": \"points\" must be an array of two numbers"

printf '{"parties": ["north", "south"], "issues": [{"name": "a", "points": [50, 50], "weight": 2}, {"name": "b", "points": [50, 50]}]}' >"$dir/unknown.json"
refused unknown "issue 1: unknown field \"weight\""

printf '{"parties": ["north", "south"], "issues": [{"name": "a\\u001b[2J", "points": [50, 50]}, {"name": "b", "points": [50, 50]}]}' >"$dir/control.json"
refused control "issue 1: \"name\" contains a control character"

refused missing_file "cannot read"

"$PARLEY" aw >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok usage; else bad usage "exit $rc"; fi
if "$PARLEY" aw --help | grep -q 'usage: parley aw FILE.json'; then
	ok help
else
	bad help "no usage line"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
