/*
 * libtrace: readers of workload traces and cluster descriptions.
 *
 * Readers turn text into plain structs; they know nothing of the scheduler.
 * The simulator (src/sim) converts these structs into libsched objects.
 * Every reader parses from a memory buffer (so fuzz targets can drive it),
 * never aborts on bad input, and on error returns -1 with a message of the
 * form "FILE:LINE: field NAME: reason" in the caller's error buffer.
 */
#ifndef GPUFLEET_TRACE_H
#define GPUFLEET_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_ERRLEN 256
#define TRACE_NAMELEN 64

/* One job of a trace, in the units of the scheduler: seconds and GPUs
 * (processors in the classic model). */
typedef struct trace_job {
    int64_t id;             /* job id from the trace */
    int64_t submit;         /* submit time, seconds (may be negative: then dropped) */
    int64_t run;            /* actual run time, seconds (may be negative: then dropped) */
    int64_t estimate;       /* requested time limit, seconds (> 0, or = run) */
    int32_t gpus;           /* total GPUs (processors); <= 0 means dropped */
    int32_t nodes;          /* > 0: a gang of nodes x gpus_per_node; 0: use gpus */
    int32_t gpus_per_node;  /* with nodes > 0; 0 = whole nodes */
    int32_t cpus_per_gpu;   /* 0 = not stated */
    int64_t mem_per_gpu_mb; /* 0 = not stated */
    int32_t gpu_milli;      /* GPU share per GPU in 1/1000 (1000 = whole); informative */
    uint32_t user;          /* user id (0 = unknown) */
    uint32_t group;         /* group / account id (0 = unknown) */
    char pool[TRACE_NAMELEN];    /* pool name(s) allowed, '|'-separated; "" = any */
    char account[TRACE_NAMELEN]; /* account (project) name; "" = none */
    char qos[16];                /* quality of service class; "" = none */
    int64_t line;                /* 1-based line of the source */
} trace_job;

/* A list of jobs, in input order. */
typedef struct trace {
    trace_job *jobs;
    size_t njobs;
    size_t cap;
    int64_t max_procs;      /* SWF MaxProcs header, -1 if absent */
    int64_t max_nodes;      /* SWF MaxNodes header, -1 if absent */
} trace;

void trace_init(trace *t);
void trace_free(trace *t);
/* Append a job (copied). Returns 0, or -1 on out of memory. */
int trace_push(trace *t, const trace_job *j);

/*
 * SWF (Standard Workload Format), the classic model of the scheduling-core
 * issue: id = field 1, submit = field 2, run = field 4,
 * size = field 8 if > 0 else field 5, estimate = field 9 if > 0 else run;
 * fractional seconds are truncated. Lines empty or white space are skipped,
 * lines whose first non-blank character is ';' are comments (MaxProcs: and
 * MaxNodes: are read from them). A data line with fewer than 18 fields or a
 * non-numeric field among those used is an error naming the line.
 * Dropping (size <= 0, size > N, run < 0, submit < 0) is the simulator's job:
 * the reader keeps every data line.
 */
int swf_parse(const char *buf, size_t len, const char *fname, trace *out,
              char *err, size_t errlen);

/* Read a whole file into a NUL-terminated malloc'd buffer.
 * Returns 0, or -1 with a message in err. */
int trace_slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* ---- GPU clusters ---------------------------------------------------- */

typedef struct cluster_pool {
    char name[TRACE_NAMELEN];   /* e.g. "h100" */
    char model[TRACE_NAMELEN];  /* e.g. "H100-80G" */
    int32_t gpu_mem_gb;         /* memory per accelerator, GB (0 = unknown) */
    double charge_rate;         /* GPU-hour charge rate (1.0 default) */
} cluster_pool;

typedef struct cluster_block {
    char name[TRACE_NAMELEN];   /* NVLink domain or leaf switch */
    char spine[TRACE_NAMELEN];  /* spine switch; "" = none */
} cluster_block;

typedef struct cluster_node {
    char name[TRACE_NAMELEN];
    int32_t pool;     /* index into pools */
    int32_t block;    /* index into blocks, -1 = none */
    int32_t gpus;
    int32_t cpus;
    int64_t mem_mb;
} cluster_node;

typedef struct cluster_desc {
    cluster_pool *pools;   size_t npools;
    cluster_block *blocks; size_t nblocks;
    cluster_node *nodes;   size_t nnodes;
} cluster_desc;

void cluster_desc_init(cluster_desc *c);
void cluster_desc_free(cluster_desc *c);

/* ---- GPU traces and clusters (gpucsv.c, alibaba.c, cluster_yaml.c) ---- *
 * Same contract as swf_parse: buf need not be NUL-terminated; fname only
 * names the input in messages; 0 on success, -1 with "FILE:LINE: field NAME:
 * reason" in err. out must be initialised (trace_init, cluster_desc_init) by
 * the caller, who frees it afterwards whatever the result: on error it may
 * hold part of the input. */

/* The project's GPU job CSV: a header naming the columns in any order;
 * required id,submit,run,gpus; optional time_limit, nodes, gpus_per_node,
 * cpus_per_gpu, mem_per_gpu_mb, pool ('|'-separated), user, account, qos.
 * '#' lines and blank lines are skipped. Strict: negative times, junk in
 * numbers, unknown columns and short lines are errors. */
int gpucsv_parse(const char *buf, size_t len, const char *fname, trace *out,
                 char *err, size_t errlen);

/* A cluster in YAML: pools, blocks (optionally generating nodes) and
 * explicit nodes; see examples/cluster-small.yaml. Generated nodes come
 * first, block by block, then the explicit ones. */
int cluster_yaml_parse(const char *buf, size_t len, const char *fname,
                       cluster_desc *out, char *err, size_t errlen);

/* Alibaba cluster-trace-gpu-v2023 node list (sn,cpu_milli,memory_mib,gpu,
 * model): one pool per GPU model, nodes without GPUs skipped, every 16
 * consecutive nodes of a model in a block "<model>-b<k>". */
int alibaba_nodes_parse(const char *buf, size_t len, const char *fname,
                        cluster_desc *out, char *err, size_t errlen);

/* Alibaba cluster-trace-gpu-v2023 pod list: one job per pod, id = the
 * number ending the pod name, submit = creation_time, run = deletion_time -
 * scheduled_time (deletion_time - creation_time for a pod never scheduled,
 * 0 when not deleted), estimate = run; pods without GPUs keep gpus = 0. */
int alibaba_pods_parse(const char *buf, size_t len, const char *fname,
                       trace *out, char *err, size_t errlen);

#endif
