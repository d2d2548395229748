/*
 * test_report_xml.c - aggregate-report XML: RFC 9990 and RFC 7489
 * Appendix C documents validated against the XSDs in reports/schema/ (and
 * cross-checked with xmllint), hostile strings, the RFC 9990 §3.1.3 DKIM
 * priority order and cap, and the writer's refusals.
 *
 * RFC 7489 documents carry no namespace (xml.c explains why); to validate
 * one against the Appendix C schema, whose targetNamespace is
 * http://dmarc.org/dmarc-xml/0.1 with unqualified local elements, the test
 * (and only the test) rewrites the root of a copy as
 * <d:feedback xmlns:d="http://dmarc.org/dmarc-xml/0.1">.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "buf.h"
#include "report.h"
#include "util.h"
#include "xml.h"
#include "tap.h"

static char xsd9990[4096], xsd7489[4096];
static char tmpdir[] = "/tmp/test_report_xml.XXXXXX";

/* Hostile values and what must come back after a parse. */
#define H_MARKUP	"</domain><evil/>&amp;<![CDATA[x]]>\"'<!-- c -->"
#define H_CTRL		"a\x01" "b\x1f\x7f\r\n\tc\x0b"
#define H_CTRL_WANT	"a\xef\xbf\xbd" "b\xef\xbf\xbd\x7f\r\n\tc\xef\xbf\xbd"
#define H_UTF8		"x\xffy\xef\xbf\xbez\xed\xa0\x80!\xc0\xaf"
#define H_UTF8_WANT	"x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!" \
			"\xef\xbf\xbd\xef\xbf\xbd"
#define H_CDATA		"]]>&lt;<evil>x</evil>"
#define H_INTL		"b\xc3\xbc" "cher.example \xe2\x98\x83 \xf0\x9d\x84\x9e"

/* ------------------------------------------------------------------ */
/* building reports                                                    */

static char *
S(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static struct report_row *
add_row(struct report *r, const char *ip, unsigned long long count, const char *disp,
    const char *dkim, const char *spf, const char *hfrom, const char *efrom, const char *eto)
{
	struct report_row *w;

	r->rows = xrealloc(r->rows, (r->n_rows + 1) * sizeof(*r->rows));
	w = &r->rows[r->n_rows++];
	memset(w, 0, sizeof(*w));
	w->source_ip = S(ip);
	w->count = count;
	w->disposition = S(disp);
	w->dkim = S(dkim);
	w->spf = S(spf);
	w->header_from = S(hfrom);
	w->envelope_from = S(efrom);
	w->envelope_to = S(eto);
	return w;
}

static void
add_dkim(struct report_row *w, const char *d, const char *s, const char *res, const char *human)
{
	struct report_dkim *k;

	w->dkim_results = xrealloc(w->dkim_results, (w->n_dkim + 1) * sizeof(*k));
	k = &w->dkim_results[w->n_dkim++];
	k->domain = S(d);
	k->selector = S(s);
	k->result = S(res);
	k->human_result = S(human);
}

static void
add_spf(struct report_row *w, const char *d, const char *scope, const char *res, const char *human)
{
	struct report_spf *p;

	w->spf_results = xrealloc(w->spf_results, (w->n_spf + 1) * sizeof(*p));
	p = &w->spf_results[w->n_spf++];
	p->domain = S(d);
	p->scope = S(scope);
	p->result = S(res);
	p->human_result = S(human);
}

static void
add_reason(struct report_row *w, const char *type, const char *comment)
{
	w->reasons = xrealloc(w->reasons, (w->n_reasons + 1) * sizeof(*w->reasons));
	w->reasons[w->n_reasons].type = S(type);
	w->reasons[w->n_reasons].comment = S(comment);
	w->n_reasons++;
}

/* minimal_report - only what both schemas require */
static void
minimal_report(struct report *r, enum report_format fmt)
{
	memset(r, 0, sizeof(*r));
	r->format = fmt;
	r->org_name = S("receiver.example");
	r->email = S("postmaster@receiver.example");
	r->report_id = S("r1");
	r->begin = 0;
	r->end = 0;
	r->domain = S("example.com");
	r->p = S("none");
	r->pct = -1;
	add_row(r, "192.0.2.1", 1, "none", "fail", "fail", "example.com", NULL, NULL);
}

/* full_report - every optional field, four rows exercising the format rules */
static void
full_report(struct report *r, enum report_format fmt)
{
	struct report_row *w;

	memset(r, 0, sizeof(*r));
	r->format = fmt;
	r->org_name = S("Receiver Example Inc.");
	r->email = S("dmarc-reports@receiver.example");
	r->extra_contact_info = S("https://receiver.example/dmarc");
	r->report_id = S("1763856000.example.com@receiver.example");
	r->begin = 1763856000;
	r->end = 1763942399;
	r->error = S("rua: mailto:x@other.example not authorized");
	r->generator = S("dmarc-reports 0.1");
	r->domain = S("example.com");
	r->p = S("reject");
	r->sp = S("Quarantine");
	r->np = S("reject");
	r->adkim = S("s");
	r->aspf = S("r");
	r->fo = S("1:d");
	r->testing = S("n");
	r->discovery_method = S("treewalk");
	r->pct = 100;

	w = add_row(r, "192.0.2.10", 42, "none", "pass", "pass", "example.com",
	    "bounces.example.com", "receiver.example");
	add_dkim(w, "example.com", "s2025", "pass", NULL);
	add_spf(w, "bounces.example.com", "mfrom", "pass", "192.0.2.10 is authorized");

	w = add_row(r, "2001:DB8::25", 9223372036854775808ULL, "quarantine", "fail", "fail",
	    "example.com", "mail.example.net", NULL);
	add_reason(w, "local_policy", "quarantine instead of reject");
	add_dkim(w, "evil.example", NULL, "fail", "body hash mismatch");
	add_spf(w, "mail.example.net", "mfrom", "softfail", NULL);
	add_spf(w, "helo.example.net", "helo", "pass", NULL);

	/* null reverse-path: SPF checked postmaster@HELO */
	w = add_row(r, "::ffff:198.51.100.7", ULLONG_MAX, "pass", "fail", "pass",
	    "sub.example.com", "", NULL);
	add_reason(w, "policy_test_mode", NULL);
	add_spf(w, "helo.example.org", "helo", "pass", NULL);

	w = add_row(r, "203.0.113.5", 1, "none", "fail", "fail", "example.com",
	    "lists.example.org", NULL);
	add_reason(w, "sampled_out", NULL);
	add_reason(w, "forwarded", "via a list");
}

/* hostile_report - attacker-influenced values in every free-text field */
static void
hostile_report(struct report *r, enum report_format fmt)
{
	struct report_row *w;

	memset(r, 0, sizeof(*r));
	r->format = fmt;
	r->org_name = S(H_MARKUP);
	r->email = S(H_CDATA);
	r->extra_contact_info = S(H_CTRL);
	r->report_id = S(H_MARKUP);
	r->begin = 1;
	r->end = 2;
	r->error = S(H_UTF8);
	r->generator = S(H_INTL);
	r->domain = S(H_MARKUP);
	r->p = S("none");
	r->fo = S(H_CDATA);
	r->pct = -1;
	w = add_row(r, "192.0.2.66", 3, "none", "fail", "fail", H_MARKUP, H_CDATA, H_INTL);
	add_reason(w, "other", H_MARKUP);
	add_dkim(w, H_MARKUP, H_MARKUP, "fail", H_CTRL);
	add_dkim(w, H_INTL, H_UTF8, "pass", H_CDATA);
	add_spf(w, H_CDATA, "mfrom", "fail", H_UTF8);
}

/* ------------------------------------------------------------------ */
/* reading documents back                                              */

static xmlDocPtr
parse(const struct buf *b)
{
	return xmlReadMemory(buf_str(b), (int)b->len, "t.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/*
 * xp_eval - evaluate expr; "d:" is the RFC 9990 namespace, and it is
 * removed from expr for a document whose root has no namespace.
 */
static xmlXPathObjectPtr
xp_eval(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlXPathObjectPtr o;
	struct buf e = BUF_INIT;
	const char *p;

	if (root != NULL && root->ns != NULL) {
		xmlXPathRegisterNs(ctx, BAD_CAST "d", BAD_CAST REPORT_NS_9990);
		buf_puts(&e, expr);
	} else {
		for (p = expr; *p != '\0'; p++) {
			if (strncmp(p, "d:", 2) == 0) {
				p++;
				continue;
			}
			buf_putc(&e, *p);
		}
	}
	o = xmlXPathEvalExpression(BAD_CAST buf_str(&e), ctx);
	buf_free(&e);
	xmlXPathFreeContext(ctx);
	return o;
}

/* xp_count - number of nodes expr selects */
static int
xp_count(xmlDocPtr doc, const char *expr)
{
	xmlXPathObjectPtr o = xp_eval(doc, expr);
	int n = -1;

	if (o != NULL && o->type == XPATH_NODESET)
		n = o->nodesetval != NULL ? o->nodesetval->nodeNr : 0;
	xmlXPathFreeObject(o);
	return n;
}

static char *xp_last;		/* xp_str's result */
static struct buf xp_names;	/* xp_children's result */

/* streq - both non-NULL and equal */
static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* xp_str - text of the first node expr selects (valid until the next call), NULL when none */
static const char *
xp_str(xmlDocPtr doc, const char *expr)
{
	xmlXPathObjectPtr o = xp_eval(doc, expr);
	xmlChar *c;

	free(xp_last);
	xp_last = NULL;
	if (o != NULL && o->type == XPATH_NODESET && o->nodesetval != NULL &&
	    o->nodesetval->nodeNr > 0) {
		c = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
		if (c != NULL) {
			xp_last = xstrdup((const char *)c);
			xmlFree(c);
		}
	}
	xmlXPathFreeObject(o);
	return xp_last;
}

/* xp_children - comma-separated element names under the first node of expr */
static const char *
xp_children(xmlDocPtr doc, const char *expr)
{
	struct buf *names = &xp_names;
	xmlXPathObjectPtr o = xp_eval(doc, expr);
	xmlNodePtr n;

	buf_reset(names);
	if (o != NULL && o->type == XPATH_NODESET && o->nodesetval != NULL &&
	    o->nodesetval->nodeNr > 0) {
		for (n = o->nodesetval->nodeTab[0]->children; n != NULL; n = n->next) {
			if (n->type != XML_ELEMENT_NODE)
				continue;
			if (names->len > 0)
				buf_putc(names, ',');
			buf_puts(names, (const char *)n->name);
		}
	}
	xmlXPathFreeObject(o);
	return buf_str(names);
}

/* with_7489_ns - copy of a 7489 document with the Appendix C namespace on its root only */
static void
with_7489_ns(const struct buf *in, struct buf *out)
{
	const char *s = buf_str(in), *open = strstr(s, "<feedback>"),
	    *close = strstr(s, "</feedback>");

	buf_init(out, 0);
	if (open == NULL || close == NULL || close < open)
		return;
	buf_append(out, s, (size_t)(open - s));
	buf_puts(out, "<d:feedback xmlns:d=\"" REPORT_NS_7489 "\">");
	open += strlen("<feedback>");
	buf_append(out, open, (size_t)(close - open));
	buf_puts(out, "</d:feedback>");
	buf_puts(out, close + strlen("</feedback>"));
}

/* valid - report_xml_validate, printing the reason on failure */
static bool
valid(const struct buf *b, enum report_format fmt)
{
	char err[512];
	struct buf wrapped;
	int rc;

	if (fmt == REPORT_RFC9990)
		rc = report_xml_validate(buf_str(b), b->len, xsd9990, err, sizeof(err));
	else {
		with_7489_ns(b, &wrapped);
		rc = report_xml_validate(buf_str(&wrapped), wrapped.len, xsd7489, err, sizeof(err));
		buf_free(&wrapped);
	}
	if (rc != 0)
		tap_diag("validate: %s", err);
	return rc == 0;
}

/* write_xml - report_xml into a fresh buffer, printing the reason on failure */
static int
write_xml(const struct report *r, struct buf *out)
{
	char err[512];
	int rc;

	buf_init(out, 0);
	rc = report_xml(r, out, err, sizeof(err));
	if (rc != 0)
		tap_diag("report_xml: %s", err);
	return rc;
}

/* shell_quote - 'arg' for sh, with ' written as '\'' */
static void
shell_quote(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

/* xmllint_ok - 1 when "xmllint --schema xsd file" accepts, 0 when not, -1 without xmllint */
static int
xmllint_ok(const struct buf *doc, const char *xsd, const char *name)
{
	struct buf path = BUF_INIT, cmd = BUF_INIT;
	FILE *fp;
	int st;

	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		return -1;
	buf_printf(&path, "%s/%s", tmpdir, name);
	if ((fp = fopen(buf_str(&path), "w")) == NULL) {
		buf_free(&path);
		return 0;
	}
	fwrite(buf_str(doc), 1, doc->len, fp);
	fclose(fp);
	buf_puts(&cmd, "xmllint --noout --nonet --schema ");
	shell_quote(&cmd, xsd);
	buf_putc(&cmd, ' ');
	shell_quote(&cmd, buf_str(&path));
	buf_puts(&cmd, " >/dev/null 2>&1");
	st = system(buf_str(&cmd));
	unlink(buf_str(&path));
	buf_free(&path);
	buf_free(&cmd);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* the tests                                                           */

static void
test_full_9990(void)
{
	struct report r;
	struct buf out;
	xmlDocPtr doc;
	xmlNodePtr root;
	int lint;

	full_report(&r, REPORT_RFC9990);
	tap_ok(write_xml(&r, &out) == 0, "RFC 9990: a full report is written");
	tap_ok(strncmp(buf_str(&out), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) == 0,
	    "RFC 9990: UTF-8 XML declaration first");
	tap_ok(valid(&out, REPORT_RFC9990), "RFC 9990 §3.1.1: full report validates against rfc9990.xsd");
	lint = xmllint_ok(&out, xsd9990, "full9990.xml");
	if (lint < 0)
		tap_ok(1, "# SKIP xmllint is not installed");
	else
		tap_ok(lint == 1, "RFC 9990: xmllint --schema rfc9990.xsd accepts the written file");

	doc = parse(&out);
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	tap_ok(root != NULL && root->ns != NULL &&
	    strcmp((const char *)root->ns->href, REPORT_NS_9990) == 0 &&
	    strcmp((const char *)root->name, "feedback") == 0,
	    "RFC 9990 §3.1.1.1: root <feedback> in urn:ietf:params:xml:ns:dmarc-2.0");
	if (doc == NULL) {
		buf_free(&out);
		report_free(&r);
		return;
	}
	tap_is_str(xp_str(doc, "/d:feedback/d:version"), "1.0", "RFC 9990 §3.1.1.2: version is 1.0");
	tap_is_str(xp_children(doc, "/d:feedback"),
	    "version,report_metadata,policy_published,record,record,record,record",
	    "RFC 9990 §3.1.1.2: first-level elements in the order listed");
	tap_is_str(xp_children(doc, "/d:feedback/d:report_metadata"),
	    "org_name,email,extra_contact_info,report_id,date_range,error,generator",
	    "RFC 9990 §3.1.1.3: every metadata element, generator included");
	tap_is_str(xp_str(doc, "//d:report_id"), "1763856000.example.com@receiver.example",
	    "RFC 9990 §3.5.1: report_id written");
	tap_is_str(xp_str(doc, "//d:generator"), "dmarc-reports 0.1", "RFC 9990 §3.1.1.3: generator written");
	tap_ok(streq(xp_str(doc, "//d:date_range/d:begin"), "1763856000") &&
	    streq(xp_str(doc, "//d:date_range/d:end"), "1763942399"),
	    "RFC 9990 §3.1.1.4: begin/end as integer seconds");
	tap_is_str(xp_children(doc, "/d:feedback/d:policy_published"),
	    "domain,p,sp,np,adkim,aspf,discovery_method,fo,testing",
	    "RFC 9990 §3.1.1.5: policy_published has np, testing, discovery_method, no pct");
	tap_is_str(xp_str(doc, "//d:policy_published/d:sp"), "quarantine",
	    "keywords written in lower case");
	tap_is_str(xp_children(doc, "/d:feedback/d:record[2]"), "row,identifiers,auth_results",
	    "RFC 9990 §3.1.1.7: record = row, identifiers, auth_results in order");
	tap_is_str(xp_children(doc, "/d:feedback/d:record[2]/d:row/d:policy_evaluated"),
	    "disposition,dkim,spf,reason", "RFC 9990 §3.1.1.9: policy_evaluated sequence");
	tap_is_str(xp_children(doc, "/d:feedback/d:record[1]/d:identifiers"),
	    "header_from,envelope_from,envelope_to", "RFC 9990 §3.1.1.10: identifiers in XSD order");
	tap_is_str(xp_children(doc, "/d:feedback/d:record[1]/d:auth_results"), "dkim,spf",
	    "RFC 9990 §3.1.1.11: dkim before spf");
	tap_is_str(xp_str(doc, "/d:feedback/d:record[2]/d:row/d:count"), "9223372036854775808",
	    "RFC 9990 §3.1.1.8: count 2^63 written exactly");
	tap_is_str(xp_str(doc, "/d:feedback/d:record[3]/d:row/d:count"), "18446744073709551615",
	    "RFC 9990 §3.1.1.8: count 2^64-1 written exactly");
	tap_is_str(xp_str(doc, "/d:feedback/d:record[2]/d:row/d:source_ip"), "2001:db8::25",
	    "RFC 9990 §3.1.1.8: IPv6 source_ip in compressed form");
	tap_is_str(xp_str(doc, "/d:feedback/d:record[3]/d:row/d:source_ip"), "198.51.100.7",
	    "RFC 9990 §3.1.1.8: IPv4-mapped source_ip as IPv4address");
	tap_ok(xp_count(doc, "/d:feedback/d:record[2]//d:dkim/d:selector") == 1 &&
	    streq(xp_str(doc, "/d:feedback/d:record[2]//d:dkim/d:selector"), ""),
	    "RFC 9990 §3.1.1.12: selector always present, empty when unknown");
	tap_ok(xp_count(doc, "/d:feedback/d:record[2]//d:auth_results/d:spf") == 1 &&
	    streq(xp_str(doc, "/d:feedback/d:record[2]//d:spf/d:domain"), "mail.example.net"),
	    "RFC 9990 §3.1.1.13: one SPF result, MAIL FROM only (HELO dropped)");
	tap_ok(streq(xp_str(doc, "/d:feedback/d:record[3]//d:spf/d:domain"), "helo.example.org") &&
	    streq(xp_str(doc, "/d:feedback/d:record[3]//d:spf/d:scope"), "mfrom") &&
	    xp_count(doc, "/d:feedback/d:record[3]//d:identifiers/d:envelope_from") == 1,
	    "RFC 7208 §2.4: null reverse-path reports postmaster@HELO as mfrom, empty envelope_from");
	tap_ok(streq(xp_str(doc, "/d:feedback/d:record[3]//d:disposition"), "pass") &&
	    streq(xp_str(doc, "/d:feedback/d:record[3]//d:reason/d:type"), "policy_test_mode"),
	    "RFC 9990: disposition pass and policy_test_mode kept");
	tap_ok(streq(xp_str(doc, "/d:feedback/d:record[4]//d:reason[1]/d:type"), "other") &&
	    streq(xp_str(doc, "/d:feedback/d:record[4]//d:reason[1]/d:comment"), "sampled_out") &&
	    streq(xp_str(doc, "/d:feedback/d:record[4]//d:reason[2]/d:comment"), "via a list") &&
	    xp_count(doc, "/d:feedback/d:record[4]//d:auth_results/*") == 0,
	    "RFC 9990 §3.1.6: sampled_out/forwarded become other; no SPF result is fine");
	xmlFreeDoc(doc);
	buf_free(&out);
	report_free(&r);
}

static void
test_full_7489(void)
{
	struct report r;
	struct buf out, wrapped;
	xmlDocPtr doc;
	xmlNodePtr root;
	int lint;

	full_report(&r, REPORT_RFC7489);
	tap_ok(write_xml(&r, &out) == 0, "RFC 7489: the same data is written");
	tap_ok(valid(&out, REPORT_RFC7489), "RFC 7489 Appendix C: full report validates against rfc7489.xsd");
	with_7489_ns(&out, &wrapped);
	lint = xmllint_ok(&wrapped, xsd7489, "full7489.xml");
	if (lint < 0)
		tap_ok(1, "# SKIP xmllint is not installed");
	else
		tap_ok(lint == 1 && xmllint_ok(&out, xsd7489, "bare7489.xml") == 0,
		    "RFC 7489: xmllint accepts it with the namespace on the root, rejects it bare");
	buf_free(&wrapped);

	doc = parse(&out);
	root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
	tap_ok(root != NULL && root->ns == NULL && strcmp((const char *)root->name, "feedback") == 0,
	    "RFC 7489: unqualified <feedback>, no namespace");
	if (doc == NULL) {
		buf_free(&out);
		report_free(&r);
		return;
	}
	tap_is_str(xp_children(doc, "/feedback/report_metadata"),
	    "org_name,email,extra_contact_info,report_id,date_range,error",
	    "RFC 7489 Appendix C: metadata sequence, no generator");
	tap_is_str(xp_children(doc, "/feedback/policy_published"), "domain,adkim,aspf,p,sp,pct,fo",
	    "RFC 7489 Appendix C: pct present; no np, testing, discovery_method");
	tap_is_str(xp_children(doc, "/feedback/record[1]/identifiers"),
	    "envelope_to,envelope_from,header_from", "RFC 7489 Appendix C: identifiers order");
	tap_is_str(xp_str(doc, "/feedback/record[2]/row/source_ip"), "2001:db8:0:0:0:0:0:25",
	    "RFC 7489 Appendix C: IPv6 in eight groups for the IPAddress pattern");
	tap_ok(xp_count(doc, "/feedback/record[2]/auth_results/spf") == 2 &&
	    streq(xp_str(doc, "/feedback/record[2]/auth_results/spf[2]/scope"), "helo") &&
	    xp_count(doc, "//spf/human_result") == 0,
	    "RFC 7489 Appendix C: every SPF result with its scope, no human_result");
	tap_ok(streq(xp_str(doc, "/feedback/record[3]/row/policy_evaluated/disposition"), "none") &&
	    streq(xp_str(doc, "/feedback/record[3]//reason/type"), "sampled_out"),
	    "RFC 7489: disposition pass -> none, policy_test_mode -> sampled_out");
	tap_ok(streq(xp_str(doc, "/feedback/record[4]//reason[1]/type"), "sampled_out") &&
	    streq(xp_str(doc, "/feedback/record[4]//reason[2]/type"), "forwarded"),
	    "RFC 7489 §7.2: sampled_out and forwarded kept");
	tap_ok(xp_count(doc, "/feedback/record[4]/auth_results/spf") == 1 &&
	    streq(xp_str(doc, "/feedback/record[4]/auth_results/spf/domain"), "lists.example.org") &&
	    streq(xp_str(doc, "/feedback/record[4]/auth_results/spf/result"), "none"),
	    "RFC 7489 Appendix C: a row without SPF gets one 'none' result");
	xmlFreeDoc(doc);
	buf_free(&out);
	report_free(&r);
}

static void
test_minimal(void)
{
	struct report r;
	struct buf out;
	xmlDocPtr doc;

	minimal_report(&r, REPORT_RFC9990);
	tap_ok(write_xml(&r, &out) == 0 && valid(&out, REPORT_RFC9990),
	    "RFC 9990: minimal report (no optional fields) validates");
	doc = parse(&out);
	tap_ok(doc != NULL && xp_count(doc, "//d:policy_published/*") == 2 &&
	    xp_count(doc, "//d:identifiers/*") == 1 && xp_count(doc, "//d:auth_results/*") == 0 &&
	    xp_count(doc, "//d:generator") == 0,
	    "RFC 9990: NULL optional values are left out");
	xmlFreeDoc(doc);
	buf_free(&out);
	report_free(&r);

	minimal_report(&r, REPORT_RFC7489);
	tap_ok(write_xml(&r, &out) == 0 && valid(&out, REPORT_RFC7489),
	    "RFC 7489: minimal report validates");
	doc = parse(&out);
	tap_ok(doc != NULL && streq(xp_str(doc, "//policy_published/sp"), "none") &&
	    streq(xp_str(doc, "//policy_published/pct"), "100") &&
	    streq(xp_str(doc, "//policy_published/fo"), "0") &&
	    streq(xp_str(doc, "//identifiers/envelope_from"), ""),
	    "RFC 7489 §6.3: schema-required sp/pct/fo get their defaults");
	xmlFreeDoc(doc);
	buf_free(&out);
	report_free(&r);
}

static void
check_hostile(enum report_format fmt)
{
	const char *name = fmt == REPORT_RFC9990 ? "RFC 9990" : "RFC 7489";
	struct report r;
	struct buf out;
	xmlDocPtr doc;
	bool ok;

	hostile_report(&r, fmt);
	tap_ok(write_xml(&r, &out) == 0 && valid(&out, fmt),
	    "%s: hostile strings everywhere still validate", name);
	doc = parse(&out);
	if (!tap_ok(doc != NULL, "%s: hostile report is well-formed", name)) {
		buf_free(&out);
		report_free(&r);
		return;
	}
	tap_ok(xp_count(doc, "//evil") == 0 && xp_count(doc, "//d:evil") == 0 &&
	    xp_count(doc, "//comment()") == 0 && xp_count(doc, "//processing-instruction()") == 0,
	    "%s: no value injected markup", name);
	ok = streq(xp_str(doc, "//d:org_name"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:report_id"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:email"), H_CDATA) &&
	    streq(xp_str(doc, "//d:policy_published/d:domain"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:policy_published/d:fo"), H_CDATA) &&
	    streq(xp_str(doc, "//d:header_from"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:envelope_from"), H_CDATA) &&
	    streq(xp_str(doc, "//d:envelope_to"), H_INTL) &&
	    streq(xp_str(doc, "//d:reason/d:comment"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:dkim[1]/d:domain"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:dkim[1]/d:selector"), H_MARKUP) &&
	    streq(xp_str(doc, "//d:dkim[2]/d:domain"), H_INTL) &&
	    streq(xp_str(doc, "//d:dkim[2]/d:human_result"), H_CDATA) &&
	    streq(xp_str(doc, "//d:auth_results/d:spf/d:domain"), H_CDATA);
	tap_ok(ok, "%s: markup, ]]> and non-ASCII values round-trip byte for byte", name);
	tap_is_str(xp_str(doc, "//d:extra_contact_info"), H_CTRL_WANT,
	    "%s: XML 1.0 §2.2 controls become U+FFFD; TAB, LF, CR (as &#13;) and DEL kept", name);
	tap_is_str(xp_str(doc, "//d:dkim[2]/d:selector"), H_UTF8_WANT,
	    "%s: ill-formed UTF-8 (RFC 3629), surrogates, U+FFFE become U+FFFD", name);
	tap_is_str(xp_str(doc, "//d:error"), H_UTF8_WANT, "%s: same in report_metadata/error", name);
	if (fmt == REPORT_RFC9990)
		tap_is_str(xp_str(doc, "//d:generator"), H_INTL, "%s: generator round-trips", name);
	xmlFreeDoc(doc);
	buf_free(&out);
	report_free(&r);
}

static void
test_dkim_priority(void)
{
	struct report r;
	struct report_row *w;
	struct buf out;
	xmlDocPtr doc;
	char sel[16];
	size_t i, dropped;
	bool ordered = true;
	int g, last = 0, prev_idx = -1;

	minimal_report(&r, REPORT_RFC9990);
	w = &r.rows[0];
	/* message order: 30 each of fail@example.com, pass@other, relaxed pass, fail, strict pass */
	for (i = 0; i < 150; i++) {
		snprintf(sel, sizeof(sel), "s%03zu", i);
		switch (i % 5) {
		case 0: add_dkim(w, "example.com", sel, "fail", NULL); break;
		case 1: add_dkim(w, "other.example", sel, "pass", NULL); break;
		case 2: add_dkim(w, "mail.Example.com", sel, "pass", NULL); break;
		case 3: add_dkim(w, "third.example", sel, "permerror", NULL); break;
		default: add_dkim(w, "EXAMPLE.com.", sel, "pass", NULL); break;
		}
	}
	/* the writer alone keeps the first 100 */
	tap_ok(write_xml(&r, &out) == 0 && valid(&out, REPORT_RFC9990),
	    "RFC 9990 §3.1.3: a row with 150 DKIM results still validates");
	doc = parse(&out);
	tap_ok(doc != NULL && xp_count(doc, "//d:auth_results/d:dkim") == REPORT_MAX_DKIM,
	    "RFC 9990 §3.1.3: the writer writes at most 100 DKIM results per row");
	xmlFreeDoc(doc);
	buf_free(&out);

	dropped = report_dkim_prioritize(w, "example.com");
	tap_ok(dropped == 50 && w->n_dkim == 100, "RFC 9990 §3.1.3: 150 results cut to 100 (50 dropped)");
	for (i = 0; i < w->n_dkim; i++) {
		int idx = atoi(w->dkim_results[i].selector + 1);

		g = idx % 5 == 4 ? 0 : idx % 5 == 2 ? 1 : idx % 5 == 1 ? 2 : 3;
		if (g < last || (g == last && idx < prev_idx))
			ordered = false;
		last = g;
		prev_idx = idx;
	}
	tap_ok(ordered, "RFC 9990 §3.1.3: strict-aligned passes, relaxed passes, other passes, "
	    "then the rest, message order within each");
	tap_ok(strcmp(w->dkim_results[0].selector, "s004") == 0 &&
	    strcmp(w->dkim_results[30].selector, "s002") == 0 &&
	    strcmp(w->dkim_results[60].selector, "s001") == 0 &&
	    strcmp(w->dkim_results[90].selector, "s000") == 0 &&
	    strcmp(w->dkim_results[99].selector, "s023") == 0,
	    "RFC 9990 §3.1.3: group boundaries; the last kept is the 10th non-pass");
	report_free(&r);

	/* org domain unknown: relaxed falls back to names at or below header_from */
	minimal_report(&r, REPORT_RFC9990);
	w = &r.rows[0];
	add_dkim(w, "a.example.com", "s1", "pass", NULL);
	add_dkim(w, "b.example.net", "s2", "pass", NULL);
	add_dkim(w, "notexample.com", "s3", "pass", NULL);
	add_dkim(w, "example.com", "s4", "fail", NULL);
	add_dkim(w, "example.com", "s5", "pass", NULL);
	dropped = report_dkim_prioritize(w, NULL);
	tap_ok(dropped == 0 && w->n_dkim == 5 &&
	    strcmp(w->dkim_results[0].selector, "s5") == 0 &&
	    strcmp(w->dkim_results[1].selector, "s1") == 0 &&
	    strcmp(w->dkim_results[2].selector, "s2") == 0 &&
	    strcmp(w->dkim_results[3].selector, "s3") == 0 &&
	    strcmp(w->dkim_results[4].selector, "s4") == 0,
	    "RFC 9990 §3.1.3: label boundary respected (notexample.com is not relaxed-aligned)");
	report_free(&r);
}

static void
test_refusals(void)
{
	struct report r;
	struct buf out;
	char err[256];
	int rc;

	/* zero records: both schemas need one; the writer refuses, out untouched */
	minimal_report(&r, REPORT_RFC9990);
	report_free(&r);
	minimal_report(&r, REPORT_RFC9990);
	r.n_rows = 0;
	buf_init(&out, 0);
	buf_puts(&out, "keep");
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && strcmp(buf_str(&out), "keep") == 0 && strstr(err, "record") != NULL,
	    "RFC 9990 §3.1.1.2: a report with no record is refused, out untouched (%s)", err);
	r.n_rows = 1;
	buf_free(&out);

	free(r.p);
	r.p = S("bogus</p>");
	buf_init(&out, 0);
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && out.len == 0 && strstr(err, "p \"bogus</p>\"") != NULL,
	    "policy_published/p outside DispositionType is refused (%s)", err);
	free(r.p);
	r.p = S("none");

	free(r.rows[0].source_ip);
	r.rows[0].source_ip = S("192.0.2.1</source_ip><evil/>");
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && out.len == 0 && strstr(err, "record 1: source_ip") != NULL,
	    "RFC 9990 §3.1.1.8: a source_ip that is no IP address is refused (%s)", err);
	free(r.rows[0].source_ip);
	r.rows[0].source_ip = S("192.0.2.1");

	r.begin = 100;
	r.end = 99;
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "date_range") != NULL,
	    "RFC 9990 §3.1.1.4: end before begin is refused (%s)", err);
	r.end = 100;

	free(r.rows[0].disposition);
	r.rows[0].disposition = S("pass");
	r.format = REPORT_RFC9990;
	tap_ok(report_xml(&r, &out, err, sizeof(err)) == 0, "RFC 9990: disposition pass accepted");
	buf_free(&out);

	add_spf(&r.rows[0], "example.com", "mfrom", "policy", NULL);
	r.format = REPORT_RFC7489;
	buf_init(&out, 0);
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "result \"policy\"") != NULL,
	    "RFC 7489 Appendix C: SPF result policy is not in SPFResultType (%s)", err);
	buf_free(&out);
	report_free(&r);

	/* the caller's cap: refused, previous contents kept */
	full_report(&r, REPORT_RFC9990);
	buf_init(&out, 600);
	buf_puts(&out, "prefix");
	rc = report_xml(&r, &out, err, sizeof(err));
	tap_ok(rc == -1 && strcmp(buf_str(&out), "prefix") == 0 && !out.truncated &&
	    strstr(err, "cap") != NULL, "a report over the output cap is refused (%s)", err);
	buf_free(&out);
	report_free(&r);
}

static void
test_validator(void)
{
	static const char bomb[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE feedback [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">"
	    "<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
	    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">&b;&x;</feedback>\n";
	struct report r;
	struct buf out, bad = BUF_INIT;
	char err[512];
	const char *p, *s;
	int rc;

	rc = report_xml_validate(bomb, strlen(bomb), xsd9990, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "DOCTYPE") != NULL,
	    "RFC 9990 §8.1: a document with a DOCTYPE/entities is refused (%s)", err);

	minimal_report(&r, REPORT_RFC9990);
	write_xml(&r, &out);
	/* rename <report_id> so a required element is missing */
	for (s = buf_str(&out); (p = strstr(s, "report_id>")) != NULL; s = p + strlen("report_id>")) {
		buf_append(&bad, s, (size_t)(p - s));
		buf_puts(&bad, "reportid>");
	}
	buf_puts(&bad, s);
	rc = report_xml_validate(buf_str(&bad), bad.len, xsd9990, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "reportid") != NULL && strstr(err, "line") != NULL,
	    "the validator names the offending element and line (%s)", err);
	rc = report_xml_validate(buf_str(&out), out.len - 20, xsd9990, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "well-formed") != NULL,
	    "a truncated document is not well-formed (%s)", err);
	rc = report_xml_validate(buf_str(&out), out.len, "/nonexistent/rfc9990.xsd", err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "schema") != NULL, "a missing schema is an error (%s)", err);
	rc = report_xml_validate(buf_str(&out), out.len, xsd7489, err, sizeof(err));
	tap_ok(rc == -1, "an RFC 9990 document does not pass the RFC 7489 schema (%s)", err);
	buf_free(&bad);
	buf_free(&out);
	report_free(&r);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(xsd9990, sizeof(xsd9990), "%s/reports/schema/rfc9990.xsd", top);
	snprintf(xsd7489, sizeof(xsd7489), "%s/reports/schema/rfc7489.xsd", top);
	if (access(xsd9990, R_OK) != 0 || access(xsd7489, R_OK) != 0) {
		printf("Bail out! schemas not found under %s/reports/schema\n", top);
		return 1;
	}
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	xmlInitParser();

	test_full_9990();
	test_full_7489();
	test_minimal();
	check_hostile(REPORT_RFC9990);
	check_hostile(REPORT_RFC7489);
	test_dkim_priority();
	test_refusals();
	test_validator();

	free(xp_last);
	buf_free(&xp_names);
	rmdir(tmpdir);
	xmlCleanupParser();
	return tap_done();
}
