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

    /* a span pool (one-GPU nodes, no topology) is reserved like any other */
    s = sched_create();
    assert_int_equal(sched_pool_add(s, "cpu", NULL), 0);
    assert_int_equal(sched_node_add(s, "c0", 0, -1, 1, 1, 1024), 0);
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    resv(s, "x", SCHED_RESV_MAINTENANCE, 0, 10, &n0, 1, NULL, 0, NULL, 0);
    int32_t twice0[] = {0, 0};
    REFUSED("nodes: c0 is listed twice", "y", SCHED_RESV_MAINTENANCE, 0, 10, twice0, 2, NULL, 0,
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

/* ---- span pools -----------------------------------------------------------
 * A pool of one-GPU nodes without topology, all alike, is a span pool
 * (src/libsched/span.c): jobs there are placed by counts over a free
 * bitmap. Reservations hold its nodes by the same rule as anywhere. The
 * same nodes placed in one block take the per-node path: with_block builds
 * that twin, which the cases below run too.
 */

/* n one-GPU nodes c0.. (4 CPUs, 8,000 MB) in pool "cpu", without a block
 * (a span pool) or in one block (the per-node path); gpu_nodes > 0 adds a
 * pool "gpu" of 8-GPU nodes after them. */
static sched *unit_cluster(int n, int with_block, int gpu_nodes, int policy)
{
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "cpu", "proc"), 0);
    int b = with_block ? sched_block_add(s, "b0", NULL) : -1;
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(sched_node_add(s, name, 0, b, 1, 4, 8000), i);
    }
    if (gpu_nodes > 0) {
        assert_int_equal(sched_pool_add(s, "gpu", "H100"), 1);
        for (int i = 0; i < gpu_nodes; i++) {
            snprintf(name, sizeof name, "g%d", i);
            assert_int_equal(sched_node_add(s, name, 1, -1, 8, 64, 512000), n + i);
        }
    }
    char err[SCHED_ERRLEN];
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    sched_set_policy(s, policy);
    return s;
}

static void pjob(sched_job *j, int64_t id, int64_t limit, int32_t procs, uint32_t account,
                 uint32_t user)
{
    memset(j, 0, sizeof *j);
    j->id = id;
    j->submit = id;
    j->time_limit = limit;
    j->gpus = procs;
    j->account = account;
    j->user = user;
}

/*
 * The maintenance case above on four one-GPU nodes, as a span pool and as
 * the per-node twin, with the same answers: maintenance of c0 over
 * [1 h, 2 h); a 3-processor job R of 10,000 s runs on c1..c3; then
 *   L  1 proc, 2 h: reserved at 7,200 (the window's end), reason reservation;
 *   B  1 proc, 4,000 s: would pass 3,600 on c0: reason reservation;
 *   S  1 proc, 3,600 s: ends at the window's start: runs on c0.
 * Inside the window nothing starts on c0; at 7,200 L does.
 */
static void test_span_maintenance(void **state)
{
    (void)state;
    for (int blk = 0; blk < 2; blk++) {
        sched *s = unit_cluster(4, blk, 0, SCHED_EASY);
        int32_t n0 = 0;
        resv(s, "m", SCHED_RESV_MAINTENANCE, H, 2 * H, &n0, 1, NULL, 0, NULL, 0);
        sched_job r, l, b, sj;
        pjob(&r, 1, 10000, 3, 1, 100);
        submit(s, &r);
        assert_int_equal(sched_pass(s, 0, NULL, NULL), 1);
        assert_false(runs_on(&r, 0));
        pjob(&l, 2, 2 * H, 1, 1, 100);
        pjob(&b, 3, 4000, 1, 1, 100);
        pjob(&sj, 4, H, 1, 1, 100);
        submit(s, &l);
        submit(s, &b);
        submit(s, &sj);
        assert_int_equal(sched_pass(s, 0, NULL, NULL), 1);
        assert_true(runs_on(&sj, 0));
        assert_int_equal(l.state, SCHED_JOB_PENDING);
        assert_int_equal(l.est_start, 2 * H);
        assert_int_equal(sched_job_reason(s, &l), SCHED_REASON_RESERVATION);
        assert_int_equal(sched_job_reason(s, &b), SCHED_REASON_RESERVATION);
        sched_job *all[] = {&r, &l, &b, &sj};
        assert_no_overlap(s, all, 4);
        sched_job_end(s, &sj, H);
        assert_int_equal(sched_pass(s, H, NULL, NULL), 0);
        assert_int_equal(sched_job_reason(s, &l), SCHED_REASON_RESERVATION);
        assert_int_equal(sched_pass(s, 2 * H, NULL, NULL), 1);
        assert_true(runs_on(&l, 0));
        assert_int_equal(l.start, 2 * H);
        assert_no_overlap(s, all, 4);
        sched_destroy(s);
    }
}

/*
 * A project reservation of c0, c1 over [0, 1 h) for account 7 and user 42,
 * on four one-GPU nodes (span pool and per-node twin). At 0, in order:
 *   A1, A2  account 1, 30 min: c2, c3;
 *   A3      account 1, 30 min: only c0, c1 are free: pending, reason
 *           reservation, reserved at 1,800 when A1 and A2 end;
 *   P       account 7, a gang of 2, 2 h: both project nodes (it may run
 *           past the window).
 * At 1,800 A1, A2 end and A3 starts. A4 (account 1, 10 min) at 1,800
 * runs on the free one of c2, c3.
 */
static void test_span_project(void **state)
{
    (void)state;
    for (int blk = 0; blk < 2; blk++) {
        sched *s = unit_cluster(4, blk, 0, SCHED_EASY);
        int32_t nodes[] = {0, 1};
        uint32_t acc = 7, user = 42;
        resv(s, "p", SCHED_RESV_PROJECT, 0, H, nodes, 2, &acc, 1, &user, 1);
        sched_job a[4], p;
        for (int i = 0; i < 3; i++) {
            pjob(&a[i], 1 + i, H / 2, 1, 1, 100);
            submit(s, &a[i]);
        }
        pjob(&p, 4, 2 * H, 2, 7, 101);
        submit(s, &p);
        assert_int_equal(sched_pass(s, 0, NULL, NULL), 3);
        assert_true(runs_on(&a[0], 2) || runs_on(&a[0], 3));
        assert_true(runs_on(&a[1], 2) || runs_on(&a[1], 3));
        assert_int_equal(a[2].state, SCHED_JOB_PENDING);
        assert_int_equal(sched_job_reason(s, &a[2]), SCHED_REASON_RESERVATION);
        assert_int_equal(a[2].est_start, H / 2);
        assert_true(runs_on(&p, 0) && runs_on(&p, 1));
        sched_job *all[] = {&a[0], &a[1], &a[2], &p};
        assert_no_overlap(s, all, 4);
        sched_job_end(s, &a[0], H / 2);
        sched_job_end(s, &a[1], H / 2);
        pjob(&a[3], 5, 600, 1, 1, 100);
        submit(s, &a[3]);
        assert_int_equal(sched_pass(s, H / 2, NULL, NULL), 2);
        assert_int_equal(a[2].start, H / 2);
        assert_int_equal(a[3].start, H / 2);
        sched_destroy(s);
    }
}

/*
 * Random workloads on a span pool of 40 one-GPU nodes (and, in half the
 * runs, a pool of three 8-GPU nodes), under each policy, with reservations
 * on random nodes of both: maintenance windows (some added while jobs run)
 * and a project window for account 1 and user 7. Jobs: single processors
 * with CPU and memory requests, totals of 2-15 processors, gangs of 2-7
 * nodes, wide jobs of 10-40, limits 0-59 s, some ending early, some held;
 * nodes drain, go down and come back. After every pass: no running job
 * that started after a reservation was added overlaps it on its nodes
 * unless it admits the job, and each span node is busy iff one running job
 * lists it. Every job ends (no reservation blocks the schedule for good),
 * and the project's jobs do use its nodes inside the window.
 */
#define RJOBS 160
#define RNODES 40

typedef struct rrun {
    sched *s;
    sched_job j[RJOBS];
    int64_t run[RJOBS];
    int64_t started[RJOBS]; /* the pass that started job i, 1-based */
    int64_t added[8];   /* reservation i: the first pass after it was added */
    int64_t passes;
    int nres;
    int policy;
    uint64_t seed;
    int proj_used;      /* a project job ran on a project node inside its window */
} rrun;

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return *x >> 33;
}

static void check_run(rrun *t)
{
    sched *s = t->s;
    int busy[RNODES] = {0};
    for (int i = 0; i < RJOBS; i++) {
        const sched_job *j = &t->j[i];
        if (j->state != SCHED_JOB_RUNNING)
            continue;
        int64_t e = j->start + (j->time_limit > 0 ? j->time_limit : 1);
        for (int a = 0; j->pool == 0 && a < j->nalloc; a++) {
            assert_int_equal(busy[j->alloc[a].node], 0);
            busy[j->alloc[a].node] = 1;
        }
        for (int ri = 0; ri < sched_resv_count(s); ri++) {
            sched_resv_info v;
            assert_int_equal(sched_resv_get(s, ri, &v), 0);
            if (t->started[i] < t->added[ri])
                continue; /* running before the reservation existed: never stopped */
            int admitted = 0;
            for (int32_t a = 0; v.kind == SCHED_RESV_PROJECT && a < v.naccounts; a++)
                admitted |= v.accounts[a] == j->account;
            for (int32_t u = 0; v.kind == SCHED_RESV_PROJECT && u < v.nusers; u++)
                admitted |= v.users[u] == j->user;
            for (int32_t x = 0; x < v.nnodes; x++) {
                if (!runs_on(j, v.nodes[x]) || !(j->start < v.end && v.start < e))
                    continue;
                if (!admitted)
                    fail_msg("policy %d seed %llu: job %lld [%lld, %lld) on node %d overlaps %s "
                             "[%lld, %lld)",
                             t->policy, (unsigned long long)t->seed, (long long)j->id,
                             (long long)j->start, (long long)e, v.nodes[x], v.name,
                             (long long)v.start, (long long)v.end);
                if (v.kind == SCHED_RESV_PROJECT)
                    t->proj_used = 1;
            }
        }
    }
    for (int n = 0; n < RNODES; n++) {
        sched_node_info ni;
        assert_int_equal(sched_node_get(s, n, &ni), 0);
        assert_int_equal(ni.free_gpus, !busy[n]);
    }
}

static void add_random_resv(rrun *t, uint64_t *x, int64_t now, int gpu_nodes, int kind)
{
    int32_t nodes[RNODES + 3];
    int32_t nn = 0;
    uint64_t r = lcg(x);
    int32_t first = (int32_t)(r % RNODES), cnt = 1 + (int32_t)(r / RNODES % 12);
    for (int32_t i = 0; i < cnt; i++)
        nodes[nn++] = (first + 7 * i) % RNODES; /* distinct: 7 is prime to 40 */
    if (gpu_nodes > 0 && r % 3 == 0)
        nodes[nn++] = RNODES + (int32_t)(r / 7 % (uint64_t)gpu_nodes);
    int64_t a = now + (int64_t)(lcg(x) % 150), b = a + 20 + (int64_t)(lcg(x) % 120);
    if (kind == SCHED_RESV_PROJECT) /* long enough for the project's jobs to come */
        b += 300;
    char name[16];
    snprintf(name, sizeof name, "r%d", t->nres);
    uint32_t acc = 1, user = 7;
    if (kind == SCHED_RESV_PROJECT)
        resv(t->s, name, kind, a, b, nodes, nn, &acc, 1, &user, 1);
    else
        resv(t->s, name, kind, a, b, nodes, nn, NULL, 0, NULL, 0);
    t->added[t->nres++] = t->passes + 1;
}

/* Returns whether the project's jobs used its nodes inside its window. */
static int random_run(int policy, uint64_t seed, int gpu_nodes)
{
    static rrun t;
    memset(&t, 0, sizeof t);
    t.s = unit_cluster(RNODES, 0, gpu_nodes, policy);
    t.policy = policy;
    t.seed = seed;
    uint64_t x = seed;
    int64_t sub = 0;
    for (int i = 0; i < RJOBS; i++) {
        uint64_t k = lcg(&x);
        sched_job *j = &t.j[i];
        memset(j, 0, sizeof *j);
        j->id = i + 1;
        switch (k % 6) {
        case 0: case 1:
            j->gpus = 1;
            j->cpus_per_gpu = (int32_t)(k / 6 % 5);
            j->mem_per_gpu_mb = (int64_t)(k / 30 % 3) * 4000;
            break;
        case 2: case 3: j->gpus = 2 + (int32_t)(k / 6 % 14); break;
        case 4: j->nodes = 2 + (int32_t)(k / 6 % 6); break;
        default: j->gpus = 10 + (int32_t)(k / 6 % (RNODES - 9)); break;
        }
        uint64_t k2 = lcg(&x);
        j->time_limit = (int64_t)(k2 % 60);
        t.run[i] = k2 / 60 % 3 == 0 ? j->time_limit : j->time_limit * (int64_t)(k2 / 180 % 10) / 10;
        j->held = k2 % 17 == 0;
        j->account = 1 + (uint32_t)(k2 / 17 % 4);
        j->user = 1 + (uint32_t)(k2 / 68 % 9);
        if (gpu_nodes > 0)
            j->pools = (uint64_t)(k2 / 1800 % 3);
        sub += (int64_t)(lcg(&x) % 6);
        j->submit = sub;
    }
    add_random_resv(&t, &x, 0, gpu_nodes, SCHED_RESV_MAINTENANCE);
    add_random_resv(&t, &x, 0, gpu_nodes, SCHED_RESV_PROJECT);
    int32_t down[RNODES];
    int ndown = 0, next = 0, ended = 0, guard = 0;
    int64_t now = 0;
    while (ended < RJOBS) {
        assert_true(++guard < 100000);
        int64_t tnext = next < RJOBS ? t.j[next].submit : INT64_MAX;
        for (int i = 0; i < RJOBS; i++)
            if (t.j[i].state == SCHED_JOB_RUNNING && t.j[i].start + t.run[i] < tnext)
                tnext = t.j[i].start + t.run[i];
        for (int ri = 0; ri < sched_resv_count(t.s); ri++) {
            sched_resv_info v;
            sched_resv_get(t.s, ri, &v);
            if (v.start > now && v.start < tnext)
                tnext = v.start;
            if (v.end > now && v.end < tnext)
                tnext = v.end;
        }
        int stuck = tnext == INT64_MAX;
        now = stuck ? now + 1 : tnext;
        for (int i = 0; i < RJOBS; i++)
            if (t.j[i].state == SCHED_JOB_RUNNING && t.j[i].start + t.run[i] == now) {
                sched_job_end(t.s, &t.j[i], now);
                ended++;
            }
        uint64_t op = lcg(&x);
        if (stuck) {
            for (int d = 0; d < ndown; d++)
                sched_node_set_state(t.s, down[d], SCHED_NODE_UP);
            ndown = 0;
            for (int i = 0; i < RJOBS; i++)
                t.j[i].held = 0;
        } else if (op % 7 == 0 && ndown < RNODES / 4) {
            int32_t n = (int32_t)(lcg(&x) % RNODES);
            sched_node_info ni;
            sched_node_get(t.s, n, &ni);
            if (ni.state == SCHED_NODE_UP) {
                sched_node_set_state(t.s, n, op % 2 ? SCHED_NODE_DOWN : SCHED_NODE_DRAIN);
                down[ndown++] = n;
            }
        } else if (op % 7 == 1 && ndown > 0) {
            int d = (int)(lcg(&x) % (uint64_t)ndown);
            sched_node_set_state(t.s, down[d], SCHED_NODE_UP);
            down[d] = down[--ndown];
        } else if (op % 7 == 2) {
            for (int i = 0; i < RJOBS; i++)
                if (t.j[i].held && lcg(&x) % 3 == 0)
                    t.j[i].held = 0;
        } else if (op % 29 == 3 && t.nres < 6) {
            add_random_resv(&t, &x, now, gpu_nodes, SCHED_RESV_MAINTENANCE);
        }
        while (next < RJOBS && t.j[next].submit == now) {
            char err[SCHED_ERRLEN];
            int rc = sched_submit(t.s, &t.j[next], err, sizeof err);
            assert_true(rc == 0 || gpu_nodes > 0);
            ended += rc != 0;
            next++;
        }
        sched_pass(t.s, now, NULL, NULL);
        t.passes++;
        for (int i = 0; i < RJOBS; i++)
            if (t.j[i].state == SCHED_JOB_RUNNING && t.started[i] == 0)
                t.started[i] = t.passes;
        check_run(&t);
        if (now % 7 == 0)
            sched_estimate(t.s, now, 50);
    }
    assert_int_equal(sched_pending_count(t.s), 0);
    sched_destroy(t.s);
    return t.proj_used;
}

static void test_span_random_no_overlap(void **state)
{
    (void)state;
    for (int pol = SCHED_FCFS; pol <= SCHED_CONSERVATIVE; pol++) {
        int used = 0;
        for (uint64_t seed = 1; seed <= 24; seed++)
            used += random_run(pol, seed * 104729, (int)(seed % 2) * 3);
        /* not vacuous: in most runs the project's jobs do run there (fcfs
         * may keep them queued behind a job waiting for the window) */
        if (used < 12)
            fail_msg("policy %d: the project window was used in %d runs of 24", pol, used);
    }
}

/*
 * The span pool under reservations decides as the per-node path does: the
 * same random workload runs in lockstep on a span pool and on its per-node
 * twin (the same nodes in one block), under each policy, with a
 * maintenance window and a project window (account 1, user 7) on the
 * lowest-numbered nodes, a second maintenance window added while jobs run,
 * held jobs, nodes draining and coming back; after every pass every job
 * has the same state, start, size, reservation time and pending reason,
 * and each running job holds the same reserved nodes. (Nodes without
 * reservations are interchangeable and the two paths may pick different
 * ones; the per-node path breaks some ties by node number, which is why
 * the reservations take the lowest-numbered nodes here.)
 */
/* The k-th free UP node from node `from` on (mod their count), or -1. */
static int32_t nth_free_up(const sched *s, int32_t from, uint64_t k)
{
    int c = 0;
    for (int n = from; n < RNODES; n++) {
        sched_node_info ni;
        sched_node_get(s, n, &ni);
        c += ni.state == SCHED_NODE_UP && ni.free_gpus == 1;
    }
    if (c == 0)
        return -1;
    k %= (uint64_t)c;
    for (int n = from; n < RNODES; n++) {
        sched_node_info ni;
        sched_node_get(s, n, &ni);
        if (ni.state == SCHED_NODE_UP && ni.free_gpus == 1 && k-- == 0)
            return n;
    }
    return -1;
}

static void differential_run(int policy, uint64_t seed, int gpu_nodes)
{
    static sched_job jj[2][RJOBS];
    static int64_t run[RJOBS];
    sched *side[2];
    for (int k = 0; k < 2; k++)
        side[k] = unit_cluster(RNODES, k, gpu_nodes, policy);
    uint64_t x = seed;
    int64_t sub = 0;
    for (int i = 0; i < RJOBS; i++) {
        uint64_t k = lcg(&x);
        sched_job j;
        memset(&j, 0, sizeof j);
        j.id = i + 1;
        switch (k % 6) {
        case 0: case 1:
            j.gpus = 1;
            j.cpus_per_gpu = (int32_t)(k / 6 % 5);
            j.mem_per_gpu_mb = (int64_t)(k / 30 % 3) * 4000;
            break;
        case 2: case 3: j.gpus = 2 + (int32_t)(k / 6 % 14); break;
        case 4: j.nodes = 2 + (int32_t)(k / 6 % 6); break;
        default: j.gpus = 10 + (int32_t)(k / 6 % (RNODES - 9)); break;
        }
        uint64_t k2 = lcg(&x);
        j.time_limit = (int64_t)(k2 % 60);
        run[i] = k2 / 60 % 3 == 0 ? j.time_limit : j.time_limit * (int64_t)(k2 / 180 % 10) / 10;
        j.held = k2 % 17 == 0;
        j.account = 1 + (uint32_t)(k2 / 17 % 4);
        j.user = 1 + (uint32_t)(k2 / 68 % 9);
        if (gpu_nodes > 0)
            j.pools = (uint64_t)(k2 / 1800 % 3);
        sub += (int64_t)(lcg(&x) % 6);
        j.submit = sub;
        jj[0][i] = jj[1][i] = j;
    }
    /* maintenance of c0 .. c(m-1) (and g0), the project on c0 .. c(pn-1): the
     * nodes that reservations not over yet cover are always the lowest */
    uint64_t r = lcg(&x);
    int32_t m = 3 + (int32_t)(r % 8), pn = 2 + (int32_t)(r / 8 % 6), nodes[RNODES + 1];
    int32_t pnodes[16];
    for (int32_t i = 0; i < m; i++)
        nodes[i] = i;
    for (int32_t i = 0; i < pn; i++)
        pnodes[i] = i;
    int32_t low = m > pn ? m : pn; /* c0 .. c(low-1) are reserved, the rest never */
    int32_t nm = m;
    if (gpu_nodes > 0)
        nodes[nm++] = RNODES;
    int64_t ma = (int64_t)(r / 64 % 100), mb = ma + 30 + (int64_t)(r / 6400 % 150);
    int64_t pa = (int64_t)(lcg(&x) % 80), pb = pa + 200 + (int64_t)(lcg(&x) % 200);
    uint32_t acc = 1, user = 7;
    for (int k = 0; k < 2; k++) {
        resv(side[k], "m", SCHED_RESV_MAINTENANCE, ma, mb, nodes, nm, NULL, 0, NULL, 0);
        resv(side[k], "p", SCHED_RESV_PROJECT, pa, pb, pnodes, pn, &acc, 1, &user, 1);
    }
    int32_t down[2][RNODES];
    int ndown = 0, next = 0, ended = 0, guard = 0, added = 0;
    int64_t now = 0;
    while (ended < RJOBS) {
        assert_true(++guard < 100000);
        int64_t tnext = next < RJOBS ? jj[0][next].submit : INT64_MAX;
        for (int i = 0; i < RJOBS; i++)
            if (jj[0][i].state == SCHED_JOB_RUNNING && jj[0][i].start + run[i] < tnext)
                tnext = jj[0][i].start + run[i];
        for (int ri = 0; ri < sched_resv_count(side[0]); ri++) {
            sched_resv_info v;
            sched_resv_get(side[0], ri, &v);
            if (v.start > now && v.start < tnext)
                tnext = v.start;
            if (v.end > now && v.end < tnext)
                tnext = v.end;
        }
        int stuck = tnext == INT64_MAX;
        now = stuck ? now + 1 : tnext;
        for (int i = 0; i < RJOBS; i++)
            if (jj[0][i].state == SCHED_JOB_RUNNING && jj[0][i].start + run[i] == now) {
                for (int k = 0; k < 2; k++)
                    sched_job_end(side[k], &jj[k][i], now);
                ended++;
            }
        uint64_t op = lcg(&x);
        if (stuck) {
            for (int k = 0; k < 2; k++) {
                for (int d = 0; d < ndown; d++)
                    sched_node_set_state(side[k], down[k][d], SCHED_NODE_UP);
                for (int i = 0; i < RJOBS; i++)
                    jj[k][i].held = 0;
            }
            ndown = 0;
        } else if (op % 5 == 0 && ndown < RNODES / 4) {
            /* a free node: by rank among the never reserved ones, which may
             * be different nodes on the two sides, or a reserved one by name */
            uint64_t q = lcg(&x);
            int32_t n0, n1;
            if (q % 4 == 0) {
                sched_node_info i0, i1;
                n0 = n1 = (int32_t)(q / 4 % (uint64_t)low);
                sched_node_get(side[0], n0, &i0);
                sched_node_get(side[1], n1, &i1);
                if (i0.state != SCHED_NODE_UP || i0.free_gpus != 1 ||
                    i1.state != SCHED_NODE_UP || i1.free_gpus != 1)
                    n0 = n1 = -1;
            } else {
                n0 = nth_free_up(side[0], low, q);
                n1 = nth_free_up(side[1], low, q);
            }
            if (n0 >= 0 && n1 >= 0) { /* (reserved nodes no longer are, alike: may differ) */
                int st = q % 2 ? SCHED_NODE_DOWN : SCHED_NODE_DRAIN;
                assert_int_equal(sched_node_set_state(side[0], n0, st), 0);
                assert_int_equal(sched_node_set_state(side[1], n1, st), 0);
                down[0][ndown] = n0;
                down[1][ndown++] = n1;
            }
        } else if (op % 5 == 1 && ndown > 0) {
            int d = (int)(lcg(&x) % (uint64_t)ndown);
            for (int k = 0; k < 2; k++) {
                assert_int_equal(sched_node_set_state(side[k], down[k][d], SCHED_NODE_UP), 0);
                down[k][d] = down[k][ndown - 1];
            }
            ndown--;
        } else if (op % 5 == 2) {
            for (int i = 0; i < RJOBS; i++)
                if (jj[0][i].held && jj[0][i].state == SCHED_JOB_PENDING && lcg(&x) % 3 == 0)
                    jj[0][i].held = jj[1][i].held = 0;
        } else if (op % 31 == 3 && !added && now < mb) {
            /* a second maintenance window on the same low nodes, later */
            added = 1;
            for (int k = 0; k < 2; k++)
                resv(side[k], "m2", SCHED_RESV_MAINTENANCE, now + 40, now + 90, nodes, m, NULL,
                     0, NULL, 0);
        }
        while (next < RJOBS && jj[0][next].submit == now) {
            char err[SCHED_ERRLEN];
            int rc0 = sched_submit(side[0], &jj[0][next], err, sizeof err);
            int rc1 = sched_submit(side[1], &jj[1][next], err, sizeof err);
            assert_int_equal(rc0, rc1);
            ended += rc0 != 0;
            next++;
        }
        int st0 = sched_pass(side[0], now, NULL, NULL);
        int st1 = sched_pass(side[1], now, NULL, NULL);
        if (st0 != st1)
            fail_msg("policy %d seed %llu t=%lld: %d started / %d", policy,
                     (unsigned long long)seed, (long long)now, st0, st1);
        /* the nodes that reservations not over yet cover: the others are alike */
        int live[RNODES] = {0};
        for (int ri = 0; ri < sched_resv_count(side[0]); ri++) {
            sched_resv_info v;
            sched_resv_get(side[0], ri, &v);
            for (int32_t q = 0; v.end > now && q < v.nnodes; q++)
                if (v.nodes[q] < RNODES)
                    live[v.nodes[q]] = 1;
        }
        for (int i = 0; i < RJOBS; i++) {
            const sched_job *a = &jj[0][i], *b = &jj[1][i];
            if (a->state != b->state || a->start != b->start || a->est_start != b->est_start ||
                a->alloced_gpus != b->alloced_gpus ||
                sched_job_reason(side[0], a) != sched_job_reason(side[1], b))
                fail_msg("policy %d seed %llu t=%lld job %d: state %d/%d start %lld/%lld "
                         "est %lld/%lld gpus %d/%d reason %d/%d",
                         policy, (unsigned long long)seed, (long long)now, i + 1, a->state,
                         b->state, (long long)a->start, (long long)b->start,
                         (long long)a->est_start, (long long)b->est_start, a->alloced_gpus,
                         b->alloced_gpus, sched_job_reason(side[0], a),
                         sched_job_reason(side[1], b));
            for (int32_t q = 0; a->state == SCHED_JOB_RUNNING && q < RNODES; q++)
                if (live[q] && runs_on(a, q) != runs_on(b, q))
                    fail_msg("policy %d seed %llu t=%lld job %d: reserved node %d held on "
                             "one side only",
                             policy, (unsigned long long)seed, (long long)now, i + 1, q);
        }
        assert_int_equal(sched_free_gpus(side[0]), sched_free_gpus(side[1]));
    }
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sched_pending_count(side[k]), 0);
        sched_destroy(side[k]);
    }
}

static void test_span_resv_matches_per_node(void **state)
{
    (void)state;
    for (int pol = SCHED_FCFS; pol <= SCHED_CONSERVATIVE; pol++)
        for (uint64_t seed = 1; seed <= 24; seed++)
            differential_run(pol, seed * 7919, (int)(seed % 2) * 3);
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
        cmocka_unit_test(test_span_maintenance),
        cmocka_unit_test(test_span_project),
        cmocka_unit_test(test_span_random_no_overlap),
        cmocka_unit_test(test_span_resv_matches_per_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
