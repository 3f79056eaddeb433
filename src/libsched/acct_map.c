/* acct_map.c: open-addressing hash tables for the policy layer (see acct_map.h). */
#include "acct_map.h"

#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort(); /* out of memory: fail loudly, as the rest of libsched */
    return p;
}

/* FNV-1a, 64 bits: short names, few collisions, no state. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* splitmix64's finalizer: spreads keys such as (project << 32 | user). */
static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* ---- strings ------------------------------------------------------------ */

static size_t smap_find(const acct_smap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & mask;
    return i;
}

static void smap_grow(acct_smap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    acct_smap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = xcalloc(ncap, sizeof *m->slots);
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key)
            continue;
        size_t j = (size_t)old[i].hash & (ncap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (ncap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

int32_t acct_smap_get(const acct_smap *m, const char *key)
{
    if (m->cap == 0 || !key)
        return -1;
    size_t i = smap_find(m, key, hash_str(key));
    return m->slots[i].key ? m->slots[i].val : -1;
}

int acct_smap_put(acct_smap *m, const char *key, int32_t val)
{
    if (2 * (m->n + 1) > m->cap)
        smap_grow(m);
    uint64_t h = hash_str(key);
    size_t i = smap_find(m, key, h);
    if (m->slots[i].key)
        return -1;
    size_t len = strlen(key) + 1;
    char *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, key, len);
    m->slots[i] = (acct_smap_slot){copy, h, val};
    m->n++;
    return 0;
}

void acct_smap_free(acct_smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- integers ----------------------------------------------------------- */

static size_t imap_find(const acct_imap *m, uint64_t key)
{
    size_t mask = m->cap - 1, i = (size_t)hash_u64(key) & mask;
    while (m->slots[i].used && m->slots[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static void imap_grow(acct_imap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    acct_imap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = xcalloc(ncap, sizeof *m->slots);
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].used)
            m->slots[imap_find(m, old[i].key)] = old[i];
    free(old);
}

int64_t acct_imap_get(const acct_imap *m, uint64_t key, int64_t dflt)
{
    if (m->cap == 0)
        return dflt;
    size_t i = imap_find(m, key);
    return m->slots[i].used ? m->slots[i].val : dflt;
}

int64_t *acct_imap_ref(acct_imap *m, uint64_t key)
{
    if (m->cap) {
        size_t i = imap_find(m, key);
        if (m->slots[i].used)
            return &m->slots[i].val;
    }
    if (2 * (m->n + 1) > m->cap)
        imap_grow(m);
    size_t i = imap_find(m, key);
    m->slots[i] = (acct_imap_slot){key, 0, 1};
    m->n++;
    return &m->slots[i].val;
}

void acct_imap_free(acct_imap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
