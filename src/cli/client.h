/*
 * client: what every fleet command that talks to fleetd shares.
 *
 *   - where fleetd is: --socket PATH / FLEET_SOCKET (Unix socket, the default
 *     /run/gpufleet/fleetd.sock), or --url http://HOST:PORT / FLEET_URL (TCP)
 *     with --token / FLEET_TOKEN sent as "Authorization: Bearer";
 *   - one HTTP/1.1 request at a time over one keep-alive connection per
 *     command (a small built-in client: fleet starts in a millisecond, where
 *     linking libcurl and its 30 libraries cost more than the request);
 *   - the server's errors, { "error": { code, message, field } }, printed as
 *     "fleet CMD: FIELD: MESSAGE";
 *   - a small option scanner ("--opt value", "--opt=value", "-X value",
 *     "-Xvalue", "--" ends options; options and operands in any order);
 *   - human-readable durations and dates.
 *
 * Exit codes, which scripts rely on (FLEET_EXIT_*): 0 success, 1 the server
 * refused or the job or node does not exist, 2 usage error, 3 fleetd cannot
 * be reached.
 */
#ifndef GPUFLEET_CLIENT_H
#define GPUFLEET_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
    FLEET_EXIT_OK = 0,
    FLEET_EXIT_REFUSED = 1,
    FLEET_EXIT_USAGE = 2,
    FLEET_EXIT_UNREACHABLE = 3,
};

#define FLEET_DEFAULT_SOCKET "/run/gpufleet/fleetd.sock"

typedef struct fleet_conn {
    const char *cmd;    /* "fleet submit": the prefix of every message */
    const char *socket; /* Unix socket path (when url is NULL) */
    const char *url;    /* base URL "http://HOST:PORT" or NULL */
    const char *token;  /* bearer token (TCP only) or NULL */
    int socket_given;   /* --socket on the command line */
    int fd;             /* the connection, -1 until the first request */
} fleet_conn;

typedef struct fleet_resp {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated; len bytes */
    size_t len, cap;
} fleet_resp;

/* The connection options and exit codes, for every command's --help. */
extern const char fleet_conn_help[];

/* Defaults from the environment (FLEET_SOCKET, FLEET_URL, FLEET_TOKEN). */
void conn_init(fleet_conn *c, const char *cmd);
void conn_close(fleet_conn *c);

/* Sends METHOD path (path begins "/v1/"; query already escaped) with an
 * optional JSON body (NULL: none). On return *r holds the answer, whatever
 * its status; returns 0. When no answer comes (fleetd not running, socket
 * missing, connection lost), prints "fleet: cannot reach fleetd at ...",
 * and returns FLEET_EXIT_UNREACHABLE. r is always to be freed with
 * resp_free(). */
int conn_request(fleet_conn *c, const char *method, const char *path, const char *body,
                 fleet_resp *r);

/* For an answer with status >= 400: prints the server's message ("fleet CMD:
 * FIELD: MESSAGE", or the raw status when the body is not an error object)
 * and returns FLEET_EXIT_REFUSED. */
int conn_report_error(const fleet_conn *c, const fleet_resp *r);

/* conn_request, then conn_report_error for a status >= 400; on success
 * (2xx) parses the body as a JSON object into *out (may be NULL: no parse).
 * Returns an exit code: 0, FLEET_EXIT_REFUSED, FLEET_EXIT_UNREACHABLE. */
int conn_call(fleet_conn *c, const char *method, const char *path, const char *body,
              fleet_resp *r, json_t **out);

void resp_free(fleet_resp *r);

/* URL-escapes s into a malloc'd string (never NULL: aborts when memory runs out). */
char *conn_escape(const char *s);

/* Writes the server's JSON body unchanged on stdout (a newline added if it
 * has none). */
void print_body(const fleet_resp *r);

/* The user name the server knows this client as (GET /v1/status: you.user),
 * malloc'd, for --me. Returns 0, or an exit code (message printed). */
int conn_whoami(fleet_conn *c, char **user);

/* ---- options ----------------------------------------------------------- */

typedef struct cli_opt {
    const char *name; /* long name without dashes */
    char letter;      /* short option or 0 */
    int has_arg;      /* 1: takes a value */
    int id;
} cli_opt;

enum { OPT_END = 0, OPT_OPTION = 1, OPT_OPERAND = 2, OPT_ERROR = -1 };
/* ids the scanner returns itself */
enum { OPT_ID_HELP = -100, OPT_ID_SOCKET, OPT_ID_URL, OPT_ID_TOKEN, OPT_ID_OTHER };

typedef struct cli_scan {
    int argc;
    char **argv;
    int i;
    int no_more_options;
    const char *cmd;
    /* an option not in the table: when set, unknown options are asked here
     * (1 takes a value, 0 flag, -1 unknown) and returned as OPT_ID_OTHER */
    int (*other_takes_value)(const char *name);
    /* the option just returned, as written ("--time", "-t") and by name */
    char written[80];
    char name[64];
} cli_scan;

void cli_scan_init(cli_scan *s, const char *cmd, int argc, char **argv);

/* Next item: OPT_OPTION with *id and *val (NULL for a flag), OPT_OPERAND
 * with *val, OPT_END, or OPT_ERROR after printing a usage message naming
 * the option. --help/-h, --socket, --url and --token are always known;
 * --socket, --url and --token are applied to c at once and not returned. */
int cli_next(cli_scan *s, const cli_opt *opts, fleet_conn *c, int *id, const char **val);

/* A positive job id ("123"). Returns 0, or -1 after printing a usage message. */
int parse_job_id(const char *cmd, const char *s, int64_t *id);
/* A positive integer for option opt. Returns 0, or -1 after a message. */
int parse_count(const char *cmd, const char *opt, const char *s, int64_t *v);

/* ---- formatting -------------------------------------------------------- */

/* "45s", "5m03s", "2h05m", "3d04h"; "-" for a negative value. */
void fmt_dur(int64_t seconds, char *buf, size_t len);
/* "2026-11-23 14:05" in local time; "-" for t <= 0. */
void fmt_time(int64_t t, char *buf, size_t len);

/* JSON accessors that tolerate a missing key or a wrong type: "" / 0. */
const char *jstr(const json_t *o, const char *key);
int64_t jint(const json_t *o, const char *key);
/* 1 when the key is present and not null */
int jhas(const json_t *o, const char *key);

/*
 * One element of a listing: a flat JSON object, read without building a
 * jansson tree (the fast path: no escapes, no nested values, integers),
 * else through jansson. Strings are NUL-terminated; they live as long as
 * the callback runs.
 */
#define JROW_MAX 64
typedef struct jrow_field {
    const char *key;
    size_t klen;
    int kind; /* JR_STR, JR_INT, JR_TRUE, JR_FALSE, JR_NULL, JR_OTHER */
    const char *s;
    int64_t i;
} jrow_field;
enum { JR_STR = 1, JR_INT, JR_TRUE, JR_FALSE, JR_NULL, JR_OTHER };
typedef struct jrow {
    jrow_field f[JROW_MAX];
    int n;
} jrow;

const char *row_str(const jrow *r, const char *key); /* "" when missing or not a string */
int64_t row_int(const jrow *r, const char *key);     /* 0 when missing; true is 1 */
int row_has(const jrow *r, const char *key);         /* present and not null */

/*
 * Walks a JSON object body {"KEY": [ELEM, ELEM, ...], ...} and calls fn on
 * each element of the array under key, one element read at a time, so a
 * listing of 100,000 jobs is printed as it is read, in linear time and
 * with one element in memory. The body is modified (NULs written after
 * strings). Returns the number of elements, or -1 when the body is not such
 * an object (nothing or part of it was visited).
 */
long json_each(char *body, size_t len, const char *key,
               void (*fn)(const jrow *row, void *arg), void *arg);

#endif
