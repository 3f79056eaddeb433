/*
 * The node and controller commands of fleet, clients of fleetd's /v1 API:
 *
 *   fleet nodes [--pool P] [--state S] [--json]
 *   fleet drain NODE [--reason TEXT]      (operators)
 *   fleet resume NODE                     (operators)
 *   fleet status [--json]
 *
 * Exit codes: see client.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "table.h"


/* ---- nodes -------------------------------------------------------------- */

static const table_col node_cols[] = {
    {"NAME", 0, 0}, {"POOL", 16, 0}, {"BLOCK", 16, 0}, {"STATE", 0, 0},
    {"GPUS", 0, 1}, {"FREE", 0, 1},  {"JOBS", 0, 1}, {"CGROUP", 0, 0}, {"REASON", 0, 0},
};

static void node_row(const jrow *n, void *arg)
{
    table *t = arg;
    char g[32], f[32], j[32];
    snprintf(g, sizeof g, "%" PRId64, row_int(n, "gpus"));
    snprintf(f, sizeof f, "%" PRId64, row_int(n, "free_gpus"));
    snprintf(j, sizeof j, "%" PRId64, row_int(n, "jobs"));
    /* isolation: the cgroup version, or why there is none ("none: not root") */
    char cg[160];
    const char *mode = row_str(n, "cgroup"), *note = row_str(n, "cgroup_note");
    if (strcmp(mode, "none") == 0 && *note)
        snprintf(cg, sizeof cg, "none: %s", note);
    else
        snprintf(cg, sizeof cg, "%s", *mode ? mode : "-");
    const char *reason = row_str(n, "reason");
    const char *cells[] = {row_str(n, "name"), row_str(n, "pool"), row_str(n, "block"), row_str(n, "state"),
                           g, f, j, cg, *reason ? reason : "-"};
    table_row(t, cells);
}

static int check_node_states(const char *cmd, const char *v)
{
    for (const char *p = v; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!((n == 2 && !strncmp(p, "up", 2)) || (n == 5 && !strncmp(p, "drain", 5)) ||
              (n == 4 && !strncmp(p, "down", 4)))) {
            fprintf(stderr, "%s: --state: unknown node state \"%.*s\" (up, drain, down)\n", cmd,
                    (int)n, p);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int cmd_nodes(int argc, char **argv)
{
    const char *cmd = "fleet nodes";
    enum { O_POOL = 1, O_STATE, O_JSON };
    static const cli_opt opts[] = {{"pool", 'p', 1, O_POOL},
                                   {"partition", 0, 1, O_POOL},
                                   {"state", 't', 1, O_STATE},
                                   {"json", 0, 0, O_JSON},
                                   {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *pool = NULL, *state = NULL;
    int json = 0;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            return FLEET_EXIT_USAGE;
        if (k == OPT_OPERAND) {
            fprintf(stderr, "%s: unexpected argument \"%s\" (see '%s --help')\n", cmd, val, cmd);
            return FLEET_EXIT_USAGE;
        }
        switch (id) {
        case OPT_ID_HELP:
            printf("usage: fleet nodes [--pool P] [--state S] [--json]\n\n"
                   "Nodes: NAME POOL BLOCK STATE GPUS FREE JOBS CGROUP REASON.\n"
                   "CGROUP: how jobs are isolated there (v2, v1, or none and why).\n\n"
                   "  -p, --pool P[,P...]     nodes of these pools\n"
                   "  -t, --state S[,S...]    up, drain, down\n"
                   "      --json              fleetd's JSON, unchanged\n%s",
                   fleet_conn_help);
            return 0;
        case O_POOL: pool = val; break;
        case O_STATE: state = val; break;
        case O_JSON: json = 1; break;
        }
    }
    if (state && check_node_states(cmd, state) != 0)
        return FLEET_EXIT_USAGE;
    char path[1024] = "/v1/nodes";
    const char *keys[] = {"pool", "state"}, *vals[] = {pool, state};
    for (int i = 0; i < 2; i++) {
        if (!vals[i] || !*vals[i])
            continue;
        char *e = conn_escape(vals[i]);
        size_t l = strlen(path);
        snprintf(path + l, sizeof path - l, "%c%s=%s", strchr(path, '?') ? '&' : '?', keys[i], e);
        free(e);
    }
    if (strlen(path) >= sizeof path - 1) {
        fprintf(stderr, "%s: filter too long\n", cmd);
        return FLEET_EXIT_USAGE;
    }
    fleet_resp r;
    int rc = conn_call(&c, "GET", path, NULL, &r, NULL);
    if (rc == 0 && json) {
        print_body(&r);
    } else if (rc == 0) {
        table t;
        table_init(&t, node_cols, sizeof node_cols / sizeof node_cols[0], stdout);
        long n = json_each(r.body, r.len, "nodes", node_row, &t);
        table_end(&t);
        if (n < 0) {
            fprintf(stderr, "%s: unexpected answer from fleetd: not a node listing\n", cmd);
            rc = FLEET_EXIT_REFUSED;
        }
    }
    resp_free(&r);
    conn_close(&c);
    return rc;
}

/* ---- drain, resume ------------------------------------------------------ */

static int node_action(int argc, char **argv, const char *action)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "fleet %s", action);
    int drain = strcmp(action, "drain") == 0;
    enum { O_REASON = 1 };
    static const cli_opt drain_opts[] = {{"reason", 'r', 1, O_REASON}, {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *node = NULL, *reason = NULL;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, drain ? drain_opts : NULL, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            return FLEET_EXIT_USAGE;
        if (k == OPT_OPERAND) {
            if (node) {
                fprintf(stderr, "%s: one node only (got \"%s\" and \"%s\")\n", cmd, node, val);
                return FLEET_EXIT_USAGE;
            }
            node = val;
        } else if (id == OPT_ID_HELP) {
            if (drain)
                printf("usage: fleet drain NODE [--reason TEXT]\n\nStops placing jobs on NODE; "
                       "its running jobs go on. Operators only.\n\n"
                       "  -r, --reason TEXT       why (kept with the node)\n%s",
                       fleet_conn_help);
            else
                printf("usage: fleet resume NODE\n\nPlaces jobs on NODE again. Operators "
                       "only.\n%s",
                       fleet_conn_help);
            return 0;
        } else if (id == O_REASON) {
            reason = val;
        }
    }
    if (!node || !*node) {
        fprintf(stderr, "%s: a node name is required (usage: fleet %s NODE%s)\n", cmd, action,
                drain ? " [--reason TEXT]" : "");
        return FLEET_EXIT_USAGE;
    }
    if (strchr(node, '/') || strlen(node) > 200) {
        fprintf(stderr, "%s: not a node name: \"%s\"\n", cmd, node);
        return FLEET_EXIT_USAGE;
    }
    char *body = NULL;
    if (reason) {
        json_t *o = json_pack("{ss}", "reason", reason);
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!body) {
            fprintf(stderr, "%s: --reason: not valid UTF-8\n", cmd);
            return FLEET_EXIT_USAGE;
        }
    }
    char *esc = conn_escape(node);
    size_t pl = strlen(esc) + 32;
    char *path = malloc(pl);
    if (!path) {
        free(esc);
        free(body);
        return FLEET_EXIT_REFUSED;
    }
    snprintf(path, pl, "/v1/nodes/%s/%s", esc, action);
    free(esc);
    fleet_resp r;
    json_t *o;
    int rc = conn_call(&c, "POST", path, body, &r, &o);
    free(path);
    free(body);
    resp_free(&r);
    if (rc == 0) {
        printf("Node %s: %s\n", jstr(o, "name"), jstr(o, "state"));
        json_decref(o);
    }
    conn_close(&c);
    return rc;
}

int cmd_drain(int argc, char **argv) { return node_action(argc, argv, "drain"); }
int cmd_resume(int argc, char **argv) { return node_action(argc, argv, "resume"); }

/* ---- status ------------------------------------------------------------- */

int cmd_status(int argc, char **argv)
{
    const char *cmd = "fleet status";
    enum { O_JSON = 1 };
    static const cli_opt opts[] = {{"json", 0, 0, O_JSON}, {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    int json = 0;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            return FLEET_EXIT_USAGE;
        if (k == OPT_OPERAND) {
            fprintf(stderr, "%s: unexpected argument \"%s\" (see '%s --help')\n", cmd, val, cmd);
            return FLEET_EXIT_USAGE;
        }
        if (id == OPT_ID_HELP) {
            printf("usage: fleet status [--json]\n\nThe controller: version, policy, nodes, "
                   "GPUs, jobs, and who you are to it.\n\n"
                   "      --json              fleetd's JSON, unchanged\n%s",
                   fleet_conn_help);
            return 0;
        }
        if (id == O_JSON)
            json = 1;
    }
    fleet_resp r;
    json_t *o = NULL;
    int rc = conn_call(&c, "GET", "/v1/status", NULL, &r, json ? NULL : &o);
    if (rc == 0 && json) {
        print_body(&r);
    } else if (rc == 0) {
        const json_t *you = json_object_get(o, "you");
        printf("fleetd:    %s at %s\n", jstr(o, "version"), c.url ? c.url : c.socket);
        printf("policy:    %s\n", jstr(o, "policy"));
        printf("nodes:     %" PRId64 "\n", jint(o, "nodes"));
        printf("gpus:      %" PRId64 " (%" PRId64 " free)\n", jint(o, "gpus"),
               jint(o, "free_gpus"));
        printf("jobs:      %" PRId64 " running, %" PRId64 " pending, %" PRId64 " known\n",
               jint(o, "running"), jint(o, "pending"), jint(o, "jobs"));
        printf("passes:    %" PRId64 "\n", jint(o, "passes"));
        printf("commits:   %" PRId64 "\n", jint(o, "commits"));
        printf("you:       %s (uid %" PRId64 ")%s\n", jstr(you, "user"), jint(you, "uid"),
               jint(you, "operator") ? ", operator" : "");
    }
    json_decref(o);
    resp_free(&r);
    conn_close(&c);
    return rc;
}
