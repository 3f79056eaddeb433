/*
 * sync.c: the agent's half of POST /v1/agent/sync (see proto.h).
 *
 * One long poll is always outstanding: a sync with wait_ms = the heartbeat,
 * which fleetd holds until it has commands or the time is up; its reply is
 * applied and the next long poll leaves at once, carrying the state that
 * resulted (a launched job is then reported running). News (a job ended,
 * output of a step) does not wait for the long poll: within NEWS_MS an
 * immediate sync (wait_ms 0) leaves, at most URGENT_MAX of them in flight,
 * and news arriving meanwhile rides on the next one. fleetd answers a held
 * poll as soon as a later sync arrives, so the two never wait on each other.
 *
 * Every sync carries every node's state: its running jobs and its ended
 * jobs not yet acknowledged (and the inventory until a reply to a sync that
 * carried it comes back without an error for the node: after the start,
 * after a refusal of the node, after fleetd could not be reached);
 * so a lost sync or reply loses nothing, and replies are applied only when
 * newer than the newest applied (fleetd repeats commands until the reports
 * show them done). A reply whose MAC does not verify is ignored.
 *
 * Nonces: strictly increasing, never below the clock in ns (fleetd refuses
 * a first message older than its own start), and above the high-water mark
 * saved in SPOOL/nonce. The mark is saved (fsync) 10 s of nanoseconds
 * ahead, so the file is written at most every 10 s, a restart with a clock
 * set back never reuses a nonce, and an agent that restarts (or comes back
 * with a wiped spool) is at most 10 s ahead of, or behind, its old nonces.
 *
 * fleetd down: the long poll is retried with a backoff (50 ms doubling to
 * 2 s); jobs are untouched, and reports resume with the next sync.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util.h"

#define NEWS_MS 5
#define URGENT_MAX 2
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define TIMEOUT_EXTRA_MS 15000
#define NONCE_RESERVE (10ull * 1000000000ull) /* 10 s of clock nanoseconds */
#define REFUSAL_LOG_MS 30000
#define SPIN_GAP_MS 100

struct agent_sync {
    httpc *http;
    uint64_t nonce, nonce_hwm;
    char nonce_path[PATH_MAX];
    uint64_t last_seq;          /* newest reply applied */
    int stale_run;              /* replies older than last_seq in a row */
    uint64_t next_id;           /* request ids, from 1 */
    int poll_inflight, urgent_inflight;
    int news;
    int64_t last_urgent_ms;
    uv_timer_t news_timer, poll_timer;
    int backoff_ms;
    int heartbeat_ms;
    int down;                   /* the last attempt failed (log transitions only) */
    char last_refusal[256];
    int64_t last_refusal_ms;
    int stopping;
};

typedef struct sreq {
    agent *a;
    uint64_t id, nonce;
    int urgent, wait_ms;
    int64_t sent_ms;
} sreq;

static void send_sync(agent *a, int urgent);
static void on_poll_timer(uv_timer_t *t);
static void on_news_timer(uv_timer_t *t);

/* ---- nonces ------------------------------------------------------------- */

static uint64_t next_nonce(agent *a)
{
    struct agent_sync *s = a->sync;
    /* at or above the clock: fleetd refuses a first message older than
     * its own start (replays from before a restart of fleetd) */
    uint64_t now = now_ns();
    s->nonce = s->nonce + 1 > now ? s->nonce + 1 : now;
    if (s->nonce >= s->nonce_hwm) {
        s->nonce_hwm = s->nonce + NONCE_RESERVE;
        if (spool_nonce_save(s->nonce_path, s->nonce_hwm) != 0)
            alog("cannot save %s: %s (nonces may repeat after a restart with the clock set "
                 "back)",
                 s->nonce_path, strerror(errno));
    }
    return s->nonce;
}

/* ---- the message -------------------------------------------------------- */

/* The state of every node, as a sync carries it. Arrays malloc'd here,
 * freed by free_report; the inventories point into the nodes. */
static void build_report(agent *a, proto_sync *m, uint64_t id, int wait_ms)
{
    struct agent_sync *s = a->sync;
    memset(m, 0, sizeof *m);
    m->version = PROTO_VERSION;
    snprintf(m->agent, sizeof m->agent, "%s", a->name);
    m->boot = a->boot;
    m->wait_ms = wait_ms;
    m->last_seq = s->last_seq;
    m->nnodes = a->nnodes;
    m->nodes = xcalloc((size_t)a->nnodes, sizeof *m->nodes);
    size_t total = 0;
    for (int32_t i = 0; i < a->nnodes; i++)
        total += (size_t)a->nodes[i].njobs;
    proto_running *run = xcalloc(total, sizeof *run);
    proto_ended *end = xcalloc(total, sizeof *end);
    size_t nr = 0, ne = 0;
    for (int32_t i = 0; i < a->nnodes; i++) {
        anode *n = &a->nodes[i];
        proto_node_report *r = &m->nodes[i];
        memcpy(r->name, n->name, sizeof r->name);
        if (n->need_inv) {
            r->has_inventory = 1;
            r->inv = n->inv;
            if (!n->need_inv_since)
                n->need_inv_since = id;
        }
        r->running = run + nr;
        r->ended = end + ne;
        for (ajob *j = n->jobs; j; j = j->next) {
            if (j->state == AJOB_RUNNING)
                run[nr++] = (proto_running){j->job, j->run, j->gpus};
            else
                end[ne++] = j->end;
        }
        r->nrunning = (int32_t)(run + nr - r->running);
        r->nended = (int32_t)(end + ne - r->ended);
    }
    step_sync_take(a, id, m);
}

static void free_report(proto_sync *m)
{
    if (m->nnodes > 0) {
        free(m->nodes[0].running);
        free(m->nodes[0].ended);
    }
    free(m->nodes);
    /* output data belongs to step.c until step_sync_done */
    free(m->output);
    free(m->rank_ends);
}

/* ---- replies ------------------------------------------------------------ */

static void note_refusal(agent *a, const char *msg)
{
    struct agent_sync *s = a->sync;
    int64_t now = mono_ms();
    if (strcmp(s->last_refusal, msg) != 0 || now - s->last_refusal_ms >= REFUSAL_LOG_MS) {
        alog("%s", msg);
        snprintf(s->last_refusal, sizeof s->last_refusal, "%.255s", msg);
        s->last_refusal_ms = now;
    }
}

/* Applies the commands of a verified reply to request q; returns how many
 * did something (repeats of commands carried out do not count). */
static int apply_reply(agent *a, sreq *q, proto_reply *r)
{
    struct agent_sync *s = a->sync;
    int stale = s->last_seq && r->seq <= s->last_seq;
    int commands = 0;
    /* at most URGENT_MAX + 1 replies can overtake each other; more stale
     * ones in a row mean fleetd numbers from scratch (it restarted) */
    s->stale_run = stale ? s->stale_run + 1 : 0;
    if (stale && s->stale_run > URGENT_MAX + 1) {
        alog("fleetd's replies are numbered from %" PRIu64 " again (fleetd restarted?); "
             "following them",
             r->seq);
        stale = 0;
        s->stale_run = 0;
    }
    if (!stale) {
        s->last_seq = r->seq;
        /* "sync at least this often": the long poll waits no longer */
        int hb = r->heartbeat_ms < a->o.heartbeat_ms ? r->heartbeat_ms : a->o.heartbeat_ms;
        s->heartbeat_ms = hb < 10 ? 10 : hb;
    }
    for (int32_t i = 0; i < r->nnodes; i++) {
        proto_node_cmds *c = &r->nodes[i];
        anode *n = agent_node(a, c->name);
        if (!n) {
            char msg[200];
            snprintf(msg, sizeof msg, "fleetd's reply names node %.64s, not served here", c->name);
            note_refusal(a, msg);
            continue;
        }
        if (c->error[0]) {
            if (strcmp(n->error, c->error) != 0)
                alog("fleetd refuses node %s: %s", n->name, c->error);
            snprintf(n->error, sizeof n->error, "%s", c->error);
            n->need_inv = 1;
            n->need_inv_since = 0;
        } else {
            if (n->error[0])
                alog("fleetd accepts node %s", n->name);
            n->error[0] = '\0';
            if (n->need_inv && n->need_inv_since && q->id >= n->need_inv_since)
                n->need_inv = 0;
        }
        if (stale)
            continue;
        n->state = c->state;
        for (int32_t k = 0; k < c->nack; k++)
            commands += exec_ack(n, c->ack[k].job, c->ack[k].run);
        for (int32_t k = 0; k < c->nlaunch; k++)
            commands += exec_launch(n, &c->launch[k]);
        for (int32_t k = 0; k < c->nkill; k++)
            commands += exec_kill(n, &c->kill[k]);
        for (int32_t k = 0; k < c->nsteps; k++)
            commands += step_start(n, &c->steps[k]);
        for (int32_t k = 0; k < c->nstep_kills; k++)
            commands += step_kill(n, &c->step_kills[k]);
    }
    return commands;
}

/* Checks and applies an answer; 1 when it was a good reply (and *commands
 * says how many commands it carried), 0 otherwise (logged). */
static int take_answer(agent *a, sreq *q, const httpc_resp *resp, const char *err,
                       int *commands)
{
    struct agent_sync *s = a->sync;
    char msg[512];
    *commands = 0;
    if (err) {
        if (!s->down)
            alog("cannot reach fleetd at %s: %s; retrying", a->o.controller, err);
        s->down = 1;
        return 0;
    }
    if (resp->status != 200) {
        /* fleetd's error body: {"error": {"message": ...}} or {"error": "..."} */
        int n = (int)(resp->len < 300 ? resp->len : 300);
        while (n > 0 && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r'))
            n--;
        snprintf(msg, sizeof msg, "fleetd refused the sync (HTTP %d%s): %.*s", resp->status,
                 resp->status == 401 ? ", wrong cluster key?" : "", n, resp->body);
        note_refusal(a, msg);
        s->down = 1;
        return 0;
    }
    char mac[80];
    if (!httpc_header(resp, "X-Fleet-MAC", mac, sizeof mac) ||
        proto_mac_check(a->key, PROTO_CTX_REPLY, q->nonce, resp->body, resp->len, mac) != 0) {
        note_refusal(a, "a reply from fleetd failed authentication (X-Fleet-MAC); ignored");
        s->down = 1;
        return 0;
    }
    proto_reply r;
    char why[256];
    if (proto_reply_decode(resp->body, resp->len, &r, why, sizeof why) != 0) {
        snprintf(msg, sizeof msg, "a reply from fleetd is malformed and was ignored: %s", why);
        note_refusal(a, msg);
        s->down = 1;
        return 0;
    }
    if (s->down) {
        /* fleetd may have restarted meanwhile and forgotten what the nodes
         * have: tell it again */
        alog("connected to fleetd at %s", a->o.controller);
        for (int32_t i = 0; i < a->nnodes; i++) {
            a->nodes[i].need_inv = 1;
            a->nodes[i].need_inv_since = 0;
        }
    }
    s->down = 0;
    s->last_refusal[0] = '\0';
    *commands = apply_reply(a, q, &r);
    proto_reply_free(&r);
    return 1;
}

static void on_reply(void *arg, const httpc_resp *resp, const char *err)
{
    sreq *q = arg;
    agent *a = q->a;
    struct agent_sync *s = a->sync;
    if (s->stopping) {
        step_sync_done(a, q->id, 0);
        free(q);
        return;
    }
    int commands;
    int ok = take_answer(a, q, resp, err, &commands);
    step_sync_done(a, q->id, ok);
    if (q->urgent) {
        s->urgent_inflight--;
        if (!ok)
            s->news = 1; /* what it carried goes again with the next */
        if (s->news && !uv_is_active((uv_handle_t *)&s->news_timer))
            uv_timer_start(&s->news_timer, on_news_timer, 0, 0);
    } else {
        s->poll_inflight = 0;
        uint64_t delay = 0;
        if (!ok) {
            delay = (uint64_t)s->backoff_ms;
            s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
        } else {
            s->backoff_ms = BACKOFF_MIN_MS;
            /* a reply with nothing new well before wait_ms, that no later
             * sync of ours explains (fleetd answers a held poll when another
             * sync arrives): fleetd does not hold polls, or it repeats a
             * command still in progress (a kill in its grace period); do
             * not spin: at most one such poll per SPIN_GAP_MS (a gap short
             * enough that new commands still come quickly) */
            int64_t took = mono_ms() - q->sent_ms;
            if (!commands && took < q->wait_ms / 2 && s->last_urgent_ms < q->sent_ms)
                delay = (uint64_t)(q->wait_ms - took < SPIN_GAP_MS ? q->wait_ms - took
                                                                     : SPIN_GAP_MS);
        }
        uv_timer_start(&s->poll_timer, on_poll_timer, delay, 0);
    }
    free(q);
}

/* ---- sending ------------------------------------------------------------ */

static void send_sync(agent *a, int urgent)
{
    struct agent_sync *s = a->sync;
    sreq *q = xcalloc(1, sizeof *q);
    q->a = a;
    q->id = ++s->next_id;
    q->urgent = urgent;
    q->wait_ms = urgent ? 0 : s->heartbeat_ms;
    q->sent_ms = mono_ms();
    proto_sync m;
    build_report(a, &m, q->id, q->wait_ms);
    size_t len;
    char *body = proto_sync_encode(&m, &len);
    free_report(&m);
    if (!body) {
        alog("out of memory encoding a sync");
        abort();
    }
    q->nonce = next_nonce(a);
    char mac[65], headers[512];
    proto_mac_hex(a->key, PROTO_CTX_SYNC, q->nonce, body, len, mac);
    snprintf(headers, sizeof headers,
             "X-Fleet-Agent: %s\r\nX-Fleet-Nonce: %" PRIu64 "\r\nX-Fleet-MAC: %s\r\n", a->name,
             q->nonce, mac);
    if (urgent) {
        s->urgent_inflight++;
        s->last_urgent_ms = q->sent_ms;
    } else {
        s->poll_inflight = 1;
    }
    httpc_post(s->http, "/v1/agent/sync", headers, body, len,
               (uint64_t)q->wait_ms + TIMEOUT_EXTRA_MS, on_reply, q);
}

static void on_poll_timer(uv_timer_t *t)
{
    agent *a = t->data;
    if (!a->sync->stopping && !a->sync->poll_inflight)
        send_sync(a, 0);
}

static void on_news_timer(uv_timer_t *t)
{
    agent *a = t->data;
    struct agent_sync *s = a->sync;
    if (s->stopping || !s->news)
        return;
    if (s->urgent_inflight >= URGENT_MAX)
        return; /* re-armed when one comes back */
    s->news = 0;
    send_sync(a, 1);
}

void sync_news(agent *a)
{
    struct agent_sync *s = a->sync;
    if (!s || s->stopping)
        return;
    s->news = 1;
    if (!uv_is_active((uv_handle_t *)&s->news_timer))
        uv_timer_start(&s->news_timer, on_news_timer, NEWS_MS, 0);
}

int sync_start(agent *a, char *err, size_t errlen)
{
    struct agent_sync *s = xcalloc(1, sizeof *s);
    s->http = httpc_create(a->loop, a->o.controller, PROTO_MAX_BODY, err, errlen);
    if (!s->http) {
        free(s);
        return -1;
    }
    snprintf(s->nonce_path, sizeof s->nonce_path, "%s/nonce", a->o.spool);
    uint64_t hwm;
    if (spool_nonce_load(s->nonce_path, &hwm) != 0) {
        snprintf(err, errlen, "%s: %s", s->nonce_path, strerror(errno));
        httpc_destroy(s->http);
        free(s);
        return -1;
    }
    uint64_t now = now_ns();
    s->nonce = now > hwm ? now : hwm; /* the first nonce is one above */
    s->nonce_hwm = 0;                 /* saved before the first use */
    s->heartbeat_ms = a->o.heartbeat_ms;
    s->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(a->loop, &s->news_timer);
    uv_timer_init(a->loop, &s->poll_timer);
    s->news_timer.data = s->poll_timer.data = a;
    uv_timer_start(&s->poll_timer, on_poll_timer, 0, 0);
    a->sync = s;
    return 0;
}

void sync_stop(agent *a)
{
    struct agent_sync *s = a->sync;
    if (!s)
        return;
    s->stopping = 1;
    uv_timer_stop(&s->news_timer);
    uv_timer_stop(&s->poll_timer);
    uv_close((uv_handle_t *)&s->news_timer, NULL);
    uv_close((uv_handle_t *)&s->poll_timer, NULL);
    httpc_destroy(s->http);
    s->http = NULL;
}

void sync_free(agent *a)
{
    free(a->sync);
    a->sync = NULL;
}
