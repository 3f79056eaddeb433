/*
 * Unit tests of libsched's policy layer (src/libsched/acct.h): the account
 * tree and its lookups, usage decay, Fair Tree ranks, multifactor priority,
 * QOS limits and gating, allocations and their admission messages, and the
 * priority callback driving sched_reprioritize. Every expected value is
 * worked out in the comment beside it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "acct.h"
#include "libsched.h"

#define H 3600 /* an hour, s */

/* Doubles equal to 1e-9 relative (or absolute near 0), saying what was seen. */
#define assert_near(got, want)                                                             \
    do {                                                                                   \
        double g_ = (got), w_ = (want);                                                    \
        if (!(fabs(g_ - w_) <= 1e-9 * (fabs(w_) > 1 ? fabs(w_) : 1)))                      \
            fail_msg("%s = %.17g, want %.17g", #got, g_, w_);                              \
    } while (0)

static char err[ACCT_ERRLEN];

static int must(int rc)
{
    if (rc < 0)
        fail_msg("unexpected failure: %s", err);
    return rc;
}

/* A user who is a member of one project, with 1 share. */
static int member_of(acct_center *a, const char *user, int project)
{
    int u = acct_user_find(a, user);
    if (u < 0)
        u = must(acct_user_add(a, user, -1, err, sizeof err));
    return must(acct_member_add(a, u, project, 1.0, err, sizeof err));
}

static acct_center *no_decay(void)
{
    acct_center *a = acct_create(NULL);
    assert_non_null(a);
    acct_priority_config c;
    acct_priority_defaults(&c);
    c.half_life = 0;
    must(acct_set_priority(a, &c, err, sizeof err));
    return a;
}

/* ---- tree, users, lookups ------------------------------------------------ */

static void test_tree_and_lookups(void **state)
{
    (void)state;
    acct_center *a = acct_create("nsc");
    assert_string_equal(acct_node_name(a, 0), "nsc");
    assert_int_equal(acct_node_level(a, 0), ACCT_CENTER);
    int fm = must(acct_account_add(a, 0, ACCT_TIER, "foundation-model", 40, err, sizeof err));
    int uni = must(acct_account_add(a, 0, ACCT_TIER, "university", 20, err, sizeof err));
    int snu = must(acct_account_add(a, uni, ACCT_ORG, "snu", 1, err, sizeof err));
    int dept = must(acct_account_add(a, snu, ACCT_ORG, "snu-cs", 1, err, sizeof err));
    int vis = must(acct_account_add(a, dept, ACCT_PROJECT, "snu-vision", 2, err, sizeof err));
    int llm = must(acct_account_add(a, fm, ACCT_PROJECT, "kisti-llm", 1, err, sizeof err));

    assert_int_equal(acct_account_find(a, "snu-vision"), vis);
    assert_int_equal(acct_account_find(a, "kisti-llm"), llm);
    assert_int_equal(acct_account_find(a, "nope"), -1);
    assert_int_equal(acct_node_parent(a, vis), dept);
    assert_int_equal(acct_node_ancestor(a, vis, ACCT_TIER), uni);
    assert_int_equal(acct_node_ancestor(a, vis, ACCT_ORG), dept); /* the nearest */
    assert_int_equal(acct_node_ancestor(a, llm, ACCT_ORG), -1);
    assert_true(acct_node_shares(a, vis) == 2);

    int alice = must(acct_user_add(a, "alice", 1001, err, sizeof err));
    int bob = must(acct_user_add(a, "bob", -1, err, sizeof err));
    assert_int_equal(acct_user_find(a, "alice"), alice);
    assert_int_equal(acct_user_find_uid(a, 1001), alice);
    assert_int_equal(acct_user_find_uid(a, 1002), -1);
    assert_int_equal(acct_user_default(a, alice), ACCT_NONE);
    int m1 = must(acct_member_add(a, alice, vis, 1, err, sizeof err));
    int m2 = must(acct_member_add(a, alice, llm, 1, err, sizeof err));
    assert_int_equal(acct_member_find(a, alice, vis), m1);
    assert_int_equal(acct_member_find(a, alice, llm), m2);
    assert_int_equal(acct_member_find(a, bob, llm), -1);
    assert_int_equal(acct_node_level(a, m1), ACCT_MEMBER);
    assert_string_equal(acct_node_name(a, m1), "alice");
    /* the first membership is the default, until set */
    assert_int_equal(acct_user_default(a, alice), vis);
    assert_int_equal(acct_user_set_default(a, alice, llm), 0);
    assert_int_equal(acct_user_default(a, alice), llm);
    assert_int_equal(acct_user_set_default(a, bob, llm), -1);

    /* shape and name rules */
    assert_int_equal(acct_account_add(a, vis, ACCT_PROJECT, "sub", 1, err, sizeof err), -1);
    assert_string_equal(err, "project sub: cannot be placed under project snu-vision");
    assert_int_equal(acct_account_add(a, fm, ACCT_TIER, "t2", 1, err, sizeof err), -1);
    assert_string_equal(err, "tier t2: cannot be placed under tier foundation-model");
    assert_int_equal(acct_account_add(a, 0, ACCT_ORG, "o", 1, err, sizeof err), -1);
    assert_int_equal(acct_account_add(a, fm, ACCT_ORG, "snu", 1, err, sizeof err), -1);
    assert_string_equal(err, "organization snu: an account with this name exists");
    assert_int_equal(acct_account_add(a, fm, ACCT_ORG, "a b", 1, err, sizeof err), -1);
    assert_int_equal(acct_account_add(a, fm, ACCT_ORG, "", 1, err, sizeof err), -1);
    assert_int_equal(acct_account_add(a, fm, ACCT_ORG, "neg", -1, err, sizeof err), -1);
    assert_string_equal(err, "neg: shares must be between 0 and 1e+09");
    assert_int_equal(acct_account_add(a, 99, ACCT_ORG, "x", 1, err, sizeof err), -1);
    assert_int_equal(acct_user_add(a, "alice", -1, err, sizeof err), -1);
    assert_int_equal(acct_user_add(a, "carol", 1001, err, sizeof err), -1);
    assert_string_equal(err, "user carol: uid 1001 is already user alice's");
    assert_int_equal(acct_member_add(a, alice, vis, 1, err, sizeof err), -1);
    assert_string_equal(err, "user alice: already a member of project snu-vision");
    assert_int_equal(acct_member_add(a, bob, snu, 1, err, sizeof err), -1);
    assert_string_equal(err, "user bob: snu is not a project");
    acct_destroy(a);
    acct_destroy(NULL);
}

/* ---- usage and decay ------------------------------------------------------ */

static void test_decay_halves_usage_each_half_life(void **state)
{
    (void)state;
    acct_center *a = acct_create(NULL);
    acct_priority_config c;
    acct_priority_defaults(&c);
    c.half_life = 100;
    must(acct_set_priority(a, &c, err, sizeof err));
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    int m = member_of(a, "u", p);
    acct_charge(a, m, 1000, 0);
    assert_near(acct_usage(a, m, 0), 1000);
    assert_near(acct_usage(a, m, 100), 500);  /* one half-life */
    assert_near(acct_usage(a, m, 200), 250);  /* two */
    assert_near(acct_usage(a, p, 100), 500);  /* the project carries its members' usage */
    assert_near(acct_usage(a, 0, 300), 125);  /* and the center */
    /* a charge at 100 adds to the decayed value */
    acct_charge(a, m, 500, 100);
    assert_near(acct_usage(a, m, 100), 1000);
    assert_near(acct_usage(a, m, 200), 500);
    acct_destroy(a);
}

static void test_running_job_charges_continuously(void **state)
{
    (void)state;
    acct_center *a = acct_create(NULL);
    acct_priority_config c;
    acct_priority_defaults(&c);
    c.half_life = H;
    must(acct_set_priority(a, &c, err, sizeof err));
    const char *names[] = {"h100", "h200"};
    const double rates[] = {1.0, 2.0};
    must(acct_set_pools(a, 2, names, rates, 64, err, sizeof err));
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    member_of(a, "u", p);
    acct_job j;
    acct_job_init(&j);
    j.project = p;
    j.user = acct_user_find(a, "u");
    j.gpus = 2;
    j.time_limit = 10 * H;
    must(acct_admit(a, &j, 0, err, sizeof err));
    acct_job_start(a, &j, 1, 2, 0); /* on h200: 2 GPUs x rate 2 = 4 per second */
    /* usage(t) = burn (h / ln 2)(1 - 2^(-t/h)); at t = h: 4 h / (2 ln 2) */
    double want = 4.0 * H / (2 * log(2.0));
    assert_near(acct_usage(a, j.member, H), want);
    assert_near(acct_usage(a, p, H), want);
    acct_job_end(a, &j, H);
    assert_near(acct_usage(a, j.member, 2 * H), want / 2); /* decays once idle */

    /* without decay, usage is GPU-seconds x rate */
    acct_priority_defaults(&c);
    c.half_life = 0;
    must(acct_set_priority(a, &c, err, sizeof err));
    acct_job k;
    acct_job_init(&k);
    k.project = p;
    k.user = j.user;
    k.gpus = 3;
    k.time_limit = H;
    must(acct_admit(a, &k, 2 * H, err, sizeof err));
    acct_job_start(a, &k, 0, 3, 2 * H);
    double before = acct_usage(a, k.member, 2 * H);
    assert_near(acct_usage(a, k.member, 2 * H + 100), before + 300);
    acct_job_end(a, &k, 2 * H + 100);
    assert_near(acct_usage(a, k.member, 5 * H), before + 300);
    acct_destroy(a);
}

/* ---- Fair Tree ------------------------------------------------------------ */

/*
 * Two levels. center -> tiers X (3 shares) and Y (1 share); X -> projects
 * x1, x2 (1 share each); Y -> project y1; one member in each project.
 * Usage 60, 20, 20 (no decay).
 *   X: S = 3/4, U = 80/100 -> LF 0.9375;  Y: S = 1/4, U = 20/100 -> LF 1.25.
 * Y is under-served despite fewer shares: y1 ranks first (3 of 3).
 *   x1: S = 1/2, U = 60/80 -> 0.667;  x2: S = 1/2, U = 20/80 -> 2.
 * x2 ranks 2, x1 ranks 1. Factors 1, 2/3, 1/3.
 */
static void test_fairtree_two_levels(void **state)
{
    (void)state;
    acct_center *a = no_decay();
    int X = must(acct_account_add(a, 0, ACCT_TIER, "X", 3, err, sizeof err));
    int Y = must(acct_account_add(a, 0, ACCT_TIER, "Y", 1, err, sizeof err));
    int x1 = must(acct_account_add(a, X, ACCT_PROJECT, "x1", 1, err, sizeof err));
    int x2 = must(acct_account_add(a, X, ACCT_PROJECT, "x2", 1, err, sizeof err));
    int y1 = must(acct_account_add(a, Y, ACCT_PROJECT, "y1", 1, err, sizeof err));
    int mx1 = member_of(a, "ux1", x1), mx2 = member_of(a, "ux2", x2), my1 = member_of(a, "uy1", y1);
    acct_charge(a, mx1, 60, 0);
    acct_charge(a, mx2, 20, 0);
    acct_charge(a, my1, 20, 0);
    acct_fairshare_update(a, 10);
    assert_near(acct_level_fs(a, X), 0.9375);
    assert_near(acct_level_fs(a, Y), 1.25);
    assert_near(acct_level_fs(a, x1), 2.0 / 3.0);
    assert_near(acct_level_fs(a, x2), 2.0);
    assert_int_equal(acct_member_rank(a, my1), 3);
    assert_int_equal(acct_member_rank(a, mx2), 2);
    assert_int_equal(acct_member_rank(a, mx1), 1);
    assert_near(acct_fairshare(a, my1), 1.0);
    assert_near(acct_fairshare(a, mx2), 2.0 / 3.0);
    assert_near(acct_fairshare(a, mx1), 1.0 / 3.0);

    /* Y now uses 40 more: Y U = 60/140, LF = 0.25 / (60/140) = 0.583;
     * X U = 80/140, LF = 0.75 / (80/140) = 1.3125: X's members come first. */
    acct_charge(a, my1, 40, 20);
    acct_fairshare_update(a, 20);
    assert_int_equal(acct_member_rank(a, mx2), 3);
    assert_int_equal(acct_member_rank(a, mx1), 2);
    assert_int_equal(acct_member_rank(a, my1), 1);
    acct_destroy(a);
}

/*
 * Members of one project, the worked example of docs/policy.md: project p
 * with members a1, a2 (1 share each) and project q with b1; p and q 1 share
 * each, usage a1 10, a2 30, b1 60.
 *   p: S 1/2, U 40/100 -> 1.25;  q: S 1/2, U 60/100 -> 0.833. p first.
 *   a1: S 1/2, U 10/40 -> 2;  a2: S 1/2, U 30/40 -> 0.667.
 * Ranks a1 3, a2 2, b1 1, although b1 is alone in its project.
 */
static void test_fairtree_members(void **state)
{
    (void)state;
    acct_center *a = no_decay();
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    int q = must(acct_account_add(a, 0, ACCT_PROJECT, "q", 1, err, sizeof err));
    int a1 = member_of(a, "a1", p), a2 = member_of(a, "a2", p), b1 = member_of(a, "b1", q);
    acct_charge(a, a1, 10, 0);
    acct_charge(a, a2, 30, 0);
    acct_charge(a, b1, 60, 0);
    acct_fairshare_update(a, 0);
    assert_near(acct_level_fs(a, p), 1.25);
    assert_near(acct_level_fs(a, q), 0.5 / 0.6);
    assert_int_equal(acct_member_rank(a, a1), 3);
    assert_int_equal(acct_member_rank(a, a2), 2);
    assert_int_equal(acct_member_rank(a, b1), 1);
    acct_destroy(a);
}

/*
 * Ties. With no usage every LF is +inf: the projects p and q tie, so their
 * children are merged into one group, where all three members tie again and
 * share rank 3 (factor 1). Then a1 uses 10: p's LF becomes 1/2 / 1 = 0.5
 * (q, unused, keeps +inf): b1 ranks 3; inside p, a2 (unused, +inf) ranks 2
 * and a1 ranks 1. A zero-share member has LF 0 and ranks last.
 */
static void test_fairtree_ties(void **state)
{
    (void)state;
    acct_center *a = no_decay();
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    int q = must(acct_account_add(a, 0, ACCT_PROJECT, "q", 1, err, sizeof err));
    int a1 = member_of(a, "a1", p), a2 = member_of(a, "a2", p), b1 = member_of(a, "b1", q);
    acct_fairshare_update(a, 0);
    assert_true(isinf(acct_level_fs(a, p)) && isinf(acct_level_fs(a, q)));
    assert_int_equal(acct_member_rank(a, a1), 3);
    assert_int_equal(acct_member_rank(a, a2), 3);
    assert_int_equal(acct_member_rank(a, b1), 3);
    assert_near(acct_fairshare(a, a2), 1.0);

    acct_charge(a, a1, 10, 1);
    acct_fairshare_update(a, 1);
    assert_near(acct_level_fs(a, p), 0.5);
    assert_int_equal(acct_member_rank(a, b1), 3);
    assert_int_equal(acct_member_rank(a, a2), 2);
    assert_int_equal(acct_member_rank(a, a1), 1);

    /* competition ranking: two tied members take 4 and 4, the next gets 2 */
    int r = must(acct_account_add(a, 0, ACCT_PROJECT, "r", 0, err, sizeof err));
    int c1 = member_of(a, "c1", r);
    acct_fairshare_update(a, 2);
    /* r has 0 shares: LF 0, after p (0.5) and q (+inf). Order q, p, r:
     * b1 4; a2 3; a1 2; c1 1 */
    assert_int_equal(acct_member_rank(a, b1), 4);
    assert_int_equal(acct_member_rank(a, a2), 3);
    assert_int_equal(acct_member_rank(a, a1), 2);
    assert_int_equal(acct_member_rank(a, c1), 1);
    assert_near(acct_fairshare(a, c1), 0.25);
    int a3 = member_of(a, "a3", p);
    acct_charge(a, a3, 10, 3); /* a1 and a3 now tie inside p */
    acct_fairshare_update(a, 3);
    /* p: U 20/20 -> LF 0.5 (< +inf of q); q first: b1 5; p: a2 +inf -> 4;
     * a1 and a3 tie at LF (1/3)/(1/2) -> both 3; c1 then gets 1 */
    assert_int_equal(acct_member_rank(a, b1), 5);
    assert_int_equal(acct_member_rank(a, a2), 4);
    assert_int_equal(acct_member_rank(a, a1), 3);
    assert_int_equal(acct_member_rank(a, a3), 3);
    assert_int_equal(acct_member_rank(a, c1), 1);
    acct_destroy(a);
}

/* ---- multifactor priority -------------------------------------------------- */

static void test_priority_factors(void **state)
{
    (void)state;
    acct_center *a = no_decay();
    const char *names[] = {"h100"};
    const double rates[] = {1.0};
    must(acct_set_pools(a, 1, names, rates, 100, err, sizeof err));
    acct_priority_config c;
    acct_priority_defaults(&c);
    c.half_life = 0;
    c.w_age = 1000;
    c.w_fairshare = 10000;
    c.w_size = 2000;
    c.w_qos = 4000;
    c.max_age = 1000;
    must(acct_set_priority(a, &c, err, sizeof err));
    acct_qos_def low = {.name = "low", .priority = 0}, high = {.name = "high", .priority = 100},
                 mid = {.name = "mid", .priority = 50};
    must(acct_qos_add(a, &low, err, sizeof err));
    int qh = must(acct_qos_add(a, &high, err, sizeof err));
    int qm = must(acct_qos_add(a, &mid, err, sizeof err));
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    int q = must(acct_account_add(a, 0, ACCT_PROJECT, "q", 1, err, sizeof err));
    int mp = member_of(a, "up", p), mq = member_of(a, "uq", q);
    acct_charge(a, mp, 100, 0); /* p used, q not: uq ranks 2 of 2, up 1 of 2 */
    acct_fairshare_update(a, 0);
    assert_near(acct_fairshare(a, mq), 1.0);
    assert_near(acct_fairshare(a, mp), 0.5);

    acct_job j;
    acct_job_init(&j);
    j.project = p;
    j.user = acct_user_find(a, "up");
    j.qos = qm;
    j.gpus = 25;
    j.submit = 0;
    j.time_limit = 100;
    j.nice = 7;
    must(acct_admit(a, &j, 0, err, sizeof err));
    acct_factors f;
    acct_job_factors(a, &j, 500, &f);
    assert_near(f.age, 0.5);        /* 500 s of max_age 1000 */
    assert_near(f.fairshare, 0.5);  /* rank 1 of 2 */
    assert_near(f.size, 0.25);      /* 25 of 100 GPUs */
    assert_near(f.qos, 0.5);        /* 50 of the largest, 100 */
    /* 1000 x 0.5 + 10000 x 0.5 + 2000 x 0.25 + 4000 x 0.5 - 7 = 7993 */
    assert_int_equal(f.priority, 7993);
    assert_int_equal(acct_job_priority(a, &j, 500), 7993);
    /* age saturates at 1, and never goes below 0 */
    acct_job_factors(a, &j, 5000, &f);
    assert_near(f.age, 1.0);
    acct_job_factors(a, &j, -10, &f);
    assert_near(f.age, 0.0);

    /* favouring small jobs: size factor 1 - 0.25 */
    c.favor_small = 1;
    must(acct_set_priority(a, &c, err, sizeof err));
    acct_job_factors(a, &j, 500, &f);
    assert_near(f.size, 0.75);

    /* default QOS (the first, "low", priority 0) and the other project */
    acct_job k;
    acct_job_init(&k);
    k.project = q;
    k.user = acct_user_find(a, "uq");
    k.gpus = 100;
    acct_job_factors(a, &k, 0, &f); /* not admitted: the member is looked up */
    assert_near(f.fairshare, 1.0);
    assert_near(f.qos, 0.0);
    k.qos = qh;
    acct_job_factors(a, &k, 0, &f);
    assert_near(f.qos, 1.0);
    /* 0 + 10000 + 2000 x 0 (favouring small, whole cluster) + 4000 */
    assert_int_equal(f.priority, 14000);
    acct_destroy(a);
}

/* The priority callback reorders libsched's queue: two one-GPU jobs wait on
 * a full one-GPU node; the later one belongs to the under-served project
 * and, once reprioritized, starts first when the node frees. */
typedef struct pjob {
    sched_job sj;
    acct_job aj;
} pjob;

static const acct_job *job_of(const sched_job *sj, void *arg)
{
    (void)arg;
    return &((const pjob *)(const void *)sj)->aj;
}

static void test_reprioritize_with_fairshare(void **state)
{
    (void)state;
    sched *s = sched_create();
    sched_pool_add(s, "h100", "H100");
    sched_node_add(s, "n0", 0, -1, 1, 0, 0);
    assert_int_equal(sched_finalize(s, err, sizeof err), 0);
    sched_set_policy(s, SCHED_FCFS);

    acct_center *a = no_decay();
    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "heavy", 1, err, sizeof err));
    int q = must(acct_account_add(a, 0, ACCT_PROJECT, "light", 1, err, sizeof err));
    member_of(a, "hu", p);
    int mq = member_of(a, "lu", q);
    (void)mq;
    acct_charge(a, acct_member_find(a, acct_user_find(a, "hu"), p), 1e6, 0);
    acct_fairshare_update(a, 0);

    pjob jobs[3];
    const int proj[3] = {p, p, q};
    const char *user[3] = {"hu", "hu", "lu"};
    for (int i = 0; i < 3; i++) {
        memset(&jobs[i].sj, 0, sizeof jobs[i].sj);
        jobs[i].sj.id = i + 1;
        jobs[i].sj.submit = i;
        jobs[i].sj.time_limit = 100;
        jobs[i].sj.gpus = 1;
        jobs[i].sj.account = (uint32_t)proj[i];
        acct_job_init(&jobs[i].aj);
        jobs[i].aj.project = proj[i];
        jobs[i].aj.user = acct_user_find(a, user[i]);
        jobs[i].aj.gpus = 1;
        jobs[i].aj.submit = i;
        jobs[i].aj.time_limit = 100;
        must(acct_admit(a, &jobs[i].aj, i, err, sizeof err));
        assert_int_equal(sched_submit(s, &jobs[i].sj, err, sizeof err), 0);
    }
    assert_int_equal(sched_pass(s, 2, NULL, NULL), 1); /* job 1 takes the node */
    assert_int_equal(jobs[0].sj.state, SCHED_JOB_RUNNING);
    acct_prio_arg pa = {a, 2, job_of, NULL};
    sched_reprioritize(s, acct_sched_priority, &pa);
    /* light's job: 10000 x 1 (rank 2 of 2) + age; heavy's: 10000 x 0.5 */
    assert_true(jobs[2].sj.priority > jobs[1].sj.priority);
    sched_job_end(s, &jobs[0].sj, 100);
    assert_int_equal(sched_pass(s, 100, NULL, NULL), 1);
    assert_int_equal(jobs[2].sj.state, SCHED_JOB_RUNNING);
    assert_int_equal(jobs[1].sj.state, SCHED_JOB_PENDING);
    acct_destroy(a);
    sched_destroy(s);
}

/* ---- QOS -------------------------------------------------------------------- */

static void test_qos_limits_and_gating(void **state)
{
    (void)state;
    acct_center *a = no_decay();
    acct_qos_def normal = {.name = "normal", .max_wall = 2 * H, .max_gpus_per_user = 8,
                           .max_gpus_per_project = 12};
    acct_qos_def urgent = {.name = "urgent", .priority = 10};
    int qn = must(acct_qos_add(a, &normal, err, sizeof err));
    int qu = must(acct_qos_add(a, &urgent, err, sizeof err));
    assert_int_equal(acct_qos_default(a), qn);
    assert_int_equal(acct_qos_find(a, "urgent"), qu);
    assert_int_equal(acct_qos_add(a, &normal, err, sizeof err), -1);
    assert_string_equal(err, "QOS normal: a QOS with this name exists");
    assert_int_equal(acct_gating_needed(a), 1);

    /* preemption rights are stored */
    acct_qos_def scav = {.name = "scavenger"};
    int qs = must(acct_qos_add(a, &scav, err, sizeof err));
    acct_qos_def boss = {.name = "boss", .preempt = (uint64_t)1 << qs};
    int qb = must(acct_qos_add(a, &boss, err, sizeof err));
    assert_true(acct_qos_may_preempt(a, qb, qs));
    assert_false(acct_qos_may_preempt(a, qs, qb));
    assert_false(acct_qos_may_preempt(a, qb, 63));

    int p = must(acct_account_add(a, 0, ACCT_PROJECT, "p", 1, err, sizeof err));
    member_of(a, "alice", p);
    member_of(a, "bob", p);
    int alice = acct_user_find(a, "alice"), bob = acct_user_find(a, "bob");

    acct_job j;
    acct_job_init(&j);
    j.project = p;
    j.user = alice;
    j.gpus = 4;
    j.time_limit = 3 * H;
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), -1);
    assert_string_equal(err, "time limit 3:00:00 exceeds the max wall time of QOS 'normal' "
                             "(2:00:00)");
    assert_int_equal(j.state, ACCT_JOB_NEW);
    j.time_limit = H;
    j.gpus = 9;
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), -1);
    assert_string_equal(err, "the job needs 9 GPUs, more than QOS 'normal' lets one user run (8)");
    j.qos = qu; /* no limits there */
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), 0);
    acct_job_cancel(a, &j, 0);
    assert_int_equal(j.state, ACCT_JOB_DONE);
    j.qos = 99;
    j.state = ACCT_JOB_NEW;
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), -1);
    assert_string_equal(err, "unknown QOS (index 99)");

    /* alice runs 6 GPUs in normal */
    acct_job run;
    acct_job_init(&run);
    run.project = p;
    run.user = alice;
    run.gpus = 6;
    run.time_limit = H;
    must(acct_admit(a, &run, 0, err, sizeof err));
    acct_job_start(a, &run, 0, 6, 0);

    acct_job w[3];
    const int who[3] = {alice, bob, bob};
    for (int i = 0; i < 3; i++) {
        acct_job_init(&w[i]);
        w[i].project = p;
        w[i].user = who[i];
        w[i].gpus = 4;
        w[i].time_limit = H;
        must(acct_admit(a, &w[i], 0, err, sizeof err));
    }
    /* alice: 6 + 4 > 8 per user */
    assert_int_equal(acct_may_start(a, &w[0], 10), ACCT_HOLD_QOS_USER);
    char why[ACCT_ERRLEN];
    assert_int_equal(acct_hold_explain(a, &w[0], 10, why, sizeof why), ACCT_HOLD_QOS_USER);
    assert_string_equal(why, "QOS 'normal' allows 8 running GPUs per user; alice holds 6, the "
                             "job needs 4");
    /* bob alone may: project 6 + 4 <= 12; but not both of bob's jobs in one
     * pass: the second would make the project 14 */
    assert_int_equal(acct_may_start(a, &w[1], 10), ACCT_HOLD_NONE);
    assert_int_equal(acct_may_start(a, &w[2], 10), ACCT_HOLD_NONE);
    acct_job *queue[3] = {&w[0], &w[1], &w[2]};
    int hold[3];
    acct_gate(a, queue, 3, 10, hold);
    assert_int_equal(hold[0], ACCT_HOLD_QOS_USER);
    assert_int_equal(hold[1], ACCT_HOLD_NONE);
    assert_int_equal(hold[2], ACCT_HOLD_QOS_PROJECT);
    assert_false(acct_hold_permanent(hold[2]));
    /* the claims were returned: the same gate again gives the same answer */
    acct_gate(a, queue, 3, 10, hold);
    assert_int_equal(hold[2], ACCT_HOLD_QOS_PROJECT);
    assert_int_equal(acct_hold_explain(a, &w[2], 10, why, sizeof why), ACCT_HOLD_NONE);

    /* alice's running job ends: alice may start, then bob's first */
    acct_job_end(a, &run, 100);
    acct_gate(a, queue, 3, 100, hold);
    assert_int_equal(hold[0], ACCT_HOLD_NONE);
    assert_int_equal(hold[1], ACCT_HOLD_NONE);
    assert_int_equal(hold[2], ACCT_HOLD_NONE); /* 4 + 4 + 4 = 12 <= 12 */
    acct_job_start(a, &w[0], 0, 4, 100);
    acct_job_start(a, &w[1], 0, 4, 100);
    assert_int_equal(acct_hold_explain(a, &w[2], 100, why, sizeof why), ACCT_HOLD_NONE);
    acct_job_start(a, &w[2], 0, 4, 100);
    acct_job more;
    acct_job_init(&more);
    more.project = p;
    more.user = alice;
    more.gpus = 1;
    more.time_limit = 10;
    must(acct_admit(a, &more, 100, err, sizeof err));
    assert_int_equal(acct_hold_explain(a, &more, 100, why, sizeof why), ACCT_HOLD_QOS_PROJECT);
    assert_string_equal(why, "QOS 'normal' allows 12 running GPUs per project; p holds 12, the "
                             "job needs 1");
    acct_destroy(a);
}

/* ---- allocations --------------------------------------------------------------- */

static acct_center *alloc_center(int *p1, int *alice)
{
    acct_center *a = no_decay();
    const char *names[] = {"h100", "h200"};
    const double rates[] = {1.0, 2.0};
    must(acct_set_pools(a, 2, names, rates, 64, err, sizeof err));
    int st = must(acct_account_add(a, 0, ACCT_TIER, "startup", 1, err, sizeof err));
    int org = must(acct_account_add(a, st, ACCT_ORG, "acme", 1, err, sizeof err));
    *p1 = must(acct_account_add(a, org, ACCT_PROJECT, "p1", 1, err, sizeof err));
    member_of(a, "alice", *p1);
    *alice = acct_user_find(a, "alice");
    return a;
}

static void job_of_p(acct_job *j, int p, int user, int gpus, int64_t limit, uint64_t pools)
{
    acct_job_init(j);
    j->project = p;
    j->user = user;
    j->gpus = gpus;
    j->time_limit = limit;
    j->pools = pools;
}

static void test_alloc_admit_refuse_accept(void **state)
{
    (void)state;
    int p1, alice;
    acct_center *a = alloc_center(&p1, &alice);
    acct_alloc_def d = {.name = "spring", .account = p1, .pools = 1, /* h100 */
                        .start = 0, .end = 1000 * H, .gpu_hours = 20.5};
    int sp = must(acct_alloc_add(a, &d, err, sizeof err));
    assert_int_equal(acct_alloc_find(a, "spring"), sp);

    /* 2 GPUs x 4 h = 8 GPU-hours reserved; 12.5 left */
    acct_job j1, j2;
    job_of_p(&j1, p1, alice, 2, 4 * H, 0);
    assert_int_equal(acct_admit(a, &j1, 0, err, sizeof err), 0);
    assert_int_equal(j1.alloc, sp);
    assert_int_equal(j1.pools, 1); /* narrowed from any pool to h100 */
    acct_ledger l;
    acct_alloc_ledger(a, sp, 0, &l);
    assert_near(l.used, 0);
    assert_near(l.reserved, 8);
    assert_near(l.left, 12.5);
    assert_int_equal(l.pending, 1);
    assert_true(l.active);

    /* 4 GPUs x 4 h = 16 > 12.5: refused, nothing reserved */
    job_of_p(&j2, p1, alice, 4, 4 * H, 0);
    assert_int_equal(acct_admit(a, &j2, 0, err, sizeof err), -1);
    assert_string_equal(err, "project p1 has 12.5 GPU-hours left in allocation 'spring' "
                             "(h100), the job needs up to 16.0");
    assert_int_equal(j2.state, ACCT_JOB_NEW);
    acct_alloc_ledger(a, sp, 0, &l);
    assert_near(l.reserved, 8);

    /* j1 runs for 1 h of its 4: used 2, reserved 6 (2 GPUs x 3 h to its
     * limit), left 12.5 still; ends then: used 2, reserved 0, left 18.5 */
    acct_job_start(a, &j1, 0, 2, 0);
    acct_alloc_ledger(a, sp, H, &l);
    assert_near(l.used, 2);
    assert_near(l.reserved, 6);
    assert_near(l.left, 12.5);
    assert_int_equal(l.running, 1);
    acct_job_end(a, &j1, H);
    acct_alloc_ledger(a, sp, H, &l);
    assert_near(l.used, 2);
    assert_near(l.reserved, 0);
    assert_near(l.left, 18.5);
    /* now 16 fits exactly within 18.5; a second 2.5 GPU-hour job fits exactly
     * what is left (no rounding refusal) */
    j2.state = ACCT_JOB_NEW;
    assert_int_equal(acct_admit(a, &j2, H, err, sizeof err), 0);
    acct_job j3;
    job_of_p(&j3, p1, alice, 1, 2 * H + H / 2, 0);
    assert_int_equal(acct_admit(a, &j3, H, err, sizeof err), 0);
    acct_alloc_ledger(a, sp, H, &l);
    assert_near(l.left, 0);
    acct_job_cancel(a, &j3, H);
    acct_alloc_ledger(a, sp, H, &l);
    assert_near(l.left, 2.5);

    /* a job bound to h200 meets no allocation pool */
    acct_job j4;
    job_of_p(&j4, p1, alice, 1, H, 2);
    assert_int_equal(acct_admit(a, &j4, H, err, sizeof err), -1);
    assert_string_equal(err, "project p1 has no allocation for the job's pools (h200); "
                             "allocation 'spring' covers h100");

    /* the period ends: pending jobs are held for good, new ones refused */
    assert_int_equal(acct_may_start(a, &j2, 999 * H), ACCT_HOLD_NONE);
    assert_int_equal(acct_may_start(a, &j2, 1000 * H), ACCT_HOLD_ALLOC_EXPIRED);
    assert_true(acct_hold_permanent(ACCT_HOLD_ALLOC_EXPIRED));
    char why[ACCT_ERRLEN];
    acct_hold_explain(a, &j2, 1000 * H, why, sizeof why);
    assert_string_equal(why, "allocation 'spring' ended at 3600000");
    job_of_p(&j4, p1, alice, 1, H, 0);
    assert_int_equal(acct_admit(a, &j4, 1000 * H, err, sizeof err), -1);
    assert_string_equal(err, "project p1 has no allocation active at 3600000; allocation "
                             "'spring' ended at 3600000");
    acct_destroy(a);
}

static void test_alloc_rates_owners_exhaustion(void **state)
{
    (void)state;
    int p1, alice;
    acct_center *a = alloc_center(&p1, &alice);
    int acme = acct_account_find(a, "acme");
    /* the organization's allocation for any pool, used by p1 (which has none) */
    acct_alloc_def d = {.name = "acme-2025", .account = acme, .start = INT64_MIN,
                        .end = INT64_MAX, .gpu_hours = 10};
    int al = must(acct_alloc_add(a, &d, err, sizeof err));
    /* any pool: the worst case uses h200's rate 2: 2 GPUs x 3 h x 2 = 12 > 10 */
    acct_job j;
    job_of_p(&j, p1, alice, 2, 3 * H, 0);
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), -1);
    assert_string_equal(err, "project p1 has 10.0 GPU-hours left in allocation 'acme-2025' of "
                             "organization acme (any pool), the job needs up to 12.0");
    /* bound to h100 it costs 6 */
    job_of_p(&j, p1, alice, 2, 3 * H, 1);
    assert_int_equal(acct_admit(a, &j, 0, err, sizeof err), 0);
    assert_int_equal(j.alloc, al);
    assert_int_equal(j.pools, 1);

    /* exhaustion: two half-hour jobs of 1 GPU fill 1 GPU-hour; the first
     * overruns its limit (kill latency) to 1.5 h: the second is held for good
     * and the running one is never stopped */
    acct_alloc_def small = {.name = "tiny", .account = p1, .start = 0, .end = 100 * H,
                            .gpu_hours = 1, .pools = 1};
    int ti = must(acct_alloc_add(a, &small, err, sizeof err));
    acct_job x, y;
    job_of_p(&x, p1, alice, 1, H / 2, 1);
    job_of_p(&y, p1, alice, 1, H / 2, 1);
    assert_int_equal(acct_admit(a, &x, 0, err, sizeof err), 0);
    assert_int_equal(x.alloc, ti); /* the project's own comes before its organization's */
    assert_int_equal(acct_admit(a, &y, 0, err, sizeof err), 0);
    assert_int_equal(y.alloc, ti);
    acct_job_start(a, &x, 0, 1, 0);
    assert_int_equal(acct_may_start(a, &y, H / 4), ACCT_HOLD_NONE);
    acct_job_end(a, &x, 3 * H / 2);
    assert_int_equal(acct_may_start(a, &y, 3 * H / 2), ACCT_HOLD_ALLOC_EXHAUSTED);
    char why[ACCT_ERRLEN];
    acct_hold_explain(a, &y, 3 * H / 2, why, sizeof why);
    assert_string_equal(why, "allocation 'tiny' is used up (1.5 of 1.0 GPU-hours)");
    acct_ledger l;
    acct_alloc_ledger(a, ti, 3 * H / 2, &l);
    assert_true(l.exhausted);
    assert_near(l.used, 1.5);
    assert_near(l.left, -1.0); /* 1 - 1.5 used - 0.5 still reserved for y */

    /* a project with no allocation anywhere is not budgeted */
    int free_p = must(acct_account_add(a, 0, ACCT_PROJECT, "free", 1, err, sizeof err));
    acct_job f;
    job_of_p(&f, free_p, -1, 1000, 1000 * H, 0);
    assert_int_equal(acct_admit(a, &f, 0, err, sizeof err), 0);
    assert_int_equal(f.alloc, -1);
    assert_int_equal(f.member, -1);
    /* a user outside the project is refused */
    acct_job g;
    job_of_p(&g, free_p, alice, 1, 1, 0);
    assert_int_equal(acct_admit(a, &g, 0, err, sizeof err), -1);
    assert_string_equal(err, "user alice is not a member of project free");
    /* no project at all: admitted, ungoverned */
    acct_job n;
    job_of_p(&n, ACCT_NONE, -1, 1, 1, 0);
    assert_int_equal(acct_admit(a, &n, 0, err, sizeof err), 0);
    /* a job must name a project, not an organization */
    job_of_p(&n, acme, -1, 1, 1, 0);
    assert_int_equal(acct_admit(a, &n, 0, err, sizeof err), -1);
    assert_string_equal(err, "account acme is not a project");

    /* bad allocations */
    acct_alloc_def bad = {.name = "tiny", .account = p1, .start = 0, .end = 1, .gpu_hours = 1};
    assert_int_equal(acct_alloc_add(a, &bad, err, sizeof err), -1);
    assert_string_equal(err, "allocation tiny: an allocation with this name exists");
    snprintf(bad.name, sizeof bad.name, "b");
    bad.end = 0;
    assert_int_equal(acct_alloc_add(a, &bad, err, sizeof err), -1);
    assert_string_equal(err, "allocation b: the period must end after it starts");
    bad.end = 1;
    bad.pools = 4; /* pool 2: there are two */
    assert_int_equal(acct_alloc_add(a, &bad, err, sizeof err), -1);
    bad.pools = 0;
    bad.gpu_hours = -1;
    assert_int_equal(acct_alloc_add(a, &bad, err, sizeof err), -1);
    acct_destroy(a);
}

/* The replay at startup: a recorded run's charge counts in its allocation's
 * used exactly as if the run had been started and ended here. */
static void test_alloc_charge_replays_history(void **state)
{
    (void)state;
    int p1, alice;
    acct_center *a = alloc_center(&p1, &alice);
    acct_alloc_def d = {.name = "spring", .account = p1, .start = 0, .end = 1000 * H,
                        .gpu_hours = 20};
    int sp = must(acct_alloc_add(a, &d, err, sizeof err));
    /* 2 GPUs x 3 h at rate 1, recorded: used 6, left 14 */
    assert_int_equal(acct_alloc_charge(a, sp, 2.0 * 3 * H), 0);
    acct_ledger l;
    acct_alloc_ledger(a, sp, 10 * H, &l);
    assert_near(l.used, 6);
    assert_near(l.reserved, 0);
    assert_near(l.left, 14);
    assert_false(l.exhausted);
    /* admission sees what is left: 4 GPUs x 4 h on h100 (rate 1) = 16 > 14 */
    acct_job j;
    job_of_p(&j, p1, alice, 4, 4 * H, 1);
    assert_int_equal(acct_admit(a, &j, 10 * H, err, sizeof err), -1);
    assert_string_equal(err, "project p1 has 14.0 GPU-hours left in allocation 'spring' "
                             "(any pool), the job needs up to 16.0");
    /* used up by history: start gating holds a pending job for good */
    job_of_p(&j, p1, alice, 1, H, 1);
    assert_int_equal(acct_admit(a, &j, 10 * H, err, sizeof err), 0);
    assert_int_equal(acct_alloc_charge(a, sp, 14.0 * H), 0);
    assert_int_equal(acct_may_start(a, &j, 10 * H), ACCT_HOLD_ALLOC_EXHAUSTED);
    /* bad arguments change nothing */
    assert_int_equal(acct_alloc_charge(a, 7, 1.0), -1);
    assert_int_equal(acct_alloc_charge(a, sp, -1.0), -1);
    assert_int_equal(acct_alloc_charge(a, sp, NAN), -1);
    acct_alloc_ledger(a, sp, 10 * H, &l);
    assert_near(l.used, 20);
    acct_destroy(a);
}

static void test_settings_errors(void **state)
{
    (void)state;
    acct_center *a = acct_create(NULL);
    acct_priority_config c;
    acct_priority_defaults(&c);
    assert_int_equal(c.w_fairshare, 10000);
    assert_int_equal(c.half_life, 7 * 86400);
    c.max_age = 0;
    assert_int_equal(acct_set_priority(a, &c, err, sizeof err), -1);
    assert_string_equal(err, "priority: max_age must be between 1 and 10000000000 s");
    acct_priority_defaults(&c);
    c.w_size = -1;
    assert_int_equal(acct_set_priority(a, &c, err, sizeof err), -1);
    assert_string_equal(err, "priority: weight size must be between 0 and 1000000000");
    const char *names[] = {"a"};
    const double bad[] = {-1};
    assert_int_equal(acct_set_pools(a, 1, names, bad, 8, err, sizeof err), -1);
    assert_string_equal(err, "pool a: charge rate must be between 0 and 1e6");
    assert_int_equal(acct_set_pools(a, 0, names, bad, 8, err, sizeof err), -1);
    char buf[64];
    acct_pools_format(a, 0, buf, sizeof buf);
    assert_string_equal(buf, "any pool");
    acct_pools_format(a, 1, buf, sizeof buf);
    assert_string_equal(buf, "pool0");
    assert_int_equal(acct_gating_needed(a), 0);
    assert_string_equal(acct_hold_name(ACCT_HOLD_ALLOC_EXPIRED), "allocation-expired");
    acct_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_lookups),
        cmocka_unit_test(test_decay_halves_usage_each_half_life),
        cmocka_unit_test(test_running_job_charges_continuously),
        cmocka_unit_test(test_fairtree_two_levels),
        cmocka_unit_test(test_fairtree_members),
        cmocka_unit_test(test_fairtree_ties),
        cmocka_unit_test(test_priority_factors),
        cmocka_unit_test(test_reprioritize_with_fairshare),
        cmocka_unit_test(test_qos_limits_and_gating),
        cmocka_unit_test(test_alloc_admit_refuse_accept),
        cmocka_unit_test(test_alloc_rates_owners_exhaustion),
        cmocka_unit_test(test_alloc_charge_replays_history),
        cmocka_unit_test(test_settings_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
