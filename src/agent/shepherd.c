/*
 * shepherd.c: the per-job process, fleet-agent --shepherd SPOOL/NODE/JOB.RUN.
 *
 * The agent spawns one shepherd per launch, in its own session, so that the
 * agent may die (even by SIGKILL) and restart while the job runs on. The
 * shepherd:
 *
 *   1. holds the directory's lock (fd 3, taken by the agent before the spawn)
 *      for its whole life; reads the launch and the node's facts from stdin
 *      and saves them (launch.json, shepherd.json), and writes shepherd.pid
 *      (pid and start time) and its log (shepherd.log);
 *   2. on the job's first node, starts the batch script: a child that makes
 *      its own session (so the job is one process group), joins the job's
 *      cgroup, becomes the job's user (initgroups, setgid, setuid: only when
 *      the agent is root), enters the working directory, opens the output
 *      files as that user and execs the script with the job's environment.
 *      Anything that fails before exec comes back through a close-on-exec
 *      pipe and ends the job as launch_failed with the reason. On the other
 *      nodes there is no script: the shepherd holds the allocation (steps of
 *      fleet run join its cgroup) until it is killed or its time is up;
 *   3. enforces the time limit by itself (the agent need not be alive):
 *      SIGTERM (and SIGCONT) to the whole tree, the process group, the
 *      cgroup and the orphans it adopted as a subreaper, then after
 *      kill_grace seconds SIGKILL (cgroup.kill on v2). SIGTERM from the agent
 *      does the same with reason killed, SIGUSR1 with reason timeout, and
 *      SIGUSR2 (queued with a value: the preemption signal in its low 8
 *      bits, the grace in seconds above them) with reason preempted: that
 *      signal instead of SIGTERM, and SIGKILL when the grace is over;
 *   4. when the script is gone, kills what is left of the tree, waits for it
 *      to be empty, and writes status.json atomically: the end record.
 *
 * Signals are taken synchronously (blocked, then sigtimedwait), so there is
 * no handler and no race between a signal and the deadlines.
 *
 * The rank starter of steps (fleet-agent --rank, rank_exec_main) lives here
 * too: it prepares a rank exactly as the batch script is prepared (cgroup,
 * user, working directory, environment) and execs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "jobenv.h"
#include "util.h"

extern char **environ;

#define LOCK_FD 3
#define MAX_GROUPS 1024
#define SWEEP_MS 10000   /* longest wait for a killed tree to be gone */

/* The account a job becomes; resolved before fork (NSS may allocate). */
typedef struct juser {
    uid_t uid;
    gid_t gid;
    int switch_user;            /* the agent is root: setgroups/setgid/setuid */
    gid_t groups[MAX_GROUPS];
    int ngroups;
    char name[256], home[1024], shell[256];
    int known;                  /* found in the password database */
} juser;

typedef struct shep {
    const char *dir;
    proto_launch l;
    spool_node sn;
    cgroup_job cg;
    juser u;
    pid_t job;                  /* the script's process (and process group), 0 none */
    int job_done, job_status;
    int64_t start_s, start_ms;
    int kill_reason;            /* -1 none, else PROTO_END_TIMEOUT / PROTO_END_KILLED */
    int64_t kill_at_ms;         /* SIGKILL due (while killing) */
    int killed_hard;
    int launch_failed;
    char message[256];
} shep;

static int64_t elapsed_ms(const shep *s)
{
    return mono_ms() - s->start_ms;
}

/* ---- the user ----------------------------------------------------------- */

static void resolve_user(shep *s)
{
    juser *u = &s->u;
    u->uid = s->l.uid;
    u->gid = s->l.gid;
    u->switch_user = geteuid() == 0;
    struct passwd pw, *res = NULL;
    char buf[16384];
    if (getpwuid_r(u->uid, &pw, buf, sizeof buf, &res) == 0 && res) {
        u->known = 1;
        snprintf(u->name, sizeof u->name, "%s", pw.pw_name);
        snprintf(u->home, sizeof u->home, "%s", pw.pw_dir);
        snprintf(u->shell, sizeof u->shell, "%s", pw.pw_shell);
        if (s->l.user[0] && strcmp(s->l.user, pw.pw_name) != 0)
            alog("job's user %s is uid %u here, which is %s: running as uid %u", s->l.user,
                 (unsigned)u->uid, pw.pw_name, (unsigned)u->uid);
    } else {
        snprintf(u->name, sizeof u->name, "%s", s->l.user);
    }
    u->groups[0] = u->gid;
    u->ngroups = 1;
    if (u->switch_user && u->known) {
        int ng = MAX_GROUPS;
        if (getgrouplist(u->name, u->gid, u->groups, &ng) < 0) {
            u->groups[0] = u->gid;
            ng = 1;
        }
        u->ngroups = ng;
    }
}

/* ---- the child, between fork and exec ---------------------------------- */

/* Reports why the child cannot run the job, through the pipe, and exits.
 * After fork of a single-threaded process: snprintf and strerror are fine. */
static void child_fail(int fd, const char *what, const char *arg, int err)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "",
                     strerror(err));
    if (n > 0) {
        ssize_t w = write(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        (void)w;
    }
    _exit(127);
}

/* Everything a job process does before exec, shared by the batch script
 * and the ranks of a step: own session, the job's cgroup, the job's user,
 * the working directory. */
static void child_setup(const shep *s, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getsid(0) != getpid() && setsid() < 0)
        child_fail(errfd, "setsid", NULL, errno);
    if (s->cg.ndirs && cgroup_job_join(&s->cg, 0) != 0)
        child_fail(errfd, "cannot join the job's cgroup", s->cg.dir[0], errno);
    const juser *u = &s->u;
    if (u->switch_user) {
        if (setgroups((size_t)u->ngroups, u->groups) != 0)
            child_fail(errfd, "setgroups", NULL, errno);
        if (setgid(u->gid) != 0)
            child_fail(errfd, "setgid", NULL, errno);
        if (setuid(u->uid) != 0)
            child_fail(errfd, "setuid", NULL, errno);
        if (u->uid != 0 && setuid(0) == 0)
            child_fail(errfd, "could not drop root", NULL, EPERM);
    }
    const char *wd = s->l.workdir[0] ? s->l.workdir : u->home[0] ? u->home : "/";
    if (chdir(wd) != 0)
        child_fail(errfd, "cannot enter the working directory", wd, errno);
}

static void child_stdio(int errfd, const char *out, const char *err, int same)
{
    int in = open("/dev/null", O_RDONLY);
    if (in < 0)
        child_fail(errfd, "cannot open", "/dev/null", errno);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0)
        child_fail(errfd, "cannot open the output file", out, errno);
    int e = same ? o : open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (e < 0)
        child_fail(errfd, "cannot open the error file", err, errno);
    if (dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        child_fail(errfd, "dup2", NULL, errno);
    if (in > 2)
        close(in);
    if (o > 2)
        close(o);
    if (e > 2 && e != o)
        close(e);
}

/* ---- starting the batch script ----------------------------------------- */

static int write_script(shep *s, const char *path, char *why, size_t whylen)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
    if (fd < 0) {
        snprintf(why, whylen, "cannot write the batch script %.150s: %s", path, strerror(errno));
        return -1;
    }
    const char *p = s->l.script;
    size_t left = strlen(p);
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, whylen, "cannot write the batch script %.150s: %s", path,
                     strerror(errno));
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if ((s->u.switch_user && fchown(fd, s->u.uid, s->u.gid) != 0) || fchmod(fd, 0700) != 0) {
        snprintf(why, whylen, "cannot give the batch script to uid %u: %s", (unsigned)s->u.uid,
                 strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Starts the script; 0, or -1 with why (the job then ends as launch_failed). */
static int start_script(shep *s, char *why, size_t whylen)
{
    char script[PATH_MAX], out[2048], err[2048];
    snprintf(script, sizeof script, "%s/script", s->dir);
    if (write_script(s, script, why, whylen) != 0)
        return -1;
    int same;
    if (jobenv_output_paths(&s->l, out, err, sizeof out, &same) != 0) {
        snprintf(why, whylen, "output path too long");
        return -1;
    }
    jobenv env;
    jobenv_init(&env);
    jobenv_user pw = {s->u.name, s->u.known ? s->u.home : NULL, s->u.known ? s->u.shell : NULL};
    jobenv_build(&env, &s->l, s->sn.node, &pw);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        jobenv_free(&env);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        jobenv_free(&env);
        return -1;
    }
    if (pid == 0) {
        close(pfd[0]);
        child_setup(s, pfd[1]);
        child_stdio(pfd[1], out, err, same);
        char *argv[] = {script, NULL};
        execve(script, argv, env.v);
        if (errno == ENOEXEC) {
            char *shv[] = {"/bin/sh", script, NULL};
            execve("/bin/sh", shv, env.v);
        }
        child_fail(pfd[1], "cannot execute the batch script", script, errno);
    }
    close(pfd[1]);
    jobenv_free(&env);
    s->job = pid;
    char msg[512];
    ssize_t n;
    while ((n = read(pfd[0], msg, sizeof msg - 1)) < 0 && errno == EINTR)
        ;
    close(pfd[0]);
    if (n > 0) {
        msg[n] = '\0';
        snprintf(why, whylen, "%.*s", (int)(whylen > 1 ? whylen - 1 : 0), msg);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        s->job = 0;
        return -1;
    }
    uint64_t start = 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/job.pid", s->dir);
    if (proc_start_time(pid, &start) == 0)
        spool_pid_write(path, pid, start);
    else
        spool_pid_write(path, pid, 0);
    return 0;
}

/* ---- the tree ----------------------------------------------------------- */

/* Sends sig to every child of this process (the orphans it adopted as a
 * subreaper, and the script); returns how many. */
static int signal_children(int sig)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    char *s = file_read(path, 1 << 20, NULL);
    if (!s)
        return 0;
    int count = 0;
    for (char *p = s; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0 && kill((pid_t)pid, sig) == 0)
            count++;
        p = end;
        while (*p == ' ' || *p == '\n')
            p++;
    }
    free(s);
    return count;
}

static void tree_signal(shep *s, int sig)
{
    if (s->job > 0)
        kill(-s->job, sig);
    if (sig == SIGKILL)
        cgroup_job_kill(&s->cg);
    else
        cgroup_job_signal(&s->cg, sig);
    signal_children(sig);
}

/* Reaps every child that has ended; notes the script's status. */
static void reap(shep *s)
{
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == s->job && !s->job_done) {
            s->job_done = 1;
            s->job_status = st;
        }
    }
}

/* 1 when nothing of the job is left: no child, no process in the cgroup or
 * the process group. */
static int tree_empty(shep *s)
{
    reap(s);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
        return 0; /* a child remains (else -1, ECHILD) */
    if (s->job > 0 && kill(-s->job, 0) == 0)
        return 0;
    return cgroup_job_empty(&s->cg);
}

/* The end begins: sig to the whole tree (and SIGCONT, so that a stopped job
 * sees it), SIGKILL after grace seconds. Only the first call counts. */
static void begin_kill(shep *s, int reason, int sig, int grace)
{
    if (s->kill_reason >= 0)
        return;
    s->kill_reason = reason;
    s->kill_at_ms = elapsed_ms(s) + (int64_t)(grace > 0 ? grace : 0) * 1000;
    if (reason == PROTO_END_TIMEOUT)
        snprintf(s->message, sizeof s->message, "time limit of %" PRId64 " s reached",
                 s->l.time_limit);
    else if (reason == PROTO_END_PREEMPTED)
        snprintf(s->message, sizeof s->message, "preempted on fleetd's command");
    else
        snprintf(s->message, sizeof s->message, "killed on fleetd's command");
    alog("%s: signal %d to the job, SIGKILL in %d s", s->message, sig, grace);
    tree_signal(s, sig);
    if (sig != SIGCONT)
        tree_signal(s, SIGCONT);
}

/* begin_kill with SIGTERM and the job's kill grace (a cancel, a limit). */
static void begin_term(shep *s, int reason)
{
    begin_kill(s, reason, SIGTERM, s->l.kill_grace);
}

/* SIGKILL everything and wait (bounded) until it is gone. */
static void sweep(shep *s)
{
    int64_t until = elapsed_ms(s) + SWEEP_MS;
    while (!tree_empty(s) && elapsed_ms(s) < until) {
        tree_signal(s, SIGKILL);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (!tree_empty(s))
        alog("processes of the job survive SIGKILL after %d s (stuck in the kernel?)",
             SWEEP_MS / 1000);
}

/* ---- the wait ----------------------------------------------------------- */

static void wait_for_end(shep *s, const sigset_t *set)
{
    int64_t limit_ms = s->l.time_limit > 0 ? s->l.time_limit * 1000 : -1;
    for (;;) {
        reap(s);
        int64_t now = elapsed_ms(s);
        if (s->kill_reason < 0 && limit_ms >= 0 && now >= limit_ms)
            begin_term(s, PROTO_END_TIMEOUT);
        if (s->kill_reason >= 0 && !s->killed_hard && now >= s->kill_at_ms) {
            s->killed_hard = 1;
            tree_signal(s, SIGKILL);
        }
        if (s->job > 0 && s->job_done) {
            /* the script is over; the rest of a killed tree gets its grace */
            if (s->kill_reason < 0 || s->killed_hard || tree_empty(s))
                return;
        } else if (s->job == 0 && s->kill_reason >= 0) {
            /* no script here (a member node, holding): done when the steps are */
            if (s->killed_hard || tree_empty(s))
                return;
        }
        int64_t next = 60 * 1000;
        if (s->kill_reason < 0 && limit_ms >= 0)
            next = limit_ms - now;
        if (s->kill_reason >= 0 && !s->killed_hard)
            next = s->kill_at_ms - now;
        if (s->kill_reason >= 0 && next > 100)
            next = 100; /* watch the tree empty out */
        if (next < 1)
            next = 1;
        struct timespec ts = {next / 1000, (next % 1000) * 1000000};
        siginfo_t si;
        int sig = sigtimedwait(set, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            begin_term(s, PROTO_END_KILLED);
        } else if (sig == SIGUSR1) {
            begin_term(s, PROTO_END_TIMEOUT);
        } else if (sig == SIGUSR2) {
            unsigned v = (unsigned)si.si_value.sival_int;
            int psig = (int)(v & 0xff), grace = (int)(v >> 8);
            if (psig < 1 || psig > 64)
                psig = SIGTERM; /* not from the agent: a plain preemption */
            begin_kill(s, PROTO_END_PREEMPTED, psig, grace);
        }
    }
}

static void write_end(shep *s)
{
    proto_ended e = {.job = s->l.job, .run = s->l.run, .start = s->start_s, .end = now_s()};
    if (s->launch_failed) {
        e.reason = PROTO_END_LAUNCH_FAILED;
        e.exit_code = 127;
    } else {
        e.reason = s->kill_reason >= 0 ? s->kill_reason : PROTO_END_EXITED;
        if (s->job_done && WIFEXITED(s->job_status)) {
            e.exit_code = WEXITSTATUS(s->job_status);
        } else if (s->job_done && WIFSIGNALED(s->job_status)) {
            e.signal = WTERMSIG(s->job_status);
            e.exit_code = 128 + e.signal;
        }
    }
    snprintf(e.message, sizeof e.message, "%s", s->message);
    if (spool_end_write(s->dir, &e) != 0)
        alog("cannot write %s/status.json: %s", s->dir, strerror(errno));
    alog("job ended: %s, exit code %d%s%s", spool_reason_name(e.reason), e.exit_code,
         e.message[0] ? ": " : "", e.message);
}

/* All of stdin (at most PROTO_MAX_BODY bytes), NUL-terminated, malloc'd;
 * stdin is then /dev/null. NULL when too large. */
static char *read_stdin(size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 == cap) {
            if (cap > PROTO_MAX_BODY) {
                free(buf);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(0, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
        dup2(fd, 0);
        close(fd);
    }
    *len = n;
    return buf;
}

/* The launch and node facts: from stdin ("FACTS\nLAUNCH", from the agent),
 * then saved in the directory; or, when stdin brings nothing (started by
 * hand), from the directory. */
static int take_input(shep *s, char *err, size_t errlen)
{
    size_t n;
    char *buf = read_stdin(&n);
    if (!buf) {
        snprintf(err, errlen, "launch on stdin too large");
        return -1;
    }
    if (n == 0) {
        free(buf);
        if (spool_launch_read(s->dir, &s->l, err, errlen) != 0 ||
            spool_node_read(s->dir, &s->sn, err, errlen) != 0)
            return -1;
        return 0;
    }
    char *nl = strchr(buf, '\n');
    char why[256] = "truncated (the agent died while starting it?)";
    int rc = -1;
    if (nl) {
        *nl = '\0';
        const char *launch = nl + 1;
        size_t ll = n - (size_t)(launch - buf);
        char path[PATH_MAX];
        if (spool_node_parse(buf, &s->sn) != 0) {
            snprintf(why, sizeof why, "malformed node facts");
        } else if (spool_launch_parse(launch, ll, &s->l, why, sizeof why) == 0) {
            snprintf(path, sizeof path, "%s/launch.json", s->dir);
            rc = file_write_atomic(path, launch, ll, 0600, 0);
            snprintf(path, sizeof path, "%s/shepherd.json", s->dir);
            if (rc == 0)
                rc = file_write_atomic(path, buf, strlen(buf), 0600, 0);
            if (rc != 0)
                snprintf(why, sizeof why, "cannot write %.150s: %s", path, strerror(errno));
        }
    }
    free(buf);
    if (rc != 0)
        snprintf(err, errlen, "the launch on stdin: %s", why);
    return rc;
}

int shepherd_main(const char *dir)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *base = strrchr(dir, '/');
    char prefix[128];
    snprintf(prefix, sizeof prefix, "fleet-agent shepherd %s", base ? base + 1 : dir);
    alog_set_prefix(prefix);
    if (chdir("/") != 0)
        return 1;

    /* the lock: the directory, locked by the agent and inherited on fd 3;
     * else (started by hand) taken here */
    char path[PATH_MAX];
    int lockfd = LOCK_FD;
    if (fcntl(LOCK_FD, F_SETFD, FD_CLOEXEC) != 0) {
        lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
            alog("cannot lock %s (another shepherd?): %s", dir, strerror(errno));
            return 1;
        }
    }
    snprintf(path, sizeof path, "%s/shepherd.log", dir);
    int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd >= 0) {
        dup2(logfd, 1);
        dup2(logfd, 2);
        close(logfd);
    }

    shep s = {.dir = dir, .kill_reason = -1};
    char err[512];
    if (take_input(&s, err, sizeof err) != 0) {
        alog("%s", err);
        proto_launch_free(&s.l);
        if (lockfd != LOCK_FD)
            close(lockfd);
        return 1;
    }
    alog_set_prefix(prefix);
    s.start_s = now_s();
    s.start_ms = mono_ms();
    uint64_t st = 0;
    snprintf(path, sizeof path, "%s/shepherd.pid", dir);
    proc_start_time(getpid(), &st);
    spool_pid_write(path, getpid(), st);
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    resolve_user(&s);
    char why[256] = "";
    if (s.l.uid == 0 && !s.sn.allow_root)
        snprintf(why, sizeof why, "refusing to run a job as root (uid 0)");
    if (!why[0]) {
        int mode = cgroup_mode_parse(s.sn.cgroup);
        char name[256];
        spool_cgroup_name(dir, s.sn.node, s.l.job, s.l.run, name, sizeof name);
        if (mode > 0 && cgroup_job_init(&s.cg, mode, s.sn.cgroup_root, name) != 0) {
            snprintf(why, sizeof why, "cgroup path too long");
        } else if (mode > 0) {
            int32_t deny[PROTO_MAX_GPUS];
            int ndeny = 0;
            for (int32_t i = 0; s.sn.device_limits && i < s.sn.ngpu; i++)
                if (!(s.l.gpus >> i & 1) && s.sn.gpu_minor[i] >= 0)
                    deny[ndeny++] = s.sn.gpu_minor[i];
            if (cgroup_job_create(&s.cg, s.l.cpus, s.l.mem_mb, deny, ndeny, why, sizeof why) !=
                0)
                memset(&s.cg, 0, sizeof s.cg);
        }
    }
    if (!why[0] && s.l.node_rank == 0 && s.l.script)
        start_script(&s, why, sizeof why);
    if (why[0]) {
        s.launch_failed = 1;
        snprintf(s.message, sizeof s.message, "%s", why);
        alog("launch failed: %s", why);
    } else {
        char gl[256];
        proto_gpus_format(s.l.gpus, gl, sizeof gl);
        alog("job %" PRId64 ".%d started on %s as uid %u (%s), GPUs %s, time limit %" PRId64
             " s, cgroup %s",
             s.l.job, s.l.run, s.sn.node, (unsigned)s.u.uid,
             s.job ? "batch script" : "member node", gl[0] ? gl : "none", s.l.time_limit,
             s.cg.ndirs ? s.cg.dir[0] : "none");
        wait_for_end(&s, &set);
    }
    sweep(&s);
    for (int i = 0; i < 50 && cgroup_job_remove(&s.cg) != 0; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    write_end(&s);
    proto_launch_free(&s.l);
    if (lockfd != LOCK_FD)
        close(lockfd);
    return 0;
}

/* ---- the rank starter (steps of fleet run) ----------------------------- */

int rank_exec_main(const char *dir, int index)
{
    /* stdout and stderr are the agent's pipes: whatever fails here is the
     * rank's stderr, shown by fleet run */
    size_t n;
    char *text = read_stdin(&n);
    proto_reply rep;
    char why[256];
    if (!text || proto_reply_decode(text, n, &rep, why, sizeof why) != 0) {
        fprintf(stderr, "fleet-agent: rank %d: bad step input: %s\n", index,
                text ? why : "too large");
        free(text);
        return 127;
    }
    free(text);
    if (rep.nnodes != 1 || rep.nodes[0].nsteps != 1 || index < 0 ||
        index >= rep.nodes[0].steps[0].nranks) {
        fprintf(stderr, "fleet-agent: rank %d: not in the step\n", index);
        proto_reply_free(&rep);
        return 127;
    }
    const proto_step *st = &rep.nodes[0].steps[0];
    shep s = {.dir = dir, .kill_reason = -1};
    if (spool_launch_read(dir, &s.l, why, sizeof why) != 0 ||
        spool_node_read(dir, &s.sn, why, sizeof why) != 0) {
        fprintf(stderr, "fleet-agent: rank %d: %s\n", st->ranks[index].rank, why);
        proto_launch_free(&s.l);
        proto_reply_free(&rep);
        return 127;
    }
    if (s.l.uid == 0 && !s.sn.allow_root) {
        fprintf(stderr, "fleet-agent: refusing to run a rank as root (uid 0)\n");
        proto_launch_free(&s.l);
        proto_reply_free(&rep);
        return 127;
    }
    resolve_user(&s);
    int mode = cgroup_mode_parse(s.sn.cgroup);
    char name[256];
    spool_cgroup_name(dir, s.sn.node, s.l.job, s.l.run, name, sizeof name);
    if (mode > 0 && cgroup_job_init(&s.cg, mode, s.sn.cgroup_root, name) != 0)
        memset(&s.cg, 0, sizeof s.cg);
    jobenv env;
    jobenv_init(&env);
    jobenv_user pw = {s.u.name, s.u.known ? s.u.home : NULL, s.u.known ? s.u.shell : NULL};
    jobenv_build(&env, &s.l, s.sn.node, &pw);
    jobenv_rank(&env, st, &st->ranks[index], st->nranks);
    signal(SIGPIPE, SIG_DFL);
    child_setup(&s, 2); /* cgroup, user, working directory; exits on failure */
    char **saved = environ;
    environ = env.v; /* execvp searches the job's PATH */
    execvp(st->argv[0], st->argv);
    int e = errno;
    environ = saved;
    fprintf(stderr, "fleet-agent: cannot run %s: %s\n", st->argv[0], strerror(e));
    jobenv_free(&env);
    proto_launch_free(&s.l);
    proto_reply_free(&rep);
    return e == ENOENT ? 127 : 126;
}
