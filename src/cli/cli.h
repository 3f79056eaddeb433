/* The fleet command's subcommands: each takes its own argv (argv[0] is its name). */
#ifndef GPUFLEET_CLI_H
#define GPUFLEET_CLI_H

int cmd_simulate(int argc, char **argv);

/* clients of fleetd (cmd_jobs.c, cmd_nodes.c) */
int cmd_submit(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_requeue(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* accounting and the center's accounts (cmd_policy.c) */
int cmd_usage(int argc, char **argv);
int cmd_admin(int argc, char **argv);
/* fleet admin reservation ... (cmd_resv.c) */
int cmd_resv(int argc, char **argv);

#endif
