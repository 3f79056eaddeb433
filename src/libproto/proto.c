/*
 * libproto: what the messages own and how they are let go (the _free
 * functions), and GPU masks as text. The wire format is in proto_codec.c,
 * the MACs and nonces in proto_mac.c; proto.h is the contract.
 *
 * Ownership: every pointer in a message (arrays, script, nodelist, env and
 * argv strings, output data) is its own malloc'd block, owned by the
 * message. The decoders build messages that way; a caller building one to
 * encode may do as it likes, but then frees it itself unless it built it the
 * same way. A _free function releases everything and leaves the message
 * zeroed, so that freeing twice is harmless; NULL is a no-op.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static void free_strv(char **v, int32_t n)
{
    if (!v)
        return;
    for (int32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void proto_launch_free(proto_launch *l)
{
    if (!l)
        return;
    free(l->script);
    free(l->nodelist);
    free_strv(l->env, l->nenv);
    l->script = NULL;
    l->nodelist = NULL;
    l->env = NULL;
    l->nenv = 0;
}

void proto_step_free(proto_step *st)
{
    if (!st)
        return;
    free_strv(st->argv, st->argc);
    free_strv(st->env, st->nenv);
    free(st->ranks);
    st->argv = NULL;
    st->argc = 0;
    st->env = NULL;
    st->nenv = 0;
    st->ranks = NULL;
    st->nranks = 0;
}

void proto_sync_free(proto_sync *m)
{
    if (!m)
        return;
    for (int32_t i = 0; m->nodes && i < m->nnodes; i++) {
        free(m->nodes[i].inv.gpu);
        free(m->nodes[i].running);
        free(m->nodes[i].ended);
    }
    free(m->nodes);
    for (int32_t i = 0; m->output && i < m->noutput; i++)
        free(m->output[i].data);
    free(m->output);
    free(m->rank_ends);
    memset(m, 0, sizeof *m);
}

void proto_reply_free(proto_reply *m)
{
    if (!m)
        return;
    for (int32_t i = 0; m->nodes && i < m->nnodes; i++) {
        proto_node_cmds *n = &m->nodes[i];
        free(n->ack);
        for (int32_t j = 0; n->launch && j < n->nlaunch; j++)
            proto_launch_free(&n->launch[j]);
        free(n->launch);
        free(n->kill);
        for (int32_t j = 0; n->steps && j < n->nsteps; j++)
            proto_step_free(&n->steps[j]);
        free(n->steps);
        free(n->step_kills);
    }
    free(m->nodes);
    memset(m, 0, sizeof *m);
}

/* "0,1,5": ascending indices, comma-separated, as CUDA_VISIBLE_DEVICES takes
 * them. All 64 GPUs take 181 bytes and the NUL. A short buffer ends after
 * the last whole index that fits (never half a number). */
void proto_gpus_format(uint64_t gpus, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 64; i++) {
        if (!(gpus >> i & 1))
            continue;
        char item[8];
        int k = snprintf(item, sizeof item, "%s%d", n ? "," : "", i);
        if (n + (size_t)k + 1 > outlen)
            break;
        memcpy(out + n, item, (size_t)k + 1);
        n += (size_t)k;
    }
}
