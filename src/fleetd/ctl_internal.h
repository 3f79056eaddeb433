/* Private to the controller: shared by ctl.c and api.c. */
#ifndef GPUFLEET_CTL_INTERNAL_H
#define GPUFLEET_CTL_INTERNAL_H

#include "ctl.h"
#include "jobspec.h"

/* A new job waiting for the group commit; req is set on the first job of
 * its request (an array submits many jobs in one request). */
typedef struct ctl_sub {
    fjob *job;
    char *spec_json;
    http_req *req;
} ctl_sub;

/* A node as the controller sees it beyond libsched: who serves it, what
 * its agent reported, which jobs run on it (agent.c). */
typedef struct fnode {
    uint8_t op_state;        /* the operator's word (drain/resume), stored */
    uint8_t alive;           /* an agent synced within the node timeout */
    uint8_t inv_short;       /* the agent found fewer GPUs than the config says */
    uint8_t wake;            /* on c->wake list: its agent may have commands */
    int32_t agent;           /* index in c->agents, -1: none yet */
    uint64_t last_seen_ms;   /* loop time of its last sync */
    int64_t last_seen;       /* unix time of its last sync, 0: never */
    int32_t inv_gpus, inv_cpus;
    int64_t inv_mem_mb;
    char cgroup[8], source[16];
    char *addr, *note, *model, *why; /* why: the agent-side reason it is down */
    struct fjob **jobs; int32_t njobs, capjobs; /* running here, in the controller's view */
    struct fkill { int64_t job; int32_t run; } *kills; /* kills sent, while reported running */
    int32_t nkills, capkills;
} fnode;

typedef struct fagent fagent;
typedef struct fstep fstep;
struct proto_sync;
struct proto_node_cmds;

struct ctl {
    uv_loop_t *loop;
    ctl_options o;
    sched *s;
    store *st;
    /* jobs */
    fjob **tab; size_t ntab, captab;  /* by id */
    fjob **all; size_t nall, capall;  /* in id order */
    int64_t next_id;
    size_t ngated;
    char **node_reason;   /* why a node is drained or down, by node index (NULL: none) */   /* jobs with dependencies or an array limit, ever */
    char **strs; size_t nstrs, capstrs; /* interned strings */
    /* group commit */
    ctl_sub *subs; size_t nsubs, capsubs;
    fjob *dirty_head;
    http_req *waiters, *waiters_tail;
    /* scheduling */
    int sched_dirty;
    uint64_t last_pass;   /* loop time, ms */
    uint64_t last_estimate;
    uint64_t pass_min_ms;
    uv_check_t check;
    uv_timer_t soon, interval;
    struct { uint64_t commits, passes, started; } stats;
    /* agents (agent.c) */
    fnode *nodes;            /* by sched node index */
    fagent **agents; size_t nagents, capagents;
    fagent *wake_head;       /* agents whose held sync may now be answered */
    uv_timer_t liveness;
    uint64_t started_ms;     /* loop time at start: grace for agents to return */
    uint64_t start_ns;       /* wall clock at start, for stale nonces */
    char *controller_tcp;    /* "HOST:PORT" for jobs on TCP agents' nodes, or NULL */
    /* policy and accounting (policy.c) */
    struct policy *pol;
    /* operators' reservations (resv_api.c): name -> definition (json_t *) */
    struct json_t *resvs;
};

int64_t ctl_now(void);
const char *ctl_intern(ctl *c, const char *s);
int ctl_spec_to_sched(ctl *c, const jobspec *js, fjob *j, char *field, size_t fieldlen,
                      char *err, size_t errlen);
void ctl_job_to_record(const fjob *j, store_job *r);
void ctl_job_set_gates(ctl *c, fjob *j, const jobspec *js);
void ctl_set_node_reason(ctl *c, int node, const char *reason);
void ctl_mark_dirty(ctl *c, fjob *j);
void ctl_wait_commit(ctl *c, http_req *r);
void ctl_queue_new(ctl *c, fjob *j, char *spec_json, http_req *r, int first_of_request);
void ctl_job_finish(ctl *c, fjob *j, int state, int exit_code);
int ctl_job_requeue(ctl *c, fjob *j, char *err, size_t errlen);
/* A preempted run ended (its grace is over, or it left by itself after the
 * signal): requeued, or PREEMPTED when the job asked not to be requeued. */
void ctl_job_preempted(ctl *c, fjob *j, int exit_code);

/* agent.c: the controller's side of the agent protocol */
void agent_init(ctl *c);
void agent_start_timers(ctl *c);
void agent_destroy(ctl *c);
/* A job started (or was recovered as running) / stopped running: the node
 * lists and GPU masks follow, its nodes' agents are woken. */
void agent_job_started(ctl *c, fjob *j);
void agent_job_stopped(ctl *c, fjob *j);
/* After every commit: answer the held syncs that now have commands. */
void agent_after_commit(ctl *c);
/* Answers every held sync now (before the HTTP server stops). */
void agent_release_held(ctl *c);
/* POST /v1/agent/sync */
void agent_sync(ctl *c, http_req *r);
/* The operator's node state (drain/resume/recovery); the effective state
 * libsched uses also needs a live agent. */
void agent_node_set_op(ctl *c, int node, int state);
/* Agent fields of a node for the API ("agent": {...}). */
struct jsonw;
void agent_node_fields(ctl *c, int node, struct jsonw *w);
const char *agent_node_why(ctl *c, int node);

/* A job was chosen as a preemption victim: its nodes' agents are woken to
 * send it the preemption signal (and its grace). */
void agent_job_preempt(ctl *c, fjob *j);
/* Wake the agent of node n (force: answer its held sync even if empty). */
void agent_wake_node(ctl *c, int n, int force);
/* The address other nodes reach node n at (its agent's word, else its name). */
void agent_node_addr(ctl *c, int n, char *out, size_t outlen);

/* steps.c: fleet run */
void steps_route(ctl *c, http_req *r);
void steps_job_stopped(ctl *c, fjob *j);
void steps_take(ctl *c, const struct proto_sync *m);
/* Adds the steps (and step kills) of job j for its share k to nc; *fresh
 * counts those never sent before (they make a reply worth sending). */
int steps_compose(ctl *c, fjob *j, int k, struct proto_node_cmds *nc, int *fresh);

/* api.c */
void api_reply_submitted(ctl *c, http_req *r, const ctl_sub *subs, size_t nsubs, size_t first);

/* policy.c: the center's policy (accounts, fair share, QOS, allocations)
 * and accounting. Without --center only accounting is active. */
/* At startup, after recovery: charge rates; with a center, the center file
 * and the admin log, then the policy state rebuilt from the accounting
 * records and the recovered jobs. 0, or -1 with a message. */
int policy_init(ctl *c, char *err, size_t errlen);
void policy_destroy(ctl *c);
/* Non-zero when a center is loaded. */
int policy_enabled(const ctl *c);
/* Frees a job's policy record (from job_free); no policy state changes. */
void policy_job_free(fjob *j);
/* At submit, after the jobs' scheduler requests are filled: checks the
 * project (the user's default when js->account is empty, written back into
 * js), the QOS (the default written back) and admits each job in its
 * allocation; sets their priority, account and narrowed pools. 0, or -1
 * with the field and message of the refusal (nothing admitted stays). */
int policy_admit(ctl *c, jobspec *js, fjob **jobs, size_t n, const http_req *r, char *field,
                 size_t fieldlen, char *err, size_t errlen);
/* A new job that will not be stored (the commit failed): its admission is
 * released. */
void policy_job_dropped(ctl *c, fjob *j);
/* Before each pass: fair share and priorities at most every calc_period,
 * then the QOS and allocation gate (sets pol_wait and sj.held). */
void policy_before_pass(ctl *c, int64_t now);
/* A job started (from the pass's start callback). */
void policy_job_started(ctl *c, fjob *j);
/* After each pass, with guarantees or QOS preemption rights: preemption
 * plans for the pending jobs; victims are marked (fjob.preempt_at) and
 * their agents woken; preemptors wait at the front of the queue. */
void policy_after_pass(ctl *c, int64_t now);
/* Non-zero for a pending preemptor waiting for its victims. */
int policy_job_awaiting(const fjob *j);
/* Victims signalled since the start. */
int64_t policy_preemptions(const ctl *c);
/* A job leaves its state at `now` (before the change): a running job's run
 * becomes an accounting record ending as `state`, charged in the policy; a
 * pending job's admission is released. */
void policy_job_ending(ctl *c, fjob *j, int state, int exit_code, int64_t now);
/* A requeued job, back to pending (before sched_submit): admitted again. */
void policy_job_requeued(ctl *c, fjob *j, int64_t now);
/* The accounting records waiting for the next commit, and their release
 * once the commit wrote (or failed to write) them. */
size_t policy_usage_pending(ctl *c, const store_usage **recs);
void policy_usage_committed(ctl *c);
/* The pending reason of a job held by the policy ("qos_limit",
 * "allocation", "account"). */
const char *policy_reason_name(const fjob *j);
/* Job fields with a center: "reason_detail", "allocation". */
struct jsonw;
void policy_job_fields(ctl *c, struct jsonw *w, const fjob *j);
/* GET /v1/jobs?priority=1: the weights (top level) and, per job,
 * "priority" and "factors". */
void policy_priority_header(ctl *c, struct jsonw *w);
void policy_priority_fields(ctl *c, struct jsonw *w, const fjob *j);
/* Routes: GET /v1/usage (users), /v1/admin/... (operators). */
void policy_route_usage(ctl *c, http_req *r, const char *arg);
void policy_route_accounts(ctl *c, http_req *r, const char *arg);
void policy_route_reload(ctl *c, http_req *r, const char *arg);
void policy_route_add_member(ctl *c, http_req *r, const char *arg);
void policy_route_set_allocation(ctl *c, http_req *r, const char *arg);
void policy_route_set_account(ctl *c, http_req *r, const char *arg);
void policy_route_remove_member(ctl *c, http_req *r, const char *arg);

/* resv_api.c: operators' reservations. /v1/reservations[/NAME]; at startup
 * (after policy_init: project names need the center) the stored ones are
 * applied again (one that no longer fits the cluster is reported, skipped). */
void resv_route(ctl *c, http_req *r, const char *arg);
int resv_restore(ctl *c, char *err, size_t errlen);
void resv_destroy(ctl *c);
/* After the center changed: every reservation applied again (project names
 * resolve to the new center's accounts); one that no longer resolves is
 * reported and left out of the scheduler until the next change. */
void resv_reapply(ctl *c);

#endif
