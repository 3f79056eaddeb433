/*
 * Unit tests of the center YAML reader (src/libtrace/center_yaml.c) and of
 * its conversion into libsched's policy object (src/sim/sim_center.c):
 * a full file read back field by field, the example file, durations and
 * dates, and every error naming the file, the line and the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "center_yaml.h"
#include "sim.h"

static int parse(const char *text, center_desc *c, char *err)
{
    return center_yaml_parse(text, strlen(text), "c.yaml", c, err, TRACE_ERRLEN);
}

/* The text must fail with exactly this message. */
static void expect_error(const char *text, const char *want)
{
    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    int rc = parse(text, &c, err);
    center_desc_free(&c);
    if (rc == 0)
        fail_msg("accepted, want error: %s\n--- input ---\n%s", want, text);
    if (strcmp(err, want) != 0)
        fail_msg("error\n  got:  %s\n  want: %s", err, want);
}

static const char *const full =
    "center: nsc\n"                                   /* 1 */
    "priority:\n"                                     /* 2 */
    "  weights: {age: 10, fairshare: 20, size: 30, qos: 40}\n"
    "  max_age: 2d\n"
    "  half_life: 36h\n"
    "  calc_period: 90\n"
    "  favor_small: true\n"
    "qos:\n"                                          /* 8 */
    "  - name: normal\n"
    "    max_wall: 2d\n"
    "    max_gpus_per_user: 64\n"
    "  - name: high\n"
    "    priority: 100\n"
    "    max_gpus_per_project: 96\n"
    "    preempt: [scavenger, normal]\n"
    "  - name: scavenger\n"
    "    preempt: high\n"
    "default_qos: high\n"
    "accounts:\n"                                     /* 19 */
    "  - name: fm\n"
    "    shares: 40\n"
    "    organizations:\n"
    "      - name: kisti\n"
    "        projects:\n"
    "          - name: llm\n"
    "            shares: 2.5\n"
    "            trace_group: 7\n"
    "    projects:\n"
    "      - {name: fm-direct}\n"
    "  - name: uni\n"
    "    organizations:\n"
    "      - name: snu\n"
    "        organizations:\n"
    "          - name: snu-cs\n"
    "            projects: [{name: vision}]\n"
    "users:\n"                                        /* 36 */
    "  - name: alice\n"
    "    uid: 1001\n"
    "    projects: [llm, vision]\n"
    "    default_project: vision\n"
    "    shares: 2\n"
    "  - name: bob\n"
    "    projects: fm-direct\n"
    "allocations:\n"                                  /* 44 */
    "  - name: spring\n"
    "    account: llm\n"
    "    gpu_hours: 20000\n"
    "    pools: h100|h200\n"
    "    start: 2025-03-01\n"
    "    end: 2025-09-01T12:00:00Z\n"
    "  - name: whole\n"
    "    account: nsc\n"
    "    gpu_hours: 1.5\n";

static void test_full(void **state)
{
    (void)state;
    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    if (parse(full, &c, err) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.name, "nsc");

    const center_priority *p = &c.priority;
    assert_int_equal(p->w_age, 10);
    assert_int_equal(p->w_fairshare, 20);
    assert_int_equal(p->w_size, 30);
    assert_int_equal(p->w_qos, 40);
    assert_int_equal(p->max_age, 2 * 86400);
    assert_int_equal(p->half_life, 36 * 3600);
    assert_int_equal(p->calc_period, 90);
    assert_int_equal(p->favor_small, 1);

    assert_int_equal(c.nqos, 3);
    assert_string_equal(c.qos[0].name, "normal");
    assert_int_equal(c.qos[0].max_wall, 2 * 86400);
    assert_int_equal(c.qos[0].max_gpus_per_user, 64);
    assert_int_equal(c.qos[0].preempt, 0);
    assert_int_equal(c.qos[1].priority, 100);
    assert_int_equal(c.qos[1].max_gpus_per_project, 96);
    assert_int_equal(c.qos[1].preempt, (1 << 2) | (1 << 0));
    assert_int_equal(c.qos[2].preempt, 1 << 1); /* a single name works too */
    assert_int_equal(c.qos[2].line, 16);
    assert_int_equal(c.default_qos, 1);

    /* parents first, depth first in file order */
    assert_int_equal(c.naccounts, 8);
    static const char *const names[] = {"fm", "kisti", "llm", "fm-direct",
                                        "uni", "snu", "snu-cs", "vision"};
    static const int levels[] = {CENTER_TIER, CENTER_ORG, CENTER_PROJECT, CENTER_PROJECT,
                                 CENTER_TIER, CENTER_ORG, CENTER_ORG, CENTER_PROJECT};
    static const int parents[] = {-1, 0, 1, 0, -1, 4, 5, 6};
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(c.accounts[i].name, names[i]);
        assert_int_equal(c.accounts[i].level, levels[i]);
        assert_int_equal(c.accounts[i].parent, parents[i]);
    }
    assert_true(c.accounts[0].shares == 40);
    assert_true(c.accounts[2].shares == 2.5);
    assert_true(c.accounts[4].shares == 1); /* default */
    assert_int_equal(c.accounts[2].trace_group, 7);
    assert_int_equal(c.accounts[3].trace_group, -1);
    assert_int_equal(c.accounts[2].line, 25);

    assert_int_equal(c.nusers, 2);
    assert_string_equal(c.users[0].name, "alice");
    assert_int_equal(c.users[0].uid, 1001);
    assert_true(c.users[0].shares == 2);
    assert_int_equal(c.users[0].default_project, 7);  /* vision */
    assert_int_equal(c.users[1].uid, -1);
    assert_int_equal(c.users[1].default_project, 3);  /* the only one */
    assert_int_equal(c.nmembers, 3);
    assert_int_equal(c.members[0].user, 0);
    assert_int_equal(c.members[0].project, 2);
    assert_int_equal(c.members[1].project, 7);
    assert_int_equal(c.members[2].user, 1);
    assert_int_equal(c.members[2].project, 3);

    assert_int_equal(c.nallocs, 2);
    assert_string_equal(c.allocs[0].name, "spring");
    assert_int_equal(c.allocs[0].account, 2);
    assert_string_equal(c.allocs[0].pools, "h100|h200");
    assert_int_equal(c.allocs[0].pools_line, 48);
    assert_int_equal(c.allocs[0].start, 1740787200);          /* 2025-03-01 UTC */
    assert_int_equal(c.allocs[0].end, 1756684800 + 12 * 3600); /* 2025-09-01 noon */
    assert_true(c.allocs[0].gpu_hours == 20000);
    assert_int_equal(c.allocs[1].account, -1);                /* the center itself */
    assert_string_equal(c.allocs[1].pools, "");
    assert_int_equal(c.allocs[1].start, INT64_MIN);
    assert_int_equal(c.allocs[1].end, INT64_MAX);
    center_desc_free(&c);
}

static void test_defaults_and_minimal(void **state)
{
    (void)state;
    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    if (parse("accounts:\n  - name: t\n    projects: [{name: p}]\n", &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.naccounts, 2);
    assert_int_equal(c.nqos, 0);
    assert_int_equal(c.default_qos, -1);
    assert_int_equal(c.priority.w_age, -1); /* not given */
    assert_int_equal(c.priority.half_life, -1);
    assert_int_equal(c.priority.favor_small, -1);
    assert_int_equal(c.storage.backend, CENTER_STORE_DEFAULT);
    center_desc_free(&c);
}

/* fleetd's storage section: SQLite, or PostgreSQL with its connection string. */
static void test_storage(void **state)
{
    (void)state;
    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    if (parse("accounts:\n  - name: t\n    projects: [{name: p}]\nstorage:\n  backend: "
              "postgres\n  conninfo: \"host=/var/run/postgresql dbname=gpufleet\"\n",
              &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.storage.backend, CENTER_STORE_POSTGRES);
    assert_string_equal(c.storage.conninfo, "host=/var/run/postgresql dbname=gpufleet");
    assert_int_equal(c.storage.line, 5);
    center_desc_free(&c);
    if (parse("storage: {backend: sqlite}\naccounts:\n  - name: t\n    projects: [{name: p}]\n",
              &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.storage.backend, CENTER_STORE_SQLITE);
    assert_string_equal(c.storage.conninfo, "");
    center_desc_free(&c);
}

static void test_example_file(void **state)
{
    (void)state;
    const char *root = getenv("GPUFLEET_TESTDATA");
    char path[4096], cpath[4096];
    snprintf(path, sizeof path, "%s/../../examples/center-small.yaml", root ? root : "tests/data");
    snprintf(cpath, sizeof cpath, "%s/../../examples/cluster-small.yaml",
             root ? root : "tests/data");
    char *buf;
    size_t len;
    char err[TRACE_ERRLEN];
    if (trace_slurp(path, &buf, &len, err, sizeof err) != 0)
        skip(); /* run from elsewhere than the tree */
    center_desc c;
    center_desc_init(&c);
    if (center_yaml_parse(buf, len, path, &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    free(buf);
    assert_true(c.naccounts >= 10);
    assert_true(c.nallocs >= 1);

    /* and it builds against the example cluster */
    cluster_desc cd;
    cluster_desc_init(&cd);
    assert_int_equal(trace_slurp(cpath, &buf, &len, err, sizeof err), 0);
    assert_int_equal(cluster_yaml_parse(buf, len, cpath, &cd, err, sizeof err), 0);
    free(buf);
    sched *m = sim_cluster_machine(&cd, err, sizeof err);
    assert_non_null(m);
    double rates[SCHED_MAX_POOLS];
    for (size_t i = 0; i < cd.npools; i++)
        rates[i] = cd.pools[i].charge_rate;
    sim_center *sc = sim_center_build(&c, m, rates, path, err, sizeof err);
    if (!sc)
        fail_msg("%s", err);
    acct_center *a = sim_center_acct(sc);
    int llm = acct_account_find(a, "kisti-llm");
    assert_int_equal(acct_node_level(a, llm), ACCT_PROJECT);
    assert_string_equal(acct_node_name(a, acct_node_ancestor(a, llm, ACCT_TIER)),
                        "foundation-model");
    int minji = acct_user_find_uid(a, 1);
    assert_int_equal(acct_user_default(a, minji), llm);
    int al = acct_alloc_find(a, "etri-2025");
    char pools[64];
    acct_pools_format(a, acct_alloc_get(a, al)->pools, pools, sizeof pools);
    assert_string_equal(pools, "h100|npu");
    assert_true(acct_pool_rate(a, 1) == 1.4);
    sim_center_free(sc);
    sched_destroy(m);
    cluster_desc_free(&cd);
    center_desc_free(&c);
}

static void test_build_errors(void **state)
{
    (void)state;
    char err[TRACE_ERRLEN];
    sched *m = sim_classic_machine(8, err, sizeof err);
    center_desc c;
    center_desc_init(&c);
    const char *text = "accounts:\n"
                       "  - name: t\n"
                       "    projects: [{name: p}]\n"
                       "allocations:\n"
                       "  - name: a\n"
                       "    account: p\n"
                       "    gpu_hours: 1\n"
                       "    pools: h100\n";
    assert_int_equal(parse(text, &c, err), 0);
    sim_center *sc = sim_center_build(&c, m, NULL, "c.yaml", err, sizeof err);
    assert_null(sc);
    assert_string_equal(err, "c.yaml:8: field pools: no pool \"h100\" in this cluster");
    center_desc_free(&c);

    /* an account named like the root */
    center_desc_init(&c);
    assert_int_equal(parse("accounts:\n  - name: center\n    projects: [{name: p}]\n", &c, err),
                     0);
    sc = sim_center_build(&c, m, NULL, "c.yaml", err, sizeof err);
    assert_null(sc);
    assert_string_equal(err, "c.yaml:2: field name: tier center: an account with this name "
                             "exists");
    center_desc_free(&c);
    sched_destroy(m);
}

static void test_durations_and_times(void **state)
{
    (void)state;
    int64_t x;
    assert_int_equal(center_parse_duration("90", 2, &x), 0);
    assert_int_equal(x, 90);
    assert_int_equal(center_parse_duration("36h", 3, &x), 0);
    assert_int_equal(x, 129600);
    assert_int_equal(center_parse_duration("2w", 2, &x), 0);
    assert_int_equal(x, 14 * 86400);
    assert_int_equal(center_parse_duration("5m", 2, &x), 0);
    assert_int_equal(x, 300);
    assert_int_equal(center_parse_duration("", 0, &x), -1);
    assert_int_equal(center_parse_duration("h", 1, &x), -1);
    assert_int_equal(center_parse_duration("2 d", 3, &x), -1);
    assert_int_equal(center_parse_duration("-5", 2, &x), -1);
    assert_int_equal(center_parse_duration("3y", 2, &x), -1);
    assert_int_equal(center_parse_duration("99999999999999999999d", 21, &x), -1);

    assert_int_equal(center_parse_time("0", 1, &x), 0);
    assert_int_equal(x, 0);
    assert_int_equal(center_parse_time("1970-01-02", 10, &x), 0);
    assert_int_equal(x, 86400);
    assert_int_equal(center_parse_time("2024-02-29", 10, &x), 0);
    assert_int_equal(x, 1709164800);
    assert_int_equal(center_parse_time("2000-03-01T01:02:03Z", 20, &x), 0);
    assert_int_equal(x, 951868800 + 3723);
    assert_int_equal(center_parse_time("2023-02-29", 10, &x), -1);
    assert_int_equal(center_parse_time("1900-03-01", 10, &x), -1); /* before 1970 */
    assert_int_equal(center_parse_time("2025-13-01", 10, &x), -1);
    assert_int_equal(center_parse_time("2025-01-01T24:00:00", 19, &x), -1);
    assert_int_equal(center_parse_time("2025/01/01", 10, &x), -1);
    assert_int_equal(center_parse_time("soon", 4, &x), -1);
}

/* Each mistake is reported with the line and the field at fault. */
/* Guarantees: account by name, one pool, GPUs; the preemption contract's
 * grace and signal (a name or a number). Errors name the line and field. */
static void test_guarantees(void **state)
{
    (void)state;
    center_desc c;
    char err[TRACE_ERRLEN];
    const char *tier = "accounts:\n  - name: t\n    projects: [{name: p}]\n"; /* lines 1-3 */
    char text[1024];
    center_desc_init(&c);
    assert_int_equal(c.preemption.grace, -1);
    assert_int_equal(c.preemption.signal, -1);
    snprintf(text, sizeof text, "%sguarantees:\n  - {account: p, pool: h100, gpus: 16}\n"
             "  - {account: t, pool: h200, gpus: 8}\npreemption: {grace: 5m, signal: SIGUSR1}\n",
             tier);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nguarantees, 2);
    assert_int_equal(c.guarantees[0].account, 1); /* p (t is 0) */
    assert_string_equal(c.guarantees[0].pool, "h100");
    assert_int_equal(c.guarantees[0].gpus, 16);
    assert_int_equal(c.guarantees[0].line, 5);
    assert_int_equal(c.guarantees[1].account, 0);
    assert_int_equal(c.preemption.grace, 300);
    assert_int_equal(c.preemption.signal, 10);
    center_desc_free(&c);
    snprintf(text, sizeof text, "%spreemption: {signal: 2}\n", tier);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.preemption.signal, 2);
    center_desc_free(&c);

    snprintf(text, sizeof text, "%sguarantees:\n  - {account: q, pool: h100, gpus: 16}\n", tier);
    expect_error(text, "c.yaml:5: field account: no account named \"q\"");
    snprintf(text, sizeof text, "%sguarantees:\n  - {account: p, pool: h100, gpus: 0}\n", tier);
    expect_error(text, "c.yaml:5: field gpus: must be a positive integer, got \"0\"");
    snprintf(text, sizeof text, "%sguarantees:\n  - {account: p, pool: h100|h200, gpus: 1}\n",
             tier);
    expect_error(text, "c.yaml:5: field pool: a name may not contain blanks, ',' or '|', got "
                       "\"h100|h200\"");
    snprintf(text, sizeof text, "%sguarantees:\n  - {account: p, pool: h100, gpus: 1}\n"
             "  - {account: p, pool: h100, gpus: 2}\n", tier);
    expect_error(text, "c.yaml:6: field account: p already holds a guarantee in pool h100 "
                       "(line 5)");
    snprintf(text, sizeof text, "%spreemption: {signal: SIGNOPE}\n", tier);
    expect_error(text, "c.yaml:4: field signal: a signal name (SIGTERM, SIGINT, SIGUSR1, "
                       "SIGUSR2, ...) or a number from 1 to 64, got \"SIGNOPE\"");
}

static void test_errors(void **state)
{
    (void)state;
    const char *tier = "accounts:\n  - name: t\n    projects: [{name: p}]\n"; /* lines 1-3 */
    char text[2048];

    expect_error("", "c.yaml:1: field accounts: the center has no projects (the document is "
                     "empty)");
    expect_error("accounts:\n  - name: t\n",
                 "c.yaml:2: field accounts: the center has no projects (give tiers with "
                 "organizations and projects)");
    expect_error("accounts: [\n", "c.yaml:2: yaml: did not find expected node content (while "
                                  "parsing a flow node started on line 2)");
    expect_error("- a\n", "c.yaml:1: the center: must be a mapping of keys to values");
    expect_error("acounts: []\n", "c.yaml:1: field acounts: unknown key in the center (known: "
                                  "center, accounts, users, qos, default_qos, allocations, "
                                  "priority, storage, guarantees, preemption)");
    expect_error("accounts:\n  - name: t\n    sharse: 2\n",
                 "c.yaml:3: field sharse: unknown key in a tier (known: name, shares, "
                 "organizations, projects)");
    expect_error("accounts:\n  - name: t\n    projects:\n      - name: p\n        nodes: 2\n",
                 "c.yaml:5: field nodes: unknown key in a project (known: name, shares, "
                 "trace_group)");
    expect_error("accounts:\n  - shares: 2\n    projects: [{name: p}]\n",
                 "c.yaml:2: field name: required in a tier");
    expect_error("accounts:\n  - name: t\n    shares: -1\n    projects: [{name: p}]\n",
                 "c.yaml:3: field shares: must be a non-negative number, got \"-1\"");
    expect_error("accounts:\n  - name: t\n    shares: lots\n",
                 "c.yaml:3: field shares: must be a non-negative number, got \"lots\"");
    expect_error("accounts:\n  - name: my tier\n",
                 "c.yaml:2: field name: a name may not contain blanks, ',' or '|', got \"my "
                 "tier\"");
    expect_error("accounts:\n  - name: t\n    projects: [{name: p}, {name: t}]\n",
                 "c.yaml:3: field name: duplicate account name \"t\" (first at line 2)");
    expect_error("accounts:\n  - name: t\n    projects: {name: p}\n",
                 "c.yaml:3: field projects: must be a list (items starting with \"- \")");
    expect_error("accounts:\n  - name: t\n    projects:\n      - {name: p, trace_group: 3}\n"
                 "      - {name: q, trace_group: 3}\n",
                 "c.yaml:5: field trace_group: group 3 is already mapped to project p (line 4)");
    expect_error("accounts:\n  - name: t\n    projects: [{name: p, trace_group: -3}]\n",
                 "c.yaml:3: field trace_group: must be a non-negative integer, got \"-3\"");
    expect_error("center: t\naccounts:\n  - name: t\n    projects: [{name: p}]\n",
                 "c.yaml:3: field name: account \"t\" has the center's name");
    /* an alias repeating an entry: refused at once */
    expect_error("accounts:\n  - &t\n    name: t\n    projects: [{name: p}]\n  - *t\n",
                 "c.yaml:2: field name: this tier entry is repeated (through a YAML alias); "
                 "accounts must be distinct");
    /* organizations nested too deep */
    {
        size_t o = (size_t)snprintf(text, sizeof text, "accounts:\n  - name: t\n");
        for (int d = 0; d < 9; d++)
            o += (size_t)snprintf(text + o, sizeof text - o,
                                  "%*sorganizations:\n%*s- name: o%d\n", 4 + 4 * d, "",
                                  6 + 4 * d, "", d);
        expect_error(text, "c.yaml:20: field organizations: nested more than 8 deep");
    }

    /* users */
    snprintf(text, sizeof text, "%susers:\n  - name: u\n    projects: [p, q]\n", tier);
    expect_error(text, "c.yaml:6: field projects: no project named \"q\"");
    snprintf(text, sizeof text, "%susers:\n  - name: u\n    projects: [t]\n", tier);
    expect_error(text, "c.yaml:6: field projects: \"t\" is a tier, not a project");
    snprintf(text, sizeof text, "%susers:\n  - name: u\n    projects: [p, p]\n", tier);
    expect_error(text, "c.yaml:6: field projects: \"p\" is listed twice");
    snprintf(text, sizeof text, "%susers:\n  - name: u\n", tier);
    expect_error(text, "c.yaml:5: field projects: required in a user (the projects it may "
                       "charge)");
    snprintf(text, sizeof text, "%susers:\n  - name: u\n    projects: []\n", tier);
    expect_error(text, "c.yaml:6: field projects: the list is empty");
    snprintf(text, sizeof text,
             "accounts:\n  - name: t\n    projects: [{name: p}, {name: q}]\n"
             "users:\n  - name: u\n    projects: [p]\n    default_project: q\n");
    expect_error(text, "c.yaml:7: field default_project: \"q\" is not one of the user's "
                       "projects");
    snprintf(text, sizeof text,
             "%susers:\n  - {name: u, uid: 5, projects: p}\n  - {name: v, uid: 5, projects: p}\n",
             tier);
    expect_error(text, "c.yaml:6: field uid: uid 5 is already user u's (line 5)");
    snprintf(text, sizeof text,
             "%susers:\n  - {name: u, projects: p}\n  - {name: u, projects: p}\n", tier);
    expect_error(text, "c.yaml:6: field name: duplicate user name \"u\" (first at line 5)");
    snprintf(text, sizeof text, "%susers:\n  - {name: u, uid: 4294967296, projects: p}\n", tier);
    expect_error(text, "c.yaml:5: field uid: must be at most 4294967295, got \"4294967296\"");

    /* QOS */
    snprintf(text, sizeof text, "%sqos:\n  - name: a\n    preempt: [b]\n", tier);
    expect_error(text, "c.yaml:6: field preempt: no QOS named \"b\"");
    snprintf(text, sizeof text, "%sqos:\n  - name: a\n    preempt: a\n", tier);
    expect_error(text, "c.yaml:6: field preempt: QOS a cannot preempt itself");
    snprintf(text, sizeof text, "%sqos:\n  - name: a\n    max_wall: 2 days\n", tier);
    expect_error(text, "c.yaml:6: field max_wall: must be a duration (whole seconds, or a "
                       "number followed by s, m, h, d or w, at most 10000000000 s), got \"2 "
                       "days\"");
    snprintf(text, sizeof text, "%sqos:\n  - name: a\n    max_gpus_per_user: 8.5\n", tier);
    expect_error(text, "c.yaml:6: field max_gpus_per_user: must be a non-negative integer, got "
                       "\"8.5\"");
    snprintf(text, sizeof text, "%sqos:\n  - name: a\n  - name: a\n", tier);
    expect_error(text, "c.yaml:6: field name: duplicate QOS name \"a\" (first at line 5)");
    snprintf(text, sizeof text, "%sqos:\n  - name: a\ndefault_qos: b\n", tier);
    expect_error(text, "c.yaml:6: field default_qos: no QOS named \"b\"");

    /* allocations */
    snprintf(text, sizeof text, "%sallocations:\n  - name: a\n    account: x\n    gpu_hours: 1\n",
             tier);
    expect_error(text, "c.yaml:6: field account: no account named \"x\"");
    snprintf(text, sizeof text, "%sallocations:\n  - name: a\n    account: p\n", tier);
    expect_error(text, "c.yaml:5: field gpu_hours: required in an allocation");
    snprintf(text, sizeof text,
             "%sallocations:\n  - {name: a, account: p, gpu_hours: 1, start: 100, end: 100}\n",
             tier);
    expect_error(text, "c.yaml:5: field end: the period must end after it starts");
    snprintf(text, sizeof text,
             "%sallocations:\n  - {name: a, account: p, gpu_hours: 1, start: 2025-02-30}\n",
             tier);
    expect_error(text, "c.yaml:5: field start: must be seconds or a UTC date (YYYY-MM-DD or "
                       "YYYY-MM-DDTHH:MM:SS), got \"2025-02-30\"");
    snprintf(text, sizeof text,
             "%sallocations:\n  - {name: a, account: p, gpu_hours: 1, pools: 'h100, h200'}\n",
             tier);
    expect_error(text, "c.yaml:5: field pools: pool names joined by '|' (\"h100|h200\"), or "
                       "leave the field out for any pool, got \"h100, h200\"");
    snprintf(text, sizeof text,
             "%sallocations:\n  - {name: a, account: p, gpu_hours: 1}\n"
             "  - {name: a, account: t, gpu_hours: 2}\n", tier);
    expect_error(text, "c.yaml:6: field name: duplicate allocation name \"a\" (first at line 5)");
    snprintf(text, sizeof text,
             "%sallocations:\n  - {name: a, account: p, gpu_hours: 1e16}\n", tier);
    expect_error(text, "c.yaml:5: field gpu_hours: must be at most 1e+15, got \"1e16\"");

    /* priority */
    snprintf(text, sizeof text, "%spriority:\n  weights: {age: -1}\n", tier);
    expect_error(text, "c.yaml:5: field age: must be a non-negative integer, got \"-1\"");
    snprintf(text, sizeof text, "%spriority:\n  weights: {fair: 1}\n", tier);
    expect_error(text, "c.yaml:5: field fair: unknown key in the weights (known: age, "
                       "fairshare, size, qos)");
    snprintf(text, sizeof text, "%spriority:\n  max_age: 0\n", tier);
    expect_error(text, "c.yaml:5: field max_age: must be positive (the age at which the age "
                       "factor reaches 1)");
    snprintf(text, sizeof text, "%spriority:\n  favor_small: yes\n", tier);
    expect_error(text, "c.yaml:5: field favor_small: must be true or false, got \"yes\"");
    snprintf(text, sizeof text, "%spriority:\n  half_life: [1]\n", tier);
    expect_error(text, "c.yaml:5: field half_life: must be a single value, not a list");
    snprintf(text, sizeof text, "%spriority:\n  weights: {qos: 1000000001}\n", tier);
    expect_error(text, "c.yaml:5: field qos: must be at most 1000000000, got \"1000000001\"");

    /* storage */
    snprintf(text, sizeof text, "%sstorage: {backend: mysql}\n", tier);
    expect_error(text, "c.yaml:4: field backend: must be sqlite or postgres, got \"mysql\"");
    snprintf(text, sizeof text, "%sstorage: {backend: postgres}\n", tier);
    expect_error(text, "c.yaml:4: field conninfo: required in storage");
    snprintf(text, sizeof text, "%sstorage: {backend: sqlite, conninfo: \"dbname=x\"}\n", tier);
    expect_error(text, "c.yaml:4: field conninfo: only for backend postgres (SQLite lives in "
                       "fleetd's state directory)");
    snprintf(text, sizeof text, "%sstorage:\n  backend: postgres\n  conninfo: x\n  path: y\n",
             tier);
    expect_error(text, "c.yaml:7: field path: unknown key in storage (known: backend, "
                       "conninfo)");
    snprintf(text, sizeof text, "%sstorage: postgres\n", tier);
    expect_error(text, "c.yaml:4: storage: must be a mapping of keys to values");

    /* the document */
    snprintf(text, sizeof text, "%saccounts: []\n", tier);
    expect_error(text, "c.yaml:4: field accounts: key given twice in the center");
    snprintf(text, sizeof text, "%s---\naccounts: []\n", tier);
    expect_error(text, "c.yaml:5: yaml: a second document; a center file holds one");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults_and_minimal),
        cmocka_unit_test(test_storage),
        cmocka_unit_test(test_example_file),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_durations_and_times),
        cmocka_unit_test(test_guarantees),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
