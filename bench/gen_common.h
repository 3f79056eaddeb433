/*
 * gen_common.h: a synthetic rigid-job workload in the manner of the
 * Lublin-Feitelson model, shared by bench_gen_swf (which writes it as SWF)
 * and bench_classic (which simulates it in memory). Same parameters and
 * seed, same jobs, on any platform: the generator has its own PRNG
 * (splitmix64) and uses only exp, log, sqrt, cos and pow of libm.
 *
 * The shape, roughly (this is not a faithful reimplementation of the model):
 *   size     24% serial (size 1); the rest log2-uniform in two stages
 *            (86% in [0.8, umax - 2.5], 14% in [umax - 2.5, umax], with
 *            umax = log2(procs / 2)), rounded to a power of two 75% of the
 *            time, else to the nearest integer; at most procs / 2.
 *   run      log-normal, a mixture of a short class (median 90 s) and a
 *            long class (median 40 min) whose weight grows with the size;
 *            clamped to [1 s, 1 day].
 *   estimate 15% exact (= run); else run x U[1, 5], rounded up to the
 *            minute (to the quarter hour above an hour).
 *   arrival  a Poisson process with a daily cycle (rate x (1 + 0.5 cos),
 *            peak at 14:00), by thinning; the mean rate is chosen so that
 *            the offered load sum(size x run) / (procs x span) is `load`.
 *   user     uniform in [1, 512]; group = user mod 32 + 1.
 */
#ifndef GPUFLEET_BENCH_GEN_COMMON_H
#define GPUFLEET_BENCH_GEN_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct gen_params {
    int64_t jobs;
    int64_t procs;
    uint64_t seed;
    double load;
} gen_params;

typedef struct gen_job {
    int64_t submit;   /* s */
    int64_t run;      /* s, >= 1 */
    int64_t estimate; /* s, >= run */
    int32_t size;     /* processors, 1 .. max(1, procs / 2) */
    uint32_t user;
    uint32_t group;
} gen_job;

typedef struct gen_stats {
    double mean_area;   /* mean size x run, processor-seconds */
    double rate;        /* mean arrivals per second */
    double offered;     /* offered load over the generated span */
    int64_t span;       /* last submit - first submit, s */
    int64_t serial;     /* jobs of size 1 */
    int64_t pow2;       /* parallel jobs whose size is a power of two */
    int64_t exact;      /* estimates equal to the run time */
} gen_stats;

/* ---- PRNG: splitmix64 (Steele, Lea, Flood 2014), its published constants */
typedef struct gen_rng {
    uint64_t s;
} gen_rng;

static inline uint64_t gen_next(gen_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double gen_unif(gen_rng *r)
{
    return (double)(gen_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in (0, 1]: safe under log(). */
static inline double gen_unif_pos(gen_rng *r)
{
    return 1.0 - gen_unif(r);
}

static inline double gen_range(gen_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * gen_unif(r);
}

/* Standard normal, Box-Muller (one of the pair; simple and deterministic). */
static inline double gen_normal(gen_rng *r)
{
    double u1 = gen_unif_pos(r), u2 = gen_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Integer uniform in [lo, hi]. */
static inline int64_t gen_int(gen_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(gen_next(r) % (uint64_t)(hi - lo + 1));
}

static inline int32_t gen_size(gen_rng *r, int64_t procs)
{
    int64_t maxsize = procs / 2 > 1 ? procs / 2 : 1;
    if (maxsize < 2 || gen_unif(r) < 0.24)
        return 1;
    double umax = log2((double)maxsize), ulow = 0.8;
    double umed = umax - 2.5 > ulow ? umax - 2.5 : ulow;
    double u = gen_unif(r) < 0.86 ? gen_range(r, ulow, umed) : gen_range(r, umed, umax);
    int64_t size = gen_unif(r) < 0.75 ? (int64_t)1 << (int)lround(u) : (int64_t)llround(exp2(u));
    if (size < 2)
        size = 2;
    if (size > maxsize)
        size = maxsize;
    return (int32_t)size;
}

static inline int64_t gen_run(gen_rng *r, int32_t size)
{
    double lg = log2((double)size);
    double p_short = 0.45 - 0.03 * lg;
    if (p_short < 0.15)
        p_short = 0.15;
    double mu, sigma;
    if (gen_unif(r) < p_short) {
        mu = log(90.0);
        sigma = 1.2;
    } else {
        mu = log(2400.0) + 0.05 * lg;
        sigma = 1.3;
    }
    double v = exp(mu + sigma * gen_normal(r));
    if (v < 1)
        v = 1;
    if (v > 86400)
        v = 86400;
    return (int64_t)v;
}

static inline int64_t gen_estimate(gen_rng *r, int64_t run, int *exact)
{
    *exact = gen_unif(r) < 0.15;
    if (*exact)
        return run;
    double e = ceil((double)run * gen_range(r, 1.0, 5.0));
    int64_t q = e > 3600 ? 900 : 60;
    int64_t est = ((int64_t)e + q - 1) / q * q;
    return est < run ? run : est;
}

/* Daily cycle of the arrival rate, relative to the mean (in [0.5, 1.5]). */
static inline double gen_cycle(double t)
{
    return 1.0 + 0.5 * cos(6.283185307179586 * (t - 14.0 * 3600.0) / 86400.0);
}

/*
 * Fills out[0 .. p->jobs) in submit order. Shapes (size, run, estimate,
 * user) come from one stream, arrivals from another, so the arrival rate
 * can be set from the shapes' mean area before any arrival is drawn.
 * O(jobs). Returns 0, or -1 on a bad parameter.
 */
static inline int gen_workload(const gen_params *p, gen_job *out, gen_stats *st)
{
    if (p->jobs < 1 || p->procs < 1 || !(p->load > 0))
        return -1;
    gen_stats z = {0};
    gen_rng shape = {p->seed * 0x2545f4914f6cdd1dULL + 1};
    gen_rng arr = {(p->seed ^ 0xa0761d6478bd642fULL) * 0x9e3779b97f4a7c15ULL + 7};
    double area = 0;
    for (int64_t i = 0; i < p->jobs; i++) {
        gen_job *j = &out[i];
        j->size = gen_size(&shape, p->procs);
        j->run = gen_run(&shape, j->size);
        int exact;
        j->estimate = gen_estimate(&shape, j->run, &exact);
        j->user = (uint32_t)gen_int(&shape, 1, 512);
        j->group = j->user % 32 + 1;
        area += (double)j->size * (double)j->run;
        z.serial += j->size == 1;
        z.pow2 += j->size > 1 && (j->size & (j->size - 1)) == 0;
        z.exact += exact;
    }
    z.mean_area = area / (double)p->jobs;
    z.rate = p->load * (double)p->procs / z.mean_area;
    /* non-homogeneous Poisson by thinning against the peak rate */
    double peak = 1.5 * z.rate, t = 0;
    for (int64_t i = 0; i < p->jobs; i++) {
        for (;;) {
            t += -log(gen_unif_pos(&arr)) / peak;
            if (gen_unif(&arr) * 1.5 < gen_cycle(t))
                break;
        }
        out[i].submit = (int64_t)t;
    }
    z.span = out[p->jobs - 1].submit - out[0].submit;
    z.offered = z.span > 0 ? area / ((double)p->procs * (double)z.span) : 0;
    if (st)
        *st = z;
    return 0;
}

#endif
