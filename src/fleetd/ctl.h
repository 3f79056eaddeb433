/*
 * ctl: the controller's state. One object owns every job and node, the
 * scheduler (libsched) and the store; only the event loop touches it.
 *
 * Durability: a change is acknowledged only after it is committed. Requests
 * that change state are suspended and queued; once per loop turn all queued
 * changes go to the store in ONE transaction (group commit), then their
 * requests are answered. Scheduler decisions (starts) are written the same
 * way, before any later answer.
 */
#ifndef GPUFLEET_CTL_H
#define GPUFLEET_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http.h"
#include "jobspec.h"
#include "libsched.h"
#include "store.h"

enum fjob_state {
    FJOB_PENDING = STORE_PENDING,
    FJOB_RUNNING = STORE_RUNNING,
    FJOB_COMPLETED = STORE_COMPLETED,
    FJOB_FAILED = STORE_FAILED,
    FJOB_CANCELLED = STORE_CANCELLED,
    FJOB_TIMEOUT = STORE_TIMEOUT,
    FJOB_NODE_FAIL = STORE_NODE_FAIL,
    FJOB_PREEMPTED = STORE_PREEMPTED, /* preempted and not requeued (--no-requeue) */
};

/* A job as the controller keeps it in memory: the scheduler's view plus the
 * fields every listing shows. The full request (script, environment) stays
 * in the store and is read on demand. */
typedef struct fjob {
    sched_job sj;          /* first member: a sched_job* is an fjob* */
    int64_t id;
    int64_t array_job_id;  /* 0 if not an array task */
    int32_t array_task_id; /* -1 if not */
    uint32_t uid, gid;
    const char *user;      /* interned */
    const char *account;   /* interned */
    const char *qos;       /* interned */
    const char *pool;      /* interned; "" = any */
    char *name;
    char *nodelist;        /* while running and after, else NULL */
    int state;             /* enum fjob_state */
    int held;
    int64_t submit_time, start_time, end_time, time_limit;
    int32_t exit_code;
    int32_t restarts;
    int64_t gpu_seconds;
    job_dep *deps;           /* --dependency, NULL if none */
    int32_t ndeps;
    int32_t array_max_running; /* the %N of --array (on every task), 0 = no limit */
    int32_t array_slots;     /* on an array's first task: scratch of gate_jobs */
    int8_t no_requeue;       /* --no-requeue: a lost node fails it (NODE_FAIL), a
                                preemption ends it (PREEMPTED) */
    int64_t preempt_at;      /* a preemption victim: when its grace ends (unix s);
                                0: not being preempted (policy.c, agent.c). The three
                                marks are stored with the job: a restart keeps them */
    int64_t preempt_by;      /* the job it makes room for */
    int32_t preempt_signal;  /* the signal it was sent first */
    uint64_t *gpumask;       /* while running: [k] GPU indices of alloc entry k, and
                                [nalloc + k] its SHARE_* flags (agent.c) */
    struct fstep *steps;     /* while running: its steps (fleet run; steps.c) */
    int32_t nsteps_made;     /* step ids handed out in this run */
    int8_t dep_wait;         /* 1: dependencies unmet, 2: never satisfiable */
    int8_t array_wait;       /* 1: its array is at its running limit */
    struct fjob *dirty_next; /* in the list of records to write */
    int dirty;
    int is_new;              /* not yet in the store */
    struct fpol *pol;        /* with a center: its policy record (policy.c), else NULL */
    int8_t pol_wait;         /* held by the policy: enum pol_wait of policy.c, 0 = no */
} fjob;

typedef struct ctl ctl;

typedef struct ctl_options {
    const char *state_dir;
    const char *config;      /* cluster YAML, required for nodes */
    const char *pg;          /* PostgreSQL conninfo; NULL: SQLite in state_dir */
    int policy;
    int64_t default_time_limit;
    double pass_interval_s;  /* periodic pass, besides passes on change */
    const uint32_t *operators; size_t noperators;
    const uint8_t *key;      /* the cluster key (32 bytes): agent message MACs */
    int no_agents;           /* scheduling only: nodes need no agent, nothing runs */
    double node_timeout_s;   /* an agent silent this long loses its node */
    int kill_grace_s;        /* SIGTERM .. SIGKILL at a time limit or cancel */
    const char *controller;  /* how jobs reach fleetd: "unix:/path" or "HOST:PORT" */
    const char *center;      /* the center file (accounts, QOS, allocations), or NULL */
} ctl_options;

ctl *ctl_create(uv_loop_t *loop, const ctl_options *o, char *err, size_t errlen);
/* The storage section of a center file (policy.c), read before the store is
 * opened: *postgres is 1 and conninfo set for {backend: postgres}, else 0.
 * 0, or -1 with "FILE:LINE: field NAME: reason" for a bad file. */
int policy_read_storage(const char *path, int *postgres, char *conninfo, size_t len, char *err,
                        size_t errlen);
void ctl_destroy(ctl *c);
/* Commits and answers everything queued (before a clean stop). */
void ctl_flush(ctl *c);
/* Jobs on nodes whose agent talks TCP reach fleetd at addr ("HOST:PORT")
 * with a bearer token of their user (agent.c). */
void agent_set_tcp_controller(ctl *c, const char *addr);
/* The HTTP handler: routes every /v1 request (see api.c). */
void ctl_http_handler(http_req *r, void *arg);

/* internals shared by ctl.c and api.c */
sched *ctl_sched(ctl *c);
store *ctl_store(ctl *c);
fjob *ctl_job_find(ctl *c, int64_t id);
int ctl_is_operator(ctl *c, const http_req *r);

#endif
