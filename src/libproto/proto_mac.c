/*
 * libproto: authenticating agent <-> controller messages. The MAC is
 * libauth's auth_mac (HMAC-SHA256 over context, NUL, nonce as 8 bytes
 * little-endian, body) shown as 64 lowercase hex digits in the X-Fleet-MAC
 * header; the nonce travels as decimal text in X-Fleet-Nonce.
 *
 * Both header forms are strict, with one spelling per value: a receiver
 * compares nonces as numbers and MACs as bytes, and a lenient parser would
 * only add ways for two implementations to disagree.
 */
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "proto.h"

void proto_mac_hex(const uint8_t key[32], const char *context, uint64_t nonce, const void *body,
                   size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t mac[AUTH_MAC_BYTES];
    if (!hex)
        return;
    auth_mac(key, context, nonce, body, len, mac);
    for (int i = 0; i < AUTH_MAC_BYTES; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
}

/* A lowercase hex digit's value, or -1. The MAC sent is no secret (the one
 * expected is, and auth_mac_verify compares with it in constant time), so
 * decoding it may branch. */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int proto_mac_check(const uint8_t key[32], const char *context, uint64_t nonce, const void *body,
                    size_t len, const char *hex)
{
    uint8_t mac[AUTH_MAC_BYTES];
    if (!hex || strnlen(hex, 2 * AUTH_MAC_BYTES + 1) != 2 * AUTH_MAC_BYTES)
        return -1;
    for (int i = 0; i < AUTH_MAC_BYTES; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return auth_mac_verify(key, context, nonce, body, len, mac);
}

/* Strict decimal: 1 to 19 digits, no sign, no space, no leading zero (but
 * "0" itself), at most 2^63-1 so that a nonce fits a signed 64-bit integer
 * (fleetd keeps the last one per agent in SQL, whose integers are signed).
 * Nanoseconds since 1970 stay below that until the year 2262. */
int proto_nonce_parse(const char *s, uint64_t *nonce)
{
    if (!s || !nonce || !*s || (s[0] == '0' && s[1] != '\0'))
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *nonce = v;
    return 0;
}
