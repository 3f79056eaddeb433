/* Fuzz target: batch script directives (src/libjob/batch.c) and, through
 * them, every option and unit parser. Any input must give 0 or -1 with a
 * message, never a crash, leak or UB. A script that parses and completes
 * must round-trip through JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unit parsers straight, on the first line of the input: cheap, and
 * it checks the promises of each on its own. */
static void units(const uint8_t *data, size_t size)
{
    char s[256];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    s[strcspn(s, "\n")] = '\0';

    int64_t v = -1;
    if (parse_duration(s, &v) == 0) {
        char buf[64];
        int64_t back = -1;
        if (v < 0)
            abort();
        format_duration(v, buf, sizeof buf);
        if (parse_duration(buf, &back) != 0 || back != v)
            abort(); /* every duration written reads back */
    }
    if (parse_mem_mb(s, &v) == 0 && v < 0)
        abort();
    int64_t *ids = NULL;
    size_t nids = 0;
    int32_t max_running = -1;
    if (parse_array(s, &ids, &nids, &max_running) == 0) {
        if (nids < 1 || nids > JOBSPEC_ARRAY_TASKS_MAX || max_running < 0)
            abort();
        for (size_t i = 0; i < nids; i++)
            if (ids[i] < 0 || ids[i] > JOBSPEC_ARRAY_ID_MAX || (i > 0 && ids[i] <= ids[i - 1]))
                abort();
    } else if (ids || nids) {
        abort();
    }
    free(ids);
    job_dep deps[JOBSPEC_MAX_DEPS], back[JOBSPEC_MAX_DEPS];
    size_t nd = 0, nb = 0;
    if (parse_dependency(s, deps, JOBSPEC_MAX_DEPS, &nd) == 0) {
        char buf[JOBSPEC_DEP_STRLEN];
        if (format_dependency(deps, nd, buf, sizeof buf) != 0 ||
            parse_dependency(buf, back, JOBSPEC_MAX_DEPS, &nb) != 0 || nb != nd)
            abort();
        for (size_t i = 0; i < nd; i++)
            if (back[i].type != deps[i].type || back[i].job_id != deps[i].job_id)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    units(data, size);

    jobspec j;
    char err[JOBSPEC_ERRLEN];
    jobspec_init(&j);
    if (batch_parse((const char *)data, size, &j, err, sizeof err) != 0) {
        if (strncmp(err, "script", 6) != 0 || j.script)
            abort(); /* every failure names the script and explains itself */
        jobspec_free(&j);
        return 0;
    }
    if (!j.script || strlen(j.script) != size)
        abort();

    char field[64];
    if (jobspec_finalize(&j, field, sizeof field, err, sizeof err) == 0) {
        char *text = jobspec_to_json(&j);
        if (!text)
            abort();
        jobspec back;
        if (jobspec_from_json(text, strlen(text), &back, field, sizeof field, err,
                              sizeof err) != 0)
            abort();
        char *again = jobspec_to_json(&back);
        if (!again || strcmp(text, again) != 0)
            abort();
        free(text);
        free(again);
        jobspec_free(&back);
    } else if (err[0] == '\0' || field[0] == '\0') {
        abort();
    }
    jobspec_free(&j);
    return 0;
}
