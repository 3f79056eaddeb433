/*
 * alibaba: readers of the Alibaba cluster-trace-gpu-v2023 files (the
 * "openb" traces of alibaba/clusterdata).
 *
 *   openb_node_list_*.csv  sn,cpu_milli,memory_mib,gpu,model
 *   openb_pod_list_*.csv   name,cpu_milli,memory_mib,num_gpu,gpu_milli,
 *                          gpu_spec,qos,pod_phase,creation_time,
 *                          deletion_time,scheduled_time
 *
 * The header is required and maps columns by name, so a reordered file reads
 * the same; columns we do not use are ignored, since this is a third-party
 * format that may grow. Fields hold no commas and no quotes in any published
 * file, so no quoting is supported. Times are seconds from the trace start.
 */
#include "csvline.h"
#include "trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPUS_PER_NODE_MAX 1024
#define POD_GPUS_MAX 1000000
/* Nodes of one model are grouped this many to a block, standing in for the
 * rack or leaf switch that the trace does not record. */
#define NODES_PER_BLOCK 16
/* Real headers have 5 or 11 columns; anything wider is not this format. */
#define MAX_FIELDS 64

/* A parsed line: the header's column map and the current line's fields.
 * names[] is the format's column list; index[] is -1 for a column absent
 * from the header. */
typedef struct row {
    const char *const *names;
    int index[MAX_FIELDS];
    span field[MAX_FIELDS];
    size_t nfields; /* fields per line, from the header */
} row;

static span cell(const row *r, int c)
{
    return r->index[c] < 0 ? (span){"", 0} : r->field[r->index[c]];
}

/* Reads an integer column in [0, max]. Empty gives *present = 0 (and an
 * error when required). */
static int get_uint(const where *w, const row *r, int c, int64_t max, int required,
                    int64_t *out, int *present)
{
    span s = cell(r, c);
    char got[160];
    *out = 0;
    if (present)
        *present = s.n > 0;
    if (s.n == 0) {
        if (required) {
            csv_fail(w, "field %s: required, got an empty value", r->names[c]);
            return -1;
        }
        return 0;
    }
    int64_t v;
    csv_quote(got, sizeof got, s);
    if (csv_parse_int(s, &v) != 0 || v < 0) {
        csv_fail(w, "field %s: must be a non-negative integer, got %s", r->names[c], got);
        return -1;
    }
    if (v > max) {
        csv_fail(w, "field %s: must be at most %" PRId64 ", got %s", r->names[c], max, got);
        return -1;
    }
    *out = v;
    return 0;
}

/* Copies a text column into dst; control bytes are refused because every
 * report prints these names. */
static int get_text(const where *w, const row *r, int c, char *dst, size_t dstlen)
{
    span s = cell(r, c);
    char got[160];
    csv_quote(got, sizeof got, s);
    if (s.n >= dstlen) {
        csv_fail(w, "field %s: longer than %zu characters, got %s", r->names[c], dstlen - 1,
             got);
        return -1;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < 0x20 || ch == 0x7f) {
            csv_fail(w, "field %s: contains a control character, got %s", r->names[c], got);
            return -1;
        }
    }
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return 0;
}

/* Walks the buffer line by line. Returns the next non-blank line in *line
 * and advances *p and w->line, or returns 0 at the end. */
static int next_line(const char **p, const char *end, where *w, span *line)
{
    while (*p < end) {
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        *line = csv_trim((span){*p, (size_t)((nl ? nl : end) - *p)});
        *p = nl ? nl + 1 : end;
        w->line++;
        if (line->n > 0)
            return 1;
    }
    return 0;
}

/* Maps the header onto the format's columns. Every column is required except
 * those flagged optional; unknown names are ignored. */
static int read_header(where *w, const char **p, const char *end, row *r,
                       const char *const *names, int ncols, const int *optional)
{
    span line, hdr[MAX_FIELDS];
    r->names = names;
    if (!next_line(p, end, w, &line)) {
        w->line = w->line > 0 ? w->line : 1;
        csv_fail(w, "header: missing (expected a line naming the columns, such as \"%s,...\")",
             names[0]);
        return -1;
    }
    size_t n = csv_split(line, hdr, MAX_FIELDS);
    if (n > MAX_FIELDS) {
        csv_fail(w, "header: %zu columns, more than %d", n, MAX_FIELDS);
        return -1;
    }
    r->nfields = n;
    for (int c = 0; c < ncols; c++) {
        r->index[c] = -1;
        for (size_t i = 0; i < n; i++) {
            if (hdr[i].n == strlen(names[c]) && memcmp(hdr[i].p, names[c], hdr[i].n) == 0) {
                if (r->index[c] >= 0) {
                    csv_fail(w, "field %s: column named twice in the header", names[c]);
                    return -1;
                }
                r->index[c] = (int)i;
            }
        }
        if (r->index[c] < 0 && !optional[c]) {
            csv_fail(w, "field %s: required column missing from the header", names[c]);
            return -1;
        }
    }
    return 0;
}

/* Reads the next data line into r->field; 0 at the end, -1 on error. */
static int read_row(where *w, const char **p, const char *end, row *r)
{
    span line;
    if (!next_line(p, end, w, &line))
        return 0;
    size_t n = csv_split(line, r->field, MAX_FIELDS);
    if (n != r->nfields) {
        csv_fail(w, "expected %zu fields as in the header, got %zu", r->nfields, n);
        return -1;
    }
    return 1;
}

/* ---- nodes ------------------------------------------------------------ */

enum node_column { N_SN, N_CPU_MILLI, N_MEMORY_MIB, N_GPU, N_MODEL, N_NCOLS };
static const char *const node_columns[N_NCOLS] = {"sn", "cpu_milli", "memory_mib", "gpu",
                                                  "model"};
static const int node_optional[N_NCOLS] = {0};

/* Growable arrays of the result. cluster_desc carries no capacities, so the
 * reader keeps them here while it fills the arrays. */
typedef struct builder {
    cluster_desc *c;
    size_t pools_cap, blocks_cap, nodes_cap;
    struct pool_state {
        size_t nodes;  /* nodes of the pool so far, to cut blocks */
        int32_t block; /* the pool's open block */
    } *pool_state;     /* parallel to c->pools */
    int64_t *node_lines; /* per node: source line, for duplicate reports */
} builder;

/* Returns arr (n elements of size sz, capacity *cap) with room for one
 * more, or NULL, arr untouched, when memory runs out. The pointer is
 * returned rather than stored through a void ** to stay within C's aliasing
 * rules. */
static void *grow(void *arr, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(arr, ncap * sz);
    if (p)
        *cap = ncap;
    return p;
}

/* The pool of a model, created on first sight. Pools are few (one per GPU
 * model), so a linear search is the simple and fast choice. */
static int pool_of(builder *b, const char *model, int32_t *pool)
{
    cluster_desc *c = b->c;
    for (size_t i = 0; i < c->npools; i++) {
        if (strcmp(c->pools[i].name, model) == 0) {
            *pool = (int32_t)i;
            return 0;
        }
    }
    size_t cap = b->pools_cap;
    cluster_pool *pools = grow(c->pools, c->npools, &cap, sizeof *c->pools);
    if (!pools)
        return -1;
    c->pools = pools;
    /* pool_state is parallel to pools and grows with the same capacity. */
    if (cap != b->pools_cap) {
        struct pool_state *ps = realloc(b->pool_state, cap * sizeof *ps);
        if (!ps)
            return -1;
        b->pool_state = ps;
        b->pools_cap = cap;
    }
    cluster_pool *pl = &c->pools[c->npools];
    memset(pl, 0, sizeof *pl);
    snprintf(pl->name, sizeof pl->name, "%s", model);
    snprintf(pl->model, sizeof pl->model, "%s", model);
    pl->charge_rate = 1.0;
    b->pool_state[c->npools].nodes = 0;
    b->pool_state[c->npools].block = -1;
    *pool = (int32_t)c->npools++;
    return 0;
}

typedef struct named {
    const char *name;
    int64_t line;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

/* Node names must be unique. Sorting copies of (name, line) finds repeats in
 * O(n log n) and names the later line, the one to fix. */
static int check_unique_nodes(where *w, const builder *b)
{
    const cluster_desc *c = b->c;
    if (c->nnodes < 2)
        return 0;
    named *v = malloc(c->nnodes * sizeof *v);
    if (!v) {
        csv_fail(w, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->nnodes; i++)
        v[i] = (named){c->nodes[i].name, b->node_lines[i]};
    qsort(v, c->nnodes, sizeof *v, cmp_named);
    for (size_t i = 1; i < c->nnodes; i++) {
        if (strcmp(v[i].name, v[i - 1].name) == 0) {
            w->line = v[i].line;
            csv_fail(w, "field sn: duplicate node \"%s\" (first at line %" PRId64 ")", v[i].name,
                 v[i - 1].line);
            free(v);
            return -1;
        }
    }
    free(v);
    return 0;
}

/* Adds one GPU node, cutting a new block every NODES_PER_BLOCK nodes of its
 * model. */
static int add_node(where *w, builder *b, const char *sn, const char *model, int64_t cpu_milli,
                    int64_t mem_mib, int64_t gpus)
{
    cluster_desc *c = b->c;
    int32_t pool;
    if (pool_of(b, model, &pool) != 0)
        goto oom;
    size_t k = b->pool_state[pool].nodes++;
    if (k % NODES_PER_BLOCK == 0) {
        cluster_block *blocks = grow(c->blocks, c->nblocks, &b->blocks_cap, sizeof *c->blocks);
        if (!blocks)
            goto oom;
        c->blocks = blocks;
        cluster_block *bl = &c->blocks[c->nblocks];
        memset(bl, 0, sizeof *bl);
        int n = snprintf(bl->name, sizeof bl->name, "%s-b%zu", model, k / NODES_PER_BLOCK);
        if (n < 0 || (size_t)n >= sizeof bl->name) {
            csv_fail(w, "field model: \"%s\" is too long to name its blocks", model);
            return -1;
        }
        b->pool_state[pool].block = (int32_t)c->nblocks++;
    }
    size_t cap = b->nodes_cap;
    cluster_node *nodes = grow(c->nodes, c->nnodes, &cap, sizeof *c->nodes);
    if (!nodes)
        goto oom;
    c->nodes = nodes;
    if (cap != b->nodes_cap) {
        int64_t *nl = realloc(b->node_lines, cap * sizeof *nl);
        if (!nl)
            goto oom;
        b->node_lines = nl;
        b->nodes_cap = cap;
    }
    cluster_node *nd = &c->nodes[c->nnodes];
    memset(nd, 0, sizeof *nd);
    snprintf(nd->name, sizeof nd->name, "%s", sn);
    nd->pool = pool;
    nd->block = b->pool_state[pool].block;
    nd->gpus = (int32_t)gpus;
    nd->cpus = (int32_t)(cpu_milli / 1000);
    nd->mem_mb = mem_mib;
    b->node_lines[c->nnodes] = w->line;
    c->nnodes++;
    return 0;
oom:
    csv_fail(w, "out of memory");
    return -1;
}

int alibaba_nodes_parse(const char *buf, size_t len, const char *fname, cluster_desc *out,
                        char *err, size_t errlen)
{
    where w = {fname ? fname : "<input>", err, errlen, 0};
    builder b = {.c = out};
    row r;
    int rc = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!buf)
        buf = "", len = 0;
    const char *p = buf, *end = buf + len;
    if (read_header(&w, &p, end, &r, node_columns, N_NCOLS, node_optional) != 0)
        goto done;
    for (;;) {
        int got = read_row(&w, &p, end, &r);
        if (got < 0)
            goto done;
        if (got == 0)
            break;
        char sn[TRACE_NAMELEN], model[TRACE_NAMELEN];
        int64_t cpu_milli, mem_mib, gpus;
        if (get_text(&w, &r, N_SN, sn, sizeof sn) != 0 ||
            get_uint(&w, &r, N_CPU_MILLI, VALUE_MAX, 1, &cpu_milli, NULL) != 0 ||
            get_uint(&w, &r, N_MEMORY_MIB, VALUE_MAX, 1, &mem_mib, NULL) != 0 ||
            get_uint(&w, &r, N_GPU, GPUS_PER_NODE_MAX, 1, &gpus, NULL) != 0 ||
            get_text(&w, &r, N_MODEL, model, sizeof model) != 0)
            goto done;
        if (sn[0] == '\0') {
            csv_fail(&w, "field sn: required, got an empty value");
            goto done;
        }
        /* CPU-only nodes do not exist for a GPU scheduler. */
        if (gpus == 0)
            continue;
        if (model[0] == '\0') {
            csv_fail(&w, "field model: required for a node with GPUs, got an empty value");
            goto done;
        }
        if (strchr(model, '|')) {
            csv_fail(&w, "field model: '|' separates pool names, got \"%s\"", model);
            goto done;
        }
        if (add_node(&w, &b, sn, model, cpu_milli, mem_mib, gpus) != 0)
            goto done;
    }
    if (out->nnodes == 0) {
        w.line = w.line > 0 ? w.line : 1;
        csv_fail(&w, "field gpu: no node with GPUs in the file");
        goto done;
    }
    rc = check_unique_nodes(&w, &b);
done:
    free(b.pool_state);
    free(b.node_lines);
    return rc;
}

/* ---- pods ------------------------------------------------------------- */

enum pod_column {
    P_NAME,
    P_CPU_MILLI,
    P_MEMORY_MIB,
    P_NUM_GPU,
    P_GPU_MILLI,
    P_GPU_SPEC,
    P_QOS,
    P_POD_PHASE,
    P_CREATION_TIME,
    P_DELETION_TIME,
    P_SCHEDULED_TIME,
    P_NCOLS
};
static const char *const pod_columns[P_NCOLS] = {
    "name",     "cpu_milli",     "memory_mib",    "num_gpu",       "gpu_milli",
    "gpu_spec", "qos",           "pod_phase",     "creation_time", "deletion_time",
    "scheduled_time",
};
/* gpu_spec, qos and pod_phase only refine a pod; the rest define it. */
static const int pod_optional[P_NCOLS] = {[P_GPU_SPEC] = 1, [P_QOS] = 1, [P_POD_PHASE] = 1};

/* The job id is the number that ends the pod name ("openb-pod-0042" -> 42):
 * the names are unique and the number keeps their order. */
static int pod_id(const where *w, const row *r, int64_t *id)
{
    span s = cell(r, P_NAME);
    char got[160];
    size_t i = s.n;
    while (i > 0 && s.p[i - 1] >= '0' && s.p[i - 1] <= '9')
        i--;
    csv_quote(got, sizeof got, s);
    if (s.n == 0) {
        csv_fail(w, "field name: required, got an empty value");
        return -1;
    }
    if (i == s.n) {
        csv_fail(w, "field name: must end in a number (the pod id), got %s", got);
        return -1;
    }
    if (csv_parse_int((span){s.p + i, s.n - i}, id) != 0 || *id > VALUE_MAX) {
        csv_fail(w, "field name: pod number must be at most %lld, got %s", VALUE_MAX, got);
        return -1;
    }
    return 0;
}

static int read_pod(const where *w, const row *r, trace_job *j)
{
    int64_t cpu_milli, mem_mib, ngpu, milli, created, deleted, scheduled;
    int has_deleted, has_scheduled;
    memset(j, 0, sizeof *j);
    j->line = w->line;
    if (pod_id(w, r, &j->id) != 0 ||
        get_uint(w, r, P_CPU_MILLI, VALUE_MAX, 1, &cpu_milli, NULL) != 0 ||
        get_uint(w, r, P_MEMORY_MIB, VALUE_MAX, 1, &mem_mib, NULL) != 0 ||
        get_uint(w, r, P_NUM_GPU, POD_GPUS_MAX, 1, &ngpu, NULL) != 0 ||
        get_uint(w, r, P_GPU_MILLI, 1000, 1, &milli, NULL) != 0 ||
        get_uint(w, r, P_CREATION_TIME, VALUE_MAX, 1, &created, NULL) != 0 ||
        get_uint(w, r, P_DELETION_TIME, VALUE_MAX, 0, &deleted, &has_deleted) != 0 ||
        get_uint(w, r, P_SCHEDULED_TIME, VALUE_MAX, 0, &scheduled, &has_scheduled) != 0 ||
        get_text(w, r, P_GPU_SPEC, j->pool, sizeof j->pool) != 0 ||
        csv_check_pool_list(w, "gpu_spec", "GPU model", j->pool) != 0 || get_text(w, r, P_QOS, j->qos, sizeof j->qos) != 0)
        return -1;

    j->submit = created;
    /* A scheduled pod ran from scheduling to deletion. A pod never scheduled
     * (Pending to the end) still occupied the queue until deleted; replaying
     * it as a job of that length keeps the offered load of the trace. A pod
     * not yet deleted when the trace was cut has no known length: 0. A
     * negative length (clock skew) is kept: the simulator drops it. */
    if (!has_deleted)
        j->run = 0;
    else if (has_scheduled)
        j->run = deleted - scheduled;
    else
        j->run = deleted - created;
    j->estimate = j->run;

    /* Pods without GPUs keep gpus = 0 so the simulator can drop them and
     * count them; a fractional pod asks for one GPU and a share of it. */
    j->gpus = (int32_t)ngpu;
    j->gpu_milli = ngpu == 0 ? 0 : milli == 0 ? 1000 : (int32_t)milli;
    int64_t per = ngpu > 0 ? ngpu : 1;
    j->cpus_per_gpu = (int32_t)((cpu_milli + 1000 * per - 1) / (1000 * per));
    j->mem_per_gpu_mb = mem_mib / per;
    return 0;
}

int alibaba_pods_parse(const char *buf, size_t len, const char *fname, trace *out, char *err,
                       size_t errlen)
{
    where w = {fname ? fname : "<input>", err, errlen, 0};
    row r;

    if (err && errlen)
        err[0] = '\0';
    if (!buf)
        buf = "", len = 0;
    const char *p = buf, *end = buf + len;
    if (read_header(&w, &p, end, &r, pod_columns, P_NCOLS, pod_optional) != 0)
        return -1;
    for (;;) {
        int got = read_row(&w, &p, end, &r);
        if (got <= 0)
            return got;
        trace_job j;
        if (read_pod(&w, &r, &j) != 0)
            return -1;
        if (trace_push(out, &j) != 0) {
            csv_fail(&w, "out of memory");
            return -1;
        }
    }
}
