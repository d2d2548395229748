/*
 * analyze.h - what the received aggregate reports say about one of our
 * domains: every source that sent as it, grouped into sending systems;
 * the daily KPIs owners steer by; and the next safe step on the ramp from
 * p=none to p=reject.  Pure computation over store_rcv_rows() plus reverse
 * DNS (through the project's DNS layer, remembered in the store); the
 * presentation (table, JSON, CSV: present.c; HTML: html.c) reads the
 * structs below and computes nothing of its own.
 */
#ifndef DM_REPORTS_ANALYZE_H
#define DM_REPORTS_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct store;
struct dns;
struct orgdomain;
struct rconf;
struct known_source;
struct store_rcv_row;
struct an_builder;

/* How a message authenticated, as DMARC sees it (identifier alignment). */
enum an_auth {
	AN_BOTH = 0,		/* aligned SPF pass and aligned DKIM pass */
	AN_SPF_ONLY,		/* aligned SPF pass only */
	AN_DKIM_ONLY,		/* aligned DKIM pass only */
	AN_NEITHER,		/* DMARC fail */
	AN_AUTH_N
};
const char	*an_auth_str(enum an_auth);	/* "spf+dkim", "spf only", "dkim only", "neither" */

/* Message counts by authentication status, plus the part of the
 * failures that is understandable (forwarding, mailing lists). */
struct an_counts {
	unsigned long long	 n[AN_AUTH_N];
	unsigned long long	 total;		/* sum of n[] */
	unsigned long long	 forwarded;	/* of n[AN_NEITHER]: forwarded / list traffic */
	unsigned long long	 unknown;	/* sent by sources not classified (neither
						 * KnownSource nor UnauthorizedSource) */
	unsigned long long	 unauthorized;	/* sent by UnauthorizedSource sources */
	unsigned long long	 quarantined, rejected;	/* disposition the receivers applied */
	/* added for readiness (analyze.c): the direct traffic is everything
	 * but understandable failures and UnauthorizedSource traffic */
	unsigned long long	 direct;		/* total - forwarded - unauthorized (not twice) */
	unsigned long long	 direct_pass;		/* of direct: DMARC pass */
	unsigned long long	 fail_known;		/* DMARC failures, not forwarded, of KnownSource traffic */
	unsigned long long	 fail_unknown;		/* DMARC failures, not forwarded, of unclassified traffic */
	unsigned long long	 fail_unauthorized;	/* DMARC failures of UnauthorizedSource traffic */
};

/* One source IP of a sending system. */
struct an_ip {
	char			*ip;
	char			*ptr;		/* its reverse DNS name, NULL when none */
	struct an_counts	 c;
};

/* One sending system: the IPs that share a reverse DNS organisational
 * domain, or (without one) a passing DKIM d= or SPF domain, or else the
 * IP alone.  See analyze.c for the exact grouping rule. */
struct an_source {
	char			*key;		/* stable id: "rdns:sendgrid.net", "dkim:...",
						 * "spf:...", "ip:192.0.2.1" */
	char			*name;		/* what to show: "sendgrid.net" or the IP */
	const struct known_source *known;	/* the KnownSource (->authorized) or
						 * UnauthorizedSource line that covers
						 * it (rconf.h); NULL: not classified */
	bool			 forwarder;	/* looks like forwarding / a list (see .c) */
	struct an_counts	 c;
	struct an_ip		*ips;		/* by volume, largest first */
	size_t			 n_ips;
	char			**dkim_domains;	/* d= seen (pass or not), sorted */
	size_t			 n_dkim_domains;
	char			**spf_domains;	/* SPF domains seen, sorted */
	size_t			 n_spf_domains;
	char			**reporters;	/* org_names that reported it, sorted */
	size_t			 n_reporters;
	time_t			 first_seen, last_seen;	/* report begin times (UTC days) */
	/* per day, aligned with analysis.days[]: for the before/after view */
	struct an_counts	*daily;
};

/* The KPIs of one UTC day. */
struct an_day {
	time_t			 day;		/* 00:00 UTC */
	struct an_counts	 c;
	unsigned		 reports;	/* reports covering the day */
	/* the policy published that day (the most frequent one reported) */
	char			*p;
	int			 pct;		/* -1: not published */
	bool			 testing;	/* t=y */
};

/* Rates in percent, 0 when total is 0. */
double	an_pass_rate(const struct an_counts *);		/* (BOTH+SPF_ONLY+DKIM_ONLY)/total */
double	an_spf_rate(const struct an_counts *);		/* (BOTH+SPF_ONLY)/total */
double	an_dkim_rate(const struct an_counts *);		/* (BOTH+DKIM_ONLY)/total */
double	an_unknown_share(const struct an_counts *);	/* unknown/total */
double	an_forwarded_share(const struct an_counts *);	/* forwarded/total */
/* pass rate of the direct traffic: passes / (total - forwarded - unauthorized);
 * what readiness compares with ReadinessPassRate */
double	an_direct_pass_rate(const struct an_counts *);

/* A remediation seen in the period: a source that failed, then passed. */
struct an_fix {
	const struct an_source	*source;
	time_t			 changed;	/* first day of the "after" part */
	struct an_counts	 before, after;
};

struct analysis {
	char			*domain;
	time_t			 since, until;	/* [since, until), UTC days */
	struct an_counts	 total;
	struct an_source	*sources;	/* by volume, largest first */
	size_t			 n_sources;
	struct an_day		*days;		/* every day of [since, until), in order,
						 * days without reports included (zero) */
	size_t			 n_days;
	struct an_fix		*fixes;
	size_t			 n_fixes;
	unsigned		 reports;	/* received reports that contributed */
	char			**reporters;	/* their organisations, sorted */
	size_t			 n_reporters;
	/* the latest policy seen in the reports */
	char			*p, *sp, *np;
	int			 pct;
	bool			 testing;
	time_t			 policy_since;	/* first day of the latest unbroken run of p/pct/t */
	time_t			 none_since;	/* first day of the latest unbroken run of p=none, 0 if not none */
	bool			 subdomains_send;	/* header_from below domain seen */
	/* added: reverse DNS of the source IPs (analyze.c) */
	unsigned		 rdns_asked;		/* IPs looked up in the DNS this run */
	unsigned		 rdns_cached;		/* IPs answered from the store's cache */
	unsigned		 rdns_tempfail;		/* IPs whose lookup failed for now (not cached) */
	unsigned		 rdns_unconfirmed;	/* PTR names whose A/AAAA does not hold the IP */
};

struct an_options {
	const char		*domain;
	time_t			 since, until;
	bool			 rdns;		/* look reverse DNS up (dns must be set) */
	struct dns		*dns;
	const struct orgdomain	*psl;
	const struct rconf	*rc;		/* KnownSource, thresholds */
	time_t			 now;		/* for the rDNS cache age */
};

/* analyze - read the store and compute.  NULL with err on failure. */
struct analysis	*analyze(struct store *, const struct an_options *, char *err, size_t errlen);

/* The same in steps, without a store (analyze() is begin, store_rcv_rows
 * with analyze_row, end): for tests and other sources of rows. */
struct an_builder *analyze_begin(const struct an_options *);
int		 analyze_row(const struct store_rcv_row *, void *builder);	/* a store_rcv_fn */
struct analysis	*analyze_end(struct an_builder *, char *err, size_t errlen);	/* frees the builder */
void		 analysis_free(struct analysis *);

/* The enforcement ramp (RFC 7489 pct steps; t=y is RFC 9989's test mode). */
enum an_step {
	STEP_NONE = 0,		/* p=none */
	STEP_Q5,		/* p=quarantine; pct=5; t=y */
	STEP_Q25,		/* p=quarantine; pct=25; t=y */
	STEP_Q50,		/* p=quarantine; pct=50; t=y */
	STEP_Q100,		/* p=quarantine */
	STEP_REJECT,		/* p=reject */
	STEP_N
};
const char	*an_step_record(enum an_step);	/* the tags to publish, e.g. "p=quarantine; pct=5; t=y" */
const char	*an_step_name(enum an_step);	/* "none", "quarantine-5", ..., "quarantine", "reject" */

enum an_verdict {
	READY_GO = 0,		/* the next step is safe: publish it */
	READY_WAIT,		/* not enough evidence yet (days, volume) */
	READY_FIX,		/* fix the listed sources first */
	READY_DONE		/* already at p=reject, 100% */
};
const char	*an_verdict_str(enum an_verdict);	/* "GO", "WAIT", "FIX", "DONE" */

/* A source the next step would quarantine or reject. */
struct an_hit {
	const struct an_source	*source;
	unsigned long long	 messages;	/* failing messages in the window */
	bool			 known;		/* a KnownSource: blocks the step */
	bool			 unauthorized;	/* an UnauthorizedSource: meant to be stopped */
	bool			 forwarded;	/* understandable failure (forwarding) */
	/* added: the split of messages (known: not forwarded and KnownSource
	 * traffic; forwarded: understandable failures) */
	unsigned long long	 known_messages;
	unsigned long long	 forwarded_messages;
};

struct readiness {
	enum an_step		 current, next;
	enum an_verdict		 verdict;
	char			*reason;	/* one sentence: why this verdict */
	/* the evidence, over the last window_days full days */
	unsigned		 window_days;	/* ReadinessDays */
	unsigned		 days_with_data;
	unsigned		 days_at_current;	/* days since the current step was published */
	double			 pass_rate;		/* direct pass rate in the window */
	double			 threshold;		/* ReadinessPassRate */
	unsigned long long	 messages;
	struct an_hit		*hits;		/* the known ones first, then by messages */
	size_t			 n_hits;
	/* added */
	char			*record;	/* the full record to publish for next (GO), else NULL:
						 * "v=DMARC1; p=quarantine; pct=5; t=y" */
	unsigned long long	 direct;	/* direct messages in the window */
};

/* readiness - the verdict for a->domain at a->until; NULL with err. */
struct readiness *readiness(const struct analysis *, const struct rconf *, char *err, size_t errlen);
void		 readiness_free(struct readiness *);

#endif
