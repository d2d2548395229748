/*
 * failrep.h - DMARC failure reports (RFC 9991): deciding when one is
 * wanted, writing it as an ARF message (RFC 5965, RFC 6591 as updated by
 * RFC 9991 §4), and sending it off the milter's hot path.
 *
 * The message threads only decide and copy (failrep_submit): the little
 * they need from the session and the verdict goes into a bounded queue,
 * after a per-destination-domain rate limit.  One sender thread takes
 * items off the queue, checks external destinations by DNS (RFC 9991 §5,
 * the RFC 9990 §4 procedure with "ruf"), looks up the SPF record for the
 * SPF-DNS field, and hands each report to the configured SMTP relay; a
 * temporary failure is retried with backoff.  No process is forked.
 *
 * The queue lives in memory: a report not yet accepted by the relay when
 * the milter stops is lost (and counted in the log).  Failure reports are
 * best effort by design (RFC 9991 §7.1 tells generators to drop surplus
 * reports); once the relay has accepted one, the MTA's queue holds it.
 */
#ifndef DM_FAILREP_H
#define DM_FAILREP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "dmarc_record.h"
#include "result.h"

struct runtime;
struct session;

#define FAILREP_MAX_HEADER_BYTES	(64u * 1024)	/* of the original header in a report */
#define FAILREP_RATE_WINDOW		3600		/* seconds: the rate limit is per hour */
#define FAILREP_RETRY_FIRST		10		/* seconds before the first retry */
#define FAILREP_RETRY_MAX		900		/* longest wait between tries */
#define FAILREP_GIVE_UP			(6 * 3600)	/* a report older than this is dropped */

/* Which "fo" conditions (RFC 9989 §4.7 / RFC 7489 §6.3) a message met. */
enum failrep_trigger {
	FAILREP_NONE = 0,
	FAILREP_DMARC,		/* fo=0 or fo=1: no aligned pass (or, for 1, one mechanism short) */
	FAILREP_DKIM,		/* fo=d: a signature failed, aligned or not */
	FAILREP_SPF		/* fo=s: SPF failed, aligned or not */
};

/*
 * failrep_trigger - whether the outcome o (of verdict v) asks for a
 * report under the record's fo tag, and which kind.  Never for a record
 * with psd=y (RFC 9991 §2: "MUST NOT consider ruf tags in DMARC Policy
 * Records having a psd=y tag"), nor without ruf, nor without a record.
 */
enum failrep_trigger failrep_trigger(const struct verdict *v, const struct dmarc_outcome *o);

/* Everything a report needs, copied out of the session and the verdict. */
struct failrep_input {
	char		*reporter;	/* AuthservID: User-Agent host, Message-ID domain */
	char		*from;		/* report From and envelope sender */
	enum dmarc_rules rules;
	char		*policy_domain;	/* where the record was found */
	char		*reported_domain;	/* RFC5322.From domain */
	struct dmarc_uri *ruf;		/* the destinations left after the rate limit */
	size_t		 n_ruf;
	char		*source_ip;	/* "" when the MTA gave none */
	char		*mail_from;	/* envelope sender, "" for the null sender */
	time_t		 arrival;
	const char	*auth_failure;	/* RFC 6591 §3.2.2 / RFC 9991 §4: dmarc, signature, bodyhash, spf */
	char		*identity_alignment;	/* RFC 9991 §4: "dkim, spf", "dkim", "spf" or "none" */
	const char	*delivery_result;	/* RFC 6591 §3.2.3 */
	char		*auth_results;	/* our Authentication-Results value */
	char		*dkim_domain;	/* a failed signature of an aligned d=, else NULL */
	char		*dkim_identity;
	char		*dkim_selector;
	char		*spf_domain;	/* SPF failed for an aligned domain: SPF-DNS wanted */
	char		*headers;	/* the original header, CRLF, redacted as configured */
	bool		 headers_8bit;
	bool		 headers_cut;	/* FAILREP_MAX_HEADER_BYTES was reached */
};

/*
 * failrep_input_new - the input for a report about outcome o of v, built
 * from the session s (headers, envelope, client) and the configuration;
 * delivery is the action taken ("accept", "quarantine", "reject",
 * "tempfail"), ar the A-R value we computed.  Redacts the original header
 * when conf->failure_reports_redact.
 */
struct failrep_input *failrep_input_new(const struct config *conf, const struct session *s,
		    const struct verdict *v, const struct dmarc_outcome *o, enum failrep_trigger,
		    const char *delivery, const char *ar);
void		 failrep_input_free(struct failrep_input *);

/*
 * failrep_format - the whole report message for one destination address
 * (CRLF line ends).  spf_txt is the SPF record of in->spf_domain for the
 * SPF-DNS field, NULL when none was found.  now and unique make the
 * Date, Message-ID and MIME boundary.
 */
void		 failrep_format(const struct failrep_input *in, const char *to, const char *spf_txt,
		    time_t now, const char *unique, struct buf *out);

/*
 * failrep_redact_value - RFC 6590 redaction of one header value: the
 * local part of every address becomes "redacted".  Malloc'd.
 */
char		*failrep_redact_value(const char *value);

/* failrep_is_report - true for a message that is itself a feedback report (no report about it: loops) */
bool		 failrep_is_report(const struct session *s);

/* Rate limit: at most limit takes per key (destination domain) per window. */
struct ratelimit;
struct ratelimit *ratelimit_new(size_t max_keys);
void		 ratelimit_free(struct ratelimit *);
/* true when one more is allowed now (and counts it); *first_refusal is set on the window's first no */
bool		 ratelimit_take(struct ratelimit *, const char *key, time_t now, unsigned limit,
		    unsigned window, bool *first_refusal);

/* The queue and its sender thread (the milter only). */
int		 failrep_start(char *err, size_t errlen);
/* stop the sender: wait up to grace seconds for the queue to drain */
void		 failrep_stop(unsigned grace);
/* consider message s (verdict v, action) for failure reports; called by every message thread */
void		 failrep_submit(struct runtime *rt, const struct session *s, const struct verdict *v,
		    const char *action, const char *qid);

/* Counters, for the log and tests. */
struct failrep_stats {
	unsigned long	 queued;
	unsigned long	 sent;		/* one per destination accepted by the relay */
	unsigned long	 rate_limited;	/* destinations skipped by the rate limit */
	unsigned long	 refused;	/* destinations refused by the external check */
	unsigned long	 dropped;	/* queue full, given up, or left at shutdown */
};
void		 failrep_get_stats(struct failrep_stats *);

#endif
