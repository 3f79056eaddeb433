/*
 * Differential tests of the preemption planner (acct_planner_*, acct.h)
 * against a reference: the rule of acct.h written plainly (every node
 * looked at for every job, every running job's holder looked up, claims
 * summed from a list), on random clusters of three pools (8-GPU nodes,
 * 4-GPU nodes, one-GPU nodes), random running jobs of a random account tree
 * with random guarantees and QOS rights, some nodes drained or down, some
 * victims already leaving and some claims already made. A round plans the
 * pending jobs in order, each seeing the plans taken before it; the planner
 * must give the same victims, in the same order, and the same plan as the
 * reference, job after job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acct.h"
#include "libsched.h"

static char err[ACCT_ERRLEN];

/* ---- a small deterministic generator --------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t rint_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ---- the reference: acct.h's rule, plainly --------------------------------- */

typedef struct rshare {
    int32_t node, gpus, cpus;
    int64_t mem, start, id;
    size_t cand;
} rshare;

static int r_younger(const rshare *p, const rshare *q)
{
    return p->start != q->start ? p->start > q->start : p->id > q->id;
}

typedef struct rchoice {
    int32_t node, nvict;
    int64_t oldest;
    rshare vict[64];
} rchoice;

static int r_choice_cmp(const rchoice *p, const rchoice *q)
{
    if (p->nvict != q->nvict)
        return p->nvict < q->nvict ? -1 : 1;
    if (p->oldest != q->oldest)
        return p->oldest > q->oldest ? -1 : 1;
    return (p->node > q->node) - (p->node < q->node);
}

/* The largest-first sum of the `slots` largest GPU shares among sh[from..n). */
static int32_t r_largest(const rshare *sh, size_t from, size_t n, size_t slots)
{
    uint8_t tmp[64] = {0};
    int32_t sum = 0;
    for (size_t s = 0; s < slots; s++) {
        size_t best = n;
        for (size_t j = from; j < n; j++)
            if (!tmp[j] && (best == n || sh[j].gpus > sh[best].gpus))
                best = j;
        if (best == n)
            break;
        tmp[best] = 1;
        sum += sh[best].gpus;
    }
    return sum;
}

/* One node (sh youngest first): the fewest members covering the missing
 * GPUs (largest first gives how many), chosen youngest first while the rest
 * can still be made up by the largest after; then the youngest remaining
 * until CPUs and memory suffice. -1 when all of them are not enough. */
static int r_choose_on_node(const rshare *sh, size_t n, int32_t gd, int32_t cd, int64_t md,
                            rshare *out)
{
    int32_t total = 0, ctotal = 0;
    int64_t mtotal = 0;
    for (size_t i = 0; i < n; i++) {
        total += sh[i].gpus;
        ctotal += sh[i].cpus;
        mtotal += sh[i].mem;
    }
    if (total < gd || ctotal < cd || mtotal < md)
        return -1;
    size_t k = 0;
    for (int32_t got = 0; got < gd; k++)
        got = r_largest(sh, 0, n, k + 1);
    uint8_t used[64] = {0};
    size_t taken = 0;
    int32_t got = 0;
    for (size_t i = 0; i < n && taken < k && got < gd; i++) {
        int32_t need = gd - got - sh[i].gpus;
        if (need > 0 && r_largest(sh, i + 1, n, k - taken - 1) < need)
            continue;
        used[i] = 1;
        got += sh[i].gpus;
        taken++;
    }
    int32_t c = 0;
    int64_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (used[i])
            c += sh[i].cpus, m += sh[i].mem;
    for (size_t i = 0; i < n && (c < cd || m < md); i++)
        if (!used[i]) {
            used[i] = 1;
            c += sh[i].cpus;
            m += sh[i].mem;
        }
    int w = 0;
    for (size_t i = 0; i < n; i++)
        if (used[i])
            out[w++] = sh[i];
    return w;
}

static size_t ref_plan_pool(const sched *s, const sched_job *sj, int pool,
                            const acct_running *run, size_t nrun, const uint8_t *cand,
                            size_t *victims, int64_t *freed, int *fits_now)
{
    int32_t k, g;
    int whole;
    *fits_now = 0;
    *freed = 0;
    if (sched_job_shape(s, sj, pool, &k, &g, &whole) != 0)
        return 0;
    int32_t c = whole ? 0 : g * sj->cpus_per_gpu;
    int64_t m = whole ? 0 : (int64_t)g * sj->mem_per_gpu_mb;
    int nn = sched_node_count(s);
    int32_t zero = 0;
    static rchoice ch[512];
    size_t nch = 0;
    for (int n = 0; n < nn; n++) {
        sched_node_info in;
        sched_node_get(s, n, &in);
        if (sched_pool_find(s, in.pool) != pool || in.state != SCHED_NODE_UP)
            continue;
        if (whole ? in.free_gpus == in.gpus && in.gpus >= g
                  : in.free_gpus >= g && in.free_cpus >= c && in.free_mem_mb >= m) {
            zero++;
            continue;
        }
        rshare sh[64];
        size_t ns = 0;
        int32_t freed_g = 0;
        for (size_t i = 0; i < nrun; i++) {
            if (!cand[i])
                continue;
            const sched_job *v = run[i].sj;
            for (int32_t x = 0; x < v->nalloc; x++)
                if (v->alloc[x].node == n) {
                    sh[ns++] = (rshare){n, v->alloc[x].gpus, v->alloc[x].cpus,
                                        v->alloc[x].mem_mb, v->start, v->id, i};
                    freed_g += v->alloc[x].gpus;
                }
        }
        if (ns == 0)
            continue;
        for (size_t i = 1; i < ns; i++) /* youngest first */
            for (size_t j = i; j > 0 && r_younger(&sh[j], &sh[j - 1]); j--) {
                rshare t = sh[j];
                sh[j] = sh[j - 1];
                sh[j - 1] = t;
            }
        rchoice *x = &ch[nch];
        x->node = n;
        if (whole) {
            if (in.free_gpus + freed_g != in.gpus || in.gpus < g)
                continue;
            memcpy(x->vict, sh, ns * sizeof *sh);
            x->nvict = (int32_t)ns;
        } else {
            int32_t gd = g > in.free_gpus ? g - in.free_gpus : 0;
            int32_t cd = c > in.free_cpus ? c - in.free_cpus : 0;
            int64_t md = m > in.free_mem_mb ? m - in.free_mem_mb : 0;
            x->nvict = r_choose_on_node(sh, ns, gd, cd, md, x->vict);
            if (x->nvict <= 0)
                continue;
        }
        x->oldest = INT64_MAX;
        for (int32_t i = 0; i < x->nvict; i++)
            if (x->vict[i].start < x->oldest)
                x->oldest = x->vict[i].start;
        nch++;
    }
    if (zero >= k) {
        *fits_now = 1;
        return 0;
    }
    size_t need = (size_t)(k - zero);
    if (nch < need)
        return 0;
    for (size_t i = 1; i < nch; i++) /* rank: insertion sort */
        for (size_t j = i; j > 0 && r_choice_cmp(&ch[j], &ch[j - 1]) < 0; j--) {
            rchoice t = ch[j];
            ch[j] = ch[j - 1];
            ch[j - 1] = t;
        }
    size_t nv = 0;
    for (size_t x = 0; x < need; x++)
        for (int32_t i = 0; i < ch[x].nvict; i++) {
            size_t v = ch[x].vict[i].cand, y = 0;
            while (y < nv && victims[y] != v)
                y++;
            if (y == nv) {
                victims[nv++] = v;
                *freed += run[v].sj->alloced_gpus;
            }
        }
    return nv;
}

static size_t ref_plan(const acct_center *a, const sched *s, const acct_job *job,
                       const sched_job *sjob, const acct_running *run, size_t nrun,
                       const acct_claim *claims, size_t nclaims, size_t *victims,
                       acct_preempt_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->pool = -1;
    int qos = job->qos;
    uint8_t cand[256];
    size_t n = 0;
    for (int pool = 0; pool < sched_pool_count(s) && n == 0; pool++) {
        if (sjob->pools != 0 && !(sjob->pools >> pool & 1))
            continue;
        int32_t k, g;
        int whole;
        if (sched_job_shape(s, sjob, pool, &k, &g, &whole) != 0)
            continue;
        int64_t need = whole ? (int64_t)k * g : g;
        int32_t h = acct_guarantee_holder(a, job->project, pool);
        int why = ACCT_PREEMPT_NONE;
        if (h != ACCT_NONE) {
            int64_t held = 0;
            for (size_t i = 0; i < nclaims; i++)
                if (claims[i].holder == h && claims[i].pool == pool)
                    held += claims[i].gpus;
            for (size_t i = 0; i < nrun; i++)
                if (run[i].sj->pool == pool &&
                    acct_guarantee_holder(a, run[i].aj->project, pool) == h)
                    held += run[i].sj->alloced_gpus;
            if (held + need <= acct_guarantee_of(a, h, pool))
                why = ACCT_PREEMPT_GUARANTEE;
        }
        if (why == ACCT_PREEMPT_NONE && qos >= 0) {
            for (int q = 0; q < 64 && why == ACCT_PREEMPT_NONE; q++)
                if (acct_qos_may_preempt(a, qos, q))
                    why = ACCT_PREEMPT_QOS;
        }
        if (why == ACCT_PREEMPT_NONE)
            continue;
        size_t nc = 0;
        for (size_t i = 0; i < nrun; i++) {
            const acct_running *r = &run[i];
            cand[i] = r->sj->pool == pool && r->borrowing && !r->preempting &&
                      (why == ACCT_PREEMPT_GUARANTEE ||
                       acct_qos_may_preempt(a, qos, r->aj->qos));
            nc += cand[i];
        }
        if (nc == 0)
            continue;
        int64_t freed = 0;
        int fits_now = 0;
        n = ref_plan_pool(s, sjob, pool, run, nrun, cand, victims, &freed, &fits_now);
        if (fits_now)
            break;
        if (n > 0) {
            *plan = (acct_preempt_plan){why, pool, why == ACCT_PREEMPT_GUARANTEE ? h : ACCT_NONE,
                                        n, freed, need};
        }
    }
    return n;
}

static int plan_eq(const acct_preempt_plan *p, const acct_preempt_plan *q)
{
    return p->why == q->why && p->pool == q->pool && p->holder == q->holder &&
           p->nvictims == q->nvictims && p->freed_gpus == q->freed_gpus && p->gpus == q->gpus;
}

/* ---- random worlds ---------------------------------------------------------- */

typedef struct tjob {
    sched_job sj;
    acct_job aj;
} tjob;

#define MAXJOBS 256

typedef struct world {
    sched *s;
    acct_center *a;
    int32_t proj[8];
    int nproj;
    int qos[3];
    tjob jobs[MAXJOBS];
    int njobs;
    int gang_pct; /* how many of its jobs are gangs of whole nodes, % */
} world;

static void on_start(sched_job *sj, void *arg)
{
    world *w = arg;
    tjob *j = (tjob *)(void *)sj; /* sj is the first member */
    acct_job_start(w->a, &j->aj, sj->pool, sj->alloced_gpus, sj->start);
}

static int must(int rc)
{
    if (rc < 0)
        fail_msg("unexpected failure: %s", err);
    return rc;
}

/* Pools a (8-GPU nodes), b (4-GPU nodes), c (one-GPU nodes); a tree of two
 * tiers, two organizations each, two projects each (the second tier's
 * second organization holds one); guarantees drawn per account and pool;
 * QOS normal, low, high (high may preempt low). */
static void world_init(world *w)
{
    memset(w, 0, sizeof *w);
    w->gang_pct = (int)rint_in(0, 3) * 15;
    w->s = sched_create();
    sched_pool_add(w->s, "a", "A");
    sched_pool_add(w->s, "b", "B");
    sched_pool_add(w->s, "c", "C");
    int na = (int)rint_in(3, 10), nb = (int)rint_in(2, 6), nc = (int)rint_in(0, 6);
    char name[32];
    for (int i = 0; i < na; i++) {
        snprintf(name, sizeof name, "a%d", i);
        sched_node_add(w->s, name, 0, -1, 8, 64, 512000);
    }
    for (int i = 0; i < nb; i++) {
        snprintf(name, sizeof name, "b%d", i);
        sched_node_add(w->s, name, 1, -1, 4, 32, 256000);
    }
    for (int i = 0; i < nc; i++) {
        snprintf(name, sizeof name, "c%d", i);
        sched_node_add(w->s, name, 2, -1, 1, 16, 128000);
    }
    assert_int_equal(sched_finalize(w->s, err, sizeof err), 0);
    sched_set_policy(w->s, SCHED_EASY);
    w->a = acct_create("center");
    const char *names[] = {"a", "b", "c"};
    double rates[] = {1.0, 1.0, 1.0};
    must(acct_set_pools(w->a, 3, names, rates, na * 8 + nb * 4 + nc, err, sizeof err));
    acct_qos_def q;
    memset(&q, 0, sizeof q);
    snprintf(q.name, sizeof q.name, "normal");
    w->qos[0] = must(acct_qos_add(w->a, &q, err, sizeof err));
    snprintf(q.name, sizeof q.name, "low");
    w->qos[1] = must(acct_qos_add(w->a, &q, err, sizeof err));
    snprintf(q.name, sizeof q.name, "high");
    q.preempt = (uint64_t)1 << w->qos[1];
    w->qos[2] = must(acct_qos_add(w->a, &q, err, sizeof err));
    int32_t acc[16];
    int nacc = 0;
    for (int t = 0; t < 2; t++) {
        snprintf(name, sizeof name, "t%d", t);
        int32_t tier = must(acct_account_add(w->a, 0, ACCT_TIER, name, 1, err, sizeof err));
        acc[nacc++] = tier;
        for (int o = 0; o < 2; o++) {
            snprintf(name, sizeof name, "o%d%d", t, o);
            int32_t org = must(acct_account_add(w->a, tier, ACCT_ORG, name, 1, err, sizeof err));
            acc[nacc++] = org;
            for (int p = 0; p < 2; p++) {
                snprintf(name, sizeof name, "p%d%d%d", t, o, p);
                int32_t pr = must(acct_account_add(w->a, org, ACCT_PROJECT, name, 1, err,
                                                   sizeof err));
                acc[nacc++] = pr;
                w->proj[w->nproj++] = pr;
            }
        }
    }
    int caps[3] = {na * 8, nb * 4, nc};
    for (int i = 0; i < nacc; i++)
        for (int p = 0; p < 3; p++)
            if (caps[p] > 0 && rint_in(0, 9) < 3)
                must(acct_guarantee_add(w->a, acc[i], p, rint_in(1, caps[p]), err, sizeof err));
}

static void world_free(world *w)
{
    sched_destroy(w->s);
    acct_destroy(w->a);
}

/* A random job of a random project at time t: one node's share (1 to 8
 * GPUs, CPUs and memory per GPU drawn), or a gang of 2 or 3 whole nodes;
 * any pool, or one or two of them. */
static tjob *new_job(world *w, int64_t t)
{
    if (w->njobs == MAXJOBS)
        return NULL;
    tjob *j = &w->jobs[w->njobs];
    memset(j, 0, sizeof *j);
    j->sj.id = w->njobs + 1;
    j->sj.submit = t;
    j->sj.time_limit = rint_in(100, 10000);
    int gang = rint_in(0, 99) < w->gang_pct;
    if (gang) {
        j->sj.nodes = (int32_t)rint_in(2, 3);
        j->sj.gpus_per_node = 0;
    } else {
        j->sj.gpus = (int32_t)rint_in(1, 8);
        j->sj.cpus_per_gpu = (int32_t)rint_in(0, 8);
        j->sj.mem_per_gpu_mb = rint_in(0, 4) * 16000;
    }
    int pm = (int)rint_in(0, 3);
    j->sj.pools = pm == 0 ? 0 : pm == 1 ? 1 : pm == 2 ? 2 : 3;
    acct_job_init(&j->aj);
    j->aj.project = w->proj[rint_in(0, w->nproj - 1)];
    j->aj.qos = w->qos[rint_in(0, 2)];
    j->aj.gpus = gang ? j->sj.nodes * 8 : j->sj.gpus;
    j->aj.submit = t;
    j->aj.time_limit = j->sj.time_limit;
    if (acct_admit(w->a, &j->aj, t, err, sizeof err) != 0)
        return NULL;
    j->sj.account = (uint32_t)j->aj.project;
    if (sched_submit(w->s, &j->sj, err, sizeof err) != 0)
        return NULL;
    w->njobs++;
    return j;
}

/* One random round: fill, fragment, queue more, then plan every pending job
 * both ways and compare. Returns the plans made. */
static int one_round(uint64_t seed)
{
    rng_state = seed;
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    world_init(w);
    int64_t t = 0;
    int nfill = (int)rint_in(5, 60);
    for (int i = 0; i < nfill; i++) {
        t += rint_in(0, 3); /* equal starts happen: ties are ranked */
        new_job(w, t);
        sched_pass(w->s, t, on_start, w);
    }
    for (int i = 0; i < w->njobs; i++) /* fragment: some end */
        if (w->jobs[i].sj.state == SCHED_JOB_RUNNING && rint_in(0, 4) == 0) {
            acct_job_end(w->a, &w->jobs[i].aj, t);
            sched_job_end(w->s, &w->jobs[i].sj, t);
        }
    for (int n = 0; n < sched_node_count(w->s); n++) /* some nodes drain or go down */
        if (rint_in(0, 9) == 0)
            sched_node_set_state(w->s, n, (int)rint_in(1, 2));
    int npend = (int)rint_in(1, 40);
    for (int i = 0; i < npend; i++)
        new_job(w, t + 1);
    acct_running run_ref[MAXJOBS], run_pl[MAXJOBS];
    size_t nrun = 0;
    for (int i = 0; i < w->njobs; i++)
        if (w->jobs[i].sj.state == SCHED_JOB_RUNNING) {
            int leaving = rint_in(0, 9) == 0; /* a victim of an earlier round */
            run_ref[nrun++] = (acct_running){&w->jobs[i].sj, &w->jobs[i].aj, leaving, 0};
        }
    acct_running_classify(w->a, run_ref, nrun);
    memcpy(run_pl, run_ref, nrun * sizeof *run_ref);
    acct_claim claims[MAXJOBS + 8];
    size_t nclaims = 0;
    acct_planner *pl = acct_planner_new(w->a, w->s, run_pl, nrun);
    for (int i = 0; i < (int)rint_in(0, 2); i++) { /* claims of an earlier round */
        acct_claim c = {w->proj[rint_in(0, w->nproj - 1)], (int32_t)rint_in(0, 2),
                        rint_in(1, 8)};
        if (rint_in(0, 1))
            c.holder = acct_guarantee_holder(w->a, c.holder, c.pool);
        claims[nclaims++] = c;
        acct_planner_claim(pl, &c);
    }
    int plans = 0;
    for (int i = 0; i < w->njobs; i++) {
        tjob *j = &w->jobs[i];
        if (j->sj.state != SCHED_JOB_PENDING)
            continue;
        size_t v_ref[MAXJOBS], v_pl[MAXJOBS];
        acct_preempt_plan p_ref, p_pl;
        size_t n_ref = ref_plan(w->a, w->s, &j->aj, &j->sj, run_ref, nrun, claims, nclaims,
                                v_ref, &p_ref);
        size_t n_pl = acct_planner_plan(pl, &j->aj, &j->sj, v_pl, &p_pl);
        if (n_ref != n_pl || !plan_eq(&p_ref, &p_pl) ||
            memcmp(v_ref, v_pl, n_ref * sizeof *v_ref) != 0) {
            fprintf(stderr, "seed %llu, job %lld: reference %zu victims (why %d pool %d "
                            "holder %d freed %lld gpus %lld), planner %zu (why %d pool %d "
                            "holder %d freed %lld gpus %lld)\n",
                    (unsigned long long)seed, (long long)j->sj.id, n_ref, p_ref.why,
                    p_ref.pool, p_ref.holder, (long long)p_ref.freed_gpus,
                    (long long)p_ref.gpus, n_pl, p_pl.why, p_pl.pool, p_pl.holder,
                    (long long)p_pl.freed_gpus, (long long)p_pl.gpus);
            for (size_t x = 0; x < n_ref || x < n_pl; x++)
                fprintf(stderr, "  victim %zu: reference %lld, planner %lld\n", x,
                        x < n_ref ? (long long)run_ref[v_ref[x]].sj->id : -1LL,
                        x < n_pl ? (long long)run_pl[v_pl[x]].sj->id : -1LL);
            fail_msg("the planner and the reference differ");
        }
        if (n_ref == 0)
            continue;
        plans++;
        acct_planner_take(pl, &p_pl, v_pl);
        for (size_t x = 0; x < n_ref; x++) {
            run_ref[v_ref[x]].preempting = 1;
            run_pl[v_pl[x]].preempting = 1;
        }
        if (p_ref.why == ACCT_PREEMPT_GUARANTEE)
            claims[nclaims++] = (acct_claim){p_ref.holder, p_ref.pool, p_ref.gpus};
    }
    acct_planner_free(pl);
    world_free(w);
    free(w);
    return plans;
}

static void test_planner_matches_reference(void **state)
{
    (void)state;
    int plans = 0, rounds = 3000;
    for (int r = 0; r < rounds; r++)
        plans += one_round(0x5eed0000ULL + (uint64_t)r);
    /* the worlds must exercise the planner, not only agree on "no plan" */
    fprintf(stderr, "%d plans in %d rounds\n", plans, rounds);
    if (plans < rounds / 2)
        fail_msg("only %d plans in %d rounds: the random worlds are too easy", plans, rounds);
}

/* A planner used for one job is acct_preempt_plan_job: the same plans with
 * claims given as a list. */
static void test_one_shot_matches(void **state)
{
    (void)state;
    for (int r = 0; r < 300; r++) {
        rng_state = 0xabc00000ULL + (uint64_t)r;
        world *w = calloc(1, sizeof *w);
        assert_non_null(w);
        world_init(w);
        for (int i = 0; i < 40; i++) {
            new_job(w, i);
            sched_pass(w->s, i, on_start, w);
        }
        for (int i = 0; i < 10; i++)
            new_job(w, 50);
        acct_running run[MAXJOBS];
        size_t nrun = 0;
        for (int i = 0; i < w->njobs; i++)
            if (w->jobs[i].sj.state == SCHED_JOB_RUNNING)
                run[nrun++] = (acct_running){&w->jobs[i].sj, &w->jobs[i].aj, 0, 0};
        acct_running_classify(w->a, run, nrun);
        acct_claim c = {w->proj[0], 0, 4};
        c.holder = acct_guarantee_holder(w->a, c.holder, 0);
        for (int i = 0; i < w->njobs; i++) {
            tjob *j = &w->jobs[i];
            if (j->sj.state != SCHED_JOB_PENDING)
                continue;
            size_t v1[MAXJOBS], v2[MAXJOBS];
            acct_preempt_plan p1, p2;
            size_t n1 = acct_preempt_plan_job(w->a, w->s, &j->aj, &j->sj, run, nrun, &c, 1, v1,
                                              &p1);
            size_t n2 = ref_plan(w->a, w->s, &j->aj, &j->sj, run, nrun, &c, 1, v2, &p2);
            assert_int_equal(n1, n2);
            assert_true(plan_eq(&p1, &p2));
            if (n1)
                assert_memory_equal(v1, v2, n1 * sizeof *v1);
        }
        world_free(w);
        free(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planner_matches_reference),
        cmocka_unit_test(test_one_shot_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
