/* Unit tests of the agent's job environment and output paths
 * (src/agent/jobenv.c): what a job sees when it starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobenv.h"

static char *env_list[] = {"FOO=bar", "PATH=/opt/bin", "FLEET_JOB_ID=999", "EMPTY=",
                           "CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7", "FLEET_URL=http://old:1"};

static proto_launch base_launch(void)
{
    proto_launch l;
    memset(&l, 0, sizeof l);
    l.job = 42;
    l.run = 1;
    l.uid = 1000;
    l.gid = 1000;
    snprintf(l.user, sizeof l.user, "alice");
    snprintf(l.name, sizeof l.name, "train");
    snprintf(l.workdir, sizeof l.workdir, "/home/alice/run");
    l.env = env_list;
    l.nenv = 6;
    l.gpus = (1u << 2) | (1u << 5);
    l.nodelist = "n001,n002";
    l.node_rank = 1;
    l.nnodes = 2;
    l.total_gpus = 4;
    l.array_job_id = 0;
    l.array_task_id = -1;
    snprintf(l.controller, sizeof l.controller, "unix:/run/gpufleet/fleetd.sock");
    return l;
}

static void expect_var(const jobenv *e, const char *key, const char *want)
{
    const char *got = jobenv_get(e, key);
    if (!want) {
        if (got)
            fail_msg("%s: expected unset, got \"%s\"", key, got);
        return;
    }
    if (!got)
        fail_msg("%s: expected \"%s\", unset", key, want);
    if (strcmp(got, want) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", key, want, got);
}

static void test_build(void **state)
{
    (void)state;
    proto_launch l = base_launch();
    jobenv_user pw = {"alice", "/home/alice", "/bin/bash"};
    jobenv e;
    jobenv_init(&e);
    jobenv_build(&e, &l, "n002", &pw);
    /* the submission's variables, the user's own PATH kept */
    expect_var(&e, "FOO", "bar");
    expect_var(&e, "EMPTY", "");
    expect_var(&e, "PATH", "/opt/bin");
    /* from the password database when not given */
    expect_var(&e, "HOME", "/home/alice");
    expect_var(&e, "USER", "alice");
    expect_var(&e, "LOGNAME", "alice");
    expect_var(&e, "SHELL", "/bin/bash");
    /* gpufleet's names win over the submission's */
    expect_var(&e, "FLEET_JOB_ID", "42");
    expect_var(&e, "FLEET_JOB_NAME", "train");
    expect_var(&e, "FLEET_NODELIST", "n001,n002");
    expect_var(&e, "FLEET_NNODES", "2");
    expect_var(&e, "FLEET_NODEID", "1");
    expect_var(&e, "FLEET_NODENAME", "n002");
    expect_var(&e, "FLEET_GPUS", "4");
    expect_var(&e, "FLEET_RESTART_COUNT", "1");
    expect_var(&e, "CUDA_VISIBLE_DEVICES", "2,5");
    expect_var(&e, "NVIDIA_VISIBLE_DEVICES", "2,5");
    expect_var(&e, "CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    expect_var(&e, "FLEET_SOCKET", "/run/gpufleet/fleetd.sock");
    expect_var(&e, "FLEET_URL", NULL);
    expect_var(&e, "FLEET_ARRAY_TASK_ID", NULL);
    /* Slurm's names */
    expect_var(&e, "SLURM_JOB_ID", "42");
    expect_var(&e, "SLURM_JOB_NAME", "train");
    expect_var(&e, "SLURM_JOB_NODELIST", "n001,n002");
    expect_var(&e, "SLURM_NNODES", "2");
    expect_var(&e, "SLURM_NODEID", "1");
    expect_var(&e, "SLURM_ARRAY_TASK_ID", NULL);
    /* keys unique, NULL-terminated */
    for (size_t i = 0; i < e.n; i++) {
        size_t kl = strcspn(e.v[i], "=");
        for (size_t k = i + 1; k < e.n; k++)
            if (strncmp(e.v[i], e.v[k], kl + 1) == 0)
                fail_msg("duplicate variable %s", e.v[i]);
    }
    assert_null(e.v[e.n]);
    jobenv_free(&e);
}

static void test_defaults_and_array(void **state)
{
    (void)state;
    proto_launch l = base_launch();
    l.env = NULL;
    l.nenv = 0;
    l.gpus = 0;
    l.nodelist = NULL;
    l.node_rank = 0;
    l.nnodes = 1;
    l.array_job_id = 40;
    l.array_task_id = 7;
    snprintf(l.controller, sizeof l.controller, "ctl.example:6820");
    jobenv e;
    jobenv_init(&e);
    jobenv_build(&e, &l, "emu003", NULL); /* user unknown to the password database */
    expect_var(&e, "PATH", JOBENV_DEFAULT_PATH);
    expect_var(&e, "USER", "alice");
    expect_var(&e, "HOME", NULL);
    expect_var(&e, "CUDA_VISIBLE_DEVICES", "");
    expect_var(&e, "NVIDIA_VISIBLE_DEVICES", "void");
    expect_var(&e, "FLEET_NODELIST", "emu003");
    expect_var(&e, "FLEET_ARRAY_JOB_ID", "40");
    expect_var(&e, "FLEET_ARRAY_TASK_ID", "7");
    expect_var(&e, "SLURM_ARRAY_TASK_ID", "7");
    expect_var(&e, "FLEET_URL", "http://ctl.example:6820");
    expect_var(&e, "FLEET_SOCKET", NULL);
    jobenv_free(&e);
}

static void test_set_unset(void **state)
{
    (void)state;
    jobenv e;
    jobenv_init(&e);
    for (int i = 0; i < 500; i++) {
        char k[32];
        snprintf(k, sizeof k, "V%d", i);
        jobenv_set(&e, k, "x");
    }
    jobenv_set(&e, "V7", "seven");
    jobenv_put(&e, "V8=eight=8");
    jobenv_put(&e, "no-equals-sign");
    jobenv_put(&e, "=empty-key");
    assert_int_equal(e.n, 500);
    expect_var(&e, "V7", "seven");
    expect_var(&e, "V8", "eight=8");
    expect_var(&e, "V", NULL); /* a prefix is not a match */
    jobenv_unset(&e, "V0");
    jobenv_unset(&e, "V499");
    jobenv_unset(&e, "absent");
    assert_int_equal(e.n, 498);
    expect_var(&e, "V0", NULL);
    expect_var(&e, "V1", "x");
    assert_null(e.v[e.n]);
    jobenv_free(&e);
}

static void test_rank(void **state)
{
    (void)state;
    char *argv[] = {"python", "train.py"};
    char *senv[] = {"NCCL_DEBUG=INFO"};
    proto_step_rank r = {.rank = 5, .local_rank = 1, .gpus = 1u << 3};
    proto_step st = {.job = 42, .run = 0, .step = 2, .argv = argv, .argc = 2, .env = senv,
                     .nenv = 1, .world_size = 8, .master_port = 29500, .nranks = 1, .ranks = &r};
    snprintf(st.master_addr, sizeof st.master_addr, "10.0.0.1");
    proto_launch l = base_launch();
    jobenv e;
    jobenv_init(&e);
    jobenv_build(&e, &l, "n002", NULL);
    jobenv_rank(&e, &st, &r, 4);
    expect_var(&e, "RANK", "5");
    expect_var(&e, "LOCAL_RANK", "1");
    expect_var(&e, "WORLD_SIZE", "8");
    expect_var(&e, "LOCAL_WORLD_SIZE", "4");
    expect_var(&e, "MASTER_ADDR", "10.0.0.1");
    expect_var(&e, "MASTER_PORT", "29500");
    expect_var(&e, "FLEET_STEP_ID", "2");
    expect_var(&e, "CUDA_VISIBLE_DEVICES", "3");
    expect_var(&e, "NCCL_DEBUG", "INFO");
    expect_var(&e, "SLURM_PROCID", "5");
    expect_var(&e, "FLEET_JOB_ID", "42");
    jobenv_free(&e);
}

static void test_output_paths(void **state)
{
    (void)state;
    proto_launch l = base_launch();
    char out[1100], err[1100];
    int same;
    /* relative to the working directory; error with the output */
    snprintf(l.output, sizeof l.output, "fleet-42.out");
    assert_int_equal(jobenv_output_paths(&l, out, err, sizeof out, &same), 0);
    assert_string_equal(out, "/home/alice/run/fleet-42.out");
    assert_string_equal(err, "/home/alice/run/fleet-42.out");
    assert_int_equal(same, 1);
    /* absolute paths kept; both given and different */
    snprintf(l.output, sizeof l.output, "/scratch/o.txt");
    snprintf(l.error, sizeof l.error, "logs/e.txt");
    assert_int_equal(jobenv_output_paths(&l, out, err, sizeof out, &same), 0);
    assert_string_equal(out, "/scratch/o.txt");
    assert_string_equal(err, "/home/alice/run/logs/e.txt");
    assert_int_equal(same, 0);
    /* the same file named twice is opened once */
    snprintf(l.error, sizeof l.error, "/scratch/o.txt");
    assert_int_equal(jobenv_output_paths(&l, out, err, sizeof out, &same), 0);
    assert_int_equal(same, 1);
    /* no output: /dev/null for both */
    l.output[0] = l.error[0] = '\0';
    assert_int_equal(jobenv_output_paths(&l, out, err, sizeof out, &same), 0);
    assert_string_equal(out, "/dev/null");
    assert_string_equal(err, "/dev/null");
    /* a working directory with a trailing slash */
    snprintf(l.workdir, sizeof l.workdir, "/w/");
    snprintf(l.output, sizeof l.output, "o");
    assert_int_equal(jobenv_output_paths(&l, out, err, sizeof out, &same), 0);
    assert_string_equal(out, "/w/o");
    /* too long for the buffer: refused, never cut */
    assert_int_equal(jobenv_output_paths(&l, out, err, 3, &same), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_defaults_and_array),
        cmocka_unit_test(test_set_unset),
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_output_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
