/*
 * The job commands of fleet, clients of fleetd's /v1 API:
 *
 *   fleet submit [OPTIONS] [SCRIPT | -]    sbatch's options; prints "Submitted job ID"
 *   fleet queue [--user U|--me] [--state S] [--account A] [--pool P] [--limit N]
 *               [--priority] [--json]
 *   fleet show ID [--json]
 *   fleet cancel ID... | --user U [--state S] | --me
 *   fleet hold ID...   fleet release ID...   fleet requeue ID...
 *   fleet history [--user U|--me] [--account A] [--pool P] [--limit N] [--json]
 *
 * Exit codes: see client.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "jobspec.h"
#include "table.h"

extern char **environ;


/* ---- small buffers ------------------------------------------------------ */

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            fputs("fleet: out of memory\n", stderr);
            exit(FLEET_EXIT_REFUSED);
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Appends "&key=value" (or "?key=value" first), value escaped; NULL/"" skipped. */
static void add_query(sbuf *b, const char *key, const char *val)
{
    if (!val || !*val)
        return;
    char *e = conn_escape(val);
    sb_add(b, "%c%s=%s", strchr(b->s ? b->s : "", '?') ? '&' : '?', key, e);
    free(e);
}

/* ---- submit ------------------------------------------------------------- */

static void submit_usage(FILE *f)
{
    fprintf(f,
            "usage: fleet submit [OPTIONS] [SCRIPT | -]\n"
            "\n"
            "Submits a batch job. The script's #SBATCH / #FLEET directives are read first;\n"
            "options given here override them. Without SCRIPT and --wrap the script is read\n"
            "from stdin. The job runs in the current directory (--chdir to change) with the\n"
            "current environment (--export=NONE to send only the listed variables).\n"
            "\n"
            "  -G, --gpus N             total GPUs\n"
            "  -N, --nodes N            nodes (with --gpus-per-node: a gang)\n"
            "      --gpus-per-node N    GPUs per node (also --gres=gpu:N)\n"
            "      --cpus-per-gpu N     CPUs per GPU\n"
            "      --mem-per-gpu SIZE   memory per GPU (K/M/G/T, default M)\n"
            "  -t, --time T             time limit: MM, HH:MM:SS, D-HH:MM, 90m, 2h...\n"
            "  -p, --pool P             pool(s) (also --partition)\n"
            "  -A, --account A          account (project)\n"
            "  -q, --qos Q              quality of service\n"
            "  -J, --job-name NAME      job name (default: the script's file name)\n"
            "  -o, --output PATH        stdout file (%%j job id, %%A array job, %%a task)\n"
            "  -e, --error PATH         stderr file\n"
            "  -D, --chdir DIR          working directory\n"
            "  -a, --array SPEC         job array: 0-99, 1,3,5-7, 0-99%%10\n"
            "  -d, --dependency SPEC    afterok:ID[:ID], afterany:..., afternotok:..., singleton\n"
            "  -H, --hold               submit held (fleet release starts it)\n"
            "      --no-requeue         never requeue the job\n"
            "      --exclusive          whole nodes\n"
            "      --wrap CMD           run CMD instead of a script\n"
            "      --export VARS        KEY=VALUE[,KEY=VALUE...], or NONE[,KEY=VALUE...]\n"
            "      --parsable           print the job id only\n"
            "%s",
            fleet_conn_help);
}

typedef struct given_opt {
    char name[64];
    const char *val;
} given_opt;

/* Reads a whole file (or stdin for "-"), at most max + 1 bytes, so the
 * parser can tell a file that is too large. */
static int read_script(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                b = NULL;
                errno = ENOMEM;
                break;
            }
            b = nb;
        }
        size_t want = cap - n;
        if (n + want > max + 1)
            want = max + 1 - n;
        size_t got = fread(b + n, 1, want, f);
        n += got;
        if (got < want || n >= max + 1)
            break;
    }
    int failed = !b || ferror(f);
    int saved = errno;
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(b);
        errno = saved ? saved : EIO;
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

/* The whole environment, as sbatch --export=ALL; variables the job format
 * cannot carry (exported shell functions, values not UTF-8) are left out. */
static void import_environment(jobspec *j)
{
    char err[JOBSPEC_ERRLEN];
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e || (size_t)(eq - *e) > 255)
            continue;
        char key[256];
        memcpy(key, *e, (size_t)(eq - *e));
        key[eq - *e] = '\0';
        (void)jobspec_setenv(j, key, eq + 1, err, sizeof err);
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int cmd_submit(int argc, char **argv)
{
    const char *cmd = "fleet submit";
    enum { O_PARSABLE = 1 };
    static const cli_opt opts[] = {{"parsable", 0, 0, O_PARSABLE}, {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    s.other_takes_value = jobspec_option_takes_value;

    given_opt *given = calloc((size_t)argc + 1, sizeof *given);
    size_t ngiven = 0;
    const char *script_path = NULL;
    int parsable = 0, no_env = 0, wrap_given = 0, rc = FLEET_EXIT_USAGE;
    char *text = NULL, *json = NULL;
    jobspec j;
    jobspec_init(&j);
    if (!given) {
        fputs("fleet: out of memory\n", stderr);
        return FLEET_EXIT_REFUSED;
    }
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            goto out;
        if (k == OPT_OPERAND) {
            if (script_path) {
                fprintf(stderr,
                        "%s: one batch script only (got \"%s\" and \"%s\"); script arguments "
                        "are not supported\n",
                        cmd, script_path, val);
                goto out;
            }
            script_path = val;
            continue;
        }
        if (id == OPT_ID_HELP) {
            submit_usage(stdout);
            rc = 0;
            goto out;
        }
        if (id == O_PARSABLE) {
            parsable = 1;
            continue;
        }
        /* a job option: applied after the script's directives */
        snprintf(given[ngiven].name, sizeof given[ngiven].name, "%s", s.name);
        given[ngiven++].val = val;
        if (strcmp(s.name, "wrap") == 0)
            wrap_given = 1;
        if (strcmp(s.name, "export") == 0 && val)
            no_env = strncasecmp(val, "NONE", 4) == 0 && (val[4] == '\0' || val[4] == ',');
    }

    if (!no_env)
        import_environment(&j);
    if (!script_path && !wrap_given) {
        if (isatty(STDIN_FILENO)) {
            fprintf(stderr, "%s: give a batch script (FILE, or - for stdin) or --wrap CMD\n", cmd);
            goto out;
        }
        script_path = "-";
    }
    char err[JOBSPEC_ERRLEN + 1100];
    if (script_path) {
        const char *label = strcmp(script_path, "-") == 0 ? "stdin" : script_path;
        size_t len = 0;
        if (read_script(script_path, JOBSPEC_SCRIPT_MAX, &text, &len) != 0) {
            fprintf(stderr, "%s: %s: %s\n", cmd, label, strerror(errno));
            goto out;
        }
        if (batch_parse(text, len, &j, err, sizeof err) != 0) {
            /* "script:4: #SBATCH --time=abc: ..." names the file instead */
            const char *rest = strncmp(err, "script", 6) == 0 ? err + 6 : NULL;
            if (rest && (*rest == ':' || *rest == ' '))
                fprintf(stderr, "%s: %s%s\n", cmd, label, rest);
            else
                fprintf(stderr, "%s: %s: %s\n", cmd, label, err);
            goto out;
        }
    }
    for (size_t i = 0; i < ngiven; i++) {
        if (jobspec_set_option(&j, given[i].name, given[i].val, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", cmd, err);
            goto out;
        }
    }
    if (!j.name[0] && script_path && strcmp(script_path, "-") != 0)
        (void)jobspec_set_option(&j, "job-name", base_name(script_path), err, sizeof err);
    if (!j.workdir[0]) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "%s: the current directory: %s (give --chdir)\n", cmd,
                    strerror(errno));
            goto out;
        }
        if (jobspec_set_option(&j, "chdir", cwd, err, sizeof err) != 0) {
            fprintf(stderr, "%s: the current directory: %s (give --chdir)\n", cmd, err);
            goto out;
        }
    }
    if (jobspec_finalize(&j, NULL, 0, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        goto out;
    }
    json = jobspec_to_json(&j);
    if (!json) {
        fprintf(stderr, "%s: cannot encode the job request (out of memory?)\n", cmd);
        rc = FLEET_EXIT_REFUSED;
        goto out;
    }
    fleet_resp r;
    json_t *o;
    rc = conn_call(&c, "POST", "/v1/jobs", json, &r, &o);
    resp_free(&r);
    if (rc == 0) {
        int64_t id = jint(o, "id"), arr = jint(o, "array_job_id");
        if (parsable)
            printf("%" PRId64 "\n", arr ? arr : id);
        else if (arr)
            printf("Submitted array job %" PRId64 " (%" PRId64 " tasks)\n", arr,
                   jint(o, "tasks"));
        else
            printf("Submitted job %" PRId64 "\n", id);
        json_decref(o);
    }
out:
    free(json);
    free(text);
    free(given);
    jobspec_free(&j);
    conn_close(&c);
    return rc;
}

/* ---- listings ----------------------------------------------------------- */

static int check_states(const char *cmd, const char *v, int finished_only)
{
    static const char *const all[] = {"pending",  "running", "completed", "failed", "cancelled",
                                      "timeout",  "node_fail", "preempted", "active", "finished"};
    for (const char *p = v; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int ok = 0;
        for (size_t i = finished_only ? 2 : 0; i < sizeof all / sizeof all[0]; i++)
            if (!(finished_only && strcmp(all[i], "active") == 0))
                ok |= strlen(all[i]) == n && strncmp(all[i], p, n) == 0;
        if (!ok) {
            fprintf(stderr, "%s: --state: unknown state \"%.*s\" (%s)\n", cmd, (int)n, p,
                    finished_only ? "completed, failed, cancelled, timeout, node_fail, preempted"
                                  : "pending, running, completed, failed, cancelled, timeout, "
                                    "node_fail, preempted, active, finished, all");
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* GPUs of a job for a listing: what it holds while running, else asks for. */
static void job_gpus(const jrow *j, char *buf, size_t len)
{
    int64_t alloc = row_int(j, "alloc_gpus"), g = row_int(j, "gpus");
    int64_t n = row_int(j, "nodes"), gpn = row_int(j, "gpus_per_node");
    if (alloc > 0)
        snprintf(buf, len, "%" PRId64, alloc);
    else if (g > 0)
        snprintf(buf, len, "%" PRId64, g);
    else if (n > 0 && gpn > 0)
        snprintf(buf, len, "%" PRId64, n * gpn);
    else
        snprintf(buf, len, "all"); /* whole nodes */
}

static int64_t count_nodes(const char *list)
{
    if (!*list)
        return 0;
    int64_t n = 1;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

static void job_nodes(const jrow *j, char *buf, size_t len)
{
    int64_t n = row_int(j, "nodes");
    const char *list = row_str(j, "nodelist");
    if (*list)
        snprintf(buf, len, "%" PRId64, count_nodes(list));
    else if (n > 0)
        snprintf(buf, len, "%" PRId64, n);
    else
        snprintf(buf, len, "-");
}

static int is_active(const char *st)
{
    return strcmp(st, "pending") == 0 || strcmp(st, "running") == 0;
}

typedef struct list_ctx {
    table t;
    int64_t now;
} list_ctx;

static void queue_row(const jrow *j, void *arg)
{
    list_ctx *x = arg;
    char id[32], gpus[32], nodes[32], tm[32], start[32], reason[80];
    const char *st = row_str(j, "state");
    snprintf(id, sizeof id, "%" PRId64, row_int(j, "id"));
    job_gpus(j, gpus, sizeof gpus);
    job_nodes(j, nodes, sizeof nodes);
    int64_t t0 = row_int(j, "start_time"), t1 = row_int(j, "end_time");
    if (strcmp(st, "running") == 0)
        fmt_dur(x->now - t0 > 0 ? x->now - t0 : 0, tm, sizeof tm);
    else if (strcmp(st, "pending") == 0)
        fmt_dur(row_int(j, "time_limit"), tm, sizeof tm);
    else
        fmt_dur(t0 > 0 && t1 >= t0 ? t1 - t0 : 0, tm, sizeof tm);
    const char *where = row_str(j, "nodelist");
    if (strcmp(st, "pending") == 0) {
        const char *rs = row_str(j, "reason");
        snprintf(reason, sizeof reason, "(%s)", *rs ? rs : "-");
        where = reason;
    }
    if (strcmp(st, "pending") == 0 && row_has(j, "est_start"))
        fmt_time(row_int(j, "est_start"), start, sizeof start);
    else
        snprintf(start, sizeof start, "-");
    const char *cells[] = {id,   row_str(j, "name"), row_str(j, "user"), row_str(j, "account"),
                           row_str(j, "pool"), st,   gpus,            nodes,
                           tm,   where,           start};
    table_row(&x->t, cells);
}

static void history_row(const jrow *j, void *arg)
{
    list_ctx *x = arg;
    char id[32], ex[32], gh[48], start[32], end[32];
    snprintf(id, sizeof id, "%" PRId64, row_int(j, "id"));
    if (row_has(j, "exit_code") && row_int(j, "exit_code") >= 0)
        snprintf(ex, sizeof ex, "%" PRId64, row_int(j, "exit_code"));
    else
        snprintf(ex, sizeof ex, "-");
    snprintf(gh, sizeof gh, "%.2f", (double)row_int(j, "gpu_seconds") / 3600.0);
    fmt_time(row_int(j, "start_time"), start, sizeof start);
    fmt_time(row_int(j, "end_time"), end, sizeof end);
    const char *cells[] = {id, row_str(j, "name"), row_str(j, "user"), row_str(j, "state"), ex, gh, start,
                           end};
    table_row(&x->t, cells);
}

/* ---- fleet queue --priority -------------------------------------------------- */

static const table_col prio_cols[] = {
    {"ID", 0, 1},       {"USER", 12, 0},     {"ACCOUNT", 14, 0}, {"QOS", 10, 0},
    {"PRIORITY", 0, 1}, {"AGE", 0, 1},       {"FAIRSHARE", 0, 1}, {"SIZE", 0, 1},
    {"QOS-F", 0, 1},    {"NICE", 0, 1},      {"REASON", 0, 0},
};

/* Orders jobs by priority, highest first, then by id (the queue's order for
 * jobs of one submit time). */
static int prio_cmp(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int64_t pa = jint(a, "priority"), pb = jint(b, "priority");
    if (pa != pb)
        return pa > pb ? -1 : 1;
    int64_t sa = jint(a, "submit_time"), sb = jint(b, "submit_time");
    if (sa != sb)
        return sa < sb ? -1 : 1;
    int64_t ia = jint(a, "id"), ib = jint(b, "id");
    return (ia > ib) - (ia < ib);
}

/* A factor in [0, 1] for the table, "-" without one. */
static void factor(const json_t *f, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(f, key);
    if (json_is_number(v))
        snprintf(buf, len, "%.4f", json_number_value(v));
    else
        snprintf(buf, len, "-");
}

/* The priority listing: a table in queue order, then the weights. */
static int print_priorities(const char *cmd, const fleet_resp *r)
{
    json_t *o = json_loadb(r->body, r->len, 0, NULL);
    json_t *jobs = json_object_get(o, "jobs");
    if (!json_is_array(jobs)) {
        fprintf(stderr, "%s: unexpected answer from fleetd: not a job listing\n", cmd);
        json_decref(o);
        return FLEET_EXIT_REFUSED;
    }
    size_t n = json_array_size(jobs);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        json_decref(o);
        return FLEET_EXIT_REFUSED;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(jobs, i);
    qsort(v, n, sizeof *v, prio_cmp);
    table t;
    table_init(&t, prio_cols, sizeof prio_cols / sizeof prio_cols[0], stdout);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_object_get(v[i], "factors");
        char id[32], prio[32], age[16], fs[16], size[16], qos[16], nice[32], reason[160];
        snprintf(id, sizeof id, "%" PRId64, jint(v[i], "id"));
        snprintf(prio, sizeof prio, "%" PRId64, jint(v[i], "priority"));
        factor(f, "age", age, sizeof age);
        factor(f, "fairshare", fs, sizeof fs);
        factor(f, "size", size, sizeof size);
        factor(f, "qos", qos, sizeof qos);
        if (json_is_object(f))
            snprintf(nice, sizeof nice, "%" PRId64, jint(f, "nice"));
        else
            snprintf(nice, sizeof nice, "-");
        const char *rs = jstr(v[i], "reason");
        snprintf(reason, sizeof reason, "%s", *rs ? rs : "-");
        const char *cells[] = {id,   jstr(v[i], "user"), jstr(v[i], "account"), jstr(v[i], "qos"),
                               prio, age,                fs,                    size,
                               qos,  nice,               reason};
        table_row(&t, cells);
    }
    table_end(&t);
    const json_t *w = json_object_get(o, "priority_weights");
    if (json_is_object(w))
        printf("\npriority = %" PRId64 " x age + %" PRId64 " x fairshare + %" PRId64
               " x size + %" PRId64 " x qos - nice\n",
               jint(w, "age"), jint(w, "fairshare"), jint(w, "size"), jint(w, "qos"));
    else
        printf("\n(no center policy: fleetd runs without --center)\n");
    free(v);
    json_decref(o);
    return 0;
}

static const table_col queue_cols[] = {
    {"ID", 0, 1},    {"NAME", 24, 0}, {"USER", 12, 0}, {"ACCOUNT", 14, 0},
    {"POOL", 12, 0}, {"STATE", 0, 0}, {"GPUS", 0, 1},  {"NODES", 0, 1},
    {"TIME", 0, 1},  {"REASON/NODELIST", 40, 0},       {"START", 0, 0},
};

static const table_col history_cols[] = {
    {"ID", 0, 1},      {"NAME", 24, 0},      {"USER", 12, 0}, {"STATE", 0, 0},
    {"EXIT", 0, 1},    {"GPU-HOURS", 0, 1},  {"START", 0, 0}, {"END", 0, 0},
};

static void list_usage(FILE *f, int history)
{
    if (history)
        fprintf(f, "usage: fleet history [--user U | --me] [--state S] [--account A] [--pool P]\n"
                   "                     [--limit N] [--json]\n"
                   "\nFinished jobs: ID NAME USER STATE EXIT GPU-HOURS START END.\n\n");
    else
        fprintf(f, "usage: fleet queue [--user U | --me] [--state S] [--account A] [--pool P]\n"
                   "                   [--limit N] [--priority] [--json]\n"
                   "\nJobs, active ones by default: ID NAME USER ACCOUNT POOL STATE GPUS NODES\n"
                   "TIME (elapsed when running, the limit when pending) REASON/NODELIST START\n"
                   "(estimated start of pending jobs).\n"
                   "With --priority: pending jobs (by default) in queue order, each with its\n"
                   "priority and the factors it is made of, each in [0, 1] (age, fair share,\n"
                   "size, QOS; fleetd --center), and the weights of the factors.\n\n");
    fprintf(f,
            "  -u, --user U[,U...]     jobs of these users\n"
            "      --me                my jobs\n"
            "  -t, --state S[,S...]    %s\n"
            "  -A, --account A[,A...]  jobs of these accounts\n"
            "  -p, --pool P[,P...]     jobs in these pools\n"
            "  -n, --limit N           at most N jobs\n"
            "%s"
            "      --json              fleetd's JSON, unchanged\n"
            "%s",
            history ? "" : "      --priority          priorities and their factors\n",
            history ? "completed, failed, cancelled, timeout, node_fail, preempted\n"
                      "                          (default: all of them)"
                    : "pending, running, completed, failed, cancelled, timeout,\n"
                      "                          node_fail, preempted, active (default), finished, all",
            fleet_conn_help);
}

static int list_jobs(int argc, char **argv, int history)
{
    const char *cmd = history ? "fleet history" : "fleet queue";
    enum { O_USER = 1, O_ME, O_STATE, O_ACCOUNT, O_POOL, O_LIMIT, O_JSON, O_PRIORITY };
    static const cli_opt opts[] = {
        {"user", 'u', 1, O_USER},   {"me", 0, 0, O_ME},       {"state", 't', 1, O_STATE},
        {"account", 'A', 1, O_ACCOUNT}, {"pool", 'p', 1, O_POOL}, {"partition", 0, 1, O_POOL},
        {"limit", 'n', 1, O_LIMIT}, {"json", 0, 0, O_JSON},   {"priority", 0, 0, O_PRIORITY},
        {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *user = NULL, *state = NULL, *account = NULL, *pool = NULL, *limit = NULL;
    int me = 0, json = 0, priority = 0;
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
        case OPT_ID_HELP: list_usage(stdout, history); return 0;
        case O_USER: user = val; break;
        case O_ME: me = 1; break;
        case O_STATE: state = val; break;
        case O_ACCOUNT: account = val; break;
        case O_POOL: pool = val; break;
        case O_LIMIT: limit = val; break;
        case O_JSON: json = 1; break;
        case O_PRIORITY:
            if (history) {
                fprintf(stderr, "%s: --priority: only for fleet queue\n", cmd);
                return FLEET_EXIT_USAGE;
            }
            priority = 1;
            break;
        }
    }
    int64_t lim;
    if (limit && parse_count(cmd, "--limit", limit, &lim) != 0)
        return FLEET_EXIT_USAGE;
    if (state && strcmp(state, "all") == 0)
        state = history ? "finished" : NULL;
    else if (state && check_states(cmd, state, history) != 0)
        return FLEET_EXIT_USAGE;
    else if (!state)
        state = history ? "finished" : priority ? "pending" : "active";
    int rc;
    char *whoami = NULL;
    if (me && (rc = conn_whoami(&c, &whoami)) != 0) {
        conn_close(&c);
        return rc;
    }
    sbuf path = {0};
    sb_add(&path, "/v1/jobs");
    add_query(&path, "state", state);
    add_query(&path, "user", me ? whoami : user);
    add_query(&path, "account", account);
    add_query(&path, "pool", pool);
    add_query(&path, "limit", limit);
    if (priority)
        add_query(&path, "priority", "1");
    free(whoami);
    fleet_resp r;
    rc = conn_call(&c, "GET", path.s, NULL, &r, NULL);
    free(path.s);
    if (rc == 0 && priority && !json) {
        rc = print_priorities(cmd, &r);
    } else if (rc == 0 && json) {
        print_body(&r);
    } else if (rc == 0) {
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        list_ctx x;
        x.now = (int64_t)time(NULL);
        if (history)
            table_init(&x.t, history_cols, sizeof history_cols / sizeof history_cols[0], stdout);
        else
            table_init(&x.t, queue_cols, sizeof queue_cols / sizeof queue_cols[0], stdout);
        long n = json_each(r.body, r.len, "jobs", history ? history_row : queue_row, &x);
        table_end(&x.t);
        fflush(stdout);
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (n < 0) {
            fprintf(stderr, "%s: unexpected answer from fleetd: not a job listing\n", cmd);
            rc = FLEET_EXIT_REFUSED;
        }
    }
    resp_free(&r);
    conn_close(&c);
    return rc;
}

int cmd_queue(int argc, char **argv) { return list_jobs(argc, argv, 0); }
int cmd_history(int argc, char **argv) { return list_jobs(argc, argv, 1); }

/* ---- show --------------------------------------------------------------- */

static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *key, const char *fmt, ...)
{
    printf("%s:%*s", key, (int)(16 - strlen(key)), "");
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static void show_request(const json_t *req)
{
    /* the fields the job summary above does not already show */
    static const char *const skip[] = {"name", "account", "qos", "pool", "gpus", "nodes",
                                       "gpus_per_node", "time_limit", "hold", "script", "env",
                                       "wrap", NULL};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        int skipped = 0;
        for (size_t i = 0; skip[i]; i++)
            skipped |= strcmp(key, skip[i]) == 0;
        if (skipped)
            continue;
        if (json_is_string(v))
            kv(key, "%s", json_string_value(v));
        else if (json_is_integer(v))
            kv(key, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_boolean(v))
            kv(key, "%s", json_is_true(v) ? "yes" : "no");
    }
    json_t *env = json_object_get(req, "env");
    if (json_is_object(env))
        kv("env", "%zu variables", json_object_size(env));
    if (json_is_string(json_object_get(req, "wrap")))
        kv("wrap", "%s", jstr(req, "wrap"));
    const char *script = json_string_value(json_object_get(req, "script"));
    if (script) {
        printf("script:\n%s", script);
        size_t n = strlen(script);
        if (n == 0 || script[n - 1] != '\n')
            putchar('\n');
    }
}

static void show_job(const json_t *j)
{
    char a[64], b[64];
    const char *st = jstr(j, "state");
    kv("id", "%" PRId64, jint(j, "id"));
    kv("name", "%s", or_dash(jstr(j, "name")));
    kv("user", "%s (uid %" PRId64 ")", jstr(j, "user"), jint(j, "uid"));
    kv("account", "%s", or_dash(jstr(j, "account")));
    kv("qos", "%s", or_dash(jstr(j, "qos")));
    kv("pool", "%s", *jstr(j, "pool") ? jstr(j, "pool") : "(any)");
    kv("state", "%s", st);
    if (strcmp(st, "pending") == 0)
        kv("reason", "%s", or_dash(jstr(j, "reason")));
    kv("held", "%s", jint(j, "held") ? "yes" : "no");
    if (jhas(j, "array_job_id"))
        kv("array", "task %" PRId64 " of array job %" PRId64, jint(j, "array_task_id"),
           jint(j, "array_job_id"));
    int64_t g = jint(j, "gpus"), n = jint(j, "nodes"), gpn = jint(j, "gpus_per_node");
    if (n > 0 && gpn > 0)
        kv("gpus", "%" PRId64 " (%" PRId64 " nodes x %" PRId64 ")", n * gpn, n, gpn);
    else if (n > 0)
        kv("gpus", "all of %" PRId64 " whole node%s", n, n == 1 ? "" : "s");
    else
        kv("gpus", "%" PRId64, g);
    if (jint(j, "alloc_gpus") > 0)
        kv("alloc_gpus", "%" PRId64, jint(j, "alloc_gpus"));
    fmt_dur(jint(j, "time_limit"), a, sizeof a);
    kv("time_limit", "%s", a);
    fmt_time(jint(j, "submit_time"), a, sizeof a);
    kv("submit_time", "%s", a);
    if (strcmp(st, "pending") == 0) {
        if (jhas(j, "est_start"))
            fmt_time(jint(j, "est_start"), a, sizeof a);
        else
            snprintf(a, sizeof a, "-");
        kv("est_start", "%s", a);
    }
    int64_t t0 = jint(j, "start_time"), t1 = jint(j, "end_time");
    fmt_time(t0, a, sizeof a);
    kv("start_time", "%s", a);
    fmt_time(t1, a, sizeof a);
    kv("end_time", "%s", a);
    if (t0 > 0) {
        int64_t end = is_active(st) ? (int64_t)time(NULL) : t1;
        fmt_dur(end >= t0 ? end - t0 : 0, b, sizeof b);
        kv("elapsed", "%s", b);
    }
    kv("nodelist", "%s", or_dash(jstr(j, "nodelist")));
    if (jhas(j, "exit_code") && jint(j, "exit_code") >= 0)
        kv("exit_code", "%" PRId64, jint(j, "exit_code"));
    else
        kv("exit_code", "-");
    kv("gpu_hours", "%.2f", (double)jint(j, "gpu_seconds") / 3600.0);
    kv("restarts", "%" PRId64, jint(j, "restarts"));
    json_t *req = json_object_get(j, "request");
    if (json_is_object(req))
        show_request(req);
}

int cmd_show(int argc, char **argv)
{
    const char *cmd = "fleet show";
    enum { O_JSON = 1 };
    static const cli_opt opts[] = {{"json", 0, 0, O_JSON}, {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *ids = NULL;
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
            if (ids) {
                fprintf(stderr, "%s: one job id only (got %s and %s)\n", cmd, ids, val);
                return FLEET_EXIT_USAGE;
            }
            ids = val;
        } else if (id == OPT_ID_HELP) {
            printf("usage: fleet show ID [--json]\n\nOne job, as key: value lines (and its "
                   "script, to its owner and operators).\n\n"
                   "      --json              fleetd's JSON, unchanged\n%s",
                   fleet_conn_help);
            return 0;
        } else if (id == O_JSON) {
            json = 1;
        }
    }
    int64_t jid;
    if (!ids) {
        fprintf(stderr, "%s: a job id is required (usage: fleet show ID [--json])\n", cmd);
        return FLEET_EXIT_USAGE;
    }
    if (parse_job_id(cmd, ids, &jid) != 0)
        return FLEET_EXIT_USAGE;
    char path[64];
    snprintf(path, sizeof path, "/v1/jobs/%" PRId64, jid);
    fleet_resp r;
    json_t *o = NULL;
    int rc = conn_call(&c, "GET", path, NULL, &r, json ? NULL : &o);
    if (rc == 0 && json)
        print_body(&r);
    else if (rc == 0)
        show_job(o);
    json_decref(o);
    resp_free(&r);
    conn_close(&c);
    return rc;
}

/* ---- cancel ------------------------------------------------------------- */

static void cancel_usage(FILE *f)
{
    fprintf(f,
            "usage: fleet cancel ID...\n"
            "       fleet cancel --user U [--state S]\n"
            "       fleet cancel --me [--state S]\n"
            "\nCancels jobs, in one request. Exit status 1 if any job was not found or is\n"
            "not yours.\n\n"
            "  -u, --user U            every active job of user U\n"
            "      --me                every active job of mine\n"
            "  -t, --state S           with --user/--me: only jobs in state S (pending,\n"
            "                          running, active)\n"
            "%s",
            fleet_conn_help);
}

static const char *plural(int64_t n)
{
    return n == 1 ? "" : "s";
}

int cmd_cancel(int argc, char **argv)
{
    const char *cmd = "fleet cancel";
    enum { O_USER = 1, O_ME, O_STATE };
    static const cli_opt opts[] = {{"user", 'u', 1, O_USER},
                                   {"me", 0, 0, O_ME},
                                   {"state", 't', 1, O_STATE},
                                   {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *user = NULL, *state = NULL;
    int me = 0, rc = FLEET_EXIT_USAGE;
    json_t *ids = json_array(), *body = NULL;
    size_t nids = 0;
    int64_t one = 0;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            goto out;
        if (k == OPT_OPERAND) {
            int64_t jid;
            if (parse_job_id(cmd, val, &jid) != 0)
                goto out;
            json_array_append_new(ids, json_integer((json_int_t)jid));
            nids++;
            one = jid;
            continue;
        }
        switch (id) {
        case OPT_ID_HELP: cancel_usage(stdout); rc = 0; goto out;
        case O_USER: user = val; break;
        case O_ME: me = 1; break;
        case O_STATE: state = val; break;
        }
    }
    if (!nids && !user && !me) {
        fprintf(stderr, "%s: give job ids, --user U or --me\n", cmd);
        goto out;
    }
    if (nids && (user || me)) {
        fprintf(stderr, "%s: give job ids or --user/--me, not both\n", cmd);
        goto out;
    }
    if (state && nids) {
        fprintf(stderr, "%s: --state: only with --user or --me\n", cmd);
        goto out;
    }
    if (state && strcmp(state, "pending") && strcmp(state, "running") &&
        strcmp(state, "active") && strcmp(state, "pending,running") &&
        strcmp(state, "running,pending")) {
        fprintf(stderr, "%s: --state: pending, running or active, got \"%s\"\n", cmd, state);
        goto out;
    }
    char *whoami = NULL;
    if (me && (rc = conn_whoami(&c, &whoami)) != 0)
        goto out;
    if (nids) {
        body = json_pack("{sO}", "ids", ids);
    } else {
        body = json_pack("{ss}", "user", me ? whoami : user);
        if (body && state)
            json_object_set_new(body, "state", json_string(state));
    }
    free(whoami);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        rc = FLEET_EXIT_REFUSED;
        goto out;
    }
    fleet_resp r;
    rc = conn_request(&c, "POST", "/v1/jobs/cancel", text, &r);
    free(text);
    if (rc) {
        resp_free(&r);
        goto out;
    }
    json_t *o = json_loadb(r.body, r.len, 0, NULL);
    if (!o || !json_object_get(o, "cancelled")) {
        rc = r.status >= 400 ? conn_report_error(&c, &r) : FLEET_EXIT_REFUSED;
        if (r.status < 400)
            fprintf(stderr, "%s: unexpected answer from fleetd (HTTP %ld)\n", cmd, r.status);
        json_decref(o);
        resp_free(&r);
        goto out;
    }
    resp_free(&r);
    int64_t done = jint(o, "cancelled"), denied = jint(o, "denied");
    int64_t missing = jint(o, "not_found"), ended = jint(o, "already_ended");
    json_decref(o);
    if (nids == 1 && missing)
        fprintf(stderr, "%s: no job %" PRId64 "\n", cmd, one);
    else if (nids == 1 && denied)
        fprintf(stderr, "%s: job %" PRId64 " is not yours\n", cmd, one);
    else if (nids == 1 && ended)
        printf("Job %" PRId64 " had already ended\n", one);
    else if (nids == 1)
        printf("Cancelled job %" PRId64 "\n", one);
    else {
        printf("Cancelled %" PRId64 " job%s", done, plural(done));
        if (ended)
            printf(" (%" PRId64 " had already ended)", ended);
        putchar('\n');
        if (missing)
            fprintf(stderr, "%s: %" PRId64 " job%s not found\n", cmd, missing, plural(missing));
        if (denied)
            fprintf(stderr, "%s: %" PRId64 " job%s not yours (not cancelled)\n", cmd, denied,
                    plural(denied));
    }
    rc = denied || missing ? FLEET_EXIT_REFUSED : 0;
out:
    json_decref(body);
    json_decref(ids);
    conn_close(&c);
    return rc;
}

/* ---- hold, release, requeue --------------------------------------------- */

static int job_action(int argc, char **argv, const char *action, const char *done)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "fleet %s", action);
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    int64_t *ids = calloc((size_t)argc + 1, sizeof *ids);
    size_t n = 0;
    if (!ids)
        return FLEET_EXIT_REFUSED;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, NULL, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR || (k == OPT_OPERAND && parse_job_id(cmd, val, &ids[n]) != 0)) {
            free(ids);
            return FLEET_EXIT_USAGE;
        }
        if (k == OPT_OPERAND) {
            n++;
        } else if (id == OPT_ID_HELP) {
            printf("usage: fleet %s ID...\n%s", action, fleet_conn_help);
            free(ids);
            return 0;
        }
    }
    if (n == 0) {
        fprintf(stderr, "%s: a job id is required (usage: fleet %s ID...)\n", cmd, action);
        free(ids);
        return FLEET_EXIT_USAGE;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/jobs/%" PRId64 "/%s", ids[i], action);
        fleet_resp r;
        int k = conn_call(&c, "POST", path, NULL, &r, NULL);
        resp_free(&r);
        if (k == FLEET_EXIT_UNREACHABLE) {
            rc = k;
            break;
        }
        if (k)
            rc = k;
        else
            printf("Job %" PRId64 " %s\n", ids[i], done);
    }
    free(ids);
    conn_close(&c);
    return rc;
}

int cmd_hold(int argc, char **argv) { return job_action(argc, argv, "hold", "held"); }
int cmd_release(int argc, char **argv) { return job_action(argc, argv, "release", "released"); }
int cmd_requeue(int argc, char **argv) { return job_action(argc, argv, "requeue", "requeued"); }
