#!/bin/sh
# Enforces STYLE.md section 2 "Who may include whom": every project include
# ("module/file.h") in src/ and cmd/ must come from a module the including
# module may depend on. Prints each violation; exits 1 if any.
set -u
allowed() {
    case "$1" in
    base) echo "base" ;;
    proto|net) echo "base $1" ;;
    log) echo "base log proto/record.h proto/wire.h" ;;
    group) echo "base proto group" ;;
    cluster) echo "base proto log cluster" ;;
    admin) echo "base proto cluster log admin" ;;
    broker) echo "base proto net log group cluster admin broker" ;;
    client) echo "base proto net client" ;;
    cmd) echo "base proto net client" ;;
    *) echo "" ;;
    esac
}
bad=0
for f in $(find src cmd -name '*.[ch]' -not -path 'src/proto/gen/*'); do
    case "$f" in
    cmd/*) mod=cmd ;;
    *) mod=$(echo "$f" | cut -d/ -f2) ;;
    esac
    ok=$(allowed "$mod")
    case "$f" in
    cmd/cmd_serve.c) ok="$ok broker/broker.h" ;;
    cmd/cmd_dump_log.c) ok="$ok log/log.h" ;;
    esac
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case "$inc" in */*) ;; *) continue ;; esac
        incmod=${inc%%/*}
        pass=0
        for a in $ok; do
            if [ "$a" = "$inc" ] || [ "$a" = "$incmod" ]; then pass=1; fi
        done
        if [ $pass -eq 0 ]; then
            echo "layer violation: $f includes \"$inc\""
            bad=1
        fi
    done
done
[ $bad -eq 0 ] && echo "check-layers: ok"
exit $bad
