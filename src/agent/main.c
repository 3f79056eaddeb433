/*
 * fleet-agent: the node daemon of gpufleet. See agent.h for its parts and
 * docs/agent.md for how to run it.
 *
 *   fleet-agent --controller unix:PATH|HOST:PORT --key-file FILE [--name NODE]
 *               [--spool DIR] [--addr ADDR] [--allow-root] [--gpus N --gpu-model M]
 *               [--emulate COUNT --gpus-per-node 8 --gpu-model H100 [--name PREFIX]
 *                [--first I]] [--heartbeat-ms MS]
 *
 * main.c: options, the start (key, spool lock, inventory, spool scan, first
 * sync), signals and the clean stop (jobs keep running; the next start
 * adopts them). The same executable is also the shepherd (--shepherd DIR)
 * and the rank starter of steps (--rank ...), so that those need no path of
 * their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent.h"
#include "auth.h"
#include "util.h"

static const char usage[] =
    "usage: fleet-agent --controller unix:PATH|HOST:PORT --key-file FILE [options]\n"
    "\n"
    "  --controller ADDR     fleetd: unix:/run/gpufleet/fleetd.sock or HOST:PORT\n"
    "  --key-file FILE       the cluster key (fleetd's STATE/cluster.key, mode 0600)\n"
    "  --name NODE           this node's name (default: the host name); with\n"
    "                        --emulate, the prefix of the node names (default emu)\n"
    "  --spool DIR           where job records live (default " AGENT_DEFAULT_SPOOL ")\n"
    "  --addr ADDR           how other nodes reach this one (MASTER_ADDR)\n"
    "  --allow-root          let jobs run as root (uid 0); refused by default\n"
    "  --gpus N              GPUs to report when NVML is not installed\n"
    "  --gpu-model M         the GPU model reported (\"H100\")\n"
    "  --gpu-mem-mb MB       memory per configured/emulated GPU (default 81920)\n"
    "  --cpus N, --mem-mb MB CPUs and memory to report (default: this machine's)\n"
    "  --cgroup MODE         auto (default), v2, v1 or none\n"
    "  --cgroup-root DIR     where cgroups are mounted (default " CGROUP_DEFAULT_ROOT ")\n"
    "  --heartbeat-ms MS     long-poll period (default 1000)\n"
    "  --emulate COUNT       run COUNT emulated nodes in this process\n"
    "  --gpus-per-node N     GPUs of each emulated node (default 8)\n"
    "  --first I             index of the first emulated node (default 0): names\n"
    "                        PREFIX000, PREFIX001, ...\n"
    "  --agent-name NAME     the name this agent signs its syncs with (default:\n"
    "                        the node name; emulators: PREFIX000-PREFIX999)\n";

enum {
    O_CONTROLLER = 1000, O_KEY, O_NAME, O_SPOOL, O_ADDR, O_ALLOW_ROOT, O_GPUS, O_MODEL,
    O_GPU_MEM, O_CPUS, O_MEM, O_CGROUP, O_CGROUP_ROOT, O_HEARTBEAT, O_EMULATE, O_GPN, O_FIRST,
    O_AGENT_NAME, O_HELP
};

static const struct option longopts[] = {
    {"controller", required_argument, NULL, O_CONTROLLER},
    {"key-file", required_argument, NULL, O_KEY},
    {"name", required_argument, NULL, O_NAME},
    {"spool", required_argument, NULL, O_SPOOL},
    {"addr", required_argument, NULL, O_ADDR},
    {"allow-root", no_argument, NULL, O_ALLOW_ROOT},
    {"gpus", required_argument, NULL, O_GPUS},
    {"gpu-model", required_argument, NULL, O_MODEL},
    {"gpu-mem-mb", required_argument, NULL, O_GPU_MEM},
    {"cpus", required_argument, NULL, O_CPUS},
    {"mem-mb", required_argument, NULL, O_MEM},
    {"cgroup", required_argument, NULL, O_CGROUP},
    {"cgroup-root", required_argument, NULL, O_CGROUP_ROOT},
    {"heartbeat-ms", required_argument, NULL, O_HEARTBEAT},
    {"emulate", required_argument, NULL, O_EMULATE},
    {"gpus-per-node", required_argument, NULL, O_GPN},
    {"first", required_argument, NULL, O_FIRST},
    {"agent-name", required_argument, NULL, O_AGENT_NAME},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static int die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "fleet-agent: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* A whole number in [lo, hi]; 0 or -1. */
static int parse_num(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi)
        return -1;
    *v = x;
    return 0;
}

/* A node or agent name: 1..63 bytes of [A-Za-z0-9._-]. */
static int good_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < PROTO_NAME_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Copies a name good_name accepted (shorter than PROTO_NAME_MAX). */
static void copy_name(char dst[PROTO_NAME_MAX], const char *src)
{
    memcpy(dst, src, strlen(src) + 1);
}

/* ---- node names --------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void name_table(agent *a)
{
    uint32_t cap = 16;
    while (cap < (uint32_t)a->nnodes * 2)
        cap *= 2;
    a->name_mask = cap - 1;
    a->name_tab = xmalloc(cap * sizeof *a->name_tab);
    for (uint32_t i = 0; i < cap; i++)
        a->name_tab[i] = -1;
    for (int32_t i = 0; i < a->nnodes; i++) {
        uint32_t h = name_hash(a->nodes[i].name) & a->name_mask;
        while (a->name_tab[h] >= 0)
            h = (h + 1) & a->name_mask;
        a->name_tab[h] = i;
    }
}

anode *agent_node(agent *a, const char *name)
{
    for (uint32_t h = name_hash(name) & a->name_mask; a->name_tab[h] >= 0;
         h = (h + 1) & a->name_mask)
        if (strcmp(a->nodes[a->name_tab[h]].name, name) == 0)
            return &a->nodes[a->name_tab[h]];
    return NULL;
}

/* ---- stop --------------------------------------------------------------- */

static void on_stop_signal(uv_signal_t *h, int sig)
{
    agent *a = h->data;
    if (a->stopping)
        return;
    a->stopping = 1;
    alog("%s: stopping (jobs keep running; the next start adopts them)", strsignal(sig));
    sync_stop(a);
    step_shutdown(a);
    exec_shutdown(a);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

/* ---- start -------------------------------------------------------------- */

static int setup_nodes(agent *a)
{
    const agent_opts *o = &a->o;
    char host[256];
    a->nnodes = o->emulate ? o->emulate : 1;
    a->nodes = xcalloc((size_t)a->nnodes, sizeof *a->nodes);
    const char *prefix = o->name ? o->name : "emu";
    if (!o->emulate) {
        if (!o->name) {
            if (gethostname(host, sizeof host) != 0)
                return die("cannot read the host name: %s%s", strerror(errno), "");
            host[sizeof host - 1] = '\0';
            host[strcspn(host, ".")] = '\0'; /* short name, as cluster files write them */
        }
        const char *name = o->name ? o->name : host;
        if (!good_name(name))
            return die("node name \"%s\": 1 to 63 of A-Z a-z 0-9 . _ -%s", name, "");
        copy_name(a->nodes[0].name, name);
    } else {
        for (int32_t i = 0; i < a->nnodes; i++) {
            char name[PROTO_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s%03lld", prefix, (long long)o->first + i);
            if (!good_name(name))
                return die("emulated node name \"%s\": 1 to 63 of A-Z a-z 0-9 . _ -%s", name, "");
            copy_name(a->nodes[i].name, name);
        }
    }
    for (int32_t i = 0; i < a->nnodes; i++) {
        a->nodes[i].a = a;
        a->nodes[i].idx = i;
        a->nodes[i].spool = xasprintf("%s/%s", o->spool, a->nodes[i].name);
    }
    char agent_name[PROTO_NAME_MAX * 2 + 2];
    if (o->agent_name)
        snprintf(agent_name, sizeof agent_name, "%s", o->agent_name);
    else if (!o->emulate)
        snprintf(agent_name, sizeof agent_name, "%s", a->nodes[0].name);
    else
        snprintf(agent_name, sizeof agent_name, "%s-%s", a->nodes[0].name,
                 a->nodes[a->nnodes - 1].name);
    if (!good_name(agent_name))
        return die("agent name \"%s\": 1 to 63 of A-Z a-z 0-9 . _ - (see --agent-name)%s",
                   agent_name, "");
    copy_name(a->name, agent_name);
    name_table(a);
    for (int32_t i = 0; i < a->nnodes; i++) {
        if (agent_node(a, a->nodes[i].name) != &a->nodes[i])
            return die("node name %s given twice%s", a->nodes[i].name, "");
    }
    return 0;
}

static void free_agent(agent *a)
{
    for (int32_t i = 0; a->nodes && i < a->nnodes; i++) {
        free(a->nodes[i].spool);
        free(a->nodes[i].gpu);
    }
    free(a->nodes);
    free(a->name_tab);
    if (a->spool_lock >= 0)
        close(a->spool_lock);
    explicit_bzero(a->key, sizeof a->key);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--shepherd") == 0)
        return shepherd_main(argv[2]);
    if (argc == 4 && strcmp(argv[1], "--rank") == 0)
        return rank_exec_main(argv[2], atoi(argv[3]));

    static agent ag;
    agent *a = &ag;
    a->spool_lock = -1;
    agent_opts *o = &a->o;
    o->spool = AGENT_DEFAULT_SPOOL;
    o->cgroup_root = CGROUP_DEFAULT_ROOT;
    o->cgroup_mode = "auto";
    o->gpus = -1;
    o->gpu_mem_mb = 81920;
    o->gpus_per_node = 8;
    o->heartbeat_ms = AGENT_DEFAULT_HEARTBEAT_MS;
    int c;
    long long v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_CONTROLLER: o->controller = optarg; break;
        case O_KEY: o->key_file = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_SPOOL: o->spool = optarg; break;
        case O_ADDR: o->addr = optarg; break;
        case O_ALLOW_ROOT: o->allow_root = 1; break;
        case O_MODEL: o->gpu_model = optarg; break;
        case O_CGROUP_ROOT: o->cgroup_root = optarg; break;
        case O_AGENT_NAME: o->agent_name = optarg; break;
        case O_CGROUP:
            if (strcmp(optarg, "auto") != 0 && cgroup_mode_parse(optarg) < 0)
                return die("--cgroup: auto, v2, v1 or none, not \"%s\"%s", optarg, "");
            o->cgroup_mode = optarg;
            break;
        case O_GPUS:
        case O_GPN:
            if (parse_num(optarg, 0, PROTO_MAX_GPUS, &v) != 0)
                return die("%s: a number of GPUs from 0 to 64, not \"%s\"",
                           c == O_GPUS ? "--gpus" : "--gpus-per-node", optarg);
            if (c == O_GPUS)
                o->gpus = (int)v;
            else
                o->gpus_per_node = (int)v;
            break;
        case O_GPU_MEM:
        case O_MEM:
            if (parse_num(optarg, 1, 1LL << 40, &v) != 0)
                return die("%s: a size in MB, not \"%s\"", c == O_MEM ? "--mem-mb" : "--gpu-mem-mb",
                           optarg);
            if (c == O_MEM)
                o->mem_mb = v;
            else
                o->gpu_mem_mb = v;
            break;
        case O_CPUS:
            if (parse_num(optarg, 1, 1 << 20, &v) != 0)
                return die("--cpus: a positive number, not \"%s\"%s", optarg, "");
            o->cpus = (int)v;
            break;
        case O_HEARTBEAT:
            if (parse_num(optarg, 10, 600000, &v) != 0)
                return die("--heartbeat-ms: 10 to 600000, not \"%s\"%s", optarg, "");
            o->heartbeat_ms = (int)v;
            break;
        case O_EMULATE:
            if (parse_num(optarg, 1, PROTO_MAX_NODES, &v) != 0)
                return die("--emulate: 1 to 65536 nodes, not \"%s\"%s", optarg, "");
            o->emulate = (int)v;
            break;
        case O_FIRST:
            if (parse_num(optarg, 0, 100000000, &v) != 0)
                return die("--first: a node index, not \"%s\"%s", optarg, "");
            o->first = (int)v;
            break;
        case 'h':
        case O_HELP: fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc)
        return die("unexpected argument \"%s\"%s", argv[optind], "");
    if (!o->controller || !o->key_file)
        return die("--controller and --key-file are required (see --help)%s%s", "", "");

    char err[512];
    if (auth_key_load(o->key_file, a->key, err, sizeof err) != 0)
        return die("%s%s", err, "");
    if (setup_nodes(a) != 0) {
        free_agent(a);
        return 2;
    }
    char prefix[PROTO_NAME_MAX + 16];
    snprintf(prefix, sizeof prefix, "fleet-agent %s", a->name);
    alog_set_prefix(prefix);
    ssize_t sl = readlink("/proc/self/exe", a->self_exe, sizeof a->self_exe - 1);
    if (sl <= 0) {
        free_agent(a);
        return die("cannot find my own executable (/proc/self/exe): %s%s", strerror(errno), "");
    }
    a->self_exe[sl] = '\0';

    /* one agent per spool */
    char path[PATH_MAX];
    if (mkdir_p(o->spool, 0755) != 0) {
        free_agent(a);
        return die("cannot create the spool %s: %s", o->spool, strerror(errno));
    }
    /* absolute from here on: the launches' directories name their cgroups
     * (spool_cgroup_name), the same whichever way the spool is spelled */
    static char spool_abs[PATH_MAX];
    if (!realpath(o->spool, spool_abs)) {
        free_agent(a);
        return die("cannot resolve the spool %s: %s", o->spool, strerror(errno));
    }
    o->spool = spool_abs;
    for (int32_t i = 0; i < a->nnodes; i++) {
        free(a->nodes[i].spool);
        a->nodes[i].spool = xasprintf("%s/%s", o->spool, a->nodes[i].name);
    }
    snprintf(path, sizeof path, "%s/agent.lock", o->spool);
    a->spool_lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (a->spool_lock < 0 || flock(a->spool_lock, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        free_agent(a);
        return die("%s: %s (another fleet-agent uses this spool?)", path, strerror(e));
    }

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    a->loop = uv_default_loop();
    a->boot = now_s();
    if (inventory_probe(a, err, sizeof err) != 0) {
        free_agent(a);
        return die("%s%s", err, "");
    }
    step_init(a);
    if (exec_init(a, err, sizeof err) != 0 || sync_start(a, err, sizeof err) != 0) {
        alog("%s", err);
        free_agent(a);
        return 1;
    }
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_stop_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_stop_signal, SIGTERM);
    alog("serving %d node%s (%s%s) for fleetd at %s; spool %s", a->nnodes,
         a->nnodes == 1 ? "" : "s", a->nodes[0].name, a->nnodes > 1 ? "..." : "", o->controller,
         o->spool);
    /* jobs found ended in the spool are reported at once */
    for (int32_t i = 0; i < a->nnodes; i++)
        if (a->nodes[i].nended)
            sync_news(a);

    uv_run(a->loop, UV_RUN_DEFAULT);
    sync_free(a);
    step_free(a);
    uv_loop_close(a->loop);
    alog("stopped");
    free_agent(a);
    return 0;
}
