/* libFuzzer target: bearer token verification (src/libauth/auth.c).
 *
 * Each input is tried two ways:
 *   1. as a token string, as an attacker would send it;
 *   2. as a payload signed with the key, i.e. a token only the key's holder
 *      could mint: random strings almost never carry a valid HMAC, so this is
 *      what drives the payload parser behind the signature check.
 * Invariant: a token that verifies is canonical, i.e. exactly what
 * auth_token_create makes of the identity it yields (one spelling per
 * identity). The key is 0, 1, ..., 31, as for the corpus seeds. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

static const uint8_t fuzz_key[AUTH_KEY_BYTES] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

/* If tok verifies, recovers its expiry (the least `now` at which it is
 * refused, by bisection) and checks that minting the same identity gives
 * back the same string. */
static void check_canonical(const char *tok)
{
    char user[64], err[128], again[AUTH_TOKEN_MAX];
    uint32_t uid;
    int op;
    if (auth_token_verify(fuzz_key, tok, 0, user, sizeof user, &uid, &op, err, sizeof err) != 0)
        return;
    int64_t lo = 0, hi = INT64_MAX; /* accepted at lo, refused at hi */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (auth_token_verify(fuzz_key, tok, mid, NULL, 0, NULL, NULL, NULL, 0) == 0)
            lo = mid;
        else
            hi = mid;
    }
    if (auth_token_create(fuzz_key, user, uid, op, hi, again, sizeof again) != 0 ||
        strcmp(again, tok) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    /* 1: the input as a token */
    char user[64], err[128], red[32];
    uint32_t uid;
    int op;
    auth_token_verify(fuzz_key, s, 0, user, sizeof user, &uid, &op, err, sizeof err);
    check_canonical(s);
    auth_redact(s, red, sizeof red);

    /* 2: the input as a signed payload */
    if (size <= 2 * AUTH_TOKEN_MAX) {
        uint8_t mac[crypto_auth_hmacsha256_BYTES];
        char b64p[sodium_base64_ENCODED_LEN(2 * AUTH_TOKEN_MAX,
                                            sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        char b64m[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        char tok[sizeof b64p + sizeof b64m + 8];
        crypto_auth_hmacsha256(mac, data, size, fuzz_key);
        sodium_bin2base64(b64p, sizeof b64p, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_bin2base64(b64m, sizeof b64m, mac, sizeof mac,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        memcpy(tok, "gf1.", 4);
        strcpy(tok + 4, b64p);
        strcat(tok, ".");
        strcat(tok, b64m);
        check_canonical(tok);
    }
    free(s);
    return 0;
}
