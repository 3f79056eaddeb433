/* jobenv.c: a job's environment and output paths; see jobenv.h. */
#include "jobenv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void jobenv_init(jobenv *e)
{
    e->cap = 64;
    e->n = 0;
    e->v = xcalloc(e->cap, sizeof *e->v);
}

void jobenv_free(jobenv *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* Index of key (klen bytes) in e, or -1. Linear: a few hundred variables. */
static long find(const jobenv *e, const char *key, size_t klen)
{
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], key, klen) == 0 && e->v[i][klen] == '=')
            return (long)i;
    return -1;
}

/* Puts an owned "K=V" string with key length klen, replacing any. */
static void put_owned(jobenv *e, char *kv, size_t klen)
{
    long i = find(e, kv, klen);
    if (i >= 0) {
        free(e->v[i]);
        e->v[i] = kv;
        return;
    }
    if (e->n + 2 > e->cap) {
        e->cap *= 2;
        e->v = xrealloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

void jobenv_set(jobenv *e, const char *key, const char *value)
{
    put_owned(e, xasprintf("%s=%s", key, value), strlen(key));
}

void jobenv_put(jobenv *e, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return;
    put_owned(e, xstrdup(kv), (size_t)(eq - kv));
}

void jobenv_unset(jobenv *e, const char *key)
{
    long i = find(e, key, strlen(key));
    if (i < 0)
        return;
    free(e->v[i]);
    memmove(&e->v[i], &e->v[i + 1], (e->n - (size_t)i) * sizeof *e->v); /* NULL included */
    e->n--;
}

const char *jobenv_get(const jobenv *e, const char *key)
{
    size_t klen = strlen(key);
    long i = find(e, key, klen);
    return i >= 0 ? e->v[i] + klen + 1 : NULL;
}

void jobenv_gpu_list(uint64_t gpus, char *out, size_t outlen)
{
    proto_gpus_format(gpus, out, outlen);
}

static void set_int(jobenv *e, const char *key, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    jobenv_set(e, key, buf);
}

static void set_gpus(jobenv *e, uint64_t gpus)
{
    char list[256];
    jobenv_gpu_list(gpus, list, sizeof list);
    jobenv_set(e, "CUDA_VISIBLE_DEVICES", list);
    jobenv_set(e, "NVIDIA_VISIBLE_DEVICES", list[0] ? list : "void");
}

static void default_to(jobenv *e, const char *key, const char *value)
{
    if (value && value[0] && !jobenv_get(e, key))
        jobenv_set(e, key, value);
}

void jobenv_build(jobenv *e, const proto_launch *l, const char *node, const jobenv_user *pw)
{
    for (int32_t i = 0; i < l->nenv; i++)
        if (l->env[i])
            jobenv_put(e, l->env[i]);

    const char *user = pw && pw->name && pw->name[0] ? pw->name : l->user;
    default_to(e, "HOME", pw ? pw->home : NULL);
    default_to(e, "USER", user);
    default_to(e, "LOGNAME", user);
    default_to(e, "SHELL", pw ? pw->shell : NULL);
    default_to(e, "PATH", JOBENV_DEFAULT_PATH);

    const char *nodelist = l->nodelist && l->nodelist[0] ? l->nodelist : node;
    set_int(e, "FLEET_JOB_ID", l->job);
    jobenv_set(e, "FLEET_JOB_NAME", l->name);
    jobenv_set(e, "FLEET_NODELIST", nodelist);
    set_int(e, "FLEET_NNODES", l->nnodes > 0 ? l->nnodes : 1);
    set_int(e, "FLEET_NODEID", l->node_rank);
    jobenv_set(e, "FLEET_NODENAME", node);
    set_int(e, "FLEET_GPUS", l->total_gpus);
    set_int(e, "FLEET_RESTART_COUNT", l->run);
    set_gpus(e, l->gpus);
    jobenv_set(e, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");

    if (l->array_job_id > 0 && l->array_task_id >= 0) {
        set_int(e, "FLEET_ARRAY_JOB_ID", l->array_job_id);
        set_int(e, "FLEET_ARRAY_TASK_ID", l->array_task_id);
        set_int(e, "SLURM_ARRAY_JOB_ID", l->array_job_id);
        set_int(e, "SLURM_ARRAY_TASK_ID", l->array_task_id);
    } else {
        /* a submission made from inside another array task carries these */
        jobenv_unset(e, "FLEET_ARRAY_JOB_ID");
        jobenv_unset(e, "FLEET_ARRAY_TASK_ID");
        jobenv_unset(e, "SLURM_ARRAY_JOB_ID");
        jobenv_unset(e, "SLURM_ARRAY_TASK_ID");
    }

    if (strncmp(l->controller, "unix:", 5) == 0) {
        jobenv_set(e, "FLEET_SOCKET", l->controller + 5);
        jobenv_unset(e, "FLEET_URL");
    } else if (l->controller[0]) {
        char url[300];
        snprintf(url, sizeof url, "%s%s",
                 strncmp(l->controller, "http://", 7) == 0 ? "" : "http://", l->controller);
        jobenv_set(e, "FLEET_URL", url);
        jobenv_unset(e, "FLEET_SOCKET");
    }

    set_int(e, "SLURM_JOB_ID", l->job);
    set_int(e, "SLURM_JOBID", l->job);
    jobenv_set(e, "SLURM_JOB_NAME", l->name);
    jobenv_set(e, "SLURM_JOB_NODELIST", nodelist);
    set_int(e, "SLURM_NNODES", l->nnodes > 0 ? l->nnodes : 1);
    set_int(e, "SLURM_NODEID", l->node_rank);
    jobenv_set(e, "SLURMD_NODENAME", node);
    set_int(e, "SLURM_RESTART_COUNT", l->run);
    if (l->workdir[0])
        jobenv_set(e, "SLURM_SUBMIT_DIR", l->workdir);
}

void jobenv_rank(jobenv *e, const proto_step *st, const proto_step_rank *r, int local_world)
{
    for (int32_t i = 0; i < st->nenv; i++)
        if (st->env[i])
            jobenv_put(e, st->env[i]);
    set_int(e, "RANK", r->rank);
    set_int(e, "LOCAL_RANK", r->local_rank);
    set_int(e, "WORLD_SIZE", st->world_size);
    set_int(e, "LOCAL_WORLD_SIZE", local_world);
    jobenv_set(e, "MASTER_ADDR", st->master_addr);
    set_int(e, "MASTER_PORT", st->master_port);
    set_int(e, "FLEET_STEP_ID", st->step);
    set_int(e, "FLEET_RANK", r->rank);
    set_gpus(e, r->gpus);
    set_int(e, "SLURM_PROCID", r->rank);
    set_int(e, "SLURM_LOCALID", r->local_rank);
    set_int(e, "SLURM_NTASKS", st->world_size);
    set_int(e, "SLURM_STEP_ID", st->step);
}

/* path taken from workdir unless absolute; "" stays "". */
static int resolve(const char *workdir, const char *path, char *out, size_t outlen)
{
    int n;
    if (path[0] == '\0' || path[0] == '/' || workdir[0] == '\0')
        n = snprintf(out, outlen, "%s", path);
    else
        n = snprintf(out, outlen, "%s%s%s", workdir,
                     workdir[strlen(workdir) - 1] == '/' ? "" : "/", path);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int jobenv_output_paths(const proto_launch *l, char *out, char *err, size_t outlen, int *same)
{
    if (resolve(l->workdir, l->output, out, outlen) != 0)
        return -1;
    if (out[0] == '\0')
        snprintf(out, outlen, "/dev/null");
    if (l->error[0] == '\0') {
        snprintf(err, outlen, "%s", out);
    } else if (resolve(l->workdir, l->error, err, outlen) != 0) {
        return -1;
    }
    *same = strcmp(out, err) == 0;
    return 0;
}
