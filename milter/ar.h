/*
 * ar.h - the Authentication-Results header field writer (RFC 8601).
 *
 * ar_compose() turns a verdict into the header field VALUE (without the
 * "Authentication-Results:" name), ready for smfi_insheader():
 *
 *   mx.example.org;
 *   	spf=pass (sender is authorized) smtp.mailfrom=example.com;
 *   	dkim=pass (2048-bit key) header.d=example.com header.s=s1 header.a=rsa-sha256 header.b="AbCd/eF+";
 *   	dmarc=pass (p=reject dis=none) header.from=example.com policy.dmarc=reject
 *
 * Folding follows the milter convention: continuation lines are joined
 * with "\n\t" (a bare LF and a TAB; the MTA turns it into CRLF TAB), every
 * resinfo starts on its own line and no physical line is longer than
 * AR_LINE_MAX columns (a TAB counts as 8, the first line includes the
 * "Authentication-Results: " the MTA puts in front) unless a single
 * unbreakable unit is longer by itself, in which case it is kept whole.
 *
 * Everything that came from outside (HELO, domains, selectors, local parts,
 * b=, algorithm names) goes through one validator (RFC 8601 §2.2: a
 * property value is an RFC 2045 "value", i.e. a token or a quoted-string):
 *   - a value made only of token characters is written as is;
 *   - a value of other printable US-ASCII (0x20-0x7e) is written as a
 *     quoted-string with '\' and '"' escaped;
 *   - a value that is empty, longer than AR_VALUE_MAX bytes, or contains a
 *     control character (CR, LF, TAB, other C0, DEL) or any byte >= 0x80
 *     is NOT written: the property is dropped.  Replacing the bad bytes
 *     would make up an identity nobody presented ("exa?mple.com"), and a
 *     consumer matching on header.d must never see one.
 * Comments (reasons) are our own text, possibly quoting outside data: '(',
 * ')' and '\' are escaped as quoted-pairs, control and 8-bit bytes become
 * '?', and the text is cut at AR_COMMENT_MAX bytes.
 */
#ifndef DM_AR_H
#define DM_AR_H

#include "result.h"

#define AR_LINE_MAX	78	/* RFC 5322 §2.1.1 SHOULD */
#define AR_VALUE_MAX	255	/* longest property value we write (a domain is <= 253) */
#define AR_COMMENT_MAX	160	/* longest comment text we write */

struct ar_input {
	const char	*authserv_id;	/* validated by the configuration */
	const char	*client_ip;	/* not written today (iprev is not ours) */
	const char	*helo;		/* the HELO/EHLO argument, NULL when none */
	const char	*mail_from;	/* envelope sender without <>, "" for the null sender */
	const struct verdict *v;	/* NULL: nothing evaluated */
};

/*
 * ar_compose - the header field value, malloc'd; NULL only when the
 * authserv-id itself is unusable (NULL, empty, or not a printable-ASCII
 * value), in which case no header must be added.
 */
char	*ar_compose(const struct ar_input *);

/*
 * ar_comment - "(text)" with RFC 5322 §3.2.2 quoting ('(' ')' '\' as
 * quoted-pairs), control and 8-bit bytes replaced by '?', cut at
 * AR_COMMENT_MAX bytes; malloc'd.  Also used for the log line.
 */
char	*ar_comment(const char *text);

/*
 * ar_value - append s to out as an RFC 2045 value (token or quoted-string);
 * returns -1 and appends nothing when s must be dropped (see above).
 */
struct buf;
int	 ar_value(struct buf *out, const char *s);

#endif
