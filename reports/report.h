/*
 * report.h - one DMARC aggregate report as data: what the store builds from
 * history records, the XML writer serializes (RFC 9990, or RFC 7489
 * Appendix C) and the mailer delivers.  Strings are owned by the report
 * (report_free) and are raw values; the XML writer escapes them.
 */
#ifndef DM_REPORT_H
#define DM_REPORT_H

#include <stddef.h>
#include <time.h>

enum report_format {
	REPORT_RFC9990 = 0,	/* urn:ietf:params:xml:ns:dmarc-2.0 */
	REPORT_RFC7489		/* RFC 7489 Appendix C, no namespace */
};

/* One DKIM signature result of a row (auth_results/dkim). */
struct report_dkim {
	char	*domain;
	char	*selector;	/* always written in RFC 9990 ("" when unknown) */
	char	*result;	/* none, pass, fail, policy, neutral, temperror, permerror */
	char	*human_result;	/* may be NULL */
};

/* One SPF result of a row (auth_results/spf). */
struct report_spf {
	char	*domain;
	char	*scope;		/* "mfrom" or "helo" */
	char	*result;	/* none, neutral, pass, fail, softfail, temperror, permerror */
	char	*human_result;	/* may be NULL */
};

struct report_reason {
	char	*type;		/* local_policy, mailing_list, other, policy_test_mode,
				 * trusted_forwarder; RFC 7489 also forwarded, sampled_out */
	char	*comment;	/* may be NULL */
};

/* One <record>: a distinct combination, with the number of messages. */
struct report_row {
	char			*source_ip;
	unsigned long long	 count;
	char			*disposition;	/* none, quarantine, reject (RFC 9990 also pass) */
	char			*dkim;		/* DMARC's DKIM verdict: pass or fail */
	char			*spf;		/* DMARC's SPF verdict: pass or fail */
	struct report_reason	*reasons;
	size_t			 n_reasons;
	char			*envelope_to;	/* may be NULL */
	char			*envelope_from;	/* may be NULL (RFC 9990 requires it: "" then) */
	char			*header_from;
	struct report_dkim	*dkim_results;	/* in the RFC 9990 priority order, at most 100 */
	size_t			 n_dkim;
	struct report_spf	*spf_results;
	size_t			 n_spf;
};

struct report {
	enum report_format	 format;
	/* report_metadata */
	char			*org_name;
	char			*email;
	char			*extra_contact_info;	/* may be NULL */
	char			*report_id;
	time_t			 begin, end;		/* UTC, inclusive seconds */
	char			*error;			/* may be NULL */
	char			*generator;		/* RFC 9990; may be NULL */
	/* policy_published (as the record said) */
	char			*domain;
	char			*p, *sp, *np;		/* sp/np may be NULL */
	char			*adkim, *aspf;		/* "r" or "s" */
	char			*fo;			/* may be NULL */
	char			*testing;		/* RFC 9990 "y"/"n"; may be NULL */
	char			*discovery_method;	/* RFC 9990 "psl"/"treewalk"; may be NULL */
	int			 pct;			/* RFC 7489; -1 when not published */
	/* records */
	struct report_row	*rows;
	size_t			 n_rows;
};

void	report_free(struct report *);
/* Release the strings of one DKIM result (the struct itself stays). */
void	report_dkim_clear(struct report_dkim *);

#endif
