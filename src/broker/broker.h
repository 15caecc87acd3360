/*
 * broker.h -- the one entry point of the broker module, used by
 * cmd/cmd_serve.c: `sluice serve [FILE.properties] [--override k=v]...`.
 */
#ifndef SL_BROKER_BROKER_H
#define SL_BROKER_BROKER_H

/* Parses the command line, runs the broker in the foreground until SIGTERM
 * or SIGINT, shuts down cleanly and returns the process exit status
 * (0 after a clean stop, 1 on a start-up failure, 2 on a usage error). */
int sl_broker_main(int argc, char **argv);

#endif
