/*
 * center_yaml: a center's policy described in YAML (see center_yaml.h,
 * examples/center-small.yaml and docs/policy.md).
 *
 *   center:       the center's name (optional)
 *   accounts:     tiers -> organizations (which may nest) -> projects, each
 *                 with shares; a tier may also hold projects directly
 *   users:        name, uid, projects, default_project, shares
 *   qos:          name, priority, max_wall, max_gpus_per_user,
 *                 max_gpus_per_project, preempt
 *   default_qos:  the QOS of jobs that name none (default: the first)
 *   allocations:  name, account, gpu_hours, pools, start, end
 *   guarantees:   account, pool, gpus (a guaranteed quota in one pool)
 *   preemption:   grace (a duration), signal (SIGTERM, SIGINT, SIGUSR1, ...)
 *   reservations: name, kind (maintenance or project), start, end, nodes,
 *                 accounts, users (operators' reservations, as fleetd's API;
 *                 applied by the simulator)
 *   priority:     weights (age, fairshare, size, qos), max_age, half_life,
 *                 calc_period, favor_small
 *   storage:      fleetd's state: backend (sqlite or postgres), conninfo
 *                 (postgres: a libpq connection string)
 *
 * The file is loaded with libyaml's document API, as cluster_yaml.c does:
 * random access to the tree and a line for every node, sections read in a
 * fixed order (qos, accounts, users, allocations, priority, storage,
 * guarantees, preemption, reservations) whatever their
 * order in the file. It is written by hand, so nothing is guessed: unknown
 * or repeated keys, repeated names, references to nothing, implausible
 * numbers are errors naming the file, the line and the field. The helpers
 * for mappings, scalars, names and messages are shared with cluster_yaml.c
 * (yaml_read.h).
 */
#include "center_yaml.h"
#include "yaml_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds beyond which a value is a typo, not a center. */
#define SHARES_MAX 1e9
#define WEIGHT_MAX 1000000000LL
#define SECONDS_MAX 10000000000LL  /* ~317 years */
#define GPU_HOURS_MAX 1e15
#define GPUS_MAX 100000000LL
#define ENTRIES_MAX 1000000        /* accounts, users, allocations */
#define ID_MAX 4294967295LL        /* trace user and group ids are 32-bit */

typedef struct reader {
    yr_ctx y; /* the document and where errors go (yaml_read.h) */
    center_desc *c;
    size_t acap, ucap, mcap, qcap, alcap, gcap;
    unsigned char *seen;              /* document nodes already read as accounts */
    yr_named *acc_by_name, *qos_by_name; /* sorted */
    const yaml_node_t **preempt;      /* per QOS, its preempt list, resolved last */
} reader;

/* ---- durations and times ------------------------------------------------- */

int center_parse_duration(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int64_t x = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (x > SECONDS_MAX)
            return -1;
        x = x * 10 + (s[i++] - '0');
    }
    if (i == 0)
        return -1;
    int64_t unit = 1;
    if (i < len) {
        switch (s[i++]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return -1;
        }
    }
    if (i != len || x > SECONDS_MAX / unit)
        return -1;
    *out = x * unit;
    return 0;
}

/* Days from 1970-01-01 to a civil date (proleptic Gregorian), after Howard
 * Hinnant's days_from_civil. O(1). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at s as a number, or -1. */
static int64_t digits(const char *s, size_t n)
{
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    return x;
}

int center_parse_time(const char *s, size_t len, int64_t *out)
{
    if (len > 0 && len <= 12 && strspn(s, "0123456789") >= len) {
        *out = digits(s, len);
        return 0;
    }
    if (len > 0 && s[len - 1] == 'Z')
        len--;
    if ((len != 10 && len != 19) || s[4] != '-' || s[7] != '-')
        return -1;
    int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = 0, mi = 0,
            se = 0;
    if (len == 19) {
        if (s[10] != 'T' || s[13] != ':' || s[16] != ':')
            return -1;
        h = digits(s + 11, 2);
        mi = digits(s + 14, 2);
        se = digits(s + 17, 2);
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 59)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

/* A duration (center_parse_duration); absent gives dflt. */
static int get_duration(const reader *r, const yaml_node_t *v, const char *field, int64_t dflt,
                        int64_t *out)
{
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (yr_need_scalar(&r->y, v, field) != 0)
        return -1;
    if (center_parse_duration((const char *)v->data.scalar.value, v->data.scalar.length, out) !=
        0) {
        char got[160];
        yr_quote(got, sizeof got, v);
        yr_fail(&r->y, v,
                "field %s: must be a duration (whole seconds, or a number followed by s, m, "
                "h, d or w, at most %lld s), got %s",
                field, (long long)SECONDS_MAX, got);
        return -1;
    }
    return 0;
}

/* A time (center_parse_time); absent gives dflt. */
static int get_time(const reader *r, const yaml_node_t *v, const char *field, int64_t dflt,
                    int64_t *out)
{
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (yr_need_scalar(&r->y, v, field) != 0)
        return -1;
    if (center_parse_time((const char *)v->data.scalar.value, v->data.scalar.length, out) != 0) {
        char got[160];
        yr_quote(got, sizeof got, v);
        yr_fail(&r->y, v, "field %s: must be seconds or a UTC date (YYYY-MM-DD or "
                   "YYYY-MM-DDTHH:MM:SS), got %s", field, got);
        return -1;
    }
    return 0;
}

/* ---- names ----------------------------------------------------------- */

/* A (name, line, index) list of n entries for sort_unique and find;
 * NULL when memory runs out. O(n). */
static yr_named *index_names(const reader *r, size_t n,
                             const char *(*name_of)(const reader *, size_t),
                             int64_t (*line_of_i)(const reader *, size_t))
{
    yr_named *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (yr_named){name_of(r, i), line_of_i(r, i), (int32_t)i};
    return v;
}

static const char *acc_name(const reader *r, size_t i) { return r->c->accounts[i].name; }
static int64_t acc_line(const reader *r, size_t i) { return r->c->accounts[i].line; }
static const char *user_name(const reader *r, size_t i) { return r->c->users[i].name; }
static int64_t user_line(const reader *r, size_t i) { return r->c->users[i].line; }
static const char *qos_name(const reader *r, size_t i) { return r->c->qos[i].name; }
static int64_t qos_line(const reader *r, size_t i) { return r->c->qos[i].line; }

/* The word for an account level in messages. */
static const char *level_word(int level)
{
    return level == CENTER_TIER ? "tier" : level == CENTER_ORG ? "organization" : "project";
}

/* ---- QOS ------------------------------------------------------------------- */

enum { Q_NAME, Q_PRIORITY, Q_MAX_WALL, Q_MAX_USER, Q_MAX_PROJECT, Q_PREEMPT, Q_NKEYS };
static const char *const qos_keys[Q_NKEYS] = {
    "name", "priority", "max_wall", "max_gpus_per_user", "max_gpus_per_project", "preempt"};

/* The qos section: each QOS, then their preemption lists (which may name
 * QOS listed later), resolved by name. O(Q log Q). */
static int read_qos(reader *r, const yaml_node_t *section)
{
    center_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "qos", &items, &n) != 0)
        return -1;
    if (n > CENTER_MAX_QOS) {
        yr_fail(&r->y, section, "field qos: more than %d QOS", CENTER_MAX_QOS);
        return -1;
    }
    if (n > 0) {
        c->qos = yr_reserve(c->qos, n, &r->qcap, sizeof *c->qos);
        r->preempt = calloc(n, sizeof *r->preempt);
        if (!c->qos || !r->preempt)
            return yr_out_of_memory(&r->y, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[Q_NKEYS];
        center_qos *q = &c->qos[c->nqos];
        const char *what = "a QOS";
        memset(q, 0, sizeof *q);
        if (!item || yr_read_mapping(&r->y, item, what, qos_keys, Q_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[Q_NAME], "name", what, 1, 1, q->name, sizeof q->name) != 0 ||
            yr_get_int(&r->y, item, v[Q_PRIORITY], "priority", what, 0, WEIGHT_MAX, 0, 0,
                       &q->priority) != 0 ||
            get_duration(r, v[Q_MAX_WALL], "max_wall", 0, &q->max_wall) != 0 ||
            yr_get_int(&r->y, item, v[Q_MAX_USER], "max_gpus_per_user", what, 0, GPUS_MAX, 0, 0,
                       &q->max_gpus_per_user) != 0 ||
            yr_get_int(&r->y, item, v[Q_MAX_PROJECT], "max_gpus_per_project", what, 0, GPUS_MAX, 0,
                       0, &q->max_gpus_per_project) != 0)
            return -1;
        q->line = yr_line_of(item);
        r->preempt[i] = v[Q_PREEMPT];
        c->nqos++;
    }
    r->qos_by_name = index_names(r, c->nqos, qos_name, qos_line);
    if (!r->qos_by_name)
        return yr_out_of_memory(&r->y, section);
    if (yr_sort_unique(&r->y, r->qos_by_name, c->nqos, "QOS") != 0)
        return -1;
    /* preemption lists name QOS anywhere in the list */
    for (size_t i = 0; i < c->nqos; i++) {
        const yaml_node_t *pv = r->preempt[i];
        if (!pv)
            continue;
        yaml_node_item_t *pi = NULL;
        size_t pn = 1;
        if (pv->type == YAML_SEQUENCE_NODE && yr_read_list(&r->y, pv, "preempt", &pi, &pn) != 0)
            return -1;
        for (size_t k = 0; k < pn; k++) {
            const yaml_node_t *e = pi ? yaml_document_get_node(r->y.doc, pi[k]) : pv;
            char name[TRACE_NAMELEN];
            if (!e || yr_get_text(&r->y, pv, e, "preempt", "a QOS", 1, 1, name, sizeof name) != 0)
                return -1;
            int32_t q = yr_find(r->qos_by_name, c->nqos, name);
            if (q < 0) {
                yr_fail(&r->y, e, "field preempt: no QOS named \"%s\"", name);
                return -1;
            }
            if ((size_t)q == i) {
                yr_fail(&r->y, e, "field preempt: QOS %s cannot preempt itself", name);
                return -1;
            }
            c->qos[i].preempt |= (uint64_t)1 << q;
        }
    }
    return 0;
}

/* ---- accounts --------------------------------------------------------------- */

enum { A_NAME, A_SHARES, A_ORGS, A_PROJECTS, A_NKEYS };
static const char *const group_keys[A_NKEYS] = {"name", "shares", "organizations", "projects"};
enum { P_NAME, P_SHARES, P_TRACE_GROUP, P_NKEYS };
static const char *const project_keys[P_NKEYS] = {"name", "shares", "trace_group"};

static int read_account(reader *r, const yaml_node_t *item, int level, int32_t parent,
                        int depth);

/* The accounts of a list (organizations or projects) under parent. */
static int read_children(reader *r, const yaml_node_t *v, const char *field, int level,
                         int32_t parent, int depth)
{
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, v, field, &items, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        if (!item || read_account(r, item, level, parent, depth) != 0)
            return -1;
    }
    return 0;
}

/* Reads one account and, depth first, the accounts under it, so that a
 * parent always comes before its children. A YAML alias could make one
 * entry appear many times (and, nested, exponentially many): an entry read
 * twice is refused at once, so the work stays linear in the document. */
static int read_account(reader *r, const yaml_node_t *item, int level, int32_t parent,
                        int depth)
{
    center_desc *c = r->c;
    size_t node = (size_t)(item - r->y.doc->nodes.start);
    const char *what = level_word(level);
    if (r->seen[node]) {
        yr_fail(&r->y, item,
                "field name: this %s entry is repeated (through a YAML alias); accounts "
                "must be distinct", what);
        return -1;
    }
    r->seen[node] = 1;
    if (c->naccounts >= ENTRIES_MAX) {
        yr_fail(&r->y, item, "field name: more than %d accounts", ENTRIES_MAX);
        return -1;
    }
    center_account *acc = yr_reserve(c->accounts, c->naccounts + 1, &r->acap, sizeof *c->accounts);
    if (!acc)
        return yr_out_of_memory(&r->y, item);
    c->accounts = acc;
    int32_t id = (int32_t)c->naccounts;
    center_account *a = &c->accounts[id];
    memset(a, 0, sizeof *a);
    a->level = level;
    a->parent = parent;
    a->trace_group = -1;
    a->line = yr_line_of(item);
    char whatbuf[32];
    snprintf(whatbuf, sizeof whatbuf, "a %s", what);
    if (level == CENTER_PROJECT) {
        const yaml_node_t *v[P_NKEYS];
        if (yr_read_mapping(&r->y, item, whatbuf, project_keys, P_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[P_NAME], "name", whatbuf, 1, 1, a->name, sizeof a->name) !=
                0 ||
            yr_get_real(&r->y, item, v[P_SHARES], "shares", whatbuf, SHARES_MAX, 0, 1.0,
                        &a->shares) != 0 ||
            yr_get_int(&r->y, item, v[P_TRACE_GROUP], "trace_group", whatbuf, 0, ID_MAX, 0, -1,
                       &a->trace_group) != 0)
            return -1;
        c->naccounts++;
        return 0;
    }
    const yaml_node_t *v[A_NKEYS];
    if (yr_read_mapping(&r->y, item, whatbuf, group_keys, A_NKEYS, v) != 0 ||
        yr_get_text(&r->y, item, v[A_NAME], "name", whatbuf, 1, 1, a->name, sizeof a->name) != 0 ||
        yr_get_real(&r->y, item, v[A_SHARES], "shares", whatbuf, SHARES_MAX, 0, 1.0, &a->shares) !=
            0)
        return -1;
    c->naccounts++;
    if (v[A_ORGS] && depth >= CENTER_MAX_ORG_DEPTH) {
        yr_fail(&r->y, v[A_ORGS], "field organizations: nested more than %d deep",
                CENTER_MAX_ORG_DEPTH);
        return -1;
    }
    return read_children(r, v[A_ORGS], "organizations", CENTER_ORG, id, depth + 1) != 0 ||
                   read_children(r, v[A_PROJECTS], "projects", CENTER_PROJECT, id, depth) != 0
               ? -1
               : 0;
}

/* The accounts section: the tree, then unique names (O(A log A)), the
 * center's name kept apart, and one project per trace group. */
static int read_accounts(reader *r, const yaml_node_t *section, const yaml_node_t *root)
{
    center_desc *c = r->c;
    size_t nnodes = (size_t)(r->y.doc->nodes.top - r->y.doc->nodes.start);
    r->seen = calloc(nnodes ? nnodes : 1, 1);
    if (!r->seen)
        return yr_out_of_memory(&r->y, section);
    if (read_children(r, section, "accounts", CENTER_TIER, -1, 0) != 0)
        return -1;
    size_t nproj = 0;
    for (size_t i = 0; i < c->naccounts; i++)
        nproj += c->accounts[i].level == CENTER_PROJECT;
    if (nproj == 0) {
        yr_fail(&r->y, section ? section : root, "field accounts: the center has no projects (give "
                                          "tiers with organizations and projects)");
        return -1;
    }
    r->acc_by_name = index_names(r, c->naccounts, acc_name, acc_line);
    if (!r->acc_by_name)
        return yr_out_of_memory(&r->y, section);
    if (yr_sort_unique(&r->y, r->acc_by_name, c->naccounts, "account") != 0)
        return -1;
    if (c->name[0]) {
        int32_t clash = yr_find(r->acc_by_name, c->naccounts, c->name);
        if (clash >= 0) {
            yr_fail_line(&r->y, c->accounts[clash].line,
                         "field name: account \"%s\" has the center's name", c->name);
            return -1;
        }
    }
    /* trace groups map to one project each: O(P^2) would do for a few, but
     * sort them to stay O(P log P) */
    yr_named *g = malloc((nproj ? nproj : 1) * sizeof *g);
    char (*keys)[24] = malloc((nproj ? nproj : 1) * sizeof *keys);
    if (!g || !keys) {
        free(g);
        free(keys);
        return yr_out_of_memory(&r->y, section);
    }
    size_t ng = 0;
    for (size_t i = 0; i < c->naccounts; i++) {
        if (c->accounts[i].level != CENTER_PROJECT || c->accounts[i].trace_group < 0)
            continue;
        snprintf(keys[ng], sizeof keys[ng], "%020" PRId64, c->accounts[i].trace_group);
        g[ng] = (yr_named){keys[ng], c->accounts[i].line, (int32_t)i};
        ng++;
    }
    int rc = 0;
    if (ng > 1)
        qsort(g, ng, sizeof *g, yr_cmp_named);
    for (size_t i = 1; i < ng && rc == 0; i++) {
        if (strcmp(g[i].name, g[i - 1].name) == 0) {
            yr_fail_line(&r->y, g[i].line,
                         "field trace_group: group %" PRId64 " is already mapped to "
                         "project %s (line %" PRId64 ")",
                         c->accounts[g[i].index].trace_group, c->accounts[g[i - 1].index].name,
                         g[i - 1].line);
            rc = -1;
        }
    }
    free(g);
    free(keys);
    return rc;
}

/* An account named by a reference (field) that must be a project. */
static int32_t find_project(const reader *r, const yaml_node_t *at, const char *field,
                            const char *name)
{
    int32_t i = yr_find(r->acc_by_name, r->c->naccounts, name);
    if (i < 0) {
        yr_fail(&r->y, at, "field %s: no project named \"%s\"", field, name);
        return -1;
    }
    if (r->c->accounts[i].level != CENTER_PROJECT) {
        yr_fail(&r->y, at, "field %s: \"%s\" is %s %s, not a project", field, name,
                r->c->accounts[i].level == CENTER_ORG ? "an" : "a",
                level_word(r->c->accounts[i].level));
        return -1;
    }
    return i;
}

/* ---- users --------------------------------------------------------------------- */

enum { U_NAME, U_UID, U_PROJECTS, U_DEFAULT, U_SHARES, U_NKEYS };
static const char *const user_keys[U_NKEYS] = {"name", "uid", "projects", "default_project",
                                               "shares"};

/* Appends a membership. 0, or -1 with a message. */
static int push_member(reader *r, const yaml_node_t *at, int32_t user, int32_t project)
{
    center_desc *c = r->c;
    if (c->nmembers >= (size_t)ENTRIES_MAX * 4) {
        yr_fail(&r->y, at, "field projects: more than %d memberships", ENTRIES_MAX * 4);
        return -1;
    }
    center_member *m = yr_reserve(c->members, c->nmembers + 1, &r->mcap, sizeof *c->members);
    if (!m)
        return yr_out_of_memory(&r->y, at);
    c->members = m;
    c->members[c->nmembers++] = (center_member){user, project};
    return 0;
}

/* The users section: each user's projects resolved (O(log A) each), the
 * default among them, then unique names and uids (O(U log U)). */
static int read_users(reader *r, const yaml_node_t *section)
{
    center_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "users", &items, &n) != 0)
        return -1;
    if (n > ENTRIES_MAX) {
        yr_fail(&r->y, section, "field users: more than %d users", ENTRIES_MAX);
        return -1;
    }
    if (n > 0) {
        c->users = yr_reserve(c->users, n, &r->ucap, sizeof *c->users);
        if (!c->users)
            return yr_out_of_memory(&r->y, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[U_NKEYS];
        center_user *u = &c->users[c->nusers];
        const char *what = "a user";
        memset(u, 0, sizeof *u);
        if (!item || yr_read_mapping(&r->y, item, what, user_keys, U_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[U_NAME], "name", what, 1, 1, u->name, sizeof u->name) != 0 ||
            yr_get_int(&r->y, item, v[U_UID], "uid", what, 0, ID_MAX, 0, -1, &u->uid) != 0 ||
            yr_get_real(&r->y, item, v[U_SHARES], "shares", what, SHARES_MAX, 0, 1.0, &u->shares) !=
                0)
            return -1;
        u->line = yr_line_of(item);
        int32_t uid = (int32_t)c->nusers;
        c->nusers++;
        /* projects: a list of project names, or one name */
        if (!v[U_PROJECTS]) {
            yr_fail(&r->y, item, "field projects: required in a user (the projects it may charge)");
            return -1;
        }
        yaml_node_item_t *pi = NULL;
        size_t pn = 1;
        const yaml_node_t *pv = v[U_PROJECTS];
        if (pv->type == YAML_SEQUENCE_NODE && yr_read_list(&r->y, pv, "projects", &pi, &pn) != 0)
            return -1;
        if (pn == 0) {
            yr_fail(&r->y, pv, "field projects: the list is empty");
            return -1;
        }
        size_t first_member = c->nmembers;
        for (size_t k = 0; k < pn; k++) {
            const yaml_node_t *e = pi ? yaml_document_get_node(r->y.doc, pi[k]) : pv;
            char name[TRACE_NAMELEN];
            if (!e || yr_get_text(&r->y, pv, e, "projects", what, 1, 1, name, sizeof name) != 0)
                return -1;
            int32_t p = find_project(r, e, "projects", name);
            if (p < 0)
                return -1;
            for (size_t m = first_member; m < c->nmembers; m++) {
                if (c->members[m].project == p) {
                    yr_fail(&r->y, e, "field projects: \"%s\" is listed twice", name);
                    return -1;
                }
            }
            if (push_member(r, e, uid, p) != 0)
                return -1;
        }
        u->default_project = c->members[first_member].project;
        if (v[U_DEFAULT]) {
            char name[TRACE_NAMELEN];
            if (yr_get_text(&r->y, item, v[U_DEFAULT], "default_project", what, 1, 1, name,
                            sizeof name) != 0)
                return -1;
            int32_t p = find_project(r, v[U_DEFAULT], "default_project", name);
            if (p < 0)
                return -1;
            size_t m = first_member;
            while (m < c->nmembers && c->members[m].project != p)
                m++;
            if (m == c->nmembers) {
                yr_fail(&r->y, v[U_DEFAULT],
                        "field default_project: \"%s\" is not one of the user's projects",
                        name);
                return -1;
            }
            u->default_project = p;
        }
    }
    /* unique names and uids: sorted copies, O(U log U) */
    yr_named *byname = index_names(r, c->nusers, user_name, user_line);
    if (!byname)
        return yr_out_of_memory(&r->y, section);
    int rc = yr_sort_unique(&r->y, byname, c->nusers, "user");
    free(byname);
    if (rc != 0)
        return -1;
    char (*keys)[24] = malloc((c->nusers ? c->nusers : 1) * sizeof *keys);
    yr_named *byuid = malloc((c->nusers ? c->nusers : 1) * sizeof *byuid);
    size_t nu = 0;
    if (!keys || !byuid) {
        free(keys);
        free(byuid);
        return yr_out_of_memory(&r->y, section);
    }
    for (size_t i = 0; i < c->nusers; i++) {
        if (c->users[i].uid < 0)
            continue;
        snprintf(keys[nu], sizeof keys[nu], "%020" PRId64, c->users[i].uid);
        byuid[nu] = (yr_named){keys[nu], c->users[i].line, (int32_t)i};
        nu++;
    }
    if (nu > 1)
        qsort(byuid, nu, sizeof *byuid, yr_cmp_named);
    for (size_t i = 1; i < nu && rc == 0; i++) {
        if (strcmp(byuid[i].name, byuid[i - 1].name) == 0) {
            yr_fail_line(&r->y, byuid[i].line,
                         "field uid: uid %" PRId64 " is already user %s's (line %" PRId64 ")",
                         c->users[byuid[i].index].uid, c->users[byuid[i - 1].index].name,
                         byuid[i - 1].line);
            rc = -1;
        }
    }
    free(keys);
    free(byuid);
    return rc;
}

/* ---- allocations ---------------------------------------------------------------- */

enum { L_NAME, L_ACCOUNT, L_GPU_HOURS, L_POOLS, L_START, L_END, L_NKEYS };
static const char *const alloc_keys[L_NKEYS] = {"name", "account", "gpu_hours",
                                                "pools", "start", "end"};

/* The allocations section: accounts resolved by name (the center's name
 * too), periods checked, names unique. Pools stay text (see the header). */
static int read_allocs(reader *r, const yaml_node_t *section)
{
    center_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "allocations", &items, &n) != 0)
        return -1;
    if (n > ENTRIES_MAX) {
        yr_fail(&r->y, section, "field allocations: more than %d allocations", ENTRIES_MAX);
        return -1;
    }
    if (n > 0) {
        c->allocs = yr_reserve(c->allocs, n, &r->alcap, sizeof *c->allocs);
        if (!c->allocs)
            return yr_out_of_memory(&r->y, section);
    }
    yr_named *names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return yr_out_of_memory(&r->y, section);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[L_NKEYS];
        center_alloc *al = &c->allocs[c->nallocs];
        const char *what = "an allocation";
        char account[TRACE_NAMELEN];
        memset(al, 0, sizeof *al);
        rc = -1;
        if (!item || yr_read_mapping(&r->y, item, what, alloc_keys, L_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[L_NAME], "name", what, 1, 1, al->name, sizeof al->name) !=
                0 ||
            yr_get_text(&r->y, item, v[L_ACCOUNT], "account", what, 1, 1, account,
                        sizeof account) != 0 ||
            yr_get_real(&r->y, item, v[L_GPU_HOURS], "gpu_hours", what, GPU_HOURS_MAX, 1, 0,
                        &al->gpu_hours) != 0 ||
            yr_get_text(&r->y, item, v[L_POOLS], "pools", what, 0, 0, al->pools,
                        sizeof al->pools) != 0 ||
            get_time(r, v[L_START], "start", INT64_MIN, &al->start) != 0 ||
            get_time(r, v[L_END], "end", INT64_MAX, &al->end) != 0)
            break;
        if (strpbrk(al->pools, " ,") || al->pools[0] == '|' ||
            (al->pools[0] && al->pools[strlen(al->pools) - 1] == '|') || strstr(al->pools, "||")) {
            char got[160];
            yr_quote(got, sizeof got, v[L_POOLS]);
            yr_fail(&r->y, v[L_POOLS], "field pools: pool names joined by '|' (\"h100|h200\"), or "
                                "leave the field out for any pool, got %s", got);
            break;
        }
        al->line = yr_line_of(item);
        al->pools_line = v[L_POOLS] ? yr_line_of(v[L_POOLS]) : al->line;
        if (c->name[0] && strcmp(account, c->name) == 0) {
            al->account = -1;
        } else {
            al->account = yr_find(r->acc_by_name, c->naccounts, account);
            if (al->account < 0) {
                yr_fail(&r->y, v[L_ACCOUNT], "field account: no account named \"%s\"", account);
                break;
            }
        }
        if (al->end <= al->start) {
            yr_fail(&r->y, v[L_END], "field end: the period must end after it starts");
            break;
        }
        names[c->nallocs] = (yr_named){al->name, al->line, (int32_t)c->nallocs};
        c->nallocs++;
        rc = 0;
    }
    if (rc == 0)
        rc = yr_sort_unique(&r->y, names, c->nallocs, "allocation");
    free(names);
    return rc;
}

/* ---- guarantees and preemption ---------------------------------------------------- */

enum { G_ACCOUNT, G_POOL, G_GPUS, G_NKEYS };
static const char *const guarantee_keys[G_NKEYS] = {"account", "pool", "gpus"};

/* The guarantees section: each an account (a tier, an organization or a
 * project) with one pool and a GPU count; one guarantee per account and
 * pool. Pools stay text (resolved on the cluster). O(G^2) for the
 * repetition check: G is a handful per center. */
static int read_guarantees(reader *r, const yaml_node_t *section)
{
    center_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "guarantees", &items, &n) != 0)
        return -1;
    if (n > 4096) {
        yr_fail(&r->y, section, "field guarantees: more than 4096 guarantees");
        return -1;
    }
    if (n > 0) {
        c->guarantees = yr_reserve(c->guarantees, n, &r->gcap, sizeof *c->guarantees);
        if (!c->guarantees)
            return yr_out_of_memory(&r->y, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[G_NKEYS];
        center_guarantee *g = &c->guarantees[c->nguarantees];
        const char *what = "a guarantee";
        char account[TRACE_NAMELEN];
        memset(g, 0, sizeof *g);
        if (!item || yr_read_mapping(&r->y, item, what, guarantee_keys, G_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[G_ACCOUNT], "account", what, 1, 1, account,
                        sizeof account) != 0 ||
            yr_get_text(&r->y, item, v[G_POOL], "pool", what, 1, 1, g->pool, sizeof g->pool) != 0 ||
            yr_get_int(&r->y, item, v[G_GPUS], "gpus", what, 1, GPUS_MAX, 1, 0, &g->gpus) != 0)
            return -1;
        g->line = yr_line_of(item);
        g->pool_line = yr_line_of(v[G_POOL]);
        g->account = yr_find(r->acc_by_name, c->naccounts, account);
        if (g->account < 0) {
            yr_fail(&r->y, v[G_ACCOUNT], "field account: no account named \"%s\"", account);
            return -1;
        }
        for (size_t k = 0; k < c->nguarantees; k++)
            if (c->guarantees[k].account == g->account &&
                strcmp(c->guarantees[k].pool, g->pool) == 0) {
                yr_fail(&r->y, item, "field account: %s already holds a guarantee in pool %s (line "
                              "%" PRId64 ")", account, g->pool, c->guarantees[k].line);
                return -1;
            }
        c->nguarantees++;
    }
    return 0;
}

enum { PE_GRACE, PE_SIGNAL, PE_NKEYS };
static const char *const preemption_keys[PE_NKEYS] = {"grace", "signal"};

/* The preemption section: grace (a duration), signal (a name such as
 * SIGTERM or TERM, or a number 1..64). Absent fields stay -1. */
static int read_preemption(reader *r, const yaml_node_t *section)
{
    center_preemption *p = &r->c->preemption;
    if (!section || yr_is_null(section))
        return 0;
    const yaml_node_t *v[PE_NKEYS];
    if (yr_read_mapping(&r->y, section, "preemption", preemption_keys, PE_NKEYS, v) != 0 ||
        get_duration(r, v[PE_GRACE], "grace", -1, &p->grace) != 0)
        return -1;
    if (p->grace > 31536000) {
        yr_fail(&r->y, v[PE_GRACE], "field grace: at most a year (31536000 s)");
        return -1;
    }
    if (v[PE_SIGNAL]) {
        static const struct { const char *name; int num; } sigs[] = {
            {"HUP", 1}, {"INT", 2}, {"QUIT", 3}, {"KILL", 9}, {"USR1", 10},
            {"USR2", 12}, {"TERM", 15}, {"CONT", 18}, {"STOP", 19}};
        char name[32];
        if (yr_get_text(&r->y, section, v[PE_SIGNAL], "signal", "preemption", 1, 1, name,
                        sizeof name) != 0)
            return -1;
        const char *bare = strncmp(name, "SIG", 3) == 0 ? name + 3 : name;
        p->signal = -1;
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            if (strcmp(bare, sigs[i].name) == 0)
                p->signal = sigs[i].num;
        if (p->signal < 0) {
            char *end;
            long x = strtol(name, &end, 10);
            if (*end == '\0' && x >= 1 && x <= 64)
                p->signal = (int32_t)x;
        }
        if (p->signal < 0) {
            yr_fail(&r->y, v[PE_SIGNAL], "field signal: a signal name (SIGTERM, SIGINT, SIGUSR1, "
                                  "SIGUSR2, ...) or a number from 1 to 64, got \"%s\"", name);
            return -1;
        }
    }
    return 0;
}

/* ---- reservations ---------------------------------------------------------------- */

/* Reads field v of item, a list of names or one name, into *names (*n of
 * them, allocated) and the node of each into *elems (for messages); the
 * caller frees both, also on failure. Absent gives none; an empty list or a
 * name given twice is an error. O(n log n). */
static int read_names(reader *r, const yaml_node_t *item, const yaml_node_t *v,
                      const char *field, const char *what, char (**names)[TRACE_NAMELEN],
                      const yaml_node_t ***elems, size_t *n)
{
    *names = NULL;
    *elems = NULL;
    *n = 0;
    if (!v)
        return 0;
    yaml_node_item_t *it = NULL;
    size_t cnt = 1;
    if (v->type == YAML_SEQUENCE_NODE && yr_read_list(&r->y, v, field, &it, &cnt) != 0)
        return -1;
    if (cnt == 0) {
        yr_fail(&r->y, v, "field %s: the list is empty", field);
        return -1;
    }
    if (cnt > ENTRIES_MAX) {
        yr_fail(&r->y, v, "field %s: more than %d names", field, ENTRIES_MAX);
        return -1;
    }
    *names = malloc(cnt * sizeof **names);
    *elems = malloc(cnt * sizeof **elems);
    yr_named *sorted = malloc(cnt * sizeof *sorted);
    if (!*names || !*elems || !sorted) {
        free(sorted);
        return yr_out_of_memory(&r->y, v);
    }
    for (size_t k = 0; k < cnt; k++) {
        const yaml_node_t *e = it ? yaml_document_get_node(r->y.doc, it[k]) : v;
        (*elems)[k] = e;
        if (!e || yr_get_text(&r->y, item, e, field, what, 1, 1, (*names)[k],
                              sizeof (*names)[k]) != 0) {
            free(sorted);
            return -1;
        }
        sorted[k] = (yr_named){(*names)[k], yr_line_of(e), (int32_t)k};
        (*n)++;
    }
    qsort(sorted, cnt, sizeof *sorted, yr_cmp_named);
    for (size_t k = 1; k < cnt; k++) {
        if (strcmp(sorted[k].name, sorted[k - 1].name) == 0) {
            yr_fail_line(&r->y, sorted[k].line, "field %s: \"%s\" is listed twice", field,
                         sorted[k].name);
            free(sorted);
            return -1;
        }
    }
    free(sorted);
    return 0;
}

enum { R_NAME, R_KIND, R_START, R_END, R_NODES, R_ACCOUNTS, R_USERS, R_NKEYS };
static const char *const resv_keys[R_NKEYS] = {"name",  "kind",     "start", "end",
                                               "nodes", "accounts", "users"};

/* Frees what one reservation owns. */
static void resv_free(center_resv *v)
{
    free(v->nodes);
    free(v->accounts);
    free(v->users);
}

/* One reservation: fields as fleetd's API (name, kind, start, end, nodes,
 * accounts, users), projects and users resolved by name. The entry is
 * filled only when all of it reads. */
static int read_resv(reader *r, const yaml_node_t *item, const yr_named *users_by_name,
                     center_resv *out)
{
    center_desc *c = r->c;
    const yaml_node_t *v[R_NKEYS];
    const char *what = "a reservation";
    center_resv x;
    char kind[32];
    char (*accs)[TRACE_NAMELEN] = NULL, (*usrs)[TRACE_NAMELEN] = NULL;
    const yaml_node_t **nodes_at = NULL, **accs_at = NULL, **usrs_at = NULL;
    size_t nacc = 0, nusr = 0;
    memset(&x, 0, sizeof x);
    int rc = -1;
    if (yr_read_mapping(&r->y, item, what, resv_keys, R_NKEYS, v) != 0 ||
        yr_get_text(&r->y, item, v[R_NAME], "name", what, 1, 1, x.name, sizeof x.name) != 0 ||
        yr_get_text(&r->y, item, v[R_KIND], "kind", what, 1, 1, kind, sizeof kind) != 0)
        goto done;
    x.line = yr_line_of(item);
    if (strcmp(kind, "maintenance") == 0) {
        x.kind = CENTER_RESV_MAINTENANCE;
    } else if (strcmp(kind, "project") == 0) {
        x.kind = CENTER_RESV_PROJECT;
    } else {
        yr_fail(&r->y, v[R_KIND], "field kind: must be maintenance or project, got \"%s\"",
                kind);
        goto done;
    }
    if (!v[R_START] || !v[R_END]) {
        yr_fail(&r->y, item, "field %s: required in a reservation (a window [start, end))",
                v[R_START] ? "end" : "start");
        goto done;
    }
    if (get_time(r, v[R_START], "start", 0, &x.start) != 0 ||
        get_time(r, v[R_END], "end", 0, &x.end) != 0)
        goto done;
    if (x.end <= x.start) {
        yr_fail(&r->y, v[R_END], "field end: the window must end after it starts");
        goto done;
    }
    if (!v[R_NODES]) {
        yr_fail(&r->y, item, "field nodes: required in a reservation (the nodes it holds)");
        goto done;
    }
    if (read_names(r, item, v[R_NODES], "nodes", what, &x.nodes, &nodes_at, &x.nnodes) != 0)
        goto done;
    x.nodes_line = yr_line_of(v[R_NODES]);
    if (read_names(r, item, v[R_ACCOUNTS], "accounts", what, &accs, &accs_at, &nacc) != 0 ||
        read_names(r, item, v[R_USERS], "users", what, &usrs, &usrs_at, &nusr) != 0)
        goto done;
    x.users_line = v[R_USERS] ? yr_line_of(v[R_USERS]) : x.line;
    if (x.kind == CENTER_RESV_MAINTENANCE && nacc + nusr > 0) {
        yr_fail(&r->y, nacc ? v[R_ACCOUNTS] : v[R_USERS],
                "field %s: a maintenance reservation admits no job (accounts and users are "
                "for kind project)", nacc ? "accounts" : "users");
        goto done;
    }
    if (x.kind == CENTER_RESV_PROJECT && nacc + nusr == 0) {
        yr_fail(&r->y, item, "field accounts: a project reservation needs accounts or users "
                             "(the projects and users it admits)");
        goto done;
    }
    x.accounts = malloc((nacc ? nacc : 1) * sizeof *x.accounts);
    x.users = malloc((nusr ? nusr : 1) * sizeof *x.users);
    if (!x.accounts || !x.users) {
        yr_out_of_memory(&r->y, item);
        goto done;
    }
    for (size_t k = 0; k < nacc; k++) {
        int32_t p = find_project(r, accs_at[k], "accounts", accs[k]);
        if (p < 0)
            goto done;
        x.accounts[x.naccounts++] = p;
    }
    for (size_t k = 0; k < nusr; k++) {
        int32_t u = yr_find(users_by_name, c->nusers, usrs[k]);
        if (u < 0) {
            yr_fail(&r->y, usrs_at[k], "field users: no user named \"%s\"", usrs[k]);
            goto done;
        }
        x.users[x.nusers++] = u;
    }
    *out = x;
    memset(&x, 0, sizeof x); /* now owned by out */
    rc = 0;
done:
    resv_free(&x);
    free(accs);
    free(usrs);
    free(nodes_at);
    free(accs_at);
    free(usrs_at);
    return rc;
}

/* The reservations section (after accounts and users): each entry, then
 * unique names. O(R log R + the names listed, each O(log A) or O(log U)). */
static int read_resvs(reader *r, const yaml_node_t *section)
{
    center_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "reservations", &items, &n) != 0)
        return -1;
    if (n == 0)
        return 0;
    if (n > 4096) {
        yr_fail(&r->y, section, "field reservations: more than 4096 reservations");
        return -1;
    }
    c->resvs = calloc(n, sizeof *c->resvs);
    yr_named *users = index_names(r, c->nusers, user_name, user_line);
    yr_named *names = malloc(n * sizeof *names);
    if (!c->resvs || !users || !names) {
        free(users);
        free(names);
        return yr_out_of_memory(&r->y, section);
    }
    if (c->nusers > 1)
        qsort(users, c->nusers, sizeof *users, yr_cmp_named); /* unique: checked before */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        center_resv *v = &c->resvs[c->nresvs];
        rc = item ? read_resv(r, item, users, v) : -1;
        if (rc == 0) {
            names[c->nresvs] = (yr_named){v->name, v->line, (int32_t)c->nresvs};
            c->nresvs++;
        }
    }
    if (rc == 0)
        rc = yr_sort_unique(&r->y, names, c->nresvs, "reservation");
    free(users);
    free(names);
    return rc;
}

/* ---- priority ------------------------------------------------------------------- */

enum { PR_WEIGHTS, PR_MAX_AGE, PR_HALF_LIFE, PR_CALC_PERIOD, PR_FAVOR_SMALL, PR_NKEYS };
static const char *const prio_keys[PR_NKEYS] = {"weights", "max_age", "half_life",
                                                "calc_period", "favor_small"};
enum { W_AGE, W_FAIRSHARE, W_SIZE, W_QOS, W_NKEYS };
static const char *const weight_keys[W_NKEYS] = {"age", "fairshare", "size", "qos"};

/* The priority section; what it leaves out stays -1 (not given). */
static int read_priority(reader *r, const yaml_node_t *section)
{
    center_priority *p = &r->c->priority;
    if (!section || yr_is_null(section))
        return 0;
    const yaml_node_t *v[PR_NKEYS];
    const char *what = "priority";
    if (yr_read_mapping(&r->y, section, what, prio_keys, PR_NKEYS, v) != 0 ||
        get_duration(r, v[PR_MAX_AGE], "max_age", -1, &p->max_age) != 0 ||
        get_duration(r, v[PR_HALF_LIFE], "half_life", -1, &p->half_life) != 0 ||
        get_duration(r, v[PR_CALC_PERIOD], "calc_period", -1, &p->calc_period) != 0)
        return -1;
    if (v[PR_MAX_AGE] && p->max_age == 0) {
        yr_fail(&r->y, v[PR_MAX_AGE], "field max_age: must be positive (the age at which the age "
                               "factor reaches 1)");
        return -1;
    }
    if (v[PR_FAVOR_SMALL]) {
        const yaml_node_t *b = v[PR_FAVOR_SMALL];
        if (yr_need_scalar(&r->y, b, "favor_small") != 0)
            return -1;
        const char *s = (const char *)b->data.scalar.value;
        if (strcmp(s, "true") == 0)
            p->favor_small = 1;
        else if (strcmp(s, "false") == 0)
            p->favor_small = 0;
        else {
            char got[160];
            yr_quote(got, sizeof got, b);
            yr_fail(&r->y, b, "field favor_small: must be true or false, got %s", got);
            return -1;
        }
    }
    if (v[PR_WEIGHTS]) {
        const yaml_node_t *w[W_NKEYS];
        int64_t *dst[W_NKEYS] = {&p->w_age, &p->w_fairshare, &p->w_size, &p->w_qos};
        if (yr_read_mapping(&r->y, v[PR_WEIGHTS], "the weights", weight_keys, W_NKEYS, w) != 0)
            return -1;
        for (int k = 0; k < W_NKEYS; k++)
            if (yr_get_int(&r->y, v[PR_WEIGHTS], w[k], weight_keys[k], "the weights", 0, WEIGHT_MAX,
                           0, -1, dst[k]) != 0)
                return -1;
    }
    return 0;
}

/* ---- storage ------------------------------------------------------------------ */

enum { ST_BACKEND, ST_CONNINFO, ST_NKEYS };
static const char *const storage_keys[ST_NKEYS] = {"backend", "conninfo"};

/* The storage section: {backend: sqlite} or {backend: postgres, conninfo:
 * "..."}; absent or null leaves CENTER_STORE_DEFAULT. */
static int read_storage(reader *r, const yaml_node_t *section)
{
    center_storage *st = &r->c->storage;
    if (!section || yr_is_null(section))
        return 0;
    const yaml_node_t *v[ST_NKEYS];
    const char *what = "storage";
    char backend[32];
    if (yr_read_mapping(&r->y, section, what, storage_keys, ST_NKEYS, v) != 0 ||
        yr_get_text(&r->y, section, v[ST_BACKEND], "backend", what, 1, 1, backend,
                    sizeof backend) != 0)
        return -1;
    st->line = yr_line_of(section);
    if (strcmp(backend, "sqlite") == 0) {
        st->backend = CENTER_STORE_SQLITE;
        if (v[ST_CONNINFO]) {
            yr_fail(&r->y, v[ST_CONNINFO],
                    "field conninfo: only for backend postgres (SQLite lives "
                    "in fleetd's state directory)");
            return -1;
        }
        return 0;
    }
    if (strcmp(backend, "postgres") != 0 && strcmp(backend, "postgresql") != 0) {
        yr_fail(&r->y, v[ST_BACKEND], "field backend: must be sqlite or postgres, got \"%s\"",
                backend);
        return -1;
    }
    st->backend = CENTER_STORE_POSTGRES;
    return yr_get_text(&r->y, section, v[ST_CONNINFO], "conninfo", what, 1, 0, st->conninfo,
                       sizeof st->conninfo);
}

/* ---- the document ---------------------------------------------------------------- */

enum {
    T_CENTER,
    T_ACCOUNTS,
    T_USERS,
    T_QOS,
    T_DEFAULT_QOS,
    T_ALLOCATIONS,
    T_PRIORITY,
    T_STORAGE,
    T_GUARANTEES,
    T_PREEMPTION,
    T_RESERVATIONS,
    T_NKEYS
};
static const char *const top_keys[T_NKEYS] = {"center",      "accounts",    "users",
                                              "qos",         "default_qos", "allocations",
                                              "priority",    "storage",     "guarantees",
                                              "preemption",  "reservations"};

/* The document (yr_parse's callback; arg is the reader): sections in a fixed
 * order whatever their order in the file (QOS before accounts, accounts
 * before users and allocations). */
static int read_center(void *arg)
{
    reader *r = arg;
    const yaml_node_t *root = yaml_document_get_root_node(r->y.doc);
    const yaml_node_t *v[T_NKEYS];
    center_desc *c = r->c;
    if (!root) {
        yr_fail_line(&r->y, 1,
                     "field accounts: the center has no projects (the document is empty)");
        return -1;
    }
    if (yr_read_mapping(&r->y, root, "the center", top_keys, T_NKEYS, v) != 0 ||
        yr_get_text(&r->y, root, v[T_CENTER], "center", "the center", 0, 1, c->name,
                    sizeof c->name) != 0 ||
        read_qos(r, v[T_QOS]) != 0 || read_accounts(r, v[T_ACCOUNTS], root) != 0 ||
        read_users(r, v[T_USERS]) != 0 || read_allocs(r, v[T_ALLOCATIONS]) != 0 ||
        read_priority(r, v[T_PRIORITY]) != 0 || read_storage(r, v[T_STORAGE]) != 0 ||
        read_guarantees(r, v[T_GUARANTEES]) != 0 || read_preemption(r, v[T_PREEMPTION]) != 0 ||
        read_resvs(r, v[T_RESERVATIONS]) != 0)
        return -1;
    if (v[T_DEFAULT_QOS]) {
        char name[TRACE_NAMELEN];
        if (yr_get_text(&r->y, root, v[T_DEFAULT_QOS], "default_qos", "the center", 1, 1, name,
                        sizeof name) != 0)
            return -1;
        c->default_qos = yr_find(r->qos_by_name, c->nqos, name);
        if (c->default_qos < 0) {
            yr_fail(&r->y, v[T_DEFAULT_QOS], "field default_qos: no QOS named \"%s\"", name);
            return -1;
        }
    }
    return 0;
}

void center_desc_init(center_desc *c)
{
    memset(c, 0, sizeof *c);
    c->default_qos = -1;
    center_priority *p = &c->priority;
    p->w_age = p->w_fairshare = p->w_size = p->w_qos = -1;
    p->max_age = p->half_life = p->calc_period = -1;
    p->favor_small = -1;
    c->preemption.grace = -1;
    c->preemption.signal = -1;
}

void center_desc_free(center_desc *c)
{
    free(c->accounts);
    free(c->users);
    free(c->members);
    free(c->qos);
    free(c->allocs);
    free(c->guarantees);
    for (size_t i = 0; i < c->nresvs; i++)
        resv_free(&c->resvs[i]);
    free(c->resvs);
    center_desc_init(c);
}

int center_yaml_parse(const char *buf, size_t len, const char *fname, center_desc *out,
                      char *err, size_t errlen)
{
    reader r = {.y = {.fname = fname ? fname : "<input>", .err = err, .errlen = errlen},
                .c = out};
    int rc = yr_parse(&r.y, buf, len, "center", read_center, &r);
    free(r.seen);
    free(r.acc_by_name);
    free(r.qos_by_name);
    free(r.preempt);
    return rc;
}
