/* Fuzz target: the GPU job CSV reader (src/libtrace/gpucsv.c). Any input
 * must give 0 or -1 with a message, never a crash, leak or UB. */
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

    trace t;
    char err[TRACE_ERRLEN];
    trace_init(&t);
    int rc = gpucsv_parse(buf, size, "fuzz.csv", &t, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        abort(); /* every failure must explain itself */
    /* Invariants the simulator relies on for every accepted job. */
    for (size_t i = 0; rc == 0 && i < t.njobs; i++) {
        const trace_job *j = &t.jobs[i];
        if (j->gpus < 1 || j->submit < 0 || j->run < 0 || (j->estimate <= 0 && j->estimate != j->run))
            abort();
    }
    trace_free(&t);
    free(buf);
    return 0;
}
