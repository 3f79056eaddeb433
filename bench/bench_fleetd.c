/*
 * bench_fleetd: the controller under load, end to end over its Unix socket.
 *
 *   bench_fleetd [--fleetd PATH] [--jobs N] [--clients C] [--cancel M]
 *
 * Starts a real fleetd (a temporary state directory, a one-node cluster so
 * that every job stays pending), then measures:
 *   1. durable submissions per second: C clients (threads), each on its own
 *      keep-alive connection, submitting as fast as fleetd acknowledges
 *      (every answer comes after the group commit);
 *   2. listing every pending job (GET /v1/jobs?state=pending);
 *   3. controller memory per pending job (RSS growth / jobs);
 *   4. restart with N jobs: SIGTERM, start, until the API answers;
 *   5. cancelling M jobs in one request (what `fleet cancel --user` sends).
 * Prints figures and the machine; asserts nothing about time.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char g_sock[100], g_dir[64], g_conf[128];
static const char *g_fleetd = "build/fleetd";

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", g_sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* One request on a keep-alive connection; returns the status, fills the body
 * (malloc'd) if asked. */
static int request(int fd, const char *method, const char *path, const char *body, char **out,
                   size_t *outlen)
{
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, blen);
    if (write(fd, head, (size_t)hl) != hl || (blen && write(fd, body, blen) != (ssize_t)blen))
        return -1;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    char *hend = NULL;
    while (!hend) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        hend = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t want = cl && cl < hend ? strtoul(cl + 15, NULL, 10) : 0;
    size_t hsize = (size_t)(hend + 4 - buf);
    while (len - hsize < want) {
        if (len + 65536 >= cap)
            buf = realloc(buf, cap = cap * 2 + want);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)n;
    }
    if (out) {
        *out = malloc(want + 1);
        memcpy(*out, buf + hsize, want);
        (*out)[want] = '\0';
        if (outlen)
            *outlen = want;
    }
    free(buf);
    return status;
}

static pid_t start_fleetd(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(g_fleetd, "fleetd", "--no-agents", "--state-dir", g_dir, "--socket", g_sock, "--config", g_conf,
              "--interval", "5", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 6000; i++) {
        int fd = dial();
        if (fd >= 0) {
            int st = request(fd, "GET", "/v1/status", NULL, NULL, NULL);
            close(fd);
            if (st == 200)
                return pid;
        }
        usleep(1000);
    }
    fprintf(stderr, "bench_fleetd: fleetd did not start (%s)\n", g_fleetd);
    exit(1);
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

typedef struct worker {
    int n;
    int ok;
} worker;

static void *submitter(void *arg)
{
    worker *w = arg;
    int fd = dial();
    char body[256];
    for (int i = 0; i < w->n && fd >= 0; i++) {
        snprintf(body, sizeof body,
                 "{\"wrap\":\"python train.py --step %d\",\"gpus\":1,\"time_limit\":3600,"
                 "\"name\":\"bench\"}", i);
        if (request(fd, "POST", "/v1/jobs", body, NULL, NULL) == 201)
            w->ok++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void machine(void)
{
    char line[256], model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    printf("machine: %s, %ld cores, %s\n", model, sysconf(_SC_NPROCESSORS_ONLN), __VERSION__);
}

int main(int argc, char **argv)
{
    int jobs = 100000, clients = 8, cancel = 30000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--fleetd"))
            g_fleetd = argv[i + 1];
        else if (!strcmp(argv[i], "--jobs"))
            jobs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--clients"))
            clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cancel"))
            cancel = atoi(argv[i + 1]);
    }
    if (cancel > jobs)
        cancel = jobs;
    snprintf(g_dir, sizeof g_dir, "/tmp/bench-fleetd-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_sock, sizeof g_sock, "%s/fleetd.sock", g_dir);
    snprintf(g_conf, sizeof g_conf, "%s/cluster.yaml", g_dir);
    FILE *cf = fopen(g_conf, "w");
    fprintf(cf, "pools:\n  - name: h100\nnodes:\n  - name: n1\n    pool: h100\n    gpus: 1\n");
    fclose(cf);
    machine();
    printf("fleetd: %s; state in %s\n", g_fleetd, g_dir);

    pid_t pid = start_fleetd();
    long rss0 = rss_kb(pid);
    pthread_t th[64];
    worker w[64];
    if (clients > 64)
        clients = 64;
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        w[i] = (worker){jobs / clients + (i < jobs % clients), 0};
        pthread_create(&th[i], NULL, submitter, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
    }
    double dt = now_s() - t0;
    printf("submit:  %d durable submissions by %d clients in %.2f s: %.0f jobs/s\n", ok, clients,
           dt, ok / dt);
    usleep(300000);
    long rss1 = rss_kb(pid);
    printf("memory:  fleetd RSS %ld KiB -> %ld KiB: %.0f bytes per pending job\n", rss0, rss1,
           (double)(rss1 - rss0) * 1024.0 / (ok ? ok : 1));

    int fd = dial();
    char *body = NULL;
    size_t blen = 0;
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_s();
        free(body);
        request(fd, "GET", "/v1/jobs?state=pending", NULL, &body, &blen);
        dt = now_s() - t0;
        if (dt < best)
            best = dt;
    }
    const char *cnt = body ? strstr(body, "\"count\":") : NULL;
    printf("list:    %ld pending jobs (%.1f MB of JSON) in %.1f ms (best of 5)\n",
           cnt ? atol(cnt + 8) : -1L, (double)blen / 1e6, best * 1000);
    free(body);
    close(fd);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    t0 = now_s();
    pid = start_fleetd();
    printf("restart: with %d jobs, API answering after %.0f ms\n", ok, (now_s() - t0) * 1000);

    /* cancel the first `cancel` jobs in one request */
    size_t cap = (size_t)cancel * 12 + 64, len = 0;
    char *ids = malloc(cap);
    len += (size_t)snprintf(ids, cap, "{\"ids\":[");
    for (int i = 1; i <= cancel; i++)
        len += (size_t)snprintf(ids + len, cap - len, "%s%d", i > 1 ? "," : "", i);
    snprintf(ids + len, cap - len, "]}");
    fd = dial();
    t0 = now_s();
    int st = request(fd, "POST", "/v1/jobs/cancel", ids, &body, NULL);
    dt = now_s() - t0;
    printf("cancel:  %d jobs in one request: %.0f ms (status %d: %.80s)\n", cancel, dt * 1000, st,
           body ? body : "");
    free(body);
    free(ids);
    close(fd);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_fleetd: could not remove %s\n", g_dir);
    return 0;
}
