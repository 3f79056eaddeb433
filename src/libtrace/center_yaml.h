/*
 * center_yaml: a center's policy in YAML (accounts, users, QOS, allocations,
 * priority settings, guarantees, reservations), read into plain structs; see examples/center-small.yaml
 * and docs/policy.md. Like every libtrace reader it knows nothing of the
 * scheduler: the simulator (src/sim/sim_center.c) turns a center_desc into
 * libsched's policy object (acct.h).
 *
 * Contract as in trace.h: buf need not be NUL-terminated; fname only names
 * the input in messages; 0 on success, -1 with "FILE:LINE: field NAME:
 * reason" in err. out must be initialised (center_desc_init) by the caller,
 * who frees it afterwards (center_desc_free) whatever the result.
 *
 * Everything that refers to something in the same file (a user's projects,
 * an allocation's account, a QOS's preemption list, the default QOS, a
 * reservation's projects and users) is resolved here, with the line of the
 * reference on error. Pool names of allocations and guarantees, and node
 * names of reservations, need the cluster: they are kept as text with their
 * line, and resolved by whoever has the cluster.
 */
#ifndef GPUFLEET_CENTER_YAML_H
#define GPUFLEET_CENTER_YAML_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

/* Levels of accounts, numbered as libsched's enum acct_level. */
enum center_level { CENTER_TIER = 1, CENTER_ORG = 2, CENTER_PROJECT = 3 };

#define CENTER_POOLSLEN 256
#define CENTER_MAX_QOS 64
#define CENTER_MAX_ORG_DEPTH 8 /* organizations inside organizations */

typedef struct center_account {
    char name[TRACE_NAMELEN];
    int32_t level;         /* enum center_level */
    int32_t parent;        /* index into accounts; -1 = under the center */
    double shares;         /* >= 0, default 1 */
    int64_t trace_group;   /* projects: a trace's group id (SWF field 13) mapped
                            * to this project by the simulator; -1 = none */
    int64_t line;
} center_account;

typedef struct center_user {
    char name[TRACE_NAMELEN];
    int64_t uid;             /* -1 = none; the simulator maps trace user ids by it */
    double shares;           /* of each of its memberships, default 1 */
    int32_t default_project; /* index into accounts */
    int64_t line;
} center_user;

/* One membership: a user in a project (indexes). */
typedef struct center_member {
    int32_t user, project;
} center_member;

typedef struct center_qos {
    char name[TRACE_NAMELEN];
    int64_t priority;             /* >= 0 */
    int64_t max_wall;             /* s, 0 = none */
    int64_t max_gpus_per_user;    /* 0 = none */
    int64_t max_gpus_per_project; /* 0 = none */
    uint64_t preempt;             /* bit q: may preempt qos[q] */
    int64_t line;
} center_qos;

typedef struct center_alloc {
    char name[TRACE_NAMELEN];
    int32_t account;              /* index into accounts; -1 = the whole center */
    char pools[CENTER_POOLSLEN];  /* '|'-separated pool names; "" = any pool */
    int64_t pools_line;           /* line of the pools field, for errors */
    int64_t start, end;           /* [start, end), s; INT64_MIN / INT64_MAX when open */
    double gpu_hours;
    int64_t line;
} center_alloc;

/* A guaranteed quota: an account is promised `gpus` GPUs of one pool (the
 * pool's name is resolved by whoever has the cluster). */
typedef struct center_guarantee {
    int32_t account;              /* index into accounts */
    char pool[TRACE_NAMELEN];
    int64_t pool_line;            /* line of the pool field, for errors */
    int64_t gpus;                 /* > 0 */
    int64_t line;
} center_guarantee;

/* Kinds of reservations, numbered as libsched's enum sched_resv_kind. */
enum center_resv_kind { CENTER_RESV_MAINTENANCE = 0, CENTER_RESV_PROJECT = 1 };

/* An operator's reservation of nodes over [start, end), with the fields
 * and words of fleetd's reservations API (POST /v1/reservations). The
 * simulator applies these (src/sim/sim.c, sim_resv_apply), and fleetd beside
 * those of its API (src/fleetd/resv_api.c). Node names are
 * resolved by whoever has the cluster; projects and users here. Each entry
 * owns its arrays (center_desc_free frees them). */
typedef struct center_resv {
    char name[TRACE_NAMELEN];
    int32_t kind;                 /* enum center_resv_kind */
    int64_t start, end;           /* [start, end), s (virtual time in the simulator) */
    char (*nodes)[TRACE_NAMELEN]; /* node names, at least one, each once */
    size_t nnodes;
    int32_t *accounts;            /* project: indexes into accounts (projects only) */
    size_t naccounts;
    int32_t *users;               /* project: indexes into users */
    size_t nusers;                /* a project reservation has accounts or users;
                                   * a maintenance one neither */
    int64_t nodes_line, users_line; /* lines of those fields, for errors */
    int64_t line;
} center_resv;

/* The preemption contract; -1 means "not given" (libsched's defaults). */
typedef struct center_preemption {
    int64_t grace;                /* s between the signal and the end */
    int32_t signal;               /* signal number (the file names it: SIGTERM, ...) */
} center_preemption;

/* Priority settings; -1 in any field means "not given" (the consumer
 * applies libsched's defaults). */
typedef struct center_priority {
    int64_t w_age, w_fairshare, w_size, w_qos;
    int64_t max_age, half_life, calc_period;
    int favor_small;              /* 0 large, 1 small, -1 not given */
} center_priority;

/* Where fleetd keeps its state (the storage section; the simulator ignores
 * it). fleetd's --postgres wins over it. */
enum center_backend {
    CENTER_STORE_DEFAULT = 0, /* no storage section: SQLite in the state directory */
    CENTER_STORE_SQLITE = 1,
    CENTER_STORE_POSTGRES = 2,
};

#define CENTER_CONNINFOLEN 1024

typedef struct center_storage {
    int32_t backend;                   /* enum center_backend */
    char conninfo[CENTER_CONNINFOLEN]; /* postgres: a libpq connection string */
    int64_t line;                      /* of the section, 0 when absent */
} center_storage;

typedef struct center_desc {
    char name[TRACE_NAMELEN];     /* "" = not given */
    center_account *accounts;  size_t naccounts;
    center_user *users;        size_t nusers;
    center_member *members;    size_t nmembers;
    center_qos *qos;           size_t nqos;
    int32_t default_qos;          /* index into qos; -1 = the first, if any */
    center_alloc *allocs;      size_t nallocs;
    center_guarantee *guarantees; size_t nguarantees;
    center_resv *resvs;        size_t nresvs;
    center_preemption preemption;
    center_priority priority;
    center_storage storage;
} center_desc;

void center_desc_init(center_desc *c);
void center_desc_free(center_desc *c);

/* Accounts come out parents first (a parent's index is below its
 * children's), in file order otherwise. */
int center_yaml_parse(const char *buf, size_t len, const char *fname, center_desc *out,
                      char *err, size_t errlen);

/* Durations and times as the file writes them, for tools that take the same
 * notation on their command line. A duration is a non-negative integer of
 * seconds, optionally followed by s, m, h, d or w. A time is an integer of
 * seconds (virtual time in the simulator, Unix time in fleetd) or a UTC date
 * "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (a final 'Z' allowed). 0 or -1. */
int center_parse_duration(const char *s, size_t len, int64_t *out);
int center_parse_time(const char *s, size_t len, int64_t *out);

#endif
