/* Unit tests of the agent's cgroup handling (src/agent/cgroup.c) on fake
 * cgroup trees: which mode is detected and why, the paths a job's cgroup
 * gets, the limits written, joining and signalling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

typedef struct fixture {
    char root[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/gpufleet-cg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    chmod(f->root, 0755);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->root);
    free(f);
    return 0;
}

/* Writes text to root/rel, making its directories. */
static void put(const char *root, const char *rel, const char *text)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char dir[4300];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(mkdir_p(dir, 0755), 0);
    assert_int_equal(file_write_atomic(path, text, strlen(text), 0644, 0), 0);
}

static char *get(const char *root, const char *rel)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *s = file_read(path, 1 << 16, NULL);
    if (!s)
        fail_msg("%s: %s", path, strerror(errno));
    return s;
}

static void test_detect_none(void **state)
{
    fixture *f = *state;
    char note[256];
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_NONE);
    assert_non_null(strstr(note, "no cgroup hierarchy mounted at"));
    assert_int_equal(cgroup_detect("/nonexistent/cgroup", note, sizeof note), CGROUP_NONE);
}

static void test_detect_v2(void **state)
{
    fixture *f = *state;
    char note[256];
    put(f->root, "cgroup.controllers", "cpuset cpu io memory pids\n");
    put(f->root, "cgroup.subtree_control", "");
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_V2);
    assert_string_equal(note, "");
    /* a v2 root without the memory controller: usable, but it says so */
    put(f->root, "cgroup.controllers", "cpu io pids\n");
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_V2);
    assert_non_null(strstr(note, "no memory controller"));
    /* v2 wins over v1 directories beside it */
    put(f->root, "memory/memory.limit_in_bytes", "9223372036854771712\n");
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_V2);
}

static void test_detect_v1(void **state)
{
    fixture *f = *state;
    char note[256];
    put(f->root, "memory/memory.limit_in_bytes", "9223372036854771712\n");
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_V1);
    assert_non_null(strstr(note, "no cpu controller"));
    put(f->root, "cpu/cpu.cfs_quota_us", "-1\n");
    assert_int_equal(cgroup_detect(f->root, note, sizeof note), CGROUP_V1);
    assert_string_equal(note, "");
}

/* Detection as an unprivileged user, on a tree only root may write. */
static void test_detect_not_root(void **state)
{
    fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* the tree would be ours, hence writable */
    put(f->root, "cgroup.controllers", "cpu memory\n");
    put(f->root, "cgroup.subtree_control", "");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        char note[256];
        int mode = cgroup_detect(f->root, note, sizeof note);
        _exit(mode == CGROUP_NONE && strstr(note, "cgroup v2") && strstr(note, "not root") ? 0
                                                                                          : 11);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_modes(void **state)
{
    (void)state;
    assert_string_equal(cgroup_mode_name(CGROUP_V2), "v2");
    assert_string_equal(cgroup_mode_name(CGROUP_V1), "v1");
    assert_string_equal(cgroup_mode_name(CGROUP_NONE), "none");
    assert_int_equal(cgroup_mode_parse("v2"), CGROUP_V2);
    assert_int_equal(cgroup_mode_parse("v1"), CGROUP_V1);
    assert_int_equal(cgroup_mode_parse("none"), CGROUP_NONE);
    assert_int_equal(cgroup_mode_parse("v3"), -1);
    cgroup_job cg;
    assert_int_equal(cgroup_job_init(&cg, CGROUP_NONE, "/sys/fs/cgroup", "n_1.0"), 0);
    assert_int_equal(cg.ndirs, 0);
    assert_int_equal(cgroup_job_join(&cg, 0), 0);
    assert_int_equal(cgroup_job_signal(&cg, 0), 0);
    assert_int_equal(cgroup_job_empty(&cg), 1);
    assert_int_equal(cgroup_job_remove(&cg), 0);
    char longname[600];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(cgroup_job_init(&cg, CGROUP_V2, "/sys/fs/cgroup", longname), -1);
}

static void test_v2_job(void **state)
{
    fixture *f = *state;
    put(f->root, "cgroup.controllers", "cpu memory\n");
    put(f->root, "cgroup.subtree_control", "");
    /* the kernel makes a cgroup's files; a fake tree has them made up front */
    put(f->root, "gpufleet/cgroup.subtree_control", "");
    put(f->root, "gpufleet/emu001_9.0/cpu.max", "max 100000\n");
    put(f->root, "gpufleet/emu001_9.0/memory.max", "max\n");
    put(f->root, "gpufleet/emu001_9.0/cgroup.procs", "");
    cgroup_job cg;
    assert_int_equal(cgroup_job_init(&cg, CGROUP_V2, f->root, "emu001_9.0"), 0);
    assert_int_equal(cg.ndirs, 1);
    char want[4300];
    snprintf(want, sizeof want, "%s/gpufleet/emu001_9.0", f->root);
    assert_string_equal(cg.dir[0], want);
    char err[256];
    assert_int_equal(cgroup_job_create(&cg, 4, 2048, NULL, 0, err, sizeof err), 0);
    char *s = get(f->root, "gpufleet/emu001_9.0/cpu.max");
    assert_string_equal(s, "400000 100000");
    free(s);
    s = get(f->root, "gpufleet/emu001_9.0/memory.max");
    assert_string_equal(s, "2147483648");
    free(s);
    s = get(f->root, "gpufleet/cgroup.subtree_control");
    assert_string_equal(s, "+cpu +memory");
    free(s);
    /* joining writes the pid into cgroup.procs */
    assert_int_equal(cgroup_job_join(&cg, 12345), 0);
    s = get(f->root, "gpufleet/emu001_9.0/cgroup.procs");
    assert_string_equal(s, "12345");
    free(s);
    /* signalling reads cgroup.procs: a child listed there gets the signal */
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    char list[64];
    snprintf(list, sizeof list, "%d\n", (int)child);
    put(f->root, "gpufleet/emu001_9.0/cgroup.procs", list);
    assert_int_equal(cgroup_job_empty(&cg), 0);
    assert_int_equal(cgroup_job_signal(&cg, SIGTERM), 1);
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);
    put(f->root, "gpufleet/emu001_9.0/cgroup.procs", "");
    assert_int_equal(cgroup_job_empty(&cg), 1);
    /* a missing limit file (its controller not enabled there) loses that
     * limit only; a limit that cannot be written is an error naming it */
    char p[4300];
    snprintf(p, sizeof p, "%s/gpufleet/emu001_9.0/memory.max", f->root);
    unlink(p);
    assert_int_equal(cgroup_job_create(&cg, 0, 100, NULL, 0, err, sizeof err), 0);
    assert_int_equal(mkdir(p, 0755), 0); /* EISDIR on open for writing */
    assert_int_equal(cgroup_job_create(&cg, 0, 100, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "memory.max"));
    rmdir(p);
}

static void test_v1_job(void **state)
{
    fixture *f = *state;
    put(f->root, "memory/memory.limit_in_bytes", "");
    put(f->root, "cpu/cpu.cfs_quota_us", "");
    put(f->root, "devices/devices.deny", "");
    put(f->root, "memory/gpufleet/n_3.1/memory.limit_in_bytes", "");
    put(f->root, "memory/gpufleet/n_3.1/cgroup.procs", "");
    put(f->root, "cpu/gpufleet/n_3.1/cpu.cfs_quota_us", "");
    put(f->root, "cpu/gpufleet/n_3.1/cpu.cfs_period_us", "");
    put(f->root, "cpu/gpufleet/n_3.1/cgroup.procs", "");
    put(f->root, "devices/gpufleet/n_3.1/devices.deny", "");
    put(f->root, "devices/gpufleet/n_3.1/cgroup.procs", "");
    cgroup_job cg;
    assert_int_equal(cgroup_job_init(&cg, CGROUP_V1, f->root, "n_3.1"), 0);
    assert_int_equal(cg.ndirs, 3);
    assert_non_null(strstr(cg.dir[0], "/memory/gpufleet/n_3.1"));
    char err[256];
    int32_t deny[] = {1, 3};
    assert_int_equal(cgroup_job_create(&cg, 2, 1024, deny, 2, err, sizeof err), 0);
    char *s = get(f->root, "memory/gpufleet/n_3.1/memory.limit_in_bytes");
    assert_string_equal(s, "1073741824");
    free(s);
    s = get(f->root, "cpu/gpufleet/n_3.1/cpu.cfs_quota_us");
    assert_string_equal(s, "200000");
    free(s);
    s = get(f->root, "devices/gpufleet/n_3.1/devices.deny");
    assert_string_equal(s, "c 195:3 rwm"); /* one write each; the fake file keeps the last */
    free(s);
    assert_int_equal(cgroup_job_join(&cg, 77), 0);
    s = get(f->root, "cpu/gpufleet/n_3.1/cgroup.procs");
    assert_string_equal(s, "77");
    free(s);
    /* only the controllers mounted are used */
    char p[4300];
    snprintf(p, sizeof p, "%s/devices", f->root);
    rm_tree(p);
    assert_int_equal(cgroup_job_init(&cg, CGROUP_V1, f->root, "n_3.1"), 0);
    assert_int_equal(cg.ndirs, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detect_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detect_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detect_not_root, setup, teardown),
        cmocka_unit_test(test_modes),
        cmocka_unit_test_setup_teardown(test_v2_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_job, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
