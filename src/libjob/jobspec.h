/*
 * libjob: a job request, as the user states it.
 *
 * A jobspec is what `fleet submit` builds from a batch script ('#SBATCH' and
 * '#FLEET' directives) and command-line options, and what the controller
 * (fleetd) receives as JSON over its HTTP API. Users come from Slurm, so the
 * option names, short letters and value syntaxes are Slurm's.
 *
 * The library is a leaf: it knows nothing of libsched, libtrace or the
 * simulator. It keeps no global mutable state, never aborts on bad input,
 * and every failure returns -1 with a message, in a buffer the caller gives,
 * that names the option, directive line or JSON key at fault and the reason.
 *
 * Building a job is two steps: apply options in order (script directives
 * first, then the command line, so the command line wins as with sbatch),
 * then call jobspec_finalize() once, which derives the GPU shape and checks
 * the job is complete. jobspec_from_json() does both.
 */
#ifndef GPUFLEET_JOBSPEC_H
#define GPUFLEET_JOBSPEC_H

#include <stddef.h>
#include <stdint.h>

enum job_dep_type { JOB_DEP_AFTEROK = 1, JOB_DEP_AFTERANY, JOB_DEP_AFTERNOTOK, JOB_DEP_SINGLETON };

typedef struct job_dep {
    int type;       /* enum job_dep_type */
    int64_t job_id; /* 0 for singleton */
} job_dep;

#define JOBSPEC_MAX_DEPS 64

/* Limits on values. Anything beyond is a typo or an attack, not a job. */
#define JOBSPEC_COUNT_MAX 100000                      /* gpus, nodes, per-node and per-GPU counts */
#define JOBSPEC_TIME_MAX (365LL * 24 * 3600)          /* time limit, seconds; also UNLIMITED */
#define JOBSPEC_MEM_MAX_MB (64LL * 1024 * 1024)       /* 64 TiB per GPU */
#define JOBSPEC_SCRIPT_MAX (1024 * 1024)              /* script and --wrap, bytes */
#define JOBSPEC_ENV_MAX 4096                          /* variables */
#define JOBSPEC_ENV_VALUE_MAX (128 * 1024)            /* bytes of one value (Linux's own limit) */
#define JOBSPEC_JSON_MAX (16 * 1024 * 1024)           /* a request body, bytes */
#define JOBSPEC_ARRAY_TASKS_MAX 100000                /* tasks of one array */
#define JOBSPEC_ARRAY_ID_MAX 10000000                 /* largest array task id */
#define JOBSPEC_DIRECTIVES_MAX 1000                   /* options in one script's directives */
#define JOBSPEC_ERRLEN 256                            /* a good size for error buffers */

typedef struct jobspec {
    char name[128];        /* --job-name; default "" (fleetd names it after the script) */
    char account[64];      /* --account (project) */
    char qos[32];          /* --qos */
    char pool[128];        /* --pool / --partition: pool name(s) '|'-separated; "" = any */
    int32_t gpus;          /* --gpus N (total); see jobspec_finalize() for the shape rules */
    int32_t nodes;         /* --nodes / -N */
    int32_t gpus_per_node; /* --gpus-per-node, --gres=gpu:N */
    int32_t cpus_per_gpu;  /* --cpus-per-gpu */
    int64_t mem_per_gpu_mb;/* --mem-per-gpu (units K/M/G/T, default M as Slurm) */
    int64_t time_limit;    /* --time / -t, seconds; 0 = not given (fleetd applies a default) */
    char workdir[1024];    /* --chdir / -D */
    char output[1024];     /* --output / -o (Slurm patterns %j %A %a %x %u kept verbatim) */
    char error[1024];      /* --error / -e */
    char *script;          /* the batch script text (malloc'd), or NULL */
    char *wrap;            /* --wrap command (malloc'd), or NULL */
    char **env; size_t nenv;      /* "KEY=VALUE" strings (malloc'd), keys unique */
    char array_spec[256];  /* --array as given, "" if none */
    int64_t *array_ids; size_t narray; /* expanded task ids (malloc'd), ascending, unique */
    int32_t array_max_running;   /* the %N of --array, 0 = no limit */
    job_dep deps[JOBSPEC_MAX_DEPS]; size_t ndeps; /* --dependency */
    int hold;              /* --hold */
    int no_requeue;        /* --no-requeue */
    int exclusive;         /* --exclusive: whole nodes */
} jobspec;

/* ---- the struct ------------------------------------------------------- */

/* Makes j an empty request: every field 0, "" or NULL. */
void jobspec_init(jobspec *j);

/* Frees script, wrap, env and array_ids, then re-initializes j, so j may be
 * reused at once. Safe on an initialized or already freed jobspec. */
void jobspec_free(jobspec *j);

/* Deep copy of src into dst. dst must own no memory (fresh from
 * jobspec_init() or jobspec_free()); it is overwritten. Returns 0, or -1 when
 * memory runs out, with dst left empty (initialized). */
int jobspec_copy(jobspec *dst, const jobspec *src);

/* ---- options ---------------------------------------------------------- */

/*
 * Applies one option by its name without dashes, as the CLI and directives
 * use them (a one-letter name is the short option):
 *
 *   gpus G         total GPUs                    gres gpu[:TYPE][:N]  GPUs per node (TYPE ignored)
 *   nodes N        nodes (whole or gang)         gpus-per-node        GPUs per node
 *   cpus-per-gpu   CPUs per GPU                  mem-per-gpu          memory per GPU, K/M/G/T, M default
 *   time t         time limit (parse_duration)   pool partition p     pool(s), ',' or '|' separated
 *   account A      account (project)             qos q                quality of service
 *   job-name J     name                          output o, error e    paths, Slurm patterns verbatim
 *   chdir D        working directory             array a              parse_array()
 *   dependency d   parse_dependency()            export               KEY=VALUE[,KEY=VALUE...]
 *   wrap           command to run, no script     hold H, no-requeue, requeue, exclusive: flags
 *   G = gpus, N = nodes
 *
 * Flags take val NULL; every other option needs a non-empty val. Harmless
 * Slurm options that gpufleet does not use are accepted and ignored, after a
 * check of their syntax: ntasks n, ntasks-per-node, cpus-per-task c (counts),
 * mem (a memory size), mail-type, mail-user, constraint C (any text).
 * --export accepts ALL and NONE for Slurm scripts and ignores them: the
 * environment of a job is the controller's policy, plus the listed variables.
 * A later option overrides an earlier one; --export adds to the environment.
 *
 * Values are validated: counts 1..100000, time 1 s .. 365 days, memory
 * 1 MB .. 64 TiB, names (pool, account, qos) without blanks, ',' or '|',
 * no control characters anywhere, valid UTF-8, and lengths within the field.
 *
 * Returns 0, or -1 with "--NAME: reason" (or "-X: reason") in err, e.g.
 * "--time: invalid duration \"abc\"", or "unknown option --frob". On error j
 * is unchanged, except that a failing --export may have set some variables.
 */
int jobspec_set_option(jobspec *j, const char *name, const char *val, char *err, size_t errlen);

/* As jobspec_set_option(), but the message is the reason alone, without the
 * option name ("invalid duration \"abc\""; an unknown option still says
 * "unknown option --frob"): for callers that show the option their own way,
 * like the batch script parser. */
int jobspec_apply_option(jobspec *j, const char *name, const char *val, char *reason,
                         size_t reasonlen);

/* Whether option `name` (without dashes) takes a value: 1 if it does, 0 for a
 * flag, -1 if it is unknown. Lets a command-line parser know whether
 * "--hold x" has consumed x. */
int jobspec_option_takes_value(const char *name);

/* Sets (or replaces) environment variable key to value. key must be a shell
 * name ([A-Za-z_][A-Za-z0-9_]*) of at most 255 bytes; value valid UTF-8 of
 * at most JOBSPEC_ENV_VALUE_MAX bytes; at most JOBSPEC_ENV_MAX variables. Returns 0, or -1 with
 * the reason in err (out of memory included). */
int jobspec_setenv(jobspec *j, const char *key, const char *value, char *err, size_t errlen);

/* Value of environment variable key (not NULL) in j, or NULL. Points into
 * j->env: valid until j changes. */
const char *jobspec_getenv(const jobspec *j, const char *key);

/*
 * Completes a job once every option is applied; call it exactly once per
 * set of options (jobspec_from_json() calls it itself). It is idempotent on
 * its own output, so a finalized jobspec read back from JSON is unchanged.
 *
 * Checks: exactly one of script and wrap; at least one GPU (gpus >= 1 or
 * nodes >= 1). Then derives the GPU shape, which ends as one of
 *   nodes = 0, gpus_per_node = 0, gpus >= 1:  a total GPU count;
 *   nodes >= 1, gpus_per_node >= 1, gpus = nodes x gpus_per_node: a gang;
 *   nodes >= 1, gpus_per_node = 0, gpus = 0:   whole nodes.
 * Rules (Slurm's, where Slurm has one):
 *   gpus-per-node without nodes:  nodes = gpus / gpus_per_node (must divide),
 *                                 or 1 node when gpus is not given;
 *   gpus with nodes and no gpus-per-node: spread evenly (must divide, and
 *                                 gpus >= nodes);
 *   all three given: gpus must equal nodes x gpus_per_node.
 * The product must not exceed JOBSPEC_COUNT_MAX.
 *
 * Returns 0, or -1 with the field at fault (a JSON key: "script", "wrap",
 * "gpus", "nodes", "gpus_per_node") in field and the reason in err. field may
 * be NULL: then err reads "FIELD: reason".
 */
int jobspec_finalize(jobspec *j, char *field, size_t fieldlen, char *err, size_t errlen);

/* ---- batch scripts ---------------------------------------------------- */

/*
 * Parses a batch script of len bytes (no NUL terminator needed). The script
 * must start with "#!" and be at most 1 MiB of valid UTF-8 with no NUL byte.
 * '#SBATCH' and '#FLEET' directive lines are read at the top: before the
 * first line that is not blank and not a comment (lines whose first non-blank
 * character is '#'; the '#!' line is one). A directive holds one or more
 * options, "--opt=value", "--opt value", "-X value" or "-Xvalue", with values
 * quoted as in the shell ('...' or "..." with \" and \\ escapes); an unquoted
 * '#' starting a word begins a comment. Directives after the first command
 * are ignored, as sbatch does; so is a comment such as "# SBATCH" or
 * "#SBATCHX". Options apply in order through jobspec_apply_option(), so a
 * later directive overrides an earlier one; at most JOBSPEC_DIRECTIVES_MAX
 * options in all.
 *
 * Sets j->script to a copy of the text (replacing any). Does not call
 * jobspec_finalize(): the caller applies command-line options first.
 * Returns 0, or -1 with a message naming the line and the option as written,
 * e.g. "script:4: #SBATCH --time=abc: invalid duration \"abc\"",
 * "script:1: a batch script must start with #! (e.g. #!/bin/bash)" or
 * "script: larger than 1 MiB". On error j holds the options applied before
 * the fault, j->script untouched; jobspec_free() it as usual.
 */
int batch_parse(const char *text, size_t len, jobspec *j, char *err, size_t errlen);

/* ---- JSON ------------------------------------------------------------- */

/*
 * Strict JSON -> jobspec for the HTTP API. The body (at most 16 MiB) must be
 * a JSON object whose keys are the option long names with '_' for '-':
 *   gpus, nodes, gpus_per_node, cpus_per_gpu (integers, 1..100000),
 *   mem_per_gpu_mb (integer, 1..64 TiB in MB), time_limit (integer seconds,
 *   1..365 days), pool, account, qos, name, workdir, output, error, script,
 *   wrap (strings, rules as for the options), env (object of strings),
 *   array (string, as --array), dependency (string, as --dependency),
 *   hold, no_requeue, exclusive (booleans).
 * A key present means a value given: leave it out for the default. Unknown
 * or repeated keys, wrong types and out-of-range values are errors. Then
 * jobspec_finalize() runs, so a job needs script or wrap (not both) and at
 * least one GPU.
 *
 * j must own no memory (fresh from jobspec_init() or jobspec_free()). Returns
 * 0, or -1 with the key at fault in field ("" when it is the body as a whole)
 * and the reason in err; j is then left empty. err may be NULL; so may field,
 * and then err reads "KEY: reason" where there is a key at fault.
 */
int jobspec_from_json(const char *text, size_t len, jobspec *j, char *field, size_t fieldlen,
                      char *err, size_t errlen);

/* Compact JSON of j, malloc'd (the caller frees it), with the keys of
 * jobspec_from_json() for every field that is set. A jobspec that
 * jobspec_finalize() accepted round-trips: jobspec_from_json() of the result
 * gives the same jobspec. Returns NULL when memory runs out or a string field
 * set directly by the caller is not valid UTF-8. */
char *jobspec_to_json(const jobspec *j);

/* ---- units ------------------------------------------------------------ */

/* A duration in Slurm's forms: "MM", "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM",
 * "D-HH:MM:SS" (components after the first: minutes and seconds 0..59, hours
 * after a day 0..23), or a number with one unit "90s", "45m", "2h", "1d";
 * "UNLIMITED" / "infinite" (any case) = 365 days. No blanks, no signs.
 * Returns 0 with *seconds set (0 is possible: "0"), or -1 if s is not a
 * duration or exceeds 10^12 seconds; *seconds is then untouched. */
int parse_duration(const char *s, int64_t *seconds);

/* A memory size in MB: "512", "512M", "16G", "1T", "1024K" (the unit in any
 * case; K rounds up to whole MB). Returns 0 with *mb set (0 is possible), or
 * -1 if s is not a size or exceeds 2^50 MB; *mb is then untouched. */
int parse_mem_mb(const char *s, int64_t *mb);

/* An array spec: comma-separated "A", "A-B" or "A-B:STEP" elements, then an
 * optional "%N" limit on tasks running at once: "0-99", "1,3,5-7", "0-15:4",
 * "0-99%10". Ids 0..10^7, at most 100000 tasks listed. On success *ids is a
 * malloc'd array (the caller frees it) of *n ascending ids, repeats merged,
 * and *max_running the %N (0 when absent); returns 0. Returns -1 on a bad
 * spec, with *ids = NULL, *n = 0. */
int parse_array(const char *s, int64_t **ids, size_t *n, int32_t *max_running);
/* The same, with the reason for a failure in err. */
int parse_array_err(const char *s, int64_t **ids, size_t *n, int32_t *max_running, char *err,
                    size_t errlen);

/* A dependency spec as --dependency: comma-separated "afterok:ID[:ID...]",
 * "afterany:...", "afternotok:...", "singleton", into deps[0..max). Ids are
 * positive integers. Slurm's '?' (any of) and its other types (after,
 * aftercorr, afterburstbuffer) are errors "not supported". Returns 0 with
 * *n entries written, or -1 with *n = 0. */
int parse_dependency(const char *s, job_dep *deps, size_t max, size_t *n);
/* The same, with the reason for a failure in err. */
int parse_dependency_err(const char *s, job_dep *deps, size_t max, size_t *n, char *err,
                         size_t errlen);

/* Writes deps as a spec that parse_dependency() reads back to the same list,
 * runs of one type joined: "afterok:12:13,afterany:14". Returns 0, or -1 if
 * it does not fit in len bytes or a type is unknown (buf then holds ""). 
 * JOBSPEC_MAX_DEPS entries always fit in JOBSPEC_DEP_STRLEN bytes. */
#define JOBSPEC_DEP_STRLEN 2048
int format_dependency(const job_dep *deps, size_t n, char *buf, size_t len);

/* Writes "D-HH:MM:SS" when seconds is a day or more, else "HH:MM:SS"; both
 * read back by parse_duration(). A negative value is written "00:00:00".
 * Truncates to fit len (len 0 writes nothing). */
void format_duration(int64_t seconds, char *buf, size_t len);

/* Offset of the first byte of s[0..n) that does not belong to valid UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF: what JSON
 * carries), or n when all of it is valid. */
size_t jobspec_utf8_check(const char *s, size_t n);

/* Renders bytes s[0..n) for an error message: in double quotes, at most max
 * bytes of input then "...", with control bytes, non-ASCII bytes, '"' and
 * '\\' written as \xNN so a binary input cannot garble a terminal. Needs
 * dstlen >= 8; 4 * max + 16 always suffices. */
void jobspec_quote(char *dst, size_t dstlen, const char *s, size_t n, size_t max);

#endif
