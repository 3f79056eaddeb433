/*
 * The accounting and administration commands of fleet, clients of fleetd's
 * /v1/usage and /v1/admin API (fleetd --center; see docs/policy.md):
 *
 *   fleet usage [--by tier|org|project|user] [--since T] [--until T] [--json|--csv]
 *   fleet admin accounts [--json]                 the account tree, fair share, allocations
 *   fleet admin reload                            re-read the center file
 *   fleet admin set-account NAME [--parent P] [--level L] [--shares S]
 *   fleet admin add-member USER PROJECT [--uid N] [--shares S] [--default]
 *   fleet admin remove-member USER PROJECT
 *   fleet admin set-allocation NAME [--account A] [--gpu-hours H] [--pools P]
 *                                   [--start T] [--end T]
 *   fleet admin remove-account NAME
 *   fleet admin remove-allocation NAME
 *
 * Users see the usage of their own projects; operators see everything and
 * are the only callers of fleet admin. Exit codes: see client.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "table.h"

/* A number of a JSON object as a double; NAN when missing or null. */
static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "%.2f", or "-" for a missing value. */
static void fmt_num(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f", v);
}

/* A time of an allocation's period: the date, or "open". */
static void fmt_when(const json_t *o, const char *key, char *buf, size_t len)
{
    if (!jhas(o, key))
        snprintf(buf, len, "open");
    else
        fmt_time(jint(o, key), buf, len);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

/* ---- fleet usage ------------------------------------------------------------ */

static void usage_usage(FILE *f)
{
    fprintf(f,
            "usage: fleet usage [--by tier|org|project|user] [--since T] [--until T]\n"
            "                   [--json | --csv]\n"
            "\n"
            "GPU usage per group from the accounting records of finished job runs and\n"
            "from the runs still running, up to now: jobs, runs, GPU-hours, and charged\n"
            "GPU-hours (GPU-hours x the pool's charge rate), and in RUNNING and\n"
            "RUNNING-GPU-HOURS the runs still running and their part of the GPU-hours;\n"
            "then each allocation with what it grants, what is used, what the pending\n"
            "and running jobs reserve, and what is left. Users see their own projects;\n"
            "operators see everything.\n"
            "\n"
            "      --by KEY            group by tier, org, project (default) or user\n"
            "      --since T           runs that ended at or after T (Unix seconds or a UTC\n"
            "                          date: 2025-03-01, 2025-03-01T12:00:00Z); of a\n"
            "                          running run, its part after T\n"
            "      --until T           runs that ended before T; of a running run, its\n"
            "                          part before T\n"
            "      --json              fleetd's JSON, unchanged\n"
            "      --csv               the groups as CSV (with the first allocation of\n"
            "                          each project; the running columns last)\n"
            "%s",
            fleet_conn_help);
}

/* New columns go last (scripts read the others by position); ALLOCATIONS
 * only by project. */
static const table_col usage_cols[] = {
    {"GROUP", 32, 0},       {"JOBS", 0, 1},    {"RUNS", 0, 1},
    {"GPU-HOURS", 0, 1},    {"CHARGED", 0, 1}, {"ALLOCATIONS", 0, 0},
    {"RUNNING", 0, 1},      {"RUNNING-GPU-HOURS", 0, 1},
};
enum { USAGE_NCOLS = sizeof usage_cols / sizeof usage_cols[0] };

static const table_col alloc_cols[] = {
    {"ALLOCATION", 24, 0}, {"ACCOUNT", 20, 0}, {"POOLS", 16, 0}, {"START", 0, 0},
    {"END", 0, 0},         {"GRANTED", 0, 1},  {"USED", 0, 1},   {"RESERVED", 0, 1},
    {"LEFT", 0, 1},        {"STATE", 0, 0},
};

/* The allocation called name in the answer's list, or NULL. */
static const json_t *find_alloc(const json_t *allocs, const char *name)
{
    size_t i;
    const json_t *a;
    json_array_foreach(allocs, i, a)
    {
        if (strcmp(jstr(a, "name"), name) == 0)
            return a;
    }
    return NULL;
}

/* The allocations of a group, "a, b" (or "-"). */
static void alloc_names(const json_t *g, char *buf, size_t len)
{
    const json_t *names = json_object_get(g, "allocations");
    size_t o = 0, i;
    const json_t *n;
    buf[0] = '\0';
    json_array_foreach(names, i, n)
    {
        int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", json_string_value(n));
        if (w < 0 || (size_t)w >= len - o)
            break;
        o += (size_t)w;
    }
    if (!o)
        snprintf(buf, len, "-");
}

/* "exhausted", "inactive" (outside its period) or "active". */
static void alloc_state(const json_t *a, char *buf, size_t len)
{
    if (jint(a, "exhausted"))
        snprintf(buf, len, "exhausted");
    else if (!jint(a, "active"))
        snprintf(buf, len, "inactive");
    else
        snprintf(buf, len, "active");
}

/* The groups as a table, a total line, then the allocations. */
static void print_usage_table(const json_t *o)
{
    const json_t *groups = json_object_get(o, "groups");
    const json_t *allocs = json_object_get(o, "allocations");
    char title[48];
    snprintf(title, sizeof title, "%s", jstr(o, "by"));
    for (char *p = title; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    table_col cols[USAGE_NCOLS];
    int projects = strcmp(jstr(o, "by"), "project") == 0, ncols = 0;
    for (int k = 0; k < USAGE_NCOLS; k++)
        if (projects || strcmp(usage_cols[k].title, "ALLOCATIONS") != 0)
            cols[ncols++] = usage_cols[k];
    cols[0].title = title;
    table t;
    table_init(&t, cols, ncols, stdout);
    size_t i;
    const json_t *g;
    double jobs = 0, gh = 0, ch = 0, rn = 0, rh = 0;
    json_array_foreach(groups, i, g)
    {
        char nj[32], nr[32], h[32], c[32], an[256], nrun[32], hrun[32];
        snprintf(nj, sizeof nj, "%" PRId64, jint(g, "jobs"));
        snprintf(nr, sizeof nr, "%" PRId64, jint(g, "runs"));
        fmt_num(jnum(g, "gpu_hours"), h, sizeof h);
        fmt_num(jnum(g, "charged_gpu_hours"), c, sizeof c);
        alloc_names(g, an, sizeof an);
        snprintf(nrun, sizeof nrun, "%" PRId64, jint(g, "running_runs"));
        fmt_num(jnum(g, "running_gpu_hours"), hrun, sizeof hrun);
        const char *cells[USAGE_NCOLS] = {jstr(g, "name"), nj, nr, h, c, an, nrun, hrun};
        if (!projects)
            memmove(&cells[5], &cells[6], 2 * sizeof cells[0]); /* no ALLOCATIONS */
        table_row(&t, cells);
        jobs += (double)jint(g, "jobs");
        gh += jnum(g, "gpu_hours");
        ch += jnum(g, "charged_gpu_hours");
        rn += (double)jint(g, "running_runs");
        rh += jnum(g, "running_gpu_hours");
    }
    table_end(&t);
    /* the running part only when there is one: the line stays as it was */
    if (rn > 0)
        printf("total: %.0f jobs, %.2f GPU-hours, %.2f charged (running: %.0f run%s, %.2f "
               "GPU-hours)\n",
               jobs, gh, ch, rn, rn == 1 ? "" : "s", rh);
    else
        printf("total: %.0f jobs, %.2f GPU-hours, %.2f charged\n", jobs, gh, ch);
    if (json_array_size(allocs) == 0)
        return;
    putchar('\n');
    table_init(&t, alloc_cols, sizeof alloc_cols / sizeof alloc_cols[0], stdout);
    const json_t *a;
    json_array_foreach(allocs, i, a)
    {
        char start[32], end[32], gr[32], us[32], rs[32], lf[32], st[16];
        fmt_when(a, "start", start, sizeof start);
        fmt_when(a, "end", end, sizeof end);
        fmt_num(jnum(a, "gpu_hours"), gr, sizeof gr);
        fmt_num(jnum(a, "used"), us, sizeof us);
        fmt_num(jnum(a, "reserved"), rs, sizeof rs);
        fmt_num(jnum(a, "left"), lf, sizeof lf);
        alloc_state(a, st, sizeof st);
        const char *cells[] = {jstr(a, "name"), jstr(a, "account"), jstr(a, "pools"), start, end,
                               gr, us, rs, lf, st};
        table_row(&t, cells);
    }
    table_end(&t);
}

/* The groups as CSV; projects carry the ledger of their first allocation. */
static void print_usage_csv(const json_t *o)
{
    const json_t *groups = json_object_get(o, "groups");
    const json_t *allocs = json_object_get(o, "allocations");
    int projects = strcmp(jstr(o, "by"), "project") == 0;
    /* new columns go last: scripts read the others by position */
    printf("%s,jobs,runs,gpu_hours,charged_gpu_hours%s,running_runs,running_gpu_hours,"
           "running_charged_gpu_hours\n",
           jstr(o, "by"), projects ? ",allocation,granted,used,reserved,left" : "");
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        char nj[32], nr[32], h[40], c[40];
        snprintf(nj, sizeof nj, "%" PRId64, jint(g, "jobs"));
        snprintf(nr, sizeof nr, "%" PRId64, jint(g, "runs"));
        snprintf(h, sizeof h, "%.6f", jnum(g, "gpu_hours"));
        snprintf(c, sizeof c, "%.6f", jnum(g, "charged_gpu_hours"));
        csv_field(jstr(g, "name"), 0);
        csv_field(nj, 0);
        csv_field(nr, 0);
        csv_field(h, 0);
        csv_field(c, 0);
        if (projects) {
            const json_t *names = json_object_get(g, "allocations");
            const json_t *a =
                json_array_size(names)
                    ? find_alloc(allocs, json_string_value(json_array_get(names, 0)))
                    : NULL;
            char v[4][40] = {"", "", "", ""};
            static const char *const keys[4] = {"gpu_hours", "used", "reserved", "left"};
            for (int k = 0; a && k < 4; k++)
                snprintf(v[k], sizeof v[k], "%.6f", jnum(a, keys[k]));
            csv_field(a ? jstr(a, "name") : "", 0);
            for (int k = 0; k < 4; k++)
                csv_field(v[k], 0);
        }
        char rr[32], rh[40], rc[40];
        snprintf(rr, sizeof rr, "%" PRId64, jint(g, "running_runs"));
        snprintf(rh, sizeof rh, "%.6f", jnum(g, "running_gpu_hours"));
        snprintf(rc, sizeof rc, "%.6f", jnum(g, "running_charged_gpu_hours"));
        csv_field(rr, 0);
        csv_field(rh, 0);
        csv_field(rc, 1);
    }
}

int cmd_usage(int argc, char **argv)
{
    const char *cmd = "fleet usage";
    enum { O_BY = 1, O_SINCE, O_UNTIL, O_JSON, O_CSV };
    static const cli_opt opts[] = {{"by", 0, 1, O_BY},       {"since", 'S', 1, O_SINCE},
                                   {"until", 'E', 1, O_UNTIL}, {"json", 0, 0, O_JSON},
                                   {"csv", 0, 0, O_CSV},     {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *by = NULL, *since = NULL, *until = NULL;
    int json = 0, csv = 0;
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
        case OPT_ID_HELP: usage_usage(stdout); return 0;
        case O_BY: by = val; break;
        case O_SINCE: since = val; break;
        case O_UNTIL: until = val; break;
        case O_JSON: json = 1; break;
        case O_CSV: csv = 1; break;
        }
    }
    if (json && csv) {
        fprintf(stderr, "%s: --json or --csv, not both\n", cmd);
        return FLEET_EXIT_USAGE;
    }
    if (by && strcmp(by, "tier") && strcmp(by, "org") && strcmp(by, "organization") &&
        strcmp(by, "project") && strcmp(by, "user")) {
        fprintf(stderr, "%s: --by: tier, org, project or user, got \"%s\"\n", cmd, by);
        return FLEET_EXIT_USAGE;
    }
    char path[1024];
    size_t o = (size_t)snprintf(path, sizeof path, "/v1/usage");
    const char *keys[3] = {"by", "since", "until"}, *vals[3] = {by, since, until};
    for (int k = 0; k < 3; k++) {
        if (!vals[k])
            continue;
        char *e = conn_escape(vals[k]);
        o += (size_t)snprintf(path + o, sizeof path - o, "%c%s=%s", strchr(path, '?') ? '&' : '?',
                              keys[k], e);
        free(e);
        if (o >= sizeof path) {
            fprintf(stderr, "%s: arguments too long\n", cmd);
            return FLEET_EXIT_USAGE;
        }
    }
    fleet_resp r;
    json_t *ans = NULL;
    int rc = conn_call(&c, "GET", path, NULL, &r, json ? NULL : &ans);
    if (rc == 0 && json)
        print_body(&r);
    else if (rc == 0 && csv)
        print_usage_csv(ans);
    else if (rc == 0)
        print_usage_table(ans);
    json_decref(ans);
    resp_free(&r);
    conn_close(&c);
    return rc;
}

/* ---- fleet admin ------------------------------------------------------------ */

static void admin_usage(FILE *f)
{
    fprintf(f,
            "usage: fleet admin accounts [--json]\n"
            "       fleet admin reload\n"
            "       fleet admin set-account NAME [--parent P] [--level L] [--shares S]\n"
            "       fleet admin add-member USER PROJECT [--uid N] [--shares S] [--default]\n"
            "       fleet admin remove-member USER PROJECT\n"
            "       fleet admin set-allocation NAME [--account A] [--gpu-hours H] [--pools P]\n"
            "                                       [--start T] [--end T]\n"
            "       fleet admin remove-account NAME\n"
            "       fleet admin remove-allocation NAME\n"
            "       fleet admin reservation add|list|delete ...  (see 'fleet admin reservation --help')\n"
            "\n"
            "The center's accounts, for operators (fleetd --center):\n"
            "  accounts        the tree (tiers, organizations, projects, members) with\n"
            "                  shares, decayed usage (charged GPU-hours), level fair share,\n"
            "                  each member's fair-share factor and rank, and the allocations\n"
            "  reload          re-read the center file; running jobs are not touched, a bad\n"
            "                  file is refused (FILE:LINE: field ...) and the old one kept\n"
            "  set-account     create the account NAME under --parent (\"\" for a tier;\n"
            "                  --level tier, organization or project: a project by\n"
            "                  default below a tier or organization), or change the\n"
            "                  --shares of an existing one\n"
            "  add-member      make USER a member of PROJECT (added with --uid if new);\n"
            "                  --default makes it the user's default project\n"
            "  remove-member   end USER's membership of PROJECT (its pending jobs there\n"
            "                  wait with the reason account; running ones go on)\n"
            "  set-allocation  create or change the allocation NAME (a new one needs\n"
            "                  --account and --gpu-hours; times: Unix seconds or UTC dates;\n"
            "                  --pools \"\" for any pool)\n"
            "  remove-account  remove the account NAME with its memberships (refused while\n"
            "                  it has sub-accounts, allocations or guarantees, or running\n"
            "                  or pending jobs are charged to it: cancel them first)\n"
            "  remove-allocation  remove the allocation NAME (refused while running or\n"
            "                  pending jobs draw on it); its usage records stay\n"
            "Changes made here are stored and applied over the center file at every\n"
            "restart and reload.\n"
            "%s",
            fleet_conn_help);
}

static const table_col tree_cols[] = {
    {"ACCOUNT", 0, 0},  {"LEVEL", 0, 0},     {"SHARES", 0, 1}, {"USAGE", 0, 1},
    {"LEVEL-FS", 0, 1}, {"FAIRSHARE", 0, 1}, {"RANK", 0, 1},   {"ALLOCATIONS", 0, 0},
};

/* The tree, indented by depth, then the allocations. */
static void print_accounts(const json_t *o)
{
    const json_t *accounts = json_object_get(o, "accounts");
    size_t i, members = 0;
    const json_t *a;
    json_array_foreach(accounts, i, a) members += strcmp(jstr(a, "level"), "member") == 0;
    printf("center %s (%s); fair share computed at ", jstr(o, "center"), jstr(o, "file"));
    char when[32];
    fmt_time(jint(o, "computed_at"), when, sizeof when);
    printf("%s\n\n", when);
    table t;
    table_init(&t, tree_cols, sizeof tree_cols / sizeof tree_cols[0], stdout);
    json_array_foreach(accounts, i, a)
    {
        char name[200], sh[32], us[32], lf[32], fs[32], rank[32], an[256];
        int depth = (int)jint(a, "depth");
        snprintf(name, sizeof name, "%*s%s", 2 * (depth < 40 ? depth : 40), "", jstr(a, "name"));
        snprintf(sh, sizeof sh, "%g", jnum(a, "shares"));
        snprintf(us, sizeof us, "%.2f", jnum(a, "usage"));
        if (!json_object_get(a, "level_fs"))
            snprintf(lf, sizeof lf, "-");
        else if (json_is_null(json_object_get(a, "level_fs")))
            snprintf(lf, sizeof lf, "inf");
        else
            snprintf(lf, sizeof lf, "%.4f", jnum(a, "level_fs"));
        int member = strcmp(jstr(a, "level"), "member") == 0;
        if (member) {
            snprintf(fs, sizeof fs, "%.4f", jnum(a, "fairshare"));
            snprintf(rank, sizeof rank, "%" PRId64 "/%zu", jint(a, "rank"), members);
            snprintf(an, sizeof an, "-");
        } else {
            snprintf(fs, sizeof fs, "-");
            snprintf(rank, sizeof rank, "-");
            alloc_names(a, an, sizeof an);
        }
        const char *cells[] = {name, jstr(a, "level"), sh, us, lf, fs, rank, an};
        table_row(&t, cells);
    }
    table_end(&t);
    const json_t *allocs = json_object_get(o, "allocations");
    if (json_array_size(allocs)) {
        putchar('\n');
        table_init(&t, alloc_cols, sizeof alloc_cols / sizeof alloc_cols[0], stdout);
        json_array_foreach(allocs, i, a)
        {
            char start[32], end[32], gr[32], us[32], rs[32], lf[32], st[16];
            fmt_when(a, "start", start, sizeof start);
            fmt_when(a, "end", end, sizeof end);
            fmt_num(jnum(a, "gpu_hours"), gr, sizeof gr);
            fmt_num(jnum(a, "used"), us, sizeof us);
            fmt_num(jnum(a, "reserved"), rs, sizeof rs);
            fmt_num(jnum(a, "left"), lf, sizeof lf);
            alloc_state(a, st, sizeof st);
            const char *cells[] = {jstr(a, "name"), jstr(a, "account"), jstr(a, "pools"), start,
                                   end, gr, us, rs, lf, st};
            table_row(&t, cells);
        }
        table_end(&t);
    }
}

/* "Reloaded center.yaml: 12 accounts, ..." from a change's answer. */
static void print_done(const json_t *o, const char *what)
{
    printf("%s %s: %" PRId64 " accounts, %" PRId64 " members, %" PRId64 " users, %" PRId64
           " QOS, %" PRId64 " allocations",
           what, jstr(o, "file"), jint(o, "accounts"), jint(o, "members"), jint(o, "users"),
           jint(o, "qos"), jint(o, "allocations"));
    if (jint(o, "held"))
        printf("; %" PRId64 " pending jobs held by the policy", jint(o, "held"));
    putchar('\n');
}

/* A number option: a finite double. 0, or -1 after a message. */
static int parse_real(const char *cmd, const char *opt, const char *s, double *v)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x) || x < 0) {
        fprintf(stderr, "%s: %s: a non-negative number, got \"%s\"\n", cmd, opt, s);
        return -1;
    }
    *v = x;
    return 0;
}

/* A time option: Unix seconds as a number, else the text (fleetd reads dates). */
static json_t *time_value(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end != s && !*end)
        return json_integer(v);
    return json_string(s);
}

int cmd_admin(int argc, char **argv)
{
    const char *cmd = "fleet admin";
    if (argc > 1 && strcmp(argv[1], "reservation") == 0)
        return cmd_resv(argc - 1, argv + 1); /* operators' reservations (cmd_resv.c) */
    enum { O_JSON = 1, O_UID, O_SHARES, O_DEFAULT, O_ACCOUNT, O_GPU_HOURS, O_POOLS, O_START,
           O_END, O_PARENT, O_LEVEL };
    static const cli_opt opts[] = {
        {"json", 0, 0, O_JSON},         {"uid", 0, 1, O_UID},       {"shares", 0, 1, O_SHARES},
        {"default", 0, 0, O_DEFAULT},   {"account", 'A', 1, O_ACCOUNT},
        {"gpu-hours", 0, 1, O_GPU_HOURS}, {"pools", 'p', 1, O_POOLS}, {"start", 0, 1, O_START},
        {"end", 0, 1, O_END},           {"parent", 0, 1, O_PARENT}, {"level", 0, 1, O_LEVEL},
        {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *ops[3] = {NULL, NULL, NULL};
    int nops = 0, json = 0, rc = FLEET_EXIT_USAGE;
    json_t *body = json_object();
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            goto out;
        if (k == OPT_OPERAND) {
            if (nops == 3) {
                fprintf(stderr, "%s: unexpected argument \"%s\" (see '%s --help')\n", cmd, val,
                        cmd);
                goto out;
            }
            ops[nops++] = val;
            continue;
        }
        double x;
        switch (id) {
        case OPT_ID_HELP: admin_usage(stdout); rc = 0; goto out;
        case O_JSON: json = 1; break;
        case O_UID: {
            int64_t uid;
            char *end;
            uid = strtoll(val, &end, 10);
            if (end == val || *end || uid < 0 || uid > 4294967295LL) {
                fprintf(stderr, "%s: --uid: a Unix uid, got \"%s\"\n", cmd, val);
                goto out;
            }
            json_object_set_new(body, "uid", json_integer(uid));
            break;
        }
        case O_SHARES:
            if (parse_real(cmd, "--shares", val, &x) != 0)
                goto out;
            json_object_set_new(body, "shares", json_real(x));
            break;
        case O_DEFAULT: json_object_set_new(body, "default", json_true()); break;
        case O_ACCOUNT: json_object_set_new(body, "account", json_string(val)); break;
        case O_GPU_HOURS:
            if (parse_real(cmd, "--gpu-hours", val, &x) != 0)
                goto out;
            json_object_set_new(body, "gpu_hours", json_real(x));
            break;
        case O_POOLS: json_object_set_new(body, "pools", json_string(val)); break;
        case O_START: json_object_set_new(body, "start", time_value(val)); break;
        case O_END: json_object_set_new(body, "end", time_value(val)); break;
        case O_PARENT: json_object_set_new(body, "parent", json_string(val)); break;
        case O_LEVEL: json_object_set_new(body, "level", json_string(val)); break;
        }
    }
    const char *op = ops[0];
    if (!op) {
        fprintf(stderr, "%s: a subcommand is required: accounts, reload, set-account, "
                        "add-member, remove-member, set-allocation, remove-account, "
                        "remove-allocation (see '%s --help')\n", cmd,
                cmd);
        goto out;
    }
    const char *method = "POST", *path = NULL;
    int need = 1;
    if (strcmp(op, "accounts") == 0) {
        method = "GET";
        path = "/v1/admin/accounts";
    } else if (strcmp(op, "reload") == 0) {
        path = "/v1/admin/reload";
    } else if (strcmp(op, "add-member") == 0 || strcmp(op, "remove-member") == 0) {
        path = op[0] == 'a' ? "/v1/admin/members" : "/v1/admin/members/remove";
        need = 3;
        if (nops == 3) {
            json_object_set_new(body, "user", json_string(ops[1]));
            json_object_set_new(body, "project", json_string(ops[2]));
        }
    } else if (strcmp(op, "set-account") == 0) {
        path = "/v1/admin/accounts";
        need = 2;
        if (nops == 2)
            json_object_set_new(body, "name", json_string(ops[1]));
    } else if (strcmp(op, "set-allocation") == 0) {
        path = "/v1/admin/allocations";
        need = 2;
        if (nops == 2)
            json_object_set_new(body, "name", json_string(ops[1]));
    } else if (strcmp(op, "remove-account") == 0 || strcmp(op, "remove-allocation") == 0) {
        /* a removal is the set route's body with "remove": true */
        path = op[9] == 'c' ? "/v1/admin/accounts" : "/v1/admin/allocations";
        need = 2;
        if (json_object_size(body) > 0) {
            fprintf(stderr, "%s %s: takes no options but --json\n", cmd, op);
            goto out;
        }
        if (nops == 2) {
            json_object_set_new(body, "name", json_string(ops[1]));
            json_object_set_new(body, "remove", json_true());
        }
    } else {
        fprintf(stderr, "%s: unknown subcommand \"%s\" (accounts, reload, set-account, "
                        "add-member, remove-member, set-allocation, remove-account, "
                        "remove-allocation)\n", cmd, op);
        goto out;
    }
    if (nops != need) {
        fprintf(stderr, "%s %s: %s (see '%s --help')\n", cmd, op,
                need == 1 ? "takes no argument"
                : need == 2 ? (strstr(op, "-account") ? "the account's NAME is required"
                                            : "the allocation's NAME is required")
                            : "USER and PROJECT are required",
                cmd);
        goto out;
    }
    if (need == 1 && json_object_size(body) > 0) {
        fprintf(stderr, "%s %s: takes no options but --json\n", cmd, op);
        goto out;
    }
    char *text = need > 1 ? json_dumps(body, JSON_COMPACT) : NULL;
    fleet_resp r;
    json_t *ans = NULL;
    rc = conn_call(&c, method, path, text, &r, json ? NULL : &ans);
    free(text);
    if (rc == 0 && json)
        print_body(&r);
    else if (rc == 0 && strcmp(op, "accounts") == 0)
        print_accounts(ans);
    else if (rc == 0 && strcmp(op, "reload") == 0)
        print_done(ans, "Reloaded");
    else if (rc == 0 && strcmp(op, "add-member") == 0)
        printf("User %s is a member of project %s\n", ops[1], ops[2]);
    else if (rc == 0 && strcmp(op, "remove-member") == 0)
        printf("User %s is no longer a member of project %s\n", ops[1], ops[2]);
    else if (rc == 0 && strcmp(op, "set-account") == 0)
        printf("Account %s set\n", ops[1]);
    else if (rc == 0 && strcmp(op, "remove-account") == 0)
        printf("Account %s removed\n", ops[1]);
    else if (rc == 0 && strcmp(op, "remove-allocation") == 0)
        printf("Allocation %s removed\n", ops[1]);
    else if (rc == 0)
        printf("Allocation %s set\n", ops[1]);
    json_decref(ans);
    resp_free(&r);
out:
    json_decref(body);
    conn_close(&c);
    return rc;
}
