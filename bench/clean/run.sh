#!/bin/sh
# Log cleaner throughput and its effect on produce latency (bench/clean/run.py).
#   bench/clean/run.sh [VALUES] [KEYS]
set -eu
cd "$(dirname "$0")/../.."
make -s -j2 build/sluice
exec /usr/bin/python3 bench/clean/run.py "$@"
