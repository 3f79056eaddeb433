/*
 * acct_preempt.c: guaranteed quotas, borrowing and the preemption plan of
 * the policy layer (acct.h, docs/policy.md "Guaranteed quotas").
 *
 * Pure like the rest of libsched: the plan reads the center, the cluster and
 * the running jobs the driver shows it, and returns victims; the driver
 * signals them, waits the grace period and requeues (or cancels) them.
 * Nothing here changes a job or the cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct_internal.h"
#include "sched_internal.h"

/* pass.c: the nodes a job needs in a pool (k nodes of g GPUs, whole nodes
 * when k > 1); -1 if it can never fit there. O(1). */
int sched_job_shape(const sched *s, const sched_job *j, int pool, int32_t *k, int32_t *g,
                    int *whole);

#define GRACE_MAX 31536000LL /* a year: beyond it, a typo */
#define SIGNAL_MAX 64

/* Out of memory aborts, as everywhere in libsched. */
static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        abort();
    return p;
}

static uint64_t guarantee_key(int32_t account, int pool)
{
    return (uint64_t)(uint32_t)account << 8 | (uint64_t)(unsigned)pool;
}

/* ---- guarantees ---------------------------------------------------------- */

int acct_guarantee_add(acct_center *a, int32_t account, int pool, int64_t gpus, char *err,
                       size_t errlen)
{
    if (account <= 0 || (size_t)account >= a->nnodes ||
        a->nodes[account].level == ACCT_MEMBER) {
        if (err)
            snprintf(err, errlen, "a guarantee belongs to a tier, an organization or a project");
        return -1;
    }
    if (pool < 0 || pool >= a->npools || pool >= SCHED_MAX_POOLS) {
        if (err)
            snprintf(err, errlen, "no pool %d in this center", pool);
        return -1;
    }
    if (gpus <= 0 || (a->total_gpus > 0 && gpus > a->total_gpus)) {
        if (err)
            snprintf(err, errlen, "a guarantee of %lld GPUs: must be between 1 and the "
                     "cluster's %lld GPUs", (long long)gpus, (long long)a->total_gpus);
        return -1;
    }
    int64_t *g = acct_imap_ref(&a->guarantees, guarantee_key(account, pool));
    if (*g != 0) {
        if (err)
            snprintf(err, errlen, "%s already holds a guarantee in pool %s",
                     a->nodes[account].name, a->pool_names[pool]);
        return -1;
    }
    *g = gpus;
    a->nguarantees++;
    return 0;
}

int64_t acct_guarantee_of(const acct_center *a, int32_t account, int pool)
{
    if (a->nguarantees == 0 || account < 0 || pool < 0 || pool >= SCHED_MAX_POOLS)
        return 0;
    return acct_imap_get(&a->guarantees, guarantee_key(account, pool), 0);
}

int acct_guarantee_count(const acct_center *a)
{
    return a->nguarantees;
}

/* Nearest first: the project, then each ancestor below the center. O(depth). */
int32_t acct_guarantee_holder(const acct_center *a, int32_t project, int pool)
{
    if (a->nguarantees == 0 || project <= 0 || (size_t)project >= a->nnodes)
        return ACCT_NONE;
    for (int32_t n = project; n > 0; n = a->nodes[n].parent)
        if (acct_guarantee_of(a, n, pool) > 0)
            return n;
    return ACCT_NONE;
}

/* ---- preemption settings --------------------------------------------------- */

void acct_preempt_defaults(acct_preempt_config *c)
{
    c->grace = 300;
    c->signal = 15; /* SIGTERM on every platform gpufleet runs on */
}

int acct_set_preempt(acct_center *a, const acct_preempt_config *c, char *err, size_t errlen)
{
    if (c->grace < 0 || c->grace > GRACE_MAX) {
        if (err)
            snprintf(err, errlen, "preemption grace of %lld s: must be between 0 and %lld",
                     (long long)c->grace, (long long)GRACE_MAX);
        return -1;
    }
    if (c->signal <= 0 || c->signal > SIGNAL_MAX) {
        if (err)
            snprintf(err, errlen, "preemption signal %d: must be between 1 and %d", c->signal,
                     SIGNAL_MAX);
        return -1;
    }
    a->preempt = *c;
    return 0;
}

const acct_preempt_config *acct_preempt(const acct_center *a)
{
    return &a->preempt;
}

int acct_preempt_enabled(const acct_center *a)
{
    if (a->nguarantees > 0)
        return 1;
    for (int q = 0; q < a->nqos; q++)
        if (a->qos[q].preempt)
            return 1;
    return 0;
}

const char *acct_preempt_why_name(int why)
{
    switch (why) {
    case ACCT_PREEMPT_GUARANTEE: return "guarantee";
    case ACCT_PREEMPT_QOS: return "qos";
    default: return "none";
    }
}

/* ---- borrowing ------------------------------------------------------------- */

/* A running job's place in the classification: its holder and pool, then
 * oldest first. */
typedef struct rkey {
    int32_t holder;
    int32_t pool;
    int64_t start, id;
    size_t i;
} rkey;

static int rkey_cmp(const void *x, const void *y)
{
    const rkey *p = x, *q = y;
    if (p->holder != q->holder)
        return p->holder < q->holder ? -1 : 1;
    if (p->pool != q->pool)
        return p->pool < q->pool ? -1 : 1;
    if (p->start != q->start)
        return p->start < q->start ? -1 : 1;
    if (p->id != q->id)
        return p->id < q->id ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* The rule (acct.h): per holder and pool, oldest first, a job is within the
 * guarantee while the running sum of GPUs (its own included) stays <= G;
 * jobs without a holder borrow. Sorting groups each holder's jobs in start
 * order: O(R log R), plus O(depth) per job to find its holder. Borrowing
 * jobs of a holder are thus always its youngest: ending one never turns
 * another of its jobs into a borrower. */
void acct_running_classify(const acct_center *a, acct_running *run, size_t nrun)
{
    rkey *k = xcalloc(nrun, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < nrun; i++) {
        const sched_job *sj = run[i].sj;
        int32_t h = acct_guarantee_holder(a, run[i].aj->project, sj->pool);
        run[i].borrowing = 1;
        if (h != ACCT_NONE)
            k[nk++] = (rkey){h, sj->pool, sj->start, sj->id, i};
    }
    qsort(k, nk, sizeof *k, rkey_cmp);
    int64_t sum = 0;
    for (size_t x = 0; x < nk; x++) {
        if (x == 0 || k[x].holder != k[x - 1].holder || k[x].pool != k[x - 1].pool)
            sum = 0;
        sum += run[k[x].i].sj->alloced_gpus;
        run[k[x].i].borrowing = sum > acct_guarantee_of(a, k[x].holder, k[x].pool);
    }
    free(k);
}

/* ---- the plan ------------------------------------------------------------------ */

/* A candidate's share of one node, with its job's start and id (copied:
 * the choice compares them often, and the job is a cache miss away). */
typedef struct share {
    int32_t node;
    int32_t gpus, cpus;
    int64_t mem;
    int64_t start, id;
    size_t cand;       /* index into run[] */
} share;

/* Younger first: later start, then higher id. */
static int younger(const share *p, const share *q)
{
    if (p->start != q->start)
        return p->start > q->start;
    return p->id > q->id;
}

/* One node's choice: how many victims and the start of the oldest. */
typedef struct nodechoice {
    int32_t node;
    int32_t nvict;
    int64_t oldest;    /* start of its oldest victim; INT64_MAX for none */
    size_t first;      /* its victims: pick[first .. first + nvict) */
} nodechoice;

static int choice_cmp(const void *x, const void *y)
{
    const nodechoice *p = x, *q = y;
    if (p->nvict != q->nvict)
        return p->nvict < q->nvict ? -1 : 1;
    if (p->oldest != q->oldest)
        return p->oldest > q->oldest ? -1 : 1; /* the younger oldest first */
    return (p->node > q->node) - (p->node < q->node);
}

/* Sorts sh[0..n) youngest first (insertion sort: n is at most the jobs of
 * one node). */
static void sort_youngest(share *sh, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        share v = sh[i];
        size_t j = i;
        while (j > 0 && younger(&v, &sh[j - 1])) {
            sh[j] = sh[j - 1];
            j--;
        }
        sh[j] = v;
    }
}

/*
 * A single-node share on one node: the fewest of its candidates sh[0..n)
 * (sorted youngest first) whose GPUs cover `deficit`, and among as few the
 * youngest. First k = the fewest: the k largest shares, greedily. Then the
 * choice youngest first: a candidate is taken when the taken ones plus the
 * largest (k - taken - 1) among those after it still cover the deficit.
 * CPUs and memory: if the chosen set leaves them short, more candidates
 * are taken youngest first until they suffice. O(n^2) for n shares.
 * Writes the chosen into out (marking used[]); returns how many, or -1 when
 * even all of them are not enough.
 */
static int choose_on_node(const share *sh, size_t n, int32_t deficit,
                          int32_t cdef, int64_t mdef, share *out, uint8_t *used)
{
    int32_t total = 0, ctotal = 0;
    int64_t mtotal = 0;
    for (size_t i = 0; i < n; i++) {
        total += sh[i].gpus;
        ctotal += sh[i].cpus;
        mtotal += sh[i].mem;
    }
    if (total < deficit || ctotal < cdef || mtotal < mdef)
        return -1;
    memset(used, 0, n);
    /* k: the fewest, by the largest shares first */
    size_t k = 0;
    int32_t got = 0;
    while (got < deficit) {
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!used[i] && (best == n || sh[i].gpus > sh[best].gpus))
                best = i;
        used[best] = 1;
        got += sh[best].gpus;
        k++;
    }
    memset(used, 0, n);
    size_t taken = 0;
    got = 0;
    for (size_t i = 0; i < n && taken < k && got < deficit; i++) {
        /* could the rest be made up with the largest (k - taken - 1) after i? */
        int32_t need = deficit - got - sh[i].gpus;
        size_t slots = k - taken - 1;
        if (need > 0) {
            /* the sum of the `slots` largest among sh[i+1..n): O(n x slots) */
            int32_t sum = 0;
            uint8_t *tmp = used + n; /* second half of the scratch */
            memset(tmp, 0, n);
            for (size_t s = 0; s < slots; s++) {
                size_t best = n;
                for (size_t j = i + 1; j < n; j++)
                    if (!tmp[j] && (best == n || sh[j].gpus > sh[best].gpus))
                        best = j;
                if (best == n)
                    break;
                tmp[best] = 1;
                sum += sh[best].gpus;
            }
            if (sum < need)
                continue;
        }
        used[i] = 1;
        got += sh[i].gpus;
        taken++;
    }
    /* CPUs and memory: add the youngest remaining until they suffice */
    int32_t c = 0;
    int64_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (used[i])
            c += sh[i].cpus, m += sh[i].mem;
    for (size_t i = 0; i < n && (c < cdef || m < mdef); i++)
        if (!used[i]) {
            used[i] = 1;
            c += sh[i].cpus;
            m += sh[i].mem;
        }
    int w = 0;
    for (size_t i = 0; i < n; i++)
        if (used[i])
            out[w++] = sh[i];
    return w;
}

/* A node's free capacity as sched_node_get reports it (a span node held
 * by a gang reads busy whole). O(1). */
static inline void node_free(const sched *s, int32_t n, int32_t *g, int32_t *c, int64_t *m)
{
    const snode *nd = &s->nodes[n];
    if (s->pools[nd->pool].span) {
        int32_t nj;
        span_node_view(s, n, g, c, m, &nj);
        return;
    }
    *g = nd->free_gpus;
    *c = nd->free_cpus;
    *m = nd->free_mem;
}

/* The order of node choices: fewest victims, then the younger oldest
 * victim, then node order (choice_cmp). A max-heap of the `cap` best seen
 * so far keeps the worst of them on top. */
static void heap_sift_down(nodechoice *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && choice_cmp(&h[l], &h[w]) > 0)
            w = l;
        if (r < n && choice_cmp(&h[r], &h[w]) > 0)
            w = r;
        if (w == i)
            return;
        nodechoice t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Offers c to the heap h of at most cap; returns whether it was kept. */
static int heap_push_bounded(nodechoice *h, size_t *n, size_t cap, const nodechoice *c)
{
    if (*n < cap) {
        size_t i = (*n)++;
        h[i] = *c;
        while (i > 0 && choice_cmp(&h[(i - 1) / 2], &h[i]) < 0) {
            nodechoice t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return 1;
    }
    if (choice_cmp(c, &h[0]) >= 0)
        return 0;
    h[0] = *c;
    heap_sift_down(h, *n, 0);
    return 1;
}

/*
 * The plan in one pool given which running jobs are candidates (cand[i]).
 * See acct.h for the rule. Returns the number of victims, 0 for none
 * possible or none needed (*fits_now set in that case).
 *
 * The k best nodes are the z nodes that hold the job's share with nobody
 * leaving (they rank first: no victim), then the best k - z of the nodes
 * where candidates must go. So the free nodes are only counted (one look
 * at each node of the pool, stopping at k; for whole nodes of a pool of
 * like nodes, the pool's idle count), the candidates' shares are grouped
 * by node in lists (no sort), and the best k - z nodes are kept in a
 * bounded heap. The same victims, in the same order, as ranking every
 * node. O(N + A + M log k) for N nodes, A shares of the candidates and
 * M nodes where candidates must go, plus the per-node choice.
 */
static size_t plan_pool(const sched *s, const sched_job *sj, int pool, const acct_running *run,
                        size_t nrun, const uint8_t *cand, size_t *victims, int64_t *freed,
                        int *fits_now)
{
    int32_t k, g;
    int whole;
    *fits_now = 0;
    *freed = 0;
    if (sched_job_shape(s, sj, pool, &k, &g, &whole) != 0)
        return 0;
    int32_t c = whole ? 0 : g * sj->cpus_per_gpu;
    int64_t m = whole ? 0 : (int64_t)g * sj->mem_per_gpu_mb;
    const spool *pl = &s->pools[pool];
    int32_t nn = s->nnodes;

    /* the nodes that need no victim: O(N), or O(1) for whole nodes of a
     * pool whose nodes all have the GPUs the job wants on each */
    int32_t zero = 0;
    if (whole && pl->mingpn >= g) {
        zero = pl->idle_nodes; /* UP nodes with every GPU free */
    } else {
        for (int32_t n = 0; n < nn && zero < k; n++) {
            const snode *nd = &s->nodes[n];
            if (nd->pool != pool || nd->state != SCHED_NODE_UP)
                continue;
            int32_t fg, fc;
            int64_t fm;
            node_free(s, n, &fg, &fc, &fm);
            zero += whole ? fg == nd->cap_gpus && nd->cap_gpus >= g
                          : fg >= g && fc >= c && fm >= m;
        }
    }
    if (zero >= k) {
        *fits_now = 1;
        return 0;
    }

    /* the candidates' shares, listed per node, each list in run[] order */
    size_t na = 0;
    for (size_t i = 0; i < nrun; i++)
        if (cand[i])
            na += (size_t)run[i].sj->nalloc;
    int32_t *head = malloc((size_t)nn * sizeof *head);
    if (!head)
        abort();
    memset(head, 0xff, (size_t)nn * sizeof *head); /* -1: none */
    int32_t *next = xcalloc(na, sizeof *next);
    share *sh = xcalloc(na, sizeof *sh);
    size_t w = 0;
    for (size_t i = nrun; i-- > 0;) { /* backwards: each list reads in run[] order */
        if (!cand[i])
            continue;
        const sched_job *v = run[i].sj;
        for (int32_t x = 0; x < v->nalloc; x++) {
            int32_t node = v->alloc[x].node;
            sh[w] = (share){node, v->alloc[x].gpus, v->alloc[x].cpus, v->alloc[x].mem_mb,
                            v->start, v->id, i};
            next[w] = head[node];
            head[node] = (int32_t)w++;
        }
    }

    /* each node with candidates: its fewest, then youngest, victims */
    size_t need = (size_t)(k - zero), nbest = 0, npick = 0;
    nodechoice *best = xcalloc(need, sizeof *best);
    share *pick = xcalloc(na, sizeof *pick);
    share *buf = xcalloc(na, sizeof *buf);
    uint8_t *used = xcalloc(2 * (na + 1), 1);
    for (int32_t node = 0; node < nn; node++) { /* in node order: a sequential read */
        if (head[node] < 0)
            continue;
        const snode *nd = &s->nodes[node];
        if (nd->pool != pool || nd->state != SCHED_NODE_UP)
            continue;
        size_t n = 0;
        int32_t freed_g = 0;
        for (int32_t x = head[node]; x >= 0; x = next[x]) {
            buf[n++] = sh[x];
            freed_g += sh[x].gpus;
        }
        int32_t fg, fc;
        int64_t fm;
        node_free(s, node, &fg, &fc, &fm);
        sort_youngest(buf, n);
        int32_t nv;
        if (whole) {
            /* all its jobs must go, and all must be candidates */
            if (fg + freed_g != nd->cap_gpus || nd->cap_gpus < g)
                continue;
            for (size_t i = 0; i < n; i++)
                pick[npick + i] = buf[i];
            nv = (int32_t)n;
        } else if (fg >= g && fc >= c && fm >= m) {
            continue; /* no victim: counted in zero */
        } else {
            int32_t gd = g - fg > 0 ? g - fg : 0, cd = c - fc > 0 ? c - fc : 0;
            int64_t md = m - fm > 0 ? m - fm : 0;
            nv = choose_on_node(buf, n, gd, cd, md, pick + npick, used);
            if (nv < 0)
                continue;
        }
        if (nv == 0)
            continue;
        int64_t oldest = INT64_MAX;
        for (int32_t i = 0; i < nv; i++)
            if (pick[npick + (size_t)i].start < oldest)
                oldest = pick[npick + (size_t)i].start;
        nodechoice ch = {node, nv, oldest, npick};
        /* a node kept among the best keeps its picks (later nodes' go after
         * them); else the next node's overwrite them */
        if (heap_push_bounded(best, &nbest, need, &ch))
            npick += (size_t)nv;
    }
    size_t nvict = 0;
    if (nbest == need) {
        /* the k - z best in rank order; the union of their victims, each once */
        qsort(best, nbest, sizeof *best, choice_cmp);
        uint8_t *taken = xcalloc(nrun, 1);
        for (size_t x = 0; x < nbest; x++)
            for (int32_t i = 0; i < best[x].nvict; i++) {
                size_t v = pick[best[x].first + (size_t)i].cand;
                if (!taken[v]) {
                    taken[v] = 1;
                    victims[nvict++] = v;
                    *freed += run[v].sj->alloced_gpus;
                }
            }
        free(taken);
    }
    free(used);
    free(buf);
    free(pick);
    free(best);
    free(sh);
    free(next);
    free(head);
    return nvict;
}

/* Marks (1) the nodes under x (x included) whose holder in pool is h: the
 * walk stops at an account with its own guarantee there (marked 2), whose
 * jobs have that nearer holder. Recursion depth: the tree's, at most 16. */
static void mark_holder_subtree(const acct_center *a, int32_t x, uint8_t *mark)
{
    mark[x] = 1;
    for (int32_t c = a->nodes[x].first_child; c >= 0; c = a->nodes[c].next_sibling)
        if (mark[c] != 2)
            mark_holder_subtree(a, c, mark);
}

/* H's running GPUs in pool: the running jobs whose holder is h, found by
 * marking the accounts h holds for (its subtree, less the subtrees of
 * guarantees nearer to their jobs) rather than by looking up each running
 * job's holder: O(G + subtree of h + R) for G guarantees and R running
 * jobs, instead of O(R x depth) lookups. */
static int64_t held_by(const acct_center *a, int32_t h, int pool, int one_pool,
                       const acct_running *run, size_t nrun)
{
    uint8_t *mark = xcalloc(a->nnodes, 1);
    for (size_t i = 0; i < a->guarantees.cap; i++) {
        const acct_imap_slot *sl = &a->guarantees.slots[i];
        uint64_t acc = sl->key >> 8;
        if (sl->used && sl->val > 0 && (int)(sl->key & 0xff) == pool && acc < a->nnodes)
            mark[acc] = 2;
    }
    mark_holder_subtree(a, h, mark); /* (h itself is marked 2: the walk starts there) */
    int64_t held = 0;
    for (size_t i = 0; i < nrun; i++) {
        int32_t p = run[i].aj->project;
        /* (one pool: every running job is in it, no look at the job) */
        if (p > 0 && (size_t)p < a->nnodes && mark[p] == 1 &&
            (one_pool || run[i].sj->pool == pool))
            held += run[i].sj->alloced_gpus;
    }
    free(mark);
    return held;
}

/* See acct.h: per allowed pool, who may go (guarantee, else QOS rights),
 * then the placement choice of plan_pool. O(P x (R + C + N + A + M log k)),
 * and O(P x (depth + C + G + R)) for a job its holder's guarantee does not
 * cover (held_by). */
size_t acct_preempt_plan_job(const acct_center *a, const sched *s, const acct_job *job,
                             const sched_job *sjob, const acct_running *run, size_t nrun,
                             const acct_claim *claims, size_t nclaims, size_t *victims,
                             acct_preempt_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->pool = -1;
    int np = sched_pool_count(s);
    int qos = acct_job_qos(a, job);
    int qos_rights = qos >= 0 && a->qos[qos].preempt != 0;
    if (a->nguarantees == 0 && !qos_rights)
        return 0;
    uint8_t *cand = xcalloc(nrun, 1);
    size_t n = 0;
    for (int pool = 0; pool < np && n == 0; pool++) {
        if (sjob->pools != 0 && !(sjob->pools >> pool & 1))
            continue;
        int32_t k, g;
        int whole;
        if (sched_job_shape(s, sjob, pool, &k, &g, &whole) != 0)
            continue;
        int64_t need = whole ? (int64_t)k * g : g; /* whole nodes count whole */
        int32_t h = acct_guarantee_holder(a, job->project, pool);
        int why = ACCT_PREEMPT_NONE;
        if (h != ACCT_NONE) {
            /* covered: H's running GPUs in P, its claims and the job's stay
             * within G_H (the claims first: when they alone leave no room,
             * the running jobs need no look) */
            int64_t held = 0, gh = acct_guarantee_of(a, h, pool);
            for (size_t i = 0; i < nclaims; i++)
                if (claims[i].holder == h && claims[i].pool == pool)
                    held += claims[i].gpus;
            if (held + need <= gh)
                held += held_by(a, h, pool, np == 1, run, nrun);
            if (held + need <= gh)
                why = ACCT_PREEMPT_GUARANTEE;
        }
        if (why == ACCT_PREEMPT_NONE && qos_rights)
            why = ACCT_PREEMPT_QOS;
        if (why == ACCT_PREEMPT_NONE)
            continue;
        size_t nc = 0;
        for (size_t i = 0; i < nrun; i++) {
            const acct_running *r = &run[i];
            cand[i] = r->sj->pool == pool && r->borrowing && !r->preempting &&
                      (why == ACCT_PREEMPT_GUARANTEE ||
                       acct_qos_may_preempt(a, qos, acct_job_qos(a, r->aj)));
            nc += cand[i];
        }
        if (nc == 0)
            continue;
        int64_t freed = 0;
        int fits_now = 0;
        n = plan_pool(s, sjob, pool, run, nrun, cand, victims, &freed, &fits_now);
        if (fits_now)
            break; /* it fits without anyone leaving: no plan */
        if (n > 0) {
            plan->why = why;
            plan->pool = pool;
            plan->holder = why == ACCT_PREEMPT_GUARANTEE ? h : ACCT_NONE;
            plan->nvictims = n;
            plan->freed_gpus = freed;
            plan->gpus = need;
        }
    }
    free(cand);
    return n;
}
