/* Unit tests of the value languages of job options (src/libjob/units.c):
 * durations, memory sizes, array specs, dependency specs, and the helpers
 * that render values for messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobspec.h"

/* ---- durations --------------------------------------------------------- */

static void test_duration_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t want;
    } cases[] = {
        {"0", 0},
        {"30", 30 * 60},            /* a lone number is minutes */
        {"90", 90 * 60},            /* and may exceed an hour */
        {"5:30", 5 * 60 + 30},      /* MM:SS */
        {"90:00", 90 * 60},         /* leading minutes unbounded */
        {"1:00:00", 3600},          /* HH:MM:SS */
        {"100:00:00", 100 * 3600},  /* leading hours unbounded */
        {"01:02:03", 3723},
        {"2-0", 2 * 86400},         /* D-HH */
        {"1-12", 86400 + 12 * 3600},
        {"1-12:30", 86400 + 12 * 3600 + 30 * 60},          /* D-HH:MM */
        {"1-12:30:15", 86400 + 12 * 3600 + 30 * 60 + 15},  /* D-HH:MM:SS */
        {"0-0:0:1", 1},
        {"90s", 90},
        {"45m", 45 * 60},
        {"2h", 7200},
        {"2H", 7200},
        {"1d", 86400},
        {"365d", 365 * 86400},
        {"UNLIMITED", JOBSPEC_TIME_MAX},
        {"unlimited", JOBSPEC_TIME_MAX},
        {"infinite", JOBSPEC_TIME_MAX},
        {"INFINITE", JOBSPEC_TIME_MAX},
        {"1000000000000s", 1000000000000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = -1;
        if (parse_duration(cases[i].s, &got) != 0)
            fail_msg("parse_duration(\"%s\") failed", cases[i].s);
        if (got != cases[i].want)
            fail_msg("parse_duration(\"%s\") = %lld, want %lld", cases[i].s, (long long)got,
                     (long long)cases[i].want);
    }
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",        "abc",      "1:2:3:4", "-5",      "+5",       "1:60",     "1:75:00",
        "1-24",    "1-",       "-1",      "1:",      ":5",       "1::2",     "5x",
        "5ss",     " 5",       "5 ",      "1.5h",    "1-2-3",    "1h30m",    "2-1:60",
        "1-1:1:60", "99999999999999999999", "1000000000001s", "20000000d", "h", "UNLIMITEDX",
        "0x10",    "1-12:30:15:1", "５",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 42;
        if (parse_duration(bad[i], &got) == 0)
            fail_msg("parse_duration(\"%s\") accepted: %lld", bad[i], (long long)got);
        assert_int_equal(got, 42); /* untouched on failure */
    }
    int64_t got;
    assert_int_equal(parse_duration(NULL, &got), -1);
    assert_int_equal(parse_duration("5", NULL), -1);
}

static void test_format_duration(void **state)
{
    (void)state;
    char buf[32];
    format_duration(0, buf, sizeof buf);
    assert_string_equal(buf, "00:00:00");
    format_duration(59, buf, sizeof buf);
    assert_string_equal(buf, "00:00:59");
    format_duration(3600, buf, sizeof buf);
    assert_string_equal(buf, "01:00:00");
    format_duration(86399, buf, sizeof buf);
    assert_string_equal(buf, "23:59:59");
    format_duration(86400, buf, sizeof buf);
    assert_string_equal(buf, "1-00:00:00");
    format_duration(JOBSPEC_TIME_MAX, buf, sizeof buf);
    assert_string_equal(buf, "365-00:00:00");
    format_duration(2 * 86400 + 3 * 3600 + 4 * 60 + 5, buf, sizeof buf);
    assert_string_equal(buf, "2-03:04:05");
    format_duration(-5, buf, sizeof buf);
    assert_string_equal(buf, "00:00:00");
    format_duration(INT64_MIN, buf, sizeof buf);
    assert_string_equal(buf, "00:00:00");
    format_duration(INT64_MAX, buf, sizeof buf); /* large, but no overflow */
    assert_true(strlen(buf) > 10);

    /* Truncation is safe; len 0 writes nothing. */
    format_duration(3600, buf, 4);
    assert_string_equal(buf, "01:");
    buf[0] = 'x';
    format_duration(3600, buf, 0);
    assert_int_equal(buf[0], 'x');
    format_duration(3600, NULL, 10);

    /* Everything written reads back. */
    static const int64_t values[] = {0, 1, 59, 60, 3599, 3600, 86399, 86400, 86401,
                                     123456, 10 * 86400 + 1, JOBSPEC_TIME_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int64_t back = -1;
        format_duration(values[i], buf, sizeof buf);
        assert_int_equal(parse_duration(buf, &back), 0);
        assert_int_equal(back, values[i]);
    }
}

/* ---- memory ------------------------------------------------------------ */

static void test_mem_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t want;
    } cases[] = {
        {"0", 0},           {"512", 512},        {"512M", 512},
        {"512m", 512},      {"16G", 16384},      {"16g", 16384},
        {"1T", 1048576},    {"64T", 64LL * 1048576}, {"1024K", 1},
        {"1K", 1},          {"1025K", 2},        {"2048k", 2},
        {"0K", 0},          {"1125899906842624", 1LL << 50},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = -1;
        if (parse_mem_mb(cases[i].s, &got) != 0)
            fail_msg("parse_mem_mb(\"%s\") failed", cases[i].s);
        if (got != cases[i].want)
            fail_msg("parse_mem_mb(\"%s\") = %lld, want %lld", cases[i].s, (long long)got,
                     (long long)cases[i].want);
    }
}

static void test_mem_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",   "G",   "16GB", "1.5G", "-1",  "+1", "16 G", " 16", "abc", "16P", "16X",
        "99999999999999999999", "1125899906842625", "1099511627777G", "1073741825T", "0x10", "1GiB",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 42;
        if (parse_mem_mb(bad[i], &got) == 0)
            fail_msg("parse_mem_mb(\"%s\") accepted: %lld", bad[i], (long long)got);
        assert_int_equal(got, 42);
    }
    int64_t got;
    assert_int_equal(parse_mem_mb(NULL, &got), -1);
    assert_int_equal(parse_mem_mb("1", NULL), -1);
}

/* ---- arrays ------------------------------------------------------------ */

static void expect_array(const char *s, const int64_t *want, size_t nwant, int32_t want_max)
{
    int64_t *ids = NULL;
    size_t n = 0;
    int32_t max = -1;
    char err[JOBSPEC_ERRLEN] = "";
    if (parse_array_err(s, &ids, &n, &max, err, sizeof err) != 0)
        fail_msg("parse_array(\"%s\") failed: %s", s, err);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    assert_int_equal(max, want_max);
    free(ids);
}

static void test_array_good(void **state)
{
    (void)state;
    expect_array("7", (int64_t[]){7}, 1, 0);
    expect_array("1,3,5-7", (int64_t[]){1, 3, 5, 6, 7}, 5, 0);
    expect_array("0-15:4", (int64_t[]){0, 4, 8, 12}, 4, 0);
    expect_array("0-14:4", (int64_t[]){0, 4, 8, 12}, 4, 0);
    expect_array("1-5,3", (int64_t[]){1, 2, 3, 4, 5}, 5, 0); /* repeats merged */
    expect_array("3,1,2", (int64_t[]){1, 2, 3}, 3, 0);       /* sorted */
    expect_array("2-2", (int64_t[]){2}, 1, 0);
    expect_array("10000000", (int64_t[]){10000000}, 1, 0);
    expect_array("5%1", (int64_t[]){5}, 1, 1);
    expect_array("9,0-8:4,3,100", (int64_t[]){0, 3, 4, 8, 9, 100}, 6, 0);
    expect_array("63,64,0,127,128", (int64_t[]){0, 63, 64, 127, 128}, 5, 0);
    expect_array("10000000,0", (int64_t[]){0, 10000000}, 2, 0);
    expect_array("5-9:2,6-9:2", (int64_t[]){5, 6, 7, 8, 9}, 5, 0);

    int64_t *ids = NULL;
    size_t n = 0;
    int32_t max = -1;
    assert_int_equal(parse_array("0-99%10", &ids, &n, &max), 0);
    assert_int_equal(n, 100);
    assert_int_equal(ids[0], 0);
    assert_int_equal(ids[99], 99);
    assert_int_equal(max, 10);
    free(ids);

    /* Exactly the limit of tasks is fine, whatever the ids span. */
    assert_int_equal(parse_array("0-9999900:100", &ids, &n, &max), 0);
    assert_int_equal(n, 100000);
    assert_int_equal(ids[99999], 9999900);
    free(ids);
    /* Ranges in any order, repeated: still sorted and merged. */
    assert_int_equal(parse_array("50000-99999,0-49999", &ids, &n, &max), 0);
    assert_int_equal(n, 100000);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], (int64_t)i);
    free(ids);
    assert_int_equal(parse_array("0-99999%100000", &ids, &n, &max), 0);
    assert_int_equal(n, 100000);
    assert_int_equal(max, 100000);
    free(ids);
}

static void test_array_bad(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        const char *msg; /* a part of the message */
    } bad[] = {
        {"", "empty array spec"},
        {"5-3", "ends before it starts"},
        {"0-100000", "more than 100000 tasks"},
        {"0-99999,100000", "more than 100000 tasks"},
        {"0-99999,0-5", "more than 100000 tasks"}, /* counted before repeats merge */
        {"10000001", "expected a task id"},
        {"1,,2", "expected a task id"},
        {"1,", "expected a task id"},
        {",1", "expected a task id"},
        {"a", "expected a task id"},
        {"1-", "expected a task id"},
        {"-1", "expected a task id"},
        {"0-15:0", "expected a step"},
        {"0-15:", "expected a step"},
        {"1:2", "unexpected character"},
        {"1%0", "the % limit"},
        {"1%", "the % limit"},
        {"1%x", "the % limit"},
        {"1%10%2", "the % limit"},
        {"1%100001", "the % limit"},
        {"1-2-3", "unexpected character"},
        {"%5", "expected a task id"},
        {"1 ,2", "unexpected character"},
        {"1\n", "unexpected character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t *ids = (int64_t *)&ids;
        size_t n = 99;
        int32_t max = 0;
        char err[JOBSPEC_ERRLEN] = "";
        if (parse_array_err(bad[i].s, &ids, &n, &max, err, sizeof err) == 0)
            fail_msg("parse_array(\"%s\") accepted", bad[i].s);
        assert_null(ids);
        assert_int_equal(n, 0);
        if (!strstr(err, bad[i].msg))
            fail_msg("parse_array(\"%s\"): message \"%s\" lacks \"%s\"", bad[i].s, err,
                     bad[i].msg);
    }
    int64_t *ids;
    size_t n;
    int32_t max;
    assert_int_equal(parse_array(NULL, &ids, &n, &max), -1);
    assert_int_equal(parse_array("1", NULL, &n, &max), -1);
    /* The message shows the spec, escaped. */
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(parse_array_err("1\x01", &ids, &n, &max, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"1\\x01\""));
}

/* ---- dependencies ------------------------------------------------------ */

static void test_dependency_good(void **state)
{
    (void)state;
    job_dep d[JOBSPEC_MAX_DEPS];
    size_t n = 0;
    assert_int_equal(parse_dependency("afterok:12:13,afterany:14", d, JOBSPEC_MAX_DEPS, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(d[0].type, JOB_DEP_AFTEROK);
    assert_int_equal(d[0].job_id, 12);
    assert_int_equal(d[1].type, JOB_DEP_AFTEROK);
    assert_int_equal(d[1].job_id, 13);
    assert_int_equal(d[2].type, JOB_DEP_AFTERANY);
    assert_int_equal(d[2].job_id, 14);

    assert_int_equal(parse_dependency("singleton", d, JOBSPEC_MAX_DEPS, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].type, JOB_DEP_SINGLETON);
    assert_int_equal(d[0].job_id, 0);

    assert_int_equal(parse_dependency("afternotok:5,singleton,afterok:1000000000000000000", d,
                                      JOBSPEC_MAX_DEPS, &n),
                     0);
    assert_int_equal(n, 3);
    assert_int_equal(d[0].type, JOB_DEP_AFTERNOTOK);
    assert_int_equal(d[0].job_id, 5);
    assert_int_equal(d[1].type, JOB_DEP_SINGLETON);
    assert_int_equal(d[2].job_id, 1000000000000000000LL);

    /* Exactly max entries fit. */
    assert_int_equal(parse_dependency("afterok:1:2", d, 2, &n), 0);
    assert_int_equal(n, 2);
}

static void test_dependency_bad(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        const char *msg;
    } bad[] = {
        {"", "empty"},
        {"afterok", "needs at least one job id"},
        {"afterok:", "is not a positive integer"},
        {"afterok:x", "is not a positive integer"},
        {"afterok:0", "is not a positive integer"},
        {"afterok:-1", "is not a positive integer"},
        {"afterok:1?afterany:2", "not supported"},
        {"after:5", "not supported"},
        {"aftercorr:1", "not supported"},
        {"afterburstbuffer:1", "not supported"},
        {"foo:1", "unknown dependency type"},
        {"AFTEROK:1", "unknown dependency type"},
        {"singleton:1", "singleton takes no job id"},
        {"afterok:1,", "ends with ','"},
        {",afterok:1", "unknown dependency type"},
        {"afterok:1::2", "is not a positive integer"},
        {"afterok:12+30", "is not a positive integer"},
        {"afterok:12_3", "is not a positive integer"},
        {"afterok:99999999999999999999", "is not a positive integer"},
        {"afterok:1,,afterok:2", "unknown dependency type"},
        {"afterok:1 ", "is not a positive integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        job_dep d[JOBSPEC_MAX_DEPS];
        size_t n = 99;
        char err[JOBSPEC_ERRLEN] = "";
        if (parse_dependency_err(bad[i].s, d, JOBSPEC_MAX_DEPS, &n, err, sizeof err) == 0)
            fail_msg("parse_dependency(\"%s\") accepted", bad[i].s);
        assert_int_equal(n, 0);
        if (!strstr(err, bad[i].msg))
            fail_msg("parse_dependency(\"%s\"): message \"%s\" lacks \"%s\"", bad[i].s, err,
                     bad[i].msg);
    }

    /* More than max. */
    char spec[1024] = "afterok";
    for (int i = 1; i <= JOBSPEC_MAX_DEPS + 1; i++)
        snprintf(spec + strlen(spec), sizeof spec - strlen(spec), ":%d", i);
    job_dep d[JOBSPEC_MAX_DEPS];
    size_t n;
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(parse_dependency_err(spec, d, JOBSPEC_MAX_DEPS, &n, err, sizeof err), -1);
    assert_string_equal(err, "more than 64 dependencies");
    assert_int_equal(parse_dependency("afterok:1,singleton", d, 1, &n), -1);
    assert_int_equal(parse_dependency(NULL, d, 1, &n), -1);
    assert_int_equal(parse_dependency("singleton", NULL, 1, &n), -1);
}

static void test_format_dependency(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "afterok:12:13,afterany:14", "singleton", "afternotok:5,singleton,afterok:7",
        "afterok:1,afterany:2,afterok:3", "singleton,singleton",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        job_dep d[JOBSPEC_MAX_DEPS], back[JOBSPEC_MAX_DEPS];
        size_t n, nb;
        char buf[JOBSPEC_DEP_STRLEN];
        assert_int_equal(parse_dependency(specs[i], d, JOBSPEC_MAX_DEPS, &n), 0);
        assert_int_equal(format_dependency(d, n, buf, sizeof buf), 0);
        assert_string_equal(buf, specs[i]);
        assert_int_equal(parse_dependency(buf, back, JOBSPEC_MAX_DEPS, &nb), 0);
        assert_int_equal(nb, n);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(back[k].type, d[k].type);
            assert_int_equal(back[k].job_id, d[k].job_id);
        }
    }
    /* Separate entries of one type are joined. */
    job_dep d[3] = {{JOB_DEP_AFTEROK, 1}, {JOB_DEP_AFTEROK, 2}, {JOB_DEP_AFTERANY, 3}};
    char buf[JOBSPEC_DEP_STRLEN];
    assert_int_equal(format_dependency(d, 3, buf, sizeof buf), 0);
    assert_string_equal(buf, "afterok:1:2,afterany:3");
    assert_int_equal(format_dependency(d, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    /* Too small a buffer, an unknown type: -1 and "". */
    assert_int_equal(format_dependency(d, 3, buf, 10), -1);
    assert_string_equal(buf, "");
    job_dep odd = {99, 1};
    assert_int_equal(format_dependency(&odd, 1, buf, sizeof buf), -1);
    assert_string_equal(buf, "");
    /* The longest list fits the documented size. */
    job_dep many[JOBSPEC_MAX_DEPS];
    for (int i = 0; i < JOBSPEC_MAX_DEPS; i++) {
        many[i].type = i % 2 ? JOB_DEP_AFTERNOTOK : JOB_DEP_AFTERANY;
        many[i].job_id = 1000000000000000000LL;
    }
    assert_int_equal(format_dependency(many, JOBSPEC_MAX_DEPS, buf, sizeof buf), 0);
}

/* ---- helpers ------------------------------------------------------------- */

static void test_quote(void **state)
{
    (void)state;
    char q[200];
    jobspec_quote(q, sizeof q, "abc", 3, 32);
    assert_string_equal(q, "\"abc\"");
    jobspec_quote(q, sizeof q, "a\"b\\c\n\xff", 7, 32);
    assert_string_equal(q, "\"a\\x22b\\x5cc\\x0a\\xff\"");
    jobspec_quote(q, sizeof q, "0123456789", 10, 4);
    assert_string_equal(q, "\"0123...\"");
    jobspec_quote(q, sizeof q, "", 0, 4);
    assert_string_equal(q, "\"\"");
    /* A small buffer is cut, still terminated and quoted. */
    char small[12];
    jobspec_quote(small, sizeof small, "\x01\x02\x03\x04", 4, 32);
    assert_true(strlen(small) < sizeof small);
    assert_int_equal(small[0], '"');
    assert_int_equal(small[strlen(small) - 1], '"');
}

static void test_utf8(void **state)
{
    (void)state;
    static const char *const good[] = {"", "ascii", "\xc3\xa9", "\xe8\xae\xad\xe7\xbb\x83",
                                       "\xf0\x9f\x9a\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(jobspec_utf8_check(good[i], strlen(good[i])), strlen(good[i]));
    static const struct {
        const char *s;
        size_t at;
    } bad[] = {
        {"ab\xc0\xaf", 2},         /* overlong '/' */
        {"\xe0\x80\xaf", 0},       /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 0},   /* overlong, 4 bytes */
        {"x\xed\xa0\x80", 1},      /* surrogate */
        {"\xf4\x90\x80\x80", 0},   /* above U+10FFFF */
        {"\xe4\xb8", 0},           /* truncated */
        {"\x80", 0},               /* lone continuation */
        {"ok\xff", 2},
        {"\xc3\x28", 0},           /* bad continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(jobspec_utf8_check(bad[i].s, strlen(bad[i].s)), bad[i].at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),    cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_format_duration),  cmocka_unit_test(test_mem_good),
        cmocka_unit_test(test_mem_bad),          cmocka_unit_test(test_array_good),
        cmocka_unit_test(test_array_bad),        cmocka_unit_test(test_dependency_good),
        cmocka_unit_test(test_dependency_bad),   cmocka_unit_test(test_format_dependency),
        cmocka_unit_test(test_quote),            cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
