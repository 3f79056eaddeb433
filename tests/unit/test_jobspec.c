/* Unit tests of the job request struct, its options, completion and JSON
 * form (src/libjob/jobspec.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobspec.h"

/* Applies an option that must succeed. */
static void set_ok(jobspec *j, const char *name, const char *val)
{
    char err[JOBSPEC_ERRLEN] = "";
    if (jobspec_set_option(j, name, val, err, sizeof err) != 0)
        fail_msg("--%s=%s failed: %s", name, val ? val : "(flag)", err);
}

/* Applies an option that must fail with exactly the message want. */
static void set_fails(const char *name, const char *val, const char *want)
{
    jobspec j;
    jobspec_init(&j);
    char err[JOBSPEC_ERRLEN] = "";
    if (jobspec_set_option(&j, name, val, err, sizeof err) == 0)
        fail_msg("--%s=%s was accepted", name, val ? val : "(flag)");
    if (strcmp(err, want) != 0)
        fail_msg("--%s=%s: message \"%s\", want \"%s\"", name, val ? val : "(flag)", err, want);
    jobspec_free(&j);
}

/* Same, when only a part of the message matters. */
static void set_fails_with(const char *name, const char *val, const char *part)
{
    jobspec j;
    jobspec_init(&j);
    char err[JOBSPEC_ERRLEN] = "";
    if (jobspec_set_option(&j, name, val, err, sizeof err) == 0)
        fail_msg("--%s=%s was accepted", name, val ? val : "(flag)");
    if (!strstr(err, part))
        fail_msg("--%s=%s: message \"%s\" lacks \"%s\"", name, val ? val : "(flag)", err, part);
    jobspec_free(&j);
}

/* ---- the struct --------------------------------------------------------- */

static void test_init_free(void **state)
{
    (void)state;
    jobspec j;
    memset(&j, 0x5a, sizeof j);
    jobspec_init(&j);
    assert_int_equal(j.gpus, 0);
    assert_null(j.script);
    assert_null(j.env);
    assert_string_equal(j.name, "");
    jobspec_free(&j);
    jobspec_free(&j); /* twice is fine */
    jobspec_free(NULL);

    set_ok(&j, "wrap", "hostname");
    set_ok(&j, "export", "A=1");
    set_ok(&j, "array", "0-3");
    jobspec_free(&j);
    assert_null(j.wrap);
    assert_int_equal(j.nenv, 0);
    assert_int_equal(j.narray, 0);
    assert_string_equal(j.array_spec, "");
    /* reusable at once */
    set_ok(&j, "wrap", "true");
    jobspec_free(&j);
}

static void test_copy(void **state)
{
    (void)state;
    jobspec a, b;
    jobspec_init(&a);
    set_ok(&a, "job-name", "train");
    set_ok(&a, "wrap", "python train.py");
    set_ok(&a, "export", "A=1,B=2");
    set_ok(&a, "array", "1,3,5-7%2");
    set_ok(&a, "dependency", "afterok:4");
    set_ok(&a, "gpus", "8");
    assert_int_equal(jobspec_copy(&b, &a), 0);
    assert_ptr_not_equal(a.wrap, b.wrap);
    assert_ptr_not_equal(a.env, b.env);
    assert_ptr_not_equal(a.array_ids, b.array_ids);
    assert_string_equal(b.wrap, "python train.py");
    assert_int_equal(b.nenv, 2);
    assert_string_equal(b.env[1], "B=2");
    assert_int_equal(b.narray, 5);
    assert_int_equal(b.array_ids[4], 7);
    assert_int_equal(b.array_max_running, 2);
    assert_int_equal(b.ndeps, 1);
    assert_string_equal(b.name, "train");

    char *ja = jobspec_to_json(&a), *jb = jobspec_to_json(&b);
    assert_non_null(ja);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    /* Deep: changing the copy leaves the original alone. */
    b.wrap[0] = 'X';
    assert_string_equal(a.wrap, "python train.py");
    jobspec_free(&a);
    assert_string_equal(b.env[0], "A=1");
    jobspec_free(&b);

    /* An empty one copies too. */
    jobspec_init(&a);
    assert_int_equal(jobspec_copy(&b, &a), 0);
    assert_null(b.script);
    jobspec_free(&b);
}

/* ---- every option ------------------------------------------------------- */

static void test_counts(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "gpus", "8");
    assert_int_equal(j.gpus, 8);
    set_ok(&j, "G", "16");
    assert_int_equal(j.gpus, 16);
    set_ok(&j, "nodes", "4");
    assert_int_equal(j.nodes, 4);
    set_ok(&j, "N", "2");
    assert_int_equal(j.nodes, 2);
    set_ok(&j, "gpus-per-node", "8");
    assert_int_equal(j.gpus_per_node, 8);
    set_ok(&j, "cpus-per-gpu", "12");
    assert_int_equal(j.cpus_per_gpu, 12);
    set_ok(&j, "gpus", "100000");
    assert_int_equal(j.gpus, 100000);
    set_ok(&j, "nodes", "1");
    assert_int_equal(j.nodes, 1);
    jobspec_free(&j);

    static const char *const count_options[] = {"gpus", "G", "nodes", "N", "gpus-per-node",
                                                "cpus-per-gpu", "ntasks", "n",
                                                "ntasks-per-node", "cpus-per-task", "c"};
    for (size_t i = 0; i < sizeof count_options / sizeof count_options[0]; i++) {
        const char *o = count_options[i];
        char want[JOBSPEC_ERRLEN];
        const char *dash = strlen(o) == 1 ? "-" : "--";
        snprintf(want, sizeof want, "%s%s: \"0\" is out of range 1..100000", dash, o);
        set_fails(o, "0", want);
        snprintf(want, sizeof want, "%s%s: \"100001\" is out of range 1..100000", dash, o);
        set_fails(o, "100001", want);
        snprintf(want, sizeof want, "%s%s: \"1000000000\" is out of range 1..100000", dash, o);
        set_fails(o, "1000000000", want);
        snprintf(want, sizeof want,
                 "%s%s: invalid count \"abc\" (a whole number 1..100000)", dash, o);
        set_fails(o, "abc", want);
        set_fails_with(o, "-1", "invalid count \"-1\"");
        set_fails_with(o, "+1", "invalid count");
        set_fails_with(o, "4 ", "invalid count");
        set_fails_with(o, "2-4", "invalid count");
        set_fails_with(o, "1.5", "invalid count");
        set_fails_with(o, "99999999999999999999999", "out of range");
    }
}

static void test_gres(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "gres", "gpu:8");
    assert_int_equal(j.gpus_per_node, 8);
    assert_int_equal(j.gpus, 0); /* the total is finalize's */
    set_ok(&j, "gres", "gpu:h100:4");
    assert_int_equal(j.gpus_per_node, 4);
    assert_string_equal(j.pool, ""); /* the type is not a pool */
    set_ok(&j, "gres", "gpu");
    assert_int_equal(j.gpus_per_node, 1);
    set_ok(&j, "gres", "gpu:a100");
    assert_int_equal(j.gpus_per_node, 1);
    set_ok(&j, "gres", "gpu:100000");
    assert_int_equal(j.gpus_per_node, 100000);
    jobspec_free(&j);

    set_fails("gres", "nvme:1", "--gres: unsupported resource \"nvme\" (only gpu[:TYPE][:N])");
    set_fails_with("gres", "gpu:8,nvme:1", "unsupported resource \"nvme\"");
    set_fails_with("gres", "gpux:1", "unsupported resource");
    set_fails_with("gres", "gpu:8,", "unsupported resource \"\"");
    set_fails("gres", "gpu:8,gpu:4", "--gres: gpu given twice");
    set_fails("gres", "gpu:0", "--gres: \"0\" is out of range 1..100000");
    set_fails_with("gres", "gpu:100001", "out of range");
    set_fails_with("gres", "gpu:99999999999999999999999999999999999", "out of range");
    set_fails("gres", "gpu:", "--gres: invalid gres \"gpu:\" (gpu[:TYPE][:N])");
    set_fails_with("gres", "gpu::2", "invalid gres");
    set_fails_with("gres", "gpu:h100:", "invalid gres");
    set_fails_with("gres", "gpu:h100:x", "invalid gres");
    set_fails_with("gres", "gpu:a:b:8", "invalid gres");
    set_fails_with("gres", "gpu:\x01", "control character");
}

static void test_memory(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "mem-per-gpu", "80G");
    assert_int_equal(j.mem_per_gpu_mb, 80 * 1024);
    set_ok(&j, "mem-per-gpu", "4096");
    assert_int_equal(j.mem_per_gpu_mb, 4096);
    set_ok(&j, "mem-per-gpu", "64T");
    assert_int_equal(j.mem_per_gpu_mb, JOBSPEC_MEM_MAX_MB);
    set_ok(&j, "mem-per-gpu", "1K");
    assert_int_equal(j.mem_per_gpu_mb, 1);
    jobspec_free(&j);

    set_fails("mem-per-gpu", "abc", "--mem-per-gpu: invalid memory size \"abc\"");
    set_fails("mem-per-gpu", "16GB", "--mem-per-gpu: invalid memory size \"16GB\"");
    set_fails("mem-per-gpu", "0", "--mem-per-gpu: \"0\": memory per GPU must be at least 1 MB");
    set_fails("mem-per-gpu", "65T", "--mem-per-gpu: \"65T\" is more than 64 TiB");
    set_fails_with("mem-per-gpu", "99999999999999999999G", "invalid memory size");
}

static void test_time(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "time", "1-12:00:00");
    assert_int_equal(j.time_limit, 36 * 3600);
    set_ok(&j, "t", "90");
    assert_int_equal(j.time_limit, 5400);
    set_ok(&j, "time", "UNLIMITED");
    assert_int_equal(j.time_limit, JOBSPEC_TIME_MAX);
    set_ok(&j, "time", "1s");
    assert_int_equal(j.time_limit, 1);
    set_ok(&j, "time", "365-00:00:00");
    assert_int_equal(j.time_limit, JOBSPEC_TIME_MAX);
    jobspec_free(&j);

    set_fails("time", "abc", "--time: invalid duration \"abc\"");
    set_fails("t", "1:2:3:4", "-t: invalid duration \"1:2:3:4\"");
    set_fails("time", "0",
              "--time: \"0\": a time limit must be at least 1 second (UNLIMITED for the longest)");
    set_fails("time", "366d", "--time: \"366d\" is more than 365 days");
    set_fails("time", "365-00:00:01", "--time: \"365-00:00:01\" is more than 365 days");
}

static void test_text_options(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "pool", "h100");
    assert_string_equal(j.pool, "h100");
    set_ok(&j, "partition", "h100,h200");
    assert_string_equal(j.pool, "h100|h200"); /* Slurm's list, gpufleet's separator */
    set_ok(&j, "p", "b200|npu-910b");
    assert_string_equal(j.pool, "b200|npu-910b");
    set_ok(&j, "account", "proj-llm");
    assert_string_equal(j.account, "proj-llm");
    set_ok(&j, "A", "proj.b");
    assert_string_equal(j.account, "proj.b");
    set_ok(&j, "qos", "high");
    assert_string_equal(j.qos, "high");
    set_ok(&j, "q", "low");
    assert_string_equal(j.qos, "low");
    set_ok(&j, "job-name", "pretrain 7B \xe8\xae\xad\xe7\xbb\x83");
    assert_string_equal(j.name, "pretrain 7B \xe8\xae\xad\xe7\xbb\x83");
    set_ok(&j, "J", "eval");
    assert_string_equal(j.name, "eval");
    set_ok(&j, "output", "logs/%x-%j.out");
    assert_string_equal(j.output, "logs/%x-%j.out"); /* patterns verbatim */
    set_ok(&j, "o", "out-%A_%a.txt");
    assert_string_equal(j.output, "out-%A_%a.txt");
    set_ok(&j, "error", "logs/%u-%j.err");
    assert_string_equal(j.error, "logs/%u-%j.err");
    set_ok(&j, "e", "e.txt");
    assert_string_equal(j.error, "e.txt");
    set_ok(&j, "chdir", "/scratch/proj");
    assert_string_equal(j.workdir, "/scratch/proj");
    set_ok(&j, "D", "/home/u");
    assert_string_equal(j.workdir, "/home/u");
    set_ok(&j, "wrap", "srun python train.py --lr 3e-4\n");
    assert_string_equal(j.wrap, "srun python train.py --lr 3e-4\n");
    set_ok(&j, "wrap", "hostname"); /* replaces, no leak */
    assert_string_equal(j.wrap, "hostname");
    jobspec_free(&j);

    set_fails("pool", "a b", "--pool: a name may not contain blanks, ',' or '|': \"a b\"");
    set_fails("pool", "a||b", "--pool: empty pool name in \"a||b\"");
    set_fails_with("pool", "|a", "empty pool name");
    set_fails_with("partition", "a,", "empty pool name");
    set_fails("account", "a,b", "--account: a name may not contain blanks, ',' or '|': \"a,b\"");
    set_fails_with("A", "a|b", "may not contain");
    set_fails_with("qos", "hi gh", "may not contain");
    set_fails_with("job-name", "a\tb", "contains a control character");
    set_fails_with("output", "x\ny", "contains a control character");
    set_fails_with("chdir", "/tmp/\x7f", "contains a control character");
    set_fails_with("job-name", "bad \xff utf8", "not valid UTF-8 at byte 4");
    set_fails_with("wrap", "echo \xc0\xaf", "not valid UTF-8");

    /* Lengths: refused, never truncated. */
    char name[129];
    memset(name, 'x', 128);
    name[128] = '\0';
    set_fails("job-name", name, "--job-name: longer than 127 bytes");
    set_fails("pool", name, "--pool: longer than 127 bytes");
    name[127] = '\0';
    jobspec_init(&j);
    set_ok(&j, "job-name", name);
    assert_int_equal(strlen(j.name), 127);
    jobspec_free(&j);
    set_fails_with("account", name, "longer than 63 bytes");
    set_fails_with("qos", "q0123456789012345678901234567890", "longer than 31 bytes");
    char *path = malloc(2000);
    memset(path, 'p', 1999);
    path[1999] = '\0';
    set_fails("output", path, "--output: longer than 1023 bytes");
    set_fails("error", path, "--error: longer than 1023 bytes");
    set_fails("chdir", path, "--chdir: longer than 1023 bytes");
    free(path);
    char *big = malloc(JOBSPEC_SCRIPT_MAX + 2);
    memset(big, 'w', JOBSPEC_SCRIPT_MAX + 1);
    big[JOBSPEC_SCRIPT_MAX + 1] = '\0';
    set_fails("wrap", big, "--wrap: larger than 1 MiB");
    free(big);
}

static void test_array_dependency_options(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "array", "0-99%10");
    assert_string_equal(j.array_spec, "0-99%10");
    assert_int_equal(j.narray, 100);
    assert_int_equal(j.array_max_running, 10);
    set_ok(&j, "a", "1,3"); /* replaces, no leak */
    assert_string_equal(j.array_spec, "1,3");
    assert_int_equal(j.narray, 2);
    assert_int_equal(j.array_ids[1], 3);
    assert_int_equal(j.array_max_running, 0);
    set_ok(&j, "dependency", "afterok:12:13,afterany:14");
    assert_int_equal(j.ndeps, 3);
    assert_int_equal(j.deps[2].type, JOB_DEP_AFTERANY);
    set_ok(&j, "d", "singleton");
    assert_int_equal(j.ndeps, 1);
    assert_int_equal(j.deps[0].type, JOB_DEP_SINGLETON);

    /* A failed option leaves the previous value. */
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(jobspec_set_option(&j, "array", "5-1", err, sizeof err), -1);
    assert_string_equal(j.array_spec, "1,3");
    assert_int_equal(j.narray, 2);
    assert_int_equal(jobspec_set_option(&j, "dependency", "afterok:1?afterok:2", err,
                                        sizeof err), -1);
    assert_string_equal(err, "--dependency: '?' (any of the dependencies) is not supported: "
                             "use ','");
    assert_int_equal(j.ndeps, 1);
    jobspec_free(&j);

    set_fails("array", "5-3", "--array: invalid array spec \"5-3\": range 5-3 ends before it "
                              "starts");
    set_fails("a", "0-100000", "-a: array spec \"0-100000\": more than 100000 tasks");
    char longspec[300];
    memset(longspec, '1', 299);
    longspec[299] = '\0';
    set_fails("array", longspec, "--array: longer than 255 bytes");
    set_fails_with("d", "after:3", "not supported");
    set_fails_with("dependency", "afterok", "needs at least one job id");
}

static void test_flags(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "hold", NULL);
    assert_int_equal(j.hold, 1);
    j.hold = 0;
    set_ok(&j, "H", NULL);
    assert_int_equal(j.hold, 1);
    set_ok(&j, "no-requeue", NULL);
    assert_int_equal(j.no_requeue, 1);
    set_ok(&j, "requeue", NULL);
    assert_int_equal(j.no_requeue, 0);
    set_ok(&j, "exclusive", NULL);
    assert_int_equal(j.exclusive, 1);
    jobspec_free(&j);

    set_fails("hold", "yes", "--hold: takes no value");
    set_fails("exclusive", "user", "--exclusive: takes no value");
    set_fails("H", "", "-H: takes no value");
    set_fails("time", NULL, "--time: requires a value");
    set_fails("N", NULL, "-N: requires a value");
    set_fails("gpus", "", "--gpus: empty value");
    set_fails("job-name", "", "--job-name: empty value");
}

static void test_export(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    set_ok(&j, "export", "NCCL_DEBUG=INFO");
    assert_int_equal(j.nenv, 1);
    assert_string_equal(j.env[0], "NCCL_DEBUG=INFO");
    set_ok(&j, "export", "ALL,OMP_NUM_THREADS=8,X=a=b,EMPTY=");
    assert_int_equal(j.nenv, 4);
    assert_string_equal(jobspec_getenv(&j, "OMP_NUM_THREADS"), "8");
    assert_string_equal(jobspec_getenv(&j, "X"), "a=b");
    assert_string_equal(jobspec_getenv(&j, "EMPTY"), "");
    assert_null(jobspec_getenv(&j, "NCCL"));
    assert_null(jobspec_getenv(&j, "ALL"));
    set_ok(&j, "export", "NCCL_DEBUG=WARN"); /* replaces */
    assert_int_equal(j.nenv, 4);
    assert_string_equal(jobspec_getenv(&j, "NCCL_DEBUG"), "WARN");
    set_ok(&j, "export", "NONE");
    assert_int_equal(j.nenv, 4);
    jobspec_free(&j);

    set_fails("export", "FOO", "--export: \"FOO\" has no value (use KEY=VALUE)");
    set_fails_with("export", "A=1,,B=2", "\"\" has no value");
    set_fails_with("export", "1X=2", "invalid variable name \"1X\"");
    set_fails_with("export", "=x", "invalid variable name \"\"");
    set_fails_with("export", "A-B=1", "invalid variable name");
    set_fails_with("export", "A=\x01", "control character");
    char big[1100];
    memset(big, 'v', sizeof big - 1);
    big[0] = 'A';
    big[1] = '=';
    big[sizeof big - 1] = '\0';
    set_fails_with("export", big, "longer than 1023 bytes");
}

static void test_setenv(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(jobspec_setenv(&j, "A", "1", err, sizeof err), 0);
    assert_int_equal(jobspec_setenv(&j, "_b9", "multi\nline", err, sizeof err), 0);
    assert_int_equal(jobspec_setenv(&j, "A", "2", err, sizeof err), 0);
    assert_int_equal(j.nenv, 2);
    assert_string_equal(j.env[0], "A=2");
    assert_string_equal(jobspec_getenv(&j, "_b9"), "multi\nline");
    assert_int_equal(jobspec_setenv(&j, "9a", "1", err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid variable name"));
    assert_int_equal(jobspec_setenv(&j, "", "1", err, sizeof err), -1);
    assert_int_equal(jobspec_setenv(&j, "A", "\xff", err, sizeof err), -1);
    assert_non_null(strstr(err, "not valid UTF-8"));
    assert_int_equal(jobspec_setenv(&j, NULL, "1", err, sizeof err), -1);
    char key[300];
    memset(key, 'K', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    assert_int_equal(jobspec_setenv(&j, key, "1", err, sizeof err), -1);
    char *v = malloc(JOBSPEC_ENV_VALUE_MAX + 2);
    memset(v, 'v', JOBSPEC_ENV_VALUE_MAX + 1);
    v[JOBSPEC_ENV_VALUE_MAX + 1] = '\0';
    assert_int_equal(jobspec_setenv(&j, "BIG", v, err, sizeof err), -1);
    assert_string_equal(err, "value of BIG: larger than 131072 bytes");
    v[JOBSPEC_ENV_VALUE_MAX] = '\0';
    assert_int_equal(jobspec_setenv(&j, "BIG", v, err, sizeof err), 0);
    free(v);
    jobspec_free(&j);

    /* A bounded number of variables. */
    jobspec_init(&j);
    for (int i = 0; i < JOBSPEC_ENV_MAX; i++) {
        char k[32];
        snprintf(k, sizeof k, "V%d", i);
        assert_int_equal(jobspec_setenv(&j, k, "x", err, sizeof err), 0);
    }
    assert_int_equal(jobspec_setenv(&j, "ONE_MORE", "x", err, sizeof err), -1);
    assert_string_equal(err, "more than 4096 environment variables");
    assert_int_equal(jobspec_setenv(&j, "V7", "replaced", err, sizeof err), 0);
    jobspec_free(&j);
}

static void test_ignored_and_unknown(void **state)
{
    (void)state;
    jobspec j, empty;
    jobspec_init(&j);
    jobspec_init(&empty);
    set_ok(&j, "ntasks", "32");
    set_ok(&j, "n", "4");
    set_ok(&j, "ntasks-per-node", "8");
    set_ok(&j, "cpus-per-task", "16");
    set_ok(&j, "c", "4");
    set_ok(&j, "mail-type", "END,FAIL");
    set_ok(&j, "mail-user", "someone@example.org");
    set_ok(&j, "constraint", "nvlink&ib");
    set_ok(&j, "C", "h100");
    set_ok(&j, "mem", "0"); /* Slurm: all the memory of the node */
    set_ok(&j, "mem", "500G");
    assert_memory_equal(&j, &empty, sizeof j); /* nothing changed */
    jobspec_free(&j);

    set_fails_with("mem", "lots", "invalid memory size \"lots\"");
    set_fails_with("ntasks", "0", "out of range");
    set_fails_with("mail-user", "a\nb", "control character");

    set_fails("frob", "1", "unknown option --frob");
    set_fails("frob", NULL, "unknown option --frob");
    set_fails("Z", "1", "unknown option -Z");
    set_fails("nodelist", "n[1-4]", "unknown option --nodelist");
    set_fails("", "1", "unknown option --\"\"");
    set_fails("x\ny", "1", "unknown option --\"x\\x0ay\"");

    char err[JOBSPEC_ERRLEN];
    jobspec_init(&j);
    assert_int_equal(jobspec_set_option(NULL, "gpus", "1", err, sizeof err), -1);
    assert_int_equal(jobspec_set_option(&j, NULL, "1", err, sizeof err), -1);
    /* No error buffer: still no crash. */
    assert_int_equal(jobspec_set_option(&j, "gpus", "x", NULL, 0), -1);
    /* A tiny buffer is cut, terminated. */
    char tiny[8];
    assert_int_equal(jobspec_set_option(&j, "gpus", "x", tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 7);
    /* The bare reason. */
    assert_int_equal(jobspec_apply_option(&j, "time", "abc", err, sizeof err), -1);
    assert_string_equal(err, "invalid duration \"abc\"");
    assert_int_equal(jobspec_apply_option(&j, "frob", NULL, err, sizeof err), -1);
    assert_string_equal(err, "unknown option --frob");
    jobspec_free(&j);
}

static void test_takes_value(void **state)
{
    (void)state;
    static const char *const valued[] = {
        "gpus", "G", "gres", "nodes", "N", "gpus-per-node", "cpus-per-gpu", "mem-per-gpu",
        "time", "t", "pool", "partition", "p", "account", "A", "qos", "q", "job-name", "J",
        "output", "o", "error", "e", "chdir", "D", "array", "a", "dependency", "d", "wrap",
        "export", "ntasks", "n", "ntasks-per-node", "cpus-per-task", "c", "mem", "mail-type",
        "mail-user", "constraint", "C",
    };
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++)
        assert_int_equal(jobspec_option_takes_value(valued[i]), 1);
    static const char *const flags[] = {"hold", "H", "no-requeue", "requeue", "exclusive"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_int_equal(jobspec_option_takes_value(flags[i]), 0);
    assert_int_equal(jobspec_option_takes_value("frob"), -1);
    assert_int_equal(jobspec_option_takes_value("--time"), -1);
    assert_int_equal(jobspec_option_takes_value(NULL), -1);
}

/* ---- finalize ------------------------------------------------------------ */

/* Options "name=value ..." (a flag without '='), then finalize. */
static int build(jobspec *j, const char *opts, char *field, char *err)
{
    jobspec_init(j);
    set_ok(j, "wrap", "true");
    char buf[512];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        set_ok(j, tok, eq ? eq + 1 : NULL);
    }
    return jobspec_finalize(j, field, JOBSPEC_ERRLEN, err, JOBSPEC_ERRLEN);
}

static void expect_shape(const char *opts, int gpus, int nodes, int gpn)
{
    jobspec j;
    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    if (build(&j, opts, field, err) != 0)
        fail_msg("%s: finalize failed: %s: %s", opts, field, err);
    if (j.gpus != gpus || j.nodes != nodes || j.gpus_per_node != gpn)
        fail_msg("%s: gpus %d nodes %d gpus_per_node %d, want %d %d %d", opts, j.gpus, j.nodes,
                 j.gpus_per_node, gpus, nodes, gpn);
    /* Idempotent. */
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), 0);
    assert_int_equal(j.gpus, gpus);
    assert_int_equal(j.nodes, nodes);
    assert_int_equal(j.gpus_per_node, gpn);
    jobspec_free(&j);
}

static void expect_shape_error(const char *opts, const char *want_field, const char *want_err)
{
    jobspec j;
    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    if (build(&j, opts, field, err) == 0)
        fail_msg("%s: finalize accepted", opts);
    if (strcmp(field, want_field) != 0 || strcmp(err, want_err) != 0)
        fail_msg("%s: got %s: %s, want %s: %s", opts, field, err, want_field, want_err);
    jobspec_free(&j);
}

static void test_finalize_shapes(void **state)
{
    (void)state;
    expect_shape("gpus=8", 8, 0, 0);
    expect_shape("nodes=4 gpus-per-node=8", 32, 4, 8);
    expect_shape("gpus-per-node=8 nodes=4", 32, 4, 8); /* order does not matter */
    expect_shape("gres=gpu:8 N=4", 32, 4, 8);
    expect_shape("gres=gpu:8", 8, 1, 8);               /* Slurm: one node */
    expect_shape("gpus=16 gpus-per-node=8", 16, 2, 8);
    expect_shape("gpus-per-node=8 gpus=16", 16, 2, 8);
    expect_shape("nodes=4 gpus=32", 32, 4, 8);
    expect_shape("nodes=4 gpus=4", 4, 4, 1);
    expect_shape("nodes=4 gpus-per-node=8 gpus=32", 32, 4, 8);
    expect_shape("nodes=4", 0, 4, 0);                  /* whole nodes */
    expect_shape("nodes=4 exclusive", 0, 4, 0);
    expect_shape("nodes=100 gpus-per-node=1000", 100000, 100, 1000);

    expect_shape_error("gpus=12 gpus-per-node=8", "gpus", "12 is not a multiple of "
                                                          "gpus_per_node 8");
    expect_shape_error("nodes=4 gpus=30", "gpus", "30 GPUs do not divide evenly over 4 nodes");
    expect_shape_error("nodes=4 gpus=2", "gpus", "2 GPUs cannot span 4 nodes");
    expect_shape_error("nodes=4 gpus-per-node=8 gpus=16", "gpus",
                       "16 does not equal nodes x gpus_per_node = 4 x 8");
    expect_shape_error("nodes=1000 gpus-per-node=1000", "nodes",
                       "nodes x gpus_per_node = 1000000 is more than 100000");
    expect_shape_error("", "gpus", "a job needs at least one GPU (gpus >= 1, or nodes >= 1)");
    expect_shape_error("cpus-per-gpu=4", "gpus",
                       "a job needs at least one GPU (gpus >= 1, or nodes >= 1)");

    /* Fields set directly are checked too. */
    jobspec j;
    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    jobspec_init(&j);
    set_ok(&j, "wrap", "true");
    j.gpus = -3;
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "gpus");
    j.gpus = 0;
    j.nodes = 1000000;
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "nodes");
    jobspec_free(&j);
}

static void test_finalize_program(void **state)
{
    (void)state;
    jobspec j;
    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    jobspec_init(&j);
    set_ok(&j, "gpus", "1");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "script");
    assert_string_equal(err, "a job needs script or wrap");
    /* Without a field buffer the message carries the field. */
    assert_int_equal(jobspec_finalize(&j, NULL, 0, err, sizeof err), -1);
    assert_string_equal(err, "script: a job needs script or wrap");

    set_ok(&j, "wrap", "true");
    j.script = strdup("#!/bin/sh\ntrue\n");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "wrap");
    assert_string_equal(err, "script and wrap are exclusive");
    free(j.wrap);
    j.wrap = NULL;
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), 0);

    free(j.script);
    j.script = strdup("echo no shebang\n");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "script");
    assert_string_equal(err, "a batch script must start with #! (e.g. #!/bin/bash)");
    free(j.script);
    j.script = strdup("#!/bin/sh\n\xff\n");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(err, "not valid UTF-8 at byte 10");
    free(j.script);
    j.script = NULL;
    j.wrap = strdup("");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), -1);
    assert_string_equal(field, "wrap");
    assert_string_equal(err, "empty command");
    jobspec_free(&j);
    /* NULL buffers. */
    jobspec_init(&j);
    assert_int_equal(jobspec_finalize(&j, NULL, 0, NULL, 0), -1);
    jobspec_free(&j);
}

/* ---- JSON ---------------------------------------------------------------- */

/* A job with every field set, as the CLI would build it. */
static void full_job(jobspec *j)
{
    jobspec_init(j);
    set_ok(j, "job-name", "llm \"pretrain\" \xe8\xae\xad\xe7\xbb\x83");
    set_ok(j, "account", "proj-llm");
    set_ok(j, "qos", "high");
    set_ok(j, "partition", "h100,h200");
    set_ok(j, "nodes", "4");
    set_ok(j, "gres", "gpu:8");
    set_ok(j, "cpus-per-gpu", "12");
    set_ok(j, "mem-per-gpu", "80G");
    set_ok(j, "time", "2-00:00:00");
    set_ok(j, "chdir", "/scratch/proj-llm");
    set_ok(j, "output", "logs/%x-%j.out");
    set_ok(j, "error", "logs/%x-%j.err");
    set_ok(j, "export", "NCCL_DEBUG=INFO,TAB=a\\tb");
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(jobspec_setenv(j, "MULTI", "line1\nline2 \"q\"", err, sizeof err), 0);
    set_ok(j, "array", "0-15:4%2");
    set_ok(j, "dependency", "afterok:12:13,afterany:14,singleton");
    set_ok(j, "hold", NULL);
    set_ok(j, "no-requeue", NULL);
    set_ok(j, "exclusive", NULL);
    j->script = strdup("#!/bin/bash\n#SBATCH -N 4\nsrun python train.py \"$@\"\n\ttabbed\n");
    char field[JOBSPEC_ERRLEN];
    assert_int_equal(jobspec_finalize(j, field, sizeof field, err, sizeof err), 0);
}

static void assert_same_job(const jobspec *a, const jobspec *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->account, b->account);
    assert_string_equal(a->qos, b->qos);
    assert_string_equal(a->pool, b->pool);
    assert_int_equal(a->gpus, b->gpus);
    assert_int_equal(a->nodes, b->nodes);
    assert_int_equal(a->gpus_per_node, b->gpus_per_node);
    assert_int_equal(a->cpus_per_gpu, b->cpus_per_gpu);
    assert_int_equal(a->mem_per_gpu_mb, b->mem_per_gpu_mb);
    assert_int_equal(a->time_limit, b->time_limit);
    assert_string_equal(a->workdir, b->workdir);
    assert_string_equal(a->output, b->output);
    assert_string_equal(a->error, b->error);
    if (a->script || b->script)
        assert_string_equal(a->script, b->script);
    if (a->wrap || b->wrap)
        assert_string_equal(a->wrap, b->wrap);
    assert_int_equal(a->nenv, b->nenv);
    for (size_t i = 0; i < a->nenv; i++)
        assert_string_equal(a->env[i], b->env[i]);
    assert_string_equal(a->array_spec, b->array_spec);
    assert_int_equal(a->narray, b->narray);
    if (a->narray)
        assert_memory_equal(a->array_ids, b->array_ids, a->narray * sizeof a->array_ids[0]);
    assert_int_equal(a->array_max_running, b->array_max_running);
    assert_int_equal(a->ndeps, b->ndeps);
    for (size_t i = 0; i < a->ndeps; i++) {
        assert_int_equal(a->deps[i].type, b->deps[i].type);
        assert_int_equal(a->deps[i].job_id, b->deps[i].job_id);
    }
    assert_int_equal(a->hold, b->hold);
    assert_int_equal(a->no_requeue, b->no_requeue);
    assert_int_equal(a->exclusive, b->exclusive);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    jobspec a, b;
    full_job(&a);
    char *text = jobspec_to_json(&a);
    assert_non_null(text);
    assert_null(strchr(text, '\n')); /* compact */
    assert_non_null(strstr(text, "\"pool\":\"h100|h200\""));
    assert_non_null(strstr(text, "\"gpus\":32"));
    assert_non_null(strstr(text, "\"time_limit\":172800"));
    assert_non_null(strstr(text, "\"dependency\":\"afterok:12:13,afterany:14,singleton\""));
    assert_non_null(strstr(text, "\"env\":{\"NCCL_DEBUG\":\"INFO\""));

    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    if (jobspec_from_json(text, strlen(text), &b, field, sizeof field, err, sizeof err) != 0)
        fail_msg("from_json: %s: %s", field, err);
    assert_same_job(&a, &b);
    char *again = jobspec_to_json(&b);
    assert_string_equal(text, again);
    free(again);
    free(text);
    jobspec_free(&a);
    jobspec_free(&b);

    /* A minimal job, with a wrap and a total GPU count. */
    jobspec_init(&a);
    set_ok(&a, "wrap", "nvidia-smi");
    set_ok(&a, "gpus", "1");
    assert_int_equal(jobspec_finalize(&a, field, sizeof field, err, sizeof err), 0);
    text = jobspec_to_json(&a);
    assert_string_equal(text, "{\"gpus\":1,\"wrap\":\"nvidia-smi\"}");
    assert_int_equal(jobspec_from_json(text, strlen(text), &b, field, sizeof field, err,
                                       sizeof err), 0);
    assert_same_job(&a, &b);
    free(text);
    jobspec_free(&a);
    jobspec_free(&b);

    /* Whole nodes. */
    const char *whole = "{\"nodes\":2,\"script\":\"#!/bin/sh\\nhostname\\n\",\"exclusive\":true}";
    assert_int_equal(jobspec_from_json(whole, strlen(whole), &a, field, sizeof field, err,
                                       sizeof err), 0);
    assert_int_equal(a.nodes, 2);
    assert_int_equal(a.gpus, 0);
    assert_int_equal(a.exclusive, 1);
    text = jobspec_to_json(&a);
    assert_string_equal(text, "{\"nodes\":2,\"script\":\"#!/bin/sh\\nhostname\\n\","
                              "\"exclusive\":true}");
    free(text);
    jobspec_free(&a);
}

static void test_json_good_inputs(void **state)
{
    (void)state;
    jobspec j;
    char field[JOBSPEC_ERRLEN], err[JOBSPEC_ERRLEN];
    const char *t =
        "  {\"wrap\": \"python x.py\", \"gpus_per_node\": 8, \"nodes\": 2,\n"
        "   \"hold\": false, \"no_requeue\": false, \"env\": {}, \"pool\": \"a,b\",\n"
        "   \"name\": \"\\u8bad\\u7ec3\", \"mem_per_gpu_mb\": 67108864,\n"
        "   \"time_limit\": 31536000, \"cpus_per_gpu\": 100000}  ";
    if (jobspec_from_json(t, strlen(t), &j, field, sizeof field, err, sizeof err) != 0)
        fail_msg("%s: %s", field, err);
    assert_string_equal(field, "");
    assert_string_equal(err, "");
    assert_int_equal(j.gpus, 16);
    assert_int_equal(j.hold, 0);
    assert_int_equal(j.nenv, 0);
    assert_string_equal(j.pool, "a|b");
    assert_string_equal(j.name, "\xe8\xae\xad\xe7\xbb\x83");
    assert_int_equal(j.mem_per_gpu_mb, JOBSPEC_MEM_MAX_MB);
    assert_int_equal(j.time_limit, JOBSPEC_TIME_MAX);
    jobspec_free(&j);

    /* The length bounds the parse: what follows is not read. */
    t = "{\"gpus\":1,\"wrap\":\"x\"}garbage";
    assert_int_equal(jobspec_from_json(t, strlen(t) - 7, &j, field, sizeof field, err, sizeof err), 0);
    jobspec_free(&j);
}

/* from_json must fail with exactly this field and (a part of) this message,
 * leaving the jobspec empty. */
static void json_fails(const char *text, size_t len, const char *want_field, const char *part)
{
    jobspec j;
    char field[JOBSPEC_ERRLEN] = "x", err[JOBSPEC_ERRLEN] = "";
    if (jobspec_from_json(text, len, &j, field, sizeof field, err, sizeof err) == 0)
        fail_msg("accepted: %.200s", text);
    if (strcmp(field, want_field) != 0 || !strstr(err, part))
        fail_msg("%.200s: got %s: %s, want %s: ...%s...", text, field, err, want_field, part);
    assert_null(j.script);
    assert_null(j.wrap);
    assert_null(j.env);
    assert_null(j.array_ids);
    assert_int_equal(j.gpus, 0);
    jobspec_free(&j);
}

#define JSON_FAILS(text, field, part) json_fails(text, strlen(text), field, part)

static void test_json_bad_inputs(void **state)
{
    (void)state;
    /* Malformed, or not an object. */
    JSON_FAILS("", "", "invalid JSON at line");
    JSON_FAILS("{", "", "invalid JSON at line 1");
    JSON_FAILS("{\"gpus\":1,}", "", "invalid JSON");
    JSON_FAILS("{\"gpus\":1} {}", "", "invalid JSON");
    JSON_FAILS("{\"gpus\":1,\"gpus\":2,\"wrap\":\"x\"}", "", "duplicate");
    JSON_FAILS("{\"wrap\":\"a\\u0000b\",\"gpus\":1}", "", "invalid JSON");
    JSON_FAILS("{\"wrap\":\"\xff\",\"gpus\":1}", "", "invalid JSON");
    JSON_FAILS("[]", "", "the body must be a JSON object");
    JSON_FAILS("\"job\"", "", "the body must be a JSON object");
    JSON_FAILS("null", "", "the body must be a JSON object");
    JSON_FAILS("42", "", "the body must be a JSON object");
    json_fails("{\"gpus\":1,\0\"wrap\":\"x\"}", 22, "", "invalid JSON");

    /* Unknown keys, named in field (sanitized). */
    JSON_FAILS("{\"gpus\":1,\"wrap\":\"x\",\"frob\":1}", "frob", "unknown key");
    JSON_FAILS("{\"job_name\":\"x\"}", "job_name", "unknown key");
    JSON_FAILS("{\"gres\":\"gpu:8\"}", "gres", "unknown key");
    JSON_FAILS("{\"a\\nb\":1}", "a?b", "unknown key");

    /* Wrong types. */
    JSON_FAILS("{\"gpus\":\"8\",\"wrap\":\"x\"}", "gpus", "must be an integer");
    JSON_FAILS("{\"gpus\":1.5,\"wrap\":\"x\"}", "gpus", "must be an integer");
    JSON_FAILS("{\"gpus\":true,\"wrap\":\"x\"}", "gpus", "must be an integer");
    JSON_FAILS("{\"gpus\":null,\"wrap\":\"x\"}", "gpus", "must be an integer");
    JSON_FAILS("{\"time_limit\":\"1:00:00\",\"gpus\":1,\"wrap\":\"x\"}", "time_limit",
               "must be an integer");
    JSON_FAILS("{\"mem_per_gpu_mb\":\"16G\"}", "mem_per_gpu_mb", "must be an integer");
    JSON_FAILS("{\"hold\":\"yes\"}", "hold", "must be true or false");
    JSON_FAILS("{\"exclusive\":1}", "exclusive", "must be true or false");
    JSON_FAILS("{\"no_requeue\":null}", "no_requeue", "must be true or false");
    JSON_FAILS("{\"name\":5}", "name", "must be a string");
    JSON_FAILS("{\"script\":[\"#!/bin/sh\"]}", "script", "must be a string");
    JSON_FAILS("{\"wrap\":{}}", "wrap", "must be a string");
    JSON_FAILS("{\"array\":5}", "array", "must be a string");
    JSON_FAILS("{\"dependency\":12}", "dependency", "must be a string");
    JSON_FAILS("{\"env\":[\"A=1\"]}", "env", "must be an object of strings");
    JSON_FAILS("{\"env\":{\"A\":1}}", "env", "value of \"A\" must be a string");
    JSON_FAILS("{\"env\":{\"1A\":\"x\"}}", "env", "invalid variable name \"1A\"");

    /* Out of range. */
    JSON_FAILS("{\"gpus\":-1,\"wrap\":\"x\"}", "gpus", "-1 is out of range 1..100000");
    JSON_FAILS("{\"gpus\":0,\"wrap\":\"x\"}", "gpus", "0 is out of range 1..100000");
    JSON_FAILS("{\"gpus\":1000000000,\"wrap\":\"x\"}", "gpus",
               "1000000000 is out of range 1..100000");
    JSON_FAILS("{\"gpus\":9223372036854775807,\"wrap\":\"x\"}", "gpus", "out of range");
    JSON_FAILS("{\"gpus\":99999999999999999999,\"wrap\":\"x\"}", "", "invalid JSON");
    JSON_FAILS("{\"nodes\":100001}", "nodes", "out of range");
    JSON_FAILS("{\"cpus_per_gpu\":-5}", "cpus_per_gpu", "out of range");
    JSON_FAILS("{\"time_limit\":0}", "time_limit", "at least 1 second");
    JSON_FAILS("{\"time_limit\":31536001}", "time_limit", "31536001 is more than 365 days");
    JSON_FAILS("{\"mem_per_gpu_mb\":0}", "mem_per_gpu_mb", "at least 1 MB");
    JSON_FAILS("{\"mem_per_gpu_mb\":67108865}", "mem_per_gpu_mb", "more than 64 TiB");
    JSON_FAILS("{\"pool\":\"a b\"}", "pool", "may not contain blanks");
    JSON_FAILS("{\"pool\":\"\"}", "pool", "empty value");
    JSON_FAILS("{\"account\":\"x|y\"}", "account", "may not contain");
    JSON_FAILS("{\"name\":\"a\\u0007b\"}", "name", "control character");
    JSON_FAILS("{\"array\":\"9-1\"}", "array", "ends before it starts");
    JSON_FAILS("{\"dependency\":\"afterok:1?afterok:2\"}", "dependency", "not supported");
    JSON_FAILS("{\"dependency\":\"after:1\"}", "dependency", "not supported");

    /* Completeness. */
    JSON_FAILS("{}", "script", "a job needs script or wrap");
    JSON_FAILS("{\"gpus\":1}", "script", "a job needs script or wrap");
    JSON_FAILS("{\"gpus\":1,\"wrap\":\"x\",\"script\":\"#!/bin/sh\\n\"}", "wrap",
               "script and wrap are exclusive");
    JSON_FAILS("{\"wrap\":\"x\"}", "gpus", "a job needs at least one GPU");
    JSON_FAILS("{\"wrap\":\"x\",\"gpus\":12,\"gpus_per_node\":8}", "gpus",
               "12 is not a multiple of gpus_per_node 8");
    JSON_FAILS("{\"gpus\":1,\"script\":\"echo hi\\n\"}", "script", "must start with #!");
    JSON_FAILS("{\"gpus\":1,\"wrap\":\"\"}", "wrap", "empty value");

    /* Huge strings: refused by size, whatever the key. */
    size_t big = 10 * 1024 * 1024;
    char *text = malloc(big + 100);
    for (int k = 0; k < 4; k++) {
        static const char *const keys[] = {"script", "wrap", "name", "output"};
        static const char *const want[] = {"larger than 1 MiB", "larger than 1 MiB",
                                           "longer than 127 bytes", "longer than 1023 bytes"};
        /* 10 MB for the script, 2 MB (over every limit too) for the rest,
         * to keep the test quick. */
        size_t len = k == 0 ? big : 2 * 1024 * 1024;
        int o = snprintf(text, 100, "{\"gpus\":1,\"%s\":\"#!", keys[k]);
        memset(text + o, 'a', len);
        strcpy(text + o + len, "\"}");
        json_fails(text, strlen(text), keys[k], want[k]);
    }
    {
        size_t len = 2 * 1024 * 1024;
        int o = snprintf(text, 100, "{\"env\":{\"BIG\":\"");
        memset(text + o, 'v', len);
        strcpy(text + o + len, "\"}}");
        json_fails(text, strlen(text), "env", "value of BIG: larger than 131072 bytes");
    }
    free(text);

    /* A body beyond 16 MiB is refused before parsing. */
    size_t huge = JOBSPEC_JSON_MAX + 1;
    text = malloc(huge);
    memset(text, ' ', huge);
    text[0] = '{';
    text[huge - 1] = '}';
    json_fails(text, huge, "", "request body larger than 16 MiB");
    free(text);

    /* Without a field buffer, the message names the key. */
    jobspec j;
    char msg[JOBSPEC_ERRLEN];
    const char *wrong = "{\"wrap\":\"x\",\"gpus\":\"8\"}";
    assert_int_equal(jobspec_from_json(wrong, strlen(wrong), &j, NULL, 0, msg, sizeof msg), -1);
    assert_string_equal(msg, "gpus: must be an integer");
    jobspec_free(&j);
    assert_int_equal(jobspec_from_json("{\"wrap\":\"x\"}", 12, &j, NULL, 0, msg, sizeof msg),
                     -1);
    assert_string_equal(msg, "gpus: a job needs at least one GPU (gpus >= 1, or nodes >= 1)");
    jobspec_free(&j);
    assert_int_equal(jobspec_from_json("[1]", 3, &j, NULL, 0, msg, sizeof msg), -1);
    assert_string_equal(msg, "the body must be a JSON object");
    jobspec_free(&j);

    /* NULL buffers and NULL text. */
    assert_int_equal(jobspec_from_json("{}", 2, &j, NULL, 0, NULL, 0), -1);
    jobspec_free(&j);
    assert_int_equal(jobspec_from_json(NULL, 0, &j, NULL, 0, NULL, 0), -1);
    jobspec_free(&j);
    /* A small field buffer cuts a long key on a character boundary. */
    char field[6], err[JOBSPEC_ERRLEN];
    const char *t = "{\"abcd\xc3\xa9\":1}";
    assert_int_equal(jobspec_from_json(t, strlen(t), &j, field, sizeof field, err, sizeof err),
                     -1);
    assert_string_equal(field, "abcd");
    jobspec_free(&j);
}

static void test_to_json_failures(void **state)
{
    (void)state;
    jobspec j;
    jobspec_init(&j);
    char *text = jobspec_to_json(&j);
    assert_string_equal(text, "{}");
    free(text);
    /* A string set directly that is not UTF-8 cannot be JSON. */
    strcpy(j.name, "bad \xff");
    assert_null(jobspec_to_json(&j));
    j.name[0] = '\0';
    j.wrap = strdup("\xc0\xaf");
    assert_null(jobspec_to_json(&j));
    jobspec_free(&j);
    /* An env entry without '='. */
    jobspec_init(&j);
    j.env = malloc(sizeof *j.env);
    j.env[0] = strdup("NOEQUALS");
    j.nenv = 1;
    assert_null(jobspec_to_json(&j));
    jobspec_free(&j);
    /* A dependency of unknown type. */
    jobspec_init(&j);
    j.deps[0].type = 42;
    j.ndeps = 1;
    assert_null(jobspec_to_json(&j));
    jobspec_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_free),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_gres),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_text_options),
        cmocka_unit_test(test_array_dependency_options),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_setenv),
        cmocka_unit_test(test_ignored_and_unknown),
        cmocka_unit_test(test_takes_value),
        cmocka_unit_test(test_finalize_shapes),
        cmocka_unit_test(test_finalize_program),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_good_inputs),
        cmocka_unit_test(test_json_bad_inputs),
        cmocka_unit_test(test_to_json_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
