/*
 * xml.c - write a struct report as aggregate-report XML, and validate such
 * a document against an XSD (xml.h).
 *
 * Section numbers for RFC 9990 are those of
 * draft-ietf-dmarc-aggregate-reporting-32 (see xml.h).
 *
 * Element order.  Where a schema uses xs:sequence (RFC 9990: feedback,
 * record, policy_evaluated, auth_results; RFC 7489: also report_metadata)
 * the order is mandatory and RFC 9990 §3.1.1.2, §3.1.1.7, §3.1.1.9 and
 * §3.1.1.11 say the elements MUST appear in the order listed.  Where it
 * uses xs:all any order validates; we still write the order in which the
 * format's XSD declares the elements, so each format looks like its schema.
 *
 * RFC 9990 output: root <feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
 * (§3.1.1.1), <version>1.0</version> (§3.1.1.2: optional, but when present
 * it MUST be 1.0), generator when set, np/testing/discovery_method when
 * set, no pct.  Optional values that are NULL are left out.  The DKIM
 * selector is always written, "" when unknown (§3.1.1.12: REQUIRED).
 * SPF (§3.1.1.13): at most one result and only the MAIL FROM identity, so
 * the first result whose scope is "mfrom" (or NULL) is written; failing
 * that, for a null reverse-path only, a "helo" result, because RFC 7208
 * §2.4 makes postmaster@HELO the MAIL FROM identity then (RFC 9989
 * §3.2.4); it is written with scope "mfrom", the only value the schema
 * allows.  Other HELO results are not reported.  Disposition "pass" is
 * kept (ActionDispositionType).  Reason types: RFC 7489's "sampled_out"
 * and "forwarded" do not exist in RFC 9990 (§3.1.6) and become "other",
 * with the old keyword as comment when there is none.
 *
 * RFC 7489 output: Appendix C names and order.  Namespace: we emit NONE,
 * i.e. a plain <feedback>.  The Appendix C schema declares
 * targetNamespace "http://dmarc.org/dmarc-xml/0.1" without
 * elementFormDefault="qualified", so a document valid against it would
 * need the namespace on the root element only and unqualified children
 * (<d:feedback xmlns:d="..."><version>...), a shape no receiver emits and
 * some consumers would not recognise; the large receivers send an
 * unqualified <feedback>, and report.h fixes "no namespace".  The tests
 * validate by putting that prefixed namespace on the root of a copy.
 * The Appendix C schema makes more elements mandatory than RFC 7489's
 * text; missing values get the RFC 7489 §6.3 defaults: sp = p, pct = 100
 * (pct -1 means "not published"), fo = "0".  version is required: "1.0".
 * No generator, np, testing or discovery_method (not in the schema).
 * source_ip must match the schema's IPAddress pattern, which knows no
 * "::" shorthand, so IPv6 addresses are written with all eight groups.
 * envelope_from is required: "" when NULL.  SPF: every result, scope
 * "mfrom" when NULL, no human_result (not in the schema); at least one
 * result is required ("There will always be at least one SPF result"),
 * so a row without one gets domain = envelope_from, scope "mfrom",
 * result "none".  Disposition "pass" (RFC 9990 only) is written "none"
 * (no action was taken), SPF "policy" is refused (not in the 7489
 * vocabulary), and reason "policy_test_mode" becomes "sampled_out": t=y is
 * the counterpart of pct=0 (RFC 9989 Appendix, the "t" tag).
 *
 * Both: at most REPORT_MAX_DKIM DKIM results per row.  A DKIM or SPF
 * result without a domain is written with an empty one.  Keywords are
 * matched case-insensitively and written in lower case.
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
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlwriter.h>

#include "buf.h"
#include "report.h"
#include "util.h"
#include "xml.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Keyword vocabularies; the first entry of each is what gets written. */
static const char *const kw_policy[] = { "none", "quarantine", "reject", NULL };
static const char *const kw_align[] = { "r", "s", NULL };
static const char *const kw_testing[] = { "n", "y", NULL };
static const char *const kw_discovery[] = { "psl", "treewalk", NULL };
static const char *const kw_verdict[] = { "pass", "fail", NULL };
static const char *const kw_disp_9990[] = { "none", "pass", "quarantine", "reject", NULL };
static const char *const kw_disp_7489[] = { "none", "quarantine", "reject", NULL };
static const char *const kw_dkim_res[] = { "none", "pass", "fail", "policy", "neutral",
	"temperror", "permerror", NULL };
static const char *const kw_spf_9990[] = { "none", "pass", "fail", "softfail", "policy",
	"neutral", "temperror", "permerror", NULL };
static const char *const kw_spf_7489[] = { "none", "neutral", "pass", "fail", "softfail",
	"temperror", "permerror", NULL };
static const char *const kw_scope[] = { "mfrom", "helo", NULL };

/* Reason types per format: { keyword as stored, keyword written }. */
struct reason_map {
	const char	*in;
	const char	*out;
};
static const struct reason_map reasons_9990[] = {
	{ "local_policy", "local_policy" },
	{ "mailing_list", "mailing_list" },
	{ "other", "other" },
	{ "policy_test_mode", "policy_test_mode" },
	{ "trusted_forwarder", "trusted_forwarder" },
	{ "sampled_out", "other" },
	{ "forwarded", "other" },
};
static const struct reason_map reasons_7489[] = {
	{ "forwarded", "forwarded" },
	{ "sampled_out", "sampled_out" },
	{ "trusted_forwarder", "trusted_forwarder" },
	{ "mailing_list", "mailing_list" },
	{ "local_policy", "local_policy" },
	{ "other", "other" },
	{ "policy_test_mode", "sampled_out" },
};

/* One document being written. */
struct xw {
	xmlTextWriterPtr	 w;
	enum report_format	 fmt;
	struct buf		*out;
	struct buf		 tmp;		/* the current value, cleaned */
	size_t			 rec;		/* 1-based record number, 0 outside records */
	char			*err;
	size_t			 errlen;
	bool			 failed;
	bool			 overflow;	/* out's cap was reached */
};

/* excerpt - a short printable-ASCII copy of an untrusted value for a message */
static const char *
excerpt(char dst[48], const char *s)
{
	size_t i;

	if (s == NULL)
		return "(null)";
	for (i = 0; i < 40 && s[i] != '\0'; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0' && i == 40) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
	return dst;
}

/* xw_fail - record the first error (with the record number) and stop writing */
static void __attribute__((format(printf, 2, 3)))
xw_fail(struct xw *x, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (x->failed)
		return;
	x->failed = true;
	if (x->errlen == 0)
		return;
	if (x->rec > 0)
		n = snprintf(x->err, x->errlen, "record %zu: ", x->rec);
	if (n < 0 || (size_t)n >= x->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* xw_write - xmlOutputBuffer sink: append to the caller's buf, refuse past its cap */
static int
xw_write(void *ctx, const char *p, int len)
{
	struct xw *x = ctx;

	if (len < 0)
		return -1;
	if (buf_append(x->out, p, (size_t)len) < 0) {
		x->overflow = true;
		return -1;
	}
	return len;
}

/* xw_close - xmlOutputBuffer close hook: the buf stays with the caller */
static int
xw_close(void *ctx)
{
	(void)ctx;
	return 0;
}

/*
 * utf8_len - length of the well-formed UTF-8 sequence at s (RFC 3629 §4,
 * the byte ranges of its ABNF), 0 when there is none; the code point goes
 * to *cp.  s is NUL-terminated, so a truncated sequence meets a NUL, which
 * no continuation range contains.
 */
static size_t
utf8_len(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		*cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		*cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;		/* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;		/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		*cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;		/* no overlong forms */
		else if (c == 0xf4)
			hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char cc = s[i];

		if (cc < (i == 1 ? lo : 0x80) || cc > (i == 1 ? hi : 0xbf))
			return 0;
		*cp = (*cp << 6) | (cc & 0x3f);
	}
	return n;
}

/* xml_char - true for a character XML 1.0 (§2.2, production [2] Char) allows */
static bool
xml_char(uint32_t cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd ||
	    (cp >= 0x20 && cp <= 0xd7ff) ||
	    (cp >= 0xe000 && cp <= 0xfffd) ||
	    (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * xw_clean - value as well-formed UTF-8 made only of XML 1.0 characters:
 * every byte that starts no well-formed sequence and every character XML
 * does not allow is replaced by U+FFFD (xml.h).  The markup characters are
 * left to the writer's escaping.  Returns NULL (and fails) past the cap.
 */
static const char *
xw_clean(struct xw *x, const char *value)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)value;
	const unsigned char *run = s;
	uint32_t cp;
	size_t n;

	buf_reset(&x->tmp);
	while (*s != '\0') {
		n = utf8_len(s, &cp);
		if (n > 0 && xml_char(cp)) {
			s += n;
			continue;
		}
		buf_append(&x->tmp, run, (size_t)(s - run));
		buf_append(&x->tmp, repl, 3);
		s += n > 0 ? n : 1;
		run = s;
	}
	buf_append(&x->tmp, run, (size_t)(s - run));
	if (x->tmp.truncated) {
		xw_fail(x, "a value is longer than %zu bytes", x->tmp.cap);
		return NULL;
	}
	return buf_str(&x->tmp);
}

/* xw_start - open an element */
static void
xw_start(struct xw *x, const char *name)
{
	if (!x->failed && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		xw_fail(x, "cannot write <%s>", name);
}

/* xw_end - close the innermost open element */
static void
xw_end(struct xw *x)
{
	if (!x->failed && xmlTextWriterEndElement(x->w) < 0)
		xw_fail(x, "cannot close an element");
}

/* xw_text - <name>value</name>, value cleaned and escaped; NULL writes "" */
static void
xw_text(struct xw *x, const char *name, const char *value)
{
	const char *clean;

	if (x->failed)
		return;
	clean = xw_clean(x, value != NULL ? value : "");
	if (clean == NULL)
		return;
	if (xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST clean) < 0)
		xw_fail(x, "cannot write <%s>", name);
}

/* xw_opt - <name>value</name> when value is not NULL */
static void
xw_opt(struct xw *x, const char *name, const char *value)
{
	if (value != NULL)
		xw_text(x, name, value);
}

/* keyword - the table's spelling of v (ASCII case-insensitive), or NULL */
static const char *
keyword(const char *v, const char *const *tab)
{
	for (; v != NULL && *tab != NULL; tab++)
		if (ascii_strcaseeq(v, *tab))
			return *tab;
	return NULL;
}

/* xw_kw - <name>keyword</name>; fails when v is NULL or not in tab */
static void
xw_kw(struct xw *x, const char *name, const char *v, const char *const *tab)
{
	const char *k = keyword(v, tab);
	char ex[48];

	if (x->failed)
		return;
	if (k == NULL) {
		if (v == NULL)
			xw_fail(x, "%s is missing", name);
		else
			xw_fail(x, "%s \"%s\" is not valid in this report format",
			    name, excerpt(ex, v));
		return;
	}
	xw_text(x, name, k);
}

/* xw_kw_opt - xw_kw when v is not NULL */
static void
xw_kw_opt(struct xw *x, const char *name, const char *v, const char *const *tab)
{
	if (v != NULL)
		xw_kw(x, name, v, tab);
}

/* xw_num - <name>decimal</name> */
static void
xw_num(struct xw *x, const char *name, unsigned long long v)
{
	char num[24];	/* 20 digits at most */

	snprintf(num, sizeof(num), "%llu", v);
	xw_text(x, name, num);
}

/*
 * ip_text - the RFC 3986 §3.2.2 IPv4address or IPv6address form of a
 * source_ip: IPv4 dotted quad (also for an IPv4-mapped IPv6 address);
 * IPv6 compressed (inet_ntop) for RFC 9990, all eight groups for the RFC
 * 7489 schema's IPAddress pattern.  -1 when s is not an address.
 */
static int
ip_text(const char *s, enum report_format fmt, char *dst, size_t dstlen)
{
	struct in_addr a4;
	struct in6_addr a6;
	const unsigned char *b;

	if (s == NULL)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return inet_ntop(AF_INET, &a4, dst, (socklen_t)dstlen) != NULL ? 0 : -1;
	if (inet_pton(AF_INET6, s, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		return inet_ntop(AF_INET, &a4, dst, (socklen_t)dstlen) != NULL ? 0 : -1;
	}
	if (fmt == REPORT_RFC9990)
		return inet_ntop(AF_INET6, &a6, dst, (socklen_t)dstlen) != NULL ? 0 : -1;
	b = a6.s6_addr;
	snprintf(dst, dstlen, "%x:%x:%x:%x:%x:%x:%x:%x",
	    b[0] << 8 | b[1], b[2] << 8 | b[3], b[4] << 8 | b[5], b[6] << 8 | b[7],
	    b[8] << 8 | b[9], b[10] << 8 | b[11], b[12] << 8 | b[13], b[14] << 8 | b[15]);
	return 0;
}

/* write_metadata - report_metadata (RFC 9990 §3.1.1.3, §3.1.1.4; RFC 7489 Appendix C) */
static void
write_metadata(struct xw *x, const struct report *rep)
{
	if (rep->org_name == NULL || rep->email == NULL || rep->report_id == NULL) {
		xw_fail(x, "report_metadata needs org_name, email and report_id");
		return;
	}
	/* RFC 9990 §3.1.1.4: seconds since the epoch; a period, so end >= begin. */
	if (rep->begin < 0 || rep->end < rep->begin) {
		xw_fail(x, "date_range %lld..%lld is not a period",
		    (long long)rep->begin, (long long)rep->end);
		return;
	}
	xw_start(x, "report_metadata");
	xw_text(x, "org_name", rep->org_name);
	xw_text(x, "email", rep->email);
	xw_opt(x, "extra_contact_info", rep->extra_contact_info);
	xw_text(x, "report_id", rep->report_id);
	xw_start(x, "date_range");
	xw_num(x, "begin", (unsigned long long)rep->begin);
	xw_num(x, "end", (unsigned long long)rep->end);
	xw_end(x);
	xw_opt(x, "error", rep->error);
	if (rep->format == REPORT_RFC9990)
		xw_opt(x, "generator", rep->generator);
	xw_end(x);
}

/* write_policy - policy_published (RFC 9990 §3.1.1.5; RFC 7489 Appendix C, §6.3 defaults) */
static void
write_policy(struct xw *x, const struct report *rep)
{
	if (rep->domain == NULL) {
		xw_fail(x, "policy_published needs the policy domain");
		return;
	}
	xw_start(x, "policy_published");
	xw_text(x, "domain", rep->domain);
	if (rep->format == REPORT_RFC9990) {
		xw_kw(x, "p", rep->p, kw_policy);
		xw_kw_opt(x, "sp", rep->sp, kw_policy);
		xw_kw_opt(x, "np", rep->np, kw_policy);
		xw_kw_opt(x, "adkim", rep->adkim, kw_align);
		xw_kw_opt(x, "aspf", rep->aspf, kw_align);
		xw_kw_opt(x, "discovery_method", rep->discovery_method, kw_discovery);
		xw_opt(x, "fo", rep->fo);
		xw_kw_opt(x, "testing", rep->testing, kw_testing);
	} else {
		if (rep->pct < -1 || rep->pct > 100) {
			xw_fail(x, "pct %d is outside 0..100", rep->pct);
			return;
		}
		xw_kw_opt(x, "adkim", rep->adkim, kw_align);
		xw_kw_opt(x, "aspf", rep->aspf, kw_align);
		xw_kw(x, "p", rep->p, kw_policy);
		/* RFC 7489 §6.3: sp absent means p applies to subdomains. */
		xw_kw(x, "sp", rep->sp != NULL ? rep->sp : rep->p, kw_policy);
		xw_num(x, "pct", rep->pct < 0 ? 100 : (unsigned long long)rep->pct);
		xw_text(x, "fo", rep->fo != NULL ? rep->fo : "0");
	}
	xw_end(x);
}

/* write_reason - one policy_evaluated/reason (RFC 9990 §3.1.1.14, §3.1.6) */
static void
write_reason(struct xw *x, const struct report_reason *r)
{
	const struct reason_map *map = x->fmt == REPORT_RFC9990 ? reasons_9990 : reasons_7489;
	size_t n = x->fmt == REPORT_RFC9990 ? NELEM(reasons_9990) : NELEM(reasons_7489);
	const char *comment = r->comment;
	char ex[48];
	size_t i;

	for (i = 0; i < n; i++)
		if (r->type != NULL && ascii_strcaseeq(r->type, map[i].in))
			break;
	if (i == n) {
		xw_fail(x, "reason type \"%s\" is not known", excerpt(ex, r->type));
		return;
	}
	/* "other": the detail goes in the comment (RFC 9990 §3.1.6). */
	if (comment == NULL && strcmp(map[i].in, map[i].out) != 0 &&
	    strcmp(map[i].out, "other") == 0)
		comment = map[i].in;
	xw_start(x, "reason");
	xw_text(x, "type", map[i].out);
	xw_opt(x, "comment", comment);
	xw_end(x);
}

/* write_row - row: source_ip, count, policy_evaluated (RFC 9990 §3.1.1.8, §3.1.1.9) */
static void
write_row(struct xw *x, const struct report_row *row)
{
	char ip[INET6_ADDRSTRLEN + 8], ex[48];
	const char *disp;
	size_t i;

	if (ip_text(row->source_ip, x->fmt, ip, sizeof(ip)) < 0) {
		xw_fail(x, "source_ip \"%s\" is not an IP address", excerpt(ex, row->source_ip));
		return;
	}
	disp = row->disposition;
	if (x->fmt == REPORT_RFC7489 && disp != NULL && ascii_strcaseeq(disp, "pass"))
		disp = "none";
	xw_start(x, "row");
	xw_text(x, "source_ip", ip);
	xw_num(x, "count", row->count);
	xw_start(x, "policy_evaluated");
	xw_kw(x, "disposition", disp,
	    x->fmt == REPORT_RFC9990 ? kw_disp_9990 : kw_disp_7489);
	xw_kw(x, "dkim", row->dkim, kw_verdict);
	xw_kw(x, "spf", row->spf, kw_verdict);
	for (i = 0; i < row->n_reasons; i++)
		write_reason(x, &row->reasons[i]);
	xw_end(x);
	xw_end(x);
}

/* write_identifiers - identifiers (RFC 9990 §3.1.1.10; RFC 7489 Appendix C order) */
static void
write_identifiers(struct xw *x, const struct report_row *row)
{
	if (row->header_from == NULL) {
		xw_fail(x, "header_from is missing");
		return;
	}
	xw_start(x, "identifiers");
	if (x->fmt == REPORT_RFC9990) {
		xw_text(x, "header_from", row->header_from);
		/* "MAY be existing but empty" for a null reverse-path */
		xw_opt(x, "envelope_from", row->envelope_from);
		xw_opt(x, "envelope_to", row->envelope_to);
	} else {
		xw_opt(x, "envelope_to", row->envelope_to);
		xw_text(x, "envelope_from", row->envelope_from);
		xw_text(x, "header_from", row->header_from);
	}
	xw_end(x);
}

/* write_dkim - one auth_results/dkim (RFC 9990 §3.1.1.12) */
static void
write_dkim(struct xw *x, const struct report_dkim *d)
{
	xw_start(x, "dkim");
	xw_text(x, "domain", d->domain);
	if (x->fmt == REPORT_RFC9990)
		xw_text(x, "selector", d->selector);	/* REQUIRED: "" when unknown */
	else
		xw_opt(x, "selector", d->selector);
	xw_kw(x, "result", d->result, kw_dkim_res);
	xw_opt(x, "human_result", d->human_result);
	xw_end(x);
}

/* write_spf - one auth_results/spf (RFC 9990 §3.1.1.13; RFC 7489 has no human_result) */
static void
write_spf(struct xw *x, const struct report_spf *s, const char *scope)
{
	xw_start(x, "spf");
	xw_text(x, "domain", s->domain);
	xw_text(x, "scope", scope);
	if (x->fmt == REPORT_RFC9990) {
		xw_kw(x, "result", s->result, kw_spf_9990);
		xw_opt(x, "human_result", s->human_result);
	} else
		xw_kw(x, "result", s->result, kw_spf_7489);
	xw_end(x);
}

/* spf_9990 - the one SPF result RFC 9990 reports (see the top of this file), or NULL */
static const struct report_spf *
spf_9990(const struct report_row *row)
{
	size_t i;

	for (i = 0; i < row->n_spf; i++)
		if (row->spf_results[i].scope == NULL ||
		    ascii_strcaseeq(row->spf_results[i].scope, "mfrom"))
			return &row->spf_results[i];
	if (row->envelope_from != NULL && row->envelope_from[0] != '\0')
		return NULL;
	for (i = 0; i < row->n_spf; i++)
		if (ascii_strcaseeq(row->spf_results[i].scope, "helo"))
			return &row->spf_results[i];
	return NULL;
}

/* write_auth - auth_results: dkim*, then spf (RFC 9990 §3.1.1.11, xs:sequence) */
static void
write_auth(struct xw *x, const struct report_row *row)
{
	const struct report_spf *s;
	char ex[48];
	size_t i;

	xw_start(x, "auth_results");
	for (i = 0; i < row->n_dkim && i < REPORT_MAX_DKIM; i++)
		write_dkim(x, &row->dkim_results[i]);
	if (x->fmt == REPORT_RFC9990) {
		if ((s = spf_9990(row)) != NULL)
			write_spf(x, s, "mfrom");
	} else if (row->n_spf == 0) {
		/* Appendix C: "There will always be at least one SPF result." */
		struct report_spf none = { row->envelope_from, NULL, (char *)"none", NULL };

		write_spf(x, &none, "mfrom");
	} else {
		for (i = 0; i < row->n_spf && !x->failed; i++) {
			s = &row->spf_results[i];
			if (s->scope != NULL && keyword(s->scope, kw_scope) == NULL) {
				xw_fail(x, "SPF scope \"%s\" is not valid", excerpt(ex, s->scope));
				break;
			}
			write_spf(x, s, s->scope != NULL ? keyword(s->scope, kw_scope) : "mfrom");
		}
	}
	xw_end(x);
}

/* write_record - one record: row, identifiers, auth_results (RFC 9990 §3.1.1.7) */
static void
write_record(struct xw *x, const struct report_row *row)
{
	xw_start(x, "record");
	write_row(x, row);
	write_identifiers(x, row);
	write_auth(x, row);
	xw_end(x);
}

/*
 * quiet - libxml2 generic-error sink.  libxml2 otherwise prints some I/O
 * errors (a refused flush, a missing file) to stderr on its own; ours come
 * back through err.  The handler is per thread in libxml2 (a thread-local
 * global when built with threads, as Debian's is), and each entry point
 * restores the previous one before returning.
 */
static void
quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* report_xml - the whole document (xml.h) */
int
report_xml(const struct report *rep, struct buf *out, char *err, size_t errlen)
{
	struct xw x;
	xmlOutputBufferPtr ob;
	xmlGenericErrorFunc old_handler;
	void *old_ctx;
	size_t start = out->len, i;
	bool was_truncated = out->truncated;

	memset(&x, 0, sizeof(x));
	x.out = out;
	x.err = err;
	x.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (rep == NULL || (rep->format != REPORT_RFC9990 && rep->format != REPORT_RFC7489)) {
		xw_fail(&x, "no report, or an unknown report format");
		return -1;
	}
	x.fmt = rep->format;
	/* RFC 9990 §3.1.1.2: "There MUST be at least one record element"; Appendix C too. */
	if (rep->n_rows == 0 || rep->rows == NULL) {
		xw_fail(&x, "a report needs at least one record (RFC 9990 §3.1.1.2)");
		return -1;
	}
	buf_init(&x.tmp, 0);
	xmlInitParser();
	old_handler = xmlGenericError;
	old_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet);
	ob = xmlOutputBufferCreateIO(xw_write, xw_close, &x, NULL);
	if (ob == NULL || (x.w = xmlNewTextWriter(ob)) == NULL) {
		if (ob != NULL)
			xmlOutputBufferClose(ob);
		xmlSetGenericErrorFunc(old_ctx, old_handler);
		buf_free(&x.tmp);
		xw_fail(&x, "libxml2 cannot create a writer");
		return -1;
	}
	if (xmlTextWriterSetIndent(x.w, 1) < 0 ||
	    xmlTextWriterSetIndentString(x.w, BAD_CAST "  ") < 0 ||
	    xmlTextWriterStartDocument(x.w, "1.0", "UTF-8", NULL) < 0)
		xw_fail(&x, "cannot start the document");
	if (!x.failed && (x.fmt == REPORT_RFC9990 ?
	    xmlTextWriterStartElementNS(x.w, NULL, BAD_CAST "feedback",
	    BAD_CAST REPORT_NS_9990) : xmlTextWriterStartElement(x.w,
	    BAD_CAST "feedback")) < 0)
		xw_fail(&x, "cannot write <feedback>");
	xw_text(&x, "version", "1.0");
	write_metadata(&x, rep);
	write_policy(&x, rep);
	for (i = 0; i < rep->n_rows && !x.failed; i++) {
		x.rec = i + 1;
		write_record(&x, &rep->rows[i]);
	}
	x.rec = 0;
	if (!x.failed && (xmlTextWriterEndDocument(x.w) < 0 || xmlTextWriterFlush(x.w) < 0))
		xw_fail(&x, "cannot finish the document");
	xmlFreeTextWriter(x.w);		/* also closes ob */
	xmlSetGenericErrorFunc(old_ctx, old_handler);
	buf_free(&x.tmp);
	if (x.overflow) {
		x.failed = false;	/* this is the real reason */
		xw_fail(&x, "the report is larger than the output cap (%zu bytes)",
		    out->cap != 0 ? out->cap : (size_t)BUF_DEFAULT_CAP);
	}
	if (x.failed) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		out->truncated = was_truncated;
		return -1;
	}
	return 0;
}

/* dom_len - length of a domain without one trailing dot */
static size_t
dom_len(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && d[n - 1] == '.' ? n - 1 : n;
}

/* dom_eq - same domain: ASCII case-insensitive, a trailing dot ignored */
static bool
dom_eq(const char *a, const char *b)
{
	size_t n = dom_len(a);

	return n > 0 && n == dom_len(b) && ascii_strncaseeq(a, b, n);
}

/* dkim_group - the RFC 9990 §3.1.3 priority group (0 = first) of one result */
static int
dkim_group(const struct report_dkim *d, const char *from, const char *org)
{
	if (d->result == NULL || !ascii_strcaseeq(d->result, "pass"))
		return 3;
	if (d->domain == NULL)
		return 2;
	if (from != NULL && dom_eq(d->domain, from))
		return 0;
	if (org != NULL && domain_at_or_below(d->domain, org))
		return 1;
	return 2;
}

/*
 * report_dkim_prioritize - RFC 9990 §3.1.3: "A report SHOULD contain no
 * more than 100 signatures for a given row, in decreasing priority" (xml.h).
 * A counting sort over the four groups keeps message order inside each.
 */
size_t
report_dkim_prioritize(struct report_row *row, const char *org_domain)
{
	struct report_dkim *sorted;
	unsigned char *group;
	size_t i, k = 0, dropped = 0;
	int g;

	if (row == NULL || row->n_dkim == 0 || row->dkim_results == NULL)
		return 0;
	if (org_domain == NULL)
		org_domain = row->header_from;
	group = xmalloc(row->n_dkim);
	for (i = 0; i < row->n_dkim; i++)
		group[i] = (unsigned char)dkim_group(&row->dkim_results[i],
		    row->header_from, org_domain);
	sorted = xcalloc(row->n_dkim, sizeof(*sorted));
	for (g = 0; g < 4; g++)
		for (i = 0; i < row->n_dkim; i++)
			if (group[i] == g)
				sorted[k++] = row->dkim_results[i];
	free(group);
	for (i = REPORT_MAX_DKIM; i < row->n_dkim; i++, dropped++)
		report_dkim_clear(&sorted[i]);
	free(row->dkim_results);
	row->dkim_results = sorted;
	row->n_dkim -= dropped;
	return dropped;
}

/* Error collection for report_xml_validate. */
struct verr {
	char	*err;
	size_t	 errlen;
	bool	 set;
};

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlErrorPtr xml_error_arg;
#endif

/* verr_set - keep the first message, with its line, printable ASCII only */
static void
verr_set(struct verr *v, const char *what, int line, const char *msg)
{
	size_t n;
	int k;
	char *p;

	if (v->set || v->errlen == 0)
		return;
	v->set = true;
	k = line > 0 ? snprintf(v->err, v->errlen, "%s, line %d: %s", what, line,
	    msg != NULL ? msg : "unknown error") :
	    snprintf(v->err, v->errlen, "%s: %s", what, msg != NULL ? msg : "unknown error");
	if (k < 0)
		v->err[0] = '\0';
	for (p = v->err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
	n = strlen(v->err);
	while (n > 0 && v->err[n - 1] == ' ')
		v->err[--n] = '\0';
}

/* verr_schema - structured error handler while parsing the XSD */
static void
verr_schema(void *ctx, xml_error_arg e)
{
	verr_set(ctx, "schema", e != NULL ? e->line : 0, e != NULL ? e->message : NULL);
}

/* verr_valid - structured error handler while validating */
static void
verr_valid(void *ctx, xml_error_arg e)
{
	verr_set(ctx, "not valid", e != NULL ? e->line : 0, e != NULL ? e->message : NULL);
}

/*
 * report_xml_validate - (xml.h).  The document is parsed with
 * XML_PARSE_NONET and without XML_PARSE_NOENT / XML_PARSE_DTDLOAD, so no
 * entity is substituted and nothing is fetched; RFC 9990 §8.1 ("XML bomb")
 * is why a DOCTYPE is refused outright.
 */
int
report_xml_validate(const char *xml, size_t len, const char *xsd_path,
    char *err, size_t errlen)
{
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
	struct verr v = { err, errlen, false };
	xmlParserCtxtPtr pc = NULL;
	xmlDocPtr sdoc = NULL, doc = NULL;
	xmlSchemaParserCtxtPtr spc = NULL;
	xmlSchemaPtr schema = NULL;
	xmlSchemaValidCtxtPtr vc = NULL;
	xml_error_arg e;
	xmlGenericErrorFunc old_handler;
	void *old_ctx;
	int rc = -1;

	if (errlen > 0)
		err[0] = '\0';
	if (xml == NULL || xsd_path == NULL || len > INT_MAX) {
		verr_set(&v, "report_xml_validate", 0, "no document, no schema, or too large");
		return -1;
	}
	xmlInitParser();
	old_handler = xmlGenericError;
	old_ctx = xmlGenericErrorContext;
	xmlSetGenericErrorFunc(NULL, quiet);
	if ((pc = xmlNewParserCtxt()) == NULL) {
		verr_set(&v, "libxml2", 0, "cannot create a parser");
		goto out;
	}
	sdoc = xmlCtxtReadFile(pc, xsd_path, NULL, opts);
	if (sdoc == NULL) {
		e = xmlCtxtGetLastError(pc);
		verr_set(&v, "cannot read the schema", e != NULL ? e->line : 0,
		    e != NULL && e->message != NULL ? e->message : xsd_path);
		goto out;
	}
	if ((spc = xmlSchemaNewDocParserCtxt(sdoc)) == NULL) {
		verr_set(&v, "libxml2", 0, "cannot create a schema parser");
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(spc, verr_schema, &v);
	if ((schema = xmlSchemaParse(spc)) == NULL) {
		verr_set(&v, "schema", 0, "cannot be compiled");
		goto out;
	}
	xmlFreeParserCtxt(pc);
	if ((pc = xmlNewParserCtxt()) == NULL) {
		verr_set(&v, "libxml2", 0, "cannot create a parser");
		goto out;
	}
	doc = xmlCtxtReadMemory(pc, xml, (int)len, "report.xml", NULL, opts);
	if (doc == NULL) {
		e = xmlCtxtGetLastError(pc);
		verr_set(&v, "not well-formed", e != NULL ? e->line : 0,
		    e != NULL ? e->message : NULL);
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		verr_set(&v, "not valid", 0, "a report has no DOCTYPE");
		goto out;
	}
	if ((vc = xmlSchemaNewValidCtxt(schema)) == NULL) {
		verr_set(&v, "libxml2", 0, "cannot create a validator");
		goto out;
	}
	xmlSchemaSetValidStructuredErrors(vc, verr_valid, &v);
	if (xmlSchemaValidateDoc(vc, doc) == 0)
		rc = 0;
	else
		verr_set(&v, "not valid", 0, "rejected by the schema");
out:
	if (vc != NULL)
		xmlSchemaFreeValidCtxt(vc);
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (schema != NULL)
		xmlSchemaFree(schema);
	if (spc != NULL)
		xmlSchemaFreeParserCtxt(spc);
	if (sdoc != NULL)
		xmlFreeDoc(sdoc);
	if (pc != NULL)
		xmlFreeParserCtxt(pc);
	xmlSetGenericErrorFunc(old_ctx, old_handler);
	return rc;
}
