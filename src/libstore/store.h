/*
 * libstore: the durable state of the controller (fleetd): jobs, node
 * administrative states, a few integers (e.g. "next_job_id"), the
 * accounting records of finished job runs, and the log of the operators'
 * changes to the center's accounts.
 *
 * Durability contract: a write call returns 0 only once its transaction has
 * committed and the commit is on stable storage (SQLite: WAL mode with
 * synchronous=FULL, i.e. the WAL is fsync'ed at every COMMIT). fleetd
 * acknowledges a submission only after that, so an acknowledged job survives
 * a crash of fleetd and a power loss. Every write call is ONE transaction:
 * fleetd batches concurrent requests into one call (group commit) so that one
 * fsync covers many submissions; on error nothing of the call is stored.
 *
 * The interface is a table of function pointers (struct store_ops) so that a
 * second backend (PostgreSQL, for a replicated controller) can be added
 * without touching callers. The public functions below only dispatch.
 *
 * Threads: a handle is used by one thread at a time (fleetd's event loop owns
 * it); it may not be carried across fork(). Errors are messages in err
 * (may be NULL / 0), never aborts.
 *
 * This library is a leaf: it knows nothing of libsched or the simulator.
 */
#ifndef GPUFLEET_STORE_H
#define GPUFLEET_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum store_job_state {
    STORE_PENDING = 0,
    STORE_RUNNING,
    STORE_COMPLETED,
    STORE_FAILED,
    STORE_CANCELLED,
    STORE_TIMEOUT,
    STORE_NODE_FAIL,
    STORE_REQUEUED,
    STORE_PREEMPTED   /* preempted, not requeued (the job asked not to be) */
};

/* The schema this build writes; a database of a newer version is refused,
 * an older one migrated at open. Version 2 added the accounting records
 * (table accounting) and the operators' account changes (table admin_log);
 * version 3 the operators' reservations of nodes (table reservations);
 * version 4 a preemption victim's marks (jobs.preempt_at, preempt_by,
 * preempt_signal; 0 in the rows of older versions). */
#define STORE_SCHEMA_VERSION 4

typedef struct store_job {
    int64_t id;               /* assigned by fleetd, unique, > 0 */
    int64_t array_job_id;     /* 0 if not an array task */
    int32_t array_task_id;    /* -1 if not */
    uint32_t uid;
    uint32_t gid;
    char user[64];
    char account[64];
    char name[128];
    char pool[64];
    char qos[32];
    int state;                /* enum store_job_state */
    int held;                 /* 1 = held (stored as 0/1) */
    int64_t submit_time, start_time, end_time; /* seconds since epoch, 0 = not yet */
    int64_t time_limit;       /* seconds */
    int32_t gpus, nodes;      /* as requested (total GPUs, node count or 0) */
    int32_t exit_code;        /* -1 until it ends */
    int32_t restarts;         /* times requeued */
    char nodelist[1024];      /* nodes it runs/ran on, "" if none */
    int64_t gpu_seconds;      /* GPU-seconds used, at end */
    int64_t preempt_at;       /* a run being preempted: when its grace ends (seconds
                               * since epoch); 0 = not being preempted */
    int64_t preempt_by;       /* the job it is preempted for, 0 = none */
    int32_t preempt_signal;   /* the signal it was sent first, 0 = none */
    char *spec_json;          /* the full job request as JSON, or NULL (malloc'd by
                               * store_job_get; borrowed when writing) */
} store_job;

/* An accounting record: one run of a job, from its start to its end (or to
 * its requeue: a requeued job's next run is another record). Keyed by (job_id,
 * run); writing a record again replaces it, so a write repeated after a
 * crash leaves one record. Accounting records are never purged with the
 * jobs (store_jobs_delete_before). */
typedef struct store_usage {
    int64_t job_id;
    int32_t run;               /* 0 for the first run, +1 per requeue */
    uint32_t uid;
    char user[64];
    char project[64];          /* the job's project (account), "" if none */
    char tier[64];             /* the project's tier when it ran, "" if none */
    char org[64];              /* the project's nearest organization when it ran, "" if none */
    char qos[32];
    char pool[64];
    char allocation[64];       /* the allocation the run drew on, "" if none */
    int state;                 /* how the run ended: enum store_job_state
                                * (STORE_REQUEUED for a requeued run) */
    int32_t gpus;              /* GPUs held (whole nodes count whole) */
    int32_t nodes;             /* nodes held */
    char nodelist[1024];
    int64_t submit_time, start_time, end_time; /* seconds since epoch */
    int32_t exit_code;         /* -1 when none (cancelled, requeued, lost) */
    int64_t gpu_seconds;       /* gpus x (end_time - start_time) */
    double rate;               /* the charge rate of its pool */
    double charge;             /* gpu_seconds x rate: charged GPU-seconds */
} store_usage;

typedef struct store store;

/* Callbacks of the loaders. Return non-zero to stop the iteration. They must
 * not call the store they are called from (the read is still in progress). */
typedef int (*store_job_fn)(const store_job *j, void *arg);
typedef int (*store_node_fn)(const char *node, int state, const char *reason, void *arg);
typedef int (*store_usage_fn)(const store_usage *u, void *arg);
/* An entry of the admin log: its sequence number (increasing), when it was
 * written, its kind (e.g. "member", "allocation") and body (JSON text). */
typedef int (*store_admin_fn)(int64_t seq, int64_t at, const char *kind, const char *body,
                              void *arg);
/* An operator's reservation: its name and its definition (JSON text, the
 * controller's; the store does not read it). */
typedef int (*store_resv_fn)(const char *name, const char *body, void *arg);

/* A backend: every function gets the handle it was opened as. Same contracts
 * as the public functions below. */
struct store_ops {
    const char *name; /* "sqlite" */
    void (*close)(store *s);
    int (*jobs_insert)(store *s, const store_job *jobs, size_t n, char *err, size_t errlen);
    int (*jobs_update)(store *s, const store_job *jobs, size_t n, char *err, size_t errlen);
    int (*jobs_delete_before)(store *s, int64_t end_before, char *err, size_t errlen);
    int (*jobs_load)(store *s, store_job_fn fn, void *arg, char *err, size_t errlen);
    int (*job_get)(store *s, int64_t id, store_job *out, char *err, size_t errlen);
    int (*meta_get)(store *s, const char *key, int64_t *val, char *err, size_t errlen);
    int (*meta_set)(store *s, const char *key, int64_t val, char *err, size_t errlen);
    int (*node_set)(store *s, const char *node, int state, const char *reason, char *err,
                    size_t errlen);
    int (*nodes_load)(store *s, store_node_fn fn, void *arg, char *err, size_t errlen);
    int (*jobs_update_usage)(store *s, const store_job *jobs, size_t n, const store_usage *recs,
                             size_t m, char *err, size_t errlen);
    int (*usage_load)(store *s, int64_t since, int64_t until, store_usage_fn fn, void *arg,
                      char *err, size_t errlen);
    int (*admin_append)(store *s, int64_t at, const char *kind, const char *body, int64_t *seq,
                        char *err, size_t errlen);
    int (*admin_load)(store *s, store_admin_fn fn, void *arg, char *err, size_t errlen);
    int (*resv_put)(store *s, const char *name, const char *body, char *err, size_t errlen);
    int (*resv_delete)(store *s, const char *name, char *err, size_t errlen);
    int (*resv_load)(store *s, store_resv_fn fn, void *arg, char *err, size_t errlen);
};

/* Every backend's handle begins with this (a backend's struct has it as its
 * first member, so a store* is a pointer to the backend's struct). */
struct store {
    const struct store_ops *ops;
};

/* Opens (creating if needed) the state database at path: WAL mode,
 * synchronous=FULL. The schema is versioned (table meta, key
 * "schema_version"); an older schema is migrated, a newer one refused with a
 * message naming both versions. NULL with err on failure. */
store *store_open_sqlite(const char *path, char *err, size_t errlen);

/* Connects to PostgreSQL (conninfo as libpq takes it, e.g. "host=/var/run/
 * postgresql dbname=gpufleet") and creates the schema (the same tables and
 * columns as SQLite, schema_version in table meta) if missing; a newer schema
 * is refused. synchronous_commit=on, so a write returns 0 once its COMMIT is
 * flushed on the server. NULL with err on failure. */
store *store_open_pg(const char *conninfo, char *err, size_t errlen);

/* The dispatchers. They live here, inline, so that every backend shares them
 * without a separate translation unit; a NULL handle is an error, not a crash. */

static inline int store__null(const store *s, char *err, size_t errlen)
{
    if (s && s->ops)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "store: no store handle");
    return -1;
}

/* Closes the handle (NULL is fine). */
static inline void store_close(store *s)
{
    if (s && s->ops)
        s->ops->close(s);
}

/* Inserts n new jobs (ids must not exist) in one transaction. 0 once durable,
 * -1 with err otherwise (then none of them is stored). */
static inline int store_jobs_insert(store *s, const store_job *jobs, size_t n, char *err,
                                    size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->jobs_insert(s, jobs, n, err, errlen);
}

/* Rewrites n existing jobs, by id: every column but spec_json. One
 * transaction; an unknown id fails the whole call. 0 once durable, else -1. */
static inline int store_jobs_update(store *s, const store_job *jobs, size_t n, char *err,
                                    size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->jobs_update(s, jobs, n, err, errlen);
}

/* Purges finished jobs (completed, failed, cancelled, timeout, node_fail)
 * that ended before end_before (0 < end_time < end_before). Returns how many,
 * or -1. */
static inline int store_jobs_delete_before(store *s, int64_t end_before, char *err,
                                           size_t errlen)
{
    return store__null(s, err, errlen) ? -1
                                        : s->ops->jobs_delete_before(s, end_before, err, errlen);
}

/* Calls fn for every job, in id order; the store_job (and its spec_json) is
 * valid only during the call. Returns the number of jobs passed to fn (also
 * when fn stopped the iteration), or -1. */
static inline int store_jobs_load(store *s, store_job_fn fn, void *arg, char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->jobs_load(s, fn, arg, err, errlen);
}

/* One job by id: 1 found (out->spec_json is malloc'd, or NULL; the caller
 * frees it), 0 not found, -1 error. */
static inline int store_job_get(store *s, int64_t id, store_job *out, char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->job_get(s, id, out, err, errlen);
}

/* Small named integers. get: 1 found, 0 not, -1 error. set: its own
 * transaction, 0 once durable. "schema_version" is the store's own and
 * cannot be set. */
static inline int store_meta_get(store *s, const char *key, int64_t *val, char *err,
                                 size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->meta_get(s, key, val, err, errlen);
}

static inline int store_meta_set(store *s, const char *key, int64_t val, char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->meta_set(s, key, val, err, errlen);
}

/* Node administrative state (e.g. drained, with its reason), so that it
 * survives a restart. reason NULL is stored as "". 0 once durable. */
static inline int store_node_set(store *s, const char *node, int state, const char *reason,
                                 char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1
                                        : s->ops->node_set(s, node, state, reason, err, errlen);
}

/* Calls fn for every node, in name order (reason is never NULL). Returns the
 * number of nodes passed to fn, or -1. */
static inline int store_nodes_load(store *s, store_node_fn fn, void *arg, char *err,
                                   size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->nodes_load(s, fn, arg, err, errlen);
}

/* Rewrites n existing jobs (as store_jobs_update) and writes m accounting
 * records, in ONE transaction: a finished job and its record become
 * durable together. n or m may be 0. 0 once durable, else -1 and nothing
 * of the call is stored. */
static inline int store_jobs_update_usage(store *s, const store_job *jobs, size_t n,
                                          const store_usage *recs, size_t m, char *err,
                                          size_t errlen)
{
    return store__null(s, err, errlen)
               ? -1
               : s->ops->jobs_update_usage(s, jobs, n, recs, m, err, errlen);
}

/* Writes m accounting records in one transaction. 0 once durable, else -1. */
static inline int store_usage_insert(store *s, const store_usage *recs, size_t m, char *err,
                                     size_t errlen)
{
    return store_jobs_update_usage(s, NULL, 0, recs, m, err, errlen);
}

/* Calls fn for every accounting record with since <= end_time < until, in
 * (end_time, job_id, run) order; the record is valid only during the call.
 * Returns the number passed to fn (also when fn stopped), or -1. */
static inline int store_usage_load(store *s, int64_t since, int64_t until, store_usage_fn fn,
                                   void *arg, char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1
                                        : s->ops->usage_load(s, since, until, fn, arg, err, errlen);
}

/* Appends an entry to the admin log (its own transaction); *seq (may be
 * NULL) receives its sequence number. kind and body must be non-empty.
 * 0 once durable, else -1. */
static inline int store_admin_append(store *s, int64_t at, const char *kind, const char *body,
                                     int64_t *seq, char *err, size_t errlen)
{
    return store__null(s, err, errlen)
               ? -1
               : s->ops->admin_append(s, at, kind, body, seq, err, errlen);
}

/* Calls fn for every admin log entry in sequence order. Returns the number
 * passed to fn, or -1. */
static inline int store_admin_load(store *s, store_admin_fn fn, void *arg, char *err,
                                   size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->admin_load(s, fn, arg, err, errlen);
}

/* Writes an operator's reservation (its own transaction), replacing one of
 * the same name. name and body must be non-empty. 0 once durable, else -1. */
static inline int store_resv_put(store *s, const char *name, const char *body, char *err,
                                 size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->resv_put(s, name, body, err, errlen);
}

/* Deletes the reservation called name: 1 deleted (durable), 0 none had
 * that name, -1 error. */
static inline int store_resv_delete(store *s, const char *name, char *err, size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->resv_delete(s, name, err, errlen);
}

/* Calls fn for every reservation in name order. Returns the number passed
 * to fn, or -1. */
static inline int store_resv_load(store *s, store_resv_fn fn, void *arg, char *err,
                                  size_t errlen)
{
    return store__null(s, err, errlen) ? -1 : s->ops->resv_load(s, fn, arg, err, errlen);
}

#endif
