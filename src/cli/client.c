/* client.c: talking to fleetd, options, formatting; see client.h. */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define USER_AGENT "fleet/0.1"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("fleet: out of memory\n", stderr);
        exit(FLEET_EXIT_REFUSED);
    }
    return p;
}

/* ---- connection -------------------------------------------------------- */

const char fleet_conn_help[] =
    "\nconnection (every command):\n"
    "  --socket PATH       fleetd's Unix socket (env FLEET_SOCKET; default " FLEET_DEFAULT_SOCKET
    ")\n"
    "  --url URL           fleetd over TCP, http://HOST:PORT (env FLEET_URL)\n"
    "  --token TOKEN       bearer token for --url (env FLEET_TOKEN)\n"
    "\nexit status: 0 done, 1 refused by fleetd or not found, 2 usage error,\n"
    "3 fleetd cannot be reached\n";

void conn_init(fleet_conn *c, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    const char *s = getenv("FLEET_SOCKET");
    c->socket = s && *s ? s : FLEET_DEFAULT_SOCKET;
    const char *u = getenv("FLEET_URL");
    c->url = u && *u ? u : NULL;
    const char *t = getenv("FLEET_TOKEN");
    c->token = t && *t ? t : NULL;
    c->fd = -1;
}

void conn_close(fleet_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void resp_free(fleet_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void body_append(fleet_resp *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            fputs("fleet: out of memory\n", stderr);
            exit(FLEET_EXIT_REFUSED);
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
}

static const char *where(const fleet_conn *c)
{
    return c->url ? c->url : c->socket;
}

/* Connects to fleetd: the Unix socket, or HOST:PORT of an http:// URL.
 * Returns the fd, or -1 with errno's reason in why. */
static int dial(const fleet_conn *c, char *why, size_t whylen)
{
    if (!c->url) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(c->socket) >= sizeof sa.sun_path) {
            snprintf(why, whylen, "socket path too long");
            return -1;
        }
        memcpy(sa.sun_path, c->socket, strlen(c->socket) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    const char *hp = strncmp(c->url, "http://", 7) == 0 ? c->url + 7 : NULL;
    if (!hp) {
        snprintf(why, whylen, "only http://HOST:PORT URLs are supported");
        return -1;
    }
    char host[256], port[16] = "80";
    size_t hl = strcspn(hp, ":/");
    if (hl == 0 || hl >= sizeof host) {
        snprintf(why, whylen, "no host in the URL");
        return -1;
    }
    memcpy(host, hp, hl);
    host[hl] = '\0';
    if (hp[hl] == ':') {
        size_t pl = strcspn(hp + hl + 1, "/");
        if (pl == 0 || pl >= sizeof port) {
            snprintf(why, whylen, "bad port in the URL");
            return -1;
        }
        memcpy(port, hp + hl + 1, pl);
        port[pl] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whylen, "%s", gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One exchange on an open connection: -1 when the connection failed before
 * any answer (the caller may dial again), -2 on a broken answer, else 0. */
static int exchange(fleet_conn *c, const char *method, const char *path, const char *body,
                    fleet_resp *r)
{
    size_t blen = body ? strlen(body) : 0;
    char head[1024];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " USER_AGENT
                      "\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n%s%s%s\r\n",
                      method, path, blen, c->url && c->token ? "Authorization: Bearer " : "",
                      c->url && c->token ? c->token : "", c->url && c->token ? "\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof head)
        return -2;
    if (send_all(c->fd, head, (size_t)hl) != 0 || (blen && send_all(c->fd, body, blen) != 0))
        return -1;
    /* the status line and headers */
    char buf[65536];
    size_t have = 0;
    char *hend = NULL;
    while (!hend) {
        if (have == sizeof buf - 1)
            return -2;
        ssize_t n = recv(c->fd, buf + have, sizeof buf - 1 - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return have ? -2 : -1;
        have += (size_t)n;
        buf[have] = '\0';
        hend = strstr(buf, "\r\n\r\n");
    }
    if (strncmp(buf, "HTTP/1.", 7) != 0)
        return -2;
    r->status = strtol(buf + 9, NULL, 10);
    long long want = -1;
    int close_after = 0;
    for (char *line = strstr(buf, "\r\n") + 2; line < hend; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            want = strtoll(line + 15, NULL, 10);
        else if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line, "close") &&
                 strcasestr(line, "close") < strstr(line, "\r\n"))
            close_after = 1;
    }
    size_t hsize = (size_t)(hend + 4 - buf);
    body_append(r, buf + hsize, have - hsize);
    /* the body: Content-Length bytes, or everything until the server closes */
    while (want < 0 || (long long)r->len < want) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -2;
        if (n == 0) {
            if (want >= 0)
                return -2;
            close_after = 1;
            break;
        }
        body_append(r, buf, (size_t)n);
    }
    if (close_after)
        conn_close(c);
    return 0;
}

int conn_request(fleet_conn *c, const char *method, const char *path, const char *body,
                 fleet_resp *r)
{
    memset(r, 0, sizeof *r);
    char why[256] = "";
    int rc = -1;
    /* a kept connection the server has since closed fails before any answer:
     * dial again, once */
    for (int attempt = 0; attempt < 2 && rc == -1; attempt++) {
        int reused = c->fd >= 0;
        if (c->fd < 0 && (c->fd = dial(c, why, sizeof why)) < 0)
            break;
        resp_free(r);
        rc = exchange(c, method, path, body, r);
        if (rc != 0) {
            if (!why[0])
                snprintf(why, sizeof why, "%s", rc == -1 ? "connection closed" : "bad answer");
            conn_close(c);
            if (!reused)
                break;
        }
    }
    if (rc != 0) {
        resp_free(r);
        fprintf(stderr, "fleet: cannot reach fleetd at %s: %s; is fleetd running? (set %s)\n",
                where(c), why, c->url ? "FLEET_URL or --url" : "FLEET_SOCKET or --socket");
        return FLEET_EXIT_UNREACHABLE;
    }
    if (!r->body) {
        r->body = xmalloc(1);
        r->body[0] = '\0';
    }
    return 0;
}

int conn_report_error(const fleet_conn *c, const fleet_resp *r)
{
    json_t *o = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
    json_t *e = o ? json_object_get(o, "error") : NULL;
    const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
    if (!msg) {
        /* not one of fleetd's errors: a proxy, or something else entirely */
        size_t n = 0;
        while (r->body && n < r->len && n < 200 && r->body[n] != '\n' && r->body[n] != '\r')
            n++;
        fprintf(stderr, "%s: HTTP %ld from %s%s%.*s\n", c->cmd, r->status, where(c), n ? ": " : "",
                (int)n, r->body ? r->body : "");
        json_decref(o);
        return FLEET_EXIT_REFUSED;
    }
    const char *field = json_string_value(json_object_get(e, "field"));
    const char *code = json_string_value(json_object_get(e, "code"));
    size_t fl = field ? strlen(field) : 0;
    /* the server often names the field itself: "limit: a positive integer" */
    if (fl && !(strncmp(msg, field, fl) == 0 && msg[fl] == ':'))
        fprintf(stderr, "%s: %s: %s", c->cmd, field, msg);
    else
        fprintf(stderr, "%s: %s", c->cmd, msg);
    if (code && strcmp(code, "unauthenticated") == 0 && c->url)
        fprintf(stderr, " (set FLEET_TOKEN or --token)");
    fputc('\n', stderr);
    json_decref(o);
    return FLEET_EXIT_REFUSED;
}

int conn_call(fleet_conn *c, const char *method, const char *path, const char *body,
              fleet_resp *r, json_t **out)
{
    if (out)
        *out = NULL;
    int rc = conn_request(c, method, path, body, r);
    if (rc)
        return rc;
    if (r->status >= 400 || r->status < 200)
        return conn_report_error(c, r);
    if (out) {
        json_error_t je;
        *out = json_loadb(r->body, r->len, 0, &je);
        if (!*out || !json_is_object(*out)) {
            fprintf(stderr, "%s: unexpected answer from fleetd (HTTP %ld): %s\n", c->cmd,
                    r->status, *out ? "not a JSON object" : je.text);
            json_decref(*out);
            *out = NULL;
            return FLEET_EXIT_REFUSED;
        }
    }
    return 0;
}

/* Percent-encoding of everything but RFC 3986's unreserved characters. */
char *conn_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *e = xmalloc(strlen(s) * 3 + 1), *p = e;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9') ||
            *u == '-' || *u == '_' || *u == '.' || *u == '~') {
            *p++ = (char)*u;
        } else {
            *p++ = '%';
            *p++ = hex[*u >> 4];
            *p++ = hex[*u & 15];
        }
    }
    *p = '\0';
    return e;
}

void print_body(const fleet_resp *r)
{
    fwrite(r->body, 1, r->len, stdout);
    if (r->len == 0 || r->body[r->len - 1] != '\n')
        putchar('\n');
}

int conn_whoami(fleet_conn *c, char **user)
{
    fleet_resp r;
    json_t *o;
    *user = NULL;
    int rc = conn_call(c, "GET", "/v1/status", NULL, &r, &o);
    resp_free(&r);
    if (rc)
        return rc;
    const char *u = jstr(json_object_get(o, "you"), "user");
    if (!*u) {
        fprintf(stderr, "%s: --me: fleetd did not say who you are\n", c->cmd);
        json_decref(o);
        return FLEET_EXIT_REFUSED;
    }
    *user = xmalloc(strlen(u) + 1);
    strcpy(*user, u);
    json_decref(o);
    return 0;
}

/* ---- options ----------------------------------------------------------- */

void cli_scan_init(cli_scan *s, const char *cmd, int argc, char **argv)
{
    memset(s, 0, sizeof *s);
    s->cmd = cmd;
    s->argc = argc;
    s->argv = argv;
    s->i = 1; /* argv[0] is the command's name */
}

static const cli_opt builtin_opts[] = {
    {"help", 'h', 0, OPT_ID_HELP},
    {"socket", 0, 1, OPT_ID_SOCKET},
    {"url", 0, 1, OPT_ID_URL},
    {"token", 0, 1, OPT_ID_TOKEN},
};

static const cli_opt *find_opt(const cli_opt *opts, size_t n, const char *name, int is_long)
{
    for (size_t i = 0; i < n && opts[i].name; i++) {
        if (is_long ? strcmp(opts[i].name, name) == 0
                    : (opts[i].letter && opts[i].letter == name[0] && name[1] == '\0'))
            return &opts[i];
    }
    return NULL;
}

int cli_next(cli_scan *s, const cli_opt *opts, fleet_conn *c, int *id, const char **val)
{
    for (;;) {
        *val = NULL;
        if (s->i >= s->argc)
            return OPT_END;
        const char *a = s->argv[s->i++];
        if (s->no_more_options || a[0] != '-' || a[1] == '\0') {
            *val = a; /* "-" is an operand: stdin */
            return OPT_OPERAND;
        }
        if (strcmp(a, "--") == 0) {
            s->no_more_options = 1;
            continue;
        }
        const char *inl = NULL;
        int is_long = a[1] == '-';
        if (is_long) {
            const char *nm = a + 2, *eq = strchr(nm, '=');
            size_t n = eq ? (size_t)(eq - nm) : strlen(nm);
            if (n >= sizeof s->name)
                n = sizeof s->name - 1;
            memcpy(s->name, nm, n);
            s->name[n] = '\0';
            snprintf(s->written, sizeof s->written, "--%s", s->name);
            inl = eq ? eq + 1 : NULL;
        } else {
            s->name[0] = a[1];
            s->name[1] = '\0';
            snprintf(s->written, sizeof s->written, "-%c", a[1]);
            inl = a[2] ? a + 2 : NULL;
        }
        const cli_opt *o = find_opt(builtin_opts, sizeof builtin_opts / sizeof builtin_opts[0],
                                    s->name, is_long);
        if (!o && opts)
            o = find_opt(opts, (size_t)-1, s->name, is_long);
        cli_opt other = {s->name, 0, 0, OPT_ID_OTHER};
        if (!o && s->other_takes_value) {
            int t = s->other_takes_value(s->name);
            if (t >= 0) {
                other.has_arg = t;
                o = &other;
            }
        }
        if (!o) {
            fprintf(stderr, "%s: unknown option %s (see '%s --help')\n", s->cmd, s->written,
                    s->cmd);
            return OPT_ERROR;
        }
        if (o->has_arg) {
            if (inl) {
                *val = inl;
            } else if (s->i < s->argc) {
                *val = s->argv[s->i++];
            } else {
                fprintf(stderr, "%s: %s: needs a value\n", s->cmd, s->written);
                return OPT_ERROR;
            }
        } else if (inl) {
            fprintf(stderr, "%s: %s: takes no value\n", s->cmd, s->written);
            return OPT_ERROR;
        }
        switch (o->id) {
        case OPT_ID_SOCKET:
            if (!**val) {
                fprintf(stderr, "%s: --socket: needs a path\n", s->cmd);
                return OPT_ERROR;
            }
            c->socket = *val;
            c->socket_given = 1;
            c->url = NULL;
            continue;
        case OPT_ID_URL:
            if (strncmp(*val, "http://", 7) != 0 && strncmp(*val, "https://", 8) != 0) {
                fprintf(stderr, "%s: --url: expected http://HOST:PORT, got \"%s\"\n", s->cmd,
                        *val);
                return OPT_ERROR;
            }
            c->url = *val;
            continue;
        case OPT_ID_TOKEN:
            c->token = *val;
            continue;
        default:
            *id = o->id;
            return OPT_OPTION;
        }
    }
}

int parse_job_id(const char *cmd, const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || s[0] == '+' || s[0] == ' ') {
        fprintf(stderr, "%s: not a job id: \"%s\"\n", cmd, s);
        return -1;
    }
    *id = v;
    return 0;
}

int parse_count(const char *cmd, const char *opt, const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x <= 0 || s[0] == '+' || s[0] == ' ') {
        fprintf(stderr, "%s: %s: a positive integer, got \"%s\"\n", cmd, opt, s);
        return -1;
    }
    *v = x;
    return 0;
}

/* ---- formatting -------------------------------------------------------- */

void fmt_dur(int64_t s, char *buf, size_t len)
{
    long long v = (long long)s;
    if (v < 0)
        snprintf(buf, len, "-");
    else if (v < 60)
        snprintf(buf, len, "%llds", v);
    else if (v < 3600)
        snprintf(buf, len, "%lldm%02llds", v / 60, v % 60);
    else if (v < 86400)
        snprintf(buf, len, "%lldh%02lldm", v / 3600, v % 3600 / 60);
    else
        snprintf(buf, len, "%lldd%02lldh", v / 86400, v % 86400 / 3600);
}

void fmt_time(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
        snprintf(buf, len, "-");
}

const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int64_t jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_true(v))
        return 1;
    return 0;
}

int jhas(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v && !json_is_null(v);
}

/* ---- streaming a listing ----------------------------------------------- */

static size_t skip_ws(const char *b, size_t len, size_t p)
{
    while (p < len && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r'))
        p++;
    return p;
}

/* The first byte after the JSON value that starts at p, or 0 when none
 * ends inside the buffer. Brackets are only counted here; each element is
 * then checked in full by jansson. */
static size_t skip_value(const char *b, size_t len, size_t p)
{
    if (p >= len)
        return 0;
    if (b[p] == '"') {
        for (p++; p < len; p++) {
            if (b[p] == '\\')
                p++;
            else if (b[p] == '"')
                return p + 1;
        }
        return 0;
    }
    if (b[p] == '{' || b[p] == '[') {
        size_t depth = 0;
        for (; p < len; p++) {
            char ch = b[p];
            if (ch == '"') {
                size_t e = skip_value(b, len, p);
                if (!e)
                    return 0;
                p = e - 1;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return 0;
    }
    size_t start = p;
    while (p < len && !strchr(",}] \t\r\n", b[p]))
        p++;
    return p > start ? p : 0;
}

/* The fast path: a flat object of plain strings, integers, true, false and
 * null, read in place. Returns the end of the object (the byte after its
 * '}'), or 0 when it is not that simple (then nothing was written). */
static size_t fast_row(char *b, size_t len, size_t p, jrow *r)
{
    size_t ends[JROW_MAX];
    r->n = 0;
    if (p >= len || b[p] != '{')
        return 0;
    p = skip_ws(b, len, p + 1);
    if (p < len && b[p] == '}')
        return p + 1;
    for (;;) {
        if (r->n == JROW_MAX || p >= len || b[p] != '"')
            return 0;
        jrow_field *f = &r->f[r->n];
        size_t k = ++p;
        while (p < len && b[p] != '"' && b[p] != '\\' && (unsigned char)b[p] >= 0x20)
            p++;
        if (p >= len || b[p] != '"')
            return 0;
        f->key = b + k;
        f->klen = p - k;
        p = skip_ws(b, len, p + 1);
        if (p >= len || b[p] != ':')
            return 0;
        p = skip_ws(b, len, p + 1);
        if (p >= len)
            return 0;
        ends[r->n] = 0;
        char ch = b[p];
        if (ch == '"') {
            size_t v = ++p;
            while (p < len && b[p] != '"' && b[p] != '\\' && (unsigned char)b[p] >= 0x20)
                p++;
            if (p >= len || b[p] != '"')
                return 0;
            f->kind = JR_STR;
            f->s = b + v;
            ends[r->n] = p++;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            int neg = ch == '-';
            if (neg)
                p++;
            size_t d = p;
            uint64_t v = 0;
            while (p < len && b[p] >= '0' && b[p] <= '9') {
                if (v > (UINT64_C(1) << 62))
                    return 0; /* big: let jansson say */
                v = v * 10 + (uint64_t)(b[p++] - '0');
            }
            if (p == d || (p - d > 1 && b[d] == '0') ||
                (p < len && (b[p] == '.' || b[p] == 'e' || b[p] == 'E')))
                return 0;
            f->kind = JR_INT;
            f->i = neg ? -(int64_t)v : (int64_t)v;
        } else if (len - p >= 4 && memcmp(b + p, "true", 4) == 0) {
            f->kind = JR_TRUE;
            p += 4;
        } else if (len - p >= 5 && memcmp(b + p, "false", 5) == 0) {
            f->kind = JR_FALSE;
            p += 5;
        } else if (len - p >= 4 && memcmp(b + p, "null", 4) == 0) {
            f->kind = JR_NULL;
            p += 4;
        } else {
            return 0; /* nested, or not JSON */
        }
        r->n++;
        p = skip_ws(b, len, p);
        if (p < len && b[p] == ',') {
            p = skip_ws(b, len, p + 1);
            continue;
        }
        if (p < len && b[p] == '}')
            break;
        return 0;
    }
    for (int i = 0; i < r->n; i++)
        if (ends[i])
            b[ends[i]] = '\0';
    return p + 1;
}

/* The slow path: jansson reads the element, strings stay in its tree. */
static json_t *slow_row(const char *b, size_t n, jrow *r)
{
    r->n = 0;
    json_t *o = json_loadb(b, n, JSON_DECODE_ANY, NULL);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (r->n == JROW_MAX)
            break;
        jrow_field *f = &r->f[r->n++];
        f->key = key;
        f->klen = strlen(key);
        f->s = NULL;
        f->i = 0;
        if (json_is_string(v)) {
            f->kind = JR_STR;
            f->s = json_string_value(v);
        } else if (json_is_integer(v)) {
            f->kind = JR_INT;
            f->i = (int64_t)json_integer_value(v);
        } else if (json_is_real(v)) {
            f->kind = JR_INT;
            f->i = (int64_t)json_real_value(v);
        } else {
            f->kind = json_is_true(v) ? JR_TRUE : json_is_false(v) ? JR_FALSE
                    : json_is_null(v) ? JR_NULL : JR_OTHER;
        }
    }
    return o;
}

static const jrow_field *rfind(const jrow *r, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < r->n; i++)
        if (r->f[i].klen == kl && memcmp(r->f[i].key, key, kl) == 0)
            return &r->f[i];
    return NULL;
}

const char *row_str(const jrow *r, const char *key)
{
    const jrow_field *f = rfind(r, key);
    return f && f->kind == JR_STR ? f->s : "";
}

int64_t row_int(const jrow *r, const char *key)
{
    const jrow_field *f = rfind(r, key);
    return !f ? 0 : f->kind == JR_INT ? f->i : f->kind == JR_TRUE;
}

int row_has(const jrow *r, const char *key)
{
    const jrow_field *f = rfind(r, key);
    return f && f->kind != JR_NULL;
}

long json_each(char *b, size_t len, const char *key, void (*fn)(const jrow *row, void *arg),
               void *arg)
{
    long count = 0;
    int found = 0;
    size_t p = skip_ws(b, len, 0);
    if (p >= len || b[p] != '{')
        return -1;
    p = skip_ws(b, len, p + 1);
    if (p < len && b[p] == '}')
        return -1;
    for (;;) {
        if (p >= len || b[p] != '"')
            return -1;
        size_t e = skip_value(b, len, p);
        if (!e)
            return -1;
        json_t *k = json_loadb(b + p, e - p, JSON_DECODE_ANY, NULL);
        int want = k && json_is_string(k) && strcmp(json_string_value(k), key) == 0;
        json_decref(k);
        p = skip_ws(b, len, e);
        if (p >= len || b[p] != ':')
            return -1;
        p = skip_ws(b, len, p + 1);
        if (want && p < len && b[p] == '[') {
            found = 1;
            p = skip_ws(b, len, p + 1);
            if (p < len && b[p] == ']') {
                p++;
            } else {
                jrow row;
                for (;;) {
                    e = fast_row(b, len, p, &row);
                    if (e) {
                        fn(&row, arg);
                    } else {
                        e = skip_value(b, len, p);
                        json_t *el = e ? slow_row(b + p, e - p, &row) : NULL;
                        if (!el)
                            return -1;
                        fn(&row, arg);
                        json_decref(el);
                    }
                    count++;
                    p = skip_ws(b, len, e);
                    if (p < len && b[p] == ',') {
                        p = skip_ws(b, len, p + 1);
                        continue;
                    }
                    if (p < len && b[p] == ']') {
                        p++;
                        break;
                    }
                    return -1;
                }
            }
        } else {
            e = skip_value(b, len, p);
            if (!e)
                return -1;
            p = e;
        }
        p = skip_ws(b, len, p);
        if (p < len && b[p] == ',') {
            p = skip_ws(b, len, p + 1);
            continue;
        }
        if (p < len && b[p] == '}')
            break;
        return -1;
    }
    return found ? count : -1;
}
