/*
 * policy_api.c: the routes of the center's policy and of accounting.
 *
 *   GET  /v1/usage               usage per tier, org, project or user from the
 *                                accounting records and the running jobs, and
 *                                allocations' ledgers
 *   GET  /v1/admin/accounts      the tree, fair share, users, QOS, allocations
 *   POST /v1/admin/reload        re-read the center file
 *   POST /v1/admin/members       a membership, through the admin log
 *   POST /v1/admin/allocations   an allocation, through the admin log
 *
 * Users see the usage of the projects they are members of (and their own);
 * /v1/admin is for operators (api.c's route table says so). See
 * docs/policy.md and docs/openapi.yaml.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "trace.h"

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort(); /* out of memory, as in the rest of the controller */
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* Answers with the JSON written in w. */
static void reply_json(http_req *r, unsigned status, jsonw *w)
{
    size_t len;
    char *body = jsonw_finish(w, &len);
    http_reply(r, status, body, len);
}

/* ---- GET /v1/usage --------------------------------------------------------- */

enum { BY_TIER, BY_ORG, BY_PROJECT, BY_USER };
static const char *const by_names[] = {"tier", "org", "project", "user"};

/* A group's sums; the running_* part (runs still running, up to now) is
 * also counted in jobs, runs, gpu_seconds and charge. */
typedef struct ugroup {
    char name[64];
    int64_t jobs, runs;
    double gpu_seconds, charge;
    int64_t running;
    double running_gpu_seconds, running_charge;
} ugroup;

/* Groups by name: an open-addressing table over a growing array. */
typedef struct ugroups {
    ugroup *v;
    size_t n, cap;
    int32_t *slot;
    size_t nslot;
} ugroups;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* The group called name, created empty if new. O(1) expected. */
static ugroup *group_get(ugroups *g, const char *name)
{
    if (g->n * 2 >= g->nslot) {
        size_t ns = g->nslot ? 2 * g->nslot : 64;
        int32_t *slot = xcalloc(ns, sizeof *slot);
        for (size_t i = 0; i < ns; i++)
            slot[i] = -1;
        for (size_t i = 0; i < g->n; i++) {
            size_t k = hash_name(g->v[i].name) & (ns - 1);
            while (slot[k] >= 0)
                k = (k + 1) & (ns - 1);
            slot[k] = (int32_t)i;
        }
        free(g->slot);
        g->slot = slot;
        g->nslot = ns;
    }
    size_t k = hash_name(name) & (g->nslot - 1);
    while (g->slot[k] >= 0) {
        if (strcmp(g->v[g->slot[k]].name, name) == 0)
            return &g->v[g->slot[k]];
        k = (k + 1) & (g->nslot - 1);
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->v = xrealloc(g->v, g->cap * sizeof *g->v);
    }
    ugroup *u = &g->v[g->n];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    g->slot[k] = (int32_t)g->n++;
    return u;
}

typedef struct usage_ctx {
    const acct_center *a;   /* NULL without a center */
    int by;
    int all;                /* an operator: every record */
    uint32_t uid;
    const uint8_t *visible; /* by acct node: a project the caller is a member of */
    ugroups g;
} usage_ctx;

/* Loader callback: a record the caller may see is added to its group. A
 * record of state STORE_RUNNING is a running run's part in the window
 * (running_part): it counts as a run and a job (the job's current run),
 * and in the group's running sums too. */
static int usage_cb(const store_usage *u, void *arg)
{
    usage_ctx *x = arg;
    if (!x->all && u->uid != x->uid) {
        int n = x->a && u->project[0] ? acct_account_find(x->a, u->project) : -1;
        if (n < 0 || !x->visible[n])
            return 0;
    }
    const char *key = x->by == BY_TIER ? u->tier : x->by == BY_ORG ? u->org
                    : x->by == BY_PROJECT ? u->project : u->user;
    ugroup *g = group_get(&x->g, *key ? key : "-");
    g->runs++;
    g->jobs += u->state != STORE_REQUEUED;
    g->gpu_seconds += (double)u->gpu_seconds;
    g->charge += u->charge;
    if (u->state == STORE_RUNNING) {
        g->running++;
        g->running_gpu_seconds += (double)u->gpu_seconds;
        g->running_charge += u->charge;
    }
    return 0;
}

/* The part of running job j's run inside [since, min(until, now)), as the
 * record its run would become (policy_run_record; state STORE_RUNNING,
 * end_time the end of the part, GPU-seconds and charge of the part only).
 * 1 when the run counts in the window: it started before until and since
 * is not after now (a run that started this second counts with 0 GPU-s);
 * else 0. */
static int running_part(ctl *c, const fjob *j, int64_t since, int64_t until, int64_t now,
                        store_usage *u)
{
    int64_t end = now > j->start_time ? now : j->start_time; /* as push_record */
    int64_t lo = since > j->start_time ? since : j->start_time;
    int64_t hi = until < end ? until : end;
    if (lo >= until || lo > hi)
        return 0;
    policy_run_record(c, j, STORE_RUNNING, -1, hi, u);
    u->gpu_seconds = (int64_t)u->gpus * (hi - lo); /* the part in the window */
    u->charge = (double)u->gpu_seconds * u->rate;
    return 1;
}

/* Adds to x what the store does not hold yet: the records waiting for the
 * next commit whose run ended in [since, until), then the running jobs'
 * parts in the window. A run is in exactly one place at a time (running in
 * memory, a record waiting for the commit, or a stored record: a run's end
 * moves it from the first to the second in one step, the commit from the
 * second to the third), so none is counted twice or missed. O(records
 * waiting + jobs in memory). */
static void usage_live(ctl *c, usage_ctx *x, int64_t since, int64_t until, int64_t now)
{
    const store_usage *recs;
    size_t nrecs = policy_usage_pending(c, &recs);
    for (size_t i = 0; i < nrecs; i++)
        if (recs[i].end_time >= since && recs[i].end_time < until)
            usage_cb(&recs[i], x);
    store_usage u;
    for (size_t i = 0; c->pol && i < c->nall; i++) {
        const fjob *j = c->all[i];
        if (j->state == FJOB_RUNNING && running_part(c, j, since, until, now, &u))
            usage_cb(&u, x);
    }
}

/* Orders groups by name. */
static int cmp_group(const void *x, const void *y)
{
    return strcmp(((const ugroup *)x)->name, ((const ugroup *)y)->name);
}

/* A query time (since, until): Unix seconds or a date. 1 given, 0 absent,
 * -1 after answering 400. */
static int query_time(http_req *r, const char *key, int64_t *out)
{
    const char *s = http_query(r, key);
    if (!s || !*s)
        return 0;
    if (center_parse_time(s, strlen(s), out) == 0)
        return 1;
    http_reply_error(r, 400, "invalid", key,
                     "%s: a time: Unix seconds or a UTC date (2025-03-01, "
                     "2025-03-01T12:00:00Z), got \"%s\"",
                     key, s);
    return -1;
}

/* Whether the caller may see allocation al: operators all, users those of
 * an account at or above one of their projects. */
static int alloc_visible(const acct_center *a, const acct_alloc_def *d, const uint8_t *visible,
                         int all)
{
    if (all)
        return 1;
    for (int n = 0; n < acct_node_count(a); n++) {
        if (!visible[n])
            continue;
        for (int up = n; up >= 0; up = acct_node_parent(a, up))
            if (up == d->account)
                return 1;
    }
    return 0;
}

/* The fields of allocation i and its ledger at `now` (schema Allocation). */
static void alloc_fields(const acct_center *a, jsonw *w, int i, int64_t now)
{
    const acct_alloc_def *d = acct_alloc_get(a, i);
    acct_ledger l;
    acct_alloc_ledger(a, i, now, &l);
    char pools[256];
    acct_pools_format(a, d->pools, pools, sizeof pools);
    jsonw_kv_str(w, "name", d->name);
    jsonw_kv_str(w, "account", acct_node_name(a, d->account));
    jsonw_kv_str(w, "level", pol_level_name(acct_node_level(a, d->account)));
    jsonw_kv_str(w, "pools", pools);
    if (d->start == INT64_MIN)
        jsonw_kv_null(w, "start");
    else
        jsonw_kv_int(w, "start", d->start);
    if (d->end == INT64_MAX)
        jsonw_kv_null(w, "end");
    else
        jsonw_kv_int(w, "end", d->end);
    pol_kv_num(w, "gpu_hours", l.gpu_hours);
    pol_kv_num(w, "used", l.used);
    pol_kv_num(w, "reserved", l.reserved);
    pol_kv_num(w, "left", l.left);
    jsonw_kv_int(w, "running", l.running);
    jsonw_kv_int(w, "pending", l.pending);
    jsonw_kv_bool(w, "active", l.active);
    jsonw_kv_bool(w, "exhausted", l.exhausted);
}

/* The sums of a group (schema UsageSums). */
static void group_fields(jsonw *w, const ugroup *g)
{
    jsonw_kv_int(w, "jobs", g->jobs);
    jsonw_kv_int(w, "runs", g->runs);
    pol_kv_num(w, "gpu_hours", g->gpu_seconds / 3600.0);
    pol_kv_num(w, "charged_gpu_hours", g->charge / 3600.0);
    jsonw_kv_int(w, "running_runs", g->running);
    pol_kv_num(w, "running_gpu_hours", g->running_gpu_seconds / 3600.0);
    pol_kv_num(w, "running_charged_gpu_hours", g->running_charge / 3600.0);
}

/* GET /v1/usage: per group, the records whose run ended in [since, until)
 * (stored, or waiting for the commit), plus each running run's part inside
 * [since, min(until, now)) (usage_live), each only if the caller may see it
 * (usage_cb); then the allocations' ledgers. Cost: the store's read of the
 * window, O(jobs in memory), O(G log G) for G groups. */
void policy_route_usage(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    struct policy *p = c->pol;
    const char *by = http_query(r, "by");
    usage_ctx x;
    memset(&x, 0, sizeof x);
    x.by = BY_PROJECT;
    if (by && *by) {
        x.by = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(by, by_names[k]) == 0)
                x.by = k;
        if (x.by < 0 && strcmp(by, "organization") == 0)
            x.by = BY_ORG;
        if (x.by < 0) {
            http_reply_error(r, 400, "invalid", "by",
                             "by: tier, org, project or user, got \"%s\"", by);
            return;
        }
    }
    int64_t since = INT64_MIN, until = INT64_MAX;
    int hs = query_time(r, "since", &since), hu = query_time(r, "until", &until);
    if (hs < 0 || hu < 0)
        return;
    if (until <= since) {
        http_reply_error(r, 400, "invalid", "until", "until: must be after since");
        return;
    }
    int64_t now = ctl_now();
    acct_center *a = policy_enabled(c) ? p->a : NULL;
    x.a = a;
    x.all = ctl_is_operator(c, r);
    x.uid = r->uid;
    uint8_t *visible = xcalloc(a ? (size_t)acct_node_count(a) : 1, 1);
    x.visible = visible;
    if (a && !x.all) {
        int u = pol_find_user(a, r->uid, r->user);
        for (int n = 0; u >= 0 && n < acct_node_count(a); n++)
            if (acct_node_level(a, n) == ACCT_MEMBER && strcmp(acct_node_name(a, n),
                                                               acct_user_name(a, u)) == 0)
                visible[acct_node_parent(a, n)] = 1;
    }
    char err[512];
    if (store_usage_load(c->st, since, until, usage_cb, &x, err, sizeof err) < 0) {
        http_reply_error(r, 503, "store", NULL, "accounting records: %s", err);
        free(visible);
        free(x.g.v);
        free(x.g.slot);
        return;
    }
    usage_live(c, &x, since, until, now);
    /* projects with allocations show even without runs in the window */
    if (a && x.by == BY_PROJECT) {
        for (int i = 0; i < acct_alloc_count(a); i++) {
            const acct_alloc_def *d = acct_alloc_get(a, i);
            if (acct_node_level(a, d->account) == ACCT_PROJECT &&
                (x.all || visible[d->account]))
                group_get(&x.g, acct_node_name(a, d->account));
        }
    }
    if (x.g.n)
        qsort(x.g.v, x.g.n, sizeof *x.g.v, cmp_group);
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "by", by_names[x.by]);
    if (hs)
        jsonw_kv_int(&w, "since", since);
    else
        jsonw_kv_null(&w, "since");
    if (hu)
        jsonw_kv_int(&w, "until", until);
    else
        jsonw_kv_null(&w, "until");
    jsonw_kv_bool(&w, "all", x.all);
    jsonw_kv_int(&w, "as_of", now);
    ugroup total;
    memset(&total, 0, sizeof total);
    jsonw_key(&w, "groups");
    jsonw_arr_open(&w);
    for (size_t i = 0; i < x.g.n; i++) {
        const ugroup *g = &x.g.v[i];
        jsonw_obj_open(&w);
        jsonw_kv_str(&w, "name", g->name);
        group_fields(&w, g);
        total.jobs += g->jobs;
        total.runs += g->runs;
        total.gpu_seconds += g->gpu_seconds;
        total.charge += g->charge;
        total.running += g->running;
        total.running_gpu_seconds += g->running_gpu_seconds;
        total.running_charge += g->running_charge;
        if (a && x.by == BY_PROJECT) {
            /* the allocations the project draws on: its own and those above it */
            int n = acct_account_find(a, g->name);
            jsonw_key(&w, "allocations");
            jsonw_arr_open(&w);
            for (int k = 0; n >= 0 && k < acct_alloc_count(a); k++)
                for (int up = n; up >= 0; up = acct_node_parent(a, up))
                    if (acct_alloc_get(a, k)->account == up) {
                        jsonw_str(&w, acct_alloc_get(a, k)->name);
                        break;
                    }
            jsonw_arr_close(&w);
        }
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "total");
    jsonw_obj_open(&w);
    group_fields(&w, &total);
    jsonw_obj_close(&w);
    jsonw_key(&w, "allocations");
    jsonw_arr_open(&w);
    for (int i = 0; a && i < acct_alloc_count(a); i++) {
        if (!alloc_visible(a, acct_alloc_get(a, i), visible, x.all))
            continue;
        jsonw_obj_open(&w);
        alloc_fields(a, &w, i, now);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
    free(visible);
    free(x.g.v);
    free(x.g.slot);
}

/* ---- /v1/admin ----------------------------------------------------------------- */

static int need_center(ctl *c, http_req *r)
{
    if (policy_enabled(c))
        return 1;
    http_reply_error(r, 409, "conflict", NULL,
                     "fleetd runs without a center file: start it with --center FILE");
    return 0;
}

/* One node of the tree and, depth first, its children. */
static void tree_node(const acct_center *a, jsonw *w, int n, int depth, const int32_t *first,
                      const int32_t *next, int64_t now)
{
    int lv = acct_node_level(a, n);
    jsonw_obj_open(w);
    jsonw_kv_str(w, "name", acct_node_name(a, n));
    jsonw_kv_str(w, "level", pol_level_name(lv));
    jsonw_kv_int(w, "depth", depth);
    jsonw_kv_str(w, "parent", n > 0 ? acct_node_name(a, acct_node_parent(a, n)) : "");
    pol_kv_num(w, "shares", acct_node_shares(a, n));
    pol_kv_num(w, "usage", acct_usage(a, n, now) / 3600.0);
    if (n > 0)
        pol_kv_num(w, "level_fs", acct_level_fs(a, n));
    if (lv == ACCT_MEMBER) {
        pol_kv_num(w, "fairshare", acct_fairshare(a, n));
        jsonw_kv_int(w, "rank", acct_member_rank(a, n));
    }
    if (lv != ACCT_MEMBER) {
        jsonw_key(w, "allocations");
        jsonw_arr_open(w);
        for (int i = 0; i < acct_alloc_count(a); i++)
            if (acct_alloc_get(a, i)->account == n)
                jsonw_str(w, acct_alloc_get(a, i)->name);
        jsonw_arr_close(w);
    }
    jsonw_obj_close(w);
    for (int ch = first[n]; ch >= 0; ch = next[ch])
        tree_node(a, w, ch, depth + 1, first, next, now);
}

void policy_route_accounts(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    if (!need_center(c, r))
        return;
    struct policy *p = c->pol;
    acct_center *a = p->a;
    int64_t now = ctl_now();
    int nn = acct_node_count(a);
    int32_t *first = xcalloc((size_t)nn, sizeof *first), *next = xcalloc((size_t)nn, sizeof *next);
    int32_t *last = xcalloc((size_t)nn, sizeof *last);
    for (int i = 0; i < nn; i++)
        first[i] = next[i] = last[i] = -1;
    for (int i = 1; i < nn; i++) { /* children in the order they were added */
        int par = acct_node_parent(a, i);
        if (last[par] < 0)
            first[par] = i;
        else
            next[last[par]] = i;
        last[par] = i;
    }
    const acct_priority_config *pc = acct_priority(a);
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "center", acct_node_name(a, 0));
    jsonw_kv_str(&w, "file", c->o.center);
    jsonw_kv_int(&w, "computed_at", p->last_calc);
    jsonw_kv_int(&w, "computations", p->calcs);
    jsonw_key(&w, "priority");
    jsonw_obj_open(&w);
    jsonw_kv_int(&w, "w_age", pc->w_age);
    jsonw_kv_int(&w, "w_fairshare", pc->w_fairshare);
    jsonw_kv_int(&w, "w_size", pc->w_size);
    jsonw_kv_int(&w, "w_qos", pc->w_qos);
    jsonw_kv_int(&w, "max_age", pc->max_age);
    jsonw_kv_int(&w, "half_life", pc->half_life);
    jsonw_kv_int(&w, "calc_period", pc->calc_period);
    jsonw_kv_bool(&w, "favor_small", pc->favor_small);
    jsonw_obj_close(&w);
    jsonw_key(&w, "accounts");
    jsonw_arr_open(&w);
    tree_node(a, &w, 0, 0, first, next, now);
    jsonw_arr_close(&w);
    jsonw_key(&w, "users");
    jsonw_arr_open(&w);
    for (int u = 0; u < acct_user_count(a); u++) {
        jsonw_obj_open(&w);
        jsonw_kv_str(&w, "name", acct_user_name(a, u));
        int dp = acct_user_default(a, u);
        jsonw_kv_str(&w, "default_project", dp != ACCT_NONE ? acct_node_name(a, dp) : "");
        jsonw_key(&w, "projects");
        jsonw_arr_open(&w);
        for (int n = 0; n < nn; n++)
            if (acct_node_level(a, n) == ACCT_MEMBER &&
                strcmp(acct_node_name(a, n), acct_user_name(a, u)) == 0)
                jsonw_str(&w, acct_node_name(a, acct_node_parent(a, n)));
        jsonw_arr_close(&w);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "qos");
    jsonw_arr_open(&w);
    for (int q = 0; q < acct_qos_count(a); q++) {
        const acct_qos_def *d = acct_qos_get(a, q);
        jsonw_obj_open(&w);
        jsonw_kv_str(&w, "name", d->name);
        jsonw_kv_bool(&w, "default", q == acct_qos_default(a));
        jsonw_kv_int(&w, "priority", d->priority);
        jsonw_kv_int(&w, "max_wall", d->max_wall);
        jsonw_kv_int(&w, "max_gpus_per_user", d->max_gpus_per_user);
        jsonw_kv_int(&w, "max_gpus_per_project", d->max_gpus_per_project);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_key(&w, "allocations");
    jsonw_arr_open(&w);
    for (int i = 0; i < acct_alloc_count(a); i++) {
        jsonw_obj_open(&w);
        alloc_fields(a, &w, i, now);
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    free(first);
    free(next);
    free(last);
    reply_json(r, 200, &w);
}

/* The answer of a successful reload or change: the center's size. */
static void reply_center(ctl *c, http_req *r, unsigned status, const char *what)
{
    acct_center *a = c->pol->a;
    int accounts = 0, members = 0;
    for (int n = 1; n < acct_node_count(a); n++) {
        members += acct_node_level(a, n) == ACCT_MEMBER;
        accounts += acct_node_level(a, n) != ACCT_MEMBER;
    }
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "done", what);
    jsonw_kv_str(&w, "file", c->o.center);
    jsonw_kv_int(&w, "accounts", accounts);
    jsonw_kv_int(&w, "members", members);
    jsonw_kv_int(&w, "users", acct_user_count(a));
    jsonw_kv_int(&w, "qos", acct_qos_count(a));
    jsonw_kv_int(&w, "allocations", acct_alloc_count(a));
    jsonw_kv_int(&w, "held", (int64_t)c->pol->nrefused);
    jsonw_obj_close(&w);
    reply_json(r, status, &w);
}

void policy_route_reload(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    if (!need_center(c, r))
        return;
    struct policy *p = c->pol;
    char *buf;
    size_t len;
    char err[1024], field[64];
    if (trace_slurp(c->o.center, &buf, &len, err, sizeof err) != 0) {
        http_reply_error(r, 400, "invalid", "center", "%s; the current center is kept", err);
        return;
    }
    acct_center *na = pol_make_center(c, buf, len, NULL, field, sizeof field, err, sizeof err);
    if (!na) {
        free(buf);
        http_reply_error(r, 400, "invalid", "center", "%s; the current center is kept", err);
        return;
    }
    if (pol_rebuild(c, na, ctl_now(), err, sizeof err) != 0) {
        free(buf);
        http_reply_error(r, 503, "store", NULL, "%s; the current center is kept", err);
        return;
    }
    free(p->buf);
    p->buf = buf;
    p->len = len;
    fprintf(stderr, "fleetd: center %s reloaded\n", c->o.center);
    reply_center(c, r, 200, "reloaded");
}

/* The running or pending jobs charged to the account `name` (project: 1)
 * or drawing on the allocation `name` (0). O(J). */
static size_t active_jobs_of(ctl *c, int project, const char *name)
{
    int al = project ? -1 : acct_alloc_find(c->pol->a, name);
    size_t n = 0;
    for (size_t i = 0; i < c->nall; i++) {
        const fjob *j = c->all[i];
        if (j->state != FJOB_PENDING && j->state != FJOB_RUNNING)
            continue;
        if (project ? j->account && strcmp(j->account, name) == 0
                    : al >= 0 && j->pol && j->pol->aj.alloc == al)
            n++;
    }
    return n;
}

/* POST /v1/admin/members and /v1/admin/allocations: the change must apply
 * over the current center (400 naming the field otherwise), is appended to
 * the admin log (durable) and the center rebuilt with it. On accounts and
 * allocations, "remove": true makes it a removal ("unaccount",
 * "unallocation"), refused (409) while running or pending jobs are charged
 * to the account or draw on the allocation. */
static void admin_change(ctl *c, http_req *r, const char *kind)
{
    if (!need_center(c, r))
        return;
    struct policy *p = c->pol;
    if (!r->body || !r->len) {
        http_reply_error(r, 400, "invalid", NULL, "a JSON object is required");
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(r->body, r->len, 0, &je);
    if (!o || !json_is_object(o)) {
        http_reply_error(r, 400, "invalid_json", NULL, "body: %s",
                         o ? "must be a JSON object" : je.text);
        json_decref(o);
        return;
    }
    json_t *rm = json_object_get(o, "remove");
    if (rm && (strcmp(kind, "account") == 0 || strcmp(kind, "allocation") == 0)) {
        if (!json_is_boolean(rm)) {
            http_reply_error(r, 400, "invalid", "remove", "remove: true or false");
            json_decref(o);
            return;
        }
        if (json_is_true(rm))
            kind = kind[1] == 'c' ? "unaccount" : "unallocation";
        json_object_del(o, "remove");
    }
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!body)
        abort();
    admin_entry extra = {(char *)kind, body};
    char err[1024], field[64];
    acct_center *na =
        pol_make_center(c, p->buf, p->len, &extra, field, sizeof field, err, sizeof err);
    if (!na) {
        unsigned st = strstr(err, "already a member") || strstr(err, ": remove") ||
                              (kind[0] == 'u' && strstr(err, "edit the center file"))
                          ? 409
                      : strstr(err, "is not a member of project") ||
                              (kind[0] == 'u' && (strstr(err, "name: no account \"") ||
                                                  strstr(err, "name: no allocation \"")))
                          ? 404
                          : 400;
        http_reply_error(r, st, st == 409 ? "conflict" : st == 404 ? "not_found" : "invalid",
                         field[0] ? field : NULL, "%s", err);
        free(body);
        return;
    }
    /* a removal also waits for the jobs charged to it (after the checks of
     * the center: sub-accounts, allocations) */
    if (strcmp(kind, "unaccount") == 0 || strcmp(kind, "unallocation") == 0) {
        json_t *b = json_loads(body, 0, NULL);
        const char *name = json_string_value(json_object_get(b, "name"));
        int acc = strcmp(kind, "unaccount") == 0;
        size_t n = name ? active_jobs_of(c, acc, name) : 0;
        if (n) {
            http_reply_error(r, 409, "conflict", "name",
                             "name: %zu running or pending job%s %s %s: cancel %s first", n,
                             n == 1 ? "" : "s",
                             acc ? "charged to account" : "drawing on allocation", name,
                             n == 1 ? "it" : "them");
            json_decref(b);
            acct_destroy(na);
            free(body);
            return;
        }
        json_decref(b);
    }
    int64_t seq;
    if (store_admin_append(c->st, ctl_now(), kind, body, &seq, err, sizeof err) != 0) {
        acct_destroy(na);
        free(body);
        http_reply_error(r, 503, "store", NULL, "not stored: %s", err);
        return;
    }
    pol_admin_entry_add(seq, 0, kind, body, p);
    free(body);
    if (pol_rebuild(c, na, ctl_now(), err, sizeof err) != 0) {
        /* stored: the next reload or restart applies it */
        http_reply_error(r, 503, "store", NULL, "stored, not yet applied: %s", err);
        return;
    }
    reply_center(c, r, kind[0] == 'u' ? 200 : 201, kind);
}

void policy_route_add_member(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    admin_change(c, r, "member");
}

void policy_route_set_allocation(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    admin_change(c, r, "allocation");
}

void policy_route_set_account(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    admin_change(c, r, "account");
}

void policy_route_remove_member(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    admin_change(c, r, "unmember");
}
