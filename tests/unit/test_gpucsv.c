/* Unit tests of the GPU job CSV reader (src/libtrace/gpucsv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static int parse(const char *text, size_t len, trace *t, char *err)
{
    return gpucsv_parse(text, len, "t.csv", t, err, TRACE_ERRLEN);
}

#define HEADER_ALL                                                                         \
    "id,submit,run,gpus,time_limit,nodes,gpus_per_node,cpus_per_gpu,mem_per_gpu_mb,pool,"  \
    "user,account,qos\n"

static void test_all_columns(void **state)
{
    (void)state;
    const char *text = "# a small trace\n"
                       HEADER_ALL
                       "1,0,3600,8,7200,,,16,65536,h100,1001,proj-a,high\n"
                       "\n"
                       "2,10,60,,0,2,8,,,h100|h200,,,\n"
                       "# the last job\n"
                       "-3, 20 ,5,1,-1,,,,,,4294967295,b,\n";
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(parse(text, strlen(text), &t, err), 0);
    assert_string_equal(err, "");
    assert_int_equal(t.njobs, 3);

    const trace_job *j = &t.jobs[0];
    assert_int_equal(j->id, 1);
    assert_int_equal(j->submit, 0);
    assert_int_equal(j->run, 3600);
    assert_int_equal(j->estimate, 7200);
    assert_int_equal(j->gpus, 8);
    assert_int_equal(j->nodes, 0);
    assert_int_equal(j->gpus_per_node, 0);
    assert_int_equal(j->cpus_per_gpu, 16);
    assert_int_equal(j->mem_per_gpu_mb, 65536);
    assert_int_equal(j->gpu_milli, 1000);
    assert_int_equal(j->user, 1001);
    assert_int_equal(j->group, 0);
    assert_string_equal(j->pool, "h100");
    assert_string_equal(j->account, "proj-a");
    assert_string_equal(j->qos, "high");
    assert_int_equal(j->line, 3);

    j = &t.jobs[1];
    assert_int_equal(j->id, 2);
    assert_int_equal(j->submit, 10);
    assert_int_equal(j->run, 60);
    assert_int_equal(j->estimate, 60); /* time_limit 0: = run */
    assert_int_equal(j->gpus, 16);     /* nodes * gpus_per_node */
    assert_int_equal(j->nodes, 2);
    assert_int_equal(j->gpus_per_node, 8);
    assert_int_equal(j->cpus_per_gpu, 0);
    assert_int_equal(j->mem_per_gpu_mb, 0);
    assert_int_equal(j->user, 0);
    assert_string_equal(j->pool, "h100|h200");
    assert_string_equal(j->account, "");
    assert_string_equal(j->qos, "");
    assert_int_equal(j->line, 5);

    j = &t.jobs[2];
    assert_int_equal(j->id, -3);
    assert_int_equal(j->submit, 20); /* blanks around a field are ignored */
    assert_int_equal(j->estimate, 5); /* time_limit -1: = run */
    assert_int_equal(j->user, 4294967295u);
    assert_string_equal(j->account, "b");
    assert_int_equal(j->line, 7);
    trace_free(&t);
}

static void test_required_only_any_order_crlf(void **state)
{
    (void)state;
    const char *text = "gpus,run,id,submit\r\n"
                       "4,100,7,50\r\n"
                       "1,0,8,60"; /* no final newline */
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(parse(text, strlen(text), &t, err), 0);
    assert_int_equal(t.njobs, 2);
    assert_int_equal(t.jobs[0].id, 7);
    assert_int_equal(t.jobs[0].submit, 50);
    assert_int_equal(t.jobs[0].run, 100);
    assert_int_equal(t.jobs[0].estimate, 100); /* no time_limit column */
    assert_int_equal(t.jobs[0].gpus, 4);
    assert_string_equal(t.jobs[0].pool, "");
    assert_int_equal(t.jobs[1].id, 8);
    assert_int_equal(t.jobs[1].run, 0);
    assert_int_equal(t.jobs[1].line, 3);
    trace_free(&t);
}

static void test_header_only(void **state)
{
    (void)state;
    const char *text = "id,submit,run,gpus\n# nothing yet\n";
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(parse(text, strlen(text), &t, err), 0);
    assert_int_equal(t.njobs, 0);
    trace_free(&t);
}

static void test_whole_nodes_with_gpus(void **state)
{
    (void)state;
    /* nodes without gpus_per_node: whole nodes, gpus states the total. */
    const char *text = "id,submit,run,gpus,nodes\n1,0,10,16,2\n";
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    assert_int_equal(parse(text, strlen(text), &t, err), 0);
    assert_int_equal(t.jobs[0].gpus, 16);
    assert_int_equal(t.jobs[0].nodes, 2);
    assert_int_equal(t.jobs[0].gpus_per_node, 0);
    trace_free(&t);
}

static void test_null_buffer_and_err(void **state)
{
    (void)state;
    trace t;
    trace_init(&t);
    /* No error buffer: still fails cleanly. */
    assert_int_equal(gpucsv_parse(NULL, 0, NULL, &t, NULL, 0), -1);
    /* A tiny error buffer is truncated, not overrun. */
    char small[8];
    assert_int_equal(gpucsv_parse("x", 1, "file.csv", &t, small, sizeof small), -1);
    assert_string_equal(small, "file.cs");
    trace_free(&t);
}

/* ---- bad inputs: each must fail with a message naming line and field ---- */

struct bad_case {
    const char *input;
    size_t len; /* 0: strlen(input) */
    const char *want;
};

static void run_bad(void **state)
{
    const struct bad_case *c = *state;
    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    int rc = parse(c->input, c->len ? c->len : strlen(c->input), &t, err);
    if (rc != -1)
        fail_msg("accepted, want error \"%s\"", c->want);
    if (!strstr(err, c->want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, c->want);
    trace_free(&t);
}

#define BAD(name, in, want) \
    {"bad_" #name, run_bad, NULL, NULL, &(struct bad_case){in, 0, want}}
#define BADN(name, in, len, want) \
    {"bad_" #name, run_bad, NULL, NULL, &(struct bad_case){in, len, want}}
#define H "id,submit,run,gpus\n"
#define HN "id,submit,run,gpus,nodes,gpus_per_node\n"

int main(void)
{
    /* Automatic, not static: the cases are compound literals of main. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_columns),
        cmocka_unit_test(test_required_only_any_order_crlf),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_whole_nodes_with_gpus),
        cmocka_unit_test(test_null_buffer_and_err),
        BAD(empty, "", "t.csv:1: header: missing"),
        BAD(only_comments, "# a\n\n# b\n", "t.csv:3: header: missing"),
        BAD(missing_column, "id,submit,run\n", "t.csv:1: field gpus: required column missing"),
        BAD(unknown_column, "id,submit,run,gpus,colour\n",
            "t.csv:1: field colour: unknown column"),
        BAD(repeated_column, "id,submit,run,gpus,id\n",
            "t.csv:1: field id: column named twice"),
        BAD(empty_column_name, "id,submit,,run,gpus\n", "t.csv:1: header: empty column name"),
        BAD(all_columns_and_one_more,
            "id,submit,run,gpus,time_limit,nodes,gpus_per_node,cpus_per_gpu,mem_per_gpu_mb,"
            "pool,user,account,qos,x\n",
            "t.csv:1: field x: unknown column"),
        BAD(short_line, H "1,0,10\n", "t.csv:2: expected 4 fields as in the header, got 3"),
        BAD(long_line, H "1,0,10,1,\n", "t.csv:2: expected 4 fields as in the header, got 5"),
        BAD(line_after_comments, "# c\n\n" H "# c\n1,0,10,x\n",
            "t.csv:5: field gpus: must be a positive integer, got \"x\""),
        BAD(id_junk, H "x1,0,10,1\n", "t.csv:2: field id: must be an integer, got \"x1\""),
        BAD(id_empty, H ",0,10,1\n", "t.csv:2: field id: required, got an empty value"),
        BAD(id_too_small, H "-1000000000001,0,10,1\n",
            "t.csv:2: field id: must be at least -1000000000000"),
        BAD(submit_negative, H "1,-5,10,1\n",
            "t.csv:2: field submit: must be a non-negative integer, got \"-5\""),
        BAD(submit_too_big, H "1,1000000000001,10,1\n",
            "t.csv:2: field submit: must be at most 1000000000000, got \"1000000000001\""),
        BAD(submit_huge, H "1,99999999999999999999999999,10,1\n",
            "t.csv:2: field submit: must be at most 1000000000000"),
        BAD(submit_sign_only, H "1,-,10,1\n", "t.csv:2: field submit: must be a non-negative"),
        BAD(run_trailing_junk, H "1,0,10s,1\n",
            "t.csv:2: field run: must be a non-negative integer, got \"10s\""),
        BAD(run_fraction, H "1,0,1.5,1\n", "t.csv:2: field run: must be a non-negative"),
        BAD(run_empty, H "1,0,,1\n", "t.csv:2: field run: required"),
        BAD(gpus_negative, H "1,0,10,-3\n",
            "t.csv:2: field gpus: must be a positive integer, got \"-3\""),
        BAD(gpus_zero, H "1,0,10,0\n", "t.csv:2: field gpus: must be a positive integer"),
        BAD(gpus_empty, H "1,0,10,\n", "t.csv:2: field gpus: required"),
        BAD(gpus_too_big, H "1,0,10,1000000001\n", "t.csv:2: field gpus: must be at most"),
        BAD(gpus_empty_whole_nodes, HN "1,0,10,,2,\n",
            "t.csv:2: field gpus: required unless both nodes and gpus_per_node"),
        BAD(gpus_mismatch, HN "1,0,10,8,2,8\n",
            "t.csv:2: field gpus: 8 does not equal nodes * gpus_per_node = 16"),
        BAD(gpus_fewer_than_nodes, HN "1,0,10,1,2,\n",
            "t.csv:2: field gpus: 1 GPUs cannot span 2 nodes"),
        BAD(gpn_without_nodes, HN "1,0,10,8,,8\n",
            "t.csv:2: field gpus_per_node: given without nodes"),
        BAD(gpn_too_big, HN "1,0,10,,1,2000\n",
            "t.csv:2: field gpus_per_node: must be at most 1024"),
        BAD(nodes_negative, HN "1,0,10,8,-1,\n",
            "t.csv:2: field nodes: must be a non-negative integer"),
        BAD(gang_too_big, HN "1,0,10,,1000000000,1024\n", "t.csv:2: field nodes: nodes * "),
        BAD(time_limit_junk, "id,submit,run,gpus,time_limit\n1,0,10,1,1h\n",
            "t.csv:2: field time_limit: must be an integer, got \"1h\""),
        BAD(cpus_junk, "id,submit,run,gpus,cpus_per_gpu\n1,0,10,1,many\n",
            "t.csv:2: field cpus_per_gpu: must be a non-negative integer"),
        BAD(mem_negative, "id,submit,run,gpus,mem_per_gpu_mb\n1,0,10,1,-1\n",
            "t.csv:2: field mem_per_gpu_mb: must be a non-negative integer"),
        BAD(user_too_big, "id,submit,run,gpus,user\n1,0,10,1,4294967296\n",
            "t.csv:2: field user: must be at most 4294967295"),
        BAD(user_negative, "id,submit,run,gpus,user\n1,0,10,1,-1\n",
            "t.csv:2: field user: must be a non-negative integer"),
        BAD(pool_empty_alternative, "id,submit,run,gpus,pool\n1,0,10,1,h100||h200\n",
            "t.csv:2: field pool: empty pool name in \"h100||h200\""),
        BAD(pool_trailing_bar, "id,submit,run,gpus,pool\n1,0,10,1,h100|\n",
            "t.csv:2: field pool: empty pool name"),
        BAD(pool_too_long,
            "id,submit,run,gpus,pool\n1,0,10,1,"
            "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp\n",
            "t.csv:2: field pool: longer than 63 characters"),
        BAD(qos_too_long, "id,submit,run,gpus,qos\n1,0,10,1,extraordinarily-high\n",
            "t.csv:2: field qos: longer than 15 characters"),
        BAD(account_control, "id,submit,run,gpus,account\n1,0,10,1,a\x01" "b\n",
            "t.csv:2: field account: contains a control character, got \"a\\x01b\""),
        BADN(nul_in_number, H "1,0,1\0" "0,1\n", sizeof(H "1,0,1\0" "0,1\n") - 1,
             "t.csv:2: field run: must be a non-negative integer, got \"1\\x000\""),
        BAD(third_line, H "1,0,10,1\n2,0,10,1\n3,0,10\n",
            "t.csv:4: expected 4 fields as in the header, got 3"),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
