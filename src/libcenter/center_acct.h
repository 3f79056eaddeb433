/*
 * center_acct: a center file's policy on a cluster. Turns what the center
 * reader gives (libtrace's center_desc: accounts, users, QOS, allocations,
 * guarantees, the preemption contract, priority settings) into libsched's
 * policy object (acct.h) for one machine, resolving pool names there.
 *
 * Both drivers of libsched build their center here, so the simulator and
 * fleetd enforce the very same policy from the same file: the simulator
 * (src/sim/sim_center.c) and fleetd (src/fleetd/policy.c). It sits above
 * libsched and libtrace, which know nothing of each other.
 */
#ifndef GPUFLEET_CENTER_ACCT_H
#define GPUFLEET_CENTER_ACCT_H

#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "center_yaml.h"
#include "libsched.h"

/*
 * The center of cd on machine s. rates: the charge rate of each pool of s,
 * by pool index (NULL: 1.0 each). fname names the file in messages. If
 * account_node is not NULL (capacity cd->naccounts) it receives the acct
 * node of each account of cd, by the account's index there.
 *
 * What the reader could not check is checked here, each error naming the
 * line of the entry at fault as "FILE:LINE: field NAME: reason": unknown
 * pools, the guarantees of a pool summing to more than its GPUs, and
 * libsched's own limits. An allocation with no line (line 0: set through
 * fleetd's API, not the file) is named as such.
 *
 * NULL with err on failure. O(A + U + M + Q + L + G x (N + G)) for the
 * entries of cd, N nodes and G guarantees.
 */
acct_center *center_acct_build(const center_desc *cd, const sched *s, const double *rates,
                               const char *fname, int32_t *account_node, char *err,
                               size_t errlen);

#endif
