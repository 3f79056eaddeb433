/*
 * acct_map: the two small hash tables of the policy layer (acct.c), private
 * to libsched.
 *
 *   acct_smap  name -> int32 (accounts, users, QOS and allocations by name)
 *   acct_imap  uint64 -> int64 (users by uid, (project, user) -> member,
 *              running-GPU counters of QOS limits)
 *
 * Open addressing with linear probing in a power-of-two table kept at most
 * half full: lookups and inserts cost O(1) expected, a growth O(n) amortized
 * over the n inserts that led to it. Nothing is ever removed (a counter that
 * returns to 0 stays). Out of memory aborts, as everywhere in libsched.
 */
#ifndef GPUFLEET_ACCT_MAP_H
#define GPUFLEET_ACCT_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct acct_smap_slot {
    char *key;       /* owned copy; NULL = empty slot */
    uint64_t hash;
    int32_t val;
} acct_smap_slot;

typedef struct acct_smap {
    acct_smap_slot *slots;
    size_t cap, n;   /* cap is 0 or a power of two */
} acct_smap;

typedef struct acct_imap_slot {
    uint64_t key;
    int64_t val;
    int used;
} acct_imap_slot;

typedef struct acct_imap {
    acct_imap_slot *slots;
    size_t cap, n;
} acct_imap;

/* The value stored for key, or -1 when absent. O(1) expected. */
int32_t acct_smap_get(const acct_smap *m, const char *key);
/* Stores key (copied) -> val. 0, or -1 (nothing changed) when key is
 * already present. O(1) expected, amortized. */
int acct_smap_put(acct_smap *m, const char *key, int32_t val);
/* Frees the table and its keys; the map is empty and reusable after. */
void acct_smap_free(acct_smap *m);

/* The value stored for key, or dflt when absent. O(1) expected. */
int64_t acct_imap_get(const acct_imap *m, uint64_t key, int64_t dflt);
/* A pointer to key's value, inserted as 0 when absent. Valid until the next
 * insertion into m. O(1) expected, amortized. */
int64_t *acct_imap_ref(acct_imap *m, uint64_t key);
void acct_imap_free(acct_imap *m);

#endif
