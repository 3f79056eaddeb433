/*
 * fleet run: start a command on every node of the running job (a step),
 * as torchrun and NCCL expect, and stream its output.
 *
 *   fleet run [--per-gpu] [--job ID] [--label] [--export K=V]... -- CMD [ARG...]
 *
 * Inside a job FLEET_JOB_ID names the job and FLEET_SOCKET/FLEET_URL the
 * controller (the agent sets them). Each rank gets RANK, LOCAL_RANK,
 * WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT and its GPUs in
 * CUDA_VISIBLE_DEVICES. The output of every rank is written here as it
 * comes, line by line (stdout to stdout, stderr to stderr; --label prefixes
 * each line with its rank). The first rank to fail ends the step: the others are killed
 * and fleet run exits with that rank's exit code; 0 when every rank exits 0.
 * Ctrl-C kills the step's ranks (a second Ctrl-C leaves at once).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client.h"

static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    if (g_interrupted)
        _exit(130);
    g_interrupted = 1;
}

/* Output of one rank on one stream: chunks may end mid-line (pipes are
 * read as they fill), so whole lines are written and the tail waits for
 * the next chunk, lest the ranks' lines interleave mid-line. A tail longer
 * than 64 KiB (a line without end) is written as it is. */
typedef struct linebuf {
    char *buf;
    size_t len, cap;
} linebuf;

static void put_line(FILE *f, int label, int rank, const char *p, size_t n)
{
    if (label)
        fprintf(f, "%d: ", rank);
    fwrite(p, 1, n, f);
}

static void emit(FILE *f, int label, int rank, const char *data, size_t len, linebuf *lb)
{
    if (lb->len + len > lb->cap) {
        size_t cap = lb->cap ? lb->cap : 4096;
        while (cap < lb->len + len)
            cap *= 2;
        lb->buf = realloc(lb->buf, cap);
        if (!lb->buf)
            abort();
        lb->cap = cap;
    }
    memcpy(lb->buf + lb->len, data, len);
    lb->len += len;
    size_t start = 0;
    for (size_t i = 0; i < lb->len; i++)
        if (lb->buf[i] == '\n') {
            put_line(f, label, rank, lb->buf + start, i + 1 - start);
            start = i + 1;
        }
    if (lb->len - start > 65536) {
        put_line(f, label, rank, lb->buf + start, lb->len - start);
        start = lb->len;
    }
    memmove(lb->buf, lb->buf + start, lb->len - start);
    lb->len -= start;
}

/* At the end: what is left of each line, with a newline. */
static void flush_tail(FILE *f, int label, int rank, linebuf *lb)
{
    if (lb->len) {
        put_line(f, label, rank, lb->buf, lb->len);
        fputc('\n', f);
    }
    free(lb->buf);
    lb->buf = NULL;
    lb->len = lb->cap = 0;
}

int cmd_run(int argc, char **argv)
{
    const char *cmd = "fleet run";
    enum { O_PER_GPU = 1, O_JOB, O_LABEL, O_EXPORT };
    static const cli_opt opts[] = {{"per-gpu", 0, 0, O_PER_GPU},
                                   {"job", 'j', 1, O_JOB},
                                   {"label", 'l', 0, O_LABEL},
                                   {"export", 'x', 1, O_EXPORT},
                                   {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *job = getenv("FLEET_JOB_ID");
    int per_gpu = 0, label = 0;
    json_t *req = json_object(), *av = json_array(), *env = json_array();
    int rc = FLEET_EXIT_USAGE;
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            goto out;
        if (k == OPT_OPERAND) {
            json_array_append_new(av, json_string(val));
            continue;
        }
        switch (id) {
        case OPT_ID_HELP:
            printf("usage: fleet run [--per-gpu] [--job ID] [--label] [--export K=V]... -- CMD "
                   "[ARG...]\n\n"
                   "Runs CMD on every node of a running job (one rank per node, or per GPU\n"
                   "with --per-gpu), with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,\n"
                   "MASTER_ADDR, MASTER_PORT and CUDA_VISIBLE_DEVICES set, and streams the\n"
                   "ranks' output. Exits with the first failing rank's exit code (the other\n"
                   "ranks are then killed), 0 when all succeed.\n\n"
                   "      --per-gpu        one rank per allocated GPU\n"
                   "  -j, --job ID         the job (default: FLEET_JOB_ID, set inside jobs)\n"
                   "  -l, --label          prefix each output line with its rank\n"
                   "  -x, --export K=V     add a variable to the ranks' environment\n%s",
                   fleet_conn_help);
            rc = 0;
            goto out;
        case O_PER_GPU: per_gpu = 1; break;
        case O_JOB: job = val; break;
        case O_LABEL: label = 1; break;
        case O_EXPORT:
            if (!strchr(val, '=') || val[0] == '=') {
                fprintf(stderr, "%s: --export: KEY=VALUE, got \"%s\"\n", cmd, val);
                goto out;
            }
            json_array_append_new(env, json_string(val));
            break;
        }
    }
    if (json_array_size(av) == 0) {
        fprintf(stderr, "%s: a command to run is required (fleet run -- CMD ...)\n", cmd);
        goto out;
    }
    char *end = NULL;
    long long jid = job ? strtoll(job, &end, 10) : 0;
    if (!job || !*job || *end || jid <= 0) {
        fprintf(stderr, "%s: --job: %s\n", cmd,
                job ? "not a job id" : "no job given and FLEET_JOB_ID is not set (run it "
                                       "inside a job, or give --job ID)");
        goto out;
    }
    json_object_set_new(req, "argv", av);
    av = NULL;
    json_object_set_new(req, "per_gpu", json_boolean(per_gpu));
    if (json_array_size(env))
        json_object_set(req, "env", env);
    char *body = json_dumps(req, JSON_COMPACT);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%lld/steps", jid);
    fleet_resp r;
    json_t *o = NULL;
    rc = conn_call(&c, "POST", path, body, &r, &o);
    free(body);
    resp_free(&r);
    if (rc != 0)
        goto out;
    int64_t step = json_integer_value(json_object_get(o, "step"));
    int64_t world = json_integer_value(json_object_get(o, "world_size"));
    json_decref(o);
    if (getenv("FLEET_RUN_VERBOSE"))
        fprintf(stderr, "%s: job %lld step %" PRId64 ": %" PRId64 " ranks\n", cmd, jid, step,
                world);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    linebuf *lbs = calloc((size_t)(world > 0 ? world : 1) * 2, sizeof *lbs);
    if (!lbs)
        abort();
    int64_t after = 0;
    int killed = 0;
    for (;;) {
        if (g_interrupted && !killed) {
            snprintf(path, sizeof path, "/v1/jobs/%lld/steps/%" PRId64, jid, step);
            conn_call(&c, "DELETE", path, NULL, &r, NULL);
            resp_free(&r);
            killed = 1;
        }
        snprintf(path, sizeof path, "/v1/jobs/%lld/steps/%" PRId64 "?after=%" PRId64 "&wait_ms=1000",
                 jid, step, after);
        rc = conn_call(&c, "GET", path, NULL, &r, &o);
        resp_free(&r);
        if (rc != 0)
            break;
        int64_t missed = json_integer_value(json_object_get(o, "missed"));
        if (missed > 0)
            fprintf(stderr, "%s: %" PRId64 " bytes of output were lost (reader too slow)\n", cmd,
                    missed);
        json_t *chunks = json_object_get(o, "chunks"), *ch;
        size_t i;
        json_array_foreach(chunks, i, ch) {
            int rank = (int)json_integer_value(json_object_get(ch, "rank"));
            json_t *d = json_object_get(ch, "data");
            int err = strcmp(json_string_value(json_object_get(ch, "stream")), "stderr") == 0;
            if (rank < 0 || rank >= world || !json_is_string(d))
                continue;
            emit(err ? stderr : stdout, label, rank, json_string_value(d), json_string_length(d),
                 &lbs[rank * 2 + err]);
        }
        fflush(stdout);
        after = json_integer_value(json_object_get(o, "next"));
        if (json_is_true(json_object_get(o, "done"))) {
            int failed = json_is_true(json_object_get(o, "failed"));
            int lost = json_is_true(json_object_get(o, "lost"));
            int ec = (int)json_integer_value(json_object_get(o, "exit_code"));
            if (lost)
                fprintf(stderr, "%s: the job ended before the step did\n", cmd);
            rc = failed || lost ? (ec > 0 && ec < 256 ? ec : 1) : 0;
            json_decref(o);
            break;
        }
        json_decref(o);
    }
    for (int64_t i = 0; i < world; i++) {
        flush_tail(stdout, label, (int)i, &lbs[i * 2]);
        flush_tail(stderr, label, (int)i, &lbs[i * 2 + 1]);
    }
    fflush(stdout);
    free(lbs);
out:
    json_decref(req);
    json_decref(av);
    json_decref(env);
    conn_close(&c);
    return rc;
}
