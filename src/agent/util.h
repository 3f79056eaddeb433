/*
 * util: what every part of fleet-agent shares and nothing else: logging (one
 * line per event on stderr), allocation that aborts on exhaustion (so call
 * sites stay readable, as in Redis), clocks, whole-file reads and atomic
 * writes, process start times (to tell a live process from a reused pid),
 * and removing a spool directory.
 *
 * No libuv here: the shepherd and the rank starter (plain processes) use it
 * too, and so do the unit tests.
 */
#ifndef GPUFLEET_AGENT_UTIL_H
#define GPUFLEET_AGENT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- logging ------------------------------------------------------------ */

/* The prefix of every line ("fleet-agent", "fleet-agent shepherd 12.0");
 * set once at start. */
void alog_set_prefix(const char *prefix);
/* "2026-03-01T12:00:00.123 PREFIX: message\n" on stderr, written with one
 * write(2) so lines of several processes never interleave. Never pass the
 * key, a MAC or a token. */
void alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- memory: abort on out-of-memory ------------------------------------ */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* snprintf into a fresh malloc'd string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- clocks ------------------------------------------------------------- */

int64_t now_s(void);      /* wall clock, unix seconds */
uint64_t now_ns(void);    /* wall clock, unix nanoseconds */
int64_t mono_ms(void);    /* CLOCK_MONOTONIC, milliseconds */

/* ---- files -------------------------------------------------------------- */

/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer (*len bytes before the NUL; len may be NULL). NULL with errno
 * (EFBIG when larger than max). */
char *file_read(const char *path, size_t max, size_t *len);

/* Writes path atomically: PATH.tmp is written (mode), optionally fsync'ed,
 * then renamed over path; a reader sees the old or the new content, never a
 * part. 0, or -1 with errno (the temporary file removed). */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, int sync);

/* Removes dir and everything under it (no symlink followed). 0, or -1 with
 * errno; ENOENT counts as done. */
int rm_tree(const char *dir);

/* mkdir -p with mode for the directories it makes. 0 or -1 with errno. */
int mkdir_p(const char *path, mode_t mode);

/* ---- processes ---------------------------------------------------------- */

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot): a pid plus its start time names one process for good, even
 * after the pid is reused. 0, or -1 when there is no such process. */
int proc_start_time(pid_t pid, uint64_t *start);

/* 1 when pid is alive (a zombie counts as gone) and started at start; 0
 * otherwise. */
int proc_is(pid_t pid, uint64_t start);

#endif
