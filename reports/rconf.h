/*
 * rconf.h - dmarc-reports.conf: where the store is, who we are as a
 * reporter, how reports are delivered.  Same syntax as dmarc-milter.conf.
 */
#ifndef DM_RCONF_H
#define DM_RCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "report.h"

/*
 * A sending source the domain owner has classified: "KnownSource DOMAIN
 * KIND:MATCH LABEL..." is one of theirs (authorised), readiness never
 * recommends a step that would quarantine or reject its mail;
 * "UnauthorizedSource ..." (same syntax) is one they have looked at and
 * found not to be theirs (spoofing, abuse): it stays in every view, and
 * its failures do not hold the ramp back, enforcement is meant to stop it.
 */
enum ks_kind {
	KS_IP = 0,	/* ip:192.0.2.0/24, ip:2001:db8::/32, ip:192.0.2.7 */
	KS_RDNS,	/* rdns:mcsv.net - the reverse DNS name is it or below it */
	KS_DKIM,	/* dkim:mailchimpapp.net - a passing DKIM signature of it or below */
	KS_SPF		/* spf:amazonses.com - a passing SPF check of it or below */
};

struct known_source {
	char		*domain;	/* our domain it sends for; "*" = every domain */
	enum ks_kind	 kind;
	char		*match;		/* as written after "kind:" (lowercase) */
	char		*label;		/* what it is: "Mailchimp (newsletters)" */
	unsigned	 line;		/* in the configuration file */
	bool		 authorized;	/* KnownSource: true; UnauthorizedSource: false */
	/* KS_IP, parsed */
	int		 family;	/* AF_INET, AF_INET6 */
	unsigned char	 net[16];
	unsigned	 prefix;
};

/* What a source did, for matching it against the KnownSource list. */
struct ks_subject {
	const char	*domain;	/* our domain (header_from / policy domain) */
	const char	*ip;		/* numeric */
	const char	*ptr;		/* reverse DNS name, NULL when none */
	const char *const *dkim_pass;	/* d= of passing DKIM signatures */
	size_t		 n_dkim_pass;
	const char *const *spf_pass;	/* domains of passing SPF checks */
	size_t		 n_spf_pass;
};

struct rconf {
	char		*database;	/* file path (SQLite) or postgresql:// URI */
	char		*org_name;	/* report_metadata/org_name */
	char		*email;		/* report_metadata/email, and From: of the reports */
	char		*extra_contact_info;
	char		*receiver;	/* the receiver domain in file names; default: domain of email */
	enum report_format format;
	char		*smtp_relay;	/* host[:port] */
	bool		 smtp_starttls;
	bool		 smtp_tls_verify;
	char		*smtp_ca_file;	/* PEM CA certificates for the relay; NULL = system store */
	char		*smtp_user;
	char		*smtp_password_file;
	char		*sendmail;	/* use "sendmail -t -i" at this path instead of SMTP */
	struct nameserver nameservers[CONFIG_MAX_NAMESERVERS];
	size_t		 n_nameservers;
	unsigned	 dns_timeout;
	char		*psl_file;
	/* domain owners: sources, readiness */
	struct known_source *known;
	size_t		 n_known;
	double		 readiness_pass_rate;	/* percent of direct mail that passes DMARC */
	unsigned	 readiness_days;	/* full days of evidence before a step */
	unsigned	 readiness_min_messages; /* in those days */
	unsigned	 rdns_cache_days;	/* reverse DNS answers kept in the store */
};

/* Defaults, then the file (NULL: defaults only).  NULL and err on error. */
struct rconf	*rconf_load(const char *path, char *err, size_t errlen);
void		 rconf_free(struct rconf *);
/*
 * known_source_match - the first KnownSource or UnauthorizedSource line
 * that covers what a source
 * did (in file order), or NULL.  Names compare ASCII case-insensitively;
 * a domain matches itself and every name below it.
 */
const struct known_source *known_source_match(const struct rconf *, const struct ks_subject *);

/* rconf_dns_options - the DNS settings every command uses: Nameservers,
 * DNSTimeout, one retry, a cache of 4096 answers (an hour at most,
 * negative ones five minutes). */
struct dns_options;
void		 rconf_dns_options(const struct rconf *, struct dns_options *);

/* Every option with its value, for "dmarc-reports -n". */
void		 rconf_dump(const struct rconf *, FILE *);

#endif
