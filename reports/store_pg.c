/*
 * store_pg.c - the PostgreSQL backend of the report store (a fleet of MTAs
 * importing into one database).
 *
 * Statements are written with '?' placeholders in store.c; here they are
 * rewritten to $1, $2, ... and prepared once per connection (a small cache
 * keyed by the SQL text: the set of statements is fixed, so the cache
 * stays small).  Parameters go as text and PostgreSQL infers their types
 * from the columns they are compared with or stored in.
 *
 * Transactions run at READ COMMITTED, the level INSERT ... ON CONFLICT DO
 * NOTHING is made for: a row that a concurrent transaction inserted and
 * committed is seen as a conflict, one that it has not committed yet makes
 * us wait for its outcome.  Deadlocks (40P01) and serialization failures
 * (40001) are reported as retryable; store.c retries the batch.
 *
 * Locks: migrations take a transaction-level advisory lock, the builder a
 * session-level one (pg_try_advisory_lock), which the server releases if
 * the connection dies.  Both are keyed per store, not per database: the
 * migration lock by the current schema, the builder lock by the OID of
 * the store's reports table, so stores in different schemas of one
 * database (options=-csearch_path=...) do not block each other.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "store.h"
#include "util.h"

/* Advisory lock keys (two-int form): "DMR1" / "DMR2" in ASCII, and the store. */
#define PG_LOCK_SCHEMA	"1145918001, hashtext(COALESCE(current_schema(), ''))"
#define PG_LOCK_BUILDER	"1145918002, ('reports'::regclass)::oid::int4"

struct pg_prepared {
	char		*sql;		/* as given, with '?' */
	char		*name;
	int		 nparams;
};

struct pg_be {
	PGconn		*conn;
	struct pg_prepared *prep;
	size_t		 n_prep;
	bool		 builder_locked;
	char		 sqlstate[6];	/* of the last error */
};

struct store_stmt {
	struct store	*s;
	const struct pg_prepared *p;
	char		**params;
	PGresult	*res;
	int		 row, nrows;
	long long	 changes;
};

static struct pg_be *
be_of(struct store *s)
{
	return s->be;
}

/* pg_error - remember the server's (or libpq's) error for the store */
static void
pg_error(struct store *s, const PGresult *res, const char *what)
{
	struct pg_be *b = be_of(s);
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
	char *m;

	snprintf(b->sqlstate, sizeof(b->sqlstate), "%s", state != NULL ? state : "");
	m = xstrdup(msg != NULL && *msg != '\0' ? msg : PQerrorMessage(b->conn));
	str_trim(m);
	store_set_error(s, "postgresql %s: %s", what, m);
	free(m);
}

/* pg_quiet - drop NOTICEs ("relation already exists, skipping") */
static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* pg_close - close the connection */
static void
pg_close(struct store *s)
{
	struct pg_be *b = be_of(s);
	size_t i;

	if (b == NULL)
		return;
	if (b->conn != NULL)
		PQfinish(b->conn);
	for (i = 0; i < b->n_prep; i++) {
		free(b->prep[i].sql);
		free(b->prep[i].name);
	}
	free(b->prep);
	free(b);
	s->be = NULL;
}

/* pg_exec - statements without parameters; results are discarded */
static int
pg_exec(struct store *s, const char *sql)
{
	PGresult *res;
	ExecStatusType st;

	res = PQexec(be_of(s)->conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_error(s, res, "exec");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* pg_begin - start a transaction */
static int
pg_begin(struct store *s)
{
	return pg_exec(s, "BEGIN");
}

/* pg_commit - commit; a COMMIT of a failed transaction reports ROLLBACK */
static int
pg_commit(struct store *s)
{
	PGresult *res;

	res = PQexec(be_of(s)->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_error(s, res, "commit");
		PQclear(res);
		return -1;
	}
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		store_set_error(s, "postgresql commit: the transaction was rolled back");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* pg_rollback - roll back whatever is open (harmless outside a transaction) */
static void
pg_rollback(struct store *s)
{
	PGresult *res;

	if (PQtransactionStatus(be_of(s)->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(be_of(s)->conn, "ROLLBACK");
	PQclear(res);
}

/* pg_convert - '?' placeholders to $1..$n (outside quoted literals) */
static char *
pg_convert(const char *sql, int *nparams)
{
	struct buf b;
	bool quoted = false;
	int n = 0;

	buf_init(&b, 0);
	for (; *sql != '\0'; sql++) {
		if (*sql == '\'')
			quoted = !quoted;
		if (*sql == '?' && !quoted)
			buf_printf(&b, "$%d", ++n);
		else
			buf_putc(&b, *sql);
	}
	*nparams = n;
	return buf_detach(&b);
}

/* pg_prepare - find or create the prepared statement for sql */
static struct store_stmt *
pg_prepare(struct store *s, const char *sql)
{
	struct pg_be *b = be_of(s);
	struct pg_prepared *p = NULL;
	struct store_stmt *st;
	PGresult *res;
	char *text;
	size_t i;

	for (i = 0; i < b->n_prep; i++)
		if (strcmp(b->prep[i].sql, sql) == 0) {
			p = &b->prep[i];
			break;
		}
	if (p == NULL) {
		struct pg_prepared np;

		np.name = xasprintf("dmarc_s%zu", b->n_prep + 1);
		text = pg_convert(sql, &np.nparams);
		res = PQprepare(b->conn, np.name, text, 0, NULL);
		free(text);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_error(s, res, "prepare");
			PQclear(res);
			free(np.name);
			return NULL;
		}
		PQclear(res);
		np.sql = xstrdup(sql);
		b->prep = xrealloc(b->prep, (b->n_prep + 1) * sizeof(*b->prep));
		b->prep[b->n_prep] = np;
		p = &b->prep[b->n_prep++];
	}
	st = xcalloc(1, sizeof(*st));
	st->s = s;
	st->p = p;
	st->params = xcalloc((size_t)p->nparams + 1, sizeof(char *));
	st->row = -1;
	return st;
}

/* pg_bind - set parameter idx (1-based) to an owned string or NULL */
static int
pg_bind(struct store_stmt *st, int idx, char *v)
{
	if (idx < 1 || idx > st->p->nparams) {
		free(v);
		store_set_error(st->s, "postgresql bind: no parameter %d", idx);
		return -1;
	}
	free(st->params[idx - 1]);
	st->params[idx - 1] = v;
	return 0;
}

static int
pg_bind_text(struct store_stmt *st, int idx, const char *v)
{
	return pg_bind(st, idx, v != NULL ? xstrdup(v) : NULL);
}

static int
pg_bind_int(struct store_stmt *st, int idx, long long v)
{
	return pg_bind(st, idx, xasprintf("%lld", v));
}

/* pg_step - run the statement on the first call, then walk its rows */
static int
pg_step(struct store_stmt *st)
{
	struct pg_be *b = be_of(st->s);
	ExecStatusType es;

	if (st->res == NULL) {
		st->res = PQexecPrepared(b->conn, st->p->name, st->p->nparams,
		    (const char *const *)st->params, NULL, NULL, 0);
		es = PQresultStatus(st->res);
		if (es == PGRES_COMMAND_OK) {
			st->changes = atoll(PQcmdTuples(st->res));
			st->nrows = 0;
		} else if (es == PGRES_TUPLES_OK) {
			st->nrows = PQntuples(st->res);
			st->changes = st->nrows;
		} else {
			pg_error(st->s, st->res, "step");
			return STORE_ERR;
		}
		st->row = -1;
	}
	if (st->row + 1 < st->nrows) {
		st->row++;
		return STORE_ROW;
	}
	st->row = st->nrows;
	return STORE_DONE;
}

static const char *
pg_col_text(struct store_stmt *st, int idx)
{
	if (st->res == NULL || st->row < 0 || st->row >= st->nrows || idx >= PQnfields(st->res) ||
	    PQgetisnull(st->res, st->row, idx))
		return NULL;
	return PQgetvalue(st->res, st->row, idx);
}

static long long
pg_col_int(struct store_stmt *st, int idx)
{
	const char *v = pg_col_text(st, idx);

	return v != NULL ? atoll(v) : 0;
}

static long long
pg_changes(struct store_stmt *st)
{
	return st->changes;
}

/* pg_reset - forget the result; the next step runs the statement again */
static void
pg_reset(struct store_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
	st->changes = 0;
}

/* pg_finalize - free the statement (the prepared statement stays cached) */
static void
pg_finalize(struct store_stmt *st)
{
	int i;

	if (st == NULL)
		return;
	PQclear(st->res);
	for (i = 0; i < st->p->nparams; i++)
		free(st->params[i]);
	free(st->params);
	free(st);
}

/* pg_lock_schema - serialize migrations of concurrent first runs */
static int
pg_lock_schema(struct store *s)
{
	return pg_exec(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_SCHEMA ")");
}

/* pg_lock_builder - one builder per database, released when the session ends */
static int
pg_lock_builder(struct store *s)
{
	struct pg_be *b = be_of(s);
	PGresult *res;
	int got;

	res = PQexec(b->conn, "SELECT pg_try_advisory_lock(" PG_LOCK_BUILDER ")");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_error(s, res, "builder lock");
		PQclear(res);
		return -1;
	}
	got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!got) {
		store_set_error(s, "another report build is running on this database");
		return -1;
	}
	b->builder_locked = true;
	return 0;
}

static void
pg_unlock_builder(struct store *s)
{
	struct pg_be *b = be_of(s);

	if (b->builder_locked) {
		pg_exec(s, "SELECT pg_advisory_unlock(" PG_LOCK_BUILDER ")");
		b->builder_locked = false;
	}
}

/* pg_retryable - deadlock_detected or serialization_failure */
static bool
pg_retryable(struct store *s)
{
	const char *st = be_of(s)->sqlstate;

	return strcmp(st, "40P01") == 0 || strcmp(st, "40001") == 0;
}

static const struct store_ops pg_ops = {
	"postgresql",
	pg_close, pg_exec, pg_begin, pg_commit, pg_rollback,
	pg_prepare, pg_bind_text, pg_bind_int, pg_step, pg_col_text, pg_col_int,
	pg_changes, pg_reset, pg_finalize,
	pg_lock_schema, pg_lock_builder, pg_unlock_builder, pg_retryable
};

/* store_pg_open - connect with a libpq URI */
int
store_pg_open(struct store *s, const char *uri)
{
	struct pg_be *b;

	b = xcalloc(1, sizeof(*b));
	s->ops = &pg_ops;
	s->be = b;
	b->conn = PQconnectdb(uri);
	if (b->conn == NULL || PQstatus(b->conn) != CONNECTION_OK) {
		char *m = xstrdup(b->conn != NULL ? PQerrorMessage(b->conn) : "out of memory");

		store_set_error(s, "postgresql connect: %s", str_trim(m));
		free(m);
		return -1;
	}
	PQsetNoticeProcessor(b->conn, pg_quiet, NULL);
	/* UTC and UTF-8: nothing depends on the server's defaults. */
	if (pg_exec(s, "SET TIME ZONE 'UTC'") != 0 ||
	    pg_exec(s, "SET client_encoding TO 'UTF8'") != 0)
		return -1;
	return 0;
}
