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
 * The nodes of the general choice (acct.h, step 2 and 3), for a set of
 * candidates listed per node: each node with candidates gets its fewest,
 * then youngest, victims (choose_on_node; all of them for whole nodes),
 * and the best `need` nodes are kept in a bounded heap; the victims are the
 * union of theirs, in rank order. O(M + A + M log need) for the M nodes with
 * candidates and their A shares, plus the per-node choice. Returns the
 * number of victims (0: fewer than `need` nodes qualify).
 */
typedef struct cset cset;
static size_t choose_general(acct_planner *p, const cset *cs, int32_t need, int32_t g,
                             int32_t c, int64_t m, int whole, size_t *victims, int64_t *freed);

/* One set of candidates in one pool, built at its first use in a round:
 * the borrowing jobs not already being preempted (plans of why GUARANTEE:
 * qos -1), or those of them whose QOS the QOS `qos` may preempt (why QOS).
 * Members a plan of the round took stay listed and are skipped (gone). */
struct cset {
    int32_t pool, qos;
    uint8_t *member;   /* per run[]: in the set */
    size_t live;       /* members not taken */
    size_t *order;     /* members, youngest first (latest start, then highest id) */
    size_t norder;
    share *sh;         /* the members' shares of nodes, listed per node */
    int32_t *next;     /* per share: the next on its node, -1 */
    int32_t *head;     /* per node: its first share, -1 */
    int32_t *nodes;    /* the nodes with shares, in node order */
    size_t nnodes;
    int ranked;        /* rank[] built (the first job of whole nodes) */
    nodechoice *rank;  /* nodes whose GPUs are all free or members': best first */
    size_t nrank;
    size_t *rvict;     /* each ranked node's members, youngest first */
};

/* One shape of job (sched_job_shape) in one pool, and how many nodes hold
 * it with nobody leaving: counted in node order only as far as a job asks
 * (the cluster does not change while a planner lives). */
typedef struct pshape {
    int32_t pool, g, c, whole;
    int64_t m;
    int32_t zero;      /* such nodes among nodes [0, zpos) */
    int32_t zpos;
    int used;
} pshape;

struct acct_planner {
    const acct_center *a;
    const sched *s;
    const acct_running *run;
    size_t nrun;
    uint8_t *gone;     /* per run[]: a victim of a plan taken in this round */
    uint8_t *lost;     /* per node: such a victim runs there */
    int held_built;
    acct_imap held;    /* (holder, pool) -> its running GPUs there */
    acct_imap claimed; /* (holder, pool) -> GPUs its waiting preemptors claim */
    cset *sets;
    size_t nsets, capsets;
    pshape *shapes;    /* open addressing, a power of two, at most half full */
    size_t capshapes, nshapes;
    uint32_t *nstamp;  /* per node, per run[]: scratch marks of the generation gen */
    uint32_t *rstamp;
    uint32_t gen;
};

acct_planner *acct_planner_new(const acct_center *a, const sched *s, const acct_running *run,
                               size_t nrun)
{
    acct_planner *p = xcalloc(1, sizeof *p);
    size_t nn = (size_t)s->nnodes;
    p->a = a;
    p->s = s;
    p->run = run;
    p->nrun = nrun;
    p->gone = xcalloc(nrun, 1);
    p->lost = xcalloc(nn, 1);
    p->nstamp = xcalloc(nn, sizeof *p->nstamp);
    p->rstamp = xcalloc(nrun, sizeof *p->rstamp);
    return p;
}

void acct_planner_free(acct_planner *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsets; i++) {
        cset *cs = &p->sets[i];
        free(cs->member);
        free(cs->order);
        free(cs->sh);
        free(cs->next);
        free(cs->head);
        free(cs->nodes);
        free(cs->rank);
        free(cs->rvict);
    }
    free(p->sets);
    free(p->shapes);
    acct_imap_free(&p->held);
    acct_imap_free(&p->claimed);
    free(p->gone);
    free(p->lost);
    free(p->nstamp);
    free(p->rstamp);
    free(p);
}

void acct_planner_claim(acct_planner *p, const acct_claim *c)
{
    if (c->holder == ACCT_NONE || c->pool < 0 || c->gpus <= 0)
        return;
    *acct_imap_ref(&p->claimed, guarantee_key(c->holder, c->pool)) += c->gpus;
}

/* A fresh generation of the scratch marks. */
static uint32_t next_gen(acct_planner *p)
{
    if (++p->gen == 0) {
        memset(p->nstamp, 0, (size_t)p->s->nnodes * sizeof *p->nstamp);
        memset(p->rstamp, 0, p->nrun * sizeof *p->rstamp);
        p->gen = 1;
    }
    return p->gen;
}

/* Each holder's running GPUs per pool, at the first job a guarantee may
 * cover: O(R x depth). */
static int64_t held_of(acct_planner *p, int32_t h, int pool)
{
    if (!p->held_built) {
        p->held_built = 1;
        for (size_t i = 0; i < p->nrun; i++) {
            const sched_job *sj = p->run[i].sj;
            int32_t x = acct_guarantee_holder(p->a, p->run[i].aj->project, sj->pool);
            if (x != ACCT_NONE)
                *acct_imap_ref(&p->held, guarantee_key(x, sj->pool)) += sj->alloced_gpus;
        }
    }
    return acct_imap_get(&p->held, guarantee_key(h, pool), 0);
}

/* Youngest first: later start, then higher id. */
typedef struct okey {
    int64_t start, id;
    size_t i;
} okey;

static int okey_cmp(const void *x, const void *y)
{
    const okey *p = x, *q = y;
    if (p->start != q->start)
        return p->start > q->start ? -1 : 1;
    if (p->id != q->id)
        return p->id > q->id ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* The set of (pool, qos), built at its first use: O(R + N + A log A). The
 * index into p->sets (which may move when another is built). */
static size_t get_set(acct_planner *p, int32_t pool, int32_t qos)
{
    for (size_t i = 0; i < p->nsets; i++)
        if (p->sets[i].pool == pool && p->sets[i].qos == qos)
            return i;
    if (p->nsets == p->capsets) {
        p->capsets = p->capsets ? 2 * p->capsets : 4;
        cset *n = realloc(p->sets, p->capsets * sizeof *n);
        if (!n)
            abort();
        p->sets = n;
    }
    cset *cs = &p->sets[p->nsets];
    memset(cs, 0, sizeof *cs);
    cs->pool = pool;
    cs->qos = qos;
    const acct_center *a = p->a;
    const acct_running *run = p->run;
    size_t nrun = p->nrun, nn = (size_t)p->s->nnodes, na = 0;
    cs->member = xcalloc(nrun, 1);
    for (size_t i = 0; i < nrun; i++) {
        const acct_running *r = &run[i];
        if (r->sj->pool != pool || !r->borrowing || r->preempting)
            continue;
        if (qos >= 0 && !acct_qos_may_preempt(a, qos, acct_job_qos(a, r->aj)))
            continue;
        cs->member[i] = 1;
        cs->norder++;
        cs->live += !p->gone[i];
        na += (size_t)r->sj->nalloc;
    }
    okey *k = xcalloc(cs->norder, sizeof *k);
    size_t w = 0;
    for (size_t i = 0; i < nrun; i++)
        if (cs->member[i])
            k[w++] = (okey){run[i].sj->start, run[i].sj->id, i};
    qsort(k, w, sizeof *k, okey_cmp);
    cs->order = xcalloc(w, sizeof *cs->order);
    for (size_t i = 0; i < w; i++)
        cs->order[i] = k[i].i;
    free(k);
    cs->head = malloc((nn ? nn : 1) * sizeof *cs->head);
    if (!cs->head)
        abort();
    memset(cs->head, 0xff, nn * sizeof *cs->head); /* -1: none */
    cs->next = xcalloc(na, sizeof *cs->next);
    cs->sh = xcalloc(na, sizeof *cs->sh);
    w = 0;
    for (size_t i = nrun; i-- > 0;) { /* backwards: each list reads in run[] order */
        if (!cs->member[i])
            continue;
        const sched_job *v = run[i].sj;
        for (int32_t x = 0; x < v->nalloc; x++) {
            int32_t node = v->alloc[x].node;
            cs->sh[w] = (share){node, v->alloc[x].gpus, v->alloc[x].cpus, v->alloc[x].mem_mb,
                                v->start, v->id, i};
            cs->next[w] = cs->head[node];
            cs->head[node] = (int32_t)w++;
        }
    }
    size_t m = 0;
    for (size_t n = 0; n < nn; n++)
        m += cs->head[n] >= 0;
    cs->nodes = xcalloc(m, sizeof *cs->nodes);
    for (size_t n = 0; n < nn; n++)
        if (cs->head[n] >= 0)
            cs->nodes[cs->nnodes++] = (int32_t)n;
    return p->nsets++;
}

/* The shares of the set's members still there (not taken) on a node, in
 * list order, into buf; *gpus their GPUs. Returns how many. */
static size_t live_shares(const acct_planner *p, const cset *cs, int32_t node, share *buf,
                          int32_t *gpus)
{
    size_t n = 0;
    *gpus = 0;
    for (int32_t i = cs->head[node]; i >= 0; i = cs->next[i])
        if (!p->gone[cs->sh[i].cand]) {
            buf[n++] = cs->sh[i];
            *gpus += cs->sh[i].gpus;
        }
    return n;
}

/* The whole-node ranking of a set: every UP node whose GPUs are all free or
 * held by members still there, with its members youngest first, best first
 * (choice_cmp: fewest victims, the younger oldest, node order). Built once:
 * a victim taken later marks its nodes lost, and they are skipped. */
static void rank_whole(acct_planner *p, cset *cs)
{
    cs->ranked = 1;
    const sched *s = p->s;
    size_t nsh = 0;
    for (size_t x = 0; x < cs->nnodes; x++)
        for (int32_t i = cs->head[cs->nodes[x]]; i >= 0; i = cs->next[i])
            nsh++;
    cs->rank = xcalloc(cs->nnodes, sizeof *cs->rank);
    cs->rvict = xcalloc(nsh, sizeof *cs->rvict);
    share *buf = xcalloc(nsh, sizeof *buf);
    size_t nv = 0;
    for (size_t x = 0; x < cs->nnodes; x++) {
        int32_t node = cs->nodes[x];
        const snode *nd = &s->nodes[node];
        if (nd->pool != cs->pool || nd->state != SCHED_NODE_UP || p->lost[node])
            continue;
        int32_t freed_g;
        size_t n = live_shares(p, cs, node, buf, &freed_g);
        int32_t fg, fc;
        int64_t fm;
        node_free(s, node, &fg, &fc, &fm);
        if (n == 0 || fg + freed_g != nd->cap_gpus)
            continue;
        sort_youngest(buf, n);
        int64_t oldest = INT64_MAX;
        for (size_t i = 0; i < n; i++) {
            cs->rvict[nv + i] = buf[i].cand;
            if (buf[i].start < oldest)
                oldest = buf[i].start;
        }
        cs->rank[cs->nrank++] = (nodechoice){node, (int32_t)n, oldest, nv};
        nv += n;
    }
    free(buf);
    qsort(cs->rank, cs->nrank, sizeof *cs->rank, choice_cmp);
}

/* Whole nodes: the first `need` ranked nodes not lost, of at least g GPUs;
 * the victims are the union of theirs in rank order. O(need + skipped). */
static size_t choose_whole(acct_planner *p, cset *cs, int32_t need, int32_t g, size_t *victims,
                           int64_t *freed)
{
    if (!cs->ranked)
        rank_whole(p, cs);
    const sched *s = p->s;
    size_t x = 0, got = 0;
    /* first count: nothing is written unless `need` nodes qualify */
    for (x = 0; x < cs->nrank && got < (size_t)need; x++) {
        int32_t node = cs->rank[x].node;
        got += !p->lost[node] && s->nodes[node].cap_gpus >= g;
    }
    if (got < (size_t)need)
        return 0;
    uint32_t gen = next_gen(p);
    size_t nvict = 0, end = x;
    for (x = 0; x < end; x++) {
        const nodechoice *ch = &cs->rank[x];
        if (p->lost[ch->node] || s->nodes[ch->node].cap_gpus < g)
            continue;
        for (int32_t i = 0; i < ch->nvict; i++) {
            size_t v = cs->rvict[ch->first + (size_t)i];
            if (p->rstamp[v] != gen) {
                p->rstamp[v] = gen;
                victims[nvict++] = v;
                *freed += p->run[v].sj->alloced_gpus;
            }
        }
    }
    return nvict;
}

/*
 * One node's share (g GPUs, c CPUs, m MB) with one victim, if any node
 * allows it: the set's members youngest first; on each node the first
 * member that covers the GPUs missing there (any member when none are
 * missing) is the one choose_on_node would take first, and the node needs
 * one victim exactly when that member also covers the missing CPUs and
 * memory. The first such node met ranks best (its one victim is the
 * youngest); among members started at the same second, the lowest node.
 * 1 with the victim, or 0 when every node needs two or more (the general
 * choice then ranks them). O(members looked at x their nodes).
 */
static int choose_one(acct_planner *p, const cset *cs, int32_t g, int32_t c, int64_t m,
                      size_t *victim)
{
    const sched *s = p->s;
    uint32_t gen = next_gen(p);
    int found = 0;
    int64_t bstart = 0;
    int32_t bnode = -1;
    for (size_t x = 0; x < cs->norder; x++) {
        size_t v = cs->order[x];
        if (p->gone[v])
            continue;
        const sched_job *j = p->run[v].sj;
        if (found && j->start != bstart)
            break;
        for (int32_t y = 0; y < j->nalloc; y++) {
            const sched_alloc *al = &j->alloc[y];
            int32_t node = al->node;
            if (p->nstamp[node] == gen)
                continue; /* decided by a younger member */
            const snode *nd = &s->nodes[node];
            if (nd->pool != cs->pool || nd->state != SCHED_NODE_UP) {
                p->nstamp[node] = gen;
                continue;
            }
            int32_t fg, fc;
            int64_t fm;
            node_free(s, node, &fg, &fc, &fm);
            int32_t gd = g - fg > 0 ? g - fg : 0, cd = c - fc > 0 ? c - fc : 0;
            int64_t md = m - fm > 0 ? m - fm : 0;
            if (gd == 0 && cd == 0 && md == 0) {
                p->nstamp[node] = gen; /* no victim needed there */
                continue;
            }
            if (gd > 0 && al->gpus < gd)
                continue; /* an older member may cover them */
            p->nstamp[node] = gen;
            if (al->cpus >= cd && al->mem_mb >= md && (!found || node < bnode)) {
                found = 1;
                bstart = j->start;
                bnode = node;
                *victim = v;
            }
        }
    }
    return found;
}

static size_t choose_general(acct_planner *p, const cset *cs, int32_t need, int32_t g,
                             int32_t c, int64_t m, int whole, size_t *victims, int64_t *freed)
{
    const sched *s = p->s;
    size_t na = 0;
    for (size_t x = 0; x < cs->nnodes; x++)
        for (int32_t i = cs->head[cs->nodes[x]]; i >= 0; i = cs->next[i])
            na++;
    size_t nbest = 0, npick = 0;
    nodechoice *best = xcalloc((size_t)need, sizeof *best);
    share *pick = xcalloc(na, sizeof *pick);
    share *buf = xcalloc(na, sizeof *buf);
    uint8_t *used = xcalloc(2 * (na + 1), 1);
    for (size_t x = 0; x < cs->nnodes; x++) { /* in node order */
        int32_t node = cs->nodes[x];
        const snode *nd = &s->nodes[node];
        if (nd->pool != cs->pool || nd->state != SCHED_NODE_UP)
            continue;
        int32_t freed_g;
        size_t n = live_shares(p, cs, node, buf, &freed_g);
        if (n == 0)
            continue;
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
            if (nv <= 0)
                continue;
        }
        int64_t oldest = INT64_MAX;
        for (int32_t i = 0; i < nv; i++)
            if (pick[npick + (size_t)i].start < oldest)
                oldest = pick[npick + (size_t)i].start;
        nodechoice ch = {node, nv, oldest, npick};
        /* a node kept among the best keeps its picks (later nodes' go after
         * them); else the next node's overwrite them */
        if (heap_push_bounded(best, &nbest, (size_t)need, &ch))
            npick += (size_t)nv;
    }
    size_t nvict = 0;
    if (nbest == (size_t)need) {
        /* the best in rank order; the union of their victims, each once */
        qsort(best, nbest, sizeof *best, choice_cmp);
        uint32_t gen = next_gen(p);
        for (size_t x = 0; x < nbest; x++)
            for (int32_t i = 0; i < best[x].nvict; i++) {
                size_t v = pick[best[x].first + (size_t)i].cand;
                if (p->rstamp[v] != gen) {
                    p->rstamp[v] = gen;
                    victims[nvict++] = v;
                    *freed += p->run[v].sj->alloced_gpus;
                }
            }
    }
    free(used);
    free(buf);
    free(pick);
    free(best);
    return nvict;
}

static uint64_t shape_hash(int32_t pool, int32_t g, int32_t c, int64_t m, int32_t whole)
{
    uint64_t h = (uint64_t)(uint32_t)pool * 0x9e3779b97f4a7c15ULL;
    h ^= (uint64_t)(uint32_t)g + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
    h ^= (uint64_t)(uint32_t)c + 0x8cb92ba72f3d8dd7ULL + (h << 6) + (h >> 2);
    h ^= (uint64_t)m + 0x94d049bb133111ebULL + (h << 6) + (h >> 2);
    h ^= (uint64_t)(uint32_t)whole + (h << 6) + (h >> 2);
    h ^= h >> 31;
    return h * 0xbf58476d1ce4e5b9ULL;
}

/* The shape's entry, added uncounted when new. O(1) expected. */
static pshape *get_shape(acct_planner *p, int32_t pool, int32_t g, int32_t c, int64_t m,
                         int32_t whole)
{
    if (2 * (p->nshapes + 1) > p->capshapes) {
        size_t ncap = p->capshapes ? 2 * p->capshapes : 64;
        pshape *n = xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < p->capshapes; i++) {
            const pshape *o = &p->shapes[i];
            if (!o->used)
                continue;
            size_t j = shape_hash(o->pool, o->g, o->c, o->m, o->whole) & (ncap - 1);
            while (n[j].used)
                j = (j + 1) & (ncap - 1);
            n[j] = *o;
        }
        free(p->shapes);
        p->shapes = n;
        p->capshapes = ncap;
    }
    size_t j = shape_hash(pool, g, c, m, whole) & (p->capshapes - 1);
    for (;; j = (j + 1) & (p->capshapes - 1)) {
        pshape *x = &p->shapes[j];
        if (!x->used) {
            *x = (pshape){pool, g, c, whole, m, 0, 0, 1};
            p->nshapes++;
            return x;
        }
        if (x->pool == pool && x->g == g && x->c == c && x->m == m && x->whole == whole)
            return x;
    }
}

/* The nodes that hold the shape with nobody leaving, counted until there
 * are k (or all nodes are): O(1) for whole nodes of a pool whose nodes all
 * have the GPUs asked of each (the pool's idle count), else resumed where
 * the last job of the shape stopped: O(N) per shape per round at most. */
static int32_t zero_count(acct_planner *p, pshape *sp, int32_t k)
{
    const sched *s = p->s;
    const spool *pl = &s->pools[sp->pool];
    if (sp->whole && pl->mingpn >= sp->g)
        return pl->idle_nodes; /* UP nodes with every GPU free */
    int32_t nn = s->nnodes;
    while (sp->zero < k && sp->zpos < nn) {
        int32_t n = sp->zpos++;
        const snode *nd = &s->nodes[n];
        if (nd->pool != sp->pool || nd->state != SCHED_NODE_UP)
            continue;
        int32_t fg, fc;
        int64_t fm;
        node_free(s, n, &fg, &fc, &fm);
        sp->zero += sp->whole ? fg == nd->cap_gpus && nd->cap_gpus >= sp->g
                              : fg >= sp->g && fc >= sp->c && fm >= sp->m;
    }
    return sp->zero;
}

/* The plan in one pool from the set cs (acct.h, steps 2 and 3). Returns the
 * number of victims; 0 with *fits_now set when k nodes hold the job with
 * nobody leaving. */
static size_t plan_in_set(acct_planner *p, size_t ci, const sched_job *sj, int pool,
                          size_t *victims, int64_t *freed, int *fits_now)
{
    int32_t k, g;
    int whole;
    *fits_now = 0;
    *freed = 0;
    if (sched_job_shape(p->s, sj, pool, &k, &g, &whole) != 0)
        return 0;
    int32_t c = whole ? 0 : g * sj->cpus_per_gpu;
    int64_t m = whole ? 0 : (int64_t)g * sj->mem_per_gpu_mb;
    pshape *sp = get_shape(p, pool, g, c, m, whole);
    int32_t zero = zero_count(p, sp, k);
    if (zero >= k) {
        *fits_now = 1;
        return 0;
    }
    cset *cs = &p->sets[ci];
    if (whole)
        return choose_whole(p, cs, k - zero, g, victims, freed);
    if (k == 1 && choose_one(p, cs, g, c, m, victims)) {
        *freed = p->run[victims[0]].sj->alloced_gpus;
        return 1;
    }
    return choose_general(p, cs, k - zero, g, c, m, 0, victims, freed);
}

/* See acct.h: per allowed pool, who may go (guarantee, else QOS rights),
 * then the placement choice. */
size_t acct_planner_plan(acct_planner *p, const acct_job *job, const sched_job *sjob,
                         size_t *victims, acct_preempt_plan *plan)
{
    const acct_center *a = p->a;
    memset(plan, 0, sizeof *plan);
    plan->pool = -1;
    int np = sched_pool_count(p->s);
    int qos = acct_job_qos(a, job);
    int qos_rights = qos >= 0 && a->qos[qos].preempt != 0;
    if (a->nguarantees == 0 && !qos_rights)
        return 0;
    size_t n = 0;
    for (int pool = 0; pool < np && n == 0; pool++) {
        if (sjob->pools != 0 && !(sjob->pools >> pool & 1))
            continue;
        int32_t k, g;
        int whole;
        if (sched_job_shape(p->s, sjob, pool, &k, &g, &whole) != 0)
            continue;
        int64_t need = whole ? (int64_t)k * g : g; /* whole nodes count whole */
        int32_t h = acct_guarantee_holder(a, job->project, pool);
        int why = ACCT_PREEMPT_NONE;
        if (h != ACCT_NONE) {
            /* covered: H's claims, its running GPUs in P and the job's stay
             * within G_H (the claims first: when they alone leave no room,
             * the running jobs need no look) */
            int64_t gh = acct_guarantee_of(a, h, pool);
            int64_t held = acct_imap_get(&p->claimed, guarantee_key(h, pool), 0);
            if (held + need <= gh)
                held += held_of(p, h, pool);
            if (held + need <= gh)
                why = ACCT_PREEMPT_GUARANTEE;
        }
        if (why == ACCT_PREEMPT_NONE && qos_rights)
            why = ACCT_PREEMPT_QOS;
        if (why == ACCT_PREEMPT_NONE)
            continue;
        size_t ci = get_set(p, pool, why == ACCT_PREEMPT_GUARANTEE ? -1 : qos);
        if (p->sets[ci].live == 0)
            continue;
        int64_t freed = 0;
        int fits_now = 0;
        n = plan_in_set(p, ci, sjob, pool, victims, &freed, &fits_now);
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
    return n;
}

void acct_planner_take(acct_planner *p, const acct_preempt_plan *plan, const size_t *victims)
{
    for (size_t x = 0; x < plan->nvictims; x++) {
        size_t v = victims[x];
        if (v >= p->nrun || p->gone[v])
            continue;
        p->gone[v] = 1;
        const sched_job *j = p->run[v].sj;
        for (int32_t y = 0; y < j->nalloc; y++)
            p->lost[j->alloc[y].node] = 1;
        for (size_t i = 0; i < p->nsets; i++)
            p->sets[i].live -= p->sets[i].member[v];
    }
    if (plan->why == ACCT_PREEMPT_GUARANTEE)
        acct_planner_claim(p, &(acct_claim){plan->holder, plan->pool, plan->gpus});
}

/* One job alone: a planner for it. */
size_t acct_preempt_plan_job(const acct_center *a, const sched *s, const acct_job *job,
                             const sched_job *sjob, const acct_running *run, size_t nrun,
                             const acct_claim *claims, size_t nclaims, size_t *victims,
                             acct_preempt_plan *plan)
{
    acct_planner *p = acct_planner_new(a, s, run, nrun);
    for (size_t i = 0; i < nclaims; i++)
        acct_planner_claim(p, &claims[i]);
    size_t n = acct_planner_plan(p, job, sjob, victims, plan);
    acct_planner_free(p);
    return n;
}
