/*
 * present.c - sources, kpis and readiness as a terminal table, JSON or
 * CSV.
 *
 * JSON (jansson; key names are stable, documented in dmarc-reports(8)):
 * dates are "YYYY-MM-DD" (UTC), rates are percentages (numbers, 0 when
 * there is nothing to divide by), counts are integers; a "counts" object
 * is always the same set of keys (counts_json below).
 *
 * CSV (RFC 4180): a header line, then one line per source, day or hit;
 * CRLF line ends; fields with a comma, a quote, CR or LF are quoted with
 * quotes doubled.  A text field that starts with = + - @, TAB or CR gets a
 * leading apostrophe, so that a spreadsheet shows it instead of running
 * it as a formula (a reporter's org_name or a DKIM domain is chosen by
 * others).  Lists inside a field are separated by spaces.
 *
 * Table: for a terminal; control characters from the reports are shown as
 * '?', so a hostile org_name cannot move the cursor or change the title.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze.h"
#include "buf.h"
#include "present.h"
#include "rconf.h"
#include "util.h"

#define LIST_SHOWN	3	/* list entries shown in a table cell */
#define WRAP		76	/* columns of wrapped text */

int
present_format_parse(const char *s, enum present_format *out)
{
	if (strcmp(s, "table") == 0)
		*out = PRESENT_TABLE;
	else if (strcmp(s, "json") == 0)
		*out = PRESENT_JSON;
	else if (strcmp(s, "csv") == 0)
		*out = PRESENT_CSV;
	else
		return -1;
	return 0;
}

/* ymd - a UTC day as YYYY-MM-DD */
static const char *
ymd(time_t t, char buf[16])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 16, "%lld", (long long)t);
	return buf;
}

/* classification - "known", "unauthorized" or "unknown" */
static const char *
classification(const struct an_source *s)
{
	return s->known == NULL ? "unknown" : s->known->authorized ? "known" : "unauthorized";
}

/* known_text - the known column: the label, "unauthorized: label" or "UNKNOWN" */
static char *
known_text(const struct an_source *s)
{
	if (s->known == NULL)
		return xstrdup("UNKNOWN");
	if (!s->known->authorized)
		return xasprintf("unauthorized: %s", s->known->label);
	return xstrdup(s->known->label);
}

/* join - at most max (0: all) entries of a list, "+N" for the rest */
static char *
join(char *const *v, size_t n, size_t max, const char *sep)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n && (max == 0 || i < max); i++)
		buf_printf(&b, "%s%s", i > 0 ? sep : "", v[i]);
	if (i < n)
		buf_printf(&b, " +%zu", n - i);
	return buf_detach(&b);
}

/* policy_str - "p=quarantine; pct=5; t=y" */
static char *
policy_str(const char *p, int pct, bool testing)
{
	char pc[24] = "";

	if (pct >= 0)
		snprintf(pc, sizeof(pc), "; pct=%d", pct);
	return xasprintf("p=%s%s%s", p, pc, testing ? "; t=y" : "");
}

/* published - the latest published p/pct/t as a record fragment */
static char *
published(const struct analysis *a)
{
	return a->p == NULL ? xstrdup("(no reports)") : policy_str(a->p, a->pct, a->testing);
}

/* ------------------------------------------------------------------ */
/* table                                                                */

struct table {
	size_t		 ncol;
	const char	*align;		/* per column: 'l' or 'r' */
	char		**cells;	/* row-major, sanitized copies */
	size_t		 nrows;
};

/* sanitize - control characters as '?' */
static char *
sanitize(const char *s)
{
	char *o = xstrdup(s != NULL ? s : "");

	for (char *p = o; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return o;
}

/* width - display columns of a UTF-8 string (code points) */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void
table_row(struct table *t, ...)
{
	va_list ap;
	size_t i;

	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncol * sizeof(char *));
	va_start(ap, t);
	for (i = 0; i < t->ncol; i++)
		t->cells[t->nrows * t->ncol + i] = sanitize(va_arg(ap, const char *));
	va_end(ap);
	t->nrows++;
}

/* table_print - columns two spaces apart, the first row is the header */
static void
table_print(struct table *t, FILE *fp)
{
	size_t *w = xcalloc(t->ncol, sizeof(*w)), r, c, cw;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncol; c++)
			if ((cw = width(t->cells[r * t->ncol + c])) > w[c])
				w[c] = cw;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncol; c++) {
			const char *s = t->cells[r * t->ncol + c];
			size_t pad = w[c] - width(s);
			bool last = c + 1 == t->ncol;

			if (t->align[c] == 'r')
				fprintf(fp, "%*s%s", (int)pad, "", s);
			else
				fprintf(fp, "%s%*s", s, last ? 0 : (int)pad, "");
			fputs(last ? "\n" : "  ", fp);
		}
	}
	for (r = 0; r < t->nrows * t->ncol; r++)
		free(t->cells[r]);
	free(t->cells);
	free(w);
}

/* wrap - text wrapped at WRAP columns, each line indented */
static void
wrap(FILE *fp, const char *indent, const char *text)
{
	char *s = sanitize(text), *p = s, *word;
	size_t col = 0, len;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p != '\0' && *p != ' ')
			p++;
		len = (size_t)(p - word);
		if (col > 0 && col + 1 + len > WRAP) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0) {
			fputs(indent, fp);
			col = strlen(indent);
		} else {
			fputc(' ', fp);
			col++;
		}
		fwrite(word, 1, len, fp);
		col += len;
	}
	if (col > 0)
		fputc('\n', fp);
	free(s);
}

/* num - a count with thousands separators */
static const char *
num(unsigned long long n, char buf[32])
{
	char tmp[32];
	size_t len, i, o = 0;

	len = (size_t)snprintf(tmp, sizeof(tmp), "%llu", n);
	for (i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *
rate(double r, char buf[16])
{
	snprintf(buf, 16, "%.1f", r);
	return buf;
}

/* ------------------------------------------------------------------ */
/* CSV                                                                  */

void
present_csv_field(FILE *fp, const char *s, int text)
{
	bool guard, quote;

	if (s == NULL)
		s = "";
	guard = text && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r');
	quote = guard || strpbrk(s, ",\"\r\n") != NULL || (*s == ' ' || (*s != '\0' && s[strlen(s) - 1] == ' '));
	if (!quote) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	if (guard)
		fputc('\'', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* csv_line - fields: 't' text, 'n' number (already formatted), one letter each */
static void
csv_line(FILE *fp, const char *types, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, types);
	for (i = 0; types[i] != '\0'; i++) {
		if (i > 0)
			fputc(',', fp);
		present_csv_field(fp, va_arg(ap, const char *), types[i] == 't');
	}
	va_end(ap);
	fputs("\r\n", fp);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static json_t *
jrate(double r)
{
	return json_real(r);
}

static json_t *
jcount(unsigned long long n)
{
	return json_integer((json_int_t)n);
}

static json_t *
jdate(time_t t)
{
	char b[16];

	return t == 0 ? json_null() : json_string(ymd(t, b));
}

/* jstr - a string that may be NULL (null), made valid UTF-8 for jansson */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *c, *p;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* not UTF-8: the bytes above 0x7f become '?' */
	c = xstrdup(s);
	for (p = c; *p != '\0'; p++)
		if ((unsigned char)*p > 0x7f)
			*p = '?';
	j = json_string(c);
	free(c);
	return j != NULL ? j : json_string("");
}

static json_t *
jlist(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, jstr(v[i]));
	return a;
}

/* counts_json - the same keys everywhere */
static json_t *
counts_json(const struct an_counts *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "messages", jcount(c->total));
	json_object_set_new(o, "spf_dkim", jcount(c->n[AN_BOTH]));
	json_object_set_new(o, "spf_only", jcount(c->n[AN_SPF_ONLY]));
	json_object_set_new(o, "dkim_only", jcount(c->n[AN_DKIM_ONLY]));
	json_object_set_new(o, "neither", jcount(c->n[AN_NEITHER]));
	json_object_set_new(o, "forwarded", jcount(c->forwarded));
	json_object_set_new(o, "unknown", jcount(c->unknown));
	json_object_set_new(o, "unauthorized", jcount(c->unauthorized));
	json_object_set_new(o, "quarantined", jcount(c->quarantined));
	json_object_set_new(o, "rejected", jcount(c->rejected));
	json_object_set_new(o, "direct", jcount(c->direct));
	json_object_set_new(o, "direct_pass", jcount(c->direct_pass));
	json_object_set_new(o, "fail_known", jcount(c->fail_known));
	json_object_set_new(o, "fail_unknown", jcount(c->fail_unknown));
	json_object_set_new(o, "fail_unauthorized", jcount(c->fail_unauthorized));
	json_object_set_new(o, "pass_rate", jrate(an_pass_rate(c)));
	json_object_set_new(o, "spf_rate", jrate(an_spf_rate(c)));
	json_object_set_new(o, "dkim_rate", jrate(an_dkim_rate(c)));
	json_object_set_new(o, "unknown_share", jrate(an_unknown_share(c)));
	json_object_set_new(o, "forwarded_share", jrate(an_forwarded_share(c)));
	json_object_set_new(o, "direct_pass_rate", jrate(an_direct_pass_rate(c)));
	return o;
}

/* policy_json - the latest published policy */
static json_t *
policy_json(const struct analysis *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "p", jstr(a->p));
	json_object_set_new(o, "sp", jstr(a->sp));
	json_object_set_new(o, "np", jstr(a->np));
	json_object_set_new(o, "pct", a->pct >= 0 ? json_integer(a->pct) : json_null());
	json_object_set_new(o, "testing", json_boolean(a->testing));
	json_object_set_new(o, "since", jdate(a->policy_since));
	json_object_set_new(o, "none_since", jdate(a->none_since));
	return o;
}

/* head_json - what every JSON view starts with */
static json_t *
head_json(const struct analysis *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "domain", jstr(a->domain));
	json_object_set_new(o, "since", jdate(a->since));
	json_object_set_new(o, "until", jdate(a->until));
	json_object_set_new(o, "reports", json_integer(a->reports));
	json_object_set_new(o, "reporters", jlist(a->reporters, a->n_reporters));
	json_object_set_new(o, "policy", policy_json(a));
	json_object_set_new(o, "subdomains_send", json_boolean(a->subdomains_send));
	json_object_set_new(o, "total", counts_json(&a->total));
	return o;
}

static json_t *
source_ref_json(const struct an_source *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", jstr(s->key));
	json_object_set_new(o, "name", jstr(s->name));
	json_object_set_new(o, "classification", json_string(classification(s)));
	json_object_set_new(o, "label", jstr(s->known != NULL ? s->known->label : NULL));
	return o;
}

static json_t *
source_json(const struct an_source *s)
{
	json_t *o = source_ref_json(s), *ips = json_array();

	json_object_set_new(o, "config_line", s->known != NULL ? json_integer(s->known->line) : json_null());
	json_object_set_new(o, "forwarder", json_boolean(s->forwarder));
	json_object_set_new(o, "counts", counts_json(&s->c));
	for (size_t i = 0; i < s->n_ips; i++) {
		json_t *ip = json_object();

		json_object_set_new(ip, "ip", jstr(s->ips[i].ip));
		json_object_set_new(ip, "ptr", jstr(s->ips[i].ptr));
		json_object_set_new(ip, "counts", counts_json(&s->ips[i].c));
		json_array_append_new(ips, ip);
	}
	json_object_set_new(o, "ips", ips);
	json_object_set_new(o, "dkim_domains", jlist(s->dkim_domains, s->n_dkim_domains));
	json_object_set_new(o, "spf_domains", jlist(s->spf_domains, s->n_spf_domains));
	json_object_set_new(o, "reporters", jlist(s->reporters, s->n_reporters));
	json_object_set_new(o, "first_seen", jdate(s->first_seen));
	json_object_set_new(o, "last_seen", jdate(s->last_seen));
	return o;
}

/* json_out - dump and free */
static int
json_out(json_t *o, FILE *fp)
{
	int rc = json_dumpf(o, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

	json_decref(o);
	fputc('\n', fp);
	return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* sources                                                              */

int
present_sources(const struct analysis *a, enum present_format f, FILE *fp)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[16], b7[32], d1[16], d2[16];
	size_t i;

	if (f == PRESENT_JSON) {
		json_t *o = head_json(a), *src = json_array(), *fixes = json_array(), *rd = json_object();

		for (i = 0; i < a->n_sources; i++)
			json_array_append_new(src, source_json(&a->sources[i]));
		json_object_set_new(o, "sources", src);
		for (i = 0; i < a->n_fixes; i++) {
			json_t *x = source_ref_json(a->fixes[i].source);

			json_object_set_new(x, "changed", jdate(a->fixes[i].changed));
			json_object_set_new(x, "before", counts_json(&a->fixes[i].before));
			json_object_set_new(x, "after", counts_json(&a->fixes[i].after));
			json_array_append_new(fixes, x);
		}
		json_object_set_new(o, "fixes", fixes);
		json_object_set_new(rd, "asked", json_integer(a->rdns_asked));
		json_object_set_new(rd, "cached", json_integer(a->rdns_cached));
		json_object_set_new(rd, "tempfail", json_integer(a->rdns_tempfail));
		json_object_set_new(rd, "unconfirmed", json_integer(a->rdns_unconfirmed));
		json_object_set_new(o, "rdns", rd);
		return json_out(o, fp);
	}
	if (f == PRESENT_CSV) {
		csv_line(fp, "tttttttttttttttttt", "domain", "system", "key", "known", "classification",
		    "messages", "spf_dkim", "spf_only", "dkim_only", "neither", "forwarded", "pass_rate",
		    "ips", "dkim_domains", "spf_domains", "reporters", "first_seen", "last_seen");
		for (i = 0; i < a->n_sources; i++) {
			const struct an_source *s = &a->sources[i];
			char *kt = known_text(s), *dk = join(s->dkim_domains, s->n_dkim_domains, 0, " ");
			char *sp = join(s->spf_domains, s->n_spf_domains, 0, " ");
			char *rp = join(s->reporters, s->n_reporters, 0, " "), *ips;
			char n0[24], n1[24], n2[24], n3[24], n4[24], n5[24], n6[24], pr[16];
			struct buf ib;

			buf_init(&ib, 0);
			for (size_t j = 0; j < s->n_ips; j++)
				buf_printf(&ib, "%s%s", j > 0 ? " " : "", s->ips[j].ip);
			ips = buf_detach(&ib);
			snprintf(n0, sizeof(n0), "%llu", s->c.total);
			snprintf(n1, sizeof(n1), "%llu", s->c.n[AN_BOTH]);
			snprintf(n2, sizeof(n2), "%llu", s->c.n[AN_SPF_ONLY]);
			snprintf(n3, sizeof(n3), "%llu", s->c.n[AN_DKIM_ONLY]);
			snprintf(n4, sizeof(n4), "%llu", s->c.n[AN_NEITHER]);
			snprintf(n5, sizeof(n5), "%llu", s->c.forwarded);
			snprintf(n6, sizeof(n6), "%.2f", an_pass_rate(&s->c));
			snprintf(pr, sizeof(pr), "%s", ymd(s->first_seen, d1));
			csv_line(fp, "ttttnnnnnnnntttttt", a->domain, s->name, s->key, kt, classification(s),
			    n0, n1, n2, n3, n4, n5, n6, ips, dk, sp, rp, pr, ymd(s->last_seen, d2));
			free(kt);
			free(dk);
			free(sp);
			free(rp);
			free(ips);
		}
		return ferror(fp) ? -1 : 0;
	}

	fprintf(fp, "%s: %zu sending systems, %s messages in %u reports from %zu reporters, %s to %s\n",
	    a->domain, a->n_sources, num(a->total.total, b1), a->reports, a->n_reporters,
	    ymd(a->since, d1), ymd(a->until - 86400, d2));
	if (a->total.total > 0) {
		char *pub = published(a);

		fprintf(fp, "DMARC pass %s%%, direct mail %s%%; published %s\n",
		    rate(an_pass_rate(&a->total), b6), rate(an_direct_pass_rate(&a->total), b7), pub);
		free(pub);
	}
	fputc('\n', fp);
	{
		struct table t = { 11, "llrrrrrrrll", NULL, 0 };

		table_row(&t, "system", "known", "messages", "spf+dkim", "spf only", "dkim only", "neither",
		    "pass %", "IPs", "DKIM d=", "reporters");
		for (i = 0; i < a->n_sources; i++) {
			const struct an_source *s = &a->sources[i];
			char *kt = known_text(s), *dk = join(s->dkim_domains, s->n_dkim_domains, LIST_SHOWN, ",");
			char *rp = join(s->reporters, s->n_reporters, LIST_SHOWN, ","), nip[24];
			char *sys = s->forwarder ? xasprintf("%s (forwarding)", s->name) : xstrdup(s->name);

			snprintf(nip, sizeof(nip), "%zu", s->n_ips);
			table_row(&t, sys, kt, num(s->c.total, b1), num(s->c.n[AN_BOTH], b2),
			    num(s->c.n[AN_SPF_ONLY], b3), num(s->c.n[AN_DKIM_ONLY], b4),
			    num(s->c.n[AN_NEITHER], b5), rate(an_pass_rate(&s->c), b6), nip, dk, rp);
			free(kt);
			free(dk);
			free(rp);
			free(sys);
		}
		table_print(&t, fp);
	}
	if (a->n_fixes > 0) {
		fprintf(fp, "\nremediations (failed, then passed):\n");
		for (i = 0; i < a->n_fixes; i++) {
			char *n = sanitize(a->fixes[i].source->name);

			fprintf(fp, "  %s: direct pass %s%% before %s, %s%% from then on\n", n,
			    rate(an_direct_pass_rate(&a->fixes[i].before), b6), ymd(a->fixes[i].changed, d1),
			    rate(an_direct_pass_rate(&a->fixes[i].after), b7));
			free(n);
		}
	}
	if (a->rdns_tempfail > 0)
		fprintf(fp, "\nnote: the reverse DNS of %u IPs could not be looked up now (temporary failure); "
		    "they are grouped without it this time\n", a->rdns_tempfail);
	return ferror(fp) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* kpis                                                                 */

/* day_policy - the policy of a day, "" without reports */
static char *
day_policy(const struct an_day *d)
{
	return d->p == NULL ? xstrdup("") : policy_str(d->p, d->pct, d->testing);
}

static json_t *
kpis_json(const struct analysis *a)
{
	json_t *o = head_json(a), *days = json_array();

	for (size_t i = 0; i < a->n_days; i++) {
		const struct an_day *d = &a->days[i];
		json_t *j = json_object(), *pol = json_object();

		json_object_set_new(j, "day", jdate(d->day));
		json_object_set_new(j, "reports", json_integer(d->reports));
		json_object_set_new(j, "counts", counts_json(&d->c));
		json_object_set_new(pol, "p", jstr(d->p));
		json_object_set_new(pol, "pct", d->pct >= 0 ? json_integer(d->pct) : json_null());
		json_object_set_new(pol, "testing", json_boolean(d->testing));
		json_object_set_new(j, "policy", d->p != NULL ? pol : (json_decref(pol), json_null()));
		json_array_append_new(days, j);
	}
	json_object_set_new(o, "days", days);
	return o;
}

int
present_kpis(const struct analysis *const *as, size_t n, enum present_format f, FILE *fp)
{
	char b1[32], r1[16], r2[16], r3[16], r4[16], r5[16], r6[16], d1[16], nr[16];
	size_t k, i;

	if (f == PRESENT_JSON) {
		json_t *arr;

		if (n == 1)
			return json_out(kpis_json(as[0]), fp);
		arr = json_array();
		for (k = 0; k < n; k++)
			json_array_append_new(arr, kpis_json(as[k]));
		return json_out(arr, fp);
	}
	if (f == PRESENT_CSV) {
		csv_line(fp, "ttttttttttttttttt", "domain", "day", "reports", "messages", "spf_dkim",
		    "spf_only", "dkim_only", "neither", "pass_rate", "spf_rate", "dkim_rate",
		    "unknown_share", "forwarded_share", "direct_pass_rate", "p", "pct", "testing");
		for (k = 0; k < n; k++)
			for (i = 0; i < as[k]->n_days; i++) {
				const struct an_day *d = &as[k]->days[i];
				char v[10][24], pc[16];

				snprintf(v[0], 24, "%u", d->reports);
				snprintf(v[1], 24, "%llu", d->c.total);
				snprintf(v[2], 24, "%llu", d->c.n[AN_BOTH]);
				snprintf(v[3], 24, "%llu", d->c.n[AN_SPF_ONLY]);
				snprintf(v[4], 24, "%llu", d->c.n[AN_DKIM_ONLY]);
				snprintf(v[5], 24, "%llu", d->c.n[AN_NEITHER]);
				snprintf(v[6], 24, "%.2f", an_pass_rate(&d->c));
				snprintf(v[7], 24, "%.2f", an_spf_rate(&d->c));
				snprintf(v[8], 24, "%.2f", an_dkim_rate(&d->c));
				snprintf(v[9], 24, "%.2f", an_unknown_share(&d->c));
				snprintf(r1, sizeof(r1), "%.2f", an_forwarded_share(&d->c));
				snprintf(r2, sizeof(r2), "%.2f", an_direct_pass_rate(&d->c));
				if (d->pct >= 0)
					snprintf(pc, sizeof(pc), "%d", d->pct);
				else
					pc[0] = '\0';
				csv_line(fp, "ttnnnnnnnnnnnntnt", as[k]->domain, ymd(d->day, d1), v[0], v[1],
				    v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], r1, r2,
				    d->p != NULL ? d->p : "", pc, d->p == NULL ? "" : d->testing ? "y" : "n");
			}
		return ferror(fp) ? -1 : 0;
	}
	for (k = 0; k < n; k++) {
		const struct analysis *a = as[k];
		struct table t = { 10, "lrrrrrrrrl", NULL, 0 };

		if (k > 0)
			fputc('\n', fp);
		fprintf(fp, "%s: daily KPIs (UTC), %s messages in %u reports\n\n", a->domain,
		    num(a->total.total, b1), a->reports);
		table_row(&t, "day", "reports", "messages", "pass %", "spf %", "dkim %", "unknown %",
		    "forwarded %", "direct pass %", "policy");
		for (i = 0; i <= a->n_days; i++) {
			const struct an_counts *c = i < a->n_days ? &a->days[i].c : &a->total;
			char *pol = i < a->n_days ? day_policy(&a->days[i]) : xstrdup("");

			snprintf(nr, sizeof(nr), "%u", i < a->n_days ? a->days[i].reports : a->reports);
			table_row(&t, i < a->n_days ? ymd(a->days[i].day, d1) : "total", nr, num(c->total, b1),
			    rate(an_pass_rate(c), r1), rate(an_spf_rate(c), r2), rate(an_dkim_rate(c), r3),
			    rate(an_unknown_share(c), r4), rate(an_forwarded_share(c), r5),
			    rate(an_direct_pass_rate(c), r6), pol);
			free(pol);
		}
		table_print(&t, fp);
	}
	return ferror(fp) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* readiness                                                            */

/* hit_class - what a hit is, in a word */
static const char *
hit_class(const struct an_hit *h)
{
	if (h->known)
		return "KNOWN";
	if (h->unauthorized)
		return "unauthorized";
	if (h->forwarded)
		return "forwarded";
	return "unknown";
}

int
present_readiness(const struct analysis *a, const struct readiness *r, enum present_format f, FILE *fp)
{
	char b1[32], b2[32], b3[32], d1[16], d2[16], rr[16];
	char *pub = published(a);
	size_t i;

	if (f == PRESENT_JSON) {
		json_t *o = json_object(), *cur = json_object(), *nx = json_object(), *hits = json_array();

		json_object_set_new(o, "domain", jstr(a->domain));
		json_object_set_new(o, "until", jdate(a->until));
		json_object_set_new(o, "verdict", json_string(an_verdict_str(r->verdict)));
		json_object_set_new(o, "reason", jstr(r->reason));
		json_object_set_new(o, "published", json_string(pub));
		json_object_set_new(cur, "step", json_string(an_step_name(r->current)));
		json_object_set_new(cur, "record", json_string(an_step_record(r->current)));
		json_object_set_new(cur, "since", jdate(a->policy_since));
		json_object_set_new(o, "current", cur);
		json_object_set_new(nx, "step", json_string(an_step_name(r->next)));
		json_object_set_new(nx, "record", json_string(an_step_record(r->next)));
		json_object_set_new(o, "next", nx);
		json_object_set_new(o, "publish", jstr(r->record));
		json_object_set_new(o, "window_days", json_integer(r->window_days));
		json_object_set_new(o, "days_with_data", json_integer(r->days_with_data));
		json_object_set_new(o, "days_at_current", json_integer(r->days_at_current));
		json_object_set_new(o, "messages", jcount(r->messages));
		json_object_set_new(o, "direct", jcount(r->direct));
		json_object_set_new(o, "pass_rate", jrate(r->pass_rate));
		json_object_set_new(o, "threshold", jrate(r->threshold));
		for (i = 0; i < r->n_hits; i++) {
			const struct an_hit *h = &r->hits[i];
			json_t *j = source_ref_json(h->source);

			json_object_set_new(j, "messages", jcount(h->messages));
			json_object_set_new(j, "known_messages", jcount(h->known_messages));
			json_object_set_new(j, "forwarded_messages", jcount(h->forwarded_messages));
			json_object_set_new(j, "known", json_boolean(h->known));
			json_object_set_new(j, "unauthorized", json_boolean(h->unauthorized));
			json_object_set_new(j, "forwarded", json_boolean(h->forwarded));
			json_array_append_new(hits, j);
		}
		json_object_set_new(o, "hits", hits);
		free(pub);
		return json_out(o, fp);
	}
	if (f == PRESENT_CSV) {
		csv_line(fp, "ttttttttttttt", "domain", "verdict", "current", "next", "system", "key",
		    "classification", "label", "hit", "failing", "known_failing", "forwarded",
		    "published");
		for (i = 0; i < r->n_hits; i++) {
			const struct an_hit *h = &r->hits[i];
			char n1[24], n2[24], n3[24];

			snprintf(n1, sizeof(n1), "%llu", h->messages);
			snprintf(n2, sizeof(n2), "%llu", h->known_messages);
			snprintf(n3, sizeof(n3), "%llu", h->forwarded_messages);
			csv_line(fp, "ttttttttnnnnt", a->domain, an_verdict_str(r->verdict),
			    an_step_name(r->current), an_step_name(r->next), h->source->name, h->source->key,
			    classification(h->source), h->source->known != NULL ? h->source->known->label : "",
			    hit_class(h), n1, n2, n3, pub);
		}
		free(pub);
		return ferror(fp) ? -1 : 0;
	}

	fprintf(fp, "%s: %s\n\n", a->domain, an_verdict_str(r->verdict));
	wrap(fp, "  ", r->reason);
	fprintf(fp, "\n  published:  %s", pub);
	if (a->policy_since != 0)
		fprintf(fp, " (in the reports since %s, %u days)", ymd(a->policy_since, d1), r->days_at_current);
	fprintf(fp, "\n  step:       %s", an_step_name(r->current));
	if (r->verdict != READY_DONE)
		fprintf(fp, " -> %s (%s)", an_step_name(r->next), an_step_record(r->next));
	fputc('\n', fp);
	if (r->verdict == READY_GO && r->record != NULL) {
		fprintf(fp, "\n  publish:    _dmarc.%s. TXT \"%s; ...\"\n", a->domain, r->record);
		fprintf(fp, "              keep your rua= and every other tag of the record as it is\n");
	}
	fprintf(fp, "\nevidence, the last %u days (%s to %s):\n", r->window_days,
	    ymd(a->until - (time_t)r->window_days * 86400, d1), ymd(a->until - 86400, d2));
	fprintf(fp, "  days with reports:   %u of %u\n", r->days_with_data, r->window_days);
	fprintf(fp, "  messages:            %s (direct %s)\n", num(r->messages, b1), num(r->direct, b2));
	fprintf(fp, "  direct pass rate:    %s%% (threshold %.4g%%)\n", rate(r->pass_rate, rr), r->threshold);
	fprintf(fp, "  at the current step: %u days\n", r->days_at_current);
	if (r->n_hits > 0) {
		struct table t = { 5, "llrrl", NULL, 0 };

		fprintf(fp, "\nfailing mail in the window: what %s %s\n\n", an_step_record(r->next),
		    r->verdict == READY_DONE ? "rejects" : r->next == STEP_REJECT ? "would reject" :
		    "would quarantine");
		table_row(&t, "system", "class", "failing", "forwarded", "what to do");
		for (i = 0; i < r->n_hits; i++) {
			const struct an_hit *h = &r->hits[i];
			char *kt = known_text(h->source);
			const char *todo = h->known ? "fix SPF/DKIM alignment: it is yours" :
			    h->unauthorized ? "nothing: meant to be stopped" :
			    h->forwarded ? "nothing to fix at your end (forwarding, lists)" :
			    "identify: KnownSource + fix, or UnauthorizedSource";
			char *sys = xasprintf("%s (%s)", h->source->name, kt);

			table_row(&t, sys, hit_class(h), num(h->messages, b1), num(h->forwarded_messages, b3), todo);
			free(kt);
			free(sys);
		}
		table_print(&t, fp);
	}
	free(pub);
	return ferror(fp) ? -1 : 0;
}
