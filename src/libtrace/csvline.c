/* csvline.c: see csvline.h. */
#include "csvline.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void csv_fail(const where *w, const char *fmt, ...)
{
    if (!w->err || w->errlen == 0)
        return;
    int n = snprintf(w->err, w->errlen, "%s:%" PRId64 ": ", w->fname, w->line);
    if (n < 0 || (size_t)n >= w->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

void csv_quote(char *dst, size_t dstlen, span s)
{
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < s.n && o + 8 < dstlen; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (i == 32) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        /* Bytes >= 0x80 too: CSV input may be any binary, not UTF-8. */
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

span csv_trim(span s)
{
    while (s.n > 0 && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (is_blank(s.p[s.n - 1]) || s.p[s.n - 1] == '\r'))
        s.n--;
    return s;
}

size_t csv_split(span line, span *fields, size_t max)
{
    size_t count = 0;
    const char *p = line.p, *end = line.p + line.n;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (count < max)
            fields[count] = csv_trim((span){p, (size_t)(stop - p)});
        count++;
        if (!comma)
            return count;
        p = comma + 1;
    }
}

int csv_parse_int(span s, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < s.n && (s.p[i] == '-' || s.p[i] == '+'))
        neg = s.p[i++] == '-';
    if (i == s.n)
        return -1;
    int64_t v = 0;
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        if (v <= VALUE_MAX)
            v = v * 10 + (s.p[i] - '0');
        if (v > VALUE_MAX)
            v = VALUE_MAX + 1;
    }
    *out = neg ? -v : v;
    return 0;
}

int csv_check_pool_list(const where *w, const char *field, const char *what,
                        const char *pools)
{
    if (pools[0] == '\0')
        return 0;
    for (const char *q = pools;;) {
        const char *bar = strchr(q, '|');
        span name = csv_trim((span){q, bar ? (size_t)(bar - q) : strlen(q)});
        if (name.n == 0) {
            csv_fail(w, "field %s: empty %s in \"%s\"", field, what, pools);
            return -1;
        }
        if (!bar)
            return 0;
        q = bar + 1;
    }
}
