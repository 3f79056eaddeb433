/* client.c: talking to fleetd, options, formatting; see client.h. */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
}

void conn_close(fleet_conn *c)
{
    if (c->headers)
        curl_slist_free_all(c->headers);
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        curl_global_cleanup();
    }
    c->headers = c->curl = NULL;
}

void resp_free(fleet_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    fleet_resp *r = arg;
    size_t n = size * nmemb;
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0; /* curl reports a write error */
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static const char *where(const fleet_conn *c)
{
    return c->url ? c->url : c->socket;
}

int conn_request(fleet_conn *c, const char *method, const char *path, const char *body,
                 fleet_resp *r)
{
    memset(r, 0, sizeof *r);
    if (!c->curl) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
            fprintf(stderr, "fleet: cannot initialize libcurl\n");
            return FLEET_EXIT_UNREACHABLE;
        }
        struct curl_slist *h = NULL;
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Accept: application/json");
        h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
        if (c->url && c->token) {
            size_t n = strlen(c->token) + 32;
            char *a = xmalloc(n);
            snprintf(a, n, "Authorization: Bearer %s", c->token);
            h = curl_slist_append(h, a);
            free(a);
        }
        c->headers = h;
    }
    CURL *h = c->curl;
    const char *base = c->url ? c->url : "http://localhost";
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    size_t ul = bl + strlen(path) + 1;
    char *url = xmalloc(ul);
    snprintf(url, ul, "%.*s%s", (int)bl, base, path);

    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->url ? NULL : c->socket);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, (struct curl_slist *)c->headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    free(url);
    if (rc != CURLE_OK) {
        long oserr = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
        const char *why = oserr ? strerror((int)oserr) : errbuf[0] ? errbuf : curl_easy_strerror(rc);
        fprintf(stderr, "fleet: cannot reach fleetd at %s: %s; is fleetd running? (set %s)\n",
                where(c), why, c->url ? "FLEET_URL or --url" : "FLEET_SOCKET or --socket");
        return FLEET_EXIT_UNREACHABLE;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
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

char *conn_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) {
        fputs("fleet: out of memory\n", stderr);
        exit(FLEET_EXIT_REFUSED);
    }
    char *copy = xmalloc(strlen(e) + 1);
    strcpy(copy, e);
    curl_free(e);
    return copy;
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
