#!/bin/sh
# `make test-fresh`: the README's two commands, run literally, as a new user on
# a bare Debian would run them. Opt-in (it downloads a Debian base system and
# ~2 GB of packages, and runs the whole suite: 20+ minutes).
#
# Makes a fresh Debian root with debootstrap (from the Debian mirror that this
# machine's apt uses), copies in only the checkout and ../shared, chroots into
# it and runs, from the checkout:
#   1. `sh sluice.sh serve`  passes when a broker listens on 127.0.0.1:9092
#                            (then it is stopped by its PID)
#   2. `sh sluice.sh test`   passes when its last line is the suite summary
#                            `tests: N passed, 0 failed, N skipped`
# and prints, per command, the time it took and the packages it installed.
#
# Needs root, debootstrap (installed if missing) and a free port 9092.
#   FRESH_ROOT   where the root is made (default: ${TMPDIR:-/tmp}/sluice-fresh-root);
#                it is removed first, and kept afterwards for inspection
#   FRESH_SUITE  Debian suite (default: this machine's codename, else bookworm)
set -eu
cd "$(dirname "$0")/.."
ROOT=${FRESH_ROOT:-${TMPDIR:-/tmp}/sluice-fresh-root}
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    SUITE=${FRESH_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
else
    SUITE=${FRESH_SUITE:-bookworm}
fi
PORT=9092
say() { echo "test-fresh: $*"; }
die() {
    echo "test-fresh: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap and chroot)"
[ -d ../shared ] || die "../shared is missing (the suite reads ../shared/kafka-protocol)"
if command -v bash >/dev/null 2>&1 && bash -c "echo >/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
    die "port $PORT is in use on this machine; the README's broker listens there"
fi

command -v debootstrap >/dev/null 2>&1 ||
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null

# The Debian mirror this machine's apt is set up with (never a fixed host).
# shellcheck disable=SC2016
mirror() {
    apt-get indextargets --format '$(TARGET_OF) $(CODENAME) $(REPO_URI)' 2>/dev/null |
        awk -v s="$SUITE" '$1 == "deb" && $2 == s { print $3; exit }'
}
MIRROR=$(mirror)
if [ -z "$MIRROR" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    MIRROR=$(mirror)
fi
[ -n "$MIRROR" ] || die "no '$SUITE' Debian source in this machine's apt configuration"

mounted=""
cleanup() {
    [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    for m in $mounted; do umount -l "$ROOT$m" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -e "$ROOT" ]; then
    for m in /dev/pts /dev /sys /proc; do umount -l "$ROOT$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$ROOT"
fi
mkdir -p "$ROOT"
say "debootstrap $SUITE from $MIRROR into $ROOT"
t0=$(date +%s)
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $ROOT.debootstrap.log"
say "debootstrap took $(($(date +%s) - t0)) s"

# apt inside the root fetches from the same mirror with the same apt options
# (e.g. a snapshot mirror's relaxed Valid-Until); name resolution as the host's.
cp -r /etc/apt/apt.conf.d/. "$ROOT/etc/apt/apt.conf.d/" 2>/dev/null || true
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# debootstrap writes no /etc/hosts; Debian's installer (and every cloud image)
# does, so "localhost" resolves as on any installed machine.
[ -s "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
for m in /proc /sys /dev /dev/pts; do
    mount --bind "$m" "$ROOT$m"
    mounted="$m $mounted"
done

# Only the checkout (tracked and untracked files, no build output) and ../shared.
mkdir -p "$ROOT/src/sluice" "$ROOT/src/shared"
git ls-files -z -c -o --exclude-standard | tar -c --null -T - -f - | tar -x -C "$ROOT/src/sluice" -f -
cp -r ../shared/. "$ROOT/src/shared/"

# A login-less root shell's environment: nothing of the caller's leaks in.
ENV="HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# shellcheck disable=SC2086
in_root() { chroot "$ROOT" /usr/bin/env -i $ENV "$@"; }
# shellcheck disable=SC2016
packages() { in_root dpkg-query -W -f='${Status}\n' | grep -c "install ok installed"; }
for tool in make gcc git sudo; do
    in_root sh -c "command -v $tool" >/dev/null && die "the fresh root already has $tool"
done
p0=$(packages)
say "fresh root has $p0 packages and no make, gcc, git or sudo"

# 1. sh sluice.sh serve: a listening broker.
log1="$ROOT.serve.log"
t1=$(date +%s)
# Not through in_root: $! must be chroot's own PID, which execs down to the broker.
# shellcheck disable=SC2086
chroot "$ROOT" /usr/bin/env -i $ENV sh -c 'cd /src/sluice && exec sh sluice.sh serve' >"$log1" 2>&1 &
serve_pid=$!
deadline=$((t1 + 1800))
until bash -c "echo >/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; do
    kill -0 "$serve_pid" 2>/dev/null || {
        tail -n 30 "$log1" >&2
        die "sh sluice.sh serve exited before a broker listened on $PORT"
    }
    [ "$(date +%s)" -lt "$deadline" ] || die "no broker on $PORT after 30 min; see $log1"
    sleep 1
done
s1=$(($(date +%s) - t1))
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
serve_pid=""
p1=$(packages)
say "1. sh sluice.sh serve: broker listening on 127.0.0.1:$PORT after $s1 s, $((p1 - p0)) packages installed"

# 2. sh sluice.sh test: the suite's summary line last.
log2="$ROOT.test.log"
t2=$(date +%s)
rc=0
in_root sh -c 'cd /src/sluice && sh sluice.sh test' >"$log2" 2>&1 || rc=$?
s2=$(($(date +%s) - t2))
p2=$(packages)
last=$(tail -n 1 "$log2")
say "2. sh sluice.sh test: exit $rc after $s2 s, $((p2 - p1)) more packages installed ($p2 in all)"
say "   summary: $(grep -E '^tests: [0-9]+ passed' "$log2" | tail -n 1)"
[ "$rc" -eq 0 ] || die "sh sluice.sh test exited $rc; see $log2"
echo "$last" | grep -qE '^tests: [0-9]+ passed, 0 failed, [0-9]+ skipped$' ||
    die "the suite's output does not end with its summary line; see $log2"
say "total: $(($(date +%s) - t0)) s from debootstrap to the summary line"
say "passed (logs: $log1, $log2)"
