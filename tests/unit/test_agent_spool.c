/* Unit tests of the agent's spool records (src/agent/spool.c) and file and
 * process helpers (src/agent/util.c): what lets jobs outlive the agent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

typedef struct fixture {
    char dir[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/gpufleet-spool-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->dir);
    free(f);
    return 0;
}

/* Names of the entries of dir, sorted, joined by ' '. */
static void list_dir(const char *dir, char *out, size_t outlen)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            size_t l = strlen(out);
            snprintf(out + l, outlen - l, "%s%s", l ? " " : "", ents[i]->d_name);
        }
        free(ents[i]);
    }
    free(ents);
}

static void test_names(void **state)
{
    (void)state;
    int64_t job;
    int32_t run;
    int tomb;
    assert_int_equal(spool_parse_name("12.0", &job, &run, &tomb), 0);
    assert_int_equal(job, 12);
    assert_int_equal(run, 0);
    assert_int_equal(tomb, 0);
    assert_int_equal(spool_parse_name("123456789.17.done", &job, &run, &tomb), 0);
    assert_int_equal(job, 123456789);
    assert_int_equal(run, 17);
    assert_int_equal(tomb, 1);
    const char *bad[] = {"12",     "12.",      ".0",       "0.0",     "12.0.tmp", "a.0",
                         "12.x",   "12.0.",    "12.0done", "-1.0",    "12.-1",    "nonce",
                         "12.0.0", "1234567890123456789012.0", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (spool_parse_name(bad[i], &job, &run, &tomb) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
    char name[128];
    /* NODE_JOB.RUN-HASH: the hash of the launch's directory tells apart the
     * launches of two agents whose nodes have the same names */
    spool_cgroup_name("/run/a/emu003/12.1", "emu003", 12, 1, name, sizeof name);
    assert_true(strncmp(name, "emu003_12.1-", 12) == 0 && strlen(name) == 20);
    char again[128], other[128];
    spool_cgroup_name("/run/a/emu003/12.1", "emu003", 12, 1, again, sizeof again);
    assert_string_equal(name, again);
    spool_cgroup_name("/run/b/emu003/12.1", "emu003", 12, 1, other, sizeof other);
    assert_string_not_equal(name, other);
}

static void test_launch_roundtrip(void **state)
{
    fixture *f = *state;
    char *env[] = {"A=1", "B=two words", "C=\xc3\xa9t\xc3\xa9"};
    proto_launch l;
    memset(&l, 0, sizeof l);
    l.job = 77;
    l.run = 2;
    l.uid = 1234;
    l.gid = 99;
    snprintf(l.user, sizeof l.user, "bob");
    snprintf(l.name, sizeof l.name, "a \"quoted\" name");
    snprintf(l.workdir, sizeof l.workdir, "/w");
    snprintf(l.output, sizeof l.output, "out-%s.txt", "77");
    l.script = "#!/bin/sh\necho hi\n";
    l.env = env;
    l.nenv = 3;
    l.gpus = 0x8000000000000001ull;
    l.cpus = 16;
    l.mem_mb = 65536;
    l.time_limit = 3600;
    l.kill_grace = 30;
    l.nodelist = "a,b";
    l.node_rank = 0;
    l.nnodes = 2;
    l.total_gpus = 16;
    l.array_job_id = 70;
    l.array_task_id = 7;
    snprintf(l.controller, sizeof l.controller, "unix:/s");
    assert_int_equal(spool_launch_write(f->dir, &l), 0);
    proto_launch r;
    char err[256];
    if (spool_launch_read(f->dir, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(r.job, 77);
    assert_int_equal(r.run, 2);
    assert_int_equal(r.uid, 1234);
    assert_int_equal(r.gid, 99);
    assert_string_equal(r.user, "bob");
    assert_string_equal(r.name, l.name);
    assert_string_equal(r.script, l.script);
    assert_int_equal(r.nenv, 3);
    assert_string_equal(r.env[1], "B=two words");
    assert_string_equal(r.env[2], env[2]);
    assert_true(r.gpus == l.gpus);
    assert_int_equal(r.cpus, 16);
    assert_int_equal(r.mem_mb, 65536);
    assert_int_equal(r.time_limit, 3600);
    assert_int_equal(r.kill_grace, 30);
    assert_string_equal(r.nodelist, "a,b");
    assert_int_equal(r.nnodes, 2);
    assert_int_equal(r.total_gpus, 16);
    assert_int_equal(r.array_job_id, 70);
    assert_int_equal(r.array_task_id, 7);
    assert_string_equal(r.controller, "unix:/s");
    proto_launch_free(&r);
    /* the file is private to root: it holds the job's environment */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/launch.json", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* no temporary file is left behind */
    char names[512];
    list_dir(f->dir, names, sizeof names);
    assert_string_equal(names, "launch.json");
    /* damaged: refused with the file named */
    assert_int_equal(file_write_atomic(path, "{\"seq\":1", 8, 0600, 0), 0);
    assert_int_equal(spool_launch_read(f->dir, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "launch.json"));
    unlink(path);
    assert_int_equal(spool_launch_read(f->dir, &r, err, sizeof err), -1);
}

static void test_node_facts(void **state)
{
    fixture *f = *state;
    spool_node n;
    memset(&n, 0, sizeof n);
    snprintf(n.node, sizeof n.node, "gpu017");
    snprintf(n.cgroup, sizeof n.cgroup, "v1");
    snprintf(n.cgroup_root, sizeof n.cgroup_root, "/sys/fs/cgroup");
    n.allow_root = 1;
    n.device_limits = 1;
    n.ngpu = 3;
    n.gpu_minor[0] = 4;
    n.gpu_minor[1] = 5;
    n.gpu_minor[2] = -1;
    assert_int_equal(spool_node_write(f->dir, &n), 0);
    spool_node r;
    assert_int_equal(spool_node_read(f->dir, &r, NULL, 0), 0);
    assert_memory_equal(&n, &r, sizeof n);
}

static void test_end_record(void **state)
{
    fixture *f = *state;
    proto_ended e = {.job = 5, .run = 0, .exit_code = 137, .signal = 9,
                     .reason = PROTO_END_TIMEOUT, .start = 1700000000, .end = 1700003600};
    snprintf(e.message, sizeof e.message, "time limit of 3600 s reached");
    proto_ended r;
    errno = 0;
    assert_int_equal(spool_end_read(f->dir, &r), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(spool_end_write(f->dir, &e), 0);
    assert_int_equal(spool_end_read(f->dir, &r), 0);
    assert_memory_equal(&e, &r, sizeof e);
    /* every reason by its name */
    for (int reason = 0; reason <= PROTO_END_LAUNCH_FAILED; reason++) {
        e.reason = reason;
        assert_int_equal(spool_end_write(f->dir, &e), 0);
        assert_int_equal(spool_end_read(f->dir, &r), 0);
        assert_int_equal(r.reason, reason);
        assert_int_equal(spool_reason_parse(spool_reason_name(reason)), reason);
    }
    assert_string_equal(spool_reason_name(PROTO_END_LAUNCH_FAILED), "launch_failed");
    /* a message that is not UTF-8 keeps its ASCII */
    snprintf(e.message, sizeof e.message, "cannot open /x/\xff\xfe/out");
    assert_int_equal(spool_end_write(f->dir, &e), 0);
    assert_int_equal(spool_end_read(f->dir, &r), 0);
    assert_string_equal(r.message, "cannot open /x//out");
    /* damaged or incomplete: EINVAL */
    char path[4200];
    snprintf(path, sizeof path, "%s/status.json", f->dir);
    const char *bad[] = {"", "{", "[]", "{\"job\":5}",
                         "{\"job\":5,\"run\":0,\"exit_code\":0,\"signal\":0,\"reason\":\"slept\","
                         "\"start\":0,\"end\":0,\"message\":\"\"}",
                         "{\"job\":0,\"run\":0,\"exit_code\":0,\"signal\":0,\"reason\":\"exited\","
                         "\"start\":0,\"end\":0,\"message\":\"\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(file_write_atomic(path, bad[i], strlen(bad[i]), 0644, 0), 0);
        errno = 0;
        if (spool_end_read(f->dir, &r) != -1 || errno != EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
}

static void test_pid_and_nonce(void **state)
{
    fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/shepherd.pid", f->dir);
    pid_t pid;
    uint64_t start, mine;
    assert_int_equal(proc_start_time(getpid(), &mine), 0);
    assert_int_equal(spool_pid_write(path, getpid(), mine), 0);
    assert_int_equal(spool_pid_read(path, &pid, &start), 0);
    assert_int_equal(pid, getpid());
    assert_true(start == mine);
    assert_true(proc_is(pid, start));
    assert_false(proc_is(pid, start + 1)); /* a reused pid is another process */
    assert_int_equal(file_write_atomic(path, "garbage\n", 8, 0644, 0), 0);
    assert_int_equal(spool_pid_read(path, &pid, &start), -1);

    /* a process that is gone, zombie or reaped, is not alive */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    uint64_t cs = 0;
    int have = proc_start_time(child, &cs) == 0;
    for (int i = 0; i < 200 && have && proc_is(child, cs); i++)
        usleep(5000); /* until it is a zombie */
    if (have)
        assert_false(proc_is(child, cs));
    waitpid(child, NULL, 0);
    assert_false(proc_is(child, cs));
    assert_int_equal(proc_start_time(child, &cs), -1);

    snprintf(path, sizeof path, "%s/nonce", f->dir);
    uint64_t hwm = 1;
    assert_int_equal(spool_nonce_load(path, &hwm), 0);
    assert_true(hwm == 0); /* none yet */
    assert_int_equal(spool_nonce_save(path, 1700000000123456789ull), 0);
    assert_int_equal(spool_nonce_load(path, &hwm), 0);
    assert_true(hwm == 1700000000123456789ull);
    assert_int_equal(file_write_atomic(path, "12x\n", 4, 0600, 0), 0);
    assert_int_equal(spool_nonce_load(path, &hwm), -1);
}

static void test_files(void **state)
{
    fixture *f = *state;
    char path[4400], sub[4200];
    snprintf(sub, sizeof sub, "%s/a/b/c", f->dir);
    assert_int_equal(mkdir_p(sub, 0755), 0);
    assert_int_equal(mkdir_p(sub, 0755), 0); /* again: fine */
    snprintf(path, sizeof path, "%s/file", sub);
    assert_int_equal(file_write_atomic(path, "hello", 5, 0640, 1), 0);
    size_t len;
    char *s = file_read(path, 100, &len);
    assert_non_null(s);
    assert_int_equal(len, 5);
    assert_string_equal(s, "hello");
    free(s);
    errno = 0;
    assert_null(file_read(path, 4, &len));
    assert_int_equal(errno, EFBIG);
    assert_int_equal(mkdir_p(path, 0755), -1); /* a file in the way */
    snprintf(path, sizeof path, "%s/link", sub);
    assert_int_equal(symlink(f->dir, path), 0); /* rm_tree must not follow it */
    snprintf(sub, sizeof sub, "%s/a", f->dir);
    assert_int_equal(rm_tree(sub), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), -1);
    assert_int_equal(stat(f->dir, &st), 0);
    assert_int_equal(rm_tree(sub), 0); /* gone already: done */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_launch_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pid_and_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
