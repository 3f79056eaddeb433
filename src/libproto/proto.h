/*
 * libproto: the agent <-> controller protocol (v1), one concern: turning its
 * messages into bytes and back, and authenticating them. Used by fleetd and
 * fleet-agent alike; knows nothing of either (a leaf over jansson and
 * libauth). The protocol itself is described in docs/agent-protocol.md.
 *
 * Transport: HTTP/1.1 on fleetd's API socket (Unix or TCP).
 *   POST /v1/agent/sync
 *     X-Fleet-Agent: <agent name>       (the agent process: a node name, or
 *                                        the emulator's name)
 *     X-Fleet-Nonce: <decimal uint64>   strictly increasing per agent name
 *     X-Fleet-MAC:   <64 hex digits>    proto_mac(key, PROTO_CTX_SYNC, nonce, body)
 *   200 with the reply body and
 *     X-Fleet-MAC:   proto_mac(key, PROTO_CTX_REPLY, nonce, reply body)
 *   401 { "error": ... } when the MAC, the nonce or the agent is refused.
 *
 * One sync carries the state of every node the agent serves (one for a real
 * agent, COUNT for an emulator) and, in its reply, every command for them.
 * The agent also long-polls with it: fleetd may hold a sync up to its
 * wait_ms and answers at once when it has commands. A later sync from the
 * same agent answers an earlier held one at once; replies carry a sequence
 * number per agent and an agent ignores the commands of a reply older than
 * one it has already applied (commands are repeated until the agent's
 * reports show them done, so nothing is lost by ignoring).
 *
 * Decoders validate everything: a missing or mistyped field, a negative
 * count, a node or job list over its bound is an error naming the field
 * ("nodes[2].running[0].job: not an integer"); nothing is half-applied.
 */
#ifndef GPUFLEET_PROTO_H
#define GPUFLEET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_CTX_SYNC "gpufleet/agent/sync/v1"
#define PROTO_CTX_REPLY "gpufleet/agent/sync-reply/v1"
#define PROTO_NAME_MAX 64        /* node and agent names, NUL included */
#define PROTO_MAX_GPUS 64        /* GPUs on one node */
#define PROTO_MAX_NODES 65536    /* nodes in one sync */
#define PROTO_MAX_BODY (64u << 20)

/* ---- what the agent says ------------------------------------------------- */

typedef struct proto_gpu {
    int32_t index;               /* the index CUDA_VISIBLE_DEVICES uses */
    char uuid[96];
    char name[96];
    int64_t mem_mb;
} proto_gpu;

typedef struct proto_inventory {
    int32_t gpus, cpus;
    int64_t mem_mb;
    char model[64];              /* "H100" ... */
    char addr[128];              /* how other nodes reach it (MASTER_ADDR) */
    char cgroup[8];              /* "v2", "v1" or "none" */
    char note[256];              /* e.g. why cgroups are unusable */
    char source[16];             /* "nvml", "config", "emulated" */
    int32_t ngpu;                /* entries in gpu */
    proto_gpu *gpu;
} proto_inventory;

typedef struct proto_running {
    int64_t job;
    int32_t run;                 /* the job's run number (its restarts count) */
    uint64_t gpus;               /* bit i: GPU index i on this node */
} proto_running;

enum proto_end_reason {
    PROTO_END_EXITED = 0,        /* exited by itself (exit_code, signal) */
    PROTO_END_TIMEOUT = 1,       /* killed at its time limit */
    PROTO_END_KILLED = 2,        /* killed on the controller's command */
    PROTO_END_LAUNCH_FAILED = 3, /* could not be started (message says why) */
    PROTO_END_PREEMPTED = 4,     /* preempted on the controller's command: the
                                    preemption signal, then SIGKILL at its grace */
};

typedef struct proto_ended {
    int64_t job;
    int32_t run;
    int32_t exit_code;           /* WEXITSTATUS, or 128 + signal */
    int32_t signal;              /* the signal that ended it, 0 if none */
    int32_t reason;              /* enum proto_end_reason */
    int64_t start, end;          /* unix seconds, as the node saw them */
    char message[256];
} proto_ended;

/* Output of a step's rank (fleet run), in order; data is text with invalid
 * UTF-8 replaced. */
typedef struct proto_output {
    int64_t job;
    int32_t step, rank;
    int32_t stream;              /* 1 stdout, 2 stderr */
    char *data; size_t len;
} proto_output;

typedef struct proto_rank_end {
    int64_t job;
    int32_t step, rank;
    int32_t exit_code;           /* as proto_ended */
    int32_t signal;
} proto_rank_end;

typedef struct proto_node_report {
    char name[PROTO_NAME_MAX];
    int has_inventory;           /* the first sync of an agent carries it */
    proto_inventory inv;
    int32_t nrunning; proto_running *running;
    int32_t nended; proto_ended *ended;
} proto_node_report;

typedef struct proto_sync {
    int32_t version;             /* PROTO_VERSION */
    char agent[PROTO_NAME_MAX];
    int64_t boot;                /* when the agent process started, unix s */
    int32_t wait_ms;             /* how long fleetd may hold it (0: answer now) */
    uint64_t last_seq;           /* seq of the newest reply applied (0: none) */
    int32_t nnodes; proto_node_report *nodes;
    int32_t noutput; proto_output *output;
    int32_t nrank_ends; proto_rank_end *rank_ends;
} proto_sync;

/* ---- what the controller says -------------------------------------------- */

typedef struct proto_launch {
    int64_t job;
    int32_t run;
    uint32_t uid, gid;
    char user[64];
    char name[128];
    char workdir[1024];
    char output[1024];           /* stdout path, patterns already expanded */
    char error[1024];            /* stderr path ("" = with stdout) */
    char *script;                /* the batch script (first node only, else NULL) */
    char **env; int32_t nenv;    /* "K=V" from the submission */
    uint64_t gpus;               /* GPU indices on this node (bit mask) */
    int32_t cpus;                /* CPUs on this node (0 = no limit) */
    int64_t mem_mb;              /* memory on this node (0 = no limit) */
    int64_t time_limit;          /* seconds from the start */
    int32_t kill_grace;          /* seconds between SIGTERM and SIGKILL */
    char *nodelist;              /* all nodes of the job, comma-separated */
    int32_t node_rank, nnodes;   /* this node's place in the job */
    int32_t total_gpus;          /* GPUs of the whole job */
    int64_t array_job_id;        /* 0: not an array task */
    int32_t array_task_id;       /* -1: not an array task */
    char controller[256];        /* how fleet inside the job reaches fleetd
                                    ("unix:/path" or "HOST:PORT"), for FLEET_SOCKET/FLEET_URL */
} proto_launch;

typedef struct proto_kill {
    int64_t job;
    int32_t run;
    int32_t reason;              /* PROTO_END_KILLED, PROTO_END_TIMEOUT or PROTO_END_PREEMPTED */
    int32_t signal;              /* PREEMPTED only: the signal sent first (1..64) */
    int32_t grace;               /* PREEMPTED only: seconds from now until SIGKILL */
} proto_kill;

typedef struct proto_step_rank {
    int32_t rank, local_rank;
    uint64_t gpus;               /* its GPUs on this node (per-GPU ranks: one) */
} proto_step_rank;

/* Start the ranks of a step (fleet run) that live on this node. */
typedef struct proto_step {
    int64_t job;
    int32_t run, step;
    char **argv; int32_t argc;
    char **env; int32_t nenv;    /* extra "K=V" from fleet run */
    int32_t world_size;
    char master_addr[128];
    int32_t master_port;
    int32_t nranks; proto_step_rank *ranks;
} proto_step;

typedef struct proto_step_kill {
    int64_t job;
    int32_t step;
} proto_step_kill;

typedef struct proto_node_cmds {
    char name[PROTO_NAME_MAX];
    int32_t state;               /* 0 up, 1 drain, 2 down (as libsched) */
    char error[256];             /* non-empty: this node is refused (unknown name, ...) */
    int32_t nack; proto_running *ack;   /* ended jobs now durable: forget them (gpus unused) */
    int32_t nlaunch; proto_launch *launch;
    int32_t nkill; proto_kill *kill;
    int32_t nsteps; proto_step *steps;
    int32_t nstep_kills; proto_step_kill *step_kills;
} proto_node_cmds;

typedef struct proto_reply {
    uint64_t seq;                /* per agent, increasing */
    int32_t heartbeat_ms;        /* sync at least this often */
    int32_t nnodes; proto_node_cmds *nodes;
} proto_reply;

/* ---- codec -------------------------------------------------------------- */

/* Encode: a malloc'd JSON text (NUL-terminated) and its length; NULL only
 * when memory runs out. */
char *proto_sync_encode(const proto_sync *m, size_t *len);
char *proto_reply_encode(const proto_reply *m, size_t *len);

/* Decode: 0, or -1 with the field at fault in err ("nodes[0].name: missing").
 * On success *m owns its memory (free with the matching _free); on failure
 * *m is left empty.
 * err is "PATH: reason"; PATH has no spaces, so a 400's "field" is the text
 * before the first ": ". Errors of the body as a whole (not JSON, not an
 * object, over PROTO_MAX_BODY) name no field and have a space before their
 * first colon. Unknown keys are ignored (forward compatibility). A decoded
 * output's data is also NUL-terminated (len does not count it). */
int proto_sync_decode(const char *buf, size_t len, proto_sync *m, char *err, size_t errlen);
int proto_reply_decode(const char *buf, size_t len, proto_reply *m, char *err, size_t errlen);

void proto_sync_free(proto_sync *m);
void proto_reply_free(proto_reply *m);
void proto_launch_free(proto_launch *l);   /* the strings of one launch */
void proto_step_free(proto_step *st);

/* ---- authentication ------------------------------------------------------ */

/* hex = 64 lowercase hex digits + NUL of HMAC-SHA256 over context, nonce, body
 * (auth_mac underneath). */
void proto_mac_hex(const uint8_t key[32], const char *context, uint64_t nonce, const void *body,
                   size_t len, char hex[65]);
/* 0 when hex is the right MAC (constant time), -1 otherwise (also for
 * malformed hex). */
int proto_mac_check(const uint8_t key[32], const char *context, uint64_t nonce, const void *body,
                    size_t len, const char *hex);
/* A nonce from a decimal header; -1 when malformed. */
int proto_nonce_parse(const char *s, uint64_t *nonce);

/* GPU masks as the text CUDA_VISIBLE_DEVICES takes: "0,1,5" (out >= 200 bytes). */
void proto_gpus_format(uint64_t gpus, char *out, size_t outlen);

#endif
