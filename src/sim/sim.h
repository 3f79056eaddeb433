/*
 * sim: the discrete-event simulator, a driver of libsched in virtual time.
 *
 * Time jumps from event to event. At one instant, first every job that ends
 * then frees its nodes, then every job that arrives then joins the queue
 * (in order of submit time, id, line), then one scheduling pass runs. A job
 * started with an effective run time of 0 ends at that same clock time but
 * as a new instant after the pass. A job runs for min(run, time limit): it
 * is killed at its limit.
 *
 * With a center (sim_run_center, the center built by sim_center_build from
 * a center file), each job is mapped to a project and a user, admitted by the
 * policy layer at its submit time (refused jobs never queue), given its
 * multifactor priority, and gated before each pass by its QOS limits and its
 * allocation; see docs/policy.md. Operators' reservations of the center
 * file (sim_resv_apply) are libsched's: the pass keeps jobs out of them, and
 * the result reports what happened in each window.
 */
#ifndef GPUFLEET_SIM_H
#define GPUFLEET_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acct.h"
#include "center_yaml.h"
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

/* ---- a center's policy (sim_center.c) ---------------------------------- */

typedef struct sim_center sim_center;

/* Per account (tier, organization, project) of a run under a center. */
typedef struct sim_group {
    char name[ACCT_NAMELEN];
    int level;           /* ACCT_TIER, ACCT_ORG or ACCT_PROJECT */
    int64_t jobs;        /* jobs that ran */
    int64_t refused;     /* refused at submit (allocation, QOS, membership) */
    int64_t withdrawn;   /* held for good before starting (allocation expired or used up) */
    double mean_wait;    /* s, over the jobs that ran */
    double median_wait;
    double gpu_hours;    /* GPUs held x run time / 3600 */
    double charged;      /* the same x the pool's charge rate */
    int64_t preempted;   /* runs of its jobs preempted (then requeued) */
    double lost_gpu_hours; /* GPUs x run time of those runs / 3600 */
} sim_group;

typedef struct sim_alloc_report {
    char name[ACCT_NAMELEN];
    char account[ACCT_NAMELEN];
    char pools[256];
    acct_ledger ledger;  /* at the end of the run */
} sim_alloc_report;

typedef struct sim_acct_report {
    int64_t unmapped;       /* jobs mapped to no project (ran unbudgeted, fair share 0) */
    int64_t refused;        /* of all jobs */
    int64_t withdrawn;
    int64_t auto_members;   /* trace users made members of the project their job named */
    int64_t unknown_qos;    /* jobs naming a QOS the center lacks (given the default) */
    int64_t priority_calcs; /* fair-share and priority recomputations */
    int preempt_enabled;    /* the center has guarantees or QOS preemption rights */
    int64_t preempt_plans;  /* preemption plans carried out */
    int64_t preemptions;    /* runs preempted (victims), of all jobs */
    char first_refusal[ACCT_ERRLEN + 64];
    sim_group *groups;      /* tiers, then organizations, then projects, each in file order */
    size_t ngroups;
    sim_alloc_report *allocs;
    size_t nallocs;
} sim_acct_report;

/* What became of an operator's reservation in a run, read from where and
 * when the jobs ran (their last run; a run cut short by preemption is not
 * counted). A job counts when it ran on one of the nodes for some time
 * within [start, end). */
typedef struct sim_resv_report {
    char name[SCHED_NAMELEN];
    int kind;                       /* enum sched_resv_kind */
    int64_t start, end;
    int32_t *nodes;                 /* indexes into sim_result.node_names */
    int32_t nnodes;
    int64_t gpus;                   /* of its nodes */
    char (*accounts)[ACCT_NAMELEN]; /* project: the projects it admits */
    int32_t naccounts;
    char (*users)[ACCT_NAMELEN];    /* project: the users it admits */
    int32_t nusers;
    double window_gpu_hours;        /* gpus x (end - start) / 3600 */
    double used_gpu_hours;          /* on its nodes within the window, by jobs it admits */
    int64_t used_jobs;
    double overlap_gpu_hours;       /* the same by jobs it binds: 0 unless the rule failed */
    int64_t overlap_jobs;
} sim_resv_report;

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
    sim_acct_report *acct; /* with a center, else NULL */
    sim_resv_report *resv; /* the machine's reservations (sim_resv_apply), in the order added */
    size_t nresv;
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
/* sim_run under a center's policy (NULL: exactly sim_run). The run charges
 * the center (usage, allocations): one run per center. out->acct receives
 * the per-account report. */
int sim_run_center(sched *machine, int classic, const trace *t, const sim_options *o,
                   sim_center *center, sim_result *out, char *err, size_t errlen);
void sim_result_free(sim_result *r);

/* Builds a center's policy for a machine: pools and charge rates (rates[i]
 * for the machine's pool i; NULL gives 1.0 to all), the account tree, users
 * and memberships, QOS, allocations (their pool names resolved on the
 * machine) and priority settings (libsched's defaults where the file says
 * nothing). NULL with "FILE:LINE: field NAME: reason" (fname names the
 * center file). */
sim_center *sim_center_build(const center_desc *cd, const sched *machine, const double *rates,
                             const char *fname, char *err, size_t errlen);
void sim_center_free(sim_center *c);
acct_center *sim_center_acct(sim_center *c);
/*
 * The mapping rule from a trace job to the center (first that applies):
 *   1. the job names an account (GPU CSV `account` column): that project
 *      (an account that is not a project of the center: unmapped);
 *   2. its user id (SWF field 12, CSV `user`) is a user's uid: that user's
 *      default project;
 *   3. its group id (SWF field 13) is a project's trace_group: that project;
 *   4. else unmapped (ACCT_NONE).
 * The user is the center's user with that uid; a trace user the center
 * does not list becomes user "u<id>" (without a uid, so rule 2 only ever
 * maps users of the center file), and a user not yet a member of the
 * project becomes one with 1 share (counted in auto_members). The QOS is
 * the one the job names, else the default (unknown names count in
 * unknown_qos). Fills aj's request (project, user, qos, gpus, times, pools
 * as given). Returns 0 when mapped, 1 when unmapped. O(1) expected.
 */
int sim_center_map(sim_center *c, const trace_job *tj, uint64_t pools, acct_job *aj);
/* Writes the readable per-tier / organization / project tables and the
 * allocations of r->acct to f (nothing without a center). */
void sim_print_accounts(FILE *f, const sim_result *r);

/* ---- operators' reservations (sim.c) ------------------------------------ */

/*
 * Adds the reservations of a center file (its reservations section) to the
 * machine with sched_resv_add, before sim_run_center: node names resolved
 * on the machine; projects as the center's account ids, which is what
 * sim_run_center puts in sched_job.account of the jobs mapped to them (as
 * fleetd does); users as their uid, which trace jobs carry in
 * sched_job.user (a user of the file without a uid is an error: no trace
 * job could be theirs). Times are the trace's clock, as allocations'.
 * 0, or -1 with "FILE:LINE: field NAME: reservation R: reason"; libsched's
 * own refusals (e.g. nodes of a span pool) come through in its words.
 * center may be NULL only for a file without projects or users in its
 * reservations. O(nodes listed x log N) plus libsched's checks.
 */
int sim_resv_apply(sched *machine, const center_desc *cd, sim_center *center, const char *fname,
                   char *err, size_t errlen);
/* Writes one readable line per reservation of r (nothing without). */
void sim_print_reservations(FILE *f, const sim_result *r);

/* Writers: CSV "id,submit,start,end,size" (GPU clusters add the columns
 * "pool,nodes": the pool and "node:gpus" pairs joined by ';'), and the JSON
 * summary. */
int sim_write_jobs_csv(const sim_result *r, const trace *t, const char *path,
                       char *err, size_t errlen);
int sim_write_summary_json(const sim_result *r, const char *path, char *err, size_t errlen);
/* Shortest decimal that reads back as the same double ("3.0", "0.711...") */
void sim_format_double(double v, char *buf, size_t len);

#endif
