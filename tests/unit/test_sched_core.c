/*
 * Unit tests of libsched's general resource model, through its public API:
 * pools, blocks, multi-GPU nodes with CPUs and memory; placement (best fit,
 * gangs in the fewest blocks), EASY reservations on concrete nodes, node
 * states, pending reasons, submit validation, cancel and replay.
 *
 * Placement facts these tests lean on (src/libsched/pass.c, index.c):
 *   - a single-node job goes to the node left with the fewest free GPUs;
 *     among equal nodes the index lists read in node order until nodes are
 *     freed (then the most recently freed comes first), so the tests only
 *     rely on node order before any job has ended;
 *   - a gang takes whole nodes: one block if any can hold it (the one with
 *     the fewest free nodes that suffices), else one spine, else blocks from
 *     the fullest down;
 *   - `nodes` > 1 or a total GPU count above one node is a gang of whole nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libsched.h"

/* ---- helpers ------------------------------------------------------------ */

#define MAXREC 256

typedef struct rec {
    sched_job *j[MAXREC];
    int n;
} rec;

static void on_start(sched_job *j, void *arg)
{
    rec *r = arg;
    assert_true(r->n < MAXREC);
    r->j[r->n++] = j;
}

/* A single-node (or total-GPU) request. */
static void job_gpus(sched_job *j, int64_t id, int64_t limit, int32_t gpus)
{
    memset(j, 0, sizeof *j);
    j->id = id;
    j->time_limit = limit;
    j->gpus = gpus;
}

/* A gang of `nodes` whole nodes. */
static void job_gang(sched_job *j, int64_t id, int64_t limit, int32_t nodes)
{
    memset(j, 0, sizeof *j);
    j->id = id;
    j->time_limit = limit;
    j->nodes = nodes;
}

static void submit_ok(sched *s, sched_job *j)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_submit(s, j, err, sizeof err) != 0)
        fail_msg("sched_submit(job %lld): %s", (long long)j->id, err);
}

/* Adds `count` nodes named n<index>; returns the index of the first. */
static int add_nodes(sched *s, int pool, int block, int count, int gpus, int cpus, int64_t mem)
{
    int first = sched_node_count(s);
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", sched_node_count(s));
        assert_true(sched_node_add(s, name, pool, block, gpus, cpus, mem) >= 0);
    }
    return first;
}

static void finalize_ok(sched *s)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_finalize(s, err, sizeof err) != 0)
        fail_msg("sched_finalize: %s", err);
}

/* One pool "gpu" of `count` nodes of 8 GPUs, 64 CPUs, 512 GB, no blocks. */
static sched *flat_cluster(int count, int policy)
{
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "gpu", "H100-80G"), 0);
    add_nodes(s, 0, -1, count, 8, 64, 512000);
    finalize_ok(s);
    sched_set_policy(s, policy);
    return s;
}

static int node_of(const sched_job *j, int i)
{
    assert_true(i < j->nalloc);
    return j->alloc[i].node;
}

static int blocks_used(const sched *s, const sched_job *j)
{
    int seen[64] = {0}, n = 0;
    for (int i = 0; i < j->nalloc; i++) {
        int b = sched_node_block(s, j->alloc[i].node);
        assert_true(b >= 0 && b < 64);
        if (!seen[b]++)
            n++;
    }
    return n;
}

static int alloc_in_block(const sched *s, const sched_job *j, int block)
{
    int n = 0;
    for (int i = 0; i < j->nalloc; i++)
        n += sched_node_block(s, j->alloc[i].node) == block;
    return n;
}

/* ---- single-node placement --------------------------------------------- */

/*
 * 3 nodes x 8 GPUs. A (6 GPUs) -> n0 (lowest idle), free 2. B (5 GPUs):
 * only idle nodes have 5 -> n1, free 3. C (2 GPUs): n0 has exactly 2 free,
 * n1 3, n2 8 (idle) -> best fit is n0, and n2 stays whole for gangs.
 */
static void test_best_fit_packs_single_gpu_jobs(void **state)
{
    (void)state;
    sched *s = flat_cluster(3, SCHED_FCFS);
    sched_job a, b, c;
    job_gpus(&a, 1, 100, 6);
    job_gpus(&b, 2, 100, 5);
    job_gpus(&c, 3, 100, 2);
    submit_ok(s, &a);
    submit_ok(s, &b);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 2);
    assert_int_equal(node_of(&a, 0), 0);
    assert_int_equal(node_of(&b, 0), 1);
    submit_ok(s, &c);
    assert_int_equal(sched_pass(s, 1, on_start, &r), 1);
    assert_int_equal(r.n, 3);
    assert_ptr_equal(r.j[2], &c);
    assert_int_equal(c.state, SCHED_JOB_RUNNING);
    assert_int_equal(c.start, 1);
    assert_int_equal(c.nalloc, 1);
    assert_int_equal(node_of(&c, 0), 0); /* exactly 2 free: not the idle n2 */
    assert_int_equal(c.alloc[0].gpus, 2);
    assert_int_equal(sched_node_free_gpus(s, 0), 0);
    assert_int_equal(sched_node_free_gpus(s, 1), 3);
    assert_int_equal(sched_node_free_gpus(s, 2), 8);
    assert_int_equal(sched_free_gpus(s), 11);
    sched_destroy(s);
}

/* ---- gangs and topology ------------------------------------------------ */

/*
 * Blocks b0 = n0..n3, b1 = n4..n7, 8 GPUs each. Two whole-node jobs take
 * n0 and n1 (lowest idle first), leaving b0 with 2 idle nodes and b1 with 4.
 * A gang of 3 fits in b1 only: all 3 nodes in b1 (lowest-index-first would
 * have used n2, n3, n4 across two blocks).
 */
static void test_gang_placed_inside_one_block(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    int b0 = sched_block_add(s, "b0", NULL), b1 = sched_block_add(s, "b1", NULL);
    add_nodes(s, 0, b0, 4, 8, 64, 512000);
    add_nodes(s, 0, b1, 4, 8, 64, 512000);
    finalize_ok(s);
    sched_set_policy(s, SCHED_FCFS);
    sched_job x, y, g;
    job_gpus(&x, 1, 100, 8);
    job_gpus(&y, 2, 100, 8);
    job_gang(&g, 3, 100, 3);
    submit_ok(s, &x);
    submit_ok(s, &y);
    submit_ok(s, &g);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 3);
    assert_int_equal(node_of(&x, 0), 0);
    assert_int_equal(node_of(&y, 0), 1);
    assert_int_equal(g.nalloc, 3);
    int blk = sched_node_block(s, node_of(&g, 0));
    for (int i = 0; i < g.nalloc; i++)
        assert_int_equal(sched_node_block(s, node_of(&g, i)), blk);
    assert_int_equal(blk, b1);
    assert_int_equal(g.alloced_gpus, 24);
    sched_destroy(s);
}

/*
 * Blocks in node order: b0 = n0..n1 (2 nodes), b1 = n2..n3 (2),
 * b2 = n4..n7 (4). No block holds a gang of 5, and there are no spines:
 * blocks from the fullest down -> b2 (4) + one of b0/b1 = 2 blocks, where
 * lowest-index-first would take b0 + b1 + b2 = 3 blocks.
 */
static void test_gang_spanning_blocks_takes_fewest(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    int b0 = sched_block_add(s, "b0", NULL);
    int b1 = sched_block_add(s, "b1", NULL);
    int b2 = sched_block_add(s, "b2", NULL);
    add_nodes(s, 0, b0, 2, 8, 64, 512000);
    add_nodes(s, 0, b1, 2, 8, 64, 512000);
    add_nodes(s, 0, b2, 4, 8, 64, 512000);
    finalize_ok(s);
    sched_job g;
    job_gang(&g, 1, 100, 5);
    submit_ok(s, &g);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(g.nalloc, 5);
    assert_int_equal(blocks_used(s, &g), 2);
    assert_int_equal(alloc_in_block(s, &g, b2), 4);
    sched_destroy(s);
}

/*
 * Spines: s0 holds b0 (2 nodes) and b1 (2); s1 holds b2 (3) and b3 (3).
 * Node order b0, b1, b2, b3. A gang of 5: no block holds it; spine s0 has 4
 * < 5, s1 has 6 >= 5 -> all 5 nodes under s1 (b2 + b3), none in b0 or b1.
 */
static void test_gang_stays_under_one_spine(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    int b0 = sched_block_add(s, "b0", "s0");
    int b1 = sched_block_add(s, "b1", "s0");
    int b2 = sched_block_add(s, "b2", "s1");
    int b3 = sched_block_add(s, "b3", "s1");
    add_nodes(s, 0, b0, 2, 8, 64, 512000);
    add_nodes(s, 0, b1, 2, 8, 64, 512000);
    add_nodes(s, 0, b2, 3, 8, 64, 512000);
    add_nodes(s, 0, b3, 3, 8, 64, 512000);
    finalize_ok(s);
    sched_job g;
    job_gang(&g, 1, 100, 5);
    submit_ok(s, &g);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(g.nalloc, 5);
    assert_int_equal(alloc_in_block(s, &g, b0) + alloc_in_block(s, &g, b1), 0);
    assert_int_equal(alloc_in_block(s, &g, b2) + alloc_in_block(s, &g, b3), 5);
    sched_destroy(s);
}

/*
 * Best-fit block. Node order: n0..n3 in b1, n4..n7 in b0, n8..n11 in b2.
 * A whole-node job X takes n0 (lowest idle), so b1 has 3 idle nodes and b0,
 * b2 have 4. A gang of 3 goes to b1, the block with the fewest free nodes
 * that suffice; a gang of 4 then goes to b0 (b0 and b2 tie at 4: the first).
 */
static void test_gang_best_fit_block(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    int b0 = sched_block_add(s, "b0", NULL);
    int b1 = sched_block_add(s, "b1", NULL);
    int b2 = sched_block_add(s, "b2", NULL);
    add_nodes(s, 0, b1, 4, 8, 64, 512000);
    add_nodes(s, 0, b0, 4, 8, 64, 512000);
    add_nodes(s, 0, b2, 4, 8, 64, 512000);
    finalize_ok(s);
    sched_set_policy(s, SCHED_FCFS);
    sched_job x, g3, g4;
    job_gpus(&x, 1, 100, 8);
    job_gang(&g3, 2, 100, 3);
    job_gang(&g4, 3, 100, 4);
    submit_ok(s, &x);
    submit_ok(s, &g3);
    submit_ok(s, &g4);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 3);
    assert_int_equal(node_of(&x, 0), 0);
    assert_int_equal(alloc_in_block(s, &g3, b1), 3);
    assert_int_equal(alloc_in_block(s, &g4, b0), 4);
    assert_int_equal(sched_node_free_gpus(s, 8), 8); /* b2 untouched */
    (void)b2;
    sched_destroy(s);
}

/*
 * 3 nodes x 8 GPUs; a 1-GPU job S sits on n0, so only 2 whole nodes are
 * free. A gang of 3 must not start on part of them: nothing is allocated,
 * free GPUs stay 23. Once S ends, the gang takes all 3 nodes.
 */
static void test_gang_all_or_nothing(void **state)
{
    (void)state;
    sched *s = flat_cluster(3, SCHED_FCFS);
    sched_job sm, g;
    job_gpus(&sm, 1, 10, 1);
    job_gang(&g, 2, 100, 3);
    submit_ok(s, &sm);
    submit_ok(s, &g);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 1);
    assert_int_equal(g.state, SCHED_JOB_PENDING);
    assert_int_equal(g.nalloc, 0);
    assert_int_equal(g.alloced_gpus, 0);
    assert_int_equal(sched_free_gpus(s), 23);
    assert_int_equal(sched_node_free_gpus(s, 1), 8);
    assert_int_equal(sched_node_free_gpus(s, 2), 8);
    assert_int_equal(sched_job_reason(s, &g), SCHED_REASON_RESOURCES);
    sched_job_end(s, &sm, 10);
    assert_int_equal(sched_pass(s, 10, on_start, &r), 1);
    assert_int_equal(g.state, SCHED_JOB_RUNNING);
    assert_int_equal(g.nalloc, 3);
    assert_int_equal(sched_free_gpus(s), 0);
    sched_destroy(s);
}

/*
 * A total GPU count above one node is a gang of whole nodes:
 * 16 GPUs on 8-GPU nodes = 2 nodes x 8; 12 GPUs = ceil(12/8) = 2 whole
 * nodes, holding 16 GPUs ("whole nodes count whole").
 */
static void test_gang_given_as_total_gpus(void **state)
{
    (void)state;
    sched *s = flat_cluster(4, SCHED_FCFS);
    sched_job a, b;
    job_gpus(&a, 1, 100, 16);
    job_gpus(&b, 2, 100, 12);
    submit_ok(s, &a);
    submit_ok(s, &b);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 2);
    assert_int_equal(a.nalloc, 2);
    assert_int_equal(a.alloced_gpus, 16);
    assert_int_not_equal(node_of(&a, 0), node_of(&a, 1));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(a.alloc[i].gpus, 8);
        assert_int_equal(a.alloc[i].cpus, 64);   /* whole node */
        assert_int_equal(a.alloc[i].mem_mb, 512000);
    }
    assert_int_equal(b.nalloc, 2);
    assert_int_equal(b.alloced_gpus, 16);
    assert_int_equal(sched_free_gpus(s), 0);
    sched_destroy(s);
}

/* ---- pools, CPUs, memory ----------------------------------------------- */

/*
 * Pools a (index 0) and b (index 1), one 8-GPU node each: n0 in a, n1 in b.
 * P (8 GPUs, pools = b) runs on n1, in pool 1. Q (8 GPUs, pools = a) takes
 * n0. R (1 GPU, pools = b) must wait: b is full, a's node is not allowed
 * either way. With pools = 0 ("any") a job may use either pool.
 */
static void test_pool_restriction(void **state)
{
    (void)state;
    sched *s = sched_create();
    assert_int_equal(sched_pool_add(s, "a", "H100-80G"), 0);
    assert_int_equal(sched_pool_add(s, "b", "H200"), 1);
    add_nodes(s, 0, -1, 1, 8, 64, 512000);
    add_nodes(s, 1, -1, 1, 8, 64, 512000);
    finalize_ok(s);
    sched_set_policy(s, SCHED_EASY);
    sched_job p, q, r1, any;
    job_gpus(&p, 1, 100, 8);
    p.pools = 1u << 1;
    job_gpus(&q, 2, 100, 4);
    q.pools = 1u << 0;
    job_gpus(&r1, 3, 100, 1);
    r1.pools = 1u << 1;
    submit_ok(s, &p);
    submit_ok(s, &q);
    submit_ok(s, &r1);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 2);
    assert_int_equal(p.pool, 1);
    assert_int_equal(node_of(&p, 0), 1);
    assert_int_equal(q.pool, 0);
    assert_int_equal(node_of(&q, 0), 0);
    assert_int_equal(r1.state, SCHED_JOB_PENDING); /* n0 has 4 free, but in pool a */
    assert_int_equal(sched_node_free_gpus(s, 0), 4);
    /* "any": 4 GPUs fit only on n0 (pool a) */
    job_gpus(&any, 4, 100, 4);
    submit_ok(s, &any);
    sched_pass(s, 1, on_start, &(rec){0});
    assert_int_equal(any.state, SCHED_JOB_RUNNING);
    assert_int_equal(any.pool, 0);
    sched_destroy(s);
}

/*
 * CPUs and memory per GPU. n0: 8 GPUs, 16 CPUs, 64000 MB; n1: 8 GPUs,
 * 64 CPUs, 512000 MB. Both idle; GPUs alone would pick n0 (lowest index).
 *   C (2 GPUs x 16 CPUs = 32 CPUs): n0 has 16 -> n1 (CPUs 64 -> 32).
 *   M (1 GPU x 100000 MB): n0 has 64000 -> n1 (mem 512000 -> 412000).
 *   D (3 GPUs x 16 CPUs = 48): n0 16, n1 32 left -> cannot start now,
 *     although 13 GPUs are free (pending, waiting for resources).
 * D's reservation: C is expected to end at 100, giving n1 its 64 CPUs back
 * (M holds none): est_start 100. C in fact ends at 60: D then starts on n1.
 */
static void test_cpu_and_memory_limit_placement(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    sched_node_add(s, "n0", 0, -1, 8, 16, 64000);
    sched_node_add(s, "n1", 0, -1, 8, 64, 512000);
    finalize_ok(s);
    sched_set_policy(s, SCHED_EASY);
    sched_job c, m, d;
    job_gpus(&c, 1, 100, 2);
    c.cpus_per_gpu = 16;
    job_gpus(&m, 2, 100, 1);
    m.mem_per_gpu_mb = 100000;
    job_gpus(&d, 3, 100, 3);
    d.cpus_per_gpu = 16;
    submit_ok(s, &c);
    submit_ok(s, &m);
    submit_ok(s, &d);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 2);
    assert_int_equal(node_of(&c, 0), 1);
    assert_int_equal(c.alloc[0].cpus, 32);
    assert_int_equal(node_of(&m, 0), 1);
    assert_int_equal(m.alloc[0].mem_mb, 100000);
    assert_int_equal(d.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_job_reason(s, &d), SCHED_REASON_RESOURCES);
    assert_int_equal(sched_free_gpus(s), 13);
    assert_int_equal(d.est_start, 100);
    /* C ends: n1 has 64 - 0 = 64 CPUs again (M takes none): D starts there */
    sched_job_end(s, &c, 60);
    assert_int_equal(sched_pass(s, 60, on_start, &r), 1);
    assert_int_equal(node_of(&d, 0), 1);
    assert_int_equal(d.alloc[0].cpus, 48);
    sched_destroy(s);
}

/* ---- EASY on concrete nodes -------------------------------------------- */

/*
 * 4 nodes x 8 GPUs, easy, all at t=0, in queue order:
 *   A 8 GPUs, limit 100 -> n0 (free 0)
 *   B 6 GPUs, limit 50  -> n1 (free 2)
 *   C 4 GPUs, limit 200 -> n2 (free 4; n1's 2 are too few)
 *   G gang of 2 nodes, limit 100: only n3 is idle. Walking running jobs by
 *     expected end: B ends at 50 -> n1 whole -> 2 whole nodes: shadow 50.
 *     It reserves n1 (busy now, preferred) and n3 from 50.
 *   L 1 GPU, limit 1000: must not touch n1 or n3 (it would run past 50) ->
 *     n2, though best fit alone would pick n1 (2 free).
 *   S 1 GPU, limit 40: ends before 50 -> may use a reserved node; best fit
 *     among them: n1 (2 free).
 *   P 4 GPUs, limit 1000: n2 has 3 left, n1/n3 are reserved: waits, and
 *     as 12 GPUs are free it waits for priority, not resources.
 * Then S ends at 40, B at 50: the pass at 50 starts G on exactly {n1, n3}.
 */
static void test_easy_reservation_keeps_long_jobs_off_reserved_nodes(void **state)
{
    (void)state;
    sched *s = flat_cluster(4, SCHED_EASY);
    sched_job a, b, c, g, l, sh, p;
    job_gpus(&a, 1, 100, 8);
    job_gpus(&b, 2, 50, 6);
    job_gpus(&c, 3, 200, 4);
    job_gang(&g, 4, 100, 2);
    job_gpus(&l, 5, 1000, 1);
    job_gpus(&sh, 6, 40, 1);
    job_gpus(&p, 7, 1000, 4);
    sched_job *all[] = {&a, &b, &c, &g, &l, &sh, &p};
    for (int i = 0; i < 7; i++)
        submit_ok(s, all[i]);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 5);
    assert_int_equal(node_of(&a, 0), 0);
    assert_int_equal(node_of(&b, 0), 1);
    assert_int_equal(node_of(&c, 0), 2);
    assert_int_equal(g.state, SCHED_JOB_PENDING);
    assert_int_equal(g.est_start, 50);
    assert_int_equal(sched_job_reason(s, &g), SCHED_REASON_RESOURCES);
    assert_int_equal(l.state, SCHED_JOB_RUNNING);
    assert_int_equal(node_of(&l, 0), 2); /* not a reserved node */
    assert_int_equal(sh.state, SCHED_JOB_RUNNING);
    assert_int_equal(node_of(&sh, 0), 1); /* short: may use the reserved n1 */
    assert_int_equal(p.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_job_reason(s, &p), SCHED_REASON_PRIORITY);
    assert_int_equal(sched_free_gpus(s), 12);

    sched_job_end(s, &sh, 40);
    sched_pass(s, 40, on_start, &r);
    assert_int_equal(g.state, SCHED_JOB_PENDING);
    assert_int_equal(g.est_start, 50);
    sched_job_end(s, &b, 50);
    sched_pass(s, 50, on_start, &r);
    assert_int_equal(g.state, SCHED_JOB_RUNNING);
    assert_int_equal(g.start, 50);
    int n0 = node_of(&g, 0), n1 = node_of(&g, 1);
    assert_true((n0 == 1 && n1 == 3) || (n0 == 3 && n1 == 1));
    sched_destroy(s);
}

/*
 * The shadow time is the expected end after which the head fits.
 * 4 nodes x 8 GPUs; J1 (8 GPUs, limit 30) -> n0, J2 (limit 60) -> n1,
 * J3 (limit 90) -> n2, n3 idle. Gang G of 3 (limit 10): whole nodes by
 * time: 1 now, 2 at 30, 3 at 60 -> est_start 60 under easy.
 * Conservative also gives G2 (gang of 4, limit 10) a reservation: GPUs free
 * over time 8 | 16 from 30 | 24 from 60 | 32 from 90, minus G's 24 on
 * [60,70): 8 | 16 | 0 from 60 | 24 from 70 | 32 from 90 -> G2 at 90.
 * Under easy G2 gets no reservation (est_start -1).
 */
static void test_est_start_equals_shadow_time(void **state)
{
    (void)state;
    for (int pol = SCHED_EASY; pol <= SCHED_CONSERVATIVE; pol++) {
        sched *s = flat_cluster(4, pol);
        sched_job j1, j2, j3, g, g2;
        job_gpus(&j1, 1, 30, 8);
        job_gpus(&j2, 2, 60, 8);
        job_gpus(&j3, 3, 90, 8);
        job_gang(&g, 4, 10, 3);
        job_gang(&g2, 5, 10, 4);
        submit_ok(s, &j1);
        submit_ok(s, &j2);
        submit_ok(s, &j3);
        submit_ok(s, &g);
        submit_ok(s, &g2);
        assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 3);
        assert_int_equal(g.est_start, 60);
        assert_int_equal(sched_job_reason(s, &g), SCHED_REASON_RESOURCES);
        assert_int_equal(g2.est_start, pol == SCHED_EASY ? -1 : 90);
        sched_destroy(s);
    }
}

/*
 * Conservative on multi-GPU nodes: a backfill must not fragment the nodes
 * a later gang reservation needs (regression: later reservations once
 * counted GPUs only). 4 nodes x 8 GPUs, all at t=0, limit 100 unless given:
 *   A 8 GPUs -> n0, B 7 -> n1, C 7 -> n2, D 8 -> n3. Free: 1 on n1, 1 on n2.
 *   R1 8 GPUs (one whole node), limit 1000: first reservation: n0 from 100.
 *   R2 gang of 2 nodes: at 100, n1..n3 are whole (3 >= 2): reserved at 100.
 *   S1, S2 1 GPU each, limit 1000. One of them may start on n1 or n2 (two
 *     whole nodes stay for R2 at 100); both would leave R2 a single whole
 *     node, so at most one starts.
 * At t=100, once A..D end, R1 and R2 both start.
 */
static void test_conservative_backfill_keeps_gang_reservation_whole(void **state)
{
    (void)state;
    sched *s = flat_cluster(4, SCHED_CONSERVATIVE);
    sched_job a, b, c, d, r1, r2, s1, s2;
    job_gpus(&a, 1, 100, 8);
    job_gpus(&b, 2, 100, 7);
    job_gpus(&c, 3, 100, 7);
    job_gpus(&d, 4, 100, 8);
    job_gpus(&r1, 5, 1000, 8);
    job_gang(&r2, 6, 100, 2);
    job_gpus(&s1, 7, 1000, 1);
    job_gpus(&s2, 8, 1000, 1);
    sched_job *all[] = {&a, &b, &c, &d, &r1, &r2, &s1, &s2};
    for (int i = 0; i < 8; i++)
        submit_ok(s, all[i]);
    sched_pass(s, 0, on_start, &(rec){0});
    assert_int_equal(node_of(&b, 0), 1);
    assert_int_equal(node_of(&c, 0), 2);
    assert_int_equal(r1.est_start, 100);
    assert_int_equal(r2.est_start, 100);
    assert_false(s1.state == SCHED_JOB_RUNNING && s2.state == SCHED_JOB_RUNNING);

    sched_job_end(s, &a, 100);
    sched_job_end(s, &b, 100);
    sched_job_end(s, &c, 100);
    sched_job_end(s, &d, 100);
    sched_pass(s, 100, on_start, &(rec){0});
    assert_int_equal(r1.state, SCHED_JOB_RUNNING);
    assert_int_equal(r2.state, SCHED_JOB_RUNNING);
    assert_int_equal(r2.start, 100);
    sched_destroy(s);
}

/* ---- node states ------------------------------------------------------- */

/*
 * 2 nodes x 8 GPUs. A (4 GPUs) -> n0. n0 is set DRAIN: A goes on, but B
 * (1 GPU) goes to n1 although best fit would pick n0 (4 free). With n1
 * DOWN as well, C (1 GPU) cannot start anywhere; even after A ends and n0
 * is all free, a draining n0 takes nothing. n0 back UP: C starts on n0.
 */
static void test_drain_and_down_nodes_get_no_new_jobs(void **state)
{
    (void)state;
    sched *s = flat_cluster(2, SCHED_EASY);
    sched_job a, b, c;
    job_gpus(&a, 1, 100, 4);
    job_gpus(&b, 2, 100, 1);
    job_gpus(&c, 3, 100, 1);
    submit_ok(s, &a);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(node_of(&a, 0), 0);
    assert_int_equal(sched_node_set_state(s, 0, SCHED_NODE_DRAIN), 0);
    assert_int_equal(a.state, SCHED_JOB_RUNNING);
    submit_ok(s, &b);
    assert_int_equal(sched_pass(s, 1, on_start, &(rec){0}), 1);
    assert_int_equal(node_of(&b, 0), 1);
    sched_job_end(s, &b, 2);
    assert_int_equal(sched_node_set_state(s, 1, SCHED_NODE_DOWN), 0);
    submit_ok(s, &c);
    assert_int_equal(sched_pass(s, 2, on_start, &(rec){0}), 0);
    assert_int_equal(c.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_free_gpus(s), 0); /* no UP node */
    sched_job_end(s, &a, 100);
    assert_int_equal(sched_node_free_gpus(s, 0), 8);
    assert_int_equal(sched_pass(s, 100, on_start, &(rec){0}), 0);
    assert_int_equal(c.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_node_set_state(s, 0, SCHED_NODE_UP), 0);
    assert_int_equal(sched_pass(s, 101, on_start, &(rec){0}), 1);
    assert_int_equal(node_of(&c, 0), 0);
    assert_int_equal(sched_node_set_state(s, 5, SCHED_NODE_UP), -1);
    assert_int_equal(sched_node_set_state(s, 0, 7), -1);
    sched_destroy(s);
}

/* ---- pending reasons --------------------------------------------------- */

/*
 * 4 nodes x 8 GPUs, easy, n2 and n3 DOWN (16 UP GPUs).
 *   H (1 GPU, held) never starts, whatever is free: reason held.
 *   U (gang of 3) needs more nodes than the 2 UP: reason unavailable; it
 *     takes no reservation, so the next job may.
 *   A (8 GPUs, limit 100) -> n0.
 *   W (16 GPUs = 2 whole nodes): only n1 whole -> head: reason resources,
 *     reserved for 100 on n0 + n1.
 *   P (1 GPU, limit 500): fits n1 now, but would delay W: priority.
 */
static void test_pending_reasons(void **state)
{
    (void)state;
    sched *s = flat_cluster(4, SCHED_EASY);
    sched_node_set_state(s, 2, SCHED_NODE_DOWN);
    sched_node_set_state(s, 3, SCHED_NODE_DOWN);
    sched_job h, u, a, w, p;
    job_gpus(&h, 1, 10, 1);
    h.held = 1;
    job_gang(&u, 2, 10, 3);
    job_gpus(&a, 3, 100, 8);
    job_gpus(&w, 4, 10, 16);
    job_gpus(&p, 5, 500, 1);
    sched_job *all[] = {&h, &u, &a, &w, &p};
    for (int i = 0; i < 5; i++)
        submit_ok(s, all[i]);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(a.state, SCHED_JOB_RUNNING);
    assert_int_equal(sched_job_reason(s, &h), SCHED_REASON_HELD);
    assert_int_equal(sched_job_reason(s, &u), SCHED_REASON_UNAVAILABLE);
    assert_int_equal(u.est_start, -1);
    assert_int_equal(sched_job_reason(s, &w), SCHED_REASON_RESOURCES);
    assert_int_equal(w.est_start, 100);
    assert_int_equal(sched_job_reason(s, &p), SCHED_REASON_PRIORITY);
    assert_int_equal(sched_job_reason(s, &a), SCHED_REASON_NONE); /* running */
    /* hold released: H is ahead of W in the queue, so it starts on n1 */
    h.held = 0;
    assert_int_equal(sched_pass(s, 1, on_start, &(rec){0}), 1);
    assert_int_equal(h.state, SCHED_JOB_RUNNING);
    assert_int_equal(node_of(&h, 0), 1);
    assert_int_equal(sched_job_reason(s, &u), SCHED_REASON_UNAVAILABLE);
    assert_string_equal(sched_reason_name(SCHED_REASON_UNAVAILABLE), "unavailable");
    sched_destroy(s);
}

/* ---- submit validation and cancel -------------------------------------- */

static void expect_refused(sched *s, sched_job *j, const char *field)
{
    char err[SCHED_ERRLEN] = "", cerr[SCHED_ERRLEN] = "";
    size_t before = sched_pending_count(s);
    assert_int_equal(sched_check(s, j, cerr, sizeof cerr), -1);
    assert_int_equal(sched_submit(s, j, err, sizeof err), -1);
    if (strncmp(err, field, strlen(field)) != 0)
        fail_msg("message \"%s\" does not name field \"%s\"", err, field);
    assert_string_equal(cerr, err); /* sched_check: the same validation */
    assert_int_equal(sched_pending_count(s), before);
    assert_int_equal(j->state, SCHED_JOB_NEW);
    assert_null(j->alloc);
}

/*
 * 2 pools ("a": 2 nodes x 8, "b": 1 node x 8). Refused, queue unchanged:
 * gpus 0; time_limit -1; 40 GPUs (ceil(40/8) = 5 nodes > 2 in a, 1 in b);
 * a gang of 3 restricted to pool a (2 nodes); a pools bitmask naming only
 * pool 5 (no such pool); 8 GPUs x 100 CPUs/GPU = 800 CPUs > 64 per node.
 */
static void test_submit_refuses_bad_requests(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "a", NULL);
    sched_pool_add(s, "b", NULL);
    add_nodes(s, 0, -1, 2, 8, 64, 512000);
    add_nodes(s, 1, -1, 1, 8, 64, 512000);
    finalize_ok(s);
    sched_job ok, j;
    job_gpus(&ok, 1, 10, 1);
    submit_ok(s, &ok);
    assert_int_equal(sched_pending_count(s), 1);

    job_gpus(&j, 2, 10, 0);
    expect_refused(s, &j, "gpus");
    job_gpus(&j, 3, -1, 1);
    expect_refused(s, &j, "time_limit");
    job_gpus(&j, 4, 10, 40);
    expect_refused(s, &j, "gpus");
    job_gang(&j, 5, 10, 3);
    j.pools = 1u << 0;
    expect_refused(s, &j, "gpus");
    job_gpus(&j, 6, 10, 1);
    j.pools = (uint64_t)1 << 5;
    expect_refused(s, &j, "pool");
    job_gpus(&j, 7, 10, 8);
    j.cpus_per_gpu = 100;
    expect_refused(s, &j, "gpus");
    job_gpus(&j, 8, 10, 1);
    j.cpus_per_gpu = -1;
    expect_refused(s, &j, "cpus_per_gpu");

    /* a gang of 3 without a pool restriction is also too big (2 + 1 nodes) */
    job_gang(&j, 9, 10, 3);
    expect_refused(s, &j, "gpus");
    /* the good one is still the only one queued and still runs */
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(ok.state, SCHED_JOB_RUNNING);
    sched_destroy(s);
}

/*
 * 1 node x 8. A (8 GPUs) runs; B and C wait. Cancelling B removes it from
 * the queue (DONE, allocation freed), a second cancel fails, and so does
 * cancelling the running A. When A ends, C starts; B never does.
 */
static void test_cancel_pending_job(void **state)
{
    (void)state;
    sched *s = flat_cluster(1, SCHED_FCFS);
    sched_job a, b, c;
    job_gpus(&a, 1, 10, 8);
    job_gpus(&b, 2, 10, 8);
    job_gpus(&c, 3, 10, 8);
    submit_ok(s, &a);
    submit_ok(s, &b);
    submit_ok(s, &c);
    assert_int_equal(sched_pass(s, 0, on_start, &(rec){0}), 1);
    assert_int_equal(sched_pending_count(s), 2);
    assert_int_equal(sched_cancel(s, &b), 0);
    assert_int_equal(b.state, SCHED_JOB_DONE);
    assert_null(b.alloc);
    assert_int_equal(sched_pending_count(s), 1);
    assert_int_equal(sched_cancel(s, &b), -1);
    assert_int_equal(sched_cancel(s, &a), -1);
    assert_int_equal(sched_running_count(s), 1);
    sched_job_end(s, &a, 10);
    rec r = {0};
    assert_int_equal(sched_pass(s, 10, on_start, &r), 1);
    assert_ptr_equal(r.j[0], &c);
    assert_int_equal(b.state, SCHED_JOB_DONE);
    assert_int_equal(sched_pending_count(s), 0);
    sched_destroy(s);
}

/* ---- deterministic replay ---------------------------------------------- */

#define RJOBS 80

typedef struct replay {
    sched_job j[RJOBS];
    int64_t run[RJOBS];
    int64_t log[RJOBS * 20];
    int nlog;
} replay;

static void on_start_log(sched_job *j, void *arg)
{
    replay *rp = arg;
    rp->log[rp->nlog++] = j->id;
    rp->log[rp->nlog++] = j->start;
    rp->log[rp->nlog++] = j->nalloc;
    for (int i = 0; i < j->nalloc; i++) {
        rp->log[rp->nlog++] = j->alloc[i].node;
        rp->log[rp->nlog++] = j->alloc[i].gpus;
    }
}

/*
 * A fixed pseudo-random mix (LCG) of 1/2/4/8-GPU jobs with CPU and memory
 * requests, gangs of 2-3 nodes and 16-GPU jobs, on 3 blocks x 4 nodes x 8
 * GPUs, driven to completion by a small event loop (ends, then arrivals,
 * then a pass). Returns the log of (id, start, nodes, per-node GPUs).
 */
static void replay_once(replay *rp, int policy)
{
    memset(rp, 0, sizeof *rp);
    sched *s = sched_create();
    sched_pool_add(s, "gpu", NULL);
    for (int b = 0; b < 3; b++) {
        char name[8];
        snprintf(name, sizeof name, "b%d", b);
        int bi = sched_block_add(s, name, b < 2 ? "s0" : "s1");
        add_nodes(s, 0, bi, 4, 8, 64, 512000);
    }
    finalize_ok(s);
    sched_set_policy(s, policy);
    uint64_t x = 12345;
    int64_t t = 0;
    for (int i = 0; i < RJOBS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned k = (unsigned)(x >> 33);
        sched_job *j = &rp->j[i];
        static const int32_t sizes[] = {1, 2, 4, 8, 1, 1, 2, 16};
        job_gpus(j, i + 1, 10 + (int64_t)(k % 97), sizes[k % 8]);
        if (k % 11 == 0) {
            j->gpus = 0;
            j->nodes = 2 + (int32_t)(k / 11 % 2);
        }
        if (k % 3 == 0)
            j->cpus_per_gpu = 8;
        if (k % 5 == 0)
            j->mem_per_gpu_mb = 32000;
        t += (int64_t)(k / 7 % 9);
        j->submit = t;
        rp->run[i] = j->time_limit - (int64_t)(k / 13 % 10); /* ends early */
    }
    int next = 0, ended = 0;
    int64_t now = 0;
    while (ended < RJOBS) {
        int64_t tnext = INT64_MAX;
        if (next < RJOBS)
            tnext = rp->j[next].submit;
        for (int i = 0; i < RJOBS; i++)
            if (rp->j[i].state == SCHED_JOB_RUNNING && rp->j[i].start + rp->run[i] < tnext)
                tnext = rp->j[i].start + rp->run[i];
        assert_true(tnext != INT64_MAX && tnext >= now);
        now = tnext;
        for (int i = 0; i < RJOBS; i++)
            if (rp->j[i].state == SCHED_JOB_RUNNING && rp->j[i].start + rp->run[i] == now) {
                sched_job_end(s, &rp->j[i], now);
                ended++;
            }
        while (next < RJOBS && rp->j[next].submit == now)
            submit_ok(s, &rp->j[next++]);
        sched_pass(s, now, on_start_log, rp);
        for (int n = 0; n < sched_node_count(s); n++) {
            int f = sched_node_free_gpus(s, n);
            assert_true(f >= 0 && f <= 8);
        }
    }
    assert_int_equal(sched_pending_count(s), 0);
    assert_int_equal(sched_running_count(s), 0);
    assert_int_equal(sched_free_gpus(s), 96);
    sched_destroy(s);
}

static void test_deterministic_replay(void **state)
{
    (void)state;
    static replay r1, r2;
    for (int pol = SCHED_FCFS; pol <= SCHED_CONSERVATIVE; pol++) {
        replay_once(&r1, pol);
        replay_once(&r2, pol);
        assert_true(r1.nlog > 3 * RJOBS);
        assert_int_equal(r1.nlog, r2.nlog);
        assert_memory_equal(r1.log, r2.log, (size_t)r1.nlog * sizeof r1.log[0]);
        for (int i = 0; i < RJOBS; i++)
            assert_int_equal(r1.j[i].state, SCHED_JOB_DONE);
    }
}

/* sched_reprioritize: a new priority per job re-sorts the queue (ties keep
 * submission order), and the next pass starts in the new order. One node of
 * 8 GPUs, four 8-GPU jobs: only the top one can start. */
static int64_t prio_by_table(const sched_job *j, void *arg)
{
    const int64_t *tab = arg;
    return tab[j->id];
}

static void test_reprioritize_reorders_queue(void **state)
{
    (void)state;
    sched *s = sched_create();
    int p = sched_pool_add(s, "h100", "H100");
    add_nodes(s, p, -1, 1, 8, 0, 0);
    char err[SCHED_ERRLEN];
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    sched_set_policy(s, SCHED_FCFS);
    sched_job j[5];
    for (int i = 1; i <= 4; i++) {
        job_gpus(&j[i], i, 100, 8);
        submit_ok(s, &j[i]);
    }
    /* job 3 highest, 2 and 4 tie, 1 lowest: order 3, 2, 4, 1 */
    int64_t tab[5] = {0, 1, 5, 9, 5};
    sched_reprioritize(s, prio_by_table, tab);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 1);
    assert_int_equal(r.j[0]->id, 3);
    sched_job_end(s, &j[3], 10);
    r.n = 0;
    assert_int_equal(sched_pass(s, 10, on_start, &r), 1);
    assert_int_equal(r.j[0]->id, 2);
    /* lift job 1 above the rest */
    int64_t tab2[5] = {0, 50, 0, 0, 5};
    sched_reprioritize(s, prio_by_table, tab2);
    sched_job_end(s, &j[2], 20);
    r.n = 0;
    assert_int_equal(sched_pass(s, 20, on_start, &r), 1);
    assert_int_equal(r.j[0]->id, 1);
    sched_job_end(s, &j[1], 30);
    r.n = 0;
    assert_int_equal(sched_pass(s, 30, on_start, &r), 1);
    assert_int_equal(r.j[0]->id, 4);
    sched_destroy(s);
}

/*
 * A bucket of the index remembers the CPUs a scan of it failed to find, and
 * forgets it when a node enters the bucket. Two nodes of 8 GPUs and 16
 * CPUs: node 0 runs H and I (4 GPUs each, no CPUs; best fit packs them);
 * node 1 runs E (4 GPUs, 12 CPUs) and keeps 4 GPUs with 4 CPUs. D (4 GPUs,
 * 12 CPUs) finds no node (bucket 4 holds node 1, short of CPUs). When I
 * ends, node 0 enters bucket 4 with 16 CPUs free: D must start there.
 */
static void test_failed_bucket_scan_forgotten_when_node_enters(void **state)
{
    (void)state;
    sched *s = sched_create();
    assert_int_equal(sched_pool_add(s, "gpu", "H100"), 0);
    add_nodes(s, 0, -1, 2, 8, 16, 512000);
    finalize_ok(s);
    sched_set_policy(s, SCHED_EASY);
    sched_job e, h, i, d;
    job_gpus(&h, 1, 100, 4); /* queue order: h, i, e (ids) */
    job_gpus(&i, 2, 50, 4);
    job_gpus(&e, 3, 100, 4);
    e.cpus_per_gpu = 3;
    rec r = {0};
    submit_ok(s, &h);
    submit_ok(s, &i);
    submit_ok(s, &e);
    assert_int_equal(sched_pass(s, 0, on_start, &r), 3);
    assert_int_equal(node_of(&h, 0), 0);
    assert_int_equal(node_of(&i, 0), 0);
    assert_int_equal(node_of(&e, 0), 1);
    job_gpus(&d, 4, 10, 4);
    d.cpus_per_gpu = 3;
    submit_ok(s, &d);
    assert_int_equal(sched_pass(s, 10, on_start, &r), 0);
    assert_int_equal(sched_pass(s, 20, on_start, &r), 0);
    sched_job_end(s, &i, 50);
    assert_int_equal(sched_pass(s, 50, on_start, &r), 1);
    assert_int_equal(d.state, SCHED_JOB_RUNNING);
    assert_int_equal(node_of(&d, 0), 0);
    sched_destroy(s);
}

/* ---- span pools: one-GPU nodes, no topology, all alike ----------------- */

/* A pool of n one-GPU nodes with 4 CPUs and 8 GB each; with_block 0: no
 * block (a span pool, src/libsched/span.c), else all in one block "b0" (the
 * per-node path, the same machine for any count). gpu_nodes > 0 adds a
 * second pool "gpu" of that many 8-GPU nodes (never a span pool). */
static sched *unit_cluster(int n, int with_block, int gpu_nodes, int policy)
{
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "cpu", "proc"), 0);
    int b = with_block ? sched_block_add(s, "b0", NULL) : -1;
    add_nodes(s, 0, b, n, 1, 4, 8000);
    if (gpu_nodes > 0) {
        assert_int_equal(sched_pool_add(s, "gpu", "H100"), 1);
        add_nodes(s, 1, -1, gpu_nodes, 8, 64, 512000);
    }
    finalize_ok(s);
    sched_set_policy(s, policy);
    return s;
}

/*
 * In a span pool a job still gets one alloc entry per node: a gang the
 * lowest free nodes, whole (all CPUs and memory), a single-node job its
 * request; the getters see a gang's nodes busy whole and a single-node
 * job's share; an end gives the nodes back; a node taken DOWN while busy
 * stays out of the free count after the end, and back UP it counts again.
 */
static void test_span_pool_allocations_and_getters(void **state)
{
    (void)state;
    sched *s = unit_cluster(8, 0, 0, SCHED_EASY);
    sched_job g, one, two;
    job_gpus(&g, 1, 100, 3);            /* 3 processors: a gang of 3 nodes */
    job_gpus(&one, 2, 100, 1);
    one.cpus_per_gpu = 2;
    one.mem_per_gpu_mb = 3000;
    job_gang(&two, 3, 50, 2);
    submit_ok(s, &g);
    submit_ok(s, &one);
    submit_ok(s, &two);
    rec r = {0};
    assert_int_equal(sched_pass(s, 0, on_start, &r), 3);
    assert_int_equal(g.nalloc, 3);
    assert_int_equal(g.alloced_gpus, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g.alloc[i].node, i);
        assert_int_equal(g.alloc[i].gpus, 1);
        assert_int_equal(g.alloc[i].cpus, 4);
        assert_int_equal(g.alloc[i].mem_mb, 8000);
    }
    assert_int_equal(one.nalloc, 1);
    assert_int_equal(one.alloc[0].node, 3);
    assert_int_equal(one.alloc[0].cpus, 2);
    assert_int_equal(one.alloc[0].mem_mb, 3000);
    assert_int_equal(two.alloc[0].node, 4);
    assert_int_equal(two.alloc[1].node, 5);
    assert_int_equal(sched_free_gpus(s), 2);
    sched_node_info ni;
    assert_int_equal(sched_node_get(s, 1, &ni), 0);
    assert_int_equal(ni.free_gpus, 0);
    assert_int_equal(ni.free_cpus, 0);
    assert_int_equal(ni.free_mem_mb, 0);
    assert_int_equal(ni.njobs, 1);
    assert_int_equal(sched_node_get(s, 3, &ni), 0);
    assert_int_equal(ni.free_gpus, 0);
    assert_int_equal(ni.free_cpus, 2);
    assert_int_equal(ni.free_mem_mb, 5000);
    assert_int_equal(ni.njobs, 1);
    assert_int_equal(sched_node_get(s, 6, &ni), 0);
    assert_int_equal(ni.free_gpus, 1);
    assert_int_equal(ni.free_cpus, 4);
    assert_int_equal(ni.njobs, 0);
    assert_int_equal(sched_node_free_gpus(s, 0), 0);
    assert_int_equal(sched_node_free_gpus(s, 7), 1);

    /* node 1 goes DOWN under the gang, node 6 (free) too */
    assert_int_equal(sched_node_set_state(s, 1, SCHED_NODE_DOWN), 0);
    assert_int_equal(sched_node_set_state(s, 6, SCHED_NODE_DOWN), 0);
    assert_int_equal(sched_free_gpus(s), 1);
    sched_job_end(s, &g, 40);
    assert_int_equal(sched_free_gpus(s), 3); /* nodes 0 and 2; 1 is DOWN */
    assert_int_equal(sched_node_free_gpus(s, 1), 1);
    sched_job_end(s, &one, 40);
    assert_int_equal(sched_node_get(s, 3, &ni), 0);
    assert_int_equal(ni.free_cpus, 4);
    assert_int_equal(ni.njobs, 0);
    assert_int_equal(sched_free_gpus(s), 4);

    /* a gang of 5 does not fit the 4 free UP nodes (7 would be needed
     * with the DOWN ones); once node 1 is back it starts on the lowest */
    sched_job five;
    job_gpus(&five, 4, 10, 5);
    submit_ok(s, &five);
    r.n = 0;
    assert_int_equal(sched_pass(s, 40, on_start, &r), 0);
    assert_int_equal(sched_node_set_state(s, 1, SCHED_NODE_UP), 0);
    assert_int_equal(sched_free_gpus(s), 5);
    assert_int_equal(sched_pass(s, 41, on_start, &r), 1);
    int32_t want[5] = {0, 1, 2, 3, 7};
    for (int i = 0; i < 5; i++)
        assert_int_equal(five.alloc[i].node, want[i]);
    assert_int_equal(sched_free_gpus(s), 0);
    sched_destroy(s);
}

/* sched_restore_running in a span pool: the named nodes, in the order
 * given, are busy until the end; a node named twice or already busy is
 * refused. */
static void test_span_pool_restore_running(void **state)
{
    (void)state;
    sched *s = unit_cluster(8, 0, 0, SCHED_EASY);
    char err[SCHED_ERRLEN] = "";
    sched_job a, b, c;
    job_gpus(&a, 1, 100, 3);
    int32_t na[3] = {6, 2, 3};
    assert_int_equal(sched_restore_running(s, &a, na, 3, 0, err, sizeof err), 0);
    assert_int_equal(a.state, SCHED_JOB_RUNNING);
    assert_int_equal(a.alloc[0].node, 6);
    assert_int_equal(a.alloc[1].node, 2);
    assert_int_equal(sched_free_gpus(s), 5);
    for (int n = 0; n < 8; n++)
        assert_int_equal(sched_node_free_gpus(s, n), n == 6 || n == 2 || n == 3 ? 0 : 1);
    job_gpus(&b, 2, 100, 2);
    int32_t nb[2] = {4, 4};
    assert_int_equal(sched_restore_running(s, &b, nb, 2, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    job_gpus(&c, 3, 100, 2);
    int32_t nc[2] = {5, 6};
    assert_int_equal(sched_restore_running(s, &c, nc, 2, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "capacity"));
    assert_int_equal(sched_free_gpus(s), 5);
    /* a job of 5 starts on what is left */
    sched_job d;
    job_gpus(&d, 4, 10, 5);
    submit_ok(s, &d);
    rec r = {0};
    assert_int_equal(sched_pass(s, 1, on_start, &r), 1);
    int32_t want[5] = {0, 1, 4, 5, 7};
    for (int i = 0; i < 5; i++)
        assert_int_equal(d.alloc[i].node, want[i]);
    sched_job_end(s, &a, 5);
    assert_int_equal(sched_free_gpus(s), 3);
    sched_job_end(s, &d, 11);
    assert_int_equal(sched_free_gpus(s), 8);
    sched_destroy(s);
}

/*
 * The span pool decides exactly as the per-node path: the same random
 * workload (single-node jobs with CPU and memory requests, gangs given as
 * node counts and as processor counts, held jobs released later, jobs
 * ending early, nodes going DOWN or draining and coming back) runs in
 * lockstep on a span pool and on the same nodes in one block, under each
 * policy, and after every pass every job has the same state, start, size,
 * reservation time and pending reason. Node state changes pick nodes by
 * rank (the i-th free UP node, the i-th node of a running job), since the
 * two pools may hold different node numbers. Also checks the span pool's
 * bookkeeping: each node busy iff some running job lists it.
 */
#define DJOBS 160
#define DNODES 40

typedef struct dside {
    sched *s;
    sched_job j[DJOBS];
    int32_t down[DNODES];
    int ndown;
} dside;

static uint64_t dlcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static int32_t nth_free_up(const sched *s, uint64_t k, int *count)
{
    int c = 0;
    for (int n = 0; n < DNODES; n++) {
        sched_node_info ni;
        sched_node_get(s, n, &ni);
        c += ni.state == SCHED_NODE_UP && ni.free_gpus == 1;
    }
    *count = c;
    if (c == 0)
        return -1;
    k %= (uint64_t)c;
    for (int n = 0; n < DNODES; n++) {
        sched_node_info ni;
        sched_node_get(s, n, &ni);
        if (ni.state == SCHED_NODE_UP && ni.free_gpus == 1 && k-- == 0)
            return n;
    }
    return -1;
}

static void span_invariants(dside *d)
{
    int busy[DNODES] = {0};
    int64_t free_up = 0;
    for (int i = 0; i < DJOBS; i++) {
        const sched_job *j = &d->j[i];
        if (j->state != SCHED_JOB_RUNNING || j->pool != 0)
            continue;
        assert_int_equal(j->nalloc, j->alloced_gpus);
        for (int a = 0; a < j->nalloc; a++) {
            assert_true(j->alloc[a].node >= 0 && j->alloc[a].node < DNODES);
            assert_int_equal(busy[j->alloc[a].node], 0);
            busy[j->alloc[a].node] = 1;
        }
    }
    for (int n = 0; n < DNODES; n++) {
        sched_node_info ni;
        assert_int_equal(sched_node_get(d->s, n, &ni), 0);
        assert_int_equal(ni.free_gpus, !busy[n]);
        assert_int_equal(ni.njobs, busy[n]);
        free_up += !busy[n] && ni.state == SCHED_NODE_UP;
    }
    int64_t other = 0; /* the free GPUs of the second pool, if any */
    for (int n = DNODES; n < sched_node_count(d->s); n++) {
        sched_node_info ni;
        sched_node_get(d->s, n, &ni);
        other += ni.state == SCHED_NODE_UP ? ni.free_gpus : 0;
    }
    assert_int_equal(sched_free_gpus(d->s), free_up + other);
}

static void differential_run(int policy, uint64_t seed, int gpu_nodes)
{
    static dside side[2];
    static int64_t run[DJOBS];
    for (int k = 0; k < 2; k++) {
        memset(&side[k], 0, sizeof side[k]);
        side[k].s = unit_cluster(DNODES, k, gpu_nodes, policy);
    }
    uint64_t x = seed;
    int64_t t = 0;
    for (int i = 0; i < DJOBS; i++) {
        uint64_t k = dlcg(&x);
        sched_job proto;
        switch (k % 6) {
        case 0: case 1: /* serial, with CPUs and memory */
            job_gpus(&proto, i + 1, 5, 1);
            proto.cpus_per_gpu = (int32_t)(k / 6 % 5);
            proto.mem_per_gpu_mb = (int64_t)(k / 30 % 3) * 4000;
            break;
        case 2: case 3: /* processors as a total */
            job_gpus(&proto, i + 1, 5, 2 + (int32_t)(k / 6 % 14));
            break;
        case 4: /* a gang of nodes */
            job_gang(&proto, i + 1, 5, 2 + (int32_t)(k / 6 % 6));
            break;
        default: /* wide */
            job_gpus(&proto, i + 1, 5, 10 + (int32_t)(k / 6 % (DNODES - 9)));
            break;
        }
        uint64_t k2 = dlcg(&x);
        proto.time_limit = (int64_t)(k2 % 60);             /* 0 .. 59 */
        run[i] = k2 / 60 % 3 == 0 ? proto.time_limit
                                  : proto.time_limit * (int64_t)(k2 / 180 % 10) / 10;
        proto.held = k2 % 17 == 0;
        if (gpu_nodes > 0) /* any pool, the processors only, the GPUs only */
            proto.pools = (uint64_t)(k2 / 1800 % 3);
        t += (int64_t)(dlcg(&x) % 6);
        proto.submit = t;
        side[0].j[i] = proto;
        side[1].j[i] = proto;
    }
    int next = 0, ended = 0, guard = 0;
    int64_t now = 0;
    while (ended < DJOBS) {
        assert_true(++guard < 100000);
        int64_t tnext = next < DJOBS ? side[0].j[next].submit : INT64_MAX;
        for (int i = 0; i < DJOBS; i++)
            if (side[0].j[i].state == SCHED_JOB_RUNNING &&
                side[0].j[i].start + run[i] < tnext)
                tnext = side[0].j[i].start + run[i];
        int stuck = tnext == INT64_MAX;
        now = stuck ? now + 1 : tnext;
        for (int i = 0; i < DJOBS; i++)
            if (side[0].j[i].state == SCHED_JOB_RUNNING && side[0].j[i].start + run[i] == now) {
                for (int k = 0; k < 2; k++)
                    sched_job_end(side[k].s, &side[k].j[i], now);
                ended++;
            }
        /* node state changes and releases of held jobs, by rank */
        uint64_t op = dlcg(&x);
        if (stuck) {
            for (int k = 0; k < 2; k++) {
                for (int d = 0; d < side[k].ndown; d++)
                    sched_node_set_state(side[k].s, side[k].down[d], SCHED_NODE_UP);
                side[k].ndown = 0;
                for (int i = 0; i < DJOBS; i++)
                    side[k].j[i].held = 0;
            }
        } else if (op % 5 == 0) {
            int c0, c1;
            uint64_t r = dlcg(&x);
            int32_t n0 = nth_free_up(side[0].s, r, &c0), n1 = nth_free_up(side[1].s, r, &c1);
            assert_int_equal(c0, c1);
            if (n0 >= 0 && side[0].ndown < DNODES / 4) {
                int st = r % 2 ? SCHED_NODE_DOWN : SCHED_NODE_DRAIN;
                assert_int_equal(sched_node_set_state(side[0].s, n0, st), 0);
                assert_int_equal(sched_node_set_state(side[1].s, n1, st), 0);
                side[0].down[side[0].ndown++] = n0;
                side[1].down[side[1].ndown++] = n1;
            }
        } else if (op % 5 == 1 && side[0].ndown < DNODES / 4) {
            /* drain a node under a running job: its j-th node on both sides */
            uint64_t r = dlcg(&x);
            int list[DJOBS], nrun = 0;
            for (int i = 0; i < DJOBS; i++)
                if (side[0].j[i].state == SCHED_JOB_RUNNING)
                    list[nrun++] = i;
            if (nrun > 0) {
                int i = list[r % (uint64_t)nrun];
                int a = (int)(r / 7 % (uint64_t)side[0].j[i].nalloc);
                sched_node_info n0, n1;
                sched_node_get(side[0].s, side[0].j[i].alloc[a].node, &n0);
                sched_node_get(side[1].s, side[1].j[i].alloc[a].node, &n1);
                assert_int_equal(n0.state, n1.state);
                for (int k = 0; k < 2 && n0.state == SCHED_NODE_UP; k++) {
                    int32_t n = side[k].j[i].alloc[a].node;
                    assert_int_equal(sched_node_set_state(side[k].s, n, SCHED_NODE_DRAIN), 0);
                    side[k].down[side[k].ndown++] = n;
                }
            }
        } else if (op % 5 == 2 && side[0].ndown > 0) {
            int d = (int)(dlcg(&x) % (uint64_t)side[0].ndown);
            for (int k = 0; k < 2; k++) {
                assert_int_equal(sched_node_set_state(side[k].s, side[k].down[d], SCHED_NODE_UP), 0);
                side[k].down[d] = side[k].down[--side[k].ndown];
            }
        } else if (op % 5 == 3) {
            for (int i = 0; i < DJOBS; i++)
                if (side[0].j[i].held && side[0].j[i].state == SCHED_JOB_PENDING &&
                    dlcg(&x) % 3 == 0)
                    side[0].j[i].held = side[1].j[i].held = 0;
        }
        while (next < DJOBS && side[0].j[next].submit == now) {
            /* a request its pools can never hold is refused by both */
            char err[SCHED_ERRLEN];
            int rc0 = sched_submit(side[0].s, &side[0].j[next], err, sizeof err);
            int rc1 = sched_submit(side[1].s, &side[1].j[next], err, sizeof err);
            assert_int_equal(rc0, rc1);
            assert_true(rc0 == 0 || gpu_nodes > 0);
            ended += rc0 != 0;
            next++;
        }
        int st0 = sched_pass(side[0].s, now, NULL, NULL);
        int st1 = sched_pass(side[1].s, now, NULL, NULL);
        assert_int_equal(st0, st1);
        for (int i = 0; i < DJOBS; i++) {
            const sched_job *a = &side[0].j[i], *b = &side[1].j[i];
            if (a->state != b->state || a->start != b->start || a->est_start != b->est_start ||
                a->alloced_gpus != b->alloced_gpus ||
                sched_job_reason(side[0].s, a) != sched_job_reason(side[1].s, b))
                fail_msg("policy %d seed %llu t=%lld job %d: state %d/%d start %lld/%lld "
                         "est %lld/%lld gpus %d/%d reason %d/%d",
                         policy, (unsigned long long)seed, (long long)now, i + 1, a->state,
                         b->state, (long long)a->start, (long long)b->start,
                         (long long)a->est_start, (long long)b->est_start, a->alloced_gpus,
                         b->alloced_gpus, sched_job_reason(side[0].s, a),
                         sched_job_reason(side[1].s, b));
        }
        assert_int_equal(sched_free_gpus(side[0].s), sched_free_gpus(side[1].s));
        span_invariants(&side[0]);
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sched_pending_count(side[k].s), 0);
        sched_destroy(side[k].s);
    }
}

static void test_span_pool_matches_per_node_path(void **state)
{
    (void)state;
    for (int pol = SCHED_FCFS; pol <= SCHED_CONSERVATIVE; pol++)
        for (uint64_t seed = 1; seed <= 12; seed++) {
            differential_run(pol, seed * 7919, 0);
            differential_run(pol, seed * 7919, 3); /* with a pool of 8-GPU nodes */
        }
}

/* sched_queue_first/next: the pending jobs in the pass's order (priority,
 * then submit time, id, submission order), held jobs included, started and
 * cancelled ones gone, the new order after sched_reprioritize. */
static int64_t prio_by_id(const sched_job *j, void *arg)
{
    (void)arg;
    return j->id == 3 ? 10 : 0; /* job 3 first, the rest as before */
}

static void test_queue_iterator(void **state)
{
    (void)state;
    sched *s = flat_cluster(1, SCHED_FCFS);
    sched_job j[6];
    /* id, submit, priority: the queue order is 2 (prio 5), 5 (submit 1, held),
     * 4 (submit 2), 1 (submit 3), 6 (submit 3, id 6), then 3 (submit 4) */
    const int64_t submit[6] = {3, 0, 4, 2, 1, 3}, prio[6] = {0, 5, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        job_gpus(&j[i], i + 1, 100, 8);
        j[i].submit = submit[i];
        j[i].priority = prio[i];
    }
    j[4].held = 1;
    for (int i = 0; i < 6; i++)
        submit_ok(s, &j[i]);
    int64_t want[6] = {2, 5, 4, 1, 6, 3}, n = 0;
    for (sched_job *q = sched_queue_first(s); q; q = sched_queue_next(q))
        assert_int_equal(q->id, want[n++]);
    assert_int_equal(n, 6);
    /* one 8-GPU node: the pass starts job 2 (the held job 5 is skipped) */
    rec r = {0};
    assert_int_equal(sched_pass(s, 10, on_start, &r), 1);
    assert_int_equal(r.j[0]->id, 2);
    assert_int_equal(sched_cancel(s, &j[3]), 0); /* job 4 */
    int64_t want2[4] = {5, 1, 6, 3};
    n = 0;
    for (sched_job *q = sched_queue_first(s); q; q = sched_queue_next(q))
        assert_int_equal(q->id, want2[n++]);
    assert_int_equal(n, 4);
    assert_null(sched_queue_next(&j[1])); /* a running job is in no queue */
    sched_reprioritize(s, prio_by_id, NULL);
    int64_t want3[4] = {3, 5, 1, 6};
    n = 0;
    for (sched_job *q = sched_queue_first(s); q; q = sched_queue_next(q))
        assert_int_equal(q->id, want3[n++]);
    assert_int_equal(n, 4);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_fit_packs_single_gpu_jobs),
        cmocka_unit_test(test_gang_placed_inside_one_block),
        cmocka_unit_test(test_gang_spanning_blocks_takes_fewest),
        cmocka_unit_test(test_gang_stays_under_one_spine),
        cmocka_unit_test(test_gang_best_fit_block),
        cmocka_unit_test(test_gang_all_or_nothing),
        cmocka_unit_test(test_gang_given_as_total_gpus),
        cmocka_unit_test(test_pool_restriction),
        cmocka_unit_test(test_cpu_and_memory_limit_placement),
        cmocka_unit_test(test_easy_reservation_keeps_long_jobs_off_reserved_nodes),
        cmocka_unit_test(test_est_start_equals_shadow_time),
        cmocka_unit_test(test_conservative_backfill_keeps_gang_reservation_whole),
        cmocka_unit_test(test_drain_and_down_nodes_get_no_new_jobs),
        cmocka_unit_test(test_pending_reasons),
        cmocka_unit_test(test_submit_refuses_bad_requests),
        cmocka_unit_test(test_cancel_pending_job),
        cmocka_unit_test(test_deterministic_replay),
        cmocka_unit_test(test_reprioritize_reorders_queue),
        cmocka_unit_test(test_failed_bucket_scan_forgotten_when_node_enters),
        cmocka_unit_test(test_span_pool_allocations_and_getters),
        cmocka_unit_test(test_span_pool_restore_running),
        cmocka_unit_test(test_span_pool_matches_per_node_path),
        cmocka_unit_test(test_queue_iterator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
