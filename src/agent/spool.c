/* spool.c: the agent's records on disk; see spool.h for the layout. */
#include "spool.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RECORD_MAX (1u << 20)
#define LAUNCH_MAX (PROTO_MAX_BODY)

static const char *const reason_names[] = {"exited", "timeout", "killed", "launch_failed",
                                              "preempted"};

const char *spool_reason_name(int reason)
{
    if (reason < 0 || reason > PROTO_END_PREEMPTED)
        return "unknown";
    return reason_names[reason];
}

int spool_reason_parse(const char *s)
{
    for (int i = 0; i <= PROTO_END_PREEMPTED; i++)
        if (strcmp(s, reason_names[i]) == 0)
            return i;
    return -1;
}

/* A decimal number of at most 19 digits ending at *end; -1 otherwise. */
static int parse_dec(const char *s, size_t n, int64_t *v)
{
    if (n == 0 || n > 18)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int spool_parse_name(const char *name, int64_t *job, int32_t *run, int *tomb)
{
    const char *dot = strchr(name, '.');
    if (!dot)
        return -1;
    int64_t j, r;
    if (parse_dec(name, (size_t)(dot - name), &j) != 0 || j <= 0)
        return -1;
    const char *rs = dot + 1, *re = strchr(rs, '.');
    size_t rl = re ? (size_t)(re - rs) : strlen(rs);
    if (parse_dec(rs, rl, &r) != 0 || r > INT32_MAX)
        return -1;
    if (re && strcmp(re, ".done") != 0)
        return -1;
    *job = j;
    *run = (int32_t)r;
    *tomb = re != NULL;
    return 0;
}

static void errset(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
}

void spool_cgroup_name(const char *dir, const char *node, int64_t job, int32_t run, char *out,
                       size_t outlen)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)dir; *c; c++)
        h = (h ^ *c) * 16777619u;
    snprintf(out, outlen, "%s_%" PRId64 ".%" PRId32 "-%08" PRIx32, node, job, run, h);
}

/* ---- launch.json -------------------------------------------------------- */

int spool_launch_write(const char *dir, const proto_launch *l)
{
    proto_node_cmds nc = {.name = "spool", .nlaunch = 1, .launch = (proto_launch *)l};
    proto_reply r = {.seq = 1, .heartbeat_ms = 1000, .nnodes = 1, .nodes = &nc};
    size_t len;
    char *text = proto_reply_encode(&r, &len);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/launch.json", dir);
    int rc = file_write_atomic(path, text, len, 0600, 0);
    free(text);
    return rc;
}

int spool_launch_parse(const char *text, size_t len, proto_launch *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    proto_reply r;
    char why[256];
    int rc = proto_reply_decode(text, len, &r, why, sizeof why);
    if (rc != 0 || r.nnodes != 1 || r.nodes[0].nlaunch != 1) {
        if (err && errlen)
            snprintf(err, errlen, "%s", rc ? why : "not one launch");
        if (rc == 0)
            proto_reply_free(&r);
        errno = EINVAL;
        return -1;
    }
    *l = r.nodes[0].launch[0];
    /* the strings now belong to *l: leave an empty launch behind to free */
    memset(&r.nodes[0].launch[0], 0, sizeof r.nodes[0].launch[0]);
    proto_reply_free(&r);
    return 0;
}

int spool_launch_read(const char *dir, proto_launch *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    char path[4096], why[256];
    snprintf(path, sizeof path, "%s/launch.json", dir);
    size_t len;
    char *text = file_read(path, LAUNCH_MAX, &len);
    if (!text) {
        errset(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = spool_launch_parse(text, len, l, why, sizeof why);
    free(text);
    if (rc != 0) {
        errset(err, errlen, "%s: %s", path, why);
        errno = EINVAL;
    }
    return rc;
}

/* ---- shepherd.json ------------------------------------------------------ */

char *spool_node_json(const spool_node *n)
{
    json_t *o = json_object(), *m = json_array();
    for (int32_t i = 0; i < n->ngpu && i < PROTO_MAX_GPUS; i++)
        json_array_append_new(m, json_integer(n->gpu_minor[i]));
    json_object_set_new(o, "node", json_string(n->node));
    json_object_set_new(o, "cgroup", json_string(n->cgroup));
    json_object_set_new(o, "cgroup_root", json_string(n->cgroup_root));
    json_object_set_new(o, "allow_root", json_boolean(n->allow_root));
    json_object_set_new(o, "device_limits", json_boolean(n->device_limits));
    json_object_set_new(o, "gpu_minor", m);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        errno = ENOMEM;
    return text;
}

int spool_node_write(const char *dir, const spool_node *n)
{
    char *text = spool_node_json(n);
    if (!text)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/shepherd.json", dir);
    int rc = file_write_atomic(path, text, strlen(text), 0600, 0);
    free(text);
    return rc;
}

static int get_str(json_t *o, const char *k, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || strlen(s) >= cap)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int spool_node_parse(const char *text, spool_node *n)
{
    memset(n, 0, sizeof *n);
    json_t *o = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
    json_t *m = o ? json_object_get(o, "gpu_minor") : NULL;
    if (!o || get_str(o, "node", n->node, sizeof n->node) ||
        get_str(o, "cgroup", n->cgroup, sizeof n->cgroup) ||
        get_str(o, "cgroup_root", n->cgroup_root, sizeof n->cgroup_root) ||
        !json_is_boolean(json_object_get(o, "allow_root")) ||
        !json_is_boolean(json_object_get(o, "device_limits")) || !json_is_array(m) ||
        json_array_size(m) > PROTO_MAX_GPUS) {
        json_decref(o);
        errno = EINVAL;
        return -1;
    }
    n->allow_root = json_is_true(json_object_get(o, "allow_root"));
    n->device_limits = json_is_true(json_object_get(o, "device_limits"));
    n->ngpu = (int32_t)json_array_size(m);
    for (int32_t i = 0; i < n->ngpu; i++)
        n->gpu_minor[i] = (int32_t)json_integer_value(json_array_get(m, (size_t)i));
    json_decref(o);
    return 0;
}

int spool_node_read(const char *dir, spool_node *n, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    char path[4096];
    snprintf(path, sizeof path, "%s/shepherd.json", dir);
    char *text = file_read(path, RECORD_MAX, NULL);
    if (!text) {
        errset(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = spool_node_parse(text, n);
    free(text);
    if (rc != 0)
        errset(err, errlen, "%s: %s", path, "malformed");
    return rc;
}

/* ---- status.json -------------------------------------------------------- */

static json_t *end_json(const proto_ended *e, const char *message)
{
    return json_pack("{sI sI sI sI ss sI sI ss}", "job", (json_int_t)e->job, "run",
                     (json_int_t)e->run, "exit_code", (json_int_t)e->exit_code, "signal",
                     (json_int_t)e->signal, "reason", spool_reason_name(e->reason), "start",
                     (json_int_t)e->start, "end", (json_int_t)e->end, "message", message);
}

int spool_end_write(const char *dir, const proto_ended *e)
{
    json_t *o = end_json(e, e->message);
    if (!o) {
        /* only a message that is not UTF-8 fails: keep its ASCII bytes */
        char ascii[sizeof e->message];
        size_t k = 0;
        for (size_t i = 0; e->message[i] && k + 1 < sizeof ascii; i++)
            if ((unsigned char)e->message[i] < 0x80)
                ascii[k++] = e->message[i];
        ascii[k] = '\0';
        o = end_json(e, ascii);
        if (!o) {
            errno = ENOMEM;
            return -1;
        }
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n++] = '\n';
    char path[4096];
    snprintf(path, sizeof path, "%s/status.json", dir);
    int rc = file_write_atomic(path, text, n, 0644, 1);
    free(text);
    return rc;
}

static int get_int(json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi)
        return -1;
    *v = json_integer_value(x);
    return 0;
}

int spool_end_read(const char *dir, proto_ended *e)
{
    memset(e, 0, sizeof *e);
    char path[4096];
    snprintf(path, sizeof path, "%s/status.json", dir);
    char *text = file_read(path, RECORD_MAX, NULL);
    if (!text)
        return -1;
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    int64_t job, run, code, sig, start, end;
    const char *reason = o ? json_string_value(json_object_get(o, "reason")) : NULL;
    const char *msg = o ? json_string_value(json_object_get(o, "message")) : NULL;
    int r = reason ? spool_reason_parse(reason) : -1;
    if (!o || get_int(o, "job", 1, INT64_MAX, &job) || get_int(o, "run", 0, INT32_MAX, &run) ||
        get_int(o, "exit_code", INT32_MIN, INT32_MAX, &code) ||
        get_int(o, "signal", 0, 128, &sig) || get_int(o, "start", 0, INT64_MAX, &start) ||
        get_int(o, "end", 0, INT64_MAX, &end) || r < 0 || !msg) {
        json_decref(o);
        errno = EINVAL;
        return -1;
    }
    e->job = job;
    e->run = (int32_t)run;
    e->exit_code = (int32_t)code;
    e->signal = (int32_t)sig;
    e->reason = r;
    e->start = start;
    e->end = end;
    snprintf(e->message, sizeof e->message, "%s", msg);
    json_decref(o);
    return 0;
}

/* ---- pid files, nonce --------------------------------------------------- */

int spool_pid_write(const char *path, pid_t pid, uint64_t start)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%d %" PRIu64 "\n", (int)pid, start);
    return file_write_atomic(path, buf, (size_t)n, 0644, 0);
}

int spool_pid_read(const char *path, pid_t *pid, uint64_t *start)
{
    char *s = file_read(path, 256, NULL);
    if (!s)
        return -1;
    int p;
    unsigned long long st;
    int ok = sscanf(s, "%d %llu", &p, &st) == 2 && p > 0;
    free(s);
    if (!ok) {
        errno = EINVAL;
        return -1;
    }
    *pid = p;
    *start = st;
    return 0;
}

int spool_nonce_load(const char *path, uint64_t *hwm)
{
    char *s = file_read(path, 256, NULL);
    if (!s) {
        if (errno == ENOENT) {
            *hwm = 0;
            return 0;
        }
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int ok = errno == 0 && end != s && (*end == '\n' || *end == '\0');
    free(s);
    if (!ok) {
        errno = EINVAL;
        return -1;
    }
    *hwm = v;
    return 0;
}

int spool_nonce_save(const char *path, uint64_t hwm)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", hwm);
    return file_write_atomic(path, buf, (size_t)n, 0600, 1);
}
