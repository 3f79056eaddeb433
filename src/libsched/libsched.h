/*
 * libsched: the scheduling core of gpufleet.
 *
 * Pure and deterministic: no I/O, no clock (every call that needs the time
 * takes `now`, in seconds), no global state. The controller (fleetd) and the
 * simulator drive the same object through this header, so a policy replayed
 * in the simulator is the policy that runs in production.
 *
 * Model
 *   pool   a kind of accelerator (H100-80G, H200, B200, a domestic NPU).
 *   node   GPUs, CPUs and memory of one machine, in one pool, in one block.
 *   block  an NVLink domain or leaf switch; blocks hang under spines, spines
 *          under the center. Gangs prefer the fewest blocks.
 *   job    GPUs as `nodes x gpus_per_node` or as a total GPU count, CPUs and
 *          memory per GPU, allowed pools, a time limit (the estimate).
 *
 * Ownership: the caller owns every sched_job (embed it in your own struct);
 * libsched links it into its queue and running set between sched_submit()
 * and sched_job_end()/sched_cancel(). libsched owns the per-job allocation
 * array it creates at submit time (freed at end/cancel), so a scheduling
 * pass itself never allocates once its scratch space has grown.
 *
 * Errors: functions return 0 (or an index) on success and -1 on failure,
 * with a human message in the caller's buffer where one is taken.
 */
#ifndef GPUFLEET_LIBSCHED_H
#define GPUFLEET_LIBSCHED_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_NAMELEN 64
#define SCHED_ERRLEN 160
#define SCHED_MAX_POOLS 64

typedef struct sched sched;

enum sched_policy {
    SCHED_FCFS = 0,         /* start in order; stop at the first job that does not fit */
    SCHED_EASY = 1,         /* one reservation (the top job), backfill the rest */
    SCHED_CONSERVATIVE = 2, /* a reservation for every job up to the depth */
};

enum sched_node_state {
    SCHED_NODE_UP = 0,    /* accepts jobs */
    SCHED_NODE_DRAIN = 1, /* running jobs go on, no new ones */
    SCHED_NODE_DOWN = 2,  /* unusable */
};

enum sched_job_state {
    SCHED_JOB_NEW = 0,
    SCHED_JOB_PENDING = 1,
    SCHED_JOB_RUNNING = 2,
    SCHED_JOB_DONE = 3,
};

/* Why a pending job is not running, as of the last pass. */
enum sched_reason {
    SCHED_REASON_NONE = 0,
    SCHED_REASON_PRIORITY,    /* it fits, but would delay a job ahead of it */
    SCHED_REASON_RESOURCES,   /* not enough free resources now */
    SCHED_REASON_UNAVAILABLE, /* more than the UP nodes of its pools can give */
    SCHED_REASON_HELD,        /* held by its user or an operator */
    SCHED_REASON_RESERVATION, /* it would fit now but for an operator's reservation */
};

/* An operator's reservation of nodes over a window [start, end). */
enum sched_resv_kind {
    SCHED_RESV_MAINTENANCE = 0, /* no job may run there during the window: a job
                                 * whose expected end passes its start waits */
    SCHED_RESV_PROJECT = 1,     /* during the window, only jobs of its accounts
                                 * or users; outside it, the nodes are normal */
};

/* One node's share of a job. */
typedef struct sched_alloc {
    int32_t node;
    int32_t gpus;
    int32_t cpus;
    int64_t mem_mb;
} sched_alloc;

typedef struct sched_job {
    /* ---- request: set by the caller before sched_submit() ---- */
    int64_t id;             /* caller's id; with submit and seq it orders ties */
    int64_t submit;         /* submit time, s */
    int64_t time_limit;     /* the estimate, s (>= 0); the job ends by start + time_limit */
    int32_t gpus;           /* total GPUs when nodes == 0 */
    int32_t nodes;          /* > 0: a gang of this many nodes */
    int32_t gpus_per_node;  /* with nodes: GPUs per node (0 = whole nodes) */
    int32_t cpus_per_gpu;   /* 0 = no CPU request */
    int64_t mem_per_gpu_mb; /* 0 = no memory request */
    uint64_t pools;         /* bit i allows pool i; 0 = any pool */
    uint32_t user;
    uint32_t account;
    int64_t priority;       /* larger runs first; FCFS leaves it 0 */
    int held;               /* non-zero: never started */

    /* ---- state: owned by libsched, read-only to the caller ---- */
    int state;              /* enum sched_job_state */
    int reason;             /* enum sched_reason, pending jobs */
    int32_t wholecell;      /* running on whole nodes of one cell: that cell + 1, else 0 */
    int64_t start;          /* start time, running jobs */
    int64_t est_start;      /* reservation time from the last pass, -1 if none */
    int32_t pool;           /* pool it runs in (running jobs) */
    int32_t nalloc;         /* entries in alloc (running jobs) */
    int32_t alloc_cap;
    int32_t alloced_gpus;   /* GPUs it holds (whole nodes count whole) */
    sched_alloc *alloc;
    uint64_t seq;           /* submission order */
    uint64_t visited;       /* last pass that looked at it */
    int64_t end_by;         /* running: the time it ends by, start + time_limit or
                             * earlier (sched_job_end_by); the pass plans with it and
                             * the running set is ordered by it. 0 from submit (a
                             * requeue is a new submit) until the start. On the cache
                             * line of the treap links; wholecell moved into padding
                             * above for it, so a job is still 192 bytes */
    struct sched_job *qprev, *qnext;         /* pending queue */
    struct sched_job *tleft, *tright;        /* running set, a treap by end_by */
    uint32_t tprio;
    int32_t qneed;          /* pending: GPUs it needs free at least, in any pool (pass.c) */
} sched_job;

/* Called for every job a pass starts, in start order. */
typedef void (*sched_start_fn)(sched_job *job, void *arg);

sched *sched_create(void);
void sched_destroy(sched *s);

/* ---- cluster: add pools, blocks, nodes, then sched_finalize() ---- */

/* Returns the pool index, or -1 (duplicate name, too many pools). */
int sched_pool_add(sched *s, const char *name, const char *model);
/* Returns the block index, or -1. spine may be NULL or "". */
int sched_block_add(sched *s, const char *name, const char *spine);
/* block may be -1 (no topology). Returns the node index, or -1. */
int sched_node_add(sched *s, const char *name, int pool, int block,
                   int gpus, int cpus, int64_t mem_mb);
/* Builds the indexes and scratch space. Returns 0 or -1 (no nodes, out of memory). */
int sched_finalize(sched *s, char *err, size_t errlen);

/* Pools named by a '|'-separated list ("" = any: mask 0). strict: every name
 * must be a pool of this cluster; else unknown names are skipped (a trace
 * may name models a cluster lacks) and only a list naming none fails.
 * 0, or -1 with a message naming the pool. */
int sched_pool_mask(const sched *s, const char *spec, int strict, uint64_t *mask, char *err,
                    size_t errlen);
int sched_pool_count(const sched *s);
int sched_pool_find(const sched *s, const char *name);
const char *sched_pool_name(const sched *s, int pool);
int sched_node_count(const sched *s);
int sched_node_find(const sched *s, const char *name);
const char *sched_node_name(const sched *s, int node);
int sched_node_block(const sched *s, int node);
const char *sched_block_name(const sched *s, int block);
int sched_node_free_gpus(const sched *s, int node);
int sched_node_set_state(sched *s, int node, int state);

typedef struct sched_node_info {
    const char *name, *pool, *block;
    int gpus, free_gpus, cpus, free_cpus;
    int64_t mem_mb, free_mem_mb;
    int state;        /* enum sched_node_state */
    int njobs;        /* running jobs on it */
} sched_node_info;
/* 0, or -1 for an unknown node index. */
int sched_node_get(const sched *s, int node, sched_node_info *out);
int64_t sched_total_gpus(const sched *s);

/* ---- policy ---- */
void sched_set_policy(sched *s, int policy);
/* Conservative backfill: reservations per pass (0 = unlimited, the default). */
void sched_set_depth(sched *s, int depth);

/* ---- jobs ---- */

/* Validates the request and queues the job. -1 with a message naming the
 * field when the request is malformed or can never fit the cluster. */
int sched_submit(sched *s, sched_job *job, char *err, size_t errlen);
/* The shape of a job's request in a pool: k nodes of g GPUs each, whole = 1
 * when the nodes are taken whole (a gang of more than one node). A request of
 * `nodes` > 1 is a gang of whole nodes; `nodes` = 1 is one node with
 * gpus_per_node GPUs (0 = all of it); a total GPU count that fits one node
 * is a single-node job, a larger one a gang of ceil(gpus / GPUs per node)
 * whole nodes. -1 if the job can never fit the pool. O(1). */
int sched_job_shape(const sched *s, const sched_job *job, int pool, int32_t *k, int32_t *g,
                    int *whole);
/* The validation of sched_submit alone: 0 if the job could be queued. */
int sched_check(const sched *s, const sched_job *job, char *err, size_t errlen);
/* Policy: give every pending job a new priority (fn's answer, larger runs
 * first) and re-sort the queue. Ties keep submission order. */
void sched_reprioritize(sched *s, int64_t (*fn)(const sched_job *job, void *arg), void *arg);
/* The pending queue in queue order (the order of the pass: priority, higher
 * first, then submit time, id and submission order), read without a copy:
 * the first pending job, and the one after j; NULL at the end. Held jobs are
 * in it. Valid until the queue changes (submit, cancel, a pass that starts
 * jobs, sched_reprioritize). O(1) each. */
sched_job *sched_queue_first(const sched *s);
sched_job *sched_queue_next(const sched_job *j);
/* Removes a pending job. -1 if it is not pending. */
int sched_cancel(sched *s, sched_job *job);
/* Recovery: put a job back as running on the given nodes since `start`
 * (the controller restarting while its jobs run on). The job must be NEW
 * (never submitted); its request fields are validated as by sched_submit;
 * per-node shares follow its shape (whole nodes for gangs). -1 with a
 * message if a node is unknown or lacks the capacity. */
int sched_restore_running(sched *s, sched_job *job, const int32_t *nodes, int32_t nnodes,
                          int64_t start, char *err, size_t errlen);
/* A running job ended (normally by its end_by): frees its nodes. */
void sched_job_end(sched *s, sched_job *job, int64_t now);
/* A running job will end by time t, earlier than planned (a preemption
 * victim signalled at now with a grace period G ends by now + G, killed
 * then if not gone before): from now on its end_by is t, so reservations,
 * backfill and start estimates plan with its nodes free from t. Only ever
 * earlier: t before its start is an error, and t at or after its end_by
 * changes nothing. The bound lasts for this run only: a requeued job (a
 * new sched_submit) plans with its time limit again.
 * 0 when end_by is now t; 1 when t does not bring it earlier (nothing
 * changed); -1 when the job is not running or t < its start.
 * O(log R) expected: the job is re-keyed in the running set. */
int sched_job_end_by(sched *s, sched_job *job, int64_t t);

/* One scheduling pass at time `now`: orders the queue, starts what the
 * policy allows (calling `fn` for each), and records reservations and
 * pending reasons. Returns the number of jobs started. */
int sched_pass(sched *s, int64_t now, sched_start_fn fn, void *arg);

/* Start estimates for display: sets est_start of the first max_jobs pending
 * jobs (queue order) as conservative backfill would plan them on GPU counts;
 * others get -1. Starts nothing. Returns how many were estimated. */
int sched_estimate(sched *s, int64_t now, int max_jobs);

/* Why a pending job waits, as of the last pass (enum sched_reason). */
int sched_job_reason(const sched *s, const sched_job *j);

size_t sched_pending_count(const sched *s);
size_t sched_running_count(const sched *s);
int64_t sched_free_gpus(const sched *s);
/* Bytes of libsched memory per pending job (the job struct and its allocation array). */
size_t sched_job_footprint(const sched_job *job);

/* ---- operators' reservations ----
 * Nodes (by index) over [start, end) for maintenance or for a project
 * (accounts: sched_job.account values; users: sched_job.user values; at
 * least one of them). Running jobs are never stopped (an operator drains);
 * the pass, the reservation walk, the conservative profiles and
 * sched_estimate keep every new start out of the window, in every pool: in
 * a span pool (one-GPU nodes without topology, all alike, placed by counts)
 * the reserved nodes are weighed one by one while a window is not over,
 * and a pool no reservation covers keeps its counts.
 * 0, or -1 with a message naming the field (name, kind, start, end, nodes,
 * accounts, users). The arrays are copied. */
int sched_resv_add(sched *s, const char *name, int kind, int64_t start, int64_t end,
                   const int32_t *nodes, int32_t nnodes, const uint32_t *accounts,
                   int32_t naccounts, const uint32_t *users, int32_t nusers, char *err,
                   size_t errlen);
/* 0, or -1 if no reservation has that name. */
int sched_resv_remove(sched *s, const char *name);
int sched_resv_count(const sched *s);
/* Index of the reservation called name, or -1. */
int sched_resv_find(const sched *s, const char *name);

typedef struct sched_resv_info {
    const char *name;
    int kind;                   /* enum sched_resv_kind */
    int64_t start, end;
    const int32_t *nodes; int32_t nnodes;
    const uint32_t *accounts; int32_t naccounts;
    const uint32_t *users; int32_t nusers;
} sched_resv_info;
/* Reservation i (0 .. count - 1, in the order added); the pointers stay
 * valid until the next add or remove. 0, or -1 for an unknown index. */
int sched_resv_get(const sched *s, int i, sched_resv_info *out);
const char *sched_resv_kind_name(int kind);
/* The kind named "maintenance" or "project", or -1. */
int sched_resv_kind_parse(const char *name);

const char *sched_policy_name(int policy);
int sched_policy_parse(const char *name);
const char *sched_reason_name(int reason);

#endif
