/*
 * cmd_serve.c -- `sluice serve [FILE.properties] [--override key=value]...`:
 * hands the command line to the broker's one entry point. `--help` is
 * answered here: what a new operator needs first (the main configs, with
 * Sluice's defaults), before reading docs/configuration.md.
 */
#include "commands.h"

#include "broker/broker.h"

#include <stdio.h>
#include <string.h>

static void
serve_help(FILE *out)
{
    fputs("usage: sluice serve [FILE.properties] [--override key=value]...\n"
          "\n"
          "Runs a Kafka-compatible broker in the foreground, logging to stderr. Properties\n"
          "use Kafka's names (a Kafka server.properties works; unknown keys are warned\n"
          "about); each --override is applied after the file, in order. SIGTERM or SIGINT\n"
          "(Ctrl-C) stops it cleanly. SLUICE_LOG=debug logs more.\n"
          "\n"
          "main configs (default):\n"
          "  listeners=PLAINTEXT://127.0.0.1:9092   where it listens; loopback only by\n"
          "                                         default: use PLAINTEXT://0.0.0.0:9092\n"
          "                                         to accept other hosts\n"
          "  advertised.listeners=(listeners)       the address clients are told to use;\n"
          "                                         set it to a name other hosts resolve\n"
          "  log.dirs=./sluice-data                 where partitions and metadata live\n"
          "  broker.id=(from meta.properties, or 0)\n"
          "  num.partitions=1                       partitions of auto-created topics\n"
          "  auto.create.topics.enable=true\n"
          "  default.replication.factor=1\n"
          "  log.retention.hours=168                also log.retention.ms, .bytes (-1)\n"
          "  log.segment.bytes=1073741824\n"
          "  message.max.bytes=1048588              largest record batch accepted\n"
          "  log.flush.interval.messages / .ms      fsync policy for acks=0/1 data\n"
          "                                         (acks=all is always fsynced first)\n"
          "  group.initial.rebalance.delay.ms=3000\n"
          "  offsets.retention.minutes=10080\n"
          "\n"
          "example:\n"
          "  sluice serve /etc/sluice/server.properties --override log.dirs=/var/lib/sluice\n"
          "\n"
          "Every config: docs/configuration.md; the broker's behaviour: docs/broker.md.\n",
          out);
}

int
sl_cmd_serve(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            serve_help(stdout);
            return SL_EXIT_OK;
        }
        if (strcmp(argv[i], "--override") == 0)
            i++; /* its value is not an option */
    }
    return sl_broker_main(argc, argv);
}
