/* cgroup.c: job cgroups, v2 and v1; see cgroup.h. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* v1 controllers, in the order their directories are used; memory first
 * (detection requires it), so dir[0] lists the job's processes. */
static const char *const v1_controllers[CGROUP_MAX_DIRS] = {"memory", "cpu", "devices"};

const char *cgroup_mode_name(int mode)
{
    return mode == CGROUP_V2 ? "v2" : mode == CGROUP_V1 ? "v1" : "none";
}

int cgroup_mode_parse(const char *s)
{
    if (strcmp(s, "v2") == 0)
        return CGROUP_V2;
    if (strcmp(s, "v1") == 0)
        return CGROUP_V1;
    if (strcmp(s, "none") == 0)
        return CGROUP_NONE;
    return -1;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* 0 when this process may write path, else -1 with why it may not. */
static int writable(const char *path, char *why, size_t whylen)
{
    if (access(path, W_OK) == 0)
        return 0;
    const char *r = errno == EROFS                       ? "read-only file system"
                    : (errno == EACCES || errno == EPERM) ? (geteuid() != 0 ? "not root"
                                                                             : "permission denied")
                                                          : strerror(errno);
    snprintf(why, whylen, "%s", r);
    return -1;
}

int cgroup_detect(const char *root, char *note, size_t notelen)
{
    char p[CGROUP_PATH_MAX + 64], why[128];
    note[0] = '\0';
    snprintf(p, sizeof p, "%s/cgroup.controllers", root);
    if (exists(p)) {
        snprintf(p, sizeof p, "%s/cgroup.subtree_control", root);
        if (writable(root, why, sizeof why) != 0 || writable(p, why, sizeof why) != 0) {
            snprintf(note, notelen, "cgroup v2 at %s: %s", root, why);
            return CGROUP_NONE;
        }
        snprintf(p, sizeof p, "%s/cgroup.controllers", root);
        char *ctl = file_read(p, 4096, NULL);
        int cpu = ctl && strstr(ctl, "cpu") != NULL, mem = ctl && strstr(ctl, "memory") != NULL;
        free(ctl);
        if (!cpu || !mem)
            snprintf(note, notelen, "cgroup v2 at %s: no %s controller (no %s limit)", root,
                     !mem ? "memory" : "cpu", !mem ? "memory" : "CPU");
        return CGROUP_V2;
    }
    snprintf(p, sizeof p, "%s/memory/memory.limit_in_bytes", root);
    if (exists(p)) {
        snprintf(p, sizeof p, "%s/memory", root);
        if (writable(p, why, sizeof why) != 0) {
            snprintf(note, notelen, "cgroup v1 at %s: %s", root, why);
            return CGROUP_NONE;
        }
        snprintf(p, sizeof p, "%s/cpu/cpu.cfs_quota_us", root);
        if (!exists(p))
            snprintf(note, notelen, "cgroup v1 at %s: no cpu controller (no CPU limit)", root);
        return CGROUP_V1;
    }
    snprintf(note, notelen, "no cgroup hierarchy mounted at %s", root);
    return CGROUP_NONE;
}

int cgroup_job_init(cgroup_job *cg, int mode, const char *root, const char *name)
{
    memset(cg, 0, sizeof *cg);
    cg->mode = mode;
    if (mode == CGROUP_V2) {
        int n = snprintf(cg->dir[0], sizeof cg->dir[0], "%s/" CGROUP_PARENT "/%s", root, name);
        if (n < 0 || (size_t)n >= sizeof cg->dir[0])
            return -1;
        cg->ndirs = 1;
    } else if (mode == CGROUP_V1) {
        for (int i = 0; i < CGROUP_MAX_DIRS; i++) {
            char ctl[CGROUP_PATH_MAX];
            snprintf(ctl, sizeof ctl, "%s/%s", root, v1_controllers[i]);
            if (i > 0 && !exists(ctl))
                continue;
            int n = snprintf(cg->dir[cg->ndirs], sizeof cg->dir[0], "%s/" CGROUP_PARENT "/%s",
                             ctl, name);
            if (n < 0 || (size_t)n >= sizeof cg->dir[0])
                return -1;
            cg->ndirs++;
        }
    }
    for (int i = 0; i < cg->ndirs; i++)
        snprintf(cg->procs[i], sizeof cg->procs[i], "%s/cgroup.procs", cg->dir[i]);
    return 0;
}

/* Writes text to dir/file; 0 or -1 with errno. */
static int put(const char *dir, const char *file, const char *text)
{
    char p[CGROUP_PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

/* The parent of a cgroup directory: ".../gpufleet". */
static void parent_of(const char *dir, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", dir);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
}

int cgroup_job_create(const cgroup_job *cg, int32_t cpus, int64_t mem_mb,
                      const int32_t *deny_minor, int ndeny, char *err, size_t errlen)
{
    char parent[CGROUP_PATH_MAX], buf[64];
    for (int i = 0; i < cg->ndirs; i++) {
        parent_of(cg->dir[i], parent, sizeof parent);
        if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create cgroup %s: %s", parent, strerror(errno));
            return -1;
        }
        if (cg->mode == CGROUP_V2) {
            /* controllers must be enabled in every ancestor's subtree_control;
             * failures (a controller missing) only lose that limit */
            char top[CGROUP_PATH_MAX];
            parent_of(parent, top, sizeof top);
            (void)put(top, "cgroup.subtree_control", "+cpu +memory");
            (void)put(parent, "cgroup.subtree_control", "+cpu +memory");
        }
        if (mkdir(cg->dir[i], 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create cgroup %s: %s", cg->dir[i], strerror(errno));
            return -1;
        }
    }
    const char *what = NULL;
    int rc = 0;
    if (cg->mode == CGROUP_V2) {
        /* a limit file that is missing (ENOENT: controller not enabled) is
         * skipped, see below; each limit on its own */
        if (cpus > 0) {
            snprintf(buf, sizeof buf, "%lld 100000", (long long)cpus * 100000);
            if ((rc = put(cg->dir[0], "cpu.max", buf)) != 0) {
                what = "cpu.max";
                if (errno == ENOENT)
                    rc = 0;
            }
        }
        if (rc == 0 && mem_mb > 0) {
            snprintf(buf, sizeof buf, "%lld", (long long)mem_mb * 1048576);
            if ((rc = put(cg->dir[0], "memory.max", buf)) != 0)
                what = "memory.max";
        }
    } else if (cg->mode == CGROUP_V1) {
        for (int i = 0; i < cg->ndirs && rc == 0; i++) {
            const char *ctl = strstr(cg->dir[i], "/memory/")    ? "memory"
                              : strstr(cg->dir[i], "/cpu/")     ? "cpu"
                              : strstr(cg->dir[i], "/devices/") ? "devices"
                                                                : "";
            if (strcmp(ctl, "memory") == 0 && mem_mb > 0) {
                snprintf(buf, sizeof buf, "%lld", (long long)mem_mb * 1048576);
                if ((rc = put(cg->dir[i], "memory.limit_in_bytes", buf)) != 0)
                    what = "memory.limit_in_bytes";
            } else if (strcmp(ctl, "cpu") == 0 && cpus > 0) {
                snprintf(buf, sizeof buf, "%lld", (long long)cpus * 100000);
                if ((rc = put(cg->dir[i], "cpu.cfs_period_us", "100000")) != 0 ||
                    (rc = put(cg->dir[i], "cpu.cfs_quota_us", buf)) != 0)
                    what = "cpu.cfs_quota_us";
            } else if (strcmp(ctl, "devices") == 0) {
                for (int k = 0; k < ndeny && rc == 0; k++) {
                    snprintf(buf, sizeof buf, "c 195:%d rwm", (int)deny_minor[k]);
                    if ((rc = put(cg->dir[i], "devices.deny", buf)) != 0)
                        what = "devices.deny";
                }
            }
        }
    }
    if (rc != 0 && errno == ENOENT) {
        /* the controller is not enabled here (e.g. a cgroup namespace whose
         * root holds processes cannot delegate it): the job still runs in
         * its cgroup, which kills its whole tree, without that limit */
        return 0;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot set %s in cgroup %s: %s", what, cg->dir[0], strerror(errno));
        return -1;
    }
    return 0;
}

int cgroup_job_join(const cgroup_job *cg, pid_t pid)
{
    /* async-signal-safe: no stdio, no allocation */
    char num[24];
    int n = 0;
    unsigned v = (unsigned)pid;
    char rev[24];
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        num[i] = rev[n - 1 - i];
    for (int i = 0; i < cg->ndirs; i++) {
        int fd = open(cg->procs[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        ssize_t w = write(fd, num, (size_t)n);
        int e = errno;
        close(fd);
        if (w != n) {
            errno = w < 0 ? e : EIO;
            return -1;
        }
    }
    return 0;
}

int cgroup_job_signal(const cgroup_job *cg, int sig)
{
    if (cg->ndirs == 0)
        return 0;
    char *s = file_read(cg->procs[0], 1 << 24, NULL);
    if (!s)
        return errno == ENOENT ? 0 : -1;
    int count = 0;
    for (char *p = s; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0 && pid != getpid() && kill((pid_t)pid, sig) == 0)
            count++;
        p = end;
        while (*p == '\n')
            p++;
    }
    free(s);
    return count;
}

int cgroup_job_kill(const cgroup_job *cg)
{
    if (cg->mode == CGROUP_V2 && put(cg->dir[0], "cgroup.kill", "1") == 0)
        return 0;
    return cgroup_job_signal(cg, SIGKILL);
}

int cgroup_job_empty(const cgroup_job *cg)
{
    if (cg->ndirs == 0)
        return 1;
    char *s = file_read(cg->procs[0], 1 << 24, NULL);
    int empty = !s || s[0] == '\0';
    free(s);
    return empty;
}

int cgroup_job_remove(const cgroup_job *cg)
{
    int rc = 0;
    for (int i = 0; i < cg->ndirs; i++)
        if (rmdir(cg->dir[i]) != 0 && errno != ENOENT)
            rc = -1;
    return rc;
}
