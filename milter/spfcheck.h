/*
 * spfcheck.h - SPF verification (RFC 7208) over libspf2 1.2.10.
 *
 * One struct spfcheck holds one SPF_server_t built over a custom libspf2
 * DNS layer that asks every question through our DNS layer (dns.h), never
 * through libspf2's own resolver or the system's resolv.conf.  It is
 * read-only after spfcheck_new() and may be shared by all threads; every
 * check uses its own libspf2 request and response and its own accounting
 * context (LIBRARIES.md §3.3).
 *
 * libspf2 is weaker than RFC 7208 in ways that can turn a non-pass into a
 * pass; this module corrects that instead of trusting it:
 *   - each SPF record is checked against the RFC 7208 §12 ABNF before
 *     libspf2 sees it (a syntax error is a permerror, §4.6), and only a
 *     canonical rewrite of the record is compiled (modifiers other than
 *     redirect dropped, redirect moved last, "/0" prefixes rewritten);
 *   - the 10 DNS-querying-terms limit is counted across include and
 *     redirect, the 2 void-lookups limit is enforced, more than 10 MX
 *     names is a permerror and PTR answers are cut to 10 (§4.6.4);
 *   - a DNS error is a temperror, never "no match" (§5);
 *   - per check there is a time limit (temperror) and a cap on queries.
 * Inputs are validated before anything reaches libspf2, because any
 * internal error there calls SPF_error(), which abort()s the process.
 */
#ifndef DM_SPFCHECK_H
#define DM_SPFCHECK_H

#include <stddef.h>

#include "dns.h"
#include "result.h"

#define SPFCHECK_MAX_DNS_TERMS	10	/* RFC 7208 §4.6.4 */
#define SPFCHECK_MAX_VOID	2	/* RFC 7208 §4.6.4, the recommended default */
#define SPFCHECK_MAX_NAMES	10	/* MX / PTR names looked at (RFC 7208 §4.6.4) */
#define SPFCHECK_TIME_LIMIT	20	/* seconds per check; RFC 7208 §4.6.4: at least 20 */
#define SPFCHECK_MAX_QUERIES	150	/* DNS queries per check (safety net above the RFC limits) */

struct spfcheck;

/*
 * spfcheck_new - an SPF checker that looks names up through dns (which must
 * outlive it).  receiver_hostname is our host name, used for the %{r}
 * macro; NULL means gethostname().  Returns NULL and fills err on failure.
 */
struct spfcheck	*spfcheck_new(struct dns *dns, const char *receiver_hostname,
		    char *err, size_t errlen);
void		 spfcheck_free(struct spfcheck *);

/*
 * spfcheck_set_limits - change the per-check time limit (seconds) and the
 * cap on DNS queries (0 keeps the current value).  Call before the checker
 * is shared between threads.
 */
void		 spfcheck_set_limits(struct spfcheck *, unsigned time_limit,
		    unsigned max_queries);

/*
 * spfcheck_run - check the MAIL FROM identity of a client.
 *
 *   client_ip	the client's address, IPv4 or IPv6 text (an IPv4-mapped
 *		IPv6 address is treated as IPv4, RFC 7208 §5)
 *   helo	the HELO/EHLO argument, may be NULL or ""
 *   mail_from	the reverse path without "<>" or ESMTP parameters; "" is
 *		the null sender, for which the HELO identity is checked as
 *		"postmaster@<helo>" (RFC 7208 §2.4) and mfrom->helo_scope set;
 *		a missing local part becomes "postmaster" (RFC 7208 §4.3)
 *   mfrom	receives the MAIL FROM result
 *   helo_out	when not NULL, receives a separate check of the HELO
 *		identity (RFC 7208 §2.3), helo_scope set
 *
 * A loopback client is not evaluated (libspf2 would always pass it): the
 * result is none.  Returns 0, or -1 when no check could be made (NULL
 * arguments, client_ip not an IP address); the outcomes are filled with a
 * defined result (none) in that case too.  Free them with
 * spfcheck_outcome_free().
 */
int		 spfcheck_run(struct spfcheck *, const char *client_ip,
		    const char *helo, const char *mail_from,
		    struct spf_outcome *mfrom, struct spf_outcome *helo_out);

/* spfcheck_outcome_free - release the strings of an outcome and zero it */
void		 spfcheck_outcome_free(struct spf_outcome *);

#endif
