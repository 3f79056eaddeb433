/*
 * index.c: the free-capacity index of the cluster.
 *
 * Every UP node with at least one free GPU sits in its pool's bucket list
 * for its number of free GPUs; every UP node with all GPUs free also sits in
 * its cell's idle list. In a pool of one-GPU nodes the two would hold the
 * same nodes, so only the idle lists are kept there; span pools (one-GPU
 * nodes, no topology, all alike: span.c) keep a bitmap instead of either.
 * Best-fit placement of a single-node job scans buckets upward from the
 * GPUs it needs: O(gpus per node) buckets. A gang takes idle
 * nodes straight from cell lists: O(nodes taken). Insert and remove are O(1).
 * Pool totals (free GPUs, idle nodes) give O(1) rejection of jobs that
 * cannot fit at all, and each bucket remembers the CPUs and memory a scan
 * of it last failed to find (until a node enters it), which rejects a
 * request at least as large in O(1) instead of a scan of the bucket.
 */
#include "sched_internal.h"

void idx_remove(sched *s, int32_t n)
{
    snode *nd = &s->nodes[n];
    spool *p = &s->pools[nd->pool];
    if (p->span)
        return; /* span pools keep their free nodes in a bitmap (span.c) */
    if (nd->bucket >= 0) {
        if (nd->bprev >= 0)
            s->nodes[nd->bprev].bnext = nd->bnext;
        else
            p->bucket[nd->bucket] = nd->bnext;
        if (nd->bnext >= 0)
            s->nodes[nd->bnext].bprev = nd->bprev;
        nd->bucket = -1;
        nd->bprev = nd->bnext = -1;
    }
    if (nd->in_idle) {
        scell *c = &s->cells[nd->cell];
        if (nd->iprev >= 0)
            s->nodes[nd->iprev].inext = nd->inext;
        else
            c->idle_head = nd->inext;
        if (nd->inext >= 0)
            s->nodes[nd->inext].iprev = nd->iprev;
        c->idle_count--;
        nd->in_idle = 0;
        nd->iprev = nd->inext = -1;
    }
}

/* A node goes at the head of its lists: O(1). Among equal candidates the
 * most recently freed node is used first; at start the lists read in node
 * order. Either way placement is deterministic: the same events give the
 * same nodes. */
void idx_insert(sched *s, int32_t n)
{
    snode *nd = &s->nodes[n];
    spool *p = &s->pools[nd->pool];
    if (p->span || nd->state != SCHED_NODE_UP || nd->held || nd->free_gpus <= 0)
        return;
    /* the node may hold what a failed scan of its bucket (the idle lists,
     * in a pool of one-GPU nodes) looked for: forget that failure */
    p->fail_c[nd->free_gpus] = INT64_MAX;
    p->fail_m[nd->free_gpus] = INT64_MAX;
    if (!p->unit) {
        int b = nd->free_gpus;
        nd->bucket = b;
        nd->bprev = -1;
        nd->bnext = p->bucket[b];
        if (nd->bnext >= 0)
            s->nodes[nd->bnext].bprev = n;
        p->bucket[b] = n;
    }
    if (nd->free_gpus == nd->cap_gpus) {
        scell *c = &s->cells[nd->cell];
        nd->in_idle = 1;
        nd->iprev = -1;
        nd->inext = c->idle_head;
        if (nd->inext >= 0)
            s->nodes[nd->inext].iprev = n;
        c->idle_head = n;
        c->idle_count++;
    }
}
