/*
 * Unit tests of sched_job_end_by: a running job that will end by a given
 * time, earlier than start + time_limit (a preemption victim in its grace
 * period), through libsched's public API.
 *
 * The scene of most tests, 2 nodes x 8 GPUs (pool gpu, no blocks):
 *   L  8 GPUs, limit 5000    -> n0, from 0 (ends by 5000)
 *   V  4 GPUs, limit 100000  -> n1, from 0: the victim, told at 1000 that
 *                               it ends by 1060
 *   B  8 GPUs, limit 1000    pending from 1000: the big job
 * Without the bound B's earliest start is 5000 (n0 after L); with it, 1060
 * (n1 after V). A long 1-GPU job S (limit 100000) fits n1's 4 free GPUs
 * now, but would run past 1060 there: it backfills only without the bound.
 * A short one (limit 60, ends by 1060) backfills either way.
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

static void noop_start(sched_job *j, void *arg)
{
    (void)j;
    (void)arg;
}

static void job_gpus(sched_job *j, int64_t id, int64_t submit, int64_t limit, int32_t gpus)
{
    memset(j, 0, sizeof *j);
    j->id = id;
    j->submit = submit;
    j->time_limit = limit;
    j->gpus = gpus;
}

static void submit_ok(sched *s, sched_job *j)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_submit(s, j, err, sizeof err) != 0)
        fail_msg("sched_submit(job %lld): %s", (long long)j->id, err);
}

static void finalize_ok(sched *s)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_finalize(s, err, sizeof err) != 0)
        fail_msg("sched_finalize: %s", err);
}

/* One pool of `count` nodes of `gpus` GPUs, no blocks: with one-GPU nodes
 * alike, a span pool (span.c). */
static sched *cluster(int count, int gpus, int policy)
{
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "gpu", "H100"), 0);
    for (int i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        assert_true(sched_node_add(s, name, 0, -1, gpus, gpus * 8, (int64_t)gpus * 64000) >= 0);
    }
    finalize_ok(s);
    sched_set_policy(s, policy);
    return s;
}

typedef struct scene {
    sched *s;
    sched_job l, v, b, s_long, s_short, c;
} scene;

/* The scene above at 1000: L and V running, B queued (and C, a second
 * 8-GPU job behind it, when with_c), V told it ends by 1060 if tell. */
static void scene_setup(scene *sc, int policy, int tell, int with_c)
{
    sc->s = cluster(2, 8, policy);
    job_gpus(&sc->l, 1, 0, 5000, 8);
    job_gpus(&sc->v, 2, 0, 100000, 4);
    submit_ok(sc->s, &sc->l);
    submit_ok(sc->s, &sc->v);
    assert_int_equal(sched_pass(sc->s, 0, noop_start, NULL), 2);
    assert_int_equal(sc->l.alloc[0].node, 0);
    assert_int_equal(sc->v.alloc[0].node, 1);
    assert_int_equal(sc->v.end_by, 100000);
    job_gpus(&sc->b, 3, 1000, 1000, 8);
    submit_ok(sc->s, &sc->b);
    if (with_c) {
        job_gpus(&sc->c, 4, 1000, 1000, 8);
        submit_ok(sc->s, &sc->c);
    }
    if (tell)
        assert_int_equal(sched_job_end_by(sc->s, &sc->v, 1060), 0);
    assert_int_equal(sched_pass(sc->s, 1000, noop_start, NULL), 0);
}

/* ---- EASY --------------------------------------------------------------- */

/* The bound moves B's reservation from 5000 (n0 after L) to 1060 (n1 after
 * V), and keeps the long S off n1; without it S backfills onto n1, and B
 * waits for L. The short job backfills either way. */
static void test_easy_reservation_moves_to_end_by(void **state)
{
    (void)state;
    for (int tell = 0; tell <= 1; tell++) {
        scene sc;
        scene_setup(&sc, SCHED_EASY, tell, 0);
        assert_int_equal(sc.b.state, SCHED_JOB_PENDING);
        assert_int_equal(sc.b.est_start, tell ? 1060 : 5000);
        assert_int_equal(sched_job_reason(sc.s, &sc.b), SCHED_REASON_RESOURCES);
        assert_int_equal(sc.v.end_by, tell ? 1060 : 100000);

        job_gpus(&sc.s_long, 5, 1010, 100000, 1);
        job_gpus(&sc.s_short, 6, 1010, 50, 1); /* [1010, 1060): ends by B's start */
        submit_ok(sc.s, &sc.s_long);
        submit_ok(sc.s, &sc.s_short);
        assert_int_equal(sched_pass(sc.s, 1010, noop_start, NULL), tell ? 1 : 2);
        assert_int_equal(sc.s_short.state, SCHED_JOB_RUNNING);
        assert_int_equal(sc.s_short.alloc[0].node, 1);
        if (tell) {
            assert_int_equal(sc.s_long.state, SCHED_JOB_PENDING);
            assert_int_equal(sched_job_reason(sc.s, &sc.s_long), SCHED_REASON_PRIORITY);
            assert_int_equal(sc.b.est_start, 1060);
        } else {
            assert_int_equal(sc.s_long.state, SCHED_JOB_RUNNING);
            assert_int_equal(sc.s_long.alloc[0].node, 1);
            assert_int_equal(sc.b.est_start, 5000);
        }

        /* V and the short job leave at 1060: B starts on n1 then */
        sched_job_end(sc.s, &sc.v, 1060);
        sched_job_end(sc.s, &sc.s_short, 1060);
        sched_pass(sc.s, 1060, noop_start, NULL);
        if (tell) {
            assert_int_equal(sc.b.state, SCHED_JOB_RUNNING);
            assert_int_equal(sc.b.start, 1060);
            assert_int_equal(sc.b.alloc[0].node, 1);
        } else {
            assert_int_equal(sc.b.state, SCHED_JOB_PENDING); /* S holds n1 */
        }
        sched_destroy(sc.s);
    }
}

/* sched_estimate (fleet queue) plans with the bound too: B at 1060, and C
 * (8 GPUs) behind it at 2060 (n1 after B), where without the bound they
 * are 5000 and 6000 (n0 after L, then after B). */
static void test_estimate_uses_end_by(void **state)
{
    (void)state;
    for (int tell = 0; tell <= 1; tell++) {
        scene sc;
        scene_setup(&sc, SCHED_EASY, tell, 1);
        assert_int_equal(sched_estimate(sc.s, 1000, 10), 2);
        assert_int_equal(sc.b.est_start, tell ? 1060 : 5000);
        assert_int_equal(sc.c.est_start, tell ? 2060 : 6000);
        sched_destroy(sc.s);
    }
}

/* ---- conservative -------------------------------------------------------- */

/* Conservative backfill: B's reservation at 1060, C's after it at 2060 on
 * n1 (n0 only at 5000), and the long S waits (it would delay B); without
 * the bound B is at 5000 on n0, C at 6000, and S backfills onto n1. */
static void test_conservative_plans_with_end_by(void **state)
{
    (void)state;
    for (int tell = 0; tell <= 1; tell++) {
        scene sc;
        scene_setup(&sc, SCHED_CONSERVATIVE, tell, 1);
        assert_int_equal(sc.b.est_start, tell ? 1060 : 5000);
        assert_int_equal(sc.c.est_start, tell ? 2060 : 6000);
        job_gpus(&sc.s_long, 5, 1010, 100000, 1);
        job_gpus(&sc.s_short, 6, 1010, 50, 1);
        submit_ok(sc.s, &sc.s_long);
        submit_ok(sc.s, &sc.s_short);
        sched_pass(sc.s, 1010, noop_start, NULL);
        assert_int_equal(sc.s_short.state, SCHED_JOB_RUNNING);
        assert_int_equal(sc.s_long.state, tell ? SCHED_JOB_PENDING : SCHED_JOB_RUNNING);
        assert_int_equal(sc.b.est_start, tell ? 1060 : 5000);
        sched_destroy(sc.s);
    }
}

/* ---- span pools ---------------------------------------------------------- */

/*
 * A span pool (one-GPU nodes, no topology): 6 nodes. L (2 nodes, limit
 * 5000) and V (3 nodes, limit 100000) run from 0; one node is free. At
 * 1000 B (4 nodes, limit 1000) needs it and 3 more: at 5000 only 3 are
 * free (L's 2 and the free one), so without the bound B waits for V's end
 * at 100000, holds no free node, and a long 1-node S backfills. V told it
 * ends by 1060: B's first reservation is at 1060, the free node is held for
 * it and S waits; a short job (ends by 1060) may still use it. Conservative
 * plans B at 1060 as well, from its profile.
 */
static void test_span_pool_plans_with_end_by(void **state)
{
    (void)state;
    for (int pol = SCHED_EASY; pol <= SCHED_CONSERVATIVE; pol++)
        for (int tell = 0; tell <= 1; tell++) {
            sched *s = cluster(6, 1, pol);
            sched_job l, v, b, sl, ss;
            job_gpus(&l, 1, 0, 5000, 2);
            job_gpus(&v, 2, 0, 100000, 3);
            submit_ok(s, &l);
            submit_ok(s, &v);
            assert_int_equal(sched_pass(s, 0, noop_start, NULL), 2);
            assert_int_equal(sched_free_gpus(s), 1);
            job_gpus(&b, 3, 1000, 1000, 4);
            submit_ok(s, &b);
            if (tell)
                assert_int_equal(sched_job_end_by(s, &v, 1060), 0);
            assert_int_equal(sched_pass(s, 1000, noop_start, NULL), 0);
            assert_int_equal(b.est_start, tell ? 1060 : 100000);

            job_gpus(&sl, 4, 1010, 100000, 1);
            submit_ok(s, &sl);
            sched_pass(s, 1010, noop_start, NULL);
            assert_int_equal(sl.state, tell ? SCHED_JOB_PENDING : SCHED_JOB_RUNNING);
            if (tell) {
                job_gpus(&ss, 5, 1010, 50, 1);
                submit_ok(s, &ss);
                sched_pass(s, 1010, noop_start, NULL);
                assert_int_equal(ss.state, SCHED_JOB_RUNNING);
                assert_int_equal(sl.state, SCHED_JOB_PENDING);
                assert_int_equal(b.est_start, 1060);
                sched_job_end(s, &v, 1060);
                sched_job_end(s, &ss, 1060);
                sched_pass(s, 1060, noop_start, NULL);
                assert_int_equal(b.state, SCHED_JOB_RUNNING);
                assert_int_equal(b.start, 1060);
            }
            sched_destroy(s);
        }
}

/*
 * The running set stays ordered by the bounds: 16 one-GPU jobs fill a span
 * pool of 16 nodes with limits 100, 200, ..., 1600 (given out of order);
 * bounds then bring some earlier, several times, in any order (some calls
 * change nothing). A pending gang of k nodes must then have its EASY
 * shadow time at the k-th smallest expected end, for every k, and the
 * estimate agrees.
 */
static void test_running_set_stays_ordered(void **state)
{
    (void)state;
    sched *s = cluster(16, 1, SCHED_EASY);
    sched_job r[16];
    int64_t end[16];
    for (int i = 0; i < 16; i++) {
        int64_t limit = 100 * (int64_t)(1 + (i * 7) % 16);
        job_gpus(&r[i], i + 1, 0, limit, 1);
        submit_ok(s, &r[i]);
        end[i] = limit;
    }
    assert_int_equal(sched_pass(s, 0, noop_start, NULL), 16);
    /* limits by job: 0:100 1:800 2:1500 3:600 4:1300 5:400 6:1100 7:200
     * 8:900 9:1600 10:700 11:1400 12:500 13:1200 14:300 15:1000 */
    static const struct { int job; int64_t t; int rc; } calls[] = {
        {3, 550, 0},  {3, 560, 1},   {3, 90, 0},    {9, 1550, 0}, {0, 5000, 1},
        {12, 10, 0},  {9, 10, 0},    {5, 0, 0},     {5, 0, 1},    {15, 777, 0},
        {7, 333, 1},  {7, -1, -1},   {11, 1234, 0}, {3, 91, 1},   {1, 1, 0},
        {2, 90, 0},   {13, 1199, 0}, {13, 400, 0},
    };
    for (size_t c = 0; c < sizeof calls / sizeof *calls; c++) {
        int i = calls[c].job;
        assert_int_equal(sched_job_end_by(s, &r[i], calls[c].t), calls[c].rc);
        if (calls[c].rc == 0)
            end[i] = calls[c].t;
        assert_int_equal(r[i].end_by, end[i]);
    }
    int64_t sorted[16];
    memcpy(sorted, end, sizeof sorted);
    for (int i = 1; i < 16; i++)
        for (int k = i; k > 0 && sorted[k] < sorted[k - 1]; k--) {
            int64_t t = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = t;
        }
    for (int k = 1; k <= 16; k++) {
        sched_job g;
        job_gpus(&g, 100 + k, 0, 10, k);
        submit_ok(s, &g);
        assert_int_equal(sched_pass(s, 0, noop_start, NULL), 0);
        assert_int_equal(g.est_start, sorted[k - 1]);
        assert_int_equal(sched_estimate(s, 0, 1), 1);
        assert_int_equal(g.est_start, sorted[k - 1]);
        assert_int_equal(sched_cancel(s, &g), 0);
    }
    /* ends in any order leave a consistent set */
    for (int i = 15; i >= 0; i -= 2)
        sched_job_end(s, &r[i], 0);
    for (int i = 0; i < 16; i += 2)
        sched_job_end(s, &r[i], 0);
    assert_int_equal(sched_running_count(s), 0);
    assert_int_equal(sched_free_gpus(s), 16);
    sched_destroy(s);
}

/* ---- semantics ----------------------------------------------------------- */

/* Only ever earlier, only while running: a pending or ended job, or a time
 * before the start, is refused (-1); a time at or after the current end_by
 * changes nothing (1). */
static void test_end_by_refusals(void **state)
{
    (void)state;
    sched *s = cluster(1, 8, SCHED_EASY);
    sched_job a, p;
    job_gpus(&a, 1, 0, 1000, 8);
    job_gpus(&p, 2, 0, 1000, 8);
    submit_ok(s, &a);
    submit_ok(s, &p);
    assert_int_equal(sched_job_end_by(s, &a, 10), -1); /* pending */
    assert_int_equal(sched_pass(s, 100, noop_start, NULL), 1);
    assert_int_equal(a.start, 100);
    assert_int_equal(a.end_by, 1100);
    assert_int_equal(sched_job_end_by(s, &p, 500), -1); /* still pending */
    assert_int_equal(p.est_start, 1100);
    assert_int_equal(sched_job_end_by(s, &a, 99), -1);   /* before its start */
    assert_int_equal(sched_job_end_by(s, &a, 1100), 1);  /* not earlier */
    assert_int_equal(sched_job_end_by(s, &a, 5000), 1);  /* later: never */
    assert_int_equal(a.end_by, 1100);
    assert_int_equal(sched_job_end_by(s, &a, 100), 0);   /* its start: ends at once */
    assert_int_equal(a.end_by, 100);
    sched_job_end(s, &a, 100);
    assert_int_equal(sched_job_end_by(s, &a, 100), -1);  /* ended */
    sched_destroy(s);
}

/* A job still running past its end_by (killed, its end not reported yet)
 * counts as ending now: B's reservation is at the pass's time, not in the
 * past, and still keeps the long S off n1. */
static void test_overdue_victim_ends_now(void **state)
{
    (void)state;
    scene sc;
    scene_setup(&sc, SCHED_EASY, 1, 0);
    job_gpus(&sc.s_long, 5, 1070, 100, 1); /* [1075, 1175) on n1 would delay B */
    submit_ok(sc.s, &sc.s_long);
    assert_int_equal(sched_pass(sc.s, 1075, noop_start, NULL), 0);
    assert_int_equal(sc.b.est_start, 1075);
    assert_int_equal(sc.s_long.state, SCHED_JOB_PENDING);
    sched_job_end(sc.s, &sc.v, 1080);
    sched_pass(sc.s, 1080, noop_start, NULL);
    assert_int_equal(sc.b.state, SCHED_JOB_RUNNING);
    assert_int_equal(sc.b.alloc[0].node, 1);
    sched_destroy(sc.s);
}

/* A requeued victim (ended, submitted again, as the simulator and fleetd
 * requeue) runs afresh: the bound of its last run is gone, and the next
 * start plans with its full time limit. Restored jobs too. */
static void test_requeue_resets_end_by(void **state)
{
    (void)state;
    scene sc;
    scene_setup(&sc, SCHED_EASY, 1, 0);
    sched_job_end(sc.s, &sc.v, 1060);
    sc.v.submit = 1060;
    submit_ok(sc.s, &sc.v);
    assert_int_equal(sc.v.state, SCHED_JOB_PENDING);
    assert_int_equal(sc.v.end_by, 0);
    sched_pass(sc.s, 1060, noop_start, NULL);
    assert_int_equal(sc.b.state, SCHED_JOB_RUNNING); /* B first, then V cannot fit */
    assert_int_equal(sc.v.state, SCHED_JOB_PENDING);
    assert_int_equal(sc.v.est_start, 2060);
    sched_job_end(sc.s, &sc.b, 2060);
    sched_pass(sc.s, 2060, noop_start, NULL);
    assert_int_equal(sc.v.state, SCHED_JOB_RUNNING);
    assert_int_equal(sc.v.start, 2060);
    assert_int_equal(sc.v.end_by, 2060 + 100000);
    /* a big job behind it waits for L (5000), not for V's old bound */
    sched_job big;
    job_gpus(&big, 9, 2060, 10, 8);
    submit_ok(sc.s, &big);
    sched_pass(sc.s, 2060, noop_start, NULL);
    assert_int_equal(big.est_start, 5000);
    sched_destroy(sc.s);

    /* sched_restore_running starts from the time limit, then takes a bound */
    sched *s = cluster(2, 8, SCHED_EASY);
    sched_job r, w;
    char err[SCHED_ERRLEN] = "";
    job_gpus(&r, 1, 0, 100000, 8);
    int32_t node = 1;
    assert_int_equal(sched_restore_running(s, &r, &node, 1, 50, err, sizeof err), 0);
    assert_int_equal(r.end_by, 100050);
    job_gpus(&w, 2, 0, 100, 16);
    submit_ok(s, &w);
    sched_pass(s, 60, noop_start, NULL);
    assert_int_equal(w.est_start, 100050);
    assert_int_equal(sched_job_end_by(s, &r, 120), 0);
    sched_pass(s, 70, noop_start, NULL);
    assert_int_equal(w.est_start, 120);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_easy_reservation_moves_to_end_by),
        cmocka_unit_test(test_estimate_uses_end_by),
        cmocka_unit_test(test_conservative_plans_with_end_by),
        cmocka_unit_test(test_span_pool_plans_with_end_by),
        cmocka_unit_test(test_running_set_stays_ordered),
        cmocka_unit_test(test_end_by_refusals),
        cmocka_unit_test(test_overdue_victim_ends_now),
        cmocka_unit_test(test_requeue_resets_end_by),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
