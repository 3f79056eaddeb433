/* Fuzz target: the JSON job request reader (src/libjob/jobspec.c). Any input
 * must give 0 or -1 with a message, never a crash, leak or UB; and what is
 * accepted must round-trip: written back as JSON, it reads back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jobspec j;
    char field[64], err[JOBSPEC_ERRLEN];
    if (jobspec_from_json((const char *)data, size, &j, field, sizeof field, err, sizeof err) !=
        0) {
        if (err[0] == '\0' || j.script || j.wrap || j.env || j.array_ids)
            abort(); /* every failure explains itself and leaves j empty */
        jobspec_free(&j);
        return 0;
    }
    /* The shape invariants of jobspec_finalize(). */
    if (!((j.nodes == 0 && j.gpus_per_node == 0 && j.gpus >= 1) ||
          (j.nodes >= 1 && j.gpus_per_node >= 1 && j.gpus == j.nodes * j.gpus_per_node) ||
          (j.nodes >= 1 && j.gpus_per_node == 0 && j.gpus == 0)))
        abort();
    if (!j.script == !j.wrap || j.gpus > JOBSPEC_COUNT_MAX)
        abort();

    char *text = jobspec_to_json(&j);
    if (!text)
        abort();
    jobspec back, copy;
    if (jobspec_from_json(text, strlen(text), &back, field, sizeof field, err, sizeof err) != 0)
        abort();
    char *again = jobspec_to_json(&back);
    if (!again || strcmp(text, again) != 0)
        abort();
    if (jobspec_copy(&copy, &back) == 0) {
        char *third = jobspec_to_json(&copy);
        if (!third || strcmp(text, third) != 0)
            abort();
        free(third);
        jobspec_free(&copy);
    }
    free(text);
    free(again);
    jobspec_free(&back);
    jobspec_free(&j);
    return 0;
}
