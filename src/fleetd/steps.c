/*
 * steps.c: job steps, what `fleet run -- CMD` starts inside a running job.
 *
 *   POST   /v1/jobs/ID/steps          {"argv": [...], "per_gpu": false, "env": ["K=V"]}
 *   GET    /v1/jobs/ID/steps/S?after=N[&wait_ms=M]   output from offset N, long poll
 *   DELETE /v1/jobs/ID/steps/S        kill every rank
 *
 * A step has one rank per allocated node (or, per_gpu, one per allocated
 * GPU), numbered in node order; rank 0 lives on the job's first node, whose
 * address is MASTER_ADDR. The agents of the job's nodes get the step in
 * their sync replies and send back the ranks' output and exits. The first
 * rank to fail (non-zero exit) fails the step and its other ranks are
 * killed at once (fail fast); the step's exit code is that rank's.
 *
 * Steps live in memory only, with their job: a controller restart forgets
 * them (their ranks go on until the job ends; `fleet run` reports the lost
 * step). Output is kept per step up to STEP_OUTPUT_MAX bytes; a reader that
 * falls further behind is told how much it missed.
 *
 * Delivery: a step (or its kill) is sent to a node in every sync reply until
 * that node's ranks have all ended; agents ignore a step they already run,
 * so a reply ignored as stale loses nothing. Only the first sending wakes
 * the agents; later ones ride along with other answers.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"
#include "jsonw.h"
#include "proto.h"

#define STEP_OUTPUT_MAX (4u << 20)
#define STEP_ARGV_MAX 4096
#define STEP_ENV_MAX 4096 /* as a launch's (the protocol's bound) */

typedef struct step_rank {
    int32_t k;               /* the job's alloc entry (node) */
    int32_t local_rank;
    uint64_t gpus;
    int8_t ended;
    int32_t exit_code, signal;
} step_rank;

typedef struct step_chunk {
    int64_t off;             /* offset of its first byte in the step's stream of bytes */
    int32_t rank;
    int8_t stream;
    char *data;
    size_t len;
} step_chunk;

struct fstep {
    fjob *job;
    int32_t id, run;
    char **argv; int32_t argc;
    char **env; int32_t nenv;
    int32_t world;
    char master_addr[128];
    int32_t master_port;
    step_rank *ranks;
    uint8_t *sent;           /* per alloc entry: 1 step sent, 2 its kill sent too */
    int32_t nended;
    int8_t failed, killed, done, lost;
    int32_t exit_code;
    step_chunk *chunks; size_t nchunks, capchunks, first; /* chunks[first..] are kept */
    int64_t next_off, dropped;
    size_t bytes;
    http_req *readers;       /* held GETs */
    uv_timer_t timer;        /* answers held readers after their wait */
    ctl *c;
    struct fstep *next;
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

static fstep *step_find(fjob *j, int32_t id)
{
    for (fstep *s = j->steps; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* ---- readers ---------------------------------------------------------------- */
static void reply_output(fstep *s, http_req *r)
{
    const char *a = http_query(r, "after");
    int64_t after = a ? strtoll(a, NULL, 10) : 0;
    if (after < 0)
        after = 0;
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_int(&w, "step", s->id);
    jsonw_kv_int(&w, "world_size", s->world);
    int64_t first_off = s->first < s->nchunks ? s->chunks[s->first].off : s->next_off;
    jsonw_kv_int(&w, "missed", after < first_off ? first_off - after : 0);
    jsonw_key(&w, "chunks");
    jsonw_arr_open(&w);
    size_t sent = 0;
    for (size_t i = s->first; i < s->nchunks && sent < (1u << 20); i++) {
        step_chunk *ch = &s->chunks[i];
        if (ch->off + (int64_t)ch->len <= after)
            continue;
        jsonw_obj_open(&w);
        jsonw_kv_int(&w, "rank", ch->rank);
        jsonw_kv_str(&w, "stream", ch->stream == 2 ? "stderr" : "stdout");
        jsonw_key(&w, "data");
        jsonw_str(&w, ch->data); /* valid UTF-8: the agent made it so */
        jsonw_obj_close(&w);
        sent += ch->len;
        after = ch->off + (int64_t)ch->len;
    }
    jsonw_arr_close(&w);
    jsonw_kv_int(&w, "next", after > s->next_off ? s->next_off : after);
    jsonw_kv_int(&w, "ranks_ended", s->nended);
    jsonw_kv_bool(&w, "done", s->done && after >= s->next_off);
    jsonw_kv_bool(&w, "failed", s->failed);
    jsonw_kv_bool(&w, "lost", s->lost);
    jsonw_kv_int(&w, "exit_code", s->exit_code);
    jsonw_obj_close(&w);
    size_t len;
    char *body = jsonw_finish(&w, &len);
    http_reply(r, 200, body, len);
}

static void answer_readers(fstep *s)
{
    for (http_req *r = s->readers, *next; r; r = next) {
        next = r->next;
        r->next = NULL;
        reply_output(s, r);
        http_resume(r);
    }
    s->readers = NULL;
    uv_timer_stop(&s->timer);
}

static void on_reader_timer(uv_timer_t *t)
{
    answer_readers(t->data);
}

/* ---- lifecycle -------------------------------------------------------------- */
static void step_close_cb(uv_handle_t *h)
{
    fstep *s = h->data;
    for (int32_t i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s->argv);
    for (int32_t i = 0; i < s->nenv; i++)
        free(s->env[i]);
    free(s->env);
    for (size_t i = s->first; i < s->nchunks; i++)
        free(s->chunks[i].data);
    free(s->chunks);
    free(s->ranks);
    free(s->sent);
    free(s);
}

/* The job stopped running: its steps end with it. Held readers are told
 * (done, lost when ranks had not all ended), then the steps are freed. */
void steps_job_stopped(ctl *c, fjob *j)
{
    (void)c;
    fstep *s = j->steps;
    j->steps = NULL;
    while (s) {
        fstep *next = s->next;
        if (!s->done) {
            s->done = 1;
            s->lost = 1;
            if (!s->failed)
                s->exit_code = 143;
        }
        answer_readers(s);
        uv_close((uv_handle_t *)&s->timer, step_close_cb);
        s = next;
    }
}

static void wake_step_nodes(ctl *c, fstep *s)
{
    for (int32_t k = 0; k < s->job->sj.nalloc; k++)
        agent_wake_node(c, s->job->sj.alloc[k].node, 1);
}

static void step_kill(ctl *c, fstep *s)
{
    if (s->killed)
        return;
    s->killed = 1;
    wake_step_nodes(c, s);
}

/* ---- what the agents say -------------------------------------------------------- */
void steps_take(ctl *c, const proto_sync *m)
{
    for (int32_t i = 0; i < m->noutput; i++) {
        const proto_output *o = &m->output[i];
        fjob *j = ctl_job_find(c, o->job);
        fstep *s = j ? step_find(j, o->step) : NULL;
        if (!s || o->rank < 0 || o->rank >= s->world || !o->len)
            continue;
        if (s->nchunks == s->capchunks) {
            if (s->first > 0) { /* reuse the dropped head */
                memmove(s->chunks, s->chunks + s->first,
                        (s->nchunks - s->first) * sizeof *s->chunks);
                s->nchunks -= s->first;
                s->first = 0;
            }
            if (s->nchunks == s->capchunks) {
                s->capchunks = s->capchunks ? s->capchunks * 2 : 16;
                s->chunks = realloc(s->chunks, s->capchunks * sizeof *s->chunks);
                if (!s->chunks)
                    abort();
            }
        }
        step_chunk *ch = &s->chunks[s->nchunks++];
        ch->off = s->next_off;
        ch->rank = o->rank;
        ch->stream = (int8_t)o->stream;
        ch->data = xcalloc(o->len + 1, 1);
        memcpy(ch->data, o->data, o->len);
        ch->len = o->len;
        s->next_off += (int64_t)o->len;
        s->bytes += o->len;
        while (s->bytes > STEP_OUTPUT_MAX && s->first < s->nchunks) {
            s->bytes -= s->chunks[s->first].len;
            s->dropped += (int64_t)s->chunks[s->first].len;
            free(s->chunks[s->first].data);
            s->first++;
        }
        answer_readers(s);
    }
    for (int32_t i = 0; i < m->nrank_ends; i++) {
        const proto_rank_end *e = &m->rank_ends[i];
        fjob *j = ctl_job_find(c, e->job);
        fstep *s = j ? step_find(j, e->step) : NULL;
        if (!s || e->rank < 0 || e->rank >= s->world || s->ranks[e->rank].ended)
            continue;
        step_rank *rk = &s->ranks[e->rank];
        rk->ended = 1;
        rk->exit_code = e->exit_code;
        rk->signal = e->signal;
        s->nended++;
        if (e->exit_code != 0 && !s->failed) {
            s->failed = 1;
            s->exit_code = e->exit_code;
            fprintf(stderr, "fleetd: job %lld step %d: rank %d failed (exit %d); killing the "
                            "others\n",
                    (long long)j->id, s->id, e->rank, e->exit_code);
            step_kill(c, s);
        }
        if (s->nended == s->world)
            s->done = 1;
        answer_readers(s);
    }
}

/* Step commands for share k of job j in a reply (repeated until the node's
 * ranks have ended). Returns how many were added. */
int steps_compose(ctl *c, fjob *j, int k, proto_node_cmds *nc, int *fresh)
{
    (void)c;
    int added = 0;
    for (fstep *s = j->steps; s; s = s->next) {
        int32_t mine = 0, open = 0;
        for (int32_t r = 0; r < s->world; r++)
            if (s->ranks[r].k == k) {
                mine++;
                open += !s->ranks[r].ended;
            }
        if (!mine || !open)
            continue;
        if (s->killed) {
            nc->step_kills = realloc(nc->step_kills,
                                     (size_t)(nc->nstep_kills + 1) * sizeof *nc->step_kills);
            if (!nc->step_kills)
                abort();
            nc->step_kills[nc->nstep_kills++] = (proto_step_kill){j->id, s->id};
            added++;
            if (s->sent[k] < 2) {
                s->sent[k] = 2;
                (*fresh)++;
            }
            continue;
        }
        nc->steps = realloc(nc->steps, (size_t)(nc->nsteps + 1) * sizeof *nc->steps);
        if (!nc->steps)
            abort();
        proto_step *ps = &nc->steps[nc->nsteps++];
        memset(ps, 0, sizeof *ps);
        ps->job = j->id;
        ps->run = s->run;
        ps->step = s->id;
        ps->argv = xcalloc((size_t)s->argc, sizeof *ps->argv);
        for (int32_t i = 0; i < s->argc; i++)
            ps->argv[i] = xstrdup(s->argv[i]);
        ps->argc = s->argc;
        if (s->nenv) {
            ps->env = xcalloc((size_t)s->nenv, sizeof *ps->env);
            for (int32_t i = 0; i < s->nenv; i++)
                ps->env[i] = xstrdup(s->env[i]);
            ps->nenv = s->nenv;
        }
        ps->world_size = s->world;
        snprintf(ps->master_addr, sizeof ps->master_addr, "%s", s->master_addr);
        ps->master_port = s->master_port;
        ps->ranks = xcalloc((size_t)mine, sizeof *ps->ranks);
        for (int32_t r = 0; r < s->world; r++)
            if (s->ranks[r].k == k)
                ps->ranks[ps->nranks++] =
                    (proto_step_rank){r, s->ranks[r].local_rank, s->ranks[r].gpus};
        added++;
        if (!s->sent[k]) {
            s->sent[k] = 1;
            (*fresh)++;
        }
    }
    return added;
}

/* ---- the API ------------------------------------------------------------------------ */
static fjob *step_job(ctl *c, http_req *r, int64_t id)
{
    fjob *j = ctl_job_find(c, id);
    if (!j) {
        http_reply_error(r, 404, "not_found", "id", "no job %lld", (long long)id);
        return NULL;
    }
    if (j->uid != r->uid && !ctl_is_operator(c, r)) {
        http_reply_error(r, 403, "forbidden", "id", "job %lld belongs to %s", (long long)j->id,
                         j->user);
        return NULL;
    }
    return j;
}

static int strings(json_t *arr, const char *field, size_t max, int need_eq, char ***out,
                   int32_t *n, http_req *r)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > max) {
        http_reply_error(r, 400, "invalid", field, "an array of at most %zu strings", max);
        return -1;
    }
    size_t cnt = json_array_size(arr);
    *out = xcalloc(cnt, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < cnt; i++) {
        json_t *v = json_array_get(arr, i);
        const char *sv = json_is_string(v) ? json_string_value(v) : NULL;
        if (!sv || strlen(sv) != json_string_length(v) || (need_eq && !strchr(sv, '=')) ||
            (need_eq && sv[0] == '=') || (!need_eq && i == 0 && !*sv)) {
            http_reply_error(r, 400, "invalid", field, "%s[%zu]: %s", field, i,
                             need_eq ? "a \"KEY=VALUE\" string" : "a non-empty string");
            return -1;
        }
        (*out)[(*n)++] = xstrdup(sv);
    }
    return 0;
}

static void free_strings(char **v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* GPUs job j sees on its share k: its mask's, or what it asked for. */
static int32_t share_gpus(const fjob *j, int k)
{
    if (j->gpumask && j->gpumask[k])
        return (int32_t)__builtin_popcountll(j->gpumask[k]);
    int32_t g = j->sj.alloc[k].gpus;
    if (j->sj.gpus_per_node > 0 && j->sj.gpus_per_node < g)
        g = j->sj.gpus_per_node;
    return g > 0 ? g : 1;
}

static void step_create(ctl *c, http_req *r, int64_t id)
{
    fjob *j = step_job(c, r, id);
    if (!j)
        return;
    if (c->o.no_agents) {
        http_reply_error(r, 409, "no_agents", NULL,
                         "this controller runs without agents (--no-agents)");
        return;
    }
    if (j->state != FJOB_RUNNING) {
        http_reply_error(r, 409, "conflict", "id", "job %lld is not running", (long long)id);
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(r->body ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        http_reply_error(r, 400, "invalid", NULL, "body: a JSON object: %s", je.text);
        json_decref(o);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "argv") && strcmp(key, "per_gpu") && strcmp(key, "env")) {
            http_reply_error(r, 400, "invalid", key, "unknown field");
            json_decref(o);
            return;
        }
    }
    json_t *pg = json_object_get(o, "per_gpu");
    if (pg && !json_is_boolean(pg)) {
        http_reply_error(r, 400, "invalid", "per_gpu", "a boolean");
        json_decref(o);
        return;
    }
    char **argv = NULL, **env = NULL;
    int32_t argc = 0, nenv = 0;
    if (strings(json_object_get(o, "argv"), "argv", STEP_ARGV_MAX, 0, &argv, &argc, r) != 0 ||
        strings(json_object_get(o, "env"), "env", STEP_ENV_MAX, 1, &env, &nenv, r) != 0) {
        free_strings(argv, argc);
        free_strings(env, nenv);
        json_decref(o);
        return;
    }
    if (argc == 0) {
        http_reply_error(r, 400, "invalid", "argv", "the command to run: a non-empty array");
        free_strings(argv, argc);
        free_strings(env, nenv);
        json_decref(o);
        return;
    }
    int per_gpu = pg && json_is_true(pg);
    json_decref(o);

    fstep *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->job = j;
    s->id = ++j->nsteps_made;
    s->run = j->restarts;
    s->argv = argv;
    s->argc = argc;
    s->env = env;
    s->nenv = nenv;
    /* ranks: per node, or per GPU the job sees (its mask; a gang asking
     * for fewer GPUs per node than a node has sees only those) in node order */
    int32_t world = 0;
    for (int32_t k = 0; k < j->sj.nalloc; k++)
        world += per_gpu ? share_gpus(j, k) : 1;
    s->ranks = xcalloc((size_t)world, sizeof *s->ranks);
    s->sent = xcalloc((size_t)j->sj.nalloc, 1);
    for (int32_t k = 0; k < j->sj.nalloc; k++) {
        uint64_t mask = j->gpumask ? j->gpumask[k] : 0;
        int32_t want = share_gpus(j, k);
        if (per_gpu && want > 0) {
            int32_t local = 0;
            for (int g = 0; g < 64 && local < want; g++)
                if (mask >> g & 1) {
                    s->ranks[s->world++] = (step_rank){k, local++, 1ull << g, 0, 0, 0};
                }
            while (local < want) /* mask not known yet: no GPU pinning */
                s->ranks[s->world++] = (step_rank){k, local++, 0, 0, 0, 0};
        } else {
            s->ranks[s->world++] = (step_rank){k, 0, mask, 0, 0, 0};
        }
    }
    agent_node_addr(c, j->sj.alloc[0].node, s->master_addr, sizeof s->master_addr);
    /* a port per (job, step), stable across ranks: 20000..59999 */
    s->master_port = 20000 + (int32_t)(((uint64_t)j->id * 131 + (uint64_t)s->id) % 40000);
    uv_timer_init(c->loop, &s->timer);
    s->timer.data = s;
    s->next = j->steps;
    j->steps = s;
    wake_step_nodes(c, s);

    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_int(&w, "job", j->id);
    jsonw_kv_int(&w, "step", s->id);
    jsonw_kv_int(&w, "world_size", s->world);
    jsonw_kv_str(&w, "master_addr", s->master_addr);
    jsonw_kv_int(&w, "master_port", s->master_port);
    jsonw_key(&w, "ranks");
    jsonw_arr_open(&w);
    for (int32_t i = 0; i < s->world; i++) {
        jsonw_obj_open(&w);
        jsonw_kv_int(&w, "rank", i);
        jsonw_kv_int(&w, "local_rank", s->ranks[i].local_rank);
        jsonw_kv_str(&w, "node", sched_node_name(c->s, j->sj.alloc[s->ranks[i].k].node));
        jsonw_obj_close(&w);
    }
    jsonw_arr_close(&w);
    jsonw_obj_close(&w);
    size_t len;
    char *body = jsonw_finish(&w, &len);
    http_reply(r, 201, body, len);
}

/* Routes under /v1/jobs/ID/steps (the URL is parsed here: two ids). */
void steps_route(ctl *c, http_req *r)
{
    long long id;
    int step, n = 0;
    const char *u = r->url;
    if (sscanf(u, "/v1/jobs/%lld/steps%n", &id, &n) == 1 && u[n] == '\0' && id > 0) {
        if (strcmp(r->method, "POST") != 0) {
            http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                             r->method, u);
            return;
        }
        step_create(c, r, id);
        return;
    }
    n = 0;
    if (sscanf(u, "/v1/jobs/%lld/steps/%d%n", &id, &step, &n) != 2 || u[n] != '\0' || id <= 0 ||
        step <= 0) {
        http_reply_error(r, 404, "not_found", NULL, "no such resource: %s", u);
        return;
    }
    fjob *j = step_job(c, r, id);
    if (!j)
        return;
    fstep *s = step_find(j, step);
    if (!s) {
        http_reply_error(r, 404, "not_found", "step",
                         "job %lld has no step %d (steps end with their job)", id, step);
        return;
    }
    if (strcmp(r->method, "DELETE") == 0) {
        if (!s->done && !s->failed) {
            s->failed = 1;
            s->exit_code = 130;
        }
        step_kill(c, s);
        reply_output(s, r);
        return;
    }
    if (strcmp(r->method, "GET") != 0) {
        http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                         r->method, u);
        return;
    }
    const char *a = http_query(r, "after");
    const char *wm = http_query(r, "wait_ms");
    long long after = a ? strtoll(a, NULL, 10) : 0;
    long wait = wm ? strtol(wm, NULL, 10) : 0;
    if (wait < 0)
        wait = 0;
    if (wait > 10000)
        wait = 10000;
    if (s->done || after < s->next_off || wait == 0) {
        reply_output(s, r);
        return;
    }
    /* nothing new yet: hold it until output, an end, or the wait passes */
    r->next = s->readers;
    s->readers = r;
    http_suspend(r);
    if (!uv_is_active((uv_handle_t *)&s->timer))
        uv_timer_start(&s->timer, on_reader_timer, (uint64_t)wait, 0);
}
