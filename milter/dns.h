/*
 * dns.h - the one DNS layer: SPF (libspf2), DKIM (libopendkim) and DMARC
 * all look names up through here.
 *
 * A struct dns is shared by every thread.  It has a backend that really
 * asks (ldns: one resolver per thread, RTT reset before each query, TCP
 * fallback on truncation, timeout and retries from the configuration) or a
 * static backend (records added by hand or loaded from a zone file; for
 * unit tests and the RFC 7208 suite, no sockets).  A shared TTL cache with
 * negative caching (RFC 2308) and a size bound sits in front of either.
 *
 * A temporary failure (SERVFAIL, timeout, REFUSED, network error) is
 * DNS_TEMPFAIL and is never the same as "no record" (NXDOMAIN or NODATA).
 */
#ifndef DM_DNS_H
#define DM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Query types we use (RFC 1035/3596 numbers). */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_DS	43
#define DNS_T_RRSIG	46
#define DNS_T_DNSKEY	48

/* Caps on what one answer may make us keep. */
#define DNS_MAX_RRS		64	/* records of the asked type kept per answer */
#define DNS_MAX_TXT_LEN		8192	/* one TXT record, strings joined */

enum dns_status {
	DNS_OK = 0,		/* NOERROR; n may be 0 (NODATA) */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_TEMPFAIL,		/* SERVFAIL, REFUSED, timeout, network: try again later */
	DNS_PERMFAIL		/* malformed answer, FORMERR, a name we refuse to ask */
};

struct dns_mx {
	unsigned	 pref;
	char		*host;		/* no trailing dot, lowercase */
};

struct dns_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network order; 4 bytes used for AF_INET */
};

/*
 * One answer, owned by the caller (free with dns_answer_free).  Only the
 * array matching qtype is filled; n counts its entries.
 */
struct dns_answer {
	enum dns_status	 status;
	int		 rcode;		/* the DNS RCODE, -1 when no reply came */
	uint16_t	 qtype;
	uint32_t	 ttl;		/* remaining TTL (min over the RRset) */
	size_t		 n;
	char		**txt;		/* TXT: each RR's character-strings joined (RFC 7208 §3.3) */
	size_t		*txt_len;	/* TXT: byte length of each (may contain NUL) */
	struct dns_addr	*addrs;		/* A, AAAA */
	struct dns_mx	*mx;		/* MX */
	char		**names;	/* PTR, NS, CNAME targets: no trailing dot, lowercase */
	bool		 truncated;	/* more than DNS_MAX_RRS records (rest dropped), or a
					 * TXT record over DNS_MAX_TXT_LEN dropped */
	const char	*error;		/* static text for TEMPFAIL/PERMFAIL, for logs; on
					 * DNS_OK it notes a dropped over-long TXT record */
	/* DNSSEC, meaningful only with dns_options.dnssec_ok (DO bit) set */
	bool		 ad;		/* the resolver set AD: it validated the answer */
	bool		 rrsig;		/* RRSIGs came with it: over the records asked
					 * for, or (negative answers) in the authority
					 * section over the denial of existence */
};

struct dns_options {
	const struct nameserver	*nameservers;	/* NULL/0: the system's resolv.conf */
	size_t			 n_nameservers;
	unsigned		 timeout;	/* seconds per attempt */
	unsigned		 retries;	/* extra attempts per server */
	size_t			 cache_entries;	/* 0 = no cache */
	uint32_t		 max_ttl;	/* positive answers are kept at most this long */
	uint32_t		 max_neg_ttl;	/* negative answers (NXDOMAIN/NODATA) at most this long */
	bool			 dnssec_ok;	/* set the DO bit (RFC 3225) so that RRSIGs come
						 * back and the AD flag means something */
};

struct dns_stats {
	unsigned long	 queries;	/* dns_query calls */
	unsigned long	 cache_hits;
	unsigned long	 upstream;	/* queries sent to the backend */
	unsigned long	 tempfail;	/* answers that were DNS_TEMPFAIL */
	size_t		 cache_entries;	/* answers in the cache now */
	size_t		 cache_capacity;	/* at most this many (DNSCacheSize, rounded down) */
};

struct dns;

/* Real resolver over ldns.  Returns NULL and fills err on a bad setup. */
struct dns	*dns_new_ldns(const struct dns_options *, char *err, size_t errlen);

/* Static backend: answers only what was added; every other name is NXDOMAIN. */
struct dns	*dns_new_static(const struct dns_options *);
/* Add one record in presentation format, e.g. ("example.com", DNS_T_TXT,
 * "\"v=spf1 -all\""), ("example.com", DNS_T_MX, "10 mx.example.com."). */
int		 dns_static_add(struct dns *, const char *name, uint16_t qtype, const char *rdata);
/* Make a name answer with a status for a type (0 = every type):
 * DNS_TEMPFAIL (SERVFAIL), DNS_NXDOMAIN, or DNS_OK with no data (NODATA). */
int		 dns_static_set_status(struct dns *, const char *name, uint16_t qtype, enum dns_status);
/* Make a name time out for a type (0 = every type): the query sleeps the
 * configured timeout (none if 0), then answers DNS_TEMPFAIL with rcode -1. */
int		 dns_static_set_timeout(struct dns *, const char *name, uint16_t qtype);
/* Make the static backend answer as a validating resolver would for
 * signed data: AD set on answers that carry RRSIGs (dnssec_ok only). */
int		 dns_static_set_validating(struct dns *, bool);
/* Load a zone file (as nsd reads it) into the static backend. */
int		 dns_static_load_zone(struct dns *, const char *path, const char *origin,
		    char *err, size_t errlen);

void		 dns_free(struct dns *);

/*
 * Look a name up (no trailing dot needed; case-insensitive).  Never returns
 * NULL: on failure the answer says DNS_TEMPFAIL or DNS_PERMFAIL.
 */
struct dns_answer *dns_query(struct dns *, const char *name, uint16_t qtype);
void		 dns_answer_free(struct dns_answer *);

/* A wire-format reply (as res_query would give it) for libopendkim's hooks.
 * Returns the length, or -1 when buf is too small or on failure. */
int		 dns_answer_to_wire(const struct dns_answer *, const char *qname,
		    unsigned char *buf, size_t buflen);

void		 dns_get_stats(struct dns *, struct dns_stats *);

#endif
