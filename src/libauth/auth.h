/*
 * libauth: identity and the cluster key (libsodium underneath).
 *
 *   - The cluster key: 32 random bytes in a file of mode 0600 (raw binary),
 *     shared by fleetd and the agents. It signs bearer tokens and
 *     authenticates agent <-> controller messages.
 *   - Bearer tokens for the TCP API (HMAC-SHA256, verified in constant time).
 *   - Peer credentials of Unix sockets: the kernel's word (SO_PEERCRED).
 *
 * Every function reports errors by return value and message, never aborts,
 * and keeps no global mutable state. Secrets never go into logs: print
 * tokens through auth_redact.
 *
 * This library is a leaf: it knows nothing of libsched or the simulator.
 */
#ifndef GPUFLEET_AUTH_H
#define GPUFLEET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_BYTES 32
#define AUTH_MAC_BYTES 32
/* Longest token auth_token_create makes (user names are at most
 * AUTH_USER_MAX bytes), NUL included; longer strings are refused unread. */
#define AUTH_TOKEN_MAX 256
#define AUTH_USER_MAX 63

/* Creates a random key file (mode 0600, O_EXCL, fsync'ed) if none exists,
 * else loads it. *created = 1 if made now (may be NULL). 0 ok, -1 with err. */
int auth_key_load_or_create(const char *path, uint8_t key[AUTH_KEY_BYTES], int *created,
                            char *err, size_t errlen);

/* Loads a key file. Refused: not a regular file, readable or writable by
 * group/other ("cluster.key: mode 0644 is too open; chmod 600"), owned by
 * another user than the caller or root, or not exactly 32 bytes. */
int auth_key_load(const char *path, uint8_t key[AUTH_KEY_BYTES], char *err, size_t errlen);

/* Bearer tokens: "gf1.<base64url(payload)>.<base64url(HMAC-SHA256(key, payload))>",
 * base64url without padding, payload
 * "user=<name>;uid=<uid>;exp=<unix seconds>;role=<user|operator>".
 * A user name is 1..63 bytes of [A-Za-z0-9._@$-]. create: 0 ok, -1 (bad
 * name, negative expiry, or out shorter than the token; AUTH_TOKEN_MAX is
 * always enough). */
int auth_token_create(const uint8_t key[AUTH_KEY_BYTES], const char *user, uint32_t uid,
                      int operator_role, int64_t expires, char *out, size_t outlen);

/* 0 when token is well formed, signed by key and now < exp; then user, uid
 * and operator_role are set (each may be NULL). Else -1 and err says why
 * ("malformed token", "bad signature", "token expired at ..."). */
int auth_token_verify(const uint8_t key[AUTH_KEY_BYTES], const char *token, int64_t now,
                      char *user, size_t userlen, uint32_t *uid, int *operator_role, char *err,
                      size_t errlen);

/* Peer credentials of a connected Unix socket, from the kernel (SO_PEERCRED
 * on Linux). 0 ok, -1 with errno. pid is -1 where the system cannot tell. */
int auth_peer_cred(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);

/* Message authentication for agent <-> controller messages:
 *   mac = HMAC-SHA256(key, context || 0x00 || nonce as 8 bytes little-endian || msg)
 * The context names the message kind ("gpufleet/agent/heartbeat/v1"), so a
 * MAC of one kind is never valid for another; the caller's nonce (a counter)
 * defeats replays. The NUL after the context also keeps these MACs apart from
 * token MACs (a token payload never contains a NUL byte). */
void auth_mac(const uint8_t key[AUTH_KEY_BYTES], const char *context, uint64_t nonce,
              const void *msg, size_t len, uint8_t mac[AUTH_MAC_BYTES]);
/* 0 ok, -1 bad; constant time. */
int auth_mac_verify(const uint8_t key[AUTH_KEY_BYTES], const char *context, uint64_t nonce,
                    const void *msg, size_t len, const uint8_t mac[AUTH_MAC_BYTES]);

/* A token as it may appear in logs: its first 10 characters, then
 * "…(redacted)", e.g. "gf1.dXNlcj…(redacted)" (a short string shows nothing
 * of itself). Always NUL-terminates out when outlen > 0. */
void auth_redact(const char *token, char *out, size_t outlen);

#endif
