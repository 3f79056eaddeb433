/* Unit tests of the YAML cluster reader (src/libtrace/cluster_yaml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static int parse(const char *text, cluster_desc *c, char *err)
{
    return cluster_yaml_parse(text, strlen(text), "t.yaml", c, err, TRACE_ERRLEN);
}

static void test_full(void **state)
{
    (void)state;
    const char *text = "# a cluster\n"                   /* 1 */
                       "nodes:\n"                        /* 2: before the blocks */
                       "  - name: gpu001\n"              /* 3 */
                       "    pool: h100\n"
                       "    block: blk1\n"
                       "    gpus: 8\n"
                       "    cpus: 112\n"
                       "    memory_gb: 2048\n"
                       "  - {name: gpu002, pool: \"h200\", gpus: 4}\n"
                       "pools:\n"
                       "  - name: h100\n"
                       "    model: H100-80G\n"
                       "    gpu_memory_gb: 80\n"
                       "    charge_rate: 1.5\n"
                       "  - name: h200\n"
                       "blocks:\n"
                       "  - name: blk0\n"
                       "    spine: spine0\n"
                       "    nodes: 2\n"
                       "    pool: h200\n"
                       "    gpus_per_node: 8\n"
                       "  - name: blk1\n"
                       "  - name: blk2\n"
                       "    nodes: 1\n"
                       "    pool: h100\n"
                       "    gpus_per_node: 4\n"
                       "    cpus_per_node: 96\n"
                       "    memory_gb_per_node: 512\n"
                       "    name_prefix: x-\n";
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(err, "");

    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[0].name, "h100");
    assert_string_equal(c.pools[0].model, "H100-80G");
    assert_int_equal(c.pools[0].gpu_mem_gb, 80);
    assert_true(c.pools[0].charge_rate == 1.5);
    assert_string_equal(c.pools[1].name, "h200");
    assert_string_equal(c.pools[1].model, "h200"); /* default = name */
    assert_int_equal(c.pools[1].gpu_mem_gb, 0);
    assert_true(c.pools[1].charge_rate == 1.0);

    assert_int_equal(c.nblocks, 3);
    assert_string_equal(c.blocks[0].name, "blk0");
    assert_string_equal(c.blocks[0].spine, "spine0");
    assert_string_equal(c.blocks[1].name, "blk1");
    assert_string_equal(c.blocks[1].spine, "");
    assert_string_equal(c.blocks[2].name, "blk2");

    /* Generated nodes first, block by block, then the explicit ones. */
    assert_int_equal(c.nnodes, 5);
    const cluster_node *n = &c.nodes[0];
    assert_string_equal(n->name, "blk0-n000");
    assert_int_equal(n->pool, 1);
    assert_int_equal(n->block, 0);
    assert_int_equal(n->gpus, 8);
    assert_int_equal(n->cpus, 64);              /* 8 per GPU */
    assert_int_equal(n->mem_mb, 8 * 256 * 1024); /* 256 GB per GPU */
    assert_string_equal(c.nodes[1].name, "blk0-n001");
    n = &c.nodes[2];
    assert_string_equal(n->name, "x-000");
    assert_int_equal(n->pool, 0);
    assert_int_equal(n->block, 2);
    assert_int_equal(n->gpus, 4);
    assert_int_equal(n->cpus, 96);
    assert_int_equal(n->mem_mb, 512 * 1024);
    n = &c.nodes[3];
    assert_string_equal(n->name, "gpu001");
    assert_int_equal(n->pool, 0);
    assert_int_equal(n->block, 1);
    assert_int_equal(n->gpus, 8);
    assert_int_equal(n->cpus, 112);
    assert_int_equal(n->mem_mb, 2048 * 1024);
    n = &c.nodes[4];
    assert_string_equal(n->name, "gpu002");
    assert_int_equal(n->pool, 1);
    assert_int_equal(n->block, -1);
    assert_int_equal(n->gpus, 4);
    assert_int_equal(n->cpus, 32);
    assert_int_equal(n->mem_mb, 4 * 256 * 1024);
    cluster_desc_free(&c);
}

static void test_many_generated_names(void **state)
{
    (void)state;
    /* Past 999 the index simply grows a digit. */
    const char *text = "pools: [{name: p}]\n"
                       "blocks: [{name: b, nodes: 1001, pool: p, gpus_per_node: 1}]\n"
                       "nodes:\n";
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nnodes, 1001);
    assert_string_equal(c.nodes[999].name, "b-n999");
    assert_string_equal(c.nodes[1000].name, "b-n1000");
    cluster_desc_free(&c);
}

static void test_anchors_and_null_sections(void **state)
{
    (void)state;
    /* YAML anchors may share a node shape; empty sections are allowed. */
    const char *text = "pools:\n"
                       "  - name: p\n"
                       "blocks:\n"
                       "nodes:\n"
                       "  - &n {name: a, pool: p, gpus: 2}\n"
                       "  - {name: b, pool: p, gpus: 2}\n";
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nnodes, 2);
    assert_int_equal(c.nblocks, 0);
    cluster_desc_free(&c);
}

/* examples/cluster-small.yaml, found from $GPUFLEET_TESTDATA (the
 * repository's tests/data) or from the repository root or build dir. */
static void test_example_small(void **state)
{
    (void)state;
    const char *env = getenv("GPUFLEET_TESTDATA");
    char path[4096], err[TRACE_ERRLEN], *buf = NULL;
    size_t len = 0;
    const char *tries[3] = {NULL, "examples/cluster-small.yaml", "../examples/cluster-small.yaml"};
    if (env) {
        snprintf(path, sizeof path, "%s/../../examples/cluster-small.yaml", env);
        tries[0] = path;
    }
    for (int i = 0; i < 3 && !buf; i++)
        if (tries[i] && trace_slurp(tries[i], &buf, &len, err, sizeof err) != 0)
            buf = NULL;
    if (!buf)
        fail_msg("cannot find examples/cluster-small.yaml; set GPUFLEET_TESTDATA");
    cluster_desc c;
    cluster_desc_init(&c);
    if (cluster_yaml_parse(buf, len, "cluster-small.yaml", &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.npools, 3);
    assert_int_equal(c.nblocks, 5);
    assert_int_equal(c.nnodes, 19);
    int gpus = 0, per_pool[3] = {0};
    for (size_t i = 0; i < c.nnodes; i++) {
        gpus += c.nodes[i].gpus;
        per_pool[c.nodes[i].pool] += c.nodes[i].gpus;
    }
    assert_int_equal(gpus, 152);
    assert_int_equal(per_pool[0], 64);
    assert_int_equal(per_pool[1], 64);
    assert_int_equal(per_pool[2], 24);
    assert_string_equal(c.nodes[12].name, "h200-000");
    assert_string_equal(c.nodes[18].name, "npu003");
    assert_int_equal(c.nodes[18].block, 4);
    assert_int_equal(c.nodes[18].cpus, 64);
    assert_true(c.pools[1].charge_rate == 1.4);
    cluster_desc_free(&c);
    free(buf);
}

static void test_no_err_buffer(void **state)
{
    (void)state;
    cluster_desc c;
    cluster_desc_init(&c);
    assert_int_equal(cluster_yaml_parse(NULL, 0, NULL, &c, NULL, 0), -1);
    assert_int_equal(cluster_yaml_parse("x: [", 4, NULL, &c, NULL, 0), -1);
    cluster_desc_free(&c);
}

/* ---- bad inputs: each must fail with a message naming line and field ---- */

struct bad_case {
    const char *input;
    const char *want;
};

static void run_bad(void **state)
{
    const struct bad_case *bc = *state;
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    int rc = parse(bc->input, &c, err);
    cluster_desc_free(&c);
    if (rc != -1)
        fail_msg("accepted, want error \"%s\"", bc->want);
    if (!strstr(err, bc->want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, bc->want);
}

#define BAD(name, in, want) {"bad_" #name, run_bad, NULL, NULL, &(struct bad_case){in, want}}
/* A valid start: pools on lines 1-3, so a node list starts on line 4. */
#define P "pools:\n  - name: h100\n  - name: h200\n"
#define NODE1 "nodes:\n  - name: n1\n    pool: h100\n    gpus: 8\n" /* lines 4-7 */

int main(void)
{
    /* Automatic, not static: the cases are compound literals of main. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_many_generated_names),
        cmocka_unit_test(test_anchors_and_null_sections),
        cmocka_unit_test(test_example_small),
        cmocka_unit_test(test_no_err_buffer),
        BAD(empty, "", "t.yaml:1: field nodes: the cluster has no nodes"),
        BAD(comment_only, "# nothing\n", "t.yaml:1: field nodes: the cluster has no nodes"),
        BAD(no_nodes, P "blocks:\n  - name: b\n", "t.yaml:1: field nodes: the cluster has no nodes"),
        BAD(empty_node_list, P "nodes: []\n", "field nodes: the cluster has no nodes"),
        BAD(syntax, P "nodes: [\n", "t.yaml:5: yaml: "),
        BAD(tab_indent, P "nodes:\n\t- name: x\n", "t.yaml:5: yaml: "),
        BAD(bad_utf8, P "nodes:\n  - name: \xff\xfe\n", "t.yaml:5: yaml: invalid leading UTF-8 octet"),
        BAD(top_list, "- a\n- b\n", "t.yaml:1: the cluster: must be a mapping"),
        BAD(top_scalar, "hello\n", "t.yaml:1: the cluster: must be a mapping"),
        BAD(unknown_top_key, P "pool:\n  - name: x\n",
            "t.yaml:4: field pool: unknown key in the cluster (known: pools, blocks, nodes)"),
        BAD(repeated_top_key, P "pools: []\n", "t.yaml:4: field pools: key given twice"),
        BAD(pools_not_list, "pools: 3\n", "t.yaml:1: field pools: must be a list"),
        BAD(pool_not_mapping, "pools:\n  - h100\n", "t.yaml:2: a pool: must be a mapping"),
        BAD(pool_unknown_key, "pools:\n  - name: h100\n    colour: green\n",
            "t.yaml:3: field colour: unknown key in a pool (known: name, model, gpu_memory_gb, "
            "charge_rate)"),
        BAD(pool_odd_key, "pools:\n  - name: h100\n    \"a b\": 1\n",
            "t.yaml:3: field \"a b\": unknown key in a pool"),
        BAD(pool_complex_key, "pools:\n  - name: h100\n    ? [a]\n    : 1\n",
            "t.yaml:3: a pool: keys must be plain words"),
        BAD(pool_no_name, "pools:\n  - model: X\n", "t.yaml:2: field name: required in a pool"),
        BAD(pool_empty_name, "pools:\n  - name: \"\"\n", "t.yaml:2: field name: must not be empty"),
        BAD(pool_null_name, "pools:\n  - name:\n", "t.yaml:2: field name: required in a pool"),
        BAD(pool_duplicate, "pools:\n  - name: a\n  - name: b\n  - name: a\n",
            "t.yaml:4: field name: duplicate pool name \"a\" (first at line 2)"),
        BAD(pool_name_blank, "pools:\n  - name: a b\n",
            "t.yaml:2: field name: a name may not contain blanks, ',' or '|', got \"a b\""),
        BAD(pool_name_bar, "pools:\n  - name: a|b\n", "t.yaml:2: field name: a name may not"),
        BAD(pool_name_too_long,
            "pools:\n  - name: "
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            "t.yaml:2: field name: longer than 63 characters"),
        BAD(pool_name_nul, "pools:\n  - name: \"a\\0b\"\n",
            "t.yaml:2: field name: contains a control character, got \"a\\x00b\""),
        BAD(pool_name_list, "pools:\n  - name: [a]\n",
            "t.yaml:2: field name: must be a single value, not a list"),
        BAD(pool_charge_negative, "pools:\n  - name: a\n    charge_rate: -1\n",
            "t.yaml:3: field charge_rate: must be a non-negative number, got \"-1\""),
        BAD(pool_charge_junk, "pools:\n  - name: a\n    charge_rate: cheap\n",
            "t.yaml:3: field charge_rate: must be a non-negative number, got \"cheap\""),
        BAD(pool_charge_inf, "pools:\n  - name: a\n    charge_rate: 1e999\n",
            "t.yaml:3: field charge_rate: must be a non-negative number"),
        BAD(pool_charge_nan, "pools:\n  - name: a\n    charge_rate: nan\n",
            "t.yaml:3: field charge_rate: must be a non-negative number"),
        BAD(pool_charge_big, "pools:\n  - name: a\n    charge_rate: 2e6\n",
            "t.yaml:3: field charge_rate: must be at most 1e+06"),
        BAD(pool_memory_zero, "pools:\n  - name: a\n    gpu_memory_gb: 0\n",
            "t.yaml:3: field gpu_memory_gb: must be a positive integer, got \"0\""),
        BAD(pool_memory_hex, "pools:\n  - name: a\n    gpu_memory_gb: 0x50\n",
            "t.yaml:3: field gpu_memory_gb: must be a positive integer, got \"0x50\""),
        BAD(node_gpus_negative, P NODE1 "  - name: n2\n    pool: h100\n    gpus: -3\n",
            "t.yaml:10: field gpus: must be a positive integer, got \"-3\""),
        BAD(node_gpus_zero, P "nodes:\n  - {name: n, pool: h100, gpus: 0}\n",
            "t.yaml:5: field gpus: must be a positive integer, got \"0\""),
        BAD(node_gpus_fraction, P "nodes:\n  - {name: n, pool: h100, gpus: 8.5}\n",
            "t.yaml:5: field gpus: must be a positive integer, got \"8.5\""),
        BAD(node_gpus_absurd, P "nodes:\n  - {name: n, pool: h100, gpus: 1025}\n",
            "t.yaml:5: field gpus: must be at most 1024, got \"1025\""),
        BAD(node_gpus_huge, P "nodes:\n  - {name: n, pool: h100, gpus: 99999999999999999999}\n",
            "t.yaml:5: field gpus: must be at most 1024"),
        BAD(node_gpus_missing, P "nodes:\n  - name: n\n    pool: h100\n",
            "t.yaml:5: field gpus: required in a node"),
        BAD(node_gpus_twice, P "nodes:\n  - name: n\n    pool: h100\n    gpus: 8\n    gpus: 4\n",
            "t.yaml:8: field gpus: key given twice in a node"),
        BAD(node_cpus_zero, P "nodes:\n  - {name: n, pool: h100, gpus: 8, cpus: 0}\n",
            "t.yaml:5: field cpus: must be a positive integer"),
        BAD(node_memory_negative, P "nodes:\n  - {name: n, pool: h100, gpus: 8, memory_gb: -1}\n",
            "t.yaml:5: field memory_gb: must be a positive integer"),
        BAD(node_memory_absurd,
            P "nodes:\n  - {name: n, pool: h100, gpus: 8, memory_gb: 1000001}\n",
            "t.yaml:5: field memory_gb: must be at most 1000000"),
        BAD(node_no_name, P "nodes:\n  - {pool: h100, gpus: 8}\n",
            "t.yaml:5: field name: required in a node"),
        BAD(node_no_pool, P "nodes:\n  - {name: n, gpus: 8}\n",
            "t.yaml:5: field pool: required in a node"),
        BAD(node_unknown_pool, P NODE1 "  - name: n2\n    pool: a100\n    gpus: 8\n",
            "t.yaml:9: field pool: no pool named \"a100\""),
        BAD(node_unknown_block, P "nodes:\n  - name: n\n    pool: h100\n    block: b9\n    gpus: 8\n",
            "t.yaml:7: field block: no block named \"b9\""),
        BAD(node_unknown_key, P "nodes:\n  - name: n\n    pool: h100\n    gpu: 8\n",
            "t.yaml:7: field gpu: unknown key in a node"),
        BAD(node_duplicate, P NODE1 "  - name: n2\n    pool: h100\n    gpus: 8\n"
                                    "  - name: n1\n    pool: h200\n    gpus: 8\n",
            "t.yaml:11: field name: duplicate node name \"n1\" (first at line 5)"),
        BAD(node_duplicate_generated,
            P "blocks:\n  - {name: b, nodes: 2, pool: h100, gpus_per_node: 8}\n"
              "nodes:\n  - {name: b-n001, pool: h100, gpus: 8}\n",
            "t.yaml:7: field name: duplicate node name \"b-n001\" (first at line 5)"),
        BAD(node_not_mapping, P "nodes:\n  - n1\n", "t.yaml:5: a node: must be a mapping"),
        BAD(nodes_mapping, P "nodes:\n  n1: 8\n", "t.yaml:5: field nodes: must be a list"),
        BAD(block_no_name, P "blocks:\n  - spine: s\n", "t.yaml:5: field name: required in a block"),
        BAD(block_duplicate, P "blocks:\n  - name: b\n  - name: c\n  - name: b\n",
            "t.yaml:7: field name: duplicate block name \"b\" (first at line 5)"),
        BAD(block_unknown_key, P "blocks:\n  - name: b\n    switch: s\n",
            "t.yaml:6: field switch: unknown key in a block"),
        BAD(block_nodes_zero, P "blocks:\n  - {name: b, nodes: 0, pool: h100, gpus_per_node: 8}\n",
            "t.yaml:5: field nodes: must be a positive integer, got \"0\""),
        BAD(block_nodes_absurd,
            P "blocks:\n  - {name: b, nodes: 1000001, pool: h100, gpus_per_node: 8}\n",
            "t.yaml:5: field nodes: must be at most 1000000"),
        BAD(block_nodes_word, P "blocks:\n  - {name: b, nodes: many, pool: h100, gpus_per_node: 8}\n",
            "t.yaml:5: field nodes: must be a positive integer, got \"many\""),
        BAD(block_nodes_no_pool, P "blocks:\n  - name: b\n    nodes: 4\n    gpus_per_node: 8\n",
            "t.yaml:5: field pool: required in a block with nodes"),
        BAD(block_nodes_no_gpus, P "blocks:\n  - name: b\n    nodes: 4\n    pool: h100\n",
            "t.yaml:5: field gpus_per_node: required in a block with nodes"),
        BAD(block_nodes_unknown_pool,
            P "blocks:\n  - name: b\n    nodes: 4\n    pool: x\n    gpus_per_node: 8\n",
            "t.yaml:7: field pool: no pool named \"x\""),
        BAD(block_gpus_per_node_absurd,
            P "blocks:\n  - {name: b, nodes: 1, pool: h100, gpus_per_node: 2048}\n",
            "t.yaml:5: field gpus_per_node: must be at most 1024"),
        BAD(block_cpus_zero,
            P "blocks:\n  - {name: b, nodes: 1, pool: h100, gpus_per_node: 8, cpus_per_node: 0}\n",
            "t.yaml:5: field cpus_per_node: must be a positive integer"),
        BAD(block_memory_junk,
            P "blocks:\n  - {name: b, nodes: 1, pool: h100, gpus_per_node: 8, "
              "memory_gb_per_node: 2T}\n",
            "t.yaml:5: field memory_gb_per_node: must be a positive integer, got \"2T\""),
        BAD(block_pool_without_nodes, P "blocks:\n  - name: b\n    pool: h100\n",
            "t.yaml:6: field pool: only meaningful with nodes"),
        BAD(block_prefix_without_nodes, P "blocks:\n  - name: b\n    name_prefix: x\n",
            "t.yaml:6: field name_prefix: only meaningful with nodes"),
        BAD(block_prefix_too_long,
            P "blocks:\n  - {name: b, nodes: 1, pool: h100, gpus_per_node: 8, name_prefix: "
              "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp}\n",
            "t.yaml:5: field name_prefix: node names such as"),
        BAD(too_many_nodes,
            P "blocks:\n  - {name: a, nodes: 600000, pool: h100, gpus_per_node: 1}\n"
              "  - {name: b, nodes: 600000, pool: h100, gpus_per_node: 1}\n",
            "t.yaml:6: field nodes: the cluster would have more than 1000000 nodes"),
        BAD(alias_cycle, "pools: &a [*a]\n", "t.yaml:1: a pool: must be a mapping"),
        BAD(two_documents, P NODE1 "---\n" P NODE1,
            "t.yaml:9: yaml: a second document; a cluster file holds one"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
