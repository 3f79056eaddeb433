/*
 * Unit tests of the center YAML reader (src/libtrace/center_yaml.c) and of
 * its conversion into libsched's policy object (src/sim/sim_center.c):
 * a full file read back field by field, the example file, durations and
 * dates, and every error naming the file, the line and the field. The
 * reservations section also through the simulator (src/sim/sim.c,
 * sim_resv_apply and the per-reservation report of a small replay).
 */
#include <math.h>
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

/* The reservations section: fleetd's fields (name, kind, start, end, nodes,
 * accounts, users), lists or single names, times as seconds or dates;
 * projects and users resolved to indexes, node names kept with their line. */
static const char *const resv_text =
    "accounts:\n"                                           /* 1 */
    "  - name: t\n"
    "    projects: [{name: p}, {name: q}]\n"
    "users:\n"                                              /* 4 */
    "  - {name: ann, uid: 7, projects: p}\n"
    "  - {name: ben, projects: q}\n"
    "reservations:\n"                                       /* 7 */
    "  - name: maint\n"
    "    kind: maintenance\n"
    "    nodes: [n0, n1]\n"                                 /* 10 */
    "    start: 1970-01-01T01:00:00Z\n"
    "    end: 7200\n"
    "  - name: proj\n"                                      /* 13 */
    "    kind: project\n"
    "    nodes: n2\n"
    "    accounts: [q, p]\n"
    "    users: ann\n"                                      /* 17 */
    "    start: 0\n"
    "    end: 2d\n";

static void test_reservations(void **state)
{
    (void)state;
    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    /* "2d" is a duration, not a time */
    expect_error(resv_text, "c.yaml:19: field end: must be seconds or a UTC date (YYYY-MM-DD or "
                            "YYYY-MM-DDTHH:MM:SS), got \"2d\"");
    char text[2048];
    snprintf(text, sizeof text, "%.*s172800\n", (int)(strlen(resv_text) - 3), resv_text);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nresvs, 2);
    const center_resv *m = &c.resvs[0], *p = &c.resvs[1];
    assert_string_equal(m->name, "maint");
    assert_int_equal(m->kind, CENTER_RESV_MAINTENANCE);
    assert_int_equal(m->start, 3600);
    assert_int_equal(m->end, 7200);
    assert_int_equal(m->nnodes, 2);
    assert_string_equal(m->nodes[0], "n0");
    assert_string_equal(m->nodes[1], "n1");
    assert_int_equal(m->naccounts, 0);
    assert_int_equal(m->nusers, 0);
    assert_int_equal(m->line, 8);
    assert_int_equal(m->nodes_line, 10);
    assert_string_equal(p->name, "proj");
    assert_int_equal(p->kind, CENTER_RESV_PROJECT);
    assert_int_equal(p->start, 0);
    assert_int_equal(p->end, 172800);
    assert_int_equal(p->nnodes, 1); /* a single name works too */
    assert_string_equal(p->nodes[0], "n2");
    assert_int_equal(p->naccounts, 2);
    assert_int_equal(p->accounts[0], 2); /* q (t 0, p 1) */
    assert_int_equal(p->accounts[1], 1);
    assert_int_equal(p->nusers, 1);
    assert_int_equal(p->users[0], 0);    /* ann */
    assert_int_equal(p->users_line, 17);
    center_desc_free(&c);
    assert_int_equal(c.nresvs, 0);

    /* an empty section is no reservation */
    if (parse("accounts:\n  - name: t\n    projects: [{name: p}]\nreservations:\n", &c, err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nresvs, 0);
    center_desc_free(&c);

    const char *head = "accounts:\n  - name: t\n    projects: [{name: p}]\n"
                       "users:\n  - {name: ann, uid: 7, projects: p}\nreservations:\n";
    /* lines 1-6; the entries start at 7 */
    static const struct {
        const char *entry, *want;
    } bad[] = {
        {"  - {kind: maintenance, nodes: n0, start: 0, end: 1}\n",
         "c.yaml:7: field name: required in a reservation"},
        {"  - {name: m, nodes: n0, start: 0, end: 1}\n",
         "c.yaml:7: field kind: required in a reservation"},
        {"  - {name: m, kind: drain, nodes: n0, start: 0, end: 1}\n",
         "c.yaml:7: field kind: must be maintenance or project, got \"drain\""},
        {"  - {name: m, kind: maintenance, nodes: n0, end: 1}\n",
         "c.yaml:7: field start: required in a reservation (a window [start, end))"},
        {"  - {name: m, kind: maintenance, nodes: n0, start: 1}\n",
         "c.yaml:7: field end: required in a reservation (a window [start, end))"},
        {"  - {name: m, kind: maintenance, nodes: n0, start: 5, end: 5}\n",
         "c.yaml:7: field end: the window must end after it starts"},
        {"  - {name: m, kind: maintenance, nodes: n0, start: -5, end: 5}\n",
         "c.yaml:7: field start: must be seconds or a UTC date (YYYY-MM-DD or "
         "YYYY-MM-DDTHH:MM:SS), got \"-5\""},
        {"  - {name: m, kind: maintenance, start: 0, end: 1}\n",
         "c.yaml:7: field nodes: required in a reservation (the nodes it holds)"},
        {"  - {name: m, kind: maintenance, nodes: [], start: 0, end: 1}\n",
         "c.yaml:7: field nodes: the list is empty"},
        {"  - name: m\n    kind: maintenance\n    nodes:\n      - n0\n      - n1\n      - n0\n"
         "    start: 0\n    end: 1\n",
         "c.yaml:12: field nodes: \"n0\" is listed twice"},
        {"  - {name: m, kind: maintenance, nodes: [n0, 'a b'], start: 0, end: 1}\n",
         "c.yaml:7: field nodes: a name may not contain blanks, ',' or '|', got \"a b\""},
        {"  - {name: m, kind: maintenance, nodes: {n0: 1}, start: 0, end: 1}\n",
         "c.yaml:7: field nodes: must be a single value, not a mapping"},
        {"  - {name: m, kind: maintenance, nodes: n0, accounts: p, start: 0, end: 1}\n",
         "c.yaml:7: field accounts: a maintenance reservation admits no job (accounts and users "
         "are for kind project)"},
        {"  - {name: m, kind: project, nodes: n0, start: 0, end: 1}\n",
         "c.yaml:7: field accounts: a project reservation needs accounts or users (the "
         "projects and users it admits)"},
        {"  - {name: m, kind: project, nodes: n0, accounts: [p, x], start: 0, end: 1}\n",
         "c.yaml:7: field accounts: no project named \"x\""},
        {"  - {name: m, kind: project, nodes: n0, accounts: t, start: 0, end: 1}\n",
         "c.yaml:7: field accounts: \"t\" is a tier, not a project"},
        {"  - {name: m, kind: project, nodes: n0, accounts: [p, p], start: 0, end: 1}\n",
         "c.yaml:7: field accounts: \"p\" is listed twice"},
        {"  - {name: m, kind: project, nodes: n0, users: [bob], start: 0, end: 1}\n",
         "c.yaml:7: field users: no user named \"bob\""},
        {"  - {name: m, kind: maintenance, nodes: n0, start: 0, end: 1, pool: gpu}\n",
         "c.yaml:7: field pool: unknown key in a reservation (known: name, kind, start, end, "
         "nodes, accounts, users)"},
        {"  - {name: m, kind: maintenance, nodes: n0, start: 0, end: 1}\n"
         "  - {name: m, kind: maintenance, nodes: n1, start: 0, end: 1}\n",
         "c.yaml:8: field name: duplicate reservation name \"m\" (first at line 7)"},
        {"  name: m\n", "c.yaml:7: field reservations: must be a list (items starting with "
                        "\"- \")"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", head, bad[i].entry);
        expect_error(text, bad[i].want);
    }
}

/* Two 8-GPU nodes n0 and n1 in one block, and a one-GPU node n2 alone in
 * a pool without topology (a span pool, which jobs of pool gpu never use). */
static sched *resv_machine(void)
{
    char err[SCHED_ERRLEN];
    sched *s = sched_create();
    assert_non_null(s);
    assert_int_equal(sched_pool_add(s, "gpu", "H100"), 0);
    assert_int_equal(sched_pool_add(s, "one", "T4"), 1);
    assert_int_equal(sched_block_add(s, "b0", NULL), 0);
    assert_int_equal(sched_node_add(s, "n0", 0, 0, 8, 0, 0), 0);
    assert_int_equal(sched_node_add(s, "n1", 0, 0, 8, 0, 0), 1);
    assert_int_equal(sched_node_add(s, "n2", 1, -1, 1, 0, 0), 2);
    if (sched_finalize(s, err, sizeof err) != 0)
        fail_msg("%s", err);
    return s;
}

/* sim_resv_apply: each reservation added to libsched with node indexes,
 * project ids and uids; errors name the file, the line, the field and the
 * reservation. Then a replay keeps jobs out of the windows and reports. */
static void test_reservations_sim(void **state)
{
    (void)state;
    char err[TRACE_ERRLEN];
    const char *head = "accounts:\n  - name: t\n    projects: [{name: p}, {name: q}]\n"
                       "users:\n  - {name: ann, uid: 7, projects: p}\n"
                       "  - {name: ben, projects: q}\nreservations:\n"; /* lines 1-7 */
    static const struct {
        const char *entries, *want;
    } cases[] = {
        {"  - {name: m, kind: maintenance, nodes: [n1, n9], start: 0, end: 1}\n",
         "c.yaml:8: field nodes: reservation \"m\": no node \"n9\" in this cluster"},
        {"  - name: m\n    kind: project\n    nodes: n0\n    users: [ann, ben]\n"
         "    start: 0\n    end: 1\n",
         "c.yaml:11: field users: reservation \"m\": user ben has no uid, so no trace job is "
         "theirs (the simulator knows users by uid)"},
    };
    char text[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        center_desc c;
        center_desc_init(&c);
        snprintf(text, sizeof text, "%s%s", head, cases[i].entries);
        if (parse(text, &c, err) != 0)
            fail_msg("%s", err);
        sched *s = resv_machine();
        sim_center *sc = sim_center_build(&c, s, NULL, "c.yaml", err, sizeof err);
        if (!sc)
            fail_msg("%s", err);
        assert_int_equal(sim_resv_apply(s, &c, sc, "c.yaml", err, sizeof err), -1);
        assert_string_equal(err, cases[i].want);
        sim_center_free(sc);
        sched_destroy(s);
        center_desc_free(&c);
    }

    /* libsched's own refusals come through with the line, the field and the
     * reservation: here the same file applied twice */
    {
        center_desc c;
        center_desc_init(&c);
        snprintf(text, sizeof text, "%s  - name: m\n    kind: maintenance\n    nodes: [n0, n1]\n"
                 "    start: 0\n    end: 1\n", head);
        if (parse(text, &c, err) != 0)
            fail_msg("%s", err);
        sched *s = resv_machine();
        sim_center *sc = sim_center_build(&c, s, NULL, "c.yaml", err, sizeof err);
        if (!sc || sim_resv_apply(s, &c, sc, "c.yaml", err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(sim_resv_apply(s, &c, sc, "c.yaml", err, sizeof err), -1);
        assert_string_equal(err, "c.yaml:8: field name: reservation \"m\": a reservation \"m\" "
                                 "exists");
        sim_center_free(sc);
        sched_destroy(s);
        center_desc_free(&c);
    }

    /* a good file: maintenance of n0 over [100, 200), n1 for project p over
     * [0, 1000) */
    center_desc c;
    center_desc_init(&c);
    snprintf(text, sizeof text,
             "%s  - {name: m, kind: maintenance, nodes: n0, start: 100, end: 200}\n"
             "  - {name: pp, kind: project, nodes: n1, accounts: p, users: ann, start: 0, "
             "end: 1000}\n", head);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    sched *s = resv_machine();
    sim_center *sc = sim_center_build(&c, s, NULL, "c.yaml", err, sizeof err);
    if (!sc)
        fail_msg("%s", err);
    if (sim_resv_apply(s, &c, sc, "c.yaml", err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sched_resv_count(s), 2);
    sched_resv_info v;
    assert_int_equal(sched_resv_get(s, 1, &v), 0);
    assert_string_equal(v.name, "pp");
    assert_int_equal(v.kind, SCHED_RESV_PROJECT);
    assert_int_equal(v.nnodes, 1);
    assert_int_equal(v.nodes[0], 1);
    assert_int_equal(v.naccounts, 1);
    assert_int_equal(v.accounts[0], acct_account_find(sim_center_acct(sc), "p"));
    assert_int_equal(v.nusers, 1);
    assert_int_equal(v.users[0], 7);
    center_desc_free(&c);

    /* q's 8-GPU job at 0 (limit 150) cannot take n0 (it would reach the
     * maintenance at 100) nor n1 (p's): it waits for n0 until 200; p's job
     * takes n1 at once */
    trace t;
    trace_init(&t);
    trace_job q = {.id = 1, .submit = 0, .run = 150, .estimate = 150, .gpus = 8, .user = 9};
    snprintf(q.account, sizeof q.account, "q");
    snprintf(q.pool, sizeof q.pool, "gpu");
    trace_job pj = q;
    pj.id = 2;
    pj.run = 360;
    pj.estimate = 400;
    snprintf(pj.account, sizeof pj.account, "p");
    assert_int_equal(trace_push(&t, &q), 0);
    assert_int_equal(trace_push(&t, &pj), 0);
    sim_options o = {SCHED_EASY, 0, NULL, NULL};
    sim_result r;
    if (sim_run_center(s, 0, &t, &o, sc, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(r.njobs, 2);
    assert_int_equal(r.jobs[0].sj.start, 200);
    assert_string_equal(r.node_names[r.placed[r.jobs[0].first].node], "n0");
    assert_int_equal(r.jobs[1].sj.start, 0);
    assert_string_equal(r.node_names[r.placed[r.jobs[1].first].node], "n1");
    assert_int_equal(r.nresv, 2);
    assert_string_equal(r.resv[0].name, "m");
    assert_int_equal(r.resv[0].overlap_jobs, 0);
    assert_int_equal(r.resv[0].gpus, 8);
    assert_true(fabs(r.resv[0].window_gpu_hours - 8 * 100 / 3600.0) < 1e-9);
    assert_string_equal(r.resv[1].accounts[0], "p");
    assert_string_equal(r.resv[1].users[0], "ann");
    assert_int_equal(r.resv[1].used_jobs, 1);
    assert_true(fabs(r.resv[1].used_gpu_hours - 8 * 360 / 3600.0) < 1e-9);
    assert_int_equal(r.resv[1].overlap_jobs, 0);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    assert_non_null(f);
    sim_print_reservations(f, &r);
    fclose(f);
    assert_string_equal(out,
                        "reservation      m (maintenance), 1 node (8 GPUs), [100, 200): no job "
                        "ran there in the window\n"
                        "reservation      pp (project p users ann), 1 node (8 GPUs), [0, 1000): "
                        "used 0.8 of 2.2 GPU-hours (36.0%) by 1 job; no other job ran there in "
                        "the window\n");
    free(out);
    /* how a broken rule would read */
    r.resv[0].overlap_jobs = 2;
    r.resv[0].overlap_gpu_hours = 0.5;
    f = open_memstream(&out, &outlen);
    assert_non_null(f);
    sim_print_reservations(f, &r);
    fclose(f);
    assert_non_null(strstr(out, "[100, 200): 2 jobs ran there in the window (0.5 GPU-hours)\n"));
    free(out);
    sim_result_free(&r);
    sim_center_free(sc);

    /* nothing runs while a maintenance window holds every node the job may
     * use: the window's end is an instant of the loop, the job starts then */
    center_desc_init(&c);
    snprintf(text, sizeof text,
             "%s  - {name: all, kind: maintenance, nodes: [n0, n1], start: 0, end: 500}\n", head);
    if (parse(text, &c, err) != 0)
        fail_msg("%s", err);
    s = resv_machine();
    sc = sim_center_build(&c, s, NULL, "c.yaml", err, sizeof err);
    if (!sc || sim_resv_apply(s, &c, sc, "c.yaml", err, sizeof err) != 0)
        fail_msg("%s", err);
    center_desc_free(&c);
    if (sim_run_center(s, 0, &t, &o, sc, &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(r.njobs, 2);
    assert_int_equal(r.jobs[0].sj.start, 500);
    assert_int_equal(r.jobs[1].sj.start, 500);
    assert_int_equal(r.resv[0].overlap_jobs, 0);
    sim_result_free(&r);
    sim_center_free(sc);
    trace_free(&t);
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
                                  "priority, storage, guarantees, preemption, "
                                  "reservations)");
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
        cmocka_unit_test(test_reservations),
        cmocka_unit_test(test_reservations_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
