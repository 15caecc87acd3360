#!/bin/sh
# The README's two commands, for a machine that has only this checkout (no
# make, no compiler): plain POSIX sh, installs what the step needs, then runs it.
#
#   sh sluice.sh serve [ARGS]  install build packages (tools/deps.sh build),
#                              build, run `build/sluice serve ARGS`
#   sh sluice.sh test          install every package the suites use
#                              (tools/deps.sh test), build, run every suite;
#                              ends with `tests: N passed, N failed, N skipped`
set -eu
cd "$(dirname "$0")"
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
serve)
    sh tools/deps.sh build
    make -j"$jobs"
    exec build/sluice serve "$@"
    ;;
test)
    sh tools/deps.sh test
    exec make -j"$jobs" test
    ;;
*)
    echo "usage: sh sluice.sh serve [serve options] | sh sluice.sh test" >&2
    exit 2
    ;;
esac
