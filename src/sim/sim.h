/*
 * sim: the discrete-event simulator, a driver of libsched in virtual time.
 *
 * Time jumps from event to event. At one instant, first every job that ends
 * then frees its nodes, then every job that arrives then joins the queue
 * (in order of submit time, id, line), then one scheduling pass runs. A job
 * started with an effective run time of 0 ends at that same clock time but
 * as a new instant after the pass. A job runs for min(run, time limit): it
 * is killed at its limit.
 */
#ifndef GPUFLEET_SIM_H
#define GPUFLEET_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "libsched.h"
#include "trace.h"

/* One simulated job, in input order. */
typedef struct sim_job {
    sched_job sj;        /* the scheduler's view */
    int64_t run_eff;     /* min(run, time limit) */
    int64_t end;         /* start + run_eff, once started */
    int32_t size;        /* GPUs (processors) it holds */
    int32_t input;       /* index in the trace */
    int32_t pool;        /* pool it ran in */
    int32_t nplaced;     /* its nodes: placed[first .. first + nplaced) of the result */
    int64_t first;
} sim_job;

/* One node's share of a simulated job, kept after the job ends. */
typedef struct sim_place {
    int32_t node;
    int32_t gpus;
} sim_place;

typedef struct sim_summary {
    int64_t jobs;
    int64_t dropped;
    int64_t makespan;
    double utilization;
    double mean_wait;
    double median_wait;
    double p95_wait;
    double mean_bounded_slowdown;
    int64_t capacity;    /* GPUs (processors) of the machine */
} sim_summary;

typedef struct sim_result {
    sim_job *jobs;       /* simulated jobs, in input order */
    size_t njobs;
    int64_t dropped;
    int64_t dropped_never_fit;  /* of which: larger than any allowed pool */
    sim_summary summary;
    int classic;         /* run in the classic model */
    sim_place *placed;   /* every started job's nodes (GPU clusters only) */
    size_t nplaced, capplaced;
    char (*node_names)[SCHED_NAMELEN];  /* of the machine, GPU clusters only */
    char (*pool_names)[SCHED_NAMELEN];
    size_t nnodes, npools;
} sim_result;

/* Progress: called now and then with jobs finished and jobs in total. */
typedef void (*sim_progress_fn)(size_t done, size_t total, int64_t vtime, void *arg);

typedef struct sim_options {
    int policy;          /* enum sched_policy */
    int depth;           /* conservative depth, 0 = unlimited */
    sim_progress_fn progress;
    void *progress_arg;
} sim_options;

/* Builds the classic machine: one pool "proc" of n one-processor nodes. */
sched *sim_classic_machine(int64_t n, char *err, size_t errlen);
/* Builds a libsched cluster from a description. */
sched *sim_cluster_machine(const cluster_desc *c, char *err, size_t errlen);

/* Replays a trace on a machine (which it then owns and destroys).
 * classic != 0: the classic model's drop rule (size <= 0, size > N,
 * run < 0, submit < 0); else jobs that can never fit are dropped and
 * counted. Returns 0, or -1 with a message. */
int sim_run(sched *machine, int classic, const trace *t, const sim_options *o,
            sim_result *out, char *err, size_t errlen);
void sim_result_free(sim_result *r);

/* Writers: CSV "id,submit,start,end,size" (GPU clusters add the columns
 * "pool,nodes": the pool and "node:gpus" pairs joined by ';'), and the JSON
 * summary. */
int sim_write_jobs_csv(const sim_result *r, const trace *t, const char *path,
                       char *err, size_t errlen);
int sim_write_summary_json(const sim_result *r, const char *path, char *err, size_t errlen);
/* Shortest decimal that reads back as the same double ("3.0", "0.711...") */
void sim_format_double(double v, char *buf, size_t len);

#endif
