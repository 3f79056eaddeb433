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
#include "yaml_read.h"

#include <inttypes.h>
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

/* Defaults for what a node leaves out: a typical GPU server. */
#define DEFAULT_CPUS_PER_GPU 8
#define DEFAULT_MEMORY_GB_PER_GPU 256

typedef struct reader {
    yr_ctx y; /* the document and where errors go (yaml_read.h) */
    cluster_desc *c;
    size_t pools_cap, blocks_cap, nodes_cap;
    int64_t *node_lines; /* parallel to c->nodes, for duplicate reports */
    yr_named *pools_by_name;  /* sorted, built once the pools are read */
    yr_named *blocks_by_name; /* sorted, built once the blocks are read */
} reader;

/* ---- sections --------------------------------------------------------- */

enum { POOL_NAME, POOL_MODEL, POOL_GPU_MEMORY_GB, POOL_CHARGE_RATE, POOL_NKEYS };
static const char *const pool_keys[POOL_NKEYS] = {"name", "model", "gpu_memory_gb",
                                                  "charge_rate"};

static int read_pools(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "pools", &items, &n) != 0)
        return -1;
    if (n > 0) {
        cluster_pool *pools = yr_reserve(c->pools, n, &r->pools_cap, sizeof *c->pools);
        if (!pools)
            return yr_out_of_memory(&r->y, section);
        c->pools = pools;
    }
    r->pools_by_name = malloc((n ? n : 1) * sizeof *r->pools_by_name);
    if (!r->pools_by_name)
        return yr_out_of_memory(&r->y, section);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[POOL_NKEYS];
        cluster_pool *p = &c->pools[c->npools];
        int64_t mem;
        memset(p, 0, sizeof *p);
        if (!item || yr_read_mapping(&r->y, item, "a pool", pool_keys, POOL_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[POOL_NAME], "name", "a pool", 1, 1, p->name,
                        sizeof p->name) != 0 ||
            yr_get_text(&r->y, item, v[POOL_MODEL], "model", "a pool", 0, 0, p->model,
                        sizeof p->model) != 0 ||
            yr_get_int(&r->y, item, v[POOL_GPU_MEMORY_GB], "gpu_memory_gb", "a pool", 1,
                       GPU_MEMORY_GB_MAX, 0, 0, &mem) != 0 ||
            yr_get_real(&r->y, item, v[POOL_CHARGE_RATE], "charge_rate", "a pool", CHARGE_RATE_MAX,
                        0, 1.0, &p->charge_rate) != 0)
            return -1;
        if (p->model[0] == '\0')
            memcpy(p->model, p->name, sizeof p->model);
        p->gpu_mem_gb = (int32_t)mem;
        r->pools_by_name[i] = (yr_named){p->name, yr_line_of(item), (int32_t)i};
        c->npools++;
    }
    return yr_sort_unique(&r->y, r->pools_by_name, c->npools, "pool");
}

/* Appends a node; line is where it was defined, for duplicate reports. */
static int push_node(reader *r, const cluster_node *nd, int64_t line)
{
    cluster_desc *c = r->c;
    size_t cap = r->nodes_cap;
    cluster_node *nodes = yr_reserve(c->nodes, c->nnodes + 1, &cap, sizeof *c->nodes);
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
_Static_assert(BLOCK_NKEYS <= YR_MAX_KEYS, "YR_MAX_KEYS must cover a block's keys");
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

    if (yr_get_int(&r->y, item, v[BLOCK_NODES], "nodes", what, 1, NODES_MAX, 1, 0, &count) != 0 ||
        yr_get_text(&r->y, item, v[BLOCK_POOL], "pool", what, 1, 1, pool_name, sizeof pool_name) !=
            0 ||
        yr_get_int(&r->y, item, v[BLOCK_GPUS_PER_NODE], "gpus_per_node", what, 1, GPUS_PER_NODE_MAX,
                   1, 0, &gpus) != 0 ||
        yr_get_int(&r->y, item, v[BLOCK_CPUS_PER_NODE], "cpus_per_node", what, 1, CPUS_PER_NODE_MAX,
                   0, DEFAULT_CPUS_PER_GPU * gpus, &cpus) != 0 ||
        yr_get_int(&r->y, item, v[BLOCK_MEMORY_GB_PER_NODE], "memory_gb_per_node", what, 1,
                   MEMORY_GB_MAX, 0, DEFAULT_MEMORY_GB_PER_GPU * gpus, &mem_gb) != 0 ||
        yr_get_text(&r->y, item, v[BLOCK_NAME_PREFIX], "name_prefix", what, 0, 1, prefix,
                    sizeof prefix) != 0)
        return -1;
    int32_t pool = yr_find(r->pools_by_name, c->npools, pool_name);
    if (pool < 0) {
        yr_fail(&r->y, v[BLOCK_POOL], "field pool: no pool named \"%s\"", pool_name);
        return -1;
    }
    if (!v[BLOCK_NAME_PREFIX]) {
        int n = snprintf(prefix, sizeof prefix, "%s-n", c->blocks[block].name);
        if (n < 0 || (size_t)n >= sizeof prefix) {
            yr_fail(&r->y, v[BLOCK_NAME],
                    "field name: too long to derive node names; give name_prefix");
            return -1;
        }
    }
    /* The longest generated name must fit: check it once, up front. */
    char longest[2 * TRACE_NAMELEN];
    snprintf(longest, sizeof longest, "%s%03" PRId64, prefix, count - 1);
    if (strlen(longest) >= TRACE_NAMELEN) {
        yr_fail(&r->y, v[BLOCK_NAME_PREFIX] ? v[BLOCK_NAME_PREFIX] : v[BLOCK_NAME],
                "field name_prefix: node names such as \"%s\" would be longer than %d characters",
                longest, TRACE_NAMELEN - 1);
        return -1;
    }
    if ((int64_t)c->nnodes + count > NODES_MAX) {
        yr_fail(&r->y, v[BLOCK_NODES], "field nodes: the cluster would have more than %d nodes",
                NODES_MAX);
        return -1;
    }
    int64_t line = yr_line_of(v[BLOCK_NODES]);
    for (int64_t i = 0; i < count; i++) {
        cluster_node nd = {.pool = pool,
                           .block = block,
                           .gpus = (int32_t)gpus,
                           .cpus = (int32_t)cpus,
                           .mem_mb = mem_gb * 1024};
        /* Cannot truncate (checked above); the test keeps it visible. */
        int len = snprintf(nd.name, sizeof nd.name, "%s%03" PRId64, prefix, i);
        if (len < 0 || (size_t)len >= sizeof nd.name) {
            yr_fail(&r->y, item, "field name_prefix: node name too long");
            return -1;
        }
        if (push_node(r, &nd, line) != 0)
            return yr_out_of_memory(&r->y, item);
    }
    return 0;
}

static int read_blocks(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "blocks", &items, &n) != 0)
        return -1;
    if (n > 0) {
        cluster_block *blocks = yr_reserve(c->blocks, n, &r->blocks_cap, sizeof *c->blocks);
        if (!blocks)
            return yr_out_of_memory(&r->y, section);
        c->blocks = blocks;
    }
    r->blocks_by_name = malloc((n ? n : 1) * sizeof *r->blocks_by_name);
    if (!r->blocks_by_name)
        return yr_out_of_memory(&r->y, section);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[BLOCK_NKEYS];
        cluster_block *b = &c->blocks[c->nblocks];
        memset(b, 0, sizeof *b);
        if (!item || yr_read_mapping(&r->y, item, "a block", block_keys, BLOCK_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[BLOCK_NAME], "name", "a block", 1, 1, b->name,
                        sizeof b->name) != 0 ||
            yr_get_text(&r->y, item, v[BLOCK_SPINE], "spine", "a block", 0, 1, b->spine,
                        sizeof b->spine) != 0)
            return -1;
        r->blocks_by_name[i] = (yr_named){b->name, yr_line_of(item), (int32_t)i};
        c->nblocks++;
        if (v[BLOCK_NODES]) {
            if (generate_nodes(r, item, v, (int32_t)i) != 0)
                return -1;
            continue;
        }
        /* Node settings without a count would silently do nothing. */
        for (int k = BLOCK_POOL; k < BLOCK_NKEYS; k++) {
            if (v[k]) {
                yr_fail(&r->y, v[k], "field %s: only meaningful with nodes (the count of nodes to "
                              "generate)", block_keys[k]);
                return -1;
            }
        }
    }
    return yr_sort_unique(&r->y, r->blocks_by_name, c->nblocks, "block");
}

enum { NODE_NAME, NODE_POOL, NODE_BLOCK, NODE_GPUS, NODE_CPUS, NODE_MEMORY_GB, NODE_NKEYS };
static const char *const node_keys[NODE_NKEYS] = {"name", "pool", "block",
                                                  "gpus", "cpus", "memory_gb"};

static int read_nodes(reader *r, const yaml_node_t *section)
{
    cluster_desc *c = r->c;
    yaml_node_item_t *items;
    size_t n;
    if (yr_read_list(&r->y, section, "nodes", &items, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yaml_document_get_node(r->y.doc, items[i]);
        const yaml_node_t *v[NODE_NKEYS];
        const char *what = "a node";
        char pool[TRACE_NAMELEN], block[TRACE_NAMELEN];
        int64_t gpus, cpus, mem_gb;
        cluster_node nd;
        memset(&nd, 0, sizeof nd);
        if (!item || yr_read_mapping(&r->y, item, what, node_keys, NODE_NKEYS, v) != 0 ||
            yr_get_text(&r->y, item, v[NODE_NAME], "name", what, 1, 1, nd.name, sizeof nd.name) !=
                0 ||
            yr_get_text(&r->y, item, v[NODE_POOL], "pool", what, 1, 1, pool, sizeof pool) != 0 ||
            yr_get_text(&r->y, item, v[NODE_BLOCK], "block", what, 0, 1, block, sizeof block) !=
                0 ||
            yr_get_int(&r->y, item, v[NODE_GPUS], "gpus", what, 1, GPUS_PER_NODE_MAX, 1, 0,
                       &gpus) != 0 ||
            yr_get_int(&r->y, item, v[NODE_CPUS], "cpus", what, 1, CPUS_PER_NODE_MAX, 0,
                       DEFAULT_CPUS_PER_GPU * gpus, &cpus) != 0 ||
            yr_get_int(&r->y, item, v[NODE_MEMORY_GB], "memory_gb", what, 1, MEMORY_GB_MAX, 0,
                       DEFAULT_MEMORY_GB_PER_GPU * gpus, &mem_gb) != 0)
            return -1;
        nd.pool = yr_find(r->pools_by_name, c->npools, pool);
        if (nd.pool < 0) {
            yr_fail(&r->y, v[NODE_POOL], "field pool: no pool named \"%s\"", pool);
            return -1;
        }
        nd.block = -1;
        if (block[0]) {
            nd.block = yr_find(r->blocks_by_name, c->nblocks, block);
            if (nd.block < 0) {
                yr_fail(&r->y, v[NODE_BLOCK], "field block: no block named \"%s\"", block);
                return -1;
            }
        }
        nd.gpus = (int32_t)gpus;
        nd.cpus = (int32_t)cpus;
        nd.mem_mb = mem_gb * 1024;
        if (c->nnodes >= NODES_MAX) {
            yr_fail(&r->y, item, "field nodes: the cluster would have more than %d nodes",
                    NODES_MAX);
            return -1;
        }
        if (push_node(r, &nd, yr_line_of(item)) != 0)
            return yr_out_of_memory(&r->y, item);
    }
    return 0;
}

/* Node names must be unique across generated and explicit nodes. */
static int check_node_names(reader *r)
{
    cluster_desc *c = r->c;
    yr_named *v = malloc((c->nnodes ? c->nnodes : 1) * sizeof *v);
    if (!v)
        return yr_out_of_memory(&r->y, NULL);
    for (size_t i = 0; i < c->nnodes; i++)
        v[i] = (yr_named){c->nodes[i].name, r->node_lines[i], (int32_t)i};
    int rc = yr_sort_unique(&r->y, v, c->nnodes, "node");
    free(v);
    return rc;
}

enum { TOP_POOLS, TOP_BLOCKS, TOP_NODES, TOP_NKEYS };
static const char *const top_keys[TOP_NKEYS] = {"pools", "blocks", "nodes"};

/* The document (yr_parse's callback; arg is the reader). */
static int read_cluster(void *arg)
{
    reader *r = arg;
    const yaml_node_t *root = yaml_document_get_root_node(r->y.doc);
    const yaml_node_t *v[TOP_NKEYS];
    if (!root) {
        yr_fail_line(&r->y, 1, "field nodes: the cluster has no nodes (the document is empty)");
        return -1;
    }
    if (yr_read_mapping(&r->y, root, "the cluster", top_keys, TOP_NKEYS, v) != 0 ||
        read_pools(r, v[TOP_POOLS]) != 0 || read_blocks(r, v[TOP_BLOCKS]) != 0 ||
        read_nodes(r, v[TOP_NODES]) != 0)
        return -1;
    if (r->c->nnodes == 0) {
        yr_fail(&r->y, root, "field nodes: the cluster has no nodes (give a nodes list, or blocks "
                      "with nodes)");
        return -1;
    }
    return check_node_names(r);
}

int cluster_yaml_parse(const char *buf, size_t len, const char *fname, cluster_desc *out,
                       char *err, size_t errlen)
{
    reader r = {.y = {.fname = fname ? fname : "<input>", .err = err, .errlen = errlen},
                .c = out};
    int rc = yr_parse(&r.y, buf, len, "cluster", read_cluster, &r);
    free(r.node_lines);
    free(r.pools_by_name);
    free(r.blocks_by_name);
    return rc;
}
