/*
 * test_analyze.c - the domain owner's analysis (reports/analyze.c) and its
 * presentation (reports/present.c), fed with received-report rows
 * directly: grouping into sending systems (reverse DNS with forward
 * confirmation, DKIM, SPF, IP), statuses and counts, forwarded traffic,
 * KnownSource / UnauthorizedSource, daily KPIs and policies, remediations,
 * and every readiness verdict and step of the ramp.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "dns.h"
#include "orgdomain.h"
#include "present.h"
#include "rconf.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#define DAY	86400
#define T0	1788220800LL	/* 2026-09-01 00:00:00 UTC */
#define DOM	"owner.test"

static struct orgdomain *psl;

/* One record, as a received report gives it. */
struct spec {
	const char	*org;		/* reporter */
	int		 day;		/* report day, from T0 */
	const char	*p;
	int		 pct;
	const char	*t;
	const char	*ip;
	unsigned long long count;
	const char	*dkim, *spf;	/* policy_evaluated */
	const char	*dk_d, *dk_res;	/* one DKIM result, may be NULL */
	const char	*spf_d, *spf_res;
	const char	*reason, *comment;
	const char	*hfrom;		/* NULL: DOM */
	const char	*disp;
};

/* feed - one row into the builder */
static void
feed(struct an_builder *b, const struct spec *s)
{
	struct store_rcv_row r;
	struct report_dkim dk;
	struct report_spf sp;
	struct report_reason rs;
	char rid[64];

	memset(&r, 0, sizeof(r));
	snprintf(rid, sizeof(rid), "%s-%d-%s%d", s->org != NULL ? s->org : "google.com", s->day,
	    s->p != NULL ? s->p : "none", s->pct);
	r.org_name = s->org != NULL ? s->org : "google.com";
	r.report_id = rid;
	r.begin = T0 + (long long)s->day * DAY;
	r.end = r.begin + DAY - 1;
	r.domain = DOM;
	r.p = s->p != NULL ? s->p : "none";
	r.pct = s->pct;
	r.testing = s->t;
	r.source_ip = s->ip;
	r.count = s->count;
	r.disposition = s->disp != NULL ? s->disp : "none";
	r.dkim = s->dkim;
	r.spf = s->spf;
	r.header_from = s->hfrom != NULL ? s->hfrom : DOM;
	if (s->dk_d != NULL) {
		dk.domain = (char *)s->dk_d;
		dk.selector = (char *)"s1";
		dk.result = (char *)s->dk_res;
		dk.human_result = NULL;
		r.dkim_results = &dk;
		r.n_dkim = 1;
	}
	if (s->spf_d != NULL) {
		sp.domain = (char *)s->spf_d;
		sp.scope = (char *)"mfrom";
		sp.result = (char *)s->spf_res;
		sp.human_result = NULL;
		r.spf_results = &sp;
		r.n_spf = 1;
	}
	if (s->reason != NULL) {
		rs.type = (char *)s->reason;
		rs.comment = (char *)s->comment;
		r.reasons = &rs;
		r.n_reasons = 1;
	}
	analyze_row(&r, b);
}

/* conf - an rconf with these lines (NULL: defaults) */
static struct rconf *
conf(const char *text)
{
	char path[] = "/tmp/test_analyze.XXXXXX", err[256];
	struct rconf *rc;
	int fd;

	if (text == NULL)
		return rconf_load(NULL, err, sizeof(err));
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	rc = rconf_load(path, err, sizeof(err));
	if (rc == NULL)
		tap_diag("rconf_load: %s", err);
	unlink(path);
	return rc;
}

static struct an_builder *
begin(const struct rconf *rc, int days, struct dns *dns)
{
	struct an_options o;

	memset(&o, 0, sizeof(o));
	o.domain = DOM;
	o.since = T0;
	o.until = T0 + (long long)days * DAY;
	o.rc = rc;
	o.psl = psl;
	o.dns = dns;
	o.rdns = dns != NULL;
	o.now = T0 + (long long)days * DAY;
	return analyze_begin(&o);
}

static struct analysis *
end(struct an_builder *b)
{
	char err[256];
	struct analysis *a = analyze_end(b, err, sizeof(err));

	if (a == NULL)
		tap_diag("analyze_end: %s", err);
	return a;
}

static const struct an_source *
source(const struct analysis *a, const char *key)
{
	for (size_t i = 0; i < a->n_sources; i++)
		if (strcmp(a->sources[i].key, key) == 0)
			return &a->sources[i];
	return NULL;
}

#define PASS	"pass"
#define FAIL	"fail"

/* ------------------------------------------------------------------ */

static void
test_grouping(void)
{
	struct dns_options dopt;
	struct dns *dns;
	struct rconf *rc;
	struct an_builder *b;
	struct analysis *a;
	const struct an_source *s;

	memset(&dopt, 0, sizeof(dopt));
	dns = dns_new_static(&dopt);
	dns_static_add(dns, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "mta1.owner.test.");
	dns_static_add(dns, "mta1.owner.test", DNS_T_A, "192.0.2.1");
	dns_static_add(dns, "2.2.0.192.in-addr.arpa", DNS_T_PTR, "mta2.owner.test.");
	dns_static_add(dns, "mta2.owner.test", DNS_T_A, "192.0.2.2");
	dns_static_add(dns, "10.100.51.198.in-addr.arpa", DNS_T_PTR, "o1.mail.marketing-platform.test.");
	dns_static_add(dns, "o1.mail.marketing-platform.test", DNS_T_A, "198.51.100.10");
	/* a spoofer whose reverse zone claims to be our MTA: no A record back */
	dns_static_add(dns, "66.113.0.203.in-addr.arpa", DNS_T_PTR, "mta9.owner.test.");
	dns_static_set_status(dns, "9.113.0.203.in-addr.arpa", DNS_T_PTR, DNS_TEMPFAIL);
	dns_static_add(dns, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    DNS_T_PTR, "mta6.owner.test.");
	dns_static_add(dns, "mta6.owner.test", DNS_T_AAAA, "2001:db8::1");

	rc = conf("KnownSource owner.test rdns:owner.test Own MTAs\n"
	    "KnownSource owner.test rdns:marketing-platform.test Newsletters\n"
	    "UnauthorizedSource owner.test ip:203.0.113.0/25 Spoofers we know\n");
	if (!tap_ok(rc != NULL, "configuration with KnownSource lines loads"))
		return;
	b = begin(rc, 3, dns);
	feed(b, &(struct spec){ .day = 0, .pct = -1, .ip = "192.0.2.1", .count = 100, .dkim = PASS, .spf = PASS,
	    .dk_d = DOM, .dk_res = PASS, .spf_d = DOM, .spf_res = PASS });
	feed(b, &(struct spec){ .day = 1, .pct = -1, .ip = "192.0.2.2", .count = 50, .dkim = PASS, .spf = FAIL,
	    .dk_d = DOM, .dk_res = PASS });
	feed(b, &(struct spec){ .day = 1, .pct = -1, .ip = "2001:0db8:0::1", .count = 7, .dkim = FAIL, .spf = PASS,
	    .spf_d = DOM, .spf_res = PASS });
	feed(b, &(struct spec){ .day = 0, .pct = -1, .ip = "198.51.100.10", .count = 30, .dkim = PASS, .spf = FAIL,
	    .dk_d = DOM, .dk_res = PASS, .spf_d = "bounce.marketing-platform.test", .spf_res = PASS });
	feed(b, &(struct spec){ .day = 0, .pct = -1, .ip = "198.51.100.77", .count = 20, .dkim = PASS, .spf = FAIL,
	    .dk_d = "hr.test", .dk_res = PASS });
	feed(b, &(struct spec){ .day = 0, .pct = -1, .ip = "198.51.100.77", .count = 5, .dkim = PASS, .spf = FAIL,
	    .dk_d = DOM, .dk_res = PASS });
	feed(b, &(struct spec){ .day = 0, .pct = -1, .ip = "198.51.100.88", .count = 4, .dkim = PASS, .spf = FAIL,
	    .dk_d = DOM, .dk_res = PASS, .spf_d = "bounce.sender.test", .spf_res = PASS });
	feed(b, &(struct spec){ .day = 2, .pct = -1, .ip = "203.0.113.66", .count = 3, .dkim = FAIL, .spf = FAIL });
	feed(b, &(struct spec){ .day = 2, .pct = -1, .ip = "203.0.113.9", .count = 2, .dkim = FAIL, .spf = FAIL });
	feed(b, &(struct spec){ .day = 2, .pct = -1, .ip = "203.0.113.200", .count = 1, .dkim = FAIL, .spf = FAIL,
	    .dk_d = "sendgrid.net", .dk_res = FAIL });
	/* another domain's row and an empty row are not counted */
	{
		struct store_rcv_row r;

		memset(&r, 0, sizeof(r));
		r.org_name = "x";
		r.report_id = "y";
		r.begin = T0;
		r.end = T0 + DAY - 1;
		r.domain = "other.test";
		r.p = "none";
		r.pct = -1;
		r.source_ip = "192.0.2.1";
		r.count = 1000;
		r.dkim = r.spf = "pass";
		r.header_from = "other.test";
		analyze_row(&r, b);
	}
	a = end(b);
	if (!tap_ok(a != NULL, "analysis of the grouping story"))
		goto out;
	tap_is_int(a->total.total, 222, "every message of " DOM " counted, other domains not");
	s = source(a, "rdns:owner.test");
	tap_ok(s != NULL && s->n_ips == 3, "confirmed PTRs under owner.test (IPv4 and IPv6) are one system");
	tap_ok(s != NULL && s->c.total == 157 && s->c.n[AN_BOTH] == 100 && s->c.n[AN_DKIM_ONLY] == 50 &&
	    s->c.n[AN_SPF_ONLY] == 7, "its counts by status");
	tap_ok(s != NULL && s->known != NULL && strcmp(s->known->label, "Own MTAs") == 0 && s->known->authorized,
	    "it is the KnownSource \"Own MTAs\"");
	tap_ok(s == &a->sources[0], "sources are ordered by volume");
	tap_ok(s != NULL && strcmp(s->ips[0].ip, "192.0.2.1") == 0 && strcmp(s->ips[0].ptr, "mta1.owner.test") == 0,
	    "its IPs by volume, with their PTR");
	tap_ok(s != NULL && s->n_ips == 3 && strcmp(s->ips[2].ip, "2001:db8::1") == 0,
	    "IPv6 addresses in canonical form, PTR looked up under ip6.arpa");
	s = source(a, "rdns:marketing-platform.test");
	tap_ok(s != NULL && s->known != NULL && strcmp(s->known->label, "Newsletters") == 0,
	    "the platform is grouped by the org domain of o1.mail.marketing-platform.test");
	tap_ok(s != NULL && s->n_spf_domains == 1 && strcmp(s->spf_domains[0], "bounce.marketing-platform.test") == 0,
	    "its SPF domains are listed");
	s = source(a, "dkim:hr.test");
	tap_ok(s != NULL && s->c.total == 25, "no PTR: a third party's passing d= groups before ours");
	tap_ok(s != NULL && s->known == NULL, "an unclassified system has no known source");
	tap_ok(s != NULL && s->n_dkim_domains == 2, "its DKIM domains (ours and the platform's)");
	s = source(a, "spf:sender.test");
	tap_ok(s != NULL && s->c.total == 4, "a third party's passing SPF domain groups before our d=");
	s = source(a, "ip:203.0.113.66");
	tap_ok(s != NULL, "a PTR that does not point back is not used (spoofer claiming mta9.owner.test)");
	tap_ok(s != NULL && s->known != NULL && !s->known->authorized, "203.0.113.66 is an UnauthorizedSource");
	tap_is_int(a->rdns_unconfirmed, 1, "the unconfirmed PTR is counted");
	tap_is_int(a->rdns_tempfail, 1, "the temporary failure is counted (not cached, not fatal)");
	tap_ok(source(a, "ip:203.0.113.9") != NULL, "an IP whose lookup failed for now stands alone");
	s = source(a, "ip:203.0.113.200");
	tap_ok(s != NULL && s->known == NULL && s->n_dkim_domains == 1,
	    "a failing d= does not group (anyone can write one); outside the /25: unknown");
	tap_is_int(a->total.unauthorized, 5, "unauthorized messages");
	tap_is_int(a->total.unknown, 25 + 4 + 1, "unknown messages");
	tap_is_int(a->total.fail_unknown, 1, "unknown failing messages");
	tap_is_int(a->total.fail_unauthorized, 5, "unauthorized failing messages");
	tap_is_int(a->total.direct, 222 - 5, "direct traffic excludes UnauthorizedSource traffic");
	tap_is_int(a->reports, 3, "reports counted once per (org, id)");
	tap_is_int(a->n_days, 3, "three days");
out:
	analysis_free(a);
	rconf_free(rc);
	dns_free(dns);
}

static void
test_forwarded(void)
{
	struct rconf *rc = conf("KnownSource owner.test ip:192.0.2.0/24 Own MTAs\n");
	struct an_builder *b = begin(rc, 1, NULL);
	struct analysis *a;
	const struct an_source *s;

	feed(b, &(struct spec){ .ip = "198.51.100.1", .pct = -1, .count = 10, .dkim = FAIL, .spf = FAIL,
	    .reason = "mailing_list" });
	feed(b, &(struct spec){ .ip = "198.51.100.1", .pct = -1, .count = 20, .dkim = FAIL, .spf = FAIL,
	    .reason = "local_policy", .comment = "arc=pass as.1.google.com=pass" });
	feed(b, &(struct spec){ .ip = "198.51.100.1", .pct = -1, .count = 40, .dkim = FAIL, .spf = FAIL,
	    .dk_d = "news.owner.test", .dk_res = FAIL });
	feed(b, &(struct spec){ .ip = "198.51.100.2", .pct = -1, .count = 1, .dkim = FAIL, .spf = FAIL,
	    .reason = "local_policy", .comment = "research says so" });
	feed(b, &(struct spec){ .ip = "198.51.100.2", .pct = -1, .count = 2, .dkim = FAIL, .spf = FAIL,
	    .dk_d = "elsewhere.test", .dk_res = FAIL });
	feed(b, &(struct spec){ .ip = "198.51.100.3", .pct = -1, .count = 4, .dkim = FAIL, .spf = FAIL,
	    .reason = "forwarded" });
	feed(b, &(struct spec){ .ip = "198.51.100.3", .pct = -1, .count = 8, .dkim = FAIL, .spf = FAIL,
	    .reason = "trusted_forwarder" });
	/* our own system breaking our signature is not forwarding */
	feed(b, &(struct spec){ .ip = "192.0.2.9", .pct = -1, .count = 16, .dkim = FAIL, .spf = FAIL,
	    .dk_d = DOM, .dk_res = FAIL });
	feed(b, &(struct spec){ .ip = "192.0.2.9", .pct = -1, .count = 100, .dkim = PASS, .spf = PASS });
	/* a pass is never "forwarded" */
	feed(b, &(struct spec){ .ip = "198.51.100.4", .pct = -1, .count = 32, .dkim = PASS, .spf = FAIL,
	    .reason = "forwarded" });
	a = end(b);
	if (!tap_ok(a != NULL, "analysis of forwarded traffic"))
		goto out;
	tap_is_int(a->total.forwarded, 10 + 20 + 40 + 4 + 8,
	    "mailing_list, local_policy arc, a broken signature of ours, forwarded, trusted_forwarder");
	s = source(a, "ip:198.51.100.1");
	tap_ok(s != NULL && s->forwarder, "a system whose failures are understandable is marked as forwarding");
	s = source(a, "ip:198.51.100.2");
	tap_ok(s != NULL && s->c.forwarded == 0 && !s->forwarder,
	    "\"research\" is not ARC, a broken signature of another domain is not ours");
	s = source(a, "ip:192.0.2.9");
	tap_ok(s != NULL && s->c.forwarded == 0 && s->c.fail_known == 16,
	    "a KnownSource that breaks our signature has failures to fix, not forwarding");
	tap_ok(s != NULL && !s->forwarder, "and is not a forwarder");
	tap_is_int(a->total.direct, 1 + 2 + 16 + 100 + 32, "direct traffic: everything but understandable failures");
	tap_is_int(a->total.direct_pass, 100 + 32, "direct passes");
	tap_ok(an_forwarded_share(&a->total) > 35.0 && an_forwarded_share(&a->total) < 35.2,
	    "forwarded share %.2f%%", an_forwarded_share(&a->total));
out:
	analysis_free(a);
	rconf_free(rc);
}

static void
test_kpis_fixes_policy(void)
{
	struct rconf *rc = conf(NULL);
	struct an_builder *b = begin(rc, 10, NULL);
	struct analysis *a;
	const struct an_source *s;
	int d;

	for (d = 0; d < 10; d++) {
		if (d == 3)
			continue;	/* a day without reports */
		feed(b, &(struct spec){ .day = d, .pct = 100, .p = "none", .ip = "192.0.2.1", .count = 90,
		    .dkim = PASS, .spf = PASS });
		/* the HR tool fails until day 5, then passes */
		feed(b, &(struct spec){ .day = d, .pct = 100, .p = "none", .ip = "198.51.100.50", .count = 10,
		    .dkim = d < 5 ? FAIL : PASS, .spf = FAIL, .dk_d = "hrtool.test", .dk_res = PASS });
	}
	/* a report aligned on another time zone goes to the day holding most of it */
	{
		struct store_rcv_row r;

		memset(&r, 0, sizeof(r));
		r.org_name = "Yahoo";
		r.report_id = "tz";
		r.begin = T0 + 6 * DAY + 22 * 3600;
		r.end = r.begin + DAY - 1;
		r.domain = "OWNER.test";
		r.p = "none";
		r.pct = -1;
		r.source_ip = "192.0.2.1";
		r.count = 5;
		r.dkim = r.spf = "pass";
		r.header_from = "mail.owner.test";
		analyze_row(&r, b);
	}
	a = end(b);
	if (!tap_ok(a != NULL, "analysis of ten days"))
		goto out;
	tap_is_int(a->n_days, 10, "every day of the period is present");
	tap_ok(a->days[3].c.total == 0 && a->days[3].reports == 0 && a->days[3].p == NULL,
	    "a day without reports is present, with zeros");
	tap_is_int(a->days[7].c.total, 105, "a report from 22:00 to 21:59 counts for the next UTC day");
	tap_ok(a->subdomains_send, "header_from below the domain: subdomains send");
	tap_ok(a->days[0].c.total == 100 && an_pass_rate(&a->days[0].c) == 90.0,
	    "day 0: 100 messages, 90%% pass");
	tap_ok(an_pass_rate(&a->days[5].c) == 100.0, "day 5: 100%% pass");
	tap_ok(an_spf_rate(&a->days[5].c) == 90.0 && an_dkim_rate(&a->days[5].c) == 100.0,
	    "SPF- and DKIM-aligned rates");
	tap_ok(an_unknown_share(&a->days[5].c) == 100.0, "without KnownSource lines everything is unknown");
	s = source(a, "dkim:hrtool.test");
	tap_ok(s != NULL && s->daily[0].n[AN_NEITHER] == 10 && s->daily[6].n[AN_DKIM_ONLY] == 10,
	    "per-day counts of a source");
	tap_is_int(a->n_fixes, 1, "one remediation");
	if (a->n_fixes == 1) {
		tap_ok(a->fixes[0].source == s, "it is the HR tool");
		tap_is_int(a->fixes[0].changed, T0 + 5 * DAY, "fixed on day 5");
		tap_ok(a->fixes[0].before.total == 40 && an_pass_rate(&a->fixes[0].before) == 0.0,
		    "before: 40 messages, 0%% pass");
		tap_ok(a->fixes[0].after.total == 50 && an_pass_rate(&a->fixes[0].after) == 100.0,
		    "after: 50 messages, 100%% pass");
	}
	tap_is_str(a->p, "none", "latest policy p=none");
	tap_is_int(a->pct, 100, "pct from the reports");
	tap_is_int(a->policy_since, T0, "published since the first day (a day without reports does not break it)");
	tap_is_int(a->none_since, T0, "p=none since the first day");
out:
	analysis_free(a);
	rconf_free(rc);
}

static void
test_policy_votes(void)
{
	struct rconf *rc = conf(NULL);
	struct an_builder *b = begin(rc, 4, NULL);
	struct analysis *a;

	/* days 0-1 p=none; days 2-3 quarantine: RFC 7489 reports carry pct, RFC 9990 ones t */
	for (int d = 0; d < 4; d++) {
		bool q = d >= 2;

		feed(b, &(struct spec){ .org = "google.com", .day = d, .p = q ? "quarantine" : "none",
		    .pct = q ? 5 : 100, .ip = "192.0.2.1", .count = 10, .dkim = PASS, .spf = PASS });
		feed(b, &(struct spec){ .org = "Outlook.com", .day = d, .p = q ? "quarantine" : "none",
		    .pct = -1, .t = q ? "y" : "n", .ip = "192.0.2.1", .count = 10, .dkim = PASS, .spf = PASS });
		feed(b, &(struct spec){ .org = "Yahoo", .day = d, .p = q ? "QUARANTINE" : "none", .pct = -1,
		    .ip = "192.0.2.1", .count = 10, .dkim = PASS, .spf = PASS });
	}
	a = end(b);
	if (!tap_ok(a != NULL, "analysis of a policy change"))
		goto out;
	tap_ok(a->days[2].p != NULL && strcmp(a->days[2].p, "quarantine") == 0 && a->days[2].pct == 5 &&
	    a->days[2].testing, "pct from RFC 7489 reports, t from RFC 9990 reports, p by vote");
	tap_ok(a->days[0].p != NULL && strcmp(a->days[0].p, "none") == 0 && !a->days[0].testing,
	    "the earlier policy");
	tap_is_int(a->policy_since, T0 + 2 * DAY, "the latest policy is published since day 2");
	tap_is_int(a->none_since, 0, "not at p=none now");
	tap_is_int(a->days[1].reports, 3, "three reports a day");
	tap_is_int(a->n_reporters, 3, "three reporters");
out:
	analysis_free(a);
	rconf_free(rc);
}

/* ------------------------------------------------------------------ */
/* readiness                                                            */

struct story {
	int		 days;
	const char	*p;
	int		 pct;
	const char	*t;
	int		 changed;	/* the policy above since this day; before: p=none */
	unsigned long long own, hr, spoof, unauth, fwd, known_fail;
	int		 hr_fixed;	/* day the HR tool passes from; -1 never fails */
	int		 first;		/* first day with reports */
};

/* run_story - N days of reports, then readiness */
static struct readiness *
run_story(const struct story *st, const struct rconf *rc, struct analysis **out)
{
	struct an_builder *b = begin(rc, st->days, NULL);
	struct readiness *r;
	char err[256];

	for (int d = st->first; d < st->days; d++) {
		const char *p = d >= st->changed ? st->p : "none";
		int pct = d >= st->changed ? st->pct : 100;
		const char *t = d >= st->changed ? st->t : NULL;

		if (st->own)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "192.0.2.1",
			    .count = st->own, .dkim = PASS, .spf = PASS });
		if (st->known_fail)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "192.0.2.7",
			    .count = st->known_fail, .dkim = FAIL, .spf = FAIL });
		if (st->hr)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "198.51.100.50",
			    .count = st->hr, .dkim = d < st->hr_fixed ? FAIL : PASS, .spf = FAIL,
			    .dk_d = "hrtool.test", .dk_res = PASS });
		if (st->spoof)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "203.0.113.200",
			    .count = st->spoof, .dkim = FAIL, .spf = FAIL });
		if (st->unauth)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "203.0.113.5",
			    .count = st->unauth, .dkim = FAIL, .spf = FAIL });
		if (st->fwd)
			feed(b, &(struct spec){ .day = d, .p = p, .pct = pct, .t = t, .ip = "198.51.100.99",
			    .count = st->fwd, .dkim = FAIL, .spf = FAIL, .dk_d = DOM, .dk_res = FAIL });
	}
	*out = end(b);
	if (*out == NULL)
		return NULL;
	r = readiness(*out, rc, err, sizeof(err));
	if (r == NULL)
		tap_diag("readiness: %s", err);
	return r;
}

static const struct an_hit *
hit(const struct readiness *r, const char *key)
{
	for (size_t i = 0; i < r->n_hits; i++)
		if (strcmp(r->hits[i].source->key, key) == 0)
			return &r->hits[i];
	return NULL;
}

/* defaults, then the fields given: a later designated initializer wins (C11 6.7.9) */
#pragma GCC diagnostic ignored "-Woverride-init"
#define STORY(...) ((struct story){ .days = 28, .p = "none", .pct = 100, .hr_fixed = -1, __VA_ARGS__ })

static void
test_readiness(void)
{
	struct rconf *rc = conf("KnownSource owner.test ip:192.0.2.0/24 Own MTAs\n"
	    "UnauthorizedSource owner.test ip:203.0.113.0/28 Known spoofers\n");
	struct analysis *a = NULL;
	struct readiness *r;
	const struct an_hit *h;

	if (!tap_ok(rc != NULL, "readiness configuration"))
		return;
	tap_ok(rc->readiness_days == 14 && rc->readiness_pass_rate == 98.0 && rc->readiness_min_messages == 100,
	    "defaults: 14 days, 98%%, 100 messages");

	/* GO from p=none */
	r = run_story(&STORY(.own = 1000, .spoof = 5, .unauth = 200, .fwd = 40), rc, &a);
	if (tap_ok(r != NULL, "readiness of a clean p=none story")) {
		tap_is_str(an_verdict_str(r->verdict), "GO", "clean for 28 days: GO");
		tap_ok(r->current == STEP_NONE && r->next == STEP_Q5, "none -> quarantine 5%%");
		tap_is_str(r->record, "v=DMARC1; p=quarantine; pct=5; t=y", "the record to publish");
		tap_ok(strstr(r->reason, "RFC 9989") != NULL && strstr(r->reason, "t=y") != NULL &&
		    strstr(r->reason, "RFC 7489") != NULL, "the reason says what t=y and pct mean to each kind of receiver");
		tap_is_int(r->window_days, 14, "window of 14 days");
		tap_is_int(r->days_with_data, 14, "14 days with data");
		tap_is_int(r->messages, 14 * (1000 + 5 + 200 + 40), "messages in the window");
		tap_is_int(r->direct, 14 * (1000 + 5), "direct messages in the window");
		tap_ok(r->pass_rate > 99.5 && r->pass_rate < 99.51, "direct pass rate %.3f", r->pass_rate);
		tap_is_int(r->n_hits, 3, "three failing systems");
		h = r->n_hits > 0 ? &r->hits[0] : NULL;
		tap_ok(h != NULL && strcmp(h->source->key, "ip:203.0.113.5") == 0 && h->unauthorized &&
		    !h->known && h->messages == 14 * 200, "the largest hit: the unauthorized spoofer");
		h = hit(r, "ip:198.51.100.99");
		tap_ok(h != NULL && h->forwarded && h->forwarded_messages == 14 * 40, "forwarded failures are noted");
		h = hit(r, "ip:203.0.113.200");
		tap_ok(h != NULL && !h->forwarded && !h->unauthorized && !h->known, "an unknown spoofer is a hit");
		tap_is_int(r->days_at_current, 28, "p=none for 28 days");
	}
	readiness_free(r);
	analysis_free(a);

	/* FIX: the forgotten HR tool, unknown, fails */
	r = run_story(&STORY(.own = 1000, .hr = 60, .spoof = 5, .hr_fixed = 100), rc, &a);
	if (tap_ok(r != NULL, "readiness with a failing unknown HR tool")) {
		tap_is_str(an_verdict_str(r->verdict), "FIX", "direct pass rate below 98%%: FIX");
		tap_ok(r->record == NULL, "no record to publish");
		tap_ok(r->n_hits > 0 && strcmp(r->hits[0].source->key, "dkim:hrtool.test") == 0,
		    "the HR tool is the first hit");
		tap_ok(strstr(r->reason, "hrtool.test") != NULL && strstr(r->reason, "KnownSource") != NULL,
		    "the reason names it and says what to do");
	}
	readiness_free(r);
	analysis_free(a);

	/* HR fixed on day 10, readiness on day 28: 18 clean days -> GO */
	r = run_story(&STORY(.own = 1000, .hr = 60, .spoof = 5, .hr_fixed = 10), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_GO, "HR tool fixed 18 days ago: GO");
	tap_ok(a != NULL && a->n_fixes == 1 && strcmp(a->fixes[0].source->key, "dkim:hrtool.test") == 0 &&
	    a->fixes[0].changed == T0 + 10 * DAY, "the fix is seen, on day 10");
	readiness_free(r);
	analysis_free(a);

	/* fixed on day 20: 8 clean days, the 14-day window still has failures */
	r = run_story(&STORY(.own = 1000, .hr = 60, .hr_fixed = 20), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_FIX, "HR tool fixed 8 days ago: the window still fails, FIX");
	readiness_free(r);
	analysis_free(a);

	/* FIX: a known source fails, even though the rate is above the threshold */
	r = run_story(&STORY(.own = 1000000, .known_fail = 1), rc, &a);
	if (tap_ok(r != NULL, "readiness with one failing known message a day")) {
		tap_is_str(an_verdict_str(r->verdict), "FIX", "a failing KnownSource: FIX");
		tap_ok(r->pass_rate >= 99.99, "even at %.4f%% direct pass", r->pass_rate);
		tap_ok(r->n_hits > 0 && r->hits[0].known && r->hits[0].known_messages == 14,
		    "the known source is listed first");
		tap_ok(strstr(r->reason, "Own MTAs") != NULL, "the reason names it by its label");
	}
	readiness_free(r);
	analysis_free(a);

	/* known failures come first in the list even when smaller */
	r = run_story(&STORY(.own = 1000, .known_fail = 1, .unauth = 500), rc, &a);
	tap_ok(r != NULL && r->n_hits == 2 && r->hits[0].known && r->hits[1].unauthorized,
	    "known hits before bigger unauthorized ones");
	readiness_free(r);
	analysis_free(a);

	/* WAIT: too few days of reports */
	r = run_story(&STORY(.own = 1000, .first = 20), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_WAIT && r->days_with_data == 8, "8 days of reports: WAIT");
	tap_ok(r != NULL && strstr(r->reason, "8 of the last 14") != NULL, "the reason says why");
	readiness_free(r);
	analysis_free(a);

	/* WAIT: too few messages */
	r = run_story(&STORY(.own = 5), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_WAIT && r->messages == 70, "70 messages: WAIT");
	readiness_free(r);
	analysis_free(a);

	/* WAIT: only spoofing (no direct traffic) */
	r = run_story(&STORY(.unauth = 500), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_WAIT && r->direct == 0, "no direct mail: WAIT");
	readiness_free(r);
	analysis_free(a);

	/* WAIT: the current step is too recent */
	r = run_story(&STORY(.own = 1000, .p = "quarantine", .pct = 5, .t = "y", .changed = 21), rc, &a);
	if (tap_ok(r != NULL, "readiness a week after quarantine 5%%")) {
		tap_ok(r->verdict == READY_WAIT && r->current == STEP_Q5 && r->days_at_current == 7,
		    "published 7 days ago: WAIT");
		tap_ok(strstr(r->reason, "7 days") != NULL, "the reason says how long");
	}
	readiness_free(r);
	analysis_free(a);

	/* GO through the ramp */
	{
		static const struct {
			const char *p;
			int pct;
			const char *t;
			enum an_step cur, next;
			const char *record;
		} ramp[] = {
			{ "quarantine", 5, "y", STEP_Q5, STEP_Q25, "v=DMARC1; p=quarantine; pct=25; t=y" },
			{ "quarantine", 25, "y", STEP_Q25, STEP_Q50, "v=DMARC1; p=quarantine; pct=50; t=y" },
			{ "quarantine", 50, "y", STEP_Q50, STEP_Q100, "v=DMARC1; p=quarantine" },
			{ "quarantine", 100, NULL, STEP_Q100, STEP_REJECT, "v=DMARC1; p=reject" },
			{ "quarantine", -1, "n", STEP_Q100, STEP_REJECT, "v=DMARC1; p=reject" },
			{ "quarantine", 100, "y", STEP_Q50, STEP_Q100, "v=DMARC1; p=quarantine" },
			{ "quarantine", -1, "y", STEP_Q5, STEP_Q25, "v=DMARC1; p=quarantine; pct=25; t=y" },
			{ "quarantine", 75, NULL, STEP_Q50, STEP_Q100, "v=DMARC1; p=quarantine" },
			{ "quarantine", 0, NULL, STEP_NONE, STEP_Q5, "v=DMARC1; p=quarantine; pct=5; t=y" },
			{ "reject", 50, NULL, STEP_Q100, STEP_REJECT, "v=DMARC1; p=reject" },
			{ "reject", 100, "y", STEP_Q100, STEP_REJECT, "v=DMARC1; p=reject" },
		};

		for (size_t i = 0; i < sizeof(ramp) / sizeof(ramp[0]); i++) {
			r = run_story(&STORY(.own = 1000, .unauth = 50, .p = ramp[i].p, .pct = ramp[i].pct,
			    .t = ramp[i].t, .changed = 0), rc, &a);
			tap_ok(r != NULL && r->verdict == READY_GO && r->current == ramp[i].cur &&
			    r->next == ramp[i].next && r->record != NULL && strcmp(r->record, ramp[i].record) == 0,
			    "p=%s pct=%d t=%s: %s -> GO %s", ramp[i].p, ramp[i].pct, ramp[i].t ? ramp[i].t : "-",
			    an_step_name(ramp[i].cur), ramp[i].record);
			if (r != NULL && r->record != NULL && strcmp(r->record, ramp[i].record) != 0)
				tap_diag("got %s (%s -> %s)", r->record, an_step_name(r->current), an_step_name(r->next));
			readiness_free(r);
			analysis_free(a);
		}
	}
	/* pct without t=y: RFC 9989 receivers ignore pct */
	r = run_story(&STORY(.own = 1000, .p = "quarantine", .pct = 25), rc, &a);
	tap_ok(r != NULL && r->current == STEP_Q25 && strstr(r->reason, "without t=y") != NULL,
	    "pct=25 without t=y: a warning about RFC 9989 receivers");
	readiness_free(r);
	analysis_free(a);

	/* DONE at p=reject */
	r = run_story(&STORY(.own = 1000, .unauth = 10, .p = "reject", .pct = 100), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_DONE && r->current == STEP_REJECT && r->record == NULL,
	    "p=reject: DONE");
	readiness_free(r);
	analysis_free(a);
	r = run_story(&STORY(.own = 1000, .known_fail = 3, .p = "reject", .pct = -1), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_FIX && strstr(r->reason, "being rejected") != NULL,
	    "p=reject with a failing known source: FIX, its mail is being rejected");
	readiness_free(r);
	analysis_free(a);

	/* never a step that hits a known source: at every step, with every amount of evidence */
	{
		static const struct { const char *p; int pct; const char *t; } steps[] = {
			{ "none", 100, NULL }, { "quarantine", 5, "y" }, { "quarantine", 25, "y" },
			{ "quarantine", 50, "y" }, { "quarantine", 100, NULL }, { "reject", 50, NULL },
		};
		int bad = 0, n = 0;

		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			for (int first = 0; first < 28; first += 9)
				for (unsigned long long own = 10; own <= 100000; own *= 100) {
					r = run_story(&STORY(.own = own, .known_fail = 1, .p = steps[i].p,
					    .pct = steps[i].pct, .t = steps[i].t, .first = first), rc, &a);
					n++;
					if (r == NULL || r->verdict == READY_GO || r->record != NULL)
						bad++;
					readiness_free(r);
					analysis_free(a);
				}
		tap_ok(bad == 0 && n == 6 * 4 * 3, "never GO while a known source fails (%d cases, %d bad)", n, bad);
	}
	/* ... and with a KnownSource matched by passing DKIM that fails elsewhere */
	rconf_free(rc);
	rc = conf("KnownSource owner.test dkim:hrtool.test HR portal\n");
	r = run_story(&STORY(.own = 1000, .hr = 60, .hr_fixed = 100), rc, &a);
	tap_ok(r != NULL && r->verdict == READY_FIX && r->n_hits > 0 && r->hits[0].known,
	    "a dkim: KnownSource whose own signature passes but is not aligned: a known source that fails");
	readiness_free(r);
	analysis_free(a);
	rconf_free(rc);
}

/* ------------------------------------------------------------------ */
/* presentation                                                         */

/* render - one view into a string */
static char *
render(int view, const struct analysis *a, const struct readiness *r, enum present_format f)
{
	char *s = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&s, &len);

	if (view == 0)
		present_sources(a, f, fp);
	else if (view == 1)
		present_kpis(&a, 1, f, fp);
	else
		present_readiness(a, r, f, fp);
	fclose(fp);
	return s;
}

static void
test_present(void)
{
	struct rconf *rc = conf("KnownSource owner.test ip:192.0.2.0/24 Own \"MTAs\", main\n"
	    "UnauthorizedSource owner.test ip:203.0.113.0/28 =HYPERLINK(\"x\")\n");
	struct an_builder *b = begin(rc, 20, NULL);
	struct analysis *a;
	struct readiness *r;
	json_t *j, *v;
	json_error_t je;
	char *s, err[256];

	for (int d = 0; d < 20; d++) {
		feed(b, &(struct spec){ .org = "google.com", .day = d, .pct = 100, .ip = "192.0.2.1", .count = 500,
		    .dkim = PASS, .spf = PASS, .dk_d = DOM, .dk_res = PASS });
		feed(b, &(struct spec){ .org = "evil\x1b]0;pwned\x07org", .day = d, .pct = 100, .ip = "203.0.113.3",
		    .count = 7, .dkim = FAIL, .spf = FAIL, .dk_d = "-2+3.test", .dk_res = FAIL });
		feed(b, &(struct spec){ .org = "@reporter", .day = d, .pct = 100, .ip = "198.51.100.9",
		    .count = 2, .dkim = FAIL, .spf = FAIL });
		feed(b, &(struct spec){ .org = "-1+2", .day = d, .pct = 100, .ip = "198.51.100.10",
		    .count = 1, .dkim = FAIL, .spf = FAIL });
	}
	a = end(b);
	if (!tap_ok(a != NULL, "analysis for the views"))
		return;
	r = readiness(a, rc, err, sizeof(err));
	if (!tap_ok(r != NULL, "readiness for the views"))
		return;

	s = render(0, a, r, PRESENT_TABLE);
	tap_ok(s != NULL && strstr(s, "system") != NULL && strstr(s, "spf+dkim") != NULL &&
	    strstr(s, "DKIM d=") != NULL && strstr(s, "Own \"MTAs\", main") != NULL,
	    "sources table: header and the known label");
	tap_ok(s != NULL && strstr(s, "unauthorized: =HYPERLINK") != NULL && strstr(s, "UNKNOWN") != NULL,
	    "sources table: unauthorized and UNKNOWN");
	tap_ok(s != NULL && strchr(s, '\x1b') == NULL && strchr(s, '\x07') == NULL,
	    "no control character from a report reaches the terminal");
	tap_ok(s != NULL && strstr(s, "10,000") != NULL, "counts with thousands separators");
	free(s);

	s = render(0, a, r, PRESENT_JSON);
	j = s != NULL ? json_loads(s, 0, &je) : NULL;
	tap_ok(j != NULL, "sources JSON parses%s%s", j == NULL ? ": " : "", j == NULL ? je.text : "");
	v = json_object_get(j, "sources");
	tap_ok(json_is_array(v) && json_array_size(v) == 4, "four sources in JSON");
	v = json_array_get(v, 0);
	tap_ok(json_is_string(json_object_get(v, "key")) && strcmp(json_string_value(json_object_get(v, "key")),
	    "dkim:owner.test") == 0 && json_integer_value(json_object_get(json_object_get(v, "counts"), "messages")) == 10000,
	    "first source key and messages");
	tap_ok(json_is_string(json_object_get(v, "classification")) &&
	    strcmp(json_string_value(json_object_get(v, "classification")), "known") == 0, "classification known");
	tap_ok(json_is_real(json_object_get(json_object_get(j, "total"), "pass_rate")), "rates are numbers");
	json_decref(j);
	free(s);

	s = render(0, a, r, PRESENT_CSV);
	tap_ok(s != NULL && strncmp(s, "domain,system,key,known,classification,messages,", 48) == 0,
	    "sources CSV header");
	tap_ok(s != NULL && strstr(s, "\"'@reporter\"") != NULL, "CSV: @ is guarded");
	tap_ok(s != NULL && strstr(s, "\"'-1+2\"") != NULL, "CSV: - is guarded");
	tap_ok(s != NULL && strstr(s, "\"Own \"\"MTAs\"\", main\"") != NULL, "CSV: comma and quotes quoted");
	tap_ok(s != NULL && strstr(s, ",10000,") != NULL, "CSV: numbers plain");
	tap_ok(s != NULL && strstr(s, "\r\n") != NULL, "CSV: CRLF line ends");
	free(s);

	s = render(1, a, r, PRESENT_TABLE);
	tap_ok(s != NULL && strstr(s, "2026-09-01") != NULL && strstr(s, "2026-09-20") != NULL &&
	    strstr(s, "total") != NULL && strstr(s, "direct pass %") != NULL, "kpis table: every day and the total");
	free(s);
	s = render(1, a, r, PRESENT_JSON);
	j = s != NULL ? json_loads(s, 0, &je) : NULL;
	tap_ok(j != NULL && json_array_size(json_object_get(j, "days")) == 20, "kpis JSON: 20 days");
	v = json_array_get(json_object_get(j, "days"), 0);
	tap_ok(v != NULL && strcmp(json_string_value(json_object_get(v, "day")), "2026-09-01") == 0 &&
	    json_integer_value(json_object_get(json_object_get(v, "counts"), "messages")) == 510,
	    "kpis JSON: the first day");
	json_decref(j);
	free(s);
	s = render(1, a, r, PRESENT_CSV);
	{
		int lines = 0;

		for (char *p = s; p != NULL && (p = strstr(p, "\r\n")) != NULL; p += 2)
			lines++;
		tap_is_int(lines, 21, "kpis CSV: a header and one line per day");
	}
	free(s);

	s = render(2, a, r, PRESENT_TABLE);
	tap_ok(s != NULL && strstr(s, "owner.test: GO") != NULL &&
	    strstr(s, "_dmarc.owner.test. TXT \"v=DMARC1; p=quarantine; pct=5; t=y; ...\"") != NULL &&
	    strstr(s, "keep your rua=") != NULL, "readiness table: verdict, record, keep rua=");
	tap_ok(s != NULL && strstr(s, "meant to be stopped") != NULL && strstr(s, "identify") != NULL,
	    "readiness table: what to do for each hit");
	free(s);
	s = render(2, a, r, PRESENT_JSON);
	j = s != NULL ? json_loads(s, 0, &je) : NULL;
	tap_ok(j != NULL && strcmp(json_string_value(json_object_get(j, "verdict")), "GO") == 0 &&
	    strcmp(json_string_value(json_object_get(j, "publish")), "v=DMARC1; p=quarantine; pct=5; t=y") == 0 &&
	    strcmp(json_string_value(json_object_get(json_object_get(j, "next"), "step")), "quarantine-5") == 0,
	    "readiness JSON: verdict, publish, next step");
	tap_ok(json_array_size(json_object_get(j, "hits")) == 3, "readiness JSON: three hits");
	json_decref(j);
	free(s);
	s = render(2, a, r, PRESENT_CSV);
	tap_ok(s != NULL && strncmp(s, "domain,verdict,current,next,system,", 35) == 0 &&
	    strstr(s, "owner.test,GO,none,quarantine-5,") != NULL, "readiness CSV");
	tap_ok(s != NULL && strstr(s, ",\"'=HYPERLINK(\"\"x\"\")\",") != NULL,
	    "CSV: a formula gets an apostrophe, quotes are doubled");
	free(s);

	readiness_free(r);
	analysis_free(a);
	rconf_free(rc);
}

static void
test_errors(void)
{
	struct an_options o;
	char err[256];
	struct analysis *a;

	memset(&o, 0, sizeof(o));
	o.domain = "owner.test";
	o.since = T0;
	o.until = T0;
	a = analyze_end(analyze_begin(&o), err, sizeof(err));
	tap_ok(a == NULL && strstr(err, "empty") != NULL, "an empty period is an error");
	o.until = T0 + 5000LL * DAY;
	a = analyze_end(analyze_begin(&o), err, sizeof(err));
	tap_ok(a == NULL && strstr(err, "1100") != NULL, "a period over 1100 days is an error");
	o.until = T0 + DAY;
	o.domain = "not a domain";
	a = analyze_end(analyze_begin(&o), err, sizeof(err));
	tap_ok(a == NULL, "a domain that is not a name is an error");
	o.domain = DOM;
	o.since = T0 + 3600;
	o.until = T0 + 7200;
	a = analyze_end(analyze_begin(&o), err, sizeof(err));
	tap_ok(a != NULL && a->n_days == 1 && a->since == T0 && a->until == T0 + DAY && a->n_sources == 0 &&
	    a->p == NULL, "a period within a day is that whole day; no reports: nothing");
	analysis_free(a);
}

int
main(void)
{
	char err[256];

	if ((psl = orgdomain_load(NULL, err, sizeof(err))) == NULL) {
		printf("Bail out! no Public Suffix List: %s\n", err);
		return 1;
	}
	test_grouping();
	test_forwarded();
	test_kpis_fixes_policy();
	test_policy_votes();
	test_readiness();
	test_present();
	test_errors();
	orgdomain_free(psl);
	return tap_done();
}
