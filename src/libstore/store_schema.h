/* Private to libstore: the schema-version rule every backend applies at open. */
#ifndef GPUFLEET_STORE_SCHEMA_H
#define GPUFLEET_STORE_SCHEMA_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

/*
 * Given what a backend read from its database (whether meta holds a
 * schema_version, its value, and how many gpufleet-named tables exist),
 * decides: 0 with *from set to the version to migrate from (0: a new,
 * empty database), or -1 with a message naming label. A database with
 * tables but no version is someone else's; a newer version is refused.
 */
static inline int store_schema_check(const char *label, int has_version, int64_t version,
                                     int64_t other_tables, int64_t *from, char *err,
                                     size_t errlen)
{
    if (!has_version) {
        if (other_tables > 0) {
            snprintf(err, errlen,
                     "%s: not a gpufleet state database (it has tables but no schema_version)",
                     label);
            return -1;
        }
        *from = 0;
        return 0;
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "%s: schema version %lld is newer than this gpufleet supports (%d); "
                 "run a newer fleetd, or restore a state database of version %d",
                 label, (long long)version, STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
        return -1;
    }
    if (version < 1) {
        snprintf(err, errlen, "%s: invalid schema version %lld", label, (long long)version);
        return -1;
    }
    *from = version;
    return 0;
}

#endif
