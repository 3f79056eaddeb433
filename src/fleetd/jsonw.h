/*
 * jsonw: a small, fast JSON writer into a growing buffer. fleetd lists
 * 100,000 jobs in one response; writing text directly costs a fraction of
 * building a DOM first. Keys and strings are escaped per RFC 8259; commas
 * are placed automatically.
 */
#ifndef GPUFLEET_JSONW_H
#define GPUFLEET_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct jsonw {
    char *buf;
    size_t len, cap;
    int need_comma;
} jsonw;

void jsonw_init(jsonw *w);
/* Room for this many more bytes (one allocation instead of many). */
void jsonw_reserve(jsonw *w, size_t bytes);
void jsonw_free(jsonw *w);
/* Returns the NUL-terminated text (malloc'd, the caller frees) and resets w. */
char *jsonw_finish(jsonw *w, size_t *len);

void jsonw_obj_open(jsonw *w);
void jsonw_obj_close(jsonw *w);
void jsonw_arr_open(jsonw *w);
void jsonw_arr_close(jsonw *w);
void jsonw_key(jsonw *w, const char *k); /* k: a literal of the program, not escaped */
void jsonw_str(jsonw *w, const char *s);
void jsonw_int(jsonw *w, int64_t v);
void jsonw_bool(jsonw *w, int v);
void jsonw_null(jsonw *w);
void jsonw_raw(jsonw *w, const char *json); /* an already-encoded value */

void jsonw_kv_str(jsonw *w, const char *k, const char *s);
void jsonw_kv_int(jsonw *w, const char *k, int64_t v);
void jsonw_kv_bool(jsonw *w, const char *k, int v);
void jsonw_kv_null(jsonw *w, const char *k);
void jsonw_keyn(jsonw *w, const char *k, size_t n);
void jsonw_grow(jsonw *w, size_t n); /* room for n more bytes and the NUL */
void jsonw_str_slow(jsonw *w, const char *s); /* a string value with escapes */

/* ---- the hot path, inline: listings write millions of keys and values ---- */

/* Writes "KEY":VALUE for an integer; k is a literal of length n. */
static inline void jsonw_kvn_int(jsonw *w, const char *k, size_t n, int64_t v)
{
    if (w->len + n + 26 > w->cap)
        jsonw_grow(w, n + 26);
    char *p = w->buf + w->len;
    if (w->need_comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    char d[24], *e = d + sizeof d, *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    memcpy(p, q, (size_t)(e - q));
    p += e - q;
    *p = '\0';
    w->len = (size_t)(p - w->buf);
    w->need_comma = 1;
}

/* Writes "KEY":"VALUE"; the common value needs no escape and is copied. */
static inline void jsonw_kvn_str(jsonw *w, const char *k, size_t n, const char *s)
{
    if (!s)
        s = "";
    size_t sl = 0;
    for (; s[sl]; sl++)
        if ((unsigned char)s[sl] < 0x20 || s[sl] == '"' || s[sl] == '\\')
            break;
    if (s[sl]) {
        jsonw_keyn(w, k, n);
        jsonw_str_slow(w, s);
        return;
    }
    if (w->len + n + sl + 7 > w->cap)
        jsonw_grow(w, n + sl + 7);
    char *p = w->buf + w->len;
    if (w->need_comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    memcpy(p, "\":\"", 3);
    p += 3;
    memcpy(p, s, sl);
    p += sl;
    *p++ = '"';
    *p = '\0';
    w->len = (size_t)(p - w->buf);
    w->need_comma = 1;
}

/* With a literal key its length is known at compile time. */
#define JSONW_LIT(k) (__builtin_constant_p(k) ? sizeof(k) - 1 : strlen(k))
#define jsonw_kv_str(w, k, s) jsonw_kvn_str((w), (k), JSONW_LIT(k), (s))
#define jsonw_kv_int(w, k, v) jsonw_kvn_int((w), (k), JSONW_LIT(k), (int64_t)(v))
#define jsonw_kv_bool(w, k, v) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_bool((w), (v)))
#define jsonw_kv_null(w, k) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_null((w)))

#endif
