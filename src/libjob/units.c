/*
 * units: the small value languages of job options. Durations, memory sizes,
 * array specs and dependency specs, in Slurm's syntax, since that is what
 * users already write in their scripts.
 *
 * The parsers are strict (no blanks, no signs, no trailing junk): a value
 * that is not exactly understood is an error rather than a guess, because a
 * misread time limit or array silently wastes GPU hours. They check only the
 * syntax and overflow; the policy limits (365 days, 64 TiB) are the option
 * layer's, so the message there can say which limit was hit.
 */
#include "jobspec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Beyond these a value is garbage; they also keep every product below
 * INT64_MAX (10^12 s * anything we multiply by, 2^50 MB * 1024). */
#define DURATION_CAP 1000000000000LL
#define MEM_CAP_MB (1LL << 50)
#define JOB_ID_MAX 1000000000000000000LL

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int equal_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b))
            return 0;
    return *a == *b;
}

/* Reads one or more digits at *p into *v, advancing *p. Fails on no digit or
 * a value above cap, checked before each step, so it never overflows. */
static int read_uint(const char **p, int64_t cap, int64_t *v)
{
    const char *s = *p;
    int64_t x = 0;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        int d = *s - '0';
        if (x > (cap - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *p = s;
    *v = x;
    return 0;
}

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void jobspec_quote(char *dst, size_t dstlen, const char *s, size_t n, size_t max)
{
    if (!dst || dstlen < 8)
        return;
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Room for the widest item, an escape, plus the closing quote, the
         * "..." and the NUL. */
        if (i == max || o + 9 > dstlen) {
            if (o + 5 <= dstlen) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

/* ---- durations ------------------------------------------------------- */

int parse_duration(const char *s, int64_t *seconds)
{
    if (!s || !seconds || !*s)
        return -1;
    if (equal_nocase(s, "UNLIMITED") || equal_nocase(s, "infinite")) {
        *seconds = JOBSPEC_TIME_MAX;
        return 0;
    }

    const char *p = s;
    int64_t first;
    if (read_uint(&p, DURATION_CAP, &first) != 0)
        return -1;

    /* "90s", "2h": one number and one unit. */
    if (p[0] && !is_digit(p[0]) && p[0] != ':' && p[0] != '-') {
        if (p[1] != '\0')
            return -1;
        int64_t unit;
        switch (lower(p[0])) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return -1;
        }
        if (first > DURATION_CAP / unit)
            return -1;
        *seconds = first * unit;
        return 0;
    }

    /* Slurm's clock forms. With a day part, the rest counts hours first;
     * without one, a lone number is minutes and three parts are H:M:S. */
    int64_t days = 0, part[3];
    int nparts = 0, has_days = 0;
    if (*p == '-') {
        has_days = 1;
        days = first;
        p++;
        if (read_uint(&p, DURATION_CAP, &part[nparts++]) != 0)
            return -1;
    } else {
        part[nparts++] = first;
    }
    while (*p == ':') {
        if (nparts == 3)
            return -1;
        p++;
        if (read_uint(&p, DURATION_CAP, &part[nparts++]) != 0)
            return -1;
    }
    if (*p != '\0')
        return -1;

    int64_t h = 0, m = 0, sec = 0;
    if (has_days) {
        h = part[0];
        if (nparts > 1)
            m = part[1];
        if (nparts > 2)
            sec = part[2];
        if (h > 23)
            return -1;
    } else if (nparts == 1) {
        m = part[0];
    } else if (nparts == 2) {
        m = part[0];
        sec = part[1];
    } else {
        h = part[0];
        m = part[1];
        sec = part[2];
    }
    /* Only the leading component may exceed its clock range: "90" minutes is
     * a normal way to write it, "1:75:00" is a typo. */
    int leading_is_minutes = !has_days && nparts <= 2;
    if ((!leading_is_minutes && m > 59) || sec > 59)
        return -1;
    if (days > DURATION_CAP / 86400 || h > DURATION_CAP / 3600 || m > DURATION_CAP / 60)
        return -1;
    int64_t total = days * 86400 + h * 3600 + m * 60 + sec;
    if (total > DURATION_CAP)
        return -1;
    *seconds = total;
    return 0;
}

void format_duration(int64_t seconds, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    if (seconds < 0)
        seconds = 0;
    int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
    if (d > 0)
        snprintf(buf, len, "%" PRId64 "-%02" PRId64 ":%02" PRId64 ":%02" PRId64, d, h, m, s);
    else
        snprintf(buf, len, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, h, m, s);
}

/* ---- memory ----------------------------------------------------------- */

int parse_mem_mb(const char *s, int64_t *mb)
{
    if (!s || !mb)
        return -1;
    const char *p = s;
    int64_t v;
    /* Kilobytes may legitimately be 1024 times larger than the MB cap. */
    if (read_uint(&p, MEM_CAP_MB * 1024, &v) != 0)
        return -1;
    int64_t out;
    char unit = p[0] ? lower(p[0]) : 'm';
    if (p[0] && p[1])
        return -1;
    switch (unit) {
    case 'k': out = (v + 1023) / 1024; break; /* a partial MB is still needed */
    case 'm': out = v; break;
    case 'g':
        if (v > MEM_CAP_MB / 1024)
            return -1;
        out = v * 1024;
        break;
    case 't':
        if (v > MEM_CAP_MB / (1024 * 1024))
            return -1;
        out = v * 1024 * 1024;
        break;
    default: return -1;
    }
    if (out > MEM_CAP_MB)
        return -1;
    *mb = out;
    return 0;
}

/* ---- arrays ----------------------------------------------------------- */

/* One element "A", "A-B" or "A-B:STEP" at *p, ending at ',', '%' or the end. */
static int read_range(const char **p, int64_t *a, int64_t *b, int64_t *step, char *err,
                      size_t errlen, const char *spec)
{
    char q[64];
    jobspec_quote(q, sizeof q, spec, strlen(spec), 32);
    if (read_uint(p, JOBSPEC_ARRAY_ID_MAX, a) != 0) {
        fail(err, errlen, "invalid array spec %s: expected a task id 0..%d at offset %zu", q,
             JOBSPEC_ARRAY_ID_MAX, (size_t)(*p - spec));
        return -1;
    }
    *b = *a;
    *step = 1;
    if (**p == '-') {
        (*p)++;
        if (read_uint(p, JOBSPEC_ARRAY_ID_MAX, b) != 0) {
            fail(err, errlen, "invalid array spec %s: expected a task id 0..%d at offset %zu", q,
                 JOBSPEC_ARRAY_ID_MAX, (size_t)(*p - spec));
            return -1;
        }
        if (*b < *a) {
            fail(err, errlen,
                 "invalid array spec %s: range %" PRId64 "-%" PRId64 " ends before it starts", q,
                 *a, *b);
            return -1;
        }
        if (**p == ':') {
            (*p)++;
            if (read_uint(p, JOBSPEC_ARRAY_ID_MAX, step) != 0 || *step < 1) {
                fail(err, errlen, "invalid array spec %s: expected a step 1..%d at offset %zu", q,
                     JOBSPEC_ARRAY_ID_MAX, (size_t)(*p - spec));
                return -1;
            }
        }
    }
    if (**p != '\0' && **p != ',' && **p != '%') {
        fail(err, errlen, "invalid array spec %s: unexpected character at offset %zu", q,
             (size_t)(*p - spec));
        return -1;
    }
    return 0;
}

int parse_array_err(const char *s, int64_t **ids, size_t *n, int32_t *max_running, char *err,
                    size_t errlen)
{
    if (ids)
        *ids = NULL;
    if (n)
        *n = 0;
    if (!s || !ids || !n || !max_running) {
        fail(err, errlen, "invalid arguments");
        return -1;
    }
    if (!*s) {
        fail(err, errlen, "empty array spec");
        return -1;
    }

    /* First pass: validate and count, so a huge range is refused before any
     * memory is spent on it. */
    size_t count = 0;
    const char *p = s;
    for (;;) {
        int64_t a, b, step;
        if (read_range(&p, &a, &b, &step, err, errlen, s) != 0)
            return -1;
        count += (size_t)((b - a) / step + 1);
        if (count > JOBSPEC_ARRAY_TASKS_MAX) {
            char q[64];
            jobspec_quote(q, sizeof q, s, strlen(s), 32);
            fail(err, errlen, "array spec %s: more than %d tasks", q, JOBSPEC_ARRAY_TASKS_MAX);
            return -1;
        }
        if (*p != ',')
            break;
        p++;
    }
    int64_t limit = 0;
    if (*p == '%') {
        p++;
        if (read_uint(&p, JOBSPEC_COUNT_MAX, &limit) != 0 || limit < 1 || *p != '\0') {
            char q[64];
            jobspec_quote(q, sizeof q, s, strlen(s), 32);
            fail(err, errlen, "invalid array spec %s: the %% limit must be a count 1..%d", q,
                 JOBSPEC_COUNT_MAX);
            return -1;
        }
    }

    /* Second pass, over a spec known good now: mark every id in a bitmap
     * of the span the ranges cover, then read the ids back in order. This
     * sorts and merges repeats ("1-5,3") as Slurm's task bitmap does, in
     * O(tasks + span / 64) whatever the order of the ranges. */
    int64_t lo = JOBSPEC_ARRAY_ID_MAX, hi = 0;
    p = s;
    for (;;) {
        int64_t a, b, step;
        read_range(&p, &a, &b, &step, NULL, 0, s);
        if (a < lo)
            lo = a;
        if (b > hi)
            hi = b;
        if (*p != ',')
            break;
        p++;
    }
    size_t words = (size_t)((hi - lo) / 64 + 1);
    uint64_t *bits = calloc(words, sizeof *bits);
    int64_t *v = malloc(count * sizeof *v);
    if (!bits || !v) {
        free(bits);
        free(v);
        fail(err, errlen, "out of memory");
        return -1;
    }
    p = s;
    for (;;) {
        int64_t a, b, step;
        read_range(&p, &a, &b, &step, NULL, 0, s);
        for (int64_t x = a; x <= b; x += step)
            bits[(x - lo) / 64] |= (uint64_t)1 << ((x - lo) % 64);
        if (*p != ',')
            break;
        p++;
    }
    size_t u = 0;
    for (size_t w = 0; w < words; w++)
        for (uint64_t m = bits[w]; m; m &= m - 1)
            v[u++] = lo + (int64_t)(w * 64) + __builtin_ctzll(m);
    free(bits);
    *ids = v;
    *n = u;
    *max_running = (int32_t)limit;
    return 0;
}

int parse_array(const char *s, int64_t **ids, size_t *n, int32_t *max_running)
{
    return parse_array_err(s, ids, n, max_running, NULL, 0);
}

/* ---- dependencies ----------------------------------------------------- */

static const struct {
    const char *name;
    int type;
} dep_types[] = {
    {"afterok", JOB_DEP_AFTEROK},
    {"afterany", JOB_DEP_AFTERANY},
    {"afternotok", JOB_DEP_AFTERNOTOK},
    {"singleton", JOB_DEP_SINGLETON},
};

static const char *dep_name(int type)
{
    for (size_t i = 0; i < sizeof dep_types / sizeof dep_types[0]; i++)
        if (dep_types[i].type == type)
            return dep_types[i].name;
    return NULL;
}

int parse_dependency_err(const char *s, job_dep *deps, size_t max, size_t *n, char *err,
                         size_t errlen)
{
    if (n)
        *n = 0;
    if (!s || !n || (!deps && max > 0)) {
        fail(err, errlen, "invalid arguments");
        return -1;
    }
    if (!*s) {
        fail(err, errlen, "empty dependency spec");
        return -1;
    }
    if (strchr(s, '?')) {
        fail(err, errlen, "'?' (any of the dependencies) is not supported: use ','");
        return -1;
    }
    size_t k = 0;
    const char *p = s;
    for (;;) {
        /* The type runs to ':' or to the end of the element. */
        size_t tl = strcspn(p, ":,");
        char tq[64];
        jobspec_quote(tq, sizeof tq, p, tl, 24);
        int type = 0;
        for (size_t i = 0; i < sizeof dep_types / sizeof dep_types[0]; i++)
            if (strlen(dep_types[i].name) == tl && strncmp(dep_types[i].name, p, tl) == 0)
                type = dep_types[i].type;
        if (!type) {
            static const char *const unsupported[] = {"after", "aftercorr", "afterburstbuffer"};
            for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
                if (strlen(unsupported[i]) == tl && strncmp(unsupported[i], p, tl) == 0) {
                    fail(err, errlen, "dependency type %s is not supported (use afterok, "
                                      "afterany, afternotok or singleton)", tq);
                    return -1;
                }
            fail(err, errlen, "unknown dependency type %s (known: afterok, afterany, "
                              "afternotok, singleton)", tq);
            return -1;
        }
        p += tl;
        if (type == JOB_DEP_SINGLETON) {
            if (*p == ':') {
                fail(err, errlen, "singleton takes no job id");
                return -1;
            }
            if (k == max) {
                fail(err, errlen, "more than %zu dependencies", max);
                return -1;
            }
            deps[k].type = type;
            deps[k].job_id = 0;
            k++;
        } else {
            if (*p != ':') {
                fail(err, errlen, "%s needs at least one job id (%s:ID[:ID...])",
                     dep_name(type), dep_name(type));
                return -1;
            }
            while (*p == ':') {
                p++;
                const char *start = p;
                int64_t id;
                if (read_uint(&p, JOB_ID_MAX, &id) != 0 || id < 1 ||
                    (*p != '\0' && *p != ':' && *p != ',')) {
                    char iq[64];
                    jobspec_quote(iq, sizeof iq, start, strcspn(start, ":,"), 24);
                    fail(err, errlen, "%s: job id %s is not a positive integer", dep_name(type),
                         iq);
                    return -1;
                }
                if (k == max) {
                    fail(err, errlen, "more than %zu dependencies", max);
                    return -1;
                }
                deps[k].type = type;
                deps[k].job_id = id;
                k++;
            }
        }
        if (*p == '\0')
            break;
        /* Only ',' can be here: the loops above stop at ':' only to go on. */
        p++;
        if (*p == '\0') {
            fail(err, errlen, "dependency spec ends with ','");
            return -1;
        }
    }
    *n = k;
    return 0;
}

int parse_dependency(const char *s, job_dep *deps, size_t max, size_t *n)
{
    return parse_dependency_err(s, deps, max, n, NULL, 0);
}

int format_dependency(const job_dep *deps, size_t n, char *buf, size_t len)
{
    if (!buf || len == 0)
        return -1;
    buf[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = dep_name(deps[i].type);
        if (!name)
            goto fail;
        int w;
        if (deps[i].type == JOB_DEP_SINGLETON)
            w = snprintf(buf + o, len - o, "%s%s", i ? "," : "", name);
        else if (i > 0 && deps[i - 1].type == deps[i].type)
            w = snprintf(buf + o, len - o, ":%" PRId64, deps[i].job_id);
        else
            w = snprintf(buf + o, len - o, "%s%s:%" PRId64, i ? "," : "", name, deps[i].job_id);
        if (w < 0 || (size_t)w >= len - o)
            goto fail;
        o += (size_t)w;
    }
    return 0;
fail:
    buf[0] = '\0';
    return -1;
}
