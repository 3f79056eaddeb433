/*
 * libproto: the messages as JSON (see proto.h for the contract and
 * docs/agent-protocol.md for the wire format).
 *
 * Keys are the C field names. Arrays are written only when non-empty, strings
 * only when non-empty (but the names, always written), integers always: a
 * reader takes an absent array as empty and an absent string as "", and
 * requires every integer. GPU masks are arrays of indices ("gpus":[0,1,5]).
 * Unknown keys are ignored, so that a later version may add fields that an
 * older peer skips; a change of meaning takes a new "version" instead.
 *
 * Encoding writes text directly (no DOM): an emulator's sync carries
 * thousands of nodes every few seconds. Every string is made valid UTF-8 on
 * the way out (jansson, the reader, refuses anything else): each maximal
 * invalid subsequence becomes U+FFFD, as Unicode recommends. A fixed-size
 * field (char[N]) whose replacement would no longer fit N-1 bytes is cut at a
 * character boundary, so that whatever fits the struct also fits the peer's.
 *
 * Decoding parses with jansson (duplicate keys refused, NUL allowed only in
 * output data) and then checks every field against its type and bound before
 * the caller sees anything. Errors name the field by its full path,
 * "nodes[2].running[0].job: not an integer"; the path is kept as a stack of
 * keys and indices and only rendered when something fails.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Bounds of the lists (proto.h bounds nodes and GPUs). Each is far above any
 * real use and low enough that a hostile count cannot exhaust memory beyond
 * what PROTO_MAX_BODY already allows. */
#define LIST_MAX 100000     /* running, ended, output, rank_ends, ack, launch, kill,
                               steps, step_kills, ranks */
#define ENV_MAX 4096        /* env entries of a launch or a step (JOBSPEC_ENV_MAX) */
#define ARGV_MAX 4096       /* argv entries of a step */
#define WAIT_MS_MAX 600000  /* 10 minutes */
#define HEARTBEAT_MS_MAX 3600000

/* ==== writing ============================================================ */

typedef struct wbuf {
    char *p;
    size_t len, cap;
    int oom; /* an allocation failed: everything after is dropped */
} wbuf;

/* Room for n more bytes and the NUL; 0 or -1 (and w->oom). */
static int room(wbuf *w, size_t n)
{
    if (w->oom)
        return -1;
    if (w->len + n + 1 <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n + 1) {
        if (cap > SIZE_MAX / 2) {
            w->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(w->p, cap);
    if (!p) {
        w->oom = 1;
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

static void put(wbuf *w, const char *s, size_t n)
{
    if (room(w, n) != 0)
        return;
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void putch(wbuf *w, char c)
{
    if (room(w, 1) != 0)
        return;
    w->p[w->len++] = c;
}

/* A comma before a key or an array element, unless it is the first of its
 * object or array. */
static void sep(wbuf *w)
{
    if (w->len > 0 && !w->oom) {
        char last = w->p[w->len - 1];
        if (last != '{' && last != '[' && last != ':')
            putch(w, ',');
    }
}

/* "key": (keys are this file's literals, never in need of escapes) */
static void key(wbuf *w, const char *k)
{
    sep(w);
    putch(w, '"');
    put(w, k, strlen(k));
    put(w, "\":", 2);
}

static void put_u64(wbuf *w, uint64_t u)
{
    char b[24], *e = b + sizeof b, *q = e;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    put(w, q, (size_t)(e - q));
}

static void put_i64(wbuf *w, int64_t v)
{
    if (v < 0) {
        putch(w, '-');
        put_u64(w, 0 - (uint64_t)v);
    } else {
        put_u64(w, (uint64_t)v);
    }
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when it is
 * invalid, with *bad the length of its maximal invalid subpart (at least 1):
 * the bytes that one U+FFFD replaces. Valid means what RFC 3629 and jansson
 * accept: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k < need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return need;
}

/* A JSON string of the n bytes at s: escapes for '"', '\\' and controls,
 * U+FFFD for invalid UTF-8, and at most max bytes of text once decoded (cut
 * before the character that would pass it). */
static void put_text(wbuf *w, const char *s, size_t n, size_t max)
{
    static const char hexd[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t used = 0, i = 0;
    putch(w, '"');
    while (i < n) {
        /* the common case: a run of printable ASCII, copied at once */
        size_t j = i;
        while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\' &&
               used + (j - i) < max)
            j++;
        put(w, s + i, j - i);
        used += j - i;
        i = j;
        if (i >= n || used >= max)
            break;
        unsigned char c = u[i];
        if (c < 0x80) {
            char e[6] = {'\\', (char)c, 0, 0, 0, 0};
            size_t en = 2;
            if (c == '\n')
                e[1] = 'n';
            else if (c == '\t')
                e[1] = 't';
            else if (c == '\r')
                e[1] = 'r';
            else if (c != '"' && c != '\\') {
                memcpy(e, "\\u00", 4);
                e[4] = hexd[c >> 4];
                e[5] = hexd[c & 15];
                en = 6;
            }
            put(w, e, en);
            used++;
            i++;
            continue;
        }
        size_t bad = 0, k = utf8_seq(u + i, n - i, &bad);
        if (k == 0) {
            if (used + 3 > max)
                break;
            put(w, "\xef\xbf\xbd", 3);
            used += 3;
            i += bad;
        } else {
            if (used + k > max)
                break;
            put(w, s + i, k);
            used += k;
            i += k;
        }
    }
    putch(w, '"');
}

/* "k":"s" for a char[cap] field; left out when empty. */
static void kv_str(wbuf *w, const char *k, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0)
        return;
    key(w, k);
    put_text(w, s, n, cap - 1);
}

/* A name: always written, even empty (the reader then says why it refuses). */
static void kv_name(wbuf *w, const char *k, const char *s, size_t cap)
{
    key(w, k);
    put_text(w, s, strnlen(s, cap), cap - 1);
}

static void kv_int(wbuf *w, const char *k, int64_t v)
{
    key(w, k);
    put_i64(w, v);
}

/* uint64 values above 2^63-1 are written as they are; the reader refuses
 * them (proto.h: seq and last_seq never get there). */
static void kv_u64(wbuf *w, const char *k, uint64_t v)
{
    key(w, k);
    put_u64(w, v);
}

/* A GPU mask as [i, ...], ascending; left out when empty. */
static void kv_mask(wbuf *w, const char *k, uint64_t mask)
{
    if (!mask)
        return;
    key(w, k);
    putch(w, '[');
    for (int i = 0; i < 64; i++)
        if (mask >> i & 1) {
            sep(w);
            put_u64(w, (uint64_t)i);
        }
    putch(w, ']');
}

/* An array of C strings; left out when empty. */
static void kv_strv(wbuf *w, const char *k, char *const *v, int32_t n)
{
    if (!v || n <= 0)
        return;
    key(w, k);
    putch(w, '[');
    for (int32_t i = 0; i < n; i++) {
        sep(w);
        const char *s = v[i] ? v[i] : "";
        put_text(w, s, strlen(s), SIZE_MAX);
    }
    putch(w, ']');
}

/* Opens "k":[ when the list is non-empty; 1 if it did (close with ']'). */
static int list_open(wbuf *w, const char *k, const void *items, int32_t n)
{
    if (!items || n <= 0)
        return 0;
    key(w, k);
    putch(w, '[');
    return 1;
}

static void obj_open(wbuf *w)
{
    sep(w);
    putch(w, '{');
}

static char *finish(wbuf *w, size_t *len)
{
    if (room(w, 0) != 0) {
        free(w->p);
        if (len)
            *len = 0;
        return NULL;
    }
    w->p[w->len] = '\0';
    if (len)
        *len = w->len;
    return w->p;
}

static void put_running(wbuf *w, const char *k, const proto_running *r, int32_t n)
{
    if (!list_open(w, k, r, n))
        return;
    for (int32_t i = 0; i < n; i++) {
        obj_open(w);
        kv_int(w, "job", r[i].job);
        kv_int(w, "run", r[i].run);
        kv_mask(w, "gpus", r[i].gpus);
        putch(w, '}');
    }
    putch(w, ']');
}

static void put_inventory(wbuf *w, const proto_inventory *inv)
{
    key(w, "inventory");
    putch(w, '{');
    kv_int(w, "gpus", inv->gpus);
    kv_int(w, "cpus", inv->cpus);
    kv_int(w, "mem_mb", inv->mem_mb);
    kv_str(w, "model", inv->model, sizeof inv->model);
    kv_str(w, "addr", inv->addr, sizeof inv->addr);
    kv_str(w, "cgroup", inv->cgroup, sizeof inv->cgroup);
    kv_str(w, "note", inv->note, sizeof inv->note);
    kv_str(w, "source", inv->source, sizeof inv->source);
    if (list_open(w, "gpu", inv->gpu, inv->ngpu)) {
        for (int32_t i = 0; i < inv->ngpu; i++) {
            const proto_gpu *g = &inv->gpu[i];
            obj_open(w);
            kv_int(w, "index", g->index);
            kv_str(w, "uuid", g->uuid, sizeof g->uuid);
            kv_str(w, "name", g->name, sizeof g->name);
            kv_int(w, "mem_mb", g->mem_mb);
            putch(w, '}');
        }
        putch(w, ']');
    }
    putch(w, '}');
}

static void put_node_report(wbuf *w, const proto_node_report *n)
{
    obj_open(w);
    kv_name(w, "name", n->name, sizeof n->name);
    if (n->has_inventory)
        put_inventory(w, &n->inv);
    put_running(w, "running", n->running, n->nrunning);
    if (list_open(w, "ended", n->ended, n->nended)) {
        for (int32_t i = 0; i < n->nended; i++) {
            const proto_ended *e = &n->ended[i];
            obj_open(w);
            kv_int(w, "job", e->job);
            kv_int(w, "run", e->run);
            kv_int(w, "exit_code", e->exit_code);
            kv_int(w, "signal", e->signal);
            kv_int(w, "reason", e->reason);
            kv_int(w, "start", e->start);
            kv_int(w, "end", e->end);
            kv_str(w, "message", e->message, sizeof e->message);
            putch(w, '}');
        }
        putch(w, ']');
    }
    putch(w, '}');
}

char *proto_sync_encode(const proto_sync *m, size_t *len)
{
    wbuf w = {0};
    putch(&w, '{');
    kv_int(&w, "version", m->version);
    kv_name(&w, "agent", m->agent, sizeof m->agent);
    kv_int(&w, "boot", m->boot);
    kv_int(&w, "wait_ms", m->wait_ms);
    kv_u64(&w, "last_seq", m->last_seq);
    if (list_open(&w, "nodes", m->nodes, m->nnodes)) {
        for (int32_t i = 0; i < m->nnodes; i++)
            put_node_report(&w, &m->nodes[i]);
        putch(&w, ']');
    }
    if (list_open(&w, "output", m->output, m->noutput)) {
        for (int32_t i = 0; i < m->noutput; i++) {
            const proto_output *o = &m->output[i];
            obj_open(&w);
            kv_int(&w, "job", o->job);
            kv_int(&w, "step", o->step);
            kv_int(&w, "rank", o->rank);
            kv_int(&w, "stream", o->stream);
            if (o->data && o->len > 0) {
                key(&w, "data");
                put_text(&w, o->data, o->len, SIZE_MAX);
            }
            putch(&w, '}');
        }
        putch(&w, ']');
    }
    if (list_open(&w, "rank_ends", m->rank_ends, m->nrank_ends)) {
        for (int32_t i = 0; i < m->nrank_ends; i++) {
            const proto_rank_end *r = &m->rank_ends[i];
            obj_open(&w);
            kv_int(&w, "job", r->job);
            kv_int(&w, "step", r->step);
            kv_int(&w, "rank", r->rank);
            kv_int(&w, "exit_code", r->exit_code);
            kv_int(&w, "signal", r->signal);
            putch(&w, '}');
        }
        putch(&w, ']');
    }
    putch(&w, '}');
    return finish(&w, len);
}

static void put_launch(wbuf *w, const proto_launch *l)
{
    obj_open(w);
    kv_int(w, "job", l->job);
    kv_int(w, "run", l->run);
    kv_int(w, "uid", l->uid);
    kv_int(w, "gid", l->gid);
    kv_str(w, "user", l->user, sizeof l->user);
    kv_str(w, "name", l->name, sizeof l->name);
    kv_str(w, "workdir", l->workdir, sizeof l->workdir);
    kv_str(w, "output", l->output, sizeof l->output);
    kv_str(w, "error", l->error, sizeof l->error);
    if (l->script) {
        key(w, "script");
        put_text(w, l->script, strlen(l->script), SIZE_MAX);
    }
    kv_strv(w, "env", l->env, l->nenv);
    kv_mask(w, "gpus", l->gpus);
    kv_int(w, "cpus", l->cpus);
    kv_int(w, "mem_mb", l->mem_mb);
    kv_int(w, "time_limit", l->time_limit);
    kv_int(w, "kill_grace", l->kill_grace);
    if (l->nodelist) {
        key(w, "nodelist");
        put_text(w, l->nodelist, strlen(l->nodelist), SIZE_MAX);
    }
    kv_int(w, "node_rank", l->node_rank);
    kv_int(w, "nnodes", l->nnodes);
    kv_int(w, "total_gpus", l->total_gpus);
    kv_int(w, "array_job_id", l->array_job_id);
    kv_int(w, "array_task_id", l->array_task_id);
    kv_str(w, "controller", l->controller, sizeof l->controller);
    putch(w, '}');
}

static void put_step(wbuf *w, const proto_step *st)
{
    obj_open(w);
    kv_int(w, "job", st->job);
    kv_int(w, "run", st->run);
    kv_int(w, "step", st->step);
    kv_strv(w, "argv", st->argv, st->argc);
    kv_strv(w, "env", st->env, st->nenv);
    kv_int(w, "world_size", st->world_size);
    kv_str(w, "master_addr", st->master_addr, sizeof st->master_addr);
    kv_int(w, "master_port", st->master_port);
    if (list_open(w, "ranks", st->ranks, st->nranks)) {
        for (int32_t i = 0; i < st->nranks; i++) {
            obj_open(w);
            kv_int(w, "rank", st->ranks[i].rank);
            kv_int(w, "local_rank", st->ranks[i].local_rank);
            kv_mask(w, "gpus", st->ranks[i].gpus);
            putch(w, '}');
        }
        putch(w, ']');
    }
    putch(w, '}');
}

static void put_node_cmds(wbuf *w, const proto_node_cmds *n)
{
    obj_open(w);
    kv_name(w, "name", n->name, sizeof n->name);
    kv_int(w, "state", n->state);
    kv_str(w, "error", n->error, sizeof n->error);
    put_running(w, "ack", n->ack, n->nack);
    if (list_open(w, "launch", n->launch, n->nlaunch)) {
        for (int32_t i = 0; i < n->nlaunch; i++)
            put_launch(w, &n->launch[i]);
        putch(w, ']');
    }
    if (list_open(w, "kill", n->kill, n->nkill)) {
        for (int32_t i = 0; i < n->nkill; i++) {
            obj_open(w);
            kv_int(w, "job", n->kill[i].job);
            kv_int(w, "run", n->kill[i].run);
            kv_int(w, "reason", n->kill[i].reason);
            if (n->kill[i].reason == PROTO_END_PREEMPTED) {
                kv_int(w, "signal", n->kill[i].signal);
                kv_int(w, "grace", n->kill[i].grace);
            }
            putch(w, '}');
        }
        putch(w, ']');
    }
    if (list_open(w, "steps", n->steps, n->nsteps)) {
        for (int32_t i = 0; i < n->nsteps; i++)
            put_step(w, &n->steps[i]);
        putch(w, ']');
    }
    if (list_open(w, "step_kills", n->step_kills, n->nstep_kills)) {
        for (int32_t i = 0; i < n->nstep_kills; i++) {
            obj_open(w);
            kv_int(w, "job", n->step_kills[i].job);
            kv_int(w, "step", n->step_kills[i].step);
            putch(w, '}');
        }
        putch(w, ']');
    }
    putch(w, '}');
}

char *proto_reply_encode(const proto_reply *m, size_t *len)
{
    wbuf w = {0};
    putch(&w, '{');
    kv_u64(&w, "seq", m->seq);
    kv_int(&w, "heartbeat_ms", m->heartbeat_ms);
    if (list_open(&w, "nodes", m->nodes, m->nnodes)) {
        for (int32_t i = 0; i < m->nnodes; i++)
            put_node_cmds(&w, &m->nodes[i]);
        putch(&w, ']');
    }
    putch(&w, '}');
    return finish(&w, len);
}

/* ==== reading ============================================================ */

/* Where the reader is: a stack of keys and indices, rendered as
 * "nodes[2].running[0].job" only when something fails. The deepest path is
 * nodes[i].steps[j].ranks[k].gpus[l]: 8 levels. */
#define DEPTH_MAX 12

typedef struct dec {
    struct {
        const char *key; /* NULL: an index */
        size_t idx;
    } at[DEPTH_MAX];
    int depth;
    char *err;
    size_t errlen;
} dec;

static void in_key(dec *d, const char *k)
{
    if (d->depth < DEPTH_MAX) {
        d->at[d->depth].key = k;
        d->at[d->depth].idx = 0;
    }
    d->depth++;
}

static void in_idx(dec *d, size_t i)
{
    if (d->depth < DEPTH_MAX) {
        d->at[d->depth].key = NULL;
        d->at[d->depth].idx = i;
    }
    d->depth++;
}

static void out(dec *d)
{
    d->depth--;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "PATH: reason" into the caller's buffer; always -1. */
static int fail(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(dec *d, const char *fmt, ...)
{
    if (!d->err || d->errlen == 0)
        return -1;
    char path[256], reason[256];
    size_t n = 0;
    path[0] = '\0';
    for (int i = 0; i < d->depth && i < DEPTH_MAX && n < sizeof path; i++) {
        int k = d->at[i].key ? snprintf(path + n, sizeof path - n, "%s%s", i ? "." : "",
                                        d->at[i].key)
                             : snprintf(path + n, sizeof path - n, "[%zu]", d->at[i].idx);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    errf(d->err, d->errlen, "%s: %s", path, reason);
    return -1;
}

/* An integer field, required, in lo..hi. */
static int get_int(dec *d, json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    in_key(d, k);
    if (!x)
        return fail(d, "missing");
    if (!json_is_integer(x))
        return fail(d, "not an integer");
    json_int_t i = json_integer_value(x);
    if (i < lo || i > hi) {
        if (hi == INT64_MAX)
            return fail(d, "must be at least %" PRId64 " (got %lld)", lo, (long long)i);
        return fail(d, "must be in %" PRId64 "..%" PRId64 " (got %lld)", lo, hi, (long long)i);
    }
    *v = (int64_t)i;
    out(d);
    return 0;
}

static int get_i32(dec *d, json_t *o, const char *k, int32_t lo, int32_t hi, int32_t *v)
{
    int64_t x;
    if (get_int(d, o, k, lo, hi, &x) != 0)
        return -1;
    *v = (int32_t)x;
    return 0;
}

/* The full int32 range, or from lo up. */
static int get_i32_from(dec *d, json_t *o, const char *k, int32_t lo, int32_t *v)
{
    return get_i32(d, o, k, lo, INT32_MAX, v);
}

static int get_i64(dec *d, json_t *o, const char *k, int64_t lo, int64_t *v)
{
    return get_int(d, o, k, lo, INT64_MAX, v);
}

static int get_u32(dec *d, json_t *o, const char *k, uint32_t *v)
{
    int64_t x;
    if (get_int(d, o, k, 0, UINT32_MAX, &x) != 0)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* 0..2^63-1: json_int_t holds no more (jansson refuses larger numbers). */
static int get_u64(dec *d, json_t *o, const char *k, uint64_t lo, uint64_t *v)
{
    int64_t x;
    if (get_int(d, o, k, (int64_t)lo, INT64_MAX, &x) != 0)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* A string value (x, at the current path) without NUL bytes; its length. */
static int text_of(dec *d, json_t *x, const char **s, size_t *n)
{
    if (!json_is_string(x))
        return fail(d, "not a string");
    *s = json_string_value(x);
    *n = json_string_length(x);
    if (memchr(*s, '\0', *n))
        return fail(d, "contains a NUL byte");
    return 0;
}

enum { OPTIONAL = 0, REQUIRED = 1 };

/* A string into char[cap]: absent is "" unless required; a required one
 * must not be empty either. */
static int get_str(dec *d, json_t *o, const char *k, char *dst, size_t cap, int required)
{
    json_t *x = json_object_get(o, k);
    const char *s = NULL;
    size_t n = 0;
    in_key(d, k);
    dst[0] = '\0';
    if (!x) {
        if (required)
            return fail(d, "missing");
        out(d);
        return 0;
    }
    if (text_of(d, x, &s, &n) != 0)
        return -1;
    if (n > cap - 1)
        return fail(d, "longer than %zu bytes", cap - 1);
    if (required && n == 0)
        return fail(d, "empty");
    memcpy(dst, s, n + 1);
    out(d);
    return 0;
}

static char *dup_text(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* An optional malloc'd string: absent or null gives NULL. */
static int get_dup(dec *d, json_t *o, const char *k, char **dst)
{
    json_t *x = json_object_get(o, k);
    const char *s = NULL;
    size_t n = 0;
    in_key(d, k);
    *dst = NULL;
    if (x && !json_is_null(x)) {
        if (text_of(d, x, &s, &n) != 0)
            return -1;
        if (!(*dst = dup_text(s, n)))
            return fail(d, "out of memory");
    }
    out(d);
    return 0;
}

/* An optional array of at most max entries: *arr NULL and *n 0 when absent.
 * Leaves the key on the path (the caller adds indices, then calls out). */
static int open_list(dec *d, json_t *o, const char *k, size_t max, json_t **arr, size_t *n)
{
    json_t *x = json_object_get(o, k);
    in_key(d, k);
    *arr = NULL;
    *n = 0;
    if (!x)
        return 0;
    if (!json_is_array(x))
        return fail(d, "not an array");
    if (json_array_size(x) > max)
        return fail(d, "more than %zu entries", max);
    *arr = x;
    *n = json_array_size(x);
    return 0;
}

/* p = calloc'd room for n items (NULL for none); -1 with "out of memory". */
static int alloc_ok(dec *d, const void *p, size_t n)
{
    return p || n == 0 ? 0 : fail(d, "out of memory");
}
#define ALLOC_ITEMS(d, p, n) ((p) = (n) ? calloc((n), sizeof *(p)) : NULL, alloc_ok((d), (p), (n)))

/* Entry i of a list as an object, its index pushed on the path. */
static json_t *item(dec *d, json_t *arr, size_t i)
{
    json_t *x = json_array_get(arr, i);
    in_idx(d, i);
    if (!json_is_object(x)) {
        fail(d, "not an object");
        return NULL;
    }
    return x;
}

/* A GPU mask from [i, ...]: absent is none; indices 0..63, each once. */
static int get_mask(dec *d, json_t *o, const char *k, uint64_t *mask)
{
    json_t *arr;
    size_t n = 0;
    *mask = 0;
    if (open_list(d, o, k, SIZE_MAX, &arr, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(arr, i);
        in_idx(d, i);
        if (!json_is_integer(x))
            return fail(d, "not an integer");
        json_int_t g = json_integer_value(x);
        if (g < 0 || g >= PROTO_MAX_GPUS)
            return fail(d, "must be in 0..%d (got %lld)", PROTO_MAX_GPUS - 1, (long long)g);
        if (*mask >> g & 1)
            return fail(d, "GPU index %lld listed twice", (long long)g);
        *mask |= (uint64_t)1 << g;
        out(d);
    }
    out(d);
    return 0;
}

/* An array of strings (env: each "K=V" with a non-empty K). */
static int get_strv(dec *d, json_t *o, const char *k, size_t max, int env, char ***v, int32_t *nv)
{
    json_t *arr;
    size_t n = 0;
    *v = NULL;
    *nv = 0;
    if (open_list(d, o, k, max, &arr, &n) != 0 || ALLOC_ITEMS(d, *v, n) != 0)
        return -1;
    *nv = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        const char *s = NULL;
        size_t sn = 0;
        in_idx(d, i);
        if (text_of(d, json_array_get(arr, i), &s, &sn) != 0)
            return -1;
        if (env && (sn == 0 || s[0] == '=' || !memchr(s, '=', sn)))
            return fail(d, "not K=V");
        if (!((*v)[i] = dup_text(s, sn)))
            return fail(d, "out of memory");
        out(d);
    }
    out(d);
    return 0;
}

/* ---- the sync ---- */

static int get_running(dec *d, json_t *o, const char *k, proto_running **r, int32_t *nr)
{
    json_t *arr, *x;
    size_t n = 0;
    if (open_list(d, o, k, LIST_MAX, &arr, &n) != 0 || ALLOC_ITEMS(d, *r, n) != 0)
        return -1;
    *nr = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_running *e = &(*r)[i];
        if (!(x = item(d, arr, i)) || get_i64(d, x, "job", 1, &e->job) != 0 ||
            get_i32_from(d, x, "run", 0, &e->run) != 0 || get_mask(d, x, "gpus", &e->gpus) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

static int get_inventory(dec *d, json_t *x, proto_inventory *inv)
{
    json_t *arr, *g;
    size_t n = 0;
    if (get_i32(d, x, "gpus", 0, PROTO_MAX_GPUS, &inv->gpus) != 0 ||
        get_i32_from(d, x, "cpus", 0, &inv->cpus) != 0 ||
        get_i64(d, x, "mem_mb", 0, &inv->mem_mb) != 0 ||
        get_str(d, x, "model", inv->model, sizeof inv->model, OPTIONAL) != 0 ||
        get_str(d, x, "addr", inv->addr, sizeof inv->addr, OPTIONAL) != 0 ||
        get_str(d, x, "cgroup", inv->cgroup, sizeof inv->cgroup, OPTIONAL) != 0 ||
        get_str(d, x, "note", inv->note, sizeof inv->note, OPTIONAL) != 0 ||
        get_str(d, x, "source", inv->source, sizeof inv->source, OPTIONAL) != 0)
        return -1;
    if (open_list(d, x, "gpu", PROTO_MAX_GPUS, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, inv->gpu, n) != 0)
        return -1;
    inv->ngpu = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_gpu *e = &inv->gpu[i];
        if (!(g = item(d, arr, i)) ||
            get_i32(d, g, "index", 0, PROTO_MAX_GPUS - 1, &e->index) != 0 ||
            get_str(d, g, "uuid", e->uuid, sizeof e->uuid, OPTIONAL) != 0 ||
            get_str(d, g, "name", e->name, sizeof e->name, OPTIONAL) != 0 ||
            get_i64(d, g, "mem_mb", 0, &e->mem_mb) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

static int get_node_report(dec *d, json_t *x, proto_node_report *nr)
{
    json_t *inv = json_object_get(x, "inventory"), *arr, *e;
    size_t n = 0;
    if (get_str(d, x, "name", nr->name, sizeof nr->name, REQUIRED) != 0)
        return -1;
    if (inv) {
        in_key(d, "inventory");
        if (!json_is_object(inv))
            return fail(d, "not an object");
        nr->has_inventory = 1;
        if (get_inventory(d, inv, &nr->inv) != 0)
            return -1;
        out(d);
    }
    if (get_running(d, x, "running", &nr->running, &nr->nrunning) != 0)
        return -1;
    if (open_list(d, x, "ended", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, nr->ended, n) != 0)
        return -1;
    nr->nended = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_ended *en = &nr->ended[i];
        if (!(e = item(d, arr, i)) || get_i64(d, e, "job", 1, &en->job) != 0 ||
            get_i32_from(d, e, "run", 0, &en->run) != 0 ||
            get_i32_from(d, e, "exit_code", INT32_MIN, &en->exit_code) != 0 ||
            get_i32_from(d, e, "signal", 0, &en->signal) != 0 ||
            get_i32(d, e, "reason", PROTO_END_EXITED, PROTO_END_PREEMPTED, &en->reason) != 0 ||
            get_i64(d, e, "start", 0, &en->start) != 0 || get_i64(d, e, "end", 0, &en->end) != 0 ||
            get_str(d, e, "message", en->message, sizeof en->message, OPTIONAL) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

static int get_outputs(dec *d, json_t *root, proto_sync *m)
{
    json_t *arr, *x;
    size_t n = 0;
    if (open_list(d, root, "output", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, m->output, n) != 0)
        return -1;
    m->noutput = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_output *o = &m->output[i];
        if (!(x = item(d, arr, i)) || get_i64(d, x, "job", 1, &o->job) != 0 ||
            get_i32_from(d, x, "step", 0, &o->step) != 0 ||
            get_i32_from(d, x, "rank", 0, &o->rank) != 0 ||
            get_i32(d, x, "stream", 1, 2, &o->stream) != 0)
            return -1;
        /* raw bytes: NUL allowed, the length is jansson's; NUL-terminated
         * for the reader's convenience, and never NULL once decoded */
        json_t *data = json_object_get(x, "data");
        in_key(d, "data");
        if (data && !json_is_string(data))
            return fail(d, "not a string");
        const char *s = data ? json_string_value(data) : "";
        o->len = data ? json_string_length(data) : 0;
        if (!(o->data = dup_text(s, o->len)))
            return fail(d, "out of memory");
        out(d);
        out(d);
    }
    out(d);
    return 0;
}

static int get_rank_ends(dec *d, json_t *root, proto_sync *m)
{
    json_t *arr, *x;
    size_t n = 0;
    if (open_list(d, root, "rank_ends", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, m->rank_ends, n) != 0)
        return -1;
    m->nrank_ends = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_rank_end *r = &m->rank_ends[i];
        if (!(x = item(d, arr, i)) || get_i64(d, x, "job", 1, &r->job) != 0 ||
            get_i32_from(d, x, "step", 0, &r->step) != 0 ||
            get_i32_from(d, x, "rank", 0, &r->rank) != 0 ||
            get_i32_from(d, x, "exit_code", INT32_MIN, &r->exit_code) != 0 ||
            get_i32_from(d, x, "signal", 0, &r->signal) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

/* jansson's messages quote pieces of the input: keep them printable ASCII. */
static void sanitize(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/* The body as a JSON object, or NULL with the reason in err. */
static json_t *parse_body(const char *buf, size_t len, char *err, size_t errlen)
{
    if (!buf) {
        errf(err, errlen, "no body");
        return NULL;
    }
    if (len > PROTO_MAX_BODY) {
        errf(err, errlen, "body larger than %u bytes", PROTO_MAX_BODY);
        return NULL;
    }
    json_error_t jerr;
    /* any value, so that "[]" is told it is not an object; NUL only where
     * allowed (output data: checked field by field) */
    json_t *root =
        json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (!root) {
        errf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
        if (err && errlen)
            sanitize(err);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        errf(err, errlen, "the body must be a JSON object");
        return NULL;
    }
    return root;
}

static int decode_sync(dec *d, json_t *root, proto_sync *m)
{
    json_t *arr, *x;
    size_t n = 0;
    int64_t version;
    /* the version first: a newer peer's message is refused for what it is */
    if (get_int(d, root, "version", INT64_MIN, INT64_MAX, &version) != 0)
        return -1;
    if (version != PROTO_VERSION) {
        in_key(d, "version");
        return fail(d, "unsupported protocol version %" PRId64, version);
    }
    m->version = PROTO_VERSION;
    if (get_str(d, root, "agent", m->agent, sizeof m->agent, REQUIRED) != 0 ||
        get_i64(d, root, "boot", 0, &m->boot) != 0 ||
        get_i32(d, root, "wait_ms", 0, WAIT_MS_MAX, &m->wait_ms) != 0 ||
        get_u64(d, root, "last_seq", 0, &m->last_seq) != 0)
        return -1;
    if (open_list(d, root, "nodes", PROTO_MAX_NODES, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, m->nodes, n) != 0)
        return -1;
    m->nnodes = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        if (!(x = item(d, arr, i)) || get_node_report(d, x, &m->nodes[i]) != 0)
            return -1;
        out(d);
    }
    out(d);
    return get_outputs(d, root, m) != 0 || get_rank_ends(d, root, m) != 0 ? -1 : 0;
}

int proto_sync_decode(const char *buf, size_t len, proto_sync *m, char *err, size_t errlen)
{
    dec d = {.err = err, .errlen = errlen};
    memset(m, 0, sizeof *m);
    errf(err, errlen, "%s", "");
    json_t *root = parse_body(buf, len, err, errlen);
    if (!root)
        return -1;
    int rc = decode_sync(&d, root, m);
    json_decref(root);
    if (rc != 0)
        proto_sync_free(m);
    return rc;
}

/* ---- the reply ---- */

static int get_launch(dec *d, json_t *x, proto_launch *l)
{
    if (get_i64(d, x, "job", 1, &l->job) != 0 || get_i32_from(d, x, "run", 0, &l->run) != 0 ||
        get_u32(d, x, "uid", &l->uid) != 0 || get_u32(d, x, "gid", &l->gid) != 0 ||
        get_str(d, x, "user", l->user, sizeof l->user, OPTIONAL) != 0 ||
        get_str(d, x, "name", l->name, sizeof l->name, OPTIONAL) != 0 ||
        get_str(d, x, "workdir", l->workdir, sizeof l->workdir, OPTIONAL) != 0 ||
        get_str(d, x, "output", l->output, sizeof l->output, OPTIONAL) != 0 ||
        get_str(d, x, "error", l->error, sizeof l->error, OPTIONAL) != 0 ||
        get_dup(d, x, "script", &l->script) != 0 ||
        get_strv(d, x, "env", ENV_MAX, 1, &l->env, &l->nenv) != 0 ||
        get_mask(d, x, "gpus", &l->gpus) != 0 || get_i32_from(d, x, "cpus", 0, &l->cpus) != 0 ||
        get_i64(d, x, "mem_mb", 0, &l->mem_mb) != 0 ||
        get_i64(d, x, "time_limit", 0, &l->time_limit) != 0 ||
        get_i32_from(d, x, "kill_grace", 0, &l->kill_grace) != 0 ||
        get_dup(d, x, "nodelist", &l->nodelist) != 0 ||
        get_i32_from(d, x, "node_rank", 0, &l->node_rank) != 0 ||
        get_i32_from(d, x, "nnodes", 1, &l->nnodes) != 0 ||
        get_i32_from(d, x, "total_gpus", 0, &l->total_gpus) != 0 ||
        get_i64(d, x, "array_job_id", 0, &l->array_job_id) != 0 ||
        get_i32_from(d, x, "array_task_id", -1, &l->array_task_id) != 0 ||
        get_str(d, x, "controller", l->controller, sizeof l->controller, OPTIONAL) != 0)
        return -1;
    if (l->node_rank >= l->nnodes) {
        in_key(d, "node_rank");
        return fail(d, "%d is not below nnodes (%d)", (int)l->node_rank, (int)l->nnodes);
    }
    return 0;
}

static int get_step(dec *d, json_t *x, proto_step *st)
{
    json_t *arr, *r;
    size_t n = 0;
    if (get_i64(d, x, "job", 1, &st->job) != 0 || get_i32_from(d, x, "run", 0, &st->run) != 0 ||
        get_i32_from(d, x, "step", 0, &st->step) != 0)
        return -1;
    if (!json_object_get(x, "argv")) {
        in_key(d, "argv");
        return fail(d, "missing");
    }
    if (get_strv(d, x, "argv", ARGV_MAX, 0, &st->argv, &st->argc) != 0)
        return -1;
    if (st->argc == 0) {
        in_key(d, "argv");
        return fail(d, "empty");
    }
    if (get_strv(d, x, "env", ENV_MAX, 1, &st->env, &st->nenv) != 0 ||
        get_i32_from(d, x, "world_size", 1, &st->world_size) != 0 ||
        get_str(d, x, "master_addr", st->master_addr, sizeof st->master_addr, OPTIONAL) != 0 ||
        get_i32(d, x, "master_port", 0, 65535, &st->master_port) != 0)
        return -1;
    if (open_list(d, x, "ranks", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, st->ranks, n) != 0)
        return -1;
    st->nranks = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_step_rank *sr = &st->ranks[i];
        if (!(r = item(d, arr, i)) || get_i32_from(d, r, "rank", 0, &sr->rank) != 0 ||
            get_i32_from(d, r, "local_rank", 0, &sr->local_rank) != 0 ||
            get_mask(d, r, "gpus", &sr->gpus) != 0)
            return -1;
        if (sr->rank >= st->world_size) {
            in_key(d, "rank");
            return fail(d, "%d is not below world_size (%d)", (int)sr->rank,
                        (int)st->world_size);
        }
        out(d);
    }
    out(d);
    return 0;
}

static int get_node_cmds(dec *d, json_t *x, proto_node_cmds *nc)
{
    json_t *arr, *e;
    size_t n = 0;
    if (get_str(d, x, "name", nc->name, sizeof nc->name, REQUIRED) != 0 ||
        get_i32(d, x, "state", 0, 2, &nc->state) != 0 ||
        get_str(d, x, "error", nc->error, sizeof nc->error, OPTIONAL) != 0 ||
        get_running(d, x, "ack", &nc->ack, &nc->nack) != 0)
        return -1;

    if (open_list(d, x, "launch", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, nc->launch, n) != 0)
        return -1;
    nc->nlaunch = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        if (!(e = item(d, arr, i)) || get_launch(d, e, &nc->launch[i]) != 0)
            return -1;
        out(d);
    }
    out(d);

    if (open_list(d, x, "kill", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, nc->kill, n) != 0)
        return -1;
    nc->nkill = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_kill *k = &nc->kill[i];
        if (!(e = item(d, arr, i)) || get_i64(d, e, "job", 1, &k->job) != 0 ||
            get_i32_from(d, e, "run", 0, &k->run) != 0 ||
            get_i32(d, e, "reason", PROTO_END_TIMEOUT, PROTO_END_PREEMPTED, &k->reason) != 0)
            return -1;
        if (k->reason == PROTO_END_LAUNCH_FAILED) {
            in_key(d, "reason");
            return fail(d, "3 (launch failed) is not a kill");
        }
        if (k->reason == PROTO_END_PREEMPTED &&
            (get_i32(d, e, "signal", 1, 64, &k->signal) != 0 ||
             get_i32_from(d, e, "grace", 0, &k->grace) != 0))
            return -1;
        out(d);
    }
    out(d);

    if (open_list(d, x, "steps", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, nc->steps, n) != 0)
        return -1;
    nc->nsteps = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        if (!(e = item(d, arr, i)) || get_step(d, e, &nc->steps[i]) != 0)
            return -1;
        out(d);
    }
    out(d);

    if (open_list(d, x, "step_kills", LIST_MAX, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, nc->step_kills, n) != 0)
        return -1;
    nc->nstep_kills = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        proto_step_kill *sk = &nc->step_kills[i];
        if (!(e = item(d, arr, i)) || get_i64(d, e, "job", 1, &sk->job) != 0 ||
            get_i32_from(d, e, "step", 0, &sk->step) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

static int decode_reply(dec *d, json_t *root, proto_reply *m)
{
    json_t *arr, *x;
    size_t n = 0;
    if (get_u64(d, root, "seq", 1, &m->seq) != 0 ||
        get_i32(d, root, "heartbeat_ms", 1, HEARTBEAT_MS_MAX, &m->heartbeat_ms) != 0)
        return -1;
    if (open_list(d, root, "nodes", PROTO_MAX_NODES, &arr, &n) != 0 ||
        ALLOC_ITEMS(d, m->nodes, n) != 0)
        return -1;
    m->nnodes = (int32_t)n;
    for (size_t i = 0; i < n; i++) {
        if (!(x = item(d, arr, i)) || get_node_cmds(d, x, &m->nodes[i]) != 0)
            return -1;
        out(d);
    }
    out(d);
    return 0;
}

int proto_reply_decode(const char *buf, size_t len, proto_reply *m, char *err, size_t errlen)
{
    dec d = {.err = err, .errlen = errlen};
    memset(m, 0, sizeof *m);
    errf(err, errlen, "%s", "");
    json_t *root = parse_body(buf, len, err, errlen);
    if (!root)
        return -1;
    int rc = decode_reply(&d, root, m);
    json_decref(root);
    if (rc != 0)
        proto_reply_free(m);
    return rc;
}
