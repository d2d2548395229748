/*
 * xml.h - a struct report as an aggregate-report XML document (RFC 9990,
 * or RFC 7489 Appendix C), written with libxml2's xmlTextWriter, and a
 * schema check of such a document with libxml2's XML Schema validator.
 *
 * Texts: RFC 9990 (May 2026); its section numbers below are those of
 * draft-ietf-dmarc-aggregate-reporting-32, the revision that became the
 * RFC, whose XSD is byte-identical to reports/schema/rfc9990.xsd.
 *
 * Escaping.  Every value goes through the writer's escaping, so "<", "&",
 * ">" and a CR come out as references and no value can open or close an
 * element.  Characters XML 1.0 does not allow at all (§2.2 "Char": C0
 * controls other than TAB, LF and CR, U+FFFE, U+FFFF) and bytes that are
 * not well-formed UTF-8 (RFC 3629: stray or truncated sequences, overlong
 * forms, surrogates, anything above U+10FFFF) are each REPLACED by U+FFFD,
 * never dropped silently, the same rule the history file uses.  Everything
 * else is written as it is.
 */
#ifndef DM_REPORTS_XML_H
#define DM_REPORTS_XML_H

#include <stddef.h>

#include "buf.h"
#include "report.h"

#define REPORT_NS_9990		"urn:ietf:params:xml:ns:dmarc-2.0"
#define REPORT_NS_7489		"http://dmarc.org/dmarc-xml/0.1"	/* never emitted, see xml.c */
#define REPORT_MAX_DKIM		100	/* RFC 9990 §3.1.3: DKIM results per row */

/*
 * report_xml - append the complete XML document (UTF-8, with an XML
 * declaration) for rep in rep->format to out.  Returns 0, or -1 with a
 * reason in err and out as it was before the call: for a report with no
 * rows (both schemas need one record), a missing required value, a
 * keyword outside the format's vocabulary, a source_ip that is not an IP
 * address, end before begin, or out's cap being reached.  At most
 * REPORT_MAX_DKIM DKIM results are written per row (the first ones: run
 * report_dkim_prioritize first).  The format-specific rules (defaults the
 * RFC 7489 schema requires, keywords one format lacks) are described at
 * the top of xml.c.
 */
int	report_xml(const struct report *rep, struct buf *out, char *err, size_t errlen);

/*
 * report_xml_validate - parse len bytes of xml and validate the document
 * against the XSD at xsd_path.  No network access (XML_PARSE_NONET), no
 * entity substitution, and a document with a DOCTYPE is refused (a report
 * never has one).  Returns 0 when valid, -1 with the first problem (and
 * its line) in err otherwise.
 */
int	report_xml_validate(const char *xml, size_t len, const char *xsd_path,
	    char *err, size_t errlen);

/*
 * report_dkim_prioritize - reorder a row's DKIM results into the RFC 9990
 * §3.1.3 order and keep at most REPORT_MAX_DKIM of them, freeing the rest:
 *   1. passes in strict alignment with the RFC5322.From domain,
 *   2. passes in relaxed alignment with it,
 *   3. any other passes,
 *   4. everything that did not pass,
 * message order kept within each group (the sort is stable).  Relaxed
 * alignment means here: d= is org_domain or below it, where org_domain is
 * the Organizational Domain of row->header_from as the milter found it
 * (history "org_domain"); NULL means header_from itself is used, which
 * only ever ranks fewer signatures as relaxed-aligned.  Names compare
 * ASCII case-insensitively, a trailing dot ignored.  Returns the number of
 * results dropped.
 */
size_t	report_dkim_prioritize(struct report_row *row, const char *org_domain);

#endif
