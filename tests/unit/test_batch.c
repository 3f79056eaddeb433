/* Unit tests of batch script directives (src/libjob/batch.c): '#SBATCH' and
 * '#FLEET' lines as Slurm users write them, and every way they can break. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobspec.h"

static int parse(const char *text, jobspec *j, char *err)
{
    jobspec_init(j);
    return batch_parse(text, strlen(text), j, err, JOBSPEC_ERRLEN);
}

/* The script must be refused with exactly this message. */
static void parse_fails(const char *text, const char *want)
{
    jobspec j;
    char err[JOBSPEC_ERRLEN] = "";
    if (parse(text, &j, err) == 0)
        fail_msg("accepted: %s", text);
    if (strcmp(err, want) != 0)
        fail_msg("message \"%s\", want \"%s\"", err, want);
    assert_null(j.script);
    jobspec_free(&j);
}

static const char slurm_script[] =
    "#!/bin/bash\n"
    "#SBATCH --job-name=llama-pretrain\n"
    "#SBATCH --account=proj-llm\n"
    "#SBATCH -p h100\n"
    "#SBATCH -N 4\n"
    "#SBATCH --ntasks-per-node=8\n"
    "#SBATCH --gres=gpu:8\n"
    "#SBATCH --cpus-per-gpu=12\n"
    "#SBATCH --mem-per-gpu=80G\n"
    "#SBATCH --time=2-00:00:00\n"
    "#SBATCH --output=logs/%x-%j.out\n"
    "#SBATCH --error=logs/%x-%j.err\n"
    "#SBATCH --mail-type=END,FAIL\n"
    "#SBATCH --mail-user=someone@example.org\n"
    "#SBATCH --constraint=ib\n"
    "#SBATCH --mem=0\n"
    "#SBATCH --cpus-per-task=12\n"
    "#SBATCH --exclusive\n"
    "#SBATCH --qos=high\n"
    "#SBATCH --export=ALL,NCCL_DEBUG=INFO\n"
    "#SBATCH --dependency=afterok:1001\n"
    "#SBATCH --no-requeue\n"
    "#SBATCH --chdir=/scratch/proj-llm\n"
    "\n"
    "# set up the environment\n"
    "module load cuda/12.4\n"
    "#SBATCH --time=1:00:00\n"
    "#SBATCH --frob\n"
    "export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n"
    "srun python train.py --config configs/7b.yaml\n";

static void test_slurm_script(void **state)
{
    (void)state;
    jobspec j;
    char err[JOBSPEC_ERRLEN], field[JOBSPEC_ERRLEN];
    if (parse(slurm_script, &j, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), 0);
    assert_string_equal(j.name, "llama-pretrain");
    assert_string_equal(j.account, "proj-llm");
    assert_string_equal(j.pool, "h100");
    assert_int_equal(j.nodes, 4);
    assert_int_equal(j.gpus_per_node, 8);
    assert_int_equal(j.gpus, 32);
    assert_int_equal(j.cpus_per_gpu, 12);
    assert_int_equal(j.mem_per_gpu_mb, 80 * 1024);
    assert_int_equal(j.time_limit, 2 * 86400); /* the directive after the command is ignored */
    assert_string_equal(j.output, "logs/%x-%j.out");
    assert_string_equal(j.error, "logs/%x-%j.err");
    assert_int_equal(j.exclusive, 1);
    assert_string_equal(j.qos, "high");
    assert_int_equal(j.nenv, 1);
    assert_string_equal(j.env[0], "NCCL_DEBUG=INFO");
    assert_int_equal(j.ndeps, 1);
    assert_int_equal(j.deps[0].type, JOB_DEP_AFTEROK);
    assert_int_equal(j.deps[0].job_id, 1001);
    assert_int_equal(j.no_requeue, 1);
    assert_int_equal(j.hold, 0);
    assert_string_equal(j.workdir, "/scratch/proj-llm");
    assert_string_equal(j.script, slurm_script); /* the text, unchanged */
    assert_null(j.wrap);

    /* And it goes through the API unchanged. */
    char *text = jobspec_to_json(&j);
    assert_non_null(text);
    jobspec back;
    assert_int_equal(jobspec_from_json(text, strlen(text), &back, field, sizeof field, err,
                                       sizeof err), 0);
    char *again = jobspec_to_json(&back);
    assert_string_equal(text, again);
    assert_string_equal(back.script, slurm_script);
    free(text);
    free(again);
    jobspec_free(&back);
    jobspec_free(&j);
}

static void test_forms(void **state)
{
    (void)state;
    const char *script =
        "#!/bin/sh\n"
        "#FLEET --gpus 8 --time 1:00:00 -J \"my job\"\n"
        "#SBATCH -t30 --pool='h100|h200'  # thirty minutes, two pools\n"
        "#SBATCH --job-name=\"a \\\"quoted\\\" b\" -q'hi'\n"
        "#SBATCH   --hold\t--array=0-3%2 \n"
        "#SBATCH --export=A=1 --export B=2,C='x y'\n"
        "#SBATCH --chdir /with\\ space -o out\\\\file -e 'it''s'\n"
        "#SBATCH\n"
        "#SBATCH  # only a comment\n"
        "#SBATCH -H -d singleton -Nfoo#bar\n"
        "true\n";
    jobspec j;
    char err[JOBSPEC_ERRLEN];
    /* -Nfoo#bar: '#' inside a word is not a comment, so this must fail... */
    assert_int_equal(parse(script, &j, err), -1);
    assert_string_equal(err, "script:10: #SBATCH -Nfoo#bar: invalid count \"foo#bar\" (a whole "
                             "number 1..100000)");
    jobspec_free(&j);

    /* ...and without it, everything before applies. */
    char *fixed = strdup(script);
    strstr(fixed, " -Nfoo#bar")[0] = '\n';
    strstr(fixed, "\n-Nfoo#bar")[1] = '#';
    if (parse(fixed, &j, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(j.gpus, 8);
    assert_int_equal(j.time_limit, 30 * 60); /* the later -t30 wins */
    assert_string_equal(j.pool, "h100|h200");
    assert_string_equal(j.name, "a \"quoted\" b");
    assert_string_equal(j.qos, "hi");
    assert_int_equal(j.hold, 1);
    assert_string_equal(j.array_spec, "0-3%2");
    assert_int_equal(j.narray, 4);
    assert_int_equal(j.array_max_running, 2);
    assert_int_equal(j.nenv, 3);
    assert_string_equal(jobspec_getenv(&j, "A"), "1");
    assert_string_equal(jobspec_getenv(&j, "B"), "2");
    assert_string_equal(jobspec_getenv(&j, "C"), "x y");
    assert_string_equal(j.workdir, "/with space");
    assert_string_equal(j.output, "out\\file");
    assert_string_equal(j.error, "its");
    assert_int_equal(j.ndeps, 1);
    assert_int_equal(j.deps[0].type, JOB_DEP_SINGLETON);
    jobspec_free(&j);
    free(fixed);
}

static void test_header_rules(void **state)
{
    (void)state;
    jobspec j;
    char err[JOBSPEC_ERRLEN];
    /* Blank lines and comments keep the header open; look-alikes are comments. */
    const char *s = "#!/bin/bash\n"
                    "\n"
                    "   \t\n"
                    "# SBATCH --gpus=99\n"
                    "#SBATCHX --gpus=99\n"
                    "#sbatch --gpus=99\n"
                    "  #SBATCH --gpus=99\n"
                    "##SBATCH --gpus=99\n"
                    "#FLEETING --gpus=99\n"
                    "#SBATCH --gpus=2\n"
                    "   # indented comment\n"
                    "#FLEET --gpus=3\n"
                    "echo start\n"
                    "#SBATCH --gpus=4\n"
                    "#FLEET --gpus=5\n";
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(j.gpus, 3);
    jobspec_free(&j);

    /* Windows line ends; no final newline. */
    s = "#!/bin/bash\r\n#SBATCH --gpus=2\r\n#SBATCH --job-name=x\r\nsrun x";
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(j.gpus, 2);
    assert_string_equal(j.name, "x");
    assert_string_equal(j.script, s);
    jobspec_free(&j);

    /* The last line may be a directive without a newline. */
    s = "#!/bin/bash\n#SBATCH --gpus=6";
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(j.gpus, 6);
    jobspec_free(&j);

    /* Only the shebang. */
    assert_int_equal(parse("#!", &j, err), 0);
    assert_string_equal(j.script, "#!");
    jobspec_free(&j);

    /* The length bounds the text: what follows is never read. */
    const char *longer = "#!/bin/sh\n#SBATCH --gpus=1\n#SBATCH --frob\n";
    jobspec_init(&j);
    assert_int_equal(batch_parse(longer, 27, &j, err, sizeof err), 0);
    assert_int_equal(j.gpus, 1);
    assert_string_equal(j.script, "#!/bin/sh\n#SBATCH --gpus=1\n");
    jobspec_free(&j);
}

static void test_cli_overrides(void **state)
{
    (void)state;
    /* fleet submit: the script's directives, then the command line, then
     * finalize, as sbatch gives the command line the last word. */
    jobspec j;
    char err[JOBSPEC_ERRLEN], field[JOBSPEC_ERRLEN];
    const char *s = "#!/bin/bash\n#SBATCH -N 4\n#SBATCH --gres=gpu:8\n#SBATCH -t 10\nsrun x\n";
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(jobspec_set_option(&j, "nodes", "2", err, sizeof err), 0);
    assert_int_equal(jobspec_set_option(&j, "time", "1:00:00", err, sizeof err), 0);
    assert_int_equal(jobspec_finalize(&j, field, sizeof field, err, sizeof err), 0);
    assert_int_equal(j.nodes, 2);
    assert_int_equal(j.gpus, 16);
    assert_int_equal(j.time_limit, 3600);

    /* Parsing again replaces the script, without a leak. */
    assert_int_equal(batch_parse("#!/bin/sh\n", 10, &j, err, sizeof err), 0);
    assert_string_equal(j.script, "#!/bin/sh\n");
    jobspec_free(&j);

    /* A script and --wrap together: finalize says so. */
    assert_int_equal(parse("#!/bin/sh\n#SBATCH --wrap=hostname -G 1\n", &j, err), 0);
    assert_int_equal(jobspec_finalize(&j, NULL, 0, err, sizeof err), -1);
    assert_string_equal(err, "wrap: script and wrap are exclusive");
    jobspec_free(&j);
}

static void test_broken_directives(void **state)
{
    (void)state;
    parse_fails("#!/bin/bash\n#SBATCH -N 2\n\n#SBATCH --time=abc\nsrun x\n",
                "script:4: #SBATCH --time=abc: invalid duration \"abc\"");
    parse_fails("#!/bin/bash\n#SBATCH --frob=1\n", "script:2: #SBATCH --frob=1: unknown option "
                                                   "--frob");
    parse_fails("#!/bin/bash\n#SBATCH --frob 1\n", "script:2: #SBATCH --frob: unknown option "
                                                   "--frob");
    parse_fails("#!/bin/bash\n#SBATCH -Z 3\n", "script:2: #SBATCH -Z: unknown option -Z");
    parse_fails("#!/bin/bash\n#SBATCH --time\n", "script:2: #SBATCH --time: requires a value");
    parse_fails("#!/bin/bash\n#SBATCH -t\n", "script:2: #SBATCH -t: requires a value");
    parse_fails("#!/bin/bash\n#SBATCH --time # an hour\n",
                "script:2: #SBATCH --time: requires a value");
    parse_fails("#!/bin/bash\n#SBATCH --hold=yes\n", "script:2: #SBATCH --hold=yes: takes no "
                                                     "value");
    parse_fails("#!/bin/bash\n#SBATCH -Hx\n", "script:2: #SBATCH -Hx: takes no value");
    parse_fails("#!/bin/bash\n#SBATCH --gpus=\n", "script:2: #SBATCH --gpus=: empty value");
    parse_fails("#!/bin/bash\n#SBATCH -N x\n", "script:2: #SBATCH -N x: invalid count \"x\" (a "
                                               "whole number 1..100000)");
    parse_fails("#!/bin/bash\n#SBATCH -N0\n", "script:2: #SBATCH -N0: \"0\" is out of range "
                                              "1..100000");
    parse_fails("#!/bin/bash\n#SBATCH --gpus 1000000000\n",
                "script:2: #SBATCH --gpus 1000000000: \"1000000000\" is out of range 1..100000");
    parse_fails("#!/bin/bash\n#SBATCH --job-name=\"abc\n",
                "script:2: #SBATCH --job-name=\"abc: unterminated quote");
    parse_fails("#!/bin/bash\n#SBATCH -J 'abc def\n",
                "script:2: #SBATCH 'abc def: unterminated quote");
    parse_fails("#!/bin/bash\n#SBATCH gpus=8\n",
                "script:2: #SBATCH gpus=8: unexpected \"gpus=8\" (an option starts with - or --)");
    parse_fails("#!/bin/bash\n#SBATCH -5\n",
                "script:2: #SBATCH -5: unexpected \"-5\" (an option starts with - or --)");
    parse_fails("#!/bin/bash\n#SBATCH --\n",
                "script:2: #SBATCH --: unexpected \"--\" (an option starts with - or --)");
    parse_fails("#!/bin/bash\n#SBATCH - x\n",
                "script:2: #SBATCH -: unexpected \"-\" (an option starts with - or --)");
    parse_fails("#!/bin/bash\n#SBATCH -N 4 --gres=nvme:1\n",
                "script:2: #SBATCH --gres=nvme:1: unsupported resource \"nvme\" (only "
                "gpu[:TYPE][:N])");
    parse_fails("#!/bin/bash\n#SBATCH --mem-per-gpu=16GB\n",
                "script:2: #SBATCH --mem-per-gpu=16GB: invalid memory size \"16GB\"");
    parse_fails("#!/bin/bash\n#SBATCH --array=0-100000\n",
                "script:2: #SBATCH --array=0-100000: array spec \"0-100000\": more than 100000 "
                "tasks");
    parse_fails("#!/bin/bash\n#SBATCH -d afterok:1?afterok:2\n",
                "script:2: #SBATCH -d afterok:1?afterok:2: '?' (any of the dependencies) is not "
                "supported: use ','");
    parse_fails("#!/bin/bash\n#SBATCH --export=FOO\n",
                "script:2: #SBATCH --export=FOO: \"FOO\" has no value (use KEY=VALUE)");
    parse_fails("#!/bin/bash\n#SBATCH -p 'a b'\n",
                "script:2: #SBATCH -p 'a b': a name may not contain blanks, ',' or '|': \"a b\"");
    parse_fails("#!/bin/bash\n#FLEET --gpus=0\n",
                "script:2: #FLEET --gpus=0: \"0\" is out of range 1..100000");
    parse_fails("#!/bin/bash\n#SBATCH --job-name=a\rb\n",
                "script:2: #SBATCH --job-name=a\\x0db: contains a control character: "
                "\"a\\x0db\"");
    parse_fails("#!/bin/bash\n#SBATCH --time=\xe8\xae\xad\n",
                "script:2: #SBATCH --time=\xe8\xae\xad: invalid duration \"\\xe8\\xae\\xad\"");
}

static void test_broken_scripts(void **state)
{
    (void)state;
    const char *no_shebang = "script:1: a batch script must start with #! (e.g. #!/bin/bash)";
    parse_fails("", no_shebang);
    parse_fails("#", no_shebang);
    parse_fails("echo hi\n", no_shebang);
    parse_fails("#SBATCH --gpus=1\n#!/bin/bash\n", no_shebang);
    parse_fails(" #!/bin/bash\n", no_shebang);
    parse_fails("\n#!/bin/bash\n", no_shebang);

    jobspec j;
    char err[JOBSPEC_ERRLEN];
    jobspec_init(&j);
    assert_int_equal(batch_parse("#!/bin/sh\necho\0hi\n", 18, &j, err, sizeof err), -1);
    assert_string_equal(err, "script:2: contains a NUL byte");
    assert_int_equal(batch_parse("#!/bin/sh\n#SBATCH -J x\n\xff\n", 25, &j, err, sizeof err),
                     -1);
    assert_string_equal(err, "script:3: not valid UTF-8");
    assert_null(j.script);
    assert_int_equal(batch_parse(NULL, 0, &j, err, sizeof err), -1);
    assert_int_equal(batch_parse(NULL, 5, &j, err, sizeof err), -1);
    assert_int_equal(batch_parse("#!x", 3, NULL, err, sizeof err), -1);
    assert_int_equal(batch_parse("x", 1, &j, NULL, 0), -1);
    jobspec_free(&j);

    /* 1 MiB is the most; 10 MB is refused before anything is read. */
    size_t big = 10 * 1024 * 1024;
    char *text = malloc(big);
    memset(text, 'x', big);
    memcpy(text, "#!/bin/sh\n#SBATCH --gpus=1\n", 27);
    jobspec_init(&j);
    assert_int_equal(batch_parse(text, big, &j, err, sizeof err), -1);
    assert_string_equal(err, "script: larger than 1 MiB");
    assert_int_equal(batch_parse(text, JOBSPEC_SCRIPT_MAX + 1, &j, err, sizeof err), -1);
    assert_string_equal(err, "script: larger than 1 MiB");
    assert_int_equal(batch_parse(text, JOBSPEC_SCRIPT_MAX, &j, err, sizeof err), 0);
    assert_int_equal(j.gpus, 1);
    assert_int_equal(strlen(j.script), JOBSPEC_SCRIPT_MAX);
    jobspec_free(&j);

    /* A directive line as long as the limit. */
    memset(text, ' ', JOBSPEC_SCRIPT_MAX);
    memcpy(text, "#!/bin/sh\n#SBATCH --job-name=", 29);
    memset(text + 29, 'n', 300);
    jobspec_init(&j);
    assert_int_equal(batch_parse(text, JOBSPEC_SCRIPT_MAX, &j, err, sizeof err), -1);
    /* The message shows the directive cut short. */
    assert_non_null(strstr(err, "script:2: #SBATCH --job-name=nnnn"));
    assert_non_null(strstr(err, "...: longer than 127 bytes"));
    jobspec_free(&j);
    free(text);

    /* A cut never splits a character: after "--gpus=" (7 bytes), 24
     * three-byte characters end at byte 79 and the 25th would cross 80, so
     * the directive shows 24 of them and "...". */
    char s[512] = "#!/bin/sh\n#SBATCH --gpus=";
    for (int i = 0; i < 40; i++)
        strcat(s, "\xe8\xae\xad");
    strcat(s, "\n");
    assert_int_equal(parse(s, &j, err), -1);
    char want[512] = "script:2: #SBATCH --gpus=";
    for (int i = 0; i < 24; i++)
        strcat(want, "\xe8\xae\xad");
    strcat(want, "...: invalid count");
    assert_memory_equal(err, want, strlen(want));
    jobspec_free(&j);

    /* On an error, the options before it stay applied, the script is untouched. */
    jobspec_init(&j);
    assert_int_equal(batch_parse("#!/bin/sh\n#SBATCH -G 2\n#SBATCH -t x\n", 35, &j, err,
                                 sizeof err), -1);
    assert_int_equal(j.gpus, 2);
    assert_null(j.script);
    jobspec_free(&j);

    /* A tiny error buffer. */
    char tiny[10];
    jobspec_init(&j);
    assert_int_equal(batch_parse("#!/bin/sh\n#SBATCH --frob\n", 25, &j, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 9);
    jobspec_free(&j);
}

static void test_many_words(void **state)
{
    (void)state;
    /* A directive with many short options: the word table holds them all. */
    char s[4096] = "#!/bin/sh\n#SBATCH";
    for (int i = 0; i < 300; i++)
        strcat(s, " -H");
    strcat(s, "\n");
    jobspec j;
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(j.hold, 1);
    jobspec_free(&j);

    /* Every one-character word a line can hold. */
    strcpy(s, "#!/bin/sh\n#SBATCH");
    for (int i = 0; i < 1000; i++)
        strcat(s, " x");
    assert_int_equal(parse(s, &j, err), -1);
    assert_string_equal(err, "script:2: #SBATCH x: unexpected \"x\" (an option starts with - or "
                             "--)");
    jobspec_free(&j);
}

static void test_directive_bound(void **state)
{
    (void)state;
    /* The most options a script may hold, over several lines, is fine... */
    size_t cap = 64 + 20 * JOBSPEC_DIRECTIVES_MAX;
    char *s = malloc(cap);
    strcpy(s, "#!/bin/sh\n");
    for (int i = 0; i < JOBSPEC_DIRECTIVES_MAX; i++)
        strcat(s, i % 10 == 9 ? "#SBATCH -a 0-99999\n" : "#SBATCH -H\n");
    jobspec j;
    char err[JOBSPEC_ERRLEN];
    assert_int_equal(parse(s, &j, err), 0);
    assert_int_equal(j.narray, 100000);
    jobspec_free(&j);
    /* ...one more is not. */
    strcat(s, "#SBATCH -t 5 -H\n");
    assert_int_equal(parse(s, &j, err), -1);
    char want[JOBSPEC_ERRLEN];
    snprintf(want, sizeof want, "script:%d: more than %d options in directives",
             JOBSPEC_DIRECTIVES_MAX + 2, JOBSPEC_DIRECTIVES_MAX);
    assert_string_equal(err, want);
    jobspec_free(&j);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm_script),     cmocka_unit_test(test_forms),
        cmocka_unit_test(test_header_rules),     cmocka_unit_test(test_cli_overrides),
        cmocka_unit_test(test_broken_directives), cmocka_unit_test(test_broken_scripts),
        cmocka_unit_test(test_many_words),       cmocka_unit_test(test_directive_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
