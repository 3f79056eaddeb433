/* jsonw.c: see jsonw.h. */
#include "jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(jsonw *w, size_t n)
{
    if (w->len + n + 1 <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b)
        abort(); /* out of memory: fail loudly */
    w->buf = b;
    w->cap = cap;
}

static void put(jsonw *w, const char *s, size_t n)
{
    reserve(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void comma(jsonw *w)
{
    if (w->need_comma)
        put(w, ",", 1);
}

void jsonw_init(jsonw *w) { memset(w, 0, sizeof *w); }
void jsonw_grow(jsonw *w, size_t n) { reserve(w, n); }
void jsonw_str_slow(jsonw *w, const char *s) { jsonw_str(w, s); }
void jsonw_reserve(jsonw *w, size_t bytes) { reserve(w, bytes); }
void jsonw_free(jsonw *w) { free(w->buf); memset(w, 0, sizeof *w); }

char *jsonw_finish(jsonw *w, size_t *len)
{
    reserve(w, 0);
    char *b = w->buf;
    if (len)
        *len = w->len;
    memset(w, 0, sizeof *w);
    return b;
}

void jsonw_obj_open(jsonw *w) { comma(w); put(w, "{", 1); w->need_comma = 0; }
void jsonw_obj_close(jsonw *w) { put(w, "}", 1); w->need_comma = 1; }
void jsonw_arr_open(jsonw *w) { comma(w); put(w, "[", 1); w->need_comma = 0; }
void jsonw_arr_close(jsonw *w) { put(w, "]", 1); w->need_comma = 1; }

/* Bytes that must be escaped in a JSON string: controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
    [0 ... 31] = 1, ['"'] = 1, ['\\'] = 1,
};

static void escaped(jsonw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    reserve(w, n + 2);
    char *p = w->buf + w->len;
    *p++ = '"';
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && !needs_escape[u[i]])
        i++;
    memcpy(p, s, i); /* the common case: nothing to escape */
    w->len = (size_t)(p - w->buf) + i;
    for (; i < n; i++) {
        unsigned char c = u[i];
        if (!needs_escape[c]) {
            put(w, (const char *)&u[i], 1);
            continue;
        }
        char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            e[1] = (char)c;
            put(w, e, 2);
        } else if (c == '\n') {
            put(w, "\\n", 2);
        } else if (c == '\t') {
            put(w, "\\t", 2);
        } else {
            put(w, e, 6);
        }
    }
    put(w, "\"", 1);
}

/* Keys are the program's own literals: written as they are, unescaped. */
void jsonw_key(jsonw *w, const char *k)
{
    jsonw_keyn(w, k, strlen(k));
}

void jsonw_keyn(jsonw *w, const char *k, size_t n)
{
    reserve(w, n + 4);
    char *p = w->buf + w->len;
    if (w->need_comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, k, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    w->len = (size_t)(p - w->buf);
    w->need_comma = 0;
}

void jsonw_str(jsonw *w, const char *s) { comma(w); escaped(w, s ? s : ""); w->need_comma = 1; }

/* Integers by hand: listings write millions of them, snprintf is slow. */
void jsonw_int(jsonw *w, int64_t v)
{
    char b[24], *e = b + sizeof b, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    comma(w);
    put(w, p, (size_t)(e - p));
    w->need_comma = 1;
}

void jsonw_bool(jsonw *w, int v) { comma(w); put(w, v ? "true" : "false", v ? 4 : 5); w->need_comma = 1; }
void jsonw_null(jsonw *w) { comma(w); put(w, "null", 4); w->need_comma = 1; }
void jsonw_raw(jsonw *w, const char *json) { comma(w); put(w, json, strlen(json)); w->need_comma = 1; }

void (jsonw_kv_str)(jsonw *w, const char *k, const char *s) { jsonw_key(w, k); jsonw_str(w, s); }
void (jsonw_kv_int)(jsonw *w, const char *k, int64_t v) { jsonw_key(w, k); jsonw_int(w, v); }
void (jsonw_kv_bool)(jsonw *w, const char *k, int v) { jsonw_key(w, k); jsonw_bool(w, v); }
void (jsonw_kv_null)(jsonw *w, const char *k) { jsonw_key(w, k); jsonw_null(w); }
