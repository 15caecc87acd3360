#!/bin/sh
# Installs the Debian packages Sluice needs to build, test and benchmark.
# Idempotent: only missing packages are installed. Needs root (or sudo).
set -eu
cd "$(dirname "$0")/.."
PKGS="gcc make clang libclang-rt-14-dev pkg-config clang-format cppcheck \
 zlib1g-dev liblz4-dev libsnappy-dev libzstd-dev librdkafka-dev libssl-dev \
 kcat python3 python3-kafka python3-confluent-kafka python3-pytest \
 python3-snappy python3-lz4 python3-zstandard python3-pil python3-xxhash \
 golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev \
 fio iperf3 procps redis-server redis-tools"
# Node.js may come from elsewhere on the machine; Debian's only if there is none.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps: all packages present"
else
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "deps: installing$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# kafkajs for the integration suite (npm registry).
if command -v npm >/dev/null 2>&1 && [ ! -d tests/integration/js/node_modules/kafkajs ]; then
    (cd tests/integration/js && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "deps: kafkajs could not be installed; its tests will be skipped"
fi
