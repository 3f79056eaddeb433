/* fleet: the gpufleet command line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"submit", cmd_submit, "submit a batch job (sbatch's options)"},
    {"queue", cmd_queue, "list jobs, active ones by default"},
    {"show", cmd_show, "show one job"},
    {"cancel", cmd_cancel, "cancel jobs"},
    {"hold", cmd_hold, "hold pending jobs"},
    {"release", cmd_release, "release held jobs"},
    {"requeue", cmd_requeue, "put jobs back in the queue"},
    {"history", cmd_history, "list finished jobs"},
    {"run", cmd_run, "inside a job: start a command on all its nodes (ranks)"},
    {"nodes", cmd_nodes, "list nodes"},
    {"drain", cmd_drain, "stop placing jobs on a node (operators)"},
    {"resume", cmd_resume, "place jobs on a node again (operators)"},
    {"status", cmd_status, "the controller's state"},
    {"token", cmd_token, "issue a bearer token for the TCP API (operators)"},
    {"usage", cmd_usage, "GPU-hours used per tier, org, project or user; allocations"},
    {"admin", cmd_admin, "the center's accounts, fair share; reload (operators)"},
    {"simulate", cmd_simulate, "replay a workload trace through the scheduler"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: fleet COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'fleet COMMAND --help' tells more.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "fleet: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
