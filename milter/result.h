/*
 * result.h - what the evaluation of one message found: the SPF, DKIM and
 * DMARC results and the disposition.  The Authentication-Results writer,
 * the history writer, the log line and the milter's action all read this
 * one struct; nothing in it knows libmilter.
 */
#ifndef DM_RESULT_H
#define DM_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dmarc_record.h"

/* RFC 8601 §2.7 result values (shared by spf, dkim and dmarc). */
enum auth_res {
	AUTH_NONE = 0,
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,		/* SPF only */
	AUTH_NEUTRAL,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
	AUTH_POLICY		/* DKIM: verified but refused by local policy (RFC 8301 rsa-sha1, short key) */
};

const char	*auth_res_str(enum auth_res);
int		 auth_res_parse(const char *, enum auth_res *);

/* One SPF check (RFC 7208). */
struct spf_outcome {
	enum auth_res	 result;
	bool		 helo_scope;	/* the HELO identity was checked (null sender, RFC 7208 §2.3) */
	char		*domain;	/* the domain checked: MAIL FROM domain or HELO name */
	char		*identity;	/* the full identity: "user@domain", or the HELO name */
	char		*reason;	/* short human text (log and A-R comment) */
};

/* One DKIM signature (RFC 6376), in the order they appear in the message. */
struct dkim_outcome {
	enum auth_res	 result;
	char		*domain;	/* d= */
	char		*selector;	/* s= */
	char		*algorithm;	/* a=, e.g. "rsa-sha256", "ed25519-sha256" */
	char		*identity;	/* i=, NULL when absent */
	char		*b;		/* the first characters of b=, for A-R header.b */
	unsigned	 key_bits;	/* 0 when unknown (or ed25519) */
	char		*reason;	/* why it is not a pass, NULL for a pass */
};

/* The disposition actually applied (RFC 7489 §7.2 / RFC 9990 DispositionType). */
enum disposition {
	DISP_NONE = 0,
	DISP_QUARANTINE,
	DISP_REJECT
};

/* Why the disposition differs from the published policy. */
enum override_reason {
	OVR_NONE = 0,
	OVR_SAMPLED_OUT,	/* RFC 7489 pct */
	OVR_POLICY_TEST_MODE,	/* RFC 9989 t=y */
	OVR_LOCAL_POLICY,	/* our configuration (RejectFailures off, …) */
	OVR_TRUSTED_FORWARDER,
	OVR_FORWARDED,
	OVR_MAILING_LIST,
	OVR_OTHER
};

const char	*disposition_str(enum disposition);
const char	*override_reason_str(enum override_reason);

enum discovery {
	DISCOVERY_PSL = 0,	/* RFC 7489: organisational domain from the Public Suffix List */
	DISCOVERY_TREEWALK	/* RFC 9989 §4.10: DNS tree walk */
};

/* The DMARC evaluation for one author domain. */
struct dmarc_outcome {
	enum auth_res	 result;	/* pass, fail, none, temperror, permerror */
	char		*from_domain;	/* the RFC5322.From domain, lowercase */
	char		*policy_domain;	/* where the record was found; NULL when none */
	char		*org_domain;	/* organisational domain of from_domain */
	bool		 have_record;
	struct dmarc_record record;	/* valid when have_record */
	enum dmarc_policy policy;	/* the policy that applies: p, sp or np */
	bool		 spf_aligned;
	bool		 dkim_aligned;
	enum disposition disposition;
	enum override_reason reason;
	enum discovery	 discovery;
	char		*comment;	/* e.g. "multiple DMARC records", for logs and reports */
};

/* Everything decided about one message. */
struct verdict {
	time_t		 when;
	struct spf_outcome spf;		/* MAIL FROM (or HELO for the null sender) */
	struct spf_outcome spf_helo;	/* the HELO identity, when checked separately */
	bool		 have_spf_helo;
	struct dkim_outcome *dkim;
	size_t		 n_dkim;
	struct dmarc_outcome *dmarc;	/* one per author domain */
	size_t		 n_dmarc;
	size_t		 deciding;	/* index of the outcome whose disposition applies */
	enum disposition disposition;	/* the strictest over all author domains */
	size_t		 n_from_headers;	/* From header fields seen */
	bool		 from_problem;	/* no/several From, unparsable: see from_comment */
	char		*from_comment;
};

void	verdict_init(struct verdict *);
void	verdict_free(struct verdict *);

#endif
