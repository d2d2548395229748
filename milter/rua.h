/*
 * rua.h - where aggregate reports may go: the "rua" URIs a domain
 * publishes, turned into mailto destinations, each one checked under the
 * external-destination rule of RFC 9990 §4 (RFC 7489 §7.1).
 *
 * A URI whose host has the same Organizational Domain as the domain the
 * DMARC record was found at is used as published.  Any other destination
 * gets reports only when "<policy-domain>._report._dmarc.<host>" publishes
 * a TXT record that starts with v=DMARC1 (a DNS wildcard
 * "*._report._dmarc.<host>" answers that query too; we ask the exact
 * name).  Such a record may carry its own rua, which replaces the
 * published URI when, and only when, it names the same host.
 *
 * Schemes other than mailto are ignored (and logged), as are malformed
 * URIs (RFC 9990 §3: "they SHOULD be ignored").
 */
#ifndef DM_RUA_H
#define DM_RUA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"		/* enum dmarc_rules */
#include "dmarc_record.h"

struct dns;
struct orgdomain;

/* URIs looked at per record: RFC 7489 §6.2 wants at least two, RFC 9990
 * §3 lets the receiver set its limit; the rest are logged and ignored. */
#define RUA_MAX_URIS		16
#define RUA_MAX_TEXT		4096	/* bytes of a rua tag value we parse */
#define RUA_MAX_ADDRESS		254	/* RFC 5321 §4.5.3.1.3 path minus "<>" */

enum rua_status {
	RUA_ALLOWED = 0,	/* send reports here */
	RUA_REFUSED,		/* not authorised (or unusable): logged, never retried */
	RUA_DEFER		/* the DNS check failed temporarily: try again later */
};

struct rua_dest {
	char		*uri;		/* the URI used (published or override), no "!size" */
	char		*address;	/* local@host, host lowercase A-labels */
	char		*host;		/* the destination host (domain of the address) */
	unsigned long long size_limit;	/* RFC 7489 "!10m" in bytes; 0 = none */
	enum rua_status	 status;
	bool		 external;	/* host outside the policy domain's Organizational Domain */
	bool		 overridden;	/* came from the _report._dmarc record's rua */
	char		*reason;	/* why REFUSED or DEFER; for external ALLOWED the name that authorised it */
};

/*
 * rua_destinations - the destinations of a rua tag value as published
 * (e.g. "mailto:a@example.com!10m, mailto:b@example.net"), for reports
 * about policy_domain (the domain the DMARC record was found at).  rules
 * picks the RFC 7489 variant of the check (exactly one TXT record) or the
 * RFC 9990 one (at least one v=DMARC1 record).  *out (free with
 * rua_dests_free) lists every mailto destination with its status,
 * ALLOWED duplicates removed.  Returns 0, or -1 with err when the input
 * is unusable (policy domain not a domain name, rua text malformed).
 */
int		 rua_destinations(struct dns *, const struct orgdomain *, enum dmarc_rules,
		    const char *policy_domain, const char *rua_text,
		    struct rua_dest **out, size_t *n, char *err, size_t errlen);

/* rua_destinations_uris - the same for URIs already parsed (struct dmarc_record's rua) */
int		 rua_destinations_uris(struct dns *, const struct orgdomain *, enum dmarc_rules,
		    const char *policy_domain, const struct dmarc_uri *uris, size_t n_uris,
		    struct rua_dest **out, size_t *n, char *err, size_t errlen);

void		 rua_dests_free(struct rua_dest *, size_t);

/*
 * rua_parse_list - a rua tag value into URIs with size limits, by the
 * grammar of RFC 7489 §6.4 / RFC 9989 §4.8 (dmarc_record.c); invalid
 * elements are dropped and logged.  Returns 0 (*n may be 0), or -1 with
 * err when the text cannot be a tag value (";", NUL, too long).
 */
int		 rua_parse_list(const char *text, struct dmarc_uri **out, size_t *n,
		    char *err, size_t errlen);
void		 rua_uris_free(struct dmarc_uri *, size_t);

/*
 * rua_parse_mailto - the address of a mailto URI (RFC 6068): one
 * addr-spec, %-decoded, dot-atom local part, domain normalized; header
 * fields ("?subject=...") are ignored.  Returns 0 with malloc'd address
 * and host, or -1 with err.
 */
int		 rua_parse_mailto(const char *uri, char **address, char **host,
		    char *err, size_t errlen);

const char	*rua_status_str(enum rua_status);

#endif
