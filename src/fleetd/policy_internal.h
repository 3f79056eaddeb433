/*
 * policy_internal.h: shared by policy.c (the center's policy in the live
 * controller, accounting records) and policy_api.c (its routes: usage
 * reports and the operators' /v1/admin). Private to fleetd.
 */
#ifndef GPUFLEET_POLICY_INTERNAL_H
#define GPUFLEET_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "acct.h"
#include "center_yaml.h"
#include "ctl_internal.h"
#include "jsonw.h"

/* Why the policy holds a pending job (fjob.pol_wait). */
enum pol_wait {
    POL_WAIT_NONE = 0,
    POL_WAIT_QOS = 1,     /* a QOS running limit: "qos_limit" */
    POL_WAIT_ALLOC = 2,   /* its allocation expired or is used up, or cannot cover it: "allocation" */
    POL_WAIT_ACCOUNT = 3, /* its project, user or QOS is no longer in the center: "account" */
};

/* A job's policy record: what acct knows of it, the pools it asked for
 * (before admission narrowed them to its allocation's), and why admission
 * failed when it was admitted again after a restart or reload. */
struct fpol {
    acct_job aj;
    uint64_t req_pools;
    char *why; /* malloc'd, or NULL */
    /* a preemptor: its victims were signalled; it waits for them at the
     * front of the queue (await: their grace ends, unix s; 0: not a
     * preemptor), holding its claim on its holder's guarantee */
    int64_t await;
    acct_claim claim;
    int8_t draining;        /* scratch of policy_after_pass: a victim still runs */
};

/* An entry of the admin log, kept in memory to rebuild the center. */
typedef struct admin_entry {
    char *kind, *body;
} admin_entry;

struct policy {
    /* always: charge rates for the accounting records */
    int npools;
    double *rates;          /* by pool, from the cluster file's charge_rate */
    int32_t *pool_gpus;     /* the most GPUs of one node, by pool (whole-node jobs) */
    store_usage *recs;      /* records waiting for the next commit */
    size_t nrecs, caprecs;
    /* with a center */
    acct_center *a;         /* NULL without --center */
    char *buf;              /* the center file as last loaded successfully */
    size_t len;
    admin_entry *log;
    size_t nlog, caplog;
    int64_t last_calc;      /* when fair share and priorities were last computed */
    int64_t calcs;
    size_t nrefused;        /* active jobs whose admission failed: retried each pass */
    fjob **scratch;         /* the gate's queue */
    acct_job **gate;
    int *hold;
    size_t capscratch;
    /* preemption (policy_after_pass) */
    acct_running *run;      /* the running jobs, as the planner sees them */
    size_t *victims;
    size_t caprun;
    int64_t preemptions;    /* victims signalled since the start */
    /* the center file's reservations section, as API definitions (name ->
     * JSON; users as uids): applied by resv_reapply beside the API's */
    json_t *file_resvs;
    json_t *next_file_resvs; /* those of the center pol_make_center made last */
};

/* "key": number, or null for a value JSON cannot hold (an infinite LF). */
void pol_kv_num(jsonw *w, const char *k, double v);
/* "center", "tier", "organization", "project", "member". */
const char *pol_level_name(int level);
/* The acct user of a caller or a job: by uid first, then by name; -1 if the
 * center does not know it. O(1) expected. */
int pol_find_user(const acct_center *a, uint32_t uid, const char *name);
/* The center of the file text buf (fleetd's --center), with every admin log
 * entry applied over it and then `extra` (kind, body; NULL for none). Log
 * entries that no longer apply are skipped with a warning; `extra` must
 * apply. NULL with err (and the field at fault) on failure. */
acct_center *pol_make_center(ctl *c, const char *buf, size_t len, const admin_entry *extra,
                             char *field, size_t fieldlen, char *err, size_t errlen);
/* Makes na the center and rebuilds the policy state from the accounting
 * records and the active jobs (see policy.c). On a store error the old
 * center stays, na is freed, -1. */
int pol_rebuild(ctl *c, acct_center *na, int64_t now, char *err, size_t errlen);
/* Appends an entry to the in-memory admin log (a store_admin_fn). */
int pol_admin_entry_add(int64_t seq, int64_t at, const char *kind, const char *body, void *arg);
/* The accounting record of j's current run ending at `end` (its start if
 * earlier): who, project and its tier and organization, QOS, pool, the
 * allocation it drew on, GPUs, nodes, times, GPU-seconds and the charge at
 * the pool's rate. push_record queues it when the run ends; the usage route
 * counts a running job's part with it. */
void policy_run_record(ctl *c, const fjob *j, int state, int exit_code, int64_t end,
                       store_usage *out);

#endif
