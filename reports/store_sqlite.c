/*
 * store_sqlite.c - the SQLite backend of the report store (one MTA, one
 * file).
 *
 * Several processes may use the same file (an import from cron while a
 * build runs): the database is in WAL mode, every write transaction is
 * BEGIN IMMEDIATE (it takes the write lock at once, so two writers never
 * deadlock upgrading a read lock), and a busy handler waits up to
 * STORE_SQLITE_BUSY_MS for the lock.  The builder lock is an flock(2) on
 * "<db>.build.lock", released by the kernel if the process dies.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

#define STORE_SQLITE_BUSY_MS	60000

struct sqlite_be {
	sqlite3		*db;
	char		*path;
	int		 lockfd;	/* builder lock, -1 when not held */
	int		 last_rc;	/* the last SQLite result code */
};

struct store_stmt {
	struct store	*s;
	sqlite3_stmt	*st;
	long long	 changes;
};

static struct sqlite_be *
be_of(struct store *s)
{
	return s->be;
}

/* sq_error - remember SQLite's error for the store */
static void
sq_error(struct store *s, int rc, const char *what)
{
	struct sqlite_be *b = be_of(s);

	b->last_rc = rc;
	store_set_error(s, "sqlite %s: %s", what, b->db != NULL ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
}

/* sq_close - close the file */
static void
sq_close(struct store *s)
{
	struct sqlite_be *b = be_of(s);

	if (b == NULL)
		return;
	if (b->lockfd >= 0)
		close(b->lockfd);
	sqlite3_close_v2(b->db);
	free(b->path);
	free(b);
	s->be = NULL;
}

/* sq_exec - statements without parameters */
static int
sq_exec(struct store *s, const char *sql)
{
	int rc;

	if ((rc = sqlite3_exec(be_of(s)->db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
		sq_error(s, rc, "exec");
		return -1;
	}
	return 0;
}

/* sq_begin - a write transaction that holds the write lock from the start */
static int
sq_begin(struct store *s)
{
	return sq_exec(s, "BEGIN IMMEDIATE");
}

/* sq_commit - commit */
static int
sq_commit(struct store *s)
{
	return sq_exec(s, "COMMIT");
}

/* sq_rollback - roll back, if a transaction is open */
static void
sq_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(be_of(s)->db))
		sqlite3_exec(be_of(s)->db, "ROLLBACK", NULL, NULL, NULL);
}

/* sq_prepare - compile one statement */
static struct store_stmt *
sq_prepare(struct store *s, const char *sql)
{
	struct store_stmt *st;
	sqlite3_stmt *q;
	int rc;

	if ((rc = sqlite3_prepare_v2(be_of(s)->db, sql, -1, &q, NULL)) != SQLITE_OK) {
		sq_error(s, rc, "prepare");
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->s = s;
	st->st = q;
	return st;
}

/* sq_bind_text - bind a string (copied) or NULL */
static int
sq_bind_text(struct store_stmt *st, int idx, const char *v)
{
	int rc;

	rc = v != NULL ? sqlite3_bind_text(st->st, idx, v, -1, SQLITE_TRANSIENT) :
	    sqlite3_bind_null(st->st, idx);
	if (rc != SQLITE_OK) {
		sq_error(st->s, rc, "bind");
		return -1;
	}
	return 0;
}

/* sq_bind_int - bind an integer */
static int
sq_bind_int(struct store_stmt *st, int idx, long long v)
{
	int rc;

	if ((rc = sqlite3_bind_int64(st->st, idx, v)) != SQLITE_OK) {
		sq_error(st->s, rc, "bind");
		return -1;
	}
	return 0;
}

/* sq_step - the next row */
static int
sq_step(struct store_stmt *st)
{
	int rc;

	rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW)
		return STORE_ROW;
	if (rc == SQLITE_DONE) {
		st->changes = sqlite3_changes(be_of(st->s)->db);
		return STORE_DONE;
	}
	sq_error(st->s, rc, "step");
	return STORE_ERR;
}

/* sq_col_text - a column as text, NULL for SQL NULL */
static const char *
sq_col_text(struct store_stmt *st, int idx)
{
	if (sqlite3_column_type(st->st, idx) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(st->st, idx);
}

/* sq_col_int - a column as integer */
static long long
sq_col_int(struct store_stmt *st, int idx)
{
	return sqlite3_column_int64(st->st, idx);
}

/* sq_changes - rows changed by the statement's last run */
static long long
sq_changes(struct store_stmt *st)
{
	return st->changes;
}

/* sq_reset - ready to run again with the same bindings */
static void
sq_reset(struct store_stmt *st)
{
	sqlite3_reset(st->st);
	st->changes = 0;
}

/* sq_finalize - free a statement */
static void
sq_finalize(struct store_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->st);
	free(st);
}

/* sq_lock_schema - BEGIN IMMEDIATE already serializes migrations */
static int
sq_lock_schema(struct store *s)
{
	(void)s;
	return 0;
}

/* sq_lock_builder - flock "<db>.build.lock" without waiting */
static int
sq_lock_builder(struct store *s)
{
	struct sqlite_be *b = be_of(s);
	char *lockpath;
	int fd;

	if (b->lockfd >= 0) {
		store_set_error(s, "builder lock already held by this process");
		return -1;
	}
	lockpath = xasprintf("%s.build.lock", b->path);
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		store_set_error(s, "%s: %s", lockpath, strerror(errno));
		free(lockpath);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		store_set_error(s, "%s: %s", lockpath, errno == EWOULDBLOCK ?
		    "another report build is running" : strerror(errno));
		close(fd);
		free(lockpath);
		return -1;
	}
	free(lockpath);
	b->lockfd = fd;
	return 0;
}

/* sq_unlock_builder - release the builder lock */
static void
sq_unlock_builder(struct store *s)
{
	struct sqlite_be *b = be_of(s);

	if (b->lockfd >= 0) {
		close(b->lockfd);	/* releases the flock */
		b->lockfd = -1;
	}
}

/* sq_retryable - SQLITE_BUSY / SQLITE_LOCKED after the busy timeout */
static bool
sq_retryable(struct store *s)
{
	int rc = be_of(s)->last_rc & 0xff;

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

static const struct store_ops sqlite_ops = {
	"sqlite",
	sq_close, sq_exec, sq_begin, sq_commit, sq_rollback,
	sq_prepare, sq_bind_text, sq_bind_int, sq_step, sq_col_text, sq_col_int,
	sq_changes, sq_reset, sq_finalize,
	sq_lock_schema, sq_lock_builder, sq_unlock_builder, sq_retryable
};

/*
 * store_sqlite_open - open or create the file.  ON CONFLICT DO NOTHING
 * (the upsert clause) needs SQLite 3.24; row values need 3.15.
 */
int
store_sqlite_open(struct store *s, const char *path)
{
	struct sqlite_be *b;
	int rc;

	if (sqlite3_libversion_number() < 3024000) {
		store_set_error(s, "SQLite %s is too old (3.24 or later needed)", sqlite3_libversion());
		return -1;
	}
	b = xcalloc(1, sizeof(*b));
	b->lockfd = -1;
	b->path = xstrdup(path);
	s->ops = &sqlite_ops;
	s->be = b;
	rc = sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		sq_error(s, rc, path);
		return -1;
	}
	sqlite3_extended_result_codes(b->db, 1);
	sqlite3_busy_timeout(b->db, STORE_SQLITE_BUSY_MS);
	/* WAL: readers (a build) do not block the importer and vice versa. */
	if (sq_exec(s, "PRAGMA journal_mode=WAL") != 0 ||
	    sq_exec(s, "PRAGMA synchronous=NORMAL") != 0 ||
	    sq_exec(s, "PRAGMA foreign_keys=OFF") != 0)
		return -1;
	return 0;
}
