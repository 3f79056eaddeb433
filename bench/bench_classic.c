/*
 * bench_classic: the simulator on the classic model at scale.
 *
 *   bench_classic [TRACE.swf] [--jobs N] [--procs N] [--seed S] [--load L]
 *                 [--policy P]... [--all] [--depth D]
 *
 * Without a trace it generates the workload in memory (gen_common.h, the
 * same jobs as bench_gen_swf with the same parameters): by default 450,000
 * jobs on 8,192 processors at offered load 0.9. It then replays it with
 * sim_run on the classic machine under easy (and fcfs and conservative
 * with --all, or the policies named by --policy), and prints for each the
 * wall and CPU time, jobs per second, peak RSS, the summary and the number
 * of scheduling passes.
 *
 * The simulator runs one pass per distinct event instant (an arrival or an
 * end), plus one more per round of zero-length jobs started at the same
 * instant; the count printed is the number of distinct instants of the
 * result, exact when no job has a zero effective run time.
 *
 * Timings are reported, never judged: the exit status is 0 unless the run
 * itself fails.
 */
#include "bench_util.h"
#include "gen_common.h"
#include "sim.h"

#include <getopt.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_classic [TRACE.swf] [--jobs N] [--procs N] [--seed S] [--load L]\n"
            "                     [--policy fcfs|easy|conservative]... [--all] [--depth D]\n"
            "  without TRACE: a generated trace (default 450000 jobs, 8192 processors,\n"
            "  seed 1, load 0.9); default policy easy; --all = fcfs, easy, conservative;\n"
            "  --depth: conservative reservations per pass (0 = unlimited, the default)\n");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct event instants of a simulation result (= scheduling passes,
 * less the extra rounds of zero-length jobs). -1 on out of memory. */
static int64_t count_instants(const sim_result *r, int64_t *zero_len)
{
    int64_t *t = malloc((2 * r->njobs + 1) * sizeof *t);
    if (!t)
        return -1;
    size_t n = 0;
    *zero_len = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        t[n++] = r->jobs[i].sj.submit;
        t[n++] = r->jobs[i].end;
        *zero_len += r->jobs[i].run_eff == 0;
    }
    qsort(t, n, sizeof *t, cmp_i64);
    int64_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || t[i] != t[i - 1];
    free(t);
    return d;
}

typedef struct outcome {
    int policy;
    double wall, cpu, build;
    int64_t passes, zero_len, peak_rss;
    size_t jobs;
    sim_summary sm;
} outcome;

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jobs", required_argument, 0, 'j'},   {"procs", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},   {"load", required_argument, 0, 'l'},
        {"policy", required_argument, 0, 'P'}, {"all", no_argument, 0, 'a'},
        {"depth", required_argument, 0, 'd'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *prog = "bench_classic";
    gen_params gp = {450000, 8192, 1, 0.9};
    int procs_given = 0, npol = 0, policies[8];
    int64_t depth = 0, v;
    int c;
    while ((c = getopt_long(argc, argv, "j:p:s:l:P:ad:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (bench_parse_i64(prog, "--jobs", optarg, 1, 100000000, &gp.jobs))
                return 2;
            break;
        case 'p':
            if (bench_parse_i64(prog, "--procs", optarg, 1, 100000000, &gp.procs))
                return 2;
            procs_given = 1;
            break;
        case 's':
            if (bench_parse_i64(prog, "--seed", optarg, 0, INT64_MAX, &v))
                return 2;
            gp.seed = (uint64_t)v;
            break;
        case 'l':
            if (bench_parse_double(prog, "--load", optarg, 0.001, 100, &gp.load))
                return 2;
            break;
        case 'P': {
            int pol = sched_policy_parse(optarg);
            if (pol < 0) {
                fprintf(stderr, "%s: --policy: unknown policy \"%s\"\n", prog, optarg);
                return 2;
            }
            if (npol < 8)
                policies[npol++] = pol;
            break;
        }
        case 'a':
            npol = 0;
            policies[npol++] = SCHED_FCFS;
            policies[npol++] = SCHED_EASY;
            policies[npol++] = SCHED_CONSERVATIVE;
            break;
        case 'd':
            if (bench_parse_i64(prog, "--depth", optarg, 0, 1000000000, &depth))
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *path = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
        return 2;
    }
    if (npol == 0)
        policies[npol++] = SCHED_EASY;

    printf("bench_classic: the simulator on the classic model (one processor per node)\n");
    bench_print_machine(stdout);

    char err[512];
    trace t;
    trace_init(&t);
    double t0 = bench_now();
    int64_t procs;
    if (path) {
        char *buf = NULL;
        size_t len = 0;
        if (trace_slurp(path, &buf, &len, err, sizeof err) != 0 ||
            swf_parse(buf, len, path, &t, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            free(buf);
            trace_free(&t);
            return 1;
        }
        free(buf);
        procs = procs_given ? gp.procs : t.max_procs > 0 ? t.max_procs : t.max_nodes;
        if (procs <= 0) {
            fprintf(stderr, "%s: %s: no MaxProcs:/MaxNodes: header; give --procs\n", prog,
                    path);
            trace_free(&t);
            return 2;
        }
        printf("workload\n  trace            %s, read and parsed in %.3f s\n", path,
               bench_now() - t0);
    } else {
        gen_job *g = malloc((size_t)gp.jobs * sizeof *g);
        gen_stats st;
        if (!g || gen_workload(&gp, g, &st) != 0) {
            fprintf(stderr, "%s: cannot generate the workload\n", prog);
            free(g);
            return 1;
        }
        for (int64_t i = 0; i < gp.jobs; i++) {
            trace_job tj;
            memset(&tj, 0, sizeof tj);
            tj.id = i + 1;
            tj.submit = g[i].submit;
            tj.run = g[i].run;
            tj.estimate = g[i].estimate;
            tj.gpus = g[i].size;
            tj.gpu_milli = 1000;
            tj.user = g[i].user;
            tj.group = g[i].group;
            tj.line = i + 10; /* as bench_gen_swf writes it: 9 header lines */
            if (trace_push(&t, &tj) != 0) {
                fprintf(stderr, "%s: out of memory\n", prog);
                free(g);
                trace_free(&t);
                return 1;
            }
        }
        free(g);
        procs = gp.procs;
        t.max_procs = procs;
        printf("workload\n  trace            generated in memory in %.3f s (--jobs %lld "
               "--procs %lld --seed %llu --load %g)\n",
               bench_now() - t0, (long long)gp.jobs, (long long)gp.procs,
               (unsigned long long)gp.seed, gp.load);
    }
    double area = 0;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; i < t.njobs; i++) {
        const trace_job *j = &t.jobs[i];
        if (j->gpus <= 0 || j->gpus > procs || j->run < 0 || j->submit < 0)
            continue;
        int64_t est = j->estimate >= 0 ? j->estimate : j->run;
        area += (double)j->gpus * (double)(j->run < est ? j->run : est);
        first = j->submit < first ? j->submit : first;
        last = j->submit > last ? j->submit : last;
    }
    printf("  jobs             %zu on %lld processors; submits span %.1f days; "
           "offered load %.3f\n",
           t.njobs, (long long)procs, last > first ? (double)(last - first) / 86400.0 : 0.0,
           last > first ? area / ((double)procs * (double)(last - first)) : 0.0);
    printf("  peak RSS         %.1f MiB after loading\n", bench_mib(bench_peak_rss()));

    outcome res[8];
    int nres = 0, rc = 0;
    for (int pi = 0; pi < npol; pi++) {
        outcome *o = &res[nres];
        memset(o, 0, sizeof *o);
        o->policy = policies[pi];
        printf("\npolicy %s%s\n", sched_policy_name(o->policy),
               o->policy == SCHED_CONSERVATIVE
                   ? (depth ? " (depth limited)" : " (depth unlimited)")
                   : "");
        fflush(stdout);
        double b0 = bench_now();
        sched *m = sim_classic_machine(procs, err, sizeof err);
        if (!m) {
            fprintf(stderr, "%s: %s\n", prog, err);
            rc = 1;
            break;
        }
        o->build = bench_now() - b0;
        sim_options so;
        memset(&so, 0, sizeof so); /* fields this benchmark does not set stay off */
        so.policy = o->policy;
        so.depth = (int)depth;
        sim_result r;
        double c0 = bench_cpu(), w0 = bench_now();
        int ok = sim_run(m, 1, &t, &so, &r, err, sizeof err);
        o->wall = bench_now() - w0;
        o->cpu = bench_cpu() - c0;
        if (ok != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, sched_policy_name(o->policy), err);
            sim_result_free(&r);
            rc = 1;
            break;
        }
        o->peak_rss = bench_peak_rss();
        o->jobs = r.njobs;
        o->sm = r.summary;
        o->passes = count_instants(&r, &o->zero_len);
        const sim_summary *s = &r.summary;
        if (depth && o->policy == SCHED_CONSERVATIVE)
            printf("  depth            %lld\n", (long long)depth);
        printf("  machine built    %.3f s (%lld nodes)\n", o->build, (long long)procs);
        printf("  simulated        %.3f s wall, %.3f s CPU\n", o->wall, o->cpu);
        bench_contention_note(stdout, o->wall, o->cpu);
        printf("  throughput       %.0f jobs/s (wall)\n", o->wall > 0 ? (double)r.njobs / o->wall : 0);
        printf("  passes           %lld event instants%s, %.2f us per pass (wall)\n",
               (long long)o->passes, o->zero_len ? " (+ rounds of zero-length jobs)" : "",
               o->passes > 0 ? o->wall * 1e6 / (double)o->passes : 0.0);
        printf("  peak RSS         %.1f MiB (process, so far)\n", bench_mib(o->peak_rss));
        printf("  jobs             %lld simulated, %lld dropped\n", (long long)s->jobs,
               (long long)s->dropped);
        printf("  makespan         %lld s (%.1f days)\n", (long long)s->makespan,
               (double)s->makespan / 86400.0);
        printf("  utilization      %.4f\n", s->utilization);
        printf("  wait             mean %.1f s, median %.1f s, p95 %.1f s\n", s->mean_wait,
               s->median_wait, s->p95_wait);
        printf("  bounded slowdown mean %.3f (10 s threshold)\n", s->mean_bounded_slowdown);
        if (o->policy == SCHED_EASY)
            printf("  target           easy under 1 s on one core: %s (%.3f s wall, %.3f s "
                   "CPU)\n",
                   o->wall < 1.0 ? "met" : "missed", o->wall, o->cpu);
        fflush(stdout);
        sim_result_free(&r);
        nres++;
    }

    if (nres > 0) {
        printf("\nsummary (%zu jobs, %lld processors)\n", t.njobs, (long long)procs);
        printf("  %-13s %9s %9s %11s %10s %9s %6s %11s %9s\n", "policy", "wall s", "CPU s",
               "jobs/s", "passes", "us/pass", "util", "mean wait", "mean bsld");
        for (int i = 0; i < nres; i++) {
            const outcome *o = &res[i];
            printf("  %-13s %9.3f %9.3f %11.0f %10lld %9.2f %6.4f %11.1f %9.3f\n",
                   sched_policy_name(o->policy), o->wall, o->cpu,
                   o->wall > 0 ? (double)o->jobs / o->wall : 0, (long long)o->passes,
                   o->passes > 0 ? o->wall * 1e6 / (double)o->passes : 0.0, o->sm.utilization,
                   o->sm.mean_wait, o->sm.mean_bounded_slowdown);
        }
        printf("  peak RSS %.1f MiB\n", bench_mib(bench_peak_rss()));
    }
    trace_free(&t);
    return rc;
}
