/*
 * cgroup: CPU, memory and device limits of a job, and killing its whole
 * process tree, through Linux control groups.
 *
 *   v2  one directory ROOT/gpufleet/NAME: cpu.max, memory.max; cgroup.kill
 *       ends every process at once. (Device limits in v2 need an eBPF
 *       program: not done; CUDA_VISIBLE_DEVICES is the only fence there.)
 *   v1  one directory per controller, ROOT/{memory,cpu,devices}/gpufleet/NAME:
 *       memory.limit_in_bytes, cpu.cfs_quota_us, devices.deny for the
 *       /dev/nvidiaN of GPUs not allocated; killing reads cgroup.procs.
 *   none  no cgroup: the shepherd kills the job's process group and the
 *       orphans it reaps as a subreaper.
 *
 * The root ("/sys/fs/cgroup") is a parameter, so that tests run detection on
 * a fake tree. NAME is unique per node and launch ("emu003_12.0").
 */
#ifndef GPUFLEET_AGENT_CGROUP_H
#define GPUFLEET_AGENT_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cgroup_mode { CGROUP_NONE = 0, CGROUP_V1 = 1, CGROUP_V2 = 2 };

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_PARENT "gpufleet"
#define CGROUP_MAX_DIRS 3
#define CGROUP_PATH_MAX 512

/* Which hierarchy under root this process can use:
 *   CGROUP_V2    root/cgroup.controllers exists and root is writable;
 *   CGROUP_V1    root/memory/memory.limit_in_bytes exists and root/memory
 *                is writable (root/cpu is used when it is there too);
 *   CGROUP_NONE  otherwise, with the reason in note: "cgroup v2 at ROOT: not
 *                root", "...: read-only file system", "no cgroup hierarchy
 *                mounted at ROOT".
 * note also carries lesser limits of a usable mode ("no cpu controller").
 * Never fails. */
int cgroup_detect(const char *root, char *note, size_t notelen);

/* "v2", "v1", "none"; parse: -1 for anything else. */
const char *cgroup_mode_name(int mode);
int cgroup_mode_parse(const char *s);

/* A job's cgroup: its directories and their cgroup.procs paths, computed
 * up front so that a child between fork and exec joins it without
 * allocating. */
typedef struct cgroup_job {
    int mode;
    int ndirs;
    char dir[CGROUP_MAX_DIRS][CGROUP_PATH_MAX];
    char procs[CGROUP_MAX_DIRS][CGROUP_PATH_MAX + 16];
} cgroup_job;

/* Fills cg's paths for mode under root; touches nothing. For CGROUP_V1 only
 * the controllers mounted under root are used (memory first). 0, or -1 when
 * a path does not fit. CGROUP_NONE gives ndirs 0, and every function below
 * is then a no-op returning 0. */
int cgroup_job_init(cgroup_job *cg, int mode, const char *root, const char *name);

/* Makes the directories (and the gpufleet parent, enabling the cpu and
 * memory controllers there in v2) and sets the limits: cpus > 0 caps CPU
 * time at cpus whole CPUs, mem_mb > 0 caps memory; deny_minor[0..ndeny) are
 * the /dev/nvidiaN minors the job may not open (v1 only). An existing
 * directory is reused. 0, or -1 with a message in err. */
int cgroup_job_create(const cgroup_job *cg, int32_t cpus, int64_t mem_mb,
                      const int32_t *deny_minor, int ndeny, char *err, size_t errlen);

/* Moves pid (0: the caller) into every directory of cg. Async-signal-safe
 * (open, write, close): callable between fork and exec. 0 or -1 with errno. */
int cgroup_job_join(const cgroup_job *cg, pid_t pid);

/* Sends sig to every process in cg; returns how many were signalled (0 when
 * empty or none), -1 when cgroup.procs cannot be read. */
int cgroup_job_signal(const cgroup_job *cg, int sig);

/* SIGKILL for everything in cg: cgroup.kill on v2 when the kernel has it,
 * else cgroup_job_signal(SIGKILL). Returns as cgroup_job_signal (v2 with
 * cgroup.kill: 0 or -1). */
int cgroup_job_kill(const cgroup_job *cg);

/* 1 when no process is left in cg (or mode none), else 0. */
int cgroup_job_empty(const cgroup_job *cg);

/* Removes cg's directories; -1 with EBUSY while processes remain. */
int cgroup_job_remove(const cgroup_job *cg);

#endif
