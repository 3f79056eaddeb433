/*
 * agent: fleet-agent's state, shared by its parts. One libuv loop owns it.
 *
 *   main.c       options, start, signals, stop
 *   inventory.c  what a node has: GPUs (NVML, configured, emulated), CPUs,
 *                memory, address, cgroup mode
 *   sync.c       the sync loop with fleetd: long polls, immediate syncs for
 *                news, MACs, nonces, replies applied in order
 *   exec.c       jobs on the agent's side: launches, kills, ends, acks,
 *                tombstones, adoption of running shepherds after a restart
 *   shepherd.c   the per-job shepherd process (fleet-agent --shepherd DIR)
 *   step.c       steps of fleet run: ranks started, output streamed
 *   httpc.c, spool.c, cgroup.c, jobenv.c, util.c: the helpers they use
 *
 * A real agent serves one node; an emulator (--emulate COUNT) serves COUNT
 * nodes in one process over the same protocol: every structure here is per
 * node, and per-sync work is linear in nodes plus jobs.
 */
#ifndef GPUFLEET_AGENT_H
#define GPUFLEET_AGENT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "cgroup.h"
#include "httpc.h"
#include "proto.h"
#include "spool.h"

/* Per-boot state (jobs die with the machine; fleetd requeues them after the
 * node timeout), so a tmpfs: each job creates and deletes a few files, cheap
 * there, while a disk without a journal pays ext4's search for inodes not
 * recently deleted on every creation. */
#define AGENT_DEFAULT_SPOOL "/run/gpufleet/spool"
#define AGENT_DEFAULT_HEARTBEAT_MS 1000
/* The longest preemption grace a shepherd is told (it travels in 23 bits of
 * the value of a queued signal; see shepherd.c): about 97 days. */
#define SHEPHERD_GRACE_MAX 0x7fffff

typedef struct agent agent;
typedef struct anode anode;
typedef struct ajob ajob;
typedef struct astep astep;

typedef struct agent_opts {
    const char *controller;     /* "unix:PATH" or "HOST:PORT" */
    const char *key_file;
    const char *name;           /* node name, or the emulated nodes' prefix */
    const char *agent_name;     /* X-Fleet-Agent; NULL: derived */
    const char *spool;
    const char *addr;
    const char *cgroup_root;
    const char *cgroup_mode;    /* "auto", "v2", "v1", "none" */
    int allow_root;
    int gpus;                   /* -1: not given */
    const char *gpu_model;
    int64_t gpu_mem_mb;
    int cpus;                   /* 0: sysconf */
    int64_t mem_mb;             /* 0: sysinfo */
    int emulate;                /* 0: a real node */
    int gpus_per_node;
    int first;
    int heartbeat_ms;
} agent_opts;

enum ajob_state { AJOB_RUNNING, AJOB_ENDED };

/* One launch (job, run) on one node, from launch to acknowledged end. */
struct ajob {
    anode *node;
    ajob *next, *prev;          /* in the node's list */
    ajob *poll_next;            /* in the agent's list of adopted shepherds */
    int64_t job;
    int32_t run;
    uint64_t gpus;
    int gpus_unknown;           /* adopted before launch.json was written */
    int state;                  /* enum ajob_state */
    char *dir;                  /* SPOOL/NODE/JOB.RUN */
    pid_t shepherd;             /* 0 while unknown (adopted before it wrote its pid) */
    uint64_t shep_start;
    uv_process_t *proc;         /* our child; NULL when adopted */
    int adopted;
    int64_t kill_sent_ms;       /* mono ms of the last signal to the shepherd, 0 none */
    proto_ended end;            /* when AJOB_ENDED */
    astep *steps;               /* steps of fleet run on this node */
};

/* A tombstone: (node, job, run) acknowledged as ended, remembered for
 * SPOOL_TOMB_S so that a late repeat of its launch is never run. In a hash
 * table (hnext) and a FIFO by expiry (fnext). */
typedef struct atomb {
    int32_t node;
    int32_t run;
    int64_t job;
    int64_t expires;            /* unix s */
    struct atomb *hnext, *fnext;
} atomb;

struct anode {
    agent *a;
    int32_t idx;
    char name[PROTO_NAME_MAX];
    char *spool;                /* SPOOL/NAME */
    proto_inventory inv;        /* inv.gpu points at gpu */
    proto_gpu *gpu;
    int32_t gpu_minor[PROTO_MAX_GPUS];
    int need_inv;               /* send the inventory until a reply accepts it */
    uint64_t need_inv_since;    /* the first request id that carried it */
    char error[256];            /* fleetd's last refusal of this node ("" none) */
    int state;                  /* 0 up, 1 drain, 2 down, as fleetd says */
    ajob *jobs;
    int32_t njobs, nended;
};

struct agent {
    uv_loop_t *loop;
    agent_opts o;
    uint8_t key[32];
    char name[PROTO_NAME_MAX];  /* X-Fleet-Agent */
    char self_exe[PATH_MAX];    /* for the shepherds: /proc/self/exe resolved */
    int64_t boot;
    int spool_lock;             /* fd of SPOOL/agent.lock */
    int cg_mode;
    char cg_note[256];
    int real_gpus;              /* GPUs from NVML: device limits apply */
    anode *nodes;
    int32_t nnodes;
    /* node names -> index (open addressing, size a power of two) */
    int32_t *name_tab;
    uint32_t name_mask;
    /* tombstones */
    atomb **tomb_tab;           /* buckets, a power of two */
    size_t tomb_cap, ntombs;
    atomb *tomb_head, *tomb_tail;
    /* shepherds adopted after a restart, polled (not our children) */
    ajob *polled;
    uv_timer_t poll_timer, tomb_timer;
    uv_signal_t sigint, sigterm;
    int stopping;
    /* the sync client (sync.c) */
    struct agent_sync *sync;
    /* steps (step.c) */
    struct agent_steps *steps;
};

/* ---- inventory.c ---- */
/* Fills every node's inventory (NVML, configured or emulated GPUs; CPUs,
 * memory, address, cgroup mode). 0, or -1 with a message in err. */
int inventory_probe(agent *a, char *err, size_t errlen);

/* ---- exec.c ---- */
/* Scans every node's spool: live shepherds adopted, finished jobs reported,
 * unfinished records completed, tombstones loaded. 0 or -1 with err. */
int exec_init(agent *a, char *err, size_t errlen);
/* The commands of a reply; each returns 1 when it changed something, 0 for
 * a repeat of a command already carried out (fleetd repeats them until the
 * reports show them done). */
int exec_launch(anode *n, const proto_launch *l);
int exec_kill(anode *n, const proto_kill *k);
int exec_ack(anode *n, int64_t job, int32_t run);
/* The job (job, run) on n, or NULL. */
ajob *exec_find(anode *n, int64_t job, int32_t run);
/* Closes handles at stop (the jobs keep running). */
void exec_shutdown(agent *a);

/* ---- sync.c ---- */
int sync_start(agent *a, char *err, size_t errlen);
/* Something to report (a job ended, output): an immediate sync soon. */
void sync_news(agent *a);
/* Stops syncing; pending requests are dropped. sync_free once the loop has
 * closed the handles. */
void sync_stop(agent *a);
void sync_free(agent *a);

/* ---- step.c ---- */
void step_init(agent *a);
int step_start(anode *n, const proto_step *st);
int step_kill(anode *n, const proto_step_kill *k);
/* The job is over on this node: kill what is left of its steps. */
void step_job_ended(ajob *j);
/* Output and rank ends for the next sync; taken: freed by the caller's
 * step_sync_done(id, ok). */
void step_sync_take(agent *a, uint64_t id, proto_sync *m);
void step_sync_done(agent *a, uint64_t id, int ok);
void step_shutdown(agent *a);
void step_free(agent *a);

/* ---- shepherd.c ---- */
/* The shepherd process: runs the launch in dir to its end; the exit status
 * of fleet-agent --shepherd DIR. */
int shepherd_main(const char *dir);
/* The rank starter: fleet-agent --rank JOBDIR INDEX, the step on stdin;
 * execs rank INDEX of the step (returns only on failure: 127). */
int rank_exec_main(const char *dir, int index);

/* ---- main.c ---- */
anode *agent_node(agent *a, const char *name);

#endif
