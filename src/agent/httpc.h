/*
 * httpc: a small asynchronous HTTP/1.1 client on libuv, for the agent's
 * syncs with fleetd over a Unix socket ("unix:PATH") or TCP ("HOST:PORT").
 *
 * One request per connection at a time (no pipelining); several requests
 * run at once on several connections, and finished connections are kept
 * (up to HTTPC_IDLE_MAX) for the next request. A request that fails on a
 * kept connection before any answer (the server closed it meanwhile) is
 * sent once more on a fresh one. Bodies need a Content-Length, or end with
 * the connection.
 */
#ifndef GPUFLEET_AGENT_HTTPC_H
#define GPUFLEET_AGENT_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTPC_IDLE_MAX 4
#define HTTPC_HEAD_MAX (64 * 1024)

typedef struct httpc httpc;

typedef struct httpc_resp {
    int status;
    const char *head;   /* the status line and headers, NUL-terminated */
    const char *body;   /* len bytes, NUL-terminated */
    size_t len;
} httpc_resp;

/* Called once per request: resp set and err NULL when an answer came (any
 * status), else resp NULL and err says why ("connection refused", "timed
 * out after 31000 ms", "closed"). resp lives until the callback returns. */
typedef void (*httpc_cb)(void *arg, const httpc_resp *resp, const char *err);

/* A client for target "unix:PATH" or "HOST:PORT" ("[V6ADDR]:PORT"). NULL with
 * a message in err when target is malformed. Resolution happens at each
 * connection. body_max bounds an answer's body. */
httpc *httpc_create(uv_loop_t *loop, const char *target, size_t body_max, char *err,
                    size_t errlen);

/* POST path with headers (lines "Name: value\r\n", may be "") and body;
 * takes body (malloc'd, freed by the client). The request fails after
 * timeout_ms without a complete answer. */
void httpc_post(httpc *c, const char *path, const char *headers, char *body, size_t len,
                uint64_t timeout_ms, httpc_cb cb, void *arg);

/* Requests in flight. */
int httpc_busy(const httpc *c);

/* Fails every request in flight (callbacks with err "closed"), closes every
 * connection, and frees c once libuv has closed its handles (run the loop). */
void httpc_destroy(httpc *c);

/* The value of header name (case-insensitive) in resp, without surrounding
 * blanks, copied into out; NULL when absent or longer than outlen - 1. */
const char *httpc_header(const httpc_resp *resp, const char *name, char *out, size_t outlen);

#endif
