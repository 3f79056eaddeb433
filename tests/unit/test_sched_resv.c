/*
 * Unit tests of operators' reservations in libsched (src/libsched/resv.c):
 * hand-made cases with their expected start times worked out below.
 *
 * The cluster of every case: one pool "h100", one block, four nodes n0..n3
 * of 8 GPUs (64 CPUs, 512 GB). A job of 8 GPUs takes one whole node; a
 * gang of k nodes takes k whole nodes. Times in seconds from 0.
 *
 * The rule: a reservation that binds a job (maintenance: every job;
 * project: jobs of none of its accounts and users) takes its nodes whole
 * over [start, end), so the job's window [start, start + time_limit) may
 * not overlap it on those nodes. Windows are half-open: a job ending at a
 * maintenance's start does not overlap it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libsched.h"

#define H 3600

static sched *cluster4(int policy)
{
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "h100", "H100"), 0);
    assert_int_equal(sched_block_add(s, "b0", "s0"), 0);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(sched_node_add(s, name, 0, 0, 8, 64, 512 * 1024), i);
    }
    char err[SCHED_ERRLEN];
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    sched_set_policy(s, policy);
    return s;
}

static void job(sched_job *j, int64_t id, int64_t limit, int32_t nodes, uint32_t account,
                uint32_t user)
{
    memset(j, 0, sizeof *j);
    j->id = id;
    j->submit = id; /* queue order = id order */
    j->time_limit = limit;
    if (nodes > 1)
        j->nodes = nodes;
    else
        j->gpus = 8;
    j->account = account;
    j->user = user;
}

static void submit(sched *s, sched_job *j)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_submit(s, j, err, sizeof err) != 0)
        fail_msg("sched_submit(job %lld): %s", (long long)j->id, err);
}

static void resv(sched *s, const char *name, int kind, int64_t a, int64_t b,
                 const int32_t *nodes, int32_t n, const uint32_t *acc, int32_t nacc,
                 const uint32_t *users, int32_t nusers)
{
    char err[SCHED_ERRLEN] = "";
    if (sched_resv_add(s, name, kind, a, b, nodes, n, acc, nacc, users, nusers, err,
                       sizeof err) != 0)
        fail_msg("sched_resv_add(%s): %s", name, err);
}

/* Does job j run on node n? */
static int runs_on(const sched_job *j, int n)
{
    for (int32_t i = 0; j->state == SCHED_JOB_RUNNING && i < j->nalloc; i++)
        if (j->alloc[i].node == n)
            return 1;
    return 0;
}

/* No running job's window [start, start + limit) overlaps a window of
 * reservation r on one of its nodes, unless r admits it. */
static void assert_no_overlap(const sched *s, sched_job **jobs, int n)
{
    for (int ri = 0; ri < sched_resv_count(s); ri++) {
        sched_resv_info v;
        assert_int_equal(sched_resv_get(s, ri, &v), 0);
        for (int k = 0; k < n; k++) {
            const sched_job *j = jobs[k];
            if (j->state != SCHED_JOB_RUNNING)
                continue;
            int admitted = 0;
            for (int32_t a = 0; v.kind == SCHED_RESV_PROJECT && a < v.naccounts; a++)
                admitted |= v.accounts[a] == j->account;
            for (int32_t u = 0; v.kind == SCHED_RESV_PROJECT && u < v.nusers; u++)
                admitted |= v.users[u] == j->user;
            int64_t e = j->start + (j->time_limit > 0 ? j->time_limit : 1);
            for (int32_t x = 0; x < v.nnodes && !admitted; x++)
                if (runs_on(j, v.nodes[x]) && j->start < v.end && v.start < e)
                    fail_msg("job %lld [%lld, %lld) on %d overlaps reservation %s",
                             (long long)j->id, (long long)j->start, (long long)e, v.nodes[x],
                             v.name);
        }
    }
}

/*
 * Maintenance of n0 over [1 h, 2 h); n1..n3 run a 3-node gang R until
 * 10,000 s. At 0, in queue order:
 *   L  8 GPUs, 2 h: n0 would pass the window's start; the others are busy.
 *      The walk: R ends at 10,000; the window ends at 7,200, when n0 comes
 *      back: L's reservation is n0 at 7,200. Pending, reason reservation.
 *   B  8 GPUs, 4,000 s: ends before L's reservation (7,200) and would
 *      backfill on n0, but [0, 4,000) passes the window's start 3,600.
 *      Pending, reason reservation.
 *   S  8 GPUs, 3,600 s: [0, 3,600) ends at the window's start: runs on n0.
 */
static void test_maintenance_no_job_overlaps(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t n0 = 0;
    resv(s, "m", SCHED_RESV_MAINTENANCE, H, 2 * H, &n0, 1, NULL, 0, NULL, 0);
    sched_job r, l, b, sj;
    job(&r, 1, 10000, 3, 1, 100);
    submit(s, &r);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 1);
    assert_false(runs_on(&r, 0)); /* n0: a 3-node gang of 10,000 s would pass 3,600 */
    job(&l, 2, 2 * H, 1, 1, 100);
    job(&b, 3, 4000, 1, 1, 100);
    job(&sj, 4, H, 1, 1, 100);
    submit(s, &l);
    submit(s, &b);
    submit(s, &sj);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 1);
    assert_int_equal(sj.state, SCHED_JOB_RUNNING);
    assert_true(runs_on(&sj, 0));
    assert_int_equal(l.state, SCHED_JOB_PENDING);
    assert_int_equal(l.est_start, 2 * H);
    assert_int_equal(sched_job_reason(s, &l), SCHED_REASON_RESERVATION);
    assert_string_equal(sched_reason_name(SCHED_REASON_RESERVATION), "reservation");
    assert_int_equal(b.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_job_reason(s, &b), SCHED_REASON_RESERVATION);
    sched_job *all[] = {&r, &l, &b, &sj};
    assert_no_overlap(s, all, 4);

    /* S ends at 3,600: inside the window nothing starts on n0 */
    sched_job_end(s, &sj, H);
    assert_int_equal(sched_pass(s, H, NULL, NULL), 0);
    assert_int_equal(sched_job_reason(s, &l), SCHED_REASON_RESERVATION);
    /* at 7,200 the window is over: L takes n0 (its reservation); B waits for it */
    assert_int_equal(sched_pass(s, 2 * H, NULL, NULL), 1);
    assert_true(runs_on(&l, 0));
    assert_int_equal(l.start, 2 * H);
    assert_int_equal(b.state, SCHED_JOB_PENDING);
    assert_no_overlap(s, all, 4);
    sched_destroy(s);
}

/*
 * A gang over reserved and unreserved nodes. Maintenance of n0 over
 * [1 h, 2 h), every node free at 0:
 *   G   4 nodes, 2 h: needs n0, which would pass the window: its walk finds
 *       no running job and tries the window's end: all four at 7,200.
 *       Reason reservation.
 *   G2  3 nodes, 2 h: n1..n3 over [0, 7,200) end at G's start: runs there.
 *   G3  1 node, 1 h: n0 over [0, 3,600) ends at the window: runs on n0.
 */
static void test_maintenance_gang_spanning_reserved_nodes(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t n0 = 0;
    resv(s, "m", SCHED_RESV_MAINTENANCE, H, 2 * H, &n0, 1, NULL, 0, NULL, 0);
    sched_job g, g2, g3;
    job(&g, 1, 2 * H, 4, 1, 100);
    job(&g2, 2, 2 * H, 3, 1, 100);
    job(&g3, 3, H, 1, 1, 100);
    submit(s, &g);
    submit(s, &g2);
    submit(s, &g3);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 2);
    assert_int_equal(g.state, SCHED_JOB_PENDING);
    assert_int_equal(g.est_start, 2 * H);
    assert_int_equal(sched_job_reason(s, &g), SCHED_REASON_RESERVATION);
    assert_int_equal(g2.state, SCHED_JOB_RUNNING);
    assert_false(runs_on(&g2, 0));
    assert_true(runs_on(&g3, 0));
    sched_job *all[] = {&g, &g2, &g3};
    assert_no_overlap(s, all, 3);
    /* at 7,200 everything ended: the gang starts on the four nodes */
    sched_job_end(s, &g3, H);
    sched_job_end(s, &g2, 2 * H);
    assert_int_equal(sched_pass(s, 2 * H, NULL, NULL), 1);
    assert_int_equal(g.state, SCHED_JOB_RUNNING);
    assert_int_equal(g.start, 2 * H);
    sched_destroy(s);
}

/*
 * A project reservation of n0, n1 over [0, 1 h) for account 7 and user 42.
 * At 0, in queue order:
 *   A1, A2  account 1, 8 GPUs, 30 min: n2, n3 (the project's nodes are not
 *           theirs during the window).
 *   A3      account 1, 8 GPUs, 30 min: only n0, n1 are free: pending, reason
 *           reservation; its walk: A1 and A2 end at 1,800, n2 or n3: 1,800.
 *   P1      account 7, 8 GPUs, 2 h: a project job, on n0 or n1; it may run
 *           past the window.
 *   P2      account 3 but user 42, 8 GPUs, 2 h: admitted by user: the other.
 * At 1 h the window is over: A1, A2 ended at 30 min, P1, P2 end now; A3 and
 * three more jobs of account 1 take all four nodes, n0 and n1 included.
 */
static void test_project_reservation(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t nodes[] = {0, 1};
    uint32_t acc = 7, user = 42;
    resv(s, "p", SCHED_RESV_PROJECT, 0, H, nodes, 2, &acc, 1, &user, 1);
    sched_job a[6], p1, p2;
    for (int i = 0; i < 3; i++) {
        job(&a[i], 1 + i, H / 2, 1, 1, 100);
        submit(s, &a[i]);
    }
    job(&p1, 4, 2 * H, 1, 7, 101);
    job(&p2, 5, 2 * H, 1, 3, 42);
    submit(s, &p1);
    submit(s, &p2);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 4);
    assert_true(runs_on(&a[0], 2) || runs_on(&a[0], 3));
    assert_true(runs_on(&a[1], 2) || runs_on(&a[1], 3));
    assert_int_equal(a[2].state, SCHED_JOB_PENDING);
    assert_int_equal(sched_job_reason(s, &a[2]), SCHED_REASON_RESERVATION);
    assert_int_equal(a[2].est_start, H / 2);
    assert_true(runs_on(&p1, 0) || runs_on(&p1, 1));
    assert_true(runs_on(&p2, 0) || runs_on(&p2, 1));
    sched_job *all[] = {&a[0], &a[1], &a[2], &p1, &p2};
    assert_no_overlap(s, all, 5);

    sched_job_end(s, &a[0], H / 2);
    sched_job_end(s, &a[1], H / 2);
    sched_job_end(s, &p1, H);
    sched_job_end(s, &p2, H);
    for (int i = 3; i < 6; i++) {
        job(&a[i], 10 + i, H, 1, 1, 100);
        submit(s, &a[i]);
    }
    assert_int_equal(sched_pass(s, H, NULL, NULL), 4);
    int used[4] = {0};
    for (int i = 2; i < 6; i++) {
        assert_int_equal(a[i].state, SCHED_JOB_RUNNING);
        used[a[i].alloc[0].node] = 1;
    }
    assert_true(used[0] && used[1]);
    sched_destroy(s);
}

/*
 * A project window later in time: n0..n3 reserved for account 7 over
 * [1 h, 2 h). A job of account 1 of 30 min runs now (it ends before the
 * window); one of 2 h waits: reason reservation, its start the window's
 * end, 7,200. A project job of 2 h runs now.
 */
static void test_project_window_later(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t nodes[] = {0, 1, 2, 3};
    uint32_t acc = 7;
    resv(s, "p", SCHED_RESV_PROJECT, H, 2 * H, nodes, 4, &acc, 1, NULL, 0);
    sched_job shortj, longj, proj;
    job(&longj, 1, 2 * H, 1, 1, 100);
    job(&shortj, 2, H / 2, 1, 1, 100);
    job(&proj, 3, 2 * H, 1, 7, 100);
    submit(s, &longj);
    submit(s, &shortj);
    submit(s, &proj);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 2);
    assert_int_equal(shortj.state, SCHED_JOB_RUNNING);
    assert_int_equal(proj.state, SCHED_JOB_RUNNING);
    assert_int_equal(longj.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_job_reason(s, &longj), SCHED_REASON_RESERVATION);
    assert_int_equal(longj.est_start, 2 * H);
    sched_destroy(s);
}

/*
 * Start estimates and conservative backfill around a future window: all
 * four nodes under maintenance over [1 h, 2 h).
 *   J1  8 GPUs, 2 h: cannot end before 3,600 when started before 7,200:
 *       its start is 7,200 (the walk), estimate 7,200 (the profile).
 *   J2  8 GPUs, 30 min: runs now on a node until 1,800.
 *   J3  a gang of 4 nodes, 1,000 s: J2 holds a node until 1,800, and
 *       [1,800, 2,800) ends before the window: reserved at 1,800, estimate
 *       1,800.
 *   J4  8 GPUs, 1 h: [0, 3,600) fits on three free nodes, but conservative
 *       must keep J3's four nodes from 1,800: it waits. Its estimate: around
 *       J1 (one node over [7,200, 14,400)) and J3 ([1,800, 2,800), all the
 *       nodes), no 1 h slot ends by 3,600 except [0, 3,600), taken by J3
 *       at 1,800: 7,200, beside J1.
 */
static void test_estimates_respect_future_window(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_CONSERVATIVE);
    int32_t nodes[] = {0, 1, 2, 3};
    resv(s, "m", SCHED_RESV_MAINTENANCE, H, 2 * H, nodes, 4, NULL, 0, NULL, 0);
    sched_job j1, j2, j3, j4;
    job(&j1, 1, 2 * H, 1, 1, 100);
    job(&j2, 2, H / 2, 1, 1, 100);
    job(&j3, 3, 1000, 4, 1, 100);
    job(&j4, 4, H, 1, 1, 100);
    submit(s, &j1);
    submit(s, &j2);
    submit(s, &j3);
    submit(s, &j4);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 1);
    assert_int_equal(j2.state, SCHED_JOB_RUNNING);
    assert_int_equal(j1.est_start, 2 * H);
    assert_int_equal(sched_job_reason(s, &j1), SCHED_REASON_RESERVATION);
    assert_int_equal(j3.est_start, H / 2);
    assert_int_equal(j4.state, SCHED_JOB_PENDING);
    assert_int_equal(sched_estimate(s, 0, 100), 3);
    assert_int_equal(j1.est_start, 2 * H);
    assert_int_equal(j3.est_start, H / 2);
    assert_int_equal(j4.est_start, 2 * H);
    sched_job *all[] = {&j1, &j2, &j3, &j4};
    assert_no_overlap(s, all, 4);
    sched_destroy(s);
}

/* Removing a reservation frees its nodes at the next pass; the list and
 * the getters follow. */
static void test_remove_reservation(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t nodes[] = {0, 1, 2, 3};
    resv(s, "m", SCHED_RESV_MAINTENANCE, 0, 2 * H, nodes, 4, NULL, 0, NULL, 0);
    uint32_t acc = 7;
    resv(s, "p", SCHED_RESV_PROJECT, 3 * H, 4 * H, nodes, 2, &acc, 1, NULL, 0);
    assert_int_equal(sched_resv_count(s), 2);
    assert_int_equal(sched_resv_find(s, "p"), 1);
    sched_resv_info v;
    assert_int_equal(sched_resv_get(s, 1, &v), 0);
    assert_string_equal(v.name, "p");
    assert_int_equal(v.kind, SCHED_RESV_PROJECT);
    assert_int_equal(v.start, 3 * H);
    assert_int_equal(v.nnodes, 2);
    assert_int_equal(v.naccounts, 1);
    assert_int_equal(v.accounts[0], 7);
    assert_int_equal(sched_resv_get(s, 2, &v), -1);

    sched_job j;
    job(&j, 1, 60, 1, 1, 100);
    submit(s, &j);
    assert_int_equal(sched_pass(s, 0, NULL, NULL), 0);
    assert_int_equal(sched_job_reason(s, &j), SCHED_REASON_RESERVATION);
    assert_int_equal(j.est_start, 2 * H);
    assert_int_equal(sched_resv_remove(s, "m"), 0);
    assert_int_equal(sched_resv_remove(s, "m"), -1);
    assert_int_equal(sched_resv_count(s), 1);
    assert_int_equal(sched_resv_find(s, "p"), 0);
    assert_int_equal(sched_pass(s, 10, NULL, NULL), 1);
    assert_int_equal(j.state, SCHED_JOB_RUNNING);
    assert_int_equal(j.start, 10);
    sched_destroy(s);
}

/* Every malformed reservation is refused with a message naming the field. */
static void test_validation(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    char err[SCHED_ERRLEN];
    int32_t n0 = 0, twice[] = {1, 1}, bad = 9;
    uint32_t acc = 7;
#define REFUSED(prefix, ...)                                                          \
    do {                                                                              \
        err[0] = '\0';                                                                \
        assert_int_equal(sched_resv_add(s, __VA_ARGS__, err, sizeof err), -1);        \
        if (strncmp(err, prefix, strlen(prefix)) != 0)                                \
            fail_msg("expected \"%s...\", got \"%s\"", prefix, err);                  \
    } while (0)
    REFUSED("name:", "", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("kind:", "x", 5, 0, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("end:", "x", SCHED_RESV_MAINTENANCE, 10, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("start:", "x", SCHED_RESV_MAINTENANCE, -1, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("nodes:", "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 0, NULL, 0, NULL, 0);
    REFUSED("nodes: unknown", "x", SCHED_RESV_MAINTENANCE, 0, 10, &bad, 1, NULL, 0, NULL, 0);
    REFUSED("nodes: n1 is listed twice", "x", SCHED_RESV_MAINTENANCE, 0, 10, twice, 2, NULL, 0,
            NULL, 0);
    REFUSED("accounts:", "x", SCHED_RESV_PROJECT, 0, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("accounts:", "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1, &acc, 1, NULL, 0);
    resv(s, "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1, NULL, 0, NULL, 0);
    REFUSED("name: a reservation \"x\" exists", "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1,
            NULL, 0, NULL, 0);
    assert_int_equal(sched_resv_kind_parse("maintenance"), SCHED_RESV_MAINTENANCE);
    assert_int_equal(sched_resv_kind_parse("project"), SCHED_RESV_PROJECT);
    assert_int_equal(sched_resv_kind_parse("other"), -1);
    sched_destroy(s);

    /* a span pool (one-GPU nodes, no topology) cannot be reserved */
    s = sched_create();
    assert_int_equal(sched_pool_add(s, "cpu", NULL), 0);
    assert_int_equal(sched_node_add(s, "c0", 0, -1, 1, 1, 1024), 0);
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    REFUSED("nodes: c0 is in pool cpu", "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1, NULL, 0,
            NULL, 0);
    sched_destroy(s);
#undef REFUSED
}

/* With no reservation left (all over), nothing differs from before: the
 * kept EASY reservation works again and jobs start as usual. */
static void test_expired_reservation_is_inert(void **state)
{
    (void)state;
    sched *s = cluster4(SCHED_EASY);
    int32_t nodes[] = {0, 1, 2, 3};
    resv(s, "m", SCHED_RESV_MAINTENANCE, 0, 100, nodes, 4, NULL, 0, NULL, 0);
    sched_job j;
    job(&j, 1, 60, 4, 1, 100);
    submit(s, &j);
    assert_int_equal(sched_pass(s, 50, NULL, NULL), 0);
    assert_int_equal(j.est_start, 100);
    assert_int_equal(sched_pass(s, 100, NULL, NULL), 1);
    assert_int_equal(j.start, 100);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maintenance_no_job_overlaps),
        cmocka_unit_test(test_maintenance_gang_spanning_reserved_nodes),
        cmocka_unit_test(test_project_reservation),
        cmocka_unit_test(test_project_window_later),
        cmocka_unit_test(test_estimates_respect_future_window),
        cmocka_unit_test(test_remove_reservation),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_expired_reservation_is_inert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
