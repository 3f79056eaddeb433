/*
 * spool: what fleet-agent keeps on disk, so that jobs outlive the agent.
 *
 *   SPOOL/agent.lock              flock'ed by the running agent (one agent per spool)
 *   SPOOL/nonce                   the nonce high-water mark (decimal)
 *   SPOOL/NODE/                   one directory per node the agent serves
 *   SPOOL/NODE/JOB.RUN/           one per launch (mode 0711: the job's user may
 *                                 traverse it to run its script, not list it)
 *       (the directory)           flock'ed from before the shepherd starts until
 *                                 it ends: a free lock without status.json means
 *                                 the shepherd died without a word (or never ran)
 *       launch.json               the launch, as the protocol encodes it (a reply
 *                                 with one node and one launch)
 *       shepherd.json             node facts for the shepherd (cgroup mode, ...);
 *                                 both written by the shepherd from its stdin
 *       shepherd.pid              "PID STARTTIME" of the shepherd
 *       job.pid                   "PID STARTTIME" of the job's first process (its
 *                                 process group)
 *       script                    the batch script (node rank 0), owned by the user
 *       status.json               the end record, written atomically, last
 *       shepherd.log              what the shepherd had to say
 *   SPOOL/NODE/JOB.RUN.done       tombstone once fleetd has acknowledged the end:
 *                                 a late repeat of the launch is never run again;
 *                                 removed after SPOOL_TOMB_S (its mtime says when)
 *
 * Functions return 0, or -1 with errno (and a message where there is a buffer).
 */
#ifndef GPUFLEET_AGENT_SPOOL_H
#define GPUFLEET_AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define SPOOL_TOMB_S 600

/* Facts about the node the shepherd needs besides the launch. */
typedef struct spool_node {
    char node[PROTO_NAME_MAX];
    char cgroup[8];          /* "v2", "v1", "none" */
    char cgroup_root[256];   /* "/sys/fs/cgroup" */
    int allow_root;          /* jobs may run as uid 0 */
    int device_limits;       /* deny /dev/nvidia* of GPUs not allocated (v1) */
    int32_t ngpu;            /* entries in gpu_minor: GPU index -> /dev/nvidiaN */
    int32_t gpu_minor[PROTO_MAX_GPUS];
} spool_node;

/* "JOB.RUN" for a job directory; *tomb = 1 for "JOB.RUN.done". -1 for any
 * other name. */
int spool_parse_name(const char *name, int64_t *job, int32_t *run, int *tomb);

/* The launch: launch.json in dir (mode 0600). read fills *l (free it with
 * proto_launch_free). */
int spool_launch_write(const char *dir, const proto_launch *l);
int spool_launch_read(const char *dir, proto_launch *l, char *err, size_t errlen);
/* The same from text already read (the shepherd's stdin). */
int spool_launch_parse(const char *text, size_t len, proto_launch *l, char *err, size_t errlen);

/* Node facts: shepherd.json in dir (mode 0600). */
int spool_node_write(const char *dir, const spool_node *n);
int spool_node_read(const char *dir, spool_node *n, char *err, size_t errlen);
/* As compact JSON on one line (malloc'd; NULL when out of memory), and back
 * from the start of text (what follows the JSON value is ignored). */
char *spool_node_json(const spool_node *n);
int spool_node_parse(const char *text, spool_node *n);

/* The end record: status.json (job, run, exit_code, signal, reason, start,
 * end, message), mode 0644, written atomically and fsync'ed. read: -1 with
 * errno ENOENT when there is none yet, EINVAL when it is malformed. */
int spool_end_write(const char *dir, const proto_ended *e);
int spool_end_read(const char *dir, proto_ended *e);

/* "PID STARTTIME\n" files (shepherd.pid, job.pid). */
int spool_pid_write(const char *path, pid_t pid, uint64_t start);
int spool_pid_read(const char *path, pid_t *pid, uint64_t *start);

/* The nonce high-water mark: load gives 0 when the file does not exist. */
int spool_nonce_load(const char *path, uint64_t *hwm);
int spool_nonce_save(const char *path, uint64_t hwm);

/* The name of a launch's cgroup: "NODE_JOB.RUN-SPOOLHASH", where SPOOLHASH is
 * 8 hex digits of a hash of the launch's directory path (SPOOL/NODE/JOB.RUN,
 * with the agent's spool made absolute at start): unique on a machine that
 * hosts several emulated nodes, or several agents (tests, `make run`) whose
 * nodes have the same names, and the same for the agent, the shepherd and
 * the ranks of one launch, across agent restarts. */
void spool_cgroup_name(const char *dir, const char *node, int64_t job, int32_t run, char *out,
                       size_t outlen);

/* Names of the end reasons as status.json writes them ("exited", "timeout",
 * "killed", "launch_failed"); -1 for an unknown name. */
const char *spool_reason_name(int reason);
int spool_reason_parse(const char *s);

#endif
