/* Unit tests of the Alibaba cluster-trace-gpu-v2023 readers
 * (src/libtrace/alibaba.c), on small inputs and on the real trace files in
 * tests/data/alibaba-gpu-2023/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

#define NODE_HEADER "sn,cpu_milli,memory_mib,gpu,model\n"
#define POD_HEADER                                                                          \
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"   \
    "deletion_time,scheduled_time\n"

/* Reads a file of tests/data: from $GPUFLEET_TESTDATA, else ../tests/data
 * (a test run from the build directory), else tests/data (from the repo). */
static char *read_testdata(const char *rel, size_t *len)
{
    const char *env = getenv("GPUFLEET_TESTDATA");
    const char *dirs[] = {env, "../tests/data", "tests/data"};
    char path[4096], err[TRACE_ERRLEN];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *buf;
        if (!dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], rel);
        if (trace_slurp(path, &buf, len, err, sizeof err) == 0)
            return buf;
    }
    fail_msg("cannot find %s: set GPUFLEET_TESTDATA to the repository's tests/data", rel);
    return NULL;
}

/* ---- nodes ------------------------------------------------------------ */

static void test_nodes_small(void **state)
{
    (void)state;
    /* 17 T4 nodes interleaved with V100 nodes and a CPU-only node: the T4s
     * fill block T4-b0 and open T4-b1. */
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "%s", NODE_HEADER);
    o += (size_t)snprintf(text + o, sizeof text - o, "cpu-0,32000,262144,0,\n");
    for (int i = 0; i < 17; i++) {
        o += (size_t)snprintf(text + o, sizeof text - o, "t4-%02d,64500,131072,2,T4\n", i);
        if (i == 3)
            o += (size_t)snprintf(text + o, sizeof text - o, "v100-0,96000,786432,8,V100M32\n");
    }
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    assert_int_equal(alibaba_nodes_parse(text, o, "n.csv", &c, err, sizeof err), 0);
    assert_int_equal(c.nnodes, 18);
    assert_int_equal(c.npools, 2);
    assert_string_equal(c.pools[0].name, "T4");
    assert_string_equal(c.pools[0].model, "T4");
    assert_true(c.pools[0].charge_rate == 1.0);
    assert_int_equal(c.pools[0].gpu_mem_gb, 0);
    assert_string_equal(c.pools[1].name, "V100M32");
    assert_int_equal(c.nblocks, 3);
    assert_string_equal(c.blocks[0].name, "T4-b0");
    assert_string_equal(c.blocks[0].spine, "");
    assert_string_equal(c.blocks[1].name, "V100M32-b0");
    assert_string_equal(c.blocks[2].name, "T4-b1");

    const cluster_node *n = &c.nodes[0];
    assert_string_equal(n->name, "t4-00");
    assert_int_equal(n->pool, 0);
    assert_int_equal(n->block, 0);
    assert_int_equal(n->gpus, 2);
    assert_int_equal(n->cpus, 64); /* 64500 milli, truncated */
    assert_int_equal(n->mem_mb, 131072);
    n = &c.nodes[4];
    assert_string_equal(n->name, "v100-0");
    assert_int_equal(n->pool, 1);
    assert_int_equal(n->block, 1);
    assert_int_equal(n->gpus, 8);
    assert_int_equal(n->cpus, 96);
    assert_int_equal(n->mem_mb, 786432);
    assert_int_equal(c.nodes[16].block, 0); /* the 16th T4 */
    assert_string_equal(c.nodes[17].name, "t4-16");
    assert_int_equal(c.nodes[17].block, 2);
    cluster_desc_free(&c);
}

/* Pool and block counts expected from the real node list: one pool per
 * model, ceil(nodes / 16) blocks per model. */
static void check_real_nodes(const cluster_desc *c)
{
    static const struct {
        const char *model;
        int nodes;
    } want[] = {{"A10", 2},  {"G2", 549},      {"G3", 39},     {"P100", 134},
                {"T4", 404}, {"V100M16", 55}, {"V100M32", 30}};
    assert_int_equal(c->nnodes, 1213);
    assert_int_equal(c->npools, 7);
    int64_t gpus = 0, blocks = 0;
    for (size_t i = 0; i < c->nnodes; i++)
        gpus += c->nodes[i].gpus;
    assert_int_equal(gpus, 6212);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        int32_t p = -1;
        for (size_t i = 0; i < c->npools; i++)
            if (strcmp(c->pools[i].name, want[w].model) == 0)
                p = (int32_t)i;
        if (p < 0)
            fail_msg("no pool %s", want[w].model);
        int count = 0;
        for (size_t i = 0; i < c->nnodes; i++) {
            if (c->nodes[i].pool != p)
                continue;
            /* Every node sits in block <model>-b<k>, k = its rank / 16. */
            char name[TRACE_NAMELEN];
            snprintf(name, sizeof name, "%s-b%d", want[w].model, count / 16);
            assert_true(c->nodes[i].block >= 0 && (size_t)c->nodes[i].block < c->nblocks);
            assert_string_equal(c->blocks[c->nodes[i].block].name, name);
            count++;
        }
        assert_int_equal(count, want[w].nodes);
        blocks += (want[w].nodes + 15) / 16;
    }
    assert_int_equal(c->nblocks, blocks);
    assert_int_equal(c->nblocks, 80);
}

static void test_nodes_real_gpu_list(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_testdata("alibaba-gpu-2023/openb_node_list_gpu_node.csv", &len);
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    if (alibaba_nodes_parse(buf, len, "gpu_node.csv", &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    check_real_nodes(&c);
    const cluster_node *n = &c.nodes[0]; /* openb-node-0000,64000,262144,2,P100 */
    assert_string_equal(n->name, "openb-node-0000");
    assert_string_equal(c.pools[n->pool].name, "P100");
    assert_int_equal(n->gpus, 2);
    assert_int_equal(n->cpus, 64);
    assert_int_equal(n->mem_mb, 262144);
    n = &c.nodes[1212]; /* openb-node-1212,96000,393216,8,G2 */
    assert_string_equal(n->name, "openb-node-1212");
    assert_string_equal(c.pools[n->pool].name, "G2");
    assert_int_equal(n->gpus, 8);
    assert_int_equal(n->cpus, 96);
    assert_int_equal(n->mem_mb, 393216);
    cluster_desc_free(&c);
    free(buf);
}

static void test_nodes_real_all_list(void **state)
{
    (void)state;
    /* The full list adds 310 CPU-only nodes, which are skipped. */
    size_t len;
    char *buf = read_testdata("alibaba-gpu-2023/openb_node_list_all_node.csv", &len);
    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    if (alibaba_nodes_parse(buf, len, "all_node.csv", &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    check_real_nodes(&c);
    cluster_desc_free(&c);
    free(buf);
}

/* ---- pods ------------------------------------------------------------- */

static void test_pods_small(void **state)
{
    (void)state;
    const char *text = POD_HEADER
        "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
        "openb-pod-0001,6000,12288,1,460,,BE,Running,427061,12902960,427061\n"
        "openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,\n"
        "openb-pod-0017,88000,327680,8,1000,V100M16|V100M32,Burstable,Succeeded,9437497,10769854,9437497\n"
        "openb-pod-0100,4000,8192,0,0,,Guaranteed,Running,5,,6\n"
        "openb-pod-0101,4001,8192,2,1000,,LS,Pending,5,,\n";
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(alibaba_pods_parse(text, strlen(text), "p.csv", &t, err, sizeof err), 0);
    assert_int_equal(t.njobs, 6);

    const trace_job *j = &t.jobs[0];
    assert_int_equal(j->id, 0);
    assert_int_equal(j->submit, 0);
    assert_int_equal(j->run, 12537496); /* scheduled at 0: still scheduled */
    assert_int_equal(j->estimate, 12537496);
    assert_int_equal(j->gpus, 1);
    assert_int_equal(j->gpu_milli, 1000);
    assert_int_equal(j->nodes, 0);
    assert_int_equal(j->cpus_per_gpu, 12);
    assert_int_equal(j->mem_per_gpu_mb, 16384);
    assert_string_equal(j->pool, "");
    assert_string_equal(j->qos, "LS");
    assert_string_equal(j->account, "");
    assert_int_equal(j->user, 0);
    assert_int_equal(j->line, 2);

    j = &t.jobs[1]; /* fractional GPU */
    assert_int_equal(j->id, 1);
    assert_int_equal(j->submit, 427061);
    assert_int_equal(j->run, 12902960 - 427061);
    assert_int_equal(j->gpus, 1);
    assert_int_equal(j->gpu_milli, 460);
    assert_int_equal(j->cpus_per_gpu, 6);
    assert_int_equal(j->mem_per_gpu_mb, 12288);
    assert_string_equal(j->qos, "BE");

    j = &t.jobs[2]; /* never scheduled: run = deletion - creation */
    assert_int_equal(j->id, 61);
    assert_int_equal(j->run, 125);
    assert_int_equal(j->estimate, 125);
    assert_int_equal(j->cpus_per_gpu, 12); /* ceil(11.908) */

    j = &t.jobs[3]; /* 8 GPUs, a pool list */
    assert_int_equal(j->id, 17);
    assert_int_equal(j->gpus, 8);
    assert_int_equal(j->run, 10769854 - 9437497);
    assert_int_equal(j->cpus_per_gpu, 11);
    assert_int_equal(j->mem_per_gpu_mb, 40960);
    assert_string_equal(j->pool, "V100M16|V100M32");
    assert_string_equal(j->qos, "Burstable");
    assert_int_equal(j->line, 5);

    j = &t.jobs[4]; /* no GPU: kept with gpus = 0; not deleted: run 0 */
    assert_int_equal(j->gpus, 0);
    assert_int_equal(j->gpu_milli, 0);
    assert_int_equal(j->run, 0);
    assert_int_equal(j->cpus_per_gpu, 4);
    assert_int_equal(j->mem_per_gpu_mb, 8192);
    assert_string_equal(j->qos, "Guaranteed");

    j = &t.jobs[5];
    assert_int_equal(j->cpus_per_gpu, 3); /* ceil(4.001 / 2) */
    assert_int_equal(j->mem_per_gpu_mb, 4096);
    assert_int_equal(j->run, 0);
    trace_free(&t);
}

static void test_pods_reordered_optional_columns(void **state)
{
    (void)state;
    /* Columns in another order, the optional ones absent, an extra one
     * ignored. */
    const char *text = "scheduled_time,deletion_time,creation_time,gpu_milli,num_gpu,"
                       "memory_mib,cpu_milli,name,note\n"
                       "20,50,10,250,1,1024,500,pod-7,anything\n";
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(alibaba_pods_parse(text, strlen(text), "p.csv", &t, err, sizeof err), 0);
    assert_int_equal(t.njobs, 1);
    assert_int_equal(t.jobs[0].id, 7);
    assert_int_equal(t.jobs[0].submit, 10);
    assert_int_equal(t.jobs[0].run, 30);
    assert_int_equal(t.jobs[0].gpu_milli, 250);
    assert_int_equal(t.jobs[0].cpus_per_gpu, 1);
    assert_string_equal(t.jobs[0].qos, "");
    trace_free(&t);
}

static void test_pods_real(void **state)
{
    (void)state;
    size_t len;
    char *buf = read_testdata("alibaba-gpu-2023/openb_pod_list_default.csv", &len);
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    if (alibaba_pods_parse(buf, len, "pod_list_default.csv", &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(t.njobs, 8152);
    /* Totals computed independently from the CSV with awk. */
    int64_t gpus = 0, run = 0;
    size_t no_gpu = 0, fractional = 0, ls = 0, be = 0;
    for (size_t i = 0; i < t.njobs; i++) {
        const trace_job *j = &t.jobs[i];
        assert_int_equal(j->id, (int64_t)i); /* openb-pod-0000 .. 8151, in order */
        assert_int_equal(j->line, (int64_t)i + 2);
        assert_true(j->run >= 0);
        gpus += j->gpus;
        run += j->run;
        no_gpu += j->gpus == 0;
        fractional += j->gpus == 1 && j->gpu_milli < 1000;
        ls += strcmp(j->qos, "LS") == 0;
        be += strcmp(j->qos, "BE") == 0;
    }
    assert_int_equal(gpus, 7433);
    assert_int_equal(run, 210197755);
    assert_int_equal(no_gpu, 1088);
    assert_int_equal(fractional, 3078);
    assert_int_equal(ls, 4647);
    assert_int_equal(be, 3398);
    /* openb-pod-8151,3152,5600,1,590,,BE,Failed,12901761,12901792,12901762 */
    const trace_job *j = &t.jobs[8151];
    assert_int_equal(j->submit, 12901761);
    assert_int_equal(j->run, 30);
    assert_int_equal(j->gpu_milli, 590);
    assert_int_equal(j->cpus_per_gpu, 4);
    assert_int_equal(j->mem_per_gpu_mb, 5600);
    trace_free(&t);
    free(buf);
}

/* ---- bad inputs: each must fail with a message naming line and field ---- */

struct bad_case {
    int pods; /* 1: alibaba_pods_parse, 0: alibaba_nodes_parse */
    const char *input;
    const char *want;
};

static void run_bad(void **state)
{
    const struct bad_case *c = *state;
    char err[TRACE_ERRLEN];
    int rc;
    if (c->pods) {
        trace t;
        trace_init(&t);
        rc = alibaba_pods_parse(c->input, strlen(c->input), "p.csv", &t, err, sizeof err);
        trace_free(&t);
    } else {
        cluster_desc cd;
        cluster_desc_init(&cd);
        rc = alibaba_nodes_parse(c->input, strlen(c->input), "n.csv", &cd, err, sizeof err);
        cluster_desc_free(&cd);
    }
    if (rc != -1)
        fail_msg("accepted, want error \"%s\"", c->want);
    if (!strstr(err, c->want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, c->want);
}

#define BAD_NODES(name, in, want) \
    {"bad_nodes_" #name, run_bad, NULL, NULL, &(struct bad_case){0, in, want}}
#define BAD_PODS(name, in, want) \
    {"bad_pods_" #name, run_bad, NULL, NULL, &(struct bad_case){1, in, want}}
#define POD_OK "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\n"
#define NODE_OK "n0,64000,262144,2,P100\n"
#define LONG_MODEL "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM" /* 62 */

int main(void)
{
    /* Automatic, not static: the cases are compound literals of main. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_small),
        cmocka_unit_test(test_nodes_real_gpu_list),
        cmocka_unit_test(test_nodes_real_all_list),
        cmocka_unit_test(test_pods_small),
        cmocka_unit_test(test_pods_reordered_optional_columns),
        cmocka_unit_test(test_pods_real),
        BAD_NODES(empty, "", "n.csv:1: header: missing"),
        BAD_NODES(missing_column, "sn,cpu_milli,memory_mib,model\n",
                  "n.csv:1: field gpu: required column missing"),
        BAD_NODES(repeated_column, "sn,cpu_milli,memory_mib,gpu,model,gpu\n",
                  "n.csv:1: field gpu: column named twice"),
        BAD_NODES(header_only, NODE_HEADER, "n.csv:1: field gpu: no node with GPUs"),
        BAD_NODES(only_cpu_nodes, NODE_HEADER "c0,32000,262144,0,\n",
                  "n.csv:2: field gpu: no node with GPUs"),
        BAD_NODES(short_line, NODE_HEADER NODE_OK "n1,64000,262144,2\n",
                  "n.csv:3: expected 5 fields as in the header, got 4"),
        BAD_NODES(gpu_empty, NODE_HEADER "n1,64000,262144,,P100\n",
                  "n.csv:2: field gpu: required, got an empty value"),
        BAD_NODES(gpu_negative, NODE_HEADER "n1,64000,262144,-2,P100\n",
                  "n.csv:2: field gpu: must be a non-negative integer, got \"-2\""),
        BAD_NODES(gpu_too_many, NODE_HEADER "n1,64000,262144,2000,P100\n",
                  "n.csv:2: field gpu: must be at most 1024, got \"2000\""),
        BAD_NODES(cpu_junk, NODE_HEADER "n1,64k,262144,2,P100\n",
                  "n.csv:2: field cpu_milli: must be a non-negative integer, got \"64k\""),
        BAD_NODES(memory_fraction, NODE_HEADER "n1,64000,2.5,2,P100\n",
                  "n.csv:2: field memory_mib: must be a non-negative integer"),
        BAD_NODES(memory_huge, NODE_HEADER "n1,64000,99999999999999999999,2,P100\n",
                  "n.csv:2: field memory_mib: must be at most 1000000000000"),
        BAD_NODES(model_empty, NODE_HEADER "n1,64000,262144,2,\n",
                  "n.csv:2: field model: required for a node with GPUs"),
        BAD_NODES(model_bar, NODE_HEADER "n1,64000,262144,2,T4|P100\n",
                  "n.csv:2: field model: '|' separates pool names"),
        BAD_NODES(model_too_long_for_blocks, NODE_HEADER "n1,64000,262144,2," LONG_MODEL "\n",
                  "n.csv:2: field model: \"" LONG_MODEL "\" is too long to name its blocks"),
        BAD_NODES(sn_empty, NODE_HEADER ",64000,262144,2,P100\n",
                  "n.csv:2: field sn: required"),
        BAD_NODES(sn_duplicate, NODE_HEADER NODE_OK "n1,1000,1,1,T4\n" NODE_OK,
                  "n.csv:4: field sn: duplicate node \"n0\" (first at line 2)"),
        BAD_PODS(empty, "\n\n", "p.csv:2: header: missing"),
        BAD_PODS(missing_column,
                 "name,cpu_milli,memory_mib,gpu_milli,creation_time,deletion_time,"
                 "scheduled_time\n",
                 "p.csv:1: field num_gpu: required column missing"),
        BAD_PODS(short_line, POD_HEADER POD_OK "openb-pod-0001,6000,12288,1,460\n",
                 "p.csv:3: expected 11 fields as in the header, got 5"),
        BAD_PODS(name_empty, POD_HEADER ",6000,12288,1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field name: required"),
        BAD_PODS(name_without_number, POD_HEADER "openb-pod-x,6000,12288,1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field name: must end in a number (the pod id), got \"openb-pod-x\""),
        BAD_PODS(name_number_huge,
                 POD_HEADER "pod-99999999999999999999,6000,12288,1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field name: pod number must be at most 1000000000000"),
        BAD_PODS(cpu_empty, POD_HEADER "pod-1,,12288,1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field cpu_milli: required, got an empty value"),
        BAD_PODS(memory_junk, POD_HEADER "pod-1,6000,12GiB,1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field memory_mib: must be a non-negative integer, got \"12GiB\""),
        BAD_PODS(num_gpu_negative, POD_HEADER "pod-1,6000,12288,-1,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field num_gpu: must be a non-negative integer, got \"-1\""),
        BAD_PODS(num_gpu_huge, POD_HEADER "pod-1,6000,12288,1000001,460,,LS,Running,1,2,1\n",
                 "p.csv:2: field num_gpu: must be at most 1000000"),
        BAD_PODS(gpu_milli_over, POD_HEADER "pod-1,6000,12288,1,1500,,LS,Running,1,2,1\n",
                 "p.csv:2: field gpu_milli: must be at most 1000, got \"1500\""),
        BAD_PODS(creation_empty, POD_HEADER "pod-1,6000,12288,1,460,,LS,Running,,2,1\n",
                 "p.csv:2: field creation_time: required, got an empty value"),
        BAD_PODS(creation_negative, POD_HEADER "pod-1,6000,12288,1,460,,LS,Running,-5,2,1\n",
                 "p.csv:2: field creation_time: must be a non-negative integer"),
        BAD_PODS(deletion_junk, POD_HEADER "pod-1,6000,12288,1,460,,LS,Running,1,2x,1\n",
                 "p.csv:2: field deletion_time: must be a non-negative integer, got \"2x\""),
        BAD_PODS(scheduled_fraction, POD_HEADER "pod-1,6000,12288,1,460,,LS,Running,1,2,1.5\n",
                 "p.csv:2: field scheduled_time: must be a non-negative integer"),
        BAD_PODS(gpu_spec_empty_alternative,
                 POD_HEADER "pod-1,6000,12288,1,460,V100M16||T4,LS,Running,1,2,1\n",
                 "p.csv:2: field gpu_spec: empty GPU model"),
        BAD_PODS(qos_too_long,
                 POD_HEADER "pod-1,6000,12288,1,460,,LatencySensitive1,Running,1,2,1\n",
                 "p.csv:2: field qos: longer than 15 characters"),
        BAD_PODS(qos_control, POD_HEADER "pod-1,6000,12288,1,460,,L\tS\x7f,Running,1,2,1\n",
                 "p.csv:2: field qos: contains a control character"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
