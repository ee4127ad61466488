#!/bin/sh
# make bench: runs every benchmark program in $BUILD/bench/ and keeps what
# they print in bench/results/<date>-<host>.txt. Numbers, not pass/fail.
set -eu
BUILD=${BUILD:-build}
mkdir -p bench/results
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s).txt"
{
	echo "# parley make bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r)"
	echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	for b in "$BUILD"/bench/*; do
		[ -x "$b" ] || continue
		echo
		echo "## $(basename "$b")"
		"$b"
	done
} | tee "$out"
echo
echo "written to $out"
