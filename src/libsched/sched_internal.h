/* Private structures of libsched, shared by its .c files only. */
#ifndef GPUFLEET_SCHED_INTERNAL_H
#define GPUFLEET_SCHED_INTERNAL_H

#include "libsched.h"

/* A running job's share of one node. */
typedef struct srun {
    sched_job *job;
    int32_t gpus, cpus;
    int64_t mem;
} srun;

/* The fields read on every start, end and placement; the name lives apart
 * (s->node_names), which keeps a node at 120 bytes instead of 184. */
typedef struct snode {
    int32_t pool, block, cell;
    int32_t cap_gpus, cap_cpus;
    int64_t cap_mem;
    int32_t free_gpus, free_cpus;
    int64_t free_mem;
    int state;
    /* free-capacity index (see index.c) */
    int32_t bprev, bnext, bucket; /* bucket = free GPUs, -1 when not indexed */
    int32_t iprev, inext;         /* idle list of the cell */
    int8_t in_idle;
    int8_t held;                  /* taken out of the index by the running pass */
    int8_t touched;               /* scratch of the reservation walk */
    int8_t opres;                 /* pass scratch: an operator's reservation (resv.c) covers it */
    /* running jobs on this node: the first in the node itself (most nodes
     * run one job, and a separate array cost a cache miss per start and end).
     * In a span pool (span.c) these and the free fields above describe
     * single-node jobs only: a gang's nodes are marked in s->span_busy. */
    srun *run;
    int32_t nrun, caprun;
    srun run_inline[1];
    /* pass scratch */
    int32_t rel_gpus, rel_cpus;   /* released by the walk's time T */
    int64_t rel_mem;
    int32_t res_head;             /* first reservation on this node, -1 = none */
} snode;

typedef struct spool {
    char name[SCHED_NAMELEN];
    char model[SCHED_NAMELEN];
    int32_t maxgpn;       /* GPUs of its largest node */
    int32_t maxcpus;
    int64_t maxmem;
    int32_t nnodes;
    int32_t *bucket;      /* [0..maxgpn]: head node of each free-GPU bucket */
    int64_t *fail_c, *fail_m; /* [0..maxgpn]: CPUs and MB that the last failed scan of
                               * the bucket looked for; INT64_MAX: none since a node
                               * entered it (index.c) */
    int64_t free_gpus;    /* UP nodes only */
    int32_t idle_nodes;   /* UP nodes with every GPU free */
    int32_t *cells;       /* cells of this pool */
    int32_t ncells;
    int32_t mingpn;       /* GPUs of its smallest node */
    int32_t nonup;        /* nodes not UP */
    int unit;             /* every node has one GPU: the cells' idle lists are
                           * the whole index (no free-GPU buckets to keep) */
    /* span pool (span.c): one-GPU nodes, no topology, all alike; jobs hold
     * counts in the pass, free nodes live in a bitmap instead of the index */
    int span;
    int32_t span_lo, span_hi;  /* bitmap base node (a multiple of 64), last node */
    int64_t span_nw;           /* words of the bitmaps */
    int32_t span_cpus;         /* every node's CPUs and memory */
    int64_t span_mem;
    uint64_t *span_free;       /* UP nodes no job holds, bit (node - span_lo) */
    uint64_t *span_up;         /* UP nodes */
    uint64_t *span_sum;        /* bit w: span_free[w] != 0 */
    /* pass scratch: the pool's availability profile, free GPUs f[i] on
     * [t[i], t[i+1]), built on demand by conservative backfill */
    int64_t *pt, *pf;
    size_t pn, pcap;
} spool;

/* A cell is the part of one block that lies in one pool. */
typedef struct scell {
    int32_t pool, block, spine;
    int32_t idle_head;
    int32_t idle_count;
    int32_t count;        /* scratch: candidates in the current placement */
} scell;

typedef struct sblock {
    char name[SCHED_NAMELEN];
    int32_t spine;
} sblock;

/* A reservation of part of a node from start to end (half-open): a job's
 * (op = -1), or, for the length of a pass, an operator's reservation (op =
 * its index in s->oresv, the whole node; resv.c). */
typedef struct sresv {
    int32_t node, next;
    int64_t start, end;
    int32_t gpus, cpus;
    int64_t mem;
    int32_t op;
} sresv;

/* An operator's reservation (resv.c): nodes over [start, end), for
 * maintenance (no job) or for a project (only its accounts and users). */
typedef struct soresv {
    char name[SCHED_NAMELEN];
    int kind;                   /* enum sched_resv_kind */
    int64_t start, end;
    int32_t *nodes; int32_t nnodes;
    uint32_t *accounts; int32_t naccounts;
    uint32_t *users; int32_t nusers;
} soresv;

struct sched {
    snode *nodes;   int32_t nnodes, capnodes;
    char (*node_names)[SCHED_NAMELEN];
    spool pools[SCHED_MAX_POOLS]; int32_t npools;
    sblock *blocks; int32_t nblocks, capblocks;
    char (*spines)[SCHED_NAMELEN]; int32_t nspines, capspines;
    scell *cells;   int32_t ncells;
    int finalized;
    int32_t maxgpn; /* GPUs of the largest node of any pool */

    int policy;
    int depth;      /* conservative: reservations per pass, 0 = unlimited */

    sched_job *qhead, *qtail;  /* pending queue in priority order */
    size_t npending;
    sched_job *troot;          /* running set: treap by (expected end, seq) */
    size_t nrunning;
    uint64_t seq;
    uint64_t pass_no;
    int prof_built;            /* pools' profiles are valid in this pass */
    /* EASY's reservation kept from one pass to the next while nothing it
     * depends on changed (epoch: ends, node states, cancels, jobs queued
     * ahead of it): a pass where only arrivals happened reuses it. */
    uint64_t epoch;
    uint64_t resv_epoch;
    sched_job *resv_job;       /* NULL: no kept reservation */
    int64_t resv_T;
    int64_t held_whole_from;   /* the only reservation is on whole nodes from then: windows
                                * ending later can skip held nodes; INT64_MAX if not */
    int unvisited_reason;      /* reason of the jobs the last pass did not reach */
    /* the first reservation when it is in a span pool: a count, not nodes
     * (pass.c, reserve_walk); srs_pool -1 = none */
    int32_t srs_pool;
    int64_t srs_T, srs_end;    /* its window [T, end) */
    int32_t srs_k;             /* nodes (= GPUs) it reserves */
    int32_t srs_held;          /* of which free now: held out of backfill that runs past T */
    int32_t span_from_held;    /* place_now -> start: nodes the job takes from srs_held */
    uint64_t *span_busy;       /* span nodes held by a job, bit per node */
    int32_t *span_run;         /* at the first node of each run of consecutive nodes of a
                                * span job's allocation: the run's length */

    /* scratch of one pass (grown, never shrunk) */
    sresv *rv;       size_t nrv, caprv;
    int32_t *held;   int32_t nheld;      /* reserved nodes with free GPUs, out of the index */
    int32_t *rnodes; int32_t nrnodes;    /* every node holding a reservation */
    int32_t *touch;  int32_t ntouch;     /* nodes touched by the walk */
    int32_t *cand;   int32_t *cand_gpus; int8_t *cand_pref; int32_t ncand;
    int32_t *order;                      /* cells ordered for gang choice */
    int32_t *quota;                      /* nodes to take from each chosen cell */
    int64_t *spine_count;
    int64_t *times;  size_t ntimes, captimes;
    int32_t *pick;   int32_t npick;      /* chosen nodes */
    sched_job **walked; size_t nwalked, capwalked; /* whole-node jobs the walk released */

    /* operators' reservations (resv.c); while a pass runs, those not over
     * yet are applied: an sresv entry (op >= 0) per node, the node held out
     * of the index, listed in opnodes; opends: their ends, sorted */
    soresv *oresv;   int32_t noresv, caporesv;
    int op_applied;                      /* this pass applied some */
    int op_ignore;                       /* node_avail: look past them (pending reason) */
    int proj_live;                       /* the profile: project windows not over yet */
    int32_t *opnodes; int32_t nopnodes;
    int64_t *opends; int32_t nopends;
    int64_t op_now;                      /* the pass's now, for the windows applied */
    uint64_t span_ops;                   /* bit p: span pool p has nodes under those windows;
                                          * placement and the first reservation weigh them
                                          * one by one there (span.c, pass.c) */
    /* span pools under reservations (resv_span_block): node n is marked
     * when span_mark[n] == span_gen; allocated by the first reservation of
     * a span node */
    uint32_t *span_mark; uint32_t span_gen;
};

/* index.c: the free-capacity index */
void idx_remove(sched *s, int32_t n);
void idx_insert(sched *s, int32_t n);

/* A lower bound of the GPUs job j needs free in any pool: a gang of n
 * nodes, n whole nodes (a GPU at least each); one node, its GPUs per node
 * or at least one; a total of G GPUs, G on one node or a gang of
 * ceil(G / gpus per node) >= ceil(G / s->maxgpn) nodes. Kept in j->qneed
 * from submit (pass.c, job_may_fit). O(1). */
static inline int32_t job_need_bound(const sched *s, const sched_job *j)
{
    if (j->nodes > 1)
        return j->nodes;
    if (j->nodes == 1)
        return j->gpus_per_node > 0 ? j->gpus_per_node : 1;
    return (int32_t)(((int64_t)j->gpus + s->maxgpn - 1) / s->maxgpn);
}

/* cluster.c: job starts (taken: span_take already took the nodes) and a
 * running job's share of a node, in the node's list */
void sched_start_job(sched *s, sched_job *j, int64_t now, int taken);
void node_run_add(snode *n, sched_job *j, const sched_alloc *a);
void node_run_del(snode *n, sched_job *j);

/* span.c: span pools */
void span_setup(sched *s);
void span_free_all(sched *s);
void span_take(sched *s, int pool, sched_job *j, int32_t k, int32_t cpus, int64_t mem);
void span_apply(sched *s, sched_job *j, int sign);
int span_has_duplicates(sched *s, const int32_t *nodes, int32_t n);
int64_t span_job_up_counted(const sched *s, const sched_job *j);
/* UP nodes of a running job of a span pool: what its end gives back.
 * O(1) while every node of the pool is UP, else O(runs + k/64). */
static inline int64_t span_job_up(const sched *s, const sched_job *j)
{
    return s->pools[j->pool].nonup == 0 ? j->nalloc : span_job_up_counted(s, j);
}
void span_set_state(sched *s, int32_t node, int state);
/* Is span node n free (UP, no job holds it)? O(1). */
static inline int span_node_free(const sched *s, int32_t n)
{
    const spool *p = &s->pools[s->nodes[n].pool];
    int64_t b = n - p->span_lo;
    return (int)(p->span_free[b >> 6] >> (b & 63) & 1);
}
/* Placement now in a span pool with reservations (s->span_ops): can job j
 * take k free nodes over [now, b), around the reservations that bind it and,
 * if touches, the nodes the pass's first reservation holds? If so, picks
 * them into s->pick (reserved nodes first, then held ones, then the lowest
 * free) and returns 1. O(reserved nodes + held), plus O(words + k) to pick. */
int span_resv_fit(sched *s, int pool, const sched_job *j, int32_t k, int64_t now, int64_t b,
                  int touches);
/* Starts job j on the nodes of s->pick (span_resv_fit): writes j->alloc in
 * node order and takes the nodes as sched_restore_running does. O(k log k). */
void span_take_picked(sched *s, int pool, sched_job *j, int32_t cpus, int64_t mem);
void span_node_view(const sched *s, int32_t node, int32_t *gpus, int32_t *cpus, int64_t *mem,
                    int32_t *njobs);

/* resv.c: operators' reservations in the pass */
/* Does reservation op bind job j (maintenance: every job; project: jobs of
 * none of its accounts and users)? j NULL: yes. O(accounts + users). */
int resv_binds(const sched *s, int32_t op, const sched_job *j);
/* Applies the reservations not over at `now` to the pass: O(reserved nodes
 * + R log R). Undone by the pass's release of its holds (pass.c). */
void resv_apply(sched *s, int64_t now);
/* GPUs of UP nodes of pool `pool` that project reservations binding j
 * hold at time t (the profile's per-job correction). O(their nodes). */
int64_t resv_proj_gpus(const sched *s, int pool, const sched_job *j, int64_t t);
/* Span pools: marks (s->span_mark) the nodes of pool `pool` that the
 * reservations not over at s->op_now, binding job j, hold at some point of
 * [x, y); none while s->op_ignore. O(nodes of the reservations). */
void resv_span_block(sched *s, int pool, const sched_job *j, int64_t x, int64_t y);
static inline int resv_span_blocked(const sched *s, int32_t n)
{
    return s->span_mark[n] == s->span_gen;
}
/* Records an sresv entry of node n (pass.c's reserve() does the same for jobs). */
void resv_entry_add(sched *s, int32_t n, int64_t start, int64_t end, int32_t gpus,
                    int32_t cpus, int64_t mem, int32_t op);

/* running.c: the running set */
/* When a running job is expected to end: its end_by, start + time_limit
 * unless the caller said it ends sooner (sched_job_end_by). One field, set
 * at start: the walk and the profiles read it once per job. Every
 * structure ordered by it (the running set) is re-keyed when it changes
 * (run_rekey). O(1). */
static inline int64_t job_expected_end(const sched_job *j)
{
    return j->end_by;
}
void run_insert(sched *s, sched_job *j);
void run_remove(sched *s, sched_job *j);
/* A running job's expected end moves to end: out of the treap under its old
 * key, back in under the new one. O(log R) expected. */
void run_rekey(sched *s, sched_job *j, int64_t end);
/* In-order walk; stops when fn returns non-zero (and returns that). */
int run_walk(const sched *s, int (*fn)(sched_job *j, void *arg), void *arg);

#endif
