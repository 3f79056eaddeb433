/*
 * fleet admin reservation: operators' reservations of nodes, a client of
 * fleetd's /v1/reservations (operators only; see docs/scheduling.md):
 *
 *   fleet admin reservation add NAME --nodes n1,n2 --start TIME --end TIME
 *                               --kind maintenance|project [--accounts a,b] [--users u,v]
 *   fleet admin reservation list [--json]
 *   fleet admin reservation delete NAME
 *
 * TIME: Unix seconds, +DURATION from now (+90s, +30m, +2h, +1d), or a local
 * date "YYYY-MM-DD HH:MM[:SS]" (or with a 'T'). Exit codes: see client.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "client.h"

static void resv_usage(FILE *f)
{
    fprintf(f,
            "usage: fleet admin reservation add NAME --nodes N1,N2 --start TIME --end TIME\n"
            "                               --kind maintenance|project [--accounts A,B] "
            "[--users U,V]\n"
            "       fleet admin reservation list [--json]\n"
            "       fleet admin reservation delete NAME\n"
            "TIME: Unix seconds, +DURATION from now (+90s, +30m, +2h, +1d), or a local\n"
            "date \"YYYY-MM-DD HH:MM[:SS]\".\n%s",
            fleet_conn_help);
}

/* TIME as above: 0 and *t, or -1 after a message naming the option. */
static int parse_when(const char *opt, const char *s, int64_t *t)
{
    char *end;
    if (s[0] == '+') {
        long long v = strtoll(s + 1, &end, 10);
        int64_t mul = *end == '\0' || strcmp(end, "s") == 0 ? 1
                    : strcmp(end, "m") == 0                 ? 60
                    : strcmp(end, "h") == 0                 ? 3600
                    : strcmp(end, "d") == 0                 ? 86400
                                                            : 0;
        if (end != s + 1 && v >= 0 && mul) {
            *t = (int64_t)time(NULL) + v * mul;
            return 0;
        }
    } else {
        long long v = strtoll(s, &end, 10);
        if (end != s && *end == '\0' && v >= 0) {
            *t = v;
            return 0;
        }
        static const char *const fmts[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                           "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"};
        for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            const char *e = strptime(s, fmts[i], &tm);
            if (e && *e == '\0') {
                tm.tm_isdst = -1;
                *t = (int64_t)mktime(&tm);
                return 0;
            }
        }
    }
    fprintf(stderr,
            "fleet admin reservation: %s: Unix seconds, +DURATION (+30m) or "
            "\"YYYY-MM-DD HH:MM\", got \"%s\"\n",
            opt, s);
    return -1;
}

/* "a,b,c" as a JSON array of strings. */
static json_t *split_list(const char *s)
{
    json_t *a = json_array();
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n)
            json_array_append_new(a, json_stringn(s, n));
        s += n;
        if (*s == ',')
            s++;
    }
    return a;
}

static void join(const json_t *a, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a) && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
                                json_string_value(json_array_get(a, i)));
    if (!buf[0])
        snprintf(buf, len, "-");
}

static void print_list(const json_t *ans)
{
    const json_t *arr = json_object_get(ans, "reservations");
    printf("%-20s %-12s %-16s %-16s %-24s %s\n", "NAME", "KIND", "START", "END", "NODES",
           "ACCOUNTS/USERS");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *o = json_array_get(arr, i);
        char st[32], en[32], nodes[256], acc[256], users[256];
        fmt_time(jint(o, "start"), st, sizeof st);
        fmt_time(jint(o, "end"), en, sizeof en);
        join(json_object_get(o, "nodes"), nodes, sizeof nodes);
        join(json_object_get(o, "accounts"), acc, sizeof acc);
        join(json_object_get(o, "users"), users, sizeof users);
        printf("%-20s %-12s %-16s %-16s %-24s %s%s%s\n", jstr(o, "name"), jstr(o, "kind"), st,
               en, nodes, acc, strcmp(users, "-") ? " / " : "", strcmp(users, "-") ? users : "");
    }
}

int cmd_resv(int argc, char **argv)
{
    const char *cmd = "fleet admin reservation";
    enum { O_JSON = 1, O_NODES, O_START, O_END, O_KIND, O_ACCOUNTS, O_USERS };
    static const cli_opt opts[] = {
        {"json", 0, 0, O_JSON},   {"nodes", 0, 1, O_NODES},       {"start", 0, 1, O_START},
        {"end", 0, 1, O_END},     {"kind", 0, 1, O_KIND},         {"accounts", 0, 1, O_ACCOUNTS},
        {"users", 0, 1, O_USERS}, {0, 0, 0, 0}};
    fleet_conn c;
    conn_init(&c, cmd);
    cli_scan s;
    cli_scan_init(&s, cmd, argc, argv);
    const char *ops[2] = {NULL, NULL};
    int nops = 0, json = 0, rc = FLEET_EXIT_USAGE;
    json_t *body = json_object();
    for (;;) {
        int id = 0;
        const char *val;
        int k = cli_next(&s, opts, &c, &id, &val);
        if (k == OPT_END)
            break;
        if (k == OPT_ERROR)
            goto out;
        if (k == OPT_OPERAND) {
            if (nops == 2) {
                fprintf(stderr, "%s: unexpected argument \"%s\" (see '%s --help')\n", cmd, val,
                        cmd);
                goto out;
            }
            ops[nops++] = val;
            continue;
        }
        int64_t t;
        switch (id) {
        case OPT_ID_HELP: resv_usage(stdout); rc = 0; goto out;
        case O_JSON: json = 1; break;
        case O_NODES: json_object_set_new(body, "nodes", split_list(val)); break;
        case O_ACCOUNTS: json_object_set_new(body, "accounts", split_list(val)); break;
        case O_USERS: json_object_set_new(body, "users", split_list(val)); break;
        case O_KIND: json_object_set_new(body, "kind", json_string(val)); break;
        case O_START:
        case O_END:
            if (parse_when(id == O_START ? "--start" : "--end", val, &t) != 0)
                goto out;
            json_object_set_new(body, id == O_START ? "start" : "end", json_integer(t));
            break;
        }
    }
    const char *op = ops[0];
    int add = op && strcmp(op, "add") == 0, del = op && strcmp(op, "delete") == 0,
        list = op && strcmp(op, "list") == 0;
    if (!add && !del && !list) {
        fprintf(stderr, "%s: a subcommand is required: add, list, delete (see '%s --help')\n",
                cmd, cmd);
        goto out;
    }
    if ((add || del) != (nops == 2)) {
        fprintf(stderr, "%s %s: %s (see '%s --help')\n", cmd, op,
                list ? "takes no argument" : "the reservation's NAME is required", cmd);
        goto out;
    }
    if (!add && json_object_size(body) > 0) {
        fprintf(stderr, "%s %s: takes no options but --json\n", cmd, op);
        goto out;
    }
    fleet_resp r;
    json_t *ans = NULL;
    if (add) {
        json_object_set_new(body, "name", json_string(ops[1]));
        char *text = json_dumps(body, JSON_COMPACT);
        rc = conn_call(&c, "POST", "/v1/reservations", text, &r, json ? NULL : &ans);
        free(text);
    } else if (del) {
        char *esc = conn_escape(ops[1]), path[512];
        snprintf(path, sizeof path, "/v1/reservations/%s", esc);
        free(esc);
        rc = conn_call(&c, "DELETE", path, NULL, &r, json ? NULL : &ans);
    } else {
        rc = conn_call(&c, "GET", "/v1/reservations", NULL, &r, json ? NULL : &ans);
    }
    if (rc == 0 && json)
        print_body(&r);
    else if (rc == 0 && list)
        print_list(ans);
    else if (rc == 0)
        printf("Reservation %s %s\n", ops[1], add ? "added" : "deleted");
    json_decref(ans);
    resp_free(&r);
out:
    json_decref(body);
    conn_close(&c);
    return rc;
}
