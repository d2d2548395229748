/*
 * lint.h - the DNS a domain owner publishes for DMARC, checked for the
 * classic mistakes (dmarc-reports check-dns): the DMARC record and its
 * report destinations, SPF (with the RFC 7208 lookup limits counted
 * through includes and redirects), DKIM keys per selector, and whether
 * the zone is signed (DNSSEC).
 *
 * Every lookup goes through the project's DNS layer (dns.h), so the unit
 * tests run the same code on the static backend.  The result is a list of
 * findings, each with a severity, a stable short code (for scripts and the
 * manual), a message and the fix.
 */
#ifndef DM_LINT_H
#define DM_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct dns;
struct orgdomain;

/* Worst last: lint_worst() compares them. */
enum lint_severity {
	LINT_OK = 0,		/* checked, fine */
	LINT_INFO,		/* worth knowing, nothing to do */
	LINT_NOTICE,		/* works, but there is a better setting */
	LINT_WARNING,		/* some mail or some receivers are affected */
	LINT_ERROR		/* broken: receivers ignore it or fail the mail */
};

struct lint_finding {
	enum lint_severity severity;
	const char	*code;		/* static, stable: "dmarc-missing", "spf-lookups" */
	char		*message;	/* what was found, naming the DNS name */
	char		*fix;		/* what to do; NULL when nothing */
};

struct lint_result {
	struct lint_finding *f;
	size_t		 n;
};

/*
 * What the store's received aggregate reports say about the domain
 * (filled by the caller; lint.c does not open the store).
 */
struct lint_history {
	time_t		 none_since;	/* start of the newest report of the current
					 * unbroken run of p=none reports; 0 = none */
	time_t		 last_report;	/* begin of the newest report; 0 = no reports */
	char		**sub_senders;	/* header_from names below the domain */
	size_t		 n_sub_senders;
	unsigned long long sub_messages; /* messages from them */
};

/*
 * lint_history_row - fold one record of a received report into h.  Rows
 * must come ordered by report begin (store_rcv_rows does): a report of
 * the domain with p=none starts or continues the run, any other p ends
 * it.  header_from names below the domain are the sending subdomains.
 */
void		 lint_history_row(struct lint_history *, const char *domain, long long begin,
		    const char *policy_domain, const char *p, const char *header_from,
		    unsigned long long count);
void		 lint_history_free(struct lint_history *);

/* p=none for at least this long is a finding (with history) */
#define LINT_NONE_DAYS		60

struct lint_options {
	const char	*domain;		/* normalized */
	const char *const *selectors;		/* DKIM selectors to check */
	size_t		 n_selectors;
	const char	*record;		/* lint this DMARC text instead of the published one */
	const struct lint_history *history;	/* NULL: not known */
	time_t		 now;
};

/*
 * lint_domain - run every check.  The orgdomain handle finds the
 * Organizational Domain (inherited policy, external report destinations).
 * Returns 0 (findings in *res, free with lint_result_free) or -1 with err
 * when the options are unusable.
 */
int		 lint_domain(struct dns *, const struct orgdomain *, const struct lint_options *,
		    struct lint_result *res, char *err, size_t errlen);

/*
 * lint_spf - only the SPF checks of a domain (also used by lint_domain);
 * *lookups and *voids (may be NULL) get the counts of RFC 7208 §4.6.4.
 */
void		 lint_spf(struct dns *, const char *domain, struct lint_result *,
		    unsigned *lookups, unsigned *voids);

/* lint_add - append a finding (fix may be NULL); for callers with checks of their own */
void		 lint_add(struct lint_result *, enum lint_severity, const char *code, const char *fix,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void		 lint_result_free(struct lint_result *);
const char	*lint_severity_str(enum lint_severity);
enum lint_severity lint_worst(const struct lint_result *);
/* lint_has - the first finding with this code, or NULL */
const struct lint_finding *lint_has(const struct lint_result *, const char *code);

#endif
