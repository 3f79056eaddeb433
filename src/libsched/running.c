/*
 * running.c: the running set, a treap keyed by (expected end, seq).
 *
 * The expected end is j->end_by (job_expected_end): start + time limit
 * from the start, earlier once sched_job_end_by said so; a change of it
 * re-keys the job (run_rekey), so in-order walks always see ends sorted.
 * The reservation walk visits running jobs in order of expected end and
 * stops as soon as the top job fits, so it costs O(log R + k) for the k
 * jobs it visits; insert and remove are O(log R) expected. Treap priorities
 * are a hash of the job's sequence number: deterministic, no RNG state.
 */
#include "sched_internal.h"

static int key_less(const sched_job *a, const sched_job *b)
{
    int64_t ea = job_expected_end(a), eb = job_expected_end(b);
    if (ea != eb)
        return ea < eb;
    return a->seq < b->seq;
}

static uint32_t hash_seq(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

static sched_job *rot_right(sched_job *t)
{
    sched_job *l = t->tleft;
    t->tleft = l->tright;
    l->tright = t;
    return l;
}

static sched_job *rot_left(sched_job *t)
{
    sched_job *r = t->tright;
    t->tright = r->tleft;
    r->tleft = t;
    return r;
}

static sched_job *insert(sched_job *t, sched_job *j)
{
    if (!t)
        return j;
    if (key_less(j, t)) {
        t->tleft = insert(t->tleft, j);
        if (t->tleft->tprio > t->tprio)
            t = rot_right(t);
    } else {
        t->tright = insert(t->tright, j);
        if (t->tright->tprio > t->tprio)
            t = rot_left(t);
    }
    return t;
}

static sched_job *merge(sched_job *a, sched_job *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (a->tprio > b->tprio) {
        a->tright = merge(a->tright, b);
        return a;
    }
    b->tleft = merge(a, b->tleft);
    return b;
}

static sched_job *erase(sched_job *t, sched_job *j)
{
    if (!t)
        return NULL;
    if (t == j)
        return merge(t->tleft, t->tright);
    if (key_less(j, t))
        t->tleft = erase(t->tleft, j);
    else
        t->tright = erase(t->tright, j);
    return t;
}

void run_insert(sched *s, sched_job *j)
{
    j->tleft = j->tright = NULL;
    j->tprio = hash_seq(j->seq);
    s->troot = insert(s->troot, j);
    s->nrunning++;
}

void run_remove(sched *s, sched_job *j)
{
    s->troot = erase(s->troot, j);
    j->tleft = j->tright = NULL;
    s->nrunning--;
}

void run_rekey(sched *s, sched_job *j, int64_t end)
{
    s->troot = erase(s->troot, j); /* found under its old key */
    j->tleft = j->tright = NULL;
    j->end_by = end;
    s->troot = insert(s->troot, j);
}

static int walk(sched_job *t, int (*fn)(sched_job *, void *), void *arg)
{
    while (t) {
        int r = walk(t->tleft, fn, arg);
        if (r)
            return r;
        r = fn(t, arg);
        if (r)
            return r;
        t = t->tright;
    }
    return 0;
}

int run_walk(const sched *s, int (*fn)(sched_job *j, void *arg), void *arg)
{
    return walk(s->troot, fn, arg);
}
