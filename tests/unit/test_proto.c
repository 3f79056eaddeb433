/* Unit tests of libproto (src/libproto): the agent <-> controller messages
 * as JSON (round trips, the wire format, every bound and type error with the
 * path it names), output text made valid UTF-8, the MACs, nonces and GPU
 * masks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "proto.h"

/* ---- helpers ------------------------------------------------------------- */

/* JSON written with ' for " (readable in C), turned into real JSON. */
static char *q(const char *s)
{
    char *t = strdup(s);
    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

static char *xstrdup(const char *s)
{
    char *t = strdup(s);
    assert_non_null(t);
    return t;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    assert_non_null(p);
    return p;
}

static char *xmemdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* 'xxx...' of n bytes, as a JSON value in q() form. */
static char *long_string(size_t n)
{
    char *s = malloc(n + 3);
    assert_non_null(s);
    s[0] = '\'';
    memset(s + 1, 'x', n);
    s[n + 1] = '\'';
    s[n + 2] = '\0';
    return s;
}

/* [elem,elem,...] of n entries, in q() form. */
static char *repeated(const char *elem, size_t n)
{
    size_t el = strlen(elem), len = 2 + n * (el + 1);
    char *s = malloc(len + 1), *p = s;
    assert_non_null(s);
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, elem, el);
        p += el;
    }
    *p++ = ']';
    *p = '\0';
    return s;
}

/* The template (q() form) with the value at path ("nodes[0].launch[1].uid")
 * replaced by value (q() form; added if absent), or removed when value is
 * NULL. Returns real JSON, malloc'd. */
static char *mutate(const char *tmpl, const char *path, const char *value)
{
    char *text = q(tmpl);
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    if (!root)
        fail_msg("template: %s", e.text);
    free(text);
    json_t *parent = root;
    const char *p = path;
    for (;;) {
        char k[64] = "";
        size_t idx = 0;
        int is_idx = *p == '[';
        if (is_idx) {
            char *end;
            idx = strtoul(p + 1, &end, 10);
            assert_int_equal(*end, ']');
            p = end + 1;
        } else {
            size_t n = strcspn(p, ".[");
            assert_true(n > 0 && n < sizeof k);
            memcpy(k, p, n);
            k[n] = '\0';
            p += n;
        }
        if (*p == '.')
            p++;
        if (*p == '\0') {
            json_t *v = NULL;
            if (value) {
                char *vt = q(value);
                v = json_loads(vt, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
                if (!v)
                    fail_msg("value %s: %s", value, e.text);
                free(vt);
            }
            if (is_idx) {
                assert_true(json_is_array(parent));
                if (v)
                    assert_int_equal(json_array_set_new(parent, idx, v), 0);
                else
                    assert_int_equal(json_array_remove(parent, idx), 0);
            } else {
                assert_true(json_is_object(parent));
                if (v)
                    assert_int_equal(json_object_set_new(parent, k, v), 0);
                else
                    assert_int_equal(json_object_del(parent, k), 0);
            }
            break;
        }
        parent = is_idx ? json_array_get(parent, idx) : json_object_get(parent, k);
        if (!parent)
            fail_msg("%s: no such path in the template", path);
    }
    char *out = json_dumps(root, JSON_COMPACT);
    assert_non_null(out);
    json_decref(root);
    return out;
}

/* A sync with everything: the documentation's example and more. Also the
 * wire format, pinned: encoding what this decodes gives this text again. */
#define SYNC_T                                                                                    \
    "{'version':1,'agent':'gpu-a17','boot':1717000000,'wait_ms':20000,'last_seq':41,"            \
    "'nodes':[{'name':'gpu-a17','inventory':{'gpus':2,'cpus':64,'mem_mb':515000,"                 \
    "'model':'H100','addr':'10.0.3.17','cgroup':'v2','note':'cgroup v2, all controllers',"      \
    "'source':'nvml','gpu':[{'index':0,'uuid':'GPU-5f1c2d3e','name':'NVIDIA H100 80GB HBM3',"    \
    "'mem_mb':81559},{'index':1,'uuid':'GPU-9a8b7c6d','name':'NVIDIA H100 80GB HBM3',"           \
    "'mem_mb':81559}]},'running':[{'job':1207,'run':0,'gpus':[0,1]}],"                            \
    "'ended':[{'job':1198,'run':1,'exit_code':137,'signal':9,'reason':1,'start':1717003600,"      \
    "'end':1717007200,'message':'time limit reached'}]},"                                         \
    "{'name':'gpu-a18','running':[{'job':1207,'run':0,'gpus':[0,1]},{'job':1209,'run':3}]}],"    \
    "'output':[{'job':1207,'step':1,'rank':0,'stream':1,'data':'epoch 3: loss 1.82\\n'}],"       \
    "'rank_ends':[{'job':1207,'step':0,'rank':1,'exit_code':0,'signal':0}]}"

#define REPLY_T                                                                                   \
    "{'seq':42,'heartbeat_ms':15000,'nodes':[{'name':'gpu-a17','state':0,"                        \
    "'ack':[{'job':1198,'run':1}],"                                                               \
    "'launch':[{'job':1210,'run':0,'uid':1000,'gid':1000,'user':'alice','name':'pretrain',"       \
    "'workdir':'/home/alice/llm','output':'/home/alice/llm/slurm-1210.out',"                      \
    "'error':'/home/alice/llm/slurm-1210.err','script':'#!/bin/bash\\nsrun python train.py\\n',"  \
    "'env':['WANDB_MODE=offline','OMP_NUM_THREADS=8'],'gpus':[0,1],'cpus':32,'mem_mb':256000,"    \
    "'time_limit':86400,'kill_grace':30,'nodelist':'gpu-a17,gpu-a18','node_rank':0,'nnodes':2,"   \
    "'total_gpus':4,'array_job_id':0,'array_task_id':-1,'controller':'10.0.0.1:6820'},"           \
    "{'job':1211,'run':2,'uid':1001,'gid':100,'cpus':0,'mem_mb':0,'time_limit':3600,"             \
    "'kill_grace':10,'node_rank':1,'nnodes':2,'total_gpus':0,'array_job_id':1200,"                \
    "'array_task_id':7}],"                                                                        \
    "'kill':[{'job':1207,'run':0,'reason':2},{'job':1209,'run':1,'reason':4,'signal':10,"         \
    "'grace':300}],"                                                                              \
    "'steps':[{'job':1210,'run':0,'step':1,'argv':['python','eval.py','--shard','0'],"            \
    "'env':['FOO=bar'],'world_size':4,'master_addr':'10.0.3.17','master_port':29500,"            \
    "'ranks':[{'rank':0,'local_rank':0,'gpus':[0]},{'rank':1,'local_rank':1,'gpus':[1]}]}],"      \
    "'step_kills':[{'job':1205,'step':2}]},"                                                      \
    "{'name':'gpu-x99','state':2,'error':'unknown node'}]}"

/* ---- full messages -------------------------------------------------------- */

static void fill_sync(proto_sync *m)
{
    memset(m, 0, sizeof *m);
    m->version = PROTO_VERSION;
    strcpy(m->agent, "gpu-a17");
    m->boot = 1717000000;
    m->wait_ms = 600000;
    m->last_seq = INT64_MAX;
    m->nnodes = 2;
    m->nodes = xcalloc(2, sizeof *m->nodes);

    proto_node_report *n = &m->nodes[0];
    strcpy(n->name, "gpu-a17");
    n->has_inventory = 1;
    n->inv.gpus = 2;
    n->inv.cpus = 64;
    n->inv.mem_mb = 515000;
    strcpy(n->inv.model, "H100");
    strcpy(n->inv.addr, "10.0.3.17");
    strcpy(n->inv.cgroup, "v1");
    strcpy(n->inv.note,
           "quote \" backslash \\ tab \t nl \n cr \r ctl \x01\x1f del \x7f caf\xc3\xa9");
    strcpy(n->inv.source, "nvml");
    n->inv.ngpu = 2;
    n->inv.gpu = xcalloc(2, sizeof *n->inv.gpu);
    n->inv.gpu[0] =
        (proto_gpu){.index = 0, .uuid = "GPU-5f1c", .name = "H100 80GB", .mem_mb = 81559};
    n->inv.gpu[1] = (proto_gpu){.index = 63, .uuid = "GPU-9a8b", .name = "H100 80GB", .mem_mb = 1};
    n->nrunning = 2;
    n->running = xcalloc(2, sizeof *n->running);
    n->running[0] = (proto_running){.job = 1207, .run = 0, .gpus = 0x3};
    n->running[1] = (proto_running){.job = INT64_MAX, .run = INT32_MAX, .gpus = UINT64_MAX};
    n->nended = 4;
    n->ended = xcalloc(4, sizeof *n->ended);
    n->ended[0] = (proto_ended){1198, 1, 137, 9, PROTO_END_TIMEOUT, 1717003600, 1717007200,
                                "time limit reached"};
    n->ended[1] = (proto_ended){1199, 0, 0, 0, PROTO_END_EXITED, 1, 2, ""};
    n->ended[2] = (proto_ended){1200, 2, 143, 15, PROTO_END_KILLED, 0, 0, "killed"};
    n->ended[3] = (proto_ended){1201, 0, INT32_MIN, 0, PROTO_END_LAUNCH_FAILED, INT64_MAX,
                                INT64_MAX, "chdir /nonexistent: No such file or directory"};

    n = &m->nodes[1];
    strcpy(n->name, "gpu-a18");

    m->noutput = 2;
    m->output = xcalloc(2, sizeof *m->output);
    m->output[0] = (proto_output){1207, 1, 0, 1, xstrdup("epoch 3\n"), 8};
    m->output[1] = (proto_output){1207, 1, INT32_MAX, 2, xmemdup("a\0b\xe2\x82\xac\"", 7), 7};
    m->nrank_ends = 2;
    m->rank_ends = xcalloc(2, sizeof *m->rank_ends);
    m->rank_ends[0] = (proto_rank_end){1207, 1, 0, 0, 0};
    m->rank_ends[1] = (proto_rank_end){1207, INT32_MAX, 3, 139, 11};
}

static void assert_sync_equal(const proto_sync *a, const proto_sync *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->agent, b->agent);
    assert_int_equal(a->boot, b->boot);
    assert_int_equal(a->wait_ms, b->wait_ms);
    assert_true(a->last_seq == b->last_seq);
    assert_int_equal(a->nnodes, b->nnodes);
    for (int i = 0; i < a->nnodes; i++) {
        const proto_node_report *x = &a->nodes[i], *y = &b->nodes[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->has_inventory, y->has_inventory);
        if (x->has_inventory) {
            assert_int_equal(x->inv.gpus, y->inv.gpus);
            assert_int_equal(x->inv.cpus, y->inv.cpus);
            assert_int_equal(x->inv.mem_mb, y->inv.mem_mb);
            assert_string_equal(x->inv.model, y->inv.model);
            assert_string_equal(x->inv.addr, y->inv.addr);
            assert_string_equal(x->inv.cgroup, y->inv.cgroup);
            assert_string_equal(x->inv.note, y->inv.note);
            assert_string_equal(x->inv.source, y->inv.source);
            assert_int_equal(x->inv.ngpu, y->inv.ngpu);
            for (int g = 0; g < x->inv.ngpu; g++) {
                assert_int_equal(x->inv.gpu[g].index, y->inv.gpu[g].index);
                assert_string_equal(x->inv.gpu[g].uuid, y->inv.gpu[g].uuid);
                assert_string_equal(x->inv.gpu[g].name, y->inv.gpu[g].name);
                assert_int_equal(x->inv.gpu[g].mem_mb, y->inv.gpu[g].mem_mb);
            }
        }
        assert_int_equal(x->nrunning, y->nrunning);
        for (int r = 0; r < x->nrunning; r++) {
            assert_int_equal(x->running[r].job, y->running[r].job);
            assert_int_equal(x->running[r].run, y->running[r].run);
            assert_true(x->running[r].gpus == y->running[r].gpus);
        }
        assert_int_equal(x->nended, y->nended);
        for (int e = 0; e < x->nended; e++) {
            const proto_ended *p = &x->ended[e], *r = &y->ended[e];
            assert_int_equal(p->job, r->job);
            assert_int_equal(p->run, r->run);
            assert_int_equal(p->exit_code, r->exit_code);
            assert_int_equal(p->signal, r->signal);
            assert_int_equal(p->reason, r->reason);
            assert_int_equal(p->start, r->start);
            assert_int_equal(p->end, r->end);
            assert_string_equal(p->message, r->message);
        }
    }
    assert_int_equal(a->noutput, b->noutput);
    for (int i = 0; i < a->noutput; i++) {
        const proto_output *x = &a->output[i], *y = &b->output[i];
        assert_int_equal(x->job, y->job);
        assert_int_equal(x->step, y->step);
        assert_int_equal(x->rank, y->rank);
        assert_int_equal(x->stream, y->stream);
        assert_int_equal(x->len, y->len);
        assert_memory_equal(x->data, y->data, x->len);
    }
    assert_int_equal(a->nrank_ends, b->nrank_ends);
    for (int i = 0; i < a->nrank_ends; i++) {
        const proto_rank_end *x = &a->rank_ends[i], *y = &b->rank_ends[i];
        assert_int_equal(x->job, y->job);
        assert_int_equal(x->step, y->step);
        assert_int_equal(x->rank, y->rank);
        assert_int_equal(x->exit_code, y->exit_code);
        assert_int_equal(x->signal, y->signal);
    }
}

static char **strv(int n, ...)
{
    char **v = xcalloc((size_t)n, sizeof *v);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = xstrdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static void fill_reply(proto_reply *m)
{
    memset(m, 0, sizeof *m);
    m->seq = INT64_MAX;
    m->heartbeat_ms = 3600000;
    m->nnodes = 2;
    m->nodes = xcalloc(2, sizeof *m->nodes);

    proto_node_cmds *n = &m->nodes[0];
    strcpy(n->name, "gpu-a17");
    n->state = 1;
    n->nack = 2;
    n->ack = xcalloc(2, sizeof *n->ack);
    n->ack[0] = (proto_running){.job = 1198, .run = 1};
    n->ack[1] = (proto_running){.job = 1199, .run = 0, .gpus = 0x8000000000000001u};

    n->nlaunch = 2;
    n->launch = xcalloc(2, sizeof *n->launch);
    proto_launch *l = &n->launch[0];
    l->job = 1210;
    l->run = 3;
    l->uid = UINT32_MAX;
    l->gid = 1000;
    strcpy(l->user, "alice");
    strcpy(l->name, "pretrain \"7B\"");
    strcpy(l->workdir, "/home/alice/llm");
    strcpy(l->output, "/home/alice/llm/slurm-1210.out");
    strcpy(l->error, "/home/alice/llm/slurm-1210.err");
    l->script = xstrdup("#!/bin/bash\n#SBATCH --gpus 8\nsrun python train.py \"$@\"\n");
    l->nenv = 3;
    l->env = strv(3, "WANDB_MODE=offline", "EMPTY=", "PATH=/usr/bin:/bin");
    l->gpus = 0xff00;
    l->cpus = 32;
    l->mem_mb = 256000;
    l->time_limit = 86400;
    l->kill_grace = 30;
    l->nodelist = xstrdup("gpu-a17,gpu-a18");
    l->node_rank = 1;
    l->nnodes = 2;
    l->total_gpus = 16;
    l->array_job_id = 1200;
    l->array_task_id = 7;
    strcpy(l->controller, "unix:/run/gpufleet/fleetd.sock");
    l = &n->launch[1]; /* the least a launch can be */
    l->job = 1;
    l->nnodes = 1;
    l->array_task_id = -1;

    n->nkill = 3;
    n->kill = xcalloc(3, sizeof *n->kill);
    n->kill[0] = (proto_kill){1207, 0, PROTO_END_KILLED, 0, 0};
    n->kill[1] = (proto_kill){1208, 4, PROTO_END_TIMEOUT, 0, 0};
    n->kill[2] = (proto_kill){1209, 1, PROTO_END_PREEMPTED, 10, 300};

    n->nsteps = 1;
    n->steps = xcalloc(1, sizeof *n->steps);
    proto_step *st = &n->steps[0];
    st->job = 1210;
    st->run = 3;
    st->step = 2;
    st->argc = 4;
    st->argv = strv(4, "python", "eval.py", "--name", "a b\tc");
    st->nenv = 1;
    st->env = strv(1, "FOO=bar=baz");
    st->world_size = 16;
    strcpy(st->master_addr, "10.0.3.17");
    st->master_port = 65535;
    st->nranks = 2;
    st->ranks = xcalloc(2, sizeof *st->ranks);
    st->ranks[0] = (proto_step_rank){8, 0, 1u << 8};
    st->ranks[1] = (proto_step_rank){15, 7, 1u << 15};

    n->nstep_kills = 1;
    n->step_kills = xcalloc(1, sizeof *n->step_kills);
    n->step_kills[0] = (proto_step_kill){1205, 2};

    n = &m->nodes[1];
    strcpy(n->name, "gpu-x99");
    n->state = 2;
    strcpy(n->error, "unknown node");
}

static void assert_strv_equal(char **a, int na, char **b, int nb)
{
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void assert_reply_equal(const proto_reply *a, const proto_reply *b)
{
    assert_true(a->seq == b->seq);
    assert_int_equal(a->heartbeat_ms, b->heartbeat_ms);
    assert_int_equal(a->nnodes, b->nnodes);
    for (int i = 0; i < a->nnodes; i++) {
        const proto_node_cmds *x = &a->nodes[i], *y = &b->nodes[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->state, y->state);
        assert_string_equal(x->error, y->error);
        assert_int_equal(x->nack, y->nack);
        for (int k = 0; k < x->nack; k++) {
            assert_int_equal(x->ack[k].job, y->ack[k].job);
            assert_int_equal(x->ack[k].run, y->ack[k].run);
            assert_true(x->ack[k].gpus == y->ack[k].gpus);
        }
        assert_int_equal(x->nlaunch, y->nlaunch);
        for (int k = 0; k < x->nlaunch; k++) {
            const proto_launch *p = &x->launch[k], *r = &y->launch[k];
            assert_int_equal(p->job, r->job);
            assert_int_equal(p->run, r->run);
            assert_int_equal(p->uid, r->uid);
            assert_int_equal(p->gid, r->gid);
            assert_string_equal(p->user, r->user);
            assert_string_equal(p->name, r->name);
            assert_string_equal(p->workdir, r->workdir);
            assert_string_equal(p->output, r->output);
            assert_string_equal(p->error, r->error);
            if (p->script)
                assert_string_equal(p->script, r->script);
            else
                assert_null(r->script);
            assert_strv_equal(p->env, p->nenv, r->env, r->nenv);
            assert_true(p->gpus == r->gpus);
            assert_int_equal(p->cpus, r->cpus);
            assert_int_equal(p->mem_mb, r->mem_mb);
            assert_int_equal(p->time_limit, r->time_limit);
            assert_int_equal(p->kill_grace, r->kill_grace);
            if (p->nodelist)
                assert_string_equal(p->nodelist, r->nodelist);
            else
                assert_null(r->nodelist);
            assert_int_equal(p->node_rank, r->node_rank);
            assert_int_equal(p->nnodes, r->nnodes);
            assert_int_equal(p->total_gpus, r->total_gpus);
            assert_int_equal(p->array_job_id, r->array_job_id);
            assert_int_equal(p->array_task_id, r->array_task_id);
            assert_string_equal(p->controller, r->controller);
        }
        assert_int_equal(x->nkill, y->nkill);
        for (int k = 0; k < x->nkill; k++) {
            assert_int_equal(x->kill[k].job, y->kill[k].job);
            assert_int_equal(x->kill[k].run, y->kill[k].run);
            assert_int_equal(x->kill[k].reason, y->kill[k].reason);
            assert_int_equal(x->kill[k].signal, y->kill[k].signal);
            assert_int_equal(x->kill[k].grace, y->kill[k].grace);
        }
        assert_int_equal(x->nsteps, y->nsteps);
        for (int k = 0; k < x->nsteps; k++) {
            const proto_step *p = &x->steps[k], *r = &y->steps[k];
            assert_int_equal(p->job, r->job);
            assert_int_equal(p->run, r->run);
            assert_int_equal(p->step, r->step);
            assert_strv_equal(p->argv, p->argc, r->argv, r->argc);
            assert_strv_equal(p->env, p->nenv, r->env, r->nenv);
            assert_int_equal(p->world_size, r->world_size);
            assert_string_equal(p->master_addr, r->master_addr);
            assert_int_equal(p->master_port, r->master_port);
            assert_int_equal(p->nranks, r->nranks);
            for (int j = 0; j < p->nranks; j++) {
                assert_int_equal(p->ranks[j].rank, r->ranks[j].rank);
                assert_int_equal(p->ranks[j].local_rank, r->ranks[j].local_rank);
                assert_true(p->ranks[j].gpus == r->ranks[j].gpus);
            }
        }
        assert_int_equal(x->nstep_kills, y->nstep_kills);
        for (int k = 0; k < x->nstep_kills; k++) {
            assert_int_equal(x->step_kills[k].job, y->step_kills[k].job);
            assert_int_equal(x->step_kills[k].step, y->step_kills[k].step);
        }
    }
}

static void test_sync_round_trip_full(void **state)
{
    (void)state;
    proto_sync m, back;
    char err[256] = "";
    fill_sync(&m);
    /* an inventory not flagged is not sent: it decodes as none */
    strcpy(m.nodes[1].inv.model, "not sent");
    size_t len;
    char *text = proto_sync_encode(&m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    if (proto_sync_decode(text, len, &back, err, sizeof err) != 0)
        fail_msg("%s\n%s", err, text);
    memset(&m.nodes[1].inv, 0, sizeof m.nodes[1].inv);
    assert_sync_equal(&m, &back);
    assert_true(all_zero(&back.nodes[1].inv, sizeof back.nodes[1].inv));
    /* canonical: encoding the decoded message gives the same text */
    char *again = proto_sync_encode(&back, NULL);
    assert_string_equal(again, text);
    free(again);
    free(text);
    proto_sync_free(&back);
    proto_sync_free(&m);
    assert_true(all_zero(&m, sizeof m));
}

static void test_reply_round_trip_full(void **state)
{
    (void)state;
    proto_reply m, back;
    char err[256] = "";
    fill_reply(&m);
    size_t len;
    char *text = proto_reply_encode(&m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    if (proto_reply_decode(text, len, &back, err, sizeof err) != 0)
        fail_msg("%s\n%s", err, text);
    assert_reply_equal(&m, &back);
    char *again = proto_reply_encode(&back, NULL);
    assert_string_equal(again, text);
    free(again);
    free(text);
    proto_reply_free(&back);
    proto_reply_free(&m);
    assert_true(all_zero(&m, sizeof m));
}

/* The wire format, pinned: field names, order, what is left out. */
static void test_wire_format(void **state)
{
    (void)state;
    char err[256] = "";
    char *want = q(SYNC_T);
    proto_sync s;
    if (proto_sync_decode(want, strlen(want), &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    char *got = proto_sync_encode(&s, NULL);
    assert_string_equal(got, want);
    assert_int_equal(s.nnodes, 2);
    assert_int_equal(s.nodes[1].nrunning, 2);
    assert_true(s.nodes[1].running[0].gpus == 0x3);
    assert_true(s.nodes[1].running[1].gpus == 0);
    assert_int_equal(s.output[0].len, 19);
    free(got);
    free(want);
    proto_sync_free(&s);

    want = q(REPLY_T);
    proto_reply r;
    if (proto_reply_decode(want, strlen(want), &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    got = proto_reply_encode(&r, NULL);
    assert_string_equal(got, want);
    assert_null(r.nodes[0].launch[1].script);
    assert_null(r.nodes[0].launch[1].nodelist);
    assert_string_equal(r.nodes[0].launch[0].script, "#!/bin/bash\nsrun python train.py\n");
    free(got);
    free(want);
    proto_reply_free(&r);
}

#define EMPTY_SYNC "{\"version\":1,\"agent\":\"n1\",\"boot\":0,\"wait_ms\":0,\"last_seq\":0}"

static void test_empty_messages(void **state)
{
    (void)state;
    char err[256] = "";
    proto_sync s = {.version = PROTO_VERSION, .agent = "n1"}, sb;
    char *text = proto_sync_encode(&s, NULL);
    assert_string_equal(text, EMPTY_SYNC);
    assert_int_equal(proto_sync_decode(text, strlen(text), &sb, err, sizeof err), 0);
    assert_sync_equal(&s, &sb);
    assert_null(sb.nodes);
    assert_null(sb.output);
    assert_null(sb.rank_ends);
    free(text);
    proto_sync_free(&sb);

    /* negative counts and NULL lists are nothing to send */
    s.nnodes = -3;
    s.noutput = 2; /* with output NULL */
    text = proto_sync_encode(&s, NULL);
    assert_string_equal(text, EMPTY_SYNC);
    free(text);

    proto_reply r = {.seq = 1, .heartbeat_ms = 1000}, rb;
    text = proto_reply_encode(&r, NULL);
    assert_string_equal(text, "{\"seq\":1,\"heartbeat_ms\":1000}");
    assert_int_equal(proto_reply_decode(text, strlen(text), &rb, err, sizeof err), 0);
    assert_reply_equal(&r, &rb);
    assert_null(rb.nodes);
    free(text);
    proto_reply_free(&rb);
}

/* Absent lists are empty, absent strings "", absent script/nodelist NULL,
 * absent output data an empty (but allocated) string. */
static void test_absent_fields(void **state)
{
    (void)state;
    char err[256] = "";
    char *t = q("{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0,'nodes':[{'name':'n',"
                "'inventory':{'gpus':0,'cpus':0,'mem_mb':0}}],'output':[{'job':1,'step':0,"
                "'rank':0,'stream':2}]}");
    proto_sync s;
    if (proto_sync_decode(t, strlen(t), &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.nodes[0].has_inventory, 1);
    assert_string_equal(s.nodes[0].inv.model, "");
    assert_int_equal(s.nodes[0].inv.ngpu, 0);
    assert_null(s.nodes[0].inv.gpu);
    assert_int_equal(s.nodes[0].nrunning, 0);
    assert_null(s.nodes[0].running);
    assert_non_null(s.output[0].data);
    assert_int_equal(s.output[0].len, 0);
    assert_string_equal(s.output[0].data, "");
    free(t);
    proto_sync_free(&s);

    t = q("{'seq':1,'heartbeat_ms':1,'nodes':[{'name':'n','state':0,'launch':[{'job':1,'run':0,"
          "'uid':0,'gid':0,'script':null,'nodelist':'','cpus':0,'mem_mb':0,'time_limit':0,"
          "'kill_grace':0,'node_rank':0,'nnodes':1,'total_gpus':0,'array_job_id':0,"
          "'array_task_id':-1}],'steps':[{'job':1,'run':0,'step':0,'argv':['true'],"
          "'world_size':1,'master_port':0}]}]}");
    proto_reply r;
    if (proto_reply_decode(t, strlen(t), &r, err, sizeof err) != 0)
        fail_msg("%s", err);
    proto_launch *l = &r.nodes[0].launch[0];
    assert_null(l->script);         /* null is absent */
    assert_string_equal(l->nodelist, ""); /* "" is not */
    assert_int_equal(l->nenv, 0);
    assert_null(l->env);
    assert_int_equal(l->gpus, 0);
    assert_string_equal(l->user, "");
    assert_int_equal(r.nodes[0].steps[0].nranks, 0);
    assert_string_equal(r.nodes[0].error, "");
    /* the parts' own free functions, then the whole: nothing freed twice */
    proto_launch_free(l);
    assert_null(l->nodelist);
    proto_step_free(&r.nodes[0].steps[0]);
    assert_null(r.nodes[0].steps[0].argv);
    proto_reply_free(&r);
    proto_reply_free(&r);
    proto_reply_free(NULL);
    proto_sync_free(NULL);
    proto_launch_free(NULL);
    proto_step_free(NULL);
    free(t);
}

/* Forward compatibility: a newer peer's extra fields are skipped. */
static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "future", "nodes[0].future", "nodes[0].inventory.future", "nodes[0].inventory.gpu[1].x",
        "nodes[1].running[1].future", "nodes[0].ended[0].why", "output[0].future",
        "rank_ends[0].core_dumped",
    };
    char err[256];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char *t = mutate(SYNC_T, paths[i], "{'deep':[1,{'x':null}]}");
        proto_sync s;
        if (proto_sync_decode(t, strlen(t), &s, err, sizeof err) != 0)
            fail_msg("%s: %s", paths[i], err);
        proto_sync_free(&s);
        free(t);
    }
    static const char *const rpaths[] = {
        "future", "nodes[0].priority", "nodes[0].launch[0].container", "nodes[0].kill[0].why",
        "nodes[0].steps[0].ranks[0].numa", "nodes[0].step_kills[0].x", "nodes[0].ack[0].x",
    };
    for (size_t i = 0; i < sizeof rpaths / sizeof rpaths[0]; i++) {
        char *t = mutate(REPLY_T, rpaths[i], "'anything'");
        proto_reply r;
        if (proto_reply_decode(t, strlen(t), &r, err, sizeof err) != 0)
            fail_msg("%s: %s", rpaths[i], err);
        proto_reply_free(&r);
        free(t);
    }
}

static void test_duplicate_keys_refused(void **state)
{
    (void)state;
    static const char *const syncs[] = {
        "{'version':1,'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0}",
        "{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0,'nodes':[{'name':'n',"
        "'running':[{'job':1,'job':2,'run':0}]}]}",
        "{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0,'nodes':[{'name':'n',"
        "'name':'m'}]}",
        "{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0,'x':{'y':1,'y':2}}",
    };
    char err[256];
    for (size_t i = 0; i < sizeof syncs / sizeof syncs[0]; i++) {
        char *t = q(syncs[i]);
        proto_sync s;
        assert_int_equal(proto_sync_decode(t, strlen(t), &s, err, sizeof err), -1);
        assert_non_null(strstr(err, "duplicate object key"));
        assert_true(all_zero(&s, sizeof s));
        free(t);
    }
    char *t = q("{'seq':1,'heartbeat_ms':1,'nodes':[{'name':'n','state':0,'kill':[{'job':1,"
                "'run':0,'reason':1,'reason':2}]}]}");
    proto_reply r;
    assert_int_equal(proto_reply_decode(t, strlen(t), &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "duplicate object key"));
    assert_true(all_zero(&r, sizeof r));
    free(t);
}

/* ---- every refusal, with the path it names --------------------------------- */

typedef struct bad_case {
    int reply;         /* 0: mutate SYNC_T, 1: REPLY_T */
    const char *path;  /* what to change */
    const char *value; /* the new value (q() form), NULL: remove it */
    const char *want;  /* the exact error */
} bad_case;

static const bad_case bad_cases[] = {
    {0, "version", NULL, "version: missing"},
    {0, "version", "'1'", "version: not an integer"},
    {0, "version", "2", "version: unsupported protocol version 2"},
    {0, "version", "0", "version: unsupported protocol version 0"},
    {0, "agent", NULL, "agent: missing"},
    {0, "agent", "''", "agent: empty"},
    {0, "agent", "1", "agent: not a string"},
    {0, "agent", "'a\\u0000b'", "agent: contains a NUL byte"},
    {0, "boot", "-1", "boot: must be at least 0 (got -1)"},
    {0, "boot", "1.5", "boot: not an integer"},
    {0, "boot", "null", "boot: not an integer"},
    {0, "boot", "1e3", "boot: not an integer"},
    {0, "wait_ms", "600001", "wait_ms: must be in 0..600000 (got 600001)"},
    {0, "wait_ms", "-1", "wait_ms: must be in 0..600000 (got -1)"},
    {0, "last_seq", "-1", "last_seq: must be at least 0 (got -1)"},
    {0, "last_seq", "true", "last_seq: not an integer"},
    {0, "last_seq", NULL, "last_seq: missing"},
    {0, "nodes", "{}", "nodes: not an array"},
    {0, "nodes", "null", "nodes: not an array"},
    {0, "nodes[1]", "'x'", "nodes[1]: not an object"},
    {0, "nodes[0].name", NULL, "nodes[0].name: missing"},
    {0, "nodes[1].name", "''", "nodes[1].name: empty"},
    {0, "nodes[0].inventory", "[]", "nodes[0].inventory: not an object"},
    {0, "nodes[0].inventory", "null", "nodes[0].inventory: not an object"},
    {0, "nodes[0].inventory.gpus", "65", "nodes[0].inventory.gpus: must be in 0..64 (got 65)"},
    {0, "nodes[0].inventory.cpus", "-1",
     "nodes[0].inventory.cpus: must be in 0..2147483647 (got -1)"},
    {0, "nodes[0].inventory.mem_mb", NULL, "nodes[0].inventory.mem_mb: missing"},
    {0, "nodes[0].inventory.cgroup", "'cgroup-v2'",
     "nodes[0].inventory.cgroup: longer than 7 bytes"},
    {0, "nodes[0].inventory.source", "3", "nodes[0].inventory.source: not a string"},
    {0, "nodes[0].inventory.gpu", "{}", "nodes[0].inventory.gpu: not an array"},
    {0, "nodes[0].inventory.gpu[1].index", "64",
     "nodes[0].inventory.gpu[1].index: must be in 0..63 (got 64)"},
    {0, "nodes[0].inventory.gpu[1].index", NULL, "nodes[0].inventory.gpu[1].index: missing"},
    {0, "nodes[0].inventory.gpu[0].mem_mb", "-5",
     "nodes[0].inventory.gpu[0].mem_mb: must be at least 0 (got -5)"},
    {0, "nodes[0].inventory.gpu[1].uuid", "[]", "nodes[0].inventory.gpu[1].uuid: not a string"},
    {0, "nodes[1].running", "[1]", "nodes[1].running[0]: not an object"},
    {0, "nodes[1].running[0].job", "'1207'", "nodes[1].running[0].job: not an integer"},
    {0, "nodes[1].running[1].job", "0", "nodes[1].running[1].job: must be at least 1 (got 0)"},
    {0, "nodes[1].running[1].job", NULL, "nodes[1].running[1].job: missing"},
    {0, "nodes[1].running[0].run", "-1",
     "nodes[1].running[0].run: must be in 0..2147483647 (got -1)"},
    {0, "nodes[1].running[0].run", "2147483648",
     "nodes[1].running[0].run: must be in 0..2147483647 (got 2147483648)"},
    {0, "nodes[1].running[0].gpus", "[64]",
     "nodes[1].running[0].gpus[0]: must be in 0..63 (got 64)"},
    {0, "nodes[1].running[0].gpus", "[0,-1]",
     "nodes[1].running[0].gpus[1]: must be in 0..63 (got -1)"},
    {0, "nodes[1].running[0].gpus", "[1,0,1]",
     "nodes[1].running[0].gpus[2]: GPU index 1 listed twice"},
    {0, "nodes[1].running[0].gpus", "[0.5]", "nodes[1].running[0].gpus[0]: not an integer"},
    {0, "nodes[1].running[0].gpus", "7", "nodes[1].running[0].gpus: not an array"},
    {0, "nodes[1].running[1]", "[]", "nodes[1].running[1]: not an object"},
    {0, "nodes[0].ended", "'none'", "nodes[0].ended: not an array"},
    {0, "nodes[0].ended[0].reason", "5", "nodes[0].ended[0].reason: must be in 0..4 (got 5)"},
    {0, "nodes[0].ended[0].reason", "-1", "nodes[0].ended[0].reason: must be in 0..4 (got -1)"},
    {0, "nodes[0].ended[0].signal", "-1",
     "nodes[0].ended[0].signal: must be in 0..2147483647 (got -1)"},
    {0, "nodes[0].ended[0].exit_code", "2147483648",
     "nodes[0].ended[0].exit_code: must be in -2147483648..2147483647 (got 2147483648)"},
    {0, "nodes[0].ended[0].start", NULL, "nodes[0].ended[0].start: missing"},
    {0, "nodes[0].ended[0].end", "-1", "nodes[0].ended[0].end: must be at least 0 (got -1)"},
    {0, "nodes[0].ended[0].message", "{}", "nodes[0].ended[0].message: not a string"},
    {0, "output", "0", "output: not an array"},
    {0, "output[0].job", "0", "output[0].job: must be at least 1 (got 0)"},
    {0, "output[0].stream", "0", "output[0].stream: must be in 1..2 (got 0)"},
    {0, "output[0].stream", "3", "output[0].stream: must be in 1..2 (got 3)"},
    {0, "output[0].step", "-1", "output[0].step: must be in 0..2147483647 (got -1)"},
    {0, "output[0].rank", NULL, "output[0].rank: missing"},
    {0, "output[0].data", "5", "output[0].data: not a string"},
    {0, "output[0].data", "null", "output[0].data: not a string"},
    {0, "rank_ends[0].rank", "-1", "rank_ends[0].rank: must be in 0..2147483647 (got -1)"},
    {0, "rank_ends[0].signal", "'9'", "rank_ends[0].signal: not an integer"},
    {0, "rank_ends[0].exit_code", NULL, "rank_ends[0].exit_code: missing"},
    {0, "rank_ends[0]", "null", "rank_ends[0]: not an object"},

    {1, "seq", NULL, "seq: missing"},
    {1, "seq", "0", "seq: must be at least 1 (got 0)"},
    {1, "seq", "-5", "seq: must be at least 1 (got -5)"},
    {1, "seq", "'1'", "seq: not an integer"},
    {1, "heartbeat_ms", "0", "heartbeat_ms: must be in 1..3600000 (got 0)"},
    {1, "heartbeat_ms", "3600001", "heartbeat_ms: must be in 1..3600000 (got 3600001)"},
    {1, "heartbeat_ms", NULL, "heartbeat_ms: missing"},
    {1, "nodes", "null", "nodes: not an array"},
    {1, "nodes[1]", "7", "nodes[1]: not an object"},
    {1, "nodes[0].name", NULL, "nodes[0].name: missing"},
    {1, "nodes[1].name", "'n\\u0000'", "nodes[1].name: contains a NUL byte"},
    {1, "nodes[0].state", "3", "nodes[0].state: must be in 0..2 (got 3)"},
    {1, "nodes[0].state", NULL, "nodes[0].state: missing"},
    {1, "nodes[1].error", "false", "nodes[1].error: not a string"},
    {1, "nodes[0].ack[0].job", "0", "nodes[0].ack[0].job: must be at least 1 (got 0)"},
    {1, "nodes[0].ack[0].gpus", "[99]", "nodes[0].ack[0].gpus[0]: must be in 0..63 (got 99)"},
    {1, "nodes[0].launch", "{}", "nodes[0].launch: not an array"},
    {1, "nodes[0].launch[0].job", NULL, "nodes[0].launch[0].job: missing"},
    {1, "nodes[0].launch[0].uid", "-1",
     "nodes[0].launch[0].uid: must be in 0..4294967295 (got -1)"},
    {1, "nodes[0].launch[1].gid", "4294967296",
     "nodes[0].launch[1].gid: must be in 0..4294967295 (got 4294967296)"},
    {1, "nodes[0].launch[0].user", "7", "nodes[0].launch[0].user: not a string"},
    {1, "nodes[0].launch[1].script", "1", "nodes[0].launch[1].script: not a string"},
    {1, "nodes[0].launch[0].script", "'#!/bin/sh\\u0000x'",
     "nodes[0].launch[0].script: contains a NUL byte"},
    {1, "nodes[0].launch[0].env", "'A=1'", "nodes[0].launch[0].env: not an array"},
    {1, "nodes[0].launch[0].env[1]", "'NOEQUALS'", "nodes[0].launch[0].env[1]: not K=V"},
    {1, "nodes[0].launch[0].env[0]", "'=x'", "nodes[0].launch[0].env[0]: not K=V"},
    {1, "nodes[0].launch[0].env[0]", "''", "nodes[0].launch[0].env[0]: not K=V"},
    {1, "nodes[0].launch[0].env[0]", "3", "nodes[0].launch[0].env[0]: not a string"},
    {1, "nodes[0].launch[0].env[1]", "'A=\\u0000'",
     "nodes[0].launch[0].env[1]: contains a NUL byte"},
    {1, "nodes[0].launch[0].gpus", "[0,0]", "nodes[0].launch[0].gpus[1]: GPU index 0 listed twice"},
    {1, "nodes[0].launch[0].cpus", "-1",
     "nodes[0].launch[0].cpus: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].launch[0].mem_mb", "-1",
     "nodes[0].launch[0].mem_mb: must be at least 0 (got -1)"},
    {1, "nodes[0].launch[0].time_limit", "-1",
     "nodes[0].launch[0].time_limit: must be at least 0 (got -1)"},
    {1, "nodes[0].launch[0].kill_grace", "-1",
     "nodes[0].launch[0].kill_grace: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].launch[0].nodelist", "[]", "nodes[0].launch[0].nodelist: not a string"},
    {1, "nodes[0].launch[0].node_rank", "2",
     "nodes[0].launch[0].node_rank: 2 is not below nnodes (2)"},
    {1, "nodes[0].launch[0].node_rank", "-1",
     "nodes[0].launch[0].node_rank: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].launch[0].nnodes", "0",
     "nodes[0].launch[0].nnodes: must be in 1..2147483647 (got 0)"},
    {1, "nodes[0].launch[0].total_gpus", "-1",
     "nodes[0].launch[0].total_gpus: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].launch[0].array_job_id", "-1",
     "nodes[0].launch[0].array_job_id: must be at least 0 (got -1)"},
    {1, "nodes[0].launch[1].array_task_id", "-2",
     "nodes[0].launch[1].array_task_id: must be in -1..2147483647 (got -2)"},
    {1, "nodes[0].launch[1].controller", "0", "nodes[0].launch[1].controller: not a string"},
    {1, "nodes[0].kill[0].reason", "0", "nodes[0].kill[0].reason: must be in 1..4 (got 0)"},
    {1, "nodes[0].kill[0].reason", "5", "nodes[0].kill[0].reason: must be in 1..4 (got 5)"},
    {1, "nodes[0].kill[0].reason", "3", "nodes[0].kill[0].reason: 3 (launch failed) is not a kill"},
    {1, "nodes[0].kill[0].reason", "4", "nodes[0].kill[0].signal: missing"},
    {1, "nodes[0].kill[1].signal", "0", "nodes[0].kill[1].signal: must be in 1..64 (got 0)"},
    {1, "nodes[0].kill[1].signal", "65", "nodes[0].kill[1].signal: must be in 1..64 (got 65)"},
    {1, "nodes[0].kill[1].grace", "-1",
     "nodes[0].kill[1].grace: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].kill[1].grace", NULL, "nodes[0].kill[1].grace: missing"},
    {1, "nodes[0].kill[0].run", NULL, "nodes[0].kill[0].run: missing"},
    {1, "nodes[0].steps[0].argv", NULL, "nodes[0].steps[0].argv: missing"},
    {1, "nodes[0].steps[0].argv", "[]", "nodes[0].steps[0].argv: empty"},
    {1, "nodes[0].steps[0].argv", "'python'", "nodes[0].steps[0].argv: not an array"},
    {1, "nodes[0].steps[0].argv[2]", "null", "nodes[0].steps[0].argv[2]: not a string"},
    {1, "nodes[0].steps[0].env[0]", "'FOO'", "nodes[0].steps[0].env[0]: not K=V"},
    {1, "nodes[0].steps[0].world_size", "0",
     "nodes[0].steps[0].world_size: must be in 1..2147483647 (got 0)"},
    {1, "nodes[0].steps[0].master_port", "65536",
     "nodes[0].steps[0].master_port: must be in 0..65535 (got 65536)"},
    {1, "nodes[0].steps[0].ranks[1].rank", "4",
     "nodes[0].steps[0].ranks[1].rank: 4 is not below world_size (4)"},
    {1, "nodes[0].steps[0].ranks[0].local_rank", "-1",
     "nodes[0].steps[0].ranks[0].local_rank: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].steps[0].ranks[1].gpus", "[64]",
     "nodes[0].steps[0].ranks[1].gpus[0]: must be in 0..63 (got 64)"},
    {1, "nodes[0].steps[0].step", "-1",
     "nodes[0].steps[0].step: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].step_kills[0].step", "-1",
     "nodes[0].step_kills[0].step: must be in 0..2147483647 (got -1)"},
    {1, "nodes[0].step_kills[0].job", "'x'", "nodes[0].step_kills[0].job: not an integer"},
};

/* Decodes text as a sync or a reply and expects refusal with exactly want;
 * the message must then be all zero. */
static void expect_refused(int reply, const char *text, size_t len, const char *want)
{
    char err[256] = "";
    if (reply) {
        proto_reply r;
        if (proto_reply_decode(text, len, &r, err, sizeof err) == 0) {
            proto_reply_free(&r);
            fail_msg("accepted, want \"%s\": %s", want, text);
        }
        assert_true(all_zero(&r, sizeof r));
    } else {
        proto_sync s;
        if (proto_sync_decode(text, len, &s, err, sizeof err) == 0) {
            proto_sync_free(&s);
            fail_msg("accepted, want \"%s\": %.300s", want, text);
        }
        assert_true(all_zero(&s, sizeof s));
    }
    if (strcmp(err, want) != 0)
        fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void expect_accepted(int reply, const char *text, size_t len)
{
    char err[256] = "";
    if (reply) {
        proto_reply r;
        if (proto_reply_decode(text, len, &r, err, sizeof err) != 0)
            fail_msg("refused: %s", err);
        proto_reply_free(&r);
    } else {
        proto_sync s;
        if (proto_sync_decode(text, len, &s, err, sizeof err) != 0)
            fail_msg("refused: %s", err);
        proto_sync_free(&s);
    }
}

static void test_templates_and_field_errors(void **state)
{
    (void)state;
    char *t = q(SYNC_T);
    expect_accepted(0, t, strlen(t));
    free(t);
    t = q(REPLY_T);
    expect_accepted(1, t, strlen(t));
    free(t);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        t = mutate(c->reply ? REPLY_T : SYNC_T, c->path, c->value);
        expect_refused(c->reply, t, strlen(t), c->want);
        free(t);
    }
}

/* Fixed-size strings: N-1 bytes fit, N do not. */
static void test_string_bounds(void **state)
{
    (void)state;
    static const struct {
        int reply;
        const char *path;
        size_t cap;
    } cases[] = {
        {0, "agent", PROTO_NAME_MAX},
        {0, "nodes[1].name", PROTO_NAME_MAX},
        {0, "nodes[0].inventory.model", 64},
        {0, "nodes[0].inventory.addr", 128},
        {0, "nodes[0].inventory.cgroup", 8},
        {0, "nodes[0].inventory.note", 256},
        {0, "nodes[0].inventory.source", 16},
        {0, "nodes[0].inventory.gpu[1].uuid", 96},
        {0, "nodes[0].inventory.gpu[0].name", 96},
        {0, "nodes[0].ended[0].message", 256},
        {1, "nodes[1].name", PROTO_NAME_MAX},
        {1, "nodes[1].error", 256},
        {1, "nodes[0].launch[1].user", 64},
        {1, "nodes[0].launch[1].name", 128},
        {1, "nodes[0].launch[1].workdir", 1024},
        {1, "nodes[0].launch[0].output", 1024},
        {1, "nodes[0].launch[0].error", 1024},
        {1, "nodes[0].launch[0].controller", 256},
        {1, "nodes[0].steps[0].master_addr", 128},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *tmpl = cases[i].reply ? REPLY_T : SYNC_T;
        char *v = long_string(cases[i].cap - 1);
        char *t = mutate(tmpl, cases[i].path, v);
        expect_accepted(cases[i].reply, t, strlen(t));
        free(t);
        free(v);
        v = long_string(cases[i].cap);
        t = mutate(tmpl, cases[i].path, v);
        char want[256];
        snprintf(want, sizeof want, "%s: longer than %zu bytes", cases[i].path, cases[i].cap - 1);
        expect_refused(cases[i].reply, t, strlen(t), want);
        free(t);
        free(v);
    }
    /* the message of the task description, to the letter */
    char *v = long_string(1024);
    char *t = mutate(REPLY_T, "nodes[0].launch[1].workdir", v);
    expect_refused(1, t, strlen(t), "nodes[0].launch[1].workdir: longer than 1023 bytes");
    free(t);
    free(v);
}

/* Lists: the bound fits, one more does not. The messages are built as text
 * (no DOM in between: under ASan each 100,000-entry list costs enough). */
#define SYNC_HEAD "{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':0,"
#define REPLY_NODE "{'seq':1,'heartbeat_ms':1,'nodes':[{'name':'n','state':0,"
#define LAUNCH_MIN                                                                                 \
    "'job':1,'run':0,'uid':0,'gid':0,'cpus':0,'mem_mb':0,'time_limit':0,'kill_grace':0,"          \
    "'node_rank':0,'nnodes':1,'total_gpus':0,'array_job_id':0,'array_task_id':-1"
#define STEP_MIN "'job':1,'run':0,'step':0,'world_size':1,'master_port':0"

/* shape with its one "@" replaced by elem repeated n times, as real JSON */
static char *with_list(const char *shape, const char *elem, size_t n)
{
    char *list = repeated(elem, n);
    const char *at = strchr(shape, '@');
    assert_non_null(at);
    size_t head = (size_t)(at - shape), ln = strlen(list), tail = strlen(at + 1);
    char *s = malloc(head + ln + tail + 1);
    assert_non_null(s);
    memcpy(s, shape, head);
    memcpy(s + head, list, ln);
    memcpy(s + head + ln, at + 1, tail + 1);
    free(list);
    char *t = q(s);
    free(s);
    return t;
}

/* The count is checked before any entry: max entries of 0 get as far as the
 * first entry ("nodes[0]: not an object"), one more is refused outright. */
static void test_count_bounds(void **state)
{
    (void)state;
    static const struct {
        int reply, strings;
        const char *shape, *path;
        size_t max;
    } cases[] = {
        {0, 0, SYNC_HEAD "'nodes':@}", "nodes", PROTO_MAX_NODES},
        {0, 0, SYNC_HEAD "'nodes':[{'name':'a'},{'name':'b','running':@}]}", "nodes[1].running",
         100000},
        {0, 0, SYNC_HEAD "'nodes':[{'name':'a','ended':@}]}", "nodes[0].ended", 100000},
        {0, 0,
         SYNC_HEAD "'nodes':[{'name':'a','inventory':{'gpus':0,'cpus':0,'mem_mb':0,'gpu':@}}]}",
         "nodes[0].inventory.gpu", PROTO_MAX_GPUS},
        {0, 0, SYNC_HEAD "'output':@}", "output", 100000},
        {0, 0, SYNC_HEAD "'rank_ends':@}", "rank_ends", 100000},
        {1, 0, "{'seq':1,'heartbeat_ms':1,'nodes':@}", "nodes", PROTO_MAX_NODES},
        {1, 0, REPLY_NODE "'ack':@}]}", "nodes[0].ack", 100000},
        {1, 0, REPLY_NODE "'launch':@}]}", "nodes[0].launch", 100000},
        {1, 0, REPLY_NODE "'kill':@}]}", "nodes[0].kill", 100000},
        {1, 0, REPLY_NODE "'steps':@}]}", "nodes[0].steps", 100000},
        {1, 0, REPLY_NODE "'step_kills':@}]}", "nodes[0].step_kills", 100000},
        {1, 0, REPLY_NODE "'steps':[{" STEP_MIN ",'argv':['x'],'ranks':@}]}]}",
         "nodes[0].steps[0].ranks", 100000},
        {1, 1, REPLY_NODE "'launch':[{" LAUNCH_MIN ",'env':@}]}]}", "nodes[0].launch[0].env", 4096},
        {1, 1, REPLY_NODE "'steps':[{" STEP_MIN ",'argv':['x'],'env':@}]}]}",
         "nodes[0].steps[0].env", 4096},
        {1, 1, REPLY_NODE "'steps':[{" STEP_MIN ",'argv':@}]}]}", "nodes[0].steps[0].argv", 4096},
    };
    char want[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = with_list(cases[i].shape, "0", cases[i].max);
        snprintf(want, sizeof want, "%s[0]: %s", cases[i].path,
                 cases[i].strings ? "not a string" : "not an object");
        expect_refused(cases[i].reply, t, strlen(t), want);
        free(t);
        t = with_list(cases[i].shape, "0", cases[i].max + 1);
        snprintf(want, sizeof want, "%s: more than %zu entries", cases[i].path, cases[i].max);
        expect_refused(cases[i].reply, t, strlen(t), want);
        free(t);
    }
    /* and lists that large, valid, are read whole */
    char *t = with_list(SYNC_HEAD "'nodes':@}", "{'name':'n'}", PROTO_MAX_NODES);
    expect_accepted(0, t, strlen(t));
    free(t);
    t = with_list(REPLY_NODE "'launch':[{" LAUNCH_MIN ",'env':@}]}]}", "'A=1'", 4096);
    expect_accepted(1, t, strlen(t));
    free(t);
    t = with_list(REPLY_NODE "'steps':[{" STEP_MIN ",'argv':@}]}]}", "'x'", 4096);
    expect_accepted(1, t, strlen(t));
    free(t);
    t = with_list(SYNC_HEAD "'nodes':[{'name':'a','running':@}]}", "{'job':1,'run':0,'gpus':[1]}",
                  100000);
    expect_accepted(0, t, strlen(t));
    free(t);
}

static void test_integer_limits(void **state)
{
    (void)state;
    char err[256];
    /* 2^63-1 is the most a seq can be: json_int_t holds no more */
    char *t = mutate(SYNC_T, "last_seq", "9223372036854775807");
    proto_sync s;
    assert_int_equal(proto_sync_decode(t, strlen(t), &s, err, sizeof err), 0);
    assert_true(s.last_seq == (uint64_t)INT64_MAX);
    proto_sync_free(&s);
    free(t);
    t = q("{'version':1,'agent':'a','boot':0,'wait_ms':0,'last_seq':9223372036854775808}");
    assert_int_equal(proto_sync_decode(t, strlen(t), &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "too big integer"));
    assert_true(all_zero(&s, sizeof s));
    free(t);
    t = q("{'seq':18446744073709551615,'heartbeat_ms':1}");
    proto_reply r;
    assert_int_equal(proto_reply_decode(t, strlen(t), &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "too big integer"));
    free(t);
    /* the edges that are in range */
    static const struct {
        int reply;
        const char *path, *value;
    } ok[] = {
        {0, "wait_ms", "600000"},        {0, "wait_ms", "0"},
        {0, "nodes[0].inventory.gpus", "64"}, {0, "nodes[0].inventory.gpu[1].index", "63"},
        {0, "nodes[1].running[0].gpus", "[63,0,62]"}, {0, "nodes[0].ended[0].reason", "3"},
        {0, "nodes[0].ended[0].exit_code", "-2147483648"}, {0, "output[0].stream", "2"},
        {1, "heartbeat_ms", "1"},       {1, "heartbeat_ms", "3600000"},
        {1, "seq", "9223372036854775807"}, {1, "nodes[0].launch[0].uid", "4294967295"},
        {1, "nodes[0].launch[0].node_rank", "1"}, {1, "nodes[0].steps[0].master_port", "65535"},
        {1, "nodes[0].steps[0].ranks[1].rank", "3"}, {1, "nodes[0].kill[0].reason", "1"},
        {1, "nodes[0].state", "2"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        t = mutate(ok[i].reply ? REPLY_T : SYNC_T, ok[i].path, ok[i].value);
        expect_accepted(ok[i].reply, t, strlen(t));
        free(t);
    }
}

static void test_body_errors(void **state)
{
    (void)state;
    char err[256];
    proto_sync s;
    proto_reply r;
    assert_int_equal(proto_sync_decode(NULL, 0, &s, err, sizeof err), -1);
    assert_string_equal(err, "no body");
    assert_int_equal(proto_reply_decode("{}", (size_t)PROTO_MAX_BODY + 1, &r, err, sizeof err), -1);
    assert_string_equal(err, "body larger than 67108864 bytes");
    expect_refused(0, "[]", 2, "the body must be a JSON object");
    expect_refused(1, "\"x\"", 3, "the body must be a JSON object");
    assert_int_equal(proto_sync_decode("", 0, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON at line 1"));
    const char *trailing = "{\"seq\":1,\"heartbeat_ms\":1} x";
    assert_int_equal(proto_reply_decode(trailing, strlen(trailing), &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    /* invalid UTF-8 in the body itself: jansson refuses it; the message
     * quotes no raw bytes */
    const char bad[] =
        "{\"version\":1,\"agent\":\"\xff\xfe\",\"boot\":0,\"wait_ms\":0,\"last_seq\":0}";
    assert_int_equal(proto_sync_decode(bad, sizeof bad - 1, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    for (const char *p = err; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    assert_true(all_zero(&s, sizeof s));
    /* a refusal deep inside, after much has been allocated: all let go */
    char *t = mutate(REPLY_T, "nodes[1].error", "1");
    assert_int_equal(proto_reply_decode(t, strlen(t), &r, err, sizeof err), -1);
    assert_true(all_zero(&r, sizeof r));
    /* a short error buffer is cut, never overrun; none at all is fine */
    char small[8];
    memset(small, 'Z', sizeof small);
    assert_int_equal(proto_reply_decode(t, strlen(t), &r, small, 6), -1);
    assert_string_equal(small, "nodes");
    assert_int_equal(small[6], 'Z');
    assert_int_equal(proto_reply_decode(t, strlen(t), &r, NULL, 0), -1);
    free(t);
}

/* NUL bytes: refused in every C string, kept in output data (raw bytes). */
static void test_nul_bytes(void **state)
{
    (void)state;
    char err[256];
    char *t = mutate(SYNC_T, "output[0].data", "'a\\u0000b\\u0000'");
    proto_sync s;
    assert_int_equal(proto_sync_decode(t, strlen(t), &s, err, sizeof err), 0);
    assert_int_equal(s.output[0].len, 4);
    assert_memory_equal(s.output[0].data, "a\0b\0", 5); /* and NUL-terminated */
    char *again = proto_sync_encode(&s, NULL);
    assert_non_null(strstr(again, "\"data\":\"a\\u0000b\\u0000\""));
    free(again);
    proto_sync_free(&s);
    free(t);
}

/* Output data is raw bytes; on the wire it is made valid UTF-8, each maximal
 * invalid subsequence replaced by U+FFFD. */
static void test_output_invalid_utf8(void **state)
{
    (void)state;
#define FFFD "\xef\xbf\xbd"
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"a\xff" "b", 3, "a" FFFD "b"},
        {"\xe2\x82", 2, FFFD},                      /* truncated at the end */
        {"\xe2\x82" "A", 3, FFFD "A"},              /* truncated inside */
        {"\xc0\xaf", 2, FFFD FFFD},                 /* overlong '/' */
        {"\xe0\x80\xaf", 3, FFFD FFFD FFFD},        /* overlong, 3 bytes */
        {"\xed\xa0\x80", 3, FFFD FFFD FFFD},        /* a surrogate */
        {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* above U+10FFFF */
        {"\xf0\x9f\x98", 3, FFFD},                  /* 4-byte form cut short */
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},  /* valid: kept */
        {"\xef\xbf\xbd", 3, FFFD},                  /* U+FFFD itself: kept */
        {"\x80\x80", 2, FFFD FFFD},                 /* lone continuations */
        {"\xf8\x88\x80\x80\x80", 5, FFFD FFFD FFFD FFFD FFFD},
        {"caf\xe9 \x1b[1m\x7f", 10, "caf" FFFD " \x1b[1m\x7f"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proto_output o = {.job = 1, .stream = 1, .data = (char *)cases[i].in, .len = cases[i].n};
        proto_sync s = {.version = 1, .agent = "a", .noutput = 1, .output = &o}, back;
        char *text = proto_sync_encode(&s, NULL);
        /* strict JSON: jansson (which refuses invalid UTF-8) reads it */
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        if (!j)
            fail_msg("case %zu: %s", i, je.text);
        json_decref(j);
        if (proto_sync_decode(text, strlen(text), &back, err, sizeof err) != 0)
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(back.output[0].len, strlen(cases[i].out));
        assert_memory_equal(back.output[0].data, cases[i].out, strlen(cases[i].out));
        proto_sync_free(&back);
        free(text);
    }
}

/* Fixed-size fields are repaired too, and whatever fits the struct fits the
 * peer's: the repaired text is cut at a character boundary if need be. */
static void test_fixed_string_utf8(void **state)
{
    (void)state;
    char err[256];
    proto_sync s = {.version = 1, .agent = "a"}, back;
    proto_node_report n = {.name = "n1"};
    proto_ended e = {.job = 1};
    n.nended = 1;
    n.ended = &e;
    s.nnodes = 1;
    s.nodes = &n;

    memset(e.message, 0xff, sizeof e.message - 1); /* 255 invalid bytes */
    char *text = proto_sync_encode(&s, NULL);
    assert_int_equal(proto_sync_decode(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(strlen(back.nodes[0].ended[0].message), 255); /* 85 x U+FFFD */
    for (int i = 0; i < 85; i++)
        assert_memory_equal(back.nodes[0].ended[0].message + 3 * i, FFFD, 3);
    proto_sync_free(&back);
    free(text);

    memset(e.message, 'a', 254);
    e.message[254] = (char)0xe9;
    text = proto_sync_encode(&s, NULL);
    assert_int_equal(proto_sync_decode(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(strlen(back.nodes[0].ended[0].message), 254); /* no room for U+FFFD */
    proto_sync_free(&back);
    free(text);

    /* a name filling its array, not NUL-terminated in it: read to the bound */
    memset(n.name, 'x', sizeof n.name);
    memset(e.message, 0, sizeof e.message);
    text = proto_sync_encode(&s, NULL);
    assert_int_equal(proto_sync_decode(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(strlen(back.nodes[0].name), PROTO_NAME_MAX - 1);
    proto_sync_free(&back);
    free(text);

    /* an empty name is sent (the peer says what is wrong), not left out */
    n.name[0] = '\0';
    text = proto_sync_encode(&s, NULL);
    assert_non_null(strstr(text, "\"name\":\"\""));
    expect_refused(0, text, strlen(text), "nodes[0].name: empty");
    free(text);
#undef FFFD
}

/* Masks: every bit of 64 survives the trip. */
static void test_masks(void **state)
{
    (void)state;
    char err[256];
    for (int b = 0; b < 64; b++) {
        proto_running run = {.job = 1, .gpus = (uint64_t)1 << b};
        proto_node_report n = {.name = "n", .nrunning = 1, .running = &run};
        proto_sync s = {.version = 1, .agent = "a", .nnodes = 1, .nodes = &n}, back;
        char *text = proto_sync_encode(&s, NULL);
        assert_int_equal(proto_sync_decode(text, strlen(text), &back, err, sizeof err), 0);
        assert_true(back.nodes[0].running[0].gpus == (uint64_t)1 << b);
        proto_sync_free(&back);
        free(text);
    }
}

/* ---- authentication -------------------------------------------------------- */

/* Known answers from Python's hmac: HMAC-SHA256(key, context || 0 || le64(nonce) || body),
 * key = 0, 1, ..., 31. */
#define KAT_BODY "{\"version\":1,\"agent\":\"n1\",\"boot\":0,\"wait_ms\":0,\"last_seq\":0}"
#define KAT_NONCE 1717000000123456789u
#define KAT_SYNC "a38485397dfebaaa0d77cdc2f347e72bfc3b826a122257a3341440c8a5d80c93"
#define KAT_REPLY "38958b1f362565c1a11a34e67a61813b3b5a485ba74b71c37c367a4d4453eadd"

static void test_mac(void **state)
{
    (void)state;
    uint8_t key[32], other[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        other[i] = (uint8_t)i;
    }
    other[31] ^= 1;
    const char *body = KAT_BODY;
    size_t len = strlen(body);
    char hex[65];
    proto_mac_hex(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, hex);
    assert_string_equal(hex, KAT_SYNC);
    proto_mac_hex(key, PROTO_CTX_REPLY, KAT_NONCE, body, len, hex);
    assert_string_equal(hex, KAT_REPLY);

    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, KAT_SYNC), 0);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_REPLY, KAT_NONCE, body, len, KAT_REPLY), 0);
    /* wrong key, nonce, context (a reply's MAC is no sync's), body */
    assert_int_equal(proto_mac_check(other, PROTO_CTX_SYNC, KAT_NONCE, body, len, KAT_SYNC), -1);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE + 1, body, len, KAT_SYNC), -1);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_REPLY, KAT_NONCE, body, len, KAT_SYNC), -1);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len - 1, KAT_SYNC), -1);
    char flipped[sizeof KAT_BODY];
    for (size_t i = 0; i < len; i++) {
        memcpy(flipped, body, sizeof flipped);
        flipped[i] ^= 0x20;
        assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, flipped, len, KAT_SYNC),
                         -1);
    }
    /* malformed hex: short, long, uppercase, not hex, empty, NULL */
    char mal[80];
    static const char *const bad[] = {KAT_SYNC "0", "", "0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, bad[i]), -1);
    snprintf(mal, sizeof mal, "%.63s", KAT_SYNC);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, mal), -1);
    snprintf(mal, sizeof mal, "%s", KAT_SYNC);
    mal[0] = 'A'; /* "a" upper-cased: the same byte, but not the one spelling */
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, mal), -1);
    mal[0] = 'g';
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, mal), -1);
    snprintf(mal, sizeof mal, " %.63s", KAT_SYNC);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, mal), -1);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, NULL), -1);
    /* every single-digit change is refused */
    for (int i = 0; i < 64; i++) {
        snprintf(mal, sizeof mal, "%s", KAT_SYNC);
        mal[i] = mal[i] == '0' ? '1' : '0';
        assert_int_equal(proto_mac_check(key, PROTO_CTX_SYNC, KAT_NONCE, body, len, mal), -1);
    }
    /* an empty body has a MAC too, and it round-trips */
    proto_mac_hex(key, PROTO_CTX_REPLY, 0, NULL, 0, hex);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(proto_mac_check(key, PROTO_CTX_REPLY, 0, "", 0, hex), 0);
}

static void test_nonce_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
        uint64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"1717000000123456789", 0, 1717000000123456789u},
        {"9223372036854775807", 0, 9223372036854775807u}, /* 2^63-1: the most */
        {"9223372036854775808", -1, 0},
        {"18446744073709551615", -1, 0},
        {"18446744073709551616", -1, 0},
        {"99999999999999999999999", -1, 0},
        {"", -1, 0},
        {"+1", -1, 0},
        {"-1", -1, 0},
        {" 1", -1, 0},
        {"1 ", -1, 0},
        {"1\n", -1, 0},
        {"01", -1, 0},
        {"00", -1, 0},
        {"1a", -1, 0},
        {"0x10", -1, 0},
        {"1e3", -1, 0},
        {"1.0", -1, 0},
        {"\xef\xbc\x91", -1, 0}, /* a fullwidth digit one */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 42;
        int rc = proto_nonce_parse(cases[i].s, &v);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d", cases[i].s, rc);
        assert_true(v == (rc == 0 ? cases[i].v : 42)); /* untouched when refused */
    }
    uint64_t v;
    assert_int_equal(proto_nonce_parse(NULL, &v), -1);
    assert_int_equal(proto_nonce_parse("1", NULL), -1);
}

static void test_gpus_format(void **state)
{
    (void)state;
    char out[200];
    proto_gpus_format(0, out, sizeof out);
    assert_string_equal(out, "");
    proto_gpus_format(1, out, sizeof out);
    assert_string_equal(out, "0");
    proto_gpus_format(0x23, out, sizeof out);
    assert_string_equal(out, "0,1,5");
    proto_gpus_format((uint64_t)1 << 63 | 1u << 10, out, sizeof out);
    assert_string_equal(out, "10,63");
    proto_gpus_format(UINT64_MAX, out, sizeof out);
    char want[200] = "";
    for (int i = 0; i < 64; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i ? "," : "", i);
    assert_string_equal(out, want);
    assert_int_equal(strlen(out), 181);
    /* short buffers: whole indices only, always terminated, never overrun */
    char small[8];
    memset(small, 'Z', sizeof small);
    proto_gpus_format(0x23, small, 4);
    assert_string_equal(small, "0,1");
    assert_int_equal(small[4], 'Z');
    proto_gpus_format(0x23, small, 3);
    assert_string_equal(small, "0");
    proto_gpus_format((uint64_t)1 << 42, small, 2);
    assert_string_equal(small, "");
    proto_gpus_format(0x23, small, 0);
    proto_gpus_format(0x23, NULL, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_round_trip_full),
        cmocka_unit_test(test_reply_round_trip_full),
        cmocka_unit_test(test_wire_format),
        cmocka_unit_test(test_empty_messages),
        cmocka_unit_test(test_absent_fields),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_duplicate_keys_refused),
        cmocka_unit_test(test_templates_and_field_errors),
        cmocka_unit_test(test_string_bounds),
        cmocka_unit_test(test_count_bounds),
        cmocka_unit_test(test_integer_limits),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_output_invalid_utf8),
        cmocka_unit_test(test_fixed_string_utf8),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_nonce_parse),
        cmocka_unit_test(test_gpus_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
