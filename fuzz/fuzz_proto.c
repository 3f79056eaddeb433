/* Fuzz target: the agent protocol's decoders (src/libproto/proto_codec.c).
 *
 * The first byte picks what the rest is: 'r' a sync reply (controller ->
 * agent), 'n' an X-Fleet-Nonce header, anything else a sync (agent ->
 * controller). The corpus files start with that byte ("s{...}", "r{...}").
 * Any input must give 0 or -1 with a message, never a crash, leak or UB.
 * Invariants:
 *   - a refused message explains itself and leaves the struct all zero;
 *   - what is accepted round-trips: encoded, it decodes again, and encoding
 *     that gives the very same text (the encoding is canonical);
 *   - an accepted nonce is printed back as exactly the header it came from. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void check_sync(const char *text, size_t len)
{
    proto_sync m, back;
    char err[256];
    if (proto_sync_decode(text, len, &m, err, sizeof err) != 0) {
        if (err[0] == '\0' || !all_zero(&m, sizeof m))
            abort();
        return;
    }
    size_t n1, n2;
    char *t1 = proto_sync_encode(&m, &n1);
    if (!t1 || strlen(t1) != n1)
        abort();
    if (proto_sync_decode(t1, n1, &back, err, sizeof err) != 0) {
        fprintf(stderr, "re-decode failed: %s\n%s\n", err, t1);
        abort();
    }
    char *t2 = proto_sync_encode(&back, &n2);
    if (!t2 || n1 != n2 || memcmp(t1, t2, n1) != 0)
        abort();
    free(t1);
    free(t2);
    proto_sync_free(&back);
    proto_sync_free(&m);
}

static void check_reply(const char *text, size_t len)
{
    proto_reply m, back;
    char err[256];
    if (proto_reply_decode(text, len, &m, err, sizeof err) != 0) {
        if (err[0] == '\0' || !all_zero(&m, sizeof m))
            abort();
        return;
    }
    size_t n1, n2;
    char *t1 = proto_reply_encode(&m, &n1);
    if (!t1 || strlen(t1) != n1)
        abort();
    if (proto_reply_decode(t1, n1, &back, err, sizeof err) != 0) {
        fprintf(stderr, "re-decode failed: %s\n%s\n", err, t1);
        abort();
    }
    char *t2 = proto_reply_encode(&back, &n2);
    if (!t2 || n1 != n2 || memcmp(t1, t2, n1) != 0)
        abort();
    free(t1);
    free(t2);
    proto_reply_free(&back);
    proto_reply_free(&m);
}

static void check_nonce(const uint8_t *data, size_t size)
{
    char s[32], again[32];
    uint64_t nonce;
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    if (proto_nonce_parse(s, &nonce) != 0)
        return;
    snprintf(again, sizeof again, "%" PRIu64, nonce);
    if (nonce > INT64_MAX || strcmp(s, again) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    if (data[0] == 'r')
        check_reply(text, size - 1);
    else if (data[0] == 'n')
        check_nonce(data + 1, size - 1);
    else
        check_sync(text, size - 1);
    return 0;
}
