/* http.c: libmicrohttpd inside the libuv loop; see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "jsonw.h"

/*
 * Threads: each endpoint's MHD daemon runs its own I/O thread, which only
 * reads requests and writes answers. A complete request is suspended there
 * and handed to the loop thread (a locked queue and a uv_async wake-up);
 * the loop thread, which alone owns the controller's state, runs the
 * handler and resumes the connection once the answer is ready.
 */
typedef struct endpoint {
    http_server *srv;
    struct MHD_Daemon *d;
    int is_unix;
    int listen_fd;
    int active;
} endpoint;

struct http_server {
    uv_loop_t *loop;
    http_options o;
    endpoint ep[2];
    int nep;
    int tcp_port;
    char unix_path[108];
    uv_async_t wake;
    uv_mutex_t lock;
    http_req *qhead, *qtail;   /* complete requests for the loop thread */
};

/* Loop thread: run the handler on every request the I/O threads handed over. */
static void on_wake(uv_async_t *a)
{
    http_server *s = a->data;
    uv_mutex_lock(&s->lock);
    http_req *r = s->qhead;
    s->qhead = s->qtail = NULL;
    uv_mutex_unlock(&s->lock);
    while (r) {
        http_req *next = r->next;
        r->next = NULL;
        if (r->too_large)
            http_reply_error(r, 413, "too_large", NULL, "request body larger than %u bytes",
                             HTTP_MAX_BODY);
        else if (!r->authenticated && strncmp(r->url, "/v1/agent/", 10) != 0)
            /* agents prove themselves per message (a MAC with the cluster
             * key, checked by their handler), not with a user identity */
            http_reply_error(r, 401, "unauthenticated", NULL, "%s", r->auth_error);
        else
            s->o.handler(r, s->o.arg);
        if (!r->suspended) /* answered now; a deferred one resumes later */
            MHD_resume_connection(r->conn);
        r = next;
    }
}

static void uid_name(uint32_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "%s", pw.pw_name);
    else
        snprintf(buf, len, "%u", uid);
}

static void identify(endpoint *e, http_req *r)
{
    r->is_tcp = !e->is_unix;
    if (e->is_unix) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        int32_t pid;
        if (ci && auth_peer_cred(ci->connect_fd, &r->uid, &r->gid, &pid) == 0) {
            r->authenticated = 1;
            r->operator_role = r->uid == 0;
            uid_name(r->uid, r->user, sizeof r->user);
        } else {
            snprintf(r->auth_error, sizeof r->auth_error, "no peer credentials");
        }
        return;
    }
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) {
        snprintf(r->auth_error, sizeof r->auth_error, "a bearer token is required");
        return;
    }
    char err[128];
    if (auth_token_verify(e->srv->o.key, h + 7, (int64_t)time(NULL), r->user, sizeof r->user,
                          &r->uid, &r->operator_role, err, sizeof err) == 0) {
        r->authenticated = 1;
        r->gid = r->uid;
    } else {
        snprintf(r->auth_error, sizeof r->auth_error, "invalid token: %s", err);
    }
}

static enum MHD_Result queue_answer(http_req *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->resp_len, r->resp, MHD_RESPMEM_MUST_FREE);
    r->resp = NULL; /* MHD owns it now */
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (r->xheader_name[0])
        MHD_add_response_header(resp, r->xheader_name, r->xheader_value);
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    endpoint *e = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->conn = conn;
        r->srv = e->srv;
        r->ep = e;
        snprintf(r->method, sizeof r->method, "%s", method);
        r->url = strdup(url);
        identify(e, r);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        /* keep reading a too-large body, discarding it, so the client gets
         * its 413 instead of a reset connection */
        if (!r->too_large && r->len + *upload_size > HTTP_MAX_BODY)
            r->too_large = 1;
        if (!r->too_large) {
            if (r->len + *upload_size + 1 > r->cap) {
                size_t cap = r->cap ? r->cap : 4096;
                while (cap < r->len + *upload_size + 1)
                    cap *= 2;
                char *nb = realloc(r->body, cap);
                if (!nb)
                    return MHD_NO;
                r->body = nb;
                r->cap = cap;
            }
            memcpy(r->body + r->len, upload_data, *upload_size);
            r->len += *upload_size;
            r->body[r->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->answered)
        return queue_answer(r); /* after the resume */
    /* complete: over to the loop thread */
    http_server *s = e->srv;
    MHD_suspend_connection(conn);
    uv_mutex_lock(&s->lock);
    if (s->qtail)
        s->qtail->next = r;
    else
        s->qhead = r;
    s->qtail = r;
    uv_mutex_unlock(&s->lock);
    uv_async_send(&s->wake);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    http_req *r = *con_cls;
    if (!r)
        return;
    free(r->url);
    free(r->body);
    free(r->resp);
    free(r);
    *con_cls = NULL;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket: path too long: %s", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    unlink(path); /* a stale socket of an earlier run */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0666) != 0 ||
        listen(fd, 1024) != 0) {
        snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int listen_tcp(const char *addr, int *port_out, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host) {
        snprintf(err, errlen, "listen: expected HOST:PORT, got \"%s\"", addr);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        snprintf(err, errlen, "listen: bad port in \"%s\"", addr);
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "listen: bad IPv4 address \"%s\"", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port_out = ntohs(sa.sin_port);
    return fd;
}

static int ep_start(http_server *s, endpoint *e, int fd, int is_unix, char *err, size_t errlen)
{
    e->srv = s;
    e->is_unix = is_unix;
    e->listen_fd = fd;
    e->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                                MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL,
                            NULL, on_access, e, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s ? s->o.timeout_s : 30u,
                            MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
    if (!e->d) {
        snprintf(err, errlen, "http: cannot start the server");
        close(fd);
        return -1;
    }
    e->active = 1;
    return 0;
}

http_server *http_server_start(uv_loop_t *loop, const http_options *o, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->o = *o;
    uv_mutex_init(&s->lock);
    uv_async_init(loop, &s->wake, on_wake);
    s->wake.data = s;
    if (o->unix_path) {
        int fd = listen_unix(o->unix_path, err, errlen);
        if (fd < 0 || ep_start(s, &s->ep[s->nep], fd, 1, err, errlen) != 0)
            goto fail;
        s->nep++;
        snprintf(s->unix_path, sizeof s->unix_path, "%s", o->unix_path);
    }
    if (o->tcp_addr) {
        int fd = listen_tcp(o->tcp_addr, &s->tcp_port, err, errlen);
        if (fd < 0 || ep_start(s, &s->ep[s->nep], fd, 0, err, errlen) != 0)
            goto fail;
        s->nep++;
    }
    return s;
fail:
    http_server_stop(s);
    return NULL;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    /* requests handed over but not yet handled: answer them before the
     * daemons go (MHD must not stop with suspended connections) */
    uv_mutex_lock(&s->lock);
    http_req *r = s->qhead;
    s->qhead = s->qtail = NULL;
    uv_mutex_unlock(&s->lock);
    while (r) {
        http_req *next = r->next;
        http_reply_error(r, 503, "shutting_down", NULL, "fleetd is stopping");
        MHD_resume_connection(r->conn);
        r = next;
    }
    for (int i = 0; i < s->nep; i++) {
        endpoint *e = &s->ep[i];
        if (!e->active)
            continue;
        MHD_stop_daemon(e->d);
        close(e->listen_fd);
    }
    uv_close((uv_handle_t *)&s->wake, on_handle_closed);
    if (s->unix_path[0])
        unlink(s->unix_path);
    /* the handle is closed on the next loop turn, before the server is freed */
    uv_run(s->loop, UV_RUN_NOWAIT);
    uv_mutex_destroy(&s->lock);
    free(s);
}

int http_server_tcp_port(const http_server *s)
{
    return s->tcp_port;
}

void http_reply(http_req *r, unsigned status, char *body, size_t len)
{
    free(r->resp);
    r->status = status;
    r->resp = body;
    r->resp_len = len;
    r->answered = 1;
}

void http_reply_error(http_req *r, unsigned status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jsonw w;
    jsonw_init(&w);
    jsonw_obj_open(&w);
    jsonw_key(&w, "error");
    jsonw_obj_open(&w);
    jsonw_kv_str(&w, "code", code);
    jsonw_kv_str(&w, "message", msg);
    if (field)
        jsonw_kv_str(&w, "field", field);
    else
        jsonw_kv_null(&w, "field");
    jsonw_obj_close(&w);
    jsonw_obj_close(&w);
    size_t len;
    char *body = jsonw_finish(&w, &len);
    http_reply(r, status, body, len);
}

void http_reply_header(http_req *r, const char *name, const char *value)
{
    snprintf(r->xheader_name, sizeof r->xheader_name, "%s", name);
    snprintf(r->xheader_value, sizeof r->xheader_value, "%s", value);
}

/* The connection is already suspended while the loop thread holds the
 * request; "suspend" here only says the answer comes later. */
void http_suspend(http_req *r)
{
    r->suspended = 1;
}

void http_resume(http_req *r)
{
    r->suspended = 0;
    MHD_resume_connection(r->conn); /* thread-safe: wakes the I/O thread */
}

const char *http_query(http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}
