/*
 * http: the API transport of fleetd. libmicrohttpd reads and writes on its
 * own I/O thread; handlers run on fleetd's libuv loop thread, the only one
 * that touches state. On a Unix socket (identity from the kernel:
 * SO_PEERCRED) and optionally on TCP (identity from a bearer token).
 *
 * One request = one http_req. The server reads the whole body (bounded),
 * authenticates, then calls the handler once. The handler answers at once
 * (http_reply) or suspends the request (http_suspend) and answers later,
 * e.g. after the group commit that makes a submission durable, with
 * http_reply followed by http_resume. Slow clients cost nothing: every
 * socket is non-blocking and served by events.
 */
#ifndef GPUFLEET_HTTP_H
#define GPUFLEET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_MAX_BODY (2u << 20) /* 2 MiB: a batch script is at most 1 MiB */

typedef struct http_server http_server;

typedef struct http_req {
    struct MHD_Connection *conn;
    http_server *srv;
    void *ep;               /* the endpoint it came through */
    char method[8];
    char *url;
    char *body;
    size_t len, cap;
    int too_large;
    /* identity: from SO_PEERCRED on the Unix socket, from the token on TCP */
    int is_tcp;             /* came through the TCP endpoint */
    int authenticated;
    uint32_t uid, gid;
    char user[64];
    int operator_role;      /* set by the server for uid 0 and token role=operator */
    char auth_error[192];
    /* the answer */
    int answered;
    int suspended;
    unsigned status;
    char *resp;
    size_t resp_len;
    char xheader_name[32];  /* one extra response header (http_reply_header) */
    char xheader_value[128];
    void *app_data;         /* the handler's, while suspended */
    struct http_req *next;  /* the handler's list link, while suspended */
} http_req;

typedef void (*http_handler_fn)(http_req *r, void *arg);

typedef struct http_options {
    const char *unix_path;  /* NULL: no Unix socket */
    const char *tcp_addr;   /* "HOST:PORT" or NULL */
    const uint8_t *key;     /* cluster key, to verify bearer tokens (32 bytes) */
    http_handler_fn handler;
    void *arg;
    unsigned timeout_s;     /* idle connection timeout */
} http_options;

/* Starts listening. Returns NULL with a message on error. */
http_server *http_server_start(uv_loop_t *loop, const http_options *o, char *err, size_t errlen);
/* Stops listening and frees the server; suspended requests are dropped. */
void http_server_stop(http_server *s);
/* The bound TCP port (useful with port 0), or 0. */
int http_server_tcp_port(const http_server *s);

/* Answer with a body (taken: malloc'd, freed by the server) and a status. */
void http_reply(http_req *r, unsigned status, char *body, size_t len);
/* Answer with { "error": { "code", "message", "field" } }. field may be NULL. */
void http_reply_error(http_req *r, unsigned status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds one header to the answer (e.g. the MAC of an agent reply). */
void http_reply_header(http_req *r, const char *name, const char *value);
void http_suspend(http_req *r);
void http_resume(http_req *r);

/* Query string and header lookup (NULL if absent). */
const char *http_query(http_req *r, const char *key);
const char *http_header(http_req *r, const char *key);

#endif
