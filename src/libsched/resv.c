/*
 * resv.c: operators' reservations of nodes over a time window.
 *
 *   maintenance  no job may run on the nodes during [start, end): a job
 *                whose window [now, now + time_limit) would reach past the
 *                start is not placed there (it may start on other nodes, or
 *                wait until the end). Running jobs are never stopped.
 *   project      during [start, end) only jobs of the listed accounts or
 *                users may run on the nodes; outside it they are normal, and
 *                the project's jobs may use other nodes too.
 *
 * Both are one rule: a reservation that binds a job (resv_binds) takes the
 * whole of each of its nodes over its window, for that job. The pass
 * (pass.c) applies the reservations not over yet as node reservations of
 * the same kind as a waiting job's (sresv, marked with op >= 0): reserved
 * nodes leave the free-capacity index for the pass, and every placement
 * that may use them (place_now, place_at, the reservation walk) checks them
 * node by node over the job's window, skipping the reservations that do not
 * bind the job. The availability profiles (conservative backfill and start
 * estimates) take a maintenance window's GPUs out of the pool over the
 * window, and a project window's out of the free GPUs each job not of the
 * project sees (resv_proj_gpus).
 *
 * In a span pool (span.c: one-GPU nodes placed by counts over a free
 * bitmap) the same rule holds, but its nodes keep no sresv entries: a pool
 * that some reservation covers is marked (span_ops) for the pass, and there
 * placement and the first reservation take the reserved nodes apart, one
 * by one, marking those a reservation binding the job holds over its window
 * (resv_span_block); the other nodes are still counted. A span pool no
 * reservation covers keeps its O(1) counts.
 *
 * The list is small (operators add a few), kept in the order added.
 * Nothing here runs when there are none: the pass tests s->noresv.
 */
#include "sched_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort(); /* out of memory: fail loudly, as the rest of libsched */
    return p;
}

static void *dup_array(const void *src, size_t n, size_t elem)
{
    void *p = xmalloc(n * elem);
    if (n)
        memcpy(p, src, n * elem);
    return p;
}

const char *sched_resv_kind_name(int kind)
{
    switch (kind) {
    case SCHED_RESV_MAINTENANCE: return "maintenance";
    case SCHED_RESV_PROJECT: return "project";
    }
    return "?";
}

int sched_resv_kind_parse(const char *name)
{
    for (int k = SCHED_RESV_MAINTENANCE; k <= SCHED_RESV_PROJECT; k++)
        if (name && strcmp(name, sched_resv_kind_name(k)) == 0)
            return k;
    return -1;
}

int sched_resv_count(const sched *s) { return s->noresv; }

int sched_resv_find(const sched *s, const char *name)
{
    for (int32_t i = 0; name && i < s->noresv; i++)
        if (strcmp(s->oresv[i].name, name) == 0)
            return i;
    return -1;
}

/* Validates and copies. O(nodes) with a mark per node for duplicates. */
int sched_resv_add(sched *s, const char *name, int kind, int64_t start, int64_t end,
                   const int32_t *nodes, int32_t nnodes, const uint32_t *accounts,
                   int32_t naccounts, const uint32_t *users, int32_t nusers, char *err,
                   size_t errlen)
{
    if (!s->finalized) {
        snprintf(err, errlen, "cluster: not finalized");
        return -1;
    }
    if (!name || !*name || strlen(name) >= SCHED_NAMELEN) {
        snprintf(err, errlen, "name: must be 1 to %d characters", SCHED_NAMELEN - 1);
        return -1;
    }
    if (sched_resv_find(s, name) >= 0) {
        snprintf(err, errlen, "name: a reservation \"%s\" exists", name);
        return -1;
    }
    if (kind != SCHED_RESV_MAINTENANCE && kind != SCHED_RESV_PROJECT) {
        snprintf(err, errlen, "kind: must be maintenance or project");
        return -1;
    }
    if (start < 0) {
        snprintf(err, errlen, "start: must be >= 0, got %lld", (long long)start);
        return -1;
    }
    if (end <= start) {
        snprintf(err, errlen, "end: must be after start (%lld), got %lld", (long long)start,
                 (long long)end);
        return -1;
    }
    if (nnodes < 1 || !nodes) {
        snprintf(err, errlen, "nodes: at least one node is required");
        return -1;
    }
    if (naccounts < 0 || nusers < 0 || (naccounts > 0 && !accounts) || (nusers > 0 && !users)) {
        snprintf(err, errlen, naccounts < 0 || (naccounts > 0 && !accounts)
                                  ? "accounts: invalid list"
                                  : "users: invalid list");
        return -1;
    }
    if (kind == SCHED_RESV_PROJECT && naccounts + nusers == 0) {
        snprintf(err, errlen, "accounts: a project reservation needs accounts or users");
        return -1;
    }
    if (kind == SCHED_RESV_MAINTENANCE && naccounts + nusers > 0) {
        snprintf(err, errlen, "%s: a maintenance reservation admits no job",
                 naccounts ? "accounts" : "users");
        return -1;
    }
    int32_t bad = -1;
    const char *why = NULL;
    for (int32_t i = 0; i < nnodes && !why; i++) {
        int32_t n = nodes[i];
        if (n < 0 || n >= s->nnodes) {
            bad = n;
            why = "unknown";
        } else if (s->nodes[n].touched) {
            bad = n;
            why = "twice";
        } else {
            s->nodes[n].touched = 1; /* a mark, cleared below */
        }
    }
    for (int32_t i = 0; i < nnodes; i++)
        if (nodes[i] >= 0 && nodes[i] < s->nnodes)
            s->nodes[nodes[i]].touched = 0;
    if (why) {
        if (why[0] == 'u')
            snprintf(err, errlen, "nodes: unknown node index %d", bad);
        else
            snprintf(err, errlen, "nodes: %s is listed twice", s->node_names[bad]);
        return -1;
    }
    int span = 0;
    for (int32_t i = 0; i < nnodes && !span; i++)
        span = s->pools[s->nodes[nodes[i]].pool].span;
    if (span && !s->span_mark) { /* marks of resv_span_block; freed by span_free_all */
        s->span_mark = calloc((size_t)s->nnodes, sizeof *s->span_mark);
        if (!s->span_mark)
            abort();
        s->span_gen = 0;
    }
    if (s->noresv == s->caporesv) {
        s->caporesv = s->caporesv ? 2 * s->caporesv : 8;
        soresv *v = realloc(s->oresv, (size_t)s->caporesv * sizeof *v);
        if (!v)
            abort();
        s->oresv = v;
        free(s->opends);
        s->opends = xmalloc((size_t)s->caporesv * sizeof *s->opends);
    }
    if (!s->opnodes)
        s->opnodes = xmalloc((size_t)s->nnodes * sizeof *s->opnodes);
    soresv *r = &s->oresv[s->noresv++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->kind = kind;
    r->start = start;
    r->end = end;
    r->nodes = dup_array(nodes, (size_t)nnodes, sizeof *nodes);
    r->nnodes = nnodes;
    r->accounts = dup_array(accounts, (size_t)naccounts, sizeof *accounts);
    r->naccounts = naccounts;
    r->users = dup_array(users, (size_t)nusers, sizeof *users);
    r->nusers = nusers;
    s->epoch++; /* a kept EASY reservation is planned afresh */
    return 0;
}

int sched_resv_remove(sched *s, const char *name)
{
    int i = sched_resv_find(s, name);
    if (i < 0)
        return -1;
    soresv *r = &s->oresv[i];
    free(r->nodes);
    free(r->accounts);
    free(r->users);
    memmove(r, r + 1, (size_t)(s->noresv - i - 1) * sizeof *r);
    s->noresv--;
    s->epoch++;
    return 0;
}

int sched_resv_get(const sched *s, int i, sched_resv_info *o)
{
    if (i < 0 || i >= s->noresv)
        return -1;
    const soresv *r = &s->oresv[i];
    *o = (sched_resv_info){r->name,   r->kind,     r->start, r->end,    r->nodes,
                           r->nnodes, r->accounts, r->naccounts, r->users, r->nusers};
    return 0;
}

/* ---- in the pass ----------------------------------------------------------- */

int resv_binds(const sched *s, int32_t op, const sched_job *j)
{
    const soresv *r = &s->oresv[op];
    if (r->kind == SCHED_RESV_MAINTENANCE || !j)
        return 1;
    for (int32_t i = 0; i < r->naccounts; i++)
        if (r->accounts[i] == j->account)
            return 0;
    for (int32_t i = 0; i < r->nusers; i++)
        if (r->users[i] == j->user)
            return 0;
    return 1;
}

void resv_entry_add(sched *s, int32_t n, int64_t start, int64_t end, int32_t gpus,
                    int32_t cpus, int64_t mem, int32_t op)
{
    snode *nd = &s->nodes[n];
    if (s->nrv == s->caprv) {
        size_t cap = s->caprv ? 2 * s->caprv : 64;
        sresv *v = realloc(s->rv, cap * sizeof *v);
        if (!v)
            abort();
        s->rv = v;
        s->caprv = cap;
    }
    if (nd->res_head < 0)
        s->rnodes[s->nrnodes++] = n;
    if (!nd->held && nd->free_gpus > 0 && nd->state == SCHED_NODE_UP) {
        idx_remove(s, n);
        nd->held = 1;
        s->held[s->nheld++] = n;
    }
    sresv *v = &s->rv[s->nrv];
    *v = (sresv){.node = n, .next = nd->res_head, .start = start, .end = end, .gpus = gpus,
                 .cpus = cpus, .mem = mem, .op = op};
    nd->res_head = (int32_t)s->nrv++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Each reservation not over at `now` becomes, on each of its nodes, an
 * entry over [max(start, now), end) of the whole node; the node leaves the
 * index (held) and is listed once in s->opnodes. Its end joins s->opends
 * (the times the reservation walk also tries). A node of a span pool gets
 * no entry: its pool is marked (span_ops) and the node listed, and span
 * placement asks resv_span_block. O(reserved nodes + R log R). */
void resv_apply(sched *s, int64_t now)
{
    s->nopnodes = 0;
    s->nopends = 0;
    s->op_now = now;
    for (int32_t i = 0; i < s->noresv; i++) {
        const soresv *r = &s->oresv[i];
        if (r->end <= now)
            continue;
        int64_t a = r->start > now ? r->start : now;
        for (int32_t k = 0; k < r->nnodes; k++) {
            int32_t n = r->nodes[k];
            snode *nd = &s->nodes[n];
            if (s->pools[nd->pool].span)
                s->span_ops |= (uint64_t)1 << nd->pool;
            else
                resv_entry_add(s, n, a, r->end, nd->cap_gpus, nd->cap_cpus, nd->cap_mem, i);
            if (!nd->opres) {
                nd->opres = 1;
                s->opnodes[s->nopnodes++] = n;
            }
        }
        s->opends[s->nopends++] = r->end;
        s->op_applied = 1;
    }
    qsort(s->opends, (size_t)s->nopends, sizeof *s->opends, cmp_i64);
}

int64_t resv_proj_gpus(const sched *s, int pool, const sched_job *j, int64_t t)
{
    int64_t g = 0;
    for (int32_t i = 0; i < s->noresv; i++) {
        const soresv *r = &s->oresv[i];
        if (r->kind != SCHED_RESV_PROJECT || t < r->start || t >= r->end || !resv_binds(s, i, j))
            continue;
        for (int32_t k = 0; k < r->nnodes; k++) {
            const snode *n = &s->nodes[r->nodes[k]];
            if (n->pool == pool && n->state == SCHED_NODE_UP)
                g += n->cap_gpus;
        }
    }
    return g;
}

/* The reservations binding j whose window [max(start, now), end) meets
 * [x, y) hold their nodes there: mark those of the span pool. The windows
 * as node_avail (pass.c) weighs them; callers pass y > x (a zero-length job
 * still holds its instant: [now, now + 1)). */
void resv_span_block(sched *s, int pool, const sched_job *j, int64_t x, int64_t y)
{
    if (++s->span_gen == 0) { /* wrapped: forget every old mark */
        memset(s->span_mark, 0, (size_t)s->nnodes * sizeof *s->span_mark);
        s->span_gen = 1;
    }
    if (s->op_ignore)
        return;
    int64_t now = s->op_now;
    for (int32_t i = 0; i < s->noresv; i++) {
        const soresv *r = &s->oresv[i];
        int64_t a = r->start > now ? r->start : now;
        if (r->end <= now || r->end <= x || a >= y || !resv_binds(s, i, j))
            continue;
        for (int32_t k = 0; k < r->nnodes; k++)
            if (s->nodes[r->nodes[k]].pool == pool)
                s->span_mark[r->nodes[k]] = s->span_gen;
    }
}
