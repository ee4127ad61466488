#!/bin/sh
# The test runner: every unit test program, the Noise vectors, every
# integration script. Each prints a last line "N passed, N failed[...]"; this
# runner adds them up and ends with the total line. Exit 1 on any failure.
set -u
BUILD=${BUILD:-build}
# The public test vectors live beside the checkout (../shared/vectors); a
# checkout elsewhere on this kind of machine finds them at /work/shared.
VECTORS=${PARLEY_VECTORS:-../shared/vectors}
if [ ! -d "$VECTORS" ] && [ -z "${PARLEY_VECTORS:-}" ] && [ -d /work/shared/vectors ]; then
	VECTORS=/work/shared/vectors
fi
export PARLEY_VECTORS="$VECTORS"
export BUILD
total_pass=0
total_fail=0
failed_progs=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() {
	name=$1
	shift
	"$@" >"$out" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		line="0 passed, 1 failed (no summary; exit $rc)"
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	printf '%-28s %s\n' "$name" "$line"
	if [ "$f" -ne 0 ]; then
		failed_progs="$failed_progs $name"
		# what failed first (a long log tail below can hide it)
		grep -E '^FAIL |^  [^ ]+\.c:[0-9]+: ' "$out" | head -n 20 | sed 's/^/    ! /'
		sed 's/^/    | /' "$out" | grep -v -E '^    \| (ok|PASS) ' | tail -n 60
	fi
}

for t in "$BUILD"/tests/test_* "$BUILD"/tests/it_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done

if [ -d "$VECTORS/noise" ]; then
	run noise-vectors "$BUILD/noise-vectors" "$VECTORS"/noise/*.txt
else
	echo "noise-vectors: no vectors at $VECTORS/noise (set PARLEY_VECTORS)"
	total_fail=$((total_fail + 1))
	failed_progs="$failed_progs noise-vectors"
fi

for s in tests/integration/*.sh; do
	[ -f "$s" ] || continue
	run "$(basename "$s" .sh)" sh "$s"
done

[ -n "$failed_progs" ] && echo "failing:$failed_progs"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
