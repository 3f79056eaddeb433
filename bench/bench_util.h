/*
 * bench_util.h: what every benchmark of gpufleet shares: clocks, memory
 * figures, the description of the machine it ran on, argument parsing.
 *
 * Header-only (static inline), included by bench/bench_*.c. Linux-specific
 * where it reads /proc; every figure degrades to "unknown" elsewhere.
 */
#ifndef GPUFLEET_BENCH_UTIL_H
#define GPUFLEET_BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* ---- clocks ------------------------------------------------------------ */

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of this process so far. */
static inline double bench_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* CPU seconds of the calling thread (precise, unlike getrusage's ticks on
 * some kernels): on a shared machine it is the figure to trust when the
 * wall clock also counts time spent waiting for a core. */
static inline double bench_thread_cpu(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A warning line when the wall clock ran well ahead of the CPU clock: the
 * process waited for a core, so the machine was busy with other work. */
static inline void bench_contention_note(FILE *out, double wall, double cpu)
{
    if (cpu > 0 && wall > 1.15 * cpu)
        fprintf(out, "  note             wall time is %.0f%% above CPU time: the machine was busy "
                     "with other work; trust the CPU time\n",
                100.0 * (wall / cpu - 1.0));
}

/* ---- memory ------------------------------------------------------------ */

/* Peak resident set size of this process so far, bytes (getrusage). */
static inline int64_t bench_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (int64_t)ru.ru_maxrss * 1024; /* KiB on Linux */
}

/* Current resident set size, bytes (/proc/self/statm), -1 if unknown. */
static inline int64_t bench_cur_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long long size = 0, res = -1;
    int n = fscanf(f, "%lld %lld", &size, &res);
    fclose(f);
    if (n != 2)
        return -1;
    return (int64_t)res * (int64_t)sysconf(_SC_PAGESIZE);
}

/* Bytes the allocator has handed out and not taken back (glibc's
 * mallinfo2: in-use chunks, their headers included), -1 if unknown.
 * Unlike RSS it is exact to the byte and blind to reused free memory. */
static inline int64_t bench_heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)) && \
    !defined(__SANITIZE_ADDRESS__)
    struct mallinfo2 mi = mallinfo2();
    return (int64_t)(mi.uordblks + mi.hblkhd);
#else
    return -1; /* no mallinfo2, or ASan's allocator (which mallinfo2 does not see) */
#endif
}

static inline double bench_mib(int64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* ---- the machine ------------------------------------------------------- */

static inline void bench_cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *c = strchr(line, ':');
        if (!c)
            continue;
        c++;
        while (*c == ' ' || *c == '\t')
            c++;
        c[strcspn(c, "\n")] = '\0';
        snprintf(buf, len, "%s", c);
        break;
    }
    fclose(f);
}

static inline int64_t bench_mem_total(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : (int64_t)kib * 1024;
}

/* The build, as far as the preprocessor can tell: CMake's Release adds
 * -O3 -DNDEBUG, Debug adds -g without optimization. */
static inline const char *bench_build_type(void)
{
#if defined(__SANITIZE_ADDRESS__)
#define BENCH_ASAN " + AddressSanitizer"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_ASAN " + AddressSanitizer"
#endif
#endif
#ifndef BENCH_ASAN
#define BENCH_ASAN ""
#endif
#if defined(__OPTIMIZE__) && defined(NDEBUG)
    return "Release (optimized, NDEBUG)" BENCH_ASAN;
#elif defined(__OPTIMIZE__)
    return "optimized, assertions on" BENCH_ASAN;
#else
    return "Debug (not optimized: timings are meaningless)" BENCH_ASAN;
#endif
}

static inline void bench_print_machine(FILE *out)
{
    char cpu[256];
    bench_cpu_model(cpu, sizeof cpu);
    struct utsname u;
    int have_uname = uname(&u) == 0;
    int64_t mem = bench_mem_total();
    fprintf(out, "machine\n");
    fprintf(out, "  cpu              %s\n", cpu);
    fprintf(out, "  cores            %ld online (%ld configured); the benchmark uses one\n",
            sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF));
    if (mem > 0)
        fprintf(out, "  memory           %.1f GiB\n", (double)mem / (1024.0 * 1024 * 1024));
    else
        fprintf(out, "  memory           unknown\n");
    if (have_uname)
        fprintf(out, "  kernel           %s %s %s\n", u.sysname, u.release, u.machine);
#if defined(__clang__)
    fprintf(out, "  compiler         clang %s\n", __VERSION__);
#elif defined(__GNUC__)
    fprintf(out, "  compiler         gcc %s\n", __VERSION__);
#else
    fprintf(out, "  compiler         %s\n", __VERSION__);
#endif
    fprintf(out, "  build            %s\n", bench_build_type());
}

/* ---- arguments --------------------------------------------------------- */

static inline int bench_parse_i64(const char *prog, const char *opt, const char *s,
                                  int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "%s: %s: expected an integer in [%lld, %lld], got \"%s\"\n", prog,
                opt, (long long)lo, (long long)hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static inline int bench_parse_double(const char *prog, const char *opt, const char *s,
                                     double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "%s: %s: expected a number in [%g, %g], got \"%s\"\n", prog, opt, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorts them in place). */
static inline double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
