/*
 * acct.c: the policy layer's bookkeeping: the account tree, users and their
 * memberships, pools and charge rates, QOS, allocations and their ledgers,
 * admission of jobs, and the gating of starts by QOS limits and allocation
 * state. Usage decay, Fair Tree and priority live in acct_fairshare.c.
 * The rules are stated in acct.h and docs/policy.md; each function below
 * repeats the rule it implements and its cost.
 */
#include "acct_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort(); /* out of memory: as in the rest of libsched, fail loudly */
    return q;
}

/* Grows an array of elements of size sz to hold want, doubling: O(1)
 * amortized per element. */
static void *grow(void *arr, size_t want, size_t *cap, size_t sz)
{
    if (want <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < want)
        ncap *= 2;
    *cap = ncap;
    return xrealloc(arr, ncap * sz);
}

/* Formats a message into the caller's buffer, if one was given. */
static void seterr(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* Names are identifiers that jobs, reports and CSV files carry: not empty,
 * shorter than ACCT_NAMELEN, no control bytes, blanks, ',' or '|'. */
static int check_name(const char *name, const char *what, char *err, size_t len)
{
    if (!name || !name[0]) {
        seterr(err, len, "%s: the name must not be empty", what);
        return -1;
    }
    size_t n = strlen(name);
    if (n >= ACCT_NAMELEN) {
        seterr(err, len, "%s \"%.20s...\": the name is longer than %d characters", what, name,
               ACCT_NAMELEN - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || c == ' ' || c == ',' || c == '|') {
            seterr(err, len, "%s \"%s\": a name may not contain blanks, control characters, "
                             "',' or '|'", what, name);
            return -1;
        }
    }
    return 0;
}

/* Shares are finite, in [0, ACCT_SHARES_MAX]. 0 or -1 with a message. */
static int check_shares(double shares, const char *name, char *err, size_t len)
{
    if (!isfinite(shares) || shares < 0 || shares > ACCT_SHARES_MAX) {
        seterr(err, len, "%s: shares must be between 0 and %g", name, ACCT_SHARES_MAX);
        return -1;
    }
    return 0;
}

/* Non-zero when node is an id of the tree. O(1). */
static int valid_node(const acct_center *a, int node)
{
    return node >= 0 && (size_t)node < a->nnodes;
}

/* The word for a level in messages. */
static const char *level_word(int level)
{
    switch (level) {
    case ACCT_CENTER: return "center";
    case ACCT_TIER: return "tier";
    case ACCT_ORG: return "organization";
    case ACCT_PROJECT: return "project";
    default: return "member";
    }
}

/* Appends a node as the last child of parent (-1: the root). O(1) amortized. */
static int32_t node_new(acct_center *a, int32_t parent, int level, const char *name, double shares,
                        int32_t user)
{
    a->nodes = grow(a->nodes, a->nnodes + 1, &a->capnodes, sizeof *a->nodes);
    int32_t id = (int32_t)a->nnodes++;
    anode *n = &a->nodes[id];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->parent = parent;
    n->first_child = n->last_child = n->next_sibling = -1;
    n->first_alloc = -1;
    n->level = level;
    n->depth = parent >= 0 ? a->nodes[parent].depth + 1 : 0;
    n->user = user;
    n->shares = shares;
    n->usage_at = INT64_MIN; /* no usage yet: any time is "now" */
    n->level_fs = INFINITY;
    if (parent >= 0) {
        anode *p = &a->nodes[parent];
        if (p->last_child >= 0)
            a->nodes[p->last_child].next_sibling = id;
        else
            p->first_child = id;
        p->last_child = id;
    }
    return id;
}

/* ---- the object -------------------------------------------------------- */

acct_center *acct_create(const char *name)
{
    acct_center *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->default_qos = -1;
    acct_priority_defaults(&a->prio);
    acct_preempt_defaults(&a->preempt); /* acct_preempt.c */
    const char *root = name && name[0] ? name : "center";
    node_new(a, -1, ACCT_CENTER, root, 1.0, -1);
    acct_smap_put(&a->accounts, a->nodes[0].name, 0);
    a->npools = 1;
    a->pool_names = xrealloc(NULL, sizeof *a->pool_names);
    a->pool_rates = xrealloc(NULL, sizeof *a->pool_rates);
    snprintf(a->pool_names[0], SCHED_NAMELEN, "pool0");
    a->pool_rates[0] = 1.0;
    return a;
}

void acct_destroy(acct_center *a)
{
    if (!a)
        return;
    free(a->nodes);
    free(a->users);
    free(a->allocs);
    free(a->pool_names);
    free(a->pool_rates);
    free(a->cand);
    free(a->ft);
    acct_smap_free(&a->accounts);
    acct_smap_free(&a->users_by_name);
    acct_smap_free(&a->qos_by_name);
    acct_smap_free(&a->allocs_by_name);
    acct_imap_free(&a->users_by_uid);
    acct_imap_free(&a->members);
    acct_imap_free(&a->counters);
    acct_imap_free(&a->guarantees); /* acct_preempt.c */
    free(a);
}

/* ---- account tree ------------------------------------------------------ */

/* The shape rule: tiers under the center; organizations under a tier or an
 * organization; projects under the center, a tier or an organization;
 * members (acct_member_add) only under projects. O(1) expected. */
int acct_account_add(acct_center *a, int parent, int level, const char *name, double shares,
                     char *err, size_t errlen)
{
    const char *what = level >= ACCT_TIER && level <= ACCT_PROJECT ? level_word(level) : "account";
    if (check_name(name, what, err, errlen) != 0)
        return -1;
    if (level < ACCT_TIER || level > ACCT_PROJECT) {
        seterr(err, errlen, "account %s: level must be a tier, an organization or a project",
               name);
        return -1;
    }
    if (!valid_node(a, parent)) {
        seterr(err, errlen, "%s %s: no parent account with id %d", what, name, parent);
        return -1;
    }
    int pl = a->nodes[parent].level;
    int ok = level == ACCT_TIER      ? pl == ACCT_CENTER
           : level == ACCT_ORG       ? pl == ACCT_TIER || pl == ACCT_ORG
                                     : pl <= ACCT_ORG;
    if (!ok) {
        seterr(err, errlen, "%s %s: cannot be placed under %s %s", what, name, level_word(pl),
               a->nodes[parent].name);
        return -1;
    }
    if (a->nodes[parent].depth + 2 > ACCT_MAX_DEPTH) {
        seterr(err, errlen, "%s %s: the tree would be deeper than %d levels", what, name,
               ACCT_MAX_DEPTH);
        return -1;
    }
    if (check_shares(shares, name, err, errlen) != 0)
        return -1;
    if (acct_smap_get(&a->accounts, name) >= 0) {
        seterr(err, errlen, "%s %s: an account with this name exists", what, name);
        return -1;
    }
    if (a->nnodes >= INT32_MAX / 2) {
        seterr(err, errlen, "%s %s: too many accounts", what, name);
        return -1;
    }
    int32_t id = node_new(a, parent, level, name, shares, -1);
    acct_smap_put(&a->accounts, a->nodes[id].name, id);
    return id;
}

int acct_account_find(const acct_center *a, const char *name)
{
    return acct_smap_get(&a->accounts, name);
}

int acct_node_count(const acct_center *a)
{
    return (int)a->nnodes;
}

int acct_node_level(const acct_center *a, int node)
{
    return valid_node(a, node) ? a->nodes[node].level : -1;
}

int acct_node_parent(const acct_center *a, int node)
{
    return valid_node(a, node) ? a->nodes[node].parent : -1;
}

const char *acct_node_name(const acct_center *a, int node)
{
    return valid_node(a, node) ? a->nodes[node].name : NULL;
}

double acct_node_shares(const acct_center *a, int node)
{
    return valid_node(a, node) ? a->nodes[node].shares : 0;
}

int acct_node_ancestor(const acct_center *a, int node, int level)
{
    if (!valid_node(a, node))
        return -1;
    for (int32_t n = node; n >= 0; n = a->nodes[n].parent)
        if (a->nodes[n].level == level)
            return n;
    return -1;
}

/* ---- users -------------------------------------------------------------- */

int acct_user_add(acct_center *a, const char *name, int64_t uid, char *err, size_t errlen)
{
    if (check_name(name, "user", err, errlen) != 0)
        return -1;
    if (acct_smap_get(&a->users_by_name, name) >= 0) {
        seterr(err, errlen, "user %s: a user with this name exists", name);
        return -1;
    }
    if (uid >= 0 && acct_imap_get(&a->users_by_uid, (uint64_t)uid, -1) >= 0) {
        seterr(err, errlen, "user %s: uid %" PRId64 " is already user %s's", name, uid,
               a->users[acct_imap_get(&a->users_by_uid, (uint64_t)uid, -1)].name);
        return -1;
    }
    if (a->nusers >= INT32_MAX / 2) {
        seterr(err, errlen, "user %s: too many users", name);
        return -1;
    }
    a->users = grow(a->users, a->nusers + 1, &a->capusers, sizeof *a->users);
    int32_t id = (int32_t)a->nusers++;
    auser *u = &a->users[id];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    u->uid = uid >= 0 ? uid : -1;
    u->default_project = ACCT_NONE;
    acct_smap_put(&a->users_by_name, u->name, id);
    if (uid >= 0)
        *acct_imap_ref(&a->users_by_uid, (uint64_t)uid) = id;
    return id;
}

int acct_user_find(const acct_center *a, const char *name)
{
    return acct_smap_get(&a->users_by_name, name);
}

int acct_user_find_uid(const acct_center *a, int64_t uid)
{
    return uid < 0 ? -1 : (int)acct_imap_get(&a->users_by_uid, (uint64_t)uid, -1);
}

int acct_user_count(const acct_center *a)
{
    return (int)a->nusers;
}

const char *acct_user_name(const acct_center *a, int user)
{
    return user >= 0 && (size_t)user < a->nusers ? a->users[user].name : NULL;
}

/* The key of a membership in a->members: project in the high half. */
static uint64_t member_key(int project, int user)
{
    return (uint64_t)(uint32_t)project << 32 | (uint32_t)user;
}

/* A member is a leaf under its project, named after its user. O(1) expected. */
int acct_member_add(acct_center *a, int user, int project, double shares, char *err, size_t errlen)
{
    if (user < 0 || (size_t)user >= a->nusers) {
        seterr(err, errlen, "member: no user with index %d", user);
        return -1;
    }
    const char *uname = a->users[user].name;
    if (!valid_node(a, project) || a->nodes[project].level != ACCT_PROJECT) {
        seterr(err, errlen, "user %s: %s is not a project", uname,
               valid_node(a, project) ? a->nodes[project].name : "(none)");
        return -1;
    }
    if (acct_imap_get(&a->members, member_key(project, user), -1) >= 0) {
        seterr(err, errlen, "user %s: already a member of project %s", uname,
               a->nodes[project].name);
        return -1;
    }
    if (check_shares(shares, uname, err, errlen) != 0)
        return -1;
    if (a->nnodes >= INT32_MAX / 2) {
        seterr(err, errlen, "user %s: too many members", uname);
        return -1;
    }
    int32_t id = node_new(a, project, ACCT_MEMBER, uname, shares, user);
    *acct_imap_ref(&a->members, member_key(project, user)) = id;
    a->nmembers++;
    if (a->users[user].default_project == ACCT_NONE)
        a->users[user].default_project = project;
    return id;
}

int acct_member_find(const acct_center *a, int user, int project)
{
    if (user < 0 || project <= 0)
        return -1;
    return (int)acct_imap_get(&a->members, member_key(project, user), -1);
}

int acct_user_set_default(acct_center *a, int user, int project)
{
    if (acct_member_find(a, user, project) < 0)
        return -1;
    a->users[user].default_project = project;
    return 0;
}

int acct_user_default(const acct_center *a, int user)
{
    return user >= 0 && (size_t)user < a->nusers ? a->users[user].default_project : ACCT_NONE;
}

/* ---- pools -------------------------------------------------------------- */

int acct_set_pools(acct_center *a, int n, const char *const *names, const double *rates,
                   int64_t total_gpus, char *err, size_t errlen)
{
    if (n < 1 || n > SCHED_MAX_POOLS || !names || !rates) {
        seterr(err, errlen, "pools: between 1 and %d pools with names and rates",
               SCHED_MAX_POOLS);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(rates[i]) || rates[i] < 0 || rates[i] > 1e6) {
            seterr(err, errlen, "pool %s: charge rate must be between 0 and 1e6",
                   names[i] ? names[i] : "?");
            return -1;
        }
    }
    if (total_gpus < 0) {
        seterr(err, errlen, "pools: negative GPU count");
        return -1;
    }
    a->pool_names = xrealloc(a->pool_names, (size_t)n * sizeof *a->pool_names);
    a->pool_rates = xrealloc(a->pool_rates, (size_t)n * sizeof *a->pool_rates);
    for (int i = 0; i < n; i++) {
        snprintf(a->pool_names[i], SCHED_NAMELEN, "%s", names[i] ? names[i] : "");
        a->pool_rates[i] = rates[i];
    }
    a->npools = n;
    a->total_gpus = total_gpus;
    return 0;
}

int acct_pool_count(const acct_center *a)
{
    return a->npools;
}

double acct_pool_rate(const acct_center *a, int pool)
{
    return pool >= 0 && pool < a->npools ? a->pool_rates[pool] : 1.0;
}

void acct_pools_format(const acct_center *a, uint64_t mask, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (mask == 0) {
        snprintf(buf, len, "any pool");
        return;
    }
    size_t o = 0;
    for (int i = 0; i < 64 && o < len; i++) {
        if (!(mask >> i & 1))
            continue;
        int w = i < a->npools ? snprintf(buf + o, len - o, "%s%s", o ? "|" : "", a->pool_names[i])
                              : snprintf(buf + o, len - o, "%spool%d", o ? "|" : "", i);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* The dearest rate among the pools of mask (0 = every pool). O(pools). */
static double max_rate(const acct_center *a, uint64_t mask)
{
    double r = 0;
    for (int i = 0; i < a->npools; i++)
        if ((mask == 0 || (mask >> i & 1)) && a->pool_rates[i] > r)
            r = a->pool_rates[i];
    return r;
}

/* ---- priority settings -------------------------------------------------- */

void acct_priority_defaults(acct_priority_config *c)
{
    memset(c, 0, sizeof *c);
    c->w_age = 1000;
    c->w_fairshare = 10000;
    c->w_size = 1000;
    c->w_qos = 10000;
    c->max_age = 7 * 86400;
    c->half_life = 7 * 86400;
    c->calc_period = 300;
    c->favor_small = 0;
}

#define WEIGHT_MAX 1000000000LL      /* four weights sum far below INT64_MAX */
#define SECONDS_MAX 10000000000LL    /* ~317 years */

int acct_set_priority(acct_center *a, const acct_priority_config *c, char *err, size_t errlen)
{
    const int64_t w[4] = {c->w_age, c->w_fairshare, c->w_size, c->w_qos};
    static const char *const wn[4] = {"age", "fairshare", "size", "qos"};
    for (int i = 0; i < 4; i++) {
        if (w[i] < 0 || w[i] > WEIGHT_MAX) {
            seterr(err, errlen, "priority: weight %s must be between 0 and %lld", wn[i],
                   (long long)WEIGHT_MAX);
            return -1;
        }
    }
    if (c->max_age <= 0 || c->max_age > SECONDS_MAX) {
        seterr(err, errlen, "priority: max_age must be between 1 and %lld s",
               (long long)SECONDS_MAX);
        return -1;
    }
    if (c->half_life < 0 || c->half_life > SECONDS_MAX || c->calc_period < 0 ||
        c->calc_period > SECONDS_MAX) {
        seterr(err, errlen, "priority: half_life and calc_period must be between 0 and %lld s",
               (long long)SECONDS_MAX);
        return -1;
    }
    a->prio = *c;
    a->prio.favor_small = c->favor_small != 0;
    return 0;
}

const acct_priority_config *acct_priority(const acct_center *a)
{
    return &a->prio;
}

/* ---- QOS ---------------------------------------------------------------- */

int acct_qos_add(acct_center *a, const acct_qos_def *q, char *err, size_t errlen)
{
    if (check_name(q->name, "QOS", err, errlen) != 0)
        return -1;
    if (a->nqos >= ACCT_MAX_QOS) {
        seterr(err, errlen, "QOS %s: more than %d QOS", q->name, ACCT_MAX_QOS);
        return -1;
    }
    if (acct_smap_get(&a->qos_by_name, q->name) >= 0) {
        seterr(err, errlen, "QOS %s: a QOS with this name exists", q->name);
        return -1;
    }
    if (q->priority < 0 || q->priority > WEIGHT_MAX || q->max_wall < 0 ||
        q->max_wall > SECONDS_MAX || q->max_gpus_per_user < 0 || q->max_gpus_per_project < 0 ||
        q->max_gpus_per_user > INT32_MAX || q->max_gpus_per_project > INT32_MAX) {
        seterr(err, errlen, "QOS %s: priority, max wall time and GPU limits must be "
                            "non-negative and plausible", q->name);
        return -1;
    }
    int id = a->nqos++;
    a->qos[id] = *q;
    acct_smap_put(&a->qos_by_name, a->qos[id].name, id);
    if (a->default_qos < 0)
        a->default_qos = id;
    if (q->priority > a->max_qos_priority)
        a->max_qos_priority = q->priority;
    if (q->max_gpus_per_user > 0 || q->max_gpus_per_project > 0)
        a->qos_limited = 1;
    return id;
}

int acct_qos_find(const acct_center *a, const char *name)
{
    return acct_smap_get(&a->qos_by_name, name);
}

int acct_qos_count(const acct_center *a)
{
    return a->nqos;
}

const acct_qos_def *acct_qos_get(const acct_center *a, int qos)
{
    return qos >= 0 && qos < a->nqos ? &a->qos[qos] : NULL;
}

int acct_qos_set_default(acct_center *a, int qos)
{
    if (qos < 0 || qos >= a->nqos)
        return -1;
    a->default_qos = qos;
    return 0;
}

int acct_qos_default(const acct_center *a)
{
    return a->default_qos;
}

int acct_qos_may_preempt(const acct_center *a, int by, int victim)
{
    if (by < 0 || by >= a->nqos || victim < 0 || victim >= a->nqos)
        return 0;
    return (int)(a->qos[by].preempt >> victim & 1);
}

/* ---- allocations --------------------------------------------------------- */

#define GPU_HOURS_MAX 1e15

int acct_alloc_add(acct_center *a, const acct_alloc_def *d, char *err, size_t errlen)
{
    if (check_name(d->name, "allocation", err, errlen) != 0)
        return -1;
    if (acct_smap_get(&a->allocs_by_name, d->name) >= 0) {
        seterr(err, errlen, "allocation %s: an allocation with this name exists", d->name);
        return -1;
    }
    if (!valid_node(a, d->account) || a->nodes[d->account].level == ACCT_MEMBER) {
        seterr(err, errlen, "allocation %s: no account with id %d", d->name, (int)d->account);
        return -1;
    }
    if (a->npools < 64 && (d->pools >> a->npools) != 0) {
        seterr(err, errlen, "allocation %s: names a pool the cluster does not have", d->name);
        return -1;
    }
    if (d->end <= d->start) {
        seterr(err, errlen, "allocation %s: the period must end after it starts", d->name);
        return -1;
    }
    if (!isfinite(d->gpu_hours) || d->gpu_hours < 0 || d->gpu_hours > GPU_HOURS_MAX) {
        seterr(err, errlen, "allocation %s: GPU-hours must be between 0 and %g", d->name,
               GPU_HOURS_MAX);
        return -1;
    }
    if (a->nallocs >= INT32_MAX / 2) {
        seterr(err, errlen, "allocation %s: too many allocations", d->name);
        return -1;
    }
    a->allocs = grow(a->allocs, a->nallocs + 1, &a->capallocs, sizeof *a->allocs);
    int32_t id = (int32_t)a->nallocs++;
    aalloc *al = &a->allocs[id];
    memset(al, 0, sizeof *al);
    al->d = *d;
    al->ref = d->start == INT64_MIN ? 0 : d->start;
    al->amount = d->gpu_hours * 3600.0;
    anode *owner = &a->nodes[d->account];
    al->next_owned = owner->first_alloc;
    owner->first_alloc = id;
    acct_smap_put(&a->allocs_by_name, al->d.name, id);
    return id;
}

int acct_alloc_find(const acct_center *a, const char *name)
{
    return acct_smap_get(&a->allocs_by_name, name);
}

int acct_alloc_count(const acct_center *a)
{
    return (int)a->nallocs;
}

const acct_alloc_def *acct_alloc_get(const acct_center *a, int alloc)
{
    return alloc >= 0 && (size_t)alloc < a->nallocs ? &a->allocs[alloc].d : NULL;
}

/* used(t) = closed + burn t - burn_start, t relative to ref. O(1). */
static double alloc_used(const aalloc *al, int64_t now)
{
    if (al->nrunning == 0)
        return al->used_closed;
    double u = al->used_closed + al->burn * (double)(now - al->ref) - al->burn_start;
    return u > al->used_closed ? u : al->used_closed;
}

/* The reserve of pending and running jobs: pending costs plus, for each
 * running job, gpus x rate x the time left to its limit. O(1). */
static double alloc_reserved(const aalloc *al, int64_t now)
{
    double run = al->nrunning ? al->burn_end - al->burn * (double)(now - al->ref) : 0;
    return al->pending_cost + (run > 0 ? run : 0);
}

/* granted - used - reserved, rate-GPU-seconds. O(1). */
static double alloc_left(const aalloc *al, int64_t now)
{
    return al->amount - alloc_used(al, now) - alloc_reserved(al, now);
}

int acct_alloc_ledger(const acct_center *a, int alloc, int64_t now, acct_ledger *out)
{
    if (alloc < 0 || (size_t)alloc >= a->nallocs)
        return -1;
    const aalloc *al = &a->allocs[alloc];
    double used = alloc_used(al, now), res = alloc_reserved(al, now);
    out->gpu_hours = al->d.gpu_hours;
    out->used = used / 3600.0;
    out->reserved = res / 3600.0;
    out->left = (al->amount - used - res) / 3600.0;
    out->running = al->nrunning;
    out->pending = al->npending;
    out->active = al->d.start <= now && now < al->d.end;
    out->exhausted = used >= al->amount;
    return 0;
}

int acct_alloc_charge(acct_center *a, int alloc, double amount)
{
    if (alloc < 0 || (size_t)alloc >= a->nallocs || !isfinite(amount) || amount <= 0)
        return -1;
    a->allocs[alloc].used_closed += amount;
    return 0;
}

/* ---- jobs ----------------------------------------------------------------- */

void acct_job_init(acct_job *j)
{
    memset(j, 0, sizeof *j);
    j->project = ACCT_NONE;
    j->user = -1;
    j->qos = -1;
    j->member = -1;
    j->alloc = -1;
    j->pool = -1;
    j->state = ACCT_JOB_NEW;
}

/* "48:00:00": hours may pass 24, as Slurm's time limits read. */
static void fmt_duration(int64_t s, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRId64 ":%02d:%02d", s / 3600, (int)(s / 60 % 60), (int)(s % 60));
}

/* Pools met by both masks (0 = any), or 0 with *none set when they are
 * disjoint. */
static uint64_t pools_meet(uint64_t x, uint64_t y, int *none)
{
    *none = 0;
    if (x == 0)
        return y;
    if (y == 0)
        return x;
    *none = (x & y) == 0;
    return x & y;
}

/* An allocation candidate of a job: its distance up the tree from the
 * project, its end and its index order the candidates. */
typedef struct cand {
    int64_t end;
    int32_t dist, idx;
} cand;

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *x = pa, *y = pb;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* "project p1" and, when the allocation belongs to an account above it,
 * " of organization kisti". */
static void owner_words(const acct_center *a, const acct_job *j, const aalloc *al, char *buf,
                        size_t len)
{
    if (al->d.account == j->project)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, " of %s %s", level_word(a->nodes[al->d.account].level),
                 a->nodes[al->d.account].name);
}

/* Rule 3 of acct_admit: the allocation a job draws on. Returns its index,
 * -1 when the project is not budgeted (no candidate at all), or -2 with
 * the refusal in msg. *need and *pools receive the worst-case cost and the
 * narrowed pools. O(depth + C log C) for C candidate allocations. */
static int choose_alloc(acct_center *a, const acct_job *j, int64_t now, double *need, uint64_t *pools,
                        char *msg, size_t msglen)
{
    size_t nc = 0;
    const anode *proj = &a->nodes[j->project];
    for (int32_t n = j->project; n >= 0; n = a->nodes[n].parent) {
        for (int32_t i = a->nodes[n].first_alloc; i >= 0; i = a->allocs[i].next_owned) {
            a->cand = grow(a->cand, nc + 1, &a->capcand, sizeof(cand));
            ((cand *)a->cand)[nc++] =
                (cand){a->allocs[i].d.end, proj->depth - a->nodes[n].depth, i};
        }
    }
    if (nc == 0)
        return -1;
    cand *c = a->cand;
    qsort(c, nc, sizeof *c, cand_cmp);
    int first = -1, meets = -1;
    double first_need = 0, first_left = 0;
    for (size_t k = 0; k < nc; k++) {
        const aalloc *al = &a->allocs[c[k].idx];
        if (now < al->d.start || now >= al->d.end)
            continue;
        int none;
        uint64_t p = pools_meet(j->pools, al->d.pools, &none);
        if (none) {
            if (meets < 0)
                meets = c[k].idx;
            continue;
        }
        double cost = (double)j->gpus * (double)j->time_limit * max_rate(a, p);
        double left = alloc_left(al, now);
        if (first < 0) {
            first = c[k].idx;
            first_need = cost;
            first_left = left;
        }
        /* a relative slack so that a job that fits exactly is not refused
         * by rounding */
        if (cost <= left + 1e-9 * (al->amount > 1 ? al->amount : 1)) {
            *need = cost;
            *pools = p;
            return c[k].idx;
        }
    }
    char pw[256], ow[160];
    if (first >= 0) {
        const aalloc *al = &a->allocs[first];
        acct_pools_format(a, al->d.pools, pw, sizeof pw);
        owner_words(a, j, al, ow, sizeof ow);
        seterr(msg, msglen,
               "project %s has %.1f GPU-hours left in allocation '%s'%s (%s), the job needs "
               "up to %.1f",
               proj->name, first_left > 0 ? first_left / 3600.0 : 0.0, al->d.name, ow, pw,
               first_need / 3600.0);
    } else if (meets >= 0) {
        char jw[256];
        acct_pools_format(a, a->allocs[meets].d.pools, pw, sizeof pw);
        acct_pools_format(a, j->pools, jw, sizeof jw);
        seterr(msg, msglen,
               "project %s has no allocation for the job's pools (%s); allocation '%s' "
               "covers %s",
               proj->name, jw, a->allocs[meets].d.name, pw);
    } else {
        const aalloc *al = &a->allocs[c[0].idx];
        if (now < al->d.start)
            seterr(msg, msglen, "project %s has no allocation active at %" PRId64
                                "; allocation '%s' starts at %" PRId64,
                   proj->name, now, al->d.name, al->d.start);
        else
            seterr(msg, msglen, "project %s has no allocation active at %" PRId64
                                "; allocation '%s' ended at %" PRId64,
                   proj->name, now, al->d.name, al->d.end);
    }
    return -2;
}

/* The rules are listed in acct.h (acct_admit); this applies them in order. */
int acct_admit(acct_center *a, acct_job *j, int64_t now, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (j->state != ACCT_JOB_NEW) {
        seterr(msg, msglen, "the job was already admitted");
        return -1;
    }
    if (j->gpus < 0 || j->time_limit < 0) {
        seterr(msg, msglen, "the job asks for negative GPUs or time");
        return -1;
    }
    /* 1. QOS */
    if (j->qos < -1 || j->qos >= a->nqos) {
        seterr(msg, msglen, "unknown QOS (index %d)", (int)j->qos);
        return -1;
    }
    int q = acct_job_qos(a, j);
    if (q >= 0) {
        const acct_qos_def *qd = &a->qos[q];
        char t1[32], t2[32];
        if (qd->max_wall > 0 && j->time_limit > qd->max_wall) {
            fmt_duration(j->time_limit, t1, sizeof t1);
            fmt_duration(qd->max_wall, t2, sizeof t2);
            seterr(msg, msglen, "time limit %s exceeds the max wall time of QOS '%s' (%s)", t1,
                   qd->name, t2);
            return -1;
        }
        if (qd->max_gpus_per_user > 0 && j->gpus > qd->max_gpus_per_user) {
            seterr(msg, msglen, "the job needs %d GPUs, more than QOS '%s' lets one user run "
                                "(%" PRId64 ")", (int)j->gpus, qd->name, qd->max_gpus_per_user);
            return -1;
        }
        if (qd->max_gpus_per_project > 0 && j->gpus > qd->max_gpus_per_project) {
            seterr(msg, msglen, "the job needs %d GPUs, more than QOS '%s' lets one project run "
                                "(%" PRId64 ")", (int)j->gpus, qd->name,
                   qd->max_gpus_per_project);
            return -1;
        }
    }
    /* 2. project and member */
    int32_t member = -1, alloc = -1;
    double need = 0;
    uint64_t pools = j->pools;
    if (j->project != ACCT_NONE) {
        if (!valid_node(a, j->project) || a->nodes[j->project].level != ACCT_PROJECT) {
            seterr(msg, msglen, "account %s is not a project",
                   valid_node(a, j->project) ? a->nodes[j->project].name : "(unknown)");
            return -1;
        }
        if (j->user >= 0) {
            if ((size_t)j->user >= a->nusers) {
                seterr(msg, msglen, "unknown user (index %d)", (int)j->user);
                return -1;
            }
            member = acct_member_find(a, j->user, j->project);
            if (member < 0) {
                seterr(msg, msglen, "user %s is not a member of project %s",
                       a->users[j->user].name, a->nodes[j->project].name);
                return -1;
            }
        }
        /* 3. allocation */
        alloc = choose_alloc(a, j, now, &need, &pools, msg, msglen);
        if (alloc == -2)
            return -1;
    }
    j->member = member;
    j->alloc = alloc;
    j->cost = alloc >= 0 ? need : 0;
    j->pools = pools;
    j->state = ACCT_JOB_PENDING;
    if (alloc >= 0) {
        a->allocs[alloc].pending_cost += need;
        a->allocs[alloc].npending++;
    }
    return 0;
}

/* Releases a pending job's reservation from its allocation. O(1). */
static void alloc_unpend(aalloc *al, const acct_job *j)
{
    al->pending_cost -= j->cost;
    if (--al->npending == 0)
        al->pending_cost = 0; /* no rounding residue once nothing is pending */
}

void acct_job_cancel(acct_center *a, acct_job *j, int64_t now)
{
    (void)now;
    if (j->state != ACCT_JOB_PENDING)
        return;
    if (j->alloc >= 0)
        alloc_unpend(&a->allocs[j->alloc], j);
    j->state = ACCT_JOB_DONE;
}

/* Keys of the QOS counters: kind (0 user running, 1 project running, 2 user
 * claimed, 3 project claimed by acct_gate), QOS, id. */
static uint64_t qos_key(int kind, int qos, int32_t id)
{
    return (uint64_t)kind << 56 | (uint64_t)(uint32_t)qos << 40 | (uint32_t)id;
}

/* Adds g GPUs to the running (kind 0) or claimed (kind 2) counters of a
 * job's user and project in its QOS, for the limits that QOS sets. O(1). */
static void qos_count(acct_center *a, const acct_job *j, int kind, int64_t g)
{
    int q = acct_job_qos(a, j);
    if (q < 0)
        return;
    const acct_qos_def *qd = &a->qos[q];
    if (qd->max_gpus_per_user > 0 && j->user >= 0)
        *acct_imap_ref(&a->counters, qos_key(kind, q, j->user)) += g;
    if (qd->max_gpus_per_project > 0 && j->project != ACCT_NONE)
        *acct_imap_ref(&a->counters, qos_key(kind + 1, q, j->project)) += g;
}

void acct_job_start(acct_center *a, acct_job *j, int pool, int32_t gpus, int64_t now)
{
    if (j->state != ACCT_JOB_PENDING && j->state != ACCT_JOB_NEW)
        return;
    double rate = acct_pool_rate(a, pool);
    double x = (double)gpus * rate;
    if (j->alloc >= 0) {
        aalloc *al = &a->allocs[j->alloc];
        if (j->state == ACCT_JOB_PENDING)
            alloc_unpend(al, j);
        al->burn += x;
        al->burn_start += x * (double)(now - al->ref);
        al->burn_end += x * (double)(now + j->time_limit - al->ref);
        al->nrunning++;
    }
    j->pool = pool;
    j->run_gpus = gpus;
    j->rate = rate;
    j->start = now;
    j->state = ACCT_JOB_RUNNING;
    if (j->member >= 0)
        acct_burn_add(a, j->member, x, +1, now);
    qos_count(a, j, 0, gpus);
}

void acct_job_end(acct_center *a, acct_job *j, int64_t now)
{
    if (j->state != ACCT_JOB_RUNNING)
        return;
    double x = (double)j->run_gpus * j->rate;
    int64_t ran = now > j->start ? now - j->start : 0;
    if (j->alloc >= 0) {
        aalloc *al = &a->allocs[j->alloc];
        al->used_closed += x * (double)ran;
        if (--al->nrunning == 0) {
            al->burn = al->burn_start = al->burn_end = 0; /* no rounding residue */
        } else {
            al->burn -= x;
            al->burn_start -= x * (double)(j->start - al->ref);
            al->burn_end -= x * (double)(j->start + j->time_limit - al->ref);
        }
    }
    if (j->member >= 0)
        acct_burn_add(a, j->member, -x, -1, now);
    qos_count(a, j, 0, -(int64_t)j->run_gpus);
    j->state = ACCT_JOB_DONE;
}

/* ---- start gating --------------------------------------------------------- */

/* The hold of a pending job: its allocation expired or used up, else a QOS
 * running limit that its GPUs (plus, with claims, those of jobs already let
 * through this pass) would pass. detail (may be NULL) receives the words.
 * O(1) expected. */
static int hold_of(const acct_center *a, const acct_job *j, int64_t now, int claims, char *detail,
                   size_t len)
{
    if (detail && len)
        detail[0] = '\0';
    if (j->alloc >= 0) {
        const aalloc *al = &a->allocs[j->alloc];
        if (now >= al->d.end) {
            seterr(detail, len, "allocation '%s' ended at %" PRId64, al->d.name, al->d.end);
            return ACCT_HOLD_ALLOC_EXPIRED;
        }
        double used = alloc_used(al, now);
        if (used >= al->amount) {
            seterr(detail, len, "allocation '%s' is used up (%.1f of %.1f GPU-hours)",
                   al->d.name, used / 3600.0, al->d.gpu_hours);
            return ACCT_HOLD_ALLOC_EXHAUSTED;
        }
    }
    int q = acct_job_qos(a, j);
    if (q < 0)
        return ACCT_HOLD_NONE;
    const acct_qos_def *qd = &a->qos[q];
    if (qd->max_gpus_per_user > 0 && j->user >= 0) {
        int64_t held = acct_imap_get(&a->counters, qos_key(0, q, j->user), 0) +
                       (claims ? acct_imap_get(&a->counters, qos_key(2, q, j->user), 0) : 0);
        if (held + j->gpus > qd->max_gpus_per_user) {
            seterr(detail, len, "QOS '%s' allows %" PRId64 " running GPUs per user; %s holds %"
                                PRId64 ", the job needs %d",
                   qd->name, qd->max_gpus_per_user, a->users[j->user].name, held, (int)j->gpus);
            return ACCT_HOLD_QOS_USER;
        }
    }
    if (qd->max_gpus_per_project > 0 && j->project != ACCT_NONE) {
        int64_t held = acct_imap_get(&a->counters, qos_key(1, q, j->project), 0) +
                       (claims ? acct_imap_get(&a->counters, qos_key(3, q, j->project), 0) : 0);
        if (held + j->gpus > qd->max_gpus_per_project) {
            seterr(detail, len, "QOS '%s' allows %" PRId64 " running GPUs per project; %s "
                                "holds %" PRId64 ", the job needs %d",
                   qd->name, qd->max_gpus_per_project, a->nodes[j->project].name, held,
                   (int)j->gpus);
            return ACCT_HOLD_QOS_PROJECT;
        }
    }
    return ACCT_HOLD_NONE;
}

int acct_may_start(const acct_center *a, const acct_job *j, int64_t now)
{
    return hold_of(a, j, now, 0, NULL, 0);
}

int acct_hold_explain(const acct_center *a, const acct_job *j, int64_t now, char *buf, size_t len)
{
    return hold_of(a, j, now, 0, buf, len);
}

int acct_hold_permanent(int hold)
{
    return hold == ACCT_HOLD_ALLOC_EXPIRED || hold == ACCT_HOLD_ALLOC_EXHAUSTED;
}

const char *acct_hold_name(int hold)
{
    switch (hold) {
    case ACCT_HOLD_NONE: return "none";
    case ACCT_HOLD_QOS_USER: return "qos-user-limit";
    case ACCT_HOLD_QOS_PROJECT: return "qos-project-limit";
    case ACCT_HOLD_ALLOC_EXPIRED: return "allocation-expired";
    case ACCT_HOLD_ALLOC_EXHAUSTED: return "allocation-exhausted";
    default: return "unknown";
    }
}

/* Two walks over the queue: the first lets jobs through in order, claiming
 * their GPUs against the QOS limits; the second returns the claims, so the
 * counters are as before. O(n) expected. */
void acct_gate(acct_center *a, acct_job *const *jobs, size_t n, int64_t now, int *hold)
{
    for (size_t i = 0; i < n; i++) {
        hold[i] = hold_of(a, jobs[i], now, 1, NULL, 0);
        if (hold[i] == ACCT_HOLD_NONE)
            qos_count(a, jobs[i], 2, jobs[i]->gpus);
    }
    for (size_t i = 0; i < n; i++)
        if (hold[i] == ACCT_HOLD_NONE)
            qos_count(a, jobs[i], 2, -(int64_t)jobs[i]->gpus);
}

int acct_gating_needed(const acct_center *a)
{
    return a->qos_limited || a->nallocs > 0;
}
