/* trace.c: the job list and cluster description containers, and file slurping. */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trace_init(trace *t)
{
    memset(t, 0, sizeof *t);
    t->max_procs = -1;
    t->max_nodes = -1;
}

void trace_free(trace *t)
{
    if (!t)
        return;
    free(t->jobs);
    trace_init(t);
}

int trace_push(trace *t, const trace_job *j)
{
    if (t->njobs == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 1024;
        trace_job *n = realloc(t->jobs, ncap * sizeof *n);
        if (!n)
            return -1;
        t->jobs = n;
        t->cap = ncap;
    }
    t->jobs[t->njobs++] = *j;
    return 0;
}

int trace_slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fclose(f);
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n + 1 == cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

void cluster_desc_init(cluster_desc *c)
{
    memset(c, 0, sizeof *c);
}

void cluster_desc_free(cluster_desc *c)
{
    if (!c)
        return;
    free(c->pools);
    free(c->blocks);
    free(c->nodes);
    cluster_desc_init(c);
}
