/* Fuzz target: the Alibaba GPU trace readers (src/libtrace/alibaba.c). The
 * same input goes to the pod reader and to the node reader, since both share
 * the CSV code and a mutation useful to one is often useful to the other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';

    char err[TRACE_ERRLEN];
    trace t;
    trace_init(&t);
    if (alibaba_pods_parse(buf, size, "fuzz-pods.csv", &t, err, sizeof err) != 0 &&
        err[0] == '\0')
        abort(); /* every failure must explain itself */
    trace_free(&t);

    cluster_desc c;
    cluster_desc_init(&c);
    int rc = alibaba_nodes_parse(buf, size, "fuzz-nodes.csv", &c, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        abort();
    /* Every accepted node must point at a valid pool and block. */
    for (size_t i = 0; rc == 0 && i < c.nnodes; i++) {
        const cluster_node *n = &c.nodes[i];
        if (n->pool < 0 || (size_t)n->pool >= c.npools || n->block < 0 ||
            (size_t)n->block >= c.nblocks || n->gpus < 1)
            abort();
    }
    cluster_desc_free(&c);
    free(buf);
    return 0;
}
