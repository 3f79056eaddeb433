/*
 * The SQLite backend of libstore.
 *
 * Why these settings:
 *   - journal_mode=WAL: a commit appends to the write-ahead log instead of
 *     rewriting pages in place, so one commit costs one sequential write and
 *     one fsync, and readers (e.g. `fleet` tools) never block the writer.
 *   - synchronous=FULL: in WAL mode, NORMAL syncs only at checkpoints, so the
 *     last commits could vanish on power loss although COMMIT returned. A
 *     submission is acknowledged once COMMIT returns, so the WAL must be
 *     fsync'ed at every commit: FULL. Group commit (many jobs per call, see
 *     store.h) keeps the cost at one fsync per batch, not per job.
 *   - BEGIN IMMEDIATE: takes the write lock at the start, so a busy database
 *     fails (after busy_timeout) before anything is written, never halfway.
 *   - Statements are prepared once at open and reused: parsing SQL for each
 *     row would dominate bulk inserts.
 */
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_schema.h"

/* "GFLT": marks the file as a gpufleet state database (PRAGMA application_id),
 * so that another application's SQLite file is refused, not modified. */
#define GF_APPLICATION_ID 0x47464c54
#define BUSY_TIMEOUT_MS 5000
/* After a checkpoint, truncate the WAL to this size: it otherwise keeps its
 * high-water size (e.g. after a 100,000-job import) forever. Below it, the
 * WAL file is reused in place: no file growth (and no filesystem journal
 * commit) on the fsync of each commit. */
#define WAL_SIZE_LIMIT (64 * 1024 * 1024)
/* Page cache of the connection, in KiB: a batch of 10,000 jobs (~6 MB) must
 * fit, or SQLite spills dirty pages into the WAL in the middle of the
 * transaction and writes them twice. */
#define CACHE_KIB (64 * 1024)
/* Checkpoint (copy the WAL back into the database, two more fsyncs) once the
 * WAL holds this many pages (4 KiB each). A checkpoint runs inside the commit
 * that crosses the mark, so the default (1,000 pages, 4 MB) would put one in
 * nearly every large batch; 8,192 pages (32 MB) makes them rare, and keeps
 * crash recovery (replaying the WAL at open) well under a second. */
#define WAL_CHECKPOINT_PAGES 8192

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE_BEFORE,
    ST_LOAD,
    ST_GET,
    ST_META_GET,
    ST_META_SET,
    ST_NODE_SET,
    ST_NODES_LOAD,
    ST_USAGE_PUT,
    ST_USAGE_LOAD,
    ST_ADMIN_ADD,
    ST_ADMIN_LOAD,
    ST_RESV_PUT,
    ST_RESV_DELETE,
    ST_RESV_LOAD,
    ST_COUNT
};

/* The job columns, in the order of the bind parameters ?1..?26 and of the
 * result columns 0..25 (spec_json last: JOB_SPEC, 0-based). "username", not
 * "user": USER is reserved in SQL (and in PostgreSQL), and a second backend
 * should be able to share the schema. */
#define JOB_COLUMNS                                                                             \
    "id, array_job_id, array_task_id, uid, gid, username, account, name, pool, qos, state, "  \
    "held, submit_time, start_time, end_time, time_limit, gpus, nodes, exit_code, restarts, " \
    "nodelist, gpu_seconds, preempt_at, preempt_by, preempt_signal, spec_json"
#define JOB_SPEC 25

/* The accounting columns, in the order of the bind parameters ?1..?21 and of
 * the result columns 0..20. */
#define USAGE_COLUMNS                                                                          \
    "job_id, run, uid, username, project, tier, org, qos, pool, allocation, state, gpus, "   \
    "nodes, nodelist, submit_time, start_time, end_time, exit_code, gpu_seconds, rate, charge"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT] = "INSERT INTO jobs (" JOB_COLUMNS ") VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
                  "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
    [ST_UPDATE] = "UPDATE jobs SET array_job_id = ?2, array_task_id = ?3, uid = ?4, gid = ?5, "
                  "username = ?6, account = ?7, name = ?8, pool = ?9, qos = ?10, state = ?11, "
                  "held = ?12, submit_time = ?13, start_time = ?14, end_time = ?15, "
                  "time_limit = ?16, gpus = ?17, nodes = ?18, exit_code = ?19, restarts = ?20, "
                  "nodelist = ?21, gpu_seconds = ?22, preempt_at = ?23, preempt_by = ?24, "
                  "preempt_signal = ?25 WHERE id = ?1",
    /* finished states only: COMPLETED .. NODE_FAIL and PREEMPTED (a REQUEUED
     * job is alive) */
    [ST_DELETE_BEFORE] = "DELETE FROM jobs WHERE end_time > 0 AND end_time < ?1 "
                         "AND (state BETWEEN 2 AND 6 OR state = 8)",
    [ST_LOAD] = "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id",
    [ST_GET] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [ST_NODE_SET] = "INSERT INTO nodes (name, state, reason) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                    "reason = excluded.reason",
    [ST_NODES_LOAD] = "SELECT name, state, reason FROM nodes ORDER BY name",
    /* a record written again replaces the first (store.h) */
    [ST_USAGE_PUT] = "INSERT OR REPLACE INTO accounting (" USAGE_COLUMNS ") VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                     "?17, ?18, ?19, ?20, ?21)",
    [ST_USAGE_LOAD] = "SELECT " USAGE_COLUMNS " FROM accounting WHERE end_time >= ?1 AND "
                      "end_time < ?2 ORDER BY end_time, job_id, run",
    [ST_ADMIN_ADD] = "INSERT INTO admin_log (at, kind, body) VALUES (?1, ?2, ?3)",
    [ST_ADMIN_LOAD] = "SELECT seq, at, kind, body FROM admin_log ORDER BY seq",
    [ST_RESV_PUT] = "INSERT INTO reservations (name, body) VALUES (?1, ?2) "
                    "ON CONFLICT (name) DO UPDATE SET body = excluded.body",
    [ST_RESV_DELETE] = "DELETE FROM reservations WHERE name = ?1",
    [ST_RESV_LOAD] = "SELECT name, body FROM reservations ORDER BY name",
};

/* Schema migrations: migrations[v] brings a database from version v to v+1.
 * All run in one transaction at open, so a crash mid-upgrade leaves the old
 * schema intact. Never edit a released step; append a new one. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY," /* the rowid: id order for free, no extra index */
    " array_job_id INTEGER NOT NULL,"
    " array_task_id INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " gid INTEGER NOT NULL,"
    " username TEXT NOT NULL,"
    " account TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " pool TEXT NOT NULL,"
    " qos TEXT NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 8),"
    " held INTEGER NOT NULL CHECK (held IN (0, 1)),"
    " submit_time INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL,"
    " end_time INTEGER NOT NULL,"
    " time_limit INTEGER NOT NULL,"
    " gpus INTEGER NOT NULL,"
    " nodes INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL,"
    " restarts INTEGER NOT NULL,"
    " nodelist TEXT NOT NULL,"
    " gpu_seconds INTEGER NOT NULL,"
    " spec_json TEXT);"
    /* for the purge of old jobs; partial, so that inserting pending jobs
     * (end_time 0) costs no index update */
    "CREATE INDEX jobs_end_time ON jobs (end_time) WHERE end_time > 0;"
    "CREATE TABLE nodes ("
    " name TEXT PRIMARY KEY,"
    " state INTEGER NOT NULL,"
    " reason TEXT NOT NULL) WITHOUT ROWID;",
    /* 1 -> 2: accounting records (one per run of a job) and the admin log */
    "CREATE TABLE accounting ("
    " job_id INTEGER NOT NULL,"
    " run INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " username TEXT NOT NULL,"
    " project TEXT NOT NULL,"
    " tier TEXT NOT NULL,"
    " org TEXT NOT NULL,"
    " qos TEXT NOT NULL,"
    " pool TEXT NOT NULL,"
    " allocation TEXT NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 8),"
    " gpus INTEGER NOT NULL,"
    " nodes INTEGER NOT NULL,"
    " nodelist TEXT NOT NULL,"
    " submit_time INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL,"
    " end_time INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL,"
    " gpu_seconds INTEGER NOT NULL,"
    " rate REAL NOT NULL,"
    " charge REAL NOT NULL,"
    " PRIMARY KEY (job_id, run)) WITHOUT ROWID;"
    /* reports and the replay at startup read records by end time */
    "CREATE INDEX accounting_end_time ON accounting (end_time);"
    "CREATE TABLE admin_log ("
    " seq INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " body TEXT NOT NULL);",
    /* 2 -> 3: operators' reservations of nodes (fleetd's JSON definition) */
    "CREATE TABLE reservations ("
    " name TEXT PRIMARY KEY,"
    " body TEXT NOT NULL) WITHOUT ROWID;",
    /* 3 -> 4: a preemption victim's marks (its run is being preempted), so
     * that a restarted fleetd knows them; 0 on every existing row */
    "ALTER TABLE jobs ADD COLUMN preempt_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN preempt_by INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN preempt_signal INTEGER NOT NULL DEFAULT 0;",
};

typedef struct sqlite_store {
    struct store base; /* first: a store* is a sqlite_store* */
    sqlite3 *db;
    char *path;        /* for messages */
    sqlite3_stmt *st[ST_COUNT];
    int loading;       /* a loader's callback is running: refuse writes and re-entry */
    char *scratch;     /* spec_json of the row being passed to a loader's callback */
    size_t scratch_cap;
} sqlite_store;

static const struct store_ops sqlite_ops;

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static sqlite_store *S(store *s)
{
    return (sqlite_store *)s;
}

/* Runs a statement that returns no row, then resets it. The message is taken
 * before the reset so that it describes the step that failed. */
static int run_once(sqlite_store *s, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        seterr(err, errlen, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static void rollback(sqlite_store *s)
{
    /* After some errors (e.g. SQLITE_FULL, SQLITE_IOERR) SQLite has already
     * rolled back; a second ROLLBACK would fail, so ask first. */
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->st[ST_ROLLBACK]);
        sqlite3_reset(s->st[ST_ROLLBACK]);
    }
}

static int begin(sqlite_store *s, char *err, size_t errlen)
{
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    return run_once(s, s->st[ST_BEGIN], "begin", err, errlen);
}

/* COMMIT, or ROLLBACK if it fails: either way the handle is back in
 * autocommit mode. Returns 0 only when COMMIT succeeded, i.e. (with
 * synchronous=FULL) the transaction is on disk. */
static int commit(sqlite_store *s, char *err, size_t errlen)
{
    if (run_once(s, s->st[ST_COMMIT], "commit", err, errlen) == 0)
        return 0;
    rollback(s);
    return -1;
}

static int bind_fixed(sqlite3_stmt *st, int i, const char *field, size_t size)
{
    /* strnlen: a field that fills its array without a NUL is stored up to its
     * end, never read past it */
    return sqlite3_bind_text(st, i, field, (int)strnlen(field, size), SQLITE_STATIC);
}

static const char *state_ok(const store_job *j)
{
    if (j->id <= 0)
        return "id must be positive";
    if (j->state < STORE_PENDING || j->state > STORE_PREEMPTED)
        return "state out of range";
    if (j->spec_json && strlen(j->spec_json) > INT_MAX)
        return "spec_json is larger than 2 GiB";
    return NULL;
}

/* Binds ?1..?25 (every column but spec_json) from j. */
static int bind_job(sqlite3_stmt *st, const store_job *j)
{
    int rc = SQLITE_OK;
#define B(x)                                                                                    \
    do {                                                                                        \
        if (rc == SQLITE_OK)                                                                    \
            rc = (x);                                                                           \
    } while (0)
    B(sqlite3_bind_int64(st, 1, j->id));
    B(sqlite3_bind_int64(st, 2, j->array_job_id));
    B(sqlite3_bind_int64(st, 3, j->array_task_id));
    B(sqlite3_bind_int64(st, 4, j->uid));
    B(sqlite3_bind_int64(st, 5, j->gid));
    B(bind_fixed(st, 6, j->user, sizeof j->user));
    B(bind_fixed(st, 7, j->account, sizeof j->account));
    B(bind_fixed(st, 8, j->name, sizeof j->name));
    B(bind_fixed(st, 9, j->pool, sizeof j->pool));
    B(bind_fixed(st, 10, j->qos, sizeof j->qos));
    B(sqlite3_bind_int64(st, 11, j->state));
    B(sqlite3_bind_int64(st, 12, j->held != 0));
    B(sqlite3_bind_int64(st, 13, j->submit_time));
    B(sqlite3_bind_int64(st, 14, j->start_time));
    B(sqlite3_bind_int64(st, 15, j->end_time));
    B(sqlite3_bind_int64(st, 16, j->time_limit));
    B(sqlite3_bind_int64(st, 17, j->gpus));
    B(sqlite3_bind_int64(st, 18, j->nodes));
    B(sqlite3_bind_int64(st, 19, j->exit_code));
    B(sqlite3_bind_int64(st, 20, j->restarts));
    B(bind_fixed(st, 21, j->nodelist, sizeof j->nodelist));
    B(sqlite3_bind_int64(st, 22, j->gpu_seconds));
    B(sqlite3_bind_int64(st, 23, j->preempt_at));
    B(sqlite3_bind_int64(st, 24, j->preempt_by));
    B(sqlite3_bind_int64(st, 25, j->preempt_signal));
#undef B
    return rc;
}

/* Copies a text column into a fixed array, truncated to fit: the store only
 * writes what fits, so a longer value is another writer's, and is cut, not
 * allowed to overflow. */
static void col_fixed(sqlite3_stmt *st, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

/* Fills j from the current row, all but spec_json. */
static void row_job(sqlite3_stmt *st, store_job *j)
{
    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    j->array_job_id = sqlite3_column_int64(st, 1);
    j->array_task_id = (int32_t)sqlite3_column_int64(st, 2);
    j->uid = (uint32_t)sqlite3_column_int64(st, 3);
    j->gid = (uint32_t)sqlite3_column_int64(st, 4);
    col_fixed(st, 5, j->user, sizeof j->user);
    col_fixed(st, 6, j->account, sizeof j->account);
    col_fixed(st, 7, j->name, sizeof j->name);
    col_fixed(st, 8, j->pool, sizeof j->pool);
    col_fixed(st, 9, j->qos, sizeof j->qos);
    j->state = (int)sqlite3_column_int64(st, 10);
    j->held = sqlite3_column_int64(st, 11) != 0;
    j->submit_time = sqlite3_column_int64(st, 12);
    j->start_time = sqlite3_column_int64(st, 13);
    j->end_time = sqlite3_column_int64(st, 14);
    j->time_limit = sqlite3_column_int64(st, 15);
    j->gpus = (int32_t)sqlite3_column_int64(st, 16);
    j->nodes = (int32_t)sqlite3_column_int64(st, 17);
    j->exit_code = (int32_t)sqlite3_column_int64(st, 18);
    j->restarts = (int32_t)sqlite3_column_int64(st, 19);
    col_fixed(st, 20, j->nodelist, sizeof j->nodelist);
    j->gpu_seconds = sqlite3_column_int64(st, 21);
    j->preempt_at = sqlite3_column_int64(st, 22);
    j->preempt_by = sqlite3_column_int64(st, 23);
    j->preempt_signal = (int32_t)sqlite3_column_int64(st, 24);
}

static const char *usage_ok(const store_usage *u)
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

/* Binds ?1..?21 of ST_USAGE_PUT from u. */
static int bind_usage(sqlite3_stmt *st, const store_usage *u)
{
    int rc = SQLITE_OK;
#define B(x)                                                                                    \
    do {                                                                                        \
        if (rc == SQLITE_OK)                                                                    \
            rc = (x);                                                                           \
    } while (0)
    B(sqlite3_bind_int64(st, 1, u->job_id));
    B(sqlite3_bind_int64(st, 2, u->run));
    B(sqlite3_bind_int64(st, 3, u->uid));
    B(bind_fixed(st, 4, u->user, sizeof u->user));
    B(bind_fixed(st, 5, u->project, sizeof u->project));
    B(bind_fixed(st, 6, u->tier, sizeof u->tier));
    B(bind_fixed(st, 7, u->org, sizeof u->org));
    B(bind_fixed(st, 8, u->qos, sizeof u->qos));
    B(bind_fixed(st, 9, u->pool, sizeof u->pool));
    B(bind_fixed(st, 10, u->allocation, sizeof u->allocation));
    B(sqlite3_bind_int64(st, 11, u->state));
    B(sqlite3_bind_int64(st, 12, u->gpus));
    B(sqlite3_bind_int64(st, 13, u->nodes));
    B(bind_fixed(st, 14, u->nodelist, sizeof u->nodelist));
    B(sqlite3_bind_int64(st, 15, u->submit_time));
    B(sqlite3_bind_int64(st, 16, u->start_time));
    B(sqlite3_bind_int64(st, 17, u->end_time));
    B(sqlite3_bind_int64(st, 18, u->exit_code));
    B(sqlite3_bind_int64(st, 19, u->gpu_seconds));
    B(sqlite3_bind_double(st, 20, u->rate));
    B(sqlite3_bind_double(st, 21, u->charge));
#undef B
    return rc;
}

/* Fills u from the current row of ST_USAGE_LOAD. */
static void row_usage(sqlite3_stmt *st, store_usage *u)
{
    memset(u, 0, sizeof *u);
    u->job_id = sqlite3_column_int64(st, 0);
    u->run = (int32_t)sqlite3_column_int64(st, 1);
    u->uid = (uint32_t)sqlite3_column_int64(st, 2);
    col_fixed(st, 3, u->user, sizeof u->user);
    col_fixed(st, 4, u->project, sizeof u->project);
    col_fixed(st, 5, u->tier, sizeof u->tier);
    col_fixed(st, 6, u->org, sizeof u->org);
    col_fixed(st, 7, u->qos, sizeof u->qos);
    col_fixed(st, 8, u->pool, sizeof u->pool);
    col_fixed(st, 9, u->allocation, sizeof u->allocation);
    u->state = (int)sqlite3_column_int64(st, 10);
    u->gpus = (int32_t)sqlite3_column_int64(st, 11);
    u->nodes = (int32_t)sqlite3_column_int64(st, 12);
    col_fixed(st, 13, u->nodelist, sizeof u->nodelist);
    u->submit_time = sqlite3_column_int64(st, 14);
    u->start_time = sqlite3_column_int64(st, 15);
    u->end_time = sqlite3_column_int64(st, 16);
    u->exit_code = (int32_t)sqlite3_column_int64(st, 17);
    u->gpu_seconds = sqlite3_column_int64(st, 18);
    u->rate = sqlite3_column_double(st, 19);
    u->charge = sqlite3_column_double(st, 20);
}

/* Writes m accounting records inside the open transaction. 0, or -1 with
 * the message (the caller rolls back). */
static int put_usage(sqlite_store *s, const store_usage *recs, size_t m, char *err, size_t errlen)
{
    sqlite3_stmt *st = s->st[ST_USAGE_PUT];
    int ok = 1;
    for (size_t i = 0; i < m && ok; i++) {
        if (bind_usage(st, &recs[i]) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
            seterr(err, errlen, "%s: accounting record of job %lld run %d: %s", s->path,
                   (long long)recs[i].job_id, (int)recs[i].run, sqlite3_errmsg(s->db));
            ok = 0;
        }
        sqlite3_reset(st);
    }
    sqlite3_clear_bindings(st);
    return ok ? 0 : -1;
}

/* Inserts or updates a batch of jobs and writes m accounting records, in
 * one transaction. */
static int write_jobs(store *h, const store_job *jobs, size_t n, int insert,
                      const store_usage *recs, size_t m, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    const char *verb = insert ? "insert" : "update";
    if (n == 0 && m == 0)
        return 0;
    if ((n && !jobs) || (m && !recs)) {
        seterr(err, errlen, "%s: %s: no %s given", s->path, verb, n && !jobs ? "jobs" : "records");
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        const char *why = usage_ok(&recs[i]);
        if (why) {
            seterr(err, errlen, "%s: accounting record of job %lld: %s", s->path,
                   (long long)recs[i].job_id, why);
            return -1;
        }
    }
    /* validate everything first: a bad record is the caller's error, better
     * named as such than as a constraint failure from SQLite */
    for (size_t i = 0; i < n; i++) {
        const char *why = state_ok(&jobs[i]);
        if (why) {
            seterr(err, errlen, "%s: %s job %lld: %s", s->path, verb, (long long)jobs[i].id,
                   why);
            return -1;
        }
    }
    if (begin(s, err, errlen) != 0)
        return -1;
    sqlite3_stmt *st = s->st[insert ? ST_INSERT : ST_UPDATE];
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        const store_job *j = &jobs[i];
        int rc = bind_job(st, j);
        if (rc == SQLITE_OK && insert)
            rc = j->spec_json ? sqlite3_bind_text(st, JOB_SPEC + 1, j->spec_json,
                                                  (int)strlen(j->spec_json), SQLITE_STATIC)
                              : sqlite3_bind_null(st, JOB_SPEC + 1);
        if (rc != SQLITE_OK) {
            seterr(err, errlen, "%s: %s job %lld: %s", s->path, verb, (long long)j->id,
                   sqlite3_errmsg(s->db));
            ok = 0;
            break;
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
                seterr(err, errlen, "%s: insert job %lld: a job with this id already exists",
                       s->path, (long long)j->id);
            else
                seterr(err, errlen, "%s: %s job %lld: %s", s->path, verb, (long long)j->id,
                       sqlite3_errmsg(s->db));
            ok = 0;
        } else if (!insert && sqlite3_changes(s->db) != 1) {
            seterr(err, errlen, "%s: update job %lld: no such job", s->path, (long long)j->id);
            ok = 0;
        }
        sqlite3_reset(st);
    }
    /* drop the borrowed pointers into the caller's records */
    sqlite3_clear_bindings(st);
    if (ok && m && put_usage(s, recs, m, err, errlen) != 0)
        ok = 0;
    if (!ok) {
        rollback(s);
        return -1;
    }
    return commit(s, err, errlen);
}

static int sq_jobs_insert(store *h, const store_job *jobs, size_t n, char *err, size_t errlen)
{
    return write_jobs(h, jobs, n, 1, NULL, 0, err, errlen);
}

static int sq_jobs_update(store *h, const store_job *jobs, size_t n, char *err, size_t errlen)
{
    return write_jobs(h, jobs, n, 0, NULL, 0, err, errlen);
}

static int sq_jobs_update_usage(store *h, const store_job *jobs, size_t n,
                                const store_usage *recs, size_t m, char *err, size_t errlen)
{
    return write_jobs(h, jobs, n, 0, recs, m, err, errlen);
}

static int sq_usage_load(store *h, int64_t since, int64_t until, store_usage_fn fn, void *arg,
                         char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!fn) {
        seterr(err, errlen, "%s: load accounting: no callback", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load accounting: called from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_USAGE_LOAD];
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, until);
    store_usage u;
    int count = 0, rc;
    s->loading = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_usage(st, &u);
        count++;
        if (fn(&u, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    s->loading = 0;
    if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s: load accounting: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? count : -1;
}

static int sq_admin_append(store *h, int64_t at, const char *kind, const char *body,
                           int64_t *seq, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!kind || !*kind || !body || !*body) {
        seterr(err, errlen, "%s: admin log: empty kind or body", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    /* one statement in autocommit mode: its own durable transaction */
    sqlite3_stmt *st = s->st[ST_ADMIN_ADD];
    sqlite3_bind_int64(st, 1, at);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    int rc = run_once(s, st, "admin log", err, errlen);
    sqlite3_clear_bindings(st);
    if (rc == 0 && seq)
        *seq = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_admin_load(store *h, store_admin_fn fn, void *arg, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!fn) {
        seterr(err, errlen, "%s: load admin log: no callback", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load admin log: called from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_ADMIN_LOAD];
    int count = 0, rc;
    s->loading = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *kind = sqlite3_column_text(st, 2);
        const unsigned char *body = sqlite3_column_text(st, 3);
        count++;
        if (fn(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
               kind ? (const char *)kind : "", body ? (const char *)body : "", arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    s->loading = 0;
    if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s: load admin log: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? count : -1;
}

static int sq_jobs_delete_before(store *h, int64_t end_before, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (begin(s, err, errlen) != 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_DELETE_BEFORE];
    sqlite3_bind_int64(st, 1, end_before);
    if (run_once(s, st, "purge", err, errlen) != 0) {
        rollback(s);
        return -1;
    }
    int n = sqlite3_changes(s->db);
    if (commit(s, err, errlen) != 0)
        return -1;
    return n;
}

/* Copies spec_json of the current row into the handle's scratch buffer (no
 * malloc per row; the loader's record is valid only during the callback). */
static int row_spec_scratch(sqlite_store *s, sqlite3_stmt *st, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return -1; /* out of memory converting the value */
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n + 1 > s->scratch_cap) {
        size_t cap = s->scratch_cap ? s->scratch_cap : 4096;
        while (cap < n + 1)
            cap *= 2;
        char *p = realloc(s->scratch, cap);
        if (!p)
            return -1;
        s->scratch = p;
        s->scratch_cap = cap;
    }
    memcpy(s->scratch, t, n);
    s->scratch[n] = '\0';
    *out = s->scratch;
    return 0;
}

static int sq_jobs_load(store *h, store_job_fn fn, void *arg, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!fn) {
        seterr(err, errlen, "%s: load jobs: no callback", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load jobs: called from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_LOAD];
    store_job j;
    int count = 0, rc;
    s->loading = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_job(st, &j);
        if (row_spec_scratch(s, st, JOB_SPEC, &j.spec_json) != 0) {
            seterr(err, errlen, "%s: load jobs: out of memory at job %lld", s->path,
                   (long long)j.id);
            rc = -1;
            break;
        }
        count++;
        if (fn(&j, arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    s->loading = 0;
    if (rc != SQLITE_DONE && rc != -1)
        seterr(err, errlen, "%s: load jobs: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? count : -1;
}

static int sq_job_get(store *h, int64_t id, store_job *out, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!out) {
        seterr(err, errlen, "%s: get job: no output record", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_GET];
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st), found = -1;
    if (rc == SQLITE_ROW) {
        row_job(st, out);
        found = 1;
        if (sqlite3_column_type(st, JOB_SPEC) != SQLITE_NULL) {
            const unsigned char *t = sqlite3_column_text(st, JOB_SPEC);
            size_t n = (size_t)sqlite3_column_bytes(st, JOB_SPEC);
            out->spec_json = t ? malloc(n + 1) : NULL;
            if (out->spec_json) {
                memcpy(out->spec_json, t, n);
                out->spec_json[n] = '\0';
            } else {
                seterr(err, errlen, "%s: get job %lld: out of memory", s->path, (long long)id);
                found = -1;
            }
        }
    } else if (rc == SQLITE_DONE) {
        found = 0;
    } else {
        seterr(err, errlen, "%s: get job %lld: %s", s->path, (long long)id,
               sqlite3_errmsg(s->db));
    }
    sqlite3_reset(st);
    return found;
}

static int sq_meta_get(store *h, const char *key, int64_t *val, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!key || !val) {
        seterr(err, errlen, "%s: meta get: no key or no output", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_META_GET];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), found = -1;
    if (rc == SQLITE_ROW) {
        *val = sqlite3_column_int64(st, 0);
        found = 1;
    } else if (rc == SQLITE_DONE) {
        found = 0;
    } else {
        seterr(err, errlen, "%s: meta get %s: %s", s->path, key, sqlite3_errmsg(s->db));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

static int sq_meta_set(store *h, const char *key, int64_t val, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!key || !*key) {
        seterr(err, errlen, "%s: meta set: empty key", s->path);
        return -1;
    }
    if (strcmp(key, "schema_version") == 0) {
        seterr(err, errlen, "%s: meta set: schema_version belongs to the store", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    /* one statement in autocommit mode: its own durable transaction */
    sqlite3_stmt *st = s->st[ST_META_SET];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, val);
    int rc = run_once(s, st, "meta set", err, errlen);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_node_set(store *h, const char *node, int state, const char *reason, char *err,
                       size_t errlen)
{
    sqlite_store *s = S(h);
    if (!node || !*node) {
        seterr(err, errlen, "%s: node set: empty node name", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_NODE_SET];
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, state);
    sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
    int rc = run_once(s, st, "node set", err, errlen);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_nodes_load(store *h, store_node_fn fn, void *arg, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!fn) {
        seterr(err, errlen, "%s: load nodes: no callback", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: load nodes: called from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_NODES_LOAD];
    int count = 0, rc;
    s->loading = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        const unsigned char *reason = sqlite3_column_text(st, 2);
        count++;
        if (fn(name ? (const char *)name : "", (int)sqlite3_column_int64(st, 1),
               reason ? (const char *)reason : "", arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    s->loading = 0;
    if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s: load nodes: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? count : -1;
}

static int sq_resv_put(store *h, const char *name, const char *body, char *err,
                       size_t errlen)
{
    sqlite_store *s = S(h);
    if (!name || !*name || !body || !*body) {
        seterr(err, errlen, "%s: reservation: empty name or body", s->path);
        return -1;
    }
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_RESV_PUT];
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
    int rc = run_once(s, st, "reservation put", err, errlen);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_resv_delete(store *h, const char *name, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (s->loading) {
        seterr(err, errlen, "%s: cannot write from a loader's callback", s->path);
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_RESV_DELETE];
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_STATIC);
    int rc = run_once(s, st, "reservation delete", err, errlen);
    sqlite3_clear_bindings(st);
    return rc != 0 ? -1 : sqlite3_changes(s->db) > 0;
}

static int sq_resv_load(store *h, store_resv_fn fn, void *arg, char *err, size_t errlen)
{
    sqlite_store *s = S(h);
    if (!fn || s->loading) {
        seterr(err, errlen, "%s: load reservations: %s", s->path,
               fn ? "called from a loader's callback" : "no callback");
        return -1;
    }
    sqlite3_stmt *st = s->st[ST_RESV_LOAD];
    int count = 0, rc;
    s->loading = 1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        const unsigned char *body = sqlite3_column_text(st, 1);
        count++;
        if (fn(name ? (const char *)name : "", body ? (const char *)body : "", arg)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    s->loading = 0;
    if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s: load reservations: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? count : -1;
}

static void sq_close(store *h)
{
    sqlite_store *s = S(h);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    /* the last connection's close checkpoints the WAL and removes it */
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s->scratch);
    free(s);
}

/* Runs a statement and returns its first column as an integer (*val), or
 * *has = 0 when it returns no row. */
static int query_int(sqlite_store *s, const char *sql, int64_t *val, int *has, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    int rc = sqlite3_step(st);
    *has = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        *val = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int exec(sqlite_store *s, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    seterr(err, errlen, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return -1;
}

/* Sets journal_mode=WAL and synchronous=FULL and checks that they took:
 * e.g. some network filesystems cannot do WAL, and silently running without
 * it would void the durability contract. */
static int configure(sqlite_store *s, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        /* the first read of the file: "file is not a database" shows here */
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return -1;
    }
    const unsigned char *mode = sqlite3_column_text(st, 0);
    if (!mode || strcmp((const char *)mode, "wal") != 0) {
        seterr(err, errlen, "%s: cannot use write-ahead logging (journal mode is %s)", s->path,
               mode ? (const char *)mode : "unknown");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    char sql[256];
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = %d; "
             "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d",
             WAL_SIZE_LIMIT, CACHE_KIB, WAL_CHECKPOINT_PAGES);
    if (exec(s, sql, err, errlen) != 0)
        return -1;
    int64_t sync = 0;
    int has = 0;
    if (query_int(s, "PRAGMA synchronous", &sync, &has, err, errlen) != 0)
        return -1;
    if (!has || sync < 2) { /* 2 = FULL, 3 = EXTRA */
        seterr(err, errlen, "%s: cannot set synchronous=FULL", s->path);
        return -1;
    }
    return 0;
}

/* Creates or migrates the schema, in one transaction; refuses a database of
 * a newer schema or of another application. */
static int schema(sqlite_store *s, char *err, size_t errlen)
{
    if (exec(s, "BEGIN IMMEDIATE", err, errlen) != 0)
        return -1;
    int64_t app = 0, tables = 0, version = 0;
    int has = 0, has_version = 0;
    if (query_int(s, "PRAGMA application_id", &app, &has, err, errlen) != 0)
        goto fail;
    if (app != 0 && app != GF_APPLICATION_ID) {
        seterr(err, errlen, "%s: not a gpufleet state database (application id 0x%08llx)",
               s->path, (unsigned long long)app);
        goto fail;
    }
    if (query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                  &tables, &has, err, errlen) != 0)
        goto fail;
    if (tables > 0 && query_int(s, "SELECT value FROM meta WHERE key = 'schema_version'",
                                &version, &has_version, err, errlen) != 0)
        goto fail;
    /* a new database must be empty, else it is someone else's */
    if (!has_version && query_int(s,
                                  "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE "
                                  "'sqlite_%' AND name <> 'meta'",
                                  &tables, &has, err, errlen) != 0)
        goto fail;
    if (store_schema_check(s->path, has_version, version, has_version ? 0 : tables, &version,
                           err, errlen) != 0)
        goto fail;
    if (version < STORE_SCHEMA_VERSION) {
        if (exec(s,
                 "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, "
                 "value INTEGER NOT NULL) WITHOUT ROWID",
                 err, errlen) != 0)
            goto fail;
        for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++)
            if (exec(s, migrations[v], err, errlen) != 0)
                goto fail;
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta (key, value) VALUES ('schema_version', %d) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value;"
                 "PRAGMA application_id = %d",
                 STORE_SCHEMA_VERSION, GF_APPLICATION_ID);
        if (exec(s, sql, err, errlen) != 0)
            goto fail;
    }
    if (exec(s, "COMMIT", err, errlen) != 0)
        goto fail;
    return 0;
fail:
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

store *store_open_sqlite(const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        seterr(err, errlen, "store: no state database path");
        return NULL;
    }
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        seterr(err, errlen, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    /* NOMUTEX: a handle is used by one thread at a time (store.h), so
     * SQLite's per-call connection mutex is pure cost (~15% of a bulk insert) */
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        seterr(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* another process (an admin tool, a backup) may hold the lock briefly */
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (configure(s, err, errlen) != 0 || schema(s, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            seterr(err, errlen, "%s: prepare: %s", path, sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    return &s->base;
fail:
    sq_close(&s->base);
    return NULL;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .jobs_insert = sq_jobs_insert,
    .jobs_update = sq_jobs_update,
    .jobs_delete_before = sq_jobs_delete_before,
    .jobs_load = sq_jobs_load,
    .job_get = sq_job_get,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .node_set = sq_node_set,
    .nodes_load = sq_nodes_load,
    .jobs_update_usage = sq_jobs_update_usage,
    .usage_load = sq_usage_load,
    .admin_append = sq_admin_append,
    .admin_load = sq_admin_load,
    .resv_put = sq_resv_put,
    .resv_delete = sq_resv_delete,
    .resv_load = sq_resv_load,
};
