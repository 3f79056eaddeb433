/*
 * acct_fairshare.c: usage with exponential decay, hierarchical fair share
 * (Fair Tree, as Slurm's) and the multifactor priority of a job.
 *
 * Usage is kept per node of the tree (members and every account above
 * them), lazily: a node stores its usage at some time t0 and the rate
 * `burn` at which its running jobs add to it (sum of gpus x charge rate).
 * With a half-life h, usage decays as 2^(-dt/h), so at t0 + dt
 *   usage = usage(t0) 2^(-dt/h) + burn * integral_0^dt 2^(-s/h) ds
 *         = usage(t0) d + burn (h / ln 2)(1 - d),   d = 2^(-dt/h)
 * which is exact for a constant burn between two events; every job start
 * and end brings the node up to date before changing its burn. So running
 * jobs are charged continuously, not when they end, at O(depth) per start
 * or end and O(1) per read.
 */
#include "acct_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN2 0.693147180559945309417232121458176568

/* The decay factor d over dt seconds and the decayed integral of a unit
 * burn over them. h = 0: no decay (d = 1, integral = dt). expm1 keeps
 * precision for dt much smaller than h. O(1). */
static void decay(int64_t half_life, double dt, double *d, double *integral)
{
    if (half_life <= 0) {
        *d = 1;
        *integral = dt;
        return;
    }
    double k = LN2 / (double)half_life;
    *d = exp(-k * dt);
    *integral = -expm1(-k * dt) / k;
}

void acct_usage_advance(const acct_center *a, anode *n, int64_t now)
{
    if (n->usage_at == INT64_MIN) {
        n->usage_at = now; /* nothing to decay yet: no usage, no burn */
        return;
    }
    if (now <= n->usage_at)
        return; /* time does not go backwards; a repeated instant is a no-op */
    double d, integral;
    decay(a->prio.half_life, (double)(now - n->usage_at), &d, &integral);
    n->usage = n->usage * d + n->burn * integral;
    n->usage_at = now;
}

void acct_burn_add(acct_center *a, int32_t node, double d, int dn, int64_t now)
{
    for (int32_t i = node; i >= 0; i = a->nodes[i].parent) {
        anode *n = &a->nodes[i];
        acct_usage_advance(a, n, now);
        n->nburn += dn;
        n->burn = n->nburn > 0 ? n->burn + d : 0; /* exact 0 when idle */
    }
}

void acct_charge(acct_center *a, int member, double amount, int64_t now)
{
    if (member < 0 || (size_t)member >= a->nnodes || !isfinite(amount) || amount <= 0)
        return;
    for (int32_t i = member; i >= 0; i = a->nodes[i].parent) {
        acct_usage_advance(a, &a->nodes[i], now);
        a->nodes[i].usage += amount;
    }
}

double acct_usage(const acct_center *a, int node, int64_t now)
{
    if (node < 0 || (size_t)node >= a->nnodes)
        return 0;
    anode n = a->nodes[node];
    acct_usage_advance(a, &n, now);
    return n.usage;
}

/* ---- Fair Tree ------------------------------------------------------------ */

/* One node in a group of siblings being ranked. */
typedef struct ftent {
    double lf;
    const char *name;
    int32_t id;
    int32_t member;
} ftent;

/* Descending level fair share; within a tie members first, then by name,
 * then by id: a total order, so the ranking is deterministic. */
static int ft_cmp(const void *pa, const void *pb)
{
    const ftent *x = pa, *y = pb;
    if (x->lf != y->lf)
        return x->lf > y->lf ? -1 : 1;
    if (x->member != y->member)
        return x->member ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->id > y->id) - (x->id < y->id);
}

/* Appends node id to the group g of *n entries. O(1). */
static void ft_push(const acct_center *a, ftent *g, size_t *n, int32_t id)
{
    const anode *nd = &a->nodes[id];
    g[(*n)++] = (ftent){nd->level_fs, nd->name, id, nd->level == ACCT_MEMBER};
}

/*
 * Ranks the group g[off .. off+n) (siblings, or the children of tied
 * siblings merged): sorted by LF, each run of equal LF gives its members
 * one rank (*next, then *next decreases by their count) and its accounts'
 * children, merged, are ranked the same way before the next run. The
 * children are written after the group in the scratch array: groups along
 * one recursion path lie at distinct depths, hence hold distinct nodes, so
 * N entries suffice. O(g log g) per group, O(N log N) in all; recursion
 * depth at most ACCT_MAX_DEPTH.
 */
static void rank_group(acct_center *a, size_t off, size_t n, int32_t *next)
{
    ftent *ft = a->ft;
    qsort(ft + off, n, sizeof *ft, ft_cmp);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && ft[off + j].lf == ft[off + i].lf)
            j++;
        int32_t nmem = 0;
        for (size_t k = i; k < j; k++)
            if (ft[off + k].member)
                a->nodes[ft[off + k].id].rank = *next, nmem++;
        *next -= nmem;
        size_t m = 0;
        for (size_t k = i; k < j; k++) {
            if (ft[off + k].member)
                continue;
            for (int32_t c = a->nodes[ft[off + k].id].first_child; c >= 0;
                 c = a->nodes[c].next_sibling)
                ft_push(a, ft + off + n, &m, c);
        }
        if (m > 0)
            rank_group(a, off + n, m, next);
        i = j;
    }
}

/* See acct.h for the rule. Steps: bring every node's usage to now (O(N));
 * LF of each node from its parent's sums of shares and usage (O(N), one
 * visit per parent and child); rank from the center's children down
 * (O(N log N)). */
void acct_fairshare_update(acct_center *a, int64_t now)
{
    for (size_t i = 0; i < a->nnodes; i++)
        acct_usage_advance(a, &a->nodes[i], now);
    for (size_t p = 0; p < a->nnodes; p++) {
        anode *par = &a->nodes[p];
        if (par->first_child < 0)
            continue;
        double ssum = 0, usum = 0;
        for (int32_t c = par->first_child; c >= 0; c = a->nodes[c].next_sibling) {
            ssum += a->nodes[c].shares;
            usum += a->nodes[c].usage;
        }
        for (int32_t c = par->first_child; c >= 0; c = a->nodes[c].next_sibling) {
            anode *ch = &a->nodes[c];
            double s = ssum > 0 ? ch->shares / ssum : 0;
            double u = usum > 0 ? ch->usage / usum : 0;
            ch->level_fs = s <= 0 ? 0 : u <= 0 ? INFINITY : s / u;
            ch->rank = 0;
        }
    }
    a->nodes[0].level_fs = INFINITY;
    if (a->capft < a->nnodes) {
        free(a->ft);
        a->capft = a->nnodes;
        a->ft = malloc(a->capft * sizeof(ftent));
        if (!a->ft)
            abort(); /* out of memory, as everywhere in libsched */
    }
    a->ranked_members = a->nmembers;
    int32_t next = a->nmembers;
    size_t n = 0;
    for (int32_t c = a->nodes[0].first_child; c >= 0; c = a->nodes[c].next_sibling)
        ft_push(a, a->ft, &n, c);
    if (n > 0)
        rank_group(a, 0, n, &next);
}

double acct_fairshare(const acct_center *a, int member)
{
    if (member < 0 || (size_t)member >= a->nnodes || a->nodes[member].level != ACCT_MEMBER ||
        a->ranked_members <= 0 || a->nodes[member].rank <= 0)
        return 0;
    return (double)a->nodes[member].rank / (double)a->ranked_members;
}

int acct_member_rank(const acct_center *a, int member)
{
    if (member < 0 || (size_t)member >= a->nnodes || a->nodes[member].level != ACCT_MEMBER)
        return 0;
    return a->nodes[member].rank;
}

double acct_level_fs(const acct_center *a, int node)
{
    return node >= 0 && (size_t)node < a->nnodes ? a->nodes[node].level_fs : 0;
}

/* ---- multifactor priority ----------------------------------------------- */

/* x limited to [0, 1]. */
static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* The factors and their weighted sum, as stated in acct.h. O(1) expected
 * (the member lookup of a job not yet admitted is a hash probe). */
void acct_job_factors(const acct_center *a, const acct_job *j, int64_t now, acct_factors *out)
{
    const acct_priority_config *c = &a->prio;
    out->age = clamp01((double)(now - j->submit) / (double)c->max_age);
    int member = j->member >= 0 ? j->member : acct_member_find(a, j->user, j->project);
    out->fairshare = acct_fairshare(a, member);
    double size = a->total_gpus > 0 ? clamp01((double)j->gpus / (double)a->total_gpus) : 0;
    out->size = c->favor_small && a->total_gpus > 0 ? 1 - size : size;
    int q = acct_job_qos(a, j);
    out->qos = q >= 0 && q < a->nqos && a->max_qos_priority > 0
                   ? (double)a->qos[q].priority / (double)a->max_qos_priority
                   : 0;
    out->nice = j->nice;
    double sum = (double)c->w_age * out->age + (double)c->w_fairshare * out->fairshare +
                 (double)c->w_size * out->size + (double)c->w_qos * out->qos;
    out->priority = llround(sum) - j->nice;
}

int64_t acct_job_priority(const acct_center *a, const acct_job *j, int64_t now)
{
    acct_factors f;
    acct_job_factors(a, j, now, &f);
    return f.priority;
}

int64_t acct_sched_priority(const sched_job *sj, void *prio_arg)
{
    const acct_prio_arg *p = prio_arg;
    const acct_job *j = p->job_of(sj, p->arg);
    return j ? acct_job_priority(p->a, j, p->now) : sj->priority;
}
