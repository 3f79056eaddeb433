/*
 * acct_internal.h: the layout of the policy layer's object, shared by
 * acct.c (tree, users, QOS, allocations, jobs, gating) and acct_fairshare.c
 * (usage decay, Fair Tree, multifactor priority). Private to libsched.
 */
#ifndef GPUFLEET_ACCT_INTERNAL_H
#define GPUFLEET_ACCT_INTERNAL_H

#include "acct.h"
#include "acct_map.h"

/* A node of the tree: the center, a tier, an organization, a project or a
 * member (a user in a project). Children form a singly linked list in the
 * order they were added. */
typedef struct anode {
    char name[ACCT_NAMELEN];
    int32_t parent;           /* -1 for the center */
    int32_t first_child, last_child, next_sibling;
    int32_t level;            /* enum acct_level */
    int32_t depth;            /* 0 for the center */
    int32_t user;             /* members: the user; else -1 */
    int32_t first_alloc;      /* allocations owned, linked by aalloc.next_owned */
    double shares;

    /* Usage, lazily decayed: the value at usage_at; running jobs under the
     * node add `burn` rate-GPU-seconds per second (nburn of them). */
    double usage;
    int64_t usage_at;
    double burn;
    int32_t nburn;

    /* From the last Fair Tree computation. */
    double level_fs;
    int32_t rank;             /* members only */
} anode;

typedef struct auser {
    char name[ACCT_NAMELEN];
    int64_t uid;              /* -1 = none */
    int32_t default_project;  /* ACCT_NONE until a first membership */
} auser;

/* An allocation and its ledger. Running jobs are kept as three sums so that
 * used and reserved are O(1) at any time t (times relative to `ref`):
 *   burn        sum of gpus x rate
 *   burn_start  sum of gpus x rate x start
 *   burn_end    sum of gpus x rate x (start + time limit)
 *   used(t)     = used_closed + burn t - burn_start
 *   running reserve(t) = burn_end - burn t  (time left to the limits) */
typedef struct aalloc {
    acct_alloc_def d;
    int32_t next_owned;       /* next allocation of the same account, -1 */
    int64_t ref;              /* time origin of the sums: start, or 0 if open */
    double amount;            /* gpu_hours x 3600 */
    double used_closed;       /* finished jobs */
    double pending_cost;      /* worst-case cost of pending jobs */
    double burn, burn_start, burn_end;
    int64_t nrunning, npending;
} aalloc;

struct acct_center {
    anode *nodes;
    size_t nnodes, capnodes;
    auser *users;
    size_t nusers, capusers;
    acct_qos_def qos[ACCT_MAX_QOS];
    int nqos;
    int default_qos;
    int64_t max_qos_priority;
    int qos_limited;          /* some QOS has a running-GPU limit */
    aalloc *allocs;
    size_t nallocs, capallocs;

    char (*pool_names)[SCHED_NAMELEN];
    double *pool_rates;
    int npools;
    int64_t total_gpus;

    acct_priority_config prio;
    int32_t nmembers;
    int32_t ranked_members;   /* M of the last Fair Tree computation */

    acct_smap accounts, users_by_name, qos_by_name, allocs_by_name;
    acct_imap users_by_uid;   /* uid -> user */
    acct_imap members;        /* project << 32 | user -> member node */
    acct_imap counters;       /* QOS running / claimed GPUs, see qos_key() in acct.c */

    /* guaranteed quotas (acct_preempt.c): (account << 8 | pool) -> GPUs */
    acct_imap guarantees;
    int32_t nguarantees;
    acct_preempt_config preempt;

    /* scratch: allocation candidates (acct.c), Fair Tree groups (acct_fairshare.c) */
    void *cand;
    size_t capcand;
    void *ft;
    size_t capft;
};

/* The QOS a job runs under: its own, else the default (-1 when the center
 * has no QOS). O(1). */
static inline int acct_job_qos(const acct_center *a, const acct_job *j)
{
    return j->qos >= 0 ? j->qos : a->default_qos;
}

/* acct_fairshare.c: brings a node's usage to `now` (now >= usage_at). O(1). */
void acct_usage_advance(const acct_center *a, anode *n, int64_t now);
/* acct_fairshare.c: adds d to the burn rate of node and every ancestor, each
 * first brought to now; dn (+1 or -1) counts the jobs. O(depth). */
void acct_burn_add(acct_center *a, int32_t node, double d, int dn, int64_t now);

#endif
