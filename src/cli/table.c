/* table.c: see table.h. */
#include "table.h"

#include <stdlib.h>
#include <string.h>

/* characters in s (UTF-8), and the byte length of its first `chars` characters */
static int u8_len(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t u8_prefix(const char *s, int chars)
{
    size_t i = 0;
    int n = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (n == chars)
                break;
            n++;
        }
    }
    return i;
}

void table_init(table *t, const table_col *cols, int ncols, FILE *out)
{
    memset(t, 0, sizeof *t);
    t->out = out;
    t->cols = cols;
    t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
    for (int i = 0; i < t->ncols; i++)
        t->width[i] = u8_len(cols[i].title);
}

static void put_row(table *t, const char *const *cells)
{
    FILE *f = t->out;
    int pending = 0; /* spaces owed before the next cell */
    for (int i = 0; i < t->ncols; i++) {
        const char *s = cells[i] && *cells[i] ? cells[i] : "-";
        int last = i == t->ncols - 1;
        int n = u8_len(s);
        size_t bytes = strlen(s);
        if (!last && t->cols[i].max && n > t->cols[i].max) {
            bytes = u8_prefix(s, t->cols[i].max);
            n = t->cols[i].max;
        }
        if (!last && n > t->width[i])
            t->width[i] = n; /* wider than the sample: later rows line up again */
        int pad = t->width[i] > n ? t->width[i] - n : 0;
        if (t->cols[i].right) {
            pending += pad;
            pad = 0;
        }
        for (; pending > 0; pending--)
            fputc(' ', f);
        fwrite(s, 1, bytes, f);
        if (last)
            break;
        pending = pad + 2;
    }
    fputc('\n', f);
}

static void flush_held(table *t)
{
    const char *titles[TABLE_MAX_COLS];
    for (int i = 0; i < t->ncols; i++)
        titles[i] = t->cols[i].title;
    put_row(t, titles);
    for (size_t r = 0; r < t->nheld; r++) {
        const char *cells[TABLE_MAX_COLS];
        const char *p = t->held[r];
        for (int i = 0; i < t->ncols; i++) {
            cells[i] = p;
            p += strlen(p) + 1;
        }
        put_row(t, cells);
        free(t->held[r]);
    }
    free(t->held);
    t->held = NULL;
    t->nheld = 0;
    t->streaming = 1;
}

void table_row(table *t, const char *const *cells)
{
    t->rows++;
    if (t->streaming) {
        put_row(t, cells);
        return;
    }
    size_t total = 0;
    for (int i = 0; i < t->ncols; i++) {
        const char *s = cells[i] && *cells[i] ? cells[i] : "-";
        int n = u8_len(s);
        if (t->cols[i].max && n > t->cols[i].max)
            n = t->cols[i].max;
        if (n > t->width[i])
            t->width[i] = n;
        total += strlen(s) + 1;
    }
    if (!t->held) {
        t->held = malloc(TABLE_SAMPLE * sizeof *t->held);
        if (!t->held) {
            fputs("fleet: out of memory\n", stderr);
            exit(1);
        }
    }
    char *row = malloc(total);
    if (!row) {
        fputs("fleet: out of memory\n", stderr);
        exit(1);
    }
    char *p = row;
    for (int i = 0; i < t->ncols; i++) {
        const char *s = cells[i] && *cells[i] ? cells[i] : "-";
        size_t n = strlen(s) + 1;
        memcpy(p, s, n);
        p += n;
    }
    t->held[t->nheld++] = row;
    if (t->nheld == TABLE_SAMPLE)
        flush_held(t);
}

void table_end(table *t)
{
    if (!t->streaming)
        flush_held(t);
    free(t->held);
    t->held = NULL;
}
