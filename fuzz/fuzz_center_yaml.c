/* Fuzz target: the YAML center reader (src/libtrace/center_yaml.c) and the
 * conversion of what it accepts into libsched's policy object
 * (src/sim/sim_center.c) and its reservations onto a two-pool machine
 * (sim_resv_apply, then a pass). Any input must give 0 or -1
 * with a message, never a crash, leak or UB; what the reader accepts must
 * hold only valid references. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "center_yaml.h"
#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two pools (h100, h200) of one 8-GPU node each. */
static sched *machine(void)
{
    char err[SCHED_ERRLEN];
    sched *s = sched_create();
    if (!s)
        abort();
    sched_pool_add(s, "h100", "H100");
    sched_pool_add(s, "h200", "H200");
    sched_node_add(s, "n0", 0, -1, 8, 64, 1 << 20);
    sched_node_add(s, "n1", 1, -1, 8, 64, 1 << 20);
    if (sched_finalize(s, err, sizeof err) != 0)
        abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    buf[size] = '\0';

    center_desc c;
    char err[TRACE_ERRLEN];
    center_desc_init(&c);
    int rc = center_yaml_parse(buf, size, "fuzz.yaml", &c, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        abort(); /* every failure must explain itself */
    /* parents come first; tiers under the center, organizations under a tier
     * or an organization, projects under a tier or an organization */
    for (size_t i = 0; rc == 0 && i < c.naccounts; i++) {
        const center_account *a = &c.accounts[i];
        if (a->parent < -1 || a->parent >= (int32_t)i)
            abort();
        int pl = a->parent >= 0 ? c.accounts[a->parent].level : 0;
        int ok = a->level == CENTER_TIER ? pl == 0
                                         : (pl == CENTER_TIER || pl == CENTER_ORG) &&
                                               (a->level == CENTER_ORG || a->level == CENTER_PROJECT);
        if (!ok)
            abort();
    }
    for (size_t i = 0; rc == 0 && i < c.nmembers; i++)
        if (c.members[i].user < 0 || (size_t)c.members[i].user >= c.nusers ||
            c.members[i].project < 0 || (size_t)c.members[i].project >= c.naccounts ||
            c.accounts[c.members[i].project].level != CENTER_PROJECT)
            abort();
    for (size_t i = 0; rc == 0 && i < c.nallocs; i++)
        if (c.allocs[i].account < -1 || c.allocs[i].account >= (int32_t)c.naccounts ||
            c.allocs[i].end <= c.allocs[i].start)
            abort();
    if (rc == 0 && (c.default_qos < -1 || c.default_qos >= (int32_t)c.nqos))
        abort();
    if (rc == 0) {
        /* whatever the reader accepts, the builder takes or refuses with a message */
        sched *s = machine();
        sim_center *sc = sim_center_build(&c, s, NULL, "fuzz.yaml", err, sizeof err);
        if (!sc && err[0] == '\0')
            abort();
        if (sc) {
            acct_center *a = sim_center_acct(sc);
            acct_fairshare_update(a, 0);
            for (int p = 0; p < acct_node_count(a); p++) {
                if (acct_node_level(a, p) != ACCT_PROJECT)
                    continue;
                acct_job j;
                acct_job_init(&j);
                j.project = p;
                j.gpus = 4;
                j.time_limit = 3600;
                char msg[ACCT_ERRLEN];
                if (acct_admit(a, &j, 0, msg, sizeof msg) == 0) {
                    acct_job_start(a, &j, 0, 4, 0);
                    acct_job_end(a, &j, 1800);
                } else if (msg[0] == '\0') {
                    abort();
                }
            }
            acct_fairshare_update(a, 3600);
        }
        /* and its reservations section, on the machine, likewise; then a
         * pass with them (a job that fits nowhere else) */
        if (sc && sim_resv_apply(s, &c, sc, "fuzz.yaml", err, sizeof err) != 0 &&
            err[0] == '\0')
            abort();
        if (sc) {
            sched_job j;
            memset(&j, 0, sizeof j);
            j.id = 1;
            j.gpus = 8;
            j.time_limit = 3600;
            if (sched_submit(s, &j, err, sizeof err) == 0) {
                sched_pass(s, 0, NULL, NULL);
                if (j.state == SCHED_JOB_RUNNING)
                    sched_job_end(s, &j, 10);
                else
                    sched_cancel(s, &j);
            }
        }
        sim_center_free(sc);
        sched_destroy(s);
    }
    center_desc_free(&c);
    free(buf);
    return 0;
}
