/*
 * exec.c: jobs on the agent's side, from launch to acknowledged end.
 *
 * The agent never runs a job itself: each launch gets a shepherd process
 * (fleet-agent --shepherd DIR, in its own session) that starts the job, owns
 * its time limit and kills, and writes the end record. So the agent may die
 * and come back while jobs run on:
 *
 *   launch   mkdir SPOOL/NODE/JOB.RUN (the claim: a launch whose directory or
 *            tombstone exists is a repeat and is ignored), lock the directory
 *            (flock on it), spawn the shepherd handing it the locked
 *            descriptor (so the lock is held without a gap from before the
 *            spawn to the shepherd's exit) and the launch on its stdin; the
 *            shepherd writes launch.json and the rest itself, so a launch
 *            costs the agent's loop one mkdir and one fork+exec (a 1,000-node
 *            gang job launches on one emulator in well under a second).
 *   kill     signal the shepherd: SIGTERM for a cancel, SIGUSR1 for a time
 *            limit fleetd enforces (at most every 5 s while fleetd repeats).
 *   end      the shepherd is gone (our child: libuv's exit callback; adopted:
 *            polled every 200 ms): status.json is the end, reported in every
 *            sync until fleetd acknowledges it; a shepherd gone without one
 *            gets a record made here (and the job's leftovers are killed).
 *   ack      the directory is removed and a tombstone JOB.RUN.done kept for
 *            SPOOL_TOMB_S.
 *   restart  exec_init scans the spool: a held lock is a live shepherd
 *            (adopted, reported running), a record is an end, a free lock
 *            without a record is a shepherd that died (or never started).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

#define POLL_MS 200
#define KILL_REPEAT_MS 5000

static void job_ended(ajob *j, const proto_ended *e);

/* ---- jobs --------------------------------------------------------------- */

ajob *exec_find(anode *n, int64_t job, int32_t run)
{
    for (ajob *j = n->jobs; j; j = j->next)
        if (j->job == job && j->run == run)
            return j;
    return NULL;
}

static ajob *job_new(anode *n, int64_t job, int32_t run, uint64_t gpus)
{
    ajob *j = xcalloc(1, sizeof *j);
    j->node = n;
    j->job = job;
    j->run = run;
    j->gpus = gpus;
    j->state = AJOB_RUNNING;
    j->dir = xasprintf("%s/%" PRId64 ".%" PRId32, n->spool, job, run);
    j->next = n->jobs;
    if (n->jobs)
        n->jobs->prev = j;
    n->jobs = j;
    n->njobs++;
    return j;
}

static void poll_remove(ajob *j)
{
    agent *a = j->node->a;
    for (ajob **p = &a->polled; *p; p = &(*p)->poll_next) {
        if (*p == j) {
            *p = j->poll_next;
            j->poll_next = NULL;
            return;
        }
    }
}

static void job_free(ajob *j)
{
    anode *n = j->node;
    if (j->prev)
        j->prev->next = j->next;
    else
        n->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    n->njobs--;
    if (j->state == AJOB_ENDED)
        n->nended--;
    if (j->adopted)
        poll_remove(j);
    free(j->dir);
    free(j);
}

/* Ends j now with a record made by the agent (the shepherd never ran or left
 * none), written to the spool so that a restart still reports it. */
static void job_end_now(ajob *j, int reason, int exit_code, int sig, int64_t start,
                        const char *msg)
{
    proto_ended e = {.job = j->job, .run = j->run, .exit_code = exit_code, .signal = sig,
                     .reason = reason, .start = start, .end = now_s()};
    snprintf(e.message, sizeof e.message, "%s", msg);
    if (spool_end_write(j->dir, &e) != 0)
        alog("job %" PRId64 ".%d on %s: cannot write %s/status.json: %s", j->job, j->run,
             j->node->name, j->dir, strerror(errno));
    job_ended(j, &e);
}

static void job_ended(ajob *j, const proto_ended *e)
{
    if (j->state == AJOB_ENDED)
        return;
    j->state = AJOB_ENDED;
    j->end = *e;
    j->node->nended++;
    if (j->adopted)
        poll_remove(j);
    step_job_ended(j);
    char code[64] = "";
    if (e->reason == PROTO_END_EXITED || e->reason == PROTO_END_TIMEOUT ||
        e->reason == PROTO_END_KILLED)
        snprintf(code, sizeof code, " exit code %d%s", e->exit_code, e->signal ? " (signal)" : "");
    alog("job %" PRId64 ".%d on %s ended: %s%s%s%s", j->job, j->run, j->node->name,
         spool_reason_name(e->reason), code, e->message[0] ? ": " : "", e->message);
    sync_news(j->node->a);
}

/* ---- tombstones --------------------------------------------------------- */

static size_t tomb_hash(int32_t node, int64_t job, int32_t run)
{
    uint64_t h = (uint64_t)job * 0x9E3779B97F4A7C15ull;
    h ^= ((uint64_t)(uint32_t)run << 32 | (uint32_t)node) * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ h >> 29);
}

static int tomb_has(agent *a, int32_t node, int64_t job, int32_t run)
{
    if (!a->tomb_cap)
        return 0;
    for (atomb *t = a->tomb_tab[tomb_hash(node, job, run) & (a->tomb_cap - 1)]; t; t = t->hnext)
        if (t->job == job && t->run == run && t->node == node)
            return 1;
    return 0;
}

static void tomb_grow(agent *a)
{
    size_t cap = a->tomb_cap ? a->tomb_cap * 2 : 1024;
    atomb **tab = xcalloc(cap, sizeof *tab);
    for (size_t i = 0; i < a->tomb_cap; i++) {
        for (atomb *t = a->tomb_tab[i], *next; t; t = next) {
            next = t->hnext;
            size_t b = tomb_hash(t->node, t->job, t->run) & (cap - 1);
            t->hnext = tab[b];
            tab[b] = t;
        }
    }
    free(a->tomb_tab);
    a->tomb_tab = tab;
    a->tomb_cap = cap;
}

/* Appends a tombstone; expires must not be earlier than the last one's. */
static void tomb_add(agent *a, int32_t node, int64_t job, int32_t run, int64_t expires)
{
    if (a->ntombs + 1 > a->tomb_cap)
        tomb_grow(a);
    atomb *t = xcalloc(1, sizeof *t);
    t->node = node;
    t->job = job;
    t->run = run;
    t->expires = expires;
    size_t b = tomb_hash(node, job, run) & (a->tomb_cap - 1);
    t->hnext = a->tomb_tab[b];
    a->tomb_tab[b] = t;
    if (a->tomb_tail)
        a->tomb_tail->fnext = t;
    else
        a->tomb_head = t;
    a->tomb_tail = t;
    a->ntombs++;
}

/* Forgets the tombstones expired at now (the oldest first), with their files. */
static void tomb_expire(agent *a, int64_t now)
{
    while (a->tomb_head && a->tomb_head->expires <= now) {
        atomb *t = a->tomb_head;
        a->tomb_head = t->fnext;
        if (!a->tomb_head)
            a->tomb_tail = NULL;
        for (atomb **p = &a->tomb_tab[tomb_hash(t->node, t->job, t->run) & (a->tomb_cap - 1)];
             *p; p = &(*p)->hnext) {
            if (*p == t) {
                *p = t->hnext;
                break;
            }
        }
        if (!a->stopping) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%" PRId64 ".%" PRId32 ".done",
                     a->nodes[t->node].spool, t->job, t->run);
            unlink(path);
        }
        free(t);
        a->ntombs--;
    }
}

static void on_tomb_timer(uv_timer_t *t)
{
    tomb_expire(t->data, now_s());
}

/* ---- the shepherd's end ------------------------------------------------- */

/* Kills what may be left of j when its shepherd died without finishing: the
 * job's process group (if job.pid still names a live process) and its
 * cgroup. */
static void kill_leftovers(ajob *j)
{
    char path[PATH_MAX];
    pid_t pid;
    uint64_t start;
    snprintf(path, sizeof path, "%s/job.pid", j->dir);
    if (spool_pid_read(path, &pid, &start) == 0 && proc_is(pid, start)) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    agent *a = j->node->a;
    char name[256];
    cgroup_job cg;
    spool_cgroup_name(j->dir, j->node->name, j->job, j->run, name, sizeof name);
    if (a->cg_mode != CGROUP_NONE &&
        cgroup_job_init(&cg, a->cg_mode, a->o.cgroup_root, name) == 0) {
        cgroup_job_kill(&cg);
        cgroup_job_remove(&cg); /* EBUSY while the killed drain: harmless */
    }
}

/* The shepherd of j is gone (exit status and signal when known, else -1):
 * its record is the end, else one is made. */
static void shepherd_gone(ajob *j, int64_t status, int sig)
{
    if (j->state != AJOB_RUNNING)
        return;
    proto_ended e;
    if (spool_end_read(j->dir, &e) == 0 && e.job == j->job && e.run == j->run) {
        job_ended(j, &e);
        return;
    }
    kill_leftovers(j);
    char path[PATH_MAX], msg[200];
    struct stat st;
    snprintf(path, sizeof path, "%s/job.pid", j->dir);
    int started = stat(path, &st) == 0;
    if (sig > 0)
        snprintf(msg, sizeof msg, "the job's shepherd was killed by signal %d", sig);
    else if (status >= 0)
        snprintf(msg, sizeof msg, "the job's shepherd failed (exit status %d); see %s/shepherd.log",
                 (int)status, j->dir);
    else
        snprintf(msg, sizeof msg, "the job's shepherd is gone without a record (node restarted?)");
    if (j->kill_sent_ms)
        job_end_now(j, PROTO_END_KILLED, 128 + SIGKILL, SIGKILL, started ? st.st_mtime : 0, msg);
    else if (!started)
        job_end_now(j, PROTO_END_LAUNCH_FAILED, 127, 0, 0, msg);
    else
        job_end_now(j, PROTO_END_EXITED, 128 + SIGKILL, SIGKILL, st.st_mtime, msg);
}

static void on_proc_closed(uv_handle_t *h)
{
    free(h);
}

static void on_shepherd_exit(uv_process_t *p, int64_t status, int sig)
{
    ajob *j = p->data;
    uv_close((uv_handle_t *)p, on_proc_closed);
    if (!j)
        return;
    j->proc = NULL;
    shepherd_gone(j, status, sig);
}

/* 1 when dir's lock is held (by a live shepherd), 0 when free, -1 when dir
 * cannot be opened. */
static int lock_held(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* also lets go of the lock if we just took it */
    return held;
}

/* Adopted shepherds: not our children, so polled. Cheap checks every tick
 * (the record, the pid); the lock when the pid is unknown. */
static void on_poll(uv_timer_t *t)
{
    agent *a = t->data;
    char path[PATH_MAX];
    for (ajob *j = a->polled, *next; j; j = next) {
        next = j->poll_next;
        snprintf(path, sizeof path, "%s/status.json", j->dir);
        if (access(path, F_OK) == 0) {
            shepherd_gone(j, -1, 0);
            continue;
        }
        if (!j->shepherd) {
            snprintf(path, sizeof path, "%s/shepherd.pid", j->dir);
            if (spool_pid_read(path, &j->shepherd, &j->shep_start) != 0)
                j->shepherd = 0;
        }
        if (j->gpus_unknown) {
            /* adopted before its shepherd had written launch.json */
            proto_launch l;
            if (spool_launch_read(j->dir, &l, NULL, 0) == 0) {
                j->gpus = l.gpus;
                j->gpus_unknown = 0;
                proto_launch_free(&l);
            }
        }
        int alive = j->shepherd ? proc_is(j->shepherd, j->shep_start) : lock_held(j->dir) == 1;
        if (!alive)
            shepherd_gone(j, -1, 0);
    }
}

static void adopt_poll(ajob *j)
{
    j->adopted = 1;
    j->poll_next = j->node->a->polled;
    j->node->a->polled = j;
}

/* ---- launch ------------------------------------------------------------- */

static void node_facts(anode *n, spool_node *sn)
{
    agent *a = n->a;
    memset(sn, 0, sizeof *sn);
    snprintf(sn->node, sizeof sn->node, "%s", n->name);
    snprintf(sn->cgroup, sizeof sn->cgroup, "%s", cgroup_mode_name(a->cg_mode));
    snprintf(sn->cgroup_root, sizeof sn->cgroup_root, "%s", a->o.cgroup_root);
    sn->allow_root = a->o.allow_root;
    sn->device_limits = a->real_gpus && a->cg_mode == CGROUP_V1;
    sn->ngpu = n->inv.ngpu;
    for (int32_t i = 0; i < n->inv.ngpu && i < PROTO_MAX_GPUS; i++)
        sn->gpu_minor[i] = n->gpu_minor[i];
}

/* The launch on its way to the shepherd's stdin. */
typedef struct feed {
    uv_pipe_t pipe;
    uv_write_t w;
    char *buf;
} feed;

static void on_feed_closed(uv_handle_t *h)
{
    feed *f = (feed *)h; /* the pipe is its first member */
    free(f->buf);
    free(f);
}

static void on_fed(uv_write_t *w, int status)
{
    feed *f = w->data;
    (void)status; /* a shepherd that died early is seen by its exit */
    uv_close((uv_handle_t *)&f->pipe, on_feed_closed);
}

/* "NODE-FACTS-JSON\nLAUNCH-JSON", malloc'd. */
static char *launch_payload(const spool_node *sn, const proto_launch *l)
{
    char *facts = spool_node_json(sn);
    proto_node_cmds nc = {.name = "spool", .nlaunch = 1, .launch = (proto_launch *)l};
    proto_reply r = {.seq = 1, .heartbeat_ms = 1000, .nnodes = 1, .nodes = &nc};
    size_t len;
    char *text = proto_reply_encode(&r, &len);
    if (!facts || !text) {
        alog("out of memory encoding a launch");
        abort();
    }
    char *p = xasprintf("%s\n%s", facts, text);
    free(facts);
    free(text);
    return p;
}

/* Refuses a launch the agent must not run; "" when it may. */
static void launch_policy(agent *a, const proto_launch *l, char *why, size_t whylen)
{
    why[0] = '\0';
    if (l->uid == 0 && !a->o.allow_root)
        snprintf(why, whylen, "refusing to run a job as root (uid 0); fleet-agent --allow-root "
                              "permits it");
    else if (geteuid() != 0 && l->uid != geteuid())
        snprintf(why, whylen, "fleet-agent runs as uid %u and cannot run jobs as uid %u",
                 (unsigned)geteuid(), (unsigned)l->uid);
    else if (l->node_rank == 0 && !l->script)
        snprintf(why, whylen, "no batch script on the job's first node");
}

int exec_launch(anode *n, const proto_launch *l)
{
    agent *a = n->a;
    if (a->stopping || exec_find(n, l->job, l->run) || tomb_has(a, n->idx, l->job, l->run))
        return 0; /* a repeat: launches are idempotent by (job, run) */
    ajob *j = job_new(n, l->job, l->run, l->gpus);
    if (mkdir(j->dir, 0711) != 0) {
        int e = errno;
        if (e == EEXIST) {
            /* on disk but not known: cannot happen after the scan, unless
             * someone else writes this spool; leave it alone */
            alog("job %" PRId64 ".%d on %s: %s exists but is not ours; launch ignored", l->job,
                 l->run, n->name, j->dir);
            job_free(j);
            return 0;
        }
        char msg[256];
        snprintf(msg, sizeof msg, "cannot create %s: %s", j->dir, strerror(e));
        job_end_now(j, PROTO_END_LAUNCH_FAILED, 127, 0, 0, msg);
        return 1;
    }
    chmod(j->dir, 0711); /* whatever the umask */
    char why[256], gl[256];
    launch_policy(a, l, why, sizeof why);
    if (why[0]) {
        job_end_now(j, PROTO_END_LAUNCH_FAILED, 127, 0, 0, why);
        return 1;
    }
    /* the shepherd's input: node facts, a newline, the launch as the
     * protocol encodes it (a reply with one node and one launch) */
    spool_node sn;
    node_facts(n, &sn);
    char *payload = launch_payload(&sn, l);
    int lockfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
        snprintf(why, sizeof why, "cannot lock %.180s: %s", j->dir, strerror(errno));
        if (lockfd >= 0)
            close(lockfd);
        free(payload);
        job_end_now(j, PROTO_END_LAUNCH_FAILED, 127, 0, 0, why);
        return 1;
    }
    feed *f = xcalloc(1, sizeof *f);
    uv_pipe_init(a->loop, &f->pipe, 0);
    char *args[] = {a->self_exe, "--shepherd", j->dir, NULL};
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&f->pipe},
        {.flags = UV_IGNORE},
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = lockfd},
    };
    uv_process_options_t po = {
        .exit_cb = on_shepherd_exit,
        .file = "/proc/self/exe", /* this very binary, even once replaced on disk */
        .args = args,
        .flags = UV_PROCESS_DETACHED,
        .stdio_count = 4,
        .stdio = stdio,
    };
    j->proc = xcalloc(1, sizeof *j->proc);
    j->proc->data = j;
    int rc = uv_spawn(a->loop, j->proc, &po);
    close(lockfd); /* the shepherd holds the lock through its copy */
    if (rc != 0) {
        uv_close((uv_handle_t *)&f->pipe, on_feed_closed);
        free(payload);
        j->proc->data = NULL;
        uv_close((uv_handle_t *)j->proc, on_proc_closed);
        j->proc = NULL;
        snprintf(why, sizeof why, "cannot start the shepherd %.180s: %s", a->self_exe,
                 uv_strerror(rc));
        job_end_now(j, PROTO_END_LAUNCH_FAILED, 127, 0, 0, why);
        return 1;
    }
    f->buf = payload;
    uv_buf_t b = uv_buf_init(payload, (unsigned)strlen(payload));
    f->w.data = f;
    if (uv_write(&f->w, (uv_stream_t *)&f->pipe, &b, 1, on_fed) != 0)
        uv_close((uv_handle_t *)&f->pipe, on_feed_closed); /* the shepherd sees EOF, fails */
    j->shepherd = j->proc->pid;
    if (proc_start_time(j->shepherd, &j->shep_start) != 0)
        j->shep_start = 0;
    proto_gpus_format(l->gpus, gl, sizeof gl);
    alog("job %" PRId64 ".%d on %s: launched (node %d of %d, GPUs %s, shepherd %d)", l->job,
         l->run, n->name, l->node_rank, l->nnodes, gl[0] ? gl : "none", (int)j->shepherd);
    return 1;
}

/* ---- kill, ack ---------------------------------------------------------- */

/* Signals the job's shepherd: SIGTERM (kill), SIGUSR1 (time limit), or
 * SIGUSR2 queued with a value (preemption: the signal in the low 8 bits,
 * the grace in seconds above them; see shepherd.c). */
static void signal_shepherd(ajob *j, int sig, int value)
{
    pid_t pid = 0;
    if (j->proc) {
        pid = j->proc->pid;
    } else {
        if (!j->shepherd) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/shepherd.pid", j->dir);
            if (spool_pid_read(path, &j->shepherd, &j->shep_start) != 0)
                j->shepherd = 0;
        }
        if (j->shepherd && proc_is(j->shepherd, j->shep_start))
            pid = j->shepherd;
    }
    if (pid <= 0)
        return;
    if (sig == SIGUSR2)
        sigqueue(pid, sig, (union sigval){.sival_int = value});
    else
        kill(pid, sig);
}

int exec_kill(anode *n, const proto_kill *k)
{
    ajob *j = exec_find(n, k->job, k->run);
    if (!j) {
        if (tomb_has(n->a, n->idx, k->job, k->run) || n->a->stopping)
            return 0;
        /* never launched here (or the launch was lost): say it ended, so
         * that fleetd can move on */
        j = job_new(n, k->job, k->run, 0);
        if (mkdir(j->dir, 0711) != 0 && errno != EEXIST)
            alog("job %" PRId64 ".%d on %s: cannot create %s: %s", k->job, k->run, n->name,
                 j->dir, strerror(errno));
        job_end_now(j, k->reason == PROTO_END_TIMEOUT ? PROTO_END_TIMEOUT : PROTO_END_KILLED, 0,
                    0, 0, "not running on this node");
        return 1;
    }
    if (j->state != AJOB_RUNNING)
        return 0;
    int64_t now = mono_ms();
    if (j->kill_sent_ms && now - j->kill_sent_ms < KILL_REPEAT_MS)
        return 0;
    if (k->reason == PROTO_END_PREEMPTED) {
        /* the grace left is fleetd's word each time; the shepherd keeps the
         * first it is given */
        int32_t grace = k->grace < SHEPHERD_GRACE_MAX ? k->grace : SHEPHERD_GRACE_MAX;
        if (!j->kill_sent_ms)
            alog("job %" PRId64 ".%d on %s: preempted (fleetd): signal %d, SIGKILL in %d s",
                 j->job, j->run, n->name, k->signal, (int)grace);
        j->kill_sent_ms = now;
        signal_shepherd(j, SIGUSR2, (int)(((uint32_t)grace << 8) | (uint32_t)k->signal));
        return 1;
    }
    if (!j->kill_sent_ms)
        alog("job %" PRId64 ".%d on %s: %s", j->job, j->run, n->name,
             k->reason == PROTO_END_TIMEOUT ? "time limit reached (fleetd): killing"
                                            : "killing (fleetd)");
    j->kill_sent_ms = now;
    signal_shepherd(j, k->reason == PROTO_END_TIMEOUT ? SIGUSR1 : SIGTERM, 0);
    return 1;
}

int exec_ack(anode *n, int64_t job, int32_t run)
{
    ajob *j = exec_find(n, job, run);
    if (!j)
        return 0; /* a repeat */
    if (j->state != AJOB_ENDED) {
        alog("job %" PRId64 ".%d on %s: fleetd acknowledged an end while it runs; ignored", job,
             run, n->name);
        return 0;
    }
    if (rm_tree(j->dir) != 0)
        alog("job %" PRId64 ".%d on %s: cannot remove %s: %s", job, run, n->name, j->dir,
             strerror(errno));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s.done", j->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    tomb_add(n->a, n->idx, job, run, now_s() + SPOOL_TOMB_S);
    job_free(j);
    return 1;
}

/* ---- restart: the spool scan -------------------------------------------- */

typedef struct tomb_load {
    int32_t node, run;
    int64_t job, expires;
} tomb_load;

static int tomb_load_cmp(const void *x, const void *y)
{
    const tomb_load *a = x, *b = y;
    return a->expires < b->expires ? -1 : a->expires > b->expires;
}

/* One JOB.RUN directory found at start. */
static void adopt_dir(anode *n, int64_t job, int32_t run)
{
    proto_launch l;
    uint64_t gpus = 0;
    ajob *j = job_new(n, job, run, 0);
    if (spool_launch_read(j->dir, &l, NULL, 0) == 0) {
        gpus = l.gpus;
        proto_launch_free(&l);
    } else {
        j->gpus_unknown = 1;
    }
    j->gpus = gpus;
    proto_ended e;
    if (spool_end_read(j->dir, &e) == 0) {
        j->state = AJOB_ENDED;
        j->end = e;
        n->nended++;
        alog("job %" PRId64 ".%d on %s: ended while the agent was away (%s)", job, run, n->name,
             spool_reason_name(e.reason));
        return;
    }
    int held = lock_held(j->dir);
    if (held <= 0) {
        /* the record may have been written between the two looks */
        if (spool_end_read(j->dir, &e) == 0) {
            j->state = AJOB_ENDED;
            j->end = e;
            n->nended++;
            return;
        }
        shepherd_gone(j, -1, 0);
        return;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/shepherd.pid", j->dir);
    if (spool_pid_read(path, &j->shepherd, &j->shep_start) != 0)
        j->shepherd = 0;
    adopt_poll(j);
    alog("job %" PRId64 ".%d on %s: adopted (shepherd %d)", job, run, n->name, (int)j->shepherd);
}

static int scan_node(anode *n, tomb_load **tl, size_t *ntl, size_t *captl, char *err,
                     size_t errlen)
{
    if (mkdir_p(n->spool, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", n->spool, strerror(errno));
        return -1;
    }
    DIR *d = opendir(n->spool);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", n->spool, strerror(errno));
        return -1;
    }
    int64_t now = now_s();
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        int64_t job;
        int32_t run;
        int tomb;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", n->spool, de->d_name);
        if (spool_parse_name(de->d_name, &job, &run, &tomb) != 0) {
            size_t l = strlen(de->d_name);
            if (l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0)
                unlink(path);
            continue;
        }
        if (tomb) {
            struct stat st;
            if (stat(path, &st) != 0 || st.st_mtime + SPOOL_TOMB_S <= now) {
                unlink(path);
                continue;
            }
            if (*ntl == *captl) {
                *captl = *captl ? *captl * 2 : 256;
                *tl = xrealloc(*tl, *captl * sizeof **tl);
            }
            (*tl)[(*ntl)++] = (tomb_load){n->idx, run, job, st.st_mtime + SPOOL_TOMB_S};
            continue;
        }
        adopt_dir(n, job, run);
    }
    closedir(d);
    return 0;
}

int exec_init(agent *a, char *err, size_t errlen)
{
    uv_timer_init(a->loop, &a->poll_timer);
    a->poll_timer.data = a;
    uv_timer_init(a->loop, &a->tomb_timer);
    a->tomb_timer.data = a;
    tomb_load *tl = NULL;
    size_t ntl = 0, captl = 0;
    for (int32_t i = 0; i < a->nnodes; i++) {
        if (scan_node(&a->nodes[i], &tl, &ntl, &captl, err, errlen) != 0) {
            free(tl);
            return -1;
        }
    }
    if (ntl)
        qsort(tl, ntl, sizeof *tl, tomb_load_cmp);
    for (size_t i = 0; i < ntl; i++)
        tomb_add(a, tl[i].node, tl[i].job, tl[i].run, tl[i].expires);
    free(tl);
    uv_timer_start(&a->poll_timer, on_poll, POLL_MS, POLL_MS);
    uv_timer_start(&a->tomb_timer, on_tomb_timer, 30000, 30000);
    return 0;
}

void exec_shutdown(agent *a)
{
    uv_timer_stop(&a->poll_timer);
    uv_timer_stop(&a->tomb_timer);
    uv_close((uv_handle_t *)&a->poll_timer, NULL);
    uv_close((uv_handle_t *)&a->tomb_timer, NULL);
    for (int32_t i = 0; i < a->nnodes; i++) {
        anode *n = &a->nodes[i];
        while (n->jobs) {
            ajob *j = n->jobs;
            if (j->proc) {
                /* closing the handle leaves the shepherd running */
                j->proc->data = NULL;
                uv_close((uv_handle_t *)j->proc, on_proc_closed);
                j->proc = NULL;
            }
            job_free(j);
        }
    }
    a->polled = NULL;
    tomb_expire(a, INT64_MAX);
    free(a->tomb_tab);
    a->tomb_tab = NULL;
    a->tomb_cap = 0;
}
