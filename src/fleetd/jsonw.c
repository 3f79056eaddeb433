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

static void escaped(jsonw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        put(w, run, (size_t)((const char *)p - run));
        char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        if (*p == '"' || *p == '\\') {
            e[1] = (char)*p;
            put(w, e, 2);
        } else if (*p == '\n') {
            put(w, "\\n", 2);
        } else if (*p == '\t') {
            put(w, "\\t", 2);
        } else {
            put(w, e, 6);
        }
        run = (const char *)p + 1;
    }
    put(w, run, strlen(run));
    put(w, "\"", 1);
}

void jsonw_key(jsonw *w, const char *k)
{
    comma(w);
    escaped(w, k);
    put(w, ":", 1);
    w->need_comma = 0;
}

void jsonw_str(jsonw *w, const char *s) { comma(w); escaped(w, s ? s : ""); w->need_comma = 1; }

void jsonw_int(jsonw *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    comma(w);
    put(w, b, (size_t)n);
    w->need_comma = 1;
}

void jsonw_bool(jsonw *w, int v) { comma(w); put(w, v ? "true" : "false", v ? 4 : 5); w->need_comma = 1; }
void jsonw_null(jsonw *w) { comma(w); put(w, "null", 4); w->need_comma = 1; }
void jsonw_raw(jsonw *w, const char *json) { comma(w); put(w, json, strlen(json)); w->need_comma = 1; }

void jsonw_kv_str(jsonw *w, const char *k, const char *s) { jsonw_key(w, k); jsonw_str(w, s); }
void jsonw_kv_int(jsonw *w, const char *k, int64_t v) { jsonw_key(w, k); jsonw_int(w, v); }
void jsonw_kv_bool(jsonw *w, const char *k, int v) { jsonw_key(w, k); jsonw_bool(w, v); }
void jsonw_kv_null(jsonw *w, const char *k) { jsonw_key(w, k); jsonw_null(w); }
