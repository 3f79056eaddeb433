/*
 * Unit tests of guaranteed quotas, borrowing and the preemption plan
 * (src/libsched/acct_preempt.c, acct.h). Hand-made cases on one pool of
 * four 8-GPU nodes; every expected victim is worked out beside its check:
 * fewest victims first, then the youngest; no preemption for work beyond a
 * guarantee unless the job's QOS has rights over the victim's; borrowing
 * while the owner is idle; gangs placed on the nodes the victims free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acct.h"
#include "libsched.h"

static char err[ACCT_ERRLEN];

static int must(int rc)
{
    if (rc < 0)
        fail_msg("unexpected failure: %s", err);
    return rc;
}

/* A job seen by both layers. */
typedef struct tjob {
    sched_job sj;
    acct_job aj;
} tjob;

/* The world of a test: 4 nodes x 8 GPUs in pool h100; tiers fm (project llm)
 * and uni (project vis), project st under a startup tier; QOS normal, low,
 * high (high may preempt low). */
typedef struct world {
    sched *s;
    acct_center *a;
    int llm, vis, st, fm;
    int q_normal, q_low, q_high;
    tjob jobs[32];
    int njobs;
} world;

static void on_start(sched_job *sj, void *arg)
{
    world *w = arg;
    tjob *j = (tjob *)(void *)sj; /* sj is the first member */
    acct_job_start(w->a, &j->aj, sj->pool, sj->alloced_gpus, sj->start);
}

static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    w->s = sched_create();
    sched_pool_add(w->s, "h100", "H100");
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        sched_node_add(w->s, name, 0, -1, 8, 64, 512000);
    }
    assert_int_equal(sched_finalize(w->s, err, sizeof err), 0);
    sched_set_policy(w->s, SCHED_EASY);
    w->a = acct_create("nsc");
    const char *names[] = {"h100"};
    double rates[] = {1.0};
    must(acct_set_pools(w->a, 1, names, rates, 32, err, sizeof err));
    acct_qos_def q;
    memset(&q, 0, sizeof q);
    snprintf(q.name, sizeof q.name, "normal");
    w->q_normal = must(acct_qos_add(w->a, &q, err, sizeof err));
    snprintf(q.name, sizeof q.name, "low");
    w->q_low = must(acct_qos_add(w->a, &q, err, sizeof err));
    snprintf(q.name, sizeof q.name, "high");
    q.preempt = (uint64_t)1 << w->q_low;
    w->q_high = must(acct_qos_add(w->a, &q, err, sizeof err));
    w->fm = must(acct_account_add(w->a, 0, ACCT_TIER, "fm", 1, err, sizeof err));
    int uni = must(acct_account_add(w->a, 0, ACCT_TIER, "uni", 1, err, sizeof err));
    int su = must(acct_account_add(w->a, 0, ACCT_TIER, "startup", 1, err, sizeof err));
    w->llm = must(acct_account_add(w->a, w->fm, ACCT_PROJECT, "llm", 1, err, sizeof err));
    w->vis = must(acct_account_add(w->a, uni, ACCT_PROJECT, "vis", 1, err, sizeof err));
    w->st = must(acct_account_add(w->a, su, ACCT_PROJECT, "st", 1, err, sizeof err));
}

static void world_free(world *w)
{
    sched_destroy(w->s);
    acct_destroy(w->a);
}

/* Queues a job of `project` (gpus on one node, or nodes x 8 when nodes > 0)
 * at time t and runs a pass: it starts if it fits. Returns its index. */
static int submit(world *w, int project, int qos, int gpus, int nodes, int64_t t)
{
    int i = w->njobs++;
    tjob *j = &w->jobs[i];
    memset(j, 0, sizeof *j);
    j->sj.id = i + 1;
    j->sj.submit = t;
    j->sj.time_limit = 10000;
    j->sj.gpus = nodes > 0 ? 0 : gpus;
    j->sj.nodes = nodes;
    j->sj.gpus_per_node = nodes > 0 ? 8 : 0;
    acct_job_init(&j->aj);
    j->aj.project = project;
    j->aj.qos = qos;
    j->aj.gpus = nodes > 0 ? nodes * 8 : gpus;
    j->aj.submit = t;
    j->aj.time_limit = 10000;
    if (acct_admit(w->a, &j->aj, t, err, sizeof err) != 0)
        fail_msg("admit: %s", err);
    j->sj.account = (uint32_t)project;
    assert_int_equal(sched_submit(w->s, &j->sj, err, sizeof err), 0);
    sched_pass(w->s, t, on_start, w);
    return i;
}

/* The running jobs, classified; returns how many. */
static size_t running(world *w, acct_running *run, int *index)
{
    size_t n = 0;
    for (int i = 0; i < w->njobs; i++)
        if (w->jobs[i].sj.state == SCHED_JOB_RUNNING) {
            run[n] = (acct_running){&w->jobs[i].sj, &w->jobs[i].aj, 0, 0};
            index[n++] = i;
        }
    acct_running_classify(w->a, run, n);
    return n;
}

/* The plan of job i as job indexes, sorted ascending, into out; returns how many. */
static size_t plan(world *w, int i, int *out, acct_preempt_plan *p)
{
    acct_running run[32];
    int index[32];
    size_t v[32];
    size_t n = running(w, run, index);
    size_t nv = acct_preempt_plan_job(w->a, w->s, &w->jobs[i].aj, &w->jobs[i].sj, run, n, NULL, 0, v, p);
    assert_int_equal(nv, p->nvictims);
    for (size_t k = 0; k < nv; k++)
        out[k] = index[v[k]];
    for (size_t k = 1; k < nv; k++) /* insertion sort: a handful */
        for (size_t m = k; m > 0 && out[m - 1] > out[m]; m--) {
            int t = out[m];
            out[m] = out[m - 1];
            out[m - 1] = t;
        }
    return nv;
}

/* vis fills the cluster: A 8 GPUs (t 10), B 4 (t 20), C 4 (t 30: best fit
 * puts it beside B), D 8 (t 40), E 8 (t 50). Indexes 0..4. */
static void fill_with_vis(world *w, int qos_a, int qos_e)
{
    submit(w, w->vis, qos_a, 8, 0, 10);
    submit(w, w->vis, w->q_normal, 4, 0, 20);
    submit(w, w->vis, w->q_normal, 4, 0, 30);
    submit(w, w->vis, w->q_low, 8, 0, 40);
    submit(w, w->vis, qos_e, 8, 0, 50);
    for (int i = 0; i < 5; i++)
        assert_int_equal(w->jobs[i].sj.state, SCHED_JOB_RUNNING);
    assert_int_equal(w->jobs[1].sj.alloc[0].node, w->jobs[2].sj.alloc[0].node);
    assert_int_equal(sched_free_gpus(w->s), 0);
}

/* ---- the tests ------------------------------------------------------------- */

static void test_guarantee_settings(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    assert_int_equal(acct_preempt_enabled(w.a), 1); /* QOS high may preempt low */
    assert_int_equal(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err), 0);
    assert_int_equal(acct_guarantee_add(w.a, w.llm, 0, 8, err, sizeof err), -1);
    assert_string_equal(err, "llm already holds a guarantee in pool h100");
    assert_int_equal(acct_guarantee_add(w.a, w.vis, 1, 8, err, sizeof err), -1);
    assert_int_equal(acct_guarantee_add(w.a, w.vis, 0, 33, err, sizeof err), -1);
    assert_int_equal(acct_guarantee_add(w.a, 0, 0, 8, err, sizeof err), -1);
    assert_int_equal(acct_guarantee_count(w.a), 1);
    assert_int_equal(acct_guarantee_of(w.a, w.llm, 0), 16);
    assert_int_equal(acct_guarantee_of(w.a, w.vis, 0), 0);
    assert_int_equal(acct_guarantee_holder(w.a, w.llm, 0), w.llm);
    assert_int_equal(acct_guarantee_holder(w.a, w.vis, 0), ACCT_NONE);
    const acct_preempt_config *pc = acct_preempt(w.a);
    assert_int_equal(pc->grace, 300);
    assert_int_equal(pc->signal, 15);
    acct_preempt_config c = {-1, 15};
    assert_int_equal(acct_set_preempt(w.a, &c, err, sizeof err), -1);
    c = (acct_preempt_config){60, 10};
    assert_int_equal(acct_set_preempt(w.a, &c, err, sizeof err), 0);
    assert_int_equal(acct_preempt(w.a)->grace, 60);
    world_free(&w);
}

/* A tier's guarantee covers the projects below it; jobs of the holder
 * within G, oldest first, the rest borrow. llm (under fm, G 16 on fm): 8 at
 * t 1, 4 at t 2, 8 at t 3: sums 8, 12, 20 -> within, within, borrowing.
 * vis has no holder: borrowing. */
static void test_classify_oldest_within(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.fm, 0, 16, err, sizeof err));
    assert_int_equal(acct_guarantee_holder(w.a, w.llm, 0), w.fm);
    submit(&w, w.llm, -1, 8, 0, 1);
    submit(&w, w.llm, -1, 4, 0, 2);
    submit(&w, w.llm, -1, 8, 0, 3);
    submit(&w, w.vis, -1, 4, 0, 4);
    acct_running run[32];
    int index[32];
    size_t n = running(&w, run, index);
    assert_int_equal(n, 4);
    int want[] = {0, 0, 1, 1};
    for (size_t k = 0; k < n; k++)
        assert_int_equal(run[k].borrowing, want[index[k]]);
    world_free(&w);
}

/* Borrowing while the owner is idle: llm (G 16) runs nothing, vis takes
 * all 32 GPUs, all borrowing. A vis job waiting has no plan (no holder, no
 * QOS rights); neither has an llm job that fits on free GPUs. */
static void test_borrow_while_owner_idle(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    fill_with_vis(&w, w.q_normal, w.q_normal);
    acct_running run[32];
    int index[32];
    size_t n = running(&w, run, index);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(run[k].borrowing, 1);
    int vj = submit(&w, w.vis, -1, 8, 0, 60);
    int got[32];
    acct_preempt_plan p;
    assert_int_equal(plan(&w, vj, got, &p), 0);
    assert_int_equal(p.why, ACCT_PREEMPT_NONE);
    world_free(&w);

    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    submit(&w, w.vis, -1, 8, 0, 10);
    int lj = submit(&w, w.llm, -1, 8, 0, 20);
    assert_int_equal(w.jobs[lj].sj.state, SCHED_JOB_RUNNING); /* free GPUs: no preemption */
    world_free(&w);
}

/* Fewest, then youngest. Nodes: {A 8, t 10}, {B 4 t 20, C 4 t 30},
 * {D 8, t 40}, {E 8, t 50}. llm (G 16, idle) asks 8 GPUs: covered (0 + 8
 * <= 16). One victim suffices on n(A), n(D), n(E); two on n(B,C). Among
 * the one-victim nodes, the youngest victim: E. Asking 4 GPUs: B or C alone
 * would do on their node (C, the younger), but every node needs one victim
 * and E is the youngest of all: E again. */
static void test_fewest_then_youngest(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    fill_with_vis(&w, w.q_normal, w.q_normal);
    int lj = submit(&w, w.llm, -1, 8, 0, 100);
    assert_int_equal(w.jobs[lj].sj.state, SCHED_JOB_PENDING);
    int got[32];
    acct_preempt_plan p;
    assert_int_equal(plan(&w, lj, got, &p), 1);
    assert_int_equal(got[0], 4); /* E */
    assert_int_equal(p.why, ACCT_PREEMPT_GUARANTEE);
    assert_int_equal(p.pool, 0);
    assert_int_equal(p.holder, w.llm);
    assert_int_equal(p.freed_gpus, 8);
    assert_string_equal(acct_preempt_why_name(p.why), "guarantee");
    assert_int_equal(p.gpus, 8);
    {
        /* with 16 GPUs of llm's already claimed by waiting preemptors, the
         * job is not covered (0 + 16 + 8 > 16): no plan */
        acct_running run[32];
        int index[32];
        size_t v[32];
        size_t n = running(&w, run, index);
        acct_claim cl = {w.llm, 0, 16};
        assert_int_equal(acct_preempt_plan_job(w.a, w.s, &w.jobs[lj].aj, &w.jobs[lj].sj, run,
                                               n, &cl, 1, v, &p), 0);
        cl.gpus = 8; /* 8 + 8 <= 16: covered */
        assert_int_equal(acct_preempt_plan_job(w.a, w.s, &w.jobs[lj].aj, &w.jobs[lj].sj, run,
                                               n, &cl, 1, v, &p), 1);
    }
    sched_cancel(w.s, &w.jobs[lj].sj);
    acct_job_cancel(w.a, &w.jobs[lj].aj, 100);

    lj = submit(&w, w.llm, -1, 4, 0, 101);
    assert_int_equal(plan(&w, lj, got, &p), 1);
    assert_int_equal(got[0], 4); /* E */
    world_free(&w);
}

/* Among equal counts on one node, the youngest that still suffice: the node
 * of B (4, t 20) and C (4, t 30) with E (8 GPUs) already being preempted
 * (never chosen twice) and A, D within st's guarantee (never victims):
 * llm asking 4 GPUs takes C alone (one victim, younger than B). Asking 8
 * takes both. */
static void test_youngest_on_one_node(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    must(acct_guarantee_add(w.a, w.st, 0, 16, err, sizeof err));
    submit(&w, w.st, -1, 8, 0, 10);     /* A: within st's 16 */
    submit(&w, w.vis, -1, 4, 0, 20);    /* B */
    submit(&w, w.vis, -1, 4, 0, 30);    /* C */
    submit(&w, w.st, -1, 8, 0, 40);     /* D: within (16) */
    submit(&w, w.vis, -1, 8, 0, 50);    /* E */
    int lj = submit(&w, w.llm, -1, 4, 0, 100);
    acct_running run[32];
    int index[32];
    size_t v[32];
    size_t n = running(&w, run, index);
    for (size_t k = 0; k < n; k++)
        run[k].preempting = index[k] == 4; /* E already signalled */
    acct_preempt_plan p;
    size_t nv = acct_preempt_plan_job(w.a, w.s, &w.jobs[lj].aj, &w.jobs[lj].sj, run, n, NULL, 0, v, &p);
    assert_int_equal(nv, 1);
    assert_int_equal(index[v[0]], 2); /* C */
    sched_cancel(w.s, &w.jobs[lj].sj);
    acct_job_cancel(w.a, &w.jobs[lj].aj, 100);

    lj = submit(&w, w.llm, -1, 8, 0, 101);
    nv = acct_preempt_plan_job(w.a, w.s, &w.jobs[lj].aj, &w.jobs[lj].sj, run, n, NULL, 0, v, &p);
    assert_int_equal(nv, 2);
    int a0 = index[v[0]], a1 = index[v[1]];
    assert_true((a0 == 1 && a1 == 2) || (a0 == 2 && a1 == 1)); /* B and C */
    world_free(&w);
}

/* A gang of 2 x 8 (covered: G 16): the two one-victim nodes with the
 * youngest victims, E (t 50) and D (t 40). */
static void test_gang_takes_whole_nodes(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    fill_with_vis(&w, w.q_normal, w.q_normal);
    int lj = submit(&w, w.llm, -1, 0, 2, 100);
    int got[32];
    acct_preempt_plan p;
    assert_int_equal(plan(&w, lj, got, &p), 2);
    assert_int_equal(got[0], 3); /* D */
    assert_int_equal(got[1], 4); /* E */
    assert_int_equal(p.freed_gpus, 16);
    world_free(&w);
}

/* Beyond the guarantee: llm (G 16) runs 16 within; its next 8 GPUs are not
 * covered (16 + 8 > 16) and its QOS normal has no rights: no plan. In QOS
 * high (may preempt low): only the borrowing low jobs may go: D (low, t 40)
 * is the only one -> D. A within-guarantee low job of st is never taken. */
static void test_beyond_guarantee_needs_qos(void **state)
{
    (void)state;
    world w;
    world_init(&w);
    must(acct_guarantee_add(w.a, w.llm, 0, 16, err, sizeof err));
    must(acct_guarantee_add(w.a, w.st, 0, 8, err, sizeof err));
    submit(&w, w.llm, -1, 8, 0, 1);
    submit(&w, w.llm, -1, 8, 0, 2);
    submit(&w, w.st, w.q_low, 8, 0, 3);  /* within st's 8 */
    submit(&w, w.vis, w.q_low, 8, 0, 4); /* borrowing, low */
    assert_int_equal(sched_free_gpus(w.s), 0);
    int lj = submit(&w, w.llm, -1, 8, 0, 100);
    int got[32];
    acct_preempt_plan p;
    assert_int_equal(plan(&w, lj, got, &p), 0);
    assert_int_equal(p.why, ACCT_PREEMPT_NONE);
    sched_cancel(w.s, &w.jobs[lj].sj);
    acct_job_cancel(w.a, &w.jobs[lj].aj, 100);

    lj = submit(&w, w.llm, w.q_high, 8, 0, 101);
    assert_int_equal(plan(&w, lj, got, &p), 1);
    assert_int_equal(got[0], 3);
    assert_int_equal(p.why, ACCT_PREEMPT_QOS);
    assert_int_equal(p.holder, ACCT_NONE);
    world_free(&w);

    /* a QOS without rights over the borrower's QOS: nothing */
    world_init(&w);
    submit(&w, w.vis, w.q_normal, 8, 0, 1);
    submit(&w, w.vis, w.q_normal, 8, 0, 2);
    submit(&w, w.vis, w.q_normal, 8, 0, 3);
    submit(&w, w.vis, w.q_normal, 8, 0, 4);
    lj = submit(&w, w.st, w.q_high, 8, 0, 100);
    assert_int_equal(plan(&w, lj, got, &p), 0);
    world_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guarantee_settings),
        cmocka_unit_test(test_classify_oldest_within),
        cmocka_unit_test(test_borrow_while_owner_idle),
        cmocka_unit_test(test_fewest_then_youngest),
        cmocka_unit_test(test_youngest_on_one_node),
        cmocka_unit_test(test_gang_takes_whole_nodes),
        cmocka_unit_test(test_beyond_guarantee_needs_qos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
