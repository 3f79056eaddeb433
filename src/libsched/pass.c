/*
 * pass.c: the scheduling pass, with its placement and reservations.
 *
 * One pass visits the pending queue in priority order and, per policy:
 *   fcfs          starts jobs while they fit; stops at the first that does not.
 *   easy          as fcfs, then the first job that does not fit gets a
 *                 reservation (concrete nodes from its "shadow time"), and
 *                 every later job may start now only if it does not touch the
 *                 reservation: it ends before the shadow time, or it uses
 *                 capacity the reservation leaves over ("extra").
 *   conservative  every job, in order, up to the depth, gets the earliest
 *                 reservation that delays no earlier reservation; a job whose
 *                 earliest time is now starts now.
 * EASY is conservative with a depth of one: one mechanism, two settings.
 *
 * Reservations are computed afresh in every pass and live only inside it
 * (EASY keeps its one across passes in which only arrivals happened). They
 * hold concrete nodes, so a backfilled job can never delay one; in a span
 * pool (one-GPU nodes, no topology, all alike: span.c), where any free node
 * is as good as another, the first reservation holds a count of free nodes
 * instead, and placement there is a count too (span_fits_now).
 *
 * Time windows are half-open, [start, start + time_limit); a reservation of
 * a zero-length job still holds its instant (it is widened to one second).
 * A running job is planned to end at its expected end, job_expected_end():
 * start + time_limit, or earlier when the caller said it ends by then
 * (sched_job_end_by: a preemption victim in its grace period).
 */
#include "sched_internal.h"

#include <stdlib.h>
#include <string.h>

/* What a job needs in one pool: k nodes, each with g GPUs, c CPUs and m MB;
 * whole = the nodes are taken whole (multi-node gangs). */
typedef struct req {
    int32_t k, g, c;
    int64_t m;
    int whole;
} req;

/* The paths that run only under operators' reservations stay out of line
 * (and out of the hot text), so that the loops of a pass without any keep
 * their registers and their size: the walk and span placement are per
 * event in the simulator. */
#if defined(__GNUC__)
#define RESV_PATH __attribute__((noinline, cold))
#else
#define RESV_PATH
#endif

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (!q)
        abort();
    *cap = n;
    return q;
}

/*
 * The shape of a job in a pool. A request of `nodes` > 1 is a gang of whole
 * nodes; `nodes` = 1 is one node with gpus_per_node GPUs (0 = all). A total
 * GPU count that fits one node is a single-node job; a larger one is a gang
 * of ceil(gpus / gpus-per-node) whole nodes. With one-GPU nodes (the classic
 * model) a job of size s is s whole nodes. Returns -1 if the job can never
 * fit the pool. O(1).
 */
static inline int job_shape(const sched *s, const sched_job *j, int pool,
                            int32_t *k, int32_t *g, int *whole)
{
    const spool *p = &s->pools[pool];
    int32_t gpn = p->maxgpn;
    if (p->nnodes == 0 || gpn <= 0)
        return -1;
    if (j->nodes > 0) {
        *k = j->nodes;
        *whole = j->nodes > 1;
        *g = (j->nodes == 1 && j->gpus_per_node > 0) ? j->gpus_per_node : gpn;
        if (*g > gpn)
            return -1;
    } else if (j->gpus <= gpn) {
        *k = 1;
        *g = j->gpus;
        *whole = 0;
    } else {
        *k = (int32_t)(((int64_t)j->gpus + gpn - 1) / gpn);
        *g = gpn;
        *whole = 1;
    }
    if (*k > p->nnodes)
        return -1;
    if (!*whole && ((int64_t)*g * j->cpus_per_gpu > p->maxcpus ||
                    (int64_t)*g * j->mem_per_gpu_mb > p->maxmem))
        return -1;
    return 0;
}

int sched_job_shape(const sched *s, const sched_job *j, int pool,
                    int32_t *k, int32_t *g, int *whole)
{
    return job_shape(s, j, pool, k, g, whole);
}

/* Could job j pass place_now's first test (enough idle nodes or free GPUs)
 * in some pool, with `free` GPUs free in all pools together? Not if
 * j->qneed, a lower bound of what it needs in any pool (job_need_bound,
 * set at submit), exceeds `free`: a pool's idle nodes and free GPUs never
 * exceed its free GPUs. The pass then skips the job without a look at the
 * pools. O(1), and the bound sits on the cache line of the queue link. */
static inline int job_may_fit(const sched_job *j, int64_t free)
{
    return j->qneed <= free;
}

static int job_req(const sched *s, const sched_job *j, int pool, req *r)
{
    if (job_shape(s, j, pool, &r->k, &r->g, &r->whole) != 0)
        return -1;
    r->c = r->g * j->cpus_per_gpu;
    r->m = (int64_t)r->g * j->mem_per_gpu_mb;
    return 0;
}

static int pool_allowed(const sched_job *j, int pool)
{
    return j->pools == 0 || (j->pools >> pool & 1);
}

/* ---- availability of one node over a window ----------------------------
 * usage(p) = the running jobs on the node still running at p (expected end,
 * job_expected_end, > p) plus the reservations covering p. The capacity a
 * job can use over [a, b) is capacity minus the largest usage at the
 * window's start and at every reservation start inside it (usage only rises
 * at reservation starts). At a = now the start is the node's actual free
 * capacity, which also covers jobs that will end at this same instant.
 * An operator's reservation (op >= 0, resv.c) counts only if it binds job j
 * (maintenance: always; project: j is not of it), and holds its start even
 * against a zero-length job (the window [a, a + 1)).
 * O(running jobs on the node x reservations on it): both are small. */
static inline int entry_counts(const sched *s, const sresv *v, const sched_job *j)
{
    return v->op < 0 || (!s->op_ignore && resv_binds(s, v->op, j));
}

typedef struct avail {
    int32_t g, c;
    int64_t m;
} avail;

static void usage_at(const sched *s, const sched_job *j, const snode *n, int64_t p, avail *u)
{
    u->g = u->c = 0;
    u->m = 0;
    for (int32_t i = 0; i < n->nrun; i++) {
        const srun *r = &n->run[i];
        if (job_expected_end(r->job) > p) {
            u->g += r->gpus;
            u->c += r->cpus;
            u->m += r->mem;
        }
    }
    for (int32_t ri = n->res_head; ri >= 0; ri = s->rv[ri].next) {
        const sresv *v = &s->rv[ri];
        if (v->start <= p && p < v->end && entry_counts(s, v, j)) {
            u->g += v->gpus;
            u->c += v->cpus;
            u->m += v->mem;
        }
    }
}

static void max_into(avail *acc, const avail *u)
{
    if (u->g > acc->g)
        acc->g = u->g;
    if (u->c > acc->c)
        acc->c = u->c;
    if (u->m > acc->m)
        acc->m = u->m;
}

static avail node_avail(const sched *s, const sched_job *j, const snode *n, int64_t now,
                        int64_t a, int64_t b)
{
    avail mx, u;
    if (a == now) {
        mx.g = n->cap_gpus - n->free_gpus;
        mx.c = n->cap_cpus - n->free_cpus;
        mx.m = n->cap_mem - n->free_mem;
    } else {
        usage_at(s, j, n, a, &mx);
    }
    for (int32_t ri = n->res_head; ri >= 0; ri = s->rv[ri].next) {
        const sresv *v = &s->rv[ri];
        int64_t st = v->start;
        if (st >= a && (st < b || (v->op >= 0 && st == a)) && entry_counts(s, v, j)) {
            usage_at(s, j, n, st, &u);
            max_into(&mx, &u);
        }
    }
    return (avail){n->cap_gpus - mx.g, n->cap_cpus - mx.c, n->cap_mem - mx.m};
}

static int fits_single(const avail *v, const req *r)
{
    return v->g >= r->g && v->c >= r->c && v->m >= r->m;
}

static int fits_whole(const avail *v, const snode *n)
{
    return v->g == n->cap_gpus && v->c == n->cap_cpus && v->m == n->cap_mem;
}

/* ---- candidates and gang choice ----------------------------------------
 * A placement collects candidate nodes (s->cand, with a preference flag)
 * and, for gangs, may also draw on the idle lists of the index. */
static void cand_reset(sched *s) { s->ncand = 0; }

static void cand_add(sched *s, int32_t n, int32_t g, int8_t pref)
{
    s->cand[s->ncand] = n;
    s->cand_gpus[s->ncand] = g;
    s->cand_pref[s->ncand] = pref;
    s->ncand++;
}

/* Best fit for a single-node job among the candidates: the node left with
 * the fewest free GPUs, then the preferred one, then the lowest index.
 * Leaves whole nodes free for gangs. O(candidates). */
static int32_t best_fit_cand(const sched *s)
{
    int32_t best = -1;
    for (int32_t i = 0; i < s->ncand; i++) {
        if (best < 0 || s->cand_gpus[i] < s->cand_gpus[best] ||
            (s->cand_gpus[i] == s->cand_gpus[best] &&
             (s->cand_pref[i] > s->cand_pref[best] ||
              (s->cand_pref[i] == s->cand_pref[best] && s->cand[i] < s->cand[best]))))
            best = i;
    }
    return best < 0 ? -1 : s->cand[best];
}

static int cell_cmp_desc(const void *a, const void *b, void *arg);

/*
 * Gang choice over cells (the part of a block in one pool): cell->count
 * holds how many whole nodes each cell offers. The rule, in order:
 *   1. one block if any can hold the gang: the one with the fewest free
 *      nodes that suffices (best fit keeps big blocks whole);
 *   2. else one spine if any can: the spine with the fewest that suffices,
 *      then its blocks from the fullest down (fewest blocks);
 *   3. else blocks from the fullest down across the pool.
 * Writes the chosen cells and quotas into s->order / s->pick (pairs) and
 * returns their number, or 0 if the pool has fewer than k whole nodes.
 * O(C log C) for the C cells of the pool.
 */
static int32_t choose_cells(sched *s, int pool, int32_t k, int32_t *quota)
{
    spool *p = &s->pools[pool];
    int64_t total = 0;
    int32_t best = -1;
    for (int32_t i = 0; i < p->ncells; i++) {
        scell *c = &s->cells[p->cells[i]];
        total += c->count;
        if (c->block >= 0 && c->count >= k && (best < 0 || c->count < s->cells[best].count))
            best = p->cells[i];
    }
    if (total < k)
        return 0;
    if (best >= 0) {
        s->order[0] = best;
        quota[0] = k;
        return 1;
    }
    for (int32_t sp = 0; sp <= s->nspines; sp++)
        s->spine_count[sp] = 0;
    for (int32_t i = 0; i < p->ncells; i++) {
        scell *c = &s->cells[p->cells[i]];
        if (c->spine >= 0)
            s->spine_count[c->spine] += c->count;
    }
    int32_t bspine = -1;
    for (int32_t sp = 0; sp < s->nspines; sp++)
        if (s->spine_count[sp] >= k && (bspine < 0 || s->spine_count[sp] < s->spine_count[bspine]))
            bspine = sp;
    int32_t n = 0;
    for (int32_t i = 0; i < p->ncells; i++) {
        scell *c = &s->cells[p->cells[i]];
        if (c->count > 0 && (bspine < 0 || c->spine == bspine))
            s->order[n++] = p->cells[i];
    }
    qsort_r(s->order, (size_t)n, sizeof *s->order, cell_cmp_desc, s);
    int32_t left = k, m = 0;
    for (int32_t i = 0; i < n && left > 0; i++) {
        int32_t take = s->cells[s->order[i]].count < left ? s->cells[s->order[i]].count : left;
        s->order[m] = s->order[i];
        quota[m++] = take;
        left -= take;
    }
    return m;
}

static int cell_cmp_desc(const void *a, const void *b, void *arg)
{
    const sched *s = arg;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (s->cells[x].count != s->cells[y].count)
        return s->cells[x].count > s->cells[y].count ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Take the quota of each chosen cell: preferred candidates first, then the
 * others, then (if use_idle) idle nodes from the index. Fills s->pick.
 * O(candidates x chosen cells + nodes taken). */
static void take_from_cells(sched *s, int32_t ncells, const int32_t *quota, int use_idle,
                            int pick_walked)
{
    s->npick = 0;
    for (int32_t ci = 0; ci < ncells; ci++) {
        int32_t cell = s->order[ci], left = quota[ci];
        for (int pref = 1; pref >= 0 && left > 0; pref--)
            for (int32_t i = 0; i < s->ncand && left > 0; i++)
                if (s->cand_pref[i] == pref && s->nodes[s->cand[i]].cell == cell) {
                    s->pick[s->npick++] = s->cand[i];
                    left--;
                }
        /* whole nodes of jobs the reservation walk released (busy now):
         * taken after the candidates; listed only if pick_walked, since a
         * node busy now needs no hold while only the first reservation
         * exists (nothing can be placed on it now) */
        for (size_t w = 0; w < s->nwalked && left > 0; w++) {
            const sched_job *rj = s->walked[w];
            if (rj->wholecell != cell + 1)
                continue;
            int32_t take = rj->nalloc < left ? rj->nalloc : left;
            for (int32_t i = 0; i < take && pick_walked; i++)
                s->pick[s->npick++] = rj->alloc[i].node;
            left -= take;
        }
        for (int32_t n = use_idle ? s->cells[cell].idle_head : -1; n >= 0 && left > 0;
             n = s->nodes[n].inext) {
            s->pick[s->npick++] = n;
            left--;
        }
    }
}

static void cells_reset(sched *s, int pool, int with_idle)
{
    spool *p = &s->pools[pool];
    for (int32_t i = 0; i < p->ncells; i++) {
        scell *c = &s->cells[p->cells[i]];
        c->count = with_idle ? c->idle_count : 0;
    }
}

/* The first reservation in pool touches a job's window [now, b) when the
 * window runs past its start (as a held node's check in node_avail). */
static inline int srs_touches(const sched *s, int pool, int64_t now, int64_t b)
{
    return s->srs_pool == pool &&
           (s->held_whole_from < b || (now <= s->srs_T && s->srs_T < b));
}

/* span_fits_now under operators' reservations: span_resv_fit (span.c). */
RESV_PATH static int span_fits_resv(sched *s, int pool, const sched_job *j, const req *r,
                                    int64_t now, int64_t b)
{
    s->span_from_held = 0;
    return span_resv_fit(s, pool, j, r->whole ? r->k : 1, now, b, srs_touches(s, pool, now, b));
}

/* ---- placement now in a span pool --------------------------------------
 * One-GPU nodes, no topology, all alike (span.c): any free UP node serves,
 * so placement is a count. The first reservation, if it is in this pool,
 * holds srs_held of the free nodes (the rest of its nodes are busy now and
 * end by its start). A job may use those held nodes only if its window
 * [now, b) ends by the reservation's start T, exactly as a held node's
 * check in place_now (node_avail) decides in other pools; it then takes
 * them first, as place_now prefers held nodes. So the job fits iff
 *     k <= (free - held) + (b <= T ? held : 0),
 * and in the classic model that is the textbook EASY rule: free - held =
 * min(free, extra). Sets s->span_from_held, and s->npick = -1: the start
 * takes the lowest free nodes. O(1).
 * While operators' reservations cover nodes of the pool (span_ops), free
 * nodes are no longer alike: the first reservation holds named nodes (see
 * reserve_walk) and span_resv_fit weighs the reserved and held ones one by
 * one, picking the nodes into s->pick. O(reserved nodes + held). */
static int span_fits_now(sched *s, int pool, const sched_job *j, const req *r, int64_t now,
                         int64_t b)
{
    const spool *p = &s->pools[pool];
    if (s->span_ops >> pool & 1)
        return span_fits_resv(s, pool, j, r, now, b);
    int64_t k = r->whole ? r->k : 1, held = 0, usable = 0;
    if (s->srs_pool == pool) {
        /* a start outside the pass (sched_restore_running) may have taken
         * free nodes since: never hold more than are free */
        held = s->srs_held < p->idle_nodes ? s->srs_held : p->idle_nodes;
        usable = srs_touches(s, pool, now, b) ? 0 : held;
    }
    if (p->idle_nodes - held + usable < k)
        return 0;
    s->span_from_held = (int32_t)(k < usable ? k : usable);
    s->npick = -1; /* start_on_pick takes the nodes from the bitmap */
    return 1;
}

/* ---- placement now -----------------------------------------------------
 * Where can job j start now and run for its time limit (window [now, b))
 * without touching a reservation? Unreserved nodes come from the index
 * (their capacity is their free capacity); reserved nodes (s->held) are
 * checked one by one and preferred on ties, so that short jobs fill the
 * holes in front of reservations and leave unreserved capacity to long
 * ones. Returns the pool and fills s->pick, or -1.
 * Cost: O(1) rejection on pool totals; else O(gpus per node + held) for a
 * single node, O(cells + held + k) for a gang. */
static int place_now(sched *s, const sched_job *j, uint64_t pools, int64_t now, int64_t b,
                     req *out)
{
    for (int pool = 0; pool < s->npools; pool++) {
        req r;
        if (!(pools >> pool & 1) || !pool_allowed(j, pool) || job_req(s, j, pool, &r) != 0)
            continue;
        spool *p = &s->pools[pool];
        if (r.whole ? p->idle_nodes < r.k : p->free_gpus < r.g)
            continue;
        if (p->span) {
            if (!span_fits_now(s, pool, j, &r, now, b))
                continue;
            *out = r;
            return pool;
        }
        cand_reset(s);
        /* With only the first reservation, and that one on whole nodes, a
         * job running past its start can use none of its nodes: skip them. */
        int32_t nheld = s->held_whole_from < b ? 0 : s->nheld;
        if (!r.whole) {
            int32_t bestg = INT32_MAX;
            for (int32_t h = 0; h < nheld; h++) {
                snode *n = &s->nodes[s->held[h]];
                if (n->pool != pool)
                    continue;
                avail v = node_avail(s, j, n, now, now, b);
                if (fits_single(&v, &r)) {
                    cand_add(s, s->held[h], v.g, 1);
                    if (v.g < bestg)
                        bestg = v.g;
                    if (v.g == r.g)
                        break; /* an exact fit on a preferred node: nothing beats it */
                }
            }
            for (int32_t bk = r.g; bk <= p->maxgpn && bk < bestg; bk++) {
                /* a scan of this bucket already found no node with these
                 * CPUs and memory free, and no node has entered it since
                 * (idx_insert forgets): a request as large fails too, O(1) */
                if (r.c >= p->fail_c[bk] && r.m >= p->fail_m[bk])
                    continue;
                int32_t found = -1;
                if (p->unit) { /* one-GPU nodes: the idle lists are the index */
                    for (int32_t ci = 0; ci < p->ncells && found < 0; ci++)
                        for (int32_t n = s->cells[p->cells[ci]].idle_head; n >= 0 && found < 0;
                             n = s->nodes[n].inext)
                            if (s->nodes[n].free_cpus >= r.c && s->nodes[n].free_mem >= r.m)
                                found = n;
                } else {
                    for (int32_t n = p->bucket[bk]; n >= 0 && found < 0; n = s->nodes[n].bnext)
                        if (s->nodes[n].free_cpus >= r.c && s->nodes[n].free_mem >= r.m)
                            found = n;
                }
                if (found >= 0) {
                    cand_add(s, found, bk, 0);
                    break;
                }
                p->fail_c[bk] = r.c;
                p->fail_m[bk] = r.m;
            }
            int32_t n = best_fit_cand(s);
            if (n < 0)
                continue;
            s->pick[0] = n;
            s->npick = 1;
            *out = r;
            return pool;
        }
        cells_reset(s, pool, 1);
        for (int32_t h = 0; h < nheld; h++) {
            snode *n = &s->nodes[s->held[h]];
            if (n->pool != pool)
                continue;
            avail v = node_avail(s, j, n, now, now, b);
            if (fits_whole(&v, n)) {
                cand_add(s, s->held[h], v.g, 1);
                s->cells[n->cell].count++;
            }
        }
        int32_t nc = choose_cells(s, pool, r.k, s->quota);
        if (nc == 0)
            continue;
        take_from_cells(s, nc, s->quota, 1, 1);
        *out = r;
        return pool;
    }
    return -1;
}

/* Is node n whole over [a, b) when it holds no reservation (res_head < 0)?
 * Then node_avail is the usage at a alone: the node is whole iff no running
 * job on it still holds something at a (expected end > a). The same answer
 * as fits_whole(node_avail(...)), without the job, the reservation checks
 * or the per-field sums: it stops at the first job running past a. This is
 * place_at's inner loop over every node of the pool, and its cost is the
 * cache miss on each running job's expected end; the fewer instructions
 * per node, the more of those misses the CPU overlaps (the general
 * node_avail there, once operators' reservations made it call usage_at
 * out of line with the job, cost about 60% more instructions per node and
 * made the conservative national pass ~50% slower). O(jobs on the node). */
static inline int node_whole_from(const snode *n, int64_t a)
{
    for (int32_t i = 0; i < n->nrun; i++) {
        const srun *r = &n->run[i];
        if (job_expected_end(r->job) > a && (r->gpus | r->cpus | r->mem) != 0)
            return 0;
    }
    return 1;
}

/* ---- placement at a later time (conservative backfill of gangs) ---------
 * Every UP node of one pool is weighed over [a, b), around the
 * running jobs and the concrete reservations. Nodes already busy before a
 * (or holding reservations) are preferred, so idle nodes stay free for
 * jobs that can start sooner. O(N x (running + reservations per node)):
 * a node without reservations costs its running jobs only (node_whole_from). */
static int place_at(sched *s, const sched_job *j, int pool, int64_t a, int64_t b, req *out)
{
    req r;
    if (job_req(s, j, pool, &r) != 0 || !r.whole)
        return -1;
    cand_reset(s);
    cells_reset(s, pool, 0);
    for (int32_t i = 0; i < s->nnodes; i++) {
        snode *n = &s->nodes[i];
        if (n->pool != pool || n->state != SCHED_NODE_UP)
            continue;
        if (n->res_head < 0) {
            if (node_whole_from(n, a)) {
                cand_add(s, i, n->cap_gpus, n->free_gpus < n->cap_gpus);
                s->cells[n->cell].count++;
            }
            continue;
        }
        /* INT64_MIN as "now": capacity at a counts what runs past a, even
         * when a is this very instant (after its ends) */
        avail v = node_avail(s, j, n, INT64_MIN, a, b);
        if (fits_whole(&v, n)) {
            cand_add(s, i, v.g, 1);
            s->cells[n->cell].count++;
        }
    }
    int32_t nc = choose_cells(s, pool, r.k, s->quota);
    if (nc == 0)
        return -1;
    take_from_cells(s, nc, s->quota, 0, 1);
    *out = r;
    return pool;
}

/* ---- reservations ------------------------------------------------------ */

static void prof_sub(sched *s, int pool, int64_t a, int64_t b, int64_t g);

/* Record a reservation of job j on the picked nodes from T. A reserved node
 * with free GPUs leaves the index for the rest of the pass (s->held): from
 * now on only place_now's careful check may use it. */
static void reserve(sched *s, sched_job *j, const req *r, int64_t T)
{
    int64_t end = T + (j->time_limit > 0 ? j->time_limit : 1);
    s->rv = grow(s->rv, &s->caprv, s->nrv + (size_t)s->npick, sizeof *s->rv);
    for (int32_t i = 0; i < s->npick; i++) {
        int32_t n = s->pick[i];
        snode *nd = &s->nodes[n];
        if (nd->res_head < 0)
            s->rnodes[s->nrnodes++] = n;
        if (!nd->held && nd->free_gpus > 0 && nd->state == SCHED_NODE_UP) {
            idx_remove(s, n);
            nd->held = 1;
            s->held[s->nheld++] = n;
        }
        sresv *v = &s->rv[s->nrv];
        v->node = n;
        v->start = T;
        v->end = end;
        v->gpus = r->whole ? nd->cap_gpus : r->g;
        v->cpus = r->whole ? nd->cap_cpus : r->c;
        v->mem = r->whole ? nd->cap_mem : r->m;
        v->op = -1;
        v->next = nd->res_head;
        nd->res_head = (int32_t)s->nrv++;
        prof_sub(s, nd->pool, T, end, v->gpus);
    }
    j->est_start = T;
}

/*
 * The first reservation of a pass: the shadow time of job j.
 * With no other reservation, capacity only grows with time, so the
 * earliest start is found by walking the running jobs in order of expected
 * end (start + time limit, or the earlier end_by a preemption set),
 * releasing their nodes, and stopping at the first end time E after which
 * the job fits: the shadow time. Jobs ending at the same E are released
 * together; a job still running past its expected end (killed, not yet
 * gone) counts as ending now, so that the shadow time is never in the past
 * (a reservation starting before now would hold nothing against backfill).
 * The job then reserves nodes free by E, preferring those busy now, so that
 * nodes idle now stay usable for backfill ("extra" capacity).
 * O(log R + nodes of the jobs visited).
 *
 * In a span pool (span.c) a job counts as the UP nodes it holds, O(1) per
 * job visited (O(runs + k/64) while some node of the pool is not UP), and
 * the reservation is a count: it takes the S nodes of the jobs released by
 * E first and holds max(0, k - S) free ones (srs_held), as the node-by-node
 * choice above would. O(log R + jobs visited).
 *
 * Operators' reservations (resv.c) make capacity fall as well as grow: a
 * node freed by E may be under maintenance from before E + time limit. The
 * walk then leaves the reserved nodes out of its counts and, at each time
 * it checks, weighs each of them over [E, E + time limit) (node_avail, the
 * reservations that bind the job only); it also checks at the ends of the
 * reservations, when their nodes come back. The fast path of whole-cell
 * jobs is off then (it counts nodes without looking at them).
 * O(log R + nodes of the jobs visited + M x (times checked)) for the M
 * reserved nodes.
 *
 * A span pool that reservations cover (span_ops) is counted the same way:
 * a job visited releases its unreserved UP nodes as a count and marks its
 * reserved ones, and each check adds the reserved nodes free by then that
 * no reservation binding the job holds over the window (walk_span_op_usable).
 * The reservation then holds named free nodes, chosen as the per-node path
 * chooses them (walk_span_hold). O(nodes of the span jobs visited + M x
 * (times checked)).
 */
typedef struct walk {
    sched *s;
    const sched_job *j;
    req r[SCHED_MAX_POOLS];
    int ok[SCHED_MAX_POOLS];
    int32_t whole_by[SCHED_MAX_POOLS];  /* span pools: UP nodes free by cur */
    int single_fit[SCHED_MAX_POOLS];
    int32_t span_k[SCHED_MAX_POOLS];    /* span pools: nodes wanted, else 0 */
    int32_t span_minrel[SCHED_MAX_POOLS]; /* span_ops pools: lowest unreserved node released */
    int32_t span_freeres[SCHED_MAX_POOLS]; /* span_ops pools: reserved nodes free now */
    int64_t cur, now;
    int have;
    int pool;
    int ops;         /* operators' reservations applied: weigh their nodes */
    int32_t opi;     /* next of s->opends to check at */
    int64_t len;     /* the job's window length */
} walk;

/* An operator-reserved node (s->opnodes) usable by the walk's job over
 * [cur, cur + len) in pool p? O(running jobs x reservations on it). */
static int walk_op_fits(walk *w, const snode *n, int p, avail *v)
{
    if (n->pool != p || n->state != SCHED_NODE_UP)
        return 0;
    *v = node_avail(w->s, w->j, n, INT64_MIN, w->cur, w->cur + w->len);
    return w->r[p].whole ? fits_whole(v, n) : fits_single(v, &w->r[p]);
}

/* Reserved nodes of span pool p (span_ops) usable by the walk's job over
 * [cur, cur + len): UP, free now or released by cur, and held there by no
 * reservation binding the job. Counts up to need. O(M). */
static int32_t walk_span_op_usable(walk *w, int p, int32_t need)
{
    sched *s = w->s;
    resv_span_block(s, p, w->j, w->cur, w->cur + w->len);
    int32_t more = 0;
    for (int32_t i = 0; i < s->nopnodes && more < need; i++) {
        int32_t n = s->opnodes[i];
        const snode *nd = &s->nodes[n];
        more += nd->pool == p && nd->state == SCHED_NODE_UP &&
                (nd->touched || span_node_free(s, n)) && !resv_span_blocked(s, n);
    }
    return more;
}

/* Does the walk's job fit pool p at cur once the nodes operators reserved
 * are weighed too (walk_check found too few without them)? O(M). */
RESV_PATH static int walk_check_ops(walk *w, int p)
{
    if (w->span_k[p])
        return (w->s->span_ops >> p & 1) &&
               w->whole_by[p] + walk_span_op_usable(w, p, w->span_k[p] - w->whole_by[p]) >=
                   w->span_k[p];
    int32_t more = 0, need = w->r[p].whole ? w->r[p].k - w->whole_by[p] : 1;
    for (int32_t i = 0; i < w->s->nopnodes && more < need; i++) {
        avail v;
        more += walk_op_fits(w, &w->s->nodes[w->s->opnodes[i]], p, &v);
    }
    return more >= need;
}

static int walk_check(walk *w)
{
    for (int p = 0; p < w->s->npools; p++) {
        if (!w->ok[p])
            continue;
        if (w->span_k[p] ? w->whole_by[p] >= w->span_k[p]
                         : w->r[p].whole ? w->whole_by[p] >= w->r[p].k : w->single_fit[p])
            return p;
        if (w->ops && walk_check_ops(w, p)) /* the reserved nodes, weighed at cur */
            return p;
    }
    return -1;
}

/* The ends of operators' reservations before e (and after what was checked
 * last): their nodes come back then, so the job may fit there. */
static int walk_op_ends(walk *w, int64_t e, int64_t now)
{
    const sched *s = w->s;
    for (; w->opi < s->nopends && s->opends[w->opi] < e; w->opi++) {
        int64_t t = s->opends[w->opi];
        if (t <= now || (w->have && t <= w->cur))
            continue;
        w->cur = t;
        w->have = 1;
        int p = walk_check(w);
        if (p >= 0) {
            w->pool = p;
            w->opi++;
            return 1;
        }
    }
    return 0;
}

/* A job of a span pool that reservations cover (span_ops) ends by cur: its
 * unreserved UP nodes count, its reserved ones are marked (weighed at each
 * check, walk_span_op_usable). O(k). */
RESV_PATH static void walk_span_release(walk *w, const sched_job *rj)
{
    sched *s = w->s;
    int32_t p = rj->pool;
    for (int32_t i = 0; w->ok[p] && i < rj->nalloc; i++) {
        int32_t a = rj->alloc[i].node;
        snode *n = &s->nodes[a];
        if (n->state != SCHED_NODE_UP)
            continue;
        if (!n->opres) {
            w->whole_by[p]++;
            if (a < w->span_minrel[p])
                w->span_minrel[p] = a;
        } else if (!n->touched) {
            n->touched = 1;
            s->touch[s->ntouch++] = a;
        }
    }
}

static int walk_visit(sched_job *rj, void *arg)
{
    walk *w = arg;
    sched *s = w->s;
    int64_t e = job_expected_end(rj);
    if (e < w->now)
        e = w->now; /* overdue: it ends now at the earliest */
    if (w->have && e != w->cur) {
        int p = walk_check(w);
        if (p >= 0) {
            w->pool = p;
            return 1;
        }
    }
    if (w->ops && walk_op_ends(w, e, w->now))
        return 1;
    w->cur = e;
    w->have = 1;
    int32_t pool0 = rj->pool;
    if (s->pools[pool0].span) { /* a count: O(1) while the pool is all UP */
        if (w->ops && (s->span_ops >> pool0 & 1))
            walk_span_release(w, rj);
        else if (w->ok[pool0])
            w->whole_by[pool0] += (int32_t)span_job_up(s, rj);
        return 0;
    }
    /* fast path: whole nodes of one cell, all UP, wanted whole: count them */
    if (rj->wholecell && w->ok[pool0] && w->r[pool0].whole && s->pools[pool0].nonup == 0 &&
        !w->ops) {
        s->walked = grow(s->walked, &s->capwalked, s->nwalked + 1, sizeof *s->walked);
        s->walked[s->nwalked++] = rj;
        w->whole_by[pool0] += rj->nalloc;
        s->cells[rj->wholecell - 1].count += rj->nalloc;
        return 0;
    }
    for (int32_t i = 0; i < rj->nalloc; i++) {
        const sched_alloc *a = &rj->alloc[i];
        snode *n = &s->nodes[a->node];
        if (!n->touched) {
            n->touched = 1;
            n->rel_gpus = n->rel_cpus = 0;
            n->rel_mem = 0;
            s->touch[s->ntouch++] = a->node;
        }
        n->rel_gpus += a->gpus;
        n->rel_cpus += a->cpus;
        n->rel_mem += a->mem_mb;
        if (n->state != SCHED_NODE_UP || !w->ok[n->pool] || n->opres)
            continue; /* reserved by an operator: weighed at each check (walk_check) */
        const req *r = &w->r[n->pool];
        if (r->whole) {
            if (n->free_gpus + n->rel_gpus == n->cap_gpus) {
                w->whole_by[n->pool]++;
                s->cells[n->cell].count++;
            }
        } else if (n->free_gpus + n->rel_gpus >= r->g && n->free_cpus + n->rel_cpus >= r->c &&
                   n->free_mem + n->rel_mem >= r->m) {
            w->single_fit[n->pool] = 1;
        }
    }
    return 0;
}

/* Hold one free node of span pool p (span_ops) for the first reservation:
 * out of backfill that runs past its start (span_fits_now), as reserve()
 * holds nodes with free GPUs in other pools. */
static void span_hold(sched *s, int32_t n)
{
    s->nodes[n].held = 1;
    s->held[s->nheld++] = n;
}

/* The first reservation in a span pool that reservations cover (span_ops):
 * the nodes the per-node path (reserve_walk below, reserve()) would choose,
 * of which the free ones are held by name. A single-node job takes the
 * lowest-numbered candidate: a reserved node usable over [cur, cur + len)
 * (free now or released by cur) or the lowest unreserved node released.
 * A gang takes the unreserved nodes released first, then usable reserved
 * ones in list order, then the lowest unreserved free nodes. Returns how
 * many free nodes it holds. O(M + nodes held + words passed over). */
static int32_t walk_span_hold(walk *w)
{
    sched *s = w->s;
    int p = w->pool;
    const spool *pl = &s->pools[p];
    int32_t k = w->span_k[p], nheld0 = s->nheld;
    resv_span_block(s, p, w->j, w->cur, w->cur + w->len);
    /* unreserved nodes released by cur */
    int32_t need = k - (w->whole_by[p] - (pl->idle_nodes - w->span_freeres[p]));
    if (!w->r[p].whole) {
        int32_t best = w->span_minrel[p];
        for (int32_t i = 0; i < s->nopnodes; i++) {
            int32_t n = s->opnodes[i];
            const snode *nd = &s->nodes[n];
            if (n < best && nd->pool == p && nd->state == SCHED_NODE_UP &&
                (nd->touched || span_node_free(s, n)) && !resv_span_blocked(s, n))
                best = n;
        }
        if (best != INT32_MAX && best != w->span_minrel[p] && span_node_free(s, best))
            span_hold(s, best);
        return s->nheld - nheld0;
    }
    for (int32_t i = 0; i < s->nopnodes && need > 0; i++) {
        int32_t n = s->opnodes[i];
        const snode *nd = &s->nodes[n];
        if (nd->pool != p || nd->state != SCHED_NODE_UP || resv_span_blocked(s, n))
            continue;
        if (span_node_free(s, n)) {
            span_hold(s, n);
            need--;
        } else if (nd->touched) {
            need--;
        }
    }
    int64_t nsum = (pl->span_nw + 63) / 64;
    for (int64_t si = 0; si < nsum && need > 0; si++)
        for (uint64_t sw = pl->span_sum[si]; sw && need > 0; sw &= sw - 1) {
            int64_t wd = si * 64 + __builtin_ctzll(sw);
            for (uint64_t x = pl->span_free[wd]; x && need > 0; x &= x - 1) {
                int32_t n = pl->span_lo + (int32_t)(wd * 64) + __builtin_ctzll(x);
                if (s->nodes[n].opres)
                    continue;
                span_hold(s, n);
                need--;
            }
        }
    return s->nheld - nheld0;
}

static int reserve_walk(sched *s, sched_job *j, int64_t now)
{
    walk w; /* only the pools in use are set: O(P), not O(SCHED_MAX_POOLS) */
    w.s = s;
    w.j = j;
    w.pool = -1;
    w.cur = 0;
    w.now = now;
    w.have = 0;
    w.ops = s->op_applied;
    w.opi = 0;
    w.len = j->time_limit > 0 ? j->time_limit : 1;
    int any = 0;
    for (int p = 0; p < s->npools; p++) {
        w.ok[p] = w.whole_by[p] = w.single_fit[p] = w.span_k[p] = 0;
        if (!pool_allowed(j, p) || job_req(s, j, p, &w.r[p]) != 0)
            continue;
        w.ok[p] = 1;
        w.whole_by[p] = s->pools[p].idle_nodes;
        if (s->pools[p].span) {
            w.span_k[p] = w.r[p].whole ? w.r[p].k : 1;
            w.span_minrel[p] = INT32_MAX; /* (read only under reservations) */
            w.span_freeres[p] = 0;
        } else {
            cells_reset(s, p, 1);
        }
        any = 1;
    }
    if (!any)
        return -1;
    /* idle nodes an operator reserved are weighed apart (walk_check) */
    for (int32_t i = 0; w.ops && i < s->nopnodes; i++) {
        const snode *n = &s->nodes[s->opnodes[i]];
        if (!w.ok[n->pool] || n->state != SCHED_NODE_UP)
            continue;
        if (s->pools[n->pool].span ? span_node_free(s, s->opnodes[i])
                                   : n->free_gpus == n->cap_gpus) {
            w.whole_by[n->pool]--;
            if (s->pools[n->pool].span)
                w.span_freeres[n->pool]++;
        }
    }
    s->ntouch = 0;
    s->nwalked = 0;
    int rc = run_walk(s, walk_visit, &w);
    if (rc == 0 && w.have)
        w.pool = walk_check(&w);
    if (rc == 0 && w.pool < 0 && w.ops)
        walk_op_ends(&w, INT64_MAX, now);
    int ok = -1;
    if (w.pool >= 0 && w.span_k[w.pool]) {
        /* a span pool: the S nodes released by cur first, then free ones */
        int32_t k = w.span_k[w.pool];
        int32_t released = w.whole_by[w.pool] - s->pools[w.pool].idle_nodes;
        s->srs_pool = w.pool;
        s->srs_T = w.cur;
        s->srs_end = w.cur + (j->time_limit > 0 ? j->time_limit : 1);
        s->srs_k = k;
        if (s->span_ops >> w.pool & 1)
            s->srs_held = walk_span_hold(&w);
        else
            s->srs_held = k > released ? k - released : 0;
        prof_sub(s, w.pool, s->srs_T, s->srs_end, k);
        j->est_start = w.cur;
        if (w.r[w.pool].whole && !s->op_applied)
            s->held_whole_from = w.cur;
        ok = 0;
    } else if (w.pool >= 0) {
        const req *r = &w.r[w.pool];
        cand_reset(s);
        for (int32_t t = 0; t < s->ntouch; t++) {
            snode *n = &s->nodes[s->touch[t]];
            if (n->pool != w.pool || n->state != SCHED_NODE_UP || n->opres)
                continue;
            avail v = {n->free_gpus + n->rel_gpus, n->free_cpus + n->rel_cpus,
                       n->free_mem + n->rel_mem};
            if (r->whole ? v.g == n->cap_gpus : fits_single(&v, r))
                cand_add(s, s->touch[t], v.g, 1);
        }
        for (int32_t i = 0; w.ops && i < s->nopnodes; i++) {
            avail v;
            snode *n = &s->nodes[s->opnodes[i]];
            if (walk_op_fits(&w, n, w.pool, &v)) {
                cand_add(s, s->opnodes[i], v.g, 1);
                if (r->whole)
                    s->cells[n->cell].count++;
            }
        }
        if (!r->whole) {
            s->pick[0] = best_fit_cand(s);
            s->npick = 1;
            ok = 0;
        } else {
            int32_t nc = choose_cells(s, w.pool, r->k, s->quota);
            if (nc > 0) {
                /* with EASY the busy nodes need no hold; conservative
                 * records every node (later gangs must see them) */
                take_from_cells(s, nc, s->quota, 1, s->policy != SCHED_EASY);
                ok = 0;
            }
        }
        if (ok == 0) {
            reserve(s, j, r, w.cur);
            /* whole nodes only: a job running past the start can use none
             * (not so of nodes an operator reserved: checked one by one) */
            if (r->whole && !s->op_applied)
                s->held_whole_from = w.cur;
        }
    }
    for (int32_t t = 0; t < s->ntouch; t++) {
        snode *n = &s->nodes[s->touch[t]];
        n->touched = 0;
        n->rel_gpus = n->rel_cpus = 0;
        n->rel_mem = 0;
    }
    s->ntouch = 0;
    s->nwalked = 0;
    return ok;
}

/* ---- availability profiles (conservative backfill) ----------------------
 * Per pool, a step function of free GPUs over time: free now, plus every
 * running job's GPUs back at its expected end (job_expected_end; the walk
 * of the running set gives them in order), minus every reservation over
 * its window. It counts GPUs, not nodes, so it is a necessary condition
 * only: a time it rejects is skipped in O(1) per step, and a time it accepts
 * is then checked node by node (place_at). Built once per pass in
 * O(R + P), updated in O(P) per reservation. */
static size_t prof_split(spool *p, int64_t t)
{
    /* index of the breakpoint at t, creating it; t >= p->pt[0] */
    size_t lo = 0, hi = p->pn;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->pt[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->pn && p->pt[lo] == t)
        return lo;
    size_t cap = p->pcap;
    p->pt = grow(p->pt, &cap, p->pn + 1, sizeof *p->pt);
    cap = p->pcap;
    p->pf = grow(p->pf, &cap, p->pn + 1, sizeof *p->pf);
    p->pcap = cap;
    memmove(p->pt + lo + 1, p->pt + lo, (p->pn - lo) * sizeof *p->pt);
    memmove(p->pf + lo + 1, p->pf + lo, (p->pn - lo) * sizeof *p->pf);
    p->pt[lo] = t;
    p->pf[lo] = p->pf[lo - 1]; /* lo > 0: t > pt[0] */
    p->pn++;
    return lo;
}

static void prof_sub(sched *s, int pool, int64_t a, int64_t b, int64_t g)
{
    spool *p = &s->pools[pool];
    if (!s->prof_built || b <= a || g == 0)
        return;
    if (a < p->pt[0])
        a = p->pt[0];
    size_t i = prof_split(p, a);
    size_t e = prof_split(p, b);
    for (; i < e; i++)
        p->pf[i] -= g;
}

typedef struct prof_ctx {
    sched *s;
    int64_t now;
} prof_ctx;

static int prof_release(sched_job *rj, void *arg)
{
    prof_ctx *c = arg;
    spool *p = &c->s->pools[rj->pool];
    int64_t g = 0;
    if (p->span)
        g = span_job_up(c->s, rj);
    else if (p->nonup == 0)
        g = rj->alloced_gpus; /* every node UP: all its GPUs, O(1) */
    else
        for (int32_t i = 0; i < rj->nalloc; i++)
            if (c->s->nodes[rj->alloc[i].node].state == SCHED_NODE_UP)
                g += rj->alloc[i].gpus;
    int64_t e = job_expected_end(rj);
    if (e <= c->now) {
        p->pf[0] += g; /* ends at this instant: free for any later window */
        return 0;
    }
    if (p->pt[p->pn - 1] == e) {
        p->pf[p->pn - 1] += g;
        return 0;
    }
    size_t cap = p->pcap;
    p->pt = grow(p->pt, &cap, p->pn + 1, sizeof *p->pt);
    cap = p->pcap;
    p->pf = grow(p->pf, &cap, p->pn + 1, sizeof *p->pf);
    p->pcap = cap;
    p->pt[p->pn] = e;
    p->pf[p->pn] = p->pf[p->pn - 1] + g;
    p->pn++;
    return 0;
}

static void prof_build(sched *s, int64_t now, int with_reservations)
{
    for (int pool = 0; pool < s->npools; pool++) {
        spool *p = &s->pools[pool];
        size_t cap = p->pcap;
        p->pt = grow(p->pt, &cap, 1, sizeof *p->pt);
        cap = p->pcap;
        p->pf = grow(p->pf, &cap, 1, sizeof *p->pf);
        p->pcap = cap;
        p->pt[0] = now;
        p->pf[0] = p->free_gpus;
        p->pn = 1;
    }
    prof_ctx c = {s, now};
    run_walk(s, prof_release, &c);
    s->prof_built = 1;
    for (size_t i = 0; with_reservations && i < s->nrv; i++) {
        const sresv *v = &s->rv[i];
        if (v->op < 0) /* operators' reservations: below, from their list */
            prof_sub(s, s->nodes[v->node].pool, v->start, v->end, v->gpus);
    }
    /* Operators' reservations not over yet: a maintenance window takes its
     * UP nodes' GPUs out of the pool over the window (a node's running job
     * gives its GPUs back at its end, so the node adds nothing inside the
     * window); a project window only marks its bounds, where the free GPUs
     * that a job not of the project sees change (prof_free). O(reserved
     * nodes x P) for the R reservations. */
    s->proj_live = 0;
    for (int32_t i = 0; i < s->noresv; i++) {
        const soresv *r = &s->oresv[i];
        if (r->end <= now)
            continue;
        int64_t a = r->start > now ? r->start : now;
        if (r->kind == SCHED_RESV_PROJECT) {
            s->proj_live = 1;
            for (int32_t k = 0; k < r->nnodes; k++) {
                spool *p = &s->pools[s->nodes[r->nodes[k]].pool];
                prof_split(p, a);
                prof_split(p, r->end);
            }
            continue;
        }
        for (int32_t k = 0; k < r->nnodes; k++) {
            const snode *n = &s->nodes[r->nodes[k]];
            if (n->state == SCHED_NODE_UP)
                prof_sub(s, n->pool, a, r->end, n->cap_gpus);
        }
    }
    if (with_reservations && s->srs_pool >= 0)
        prof_sub(s, s->srs_pool, s->srs_T, s->srs_end, s->srs_k);
}

/* The first breakpoint index >= from (t > now) at which the profile keeps
 * at least `need` GPUs free for `len` seconds; pn if none. Amortized O(P):
 * a failing step moves the start past it. */
static size_t prof_earliest(const sched *s, int pool, const sched_job *j, size_t from,
                            int64_t len, int64_t need);

/* Free GPUs of step m of pool's profile as job j sees them: less the GPUs
 * of project reservations that bind j there (their bounds are breakpoints).
 * O(1) without project reservations, else O(their nodes). */
static inline int64_t prof_free(const sched *s, int pool, const sched_job *j, size_t m)
{
    const spool *p = &s->pools[pool];
    return p->pf[m] - resv_proj_gpus(s, pool, j, p->pt[m]);
}

static size_t prof_earliest_proj(const sched *s, int pool, const sched_job *j, size_t from,
                                 int64_t len, int64_t need)
{
    const spool *p = &s->pools[pool];
    size_t i = from;
    while (i < p->pn) {
        size_t m = i;
        while (m < p->pn && p->pt[m] < p->pt[i] + len && prof_free(s, pool, j, m) >= need)
            m++;
        if (m == p->pn || p->pt[m] >= p->pt[i] + len)
            return i;
        i = m + 1;
    }
    return p->pn;
}

static size_t prof_earliest(const sched *s, int pool, const sched_job *j, size_t from,
                            int64_t len, int64_t need)
{
    if (s->proj_live)
        return prof_earliest_proj(s, pool, j, from, len, need);
    const spool *p = &s->pools[pool];
    size_t i = from;
    while (i < p->pn) {
        size_t m = i;
        while (m < p->pn && p->pt[m] < p->pt[i] + len && p->pf[m] >= need)
            m++;
        if (m == p->pn || p->pt[m] >= p->pt[i] + len)
            return i;
        i = m + 1;
    }
    return p->pn;
}

/* Later reservations (conservative): the earliest time at which the job's
 * GPUs stay free in its pool's profile for its whole time limit, around
 * every earlier reservation. In pools of interchangeable units (one GPU per
 * node: the classic model) that count is exact, and the reservation holds
 * profile capacity only. A gang of multi-GPU nodes needs whole nodes, which
 * a count cannot see (single-GPU jobs may fragment them), so there each
 * time the profile allows is also checked node by node and the gang
 * reserves concrete nodes, which later jobs then respect (place_now).
 * O(P) per allowed pool; gangs add O(N x per-node work) per time checked. */
static int reserve_later(sched *s, sched_job *j, int64_t now)
{
    s->held_whole_from = INT64_MAX; /* more reservations: check held nodes one by one */
    if (!s->prof_built)
        prof_build(s, now, 1);
    int64_t len = j->time_limit > 0 ? j->time_limit : 1;
    int64_t best_t = INT64_MAX, best_need = 0;
    int best_pool = -1, best_concrete = 0;
    for (int pool = 0; pool < s->npools; pool++) {
        req r;
        if (!pool_allowed(j, pool) || job_req(s, j, pool, &r) != 0)
            continue;
        spool *p = &s->pools[pool];
        int64_t need = r.whole ? (int64_t)r.k * p->mingpn : r.g;
        int concrete = r.whole && p->maxgpn > 1;
        /* from index 0: the first step counts GPUs of jobs ending at this
         * very instant, so a reservation may begin now, once they are gone */
        for (size_t i = prof_earliest(s, pool, j, 0, len, need); i < p->pn && p->pt[i] < best_t;
             i = prof_earliest(s, pool, j, i + 1, len, need)) {
            req rr;
            if (concrete && place_at(s, j, pool, p->pt[i], p->pt[i] + len, &rr) < 0)
                continue;
            best_t = p->pt[i];
            best_pool = pool;
            best_need = need;
            best_concrete = concrete;
            break;
        }
    }
    if (best_pool < 0)
        return -1;
    if (best_concrete) {
        req r;
        place_at(s, j, best_pool, best_t, best_t + len, &r);
        reserve(s, j, &r, best_t); /* concrete nodes; reserve() updates the profile */
        return 0;
    }
    prof_sub(s, best_pool, best_t, best_t + len, best_need);
    j->est_start = best_t;
    return 0;
}

/* Conservative backfill: in which pools may job j start now without
 * delaying any reservation in the profiles? (Concrete nodes are then
 * checked by place_now.) Returns a pool mask. O(P) per allowed pool. */
static uint64_t prof_allows_now(sched *s, const sched_job *j, int64_t now)
{
    if (!s->prof_built)
        prof_build(s, now, 1);
    if (j->time_limit == 0)
        return ~(uint64_t)0; /* gone before any later reservation begins */
    uint64_t mask = 0;
    for (int pool = 0; pool < s->npools; pool++) {
        req r;
        if (!pool_allowed(j, pool) || job_req(s, j, pool, &r) != 0)
            continue;
        spool *p = &s->pools[pool];
        int64_t need = r.whole ? (int64_t)r.k * p->mingpn : r.g;
        if (prof_earliest(s, pool, j, 0, j->time_limit, need) == 0)
            mask |= (uint64_t)1 << pool;
    }
    return mask;
}

/* End of pass: reservations vanish, held nodes return to the index. O(held). */
static void release_holds(sched *s)
{
    s->resv_job = NULL;
    s->srs_pool = -1;
    for (int32_t i = 0; i < s->nrnodes; i++)
        s->nodes[s->rnodes[i]].res_head = -1;
    for (int32_t i = 0; i < s->nopnodes; i++)
        s->nodes[s->opnodes[i]].opres = 0;
    s->span_ops = 0;
    s->nopnodes = 0;
    s->op_applied = 0;
    for (int32_t i = 0; i < s->nheld; i++) {
        snode *n = &s->nodes[s->held[i]];
        n->held = 0;
        idx_insert(s, s->held[i]);
    }
    s->nrnodes = s->nheld = 0;
    s->nrv = 0;
    s->prof_built = 0;
    s->held_whole_from = INT64_MAX;
}

static int64_t start_on_pick(sched *s, sched_job *j, int pool, const req *r, int64_t now)
{
    spool *p = &s->pools[pool];
    if (p->span) {
        /* the lowest free nodes, in node order: O(k) entries, O(k/64) words;
         * under reservations, the nodes span_resv_fit picked */
        int32_t k = r->whole ? r->k : 1;
        j->pool = pool;
        if (s->npick >= 0)
            span_take_picked(s, pool, j, r->whole ? p->span_cpus : r->c,
                             r->whole ? p->span_mem : r->m);
        else
            span_take(s, pool, j, k, r->whole ? p->span_cpus : r->c,
                      r->whole ? p->span_mem : r->m);
        j->alloced_gpus = k;
        sched_start_job(s, j, now, 1);
        if (s->srs_pool == pool)
            s->srs_held -= s->span_from_held;
        prof_sub(s, pool, now, job_expected_end(j), k);
        return k;
    }
    int64_t gpus = 0;
    j->pool = pool;
    j->nalloc = s->npick;
    for (int32_t i = 0; i < s->npick; i++) {
        snode *n = &s->nodes[s->pick[i]];
        sched_alloc *a = &j->alloc[i];
        a->node = s->pick[i];
        a->gpus = r->whole ? n->cap_gpus : r->g;
        a->cpus = r->whole ? n->cap_cpus : r->c;
        a->mem_mb = r->whole ? n->cap_mem : r->m;
        gpus += a->gpus;
    }
    j->alloced_gpus = (int32_t)gpus;
    sched_start_job(s, j, now, 0);
    prof_sub(s, pool, now, job_expected_end(j), gpus);
    return gpus;
}

static int64_t job_min_gpus(const sched_job *j)
{
    return j->nodes > 0 ? (int64_t)j->nodes * (j->gpus_per_node > 0 ? j->gpus_per_node : 1)
                        : j->gpus;
}

/*
 * The pass. Visits pending jobs in queue order, O(Q) visits; the work per
 * visit is O(1) when the job cannot fit in the free GPUs of its pools, else
 * one placement (see place_now). Once reservations are exhausted and no GPU
 * is free, the rest of the queue cannot start and the pass stops early; the
 * jobs not visited read as waiting for resources (sched_job_reason).
 */
int sched_pass(sched *s, int64_t now, sched_start_fn fn, void *arg)
{
    int limit = s->policy == SCHED_FCFS ? 0
              : s->policy == SCHED_EASY ? 1
              : (s->depth > 0 ? s->depth : INT32_MAX);
    int nres = 0, started = 0;
    int skip = s->policy != SCHED_FCFS;
    int64_t free_total = sched_free_gpus(s);
    s->pass_no++;
    /* EASY: keep last pass's reservation if nothing it depends on changed,
     * its job is still the first that may run and its time has not passed
     * (the jobs it waits for are overdue: planned again from now); else
     * plan afresh */
    sched_job *first = s->qhead;
    while (first && first->held)
        first = first->qnext;
    sched_job *reuse = s->policy == SCHED_EASY && s->resv_job && s->resv_epoch == s->epoch &&
                               first == s->resv_job && s->noresv == 0 && s->resv_T >= now
                           ? s->resv_job
                           : NULL;
    if (!reuse)
        release_holds(s);
    /* operators' reservations hold their nodes for this pass (resv.c):
     * O(reserved nodes), nothing without any */
    if (s->noresv > 0)
        resv_apply(s, now);
    s->unvisited_reason = SCHED_REASON_RESOURCES;
    sched_job *next;
    for (sched_job *j = s->qhead; j; j = next) {
        next = j->qnext;
        if (nres >= limit && free_total <= 0)
            break;
        /* Once the reservations are made (not fcfs: it stops at the first
         * job that does not fit), a job that fits in no pool's free GPUs
         * (job_may_fit) would only be marked as waiting for resources, or
         * as held: it is left unvisited, and sched_job_reason reads just
         * that for it. O(1), and no write to the job. */
        int may_fit = job_may_fit(j, free_total);
        if (skip && nres >= limit && !may_fit)
            continue;
        j->visited = s->pass_no;
        if (j->held) {
            j->reason = SCHED_REASON_HELD;
            continue;
        }
        int64_t b = now + j->time_limit;
        req r;
        int pool = -1, only_resv = 0;
        if (may_fit) {
            uint64_t pools = nres <= 1 ? ~(uint64_t)0 : prof_allows_now(s, j, now);
            /* Would it start now but for operators' reservations? Then that
             * is its pending reason: placed again looking past them (only
             * while some are applied; one call site keeps place_now inlined) */
            for (;;) {
                pool = pools ? place_now(s, j, pools, now, b, &r) : -1;
                if (pool >= 0 || !s->op_applied || s->op_ignore)
                    break;
                s->op_ignore = 1;
                pools = ~(uint64_t)0;
            }
            if (s->op_ignore) {
                only_resv = pool >= 0;
                pool = -1;
                s->op_ignore = 0;
            }
        }
        if (pool >= 0) {
            free_total -= start_on_pick(s, j, pool, &r, now);
            started++;
            if (fn)
                fn(j, arg);
            continue;
        }
        if (nres >= limit) {
            if (s->policy == SCHED_FCFS) {
                /* the rest wait behind this job: read lazily, O(1) */
                j->reason = only_resv ? SCHED_REASON_RESERVATION : SCHED_REASON_RESOURCES;
                s->unvisited_reason = SCHED_REASON_PRIORITY;
                break;
            }
            j->reason = only_resv                       ? SCHED_REASON_RESERVATION
                        : free_total >= job_min_gpus(j) ? SCHED_REASON_PRIORITY
                                                        : SCHED_REASON_RESOURCES;
            continue;
        }
        if (nres == 0 && j == reuse) {
            /* the kept reservation: same nodes, same time */
            nres = 1;
            j->est_start = s->resv_T;
            j->reason = SCHED_REASON_RESOURCES;
            continue;
        }
        int ok = nres == 0 ? reserve_walk(s, j, now) : reserve_later(s, j, now);
        if (ok == 0 && nres == 0 && s->policy == SCHED_EASY) {
            s->resv_job = j;
            s->resv_T = j->est_start;
        }
        if (ok == 0) {
            nres++;
            j->reason = nres == 1 ? SCHED_REASON_RESOURCES : SCHED_REASON_PRIORITY;
        } else {
            j->reason = SCHED_REASON_UNAVAILABLE;
        }
        if (only_resv)
            j->reason = SCHED_REASON_RESERVATION;
    }
    if (s->policy == SCHED_EASY && s->resv_job && nres == 1 && !s->op_applied) {
        s->resv_epoch = s->epoch; /* kept for the next pass */
        s->prof_built = 0;
    } else {
        release_holds(s);
    }
    return started;
}

/*
 * Start estimates for display (fleet queue): the first max_jobs pending
 * jobs, in queue order, each placed at the earliest time its GPUs stay free
 * in its pools' profiles for its whole time limit, around the jobs before
 * it, as conservative backfill would plan them. Counts GPUs (whole nodes
 * count as their GPUs), so on multi-GPU nodes it is an estimate, not a
 * promise; nothing starts and nothing is held. O(max_jobs x P).
 */
int sched_estimate(sched *s, int64_t now, int max_jobs)
{
    /* without the kept reservation: its job is planned again below */
    prof_build(s, now, 0);
    int n = 0;
    for (sched_job *j = s->qhead; j; j = j->qnext) {
        j->est_start = -1;
        if (j->held || n >= max_jobs)
            continue;
        n++;
        int64_t len = j->time_limit > 0 ? j->time_limit : 1;
        int64_t best_t = INT64_MAX, best_need = 0;
        int best_pool = -1;
        for (int pool = 0; pool < s->npools; pool++) {
            req r;
            if (!pool_allowed(j, pool) || job_req(s, j, pool, &r) != 0)
                continue;
            spool *p = &s->pools[pool];
            int64_t need = r.whole ? (int64_t)r.k * p->mingpn : r.g;
            size_t i = prof_earliest(s, pool, j, 0, len, need);
            if (i < p->pn && p->pt[i] < best_t) {
                best_t = p->pt[i];
                best_pool = pool;
                best_need = need;
            }
        }
        if (best_pool < 0)
            continue; /* more than the UP nodes can give */
        prof_sub(s, best_pool, best_t, best_t + len, best_need);
        j->est_start = best_t;
    }
    s->prof_built = 0;
    return n;
}

int sched_job_reason(const sched *s, const sched_job *j)
{
    if (j->state != SCHED_JOB_PENDING)
        return SCHED_REASON_NONE;
    if (j->visited != s->pass_no)
        return j->held ? SCHED_REASON_HELD : s->unvisited_reason;
    return j->reason;
}
