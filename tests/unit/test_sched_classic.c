/*
 * Unit tests of the classic model (rigid jobs on N one-processor nodes),
 * driven through the simulator: an in-memory trace, sim_classic_machine(N)
 * and sim_run() with fcfs, easy or conservative.
 *
 * The rules (tests/oracle/classic_model.py is a plain implementation):
 *   - per instant: jobs ending now free their processors, then jobs arriving
 *     now join the queue (by submit, id, line), then one pass runs;
 *   - a job started with an effective run of 0 ends at the same clock time,
 *     but as a new instant after the pass;
 *   - effective run = min(run, estimate): a job is killed at its limit;
 *   - dropped: size <= 0, size > N, run < 0, submit < 0;
 *   - EASY: the fcfs part, then the head gets a reservation at the shadow
 *     time (the smallest expected end E, start + estimate, at which free +
 *     sizes ending by E >= head size); extra = free + sizes of running jobs
 *     ending <= shadow - head size; each later job with size <= free starts
 *     if now + estimate <= shadow (extra unchanged), else if size <= extra
 *     (then extra -= size);
 *   - conservative: every queued job in order gets the earliest reservation
 *     that delays no earlier one; a job whose earliest time is now starts
 *     (a zero-estimate job starts whenever its processors are free now).
 *
 * Every case works its expected start times out by hand in a comment; jobs
 * are written (id, submit, run, estimate, size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "trace.h"

typedef struct cj {
    int64_t id, submit, run, est;
    int32_t size;
} cj;

/* Runs jobs[0..n) (in line order) on a classic machine of `procs`. */
static void run_classic(int64_t procs, int policy, const cj *jobs, size_t n, sim_result *r)
{
    trace t;
    trace_init(&t);
    for (size_t i = 0; i < n; i++) {
        trace_job tj;
        memset(&tj, 0, sizeof tj);
        tj.id = jobs[i].id;
        tj.submit = jobs[i].submit;
        tj.run = jobs[i].run;
        tj.estimate = jobs[i].est;
        tj.gpus = jobs[i].size;
        tj.line = (int64_t)i + 1;
        assert_int_equal(trace_push(&t, &tj), 0);
    }
    char err[256] = "";
    sched *m = sim_classic_machine(procs, err, sizeof err);
    if (!m)
        fail_msg("sim_classic_machine: %s", err);
    sim_options o;
    memset(&o, 0, sizeof o);
    o.policy = policy;
    if (sim_run(m, 1, &t, &o, r, err, sizeof err) != 0)
        fail_msg("sim_run: %s", err);
    trace_free(&t);
}

/* The simulated job with this id (the first one, in input order). */
static const sim_job *by_id(const sim_result *r, int64_t id)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (r->jobs[i].sj.id == id)
            return &r->jobs[i];
    fail_msg("job %lld not simulated", (long long)id);
    return NULL;
}

/* The simulated job from trace line index `input` (0-based). */
static const sim_job *by_input(const sim_result *r, int32_t input)
{
    for (size_t i = 0; i < r->njobs; i++)
        if (r->jobs[i].input == input)
            return &r->jobs[i];
    fail_msg("input %d not simulated", input);
    return NULL;
}

static void expect_job(const sim_result *r, int64_t id, int64_t start, int64_t end)
{
    const sim_job *j = by_id(r, id);
    if (j->sj.start != start || j->end != end)
        fail_msg("job %lld: start %lld end %lld, expected start %lld end %lld", (long long)id,
                 (long long)j->sj.start, (long long)j->end, (long long)start, (long long)end);
}

static void expect_near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("got %.17g, expected %.17g", got, want);
}

/* ---- instants and ties ------------------------------------------------- */

/*
 * N = 2. (1, 0, 10, 10, 2), (2, 10, 5, 5, 2).
 * t=0: job 1 starts, free 0. t=10: job 1 ends (free 2) BEFORE job 2 joins
 * the queue, so the pass starts job 2 at 10 (ends 15).
 */
static void test_tie_end_frees_before_arrival(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 10, 10, 2}, {2, 10, 5, 5, 2}};
    for (int pol = SCHED_FCFS; pol <= SCHED_CONSERVATIVE; pol++) {
        sim_result r;
        run_classic(2, pol, jobs, 2, &r);
        expect_job(&r, 1, 0, 10);
        expect_job(&r, 2, 10, 15);
        sim_result_free(&r);
    }
}

/*
 * N = 2, fcfs. (1, 0, 10, 10, 2), (2, 5, 5, 20, 1), (3, 10, 5, 5, 2),
 * (4, 10, 3, 3, 1).
 * t=0: 1 starts (free 0). t=5: 2 queues. t=10: 1 ends (free 2); 3 and 4
 * join behind 2 (earlier submit); pass: 2 starts (free 1), 3 (size 2) does
 * not fit and fcfs stops, so 4 waits although one processor is free.
 * t=15: 2 ends (run 5), free 2: 3 starts (free 0). t=20: 3 ends: 4 starts.
 * Starts: 1@0, 2@10, 3@15, 4@20.
 */
static void test_tie_queued_job_before_arrivals(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 10, 10, 2}, {2, 5, 5, 20, 1}, {3, 10, 5, 5, 2}, {4, 10, 3, 3, 1}};
    sim_result r;
    run_classic(2, SCHED_FCFS, jobs, 4, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 15);
    expect_job(&r, 3, 15, 20);
    expect_job(&r, 4, 20, 23);
    sim_result_free(&r);
}

/*
 * N = 1, fcfs; all submit at 0, in this line order:
 *   line 0: (3, 0, 3, 3, 1)
 *   line 1: (1, 0, 10, 10, 1)
 *   line 2: (2, 0, 7, 7, 1)
 *   line 3: (2, 0, 5, 5, 1)     same id as line 2: line order decides
 *   line 4: (0, 1, 1, 1, 1)     smallest id, but a later submit
 * Order: id 1, id 2 (line 2), id 2 (line 3), id 3, then id 0 (submit 1).
 * Starts: id1@0 (ends 10), line2@10 (17), line3@17 (22), id3@22 (25),
 * id0@25 (26).
 */
static void test_same_submit_ordered_by_id_then_line(void **state)
{
    (void)state;
    const cj jobs[] = {
        {3, 0, 3, 3, 1}, {1, 0, 10, 10, 1}, {2, 0, 7, 7, 1}, {2, 0, 5, 5, 1}, {0, 1, 1, 1, 1},
    };
    sim_result r;
    run_classic(1, SCHED_FCFS, jobs, 5, &r);
    assert_int_equal(r.njobs, 5);
    expect_job(&r, 1, 0, 10);
    assert_int_equal(by_input(&r, 2)->sj.start, 10);
    assert_int_equal(by_input(&r, 2)->end, 17);
    assert_int_equal(by_input(&r, 3)->sj.start, 17);
    assert_int_equal(by_input(&r, 3)->end, 22);
    expect_job(&r, 3, 22, 25);
    expect_job(&r, 0, 25, 26);
    sim_result_free(&r);
}

/* ---- zero run times and limits ----------------------------------------- */

/*
 * N = 1, fcfs. (1, 0, 0, 10, 1), (2, 0, 5, 5, 1), (3, 0, 5, 0, 1).
 * Job 3 has estimate 0: its effective run is min(5, 0) = 0.
 * t=0, first pass: 1 starts (free 0); 2 does not fit.
 * t=0, a new instant: 1 ends (run 0) and frees its processor; the pass
 * starts 2 at 0 (ends 5). 3 waits.
 * t=5: 2 ends; 3 starts at 5 and ends at 5 (a new instant after the pass).
 * Summary: makespan = 5 - 0 = 5; waits 0, 0, 5: mean 5/3, median 0.
 */
static void test_zero_run_ends_in_new_instant(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 0, 10, 1}, {2, 0, 5, 5, 1}, {3, 0, 5, 0, 1}};
    sim_result r;
    run_classic(1, SCHED_FCFS, jobs, 3, &r);
    expect_job(&r, 1, 0, 0);
    expect_job(&r, 2, 0, 5);
    expect_job(&r, 3, 5, 5);
    assert_int_equal(by_id(&r, 3)->run_eff, 0);
    assert_int_equal(r.summary.makespan, 5);
    expect_near(r.summary.mean_wait, 5.0 / 3.0);
    expect_near(r.summary.median_wait, 0);
    sim_result_free(&r);
}

/*
 * N = 3, easy. (1, 0, 0, 0, 2), (2, 0, 10, 10, 3), (3, 0, 5, 5, 1).
 * t=0: 1 starts (free 1); 2 is the head: running 1 expects to end at
 * 0 + 0 = 0, free 1 + 2 >= 3, so shadow = 0, extra = 1 + 2 - 3 = 0.
 * 3: size 1 <= free 1, but 0 + 5 > 0 and 1 > extra 0: it must wait.
 * t=0, new instant: 1 ends (free 3); 2 starts at 0 (ends 10).
 * t=10: 2 ends; 3 starts at 10 (ends 15).
 */
static void test_zero_run_shadow_is_now(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 0, 0, 2}, {2, 0, 10, 10, 3}, {3, 0, 5, 5, 1}};
    sim_result r;
    run_classic(3, SCHED_EASY, jobs, 3, &r);
    expect_job(&r, 1, 0, 0);
    expect_job(&r, 2, 0, 10);
    expect_job(&r, 3, 10, 15);
    sim_result_free(&r);
}

/*
 * N = 1, fcfs. (1, 0, 100, 10, 1), (2, 0, 5, 5, 1).
 * 1 runs past its estimate: it is killed at 0 + 10 (run_eff 10); 2 starts
 * at 10, not 100.
 */
static void test_killed_at_limit(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 100, 10, 1}, {2, 0, 5, 5, 1}};
    sim_result r;
    run_classic(1, SCHED_FCFS, jobs, 2, &r);
    expect_job(&r, 1, 0, 10);
    assert_int_equal(by_id(&r, 1)->run_eff, 10);
    expect_job(&r, 2, 10, 15);
    sim_result_free(&r);
}

/* ---- drops ------------------------------------------------------------- */

/*
 * N = 4, fcfs. Kept: (1, 0, 5, 5, 1) and (7, 0, 5, 5, 4) (size = N is kept).
 * Dropped: (2, 0, 5, 5, 0) size 0; (3, 0, 5, 5, 5) size > N;
 * (4, 0, -1, 5, 1) run < 0; (5, -1, 5, 5, 1) submit < 0;
 * (6, 0, 5, 5, -2) size < 0.  -> dropped = 5, jobs = 2.
 * 1 starts at 0 (free 3); 7 needs 4: starts at 5.
 */
static void test_dropped_jobs_counted(void **state)
{
    (void)state;
    const cj jobs[] = {
        {1, 0, 5, 5, 1}, {2, 0, 5, 5, 0},  {3, 0, 5, 5, 5},  {4, 0, -1, 5, 1},
        {5, -1, 5, 5, 1}, {6, 0, 5, 5, -2}, {7, 0, 5, 5, 4},
    };
    sim_result r;
    run_classic(4, SCHED_FCFS, jobs, 7, &r);
    assert_int_equal(r.njobs, 2);
    assert_int_equal(r.dropped, 5);
    assert_int_equal(r.summary.dropped, 5);
    assert_int_equal(r.summary.jobs, 2);
    expect_job(&r, 1, 0, 5);
    expect_job(&r, 7, 5, 10);
    for (size_t i = 0; i < r.njobs; i++)
        assert_true(r.jobs[i].sj.id == 1 || r.jobs[i].sj.id == 7);
    sim_result_free(&r);
}

/* ---- EASY -------------------------------------------------------------- */

/*
 * N = 10, all submit at 0, run = estimate:
 *   (1, 0, 100, 100, 4)  (2, 0, 50, 50, 4)   start: free 10 -> 2
 *   (3, 0, 100, 100, 5)  the head: 5 > free 2
 *   (4, 0, 200, 200, 2)  long, would delay the reservation
 *   (5, 0, 40, 40, 1)    short: ends before the shadow time
 *   (6, 0, 200, 200, 1)  long, fits in extra
 * easy, t=0: expected ends 50 (size 4), 100 (size 4). 2 + 4 >= 5 at 50:
 * shadow = 50; extra = 2 + 4 - 5 = 1.
 *   4: 2 <= free 2; 0 + 200 > 50; 2 > extra 1      -> waits
 *   5: 1 <= free 2; 0 + 40 <= 50                   -> starts, extra stays 1
 *   6: 1 <= free 1; 0 + 200 > 50; 1 <= extra 1     -> starts, extra 0
 * (had 5 used up extra, 6 could not start.)
 * t=40: 5 ends (free 1). t=50: 2 ends, free 5: 3 starts (ends 150).
 * t=100: 1 ends, free 4: 4 starts (ends 300). t=200: 6 ends.
 * Starts: 1@0 2@0 3@50 4@100 5@0 6@0.
 * Summary: waits 0,0,50,100,0,0 -> mean 150/6 = 25, median (0+0)/2 = 0,
 * p95 at rank 0.95*5 = 4.75 of 0,0,0,0,50,100 -> 50 + 0.75*50 = 87.5.
 * makespan = 300 - 0; work = 4*100 + 4*50 + 5*100 + 2*200 + 1*40 + 1*200
 * = 1740; utilization = 1740 / (10*300) = 0.58. Bounded slowdowns
 * (wait + run) / max(run, 10): 1, 1, 150/100, 300/200, 1, 1 -> mean 7/6.
 */
static const cj easy_case[] = {
    {1, 0, 100, 100, 4}, {2, 0, 50, 50, 4},   {3, 0, 100, 100, 5},
    {4, 0, 200, 200, 2}, {5, 0, 40, 40, 1}, {6, 0, 200, 200, 1},
};

static void test_easy_backfill_extra_and_shadow(void **state)
{
    (void)state;
    sim_result r;
    run_classic(10, SCHED_EASY, easy_case, 6, &r);
    expect_job(&r, 1, 0, 100);
    expect_job(&r, 2, 0, 50);
    expect_job(&r, 3, 50, 150);
    expect_job(&r, 4, 100, 300); /* would have delayed job 3 */
    expect_job(&r, 5, 0, 40);    /* short: before the shadow time */
    expect_job(&r, 6, 0, 200);   /* long: in the extra processor */
    sim_result_free(&r);
}

static void test_easy_summary_by_hand(void **state)
{
    (void)state;
    sim_result r;
    run_classic(10, SCHED_EASY, easy_case, 6, &r);
    assert_int_equal(r.summary.jobs, 6);
    assert_int_equal(r.summary.dropped, 0);
    assert_int_equal(r.summary.capacity, 10);
    assert_int_equal(r.summary.makespan, 300);
    expect_near(r.summary.mean_wait, 25.0);
    expect_near(r.summary.median_wait, 0.0);
    expect_near(r.summary.p95_wait, 87.5);
    expect_near(r.summary.utilization, 0.58);
    expect_near(r.summary.mean_bounded_slowdown, 7.0 / 6.0);
    sim_result_free(&r);
}

/*
 * The same trace under fcfs, for contrast: t=0: 1, 2 start (free 2); 3
 * blocks the queue. t=50: 2 ends, free 6: 3 starts (free 1); 4 (size 2)
 * blocks. t=100: 1 ends, free 5: 4, 5, 6 start.
 */
static void test_fcfs_no_backfill(void **state)
{
    (void)state;
    sim_result r;
    run_classic(10, SCHED_FCFS, easy_case, 6, &r);
    expect_job(&r, 3, 50, 150);
    expect_job(&r, 4, 100, 300);
    expect_job(&r, 5, 100, 140);
    expect_job(&r, 6, 100, 300);
    sim_result_free(&r);
}

/*
 * The boundary of "ends before the shadow time": now + estimate <= shadow.
 * N = 4, easy: (1, 0, 10, 10, 2) starts (free 2); head (2, 0, 10, 10, 3):
 * shadow 10 (2 + 2 >= 3), extra = 2 + 2 - 3 = 1.
 * (3, 0, E, E, 2): size 2 <= free 2 but 2 > extra 1, so it may start only
 * if 0 + E <= 10.
 *   E = 10: starts at 0; at 10, 1 and 3 end: 2 starts at 10.
 *   E = 11: waits; t=10: 1 ends, free 4: 2 starts (free 1); at 20 2 ends:
 *   3 starts at 20.
 */
static void test_easy_short_job_boundary_at_shadow(void **state)
{
    (void)state;
    const cj fits[] = {{1, 0, 10, 10, 2}, {2, 0, 10, 10, 3}, {3, 0, 10, 10, 2}};
    const cj late[] = {{1, 0, 10, 10, 2}, {2, 0, 10, 10, 3}, {3, 0, 11, 11, 2}};
    sim_result r;
    run_classic(4, SCHED_EASY, fits, 3, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 20);
    expect_job(&r, 3, 0, 10);
    sim_result_free(&r);
    run_classic(4, SCHED_EASY, late, 3, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 20);
    expect_job(&r, 3, 20, 31);
    sim_result_free(&r);
}

/*
 * The shadow is computed from estimates, not run times: N = 2, easy.
 * (1, 0, 5, 20, 2) runs 5 but expects to end at 20; head (2, 0, 10, 10, 2):
 * shadow 20, extra 0. (3, 1, 10, 10, 1) arrives at 1: free 0, waits.
 * t=5: 1 ends early (not at its expected 20), free 2: 2 starts at 5 (ends
 * 15), free 0, so 3 still waits. t=15: 3 starts (ends 25).
 */
static void test_early_end_frees_before_estimate(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 5, 20, 2}, {2, 0, 10, 10, 2}, {3, 1, 10, 10, 1}};
    sim_result r;
    run_classic(2, SCHED_EASY, jobs, 3, &r);
    expect_job(&r, 1, 0, 5);
    expect_job(&r, 2, 5, 15);
    expect_job(&r, 3, 15, 25);
    sim_result_free(&r);
}

/* ---- conservative ------------------------------------------------------ */

/*
 * N = 4, conservative, all submit at 0, run = estimate:
 *   (1, 0, 10, 10, 3)   starts, free 1
 *   (2, 0, 10, 10, 2)   profile: [0,10) 1 free, [10,..) 4 -> reserved at
 *                       10 on [10,20); profile now 1 | 2 from 10 | 4 from 20
 *   (3, 0, 10, 10, 3)   earliest with 3 free for 10 s: 20 -> [20,30);
 *                       profile 1 | 2 from 10 | 1 from 20 | 4 from 30
 *   (4, 0, 100, 100, 1) 1 free on every step of [0,100): starts at 0,
 *                       around both reservations.
 * t=10: 1 ends, free 3: 2 starts (free 1). t=20: 2 ends, free 3: 3 starts.
 * Starts: 1@0 2@10 3@20 4@0.
 */
static void test_conservative_backfill_around_two_reservations(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 10, 10, 3}, {2, 0, 10, 10, 2}, {3, 0, 10, 10, 3},
                       {4, 0, 100, 100, 1}};
    sim_result r;
    run_classic(4, SCHED_CONSERVATIVE, jobs, 4, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 20);
    expect_job(&r, 3, 20, 30);
    expect_job(&r, 4, 0, 100);
    sim_result_free(&r);
}

/*
 * N = 4, all submit at 0, run = estimate:
 *   (1, 0, 10, 10, 3)  (2, 0, 10, 10, 2)  (3, 0, 10, 10, 4)  (4, 0, 25, 25, 1)
 * conservative, t=0: 1 starts (free 1). 2 reserved at 10 on [10,20):
 * profile 1 | 2 from 10 | 4 from 20. 3 needs 4: reserved at 20 on [20,30):
 * profile 1 | 2 from 10 | 0 from 20 | 4 from 30. 4 needs 1 for [0,25):
 * the step at 20 has 0 -> it would delay 3; earliest is 30. It waits.
 * t=10: 1 ends: 2 starts (free 2). t=20: 2 ends: 3 starts. t=30: 4 starts.
 * Starts: 1@0 2@10 3@20 4@30.
 * easy, t=0: head 2: shadow 10, extra = 1 + 3 - 2 = 2; 3 (size 4) > free;
 * 4: 1 <= free 1, 0 + 25 > 10, 1 <= extra 2 -> starts at 0 (ends 25).
 * t=10: 1 ends, free 3: 2 starts (free 1); 3 head: ends 20 (2), 25 (1):
 * 1 + 2 + 1 >= 4 at 25. t=25: 3 starts -- EASY delayed it from 20 to 25.
 * Starts: 1@0 2@10 3@25 4@0.
 */
static void test_conservative_refuses_delaying_second_reservation(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 10, 10, 3}, {2, 0, 10, 10, 2}, {3, 0, 10, 10, 4},
                       {4, 0, 25, 25, 1}};
    sim_result r;
    run_classic(4, SCHED_CONSERVATIVE, jobs, 4, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 20);
    expect_job(&r, 3, 20, 30);
    expect_job(&r, 4, 30, 55);
    sim_result_free(&r);

    run_classic(4, SCHED_EASY, jobs, 4, &r);
    expect_job(&r, 1, 0, 10);
    expect_job(&r, 2, 10, 20);
    expect_job(&r, 3, 25, 35);
    expect_job(&r, 4, 0, 25);
    sim_result_free(&r);
}

/*
 * Conservative with a zero-run job ending at this very instant: N = 2.
 * (1, 0, 0, 0, 2), (2, 0, 10, 10, 2), (3, 0, 5, 5, 1).
 * t=0: 1 starts (free 0, expected end 0). 2: the profile's first step counts
 * 1's processors (they are gone by the next instant): reserved at 0 on
 * [0,10), profile 0 from 0 | 2 from 10. 3: earliest 10. Neither starts now.
 * t=0, new instant: 1 ends (free 2): 2 starts at 0. t=10: 3 starts.
 */
static void test_conservative_zero_run_reservation_now(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 0, 0, 2}, {2, 0, 10, 10, 2}, {3, 0, 5, 5, 1}};
    sim_result r;
    run_classic(2, SCHED_CONSERVATIVE, jobs, 3, &r);
    expect_job(&r, 1, 0, 0);
    expect_job(&r, 2, 0, 10);
    expect_job(&r, 3, 10, 15);
    sim_result_free(&r);
}

/*
 * Conservative, a zero-estimate job behind a reservation that begins now
 * (the oracle: "a zero-estimate job takes no time: like EASY's now + 0 <=
 * shadow, it may start whenever its processors are free now"). N = 2:
 * (1, 0, 0, 0, 1), (2, 0, 10, 10, 2), (3, 0, 0, 0, 1).
 * t=0: 1 starts (free 1). 2: 1 free + 1 of job 1 ending at this instant:
 * reserved at 0 on [0,10), not started (2 > free 1). 3: estimate 0 and
 * 1 <= free 1: starts at 0 (ends 0).
 * New instant at 0: 1 and 3 end, free 2: 2 starts at 0 (ends 10).
 */
static void test_conservative_zero_estimate_starts_when_free(void **state)
{
    (void)state;
    const cj jobs[] = {{1, 0, 0, 0, 1}, {2, 0, 10, 10, 2}, {3, 0, 0, 0, 1}};
    sim_result r;
    run_classic(2, SCHED_CONSERVATIVE, jobs, 3, &r);
    expect_job(&r, 1, 0, 0);
    expect_job(&r, 2, 0, 10);
    expect_job(&r, 3, 0, 0);
    sim_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tie_end_frees_before_arrival),
        cmocka_unit_test(test_tie_queued_job_before_arrivals),
        cmocka_unit_test(test_same_submit_ordered_by_id_then_line),
        cmocka_unit_test(test_zero_run_ends_in_new_instant),
        cmocka_unit_test(test_zero_run_shadow_is_now),
        cmocka_unit_test(test_killed_at_limit),
        cmocka_unit_test(test_dropped_jobs_counted),
        cmocka_unit_test(test_easy_backfill_extra_and_shadow),
        cmocka_unit_test(test_easy_summary_by_hand),
        cmocka_unit_test(test_fcfs_no_backfill),
        cmocka_unit_test(test_easy_short_job_boundary_at_shadow),
        cmocka_unit_test(test_early_end_frees_before_estimate),
        cmocka_unit_test(test_conservative_backfill_around_two_reservations),
        cmocka_unit_test(test_conservative_refuses_delaying_second_reservation),
        cmocka_unit_test(test_conservative_zero_run_reservation_now),
        cmocka_unit_test(test_conservative_zero_estimate_starts_when_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
