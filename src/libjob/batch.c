/*
 * batch: the directives of a batch script.
 *
 * Users bring their Slurm scripts, so '#SBATCH' lines mean what sbatch makes
 * of them: read at the top of the script until the first command, one or
 * more options a line, later ones overriding earlier ones. '#FLEET' lines are
 * the same with gpufleet's name on them. The options themselves are
 * jobspec_apply_option()'s, so a directive and a command-line option accept
 * exactly the same values.
 *
 * Every mistake names the line and the option as the user wrote it, because
 * a script of forty directives is hard to debug from "invalid value".
 */
#include "jobspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a directive an error message shows. */
#define SHOW_MAX 80

/* One word of a directive line: where it is in the script (for messages)
 * and its text once quotes and escapes are resolved. */
typedef struct word {
    const char *raw;
    size_t rawlen;
    char *val; /* NUL-terminated, in the line's scratch buffer */
} word;

typedef struct where {
    char *err;
    size_t errlen;
    size_t line;
    const char *prefix; /* "#SBATCH" or "#FLEET" */
    size_t noptions;    /* options applied so far, all lines */
} where;

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Renders directive text as written (the script is valid UTF-8 by now):
 * control bytes escaped, cut after SHOW_MAX bytes, never inside a character.
 * dst needs 4 * SHOW_MAX + 4 bytes. */
static void show(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t limit = n;
    if (limit > SHOW_MAX) {
        limit = SHOW_MAX;
        while (limit > 0 && ((unsigned char)s[limit] & 0xc0) == 0x80)
            limit--; /* back to the start of the character cut in two */
    }
    size_t o = 0;
    for (size_t i = 0; i < limit && o + 5 < dstlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    if (limit < n && o + 4 <= dstlen) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* "script:LINE: #SBATCH TEXT: reason" */
static void fail_at(const where *w, const char *text, size_t n, const char *reason)
{
    char shown[4 * SHOW_MAX + 8];
    show(shown, sizeof shown, text, n);
    fail(w->err, w->errlen, "script:%zu: %s %s: %s", w->line, w->prefix, shown, reason);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Splits the options part of a directive into words, shell style: blanks
 * separate, '...' and "..." group (in "...", backslash escapes '"' and '\'),
 * a backslash outside quotes escapes the next character, and an unquoted '#'
 * at the start of a word begins a comment. buf has room for the whole line
 * plus one NUL per word (2 * n + 1); *words grows as needed (the caller
 * frees it).
 */
static int split_words(const where *w, const char *s, size_t n, char *buf, word **words,
                       size_t *nwords)
{
    size_t i = 0, o = 0, k = 0, cap = 0;
    for (;;) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i == n || s[i] == '#')
            break;
        if (k == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            word *nw = realloc(*words, ncap * sizeof *nw);
            if (!nw) {
                fail(w->err, w->errlen, "script:%zu: out of memory", w->line);
                return -1;
            }
            *words = nw;
            cap = ncap;
        }
        word *wd = &(*words)[k++];
        wd->raw = s + i;
        wd->val = buf + o;
        char quote = 0;
        for (; i < n && (quote || !is_blank(s[i])); i++) {
            char c = s[i];
            if (quote == '\'') {
                if (c == '\'')
                    quote = 0;
                else
                    buf[o++] = c;
            } else if (quote == '"') {
                if (c == '"')
                    quote = 0;
                else if (c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
                    buf[o++] = s[++i];
                else
                    buf[o++] = c;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '\\' && i + 1 < n) {
                buf[o++] = s[++i];
            } else {
                buf[o++] = c;
            }
        }
        wd->rawlen = (size_t)(s + i - wd->raw);
        buf[o++] = '\0';
        if (quote) {
            fail_at(w, wd->raw, wd->rawlen, "unterminated quote");
            return -1;
        }
    }
    *nwords = k;
    return 0;
}

/* Applies the options of one directive line (the text after the prefix). */
static int directive(where *w, jobspec *j, const char *s, size_t n)
{
    char *buf = malloc(2 * n + 1);
    word *words = NULL;
    size_t nw = 0;
    int rc = -1;
    if (!buf) {
        fail(w->err, w->errlen, "script:%zu: out of memory", w->line);
        goto out;
    }
    if (split_words(w, s, n, buf, &words, &nw) != 0)
        goto out;

    for (size_t i = 0; i < nw;) {
        char *v = words[i].val;
        const char *name, *val = NULL;
        char letter[2] = {0, 0};
        size_t used = 1;
        if (v[0] == '-' && v[1] == '-' && v[2] != '\0') {
            /* --opt=value, --opt value, --flag */
            char *eq = strchr(v + 2, '=');
            name = v + 2;
            if (eq) {
                *eq = '\0';
                val = eq + 1;
            }
        } else if (v[0] == '-' && ((v[1] >= 'A' && v[1] <= 'Z') || (v[1] >= 'a' && v[1] <= 'z'))) {
            /* -X value, -Xvalue, -H */
            letter[0] = v[1];
            name = letter;
            if (v[2] != '\0')
                val = v + 2;
        } else {
            char q[4 * 32 + 16];
            char reason[JOBSPEC_ERRLEN];
            jobspec_quote(q, sizeof q, v, strlen(v), 32);
            fail(reason, sizeof reason, "unexpected %s (an option starts with - or --)", q);
            fail_at(w, words[i].raw, words[i].rawlen, reason);
            goto out;
        }
        /* Real scripts have tens of options; a bound keeps a 1 MiB script of
         * "--array=0-99999" repeated from costing minutes. */
        if (++w->noptions > JOBSPEC_DIRECTIVES_MAX) {
            fail(w->err, w->errlen, "script:%zu: more than %d options in directives", w->line,
                 JOBSPEC_DIRECTIVES_MAX);
            goto out;
        }
        /* A value option without an attached value takes the next word,
         * whatever it looks like, as getopt does. */
        if (!val && jobspec_option_takes_value(name) == 1 && i + 1 < nw) {
            val = words[i + 1].val;
            used = 2;
        }
        char reason[JOBSPEC_ERRLEN];
        if (jobspec_apply_option(j, name, val, reason, sizeof reason) != 0) {
            const word *last = &words[i + used - 1];
            fail_at(w, words[i].raw, (size_t)(last->raw + last->rawlen - words[i].raw), reason);
            goto out;
        }
        i += used;
    }
    rc = 0;
out:
    free(buf);
    free(words);
    return rc;
}

/* Line number (1-based) of byte offset off. */
static size_t line_of(const char *text, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* The directive prefix at the start of a line, or NULL: the prefix must be
 * followed by a blank or the end, so "#SBATCHX" stays a comment. */
static const char *directive_prefix(const char *s, size_t n, size_t *plen)
{
    static const char *const prefixes[] = {"#SBATCH", "#FLEET"};
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(prefixes[i]);
        if (n >= pl && memcmp(s, prefixes[i], pl) == 0 && (n == pl || is_blank(s[pl]))) {
            *plen = pl;
            return prefixes[i];
        }
    }
    return NULL;
}

int batch_parse(const char *text, size_t len, jobspec *j, char *err, size_t errlen)
{
    fail(err, errlen, "%s", "");
    if (!j || (!text && len > 0)) {
        fail(err, errlen, "script: invalid arguments");
        return -1;
    }
    if (len > JOBSPEC_SCRIPT_MAX) {
        fail(err, errlen, "script: larger than 1 MiB");
        return -1;
    }
    if (len < 2 || text[0] != '#' || text[1] != '!') {
        fail(err, errlen, "script:1: a batch script must start with #! (e.g. #!/bin/bash)");
        return -1;
    }
    /* The script travels as a C string and inside JSON: it can hold
     * neither a NUL byte nor bytes that are not UTF-8. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        fail(err, errlen, "script:%zu: contains a NUL byte", line_of(text, (size_t)(nul - text)));
        return -1;
    }
    size_t bad = jobspec_utf8_check(text, len);
    if (bad < len) {
        fail(err, errlen, "script:%zu: not valid UTF-8", line_of(text, bad));
        return -1;
    }

    where w = {err, errlen, 0, NULL, 0};
    for (size_t pos = 0; pos < len;) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        w.line++;
        if (n > 0 && s[n - 1] == '\r')
            n--; /* scripts edited on Windows */

        size_t b = 0;
        while (b < n && is_blank(s[b]))
            b++;
        if (b == n)
            continue; /* blank */
        if (s[b] != '#')
            break; /* the first command: sbatch reads no further */
        size_t plen;
        w.prefix = directive_prefix(s, n, &plen);
        if (w.prefix && directive(&w, j, s + plen, n - plen) != 0)
            return -1;
    }

    char *copy = malloc(len + 1);
    if (!copy) {
        fail(err, errlen, "script: out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(j->script);
    j->script = copy;
    return 0;
}
