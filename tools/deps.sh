#!/bin/sh
# Installs the Debian packages Sluice needs. Idempotent: only missing packages
# are installed. Needs root (or sudo).
#
#   tools/deps.sh build   what building and running the broker needs (~40 MB):
#                         gcc, make and the compression, librdkafka and ZooKeeper
#                         C client headers
#   tools/deps.sh test    the above plus what the test suites, checks and
#                         benchmarks use: clang, cppcheck, kcat, Python Kafka
#                         clients, Go with sarama/kafka-go, Node for kafkajs,
#                         fio, iperf3, redis, ZooKeeper (server + kazoo) for the
#                         cluster-mode tests (~2 GB)
#   tools/deps.sh         the same as `test`
set -eu
cd "$(dirname "$0")/.."
what=${1:-test}
BUILD_PKGS="gcc make libc6-dev zlib1g-dev liblz4-dev libsnappy-dev libzstd-dev librdkafka-dev libzookeeper-mt-dev"
TEST_PKGS="clang libclang-rt-14-dev pkg-config clang-format cppcheck libssl-dev \
 kcat python3 python3-kafka python3-confluent-kafka python3-pytest \
 python3-snappy python3-lz4 python3-zstandard python3-pil python3-xxhash \
 golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev \
 fio iperf3 procps redis-server redis-tools zookeeper python3-kazoo"
case "$what" in
build) PKGS=$BUILD_PKGS ;;
test)
    PKGS="$BUILD_PKGS $TEST_PKGS"
    # Node.js may come from elsewhere on the machine; Debian's only if there is none.
    command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
    command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
    ;;
*)
    echo "usage: tools/deps.sh [build|test]" >&2
    exit 2
    ;;
esac
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "deps ($what): all packages present"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "deps: installing$missing needs root: run this as root (or install sudo)" >&2
            exit 1
        fi
        SUDO="sudo"
    fi
    echo "deps ($what): installing$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# kafkajs for the integration suite (npm registry).
if [ "$what" = test ] && command -v npm >/dev/null 2>&1 &&
    [ ! -d tests/integration/js/node_modules/kafkajs ]; then
    (cd tests/integration/js && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "deps: kafkajs could not be installed; its tests will be skipped"
fi
