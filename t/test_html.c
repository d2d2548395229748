/*
 * test_html.c - the HTML report (reports/html.c) of hand-built analyses:
 * the page is well-formed (it is polyglot markup, so libxml2's XML parser
 * checks it strictly), every hostile value is escaped, nothing external
 * is referenced, the charts have the marks the data calls for, and the
 * verdict is there.  t/reports_html.sh renders the same page in Chromium.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "buf.h"
#include "html.h"
#include "html_fixture.h"
#include "tap.h"

static int xml_errors;

/* count_errors - libxml2's structured error handler: count, and show */
static void
count_errors(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	xml_errors++;
	tap_diag("libxml2: line %d: %s", e->line, e->message != NULL ? e->message : "?");
}

struct page {
	struct buf		 out;
	int			 rc;
	char			 err[256];
	xmlDocPtr		 doc;
	xmlXPathContextPtr	 xp;
};

/* render - the page of f (with or without its verdict), parsed as XML */
static void
render(struct page *p, const struct fixture *f, bool with_verdict, size_t cap)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->out, cap);
	p->rc = html_report(&f->a, with_verdict ? &f->r : NULL, &p->out, p->err, sizeof(p->err));
	xml_errors = 0;
	if (p->rc != 0)
		return;
	/* no network, no DTD, no entity expansion: the page must stand alone */
	p->doc = xmlReadMemory(buf_str(&p->out), (int)p->out.len, "report.html", "UTF-8",
	    XML_PARSE_NONET);
	if (p->doc != NULL) {
		p->xp = xmlXPathNewContext(p->doc);
		xmlXPathRegisterNs(p->xp, BAD_CAST "h", BAD_CAST "http://www.w3.org/1999/xhtml");
		xmlXPathRegisterNs(p->xp, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
	}
}

/* page_free - the page and its parse */
static void
page_free(struct page *p)
{
	if (p->xp != NULL)
		xmlXPathFreeContext(p->xp);
	if (p->doc != NULL)
		xmlFreeDoc(p->doc);
	buf_free(&p->out);
}

/* xnum - an XPath expression's number value (-1 when it fails) */
static double
xnum(struct page *p, const char *fmt, ...)
{
	xmlXPathObjectPtr o;
	char expr[1024];
	va_list ap;
	double v;

	if (p->xp == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(expr, sizeof(expr), fmt, ap);
	va_end(ap);
	if ((o = xmlXPathEvalExpression(BAD_CAST expr, p->xp)) == NULL)
		return -1;
	v = xmlXPathCastToNumber(o);
	xmlXPathFreeObject(o);
	return v;
}

/* xstr - an XPath expression's string value (static; "" when it fails) */
static const char *
xstr(struct page *p, const char *expr)
{
	static char s[4096];
	xmlXPathObjectPtr o;
	xmlChar *v;

	s[0] = '\0';
	if (p->xp == NULL || (o = xmlXPathEvalExpression(BAD_CAST expr, p->xp)) == NULL)
		return s;
	if ((v = xmlXPathCastToString(o)) != NULL) {
		snprintf(s, sizeof(s), "%s", (const char *)v);
		xmlFree(v);
	}
	xmlXPathFreeObject(o);
	return s;
}

/* has - the raw page contains s */
static bool
has(const struct page *p, const char *s)
{
	return strstr(buf_str(&p->out), s) != NULL;
}

/* occurrences - how often s is in the raw page */
static size_t
occurrences(const struct page *p, const char *s)
{
	const char *q = buf_str(&p->out);
	size_t n = 0;

	while ((q = strstr(q, s)) != NULL) {
		n++;
		q += strlen(s);
	}
	return n;
}

/* grouped - v with "," between groups of three digits, written differently
 * from html.c on purpose (recursion), to check it */
static void
grouped(char *out, size_t len, unsigned long long v)
{
	char rest[32];

	if (v < 1000) {
		snprintf(out, len, "%llu", v);
		return;
	}
	grouped(rest, sizeof(rest), v / 1000);
	snprintf(out, len, "%s,%03llu", rest, v % 1000);
}

/* test_realistic - the page a domain owner would get */
static void
test_realistic(void)
{
	struct fixture *f = fixture_realistic();
	struct page p;
	char want[64];
	size_t i, segs = 0, known_hits = 0;
	int k;

	render(&p, f, true, 0);
	if (!tap_ok(p.rc == 0, "realistic: html_report succeeds"))
		tap_diag("  %s", p.err);
	tap_ok(strncmp(buf_str(&p.out), "<!DOCTYPE html>\n", 16) == 0, "starts with the HTML5 doctype");
	tap_ok(p.doc != NULL && xml_errors == 0, "well-formed XHTML for a strict XML parser (%d errors)",
	    xml_errors);
	tap_is_str(xstr(&p, "string(/h:html/@lang)"), "en", "<html lang=\"en\">");
	tap_is_int(xnum(&p, "count(/h:html/h:head/h:meta[@charset='utf-8'])"), 1, "<meta charset=\"utf-8\">");
	tap_is_str(xstr(&p, "string(/h:html/h:head/h:title)"), "DMARC report: example.com, 2026-03-01 to 2026-04-09",
	    "<title> names the domain and the window");
	tap_ok(strstr(buf_str(&p.out), "\r") == NULL, "no CR in the page");

	/* hostile values: only escaped in the markup, intact in the text */
	tap_ok(!has(&p, FIX_HOSTILE_NAME), "the <script> source name never appears raw");
	tap_ok(strcasestr(buf_str(&p.out), "<script") == NULL, "no <script> element at all");
	tap_ok(has(&p, "&lt;script&gt;alert(1)&lt;/script&gt;"), "the source name appears escaped");
	tap_ok(xnum(&p, "count(//h:td[. = '%s'])", FIX_HOSTILE_NAME) >= 2,
	    "the parsed page shows the source name as text (sources table, hits table)");
	tap_ok(xnum(&p, "count(//s:text[starts-with(., '%s')])", FIX_HOSTILE_NAME) == 1,
	    "and as a chart label");
	tap_ok(!has(&p, FIX_HOSTILE_REPORTER) && !has(&p, "Evil \"Corp"),
	    "the reporter with quotes and & never appears raw");
	tap_ok(has(&p, "Evil &quot;Corp&quot; &amp; Sons &lt;x&gt;"), "the reporter appears escaped");
	tap_ok(xnum(&p, "count(//h:p[contains(., '%s')])", FIX_HOSTILE_REPORTER) == 1,
	    "the reporter is in the header as text");
	tap_ok(!has(&p, "]]>"), "\"]]>\" never appears raw");
	tap_ok(has(&p, "Botnet ]]&gt; spoofing us"), "the label with ]]> appears escaped");
	tap_ok(xnum(&p, "count(//h:td[contains(., '%s')])", FIX_HOSTILE_LABEL) >= 2,
	    "the label is text in the tables");
	tap_ok(has(&p, "bad\xef\xbf\xbd\xef\xbf\xbdname.example"),
	    "bytes that are not UTF-8 or not XML characters become U+FFFD");

	/* self-contained */
	tap_is_int(xnum(&p, "count(//@href | //@src | //@*[local-name() = 'href'] | //@srcset)"), 0,
	    "no href, src or srcset attribute at all");
	tap_ok(!has(&p, "url(") && !has(&p, "@import") && !has(&p, "<link") && !has(&p, "<img") &&
	    !has(&p, "<iframe") && !has(&p, "<object") && !has(&p, "<embed"),
	    "no url(), @import, link, img, iframe, object or embed");
	tap_is_int(occurrences(&p, "http"), occurrences(&p, "xmlns=\"http://www.w3.org/"),
	    "\"http\" only in the XHTML and SVG namespace names");

	/* the charts */
	tap_is_int(xnum(&p, "count(//s:svg)"), 3, "three SVG charts");
	tap_is_int(xnum(&p, "count(//s:svg[@role = 'img'][s:title][@aria-labelledby = s:title/@id])"), 3,
	    "each is role=img with a <title> that labels it");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-passrate']//s:circle[@class = 'pt'])"), FIX_DAYS - 1,
	    "pass rate: one point per day with reports (%d)", FIX_DAYS - 1);
	tap_is_int(xnum(&p, "string-length(//s:path[@class = 'line']/@d) - "
	    "string-length(translate(//s:path[@class = 'line']/@d, 'M', ''))"), 2,
	    "pass rate: the line breaks at the day without reports");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-passrate']//s:line[@class = 'thr'])"), 1,
	    "pass rate: the readiness threshold as a line");
	tap_ok(xnum(&p, "count(//s:svg[@id = 'chart-passrate']//s:text[. = 'threshold 98.0%%'])") == 1,
	    "pass rate: the threshold is labelled");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-passrate']//s:line[@class = 'policy'])"),
	    FIX_POLICY_CHANGES, "pass rate: a line per policy change");
	tap_is_int(xnum(&p, "count(//s:text[@class = 'plabel'][starts-with(., 'p=quarantine pct=5 t=y from Mar 21')])"),
	    1, "pass rate: the change to pct=5 is labelled with its day");
	for (i = 0; i < f->a.n_sources; i++)
		for (k = 0; k < AN_AUTH_N; k++)
			if (f->a.sources[i].c.n[k] > 0)
				segs++;
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-sources']//s:rect[starts-with(@class, 'seg ')])"), segs,
	    "sources: one bar segment per source and status with messages (%zu)", segs);
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-sources']/s:g[@class = 'row'])"), FIX_SOURCES,
	    "sources: one row per source");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-fixes']//s:rect[@class = 'bar-before'])"), 1,
	    "before/after: one before bar");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-fixes']//s:rect[@class = 'bar-after'])"), 1,
	    "before/after: one after bar");
	tap_ok(xnum(&p, "count(//s:svg[@id = 'chart-fixes']//s:text[starts-with(., 'sendgrid.net changed on 2026-03-19')])")
	    == 1, "before/after: the system and the day it changed");
	tap_ok(xnum(&p, "//s:svg[@id = 'chart-fixes']//s:rect[@class = 'bar-before']/@width") <
	    xnum(&p, "//s:svg[@id = 'chart-fixes']//s:rect[@class = 'bar-after']/@width"),
	    "before/after: the after bar is the longer one");
	tap_is_int(xnum(&p, "count(//h:ul[@class = 'legend']/h:li[. = 'neither (DMARC fail)'])"), 2,
	    "the status colours have a legend with names (chart and table)");

	/* the verdict */
	tap_is_str(xstr(&p, "string(//h:section[@id = 'readiness']/@class)"), "verdict fix", "verdict box: FIX");
	tap_is_str(xstr(&p, "string(//h:section[@id = 'readiness']//h:span[@class = 'badge'])"), "FIX",
	    "verdict box: the word FIX");
	tap_ok(strstr(xstr(&p, "string(//h:div[@class = 'record'])"),
	    "_dmarc.example.com TXT \"v=DMARC1; p=quarantine; pct=50; t=y; …\"") != NULL,
	    "verdict box: the record of the next step");
	tap_ok(strstr(xstr(&p, "string(//h:p[@class = 'reason'])"), "Fix its DKIM signing first") != NULL,
	    "verdict box: the reason");
	tap_ok(strstr(xstr(&p, "string(//h:ul[@class = 'evidence'])"), "days with reports: 14 of 14") != NULL,
	    "verdict box: the evidence");
	tap_is_int(xnum(&p, "count(//h:table[@class = 'hits']/h:tbody/h:tr)"), f->r.n_hits,
	    "hits table: one row per hit (%zu)", f->r.n_hits);
	for (i = 0; i < f->r.n_hits; i++)
		known_hits += f->r.hits[i].known;
	tap_ok(known_hits > 0 && xnum(&p, "count(//h:table[@class = 'hits']//h:tr[@class = 'blocks']"
	    "[contains(., 'blocks this step')])") == (double)known_hits,
	    "hits table: the known source is flagged as blocking");

	/* numbers */
	tap_is_int(xnum(&p, "count(//h:div[@class = 'kpi'])"), 6, "six KPI tiles");
	grouped(want, sizeof(want), f->a.total.total);
	tap_ok(f->a.total.total >= 10000, "the fixture has tens of thousands of messages (%llu)", f->a.total.total);
	tap_is_str(xstr(&p, "string(//h:div[@class = 'kpi'][1]/h:div[@class = 'v'])"), want,
	    "messages with thousands separators");
	tap_is_int(xnum(&p, "count(//h:section[@id = 'sources']//h:tbody/h:tr)"), FIX_SOURCES,
	    "sources table: every source");
	tap_ok(strstr(xstr(&p, "string(//h:header)"), "5 reporters") != NULL, "header: the reporters count");
	page_free(&p);

	/* without a verdict: no box, no threshold, still well-formed */
	render(&p, f, false, 0);
	tap_ok(p.rc == 0 && p.doc != NULL && xml_errors == 0, "no readiness: well-formed");
	tap_is_int(xnum(&p, "count(//h:section[@id = 'readiness']) + count(//s:line[@class = 'thr'])"), 0,
	    "no readiness: no verdict box, no threshold line");
	page_free(&p);

	/* the cap on the output */
	render(&p, f, true, 4096);
	tap_is_int(p.rc, -1, "a page over the buffer's cap fails");
	tap_ok(strstr(p.err, "larger than 4096 bytes") != NULL, "with a message: %s", p.err);
	page_free(&p);
	fixture_free(f);
}

/* test_many - more sources than the chart shows: the rest is "others" */
static void
test_many(void)
{
	struct fixture *f = fixture_many(20);
	struct page p;

	render(&p, f, false, 0);
	tap_ok(p.rc == 0 && p.doc != NULL && xml_errors == 0, "20 sources: well-formed");
	tap_is_int(xnum(&p, "count(//s:svg[@id = 'chart-sources']/s:g[@class = 'row'])"), 16,
	    "20 sources: 15 rows and one for the others");
	tap_is_str(xstr(&p, "string(//s:svg[@id = 'chart-sources']/s:g[@class = 'row'][16]/s:text[1]/text())"),
	    "5 other systems", "20 sources: the last row says how many others");
	tap_is_int(xnum(&p, "count(//h:section[@id = 'sources']//h:tbody/h:tr)"), 20,
	    "20 sources: the table lists all of them");
	tap_ok(xnum(&p, "count(//h:section[@id = 'fixes']/h:p[starts-with(., 'No remediation')])") == 1 &&
	    xnum(&p, "count(//s:svg[@id = 'chart-fixes'])") == 0, "no fix: a sentence, no empty chart");
	page_free(&p);
	fixture_free(f);
}

/* test_empty - no report at all: a clear page, no empty charts */
static void
test_empty(void)
{
	struct fixture *f = fixture_empty();
	struct page p;

	render(&p, f, false, 0);
	tap_ok(p.rc == 0 && p.doc != NULL && xml_errors == 0, "empty: well-formed");
	tap_is_str(xstr(&p, "string(//h:section[@id = 'empty']/h:h2)"),
	    "No reports received for example.org in this window", "empty: says so");
	tap_is_int(xnum(&p, "count(//s:svg) + count(//h:table) + count(//h:div[@class = 'kpis'])"), 0,
	    "empty: no chart, no table, no KPI");
	tap_ok(strstr(xstr(&p, "string(//h:section[@id = 'empty'])"), "1 Mar 2026 and 9 Apr 2026") != NULL,
	    "empty: names the window");
	page_free(&p);
	fixture_free(f);
}

int
main(void)
{
	LIBXML_TEST_VERSION
	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)count_errors);
	test_realistic();
	test_many();
	test_empty();
	xmlCleanupParser();
	return tap_done();
}
