/* ctl.c: the controller's state, its group commit and its scheduling. */
#include "ctl_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jobspec.h"
#include "trace.h"

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

int64_t ctl_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- interned strings: users, accounts, pools repeat across jobs ------ */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

const char *ctl_intern(ctl *c, const char *s)
{
    if (!s)
        s = "";
    if (c->nstrs * 2 >= c->capstrs) {
        size_t ncap = c->capstrs ? c->capstrs * 2 : 256;
        char **nt = xcalloc(ncap, sizeof *nt);
        for (size_t i = 0; i < c->capstrs; i++)
            if (c->strs[i]) {
                size_t k = hash_str(c->strs[i]) & (ncap - 1);
                while (nt[k])
                    k = (k + 1) & (ncap - 1);
                nt[k] = c->strs[i];
            }
        free(c->strs);
        c->strs = nt;
        c->capstrs = ncap;
    }
    size_t k = hash_str(s) & (c->capstrs - 1);
    while (c->strs[k]) {
        if (strcmp(c->strs[k], s) == 0)
            return c->strs[k];
        k = (k + 1) & (c->capstrs - 1);
    }
    c->strs[k] = strdup(s);
    if (!c->strs[k])
        abort();
    c->nstrs++;
    return c->strs[k];
}

/* ---- the job table: id -> job (open addressing) and id order ---------- */
static void tab_put(ctl *c, fjob *j)
{
    if (c->ntab * 2 >= c->captab) {
        size_t ncap = c->captab ? c->captab * 2 : 1024;
        fjob **nt = xcalloc(ncap, sizeof *nt);
        for (size_t i = 0; i < c->captab; i++)
            if (c->tab[i]) {
                size_t k = (uint64_t)c->tab[i]->id * 0x9E3779B97F4A7C15ULL >> 20 & (ncap - 1);
                while (nt[k])
                    k = (k + 1) & (ncap - 1);
                nt[k] = c->tab[i];
            }
        free(c->tab);
        c->tab = nt;
        c->captab = ncap;
    }
    size_t k = (uint64_t)j->id * 0x9E3779B97F4A7C15ULL >> 20 & (c->captab - 1);
    while (c->tab[k])
        k = (k + 1) & (c->captab - 1);
    c->tab[k] = j;
    c->ntab++;
    if (c->nall == c->capall) {
        c->capall = c->capall ? c->capall * 2 : 1024;
        c->all = xrealloc(c->all, c->capall * sizeof *c->all);
    }
    /* ids are handed out in order, so appending keeps c->all sorted; a
     * recovered table arrives in id order too */
    c->all[c->nall++] = j;
}

fjob *ctl_job_find(ctl *c, int64_t id)
{
    if (!c->captab)
        return NULL;
    size_t k = (uint64_t)id * 0x9E3779B97F4A7C15ULL >> 20 & (c->captab - 1);
    while (c->tab[k]) {
        if (c->tab[k]->id == id)
            return c->tab[k];
        k = (k + 1) & (c->captab - 1);
    }
    return NULL;
}

static void job_free(fjob *j)
{
    if (!j)
        return;
    policy_job_free(j);
    free(j->deps);
    free(j->name);
    free(j->nodelist);
    free(j->gpumask);
    free(j);
}

/* ---- from a request to the scheduler's view ---------------------------- */
/* Fill a job's scheduler request from its spec. -1 with the field name. */
int ctl_spec_to_sched(ctl *c, const jobspec *js, fjob *j, char *field, size_t fieldlen,
                      char *err, size_t errlen)
{
    sched_job *sj = &j->sj;
    memset(sj, 0, sizeof *sj);
    sj->id = j->id;
    sj->submit = j->submit_time;
    sj->gpus = js->gpus;
    sj->nodes = js->nodes;
    sj->gpus_per_node = js->gpus_per_node;
    sj->cpus_per_gpu = js->cpus_per_gpu;
    sj->mem_per_gpu_mb = js->mem_per_gpu_mb;
    if (sj->nodes > 0 && sj->gpus_per_node == 0 && js->gpus > 0 && !js->exclusive &&
        js->gpus % sj->nodes == 0 && sj->nodes == 1)
        sj->gpus_per_node = js->gpus;
    sj->time_limit = js->time_limit > 0 ? js->time_limit : c->o.default_time_limit;
    sj->user = j->uid;
    sj->held = j->held;
    if (sched_pool_mask(c->s, js->pool, 1, &sj->pools, err, errlen) != 0) {
        snprintf(field, fieldlen, "pool");
        return -1;
    }
    char serr[SCHED_ERRLEN];
    if (sched_check(c->s, sj, serr, sizeof serr) != 0) {
        /* libsched names the field before a colon */
        const char *colon = strchr(serr, ':');
        snprintf(field, fieldlen, "%.*s", colon ? (int)(colon - serr) : 0, serr);
        snprintf(err, errlen, "%s", colon ? colon + 2 : serr);
        return -1;
    }
    j->time_limit = sj->time_limit;
    j->no_requeue = (int8_t)js->no_requeue;
    return 0;
}

/* Dependencies and the array limit of a job, from its request. For array
 * tasks only the first stores the array spec (see api.c); the others take
 * the limit from it. */
void ctl_job_set_gates(ctl *c, fjob *j, const jobspec *js)
{
    free(j->deps);
    j->deps = NULL;
    j->ndeps = 0;
    if (js->ndeps) {
        j->deps = xcalloc(js->ndeps, sizeof *j->deps);
        memcpy(j->deps, js->deps, js->ndeps * sizeof *j->deps);
        j->ndeps = (int32_t)js->ndeps;
        j->sj.held = 1; /* until the first pass looks */
    }
    if (js->array_max_running)
        j->array_max_running = js->array_max_running;
    else if (j->array_job_id && j->array_job_id != j->id) {
        const fjob *first = ctl_job_find(c, j->array_job_id);
        if (first)
            j->array_max_running = first->array_max_running;
    }
    if (j->ndeps || j->array_max_running)
        c->ngated++; /* from now on passes check the gates */
}

/* ---- durable records ----------------------------------------------------- */
void ctl_job_to_record(const fjob *j, store_job *r)
{
    memset(r, 0, sizeof *r);
    r->id = j->id;
    r->array_job_id = j->array_job_id;
    r->array_task_id = j->array_task_id;
    r->uid = j->uid;
    r->gid = j->gid;
    snprintf(r->user, sizeof r->user, "%s", j->user);
    snprintf(r->account, sizeof r->account, "%s", j->account);
    snprintf(r->name, sizeof r->name, "%s", j->name ? j->name : "");
    snprintf(r->pool, sizeof r->pool, "%s", j->pool);
    snprintf(r->qos, sizeof r->qos, "%s", j->qos);
    r->state = j->state;
    r->held = j->held;
    r->submit_time = j->submit_time;
    r->start_time = j->start_time;
    r->end_time = j->end_time;
    r->time_limit = j->time_limit;
    r->gpus = j->sj.nodes > 0 ? 0 : j->sj.gpus;
    r->nodes = j->sj.nodes;
    r->exit_code = j->exit_code;
    r->restarts = j->restarts;
    snprintf(r->nodelist, sizeof r->nodelist, "%s", j->nodelist ? j->nodelist : "");
    r->gpu_seconds = j->gpu_seconds;
    r->preempt_at = j->preempt_at;
    r->preempt_by = j->preempt_by;
    r->preempt_signal = j->preempt_signal;
}

void ctl_mark_dirty(ctl *c, fjob *j)
{
    if (j->dirty || j->is_new)
        return;
    j->dirty = 1;
    j->dirty_next = c->dirty_head;
    c->dirty_head = j;
}

/* Queue a request to be answered once everything before it is durable. */
void ctl_wait_commit(ctl *c, http_req *r)
{
    r->next = NULL;
    if (c->waiters_tail)
        c->waiters_tail->next = r;
    else
        c->waiters = r;
    c->waiters_tail = r;
    http_suspend(r);
}

void ctl_queue_new(ctl *c, fjob *j, char *spec_json, http_req *r, int first_of_request)
{
    if (c->nsubs == c->capsubs) {
        c->capsubs = c->capsubs ? c->capsubs * 2 : 256;
        c->subs = xrealloc(c->subs, c->capsubs * sizeof *c->subs);
    }
    j->is_new = 1;
    c->subs[c->nsubs++] = (ctl_sub){j, spec_json, first_of_request ? r : NULL};
    if (first_of_request)
        http_suspend(r);
}

static void start_cb(sched_job *sj, void *arg);

/*
 * The group commit, once per loop turn: every new job queued since the
 * last turn in one transaction, every changed record in another, then the
 * answers. A failed commit answers 503 and forgets the new jobs (they were
 * never acknowledged).
 */
static void commit(ctl *c)
{
    char err[256];
    if (c->nsubs > 0) {
        store_job *recs = xcalloc(c->nsubs, sizeof *recs);
        for (size_t i = 0; i < c->nsubs; i++) {
            ctl_job_to_record(c->subs[i].job, &recs[i]);
            recs[i].spec_json = c->subs[i].spec_json;
        }
        int rc = store_jobs_insert(c->st, recs, c->nsubs, err, sizeof err);
        free(recs);
        for (size_t i = 0; i < c->nsubs; i++) {
            ctl_sub *sb = &c->subs[i];
            fjob *j = sb->job;
            free(sb->spec_json);
            if (rc == 0) {
                j->is_new = 0;
                tab_put(c, j);
                char serr[SCHED_ERRLEN];
                if (sched_submit(c->s, &j->sj, serr, sizeof serr) != 0)
                    fprintf(stderr, "fleetd: job %lld: %s\n", (long long)j->id, serr);
                c->sched_dirty = 1;
            }
            if (sb->req) {
                if (rc == 0)
                    api_reply_submitted(c, sb->req, c->subs, c->nsubs, i);
                else
                    http_reply_error(sb->req, 503, "store", NULL, "not stored: %s", err);
                http_resume(sb->req);
            }
            if (rc != 0) {
                policy_job_dropped(c, j);
                job_free(j);
            }
        }
        c->nsubs = 0;
        c->stats.commits++;
    }
    const store_usage *usage;
    size_t nusage = policy_usage_pending(c, &usage);
    if (c->dirty_head || nusage) {
        size_t n = 0;
        for (fjob *j = c->dirty_head; j; j = j->dirty_next)
            n++;
        store_job *recs = xcalloc(n, sizeof *recs);
        size_t i = 0;
        for (fjob *j = c->dirty_head; j; j = j->dirty_next)
            ctl_job_to_record(j, &recs[i++]);
        /* finished jobs and their accounting records: one transaction */
        if (store_jobs_update_usage(c->st, recs, n, usage, nusage, err, sizeof err) != 0)
            fprintf(stderr, "fleetd: store update failed: %s\n", err);
        policy_usage_committed(c);
        free(recs);
        for (fjob *j = c->dirty_head, *next; j; j = next) {
            next = j->dirty_next;
            j->dirty = 0;
            j->dirty_next = NULL;
        }
        c->dirty_head = NULL;
    }
    for (http_req *r = c->waiters, *next; r; r = next) {
        next = r->next;
        http_resume(r);
    }
    c->waiters = c->waiters_tail = NULL;
    agent_after_commit(c); /* launches and acks only once durable */
}

/* ---- scheduling ---------------------------------------------------------- */
static void set_nodelist(ctl *c, fjob *j)
{
    size_t len = 1;
    for (int32_t i = 0; i < j->sj.nalloc; i++)
        len += strlen(sched_node_name(c->s, j->sj.alloc[i].node)) + 1;
    free(j->nodelist);
    j->nodelist = xcalloc(len, 1);
    char *p = j->nodelist;
    for (int32_t i = 0; i < j->sj.nalloc; i++)
        p += sprintf(p, "%s%s", i ? "," : "", sched_node_name(c->s, j->sj.alloc[i].node));
}

static void start_cb(sched_job *sj, void *arg)
{
    ctl *c = arg;
    fjob *j = (fjob *)sj;
    j->state = FJOB_RUNNING;
    j->start_time = sj->start;
    set_nodelist(c, j);
    ctl_mark_dirty(c, j);
    policy_job_started(c, j);
    agent_job_started(c, j);
    c->stats.started++;
}

static int job_finished(const fjob *t)
{
    return t->state != FJOB_PENDING && t->state != FJOB_RUNNING;
}

static int job_succeeded(const fjob *t)
{
    return t->state == FJOB_COMPLETED && t->exit_code == 0;
}

/* Dependencies, as Slurm reads them: afterok waits for success, afternotok
 * for failure, afterany for any end; singleton waits until no earlier job of
 * the same user and name is active. 0 met, 1 waiting, 2 never. */
static int deps_state(ctl *c, const fjob *j)
{
    int st = 0;
    for (int32_t i = 0; i < j->ndeps; i++) {
        const job_dep *d = &j->deps[i];
        if (d->type == JOB_DEP_SINGLETON) {
            for (size_t k = 0; k < c->nall && c->all[k]->id < j->id; k++) {
                const fjob *o = c->all[k];
                if (!job_finished(o) && o->uid == j->uid && strcmp(o->name, j->name) == 0)
                    st = st > 1 ? st : 1;
            }
            continue;
        }
        const fjob *t = ctl_job_find(c, d->job_id);
        if (!t)
            return 2; /* purged or never existed: cannot be satisfied */
        if (!job_finished(t)) {
            st = st > 1 ? st : 1;
            continue;
        }
        if ((d->type == JOB_DEP_AFTEROK && !job_succeeded(t)) ||
            (d->type == JOB_DEP_AFTERNOTOK && job_succeeded(t)))
            return 2;
    }
    return st;
}

/* Before a pass: hold back pending jobs whose dependencies are unmet, and
 * array tasks beyond their array's running limit: an array with limit L and
 * R tasks running lets only its first L - R pending tasks (in id order) be
 * considered, so no pass can start more. O(jobs). */
static void gate_jobs(ctl *c)
{
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->array_max_running && j->array_job_id == j->id)
            j->array_slots = j->array_max_running;
    }
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->array_max_running && j->state == FJOB_RUNNING) {
            fjob *first = ctl_job_find(c, j->array_job_id);
            if (first)
                first->array_slots--;
        }
    }
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state != FJOB_PENDING || (!j->ndeps && !j->array_max_running))
            continue;
        j->dep_wait = j->ndeps ? (int8_t)deps_state(c, j) : 0;
        j->array_wait = 0;
        if (j->array_max_running && !j->held && !j->dep_wait) {
            fjob *first = ctl_job_find(c, j->array_job_id);
            if (first && first->array_slots <= 0)
                j->array_wait = 1;
            else if (first)
                first->array_slots--;
        }
        j->sj.held = j->held || j->dep_wait || j->array_wait;
    }
}

/* Without agents nothing runs to be signalled: a preemption victim ends when
 * its grace is over (at the first pass after). O(J). */
static void end_preempted(ctl *c, int64_t now)
{
    for (size_t i = 0; i < c->nall; i++) {
        fjob *j = c->all[i];
        if (j->state == FJOB_RUNNING && j->preempt_at && j->preempt_at <= now)
            ctl_job_preempted(c, j, -1);
    }
}

static void run_pass(ctl *c)
{
    c->sched_dirty = 0;
    if (c->ngated)
        gate_jobs(c);
    c->last_pass = uv_now(c->loop);
    int64_t now = ctl_now();
    if (c->o.no_agents)
        end_preempted(c, now);
    policy_before_pass(c, now); /* priorities, QOS and allocation gates */
    sched_pass(c->s, now, start_cb, c);
    policy_after_pass(c, now);  /* preemption plans for what did not start */
    c->stats.passes++;
    /* start estimates for fleet queue: at most every 2 s, the first 5,000
     * pending jobs (the pass itself only estimates the job it reserves for);
     * the periodic pass makes sure a quiet controller refreshes them too */
    if (c->last_estimate == 0 || uv_now(c->loop) - c->last_estimate >= 2000) {
        sched_estimate(c->s, now, 5000);
        c->last_estimate = uv_now(c->loop);
    }
}

/* End a running job (cancel, requeue; the agent reports ends in the node
 * agent issue). Frees its nodes and accounts its GPU-seconds. */
void ctl_job_finish(ctl *c, fjob *j, int state, int exit_code)
{
    int64_t now = ctl_now();
    policy_job_ending(c, j, state, exit_code, now); /* accounting record, charges */
    if (j->state == FJOB_RUNNING) {
        j->gpu_seconds += (int64_t)j->sj.alloced_gpus * (now - j->start_time);
        agent_job_stopped(c, j); /* its agents get a kill if it still runs */
        sched_job_end(c->s, &j->sj, now);
    } else if (j->state == FJOB_PENDING) {
        sched_cancel(c->s, &j->sj);
    }
    j->state = state;
    j->exit_code = exit_code;
    j->end_time = now;
    j->preempt_at = 0; /* the run is over: so is its preemption */
    j->preempt_by = 0;
    j->preempt_signal = 0;
    ctl_mark_dirty(c, j);
    c->sched_dirty = 1;
}

/* Put a running job back in the queue (requeue) as a fresh submission of
 * the same request. */
int ctl_job_requeue(ctl *c, fjob *j, char *err, size_t errlen)
{
    if (j->state != FJOB_RUNNING) {
        snprintf(err, errlen, "only a running job can be requeued");
        return -1;
    }
    int64_t now = ctl_now();
    policy_job_ending(c, j, STORE_REQUEUED, -1, now); /* this run's record */
    j->gpu_seconds += (int64_t)j->sj.alloced_gpus * (now - j->start_time);
    agent_job_stopped(c, j);
    sched_job_end(c->s, &j->sj, now);
    sched_job saved = j->sj;
    memset(&j->sj, 0, sizeof j->sj);
    j->sj.id = saved.id;
    j->sj.submit = saved.submit;
    j->sj.time_limit = saved.time_limit;
    j->sj.gpus = saved.gpus;
    j->sj.nodes = saved.nodes;
    j->sj.gpus_per_node = saved.gpus_per_node;
    j->sj.cpus_per_gpu = saved.cpus_per_gpu;
    j->sj.mem_per_gpu_mb = saved.mem_per_gpu_mb;
    j->sj.pools = saved.pools;
    j->sj.user = saved.user;
    j->state = FJOB_PENDING;
    j->restarts++;
    j->preempt_at = 0; /* the next run is not being preempted */
    j->preempt_by = 0;
    j->preempt_signal = 0;
    j->start_time = 0;
    free(j->nodelist);
    j->nodelist = NULL;
    policy_job_requeued(c, j, now); /* admitted again: priority, pools */
    char serr[SCHED_ERRLEN];
    if (sched_submit(c->s, &j->sj, serr, sizeof serr) != 0) {
        snprintf(err, errlen, "%s", serr);
        return -1;
    }
    ctl_mark_dirty(c, j);
    c->sched_dirty = 1;
    return 0;
}

void ctl_job_preempted(ctl *c, fjob *j, int exit_code)
{
    char err[SCHED_ERRLEN];
    if (j->no_requeue) {
        fprintf(stderr, "fleetd: job %lld: preempted; not requeued (--no-requeue)\n",
                (long long)j->id);
        ctl_job_finish(c, j, FJOB_PREEMPTED, exit_code);
    } else if (ctl_job_requeue(c, j, err, sizeof err) != 0) {
        fprintf(stderr, "fleetd: job %lld: preempted; requeue failed: %s\n", (long long)j->id,
                err);
        ctl_job_finish(c, j, FJOB_PREEMPTED, exit_code);
    } else {
        fprintf(stderr, "fleetd: job %lld: preempted; requeued\n", (long long)j->id);
    }
}

static void on_soon(uv_timer_t *t);

/* After every loop turn's I/O: commit, then schedule if something changed
 * (at most one pass per pass_min_ms, so a burst of submissions costs one
 * pass, not one per job). */
static void on_check(uv_check_t *h)
{
    ctl *c = h->data;
    commit(c);
    if (c->sched_dirty && uv_now(c->loop) - c->last_pass >= c->pass_min_ms) {
        run_pass(c);
        commit(c); /* starts are durable before anything else is answered */
    }
    if (c->sched_dirty && !uv_is_active((uv_handle_t *)&c->soon))
        uv_timer_start(&c->soon, on_soon, c->pass_min_ms, 0);
}

static void on_soon(uv_timer_t *t)
{
    ctl *c = t->data;
    if (c->sched_dirty) {
        run_pass(c);
        commit(c);
    }
}

static void on_interval(uv_timer_t *t)
{
    ctl *c = t->data;
    run_pass(c);
    commit(c);
}

/* ---- recovery ------------------------------------------------------------ */
typedef struct load_ctx {
    ctl *c;
    size_t pending, running, done, bad;
} load_ctx;

static int load_one(const store_job *r, void *arg)
{
    load_ctx *lc = arg;
    ctl *c = lc->c;
    fjob *j = xcalloc(1, sizeof *j);
    j->id = r->id;
    j->array_job_id = r->array_job_id;
    j->array_task_id = r->array_task_id;
    j->uid = r->uid;
    j->gid = r->gid;
    j->user = ctl_intern(c, r->user);
    j->account = ctl_intern(c, r->account);
    j->qos = ctl_intern(c, r->qos);
    j->pool = ctl_intern(c, r->pool);
    j->name = strdup(r->name);
    j->state = r->state;
    j->held = r->held;
    j->submit_time = r->submit_time;
    j->start_time = r->start_time;
    j->end_time = r->end_time;
    j->time_limit = r->time_limit;
    j->exit_code = r->exit_code;
    j->restarts = r->restarts;
    j->gpu_seconds = r->gpu_seconds;
    if (r->nodelist[0])
        j->nodelist = strdup(r->nodelist);
    if (r->id >= c->next_id)
        c->next_id = r->id + 1;
    tab_put(c, j);
    if (j->state != FJOB_PENDING && j->state != FJOB_RUNNING) {
        lc->done++;
        return 0;
    }
    /* the scheduler needs the request: read it back from the stored spec */
    jobspec js;
    jobspec_init(&js);
    char field[64], err[256];
    int ok = r->spec_json &&
             jobspec_from_json(r->spec_json, strlen(r->spec_json), &js, field, sizeof field, err,
                               sizeof err) == 0 &&
             ctl_spec_to_sched(c, &js, j, field, sizeof field, err, sizeof err) == 0;
    if (ok)
        ctl_job_set_gates(c, j, &js);
    jobspec_free(&js);
    j->time_limit = r->time_limit;
    j->sj.time_limit = r->time_limit;
    if (!ok) {
        fprintf(stderr, "fleetd: recovery: job %lld cannot be scheduled here (%s); failed\n",
                (long long)j->id, err);
        j->state = FJOB_FAILED;
        j->end_time = ctl_now();
        ctl_mark_dirty(c, j);
        lc->bad++;
        return 0;
    }
    char serr[SCHED_ERRLEN];
    if (j->state == FJOB_PENDING) {
        sched_submit(c->s, &j->sj, serr, sizeof serr);
        lc->pending++;
        return 0;
    }
    /* running: back on the nodes it runs on */
    int32_t nodes[4096];
    int32_t nn = 0;
    char *list = strdup(j->nodelist ? j->nodelist : ""), *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && nn < 4096; t = strtok_r(NULL, ",", &save))
        nodes[nn++] = sched_node_find(c->s, t);
    free(list);
    if (sched_restore_running(c->s, &j->sj, nodes, nn, j->start_time, serr, sizeof serr) != 0) {
        fprintf(stderr, "fleetd: recovery: job %lld: %s; marked NODE_FAIL\n", (long long)j->id,
                serr);
        memset(&j->sj, 0, sizeof j->sj);
        j->state = FJOB_NODE_FAIL;
        j->end_time = ctl_now();
        ctl_mark_dirty(c, j);
        lc->bad++;
        return 0;
    }
    /* a preemption victim (its marks are stored with the run): it still
     * leaves at the end of its grace, the shepherd keeps that deadline, and
     * the scheduler plans with it (policy_init restores its preemptor) */
    if (r->preempt_at) {
        j->preempt_at = r->preempt_at;
        j->preempt_by = r->preempt_by;
        j->preempt_signal = r->preempt_signal;
        sched_job_end_by(c->s, &j->sj, j->preempt_at);
    }
    agent_job_started(c, j);
    lc->running++;
    return 0;
}

void ctl_set_node_reason(ctl *c, int node, const char *reason)
{
    if (!c->node_reason)
        c->node_reason = xcalloc((size_t)sched_node_count(c->s), sizeof *c->node_reason);
    free(c->node_reason[node]);
    c->node_reason[node] = reason && *reason ? strdup(reason) : NULL;
}

static int load_node(const char *node, int state, const char *reason, void *arg)
{
    ctl *c = arg;
    int n = sched_node_find(c->s, node);
    if (n >= 0) {
        agent_node_set_op(c, n, state);
        ctl_set_node_reason(c, n, state == SCHED_NODE_UP ? NULL : reason);
    }
    return 0;
}

static int build_cluster(ctl *c, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    cluster_desc cd;
    cluster_desc_init(&cd);
    if (!c->o.config) {
        snprintf(err, errlen, "--config: a cluster description is required (see "
                              "examples/cluster-small.yaml)");
        return -1;
    }
    if (trace_slurp(c->o.config, &buf, &len, err, errlen) != 0)
        return -1;
    int rc = cluster_yaml_parse(buf, len, c->o.config, &cd, err, errlen);
    free(buf);
    if (rc == 0) {
        c->s = sched_create();
        for (size_t i = 0; i < cd.npools; i++)
            sched_pool_add(c->s, cd.pools[i].name, cd.pools[i].model);
        for (size_t i = 0; i < cd.nblocks; i++)
            sched_block_add(c->s, cd.blocks[i].name, cd.blocks[i].spine);
        for (size_t i = 0; i < cd.nnodes; i++)
            sched_node_add(c->s, cd.nodes[i].name, cd.nodes[i].pool, cd.nodes[i].block,
                           cd.nodes[i].gpus, cd.nodes[i].cpus, cd.nodes[i].mem_mb);
        rc = sched_finalize(c->s, err, errlen);
    }
    cluster_desc_free(&cd);
    return rc;
}

ctl *ctl_create(uv_loop_t *loop, const ctl_options *o, char *err, size_t errlen)
{
    ctl *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->o = *o;
    c->next_id = 1;
    c->pass_min_ms = 50;
    if (build_cluster(c, err, errlen) != 0)
        goto fail;
    agent_init(c);
    sched_set_policy(c->s, o->policy);
    char path[4096];
    snprintf(path, sizeof path, "%s/state.db", o->state_dir);
    c->st = o->pg ? store_open_pg(o->pg, err, errlen) : store_open_sqlite(path, err, errlen);
    if (!c->st)
        goto fail;
    load_ctx lc = {c, 0, 0, 0, 0};
    if (store_nodes_load(c->st, load_node, c, err, errlen) < 0 ||
        store_jobs_load(c->st, load_one, &lc, err, errlen) < 0)
        goto fail;
    int64_t meta_next;
    char merr[128];
    if (store_meta_get(c->st, "next_job_id", &meta_next, merr, sizeof merr) == 1 &&
        meta_next > c->next_id)
        c->next_id = meta_next;
    fprintf(stderr, "fleetd: recovered %zu pending, %zu running, %zu finished jobs%s\n",
            lc.pending, lc.running, lc.done, lc.bad ? " (some failed: see above)" : "");
    if (policy_init(c, err, errlen) != 0) /* rates; the center and its state */
        goto fail;
    if (resv_restore(c, err, errlen) != 0) /* operators' reservations */
        goto fail;
    uv_check_init(loop, &c->check);
    c->check.data = c;
    uv_check_start(&c->check, on_check);
    uv_timer_init(loop, &c->soon);
    c->soon.data = c;
    uv_timer_init(loop, &c->interval);
    c->interval.data = c;
    uint64_t ms = (uint64_t)(o->pass_interval_s > 0 ? o->pass_interval_s * 1000 : 10000);
    uv_timer_start(&c->interval, on_interval, ms, ms);
    agent_start_timers(c);
    c->sched_dirty = 1;
    commit(c); /* recovery's own corrections */
    return c;
fail:
    ctl_destroy(c);
    return NULL;
}

static void noop_close(uv_handle_t *h)
{
    (void)h;
}

void ctl_destroy(ctl *c)
{
    if (!c)
        return;
    if (c->check.data) {
        uv_check_stop(&c->check);
        uv_close((uv_handle_t *)&c->check, noop_close);
        uv_timer_stop(&c->soon);
        uv_close((uv_handle_t *)&c->soon, noop_close);
        uv_timer_stop(&c->interval);
        uv_close((uv_handle_t *)&c->interval, noop_close);
        uv_run(c->loop, UV_RUN_NOWAIT);
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        free(c->subs[i].spec_json);
        job_free(c->subs[i].job);
    }
    free(c->subs);
    if (c->nodes)
        agent_destroy(c);
    for (int i = 0; c->node_reason && i < sched_node_count(c->s); i++)
        free(c->node_reason[i]);
    free(c->node_reason);
    c->node_reason = NULL;
    sched_destroy(c->s); /* before the jobs: it reads their links */
    for (size_t i = 0; i < c->nall; i++)
        job_free(c->all[i]);
    free(c->all);
    free(c->tab);
    for (size_t i = 0; i < c->capstrs; i++)
        free(c->strs[i]);
    free(c->strs);
    policy_destroy(c);
    resv_destroy(c);
    store_close(c->st);
    free(c);
}

void ctl_flush(ctl *c)
{
    commit(c); /* what is queued becomes durable and is answered */
    if (c->nodes)
        agent_release_held(c);
}

sched *ctl_sched(ctl *c) { return c->s; }
store *ctl_store(ctl *c) { return c->st; }

int ctl_is_operator(ctl *c, const http_req *r)
{
    if (r->operator_role)
        return 1;
    for (size_t i = 0; i < c->o.noperators; i++)
        if (c->o.operators[i] == r->uid)
            return 1;
    return 0;
}
