/* Fuzz target: the YAML cluster reader (src/libtrace/cluster_yaml.c). Any
 * input must give 0 or -1 with a message, never a crash, leak or UB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private, NUL-terminated copy: the reader must not rely on the
     * terminator, but callers pass slurped buffers that have one. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';

    cluster_desc c;
    char err[TRACE_ERRLEN];
    cluster_desc_init(&c);
    int rc = cluster_yaml_parse(buf, size, "fuzz.yaml", &c, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        abort(); /* every failure must explain itself */
    /* Every accepted node must point at a valid pool and block. */
    for (size_t i = 0; rc == 0 && i < c.nnodes; i++) {
        const cluster_node *n = &c.nodes[i];
        if (n->pool < 0 || (size_t)n->pool >= c.npools || n->block < -1 ||
            (n->block >= 0 && (size_t)n->block >= c.nblocks) || n->gpus < 1 || n->cpus < 1)
            abort();
    }
    cluster_desc_free(&c);
    free(buf);
    return 0;
}
