/*
 * yaml_read: the helpers shared by libtrace's hand-written-YAML readers,
 * cluster_yaml.c (cluster_yaml_parse) and center_yaml.c (center_yaml_parse).
 * Internal to libtrace, not part of its API: no header outside
 * src/libtrace includes this one.
 *
 * Both readers load the file with libyaml's document API and report every
 * mistake as "FILE:LINE: field KEY: ..." without guessing. What is here:
 *   - yr_ctx: the document, the file name and the caller's error buffer;
 *     each reader embeds one in its own state;
 *   - messages: yr_fail_line / yr_fail, yr_line_of, yr_quote;
 *   - mappings of known keys, lists, and scalars (integers, reals, text);
 *   - growth (yr_reserve) and sorted name lists (yr_named, yr_sort_unique,
 *     yr_find);
 *   - yr_parse: loading one document, libyaml's errors, refusing a second.
 * Every message is fixed here: the readers' tests compare them byte for byte.
 */
#ifndef GPUFLEET_YAML_READ_H
#define GPUFLEET_YAML_READ_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* The most keys of any mapping a reader reads (the center's top level: 10). */
#define YR_MAX_KEYS 12

/* The largest magnitude yr_get_int tells apart; bigger values saturate, so
 * a bound (max) must stay below it. */
#define YR_INT_VALUE_MAX 1000000000000000LL

typedef struct yr_ctx {
    yaml_document_t *doc; /* set by yr_parse while the reader runs */
    const char *fname;
    char *err;
    size_t errlen;
} yr_ctx;

/* A name with the line it was given on; sorted copies of these find repeated
 * names and resolve references in O(n log n). */
typedef struct yr_named {
    const char *name;
    int64_t line;
    int32_t index;
} yr_named;

/* ---- messages ------------------------------------------------------------ */

/* The (1-based) line of a node; 1 for none. */
int64_t yr_line_of(const yaml_node_t *n);

/* Writes "FILE:LINE: message" into y's error buffer. */
void yr_fail_line(const yr_ctx *y, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same, the line being that of the node at fault. */
#define yr_fail(y, node, ...) yr_fail_line((y), yr_line_of(node), __VA_ARGS__)

/* "out of memory" at a node; returns -1. */
int yr_out_of_memory(const yr_ctx *y, const yaml_node_t *at);

/* Renders a scalar for an error message: quoted, short, control bytes
 * escaped. */
void yr_quote(char *dst, size_t dstlen, const yaml_node_t *v);

/* ---- mappings, lists, scalars -------------------------------------------- */

/* YAML's null: an empty plain scalar, "~" or "null" ("key:" with nothing
 * after it). Such a value counts as not given. */
int yr_is_null(const yaml_node_t *v);

/* Collects the values of a mapping whose keys must come from keys[] (at most
 * YR_MAX_KEYS); vals[k] is the value of keys[k], or NULL when the key is
 * absent or null. O(keys x pairs). 0, or -1 with a message. */
int yr_read_mapping(const yr_ctx *y, const yaml_node_t *m, const char *what,
                    const char *const *keys, size_t nkeys, const yaml_node_t **vals);

/* The items of a list; absent or null ("blocks:" alone) is empty. */
int yr_read_list(const yr_ctx *y, const yaml_node_t *v, const char *field,
                 yaml_node_item_t **items, size_t *n);

/* A single value, not a list or a mapping: 0, or -1 with a message. */
int yr_need_scalar(const yr_ctx *y, const yaml_node_t *v, const char *field);

/* Reads a decimal integer in [min, max] (max < YR_INT_VALUE_MAX); an absent
 * value gives dflt, or an error naming the mapping's (item's) line when
 * required. Only plain decimal is accepted: YAML 1.1's 0x10, 0o17 and 1_000
 * are rare in hand-written files and more likely typos than intent. */
int yr_get_int(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
               const char *field, const char *what, int64_t min, int64_t max, int required,
               int64_t dflt, int64_t *out);

/* Reads a finite real number in [0, max]; absent gives dflt or, when
 * required, an error naming the item's line. */
int yr_get_real(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
                const char *field, const char *what, double max, int required, double dflt,
                double *out);

/* Reads a text value into dst. Names (is_name) are identifiers that other
 * entries, job traces and reports refer to: they may not hold blanks, ','
 * (the separator of CSV reports) or '|' (the separator of pool lists).
 * Free text may hold blanks. Control bytes are refused in both. Absent
 * gives "" or, when required, an error naming the item's line. */
int yr_get_text(const yr_ctx *y, const yaml_node_t *item, const yaml_node_t *v,
                const char *field, const char *what, int required, int is_name, char *dst,
                size_t dstlen);

/* ---- growth and names ---------------------------------------------------- */

/* Returns arr (capacity *cap elements of size sz) with room for want >= 1
 * elements, or NULL, arr untouched, when memory runs out. The pointer is
 * returned rather than stored through a void ** to stay within C's aliasing
 * rules. */
void *yr_reserve(void *arr, size_t want, size_t *cap, size_t sz);

/* qsort order of yr_named: by name, then line. */
int yr_cmp_named(const void *a, const void *b);

/* Sorts v (n names) and fails on the first repeated name, reporting the later
 * line and the first ("duplicate WHAT name"). O(n log n). */
int yr_sort_unique(const yr_ctx *y, yr_named *v, size_t n, const char *what);

/* Index of the entry called name in a list sorted by yr_sort_unique, or -1. */
int32_t yr_find(const yr_named *v, size_t n, const char *name);

/* ---- the document -------------------------------------------------------- */

/* Loads the one document of buf (len bytes) and calls read_doc(arg) with y->doc
 * set; y->fname, y->err and y->errlen must be set (err is cleared first).
 * libyaml's errors are reported, and so is a second document once the first
 * reads cleanly ("a KIND file holds one"). Returns read_doc's result, or -1. */
int yr_parse(yr_ctx *y, const char *buf, size_t len, const char *kind, int (*read_doc)(void *arg),
             void *arg);

#endif
