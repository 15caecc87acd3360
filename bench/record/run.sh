#!/bin/sh
# Runs bench_record (wall time), then, when valgrind is installed, counts
# instructions per record for build and iterate with callgrind (stable on a
# busy machine). Usage, from the repository root: bench/record/run.sh
set -eu
BUILD=${BUILD:-build}
make -s all >/dev/null
make -s -C bench/record bin ROOT="$PWD" BUILD="$BUILD" >/dev/null
BIN=$PWD/$BUILD/bench/bench_record
echo "## wall time: $BUILD/bench/bench_record -n 1000"
"$BIN" -n 1000
command -v valgrind >/dev/null || { echo "valgrind not installed: no instruction counts"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
reps=5
echo "## instructions per record (callgrind, -n 1000 -r $reps, warm-up build excluded)"
printf '%-7s %12s %12s\n' codec build_Ir/rec iter_Ir/rec
for c in none gzip snappy lz4 zstd; do
    for fn in build_batch iterate_batch; do
        valgrind --tool=callgrind --callgrind-out-file="$tmp/$fn.$c" --toggle-collect="$fn*" \
            "$BIN" -n 1000 -r $reps -c $c >/dev/null 2>&1
    done
    # build_batch also runs once untimed (warm-up).
    b=$(callgrind_annotate "$tmp/build_batch.$c" | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
    i=$(callgrind_annotate "$tmp/iterate_batch.$c" | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
    printf '%-7s %12d %12d\n' "$c" $((b / ((reps + 1) * 1000))) $((i / (reps * 1000)))
done
