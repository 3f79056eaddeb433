/*
 * csvline: the line-level pieces the CSV readers of libtrace share (private
 * to libtrace): spans of the input buffer, "FILE:LINE: " error messages,
 * quoting of bad values for those messages, trimming, splitting at commas,
 * and strict integers.
 */
#ifndef GPUFLEET_CSVLINE_H
#define GPUFLEET_CSVLINE_H

#include <stddef.h>
#include <stdint.h>

/* Anything larger is a typo or garbage, not a real trace value; it also keeps
 * every sum the simulator forms far from int64 overflow. */
#define VALUE_MAX 1000000000000LL

/* A piece of the input buffer; the buffer is never modified or copied. */
typedef struct span {
    const char *p;
    size_t n;
} span;

/* What an error message needs to say where it is. */
typedef struct where {
    const char *fname;
    char *err;
    size_t errlen;
    int64_t line;
} where;

/* Writes "FILE:LINE: " followed by the formatted message. */
void csv_fail(const where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Renders a field for an error message: quoted, at most 32 bytes, control
 * and non-ASCII bytes escaped, so binary input cannot garble a terminal. */
void csv_quote(char *dst, size_t dstlen, span s);
/* Without leading blanks and trailing blanks or '\r'. */
span csv_trim(span s);
/* Splits a line at commas into trimmed fields; stores at most max of them
 * and returns how many there are, so a caller can report a long line. */
size_t csv_split(span line, span *fields, size_t max);
/* The whole span as a decimal integer with an optional sign; -1 on empty
 * input or any other character. Magnitudes beyond VALUE_MAX saturate at
 * VALUE_MAX + 1, so no input can overflow and range checks report them. */
int csv_parse_int(span s, int64_t *out);
/* A '|'-separated pool list must not have empty alternatives ("a||b"):
 * -1 with a message naming field and what, else 0. */
int csv_check_pool_list(const where *w, const char *field, const char *what,
                        const char *pools);

#endif
