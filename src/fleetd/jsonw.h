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

/* With a literal key its length is known at compile time: listings write
 * millions of keys, and strlen showed in the profile. */
#define JSONW_LIT(k) (__builtin_constant_p(k) ? sizeof(k) - 1 : strlen(k))
#define jsonw_kv_str(w, k, s) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_str((w), (s)))
#define jsonw_kv_int(w, k, v) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_int((w), (v)))
#define jsonw_kv_bool(w, k, v) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_bool((w), (v)))
#define jsonw_kv_null(w, k) (jsonw_keyn((w), (k), JSONW_LIT(k)), jsonw_null((w)))

#endif
