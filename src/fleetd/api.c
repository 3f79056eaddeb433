/*
 * api.c: the /v1 HTTP API of fleetd, a table of routes. Each route says who
 * may call it: any authenticated user, or operators only (root, configured
 * operator uids, operator tokens). Users see every job's public fields but
 * change only their own jobs; a job's request (script, environment) is shown
 * to its owner and operators only. Errors are { "error": { code, message,
 * field } } with 4xx for bad requests.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h"
#include "jsonw.h"

enum role { ROLE_USER, ROLE_OPERATOR };

typedef void (*route_fn)(ctl *c, http_req *r, const char *arg);

typedef struct route {
    const char *method;
    const char *pattern; /* '*' matches one path segment, passed as arg */
    route_fn fn;
    int role;
} route;

static const char *state_name(int st)
{
    switch (st) {
    case FJOB_PENDING: return "pending";
    case FJOB_RUNNING: return "running";
    case FJOB_COMPLETED: return "completed";
    case FJOB_FAILED: return "failed";
    case FJOB_CANCELLED: return "cancelled";
    case FJOB_TIMEOUT: return "timeout";
    case FJOB_NODE_FAIL: return "node_fail";
    case FJOB_PREEMPTED: return "preempted";
    }
    return "unknown";
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

static void reply_json(http_req *r, unsigned status, jsonw *w)
{
    size_t len;
    char *body = jsonw_finish(w, &len);
    http_reply(r, status, body, len);
}

/* ---- rendering ------------------------------------------------------------ */
static const char *pending_reason(ctl *c, const fjob *j)
{
    if (j->state != FJOB_PENDING)
        return "";
    if (j->held)
        return "held";
    if (j->dep_wait == 2)
        return "dependency_never_satisfied";
    if (j->dep_wait)
        return "dependency";
    if (j->array_wait)
        return "array_limit";
    if (j->pol_wait)
        return policy_reason_name(j); /* the center's QOS limits and allocations */
    if (policy_job_awaiting(j))
        return "preemption"; /* its victims are leaving (their grace) */
    return sched_reason_name(sched_job_reason(c->s, &j->sj));
}

static void job_fields(ctl *c, jsonw *w, const fjob *j)
{
    jsonw_kv_int(w, "id", j->id);
    jsonw_kv_str(w, "name", j->name);
    jsonw_kv_str(w, "user", j->user);
    jsonw_kv_int(w, "uid", j->uid);
    jsonw_kv_str(w, "account", j->account);
    jsonw_kv_str(w, "qos", j->qos);
    jsonw_kv_str(w, "pool", j->pool);
    jsonw_kv_str(w, "state", state_name(j->state));
    jsonw_kv_str(w, "reason", pending_reason(c, j));
    jsonw_kv_bool(w, "held", j->held);
    jsonw_kv_int(w, "gpus", j->sj.nodes > 0 ? 0 : j->sj.gpus);
    jsonw_kv_int(w, "nodes", j->sj.nodes);
    jsonw_kv_int(w, "gpus_per_node", j->sj.gpus_per_node);
    jsonw_kv_int(w, "alloc_gpus", j->state == FJOB_RUNNING ? j->sj.alloced_gpus : 0);
    jsonw_kv_int(w, "submit_time", j->submit_time);
    jsonw_kv_int(w, "start_time", j->start_time);
    jsonw_kv_int(w, "end_time", j->end_time);
    jsonw_kv_int(w, "time_limit", j->time_limit);
    if (j->state == FJOB_PENDING && j->sj.est_start >= 0 && !j->sj.held)
        jsonw_kv_int(w, "est_start", j->sj.est_start);
    else
        jsonw_kv_null(w, "est_start");
    jsonw_kv_str(w, "nodelist", j->nodelist ? j->nodelist : "");
    if (j->state == FJOB_PENDING || j->state == FJOB_RUNNING)
        jsonw_kv_null(w, "exit_code");
    else
        jsonw_kv_int(w, "exit_code", j->exit_code);
    jsonw_kv_int(w, "gpu_seconds", j->gpu_seconds);
    jsonw_kv_int(w, "restarts", j->restarts);
    if (j->array_job_id) {
        jsonw_kv_int(w, "array_job_id", j->array_job_id);
        jsonw_kv_int(w, "array_task_id", j->array_task_id);
    }
    if (j->state == FJOB_RUNNING && j->preempt_at) {
        jsonw_kv_int(w, "preempted_by", j->preempt_by);
        jsonw_kv_int(w, "preempt_deadline", j->preempt_at);
    }
    policy_job_fields(c, w, j); /* with a center: reason_detail, allocation */
}

/* ---- jobs ------------------------------------------------------------------ */

/* A filter value may list several, comma-separated. */
static int matches(const char *want, const char *have)
{
    if (!want || !*want)
        return 1;
    size_t hl = strlen(have);
    for (const char *p = want; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == hl && strncmp(p, have, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int state_matches(const char *want, int st)
{
    if (!want || !*want)
        return 1;
    if (matches(want, "active") && (st == FJOB_PENDING || st == FJOB_RUNNING))
        return 1;
    if (matches(want, "finished") && st != FJOB_PENDING && st != FJOB_RUNNING)
        return 1;
    return matches(want, state_name(st));
}

static void list_jobs(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    const char *st = http_query(r, "state"), *user = http_query(r, "user");
    const char *acct = http_query(r, "account"), *pool = http_query(r, "pool");
    const char *lim = http_query(r, "limit"), *prio = http_query(r, "priority");
    int with_priority = prio && *prio && strcmp(prio, "0") != 0;
    int64_t limit = INT64_MAX;
    if (lim && (parse_id(lim, &limit) != 0)) {
        http_reply_error(r, 400, "invalid", "limit", "limit: a positive integer, got \"%s\"", lim);
        return;
    }
    static const char *const states[] = {"pending", "running", "completed", "failed", "cancelled",
                                         "timeout", "node_fail", "preempted", "active", "finished"};
    for (const char *p = st; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int ok = 0;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
            ok |= strlen(states[i]) == n && strncmp(states[i], p, n) == 0;
        if (!ok) {
            http_reply_error(r, 400, "invalid", "state", "state: unknown state \"%.*s\"", (int)n, p);
            return;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    jsonw w;
    jsonw_init(&w);
    jsonw_reserve(&w, c->nall * 400 + 64); /* ~340 bytes a job: one allocation */
    jsonw_obj_open(&w);
    jsonw_key(&w, "jobs");
    jsonw_arr_open(&w);
    int64_t n = 0;
    for (size_t i = 0; i < c->nall && n < limit; i++) {
        const fjob *j = c->all[i];
        if (!state_matches(st, j->state) || !matches(user, j->user) ||
            !matches(acct, j->account) || !matches(pool, j->pool))
            continue;
        jsonw_obj_open(&w);
        job_fields(c, &w, j);
        if (with_priority)
            policy_priority_fields(c, &w, j);
        jsonw_obj_close(&w);
        n++;
    }
    jsonw_arr_close(&w);
    jsonw_kv_int(&w, "count", n);
    if (with_priority)
        policy_priority_header(c, &w);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static fjob *job_arg(ctl *c, http_req *r, const char *arg)
{
    int64_t id;
    if (parse_id(arg, &id) != 0) {
        http_reply_error(r, 400, "invalid", "id", "job id: a positive integer, got \"%s\"", arg);
        return NULL;
    }
    fjob *j = ctl_job_find(c, id);
    if (!j)
        http_reply_error(r, 404, "not_found", "id", "no job %lld", (long long)id);
    return j;
}

static int may_change(ctl *c, http_req *r, const fjob *j)
{
    if (j->uid == r->uid || ctl_is_operator(c, r))
        return 1;
    http_reply_error(r, 403, "forbidden", "id", "job %lld belongs to %s", (long long)j->id,
                     j->user);
    return 0;
}

static void show_job(ctl *c, http_req *r, const char *arg)
{
    fjob *j = job_arg(c, r, arg);
    if (!j)
        return;
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    job_fields(c, &w, j);
    if (j->uid == r->uid || ctl_is_operator(c, r)) {
        store_job rec;
        char err[256];
        memset(&rec, 0, sizeof rec);
        if (store_job_get(c->st, j->id, &rec, err, sizeof err) == 1 && rec.spec_json) {
            jsonw_key(&w, "request");
            jsonw_raw(&w, rec.spec_json);
        }
        free(rec.spec_json);
    }
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static void submit(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    jobspec js;
    jobspec_init(&js);
    char field[64] = "", err[512] = "";
    if (!r->body || r->len == 0) {
        http_reply_error(r, 400, "invalid", NULL, "a job request (JSON object) is required");
        return;
    }
    if (jobspec_from_json(r->body, r->len, &js, field, sizeof field, err, sizeof err) != 0) {
        http_reply_error(r, 400, "invalid", field[0] ? field : NULL, "%s", err);
        jobspec_free(&js);
        return;
    }
    size_t ntasks = js.narray ? js.narray : 1;
    int64_t now = ctl_now();
    int64_t first = c->next_id;
    const char *name = js.name[0] ? js.name : js.wrap ? "wrap" : "script";
    fjob **jobs = calloc(ntasks, sizeof *jobs);
    if (!jobs) {
        http_reply_error(r, 503, "no_memory", NULL, "out of memory");
        jobspec_free(&js);
        return;
    }
    for (size_t i = 0; i < ntasks; i++) {
        fjob *j = calloc(1, sizeof *j);
        if (!j)
            abort();
        jobs[i] = j;
        j->id = first + (int64_t)i;
        j->array_job_id = js.narray ? first : 0;
        j->array_task_id = js.narray ? (int32_t)js.array_ids[i] : -1;
        j->uid = r->uid;
        j->gid = r->gid;
        j->user = ctl_intern(c, r->user);
        j->account = ctl_intern(c, js.account);
        j->qos = ctl_intern(c, js.qos);
        j->pool = ctl_intern(c, js.pool);
        j->name = strdup(name);
        j->state = FJOB_PENDING;
        j->held = js.hold;
        j->submit_time = now;
        j->exit_code = -1;
        int bad_dep = 0;
        for (size_t d = 0; d < js.ndeps; d++)
            if (js.deps[d].type != JOB_DEP_SINGLETON && !ctl_job_find(c, js.deps[d].job_id)) {
                snprintf(field, sizeof field, "dependency");
                snprintf(err, sizeof err, "no job %lld", (long long)js.deps[d].job_id);
                bad_dep = 1;
            }
        if (bad_dep || ctl_spec_to_sched(c, &js, j, field, sizeof field, err, sizeof err) != 0) {
            http_reply_error(r, 400, "invalid", field[0] ? field : NULL, "%s", err);
            for (size_t k = 0; k <= i; k++) {
                free(jobs[k]->name);
                free(jobs[k]);
            }
            free(jobs);
            jobspec_free(&js);
            return;
        }
    }
    /* the center's rules: project, QOS, allocation (may fill js.account, js.qos) */
    if (policy_admit(c, &js, jobs, ntasks, r, field, sizeof field, err, sizeof err) != 0) {
        http_reply_error(r, 400, "invalid", field, "%s", err);
        for (size_t k = 0; k < ntasks; k++) {
            free(jobs[k]->name);
            free(jobs[k]);
        }
        free(jobs);
        jobspec_free(&js);
        return;
    }
    c->next_id += (int64_t)ntasks;
    for (size_t i = 0; i < ntasks; i++)
        ctl_job_set_gates(c, jobs[i], &js);
    /* the first task stores the whole request; the others are stored
     * without the array spec, so that recovery reads the array once, not
     * once per task (which would be quadratic) */
    char *first_spec = jobspec_to_json(&js);
    js.array_spec[0] = '\0';
    free(js.array_ids);
    js.array_ids = NULL;
    js.narray = 0;
    js.array_max_running = 0;
    char *spec = ntasks > 1 ? jobspec_to_json(&js) : NULL;
    for (size_t i = 0; i < ntasks; i++)
        ctl_queue_new(c, jobs[i], i == 0 ? first_spec : i + 1 < ntasks ? strdup(spec) : spec, r,
                      i == 0);
    free(jobs);
    jobspec_free(&js);
}

void api_reply_submitted(ctl *c, http_req *r, const ctl_sub *subs, size_t nsubs, size_t first)
{
    (void)c;
    const fjob *j = subs[first].job;
    size_t n = 1;
    while (first + n < nsubs && subs[first + n].req == NULL &&
           subs[first + n].job->array_job_id == j->array_job_id && j->array_job_id)
        n++;
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_int(&w, "id", j->id);
    if (j->array_job_id) {
        jsonw_kv_int(&w, "array_job_id", j->array_job_id);
        jsonw_kv_int(&w, "tasks", (int64_t)n);
    }
    jsonw_obj_close(&w);
    reply_json(r, 201, &w);
}

static void reply_job_state(ctl *c, http_req *r, const fjob *j)
{
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    job_fields(c, &w, j);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static void cancel_one(ctl *c, http_req *r, const char *arg)
{
    fjob *j = job_arg(c, r, arg);
    if (!j || !may_change(c, r, j))
        return;
    if (j->state != FJOB_PENDING && j->state != FJOB_RUNNING) {
        http_reply_error(r, 409, "conflict", "id", "job %lld already ended (%s)",
                         (long long)j->id, state_name(j->state));
        return;
    }
    ctl_job_finish(c, j, FJOB_CANCELLED, -1);
    reply_job_state(c, r, j);
    ctl_wait_commit(c, r);
}

/* POST /v1/jobs/cancel {"ids":[...]} or {"user":"name", "state":"pending"}:
 * many jobs, one request, one commit. */
static void cancel_many(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    json_error_t je;
    json_t *o = json_loadb(r->body ? r->body : "", r->len, 0, &je);
    if (!o || !json_is_object(o)) {
        http_reply_error(r, 400, "invalid_json", NULL, "body: %s",
                         o ? "must be a JSON object" : je.text);
        json_decref(o);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "ids") && strcmp(key, "user") && strcmp(key, "state")) {
            http_reply_error(r, 400, "invalid", key, "%s: unknown field", key);
            json_decref(o);
            return;
        }
    }
    json_t *ids = json_object_get(o, "ids");
    json_t *user = json_object_get(o, "user");
    json_t *st = json_object_get(o, "state");
    if ((ids && !json_is_array(ids)) || (user && !json_is_string(user)) ||
        (st && !json_is_string(st)) || (!ids && !user)) {
        const char *f = ids && !json_is_array(ids) ? "ids"
                      : user && !json_is_string(user) ? "user"
                      : st && !json_is_string(st) ? "state" : "ids";
        http_reply_error(r, 400, "invalid", f, "%s: give \"ids\" (array of job ids) or \"user\"",
                         f);
        json_decref(o);
        return;
    }
    int64_t cancelled = 0, denied = 0, not_found = 0, ended = 0;
    int op = ctl_is_operator(c, r);
    if (ids) {
        size_t i;
        json_t *e;
        json_array_foreach(ids, i, e)
        {
            fjob *j = json_is_integer(e) ? ctl_job_find(c, json_integer_value(e)) : NULL;
            if (!j) {
                not_found++;
            } else if (j->uid != r->uid && !op) {
                denied++;
            } else if (j->state != FJOB_PENDING && j->state != FJOB_RUNNING) {
                ended++;
            } else {
                ctl_job_finish(c, j, FJOB_CANCELLED, -1);
                cancelled++;
            }
        }
    } else {
        const char *u = json_string_value(user);
        const char *s = st ? json_string_value(st) : "active";
        for (size_t i = 0; i < c->nall; i++) {
            fjob *j = c->all[i];
            if (strcmp(j->user, u) != 0 || !state_matches(s, j->state) ||
                (j->state != FJOB_PENDING && j->state != FJOB_RUNNING))
                continue;
            if (j->uid != r->uid && !op) {
                denied++;
                continue;
            }
            ctl_job_finish(c, j, FJOB_CANCELLED, -1);
            cancelled++;
        }
    }
    json_decref(o);
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_int(&w, "cancelled", cancelled);
    jsonw_kv_int(&w, "denied", denied);
    jsonw_kv_int(&w, "not_found", not_found);
    jsonw_kv_int(&w, "already_ended", ended);
    jsonw_obj_close(&w);
    reply_json(r, denied && !cancelled ? 403 : 200, &w);
    ctl_wait_commit(c, r);
}

static void hold_release(ctl *c, http_req *r, const char *arg, int hold)
{
    fjob *j = job_arg(c, r, arg);
    if (!j || !may_change(c, r, j))
        return;
    if (j->state != FJOB_PENDING) {
        http_reply_error(r, 409, "conflict", "id", "job %lld is %s: only pending jobs can be %s",
                         (long long)j->id, state_name(j->state), hold ? "held" : "released");
        return;
    }
    j->held = hold;
    j->sj.held = hold;
    ctl_mark_dirty(c, j);
    c->sched_dirty = 1;
    reply_job_state(c, r, j);
    ctl_wait_commit(c, r);
}

static void hold_job(ctl *c, http_req *r, const char *arg) { hold_release(c, r, arg, 1); }
static void release_job(ctl *c, http_req *r, const char *arg) { hold_release(c, r, arg, 0); }

static void requeue_job(ctl *c, http_req *r, const char *arg)
{
    fjob *j = job_arg(c, r, arg);
    if (!j || !may_change(c, r, j))
        return;
    char err[256];
    if (ctl_job_requeue(c, j, err, sizeof err) != 0) {
        http_reply_error(r, 409, "conflict", "id", "job %lld: %s", (long long)j->id, err);
        return;
    }
    reply_job_state(c, r, j);
    ctl_wait_commit(c, r);
}

/* ---- nodes ----------------------------------------------------------------- */
static const char *node_state_name(int st)
{
    return st == SCHED_NODE_UP ? "up" : st == SCHED_NODE_DRAIN ? "drain" : "down";
}

static void node_fields(ctl *c, int node, jsonw *w, const sched_node_info *n)
{
    jsonw_kv_str(w, "name", n->name);
    jsonw_kv_str(w, "pool", n->pool);
    jsonw_kv_str(w, "block", n->block);
    jsonw_kv_str(w, "state", node_state_name(n->state));
    jsonw_kv_int(w, "gpus", n->gpus);
    jsonw_kv_int(w, "free_gpus", n->free_gpus);
    jsonw_kv_int(w, "cpus", n->cpus);
    jsonw_kv_int(w, "free_cpus", n->free_cpus);
    jsonw_kv_int(w, "memory_mb", n->mem_mb);
    jsonw_kv_int(w, "free_memory_mb", n->free_mem_mb);
    jsonw_kv_int(w, "jobs", n->njobs);
    const char *reason = c->node_reason ? c->node_reason[node] : NULL;
    if (!reason && n->state != SCHED_NODE_UP)
        reason = agent_node_why(c, node);
    jsonw_kv_str(w, "reason", reason ? reason : "");
    agent_node_fields(c, node, w);
}

static void list_nodes(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    const char *pool = http_query(r, "pool"), *st = http_query(r, "state");
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "nodes");
    jsonw_arr_open(&w);
    int n = sched_node_count(c->s), count = 0;
    for (int i = 0; i < n; i++) {
        sched_node_info ni;
        sched_node_get(c->s, i, &ni);
        if (!matches(pool, ni.pool) || !matches(st, node_state_name(ni.state)))
            continue;
        jsonw_obj_open(&w);
        node_fields(c, i, &w, &ni);
        jsonw_obj_close(&w);
        count++;
    }
    jsonw_arr_close(&w);
    jsonw_kv_int(&w, "count", count);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static int node_arg(ctl *c, http_req *r, const char *arg)
{
    int n = sched_node_find(c->s, arg);
    if (n < 0)
        http_reply_error(r, 404, "not_found", "node", "no node \"%s\"", arg);
    return n;
}

static void show_node(ctl *c, http_req *r, const char *arg)
{
    int n = node_arg(c, r, arg);
    if (n < 0)
        return;
    sched_node_info ni;
    sched_node_get(c->s, n, &ni);
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    node_fields(c, n, &w, &ni);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static void set_node(ctl *c, http_req *r, const char *arg, int state)
{
    int n = node_arg(c, r, arg);
    if (n < 0)
        return;
    char reason[256] = "";
    if (r->len) {
        json_error_t je;
        json_t *o = json_loadb(r->body, r->len, 0, &je);
        json_t *rs = o ? json_object_get(o, "reason") : NULL;
        if (!o || !json_is_object(o) || (rs && !json_is_string(rs)) ||
            json_object_size(o) > (rs ? 1u : 0u)) {
            http_reply_error(r, 400, "invalid", "reason",
                             "body: optional {\"reason\": \"text\"} only");
            json_decref(o);
            return;
        }
        if (rs)
            snprintf(reason, sizeof reason, "%s", json_string_value(rs));
        json_decref(o);
    }
    char err[256];
    if (store_node_set(c->st, arg, state, reason, err, sizeof err) != 0) {
        http_reply_error(r, 503, "store", NULL, "not stored: %s", err);
        return;
    }
    agent_node_set_op(c, n, state);
    ctl_set_node_reason(c, n, state == SCHED_NODE_UP ? NULL : reason);
    c->sched_dirty = 1;
    show_node(c, r, arg);
}

static void drain_node(ctl *c, http_req *r, const char *arg) { set_node(c, r, arg, SCHED_NODE_DRAIN); }
static void resume_node(ctl *c, http_req *r, const char *arg) { set_node(c, r, arg, SCHED_NODE_UP); }

/* ---- status ---------------------------------------------------------------- */
static void get_status(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "version", "0.1.0");
    jsonw_kv_str(&w, "policy", sched_policy_name(c->o.policy));
    jsonw_kv_int(&w, "nodes", sched_node_count(c->s));
    jsonw_kv_int(&w, "gpus", sched_total_gpus(c->s));
    jsonw_kv_int(&w, "free_gpus", sched_free_gpus(c->s));
    jsonw_kv_int(&w, "pending", (int64_t)sched_pending_count(c->s));
    jsonw_kv_int(&w, "running", (int64_t)sched_running_count(c->s));
    jsonw_kv_int(&w, "jobs", (int64_t)c->nall);
    jsonw_kv_int(&w, "passes", (int64_t)c->stats.passes);
    jsonw_kv_int(&w, "commits", (int64_t)c->stats.commits);
    jsonw_key(&w, "you");
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "user", r->user);
    jsonw_kv_int(&w, "uid", r->uid);
    jsonw_kv_bool(&w, "operator", ctl_is_operator(c, r));
    jsonw_obj_close(&w);
    jsonw_obj_close(&w);
    reply_json(r, 200, &w);
}

static void post_agent_sync(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    agent_sync(c, r);
}

static void route_steps(ctl *c, http_req *r, const char *arg)
{
    (void)arg;
    steps_route(c, r);
}

static const route routes[] = {
    {"GET", "/v1/status", get_status, ROLE_USER},
    {"GET", "/v1/jobs", list_jobs, ROLE_USER},
    {"POST", "/v1/jobs", submit, ROLE_USER},
    {"POST", "/v1/jobs/cancel", cancel_many, ROLE_USER},
    {"GET", "/v1/jobs/*", show_job, ROLE_USER},
    {"DELETE", "/v1/jobs/*", cancel_one, ROLE_USER},
    {"POST", "/v1/jobs/*/cancel", cancel_one, ROLE_USER},
    {"POST", "/v1/jobs/*/hold", hold_job, ROLE_USER},
    {"POST", "/v1/jobs/*/release", release_job, ROLE_USER},
    {"POST", "/v1/jobs/*/requeue", requeue_job, ROLE_USER},
    {"GET", "/v1/nodes", list_nodes, ROLE_USER},
    {"GET", "/v1/nodes/*", show_node, ROLE_USER},
    {"POST", "/v1/nodes/*/drain", drain_node, ROLE_OPERATOR},
    {"POST", "/v1/nodes/*/resume", resume_node, ROLE_OPERATOR},
    {"POST", "/v1/jobs/*/steps", route_steps, ROLE_USER},
    {"GET", "/v1/jobs/*/steps/*", route_steps, ROLE_USER},
    {"DELETE", "/v1/jobs/*/steps/*", route_steps, ROLE_USER},
    /* the center's policy and accounting (policy.c) */
    {"GET", "/v1/usage", policy_route_usage, ROLE_USER},
    {"GET", "/v1/admin/accounts", policy_route_accounts, ROLE_OPERATOR},
    {"POST", "/v1/admin/reload", policy_route_reload, ROLE_OPERATOR},
    {"POST", "/v1/admin/accounts", policy_route_set_account, ROLE_OPERATOR},
    {"POST", "/v1/admin/members", policy_route_add_member, ROLE_OPERATOR},
    {"POST", "/v1/admin/members/remove", policy_route_remove_member, ROLE_OPERATOR},
    {"POST", "/v1/admin/allocations", policy_route_set_allocation, ROLE_OPERATOR},
    /* operators' reservations of nodes (resv_api.c) */
    {"GET", "/v1/reservations", resv_route, ROLE_OPERATOR},
    {"POST", "/v1/reservations", resv_route, ROLE_OPERATOR},
    {"DELETE", "/v1/reservations/*", resv_route, ROLE_OPERATOR},
    /* agents: authenticated by a MAC per message, not by a user (agent.c) */
    {"POST", "/v1/agent/sync", post_agent_sync, ROLE_USER},
};

/* Match a pattern like "/v1/jobs/<*>" against a path; '*' takes one non-empty segment. */
static int match(const char *pat, const char *path, char *arg, size_t arglen)
{
    while (*pat && *path) {
        if (*pat == '*') {
            const char *e = strchr(path, '/');
            size_t n = e ? (size_t)(e - path) : strlen(path);
            if (n == 0 || n >= arglen)
                return 0;
            memcpy(arg, path, n);
            arg[n] = '\0';
            path += n;
            pat++;
            continue;
        }
        if (*pat++ != *path++)
            return 0;
    }
    return *pat == '\0' && *path == '\0';
}

void ctl_http_handler(http_req *r, void *arg)
{
    ctl *c = arg;
    char seg[256];
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *rt = &routes[i];
        if (!match(rt->pattern, r->url, seg, sizeof seg))
            continue;
        path_known = 1;
        if (strcmp(rt->method, r->method) != 0)
            continue;
        if (rt->role == ROLE_OPERATOR && !ctl_is_operator(c, r)) {
            http_reply_error(r, 403, "forbidden", NULL, "%s %s: operators only", r->method,
                             r->url);
            return;
        }
        rt->fn(c, r, seg);
        return;
    }
    if (path_known)
        http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                         r->method, r->url);
    else
        http_reply_error(r, 404, "not_found", NULL, "no such resource: %s", r->url);
}
