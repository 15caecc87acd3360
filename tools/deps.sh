#!/bin/sh
# Installs the Debian packages Sluice needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -eu
PKGS="gcc make clang libclang-rt-14-dev pkg-config clang-format cppcheck \
 zlib1g-dev liblz4-dev libsnappy-dev libzstd-dev librdkafka-dev libssl-dev \
 kcat python3 python3-kafka python3-confluent-kafka python3-pytest \
 python3-snappy python3-lz4 python3-zstandard \
 nodejs npm fio iperf3 procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing$missing"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
