/*
 * test_store.c - the report store and the history importer: idempotent
 * import (again, grown, gzip copy), malformed lines, exact grouping,
 * complete days only, deterministic report ids, destination bookkeeping,
 * crash recovery, expiry, and concurrent importers; received reports
 * (idempotence, matching, order, NULLs, a 200000-record report,
 * concurrent receivers), reverse DNS, and the migration of a version 1
 * store.
 *
 * Runs on a temporary SQLite file, and on PostgreSQL too when
 * DMARC_TEST_PG holds a libpq URI (each run works in a schema of its own,
 * dropped at the end).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <zlib.h>

#include "buf.h"
#include "history.h"
#include "import.h"
#include "report.h"
#include "result.h"
#include "store.h"
#include "util.h"
#include "tap.h"

#define D0	1763856000LL	/* 2025-11-23T00:00:00Z, a day start */
#define DAY	86400LL
#define ORG	"Test Org"

static char tmpdir[] = "/tmp/test_store.XXXXXX";

/* ------------------------------------------------------------------ */
/* history generator                                                   */

enum { RUA_NONE, RUA_ONE, RUA_TWO };

/* One kind of message, written `count` times with distinct queue ids. */
struct spec {
	long long	 day;		/* days after D0 */
	const char	*pd;		/* policy domain; NULL = no DMARC record */
	const char	*hf;		/* RFC5322.From domain */
	const char	*ip;
	const char	*rcpt;		/* NULL = two recipient domains */
	enum dmarc_policy p;
	int		 rua;
	bool		 dkim, spf;	/* aligned passes */
	enum disposition disp;
	enum override_reason reason;
	int		 nsig;		/* 1, or 2 (their order alternates) */
	int		 count;
};

/* The base data set; the comment letter names the expected row. */
static const struct spec base[] = {
	/* a */ { 0, "example.com", "example.com", "192.0.2.10", "example.net", DMARC_POLICY_REJECT, RUA_ONE, true, true, DISP_NONE, OVR_NONE, 1, 7 },
	/* b */ { 0, "example.com", "example.com", "198.51.100.7", "example.net", DMARC_POLICY_REJECT, RUA_ONE, false, false, DISP_REJECT, OVR_NONE, 1, 3 },
	/* c */ { 0, "example.com", "example.com", "192.0.2.10", "other.example", DMARC_POLICY_REJECT, RUA_ONE, true, true, DISP_NONE, OVR_NONE, 1, 2 },
	/* d */ { 0, "example.com", "sub.example.com", "192.0.2.10", "example.net", DMARC_POLICY_REJECT, RUA_ONE, true, true, DISP_NONE, OVR_NONE, 1, 1 },
	/* e */ { 0, "example.net", "example.net", "203.0.113.5", NULL, DMARC_POLICY_NONE, RUA_TWO, true, false, DISP_NONE, OVR_NONE, 2, 4 },
	/* f */ { 0, "example.com", "example.com", "198.51.100.8", "example.net", DMARC_POLICY_REJECT, RUA_ONE, false, false, DISP_NONE, OVR_LOCAL_POLICY, 1, 2 },
	/* s */ { 0, "example.net", "example.net", "203.0.113.6", "example.net", DMARC_POLICY_NONE, RUA_TWO, false, false, DISP_NONE, OVR_SAMPLED_OUT, 1, 1 },
	/* u */ { 0, NULL, "nodmarc.example", "192.0.2.99", "example.net", DMARC_POLICY_UNSET, RUA_NONE, false, false, DISP_NONE, OVR_NONE, 1, 2 },
	/* g */ { 1, "example.com", "example.com", "192.0.2.10", "example.net", DMARC_POLICY_REJECT, RUA_ONE, true, true, DISP_NONE, OVR_NONE, 1, 5 },
	/* h */ { 2, "example.com", "example.com", "192.0.2.10", "example.net", DMARC_POLICY_REJECT, RUA_ONE, true, true, DISP_NONE, OVR_NONE, 1, 2 },
	/* i */ { 2, "example.net", "example.net", "203.0.113.5", NULL, DMARC_POLICY_NONE, RUA_TWO, true, false, DISP_NONE, OVR_NONE, 2, 2 },
};
#define N_BASE	(sizeof(base) / sizeof(base[0]))

#define RUA_COM		"mailto:dmarc@example.com"
#define RUA_NET1	"mailto:dmarc@example.net"
#define RUA_NET2	"mailto:agg@thirdparty.example"
#define RUA_NET		RUA_NET1 "," RUA_NET2 "!10485760"

static void
set_str(char **dst, const char *s)
{
	*dst = s != NULL ? xstrdup(s) : NULL;
}

static void
add_sig(struct verdict *v, const char *d, const char *sel, enum auth_res r, const char *why)
{
	struct dkim_outcome *o;

	v->dkim = xrealloc(v->dkim, (v->n_dkim + 1) * sizeof(*v->dkim));
	o = &v->dkim[v->n_dkim++];
	memset(o, 0, sizeof(*o));
	o->result = r;
	set_str(&o->domain, d);
	set_str(&o->selector, sel);
	set_str(&o->algorithm, "rsa-sha256");
	o->key_bits = 2048;
	set_str(&o->reason, why);
}

static void
add_uri(struct dmarc_record *r, const char *uri, unsigned long long limit)
{
	r->rua = xrealloc(r->rua, (r->n_rua + 1) * sizeof(*r->rua));
	r->rua[r->n_rua].uri = xstrdup(uri);
	r->rua[r->n_rua].size_limit = limit;
	r->n_rua++;
}

/* spec_line - the history line of the seq-th message of a spec */
static void
spec_line(const struct spec *sp, int seq, struct buf *out)
{
	struct history_msg m;
	struct dmarc_outcome *o;
	struct verdict v;
	const char *rcpts[2] = { "example.net", "example.org" };
	char qid[32], mf[128];

	verdict_init(&v);
	v.when = (time_t)(D0 + sp->day * DAY + 60 + seq % 80000);
	v.spf.result = sp->spf ? AUTH_PASS : AUTH_FAIL;
	set_str(&v.spf.domain, sp->hf);
	snprintf(mf, sizeof(mf), "bounce@%s", sp->hf);
	set_str(&v.spf.identity, mf);
	set_str(&v.spf.reason, sp->spf ? "authorized" : "not authorized");
	if (sp->nsig == 2 && seq % 2 == 1)
		add_sig(&v, "esp.example", "k1", AUTH_PASS, NULL);
	add_sig(&v, sp->hf, "s1", sp->dkim ? AUTH_PASS : AUTH_FAIL, sp->dkim ? NULL : "bad signature");
	if (sp->nsig == 2 && seq % 2 == 0)
		add_sig(&v, "esp.example", "k1", AUTH_PASS, NULL);

	v.dmarc = xcalloc(1, sizeof(*v.dmarc));
	v.n_dmarc = 1;
	o = &v.dmarc[0];
	o->result = sp->dkim || sp->spf ? AUTH_PASS : AUTH_FAIL;
	set_str(&o->from_domain, sp->hf);
	set_str(&o->policy_domain, sp->pd);
	set_str(&o->org_domain, sp->pd != NULL ? sp->pd : sp->hf);
	if (sp->pd != NULL) {
		o->have_record = true;
		o->record.p = sp->p;
		o->record.ri = 86400;
		o->record.pct = 100;
		if (sp->rua == RUA_ONE)
			add_uri(&o->record, RUA_COM, 0);
		if (sp->rua == RUA_TWO) {
			add_uri(&o->record, RUA_NET1, 0);
			add_uri(&o->record, RUA_NET2, 10485760);
		}
		set_str(&o->record.raw, "v=DMARC1; p=...");
	} else
		o->result = AUTH_NONE;
	o->policy = sp->p;
	o->spf_aligned = sp->spf;
	o->dkim_aligned = sp->dkim;
	o->disposition = sp->disp;
	o->reason = sp->reason;
	if (sp->reason != OVR_NONE)
		set_str(&o->comment, "test comment");
	v.disposition = sp->disp;
	v.n_from_headers = 1;

	memset(&m, 0, sizeof(m));
	snprintf(qid, sizeof(qid), "Q%d", seq);
	m.queue_id = qid;
	m.reporter = "mx1.test";
	m.client_ip = sp->ip;
	m.helo = "mail.test";
	m.mail_from = mf;
	if (sp->rcpt != NULL) {
		rcpts[0] = sp->rcpt;
		m.n_rcpt_domains = 1;
	} else
		m.n_rcpt_domains = 2;
	m.rcpt_domains = rcpts;
	if (history_format(&m, &v, sp->disp == DISP_REJECT ? "reject" : "accept", out) != 0)
		tap_diag("history_format failed");
	verdict_free(&v);
}

static int seq_counter = 1;

/* write_specs - append every spec's messages to path */
static void
write_specs(const char *path, const struct spec *sp, size_t n, const char *mode)
{
	struct buf b = BUF_INIT;
	FILE *f;
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		for (k = 0; k < sp[i].count; k++)
			spec_line(&sp[i], seq_counter++, &b);
	f = fopen(path, mode);
	if (f == NULL || fwrite(buf_str(&b), 1, b.len, f) != b.len)
		tap_diag("cannot write %s", path);
	if (f != NULL)
		fclose(f);
	buf_free(&b);
}

/* gzip_copy - the file compressed, as logrotate would leave it */
static void
gzip_copy(const char *from, const char *to)
{
	char data[65536];
	FILE *in = fopen(from, "rb");
	gzFile out = gzopen(to, "wb9");
	size_t n;

	while (in != NULL && out != NULL && (n = fread(data, 1, sizeof(data), in)) > 0)
		gzwrite(out, data, (unsigned)n);
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		gzclose(out);
}

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* ------------------------------------------------------------------ */
/* raw SQL, to tamper with the database behind the store's back        */

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static int
raw_exec(const char *db, const char *sql)
{
	if (strncmp(db, "postgres", 8) == 0) {
		PGconn *c = PQconnectdb(db);
		PGresult *r;
		int ok;

		if (PQstatus(c) != CONNECTION_OK) {
			tap_diag("raw connect: %s", PQerrorMessage(c));
			PQfinish(c);
			return -1;
		}
		PQsetNoticeProcessor(c, quiet, NULL);
		r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			tap_diag("raw exec: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return ok ? 0 : -1;
	} else {
		sqlite3 *h;
		int rc;

		if (sqlite3_open(db, &h) != SQLITE_OK) {
			sqlite3_close(h);
			return -1;
		}
		sqlite3_busy_timeout(h, 10000);
		rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
		sqlite3_close(h);
		return rc == SQLITE_OK ? 0 : -1;
	}
}

/* raw_int - the first column of the first row of sql, -1 on error or no row */
static long long
raw_int(const char *db, const char *sql)
{
	long long v = -1;

	if (strncmp(db, "postgres", 8) == 0) {
		PGconn *c = PQconnectdb(db);
		PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;

		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
			v = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *h;
		sqlite3_stmt *q;

		if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
			if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
				v = sqlite3_column_int64(q, 0);
			sqlite3_finalize(q);
		}
		sqlite3_close(h);
	}
	return v;
}

/* ------------------------------------------------------------------ */
/* the emitter: remembers what it got, marks destinations               */

#define MAX_SEEN	16

struct seen {
	char		*id, *domain, *rua, *p, *rows;	/* rows: "ip/count/disp/dkim/spf/hf/to/ndkim/reasons;..." */
	time_t		 begin, end;
	int		 pct;
	unsigned long long total;
};

enum emit_mode {
	EMIT_MARK = 0,		/* com: sent; net: first sent, second failed */
	EMIT_NOTHING,		/* marks nothing */
	EMIT_FAIL_AGAIN,	/* marks every destination failed */
	EMIT_CRASH_NET,		/* example.net: marks the first sent, then returns -1 */
	EMIT_SUM		/* only counts */
};

struct emitter {
	struct store	*s;
	enum emit_mode	 mode;
	struct seen	 seen[MAX_SEEN];
	size_t		 n;
	unsigned long long total;	/* messages over all reports */
	const char	*lock_db;	/* when set: try a second builder on this db during emit */
	int		 lock_rc;
	char		 lock_err[256];
};

static void
seen_clear(struct emitter *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->seen[i].id);
		free(e->seen[i].domain);
		free(e->seen[i].rua);
		free(e->seen[i].p);
		free(e->seen[i].rows);
	}
	e->n = 0;
	e->total = 0;
}

static int
nested_emit(struct report *r, const char *rua, void *arg)
{
	(void)r;
	(void)rua;
	(void)arg;
	return 0;
}

/* mark_all - mark each destination of a rua list */
static void
mark_all(struct emitter *e, const char *id, const char *rua, int first_state, int rest_state,
    const char *error)
{
	char *copy = xstrdup(rua), *tok, *save = NULL;
	char err[256];
	int k = 0;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save), k++)
		if (store_report_mark(e->s, id, tok, k == 0 ? first_state : rest_state,
		    error, err, sizeof(err)) != 0)
			tap_diag("mark %s: %s", tok, err);
	free(copy);
}

static int
test_emit(struct report *r, const char *rua, void *arg)
{
	struct emitter *e = arg;
	struct seen *s;
	struct buf b = BUF_INIT;
	size_t i;

	if (e->lock_db != NULL) {
		struct report_options o = { REPORT_RFC9990, ORG, "dmarc@test", NULL, NULL, 0 };
		struct store *s2 = store_open(e->lock_db, e->lock_err, sizeof(e->lock_err));

		e->lock_rc = s2 != NULL ? store_build_reports(s2, (time_t)(D0 + 10 * DAY), &o,
		    nested_emit, NULL, e->lock_err, sizeof(e->lock_err)) : -2;
		store_close(s2);
		e->lock_db = NULL;
	}
	for (i = 0; i < r->n_rows; i++)
		e->total += r->rows[i].count;
	if (e->mode == EMIT_SUM)
		return 0;
	if (e->n == MAX_SEEN)
		return -1;
	s = &e->seen[e->n++];
	s->id = xstrdup(r->report_id);
	s->domain = xstrdup(r->domain);
	s->rua = xstrdup(rua);
	s->p = xstrdup(r->p);
	s->begin = r->begin;
	s->end = r->end;
	s->pct = r->pct;
	for (i = 0; i < r->n_rows; i++) {
		const struct report_row *w = &r->rows[i];

		buf_printf(&b, "%s%s/%llu/%s/%s/%s/%s/%s/%zu/%s%s%s", i > 0 ? ";" : "",
		    w->source_ip, w->count, w->disposition, w->dkim, w->spf, w->header_from,
		    w->envelope_to != NULL ? w->envelope_to : "-", w->n_dkim,
		    w->n_reasons > 0 ? w->reasons[0].type : "-",
		    w->n_dkim > 0 ? "/" : "", w->n_dkim > 0 ? w->dkim_results[0].domain : "");
		s->total += w->count;
	}
	s->rows = buf_detach(&b);

	switch (e->mode) {
	case EMIT_MARK:
		mark_all(e, r->report_id, rua, STORE_DEST_SENT, STORE_DEST_FAILED, "451 try later");
		break;
	case EMIT_FAIL_AGAIN:
		mark_all(e, r->report_id, rua, STORE_DEST_FAILED, STORE_DEST_FAILED, "451 again");
		break;
	case EMIT_CRASH_NET:
		if (strcmp(r->domain, "example.net") == 0) {
			char *first = xstrdup(rua), *comma = strchr(first, ',');
			char err[128];

			if (comma != NULL)
				*comma = '\0';
			store_report_mark(e->s, r->report_id, first, STORE_DEST_SENT, NULL, err, sizeof(err));
			free(first);
			return -1;
		}
		mark_all(e, r->report_id, rua, STORE_DEST_SENT, STORE_DEST_SENT, NULL);
		break;
	case EMIT_NOTHING:
	case EMIT_SUM:
		break;
	}
	return 0;
}

/* find - the seen report of a domain and day, NULL if none */
static const struct seen *
find(const struct emitter *e, const char *domain, long long day)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->seen[i].domain, domain) == 0 && e->seen[i].begin == (time_t)(D0 + day * DAY))
			return &e->seen[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* the malformed-line callback                                          */

static unsigned long long bad_line;
static char bad_path[512];
static int bad_calls;

static void
on_bad(void *arg, const char *path, unsigned long long lineno, const char *msg)
{
	(void)arg;
	(void)msg;
	bad_calls++;
	bad_line = lineno;
	snprintf(bad_path, sizeof(bad_path), "%s", path);
}

static int
import(struct store *s, const char *path, struct import_stats *st)
{
	char err[512];
	int rc;

	memset(st, 0, sizeof(*st));
	st->on_malformed = on_bad;
	rc = import_file(s, path, st, err, sizeof(err));
	if (rc != 0)
		tap_diag("import %s: %s", path, err);
	return rc;
}

static long long
spec_total(const struct spec *sp, size_t n, bool reportable)
{
	long long t = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (!reportable || sp[i].pd != NULL)
			t += sp[i].count;
	return t;
}

/* ------------------------------------------------------------------ */
/* the core suite, on one database                                     */

static void
core_suite(const char *db, const char *tag)
{
	struct report_options o = { REPORT_RFC9990, ORG, "dmarc@test", NULL, "test", 3 };
	struct emitter e;
	struct import_stats st;
	struct store *s;
	struct store_expire_stats xs;
	const struct seen *r;
	char err[512], *hist, *gz, *bad, *id, *late_file, *first_id_com;
	long long lines = spec_total(base, N_BASE, false), rep = spec_total(base, N_BASE, true);
	enum store_dest_state ds;
	unsigned attempts;
	char *lasterr;
	int n;

	memset(&e, 0, sizeof(e));
	s = store_open(db, err, sizeof(err));
	if (!tap_ok(s != NULL, "%s: store_open creates the schema", tag)) {
		tap_diag("%s", err);
		return;
	}
	e.s = s;
	hist = path_in("history.jsonl");
	gz = path_in("history.jsonl.1.gz");
	bad = path_in("bad.jsonl");
	late_file = path_in("late.jsonl");
	unlink(hist);
	write_specs(hist, base, N_BASE, "w");

	/* import, import again */
	tap_is_int(import(s, hist, &st), 0, "%s: import a history file", tag);
	tap_is_int(st.lines, lines, "%s: every line read", tag);
	tap_is_int(st.imported, rep, "%s: every reportable record imported", tag);
	tap_is_int(st.unreportable, 2, "%s: records without a DMARC record are not stored", tag);
	tap_is_int(st.malformed + st.duplicates + st.blank + st.partial, 0, "%s: nothing else", tag);
	tap_is_int(import(s, hist, &st), 0, "%s: import the same file again", tag);
	tap_is_int(st.imported, 0, "%s: idempotent: nothing new the second time", tag);
	tap_is_int(st.duplicates, rep, "%s: every record a duplicate", tag);

	/* the file grows */
	{
		struct spec more = base[8];	/* g: example.com, day 1 */

		more.count = 3;
		write_specs(hist, &more, 1, "a");
	}
	tap_is_int(import(s, hist, &st), 0, "%s: import the grown file", tag);
	tap_is_int(st.imported, 3, "%s: only the 3 appended records are new", tag);
	tap_is_int(st.duplicates, rep, "%s: the old ones are duplicates", tag);

	/* its rotated, compressed copy */
	gzip_copy(hist, gz);
	tap_is_int(import(s, gz, &st), 0, "%s: import the gzip copy", tag);
	tap_is_int(st.lines, lines + 3, "%s: gzip copy read completely", tag);
	tap_is_int(st.imported, 0, "%s: gzip copy adds nothing", tag);
	tap_is_int(st.duplicates, rep + 3, "%s: gzip copy is all duplicates", tag);

	/* malformed, blank and partial lines */
	{
		struct spec more = base[8];
		struct buf b = BUF_INIT, part = BUF_INIT;
		FILE *f;

		more.count = 1;
		spec_line(&more, seq_counter++, &b);
		buf_puts(&b, "{\"v\":1,\"time\":oops}\n");
		buf_puts(&b, "\n");
		spec_line(&more, seq_counter++, &b);
		spec_line(&more, seq_counter++, &part);
		buf_append(&b, buf_str(&part), 60);	/* a record being written: no '\n' */
		f = fopen(bad, "w");
		fwrite(buf_str(&b), 1, b.len, f);
		fclose(f);
		buf_free(&b);
		buf_free(&part);
	}
	bad_calls = 0;
	tap_is_int(import(s, bad, &st), 0, "%s: a file with a malformed line still imports", tag);
	tap_is_int(st.lines, 5, "%s: 5 lines read", tag);
	tap_is_int(st.malformed, 1, "%s: one malformed line", tag);
	tap_is_int(bad_calls, 1, "%s: reported once", tag);
	tap_is_int(bad_line, 2, "%s: with its line number", tag);
	tap_is_str(bad_path, bad, "%s: and its file", tag);
	tap_is_int(st.blank, 1, "%s: the blank line is skipped", tag);
	tap_is_int(st.partial, 1, "%s: an unterminated last line is left for later", tag);
	tap_is_int(st.imported, 2, "%s: the good lines around it are imported", tag);

	/* build: only complete days before `until` */
	e.lock_db = db;
	n = store_build_reports(s, (time_t)(D0 + 2 * DAY + 3600), &o, test_emit, &e, err, sizeof(err));
	if (n < 0)
		tap_diag("%s", err);
	tap_is_int(n, 3, "%s: RFC 9990 §2.1: one report per domain and complete day", tag);
	tap_is_int(e.lock_rc, -1, "%s: a second builder is refused while one runs", tag);
	tap_ok(strstr(e.lock_err, "another report build") != NULL, "%s: ... saying why (%s)", tag, e.lock_err);
	tap_ok(find(&e, "example.com", 2) == NULL && find(&e, "example.net", 2) == NULL,
	    "%s: the day `until` falls in is not reported yet", tag);

	r = find(&e, "example.com", 0);
	if (tap_ok(r != NULL, "%s: example.com day 0 reported", tag)) {
		id = store_report_id(ORG, "example.com", (time_t)D0);
		tap_is_str(r->id, id, "%s: report_id is the deterministic one", tag);
		tap_ok(strncmp(r->id, "20251123-", 9) == 0 && strlen(r->id) == 9 + 32, "%s: report_id form %s", tag, r->id);
		free(id);
		tap_is_int(r->begin, D0, "%s: begin is the UTC day start", tag);
		tap_is_int(r->end, D0 + DAY - 1, "%s: end is begin + 86399", tag);
		tap_is_str(r->p, "reject", "%s: policy_published p", tag);
		tap_is_int(r->pct, -1, "%s: pct not published", tag);
		tap_is_str(r->rua, RUA_COM, "%s: emit gets the published rua", tag);
		tap_is_str(r->rows,
		    "192.0.2.10/7/pass/pass/pass/example.com/example.net/1/-/example.com;"
		    "198.51.100.7/3/reject/fail/fail/example.com/example.net/1/-/example.com;"
		    "192.0.2.10/2/pass/pass/pass/example.com/other.example/1/-/example.com;"
		    "198.51.100.8/2/none/fail/fail/example.com/example.net/1/local_policy/example.com;"
		    "192.0.2.10/1/pass/pass/pass/sub.example.com/example.net/1/-/sub.example.com",
		    "%s: grouped rows with exact counts (7 identical messages = one row of 7)", tag);
		tap_is_int(r->total, 15, "%s: all 15 messages of the period counted once", tag);
	}
	r = find(&e, "example.net", 0);
	if (tap_ok(r != NULL, "%s: example.net day 0 reported", tag)) {
		tap_is_str(r->rows,
		    "203.0.113.5/4/none/pass/fail/example.net/-/2/-/example.net;"
		    "203.0.113.6/1/none/fail/fail/example.net/example.net/1/other/example.net",
		    "%s: signature order does not split rows; several rcpt domains: no envelope_to; "
		    "RFC 9990 has no sampled_out", tag);
		tap_is_str(r->rua, RUA_NET, "%s: the rua list keeps its size limit", tag);
		tap_is_str(r->p, "none", "%s: p=none", tag);
	}
	r = find(&e, "example.com", 1);
	if (tap_ok(r != NULL, "%s: example.com day 1 reported", tag))
		tap_is_str(r->rows, "192.0.2.10/10/pass/pass/pass/example.com/example.net/1/-/example.com",
		    "%s: day 1: 5 + 3 appended + 2 from the file with the bad line", tag);
	first_id_com = xstrdup(find(&e, "example.com", 0) != NULL ? find(&e, "example.com", 0)->id : "");
	seen_clear(&e);

	/* built reports are not built again */
	n = store_build_reports(s, (time_t)(D0 + 2 * DAY + 3600), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 0, "%s: a second build finds nothing to do", tag);

	/* destination bookkeeping */
	tap_is_int(store_report_dest(s, first_id_com, RUA_COM, &ds, &attempts, NULL, err, sizeof(err)), 1,
	    "%s: destination recorded", tag);
	tap_is_int(ds, STORE_DEST_SENT, "%s: ... as sent", tag);
	tap_is_int(attempts, 1, "%s: ... after one attempt", tag);
	tap_ok(store_report_mark(s, "no-such-report", RUA_COM, STORE_DEST_SENT, NULL, err, sizeof(err)) != 0,
	    "%s: marking an unknown report fails", tag);

	/* forget, rebuild: same id (RFC 9990 report_id must not change on a re-run) */
	tap_is_int(store_report_forget(s, first_id_com, err, sizeof(err)), 1, "%s: forget the report", tag);
	o.format = REPORT_RFC7489;
	n = store_build_reports(s, (time_t)(D0 + 2 * DAY + 3600), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 1, "%s: a forgotten report is built again", tag);
	r = find(&e, "example.com", 0);
	if (tap_ok(r != NULL, "%s: ... the same period", tag)) {
		tap_is_str(r->id, first_id_com, "%s: ... with the same report_id", tag);
		tap_is_str(r->rows,
		    "192.0.2.10/7/none/pass/pass/example.com/example.net/1/-/example.com;"
		    "198.51.100.7/3/reject/fail/fail/example.com/example.net/1/-/example.com;"
		    "192.0.2.10/2/none/pass/pass/example.com/other.example/1/-/example.com;"
		    "198.51.100.8/2/none/fail/fail/example.com/example.net/1/local_policy/example.com;"
		    "192.0.2.10/1/none/pass/pass/sub.example.com/example.net/1/-/sub.example.com",
		    "%s: ... and the same rows (RFC 7489 has no disposition pass)", tag);
	}
	o.format = REPORT_RFC9990;
	seen_clear(&e);

	/* retry: only the failed destination, until max_attempts */
	e.mode = EMIT_FAIL_AGAIN;
	n = store_retry_reports(s, time(NULL) + 10, &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 1, "%s: retry emits the report with a failed destination", tag);
	if (e.n == 1) {
		tap_is_str(e.seen[0].domain, "example.net", "%s: ... example.net", tag);
		tap_is_str(e.seen[0].rua, RUA_NET2 "!10485760", "%s: ... to the failed destination only", tag);
	}
	id = e.n == 1 ? xstrdup(e.seen[0].id) : xstrdup("");
	seen_clear(&e);
	n = store_retry_reports(s, time(NULL) + 10, &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 1, "%s: a second retry (attempt 3 of 3)", tag);
	seen_clear(&e);
	n = store_retry_reports(s, time(NULL) + 10, &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 0, "%s: no retry after max_attempts", tag);
	tap_is_int(store_report_dest(s, id, RUA_NET2, &ds, &attempts, &lasterr, err, sizeof(err)), 1,
	    "%s: failed destination readable", tag);
	tap_is_int(attempts, 3, "%s: ... 3 attempts", tag);
	tap_is_int(ds, STORE_DEST_FAILED, "%s: ... still failed", tag);
	tap_is_str(lasterr, "451 again", "%s: ... with the last error", tag);
	free(lasterr);
	tap_is_int(store_report_mark(s, id, RUA_NET2 "!10485760", STORE_DEST_REFUSED, "550 no", err, sizeof(err)), 0,
	    "%s: mark refused (the !size suffix is ignored)", tag);
	store_report_dest(s, id, RUA_NET2, &ds, NULL, NULL, err, sizeof(err));
	tap_is_int(ds, STORE_DEST_REFUSED, "%s: ... recorded", tag);
	o.max_attempts = 10;
	n = store_retry_reports(s, time(NULL) + 10, &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 0, "%s: a refused destination is never retried", tag);
	o.max_attempts = 3;
	seen_clear(&e);
	free(id);

	/* a crash while emitting: built again, same id, only what is still due */
	e.mode = EMIT_CRASH_NET;
	n = store_build_reports(s, (time_t)(D0 + 3 * DAY), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, -1, "%s: the build stops when emit fails", tag);
	tap_ok(find(&e, "example.com", 2) != NULL, "%s: ... after the reports before it", tag);
	r = find(&e, "example.net", 2);
	id = xstrdup(r != NULL ? r->id : "");
	seen_clear(&e);
	e.mode = EMIT_MARK;
	n = store_build_reports(s, (time_t)(D0 + 3 * DAY), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 1, "%s: the next build emits the unfinished report", tag);
	r = find(&e, "example.net", 2);
	if (tap_ok(r != NULL, "%s: ... example.net day 2", tag)) {
		tap_is_str(r->id, id, "%s: ... with the same report_id", tag);
		tap_is_str(r->rua, RUA_NET2 "!10485760", "%s: ... only to the destination not yet sent", tag);
	}
	free(id);
	seen_clear(&e);

	/* a record arriving after its report was built */
	{
		struct spec late = base[0];

		late.count = 1;
		unlink(late_file);
		write_specs(late_file, &late, 1, "w");
	}
	tap_is_int(import(s, late_file, &st), 0, "%s: import a late record", tag);
	tap_is_int(st.imported, 1, "%s: ... stored", tag);
	tap_is_int(st.late, 1, "%s: ... and counted as late", tag);
	n = store_build_reports(s, (time_t)(D0 + 3 * DAY), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 0, "%s: a late record does not build the period twice", tag);

	/* expire days 0 and 1 */
	tap_is_int(store_expire(s, (time_t)(D0 + 2 * DAY), &xs, err, sizeof(err)), 0, "%s: expire", tag);
	tap_is_int(xs.messages, 15 + 5 + 1 + 10, "%s: messages of days 0 and 1 deleted", tag);
	tap_is_int(xs.reports, 3, "%s: their reports deleted", tag);
	tap_is_int(import(s, hist, &st), 0, "%s: re-import the old file", tag);
	tap_is_int(st.too_old, 15 + 5 + 5 + 3, "%s: records of expired days are refused", tag);
	tap_is_int(st.imported, 0, "%s: ... nothing new", tag);
	tap_is_int(st.duplicates, 4, "%s: ... day 2 still known", tag);
	n = store_build_reports(s, (time_t)(D0 + 10 * DAY), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 0, "%s: expired reports never come back", tag);
	seen_clear(&e);
	store_close(s);

	/* reopen: the schema is current; a newer schema is refused */
	s = store_open(db, err, sizeof(err));
	tap_ok(s != NULL, "%s: reopen an existing store", tag);
	store_close(s);
	raw_exec(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
	s = store_open(db, err, sizeof(err));
	tap_ok(s == NULL && strstr(err, "newer") != NULL, "%s: a newer schema is refused (%s)", tag, err);
	store_close(s);

	free(first_id_com);
	free(hist);
	free(gz);
	free(bad);
	free(late_file);
}

/* ------------------------------------------------------------------ */
/* concurrent importers                                                 */

#define CONC_N		3000
#define CONC_PROCS	3

/* conc_line - record k: one of 5 domains, 10 IPs, one day */
static void
conc_line(int k, struct buf *out)
{
	static const char *const doms[] = { "a.example", "b.example", "c.example", "d.example", "e.example" };
	char ip[32];
	struct spec sp = { 5, NULL, NULL, NULL, "example.net", DMARC_POLICY_REJECT, RUA_ONE,
	    true, true, DISP_NONE, OVR_NONE, 1, 1 };

	sp.pd = sp.hf = doms[k % 5];
	snprintf(ip, sizeof(ip), "192.0.2.%d", k % 10);
	sp.ip = ip;
	spec_line(&sp, 100000 + k, out);
}

/* conc_file - records from..to (exclusive) in the given order: 0 up, 1 down, 2 shuffled */
static void
conc_file(const char *path, int from, int to, int order)
{
	int n = to - from, i, j, t, *idx = xcalloc((size_t)n, sizeof(int));
	struct buf b = BUF_INIT;
	FILE *f;

	for (i = 0; i < n; i++)
		idx[i] = order == 1 ? to - 1 - i : from + i;
	if (order == 2) {
		srand(42);
		for (i = n - 1; i > 0; i--) {
			j = rand() % (i + 1);
			t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
	}
	for (i = 0; i < n; i++)
		conc_line(idx[i], &b);
	f = fopen(path, "w");
	fwrite(buf_str(&b), 1, b.len, f);
	fclose(f);
	buf_free(&b);
	free(idx);
}

static void
conc_suite(const char *db, const char *tag)
{
	struct report_options o = { REPORT_RFC9990, ORG, "dmarc@test", NULL, NULL, 0 };
	char *files[CONC_PROCS], *outs[CONC_PROCS], err[512];
	unsigned long long imported = 0, dups = 0, retries = 0;
	pid_t pids[CONC_PROCS];
	struct emitter e;
	struct store *s;
	int i, status, ok = 1, n;

	/* overlapping files in different orders: 0-1999 up, 1000-2999 down, all shuffled */
	for (i = 0; i < CONC_PROCS; i++) {
		files[i] = xasprintf("%s/conc%d.jsonl", tmpdir, i);
		outs[i] = xasprintf("%s/conc%d.out", tmpdir, i);
	}
	conc_file(files[0], 0, 2000, 0);
	conc_file(files[1], 1000, CONC_N, 1);
	conc_file(files[2], 0, CONC_N, 2);

	fflush(stdout);
	for (i = 0; i < CONC_PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct import_stats st;
			struct store *cs;
			FILE *f;
			int rc = 1;

			memset(&st, 0, sizeof(st));
			cs = store_open(db, err, sizeof(err));
			if (cs != NULL && import_file(cs, files[i], &st, err, sizeof(err)) == 0)
				rc = 0;
			else	/* a TAP comment: t/store.sh shows it in the log */
				printf("# %s: importer %d failed: %s\n", tag, i, err);
			store_close(cs);
			if ((f = fopen(outs[i], "w")) != NULL) {
				fprintf(f, "%llu %llu %llu\n", st.imported, st.duplicates, st.retries);
				fclose(f);
			}
			fflush(stdout);
			_exit(rc);
		}
	}
	for (i = 0; i < CONC_PROCS; i++) {
		FILE *f;
		unsigned long long a = 0, b = 0, c = 0;

		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
		if ((f = fopen(outs[i], "r")) != NULL) {
			if (fscanf(f, "%llu %llu %llu", &a, &b, &c) != 3)
				ok = 0;
			fclose(f);
		}
		imported += a;
		dups += b;
		retries += c;
	}
	tap_ok(ok, "%s: %d concurrent importers finish without error", tag, CONC_PROCS);
	tap_is_int(retries, 0, "%s: no batch had to be redone (keys taken in one global order: no deadlock)", tag);
	tap_is_int(imported, CONC_N, "%s: every record imported by exactly one importer", tag);
	tap_is_int(imported + dups, 2000 + 2000 + CONC_N, "%s: the rest were duplicates", tag);

	memset(&e, 0, sizeof(e));
	e.mode = EMIT_SUM;
	s = store_open(db, err, sizeof(err));
	n = s != NULL ? store_build_reports(s, (time_t)(D0 + 6 * DAY), &o, test_emit, &e, err, sizeof(err)) : -1;
	if (n < 0)
		tap_diag("%s", err);
	tap_is_int(n, 5, "%s: one report per domain", tag);
	tap_is_int(e.total, CONC_N, "%s: the reports count every message exactly once", tag);
	store_close(s);
	for (i = 0; i < CONC_PROCS; i++) {
		free(files[i]);
		free(outs[i]);
	}
}

/* ------------------------------------------------------------------ */
/* received reports (schema version 2)                                 */

/* rcv_report - a received report with no records yet; NULL strings stay NULL */
static void
rcv_report(struct report *r, const char *org, const char *id, const char *domain, long long begin)
{
	memset(r, 0, sizeof(*r));
	r->format = REPORT_RFC9990;
	set_str(&r->org_name, org);
	set_str(&r->email, "noreply-dmarc@example.org");
	set_str(&r->report_id, id);
	r->begin = (time_t)begin;
	r->end = (time_t)(begin + DAY - 1);
	set_str(&r->domain, domain);
	set_str(&r->p, "reject");
	set_str(&r->adkim, "r");
	set_str(&r->aspf, "r");
	set_str(&r->testing, "n");
	r->pct = -1;
}

/* rcv_row - append a record; hf is the header_from as the receiver wrote it */
static struct report_row *
rcv_row(struct report *r, const char *ip, unsigned long long count, const char *disp,
    const char *dkim, const char *spf, const char *hf)
{
	struct report_row *w;

	r->rows = xrealloc(r->rows, (r->n_rows + 1) * sizeof(*r->rows));
	w = &r->rows[r->n_rows++];
	memset(w, 0, sizeof(*w));
	set_str(&w->source_ip, ip);
	w->count = count;
	set_str(&w->disposition, disp);
	set_str(&w->dkim, dkim);
	set_str(&w->spf, spf);
	set_str(&w->header_from, hf);
	return w;
}

static void
rcv_dkim(struct report_row *w, const char *d, const char *sel, const char *res, const char *human)
{
	struct report_dkim *k;

	w->dkim_results = xrealloc(w->dkim_results, (w->n_dkim + 1) * sizeof(*w->dkim_results));
	k = &w->dkim_results[w->n_dkim++];
	set_str(&k->domain, d);
	set_str(&k->selector, sel);
	set_str(&k->result, res);
	set_str(&k->human_result, human);
}

static void
rcv_spf(struct report_row *w, const char *d, const char *scope, const char *res)
{
	struct report_spf *k;

	w->spf_results = xrealloc(w->spf_results, (w->n_spf + 1) * sizeof(*w->spf_results));
	k = &w->spf_results[w->n_spf++];
	set_str(&k->domain, d);
	set_str(&k->scope, scope);
	set_str(&k->result, res);
	k->human_result = NULL;
}

static void
rcv_reason(struct report_row *w, const char *type, const char *comment)
{
	w->reasons = xrealloc(w->reasons, (w->n_reasons + 1) * sizeof(*w->reasons));
	set_str(&w->reasons[w->n_reasons].type, type);
	set_str(&w->reasons[w->n_reasons].comment, comment);
	w->n_reasons++;
}

/* What the rows callback saw: one line per row, plus the details of one. */
struct rcv_seen {
	struct buf	 rows;		/* "org/id/ip/count/hf;" */
	unsigned long long n, total;
	int		 stop_after;	/* > 0: return 7 after that many rows */
	struct buf	 detail;	/* every field of the rows with source_ip want_ip */
	const char	*want_ip;
};

#define S(x)	((x) != NULL ? (x) : "(null)")

static int
rcv_collect(const struct store_rcv_row *w, void *arg)
{
	struct rcv_seen *c = arg;
	size_t i;

	c->n++;
	c->total += w->count;
	if (c->stop_after == 0 || c->n <= (unsigned long long)c->stop_after)
		buf_printf(&c->rows, "%s/%s/%s/%llu/%s;", w->org_name, w->report_id, w->source_ip,
		    w->count, w->header_from);
	if (c->want_ip != NULL && strcmp(w->source_ip, c->want_ip) == 0) {
		buf_printf(&c->detail, "%lld-%lld %s p=%s sp=%s np=%s adkim=%s aspf=%s pct=%d t=%s "
		    "%s %s dkim=%s spf=%s from=%s ef=%s et=%s", w->begin, w->end, w->domain, S(w->p),
		    S(w->sp), S(w->np), S(w->adkim), S(w->aspf), w->pct, S(w->testing),
		    S(w->disposition), w->source_ip, S(w->dkim), S(w->spf), S(w->header_from),
		    S(w->envelope_from), S(w->envelope_to));
		for (i = 0; i < w->n_reasons; i++)
			buf_printf(&c->detail, " reason=%s:%s", S(w->reasons[i].type), S(w->reasons[i].comment));
		for (i = 0; i < w->n_dkim; i++)
			buf_printf(&c->detail, " dkim=%s/%s/%s/%s", S(w->dkim_results[i].domain),
			    S(w->dkim_results[i].selector), S(w->dkim_results[i].result),
			    S(w->dkim_results[i].human_result));
		for (i = 0; i < w->n_spf; i++)
			buf_printf(&c->detail, " spf=%s/%s/%s/%s", S(w->spf_results[i].domain),
			    S(w->spf_results[i].scope), S(w->spf_results[i].result),
			    S(w->spf_results[i].human_result));
		buf_puts(&c->detail, "|");
	}
	if (c->stop_after > 0 && c->n == (unsigned long long)c->stop_after)
		return 7;
	return 0;
}

/* rcv_walk - run store_rcv_rows into a fresh rcv_seen; returns its result */
static int
rcv_walk(struct store *s, const char *domain, long long since, long long until, struct rcv_seen *c)
{
	char err[512];
	int rc;

	buf_reset(&c->rows);
	buf_reset(&c->detail);
	c->n = c->total = 0;
	rc = store_rcv_rows(s, domain, (time_t)since, (time_t)until, rcv_collect, c, err, sizeof(err));
	if (rc == -1)
		tap_diag("store_rcv_rows: %s", err);
	return rc;
}

static int
rcv_add(struct store *s, struct report *r, const char *origin)
{
	char err[512];
	int rc = store_rcv_add(s, r, origin, (time_t)(D0 + 3 * DAY), err, sizeof(err));

	if (rc < 0)
		tap_diag("store_rcv_add: %s", err);
	return rc;
}

static void
rcv_suite(const char *db, const char *tag)
{
	struct report r;
	struct report_row *w;
	struct rcv_seen c;
	struct store *s;
	char err[512], *name, **doms = NULL;
	size_t nd = 0, i;
	int rc;

	memset(&c, 0, sizeof(c));
	buf_init(&c.rows, 0);
	buf_init(&c.detail, 0);
	s = store_open(db, err, sizeof(err));
	if (!tap_ok(s != NULL, "%s rcv: store_open", tag)) {
		tap_diag("%s", err);
		return;
	}

	/* r1: Google about example.com, as a receiver writes it (case, dot) */
	rcv_report(&r, "google.com", "r1", "Example.COM.", D0);
	w = rcv_row(&r, "192.0.2.1", 10, "none", "pass", "pass", "Example.com");
	rcv_dkim(w, "example.com", "s1", "pass", NULL);
	rcv_spf(w, "example.com", "mfrom", "pass");
	w = rcv_row(&r, " 2001:DB8:0::1", 3, "quarantine", "fail", "fail", "Mail.Example.com");
	set_str(&w->envelope_from, "bounce.example.com");
	set_str(&w->envelope_to, "gmail.com");
	rcv_reason(w, "forwarded", "via a list");
	rcv_reason(w, "local_policy", NULL);
	rcv_dkim(w, NULL, NULL, "none", NULL);
	rcv_dkim(w, "esp.example", "k1", "fail", "body hash did not verify");
	w = rcv_row(&r, "198.51.100.9", 1, "none", "fail", "fail", "notexample.com");
	tap_is_int(rcv_add(s, &r, "file r1.xml"), 1, "%s rcv: a report is stored", tag);
	tap_is_int(rcv_add(s, &r, "file r1-again.xml"), 0,
	    "%s rcv: RFC 9990 §3.1.1: the same (org_name, report_id) again is not stored twice", tag);
	free(r.org_name);
	set_str(&r.org_name, "yahoo.com");
	tap_is_int(rcv_add(s, &r, "msg"), 1, "%s rcv: the same report_id from another org is another report", tag);
	report_free(&r);

	/* r2: a subdomain's own policy, the next day */
	rcv_report(&r, "Microsoft", "r2", "sub.example.com", D0 + DAY);
	rcv_row(&r, "203.0.113.5", 4, "none", "pass", "fail", "sub.example.com");
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv: a second report", tag);
	report_free(&r);

	/* r4: another domain's report, one record of it has our header_from */
	rcv_report(&r, "fastmail", "r4", "example.org", D0);
	set_str(&r.sp, "none");
	set_str(&r.np, "reject");
	r.pct = 50;
	rcv_row(&r, "203.0.113.7", 2, "none", "pass", "pass", "example.org");
	rcv_row(&r, "203.0.113.8", 5, "reject", "fail", "fail", "news.example.com");
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv: a report about another domain", tag);
	report_free(&r);

	/* r5: a name that LIKE wildcards would match, outside the window too */
	rcv_report(&r, "wild", "r5", "a.examplexcom", D0);
	rcv_row(&r, "192.0.2.55", 1, "none", "pass", "pass", "b.examplexcom");
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv: a report about a.examplexcom", tag);
	report_free(&r);
	rcv_report(&r, "late", "r6", "example.com", D0 + 10 * DAY);
	rcv_row(&r, "192.0.2.66", 1, "none", "pass", "pass", "example.com");
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv: a report ten days later", tag);
	report_free(&r);

	/* NULL safety: everything optional missing, sloppy records */
	memset(&r, 0, sizeof(r));
	set_str(&r.org_name, "sloppy");
	set_str(&r.report_id, "r7");
	r.begin = (time_t)D0;
	r.end = (time_t)(D0 + DAY - 1);
	r.pct = -1;
	r.format = REPORT_RFC7489;
	rcv_row(&r, NULL, 1, NULL, NULL, NULL, NULL);
	w = rcv_row(&r, "192.0.2.77", 2, "none", "pass", "pass", "example.com");
	rcv_reason(w, NULL, NULL);
	rcv_spf(w, NULL, NULL, NULL);
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv: a report with every optional field NULL is stored", tag);
	report_free(&r);
	memset(&r, 0, sizeof(r));
	set_str(&r.org_name, "x");
	tap_ok(store_rcv_add(s, &r, NULL, 0, err, sizeof(err)) == -1 && strstr(err, "report_id") != NULL,
	    "%s rcv: a report without report_id is refused (%s)", tag, err);
	report_free(&r);

	/* the walk: domain, window, order */
	c.want_ip = "2001:db8::1";
	tap_is_int(rcv_walk(s, "EXAMPLE.com.", D0, D0 + 2 * DAY, &c), 0, "%s rcv: walk example.com", tag);
	tap_is_str(buf_str(&c.rows),
	    "fastmail/r4/203.0.113.8/5/news.example.com;"
	    "google.com/r1/192.0.2.1/10/example.com;"
	    "google.com/r1/2001:db8::1/3/mail.example.com;"
	    "google.com/r1/198.51.100.9/1/notexample.com;"
	    "sloppy/r7/192.0.2.77/2/example.com;"
	    "yahoo.com/r1/192.0.2.1/10/example.com;"
	    "yahoo.com/r1/2001:db8::1/3/mail.example.com;"
	    "yahoo.com/r1/198.51.100.9/1/notexample.com;"
	    "Microsoft/r2/203.0.113.5/4/sub.example.com;",
	    "%s rcv: by begin, org, report_id, record order; the policy domain or a header_from "
	    "at or below example.com; a policy domain below it too; lowercase names, canonical IPs", tag);
	tap_is_str(buf_str(&c.detail),
	    "1763856000-1763942399 example.com p=reject sp=(null) np=(null) adkim=r aspf=r pct=-1 t=n "
	    "quarantine 2001:db8::1 dkim=fail spf=fail from=mail.example.com ef=bounce.example.com et=gmail.com"
	    " reason=forwarded:via a list reason=local_policy:(null)"
	    " dkim=(null)/(null)/none/(null) dkim=esp.example/k1/fail/body hash did not verify|"
	    "1763856000-1763942399 example.com p=reject sp=(null) np=(null) adkim=r aspf=r pct=-1 t=n "
	    "quarantine 2001:db8::1 dkim=fail spf=fail from=mail.example.com ef=bounce.example.com et=gmail.com"
	    " reason=forwarded:via a list reason=local_policy:(null)"
	    " dkim=(null)/(null)/none/(null) dkim=esp.example/k1/fail/body hash did not verify|",
	    "%s rcv: every field comes back, NULLs as NULL, arrays in order", tag);
	c.want_ip = "203.0.113.8";
	rcv_walk(s, "example.com", D0, D0 + 2 * DAY, &c);
	tap_is_str(buf_str(&c.detail),
	    "1763856000-1763942399 example.org p=reject sp=none np=reject adkim=r aspf=r pct=50 t=n "
	    "reject 203.0.113.8 dkim=fail spf=fail from=news.example.com ef=(null) et=(null)|",
	    "%s rcv: a published pct, sp and np come back", tag);
	c.want_ip = "";
	rcv_walk(s, NULL, D0, D0 + 2 * DAY, &c);
	tap_ok(strstr(buf_str(&c.detail), "-1763942399  p= sp=(null) np=(null) adkim=(null) aspf=(null) "
	    "pct=-1 t=(null)   dkim= spf= from= ef=(null) et=(null)|") != NULL,
	    "%s rcv: a record without its required fields comes back as \"\", never NULL", tag);
	c.want_ip = "192.0.2.77";
	rcv_walk(s, NULL, D0, D0 + 2 * DAY, &c);
	tap_ok(strstr(buf_str(&c.detail), " reason=(null):(null) spf=(null)/(null)/(null)/(null)|") != NULL,
	    "%s rcv: NULL inside the result arrays stays NULL (%s)", tag, buf_str(&c.detail));
	c.want_ip = NULL;
	tap_is_int(c.n, 3 + 3 + 1 + 2 + 1 + 2, "%s rcv: domain NULL: every record in the window", tag);
	rcv_walk(s, "sub.example.com", D0, D0 + 10 * DAY + 1, &c);
	tap_is_str(buf_str(&c.rows), "Microsoft/r2/203.0.113.5/4/sub.example.com;",
	    "%s rcv: a subdomain does not see its parent's records", tag);
	rcv_walk(s, "example.com", D0 + DAY - 1, D0 + DAY, &c);
	tap_is_int(c.n, 8, "%s rcv: the window overlaps the last second of a report", tag);
	rcv_walk(s, "example.com", D0 + DAY, D0 + DAY + 1, &c);
	tap_is_str(buf_str(&c.rows), "Microsoft/r2/203.0.113.5/4/sub.example.com;",
	    "%s rcv: until is exclusive, a report's end inclusive", tag);
	rcv_walk(s, "example.com", D0 + 2 * DAY, D0 + 10 * DAY, &c);
	tap_is_int(c.n, 0, "%s rcv: nothing between the reports", tag);
	rcv_walk(s, "example.com", D0 + 11 * DAY - 1, D0 + 100 * DAY, &c);
	tap_is_int(c.n, 1, "%s rcv: ... and the later one", tag);
	rcv_walk(s, "example_com", D0, D0 + 100 * DAY, &c);
	tap_is_int(c.n, 0, "%s rcv: '_' in the domain is no LIKE wildcard", tag);
	rcv_walk(s, "%", D0, D0 + 100 * DAY, &c);
	tap_is_int(c.n, 0, "%s rcv: nor is '%%'", tag);
	rcv_walk(s, "examplexcom", D0, D0 + 100 * DAY, &c);
	tap_is_int(c.n, 1, "%s rcv: (the name itself is found)", tag);
	rcv_walk(s, "ample.com", D0, D0 + 100 * DAY, &c);
	tap_is_int(c.n, 0, "%s rcv: a suffix that is not a whole label matches nothing", tag);
	rcv_walk(s, "example.com", D0 + DAY, D0, &c);
	tap_is_int(c.n, 0, "%s rcv: an empty window", tag);
	c.stop_after = 2;
	rc = rcv_walk(s, NULL, 0, D0 + 100 * DAY, &c);
	tap_ok(rc == 7 && c.n == 2, "%s rcv: the callback's non-zero value stops the walk and is returned", tag);
	c.stop_after = 0;

	/* the domains */
	tap_is_int(store_rcv_domains(s, &doms, &nd, err, sizeof(err)), 0, "%s rcv: domains", tag);
	{
		struct buf b = BUF_INIT;

		for (i = 0; i < nd; i++) {
			buf_printf(&b, "%s,", doms[i]);
			free(doms[i]);
		}
		free(doms);
		tap_is_str(buf_str(&b), ",a.examplexcom,example.com,example.org,sub.example.com,",
		    "%s rcv: the distinct policy domains, normalized and sorted", tag);
		buf_free(&b);
	}

	/* reverse DNS */
	tap_is_int(store_rdns_get(s, "192.0.2.1", 0, &name, err, sizeof(err)), 0, "%s rdns: unknown IP", tag);
	tap_is_int(store_rdns_put(s, "192.0.2.1", "mail.example.com", 1000, err, sizeof(err)), 0,
	    "%s rdns: put", tag);
	tap_is_int(store_rdns_get(s, "192.0.2.1", 1000, &name, err, sizeof(err)), 1, "%s rdns: get", tag);
	tap_is_str(name, "mail.example.com", "%s rdns: ... the name", tag);
	free(name);
	tap_is_int(store_rdns_get(s, "192.0.2.1", 1001, &name, err, sizeof(err)), 0,
	    "%s rdns: an entry older than not_before is not used", tag);
	tap_is_int(store_rdns_put(s, "192.0.2.1", NULL, 2000, err, sizeof(err)), 0, "%s rdns: put no PTR", tag);
	tap_is_int(store_rdns_get(s, "192.0.2.1", 0, &name, err, sizeof(err)), 1, "%s rdns: upsert", tag);
	tap_ok(name == NULL, "%s rdns: ... no PTR is NULL", tag);
	free(name);
	tap_is_int(store_rdns_put(s, "192.0.2.1", "stale.example.com", 1500, err, sizeof(err)), 0,
	    "%s rdns: put an older lookup", tag);
	store_rdns_get(s, "192.0.2.1", 0, &name, err, sizeof(err));
	tap_ok(name == NULL, "%s rdns: ... it does not replace the newer one", tag);
	free(name);
	store_rdns_put(s, "2001:DB8:0:0::1", "v6.example.com", 1000, err, sizeof(err));
	tap_is_int(store_rdns_get(s, "2001:db8::1", 0, &name, err, sizeof(err)), 1,
	    "%s rdns: IPv6 in any spelling is one address", tag);
	tap_is_str(name, "v6.example.com", "%s rdns: ... its name", tag);
	free(name);

	/* a damaged row is an error, not a silent empty array */
	raw_exec(db, "UPDATE rcv_records SET dkim_results = '{broken' WHERE source_ip = '192.0.2.66'");
	tap_is_int(rcv_walk(s, "example.com", D0 + 10 * DAY, D0 + 11 * DAY, &c), -1,
	    "%s rcv: a record whose results are not JSON fails the walk", tag);

	store_close(s);
	buf_free(&c.rows);
	buf_free(&c.detail);
}

/* rcv_big - a report with n records: 7 source IPs, counts 1..3 */
static void
rcv_big(struct report *r, const char *org, const char *id, size_t n, unsigned long long *total)
{
	char ip[32];
	size_t i;

	rcv_report(r, org, id, "big.example", D0 + 20 * DAY);
	r->rows = xcalloc(n, sizeof(*r->rows));
	r->n_rows = n;
	*total = 0;
	for (i = 0; i < n; i++) {
		struct report_row *w = &r->rows[i];

		snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", i >> 16 & 255, i >> 8 & 255, i & 255);
		set_str(&w->source_ip, ip);
		w->count = 1 + i % 3;
		*total += w->count;
		set_str(&w->disposition, "none");
		set_str(&w->dkim, "pass");
		set_str(&w->spf, i % 2 ? "pass" : "fail");
		set_str(&w->header_from, "big.example");
		rcv_dkim(w, "big.example", "s1", "pass", NULL);
		rcv_spf(w, "big.example", "mfrom", i % 2 ? "pass" : "fail");
	}
}

/* rcv_big_suite - RXML_MAX_RECORDS records in one report, one transaction */
static void
rcv_big_suite(const char *db, const char *tag)
{
	struct report r;
	struct rcv_seen c;
	struct store *s;
	unsigned long long total;
	char err[512];
	time_t t0;

	memset(&c, 0, sizeof(c));
	buf_init(&c.rows, 0);
	buf_init(&c.detail, 0);
	if ((s = store_open(db, err, sizeof(err))) == NULL) {
		tap_ok(0, "%s rcv big: store_open: %s", tag, err);
		return;
	}
	rcv_big(&r, "bigorg", "big-1", 200000, &total);
	t0 = time(NULL);
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv big: a report of 200000 records is stored", tag);
	tap_diag("%s: 200000 records stored in about %lld s", tag, (long long)(time(NULL) - t0));
	tap_is_int(rcv_add(s, &r, NULL), 0, "%s rcv big: ... once", tag);
	report_free(&r);
	c.stop_after = 0;
	c.want_ip = "10.3.13.63";	/* record 199999 */
	tap_is_int(rcv_walk(s, "big.example", D0, D0 + 100 * DAY, &c), 0, "%s rcv big: walk it", tag);
	tap_is_int(c.n, 200000, "%s rcv big: every record, a page at a time", tag);
	tap_is_int(c.total, total, "%s rcv big: the counts add up", tag);
	tap_ok(strstr(buf_str(&c.detail), "10.3.13.63 dkim=pass spf=pass") != NULL &&
	    strstr(buf_str(&c.detail), " dkim=big.example/s1/pass/(null) spf=big.example/mfrom/pass/(null)|") != NULL,
	    "%s rcv big: the last record intact", tag);
	store_close(s);
	buf_free(&c.rows);
	buf_free(&c.detail);
}

/* rcv_expire_suite - received reports and rDNS answers expire, and stay out (days before D0:
 * the other suites share the database and keep theirs from D0 on) */
static void
rcv_expire_suite(const char *db, const char *tag)
{
	struct report r;
	struct store *s;
	unsigned long long n = 99;
	char err[512], *name = NULL;

	if ((s = store_open(db, err, sizeof(err))) == NULL) {
		tap_ok(0, "%s rcv expire: store_open: %s", tag, err);
		return;
	}
	rcv_report(&r, "exporg", "old", "exp.example", D0 - 100 * DAY);
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv expire: an old report is stored", tag);
	report_free(&r);
	rcv_report(&r, "exporg", "new", "exp.example", D0 - 50 * DAY);
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s rcv expire: a newer one", tag);
	report_free(&r);
	tap_is_int(store_rdns_put(s, "192.0.2.1", "old.example", (time_t)(D0 - 100 * DAY), err, sizeof(err)), 0,
	    "%s rcv expire: an old PTR answer", tag);
	tap_is_int(store_rdns_put(s, "192.0.2.2", "new.example", (time_t)(D0 - 40 * DAY), err, sizeof(err)), 0,
	    "%s rcv expire: a newer one", tag);
	tap_is_int(store_rcv_expire(s, (time_t)(D0 - 80 * DAY), &n, err, sizeof(err)), 0,
	    "%s rcv expire: expire what ended before day -80", tag);
	tap_is_int(n, 1, "%s rcv expire: one report deleted", tag);
	rcv_report(&r, "exporg", "old", "exp.example", D0 - 100 * DAY);
	tap_is_int(rcv_add(s, &r, NULL), 2, "%s rcv expire: the old report received again stays out (2)", tag);
	report_free(&r);
	rcv_report(&r, "exporg", "new", "exp.example", D0 - 50 * DAY);
	tap_is_int(rcv_add(s, &r, NULL), 0, "%s rcv expire: the newer one is still there", tag);
	report_free(&r);
	tap_is_int(store_rdns_get(s, "192.0.2.1", 0, &name, err, sizeof(err)), 0,
	    "%s rcv expire: the old PTR answer is gone", tag);
	free(name);
	name = NULL;
	tap_is_int(store_rdns_get(s, "192.0.2.2", 0, &name, err, sizeof(err)), 1,
	    "%s rcv expire: the newer one stays", tag);
	free(name);
	tap_is_int(store_rcv_expire(s, (time_t)(D0 - 90 * DAY), &n, err, sizeof(err)), 0,
	    "%s rcv expire: an earlier horizon", tag);
	tap_is_int(n, 0, "%s rcv expire: deletes nothing", tag);
	rcv_report(&r, "exporg", "day-90", "exp.example", D0 - 90 * DAY);
	tap_is_int(rcv_add(s, &r, NULL), 2, "%s rcv expire: and does not lower the horizon", tag);
	report_free(&r);
	store_close(s);
}

#define RCV_CONC_PROCS	4
#define RCV_CONC_REPORTS 8
#define RCV_CONC_RECORDS 3000

/*
 * rcv_conc_suite - receivers on a fleet: four processes, released at the
 * same moment, each add the same eight reports (two in ascending order,
 * two descending, so two of them race on every key).  Each report must
 * be stored by exactly one of them.
 */
static void
rcv_conc_suite(const char *db, const char *tag)
{
	pid_t pids[RCV_CONC_PROCS];
	char *outs[RCV_CONC_PROCS], err[512];
	unsigned long long total = 0, one;
	int gate[2], i, status, ok = 1, stored = 0, known = 0;
	struct rcv_seen c;
	struct store *s;

	memset(&c, 0, sizeof(c));
	buf_init(&c.rows, 0);
	buf_init(&c.detail, 0);
	/* the schema first, so that the race is about the reports */
	if ((s = store_open(db, err, sizeof(err))) == NULL) {
		tap_ok(0, "%s rcv conc: store_open: %s", tag, err);
		return;
	}
	store_close(s);
	if (pipe(gate) != 0) {
		tap_ok(0, "%s rcv conc: pipe", tag);
		return;
	}
	fflush(stdout);
	for (i = 0; i < RCV_CONC_PROCS; i++) {
		outs[i] = xasprintf("%s/rcvconc%d.out", tmpdir, i);
		pids[i] = fork();
		if (pids[i] == 0) {
			struct report r;
			struct store *cs;
			char id[32], cerr[512], gbuf;
			int rc = 0, n1 = 0, n0 = 0, j, x;
			FILE *f;

			close(gate[1]);
			cs = store_open(db, cerr, sizeof(cerr));
			while (read(gate[0], &gbuf, 1) > 0)	/* until the parent closes it */
				;
			for (j = 0; cs != NULL && j < RCV_CONC_REPORTS; j++) {
				snprintf(id, sizeof(id), "conc-%d", i % 2 ? RCV_CONC_REPORTS - 1 - j : j);
				rcv_big(&r, "fleet", id, RCV_CONC_RECORDS, &one);
				x = store_rcv_add(cs, &r, "conc", time(NULL), cerr, sizeof(cerr));
				report_free(&r);
				if (x == 1)
					n1++;
				else if (x == 0)
					n0++;
				else {
					printf("# %s: receiver %d failed: %s\n", tag, i, cerr);
					rc = 1;
					break;
				}
			}
			if (cs == NULL) {
				printf("# %s: receiver %d: %s\n", tag, i, cerr);
				rc = 1;
			}
			store_close(cs);
			if ((f = fopen(outs[i], "w")) != NULL) {
				fprintf(f, "%d %d\n", n1, n0);
				fclose(f);
			}
			fflush(stdout);
			_exit(rc);
		}
	}
	close(gate[0]);
	usleep(200000);		/* every child connected and waiting */
	close(gate[1]);
	for (i = 0; i < RCV_CONC_PROCS; i++) {
		FILE *f;
		int a = 0, b = 0;

		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
		if ((f = fopen(outs[i], "r")) != NULL) {
			if (fscanf(f, "%d %d", &a, &b) != 2)
				ok = 0;
			fclose(f);
		} else
			ok = 0;
		stored += a;
		known += b;
		free(outs[i]);
	}
	tap_ok(ok, "%s rcv conc: %d concurrent receivers finish without error", tag, RCV_CONC_PROCS);
	tap_is_int(stored, RCV_CONC_REPORTS, "%s rcv conc: every report stored by exactly one receiver", tag);
	tap_is_int(known, (RCV_CONC_PROCS - 1) * RCV_CONC_REPORTS, "%s rcv conc: the others found it stored", tag);
	s = store_open(db, err, sizeof(err));
	if (s != NULL)
		rcv_walk(s, "big.example", D0, D0 + 100 * DAY, &c);
	{
		struct report r;

		rcv_big(&r, "fleet", "x", RCV_CONC_RECORDS, &one);
		report_free(&r);
	}
	total = one * RCV_CONC_REPORTS;
	tap_is_int(c.n, RCV_CONC_REPORTS * RCV_CONC_RECORDS, "%s rcv conc: no record twice", tag);
	tap_is_int(c.total, total, "%s rcv conc: the message counts are exact", tag);
	store_close(s);
	buf_free(&c.rows);
	buf_free(&c.detail);
}

/*
 * migrate_suite - a version 1 database (the store of a dmarc-reports
 * before received reports: migration 0 -> 1 is never changed, so it is
 * today's version 1 schema without the version 2 tables) with history
 * data is migrated in place and keeps its data.
 */
static void
migrate_suite(const char *db, const char *tag)
{
	struct report_options o = { REPORT_RFC9990, ORG, "dmarc@test", NULL, NULL, 0 };
	struct import_stats st;
	struct emitter e;
	struct report r;
	struct store *s;
	char err[512], *hist, *id;
	enum store_dest_state ds;
	unsigned attempts;
	int n;

	memset(&e, 0, sizeof(e));
	hist = path_in("migrate.jsonl");
	unlink(hist);
	write_specs(hist, base, 2, "w");	/* a and b: example.com, day 0 */
	if ((s = store_open(db, err, sizeof(err))) == NULL) {
		tap_ok(0, "%s migrate: store_open: %s", tag, err);
		free(hist);
		return;
	}
	e.s = s;
	import(s, hist, &st);
	tap_is_int(st.imported, 10, "%s migrate: history imported", tag);
	n = store_build_reports(s, (time_t)(D0 + DAY), &o, test_emit, &e, err, sizeof(err));
	tap_is_int(n, 1, "%s migrate: a report built and sent", tag);
	seen_clear(&e);
	store_close(s);
	tap_is_int(raw_exec(db, "DROP TABLE rcv_records; DROP TABLE rcv_reports; DROP TABLE rdns;"
	    " UPDATE meta SET value = '1' WHERE key = 'schema_version'"), 0,
	    "%s migrate: the database made version 1", tag);

	s = store_open(db, err, sizeof(err));
	if (!tap_ok(s != NULL, "%s migrate: a version 1 store opens", tag)) {
		tap_diag("%s", err);
		free(hist);
		return;
	}
	e.s = s;
	tap_is_int(raw_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'"), 2,
	    "%s migrate: ... and is version 2 now", tag);
	id = store_report_id(ORG, "example.com", (time_t)D0);
	tap_is_int(store_report_dest(s, id, RUA_COM, &ds, &attempts, NULL, err, sizeof(err)), 1,
	    "%s migrate: the report bookkeeping survived", tag);
	tap_is_int(ds, STORE_DEST_SENT, "%s migrate: ... sent", tag);
	import(s, hist, &st);
	tap_is_int(st.duplicates, 10, "%s migrate: the messages survived (a re-import is all duplicates)", tag);
	store_report_forget(s, id, err, sizeof(err));
	n = store_build_reports(s, (time_t)(D0 + DAY), &o, test_emit, &e, err, sizeof(err));
	tap_ok(n == 1 && e.total == 10, "%s migrate: the report rebuilt from them has all 10 messages", tag);
	seen_clear(&e);
	rcv_report(&r, "google.com", "m1", "example.com", D0);
	rcv_row(&r, "192.0.2.1", 1, "none", "pass", "pass", "example.com");
	tap_is_int(rcv_add(s, &r, NULL), 1, "%s migrate: received reports can be stored", tag);
	report_free(&r);
	store_close(s);
	free(id);
	free(hist);
}

/* ------------------------------------------------------------------ */
/* unit checks that need no database                                   */

static void
unit_suite(void)
{
	char *a = store_report_id(ORG, "example.com", (time_t)D0);
	char *b = store_report_id(ORG, "example.com", (time_t)D0);
	char *c = store_report_id("Other Org", "example.com", (time_t)D0);
	char *d = store_report_id(ORG, "example.com", (time_t)(D0 + DAY));
	char err[256];

	tap_is_str(a, b, "report_id: same inputs, same id");
	tap_ok(strcmp(a, c) != 0, "report_id: depends on the org name");
	tap_ok(strcmp(a, d) != 0 && strncmp(d, "20251124-", 9) == 0, "report_id: depends on the day (%s)", d);
	tap_ok(store_open("postgresql://127.0.0.1:1/none?connect_timeout=2", err, sizeof(err)) == NULL,
	    "store_open: an unreachable PostgreSQL fails with a message (%.60s)", err);
	tap_ok(store_open("/nonexistent-dir/x.db", err, sizeof(err)) == NULL,
	    "store_open: an SQLite file that cannot be created fails");
	free(a);
	free(b);
	free(c);
	free(d);
}

/* pg_schema_uri - a fresh schema on the server and a URI that uses it */
static char *
pg_schema_uri(const char *uri, const char *schema)
{
	char *sql = xasprintf("CREATE SCHEMA %s", schema);

	if (raw_exec(uri, sql) != 0) {
		free(sql);
		return NULL;
	}
	free(sql);
	return xasprintf("%s%coptions=-csearch_path%%3D%s", uri, strchr(uri, '?') != NULL ? '&' : '?', schema);
}

static void
pg_drop(const char *uri, const char *schema)
{
	char *sql = xasprintf("DROP SCHEMA %s CASCADE", schema);

	raw_exec(uri, sql);
	free(sql);
}

int
main(void)
{
	const char *pg = getenv("DMARC_TEST_PG");
	char *db, *sqlite_wal;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	unit_suite();

	db = path_in("store.db");
	core_suite(db, "sqlite");
	free(db);
	db = path_in("conc.db");
	conc_suite(db, "sqlite");
	free(db);
	db = path_in("rcv.db");
	rcv_suite(db, "sqlite");
	rcv_big_suite(db, "sqlite");
	rcv_expire_suite(db, "sqlite");
	free(db);
	db = path_in("rcvconc.db");
	rcv_conc_suite(db, "sqlite");
	free(db);
	db = path_in("migrate.db");
	migrate_suite(db, "sqlite");
	free(db);

	if (pg != NULL && *pg != '\0') {
		char core_schema[64], conc_schema[64], *uri;

		snprintf(core_schema, sizeof(core_schema), "dmarc_test_%ld_core", (long)getpid());
		snprintf(conc_schema, sizeof(conc_schema), "dmarc_test_%ld_conc", (long)getpid());
		if ((uri = pg_schema_uri(pg, core_schema)) != NULL) {
			core_suite(uri, "pg");
			free(uri);
			pg_drop(pg, core_schema);
		} else
			tap_ok(0, "pg: cannot create schema %s on DMARC_TEST_PG", core_schema);
		if ((uri = pg_schema_uri(pg, conc_schema)) != NULL) {
			conc_suite(uri, "pg");
			free(uri);
			pg_drop(pg, conc_schema);
		} else
			tap_ok(0, "pg: cannot create schema %s on DMARC_TEST_PG", conc_schema);
		snprintf(core_schema, sizeof(core_schema), "dmarc_test_%ld_rcv", (long)getpid());
		if ((uri = pg_schema_uri(pg, core_schema)) != NULL) {
			rcv_suite(uri, "pg");
			rcv_big_suite(uri, "pg");
			rcv_expire_suite(uri, "pg");
			free(uri);
			pg_drop(pg, core_schema);
		} else
			tap_ok(0, "pg: cannot create schema %s on DMARC_TEST_PG", core_schema);
		snprintf(core_schema, sizeof(core_schema), "dmarc_test_%ld_rcvconc", (long)getpid());
		if ((uri = pg_schema_uri(pg, core_schema)) != NULL) {
			rcv_conc_suite(uri, "pg");
			free(uri);
			pg_drop(pg, core_schema);
		} else
			tap_ok(0, "pg: cannot create schema %s on DMARC_TEST_PG", core_schema);
		snprintf(core_schema, sizeof(core_schema), "dmarc_test_%ld_migrate", (long)getpid());
		if ((uri = pg_schema_uri(pg, core_schema)) != NULL) {
			migrate_suite(uri, "pg");
			free(uri);
			pg_drop(pg, core_schema);
		} else
			tap_ok(0, "pg: cannot create schema %s on DMARC_TEST_PG", core_schema);
	} else {
		printf("ok %d # SKIP PostgreSQL part: DMARC_TEST_PG is not set\n", ++tap_n);
	}

	/* leave nothing behind */
	sqlite_wal = xasprintf("rm -rf '%s'", tmpdir);
	if (system(sqlite_wal) != 0)
		tap_diag("could not remove %s", tmpdir);
	free(sqlite_wal);
	return tap_done();
}
