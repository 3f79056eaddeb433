/*
 * cluster.c: the resource model (pools, blocks, nodes), the pending queue
 * and the bookkeeping of job starts and ends.
 */
#include "sched_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort(); /* out of memory: as Redis does, fail loudly, keep call sites plain */
    return q;
}

static void copy_name(char *dst, const char *src)
{
    snprintf(dst, SCHED_NAMELEN, "%s", src ? src : "");
}

sched *sched_create(void)
{
    sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->policy = SCHED_EASY;
    s->held_whole_from = INT64_MAX;
    s->srs_pool = -1;
    return s;
}

static int free_running_alloc(sched_job *j, void *arg)
{
    (void)arg;
    free(j->alloc);
    j->alloc = NULL;
    return 0;
}

void sched_destroy(sched *s)
{
    if (!s)
        return;
    run_walk(s, free_running_alloc, NULL);
    for (int32_t i = 0; i < s->nnodes; i++)
        if (s->nodes[i].run != s->nodes[i].run_inline)
            free(s->nodes[i].run);
    for (int32_t p = 0; p < s->npools; p++) {
        free(s->pools[p].bucket);
        free(s->pools[p].fail_c);
        free(s->pools[p].fail_m);
        free(s->pools[p].cells);
        free(s->pools[p].pt);
        free(s->pools[p].pf);
    }
    /* jobs belong to the caller; their allocation arrays belong to us */
    for (sched_job *j = s->qhead; j; j = j->qnext) {
        free(j->alloc);
        j->alloc = NULL;
    }
    free(s->nodes);
    free(s->node_names);
    free(s->blocks);
    free(s->spines);
    free(s->cells);
    free(s->rv);
    free(s->held);
    free(s->rnodes);
    free(s->touch);
    free(s->cand);
    free(s->cand_gpus);
    free(s->cand_pref);
    free(s->order);
    free(s->quota);
    free(s->spine_count);
    free(s->times);
    free(s->pick);
    free(s->walked);
    for (int32_t i = 0; i < s->noresv; i++) {
        free(s->oresv[i].nodes);
        free(s->oresv[i].accounts);
        free(s->oresv[i].users);
    }
    free(s->oresv);
    free(s->opnodes);
    free(s->opends);
    span_free_all(s);
    free(s);
}

int sched_pool_add(sched *s, const char *name, const char *model)
{
    if (s->finalized || s->npools >= SCHED_MAX_POOLS || !name || !*name ||
        sched_pool_find(s, name) >= 0)
        return -1;
    spool *p = &s->pools[s->npools];
    memset(p, 0, sizeof *p);
    copy_name(p->name, name);
    copy_name(p->model, model && *model ? model : name);
    return s->npools++;
}

static int spine_find_or_add(sched *s, const char *spine)
{
    if (!spine || !*spine)
        return -1;
    for (int32_t i = 0; i < s->nspines; i++)
        if (strcmp(s->spines[i], spine) == 0)
            return i;
    if (s->nspines == s->capspines) {
        s->capspines = s->capspines ? s->capspines * 2 : 16;
        s->spines = xrealloc(s->spines, (size_t)s->capspines * sizeof *s->spines);
    }
    copy_name(s->spines[s->nspines], spine);
    return s->nspines++;
}

int sched_block_add(sched *s, const char *name, const char *spine)
{
    if (s->finalized || !name || !*name)
        return -1;
    for (int32_t i = 0; i < s->nblocks; i++)
        if (strcmp(s->blocks[i].name, name) == 0)
            return -1;
    if (s->nblocks == s->capblocks) {
        s->capblocks = s->capblocks ? s->capblocks * 2 : 64;
        s->blocks = xrealloc(s->blocks, (size_t)s->capblocks * sizeof *s->blocks);
    }
    sblock *b = &s->blocks[s->nblocks];
    copy_name(b->name, name);
    b->spine = spine_find_or_add(s, spine);
    return s->nblocks++;
}

int sched_node_add(sched *s, const char *name, int pool, int block,
                   int gpus, int cpus, int64_t mem_mb)
{
    if (s->finalized || pool < 0 || pool >= s->npools || block < -1 ||
        block >= s->nblocks || gpus < 1 || cpus < 0 || mem_mb < 0 || !name || !*name)
        return -1;
    if (s->nnodes == s->capnodes) {
        s->capnodes = s->capnodes ? s->capnodes * 2 : 256;
        s->nodes = xrealloc(s->nodes, (size_t)s->capnodes * sizeof *s->nodes);
        s->node_names = xrealloc(s->node_names, (size_t)s->capnodes * sizeof *s->node_names);
    }
    snode *n = &s->nodes[s->nnodes];
    memset(n, 0, sizeof *n);
    copy_name(s->node_names[s->nnodes], name);
    n->pool = pool;
    n->block = block;
    n->cap_gpus = n->free_gpus = gpus;
    n->cap_cpus = n->free_cpus = cpus;
    n->cap_mem = n->free_mem = mem_mb;
    n->state = SCHED_NODE_UP;
    n->bucket = n->bprev = n->bnext = n->iprev = n->inext = -1;
    n->res_head = -1;
    spool *p = &s->pools[pool];
    if (gpus > p->maxgpn)
        p->maxgpn = gpus;
    if (p->mingpn == 0 || gpus < p->mingpn)
        p->mingpn = gpus;
    if (cpus > p->maxcpus)
        p->maxcpus = cpus;
    if (mem_mb > p->maxmem)
        p->maxmem = mem_mb;
    p->nnodes++;
    return s->nnodes++;
}

/*
 * Cells: one per (pool, block) pair in use, plus one per pool for nodes
 * without a block. Built once: O(N + B * P).
 */
int sched_finalize(sched *s, char *err, size_t errlen)
{
    if (s->finalized)
        return 0;
    if (s->nnodes == 0) {
        snprintf(err, errlen, "cluster: no nodes");
        return -1;
    }
    int32_t nb = s->nblocks + 1; /* slot nblocks = no block */
    int32_t *cellof = xrealloc(NULL, (size_t)s->npools * (size_t)nb * sizeof *cellof);
    for (int32_t i = 0; i < s->npools * nb; i++)
        cellof[i] = -1;
    s->cells = xrealloc(NULL, (size_t)s->nnodes * sizeof *s->cells);
    for (int32_t i = 0; i < s->nnodes; i++) {
        snode *n = &s->nodes[i];
        int32_t bi = n->block >= 0 ? n->block : s->nblocks;
        int32_t *slot = &cellof[n->pool * nb + bi];
        if (*slot < 0) {
            scell *c = &s->cells[s->ncells];
            memset(c, 0, sizeof *c);
            c->pool = n->pool;
            c->block = n->block;
            c->spine = n->block >= 0 ? s->blocks[n->block].spine : -1;
            c->idle_head = -1;
            *slot = s->ncells++;
        }
        n->cell = *slot;
    }
    free(cellof);
    for (int32_t p = 0; p < s->npools; p++) {
        spool *pl = &s->pools[p];
        if (pl->maxgpn > s->maxgpn)
            s->maxgpn = pl->maxgpn;
        pl->unit = pl->maxgpn == 1;
        pl->bucket = xrealloc(NULL, (size_t)(pl->maxgpn + 1) * sizeof *pl->bucket);
        pl->fail_c = xrealloc(NULL, (size_t)(pl->maxgpn + 1) * sizeof *pl->fail_c);
        pl->fail_m = xrealloc(NULL, (size_t)(pl->maxgpn + 1) * sizeof *pl->fail_m);
        for (int32_t b = 0; b <= pl->maxgpn; b++) {
            pl->bucket[b] = -1;
            pl->fail_c[b] = pl->fail_m[b] = INT64_MAX;
        }
        pl->cells = xrealloc(NULL, (size_t)(s->ncells ? s->ncells : 1) * sizeof *pl->cells);
        pl->ncells = 0;
    }
    for (int32_t c = 0; c < s->ncells; c++) {
        spool *pl = &s->pools[s->cells[c].pool];
        pl->cells[pl->ncells++] = c;
    }
    span_setup(s); /* span pools keep a bitmap, not the index below */
    /* insert in reverse so that lists read in node order */
    for (int32_t i = s->nnodes - 1; i >= 0; i--) {
        snode *n = &s->nodes[i];
        n->caprun = 1; /* s->nodes no longer moves: the inline slot stays put */
        n->run = n->run_inline;
        spool *pl = &s->pools[n->pool];
        pl->free_gpus += n->free_gpus;
        pl->idle_nodes++;
        idx_insert(s, i);
    }
    size_t nn = (size_t)s->nnodes;
    s->held = xrealloc(NULL, nn * sizeof *s->held);
    s->rnodes = xrealloc(NULL, nn * sizeof *s->rnodes);
    s->touch = xrealloc(NULL, nn * sizeof *s->touch);
    s->cand = xrealloc(NULL, nn * sizeof *s->cand);
    s->cand_gpus = xrealloc(NULL, nn * sizeof *s->cand_gpus);
    s->cand_pref = xrealloc(NULL, nn * sizeof *s->cand_pref);
    s->pick = xrealloc(NULL, nn * sizeof *s->pick);
    s->order = xrealloc(NULL, (size_t)s->ncells * sizeof *s->order);
    s->quota = xrealloc(NULL, (size_t)s->ncells * sizeof *s->quota);
    s->spine_count = xrealloc(NULL, (size_t)(s->nspines + 1) * sizeof *s->spine_count);
    s->finalized = 1;
    return 0;
}

int sched_pool_count(const sched *s) { return s->npools; }

int sched_pool_mask(const sched *s, const char *spec, int strict, uint64_t *mask, char *err,
                    size_t errlen)
{
    *mask = 0;
    if (!spec || !*spec)
        return 0;
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, "|");
        char name[SCHED_NAMELEN];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int i = sched_pool_find(s, name);
        if (i >= 0) {
            *mask |= (uint64_t)1 << i;
        } else if (strict) {
            snprintf(err, errlen, "no pool \"%s\" in this cluster", name);
            return -1;
        }
        p += n;
        if (*p == '|')
            p++;
    }
    if (*mask == 0) {
        snprintf(err, errlen, "none of the pools \"%s\" is in this cluster", spec);
        return -1;
    }
    return 0;
}
int sched_node_count(const sched *s) { return s->nnodes; }

int sched_pool_find(const sched *s, const char *name)
{
    for (int32_t i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].name, name) == 0)
            return i;
    return -1;
}

const char *sched_pool_name(const sched *s, int pool)
{
    return pool >= 0 && pool < s->npools ? s->pools[pool].name : "";
}

int sched_node_find(const sched *s, const char *name)
{
    for (int32_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->node_names[i], name) == 0)
            return i;
    return -1;
}

const char *sched_node_name(const sched *s, int node)
{
    return node >= 0 && node < s->nnodes ? s->node_names[node] : "";
}

int sched_node_block(const sched *s, int node)
{
    return node >= 0 && node < s->nnodes ? s->nodes[node].block : -1;
}

const char *sched_block_name(const sched *s, int block)
{
    return block >= 0 && block < s->nblocks ? s->blocks[block].name : "";
}

int sched_node_free_gpus(const sched *s, int node)
{
    if (node < 0 || node >= s->nnodes)
        return -1;
    int32_t g, c, nj;
    int64_t m;
    span_node_view(s, node, &g, &c, &m, &nj);
    return g;
}

int sched_node_get(const sched *s, int node, sched_node_info *o)
{
    if (node < 0 || node >= s->nnodes)
        return -1;
    const snode *n = &s->nodes[node];
    o->name = s->node_names[node];
    o->pool = s->pools[n->pool].name;
    o->block = n->block >= 0 ? s->blocks[n->block].name : "";
    int32_t g, c, nj;
    int64_t m;
    span_node_view(s, node, &g, &c, &m, &nj);
    o->gpus = n->cap_gpus;
    o->free_gpus = g;
    o->cpus = n->cap_cpus;
    o->free_cpus = c;
    o->mem_mb = n->cap_mem;
    o->free_mem_mb = m;
    o->state = n->state;
    o->njobs = nj;
    return 0;
}

int64_t sched_total_gpus(const sched *s)
{
    int64_t t = 0;
    for (int32_t i = 0; i < s->nnodes; i++)
        t += s->nodes[i].cap_gpus;
    return t;
}

int64_t sched_free_gpus(const sched *s)
{
    int64_t t = 0;
    for (int32_t p = 0; p < s->npools; p++)
        t += s->pools[p].free_gpus;
    return t;
}

/* Pool totals count UP nodes only, so a DOWN or draining node's GPUs are
 * never offered. O(1) plus the index update. */
static void pool_account(sched *s, int32_t n, int sign)
{
    snode *nd = &s->nodes[n];
    if (nd->state != SCHED_NODE_UP)
        return;
    spool *p = &s->pools[nd->pool];
    p->free_gpus += sign * nd->free_gpus;
    if (nd->free_gpus == nd->cap_gpus)
        p->idle_nodes += sign;
}

int sched_node_set_state(sched *s, int node, int state)
{
    if (!s->finalized || node < 0 || node >= s->nnodes || state < SCHED_NODE_UP ||
        state > SCHED_NODE_DOWN)
        return -1;
    s->epoch++;
    if (s->pools[s->nodes[node].pool].span) {
        span_set_state(s, node, state); /* the bitmap, not the index: O(1) */
        return 0;
    }
    pool_account(s, node, -1);
    idx_remove(s, node);
    spool *pl = &s->pools[s->nodes[node].pool];
    pl->nonup += (state != SCHED_NODE_UP) - (s->nodes[node].state != SCHED_NODE_UP);
    s->nodes[node].state = state;
    pool_account(s, node, +1);
    idx_insert(s, node);
    return 0;
}

void sched_set_policy(sched *s, int policy) { s->policy = policy; s->epoch++; }
void sched_set_depth(sched *s, int depth) { s->depth = depth < 0 ? 0 : depth; s->epoch++; }

/* ---- the pending queue -------------------------------------------------
 * Ordered by priority (higher first), then submit time, then id, then
 * submission order: the FCFS order of the classic model when priorities
 * are equal. Insertion walks back from the tail, so in-order arrivals cost
 * O(1); an out-of-order arrival costs O(jobs it passes).
 */
static int queue_before(const sched_job *a, const sched_job *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    if (a->submit != b->submit)
        return a->submit < b->submit;
    if (a->id != b->id)
        return a->id < b->id;
    return a->seq < b->seq;
}

static void queue_insert(sched *s, sched_job *j)
{
    sched_job *after = s->qtail;
    while (after && queue_before(j, after))
        after = after->qprev;
    j->qprev = after;
    j->qnext = after ? after->qnext : s->qhead;
    if (j->qnext)
        j->qnext->qprev = j;
    else
        s->qtail = j;
    if (after)
        after->qnext = j;
    else
        s->qhead = j;
    s->npending++;
}

static void queue_remove(sched *s, sched_job *j)
{
    if (j->qprev)
        j->qprev->qnext = j->qnext;
    else
        s->qhead = j->qnext;
    if (j->qnext)
        j->qnext->qprev = j->qprev;
    else
        s->qtail = j->qprev;
    j->qprev = j->qnext = NULL;
    s->npending--;
}

sched_job *sched_queue_first(const sched *s)
{
    return s->qhead;
}

sched_job *sched_queue_next(const sched_job *j)
{
    return j->state == SCHED_JOB_PENDING ? j->qnext : NULL;
}

/* New priorities for every pending job: fn returns each job's priority,
 * then the queue is sorted again by the queue order (priority, submit, id,
 * seq: equal keys cannot occur, so the order is total) and relinked.
 * The keys are copied into one array first, so the sort reads contiguous
 * memory instead of chasing list links (100,000 jobs: a pointer chase per
 * comparison made a list merge sort ~0.4 s; the array sort takes a few
 * ms). O(pending log pending); the array is allocated per call (not in
 * the pass); on allocation failure the list merge sort below is used. */
typedef struct rekey {
    int64_t priority, submit, id;
    uint64_t seq;
    sched_job *job;
} rekey;

static int rekey_cmp(const void *pa, const void *pb)
{
    const rekey *a = pa, *b = pb;
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->submit != b->submit)
        return a->submit < b->submit ? -1 : 1;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void relist_merge_sort(sched *s, size_t n)
{
    /* bottom-up merge sort on the qnext chain: no memory needed */
    sched_job *list = s->qhead;
    for (size_t width = 1; width < n; width *= 2) {
        sched_job *head = NULL, **tail = &head, *p = list;
        while (p) {
            sched_job *a = p, *b = p;
            size_t na = 0, nb = 0;
            while (b && na < width) {
                b = b->qnext;
                na++;
            }
            p = b;
            while (p && nb < width) {
                p = p->qnext;
                nb++;
            }
            while (na || nb) {
                sched_job *take;
                if (na && (!nb || !queue_before(b, a))) {
                    take = a;
                    a = a->qnext;
                    na--;
                } else {
                    take = b;
                    b = b->qnext;
                    nb--;
                }
                *tail = take;
                tail = &take->qnext;
            }
        }
        *tail = NULL;
        list = head;
    }
    s->qhead = list;
}

void sched_reprioritize(sched *s, int64_t (*fn)(const sched_job *job, void *arg), void *arg)
{
    size_t n = 0;
    for (sched_job *j = s->qhead; j; j = j->qnext) {
        j->priority = fn(j, arg);
        n++;
    }
    if (n < 2)
        return;
    rekey *keys = malloc(n * sizeof *keys);
    if (keys) {
        size_t i = 0;
        for (sched_job *j = s->qhead; j; j = j->qnext)
            keys[i++] = (rekey){j->priority, j->submit, j->id, j->seq, j};
        qsort(keys, n, sizeof *keys, rekey_cmp);
        for (i = 0; i < n; i++)
            keys[i].job->qnext = i + 1 < n ? keys[i + 1].job : NULL;
        s->qhead = keys[0].job;
        free(keys);
    } else {
        relist_merge_sort(s, n);
    }
    sched_job *prev = NULL;
    for (sched_job *j = s->qhead; j; j = j->qnext) {
        j->qprev = prev;
        prev = j;
    }
    s->qtail = prev;
    s->epoch++;
}

/* Nodes a job needs in a pool: see sched_job_shape() in pass.c. The
 * largest over its allowed pools sizes its allocation array. */
int sched_job_shape(const sched *s, const sched_job *j, int pool,
                    int32_t *k, int32_t *g, int *whole);

/* Validation shared by sched_check and sched_submit; returns the largest
 * node count over the allowed pools (sizes the allocation), or -1. */
static int32_t validate(const sched *s, const sched_job *j, char *err, size_t errlen)
{
    if (!s->finalized) {
        snprintf(err, errlen, "cluster: not finalized");
        return -1;
    }
    if (j->time_limit < 0) {
        snprintf(err, errlen, "time_limit: must be >= 0, got %lld", (long long)j->time_limit);
        return -1;
    }
    if (j->nodes < 0 || (j->nodes == 0 && j->gpus < 1)) {
        snprintf(err, errlen, j->nodes < 0 ? "nodes: must be >= 1" : "gpus: must be >= 1");
        return -1;
    }
    if (j->nodes > 0 && j->gpus_per_node < 0) {
        snprintf(err, errlen, "gpus_per_node: must be >= 0");
        return -1;
    }
    if (j->cpus_per_gpu < 0 || j->mem_per_gpu_mb < 0) {
        snprintf(err, errlen, j->cpus_per_gpu < 0 ? "cpus_per_gpu: must be >= 0"
                                                   : "mem_per_gpu: must be >= 0");
        return -1;
    }
    uint64_t allowed = j->pools ? j->pools : ~(uint64_t)0;
    int32_t maxk = 0;
    int anypool = 0;
    for (int p = 0; p < s->npools; p++) {
        if (!(allowed >> p & 1))
            continue;
        anypool = 1;
        int32_t k, g;
        int whole;
        if (sched_job_shape(s, j, p, &k, &g, &whole) == 0 && k > maxk)
            maxk = k;
    }
    if (!anypool) {
        snprintf(err, errlen, "pool: no such pool");
        return -1;
    }
    if (maxk == 0) {
        snprintf(err, errlen, "gpus: the request (%lld GPUs%s) can never fit any allowed pool",
                 j->nodes > 0 ? (long long)j->nodes * (j->gpus_per_node ? j->gpus_per_node : 1)
                              : (long long)j->gpus,
                 j->nodes > 0 ? " as a gang" : "");
        return -1;
    }
    return maxk;
}

int sched_check(const sched *s, const sched_job *j, char *err, size_t errlen)
{
    return validate(s, j, err, errlen) < 0 ? -1 : 0;
}

int sched_submit(sched *s, sched_job *j, char *err, size_t errlen)
{
    int32_t maxk = validate(s, j, err, errlen);
    if (maxk < 0)
        return -1;
    j->alloc = xrealloc(NULL, (size_t)maxk * sizeof *j->alloc);
    j->alloc_cap = maxk;
    j->nalloc = 0;
    j->alloced_gpus = 0;
    j->state = SCHED_JOB_PENDING;
    j->reason = SCHED_REASON_NONE;
    j->est_start = -1;
    j->start = -1;
    j->end_by = 0; /* a fresh run: no bound from an earlier one (sched_job_end_by) */
    j->pool = -1;
    j->seq = s->seq++;
    j->qneed = job_need_bound(s, j);
    j->tleft = j->tright = NULL;
    if (s->resv_job && queue_before(j, s->resv_job))
        s->epoch++; /* ahead of the kept reservation: plan afresh */
    queue_insert(s, j);
    return 0;
}

int sched_cancel(sched *s, sched_job *j)
{
    if (j->state != SCHED_JOB_PENDING)
        return -1;
    s->epoch++;
    if (j == s->resv_job)
        s->resv_job = NULL;
    queue_remove(s, j);
    free(j->alloc);
    j->alloc = NULL;
    j->alloc_cap = 0;
    j->state = SCHED_JOB_DONE;
    return 0;
}

void node_run_add(snode *n, sched_job *j, const sched_alloc *a)
{
    if (n->nrun == n->caprun) {
        int32_t cap = n->caprun < 4 ? 4 : n->caprun * 2;
        srun *r = xrealloc(n->run == n->run_inline ? NULL : n->run, (size_t)cap * sizeof *r);
        if (n->run == n->run_inline)
            memcpy(r, n->run_inline, sizeof n->run_inline);
        n->run = r;
        n->caprun = cap;
    }
    n->run[n->nrun++] = (srun){j, a->gpus, a->cpus, a->mem_mb};
}

void node_run_del(snode *n, sched_job *j)
{
    for (int32_t i = 0; i < n->nrun; i++)
        if (n->run[i].job == j) {
            n->run[i] = n->run[--n->nrun];
            return;
        }
}

/* Apply or release an allocation on its nodes, keeping the index and pool
 * totals right. O(nodes of the job); in a span pool O(runs + k/64) on the
 * free bitmap instead (span.c). */
static void alloc_apply(sched *s, sched_job *j, int sign)
{
    if (j->nalloc > 0 && s->pools[j->pool].span) {
        span_apply(s, j, sign);
        return;
    }
    for (int32_t i = 0; i < j->nalloc; i++) {
        const sched_alloc *a = &j->alloc[i];
        snode *n = &s->nodes[a->node];
        pool_account(s, a->node, -1);
        if (!n->held)
            idx_remove(s, a->node);
        n->free_gpus -= sign * a->gpus;
        n->free_cpus -= sign * a->cpus;
        n->free_mem -= sign * a->mem_mb;
        if (sign > 0)
            node_run_add(n, j, a);
        else
            node_run_del(n, j);
        pool_account(s, a->node, +1);
        if (!n->held)
            idx_insert(s, a->node);
    }
}

/* Start a pending job on the allocation already written in j->alloc;
 * taken: its nodes are already taken (span_take). */
void sched_start_job(sched *s, sched_job *j, int64_t now, int taken)
{
    /* A job on whole nodes of one cell frees them whole, together: the
     * reservation walk then counts it in O(1) instead of node by node. */
    j->wholecell = 0;
    if (j->nalloc > 0 && s->pools[j->pool].span) {
        /* a span pool is one cell of one-GPU nodes: always whole, O(1) */
        j->wholecell = s->nodes[j->alloc[0].node].cell + 1;
    } else if (j->nalloc > 0) {
        int32_t cell = s->nodes[j->alloc[0].node].cell;
        int whole = 1;
        for (int32_t i = 0; i < j->nalloc && whole; i++) {
            const snode *n = &s->nodes[j->alloc[i].node];
            whole = n->cell == cell && j->alloc[i].gpus == n->cap_gpus;
        }
        if (whole)
            j->wholecell = cell + 1;
    }
    queue_remove(s, j);
    j->state = SCHED_JOB_RUNNING;
    j->start = now;
    j->end_by = now + j->time_limit; /* the running set's key */
    j->reason = SCHED_REASON_NONE;
    j->est_start = -1;
    if (!taken)
        alloc_apply(s, j, +1);
    run_insert(s, j);
}

void sched_job_end(sched *s, sched_job *j, int64_t now)
{
    (void)now;
    if (j->state != SCHED_JOB_RUNNING)
        return;
    s->epoch++;
    run_remove(s, j);
    alloc_apply(s, j, -1);
    j->state = SCHED_JOB_DONE;
    free(j->alloc);
    j->alloc = NULL;
    j->alloc_cap = 0;
}

/* A running job will end by t: re-keyed in the running set, and the kept
 * EASY reservation (planned with its old end) is planned afresh. O(log R). */
int sched_job_end_by(sched *s, sched_job *j, int64_t t)
{
    if (j->state != SCHED_JOB_RUNNING || t < j->start)
        return -1;
    if (t >= j->end_by)
        return 1; /* only ever earlier */
    run_rekey(s, j, t);
    s->epoch++;
    return 0;
}

int sched_restore_running(sched *s, sched_job *j, const int32_t *nodes, int32_t nnodes,
                          int64_t start, char *err, size_t errlen)
{
    if (nnodes < 1) {
        snprintf(err, errlen, "nodes: a running job needs at least one node");
        return -1;
    }
    int32_t pool = -1;
    for (int32_t i = 0; i < nnodes; i++) {
        if (nodes[i] < 0 || nodes[i] >= s->nnodes) {
            snprintf(err, errlen, "nodes: unknown node index %d", nodes[i]);
            return -1;
        }
        if (pool >= 0 && s->nodes[nodes[i]].pool != pool) {
            snprintf(err, errlen, "nodes: a job's nodes must share one pool");
            return -1;
        }
        pool = s->nodes[nodes[i]].pool;
    }
    int32_t k, g;
    int whole;
    if (sched_job_shape(s, j, pool, &k, &g, &whole) != 0 || k != nnodes) {
        snprintf(err, errlen, "nodes: %d nodes do not match the job's request", nnodes);
        return -1;
    }
    for (int32_t i = 0; i < nnodes; i++) {
        const snode *n = &s->nodes[nodes[i]];
        int64_t c = whole ? n->cap_cpus : (int64_t)g * j->cpus_per_gpu;
        int64_t m = whole ? n->cap_mem : (int64_t)g * j->mem_per_gpu_mb;
        int32_t gg = whole ? n->cap_gpus : g;
        int32_t fg, fc, nj;
        int64_t fm;
        span_node_view(s, nodes[i], &fg, &fc, &fm, &nj);
        if (fg < gg || fc < c || fm < m) {
            snprintf(err, errlen, "nodes: %s lacks the capacity", s->node_names[nodes[i]]);
            return -1;
        }
    }
    if (s->pools[pool].span && span_has_duplicates(s, nodes, nnodes)) {
        snprintf(err, errlen, "nodes: a node is listed twice");
        return -1;
    }
    /* queue it as submit would, then start it where it ran */
    if (sched_submit(s, j, err, errlen) != 0)
        return -1;
    int64_t gpus = 0;
    j->pool = pool;
    j->nalloc = nnodes;
    for (int32_t i = 0; i < nnodes; i++) {
        const snode *n = &s->nodes[nodes[i]];
        sched_alloc *a = &j->alloc[i];
        a->node = nodes[i];
        a->gpus = whole ? n->cap_gpus : g;
        a->cpus = whole ? n->cap_cpus : g * j->cpus_per_gpu;
        a->mem_mb = whole ? n->cap_mem : (int64_t)g * j->mem_per_gpu_mb;
        gpus += a->gpus;
    }
    j->alloced_gpus = (int32_t)gpus;
    sched_start_job(s, j, start, 0);
    return 0;
}

size_t sched_pending_count(const sched *s) { return s->npending; }
size_t sched_running_count(const sched *s) { return s->nrunning; }

size_t sched_job_footprint(const sched_job *j)
{
    return sizeof *j + (size_t)j->alloc_cap * sizeof(sched_alloc);
}

const char *sched_policy_name(int policy)
{
    switch (policy) {
    case SCHED_FCFS: return "fcfs";
    case SCHED_EASY: return "easy";
    case SCHED_CONSERVATIVE: return "conservative";
    }
    return "?";
}

int sched_policy_parse(const char *name)
{
    for (int p = SCHED_FCFS; p <= SCHED_CONSERVATIVE; p++)
        if (strcmp(name, sched_policy_name(p)) == 0)
            return p;
    return -1;
}

const char *sched_reason_name(int reason)
{
    switch (reason) {
    case SCHED_REASON_NONE: return "none";
    case SCHED_REASON_PRIORITY: return "priority";
    case SCHED_REASON_RESOURCES: return "resources";
    case SCHED_REASON_UNAVAILABLE: return "unavailable";
    case SCHED_REASON_HELD: return "held";
    case SCHED_REASON_RESERVATION: return "reservation";
    }
    return "?";
}
