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
 *   priority:     weights (age, fairshare, size, qos), max_age, half_life,
 *                 calc_period, favor_small
 *   storage:      fleetd's state: backend (sqlite or postgres), conninfo
 *                 (postgres: a libpq connection string)
 *
 * The file is loaded with libyaml's document API, as cluster_yaml.c does:
 * random access to the tree and a line for every node, sections read in a
 * fixed order (qos, accounts, users, allocations, priority) whatever their
 * order in the file. It is written by hand, so nothing is guessed: unknown
 * or repeated keys, repeated names, references to nothing, implausible
 * numbers are errors naming the file, the line and the field. The helpers
 * below follow cluster_yaml.c's (kept apart: that reader's helpers are
 * private to it).
 */
#include "center_yaml.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
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
#define INT_VALUE_MAX 1000000000000000LL

typedef struct named {
    const char *name;
    int64_t line;
    int32_t index;
} named;

typedef struct reader {
    yaml_document_t *doc;
    const char *fname;
    char *err;
    size_t errlen;
    center_desc *c;
    size_t acap, ucap, mcap, qcap, alcap, gcap;
    unsigned char *seen;              /* document nodes already read as accounts */
    named *acc_by_name, *qos_by_name; /* sorted */
    const yaml_node_t **preempt;      /* per QOS, its preempt list, resolved last */
} reader;

static int64_t line_of(const yaml_node_t *n)
{
    return n ? (int64_t)n->start_mark.line + 1 : 1;
}

/* Writes "FILE:LINE: message". */
static void fail_line(const reader *r, int64_t line, const char *fmt, ...)
{
    if (!r->err || r->errlen == 0)
        return;
    int n = snprintf(r->err, r->errlen, "%s:%" PRId64 ": ", r->fname, line);
    if (n < 0 || (size_t)n >= r->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

#define fail(r, node, ...) fail_line((r), line_of(node), __VA_ARGS__)

/* A scalar for a message: quoted, short, control bytes escaped. */
static void quote(char *dst, size_t dstlen, const yaml_node_t *v)
{
    const unsigned char *s = v->data.scalar.value;
    size_t len = v->data.scalar.length, o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < dstlen; i++) {
        if (i == 32) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", s[i]);
        else
            dst[o++] = (char)s[i];
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

/* YAML's null ("key:" with nothing after it) counts as not given. */
static int is_null(const yaml_node_t *v)
{
    if (!v || v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)v->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* ---- mappings, lists, scalars ------------------------------------------- */

#define MAX_KEYS 12 /* the most keys of any mapping (the top level: 10) */

/* Collects the values of a mapping whose keys must come from keys[]; vals[k]
 * is NULL when absent or null. O(keys x pairs). */
static int read_mapping(const reader *r, const yaml_node_t *m, const char *what,
                        const char *const *keys, size_t nkeys, const yaml_node_t **vals)
{
    for (size_t k = 0; k < nkeys; k++)
        vals[k] = NULL;
    if (m->type != YAML_MAPPING_NODE) {
        fail(r, m, "%s: must be a mapping of keys to values", what);
        return -1;
    }
    int seen[MAX_KEYS] = {0};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *key = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *val = yaml_document_get_node(r->doc, p->value);
        if (!key || !val)
            continue;
        if (key->type != YAML_SCALAR_NODE) {
            fail(r, key, "%s: keys must be plain words", what);
            return -1;
        }
        const char *name = (const char *)key->data.scalar.value;
        size_t k = 0;
        while (k < nkeys && strcmp(name, keys[k]) != 0)
            k++;
        if (k == nkeys || strlen(name) != key->data.scalar.length) {
            char got[160], known[256];
            size_t o = 0;
            if (key->data.scalar.length > 0 && key->data.scalar.length < 40 &&
                strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_-.") == key->data.scalar.length)
                snprintf(got, sizeof got, "%s", name);
            else
                quote(got, sizeof got, key);
            known[0] = '\0';
            for (size_t i = 0; i < nkeys && o < sizeof known; i++)
                o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                                      keys[i]);
            fail(r, key, "field %s: unknown key in %s (known: %s)", got, what, known);
            return -1;
        }
        if (seen[k]) {
            fail(r, key, "field %s: key given twice in %s", keys[k], what);
            return -1;
        }
        seen[k] = 1;
        if (!is_null(val))
            vals[k] = val;
    }
    return 0;
}

/* The items of a list; absent or null is empty. */
static int read_list(const reader *r, const yaml_node_t *v, const char *field,
                     yaml_node_item_t **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!v || is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE) {
        fail(r, v, "field %s: must be a list (items starting with \"- \")", field);
        return -1;
    }
    *items = v->data.sequence.items.start;
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    return 0;
}

/* A single value, not a list or a mapping: 0, or -1 with a message. */
static int need_scalar(const reader *r, const yaml_node_t *v, const char *field)
{
    if (v->type != YAML_SCALAR_NODE) {
        fail(r, v, "field %s: must be a single value, not a %s", field,
             v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        return -1;
    }
    return 0;
}

/* A plain decimal integer in [min, max]; absent gives dflt (or an error
 * naming the mapping's line when required). */
static int get_int(const reader *r, const yaml_node_t *item, const yaml_node_t *v,
                   const char *field, const char *what, int64_t min, int64_t max, int required,
                   int64_t dflt, int64_t *out)
{
    if (!v) {
        if (required) {
            fail(r, item, "field %s: required in %s", field, what);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (need_scalar(r, v, field) != 0)
        return -1;
    const char *s = (const char *)v->data.scalar.value;
    size_t len = v->data.scalar.length, i = 0;
    int neg = 0, ok = len > 0;
    int64_t x = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    ok = ok && i < len;
    for (; ok && i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = 0;
        else if (x <= INT_VALUE_MAX)
            x = x * 10 + (s[i] - '0');
    }
    if (x > INT_VALUE_MAX)
        x = INT_VALUE_MAX + 1;
    x = neg ? -x : x;
    char got[160];
    quote(got, sizeof got, v);
    if (!ok || x < min) {
        fail(r, v, "field %s: must be a %s integer, got %s", field,
             min > 0 ? "positive" : "non-negative", got);
        return -1;
    }
    if (x > max) {
        fail(r, v, "field %s: must be at most %" PRId64 ", got %s", field, max, got);
        return -1;
    }
    *out = x;
    return 0;
}

/* A finite real number in [0, max]; absent gives dflt or, when required,
 * an error. */
static int get_real(const reader *r, const yaml_node_t *item, const yaml_node_t *v,
                    const char *field, const char *what, double max, int required, double dflt,
                    double *out)
{
    if (!v) {
        if (required) {
            fail(r, item, "field %s: required in %s", field, what);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (need_scalar(r, v, field) != 0)
        return -1;
    const char *s = (const char *)v->data.scalar.value;
    char *end;
    char got[160];
    quote(got, sizeof got, v);
    double x = strtod(s, &end);
    if (v->data.scalar.length == 0 || end != s + v->data.scalar.length || !isfinite(x) ||
        x < 0) {
        fail(r, v, "field %s: must be a non-negative number, got %s", field, got);
        return -1;
    }
    if (x > max) {
        fail(r, v, "field %s: must be at most %g, got %s", field, max, got);
        return -1;
    }
    *out = x;
    return 0;
}

/* Text into dst. Names (is_name) are identifiers that jobs, traces and
 * reports refer to: no blanks, ',' or '|'. Control bytes are refused. */
static int get_text(const reader *r, const yaml_node_t *item, const yaml_node_t *v,
                    const char *field, const char *what, int required, int is_name, char *dst,
                    size_t dstlen)
{
    if (!v) {
        if (required) {
            fail(r, item, "field %s: required in %s", field, what);
            return -1;
        }
        dst[0] = '\0';
        return 0;
    }
    if (need_scalar(r, v, field) != 0)
        return -1;
    const unsigned char *s = v->data.scalar.value;
    size_t len = v->data.scalar.length;
    char got[160];
    quote(got, sizeof got, v);
    if (len == 0) {
        fail(r, v, "field %s: must not be empty", field);
        return -1;
    }
    if (len >= dstlen) {
        fail(r, v, "field %s: longer than %zu characters, got %s", field, dstlen - 1, got);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            fail(r, v, "field %s: contains a control character, got %s", field, got);
            return -1;
        }
        if (is_name && (s[i] == ' ' || s[i] == ',' || s[i] == '|')) {
            fail(r, v, "field %s: a name may not contain blanks, ',' or '|', got %s", field,
                 got);
            return -1;
        }
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

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
    if (need_scalar(r, v, field) != 0)
        return -1;
    if (center_parse_duration((const char *)v->data.scalar.value, v->data.scalar.length, out) !=
        0) {
        char got[160];
        quote(got, sizeof got, v);
        fail(r, v, "field %s: must be a duration (whole seconds, or a number followed by s, m, "
                   "h, d or w, at most %lld s), got %s", field, (long long)SECONDS_MAX, got);
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
    if (need_scalar(r, v, field) != 0)
        return -1;
    if (center_parse_time((const char *)v->data.scalar.value, v->data.scalar.length, out) != 0) {
        char got[160];
        quote(got, sizeof got, v);
        fail(r, v, "field %s: must be seconds or a UTC date (YYYY-MM-DD or "
                   "YYYY-MM-DDTHH:MM:SS), got %s", field, got);
        return -1;
    }
    return 0;
}

/* ---- growth and names ------------------------------------------------- */

static void *reserve(void *arr, size_t want, size_t *cap, size_t sz)
{
    if (want <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < want)
        ncap *= 2;
    void *p = realloc(arr, ncap * sz);
    if (p)
        *cap = ncap;
    return p;
}

static int out_of_memory(const reader *r, const yaml_node_t *at)
{
    fail(r, at, "out of memory");
    return -1;
}

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

static int cmp_name_only(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Sorts v and fails on the first repeated name: O(n log n). */
static int sort_unique(const reader *r, named *v, size_t n, const char *what)
{
    if (n > 0)
        qsort(v, n, sizeof *v, cmp_named);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].name, v[i - 1].name) == 0) {
            fail_line(r, v[i].line, "field name: duplicate %s name \"%s\" (first at line %" PRId64
                                    ")", what, v[i].name, v[i - 1].line);
            return -1;
        }
    }
    return 0;
}

static int32_t find(const named *v, size_t n, const char *name)
{
    named key = {name, 0, 0};
    const named *hit = n ? bsearch(&key, v, n, sizeof *v, cmp_name_only) : NULL;
    return hit ? hit->index : -1;
}

/* A (name, line, index) list of n entries for sort_unique and find;
 * NULL when memory runs out. O(n). */
static named *index_names(const reader *r, size_t n, const char *(*name_of)(const reader *, size_t),
                          int64_t (*line_of_i)(const reader *, size_t))
{
    named *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (named){name_of(r, i), line_of_i(r, i), (int32_t)i};
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
    if (read_list(r, section, "qos", &items, &n) != 0)
        return -1;
    if (n > CENTER_MAX_QOS) {
        fail(r, section, "field qos: more than %d QOS", CENTER_MAX_QOS);
        return -1;
    }
    if (n > 0) {
        c->qos = reserve(c->qos, n, &r->qcap, sizeof *c->qos);
        r->preempt = calloc(n, sizeof *r->preempt);
        if (!c->qos || !r->preempt)
            return out_of_memory(r, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[Q_NKEYS];
        center_qos *q = &c->qos[c->nqos];
        const char *what = "a QOS";
        memset(q, 0, sizeof *q);
        if (!item || read_mapping(r, item, what, qos_keys, Q_NKEYS, v) != 0 ||
            get_text(r, item, v[Q_NAME], "name", what, 1, 1, q->name, sizeof q->name) != 0 ||
            get_int(r, item, v[Q_PRIORITY], "priority", what, 0, WEIGHT_MAX, 0, 0,
                    &q->priority) != 0 ||
            get_duration(r, v[Q_MAX_WALL], "max_wall", 0, &q->max_wall) != 0 ||
            get_int(r, item, v[Q_MAX_USER], "max_gpus_per_user", what, 0, GPUS_MAX, 0, 0,
                    &q->max_gpus_per_user) != 0 ||
            get_int(r, item, v[Q_MAX_PROJECT], "max_gpus_per_project", what, 0, GPUS_MAX, 0, 0,
                    &q->max_gpus_per_project) != 0)
            return -1;
        q->line = line_of(item);
        r->preempt[i] = v[Q_PREEMPT];
        c->nqos++;
    }
    r->qos_by_name = index_names(r, c->nqos, qos_name, qos_line);
    if (!r->qos_by_name)
        return out_of_memory(r, section);
    if (sort_unique(r, r->qos_by_name, c->nqos, "QOS") != 0)
        return -1;
    /* preemption lists name QOS anywhere in the list */
    for (size_t i = 0; i < c->nqos; i++) {
        const yaml_node_t *pv = r->preempt[i];
        if (!pv)
            continue;
        yaml_node_item_t *pi = NULL;
        size_t pn = 1;
        if (pv->type == YAML_SEQUENCE_NODE && read_list(r, pv, "preempt", &pi, &pn) != 0)
            return -1;
        for (size_t k = 0; k < pn; k++) {
            const yaml_node_t *e = pi ? yaml_document_get_node(r->doc, pi[k]) : pv;
            char name[TRACE_NAMELEN];
            if (!e || get_text(r, pv, e, "preempt", "a QOS", 1, 1, name, sizeof name) != 0)
                return -1;
            int32_t q = find(r->qos_by_name, c->nqos, name);
            if (q < 0) {
                fail(r, e, "field preempt: no QOS named \"%s\"", name);
                return -1;
            }
            if ((size_t)q == i) {
                fail(r, e, "field preempt: QOS %s cannot preempt itself", name);
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
    if (read_list(r, v, field, &items, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
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
    size_t node = (size_t)(item - r->doc->nodes.start);
    const char *what = level_word(level);
    if (r->seen[node]) {
        fail(r, item, "field name: this %s entry is repeated (through a YAML alias); accounts "
                      "must be distinct", what);
        return -1;
    }
    r->seen[node] = 1;
    if (c->naccounts >= ENTRIES_MAX) {
        fail(r, item, "field name: more than %d accounts", ENTRIES_MAX);
        return -1;
    }
    center_account *acc = reserve(c->accounts, c->naccounts + 1, &r->acap, sizeof *c->accounts);
    if (!acc)
        return out_of_memory(r, item);
    c->accounts = acc;
    int32_t id = (int32_t)c->naccounts;
    center_account *a = &c->accounts[id];
    memset(a, 0, sizeof *a);
    a->level = level;
    a->parent = parent;
    a->trace_group = -1;
    a->line = line_of(item);
    char whatbuf[32];
    snprintf(whatbuf, sizeof whatbuf, "a %s", what);
    if (level == CENTER_PROJECT) {
        const yaml_node_t *v[P_NKEYS];
        if (read_mapping(r, item, whatbuf, project_keys, P_NKEYS, v) != 0 ||
            get_text(r, item, v[P_NAME], "name", whatbuf, 1, 1, a->name, sizeof a->name) != 0 ||
            get_real(r, item, v[P_SHARES], "shares", whatbuf, SHARES_MAX, 0, 1.0, &a->shares) !=
                0 ||
            get_int(r, item, v[P_TRACE_GROUP], "trace_group", whatbuf, 0, ID_MAX, 0, -1,
                    &a->trace_group) != 0)
            return -1;
        c->naccounts++;
        return 0;
    }
    const yaml_node_t *v[A_NKEYS];
    if (read_mapping(r, item, whatbuf, group_keys, A_NKEYS, v) != 0 ||
        get_text(r, item, v[A_NAME], "name", whatbuf, 1, 1, a->name, sizeof a->name) != 0 ||
        get_real(r, item, v[A_SHARES], "shares", whatbuf, SHARES_MAX, 0, 1.0, &a->shares) != 0)
        return -1;
    c->naccounts++;
    if (v[A_ORGS] && depth >= CENTER_MAX_ORG_DEPTH) {
        fail(r, v[A_ORGS], "field organizations: nested more than %d deep",
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
    size_t nnodes = (size_t)(r->doc->nodes.top - r->doc->nodes.start);
    r->seen = calloc(nnodes ? nnodes : 1, 1);
    if (!r->seen)
        return out_of_memory(r, section);
    if (read_children(r, section, "accounts", CENTER_TIER, -1, 0) != 0)
        return -1;
    size_t nproj = 0;
    for (size_t i = 0; i < c->naccounts; i++)
        nproj += c->accounts[i].level == CENTER_PROJECT;
    if (nproj == 0) {
        fail(r, section ? section : root, "field accounts: the center has no projects (give "
                                          "tiers with organizations and projects)");
        return -1;
    }
    r->acc_by_name = index_names(r, c->naccounts, acc_name, acc_line);
    if (!r->acc_by_name)
        return out_of_memory(r, section);
    if (sort_unique(r, r->acc_by_name, c->naccounts, "account") != 0)
        return -1;
    if (c->name[0]) {
        int32_t clash = find(r->acc_by_name, c->naccounts, c->name);
        if (clash >= 0) {
            fail_line(r, c->accounts[clash].line, "field name: account \"%s\" has the center's "
                                                  "name", c->name);
            return -1;
        }
    }
    /* trace groups map to one project each: O(P^2) would do for a few, but
     * sort them to stay O(P log P) */
    named *g = malloc((nproj ? nproj : 1) * sizeof *g);
    char (*keys)[24] = malloc((nproj ? nproj : 1) * sizeof *keys);
    if (!g || !keys) {
        free(g);
        free(keys);
        return out_of_memory(r, section);
    }
    size_t ng = 0;
    for (size_t i = 0; i < c->naccounts; i++) {
        if (c->accounts[i].level != CENTER_PROJECT || c->accounts[i].trace_group < 0)
            continue;
        snprintf(keys[ng], sizeof keys[ng], "%020" PRId64, c->accounts[i].trace_group);
        g[ng] = (named){keys[ng], c->accounts[i].line, (int32_t)i};
        ng++;
    }
    int rc = 0;
    if (ng > 1)
        qsort(g, ng, sizeof *g, cmp_named);
    for (size_t i = 1; i < ng && rc == 0; i++) {
        if (strcmp(g[i].name, g[i - 1].name) == 0) {
            fail_line(r, g[i].line, "field trace_group: group %" PRId64 " is already mapped to "
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
    int32_t i = find(r->acc_by_name, r->c->naccounts, name);
    if (i < 0) {
        fail(r, at, "field %s: no project named \"%s\"", field, name);
        return -1;
    }
    if (r->c->accounts[i].level != CENTER_PROJECT) {
        fail(r, at, "field %s: \"%s\" is %s %s, not a project", field, name,
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
        fail(r, at, "field projects: more than %d memberships", ENTRIES_MAX * 4);
        return -1;
    }
    center_member *m = reserve(c->members, c->nmembers + 1, &r->mcap, sizeof *c->members);
    if (!m)
        return out_of_memory(r, at);
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
    if (read_list(r, section, "users", &items, &n) != 0)
        return -1;
    if (n > ENTRIES_MAX) {
        fail(r, section, "field users: more than %d users", ENTRIES_MAX);
        return -1;
    }
    if (n > 0) {
        c->users = reserve(c->users, n, &r->ucap, sizeof *c->users);
        if (!c->users)
            return out_of_memory(r, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[U_NKEYS];
        center_user *u = &c->users[c->nusers];
        const char *what = "a user";
        memset(u, 0, sizeof *u);
        if (!item || read_mapping(r, item, what, user_keys, U_NKEYS, v) != 0 ||
            get_text(r, item, v[U_NAME], "name", what, 1, 1, u->name, sizeof u->name) != 0 ||
            get_int(r, item, v[U_UID], "uid", what, 0, ID_MAX, 0, -1, &u->uid) != 0 ||
            get_real(r, item, v[U_SHARES], "shares", what, SHARES_MAX, 0, 1.0, &u->shares) != 0)
            return -1;
        u->line = line_of(item);
        int32_t uid = (int32_t)c->nusers;
        c->nusers++;
        /* projects: a list of project names, or one name */
        if (!v[U_PROJECTS]) {
            fail(r, item, "field projects: required in a user (the projects it may charge)");
            return -1;
        }
        yaml_node_item_t *pi = NULL;
        size_t pn = 1;
        const yaml_node_t *pv = v[U_PROJECTS];
        if (pv->type == YAML_SEQUENCE_NODE && read_list(r, pv, "projects", &pi, &pn) != 0)
            return -1;
        if (pn == 0) {
            fail(r, pv, "field projects: the list is empty");
            return -1;
        }
        size_t first_member = c->nmembers;
        for (size_t k = 0; k < pn; k++) {
            const yaml_node_t *e = pi ? yaml_document_get_node(r->doc, pi[k]) : pv;
            char name[TRACE_NAMELEN];
            if (!e || get_text(r, pv, e, "projects", what, 1, 1, name, sizeof name) != 0)
                return -1;
            int32_t p = find_project(r, e, "projects", name);
            if (p < 0)
                return -1;
            for (size_t m = first_member; m < c->nmembers; m++) {
                if (c->members[m].project == p) {
                    fail(r, e, "field projects: \"%s\" is listed twice", name);
                    return -1;
                }
            }
            if (push_member(r, e, uid, p) != 0)
                return -1;
        }
        u->default_project = c->members[first_member].project;
        if (v[U_DEFAULT]) {
            char name[TRACE_NAMELEN];
            if (get_text(r, item, v[U_DEFAULT], "default_project", what, 1, 1, name,
                         sizeof name) != 0)
                return -1;
            int32_t p = find_project(r, v[U_DEFAULT], "default_project", name);
            if (p < 0)
                return -1;
            size_t m = first_member;
            while (m < c->nmembers && c->members[m].project != p)
                m++;
            if (m == c->nmembers) {
                fail(r, v[U_DEFAULT], "field default_project: \"%s\" is not one of the user's "
                                      "projects", name);
                return -1;
            }
            u->default_project = p;
        }
    }
    /* unique names and uids: sorted copies, O(U log U) */
    named *byname = index_names(r, c->nusers, user_name, user_line);
    if (!byname)
        return out_of_memory(r, section);
    int rc = sort_unique(r, byname, c->nusers, "user");
    free(byname);
    if (rc != 0)
        return -1;
    char (*keys)[24] = malloc((c->nusers ? c->nusers : 1) * sizeof *keys);
    named *byuid = malloc((c->nusers ? c->nusers : 1) * sizeof *byuid);
    size_t nu = 0;
    if (!keys || !byuid) {
        free(keys);
        free(byuid);
        return out_of_memory(r, section);
    }
    for (size_t i = 0; i < c->nusers; i++) {
        if (c->users[i].uid < 0)
            continue;
        snprintf(keys[nu], sizeof keys[nu], "%020" PRId64, c->users[i].uid);
        byuid[nu] = (named){keys[nu], c->users[i].line, (int32_t)i};
        nu++;
    }
    if (nu > 1)
        qsort(byuid, nu, sizeof *byuid, cmp_named);
    for (size_t i = 1; i < nu && rc == 0; i++) {
        if (strcmp(byuid[i].name, byuid[i - 1].name) == 0) {
            fail_line(r, byuid[i].line, "field uid: uid %" PRId64 " is already user %s's (line %"
                                        PRId64 ")", c->users[byuid[i].index].uid,
                      c->users[byuid[i - 1].index].name, byuid[i - 1].line);
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
    if (read_list(r, section, "allocations", &items, &n) != 0)
        return -1;
    if (n > ENTRIES_MAX) {
        fail(r, section, "field allocations: more than %d allocations", ENTRIES_MAX);
        return -1;
    }
    if (n > 0) {
        c->allocs = reserve(c->allocs, n, &r->alcap, sizeof *c->allocs);
        if (!c->allocs)
            return out_of_memory(r, section);
    }
    named *names = malloc((n ? n : 1) * sizeof *names);
    if (!names)
        return out_of_memory(r, section);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[L_NKEYS];
        center_alloc *al = &c->allocs[c->nallocs];
        const char *what = "an allocation";
        char account[TRACE_NAMELEN];
        memset(al, 0, sizeof *al);
        rc = -1;
        if (!item || read_mapping(r, item, what, alloc_keys, L_NKEYS, v) != 0 ||
            get_text(r, item, v[L_NAME], "name", what, 1, 1, al->name, sizeof al->name) != 0 ||
            get_text(r, item, v[L_ACCOUNT], "account", what, 1, 1, account, sizeof account) !=
                0 ||
            get_real(r, item, v[L_GPU_HOURS], "gpu_hours", what, GPU_HOURS_MAX, 1, 0,
                     &al->gpu_hours) != 0 ||
            get_text(r, item, v[L_POOLS], "pools", what, 0, 0, al->pools, sizeof al->pools) !=
                0 ||
            get_time(r, v[L_START], "start", INT64_MIN, &al->start) != 0 ||
            get_time(r, v[L_END], "end", INT64_MAX, &al->end) != 0)
            break;
        if (strpbrk(al->pools, " ,") || al->pools[0] == '|' ||
            (al->pools[0] && al->pools[strlen(al->pools) - 1] == '|') || strstr(al->pools, "||")) {
            char got[160];
            quote(got, sizeof got, v[L_POOLS]);
            fail(r, v[L_POOLS], "field pools: pool names joined by '|' (\"h100|h200\"), or "
                                "leave the field out for any pool, got %s", got);
            break;
        }
        al->line = line_of(item);
        al->pools_line = v[L_POOLS] ? line_of(v[L_POOLS]) : al->line;
        if (c->name[0] && strcmp(account, c->name) == 0) {
            al->account = -1;
        } else {
            al->account = find(r->acc_by_name, c->naccounts, account);
            if (al->account < 0) {
                fail(r, v[L_ACCOUNT], "field account: no account named \"%s\"", account);
                break;
            }
        }
        if (al->end <= al->start) {
            fail(r, v[L_END], "field end: the period must end after it starts");
            break;
        }
        names[c->nallocs] = (named){al->name, al->line, (int32_t)c->nallocs};
        c->nallocs++;
        rc = 0;
    }
    if (rc == 0)
        rc = sort_unique(r, names, c->nallocs, "allocation");
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
    if (read_list(r, section, "guarantees", &items, &n) != 0)
        return -1;
    if (n > 4096) {
        fail(r, section, "field guarantees: more than 4096 guarantees");
        return -1;
    }
    if (n > 0) {
        c->guarantees = reserve(c->guarantees, n, &r->gcap, sizeof *c->guarantees);
        if (!c->guarantees)
            return out_of_memory(r, section);
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[G_NKEYS];
        center_guarantee *g = &c->guarantees[c->nguarantees];
        const char *what = "a guarantee";
        char account[TRACE_NAMELEN];
        memset(g, 0, sizeof *g);
        if (!item || read_mapping(r, item, what, guarantee_keys, G_NKEYS, v) != 0 ||
            get_text(r, item, v[G_ACCOUNT], "account", what, 1, 1, account, sizeof account) !=
                0 ||
            get_text(r, item, v[G_POOL], "pool", what, 1, 1, g->pool, sizeof g->pool) != 0 ||
            get_int(r, item, v[G_GPUS], "gpus", what, 1, GPUS_MAX, 1, 0, &g->gpus) != 0)
            return -1;
        g->line = line_of(item);
        g->pool_line = line_of(v[G_POOL]);
        g->account = find(r->acc_by_name, c->naccounts, account);
        if (g->account < 0) {
            fail(r, v[G_ACCOUNT], "field account: no account named \"%s\"", account);
            return -1;
        }
        for (size_t k = 0; k < c->nguarantees; k++)
            if (c->guarantees[k].account == g->account &&
                strcmp(c->guarantees[k].pool, g->pool) == 0) {
                fail(r, item, "field account: %s already holds a guarantee in pool %s (line "
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
    if (!section || is_null(section))
        return 0;
    const yaml_node_t *v[PE_NKEYS];
    if (read_mapping(r, section, "preemption", preemption_keys, PE_NKEYS, v) != 0 ||
        get_duration(r, v[PE_GRACE], "grace", -1, &p->grace) != 0)
        return -1;
    if (p->grace > 31536000) {
        fail(r, v[PE_GRACE], "field grace: at most a year (31536000 s)");
        return -1;
    }
    if (v[PE_SIGNAL]) {
        static const struct { const char *name; int num; } sigs[] = {
            {"HUP", 1}, {"INT", 2}, {"QUIT", 3}, {"KILL", 9}, {"USR1", 10},
            {"USR2", 12}, {"TERM", 15}, {"CONT", 18}, {"STOP", 19}};
        char name[32];
        if (get_text(r, section, v[PE_SIGNAL], "signal", "preemption", 1, 1, name,
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
            fail(r, v[PE_SIGNAL], "field signal: a signal name (SIGTERM, SIGINT, SIGUSR1, "
                                  "SIGUSR2, ...) or a number from 1 to 64, got \"%s\"", name);
            return -1;
        }
    }
    return 0;
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
    if (!section || is_null(section))
        return 0;
    const yaml_node_t *v[PR_NKEYS];
    const char *what = "priority";
    if (read_mapping(r, section, what, prio_keys, PR_NKEYS, v) != 0 ||
        get_duration(r, v[PR_MAX_AGE], "max_age", -1, &p->max_age) != 0 ||
        get_duration(r, v[PR_HALF_LIFE], "half_life", -1, &p->half_life) != 0 ||
        get_duration(r, v[PR_CALC_PERIOD], "calc_period", -1, &p->calc_period) != 0)
        return -1;
    if (v[PR_MAX_AGE] && p->max_age == 0) {
        fail(r, v[PR_MAX_AGE], "field max_age: must be positive (the age at which the age "
                               "factor reaches 1)");
        return -1;
    }
    if (v[PR_FAVOR_SMALL]) {
        const yaml_node_t *b = v[PR_FAVOR_SMALL];
        if (need_scalar(r, b, "favor_small") != 0)
            return -1;
        const char *s = (const char *)b->data.scalar.value;
        if (strcmp(s, "true") == 0)
            p->favor_small = 1;
        else if (strcmp(s, "false") == 0)
            p->favor_small = 0;
        else {
            char got[160];
            quote(got, sizeof got, b);
            fail(r, b, "field favor_small: must be true or false, got %s", got);
            return -1;
        }
    }
    if (v[PR_WEIGHTS]) {
        const yaml_node_t *w[W_NKEYS];
        int64_t *dst[W_NKEYS] = {&p->w_age, &p->w_fairshare, &p->w_size, &p->w_qos};
        if (read_mapping(r, v[PR_WEIGHTS], "the weights", weight_keys, W_NKEYS, w) != 0)
            return -1;
        for (int k = 0; k < W_NKEYS; k++)
            if (get_int(r, v[PR_WEIGHTS], w[k], weight_keys[k], "the weights", 0, WEIGHT_MAX,
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
    if (!section || is_null(section))
        return 0;
    const yaml_node_t *v[ST_NKEYS];
    const char *what = "storage";
    char backend[32];
    if (read_mapping(r, section, what, storage_keys, ST_NKEYS, v) != 0 ||
        get_text(r, section, v[ST_BACKEND], "backend", what, 1, 1, backend, sizeof backend) != 0)
        return -1;
    st->line = line_of(section);
    if (strcmp(backend, "sqlite") == 0) {
        st->backend = CENTER_STORE_SQLITE;
        if (v[ST_CONNINFO]) {
            fail(r, v[ST_CONNINFO], "field conninfo: only for backend postgres (SQLite lives "
                                    "in fleetd's state directory)");
            return -1;
        }
        return 0;
    }
    if (strcmp(backend, "postgres") != 0 && strcmp(backend, "postgresql") != 0) {
        fail(r, v[ST_BACKEND], "field backend: must be sqlite or postgres, got \"%s\"", backend);
        return -1;
    }
    st->backend = CENTER_STORE_POSTGRES;
    return get_text(r, section, v[ST_CONNINFO], "conninfo", what, 1, 0, st->conninfo,
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
    T_NKEYS
};
static const char *const top_keys[T_NKEYS] = {"center",      "accounts",    "users",
                                              "qos",         "default_qos", "allocations",
                                              "priority",    "storage",     "guarantees",
                                              "preemption"};

/* The document: sections in a fixed order whatever their order in the file
 * (QOS before accounts, accounts before users and allocations). */
static int read_center(reader *r)
{
    const yaml_node_t *root = yaml_document_get_root_node(r->doc);
    const yaml_node_t *v[T_NKEYS];
    center_desc *c = r->c;
    if (!root) {
        fail_line(r, 1, "field accounts: the center has no projects (the document is empty)");
        return -1;
    }
    if (read_mapping(r, root, "the center", top_keys, T_NKEYS, v) != 0 ||
        get_text(r, root, v[T_CENTER], "center", "the center", 0, 1, c->name, sizeof c->name) !=
            0 ||
        read_qos(r, v[T_QOS]) != 0 || read_accounts(r, v[T_ACCOUNTS], root) != 0 ||
        read_users(r, v[T_USERS]) != 0 || read_allocs(r, v[T_ALLOCATIONS]) != 0 ||
        read_priority(r, v[T_PRIORITY]) != 0 || read_storage(r, v[T_STORAGE]) != 0 ||
        read_guarantees(r, v[T_GUARANTEES]) != 0 || read_preemption(r, v[T_PREEMPTION]) != 0)
        return -1;
    if (v[T_DEFAULT_QOS]) {
        char name[TRACE_NAMELEN];
        if (get_text(r, root, v[T_DEFAULT_QOS], "default_qos", "the center", 1, 1, name,
                     sizeof name) != 0)
            return -1;
        c->default_qos = find(r->qos_by_name, c->nqos, name);
        if (c->default_qos < 0) {
            fail(r, v[T_DEFAULT_QOS], "field default_qos: no QOS named \"%s\"", name);
            return -1;
        }
    }
    return 0;
}

/* Reports a libyaml error (syntax, bad encoding, out of memory). */
static void fail_yaml(const reader *r, const yaml_parser_t *p, const char *buf, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fail_line(r, 1, "out of memory");
        return;
    }
    int64_t line = (int64_t)p->problem_mark.line + 1;
    if (p->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += buf[i] == '\n';
    }
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context)
        fail_line(r, line, "yaml: %s (%s started on line %zu)", problem, p->context,
                  p->context_mark.line + 1);
    else
        fail_line(r, line, "yaml: %s", problem);
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
    center_desc_init(c);
}

int center_yaml_parse(const char *buf, size_t len, const char *fname, center_desc *out,
                      char *err, size_t errlen)
{
    reader r = {.fname = fname ? fname : "<input>", .err = err, .errlen = errlen, .c = out};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!buf)
        buf = "", len = 0;
    if (!yaml_parser_initialize(&parser)) {
        fail_line(&r, 1, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        fail_yaml(&r, &parser, buf, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    r.doc = &doc;
    rc = read_center(&r);
    if (rc == 0) {
        if (!yaml_parser_load(&parser, &extra)) {
            fail_yaml(&r, &parser, buf, len);
            rc = -1;
        } else {
            const yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root) {
                fail(&r, root, "yaml: a second document; a center file holds one");
                rc = -1;
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(r.seen);
    free(r.acc_by_name);
    free(r.qos_by_name);
    free(r.preempt);
    return rc;
}
