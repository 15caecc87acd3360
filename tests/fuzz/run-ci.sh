#!/bin/sh
# Fuzz step for CI: builds every tests/fuzz/fuzz_*.c with `make fuzz`, replays
# each target's corpus (tests/fuzz/corpus/<target without fuzz_>/), then
# fuzzes each target for FUZZ_SECONDS (default 60) into a scratch copy of the
# corpus. Each replay and each short run counts as one test:
#   fuzz: N passed, N failed, N skipped
# Without clang (or libFuzzer) everything is reported as skipped.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
out=build/fuzz
work=tests/fuzz/corpus-work
pass=0 fail=0 skip=0

targets=$(ls tests/fuzz/fuzz_*.c 2>/dev/null)
if [ -z "$targets" ]; then
    echo "fuzz: 0 passed, 0 failed, 0 skipped"
    exit 0
fi
count=$(echo "$targets" | wc -l)
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang unavailable; skipping"
    echo "fuzz: 0 passed, 0 failed, $((count * 2)) skipped"
    exit 0
fi
if ! make fuzz >build-fuzz-make.log 2>&1; then
    # clang is here, so a failed build is a failure, not a skip.
    echo "fuzz: the fuzz targets did not build:"
    tail -n 20 build-fuzz-make.log
    rm -f build-fuzz-make.log
    echo "fuzz: 0 passed, $((count * 2)) failed, 0 skipped"
    exit 1
fi
rm -f build-fuzz-make.log

for src in $targets; do
    t=$(basename "$src" .c)
    name=${t#fuzz_}
    corpus=tests/fuzz/corpus/$name
    mkdir -p "$corpus" "$work/$name" "$out/artifacts"
    opts="-malloc_limit_mb=64 -max_len=65536 -artifact_prefix=$out/artifacts/$t-"
    # shellcheck disable=SC2086
    if "$out/$t" $opts -runs=0 "$corpus" >"$out/$t-replay.log" 2>&1; then
        echo "ok   $t replay ($(ls "$corpus" | wc -l) inputs)"
        pass=$((pass + 1))
    else
        echo "FAIL $t replay"
        tail -n 20 "$out/$t-replay.log"
        fail=$((fail + 1))
    fi
    # shellcheck disable=SC2086
    if "$out/$t" $opts -max_total_time="$secs" -print_final_stats=1 "$work/$name" "$corpus" \
        >"$out/$t-run.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t-run.log")
        echo "ok   $t ${secs}s (${runs:-?} execs)"
        pass=$((pass + 1))
    else
        echo "FAIL $t ${secs}s run"
        tail -n 30 "$out/$t-run.log"
        fail=$((fail + 1))
    fi
done
echo "fuzz: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
