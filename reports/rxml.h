/*
 * rxml.h - read a DMARC aggregate report that another organisation sent
 * us: RFC 9990 (namespace urn:ietf:params:xml:ns:dmarc-2.0), RFC 7489
 * Appendix C (no namespace) and the drafts and sloppy variants real
 * receivers send, into a struct report (report.h).
 *
 * Lenient where real receivers are sloppy (no namespace or another one,
 * case of keywords, missing optional elements, unknown elements, leading
 * or trailing white space, a version element or none), strict where it
 * matters for safety: libxml2 runs with no network, no external entity,
 * no DTD loading and no entity substitution; a document with a DOCTYPE is
 * refused; size, nesting depth, element count, text and attribute lengths
 * are bounded (below).  A report that breaks a bound, is not well-formed,
 * or lacks what identifies it (org_name, report_id, date_range,
 * policy_published/domain) is refused as a whole with a clear message;
 * nothing of it is kept.  Records with a problem of their own (a
 * source_ip that is not an address, a count that is not a number) are
 * skipped and counted in the notes, the rest of the report is kept.
 * rxml.c describes every leniency rule at its top.
 *
 * What a report read here guarantees (beyond report.h): org_name,
 * report_id and domain are non-empty; email, p, adkim and aspf are never
 * NULL (adkim/aspf "r", the RFC 7489 §6.3 default, when not given; email
 * and p "" when missing); 0 <= begin <= end; every row has a source_ip in
 * inet_ntop's form, a count of at most RXML_MAX_COUNT, and disposition,
 * dkim, spf and header_from never NULL ("" when the receiver left them
 * out); DKIM and SPF results and reasons are kept as sent (domain,
 * selector, scope and result may be NULL; a reason always has a type).
 * Keywords are lower case, domains lower case without a trailing dot.
 * A report with no usable record (zero rows) is accepted.
 */
#ifndef DM_REPORTS_RXML_H
#define DM_REPORTS_RXML_H

#include <stddef.h>

#include "report.h"

#define RXML_MAX_BYTES		(64u << 20)	/* one decompressed XML document */
#define RXML_MAX_DEPTH		16		/* element nesting */
#define RXML_MAX_ELEMENTS	(4u << 20)	/* elements in one document */
#define RXML_MAX_RECORDS	200000		/* <record>s in one report */
#define RXML_MAX_TEXT		4096		/* bytes of one element's text */
#define RXML_MAX_ATTR		1024		/* bytes of one attribute value */
#define RXML_MAX_ATTRS		256		/* attributes in one start tag */
#define RXML_MAX_RESULTS	100		/* DKIM, SPF results, reasons per record */
#define RXML_MAX_COUNT		1000000000000ULL	/* messages in one record */

/* What was read leniently: for the operator, never silently. */
struct rxml_notes {
	unsigned	 skipped_records;	/* records that could not be used */
	unsigned	 fixed;			/* values normalised (case, space, ...) */
	unsigned	 ignored;		/* unknown elements ignored */
	unsigned	 dropped;		/* results past RXML_MAX_RESULTS, repeated elements */
	char		 first[256];		/* the first problem of any kind, "" when none */
	char		 first_skipped[256];	/* why the first skipped record was, "" when none */
};

/*
 * rxml_parse - len bytes of XML (UTF-8, or another encoding the XML
 * declaration names; a BOM is allowed) into a newly allocated *out
 * (rxml_free).  rep->format is REPORT_RFC9990 when the RFC 9990
 * namespace, a version 2.0 element or an element only RFC 9990 has
 * (generator, np, testing, discovery_method) was seen, REPORT_RFC7489
 * otherwise: RFC 7489 reporters write <version>1.0</version> too.
 * notes may be NULL.  Returns 0, or -1 with the reason in err and *out
 * NULL.  Thread-safe: no global state but libxml2's thread-local error
 * handler, which is restored before returning.
 */
int	rxml_parse(const char *xml, size_t len, struct report **out,
	    struct rxml_notes *notes, char *err, size_t errlen);

/* rxml_free - report_free and free for a report rxml_parse made; NULL is fine */
void	rxml_free(struct report *);

#endif
