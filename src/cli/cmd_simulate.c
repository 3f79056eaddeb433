/*
 * fleet simulate: replay a workload trace through libsched in virtual time.
 *
 *   fleet simulate --trace FILE --policy fcfs|easy|conservative
 *                  [--procs N] [--cluster FILE.yaml | --nodes NODES.csv]
 *                  [--format swf|csv|alibaba] [--depth N]
 *                  [--center CENTER.yaml]
 *                  [--jobs-out FILE.csv] [--summary-out FILE.json] [--quiet]
 *
 * An SWF trace without --cluster runs in the classic model: N identical
 * processors (N = --procs, else the MaxProcs: header, else MaxNodes:).
 * --center replays it under a center's policy (accounts, fair share, QOS,
 * allocations, guarantees, reservations; docs/policy.md) and reports per
 * tier, organization, project and reservation.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "center_yaml.h"
#include "cli.h"
#include "sim.h"
#include "trace.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fleet simulate --trace FILE --policy fcfs|easy|conservative\n"
            "                      [--procs N] [--cluster FILE.yaml | --nodes NODES.csv]\n"
            "                      [--format swf|csv|alibaba] [--depth N]\n"
            "                      [--center CENTER.yaml]\n"
            "                      [--jobs-out FILE.csv] [--summary-out FILE.json]\n"
            "                      [--progress] [--quiet]\n"
            "\n"
            "  --trace FILE        the workload: SWF (.swf), gpufleet CSV (.csv), or the\n"
            "                      Alibaba GPU 2023 pod list (detected from its header)\n"
            "  --policy P          fcfs, easy (EASY backfill) or conservative backfill\n"
            "  --procs N           classic model: machine size (default: the MaxProcs: or\n"
            "                      MaxNodes: header of the SWF file)\n"
            "  --cluster FILE      a GPU cluster description (YAML: pools, blocks, nodes)\n"
            "  --nodes FILE        an Alibaba GPU 2023 node list as the cluster\n"
            "  --depth N           conservative: reservations per pass (0 = unlimited)\n"
            "  --center FILE       a center's policy (YAML: accounts, users, QOS,\n"
            "                      allocations, priority, guarantees, reservations):\n"
            "                      multifactor priority with fair share, QOS limits,\n"
            "                      GPU-hour allocations, preemption, maintenance and\n"
            "                      project reservations; reports per tier, organization,\n"
            "                      project and reservation\n"
            "  --jobs-out FILE     every job: id,submit,start,end,size (GPU clusters:\n"
            "                      and pool,nodes, the nodes as node:gpus joined by ';')\n"
            "  --summary-out FILE  summary as JSON\n"
            "  --progress          progress on stderr (default when stderr is a terminal)\n"
            "  --quiet             no summary on stdout\n");
}

static int parse_i64(const char *opt, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        fprintf(stderr, "fleet simulate: %s: not an integer: \"%s\"\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

typedef struct progress_state {
    struct timespec t0;
    double last;
} progress_state;

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(size_t done, size_t total, int64_t vtime, void *arg)
{
    progress_state *p = arg;
    double now = elapsed(&p->t0);
    if (done < total && now - p->last < 0.5)
        return;
    p->last = now;
    fprintf(stderr, "\rsimulated %zu/%zu jobs (%3.0f%%), virtual time %llds, %.1fs elapsed%s",
            done, total, total ? 100.0 * (double)done / (double)total : 100.0,
            (long long)vtime, now, done >= total ? "\n" : "");
}

enum fmt { FMT_AUTO, FMT_SWF, FMT_CSV, FMT_ALIBABA };

static int detect_format(const char *path, const char *buf)
{
    size_t n = strlen(path);
    if (strncmp(buf, "name,cpu_milli", 14) == 0)
        return FMT_ALIBABA;
    if (n > 4 && strcmp(path + n - 4, ".csv") == 0)
        return FMT_CSV;
    return FMT_SWF;
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace", required_argument, 0, 't'},   {"policy", required_argument, 0, 'p'},
        {"procs", required_argument, 0, 'n'},   {"cluster", required_argument, 0, 'c'},
        {"nodes", required_argument, 0, 'N'},   {"format", required_argument, 0, 'f'},
        {"depth", required_argument, 0, 'd'},   {"jobs-out", required_argument, 0, 'j'},
        {"summary-out", required_argument, 0, 's'}, {"progress", no_argument, 0, 'P'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {"center", required_argument, 0, 'C'},  {0, 0, 0, 0}};
    const char *trace_path = NULL, *policy = NULL, *cluster_path = NULL, *nodes_path = NULL;
    const char *jobs_out = NULL, *summary_out = NULL, *center_path = NULL;
    int64_t procs = -1, depth = 0;
    int format = FMT_AUTO, quiet = 0, progress = isatty(2);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:p:n:c:N:f:d:j:s:C:Pqh", opts, NULL)) != -1) {
        switch (c) {
        case 't': trace_path = optarg; break;
        case 'p': policy = optarg; break;
        case 'n':
            if (parse_i64("--procs", optarg, &procs) != 0)
                return 2;
            if (procs <= 0) {
                fprintf(stderr, "fleet simulate: --procs: must be a positive integer, got %s\n",
                        optarg);
                return 2;
            }
            break;
        case 'c': cluster_path = optarg; break;
        case 'N': nodes_path = optarg; break;
        case 'f':
            if (strcmp(optarg, "swf") == 0)
                format = FMT_SWF;
            else if (strcmp(optarg, "csv") == 0)
                format = FMT_CSV;
            else if (strcmp(optarg, "alibaba") == 0)
                format = FMT_ALIBABA;
            else {
                fprintf(stderr, "fleet simulate: --format: unknown format \"%s\" "
                                "(swf, csv or alibaba)\n", optarg);
                return 2;
            }
            break;
        case 'd':
            if (parse_i64("--depth", optarg, &depth) != 0)
                return 2;
            if (depth < 0 || depth > 1000000000) {
                fprintf(stderr, "fleet simulate: --depth: must be >= 0, got %s\n", optarg);
                return 2;
            }
            break;
        case 'j': jobs_out = optarg; break;
        case 'C': center_path = optarg; break;
        case 's': summary_out = optarg; break;
        case 'P': progress = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fleet simulate: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!trace_path) {
        fprintf(stderr, "fleet simulate: --trace: required\n");
        usage(stderr);
        return 2;
    }
    if (!policy) {
        fprintf(stderr, "fleet simulate: --policy: required (fcfs, easy or conservative)\n");
        return 2;
    }
    int pol = sched_policy_parse(policy);
    if (pol < 0) {
        fprintf(stderr, "fleet simulate: --policy: unknown policy \"%s\" "
                        "(fcfs, easy or conservative)\n", policy);
        return 2;
    }
    if (cluster_path && nodes_path) {
        fprintf(stderr, "fleet simulate: --cluster and --nodes: give one, not both\n");
        return 2;
    }

    char err[512];
    char *buf = NULL;
    size_t len = 0;
    trace t;
    trace_init(&t);
    if (trace_slurp(trace_path, &buf, &len, err, sizeof err) != 0) {
        fprintf(stderr, "fleet simulate: %s\n", err);
        return 1;
    }
    if (format == FMT_AUTO)
        format = detect_format(trace_path, buf);
    int rc;
    if (format == FMT_SWF)
        rc = swf_parse(buf, len, trace_path, &t, err, sizeof err);
    else if (format == FMT_CSV)
        rc = gpucsv_parse(buf, len, trace_path, &t, err, sizeof err);
    else
        rc = alibaba_pods_parse(buf, len, trace_path, &t, err, sizeof err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "fleet simulate: %s\n", err);
        trace_free(&t);
        return 1;
    }

    sched *machine = NULL;
    int classic = 0;
    char machine_desc[256];
    double rates[SCHED_MAX_POOLS]; /* charge rate per pool, for a center */
    for (int i = 0; i < SCHED_MAX_POOLS; i++)
        rates[i] = 1.0;
    if (cluster_path || nodes_path) {
        const char *cp = cluster_path ? cluster_path : nodes_path;
        cluster_desc cd;
        cluster_desc_init(&cd);
        if (trace_slurp(cp, &buf, &len, err, sizeof err) != 0) {
            fprintf(stderr, "fleet simulate: %s\n", err);
            trace_free(&t);
            return 1;
        }
        rc = cluster_path ? cluster_yaml_parse(buf, len, cp, &cd, err, sizeof err)
                          : alibaba_nodes_parse(buf, len, cp, &cd, err, sizeof err);
        free(buf);
        if (rc == 0)
            machine = sim_cluster_machine(&cd, err, sizeof err);
        if (machine) {
            int64_t gpus = 0;
            for (size_t i = 0; i < cd.nnodes; i++)
                gpus += cd.nodes[i].gpus;
            snprintf(machine_desc, sizeof machine_desc,
                     "%zu nodes, %lld GPUs, %zu pools, %zu blocks (%s)", cd.nnodes,
                     (long long)gpus, cd.npools, cd.nblocks, cp);
            for (size_t i = 0; i < cd.npools && i < SCHED_MAX_POOLS; i++)
                rates[i] = cd.pools[i].charge_rate;
        }
        cluster_desc_free(&cd);
        if (!machine) {
            fprintf(stderr, "fleet simulate: %s\n", err);
            trace_free(&t);
            return 1;
        }
    } else {
        if (format != FMT_SWF) {
            fprintf(stderr, "fleet simulate: --cluster: a GPU trace needs a cluster "
                            "(--cluster FILE.yaml or --nodes NODES.csv)\n");
            trace_free(&t);
            return 2;
        }
        int64_t n = procs > 0 ? procs : t.max_procs > 0 ? t.max_procs : t.max_nodes;
        if (n <= 0) {
            fprintf(stderr, "fleet simulate: %s: no machine size: give --procs N or a "
                            "MaxProcs:/MaxNodes: header\n", trace_path);
            trace_free(&t);
            return 2;
        }
        machine = sim_classic_machine(n, err, sizeof err);
        if (!machine) {
            fprintf(stderr, "fleet simulate: %s\n", err);
            trace_free(&t);
            return 2;
        }
        classic = 1;
        snprintf(machine_desc, sizeof machine_desc, "%lld processors (classic model)",
                 (long long)n);
    }

    sim_center *center = NULL;
    if (center_path) {
        center_desc cdesc;
        center_desc_init(&cdesc);
        rc = trace_slurp(center_path, &buf, &len, err, sizeof err);
        if (rc == 0) {
            rc = center_yaml_parse(buf, len, center_path, &cdesc, err, sizeof err);
            free(buf);
        }
        if (rc == 0) {
            center = sim_center_build(&cdesc, machine, rates, center_path, err, sizeof err);
            rc = center ? 0 : -1;
        }
        /* operators' reservations of the file, on the machine before the replay */
        if (rc == 0)
            rc = sim_resv_apply(machine, &cdesc, center, center_path, err, sizeof err);
        center_desc_free(&cdesc);
        if (rc != 0) {
            fprintf(stderr, "fleet simulate: %s\n", err);
            sim_center_free(center);
            sched_destroy(machine);
            trace_free(&t);
            return 1;
        }
    }

    progress_state ps;
    clock_gettime(CLOCK_MONOTONIC, &ps.t0);
    ps.last = -1;
    sim_options o = {pol, (int)depth, progress ? on_progress : NULL, &ps};
    sim_result r;
    if (sim_run_center(machine, classic, &t, &o, center, &r, err, sizeof err) != 0) {
        fprintf(stderr, "fleet simulate: %s\n", err);
        sim_result_free(&r);
        sim_center_free(center);
        trace_free(&t);
        return 1;
    }
    double secs = elapsed(&ps.t0);
    rc = 0;
    if (jobs_out && sim_write_jobs_csv(&r, &t, jobs_out, err, sizeof err) != 0) {
        fprintf(stderr, "fleet simulate: %s\n", err);
        rc = 1;
    }
    if (summary_out && sim_write_summary_json(&r, summary_out, err, sizeof err) != 0) {
        fprintf(stderr, "fleet simulate: %s\n", err);
        rc = 1;
    }
    if (!quiet) {
        const sim_summary *s = &r.summary;
        printf("trace            %s (%zu jobs simulated, %lld dropped",
               trace_path, r.njobs, (long long)r.dropped);
        if (r.dropped_never_fit)
            printf(", %lld of them larger than any allowed pool", (long long)r.dropped_never_fit);
        printf(")\n");
        printf("machine          %s\n", machine_desc);
        printf("policy           %s\n", sched_policy_name(pol));
        printf("makespan         %lld s\n", (long long)s->makespan);
        printf("utilization      %.4f\n", s->utilization);
        printf("wait             mean %.1f s, median %.1f s, p95 %.1f s\n", s->mean_wait,
               s->median_wait, s->p95_wait);
        printf("bounded slowdown mean %.3f (10 s threshold)\n", s->mean_bounded_slowdown);
        printf("simulated in     %.3f s\n", secs);
        if (center) {
            printf("center           %s\n", center_path);
            sim_print_accounts(stdout, &r);
            sim_print_reservations(stdout, &r);
        }
    }
    sim_result_free(&r);
    sim_center_free(center);
    trace_free(&t);
    return rc;
}
