/*
 * store_rcv.c - the aggregate reports other organisations send us about
 * our domains, and the reverse DNS names of their source IPs: schema
 * version 2 of the store (tables rcv_reports, rcv_records, rdns).  The
 * design (keys, idempotency, concurrency, matching) is described at the
 * top of store.c under "Received reports".
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "buf.h"
#include "orgdomain.h"
#include "store.h"
#include "util.h"

#define RCV_RETRIES	8	/* per report, on deadlock / busy */
#define RCV_BATCH	50	/* records per INSERT statement (13 parameters each) */
#define RCV_PAGE	1000	/* records fetched per query */
#define RCV_COLS	13	/* parameters of one rcv_records row */

/* ------------------------------------------------------------------ */
/* values as stored                                                    */

/* rcv_key - the report's key: SHA-256 of org_name NUL report_id, lowercase hex */
static void
rcv_key(const char *org, const char *id, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t lo = strlen(org), li = strlen(id);
	char *in = xmalloc(lo + 1 + li);

	memcpy(in, org, lo);
	in[lo] = '\0';		/* no (org, id) pair can be spelt two ways */
	memcpy(in + lo + 1, id, li);
	if (EVP_Digest(in, lo + 1 + li, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 32)
		memset(md, 0, sizeof(md));	/* cannot happen with the default provider */
	free(in);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * rcv_name - a domain as stored and compared: what domain_normalize()
 * makes of it (lowercase A-labels, no trailing dot), or, for what it
 * refuses (sloppy reports send anything), the text trimmed, ASCII
 * lowercased and without one trailing dot.  NULL becomes "".
 */
static char *
rcv_name(const char *in)
{
	char *d, *copy, *t;
	size_t n;

	if (in == NULL)
		return xstrdup("");
	if ((d = domain_normalize(in, NULL, 0)) != NULL)
		return d;
	copy = xstrdup(in);
	t = str_trim(copy);
	ascii_lowercase(t);
	n = strlen(t);
	if (n > 0 && t[n - 1] == '.')
		t[n - 1] = '\0';
	d = xstrdup(t);
	free(copy);
	return d;
}

/* rcv_ip - an address in its canonical text form (inet_ntop), so that
 * "2001:DB8::0:1" and "2001:db8::1" are one source; other text as given */
static char *
rcv_ip(const char *in)
{
	unsigned char a[16];
	char out[INET6_ADDRSTRLEN], *copy, *t, *r;

	if (in == NULL)
		return xstrdup("");
	copy = xstrdup(in);
	t = str_trim(copy);
	if (inet_pton(AF_INET, t, a) == 1 && inet_ntop(AF_INET, a, out, sizeof(out)) != NULL)
		r = xstrdup(out);
	else if (inet_pton(AF_INET6, t, a) == 1 && inet_ntop(AF_INET6, a, out, sizeof(out)) != NULL)
		r = xstrdup(out);
	else
		r = xstrdup(t);
	free(copy);
	return r;
}

/* nn - NULL as "", for the columns the row struct promises to be non-NULL */
static const char *
nn(const char *v)
{
	return v != NULL ? v : "";
}

/* clamp_count - a count as the databases' signed 64-bit integer */
static long long
clamp_count(unsigned long long c)
{
	return c > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)c;
}

/* j_set - obj[key] = v when v is not NULL; bytes that are not UTF-8 become '?' */
static void
j_set(json_t *obj, const char *key, const char *v)
{
	json_t *js;
	char *copy, *p;

	if (v == NULL)
		return;
	if ((js = json_string(v)) == NULL) {
		copy = xstrdup(v);
		for (p = copy; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		js = json_string(copy);
		free(copy);
	}
	if (js != NULL)
		json_object_set_new(obj, key, js);
}

/* j_dump - the array as compact JSON, NULL (SQL NULL) when it is empty */
static char *
j_dump(json_t *a)
{
	char *out = NULL;

	if (json_array_size(a) > 0)
		out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/* reasons_json - [{"type":..,"comment":..},...], NULL for none */
static char *
reasons_json(const struct report_row *w)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; w->reasons != NULL && i < w->n_reasons; i++) {
		o = json_object();
		j_set(o, "type", w->reasons[i].type);
		j_set(o, "comment", w->reasons[i].comment);
		json_array_append_new(a, o);
	}
	return j_dump(a);
}

/* dkim_json - [{"domain":..,"selector":..,"result":..,"human_result":..},...] */
static char *
dkim_json(const struct report_row *w)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; w->dkim_results != NULL && i < w->n_dkim; i++) {
		o = json_object();
		j_set(o, "domain", w->dkim_results[i].domain);
		j_set(o, "selector", w->dkim_results[i].selector);
		j_set(o, "result", w->dkim_results[i].result);
		j_set(o, "human_result", w->dkim_results[i].human_result);
		json_array_append_new(a, o);
	}
	return j_dump(a);
}

/* spf_json - [{"domain":..,"scope":..,"result":..,"human_result":..},...] */
static char *
spf_json(const struct report_row *w)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; w->spf_results != NULL && i < w->n_spf; i++) {
		o = json_object();
		j_set(o, "domain", w->spf_results[i].domain);
		j_set(o, "scope", w->spf_results[i].scope);
		j_set(o, "result", w->spf_results[i].result);
		j_set(o, "human_result", w->spf_results[i].human_result);
		json_array_append_new(a, o);
	}
	return j_dump(a);
}

/* ------------------------------------------------------------------ */
/* store_rcv_add                                                       */

static const char sql_rcv_report[] =
    "INSERT INTO rcv_reports (rkey, org_name, report_id, email, extra_contact_info, error,"
    " generator, format, begin_time, end_time, domain, p, sp, np, adkim, aspf, pct, fo,"
    " testing, discovery, records, messages, origin, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING";

/* records_sql - the INSERT of n records at once (one round trip on PostgreSQL) */
static char *
records_sql(size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_puts(&b, "INSERT INTO rcv_records (rkey, seq, source_ip, msg_count, disposition,"
	    " dkim, spf, header_from, envelope_from, envelope_to, reasons, dkim_results,"
	    " spf_results) VALUES ");
	for (i = 0; i < n; i++)
		buf_puts(&b, i > 0 ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" :
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	return buf_detach(&b);
}

/* bind_record - bind record seq (0-based) at parameter first (1-based) */
static int
bind_record(struct store *s, struct store_stmt *st, int first, const char *key, size_t seq,
    const struct report_row *w)
{
	const struct store_ops *o = s->ops;
	char *ip = rcv_ip(w->source_ip), *hf = rcv_name(w->header_from);
	char *reasons = reasons_json(w), *dkim = dkim_json(w), *spf = spf_json(w);
	int i = first, rc;

	rc = o->bind_text(st, i++, key) != 0 ||
	    o->bind_int(st, i++, (long long)seq) != 0 ||
	    o->bind_text(st, i++, ip) != 0 ||
	    o->bind_int(st, i++, clamp_count(w->count)) != 0 ||
	    o->bind_text(st, i++, nn(w->disposition)) != 0 ||
	    o->bind_text(st, i++, nn(w->dkim)) != 0 ||
	    o->bind_text(st, i++, nn(w->spf)) != 0 ||
	    o->bind_text(st, i++, hf) != 0 ||
	    o->bind_text(st, i++, w->envelope_from) != 0 ||
	    o->bind_text(st, i++, w->envelope_to) != 0 ||
	    o->bind_text(st, i++, reasons) != 0 ||
	    o->bind_text(st, i++, dkim) != 0 ||
	    o->bind_text(st, i++, spf) != 0 ? -1 : 0;
	free(ip);
	free(hf);
	free(reasons);
	free(dkim);
	free(spf);
	return rc;
}

/* insert_records - records [from, from + n) with one run of st */
static int
insert_records(struct store *s, struct store_stmt *st, const char *key, const struct report *rep,
    size_t from, size_t n)
{
	size_t k;

	s->ops->reset(st);
	for (k = 0; k < n; k++)
		if (bind_record(s, st, (int)(k * RCV_COLS) + 1, key, from + k, &rep->rows[from + k]) != 0)
			return -1;
	return s->ops->step(st) == STORE_DONE ? 0 : -1;
}

/* rcv_add_once - one attempt at the report's transaction: 1 stored, 0 known, -1 */
static int
rcv_add_once(struct store *s, const struct report *rep, const char *key, const char *domain,
    const char *origin, long long received)
{
	const struct store_ops *o = s->ops;
	struct store_stmt *st, *many = NULL, *one = NULL;
	unsigned long long messages = 0;
	long long changes = 0;
	size_t i;
	char *sql;
	int rc;

	for (i = 0; i < rep->n_rows; i++)
		messages = rep->rows[i].count > ULLONG_MAX - messages ? ULLONG_MAX :
		    messages + rep->rows[i].count;
	if (o->begin(s) != 0)
		return -1;
	/*
	 * The report row first: a second transaction with the same key waits
	 * here until the first one ends, then finds the conflict (or, if the
	 * first rolled back, goes on).  Records are only ever inserted by the
	 * transaction that inserted their report.
	 */
	st = store_q_prep(s, sql_rcv_report, "ssssssssiissssssssssiisi",
	    key, rep->org_name, rep->report_id, rep->email, rep->extra_contact_info,
	    rep->error, rep->generator, rep->format == REPORT_RFC7489 ? "rfc7489" : "rfc9990",
	    (long long)rep->begin, (long long)rep->end, domain, nn(rep->p), rep->sp, rep->np,
	    rep->adkim, rep->aspf, (const char *)NULL, rep->fo, rep->testing,
	    rep->discovery_method, (long long)rep->n_rows, clamp_count(messages), origin, received);
	if (st == NULL)
		goto bad;
	rc = rep->pct >= 0 ? o->bind_int(st, 17, rep->pct) : 0;	/* pct, NULL when not published */
	if (rc == 0 && (rc = o->step(st)) == STORE_DONE)
		changes = o->changes(st);
	o->finalize(st);
	if (rc != STORE_DONE)
		goto bad;
	if (changes == 0) {
		o->rollback(s);
		return 0;
	}
	if (rep->n_rows >= RCV_BATCH) {
		sql = records_sql(RCV_BATCH);
		many = o->prepare(s, sql);
		free(sql);
		if (many == NULL)
			goto bad;
	}
	for (i = 0; i + RCV_BATCH <= rep->n_rows; i += RCV_BATCH)
		if (insert_records(s, many, key, rep, i, RCV_BATCH) != 0)
			goto bad;
	if (i < rep->n_rows) {
		sql = records_sql(1);
		one = o->prepare(s, sql);
		free(sql);
		if (one == NULL)
			goto bad;
		for (; i < rep->n_rows; i++)
			if (insert_records(s, one, key, rep, i, 1) != 0)
				goto bad;
	}
	o->finalize(many);
	o->finalize(one);
	many = one = NULL;
	if (o->commit(s) != 0)
		goto bad;
	return 1;
bad:
	o->finalize(many);
	o->finalize(one);
	o->rollback(s);
	return -1;
}

/* store_rcv_add - keep one received report, once per (org_name, report_id) */
int
store_rcv_add(struct store *s, const struct report *rep, const char *origin, time_t received,
    char *err, size_t errlen)
{
	char key[65], *domain, *what;
	long long horizon;
	unsigned attempt;
	int rc = -1;

	if (rep == NULL || rep->org_name == NULL || *rep->org_name == '\0' ||
	    rep->report_id == NULL || *rep->report_id == '\0') {
		err_set(err, errlen, "a report without org_name or report_id cannot be stored");
		return -1;
	}
	if (rep->n_rows > 0 && rep->rows == NULL) {
		err_set(err, errlen, "report %s: records missing", rep->report_id);
		return -1;
	}
	/* a report of an expired period stays out (store_rcv_expire) */
	if ((rc = store_q_int(s, &horizon, "SELECT CAST(value AS BIGINT) FROM meta"
	    " WHERE key = 'rcv_expired_before'", "")) < 0)
		return store_fail(s, err, errlen, "expiry horizon of received reports");
	if (rc == 0 && (long long)rep->end < horizon)
		return 2;
	rcv_key(rep->org_name, rep->report_id, key);
	domain = rcv_name(rep->domain);
	for (attempt = 0; attempt <= RCV_RETRIES; attempt++) {
		if ((rc = rcv_add_once(s, rep, key, domain, origin, (long long)received)) >= 0)
			break;
		if (!s->ops->retryable(s) || attempt == RCV_RETRIES) {
			what = xasprintf("report %s from %s", rep->report_id, rep->org_name);
			store_fail(s, err, errlen, what);
			free(what);
			break;
		}
		store_backoff(attempt);	/* a deadlock victim or a busy database */
	}
	free(domain);
	return rc;
}

/* store_rcv_expire - drop what ended before older_than, and keep it out */
int
store_rcv_expire(struct store *s, time_t older_than, unsigned long long *reports,
    char *err, size_t errlen)
{
	const long long t = (long long)older_than;
	long long n = 0, old = 0;
	char *v;
	int rc;

	if (reports != NULL)
		*reports = 0;
	if (s->ops->begin(s) != 0)
		return store_fail(s, err, errlen, "expire received reports");
	rc = store_q_int(s, &old, "SELECT CAST(value AS BIGINT) FROM meta"
	    " WHERE key = 'rcv_expired_before'", "");
	v = xasprintf("%lld", t);
	if (rc < 0 ||
	    (rc == 0 && t > old && store_q_exec(s, NULL, "UPDATE meta SET value = ?"
	    " WHERE key = 'rcv_expired_before'", "s", v) != 0) ||
	    (rc == 1 && store_q_exec(s, NULL, "INSERT INTO meta (key, value)"
	    " VALUES ('rcv_expired_before', ?)", "s", v) != 0) ||
	    store_q_exec(s, NULL, "DELETE FROM rcv_records WHERE rkey IN"
	    " (SELECT rkey FROM rcv_reports WHERE end_time < ?)", "i", t) != 0 ||
	    store_q_exec(s, &n, "DELETE FROM rcv_reports WHERE end_time < ?", "i", t) != 0 ||
	    store_q_exec(s, NULL, "DELETE FROM rdns WHERE looked_up < ?", "i", t) != 0 ||
	    s->ops->commit(s) != 0) {
		free(v);
		rc = store_fail(s, err, errlen, "expire received reports");
		s->ops->rollback(s);
		return rc;
	}
	free(v);
	if (reports != NULL)
		*reports = (unsigned long long)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* store_rcv_rows                                                      */

/* One received report in the walk, with its policy_published. */
struct rcv_rep {
	char		*key, *org, *id, *domain;
	char		*p, *sp, *np, *adkim, *aspf, *testing;
	long long	 begin, end;
	int		 pct;
	bool		 all;		/* its policy domain matches: every record is wanted */
};

/* One record of a page, read before any callback runs. */
struct rcv_rec {
	long long	 seq;
	unsigned long long count;
	char		*ip, *disp, *dkim, *spf, *hf, *ef, *et;
	json_t		*reasons, *dkim_r, *spf_r;
};

/* rcv_rep_free - release one report's strings */
static void
rcv_rep_free(struct rcv_rep *r)
{
	free(r->key);
	free(r->org);
	free(r->id);
	free(r->domain);
	free(r->p);
	free(r->sp);
	free(r->np);
	free(r->adkim);
	free(r->aspf);
	free(r->testing);
}

/* rcv_rec_free - release one record's strings and parsed results */
static void
rcv_rec_free(struct rcv_rec *r)
{
	free(r->ip);
	free(r->disp);
	free(r->dkim);
	free(r->spf);
	free(r->hf);
	free(r->ef);
	free(r->et);
	json_decref(r->reasons);
	json_decref(r->dkim_r);
	json_decref(r->spf_r);
}

/* col_dup - a column as an allocated string, NULL for SQL NULL */
static char *
col_dup(struct store *s, struct store_stmt *st, int idx)
{
	const char *v = s->ops->col_text(st, idx);

	return v != NULL ? xstrdup(v) : NULL;
}

/* rcv_rep_cmp - report begin, then org_name, report_id: bytewise, the
 * same on both backends whatever the database's collation */
static int
rcv_rep_cmp(const void *a, const void *b)
{
	const struct rcv_rep *x = a, *y = b;
	int c;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if ((c = strcmp(x->org, y->org)) != 0)
		return c;
	return strcmp(x->id, y->id);
}

/* like_below - the LIKE pattern of the names below dom; '!' escapes the wildcards */
static char *
like_below(const char *dom)
{
	struct buf b = BUF_INIT;

	buf_puts(&b, "%.");
	for (; *dom != '\0'; dom++) {
		if (*dom == '%' || *dom == '_' || *dom == '!')
			buf_putc(&b, '!');
		buf_putc(&b, *dom);
	}
	return buf_detach(&b);
}

/* j_parse - a JSON array column; NULL column = no entries; 0, or -1 when damaged */
static int
j_parse(const char *v, json_t **out)
{
	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	*out = json_loads(v, 0, NULL);
	if (*out == NULL || !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* j_get - a string member, NULL when absent (it was NULL in the report) */
static char *
j_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? (char *)json_string_value(v) : NULL;
}

/*
 * read_reports - the reports overlapping [since, until) that have the
 * domain (dom NULL: any) as policy domain or in a record's header_from,
 * sorted.  Returns the number, or -1.
 */
static long
read_reports(struct store *s, const char *dom, long long since, long long until,
    struct rcv_rep **out)
{
	static const char cols[] =
	    "SELECT r.rkey, r.org_name, r.report_id, r.begin_time, r.end_time, r.domain,"
	    " r.p, r.sp, r.np, r.adkim, r.aspf, r.pct, r.testing FROM rcv_reports r"
	    " WHERE r.begin_time < ? AND r.end_time >= ?";
	struct store_stmt *st;
	struct rcv_rep *v = NULL, *r;
	size_t n = 0, cap = 0;
	char *sql, *like = NULL;
	int rc;

	*out = NULL;
	if (dom != NULL) {
		like = like_below(dom);
		sql = xasprintf("%s AND (r.domain = ? OR r.domain LIKE ? ESCAPE '!'"
		    " OR EXISTS (SELECT 1 FROM rcv_records c WHERE c.rkey = r.rkey"
		    " AND (c.header_from = ? OR c.header_from LIKE ? ESCAPE '!')))", cols);
		st = store_q_prep(s, sql, "iissss", until, since, dom, like, dom, like);
		free(sql);
		free(like);
	} else
		st = store_q_prep(s, cols, "ii", until, since);
	if (st == NULL)
		return -1;
	while ((rc = s->ops->step(st)) == STORE_ROW) {
		if (n == cap) {
			cap = cap > 0 ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->key = col_dup(s, st, 0);
		r->org = col_dup(s, st, 1);
		r->id = col_dup(s, st, 2);
		r->begin = s->ops->col_int(st, 3);
		r->end = s->ops->col_int(st, 4);
		r->domain = col_dup(s, st, 5);
		r->p = col_dup(s, st, 6);
		r->sp = col_dup(s, st, 7);
		r->np = col_dup(s, st, 8);
		r->adkim = col_dup(s, st, 9);
		r->aspf = col_dup(s, st, 10);
		r->pct = s->ops->col_text(st, 11) != NULL ? (int)s->ops->col_int(st, 11) : -1;
		r->testing = col_dup(s, st, 12);
		r->all = dom == NULL || domain_at_or_below(nn(r->domain), dom);
	}
	s->ops->finalize(st);
	if (rc == STORE_ERR) {
		while (n > 0)
			rcv_rep_free(&v[--n]);
		free(v);
		return -1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), rcv_rep_cmp);
	*out = v;
	return (long)n;
}

/* read_page - up to RCV_PAGE records of a report after seq; the number, or -1 */
static int
read_page(struct store *s, const struct rcv_rep *r, const char *dom, const char *like,
    long long after, struct rcv_rec *page)
{
	static const char cols[] =
	    "SELECT seq, source_ip, msg_count, disposition, dkim, spf, header_from,"
	    " envelope_from, envelope_to, reasons, dkim_results, spf_results FROM rcv_records"
	    " WHERE rkey = ? AND seq > ?";
	struct store_stmt *st;
	struct rcv_rec *c;
	int n = 0, rc = STORE_DONE, bad = 0;
	char *sql;

	if (r->all) {
		sql = xasprintf("%s ORDER BY seq LIMIT ?", cols);
		st = store_q_prep(s, sql, "sii", r->key, after, (long long)RCV_PAGE);
	} else {
		sql = xasprintf("%s AND (header_from = ? OR header_from LIKE ? ESCAPE '!')"
		    " ORDER BY seq LIMIT ?", cols);
		st = store_q_prep(s, sql, "sissi", r->key, after, dom, like, (long long)RCV_PAGE);
	}
	free(sql);
	if (st == NULL)
		return -1;
	while (n < RCV_PAGE && (rc = s->ops->step(st)) == STORE_ROW) {
		c = &page[n++];
		memset(c, 0, sizeof(*c));
		c->seq = s->ops->col_int(st, 0);
		c->ip = col_dup(s, st, 1);
		c->count = (unsigned long long)s->ops->col_int(st, 2);
		c->disp = col_dup(s, st, 3);
		c->dkim = col_dup(s, st, 4);
		c->spf = col_dup(s, st, 5);
		c->hf = col_dup(s, st, 6);
		c->ef = col_dup(s, st, 7);
		c->et = col_dup(s, st, 8);
		if (j_parse(s->ops->col_text(st, 9), &c->reasons) != 0 ||
		    j_parse(s->ops->col_text(st, 10), &c->dkim_r) != 0 ||
		    j_parse(s->ops->col_text(st, 11), &c->spf_r) != 0)
			bad = 1;
	}
	if (n < RCV_PAGE && rc == STORE_ERR)
		bad = -1;
	s->ops->finalize(st);
	if (bad != 0) {
		if (bad > 0)
			store_set_error(s, "report %s from %s: a record's results are not JSON",
			    r->id, r->org);
		while (n > 0)
			rcv_rec_free(&page[--n]);
		return -1;
	}
	return n;
}

/* call_one - build the row of one record and hand it to fn */
static int
call_one(const struct rcv_rep *r, const struct rcv_rec *c, store_rcv_fn fn, void *arg)
{
	struct store_rcv_row w;
	struct report_reason *rs;
	struct report_dkim *dk;
	struct report_spf *sp;
	json_t *o;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.org_name = r->org;
	w.report_id = r->id;
	w.begin = r->begin;
	w.end = r->end;
	w.domain = nn(r->domain);
	w.p = nn(r->p);
	w.sp = r->sp;
	w.np = r->np;
	w.adkim = r->adkim;
	w.aspf = r->aspf;
	w.pct = r->pct;
	w.testing = r->testing;
	w.source_ip = nn(c->ip);
	w.count = c->count;
	w.disposition = nn(c->disp);
	w.dkim = nn(c->dkim);
	w.spf = nn(c->spf);
	w.header_from = nn(c->hf);
	w.envelope_from = c->ef;
	w.envelope_to = c->et;
	w.n_reasons = json_array_size(c->reasons);
	w.n_dkim = json_array_size(c->dkim_r);
	w.n_spf = json_array_size(c->spf_r);
	/* the arrays point into the parsed JSON: no copies */
	rs = w.n_reasons > 0 ? xcalloc(w.n_reasons, sizeof(*rs)) : NULL;
	json_array_foreach(c->reasons, i, o) {
		rs[i].type = j_get(o, "type");
		rs[i].comment = j_get(o, "comment");
	}
	dk = w.n_dkim > 0 ? xcalloc(w.n_dkim, sizeof(*dk)) : NULL;
	json_array_foreach(c->dkim_r, i, o) {
		dk[i].domain = j_get(o, "domain");
		dk[i].selector = j_get(o, "selector");
		dk[i].result = j_get(o, "result");
		dk[i].human_result = j_get(o, "human_result");
	}
	sp = w.n_spf > 0 ? xcalloc(w.n_spf, sizeof(*sp)) : NULL;
	json_array_foreach(c->spf_r, i, o) {
		sp[i].domain = j_get(o, "domain");
		sp[i].scope = j_get(o, "scope");
		sp[i].result = j_get(o, "result");
		sp[i].human_result = j_get(o, "human_result");
	}
	w.reasons = rs;
	w.dkim_results = dk;
	w.spf_results = sp;
	rc = fn(&w, arg);
	free(rs);
	free(dk);
	free(sp);
	return rc;
}

/*
 * store_rcv_rows - walk the matching records.  The reports are read
 * first (few), then each report's records a page at a time, and every
 * page is read completely before the callback sees its first row: no
 * statement is open while the callback runs, so it may use the store
 * (store_rdns_get/put) on either backend.
 */
int
store_rcv_rows(struct store *s, const char *domain, time_t since, time_t until,
    store_rcv_fn fn, void *arg, char *err, size_t errlen)
{
	struct rcv_rep *reps = NULL;
	struct rcv_rec *page;
	char *dom = NULL, *like = NULL;
	long nrep, i;
	long long after;
	int n, k, rc = 0;

	if (fn == NULL) {
		err_set(err, errlen, "received reports: no callback");
		return -1;
	}
	if (domain != NULL && *domain != '\0') {
		dom = rcv_name(domain);
		like = like_below(dom);
	}
	if (until <= since) {
		free(dom);
		free(like);
		return 0;
	}
	if ((nrep = read_reports(s, dom, (long long)since, (long long)until, &reps)) < 0) {
		free(dom);
		free(like);
		return store_fail(s, err, errlen, "received reports");
	}
	page = xcalloc(RCV_PAGE, sizeof(*page));
	for (i = 0; i < nrep && rc == 0; i++) {
		after = -1;
		do {
			if ((n = read_page(s, &reps[i], dom, like, after, page)) < 0) {
				rc = store_fail(s, err, errlen, "received reports");
				break;
			}
			for (k = 0; k < n && rc == 0; k++)
				rc = call_one(&reps[i], &page[k], fn, arg);
			if (n > 0)
				after = page[n - 1].seq;
			for (k = 0; k < n; k++)
				rcv_rec_free(&page[k]);
		} while (rc == 0 && n == RCV_PAGE);
	}
	free(page);
	for (i = 0; i < nrep; i++)
		rcv_rep_free(&reps[i]);
	free(reps);
	free(dom);
	free(like);
	return rc;
}

/* ------------------------------------------------------------------ */
/* store_rcv_domains, reverse DNS                                      */

/* str_cmp - qsort order of C strings, bytewise */
static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* store_rcv_domains - the distinct policy domains, sorted bytewise */
int
store_rcv_domains(struct store *s, char ***out, size_t *n, char *err, size_t errlen)
{
	struct store_stmt *st;
	char **v = NULL;
	size_t k = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((st = store_q_prep(s, "SELECT DISTINCT domain FROM rcv_reports", "")) == NULL)
		return store_fail(s, err, errlen, "received report domains");
	while ((rc = s->ops->step(st)) == STORE_ROW) {
		if (k == cap) {
			cap = cap > 0 ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[k++] = xstrdup(nn(s->ops->col_text(st, 0)));
	}
	s->ops->finalize(st);
	if (rc == STORE_ERR) {
		while (k > 0)
			free(v[--k]);
		free(v);
		return store_fail(s, err, errlen, "received report domains");
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), str_cmp);
	*out = v;
	*n = k;
	return 0;
}

/* store_rdns_get - a remembered PTR lookup of ip made at or after not_before */
int
store_rdns_get(struct store *s, const char *ip, time_t not_before, char **name,
    char *err, size_t errlen)
{
	struct store_stmt *st;
	const char *v;
	char *key;
	int rc;

	*name = NULL;
	if (ip == NULL) {
		err_set(err, errlen, "reverse DNS: no address");
		return -1;
	}
	key = rcv_ip(ip);
	st = store_q_prep(s, "SELECT name FROM rdns WHERE ip = ? AND looked_up >= ?", "si",
	    key, (long long)not_before);
	free(key);
	if (st == NULL)
		return store_fail(s, err, errlen, "reverse DNS");
	rc = s->ops->step(st);
	if (rc == STORE_ROW && (v = s->ops->col_text(st, 0)) != NULL && *v != '\0')
		*name = xstrdup(v);
	s->ops->finalize(st);
	if (rc == STORE_ERR)
		return store_fail(s, err, errlen, "reverse DNS");
	return rc == STORE_ROW ? 1 : 0;
}

/* store_rdns_put - remember a PTR lookup; an older one never replaces a newer */
int
store_rdns_put(struct store *s, const char *ip, const char *name, time_t when,
    char *err, size_t errlen)
{
	char *key;
	int rc;

	if (ip == NULL || *ip == '\0') {
		err_set(err, errlen, "reverse DNS: no address");
		return -1;
	}
	key = rcv_ip(ip);
	rc = store_q_exec(s, NULL, "INSERT INTO rdns (ip, name, looked_up) VALUES (?, ?, ?)"
	    " ON CONFLICT (ip) DO UPDATE SET name = excluded.name, looked_up = excluded.looked_up"
	    " WHERE excluded.looked_up >= rdns.looked_up",
	    "ssi", key, name != NULL && *name != '\0' ? name : NULL, (long long)when);
	free(key);
	if (rc != 0)
		return store_fail(s, err, errlen, "reverse DNS");
	return 0;
}
