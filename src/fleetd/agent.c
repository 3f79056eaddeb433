/*
 * agent.c: the controller's side of the agent protocol (docs/agent-protocol.md,
 * src/libproto/proto.h).
 *
 * State is derived, not queued: every reply to an agent is computed from
 * what the controller believes (the jobs running on each node) and what the
 * agent's request reports (its running and ended jobs):
 *   - launch  every job running on the node that the agent does not report
 *             (neither running nor ended) for the job's current run;
 *   - kill    every job the agent reports running that does not run there
 *             in the controller's view (cancelled, requeued, ended elsewhere);
 *   - ack     every ended job it reports: its end is durable (replies leave
 *             only after the group commit).
 * A lost reply therefore costs nothing: the next sync gets the same
 * commands again, and the agent ignores launches it already has.
 *
 * Long poll: a sync is held until it has commands or its wait_ms passes;
 * changes (starts, ends, cancels, node events) wake the agents of the nodes
 * they touch. A new sync from an agent answers its held one first.
 *
 * Liveness: a node whose agent has not synced for the node timeout is
 * DOWN; its jobs are requeued (NODE_FAIL with --no-requeue). After a
 * controller restart every node gets one timeout of grace to be reported.
 *
 * GPU indices: libsched counts GPUs; the indices a job gets on a node are
 * chosen here at its first launch, lowest free first, never one that
 * another job holds in the controller's view or that the agent still
 * reports busy (a killed job that has not yet exited keeps its GPUs).
 *
 * Cost per sync: O(nodes reported + jobs reported + jobs running on them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "auth.h"
#include "ctl_internal.h"
#include "jsonw.h"
#include "proto.h"

struct fagent {
    char name[PROTO_NAME_MAX];
    int tcp;                 /* its last sync came over TCP */
    uint64_t last_nonce;
    uint64_t seq;            /* replies sent */
    http_req *held;          /* the sync held for a long poll, or NULL */
    proto_sync *msg;         /* its decoded body */
    uint64_t nonce;          /* its nonce (the reply's MAC uses it) */
    int force;               /* answer it at the next commit even if empty */
    int queued;              /* on c->wake_head */
    fagent *wake_next;
    uv_timer_t timer;        /* wait_ms of the held sync */
    ctl *c;
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

/* ---- node states ---------------------------------------------------------- */

/* The state libsched uses: the operator's, unless the node lacks a live
 * agent (or has fewer GPUs than configured), which makes it DOWN. */
static void apply_state(ctl *c, int n)
{
    fnode *fn = &c->nodes[n];
    int st = fn->op_state;
    if (st == SCHED_NODE_UP && !c->o.no_agents && (!fn->alive || fn->inv_short))
        st = SCHED_NODE_DOWN;
    sched_node_info ni;
    sched_node_get(c->s, n, &ni);
    if (ni.state != st) {
        sched_node_set_state(c->s, n, st);
        c->sched_dirty = 1;
    }
}

void agent_node_set_op(ctl *c, int n, int state)
{
    c->nodes[n].op_state = (uint8_t)state;
    apply_state(c, n);
}

const char *agent_node_why(ctl *c, int n)
{
    if (c->o.no_agents)
        return NULL;
    return c->nodes[n].why;
}

static void set_why(fnode *fn, const char *why)
{
    free(fn->why);
    fn->why = why ? xstrdup(why) : NULL;
}

/* ---- agents ----------------------------------------------------------------- */
static fagent *agent_find(ctl *c, const char *name)
{
    for (size_t i = 0; i < c->nagents; i++)
        if (strcmp(c->agents[i]->name, name) == 0)
            return c->agents[i];
    return NULL;
}

static int agent_index(ctl *c, const fagent *a)
{
    for (size_t i = 0; i < c->nagents; i++)
        if (c->agents[i] == a)
            return (int)i;
    return -1;
}

static void wake_agent(ctl *c, fagent *a)
{
    if (!a || a->queued)
        return;
    a->queued = 1;
    a->wake_next = c->wake_head;
    c->wake_head = a;
}

static void wake_node(ctl *c, int n)
{
    fnode *fn = &c->nodes[n];
    if (fn->agent >= 0 && (size_t)fn->agent < c->nagents)
        wake_agent(c, c->agents[fn->agent]);
}

void agent_wake_node(ctl *c, int n, int force)
{
    fnode *fn = &c->nodes[n];
    if (fn->agent < 0 || (size_t)fn->agent >= c->nagents)
        return;
    fagent *a = c->agents[fn->agent];
    if (force && a->held)
        a->force = 1;
    wake_agent(c, a);
}

void agent_node_addr(ctl *c, int n, char *out, size_t outlen)
{
    const fnode *fn = &c->nodes[n];
    snprintf(out, outlen, "%s", fn->addr && *fn->addr ? fn->addr : sched_node_name(c->s, n));
}

/* ---- jobs on nodes ----------------------------------------------------------- */
/* Flags of a job's share of a node, in gpumask[nalloc + k]. */
#define SHARE_LAUNCHED 1u  /* a launch was sent: a resend is not news */
#define SHARE_ENDED 2u     /* the node reported this run ended: never launch it there again */

static uint64_t *share_flags(fjob *j, int k)
{
    return &j->gpumask[j->sj.nalloc + k];
}

void agent_job_started(ctl *c, fjob *j)
{
    free(j->gpumask);
    j->gpumask = xcalloc((size_t)(j->sj.nalloc ? 2 * j->sj.nalloc : 1), sizeof *j->gpumask);
    for (int32_t k = 0; k < j->sj.nalloc; k++) {
        int n = j->sj.alloc[k].node;
        fnode *fn = &c->nodes[n];
        if (fn->njobs == fn->capjobs) {
            fn->capjobs = fn->capjobs ? fn->capjobs * 2 : 4;
            fn->jobs = realloc(fn->jobs, (size_t)fn->capjobs * sizeof *fn->jobs);
            if (!fn->jobs)
                abort();
        }
        fn->jobs[fn->njobs++] = j;
        wake_node(c, n);
    }
}

void agent_job_preempt(ctl *c, fjob *j)
{
    for (int32_t k = 0; k < j->sj.nalloc; k++)
        wake_node(c, j->sj.alloc[k].node);
}

void agent_job_stopped(ctl *c, fjob *j)
{
    steps_job_stopped(c, j);
    for (int32_t k = 0; k < j->sj.nalloc; k++) {
        int n = j->sj.alloc[k].node;
        fnode *fn = &c->nodes[n];
        for (int32_t i = 0; i < fn->njobs; i++)
            if (fn->jobs[i] == j) {
                fn->jobs[i] = fn->jobs[--fn->njobs];
                break;
            }
        wake_node(c, n);
    }
    free(j->gpumask);
    j->gpumask = NULL;
}

/* Index of node n in the job's allocation, or -1. */
static int alloc_index(const fjob *j, int n)
{
    for (int32_t k = 0; k < j->sj.nalloc; k++)
        if (j->sj.alloc[k].node == n)
            return k;
    return -1;
}

/* ---- node loss ----------------------------------------------------------------- */
static void node_lost(ctl *c, int n, const char *why)
{
    fnode *fn = &c->nodes[n];
    fn->alive = 0;
    set_why(fn, why);
    apply_state(c, n);
    fprintf(stderr, "fleetd: node %s: %s\n", sched_node_name(c->s, n), why);
    /* its jobs: requeued, or NODE_FAIL when they asked not to be */
    while (fn->njobs > 0) {
        fjob *j = fn->jobs[fn->njobs - 1];
        char err[SCHED_ERRLEN];
        if (j->no_requeue) {
            fprintf(stderr, "fleetd: job %lld: node %s lost; not requeued (--no-requeue)\n",
                    (long long)j->id, sched_node_name(c->s, n));
            ctl_job_finish(c, j, FJOB_NODE_FAIL, -1);
        } else {
            fprintf(stderr, "fleetd: job %lld: node %s lost; requeued\n", (long long)j->id,
                    sched_node_name(c->s, n));
            if (ctl_job_requeue(c, j, err, sizeof err) != 0) {
                fprintf(stderr, "fleetd: job %lld: requeue failed: %s\n", (long long)j->id,
                        err);
                ctl_job_finish(c, j, FJOB_NODE_FAIL, -1);
            }
        }
    }
}

static void on_liveness(uv_timer_t *t)
{
    ctl *c = t->data;
    uint64_t now = uv_now(c->loop);
    uint64_t timeout = (uint64_t)(c->o.node_timeout_s * 1000);
    int nn = sched_node_count(c->s);
    for (int n = 0; n < nn; n++) {
        fnode *fn = &c->nodes[n];
        if (fn->alive && now - fn->last_seen_ms > timeout) {
            char why[128];
            snprintf(why, sizeof why, "agent lost: no sync for %.0f s", c->o.node_timeout_s);
            node_lost(c, n, why);
        } else if (!fn->alive && fn->njobs > 0 && now - c->started_ms > timeout) {
            /* recovered as running, but no agent came back to report it */
            node_lost(c, n, "no agent since the controller started");
        }
    }
}

void agent_set_tcp_controller(ctl *c, const char *addr)
{
    free(c->controller_tcp);
    c->controller_tcp = addr ? xstrdup(addr) : NULL;
}

void agent_init(ctl *c)
{
    int nn = sched_node_count(c->s);
    c->nodes = xcalloc((size_t)nn, sizeof *c->nodes);
    for (int n = 0; n < nn; n++) {
        c->nodes[n].agent = -1;
        c->nodes[n].why = c->o.no_agents ? NULL : xstrdup("no agent has registered");
        apply_state(c, n);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void agent_start_timers(ctl *c)
{
    c->started_ms = uv_now(c->loop);
    if (c->o.no_agents)
        return;
    uv_timer_init(c->loop, &c->liveness);
    c->liveness.data = c;
    uv_timer_start(&c->liveness, on_liveness, 500, 500);
}

static void noop_close(uv_handle_t *h)
{
    (void)h;
}

static void agent_free_cb(uv_handle_t *h)
{
    free(h->data);
}

void agent_destroy(ctl *c)
{
    if (c->liveness.data) {
        uv_timer_stop(&c->liveness);
        uv_close((uv_handle_t *)&c->liveness, noop_close);
    }
    for (size_t i = 0; i < c->nagents; i++) {
        fagent *a = c->agents[i];
        proto_sync_free(a->msg);
        free(a->msg);
        uv_timer_stop(&a->timer);
        a->timer.data = a;
        uv_close((uv_handle_t *)&a->timer, agent_free_cb);
    }
    free(c->agents);
    c->agents = NULL;
    c->nagents = 0;
    uv_run(c->loop, UV_RUN_NOWAIT);
    for (int n = 0; c->nodes && n < sched_node_count(c->s); n++) {
        fnode *fn = &c->nodes[n];
        free(fn->jobs);
        free(fn->kills);
        free(fn->addr);
        free(fn->note);
        free(fn->model);
        free(fn->why);
    }
    free(c->nodes);
    c->nodes = NULL;
    free(c->controller_tcp);
    c->controller_tcp = NULL;
}

/* ---- launch commands ---------------------------------------------------------- */

/* Output path patterns as Slurm's: %j job id, %A array job id, %a array
 * task id, %x job name, %u user, %N node, %n node rank, %% a percent sign.
 * Other % sequences stay as written. */
static void expand_pattern(const fjob *j, const char *pat, const char *node, int rank,
                           char *out, size_t outlen)
{
    size_t o = 0;
    char tmp[160];
    for (const char *p = pat; *p && o + 1 < outlen; p++) {
        const char *add = NULL;
        if (*p == '%' && p[1]) {
            p++;
            switch (*p) {
            case 'j': snprintf(tmp, sizeof tmp, "%lld", (long long)j->id); add = tmp; break;
            case 'A':
                snprintf(tmp, sizeof tmp, "%lld",
                         (long long)(j->array_job_id ? j->array_job_id : j->id));
                add = tmp;
                break;
            case 'a':
                snprintf(tmp, sizeof tmp, "%d", j->array_task_id >= 0 ? j->array_task_id : 0);
                add = tmp;
                break;
            case 'x': add = j->name ? j->name : ""; break;
            case 'u': add = j->user; break;
            case 'N': add = node; break;
            case 'n': snprintf(tmp, sizeof tmp, "%d", rank); add = tmp; break;
            case '%': add = "%"; break;
            default: snprintf(tmp, sizeof tmp, "%%%c", *p); add = tmp; break;
            }
        }
        if (add) {
            size_t n = strlen(add);
            if (o + n >= outlen)
                n = outlen - 1 - o;
            memcpy(out + o, add, n);
            o += n;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* The request of a job, read back from the store once per reply. */
typedef struct spec_cache {
    int64_t id;
    int ok;
    jobspec js;
} spec_cache;

static int spec_get(ctl *c, spec_cache *sc, fjob *j)
{
    if (sc->id == j->id)
        return sc->ok;
    jobspec_free(&sc->js);
    jobspec_init(&sc->js);
    sc->id = j->id;
    sc->ok = 0;
    store_job rec;
    char err[256], field[64];
    if (store_job_get(c->st, j->id, &rec, err, sizeof err) != 1 || !rec.spec_json) {
        fprintf(stderr, "fleetd: job %lld: request not found in the store\n",
                (long long)j->id);
        free(rec.spec_json);
        return 0;
    }
    if (jobspec_from_json(rec.spec_json, strlen(rec.spec_json), &sc->js, field, sizeof field,
                          err, sizeof err) != 0) {
        fprintf(stderr, "fleetd: job %lld: stored request unreadable: %s: %s\n",
                (long long)j->id, field, err);
        free(rec.spec_json);
        return 0;
    }
    free(rec.spec_json);
    sc->ok = 1;
    return 1;
}

/* Jobs on nodes whose agent reached fleetd over TCP cannot use its Unix
 * socket: they get its TCP address and a bearer token of their user
 * (FLEET_TOKEN), valid until 10 minutes after the job's time limit, so that
 * fleet run (and fleet itself) work inside them. The token travels in the
 * launch like the rest of the job's request: MAC'd, not encrypted. */
static void job_controller(ctl *c, const fjob *j, int tcp, proto_launch *l)
{
    if (!tcp || !c->controller_tcp) {
        snprintf(l->controller, sizeof l->controller, "%s",
                 c->o.controller ? c->o.controller : "");
        return;
    }
    snprintf(l->controller, sizeof l->controller, "%s", c->controller_tcp);
    char tok[AUTH_TOKEN_MAX], var[AUTH_TOKEN_MAX + 16];
    if (auth_token_create(c->o.key, j->user, j->uid, 0,
                          j->start_time + j->time_limit + 600, tok, sizeof tok) != 0)
        return; /* a user name tokens cannot carry: fleet inside the job has none */
    snprintf(var, sizeof var, "FLEET_TOKEN=%s", tok);
    sodium_memzero(tok, sizeof tok);
    char **env = realloc(l->env, (size_t)(l->nenv + 1) * sizeof *env);
    if (!env)
        abort();
    l->env = env;
    l->env[l->nenv++] = xstrdup(var);
    sodium_memzero(var, sizeof var);
}

static int fill_launch(ctl *c, spec_cache *sc, fjob *j, int k, int tcp, proto_launch *l)
{
    if (!spec_get(c, sc, j))
        return -1;
    const jobspec *js = &sc->js;
    memset(l, 0, sizeof *l);
    const char *node = sched_node_name(c->s, j->sj.alloc[k].node);
    l->job = j->id;
    l->run = j->restarts;
    l->uid = j->uid;
    l->gid = j->gid;
    snprintf(l->user, sizeof l->user, "%s", j->user);
    snprintf(l->name, sizeof l->name, "%s", j->name ? j->name : "");
    snprintf(l->workdir, sizeof l->workdir, "%s", js->workdir[0] ? js->workdir : "/");
    const char *outpat = js->output[0] ? js->output
                         : j->array_job_id ? "fleet-%A_%a.out" : "fleet-%j.out";
    expand_pattern(j, outpat, node, k, l->output, sizeof l->output);
    if (js->error[0])
        expand_pattern(j, js->error, node, k, l->error, sizeof l->error);
    if (k == 0) {
        if (js->script) {
            l->script = xstrdup(js->script);
        } else if (js->wrap) {
            size_t n = strlen(js->wrap) + 32;
            l->script = xcalloc(n, 1);
            snprintf(l->script, n, "#!/bin/sh\n%s\n", js->wrap);
        }
    }
    if (js->nenv) {
        l->env = xcalloc(js->nenv, sizeof *l->env);
        for (size_t i = 0; i < js->nenv; i++)
            l->env[i] = xstrdup(js->env[i]);
        l->nenv = (int32_t)js->nenv;
    }
    l->gpus = j->gpumask[k];
    l->cpus = j->sj.alloc[k].cpus;
    l->mem_mb = j->sj.alloc[k].mem_mb;
    int64_t left = j->start_time + j->time_limit - ctl_now();
    l->time_limit = left > 1 ? left : 1;
    l->kill_grace = c->o.kill_grace_s;
    l->nodelist = xstrdup(j->nodelist ? j->nodelist : node);
    l->node_rank = k;
    l->nnodes = j->sj.nalloc;
    l->total_gpus = j->sj.alloced_gpus;
    l->array_job_id = j->array_job_id;
    l->array_task_id = j->array_job_id ? j->array_task_id : -1;
    job_controller(c, j, tcp, l);
    return 0;
}

/* Lowest free GPU indices for job j's share k of node n; 0 when they are
 * not free yet (the launch waits for a killed job to let go). */
static uint64_t pick_gpus(ctl *c, int n, const fjob *j, int k, const proto_node_report *rep)
{
    /* a gang holds whole nodes, but sees the GPUs per node it asked for */
    int want = j->sj.alloc[k].gpus;
    if (j->sj.gpus_per_node > 0 && j->sj.gpus_per_node < want)
        want = j->sj.gpus_per_node;
    if (want <= 0)
        return 0;
    sched_node_info ni;
    sched_node_get(c->s, n, &ni);
    int total = ni.gpus < PROTO_MAX_GPUS ? ni.gpus : PROTO_MAX_GPUS;
    uint64_t used = 0;
    fnode *fn = &c->nodes[n];
    for (int32_t i = 0; i < fn->njobs; i++) {
        const fjob *o = fn->jobs[i];
        int ko = alloc_index(o, n);
        if (o != j && ko >= 0 && o->gpumask)
            used |= o->gpumask[ko];
    }
    for (int32_t i = 0; rep && i < rep->nrunning; i++)
        if (rep->running[i].job != j->id)
            used |= rep->running[i].gpus;
    uint64_t mask = 0;
    for (int g = 0; g < total && want > 0; g++)
        if (!(used >> g & 1)) {
            mask |= 1ull << g;
            want--;
        }
    return want > 0 ? 0 : mask;
}

static int reported(const proto_node_report *rep, int64_t job, int32_t run)
{
    for (int32_t i = 0; i < rep->nrunning; i++)
        if (rep->running[i].job == job && rep->running[i].run == run)
            return 1;
    for (int32_t i = 0; i < rep->nended; i++)
        if (rep->ended[i].job == job && rep->ended[i].run == run)
            return 1;
    return 0;
}

static void *grow(void *arr, int32_t *cap, int32_t n, size_t sz)
{
    if (n < *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 4;
    arr = realloc(arr, (size_t)*cap * sz);
    if (!arr)
        abort();
    return arr;
}

/* Commands for every node of a held sync. Returns how many commands. */
static size_t compose(ctl *c, const proto_sync *m, int tcp, proto_reply *out)
{
    size_t ncmds = 0;
    spec_cache sc;
    memset(&sc, 0, sizeof sc);
    jobspec_init(&sc.js);
    sc.id = -1;
    out->nodes = xcalloc((size_t)(m->nnodes ? m->nnodes : 1), sizeof *out->nodes);
    for (int32_t i = 0; i < m->nnodes; i++) {
        const proto_node_report *rep = &m->nodes[i];
        proto_node_cmds *nc = &out->nodes[out->nnodes];
        memset(nc, 0, sizeof *nc);
        snprintf(nc->name, sizeof nc->name, "%s", rep->name);
        int n = sched_node_find(c->s, rep->name);
        if (n < 0) {
            snprintf(nc->error, sizeof nc->error,
                     "node %s is not in the controller's cluster config", rep->name);
            out->nnodes++;
            ncmds++;
            continue;
        }
        sched_node_info ni;
        sched_node_get(c->s, n, &ni);
        nc->state = ni.state;
        int32_t cap = 0;
        /* ack every reported end: it is durable by now */
        if (rep->nended) {
            nc->ack = xcalloc((size_t)rep->nended, sizeof *nc->ack);
            for (int32_t e = 0; e < rep->nended; e++) {
                nc->ack[e].job = rep->ended[e].job;
                nc->ack[e].run = rep->ended[e].run;
            }
            nc->nack = rep->nended;
        }
        /* kill what runs there but should not; a kill repeated while the
         * job dies (its grace) is not news */
        cap = 0;
        fnode *fn = &c->nodes[n];
        size_t fresh_kills = 0;
        int64_t now = ctl_now();
        for (int32_t r = 0; r < rep->nrunning; r++) {
            const proto_running *pr = &rep->running[r];
            fjob *j = ctl_job_find(c, pr->job);
            proto_kill kill = {pr->job, pr->run, PROTO_END_KILLED, 0, 0};
            if (j && j->state == FJOB_RUNNING && j->restarts == pr->run &&
                alloc_index(j, n) >= 0) {
                if (!j->preempt_at)
                    continue;
                /* a preemption victim: its signal, and the grace left */
                kill.reason = PROTO_END_PREEMPTED;
                kill.signal = j->preempt_signal;
                kill.grace = j->preempt_at > now ? (int32_t)(j->preempt_at - now) : 0;
            }
            nc->kill = grow(nc->kill, &cap, nc->nkill, sizeof *nc->kill);
            nc->kill[nc->nkill++] = kill;
            int32_t q = 0;
            while (q < fn->nkills && (fn->kills[q].job != pr->job || fn->kills[q].run != pr->run))
                q++;
            if (q == fn->nkills) {
                fn->kills = grow(fn->kills, &fn->capkills, fn->nkills, sizeof *fn->kills);
                fn->kills[fn->nkills++] = (struct fkill){pr->job, pr->run};
                fresh_kills++;
            }
        }
        /* forget kills of what the node no longer reports */
        for (int32_t q = 0; q < fn->nkills;) {
            int still = 0;
            for (int32_t r = 0; r < rep->nrunning && !still; r++)
                still = rep->running[r].job == fn->kills[q].job &&
                        rep->running[r].run == fn->kills[q].run;
            if (still)
                q++;
            else
                fn->kills[q] = fn->kills[--fn->nkills];
        }
        /* launch what should run there but is not reported (a resend is
         * not news: only a first launch makes a reply worth sending) */
        cap = 0;
        size_t fresh_launches = 0;
        for (int32_t q = 0; q < fn->njobs; q++) {
            fjob *j = fn->jobs[q];
            int k = alloc_index(j, n);
            if (k < 0 || reported(rep, j->id, j->restarts) || (*share_flags(j, k) & SHARE_ENDED))
                continue;
            if (!j->gpumask[k] && j->sj.alloc[k].gpus > 0) {
                j->gpumask[k] = pick_gpus(c, n, j, k, rep);
                if (!j->gpumask[k])
                    continue; /* its GPUs are still busy: at a later sync */
            }
            proto_launch l;
            if (fill_launch(c, &sc, j, k, tcp, &l) != 0) {
                ctl_job_finish(c, j, FJOB_FAILED, -1);
                q--; /* it left fn->jobs */
                continue;
            }
            nc->launch = grow(nc->launch, &cap, nc->nlaunch, sizeof *nc->launch);
            nc->launch[nc->nlaunch++] = l;
            if (!(*share_flags(j, k) & SHARE_LAUNCHED)) {
                *share_flags(j, k) |= SHARE_LAUNCHED;
                fresh_launches++;
            }
        }
        size_t k = (size_t)nc->nack + fresh_kills + fresh_launches;
        size_t listed = (size_t)nc->nack + (size_t)nc->nkill + (size_t)nc->nlaunch;
        /* steps ride along (repeated until their ranks end), waking no one */
        int nsteps = 0, fresh = 0;
        for (int32_t q = 0; q < fn->njobs; q++) {
            int kk = alloc_index(fn->jobs[q], n);
            if (kk >= 0 && fn->jobs[q]->steps)
                nsteps += steps_compose(c, fn->jobs[q], kk, nc, &fresh);
        }
        k += (size_t)fresh; /* a step not sent before is news */
        if (listed || nsteps) {
            ncmds += k;
            out->nnodes++;
        } else {
            free(nc->ack);
            free(nc->kill);
            free(nc->launch);
        }
    }
    jobspec_free(&sc.js);
    return ncmds;
}

/* Answers the held sync of a when it has commands, or always with force.
 * Returns 1 if answered. */
static int answer_if(ctl *c, fagent *a, int force)
{
    http_req *r = a->held;
    proto_reply rep;
    memset(&rep, 0, sizeof rep);
    size_t n = compose(c, a->msg, a->tcp, &rep);
    if (n == 0 && !force) {
        proto_reply_free(&rep);
        return 0;
    }
    rep.seq = ++a->seq;
    rep.heartbeat_ms = 1000;
    size_t len;
    char *body = proto_reply_encode(&rep, &len);
    proto_reply_free(&rep);
    if (!body) {
        http_reply_error(r, 503, "memory", NULL, "out of memory");
    } else {
        char mac[65];
        proto_mac_hex(c->o.key, PROTO_CTX_REPLY, a->nonce, body, len, mac);
        http_reply(r, 200, body, len);
        http_reply_header(r, "X-Fleet-MAC", mac);
    }
    http_resume(r);
    a->held = NULL;
    a->force = 0;
    proto_sync_free(a->msg);
    free(a->msg);
    a->msg = NULL;
    uv_timer_stop(&a->timer);
    return 1;
}

void agent_release_held(ctl *c)
{
    for (size_t i = 0; i < c->nall; i++)
        if (c->all[i]->steps)
            steps_job_stopped(c, c->all[i]);
    for (size_t i = 0; i < c->nagents; i++)
        if (c->agents[i]->held)
            answer_if(c, c->agents[i], 1);
}

void agent_after_commit(ctl *c)
{
    fagent *a = c->wake_head;
    c->wake_head = NULL;
    while (a) {
        fagent *next = a->wake_next;
        a->queued = 0;
        a->wake_next = NULL;
        if (a->held)
            answer_if(c, a, a->force);
        a = next;
    }
}

static void on_wait_done(uv_timer_t *t)
{
    fagent *a = t->data;
    if (a->held)
        answer_if(a->c, a, 1);
}

/* ---- the sync handler ---------------------------------------------------------- */
static int agent_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= PROTO_NAME_MAX)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int end_state(const proto_ended *e)
{
    switch (e->reason) {
    case PROTO_END_PREEMPTED: return FJOB_PREEMPTED;
    case PROTO_END_EXITED: return e->exit_code == 0 ? FJOB_COMPLETED : FJOB_FAILED;
    case PROTO_END_TIMEOUT: return FJOB_TIMEOUT;
    default: return FJOB_FAILED;
    }
}

static void take_report(ctl *c, fagent *a, const proto_node_report *rep)
{
    int n = sched_node_find(c->s, rep->name);
    if (n < 0)
        return; /* answered with an error in the reply */
    fnode *fn = &c->nodes[n];
    int ai = agent_index(c, a);
    if (fn->agent != ai) {
        if (fn->agent >= 0)
            fprintf(stderr, "fleetd: node %s: now served by agent %s\n", rep->name, a->name);
        fn->agent = ai;
    }
    fn->last_seen_ms = uv_now(c->loop);
    fn->last_seen = ctl_now();
    if (rep->has_inventory) {
        const proto_inventory *inv = &rep->inv;
        fn->inv_gpus = inv->gpus;
        fn->inv_cpus = inv->cpus;
        fn->inv_mem_mb = inv->mem_mb;
        snprintf(fn->cgroup, sizeof fn->cgroup, "%s", inv->cgroup);
        snprintf(fn->source, sizeof fn->source, "%s", inv->source);
        free(fn->addr);
        fn->addr = xstrdup(inv->addr);
        free(fn->note);
        fn->note = xstrdup(inv->note);
        free(fn->model);
        fn->model = xstrdup(inv->model);
        sched_node_info ni;
        sched_node_get(c->s, n, &ni);
        fn->inv_short = inv->gpus < ni.gpus;
        if (fn->inv_short) {
            char why[160];
            snprintf(why, sizeof why, "inventory: the agent found %d GPUs, the config says %d",
                     inv->gpus, ni.gpus);
            set_why(fn, why);
            fprintf(stderr, "fleetd: node %s: %s\n", rep->name, why);
        }
    }
    if (!fn->alive) {
        fn->alive = 1;
        if (!fn->inv_short)
            set_why(fn, NULL);
        fprintf(stderr, "fleetd: node %s: agent %s is up\n", rep->name, a->name);
    }
    apply_state(c, n);
    /* GPU masks of running jobs: the agent's word (after a restart of ours) */
    for (int32_t r = 0; r < rep->nrunning; r++) {
        fjob *j = ctl_job_find(c, rep->running[r].job);
        int k = j && j->state == FJOB_RUNNING && j->restarts == rep->running[r].run
                    ? alloc_index(j, n)
                    : -1;
        if (k >= 0 && j->gpumask && rep->running[r].gpus)
            j->gpumask[k] = rep->running[r].gpus;
    }
    /* ends: the first node's end is the job's end */
    for (int32_t e = 0; e < rep->nended; e++) {
        const proto_ended *pe = &rep->ended[e];
        fjob *j = ctl_job_find(c, pe->job);
        if (!j || j->state != FJOB_RUNNING || j->restarts != pe->run)
            continue;
        int k = alloc_index(j, n);
        if (k < 0)
            continue;
        *share_flags(j, k) |= SHARE_ENDED;
        if (k > 0 && pe->reason != PROTO_END_LAUNCH_FAILED)
            continue; /* a member node let go: only the first node ends a job */
        int st = end_state(pe);
        if (pe->reason == PROTO_END_LAUNCH_FAILED || pe->message[0])
            fprintf(stderr, "fleetd: job %lld on %s: %s\n", (long long)j->id, rep->name,
                    pe->message[0] ? pe->message : "launch failed");
        /* a victim's run ends as preempted however it left after the signal
         * (checkpointed and exited, or killed at the end of its grace); also
         * one preempted before a restart of ours (the shepherd kept its
         * deadline) */
        if (pe->reason != PROTO_END_LAUNCH_FAILED && (j->preempt_at || st == FJOB_PREEMPTED))
            ctl_job_preempted(c, j, pe->exit_code);
        else
            ctl_job_finish(c, j, st, pe->exit_code);
    }
}

void agent_sync(ctl *c, http_req *r)
{
    if (c->o.no_agents) {
        http_reply_error(r, 409, "no_agents", NULL,
                         "this controller runs without agents (--no-agents)");
        return;
    }
    const char *name = http_header(r, "X-Fleet-Agent");
    const char *nonce_s = http_header(r, "X-Fleet-Nonce");
    const char *mac = http_header(r, "X-Fleet-MAC");
    uint64_t nonce;
    if (!name || !agent_name_ok(name)) {
        http_reply_error(r, 401, "agent_auth", "X-Fleet-Agent",
                         "missing or malformed agent name");
        return;
    }
    if (!nonce_s || proto_nonce_parse(nonce_s, &nonce) != 0) {
        http_reply_error(r, 401, "agent_auth", "X-Fleet-Nonce", "missing or malformed nonce");
        return;
    }
    if (!mac || proto_mac_check(c->o.key, PROTO_CTX_SYNC, nonce, r->body ? r->body : "", r->len,
                                mac) != 0) {
        fprintf(stderr, "fleetd: agent %s: message refused: bad MAC (wrong cluster key?)\n",
                name);
        http_reply_error(r, 401, "agent_auth", "X-Fleet-MAC",
                         "message not authenticated with the cluster key");
        return;
    }
    fagent *a = agent_find(c, name);
    /* replays: strictly increasing nonces per agent. Agents keep their
     * nonces at or above their clock in nanoseconds, so a first message to
     * this controller must be younger than its start (30 s of clock skew
     * allowed): nothing recorded before a restart can be replayed after it,
     * but for those 30 s. */
    uint64_t floor = a ? a->last_nonce : c->start_ns - 30ull * 1000000000ull;
    if (nonce <= floor) {
        fprintf(stderr, "fleetd: agent %s: message refused: replayed or stale nonce\n", name);
        http_reply_error(r, 401, "agent_auth", "X-Fleet-Nonce", "replayed or stale nonce");
        return;
    }
    proto_sync *m = xcalloc(1, sizeof *m);
    char err[256];
    if (proto_sync_decode(r->body ? r->body : "", r->len, m, err, sizeof err) != 0) {
        free(m);
        /* "PATH: reason"; a PATH never holds a space (whole-body errors have none) */
        const char *colon = strchr(err, ':');
        if (colon && memchr(err, ' ', (size_t)(colon - err)))
            colon = NULL;
        char field[128];
        snprintf(field, sizeof field, "%.*s", colon ? (int)(colon - err) : 0, err);
        http_reply_error(r, 400, "invalid", field[0] ? field : NULL, "%s",
                         colon ? colon + 2 : err);
        return;
    }
    if (strcmp(m->agent, name) != 0) {
        http_reply_error(r, 400, "invalid", "agent", "\"%s\" is not the agent of the header "
                         "X-Fleet-Agent (\"%s\")", m->agent, name);
        proto_sync_free(m);
        free(m);
        return;
    }
    if (!a) {
        if (c->nagents == c->capagents) {
            c->capagents = c->capagents ? c->capagents * 2 : 16;
            c->agents = realloc(c->agents, c->capagents * sizeof *c->agents);
            if (!c->agents)
                abort();
        }
        a = xcalloc(1, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", name);
        a->c = c;
        uv_timer_init(c->loop, &a->timer);
        a->timer.data = a;
        c->agents[c->nagents++] = a;
    }
    a->last_nonce = nonce;
    a->tcp = r->is_tcp;
    /* reply numbers go on from the agent's newest, also after a restart of ours */
    if (m->last_seq > a->seq)
        a->seq = m->last_seq;
    if (a->held)
        answer_if(c, a, 1); /* the older long poll gets what there is */
    for (int32_t i = 0; i < m->nnodes; i++)
        take_report(c, a, &m->nodes[i]);
    steps_take(c, m);
    a->held = r;
    a->msg = m;
    a->nonce = nonce;
    a->force = m->wait_ms == 0;
    for (int32_t i = 0; i < m->nnodes && !a->force; i++)
        if (m->nodes[i].nended || sched_node_find(c->s, m->nodes[i].name) < 0)
            a->force = 1;
    http_suspend(r);
    wake_agent(c, a);
    if (!a->force)
        uv_timer_start(&a->timer, on_wait_done, (uint64_t)m->wait_ms, 0);
}

/* ---- the API's view ---------------------------------------------------------------- */
void agent_node_fields(ctl *c, int n, jsonw *w)
{
    if (c->o.no_agents)
        return;
    fnode *fn = &c->nodes[n];
    /* flat, for tables: how jobs are isolated there */
    jsonw_kv_str(w, "cgroup", fn->cgroup[0] ? fn->cgroup : "");
    jsonw_kv_str(w, "cgroup_note", fn->note ? fn->note : "");
    jsonw_key(w, "agent");
    jsonw_obj_open(w);
    jsonw_kv_bool(w, "alive", fn->alive);
    jsonw_kv_str(w, "name",
                 fn->agent >= 0 && (size_t)fn->agent < c->nagents ? c->agents[fn->agent]->name
                                                                 : "");
    jsonw_kv_int(w, "last_seen", fn->last_seen);
    jsonw_kv_int(w, "gpus", fn->inv_gpus);
    jsonw_kv_str(w, "gpu_model", fn->model ? fn->model : "");
    jsonw_kv_str(w, "gpu_source", fn->source);
    jsonw_kv_str(w, "addr", fn->addr ? fn->addr : "");
    jsonw_kv_str(w, "cgroup", fn->cgroup);
    jsonw_kv_str(w, "note", fn->note ? fn->note : "");
    jsonw_obj_close(w);
}
