/*
 * policy.c: the center's policy in the live controller, and accounting.
 *
 * With `fleetd --center FILE` the controller drives libsched's policy layer
 * (src/libsched/acct.h) as the simulator does (src/sim/sim_center.c):
 *
 *   submit    the job's project must exist and its user be a member (or the
 *             user's default project is taken), its QOS must exist and its
 *             limits hold, and its allocation must cover its worst-case cost
 *             (acct_admit); a refusal is a 4xx naming the field.
 *   passes    before each pass, fair share and priorities are recomputed at
 *             most every calc_period, and pending jobs are gated by QOS
 *             running limits and by their allocation's state (held with the
 *             pending reason "qos_limit" or "allocation").
 *   starts, ends   charge the policy layer (acct_job_start, acct_job_end).
 *
 * Accounting works with or without a center: every run of a job that ends
 * (or is requeued) becomes an accounting record (store.h: store_usage),
 * written in the same transaction as the job's final state. At startup,
 * and on `fleet admin reload`, the policy state is rebuilt from the records:
 * each recorded run is charged at its end to its member's fair-share usage
 * (acct_charge, decayed from then to now) and to the allocation it drew on
 * (acct_alloc_charge); running jobs are admitted and started again at their
 * start times, in time order with the records; pending jobs are admitted
 * again now. So fair share and allocations survive a restart.
 *
 * Operators change the center with the admin log (store_admin_append):
 * memberships and allocations set through the API are entries applied over
 * the center file at every (re)build, so they survive restarts and reloads.
 *
 * The routes (fleet usage, fleet admin) are in policy_api.c; what both
 * share is in policy_internal.h.
 *
 * Cost: a pass adds O(J) over the controller's jobs plus O(Q) to take the
 * Q pending jobs in queue order (sched_queue_first/next) for the gate; a recomputation adds
 * acct_fairshare_update (O(N log N) over the tree) and sched_reprioritize.
 * A pol_rebuild reads the accounting records since the decay horizon, O(R log R).
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "center_acct.h"
#include "policy_internal.h"
#include "trace.h"

/* ---- small helpers -------------------------------------------------------- */

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

/* strdup that aborts on out of memory; NULL gives "". */
static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

/* "key": number, or null for a value JSON cannot hold (an infinite LF). */
void pol_kv_num(jsonw *w, const char *k, double v)
{
    jsonw_key(w, k);
    if (!isfinite(v)) {
        jsonw_null(w);
        return;
    }
    char b[40];
    snprintf(b, sizeof b, "%.10g", v);
    jsonw_raw(w, b);
}

const char *pol_level_name(int level)
{
    switch (level) {
    case ACCT_CENTER: return "center";
    case ACCT_TIER: return "tier";
    case ACCT_ORG: return "organization";
    case ACCT_PROJECT: return "project";
    case ACCT_MEMBER: return "member";
    }
    return "unknown";
}

int policy_enabled(const ctl *c)
{
    return c->pol && c->pol->a;
}

/* ---- pools: charge rates and node sizes ----------------------------------- */

/* The charge rate of every pool (read again from the cluster file: the
 * scheduler keeps pools, not prices) and the largest node of each pool.
 * O(pools + nodes). */
static int load_pools(ctl *c, struct policy *p, char *err, size_t errlen)
{
    int np = sched_pool_count(c->s);
    p->npools = np;
    p->rates = xcalloc((size_t)np, sizeof *p->rates);
    p->pool_gpus = xcalloc((size_t)np, sizeof *p->pool_gpus);
    for (int i = 0; i < np; i++)
        p->rates[i] = 1.0;
    char *buf;
    size_t len;
    cluster_desc cd;
    cluster_desc_init(&cd);
    if (trace_slurp(c->o.config, &buf, &len, err, errlen) != 0)
        return -1;
    int rc = cluster_yaml_parse(buf, len, c->o.config, &cd, err, errlen);
    free(buf);
    for (size_t i = 0; rc == 0 && i < cd.npools; i++) {
        int k = sched_pool_find(c->s, cd.pools[i].name);
        if (k >= 0)
            p->rates[k] = cd.pools[i].charge_rate;
    }
    cluster_desc_free(&cd);
    for (int n = 0; n < sched_node_count(c->s); n++) {
        sched_node_info ni;
        sched_node_get(c->s, n, &ni);
        int k = sched_pool_find(c->s, ni.pool);
        if (k >= 0 && ni.gpus > p->pool_gpus[k])
            p->pool_gpus[k] = ni.gpus;
    }
    return rc;
}

/* The charge rate of a pool; 1 for an unknown index. */
static double pool_rate(const struct policy *p, int pool)
{
    return pool >= 0 && pool < p->npools ? p->rates[pool] : 1.0;
}

/* ---- building a center: the file, then the admin log over it ------------- */

/* The center of a description, on this cluster, with fleetd's charge
 * rates: center_acct_build, as the simulator builds it. NULL with
 * "FILE:LINE: field NAME: reason" in err. */
static acct_center *build_center(ctl *c, const center_desc *cd, const char *fname, char *err,
                                 size_t errlen)
{
    return center_acct_build(cd, c->s, c->pol->rates, fname, NULL, err, errlen);
}

/* A time in an API request: Unix seconds or a date as the center file
 * writes them. 0, or -1 with a message naming the field. */
static int json_time(json_t *v, const char *field, int64_t *out, char *err, size_t errlen)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (s && center_parse_time(s, strlen(s), out) == 0)
        return 0;
    snprintf(err, errlen, "%s: a time (Unix seconds, 2025-03-01 or 2025-03-01T12:00:00Z)", field);
    return -1;
}

/* Applies an "allocation" entry to a description: the allocation of that
 * name is replaced field by field (what the entry leaves out is kept), or
 * appended (then account and gpu_hours are required; an absent start or end
 * is open). Pool names are checked against the cluster s, so that an entry
 * that no longer applies is skipped, not fatal to the build. field receives
 * the entry's field at fault. 0 or -1. */
static int apply_alloc(const sched *s, center_desc *cd, json_t *o, char *field, size_t fieldlen,
                       char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "account", "gpu_hours", "pools", "start", "end"};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(key, keys[k]) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            snprintf(field, fieldlen, "%s", key);
            snprintf(err, errlen, "%s: unknown field (known: name, account, gpu_hours, pools, "
                                  "start, end)", key);
            return -1;
        }
    }
    const char *name = json_string_value(json_object_get(o, "name"));
    if (!name || !*name || strlen(name) >= TRACE_NAMELEN) {
        snprintf(field, fieldlen, "name");
        snprintf(err, errlen, "name: the allocation's name is required (at most %d bytes)",
                 TRACE_NAMELEN - 1);
        return -1;
    }
    center_alloc *al = NULL;
    for (size_t i = 0; i < cd->nallocs && !al; i++)
        if (strcmp(cd->allocs[i].name, name) == 0)
            al = &cd->allocs[i];
    center_alloc fresh;
    int is_new = al == NULL;
    if (is_new) {
        memset(&fresh, 0, sizeof fresh);
        snprintf(fresh.name, sizeof fresh.name, "%s", name);
        fresh.start = INT64_MIN;
        fresh.end = INT64_MAX;
        fresh.account = -2; /* required */
        fresh.gpu_hours = -1;
        al = &fresh;
    }
    center_alloc next = *al;
    json_t *acc = json_object_get(o, "account");
    if (acc) {
        const char *an = json_string_value(acc);
        int32_t idx = -2;
        if (an && (strcmp(an, cd->name[0] ? cd->name : "center") == 0))
            idx = -1;
        for (size_t i = 0; an && idx == -2 && i < cd->naccounts; i++)
            if (strcmp(cd->accounts[i].name, an) == 0)
                idx = (int32_t)i;
        if (idx == -2) {
            snprintf(field, fieldlen, "account");
            snprintf(err, errlen, "account: no account \"%s\" in the center", an ? an : "");
            return -1;
        }
        next.account = idx;
    }
    json_t *gh = json_object_get(o, "gpu_hours");
    if (gh) {
        if (!json_is_number(gh) || !isfinite(json_number_value(gh)) ||
            json_number_value(gh) < 0 || json_number_value(gh) > 1e15) {
            snprintf(field, fieldlen, "gpu_hours");
            snprintf(err, errlen, "gpu_hours: a number between 0 and 1e15");
            return -1;
        }
        next.gpu_hours = json_number_value(gh);
    }
    json_t *pools = json_object_get(o, "pools");
    if (pools) {
        const char *ps = json_string_value(pools);
        if (!ps || strlen(ps) >= sizeof next.pools) {
            snprintf(field, fieldlen, "pools");
            snprintf(err, errlen, "pools: pool names joined by '|' (\"\" for any pool)");
            return -1;
        }
        uint64_t mask;
        char e[SCHED_ERRLEN];
        if (*ps && sched_pool_mask(s, ps, 1, &mask, e, sizeof e) != 0) {
            snprintf(field, fieldlen, "pools");
            snprintf(err, errlen, "pools: %s", e);
            return -1;
        }
        snprintf(next.pools, sizeof next.pools, "%s", ps);
        next.pools_line = 0;
    }
    static const char *const tk[2] = {"start", "end"};
    int64_t *tv[2] = {&next.start, &next.end};
    for (int k = 0; k < 2; k++) {
        json_t *t = json_object_get(o, tk[k]);
        if (t && !json_is_null(t) && json_time(t, tk[k], tv[k], err, errlen) != 0) {
            snprintf(field, fieldlen, "%s", tk[k]);
            return -1;
        }
        if (t && json_is_null(t))
            *tv[k] = k ? INT64_MAX : INT64_MIN;
    }
    if (next.account == -2 || next.gpu_hours < 0) {
        snprintf(field, fieldlen, "%s", next.account == -2 ? "account" : "gpu_hours");
        snprintf(err, errlen, "%s: required for a new allocation", field);
        return -1;
    }
    if (next.end <= next.start) {
        snprintf(field, fieldlen, "end");
        snprintf(err, errlen, "end: the period must end after it starts");
        return -1;
    }
    next.line = 0;
    if (!is_new) {
        *al = next;
        return 0;
    }
    cd->allocs = xrealloc(cd->allocs, (cd->nallocs + 1) * sizeof *cd->allocs);
    cd->allocs[cd->nallocs++] = next;
    return 0;
}

/* Rejects keys of o outside keys[] (naming the first). 0 or -1. */
static int known_keys(json_t *o, const char *const *keys, size_t nkeys, const char *list,
                      char *field, size_t fieldlen, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < nkeys && strcmp(key, keys[k]) != 0)
            k++;
        if (k == nkeys) {
            snprintf(field, fieldlen, "%s", key);
            snprintf(err, errlen, "%s: unknown field (known: %s)", key, list);
            return -1;
        }
    }
    return 0;
}

/* The index of the account called name in cd, -1 for the center itself
 * ("" or its name), -2 if none. */
static int32_t desc_account(const center_desc *cd, const char *name)
{
    if (!*name || strcmp(name, cd->name[0] ? cd->name : "center") == 0)
        return -1;
    for (size_t i = 0; i < cd->naccounts; i++)
        if (strcmp(cd->accounts[i].name, name) == 0)
            return (int32_t)i;
    return -2;
}

static const char *level_word(int level)
{
    return level == CENTER_TIER ? "tier" : level == CENTER_ORG ? "organization" : "project";
}

/* Applies an "account" entry to a description: the account of that name
 * gets the entry's shares (its parent and level, if given, must be what
 * they are: accounts do not move), or is appended under its parent (a new
 * one needs "parent": the center's name or "" for a tier; its level is
 * "tier" under the center, else "project" unless given: "organization"
 * under a tier or an organization, "project" under either). 0 or -1 with
 * the field at fault. */
static int apply_account(center_desc *cd, json_t *o, char *field, size_t fieldlen, char *err,
                         size_t errlen)
{
    static const char *const keys[] = {"name", "parent", "level", "shares"};
    if (known_keys(o, keys, 4, "name, parent, level, shares", field, fieldlen, err, errlen))
        return -1;
    const char *name = json_string_value(json_object_get(o, "name"));
    json_t *par = json_object_get(o, "parent"), *lev = json_object_get(o, "level");
    json_t *sh = json_object_get(o, "shares");
    if (!name || !*name || strlen(name) >= TRACE_NAMELEN) {
        snprintf(field, fieldlen, "name");
        snprintf(err, errlen, "name: the account's name is required (at most %d bytes)",
                 TRACE_NAMELEN - 1);
        return -1;
    }
    if (sh && (!json_is_number(sh) || !(json_number_value(sh) >= 0) ||
               json_number_value(sh) > ACCT_SHARES_MAX)) {
        snprintf(field, fieldlen, "shares");
        snprintf(err, errlen, "shares: a number between 0 and %g", ACCT_SHARES_MAX);
        return -1;
    }
    int level = 0;
    if (lev) {
        const char *ls = json_string_value(lev);
        level = !ls ? 0 : strcmp(ls, "tier") == 0 ? CENTER_TIER
                    : strcmp(ls, "organization") == 0 || strcmp(ls, "org") == 0 ? CENTER_ORG
                    : strcmp(ls, "project") == 0 ? CENTER_PROJECT : 0;
        if (!level) {
            snprintf(field, fieldlen, "level");
            snprintf(err, errlen, "level: tier, organization or project");
            return -1;
        }
    }
    int32_t parent = -2;
    if (par) {
        const char *ps = json_string_value(par);
        parent = ps ? desc_account(cd, ps) : -2;
        if (parent == -2) {
            snprintf(field, fieldlen, "parent");
            snprintf(err, errlen, "parent: no account \"%s\" in the center", ps ? ps : "");
            return -1;
        }
    }
    int32_t self = desc_account(cd, name);
    if (self == -1) {
        snprintf(field, fieldlen, "name");
        snprintf(err, errlen, "name: %s is the center itself", name);
        return -1;
    }
    if (self >= 0) {
        center_account *ca = &cd->accounts[self];
        if (par && parent != ca->parent) {
            snprintf(field, fieldlen, "parent");
            snprintf(err, errlen, "parent: %s is under %s; accounts do not move (edit the center "
                                  "file and reload)", name,
                     ca->parent >= 0 ? cd->accounts[ca->parent].name : "the center");
            return -1;
        }
        if (level && level != ca->level) {
            snprintf(field, fieldlen, "level");
            snprintf(err, errlen, "level: %s is a %s", name, level_word(ca->level));
            return -1;
        }
        if (sh)
            ca->shares = json_number_value(sh);
        return 0;
    }
    if (!par) {
        snprintf(field, fieldlen, "parent");
        snprintf(err, errlen, "parent: required for a new account (\"\" for a tier)");
        return -1;
    }
    int plevel = parent < 0 ? 0 : cd->accounts[parent].level;
    if (!level)
        level = plevel == 0 ? CENTER_TIER : CENTER_PROJECT;
    int ok = plevel == 0 ? level == CENTER_TIER
                         : plevel != CENTER_PROJECT && level != CENTER_TIER;
    if (!ok) {
        snprintf(field, fieldlen, "level");
        snprintf(err, errlen, "level: %s %s cannot be under %s",
                 level == CENTER_ORG ? "an" : "a", level_word(level),
                 parent < 0 ? "the center (only tiers are)" : level_word(plevel));
        return -1;
    }
    int depth = 0;
    for (int32_t q = parent; q >= 0; q = cd->accounts[q].parent)
        depth += cd->accounts[q].level == CENTER_ORG;
    if (level == CENTER_ORG && depth >= CENTER_MAX_ORG_DEPTH) {
        snprintf(field, fieldlen, "parent");
        snprintf(err, errlen, "parent: organizations nest at most %d deep",
                 CENTER_MAX_ORG_DEPTH);
        return -1;
    }
    center_account na;
    memset(&na, 0, sizeof na);
    snprintf(na.name, sizeof na.name, "%s", name);
    na.level = level;
    na.parent = parent;
    na.shares = sh ? json_number_value(sh) : 1.0;
    na.trace_group = -1;
    cd->accounts = xrealloc(cd->accounts, (cd->naccounts + 1) * sizeof *cd->accounts);
    cd->accounts[cd->naccounts++] = na;
    return 0;
}

/* The user and project of a "member" or "unmember" entry (names; NULL if
 * absent). */
static void member_names(json_t *o, const char **user, const char **project)
{
    *user = json_string_value(json_object_get(o, "user"));
    *project = json_string_value(json_object_get(o, "project"));
}

/* Applies an "unmember" entry to a description: the file's membership of
 * the user in the project is removed (if the project was the user's
 * default, another of its projects becomes it). *found: 1 if there was
 * one. 0 or -1 with the field at fault. */
static int apply_unmember(center_desc *cd, json_t *o, int *found, char *field, size_t fieldlen,
                          char *err, size_t errlen)
{
    static const char *const keys[] = {"user", "project"};
    if (known_keys(o, keys, 2, "user, project", field, fieldlen, err, errlen))
        return -1;
    const char *un, *pn;
    member_names(o, &un, &pn);
    *found = 0;
    if (!un || !*un || !pn || !*pn) {
        snprintf(field, fieldlen, "%s", !un || !*un ? "user" : "project");
        snprintf(err, errlen, "%s: required", field);
        return -1;
    }
    int32_t p = desc_account(cd, pn);
    for (size_t i = 0; p >= 0 && i < cd->nmembers; i++) {
        center_member *m = &cd->members[i];
        if (m->project != p || strcmp(cd->users[m->user].name, un) != 0)
            continue;
        center_user *u = &cd->users[m->user];
        int32_t uid = m->user;
        cd->members[i] = cd->members[--cd->nmembers];
        *found = 1;
        if (u->default_project == p)
            for (size_t k = 0; k < cd->nmembers; k++)
                if (cd->members[k].user == uid) {
                    u->default_project = cd->members[k].project;
                    break;
                }
        break;
    }
    return 0;
}

/* The name of an "unaccount" or "unallocation" entry (`what`: "account" or
 * "allocation"), its only field; NULL with the field at fault when another
 * field is there or the name is missing or empty. */
static const char *entry_name(json_t *o, const char *what, char *field, size_t fieldlen,
                              char *err, size_t errlen)
{
    static const char *const keys[] = {"name"};
    if (known_keys(o, keys, 1, "name", field, fieldlen, err, errlen))
        return NULL;
    const char *name = json_string_value(json_object_get(o, "name"));
    snprintf(field, fieldlen, "name");
    if (!name || !*name) {
        snprintf(err, errlen, "name: the %s's name is required", what);
        return NULL;
    }
    return name;
}

/* Drops user u of a description (it has no membership left): the indexes
 * of later users shift down in the memberships and reservations. O(U + M +
 * R). */
static void desc_drop_user(center_desc *cd, int32_t u)
{
    memmove(&cd->users[u], &cd->users[u + 1], (cd->nusers - u - 1) * sizeof *cd->users);
    cd->nusers--;
    for (size_t i = 0; i < cd->nmembers; i++)
        cd->members[i].user -= cd->members[i].user > u;
    for (size_t i = 0; i < cd->nresvs; i++)
        for (size_t k = 0; k < cd->resvs[i].nusers; k++)
            cd->resvs[i].users[k] -= cd->resvs[i].users[k] > u;
}

/* Applies an "unaccount" entry to a description: the account is removed
 * with its memberships. It must have no sub-accounts, allocations or
 * guarantees and no reservation of the file may name it. A user whose
 * default it was gets another of its projects; one left with none is
 * dropped (it may not be named by a reservation). Later accounts' indexes
 * shift down. 0 or -1 with the field at fault. O(A + U + M + R). */
static int apply_unaccount(center_desc *cd, json_t *o, char *field, size_t fieldlen, char *err,
                           size_t errlen)
{
    const char *name = entry_name(o, "account", field, fieldlen, err, errlen);
    if (!name)
        return -1;
    int32_t x = desc_account(cd, name);
    if (x == -1) {
        snprintf(err, errlen, "name: %s is the center itself", name);
        return -1;
    }
    if (x == -2) {
        snprintf(err, errlen, "name: no account \"%s\" in the center", name);
        return -1;
    }
    for (size_t i = 0; i < cd->naccounts; i++)
        if (cd->accounts[i].parent == x) {
            snprintf(err, errlen, "name: account %s has sub-accounts (%s): remove them first",
                     name, cd->accounts[i].name);
            return -1;
        }
    for (size_t i = 0; i < cd->nallocs; i++)
        if (cd->allocs[i].account == x) {
            snprintf(err, errlen, "name: account %s holds allocation %s: remove allocation %s "
                                  "first", name, cd->allocs[i].name, cd->allocs[i].name);
            return -1;
        }
    for (size_t i = 0; i < cd->nguarantees; i++)
        if (cd->guarantees[i].account == x) {
            snprintf(err, errlen, "name: account %s holds a guarantee in pool %s: guarantees are "
                                  "the center file's: edit the center file", name,
                     cd->guarantees[i].pool);
            return -1;
        }
    for (size_t i = 0; i < cd->nresvs; i++)
        for (size_t k = 0; k < cd->resvs[i].naccounts; k++)
            if (cd->resvs[i].accounts[k] == x) {
                snprintf(err, errlen, "name: reservation %s of the center file names account %s: "
                                      "edit the center file", cd->resvs[i].name, name);
                return -1;
            }
    /* users that would be left with no project: none may be in a reservation */
    for (size_t u = 0; u < cd->nusers; u++) {
        int in = 0, other = 0;
        for (size_t i = 0; i < cd->nmembers; i++)
            if (cd->members[i].user == (int32_t)u) {
                in |= cd->members[i].project == x;
                other |= cd->members[i].project != x;
            }
        for (size_t i = 0; in && !other && i < cd->nresvs; i++)
            for (size_t k = 0; k < cd->resvs[i].nusers; k++)
                if (cd->resvs[i].users[k] == (int32_t)u) {
                    snprintf(err, errlen, "name: user %s would have no project left and "
                                          "reservation %s of the center file names it: edit "
                                          "the center file", cd->users[u].name, cd->resvs[i].name);
                    return -1;
                }
    }
    size_t n = 0;
    for (size_t i = 0; i < cd->nmembers; i++)
        if (cd->members[i].project != x)
            cd->members[n++] = cd->members[i];
    cd->nmembers = n;
    for (size_t u = cd->nusers; u-- > 0;) {
        if (cd->users[u].default_project != x)
            continue;
        cd->users[u].default_project = -1;
        for (size_t i = 0; i < cd->nmembers; i++)
            if (cd->members[i].user == (int32_t)u) {
                cd->users[u].default_project = cd->members[i].project;
                break;
            }
        if (cd->users[u].default_project < 0)
            desc_drop_user(cd, (int32_t)u);
    }
    memmove(&cd->accounts[x], &cd->accounts[x + 1],
            (cd->naccounts - x - 1) * sizeof *cd->accounts);
    cd->naccounts--;
    for (size_t i = 0; i < cd->naccounts; i++)
        cd->accounts[i].parent -= cd->accounts[i].parent > x;
    for (size_t i = 0; i < cd->nusers; i++)
        cd->users[i].default_project -= cd->users[i].default_project > x;
    for (size_t i = 0; i < cd->nmembers; i++)
        cd->members[i].project -= cd->members[i].project > x;
    for (size_t i = 0; i < cd->nallocs; i++)
        cd->allocs[i].account -= cd->allocs[i].account > x;
    for (size_t i = 0; i < cd->nguarantees; i++)
        cd->guarantees[i].account -= cd->guarantees[i].account > x;
    for (size_t i = 0; i < cd->nresvs; i++)
        for (size_t k = 0; k < cd->resvs[i].naccounts; k++)
            cd->resvs[i].accounts[k] -= cd->resvs[i].accounts[k] > x;
    return 0;
}

/* Applies an "unallocation" entry to a description: the allocation of that
 * name is removed (its usage records stay). 0 or -1 with the field at
 * fault. O(N). */
static int apply_unalloc(center_desc *cd, json_t *o, char *field, size_t fieldlen, char *err,
                         size_t errlen)
{
    const char *name = entry_name(o, "allocation", field, fieldlen, err, errlen);
    if (!name)
        return -1;
    for (size_t i = 0; i < cd->nallocs; i++)
        if (strcmp(cd->allocs[i].name, name) == 0) {
            memmove(&cd->allocs[i], &cd->allocs[i + 1],
                    (cd->nallocs - i - 1) * sizeof *cd->allocs);
            cd->nallocs--;
            return 0;
        }
    snprintf(err, errlen, "name: no allocation \"%s\" in the center", name);
    return -1;
}

/* Applies a "member" entry to a built center: the user (added, with its uid,
 * if the center does not know it) becomes a member of the project; with
 * "default": true the project becomes the user's default. 0, or -1 with the
 * field at fault (an existing membership is an error: "already a member"). */
static int apply_member(acct_center *a, json_t *o, char *field, size_t fieldlen, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"user", "uid", "project", "shares", "default"};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(key, keys[k]) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            snprintf(field, fieldlen, "%s", key);
            snprintf(err, errlen, "%s: unknown field (known: user, uid, project, shares, "
                                  "default)", key);
            return -1;
        }
    }
    const char *un = json_string_value(json_object_get(o, "user"));
    const char *pn = json_string_value(json_object_get(o, "project"));
    json_t *uid = json_object_get(o, "uid"), *sh = json_object_get(o, "shares");
    json_t *def = json_object_get(o, "default");
    if (!un || !*un) {
        snprintf(field, fieldlen, "user");
        snprintf(err, errlen, "user: the user's name is required");
        return -1;
    }
    if (uid && (!json_is_integer(uid) || json_integer_value(uid) < 0 ||
                json_integer_value(uid) > 4294967295LL)) {
        snprintf(field, fieldlen, "uid");
        snprintf(err, errlen, "uid: a Unix uid (0 .. 4294967295)");
        return -1;
    }
    if (sh && (!json_is_number(sh) || !(json_number_value(sh) >= 0) ||
               json_number_value(sh) > ACCT_SHARES_MAX)) {
        snprintf(field, fieldlen, "shares");
        snprintf(err, errlen, "shares: a number between 0 and %g", ACCT_SHARES_MAX);
        return -1;
    }
    if (def && !json_is_boolean(def)) {
        snprintf(field, fieldlen, "default");
        snprintf(err, errlen, "default: true or false");
        return -1;
    }
    int p = pn ? acct_account_find(a, pn) : -1;
    if (p < 0 || acct_node_level(a, p) != ACCT_PROJECT) {
        snprintf(field, fieldlen, "project");
        if (p < 0)
            snprintf(err, errlen, "project: no project \"%s\" in the center", pn ? pn : "");
        else
            snprintf(err, errlen, "project: %s is a %s, not a project", pn,
                     pol_level_name(acct_node_level(a, p)));
        return -1;
    }
    char e[ACCT_ERRLEN];
    int u = acct_user_find(a, un);
    if (u < 0) {
        u = acct_user_add(a, un, uid ? (int64_t)json_integer_value(uid) : -1, e, sizeof e);
        if (u < 0) {
            snprintf(field, fieldlen, "%s", strstr(e, "uid") ? "uid" : "user");
            snprintf(err, errlen, "%s: %s", field, e);
            return -1;
        }
    }
    if (acct_member_add(a, u, p, sh ? json_number_value(sh) : 1.0, e, sizeof e) < 0) {
        snprintf(field, fieldlen, "project");
        snprintf(err, errlen, "project: %s", e);
        return -1;
    }
    if (def && json_is_true(def))
        acct_user_set_default(a, u, p);
    return 0;
}

/* The reservations section of cd as definitions of the reservations API
 * (resv_api.c): projects by name, users by uid. O(R). */
static json_t *file_resvs(const center_desc *cd)
{
    json_t *out = json_object();
    for (size_t i = 0; i < cd->nresvs; i++) {
        const center_resv *v = &cd->resvs[i];
        json_t *o = json_object(), *nodes = json_array(), *acc = json_array(),
               *uids = json_array();
        json_object_set_new(o, "name", json_string(v->name));
        json_object_set_new(o, "kind", json_string(v->kind == CENTER_RESV_PROJECT ? "project"
                                                                                   : "maintenance"));
        json_object_set_new(o, "start", json_integer(v->start));
        json_object_set_new(o, "end", json_integer(v->end));
        for (size_t k = 0; k < v->nnodes; k++)
            json_array_append_new(nodes, json_string(v->nodes[k]));
        for (size_t k = 0; k < v->naccounts; k++)
            json_array_append_new(acc, json_string(cd->accounts[v->accounts[k]].name));
        for (size_t k = 0; k < v->nusers; k++)
            json_array_append_new(uids, json_integer(cd->users[v->users[k]].uid));
        json_object_set_new(o, "nodes", nodes);
        if (v->naccounts)
            json_object_set_new(o, "accounts", acc);
        else
            json_decref(acc);
        if (v->nusers)
            json_object_set_new(o, "uids", uids);
        else
            json_decref(uids);
        json_object_set_new(o, "source", json_string("center file"));
        json_object_set_new(out, v->name, o);
    }
    return out;
}

/* The center of the file text buf, with every admin log entry applied over
 * it and then `extra` (kind, body; NULL for none). Log entries that no longer
 * apply (the file changed under them) are skipped with a warning; `extra`
 * must apply, or the call fails naming its field. NULL with err (and field,
 * for extra) on failure. */
acct_center *pol_make_center(ctl *c, const char *buf, size_t len, const admin_entry *extra,
                                char *field, size_t fieldlen, char *err, size_t errlen)
{
    struct policy *p = c->pol;
    const char *fname = c->o.center;
    center_desc cd;
    center_desc_init(&cd);
    field[0] = '\0';
    if (center_yaml_parse(buf, len, fname, &cd, err, errlen) != 0) {
        center_desc_free(&cd);
        snprintf(field, fieldlen, "center");
        return NULL;
    }
    size_t total = p->nlog + (extra ? 1 : 0);
    json_t **bodies = xcalloc(total, sizeof *bodies);
    for (size_t i = 0; i < total; i++) {
        const admin_entry *en = i < p->nlog ? &p->log[i] : extra;
        json_error_t je;
        bodies[i] = json_loads(en->body, 0, &je);
        if (!bodies[i] || !json_is_object(bodies[i])) {
            json_decref(bodies[i]);
            bodies[i] = NULL;
            if (en == extra) {
                snprintf(err, errlen, "body: must be a JSON object");
                goto fail;
            }
            fprintf(stderr, "fleetd: admin log entry %zu: not a JSON object; skipped\n", i + 1);
        }
    }
    char f[64], e[512];
    /* a membership removed cancels the earlier entries that made it */
    uint8_t *cancelled = xcalloc(total ? total : 1, 1);
    for (size_t i = 0; i < total; i++) {
        const admin_entry *en = i < p->nlog ? &p->log[i] : extra;
        if (!bodies[i] || strcmp(en->kind, "unmember") != 0)
            continue;
        const char *un, *pn, *u2, *p2;
        member_names(bodies[i], &un, &pn);
        int found = 0;
        for (size_t k = 0; un && pn && k < i; k++) {
            const admin_entry *ek = k < p->nlog ? &p->log[k] : extra;
            if (!bodies[k] || cancelled[k] || strcmp(ek->kind, "member") != 0)
                continue;
            member_names(bodies[k], &u2, &p2);
            if (u2 && p2 && strcmp(u2, un) == 0 && strcmp(p2, pn) == 0)
                cancelled[k] = found = 1;
        }
        cancelled[i] = found ? 2 : 0; /* 2: an unmember that found a log membership */
    }
    /* an account removed cancels the earlier memberships of the log in it */
    for (size_t i = 0; i < total; i++) {
        const admin_entry *en = i < p->nlog ? &p->log[i] : extra;
        if (!bodies[i] || strcmp(en->kind, "unaccount") != 0)
            continue;
        const char *an = json_string_value(json_object_get(bodies[i], "name"));
        if (!an)
            continue;
        for (size_t k = 0; k < i; k++) {
            const admin_entry *ek = k < p->nlog ? &p->log[k] : extra;
            const char *u2, *p2;
            if (!bodies[k] || strcmp(ek->kind, "member") != 0)
                continue;
            member_names(bodies[k], &u2, &p2);
            if (p2 && strcmp(p2, an) == 0)
                cancelled[k] = 1;
        }
    }
    /* the file's accounts, allocations and memberships changed or removed,
     * in log order */
    for (size_t i = 0; i < total; i++) {
        const admin_entry *en = i < p->nlog ? &p->log[i] : extra;
        if (!bodies[i])
            continue;
        int rc = 0, found = 1;
        if (strcmp(en->kind, "allocation") == 0)
            rc = apply_alloc(c->s, &cd, bodies[i], f, sizeof f, e, sizeof e);
        else if (strcmp(en->kind, "account") == 0)
            rc = apply_account(&cd, bodies[i], f, sizeof f, e, sizeof e);
        else if (strcmp(en->kind, "unmember") == 0)
            rc = apply_unmember(&cd, bodies[i], &found, f, sizeof f, e, sizeof e);
        else if (strcmp(en->kind, "unaccount") == 0)
            rc = apply_unaccount(&cd, bodies[i], f, sizeof f, e, sizeof e);
        else if (strcmp(en->kind, "unallocation") == 0)
            rc = apply_unalloc(&cd, bodies[i], f, sizeof f, e, sizeof e);
        else
            continue;
        if (rc == 0 && !found && cancelled[i] != 2) {
            const char *un, *pn;
            member_names(bodies[i], &un, &pn);
            snprintf(f, sizeof f, "project");
            snprintf(e, sizeof e, "project: user %s is not a member of project %s", un, pn);
            rc = -1;
        }
        if (rc != 0) {
            if (en == extra) {
                snprintf(field, fieldlen, "%s", f);
                snprintf(err, errlen, "%s", e);
                free(cancelled);
                goto fail;
            }
            fprintf(stderr, "fleetd: admin log entry %zu (%s): %s; skipped\n", i + 1, en->kind,
                    e);
        }
    }
    acct_center *a = build_center(c, &cd, fname, err, errlen);
    if (!a) {
        snprintf(field, fieldlen, "center");
        free(cancelled);
        goto fail;
    }
    /* the reservations section: its nodes must be this cluster's */
    for (size_t i = 0; i < cd.nresvs; i++)
        for (size_t k = 0; k < cd.resvs[i].nnodes; k++)
            if (sched_node_find(c->s, cd.resvs[i].nodes[k]) < 0) {
                snprintf(err, errlen, "%s:%" PRId64 ": field nodes: reservation \"%s\": no node "
                         "\"%s\" in this cluster", fname, cd.resvs[i].nodes_line,
                         cd.resvs[i].name, cd.resvs[i].nodes[k]);
                snprintf(field, fieldlen, "center");
                acct_destroy(a);
                free(cancelled);
                goto fail;
            }
    for (size_t i = 0; i < total; i++) {
        const admin_entry *en = i < p->nlog ? &p->log[i] : extra;
        if (!bodies[i] || cancelled[i] || strcmp(en->kind, "member") != 0)
            continue;
        if (apply_member(a, bodies[i], f, sizeof f, e, sizeof e) != 0) {
            if (en == extra) {
                snprintf(field, fieldlen, "%s", f);
                snprintf(err, errlen, "%s", e);
                acct_destroy(a);
                free(cancelled);
                goto fail;
            }
            if (!strstr(e, "already a member"))
                fprintf(stderr, "fleetd: admin log entry %zu (member): %s; skipped\n", i + 1, e);
        }
    }
    free(cancelled);
    for (size_t i = 0; i < total; i++)
        json_decref(bodies[i]);
    free(bodies);
    /* the file's reservations go with the center it makes (pol_rebuild) */
    json_decref(p->next_file_resvs);
    p->next_file_resvs = file_resvs(&cd);
    center_desc_free(&cd);
    return a;
fail:
    for (size_t i = 0; i < total; i++)
        json_decref(bodies[i]);
    free(bodies);
    center_desc_free(&cd);
    return NULL;
}

int pol_admin_entry_add(int64_t seq, int64_t at, const char *kind, const char *body,
                            void *arg)
{
    (void)seq;
    (void)at;
    struct policy *p = arg;
    if (p->nlog == p->caplog) {
        p->caplog = p->caplog ? 2 * p->caplog : 16;
        p->log = xrealloc(p->log, p->caplog * sizeof *p->log);
    }
    p->log[p->nlog++] = (admin_entry){xstrdup(kind), xstrdup(body)};
    return 0;
}

/* ---- a job's policy record ----------------------------------------------- */

static struct fpol *pol_of(fjob *j)
{
    if (!j->pol) {
        j->pol = xcalloc(1, sizeof *j->pol);
        acct_job_init(&j->pol->aj);
    }
    return j->pol;
}

void policy_job_free(fjob *j)
{
    if (j && j->pol) {
        free(j->pol->why);
        free(j->pol);
        j->pol = NULL;
    }
}

/* The GPUs a job asks for, as acct counts them: its GPU count, or nodes x
 * GPUs per node, or for whole nodes the nodes x the largest node of the
 * pools it may use (its worst case). O(pools). */
static int32_t job_gpus(const struct policy *p, const fjob *j)
{
    const sched_job *sj = &j->sj;
    if (sj->nodes <= 0)
        return sj->gpus;
    if (sj->gpus_per_node > 0)
        return sj->nodes * sj->gpus_per_node;
    int32_t most = 0;
    for (int k = 0; k < p->npools; k++)
        if ((sj->pools == 0 || (sj->pools >> k & 1)) && p->pool_gpus[k] > most)
            most = p->pool_gpus[k];
    return sj->nodes * most;
}

/* The acct user of a caller or a job: by uid first, then by name. -1 if
 * the center does not know it. O(1) expected. */
int pol_find_user(const acct_center *a, uint32_t uid, const char *name)
{
    int u = acct_user_find_uid(a, uid);
    return u >= 0 ? u : acct_user_find(a, name);
}

/* Fills a job's acct request from its names (project, user, QOS), against
 * the current center, as it was submitted at `submit` with pools `pools`.
 * A name the center no longer has leaves the job refused: -1 with the
 * reason in *why (malloc'd). */
static int job_request(ctl *c, fjob *j, uint64_t pools, char **why)
{
    struct policy *p = c->pol;
    acct_center *a = p->a;
    struct fpol *fp = pol_of(j);
    acct_job_init(&fp->aj);
    acct_job *aj = &fp->aj;
    char msg[ACCT_ERRLEN + 128];
    aj->gpus = job_gpus(p, j);
    aj->submit = j->submit_time;
    aj->time_limit = j->sj.time_limit;
    aj->pools = pools;
    aj->user = pol_find_user(a, j->uid, j->user);
    *why = NULL;
    if (j->account && *j->account) {
        int n = acct_account_find(a, j->account);
        if (n < 0 || acct_node_level(a, n) != ACCT_PROJECT) {
            snprintf(msg, sizeof msg, "project %s is no longer in the center", j->account);
            *why = xstrdup(msg);
            return -1;
        }
        aj->project = n;
    }
    if (j->qos && *j->qos) {
        aj->qos = acct_qos_find(a, j->qos);
        if (aj->qos < 0) {
            snprintf(msg, sizeof msg, "QOS %s is no longer in the center", j->qos);
            *why = xstrdup(msg);
            return -1;
        }
    }
    return 0;
}

/* The job's priority, its account in the scheduler and, when admission
 * narrowed them, its pools: a pending job already in the scheduler's queue
 * is taken out and queued again with the new pools. O(1), or a resubmission. */
static void apply_admission(ctl *c, fjob *j, int64_t now, int queued)
{
    acct_job *aj = &j->pol->aj;
    j->sj.account = (uint32_t)aj->project;
    j->sj.priority = acct_job_priority(c->pol->a, aj, now);
    if (aj->pools == j->sj.pools)
        return;
    if (!queued || j->state != FJOB_PENDING) {
        j->sj.pools = aj->pools;
        return;
    }
    sched_job saved = j->sj;
    sched_cancel(c->s, &j->sj);
    memset(&j->sj, 0, sizeof j->sj);
    j->sj.id = saved.id;
    j->sj.submit = saved.submit;
    j->sj.time_limit = saved.time_limit;
    j->sj.gpus = saved.gpus;
    j->sj.nodes = saved.nodes;
    j->sj.gpus_per_node = saved.gpus_per_node;
    j->sj.cpus_per_gpu = saved.cpus_per_gpu;
    j->sj.mem_per_gpu_mb = saved.mem_per_gpu_mb;
    j->sj.user = saved.user;
    j->sj.account = saved.account;
    j->sj.priority = saved.priority;
    j->sj.held = saved.held;
    j->sj.pools = aj->pools;
    char serr[SCHED_ERRLEN];
    if (sched_submit(c->s, &j->sj, serr, sizeof serr) != 0)
        fprintf(stderr, "fleetd: job %lld: queued again for its allocation's pools: %s\n",
                (long long)j->id, serr);
}

/* Admission again (after a restart, a reload or a requeue) at time `at`:
 * 0 and the job admitted, or -1 and the job held with the reason. */
static int readmit(ctl *c, fjob *j, int64_t at)
{
    struct fpol *fp = pol_of(j);
    char *why = NULL;
    int was_refused = fp->why != NULL;
    free(fp->why);
    fp->why = NULL;
    int wait = POL_WAIT_ACCOUNT;
    if (job_request(c, j, fp->req_pools, &why) == 0) {
        char msg[ACCT_ERRLEN];
        if (acct_admit(c->pol->a, &fp->aj, at, msg, sizeof msg) == 0) {
            if (was_refused)
                c->pol->nrefused--;
            j->pol_wait = POL_WAIT_NONE;
            return 0;
        }
        why = xstrdup(msg);
        wait = strstr(msg, "allocation") ? POL_WAIT_ALLOC : POL_WAIT_ACCOUNT;
    }
    fp->why = why;
    j->pol_wait = (int8_t)wait;
    if (!was_refused)
        c->pol->nrefused++;
    return -1;
}

/* ---- rebuilding the policy state from the records ----------------------- */

/* A recorded run, resolved against the center being built. */
typedef struct hist_ev {
    int64_t t;       /* its end */
    int32_t node;    /* its member, else its project, else -1 */
    int32_t alloc;   /* the allocation it drew on, or -1 */
    double charge;
} hist_ev;

typedef struct hist_ctx {
    acct_center *a;
    hist_ev *v;
    size_t n, cap;
} hist_ctx;

/* Loader callback: a record resolved against the center being built (its
 * member, else its project; its allocation), kept if it charges anything. */
static int hist_cb(const store_usage *u, void *arg)
{
    hist_ctx *h = arg;
    if (!(u->charge > 0))
        return 0;
    int project = u->project[0] ? acct_account_find(h->a, u->project) : -1;
    if (project >= 0 && acct_node_level(h->a, project) != ACCT_PROJECT)
        project = -1;
    int user = pol_find_user(h->a, u->uid, u->user);
    int member = project >= 0 && user >= 0 ? acct_member_find(h->a, user, project) : -1;
    hist_ev e = {u->end_time, member >= 0 ? member : project,
                 u->allocation[0] ? acct_alloc_find(h->a, u->allocation) : -1, u->charge};
    if (e.node < 0 && e.alloc < 0)
        return 0;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 1024;
        h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    h->v[h->n++] = e;
    return 0;
}

/* How far back the records matter: usage decays below 2^-40 after 40
 * half-lives; an allocation counts every run since it started. */
static int64_t history_since(const acct_center *a, int64_t now)
{
    const acct_priority_config *pc = acct_priority(a);
    int64_t since = INT64_MIN;
    if (pc->half_life > 0 && pc->half_life < INT64_MAX / 80 && now > INT64_MIN / 2)
        since = now - 40 * pc->half_life;
    for (int i = 0; i < acct_alloc_count(a); i++) {
        int64_t s = acct_alloc_get(a, i)->start;
        if (s < since)
            since = s;
    }
    return since;
}

/* Orders running jobs by start time, then id. */
static int by_start(const void *x, const void *y)
{
    const fjob *a = *(fjob *const *)x, *b = *(fjob *const *)y;
    if (a->start_time != b->start_time)
        return a->start_time < b->start_time ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* acct_prio_arg.job_of: the acct_job of a controller job (an fjob begins
 * with its sched_job), NULL without a policy record. */
static const acct_job *job_of(const sched_job *sj, void *arg)
{
    (void)arg;
    const fjob *j = (const fjob *)sj;
    return j->pol ? &j->pol->aj : NULL;
}

/* Fair Tree over the usage at `now`, and every pending job's priority. */
/* A preemptor waiting for its victims goes first, whatever its
 * multifactor priority (as in the simulator). */
#define PREEMPTOR_PRIORITY (INT64_MAX / 4)

static int awaiting(const sched_job *sj)
{
    const fjob *j = (const fjob *)(const void *)sj;
    return j->pol && j->pol->await != 0;
}

/* sched_reprioritize's callback: preemptors first, every other job its
 * multifactor priority. O(1). */
static int64_t live_priority(const sched_job *sj, void *arg)
{
    return awaiting(sj) ? PREEMPTOR_PRIORITY : acct_sched_priority(sj, arg);
}

/* Keeps every priority but the preemptors'. O(1). */
static int64_t boost_priority(const sched_job *sj, void *arg)
{
    (void)arg;
    return awaiting(sj) ? PREEMPTOR_PRIORITY : sj->priority;
}

static void recalc(ctl *c, int64_t now)
{
    struct policy *p = c->pol;
    acct_fairshare_update(p->a, now);
    acct_prio_arg arg = {p->a, now, job_of, NULL};
    sched_reprioritize(c->s, live_priority, &arg);
    p->last_calc = now;
    p->calcs++;
}

/*
 * Makes na the center and rebuilds its state: the recorded runs since the
 * decay horizon and the running jobs' starts are replayed in time order (a
 * record charged at its end to its member and allocation, a running job
 * admitted and started at its start time), then the pending jobs are
 * admitted again now, in id order, and priorities recomputed. The records
 * are read before anything changes: on a store error the old center stays
 * and na is freed (-1). O(R log R + J log J) for R records, J jobs.
 */
int pol_rebuild(ctl *c, acct_center *na, int64_t now, char *err, size_t errlen)
{
    struct policy *p = c->pol;
    hist_ctx h = {na, NULL, 0, 0};
    if (store_usage_load(c->st, history_since(na, now), INT64_MAX, hist_cb, &h, err, errlen) <
        0) {
        free(h.v);
        acct_destroy(na);
        return -1;
    }
    acct_destroy(p->a);
    p->a = na;
    p->nrefused = 0;
    size_t nrun = 0;
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state != FJOB_PENDING && j->state != FJOB_RUNNING) {
            policy_job_free(j);
            continue;
        }
        struct fpol *fp = pol_of(j);
        free(fp->why);
        fp->why = NULL;
        j->pol_wait = POL_WAIT_NONE;
        acct_job_init(&fp->aj);
        nrun += j->state == FJOB_RUNNING;
    }
    fjob **run = xcalloc(nrun, sizeof *run);
    size_t k = 0;
    for (size_t i = 0; i < c->nall; i++)
        if (c->all[i]->state == FJOB_RUNNING)
            run[k++] = c->all[i];
    qsort(run, nrun, sizeof *run, by_start);
    size_t i = 0;
    k = 0;
    while (i < h.n || k < nrun) {
        if (k == nrun || (i < h.n && h.v[i].t <= run[k]->start_time)) {
            const hist_ev *e = &h.v[i++];
            if (e->node >= 0)
                acct_charge(na, e->node, e->charge, e->t);
            if (e->alloc >= 0)
                acct_alloc_charge(na, e->alloc, e->charge);
            continue;
        }
        fjob *j = run[k++];
        if (readmit(c, j, j->start_time) != 0)
            fprintf(stderr, "fleetd: job %lld runs outside the policy: %s\n", (long long)j->id,
                    j->pol->why);
        j->sj.account = (uint32_t)j->pol->aj.project;
        acct_job_start(na, &j->pol->aj, j->sj.pool, j->sj.alloced_gpus, j->start_time);
        j->pol_wait = POL_WAIT_NONE;
    }
    /* running jobs never wait: a refusal above is a log line, not a hold */
    for (k = 0; k < nrun; k++)
        if (run[k]->pol->why) {
            free(run[k]->pol->why);
            run[k]->pol->why = NULL;
            p->nrefused--;
        }
    free(run);
    free(h.v);
    for (i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state != FJOB_PENDING)
            continue;
        if (readmit(c, j, now) == 0)
            apply_admission(c, j, now, 1);
    }
    recalc(c, now);
    if (p->next_file_resvs) { /* the file's reservations come with its center */
        json_decref(p->file_resvs);
        p->file_resvs = p->next_file_resvs;
        p->next_file_resvs = NULL;
    }
    resv_reapply(c); /* project reservations name accounts of the new center */
    c->sched_dirty = 1;
    return 0;
}

/* ---- preemptors across a restart ------------------------------------------ */

/* The GPUs job j needs in pool `pool` as the preemption planner counts them
 * (acct_planner_plan's plan.gpus): its shape there (sched_job_shape), whole
 * nodes counting whole. 0 if it can never fit the pool. O(1). */
static int64_t job_gpus_in(const ctl *c, const fjob *j, int pool)
{
    int32_t k, g;
    int whole;
    if (sched_job_shape(c->s, &j->sj, pool, &k, &g, &whole) != 0)
        return 0;
    return whole ? (int64_t)k * g : g;
}

/*
 * At startup, after the rebuild: the waiting state of the preemptors whose
 * victims still run. A victim's marks are stored with its job (preempt_at,
 * preempt_by: ctl.c restores them and tells the scheduler its end); its
 * preemptor's await and claim are not, and are rebuilt from its victims.
 * For a pending job P that is the preempt_by of running victims: await =
 * the latest of their preempt_at, and its claim = {the holder of P's
 * project in the victims' pool (acct_guarantee_holder), that pool, P's
 * GPUs there}; without a holder (a QOS plan) the claim is ACCT_NONE's,
 * which claims nothing. A QOS plan of a project that has a holder in that
 * pool is restored as a claim on the guarantee too (the plan's kind is not
 * stored): the claim then holds back the holder's other jobs until the
 * victims are gone, never adds victims. So P keeps the front of the queue
 * (PREEMPTOR_PRIORITY), and policy_after_pass skips it while its victims
 * run (draining) or their grace lasts, and counts its claim: it does not
 * plan again, and nobody else takes what it waits for. O(J).
 */
static void restore_preemptors(ctl *c)
{
    struct policy *p = c->pol;
    if (!policy_enabled(c) || !acct_preempt_enabled(p->a))
        return;
    size_t n = 0;
    for (size_t i = 0; i < c->nall; i++) {
        const fjob *v = c->all[i];
        if (v->state != FJOB_RUNNING || !v->preempt_at)
            continue;
        fjob *j = ctl_job_find(c, v->preempt_by);
        if (!j || j->state != FJOB_PENDING || !j->pol)
            continue;
        struct fpol *fp = j->pol;
        int pool = v->sj.pool;
        if (v->preempt_at > fp->await)
            fp->await = v->preempt_at;
        fp->claim = (acct_claim){acct_guarantee_holder(p->a, fp->aj.project, pool), pool,
                                 job_gpus_in(c, j, pool)};
        n++;
    }
    if (n) {
        sched_reprioritize(c->s, boost_priority, NULL); /* preemptors first */
        fprintf(stderr, "fleetd: %zu preemption victims still leaving: their preemptors wait "
                        "for them\n", n);
    }
}

/* ---- life cycle ------------------------------------------------------------- */

int policy_init(ctl *c, char *err, size_t errlen)
{
    struct policy *p = xcalloc(1, sizeof *p);
    c->pol = p;
    if (load_pools(c, p, err, errlen) != 0)
        return -1;
    if (!c->o.center)
        return 0;
    char f[64];
    if (trace_slurp(c->o.center, &p->buf, &p->len, err, errlen) != 0)
        return -1;
    if (store_admin_load(c->st, pol_admin_entry_add, p, err, errlen) < 0)
        return -1;
    acct_center *na = pol_make_center(c, p->buf, p->len, NULL, f, sizeof f, err, errlen);
    if (!na)
        return -1;
    /* the pools each recovered job asked for (its spec's, not yet narrowed) */
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state == FJOB_PENDING || j->state == FJOB_RUNNING)
            pol_of(j)->req_pools = j->sj.pools;
    }
    int64_t now = ctl_now();
    if (pol_rebuild(c, na, now, err, errlen) != 0)
        return -1;
    restore_preemptors(c);
    fprintf(stderr, "fleetd: center %s: %d accounts and members, %d users, %d QOS, "
                    "%d allocations; %zu jobs held by the policy\n",
            c->o.center, acct_node_count(p->a), acct_user_count(p->a), acct_qos_count(p->a),
            acct_alloc_count(p->a), p->nrefused);
    return 0;
}

void policy_destroy(ctl *c)
{
    struct policy *p = c->pol;
    if (!p)
        return;
    acct_destroy(p->a);
    free(p->rates);
    free(p->pool_gpus);
    free(p->recs);
    free(p->buf);
    for (size_t i = 0; i < p->nlog; i++) {
        free(p->log[i].kind);
        free(p->log[i].body);
    }
    free(p->log);
    free(p->scratch);
    free(p->gate);
    free(p->run);
    free(p->victims);
    json_decref(p->file_resvs);
    json_decref(p->next_file_resvs);
    free(p->hold);
    free(p);
    c->pol = NULL;
}

/* The storage section of a center file, for fleetd's main before the
 * controller opens its store. See ctl.h. */
int policy_read_storage(const char *path, int *postgres, char *conninfo, size_t len, char *err,
                        size_t errlen)
{
    char *buf;
    size_t n;
    *postgres = 0;
    if (trace_slurp(path, &buf, &n, err, errlen) != 0)
        return -1;
    center_desc cd;
    center_desc_init(&cd);
    int rc = center_yaml_parse(buf, n, path, &cd, err, errlen);
    free(buf);
    if (rc == 0 && cd.storage.backend == CENTER_STORE_POSTGRES) {
        *postgres = 1;
        snprintf(conninfo, len, "%s", cd.storage.conninfo);
    }
    center_desc_free(&cd);
    return rc;
}

/* ---- submit ----------------------------------------------------------------- */

/* The projects of a user, "a, b, c", for messages. */
static void user_projects(const acct_center *a, int user, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int n = 0; n < acct_node_count(a); n++) {
        if (acct_node_level(a, n) != ACCT_MEMBER || acct_user_find(a, acct_node_name(a, n)) != user)
            continue;
        int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
                         acct_node_name(a, acct_node_parent(a, n)));
        if (w < 0 || (size_t)w >= len - o)
            break;
        o += (size_t)w;
    }
}

int policy_admit(ctl *c, jobspec *js, fjob **jobs, size_t n, const http_req *r, char *field,
                 size_t fieldlen, char *err, size_t errlen)
{
    struct policy *p = c->pol;
    if (!policy_enabled(c))
        return 0;
    acct_center *a = p->a;
    int64_t now = ctl_now();
    char names[1024];
    int u = pol_find_user(a, r->uid, r->user);
    if (u < 0) {
        snprintf(field, fieldlen, "account");
        snprintf(err, errlen, "user %s (uid %u) is not a member of any project of this center",
                 r->user, (unsigned)r->uid);
        return -1;
    }
    int project;
    if (js->account[0]) {
        project = acct_account_find(a, js->account);
        if (project < 0 || acct_node_level(a, project) != ACCT_PROJECT) {
            snprintf(field, fieldlen, "account");
            if (project < 0)
                snprintf(err, errlen, "no project %s in this center", js->account);
            else
                snprintf(err, errlen, "%s is a %s, not a project", js->account,
                         pol_level_name(acct_node_level(a, project)));
            return -1;
        }
        if (acct_member_find(a, u, project) < 0) {
            user_projects(a, u, names, sizeof names);
            snprintf(field, fieldlen, "account");
            snprintf(err, errlen, "user %s is not a member of project %s (member of: %s)",
                     acct_user_name(a, u), js->account, names[0] ? names : "none");
            return -1;
        }
    } else {
        project = acct_user_default(a, u);
        if (project == ACCT_NONE) {
            snprintf(field, fieldlen, "account");
            snprintf(err, errlen, "user %s has no default project: name one with --account",
                     acct_user_name(a, u));
            return -1;
        }
        snprintf(js->account, sizeof js->account, "%s", acct_node_name(a, project));
    }
    int qos = -1;
    if (js->qos[0]) {
        qos = acct_qos_find(a, js->qos);
        if (qos < 0) {
            size_t o = 0;
            names[0] = '\0';
            for (int q = 0; q < acct_qos_count(a) && o < sizeof names; q++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", q ? ", " : "",
                                      acct_qos_get(a, q)->name);
            snprintf(field, fieldlen, "qos");
            snprintf(err, errlen, "no QOS %s in this center (%s%s)", js->qos,
                     names[0] ? "known: " : "none defined", names);
            return -1;
        }
    } else if (acct_qos_default(a) >= 0) {
        /* the default, written into the job (a name too long for the job's
         * field stays implicit: the default at every admission) */
        const char *dn = acct_qos_get(a, acct_qos_default(a))->name;
        size_t dl = strlen(dn);
        if (dl < sizeof js->qos) {
            memcpy(js->qos, dn, dl);
            js->qos[dl] = '\0';
        }
    }
    const acct_qos_def *qd = acct_qos_get(a, qos >= 0 ? qos : acct_qos_default(a));
    size_t admitted = 0;
    for (size_t i = 0; i < n; i++) {
        fjob *j = jobs[i];
        j->account = ctl_intern(c, js->account);
        j->qos = ctl_intern(c, js->qos);
        struct fpol *fp = pol_of(j);
        acct_job *aj = &fp->aj;
        acct_job_init(aj);
        aj->project = project;
        aj->user = u;
        aj->qos = qos;
        aj->gpus = job_gpus(p, j);
        aj->submit = j->submit_time;
        aj->time_limit = j->sj.time_limit;
        aj->pools = j->sj.pools;
        fp->req_pools = j->sj.pools;
        /* the field of the rule that refuses, in acct_admit's order */
        const char *f = "account";
        if (qd && qd->max_wall > 0 && aj->time_limit > qd->max_wall)
            f = "time_limit";
        else if (qd && ((qd->max_gpus_per_user > 0 && aj->gpus > qd->max_gpus_per_user) ||
                        (qd->max_gpus_per_project > 0 && aj->gpus > qd->max_gpus_per_project)))
            f = "gpus";
        if (acct_admit(a, aj, now, err, errlen) != 0) {
            snprintf(field, fieldlen, "%s", f);
            for (size_t k = 0; k < admitted; k++)
                acct_job_cancel(a, &jobs[k]->pol->aj, now);
            for (size_t k = 0; k <= i; k++)
                policy_job_free(jobs[k]);
            return -1;
        }
        admitted++;
        apply_admission(c, j, now, 0);
    }
    return 0;
}

void policy_job_dropped(ctl *c, fjob *j)
{
    if (policy_enabled(c) && j->pol)
        acct_job_cancel(c->pol->a, &j->pol->aj, ctl_now());
}

/* ---- scheduling ----------------------------------------------------------- */

void policy_before_pass(ctl *c, int64_t now)
{
    struct policy *p = c->pol;
    if (!policy_enabled(c))
        return;
    acct_center *a = p->a;
    /* jobs whose admission failed after a restart or reload: again (an
     * allocation may have been raised since) */
    if (p->nrefused) {
        for (size_t i = 0; i < c->nall; i++) {
            fjob *j = c->all[i];
            if (j->state == FJOB_PENDING && j->pol && j->pol->why && readmit(c, j, now) == 0)
                apply_admission(c, j, now, 1);
        }
    }
    int64_t period = acct_priority(a)->calc_period;
    if (period <= 0 || now - p->last_calc >= period)
        recalc(c, now);
    /* the gate walks the pending jobs nothing else holds, in queue order
     * (the scheduler's queue: the admitted ones) */
    size_t q = 0;
    int gating = acct_gating_needed(a);
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state == FJOB_PENDING && j->pol && !j->pol->why)
            j->pol_wait = POL_WAIT_NONE;
    }
    for (sched_job *sj = gating ? sched_queue_first(c->s) : NULL; sj; sj = sched_queue_next(sj)) {
        fjob *j = (fjob *)(void *)sj; /* sj is the first member */
        if (j->state != FJOB_PENDING || !j->pol || j->pol->why || j->held || j->dep_wait ||
            j->array_wait)
            continue;
        if (q == p->capscratch) {
            p->capscratch = p->capscratch ? 2 * p->capscratch : 1024;
            p->scratch = xrealloc(p->scratch, p->capscratch * sizeof *p->scratch);
            p->gate = xrealloc(p->gate, p->capscratch * sizeof *p->gate);
            p->hold = xrealloc(p->hold, p->capscratch * sizeof *p->hold);
        }
        p->scratch[q++] = j;
    }
    if (q) {
        for (size_t i = 0; i < q; i++)
            p->gate[i] = &p->scratch[i]->pol->aj;
        acct_gate(a, p->gate, q, now, p->hold);
        for (size_t i = 0; i < q; i++) {
            int h = p->hold[i];
            p->scratch[i]->pol_wait = (int8_t)(h == ACCT_HOLD_NONE ? POL_WAIT_NONE
                                               : acct_hold_permanent(h) ? POL_WAIT_ALLOC
                                                                        : POL_WAIT_QOS);
        }
    }
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state == FJOB_PENDING && j->pol)
            j->sj.held = j->held || j->dep_wait || j->array_wait || j->pol_wait;
    }
}

void policy_job_started(ctl *c, fjob *j)
{
    if (!policy_enabled(c) || !j->pol)
        return;
    acct_job_start(c->pol->a, &j->pol->aj, j->sj.pool, j->sj.alloced_gpus, j->sj.start);
    j->pol_wait = POL_WAIT_NONE;
    j->pol->await = 0; /* a preemptor got its GPUs */
}

/* ---- preemption ------------------------------------------------------------ */

int policy_job_awaiting(const fjob *j)
{
    return j->state == FJOB_PENDING && awaiting(&j->sj);
}

static void *grow_to(void *v, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return v;
    *cap = n > 2 * *cap ? n : 2 * *cap;
    return xrealloc(v, *cap * sz);
}

/*
 * After each pass, with guarantees or QOS preemption rights (the simulator's
 * policy_preempt, on live jobs): the pending jobs in queue order that are
 * not held, and not waiting for victims already, each get a plan (one
 * planner for the round, acct_planner_*). Each victim is marked (preempt_at: now + grace)
 * and its nodes' agents woken: they send it the preemption signal and
 * SIGKILL at the end of the grace; when it ends, it is requeued (or ends as
 * preempted: ctl_job_preempted). The preemptor waits at the front of the
 * queue with its claim until its victims are gone and their grace is over;
 * if it has not started by then, it plans again. libsched is told that
 * each victim ends by its preempt_at (sched_job_end_by), so the next passes
 * reserve and backfill around its nodes freed then. Cost, only when
 * preemption is on: O(J) over the controller's jobs, O(R log R) to classify
 * the R running jobs, O(Q) to take the Q pending ones in queue order, the
 * planner's round (acct.h), and a re-sort of the queue and O(R log R) to
 * re-key the victims when victims were chosen.
 */
void policy_after_pass(ctl *c, int64_t now)
{
    struct policy *p = c->pol;
    if (!policy_enabled(c) || !acct_preempt_enabled(p->a))
        return;
    acct_center *a = p->a;
    size_t nrun = 0, npend = 0;
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (!j->pol)
            continue;
        if (j->state == FJOB_RUNNING) {
            nrun++;
        } else if (j->state == FJOB_PENDING) {
            j->pol->draining = 0;
            npend += !j->sj.held;
        }
    }
    if (nrun == 0 || npend == 0)
        return;
    p->run = grow_to(p->run, &p->caprun, nrun, sizeof *p->run);
    p->victims = xrealloc(p->victims, p->caprun * sizeof *p->victims);
    if (npend > p->capscratch) {
        p->capscratch = npend;
        p->scratch = xrealloc(p->scratch, p->capscratch * sizeof *p->scratch);
        p->gate = xrealloc(p->gate, p->capscratch * sizeof *p->gate);
        p->hold = xrealloc(p->hold, p->capscratch * sizeof *p->hold);
    }
    size_t r = 0, q = 0;
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (!j->pol)
            continue;
        if (j->state == FJOB_RUNNING) {
            p->run[r++] = (acct_running){&j->sj, &j->pol->aj, j->preempt_at != 0, 0};
            fjob *by = j->preempt_at ? ctl_job_find(c, j->preempt_by) : NULL;
            if (by && by->state == FJOB_PENDING && by->pol)
                by->pol->draining = 1;
        }
    }
    /* the pending jobs the pass may start, in its order (a job the policy
     * refused is not in the scheduler's queue: it plans nothing) */
    for (sched_job *sj = sched_queue_first(c->s); sj && q < p->capscratch;
         sj = sched_queue_next(sj)) {
        fjob *j = (fjob *)(void *)sj; /* sj is the first member */
        if (j->state == FJOB_PENDING && j->pol && !sj->held)
            p->scratch[q++] = j;
    }
    acct_running_classify(a, p->run, nrun);
    acct_planner *pl = acct_planner_new(a, c->s, p->run, nrun);
    for (size_t k = 0; k < q; k++) {
        struct fpol *fp = p->scratch[k]->pol;
        /* the claims of preemptors still waiting (one that plans again
         * below claims anew) */
        if (fp->await != 0 && (fp->draining || fp->await > now))
            acct_planner_claim(pl, &fp->claim);
    }
    const acct_preempt_config *pc = acct_preempt(a);
    int changed = 0;
    for (size_t k = 0; k < q; k++) {
        fjob *j = p->scratch[k];
        struct fpol *fp = j->pol;
        if (fp->await != 0 && (fp->draining || fp->await > now))
            continue; /* its victims are still leaving */
        acct_preempt_plan plan;
        size_t nv = acct_planner_plan(pl, &fp->aj, &j->sj, p->victims, &plan);
        if (nv == 0)
            continue;
        acct_planner_take(pl, &plan, p->victims);
        for (size_t v = 0; v < nv; v++) {
            acct_running *vr = &p->run[p->victims[v]];
            fjob *vj = (fjob *)(void *)vr->sj; /* sj is the first member */
            vr->preempting = 1;
            vj->preempt_at = now + pc->grace;
            vj->preempt_by = j->id;
            vj->preempt_signal = pc->signal;
            ctl_mark_dirty(c, vj); /* the marks are stored: a restart keeps them */
            p->preemptions++;
            fprintf(stderr, "fleetd: job %lld (%s): preempted for job %lld (%s, %s): signal %d, "
                            "grace %lld s\n",
                    (long long)vj->id, vj->account ? vj->account : "", (long long)j->id,
                    j->account ? j->account : "", acct_preempt_why_name(plan.why),
                    pc->signal, (long long)pc->grace);
            agent_job_preempt(c, vj);
        }
        fp->await = now + (pc->grace > 0 ? pc->grace : 1);
        fp->claim = (acct_claim){plan.holder, plan.pool, plan.gpus};
        changed = 1;
    }
    acct_planner_free(pl);
    if (changed) {
        /* the scheduler plans with the victims' ends: each ends by its
         * preempt_at (killed then); victims marked before already do (1) */
        for (size_t i = 0; i < nrun; i++) {
            fjob *vj = (fjob *)(void *)p->run[i].sj; /* sj is the first member */
            if (p->run[i].preempting && vj->preempt_at)
                sched_job_end_by(c->s, &vj->sj, vj->preempt_at);
        }
        sched_reprioritize(c->s, boost_priority, NULL);
    }
}

void policy_run_record(ctl *c, const fjob *j, int state, int exit_code, int64_t end,
                       store_usage *out)
{
    struct policy *p = c->pol;
    store_usage u;
    memset(&u, 0, sizeof u);
    u.job_id = j->id;
    u.run = j->restarts;
    u.uid = j->uid;
    snprintf(u.user, sizeof u.user, "%s", j->user ? j->user : "");
    snprintf(u.project, sizeof u.project, "%s", j->account ? j->account : "");
    snprintf(u.qos, sizeof u.qos, "%s", j->qos ? j->qos : "");
    int pool = j->sj.pool;
    snprintf(u.pool, sizeof u.pool, "%s",
             pool >= 0 && pool < sched_pool_count(c->s) ? sched_pool_name(c->s, pool) : "");
    if (policy_enabled(c) && j->pol) {
        const acct_job *aj = &j->pol->aj;
        int tier = acct_node_ancestor(p->a, aj->project, ACCT_TIER);
        int org = acct_node_ancestor(p->a, aj->project, ACCT_ORG);
        if (aj->project != ACCT_NONE && tier >= 0)
            snprintf(u.tier, sizeof u.tier, "%s", acct_node_name(p->a, tier));
        if (aj->project != ACCT_NONE && org >= 0)
            snprintf(u.org, sizeof u.org, "%s", acct_node_name(p->a, org));
        if (aj->alloc >= 0)
            snprintf(u.allocation, sizeof u.allocation, "%s",
                     acct_alloc_get(p->a, aj->alloc)->name);
    }
    u.state = state;
    u.gpus = j->sj.alloced_gpus;
    u.nodes = j->sj.nalloc;
    snprintf(u.nodelist, sizeof u.nodelist, "%s", j->nodelist ? j->nodelist : "");
    u.submit_time = j->submit_time;
    u.start_time = j->start_time;
    u.end_time = end > j->start_time ? end : j->start_time;
    u.exit_code = exit_code;
    u.gpu_seconds = (int64_t)u.gpus * (u.end_time - u.start_time);
    u.rate = pool_rate(p, pool);
    u.charge = (double)u.gpu_seconds * u.rate;
    *out = u;
}

/* Queues the accounting record of a run that ends now. */
static void push_record(ctl *c, const fjob *j, int state, int exit_code, int64_t now)
{
    struct policy *p = c->pol;
    if (p->nrecs == p->caprecs) {
        p->caprecs = p->caprecs ? 2 * p->caprecs : 64;
        p->recs = xrealloc(p->recs, p->caprecs * sizeof *p->recs);
    }
    policy_run_record(c, j, state, exit_code, now, &p->recs[p->nrecs++]);
}

void policy_job_ending(ctl *c, fjob *j, int state, int exit_code, int64_t now)
{
    if (!c->pol)
        return;
    if (j->state == FJOB_RUNNING) {
        push_record(c, j, state, exit_code, now);
        if (policy_enabled(c) && j->pol)
            acct_job_end(c->pol->a, &j->pol->aj, now);
    } else if (j->state == FJOB_PENDING && policy_enabled(c) && j->pol) {
        acct_job_cancel(c->pol->a, &j->pol->aj, now);
    }
    if (j->pol && j->pol->why) {
        free(j->pol->why);
        j->pol->why = NULL;
        c->pol->nrefused--;
    }
    j->pol_wait = POL_WAIT_NONE;
    if (state != STORE_REQUEUED)
        policy_job_free(j); /* it is done with the policy: 100,000 finished jobs keep nothing */
}

void policy_job_requeued(ctl *c, fjob *j, int64_t now)
{
    if (!policy_enabled(c) || !j->pol)
        return;
    if (readmit(c, j, now) == 0)
        apply_admission(c, j, now, 0);
    else
        j->sj.held = 1; /* the next pass's gate says why */
}

size_t policy_usage_pending(ctl *c, const store_usage **recs)
{
    *recs = c->pol ? c->pol->recs : NULL;
    return c->pol ? c->pol->nrecs : 0;
}

void policy_usage_committed(ctl *c)
{
    if (c->pol)
        c->pol->nrecs = 0;
}

/* ---- what the API shows of a job ------------------------------------------ */

int64_t policy_preemptions(const ctl *c)
{
    return c->pol ? c->pol->preemptions : 0;
}

const char *policy_reason_name(const fjob *j)
{
    switch (j->pol_wait) {
    case POL_WAIT_QOS: return "qos_limit";
    case POL_WAIT_ALLOC: return "allocation";
    case POL_WAIT_ACCOUNT: return "account";
    }
    return "";
}

void policy_job_fields(ctl *c, struct jsonw *w, const fjob *j)
{
    if (!policy_enabled(c))
        return;
    acct_center *a = c->pol->a;
    char detail[ACCT_ERRLEN + 128] = "";
    const struct fpol *fp = j->pol;
    if (j->state == FJOB_PENDING && fp && j->pol_wait) {
        if (fp->why) {
            snprintf(detail, sizeof detail, "%s", fp->why);
        } else if (acct_hold_explain(a, &fp->aj, ctl_now(), detail, sizeof detail) ==
                   ACCT_HOLD_NONE) {
            const acct_qos_def *q = acct_qos_get(a, fp->aj.qos >= 0 ? fp->aj.qos
                                                                    : acct_qos_default(a));
            snprintf(detail, sizeof detail,
                     "jobs ahead of it in the queue take what QOS '%s' allows", q ? q->name : "");
        }
    }
    jsonw_kv_str(w, "reason_detail", detail);
    const char *alloc = "";
    if (fp && (j->state == FJOB_PENDING || j->state == FJOB_RUNNING) && fp->aj.alloc >= 0)
        alloc = acct_alloc_get(a, fp->aj.alloc)->name;
    jsonw_kv_str(w, "allocation", alloc);
}

void policy_priority_header(ctl *c, struct jsonw *w)
{
    if (!policy_enabled(c))
        return;
    const acct_priority_config *pc = acct_priority(c->pol->a);
    jsonw_key(w, "priority_weights");
    jsonw_obj_open(w);
    jsonw_kv_int(w, "age", pc->w_age);
    jsonw_kv_int(w, "fairshare", pc->w_fairshare);
    jsonw_kv_int(w, "size", pc->w_size);
    jsonw_kv_int(w, "qos", pc->w_qos);
    jsonw_obj_close(w);
    jsonw_kv_int(w, "priority_computed_at", c->pol->last_calc);
}

void policy_priority_fields(ctl *c, struct jsonw *w, const fjob *j)
{
    jsonw_kv_int(w, "priority", j->sj.priority);
    if (!policy_enabled(c) || !j->pol || j->state != FJOB_PENDING) {
        jsonw_kv_null(w, "factors");
        return;
    }
    /* as of the computation the priority in effect comes from: the last
     * recomputation, or the job's submission if later */
    int64_t at = j->submit_time > c->pol->last_calc ? j->submit_time : c->pol->last_calc;
    acct_factors f;
    acct_job_factors(c->pol->a, &j->pol->aj, at, &f);
    jsonw_key(w, "factors");
    jsonw_obj_open(w);
    pol_kv_num(w, "age", f.age);
    pol_kv_num(w, "fairshare", f.fairshare);
    pol_kv_num(w, "size", f.size);
    pol_kv_num(w, "qos", f.qos);
    jsonw_kv_int(w, "nice", f.nice);
    jsonw_kv_int(w, "priority", f.priority);
    jsonw_obj_close(w);
}
