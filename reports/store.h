/*
 * store.h - the report database of dmarc-reports: history records imported
 * per message, grouped into one DMARC aggregate report per (policy domain,
 * UTC day), and the bookkeeping of which report went where.
 *
 * One MTA keeps it in an SQLite file; a fleet imports into one PostgreSQL
 * database.  The schema is created and migrated by store_open().  The
 * design (keys, idempotency, concurrency) is described at the top of
 * store.c.
 */
#ifndef DM_STORE_H
#define DM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "report.h"

struct store;

/* The schema version this code creates and understands. */
#define STORE_SCHEMA_VERSION	2

/* One aggregate report covers one UTC day (RFC 9990 §2.1 default interval). */
#define STORE_PERIOD		86400

/*
 * store_open - open (and create or migrate) a store.  db is a file path
 * (SQLite) or a "postgresql://" / "postgres://" URI (PostgreSQL; the
 * usual libpq URI, e.g. postgresql://user@host:5432/dbname).  Returns NULL
 * with a message in err when the database cannot be opened, or its schema
 * is newer than this program.
 */
struct store	*store_open(const char *db, char *err, size_t errlen);
void		 store_close(struct store *);
const char	*store_backend_name(const struct store *);	/* "sqlite", "postgresql" */

/* What the report metadata says about us, and how reports are sent. */
struct report_options {
	enum report_format format;
	const char	*org_name;		/* report_metadata/org_name */
	const char	*email;			/* report_metadata/email */
	const char	*extra_contact_info;	/* may be NULL */
	const char	*generator;		/* RFC 9990; may be NULL */
	unsigned	 max_attempts;		/* per destination; 0 = 5 */
};

/*
 * The emitter gets one complete report at a time (the store frees it when
 * emit returns) and the destinations still due, as a comma-separated rua
 * list exactly as the domain published it ("mailto:a@example.com!10m,..."),
 * or "" when the domain published none.  It must call store_report_mark()
 * for each destination it handled.  Return 0 when the report was handed
 * over (serialized, queued or sent), -1 to stop: the run stops, the report
 * stays unbuilt and the next run builds it again with the same report_id.
 */
typedef int	(*store_emit_fn)(struct report *, const char *rua, void *arg);

/*
 * store_build_reports - for every (policy domain, UTC day) whose day ended
 * at or before `until` and that has no built report yet, build the report
 * and call emit.  A report left half-done by a crash is built again with
 * the same report_id, for the destinations not marked sent or refused.
 * Returns the number of reports emitted, or -1 with err.  Only one builder
 * runs at a time per database (a lock; a second one fails at once).
 */
int	store_build_reports(struct store *, time_t until, const struct report_options *,
	    store_emit_fn emit, void *arg, char *err, size_t errlen);

/*
 * store_retry_reports - emit again the built reports that still have
 * destinations pending or temporarily failed, with fewer than max_attempts
 * attempts and last touched at or before not_after.  rua lists only those
 * destinations.  The report is rebuilt from the stored messages (same
 * report_id).  Returns the number of reports emitted, or -1.
 */
int	store_retry_reports(struct store *, time_t not_after, const struct report_options *,
	    store_emit_fn emit, void *arg, char *err, size_t errlen);

enum store_dest_state {
	STORE_DEST_PENDING = 0,	/* handed to the emitter, no outcome yet */
	STORE_DEST_SENT,	/* the relay accepted it: done */
	STORE_DEST_FAILED,	/* temporary failure: retried up to max_attempts */
	STORE_DEST_REFUSED	/* permanent failure or not allowed: never retried */
};

const char	*store_dest_state_str(enum store_dest_state);

/*
 * store_report_mark - record what happened to one destination of a report.
 * destination is the rua URI; a "!size" suffix is ignored.  error may be
 * NULL.  Fails when the report is unknown.
 */
int	store_report_mark(struct store *, const char *report_id, const char *destination,
	    enum store_dest_state, const char *error, char *err, size_t errlen);

/*
 * store_report_dest - read back a destination's state.  Returns 1 and
 * fills the outputs (*last_error, when not NULL, is allocated or NULL),
 * 0 when there is no such destination, -1 on error.
 */
int	store_report_dest(struct store *, const char *report_id, const char *destination,
	    enum store_dest_state *, unsigned *attempts, char **last_error,
	    char *err, size_t errlen);

/*
 * store_report_forget - drop a report's bookkeeping so that the next
 * store_build_reports() builds it again (same report_id).  For operators
 * ("resend that report") and tests.  Returns 1 when it existed, 0 if not.
 */
int	store_report_forget(struct store *, const char *report_id, char *err, size_t errlen);

/*
 * store_report_id - the deterministic report_id of a (policy domain, day)
 * for a reporting organisation; the same inputs give the same id on every
 * run and every host.  Returns an allocated string.
 */
char	*store_report_id(const char *org_name, const char *policy_domain, time_t begin);

struct store_expire_stats {
	unsigned long long	messages;	/* message rows deleted */
	unsigned long long	reports;	/* reports deleted */
};

/*
 * store_expire - delete the messages and reports of every day that ended
 * at or before older_than.  Records of those days are refused by later
 * imports (counted as too_old), so a re-imported old file can never make
 * an expired report come back.  stats may be NULL.
 */
int	store_expire(struct store *, time_t older_than, struct store_expire_stats *,
	    char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * Received aggregate reports: what other organisations report about the
 * mail that claimed to be from our domains (dmarc-reports receive,
 * sources, readiness, check-dns).  Schema version 2; see store_rcv.c.
 */

/*
 * store_rcv_add - keep one received report.  Idempotent per (org_name,
 * report_id), the RFC 9990 §3.1.1 identity of a report: a second copy
 * (the same mail fetched twice, a report sent to two rua addresses) is
 * not stored again, also when two receivers add it at the same moment.
 * origin (may be NULL) says where it came from (file, message), received
 * when it was taken in.  org_name and report_id are required; any other
 * field may be NULL.  The report and all its records are one transaction.
 * Returns 1 when stored, 0 when the store already had it, 2 when its
 * date range ended before the received reports' expiry horizon
 * (store_rcv_expire: not stored, so that a mailbox read again cannot
 * bring expired reports back), -1 with err.
 */
int	store_rcv_add(struct store *, const struct report *, const char *origin,
	    time_t received, char *err, size_t errlen);

/*
 * store_rcv_expire - forget the received reports whose date range ended
 * before older_than, with their records, and the reverse DNS answers
 * looked up before it; raise the expiry horizon to older_than.  *reports
 * (may be NULL) gets the number of reports deleted.
 */
int	store_rcv_expire(struct store *, time_t older_than, unsigned long long *reports,
	    char *err, size_t errlen);

/*
 * One record of a received report, with its report's metadata and the
 * policy the domain published then.  Valid during the callback only.
 * Names (domain, header_from) are lowercase A-labels without a trailing
 * dot, source_ip is in inet_ntop() form; a string not marked "may be
 * NULL" is never NULL ("" when the report left it out).  Inside the
 * result arrays every string is as the report had it, NULL included.
 */
struct store_rcv_row {
	const char		*org_name;	/* the reporting organisation */
	const char		*report_id;
	long long		 begin, end;	/* the report's date_range */
	const char		*domain;	/* policy_published/domain */
	const char		*p, *sp, *np;	/* sp, np may be NULL */
	const char		*adkim, *aspf;	/* may be NULL */
	int			 pct;		/* -1: not published */
	const char		*testing;	/* "y"/"n"; may be NULL: not published */
	const char		*source_ip;
	unsigned long long	 count;
	const char		*disposition;	/* none, quarantine, reject, pass */
	const char		*dkim, *spf;	/* DMARC's aligned verdicts: pass / fail */
	const char		*header_from;	/* lowercase */
	const char		*envelope_from;	/* may be NULL */
	const char		*envelope_to;	/* may be NULL */
	const struct report_reason *reasons;
	size_t			 n_reasons;
	const struct report_dkim *dkim_results;
	size_t			 n_dkim;
	const struct report_spf	*spf_results;
	size_t			 n_spf;
};

/* Return 0 to go on, anything else stops the walk (and is returned). */
typedef int	(*store_rcv_fn)(const struct store_rcv_row *, void *arg);

/*
 * store_rcv_rows - every record of the received reports whose date range
 * overlaps [since, until) and whose policy_published/domain or
 * header_from is domain or a name below it (ASCII case-insensitive),
 * ordered by report begin, org_name, report_id (bytewise), then record
 * order.  domain NULL or "": every domain.  No statement is open while
 * the callback runs: it may use the store.  Returns 0, the callback's
 * non-zero value, or -1 with err.
 */
int	store_rcv_rows(struct store *, const char *domain, time_t since, time_t until,
	    store_rcv_fn, void *arg, char *err, size_t errlen);

/* store_rcv_domains - the distinct policy domains of the received reports,
 * sorted bytewise; *out is an allocated array of *n allocated strings
 * (NULL when none).  Returns 0 or -1 with err. */
int	store_rcv_domains(struct store *, char ***out, size_t *n, char *err, size_t errlen);

/*
 * The reverse DNS of source IPs, remembered between runs so that
 * "sources" does not ask again for every IP every time.  name NULL (or
 * "") records "no PTR"; a lookup older than the one remembered does not
 * replace it.  store_rdns_get returns 1 and sets *name (allocated, NULL
 * for "no PTR") when an entry looked up at or after not_before exists,
 * 0 when none, -1 on error.  An IPv6 address is one key however written.
 */
int	store_rdns_get(struct store *, const char *ip, time_t not_before, char **name,
	    char *err, size_t errlen);
int	store_rdns_put(struct store *, const char *ip, const char *name, time_t when,
	    char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * Internal interface between store.c, import.c and the two backends
 * (store_sqlite.c, store_pg.c).  Not for other callers.
 */

/* One message row as the importer hands it to the store. */
struct store_message {
	char		 hash[65];	/* SHA-256 of the line, lowercase hex */
	unsigned long long lineno;	/* for messages only */
	long long	 time;		/* the record's "time" */
	long long	 day;		/* time rounded down to the UTC day */
	char		*reporter;	/* may be NULL */
	char		*policy_domain;
	/* the published policy (dmarc[deciding].record) */
	char		*p, *sp, *np;	/* sp, np may be NULL */
	char		*adkim, *aspf;
	int		 pct;		/* -1: not published */
	char		*fo;		/* may be NULL */
	char		*testing;	/* "y" / "n" */
	char		*psd;		/* "y" / "n" / NULL */
	char		*discovery;	/* "psl" / "treewalk" */
	char		*rua;		/* "uri[!size],uri..."; "" when none */
	/* the row's grouping key; "" where absent */
	char		*source_ip;
	char		*header_from;
	char		*envelope_from;
	char		*envelope_to;
	char		*policy;	/* the policy that applied: p, sp or np */
	char		*disposition;
	char		*dkim, *spf;	/* DMARC's aligned verdicts: "pass" / "fail" */
	char		*reasons;	/* canonical JSON, "" for none */
	char		*auth;		/* canonical JSON of the auth results */
};

void	store_message_free(struct store_message *);

/*
 * store_insert_batch - insert messages in one transaction; inserted[i] is
 * set to true for the rows that were new, late[i] for new rows whose
 * period already has a built report.  Sorts msgs (by hash).  Retries on
 * deadlock/busy; *retries (may be NULL) is increased by the number of
 * retries.  Returns 0 or -1.
 */
int	store_insert_batch(struct store *, struct store_message *msgs, size_t n,
	    bool *inserted, bool *late, unsigned *retries, char *err, size_t errlen);

/* store_expired_before - the expiry horizon (records of days before it are refused) */
int	store_expired_before(struct store *, long long *out, char *err, size_t errlen);

/* Backend statements. */
struct store_stmt;

enum { STORE_ERR = -1, STORE_DONE = 0, STORE_ROW = 1 };

struct store_ops {
	const char	*name;
	void		(*close)(struct store *);
	/* exec - one or more statements without parameters or results */
	int		(*exec)(struct store *, const char *sql);
	/* begin - a write transaction (SQLite: BEGIN IMMEDIATE) */
	int		(*begin)(struct store *);
	int		(*commit)(struct store *);
	void		(*rollback)(struct store *);
	/* prepare - SQL with '?' placeholders */
	struct store_stmt *(*prepare)(struct store *, const char *sql);
	int		(*bind_text)(struct store_stmt *, int idx, const char *);	/* 1-based; NULL = SQL NULL */
	int		(*bind_int)(struct store_stmt *, int idx, long long);
	int		(*step)(struct store_stmt *);	/* STORE_ROW, STORE_DONE, STORE_ERR */
	const char	*(*col_text)(struct store_stmt *, int idx);	/* 0-based; NULL = SQL NULL */
	long long	(*col_int)(struct store_stmt *, int idx);
	long long	(*changes)(struct store_stmt *);	/* rows changed by the last step */
	void		(*reset)(struct store_stmt *);	/* run again, keep bindings */
	void		(*finalize)(struct store_stmt *);
	/* lock_schema - inside the migration transaction: serialize migrations */
	int		(*lock_schema)(struct store *);
	/* builder lock: held from store_build_reports() to its end */
	int		(*lock_builder)(struct store *);	/* 0, or -1 when held elsewhere or on error */
	void		(*unlock_builder)(struct store *);
	/* retryable - the last error was a deadlock, serialization failure or busy */
	bool		(*retryable)(struct store *);
};

struct store {
	const struct store_ops *ops;
	void		*be;		/* the backend's connection state */
	char		*errmsg;	/* the last backend error (owned) */
};

/*
 * For store_rcv.c: store_fail fills err with "what: <last error>" and
 * returns -1; store_q_prep prepares sql and binds its '?' parameters
 * (types: one letter per parameter, 's' a const char * or NULL, 'i' a
 * long long); store_q_exec runs such a statement to its end (*changes,
 * when not NULL, gets the rows changed); store_backoff sleeps before the
 * next attempt of a transaction that failed retryably.
 */
int	store_fail(struct store *, char *err, size_t errlen, const char *what);
struct store_stmt *store_q_prep(struct store *, const char *sql, const char *types, ...);
int	store_q_exec(struct store *, long long *changes, const char *sql, const char *types, ...);
/* store_q_int - the first column of the first row: 0 found, 1 no row or NULL, -1 error */
int	store_q_int(struct store *, long long *out, const char *sql, const char *types, ...);
void	store_backoff(unsigned attempt);

/* store_set_error - remember the backend's last error message */
void	store_set_error(struct store *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The backends' constructors: 0, or -1 with s->errmsg set. */
int	store_sqlite_open(struct store *, const char *path);
int	store_pg_open(struct store *, const char *uri);

#endif
