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

/* api.c */
void api_reply_submitted(ctl *c, http_req *r, const ctl_sub *subs, size_t nsubs, size_t first);

#endif
