/*
 * rxml.c - read a DMARC aggregate report into a struct report (rxml.h).
 *
 * Parsing.  libxml2's SAX2 push parser with a handler of our own that
 * knows only elements, text and the DOCTYPE: no tree is built (200000
 * records stream), no entity declaration is ever stored (the handler has
 * no entityDecl, getEntity or externalSubset), options are XML_PARSE_NONET
 * only: no XML_PARSE_NOENT, no DTDLOAD/DTDATTR/DTDVALID, no HUGE, so
 * libxml2's own limits stay in force under ours.  A DOCTYPE is refused the
 * moment it starts, before its internal subset is read: a report never has
 * one, and it is the door for entity bombs (billion laughs), external
 * entities (XXE, file:///etc/passwd) and parameter entities, the
 * OpenDMARC CVE-2020-12460 class; RFC 9990's security considerations
 * (§8.1 in the numbering xml.h uses) warn of XML bombs.  Errors come back
 * through the context's structured handler (per parser, so thread-safe);
 * libxml2's generic handler is silenced for the call and restored.
 *
 * Bounds (rxml.h): document size; NUL bytes (a NUL is no XML character;
 * this also refuses UTF-16, which no receiver sends); attributes per
 * start tag, counted on the raw bytes before parsing, because libxml2
 * 2.9 checks attribute names for duplicates pairwise; attribute value
 * length; nesting depth; element count; records; text of one element.
 * Breaking one refuses the report.
 *
 * Leniency, from the 40 real samples in t/data/reports/samples/:
 * - elements match by local name, ASCII case-insensitively, whatever
 *   their namespace (none, RFC 9990's, the drafts' dmarc-xml/0.2, a
 *   prefix, an undeclared prefix: namespace errors are not fatal);
 * - <feedback> may sit inside a wrapper element (ikea.com sends it inside
 *   an unclosed <xs:schema>); reading ends with </feedback>, and a
 *   well-formedness error after it (that wrapper never closed, trailing
 *   junk) is noted, not fatal: everything kept was well-formed;
 * - unknown elements (RFC 9990 <extension>s, <unknown-tag1>) and known
 *   elements in unknown places are ignored and counted;
 * - values are trimmed of white space; keywords (p, sp, np, adkim, aspf,
 *   testing, discovery_method, disposition, dkim, spf, result, scope,
 *   reason type) are lower-cased ("Pass" is "pass"); domains are
 *   lower-cased and lose one trailing dot;
 * - empty optional elements count as absent; a repeated single element
 *   keeps the first value; RFC 7489's repeatable <error>s are joined with
 *   "; ";
 * - date_range begin/end: decimal seconds, an optional fraction dropped
 *   (opendmarc's 163.com sample writes "1337270400.0"); refused unless
 *   0 <= begin <= end <= 9999-12-31;
 * - org_name empty or missing: the domain of <email> stands in (parsedmarc
 *   does the same; two real samples have <org_name></org_name>), noted;
 * - <reason> in both shapes: <reason><type/><comment/></reason> (RFC 7489
 *   Appendix C, RFC 9990 §3.1.1.9) and a bare <reason>keyword</reason>
 *   of older drafts; a reason with neither type nor comment is dropped;
 * - RFC 9990 <identifiers><envelope_from>/<envelope_to>, <np>, <testing>,
 *   <discovery_method>, <generator>, and RFC 7489's <pct>, several <dkim>
 *   and <spf> results (up to RXML_MAX_RESULTS each) are all read.
 * Per record (RFC 7489 Appendix C "RecordType"): source_ip must parse
 * with inet_pton as IPv4 or IPv6 and count must be a decimal integer
 * (0..RXML_MAX_COUNT); a record failing either is skipped and counted.
 * Required for the report (RFC 7489 Appendix C / RFC 9990 §3.1.1.2:
 * report_metadata and policy_published are mandatory): org_name (or the
 * fallback above), report_id, date_range, policy_published/domain.  A
 * report with zero records is accepted although both schemas want one:
 * some receivers send them, and "nothing seen" is information.
 * Salvaged: ikea.com (above).  Refused: empty.xml (empty document),
 * invalid_xml.xml and opendmarc's bad.com (not well-formed: a "<" in a
 * value), invalid_utf_8.xml (bytes that are not UTF-8 in a document that
 * says it is: guessing the charset would store garbage).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

#include "buf.h"
#include "report.h"
#include "rxml.h"
#include "util.h"

#define NS_9990		"urn:ietf:params:xml:ns:dmarc-2.0"
#define MAX_TIME	253402300799LL	/* 9999-12-31T23:59:59Z */
#define CHUNK		(64 * 1024)

/* The elements we know, by local name. */
enum el {
	E_NONE = 0,	/* end of a path */
	E_OTHER,
	E_FEEDBACK, E_VERSION, E_REPORT_METADATA, E_ORG_NAME, E_EMAIL,
	E_EXTRA_CONTACT_INFO, E_REPORT_ID, E_DATE_RANGE, E_BEGIN, E_END, E_ERROR,
	E_GENERATOR, E_POLICY_PUBLISHED, E_DOMAIN, E_ADKIM, E_ASPF, E_P, E_SP,
	E_NP, E_PCT, E_FO, E_TESTING, E_DISCOVERY_METHOD, E_RECORD, E_ROW,
	E_SOURCE_IP, E_COUNT, E_POLICY_EVALUATED, E_DISPOSITION, E_DKIM, E_SPF,
	E_REASON, E_TYPE, E_COMMENT, E_IDENTIFIERS, E_HEADER_FROM,
	E_ENVELOPE_FROM, E_ENVELOPE_TO, E_AUTH_RESULTS, E_SELECTOR, E_RESULT,
	E_HUMAN_RESULT, E_SCOPE
};

static const struct {
	const char	*name;
	enum el		 id;
} el_names[] = {
	{ "feedback", E_FEEDBACK }, { "version", E_VERSION },
	{ "report_metadata", E_REPORT_METADATA }, { "org_name", E_ORG_NAME },
	{ "email", E_EMAIL }, { "extra_contact_info", E_EXTRA_CONTACT_INFO },
	{ "report_id", E_REPORT_ID }, { "date_range", E_DATE_RANGE },
	{ "begin", E_BEGIN }, { "end", E_END }, { "error", E_ERROR },
	{ "generator", E_GENERATOR }, { "policy_published", E_POLICY_PUBLISHED },
	{ "domain", E_DOMAIN }, { "adkim", E_ADKIM }, { "aspf", E_ASPF },
	{ "p", E_P }, { "sp", E_SP }, { "np", E_NP }, { "pct", E_PCT },
	{ "fo", E_FO }, { "testing", E_TESTING },
	{ "discovery_method", E_DISCOVERY_METHOD }, { "record", E_RECORD },
	{ "row", E_ROW }, { "source_ip", E_SOURCE_IP }, { "count", E_COUNT },
	{ "policy_evaluated", E_POLICY_EVALUATED },
	{ "disposition", E_DISPOSITION }, { "dkim", E_DKIM }, { "spf", E_SPF },
	{ "reason", E_REASON }, { "type", E_TYPE }, { "comment", E_COMMENT },
	{ "identifiers", E_IDENTIFIERS }, { "header_from", E_HEADER_FROM },
	{ "envelope_from", E_ENVELOPE_FROM }, { "envelope_to", E_ENVELOPE_TO },
	{ "auth_results", E_AUTH_RESULTS }, { "selector", E_SELECTOR },
	{ "result", E_RESULT }, { "human_result", E_HUMAN_RESULT },
	{ "scope", E_SCOPE },
};

/* One document being read. */
struct rx {
	xmlParserCtxtPtr	 pc;
	struct report		*rep;
	struct report_row	*row;		/* the <record> being read, or NULL */
	struct report_dkim	*dkim;		/* the auth_results/dkim being read */
	struct report_spf	*spf;		/* the auth_results/spf being read */
	struct report_reason	*reason;	/* the policy_evaluated/reason being read */
	int			 count_state;	/* 0 no <count>, 1 read, -1 not a number */
	unsigned long long	 count;
	bool			 have_begin, have_end;
	struct rxml_notes	*notes;
	struct buf		 text;		/* text since the last start or end tag */
	bool			 leaf;		/* no child since the current start tag */
	enum el			 stack[RXML_MAX_DEPTH + 1];
	unsigned		 depth;		/* of the current element; root is 1 */
	unsigned		 fb;		/* depth of <feedback>, 0 outside it */
	bool			 closed;	/* </feedback> seen: the rest is ignored */
	bool			 fmt9990;
	unsigned long		 elements;
	unsigned long		 records;
	size_t			 rows_cap;	/* rows allocated in rep->rows */
	bool			 failed;
	char			 err[512];
};

/* excerpt - a short printable-ASCII copy of an untrusted value for a message */
static const char *
excerpt(char dst[48], const char *s)
{
	size_t i;

	for (i = 0; i < 40 && s[i] != '\0'; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (i == 40 && s[i] != '\0') {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

/* printable - squeeze a libxml2 message into one line of printable ASCII */
static void
printable(char *s)
{
	char *w = s, *r;
	bool space = false;

	for (r = s; *r != '\0'; r++) {
		unsigned char c = (unsigned char)*r;

		if (c <= 0x20 || c >= 0x7f) {
			space = w != s;		/* none at the start */
			continue;
		}
		if (space) {
			*w++ = ' ';
			space = false;
		}
		*w++ = (char)c;
	}
	*w = '\0';
}

/* rx_line - the line the parser is at, for messages */
static int
rx_line(const struct rx *rx)
{
	return rx->pc != NULL ? xmlSAX2GetLineNumber(rx->pc) : 0;
}

/* rx_failv - keep the first reason a report is refused for */
static void
rx_failv(struct rx *rx, const char *fmt, va_list ap)
{
	if (rx->failed)
		return;
	rx->failed = true;
	vsnprintf(rx->err, sizeof(rx->err), fmt, ap);
}

/*
 * rx_fail - refuse the report and stop the parser (from a SAX callback,
 * where xmlStopParser is meant to be called; the error handler only
 * records: libxml2 stops by itself after a fatal error)
 */
static void __attribute__((format(printf, 2, 3)))
rx_fail(struct rx *rx, const char *fmt, ...)
{
	va_list ap;
	bool was = rx->failed;

	va_start(ap, fmt);
	rx_failv(rx, fmt, ap);
	va_end(ap);
	if (!was && rx->pc != NULL)
		xmlStopParser(rx->pc);
}

/* rx_error - refuse the report from the error handler: no xmlStopParser */
static void __attribute__((format(printf, 2, 3)))
rx_error(struct rx *rx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rx_failv(rx, fmt, ap);
	va_end(ap);
}

/* rx_note - one lenient reading; the first one is kept as text */
static void __attribute__((format(printf, 3, 4)))
rx_note(struct rx *rx, unsigned *counter, const char *fmt, ...)
{
	va_list ap;

	if (counter != NULL)
		(*counter)++;
	if (rx->notes->first[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rx->notes->first, sizeof(rx->notes->first), fmt, ap);
	va_end(ap);
}

/* el_lookup - the element a local name stands for (ASCII case-insensitive) */
static enum el
el_lookup(const xmlChar *name)
{
	size_t i;

	for (i = 0; i < sizeof(el_names) / sizeof(el_names[0]); i++)
		if (ascii_strcaseeq((const char *)name, el_names[i].name))
			return el_names[i].id;
	return E_OTHER;
}

/*
 * at - the current element is <feedback>/path... exactly; path ends with
 * E_NONE.  Use through AT().
 */
static bool
at(const struct rx *rx, const enum el *path)
{
	unsigned d = rx->fb + 1;
	size_t i;

	if (rx->fb == 0)
		return false;
	for (i = 0; path[i] != E_NONE; i++, d++)
		if (d > rx->depth || rx->stack[d] != path[i])
			return false;
	return d == rx->depth + 1;
}
#define AT(...)	at(rx, (const enum el[]){ __VA_ARGS__, E_NONE })

/* ------------------------------------------------------------------ */
/* values                                                              */

/* v_text - trimmed text, noted when it had to be trimmed; NULL when empty */
static const char *
v_text(struct rx *rx, char *raw)
{
	size_t before = strlen(raw);
	char *t = str_trim(raw);	/* XML 1.0 §2.3 S: space, TAB, CR, LF */
	char ex[48];

	if (*t != '\0' && strlen(t) != before)
		rx_note(rx, &rx->notes->fixed, "white space around \"%s\" removed",
		    excerpt(ex, t));
	return *t != '\0' ? t : NULL;
}

/* v_lower - v_text, lower-cased (keywords); noted when the case changed */
static const char *
v_lower(struct rx *rx, char *raw)
{
	char *t = (char *)v_text(rx, raw), *p, ex[48];
	bool changed = false;

	if (t == NULL)
		return NULL;
	for (p = t; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z') {
			*p = (char)(*p - 'A' + 'a');
			changed = true;
		}
	if (changed)
		rx_note(rx, &rx->notes->fixed, "keyword \"%s\" lower-cased", excerpt(ex, t));
	return t;
}

/* v_domain - v_lower without one trailing dot (domains compare that way) */
static const char *
v_domain(struct rx *rx, char *raw)
{
	char *t = (char *)v_lower(rx, raw), ex[48];
	size_t n;

	if (t == NULL)
		return NULL;
	n = strlen(t);
	if (n > 1 && t[n - 1] == '.') {
		t[n - 1] = '\0';
		rx_note(rx, &rx->notes->fixed, "trailing dot of \"%s.\" dropped", excerpt(ex, t));
	}
	return t;
}

/* set - *dst = a copy of v, unless *dst is set already (first one wins) */
static void
set(struct rx *rx, char **dst, const char *v, const char *what)
{
	if (v == NULL)
		return;
	if (*dst != NULL) {
		rx_note(rx, &rx->notes->dropped, "a second <%s> ignored", what);
		return;
	}
	*dst = xstrdup(v);
}

/*
 * parse_num - decimal digits into *out (at most max); with frac, a
 * fraction ".digits" is allowed and dropped.  -1 when it is no such number.
 */
static int
parse_num(const char *s, bool frac, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (max - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (frac && *s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	if (*s != '\0')
		return -1;
	*out = v;
	return 0;
}

/* v_time - date_range begin/end (RFC 7489 Appendix C: xs:integer seconds) */
static void
v_time(struct rx *rx, char *raw, time_t *dst, bool *have, const char *what)
{
	const char *t = v_text(rx, raw);
	unsigned long long v;
	char ex[48];

	if (*have) {
		rx_note(rx, &rx->notes->dropped, "a second date_range/%s ignored", what);
		return;
	}
	if (t == NULL || parse_num(t, true, (unsigned long long)MAX_TIME, &v) < 0) {
		rx_fail(rx, "date_range/%s \"%s\" is not a time in seconds since 1970 "
		    "(line %d)", what, excerpt(ex, t != NULL ? t : ""), rx_line(rx));
		return;
	}
	if (strchr(t, '.') != NULL)
		rx_note(rx, &rx->notes->fixed, "fraction of date_range/%s \"%s\" dropped",
		    what, excerpt(ex, t));
	*dst = (time_t)v;
	*have = true;
}

/* v_error - RFC 7489 Appendix C: report_metadata/error, zero or more */
static void
v_error(struct rx *rx, char *raw)
{
	const char *t = v_text(rx, raw);
	char *joined;

	if (t == NULL)
		return;
	if (rx->rep->error == NULL) {
		rx->rep->error = xstrdup(t);
		return;
	}
	if (strlen(rx->rep->error) + strlen(t) + 2 > RXML_MAX_TEXT) {
		rx_note(rx, &rx->notes->dropped, "more report_metadata/error text than %d bytes",
		    RXML_MAX_TEXT);
		return;
	}
	joined = xasprintf("%s; %s", rx->rep->error, t);
	free(rx->rep->error);
	rx->rep->error = joined;
}

/* v_pct - RFC 7489 §6.3 pct: 0..100, -1 when absent or not a percentage */
static void
v_pct(struct rx *rx, char *raw)
{
	const char *t = v_text(rx, raw);
	unsigned long long v;
	char ex[48];

	if (t == NULL)
		return;
	if (parse_num(t, true, 100, &v) < 0) {
		rx_note(rx, &rx->notes->fixed, "pct \"%s\" is not 0..100: ignored",
		    excerpt(ex, t));
		return;
	}
	rx->rep->pct = (int)v;
}

/* ------------------------------------------------------------------ */
/* records                                                             */

/* row_discard - free a record that is not kept */
static void
row_discard(struct report_row *row)
{
	struct report tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.rows = row;		/* report_free releases the row and the struct */
	tmp.n_rows = 1;
	report_free(&tmp);
}

/* record_start - a <record>: RFC 7489 Appendix C RecordType, RFC 9990 §3.1.1.7 */
static void
record_start(struct rx *rx)
{
	if (++rx->records > RXML_MAX_RECORDS) {
		rx_fail(rx, "more than %d records (line %d)", RXML_MAX_RECORDS, rx_line(rx));
		return;
	}
	rx->row = xcalloc(1, sizeof(*rx->row));
	rx->dkim = NULL;
	rx->spf = NULL;
	rx->reason = NULL;
	rx->count_state = 0;
	rx->count = 0;
}

/*
 * record_end - keep the record when its source_ip is an address and its
 * count a number (RFC 7489 Appendix C: IPAddress, xs:integer), else skip
 * it and count it in the notes.
 */
static void
record_end(struct rx *rx)
{
	struct report_row *row = rx->row;
	struct report *rep = rx->rep;
	unsigned char addr[sizeof(struct in6_addr)];
	char norm[INET6_ADDRSTRLEN], ex[48];
	int af = 0;

	rx->row = NULL;
	rx->dkim = NULL;
	rx->spf = NULL;
	rx->reason = NULL;
	if (row->source_ip != NULL) {
		if (inet_pton(AF_INET, row->source_ip, addr) == 1)
			af = AF_INET;
		else if (inet_pton(AF_INET6, row->source_ip, addr) == 1)
			af = AF_INET6;
	}
	if (af == 0 || rx->count_state != 1) {
		char why[sizeof(rx->notes->first_skipped)];

		if (af == 0)
			snprintf(why, sizeof(why), "record %lu skipped: source_ip \"%s\" is not "
			    "an IP address", rx->records,
			    excerpt(ex, row->source_ip != NULL ? row->source_ip : ""));
		else
			snprintf(why, sizeof(why), "record %lu skipped: %s", rx->records,
			    rx->count_state == 0 ? "no count" : "count is not a number of messages");
		if (rx->notes->first_skipped[0] == '\0')
			memcpy(rx->notes->first_skipped, why, sizeof(why));
		rx_note(rx, &rx->notes->skipped_records, "%s", why);
		row_discard(row);
		return;
	}
	if (inet_ntop(af, addr, norm, sizeof(norm)) != NULL &&
	    strcmp(norm, row->source_ip) != 0) {
		free(row->source_ip);
		row->source_ip = xstrdup(norm);
	}
	row->count = rx->count;
	/* report.h: these are never NULL; "" says the receiver left them out */
	if (row->disposition == NULL)
		row->disposition = xstrdup("");
	if (row->dkim == NULL)
		row->dkim = xstrdup("");
	if (row->spf == NULL)
		row->spf = xstrdup("");
	if (row->header_from == NULL)
		row->header_from = xstrdup("");
	if (rep->n_rows == rx->rows_cap) {
		rx->rows_cap = rx->rows_cap == 0 ? 16 : rx->rows_cap * 2;
		rep->rows = xrealloc(rep->rows, rx->rows_cap * sizeof(*rep->rows));
	}
	rep->rows[rep->n_rows++] = *row;
	free(row);
}

/* reason_end - drop a reason with neither type nor comment (empty_reason.xml) */
static void
reason_end(struct rx *rx)
{
	struct report_row *row = rx->row;
	struct report_reason *r = rx->reason;

	rx->reason = NULL;
	if (r == NULL)
		return;
	if (r->type == NULL && r->comment == NULL) {
		row->n_reasons--;
		rx_note(rx, &rx->notes->fixed, "record %lu: an empty <reason> dropped", rx->records);
		return;
	}
	if (r->type == NULL) {
		r->type = xstrdup("other");
		rx_note(rx, &rx->notes->fixed, "record %lu: a <reason> without type is \"other\"",
		    rx->records);
	}
}

/* push - one more element of a per-record array, NULL past RXML_MAX_RESULTS */
static void *
push(struct rx *rx, void **arr, size_t *n, size_t size, const char *what)
{
	char *p;

	if (*n >= RXML_MAX_RESULTS) {
		rx_note(rx, &rx->notes->dropped, "record %lu: more than %d %s, the rest ignored",
		    rx->records, RXML_MAX_RESULTS, what);
		return NULL;
	}
	*arr = xrealloc(*arr, (*n + 1) * size);
	p = (char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

/* ------------------------------------------------------------------ */
/* SAX callbacks                                                       */

/* on_doctype - a DOCTYPE: refused before its internal subset is read */
static void
on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	struct rx *rx = ctx;

	(void)name;
	(void)ext;
	(void)sys;
	rx_fail(rx, "refused: the document has a DOCTYPE (line %d); a DMARC report has "
	    "none, and DTDs and entities are never read (entity bombs, external "
	    "entities)", rx_line(rx));
}

/* on_start - a start tag: bounds, the element stack, new records and results */
static void
on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
    int nb_ns, const xmlChar **ns, int nb_attr, int nb_def, const xmlChar **attrs)
{
	struct rx *rx = ctx;
	struct report_row *row;
	enum el id;
	int i;

	(void)prefix;
	(void)nb_ns;
	(void)ns;
	(void)nb_def;
	if (rx->failed)
		return;
	if (++rx->depth > RXML_MAX_DEPTH) {
		rx_fail(rx, "elements nested deeper than %d (line %d)", RXML_MAX_DEPTH,
		    rx_line(rx));
		return;
	}
	if (++rx->elements > RXML_MAX_ELEMENTS) {
		rx_fail(rx, "more than %u elements (line %d)", RXML_MAX_ELEMENTS, rx_line(rx));
		return;
	}
	/* SAX2: 5 pointers per attribute, value from [3] to [4] */
	for (i = 0; i < nb_attr; i++)
		if (attrs[i * 5 + 4] - attrs[i * 5 + 3] > RXML_MAX_ATTR) {
			rx_fail(rx, "an attribute value longer than %d bytes (line %d)",
			    RXML_MAX_ATTR, rx_line(rx));
			return;
		}
	id = el_lookup(local);
	rx->stack[rx->depth] = id;
	rx->leaf = true;
	buf_reset(&rx->text);
	if (rx->fb == 0) {
		if (id != E_FEEDBACK)
			return;
		if (rx->closed) {
			rx_note(rx, &rx->notes->ignored, "a second <feedback> ignored (line %d)",
			    rx_line(rx));
			return;
		}
		/* RFC 9990 §3.1.1.1: the namespace says the format */
		rx->fb = rx->depth;
		if (uri != NULL && strcmp((const char *)uri, NS_9990) == 0)
			rx->fmt9990 = true;
		return;
	}
	if (id == E_OTHER)
		rx_note(rx, &rx->notes->ignored, "unknown element <%.60s> ignored (line %d)",
		    (const char *)local, rx_line(rx));
	if (AT(E_RECORD))
		record_start(rx);
	if ((row = rx->row) == NULL)
		return;
	if (AT(E_RECORD, E_AUTH_RESULTS, E_DKIM))
		rx->dkim = push(rx, (void **)&row->dkim_results, &row->n_dkim,
		    sizeof(*row->dkim_results), "DKIM results");
	else if (AT(E_RECORD, E_AUTH_RESULTS, E_SPF))
		rx->spf = push(rx, (void **)&row->spf_results, &row->n_spf,
		    sizeof(*row->spf_results), "SPF results");
	else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON))
		rx->reason = push(rx, (void **)&row->reasons, &row->n_reasons,
		    sizeof(*row->reasons), "reasons");
}

/* on_text - character data (and CDATA) of the current element, bounded */
static void
on_text(void *ctx, const xmlChar *s, int len)
{
	struct rx *rx = ctx;

	if (rx->failed || rx->fb == 0 || len <= 0)
		return;
	/*
	 * White space before any other text is dropped here (values are
	 * trimmed anyway), so the indentation between child elements never
	 * counts against RXML_MAX_TEXT.
	 */
	if (rx->text.len == 0) {
		while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
			s++;
			len--;
		}
		if (len == 0)
			return;
	}
	if (buf_append(&rx->text, s, (size_t)len) < 0) {
		const char *name = "?";
		size_t i;

		for (i = 0; i < sizeof(el_names) / sizeof(el_names[0]); i++)
			if (el_names[i].id == rx->stack[rx->depth])
				name = el_names[i].name;
		rx_fail(rx, "the text of <%s> is longer than %d bytes (line %d)", name,
		    RXML_MAX_TEXT, rx_line(rx));
	}
}

/* leaf_metadata - report_metadata children (RFC 9990 §3.1.1.3) */
static void
leaf_metadata(struct rx *rx, enum el id, char *t)
{
	struct report *rep = rx->rep;

	switch (id) {
	case E_ORG_NAME:
		set(rx, &rep->org_name, v_text(rx, t), "org_name");
		break;
	case E_EMAIL:
		set(rx, &rep->email, v_text(rx, t), "email");
		break;
	case E_EXTRA_CONTACT_INFO:
		set(rx, &rep->extra_contact_info, v_text(rx, t), "extra_contact_info");
		break;
	case E_REPORT_ID:
		set(rx, &rep->report_id, v_text(rx, t), "report_id");
		break;
	case E_ERROR:
		v_error(rx, t);
		break;
	case E_GENERATOR:
		rx->fmt9990 = true;	/* RFC 9990 only */
		set(rx, &rep->generator, v_text(rx, t), "generator");
		break;
	default:
		break;
	}
}

/* leaf_policy - policy_published children (RFC 7489 §6.3, RFC 9990 §3.1.1.5) */
static void
leaf_policy(struct rx *rx, enum el id, char *t)
{
	struct report *rep = rx->rep;

	switch (id) {
	case E_DOMAIN:
		set(rx, &rep->domain, v_domain(rx, t), "domain");
		break;
	case E_ADKIM:
		set(rx, &rep->adkim, v_lower(rx, t), "adkim");
		break;
	case E_ASPF:
		set(rx, &rep->aspf, v_lower(rx, t), "aspf");
		break;
	case E_P:
		set(rx, &rep->p, v_lower(rx, t), "p");
		break;
	case E_SP:
		set(rx, &rep->sp, v_lower(rx, t), "sp");
		break;
	case E_NP:
		rx->fmt9990 = true;
		set(rx, &rep->np, v_lower(rx, t), "np");
		break;
	case E_PCT:
		v_pct(rx, t);
		break;
	case E_FO:
		set(rx, &rep->fo, v_text(rx, t), "fo");
		break;
	case E_TESTING:
		rx->fmt9990 = true;
		set(rx, &rep->testing, v_lower(rx, t), "testing");
		break;
	case E_DISCOVERY_METHOD:
		rx->fmt9990 = true;
		set(rx, &rep->discovery_method, v_lower(rx, t), "discovery_method");
		break;
	default:
		break;
	}
}

/* leaf_count - row/count: a decimal number of messages, RXML_MAX_COUNT at most */
static void
leaf_count(struct rx *rx, char *raw)
{
	const char *t = v_text(rx, raw);

	if (rx->count_state != 0) {
		rx_note(rx, &rx->notes->dropped, "record %lu: a second <count> ignored",
		    rx->records);
		return;
	}
	rx->count_state = parse_num(t, false, RXML_MAX_COUNT, &rx->count) == 0 ? 1 : -1;
}

/* leaf_record - the text elements of one record */
static void
leaf_record(struct rx *rx, enum el id, char *t)
{
	struct report_row *row = rx->row;

	if (AT(E_RECORD, E_ROW, E_SOURCE_IP))
		set(rx, &row->source_ip, v_text(rx, t), "source_ip");
	else if (AT(E_RECORD, E_ROW, E_COUNT))
		leaf_count(rx, t);
	else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_DISPOSITION))
		set(rx, &row->disposition, v_lower(rx, t), "disposition");
	else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_DKIM))
		set(rx, &row->dkim, v_lower(rx, t), "dkim");
	else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_SPF))
		set(rx, &row->spf, v_lower(rx, t), "spf");
	else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON)) {
		/* the older shape: <reason>keyword</reason> */
		if (rx->reason != NULL)
			set(rx, &rx->reason->type, v_lower(rx, t), "reason");
	} else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON, E_TYPE)) {
		if (rx->reason != NULL)
			set(rx, &rx->reason->type, v_lower(rx, t), "type");
	} else if (AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON, E_COMMENT)) {
		if (rx->reason != NULL)
			set(rx, &rx->reason->comment, v_text(rx, t), "comment");
	} else if (AT(E_RECORD, E_IDENTIFIERS, E_HEADER_FROM))
		set(rx, &row->header_from, v_domain(rx, t), "header_from");
	else if (AT(E_RECORD, E_IDENTIFIERS, E_ENVELOPE_FROM))
		set(rx, &row->envelope_from, v_domain(rx, t), "envelope_from");
	else if (AT(E_RECORD, E_IDENTIFIERS, E_ENVELOPE_TO))
		set(rx, &row->envelope_to, v_domain(rx, t), "envelope_to");
	else if (rx->dkim != NULL && rx->stack[rx->depth - 1] == E_DKIM && rx->depth == rx->fb + 4) {
		/* record/auth_results/dkim/... (RFC 9990 §3.1.1.12) */
		if (id == E_DOMAIN)
			set(rx, &rx->dkim->domain, v_domain(rx, t), "dkim/domain");
		else if (id == E_SELECTOR)
			set(rx, &rx->dkim->selector, v_text(rx, t), "selector");
		else if (id == E_RESULT)
			set(rx, &rx->dkim->result, v_lower(rx, t), "dkim/result");
		else if (id == E_HUMAN_RESULT)
			set(rx, &rx->dkim->human_result, v_text(rx, t), "human_result");
	} else if (rx->spf != NULL && rx->stack[rx->depth - 1] == E_SPF && rx->depth == rx->fb + 4) {
		/* record/auth_results/spf/... (RFC 9990 §3.1.1.13) */
		if (id == E_DOMAIN)
			set(rx, &rx->spf->domain, v_domain(rx, t), "spf/domain");
		else if (id == E_SCOPE)
			set(rx, &rx->spf->scope, v_lower(rx, t), "scope");
		else if (id == E_RESULT)
			set(rx, &rx->spf->result, v_lower(rx, t), "spf/result");
		else if (id == E_HUMAN_RESULT)
			set(rx, &rx->spf->human_result, v_text(rx, t), "human_result");
	}
}

/* on_end - an end tag: the text of a leaf goes where its path says */
static void
on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct rx *rx = ctx;
	enum el id;
	char *t;

	(void)local;
	(void)prefix;
	(void)uri;
	if (rx->failed || rx->depth == 0)
		return;
	id = rx->stack[rx->depth];
	if (rx->fb != 0) {
		t = rx->leaf ? rx->text.data : NULL;
		if (t == NULL)
			t = (char *)"";
		if (rx->depth == rx->fb) {
			rx->fb = 0;
			rx->closed = true;
		} else if (AT(E_VERSION)) {
			const char *v = v_text(rx, t);

			/* version 2.0: the DMARCbis drafts that became RFC 9990 */
			if (v != NULL && strcmp(v, "2.0") == 0)
				rx->fmt9990 = true;
		} else if (rx->depth == rx->fb + 2 && rx->stack[rx->fb + 1] == E_REPORT_METADATA) {
			if (rx->leaf)
				leaf_metadata(rx, id, t);
		} else if (AT(E_REPORT_METADATA, E_DATE_RANGE, E_BEGIN)) {
			v_time(rx, t, &rx->rep->begin, &rx->have_begin, "begin");
		} else if (AT(E_REPORT_METADATA, E_DATE_RANGE, E_END)) {
			v_time(rx, t, &rx->rep->end, &rx->have_end, "end");
		} else if (rx->depth == rx->fb + 2 && rx->stack[rx->fb + 1] == E_POLICY_PUBLISHED) {
			if (rx->leaf)
				leaf_policy(rx, id, t);
		} else if (rx->row != NULL && AT(E_RECORD)) {
			record_end(rx);
		} else if (rx->row != NULL && AT(E_RECORD, E_ROW, E_POLICY_EVALUATED, E_REASON)) {
			if (rx->leaf)
				leaf_record(rx, id, t);
			reason_end(rx);
		} else if (rx->row != NULL && AT(E_RECORD, E_AUTH_RESULTS, E_DKIM)) {
			rx->dkim = NULL;
		} else if (rx->row != NULL && AT(E_RECORD, E_AUTH_RESULTS, E_SPF)) {
			rx->spf = NULL;
		} else if (rx->row != NULL && rx->leaf) {
			leaf_record(rx, id, t);
		}
	}
	rx->leaf = false;
	buf_reset(&rx->text);
	rx->depth--;
}

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlErrorPtr xml_error_arg;
#endif

/*
 * on_error - the context's structured error handler.  Namespace errors (an
 * undeclared prefix) are not fatal: elements match by local name.  After
 * </feedback> an error is noted (ikea.com's unclosed wrapper), not fatal.
 */
static void
on_error(void *ctx, xml_error_arg e)
{
	struct rx *rx = ctx;
	char msg[300];

	if (e == NULL || e->level == XML_ERR_WARNING || rx->failed)
		return;
	if (e->code == XML_ERR_USER_STOP)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "unknown error");
	printable(msg);
	if (e->domain == XML_FROM_NAMESPACE && e->level != XML_ERR_FATAL) {
		rx_note(rx, &rx->notes->fixed, "namespace problem ignored, line %d: %s",
		    e->line, msg);
		return;
	}
	if (rx->closed) {
		rx_note(rx, &rx->notes->fixed, "not well-formed after </feedback>, ignored: "
		    "line %d: %s", e->line, msg);
		return;
	}
	if (e->code == XML_ERR_INVALID_CHAR || e->code == XML_ERR_INVALID_ENCODING)
		rx_error(rx, "not well-formed XML, line %d: invalid character or encoding: %s",
		    e->line, msg);
	else
		rx_error(rx, "not well-formed XML, line %d: %s", e->line, msg);
}

/*
 * quiet - libxml2 generic-error sink for the call (as in xml.c): nothing
 * reaches stderr behind our back.
 */
static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* ------------------------------------------------------------------ */
/* the document                                                        */

/*
 * prescan - before libxml2 sees the bytes: a NUL is refused (no XML
 * character, XML 1.0 §2.2), and so is a start tag with more than
 * RXML_MAX_ATTRS attributes or an attribute value longer than
 * RXML_MAX_ATTR bytes (libxml2 would otherwise read it whole, up to its
 * own 10 MB limit, and report "Huge input lookup").  Attribute values
 * cannot hold "<" (XML 1.0 §3.1 AttValue), so everything between a "<"
 * that opens a start tag and the next "<" holds the whole tag: counting
 * there over-counts (text after the tag) but never under-counts.
 * Segments opened by "</", "<!" and "<?" hold no attributes.
 */
static int
prescan(const char *xml, size_t len, char *err, size_t errlen)
{
	const char *nul = memchr(xml, '\0', len);
	size_t i, eq = 0, vstart = 0;
	bool counting = false;
	char quote = 0;

	if (nul != NULL) {
		err_set(err, errlen, "refused: a NUL byte at offset %zu (not XML; UTF-16 "
		    "is not read)", (size_t)(nul - xml));
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = xml[i];

		if (c == '<') {
			counting = i + 1 < len && xml[i + 1] != '/' && xml[i + 1] != '!' &&
			    xml[i + 1] != '?';
			eq = 0;
			quote = 0;
		} else if (!counting) {
			continue;
		} else if (quote != 0) {
			if (c == quote)
				quote = 0;
			else if (i - vstart >= RXML_MAX_ATTR) {
				err_set(err, errlen, "refused: an attribute value longer than %d "
				    "bytes (offset %zu)", RXML_MAX_ATTR, vstart);
				return -1;
			}
		} else if (c == '=') {
			if (++eq > RXML_MAX_ATTRS) {
				err_set(err, errlen, "refused: a start tag with more than %d "
				    "attributes (offset %zu)", RXML_MAX_ATTRS, i);
				return -1;
			}
		} else if (c == '"' || c == '\'') {
			quote = c;
			vstart = i + 1;
		}
	}
	return 0;
}

/* finish - the report-level requirements once the document is read */
static int
finish(struct rx *rx)
{
	struct report *rep = rx->rep;
	const char *at;
	char ex[48];

	if (!rx->closed) {
		rx_fail(rx, "not a DMARC aggregate report: no <feedback> element");
		return -1;
	}
	/* parsedmarc's rule for real reports with <org_name></org_name> */
	if (rep->org_name == NULL && rep->email != NULL &&
	    (at = strrchr(rep->email, '@')) != NULL && at[1] != '\0') {
		rep->org_name = xstrdup(at + 1);
		ascii_lowercase(rep->org_name);
		rx_note(rx, &rx->notes->fixed, "no org_name: \"%s\" from <email> used",
		    excerpt(ex, rep->org_name));
	}
	if (rep->org_name == NULL)
		rx_fail(rx, "report_metadata/org_name is missing (and no <email> to take "
		    "a name from)");
	else if (rep->report_id == NULL)
		rx_fail(rx, "report_metadata/report_id is missing");
	else if (!rx->have_begin)
		rx_fail(rx, "report_metadata/date_range/begin is missing");
	else if (!rx->have_end)
		rx_fail(rx, "report_metadata/date_range/end is missing");
	else if (rep->end < rep->begin)
		rx_fail(rx, "report_metadata/date_range ends (%lld) before it begins (%lld)",
		    (long long)rep->end, (long long)rep->begin);
	else if (rep->domain == NULL)
		rx_fail(rx, "policy_published/domain is missing");
	if (rx->failed)
		return -1;
	if (rep->email == NULL)
		rep->email = xstrdup("");
	if (rep->p == NULL)
		rep->p = xstrdup("");
	/* RFC 7489 §6.3: adkim and aspf default to relaxed */
	if (rep->adkim == NULL)
		rep->adkim = xstrdup("r");
	if (rep->aspf == NULL)
		rep->aspf = xstrdup("r");
	rep->format = rx->fmt9990 ? REPORT_RFC9990 : REPORT_RFC7489;
	return 0;
}

/* rxml_free - (rxml.h) */
void
rxml_free(struct report *rep)
{
	if (rep == NULL)
		return;
	report_free(rep);
	free(rep);
}

/* rxml_parse - (rxml.h) */
int
rxml_parse(const char *xml, size_t len, struct report **out,
    struct rxml_notes *notes, char *err, size_t errlen)
{
	struct rxml_notes dummy;
	struct rx rx;
	xmlSAXHandler sax;
	xmlGenericErrorFunc old_handler;
	void *old_ctx;
	size_t off, n;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (notes == NULL)
		notes = &dummy;
	memset(notes, 0, sizeof(*notes));
	if (out == NULL || (xml == NULL && len > 0)) {
		err_set(err, errlen, "rxml_parse: no document or no place for the report");
		return -1;
	}
	if (len > RXML_MAX_BYTES) {
		err_set(err, errlen, "refused: the document is larger than %u bytes",
		    RXML_MAX_BYTES);
		return -1;
	}
	if (prescan(xml, len, err, errlen) < 0)
		return -1;
	/* A UTF-8 BOM is fine; white space before the XML declaration is not
	 * (XML 1.0 §2.8) but harmless: skipped. */
	off = len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	n = off;
	while (n < len && (xml[n] == ' ' || xml[n] == '\t' || xml[n] == '\r' || xml[n] == '\n'))
		n++;
	if (n == len) {
		err_set(err, errlen, "refused: an empty document");
		return -1;
	}
	memset(&rx, 0, sizeof(rx));
	rx.notes = notes;
	if (n > off) {
		rx_note(&rx, &notes->fixed, "white space before the document skipped");
		off = n;
	}
	rx.rep = xcalloc(1, sizeof(*rx.rep));
	rx.rep->pct = -1;
	buf_init(&rx.text, RXML_MAX_TEXT);

	memset(&sax, 0, sizeof(sax));
	sax.initialized = XML_SAX2_MAGIC;
	sax.internalSubset = on_doctype;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.characters = on_text;
	sax.cdataBlock = on_text;
	sax.serror = on_error;

	xmlInitParser();
	old_handler = xmlGenericError;
	old_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet);
	rx.pc = xmlCreatePushParserCtxt(&sax, &rx, NULL, 0, "report.xml");
	if (rx.pc == NULL) {
		rx_fail(&rx, "libxml2 cannot create a parser");
	} else {
		xmlCtxtUseOptions(rx.pc, XML_PARSE_NONET);
		/* whatever libxml2's process-wide defaults say */
		rx.pc->replaceEntities = 0;
		rx.pc->loadsubset = 0;
		rx.pc->validate = 0;
		while (off < len && !rx.failed) {
			n = len - off > CHUNK ? CHUNK : len - off;
			xmlParseChunk(rx.pc, xml + off, (int)n, 0);
			off += n;
		}
		if (!rx.failed)
			xmlParseChunk(rx.pc, NULL, 0, 1);
		if (!rx.failed && !rx.closed && !rx.pc->wellFormed)
			rx_fail(&rx, "not well-formed XML");
		xmlFreeParserCtxt(rx.pc);
		rx.pc = NULL;
	}
	xmlSetGenericErrorFunc(old_ctx, old_handler);
	if (!rx.failed && finish(&rx) == 0)
		rc = 0;
	if (rx.row != NULL)
		row_discard(rx.row);
	buf_free(&rx.text);
	if (rc < 0) {
		err_set(err, errlen, "%s", rx.err);
		rxml_free(rx.rep);
		return -1;
	}
	*out = rx.rep;
	return 0;
}
