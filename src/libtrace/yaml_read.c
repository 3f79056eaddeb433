/*
 * yaml_read: the helpers shared by libtrace's hand-written-YAML readers,
 * cluster_yaml.c and center_yaml.c (see yaml_read.h). Internal to libtrace.
 * Every message below is part of both readers' behaviour: their unit tests
 * compare them byte for byte.
 */
#include "yaml_read.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ------------------------------------------------------------ */

int64_t yr_line_of(const yaml_node_t *n)
{
    return n ? (int64_t)n->start_mark.line + 1 : 1;
}

void yr_fail_line(const yr_ctx *y, int64_t line, const char *fmt, ...)
{
    if (!y->err || y->errlen == 0)
        return;
    int n = snprintf(y->err, y->errlen, "%s:%" PRId64 ": ", y->fname, line);
    if (n < 0 || (size_t)n >= y->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

int yr_out_of_memory(const yr_ctx *y, const yaml_node_t *at)
{
    yr_fail(y, at, "out of memory");
    return -1;
}

void yr_quote(char *dst, size_t dstlen, const yaml_node_t *v)
{
    const unsigned char *s = v->data.scalar.value;
    size_t len = v->data.scalar.length, o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < dstlen; i++) {
        if (i == 32) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", s[i]);
        else
            dst[o++] = (char)s[i];
    }
    dst[o++] = '"';
    dst[o] = '\0';
}

/* ---- mappings, lists, scalars -------------------------------------------- */

int yr_is_null(const yaml_node_t *v)
{
    if (!v || v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *s = (const char *)v->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

int yr_read_mapping(const yr_ctx *y, const yaml_node_t *m, const char *what,
                    const char *const *keys, size_t nkeys, const yaml_node_t **vals)
{
    for (size_t k = 0; k < nkeys; k++)
        vals[k] = NULL;
    if (m->type != YAML_MAPPING_NODE) {
        yr_fail(y, m, "%s: must be a mapping of keys to values", what);
        return -1;
    }
    /* Seen-ness is tracked apart from vals[] so that "gpus:" twice with null
     * values is still a repeated key. */
    int seen[YR_MAX_KEYS] = {0};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *key = yaml_document_get_node(y->doc, p->key);
        const yaml_node_t *val = yaml_document_get_node(y->doc, p->value);
        if (!key || !val)
            continue;
        if (key->type != YAML_SCALAR_NODE) {
            yr_fail(y, key, "%s: keys must be plain words", what);
            return -1;
        }
        const char *name = (const char *)key->data.scalar.value;
        size_t k = 0;
        while (k < nkeys && strcmp(name, keys[k]) != 0)
            k++;
        if (k == nkeys || strlen(name) != key->data.scalar.length) {
            char got[160], known[256];
            size_t o = 0;
            /* A readable key is shown as written, like a known field name;
             * anything odd is quoted and escaped. */
            if (key->data.scalar.length > 0 && key->data.scalar.length < 40 &&
                strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_-.") == key->data.scalar.length)
                snprintf(got, sizeof got, "%s", name);
            else
                yr_quote(got, sizeof got, key);
            known[0] = '\0';
            for (size_t i = 0; i < nkeys && o < sizeof known; i++)
                o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                                      keys[i]);
            yr_fail(y, key, "field %s: unknown key in %s (known: %s)", got, what, known);
            return -1;
        }
        if (seen[k]) {
            yr_fail(y, key, "field %s: key given twice in %s", keys[k], what);
            return -1;
        }
        seen[k] = 1;
        if (!yr_is_null(val))
            vals[k] = val;
    }
    return 0;
}

int yr_read_list(const yr_ctx *y, const yaml_node_t *v, const char *field,
                 yaml_node_item_t **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!v || yr_is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE) {
        yr_fail(y, v, "field %s: must be a list (items starting with \"- \")", field);
        return -1;
    }
    *items = v->data.sequence.items.start;
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    return 0;
}

int yr_need_scalar(const yr_ctx *y, const yaml_node_t *v, const char *field)
{
    if (v->type != YAML_SCALAR_NODE) {
        yr_fail(y, v, "field %s: must be a single value, not a %s", field,
                v->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        return -1;
    }
    return 0;
}

/* The common start of the getters: 0 when v is a single value to read; 1
 * when it is absent and not required (the caller takes its default); -1,
 * with a message, when it is absent but required or not a single value. */
static int begin_value(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
                       const char *field, const char *what, int required)
{
    if (!v) {
        if (required) {
            yr_fail(y, item, "field %s: required in %s", field, what);
            return -1;
        }
        return 1;
    }
    return yr_need_scalar(y, v, field);
}

int yr_get_int(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
               const char *field, const char *what, int64_t min, int64_t max, int required,
               int64_t dflt, int64_t *out)
{
    int st = begin_value(y, item, v, field, what, required);
    if (st > 0)
        *out = dflt;
    if (st != 0)
        return st > 0 ? 0 : -1;
    const char *s = (const char *)v->data.scalar.value;
    size_t len = v->data.scalar.length, i = 0;
    int neg = 0, ok = len > 0;
    int64_t x = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    ok = ok && i < len;
    for (; ok && i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            ok = 0;
        else if (x <= YR_INT_VALUE_MAX)
            x = x * 10 + (s[i] - '0'); /* saturates below: no overflow */
    }
    if (x > YR_INT_VALUE_MAX)
        x = YR_INT_VALUE_MAX + 1;
    x = neg ? -x : x;
    char got[160];
    yr_quote(got, sizeof got, v);
    if (!ok || x < min) {
        yr_fail(y, v, "field %s: must be a %s integer, got %s", field,
                min > 0 ? "positive" : "non-negative", got);
        return -1;
    }
    if (x > max) {
        yr_fail(y, v, "field %s: must be at most %" PRId64 ", got %s", field, max, got);
        return -1;
    }
    *out = x;
    return 0;
}

int yr_get_real(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
                const char *field, const char *what, double max, int required, double dflt,
                double *out)
{
    int st = begin_value(y, item, v, field, what, required);
    if (st > 0)
        *out = dflt;
    if (st != 0)
        return st > 0 ? 0 : -1;
    const char *s = (const char *)v->data.scalar.value;
    char *end;
    char got[160];
    yr_quote(got, sizeof got, v);
    double x = strtod(s, &end);
    if (v->data.scalar.length == 0 || end != s + v->data.scalar.length || !isfinite(x) ||
        x < 0) {
        yr_fail(y, v, "field %s: must be a non-negative number, got %s", field, got);
        return -1;
    }
    if (x > max) {
        yr_fail(y, v, "field %s: must be at most %g, got %s", field, max, got);
        return -1;
    }
    *out = x;
    return 0;
}

int yr_get_text(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
                const char *field, const char *what, int required, int is_name, char *dst,
                size_t dstlen)
{
    int st = begin_value(y, item, v, field, what, required);
    if (st > 0)
        dst[0] = '\0';
    if (st != 0)
        return st > 0 ? 0 : -1;
    const unsigned char *s = v->data.scalar.value;
    size_t len = v->data.scalar.length;
    char got[160];
    yr_quote(got, sizeof got, v);
    if (len == 0) {
        yr_fail(y, v, "field %s: must not be empty", field);
        return -1;
    }
    if (len >= dstlen) {
        yr_fail(y, v, "field %s: longer than %zu characters, got %s", field, dstlen - 1, got);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) {
            yr_fail(y, v, "field %s: contains a control character, got %s", field, got);
            return -1;
        }
        if (is_name && (s[i] == ' ' || s[i] == ',' || s[i] == '|')) {
            yr_fail(y, v, "field %s: a name may not contain blanks, ',' or '|', got %s", field,
                    got);
            return -1;
        }
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

/* ---- growth and names ---------------------------------------------------- */

void *yr_reserve(void *arr, size_t want, size_t *cap, size_t sz)
{
    if (want <= *cap)
        return arr;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < want)
        ncap *= 2;
    void *p = realloc(arr, ncap * sz);
    if (p)
        *cap = ncap;
    return p;
}

int yr_cmp_named(const void *a, const void *b)
{
    const yr_named *x = a, *y = b;
    int d = strcmp(x->name, y->name);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

static int cmp_name_only(const void *a, const void *b)
{
    return strcmp(((const yr_named *)a)->name, ((const yr_named *)b)->name);
}

int yr_sort_unique(const yr_ctx *y, yr_named *v, size_t n, const char *what)
{
    if (n > 0)
        qsort(v, n, sizeof *v, yr_cmp_named);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].name, v[i - 1].name) == 0) {
            yr_fail_line(y, v[i].line,
                         "field name: duplicate %s name \"%s\" (first at line %" PRId64 ")", what,
                         v[i].name, v[i - 1].line);
            return -1;
        }
    }
    return 0;
}

int32_t yr_find(const yr_named *v, size_t n, const char *name)
{
    yr_named key = {name, 0, 0};
    const yr_named *hit = n ? bsearch(&key, v, n, sizeof *v, cmp_name_only) : NULL;
    return hit ? hit->index : -1;
}

/* ---- the document -------------------------------------------------------- */

/* Reports a libyaml error (syntax, bad encoding, out of memory). */
static void fail_yaml(const yr_ctx *y, const yaml_parser_t *p, const char *buf, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR) {
        yr_fail_line(y, 1, "out of memory");
        return;
    }
    int64_t line = (int64_t)p->problem_mark.line + 1;
    /* Encoding errors carry a byte offset, not a mark: count the lines. */
    if (p->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += buf[i] == '\n';
    }
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context)
        yr_fail_line(y, line, "yaml: %s (%s started on line %zu)", problem, p->context,
                     p->context_mark.line + 1);
    else
        yr_fail_line(y, line, "yaml: %s", problem);
}

int yr_parse(yr_ctx *y, const char *buf, size_t len, const char *kind, int (*read_doc)(void *arg),
             void *arg)
{
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    int rc;

    if (y->err && y->errlen)
        y->err[0] = '\0';
    if (!buf)
        buf = "", len = 0;
    if (!yaml_parser_initialize(&parser)) {
        yr_fail_line(y, 1, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        fail_yaml(y, &parser, buf, len);
        yaml_parser_delete(&parser);
        return -1;
    }
    y->doc = &doc;
    rc = read_doc(arg);
    /* A second document would be silently ignored: refuse it. Only looked
     * for once the first is valid, so the first error found is reported. */
    if (rc == 0) {
        if (!yaml_parser_load(&parser, &extra)) {
            fail_yaml(y, &parser, buf, len);
            rc = -1;
        } else {
            const yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root) {
                yr_fail(y, root, "yaml: a second document; a %s file holds one", kind);
                rc = -1;
            }
            yaml_document_delete(&extra);
        }
    }
    y->doc = NULL;
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
