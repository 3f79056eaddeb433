/*
 * bench_gen_swf: writes a synthetic SWF trace (see gen_common.h for the model).
 *
 *   bench_gen_swf [--jobs N] [--procs N] [--seed S] [--load L] [-o FILE] > out.swf
 *
 * Defaults: 450000 jobs, 8192 processors, seed 1, load 0.9. Deterministic
 * for a seed. A summary of what was generated goes to stderr.
 */
#include "bench_util.h"
#include "gen_common.h"

#include <getopt.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_gen_swf [--jobs N] [--procs N] [--seed S] [--load L] [-o FILE]\n"
               "  writes a synthetic SWF trace (Lublin-Feitelson-like) to FILE or stdout\n"
               "  defaults: --jobs 450000 --procs 8192 --seed 1 --load 0.9\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jobs", required_argument, 0, 'j'}, {"procs", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'}, {"load", required_argument, 0, 'l'},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *prog = "bench_gen_swf", *path = NULL;
    gen_params p = {450000, 8192, 1, 0.9};
    int64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "j:p:s:l:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (bench_parse_i64(prog, "--jobs", optarg, 1, 100000000, &p.jobs))
                return 2;
            break;
        case 'p':
            if (bench_parse_i64(prog, "--procs", optarg, 1, 100000000, &p.procs))
                return 2;
            break;
        case 's':
            if (bench_parse_i64(prog, "--seed", optarg, 0, INT64_MAX, &v))
                return 2;
            p.seed = (uint64_t)v;
            break;
        case 'l':
            if (bench_parse_double(prog, "--load", optarg, 0.001, 100, &p.load))
                return 2;
            break;
        case 'o': path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
        return 2;
    }

    gen_job *jobs = malloc((size_t)p.jobs * sizeof *jobs);
    if (!jobs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    gen_stats st;
    if (gen_workload(&p, jobs, &st) != 0) {
        fprintf(stderr, "%s: bad parameters\n", prog);
        free(jobs);
        return 2;
    }
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        free(jobs);
        return 1;
    }
    int64_t maxrun = 0;
    for (int64_t i = 0; i < p.jobs; i++)
        if (jobs[i].run > maxrun)
            maxrun = jobs[i].run;
    fprintf(f, "; Version: 2.2\n");
    fprintf(f, "; Computer: synthetic (gpufleet bench_gen_swf, Lublin-Feitelson-like)\n");
    fprintf(f, "; Note: --jobs %lld --procs %lld --seed %llu --load %g; offered load %.4f\n",
            (long long)p.jobs, (long long)p.procs, (unsigned long long)p.seed, p.load,
            st.offered);
    fprintf(f, "; UnixStartTime: 0\n");
    fprintf(f, "; MaxJobs: %lld\n", (long long)p.jobs);
    fprintf(f, "; MaxRecords: %lld\n", (long long)p.jobs);
    fprintf(f, "; MaxProcs: %lld\n", (long long)p.procs);
    fprintf(f, "; MaxNodes: %lld\n", (long long)p.procs);
    fprintf(f, "; MaxRuntime: %lld\n", (long long)maxrun);
    for (int64_t i = 0; i < p.jobs; i++) {
        const gen_job *j = &jobs[i];
        /* 1 id, 2 submit, 3 wait, 4 run, 5 alloc procs, 6 avg cpu, 7 mem,
         * 8 req procs, 9 req time, 10 req mem, 11 status, 12 user, 13 group,
         * 14 executable, 15 queue, 16 partition, 17 preceding job, 18 think time */
        fprintf(f, "%lld %lld -1 %lld %d -1 -1 %d %lld -1 1 %u %u -1 1 -1 -1 -1\n",
                (long long)(i + 1), (long long)j->submit, (long long)j->run, j->size, j->size,
                (long long)j->estimate, j->user, j->group);
    }
    int bad = ferror(f);
    if (path ? fclose(f) != 0 : fflush(f) != 0)
        bad = 1;
    free(jobs);
    if (bad) {
        fprintf(stderr, "%s: write failed\n", prog);
        return 1;
    }
    fprintf(stderr,
            "%s: %lld jobs on %lld processors, span %.1f days, offered load %.4f "
            "(asked %.3f), %.1f%% serial, %.1f%% of parallel sizes powers of two, "
            "%.1f%% exact estimates\n",
            prog, (long long)p.jobs, (long long)p.procs, (double)st.span / 86400.0, st.offered,
            p.load, 100.0 * (double)st.serial / (double)p.jobs,
            p.jobs > st.serial ? 100.0 * (double)st.pow2 / (double)(p.jobs - st.serial) : 0.0,
            100.0 * (double)st.exact / (double)p.jobs);
    return 0;
}
