/* httpc.c: the agent's HTTP/1.1 client on libuv; see httpc.h. */
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util.h"

enum { HC_CONNECTING, HC_BUSY, HC_IDLE, HC_CLOSING };

typedef struct hreq {
    char *wbuf; /* the whole request: head and body */
    size_t wlen;
    uint64_t timeout_ms;
    httpc_cb cb;
    void *arg;
    int retried;
} hreq;

typedef struct hconn {
    httpc *c;
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } u;
    uv_stream_t *s;
    uv_connect_t creq;
    uv_write_t wreq;
    uv_timer_t timer;
    int state, closes_pending, reused;
    hreq *req;
    char *rbuf;
    size_t rlen, rcap;
    size_t head_len;    /* 0 until the header block is complete */
    long long want;     /* Content-Length, -1: until the connection ends */
    int status, close_after;
    struct hconn *prev, *next;
} hconn;

struct httpc {
    uv_loop_t *loop;
    int is_unix;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char host[256], port[16];
    size_t body_max;
    hconn *conns;       /* open and opening connections */
    int nconns, nbusy, nclosing;
    int destroying;
};

static void conn_start(hconn *h, hreq *q);
static hconn *conn_open(httpc *c, hreq *q);

httpc *httpc_create(uv_loop_t *loop, const char *target, size_t body_max, char *err,
                    size_t errlen)
{
    httpc *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->body_max = body_max;
    if (strncmp(target, "unix:", 5) == 0) {
        c->is_unix = 1;
        if (!target[5] || strlen(target + 5) >= sizeof c->path) {
            snprintf(err, errlen, "%s: bad socket path", target);
            free(c);
            return NULL;
        }
        snprintf(c->path, sizeof c->path, "%s", target + 5);
        return c;
    }
    const char *h = target, *colon;
    size_t hl;
    if (*h == '[') {
        const char *close = strchr(h, ']');
        if (!close || close[1] != ':')
            goto bad;
        h++;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - h);
    }
    if (hl == 0 || hl >= sizeof c->host || !colon[1] || strlen(colon + 1) >= sizeof c->port ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        goto bad;
    memcpy(c->host, h, hl);
    c->host[hl] = '\0';
    snprintf(c->port, sizeof c->port, "%s", colon + 1);
    return c;
bad:
    snprintf(err, errlen, "%s: not unix:PATH or HOST:PORT", target);
    free(c);
    return NULL;
}

int httpc_busy(const httpc *c)
{
    return c->nbusy;
}

/* ---- closing ------------------------------------------------------------ */

static void maybe_free_client(httpc *c)
{
    if (c->destroying && c->nconns == 0 && c->nclosing == 0)
        free(c);
}

static void on_closed(uv_handle_t *hd)
{
    hconn *h = hd->data;
    if (--h->closes_pending > 0)
        return;
    httpc *c = h->c;
    free(h->rbuf);
    free(h);
    c->nclosing--;
    maybe_free_client(c);
}

/* Closes h (its request must have been taken away or failed first). */
static void conn_close(hconn *h)
{
    if (h->state == HC_CLOSING)
        return;
    httpc *c = h->c;
    if (h->state == HC_BUSY || h->state == HC_CONNECTING)
        c->nbusy--;
    h->state = HC_CLOSING;
    if (h->prev)
        h->prev->next = h->next;
    else
        c->conns = h->next;
    if (h->next)
        h->next->prev = h->prev;
    c->nconns--;
    c->nclosing++;
    h->closes_pending = 2;
    uv_close((uv_handle_t *)&h->timer, on_closed);
    uv_close((uv_handle_t *)h->s, on_closed);
}

static void req_free(hreq *q)
{
    free(q->wbuf);
    free(q);
}

/* The request of h failed with err: retried once on a fresh connection when
 * a kept connection died before answering, else reported. h is closed. */
static void conn_fail(hconn *h, const char *err)
{
    hreq *q = h->req;
    h->req = NULL;
    int retry = q && h->reused && h->rlen == 0 && !q->retried && !h->c->destroying;
    httpc *c = h->c;
    conn_close(h);
    if (!q)
        return;
    if (retry) {
        q->retried = 1;
        conn_open(c, q);
        return;
    }
    q->cb(q->arg, NULL, err);
    req_free(q);
}

/* ---- answers ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    hconn *h = hd->data;
    (void)suggested;
    if (h->rcap - h->rlen < 16384 + 1) {
        h->rcap = h->rcap ? h->rcap * 2 : 65536;
        h->rbuf = xrealloc(h->rbuf, h->rcap);
    }
    buf->base = h->rbuf + h->rlen;
    buf->len = h->rcap - h->rlen - 1; /* room for a NUL */
}

/* Parses the header block once complete: 1 complete, 0 not yet, -1 bad. */
static int parse_head(hconn *h)
{
    h->rbuf[h->rlen] = '\0';
    char *end = strstr(h->rbuf, "\r\n\r\n");
    if (!end)
        return h->rlen > HTTPC_HEAD_MAX ? -1 : 0;
    h->head_len = (size_t)(end - h->rbuf) + 4;
    if (strncmp(h->rbuf, "HTTP/1.", 7) != 0 || h->rlen < 12)
        return -1;
    h->status = (int)strtol(h->rbuf + 9, NULL, 10);
    h->want = -1;
    h->close_after = strncmp(h->rbuf, "HTTP/1.0", 8) == 0;
    for (char *line = strstr(h->rbuf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            h->want = strtoll(line + 15, NULL, 10);
            if (h->want < 0)
                return -1;
        } else if (strncasecmp(line, "Connection:", 11) == 0) {
            char *eol = strstr(line, "\r\n");
            char *cl = strcasestr(line, "close");
            if (cl && cl < eol)
                h->close_after = 1;
        } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            char *eol = strstr(line, "\r\n");
            char *ch = strcasestr(line, "chunked");
            if (ch && ch < eol)
                return -1; /* fleetd answers with Content-Length */
        }
    }
    if (h->want < 0)
        h->close_after = 1;
    return 1;
}

/* The answer of h is complete: hand it over, keep or close h. */
static void conn_done(hconn *h)
{
    httpc *c = h->c;
    hreq *q = h->req;
    h->req = NULL;
    uv_timer_stop(&h->timer);
    char *buf = h->rbuf;
    size_t blen = h->rlen - h->head_len;
    if (h->want >= 0 && (long long)blen > h->want)
        h->close_after = 1; /* more than announced: do not trust the connection */
    if (h->want >= 0)
        blen = (size_t)h->want;
    char *head = xmalloc(h->head_len + 1);
    memcpy(head, buf, h->head_len);
    head[h->head_len] = '\0';
    buf[h->head_len + blen] = '\0';
    httpc_resp r = {.status = h->status, .head = head, .body = buf + h->head_len, .len = blen};
    /* the buffer now belongs to this answer; h starts afresh */
    h->rbuf = NULL;
    h->rlen = h->rcap = h->head_len = 0;
    int idle = 0;
    for (hconn *k = c->conns; k; k = k->next)
        idle += k->state == HC_IDLE;
    if (h->close_after || c->destroying || idle >= HTTPC_IDLE_MAX) {
        conn_close(h);
    } else {
        h->state = HC_IDLE;
        c->nbusy--;
    }
    q->cb(q->arg, &r, NULL);
    req_free(q);
    free(head);
    free(buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    hconn *h = s->data;
    (void)buf;
    if (h->state == HC_CLOSING)
        return;
    if (n < 0) {
        if (h->state == HC_IDLE) {
            conn_close(h);
        } else if (n == UV_EOF && h->head_len && h->want < 0) {
            conn_done(h); /* a body delimited by the end of the connection */
        } else {
            char why[128];
            snprintf(why, sizeof why, "%s", n == UV_EOF ? "connection closed by fleetd"
                                                        : uv_strerror((int)n));
            conn_fail(h, why);
        }
        return;
    }
    if (n == 0)
        return;
    if (h->state != HC_BUSY) {
        conn_close(h); /* bytes nobody asked for */
        return;
    }
    h->rlen += (size_t)n;
    if (!h->head_len) {
        int rc = parse_head(h);
        if (rc < 0) {
            conn_fail(h, "malformed answer");
            return;
        }
        if (rc == 0)
            return;
    }
    if (h->want >= 0 && (size_t)h->want > h->c->body_max) {
        conn_fail(h, "answer too large");
        return;
    }
    if (h->want < 0 && h->rlen - h->head_len > h->c->body_max) {
        conn_fail(h, "answer too large");
        return;
    }
    if (h->want >= 0 && h->rlen - h->head_len >= (size_t)h->want)
        conn_done(h);
}

/* ---- requests ----------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
    hconn *h = t->data;
    char why[64];
    snprintf(why, sizeof why, "no answer within %llu ms",
             (unsigned long long)(h->req ? h->req->timeout_ms : 0));
    if (h->req)
        h->req->retried = 1; /* the server may have it: do not send it again */
    conn_fail(h, why);
}

static void on_write(uv_write_t *w, int status)
{
    hconn *h = w->data;
    if (status < 0 && h->state == HC_BUSY)
        conn_fail(h, uv_strerror(status));
}

static void conn_start(hconn *h, hreq *q)
{
    h->req = q;
    h->state = HC_BUSY;
    h->rlen = h->head_len = 0;
    uv_timer_start(&h->timer, on_timeout, q->timeout_ms, 0);
    uv_buf_t b = uv_buf_init(q->wbuf, (unsigned)q->wlen);
    h->wreq.data = h;
    int rc = uv_write(&h->wreq, h->s, &b, 1, on_write);
    if (rc == 0)
        rc = uv_read_start(h->s, on_alloc, on_read);
    if (rc < 0 && rc != UV_EALREADY)
        conn_fail(h, uv_strerror(rc));
}

static void on_connect(uv_connect_t *cr, int status)
{
    hconn *h = cr->data;
    if (h->state == HC_CLOSING)
        return;
    if (status < 0) {
        h->reused = 0;
        char why[128];
        snprintf(why, sizeof why, "%s", uv_strerror(status));
        conn_fail(h, why);
        return;
    }
    if (h->c->destroying) {
        conn_fail(h, "closed");
        return;
    }
    conn_start(h, h->req);
}

/* A new connection for q; q fails (callback) when it cannot even begin. */
static hconn *conn_open(httpc *c, hreq *q)
{
    hconn *h = xcalloc(1, sizeof *h);
    h->c = c;
    h->req = q;
    h->state = HC_CONNECTING;
    c->nbusy++;
    uv_timer_init(c->loop, &h->timer);
    h->timer.data = h;
    h->next = c->conns;
    if (c->conns)
        c->conns->prev = h;
    c->conns = h;
    c->nconns++;
    h->creq.data = h;
    int rc;
    if (c->is_unix) {
        uv_pipe_init(c->loop, &h->u.pipe, 0);
        h->s = (uv_stream_t *)&h->u.pipe;
        h->s->data = h;
        uv_pipe_connect(&h->creq, &h->u.pipe, c->path, on_connect);
        rc = 0;
    } else {
        uv_tcp_init(c->loop, &h->u.tcp);
        h->s = (uv_stream_t *)&h->u.tcp;
        h->s->data = h;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        int gai = getaddrinfo(c->host, c->port, &hints, &res);
        if (gai != 0) {
            char why[300];
            snprintf(why, sizeof why, "%s: %s", c->host, gai_strerror(gai));
            conn_fail(h, why);
            return NULL;
        }
        uv_tcp_nodelay(&h->u.tcp, 1);
        rc = uv_tcp_connect(&h->creq, &h->u.tcp, res->ai_addr, on_connect);
        freeaddrinfo(res);
    }
    if (rc < 0) {
        conn_fail(h, uv_strerror(rc));
        return NULL;
    }
    uv_timer_start(&h->timer, on_timeout, q->timeout_ms, 0);
    return h;
}

void httpc_post(httpc *c, const char *path, const char *headers, char *body, size_t len,
                uint64_t timeout_ms, httpc_cb cb, void *arg)
{
    if (c->destroying) {
        free(body);
        return;
    }
    hreq *q = xcalloc(1, sizeof *q);
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: fleetd\r\nUser-Agent: fleet-agent/0.1\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                      path, len);
    size_t xl = strlen(headers);
    q->wlen = (size_t)hl + xl + 2 + len;
    q->wbuf = xmalloc(q->wlen);
    memcpy(q->wbuf, head, (size_t)hl);
    memcpy(q->wbuf + hl, headers, xl);
    memcpy(q->wbuf + hl + xl, "\r\n", 2);
    if (len)
        memcpy(q->wbuf + hl + xl + 2, body, len);
    free(body);
    q->timeout_ms = timeout_ms;
    q->cb = cb;
    q->arg = arg;
    for (hconn *h = c->conns; h; h = h->next) {
        if (h->state == HC_IDLE) {
            c->nbusy++;
            h->reused = 1;
            conn_start(h, q);
            return;
        }
    }
    conn_open(c, q);
}

void httpc_destroy(httpc *c)
{
    if (!c)
        return;
    c->destroying = 1;
    while (c->conns) {
        hconn *h = c->conns;
        if (h->req)
            conn_fail(h, "closed");
        else
            conn_close(h);
    }
    maybe_free_client(c);
}

const char *httpc_header(const httpc_resp *resp, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = strstr(resp->head, "\r\n");
    while (p && p[2] && !(p[2] == '\r' && p[3] == '\n')) {
        const char *line = p + 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *e = eol;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if ((size_t)(e - v) >= outlen)
                return NULL;
            memcpy(out, v, (size_t)(e - v));
            out[e - v] = '\0';
            return out;
        }
        p = eol;
    }
    return NULL;
}
