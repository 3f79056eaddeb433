/*
 * table: aligned text tables for listings, printed as the rows come.
 *
 * The first TABLE_SAMPLE rows are held to size the columns (each at least
 * its title, at most its max); every later row is printed at once with
 * those widths, so a listing of 100,000 rows costs linear time and the
 * memory of the sample only. A cell wider than the column's max is cut to
 * it; a later cell wider than the sample's widest widens its column from
 * that row on; the last column is never padded or cut. Widths count UTF-8
 * characters, not bytes.
 */
#ifndef GPUFLEET_TABLE_H
#define GPUFLEET_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS 16
#define TABLE_SAMPLE 1000

typedef struct table_col {
    const char *title;
    int max;   /* widest the column grows; 0 = as wide as its widest cell */
    int right; /* right-aligned (numbers) */
} table_col;

typedef struct table {
    FILE *out;
    const table_col *cols;
    int ncols;
    int width[TABLE_MAX_COLS];
    char **held; /* sample rows: cells joined by '\0' */
    size_t nheld;
    int streaming;
    size_t rows;
} table;

void table_init(table *t, const table_col *cols, int ncols, FILE *out);
/* Adds a row of ncols cells (NULL cells print "-"). */
void table_row(table *t, const char *const *cells);
/* Prints what is held (the header too, even for no rows) and frees it. */
void table_end(table *t);

#endif
