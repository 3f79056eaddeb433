/*
 * jobenv: what a job sees when it starts, computed without side effects:
 * its environment (the submission's variables, then gpufleet's and Slurm's
 * names, which always win) and where its output goes.
 *
 * Pure functions over a launch: the shepherd calls them before fork, the
 * unit tests call them directly.
 */
#ifndef GPUFLEET_AGENT_JOBENV_H
#define GPUFLEET_AGENT_JOBENV_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* An environment under construction: "K=V" strings, in order, keys unique. */
typedef struct jobenv {
    char **v;      /* NULL-terminated; each malloc'd */
    size_t n, cap;
} jobenv;

void jobenv_init(jobenv *e);
void jobenv_free(jobenv *e);
/* Sets key to value, replacing an earlier value in place. */
void jobenv_set(jobenv *e, const char *key, const char *value);
/* Adds "K=V" (the text as given); a string without '=' is ignored. */
void jobenv_put(jobenv *e, const char *kv);
void jobenv_unset(jobenv *e, const char *key);
/* The value of key, or NULL. */
const char *jobenv_get(const jobenv *e, const char *key);

/* The account the job runs as, from the password database (any field may be
 * NULL when unknown). */
typedef struct jobenv_user {
    const char *name, *home, *shell;
} jobenv_user;

#define JOBENV_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/*
 * The environment of a launch on node `node`, into e (initialized, empty):
 *   - l->env in order (the submission's variables);
 *   - HOME, USER, LOGNAME, SHELL from pw when the submission has none (USER
 *     and LOGNAME fall back to l->user), PATH JOBENV_DEFAULT_PATH when none;
 *   - always set, replacing the submission's: FLEET_JOB_ID, FLEET_JOB_NAME,
 *     FLEET_NODELIST, FLEET_NNODES, FLEET_NODEID (node_rank),
 *     FLEET_NODENAME, FLEET_GPUS (the job's total), FLEET_RESTART_COUNT (run),
 *     CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES = the allocated GPU
 *     indices "0,2" (no GPU: CUDA_VISIBLE_DEVICES="" and
 *     NVIDIA_VISIBLE_DEVICES=void), CUDA_DEVICE_ORDER=PCI_BUS_ID (so CUDA's
 *     numbering is NVML's), FLEET_ARRAY_JOB_ID and FLEET_ARRAY_TASK_ID for an
 *     array task (else removed), FLEET_SOCKET ("unix:PATH" controller) or
 *     FLEET_URL (http://HOST:PORT), the other removed, and Slurm's names
 *     SLURM_JOB_ID, SLURM_JOBID, SLURM_JOB_NAME, SLURM_JOB_NODELIST,
 *     SLURM_NNODES, SLURM_NODEID, SLURMD_NODENAME, SLURM_RESTART_COUNT,
 *     SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID, SLURM_SUBMIT_DIR.
 */
void jobenv_build(jobenv *e, const proto_launch *l, const char *node, const jobenv_user *pw);

/*
 * Adds a step's rank to a job's environment: the step's own variables, then
 * RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE (local_world), MASTER_ADDR,
 * MASTER_PORT, FLEET_STEP_ID, FLEET_RANK, CUDA_VISIBLE_DEVICES and
 * NVIDIA_VISIBLE_DEVICES of the rank's GPUs (as jobenv_build), and Slurm's
 * SLURM_PROCID, SLURM_LOCALID, SLURM_NTASKS, SLURM_STEP_ID.
 */
void jobenv_rank(jobenv *e, const proto_step *st, const proto_step_rank *r, int local_world);

/*
 * Where stdout and stderr go. A relative path is taken from workdir; ""
 * output is /dev/null; "" error is the output. *same is 1 when both name one
 * file (open it once and share the descriptor, so that neither overwrites
 * the other). 0, or -1 when a path does not fit (outlen bytes each).
 */
int jobenv_output_paths(const proto_launch *l, char *out, char *err, size_t outlen, int *same);

/* The GPU list of a mask for CUDA_VISIBLE_DEVICES ("" for none). */
void jobenv_gpu_list(uint64_t gpus, char *out, size_t outlen);

#endif
