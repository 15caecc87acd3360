#!/bin/sh
# Runs every test suite and prints one summary line per suite, then the total:
#   tests: N passed, N failed, N skipped
# Suites: each C suite binary (build/test-*), then every tests/*/run.sh that
# exists (integration, fault, ...). A suite's last "<name>: N passed, N failed,
# N skipped" line is what gets added up; a suite that crashes before printing
# one counts as one failure.
set -u
BUILD=${BUILD:-build}
export BUILD
SLUICE_BIN=${SLUICE_BIN:-$PWD/$BUILD/sluice}
export SLUICE_BIN
total_p=0 total_f=0 total_s=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

add_summary() {
    line=$(grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$1: no summary line (suite crashed?)"
        total_f=$((total_f + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped$/\1/')
    total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
}

for bin in "$BUILD"/test-*; do
    [ -x "$bin" ] || continue
    name=${bin##*/test-}
    SL_SUITE=$name "$bin" 2>&1 | tee "$log"
    add_summary "$name"
done

for script in tests/*/run.sh; do
    [ -x "$script" ] || continue
    name=$(basename "$(dirname "$script")")
    "$script" 2>&1 | tee "$log"
    add_summary "$name"
done

echo "tests: $total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
