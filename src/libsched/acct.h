/*
 * acct: the policy layer of libsched. Accounts, fair share, multifactor
 * priority, QOS and GPU-hour allocations of a center.
 *
 * Pure and deterministic like the rest of libsched: no I/O, no clock (every
 * call that needs the time takes `now`, in seconds, and `now` never goes
 * backwards between calls on one acct), no global state. fleetd and the
 * simulator drive the same object; docs/policy.md explains each rule, the
 * comments below repeat the rule where it is implemented, with its cost.
 *
 * Model
 *   account tree  center -> tiers -> organizations (which may nest) ->
 *                 projects; every account has a fair-share `shares` value.
 *   user          a person, with an optional uid; a member of one or more
 *                 projects (each membership is a leaf of the tree, with its
 *                 own shares: the associations Fair Tree ranks) and a
 *                 default project.
 *   job           names its project (sched_job.account = the project's id)
 *                 and its user; an acct_job, owned by the caller, carries
 *                 what acct needs to know about it.
 *   usage         charged GPU-seconds x the charge rate of the pool a job
 *                 runs in, decayed with a half-life, kept for every account
 *                 and member (an account's usage is that of its subtree).
 *   QOS           named classes: a priority, a max wall time, running-GPU
 *                 limits per user and per project, whom it may preempt.
 *   allocation    GPU-hours for a project or any account above it, for a
 *                 period [start, end), for some pools or any pool.
 *
 * Ids: accounts and members are nodes of one tree, numbered from 0 (the
 * center) in the order they are added; ACCT_NONE (0) as a job's project
 * means "no project". Users, QOS and allocations have their own indexes
 * from 0. Lookups by name are O(1) expected (hash tables).
 *
 * Errors: functions return an index or 0 on success and -1 on failure, with
 * a human message in the caller's buffer where one is taken. Out of memory
 * aborts (as in the rest of libsched).
 */
#ifndef GPUFLEET_ACCT_H
#define GPUFLEET_ACCT_H

#include <stddef.h>
#include <stdint.h>

#include "libsched.h"

#define ACCT_NAMELEN 64
#define ACCT_ERRLEN 256
#define ACCT_NONE 0          /* a job's project: none (the center is never a project) */
#define ACCT_MAX_QOS 64      /* preemption lists are bit masks */
#define ACCT_MAX_DEPTH 16    /* center at depth 0, members at most here */
#define ACCT_SHARES_MAX 1e9

/* The policy state of one center (the type is not called `acct`: that is a
 * POSIX function in <unistd.h>). Opaque. */
typedef struct acct_center acct_center;

/* Levels of the tree. Organizations may hold organizations (a university's
 * departments); projects hang under an organization, a tier or the center. */
enum acct_level {
    ACCT_CENTER = 0,
    ACCT_TIER = 1,    /* foundation-model, research-institute, university, ... */
    ACCT_ORG = 2,
    ACCT_PROJECT = 3, /* what jobs are charged to */
    ACCT_MEMBER = 4,  /* a user in a project: a leaf */
};

/* ---- the object -------------------------------------------------------- */

/* A center with no accounts, no QOS, no allocations, default priority
 * settings (acct_priority_defaults) and one pool of rate 1. The center's
 * name is "center" when name is NULL or empty. NULL on out of memory. */
acct_center *acct_create(const char *name);
/* Frees everything the center owns; NULL is a no-op. acct_jobs stay the caller's. */
void acct_destroy(acct_center *a);

/* ---- account tree ------------------------------------------------------ */

/* Adds an account under parent (0 = the center). level: ACCT_TIER under the
 * center; ACCT_ORG under a tier or an organization; ACCT_PROJECT under the
 * center, a tier or an organization. Names are unique among accounts.
 * shares in [0, ACCT_SHARES_MAX]. Returns the account's id, or -1 with a
 * message. O(1) expected. */
int acct_account_add(acct_center *a, int parent, int level, const char *name, double shares,
                     char *err, size_t errlen);
/* The account called name, or -1. O(1) expected. */
int acct_account_find(const acct_center *a, const char *name);

/* Nodes of the tree (accounts and members), by id. Out-of-range ids give
 * -1 / NULL / 0. O(1) each. */
int acct_node_count(const acct_center *a);
int acct_node_level(const acct_center *a, int node);
int acct_node_parent(const acct_center *a, int node);
const char *acct_node_name(const acct_center *a, int node);  /* members: the user's name */
double acct_node_shares(const acct_center *a, int node);
/* The nearest node at or above `node` whose level is `level`, or -1.
 * O(depth). */
int acct_node_ancestor(const acct_center *a, int node, int level);

/* ---- users -------------------------------------------------------------- */

/* Adds a user; uid < 0 means none (else unique among users). Returns the
 * user's index, or -1 with a message (empty, long or repeated name, repeated
 * uid). O(1) expected. */
int acct_user_add(acct_center *a, const char *name, int64_t uid, char *err, size_t errlen);
int acct_user_find(const acct_center *a, const char *name);      /* -1 if none; O(1) */
int acct_user_find_uid(const acct_center *a, int64_t uid);       /* -1 if none; O(1) */
int acct_user_count(const acct_center *a);
const char *acct_user_name(const acct_center *a, int user);
/* Makes user a member of project with the given shares (the member's
 * fair-share weight among the project's members); the first membership
 * becomes the user's default project. Returns the member's node id, or -1
 * with a message (not a project, already a member). O(1) expected. */
int acct_member_add(acct_center *a, int user, int project, double shares, char *err, size_t errlen);
/* The member node of (user, project), or -1. O(1) expected. */
int acct_member_find(const acct_center *a, int user, int project);
/* Sets the default project (the user must be a member). 0 or -1. */
int acct_user_set_default(acct_center *a, int user, int project);
/* The user's default project, or ACCT_NONE. */
int acct_user_default(const acct_center *a, int user);

/* ---- pools and charge rates -------------------------------------------- */

/* Names the pools (in libsched's pool order) and their charge rates per
 * GPU-second (>= 0; an H200 hour may cost more than an A100 hour), and the
 * cluster's GPUs (for the size factor). Replaces the previous pools; call it
 * before adding allocations or jobs. 0, or -1 with a message (n out of
 * [1, SCHED_MAX_POOLS], bad rate). O(n). */
int acct_set_pools(acct_center *a, int n, const char *const *names, const double *rates,
                   int64_t total_gpus, char *err, size_t errlen);
int acct_pool_count(const acct_center *a);
double acct_pool_rate(const acct_center *a, int pool);
/* The pools of mask as "h100|h200" ("any pool" for 0) into buf. */
void acct_pools_format(const acct_center *a, uint64_t mask, char *buf, size_t len);

/* ---- priority settings -------------------------------------------------- */

typedef struct acct_priority_config {
    int64_t w_age;        /* weights of each factor (each factor is in [0, 1]) */
    int64_t w_fairshare;
    int64_t w_size;
    int64_t w_qos;
    int64_t max_age;      /* s: the age factor reaches 1 at this age (> 0) */
    int64_t half_life;    /* s: usage decays by half in this time; 0 = no decay */
    int64_t calc_period;  /* s: drivers recompute priorities at most this often
                           * (0 = at every scheduling event); acct itself
                           * computes whenever asked */
    int favor_small;      /* size factor: 0 favours large jobs, 1 small ones */
} acct_priority_config;

/* Defaults: weights age 1000, fairshare 10000, size 1000, qos 10000; max_age
 * 7 days; half_life 7 days; calc_period 300 s; favouring large jobs. */
void acct_priority_defaults(acct_priority_config *c);
/* 0, or -1 with a message (negative or huge weight, max_age <= 0, ...). */
int acct_set_priority(acct_center *a, const acct_priority_config *c, char *err, size_t errlen);
const acct_priority_config *acct_priority(const acct_center *a);

/* ---- QOS ---------------------------------------------------------------- */

typedef struct acct_qos_def {
    char name[ACCT_NAMELEN];
    int64_t priority;             /* >= 0; factor = priority / the largest of all QOS */
    int64_t max_wall;             /* s; 0 = no limit; checked at admission */
    int64_t max_gpus_per_user;    /* running GPUs of one user in this QOS; 0 = none */
    int64_t max_gpus_per_project; /* running GPUs of one project in this QOS; 0 = none */
    uint64_t preempt;             /* bit q: jobs of this QOS may preempt borrowing jobs
                                   * of QOS q (acct_preempt_plan_job, why QOS) */
} acct_qos_def;

/* Adds a QOS (copied; its preempt mask may name QOS added later). The first
 * QOS added is the default until acct_qos_set_default. Returns its index or
 * -1 with a message (repeated name, more than ACCT_MAX_QOS, bad values). */
int acct_qos_add(acct_center *a, const acct_qos_def *q, char *err, size_t errlen);
int acct_qos_find(const acct_center *a, const char *name);       /* -1 if none; O(1) */
int acct_qos_count(const acct_center *a);
const acct_qos_def *acct_qos_get(const acct_center *a, int qos);  /* NULL if out of range */
int acct_qos_set_default(acct_center *a, int qos);               /* 0 or -1 */
int acct_qos_default(const acct_center *a);                      /* -1 when there is no QOS */
/* Non-zero when jobs of QOS `by` may preempt jobs of QOS `victim`. */
int acct_qos_may_preempt(const acct_center *a, int by, int victim);

/* ---- allocations --------------------------------------------------------- */

typedef struct acct_alloc_def {
    char name[ACCT_NAMELEN];
    int32_t account;      /* a project, or any account above projects */
    uint64_t pools;       /* bit i: pool i; 0 = any pool */
    int64_t start, end;   /* the period [start, end), s; INT64_MIN / INT64_MAX for open */
    double gpu_hours;     /* charged GPU-hours granted (GPU-hours x pool rate) */
} acct_alloc_def;

/* Adds an allocation (copied). Returns its index, or -1 with a message
 * (repeated name, unknown account or pool, end <= start, bad amount). */
int acct_alloc_add(acct_center *a, const acct_alloc_def *d, char *err, size_t errlen);
int acct_alloc_find(const acct_center *a, const char *name);     /* -1 if none; O(1) */
int acct_alloc_count(const acct_center *a);
const acct_alloc_def *acct_alloc_get(const acct_center *a, int alloc);

/* An allocation's ledger at `now`, in charged GPU-hours:
 *   used      charged GPU-seconds x rate of finished and running jobs, / 3600
 *   reserved  the worst case still to come: pending jobs' gpus x time limit
 *             x their dearest allowed rate, plus running jobs' gpus x rate x
 *             the time left to their limit
 *   left      gpu_hours - used - reserved (may be negative only if a job ran
 *             past its limit or started on more GPUs than it reserved)
 * O(1): running jobs are summed as aggregates, not visited. */
typedef struct acct_ledger {
    double gpu_hours, used, reserved, left;
    int64_t running, pending;  /* jobs drawing on it */
    int active;                /* start <= now < end */
    int exhausted;             /* used >= gpu_hours */
} acct_ledger;
int acct_alloc_ledger(const acct_center *a, int alloc, int64_t now, acct_ledger *out);
/* Adds a finished run's charge (rate-GPU-seconds, > 0 and finite) to an
 * allocation's used: the history of a controller replayed at startup from
 * its accounting records (a run is charged where acct_job_end would have
 * charged it). 0, or -1 for a bad index or amount. O(1). */
int acct_alloc_charge(acct_center *a, int alloc, double amount);

/* ---- jobs ----------------------------------------------------------------- */

enum acct_job_state {
    ACCT_JOB_NEW = 0,
    ACCT_JOB_PENDING = 1,  /* admitted, reserved in its allocation */
    ACCT_JOB_RUNNING = 2,  /* charging usage and its allocation */
    ACCT_JOB_DONE = 3,
};

/* What acct knows of one job. The caller owns it (embed it beside its
 * sched_job), fills the request, and passes it to acct_admit, then to
 * acct_job_start/acct_job_end (or acct_job_cancel while pending). */
typedef struct acct_job {
    /* ---- request: set by the caller before acct_admit() ---- */
    int32_t project;     /* account id of a project, or ACCT_NONE */
    int32_t user;        /* user index, or -1 (then no fair-share leaf) */
    int32_t qos;         /* QOS index, or -1 for the default QOS */
    int32_t gpus;        /* total GPUs it asks for */
    int64_t submit;      /* s, for the age factor */
    int64_t time_limit;  /* s, for the worst-case cost and the QOS max wall */
    uint64_t pools;      /* allowed pools (0 = any); acct_admit may narrow it to
                          * the pools of the allocation it draws on: the
                          * caller then submits the job with these pools */
    int64_t nice;        /* subtracted from the priority */

    /* ---- state: owned by acct, read-only to the caller ---- */
    int32_t member;      /* fair-share leaf (user in project), or -1 */
    int32_t alloc;       /* allocation drawn on, or -1 */
    int32_t pool;        /* pool it runs in (running) */
    int32_t run_gpus;    /* GPUs it holds (running) */
    int state;           /* enum acct_job_state */
    double rate;         /* charge rate of its pool (running) */
    double cost;         /* worst-case cost reserved while pending, rate-GPU-seconds */
    int64_t start;       /* start time (running) */
} acct_job;

/* Prepares a job record: the request is zeroed and project ACCT_NONE, user
 * and qos -1, state NEW. */
void acct_job_init(acct_job *j);

/*
 * Admission at submit time, in this order:
 *   1. QOS: the job's QOS (or the default) must exist; its time limit must
 *      not exceed the QOS max wall time, nor its GPUs the per-user or
 *      per-project running limits (it could never start).
 *   2. Project: ACCT_NONE is admitted with no allocation (fleetd may demand
 *      a project; the simulator counts such jobs as unmapped). Otherwise the
 *      account must be a project, and a user (if given) one of its members.
 *   3. Allocation: the candidates are the allocations of the project and of
 *      every account above it. None at all: the project is not budgeted and
 *      the job is admitted. Else, among candidates active now whose pools
 *      meet the job's, taken closest owner first, then earliest end, then
 *      first added, the job draws on the first whose left covers its
 *      worst-case cost (gpus x time limit x the dearest rate among the
 *      pools it may use there); its pools narrow to that allocation's. If
 *      none covers it, it is refused with what the first candidate has left:
 *        project p1 has 12.5 GPU-hours left in allocation 'spring' (h100),
 *        the job needs up to 16.0
 * An admitted job becomes PENDING and its cost is reserved. Returns 0, or -1
 * with the message (the job stays NEW). O(depth + candidate allocations x
 * log of them) plus O(1) lookups.
 */
int acct_admit(acct_center *a, acct_job *j, int64_t now, char *msg, size_t msglen);
/* A pending job leaves the queue without running: its reservation is
 * released. No-op for other states. O(1). */
void acct_job_cancel(acct_center *a, acct_job *j, int64_t now);
/* A pending job starts at `now` in `pool` on `gpus` GPUs (what it holds:
 * whole nodes count whole): its reservation turns into a running charge on
 * its allocation, its member's and every ancestor's usage start growing at
 * gpus x rate per second, and its QOS counters grow. O(depth). */
void acct_job_start(acct_center *a, acct_job *j, int pool, int32_t gpus, int64_t now);
/* A running job ends at `now`: charged gpus x rate x (now - start) for good,
 * the rest of its reservation released. O(depth). */
void acct_job_end(acct_center *a, acct_job *j, int64_t now);

/* ---- start gating (QOS limits, allocation state) ------------------------ */

enum acct_hold {
    ACCT_HOLD_NONE = 0,
    ACCT_HOLD_QOS_USER,       /* its user's running GPUs in the QOS would pass the limit */
    ACCT_HOLD_QOS_PROJECT,    /* its project's running GPUs in the QOS would pass the limit */
    ACCT_HOLD_ALLOC_EXPIRED,  /* its allocation's period has ended: it never starts */
    ACCT_HOLD_ALLOC_EXHAUSTED /* its allocation is used up: it never starts */
};

/* Whether a pending job may start now (ACCT_HOLD_NONE) or why not. Running
 * jobs are never stopped by these rules. O(1) expected. */
int acct_may_start(const acct_center *a, const acct_job *j, int64_t now);
/* The hold of acct_may_start in words, into buf ("" for none), e.g.
 * "QOS 'normal' allows 16 running GPUs per user; alice holds 12, the job
 * needs 8". Returns the hold. */
int acct_hold_explain(const acct_center *a, const acct_job *j, int64_t now, char *buf, size_t len);
/* Non-zero for holds that time cannot lift (expired, exhausted). */
int acct_hold_permanent(int hold);
const char *acct_hold_name(int hold);
/* Start gating for one scheduling pass: jobs[0..n) are the pending jobs in
 * queue order. Each may start if acct_may_start allows it counting, against
 * the QOS limits, the GPUs of the jobs before it that were let through (so
 * that one pass cannot start two jobs that together pass a limit; a job let
 * through that the pass does not start keeps its GPUs counted for the jobs
 * after it, which is conservative). hold[i] receives the hold of jobs[i].
 * The caller then sets sched_job.held from it before sched_pass. O(n)
 * expected. */
void acct_gate(acct_center *a, acct_job *const *jobs, size_t n, int64_t now, int *hold);
/* Non-zero when acct_gate can hold anything: some QOS has a running limit
 * or some allocation exists. Drivers skip the gating otherwise. O(1). */
int acct_gating_needed(const acct_center *a);

/* ---- usage and fair share (Fair Tree) ------------------------------------ */

/* Records a one-off charge (rate-GPU-seconds) on a member and its ancestors
 * at `now` (history replayed at startup, manual adjustments). O(depth). */
void acct_charge(acct_center *a, int member, double amount, int64_t now);
/* The decayed usage of a node (account or member) at `now`, running jobs
 * included, in rate-GPU-seconds. Reads only. O(1). */
double acct_usage(const acct_center *a, int node, int64_t now);

/*
 * Fair Tree (as Slurm's): recomputes every member's fair-share factor from
 * the usage at `now`.
 *   - Level fair share of a node among its siblings: LF = S / U, with S its
 *     shares over the siblings' (itself included) and U its usage over
 *     theirs; U = 0 gives LF = +inf, S = 0 gives LF = 0.
 *   - Starting with the center's children, siblings are visited in
 *     descending LF; a member gets the next rank, counting down from M (the
 *     number of members); an account is descended into before its next
 *     sibling is visited (depth first).
 *   - Ties (equal LF): tied members share one rank (the next ranks skip
 *     past them); tied accounts are merged: their children are ranked as
 *     one group of siblings (each keeping the LF computed among its own
 *     siblings). Within a tie, members come before accounts and names
 *     (then ids) order the rest, so the result is deterministic.
 *   - fair-share factor = rank / M, in (0, 1]: 1 for the first member.
 * O(N log N) for the N nodes of the tree; allocates only scratch space.
 */
void acct_fairshare_update(acct_center *a, int64_t now);
/* A member's factor from the last acct_fairshare_update (0 for -1, for a
 * node that is not a member, or a member added since). O(1). */
double acct_fairshare(const acct_center *a, int member);
/* A member's rank (M = best) from the last update, 0 if none. */
int acct_member_rank(const acct_center *a, int member);
/* A node's level fair share (LF) from the last update (INFINITY for unused). */
double acct_level_fs(const acct_center *a, int node);

/* ---- multifactor priority ---------------------------------------------- */

/* The factors of a job's priority, each in [0, 1]:
 *   age        min(1, (now - submit) / max_age)
 *   fairshare  its member's fair-share factor (0 without a member)
 *   size       min(1, gpus / the cluster's GPUs), or 1 minus that when
 *              small jobs are favoured
 *   qos        its QOS's priority / the largest QOS priority (0 if all are 0)
 * priority = round(w_age age + w_fairshare fairshare + w_size size +
 *            w_qos qos) - nice. O(1). */
typedef struct acct_factors {
    double age, fairshare, size, qos;
    int64_t nice;
    int64_t priority;
} acct_factors;
void acct_job_factors(const acct_center *a, const acct_job *j, int64_t now, acct_factors *out);
int64_t acct_job_priority(const acct_center *a, const acct_job *j, int64_t now);

/* The argument of acct_sched_priority: the center, the time, and how to find
 * the acct_job of a sched_job (the caller's embedding). */
typedef struct acct_prio_arg {
    const acct_center *a;
    int64_t now;
    const acct_job *(*job_of)(const sched_job *sj, void *arg);
    void *arg;
} acct_prio_arg;
/* A callback for sched_reprioritize(s, acct_sched_priority, &prio_arg):
 * the job's multifactor priority. A sched_job with no acct_job (job_of
 * returns NULL) keeps its priority. O(1) per job. */
int64_t acct_sched_priority(const sched_job *sj, void *prio_arg);

/* ---- guaranteed quotas, borrowing and preemption (acct_preempt.c) -------- */

/*
 * A guarantee: an account (a tier, an organization or a project) is promised
 * `gpus` GPUs of one pool. The accounting (docs/policy.md, "Guaranteed quotas"):
 *   - the holder of a job in pool P is its project or the nearest account
 *     above it with a guarantee in P (nearest only: a project's own
 *     guarantee is not added to its tier's); a job with no holder in P (or
 *     with no project) has no guarantee there;
 *   - a holder H's running jobs in P, taken oldest first (start, then id),
 *     are "within guarantee" while their GPUs summed so far (the job's own
 *     included) stay <= G_H; the rest of H's jobs, and every job without a
 *     holder, are "borrowing": they run on capacity nobody is owed now
 *     (idle guarantees, or GPUs that nobody is guaranteed);
 *   - a pending job of H is "covered" in P when H's running GPUs in P plus
 *     the job's GPUs there (whole nodes count whole) stay <= G_H.
 * Jobs always start normally on free GPUs: borrowing is not a state a job
 * asks for but what the accounting above says of it while it runs.
 */
/* Adds the guarantee of `gpus` GPUs in `pool` to an account (any level but
 * the center and members). 0, or -1 with a message
 * (unknown account or pool, bad amount, a second guarantee for the same
 * account and pool). O(1) expected. */
int acct_guarantee_add(acct_center *a, int32_t account, int pool, int64_t gpus, char *err,
                       size_t errlen);
/* The guarantee of account in pool, 0 if none. O(1) expected. */
int64_t acct_guarantee_of(const acct_center *a, int32_t account, int pool);
/* How many guarantees the center holds. */
int acct_guarantee_count(const acct_center *a);
/* The holder of a project's jobs in pool (see above), or ACCT_NONE. O(depth). */
int32_t acct_guarantee_holder(const acct_center *a, int32_t project, int pool);

/* What the driver does with a victim: signal it, wait `grace` seconds (the
 * job checkpoints), then end it and requeue it (or cancel it when the job
 * says so; a per-job flag of the driver). */
typedef struct acct_preempt_config {
    int64_t grace;   /* s between the signal and the end, >= 0; default 300 */
    int signal;      /* the signal sent first; default 15 (SIGTERM) */
} acct_preempt_config;
void acct_preempt_defaults(acct_preempt_config *c);
/* 0, or -1 with a message (negative or absurd grace, bad signal number). */
int acct_set_preempt(acct_center *a, const acct_preempt_config *c, char *err, size_t errlen);
const acct_preempt_config *acct_preempt(const acct_center *a);
/* Non-zero when preemption can happen at all: some guarantee exists or some
 * QOS may preempt another. Drivers skip planning otherwise. O(Q). */
int acct_preempt_enabled(const acct_center *a);

/* One running job, as the driver shows it to the planner. */
typedef struct acct_running {
    const sched_job *sj;  /* running: its pool, start, id and allocation */
    const acct_job *aj;   /* its project and QOS */
    int preempting;       /* already signalled: counted, never chosen again */
    int borrowing;        /* out: set by acct_running_classify */
} acct_running;

/* Sets run[i].borrowing by the accounting above (1: borrowing, 0: within its
 * holder's guarantee). O(R log R + R x depth) for R running jobs; allocates
 * only scratch space. */
void acct_running_classify(const acct_center *a, acct_running *run, size_t nrun);

enum acct_preempt_why {
    ACCT_PREEMPT_NONE = 0,      /* no plan: nothing to preempt, or not allowed */
    ACCT_PREEMPT_GUARANTEE = 1, /* covered by its holder's guarantee: borrowers go */
    ACCT_PREEMPT_QOS = 2,       /* beyond any guarantee, by its QOS's preemption rights */
};

typedef struct acct_preempt_plan {
    int why;              /* enum acct_preempt_why */
    int pool;             /* the pool the job will fit in once the victims end */
    int32_t holder;       /* its holder in that pool (ACCT_NONE for QOS plans) */
    size_t nvictims;      /* victims written to the caller's array */
    int64_t freed_gpus;   /* GPUs the victims hold in that pool */
    int64_t gpus;         /* the job's GPUs there (whole nodes count whole) */
} acct_preempt_plan;

/* GPUs a holder has already claimed in a pool: its pending preemptors still
 * waiting for their victims (each plan of why GUARANTEE, as {plan.holder,
 * plan.pool, plan.gpus}). They count as the holder's own when the next job
 * is checked for cover, so that two jobs never claim the same guarantee. */
typedef struct acct_claim {
    int32_t holder;
    int32_t pool;
    int64_t gpus;
} acct_claim;

/*
 * The preemption plan of one pending job that the last pass did not start.
 * Pure: reads the center, the cluster and the running jobs, changes nothing.
 * run[] must be classified (acct_running_classify) for the current running
 * set. victims (capacity nrun) receives indexes into run[].
 *
 * The rule, per allowed pool P in index order, the first plan wins:
 *   1. Who may go. If the job is covered by its holder H's guarantee in P:
 *      the borrowing jobs in P (why GUARANTEE). Else, if the job's QOS has
 *      preemption rights: the borrowing jobs in P whose QOS it may preempt
 *      (why QOS). Covered means H's running GPUs in P, plus its claims
 *      (claims[]: its preemptors still waiting), plus the job's, stay
 *      <= G_H. Else nobody: the scheduler never preempts to satisfy
 *      work beyond a guarantee unless a QOS says so. Jobs within their own
 *      holder's guarantee are never victims; neither are jobs already being
 *      preempted.
 *   2. Placement. The job's shape in P (sched_job_shape: k nodes of g GPUs,
 *      whole nodes when k > 1). A node qualifies when it is UP and, once
 *      some candidates on it end, it holds the job's share: whole nodes
 *      need every job on the node to be a candidate (all of them go); a
 *      single-node share needs free + freed GPUs >= g and the CPUs and
 *      memory likewise. On each node the fewest candidates suffice, and
 *      among as few, the youngest (latest start, then highest id): chosen
 *      youngest first, each kept only if the rest can still be made up by
 *      the largest remaining ones.
 *   3. Fewest, then youngest. The k qualifying nodes needing the fewest
 *      victims are taken (ties: the node whose oldest victim started
 *      latest, then node order); the victims are the union of their sets.
 *      If k nodes qualify with no victim at all, the job fits now and there
 *      is no plan (it waits for priority, not for lack of GPUs).
 *   This is exact (fewest victims, then youngest) for single-node jobs and
 *   for gangs whose victims are single-node jobs; a victim spanning several
 *   of the chosen nodes is counted once per node while ranking, so for
 *   gangs preempting gangs it may take more victims than the minimum.
 * Cost: one planner's (below) built for the job: O(R x depth + C + N + A log
 * A) for R running jobs, C claims, N nodes and A allocation entries of the
 * candidates. Drivers that plan many jobs in a round use the planner.
 * Returns the number of victims (0: no plan, plan->why NONE).
 */
size_t acct_preempt_plan_job(const acct_center *a, const sched *s, const acct_job *job,
                             const sched_job *sjob, const acct_running *run, size_t nrun,
                             const acct_claim *claims, size_t nclaims, size_t *victims,
                             acct_preempt_plan *plan);

/*
 * A planning round: the plans of the pending jobs of one pass, in queue
 * order, each seeing the plans taken before it. Same rule and same plans as
 * acct_preempt_plan_job with the claims of the plans taken so far and their
 * victims marked preempting, at a fraction of the cost: what does not
 * change within a round is built once and kept.
 *
 *   acct_planner *p = acct_planner_new(a, s, run, nrun);   run[] classified
 *   acct_planner_claim(p, &c);          each claim of an earlier round still waiting
 *   for each pending job in queue order:
 *       n = acct_planner_plan(p, job, sjob, victims, &plan);
 *       if (n) { signal victims; acct_planner_take(p, &plan, victims); }
 *   acct_planner_free(p);
 *
 * The cluster s, the center a and run[] must not change while the planner
 * lives, except run[v].preempting (the planner keeps its own record of the
 * victims it handed out and taken, and reads the flag only when it builds a
 * set of candidates). Costs, for R running jobs, N nodes and the A
 * allocation entries of the candidates:
 *   - new: O(N + R); the holders' running GPUs per pool, at the first job a
 *     guarantee may cover: O(R x depth);
 *   - a set of candidates (per pool: the borrowers; per pool and QOS with
 *     preemption rights: those it may preempt), at its first use:
 *     O(R + N + A log A);
 *   - plan: O(depth) per pool to find the holder and check the cover
 *     (claims and running GPUs are kept per holder), then, for a job that
 *     is covered or has rights: the count of the nodes that hold its shape
 *     with nobody leaving, resumed per shape (O(N) per shape per round in
 *     all); for whole nodes the first k ranked nodes (the ranking: once per
 *     set, O(A log A)); for one node's share the candidates youngest first
 *     until a node needs only one of them (usually a few); only when every
 *     node needs two or more, all nodes with candidates are ranked:
 *     O(M + A + M log k);
 *   - take: O(victims x (their nodes + sets)).
 */
typedef struct acct_planner acct_planner;
acct_planner *acct_planner_new(const acct_center *a, const sched *s, const acct_running *run,
                               size_t nrun);
/* Counts a claim of an earlier round (a preemptor still waiting for its
 * victims) as its holder's. Claims without a holder are ignored. O(1). */
void acct_planner_claim(acct_planner *p, const acct_claim *c);
/* The plan of one pending job, as acct_preempt_plan_job. */
size_t acct_planner_plan(acct_planner *p, const acct_job *job, const sched_job *sjob,
                         size_t *victims, acct_preempt_plan *plan);
/* The driver acts on a plan: its victims are never chosen again in this
 * round, and a plan of why GUARANTEE claims plan->gpus of its holder's
 * guarantee. */
void acct_planner_take(acct_planner *p, const acct_preempt_plan *plan, const size_t *victims);
void acct_planner_free(acct_planner *p);
const char *acct_preempt_why_name(int why);

#endif
