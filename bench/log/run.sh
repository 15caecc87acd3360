#!/bin/sh
# Log append/recovery benchmark next to fio on the same filesystem.
#   bench/log/run.sh [SCRATCH_DIR]     (default: a fresh dir under $TMPDIR or /tmp)
# Builds build/libsluice.a and build/bench-log, prints one line per run.
set -eu
cd "$(dirname "$0")/../.."
make -s -j2 build/libsluice.a
cc -std=c17 -D_GNU_SOURCE -O2 -Isrc -o build/bench-log bench/log/bench_log.c build/libsluice.a \
    -lzstd -llz4 -lsnappy -lz -lpthread -lm
base=${1:-${TMPDIR:-/tmp}}
scratch=$(mktemp -d "$base/sl-bench-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
run() { rm -rf "$scratch/log"; build/bench-log "$scratch/log" "$@"; }

run append 16384 1024
run append 1048576 1024
run append 16384 64 fsync
run append 1048576 256 fsync
run append 16384 256 group 16
run append 16384 256 group 64
run recover 1024

if command -v fio >/dev/null; then
    f="$scratch/fio.dat"
    for args in "--bs=16k --size=1G" "--bs=1M --size=1G" \
                "--bs=16k --size=64M --fdatasync=1" "--bs=1M --size=256M --fdatasync=1"; do
        rm -f "$f"
        # shellcheck disable=SC2086
        fio --name=seq --rw=write --ioengine=psync $args --filename="$f" \
            --output-format=terse --terse-version=3 |
            awk -F';' -v a="$args" '{ printf "fio %s: %.1f MB/s\n", a, $48 / 1024 }'
    done
fi
