/*
 * analyze.c - what the aggregate reports received for one of our domains
 * say: the sending systems, the daily KPIs, and the next safe step on the
 * ramp from p=none to p=reject.
 *
 * DESIGN (these rules are in dmarc-reports(8) too)
 *
 * Which records count.  A record counts for domain D when its report's
 * policy_published/domain is D (ASCII case-insensitive).  Its header_from
 * may be D or a name below it (mail from subdomains under D's sp=); such
 * mail sets subdomains_send.  A subdomain that publishes its own record
 * has its own reports and its own ramp: analyse it with --domain SUB.
 *
 * Days.  Everything is in UTC days.  A report's counts go to the day that
 * holds the middle of its date range.  Almost every receiver reports one
 * day; for a report aligned on UTC midnight (begin 00:00:00, end 23:59:59
 * or 00:00:00 the next day) that is its own day, for one aligned on
 * another time zone it is the UTC day most of its hours fall in, and a
 * report over several days goes to its middle day rather than being split
 * (its records say nothing about when within the range each message
 * came).  Days of the period without any report are present, with zeros.
 *
 * Statuses.  A record's status is DMARC's own verdict from
 * policy_evaluated: aligned SPF pass and aligned DKIM pass (spf+dkim), SPF
 * only, DKIM only, or neither (DMARC fail).  Unaligned passes in
 * auth_results do not make a pass.
 *
 * Understandable failures ("forwarded").  A DMARC failure is counted as
 * forwarding or mailing-list traffic when the receiver said so with a
 * policy override reason (forwarded, mailing_list, trusted_forwarder, or
 * local_policy with a comment that mentions ARC), or when the record
 * carries a DKIM signature of D (d= D or a name below it) whose result is
 * "fail": a signature of ours that broke in transit because a list or a
 * forwarder changed the message.  A forger cannot make a valid signature
 * of ours, and replaying an intact one would pass; a forger who pastes a
 * broken one gets counted as forwarded, which changes nothing for the
 * ramp: that mail is still listed as what the next step would hit.  The
 * broken-signature rule is not applied to KnownSource traffic: a system of
 * ours sends directly, and when our signature breaks there (a footer added
 * after signing, link rewriting), that is a failure to fix, not
 * forwarding.
 *
 * Reverse DNS.  Each source IP's PTR is looked up through the project's
 * DNS layer (no lookups with --no-rdns) and forward-confirmed: a PTR name
 * is used only when its A (IPv4) or AAAA (IPv6) records hold the IP.
 * Whoever controls an IP's reverse zone can make its PTR say anything
 * ("mta1.example.com"); without the check a spoofer could join our own
 * sending system in the inventory, or match an rdns: KnownSource line.  The
 * confirmed name (or "none", for no PTR or no confirmation) is remembered
 * in the store (store_rdns_put) and reused while younger than
 * ReverseDNSCacheDays; a temporary DNS failure is not remembered (the IP
 * is shown without a name this time and asked again next time).
 *
 * Sending systems.  IPs are grouped by a key, in this order:
 *   rdns:ORG  the organisational domain (PSL) of the confirmed PTR name;
 *   dkim:ORG  else the organisational domain of a passing DKIM d= (by
 *             volume; a third party's own signature, e.g. the platform's
 *             d=, before a signature of D, which many systems share);
 *   spf:ORG   else the same for a passing SPF domain;
 *   ip:ADDR   else the IP alone.
 * Only passing identifiers group: anyone can write a failing d= or
 * MAIL FROM, nobody can make one pass.
 *
 * Known and unauthorised sources.  Each distinct (IP, passing d= set,
 * passing SPF domain set) of the records is matched against the
 * KnownSource / UnauthorizedSource lines (known_source_match, first line
 * that matches, domain D) with the IP, its confirmed PTR, and the passing
 * DKIM and SPF domains of those records.  Counts (unknown, unauthorized,
 * fail_known, ...) follow each record's own classification; a system's
 * `known` is the classification that covers most of its messages (a tie
 * goes to a KnownSource, then an UnauthorizedSource: a system that is
 * half known must not look unknown, and readiness checks the known part
 * record by record anyway).
 *
 * Direct traffic and KPIs.  Rates are percentages of messages: DMARC pass
 * rate, SPF-aligned rate, DKIM-aligned rate, unknown share (unclassified
 * sources), forwarded share.  The direct traffic is everything except
 * understandable failures and UnauthorizedSource traffic; the direct pass
 * rate is what readiness compares with ReadinessPassRate.
 *
 * Policy.  Per day, the policy published is voted by the reports of that
 * day: p by every report, pct by the reports that carry one (RFC 7489
 * reports; RFC 9990 dropped it), t by those that carry testing (RFC 9990).
 * The latest policy is the vote of the last day with reports.
 *
 * Remediations.  A system "was fixed" on day X when its direct traffic
 * before X passed DMARC less than 50% of the time and from X on at least
 * 95%; of the days with reports for which that holds, X is the one with
 * the largest difference (the earliest on a tie).
 *
 * Readiness.  The ramp is none -> quarantine pct=5 t=y -> pct=25 t=y ->
 * pct=50 t=y -> quarantine -> reject (an_step_record).  The current step
 * is the highest one the latest published policy reaches (pct missing from
 * every report: 5 assumed when t=y).  Over the window, the last
 * ReadinessDays full UTC days before --until:
 *   DONE  p=reject at 100%, and no KnownSource fails;
 *   FIX   some KnownSource traffic fails DMARC (not forwarded): the step
 *         would quarantine or reject it; these are listed first, and no
 *         step is recommended, whatever the rest says;
 *   FIX   the direct pass rate is below ReadinessPassRate: the failing
 *         systems are listed by volume (the unclassified ones must be
 *         identified: KnownSource and fixed, or UnauthorizedSource);
 *   WAIT  fewer than ReadinessDays days with reports, fewer than
 *         ReadinessMinMessages messages, no direct traffic, or the current
 *         policy published for fewer than ReadinessDays days;
 *   GO    otherwise: the next step's record, and what it will hit (the
 *         unauthorised and unclassified failing systems, forwarding noted).
 * FIX comes before WAIT: waiting two weeks to be told to fix what is
 * already visible helps nobody.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "analyze.h"
#include "buf.h"
#include "dns.h"
#include "orgdomain.h"
#include "rconf.h"
#include "store.h"
#include "util.h"

#define DAY		86400
#define AN_MAX_DAYS	1100		/* about three years: bounds the per-day arrays */
#define AN_MAX_PTRS	4		/* PTR names tried for forward confirmation */
#define FIX_BEFORE_MAX	50.0		/* a remediation: less than this before */
#define FIX_AFTER_MIN	95.0		/* and at least this after */

/* ------------------------------------------------------------------ */
/* a string table: interned names with a volume each                   */

struct strtab {
	char			**names;
	unsigned long long	 *vol;
	size_t			  n, cap;	/* entries */
	size_t			 *slots;	/* open addressing: index + 1, 0 = empty */
	size_t			  nslots;
};

/* strhash - FNV-1a */
static size_t
strhash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

/* strtab_find - index of name, or (size_t)-1 */
static size_t
strtab_find(const struct strtab *t, const char *name)
{
	size_t i;

	if (t->nslots == 0)
		return (size_t)-1;
	for (i = strhash(name) & (t->nslots - 1); t->slots[i] != 0; i = (i + 1) & (t->nslots - 1))
		if (strcmp(t->names[t->slots[i] - 1], name) == 0)
			return t->slots[i] - 1;
	return (size_t)-1;
}

/* strtab_grow - double the slots when more than half full */
static void
strtab_grow(struct strtab *t)
{
	size_t i, j;

	if (t->nslots != 0 && (t->n + 1) * 2 <= t->nslots)
		return;
	t->nslots = t->nslots == 0 ? 16 : t->nslots * 2;
	free(t->slots);
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	for (i = 0; i < t->n; i++) {
		for (j = strhash(t->names[i]) & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1))
			;
		t->slots[j] = i + 1;
	}
}

/* strtab_add - intern name, add vol to it; *added (may be NULL) says whether it is new */
static size_t
strtab_add(struct strtab *t, const char *name, unsigned long long vol, bool *added)
{
	size_t i = strtab_find(t, name), j;

	if (added != NULL)
		*added = i == (size_t)-1;
	if (i != (size_t)-1) {
		t->vol[i] += vol;
		return i;
	}
	strtab_grow(t);
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 8 : t->cap * 2;
		t->names = xrealloc(t->names, t->cap * sizeof(*t->names));
		t->vol = xrealloc(t->vol, t->cap * sizeof(*t->vol));
	}
	i = t->n++;
	t->names[i] = xstrdup(name);
	t->vol[i] = vol;
	for (j = strhash(name) & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1))
		;
	t->slots[j] = i + 1;
	return i;
}

static void
strtab_free(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->vol);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* strtab_sorted - a sorted copy of the names (allocated strings) */
static char **
strtab_sorted(const struct strtab *t, size_t *n)
{
	char **out = xcalloc(t->n + 1, sizeof(*out));

	for (size_t i = 0; i < t->n; i++)
		out[i] = xstrdup(t->names[i]);
	qsort(out, t->n, sizeof(*out), cmp_str);
	*n = t->n;
	return out;
}

/* ------------------------------------------------------------------ */
/* names                                                               */

/* norm - a domain from a report in canonical form, or NULL when it is not a name */
static char *
norm(const char *s)
{
	char err[128];

	if (s == NULL || *s == '\0')
		return NULL;
	return domain_normalize(s, err, sizeof(err));
}

/* ip_canon - the numeric address in canonical text form (inet_ntop); NULL if not one */
static char *
ip_canon(const char *ip, int *family, unsigned char addr[16])
{
	char out[INET6_ADDRSTRLEN];

	if (ip == NULL)
		return NULL;
	if (inet_pton(AF_INET, ip, addr) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		*family = AF_INET6;
	else
		return NULL;
	if (inet_ntop(*family, addr, out, sizeof(out)) == NULL)
		return NULL;
	return xstrdup(out);
}

/* ------------------------------------------------------------------ */
/* the builder                                                          */

enum cls { CLS_UNKNOWN = 0, CLS_KNOWN, CLS_UNAUTH };

struct bip {
	char			*ip;
	int			 family;
	unsigned char		 addr[16];
	char			*ptr;		/* forward-confirmed, or NULL */
	struct strtab		 dkim_all, spf_all, reporters;
	struct strtab		 dkim_pass, spf_pass;	/* passing domains, by volume */
	size_t			 src;		/* index into the sources, at the end */
	size_t			 ipi;		/* index into that source's ips */
};

struct bcombo {
	size_t			 ip;
	char			**dkim_pass, **spf_pass;
	size_t			 n_dkim_pass, n_spf_pass;
	const struct known_source *ks;
};

struct brow {
	size_t			 combo;
	size_t			 day;
	unsigned long long	 count;
	unsigned char		 st;		/* enum an_auth */
	bool			 fwd_reason;	/* an override reason says forwarding */
	bool			 fwd_sig;	/* a signature of ours failed */
	char			 disp;		/* 'q', 'r', or 0 */
};

struct bday {
	struct strtab		 p, pct, t;	/* the policy votes of the day's reports */
	unsigned		 reports;
};

struct an_builder {
	struct an_options	 o;
	struct store		*st;		/* the reverse DNS cache; NULL: none */
	char			*domain;	/* normalized */
	time_t			 since, until;
	size_t			 n_days;
	char			 error[256];	/* set: analyze_end fails with it */
	struct strtab		 ipidx;		/* ip -> index into ips */
	struct bip		*ips;
	size_t			 n_ips, cap_ips;
	struct strtab		 comboidx;
	struct bcombo		*combos;
	size_t			 n_combos, cap_combos;
	struct brow		*rows;
	size_t			 n_rows, cap_rows;
	struct bday		*days;
	struct strtab		 reports;	/* org_name "\n" report_id */
	struct strtab		 reporters;
	long long		 last_begin;	/* of the latest report */
	char			*last_sp, *last_np;
	bool			 subdomains_send;
};

const char *
an_auth_str(enum an_auth a)
{
	switch (a) {
	case AN_BOTH:
		return "spf+dkim";
	case AN_SPF_ONLY:
		return "spf only";
	case AN_DKIM_ONLY:
		return "dkim only";
	default:
		return "neither";
	}
}

/* builder_fail - record the first error; analyze_end reports it */
static void
builder_fail(struct an_builder *b, const char *msg)
{
	if (b->error[0] == '\0')
		snprintf(b->error, sizeof(b->error), "%s", msg);
}

struct an_builder *
analyze_begin(const struct an_options *o)
{
	struct an_builder *b = xcalloc(1, sizeof(*b));

	b->o = *o;
	b->last_begin = -1;
	b->since = o->since - (o->since % DAY + DAY) % DAY;
	b->until = o->until + (DAY - (o->until % DAY + DAY) % DAY) % DAY;
	if (o->domain == NULL || (b->domain = norm(o->domain)) == NULL) {
		builder_fail(b, "no domain, or not a domain name");
		return b;
	}
	if (b->until <= b->since) {
		builder_fail(b, "the period is empty (until is not after since)");
		return b;
	}
	if ((b->until - b->since) / DAY > AN_MAX_DAYS) {
		builder_fail(b, "the period is longer than 1100 days");
		return b;
	}
	b->n_days = (size_t)((b->until - b->since) / DAY);
	b->days = xcalloc(b->n_days, sizeof(*b->days));
	return b;
}

/* reason_forwarded - does an override reason say forwarding or a list? */
static bool
reason_forwarded(const struct report_reason *r)
{
	const char *c;

	if (r->type == NULL)
		return false;
	if (strcasecmp(r->type, "forwarded") == 0 || strcasecmp(r->type, "mailing_list") == 0 ||
	    strcasecmp(r->type, "trusted_forwarder") == 0)
		return true;
	/* Receivers that honour ARC say so as local_policy, "arc=pass" and the like. */
	if (strcasecmp(r->type, "local_policy") == 0 && (c = r->comment) != NULL)
		for (; *c != '\0'; c++)
			if (strncasecmp(c, "arc", 3) == 0 &&
			    (c == r->comment || !((c[-1] >= 'a' && c[-1] <= 'z') || (c[-1] >= 'A' && c[-1] <= 'Z'))) &&
			    !((c[3] >= 'a' && c[3] <= 'z') || (c[3] >= 'A' && c[3] <= 'Z')))
				return true;
	return false;
}

/* list_add - a normalized name to a sorted, unique list of at most cap */
static void
list_add(char **list, size_t *n, size_t cap, char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(list[i], name) == 0) {
			free(name);
			return;
		}
	if (*n == cap) {
		free(name);
		return;
	}
	list[(*n)++] = name;
	qsort(list, *n, sizeof(*list), cmp_str);
}

/* bip_get - the builder's entry of a source IP */
static size_t
bip_get(struct an_builder *b, const char *raw)
{
	struct bip ip;
	char *canon;
	size_t i;
	bool added;

	memset(&ip, 0, sizeof(ip));
	if ((canon = ip_canon(raw, &ip.family, ip.addr)) == NULL)
		canon = xstrdup(raw != NULL && *raw != '\0' ? raw : "(none)");
	i = strtab_add(&b->ipidx, canon, 0, &added);
	if (!added) {
		free(canon);
		return i;
	}
	if (b->n_ips == b->cap_ips) {
		b->cap_ips = b->cap_ips == 0 ? 16 : b->cap_ips * 2;
		b->ips = xrealloc(b->ips, b->cap_ips * sizeof(*b->ips));
	}
	ip.ip = canon;
	b->ips[b->n_ips] = ip;
	return b->n_ips++;
}

/* vote - one report's policy for its day */
static void
vote(struct an_builder *b, size_t day, const struct store_rcv_row *r)
{
	char pct[16];

	b->days[day].reports++;
	if (r->p != NULL) {
		char *p = xstrdup(r->p);

		ascii_lowercase(p);
		strtab_add(&b->days[day].p, p, 1, NULL);
		free(p);
	}
	if (r->pct >= 0 && r->pct <= 100) {
		snprintf(pct, sizeof(pct), "%d", r->pct);
		strtab_add(&b->days[day].pct, pct, 1, NULL);
	}
	if (r->testing != NULL)
		strtab_add(&b->days[day].t, (r->testing[0] == 'y' || r->testing[0] == 'Y') ? "y" : "n", 1, NULL);
	if (r->begin >= b->last_begin) {
		b->last_begin = r->begin;
		free(b->last_sp);
		free(b->last_np);
		b->last_sp = r->sp != NULL ? xstrdup(r->sp) : NULL;
		b->last_np = r->np != NULL ? xstrdup(r->np) : NULL;
	}
}

int
analyze_row(const struct store_rcv_row *r, void *arg)
{
	struct an_builder *b = arg;
	struct brow row;
	struct buf key;
	char *dk[32], *sp[32], *d;
	size_t n_dk = 0, n_sp = 0, ipi, i, ci;
	long long mid;
	bool dkim_pass, spf_pass, added;

	if (b->error[0] != '\0' || r->domain == NULL || strcasecmp(r->domain, b->domain) != 0 ||
	    r->count == 0)
		return 0;
	if (r->header_from != NULL && strcasecmp(r->header_from, b->domain) != 0 &&
	    domain_at_or_below(r->header_from, b->domain))
		b->subdomains_send = true;
	mid = r->end > r->begin ? r->begin + (r->end - r->begin) / 2 : r->begin;
	if (mid < b->since || mid >= b->until)
		return 0;
	memset(&row, 0, sizeof(row));
	row.day = (size_t)((mid - b->since) / DAY);
	row.count = r->count;

	/* the report: counted once, its policy voted once */
	buf_init(&key, 0);
	buf_printf(&key, "%s\n%s", r->org_name != NULL ? r->org_name : "",
	    r->report_id != NULL ? r->report_id : "");
	strtab_add(&b->reports, buf_str(&key), 0, &added);
	if (added) {
		vote(b, row.day, r);
		if (r->org_name != NULL)
			strtab_add(&b->reporters, r->org_name, 0, NULL);
	}

	dkim_pass = r->dkim != NULL && strcasecmp(r->dkim, "pass") == 0;
	spf_pass = r->spf != NULL && strcasecmp(r->spf, "pass") == 0;
	row.st = dkim_pass ? (spf_pass ? AN_BOTH : AN_DKIM_ONLY) : (spf_pass ? AN_SPF_ONLY : AN_NEITHER);
	if (r->disposition != NULL && strcasecmp(r->disposition, "quarantine") == 0)
		row.disp = 'q';
	else if (r->disposition != NULL && strcasecmp(r->disposition, "reject") == 0)
		row.disp = 'r';
	for (i = 0; i < r->n_reasons; i++)
		if (reason_forwarded(&r->reasons[i]))
			row.fwd_reason = true;

	ipi = bip_get(b, r->source_ip);
	if (r->org_name != NULL)
		strtab_add(&b->ips[ipi].reporters, r->org_name, r->count, NULL);
	for (i = 0; i < r->n_dkim; i++) {
		if ((d = norm(r->dkim_results[i].domain)) == NULL)
			continue;
		strtab_add(&b->ips[ipi].dkim_all, d, r->count, NULL);
		if (r->dkim_results[i].result != NULL && strcasecmp(r->dkim_results[i].result, "pass") == 0) {
			strtab_add(&b->ips[ipi].dkim_pass, d, r->count, NULL);
			list_add(dk, &n_dk, sizeof(dk) / sizeof(dk[0]), d);
			continue;
		}
		if (r->dkim_results[i].result != NULL && strcasecmp(r->dkim_results[i].result, "fail") == 0 &&
		    domain_at_or_below(d, b->domain))
			row.fwd_sig = true;
		free(d);
	}
	for (i = 0; i < r->n_spf; i++) {
		if ((d = norm(r->spf_results[i].domain)) == NULL)
			continue;
		strtab_add(&b->ips[ipi].spf_all, d, r->count, NULL);
		if (r->spf_results[i].result != NULL && strcasecmp(r->spf_results[i].result, "pass") == 0) {
			strtab_add(&b->ips[ipi].spf_pass, d, r->count, NULL);
			list_add(sp, &n_sp, sizeof(sp) / sizeof(sp[0]), d);
			continue;
		}
		free(d);
	}

	/* the combination that KnownSource lines are matched against */
	buf_reset(&key);
	buf_printf(&key, "%zu", ipi);
	for (i = 0; i < n_dk; i++)
		buf_printf(&key, "\x1f%s", dk[i]);
	buf_puts(&key, "\x1e");
	for (i = 0; i < n_sp; i++)
		buf_printf(&key, "\x1f%s", sp[i]);
	ci = strtab_add(&b->comboidx, buf_str(&key), 0, &added);
	buf_free(&key);
	if (added) {
		struct bcombo *c;

		if (b->n_combos == b->cap_combos) {
			b->cap_combos = b->cap_combos == 0 ? 16 : b->cap_combos * 2;
			b->combos = xrealloc(b->combos, b->cap_combos * sizeof(*b->combos));
		}
		c = &b->combos[b->n_combos++];
		memset(c, 0, sizeof(*c));
		c->ip = ipi;
		c->dkim_pass = xcalloc(n_dk + 1, sizeof(char *));
		memcpy(c->dkim_pass, dk, n_dk * sizeof(char *));
		c->n_dkim_pass = n_dk;
		c->spf_pass = xcalloc(n_sp + 1, sizeof(char *));
		memcpy(c->spf_pass, sp, n_sp * sizeof(char *));
		c->n_spf_pass = n_sp;
	} else {
		for (i = 0; i < n_dk; i++)
			free(dk[i]);
		for (i = 0; i < n_sp; i++)
			free(sp[i]);
	}
	row.combo = ci;
	if (b->n_rows == b->cap_rows) {
		b->cap_rows = b->cap_rows == 0 ? 64 : b->cap_rows * 2;
		b->rows = xrealloc(b->rows, b->cap_rows * sizeof(*b->rows));
	}
	b->rows[b->n_rows++] = row;
	return 0;
}

/* ------------------------------------------------------------------ */
/* reverse DNS                                                          */

/* reverse_name - the in-addr.arpa / ip6.arpa name of an address */
static void
reverse_name(const struct bip *ip, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (ip->family == AF_INET) {
		buf_printf(out, "%u.%u.%u.%u.in-addr.arpa", ip->addr[3], ip->addr[2], ip->addr[1], ip->addr[0]);
		return;
	}
	for (i = 15; i >= 0; i--)
		buf_printf(out, "%c.%c.", hex[ip->addr[i] & 0xf], hex[ip->addr[i] >> 4]);
	buf_puts(out, "ip6.arpa");
}

/*
 * rdns_lookup - the forward-confirmed PTR name of ip.  0 with *out set
 * (NULL: none), or -1 on a temporary failure.  *unconfirmed is set when a
 * PTR name existed but none of them points back.
 */
static int
rdns_lookup(struct dns *dns, const struct bip *ip, char **out, bool *unconfirmed)
{
	struct dns_answer *a, *f;
	struct buf name;
	bool tempfail = false;
	size_t i, j;

	*out = NULL;
	*unconfirmed = false;
	buf_init(&name, 256);
	reverse_name(ip, &name);
	a = dns_query(dns, buf_str(&name), DNS_T_PTR);
	buf_free(&name);
	if (a->status == DNS_TEMPFAIL) {
		dns_answer_free(a);
		return -1;
	}
	if (a->status != DNS_OK || a->n == 0) {
		dns_answer_free(a);
		return 0;
	}
	for (i = 0; i < a->n && i < AN_MAX_PTRS && *out == NULL; i++) {
		if (a->names[i] == NULL || !domain_is_normalized(a->names[i]))
			continue;
		f = dns_query(dns, a->names[i], ip->family == AF_INET ? DNS_T_A : DNS_T_AAAA);
		if (f->status == DNS_TEMPFAIL)
			tempfail = true;
		for (j = 0; f->status == DNS_OK && j < f->n; j++)
			if (f->addrs[j].family == ip->family &&
			    memcmp(f->addrs[j].addr, ip->addr, ip->family == AF_INET ? 4 : 16) == 0) {
				*out = xstrdup(a->names[i]);
				break;
			}
		dns_answer_free(f);
	}
	dns_answer_free(a);
	if (*out == NULL && tempfail)
		return -1;
	if (*out == NULL)
		*unconfirmed = true;
	return 0;
}

/* resolve - the PTR of every IP, from the store's cache or the DNS */
static void
resolve(struct an_builder *b, struct analysis *a)
{
	char err[256], *name;
	time_t now = b->o.now != 0 ? b->o.now : time(NULL);
	time_t not_before = now - (time_t)(b->o.rc != NULL ? b->o.rc->rdns_cache_days : 7) * DAY;
	bool unconfirmed;
	size_t i;

	if (!b->o.rdns || b->o.dns == NULL)
		return;
	for (i = 0; i < b->n_ips; i++) {
		struct bip *ip = &b->ips[i];

		if (ip->family == 0)
			continue;
		if (b->st != NULL && store_rdns_get(b->st, ip->ip, not_before, &name, err, sizeof(err)) == 1) {
			ip->ptr = name;
			a->rdns_cached++;
			continue;
		}
		a->rdns_asked++;
		if (rdns_lookup(b->o.dns, ip, &name, &unconfirmed) != 0) {
			a->rdns_tempfail++;
			continue;
		}
		if (unconfirmed)
			a->rdns_unconfirmed++;
		ip->ptr = name;
		/* A store we cannot write (read-only copy) costs lookups, not results. */
		if (b->st != NULL)
			(void)store_rdns_put(b->st, ip->ip, name, now, err, sizeof(err));
	}
}

/* ------------------------------------------------------------------ */
/* grouping                                                             */

/* org_of - the organisational domain of a normalized name (the name itself without one) */
static char *
org_of(const struct an_builder *b, const char *name)
{
	char *org = b->o.psl != NULL ? orgdomain_psl(b->o.psl, name) : NULL;

	return org != NULL ? org : xstrdup(name);
}

/* pick - the passing domain to group by: a third party's first, then ours; by volume */
static const char *
pick(const struct an_builder *b, const struct strtab *t, bool foreign)
{
	const char *best = NULL;
	unsigned long long v = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (domain_at_or_below(t->names[i], b->domain) == foreign)
			continue;
		if (best == NULL || t->vol[i] > v || (t->vol[i] == v && strcmp(t->names[i], best) < 0)) {
			best = t->names[i];
			v = t->vol[i];
		}
	}
	return best;
}

/* group_key - "rdns:ORG", "dkim:ORG", "spf:ORG" or "ip:ADDR"; *name what to show */
static char *
group_key(const struct an_builder *b, const struct bip *ip, char **name)
{
	const char *d, *kind;

	if (ip->ptr != NULL) {
		*name = org_of(b, ip->ptr);
		kind = "rdns";
	} else if ((d = pick(b, &ip->dkim_pass, true)) != NULL) {
		*name = org_of(b, d);
		kind = "dkim";
	} else if ((d = pick(b, &ip->spf_pass, true)) != NULL) {
		*name = org_of(b, d);
		kind = "spf";
	} else if ((d = pick(b, &ip->dkim_pass, false)) != NULL) {
		*name = org_of(b, d);
		kind = "dkim";
	} else if ((d = pick(b, &ip->spf_pass, false)) != NULL) {
		*name = org_of(b, d);
		kind = "spf";
	} else {
		*name = xstrdup(ip->ip);
		kind = "ip";
	}
	return xasprintf("%s:%s", kind, *name);
}

/* counts_add - one record's messages into c */
static void
counts_add(struct an_counts *c, const struct brow *r, bool fwd, enum cls cls)
{
	unsigned long long n = r->count;

	c->n[r->st] += n;
	c->total += n;
	if (r->disp == 'q')
		c->quarantined += n;
	else if (r->disp == 'r')
		c->rejected += n;
	if (cls == CLS_UNKNOWN)
		c->unknown += n;
	else if (cls == CLS_UNAUTH)
		c->unauthorized += n;
	if (r->st == AN_NEITHER) {
		if (fwd)
			c->forwarded += n;
		else if (cls == CLS_KNOWN)
			c->fail_known += n;
		else if (cls == CLS_UNKNOWN)
			c->fail_unknown += n;
		if (cls == CLS_UNAUTH)
			c->fail_unauthorized += n;
	}
	if (!(r->st == AN_NEITHER && fwd) && cls != CLS_UNAUTH) {
		c->direct += n;
		if (r->st != AN_NEITHER)
			c->direct_pass += n;
	}
}

/* counts_sum - c += d */
static void
counts_sum(struct an_counts *c, const struct an_counts *d)
{
	for (int i = 0; i < AN_AUTH_N; i++)
		c->n[i] += d->n[i];
	c->total += d->total;
	c->forwarded += d->forwarded;
	c->unknown += d->unknown;
	c->unauthorized += d->unauthorized;
	c->quarantined += d->quarantined;
	c->rejected += d->rejected;
	c->direct += d->direct;
	c->direct_pass += d->direct_pass;
	c->fail_known += d->fail_known;
	c->fail_unknown += d->fail_unknown;
	c->fail_unauthorized += d->fail_unauthorized;
}

static double
percent(unsigned long long part, unsigned long long whole)
{
	return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

double an_pass_rate(const struct an_counts *c) { return percent(c->total - c->n[AN_NEITHER], c->total); }
double an_spf_rate(const struct an_counts *c) { return percent(c->n[AN_BOTH] + c->n[AN_SPF_ONLY], c->total); }
double an_dkim_rate(const struct an_counts *c) { return percent(c->n[AN_BOTH] + c->n[AN_DKIM_ONLY], c->total); }
double an_unknown_share(const struct an_counts *c) { return percent(c->unknown, c->total); }
double an_forwarded_share(const struct an_counts *c) { return percent(c->forwarded, c->total); }
double an_direct_pass_rate(const struct an_counts *c) { return percent(c->direct_pass, c->direct); }

static int
cmp_ip(const void *x, const void *y)
{
	const struct an_ip *a = x, *b = y;

	if (a->c.total != b->c.total)
		return a->c.total > b->c.total ? -1 : 1;
	return strcmp(a->ip, b->ip);
}

static int
cmp_source(const void *x, const void *y)
{
	const struct an_source *a = x, *b = y;

	if (a->c.total != b->c.total)
		return a->c.total > b->c.total ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* classify - the known-source class of a combination */
static enum cls
classify(const struct known_source *ks)
{
	return ks == NULL ? CLS_UNKNOWN : ks->authorized ? CLS_KNOWN : CLS_UNAUTH;
}

/*
 * find_fix - a remediation of s (see the top): the day X with reports
 * that splits the period with the largest rise of the direct pass rate,
 * when the rate before X is below FIX_BEFORE_MAX and from X on at least
 * FIX_AFTER_MIN.  Running sums keep it linear in the days.
 */
static bool
find_fix(const struct analysis *a, const struct an_source *s, struct an_fix *fx)
{
	unsigned long long all = 0, all_pass = 0, pre = 0, pre_pass = 0;
	double best = -1, rb, ra;
	size_t d, e, at = 0;

	for (d = 0; d < a->n_days; d++) {
		all += s->daily[d].direct;
		all_pass += s->daily[d].direct_pass;
	}
	for (d = 0; d < a->n_days; d++) {
		if (s->daily[d].direct > 0 && pre > 0) {
			rb = 100.0 * (double)pre_pass / (double)pre;
			ra = 100.0 * (double)(all_pass - pre_pass) / (double)(all - pre);
			if (rb < FIX_BEFORE_MAX && ra >= FIX_AFTER_MIN && ra - rb > best) {
				best = ra - rb;
				at = d;
			}
		}
		pre += s->daily[d].direct;
		pre_pass += s->daily[d].direct_pass;
	}
	if (best < 0)
		return false;
	memset(fx, 0, sizeof(*fx));
	fx->source = s;
	fx->changed = a->days[at].day;
	for (e = 0; e < a->n_days; e++)
		counts_sum(e < at ? &fx->before : &fx->after, &s->daily[e]);
	return true;
}

/* top - the most voted name of a table, or NULL (ties: the smallest name) */
static const char *
top(const struct strtab *t)
{
	const char *best = NULL;
	unsigned long long v = 0;

	for (size_t i = 0; i < t->n; i++)
		if (best == NULL || t->vol[i] > v || (t->vol[i] == v && strcmp(t->names[i], best) < 0)) {
			best = t->names[i];
			v = t->vol[i];
		}
	return best;
}

/* policies - each day's published policy, and the latest run of it */
static void
policies(struct an_builder *b, struct analysis *a)
{
	const char *s;
	long d, last = -1;

	for (d = 0; d < (long)a->n_days; d++) {
		struct an_day *day = &a->days[d];

		day->pct = -1;
		if (b->days[d].reports == 0)
			continue;
		day->p = (s = top(&b->days[d].p)) != NULL ? xstrdup(s) : NULL;
		day->pct = (s = top(&b->days[d].pct)) != NULL ? atoi(s) : -1;
		day->testing = (s = top(&b->days[d].t)) != NULL && strcmp(s, "y") == 0;
		if (day->p != NULL)
			last = d;
	}
	a->pct = -1;
	if (last < 0)
		return;
	a->p = xstrdup(a->days[last].p);
	a->pct = a->days[last].pct;
	a->testing = a->days[last].testing;
	a->sp = b->last_sp != NULL ? xstrdup(b->last_sp) : NULL;
	a->np = b->last_np != NULL ? xstrdup(b->last_np) : NULL;
	/* days without reports do not break a run */
	a->policy_since = a->days[last].day;
	for (d = last; d >= 0; d--) {
		const struct an_day *day = &a->days[d];

		if (day->p == NULL)
			continue;
		if (strcmp(day->p, a->p) != 0 || day->pct != a->pct || day->testing != a->testing)
			break;
		a->policy_since = day->day;
	}
	if (strcmp(a->p, "none") == 0) {
		a->none_since = a->days[last].day;
		for (d = last; d >= 0; d--) {
			if (a->days[d].p == NULL)
				continue;
			if (strcmp(a->days[d].p, "none") != 0)
				break;
			a->none_since = a->days[d].day;
		}
	}
}

/* builder_free - everything the builder holds */
static void
builder_free(struct an_builder *b)
{
	size_t i, j;

	for (i = 0; i < b->n_ips; i++) {
		free(b->ips[i].ip);
		free(b->ips[i].ptr);
		strtab_free(&b->ips[i].dkim_all);
		strtab_free(&b->ips[i].spf_all);
		strtab_free(&b->ips[i].reporters);
		strtab_free(&b->ips[i].dkim_pass);
		strtab_free(&b->ips[i].spf_pass);
	}
	free(b->ips);
	for (i = 0; i < b->n_combos; i++) {
		for (j = 0; j < b->combos[i].n_dkim_pass; j++)
			free(b->combos[i].dkim_pass[j]);
		for (j = 0; j < b->combos[i].n_spf_pass; j++)
			free(b->combos[i].spf_pass[j]);
		free(b->combos[i].dkim_pass);
		free(b->combos[i].spf_pass);
	}
	free(b->combos);
	free(b->rows);
	for (i = 0; b->days != NULL && i < b->n_days; i++) {
		strtab_free(&b->days[i].p);
		strtab_free(&b->days[i].pct);
		strtab_free(&b->days[i].t);
	}
	free(b->days);
	strtab_free(&b->ipidx);
	strtab_free(&b->comboidx);
	strtab_free(&b->reports);
	strtab_free(&b->reporters);
	free(b->last_sp);
	free(b->last_np);
	free(b->domain);
	free(b);
}

struct analysis *
analyze_end(struct an_builder *b, char *err, size_t errlen)
{
	struct analysis *a;
	struct strtab srcidx = { 0 };
	struct strtab *dk = NULL, *sp = NULL, *rep = NULL;
	unsigned long long *clsvol = NULL;	/* per source: n_known + 2 volumes */
	size_t nk, i, j, si;

	if (b->error[0] != '\0') {
		err_set(err, errlen, "%s", b->error);
		builder_free(b);
		return NULL;
	}
	nk = b->o.rc != NULL ? b->o.rc->n_known : 0;
	a = xcalloc(1, sizeof(*a));
	a->domain = xstrdup(b->domain);
	a->since = b->since;
	a->until = b->until;
	a->n_days = b->n_days;
	a->days = xcalloc(a->n_days, sizeof(*a->days));
	for (i = 0; i < a->n_days; i++) {
		a->days[i].day = b->since + (time_t)i * DAY;
		a->days[i].reports = b->days[i].reports;
	}
	a->reports = (unsigned)b->reports.n;
	a->reporters = strtab_sorted(&b->reporters, &a->n_reporters);
	a->subdomains_send = b->subdomains_send;

	resolve(b, a);

	/* classify every combination */
	for (i = 0; i < b->n_combos; i++) {
		struct bcombo *c = &b->combos[i];
		struct ks_subject subj;

		if (b->o.rc == NULL)
			continue;
		memset(&subj, 0, sizeof(subj));
		subj.domain = b->domain;
		subj.ip = b->ips[c->ip].family != 0 ? b->ips[c->ip].ip : NULL;
		subj.ptr = b->ips[c->ip].ptr;
		subj.dkim_pass = (const char *const *)c->dkim_pass;
		subj.n_dkim_pass = c->n_dkim_pass;
		subj.spf_pass = (const char *const *)c->spf_pass;
		subj.n_spf_pass = c->n_spf_pass;
		c->ks = known_source_match(b->o.rc, &subj);
	}

	/* group the IPs into sources */
	for (i = 0; i < b->n_ips; i++) {
		struct bip *ip = &b->ips[i];
		char *name, *key = group_key(b, ip, &name);
		bool added;

		si = strtab_add(&srcidx, key, 0, &added);
		if (added) {
			a->sources = xrealloc(a->sources, (a->n_sources + 1) * sizeof(*a->sources));
			memset(&a->sources[si], 0, sizeof(a->sources[si]));
			a->sources[si].key = key;
			a->sources[si].name = name;
			a->sources[si].daily = xcalloc(a->n_days > 0 ? a->n_days : 1, sizeof(struct an_counts));
			a->sources[si].first_seen = 0;
			a->n_sources++;
		} else {
			free(key);
			free(name);
		}
		ip->src = si;
		ip->ipi = a->sources[si].n_ips;
		a->sources[si].ips = xrealloc(a->sources[si].ips, (a->sources[si].n_ips + 1) * sizeof(struct an_ip));
		a->sources[si].ips[ip->ipi].ip = xstrdup(ip->ip);
		a->sources[si].ips[ip->ipi].ptr = ip->ptr != NULL ? xstrdup(ip->ptr) : NULL;
		memset(&a->sources[si].ips[ip->ipi].c, 0, sizeof(struct an_counts));
		a->sources[si].n_ips++;
	}

	/* the sets of each source */
	dk = xcalloc(a->n_sources + 1, sizeof(*dk));
	sp = xcalloc(a->n_sources + 1, sizeof(*sp));
	rep = xcalloc(a->n_sources + 1, sizeof(*rep));
	for (i = 0; i < b->n_ips; i++) {
		const struct bip *ip = &b->ips[i];

		for (j = 0; j < ip->dkim_all.n; j++)
			strtab_add(&dk[ip->src], ip->dkim_all.names[j], 0, NULL);
		for (j = 0; j < ip->spf_all.n; j++)
			strtab_add(&sp[ip->src], ip->spf_all.names[j], 0, NULL);
		for (j = 0; j < ip->reporters.n; j++)
			strtab_add(&rep[ip->src], ip->reporters.names[j], 0, NULL);
	}
	for (si = 0; si < a->n_sources; si++) {
		a->sources[si].dkim_domains = strtab_sorted(&dk[si], &a->sources[si].n_dkim_domains);
		a->sources[si].spf_domains = strtab_sorted(&sp[si], &a->sources[si].n_spf_domains);
		a->sources[si].reporters = strtab_sorted(&rep[si], &a->sources[si].n_reporters);
		strtab_free(&dk[si]);
		strtab_free(&sp[si]);
		strtab_free(&rep[si]);
	}
	free(dk);
	free(sp);
	free(rep);

	/* every record into its source, IP, day and the totals */
	clsvol = xcalloc((a->n_sources + 1) * (nk + 2), sizeof(*clsvol));
	for (i = 0; i < b->n_rows; i++) {
		const struct brow *r = &b->rows[i];
		const struct bcombo *c = &b->combos[r->combo];
		const struct bip *ip = &b->ips[c->ip];
		struct an_source *s = &a->sources[ip->src];
		enum cls cls = classify(c->ks);
		bool fwd = r->st == AN_NEITHER && (r->fwd_reason || (r->fwd_sig && cls != CLS_KNOWN));
		time_t day = a->days[r->day].day;

		counts_add(&a->total, r, fwd, cls);
		counts_add(&s->c, r, fwd, cls);
		counts_add(&s->ips[ip->ipi].c, r, fwd, cls);
		counts_add(&s->daily[r->day], r, fwd, cls);
		counts_add(&a->days[r->day].c, r, fwd, cls);
		if (s->first_seen == 0 || day < s->first_seen)
			s->first_seen = day;
		if (day > s->last_seen)
			s->last_seen = day;
		clsvol[ip->src * (nk + 2) + (c->ks != NULL ? (size_t)(c->ks - b->o.rc->known) + 1 : 0)] += r->count;
	}
	/* a source's classification: the one of most of its messages (ties: known first) */
	for (si = 0; si < a->n_sources; si++) {
		struct an_source *s = &a->sources[si];
		unsigned long long *v = &clsvol[si * (nk + 2)], best = v[0];
		size_t k;

		for (k = 0; k < nk; k++) {
			const struct known_source *ks = &b->o.rc->known[k];

			if (v[k + 1] == 0)
				continue;
			/* ties: KnownSource over UnauthorizedSource over unclassified */
			if (v[k + 1] > best || (v[k + 1] == best && (s->known == NULL ||
			    (ks->authorized && !s->known->authorized)))) {
				best = v[k + 1];
				s->known = ks;
			}
		}
		s->forwarder = s->c.forwarded > 0 && s->c.forwarded * 2 >= s->c.n[AN_NEITHER] &&
		    (s->known == NULL || !s->known->authorized);
		qsort(s->ips, s->n_ips, sizeof(*s->ips), cmp_ip);
	}
	free(clsvol);
	if (a->n_sources > 1)
		qsort(a->sources, a->n_sources, sizeof(*a->sources), cmp_source);

	for (si = 0; si < a->n_sources; si++) {
		struct an_fix fx;

		if (find_fix(a, &a->sources[si], &fx)) {
			a->fixes = xrealloc(a->fixes, (a->n_fixes + 1) * sizeof(*a->fixes));
			a->fixes[a->n_fixes++] = fx;
		}
	}
	policies(b, a);
	strtab_free(&srcidx);
	builder_free(b);
	return a;
}

struct analysis *
analyze(struct store *st, const struct an_options *o, char *err, size_t errlen)
{
	struct an_builder *b = analyze_begin(o);
	int rc;

	b->st = st;
	if (b->error[0] == '\0' &&
	    (rc = store_rcv_rows(st, b->domain, b->since, b->until, analyze_row, b, err, errlen)) != 0) {
		if (rc > 0)
			err_set(err, errlen, "reading the received reports stopped (%d)", rc);
		builder_free(b);
		return NULL;
	}
	return analyze_end(b, err, errlen);
}

static void
counts_free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
analysis_free(struct analysis *a)
{
	size_t i, j;

	if (a == NULL)
		return;
	for (i = 0; i < a->n_sources; i++) {
		struct an_source *s = &a->sources[i];

		free(s->key);
		free(s->name);
		for (j = 0; j < s->n_ips; j++) {
			free(s->ips[j].ip);
			free(s->ips[j].ptr);
		}
		free(s->ips);
		counts_free_strings(s->dkim_domains, s->n_dkim_domains);
		counts_free_strings(s->spf_domains, s->n_spf_domains);
		counts_free_strings(s->reporters, s->n_reporters);
		free(s->daily);
	}
	free(a->sources);
	for (i = 0; i < a->n_days; i++)
		free(a->days[i].p);
	free(a->days);
	free(a->fixes);
	counts_free_strings(a->reporters, a->n_reporters);
	free(a->domain);
	free(a->p);
	free(a->sp);
	free(a->np);
	free(a);
}

/* ------------------------------------------------------------------ */
/* readiness                                                            */

const char *
an_step_record(enum an_step s)
{
	switch (s) {
	case STEP_NONE:
		return "p=none";
	case STEP_Q5:
		return "p=quarantine; pct=5; t=y";
	case STEP_Q25:
		return "p=quarantine; pct=25; t=y";
	case STEP_Q50:
		return "p=quarantine; pct=50; t=y";
	case STEP_Q100:
		return "p=quarantine";
	default:
		return "p=reject";
	}
}

const char *
an_step_name(enum an_step s)
{
	switch (s) {
	case STEP_NONE:
		return "none";
	case STEP_Q5:
		return "quarantine-5";
	case STEP_Q25:
		return "quarantine-25";
	case STEP_Q50:
		return "quarantine-50";
	case STEP_Q100:
		return "quarantine";
	default:
		return "reject";
	}
}

const char *
an_verdict_str(enum an_verdict v)
{
	switch (v) {
	case READY_GO:
		return "GO";
	case READY_WAIT:
		return "WAIT";
	case READY_FIX:
		return "FIX";
	default:
		return "DONE";
	}
}

/*
 * current_step - the highest step of the ramp the published policy
 * reaches.  RFC 7489 receivers apply p to pct% of the failing mail (the
 * rest gets the next lower policy, §6.6.4); RFC 9989 receivers ignore pct
 * and, under t=y, apply the next lower policy.  A p=reject that is sampled
 * or in test mode is therefore at least a full quarantine, and a
 * quarantine in test mode with pct 100 is short of the full one.
 */
static enum an_step
current_step(const struct analysis *a, bool *pct_assumed)
{
	int pct = a->pct < 0 ? 100 : a->pct;

	*pct_assumed = false;
	if (a->p == NULL || strcmp(a->p, "quarantine") != 0) {
		if (a->p != NULL && strcmp(a->p, "reject") == 0)
			return pct >= 100 && !a->testing ? STEP_REJECT : STEP_Q100;
		return STEP_NONE;
	}
	if (a->pct < 0 && a->testing) {
		*pct_assumed = true;
		return STEP_Q5;
	}
	if (pct >= 100)
		return a->testing ? STEP_Q50 : STEP_Q100;
	if (pct >= 50)
		return STEP_Q50;
	if (pct >= 25)
		return STEP_Q25;
	if (pct >= 5)
		return STEP_Q5;
	return STEP_NONE;
}

static int
cmp_hit(const void *x, const void *y)
{
	const struct an_hit *a = x, *b = y;

	if (a->known != b->known)
		return a->known ? -1 : 1;
	if (a->known && a->known_messages != b->known_messages)
		return a->known_messages > b->known_messages ? -1 : 1;
	if (a->messages != b->messages)
		return a->messages > b->messages ? -1 : 1;
	return strcmp(a->source->key, b->source->key);
}

/* label - what to call a source in a sentence */
static const char *
label(const struct an_source *s)
{
	return s->known != NULL ? s->known->label : s->name;
}

/* step_effect - what publishing step s does, for both kinds of receivers */
static void
step_effect(struct buf *o, enum an_step s)
{
	switch (s) {
	case STEP_Q5:
	case STEP_Q25:
	case STEP_Q50:
		buf_printf(o, " Receivers that follow RFC 7489 apply pct: they quarantine about %s%% of the "
		    "failing mail and treat the rest as p=none; receivers that follow RFC 9989 ignore pct "
		    "and take t=y as test mode: they apply the next lower policy (none) and report "
		    "policy_test_mode, so their reports show what quarantine would catch.",
		    s == STEP_Q5 ? "5" : s == STEP_Q25 ? "25" : "50");
		break;
	case STEP_Q100:
		buf_puts(o, " Every receiver quarantines failing mail from now on (RFC 9989 receivers for "
		    "the first time: until now t=y kept them at p=none).");
		break;
	case STEP_REJECT:
		buf_puts(o, " Receivers reject failing mail at SMTP time: nothing of it is delivered.");
		break;
	default:
		break;
	}
}

struct readiness *
readiness(const struct analysis *a, const struct rconf *rc, char *err, size_t errlen)
{
	struct readiness *r;
	struct an_counts wc;
	struct buf why;
	size_t w0, d, i, n_known = 0;
	bool pct_assumed;
	unsigned min_msgs;

	if (a == NULL || rc == NULL) {
		err_set(err, errlen, "readiness: no analysis or configuration");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->threshold = rc->readiness_pass_rate;
	r->window_days = rc->readiness_days;
	min_msgs = rc->readiness_min_messages;
	r->current = current_step(a, &pct_assumed);
	r->next = r->current < STEP_REJECT ? r->current + 1 : STEP_REJECT;

	/* the window: the last window_days days of the analysis */
	w0 = a->n_days > r->window_days ? a->n_days - r->window_days : 0;
	memset(&wc, 0, sizeof(wc));
	for (d = w0; d < a->n_days; d++) {
		counts_sum(&wc, &a->days[d].c);
		if (a->days[d].reports > 0)
			r->days_with_data++;
	}
	r->messages = wc.total;
	r->direct = wc.direct;
	r->pass_rate = an_direct_pass_rate(&wc);
	if (a->p != NULL && a->policy_since != 0 && a->until > a->policy_since)
		r->days_at_current = (unsigned)((a->until - a->policy_since) / DAY);

	/* the hits: every system with failing mail in the window */
	for (i = 0; i < a->n_sources; i++) {
		const struct an_source *s = &a->sources[i];
		struct an_counts sc;
		struct an_hit *h;

		memset(&sc, 0, sizeof(sc));
		for (d = w0; d < a->n_days; d++)
			counts_sum(&sc, &s->daily[d]);
		if (sc.n[AN_NEITHER] == 0)
			continue;
		r->hits = xrealloc(r->hits, (r->n_hits + 1) * sizeof(*r->hits));
		h = &r->hits[r->n_hits++];
		memset(h, 0, sizeof(*h));
		h->source = s;
		h->messages = sc.n[AN_NEITHER];
		h->known_messages = sc.fail_known;
		h->forwarded_messages = sc.forwarded;
		h->known = sc.fail_known > 0;
		h->unauthorized = s->known != NULL && !s->known->authorized;
		h->forwarded = sc.forwarded == sc.n[AN_NEITHER];
		if (h->known)
			n_known++;
	}
	if (r->n_hits > 0)
		qsort(r->hits, r->n_hits, sizeof(*r->hits), cmp_hit);

	buf_init(&why, 8192);
	if (r->current == STEP_REJECT && n_known == 0) {
		r->verdict = READY_DONE;
		buf_puts(&why, "p=reject is published: the ramp is complete. Keep reading the reports: "
		    "a new sending system that is not set up fails from its first message.");
	} else if (n_known > 0) {
		r->verdict = READY_FIX;
		buf_printf(&why, "%zu known source%s fail%s DMARC (", n_known, n_known == 1 ? "" : "s",
		    n_known == 1 ? "s" : "");
		for (i = 0; i < r->n_hits && r->hits[i].known; i++)
			buf_printf(&why, "%s%s: %llu messages", i > 0 ? "; " : "", label(r->hits[i].source),
			    r->hits[i].known_messages);
		if (r->current == STEP_REJECT)
			buf_puts(&why, "): at p=reject their failing mail is being rejected now. "
			    "Fix their SPF or DKIM alignment.");
		else
			buf_printf(&why, "): %s would %s their failing mail. Fix their SPF or DKIM "
			    "alignment first; no step is safe until they pass.", an_step_record(r->next),
			    r->next == STEP_REJECT ? "reject" : "quarantine");
	} else if (wc.direct > 0 && r->pass_rate < r->threshold) {
		r->verdict = READY_FIX;
		buf_printf(&why, "Direct mail passed DMARC at %.1f%% over the last %u days, below the "
		    "%.4g%% threshold (ReadinessPassRate). %s would %s the failing sources listed; "
		    "the largest: ", r->pass_rate, r->window_days, r->threshold,
		    an_step_record(r->next), r->next == STEP_REJECT ? "reject" : "quarantine");
		for (i = 0, d = 0; i < r->n_hits && d < 3; i++) {
			if (r->hits[i].unauthorized || r->hits[i].forwarded)
				continue;
			buf_printf(&why, "%s%s (%llu)", d > 0 ? ", " : "", label(r->hits[i].source),
			    r->hits[i].messages - r->hits[i].forwarded_messages);
			d++;
		}
		buf_puts(&why, ". Identify each one: if it sends for you, add a KnownSource line and "
		    "fix its SPF or DKIM alignment; if not, add an UnauthorizedSource line.");
	} else if (r->days_with_data < r->window_days) {
		r->verdict = READY_WAIT;
		buf_printf(&why, "Only %u of the last %u days have reports: wait for %u full days of "
		    "evidence (ReadinessDays).", r->days_with_data, r->window_days, r->window_days);
	} else if (r->messages < min_msgs || wc.direct == 0) {
		r->verdict = READY_WAIT;
		buf_printf(&why, "Only %llu messages (%llu direct) in the last %u days: wait for at least "
		    "%u (ReadinessMinMessages).", r->messages, wc.direct, r->window_days, min_msgs);
	} else if (r->days_at_current < r->window_days) {
		r->verdict = READY_WAIT;
		buf_printf(&why, "%s has been published for %u days: watch it for %u full days before "
		    "the next step.", an_step_record(r->current), r->days_at_current, r->window_days);
	} else {
		r->verdict = READY_GO;
		r->record = xasprintf("v=DMARC1; %s", an_step_record(r->next));
		buf_printf(&why, "Direct mail passed DMARC at %.1f%% over the last %u days (threshold "
		    "%.4g%%) and no known source fails: publish %s.", r->pass_rate, r->window_days,
		    r->threshold, an_step_record(r->next));
		step_effect(&why, r->next);
	}
	if (pct_assumed)
		buf_puts(&why, " (pct is not in the reports - RFC 9990 reports leave it out - so 5 is "
		    "assumed for the current step.)");
	if (a->p != NULL && strcmp(a->p, "none") != 0 && a->pct >= 0 && a->pct < 100 && !a->testing)
		buf_printf(&why, " Note: the published policy has pct=%d without t=y; receivers that follow "
		    "RFC 9989 ignore pct and apply p=%s to all failing mail.", a->pct, a->p);
	r->reason = buf_detach(&why);
	return r;
}

void
readiness_free(struct readiness *r)
{
	if (r == NULL)
		return;
	free(r->reason);
	free(r->hits);
	free(r->record);
	free(r);
}
