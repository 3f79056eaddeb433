/*
 * center_acct.c: a center file's policy on a cluster (see center_acct.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "center_acct.h"

/* "FILE:LINE" of an entry, or words for an entry set through fleetd's API
 * (line 0). */
static void where(char *buf, size_t len, const char *fname, int64_t line)
{
    if (line > 0)
        snprintf(buf, len, "%s:%" PRId64, fname, line);
    else
        snprintf(buf, len, "%s: an allocation set through the API", fname);
}

/* Priority weights and periods: libsched's defaults where the file is
 * silent (-1). 0, or -1 with err. */
static int set_priority(acct_center *a, const center_priority *p, const char *fname,
                        char *err, size_t errlen)
{
    char e[ACCT_ERRLEN];
    acct_priority_config pc;
    acct_priority_defaults(&pc);
    if (p->w_age >= 0) pc.w_age = p->w_age;
    if (p->w_fairshare >= 0) pc.w_fairshare = p->w_fairshare;
    if (p->w_size >= 0) pc.w_size = p->w_size;
    if (p->w_qos >= 0) pc.w_qos = p->w_qos;
    if (p->max_age >= 0) pc.max_age = p->max_age;
    if (p->half_life >= 0) pc.half_life = p->half_life;
    if (p->calc_period >= 0) pc.calc_period = p->calc_period;
    if (p->favor_small >= 0) pc.favor_small = p->favor_small;
    if (acct_set_priority(a, &pc, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: field priority: %s", fname, e);
        return -1;
    }
    return 0;
}

static int add_qos(acct_center *a, const center_desc *cd, const char *fname, char *err,
                   size_t errlen)
{
    char e[ACCT_ERRLEN];
    for (size_t i = 0; i < cd->nqos; i++) {
        const center_qos *q = &cd->qos[i];
        acct_qos_def d;
        memset(&d, 0, sizeof d);
        snprintf(d.name, sizeof d.name, "%s", q->name);
        d.priority = q->priority;
        d.max_wall = q->max_wall;
        d.max_gpus_per_user = q->max_gpus_per_user;
        d.max_gpus_per_project = q->max_gpus_per_project;
        d.preempt = q->preempt;
        if (acct_qos_add(a, &d, e, sizeof e) < 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field name: %s", fname, q->line, e);
            return -1;
        }
    }
    if (cd->default_qos >= 0)
        acct_qos_set_default(a, cd->default_qos);
    return 0;
}

/* Accounts (parents first: a parent's node exists when its child is
 * added), users, memberships and default projects. */
static int add_accounts(acct_center *a, const center_desc *cd, int32_t *node, int32_t *user,
                        const char *fname, char *err, size_t errlen)
{
    char e[ACCT_ERRLEN];
    for (size_t i = 0; i < cd->naccounts; i++) {
        const center_account *ca = &cd->accounts[i];
        int parent = ca->parent >= 0 ? node[ca->parent] : 0;
        node[i] = acct_account_add(a, parent, ca->level, ca->name, ca->shares, e, sizeof e);
        if (node[i] < 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field name: %s", fname, ca->line, e);
            return -1;
        }
    }
    for (size_t i = 0; i < cd->nusers; i++) {
        const center_user *u = &cd->users[i];
        user[i] = acct_user_add(a, u->name, u->uid, e, sizeof e);
        if (user[i] < 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field name: %s", fname, u->line, e);
            return -1;
        }
    }
    for (size_t i = 0; i < cd->nmembers; i++) {
        const center_member *m = &cd->members[i];
        const center_user *u = &cd->users[m->user];
        if (acct_member_add(a, user[m->user], node[m->project], u->shares, e, sizeof e) < 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field projects: %s", fname, u->line, e);
            return -1;
        }
    }
    for (size_t i = 0; i < cd->nusers; i++)
        acct_user_set_default(a, user[i], node[cd->users[i].default_project]);
    return 0;
}

static int add_allocs(acct_center *a, const center_desc *cd, const sched *s, const int32_t *node,
                      const char *fname, char *err, size_t errlen)
{
    char e[ACCT_ERRLEN], at[4200];
    for (size_t i = 0; i < cd->nallocs; i++) {
        const center_alloc *ca = &cd->allocs[i];
        acct_alloc_def d;
        memset(&d, 0, sizeof d);
        snprintf(d.name, sizeof d.name, "%s", ca->name);
        d.account = ca->account >= 0 ? node[ca->account] : 0;
        d.start = ca->start;
        d.end = ca->end;
        d.gpu_hours = ca->gpu_hours;
        if (ca->pools[0] && sched_pool_mask(s, ca->pools, 1, &d.pools, e, sizeof e) != 0) {
            where(at, sizeof at, fname, ca->pools_line);
            snprintf(err, errlen, "%s: field pools: %s", at, e);
            return -1;
        }
        if (acct_alloc_add(a, &d, e, sizeof e) < 0) {
            where(at, sizeof at, fname, ca->line);
            snprintf(err, errlen, "%s: field name: %s", at, e);
            return -1;
        }
    }
    return 0;
}

/* Guarantees: pool names resolved on the machine; a pool's guarantees
 * together may not exceed its GPUs (nobody could be given them all). */
static int add_guarantees(acct_center *a, const center_desc *cd, const sched *s,
                          const int32_t *node, const char *fname, char *err, size_t errlen)
{
    char e[ACCT_ERRLEN];
    if (cd->nguarantees == 0)
        return 0;
    int np = sched_pool_count(s);
    int64_t *pool_gpus = calloc((size_t)(np > 0 ? np : 1), sizeof *pool_gpus);
    int64_t *sum = calloc((size_t)(np > 0 ? np : 1), sizeof *sum);
    int rc = -1;
    if (!pool_gpus || !sum) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int n = 0; n < sched_node_count(s); n++) {
        sched_node_info in;
        if (sched_node_get(s, n, &in) == 0) {
            int p = sched_pool_find(s, in.pool);
            if (p >= 0)
                pool_gpus[p] += in.gpus;
        }
    }
    for (size_t i = 0; i < cd->nguarantees; i++) {
        const center_guarantee *g = &cd->guarantees[i];
        int pool = sched_pool_find(s, g->pool);
        if (pool < 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field pool: no pool \"%s\" in this cluster",
                     fname, g->pool_line, g->pool);
            goto out;
        }
        sum[pool] += g->gpus;
        if (sum[pool] > pool_gpus[pool]) {
            snprintf(err, errlen, "%s:%" PRId64 ": field gpus: the guarantees in pool %s sum to "
                     "%" PRId64 " GPUs, more than its %" PRId64, fname, g->line, g->pool,
                     sum[pool], pool_gpus[pool]);
            goto out;
        }
        if (acct_guarantee_add(a, node[g->account], pool, g->gpus, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s:%" PRId64 ": field account: %s", fname, g->line, e);
            goto out;
        }
    }
    rc = 0;
out:
    free(pool_gpus);
    free(sum);
    return rc;
}

acct_center *center_acct_build(const center_desc *cd, const sched *s, const double *rates,
                               const char *fname, int32_t *account_node, char *err,
                               size_t errlen)
{
    char e[ACCT_ERRLEN];
    fname = fname ? fname : "<center>";
    acct_center *a = acct_create(cd->name);
    int np = sched_pool_count(s);
    const char **names = calloc((size_t)(np > 0 ? np : 1), sizeof *names);
    double *r = calloc((size_t)(np > 0 ? np : 1), sizeof *r);
    int32_t *node = calloc(cd->naccounts ? cd->naccounts : 1, sizeof *node);
    int32_t *user = calloc(cd->nusers ? cd->nusers : 1, sizeof *user);
    if (!a || !names || !r || !node || !user) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* pools and rates, in the machine's pool order */
    for (int i = 0; i < np; i++) {
        names[i] = sched_pool_name(s, i);
        r[i] = rates ? rates[i] : 1.0;
    }
    if (acct_set_pools(a, np, names, r, sched_total_gpus(s), e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: %s", fname, e);
        goto fail;
    }
    if (set_priority(a, &cd->priority, fname, err, errlen) != 0 ||
        add_qos(a, cd, fname, err, errlen) != 0 ||
        add_accounts(a, cd, node, user, fname, err, errlen) != 0 ||
        add_allocs(a, cd, s, node, fname, err, errlen) != 0 ||
        add_guarantees(a, cd, s, node, fname, err, errlen) != 0)
        goto fail;
    acct_preempt_config pre;
    acct_preempt_defaults(&pre);
    if (cd->preemption.grace >= 0) pre.grace = cd->preemption.grace;
    if (cd->preemption.signal > 0) pre.signal = cd->preemption.signal;
    if (acct_set_preempt(a, &pre, e, sizeof e) != 0) {
        snprintf(err, errlen, "%s: field preemption: %s", fname, e);
        goto fail;
    }
    if (account_node)
        memcpy(account_node, node, cd->naccounts * sizeof *node);
    free(names);
    free(r);
    free(node);
    free(user);
    return a;
fail:
    free(names);
    free(r);
    free(node);
    free(user);
    acct_destroy(a);
    return NULL;
}
