/*
 * The PostgreSQL backend of libstore (libpq), behind the same interface and
 * with the same schema (v4) as the SQLite backend.
 *
 * How it keeps the contracts of store.h:
 *   - Durability: synchronous_commit is set to on for the session (and
 *     checked), so COMMIT returns only once the commit record is flushed to
 *     the server's WAL.
 *   - One transaction per write call: batches run between BEGIN and COMMIT;
 *     on any error the transaction is rolled back and nothing is stored.
 *     meta_set, node_set and the purge are single statements, i.e. their own
 *     transactions.
 *   - Speed: statements are prepared once at open; a batch insert sends one
 *     multi-row INSERT per chunk of INSERT_CHUNK jobs (one round trip per
 *     chunk, not per job), with every parameter in binary format (no
 *     formatting, no escaping, no NUL needed in the fixed-size fields).
 *   - Loads read the whole result (not row by row), so that the connection
 *     is free for reads from a loader's callback, as with SQLite.
 *   - The schema is created in one transaction under an advisory lock (two
 *     controllers opening a fresh database at once do not race); a newer
 *     schema version is refused.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_schema.h"

/* jobs per multi-row INSERT: 26 parameters each, far below the protocol's
 * 65,535-parameter limit, and a few hundred KB per message */
#define INSERT_CHUNK 500
#define NCOLS 26
/* key of the advisory lock taken while creating the schema ("GFLT") */
#define GF_LOCK_KEY 0x47464c54
#define INT8OID 20
#define TEXTOID 25

#define JOB_COLUMNS                                                                             \
    "id, array_job_id, array_task_id, uid, gid, username, account, name, pool, qos, state, "  \
    "held, submit_time, start_time, end_time, time_limit, gpus, nodes, exit_code, restarts, " \
    "nodelist, gpu_seconds, preempt_at, preempt_by, preempt_signal, spec_json"

/* parameter types of a job row, $1..$26 (spec_json last) */
static const unsigned char col_is_text[NCOLS] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0,
                                                 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};

static const char *const schema_v1 =
    "CREATE TABLE jobs ("
    " id BIGINT PRIMARY KEY,"
    " array_job_id BIGINT NOT NULL,"
    " array_task_id BIGINT NOT NULL,"
    " uid BIGINT NOT NULL,"
    " gid BIGINT NOT NULL,"
    " username TEXT NOT NULL,"
    " account TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " pool TEXT NOT NULL,"
    " qos TEXT NOT NULL,"
    " state BIGINT NOT NULL CHECK (state BETWEEN 0 AND 8),"
    " held BIGINT NOT NULL CHECK (held IN (0, 1)),"
    " submit_time BIGINT NOT NULL,"
    " start_time BIGINT NOT NULL,"
    " end_time BIGINT NOT NULL,"
    " time_limit BIGINT NOT NULL,"
    " gpus BIGINT NOT NULL,"
    " nodes BIGINT NOT NULL,"
    " exit_code BIGINT NOT NULL,"
    " restarts BIGINT NOT NULL,"
    " nodelist TEXT NOT NULL,"
    " gpu_seconds BIGINT NOT NULL,"
    " spec_json TEXT);"
    "CREATE INDEX jobs_end_time ON jobs (end_time) WHERE end_time > 0;"
    "CREATE TABLE nodes ("
    " name TEXT PRIMARY KEY,"
    " state BIGINT NOT NULL,"
    " reason TEXT NOT NULL);";

/* Schema migrations: migrations[v] brings a database from version v to v+1,
 * all in the one transaction of schema(). Never edit a released step;
 * append a new one. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    NULL, /* schema_v1 above */
    /* 1 -> 2: accounting records (one per run of a job) and the admin log */
    "CREATE TABLE accounting ("
    " job_id BIGINT NOT NULL,"
    " run BIGINT NOT NULL,"
    " uid BIGINT NOT NULL,"
    " username TEXT NOT NULL,"
    " project TEXT NOT NULL,"
    " tier TEXT NOT NULL,"
    " org TEXT NOT NULL,"
    " qos TEXT NOT NULL,"
    " pool TEXT NOT NULL,"
    " allocation TEXT NOT NULL,"
    " state BIGINT NOT NULL CHECK (state BETWEEN 0 AND 8),"
    " gpus BIGINT NOT NULL,"
    " nodes BIGINT NOT NULL,"
    " nodelist TEXT NOT NULL,"
    " submit_time BIGINT NOT NULL,"
    " start_time BIGINT NOT NULL,"
    " end_time BIGINT NOT NULL,"
    " exit_code BIGINT NOT NULL,"
    " gpu_seconds BIGINT NOT NULL,"
    " rate DOUBLE PRECISION NOT NULL,"
    " charge DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (job_id, run));"
    "CREATE INDEX accounting_end_time ON accounting (end_time);"
    "CREATE TABLE admin_log ("
    " seq BIGSERIAL PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " kind TEXT NOT NULL,"
    " body TEXT NOT NULL);",
    /* 2 -> 3: operators' reservations of nodes (fleetd's JSON definition) */
    "CREATE TABLE reservations ("
    " name TEXT PRIMARY KEY,"
    " body TEXT NOT NULL);",
    /* 3 -> 4: a preemption victim's marks (its run is being preempted), so
     * that a restarted fleetd knows them; 0 on every existing row */
    "ALTER TABLE jobs ADD COLUMN preempt_at BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN preempt_by BIGINT NOT NULL DEFAULT 0,"
    " ADD COLUMN preempt_signal BIGINT NOT NULL DEFAULT 0;",
};

#define USAGE_COLUMNS                                                                          \
    "job_id, run, uid, username, project, tier, org, qos, pool, allocation, state, gpus, "   \
    "nodes, nodelist, submit_time, start_time, end_time, exit_code, gpu_seconds, rate, charge"
#define USAGE_NCOLS 21

typedef struct pg_store {
    struct store base; /* first: a store* is a pg_store* */
    PGconn *conn;
    char label[160]; /* "postgresql:DBNAME", for messages */
    char msg[512];   /* the last server message, trimmed (see pgmsg) */
    int loading;     /* a loader's callback is running: refuse writes and re-entry */
    /* parameter buffers of one insert chunk */
    const char *values[INSERT_CHUNK * NCOLS];
    int lengths[INSERT_CHUNK * NCOLS];
    int formats[INSERT_CHUNK * NCOLS];
    Oid types[INSERT_CHUNK * NCOLS];
    uint64_t ints[INSERT_CHUNK * NCOLS]; /* big-endian int8 values */
} pg_store;

static const struct store_ops pg_ops;

#define P(h) ((pg_store *)(h))

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                         const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The server's message without its trailing newline. */
static const char *pgmsg(pg_store *s, const PGresult *r)
{
    char *buf = s->msg;
    size_t cap = sizeof s->msg;
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    if (!m || !*m)
        m = PQerrorMessage(s->conn);
    snprintf(buf, cap, "%s", m && *m ? m : "unknown error");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

/* Runs SQL without parameters; 0 if it succeeded. */
static int exec_ok(pg_store *s, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        seterr(err, errlen, "%s: %s: %s", s->label, what, pgmsg(s, r));
    PQclear(r);
    return ok ? 0 : -1;
}

static void rollback(pg_store *s)
{
    PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int begin(pg_store *s, char *err, size_t errlen)
{
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    return exec_ok(s, "BEGIN", "begin", err, errlen);
}

static int commit(pg_store *s, char *err, size_t errlen)
{
    if (exec_ok(s, "COMMIT", "commit", err, errlen) != 0) {
        rollback(s);
        return -1;
    }
    return 0;
}

static const char *job_invalid(const store_job *j)
{
    if (j->id <= 0)
        return "id must be positive";
    if (j->state < STORE_PENDING || j->state > STORE_PREEMPTED)
        return "state out of range";
    if (j->spec_json && strlen(j->spec_json) > 0x7fffffff)
        return "spec_json is larger than 2 GiB";
    return NULL;
}

/* Parameter k (0-based, in the chunk) as a binary int8. */
static void bind_int(pg_store *s, size_t k, int64_t v)
{
    uint64_t u = (uint64_t)v;
    uint64_t be = ((uint64_t)htonl((uint32_t)u) << 32) | htonl((uint32_t)(u >> 32));
    s->ints[k] = be;
    s->values[k] = (const char *)&s->ints[k];
    s->lengths[k] = 8;
    s->formats[k] = 1;
}

/* A text parameter in binary format: the bytes, no NUL needed (a field that
 * fills its array without one is stored up to its end, never read past). */
static void bind_text(pg_store *s, size_t k, const char *t, size_t max)
{
    s->values[k] = t;
    s->lengths[k] = (int)strnlen(t, max);
    s->formats[k] = 1;
}

/* Binds the job's 26 columns at parameter offset base (spec_json last). */
static void bind_job(pg_store *s, size_t base, const store_job *j)
{
    bind_int(s, base + 0, j->id);
    bind_int(s, base + 1, j->array_job_id);
    bind_int(s, base + 2, j->array_task_id);
    bind_int(s, base + 3, j->uid);
    bind_int(s, base + 4, j->gid);
    bind_text(s, base + 5, j->user, sizeof j->user);
    bind_text(s, base + 6, j->account, sizeof j->account);
    bind_text(s, base + 7, j->name, sizeof j->name);
    bind_text(s, base + 8, j->pool, sizeof j->pool);
    bind_text(s, base + 9, j->qos, sizeof j->qos);
    bind_int(s, base + 10, j->state);
    bind_int(s, base + 11, j->held != 0);
    bind_int(s, base + 12, j->submit_time);
    bind_int(s, base + 13, j->start_time);
    bind_int(s, base + 14, j->end_time);
    bind_int(s, base + 15, j->time_limit);
    bind_int(s, base + 16, j->gpus);
    bind_int(s, base + 17, j->nodes);
    bind_int(s, base + 18, j->exit_code);
    bind_int(s, base + 19, j->restarts);
    bind_text(s, base + 20, j->nodelist, sizeof j->nodelist);
    bind_int(s, base + 21, j->gpu_seconds);
    bind_int(s, base + 22, j->preempt_at);
    bind_int(s, base + 23, j->preempt_by);
    bind_int(s, base + 24, j->preempt_signal);
    if (j->spec_json) {
        bind_text(s, base + NCOLS - 1, j->spec_json, (size_t)-1);
    } else {
        s->values[base + NCOLS - 1] = NULL; /* SQL NULL */
        s->lengths[base + NCOLS - 1] = 0;
        s->formats[base + NCOLS - 1] = 1;
    }
}

/* "INSERT INTO jobs (...) VALUES ($1, ..., $26), ($27, ...) ..." for rows
 * rows; malloc'd. */
static char *insert_sql(size_t rows)
{
    size_t cap = 128 + sizeof JOB_COLUMNS + rows * NCOLS * 9;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    size_t o = (size_t)snprintf(sql, cap, "INSERT INTO jobs (" JOB_COLUMNS ") VALUES ");
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < NCOLS; c++)
            o += (size_t)snprintf(sql + o, cap - o, "%s$%zu", c ? ", " : (r ? ", (" : "("),
                                  r * NCOLS + c + 1);
        o += (size_t)snprintf(sql + o, cap - o, ")");
    }
    return sql;
}

/* The id named by a unique violation's detail, "Key (id)=(5) already exists." */
static int dup_id(const PGresult *r, long long *id)
{
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    if (!code || strcmp(code, "23505") != 0)
        return 0;
    *id = 0;
    if (detail && sscanf(detail, "Key (id)=(%lld)", id) == 1)
        return 1;
    return -1; /* a duplicate, id unknown */
}

static int pg_jobs_insert(store *h, const store_job *jobs, size_t n, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (n == 0)
        return 0;
    if (!jobs) {
        seterr(err, errlen, "%s: insert: no jobs given", s->label);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = job_invalid(&jobs[i]);
        if (why) {
            seterr(err, errlen, "%s: insert job %lld: %s", s->label, (long long)jobs[i].id, why);
            return -1;
        }
    }
    if (begin(s, err, errlen) != 0)
        return -1;
    for (size_t first = 0; first < n; first += INSERT_CHUNK) {
        size_t rows = n - first < INSERT_CHUNK ? n - first : INSERT_CHUNK;
        for (size_t i = 0; i < rows; i++)
            bind_job(s, i * NCOLS, &jobs[first + i]);
        PGresult *r;
        int nparams = (int)(rows * NCOLS);
        if (rows == INSERT_CHUNK) {
            r = PQexecPrepared(s->conn, "ins_chunk", nparams, s->values, s->lengths, s->formats,
                               0);
        } else {
            /* the tail of a batch: parsed once, for this call */
            char *sql = insert_sql(rows);
            if (!sql) {
                seterr(err, errlen, "%s: insert: out of memory", s->label);
                rollback(s);
                return -1;
            }
            r = PQexecParams(s->conn, sql, nparams, s->types, s->values, s->lengths, s->formats,
                             0);
            free(sql);
        }
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            long long id;
            int d = dup_id(r, &id);
            if (d == 1)
                seterr(err, errlen, "%s: insert job %lld: a job with this id already exists",
                       s->label, id);
            else
                seterr(err, errlen, "%s: insert jobs %lld..: %s", s->label,
                       (long long)jobs[first].id, pgmsg(s, r));
            PQclear(r);
            rollback(s);
            return -1;
        }
        PQclear(r);
    }
    return commit(s, err, errlen);
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void get_fixed(const PGresult *r, int row, int col, char *dst, size_t size)
{
    const char *t = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n >= size)
        n = size - 1;
    memcpy(dst, t, n);
    dst[n] = '\0';
}

static const char *usage_invalid(const store_usage *u)
{
    if (u->job_id <= 0)
        return "job id must be positive";
    if (u->run < 0)
        return "run must not be negative";
    if (u->state < STORE_PENDING || u->state > STORE_PREEMPTED)
        return "state out of range";
    if (!isfinite(u->rate) || !isfinite(u->charge))
        return "rate and charge must be finite";
    return NULL;
}

/* A fixed-size text field as a NUL-terminated copy (a field that fills its
 * array without a NUL is sent up to its end, never read past). */
static void fixed_copy(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Writes m accounting records inside the open transaction, each as one
 * prepared upsert with text parameters (a few records per commit: no
 * batching needed). 0, or -1 with the message (the caller rolls back). */
static int put_usage(pg_store *s, const store_usage *recs, size_t m, char *err, size_t errlen)
{
    for (size_t i = 0; i < m; i++) {
        const store_usage *u = &recs[i];
        char num[12][32], user[65], project[65], tier[65], org[65], qos[33], pool[65],
            alloc[65], nodelist[1025];
        int64_t iv[12] = {u->job_id, u->run, u->uid, u->state, u->gpus, u->nodes,
                          u->submit_time, u->start_time, u->end_time, u->exit_code,
                          u->gpu_seconds, 0};
        for (int k = 0; k < 11; k++)
            snprintf(num[k], sizeof num[k], "%" PRId64, iv[k]);
        char rate[40], charge[40];
        snprintf(rate, sizeof rate, "%.17g", u->rate);
        snprintf(charge, sizeof charge, "%.17g", u->charge);
        fixed_copy(user, u->user, sizeof u->user);
        fixed_copy(project, u->project, sizeof u->project);
        fixed_copy(tier, u->tier, sizeof u->tier);
        fixed_copy(org, u->org, sizeof u->org);
        fixed_copy(qos, u->qos, sizeof u->qos);
        fixed_copy(pool, u->pool, sizeof u->pool);
        fixed_copy(alloc, u->allocation, sizeof u->allocation);
        fixed_copy(nodelist, u->nodelist, sizeof u->nodelist);
        const char *v[USAGE_NCOLS] = {num[0], num[1], num[2],  user,   project, tier,   org,
                                      qos,    pool,   alloc,   num[3], num[4],  num[5], nodelist,
                                      num[6], num[7], num[8], num[9], num[10], rate,   charge};
        PGresult *r = PQexecPrepared(s->conn, "usage_put", USAGE_NCOLS, v, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            seterr(err, errlen, "%s: accounting record of job %lld run %d: %s", s->label,
                   (long long)u->job_id, (int)u->run, pgmsg(s, r));
        PQclear(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* Updates n jobs and writes m accounting records in one transaction. */
static int update_with_usage(store *h, const store_job *jobs, size_t n, const store_usage *recs,
                             size_t m, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (n == 0 && m == 0)
        return 0;
    if ((n && !jobs) || (m && !recs)) {
        seterr(err, errlen, "%s: update: no %s given", s->label, n && !jobs ? "jobs" : "records");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = job_invalid(&jobs[i]);
        if (why) {
            seterr(err, errlen, "%s: update job %lld: %s", s->label, (long long)jobs[i].id, why);
            return -1;
        }
    }
    for (size_t i = 0; i < m; i++) {
        const char *why = usage_invalid(&recs[i]);
        if (why) {
            seterr(err, errlen, "%s: accounting record of job %lld: %s", s->label,
                   (long long)recs[i].job_id, why);
            return -1;
        }
    }
    if (begin(s, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bind_job(s, 0, &jobs[i]);
        PGresult *r = PQexecPrepared(s->conn, "upd", NCOLS - 1, s->values, s->lengths, s->formats,
                                     0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            seterr(err, errlen, "%s: update job %lld: %s", s->label, (long long)jobs[i].id,
                   pgmsg(s, r));
        else if (strcmp(PQcmdTuples(r), "1") != 0) {
            seterr(err, errlen, "%s: update job %lld: no such job", s->label,
                   (long long)jobs[i].id);
            ok = 0;
        }
        PQclear(r);
        if (!ok) {
            rollback(s);
            return -1;
        }
    }
    if (m && put_usage(s, recs, m, err, errlen) != 0) {
        rollback(s);
        return -1;
    }
    return commit(s, err, errlen);
}

static int pg_jobs_update(store *h, const store_job *jobs, size_t n, char *err, size_t errlen)
{
    return update_with_usage(h, jobs, n, NULL, 0, err, errlen);
}

static int pg_usage_load(store *h, int64_t since, int64_t until, store_usage_fn fn, void *arg,
                         char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!fn) {
        seterr(err, errlen, "%s: load accounting: no callback", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load accounting: called from a loader's callback", s->label);
        return -1;
    }
    char a[32], b[32];
    snprintf(a, sizeof a, "%" PRId64, since);
    snprintf(b, sizeof b, "%" PRId64, until);
    const char *v[2] = {a, b};
    PGresult *r = PQexecPrepared(s->conn, "usage_load", 2, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: load accounting: %s", s->label, pgmsg(s, r));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), count = 0;
    store_usage u;
    s->loading = 1;
    for (int i = 0; i < rows; i++) {
        memset(&u, 0, sizeof u);
        u.job_id = get_i64(r, i, 0);
        u.run = (int32_t)get_i64(r, i, 1);
        u.uid = (uint32_t)get_i64(r, i, 2);
        get_fixed(r, i, 3, u.user, sizeof u.user);
        get_fixed(r, i, 4, u.project, sizeof u.project);
        get_fixed(r, i, 5, u.tier, sizeof u.tier);
        get_fixed(r, i, 6, u.org, sizeof u.org);
        get_fixed(r, i, 7, u.qos, sizeof u.qos);
        get_fixed(r, i, 8, u.pool, sizeof u.pool);
        get_fixed(r, i, 9, u.allocation, sizeof u.allocation);
        u.state = (int)get_i64(r, i, 10);
        u.gpus = (int32_t)get_i64(r, i, 11);
        u.nodes = (int32_t)get_i64(r, i, 12);
        get_fixed(r, i, 13, u.nodelist, sizeof u.nodelist);
        u.submit_time = get_i64(r, i, 14);
        u.start_time = get_i64(r, i, 15);
        u.end_time = get_i64(r, i, 16);
        u.exit_code = (int32_t)get_i64(r, i, 17);
        u.gpu_seconds = get_i64(r, i, 18);
        u.rate = strtod(PQgetvalue(r, i, 19), NULL);
        u.charge = strtod(PQgetvalue(r, i, 20), NULL);
        count++;
        if (fn(&u, arg))
            break;
    }
    s->loading = 0;
    PQclear(r);
    return count;
}

static int pg_admin_append(store *h, int64_t at, const char *kind, const char *body,
                           int64_t *seq, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!kind || !*kind || !body || !*body) {
        seterr(err, errlen, "%s: admin log: empty kind or body", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, at);
    const char *v[3] = {num, kind, body};
    /* one statement outside BEGIN: its own transaction */
    PGresult *r = PQexecPrepared(s->conn, "admin_add", 3, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : -1;
    if (rc)
        seterr(err, errlen, "%s: admin log: %s", s->label, pgmsg(s, r));
    else if (seq)
        *seq = get_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_admin_load(store *h, store_admin_fn fn, void *arg, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!fn) {
        seterr(err, errlen, "%s: load admin log: no callback", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load admin log: called from a loader's callback", s->label);
        return -1;
    }
    PGresult *r = PQexecPrepared(s->conn, "admin_load", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: load admin log: %s", s->label, pgmsg(s, r));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), count = 0;
    s->loading = 1;
    for (int i = 0; i < rows; i++) {
        count++;
        if (fn(get_i64(r, i, 0), get_i64(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), arg))
            break;
    }
    s->loading = 0;
    PQclear(r);
    return count;
}

static int pg_jobs_delete_before(store *h, int64_t end_before, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    bind_int(s, 0, end_before);
    /* one statement outside BEGIN: its own transaction */
    PGresult *r = PQexecPrepared(s->conn, "purge", 1, s->values, s->lengths, s->formats, 0);
    int n = -1;
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        n = atoi(PQcmdTuples(r));
    else
        seterr(err, errlen, "%s: purge: %s", s->label, pgmsg(s, r));
    PQclear(r);
    return n;
}

/* Fills j from row of r (spec_json points into r, or NULL). */
static void row_job(const PGresult *r, int row, store_job *j)
{
    memset(j, 0, sizeof *j);
    j->id = get_i64(r, row, 0);
    j->array_job_id = get_i64(r, row, 1);
    j->array_task_id = (int32_t)get_i64(r, row, 2);
    j->uid = (uint32_t)get_i64(r, row, 3);
    j->gid = (uint32_t)get_i64(r, row, 4);
    get_fixed(r, row, 5, j->user, sizeof j->user);
    get_fixed(r, row, 6, j->account, sizeof j->account);
    get_fixed(r, row, 7, j->name, sizeof j->name);
    get_fixed(r, row, 8, j->pool, sizeof j->pool);
    get_fixed(r, row, 9, j->qos, sizeof j->qos);
    j->state = (int)get_i64(r, row, 10);
    j->held = get_i64(r, row, 11) != 0;
    j->submit_time = get_i64(r, row, 12);
    j->start_time = get_i64(r, row, 13);
    j->end_time = get_i64(r, row, 14);
    j->time_limit = get_i64(r, row, 15);
    j->gpus = (int32_t)get_i64(r, row, 16);
    j->nodes = (int32_t)get_i64(r, row, 17);
    j->exit_code = (int32_t)get_i64(r, row, 18);
    j->restarts = (int32_t)get_i64(r, row, 19);
    get_fixed(r, row, 20, j->nodelist, sizeof j->nodelist);
    j->gpu_seconds = get_i64(r, row, 21);
    j->preempt_at = get_i64(r, row, 22);
    j->preempt_by = get_i64(r, row, 23);
    j->preempt_signal = (int32_t)get_i64(r, row, 24);
    j->spec_json = PQgetisnull(r, row, NCOLS - 1) ? NULL : PQgetvalue(r, row, NCOLS - 1);
}

static int pg_jobs_load(store *h, store_job_fn fn, void *arg, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!fn) {
        seterr(err, errlen, "%s: load jobs: no callback", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load jobs: called from a loader's callback", s->label);
        return -1;
    }
    PGresult *r = PQexecPrepared(s->conn, "load", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: load jobs: %s", s->label, pgmsg(s, r));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), count = 0;
    store_job j;
    s->loading = 1;
    for (int i = 0; i < rows; i++) {
        row_job(r, i, &j);
        count++;
        if (fn(&j, arg))
            break;
    }
    s->loading = 0;
    PQclear(r);
    return count;
}

static int pg_job_get(store *h, int64_t id, store_job *out, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!out) {
        seterr(err, errlen, "%s: get job: no output record", s->label);
        return -1;
    }
    /* own buffers: a loader's callback may call this while s->ints is idle,
     * but keep the handle's buffers out of it anyway */
    uint64_t u = (uint64_t)id;
    uint64_t be = ((uint64_t)htonl((uint32_t)u) << 32) | htonl((uint32_t)(u >> 32));
    const char *v[1] = {(const char *)&be};
    int len[1] = {8}, fmt[1] = {1};
    PGresult *r = PQexecPrepared(s->conn, "get", 1, v, len, fmt, 0);
    int found = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: get job %lld: %s", s->label, (long long)id, pgmsg(s, r));
    } else if (PQntuples(r) == 0) {
        found = 0;
    } else {
        row_job(r, 0, out);
        found = 1;
        if (out->spec_json) {
            out->spec_json = strdup(out->spec_json);
            if (!out->spec_json) {
                seterr(err, errlen, "%s: get job %lld: out of memory", s->label, (long long)id);
                found = -1;
            }
        }
    }
    PQclear(r);
    return found;
}

static int pg_meta_get(store *h, const char *key, int64_t *val, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!key || !val) {
        seterr(err, errlen, "%s: meta get: no key or no output", s->label);
        return -1;
    }
    const char *v[1] = {key};
    PGresult *r = PQexecPrepared(s->conn, "meta_get", 1, v, NULL, NULL, 0);
    int found = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: meta get %s: %s", s->label, key, pgmsg(s, r));
    } else if (PQntuples(r) == 0) {
        found = 0;
    } else {
        *val = get_i64(r, 0, 0);
        found = 1;
    }
    PQclear(r);
    return found;
}

static int pg_meta_set(store *h, const char *key, int64_t val, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!key || !*key) {
        seterr(err, errlen, "%s: meta set: empty key", s->label);
        return -1;
    }
    if (strcmp(key, "schema_version") == 0) {
        seterr(err, errlen, "%s: meta set: schema_version belongs to the store", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, val);
    const char *v[2] = {key, num};
    PGresult *r = PQexecPrepared(s->conn, "meta_set", 2, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        seterr(err, errlen, "%s: meta set %s: %s", s->label, key, pgmsg(s, r));
    PQclear(r);
    return rc;
}

static int pg_node_set(store *h, const char *node, int state, const char *reason, char *err,
                       size_t errlen)
{
    pg_store *s = P(h);
    if (!node || !*node) {
        seterr(err, errlen, "%s: node set: empty node name", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    char num[16];
    snprintf(num, sizeof num, "%d", state);
    const char *v[3] = {node, num, reason ? reason : ""};
    PGresult *r = PQexecPrepared(s->conn, "node_set", 3, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        seterr(err, errlen, "%s: node set %s: %s", s->label, node, pgmsg(s, r));
    PQclear(r);
    return rc;
}

static int pg_nodes_load(store *h, store_node_fn fn, void *arg, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!fn) {
        seterr(err, errlen, "%s: load nodes: no callback", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load nodes: called from a loader's callback", s->label);
        return -1;
    }
    PGresult *r = PQexecPrepared(s->conn, "nodes_load", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: load nodes: %s", s->label, pgmsg(s, r));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), count = 0;
    s->loading = 1;
    for (int i = 0; i < rows; i++) {
        count++;
        if (fn(PQgetvalue(r, i, 0), (int)get_i64(r, i, 1), PQgetvalue(r, i, 2), arg))
            break;
    }
    s->loading = 0;
    PQclear(r);
    return count;
}

static int pg_resv_put(store *h, const char *name, const char *body, char *err,
                       size_t errlen)
{
    pg_store *s = P(h);
    if (!name || !*name || !body || !*body) {
        seterr(err, errlen, "%s: reservation: empty name or body", s->label);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    const char *v[2] = {name, body};
    /* one statement outside BEGIN: its own transaction */
    PGresult *r = PQexecPrepared(s->conn, "resv_put", 2, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        seterr(err, errlen, "%s: reservation %s: %s", s->label, name, pgmsg(s, r));
    PQclear(r);
    return rc;
}

static int pg_resv_delete(store *h, const char *name, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->label);
        return -1;
    }
    const char *v[1] = {name ? name : ""};
    PGresult *r = PQexecPrepared(s->conn, "resv_delete", 1, v, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        rc = atoi(PQcmdTuples(r)) > 0;
    else
        seterr(err, errlen, "%s: delete reservation %s: %s", s->label, v[0], pgmsg(s, r));
    PQclear(r);
    return rc;
}

static int pg_resv_load(store *h, store_resv_fn fn, void *arg, char *err, size_t errlen)
{
    pg_store *s = P(h);
    if (!fn || s->loading) {
        seterr(err, errlen, "%s: load reservations: %s", s->label,
               fn ? "called from a loader's callback" : "no callback");
        return -1;
    }
    PGresult *r = PQexecPrepared(s->conn, "resv_load", 0, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: load reservations: %s", s->label, pgmsg(s, r));
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r), count = 0;
    s->loading = 1;
    for (int i = 0; i < rows; i++) {
        count++;
        if (fn(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg))
            break;
    }
    s->loading = 0;
    PQclear(r);
    return count;
}

static void pg_close(store *h)
{
    pg_store *s = P(h);
    if (s->conn)
        PQfinish(s->conn);
    free(s);
}

/* Runs a query returning at most one integer: 1 and *val, 0 for no row / NULL. */
static int query_int(pg_store *s, const char *sql, int64_t *val, char *err, size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        seterr(err, errlen, "%s: %s", s->label, pgmsg(s, r));
    } else if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
        rc = 0;
    } else {
        *val = get_i64(r, 0, 0);
        rc = 1;
    }
    PQclear(r);
    return rc;
}

/* Creates the schema if missing, in one transaction; refuses a newer schema
 * and a database holding tables of these names but no schema version. */
static int schema(pg_store *s, char *err, size_t errlen)
{
    char sql[512];
    int64_t version = 0, others = 0;
    if (exec_ok(s, "BEGIN", "schema", err, errlen) != 0)
        return -1;
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%d)", GF_LOCK_KEY);
    if (exec_ok(s, sql, "schema lock", err, errlen) != 0)
        goto fail;
    int has_meta = query_int(s, "SELECT 1 WHERE to_regclass('meta') IS NOT NULL", &version, err,
                             errlen);
    if (has_meta < 0)
        goto fail;
    int has_version = 0;
    if (has_meta) {
        has_version = query_int(s, "SELECT value FROM meta WHERE key = 'schema_version'",
                                &version, err, errlen);
        if (has_version < 0)
            goto fail;
    }
    if (!has_version && query_int(s,
                                  "SELECT (to_regclass('jobs') IS NOT NULL)::int + "
                                  "(to_regclass('nodes') IS NOT NULL)::int + "
                                  "(to_regclass('accounting') IS NOT NULL)::int + "
                                  "(to_regclass('admin_log') IS NOT NULL)::int + "
                                  "(to_regclass('reservations') IS NOT NULL)::int",
                                  &others, err, errlen) < 0)
        goto fail;
    if (store_schema_check(s->label, has_version, version, others, &version, err, errlen) != 0)
        goto fail;
    if (version < STORE_SCHEMA_VERSION) {
        if (exec_ok(s,
                    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT "
                    "NULL)",
                    "create schema", err, errlen) != 0)
            goto fail;
        for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
            snprintf(sql, sizeof sql, "migrate schema %lld to %lld", (long long)v,
                     (long long)v + 1);
            if (exec_ok(s, v == 0 ? schema_v1 : migrations[v], sql, err, errlen) != 0)
                goto fail;
        }
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta (key, value) VALUES ('schema_version', %d) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 STORE_SCHEMA_VERSION);
        if (exec_ok(s, sql, "create schema", err, errlen) != 0)
            goto fail;
    }
    if (exec_ok(s, "COMMIT", "schema commit", err, errlen) != 0)
        goto fail;
    return 0;
fail:
    rollback(s);
    return -1;
}

static int prepare(pg_store *s, const char *name, const char *sql, int nparams,
                   const Oid *types, char *err, size_t errlen)
{
    PGresult *r = PQprepare(s->conn, name, sql, nparams, types);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        seterr(err, errlen, "%s: prepare %s: %s", s->label, name, pgmsg(s, r));
    PQclear(r);
    return ok ? 0 : -1;
}

static int prepare_all(pg_store *s, char *err, size_t errlen)
{
    for (size_t k = 0; k < INSERT_CHUNK * NCOLS; k++)
        s->types[k] = col_is_text[k % NCOLS] ? TEXTOID : INT8OID;
    char *ins = insert_sql(INSERT_CHUNK);
    if (!ins) {
        seterr(err, errlen, "%s: out of memory", s->label);
        return -1;
    }
    int rc = prepare(s, "ins_chunk", ins, INSERT_CHUNK * NCOLS, s->types, err, errlen);
    free(ins);
    if (rc)
        return -1;
    const Oid i8[1] = {INT8OID};
    const Oid text[3] = {TEXTOID, INT8OID, TEXTOID};
    if (prepare(s, "upd",
                "UPDATE jobs SET array_job_id = $2, array_task_id = $3, uid = $4, gid = $5, "
                "username = $6, account = $7, name = $8, pool = $9, qos = $10, state = $11, "
                "held = $12, submit_time = $13, start_time = $14, end_time = $15, "
                "time_limit = $16, gpus = $17, nodes = $18, exit_code = $19, restarts = $20, "
                "nodelist = $21, gpu_seconds = $22, preempt_at = $23, preempt_by = $24, "
                "preempt_signal = $25 WHERE id = $1",
                NCOLS - 1, s->types, err, errlen) ||
        prepare(s, "purge",
                "DELETE FROM jobs WHERE end_time > 0 AND end_time < $1 AND (state BETWEEN 2 AND 6 OR state = 8)",
                1, i8, err, errlen) ||
        prepare(s, "load", "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id", 0, NULL, err,
                errlen) ||
        prepare(s, "get", "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", 1, i8, err,
                errlen) ||
        prepare(s, "meta_get", "SELECT value FROM meta WHERE key = $1", 1, text, err, errlen) ||
        prepare(s, "meta_set",
                "INSERT INTO meta (key, value) VALUES ($1, $2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                2, text, err, errlen) ||
        prepare(s, "node_set",
                "INSERT INTO nodes (name, state, reason) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                "reason = excluded.reason",
                3, text, err, errlen) ||
        prepare(s, "nodes_load", "SELECT name, state, reason FROM nodes ORDER BY name", 0, NULL,
                err, errlen) ||
        /* a record written again replaces the first (store.h); text parameters,
         * their types from the columns */
        prepare(s, "usage_put",
                "INSERT INTO accounting (" USAGE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, "
                "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) "
                "ON CONFLICT (job_id, run) DO UPDATE SET uid = excluded.uid, "
                "username = excluded.username, project = excluded.project, "
                "tier = excluded.tier, org = excluded.org, qos = excluded.qos, "
                "pool = excluded.pool, allocation = excluded.allocation, "
                "state = excluded.state, gpus = excluded.gpus, nodes = excluded.nodes, "
                "nodelist = excluded.nodelist, submit_time = excluded.submit_time, "
                "start_time = excluded.start_time, end_time = excluded.end_time, "
                "exit_code = excluded.exit_code, gpu_seconds = excluded.gpu_seconds, "
                "rate = excluded.rate, charge = excluded.charge",
                0, NULL, err, errlen) ||
        prepare(s, "usage_load",
                "SELECT " USAGE_COLUMNS " FROM accounting WHERE end_time >= $1 AND "
                "end_time < $2 ORDER BY end_time, job_id, run",
                0, NULL, err, errlen) ||
        prepare(s, "admin_add",
                "INSERT INTO admin_log (at, kind, body) VALUES ($1, $2, $3) RETURNING seq", 0,
                NULL, err, errlen) ||
        prepare(s, "admin_load", "SELECT seq, at, kind, body FROM admin_log ORDER BY seq", 0,
                NULL, err, errlen) ||
        prepare(s, "resv_put",
                "INSERT INTO reservations (name, body) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                0, NULL, err, errlen) ||
        prepare(s, "resv_delete", "DELETE FROM reservations WHERE name = $1", 0, NULL, err,
                errlen) ||
        prepare(s, "resv_load", "SELECT name, body FROM reservations ORDER BY name", 0, NULL,
                err, errlen))
        return -1;
    return 0;
}

store *store_open_pg(const char *conninfo, char *err, size_t errlen)
{
    if (!conninfo) {
        seterr(err, errlen, "store: no PostgreSQL connection string");
        return NULL;
    }
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        seterr(err, errlen, "store: out of memory");
        return NULL;
    }
    s->base.ops = &pg_ops;
    snprintf(s->label, sizeof s->label, "postgresql");
    s->conn = PQconnectdb(conninfo);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        seterr(err, errlen, "postgresql: cannot connect: %s",
               s->conn ? pgmsg(s, NULL) : "out of memory");
        goto fail;
    }
    snprintf(s->label, sizeof s->label, "postgresql:%s", PQdb(s->conn));
    if (PQsetClientEncoding(s->conn, "UTF8") != 0) {
        seterr(err, errlen, "%s: cannot set client encoding UTF8: %s", s->label, pgmsg(s, NULL));
        goto fail;
    }
    /* a COMMIT must mean durable (store.h); refuse a session where it cannot */
    if (exec_ok(s, "SET synchronous_commit = on", "configure", err, errlen) != 0)
        goto fail;
    /* the schema's CREATE ... IF NOT EXISTS notices are not for the user's terminal */
    if (exec_ok(s, "SET client_min_messages = warning", "configure", err, errlen) != 0)
        goto fail;
    if (schema(s, err, errlen) != 0 || prepare_all(s, err, errlen) != 0)
        goto fail;
    return &s->base;
fail:
    pg_close(&s->base);
    return NULL;
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .jobs_insert = pg_jobs_insert,
    .jobs_update = pg_jobs_update,
    .jobs_delete_before = pg_jobs_delete_before,
    .jobs_load = pg_jobs_load,
    .job_get = pg_job_get,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .node_set = pg_node_set,
    .nodes_load = pg_nodes_load,
    .jobs_update_usage = update_with_usage,
    .usage_load = pg_usage_load,
    .admin_append = pg_admin_append,
    .admin_load = pg_admin_load,
    .resv_put = pg_resv_put,
    .resv_delete = pg_resv_delete,
    .resv_load = pg_resv_load,
};
