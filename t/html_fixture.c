/*
 * html_fixture.c - the analyses of html_fixture.h, built by hand the way
 * analyze.c would fill them (totals are the sums of the days, the days
 * the sums of the sources), so the page shows consistent numbers.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_fixture.h"
#include "util.h"

#define DAY	86400

/* The sending systems of the realistic fixture. */
struct src_def {
	const char	*key, *name;
	int		 known;		/* index into known[], -1: none */
	bool		 forwarder;
	const char	*ips[6];
	const char	*dkim[3];
	const char	*reporters[4];
};

static const struct src_def defs[FIX_SOURCES] = {
	{ "rdns:google.com", "google.com", 0, false,
	  { "209.85.220.41", "209.85.220.69", "209.85.128.170", "2a00:1450:4864:20::32f", "209.85.221.45" },
	  { "example.com" }, { "google.com", "Enterprise Outlook", "Yahoo" } },
	{ "rdns:sendgrid.net", "sendgrid.net", 1, false,
	  { "167.89.100.7", "149.72.12.11" }, { "example.com", "sendgrid.info" }, { "google.com", "Yahoo" } },
	{ "dkim:mcsv.net", "mcsv.net", 2, false,
	  { "198.2.128.5", "198.2.131.20", "205.201.139.4" }, { "mcsv.net" },
	  { "google.com", "Mail.Ru", FIX_HOSTILE_REPORTER } },
	{ "rdns:outlook.com", "outlook.com", -1, true,
	  { "40.107.22.51", "52.100.1.9" }, { "example.com" }, { "Enterprise Outlook" } },
	{ "rdns:example.net", "hr-tool.example.net", -1, false,
	  { "192.0.2.25" }, { FIX_BAD_UTF8 }, { "google.com" } },
	{ "ip:198.51.100.66", FIX_HOSTILE_NAME, 3, false,
	  { "198.51.100.66" }, { NULL }, { FIX_HOSTILE_REPORTER } },
	{ "rdns:zendesk.com", "zendesk.com", 4, false,
	  { "192.161.151.1", "192.161.151.9" }, { "example.com" }, { "google.com", "Yahoo" } },
	{ "ip:203.0.113.9", "203.0.113.9", -1, false,
	  { "203.0.113.9" }, { NULL }, { "Mail.Ru" } },
};

static const struct {
	const char	*label;
	bool		 authorized;
} known_defs[] = {
	{ "Google Workspace (staff mail)", true },
	{ "SendGrid (invoices)", true },
	{ "Mailchimp (newsletters)", true },
	{ FIX_HOSTILE_LABEL, false },
	{ "Zendesk (support)", true },
};

static const char *const reporters[] = {
	FIX_HOSTILE_REPORTER, "Enterprise Outlook", "Mail.Ru", "Yahoo", "google.com"
};

#define FIX_CHANGED	18	/* SendGrid's DKIM fixed from this day */

/* gen - the messages of source s on day d, by status */
static void
gen(size_t s, size_t d, struct an_counts *c)
{
	unsigned long long v = (d * 37 + s * 11) % 97;	/* a little variation */

	memset(c, 0, sizeof(*c));
	if (d == FIX_GAP_DAY)
		return;
	switch (s) {
	case 0:		/* staff mail: signed and in SPF */
		c->n[AN_BOTH] = 1200 + v * 3 - (d % 7 >= 5 ? 700 : 0);
		c->n[AN_SPF_ONLY] = 2;
		c->n[AN_DKIM_ONLY] = 6 + v % 5;
		c->n[AN_NEITHER] = d % 4 == 0 ? 1 : 0;
		break;
	case 1:		/* invoices: signed with sendgrid.net, then with our key */
		if (d < FIX_CHANGED) {
			c->n[AN_SPF_ONLY] = 190 + v;
			c->n[AN_NEITHER] = 160 + v / 2;
		} else {
			c->n[AN_BOTH] = 330 + v;
			c->n[AN_NEITHER] = d % 5 == 0 ? 1 : 0;
		}
		break;
	case 2:		/* newsletters on Tuesdays; a few lists mis-signed */
		c->n[AN_DKIM_ONLY] = d % 7 == 2 ? 900 + v : 20 + v % 9;
		c->n[AN_NEITHER] = d >= 26 ? 4 + v % 3 : 0;
		break;
	case 3:		/* forwarded mail: DKIM survives, SPF never */
		c->n[AN_DKIM_ONLY] = 90 + v % 30;
		c->n[AN_NEITHER] = 60 + v % 20;
		break;
	case 4:		/* the HR tool nobody told us about */
		c->n[AN_NEITHER] = 20 + v % 11;
		c->n[AN_SPF_ONLY] = d % 3 == 0 ? 2 : 0;
		break;
	case 5:		/* spoofing, some days */
		c->n[AN_NEITHER] = d % 3 == 0 ? 15 + v % 40 : 0;
		break;
	case 6:		/* support desk */
		c->n[AN_BOTH] = 80 + v % 25;
		break;
	case 7:		/* a stray IP, three days */
		c->n[AN_NEITHER] = d == 5 || d == 21 || d == 33 ? 3 : 0;
		break;
	}
}

/* add - c += x */
static void
add(struct an_counts *c, const struct an_counts *x)
{
	int k;

	for (k = 0; k < AN_AUTH_N; k++)
		c->n[k] += x->n[k];
	c->total += x->total;
	c->forwarded += x->forwarded;
	c->unknown += x->unknown;
	c->unauthorized += x->unauthorized;
	c->quarantined += x->quarantined;
	c->rejected += x->rejected;
}

/* finish - total and the classification counts of one source-day */
static void
finish(struct an_counts *c, const struct an_source *s)
{
	int k;

	c->total = 0;
	for (k = 0; k < AN_AUTH_N; k++)
		c->total += c->n[k];
	c->forwarded = s->forwarder ? c->n[AN_NEITHER] : 0;
	c->unknown = s->known == NULL ? c->total : 0;
	c->unauthorized = s->known != NULL && !s->known->authorized ? c->total : 0;
	c->quarantined = c->n[AN_NEITHER] / 10;
}

/* strv - a copy of the first strings of a NULL-terminated list, and their count */
static char **
strv(const char *const *v, size_t max, size_t *n)
{
	char **out;
	size_t i;

	for (*n = 0; *n < max && v[*n] != NULL; (*n)++)
		;
	out = xcalloc(*n + 1, sizeof(*out));
	for (i = 0; i < *n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* free_strv - what strv returned */
static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* fixture_new - the frame: domain, days, policy; no sources yet */
static struct fixture *
fixture_new(const char *domain, size_t n_sources)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct analysis *a = &f->a;
	size_t i;

	a->domain = xstrdup(domain);
	a->since = FIX_SINCE;
	a->until = FIX_SINCE + FIX_DAYS * DAY;
	a->n_days = FIX_DAYS;
	a->days = xcalloc(FIX_DAYS, sizeof(*a->days));
	for (i = 0; i < FIX_DAYS; i++) {
		a->days[i].day = FIX_SINCE + (time_t)i * DAY;
		a->days[i].pct = -1;
	}
	a->n_sources = n_sources;
	a->sources = xcalloc(n_sources + 1, sizeof(*a->sources));
	a->pct = -1;
	return f;
}

/* sum_days - the days and the total from the sources' daily counts */
static void
sum_days(struct analysis *a)
{
	size_t i, s;

	for (s = 0; s < a->n_sources; s++)
		for (i = 0; i < a->n_days; i++) {
			add(&a->sources[s].c, &a->sources[s].daily[i]);
			add(&a->days[i].c, &a->sources[s].daily[i]);
		}
	for (i = 0; i < a->n_days; i++)
		add(&a->total, &a->days[i].c);
}

/* hit_cmp - hits by messages, largest first */
static int
hit_cmp(const void *x, const void *y)
{
	const struct an_hit *h1 = x, *h2 = y;

	return h1->messages < h2->messages ? 1 : h1->messages > h2->messages ? -1 : 0;
}

/* fixture_realistic - see html_fixture.h */
struct fixture *
fixture_realistic(void)
{
	struct fixture *f = fixture_new("example.com", FIX_SOURCES);
	struct analysis *a = &f->a;
	struct readiness *r = &f->r;
	struct an_source *s;
	struct an_counts c;
	size_t i, j, k, n;

	f->n_known = sizeof(known_defs) / sizeof(known_defs[0]);
	f->known = xcalloc(f->n_known, sizeof(*f->known));
	for (i = 0; i < f->n_known; i++) {
		f->known[i].domain = xstrdup("example.com");
		f->known[i].kind = KS_RDNS;
		f->known[i].match = xstrdup("example.invalid");
		f->known[i].label = xstrdup(known_defs[i].label);
		f->known[i].line = 10 + (unsigned)i;
		f->known[i].authorized = known_defs[i].authorized;
	}

	for (i = 0; i < FIX_DAYS; i++) {
		if (i == FIX_GAP_DAY)
			continue;
		a->days[i].reports = 4 + i % 2;
		a->reports += a->days[i].reports;
		a->days[i].p = xstrdup(i < 20 ? "none" : "quarantine");
		a->days[i].pct = i < 20 ? -1 : i < 32 ? 5 : 25;
		a->days[i].testing = i >= 20;
	}
	a->reporters = strv(reporters, 5, &a->n_reporters);
	a->p = xstrdup("quarantine");
	a->sp = xstrdup("quarantine");
	a->pct = 25;
	a->testing = true;
	a->policy_since = a->days[32].day;

	for (j = 0; j < FIX_SOURCES; j++) {
		s = &a->sources[j];
		s->key = xstrdup(defs[j].key);
		s->name = xstrdup(defs[j].name);
		s->known = defs[j].known >= 0 ? &f->known[defs[j].known] : NULL;
		s->forwarder = defs[j].forwarder;
		for (n = 0; n < 6 && defs[j].ips[n] != NULL; n++)
			;
		s->n_ips = n;
		s->ips = xcalloc(n, sizeof(*s->ips));
		for (k = 0; k < n; k++)
			s->ips[k].ip = xstrdup(defs[j].ips[k]);
		s->dkim_domains = strv(defs[j].dkim, 3, &s->n_dkim_domains);
		s->spf_domains = strv((const char *const[]){ "example.com", NULL }, 1, &s->n_spf_domains);
		s->reporters = strv(defs[j].reporters, 4, &s->n_reporters);
		s->daily = xcalloc(FIX_DAYS, sizeof(*s->daily));
		for (i = 0; i < FIX_DAYS; i++) {
			gen(j, i, &s->daily[i]);
			finish(&s->daily[i], s);
		}
		s->first_seen = a->since;
		s->last_seen = a->until - DAY;
	}
	sum_days(a);
	/* by volume, largest first, as analyze() orders them; daily and
	 * known pointers move with the struct */
	for (i = 1; i < FIX_SOURCES; i++)
		for (j = i; j > 0 && a->sources[j].c.total > a->sources[j - 1].c.total; j--) {
			struct an_source t = a->sources[j];

			a->sources[j] = a->sources[j - 1];
			a->sources[j - 1] = t;
		}

	/* the one remediation: SendGrid signing with our key */
	for (j = 0; j < FIX_SOURCES; j++)
		if (strcmp(a->sources[j].name, "sendgrid.net") == 0)
			break;
	a->n_fixes = 1;
	a->fixes = xcalloc(1, sizeof(*a->fixes));
	a->fixes[0].source = &a->sources[j];
	a->fixes[0].changed = a->days[FIX_CHANGED].day;
	for (i = 0; i < FIX_DAYS; i++)
		add(i < FIX_CHANGED ? &a->fixes[0].before : &a->fixes[0].after, &a->sources[j].daily[i]);

	/* readiness at p=quarantine pct=25: Mailchimp's failures block pct=50 */
	r->current = STEP_Q25;
	r->next = STEP_Q50;
	r->verdict = READY_FIX;
	r->window_days = 14;
	r->threshold = 98.0;
	r->days_at_current = FIX_DAYS - 32;
	memset(&c, 0, sizeof(c));
	for (i = FIX_DAYS - 14; i < FIX_DAYS; i++) {
		if (a->days[i].c.total > 0)
			r->days_with_data++;
		add(&c, &a->days[i].c);
	}
	r->messages = c.total;
	r->pass_rate = an_direct_pass_rate(&c);
	r->hits = xcalloc(FIX_SOURCES, sizeof(*r->hits));
	for (j = 0; j < FIX_SOURCES; j++) {
		s = &a->sources[j];
		memset(&c, 0, sizeof(c));
		for (i = FIX_DAYS - 14; i < FIX_DAYS; i++)
			add(&c, &s->daily[i]);
		if (c.n[AN_NEITHER] == 0 || strcmp(s->name, "google.com") == 0 ||
		    strcmp(s->name, "sendgrid.net") == 0)
			continue;	/* a stray failure a day is noise, not a hit */
		r->hits[r->n_hits].source = s;
		r->hits[r->n_hits].messages = c.n[AN_NEITHER];
		r->hits[r->n_hits].known = s->known != NULL && s->known->authorized;
		r->hits[r->n_hits].unauthorized = s->known != NULL && !s->known->authorized;
		r->hits[r->n_hits].forwarded = s->forwarder;
		r->n_hits++;
	}
	qsort(r->hits, r->n_hits, sizeof(*r->hits), hit_cmp);
	r->reason = xstrdup("Mailchimp (newsletters) is a known source and some of its mail fails "
	    "DMARC: p=quarantine; pct=50 would quarantine it. Fix its DKIM signing first.");
	return f;
}

/* fixture_many - n sources, all of them known and passing but the odd ones */
struct fixture *
fixture_many(size_t n)
{
	struct fixture *f = fixture_new("many.example", n);
	struct analysis *a = &f->a;
	struct an_source *s;
	size_t i, j;

	for (i = 0; i < FIX_DAYS; i++) {
		a->days[i].reports = 1;
		a->days[i].p = xstrdup("none");
	}
	a->reports = FIX_DAYS;
	a->p = xstrdup("none");
	for (j = 0; j < n; j++) {
		s = &a->sources[j];
		s->key = xasprintf("ip:192.0.2.%zu", j + 1);
		s->name = xasprintf("192.0.2.%zu", j + 1);
		s->n_ips = 1;
		s->ips = xcalloc(1, sizeof(*s->ips));
		s->ips[0].ip = xstrdup(s->name);
		s->daily = xcalloc(FIX_DAYS, sizeof(*s->daily));
		for (i = 0; i < FIX_DAYS; i++) {
			s->daily[i].n[AN_BOTH] = 10 * (n - j);
			s->daily[i].n[AN_NEITHER] = j % 2;
			finish(&s->daily[i], s);
		}
	}
	sum_days(a);
	return f;
}

/* fixture_empty - see html_fixture.h */
struct fixture *
fixture_empty(void)
{
	return fixture_new("example.org", 0);
}

/* fixture_free - everything the builders allocated */
void
fixture_free(struct fixture *f)
{
	struct analysis *a;
	struct an_source *s;
	size_t i, k;

	if (f == NULL)
		return;
	a = &f->a;
	for (i = 0; i < a->n_sources; i++) {
		s = &a->sources[i];
		free(s->key);
		free(s->name);
		for (k = 0; k < s->n_ips; k++) {
			free(s->ips[k].ip);
			free(s->ips[k].ptr);
		}
		free(s->ips);
		free_strv(s->dkim_domains, s->n_dkim_domains);
		free_strv(s->spf_domains, s->n_spf_domains);
		free_strv(s->reporters, s->n_reporters);
		free(s->daily);
	}
	free(a->sources);
	for (i = 0; i < a->n_days; i++)
		free(a->days[i].p);
	free(a->days);
	free(a->fixes);
	free_strv(a->reporters, a->n_reporters);
	free(a->domain);
	free(a->p);
	free(a->sp);
	free(a->np);
	free(f->r.hits);
	free(f->r.reason);
	for (i = 0; i < f->n_known; i++) {
		free(f->known[i].domain);
		free(f->known[i].match);
		free(f->known[i].label);
	}
	free(f->known);
	free(f);
}
