/*
 * fleetd: the gpufleet controller.
 *
 *   fleetd --state-dir DIR [--socket PATH] [--listen HOST:PORT]
 *          [--config center.yaml] [--policy easy] [--interval SECONDS]
 *          [--default-time SECONDS] [--operator UID]... [--postgres CONNINFO]
 *          [--center center.yaml]
 *
 * One event loop owns all state. On first start it creates DIR, the cluster
 * key DIR/cluster.key (mode 0600) that agents must hold, and the state
 * database DIR/state.db; on every start it recovers every job from there.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <sodium.h>

#include "auth.h"
#include "ctl.h"
#include "http.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fleetd --state-dir DIR [--socket PATH] [--listen HOST:PORT]\n"
            "              [--config center.yaml] [--policy fcfs|easy|conservative]\n"
            "              [--interval SECONDS] [--default-time SECONDS] [--operator UID]...\n"
            "              [--center FILE] [--postgres CONNINFO]\n"
            "\n"
            "  --state-dir DIR     jobs database, cluster key (created on first start)\n"
            "  --socket PATH       the Unix socket of the API (default /run/gpufleet/fleetd.sock)\n"
            "  --listen HOST:PORT  also serve the API on TCP (bearer tokens required)\n"
            "  --config FILE       the center's cluster description (YAML)\n"
            "  --policy P          scheduling policy (default easy)\n"
            "  --interval S        periodic scheduling pass (default 10 s)\n"
            "  --default-time S    time limit of jobs that give none (default 3600)\n"
            "  --operator UID      a user id allowed to act on every job and node\n"
            "  --no-agents         scheduling only: nodes need no agent and jobs are not\n"
            "                      executed (they run until cancelled); for tests and\n"
            "                      benchmarks of the controller alone\n"
            "  --node-timeout S    an agent silent this long loses its node; its jobs are\n"
            "                      requeued (default 30)\n"
            "  --kill-grace S      SIGTERM to SIGKILL at a time limit or cancel (default 30)\n"
            "  --postgres INFO     keep state in PostgreSQL (libpq conninfo, e.g.\n"
            "                      \"host=/var/run/postgresql dbname=gpufleet\") instead of\n"
            "                      SQLite in the state directory (wins over the center\n"
            "                      file's storage section)\n"
            "  --center FILE       the center's policy (YAML): accounts, users, QOS,\n"
            "                      allocations, priority weights, storage (see\n"
            "                      examples/center-small.yaml and docs/policy.md)\n");
}

typedef struct app {
    uv_loop_t *loop;
    uv_signal_t sigint, sigterm;
    int stopping;
} app;

static void on_signal(uv_signal_t *h, int sig)
{
    app *a = h->data;
    fprintf(stderr, "fleetd: signal %d, stopping\n", sig);
    a->stopping = 1;
    uv_stop(a->loop);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int parse_num(const char *opt, const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || x < 0) {
        fprintf(stderr, "fleetd: %s: not a non-negative number: \"%s\"\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, 0, 'd'}, {"socket", required_argument, 0, 's'},
        {"listen", required_argument, 0, 'l'},    {"config", required_argument, 0, 'c'},
        {"policy", required_argument, 0, 'p'},    {"interval", required_argument, 0, 'i'},
        {"default-time", required_argument, 0, 't'}, {"operator", required_argument, 0, 'o'},
        {"postgres", required_argument, 0, 'P'},  {"center", required_argument, 0, 'C'},
        {"no-agents", no_argument, 0, 'N'},       {"node-timeout", required_argument, 0, 'T'},
        {"kill-grace", required_argument, 0, 'G'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *state_dir = NULL, *sock = "/run/gpufleet/fleetd.sock", *listen_addr = NULL;
    const char *config = NULL, *pg = NULL, *center = NULL;
    int policy = SCHED_EASY;
    double interval = 10, deftime = 3600, node_timeout = 30, kill_grace = 30;
    int no_agents = 0;
    uint32_t operators[64];
    size_t noperators = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "d:s:l:c:p:i:t:o:P:C:NT:G:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': state_dir = optarg; break;
        case 's': sock = optarg; break;
        case 'l': listen_addr = optarg; break;
        case 'c': config = optarg; break;
        case 'p':
            policy = sched_policy_parse(optarg);
            if (policy < 0) {
                fprintf(stderr, "fleetd: --policy: unknown policy \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'i':
            if (parse_num("--interval", optarg, &interval) != 0)
                return 2;
            break;
        case 't':
            if (parse_num("--default-time", optarg, &deftime) != 0 || deftime < 1) {
                fprintf(stderr, "fleetd: --default-time: at least 1 second\n");
                return 2;
            }
            break;
        case 'o': {
            double u;
            if (parse_num("--operator", optarg, &u) != 0 || noperators == 64)
                return 2;
            operators[noperators++] = (uint32_t)u;
            break;
        }
        case 'P': pg = optarg; break;
        case 'C': center = optarg; break;
        case 'N': no_agents = 1; break;
        case 'T':
            if (parse_num("--node-timeout", optarg, &node_timeout) != 0 || node_timeout < 1) {
                fprintf(stderr, "fleetd: --node-timeout: at least 1 second\n");
                return 2;
            }
            break;
        case 'G':
            if (parse_num("--kill-grace", optarg, &kill_grace) != 0 || kill_grace > 86400)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!state_dir) {
        fprintf(stderr, "fleetd: --state-dir: required\n");
        usage(stderr);
        return 2;
    }
    if (mkdir_p(state_dir, 0755) != 0) {
        fprintf(stderr, "fleetd: --state-dir %s: %s\n", state_dir, strerror(errno));
        return 1;
    }
    char sockdir[4096];
    snprintf(sockdir, sizeof sockdir, "%s", sock);
    char *slash = strrchr(sockdir, '/');
    if (slash && slash != sockdir) {
        *slash = '\0';
        if (mkdir_p(sockdir, 0755) != 0) {
            fprintf(stderr, "fleetd: --socket %s: %s\n", sock, strerror(errno));
            return 1;
        }
    }
    char err[512], keypath[4096];
    /* the center file may choose the store; --postgres wins over it */
    static char center_pg[1024];
    if (center) {
        int postgres = 0;
        if (policy_read_storage(center, &postgres, center_pg, sizeof center_pg, err,
                                sizeof err) != 0) {
            fprintf(stderr, "fleetd: --center: %s\n", err);
            return 2;
        }
        if (postgres && !pg)
            pg = center_pg;
    }
    uint8_t key[AUTH_KEY_BYTES];
    int created = 0;
    snprintf(keypath, sizeof keypath, "%s/cluster.key", state_dir);
    if (auth_key_load_or_create(keypath, key, &created, err, sizeof err) != 0) {
        fprintf(stderr, "fleetd: %s\n", err);
        return 1;
    }
    if (created)
        fprintf(stderr, "fleetd: created the cluster key %s (mode 0600)\n", keypath);
    signal(SIGPIPE, SIG_IGN);

    app a = {0};
    a.loop = uv_default_loop();
    /* how jobs (fleet run inside them) reach this controller */
    char controller[4200];
    if (sock[0] == '/') {
        snprintf(controller, sizeof controller, "unix:%s", sock);
    } else {
        char cwd[4096];
        snprintf(controller, sizeof controller, "unix:%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".",
                 sock);
    }
    ctl_options co = {state_dir, config, pg, policy, (int64_t)deftime, interval, operators,
                      noperators, key, no_agents, node_timeout, (int)kill_grace, controller,
                      center};
    ctl *c = ctl_create(a.loop, &co, err, sizeof err);
    if (!c) {
        fprintf(stderr, "fleetd: %s\n", err);
        return 1;
    }
    http_options ho = {sock, listen_addr, key, ctl_http_handler, c, 30};
    http_server *srv = http_server_start(a.loop, &ho, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "fleetd: %s\n", err);
        ctl_destroy(c);
        return 1;
    }
    fprintf(stderr, "fleetd: serving on %s", sock);
    if (listen_addr) {
        fprintf(stderr, " and tcp port %d", http_server_tcp_port(srv));
        /* the address jobs on TCP agents' nodes are told: the listening
         * host, or this host's name when it listens on every address */
        char host[256] = "", tcp[320];
        const char *colon = strrchr(listen_addr, ':');
        size_t hl = colon ? (size_t)(colon - listen_addr) : 0;
        if (hl > 0 && hl < sizeof host)
            memcpy(host, listen_addr, hl);
        if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
            strcmp(host, "[::]") == 0)
            gethostname(host, sizeof host - 1);
        snprintf(tcp, sizeof tcp, "%s:%d", host, http_server_tcp_port(srv));
        agent_set_tcp_controller(c, tcp);
    }
    fprintf(stderr, "; policy %s\n", sched_policy_name(policy));
    uv_signal_init(a.loop, &a.sigint);
    uv_signal_init(a.loop, &a.sigterm);
    a.sigint.data = a.sigterm.data = &a;
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);

    uv_run(a.loop, UV_RUN_DEFAULT);

    ctl_flush(c);
    http_server_stop(srv);
    ctl_destroy(c);
    uv_close((uv_handle_t *)&a.sigint, NULL);
    uv_close((uv_handle_t *)&a.sigterm, NULL);
    uv_run(a.loop, UV_RUN_NOWAIT);
    uv_loop_close(a.loop);
    sodium_memzero(key, sizeof key);
    fprintf(stderr, "fleetd: stopped\n");
    return 0;
}
