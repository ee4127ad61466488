#!/bin/sh
# demo-aw.sh: the package suggestion of the demo. North and south have each
# spread 100 points over the five issues of a fictional ceasefire
# (examples/ceasefire-aw.json); `parley aw` divides them by the Adjusted
# Winner procedure (docs/adjusted-winner.md). Needs no daemon.
set -eu
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TABLE="$ROOT/examples/ceasefire-aw.json"

echo "== Package suggestion: Adjusted Winner on the ceasefire agenda"
echo "   (north and south each spread 100 points over five issues)"
echo
"$BUILD/parley" aw "$TABLE"
echo
echo "   (parley aw examples/ceasefire-aw.json --json gives the same shares"
echo "   and totals as exact fractions, for the record)"
