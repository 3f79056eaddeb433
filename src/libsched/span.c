/*
 * span.c: span pools, where a job holds a count of interchangeable nodes.
 *
 * A pool is a span pool when every node has one GPU, no node is in a block
 * (no topology) and every node has the same CPUs and memory: the classic
 * model's processors. There any free UP node is as good as any other, so
 * the pass decides on counts alone (pool totals, O(1)) and the first
 * reservation holds a count of free nodes, not named nodes (pass.c).
 *
 * The caller still sees named nodes: j->alloc lists one entry per node, as
 * in every pool. Free UP nodes are kept in a bitmap (with a summary bit per
 * non-empty word); a start takes the lowest free nodes a run of set bits at
 * a time, and each maximal run of consecutive nodes of an allocation records its length
 * at its first node (s->span_run), so an end returns its nodes a word at a
 * time too. A job of k nodes costs O(k) sequential writes of its alloc
 * entries and O(runs + k/64) bitmap work, instead of k node updates, k
 * index updates and k run-list entries.
 *
 * The per-node fields (free GPUs, CPUs, memory, running jobs) of a span
 * node describe single-node jobs only (kept in O(1) as in any pool); a node
 * held by a gang is marked in s->span_busy alone and reads as busy whole
 * (span_node_view).
 *
 * Operators' reservations (resv.c) make the nodes they cover unlike the
 * others. While some cover nodes of a span pool (span_ops, set for the
 * pass), a job there still counts the unreserved free nodes, but weighs
 * the reserved ones one by one: span_resv_fit. It then starts on the nodes
 * it picked (span_take_picked), reserved ones first, as place_now prefers
 * reserved nodes in other pools. Without reservations on the pool nothing
 * of this runs.
 */
#include "sched_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort(); /* out of memory: fail loudly, as the rest of libsched */
    return p;
}

static inline int bit_get(const uint64_t *b, int64_t i)
{
    return (int)(b[i >> 6] >> (i & 63) & 1);
}

/* Bits [lo, lo + len) of one word, lo + len <= 64. */
static inline uint64_t word_mask(int64_t lo, int64_t len)
{
    return (len >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << len) - 1)) << lo;
}

/* Keeps the summary bit of free word w. O(1). */
static inline void sum_update(spool *p, int64_t w)
{
    if (p->span_free[w])
        p->span_sum[w >> 6] |= (uint64_t)1 << (w & 63);
    else
        p->span_sum[w >> 6] &= ~((uint64_t)1 << (w & 63));
}

/*
 * Which pools are span pools, and their bitmaps: every node is UP and free
 * at finalize. O(N).
 */
void span_setup(sched *s)
{
    int32_t ncell[SCHED_MAX_POOLS] = {0};
    for (int32_t c = 0; c < s->ncells; c++)
        ncell[s->cells[c].pool]++;
    for (int32_t p = 0; p < s->npools; p++) {
        spool *pl = &s->pools[p];
        pl->span = pl->maxgpn == 1 && pl->nnodes > 0 && ncell[p] == 1 &&
                   s->cells[pl->cells[0]].block < 0;
        pl->span_lo = INT32_MAX;
        pl->span_hi = -1;
    }
    for (int32_t i = 0; i < s->nnodes; i++) {
        const snode *n = &s->nodes[i];
        spool *pl = &s->pools[n->pool];
        if (!pl->span)
            continue;
        const snode *first = &s->nodes[pl->span_lo == INT32_MAX ? i : pl->span_lo];
        if (n->cap_cpus != first->cap_cpus || n->cap_mem != first->cap_mem) {
            pl->span = 0; /* nodes differ: a count cannot say which fit */
            continue;
        }
        if (pl->span_lo == INT32_MAX)
            pl->span_lo = i;
        pl->span_hi = i;
    }
    int any = 0;
    for (int32_t p = 0; p < s->npools; p++) {
        spool *pl = &s->pools[p];
        if (!pl->span)
            continue;
        any = 1;
        pl->span_cpus = s->nodes[pl->span_lo].cap_cpus;
        pl->span_mem = s->nodes[pl->span_lo].cap_mem;
        pl->span_lo &= ~63; /* word aligned */
        pl->span_nw = (pl->span_hi - pl->span_lo) / 64 + 1;
        pl->span_free = xcalloc((size_t)pl->span_nw, sizeof *pl->span_free);
        pl->span_up = xcalloc((size_t)pl->span_nw, sizeof *pl->span_up);
        pl->span_sum = xcalloc((size_t)(pl->span_nw + 63) / 64, sizeof *pl->span_sum);
    }
    if (!any)
        return;
    s->span_busy = xcalloc((size_t)(s->nnodes + 63) / 64, sizeof *s->span_busy);
    s->span_run = xcalloc((size_t)s->nnodes, sizeof *s->span_run);
    for (int32_t i = 0; i < s->nnodes; i++) {
        spool *pl = &s->pools[s->nodes[i].pool];
        if (!pl->span)
            continue;
        int64_t b = i - pl->span_lo;
        pl->span_free[b >> 6] |= (uint64_t)1 << (b & 63);
        pl->span_up[b >> 6] |= (uint64_t)1 << (b & 63);
    }
    for (int32_t p = 0; p < s->npools; p++)
        for (int64_t w = 0; s->pools[p].span && w < s->pools[p].span_nw; w++)
            sum_update(&s->pools[p], w);
}

void span_free_all(sched *s)
{
    for (int32_t p = 0; p < s->npools; p++) {
        free(s->pools[p].span_free);
        free(s->pools[p].span_up);
        free(s->pools[p].span_sum);
    }
    free(s->span_busy);
    free(s->span_run);
    free(s->span_mark);
}

/*
 * Writes n alloc entries for the consecutive nodes first, first + 1, ...:
 * the one loop of a start that is O(k) rather than O(k/64). Four entries
 * are 96 bytes, three 32-byte vectors whose node fields step by four, where
 * the compiler supports vector types on a little-endian machine; on x86-64
 * Linux the function is also built for AVX2 and the loader picks that copy
 * where the CPU has it (one 32-byte store where SSE2 needs two). Two to
 * four times as fast as entry by entry. Else, and for the last entries,
 * one by one.
 */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SPAN_VECTOR_FILL 1
typedef int64_t span_v4 __attribute__((vector_size(32)));
_Static_assert(sizeof(sched_alloc) == 24 && offsetof(sched_alloc, gpus) == 4 &&
                   offsetof(sched_alloc, cpus) == 8 && offsetof(sched_alloc, mem_mb) == 16,
               "span_fill writes sched_alloc as three 8-byte words");
#if defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define SPAN_FILL_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#endif
#ifndef SPAN_FILL_CLONES
#define SPAN_FILL_CLONES
#endif

SPAN_FILL_CLONES
static void span_fill(sched_alloc *out, int32_t first, int32_t n, int32_t cpus, int64_t mem)
{
    int32_t i = 0;
#ifdef SPAN_VECTOR_FILL
    /* per entry three words: node | gpus << 32, cpus (and the padding), mem */
    const int64_t g = (int64_t)1 << 32, c = (int64_t)(uint32_t)cpus;
    span_v4 a = {(int64_t)(uint32_t)first | g, c, mem, (int64_t)(uint32_t)(first + 1) | g};
    span_v4 b = {c, mem, (int64_t)(uint32_t)(first + 2) | g, c};
    span_v4 d = {mem, (int64_t)(uint32_t)(first + 3) | g, c, mem};
    const span_v4 da = {4, 0, 0, 4}, db = {0, 0, 4, 0}, dd = {0, 4, 0, 0};
    char *p = (char *)out;
    for (; i + 4 <= n; i += 4, p += 96) {
        memcpy(p, &a, 32);
        memcpy(p + 32, &b, 32);
        memcpy(p + 64, &d, 32);
        a += da;
        b += db;
        d += dd;
    }
#endif
    for (; i < n; i++)
        out[i] = (sched_alloc){first + i, 1, cpus, mem};
}

/*
 * A pending job starts on k free UP nodes of a span pool: the lowest ones,
 * in node order. Writes j->alloc, one entry per node (cpus and mem are the
 * node's share: the whole node for a gang, the request for a single-node
 * job), takes the nodes out of the free bitmap a run of set bits at a time,
 * records the runs and updates the pool totals (k UP nodes: no counting).
 * Needs k free UP nodes (the caller checked the pool totals).
 * O(k) entry writes (span_fill) + O(k/64 + runs + words passed over).
 */
void span_take(sched *s, int pool, sched_job *j, int32_t k, int32_t cpus, int64_t mem)
{
    spool *p = &s->pools[pool];
    sched_alloc *out = j->alloc;
    int32_t left = k, run_first = -1, run_len = 0;
    int64_t nsum = (p->span_nw + 63) / 64;
    for (int64_t si = 0; si < nsum && left > 0; si++) {
        for (uint64_t sw = p->span_sum[si]; sw && left > 0; sw &= sw - 1) {
            int64_t w = si * 64 + __builtin_ctzll(sw);
            uint64_t x = p->span_free[w], took = 0;
            int32_t base = p->span_lo + (int32_t)(w * 64);
            while (x && left > 0) {
                /* the lowest run of free nodes in this word: [lo, lo + len) */
                int32_t lo = __builtin_ctzll(x);
                uint64_t y = ~(x >> lo);
                int32_t len = y ? __builtin_ctzll(y) : 64 - lo;
                if (len > left)
                    len = left;
                uint64_t m = word_mask(lo, len);
                span_fill(out, base + lo, len, cpus, mem);
                out += len;
                left -= len;
                took |= m;
                x &= ~m;
                if (run_first + run_len == base + lo) {
                    run_len += len;
                } else {
                    if (run_len > 0)
                        s->span_run[run_first] = run_len;
                    run_first = base + lo;
                    run_len = len;
                }
            }
            p->span_free[w] &= ~took;
            s->span_busy[(p->span_lo >> 6) + w] |= took;
            sum_update(p, w);
        }
    }
    if (run_len > 0)
        s->span_run[run_first] = run_len;
    j->nalloc = k;
    p->free_gpus -= k;
    p->idle_nodes -= k;
    if (k == 1) {
        snode *n = &s->nodes[j->alloc[0].node];
        n->free_gpus -= 1;
        n->free_cpus -= cpus;
        n->free_mem -= mem;
        node_run_add(n, j, &j->alloc[0]);
    }
}

/*
 * A job of a span pool ends (sign -1), or starts on nodes the caller named
 * (+1, sched_restore_running: any order, UP or not, no node twice): its
 * nodes rejoin or leave the free bitmap, run by run, and the pool totals
 * follow, counting UP nodes only. At such a start the runs are found in
 * j->alloc and their lengths recorded at their first nodes; at the end
 * they are read back. A single-node job also keeps its share in the node,
 * as in any pool (node_run_add/del, O(1)).
 * End: O(runs + k/64). Named start: O(k).
 */
void span_apply(sched *s, sched_job *j, int sign)
{
    spool *p = &s->pools[j->pool];
    int64_t changed = 0;
    for (int32_t i = 0; i < j->nalloc;) {
        int32_t a = j->alloc[i].node, len;
        if (sign > 0) {
            len = 1;
            while (i + len < j->nalloc && j->alloc[i + len].node == a + len)
                len++;
            s->span_run[a] = len;
        } else {
            len = s->span_run[a];
        }
        i += len;
        for (int64_t b = a - p->span_lo, e = b + len; b < e;) {
            int64_t w = b >> 6, lo = b & 63, n = e - b < 64 - lo ? e - b : 64 - lo;
            uint64_t m = word_mask(lo, n);
            /* the busy bitmap is indexed by node, the pool's from span_lo,
             * a multiple of 64: word w here is word span_lo / 64 + w there */
            uint64_t *busy = &s->span_busy[(p->span_lo >> 6) + w];
            if (sign > 0) {
                changed += __builtin_popcountll(p->span_free[w] & m);
                p->span_free[w] &= ~m;
                *busy |= m;
            } else if (p->nonup == 0) {
                changed += n; /* all UP, all busy until now: no counting */
                p->span_free[w] |= m;
                *busy &= ~m;
            } else {
                uint64_t back = m & p->span_up[w];
                changed += __builtin_popcountll(back);
                p->span_free[w] |= back;
                *busy &= ~m;
            }
            sum_update(p, w);
            b += n;
        }
    }
    p->free_gpus -= sign * changed;
    p->idle_nodes -= (int32_t)(sign * changed);
    if (j->nalloc == 1) {
        snode *n = &s->nodes[j->alloc[0].node];
        const sched_alloc *a = &j->alloc[0];
        n->free_gpus -= sign * a->gpus;
        n->free_cpus -= sign * a->cpus;
        n->free_mem -= sign * a->mem_mb;
        if (sign > 0)
            node_run_add(n, j, a);
        else
            node_run_del(n, j);
    }
}

/* Does a list of span nodes name a node twice? The busy bits of the nodes
 * (none busy: the caller checked) serve as marks, cleared again. O(n). */
int span_has_duplicates(sched *s, const int32_t *nodes, int32_t n)
{
    int32_t i = 0;
    for (; i < n; i++) {
        uint64_t *w = &s->span_busy[nodes[i] >> 6], m = (uint64_t)1 << (nodes[i] & 63);
        if (*w & m)
            break;
        *w |= m;
    }
    for (int32_t c = 0; c < i; c++)
        s->span_busy[nodes[c] >> 6] &= ~((uint64_t)1 << (nodes[c] & 63));
    return i < n;
}

/* UP nodes of a running job of a span pool while some node of the pool is
 * not UP (span_job_up in sched_internal.h answers in O(1) otherwise): the
 * UP bits of its runs. O(runs + k/64). */
int64_t span_job_up_counted(const sched *s, const sched_job *j)
{
    const spool *p = &s->pools[j->pool];
    int64_t up = 0;
    for (int32_t i = 0; i < j->nalloc;) {
        int32_t a = j->alloc[i].node, len = s->span_run[a];
        i += len;
        for (int64_t b = a - p->span_lo, e = b + len; b < e;) {
            int64_t w = b >> 6, lo = b & 63, n = e - b < 64 - lo ? e - b : 64 - lo;
            up += __builtin_popcountll(p->span_up[w] & word_mask(lo, n));
            b += n;
        }
    }
    return up;
}

/* A span node changes state: it joins or leaves the free bitmap if no job
 * holds it, and the pool totals follow. O(1). */
void span_set_state(sched *s, int32_t node, int state)
{
    snode *n = &s->nodes[node];
    spool *p = &s->pools[n->pool];
    int64_t b = node - p->span_lo;
    uint64_t m = (uint64_t)1 << (b & 63);
    int was_up = n->state == SCHED_NODE_UP, up = state == SCHED_NODE_UP;
    p->nonup += !up - !was_up;
    n->state = state;
    if (was_up == up)
        return;
    int busy = bit_get(s->span_busy, node);
    if (up) {
        p->span_up[b >> 6] |= m;
        if (!busy)
            p->span_free[b >> 6] |= m;
    } else {
        p->span_up[b >> 6] &= ~m;
        p->span_free[b >> 6] &= ~m;
    }
    sum_update(p, b >> 6);
    if (!busy) {
        p->free_gpus += up ? 1 : -1;
        p->idle_nodes += up ? 1 : -1;
    }
}

/* A node's free capacity and running jobs as the public getters report
 * them: a span node held by a gang is busy whole. O(1). */
void span_node_view(const sched *s, int32_t node, int32_t *gpus, int32_t *cpus, int64_t *mem,
                    int32_t *njobs)
{
    const snode *n = &s->nodes[node];
    if (s->pools[n->pool].span && n->nrun == 0 && bit_get(s->span_busy, node)) {
        *gpus = *cpus = 0;
        *mem = 0;
        *njobs = 1;
        return;
    }
    *gpus = n->free_gpus;
    *cpus = n->free_cpus;
    *mem = n->free_mem;
    *njobs = n->nrun;
}

/* ---- operators' reservations ------------------------------------------- */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Placement now in a span pool that reservations cover (span_ops): job j
 * may take any free node but those that a reservation binding it holds
 * over [now, b) (resv_span_block) and, if its window touches the start of
 * the pass's first reservation (touches), the free nodes that reservation
 * holds (held, span.c's counterpart of reserve() in pass.c). Those are
 * reserved nodes (s->opnodes) or held ones (s->held), so the count is
 * pool-wide free nodes less the unusable ones among those two lists. If k
 * remain, the job takes reserved nodes first, then held ones (both in list
 * order, as place_now's preference for reserved nodes in other pools),
 * then the lowest free nodes. Picked nodes are marked like blocked ones.
 * O(reserved nodes + held) to decide; O(words + k) to pick.
 */
int span_resv_fit(sched *s, int pool, const sched_job *j, int32_t k, int64_t now, int64_t b,
                  int touches)
{
    const spool *p = &s->pools[pool];
    resv_span_block(s, pool, j, now, b > now ? b : now + 1);
    int64_t lost = 0;
    for (int32_t i = 0; i < s->nopnodes; i++) {
        int32_t n = s->opnodes[i];
        if (s->nodes[n].pool == pool && span_node_free(s, n) &&
            (resv_span_blocked(s, n) || (touches && s->nodes[n].held)))
            lost++;
    }
    for (int32_t i = 0; touches && i < s->nheld; i++) {
        int32_t n = s->held[i];
        if (s->nodes[n].pool == pool && !s->nodes[n].opres && span_node_free(s, n))
            lost++;
    }
    if (p->idle_nodes - lost < k)
        return 0;
    uint32_t g = s->span_gen;
    int32_t np = 0;
    for (int l = 0; l < 2 && np < k; l++) { /* the reserved nodes, then the held ones */
        int32_t cnt = l == 0 ? s->nopnodes : s->nheld;
        const int32_t *list = l == 0 ? s->opnodes : s->held;
        for (int32_t i = 0; i < cnt && np < k; i++) {
            int32_t n = list[i];
            if (s->nodes[n].pool != pool || !span_node_free(s, n) || s->span_mark[n] == g ||
                (touches && s->nodes[n].held))
                continue;
            s->span_mark[n] = g;
            s->pick[np++] = n;
        }
    }
    int64_t nsum = (p->span_nw + 63) / 64;
    for (int64_t si = 0; si < nsum && np < k; si++) {
        for (uint64_t sw = p->span_sum[si]; sw && np < k; sw &= sw - 1) {
            int64_t w = si * 64 + __builtin_ctzll(sw);
            for (uint64_t x = p->span_free[w]; x && np < k; x &= x - 1) {
                int32_t n = p->span_lo + (int32_t)(w * 64) + __builtin_ctzll(x);
                if (s->span_mark[n] == g || (touches && s->nodes[n].held))
                    continue;
                s->span_mark[n] = g;
                s->pick[np++] = n;
            }
        }
    }
    s->npick = np;
    return np == k;
}

/* The picked nodes in node order (runs of consecutive nodes for the end),
 * one entry each, then taken as a start on named nodes (span_apply). */
void span_take_picked(sched *s, int pool, sched_job *j, int32_t cpus, int64_t mem)
{
    qsort(s->pick, (size_t)s->npick, sizeof *s->pick, cmp_i32);
    for (int32_t i = 0; i < s->npick; i++)
        j->alloc[i] = (sched_alloc){s->pick[i], 1, cpus, mem};
    j->pool = pool;
    j->nalloc = s->npick;
    span_apply(s, j, +1);
}
