/*
 * dmarc_record.h - a parsed DMARC policy record (RFC 7489 §6.3, RFC 9989 §4.7).
 */
#ifndef DM_DMARC_RECORD_H
#define DM_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

enum dmarc_policy {
	DMARC_POLICY_UNSET = 0,		/* tag absent */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED = 0,
	DMARC_ALIGN_STRICT
};

enum dmarc_psd {
	DMARC_PSD_UNSET = 0,		/* absent, same as "u" */
	DMARC_PSD_YES,
	DMARC_PSD_NO
};

struct dmarc_uri {
	char		*uri;		/* as published, e.g. "mailto:d@example.com" */
	unsigned long long size_limit;	/* RFC 7489 "!10m" in bytes; 0 = none */
};

struct dmarc_record {
	enum dmarc_policy p;		/* after the §6.6.3 rule: an invalid p with a valid rua is NONE */
	enum dmarc_policy sp;		/* UNSET when absent */
	enum dmarc_policy np;		/* RFC 9989; UNSET when absent */
	enum dmarc_align adkim;
	enum dmarc_align aspf;
	unsigned	 pct;		/* RFC 7489; 100 when absent */
	bool		 pct_set;
	enum dmarc_psd	 psd;		/* RFC 9989 */
	bool		 testing;	/* RFC 9989 t=y */
	char		*fo;		/* failure-report options as published; NULL when absent */
	char		*rf;		/* RFC 7489 report format; NULL when absent */
	unsigned	 ri;		/* RFC 7489 report interval; 86400 when absent */
	struct dmarc_uri *rua;
	size_t		 n_rua;
	struct dmarc_uri *ruf;
	size_t		 n_ruf;
	bool		 p_invalid;	/* p was missing or invalid and rua made it p=none */
	char		*raw;		/* the record text as published */
};

enum dmarc_parse {
	DMARC_PARSE_OK = 0,
	DMARC_PARSE_NOT_DMARC,		/* does not start with v=DMARC1: not a DMARC record */
	DMARC_PARSE_INVALID		/* a DMARC record, but unusable (syntax, no valid p nor rua) */
};

/* Parse one record.  On INVALID, err says why (for logs and permerror). */
enum dmarc_parse dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *,
		    char *err, size_t errlen);
void		 dmarc_record_free(struct dmarc_record *);

/*
 * Among the TXT records at a _dmarc name, find the DMARC one (RFC 7489
 * §6.6.3): records not starting with "v=DMARC1" are dropped; exactly one
 * left is returned via *which (return 1); none gives 0; several give -1
 * (no policy: "not the first wins").
 */
int		 dmarc_record_select(char *const *txt, const size_t *len, size_t n, size_t *which);

const char	*dmarc_policy_str(enum dmarc_policy);

#endif
