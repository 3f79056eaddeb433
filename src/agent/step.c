/*
 * step.c: steps of `fleet run` on this agent's nodes.
 *
 * A step command names the ranks that live on a node. Each rank is started
 * through the rank starter (fleet-agent --rank JOBDIR INDEX, the step on its
 * stdin, in its own session): it joins the job's cgroup, becomes the job's
 * user, enters the working directory and execs argv with the job's
 * environment plus RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT, FLEET_STEP_ID and its GPUs. Its stdout and
 * stderr come back through pipes.
 *
 * Output goes to fleetd in the syncs as proto_output chunks, in order per
 * rank and stream: at most one chunk per stream in flight, each at most
 * STEP_CHUNK_MAX bytes; a chunk whose sync fails goes again with the next
 * (so fleetd may, rarely, see a chunk twice, never lose one it could have
 * had). While a stream has STEP_CHUNK_MAX bytes waiting, its pipe is not
 * read: a rank that writes faster than fleetd takes its output blocks on
 * write (backpressure) rather than the agent's memory growing. While the
 * rank writes, a chunk ends after its last newline (so the lines of several
 * ranks do not mix in fleet run's output), or when it holds none, before an
 * incomplete UTF-8 sequence at its end; the rest goes with the next.
 *
 * A rank's end (proto_rank_end) is reported once its process has exited
 * and both pipes are drained, in the same sync as its last output or a
 * later one; it is repeated until a sync carrying it succeeds.
 *
 * A step kill sends SIGTERM to each rank's process group, SIGKILL after
 * STEP_GRACE_MS. When the job ends on the node, its ranks get SIGKILL (the
 * shepherd also kills everything in the job's cgroup). Steps are remembered
 * until the job ends here, so that a repeated step command is not started
 * twice. Ranks are not adopted across an agent restart: they go on until
 * the job ends, but their output is lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util.h"

#define STEP_CHUNK_MAX (64 * 1024)
#define STEP_GRACE_MS 2000

typedef struct arank arank;

/* One stream (stdout or stderr) of a rank. */
typedef struct astream {
    arank *r;
    int which;                  /* 1 stdout, 2 stderr */
    uv_pipe_t pipe;
    int open, reading;
    char *pend;                 /* read, not yet sent */
    size_t plen, pcap;
    char *fly;                  /* in the sync with id fly_id */
    size_t flen;
    uint64_t fly_id;
} astream;

struct arank {
    astep *st;
    int32_t rank;
    uv_process_t proc;
    int running;                /* the process has not exited */
    int handles;                /* open libuv handles (process, pipes) */
    astream out[2];
    int exited;
    int32_t exit_code, sig;
    int end_state;              /* 0 not ended, 1 to send, 2 in flight, 3 delivered */
    uint64_t end_id;
};

struct astep {
    anode *node;
    int64_t job;
    int32_t run, step;
    int job_over;               /* the job ended on this node */
    int killed;
    uv_timer_t grace;           /* SIGKILL after STEP_GRACE_MS */
    int nranks;
    arank *ranks;
    astep *next;
};

struct agent_steps {
    astep *steps;
    int stopping;
};

static void maybe_free_step(agent *a, astep *st);

void step_init(agent *a)
{
    a->steps = xcalloc(1, sizeof *a->steps);
}

static astep *find_step(agent *a, anode *n, int64_t job, int32_t step)
{
    for (astep *st = a->steps->steps; st; st = st->next)
        if (st->node == n && st->job == job && st->step == step)
            return st;
    return NULL;
}

/* ---- output ------------------------------------------------------------- */

/* Length of the prefix of s[0..n) that does not end inside a UTF-8
 * sequence (a sequence cut at the end is left for the next chunk). */
static size_t utf8_whole(const char *s, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? n - back : n;
    }
    return n;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    astream *s = h->data;
    (void)suggested;
    size_t room = STEP_CHUNK_MAX > s->plen ? STEP_CHUNK_MAX - s->plen : 0;
    if (room < 4096)
        room = 4096; /* libuv needs some room; the pause below bounds the rest */
    if (s->pcap < s->plen + room) {
        s->pcap = s->plen + room;
        s->pend = xrealloc(s->pend, s->pcap);
    }
    buf->base = s->pend + s->plen;
    buf->len = room;
}

static void on_handle_closed(uv_handle_t *h);

static void stream_close(astream *s)
{
    if (!s->open)
        return;
    s->open = 0;
    s->reading = 0;
    uv_close((uv_handle_t *)&s->pipe, on_handle_closed);
}

static void rank_check_end(arank *r)
{
    if (r->exited && !r->out[0].open && !r->out[1].open && r->end_state == 0) {
        r->end_state = 1;
        sync_news(r->st->node->a);
    }
}

static void on_read(uv_stream_t *p, ssize_t n, const uv_buf_t *buf)
{
    astream *s = p->data;
    (void)buf;
    if (n > 0) {
        s->plen += (size_t)n;
        if (s->plen >= STEP_CHUNK_MAX && s->reading) {
            uv_read_stop(p); /* backpressure: resumed once fleetd has taken it */
            s->reading = 0;
        }
        sync_news(s->r->st->node->a);
    } else if (n < 0) {
        stream_close(s); /* EOF or error: the rank closed it */
        sync_news(s->r->st->node->a);
        rank_check_end(s->r);
    }
}

static void stream_resume(astream *s)
{
    if (s->open && !s->reading && s->plen < STEP_CHUNK_MAX && !s->r->st->node->a->stopping) {
        if (uv_read_start((uv_stream_t *)&s->pipe, on_alloc, on_read) == 0)
            s->reading = 1;
    }
}

/* ---- ranks -------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    arank *r;
    if (h->type == UV_PROCESS)
        r = h->data;
    else
        r = ((astream *)h->data)->r;
    r->handles--;
    maybe_free_step(r->st->node->a, r->st);
}

static void on_rank_exit(uv_process_t *p, int64_t status, int sig)
{
    arank *r = p->data;
    r->running = 0;
    r->exited = 1;
    r->sig = sig;
    r->exit_code = sig ? 128 + sig : (int32_t)status;
    uv_close((uv_handle_t *)p, on_handle_closed);
    rank_check_end(r);
}

/* A rank that could not be started: its end, with the reason on stderr. */
static void rank_fail(arank *r, const char *why)
{
    astream *e = &r->out[1];
    size_t n = strlen(why);
    e->pend = xrealloc(e->pend, e->plen + n + 1);
    memcpy(e->pend + e->plen, why, n);
    e->plen += n;
    e->pend[e->plen++] = '\n';
    e->pcap = e->plen;
    r->exited = 1;
    r->exit_code = 127;
    rank_check_end(r);
}

/* The rank starter's input: the step as a reply with one node and one step. */
static char *step_payload(const proto_step *ps)
{
    proto_node_cmds nc = {.name = "step", .nsteps = 1, .steps = (proto_step *)ps};
    proto_reply rep = {.seq = 1, .heartbeat_ms = 1000, .nnodes = 1, .nodes = &nc};
    size_t len;
    char *text = proto_reply_encode(&rep, &len);
    if (!text) {
        alog("out of memory encoding a step");
        abort();
    }
    return text;
}

typedef struct feed {
    uv_pipe_t pipe;
    uv_write_t w;
    char *buf;
} feed;

static void on_feed_closed(uv_handle_t *h)
{
    feed *f = (feed *)h;
    free(f->buf);
    free(f);
}

static void on_fed(uv_write_t *w, int status)
{
    (void)status;
    uv_close((uv_handle_t *)w->data, on_feed_closed);
}

static void rank_start(agent *a, ajob *j, arank *r, int index, const char *payload)
{
    feed *f = xcalloc(1, sizeof *f);
    uv_pipe_init(a->loop, &f->pipe, 0);
    for (int k = 0; k < 2; k++) {
        uv_pipe_init(a->loop, &r->out[k].pipe, 0);
        r->out[k].pipe.data = &r->out[k];
        r->out[k].open = 1;
        r->handles++;
    }
    char idx[16];
    snprintf(idx, sizeof idx, "%d", index);
    char *args[] = {a->self_exe, "--rank", j->dir, idx, NULL};
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&f->pipe},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out[0].pipe},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out[1].pipe},
    };
    uv_process_options_t po = {.exit_cb = on_rank_exit,
                               .file = "/proc/self/exe",
                               .args = args,
                               .flags = UV_PROCESS_DETACHED,
                               .stdio_count = 3,
                               .stdio = stdio};
    r->proc.data = r;
    int rc = uv_spawn(a->loop, &r->proc, &po);
    r->handles++;
    if (rc != 0) {
        uv_close((uv_handle_t *)&r->proc, on_handle_closed);
        uv_close((uv_handle_t *)&f->pipe, on_feed_closed);
        stream_close(&r->out[0]);
        stream_close(&r->out[1]);
        char why[256];
        snprintf(why, sizeof why, "fleet-agent: cannot start rank %d: %s", r->rank,
                 uv_strerror(rc));
        rank_fail(r, why);
        return;
    }
    r->running = 1;
    f->buf = xstrdup(payload);
    uv_buf_t b = uv_buf_init(f->buf, (unsigned)strlen(f->buf));
    f->w.data = &f->pipe;
    if (uv_write(&f->w, (uv_stream_t *)&f->pipe, &b, 1, on_fed) != 0)
        uv_close((uv_handle_t *)&f->pipe, on_feed_closed);
    for (int k = 0; k < 2; k++)
        stream_resume(&r->out[k]);
}

static void signal_ranks(astep *st, int sig)
{
    for (int i = 0; i < st->nranks; i++) {
        arank *r = &st->ranks[i];
        if (r->running && r->proc.pid > 0) {
            kill(-r->proc.pid, sig); /* its own session: the rank's process group */
            kill(r->proc.pid, sig);
        }
    }
}

static void on_grace(uv_timer_t *t)
{
    signal_ranks(t->data, SIGKILL);
}

int step_start(anode *n, const proto_step *ps)
{
    agent *a = n->a;
    if (a->stopping || find_step(a, n, ps->job, ps->step))
        return 0; /* a repeat */
    astep *st = xcalloc(1, sizeof *st);
    st->node = n;
    st->job = ps->job;
    st->run = ps->run;
    st->step = ps->step;
    st->nranks = ps->nranks;
    st->ranks = xcalloc((size_t)(ps->nranks ? ps->nranks : 1), sizeof *st->ranks);
    uv_timer_init(a->loop, &st->grace);
    st->grace.data = st;
    st->next = a->steps->steps;
    a->steps->steps = st;
    for (int i = 0; i < st->nranks; i++) {
        arank *r = &st->ranks[i];
        r->st = st;
        r->rank = ps->ranks[i].rank;
        for (int k = 0; k < 2; k++) {
            r->out[k].r = r;
            r->out[k].which = k + 1;
        }
    }
    ajob *j = exec_find(n, ps->job, ps->run);
    if (!j || j->state != AJOB_RUNNING) {
        char why[200];
        snprintf(why, sizeof why, "fleet-agent: job %" PRId64 ".%d is not running on %s",
                 ps->job, ps->run, n->name);
        for (int i = 0; i < st->nranks; i++)
            rank_fail(&st->ranks[i], why);
        st->job_over = 1;
        alog("step %" PRId64 ".%d on %s: %s", ps->job, ps->step, n->name, why + 13);
        return 1;
    }
    char *payload = step_payload(ps);
    for (int i = 0; i < st->nranks; i++)
        rank_start(a, j, &st->ranks[i], i, payload);
    free(payload);
    alog("step %" PRId64 ".%d on %s: %d rank%s started (%s)", ps->job, ps->step, n->name,
         st->nranks, st->nranks == 1 ? "" : "s", ps->argc > 0 ? ps->argv[0] : "");
    return 1;
}

int step_kill(anode *n, const proto_step_kill *k)
{
    astep *st = find_step(n->a, n, k->job, k->step);
    if (!st || st->killed)
        return 0;
    st->killed = 1;
    alog("step %" PRId64 ".%d on %s: killing its ranks", k->job, k->step, n->name);
    signal_ranks(st, SIGTERM);
    signal_ranks(st, SIGCONT);
    uv_timer_start(&st->grace, on_grace, STEP_GRACE_MS, 0);
    return 1;
}

void step_job_ended(ajob *j)
{
    agent *a = j->node->a;
    if (!a->steps)
        return;
    for (astep *st = a->steps->steps, *next; st; st = next) {
        next = st->next;
        if (st->node == j->node && st->job == j->job && st->run == j->run) {
            st->job_over = 1;
            signal_ranks(st, SIGKILL);
            maybe_free_step(a, st);
        }
    }
}

/* ---- the sync ----------------------------------------------------------- */

void step_sync_take(agent *a, uint64_t id, proto_sync *m)
{
    if (!a->steps)
        return;
    size_t nout = 0, nend = 0;
    for (astep *st = a->steps->steps; st; st = st->next)
        for (int i = 0; i < st->nranks; i++) {
            arank *r = &st->ranks[i];
            for (int k = 0; k < 2; k++)
                nout += r->out[k].plen > 0 && !r->out[k].fly;
            nend += r->end_state == 1;
        }
    if (!nout && !nend)
        return;
    m->output = nout ? xcalloc(nout, sizeof *m->output) : NULL;
    m->rank_ends = nend ? xcalloc(nend, sizeof *m->rank_ends) : NULL;
    for (astep *st = a->steps->steps; st; st = st->next) {
        for (int i = 0; i < st->nranks; i++) {
            arank *r = &st->ranks[i];
            int all_sent = 1;
            for (int k = 0; k < 2; k++) {
                astream *s = &r->out[k];
                if (s->fly || s->plen == 0) {
                    all_sent &= s->fly == NULL && s->plen == 0;
                    continue;
                }
                size_t n = s->plen > STEP_CHUNK_MAX ? STEP_CHUNK_MAX : s->plen;
                if (s->open) {
                    /* whole lines when there are some (ranks' lines then do
                     * not mix in fleet run), else whole characters */
                    const char *nl = memrchr(s->pend, '\n', n);
                    n = nl ? (size_t)(nl - s->pend) + 1 : utf8_whole(s->pend, n);
                }
                if (n == 0) {
                    all_sent = 0;
                    continue;
                }
                s->fly = xmalloc(n);
                memcpy(s->fly, s->pend, n);
                s->flen = n;
                s->fly_id = id;
                memmove(s->pend, s->pend + n, s->plen - n);
                s->plen -= n;
                all_sent &= s->plen == 0;
                m->output[m->noutput++] = (proto_output){st->job, st->step, r->rank, s->which,
                                                         s->fly, n};
            }
            /* the end goes with the last output or after it */
            if (r->end_state == 1 && all_sent) {
                r->end_state = 2;
                r->end_id = id;
                m->rank_ends[m->nrank_ends++] =
                    (proto_rank_end){st->job, st->step, r->rank, r->exit_code, r->sig};
            }
        }
    }
}

void step_sync_done(agent *a, uint64_t id, int ok)
{
    if (!a->steps)
        return;
    int again = 0;
    for (astep *st = a->steps->steps, *next; st; st = next) {
        next = st->next;
        for (int i = 0; i < st->nranks; i++) {
            arank *r = &st->ranks[i];
            for (int k = 0; k < 2; k++) {
                astream *s = &r->out[k];
                if (!s->fly || s->fly_id != id)
                    continue;
                if (!ok) {
                    /* to the front of what waits: order is kept */
                    s->pend = xrealloc(s->pend, s->plen + s->flen);
                    memmove(s->pend + s->flen, s->pend, s->plen);
                    memcpy(s->pend, s->fly, s->flen);
                    s->plen += s->flen;
                    s->pcap = s->plen;
                    again = 1;
                }
                free(s->fly);
                s->fly = NULL;
                s->flen = 0;
                stream_resume(s);
            }
            if (r->end_state == 2 && r->end_id == id) {
                r->end_state = ok ? 3 : 1;
                again |= !ok;
            }
            for (int k = 0; k < 2; k++)
                again |= r->out[k].plen > 0;
        }
        maybe_free_step(a, st);
    }
    if (again)
        sync_news(a);
}

/* ---- lifetimes ---------------------------------------------------------- */

static void on_step_timer_closed(uv_handle_t *h)
{
    astep *st = h->data;
    for (int i = 0; i < st->nranks; i++)
        for (int k = 0; k < 2; k++) {
            free(st->ranks[i].out[k].pend);
            free(st->ranks[i].out[k].fly);
        }
    free(st->ranks);
    free(st);
}

/* Frees st once its job is over here, every rank's end delivered and every
 * handle closed (or at the agent's stop). */
static void maybe_free_step(agent *a, astep *st)
{
    if (uv_is_closing((uv_handle_t *)&st->grace))
        return;
    for (int i = 0; i < st->nranks; i++) {
        arank *r = &st->ranks[i];
        if (r->handles > 0 || (!a->steps->stopping && r->end_state != 3))
            return;
    }
    if (!a->steps->stopping && !st->job_over)
        return;
    for (astep **p = &a->steps->steps; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
    uv_timer_stop(&st->grace);
    uv_close((uv_handle_t *)&st->grace, on_step_timer_closed);
}

void step_shutdown(agent *a)
{
    if (!a->steps)
        return;
    a->steps->stopping = 1;
    for (astep *st = a->steps->steps, *next; st; st = next) {
        next = st->next;
        for (int i = 0; i < st->nranks; i++) {
            arank *r = &st->ranks[i];
            for (int k = 0; k < 2; k++)
                stream_close(&r->out[k]);
            if (r->running) {
                /* closing the handle leaves the rank running (its output is lost) */
                r->running = 0;
                uv_close((uv_handle_t *)&r->proc, on_handle_closed);
            }
        }
        maybe_free_step(a, st);
    }
}

void step_free(agent *a)
{
    free(a->steps);
    a->steps = NULL;
}
