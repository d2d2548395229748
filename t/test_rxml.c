/*
 * test_rxml.c - the aggregate-report reader (reports/rxml.c): every plain
 * and gzip sample of t/data/reports/samples/ against
 * t/data/reports/expected.tsv (zip archives and mail are read by
 * reports/rinput.c and asserted in t/test_rinput, from the same file),
 * the details of a few samples, the leniency rules, and hostile
 * documents built in memory: entity bombs, external entities and DTDs,
 * parameter entities, truncation, NUL bytes, deep nesting, huge text and
 * attributes, too many records, bad records among good ones.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "report.h"
#include "rxml.h"
#include "util.h"
#include "tap.h"

static char samples[4096];
static char fifo_path[4096];
static char tmpdir[] = "/tmp/test_rxml.XXXXXX";

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* slurp - a whole file into memory; NULL when it cannot be read */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0, size = 0, r;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (size - n < 65536) {
			size = size * 2 + 65536;
			data = xrealloc(data, size);
		}
		r = fread(data + n, 1, size - n, fp);
		n += r;
		if (r == 0)
			break;
	}
	fclose(fp);
	*len = n;
	return data;
}

/* gunzip - inflate a gzip file in memory, at most RXML_MAX_BYTES */
static char *
gunzip(const char *gz, size_t gzlen, size_t *len)
{
	z_stream z;
	size_t size = 65536;
	char *out = xmalloc(size);
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)gzlen;
	do {
		if (z.total_out == size) {
			if (size >= RXML_MAX_BYTES)
				break;
			size *= 2;
			out = xrealloc(out, size);
		}
		z.next_out = (Bytef *)out + z.total_out;
		z.avail_out = (uInt)(size - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
	} while (rc == Z_OK);
	*len = z.total_out;
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

/* sum - the sum of the counts of a report's rows */
static unsigned long long
sum(const struct report *r)
{
	unsigned long long s = 0;
	size_t i;

	for (i = 0; i < r->n_rows; i++)
		s += r->rows[i].count;
	return s;
}

/* parse - rxml_parse of a C string; *r NULL when refused */
static int
parse(const char *xml, struct report **r, struct rxml_notes *notes, char *err, size_t errlen)
{
	return rxml_parse(xml, strlen(xml), r, notes, err, errlen);
}

/* has - s contains sub (NULL-safe) */
static bool
has(const char *s, const char *sub)
{
	return s != NULL && sub != NULL && strstr(s, sub) != NULL;
}

/* refused - assert a refusal whose message contains want */
static void
refused(const char *name, const char *xml, size_t len, const char *want)
{
	struct report *r = (struct report *)1;
	char err[512];
	int rc = rxml_parse(xml, len, &r, NULL, err, sizeof(err));

	if (!tap_ok(rc == -1 && r == NULL && has(err, want), "%s: refused (\"%s\")", name, want))
		tap_diag("  rc %d, report %p, err \"%s\"", rc, (void *)r, err);
	if (rc == 0)
		rxml_free(r);
}

/* A small well-formed report; %s slots: metadata extra, policy extra, records. */
#define DOC_HEAD \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n" \
	" <report_metadata><org_name>example.net</org_name><email>dmarc@example.net</email>" \
	"<report_id>r-1</report_id><date_range><begin>1700000000</begin>" \
	"<end>1700086399</end></date_range></report_metadata>\n" \
	" <policy_published><domain>example.com</domain><p>reject</p></policy_published>\n"
#define DOC_TAIL "</feedback>\n"
#define REC(ip, count) \
	"<record><row><source_ip>" ip "</source_ip><count>" count "</count>" \
	"<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>" \
	"</policy_evaluated></row><identifiers><header_from>example.com</header_from>" \
	"</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result>" \
	"</spf></auth_results></record>\n"

/* ------------------------------------------------------------------ */
/* the real samples                                                    */

/* split_tab - split a line in place at tabs into at most max fields */
static int
split_tab(char *line, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, '\t')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

/* dash - "-" means empty */
static const char *
dash(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

/* test_samples - every line of expected.tsv that belongs to this test */
static void
test_samples(const char *tsv)
{
	FILE *fp = fopen(tsv, "r");
	char line[2048], path[8192], err[512], *f[11];
	unsigned mine = 0, theirs = 0;

	if (!tap_ok(fp != NULL, "expected.tsv opens: %s", tsv))
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct rxml_notes notes;
		struct report *r = NULL;
		char *data, *xml;
		size_t len, xlen;
		int rc;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (split_tab(line, f, 11) != 11) {
			tap_ok(0, "expected.tsv: a line with 11 fields: %s", line);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", samples, f[0]);
		if (strcmp(f[1], "test_rxml") != 0) {
			/* zip and mail: reports/rinput.c, asserted in t/test_rinput */
			tap_diag("%s: handled in %s", f[0], f[1]);
			theirs++;
			continue;
		}
		mine++;
		data = slurp(path, &len);
		if (!tap_ok(data != NULL, "%s: readable", f[0]))
			continue;
		xml = data;
		xlen = len;
		if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
			xml = gunzip(data, len, &xlen);
			if (!tap_ok(xml != NULL, "%s: gzip inflates", f[0])) {
				free(data);
				continue;
			}
		}
		rc = rxml_parse(xml, xlen, &r, &notes, err, sizeof(err));
		if (strcmp(f[2], "refused") == 0) {
			if (!tap_ok(rc == -1 && r == NULL && has(err, f[10]),
			    "%s: refused with \"%s\"", f[0], f[10]))
				tap_diag("  rc %d, err \"%s\"", rc, err);
		} else if (!tap_ok(rc == 0 && r != NULL, "%s: read", f[0])) {
			tap_diag("  err \"%s\"", err);
		} else {
			tap_is_str(r->org_name, f[3], "%s: org_name", f[0]);
			tap_is_str(r->report_id, f[4], "%s: report_id", f[0]);
			tap_is_str(r->domain, f[5], "%s: policy_published/domain", f[0]);
			tap_is_int(r->n_rows, strtoul(f[6], NULL, 10), "%s: records", f[0]);
			tap_is_int(sum(r), strtoull(f[7], NULL, 10), "%s: sum of counts", f[0]);
			tap_is_int(notes.skipped_records, strtoul(f[8], NULL, 10),
			    "%s: records skipped", f[0]);
			tap_is_int(r->format, strcmp(f[9], "9990") == 0 ? REPORT_RFC9990 :
			    REPORT_RFC7489, "%s: format %s", f[0], f[9]);
			if (dash(f[10]) != NULL && !tap_ok(has(notes.first, f[10]),
			    "%s: note \"%s\"", f[0], f[10]))
				tap_diag("  first note: \"%s\"", notes.first);
		}
		rxml_free(r);
		if (xml != data)
			free(xml);
		free(data);
	}
	fclose(fp);
	tap_ok(mine + theirs == 40 && mine == 30, "expected.tsv lists all 40 samples "
	    "(%u here, %u for test_rinput)", mine, theirs);
}

/* test_sample_details - values beyond the expected.tsv columns */
static void
test_sample_details(void)
{
	struct rxml_notes notes;
	struct report *r;
	char path[8192], err[512], *data;
	size_t len;

#define LOAD(rel) do { \
	snprintf(path, sizeof(path), "%s/%s", samples, rel); \
	data = slurp(path, &len); \
	r = NULL; \
	if (data == NULL || rxml_parse(data, len, &r, &notes, err, sizeof(err)) < 0) \
		tap_diag("%s: %s", rel, data == NULL ? "unreadable" : err); \
	free(data); \
} while (0)

	/* RFC 9990 sample: generator, np, testing, discovery_method, disposition pass */
	LOAD("parsedmarc/rfc9990-sample.xml");
	if (tap_ok(r != NULL && r->n_rows == 1, "rfc9990-sample: read")) {
		tap_is_str(r->generator, "Example DMARC Aggregate Reporter v1.2",
		    "rfc9990-sample: generator (RFC 9990 §3.1.1.3)");
		tap_is_str(r->np, "none", "rfc9990-sample: np");
		tap_is_str(r->testing, "n", "rfc9990-sample: testing");
		tap_is_str(r->discovery_method, "treewalk", "rfc9990-sample: discovery_method");
		tap_is_int(r->begin, 302832000, "rfc9990-sample: begin");
		tap_is_int(r->end, 302918399, "rfc9990-sample: end");
		tap_is_int(r->pct, -1, "rfc9990-sample: no pct");
		tap_is_str(r->adkim, "r", "rfc9990-sample: adkim defaults to r (RFC 7489 §6.3)");
		tap_is_str(r->rows[0].disposition, "pass", "rfc9990-sample: disposition pass");
		tap_is_str(r->rows[0].envelope_from, "example.com", "rfc9990-sample: envelope_from");
		tap_ok(r->rows[0].n_dkim == 1 && has(r->rows[0].dkim_results[0].selector, "abc123"),
		    "rfc9990-sample: DKIM selector after result is read");
	}
	rxml_free(r);

	/* Fastmail: two DKIM results, reasons with comments */
	LOAD("stalwart-mail-auth/003.xml");
	if (tap_ok(r != NULL && r->n_rows == 4, "003: read")) {
		tap_is_int(r->rows[3].n_dkim, 2, "003: record 4 has two DKIM results");
		tap_is_str(r->rows[3].dkim_results[1].domain, "amazonses.com", "003: 2nd DKIM domain");
		tap_is_str(r->rows[3].dkim_results[1].selector, "6gbrjpgwjskckoa6a5zn6fwqkn67xbtw",
		    "003: 2nd DKIM selector");
		tap_ok(r->rows[0].n_reasons == 1 &&
		    strcmp(r->rows[0].reasons[0].type, "trusted_forwarder") == 0 &&
		    has(r->rows[0].reasons[0].comment, "local white list"),
		    "003: reason trusted_forwarder with its comment");
		tap_is_str(r->rows[0].spf_results[0].scope, "mfrom", "003: SPF scope");
		tap_is_str(r->fo, "0", "003: fo");
		tap_is_int(r->pct, 100, "003: pct");
	}
	rxml_free(r);

	/* legacy: sampled_out, SPF helo, 100..200 is a sane date range */
	LOAD("stalwart-mail-auth/005.xml");
	if (tap_ok(r != NULL && r->n_rows == 1, "005: read")) {
		tap_is_str(r->rows[0].reasons[0].type, "sampled_out", "005: reason sampled_out (RFC 7489)");
		tap_is_str(r->rows[0].spf_results[0].scope, "helo", "005: SPF scope helo");
		tap_ok(r->begin == 100 && r->end == 200, "005: date range 100..200");
		tap_ok(r->rows[0].envelope_from == NULL, "005: no envelope_from is NULL");
	}
	rxml_free(r);

	LOAD("parsedmarc/invalid__report_with_upper_cased_pass.xml");
	if (tap_ok(r != NULL && r->n_rows == 1, "upper-cased pass: read")) {
		tap_is_str(r->rows[0].disposition, "none", "upper-cased: None is none");
		tap_is_str(r->rows[0].dkim, "pass", "upper-cased: Pass is pass");
		tap_is_str(r->rows[0].dkim_results[0].result, "pass", "upper-cased: DKIM result");
		tap_is_str(r->org_name, "example.com", "upper-cased: org_name trimmed");
		tap_ok(notes.fixed >= 4, "upper-cased: fixes counted (%u)", notes.fixed);
	}
	rxml_free(r);

	LOAD("parsedmarc/empty_reason.xml");
	if (tap_ok(r != NULL && r->n_rows == 1, "empty_reason: read")) {
		tap_is_int(r->rows[0].n_reasons, 0, "empty_reason: an empty reason is dropped");
		tap_is_str(r->rows[0].envelope_to, "example.net", "empty_reason: envelope_to");
		tap_is_str(r->rows[0].dkim_results[0].human_result, "2048-bit key",
		    "empty_reason: human_result");
	}
	rxml_free(r);

	LOAD("parsedmarc/usssa.com!example.com!1538784000!1538870399.xml");
	if (tap_ok(r != NULL && r->n_rows == 2, "usssa: read")) {
		tap_ok(r->rows[0].envelope_from == NULL && r->rows[0].n_dkim == 0 &&
		    r->rows[0].n_spf == 0, "usssa: empty envelope_from and auth_results");
	}
	rxml_free(r);

	LOAD("opendmarc/163.com!example.com!1337270400!1337356799.20120518163.xml");
	if (tap_ok(r != NULL, "163.com: read"))
		tap_ok(r->begin == 1337270400 && r->end == 1337356799,
		    "163.com: \"1337270400.0\" is 1337270400");
	rxml_free(r);
#undef LOAD
}

/* ------------------------------------------------------------------ */
/* leniency                                                            */

static void
test_lenient(void)
{
	struct rxml_notes notes;
	struct report *r;
	char err[512];
	struct buf b;
	int i;

	/* upper case and white space everywhere */
	parse("<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
	    "<org_name>  Example Org\n</org_name><email> x@example.org </email>"
	    "<report_id>\n\tid-7 </report_id><date_range><begin>\n  1700000000\n</begin>"
	    "<end> 1700086399 </end></date_range></report_metadata>"
	    "<policy_published><domain> Example.COM. </domain><adkim>S</adkim>"
	    "<p> REJECT </p><sp>Quarantine</sp><pct> 50 </pct></policy_published>"
	    "<record><row><source_ip> 2001:DB8:0:0::1 </source_ip><count> 42 </count>"
	    "<policy_evaluated><disposition>REJECT</disposition><dkim>FAIL</dkim>"
	    "<spf>Pass</spf><reason>Forwarded</reason></policy_evaluated></row>"
	    "<identifiers><header_from> MAIL.Example.COM. </header_from></identifiers>"
	    "<auth_results><dkim><domain>Example.COM</domain><result> PermError </result>"
	    "</dkim><spf><domain>example.com</domain><scope>MFROM</scope><result>SoftFail"
	    "</result></spf></auth_results></record></feedback>", &r, &notes, err, sizeof(err));
	if (tap_ok(r != NULL, "padded, upper-case report: read (%s)", err)) {
		tap_is_str(r->org_name, "Example Org", "org_name trimmed, case kept");
		tap_is_str(r->report_id, "id-7", "report_id trimmed");
		tap_is_int(r->begin, 1700000000, "begin with newlines around it");
		tap_is_str(r->domain, "example.com", "domain lower-cased, trailing dot dropped");
		tap_is_str(r->adkim, "s", "adkim S is s");
		tap_is_str(r->aspf, "r", "aspf defaults to r");
		tap_is_str(r->p, "reject", "p REJECT is reject");
		tap_is_str(r->sp, "quarantine", "sp Quarantine is quarantine");
		tap_is_int(r->pct, 50, "pct 50");
		tap_is_str(r->rows[0].source_ip, "2001:db8::1", "IPv6 source_ip in inet_ntop form");
		tap_is_int(r->rows[0].count, 42, "count with spaces");
		tap_is_str(r->rows[0].disposition, "reject", "disposition REJECT");
		tap_is_str(r->rows[0].dkim, "fail", "policy_evaluated dkim FAIL");
		tap_ok(r->rows[0].n_reasons == 1 && strcmp(r->rows[0].reasons[0].type,
		    "forwarded") == 0 && r->rows[0].reasons[0].comment == NULL,
		    "<reason>Forwarded</reason>: the older shape");
		tap_is_str(r->rows[0].header_from, "mail.example.com",
		    "header_from lower-cased, trailing dot dropped");
		tap_is_str(r->rows[0].dkim_results[0].result, "permerror", "DKIM PermError");
		tap_is_str(r->rows[0].spf_results[0].scope, "mfrom", "SPF scope MFROM");
		tap_is_str(r->rows[0].spf_results[0].result, "softfail", "SPF SoftFail");
		tap_is_int(r->format, REPORT_RFC7489, "no namespace: RFC 7489");
		tap_ok(notes.fixed >= 10 && notes.first[0] != '\0',
		    "normalisations counted (%u) and the first said: %s", notes.fixed, notes.first);
	}
	rxml_free(r);

	/* namespaces: RFC 9990 with a prefix; an undeclared prefix */
	parse("<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\"><d:report_metadata>"
	    "<d:org_name>o</d:org_name><d:report_id>i</d:report_id><d:date_range>"
	    "<d:begin>1</d:begin><d:end>2</d:end></d:date_range></d:report_metadata>"
	    "<d:policy_published><d:domain>example.com</d:domain></d:policy_published>"
	    "</d:feedback>", &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->format == REPORT_RFC9990 && r->n_rows == 0,
	    "prefixed RFC 9990 namespace: RFC 9990, zero records accepted (%s)", err);
	rxml_free(r);
	parse("<ns1:feedback><report_metadata><org_name>o</org_name><report_id>i</report_id>"
	    "<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
	    "<policy_published><domain>example.com</domain></policy_published>" REC("192.0.2.1", "3")
	    "</ns1:feedback>", &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->n_rows == 1 && has(notes.first, "namespace"),
	    "undeclared prefix ns1: read, noted (%s%s)", err, notes.first);
	rxml_free(r);

	/* a bad record among good ones: skipped and counted */
	parse(DOC_HEAD REC("192.0.2.1", "3") REC("999.1.1.1", "1000") REC("2001:db8::2", "4")
	    REC("192.0.2.4", "-5") REC("192.0.2.5", "1e3") REC("192.0.2.6", "")
	    REC("192.0.2.7", "99999999999999999999999") DOC_TAIL, &r, &notes, err, sizeof(err));
	if (tap_ok(r != NULL, "report with bad records: read (%s)", err)) {
		tap_is_int(r->n_rows, 2, "two good records kept");
		tap_is_int(sum(r), 7, "their counts summed");
		tap_is_int(notes.skipped_records, 5, "five records skipped");
		tap_ok(has(notes.first, "999.1.1.1"), "the first note names 999.1.1.1: %s",
		    notes.first);
		tap_ok(has(notes.first_skipped, "record 2 skipped: source_ip \"999.1.1.1\""),
		    "first_skipped says why: %s", notes.first_skipped);
	}
	rxml_free(r);

	/* zero records */
	parse(DOC_HEAD DOC_TAIL, &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->n_rows == 0 && r->rows == NULL, "a report without records is accepted");
	rxml_free(r);

	/* trailing junk after </feedback>, a BOM, white space before the declaration */
	parse("\xef\xbb\xbf\n  " DOC_HEAD REC("192.0.2.1", "1") DOC_TAIL "<junk>", &r, &notes, err,
	    sizeof(err));
	tap_ok(r != NULL && r->n_rows == 1 && notes.fixed >= 2,
	    "BOM, leading white space and trailing junk: read, noted (%s%s)", err, notes.first);
	rxml_free(r);

	/* more than RXML_MAX_RESULTS DKIM results: the first ones kept */
	buf_init(&b, 0);
	buf_puts(&b, DOC_HEAD "<record><row><source_ip>192.0.2.1</source_ip><count>1</count>"
	    "</row><auth_results>");
	for (i = 0; i < RXML_MAX_RESULTS + 20; i++)
		buf_printf(&b, "<dkim><domain>d%d.example</domain><result>pass</result></dkim>", i);
	buf_puts(&b, "</auth_results></record>" DOC_TAIL);
	rxml_parse(b.data, b.len, &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->rows[0].n_dkim == RXML_MAX_RESULTS &&
	    strcmp(r->rows[0].dkim_results[0].domain, "d0.example") == 0 && notes.dropped == 20,
	    "%d DKIM results: %d kept, 20 dropped and counted", RXML_MAX_RESULTS + 20,
	    RXML_MAX_RESULTS);
	rxml_free(r);
	buf_free(&b);

	/* repeated single elements: the first wins; RFC 7489 errors are joined */
	parse("<feedback><report_metadata><org_name>first</org_name><org_name>second</org_name>"
	    "<report_id>i</report_id><error>e1</error><error>e2</error><date_range><begin>1</begin>"
	    "<end>2</end></date_range></report_metadata><policy_published><domain>x.example"
	    "</domain></policy_published></feedback>", &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && strcmp(r->org_name, "first") == 0 && strcmp(r->error, "e1; e2") == 0,
	    "a second org_name is ignored, errors are joined");
	rxml_free(r);

	/* 10000 blank lines between elements are indentation, not text */
	buf_init(&b, 0);
	buf_puts(&b, DOC_HEAD "<record>");
	for (i = 0; i < 10000; i++)
		buf_puts(&b, "\n");
	buf_puts(&b, "<row><source_ip>192.0.2.1</source_ip><count>1</count></row></record>" DOC_TAIL);
	rxml_parse(b.data, b.len, &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->n_rows == 1, "10000 blank lines inside <record>: read (%s)", err);
	rxml_free(r);
	buf_free(&b);

	/* notes may be NULL */
	tap_ok(rxml_parse(DOC_HEAD DOC_TAIL, strlen(DOC_HEAD DOC_TAIL), &r, NULL, err,
	    sizeof(err)) == 0, "notes may be NULL");
	rxml_free(r);
}

/* test_required - what identifies a report must be there */
static void
test_required(void)
{
	static const struct {
		const char *name, *xml, *want;
	} t[] = {
		{ "no report_id", "<feedback><report_metadata><org_name>o</org_name><date_range>"
		    "<begin>1</begin><end>2</end></date_range></report_metadata><policy_published>"
		    "<domain>d</domain></policy_published></feedback>", "report_id is missing" },
		{ "no org_name and no email", "<feedback><report_metadata><org_name> </org_name>"
		    "<report_id>i</report_id><date_range><begin>1</begin><end>2</end></date_range>"
		    "</report_metadata><policy_published><domain>d</domain></policy_published>"
		    "</feedback>", "org_name is missing" },
		{ "no domain", "<feedback><report_metadata><org_name>o</org_name><report_id>i"
		    "</report_id><date_range><begin>1</begin><end>2</end></date_range>"
		    "</report_metadata></feedback>", "policy_published/domain is missing" },
		{ "no end", "<feedback><report_metadata><org_name>o</org_name><report_id>i"
		    "</report_id><date_range><begin>1</begin></date_range></report_metadata>"
		    "<policy_published><domain>d</domain></policy_published></feedback>",
		    "date_range/end is missing" },
		{ "end before begin", "<feedback><report_metadata><org_name>o</org_name><report_id>i"
		    "</report_id><date_range><begin>20</begin><end>10</end></date_range>"
		    "</report_metadata><policy_published><domain>d</domain></policy_published>"
		    "</feedback>", "ends (10) before it begins (20)" },
		{ "begin not a number", "<feedback><report_metadata><org_name>o</org_name>"
		    "<report_id>i</report_id><date_range><begin>yesterday</begin><end>10</end>"
		    "</date_range></report_metadata></feedback>", "begin \"yesterday\" is not a time" },
		{ "begin negative", "<feedback><report_metadata><org_name>o</org_name>"
		    "<report_id>i</report_id><date_range><begin>-1</begin><end>10</end>"
		    "</date_range></report_metadata></feedback>", "begin \"-1\" is not a time" },
		{ "end after 9999", "<feedback><report_metadata><org_name>o</org_name>"
		    "<report_id>i</report_id><date_range><begin>1</begin><end>253402300800</end>"
		    "</date_range></report_metadata></feedback>", "end \"253402300800\" is not a time" },
		{ "not a report", "<html><body>hello</body></html>", "no <feedback> element" },
		{ "only white space", " \n\t ", "empty document" },
		{ "not XML", "this is not XML", "not well-formed XML" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		refused(t[i].name, t[i].xml, strlen(t[i].xml), t[i].want);
	refused("zero bytes", "", 0, "empty document");
}

/* ------------------------------------------------------------------ */
/* hostile documents                                                   */

/* on_alarm - a read of the FIFO would block forever: fail loudly instead */
static void
on_alarm(int sig)
{
	static const char msg[] = "not ok - the parser blocked: it opened the FIFO "
	    "an external entity names\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static void
test_entities(void)
{
	char *xml;

	/*
	 * The external entities name a FIFO no one writes to: opening it for
	 * reading would block, and the alarm turns that into a failure, so a
	 * pass proves the file was never opened (and /etc/passwd never read).
	 */
	signal(SIGALRM, on_alarm);
	alarm(60);
	xml = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n" DOC_HEAD "<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>"
	    "<identifiers><header_from>&lol9;</header_from></identifiers></record>" DOC_TAIL);
	refused("billion laughs (whole report)", xml, strlen(xml), "refused: the document has a DOCTYPE");
	free(xml);

	xml = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [ <!ENTITY xxe SYSTEM "
	    "\"file:///etc/passwd\"> ]>\n<feedback><report_metadata><org_name>&xxe;</org_name>"
	    "</report_metadata></feedback>");
	refused("external entity file:///etc/passwd", xml, strlen(xml), "DOCTYPE");
	free(xml);
	xml = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [ <!ENTITY xxe SYSTEM "
	    "\"file://%s\"> ]>\n" DOC_HEAD "<record><row><source_ip>192.0.2.1</source_ip>"
	    "<count>1</count></row><identifiers><header_from>&xxe;</header_from></identifiers>"
	    "</record>" DOC_TAIL, fifo_path);
	refused("external entity naming a FIFO (never opened)", xml, strlen(xml), "DOCTYPE");
	free(xml);
	xml = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback SYSTEM \"file://%s\">\n"
	    DOC_HEAD DOC_TAIL, fifo_path);
	refused("external DTD (never opened)", xml, strlen(xml), "DOCTYPE");
	free(xml);
	xml = xasprintf("<!DOCTYPE feedback PUBLIC \"-//x//y\" \"http://127.0.0.1:9/r.dtd\">"
	    DOC_HEAD DOC_TAIL);
	refused("external DTD over http", xml, strlen(xml), "DOCTYPE");
	free(xml);
	xml = xasprintf("<?xml version=\"1.0\"?>\n<!DOCTYPE feedback [ <!ENTITY %% pe SYSTEM "
	    "\"file://%s\"> %%pe; <!ENTITY %% p2 \"<!ENTITY leak SYSTEM 'file:///etc/passwd'>\"> "
	    "%%p2; ]>\n" DOC_HEAD DOC_TAIL, fifo_path);
	refused("parameter entities", xml, strlen(xml), "DOCTYPE");
	free(xml);
	alarm(0);
	signal(SIGALRM, SIG_DFL);

	/* without a DOCTYPE an entity reference is simply undeclared */
	xml = xasprintf("<feedback><report_metadata><org_name>&xxe;</org_name></report_metadata>"
	    "</feedback>");
	refused("undeclared entity", xml, strlen(xml), "not well-formed XML, line 1");
	free(xml);
	/* the five predefined entities and character references are fine */
	{
		struct report *r;
		char err[512];

		parse("<feedback><report_metadata><org_name>A&amp;B &lt;&#x43;&#68;&gt;</org_name>"
		    "<report_id><![CDATA[x<y]]></report_id><date_range><begin>1</begin><end>2</end>"
		    "</date_range></report_metadata><policy_published><domain>d</domain>"
		    "</policy_published></feedback>", &r, NULL, err, sizeof(err));
		tap_ok(r != NULL && strcmp(r->org_name, "A&B <CD>") == 0 &&
		    strcmp(r->report_id, "x<y") == 0,
		    "predefined entities, character references and CDATA are read");
		rxml_free(r);
	}
}

/* test_truncation - every 97th byte of a good sample: refused or read, never a crash */
static void
test_truncation(void)
{
	char path[8192], err[512], *data, *end;
	size_t len, k, cut = 0, wrong = 0, accepted = 0;
	struct report *r;

	snprintf(path, sizeof(path), "%s/stalwart-mail-auth/003.xml", samples);
	data = slurp(path, &len);
	if (!tap_ok(data != NULL, "003.xml readable for the truncation test"))
		return;
	end = strstr(data, "</feedback>");
	for (k = 97; k < len; k += 97) {
		/* a tight copy: ASan sees any read past the end */
		char *copy = xmalloc(k);
		bool whole = end != NULL && (size_t)(end - data) + strlen("</feedback>") <= k;
		int rc;

		memcpy(copy, data, k);
		r = NULL;
		rc = rxml_parse(copy, k, &r, NULL, err, sizeof(err));
		cut++;
		if (rc == 0)
			accepted++;
		if (whole ? (rc != 0 || r->n_rows != 4) : (rc != -1 || r != NULL || err[0] == '\0')) {
			wrong++;
			tap_diag("  cut at %zu: rc %d, err \"%s\"", k, rc, err);
		}
		rxml_free(r);
		free(copy);
	}
	tap_ok(cut > 30 && wrong == 0, "003.xml cut at every 97th byte (%zu cuts): each refused "
	    "with a reason (%zu accepted, all after </feedback>)", cut, accepted);
	/* and the exact message of one */
	refused("truncated inside a record", data, 2000, "not well-formed XML");
	free(data);
}

/* test_bounds - size, NUL, depth, text, attributes, records */
static void
test_bounds(void)
{
	struct rxml_notes notes;
	struct report *r;
	struct buf b;
	char err[512], *big;
	size_t n, i;

	/* NUL in the middle */
	{
		static const char doc[] = DOC_HEAD REC("192.0.2.1", "1") DOC_TAIL;
		char *copy = xmalloc(sizeof(doc));

		memcpy(copy, doc, sizeof(doc));
		copy[sizeof(doc) / 2] = '\0';
		refused("NUL byte in the middle", copy, sizeof(doc) - 1, "a NUL byte at offset");
		free(copy);
	}
	/* invalid UTF-8 */
	{
		static const char doc[] = DOC_HEAD "<record><row><source_ip>192.0.2.1"
		    "</source_ip><count>1</count></row><identifiers><header_from>bad\xff\xfe"
		    "</header_from></identifiers></record>" DOC_TAIL;

		refused("invalid UTF-8 in a value", doc, sizeof(doc) - 1,
		    "invalid character or encoding");
	}

	/* 5000-deep nesting */
	buf_init(&b, 0);
	buf_puts(&b, "<feedback>");
	for (i = 0; i < 5000; i++)
		buf_puts(&b, "<a>");
	for (i = 0; i < 5000; i++)
		buf_puts(&b, "</a>");
	buf_puts(&b, "</feedback>");
	refused("5000-deep nesting", b.data, b.len, "nested deeper than 16");
	buf_free(&b);

	/* 100 MB text node: over RXML_MAX_BYTES before libxml2 sees a byte */
	n = 100u << 20;
	big = xmalloc(n);
	memcpy(big, "<feedback><report_metadata><org_name>", 37);
	memset(big + 37, 'A', n - 37 - 40);
	memcpy(big + n - 40, "</org_name></report_metadata></feedback>", 40);
	refused("100 MB text node", big, n, "larger than 67108864 bytes");
	/* the same shape at 60 MB (under the byte bound): the text bound */
	n = 60u << 20;
	memcpy(big + n - 40, "</org_name></report_metadata></feedback>", 40);
	refused("60 MB text node", big, n, "text of <org_name> is longer than 4096 bytes");
	/* 10 MB attribute (libxml2's own AttValue limit or ours) */
	n = 10u << 20;
	memcpy(big, "<feedback a=\"", 13);
	memset(big + 13, 'x', n - 13 - 14);
	memcpy(big + n - 14, "\"></feedback>", 13);
	big[n - 1] = '\n';
	{
		int rc;

		r = NULL;
		rc = rxml_parse(big, n, &r, NULL, err, sizeof(err));
		tap_ok(rc == -1 && r == NULL && has(err, "attribute value longer than 1024"),
		    "10 MB attribute: refused (%s)", err);
	}
	free(big);
	/* a short text over the text bound, an attribute over ours */
	buf_init(&b, 0);
	buf_puts(&b, DOC_HEAD "<record><row><source_ip>192.0.2.1</source_ip><count>1</count>"
	    "</row><auth_results><dkim><domain>d</domain><human_result>");
	for (i = 0; i < RXML_MAX_TEXT + 1; i++)
		buf_putc(&b, 'h');
	buf_puts(&b, "</human_result></dkim></auth_results></record>" DOC_TAIL);
	refused("4097-byte human_result", b.data, b.len, "text of <human_result> is longer than 4096");
	buf_reset(&b);
	buf_puts(&b, "<feedback x=\"");
	for (i = 0; i < RXML_MAX_ATTR + 1; i++)
		buf_putc(&b, 'v');
	buf_puts(&b, "\">" DOC_TAIL);
	refused("1025-byte attribute", b.data, b.len, "attribute value longer than 1024");
	/* exactly the bound, with quotes of the other kind inside: passes it */
	buf_reset(&b);
	buf_puts(&b, "<feedback x='");
	for (i = 0; i < RXML_MAX_ATTR; i++)
		buf_putc(&b, i % 2 ? '"' : 'v');
	buf_puts(&b, "'>" DOC_TAIL);
	refused("1024-byte attribute with quotes inside: past the bound, then no org_name",
	    b.data, b.len, "org_name is missing");
	buf_reset(&b);
	buf_puts(&b, "<feedback");
	for (i = 0; i < RXML_MAX_ATTRS + 1; i++)
		buf_printf(&b, " a%zu=\"\"", i);
	buf_puts(&b, ">" DOC_TAIL);
	refused("257 attributes", b.data, b.len, "more than 256 attributes");
	buf_free(&b);

	/* 200000 records: read; 300000: refused */
	buf_init(&b, RXML_MAX_BYTES);
	buf_puts(&b, DOC_HEAD);
	for (i = 0; i < RXML_MAX_RECORDS; i++)
		buf_printf(&b, "<record><row><source_ip>10.%zu.%zu.%zu</source_ip><count>1</count>"
		    "</row></record>\n", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
	buf_puts(&b, DOC_TAIL);
	r = NULL;
	rxml_parse(b.data, b.len, &r, &notes, err, sizeof(err));
	tap_ok(r != NULL && r->n_rows == RXML_MAX_RECORDS && sum(r) == RXML_MAX_RECORDS,
	    "%d records (%zu bytes): read (%s)", RXML_MAX_RECORDS, b.len, err);
	rxml_free(r);
	b.len -= strlen(DOC_TAIL);
	for (; i < 300000; i++)
		buf_puts(&b, "<record><row><source_ip>10.0.0.1</source_ip><count>1</count></row>"
		    "</record>\n");
	buf_puts(&b, DOC_TAIL);
	tap_ok(!b.truncated, "300000 records fit in %zu bytes", b.len);
	refused("300000 records", b.data, b.len, "more than 200000 records");
	buf_free(&b);

	/* too many elements: under the byte bound only with empty unknown ones */
	{
		size_t want = RXML_MAX_ELEMENTS + 1;

		n = 10 + want * 4 + 11;
		big = xmalloc(n);
		memcpy(big, "<feedback>", 10);
		for (i = 0; i < want; i++)
			memcpy(big + 10 + i * 4, "<a/>", 4);
		memcpy(big + 10 + want * 4, "</feedback>", 11);
		refused("4 Mi + 1 elements", big, n, "more than 4194304 elements");
		free(big);
	}
}

/* parse_loop - one thread: good and broken documents in turn, each outcome checked */
static void *
parse_loop(void *arg)
{
	static const char good[] = DOC_HEAD REC("192.0.2.1", "5") REC("192.0.2.2", "6") DOC_TAIL;
	static const char bad[] = DOC_HEAD "<record><row><source_ip>1</source_ip></row>";
	unsigned long wrong = 0;
	struct report *r;
	char err[512];
	int i;

	(void)arg;
	for (i = 0; i < 300; i++) {
		if (rxml_parse(good, sizeof(good) - 1, &r, NULL, err, sizeof(err)) != 0 ||
		    r->n_rows != 2 || sum(r) != 11)
			wrong++;
		rxml_free(r);
		if (rxml_parse(bad, sizeof(bad) - 1, &r, NULL, err, sizeof(err)) != -1 ||
		    !has(err, "not well-formed XML"))
			wrong++;
	}
	return (void *)wrong;
}

/* test_threads - parsers in four threads at once: per-context state only */
static void
test_threads(void)
{
	pthread_t t[4];
	unsigned long wrong = 0;
	void *w;
	int i, started = 0;

	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, parse_loop, NULL) == 0)
			started++;
	for (i = 0; i < started; i++) {
		pthread_join(t[i], &w);
		wrong += (unsigned long)w;
	}
	tap_ok(started == 4 && wrong == 0, "4 threads x 600 documents: every outcome right "
	    "(%lu wrong)", wrong);
}

/* test_quiet - libxml2 wrote nothing to stderr during all of the above */
static void
test_quiet(const char *errfile)
{
	struct stat st;
	int rc;

	fflush(stderr);
	memset(&st, 0, sizeof(st));
	rc = stat(errfile, &st);
	tap_ok(rc == 0 && st.st_size == 0, "libxml2 wrote nothing to stderr (%lld bytes)",
	    (long long)st.st_size);
}

int
main(void)
{
	const char *srcdir = getenv("top_srcdir");
	char tsv[8192], errfile[8192];
	int saved;

	snprintf(samples, sizeof(samples), "%s/t/data/reports/samples",
	    srcdir != NULL ? srcdir : ".");
	snprintf(tsv, sizeof(tsv), "%s/t/data/reports/expected.tsv", srcdir != NULL ? srcdir : ".");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(fifo_path, sizeof(fifo_path), "%s/never-written", tmpdir);
	if (mkfifo(fifo_path, 0600) < 0) {
		printf("Bail out! mkfifo: %s\n", strerror(errno));
		return 1;
	}
	/* stderr to a file: test_quiet asserts libxml2 printed nothing */
	snprintf(errfile, sizeof(errfile), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (saved < 0 || freopen(errfile, "w", stderr) == NULL) {
		printf("Bail out! cannot redirect stderr\n");
		return 1;
	}

	test_samples(tsv);
	test_sample_details();
	test_lenient();
	test_required();
	test_entities();
	test_truncation();
	test_bounds();
	test_threads();
	test_quiet(errfile);

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unlink(errfile);
	unlink(fifo_path);
	rmdir(tmpdir);
	return tap_done();
}
