/*
 * jobspec: the job request struct, its options and its JSON form.
 *
 * Every way into a jobspec (a directive, a command-line option, a JSON key)
 * goes through the same setters, so a value that one path refuses, every
 * path refuses, and a jobspec written as JSON reads back the same.
 */
#include "jobspec.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_KEY_MAX 255

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Copies src into a field buffer: the JSON key or name at fault may be any
 * text, and the caller will show or re-encode it, so control bytes become
 * '?' and a cut never splits a UTF-8 sequence. */
static void set_field(char *field, size_t fieldlen, const char *src)
{
    if (!field || fieldlen == 0)
        return;
    size_t n = strlen(src);
    if (n >= fieldlen) {
        n = fieldlen - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--; /* back to the start of the sequence that did not fit */
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        field[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    field[n] = '\0';
}

size_t jobspec_utf8_check(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i; /* a continuation byte first, 0xc0/0xc1 (overlong) or > 0xf4 */
        }
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

/* ---- the struct ------------------------------------------------------- */

void jobspec_init(jobspec *j)
{
    memset(j, 0, sizeof *j);
}

void jobspec_free(jobspec *j)
{
    if (!j)
        return;
    free(j->script);
    free(j->wrap);
    for (size_t i = 0; i < j->nenv; i++)
        free(j->env[i]);
    free(j->env);
    free(j->array_ids);
    jobspec_init(j);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int jobspec_copy(jobspec *dst, const jobspec *src)
{
    *dst = *src;
    dst->script = NULL;
    dst->wrap = NULL;
    dst->env = NULL;
    dst->nenv = 0;
    dst->array_ids = NULL;
    dst->narray = 0;
    if (src->script && !(dst->script = dup_str(src->script)))
        goto oom;
    if (src->wrap && !(dst->wrap = dup_str(src->wrap)))
        goto oom;
    if (src->nenv > 0) {
        dst->env = calloc(src->nenv, sizeof *dst->env);
        if (!dst->env)
            goto oom;
        for (size_t i = 0; i < src->nenv; i++) {
            if (!(dst->env[i] = dup_str(src->env[i])))
                goto oom;
            dst->nenv = i + 1;
        }
    }
    if (src->narray > 0) {
        dst->array_ids = malloc(src->narray * sizeof *dst->array_ids);
        if (!dst->array_ids)
            goto oom;
        memcpy(dst->array_ids, src->array_ids, src->narray * sizeof *dst->array_ids);
        dst->narray = src->narray;
    }
    return 0;
oom:
    jobspec_free(dst);
    return -1;
}

/* ---- value checks ------------------------------------------------------ */

/* Text any field may hold: valid UTF-8 (it must go into JSON) and, unless
 * allowed, no control bytes (they would garble listings and logs). */
static int check_text(const char *val, int allow_control, char *reason, size_t rl)
{
    size_t n = strlen(val);
    size_t bad = jobspec_utf8_check(val, n);
    char q[160];
    if (bad < n) {
        jobspec_quote(q, sizeof q, val, n, 32);
        fail(reason, rl, "not valid UTF-8 at byte %zu of %s", bad, q);
        return -1;
    }
    for (size_t i = 0; !allow_control && i < n; i++) {
        unsigned char c = (unsigned char)val[i];
        if (c < 0x20 || c == 0x7f) {
            jobspec_quote(q, sizeof q, val, n, 32);
            fail(reason, rl, "contains a control character: %s", q);
            return -1;
        }
    }
    return 0;
}

/* Copies text into a fixed field, refusing (not truncating) what is too long. */
static int set_text(char *dst, size_t dstlen, const char *val, char *reason, size_t rl)
{
    if (check_text(val, 0, reason, rl) != 0)
        return -1;
    size_t n = strlen(val);
    if (n >= dstlen) {
        fail(reason, rl, "longer than %zu bytes", dstlen - 1);
        return -1;
    }
    memcpy(dst, val, n + 1);
    return 0;
}

/* A name other things refer to (pool, account, qos): the rule of the
 * cluster description, no blanks, ',' (the CSV separator) or '|' (the pool
 * list separator). */
static int check_name(const char *s, size_t n, char *reason, size_t rl)
{
    char q[160];
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '|') {
            jobspec_quote(q, sizeof q, s, n, 32);
            fail(reason, rl, "a name may not contain blanks, ',' or '|': %s", q);
            return -1;
        }
    }
    return 0;
}

static int set_name(char *dst, size_t dstlen, const char *val, char *reason, size_t rl)
{
    if (check_text(val, 0, reason, rl) != 0 || check_name(val, strlen(val), reason, rl) != 0)
        return -1;
    return set_text(dst, dstlen, val, reason, rl);
}

/* A whole number lo..hi, digits only. */
static int parse_count(const char *val, int64_t lo, int64_t hi, int64_t *out, char *reason,
                       size_t rl)
{
    char q[160];
    int64_t v = 0;
    const char *p = val;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > hi)
            break;
    }
    if (p == val || (*p != '\0' && v <= hi)) {
        jobspec_quote(q, sizeof q, val, strlen(val), 32);
        fail(reason, rl, "invalid count %s (a whole number %" PRId64 "..%" PRId64 ")", q, lo, hi);
        return -1;
    }
    if (v > hi || v < lo) {
        jobspec_quote(q, sizeof q, val, strlen(val), 32);
        fail(reason, rl, "%s is out of range %" PRId64 "..%" PRId64, q, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int set_count32(int32_t *dst, const char *val, char *reason, size_t rl)
{
    int64_t v;
    if (parse_count(val, 1, JOBSPEC_COUNT_MAX, &v, reason, rl) != 0)
        return -1;
    *dst = (int32_t)v;
    return 0;
}

static int check_time(int64_t v, const char *shown, char *reason, size_t rl)
{
    if (v < 1) {
        fail(reason, rl, "%s: a time limit must be at least 1 second (UNLIMITED for the "
                         "longest)", shown);
        return -1;
    }
    if (v > JOBSPEC_TIME_MAX) {
        fail(reason, rl, "%s is more than 365 days", shown);
        return -1;
    }
    return 0;
}

static int check_mem(int64_t v, const char *shown, char *reason, size_t rl)
{
    if (v < 1) {
        fail(reason, rl, "%s: memory per GPU must be at least 1 MB", shown);
        return -1;
    }
    if (v > JOBSPEC_MEM_MAX_MB) {
        fail(reason, rl, "%s is more than 64 TiB", shown);
        return -1;
    }
    return 0;
}

/* ---- setters shared by options and JSON -------------------------------- */

static int set_time(jobspec *j, const char *val, char *reason, size_t rl)
{
    char q[160];
    int64_t v;
    jobspec_quote(q, sizeof q, val, strlen(val), 32);
    if (parse_duration(val, &v) != 0) {
        fail(reason, rl, "invalid duration %s", q);
        return -1;
    }
    if (check_time(v, q, reason, rl) != 0)
        return -1;
    j->time_limit = v;
    return 0;
}

static int set_mem(int64_t *dst, const char *val, int check, char *reason, size_t rl)
{
    char q[160];
    int64_t v;
    jobspec_quote(q, sizeof q, val, strlen(val), 32);
    if (parse_mem_mb(val, &v) != 0) {
        fail(reason, rl, "invalid memory size %s", q);
        return -1;
    }
    if (check && check_mem(v, q, reason, rl) != 0)
        return -1;
    if (dst)
        *dst = v;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* --gres: comma-separated resources; gpufleet knows only "gpu", "gpu:N",
 * "gpu:TYPE" and "gpu:TYPE:N", N GPUs per node (1 if absent). The type is
 * Slurm's GPU model name; it is not taken as a pool, since pool names are the
 * site's and need not match (--pool says which). Any other resource is an
 * error rather than silently dropped: the job would run without it. */
static int set_gres(jobspec *j, const char *val, char *reason, size_t rl)
{
    int64_t count = -1;
    char q[160];
    if (check_text(val, 0, reason, rl) != 0)
        return -1;
    for (const char *p = val;;) {
        size_t n = strcspn(p, ",");
        size_t name_len = strcspn(p, ":,");
        if (name_len != 3 || strncmp(p, "gpu", 3) != 0) {
            jobspec_quote(q, sizeof q, p, name_len, 32);
            fail(reason, rl, "unsupported resource %s (only gpu[:TYPE][:N])", q);
            return -1;
        }
        if (count >= 0) {
            fail(reason, rl, "gpu given twice");
            return -1;
        }
        /* The ':'-separated parts of the element; a fourth one is an error. */
        const char *part[4];
        size_t len[4], np = 0;
        for (const char *x = p; np < 4;) {
            part[np] = x;
            len[np] = strcspn(x, ":,");
            x += len[np++];
            if (*x != ':')
                break;
            x++;
        }
        int ok = np <= 3;
        for (size_t i = 0; ok && i < np; i++)
            ok = len[i] > 0;
        /* The last part is the count when it is a number, else the type. */
        const char *num = NULL;
        size_t num_len = 0;
        if (ok && np == 3) {
            ok = all_digits(part[2], len[2]);
            num = part[2];
            num_len = len[2];
        } else if (ok && np == 2 && all_digits(part[1], len[1])) {
            num = part[1];
            num_len = len[1];
        }
        jobspec_quote(q, sizeof q, p, n, 32);
        if (!ok) {
            fail(reason, rl, "invalid gres %s (gpu[:TYPE][:N])", q);
            return -1;
        }
        count = 1;
        if (num) {
            char digits[16];
            if (num_len >= sizeof digits) {
                fail(reason, rl, "%s: GPU count out of range 1..%d", q, JOBSPEC_COUNT_MAX);
                return -1;
            }
            memcpy(digits, num, num_len);
            digits[num_len] = '\0';
            if (parse_count(digits, 1, JOBSPEC_COUNT_MAX, &count, reason, rl) != 0)
                return -1;
        }
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    j->gpus_per_node = (int32_t)count;
    return 0;
}

/* --pool / --partition: Slurm lists partitions with ',', gpufleet pools with
 * '|'; both are taken and stored with '|'. */
static int set_pool(jobspec *j, const char *val, char *reason, size_t rl)
{
    char buf[sizeof j->pool];
    if (check_text(val, 0, reason, rl) != 0)
        return -1;
    size_t n = strlen(val);
    if (n >= sizeof buf) {
        fail(reason, rl, "longer than %zu bytes", sizeof buf - 1);
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        buf[i] = val[i] == ',' ? '|' : val[i];
    for (const char *p = buf;;) {
        size_t len = strcspn(p, "|");
        if (len == 0) {
            char q[160];
            jobspec_quote(q, sizeof q, val, n, 32);
            fail(reason, rl, "empty pool name in %s", q);
            return -1;
        }
        if (check_name(p, len, reason, rl) != 0)
            return -1;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    memcpy(j->pool, buf, n + 1);
    return 0;
}

static int set_array(jobspec *j, const char *val, char *reason, size_t rl)
{
    if (strlen(val) >= sizeof j->array_spec) {
        fail(reason, rl, "longer than %zu bytes", sizeof j->array_spec - 1);
        return -1;
    }
    int64_t *ids;
    size_t n;
    int32_t max_running;
    if (parse_array_err(val, &ids, &n, &max_running, reason, rl) != 0)
        return -1;
    free(j->array_ids);
    j->array_ids = ids;
    j->narray = n;
    j->array_max_running = max_running;
    strcpy(j->array_spec, val);
    return 0;
}

static int set_dependency(jobspec *j, const char *val, char *reason, size_t rl)
{
    job_dep deps[JOBSPEC_MAX_DEPS];
    size_t n;
    memset(deps, 0, sizeof deps); /* no stray padding bytes in j */
    if (parse_dependency_err(val, deps, JOBSPEC_MAX_DEPS, &n, reason, rl) != 0)
        return -1;
    memcpy(j->deps, deps, n * sizeof deps[0]);
    j->ndeps = n;
    return 0;
}

static int set_wrap(jobspec *j, const char *val, char *reason, size_t rl)
{
    if (strlen(val) > JOBSPEC_SCRIPT_MAX) {
        fail(reason, rl, "larger than 1 MiB");
        return -1;
    }
    /* A command line may hold tabs and newlines: only UTF-8 is required. */
    if (check_text(val, 1, reason, rl) != 0)
        return -1;
    char *w = dup_str(val);
    if (!w) {
        fail(reason, rl, "out of memory");
        return -1;
    }
    free(j->wrap);
    j->wrap = w;
    return 0;
}

static int is_key_char(char c, int first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static int check_env_key(const char *key, size_t n, char *reason, size_t rl)
{
    int ok = n > 0 && n <= ENV_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_key_char(key[i], i == 0);
    if (!ok) {
        char q[160];
        jobspec_quote(q, sizeof q, key, n, 32);
        fail(reason, rl, "invalid variable name %s (letters, digits and '_', not starting "
                         "with a digit, at most %d bytes)", q, ENV_KEY_MAX);
        return -1;
    }
    return 0;
}

/* Index of the variable named key[0..n) in j->env, or -1. */
static long find_env(const jobspec *j, const char *key, size_t n)
{
    for (size_t i = 0; i < j->nenv; i++)
        if (strncmp(j->env[i], key, n) == 0 && j->env[i][n] == '=')
            return (long)i;
    return -1;
}

/* Sets key[0..kn) = value; the worker behind jobspec_setenv and --export. */
static int setenv_n(jobspec *j, const char *key, size_t kn, const char *value, char *reason,
                    size_t rl)
{
    if (check_env_key(key, kn, reason, rl) != 0)
        return -1;
    size_t vn = strlen(value);
    if (vn > JOBSPEC_ENV_VALUE_MAX) {
        fail(reason, rl, "value of %.*s: larger than %d bytes", (int)kn, key,
             JOBSPEC_ENV_VALUE_MAX);
        return -1;
    }
    size_t bad = jobspec_utf8_check(value, vn);
    if (bad < vn) {
        fail(reason, rl, "value of %.*s: not valid UTF-8 at byte %zu", (int)kn, key, bad);
        return -1;
    }
    char *kv = malloc(kn + 1 + vn + 1);
    if (!kv) {
        fail(reason, rl, "out of memory");
        return -1;
    }
    memcpy(kv, key, kn);
    kv[kn] = '=';
    memcpy(kv + kn + 1, value, vn + 1);

    long at = find_env(j, key, kn);
    if (at >= 0) {
        free(j->env[at]);
        j->env[at] = kv;
        return 0;
    }
    if (j->nenv >= JOBSPEC_ENV_MAX) {
        free(kv);
        fail(reason, rl, "more than %d environment variables", JOBSPEC_ENV_MAX);
        return -1;
    }
    char **env = realloc(j->env, (j->nenv + 1) * sizeof *env);
    if (!env) {
        free(kv);
        fail(reason, rl, "out of memory");
        return -1;
    }
    env[j->nenv++] = kv;
    j->env = env;
    return 0;
}

int jobspec_setenv(jobspec *j, const char *key, const char *value, char *err, size_t errlen)
{
    if (!j || !key || !value) {
        fail(err, errlen, "invalid arguments");
        return -1;
    }
    return setenv_n(j, key, strlen(key), value, err, errlen);
}

const char *jobspec_getenv(const jobspec *j, const char *key)
{
    long at = find_env(j, key, strlen(key));
    return at < 0 ? NULL : j->env[at] + strlen(key) + 1;
}

/* --export=KEY=VALUE[,KEY=VALUE...]. Slurm's ALL (its default) and NONE are
 * accepted so that scripts carry over; a bare NAME (Slurm: the submitter's
 * value) is refused, since the submitter's environment is not known here. */
static int set_export(jobspec *j, const char *val, char *reason, size_t rl)
{
    if (check_text(val, 0, reason, rl) != 0)
        return -1;
    for (const char *p = val;;) {
        size_t n = strcspn(p, ",");
        char q[160];
        jobspec_quote(q, sizeof q, p, n, 32);
        const char *eq = memchr(p, '=', n);
        if ((n == 3 && strncmp(p, "ALL", 3) == 0) || (n == 4 && strncmp(p, "NONE", 4) == 0)) {
            /* accepted and ignored, see above */
        } else if (!eq) {
            fail(reason, rl, "%s has no value (use KEY=VALUE)", q);
            return -1;
        } else {
            char value[1024];
            size_t vn = (size_t)(p + n - eq - 1);
            /* A value on a command line or directive is short; longer ones
             * come through JSON or jobspec_setenv(). */
            if (vn >= sizeof value) {
                fail(reason, rl, "value of %s: longer than %zu bytes", q, sizeof value - 1);
                return -1;
            }
            memcpy(value, eq + 1, vn);
            value[vn] = '\0';
            if (setenv_n(j, p, (size_t)(eq - p), value, reason, rl) != 0)
                return -1;
        }
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    return 0;
}

/* ---- options ------------------------------------------------------------ */

enum opt {
    O_GPUS, O_GRES, O_NODES, O_GPUS_PER_NODE, O_CPUS_PER_GPU, O_MEM_PER_GPU, O_TIME, O_POOL,
    O_ACCOUNT, O_QOS, O_NAME, O_OUTPUT, O_ERROR, O_CHDIR, O_ARRAY, O_DEPENDENCY, O_HOLD,
    O_NO_REQUEUE, O_REQUEUE, O_EXCLUSIVE, O_WRAP, O_EXPORT,
    O_IGNORE_COUNT, O_IGNORE_MEM, O_IGNORE_TEXT, /* Slurm options accepted and ignored */
};

static const struct option_def {
    const char *name;
    int opt;
    int takes_value;
} options[] = {
    {"gpus", O_GPUS, 1},          {"G", O_GPUS, 1},
    {"gres", O_GRES, 1},          {"nodes", O_NODES, 1},
    {"N", O_NODES, 1},            {"gpus-per-node", O_GPUS_PER_NODE, 1},
    {"cpus-per-gpu", O_CPUS_PER_GPU, 1}, {"mem-per-gpu", O_MEM_PER_GPU, 1},
    {"time", O_TIME, 1},          {"t", O_TIME, 1},
    {"pool", O_POOL, 1},          {"partition", O_POOL, 1},
    {"p", O_POOL, 1},             {"account", O_ACCOUNT, 1},
    {"A", O_ACCOUNT, 1},          {"qos", O_QOS, 1},
    {"q", O_QOS, 1},              {"job-name", O_NAME, 1},
    {"J", O_NAME, 1},             {"output", O_OUTPUT, 1},
    {"o", O_OUTPUT, 1},           {"error", O_ERROR, 1},
    {"e", O_ERROR, 1},            {"chdir", O_CHDIR, 1},
    {"D", O_CHDIR, 1},            {"array", O_ARRAY, 1},
    {"a", O_ARRAY, 1},            {"dependency", O_DEPENDENCY, 1},
    {"d", O_DEPENDENCY, 1},       {"hold", O_HOLD, 0},
    {"H", O_HOLD, 0},             {"no-requeue", O_NO_REQUEUE, 0},
    {"requeue", O_REQUEUE, 0},    {"exclusive", O_EXCLUSIVE, 0},
    {"wrap", O_WRAP, 1},          {"export", O_EXPORT, 1},
    {"ntasks", O_IGNORE_COUNT, 1}, {"n", O_IGNORE_COUNT, 1},
    {"ntasks-per-node", O_IGNORE_COUNT, 1}, {"cpus-per-task", O_IGNORE_COUNT, 1},
    {"c", O_IGNORE_COUNT, 1},     {"mem", O_IGNORE_MEM, 1},
    {"mail-type", O_IGNORE_TEXT, 1}, {"mail-user", O_IGNORE_TEXT, 1},
    {"constraint", O_IGNORE_TEXT, 1}, {"C", O_IGNORE_TEXT, 1},
};

static const struct option_def *find_option(const char *name)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

int jobspec_option_takes_value(const char *name)
{
    const struct option_def *o = name ? find_option(name) : NULL;
    return o ? o->takes_value : -1;
}

/* "--name" or "-X", for messages; an odd name is quoted so it cannot
 * garble the message. */
static void option_label(char *dst, size_t dstlen, const char *name)
{
    size_t n = strlen(name);
    int plain = n > 0 && n <= 64;
    for (size_t i = 0; plain && i < n; i++)
        plain = name[i] > 0x20 && name[i] < 0x7f;
    if (plain) {
        snprintf(dst, dstlen, "%s%s", n == 1 ? "-" : "--", name);
    } else {
        char q[160];
        jobspec_quote(q, sizeof q, name, n, 32);
        snprintf(dst, dstlen, "--%s", q);
    }
}

int jobspec_apply_option(jobspec *j, const char *name, const char *val, char *reason,
                         size_t rl)
{
    if (!j || !name) {
        fail(reason, rl, "invalid arguments");
        return -1;
    }
    const struct option_def *o = find_option(name);
    if (!o) {
        char label[200];
        option_label(label, sizeof label, name);
        fail(reason, rl, "unknown option %s", label);
        return -1;
    }
    if (o->takes_value && !val) {
        fail(reason, rl, "requires a value");
        return -1;
    }
    if (!o->takes_value && val) {
        fail(reason, rl, "takes no value");
        return -1;
    }
    if (val && !*val) {
        fail(reason, rl, "empty value");
        return -1;
    }
    int64_t v;
    switch (o->opt) {
    case O_GPUS: return set_count32(&j->gpus, val, reason, rl);
    case O_GRES: return set_gres(j, val, reason, rl);
    case O_NODES: return set_count32(&j->nodes, val, reason, rl);
    case O_GPUS_PER_NODE: return set_count32(&j->gpus_per_node, val, reason, rl);
    case O_CPUS_PER_GPU: return set_count32(&j->cpus_per_gpu, val, reason, rl);
    case O_MEM_PER_GPU: return set_mem(&j->mem_per_gpu_mb, val, 1, reason, rl);
    case O_TIME: return set_time(j, val, reason, rl);
    case O_POOL: return set_pool(j, val, reason, rl);
    case O_ACCOUNT: return set_name(j->account, sizeof j->account, val, reason, rl);
    case O_QOS: return set_name(j->qos, sizeof j->qos, val, reason, rl);
    case O_NAME: return set_text(j->name, sizeof j->name, val, reason, rl);
    case O_OUTPUT: return set_text(j->output, sizeof j->output, val, reason, rl);
    case O_ERROR: return set_text(j->error, sizeof j->error, val, reason, rl);
    case O_CHDIR: return set_text(j->workdir, sizeof j->workdir, val, reason, rl);
    case O_ARRAY: return set_array(j, val, reason, rl);
    case O_DEPENDENCY: return set_dependency(j, val, reason, rl);
    case O_HOLD: j->hold = 1; return 0;
    case O_NO_REQUEUE: j->no_requeue = 1; return 0;
    case O_REQUEUE: j->no_requeue = 0; return 0;
    case O_EXCLUSIVE: j->exclusive = 1; return 0;
    case O_WRAP: return set_wrap(j, val, reason, rl);
    case O_EXPORT: return set_export(j, val, reason, rl);
    case O_IGNORE_COUNT: return parse_count(val, 1, JOBSPEC_COUNT_MAX, &v, reason, rl);
    case O_IGNORE_MEM: return set_mem(NULL, val, 0, reason, rl); /* --mem=0: all of it */
    case O_IGNORE_TEXT: return check_text(val, 0, reason, rl);
    }
    fail(reason, rl, "internal error: option without a setter");
    return -1;
}

int jobspec_set_option(jobspec *j, const char *name, const char *val, char *err, size_t errlen)
{
    char reason[JOBSPEC_ERRLEN];
    if (jobspec_apply_option(j, name, val, reason, sizeof reason) == 0)
        return 0;
    if (!name || !find_option(name)) {
        fail(err, errlen, "%s", reason); /* "unknown option --x" names it already */
    } else {
        char label[200];
        option_label(label, sizeof label, name);
        fail(err, errlen, "%s: %s", label, reason);
    }
    return -1;
}

/* ---- completing a job ---------------------------------------------------- */

/* A script or wrap set directly (not through an option) gets the same checks. */
static int check_program(const jobspec *j, const char **field, char *err, size_t errlen)
{
    if (!j->script && !j->wrap) {
        *field = "script";
        fail(err, errlen, "a job needs script or wrap");
        return -1;
    }
    if (j->script && j->wrap) {
        *field = "wrap";
        fail(err, errlen, "script and wrap are exclusive");
        return -1;
    }
    const char *text = j->script ? j->script : j->wrap;
    *field = j->script ? "script" : "wrap";
    size_t n = strlen(text);
    if (n > JOBSPEC_SCRIPT_MAX) {
        fail(err, errlen, "larger than 1 MiB");
        return -1;
    }
    if (jobspec_utf8_check(text, n) < n) {
        fail(err, errlen, "not valid UTF-8 at byte %zu", jobspec_utf8_check(text, n));
        return -1;
    }
    if (j->script && strncmp(j->script, "#!", 2) != 0) {
        fail(err, errlen, "a batch script must start with #! (e.g. #!/bin/bash)");
        return -1;
    }
    if (j->wrap && n == 0) {
        fail(err, errlen, "empty command");
        return -1;
    }
    return 0;
}

/* The GPU shape; see jobspec_finalize() in the header for the rules. */
static int derive_shape(jobspec *j, const char **field, char *err, size_t errlen)
{
    int64_t gpus = j->gpus, nodes = j->nodes, gpn = j->gpus_per_node;
    if (gpus < 0 || nodes < 0 || gpn < 0 || gpus > JOBSPEC_COUNT_MAX ||
        nodes > JOBSPEC_COUNT_MAX || gpn > JOBSPEC_COUNT_MAX) {
        *field = gpus < 0 || gpus > JOBSPEC_COUNT_MAX ? "gpus"
                 : nodes < 0 || nodes > JOBSPEC_COUNT_MAX ? "nodes" : "gpus_per_node";
        fail(err, errlen, "out of range 1..%d", JOBSPEC_COUNT_MAX);
        return -1;
    }
    if (gpus == 0 && nodes == 0 && gpn == 0) {
        *field = "gpus";
        fail(err, errlen, "a job needs at least one GPU (gpus >= 1, or nodes >= 1)");
        return -1;
    }
    if (gpn > 0 && nodes > 0) {
        if (nodes * gpn > JOBSPEC_COUNT_MAX) {
            *field = "nodes";
            fail(err, errlen, "nodes x gpus_per_node = %" PRId64 " is more than %d",
                 nodes * gpn, JOBSPEC_COUNT_MAX);
            return -1;
        }
        if (gpus > 0 && gpus != nodes * gpn) {
            *field = "gpus";
            fail(err, errlen, "%" PRId64 " does not equal nodes x gpus_per_node = %" PRId64
                              " x %" PRId64, gpus, nodes, gpn);
            return -1;
        }
        gpus = nodes * gpn;
    } else if (gpn > 0) {
        /* No node count: Slurm takes one node, or as many as the total needs. */
        if (gpus == 0) {
            nodes = 1;
            gpus = gpn;
        } else if (gpus % gpn != 0) {
            *field = "gpus";
            fail(err, errlen, "%" PRId64 " is not a multiple of gpus_per_node %" PRId64, gpus,
                 gpn);
            return -1;
        } else {
            nodes = gpus / gpn;
        }
    } else if (nodes > 0 && gpus > 0) {
        /* A total over nodes: libsched places gangs as equal shares. */
        if (gpus < nodes) {
            *field = "gpus";
            fail(err, errlen, "%" PRId64 " GPUs cannot span %" PRId64 " nodes", gpus, nodes);
            return -1;
        }
        if (gpus % nodes != 0) {
            *field = "gpus";
            fail(err, errlen, "%" PRId64 " GPUs do not divide evenly over %" PRId64 " nodes",
                 gpus, nodes);
            return -1;
        }
        gpn = gpus / nodes;
    }
    /* else: a total alone, or whole nodes alone */
    j->gpus = (int32_t)gpus;
    j->nodes = (int32_t)nodes;
    j->gpus_per_node = (int32_t)gpn;
    return 0;
}

int jobspec_finalize(jobspec *j, char *field, size_t fieldlen, char *err, size_t errlen)
{
    const char *f = "";
    char reason[JOBSPEC_ERRLEN];
    if (check_program(j, &f, reason, sizeof reason) == 0 &&
        derive_shape(j, &f, reason, sizeof reason) == 0)
        return 0;
    if (field) {
        set_field(field, fieldlen, f);
        fail(err, errlen, "%s", reason);
    } else {
        fail(err, errlen, "%s: %s", f, reason);
    }
    return -1;
}

/* ---- JSON ------------------------------------------------------------------ */

enum jkind { J_COUNT, J_MEM, J_TIME, J_TEXT, J_SCRIPT, J_BOOL, J_ENV };

/* The keys of the API, each with the option whose rules its value follows. */
static const struct json_key {
    const char *key;
    int kind;
    const char *option; /* J_TEXT: the option that sets it */
} json_keys[] = {
    {"gpus", J_COUNT, "gpus"},
    {"nodes", J_COUNT, "nodes"},
    {"gpus_per_node", J_COUNT, "gpus-per-node"},
    {"cpus_per_gpu", J_COUNT, "cpus-per-gpu"},
    {"mem_per_gpu_mb", J_MEM, NULL},
    {"time_limit", J_TIME, NULL},
    {"pool", J_TEXT, "pool"},
    {"account", J_TEXT, "account"},
    {"qos", J_TEXT, "qos"},
    {"name", J_TEXT, "job-name"},
    {"workdir", J_TEXT, "chdir"},
    {"output", J_TEXT, "output"},
    {"error", J_TEXT, "error"},
    {"script", J_SCRIPT, NULL},
    {"wrap", J_TEXT, "wrap"},
    {"env", J_ENV, NULL},
    {"array", J_TEXT, "array"},
    {"dependency", J_TEXT, "dependency"},
    {"hold", J_BOOL, NULL},
    {"no_requeue", J_BOOL, NULL},
    {"exclusive", J_BOOL, NULL},
};

static int json_env(jobspec *j, json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v)) {
        fail(err, errlen, "must be an object of strings");
        return -1;
    }
    const char *k;
    json_t *val;
    json_object_foreach(v, k, val) {
        if (!json_is_string(val)) {
            char q[160];
            jobspec_quote(q, sizeof q, k, strlen(k), 32);
            fail(err, errlen, "value of %s must be a string", q);
            return -1;
        }
        if (setenv_n(j, k, strlen(k), json_string_value(val), err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int json_one(jobspec *j, const struct json_key *jk, json_t *v, char *err, size_t errlen)
{
    json_int_t x;
    char shown[32];
    switch (jk->kind) {
    case J_COUNT:
    case J_MEM:
    case J_TIME:
        if (!json_is_integer(v)) {
            fail(err, errlen, "must be an integer");
            return -1;
        }
        x = json_integer_value(v);
        snprintf(shown, sizeof shown, "%lld", (long long)x);
        if (jk->kind == J_MEM) {
            if (check_mem(x, shown, err, errlen) != 0)
                return -1;
            j->mem_per_gpu_mb = x;
            return 0;
        }
        if (jk->kind == J_TIME) {
            if (check_time(x, shown, err, errlen) != 0)
                return -1;
            j->time_limit = x;
            return 0;
        }
        if (x < 1 || x > JOBSPEC_COUNT_MAX) {
            fail(err, errlen, "%s is out of range 1..%d", shown, JOBSPEC_COUNT_MAX);
            return -1;
        }
        snprintf(shown, sizeof shown, "%d", (int)x);
        return jobspec_apply_option(j, jk->option, shown, err, errlen);
    case J_BOOL:
        if (!json_is_boolean(v)) {
            fail(err, errlen, "must be true or false");
            return -1;
        }
        if (strcmp(jk->key, "hold") == 0)
            j->hold = json_is_true(v);
        else if (strcmp(jk->key, "no_requeue") == 0)
            j->no_requeue = json_is_true(v);
        else
            j->exclusive = json_is_true(v);
        return 0;
    case J_TEXT:
        if (!json_is_string(v)) {
            fail(err, errlen, "must be a string");
            return -1;
        }
        return jobspec_apply_option(j, jk->option, json_string_value(v), err, errlen);
    case J_SCRIPT:
        if (!json_is_string(v)) {
            fail(err, errlen, "must be a string");
            return -1;
        }
        if (json_string_length(v) > JOBSPEC_SCRIPT_MAX) {
            fail(err, errlen, "larger than 1 MiB");
            return -1;
        }
        /* The directives are not read again: the client has applied them,
         * and its command-line options may have overridden them since. */
        free(j->script);
        if (!(j->script = dup_str(json_string_value(v)))) {
            fail(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    case J_ENV:
        return json_env(j, v, err, errlen);
    }
    fail(err, errlen, "internal error: key without a reader");
    return -1;
}

/* jansson's messages quote pieces of the input: keep them printable ASCII. */
static void sanitize(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

int jobspec_from_json(const char *text, size_t len, jobspec *j, char *field, size_t fieldlen,
                      char *err, size_t errlen)
{
    set_field(field, fieldlen, "");
    fail(err, errlen, "%s", "");
    jobspec_init(j);
    if (!text) {
        fail(err, errlen, "no body");
        return -1;
    }
    if (len > JOBSPEC_JSON_MAX) {
        fail(err, errlen, "request body larger than 16 MiB");
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
             jerr.text);
        if (err && errlen)
            sanitize(err);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(err, errlen, "the body must be a JSON object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        const struct json_key *jk = NULL;
        for (size_t i = 0; i < sizeof json_keys / sizeof json_keys[0]; i++)
            if (strcmp(json_keys[i].key, key) == 0)
                jk = &json_keys[i];
        char reason[JOBSPEC_ERRLEN];
        if (!jk)
            fail(reason, sizeof reason, "unknown key");
        if (!jk || json_one(j, jk, v, reason, sizeof reason) != 0) {
            if (field) {
                set_field(field, fieldlen, key);
                fail(err, errlen, "%s", reason);
            } else {
                char shown[64];
                set_field(shown, sizeof shown, key);
                fail(err, errlen, "%s: %s", shown, reason);
            }
            json_decref(root);
            jobspec_free(j);
            return -1;
        }
    }
    json_decref(root);
    if (jobspec_finalize(j, field, fieldlen, err, errlen) != 0) {
        jobspec_free(j);
        return -1;
    }
    return 0;
}

/* Adds key = value unless value is NULL (which also means a failed
 * constructor: *ok then records the failure). */
static void put(json_t *o, const char *key, json_t *value, int *ok)
{
    if (!value || json_object_set_new(o, key, value) != 0)
        *ok = 0;
}

static void put_text(json_t *o, const char *key, const char *s, int *ok)
{
    if (s && *s)
        put(o, key, json_string(s), ok);
}

static void put_int(json_t *o, const char *key, int64_t v, int *ok)
{
    if (v != 0)
        put(o, key, json_integer((json_int_t)v), ok);
}

char *jobspec_to_json(const jobspec *j)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int ok = 1;
    put_text(o, "name", j->name, &ok);
    put_text(o, "account", j->account, &ok);
    put_text(o, "qos", j->qos, &ok);
    put_text(o, "pool", j->pool, &ok);
    put_int(o, "gpus", j->gpus, &ok);
    put_int(o, "nodes", j->nodes, &ok);
    put_int(o, "gpus_per_node", j->gpus_per_node, &ok);
    put_int(o, "cpus_per_gpu", j->cpus_per_gpu, &ok);
    put_int(o, "mem_per_gpu_mb", j->mem_per_gpu_mb, &ok);
    put_int(o, "time_limit", j->time_limit, &ok);
    put_text(o, "workdir", j->workdir, &ok);
    put_text(o, "output", j->output, &ok);
    put_text(o, "error", j->error, &ok);
    if (j->script)
        put(o, "script", json_string(j->script), &ok);
    if (j->wrap)
        put(o, "wrap", json_string(j->wrap), &ok);
    if (j->nenv > 0) {
        json_t *env = json_object();
        put(o, "env", env, &ok);
        for (size_t i = 0; ok && i < j->nenv; i++) {
            const char *eq = strchr(j->env[i], '=');
            if (!eq) {
                ok = 0;
                break;
            }
            char key[ENV_KEY_MAX + 1];
            size_t kn = (size_t)(eq - j->env[i]);
            if (kn > ENV_KEY_MAX) {
                ok = 0;
                break;
            }
            memcpy(key, j->env[i], kn);
            key[kn] = '\0';
            put(env, key, json_string(eq + 1), &ok);
        }
    }
    put_text(o, "array", j->array_spec, &ok);
    if (j->ndeps > 0) {
        char dep[JOBSPEC_DEP_STRLEN];
        if (j->ndeps > JOBSPEC_MAX_DEPS ||
            format_dependency(j->deps, j->ndeps, dep, sizeof dep) != 0)
            ok = 0;
        else
            put(o, "dependency", json_string(dep), &ok);
    }
    if (j->hold)
        put(o, "hold", json_true(), &ok);
    if (j->no_requeue)
        put(o, "no_requeue", json_true(), &ok);
    if (j->exclusive)
        put(o, "exclusive", json_true(), &ok);
    char *out = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}
