/* libFuzzer target: the SWF reader, and the simulator on what it accepts
 * (small machines only, so one input stays fast). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[TRACE_ERRLEN];
    trace t;
    trace_init(&t);
    if (swf_parse((const char *)data, size, "fuzz.swf", &t, err, sizeof err) == 0 &&
        t.njobs <= 200) {
        int64_t n = t.max_procs > 0 ? t.max_procs : t.max_nodes;
        if (n > 0 && n <= 64) {
            for (size_t i = 0; i < t.njobs; i++) {
                /* keep virtual time and run lengths bounded */
                t.jobs[i].submit %= 100000;
                t.jobs[i].run %= 100000;
                t.jobs[i].estimate %= 100000;
            }
            for (int policy = SCHED_FCFS; policy <= SCHED_CONSERVATIVE; policy++) {
                sched *m = sim_classic_machine(n, err, sizeof err);
                sim_options o = {policy, 0, NULL, NULL};
                sim_result r;
                if (m && sim_run(m, 1, &t, &o, &r, err, sizeof err) == 0) {
                    /* invariant: nobody starts before submitting, ends before starting */
                    for (size_t i = 0; i < r.njobs; i++)
                        if (r.jobs[i].sj.start < r.jobs[i].sj.submit ||
                            r.jobs[i].end < r.jobs[i].sj.start)
                            abort();
                }
                sim_result_free(&r);
            }
        }
    }
    trace_free(&t);
    return 0;
}
