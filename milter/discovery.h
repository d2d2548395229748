/*
 * discovery.h - DMARC policy record discovery and Organizational Domains
 * found in the DNS, for both rule sets:
 *
 *   RFC 7489 §6.6.3 (discovery_psl): _dmarc.<Author Domain>, and only when
 *     no DMARC record is there, _dmarc.<Organizational Domain> with the
 *     Organizational Domain taken from the Public Suffix List (§3.2).
 *   RFC 9989 §4.10 (discovery_treewalk, discovery_orgdomain_treewalk): the
 *     DNS Tree Walk, at most eight queries, psd=y/n/u; the same walk gives
 *     the DMARC Policy Record (§4.10.1) and the Organizational Domain used
 *     for relaxed alignment (§4.10.2).  §3.2.13 / Appendix A.4: the
 *     existence test that decides whether np= applies.
 *
 * RFC 9989 section numbers and wording are those of
 * draft-ietf-dmarc-dmarcbis-41 (the last WG revision, sent to the RFC
 * Editor); see discovery.c for the decisions the text leaves open.
 *
 * Every function takes normalized names (domain_normalize(): lowercase
 * A-labels, no trailing dot).  Nothing here keeps state between calls; the
 * struct dns is shared and thread-safe, so these may run in any thread.
 *
 * A DNS temporary failure is DISC_TEMPFAIL (dmarc=temperror) and is never
 * taken for "no record" (OpenDMARC defect D7, LIBRARIES.md §4.2).
 */
#ifndef DM_DISCOVERY_H
#define DM_DISCOVERY_H

#include <stdbool.h>

#include "dmarc_record.h"
#include "dns.h"
#include "result.h"

struct orgdomain;

/* RFC 9989 §4.10: a tree walk makes at most this many DNS queries. */
#define DISCOVERY_MAX_QUERIES	8

enum discovery_status {
	DISC_FOUND = 0,		/* a usable DMARC Policy Record */
	DISC_NONE,		/* no usable policy: no record, or several records at a name */
	DISC_INVALID,		/* a DMARC record that is syntactically unusable: dmarc=permerror */
	DISC_TEMPFAIL		/* DNS temporary failure: dmarc=temperror, never "no record" */
};

const char	*discovery_status_str(enum discovery_status);

/* What one _dmarc.<domain> TXT lookup gave. */
struct discovery_fetch {
	enum discovery_status status;
	struct dmarc_record record;	/* filled for DISC_FOUND, zeroed otherwise */
	bool		 multiple;	/* DISC_NONE because several DMARC records were published */
	char		*comment;	/* malloc'd: why not FOUND, or the parser's notes; may be NULL */
};

/*
 * discovery_fetch_at - query TXT _dmarc.<domain> and pick the DMARC record.
 *   NXDOMAIN, NODATA, no v=DMARC1 record      -> DISC_NONE
 *   several v=DMARC1 records                   -> DISC_NONE, multiple,
 *                                                 comment "multiple DMARC records at _dmarc.<domain>"
 *   one record, parses                         -> DISC_FOUND
 *   one record, unusable                       -> DISC_INVALID, the parser's message
 *   TEMPFAIL, and PERMFAIL (FORMERR, NOTIMP,
 *   malformed reply: nothing was learnt)       -> DISC_TEMPFAIL
 * A _dmarc name longer than 253 octets cannot exist: DISC_NONE, no query.
 * Returns the number of DNS queries made (0 or 1), or -1 for a NULL or
 * empty argument (out is then DISC_NONE with a comment).
 */
int		 discovery_fetch_at(struct dns *, const char *domain, struct discovery_fetch *out);
void		 discovery_fetch_free(struct discovery_fetch *);

/* The outcome of policy discovery for one Author Domain. */
struct discovery_result {
	enum discovery_status status;
	char		*policy_domain;	/* where the record came from (FOUND, INVALID); else NULL */
	struct dmarc_record record;	/* valid when FOUND */
	char		*org_domain;	/* Organizational Domain of the author domain; may be NULL */
	enum discovery_status org_status; /* FOUND: org_domain known; NONE: no record anywhere
					   * (tree walk: org_domain is the author domain itself;
					   * PSL: the author is a public suffix, org_domain NULL);
					   * TEMPFAIL: a DNS failure left it unknown (org_domain NULL) */
	bool		 from_org;	/* the record is not the author domain's own: sp/np apply */
	enum discovery	 method;	/* DISCOVERY_PSL or DISCOVERY_TREEWALK */
	char		*comment;	/* malloc'd, for logs and A-R comments; may be NULL */
	unsigned	 queries;	/* DNS queries made */
};

/*
 * discovery_psl - RFC 7489 §6.6.3 policy discovery with the PSL.  Several
 * DMARC records at the author domain end discovery (DISC_NONE, no look at
 * the Organizational Domain); a temporary failure at either name is
 * DISC_TEMPFAIL.  Returns 0, or -1 on bad arguments (res says DISC_NONE).
 */
int		 discovery_psl(struct dns *, const struct orgdomain *, const char *author_norm,
		    struct discovery_result *);

/*
 * discovery_treewalk - RFC 9989 §4.10.1 policy discovery and §4.10.2
 * Organizational Domain of the author domain, from one DNS Tree Walk that
 * starts at the author domain (at most DISCOVERY_MAX_QUERIES queries).
 * Returns 0, or -1 on bad arguments (res says DISC_NONE).
 */
int		 discovery_treewalk(struct dns *, const char *author_norm, struct discovery_result *);

/*
 * discovery_orgdomain_treewalk - RFC 9989 §4.10.2 Organizational Domain of
 * any domain (an SPF- or DKIM-Authenticated Identifier, or the author
 * domain), malloc'd.  *st: DISC_FOUND when a DMARC record decided it,
 * DISC_NONE when no valid record was found (the domain is its own
 * Organizational Domain and is returned), DISC_TEMPFAIL on a temporary DNS
 * failure: then NULL is returned, and the caller must not treat the
 * identifier as unaligned-for-sure (temperror).  NULL with DISC_NONE for a
 * NULL or empty name.
 */
char		*discovery_orgdomain_treewalk(struct dns *, const char *domain_norm,
		    enum discovery_status *st);

/*
 * discovery_domain_exists - RFC 9989 §3.2.13 and Appendix A.4 (np=): a
 * domain does not exist when the answer to a query for it is NXDOMAIN
 * (RFC 8020: nor does anything below it); NOERROR, with or without data,
 * means it exists.  Returns 1 exists, 0 does not exist, -1 unknown
 * (temporary failure, or a FORMERR/NOTIMP/malformed answer).
 */
int		 discovery_domain_exists(struct dns *, const char *domain_norm);

void		 discovery_result_free(struct discovery_result *);

#endif
