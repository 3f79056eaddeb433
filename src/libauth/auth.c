/*
 * libauth: the cluster key, bearer tokens, peer credentials, message MACs.
 * See auth.h for the formats; this file explains the choices.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "auth.h"

#define TOKEN_PREFIX "gf1."
/* the longest payload: user (63) + uid (10) + exp (19) + role (8) + labels */
#define PAYLOAD_MAX 160

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* libsodium asks for sodium_init() before any other call. It is idempotent
 * and thread-safe, so every entry point calls it rather than relying on a
 * global "initialized" flag of ours. Only randomness can fail to initialize,
 * and only key creation uses randomness: elsewhere the result is moot. */
static int sodium_ready(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/* ---- the key file --------------------------------------------------------- */

/* Checks and reads an open key file; closes fd. The checks are those of ssh
 * for private keys: a key others can read is no longer secret, one others can
 * write (or own) may be theirs. */
static int load_fd(int fd, const char *path, uint8_t key[AUTH_KEY_BYTES], char *err,
                   size_t errlen)
{
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        seterr(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        seterr(err, errlen, "%s: mode %04o is too open; chmod 600", path,
               (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        seterr(err, errlen, "%s: owned by uid %u, neither this user (uid %u) nor root", path,
               (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (st.st_size != AUTH_KEY_BYTES) {
        seterr(err, errlen, "%s: %lld bytes, expected %d (a key is %d random bytes)", path,
               (long long)st.st_size, AUTH_KEY_BYTES, AUTH_KEY_BYTES);
        goto out;
    }
    size_t got = 0;
    while (got < AUTH_KEY_BYTES) {
        ssize_t r = read(fd, key + got, AUTH_KEY_BYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            seterr(err, errlen, "%s: %s", path, r < 0 ? strerror(errno) : "short read");
            goto out;
        }
        got += (size_t)r;
    }
    rc = 0;
out:
    if (rc != 0)
        sodium_memzero(key, AUTH_KEY_BYTES);
    close(fd);
    return rc;
}

int auth_key_load(const char *path, uint8_t key[AUTH_KEY_BYTES], char *err, size_t errlen)
{
    if (!path || !*path || !key) {
        seterr(err, errlen, "cluster key: no path");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return load_fd(fd, path, key, err, errlen);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of the directory holding path: makes the new name itself durable,
 * not only the file's bytes (else a power cut can lose the key that tokens
 * already handed out were signed with). */
static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    /* some filesystems cannot fsync a directory; nothing more can be done */
    if (rc != 0 && (errno == EINVAL || errno == EROFS))
        rc = 0;
    close(fd);
    return rc;
}

int auth_key_load_or_create(const char *path, uint8_t key[AUTH_KEY_BYTES], int *created,
                            char *err, size_t errlen)
{
    if (created)
        *created = 0;
    if (!path || !*path || !key) {
        seterr(err, errlen, "cluster key: no path");
        return -1;
    }
    if (sodium_ready() != 0) {
        seterr(err, errlen, "%s: libsodium cannot initialize", path);
        return -1;
    }
    /* Two tries: if another process creates the file between our failed open
     * and our O_EXCL create, the second try loads theirs. */
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0)
            return load_fd(fd, path, key, err, errlen);
        if (errno != ENOENT) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        /* O_EXCL: never truncate or follow into an existing file (a symlink
         * planted at path makes this fail with EEXIST, not write elsewhere) */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
            return -1;
        }
        randombytes_buf(key, AUTH_KEY_BYTES);
        if (write_all(fd, key, AUTH_KEY_BYTES) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            /* a partial key file would be refused (wrong size) at every later
             * start; better no file than a broken one */
            unlink(path);
            sodium_memzero(key, AUTH_KEY_BYTES);
            seterr(err, errlen, "%s: cannot write: %s", path, strerror(e));
            return -1;
        }
        if (close(fd) != 0 || sync_dir(path) != 0) {
            int e = errno;
            unlink(path);
            sodium_memzero(key, AUTH_KEY_BYTES);
            seterr(err, errlen, "%s: cannot make durable: %s", path, strerror(e));
            return -1;
        }
        if (created)
            *created = 1;
        return 0;
    }
    seterr(err, errlen, "%s: exists but cannot be opened (a dangling symbolic link?)", path);
    return -1;
}

/* ---- tokens --------------------------------------------------------------- */

static int name_char(unsigned char c)
{
    /* no ';' or '=' (the payload's separators), no controls, no spaces:
     * what Unix and directory user names use */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '@' || c == '$';
}

static int valid_user(const char *user)
{
    size_t n = 0;
    if (!user)
        return 0;
    for (; user[n]; n++)
        if (n >= AUTH_USER_MAX || !name_char((unsigned char)user[n]))
            return 0;
    return n > 0;
}

int auth_token_create(const uint8_t key[AUTH_KEY_BYTES], const char *user, uint32_t uid,
                      int operator_role, int64_t expires, char *out, size_t outlen)
{
    if (out && outlen)
        out[0] = '\0';
    if (!key || !out || !valid_user(user) || expires < 0)
        return -1;
    (void)sodium_ready();
    char payload[PAYLOAD_MAX];
    int plen = snprintf(payload, sizeof payload, "user=%s;uid=%" PRIu32 ";exp=%" PRId64 ";role=%s",
                        user, uid, expires, operator_role ? "operator" : "user");
    if (plen < 0 || (size_t)plen >= sizeof payload)
        return -1;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *)payload, (unsigned long long)plen, key);
    const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    char b64p[sodium_base64_ENCODED_LEN(PAYLOAD_MAX, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    char b64m[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64p, sizeof b64p, (const unsigned char *)payload, (size_t)plen, v);
    sodium_bin2base64(b64m, sizeof b64m, mac, sizeof mac, v);
    int n = snprintf(out, outlen, TOKEN_PREFIX "%s.%s", b64p, b64m);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Reads a decimal integer of at most maxdigits digits and at most max, in
 * canonical form (no sign, no leading zero), from p[*i..n). */
static int parse_num(const char *p, size_t n, size_t *i, int maxdigits, uint64_t max,
                     uint64_t *val)
{
    size_t start = *i;
    uint64_t v = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        if ((int)(*i - start) >= maxdigits)
            return -1;
        uint64_t d = (uint64_t)(p[*i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
        (*i)++;
    }
    size_t len = *i - start;
    if (len == 0 || (len > 1 && p[start] == '0'))
        return -1;
    *val = v;
    return 0;
}

static int expect(const char *p, size_t n, size_t *i, const char *lit)
{
    size_t l = strlen(lit);
    if (n - *i < l || memcmp(p + *i, lit, l) != 0)
        return -1;
    *i += l;
    return 0;
}

/* Parses the payload exactly as auth_token_create writes it: one spelling
 * per identity, so that nothing else can ever be signed-and-accepted. */
static int parse_payload(const char *p, size_t n, char user[AUTH_USER_MAX + 1], uint32_t *uid,
                         int64_t *exp, int *op)
{
    size_t i = 0, u = 0;
    uint64_t v;
    if (expect(p, n, &i, "user=") != 0)
        return -1;
    while (i < n && p[i] != ';') {
        if (u >= AUTH_USER_MAX || !name_char((unsigned char)p[i]))
            return -1;
        user[u++] = p[i++];
    }
    user[u] = '\0';
    if (u == 0 || expect(p, n, &i, ";uid=") != 0 ||
        parse_num(p, n, &i, 10, UINT32_MAX, &v) != 0)
        return -1;
    *uid = (uint32_t)v;
    if (expect(p, n, &i, ";exp=") != 0 || parse_num(p, n, &i, 19, INT64_MAX, &v) != 0)
        return -1;
    *exp = (int64_t)v;
    if (expect(p, n, &i, ";role=") != 0)
        return -1;
    if (n - i == 4 && memcmp(p + i, "user", 4) == 0)
        *op = 0;
    else if (n - i == 8 && memcmp(p + i, "operator", 8) == 0)
        *op = 1;
    else
        return -1;
    return 0;
}

int auth_token_verify(const uint8_t key[AUTH_KEY_BYTES], const char *token, int64_t now,
                      char *user, size_t userlen, uint32_t *uid, int *operator_role, char *err,
                      size_t errlen)
{
    if (user && userlen)
        user[0] = '\0';
    if (!key) {
        seterr(err, errlen, "no key");
        return -1;
    }
    (void)sodium_ready();
    if (!token) {
        seterr(err, errlen, "malformed token (none given)");
        return -1;
    }
    /* bounded before anything else: an attacker's megabyte costs nothing */
    size_t len = strnlen(token, AUTH_TOKEN_MAX);
    if (len >= AUTH_TOKEN_MAX) {
        seterr(err, errlen, "malformed token (too long)");
        return -1;
    }
    const size_t plen0 = sizeof TOKEN_PREFIX - 1;
    if (len < plen0 || memcmp(token, TOKEN_PREFIX, plen0) != 0) {
        seterr(err, errlen, "malformed token (not a gf1 token)");
        return -1;
    }
    const char *b64p = token + plen0;
    const char *dot = NULL;
    /* Check the alphabet ourselves: libsodium 1.0.18's URL-safe decoder
     * reads every byte >= 0x80 as '_', which would give a valid token
     * other spellings (harmless for the signature, bad for anything that
     * compares or caches tokens as strings). */
    for (const char *c = b64p; c < token + len; c++) {
        if (*c == '.' && !dot) {
            dot = c;
            continue;
        }
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_')) {
            seterr(err, errlen, "malformed token (not base64url)");
            return -1;
        }
    }
    if (!dot) {
        seterr(err, errlen, "malformed token (no signature)");
        return -1;
    }
    const char *b64m = dot + 1;
    size_t b64mlen = len - (size_t)(b64m - token);
    const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    unsigned char payload[AUTH_TOKEN_MAX], mac[crypto_auth_hmacsha256_BYTES + 1];
    size_t n = 0, macn = 0;
    const char *end = NULL;
    if (sodium_base642bin(payload, sizeof payload, b64p, (size_t)(dot - b64p), NULL, &n, &end,
                          v) != 0 ||
        end != dot) {
        seterr(err, errlen, "malformed token (payload is not base64url)");
        return -1;
    }
    /* one spare byte: a longer signature overflows into it and is refused */
    if (sodium_base642bin(mac, sizeof mac, b64m, b64mlen, NULL, &macn, &end, v) != 0 ||
        end != b64m + b64mlen || macn != crypto_auth_hmacsha256_BYTES) {
        seterr(err, errlen, "malformed token (signature is not 32 bytes of base64url)");
        return -1;
    }
    /* crypto_auth_hmacsha256_verify compares in constant time */
    if (crypto_auth_hmacsha256_verify(mac, payload, (unsigned long long)n, key) != 0) {
        seterr(err, errlen, "bad signature");
        return -1;
    }
    char name[AUTH_USER_MAX + 1];
    uint32_t id;
    int64_t exp;
    int op;
    if (parse_payload((const char *)payload, n, name, &id, &exp, &op) != 0) {
        seterr(err, errlen, "malformed token (payload)");
        return -1;
    }
    if (now >= exp) {
        seterr(err, errlen, "token expired at %" PRId64, exp);
        return -1;
    }
    if (user) {
        if (strlen(name) >= userlen) {
            seterr(err, errlen, "user name longer than the caller's buffer");
            return -1;
        }
        memcpy(user, name, strlen(name) + 1);
    }
    if (uid)
        *uid = id;
    if (operator_role)
        *operator_role = op;
    return 0;
}

/* ---- peer credentials ------------------------------------------------------ */

int auth_peer_cred(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid)
{
#if defined(__linux__)
    /* SO_PEERCRED on a socket of another family answers "uid -1": only a
     * Unix socket has a peer the kernel can vouch for */
    int domain = 0;
    socklen_t dl = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0)
        return -1;
    if (domain != AF_UNIX) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return -1;
    if (len != sizeof cr || cr.uid == (uid_t)-1) {
        errno = ENOTCONN;
        return -1;
    }
    if (uid)
        *uid = (uint32_t)cr.uid;
    if (gid)
        *gid = (uint32_t)cr.gid;
    if (pid)
        *pid = (int32_t)cr.pid;
    return 0;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
    uid_t u;
    gid_t g;
    if (getpeereid(fd, &u, &g) != 0)
        return -1;
    if (uid)
        *uid = (uint32_t)u;
    if (gid)
        *gid = (uint32_t)g;
    if (pid)
        *pid = -1;
    return 0;
#else
    (void)fd, (void)uid, (void)gid, (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* ---- message MACs ---------------------------------------------------------- */

static void mac_compute(const uint8_t key[AUTH_KEY_BYTES], const char *context, uint64_t nonce,
                        const void *msg, size_t len, uint8_t mac[AUTH_MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) /* fixed byte order: agents may run on other CPUs */
        le[i] = (uint8_t)(nonce >> (8 * i));
    if (!context)
        context = "";
    (void)sodium_ready();
    crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_BYTES);
    /* the NUL ends the context unambiguously (a context cannot contain one) */
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)context, strlen(context) + 1);
    crypto_auth_hmacsha256_update(&st, le, sizeof le);
    if (msg && len)
        crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

void auth_mac(const uint8_t key[AUTH_KEY_BYTES], const char *context, uint64_t nonce,
              const void *msg, size_t len, uint8_t mac[AUTH_MAC_BYTES])
{
    if (!mac)
        return;
    if (!key || (!msg && len)) {
        /* no key or no message: a MAC no verifier accepts, not a crash */
        memset(mac, 0, AUTH_MAC_BYTES);
        return;
    }
    mac_compute(key, context, nonce, msg, len, mac);
}

int auth_mac_verify(const uint8_t key[AUTH_KEY_BYTES], const char *context, uint64_t nonce,
                    const void *msg, size_t len, const uint8_t mac[AUTH_MAC_BYTES])
{
    if (!key || !mac || (!msg && len))
        return -1;
    uint8_t want[AUTH_MAC_BYTES];
    mac_compute(key, context, nonce, msg, len, want);
    int rc = crypto_verify_32(want, mac) == 0 ? 0 : -1;
    sodium_memzero(want, sizeof want);
    return rc;
}

/* ---- logs ------------------------------------------------------------------ */

void auth_redact(const char *token, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    /* 10 characters identify a token's kind ("gf1." and the start of the
     * public payload) without the signature that makes it a credential; a
     * short string may be a secret in full, so it shows nothing */
    char keep[11];
    size_t n = 0;
    if (token && strnlen(token, 21) > 20)
        for (; n < 10; n++) /* no control bytes into logs */
            keep[n] = (token[n] >= 0x20 && token[n] < 0x7f) ? token[n] : '?';
    keep[n] = '\0';
    snprintf(out, outlen, "%s\xe2\x80\xa6(redacted)", keep);
}
