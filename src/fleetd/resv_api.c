/*
 * resv_api.c: operators' reservations of nodes (operators only, api.c).
 *
 *   POST   /v1/reservations        {name, kind, start, end, nodes, accounts?, users?}
 *   GET    /v1/reservations        every reservation
 *   DELETE /v1/reservations/NAME
 *
 * kind is "maintenance" (no job on the nodes during [start, end): a job
 * whose time limit would reach past the start waits; running jobs go on)
 * or "project" (only jobs of the listed projects, by name, or users, by
 * login, during the window). start and end are Unix seconds. A reservation
 * is stored (table reservations, the definition as JSON) before it is
 * applied to libsched, and restored at startup. See docs/scheduling.md.
 *
 * The center file's reservations section (fleetd --center) holds more, in
 * the same words: applied at start and at every reload beside the stored
 * ones (listed with "source": "center file"; deleted by editing the file),
 * users given there by uid ("uids").
 */
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

static void reply_json_t(http_req *r, unsigned status, json_t *o)
{
    char *body = json_dumps(o, JSON_COMPACT);
    if (!body)
        abort(); /* out of memory, as in the rest of the controller */
    http_reply(r, status, body, strlen(body));
}

static json_t *resvs(ctl *c)
{
    if (!c->resvs)
        c->resvs = json_object();
    return c->resvs;
}

/* A list of strings (may be absent): its length, or -1. */
static int str_list(json_t *o, const char *key, json_t **out)
{
    json_t *a = json_object_get(o, key);
    *out = a;
    if (!a)
        return 0;
    if (!json_is_array(a))
        return -1;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_string(json_array_get(a, i)))
            return -1;
    return (int)json_array_size(a);
}

/* Validates a definition and applies it to libsched: 0, or -1 with the
 * field and message. The definition is normalized in place (no unknown keys). */
static int resv_apply_def(ctl *c, json_t *o, char *field, size_t fieldlen, char *err,
                          size_t errlen)
{
    static const char *const known[] = {"name", "kind",  "start", "end",   "nodes",
                                        "accounts", "users", "uids", "source"};
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
            k++;
        if (k == sizeof known / sizeof known[0]) {
            snprintf(field, fieldlen, "%s", key);
            snprintf(err, errlen, "%s: unknown field", key);
            return -1;
        }
    }
    json_t *name = json_object_get(o, "name"), *kind = json_object_get(o, "kind");
    json_t *start = json_object_get(o, "start"), *end = json_object_get(o, "end");
    json_t *nodes, *accounts, *users, *uids = json_object_get(o, "uids");
#define BAD(f, ...)                                       \
    do {                                                  \
        snprintf(field, fieldlen, "%s", f);               \
        snprintf(err, errlen, __VA_ARGS__);               \
        goto fail;                                        \
    } while (0)
    int32_t *ni = NULL;
    uint32_t *ai = NULL, *ui = NULL;
    if (!json_is_string(name))
        BAD("name", "name: a string is required");
    if (!json_is_string(kind) || sched_resv_kind_parse(json_string_value(kind)) < 0)
        BAD("kind", "kind: must be \"maintenance\" or \"project\"");
    if (!json_is_integer(start))
        BAD("start", "start: Unix seconds are required");
    if (!json_is_integer(end))
        BAD("end", "end: Unix seconds are required");
    int nn = str_list(o, "nodes", &nodes), na = str_list(o, "accounts", &accounts),
        nu = str_list(o, "users", &users);
    if (nn < 0)
        BAD("nodes", "nodes: a list of node names is required");
    if (na < 0)
        BAD("accounts", "accounts: a list of project names");
    if (nu < 0)
        BAD("users", "users: a list of user names");
    int nuid = uids ? (int)json_array_size(uids) : 0;
    if (uids && !json_is_array(uids))
        BAD("uids", "uids: a list of Unix uids");
    for (int i = 0; i < nuid; i++) {
        json_t *x = json_array_get(uids, (size_t)i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 ||
            json_integer_value(x) > 4294967295LL)
            BAD("uids", "uids: a list of Unix uids");
    }
    ni = calloc((size_t)nn + 1, sizeof *ni);
    ai = calloc((size_t)na + 1, sizeof *ai);
    ui = calloc((size_t)nu + (size_t)nuid + 1, sizeof *ui);
    if (!ni || !ai || !ui)
        abort();
    for (int i = 0; i < nn; i++) {
        const char *s = json_string_value(json_array_get(nodes, (size_t)i));
        if ((ni[i] = sched_node_find(c->s, s)) < 0)
            BAD("nodes", "nodes: no node \"%s\"", s);
    }
    for (int i = 0; i < na; i++) {
        const char *s = json_string_value(json_array_get(accounts, (size_t)i));
        int a = c->pol && c->pol->a ? acct_account_find(c->pol->a, s) : -1;
        if (a < 0)
            BAD("accounts", "accounts: no project \"%s\"%s", s,
                c->pol && c->pol->a ? "" : " (fleetd runs without --center)");
        ai[i] = (uint32_t)a;
    }
    for (int i = 0; i < nu; i++) {
        const char *s = json_string_value(json_array_get(users, (size_t)i));
        struct passwd *pw = getpwnam(s);
        if (!pw)
            BAD("users", "users: no user \"%s\"", s);
        ui[i] = (uint32_t)pw->pw_uid;
    }
    for (int i = 0; i < nuid; i++)
        ui[nu + i] = (uint32_t)json_integer_value(json_array_get(uids, (size_t)i));
    nu += nuid;
    char serr[SCHED_ERRLEN];
    if (sched_resv_add(c->s, json_string_value(name), sched_resv_kind_parse(json_string_value(kind)),
                       json_integer_value(start), json_integer_value(end), ni, nn, ai, na, ui, nu,
                       serr, sizeof serr) != 0) {
        size_t flen = strcspn(serr, ":");
        snprintf(field, fieldlen, "%.*s", (int)flen, serr);
        snprintf(err, errlen, "%s", serr);
        goto fail;
    }
#undef BAD
    free(ni);
    free(ai);
    free(ui);
    c->sched_dirty = 1;
    return 0;
fail:
    free(ni);
    free(ai);
    free(ui);
    return -1;
}

/* The definition of a reservation of the center file, or NULL. */
static json_t *file_def(ctl *c, const char *name)
{
    return c->pol && c->pol->file_resvs ? json_object_get(c->pol->file_resvs, name) : NULL;
}

static void post_resv(ctl *c, http_req *r)
{
    json_error_t je;
    json_t *o = json_loadb(r->body ? r->body : "", r->len, 0, &je);
    if (!o || !json_is_object(o)) {
        http_reply_error(r, 400, "invalid_json", NULL, "body: a JSON object is required%s%s",
                         o ? "" : ": ", o ? "" : je.text);
        json_decref(o);
        return;
    }
    json_t *name = json_object_get(o, "name");
    if (json_is_string(name) && sched_resv_find(c->s, json_string_value(name)) >= 0) {
        http_reply_error(r, 409, "conflict", "name", "name: a reservation \"%s\" exists",
                         json_string_value(name));
        json_decref(o);
        return;
    }
    char field[32] = "", err[256] = "";
    if (resv_apply_def(c, o, field, sizeof field, err, sizeof err) != 0) {
        http_reply_error(r, 400, "invalid", field[0] ? field : NULL, "%s", err);
        json_decref(o);
        return;
    }
    const char *nm = json_string_value(name);
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    if (!body)
        abort();
    if (store_resv_put(c->st, nm, body, err, sizeof err) != 0) {
        sched_resv_remove(c->s, nm);
        free(body);
        json_decref(o);
        http_reply_error(r, 503, "store", NULL, "not stored: %s", err);
        return;
    }
    free(body);
    json_object_set(resvs(c), nm, o);
    reply_json_t(r, 201, o);
    json_decref(o);
}

static void list_resv(ctl *c, http_req *r)
{
    json_t *out = json_object(), *arr = json_array();
    int n = sched_resv_count(c->s);
    for (int i = 0; i < n; i++) {
        sched_resv_info v;
        sched_resv_get(c->s, i, &v);
        json_t *d = json_object_get(resvs(c), v.name);
        if (!d)
            d = file_def(c, v.name);
        if (d)
            json_array_append(arr, d);
    }
    json_object_set_new(out, "reservations", arr);
    json_object_set_new(out, "count", json_integer(n));
    reply_json_t(r, 200, out);
    json_decref(out);
}

static void delete_resv(ctl *c, http_req *r, const char *name)
{
    if (sched_resv_find(c->s, name) < 0) {
        http_reply_error(r, 404, "not_found", "name", "no reservation \"%s\"", name);
        return;
    }
    if (!json_object_get(resvs(c), name) && file_def(c, name)) {
        http_reply_error(r, 409, "conflict", "name", "reservation \"%s\" is defined in the "
                         "center file %s: edit it there and reload", name, c->o.center);
        return;
    }
    char err[256];
    if (store_resv_delete(c->st, name, err, sizeof err) < 0) {
        http_reply_error(r, 503, "store", NULL, "not deleted: %s", err);
        return;
    }
    json_t *d = json_incref(json_object_get(resvs(c), name));
    sched_resv_remove(c->s, name);
    json_object_del(resvs(c), name);
    c->sched_dirty = 1;
    reply_json_t(r, 200, d ? d : json_object());
    json_decref(d);
}

void resv_route(ctl *c, http_req *r, const char *arg)
{
    int one = strncmp(r->url, "/v1/reservations/", 17) == 0;
    if (one && strcmp(r->method, "DELETE") == 0)
        delete_resv(c, r, arg);
    else if (!one && strcmp(r->method, "POST") == 0)
        post_resv(c, r);
    else if (!one && strcmp(r->method, "GET") == 0)
        list_resv(c, r);
    else
        http_reply_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
                         r->method, r->url);
}

typedef struct restore_ctx {
    ctl *c;
    int n;
} restore_ctx;

static int restore_one(const char *name, const char *body, void *arg)
{
    restore_ctx *x = arg;
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    char field[32], err[256] = "not a JSON object";
    if (!o || !json_is_object(o) ||
        resv_apply_def(x->c, o, field, sizeof field, err, sizeof err) != 0) {
        fprintf(stderr, "fleetd: reservation %s not restored: %s\n", name, err);
        json_decref(o);
        return 0;
    }
    json_object_set_new(resvs(x->c), name, o);
    x->n++;
    return 0;
}

int resv_restore(ctl *c, char *err, size_t errlen)
{
    restore_ctx x = {c, 0};
    if (store_resv_load(c->st, restore_one, &x, err, errlen) < 0)
        return -1;
    if (x.n)
        fprintf(stderr, "fleetd: restored %d reservations\n", x.n);
    return 0;
}

void resv_reapply(ctl *c)
{
    const char *name;
    json_t *o;
    /* every reservation out, then the stored ones and the file's in again
     * (a file entry named as a stored one is left out) */
    while (sched_resv_count(c->s) > 0) {
        sched_resv_info v;
        sched_resv_get(c->s, 0, &v);
        char nm[256];
        snprintf(nm, sizeof nm, "%s", v.name);
        sched_resv_remove(c->s, nm);
    }
    json_object_foreach(resvs(c), name, o) {
        char field[32], err[256];
        if (resv_apply_def(c, o, field, sizeof field, err, sizeof err) != 0)
            fprintf(stderr, "fleetd: reservation %s not applied: %s\n", name, err);
    }
    if (!c->pol || !c->pol->file_resvs)
        return;
    json_object_foreach(c->pol->file_resvs, name, o) {
        char field[32], err[256];
        if (json_object_get(resvs(c), name))
            fprintf(stderr, "fleetd: reservation %s of the center file: one of that name was "
                            "made through the API; the file's is left out\n", name);
        else if (resv_apply_def(c, o, field, sizeof field, err, sizeof err) != 0)
            fprintf(stderr, "fleetd: reservation %s of the center file not applied: %s\n",
                    name, err);
    }
    c->sched_dirty = 1;
}

void resv_destroy(ctl *c)
{
    json_decref(c->resvs);
    c->resvs = NULL;
}
