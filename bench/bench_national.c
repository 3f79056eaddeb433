/*
 * bench_national: one scheduling pass at national scale.
 *
 *   bench_national [--nodes N] [--pending N] [--reps N] [--cons-reps N]
 *                  [--cons-depth D] [--seed S] [--fill-hours H] [--advance S]
 *
 * The cluster (defaults): 32,768 nodes of 8 GPUs, 112 CPUs and 2 TiB each
 * (262,144 GPUs) in one pool "h100"; blocks of 32 nodes (1,024 blocks),
 * 32 blocks per spine (32 spines).
 *
 * The state a pass is timed on, rebuilt identically (same seed) for every
 * repetition:
 *   1. fill: virtual time runs from -48 h to 0 in 10-minute steps; at each
 *      step the jobs whose actual run is over end, new jobs of the mix below
 *      keep a backlog of 4,000 pending, and an easy pass starts what it can.
 *      Time limits run from 10 min to 48 h and actual runs are a fraction
 *      of them, so at time 0 the cluster is nearly full and the running set
 *      has start times over two days and expected ends over the next two.
 *      The backlog left at time 0 is cancelled.
 *   2. queue: 100,000 pending jobs arrive in order over the last day:
 *      55% 1 GPU, 15% 2-4 GPUs, 15% 8 GPUs (one node), 10% gangs of 2-8
 *      whole nodes, 5% gangs of 16-64 whole nodes (128-512 GPUs); CPUs and
 *      memory per GPU vary (a few single-node jobs ask more CPUs per GPU than
 *      a node has per GPU, as real ones do, and strand GPUs); time limits
 *      from 10 min to 48 h.
 *   3. advance to +300 s: the running jobs whose actual run ends by then
 *      end, so the timed pass has capacity to hand out.
 * Then ONE sched_pass with SCHED_EASY over all pending jobs is timed (no
 * depth cut-off); median, min and max over --reps states. The same pass
 * with conservative backfill at depth 100 is timed on --cons-reps states.
 *
 * Then, with the policy layer (--policy-reps states, --projects P): a center
 * of 5 tiers, P/10 organizations and P projects (one user each) with a week
 * of usage history, every pending job charged to a random project; timed:
 * the Fair Tree update, multifactor priorities for every pending job and
 * the queue re-sorted (sched_reprioritize), then the easy pass: what fleetd
 * does before a pass every calc_period.
 *
 * Then the same with guarantees and preemption on (--guar-reps states): the
 * foundation-model tier is guaranteed 25% of the GPUs, four organizations
 * of the other tiers 1/64 each (4,096 GPUs) and ten of their projects
 * 1/256 each (1,024);
 * every running job is charged to a random project, so the tier runs below
 * its guarantee and most jobs borrow. Timed, after the policy pass above:
 * what the simulator's driver does after each pass (src/sim/sim.c,
 * policy_preempt): every running job shown to the planner and classified
 * (acct_running_classify), the pending jobs taken in queue order and each
 * one not held planned (one planner for the round: acct_planner_plan, each
 * plan seeing those taken before it), victims marked, and the queue re-sorted with the
 * preemptors first.
 *
 * Memory per pending job is measured apart, on a freshly built cluster
 * (so that no memory freed earlier is reused): sched_job_footprint() of
 * every pending job (mean and max), and the growth of RSS and of the heap
 * (glibc mallinfo2) while the 100,000 jobs are queued.
 *
 * Timings are reported, never judged: the exit status is 0 unless the run
 * itself fails.
 */
#include "acct.h"
#include "bench_util.h"
#include "gen_common.h"
#include "libsched.h"

#include <getopt.h>

#define GIB_MB 1024LL

typedef struct cfg {
    int64_t nodes, gpn, cpus, mem_mb, block, spine;
    int64_t pending, reps, cons_reps, cons_depth, fill_hours, advance, backlog;
    int64_t policy_reps, projects, guar_reps;
    uint64_t seed;
} cfg;

/* A job of the benchmark: the scheduler's view first, then what only the
 * "world" knows (how long it really runs). */
typedef struct njob {
    sched_job sj;
    int64_t run; /* actual run time, <= time limit */
} njob;

/* ---- the request mix ---------------------------------------------------- */

static int64_t draw_limit(gen_rng *r)
{
    static const int64_t round_h[] = {1, 2, 4, 8, 12, 24, 48};
    if (gen_unif(r) < 0.5)
        return round_h[gen_int(r, 0, 6)] * 3600;
    /* log-uniform 10 min .. 48 h, rounded up to 10 minutes */
    double lo = log(600.0), hi = log(48.0 * 3600.0);
    int64_t v = (int64_t)ceil(exp(gen_range(r, lo, hi)));
    v = (v + 599) / 600 * 600;
    return v > 48 * 3600 ? 48 * 3600 : v;
}

static void draw_request(gen_rng *r, const cfg *c, njob *j, int64_t id, int64_t submit)
{
    memset(j, 0, sizeof *j);
    sched_job *s = &j->sj;
    s->id = id;
    s->submit = submit;
    s->user = (uint32_t)gen_int(r, 1, 2000);
    s->account = s->user % 100 + 1;
    double u = gen_unif(r);
    int32_t g = 0, k = 0;
    if (u < 0.55) {
        g = 1;
    } else if (u < 0.70) {
        double v = gen_unif(r);
        g = v < 0.5 ? 2 : v < 0.85 ? 4 : 3;
    } else if (u < 0.85) {
        g = 8;
    } else if (u < 0.95) {
        static const int32_t small[] = {2, 2, 2, 4, 4, 4, 8, 8, 3, 6};
        k = small[gen_int(r, 0, 9)];
    } else {
        static const int32_t big[] = {16, 16, 16, 32, 32, 32, 64, 64, 24, 48};
        k = big[gen_int(r, 0, 9)];
    }
    if (g > c->gpn)
        g = (int32_t)c->gpn;
    if (k > c->nodes)
        k = (int32_t)c->nodes;
    if (k > 0) {
        s->nodes = k; /* gang of whole nodes */
        s->gpus_per_node = 0;
        s->cpus_per_gpu = (int32_t)(c->cpus / c->gpn);
        s->mem_per_gpu_mb = c->mem_mb / c->gpn;
    } else {
        s->gpus = g;
        static const int32_t cpg[] = {4, 8, 8, 12, 14, 14, 14, 16, 24, 28};
        static const int64_t mpg_gib[] = {32, 64, 64, 128, 128, 192, 240, 240};
        int64_t cp = cpg[gen_int(r, 0, 9)], mp = mpg_gib[gen_int(r, 0, 7)] * GIB_MB;
        if (cp * g > c->cpus)
            cp = c->cpus / g;
        if (mp * g > c->mem_mb)
            mp = c->mem_mb / g;
        s->cpus_per_gpu = (int32_t)cp;
        s->mem_per_gpu_mb = mp;
    }
    s->time_limit = draw_limit(r);
    /* actual run: 10% hit the limit, the rest end at 5-100% of it */
    j->run = gen_unif(r) < 0.1 ? s->time_limit
                               : (int64_t)((double)s->time_limit * gen_range(r, 0.05, 1.0));
    if (j->run < 1)
        j->run = 1;
}

/* ---- the cluster -------------------------------------------------------- */

static sched *build_cluster(const cfg *c, char *err, size_t errlen)
{
    sched *s = sched_create();
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char name[64], spine[64];
    if (sched_pool_add(s, "h100", "H100-80G") != 0)
        goto fail;
    int64_t nblocks = (c->nodes + c->block - 1) / c->block;
    for (int64_t b = 0; b < nblocks; b++) {
        snprintf(name, sizeof name, "blk%05lld", (long long)b);
        snprintf(spine, sizeof spine, "spine%03lld", (long long)(b / c->spine));
        if (sched_block_add(s, name, spine) != (int)b)
            goto fail;
    }
    for (int64_t n = 0; n < c->nodes; n++) {
        snprintf(name, sizeof name, "gpu%05lld", (long long)n);
        if (sched_node_add(s, name, 0, (int)(n / c->block), (int)c->gpn, (int)c->cpus,
                           c->mem_mb) != (int)n)
            goto fail;
    }
    if (sched_finalize(s, err, errlen) != 0) {
        sched_destroy(s);
        return NULL;
    }
    return s;
fail:
    snprintf(err, errlen, "cannot build the cluster");
    sched_destroy(s);
    return NULL;
}

/* ---- the state a pass is timed on --------------------------------------- */

#define CHUNK 65536

typedef struct state {
    sched *s;
    njob **chunks; /* fill jobs, CHUNK per chunk: stable addresses */
    size_t nchunks, nfill;
    njob *pend;    /* the queued jobs */
    njob **run;    /* running jobs */
    size_t nrun, caprun;
    int64_t now;
    /* figures of the build */
    double t_fill, t_queue, t_fill_passes;
    int64_t fill_passes, fill_started, fill_ended, fill_cancelled, ended_advance;
    int64_t free_at0, free_before;
    size_t running_at0;
} state;

static void run_push(state *st, njob *j)
{
    if (st->nrun == st->caprun) {
        st->caprun = st->caprun ? st->caprun * 2 : 4096;
        njob **n = realloc(st->run, st->caprun * sizeof *n);
        if (!n)
            abort();
        st->run = n;
    }
    st->run[st->nrun++] = j;
}

static void on_fill_start(sched_job *sj, void *arg)
{
    state *st = arg;
    run_push(st, (njob *)sj); /* sj is the first member */
    st->fill_started++;
}

static njob *fill_new(state *st)
{
    if (st->nfill == st->nchunks * CHUNK) {
        njob **n = realloc(st->chunks, (st->nchunks + 1) * sizeof *n);
        if (!n)
            abort();
        st->chunks = n;
        st->chunks[st->nchunks] = malloc(CHUNK * sizeof **st->chunks);
        if (!st->chunks[st->nchunks])
            abort();
        st->nchunks++;
    }
    njob *j = &st->chunks[st->nfill / CHUNK][st->nfill % CHUNK];
    st->nfill++;
    return j;
}

/* End every running job whose actual run is over by `now`. */
static int64_t end_due(state *st, int64_t now)
{
    size_t k = 0;
    int64_t ended = 0;
    for (size_t i = 0; i < st->nrun; i++) {
        njob *j = st->run[i];
        if (j->sj.start + j->run <= now) {
            sched_job_end(st->s, &j->sj, j->sj.start + j->run);
            ended++;
        } else {
            st->run[k++] = j;
        }
    }
    st->nrun = k;
    return ended;
}

static void state_free(state *st)
{
    sched_destroy(st->s); /* frees the allocation arrays of live jobs */
    for (size_t i = 0; i < st->nchunks; i++)
        free(st->chunks[i]);
    free(st->chunks);
    free(st->pend);
    free(st->run);
    memset(st, 0, sizeof *st);
}

static int state_build(const cfg *c, state *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->s = build_cluster(c, err, errlen);
    if (!st->s)
        return -1;
    sched *s = st->s;
    sched_set_policy(s, SCHED_EASY);
    char serr[SCHED_ERRLEN];

    /* 1. fill */
    double t0 = bench_now();
    gen_rng rf = {c->seed * 0x9e3779b97f4a7c15ULL + 0x1234};
    int64_t id = 1;
    for (int64_t t = -c->fill_hours * 3600; t <= 0; t += 600) {
        st->fill_ended += end_due(st, t);
        while ((int64_t)sched_pending_count(s) < c->backlog) {
            njob *j = fill_new(st);
            draw_request(&rf, c, j, id++, t);
            if (sched_submit(s, &j->sj, serr, sizeof serr) != 0) {
                snprintf(err, errlen, "fill job %lld: %s", (long long)j->sj.id, serr);
                return -1;
            }
        }
        double p0 = bench_now();
        sched_pass(s, t, on_fill_start, st);
        st->t_fill_passes += bench_now() - p0;
        st->fill_passes++;
    }
    for (size_t i = 0; i < st->nfill; i++) {
        njob *j = &st->chunks[i / CHUNK][i % CHUNK];
        if (j->sj.state == SCHED_JOB_PENDING) {
            sched_cancel(s, &j->sj);
            st->fill_cancelled++;
        }
    }
    st->t_fill = bench_now() - t0;
    st->free_at0 = sched_free_gpus(s);
    st->running_at0 = sched_running_count(s);

    /* 2. queue */
    t0 = bench_now();
    st->pend = malloc((size_t)c->pending * sizeof *st->pend);
    if (!st->pend) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gen_rng rp = {c->seed * 0xd1b54a32d192ed03ULL + 0x5678};
    for (int64_t i = 0; i < c->pending; i++) {
        njob *j = &st->pend[i];
        draw_request(&rp, c, j, 10000000 + i, -86400 + i * 86400 / c->pending);
        if (sched_submit(s, &j->sj, serr, sizeof serr) != 0) {
            snprintf(err, errlen, "pending job %lld: %s", (long long)j->sj.id, serr);
            return -1;
        }
    }
    st->t_queue = bench_now() - t0;

    /* 3. advance */
    st->now = c->advance;
    st->ended_advance = end_due(st, st->now);
    st->free_before = sched_free_gpus(s);
    return 0;
}

/* ---- one timed pass ----------------------------------------------------- */

typedef struct pass_out {
    double secs, cpu;
    double estimate_secs;  /* sched_estimate(5000) after the pass */
    int started;
    int64_t gpus_started, free_after;
    size_t visited, pending_after;
    int64_t reasons[5];
    int64_t top_est_start; /* reservation time of the first job left pending */
} pass_out;

static void on_timed_start(sched_job *sj, void *arg)
{
    pass_out *o = arg;
    o->gpus_started += sj->alloced_gpus;
}

static void timed_pass(const cfg *c, state *st, int policy, int depth, pass_out *o)
{
    memset(o, 0, sizeof *o);
    sched_set_policy(st->s, policy);
    sched_set_depth(st->s, depth);
    (void)c;
    double c0 = bench_thread_cpu(), t0 = bench_now();
    o->started = sched_pass(st->s, st->now, on_timed_start, o);
    o->secs = bench_now() - t0;
    o->cpu = bench_thread_cpu() - c0;
    /* what fleetd adds after a pass, at most every 2 s: start estimates for
     * the first 5,000 pending jobs */
    double e0 = bench_now();
    sched_estimate(st->s, st->now, 5000);
    o->estimate_secs = bench_now() - e0;
    o->free_after = sched_free_gpus(st->s);
    o->pending_after = sched_pending_count(st->s);
    uint64_t maxv = 0;
    for (int64_t i = 0; i < c->pending; i++)
        if (st->pend[i].sj.visited > maxv)
            maxv = st->pend[i].sj.visited;
    o->top_est_start = -1;
    for (int64_t i = 0; i < c->pending; i++) {
        const sched_job *j = &st->pend[i].sj;
        o->visited += j->visited == maxv;
        if (j->state != SCHED_JOB_PENDING)
            continue;
        int r = sched_job_reason(st->s, j);
        if (r >= 0 && r < 5)
            o->reasons[r]++;
        if (o->top_est_start < 0 && j->est_start >= 0)
            o->top_est_start = j->est_start;
    }
}

static void print_pass(const char *label, const pass_out *o)
{
    printf("  (start estimates for 5,000 pending jobs after it: %.2f ms)\n",
           o->estimate_secs * 1000);
    printf("  %-8s %8.2f ms wall, %8.2f ms CPU; started %d jobs (%lld GPUs), visited %zu, "
           "pending after %zu, free GPUs after %lld\n",
           label, o->secs * 1e3, o->cpu * 1e3, o->started, (long long)o->gpus_started, o->visited,
           o->pending_after, (long long)o->free_after);
}

static void print_reasons(const pass_out *o)
{
    printf("  reasons after the pass: resources %lld, priority %lld, unavailable %lld, "
           "held %lld; first reservation at +%lld s\n",
           (long long)o->reasons[SCHED_REASON_RESOURCES],
           (long long)o->reasons[SCHED_REASON_PRIORITY],
           (long long)o->reasons[SCHED_REASON_UNAVAILABLE],
           (long long)o->reasons[SCHED_REASON_HELD], (long long)o->top_est_start);
}

/* ---- memory per pending job --------------------------------------------- */

static int measure_memory(const cfg *c, char *err, size_t errlen)
{
    sched *s = build_cluster(c, err, errlen);
    if (!s)
        return -1;
    int64_t rss0 = bench_cur_rss(), heap0 = bench_heap_in_use();
    njob *jobs = malloc((size_t)c->pending * sizeof *jobs);
    if (!jobs) {
        sched_destroy(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gen_rng rp = {c->seed * 0xd1b54a32d192ed03ULL + 0x5678};
    for (int64_t i = 0; i < c->pending; i++)
        draw_request(&rp, c, &jobs[i], 10000000 + i, -86400 + i * 86400 / c->pending);
    int64_t rss1 = bench_cur_rss(), heap1 = bench_heap_in_use();
    char serr[SCHED_ERRLEN];
    double t0 = bench_now();
    for (int64_t i = 0; i < c->pending; i++)
        if (sched_submit(s, &jobs[i].sj, serr, sizeof serr) != 0) {
            snprintf(err, errlen, "pending job %lld: %s", (long long)jobs[i].sj.id, serr);
            sched_destroy(s);
            free(jobs);
            return -1;
        }
    double tq = bench_now() - t0;
    int64_t rss2 = bench_cur_rss(), heap2 = bench_heap_in_use();
    double sum = 0;
    size_t mx = 0, over = 0;
    int64_t mix[5] = {0};
    for (int64_t i = 0; i < c->pending; i++) {
        size_t f = sched_job_footprint(&jobs[i].sj);
        sum += (double)f;
        mx = f > mx ? f : mx;
        over += f > 1024;
        const sched_job *j = &jobs[i].sj;
        mix[j->nodes >= 16 ? 4 : j->nodes > 0 ? 3 : j->gpus == 8 ? 2 : j->gpus > 1 ? 1 : 0]++;
    }
    double n = (double)c->pending;
    printf("\nmemory per pending job (%lld jobs queued on a fresh cluster in %.3f s, "
           "%.0f submits/s)\n",
           (long long)c->pending, tq, tq > 0 ? n / tq : 0);
    printf("  mix              1 GPU %.1f%%, 2-4 GPUs %.1f%%, 8 GPUs %.1f%%, 2-8 node gangs "
           "%.1f%%, 16-64 node gangs %.1f%%\n",
           100.0 * (double)mix[0] / n, 100.0 * (double)mix[1] / n, 100.0 * (double)mix[2] / n,
           100.0 * (double)mix[3] / n, 100.0 * (double)mix[4] / n);
    printf("  sizeof           sched_job %zu B, sched_alloc %zu B (the benchmark's job: %zu B)\n",
           sizeof(sched_job), sizeof(sched_alloc), sizeof(njob));
    printf("  footprint        sched_job_footprint() mean %.1f B, max %zu B; %zu jobs "
           "(%.2f%%) over 1 KiB\n",
           sum / n, mx, over, 100.0 * (double)over / n);
    printf("  RSS growth       %.1f B/job queuing (libsched's allocations only); "
           "%.1f B/job with the caller's job structs\n",
           (double)(rss2 - rss1) / n, (double)(rss2 - rss0) / n);
    if (heap0 >= 0)
        printf("  heap growth      %.1f B/job queuing (mallinfo2, chunk headers included); "
               "%.1f B/job with the caller's job structs\n",
               (double)(heap2 - heap1) / n, (double)(heap2 - heap0) / n);
    else
        printf("  heap growth      unknown (no mallinfo2 in this build)\n");
    printf("  target           under 1 KiB per pending job: %s (footprint mean %.1f B)\n",
           sum / n < 1024 ? "met" : "missed", sum / n);
    sched_destroy(s); /* first: it frees the allocation arrays of the queued jobs */
    free(jobs);
    return 0;
}

/* Prints median, min and max of v[0..n) (reordering it); returns the median. */
static double series(double *v, size_t n, const char *label, const char *clock)
{
    double med = bench_median(v, n); /* sorts */
    printf("  %-16s %-4s median %8.2f ms, min %8.2f ms, max %8.2f ms (%zu runs)\n", label, clock,
           med * 1e3, v[0] * 1e3, v[n - 1] * 1e3, n);
    return med;
}

/* ---- main --------------------------------------------------------------- */

/* ---- the policy layer: fair share and multifactor priority -------------- */
typedef struct pol {
    acct_center *a;
    acct_job *aj; /* beside st->pend[i] */
    const njob *pend;
    int tier[5];
    int32_t *org, *proj; /* account ids: P/10 organizations, P projects */
    int64_t norgs;
} pol;

static const acct_job *job_of(const sched_job *sj, void *arg)
{
    const pol *p = arg;
    return &p->aj[(const njob *)sj - p->pend];
}

/* The center and each pending job's account; -1 with a message. */
static int pol_build(const cfg *c, state *st, pol *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->a = acct_create("center");
    p->aj = calloc((size_t)c->pending, sizeof *p->aj);
    p->pend = st->pend;
    if (!p->a || !p->aj) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *pools[] = {"h100"};
    double rates[] = {1.0};
    if (acct_set_pools(p->a, 1, pools, rates, c->nodes * c->gpn, err, errlen) != 0)
        return -1;
    static const char *tiers[] = {"foundation-model", "research-institute", "university",
                                  "startup", "company"};
    static const double tshares[] = {40, 25, 20, 10, 5};
    int *tier = p->tier;
    for (int t = 0; t < 5; t++)
        if ((tier[t] = acct_account_add(p->a, 0, ACCT_TIER, tiers[t], tshares[t], err,
                                        errlen)) < 0)
            return -1;
    int64_t norgs = c->projects / 10 > 0 ? c->projects / 10 : 1;
    int32_t *org = p->org = calloc((size_t)norgs, sizeof *org);
    int32_t *proj = p->proj = calloc((size_t)c->projects, sizeof *proj);
    int32_t *user = calloc((size_t)c->projects, sizeof *user);
    p->norgs = norgs;
    if (!org || !proj || !user) {
        free(user);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gen_rng r = {c->seed * 0x2545f4914f6cdd1dULL + 0x9abc};
    char name[64];
    int rc = 0;
    for (int64_t o = 0; o < norgs && rc == 0; o++) {
        snprintf(name, sizeof name, "org%05lld", (long long)o);
        rc = (org[o] = acct_account_add(p->a, tier[o % 5], ACCT_ORG, name,
                                        1 + (double)gen_int(&r, 0, 9), err, errlen)) < 0;
    }
    for (int64_t i = 0; i < c->projects && rc == 0; i++) {
        snprintf(name, sizeof name, "proj%06lld", (long long)i);
        rc = (proj[i] = acct_account_add(p->a, org[i % norgs], ACCT_PROJECT, name,
                                         1 + (double)gen_int(&r, 0, 99), err, errlen)) < 0;
        if (rc == 0) {
            snprintf(name, sizeof name, "user%06lld", (long long)i);
            rc = (user[i] = acct_user_add(p->a, name, 100000 + i, err, errlen)) < 0 ||
                 acct_member_add(p->a, user[i], proj[i], 1, err, errlen) < 0;
        }
    }
    /* a week of history: one run per project, of random size and length */
    for (int64_t i = 0; i < c->projects && rc == 0; i++) {
        acct_job h;
        acct_job_init(&h);
        h.project = proj[i];
        h.user = user[i];
        h.gpus = 1 + (int32_t)gen_int(&r, 0, 511);
        h.submit = -7 * 86400;
        h.time_limit = 7 * 86400;
        char msg[256];
        if (acct_admit(p->a, &h, h.submit, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "history: %s", msg);
            rc = -1;
            break;
        }
        int64_t start = -7 * 86400 + gen_int(&r, 0, 3 * 86400 - 1);
        acct_job_start(p->a, &h, 0, h.gpus, start);
        acct_job_end(p->a, &h, start + 3600 + gen_int(&r, 0, 3 * 86400 - 1));
    }
    for (int64_t k = 0; k < c->pending && rc == 0; k++) {
        acct_job *j = &p->aj[k];
        acct_job_init(j);
        int64_t i = gen_int(&r, 0, c->projects - 1);
        const sched_job *sj = &st->pend[k].sj;
        j->project = proj[i];
        j->user = user[i];
        j->gpus = sj->nodes > 0 ? sj->nodes * (int32_t)c->gpn : sj->gpus;
        j->submit = sj->submit;
        j->time_limit = sj->time_limit;
        char msg[256];
        if (acct_admit(p->a, j, sj->submit, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "admit: %s", msg);
            rc = -1;
        }
    }
    free(user);
    return rc;
}

static void pol_free(pol *p)
{
    acct_destroy(p->a);
    free(p->aj);
    free(p->org);
    free(p->proj);
}

typedef struct pol_out {
    double fairshare, prio, pass, total; /* wall seconds */
    int started;
} pol_out;

static void pol_pass(const cfg *c, state *st, pol *p, pol_out *o)
{
    (void)c;
    sched_set_policy(st->s, SCHED_EASY);
    sched_set_depth(st->s, 0);
    pass_out po;
    memset(&po, 0, sizeof po);
    double t0 = bench_now();
    acct_fairshare_update(p->a, st->now);
    double t1 = bench_now();
    acct_prio_arg pa = {p->a, st->now, job_of, p};
    sched_reprioritize(st->s, acct_sched_priority, &pa);
    double t2 = bench_now();
    o->started = sched_pass(st->s, st->now, on_timed_start, &po);
    double t3 = bench_now();
    o->fairshare = t1 - t0;
    o->prio = t2 - t1;
    o->pass = t3 - t2;
    o->total = t3 - t0;
}

/* ---- guarantees and preemption ------------------------------------------ */

#define PREEMPTOR_PRIORITY (INT64_MAX / 4) /* as the simulator boosts a preemptor */

typedef struct gua {
    acct_job *fj;          /* beside st->run[i]: the running fill jobs' records */
    size_t nfill;          /* running fill jobs */
    acct_running *run;     /* every running job, as shown to the planner */
    size_t nrun, caprun;
    njob **pend;           /* scratch: pending jobs in queue order */
    size_t *victims;
    uint8_t *await;        /* beside st->pend[i]: a preemptor waiting for its victims */
    const njob *base;      /* st->pend */
    pol *p;
} gua;

/* The guarantees, and each running job charged to a random project from its
 * start. -1 with a message. */
static int gua_build(const cfg *c, state *st, pol *p, gua *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->p = p;
    g->base = st->pend;
    int64_t total = c->nodes * c->gpn;
    if (acct_guarantee_add(p->a, p->tier[0], 0, total / 4, err, errlen) != 0)
        return -1;
    /* four organizations of the other tiers (org o is in tier o % 5) */
    for (int64_t o = 1; o <= 4 && o < p->norgs && total >= 64; o++)
        if (acct_guarantee_add(p->a, p->org[o], 0, total / 64, err, errlen) != 0)
            return -1;
    /* ten projects of other organizations, outside the first tier */
    int added = 0;
    for (int64_t i = 5; i < c->projects && added < 10 && total >= 256; i++) {
        int64_t o = i % p->norgs;
        if (o % 5 == 0 || o <= 4)
            continue;
        if (acct_guarantee_add(p->a, p->proj[i], 0, total / 256, err, errlen) != 0)
            return -1;
        added++;
    }
    g->nfill = st->nrun;
    g->caprun = st->nrun + (size_t)c->pending;
    g->fj = calloc(g->nfill ? g->nfill : 1, sizeof *g->fj);
    g->run = calloc(g->caprun, sizeof *g->run);
    g->pend = calloc((size_t)c->pending, sizeof *g->pend);
    g->victims = calloc(g->caprun, sizeof *g->victims);
    g->await = calloc((size_t)c->pending, 1);
    if (!g->fj || !g->run || !g->pend || !g->victims || !g->await) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gen_rng r = {c->seed * 0x94d049bb133111ebULL + 0xdef0};
    for (size_t i = 0; i < g->nfill; i++) {
        const sched_job *sj = &st->run[i]->sj;
        acct_job *j = &g->fj[i];
        acct_job_init(j);
        int64_t k = gen_int(&r, 0, c->projects - 1);
        j->project = p->proj[k];
        j->gpus = sj->alloced_gpus;
        j->submit = sj->submit;
        j->time_limit = sj->time_limit;
        char msg[256];
        if (acct_admit(p->a, j, sj->submit, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "running job: %s", msg);
            return -1;
        }
        acct_job_start(p->a, j, sj->pool, sj->alloced_gpus, sj->start);
        g->run[g->nrun++] = (acct_running){sj, j, 0, 0};
    }
    return 0;
}

static void gua_free(gua *g)
{
    free(g->fj);
    free(g->run);
    free(g->pend);
    free(g->victims);
    free(g->await);
}

/* A job the pass starts: charged from now and shown to the planner. */
static void on_gua_start(sched_job *sj, void *arg)
{
    gua *g = arg;
    size_t k = (size_t)((const njob *)sj - g->base);
    acct_job_start(g->p->a, &g->p->aj[k], sj->pool, sj->alloced_gpus, sj->start);
    g->run[g->nrun++] = (acct_running){sj, &g->p->aj[k], 0, 0};
}

static int64_t boost_priority(const sched_job *sj, void *arg)
{
    const gua *g = arg;
    return g->await[(const njob *)sj - g->base] ? PREEMPTOR_PRIORITY : sj->priority;
}

typedef struct gua_out {
    double fairshare, prio, pass, classify, sort, plans, boost, total; /* wall seconds */
    int started;
    size_t planned, nplans, nvictims, covered_holders;
    int64_t claimed;
} gua_out;

static void gua_pass(state *st, gua *g, gua_out *o)
{
    pol *p = g->p;
    memset(o, 0, sizeof *o);
    sched_set_policy(st->s, SCHED_EASY);
    sched_set_depth(st->s, 0);
    double t0 = bench_now();
    acct_fairshare_update(p->a, st->now);
    double t1 = bench_now();
    acct_prio_arg pa = {p->a, st->now, job_of, p};
    sched_reprioritize(st->s, acct_sched_priority, &pa);
    double t2 = bench_now();
    o->started = sched_pass(st->s, st->now, on_gua_start, g);
    double t3 = bench_now();
    acct_running_classify(p->a, g->run, g->nrun);
    double t4 = bench_now();
    size_t np = 0; /* the queue in order, as the simulator takes it */
    for (sched_job *sj = sched_queue_first(st->s); sj; sj = sched_queue_next(sj))
        g->pend[np++] = (njob *)(void *)sj; /* sj is the first member */
    double t5 = bench_now();
    acct_planner *pl = acct_planner_new(p->a, st->s, g->run, g->nrun);
    for (size_t k = 0; k < np; k++) {
        njob *j = g->pend[k];
        size_t idx = (size_t)(j - st->pend);
        if (j->sj.held || g->await[idx])
            continue;
        o->planned++;
        acct_preempt_plan plan;
        size_t nv = acct_planner_plan(pl, &p->aj[idx], &j->sj, g->victims, &plan);
        if (nv == 0)
            continue;
        acct_planner_take(pl, &plan, g->victims);
        for (size_t v = 0; v < nv; v++)
            g->run[g->victims[v]].preempting = 1;
        g->await[idx] = 1;
        if (plan.holder != ACCT_NONE)
            o->claimed += plan.gpus;
        o->nplans++;
        o->nvictims += nv;
    }
    acct_planner_free(pl);
    double t6 = bench_now();
    if (o->nplans > 0)
        sched_reprioritize(st->s, boost_priority, g);
    double t7 = bench_now();
    o->fairshare = t1 - t0;
    o->prio = t2 - t1;
    o->pass = t3 - t2;
    o->classify = t4 - t3;
    o->sort = t5 - t4;
    o->plans = t6 - t5;
    o->boost = t7 - t6;
    o->total = t7 - t0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_national [--nodes N] [--pending N] [--reps N] [--cons-reps N]\n"
            "                      [--cons-depth D] [--seed S] [--fill-hours H] [--advance S]\n"
            "                      [--policy-reps N] [--projects P] [--guar-reps N]\n"
            "  defaults: --nodes 32768 --pending 100000 --reps 7 --cons-reps 3\n"
            "            --cons-depth 100 --seed 1 --fill-hours 48 --advance 300\n"
            "            --policy-reps 3 --projects 2000 --guar-reps 3\n"
            "  nodes have 8 GPUs, 112 CPUs, 2 TiB; 32 nodes a block, 32 blocks a spine\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"nodes", required_argument, 0, 'n'},      {"pending", required_argument, 0, 'q'},
        {"reps", required_argument, 0, 'r'},       {"cons-reps", required_argument, 0, 'R'},
        {"cons-depth", required_argument, 0, 'd'}, {"seed", required_argument, 0, 's'},
        {"fill-hours", required_argument, 0, 'f'}, {"advance", required_argument, 0, 'a'},
        {"policy-reps", required_argument, 0, 'P'}, {"projects", required_argument, 0, 'j'},
        {"guar-reps", required_argument, 0, 'G'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *prog = "bench_national";
    cfg c = {.nodes = 32768, .gpn = 8, .cpus = 112, .mem_mb = 2048 * GIB_MB, .block = 32,
             .spine = 32, .pending = 100000, .reps = 7, .cons_reps = 3, .cons_depth = 100,
             .fill_hours = 48, .advance = 300, .backlog = 4000, .seed = 1, .policy_reps = 3,
             .projects = 2000, .guar_reps = 3};
    int64_t v;
    int ch;
    while ((ch = getopt_long(argc, argv, "n:q:r:R:d:s:f:a:P:j:G:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (bench_parse_i64(prog, "--nodes", optarg, 1, 10000000, &c.nodes))
                return 2;
            break;
        case 'q':
            if (bench_parse_i64(prog, "--pending", optarg, 1, 100000000, &c.pending))
                return 2;
            break;
        case 'r':
            if (bench_parse_i64(prog, "--reps", optarg, 1, 1000, &c.reps))
                return 2;
            break;
        case 'R':
            if (bench_parse_i64(prog, "--cons-reps", optarg, 0, 1000, &c.cons_reps))
                return 2;
            break;
        case 'd':
            if (bench_parse_i64(prog, "--cons-depth", optarg, 0, 1000000000, &c.cons_depth))
                return 2;
            break;
        case 's':
            if (bench_parse_i64(prog, "--seed", optarg, 0, INT64_MAX, &v))
                return 2;
            c.seed = (uint64_t)v;
            break;
        case 'f':
            if (bench_parse_i64(prog, "--fill-hours", optarg, 0, 10000, &c.fill_hours))
                return 2;
            break;
        case 'a':
            if (bench_parse_i64(prog, "--advance", optarg, 0, 10000000, &c.advance))
                return 2;
            break;
        case 'P':
            if (bench_parse_i64(prog, "--policy-reps", optarg, 0, 1000, &c.policy_reps))
                return 2;
            break;
        case 'j':
            if (bench_parse_i64(prog, "--projects", optarg, 1, 10000000, &c.projects))
                return 2;
            break;
        case 'G':
            if (bench_parse_i64(prog, "--guar-reps", optarg, 0, 1000, &c.guar_reps))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
        return 2;
    }
    c.backlog = c.pending < 4000 ? c.pending : 4000;

    printf("bench_national: one scheduling pass at national scale\n");
    bench_print_machine(stdout);
    int64_t nblocks = (c.nodes + c.block - 1) / c.block;
    printf("cluster\n  %lld nodes x %lld GPUs (%lld GPUs), %lld CPUs and %lld GiB each; "
           "pool h100; %lld blocks of %lld nodes, %lld spines\n",
           (long long)c.nodes, (long long)c.gpn, (long long)(c.nodes * c.gpn),
           (long long)c.cpus, (long long)(c.mem_mb / GIB_MB), (long long)nblocks,
           (long long)c.block, (long long)((nblocks + c.spine - 1) / c.spine));
    fflush(stdout);

    char err[512];
    if (measure_memory(&c, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    fflush(stdout);

    int64_t reps = c.reps, creps = c.cons_reps;
    /* wall and CPU times: easy passes, then conservative ones */
    double *tw = calloc((size_t)(reps + creps), sizeof *tw);
    double *tcpu = calloc((size_t)(reps + creps), sizeof *tcpu);
    if (!tw || !tcpu) {
        fprintf(stderr, "%s: out of memory\n", prog);
        free(tw);
        free(tcpu);
        return 1;
    }
    int rc = 0;
    pass_out o;
    printf("\neasy: one full pass over %lld pending jobs, %lld fresh identical states\n",
           (long long)c.pending, (long long)reps);
    for (int64_t r = 0; r < reps + creps && rc == 0; r++) {
        int cons = r >= reps;
        if (r == reps)
            printf("\nconservative, depth %lld: one pass, %lld fresh identical states\n",
                   (long long)c.cons_depth, (long long)creps);
        state st;
        double b0 = bench_now();
        if (state_build(&c, &st, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            state_free(&st);
            rc = 1;
            break;
        }
        double tb = bench_now() - b0;
        if (r == 0) {
            int64_t total = c.nodes * c.gpn;
            printf("  state            built in %.2f s: fill %.2f s (%lld easy passes, %.3f s "
                   "in passes; %lld started, %lld ended, backlog of %lld cancelled), queue "
                   "%.3f s\n",
                   tb, st.t_fill, (long long)st.fill_passes, st.t_fill_passes,
                   (long long)st.fill_started, (long long)st.fill_ended,
                   (long long)st.fill_cancelled, st.t_queue);
            printf("  at time 0        %zu jobs running, %lld of %lld GPUs busy (%.2f%%)\n",
                   st.running_at0, (long long)(total - st.free_at0), (long long)total,
                   100.0 * (double)(total - st.free_at0) / (double)total);
            printf("  at +%-5llds      %lld jobs ended, %lld GPUs free (%.2f%%), %zu running, "
                   "%zu pending\n",
                   (long long)c.advance, (long long)st.ended_advance,
                   (long long)st.free_before, 100.0 * (double)st.free_before / (double)total,
                   sched_running_count(st.s), sched_pending_count(st.s));
            fflush(stdout);
        }
        timed_pass(&c, &st, cons ? SCHED_CONSERVATIVE : SCHED_EASY,
                   cons ? (int)c.cons_depth : 0, &o);
        char label[32];
        snprintf(label, sizeof label, "pass %lld", (long long)(cons ? r - reps + 1 : r + 1));
        print_pass(label, &o);
        if (r == 0 || r == reps)
            print_reasons(&o);
        fflush(stdout);
        tw[r] = o.secs;
        tcpu[r] = o.cpu;
        state_free(&st);
    }
    if (rc == 0) {
        printf("\nsummary\n");
        double med = series(tw, (size_t)reps, "easy pass", "wall");
        double medc = series(tcpu, (size_t)reps, "", "CPU");
        printf("  target           easy pass median under 1 s: %s (%.2f ms wall, %.2f ms CPU)\n",
               med < 1.0 ? "met" : "missed", med * 1e3, medc * 1e3);
        bench_contention_note(stdout, med, medc);
        if (creps > 0) {
            char label[64];
            snprintf(label, sizeof label, "conservative %lld", (long long)c.cons_depth);
            series(tw + reps, (size_t)creps, label, "wall");
            series(tcpu + reps, (size_t)creps, "", "CPU");
        }
    }
    if (rc == 0 && c.policy_reps > 0) {
        printf("\nwith the policy layer: %lld projects (%lld organizations, 5 tiers), fair share "
               "+ multifactor priority + easy pass, %lld fresh states\n",
               (long long)c.projects, (long long)(c.projects / 10 > 0 ? c.projects / 10 : 1),
               (long long)c.policy_reps);
        double *tt = calloc((size_t)c.policy_reps, sizeof *tt);
        for (int64_t r = 0; tt && r < c.policy_reps && rc == 0; r++) {
            state st;
            pol p;
            if (state_build(&c, &st, err, sizeof err) != 0 ||
                pol_build(&c, &st, &p, err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s\n", prog, err);
                rc = 1;
            } else {
                pol_out po;
                pol_pass(&c, &st, &p, &po);
                printf("  pass %lld           %.2f ms: fair share %.2f ms, priorities and "
                       "re-sort %.2f ms, easy pass %.2f ms; %d started\n",
                       (long long)(r + 1), po.total * 1e3, po.fairshare * 1e3, po.prio * 1e3,
                       po.pass * 1e3, po.started);
                fflush(stdout);
                tt[r] = po.total;
                pol_free(&p);
            }
            state_free(&st);
        }
        if (tt && rc == 0) {
            double med = series(tt, (size_t)c.policy_reps, "policy + pass", "wall");
            printf("  target           median under 1 s: %s (%.2f ms)\n",
                   med < 1.0 ? "met" : "missed", med * 1e3);
        }
        free(tt);
    }
    if (rc == 0 && c.guar_reps > 0) {
        printf("\nwith guarantees and preemption: the policy pass above, then classify the "
               "running jobs and plan every pending job in queue order, %lld fresh states\n",
               (long long)c.guar_reps);
        double *tt = calloc((size_t)c.guar_reps, sizeof *tt);
        for (int64_t r = 0; tt && r < c.guar_reps && rc == 0; r++) {
            state st;
            pol p;
            gua g;
            memset(&p, 0, sizeof p);
            memset(&g, 0, sizeof g);
            int64_t total = c.nodes * c.gpn;
            if (state_build(&c, &st, err, sizeof err) != 0 ||
                pol_build(&c, &st, &p, err, sizeof err) != 0 ||
                gua_build(&c, &st, &p, &g, err, sizeof err) != 0) {
                fprintf(stderr, "%s: %s\n", prog, err);
                rc = 1;
            } else {
                if (r == 0)
                    printf("  guarantees       %d (foundation-model tier %lld GPUs, 4 "
                           "organizations x %lld, 10 projects x %lld); %zu running jobs\n",
                           acct_guarantee_count(p.a), (long long)(total / 4),
                           (long long)(total / 64), (long long)(total / 256), g.nrun);
                gua_out go;
                gua_pass(&st, &g, &go);
                printf("  pass %lld           %.2f ms: fair share %.2f, priorities and re-sort "
                       "%.2f, easy pass %.2f (%d started), classify %.2f, queue order %.2f, "
                       "plans %.2f (%zu jobs planned, %zu plans, %zu victims, %lld GPUs "
                       "claimed), preemptors first %.2f\n",
                       (long long)(r + 1), go.total * 1e3, go.fairshare * 1e3, go.prio * 1e3,
                       go.pass * 1e3, go.started, go.classify * 1e3, go.sort * 1e3,
                       go.plans * 1e3, go.planned, go.nplans, go.nvictims,
                       (long long)go.claimed, go.boost * 1e3);
                fflush(stdout);
                tt[r] = go.total;
            }
            pol_free(&p);
            gua_free(&g);
            state_free(&st);
        }
        if (tt && rc == 0) {
            double med = series(tt, (size_t)c.guar_reps, "with guarantees", "wall");
            printf("  target           median under 1 s: %s (%.2f ms)\n",
                   med < 1.0 ? "met" : "missed", med * 1e3);
        }
        free(tt);
    }
    if (rc == 0)
        printf("  peak RSS         %.1f MiB\n", bench_mib(bench_peak_rss()));
    free(tw);
    free(tcpu);
    return rc;
}
