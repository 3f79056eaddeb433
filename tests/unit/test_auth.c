/* Unit tests of libauth (src/libauth/auth.c): the cluster key file, bearer
 * tokens, peer credentials, message MACs and redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

/* Known answers, computed independently (Python's hmac and base64 modules),
 * so that the formats stay what auth.h documents: another implementation (a
 * client in another language) must be able to mint and check the same. */
#define KAT_TOKEN                                                                   \
    "gf1.dXNlcj1hbGljZTt1aWQ9MTAwMDtleHA9MTcwMDAwMDAwMDtyb2xlPXVzZXI."              \
    "jWPa5x1lj_LPTZCyA-Qit8azTGqQHgwPGL8gWq1P1ms"
#define KAT_MAC_HEX "303c4b59edd03e1d40509b3ac9c43c2125949c575f567c37e4d27d138db22441"

typedef struct fixture {
    char dir[4096];
    char path[4200];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/gpufleet-auth-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/cluster.key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void test_key(uint8_t key[AUTH_KEY_BYTES])
{
    for (int i = 0; i < AUTH_KEY_BYTES; i++)
        key[i] = (uint8_t)i;
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* ---- key file -------------------------------------------------------------- */

static void test_key_created_0600(void **state)
{
    fixture *f = *state;
    uint8_t key[AUTH_KEY_BYTES], zero[AUTH_KEY_BYTES] = {0};
    char err[256] = "";
    int created = -1;
    assert_int_equal(auth_key_load_or_create(f->path, key, &created, err, sizeof err), 0);
    assert_int_equal(created, 1);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, AUTH_KEY_BYTES);
    assert_memory_not_equal(key, zero, AUTH_KEY_BYTES);
}

static void test_key_existing_loaded(void **state)
{
    fixture *f = *state;
    uint8_t k1[AUTH_KEY_BYTES], k2[AUTH_KEY_BYTES], k3[AUTH_KEY_BYTES];
    char err[256] = "";
    int created = -1;
    assert_int_equal(auth_key_load_or_create(f->path, k1, &created, err, sizeof err), 0);
    assert_int_equal(created, 1);
    assert_int_equal(auth_key_load_or_create(f->path, k2, &created, err, sizeof err), 0);
    assert_int_equal(created, 0);
    assert_memory_equal(k1, k2, AUTH_KEY_BYTES);
    assert_int_equal(auth_key_load(f->path, k3, err, sizeof err), 0);
    assert_memory_equal(k1, k3, AUTH_KEY_BYTES);
    /* created may be NULL */
    assert_int_equal(auth_key_load_or_create(f->path, k3, NULL, err, sizeof err), 0);
    assert_memory_equal(k1, k3, AUTH_KEY_BYTES);
}

static void test_key_too_open_refused(void **state)
{
    fixture *f = *state;
    uint8_t key[AUTH_KEY_BYTES], before[AUTH_KEY_BYTES];
    char err[256] = "";
    test_key(before);
    write_file(f->path, before, AUTH_KEY_BYTES, 0644);
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "cluster.key: mode 0644 is too open; chmod 600"));
    /* load_or_create refuses too, and leaves the file alone */
    int created = -1;
    err[0] = '\0';
    assert_int_equal(auth_key_load_or_create(f->path, key, &created, err, sizeof err), -1);
    assert_int_equal(created, 0);
    assert_non_null(strstr(err, "mode 0644 is too open; chmod 600"));
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* group-writable only, other-readable only: both refused */
    assert_int_equal(chmod(f->path, 0620), 0);
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "mode 0620 is too open"));
    assert_int_equal(chmod(f->path, 0604), 0);
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
    /* 0400 is fine */
    assert_int_equal(chmod(f->path, 0400), 0);
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), 0);
    assert_memory_equal(key, before, AUTH_KEY_BYTES);
}

static void test_key_wrong_size_refused(void **state)
{
    fixture *f = *state;
    uint8_t buf[64] = {1, 2, 3}, key[AUTH_KEY_BYTES];
    char err[256] = "";
    size_t sizes[] = {0, 31, 33, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        write_file(f->path, buf, sizes[i], 0600);
        err[0] = '\0';
        assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
        assert_non_null(strstr(err, "expected 32"));
        int created = -1;
        assert_int_equal(auth_key_load_or_create(f->path, key, &created, err, sizeof err), -1);
        assert_int_equal(created, 0);
    }
}

static void test_key_missing_and_odd_paths(void **state)
{
    fixture *f = *state;
    uint8_t key[AUTH_KEY_BYTES];
    char err[256] = "";
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(auth_key_load(NULL, key, err, sizeof err), -1);
    assert_int_equal(auth_key_load("", key, err, sizeof err), -1);
    assert_int_equal(auth_key_load_or_create(NULL, key, NULL, err, sizeof err), -1);
    /* a directory is not a key */
    assert_int_equal(auth_key_load(f->dir, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    /* a missing directory: no file is created, the reason is given */
    char bad[4400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/cluster.key", f->dir);
    assert_int_equal(auth_key_load_or_create(bad, key, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
    /* a dangling symlink planted at the path is not followed to create */
    char target[4400];
    snprintf(target, sizeof target, "%s/elsewhere", f->dir);
    assert_int_equal(symlink(target, f->path), 0);
    assert_int_equal(auth_key_load_or_create(f->path, key, NULL, err, sizeof err), -1);
    assert_int_equal(access(target, F_OK), -1);
    unlink(f->path);
    /* no err buffer: still no crash */
    assert_int_equal(auth_key_load(f->dir, key, NULL, 0), -1);
}

static void test_key_other_owner_refused(void **state)
{
    fixture *f = *state;
    if (geteuid() != 0)
        skip(); /* only root can give a file away */
    uint8_t key[AUTH_KEY_BYTES];
    char err[256] = "";
    test_key(key);
    write_file(f->path, key, AUTH_KEY_BYTES, 0600);
    assert_int_equal(chown(f->path, 12345, 12345), 0);
    assert_int_equal(auth_key_load(f->path, key, err, sizeof err), -1);
    assert_non_null(strstr(err, "owned by uid 12345"));
}

/* ---- tokens ---------------------------------------------------------------- */

static void test_token_known_answer(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char tok[AUTH_TOKEN_MAX], user[64], err[128] = "";
    uint32_t uid = 0;
    int op = -1;
    test_key(key);
    assert_int_equal(auth_token_create(key, "alice", 1000, 0, 1700000000, tok, sizeof tok), 0);
    assert_string_equal(tok, KAT_TOKEN);
    assert_int_equal(auth_token_verify(key, KAT_TOKEN, 1699999999, user, sizeof user, &uid, &op,
                                       err, sizeof err),
                     0);
    assert_string_equal(user, "alice");
    assert_int_equal(uid, 1000);
    assert_int_equal(op, 0);
}

static void test_token_round_trip(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    char longname[AUTH_USER_MAX + 1];
    memset(longname, 'u', AUTH_USER_MAX);
    longname[AUTH_USER_MAX] = '\0';
    struct {
        const char *user;
        uint32_t uid;
        int op;
        int64_t exp;
    } cases[] = {
        {"alice", 1000, 0, 2000000000},
        {"root", 0, 1, 1},
        {"svc.train-01@lab_x$", UINT32_MAX, 1, INT64_MAX},
        {longname, 42, 0, 4102444800},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tok[AUTH_TOKEN_MAX], user[64], err[128] = "";
        uint32_t uid = 7;
        int op = 7;
        assert_int_equal(
            auth_token_create(key, cases[i].user, cases[i].uid, cases[i].op, cases[i].exp, tok,
                              sizeof tok),
            0);
        assert_true(strncmp(tok, "gf1.", 4) == 0);
        assert_true(strlen(tok) < AUTH_TOKEN_MAX);
        assert_int_equal(auth_token_verify(key, tok, cases[i].exp - 1, user, sizeof user, &uid,
                                           &op, err, sizeof err),
                         0);
        assert_string_equal(user, cases[i].user);
        assert_int_equal(uid, cases[i].uid);
        assert_int_equal(op, cases[i].op);
        /* outputs are optional */
        assert_int_equal(auth_token_verify(key, tok, 0, NULL, 0, NULL, NULL, NULL, 0), 0);
    }
}

static void test_token_create_refusals(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char tok[AUTH_TOKEN_MAX] = "x";
    char toolong[AUTH_USER_MAX + 2];
    memset(toolong, 'u', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    test_key(key);
    const char *bad[] = {"", "a;uid=0", "a=b", "a b", "a\nb", "\xc3\xa9t\xc3\xa9", toolong, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(auth_token_create(key, bad[i], 1, 0, 100, tok, sizeof tok), -1);
        assert_string_equal(tok, "");
    }
    assert_int_equal(auth_token_create(key, "alice", 1, 0, -1, tok, sizeof tok), -1);
    assert_int_equal(auth_token_create(NULL, "alice", 1, 0, 100, tok, sizeof tok), -1);
    assert_int_equal(auth_token_create(key, "alice", 1, 0, 100, NULL, 0), -1);
    /* a buffer one byte short */
    char full[AUTH_TOKEN_MAX];
    assert_int_equal(auth_token_create(key, "alice", 1, 0, 100, full, sizeof full), 0);
    size_t need = strlen(full) + 1;
    assert_int_equal(auth_token_create(key, "alice", 1, 0, 100, tok, need - 1), -1);
    assert_string_equal(tok, "");
    assert_int_equal(auth_token_create(key, "alice", 1, 0, 100, tok, need), 0);
}

static void test_token_tampered(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char tok[AUTH_TOKEN_MAX], t2[AUTH_TOKEN_MAX + 8], err[128];
    test_key(key);
    assert_int_equal(auth_token_create(key, "alice", 1000, 0, 2000000000, tok, sizeof tok), 0);
    /* every single-character change anywhere is refused (this includes the
     * last character of each base64 part, whose low bits are padding: a
     * lenient decoder would accept a second spelling of the same token) */
    const char subst[] = "AQZagz09-_.=+/ \x01\xff";
    size_t len = strlen(tok);
    for (size_t i = 0; i < len; i++) {
        for (const char *c = subst; *c; c++) {
            if (*c == tok[i])
                continue;
            memcpy(t2, tok, len + 1);
            t2[i] = *c;
            err[0] = '\0';
            if (auth_token_verify(key, t2, 0, NULL, 0, NULL, NULL, err, sizeof err) == 0)
                fail_msg("position %zu changed to 0x%02x was accepted: %s", i,
                         (unsigned char)*c, t2);
            assert_true(err[0] != '\0');
        }
    }
    /* truncated or extended */
    for (size_t n = 0; n < len; n++) {
        memcpy(t2, tok, n);
        t2[n] = '\0';
        assert_int_equal(auth_token_verify(key, t2, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    }
    snprintf(t2, sizeof t2, "%sA", tok);
    assert_int_equal(auth_token_verify(key, t2, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    /* a user's payload with an operator's signature */
    char op[AUTH_TOKEN_MAX];
    assert_int_equal(auth_token_create(key, "alice", 1000, 1, 2000000000, op, sizeof op), 0);
    const char *dot_u = strrchr(tok, '.'), *dot_o = strrchr(op, '.');
    snprintf(t2, sizeof t2, "%.*s%s", (int)(dot_o - op), op, dot_u);
    assert_int_equal(auth_token_verify(key, t2, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "bad signature");
    /* an altered payload (role=operator) re-encoded, signature kept */
    char b64[200];
    const char *pl = "user=alice;uid=1000;exp=2000000000;role=operator";
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)pl, strlen(pl),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(t2, sizeof t2, "gf1.%s%s", b64, dot_u);
    assert_int_equal(auth_token_verify(key, t2, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "bad signature");
}

static void test_token_expired(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char tok[AUTH_TOKEN_MAX], err[128] = "", user[64] = "x";
    test_key(key);
    assert_int_equal(auth_token_create(key, "bob", 5, 0, 1000, tok, sizeof tok), 0);
    assert_int_equal(auth_token_verify(key, tok, 999, user, sizeof user, NULL, NULL, err,
                                       sizeof err),
                     0);
    assert_int_equal(auth_token_verify(key, tok, 1000, user, sizeof user, NULL, NULL, err,
                                       sizeof err),
                     -1);
    assert_string_equal(err, "token expired at 1000");
    assert_string_equal(user, ""); /* nothing of a refused token is handed out */
    assert_int_equal(auth_token_verify(key, tok, INT64_MAX, NULL, 0, NULL, NULL, err, sizeof err),
                     -1);
}

static void test_token_wrong_key(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES], other[AUTH_KEY_BYTES];
    char tok[AUTH_TOKEN_MAX], err[128] = "";
    test_key(key);
    memcpy(other, key, sizeof key);
    other[31] ^= 1;
    assert_int_equal(auth_token_create(key, "alice", 1000, 1, 2000000000, tok, sizeof tok), 0);
    assert_int_equal(auth_token_verify(other, tok, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    assert_string_equal(err, "bad signature");
    assert_int_equal(auth_token_verify(NULL, tok, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
}

/* A token with a correct signature over an arbitrary payload: what only the
 * key's holder can make. Such payloads must still be exactly canonical. */
static void sign_payload(const uint8_t *key, const char *payload, size_t n, char *out,
                         size_t outlen)
{
    uint8_t mac[32];
    char b64p[400], b64m[64];
    crypto_auth_hmacsha256(mac, (const unsigned char *)payload, n, key);
    sodium_bin2base64(b64p, sizeof b64p, (const unsigned char *)payload, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(b64m, sizeof b64m, mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, outlen, "gf1.%s.%s", b64p, b64m);
}

static void test_token_signed_but_malformed(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char tok[600], err[128];
    test_key(key);
    const char *bad[] = {
        "",
        "user=;uid=1;exp=5;role=user",
        "user=a;uid=01;exp=5;role=user",
        "user=a;uid=+1;exp=5;role=user",
        "user=a;uid=4294967296;exp=5;role=user",
        "user=a;uid=1;exp=-5;role=user",
        "user=a;uid=1;exp=9223372036854775808;role=user",
        "user=a;uid=1;exp=5;role=admin",
        "user=a;uid=1;exp=5;role=user;",
        "user=a;uid=1;exp=5;role=operatorx",
        "user=a;uid=1;exp=5",
        "uid=1;user=a;exp=5;role=user",
        "user=a b;uid=1;exp=5;role=user",
        "user=a;uid=1 ;exp=5;role=user",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sign_payload(key, bad[i], strlen(bad[i]), tok, sizeof tok);
        err[0] = '\0';
        if (auth_token_verify(key, tok, 0, NULL, 0, NULL, NULL, err, sizeof err) == 0)
            fail_msg("accepted payload \"%s\"", bad[i]);
        assert_non_null(strstr(err, "malformed"));
    }
    /* a NUL inside the payload */
    static const char nul[] = "user=a\0b;uid=1;exp=5;role=user";
    sign_payload(key, nul, sizeof nul - 1, tok, sizeof tok);
    assert_int_equal(auth_token_verify(key, tok, 0, NULL, 0, NULL, NULL, err, sizeof err), -1);
    /* the good one, for contrast, and a caller's buffer too small for the name */
    const char *good = "user=abcdef;uid=1;exp=5;role=user";
    sign_payload(key, good, strlen(good), tok, sizeof tok);
    char user[6];
    assert_int_equal(auth_token_verify(key, tok, 0, NULL, 0, NULL, NULL, err, sizeof err), 0);
    assert_int_equal(auth_token_verify(key, tok, 0, user, sizeof user, NULL, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "buffer"));
}

static void test_token_garbage(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES];
    char err[128];
    test_key(key);
    static char huge[100000];
    memset(huge, 'A', sizeof huge - 1);
    memcpy(huge, "gf1.", 4);
    huge[5000] = '.';
    const char *garbage[] = {
        NULL,
        "",
        "gf1",
        "gf1.",
        "gf1..",
        "gf1...",
        "gf1.a.b",
        "gf2.dXNlcj1h.AAAA",
        "Bearer gf1.x.y",
        "gf1.dXNlcj1hbGljZQ==.jWPa5x1lj_LPTZCyA-Qit8azTGqQHgwPGL8gWq1P1ms",
        "gf1.dXNlcj1hbGljZQ.jWPa5x1lj_LPTZCyA-Qit8azTGqQHgwPGL8gWq1P1ms.extra",
        "gf1.\xff\xfe\xfd.\x80\x81",
        "gf1.!!!!.????",
        "gf1.dXNlcj1h.jWPa5x1lj_LPTZCyA-Qit8azTGqQHgwPGL8gWq1P1msjWPa5x1lj_LPTZCyA",
        huge,
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        char user[64] = "unchanged";
        uint32_t uid = 77;
        int op = 77;
        err[0] = '\0';
        assert_int_equal(
            auth_token_verify(key, garbage[i], 0, user, sizeof user, &uid, &op, err, sizeof err),
            -1);
        assert_true(err[0] != '\0');
        assert_string_equal(user, "");
        assert_int_equal(uid, 77);
        assert_int_equal(op, 77);
        /* no err buffer: no crash either */
        assert_int_equal(auth_token_verify(key, garbage[i], 0, NULL, 0, NULL, NULL, NULL, 0), -1);
    }
}

/* ---- peer credentials ------------------------------------------------------ */

static void test_peer_cred(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint32_t uid = 99999, gid = 99999;
    int32_t pid = -7;
    assert_int_equal(auth_peer_cred(sv[0], &uid, &gid, &pid), 0);
    assert_int_equal(uid, (uint32_t)getuid());
    assert_int_equal(gid, (uint32_t)getgid());
    assert_int_equal(pid, (int32_t)getpid());
    assert_int_equal(auth_peer_cred(sv[1], NULL, NULL, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    /* not a socket, not a Unix socket, not an fd */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(auth_peer_cred(p[0], &uid, &gid, &pid), -1);
    close(p[0]);
    close(p[1]);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0) {
        assert_int_equal(auth_peer_cred(s, &uid, &gid, &pid), -1);
        close(s);
    }
    assert_int_equal(auth_peer_cred(-1, &uid, &gid, &pid), -1);
}

/* ---- MACs ------------------------------------------------------------------ */

static void test_mac(void **state)
{
    (void)state;
    uint8_t key[AUTH_KEY_BYTES], mac[32], m2[32], want[32];
    test_key(key);
    const char *ctx = "gpufleet/test/v1";
    const uint64_t nonce = 0x0102030405060708ull;
    auth_mac(key, ctx, nonce, "hello", 5, mac);
    assert_int_equal(sodium_hex2bin(want, sizeof want, KAT_MAC_HEX, 64, NULL, NULL, NULL), 0);
    assert_memory_equal(mac, want, 32);
    assert_int_equal(auth_mac_verify(key, ctx, nonce, "hello", 5, mac), 0);
    /* each input matters */
    assert_int_equal(auth_mac_verify(key, ctx, nonce, "hellO", 5, mac), -1);
    assert_int_equal(auth_mac_verify(key, ctx, nonce, "hello", 4, mac), -1);
    assert_int_equal(auth_mac_verify(key, ctx, nonce + 1, "hello", 5, mac), -1);
    assert_int_equal(auth_mac_verify(key, "gpufleet/test/v2", nonce, "hello", 5, mac), -1);
    assert_int_equal(auth_mac_verify(key, NULL, nonce, "hello", 5, mac), -1);
    for (int i = 0; i < 32; i++) {
        memcpy(m2, mac, 32);
        m2[i] ^= 0x80;
        assert_int_equal(auth_mac_verify(key, ctx, nonce, "hello", 5, m2), -1);
    }
    uint8_t other[AUTH_KEY_BYTES];
    memcpy(other, key, sizeof key);
    other[0] ^= 1;
    assert_int_equal(auth_mac_verify(other, ctx, nonce, "hello", 5, mac), -1);
    /* the context ends at its NUL: "ab" + "c..." is not "abc" + "..." */
    auth_mac(key, "ab", 0, "cd", 2, mac);
    assert_int_equal(auth_mac_verify(key, "abc", 0, "d", 1, mac), -1);
    /* empty message, NULL context = "" */
    auth_mac(key, NULL, 0, NULL, 0, mac);
    assert_int_equal(auth_mac_verify(key, "", 0, "", 0, mac), 0);
    /* bad arguments: refused, no crash */
    auth_mac(NULL, ctx, 0, "x", 1, mac);
    assert_int_equal(auth_mac_verify(NULL, ctx, 0, "x", 1, mac), -1);
    assert_int_equal(auth_mac_verify(key, ctx, 0, NULL, 1, mac), -1);
    assert_int_equal(auth_mac_verify(key, ctx, 0, "x", 1, NULL), -1);
    auth_mac(key, ctx, 0, "x", 1, NULL);
}

/* ---- redaction ------------------------------------------------------------- */

static void test_redact(void **state)
{
    (void)state;
    char out[64];
    auth_redact(KAT_TOKEN, out, sizeof out);
    assert_string_equal(out, "gf1.dXNlcj\xe2\x80\xa6(redacted)");
    assert_null(strstr(out, "jWPa")); /* no part of the signature */
    auth_redact("short-secret", out, sizeof out);
    assert_string_equal(out, "\xe2\x80\xa6(redacted)");
    auth_redact(NULL, out, sizeof out);
    assert_string_equal(out, "\xe2\x80\xa6(redacted)");
    auth_redact("gf1.\n\x1b[31mxxxxxxxxxxxxxxxxxxxx", out, sizeof out);
    assert_string_equal(out, "gf1.??[31m\xe2\x80\xa6(redacted)");
    /* small buffers: truncated, terminated, never overrun */
    char small[5];
    memset(small, 'Z', sizeof small);
    auth_redact(KAT_TOKEN, small, 4);
    assert_string_equal(small, "gf1");
    assert_int_equal(small[4], 'Z');
    auth_redact(KAT_TOKEN, small, 0);
    auth_redact(KAT_TOKEN, NULL, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_created_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_existing_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_too_open_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_wrong_size_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_missing_and_odd_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_other_owner_refused, setup, teardown),
        cmocka_unit_test(test_token_known_answer),
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_create_refusals),
        cmocka_unit_test(test_token_tampered),
        cmocka_unit_test(test_token_expired),
        cmocka_unit_test(test_token_wrong_key),
        cmocka_unit_test(test_token_signed_but_malformed),
        cmocka_unit_test(test_token_garbage),
        cmocka_unit_test(test_peer_cred),
        cmocka_unit_test(test_mac),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
