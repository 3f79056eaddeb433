/*
 * libstore: the durable state of the controller (fleetd): jobs, node
 * administrative states, and a few integers (e.g. "next_job_id").
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
    STORE_HELD_UNUSED
};

/* The schema this build writes; a database of a newer version is refused. */
#define STORE_SCHEMA_VERSION 1

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
    char *spec_json;          /* the full job request as JSON, or NULL (malloc'd by
                               * store_job_get; borrowed when writing) */
} store_job;

typedef struct store store;

/* Callbacks of the loaders. Return non-zero to stop the iteration. They must
 * not call the store they are called from (the read is still in progress). */
typedef int (*store_job_fn)(const store_job *j, void *arg);
typedef int (*store_node_fn)(const char *node, int state, const char *reason, void *arg);

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

#endif
