/* The fleet command's subcommands: each takes its own argv (argv[0] is its name). */
#ifndef GPUFLEET_CLI_H
#define GPUFLEET_CLI_H

int cmd_simulate(int argc, char **argv);

#endif
