/*
 * deliver.h - turn a finished aggregate report (XML bytes) into the report
 * message of RFC 9990 §3 ("Email", RFC 7489 §7.2.1.1) and send it to the
 * destinations rua.c allowed.
 *
 * The message: From, To, Date, Message-ID, the Subject "Report Domain: <d>
 * Submitter: <org> Report-ID: <id>", MIME (RFC 2045/2046) multipart/mixed
 * with a short text/plain part and the gzip'd XML (RFC 1952) as an
 * application/gzip (RFC 6713) attachment in base64, named
 * "<org>!<domain>!<begin>!<end>!<unique-id>.xml.gz" (RFC 2183 filename).
 * Every value that reaches a header is validated first (domains in
 * normalized form, addresses by smtp_address_valid, the report ID by the
 * RFC 9990 ridfmt grammar), so nothing from a hostile domain or record
 * can end a header line; long lines are folded.
 */
#ifndef DM_DELIVER_H
#define DM_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"		/* enum dmarc_rules */
#include "rua.h"
#include "smtp.h"

#define DELIVER_MAX_MESSAGE	(32u * 1024 * 1024)	/* bytes of one report message */
#define DELIVER_MAX_REPORT_ID	200			/* bytes of a report ID */

struct deliver_msg {
	enum dmarc_rules rules;		/* RFC 7489: "!size" limits are honoured */
	const char	*from;		/* header From and envelope sender: local@domain */
	char *const	*to;		/* recipients (To:); deliver_report fills this itself */
	size_t		 n_to;
	const char	*org_domain;	/* the reporting organisation's domain: file name
					 * "receiver", Subject "Submitter" */
	const char	*domain;	/* the policy domain the report is about */
	const char	*report_id;	/* RFC 9990 §3 ridtxt, "<...>" optional */
	const char	*unique_id;	/* file name unique-id (ALPHA/DIGIT, at most 64);
					 * NULL: derived from report_id, so a re-send has the
					 * same name (RFC 9990 §3 "MUST use the same filename") */
	time_t		 begin, end;	/* the report's date range, UTC seconds */
	const char	*xml;		/* the report as the XML writer made it */
	size_t		 xml_len;
	time_t		 date;		/* Date: header; 0 = now */
};

/*
 * deliver_build - the complete message (CRLF line ends) into *msg and the
 * attachment's file name into *filename (both reset first).  Returns 0,
 * or -1 with err when an input is unusable or the message would exceed
 * DELIVER_MAX_MESSAGE.
 */
int		 deliver_build(const struct deliver_msg *, struct buf *msg, struct buf *filename,
		    char *err, size_t errlen);

/*
 * deliver_fits - may a message of len bytes go to a destination with this
 * limit?  RFC 7489 §6.2: a URI's "!" size is the most the Domain Owner
 * accepts (the "report payload"; we compare the whole message, which is
 * never smaller); RFC 9989 §4.8 made the suffix obsolete and tells
 * reporters to ignore it, so RFC 9989 rules always fit.
 */
/* Only the report's file name (for a dry run that writes the .xml.gz). */
int		 deliver_filename(const struct deliver_msg *, struct buf *filename,
		    char *err, size_t errlen);
bool		 deliver_fits(enum dmarc_rules, unsigned long long limit, size_t len);

enum deliver_outcome {
	DELIVER_SENT = 0,	/* the relay took it for this address */
	DELIVER_TOO_BIG,	/* over this destination's size limit: not sent (RFC 7489 §6.2) */
	DELIVER_REFUSED,	/* the rua check refused the destination: not sent, never retried */
	DELIVER_DEFERRED,	/* not sent now; try again later (DNS, 4xx, network) */
	DELIVER_FAILED		/* not sent; the relay refused it for good (5xx) */
};

struct deliver_result {
	const char	*address;	/* points into the rua_dest */
	enum deliver_outcome outcome;
	char		*detail;	/* why, for the log; may be NULL */
};

/*
 * deliver_report - build the message for the ALLOWED destinations that
 * fit, send it once to all of them, and say per destination what
 * happened.  tmpl->to/n_to are ignored.  *results gets one entry per
 * dests[i] (free with deliver_results_free).  Returns the number of
 * destinations the report reached, or -1 with err when no message could
 * be built.
 */
int		 deliver_report(const struct smtp_config *, const struct deliver_msg *tmpl,
		    const struct rua_dest *dests, size_t n, struct deliver_result **results,
		    char *err, size_t errlen);
void		 deliver_results_free(struct deliver_result *, size_t);

const char	*deliver_outcome_str(enum deliver_outcome);

#endif
