/*
 * store.c - the report store, independent of the database behind it.
 *
 * DESIGN
 *
 * Backends.  store_open() picks SQLite for a file path and PostgreSQL for a
 * "postgresql://" or "postgres://" URI.  Everything here speaks portable
 * SQL through the small statement interface in store.h ('?' placeholders,
 * text and integer values); store_sqlite.c and store_pg.c implement it.
 * Only the upsert clause (INSERT ... ON CONFLICT ... DO NOTHING / DO
 * UPDATE, SQLite >= 3.24, PostgreSQL >= 9.5) is beyond SQL-92.
 *
 * Schema and migrations.  A table meta(key, value) holds schema_version.
 * store_open() runs, in ONE transaction serialized against concurrent
 * first runs (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory
 * transaction lock), every migration after the stored version, in order,
 * then records the new version.  A database newer than this program is
 * refused, never downgraded.  Version 1:
 *
 *   messages   one row per imported history record that is reportable.
 *              PRIMARY KEY hash = SHA-256 of the record's line (its exact
 *              bytes without the final '\n').  The grouping columns of a
 *              report row, the published policy snapshot and the times.
 *   periods    (policy_domain, day): one row per reporting period that
 *              has messages, so that finding the periods to report does
 *              not scan the messages.
 *   reports    one per (policy_domain, begin_time) (UNIQUE): report_id,
 *              end_time, the rua list used, state building/built.
 *   report_destinations  (report_id, destination): state pending / sent /
 *              failed / refused, attempts, last_error, updated_at, sent_at.
 *
 * Version 2 adds what other organisations report to us (store_rcv.c):
 *
 *   rcv_reports  one per received report.  PRIMARY KEY rkey = SHA-256
 *              hex of org_name NUL report_id, computed in C, so the key is
 *              the same on both backends (no INTEGER PRIMARY KEY /
 *              BIGSERIAL difference) and known before the insert; UNIQUE
 *              (org_name, report_id) says the same in SQL.  The metadata,
 *              date range (begin_time, end_time), policy_published, the
 *              number of records and messages, origin and received_at.
 *              Indexes on begin_time and (domain, begin_time).
 *   rcv_records  (rkey, seq) PRIMARY KEY: the report's records in their
 *              order.  The row as reported (source_ip, msg_count,
 *              disposition, dkim, spf, header_from, envelope_from,
 *              envelope_to) and its reasons, dkim_results and
 *              spf_results as JSON arrays of objects (NULL when empty);
 *              they are only ever read with their record, never searched.
 *   rdns       ip PRIMARY KEY: the PTR name (NULL: none) and when it was
 *              looked up.
 *
 * What is reportable.  The deciding DMARC outcome of the record
 * (dmarc[deciding]) must have found a DMARC record and a policy domain;
 * other records are counted by the importer and not stored (there is no
 * one to report to).  RFC 9990 §2.1 / RFC 7489 §7.2: one report per
 * policy domain (policy_published/domain) and reporting period; the period
 * is the UTC day of the record's time, day = time - time % 86400, begin =
 * day, end = day + 86399.  A message with several author domains is
 * reported to the deciding one only.  envelope_to is the recipient domain
 * when the message had exactly one; with several it is left out (one
 * message is one count, it cannot be in two rows).
 *
 * Idempotent import.  The key is the hash of the line, so importing a
 * file again, a file that grew since (all its old lines are duplicates),
 * or its gzip-compressed rotated copy (same bytes once decompressed) adds
 * every record exactly once: INSERT ... ON CONFLICT (hash) DO NOTHING and
 * the count of changed rows tells new from duplicate.  The cost: two
 * byte-identical records count once; the milter's lines carry the time,
 * queue id, client IP and reporter, so two such lines are one message
 * written twice.  Records of days already expired (meta expired_before)
 * are refused by the importer, so a re-imported old file cannot bring an
 * expired report back.
 *
 * Concurrency.  Importers on several hosts may insert into one
 * PostgreSQL database at once.  Each batch (IMPORT_BATCH rows, import.c)
 * is one transaction at READ COMMITTED.  Two transactions inserting the
 * same key wait for each other, so to rule out deadlock cycles every
 * transaction takes its keys in one global order: first the batch's
 * periods sorted by (day, domain), then its messages sorted by hash.  A
 * deadlock or serialization error (or SQLite BUSY past the busy timeout)
 * is still retried, up to BATCH_RETRIES times with a growing pause.  A
 * row is either inserted by exactly one transaction or a duplicate for
 * all others: no double counts.
 *
 * Building.  store_build_reports() holds a builder lock (one builder per
 * database) and walks the periods that ended at or before `until` and
 * have no built report, in (day, domain) order, a page at a time.  Per
 * period it reads the published policy from the period's most recent
 * message (ties broken by hash, so every run picks the same one), claims
 * the period by inserting the reports row in state "building" (the
 * UNIQUE (policy_domain, begin_time) makes a second claim a no-op; the
 * existing report_id is then reused), registers the destinations due
 * (attempts + 1), builds the rows with one GROUP BY over the grouping
 * columns (real counts, never one row per message), sorts them in C
 * (independent of database collations) and calls emit.  When emit returns
 * 0 the report becomes "built" and is never built again; when the run
 * dies before that, the next run builds it again under the same
 * report_id and emits it to the destinations not yet sent or refused.
 * The report_id is derived from org name, policy domain and begin
 * (store_report_id()), so even a lost database gives the same ids.
 *
 * Sending.  The emitter marks each destination sent, failed (temporary,
 * retried by store_retry_reports() until max_attempts handings) or
 * refused (never retried).  A retry rebuilds the report from the stored
 * messages.  Records imported after their period's report was built are
 * counted as "late" by the importer and are not reported.
 *
 * Expiry.  store_expire() first raises expired_before, then deletes the
 * messages a day at a time (bounded transactions), then the periods,
 * reports and destinations of those days.  It does not touch received
 * reports: the history of a domain's ramp is what readiness reads.
 *
 * Received reports.  store_rcv_add() inserts the report row and then all
 * its records in ONE transaction, the records 50 to a statement (one
 * round trip per 50 on PostgreSQL; 650 parameters, under SQLite's old
 * limit of 999), so a report of RXML_MAX_RECORDS (200000) records is a
 * few seconds.  Idempotence and concurrency: the report row is inserted
 * first with ON CONFLICT DO NOTHING; a second receiver of the same report
 * (a fleet, or the same mail fetched twice) waits on the first one's
 * uncommitted key and then sees the conflict (0 rows: it rolls back and
 * says "already stored"), or goes on if the first rolled back.  Records
 * are only inserted by the transaction that inserted their report, and
 * every transaction takes exactly one report key, so there is no
 * deadlock cycle; a deadlock, serialization failure or SQLite busy is
 * retried anyway, as for history batches.  Values are stored as compared:
 * policy domain and header_from in domain_normalize() form (or trimmed
 * and ASCII-lowercased when it refuses them), source IPs in inet_ntop()
 * form, required fields a sloppy report left out as "", optional ones
 * NULL, pct NULL when not published.
 *
 * Reading them.  store_rcv_rows() selects the reports whose [begin, end]
 * overlaps [since, until) and whose policy domain, or some record's
 * header_from, is the domain or ends in "." domain: equality plus LIKE
 * '%.' domain ESCAPE '!', with '%', '_' and '!' in the domain escaped
 * (the values are stored lowercase, so SQLite's ASCII-case-insensitive
 * LIKE and PostgreSQL's case-sensitive one agree).  The reports are
 * sorted in C (begin, org_name, report_id bytewise: no dependence on a
 * database collation); then each report's records are read in seq order
 * a page of 1000 at a time (keyset on seq), all records when the policy
 * domain matched, else only those whose header_from does.  A page is
 * read completely before the callback sees it, so no statement is open
 * while the callback runs (it may use the store, e.g. store_rdns_put()).
 * Reverse DNS entries are upserted; an older lookup never replaces a
 * newer one.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "store.h"
#include "util.h"

#define BATCH_RETRIES		8	/* per batch, on deadlock / busy */
#define PAGE_SIZE		100	/* periods or reports fetched per query */
#define DEFAULT_MAX_ATTEMPTS	5
#define MAX_RUA_DESTS		64	/* destinations looked at per report */

/* ------------------------------------------------------------------ */
/* schema                                                              */

/* Migration i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE messages ("
	" hash TEXT PRIMARY KEY,"
	" msg_time BIGINT NOT NULL,"
	" day BIGINT NOT NULL,"
	" reporter TEXT,"
	" policy_domain TEXT NOT NULL,"
	" p TEXT NOT NULL, sp TEXT, np TEXT,"
	" adkim TEXT NOT NULL, aspf TEXT NOT NULL,"
	" pct INTEGER, fo TEXT,"
	" testing TEXT NOT NULL, psd TEXT,"
	" discovery TEXT NOT NULL,"
	" rua TEXT NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL,"
	" envelope_from TEXT NOT NULL,"
	" envelope_to TEXT NOT NULL,"
	" policy TEXT NOT NULL,"
	" disposition TEXT NOT NULL,"
	" dkim TEXT NOT NULL,"
	" spf TEXT NOT NULL,"
	" reasons TEXT NOT NULL,"
	" auth TEXT NOT NULL);"
	"CREATE INDEX messages_period ON messages (policy_domain, day);"
	"CREATE INDEX messages_day ON messages (day);"
	"CREATE TABLE periods ("
	" policy_domain TEXT NOT NULL,"
	" day BIGINT NOT NULL,"
	" PRIMARY KEY (policy_domain, day));"
	"CREATE INDEX periods_day ON periods (day, policy_domain);"
	"CREATE TABLE reports ("
	" report_id TEXT PRIMARY KEY,"
	" policy_domain TEXT NOT NULL,"
	" begin_time BIGINT NOT NULL,"
	" end_time BIGINT NOT NULL,"
	" rua TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" created_at BIGINT NOT NULL,"
	" built_at BIGINT,"
	" UNIQUE (policy_domain, begin_time));"
	"CREATE INDEX reports_begin ON reports (begin_time);"
	"CREATE TABLE report_destinations ("
	" report_id TEXT NOT NULL,"
	" destination TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" last_error TEXT,"
	" updated_at BIGINT NOT NULL,"
	" sent_at BIGINT,"
	" PRIMARY KEY (report_id, destination));",
	/* 1 -> 2: received aggregate reports and reverse DNS (store_rcv.c) */
	"CREATE TABLE rcv_reports ("
	" rkey TEXT PRIMARY KEY,"
	" org_name TEXT NOT NULL,"
	" report_id TEXT NOT NULL,"
	" email TEXT, extra_contact_info TEXT, error TEXT, generator TEXT,"
	" format TEXT NOT NULL,"
	" begin_time BIGINT NOT NULL,"
	" end_time BIGINT NOT NULL,"
	" domain TEXT NOT NULL,"
	" p TEXT NOT NULL, sp TEXT, np TEXT,"
	" adkim TEXT, aspf TEXT,"
	" pct INTEGER, fo TEXT, testing TEXT, discovery TEXT,"
	" records BIGINT NOT NULL,"
	" messages BIGINT NOT NULL,"
	" origin TEXT,"
	" received_at BIGINT NOT NULL,"
	" UNIQUE (org_name, report_id));"
	"CREATE INDEX rcv_reports_begin ON rcv_reports (begin_time);"
	"CREATE INDEX rcv_reports_domain ON rcv_reports (domain, begin_time);"
	"CREATE TABLE rcv_records ("
	" rkey TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" msg_count BIGINT NOT NULL,"
	" disposition TEXT NOT NULL,"
	" dkim TEXT NOT NULL,"
	" spf TEXT NOT NULL,"
	" header_from TEXT NOT NULL,"
	" envelope_from TEXT,"
	" envelope_to TEXT,"
	" reasons TEXT,"
	" dkim_results TEXT,"
	" spf_results TEXT,"
	" PRIMARY KEY (rkey, seq));"
	"CREATE TABLE rdns ("
	" ip TEXT PRIMARY KEY,"
	" name TEXT,"
	" looked_up BIGINT NOT NULL);"
};

#define N_MIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/* store_set_error - remember the last error (backends and this file) */
void
store_set_error(struct store *s, const char *fmt, ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(s->errmsg);
	s->errmsg = m;
}

/* fail - err = "what: last store error"; returns -1 */
static int
fail(struct store *s, char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, s->errmsg != NULL ? s->errmsg : "unknown error");
	return -1;
}

/* say - err = formatted text; returns -1 */
static int __attribute__((format(printf, 3, 4)))
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * q_vprep - prepare sql and bind its parameters: types has one letter per
 * '?', 's' for a const char * (NULL = SQL NULL), 'i' for a long long.
 */
static struct store_stmt *
q_vprep(struct store *s, const char *sql, const char *types, va_list ap)
{
	struct store_stmt *st;
	int i, rc = 0;

	if ((st = s->ops->prepare(s, sql)) == NULL)
		return NULL;
	for (i = 0; types[i] != '\0' && rc == 0; i++) {
		if (types[i] == 's')
			rc = s->ops->bind_text(st, i + 1, va_arg(ap, const char *));
		else
			rc = s->ops->bind_int(st, i + 1, va_arg(ap, long long));
	}
	if (rc != 0) {
		s->ops->finalize(st);
		return NULL;
	}
	return st;
}

/* q_prep - q_vprep with variable arguments */
static struct store_stmt *
q_prep(struct store *s, const char *sql, const char *types, ...)
{
	struct store_stmt *st;
	va_list ap;

	va_start(ap, types);
	st = q_vprep(s, sql, types, ap);
	va_end(ap);
	return st;
}

/* q_vexec - run a statement to its end; *changes (may be NULL) = rows changed */
static int
q_vexec(struct store *s, long long *changes, const char *sql, const char *types, va_list ap)
{
	struct store_stmt *st;
	int rc;

	if ((st = q_vprep(s, sql, types, ap)) == NULL)
		return -1;
	while ((rc = s->ops->step(st)) == STORE_ROW)
		;
	if (rc == STORE_DONE && changes != NULL)
		*changes = s->ops->changes(st);
	s->ops->finalize(st);
	return rc == STORE_DONE ? 0 : -1;
}

/* q_exec - q_vexec with variable arguments */
static int
q_exec(struct store *s, long long *changes, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = q_vexec(s, changes, sql, types, ap);
	va_end(ap);
	return rc;
}

/* q_vint - the first column of the first row as an integer; 0 found, 1 no row/NULL, -1 error */
static int
q_vint(struct store *s, long long *out, const char *sql, const char *types, va_list ap)
{
	struct store_stmt *st;
	int rc, ret;

	st = q_vprep(s, sql, types, ap);
	if (st == NULL)
		return -1;
	rc = s->ops->step(st);
	if (rc == STORE_ROW && s->ops->col_text(st, 0) != NULL) {
		*out = s->ops->col_int(st, 0);
		ret = 0;
	} else
		ret = rc == STORE_ERR ? -1 : 1;
	s->ops->finalize(st);
	return ret;
}

/* store_q_int - the first column of the first row: 0 found, 1 no row or NULL, -1 error */
int
store_q_int(struct store *s, long long *out, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = q_vint(s, out, sql, types, ap);
	va_end(ap);
	return rc;
}

/* dup_col - a column as an allocated string, NULL for SQL NULL */
static char *
dup_col(struct store *s, struct store_stmt *st, int idx)
{
	const char *v = s->ops->col_text(st, idx);

	return v != NULL ? xstrdup(v) : NULL;
}

/* pause_ms - sleep before retrying a transaction */
static void
pause_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* store_backoff - the pause before retry number attempt + 1 of a transaction */
void
store_backoff(unsigned attempt)
{
	/* growing, and de-synchronized between processes by the pid */
	pause_ms(20u * (attempt + 1) + (unsigned)getpid() % 50u);
}

/* store_fail, store_q_prep, store_q_exec - fail, q_prep and q_exec for store_rcv.c */
int
store_fail(struct store *s, char *err, size_t errlen, const char *what)
{
	return fail(s, err, errlen, what);
}

struct store_stmt *
store_q_prep(struct store *s, const char *sql, const char *types, ...)
{
	struct store_stmt *st;
	va_list ap;

	va_start(ap, types);
	st = q_vprep(s, sql, types, ap);
	va_end(ap);
	return st;
}

int
store_q_exec(struct store *s, long long *changes, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;

	va_start(ap, types);
	rc = q_vexec(s, changes, sql, types, ap);
	va_end(ap);
	return rc;
}

/* now_s - the current time (one place, for the bookkeeping columns) */
static long long
now_s(void)
{
	return (long long)time(NULL);
}

/* ------------------------------------------------------------------ */
/* open, migrate, close                                                */

/* store_migrate - create or upgrade the schema in one transaction */
static int
store_migrate(struct store *s, char *err, size_t errlen)
{
	long long v = 0;
	char *ver;
	size_t i;
	int rc;

	if (s->ops->begin(s) != 0)
		return fail(s, err, errlen, "schema");
	if (s->ops->lock_schema(s) != 0 ||
	    s->ops->exec(s, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)") != 0)
		goto bad;
	rc = store_q_int(s, &v, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'", "");
	if (rc < 0)
		goto bad;
	if (rc > 0)
		v = 0;
	if (v < 0 || v > (long long)N_MIGRATIONS) {
		s->ops->rollback(s);
		return say(err, errlen, "database schema version %lld is newer than this program "
		    "understands (%zu); upgrade dmarc-reports", v, N_MIGRATIONS);
	}
	if (v == (long long)N_MIGRATIONS) {
		s->ops->rollback(s);	/* nothing to do */
		return 0;
	}
	for (i = (size_t)v; i < N_MIGRATIONS; i++)
		if (s->ops->exec(s, migrations[i]) != 0)
			goto bad;
	ver = xasprintf("%zu", N_MIGRATIONS);
	rc = q_exec(s, NULL, "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", "s", ver);
	free(ver);
	if (rc != 0)
		goto bad;
	if (s->ops->commit(s) != 0)
		goto bad;
	return 0;
bad:
	fail(s, err, errlen, "schema migration");
	s->ops->rollback(s);
	return -1;
}

/* store_open - open a store by file path or PostgreSQL URI */
struct store *
store_open(const char *db, char *err, size_t errlen)
{
	struct store *s;
	int rc;

	if (db == NULL || *db == '\0') {
		say(err, errlen, "no database given");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0)
		rc = store_pg_open(s, db);
	else
		rc = store_sqlite_open(s, db);
	if (rc != 0) {
		fail(s, err, errlen, "open");
		store_close(s);
		return NULL;
	}
	if (store_migrate(s, err, errlen) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

/* store_close - close and free; NULL is allowed */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->be != NULL)
		s->ops->close(s);
	free(s->errmsg);
	free(s);
}

/* store_backend_name - "sqlite" or "postgresql" */
const char *
store_backend_name(const struct store *s)
{
	return s->ops->name;
}

/* ------------------------------------------------------------------ */
/* import side                                                         */

/* store_message_free - release one message row's strings */
void
store_message_free(struct store_message *m)
{
	if (m == NULL)
		return;
	free(m->reporter);
	free(m->policy_domain);
	free(m->p);
	free(m->sp);
	free(m->np);
	free(m->adkim);
	free(m->aspf);
	free(m->fo);
	free(m->testing);
	free(m->psd);
	free(m->discovery);
	free(m->rua);
	free(m->source_ip);
	free(m->header_from);
	free(m->envelope_from);
	free(m->envelope_to);
	free(m->policy);
	free(m->disposition);
	free(m->dkim);
	free(m->spf);
	free(m->reasons);
	free(m->auth);
	memset(m, 0, sizeof(*m));
}

/* store_expired_before - meta expired_before, 0 when never set */
int
store_expired_before(struct store *s, long long *out, char *err, size_t errlen)
{
	int rc;

	rc = store_q_int(s, out, "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'expired_before'", "");
	if (rc < 0)
		return fail(s, err, errlen, "expiry horizon");
	if (rc > 0)
		*out = 0;
	return 0;
}

static int
cmp_msg_hash(const void *a, const void *b)
{
	return strcmp(((const struct store_message *)a)->hash, ((const struct store_message *)b)->hash);
}

struct period {
	const char	*domain;
	long long	 day;
	bool		 reported;
};

static int
cmp_period(const void *a, const void *b)
{
	const struct period *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static const char sql_insert_period[] =
    "INSERT INTO periods (policy_domain, day) VALUES (?, ?) ON CONFLICT DO NOTHING";
static const char sql_period_reported[] =
    "SELECT 1 FROM reports WHERE policy_domain = ? AND begin_time = ? AND state = 'built'";
static const char sql_insert_message[] =
    "INSERT INTO messages (hash, msg_time, day, reporter, policy_domain,"
    " p, sp, np, adkim, aspf, pct, fo, testing, psd, discovery, rua,"
    " source_ip, header_from, envelope_from, envelope_to, policy, disposition,"
    " dkim, spf, reasons, auth)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (hash) DO NOTHING";

/* insert_message - bind and run the prepared insert for one row */
static int
insert_message(struct store *s, struct store_stmt *st, const struct store_message *m, bool *inserted)
{
	const struct store_ops *o = s->ops;
	int i = 1, rc;

	o->reset(st);
	if (o->bind_text(st, i++, m->hash) != 0 ||
	    o->bind_int(st, i++, m->time) != 0 ||
	    o->bind_int(st, i++, m->day) != 0 ||
	    o->bind_text(st, i++, m->reporter) != 0 ||
	    o->bind_text(st, i++, m->policy_domain) != 0 ||
	    o->bind_text(st, i++, m->p) != 0 ||
	    o->bind_text(st, i++, m->sp) != 0 ||
	    o->bind_text(st, i++, m->np) != 0 ||
	    o->bind_text(st, i++, m->adkim) != 0 ||
	    o->bind_text(st, i++, m->aspf) != 0)
		return -1;
	rc = m->pct >= 0 ? o->bind_int(st, i++, m->pct) : o->bind_text(st, i++, NULL);
	if (rc != 0 ||
	    o->bind_text(st, i++, m->fo) != 0 ||
	    o->bind_text(st, i++, m->testing) != 0 ||
	    o->bind_text(st, i++, m->psd) != 0 ||
	    o->bind_text(st, i++, m->discovery) != 0 ||
	    o->bind_text(st, i++, m->rua) != 0 ||
	    o->bind_text(st, i++, m->source_ip) != 0 ||
	    o->bind_text(st, i++, m->header_from) != 0 ||
	    o->bind_text(st, i++, m->envelope_from) != 0 ||
	    o->bind_text(st, i++, m->envelope_to) != 0 ||
	    o->bind_text(st, i++, m->policy) != 0 ||
	    o->bind_text(st, i++, m->disposition) != 0 ||
	    o->bind_text(st, i++, m->dkim) != 0 ||
	    o->bind_text(st, i++, m->spf) != 0 ||
	    o->bind_text(st, i++, m->reasons) != 0 ||
	    o->bind_text(st, i++, m->auth) != 0)
		return -1;
	if (o->step(st) != STORE_DONE)
		return -1;
	*inserted = o->changes(st) > 0;
	return 0;
}

/* batch_once - one attempt at the batch's transaction */
static int
batch_once(struct store *s, struct store_message *msgs, size_t n, struct period *per, size_t np,
    bool *inserted, bool *late)
{
	const struct store_ops *o = s->ops;
	struct store_stmt *st = NULL;
	struct period key, *p;
	size_t i;
	long long one;
	int rc;

	if (o->begin(s) != 0)
		return -1;
	/* periods first, in (day, domain) order: see "Concurrency" above */
	for (i = 0; i < np; i++) {
		if (q_exec(s, NULL, sql_insert_period, "si", per[i].domain, per[i].day) != 0)
			goto bad;
		rc = store_q_int(s, &one, sql_period_reported, "si", per[i].domain, per[i].day);
		if (rc < 0)
			goto bad;
		per[i].reported = rc == 0;
	}
	if ((st = o->prepare(s, sql_insert_message)) == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		if (insert_message(s, st, &msgs[i], &inserted[i]) != 0)
			goto bad;
		key.domain = msgs[i].policy_domain;
		key.day = msgs[i].day;
		p = bsearch(&key, per, np, sizeof(*per), cmp_period);
		late[i] = inserted[i] && p != NULL && p->reported;
	}
	o->finalize(st);
	st = NULL;
	if (o->commit(s) != 0)
		goto bad;
	return 0;
bad:
	if (st != NULL)
		o->finalize(st);
	o->rollback(s);
	return -1;
}

/* store_insert_batch - insert a batch of messages in one transaction */
int
store_insert_batch(struct store *s, struct store_message *msgs, size_t n,
    bool *inserted, bool *late, unsigned *retries, char *err, size_t errlen)
{
	struct period *per;
	size_t i, np = 0;
	unsigned attempt;
	int rc = -1;

	if (n == 0)
		return 0;
	qsort(msgs, n, sizeof(*msgs), cmp_msg_hash);
	/* the batch's distinct periods, sorted */
	per = xcalloc(n, sizeof(*per));
	for (i = 0; i < n; i++) {
		per[i].domain = msgs[i].policy_domain;
		per[i].day = msgs[i].day;
	}
	qsort(per, n, sizeof(*per), cmp_period);
	for (i = 1, np = 1; i < n; i++)
		if (cmp_period(&per[i], &per[np - 1]) != 0)
			per[np++] = per[i];

	for (attempt = 0; attempt <= BATCH_RETRIES; attempt++) {
		memset(inserted, 0, n * sizeof(*inserted));
		memset(late, 0, n * sizeof(*late));
		if (batch_once(s, msgs, n, per, np, inserted, late) == 0) {
			rc = 0;
			break;
		}
		if (!s->ops->retryable(s) || attempt == BATCH_RETRIES) {
			fail(s, err, errlen, "import batch");
			break;
		}
		/* a deadlock victim or a busy database: back off and redo the batch */
		if (retries != NULL)
			(*retries)++;
		store_backoff(attempt);
	}
	free(per);
	return rc;
}

/* ------------------------------------------------------------------ */
/* report ids, rua lists                                               */

/* store_report_id - "YYYYMMDD-" + 32 hex digits of SHA-256(org \n domain \n begin) */
char *
store_report_id(const char *org_name, const char *policy_domain, time_t begin)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33], day[16];
	struct tm tm;
	char *in;
	size_t i;

	in = xasprintf("%s\n%s\n%lld", org_name != NULL ? org_name : "", policy_domain,
	    (long long)begin);
	if (EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
		memset(md, 0, sizeof(md));	/* cannot happen with the default provider */
	free(in);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (gmtime_r(&begin, &tm) == NULL || strftime(day, sizeof(day), "%Y%m%d", &tm) == 0)
		snprintf(day, sizeof(day), "%lld", (long long)begin);
	return xasprintf("%s-%s", day, hex);
}

struct dest {
	char	*elem;		/* as published, with "!size" */
	char	*key;		/* the URI without "!size": the destination's name */
};

/*
 * dest_key - the URI of one rua element without its "!size" suffix.
 * RFC 7489 §6.4 / RFC 9989: commas and "!" inside a URI are %-encoded, so
 * the last "!" starts the size.
 */
static char *
dest_key(const char *elem, size_t len)
{
	const char *bang = NULL, *p;

	for (p = elem; p < elem + len; p++)
		if (*p == '!')
			bang = p;
	return xstrndup(elem, bang != NULL ? (size_t)(bang - elem) : len);
}

/* rua_split - a comma-separated rua list into destinations (duplicates dropped) */
static size_t
rua_split(const char *rua, struct dest *out, size_t max)
{
	const char *p = rua, *e, *a, *z;
	size_t n = 0, i;
	char *key;

	while (p != NULL && *p != '\0' && n < max) {
		e = strchr(p, ',');
		z = e != NULL ? e : p + strlen(p);
		for (a = p; a < z && (*a == ' ' || *a == '\t'); a++)
			;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
			z--;
		if (z > a) {
			key = dest_key(a, (size_t)(z - a));
			for (i = 0; i < n; i++)
				if (strcmp(out[i].key, key) == 0)
					break;
			if (i < n)
				free(key);
			else {
				out[n].elem = xstrndup(a, (size_t)(z - a));
				out[n].key = key;
				n++;
			}
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return n;
}

static void
dests_free(struct dest *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(d[i].elem);
		free(d[i].key);
	}
}

static const char *const dest_state_names[] = { "pending", "sent", "failed", "refused" };

/* store_dest_state_str - the state's name as stored */
const char *
store_dest_state_str(enum store_dest_state st)
{
	if ((size_t)st < sizeof(dest_state_names) / sizeof(dest_state_names[0]))
		return dest_state_names[st];
	return "pending";
}

/* dest_state_parse - stored name to state */
static enum store_dest_state
dest_state_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(dest_state_names) / sizeof(dest_state_names[0]); i++)
		if (strcmp(s, dest_state_names[i]) == 0)
			return (enum store_dest_state)i;
	return STORE_DEST_PENDING;
}

/*
 * collect_due - the destinations of rua still due for report_id: no row
 * yet (when include_missing), or pending/failed with attempts < max and
 * last touched at or before not_after.  Registers them (attempts + 1,
 * state pending) in one transaction and returns them as a rua list in
 * *due_out ("" when none).  Returns the number due, or -1.
 */
static int
collect_due(struct store *s, const char *report_id, const char *rua, long long max_attempts,
    long long not_after, bool include_missing, char **due_out)
{
	struct dest d[MAX_RUA_DESTS];
	bool due[MAX_RUA_DESTS];
	struct store_stmt *st;
	size_t n, i;
	int ndue = 0, rc;
	struct buf b;
	long long now = now_s();

	*due_out = NULL;
	n = rua_split(rua, d, MAX_RUA_DESTS);
	for (i = 0; i < n; i++) {
		due[i] = false;
		st = q_prep(s, "SELECT state, attempts, updated_at FROM report_destinations "
		    "WHERE report_id = ? AND destination = ?", "ss", report_id, d[i].key);
		if (st == NULL)
			goto bad;
		rc = s->ops->step(st);
		if (rc == STORE_ROW) {
			enum store_dest_state ds = dest_state_parse(s->ops->col_text(st, 0));

			due[i] = (ds == STORE_DEST_PENDING || ds == STORE_DEST_FAILED) &&
			    s->ops->col_int(st, 1) < max_attempts &&
			    s->ops->col_int(st, 2) <= not_after;
		} else if (rc == STORE_DONE)
			due[i] = include_missing;
		s->ops->finalize(st);
		if (rc == STORE_ERR)
			goto bad;
		if (due[i])
			ndue++;
	}
	if (ndue > 0) {
		if (s->ops->begin(s) != 0)
			goto bad;
		for (i = 0; i < n; i++) {
			if (!due[i])
				continue;
			if (q_exec(s, NULL, "INSERT INTO report_destinations (report_id, destination, state,"
			    " attempts, last_error, updated_at, sent_at) VALUES (?, ?, 'pending', 1, NULL, ?, NULL)"
			    " ON CONFLICT (report_id, destination) DO UPDATE SET state = 'pending',"
			    " attempts = report_destinations.attempts + 1, updated_at = excluded.updated_at",
			    "ssi", report_id, d[i].key, now) != 0) {
				s->ops->rollback(s);
				goto bad;
			}
		}
		if (s->ops->commit(s) != 0) {
			s->ops->rollback(s);
			goto bad;
		}
	}
	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		if (due[i])
			buf_printf(&b, "%s%s", b.len > 0 ? "," : "", d[i].elem);
	*due_out = b.data != NULL ? buf_detach(&b) : xstrdup("");
	dests_free(d, n);
	return ndue;
bad:
	dests_free(d, n);
	return -1;
}

/* ------------------------------------------------------------------ */
/* building one report                                                 */

/* A report row while it is collected: the grouping values and the count. */
struct grow {
	char		*source_ip, *disposition, *dkim, *spf, *reasons;
	char		*envelope_to, *envelope_from, *header_from, *auth;
	unsigned long long count;
};

static void
grow_free(struct grow *g)
{
	free(g->source_ip);
	free(g->disposition);
	free(g->dkim);
	free(g->spf);
	free(g->reasons);
	free(g->envelope_to);
	free(g->envelope_from);
	free(g->header_from);
	free(g->auth);
}

/* grow_keycmp - compare the grouping values (not the count) */
static int
grow_keycmp(const struct grow *a, const struct grow *b)
{
	int c;

	if ((c = strcmp(a->source_ip, b->source_ip)) != 0 ||
	    (c = strcmp(a->header_from, b->header_from)) != 0 ||
	    (c = strcmp(a->envelope_from, b->envelope_from)) != 0 ||
	    (c = strcmp(a->envelope_to, b->envelope_to)) != 0 ||
	    (c = strcmp(a->disposition, b->disposition)) != 0 ||
	    (c = strcmp(a->dkim, b->dkim)) != 0 ||
	    (c = strcmp(a->spf, b->spf)) != 0 ||
	    (c = strcmp(a->reasons, b->reasons)) != 0)
		return c;
	return strcmp(a->auth, b->auth);
}

static int
grow_keycmp_q(const void *a, const void *b)
{
	return grow_keycmp(a, b);
}

/* grow_outcmp - output order: most messages first, then by value (deterministic) */
static int
grow_outcmp(const void *a, const void *b)
{
	const struct grow *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return grow_keycmp(x, y);
}

/* jstr - an allocated copy of a JSON string, NULL for anything else */
static char *
jstr(json_t *v)
{
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/*
 * map_reason - an override reason in the report's vocabulary.  RFC 9990's
 * PolicyOverrideType has no "forwarded" nor "sampled_out" (there is no
 * pct any more); RFC 7489's has no "policy_test_mode".  Such a type is
 * written as "other" with the original keyword in the comment.
 */
static void
map_reason(enum report_format f, const char *type, const char *comment, struct report_reason *out)
{
	bool other;

	if (f == REPORT_RFC9990)
		other = strcmp(type, "forwarded") == 0 || strcmp(type, "sampled_out") == 0;
	else
		other = strcmp(type, "policy_test_mode") == 0;
	if (!other) {
		out->type = xstrdup(type);
		out->comment = comment != NULL ? xstrdup(comment) : NULL;
	} else {
		out->type = xstrdup("other");
		out->comment = comment != NULL ? xasprintf("%s: %s", type, comment) : xstrdup(type);
	}
}

/* fill_row - turn a collected row into a report row */
static void
fill_row(enum report_format f, const struct grow *g, struct report_row *r)
{
	json_t *j, *a, *e;
	size_t i, n;

	memset(r, 0, sizeof(*r));
	r->source_ip = xstrdup(g->source_ip);
	r->count = g->count;
	r->disposition = xstrdup(g->disposition);
	r->dkim = xstrdup(g->dkim);
	r->spf = xstrdup(g->spf);
	r->envelope_to = *g->envelope_to != '\0' ? xstrdup(g->envelope_to) : NULL;
	r->envelope_from = *g->envelope_from != '\0' ? xstrdup(g->envelope_from) : NULL;
	r->header_from = xstrdup(g->header_from);

	if (*g->reasons != '\0' && (j = json_loads(g->reasons, 0, NULL)) != NULL) {
		n = json_is_array(j) ? json_array_size(j) : 0;
		r->reasons = n > 0 ? xcalloc(n, sizeof(*r->reasons)) : NULL;
		for (i = 0; i < n; i++) {
			e = json_array_get(j, i);
			if (!json_is_array(e) || !json_is_string(json_array_get(e, 0)))
				continue;
			map_reason(f, json_string_value(json_array_get(e, 0)),
			    json_string_value(json_array_get(e, 1)), &r->reasons[r->n_reasons++]);
		}
		json_decref(j);
	}
	if ((j = json_loads(g->auth, 0, NULL)) == NULL)
		return;
	a = json_object_get(j, "dkim");
	n = json_is_array(a) ? json_array_size(a) : 0;
	r->dkim_results = n > 0 ? xcalloc(n, sizeof(*r->dkim_results)) : NULL;
	for (i = 0; i < n; i++) {
		struct report_dkim *d;

		e = json_array_get(a, i);
		if (!json_is_array(e) || !json_is_string(json_array_get(e, 0)))
			continue;
		d = &r->dkim_results[r->n_dkim++];
		d->domain = jstr(json_array_get(e, 0));
		d->selector = jstr(json_array_get(e, 1));
		if (d->selector == NULL)
			d->selector = xstrdup("");
		d->result = jstr(json_array_get(e, 2));
		if (d->result == NULL)
			d->result = xstrdup("none");
		d->human_result = jstr(json_array_get(e, 3));
	}
	a = json_object_get(j, "spf");
	n = json_is_array(a) ? json_array_size(a) : 0;
	r->spf_results = n > 0 ? xcalloc(n, sizeof(*r->spf_results)) : NULL;
	for (i = 0; i < n; i++) {
		struct report_spf *sp;

		e = json_array_get(a, i);
		if (!json_is_array(e) || !json_is_string(json_array_get(e, 0)))
			continue;
		sp = &r->spf_results[r->n_spf++];
		sp->domain = jstr(json_array_get(e, 0));
		sp->scope = jstr(json_array_get(e, 1));
		if (sp->scope == NULL)
			sp->scope = xstrdup("mfrom");
		sp->result = jstr(json_array_get(e, 2));
		if (sp->result == NULL)
			sp->result = xstrdup("none");
		sp->human_result = jstr(json_array_get(e, 3));
	}
	json_decref(j);
}

/*
 * read_policy - policy_published from the most recent message of the
 * period (RFC 9990: the policy "as the record said"), and its rua list.
 * Returns 0, 1 when the period has no messages, -1 on error.
 */
static int
read_policy(struct store *s, const char *domain, long long day, struct report *rep, char **rua)
{
	struct store_stmt *st;
	const char *v;
	int rc;

	st = q_prep(s, "SELECT p, sp, np, adkim, aspf, pct, fo, testing, discovery, rua FROM messages"
	    " WHERE policy_domain = ? AND day = ? ORDER BY msg_time DESC, hash DESC LIMIT 1",
	    "si", domain, day);
	if (st == NULL)
		return -1;
	rc = s->ops->step(st);
	if (rc != STORE_ROW) {
		s->ops->finalize(st);
		return rc == STORE_DONE ? 1 : -1;
	}
	v = s->ops->col_text(st, 0);
	rep->p = xstrdup(v != NULL && *v != '\0' ? v : "none");
	rep->sp = dup_col(s, st, 1);
	rep->np = dup_col(s, st, 2);
	v = s->ops->col_text(st, 3);
	rep->adkim = xstrdup(v != NULL ? v : "r");
	v = s->ops->col_text(st, 4);
	rep->aspf = xstrdup(v != NULL ? v : "r");
	rep->pct = s->ops->col_text(st, 5) != NULL ? (int)s->ops->col_int(st, 5) : -1;
	rep->fo = dup_col(s, st, 6);
	rep->testing = dup_col(s, st, 7);
	rep->discovery_method = dup_col(s, st, 8);
	v = s->ops->col_text(st, 9);
	*rua = xstrdup(v != NULL ? v : "");
	s->ops->finalize(st);
	return 0;
}

/*
 * read_rows - the period's rows: one GROUP BY over the grouping columns,
 * then mapped to the report's vocabulary, merged where the mapping made
 * two equal, and sorted.  RFC 9990 ActionDispositionType: "pass" means no
 * action because the message passed DMARC under an enforcing (quarantine
 * or reject) policy; RFC 7489 has only none/quarantine/reject.
 */
static int
read_rows(struct store *s, const char *domain, long long day, enum report_format f,
    struct report *rep)
{
	struct grow *g = NULL;
	size_t n = 0, alloc = 0, i, k;
	struct store_stmt *st;
	int rc;

	st = q_prep(s, "SELECT source_ip, disposition, dkim, spf, reasons, envelope_to, envelope_from,"
	    " header_from, auth, policy, COUNT(*) FROM messages WHERE policy_domain = ? AND day = ?"
	    " GROUP BY source_ip, disposition, dkim, spf, reasons, envelope_to, envelope_from,"
	    " header_from, auth, policy", "si", domain, day);
	if (st == NULL)
		return -1;
	while ((rc = s->ops->step(st)) == STORE_ROW) {
		const char *policy = s->ops->col_text(st, 9);
		struct grow *x;

		if (n == alloc) {
			alloc = alloc > 0 ? alloc * 2 : 64;
			g = xrealloc(g, alloc * sizeof(*g));
		}
		x = &g[n++];
		x->source_ip = dup_col(s, st, 0);
		x->disposition = dup_col(s, st, 1);
		x->dkim = dup_col(s, st, 2);
		x->spf = dup_col(s, st, 3);
		x->reasons = dup_col(s, st, 4);
		x->envelope_to = dup_col(s, st, 5);
		x->envelope_from = dup_col(s, st, 6);
		x->header_from = dup_col(s, st, 7);
		x->auth = dup_col(s, st, 8);
		x->count = (unsigned long long)s->ops->col_int(st, 10);
		/* the NOT NULL columns never give NULL; be safe anyway */
		if (x->source_ip == NULL) x->source_ip = xstrdup("");
		if (x->disposition == NULL) x->disposition = xstrdup("none");
		if (x->dkim == NULL) x->dkim = xstrdup("fail");
		if (x->spf == NULL) x->spf = xstrdup("fail");
		if (x->reasons == NULL) x->reasons = xstrdup("");
		if (x->envelope_to == NULL) x->envelope_to = xstrdup("");
		if (x->envelope_from == NULL) x->envelope_from = xstrdup("");
		if (x->header_from == NULL) x->header_from = xstrdup("");
		if (x->auth == NULL) x->auth = xstrdup("{}");
		if (f == REPORT_RFC9990 && strcmp(x->disposition, "none") == 0 &&
		    (strcmp(x->dkim, "pass") == 0 || strcmp(x->spf, "pass") == 0) &&
		    policy != NULL && (strcmp(policy, "quarantine") == 0 || strcmp(policy, "reject") == 0)) {
			free(x->disposition);
			x->disposition = xstrdup("pass");
		}
	}
	s->ops->finalize(st);
	if (rc != STORE_DONE) {
		for (i = 0; i < n; i++)
			grow_free(&g[i]);
		free(g);
		return -1;
	}
	/* merge rows the mapping made equal, then order them */
	if (n > 1) {
		qsort(g, n, sizeof(*g), grow_keycmp_q);
		for (i = 1, k = 0; i < n; i++) {
			if (grow_keycmp(&g[i], &g[k]) == 0) {
				g[k].count += g[i].count;
				grow_free(&g[i]);
			} else
				g[++k] = g[i];
		}
		n = k + 1;
		qsort(g, n, sizeof(*g), grow_outcmp);
	}
	rep->rows = n > 0 ? xcalloc(n, sizeof(*rep->rows)) : NULL;
	for (i = 0; i < n; i++) {
		fill_row(f, &g[i], &rep->rows[i]);
		grow_free(&g[i]);
	}
	rep->n_rows = n;
	free(g);
	return 0;
}

/* build_report - the complete report of one period; 0, 1 (no messages), -1 */
static int
build_report(struct store *s, const char *report_id, const char *domain, long long day,
    const struct report_options *o, struct report *rep)
{
	char *rua = NULL;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->format = o->format;
	rep->org_name = xstrdup(o->org_name);
	rep->email = xstrdup(o->email);
	rep->extra_contact_info = o->extra_contact_info != NULL ? xstrdup(o->extra_contact_info) : NULL;
	rep->generator = o->generator != NULL ? xstrdup(o->generator) : NULL;
	rep->report_id = xstrdup(report_id);
	rep->begin = (time_t)day;
	rep->end = (time_t)(day + STORE_PERIOD - 1);
	rep->domain = xstrdup(domain);
	if ((rc = read_policy(s, domain, day, rep, &rua)) == 0)
		rc = read_rows(s, domain, day, o->format, rep);
	free(rua);
	if (rc != 0)
		report_free(rep);
	return rc;
}

/*
 * emit_one - register the due destinations, build the report and hand it
 * to emit.  *emitted tells whether emit was called.  Returns 0, or -1
 * (database error or emit refused) with err.
 */
static int
emit_one(struct store *s, const char *report_id, const char *domain, long long day,
    const char *rua, const struct report_options *o, long long not_after, bool include_missing,
    store_emit_fn emit, void *arg, bool *emitted, char *err, size_t errlen)
{
	long long max = o->max_attempts > 0 ? o->max_attempts : DEFAULT_MAX_ATTEMPTS;
	struct report rep;
	char *due = NULL;
	int ndue, rc;

	*emitted = false;
	if ((ndue = collect_due(s, report_id, rua, max, not_after, include_missing, &due)) < 0)
		return fail(s, err, errlen, report_id);
	if (ndue == 0 && *rua != '\0') {
		free(due);	/* every destination sent, refused or given up */
		return 0;
	}
	rc = build_report(s, report_id, domain, day, o, &rep);
	if (rc != 0) {
		free(due);
		if (rc > 0)
			return say(err, errlen, "%s: no messages left for %s on day %lld",
			    report_id, domain, day);
		return fail(s, err, errlen, report_id);
	}
	rc = emit(&rep, due, arg);
	report_free(&rep);
	free(due);
	if (rc != 0)
		return say(err, errlen, "%s: the report for %s was not handed over; it will be "
		    "built again next time", report_id, domain);
	*emitted = true;
	return 0;
}

/* check_opts - what every report needs */
static int
check_opts(const struct report_options *o, store_emit_fn emit, char *err, size_t errlen)
{
	if (o == NULL || o->org_name == NULL || *o->org_name == '\0' ||
	    o->email == NULL || *o->email == '\0')
		return say(err, errlen, "org_name and email are required to build reports");
	if (emit == NULL)
		return say(err, errlen, "no emitter");
	return 0;
}

struct todo {
	char		*id;
	char		*domain;
	long long	 day;
	char		*rua;
};

static void
todo_free(struct todo *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(t[i].id);
		free(t[i].domain);
		free(t[i].rua);
	}
}

/*
 * claim_period - insert the "building" reports row for a period (a no-op
 * when one exists) and read back the row that holds the period: its id,
 * state and rua.  Returns 0 (to build), 1 (already built), -1.
 */
static int
claim_period(struct store *s, const struct report_options *o, struct todo *t)
{
	struct store_stmt *st;
	char *rua = NULL, *id;
	struct report scratch;
	int rc, ret = -1;

	memset(&scratch, 0, sizeof(scratch));
	rc = read_policy(s, t->domain, t->day, &scratch, &rua);
	report_free(&scratch);
	if (rc != 0)
		return rc > 0 ? 1 : -1;		/* no messages any more: nothing to build */
	id = store_report_id(o->org_name, t->domain, (time_t)t->day);
	if (s->ops->begin(s) != 0)
		goto out;
	if (q_exec(s, NULL, "INSERT INTO reports (report_id, policy_domain, begin_time, end_time, rua,"
	    " state, created_at) VALUES (?, ?, ?, ?, ?, 'building', ?) ON CONFLICT DO NOTHING",
	    "ssiisi", id, t->domain, t->day, t->day + STORE_PERIOD - 1, rua, now_s()) != 0)
		goto bad;
	st = q_prep(s, "SELECT report_id, state, rua FROM reports WHERE policy_domain = ? AND begin_time = ?",
	    "si", t->domain, t->day);
	if (st == NULL)
		goto bad;
	if ((rc = s->ops->step(st)) != STORE_ROW) {
		s->ops->finalize(st);
		if (rc == STORE_DONE)
			store_set_error(s, "report %s vanished while it was claimed", id);
		goto bad;
	}
	t->id = dup_col(s, st, 0);
	ret = strcmp(s->ops->col_text(st, 1), "built") == 0 ? 1 : 0;
	t->rua = dup_col(s, st, 2);
	s->ops->finalize(st);
	if (s->ops->commit(s) != 0)
		goto bad;
	goto out;
bad:
	ret = -1;
	s->ops->rollback(s);
out:
	free(id);
	free(rua);
	return ret;
}

/* mark_built - the report was handed over: never build it again */
static int
mark_built(struct store *s, const char *report_id)
{
	return q_exec(s, NULL, "UPDATE reports SET state = 'built', built_at = ? WHERE report_id = ?",
	    "is", now_s(), report_id);
}

/* store_build_reports - build and emit every complete, unreported period */
int
store_build_reports(struct store *s, time_t until, const struct report_options *o,
    store_emit_fn emit, void *arg, char *err, size_t errlen)
{
	struct todo page[PAGE_SIZE];
	long long horizon, last_day = LLONG_MIN;
	char *last_domain = xstrdup("");
	struct store_stmt *st;
	size_t n, i;
	int count = 0, rc = STORE_DONE;
	bool emitted;

	if (check_opts(o, emit, err, errlen) != 0) {
		free(last_domain);
		return -1;
	}
	if (s->ops->lock_builder(s) != 0) {
		free(last_domain);
		return fail(s, err, errlen, "build");
	}
	if (store_expired_before(s, &horizon, err, errlen) != 0)
		goto bad;
	for (;;) {
		/* a period is complete when its last second is before until */
		st = q_prep(s, "SELECT p.policy_domain, p.day FROM periods p WHERE p.day <= ? AND p.day >= ?"
		    " AND (p.day > ? OR (p.day = ? AND p.policy_domain > ?))"
		    " AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.policy_domain = p.policy_domain"
		    " AND r.begin_time = p.day AND r.state = 'built')"
		    " ORDER BY p.day, p.policy_domain LIMIT ?",
		    "iiiisi", (long long)until - STORE_PERIOD, horizon, last_day, last_day, last_domain,
		    (long long)PAGE_SIZE);
		if (st == NULL) {
			fail(s, err, errlen, "build");
			goto bad;
		}
		n = 0;
		while (n < PAGE_SIZE && (rc = s->ops->step(st)) == STORE_ROW) {
			memset(&page[n], 0, sizeof(page[n]));
			page[n].domain = dup_col(s, st, 0);
			page[n].day = s->ops->col_int(st, 1);
			n++;
		}
		if (n < PAGE_SIZE && rc == STORE_ERR) {
			s->ops->finalize(st);
			todo_free(page, n);
			fail(s, err, errlen, "build");
			goto bad;
		}
		s->ops->finalize(st);
		if (n == 0)
			break;
		free(last_domain);
		last_domain = xstrdup(page[n - 1].domain);
		last_day = page[n - 1].day;
		for (i = 0; i < n; i++) {
			rc = claim_period(s, o, &page[i]);
			if (rc < 0) {
				fail(s, err, errlen, page[i].domain);
				todo_free(page, n);
				goto bad;
			}
			if (rc > 0)
				continue;
			if (emit_one(s, page[i].id, page[i].domain, page[i].day, page[i].rua, o,
			    LLONG_MAX, true, emit, arg, &emitted, err, errlen) != 0) {
				todo_free(page, n);
				goto bad;
			}
			if (mark_built(s, page[i].id) != 0) {
				fail(s, err, errlen, page[i].id);
				todo_free(page, n);
				goto bad;
			}
			if (emitted)
				count++;
		}
		todo_free(page, n);
		if (n < PAGE_SIZE)
			break;
	}
	s->ops->unlock_builder(s);
	free(last_domain);
	return count;
bad:
	s->ops->unlock_builder(s);
	free(last_domain);
	return -1;
}

/* store_retry_reports - emit built reports again to destinations still due */
int
store_retry_reports(struct store *s, time_t not_after, const struct report_options *o,
    store_emit_fn emit, void *arg, char *err, size_t errlen)
{
	long long max = o != NULL && o->max_attempts > 0 ? o->max_attempts : DEFAULT_MAX_ATTEMPTS;
	struct todo page[PAGE_SIZE];
	long long horizon, last_begin = LLONG_MIN;
	char *last_id = xstrdup("");
	struct store_stmt *st;
	size_t n, i;
	int count = 0, rc = STORE_DONE;
	bool emitted;

	if (check_opts(o, emit, err, errlen) != 0) {
		free(last_id);
		return -1;
	}
	if (s->ops->lock_builder(s) != 0) {
		free(last_id);
		return fail(s, err, errlen, "retry");
	}
	if (store_expired_before(s, &horizon, err, errlen) != 0)
		goto bad;
	for (;;) {
		st = q_prep(s, "SELECT r.report_id, r.policy_domain, r.begin_time, r.rua FROM reports r"
		    " WHERE r.state = 'built' AND r.begin_time >= ?"
		    " AND (r.begin_time > ? OR (r.begin_time = ? AND r.report_id > ?))"
		    " AND EXISTS (SELECT 1 FROM report_destinations d WHERE d.report_id = r.report_id"
		    " AND d.state IN ('pending', 'failed') AND d.attempts < ? AND d.updated_at <= ?)"
		    " ORDER BY r.begin_time, r.report_id LIMIT ?",
		    "iiisiii", horizon, last_begin, last_begin, last_id, max, (long long)not_after,
		    (long long)PAGE_SIZE);
		if (st == NULL) {
			fail(s, err, errlen, "retry");
			goto bad;
		}
		n = 0;
		while (n < PAGE_SIZE && (rc = s->ops->step(st)) == STORE_ROW) {
			page[n].id = dup_col(s, st, 0);
			page[n].domain = dup_col(s, st, 1);
			page[n].day = s->ops->col_int(st, 2);
			page[n].rua = dup_col(s, st, 3);
			n++;
		}
		if (n < PAGE_SIZE && rc == STORE_ERR) {
			s->ops->finalize(st);
			todo_free(page, n);
			fail(s, err, errlen, "retry");
			goto bad;
		}
		s->ops->finalize(st);
		if (n == 0)
			break;
		free(last_id);
		last_id = xstrdup(page[n - 1].id);
		last_begin = page[n - 1].day;
		for (i = 0; i < n; i++) {
			if (emit_one(s, page[i].id, page[i].domain, page[i].day, page[i].rua, o,
			    (long long)not_after, false, emit, arg, &emitted, err, errlen) != 0) {
				todo_free(page, n);
				goto bad;
			}
			if (emitted)
				count++;
		}
		todo_free(page, n);
		if (n < PAGE_SIZE)
			break;
	}
	s->ops->unlock_builder(s);
	free(last_id);
	return count;
bad:
	s->ops->unlock_builder(s);
	free(last_id);
	return -1;
}

/* ------------------------------------------------------------------ */
/* bookkeeping                                                         */

/* store_report_mark - record the outcome for one destination */
int
store_report_mark(struct store *s, const char *report_id, const char *destination,
    enum store_dest_state state, const char *error, char *err, size_t errlen)
{
	long long one, now = now_s();
	char *key, *sent_at;
	int rc;

	if (report_id == NULL || destination == NULL || *destination == '\0')
		return say(err, errlen, "report id and destination are required");
	rc = store_q_int(s, &one, "SELECT 1 FROM reports WHERE report_id = ?", "s", report_id);
	if (rc < 0)
		return fail(s, err, errlen, report_id);
	if (rc > 0)
		return say(err, errlen, "%s: no such report", report_id);
	key = dest_key(destination, strlen(destination));
	sent_at = state == STORE_DEST_SENT ? xasprintf("%lld", now) : NULL;
	rc = q_exec(s, NULL, "INSERT INTO report_destinations (report_id, destination, state, attempts,"
	    " last_error, updated_at, sent_at) VALUES (?, ?, ?, 1, ?, ?, ?)"
	    " ON CONFLICT (report_id, destination) DO UPDATE SET state = excluded.state,"
	    " last_error = excluded.last_error, updated_at = excluded.updated_at,"
	    " sent_at = COALESCE(excluded.sent_at, report_destinations.sent_at)",
	    "ssssis", report_id, key, store_dest_state_str(state), error, now, sent_at);
	free(key);
	free(sent_at);
	if (rc != 0)
		return fail(s, err, errlen, report_id);
	return 0;
}

/* store_report_dest - read one destination's state */
int
store_report_dest(struct store *s, const char *report_id, const char *destination,
    enum store_dest_state *state, unsigned *attempts, char **last_error, char *err, size_t errlen)
{
	struct store_stmt *st;
	char *key;
	int rc;

	if (last_error != NULL)
		*last_error = NULL;
	key = dest_key(destination, strlen(destination));
	st = q_prep(s, "SELECT state, attempts, last_error FROM report_destinations"
	    " WHERE report_id = ? AND destination = ?", "ss", report_id, key);
	free(key);
	if (st == NULL)
		return fail(s, err, errlen, report_id);
	rc = s->ops->step(st);
	if (rc == STORE_ROW) {
		if (state != NULL)
			*state = dest_state_parse(s->ops->col_text(st, 0));
		if (attempts != NULL)
			*attempts = (unsigned)s->ops->col_int(st, 1);
		if (last_error != NULL)
			*last_error = dup_col(s, st, 2);
	}
	s->ops->finalize(st);
	if (rc == STORE_ERR)
		return fail(s, err, errlen, report_id);
	return rc == STORE_ROW ? 1 : 0;
}

/* store_report_forget - drop a report and its destinations */
int
store_report_forget(struct store *s, const char *report_id, char *err, size_t errlen)
{
	long long n = 0;

	if (s->ops->begin(s) != 0)
		return fail(s, err, errlen, report_id);
	if (q_exec(s, NULL, "DELETE FROM report_destinations WHERE report_id = ?", "s", report_id) != 0 ||
	    q_exec(s, &n, "DELETE FROM reports WHERE report_id = ?", "s", report_id) != 0 ||
	    s->ops->commit(s) != 0) {
		fail(s, err, errlen, report_id);
		s->ops->rollback(s);
		return -1;
	}
	return n > 0 ? 1 : 0;
}

/* store_expire - drop the messages and reports of days ended by older_than */
int
store_expire(struct store *s, time_t older_than, struct store_expire_stats *stats,
    char *err, size_t errlen)
{
	long long cutoff, old = 0, day, n;
	char *v;
	int rc;

	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	/* a day d is over at d + 86400; those <= older_than are the days < cutoff */
	cutoff = (long long)older_than - (long long)older_than % STORE_PERIOD;
	if (older_than < 0)
		return say(err, errlen, "expire: negative time");
	if (store_expired_before(s, &old, err, errlen) != 0)
		return -1;
	if (cutoff > old) {
		v = xasprintf("%lld", cutoff);
		rc = q_exec(s, NULL, "INSERT INTO meta (key, value) VALUES ('expired_before', ?)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value", "s", v);
		free(v);
		if (rc != 0)
			return fail(s, err, errlen, "expire");
	}
	/* messages a day at a time: bounded transactions */
	for (;;) {
		rc = store_q_int(s, &day, "SELECT MIN(day) FROM messages WHERE day < ?", "i", cutoff);
		if (rc < 0)
			return fail(s, err, errlen, "expire");
		if (rc > 0)
			break;
		n = 0;
		if (q_exec(s, &n, "DELETE FROM messages WHERE day = ?", "i", day) != 0)
			return fail(s, err, errlen, "expire");
		if (stats != NULL)
			stats->messages += (unsigned long long)n;
	}
	n = 0;
	if (s->ops->begin(s) != 0)
		return fail(s, err, errlen, "expire");
	if (q_exec(s, NULL, "DELETE FROM report_destinations WHERE report_id IN"
	    " (SELECT report_id FROM reports WHERE begin_time < ?)", "i", cutoff) != 0 ||
	    q_exec(s, &n, "DELETE FROM reports WHERE begin_time < ?", "i", cutoff) != 0 ||
	    q_exec(s, NULL, "DELETE FROM periods WHERE day < ?", "i", cutoff) != 0 ||
	    s->ops->commit(s) != 0) {
		fail(s, err, errlen, "expire");
		s->ops->rollback(s);
		return -1;
	}
	if (stats != NULL)
		stats->reports = (unsigned long long)n;
	return 0;
}
