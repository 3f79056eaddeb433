/*
 * gpucsv: the project's own GPU job trace, a CSV file.
 *
 * The first line that is neither blank nor a '#' comment is the header; it
 * names the columns in any order. Required: id, submit, run, gpus. Optional:
 * time_limit, nodes, gpus_per_node, cpus_per_gpu, mem_per_gpu_mb, pool, user,
 * account, qos. Fields are separated by commas with no quoting (no value of
 * this format needs a comma); blanks around a field are ignored, and so is a
 * CR before the newline, so files edited on Windows read the same.
 *
 * Unlike SWF, this format is written by people and by our own tools, so the
 * reader is strict: a negative time, a number with trailing junk, an unknown
 * column or a short line is an error naming the file, line and field, rather
 * than a job silently dropped later by the simulator.
 */
#include "csvline.h"
#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Counts stored in int32 fields stay below this, so nodes * gpus_per_node
 * cannot overflow either. */
#define COUNT_MAX 1000000000LL
#define GPUS_PER_NODE_MAX 1024

enum column {
    COL_ID,
    COL_SUBMIT,
    COL_RUN,
    COL_GPUS,
    COL_TIME_LIMIT,
    COL_NODES,
    COL_GPUS_PER_NODE,
    COL_CPUS_PER_GPU,
    COL_MEM_PER_GPU_MB,
    COL_POOL,
    COL_USER,
    COL_ACCOUNT,
    COL_QOS,
    NCOLUMNS
};

static const char *const column_names[NCOLUMNS] = {
    "id",   "submit", "run",     "gpus", "time_limit", "nodes", "gpus_per_node",
    "cpus_per_gpu", "mem_per_gpu_mb", "pool", "user", "account", "qos",
};

static int span_eq(span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* Length of the longest prefix of s made of characters in set. */
static size_t span_prefix(span s, const char *set)
{
    size_t i = 0;
    while (i < s.n && s.p[i] != '\0' && strchr(set, s.p[i]))
        i++;
    return i;
}

/* The phrase naming what an integer field accepts, for error messages. */
static const char *kind_of(int64_t min)
{
    return min == 1 ? "a positive integer" : min == 0 ? "a non-negative integer" : "an integer";
}

/* The per-line reading state: the header's column map and the current
 * line's fields. */
typedef struct row {
    int index[NCOLUMNS]; /* field position of each column, -1 if absent */
    span field[NCOLUMNS];
} row;

static span cell(const row *r, enum column c)
{
    return r->index[c] < 0 ? (span){"", 0} : r->field[r->index[c]];
}

/* Reads an integer column. An absent or empty field gives dflt, or an error
 * when the column is required. *given tells the caller which happened. */
static int get_int(const where *w, const row *r, enum column c, int64_t min,
                   int64_t max, int required, int64_t dflt, int64_t *out,
                   int *given)
{
    span s = cell(r, c);
    char got[160];
    if (given)
        *given = s.n > 0;
    if (s.n == 0) {
        if (required) {
            csv_fail(w, "field %s: required, got an empty value", column_names[c]);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    int64_t v;
    csv_quote(got, sizeof got, s);
    if (csv_parse_int(s, &v) != 0) {
        csv_fail(w, "field %s: must be %s, got %s", column_names[c], kind_of(min), got);
        return -1;
    }
    if (v < min) {
        if (min >= 0)
            csv_fail(w, "field %s: must be %s, got %s", column_names[c], kind_of(min), got);
        else
            csv_fail(w, "field %s: must be at least %" PRId64 ", got %s", column_names[c],
                 min, got);
        return -1;
    }
    if (v > max) {
        csv_fail(w, "field %s: must be at most %" PRId64 ", got %s", column_names[c], max,
             got);
        return -1;
    }
    *out = v;
    return 0;
}

/* Copies a text column into dst (size dstlen, NUL-terminated). Control bytes
 * are refused: they would corrupt every report that prints the name. */
static int get_text(const where *w, const row *r, enum column c, char *dst,
                    size_t dstlen)
{
    span s = cell(r, c);
    char got[160];
    csv_quote(got, sizeof got, s);
    if (s.n >= dstlen) {
        csv_fail(w, "field %s: longer than %zu characters, got %s", column_names[c],
             dstlen - 1, got);
        return -1;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < 0x20 || ch == 0x7f) {
            csv_fail(w, "field %s: contains a control character, got %s", column_names[c],
                 got);
            return -1;
        }
    }
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return 0;
}

/* Maps header names to column positions. */
static int read_header(const where *w, span line, row *r)
{
    /* One slot more than there are columns: a header that long must hold an
     * unknown or repeated name by then, which the loop reports. */
    span names[NCOLUMNS + 1];
    size_t n = csv_split(line, names, NCOLUMNS + 1);
    if (n > NCOLUMNS + 1)
        n = NCOLUMNS + 1;
    for (int c = 0; c < NCOLUMNS; c++)
        r->index[c] = -1;
    for (size_t i = 0; i < n; i++) {
        char got[160];
        int c = 0;
        while (c < NCOLUMNS && !span_eq(names[i], column_names[c]))
            c++;
        /* A readable name is shown as written; anything odd is quoted. */
        if (names[i].n < 40 && names[i].n == span_prefix(names[i], "abcdefghijklmnopqrstuvwxyz"
                                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                  "0123456789_-."))
            snprintf(got, sizeof got, "%.*s", (int)names[i].n, names[i].p);
        else
            csv_quote(got, sizeof got, names[i]);
        if (c == NCOLUMNS) {
            if (names[i].n == 0)
                csv_fail(w, "header: empty column name in position %zu", i + 1);
            else
                csv_fail(w, "field %s: unknown column (known: id, submit, run, gpus, "
                        "time_limit, nodes, gpus_per_node, cpus_per_gpu, "
                        "mem_per_gpu_mb, pool, user, account, qos)",
                     got);
            return -1;
        }
        if (r->index[c] >= 0) {
            csv_fail(w, "field %s: column named twice in the header", column_names[c]);
            return -1;
        }
        r->index[c] = (int)i;
    }
    for (int c = COL_ID; c <= COL_GPUS; c++) {
        if (r->index[c] < 0) {
            csv_fail(w, "field %s: required column missing from the header",
                 column_names[c]);
            return -1;
        }
    }
    return 0;
}

/* Turns one data row into a job, applying the defaults and the checks that
 * span several fields (the gang shape). */
static int read_job(const where *w, const row *r, trace_job *j)
{
    int64_t v, nodes, gpn, gpus, time_limit;
    int gpus_given;
    memset(j, 0, sizeof *j);
    j->line = w->line;
    j->gpu_milli = 1000;

    if (get_int(w, r, COL_ID, -VALUE_MAX, VALUE_MAX, 1, 0, &j->id, NULL) != 0 ||
        get_int(w, r, COL_SUBMIT, 0, VALUE_MAX, 1, 0, &j->submit, NULL) != 0 ||
        get_int(w, r, COL_RUN, 0, VALUE_MAX, 1, 0, &j->run, NULL) != 0 ||
        get_int(w, r, COL_TIME_LIMIT, -VALUE_MAX, VALUE_MAX, 0, 0, &time_limit, NULL) != 0 ||
        get_int(w, r, COL_NODES, 0, COUNT_MAX, 0, 0, &nodes, NULL) != 0 ||
        get_int(w, r, COL_GPUS_PER_NODE, 0, GPUS_PER_NODE_MAX, 0, 0, &gpn, NULL) != 0)
        return -1;
    /* A time limit that is absent or not positive means "no better guess than
     * the run time", the usual convention of trace archives. */
    j->estimate = time_limit > 0 ? time_limit : j->run;

    /* gpus may be left empty only when the gang shape gives it. */
    int gpus_required = !(nodes > 0 && gpn > 0);
    if (get_int(w, r, COL_GPUS, 1, COUNT_MAX, gpus_required, 0, &gpus, &gpus_given) != 0) {
        if (gpus_required && cell(r, COL_GPUS).n == 0 && nodes > 0)
            csv_fail(w, "field gpus: required unless both nodes and gpus_per_node are given");
        return -1;
    }
    if (nodes > 0 && gpn > 0) {
        if (nodes * gpn > COUNT_MAX) {
            csv_fail(w, "field nodes: nodes * gpus_per_node = %" PRId64 " is more than %lld",
                 nodes * gpn, COUNT_MAX);
            return -1;
        }
        if (gpus_given && gpus != nodes * gpn) {
            csv_fail(w, "field gpus: %" PRId64 " does not equal nodes * gpus_per_node = %" PRId64,
                 gpus, nodes * gpn);
            return -1;
        }
        gpus = nodes * gpn;
    } else if (nodes > 0 && gpus < nodes) {
        csv_fail(w, "field gpus: %" PRId64 " GPUs cannot span %" PRId64 " nodes", gpus, nodes);
        return -1;
    } else if (gpn > 0 && nodes == 0) {
        csv_fail(w, "field gpus_per_node: given without nodes");
        return -1;
    }
    j->gpus = (int32_t)gpus;
    j->nodes = (int32_t)nodes;
    j->gpus_per_node = (int32_t)gpn;

    if (get_int(w, r, COL_CPUS_PER_GPU, 0, COUNT_MAX, 0, 0, &v, NULL) != 0)
        return -1;
    j->cpus_per_gpu = (int32_t)v;
    if (get_int(w, r, COL_MEM_PER_GPU_MB, 0, VALUE_MAX, 0, 0, &j->mem_per_gpu_mb, NULL) != 0)
        return -1;
    if (get_int(w, r, COL_USER, 0, UINT32_MAX, 0, 0, &v, NULL) != 0)
        return -1;
    j->user = (uint32_t)v;
    if (get_text(w, r, COL_POOL, j->pool, sizeof j->pool) != 0 ||
        csv_check_pool_list(w, "pool", "pool name", j->pool) != 0 ||
        get_text(w, r, COL_ACCOUNT, j->account, sizeof j->account) != 0 ||
        get_text(w, r, COL_QOS, j->qos, sizeof j->qos) != 0)
        return -1;
    return 0;
}

int gpucsv_parse(const char *buf, size_t len, const char *fname, trace *out,
                 char *err, size_t errlen)
{
    where w = {fname ? fname : "<input>", err, errlen, 0};
    row r;
    int have_header = 0;
    size_t ncols = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!buf)
        buf = "", len = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        span line = csv_trim((span){p, (size_t)((nl ? nl : end) - p)});
        p = nl ? nl + 1 : end;
        w.line++;
        if (line.n == 0 || line.p[0] == '#')
            continue;
        if (!have_header) {
            if (read_header(&w, line, &r) != 0)
                return -1;
            ncols = 0;
            for (int c = 0; c < NCOLUMNS; c++)
                ncols += r.index[c] >= 0;
            have_header = 1;
            continue;
        }
        size_t n = csv_split(line, r.field, NCOLUMNS);
        if (n != ncols) {
            csv_fail(&w, "expected %zu fields as in the header, got %zu", ncols, n);
            return -1;
        }
        trace_job j;
        if (read_job(&w, &r, &j) != 0)
            return -1;
        if (trace_push(out, &j) != 0) {
            csv_fail(&w, "out of memory");
            return -1;
        }
    }
    if (!have_header) {
        w.line = w.line > 0 ? w.line : 1;
        csv_fail(&w, "header: missing (expected a line such as \"id,submit,run,gpus\")");
        return -1;
    }
    return 0;
}
