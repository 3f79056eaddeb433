/*
 * sim_internal.h: what sim.c and sim_center.c share and nobody else needs:
 * the fate of each job under a center, and the report built from them.
 */
#ifndef GPUFLEET_SIM_INTERNAL_H
#define GPUFLEET_SIM_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "sim.h"

/* What became of a job of the run (parallel to sim_result.jobs before the
 * jobs that never ran are removed). */
enum sim_fate {
    SIM_FATE_RAN = 0,
    SIM_FATE_REFUSED = 1,   /* refused at submit by the policy */
    SIM_FATE_WITHDRAWN = 2, /* held for good while pending, then taken out */
    SIM_FATE_NEVER_FIT = 3, /* larger than any allowed pool */
};

/* Fills out (zeroed by the caller) from the run: per tier, organization and
 * project, the jobs that ran with their waits and GPU-hours, the refused and
 * withdrawn ones; each allocation's ledger at `now`. O(n x depth + G log G)
 * for n jobs and G accounts. */
/* npre and lost (runs preempted and their GPU-seconds, per job) may be NULL
 * when preemption is off. */
void sim_center_report(sim_center *c, const sim_job *jobs, const acct_job *aj,
                       const uint8_t *fate, const int32_t *npre, const double *lost, size_t n,
                       int64_t now, sim_acct_report *out);
void sim_acct_report_free(sim_acct_report *r);
/* Writes `"accounts": {...}` (no trailing newline), indented by two. */
void sim_write_accounts_json(FILE *f, const sim_acct_report *r);
/* Counters kept by the center while jobs are mapped and run. */
void sim_center_counts(const sim_center *c, int64_t *auto_members, int64_t *unknown_qos);

#endif
