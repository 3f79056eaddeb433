/*
 * cluster_yaml: a GPU cluster described in YAML.
 *
 *   pools:   accelerator kinds (name, model, gpu_memory_gb, charge_rate)
 *   blocks:  NVLink domains or leaf switches (name, spine), each optionally
 *            generating identical nodes (nodes, pool, gpus_per_node,
 *            cpus_per_node, memory_gb_per_node, name_prefix)
 *   nodes:   explicit nodes (name, pool, block, gpus, cpus, memory_gb)
 *
 * The file is loaded with libyaml's document API, which gives random access
 * to the tree and a line for every node: the sections are then read in a
 * fixed order (pools, blocks, nodes) whatever their order in the file, so a
 * node may name a block written after it. Generated nodes come first in the
 * result, block by block, then the explicit nodes in file order.
 *
 * A cluster file is written by hand, so every mistake is reported with the
 * line and key at fault, and nothing is guessed: unknown keys, repeated keys
 * or names, references to nothing and implausible numbers are all errors.
 */
#include "trace.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds beyond which a value is a typo, not a machine. They also keep every
 * int32 field and every product (mem_mb = GB * 1024) far from overflow. */
#define GPUS_PER_NODE_MAX 1024
#define CPUS_PER_NODE_MAX 1000000
#define MEMORY_GB_MAX 1000000    /* 1 PB per node */
#define GPU_MEMORY_GB_MAX 100000 /* 100 TB per accelerator */
#define CHARGE_RATE_MAX 1e6
#define NODES_MAX 1000000        /* per block and in the whole cluster */
#define INT_VALUE_MAX 1000000000000LL

/* Defaults for what a node leaves out: a typical GPU server. */
#define DEFAULT_CPUS_PER_GPU 8
#define DEFAULT_MEMORY_GB_PER_GPU 256

/* A name with the line it was given on; sorted copies of these find repeated
 * names and resolve references in O(n log n). */
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
    cluster_desc *c;
    size_t pools_cap, blocks_cap, nodes_cap;
    int64_t *node_lines; /* parallel to c->nodes, for duplicate reports */
    named *pools_by_name;  /* sorted, built once the pools are read */
    named *blocks_by_name; /* sorted, built once the blocks are read */
} reader;

static int64_t line_of(const yaml_node_t *n)
{
    return n ? (int64_t)n->start_mark.line + 1 : 1;
}

/* Writes "FILE:LINE: message", the line being that of the node at fault. */
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

/* Renders a scalar for an error message: quoted, short, control bytes
 * escaped. */
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

/* YAML's null: an empty plain scalar, "~" or "null" ("key:" with nothing
 * after it). Such a value counts as not given. */
static int is_null(const yaml_node_t *v)
{
    if (!v || v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)v->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* ---- mappings of known keys ------------------------------------------ */

#define MAX_KEYS 8 /* the most keys of any mapping: a block's */

/* Collects the values of a mapping whose keys must come from keys[]. vals[k]
 * is the value of keys[k], or NULL when the key is absent or null. */
static int read_mapping(const reader *r, const yaml_node_t *m, const char *what,
                        const char *const *keys, size_t nkeys, const yaml_node_t **vals)
{
    for (size_t k = 0; k < nkeys; k++)
        vals[k] = NULL;
    if (m->type != YAML_MAPPING_NODE) {
        fail(r, m, "%s: must be a mapping of keys to values", what);
        return -1;
    }
    /* Seen-ness is tracked apart from vals[] so that "gpus:" twice with null
     * values is still a repeated key. */
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
            /* A readable key is shown as written, like a known field name;
             * anything odd is quoted and escaped. */
            if (key->data.scalar.length > 0 && key->data.scalar.length < 40 &&
                strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_-.") == key->data.scalar.length)
                snprintf(got, sizeof got, "%s", name);
            else
                quote(got, sizeof got, key);
            known[0] = '\0';
            for (size_t i = 0; i < nkeys; i++)
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
        if (is_null(val))
            continue;
        vals[k] = val;
    }
    return 0;
}

/* The items of a section; a null section ("blocks:" alone) is empty. */
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

/* ---- scalars ----------------------------------------------------------- */

static int need_scalar(const reader *r, const yaml_node_t *v, const char *field)
{
    if (v->type != YAML_SCALAR_NODE) {
        fail(r, v, "field %s: must be a single value, not a %s", field,
             v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        return -1;
    }
    return 0;
}

/* Reads a decimal integer in [min, max]; an absent value gives dflt, or an
 * error naming the mapping's line when required. Only plain decimal is
 * accepted: YAML 1.1's 0x10, 0o17 and 1_000 are rare in hand-written files
 * and more likely typos than intent. */
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
            x = x * 10 + (s[i] - '0'); /* saturates below: no overflow */
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

/* Reads a finite real number in [0, max]. */
static int get_real(const reader *r, const yaml_node_t *v, const char *field, double max,
                    double dflt, double *out)
{
    if (!v) {
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

/* Reads a text value into dst. Names (is_name) are identifiers that other
 * entries, job traces and reports refer to: they may not hold blanks, ','
 * (the separator of CSV reports) or '|' (the separator of pool lists).
 * Free text (a model) may hold blanks. Control bytes are refused in both. */
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

/* ---- growth and names ------------------------------------------------- */

/* Returns arr (capacity *cap elements of size sz) with room for want >= 1
 * elements, or NULL, arr untouched, when memory runs out. cluster_desc keeps
 * no capacities, so the reader tracks them; the pointer is returned rather
 * than stored through a void ** to stay within C's aliasing rules. */
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

/* Sorts v (n names) and fails on the first repeated name, reporting the later
 * line and the first. */
static int sort_unique(const reader *r, named *v, size_t n, const char *what)
{
    if (n > 0)
        qsort(v, n, sizeof *v, cmp_named);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].name, v[i - 1].name) == 0) {
            fail_line(r, v[i].line, "field name: duplicate %s name \"%s\" (first at line %" PRId64 ")",
                      what, v[i].name, v[i - 1].line);
            return -1;
        }
    }
    return 0;
}

/* Index of the entry called name in a sorted list, or -1. */
static int32_t find(const named *v, size_t n, const char *name)
{
    named key = {name, 0, 0};
    const named *hit = n ? bsearch(&key, v, n, sizeof *v, cmp_name_only) : NULL;
    return hit ? hit->index : -1;
}

static int out_of_memory(const reader *r, const yaml_node_t *at)
{
    fail(r, at, "out of memory");
    return -1;
}

/* ---- sections --------------------------------------------------------- */

enum { POOL_NAME, POOL_MODEL, POOL_GPU_MEMORY_GB, POOL_CHARGE_RATE, POOL_NKEYS };
static const char *const pool_keys[POOL_NKEYS] = {"name", "model", "gpu_memory_gb",
                                                  "charge_rate"};

static int read_pools(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (read_list(r, section, "pools", &items, &n) != 0)
        return -1;
    if (n > 0) {
        cluster_pool *pools = reserve(c->pools, n, &r->pools_cap, sizeof *c->pools);
        if (!pools)
            return out_of_memory(r, section);
        c->pools = pools;
    }
    r->pools_by_name = malloc((n ? n : 1) * sizeof *r->pools_by_name);
    if (!r->pools_by_name)
        return out_of_memory(r, section);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[POOL_NKEYS];
        cluster_pool *p = &c->pools[c->npools];
        int64_t mem;
        memset(p, 0, sizeof *p);
        if (!item || read_mapping(r, item, "a pool", pool_keys, POOL_NKEYS, v) != 0 ||
            get_text(r, item, v[POOL_NAME], "name", "a pool", 1, 1, p->name, sizeof p->name) != 0 ||
            get_text(r, item, v[POOL_MODEL], "model", "a pool", 0, 0, p->model, sizeof p->model) != 0 ||
            get_int(r, item, v[POOL_GPU_MEMORY_GB], "gpu_memory_gb", "a pool", 1,
                    GPU_MEMORY_GB_MAX, 0, 0, &mem) != 0 ||
            get_real(r, v[POOL_CHARGE_RATE], "charge_rate", CHARGE_RATE_MAX, 1.0,
                     &p->charge_rate) != 0)
            return -1;
        if (p->model[0] == '\0')
            memcpy(p->model, p->name, sizeof p->model);
        p->gpu_mem_gb = (int32_t)mem;
        r->pools_by_name[i] = (named){p->name, line_of(item), (int32_t)i};
        c->npools++;
    }
    return sort_unique(r, r->pools_by_name, c->npools, "pool");
}

/* Appends a node; line is where it was defined, for duplicate reports. */
static int push_node(reader *r, const cluster_node *nd, int64_t line)
{
    cluster_desc *c = r->c;
    size_t cap = r->nodes_cap;
    cluster_node *nodes = reserve(c->nodes, c->nnodes + 1, &cap, sizeof *c->nodes);
    if (!nodes)
        return -1;
    c->nodes = nodes;
    if (cap != r->nodes_cap) {
        int64_t *nl = realloc(r->node_lines, cap * sizeof *nl);
        if (!nl)
            return -1;
        r->node_lines = nl;
        r->nodes_cap = cap;
    }
    c->nodes[c->nnodes] = *nd;
    r->node_lines[c->nnodes] = line;
    c->nnodes++;
    return 0;
}

enum {
    BLOCK_NAME,
    BLOCK_SPINE,
    BLOCK_NODES,
    BLOCK_POOL,
    BLOCK_GPUS_PER_NODE,
    BLOCK_CPUS_PER_NODE,
    BLOCK_MEMORY_GB_PER_NODE,
    BLOCK_NAME_PREFIX,
    BLOCK_NKEYS
};
_Static_assert(BLOCK_NKEYS <= MAX_KEYS, "MAX_KEYS must cover a block's keys");
static const char *const block_keys[BLOCK_NKEYS] = {
    "name", "spine", "nodes", "pool", "gpus_per_node", "cpus_per_node", "memory_gb_per_node",
    "name_prefix",
};

/* Generates the nodes of a block: prefix + a 3-digit (or longer) index. */
static int generate_nodes(reader *r, const yaml_node_t *item, const yaml_node_t **v,
                          int32_t block)
{
    cluster_desc *c = r->c;
    int64_t count, gpus, cpus, mem_gb;
    char pool_name[TRACE_NAMELEN], prefix[TRACE_NAMELEN];
    const char *what = "a block with nodes";

    if (get_int(r, item, v[BLOCK_NODES], "nodes", what, 1, NODES_MAX, 1, 0, &count) != 0 ||
        get_text(r, item, v[BLOCK_POOL], "pool", what, 1, 1, pool_name, sizeof pool_name) != 0 ||
        get_int(r, item, v[BLOCK_GPUS_PER_NODE], "gpus_per_node", what, 1, GPUS_PER_NODE_MAX,
                1, 0, &gpus) != 0 ||
        get_int(r, item, v[BLOCK_CPUS_PER_NODE], "cpus_per_node", what, 1, CPUS_PER_NODE_MAX,
                0, DEFAULT_CPUS_PER_GPU * gpus, &cpus) != 0 ||
        get_int(r, item, v[BLOCK_MEMORY_GB_PER_NODE], "memory_gb_per_node", what, 1,
                MEMORY_GB_MAX, 0, DEFAULT_MEMORY_GB_PER_GPU * gpus, &mem_gb) != 0 ||
        get_text(r, item, v[BLOCK_NAME_PREFIX], "name_prefix", what, 0, 1, prefix,
                 sizeof prefix) != 0)
        return -1;
    int32_t pool = find(r->pools_by_name, c->npools, pool_name);
    if (pool < 0) {
        fail(r, v[BLOCK_POOL], "field pool: no pool named \"%s\"", pool_name);
        return -1;
    }
    if (!v[BLOCK_NAME_PREFIX]) {
        int n = snprintf(prefix, sizeof prefix, "%s-n", c->blocks[block].name);
        if (n < 0 || (size_t)n >= sizeof prefix) {
            fail(r, v[BLOCK_NAME], "field name: too long to derive node names; give name_prefix");
            return -1;
        }
    }
    /* The longest generated name must fit: check it once, up front. */
    char longest[2 * TRACE_NAMELEN];
    snprintf(longest, sizeof longest, "%s%03" PRId64, prefix, count - 1);
    if (strlen(longest) >= TRACE_NAMELEN) {
        fail(r, v[BLOCK_NAME_PREFIX] ? v[BLOCK_NAME_PREFIX] : v[BLOCK_NAME],
             "field name_prefix: node names such as \"%s\" would be longer than %d characters",
             longest, TRACE_NAMELEN - 1);
        return -1;
    }
    if ((int64_t)c->nnodes + count > NODES_MAX) {
        fail(r, v[BLOCK_NODES], "field nodes: the cluster would have more than %d nodes",
             NODES_MAX);
        return -1;
    }
    int64_t line = line_of(v[BLOCK_NODES]);
    for (int64_t i = 0; i < count; i++) {
        cluster_node nd = {.pool = pool,
                           .block = block,
                           .gpus = (int32_t)gpus,
                           .cpus = (int32_t)cpus,
                           .mem_mb = mem_gb * 1024};
        /* Cannot truncate (checked above); the test keeps it visible. */
        int len = snprintf(nd.name, sizeof nd.name, "%s%03" PRId64, prefix, i);
        if (len < 0 || (size_t)len >= sizeof nd.name) {
            fail(r, item, "field name_prefix: node name too long");
            return -1;
        }
        if (push_node(r, &nd, line) != 0)
            return out_of_memory(r, item);
    }
    return 0;
}

static int read_blocks(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (read_list(r, section, "blocks", &items, &n) != 0)
        return -1;
    if (n > 0) {
        cluster_block *blocks = reserve(c->blocks, n, &r->blocks_cap, sizeof *c->blocks);
        if (!blocks)
            return out_of_memory(r, section);
        c->blocks = blocks;
    }
    r->blocks_by_name = malloc((n ? n : 1) * sizeof *r->blocks_by_name);
    if (!r->blocks_by_name)
        return out_of_memory(r, section);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[BLOCK_NKEYS];
        cluster_block *b = &c->blocks[c->nblocks];
        memset(b, 0, sizeof *b);
        if (!item || read_mapping(r, item, "a block", block_keys, BLOCK_NKEYS, v) != 0 ||
            get_text(r, item, v[BLOCK_NAME], "name", "a block", 1, 1, b->name, sizeof b->name) != 0 ||
            get_text(r, item, v[BLOCK_SPINE], "spine", "a block", 0, 1, b->spine, sizeof b->spine) != 0)
            return -1;
        r->blocks_by_name[i] = (named){b->name, line_of(item), (int32_t)i};
        c->nblocks++;
        if (v[BLOCK_NODES]) {
            if (generate_nodes(r, item, v, (int32_t)i) != 0)
                return -1;
            continue;
        }
        /* Node settings without a count would silently do nothing. */
        for (int k = BLOCK_POOL; k < BLOCK_NKEYS; k++) {
            if (v[k]) {
                fail(r, v[k], "field %s: only meaningful with nodes (the count of nodes to "
                              "generate)", block_keys[k]);
                return -1;
            }
        }
    }
    return sort_unique(r, r->blocks_by_name, c->nblocks, "block");
}

enum { NODE_NAME, NODE_POOL, NODE_BLOCK, NODE_GPUS, NODE_CPUS, NODE_MEMORY_GB, NODE_NKEYS };
static const char *const node_keys[NODE_NKEYS] = {"name", "pool", "block",
                                                  "gpus", "cpus", "memory_gb"};

static int read_nodes(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (read_list(r, section, "nodes", &items, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->doc, items[i]);
        const yaml_node_t *v[NODE_NKEYS];
        const char *what = "a node";
        char pool[TRACE_NAMELEN], block[TRACE_NAMELEN];
        int64_t gpus, cpus, mem_gb;
        cluster_node nd;
        memset(&nd, 0, sizeof nd);
        if (!item || read_mapping(r, item, what, node_keys, NODE_NKEYS, v) != 0 ||
            get_text(r, item, v[NODE_NAME], "name", what, 1, 1, nd.name, sizeof nd.name) != 0 ||
            get_text(r, item, v[NODE_POOL], "pool", what, 1, 1, pool, sizeof pool) != 0 ||
            get_text(r, item, v[NODE_BLOCK], "block", what, 0, 1, block, sizeof block) != 0 ||
            get_int(r, item, v[NODE_GPUS], "gpus", what, 1, GPUS_PER_NODE_MAX, 1, 0, &gpus) != 0 ||
            get_int(r, item, v[NODE_CPUS], "cpus", what, 1, CPUS_PER_NODE_MAX, 0,
                    DEFAULT_CPUS_PER_GPU * gpus, &cpus) != 0 ||
            get_int(r, item, v[NODE_MEMORY_GB], "memory_gb", what, 1, MEMORY_GB_MAX, 0,
                    DEFAULT_MEMORY_GB_PER_GPU * gpus, &mem_gb) != 0)
            return -1;
        nd.pool = find(r->pools_by_name, c->npools, pool);
        if (nd.pool < 0) {
            fail(r, v[NODE_POOL], "field pool: no pool named \"%s\"", pool);
            return -1;
        }
        nd.block = -1;
        if (block[0]) {
            nd.block = find(r->blocks_by_name, c->nblocks, block);
            if (nd.block < 0) {
                fail(r, v[NODE_BLOCK], "field block: no block named \"%s\"", block);
                return -1;
            }
        }
        nd.gpus = (int32_t)gpus;
        nd.cpus = (int32_t)cpus;
        nd.mem_mb = mem_gb * 1024;
        if (c->nnodes >= NODES_MAX) {
            fail(r, item, "field nodes: the cluster would have more than %d nodes", NODES_MAX);
            return -1;
        }
        if (push_node(r, &nd, line_of(item)) != 0)
            return out_of_memory(r, item);
    }
    return 0;
}

/* Node names must be unique across generated and explicit nodes. */
static int check_node_names(reader *r)
{
    cluster_desc *c = r->c;
    named *v = malloc((c->nnodes ? c->nnodes : 1) * sizeof *v);
    if (!v)
        return out_of_memory(r, NULL);
    for (size_t i = 0; i < c->nnodes; i++)
        v[i] = (named){c->nodes[i].name, r->node_lines[i], (int32_t)i};
    int rc = sort_unique(r, v, c->nnodes, "node");
    free(v);
    return rc;
}

enum { TOP_POOLS, TOP_BLOCKS, TOP_NODES, TOP_NKEYS };
static const char *const top_keys[TOP_NKEYS] = {"pools", "blocks", "nodes"};

static int read_cluster(reader *r)
{
    const yaml_node_t *root = yaml_document_get_root_node(r->doc);
    const yaml_node_t *v[TOP_NKEYS];
    if (!root) {
        fail_line(r, 1, "field nodes: the cluster has no nodes (the document is empty)");
        return -1;
    }
    if (read_mapping(r, root, "the cluster", top_keys, TOP_NKEYS, v) != 0 ||
        read_pools(r, v[TOP_POOLS]) != 0 || read_blocks(r, v[TOP_BLOCKS]) != 0 ||
        read_nodes(r, v[TOP_NODES]) != 0)
        return -1;
    if (r->c->nnodes == 0) {
        fail(r, root, "field nodes: the cluster has no nodes (give a nodes list, or blocks "
                      "with nodes)");
        return -1;
    }
    return check_node_names(r);
}

/* Reports a libyaml error (syntax, bad encoding, out of memory). */
static void fail_yaml(const reader *r, const yaml_parser_t *p, const char *buf, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fail_line(r, 1, "out of memory");
        return;
    }
    int64_t line = (int64_t)p->problem_mark.line + 1;
    /* Encoding errors carry a byte offset, not a mark: count the lines. */
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

int cluster_yaml_parse(const char *buf, size_t len, const char *fname, cluster_desc *out,
                       char *err, size_t errlen)
{
    reader r = {.fname = fname ? fname : "<input>", .err = err, .errlen = errlen, .c = out};
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int rc = -1;

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
    rc = read_cluster(&r);
    /* A second document would be silently ignored: refuse it. Only looked
     * for once the first is valid, so the first error found is reported. */
    if (rc == 0) {
        if (!yaml_parser_load(&parser, &extra)) {
            fail_yaml(&r, &parser, buf, len);
            rc = -1;
        } else {
            const yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root) {
                fail(&r, root, "yaml: a second document; a cluster file holds one");
                rc = -1;
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(r.node_lines);
    free(r.pools_by_name);
    free(r.blocks_by_name);
    return rc;
}
