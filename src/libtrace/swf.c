/*
 * swf.c: the Standard Workload Format reader (classic model).
 *
 * One pass over the buffer, O(bytes). Fields are split on blanks; only the
 * fields the classic model uses (1, 2, 4, 5, 8, 9) must be numbers, the rest
 * are counted. Fractional values are truncated toward zero.
 */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWF_FIELDS 18

static const char *const swf_field_names[SWF_FIELDS + 1] = {
    "", "job_id", "submit_time", "wait_time", "run_time", "allocated_procs",
    "avg_cpu_time", "used_memory", "requested_procs", "requested_time",
    "requested_memory", "status", "user_id", "group_id", "executable",
    "queue", "partition", "preceding_job", "think_time"};

/* Parse a number [s, e) as a double, then truncate. Accepts what strtod
 * accepts (integers, decimals, exponents); rejects trailing junk, NaN, inf
 * and magnitudes beyond 2^53 (no SWF value is that large). */
static int parse_num(const char *s, const char *e, int64_t *out)
{
    char tmp[64];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end != tmp + n || errno == ERANGE || !isfinite(v) || fabs(v) > 9007199254740992.0)
        return -1;
    *out = (int64_t)v; /* truncation toward zero */
    return 0;
}

/* Read "MaxProcs: N" style headers from a comment line. */
static void parse_header(const char *s, const char *e, trace *out)
{
    static const struct { const char *key; int which; } keys[] = {
        {"MaxProcs:", 0}, {"MaxNodes:", 1}};
    for (size_t k = 0; k < 2; k++) {
        size_t kl = strlen(keys[k].key);
        for (const char *p = s; p + kl <= e; p++) {
            if (memcmp(p, keys[k].key, kl) != 0)
                continue;
            const char *v = p + kl;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = v;
            while (ve < e && !isspace((unsigned char)*ve))
                ve++;
            int64_t n;
            if (parse_num(v, ve, &n) == 0) {
                if (keys[k].which == 0)
                    out->max_procs = n;
                else
                    out->max_nodes = n;
            }
            break;
        }
    }
}

int swf_parse(const char *buf, size_t len, const char *fname, trace *out,
              char *err, size_t errlen)
{
    const char *p = buf, *end = buf + len;
    int64_t lineno = 0;
    while (p < end) {
        const char *ls = p;
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le)
            le = end;
        p = le < end ? le + 1 : end;
        lineno++;

        const char *q = ls;
        while (q < le && isspace((unsigned char)*q))
            q++;
        if (q == le)
            continue; /* empty or white space only */
        if (*q == ';') {
            parse_header(q + 1, le, out);
            continue;
        }

        /* split into fields */
        const char *fs[SWF_FIELDS + 1], *fe[SWF_FIELDS + 1];
        int nf = 0;
        while (q < le) {
            while (q < le && isspace((unsigned char)*q))
                q++;
            if (q == le)
                break;
            const char *s = q;
            while (q < le && !isspace((unsigned char)*q))
                q++;
            nf++;
            if (nf <= SWF_FIELDS) {
                fs[nf] = s;
                fe[nf] = q;
            }
        }
        if (nf < SWF_FIELDS) {
            snprintf(err, errlen, "%s:%lld: expected %d fields, found %d",
                     fname, (long long)lineno, SWF_FIELDS, nf);
            return -1;
        }
        static const int used[] = {1, 2, 4, 5, 8, 9};
        int64_t v[SWF_FIELDS + 1] = {0};
        for (size_t i = 0; i < sizeof used / sizeof used[0]; i++) {
            int f = used[i];
            if (parse_num(fs[f], fe[f], &v[f]) != 0) {
                snprintf(err, errlen, "%s:%lld: field %d (%s): not a number: \"%.*s\"",
                         fname, (long long)lineno, f, swf_field_names[f],
                         (int)(fe[f] - fs[f] > 32 ? 32 : fe[f] - fs[f]), fs[f]);
                return -1;
            }
        }
        trace_job j;
        memset(&j, 0, sizeof j);
        j.id = v[1];
        j.submit = v[2];
        j.run = v[4];
        int64_t size = v[8] > 0 ? v[8] : v[5];
        if (size > INT32_MAX)
            size = INT32_MAX; /* larger than any machine: dropped later */
        if (size < INT32_MIN)
            size = -1;
        j.gpus = (int32_t)size;
        j.estimate = v[9] > 0 ? v[9] : v[4];
        /* user and group are informative: a non-number there is not an error */
        if (parse_num(fs[12], fe[12], &v[12]) == 0 && v[12] > 0 && v[12] <= UINT32_MAX)
            j.user = (uint32_t)v[12];
        if (parse_num(fs[13], fe[13], &v[13]) == 0 && v[13] > 0 && v[13] <= UINT32_MAX)
            j.group = (uint32_t)v[13];
        j.gpu_milli = 1000;
        j.line = lineno;
        if (trace_push(out, &j) != 0) {
            snprintf(err, errlen, "%s:%lld: out of memory", fname, (long long)lineno);
            return -1;
        }
    }
    return 0;
}
