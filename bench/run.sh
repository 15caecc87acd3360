#!/bin/sh
# bench/run.sh -- the performance baseline in one command: the machine's
# limits (iperf3, fio, fdatasync latency, sendfile), Redis Streams, and
# Sluice driven by `sluice perf`, measured in the same minutes and written
# as a table of ratios to bench/RESULTS.md (section "End to end").
#
#   bench/run.sh            7 repetitions (about 8 minutes on 2 vCPUs)
#   bench/run.sh --quick    one small repetition, written to
#                           build/bench/RESULTS-quick.md (smoke run)
#   bench/run.sh --help     the other options (--reps, --out, --dir)
#
# Needs `make deps` (fio, iperf3, redis-server, redis-tools).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
make -s -j2 all >/dev/null
make -s -C bench/perf BUILD="$BUILD" >/dev/null
exec /usr/bin/python3 bench/perf/bench.py "$@"
