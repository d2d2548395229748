/*
 * import.c - history files into the report store.
 *
 * The file is read through zlib (gzread reads plain files as they are and
 * decompresses gzip, multi-member files included), in 64 KiB chunks split
 * at '\n', so memory stays bounded by one line (HISTORY_MAX_LINE) plus
 * one batch of IMPORT_BATCH rows.  Each line is parsed with
 * history_parse(), the reader that is shared with the milter's writer.
 * Blank lines are skipped (docs/history-format.md, "Writing and
 * rotation": a short write can leave one); a line that does not parse is
 * reported with its number and skipped; a last line without '\n' that
 * does not parse is taken as still being written and left for the next
 * import.
 *
 * A record becomes one store_message: the key is the SHA-256 of the line's
 * bytes (without the '\n'), the rest is what a report row groups by,
 * taken from the deciding DMARC outcome (dmarc[deciding]).  The
 * authentication results are serialized canonically as compact JSON
 * ({"dkim":[[d,s,result,human],...],"spf":[[domain,scope,result,human]]},
 * fixed key order) so that equal combinations are equal strings.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "buf.h"
#include "history.h"
#include "import.h"
#include "result.h"
#include "store.h"
#include "util.h"

#define IMPORT_CHUNK		(64u * 1024)
/* DKIM results kept per message: RFC 9990 caps a row at 100 (REPORT_MAX_DKIM in xml.h). */
#define IMPORT_MAX_DKIM		100

/* hash_line - SHA-256 of the line's bytes as lowercase hex */
static int
hash_line(const char *line, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(line, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* lc_dup - a lowercase copy without a trailing dot; "" for NULL */
static char *
lc_dup(const char *s)
{
	char *d = xstrdup(s != NULL ? s : "");
	size_t n = strlen(d);

	if (n > 0 && d[n - 1] == '.')
		d[n - 1] = '\0';
	ascii_lowercase(d);
	return d;
}

/* jstr - a JSON string, or null for NULL (and for text jansson refuses) */
static json_t *
jstr(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

/* in_domain - d is dom or a name below it (ASCII case-insensitively) */
static bool
in_domain(const char *d, const char *dom)
{
	size_t ld, lo;

	if (d == NULL || dom == NULL || *dom == '\0')
		return false;
	ld = strlen(d);
	lo = strlen(dom);
	if (ld == lo)
		return ascii_strcaseeq(d, dom);
	return ld > lo && d[ld - lo - 1] == '.' && ascii_strcaseeq(d + ld - lo, dom);
}

struct dkim_sort {
	const struct dkim_outcome *o;
	char	*domain;	/* lowercase */
	int	 rank;
};

/* nz - NULL as "" for comparisons */
static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static int
cmp_dkim(const void *a, const void *b)
{
	const struct dkim_sort *x = a, *y = b;
	int c;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	if ((c = strcmp(x->domain, y->domain)) != 0 ||
	    (c = strcmp(nz(x->o->selector), nz(y->o->selector))) != 0 ||
	    (c = strcmp(auth_res_str(x->o->result), auth_res_str(y->o->result))) != 0)
		return c;
	return strcmp(nz(x->o->reason), nz(y->o->reason));
}

/*
 * auth_json - the canonical text of a message's authentication results.
 * DKIM: every signature that has a d=, in the RFC 9990 priority order
 * (the order report_dkim_prioritize() in xml.h keeps): passes strictly
 * aligned with the From domain, passes relaxed-aligned (d= at or below the
 * organizational domain the milter found), other passes, the rest; within
 * a rank sorted by value, so that signature order does not split rows; at
 * most IMPORT_MAX_DKIM.  SPF: the check DMARC used (MAIL FROM, or HELO
 * for the null sender; RFC 9990 has room for exactly one), when there was
 * one with a domain.
 */
static char *
auth_json(const struct verdict *v, const char *header_from, const char *org_domain)
{
	struct dkim_sort *ds;
	json_t *root, *arr, *e;
	size_t i, n = 0;
	char *out;

	root = json_object();
	arr = json_array();
	ds = v->n_dkim > 0 ? xcalloc(v->n_dkim, sizeof(*ds)) : NULL;
	for (i = 0; i < v->n_dkim; i++) {
		const struct dkim_outcome *o = &v->dkim[i];

		if (o->domain == NULL || *o->domain == '\0')
			continue;	/* RFC 9990: domain is required; no one to tell */
		ds[n].o = o;
		ds[n].domain = lc_dup(o->domain);
		if (o->result != AUTH_PASS)
			ds[n].rank = 3;
		else if (ascii_strcaseeq(ds[n].domain, header_from))
			ds[n].rank = 0;
		else if (in_domain(ds[n].domain, org_domain != NULL ? org_domain : header_from))
			ds[n].rank = 1;
		else
			ds[n].rank = 2;
		n++;
	}
	if (n > 1)
		qsort(ds, n, sizeof(*ds), cmp_dkim);
	for (i = 0; i < n; i++) {
		if (i < IMPORT_MAX_DKIM) {
			e = json_array();
			json_array_append_new(e, jstr(ds[i].domain));
			json_array_append_new(e, jstr(ds[i].o->selector));
			json_array_append_new(e, jstr(auth_res_str(ds[i].o->result)));
			json_array_append_new(e, jstr(ds[i].o->reason));
			json_array_append_new(arr, e);
		}
		free(ds[i].domain);
	}
	free(ds);
	json_object_set_new(root, "dkim", arr);

	arr = json_array();
	if (v->spf.domain != NULL && *v->spf.domain != '\0') {
		char *d = lc_dup(v->spf.domain);

		e = json_array();
		json_array_append_new(e, jstr(d));
		json_array_append_new(e, jstr(v->spf.helo_scope ? "helo" : "mfrom"));
		json_array_append_new(e, jstr(auth_res_str(v->spf.result)));
		json_array_append_new(e, jstr(v->spf.reason));
		json_array_append_new(arr, e);
		free(d);
	}
	json_object_set_new(root, "spf", arr);
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (out == NULL)
		return xstrdup("{\"dkim\":[],\"spf\":[]}");
	/* jansson allocates with malloc by default: hand over a copy of ours anyway */
	{
		char *copy = xstrdup(out);

		free(out);
		return copy;
	}
}

/* reasons_json - the override reason of the outcome, "" for none */
static char *
reasons_json(const struct dmarc_outcome *d)
{
	json_t *root, *e;
	char *out, *copy;

	if (d->reason == OVR_NONE)
		return xstrdup("");
	root = json_array();
	e = json_array();
	json_array_append_new(e, jstr(override_reason_str(d->reason)));
	json_array_append_new(e, jstr(d->comment));
	json_array_append_new(root, e);
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	copy = xstrdup(out != NULL ? out : "");
	free(out);
	return copy;
}

/* rua_text - the published rua list as "uri[!size],..." */
static char *
rua_text(const struct dmarc_record *r)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < r->n_rua; i++) {
		buf_printf(&b, "%s%s", i > 0 ? "," : "", r->rua[i].uri);
		if (r->rua[i].size_limit > 0)
			buf_printf(&b, "!%llu", r->rua[i].size_limit);
	}
	return b.data != NULL ? buf_detach(&b) : xstrdup("");
}

/* align_str - "r" / "s" */
static const char *
align_str(enum dmarc_align a)
{
	return a == DMARC_ALIGN_STRICT ? "s" : "r";
}

/* policy_or_null - a published policy tag, NULL when absent */
static char *
policy_or_null(enum dmarc_policy p)
{
	return p == DMARC_POLICY_UNSET ? NULL : xstrdup(dmarc_policy_str(p));
}

/*
 * record_to_message - the store row of a parsed record.  Returns 1 when
 * the record is reportable (m filled), 0 when it is not: no DMARC outcome,
 * or the deciding one found no record / policy domain.
 */
static int
record_to_message(const struct history_record *r, const char *hash, struct store_message *m)
{
	const struct dmarc_outcome *d;
	const struct dmarc_record *rec;

	if (r->v.n_dmarc == 0 || r->v.deciding >= r->v.n_dmarc)
		return 0;
	d = &r->v.dmarc[r->v.deciding];
	if (!d->have_record || d->policy_domain == NULL || *d->policy_domain == '\0' || r->when < 0)
		return 0;
	rec = &d->record;
	memset(m, 0, sizeof(*m));
	memcpy(m->hash, hash, 65);
	m->time = (long long)r->when;
	m->day = m->time - m->time % STORE_PERIOD;
	m->reporter = r->reporter != NULL ? xstrdup(r->reporter) : NULL;
	m->policy_domain = lc_dup(d->policy_domain);

	m->p = xstrdup(rec->p != DMARC_POLICY_UNSET ? dmarc_policy_str(rec->p) : "none");
	m->sp = policy_or_null(rec->sp);
	m->np = policy_or_null(rec->np);
	m->adkim = xstrdup(align_str(rec->adkim));
	m->aspf = xstrdup(align_str(rec->aspf));
	m->pct = rec->pct_set ? (int)rec->pct : -1;
	m->fo = rec->fo != NULL ? xstrdup(rec->fo) : NULL;
	m->testing = xstrdup(rec->testing ? "y" : "n");
	m->psd = rec->psd == DMARC_PSD_UNSET ? NULL : xstrdup(rec->psd == DMARC_PSD_YES ? "y" : "n");
	m->discovery = xstrdup(d->discovery == DISCOVERY_TREEWALK ? "treewalk" : "psl");
	m->rua = rua_text(rec);

	m->source_ip = xstrdup(r->client_ip != NULL ? r->client_ip : "");
	m->header_from = lc_dup(r->header_from != NULL ? r->header_from : d->from_domain);
	m->envelope_from = lc_dup(r->mail_from_domain);
	/* one message is one count: with several recipient domains, no envelope_to */
	m->envelope_to = lc_dup(r->n_rcpt_domains == 1 ? r->rcpt_domains[0] : NULL);
	m->policy = xstrdup(dmarc_policy_str(d->policy));
	m->disposition = xstrdup(disposition_str(d->disposition));
	/* RFC 7489 §7.2 / RFC 9990: policy_evaluated dkim/spf are the DMARC-aligned results */
	m->dkim = xstrdup(d->dkim_aligned ? "pass" : "fail");
	m->spf = xstrdup(d->spf_aligned ? "pass" : "fail");
	m->reasons = reasons_json(d);
	m->auth = auth_json(&r->v, m->header_from, d->org_domain);
	return 1;
}

struct importer {
	struct store		*s;
	const char		*path;
	struct import_stats	*st;
	long long		 horizon;	/* expired_before */
	struct store_message	*batch;
	bool			*inserted, *late;
	size_t			 n;
	char			*err;
	size_t			 errlen;
};

/* flush - store the batch */
static int
flush(struct importer *im)
{
	unsigned retries = 0;
	size_t i;
	int rc;

	if (im->n == 0)
		return 0;
	rc = store_insert_batch(im->s, im->batch, im->n, im->inserted, im->late, &retries,
	    im->err, im->errlen);
	im->st->retries += retries;
	for (i = 0; i < im->n; i++) {
		if (rc == 0) {
			if (im->inserted[i])
				im->st->imported++;
			else
				im->st->duplicates++;
			if (im->late[i])
				im->st->late++;
		}
		store_message_free(&im->batch[i]);
	}
	im->n = 0;
	return rc;
}

/* malformed - count and report a line that is not a record */
static void
malformed(struct importer *im, unsigned long long lineno, const char *msg)
{
	im->st->malformed++;
	if (im->st->on_malformed != NULL)
		im->st->on_malformed(im->st->arg, im->path, lineno, msg);
}

/* one_line - a complete line (without '\n'); complete: it ended in '\n' */
static int
one_line(struct importer *im, const char *line, size_t len, unsigned long long lineno, bool complete)
{
	struct history_record rec;
	char msg[512], hash[65];
	int ok;

	im->st->lines++;
	if (len == 0) {
		im->st->blank++;
		return 0;
	}
	if (history_parse(line, len, &rec, msg, sizeof(msg)) != 0) {
		if (complete)
			malformed(im, lineno, msg);
		else
			im->st->partial++;
		return 0;
	}
	if (hash_line(line, len, hash) != 0) {
		history_record_free(&rec);
		snprintf(im->err, im->errlen, "%s: SHA-256 is not available", im->path);
		return -1;
	}
	ok = record_to_message(&rec, hash, &im->batch[im->n]);
	history_record_free(&rec);
	if (!ok) {
		im->st->unreportable++;
		return 0;
	}
	if (im->batch[im->n].day < im->horizon) {
		store_message_free(&im->batch[im->n]);
		im->st->too_old++;
		return 0;
	}
	im->batch[im->n].lineno = lineno;
	if (++im->n == IMPORT_BATCH)
		return flush(im);
	return 0;
}

/* import_file - read one history file (plain or gzip) into the store */
int
import_file(struct store *s, const char *path, struct import_stats *st, char *err, size_t errlen)
{
	struct importer im;
	struct buf line;
	unsigned long long lineno = 0;
	bool toolong = false;
	char *chunk, *p, *nl;
	gzFile gz;
	int n = 0, rc = 0, zerr;
	size_t left, seg;

	memset(&im, 0, sizeof(im));
	im.s = s;
	im.path = path;
	im.st = st;
	im.err = err;
	im.errlen = errlen;
	if (store_expired_before(s, &im.horizon, err, errlen) != 0)
		return -1;
	errno = 0;
	if ((gz = gzopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, errno != 0 ? strerror(errno) : "cannot open");
		return -1;
	}
	gzbuffer(gz, 128u * 1024);
	im.batch = xcalloc(IMPORT_BATCH, sizeof(*im.batch));
	im.inserted = xcalloc(IMPORT_BATCH, sizeof(*im.inserted));
	im.late = xcalloc(IMPORT_BATCH, sizeof(*im.late));
	chunk = xmalloc(IMPORT_CHUNK);
	buf_init(&line, HISTORY_MAX_LINE + 1);

	while (rc == 0 && (n = gzread(gz, chunk, IMPORT_CHUNK)) > 0) {
		p = chunk;
		left = (size_t)n;
		while (rc == 0 && left > 0) {
			nl = memchr(p, '\n', left);
			seg = nl != NULL ? (size_t)(nl - p) : left;
			if (!toolong && buf_append(&line, p, seg) != 0)
				toolong = true;
			if (nl == NULL)
				break;
			lineno++;
			if (toolong) {
				st->lines++;
				malformed(&im, lineno, "line too long");
			} else
				rc = one_line(&im, buf_str(&line), line.len, lineno, true);
			buf_reset(&line);
			toolong = false;
			p = nl + 1;
			left -= seg + 1;
			if (st->on_progress != NULL && lineno % IMPORT_PROGRESS_LINES == 0)
				st->on_progress(st->arg, st);
		}
	}
	if (rc == 0 && n < 0) {
		const char *m = gzerror(gz, &zerr);

		snprintf(err, errlen, "%s: %s", path, zerr == Z_ERRNO ? strerror(errno) : m);
		rc = -1;
	}
	if (rc == 0 && (line.len > 0 || toolong)) {
		/* the last line has no '\n' (yet) */
		lineno++;
		if (toolong) {
			st->lines++;
			malformed(&im, lineno, "line too long");
		} else
			rc = one_line(&im, buf_str(&line), line.len, lineno, false);
	}
	if (rc == 0)
		rc = flush(&im);
	else {
		size_t i;

		for (i = 0; i < im.n; i++)
			store_message_free(&im.batch[i]);
	}
	gzclose(gz);
	buf_free(&line);
	free(chunk);
	free(im.batch);
	free(im.inserted);
	free(im.late);
	return rc;
}
