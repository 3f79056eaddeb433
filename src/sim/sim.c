/* sim.c: the event loop of the simulator and its summary statistics. */
#include "sim.h"
#include "sim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sched *sim_classic_machine(int64_t n, char *err, size_t errlen)
{
    if (n <= 0 || n > 100000000) {
        snprintf(err, errlen, "procs: machine size must be between 1 and 100000000, got %lld",
                 (long long)n);
        return NULL;
    }
    sched *s = sched_create();
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sched_pool_add(s, "proc", "processor");
    char name[32];
    for (int64_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "p%lld", (long long)i);
        sched_node_add(s, name, 0, -1, 1, 0, 0);
    }
    if (sched_finalize(s, err, errlen) != 0) {
        sched_destroy(s);
        return NULL;
    }
    return s;
}

sched *sim_cluster_machine(const cluster_desc *c, char *err, size_t errlen)
{
    sched *s = sched_create();
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->npools; i++)
        if (sched_pool_add(s, c->pools[i].name, c->pools[i].model) < 0) {
            snprintf(err, errlen, "cluster: pool %s: duplicate or more than %d pools",
                     c->pools[i].name, SCHED_MAX_POOLS);
            goto fail;
        }
    for (size_t i = 0; i < c->nblocks; i++)
        if (sched_block_add(s, c->blocks[i].name, c->blocks[i].spine) < 0) {
            snprintf(err, errlen, "cluster: block %s: duplicate", c->blocks[i].name);
            goto fail;
        }
    for (size_t i = 0; i < c->nnodes; i++) {
        const cluster_node *n = &c->nodes[i];
        if (sched_node_add(s, n->name, n->pool, n->block, n->gpus, n->cpus, n->mem_mb) < 0) {
            snprintf(err, errlen, "cluster: node %s: invalid", n->name);
            goto fail;
        }
    }
    if (sched_finalize(s, err, errlen) != 0)
        goto fail;
    return s;
fail:
    sched_destroy(s);
    return NULL;
}

/* ---- a binary min-heap of running jobs by end time: O(log R) ---------- */
typedef struct heap {
    sim_job **a;
    size_t n, cap;
} heap;

static void heap_push(heap *h, sim_job *j)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        sim_job **na = realloc(h->a, h->cap * sizeof *na);
        if (!na)
            abort();
        h->a = na;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->a[p]->end <= j->end)
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = j;
}

static sim_job *heap_pop(heap *h)
{
    sim_job *top = h->a[0];
    sim_job *last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->a[c + 1]->end < h->a[c]->end)
            c++;
        if (last->end <= h->a[c]->end)
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n > 0)
        h->a[i] = last;
    return top;
}

/* With a center: what the loop keeps beside the jobs. */
typedef struct policy {
    sim_center *c;
    acct_center *a;
    sim_job *base;       /* r->jobs */
    acct_job *aj;        /* parallel to r->jobs */
    uint8_t *fate;       /* parallel to r->jobs: enum sim_fate */
    sim_job **pend;      /* pending jobs, for the gating */
    int32_t *ppos;       /* parallel to r->jobs: index in pend, -1 if not pending */
    acct_job **gate;     /* scratch: pend's acct_jobs in queue order */
    int *hold;           /* scratch: their holds */
    size_t npend;
    int gating;          /* acct_gating_needed */
    int64_t last_calc;   /* last fair-share recomputation, INT64_MIN before the first */
    int64_t calcs;
    /* preemption (guarantees, QOS rights): see policy_preempt */
    int preempt;         /* acct_preempt_enabled */
    int64_t *await;      /* parallel to r->jobs: a preemptor waits for its victims
                          * until then (0: not a preemptor); boosted to the front */
    uint8_t *victim;     /* parallel to r->jobs: signalled, ending at now + grace */
    int32_t *npre;       /* parallel to r->jobs: runs of it preempted */
    double *lost;        /* parallel to r->jobs: GPU-seconds of those runs */
    acct_running *run;   /* scratch: the running jobs shown to the planner */
    size_t *victims;     /* scratch: a plan's victims */
    acct_claim *claim;   /* parallel to r->jobs: a waiting preemptor's claim */
    acct_prio_arg pa;    /* the multifactor priority callback's argument */
    int64_t plans;       /* plans carried out */
} policy;

typedef struct loop {
    heap ends;
    sim_result *r;
    policy *p;           /* NULL without a center */
} loop;

/* The pending set of the gating: an unordered array with each job's
 * position, so adding and removing are O(1). */
static void pend_add(policy *p, sim_job *j)
{
    size_t idx = (size_t)(j - p->base);
    p->ppos[idx] = (int32_t)p->npend;
    p->pend[p->npend++] = j;
}

static void pend_remove(policy *p, sim_job *j)
{
    size_t idx = (size_t)(j - p->base);
    int32_t k = p->ppos[idx];
    if (k < 0)
        return;
    sim_job *last = p->pend[--p->npend];
    p->pend[k] = last;
    p->ppos[last - p->base] = k;
    p->ppos[idx] = -1;
}

static void on_start(sched_job *sj, void *arg)
{
    loop *l = arg;
    sim_job *j = (sim_job *)sj; /* sj is the first member */
    j->end = sj->start + j->run_eff;
    j->size = sj->alloced_gpus;
    j->pool = sj->pool;
    heap_push(&l->ends, j);
    if (l->p) {
        /* the job charges its allocation and its member's usage from now */
        acct_job_start(l->p->a, &l->p->aj[j - l->p->base], sj->pool, sj->alloced_gpus,
                       sj->start);
        pend_remove(l->p, j);
        if (l->p->await)
            l->p->await[j - l->p->base] = 0; /* a preemptor got its GPUs */
    }
    sim_result *r = l->r;
    if (r->classic)
        return; /* one-processor nodes: the size says it all */
    if (r->nplaced + (size_t)sj->nalloc > r->capplaced) {
        size_t cap = r->capplaced ? r->capplaced * 2 : 4096;
        while (cap < r->nplaced + (size_t)sj->nalloc)
            cap *= 2;
        sim_place *np = realloc(r->placed, cap * sizeof *np);
        if (!np)
            abort();
        r->placed = np;
        r->capplaced = cap;
    }
    j->first = (int64_t)r->nplaced;
    j->nplaced = sj->nalloc;
    for (int32_t i = 0; i < sj->nalloc; i++)
        r->placed[r->nplaced++] = (sim_place){sj->alloc[i].node, sj->alloc[i].gpus};
}

/* Arrival order: submit time, then id as a number, then line order. */
static int arrival_cmp(const void *a, const void *b)
{
    const sim_job *x = *(sim_job *const *)a, *y = *(sim_job *const *)b;
    if (x->sj.submit != y->sj.submit)
        return x->sj.submit < y->sj.submit ? -1 : 1;
    if (x->sj.id != y->sj.id)
        return x->sj.id < y->sj.id ? -1 : 1;
    return x->input < y->input ? -1 : x->input > y->input;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void summarize(sim_result *r, int64_t capacity)
{
    sim_summary *sm = &r->summary;
    memset(sm, 0, sizeof *sm);
    sm->jobs = (int64_t)r->njobs;
    sm->dropped = r->dropped;
    sm->capacity = capacity;
    if (r->njobs == 0)
        return;
    int64_t first = INT64_MAX, last = INT64_MIN;
    double work = 0, wsum = 0, bsd = 0;
    int64_t *w = malloc(r->njobs * sizeof *w);
    if (!w)
        abort();
    for (size_t i = 0; i < r->njobs; i++) {
        const sim_job *j = &r->jobs[i];
        int64_t wait = j->sj.start - j->sj.submit;
        w[i] = wait;
        if (j->sj.submit < first)
            first = j->sj.submit;
        if (j->end > last)
            last = j->end;
        work += (double)j->size * (double)j->run_eff;
        wsum += (double)wait;
        double run = (double)j->run_eff;
        double sd = ((double)wait + run) / (run > 10 ? run : 10);
        bsd += sd > 1 ? sd : 1;
    }
    sm->makespan = last - first;
    sm->utilization = sm->makespan > 0 ? work / ((double)capacity * (double)sm->makespan) : 0;
    sm->mean_wait = wsum / (double)r->njobs;
    sm->mean_bounded_slowdown = bsd / (double)r->njobs;
    qsort(w, r->njobs, sizeof *w, cmp_i64);
    size_t n = r->njobs;
    sm->median_wait = n % 2 ? (double)w[n / 2] : ((double)w[n / 2 - 1] + (double)w[n / 2]) / 2;
    double rank = 0.95 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = rank - (double)lo;
    sm->p95_wait = (double)w[lo] + ((double)w[hi] - (double)w[lo]) * frac;
    free(w);
}

/* ---- the center's policy in the loop ------------------------------------ */

static const acct_job *job_of(const sched_job *sj, void *arg)
{
    const policy *p = arg;
    return &p->aj[(const sim_job *)(const void *)sj - p->base];
}

/* A preemptor waiting for its victims goes first, whatever its
 * multifactor priority: the GPUs its victims free are its own (its
 * guarantee) or taken by its QOS's rights, not a gift to the queue. */
#define PREEMPTOR_PRIORITY (INT64_MAX / 4)

/* The callback of sched_reprioritize: preemptors first, every other job its
 * multifactor priority. O(1). */
static int64_t sim_priority(const sched_job *sj, void *arg)
{
    policy *p = arg;
    if (p->await && p->await[(const sim_job *)(const void *)sj - p->base] != 0)
        return PREEMPTOR_PRIORITY;
    return acct_sched_priority(sj, &p->pa);
}

/* Keeps every priority but the preemptors'. O(1). */
static int64_t boost_priority(const sched_job *sj, void *arg)
{
    policy *p = arg;
    if (p->await[(const sim_job *)(const void *)sj - p->base] != 0)
        return PREEMPTOR_PRIORITY;
    return sj->priority;
}

/* The pending set in libsched's queue order (sched_queue_first/next: the
 * gating and the planner walk the jobs as the pass does). Every job of the
 * set is in libsched's queue and every queued job in the set (pend_add
 * follows each sched_submit; pend_remove each start and withdrawal). O(Q). */
static void pend_in_queue_order(policy *p, const sched *s)
{
    size_t k = 0;
    for (sched_job *sj = sched_queue_first(s); sj; sj = sched_queue_next(sj)) {
        sim_job *j = (sim_job *)(void *)sj; /* sj is the first member */
        if (k == p->npend || p->ppos[j - p->base] < 0)
            abort(); /* the set and the queue differ: a bug */
        p->pend[k] = j;
        p->ppos[j - p->base] = (int32_t)k++;
    }
    if (k != p->npend)
        abort();
}

static void leave(sim_job *j)
{
    j->sj.state = SCHED_JOB_DONE;
    j->sj.start = -1;
}

/* Admission of an arriving job: refused jobs never queue (their fate says
 * why); admitted ones get the allocation's pools, their project as
 * sched_job.account and their priority at submit. A job that can never fit
 * is left to sched_submit to refuse, as without a center. 0 to submit, -1
 * refused. O(depth) plus the candidate allocations. */
static int policy_admit(policy *p, sched *s, sim_job *j, int64_t now, sim_acct_report *rep)
{
    size_t idx = (size_t)(j - p->base);
    acct_job *x = &p->aj[idx];
    char msg[ACCT_ERRLEN];
    if (sched_check(s, &j->sj, msg, sizeof msg) != 0)
        return 0;
    if (acct_admit(p->a, x, now, msg, sizeof msg) != 0) {
        p->fate[idx] = SIM_FATE_REFUSED;
        leave(j);
        if (!rep->first_refusal[0])
            snprintf(rep->first_refusal, sizeof rep->first_refusal, "job %lld at %lld: %s",
                     (long long)j->sj.id, (long long)now, msg);
        return -1;
    }
    j->sj.pools = x->pools;
    j->sj.account = (uint32_t)x->project;
    j->sj.priority = acct_job_priority(p->a, x, now);
    return 0;
}

/*
 * Before each pass: (1) fair share and every pending job's priority are
 * recomputed when calc_period has passed since the last time (0: at every
 * instant): O(N log N) for the N nodes of the account tree plus
 * O(Q log Q) for the Q pending jobs (sched_reprioritize's sort); (2) when
 * the center has QOS limits or allocations, the pending jobs are taken in
 * queue order (O(Q)) and gated (acct_gate, O(Q)): a job over a QOS
 * limit is held for this pass, one whose allocation expired or is used up
 * is withdrawn for good. Jobs arriving between recomputations get their
 * priority at submit, from the last fair-share ranks.
 */
static void policy_step(policy *p, sched *s, int64_t now, size_t *done)
{
    const acct_priority_config *c = acct_priority(p->a);
    if (p->last_calc == INT64_MIN || now - p->last_calc >= c->calc_period) {
        acct_fairshare_update(p->a, now);
        p->pa = (acct_prio_arg){p->a, now, job_of, p};
        sched_reprioritize(s, sim_priority, p);
        p->last_calc = now;
        p->calcs++;
    }
    if (!p->gating || p->npend == 0)
        return;
    pend_in_queue_order(p, s);
    for (size_t k = 0; k < p->npend; k++)
        p->gate[k] = &p->aj[p->pend[k] - p->base];
    acct_gate(p->a, p->gate, p->npend, now, p->hold);
    /* backwards: removing k moves an already visited job into k */
    for (size_t k = p->npend; k-- > 0;) {
        sim_job *j = p->pend[k];
        int h = p->hold[k];
        if (acct_hold_permanent(h)) {
            size_t idx = (size_t)(j - p->base);
            sched_cancel(s, &j->sj);
            acct_job_cancel(p->a, &p->aj[idx], now);
            p->fate[idx] = SIM_FATE_WITHDRAWN;
            leave(j);
            pend_remove(p, j);
            (*done)++;
        } else {
            j->sj.held = h != ACCT_HOLD_NONE;
        }
    }
}

/* Restores the min-heap order after end times changed: O(R). */
static void heap_fix(heap *h)
{
    for (size_t i = h->n / 2; i-- > 0;) {
        sim_job *j = h->a[i];
        size_t k = i;
        for (;;) {
            size_t c = 2 * k + 1;
            if (c >= h->n)
                break;
            if (c + 1 < h->n && h->a[c + 1]->end < h->a[c]->end)
                c++;
            if (j->end <= h->a[c]->end)
                break;
            h->a[k] = h->a[c];
            k = c;
        }
        h->a[k] = j;
    }
}

/*
 * After each pass, with guarantees or QOS preemption rights: the pending
 * jobs, in queue order, that are not held and not already waiting for
 * victims, each get a plan (one planner for the round, acct_planner_*:
 * covered by their holder's guarantee, or by their QOS's rights; fewest
 * victims, then the youngest, placeable; each plan sees those before it). Each victim is signalled now and ends at now +
 * grace (or at its own end if sooner); libsched is told so
 * (sched_job_end_by), so that the reservations and backfill of the next
 * passes see its nodes free at now + grace; it is never chosen again. The
 * preemptor waits for them at the front of the queue (PREEMPTOR_PRIORITY)
 * so that the GPUs they free are its own. A preemptor still pending when
 * its victims have ended plans again. Cost, only when preemption is on:
 * O(R log R) to classify the R running jobs, O(Q) to take the queue in
 * order, the planner's round (acct.h: what does not change within it built
 * once, then a few steps per plan, usually); O(R) to fix the event heap and
 * tell libsched the victims' ends (O(log R) each) when victims were chosen.
 */
static void policy_preempt(policy *p, loop *l, sched *s, int64_t now)
{
    heap *h = &l->ends;
    if (p->npend == 0 || h->n == 0)
        return;
    for (size_t i = 0; i < h->n; i++) {
        sim_job *r = h->a[i];
        size_t idx = (size_t)(r - p->base);
        p->run[i] = (acct_running){&r->sj, &p->aj[idx], p->victim[idx], 0};
    }
    acct_running_classify(p->a, p->run, h->n);
    pend_in_queue_order(p, s);
    int64_t grace = acct_preempt(p->a)->grace;
    int changed = 0;
    acct_planner *pl = acct_planner_new(p->a, s, p->run, h->n);
    for (size_t k = 0; k < p->npend; k++) {
        size_t idx = (size_t)(p->pend[k] - p->base);
        /* the claims of the preemptors still waiting; one whose victims have
         * ended plans again below and claims anew (its old claim would
         * count its own GPUs twice) */
        if (p->await[idx] > now)
            acct_planner_claim(pl, &p->claim[idx]);
    }
    for (size_t k = 0; k < p->npend; k++) {
        sim_job *j = p->pend[k];
        size_t idx = (size_t)(j - p->base);
        if (j->sj.held || p->await[idx] > now)
            continue;
        acct_preempt_plan plan;
        size_t nv = acct_planner_plan(pl, &p->aj[idx], &j->sj, p->victims, &plan);
        if (nv == 0)
            continue;
        acct_planner_take(pl, &plan, p->victims);
        for (size_t v = 0; v < nv; v++) {
            acct_running *r = &p->run[p->victims[v]];
            sim_job *vj = (sim_job *)(void *)r->sj; /* sj is the first member */
            r->preempting = 1;
            p->victim[vj - p->base] = 1;
            if (now + grace < vj->end)
                vj->end = now + grace;
        }
        p->await[idx] = now + grace > now ? now + grace : now + 1;
        p->claim[idx] = (acct_claim){plan.holder, plan.pool, plan.gpus};
        p->plans++;
        changed = 1;
    }
    acct_planner_free(pl);
    if (changed) {
        /* the scheduler plans with the victims' ends: each ends by now +
         * grace (or sooner on its own, which it does not know). Victims of
         * earlier instants already end sooner: no change (returns 1). */
        for (size_t i = 0; i < h->n; i++)
            if (p->victim[h->a[i] - p->base])
                sched_job_end_by(s, &h->a[i]->sj, now + grace);
        heap_fix(h);
        sched_reprioritize(s, boost_priority, p);
    }
}

/* A victim's run ended at `now` before its natural end: it is requeued as a
 * new submission (submitted now, the whole run again: no checkpoint is
 * assumed), admitted again by the policy. Its lost run is counted. 0 when
 * requeued, -1 when the policy refused it again (it leaves the run). */
static int policy_requeue(policy *p, sched *s, sim_job *j, int64_t now, sim_acct_report *rep)
{
    size_t idx = (size_t)(j - p->base);
    acct_job *x = &p->aj[idx];
    p->victim[idx] = 0;
    p->npre[idx]++;
    p->lost[idx] += (double)j->size * (double)(now - j->sj.start);
    acct_job req = *x; /* the request again, as a new submission */
    acct_job_init(x);
    x->project = req.project;
    x->user = req.user;
    x->qos = req.qos;
    x->gpus = req.gpus;
    x->time_limit = req.time_limit;
    x->pools = req.pools;
    x->nice = req.nice;
    x->submit = now;
    j->sj.submit = now;
    j->sj.held = 0;
    if (policy_admit(p, s, j, now, rep) != 0)
        return -1;
    char serr[SCHED_ERRLEN];
    if (sched_submit(s, &j->sj, serr, sizeof serr) != 0) {
        acct_job_cancel(p->a, x, now); /* cannot happen: it ran here before */
        p->fate[idx] = SIM_FATE_NEVER_FIT;
        leave(j);
        return -1;
    }
    pend_add(p, j);
    return 0;
}

static void policy_free(policy *p)
{
    free(p->await);
    free(p->victim);
    free(p->npre);
    free(p->lost);
    free(p->run);
    free(p->victims);
    free(p->claim);
    free(p->aj);
    free(p->fate);
    free(p->pend);
    free(p->ppos);
    free(p->gate);
    free(p->hold);
}

/* ---- operators' reservations ----------------------------------------------- */

/* A node's name and index: sorted by name, to resolve a reservation's node
 * names. */
typedef struct named_node {
    const char *name;
    int32_t node;
} named_node;

static int named_node_cmp(const void *a, const void *b)
{
    return strcmp(((const named_node *)a)->name, ((const named_node *)b)->name);
}

/* Each reservation of the file, in file order: its node names resolved on
 * the machine (sorted once, O(N log N), then O(log N) per name), projects
 * to their account ids, users to their uids, then sched_resv_add, whose
 * message ("FIELD: reason") is given the file's line and the reservation's
 * name. */
int sim_resv_apply(sched *s, const center_desc *cd, sim_center *center, const char *fname,
                   char *err, size_t errlen)
{
    if (cd->nresvs == 0)
        return 0;
    fname = fname ? fname : "<center>";
    acct_center *a = sim_center_acct(center);
    size_t nn = (size_t)sched_node_count(s);
    named_node *by_name = malloc((nn ? nn : 1) * sizeof *by_name);
    if (!by_name)
        abort(); /* out of memory, as the rest of the simulator */
    for (size_t i = 0; i < nn; i++)
        by_name[i] = (named_node){sched_node_name(s, (int)i), (int32_t)i};
    qsort(by_name, nn, sizeof *by_name, named_node_cmp);
    int rc = 0;
    for (size_t i = 0; i < cd->nresvs && rc == 0; i++) {
        const center_resv *v = &cd->resvs[i];
        int32_t *nodes = malloc((v->nnodes ? v->nnodes : 1) * sizeof *nodes);
        uint32_t *accs = malloc((v->naccounts ? v->naccounts : 1) * sizeof *accs);
        uint32_t *uids = malloc((v->nusers ? v->nusers : 1) * sizeof *uids);
        if (!nodes || !accs || !uids)
            abort();
        rc = -1;
        for (size_t k = 0; k < v->nnodes; k++) {
            named_node key = {v->nodes[k], -1};
            const named_node *hit =
                nn ? bsearch(&key, by_name, nn, sizeof key, named_node_cmp) : NULL;
            nodes[k] = hit ? hit->node : -1;
            if (nodes[k] < 0) {
                snprintf(err, errlen,
                         "%s:%lld: field nodes: reservation \"%s\": no node \"%s\" in this "
                         "cluster", fname, (long long)v->nodes_line, v->name, v->nodes[k]);
                goto next;
            }
        }
        for (size_t k = 0; k < v->naccounts; k++) {
            const char *pn = cd->accounts[v->accounts[k]].name;
            int id = a ? acct_account_find(a, pn) : -1;
            if (id < 0) {
                /* cannot happen: the center was built from the same file */
                snprintf(err, errlen, "%s:%lld: field accounts: reservation \"%s\": project %s "
                         "is not in the center", fname, (long long)v->line, v->name, pn);
                goto next;
            }
            accs[k] = (uint32_t)id;
        }
        for (size_t k = 0; k < v->nusers; k++) {
            const center_user *u = &cd->users[v->users[k]];
            if (u->uid < 0) {
                snprintf(err, errlen, "%s:%lld: field users: reservation \"%s\": user %s has "
                         "no uid, so no trace job is theirs (the simulator knows users by "
                         "uid)", fname, (long long)v->users_line, v->name, u->name);
                goto next;
            }
            uids[k] = (uint32_t)u->uid;
        }
        char serr[SCHED_ERRLEN];
        if (sched_resv_add(s, v->name, v->kind, v->start, v->end, nodes, (int32_t)v->nnodes,
                           accs, (int32_t)v->naccounts, uids, (int32_t)v->nusers, serr,
                           sizeof serr) != 0) {
            /* libsched's message starts with the field: "nodes: ..." */
            size_t flen = strcspn(serr, ":");
            const char *why = serr[flen] ? serr + flen + 1 : serr;
            while (*why == ' ')
                why++;
            int64_t line = strncmp(serr, "nodes", flen) == 0 && flen == 5   ? v->nodes_line
                           : strncmp(serr, "users", flen) == 0 && flen == 5 ? v->users_line
                                                                           : v->line;
            snprintf(err, errlen, "%s:%lld: field %.*s: reservation \"%s\": %s", fname,
                     (long long)line, (int)flen, serr, v->name, why);
            goto next;
        }
        rc = 0;
    next:
        free(nodes);
        free(accs);
        free(uids);
    }
    free(by_name);
    return rc;
}

/* Whether reservation v admits job j (resv.c's rule: a project reservation
 * admits the jobs of its accounts and users; a maintenance one none). */
static int resv_admits(const sched_resv_info *v, const sched_job *j)
{
    if (v->kind != SCHED_RESV_PROJECT)
        return 0;
    for (int32_t k = 0; k < v->naccounts; k++)
        if (v->accounts[k] == j->account)
            return 1;
    for (int32_t k = 0; k < v->nusers; k++)
        if (v->users[k] == j->user)
            return 1;
    return 0;
}

/* After the run: per reservation of the machine, the GPU-hours its nodes
 * gave within the window to the jobs it admits and to the jobs it binds
 * (the latter must be 0), from each job's nodes and times. O(V x (N + P))
 * for V reservations, N nodes and P placements of the jobs that ran. */
static void resv_report(const sched *s, sim_result *out, const acct_center *a)
{
    int nv = sched_resv_count(s);
    if (nv == 0)
        return;
    out->resv = calloc((size_t)nv, sizeof *out->resv);
    uint8_t *in = calloc(out->nnodes ? out->nnodes : 1, 1);
    if (!out->resv || !in)
        abort();
    for (int i = 0; i < nv; i++) {
        sched_resv_info v;
        sched_resv_get(s, i, &v);
        sim_resv_report *rp = &out->resv[out->nresv++];
        snprintf(rp->name, sizeof rp->name, "%s", v.name);
        rp->kind = v.kind;
        rp->start = v.start;
        rp->end = v.end;
        rp->nodes = malloc((size_t)(v.nnodes > 0 ? v.nnodes : 1) * sizeof *rp->nodes);
        rp->accounts = calloc((size_t)(v.naccounts > 0 ? v.naccounts : 1), sizeof *rp->accounts);
        rp->users = calloc((size_t)(v.nusers > 0 ? v.nusers : 1), sizeof *rp->users);
        if (!rp->nodes || !rp->accounts || !rp->users)
            abort();
        for (int32_t k = 0; k < v.nnodes; k++) {
            sched_node_info ni;
            rp->nodes[rp->nnodes++] = v.nodes[k];
            if (sched_node_get(s, v.nodes[k], &ni) == 0)
                rp->gpus += ni.gpus;
            if ((size_t)v.nodes[k] < out->nnodes)
                in[v.nodes[k]] = 1;
        }
        for (int32_t k = 0; k < v.naccounts; k++)
            snprintf(rp->accounts[rp->naccounts++], ACCT_NAMELEN, "%s",
                     a ? acct_node_name(a, (int)v.accounts[k]) : "?");
        for (int32_t k = 0; k < v.nusers; k++) {
            int u = a ? acct_user_find_uid(a, v.users[k]) : -1;
            if (u >= 0)
                snprintf(rp->users[rp->nusers++], ACCT_NAMELEN, "%s", acct_user_name(a, u));
            else
                snprintf(rp->users[rp->nusers++], ACCT_NAMELEN, "uid %u", (unsigned)v.users[k]);
        }
        rp->window_gpu_hours = (double)rp->gpus * (double)(v.end - v.start) / 3600.0;
        for (size_t jx = 0; !out->classic && jx < out->njobs; jx++) {
            const sim_job *j = &out->jobs[jx];
            int64_t from = j->sj.start > v.start ? j->sj.start : v.start;
            int64_t to = j->end < v.end ? j->end : v.end;
            if (j->sj.start < 0 || from >= to)
                continue;
            double gs = 0;
            int on = 0;
            for (int32_t k = 0; k < j->nplaced; k++) {
                const sim_place *pl = &out->placed[j->first + k];
                if (in[pl->node]) {
                    gs += (double)pl->gpus * (double)(to - from);
                    on = 1;
                }
            }
            if (!on)
                continue;
            if (resv_admits(&v, &j->sj)) {
                rp->used_jobs++;
                rp->used_gpu_hours += gs / 3600.0;
            } else {
                rp->overlap_jobs++;
                rp->overlap_gpu_hours += gs / 3600.0;
            }
        }
        for (int32_t k = 0; k < v.nnodes; k++)
            if ((size_t)v.nodes[k] < out->nnodes)
                in[v.nodes[k]] = 0;
    }
    free(in);
}

/* "a,b" of n names (JSON: ["a", "b"] is written apart). */
static void names_join(char *dst, size_t len, char (*names)[ACCT_NAMELEN], int32_t n)
{
    size_t o = 0;
    dst[0] = '\0';
    for (int32_t k = 0; k < n && o < len; k++) {
        int w = snprintf(dst + o, len - o, "%s%s", k ? "," : "", names[k]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

void sim_print_reservations(FILE *f, const sim_result *r)
{
    for (size_t i = 0; i < r->nresv; i++) {
        const sim_resv_report *v = &r->resv[i];
        char who[512] = "";
        if (v->kind == SCHED_RESV_PROJECT) {
            char accs[256], users[256];
            names_join(accs, sizeof accs, v->accounts, v->naccounts);
            names_join(users, sizeof users, v->users, v->nusers);
            snprintf(who, sizeof who, " %s%s%s%s", accs, v->naccounts && v->nusers ? " " : "",
                     v->nusers ? "users " : "", users);
        }
        fprintf(f, "reservation      %s (%s%s), %d node%s (%lld GPUs), [%lld, %lld): ", v->name,
                sched_resv_kind_name(v->kind), who, v->nnodes, v->nnodes == 1 ? "" : "s",
                (long long)v->gpus, (long long)v->start, (long long)v->end);
        if (v->kind == SCHED_RESV_PROJECT)
            fprintf(f, "used %.1f of %.1f GPU-hours (%.1f%%) by %lld job%s; ",
                    v->used_gpu_hours, v->window_gpu_hours,
                    v->window_gpu_hours > 0 ? 100.0 * v->used_gpu_hours / v->window_gpu_hours
                                            : 0.0,
                    (long long)v->used_jobs, v->used_jobs == 1 ? "" : "s");
        if (v->overlap_jobs == 0)
            fprintf(f, "%s\n", v->kind == SCHED_RESV_PROJECT
                                   ? "no other job ran there in the window"
                                   : "no job ran there in the window");
        else
            fprintf(f, "%lld %sjob%s ran there in the window (%.1f GPU-hours)\n",
                    (long long)v->overlap_jobs, v->kind == SCHED_RESV_PROJECT ? "other " : "",
                    v->overlap_jobs == 1 ? "" : "s", v->overlap_gpu_hours);
    }
}

static void resv_report_free(sim_result *r)
{
    for (size_t i = 0; i < r->nresv; i++) {
        free(r->resv[i].nodes);
        free(r->resv[i].accounts);
        free(r->resv[i].users);
    }
    free(r->resv);
    r->resv = NULL;
    r->nresv = 0;
}

/* The ends of the machine's reservations, sorted, each once: instants of
 * the event loop while jobs are pending, since a job waiting for reserved
 * nodes may start when the window ends, whether or not anything else
 * happens then. NULL when there are none. O(V log V). */
static int64_t *resv_wakeups(const sched *s, size_t *n)
{
    int nv = sched_resv_count(s);
    *n = 0;
    if (nv == 0)
        return NULL;
    int64_t *w = malloc((size_t)nv * sizeof *w);
    if (!w)
        abort();
    for (int i = 0; i < nv; i++) {
        sched_resv_info v;
        sched_resv_get(s, i, &v);
        w[i] = v.end;
    }
    qsort(w, (size_t)nv, sizeof *w, cmp_i64);
    for (int i = 0; i < nv; i++)
        if (*n == 0 || w[*n - 1] != w[i])
            w[(*n)++] = w[i];
    return w;
}

int sim_run(sched *s, int classic, const trace *t, const sim_options *o,
            sim_result *out, char *err, size_t errlen)
{
    return sim_run_center(s, classic, t, o, NULL, out, err, errlen);
}

int sim_run_center(sched *s, int classic, const trace *t, const sim_options *o,
                   sim_center *center, sim_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->classic = classic;
    int64_t capacity = sched_total_gpus(s);
    if (!classic) {
        out->nnodes = (size_t)sched_node_count(s);
        out->npools = (size_t)sched_pool_count(s);
        out->node_names = calloc(out->nnodes, sizeof *out->node_names);
        out->pool_names = calloc(out->npools ? out->npools : 1, sizeof *out->pool_names);
        if (!out->node_names || !out->pool_names)
            abort();
        for (size_t i = 0; i < out->nnodes; i++)
            snprintf(out->node_names[i], SCHED_NAMELEN, "%s", sched_node_name(s, (int)i));
        for (size_t i = 0; i < out->npools; i++)
            snprintf(out->pool_names[i], SCHED_NAMELEN, "%s", sched_pool_name(s, (int)i));
    }
    sched_set_policy(s, o->policy);
    sched_set_depth(s, o->depth);

    out->jobs = calloc(t->njobs ? t->njobs : 1, sizeof *out->jobs);
    sim_job **arr = malloc((t->njobs ? t->njobs : 1) * sizeof *arr);
    if (!out->jobs || !arr) {
        free(arr);
        sched_destroy(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    policy pol, *pp = NULL;
    memset(&pol, 0, sizeof pol);
    if (center) {
        size_t n = t->njobs ? t->njobs : 1;
        pp = &pol;
        pol.c = center;
        pol.a = sim_center_acct(center);
        pol.base = out->jobs;
        pol.aj = calloc(n, sizeof *pol.aj);
        pol.fate = calloc(n, sizeof *pol.fate);
        pol.pend = malloc(n * sizeof *pol.pend);
        pol.ppos = malloc(n * sizeof *pol.ppos);
        pol.gate = malloc(n * sizeof *pol.gate);
        pol.hold = malloc(n * sizeof *pol.hold);
        out->acct = calloc(1, sizeof *out->acct);
        if (!pol.aj || !pol.fate || !pol.pend || !pol.ppos || !pol.gate || !pol.hold ||
            !out->acct)
            abort(); /* out of memory, as the event heap */
        for (size_t i = 0; i < n; i++)
            pol.ppos[i] = -1;
        pol.gating = acct_gating_needed(pol.a);
        pol.preempt = acct_preempt_enabled(pol.a);
        if (pol.preempt) {
            pol.await = calloc(n, sizeof *pol.await);
            pol.victim = calloc(n, sizeof *pol.victim);
            pol.npre = calloc(n, sizeof *pol.npre);
            pol.lost = calloc(n, sizeof *pol.lost);
            pol.run = calloc(n, sizeof *pol.run);
            pol.victims = calloc(n, sizeof *pol.victims);
            pol.claim = calloc(n, sizeof *pol.claim);
            if (!pol.await || !pol.victim || !pol.npre || !pol.lost || !pol.run ||
                !pol.victims || !pol.claim)
                abort();
        }
        pol.last_calc = INT64_MIN;
    }
    char serr[SCHED_ERRLEN];
    for (size_t i = 0; i < t->njobs; i++) {
        const trace_job *tj = &t->jobs[i];
        if (tj->gpus <= 0 || tj->run < 0 || tj->submit < 0 ||
            (classic && tj->gpus > capacity)) {
            out->dropped++;
            continue;
        }
        sim_job *j = &out->jobs[out->njobs];
        j->input = (int32_t)i;
        j->sj.id = tj->id;
        j->sj.submit = tj->submit;
        j->sj.time_limit = tj->estimate >= 0 ? tj->estimate : tj->run;
        j->run_eff = tj->run < j->sj.time_limit ? tj->run : j->sj.time_limit;
        j->sj.gpus = tj->gpus;
        j->sj.nodes = tj->nodes;
        j->sj.gpus_per_node = tj->gpus_per_node;
        j->sj.cpus_per_gpu = classic ? 0 : tj->cpus_per_gpu;
        j->sj.mem_per_gpu_mb = classic ? 0 : tj->mem_per_gpu_mb;
        j->sj.user = tj->user;
        j->sj.account = tj->group;
        char perr[128];
        int bad = !classic && sched_pool_mask(s, tj->pool, 0, &j->sj.pools, perr, sizeof perr) != 0;
        j->size = tj->gpus;
        if (bad) {
            /* a pool this cluster does not have: it can never run here */
            out->dropped++;
            out->dropped_never_fit++;
            continue;
        }
        if (pp) /* in input order: users the center lacks are added in that order */
            sim_center_map(pp->c, tj, j->sj.pools, &pp->aj[out->njobs]);
        arr[out->njobs++] = j;
    }
    qsort(arr, out->njobs, sizeof *arr, arrival_cmp);

    loop l;
    memset(&l, 0, sizeof l);
    l.r = out;
    l.p = pp;
    size_t nwake = 0, nw = 0;
    int64_t *wake = resv_wakeups(s, &nwake);
    size_t next = 0, done = 0, since = 0;
    int64_t last_now = 0;
    while (next < out->njobs || l.ends.n > 0 ||
           (nw < nwake && sched_pending_count(s) > 0)) {
        /* the next instant: a job ends, one arrives, or, with jobs pending,
         * an operator's reservation ends and gives its nodes back */
        int64_t now = INT64_MAX;
        if (l.ends.n > 0)
            now = l.ends.a[0]->end;
        if (next < out->njobs && arr[next]->sj.submit < now)
            now = arr[next]->sj.submit;
        if (nw < nwake && wake[nw] < now && sched_pending_count(s) > 0)
            now = wake[nw];
        while (nw < nwake && wake[nw] <= now)
            nw++;
        while (l.ends.n > 0 && l.ends.a[0]->end == now) {
            sim_job *j = heap_pop(&l.ends);
            sched_job_end(s, &j->sj, now);
            if (pp)
                acct_job_end(pp->a, &pp->aj[j - out->jobs], now);
            if (pp && pp->preempt && j->end < j->sj.start + j->run_eff) {
                /* a victim cut short: requeued, not done */
                if (policy_requeue(pp, s, j, now, out->acct) != 0)
                    done++;
                continue;
            }
            if (pp && pp->preempt)
                pp->victim[j - out->jobs] = 0; /* ended on its own within the grace */
            done++;
            since++;
        }
        while (next < out->njobs && arr[next]->sj.submit == now) {
            sim_job *j = arr[next++];
            if (pp && policy_admit(pp, s, j, now, out->acct) != 0) {
                done++;
                continue;
            }
            if (sched_submit(s, &j->sj, serr, sizeof serr) != 0) {
                /* larger than any allowed pool: never runs; counted apart */
                j->sj.state = SCHED_JOB_DONE;
                j->sj.start = -1;
                out->dropped_never_fit++;
                done++;
                if (pp) {
                    acct_job_cancel(pp->a, &pp->aj[j - out->jobs], now);
                    pp->fate[j - out->jobs] = SIM_FATE_NEVER_FIT;
                }
            } else if (pp) {
                pend_add(pp, j);
            }
        }
        if (pp)
            policy_step(pp, s, now, &done);
        sched_pass(s, now, on_start, &l);
        if (pp && pp->preempt)
            policy_preempt(pp, &l, s, now);
        last_now = now;
        if (o->progress && since >= 65536) {
            o->progress(done, out->njobs, now, o->progress_arg);
            since = 0;
        }
    }
    free(l.ends.a);
    free(arr);
    free(wake);
    if (pp) {
        out->acct->priority_calcs = pp->calcs;
        out->acct->preempt_enabled = pp->preempt;
        out->acct->preempt_plans = pp->plans;
        sim_center_report(pp->c, out->jobs, pp->aj, pp->fate, pp->npre, pp->lost, out->njobs,
                          last_now, out->acct);
        policy_free(pp);
    }

    /* jobs refused by the scheduler or the policy leave the simulated set,
     * order kept */
    if (out->dropped_never_fit || pp) {
        size_t k = 0;
        for (size_t i = 0; i < out->njobs; i++)
            if (out->jobs[i].sj.start >= 0)
                out->jobs[k++] = out->jobs[i];
        out->dropped += (int64_t)(out->njobs - k);
        out->njobs = k;
    }
    if (sched_pending_count(s) != 0) {
        snprintf(err, errlen, "simulation ended with %zu jobs still pending",
                 sched_pending_count(s));
        sched_destroy(s);
        return -1;
    }
    resv_report(s, out, center ? sim_center_acct(center) : NULL);
    sched_destroy(s);
    if (o->progress)
        o->progress(out->njobs, out->njobs, 0, o->progress_arg);
    summarize(out, capacity);
    return 0;
}

void sim_result_free(sim_result *r)
{
    if (!r)
        return;
    free(r->jobs);
    free(r->placed);
    free(r->node_names);
    free(r->pool_names);
    sim_acct_report_free(r->acct);
    resv_report_free(r);
    memset(r, 0, sizeof *r);
}

void sim_format_double(double v, char *buf, size_t len)
{
    /* like Python's repr: the fewest digits that read back as v */
    char tmp[40] = "null";
    if (isfinite(v)) {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        if (!strpbrk(tmp, ".eEn"))
            strcat(tmp, ".0");
    }
    snprintf(buf, len, "%s", tmp);
}

int sim_write_jobs_csv(const sim_result *r, const trace *t, const char *path,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    (void)t;
    fputs(r->classic ? "id,submit,start,end,size\n" : "id,submit,start,end,size,pool,nodes\n", f);
    for (size_t i = 0; i < r->njobs; i++) {
        const sim_job *j = &r->jobs[i];
        fprintf(f, "%lld,%lld,%lld,%lld,%d", (long long)j->sj.id, (long long)j->sj.submit,
                (long long)j->sj.start, (long long)j->end, j->size);
        if (!r->classic) {
            fprintf(f, ",%s,", r->pool_names[j->pool]);
            for (int32_t k = 0; k < j->nplaced; k++) {
                const sim_place *p = &r->placed[j->first + k];
                fprintf(f, "%s%s:%d", k ? ";" : "", r->node_names[p->node], p->gpus);
            }
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A JSON string: names hold no control bytes, but may hold '"' or '\'. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Whole numbers as "100.0", others as the shortest decimal that reads back. */
static void json_num(FILE *f, double v)
{
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, sizeof buf, "%.1f", v);
    else
        sim_format_double(v, buf, sizeof buf);
    fputs(buf, f);
}

/* `"reservations": [...]` (no trailing newline), indented by two: each
 * reservation's definition and what became of its window. */
static void write_resv_json(FILE *f, const sim_result *r)
{
    fputs("  \"reservations\": [", f);
    for (size_t i = 0; i < r->nresv; i++) {
        const sim_resv_report *v = &r->resv[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_str(f, v->name);
        fprintf(f, ", \"kind\": \"%s\", \"start\": %lld, \"end\": %lld, \"nodes\": [",
                sched_resv_kind_name(v->kind), (long long)v->start, (long long)v->end);
        for (int32_t k = 0; k < v->nnodes; k++) {
            fputs(k ? ", " : "", f);
            json_str(f, (size_t)v->nodes[k] < r->nnodes ? r->node_names[v->nodes[k]] : "?");
        }
        fputs("], \"accounts\": [", f);
        for (int32_t k = 0; k < v->naccounts; k++) {
            fputs(k ? ", " : "", f);
            json_str(f, v->accounts[k]);
        }
        fputs("], \"users\": [", f);
        for (int32_t k = 0; k < v->nusers; k++) {
            fputs(k ? ", " : "", f);
            json_str(f, v->users[k]);
        }
        fprintf(f, "], \"gpus\": %lld, \"window_gpu_hours\": ", (long long)v->gpus);
        json_num(f, v->window_gpu_hours);
        fputs(", \"used_gpu_hours\": ", f);
        json_num(f, v->used_gpu_hours);
        fprintf(f, ", \"used_jobs\": %lld, \"overlap_gpu_hours\": ", (long long)v->used_jobs);
        json_num(f, v->overlap_gpu_hours);
        fprintf(f, ", \"overlap_jobs\": %lld}", (long long)v->overlap_jobs);
    }
    fputs(r->nresv ? "\n  ]" : "]", f);
}

int sim_write_summary_json(const sim_result *r, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const sim_summary *s = &r->summary;
    char u[40], mw[40], md[40], p95[40], bsd[40];
    sim_format_double(s->utilization, u, sizeof u);
    sim_format_double(s->mean_wait, mw, sizeof mw);
    sim_format_double(s->median_wait, md, sizeof md);
    sim_format_double(s->p95_wait, p95, sizeof p95);
    sim_format_double(s->mean_bounded_slowdown, bsd, sizeof bsd);
    fprintf(f,
            "{\n  \"jobs\": %lld,\n  \"dropped\": %lld,\n  \"makespan\": %lld,\n"
            "  \"utilization\": %s,\n  \"mean_wait\": %s,\n  \"median_wait\": %s,\n"
            "  \"p95_wait\": %s,\n  \"mean_bounded_slowdown\": %s",
            (long long)s->jobs, (long long)s->dropped, (long long)s->makespan, u, mw, md, p95,
            bsd);
    if (r->acct) {
        fputs(",\n", f);
        sim_write_accounts_json(f, r->acct);
    }
    if (r->nresv) {
        fputs(",\n", f);
        write_resv_json(f, r);
    }
    fputs("\n}\n", f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
