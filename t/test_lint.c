/*
 * test_lint.c - dmarc-reports check-dns (reports/lint.c) on the static DNS
 * backend: every lint zone in t/zones (one mistake per zone) must give its
 * finding and nothing else worth fixing; more cases are added by hand
 * (--record texts, history from the store, DNSSEC flags, DNS failures).
 */
#include "autoconf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "lint.h"
#include "log.h"
#include "orgdomain.h"
#include "tap.h"
#include "util.h"

#define SYSTEM_PSL	"/usr/share/publicsuffix/public_suffix_list.dat"
#define DAY		86400

static struct orgdomain *psl;

struct zcase {
	const char	*domain;
	const char	*selector;	/* NULL: none */
	const char	*code;		/* expected finding; NULL: none worth fixing */
	enum lint_severity sev;
	const char	*why;		/* the rule, for the test name */
};

/* One zone per mistake (t/zones/<name>.zone). */
static const struct zcase zcases[] = {
	{ "clean.lint.test", "sel", NULL, LINT_OK, "no mistake" },
	{ "extok.lint.test", NULL, NULL, LINT_OK, "RFC 9990 §4: authorised external rua" },
	{ "dkimed25519.lint.test", "sel", NULL, LINT_OK, "RFC 8463: Ed25519 key" },
	{ "inherit.lint.test", NULL, "dmarc-inherited", LINT_INFO, "RFC 7489 §6.6.3: org domain record applies" },
	{ "nodmarc-lint.test", NULL, "dmarc-missing", LINT_ERROR, "RFC 7489 §6.6.3: no record" },
	{ "multi.lint.test", NULL, "dmarc-multiple", LINT_ERROR, "RFC 7489 §6.6.3: several records" },
	{ "vnotfirst.lint.test", NULL, "dmarc-version", LINT_ERROR, "RFC 7489 §6.4: v first" },
	{ "tagunknown.lint.test", NULL, "dmarc-tag-unknown", LINT_WARNING, "RFC 7489 §6.3: unknown tag" },
	{ "tagvalue.lint.test", NULL, "dmarc-tag-value", LINT_WARNING, "RFC 7489 §6.3: pct 0..100" },
	{ "badp.lint.test", NULL, "dmarc-tag-value", LINT_ERROR, "RFC 7489 §6.6.3: invalid p" },
	{ "nomailto.lint.test", NULL, "dmarc-uri-scheme", LINT_ERROR, "RFC 7489 §6.4: rua is a URI" },
	{ "semisep.lint.test", NULL, "dmarc-uri-separator", LINT_ERROR, "RFC 7489 §6.4: URIs separated by ," },
	{ "quoted.lint.test", NULL, "dmarc-quoted", LINT_ERROR, "literal quotes in the record" },
	{ "long.lint.test", NULL, "dmarc-size", LINT_WARNING, "RFC 1035 §4.2.1: over 512 octets" },
	{ "extrua.lint.test", NULL, "dmarc-rua-unauthorized", LINT_ERROR, "RFC 9990 §4: unauthorised rua" },
	{ "none.lint.test", NULL, "dmarc-none", LINT_NOTICE, "p=none" },
	{ "testing.lint.test", NULL, "dmarc-testing", LINT_NOTICE, "RFC 9989 §4.7: t=y" },
	{ "norua.lint.test", NULL, "dmarc-rua-missing", LINT_NOTICE, "no rua" },
	{ "nospf.lint.test", NULL, "spf-missing", LINT_ERROR, "RFC 7208 §4.5: no SPF" },
	{ "twospf.lint.test", NULL, "spf-multiple", LINT_ERROR, "RFC 7208 §4.5: one record" },
	{ "spflookups.lint.test", NULL, "spf-lookups", LINT_ERROR, "RFC 7208 §4.6.4: 10 lookups" },
	{ "spfvoid.lint.test", NULL, "spf-void-lookups", LINT_ERROR, "RFC 7208 §4.6.4: 2 void lookups" },
	{ "spfpass.lint.test", NULL, "spf-all-pass", LINT_ERROR, "RFC 7208 §5.1: +all" },
	{ "spfneutral.lint.test", NULL, "spf-all-neutral", LINT_WARNING, "RFC 7208 §5.1: ?all" },
	{ "spfsoftfail.lint.test", NULL, "spf-softfail", LINT_NOTICE, "RFC 7208 §5.1: ~all" },
	{ "spfnoall.lint.test", NULL, "spf-no-all", LINT_WARNING, "RFC 7208 §4.7: default neutral" },
	{ "spfptr.lint.test", NULL, "spf-ptr", LINT_WARNING, "RFC 7208 §5.5: ptr" },
	{ "spfsyntax.lint.test", NULL, "spf-syntax", LINT_ERROR, "RFC 7208 §5.6: ip4 syntax" },
	{ "spfloop.lint.test", NULL, "spf-loop", LINT_ERROR, "RFC 7208 §5.2: include loop" },
	{ "spfinclude.lint.test", NULL, "spf-target-missing", LINT_ERROR, "RFC 7208 §5.2: include without SPF" },
	{ "spfmx.lint.test", NULL, "spf-mx-limit", LINT_ERROR, "RFC 7208 §4.6.4: 10 MX names" },
	{ "dkimmissing.lint.test", "sel", "dkim-missing", LINT_ERROR, "RFC 6376 §3.6.2.2: no key" },
	{ "dkimweak.lint.test", "sel", "dkim-key-weak", LINT_WARNING, "RFC 8301 §3.2: 1024 bits" },
	{ "dkimshort.lint.test", "sel", "dkim-key-short", LINT_ERROR, "RFC 8301 §3.2: 512 bits" },
	{ "dkimrevoked.lint.test", "sel", "dkim-revoked", LINT_WARNING, "RFC 6376 §3.6.1: empty p" },
	{ "dkimtesting.lint.test", "sel", "dkim-testing", LINT_NOTICE, "RFC 6376 §3.6.1: t=y" },
	{ "dkimstrict.lint.test", "sel", "dkim-strict", LINT_INFO, "RFC 6376 §3.6.1: t=s" },
	{ "dkimbadb64.lint.test", "sel", "dkim-syntax", LINT_ERROR, "RFC 6376 §3.6.1: base64" },
	{ "dkimversion.lint.test", "sel", "dkim-syntax", LINT_ERROR, "RFC 6376 §3.6.1: v=DKIM1" },
	{ "dkimpkcs1.lint.test", "sel", "dkim-syntax", LINT_ERROR, "RFC 6376 §3.6.1: SubjectPublicKeyInfo" },
};

/* run - lint a domain with options; the result is the caller's */
static void
run(struct dns *dns, const char *domain, const char *sel, const char *record,
    const struct lint_history *h, struct lint_result *res)
{
	struct lint_options o;
	const char *sels[1] = { sel };
	char err[256];

	memset(&o, 0, sizeof(o));
	o.domain = domain;
	o.selectors = sels;
	o.n_selectors = sel != NULL ? 1 : 0;
	o.record = record;
	o.history = h;
	o.now = time(NULL);
	if (lint_domain(dns, psl, &o, res, err, sizeof(err)) != 0) {
		tap_diag("lint_domain %s: %s", domain, err);
		memset(res, 0, sizeof(*res));
	}
}

/* dump - the findings, as diagnostics */
static void
dump(const struct lint_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		tap_diag("  %s %s: %s", lint_severity_str(r->f[i].severity), r->f[i].code, r->f[i].message);
}

/* only - the expected finding is there with its severity, and nothing else is worth fixing */
static void
only(const struct lint_result *r, const char *code, enum lint_severity sev, const char *name)
{
	const struct lint_finding *f = code != NULL ? lint_has(r, code) : NULL;
	size_t i;
	bool other = false;

	if (code != NULL && !tap_ok(f != NULL && f->severity == sev, "%s: %s (%s)", name, code,
	    lint_severity_str(sev)))
		dump(r);
	for (i = 0; i < r->n; i++)
		if (r->f[i].severity >= LINT_NOTICE && (code == NULL || strcmp(r->f[i].code, code) != 0))
			other = true;
	if (!tap_ok(!other, "%s: no other finding worth fixing", name))
		dump(r);
}

/* has - a finding with code and severity is there */
static void
has(const struct lint_result *r, const char *code, enum lint_severity sev, const char *name)
{
	const struct lint_finding *f = lint_has(r, code);

	if (!tap_ok(f != NULL && f->severity == sev, "%s: %s (%s)", name, code, lint_severity_str(sev)))
		dump(r);
}

/* load_zones - every lint zone of t/zones into the static backend */
static int
load_zones(struct dns *dns)
{
	const char *top = getenv("top_srcdir");
	char dir[1024], path[1300], origin[256], err[512];
	struct dirent *de;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/t/zones", top != NULL && *top != '\0' ? top : ".");
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".zone") != 0 ||
		    (strstr(de->d_name, "lint") == NULL && strcmp(de->d_name, "test.zone") != 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(origin, sizeof(origin), "%.*s", (int)(len - 5), de->d_name);
		if (dns_static_load_zone(dns, path, origin, err, sizeof(err)) != 0) {
			tap_diag("%s", err);
			closedir(dp);
			return -1;
		}
		n++;
	}
	closedir(dp);
	return n;
}

/* test_zones - the one-mistake zones */
static void
test_zones(struct dns *dns)
{
	size_t i;

	for (i = 0; i < sizeof(zcases) / sizeof(zcases[0]); i++) {
		struct lint_result r;
		char name[256];

		snprintf(name, sizeof(name), "%s [%s]", zcases[i].domain, zcases[i].why);
		run(dns, zcases[i].domain, zcases[i].selector, NULL, NULL, &r);
		only(&r, zcases[i].code, zcases[i].sev, name);
		lint_result_free(&r);
	}
}

/* test_clean_details - what the clean zone does say */
static void
test_clean_details(struct dns *dns)
{
	struct lint_result r;
	unsigned lookups = 99, voids = 99;
	const struct lint_finding *f;

	run(dns, "clean.lint.test", "sel", NULL, NULL, &r);
	has(&r, "dmarc-ok", LINT_OK, "clean: DMARC ok");
	has(&r, "spf-ok", LINT_OK, "clean: SPF ok");
	f = lint_has(&r, "dkim-ok");
	tap_ok(f != NULL && strstr(f->message, "2048 bits") != NULL, "clean: DKIM key of 2048 bits");
	has(&r, "dnssec-absent", LINT_INFO, "clean: DNSSEC absent is info");
	tap_is_int(lint_worst(&r), LINT_INFO, "clean: worst finding is info");
	lint_result_free(&r);

	memset(&r, 0, sizeof(r));
	lint_spf(dns, "clean.lint.test", &r, &lookups, &voids);
	tap_is_int(lookups, 3, "RFC 7208 §4.6.4: mx, a:, include: count 3 lookups");
	tap_is_int(voids, 0, "no void lookups in the clean zone");
	lint_result_free(&r);

	memset(&r, 0, sizeof(r));
	lint_spf(dns, "spflookups.lint.test", &r, &lookups, &voids);
	tap_is_int(lookups, 11, "RFC 7208 §4.6.4: nested includes counted (11)");
	lint_result_free(&r);

	memset(&r, 0, sizeof(r));
	lint_spf(dns, "spfvoid.lint.test", &r, &lookups, &voids);
	tap_is_int(voids, 3, "RFC 7208 §4.6.4: three void lookups counted");
	lint_result_free(&r);

	run(dns, "nodmarc-lint.test", NULL, NULL, NULL, &r);
	f = lint_has(&r, "dmarc-missing");
	tap_ok(f != NULL && f->fix != NULL && strstr(f->fix, "v=DMARC1; p=none") != NULL,
	    "dmarc-missing: the fix is a record to publish");
	lint_result_free(&r);

	run(dns, "inherit.lint.test", NULL, NULL, NULL, &r);
	f = lint_has(&r, "dmarc-inherited");
	tap_ok(f != NULL && strstr(f->message, "_dmarc.lint.test") != NULL &&
	    strstr(f->message, "sp=reject") != NULL, "dmarc-inherited names the org record and its sp");
	lint_result_free(&r);
}

struct rcase {
	const char	*record;
	const char	*code;
	enum lint_severity sev;
	const char	*why;
};

/* --record texts (domain clean.lint.test, whose other records are clean) */
static const struct rcase rcases[] = {
	{ "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test mailto:b@clean.lint.test",
	    "dmarc-uri-separator", LINT_ERROR, "RFC 7489 §6.4: URIs separated by a space" },
	{ "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test,,mailto:b@clean.lint.test",
	    "dmarc-uri-separator", LINT_WARNING, "empty URI element" },
	{ "v=DMARC1; p=reject; rua=https://clean.lint.test/dmarc",
	    "dmarc-uri-scheme", LINT_WARNING, "RFC 9990: mailto only" },
	{ "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test!10x",
	    "dmarc-uri-invalid", LINT_ERROR, "RFC 7489 §6.2: size limit" },
	{ "v=DMARC1; p=reject; rua=mailto:not an address",
	    "dmarc-uri-separator", LINT_ERROR, "space inside a URI" },
	{ "v=DMARC1 p=reject; rua=mailto:a@clean.lint.test",
	    "dmarc-version", LINT_ERROR, "RFC 7489 §6.4: v=DMARC1 then ;" },
	{ "V=DMARC1; p=reject", "dmarc-version", LINT_ERROR, "RFC 7489 §6.3: exactly v=DMARC1" },
	{ " v=DMARC1; p=reject", "dmarc-version", LINT_ERROR, "RFC 7489 §6.4: no leading space" },
	{ "p=reject", "dmarc-version", LINT_ERROR, "no v= at all" },
	{ "v=DMARC1; p=reject;; rua=mailto:a@clean.lint.test", "dmarc-syntax", LINT_NOTICE, "RFC 7489 §6.4: ;;" },
	{ "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test; sp", "dmarc-syntax", LINT_WARNING, "tag without =" },
	{ "v=DMARC1; P=reject; rua=mailto:a@clean.lint.test", "dmarc-tag-unknown", LINT_WARNING,
	    "RFC 6376 §3.2: tag names case-sensitive" },
	{ "v=DMARC1; p=reject; adkim=x; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_WARNING, "adkim r/s" },
	{ "v=DMARC1; p=reject; fo=2; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_WARNING, "fo 0/1/d/s" },
	{ "v=DMARC1; p=reject; ri=daily; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_WARNING, "ri number" },
	{ "v=DMARC1; p=reject; t=yes; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_WARNING, "RFC 9989: t y/n" },
	{ "v=DMARC1; p=reject; psd=x; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_WARNING, "RFC 9989: psd y/n/u" },
	{ "v=DMARC1; p=reject; sp=block; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_ERROR,
	    "RFC 7489 §6.6.3: invalid sp" },
	{ "v=DMARC1; p=reject; np=drop; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_ERROR,
	    "RFC 9989 §4.10.1: invalid np" },
	{ "v=DMARC1; rua=mailto:a@clean.lint.test", "dmarc-tag-value", LINT_ERROR, "no p tag" },
	{ "v=DMARC1; p=reject; p=none", "dmarc-invalid", LINT_ERROR, "RFC 6376 §3.2: duplicate tag" },
	{ "v=DMARC1; p=reject; pct=50; rua=mailto:a@clean.lint.test", "dmarc-pct", LINT_NOTICE, "pct below 100" },
	{ "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test; ruf=mailto:f@lint-dest.test",
	    "dmarc-rua-unauthorized", LINT_ERROR, "RFC 9990 §4: external ruf" },
	{ "\"v=DMARC1; p=reject; rua=mailto:a@clean.lint.test\"", "dmarc-quoted", LINT_ERROR, "quotes" },
	{ "v=DMARC1; p=reject; rua=mailto:a\\@clean.lint.test", "dmarc-quoted", LINT_ERROR, "backslash" },
};

/* test_records - --record texts */
static void
test_records(struct dns *dns)
{
	struct lint_result r;
	char longrec[600];
	size_t i;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		run(dns, "clean.lint.test", NULL, rcases[i].record, NULL, &r);
		has(&r, rcases[i].code, rcases[i].sev, rcases[i].why);
		tap_ok(lint_has(&r, "dmarc-missing") == NULL, "%s: the record given replaces the lookup",
		    rcases[i].why);
		lint_result_free(&r);
	}
	/* one string over 255 octets, and the whole over 512 */
	snprintf(longrec, sizeof(longrec), "v=DMARC1; p=reject; rua=mailto:a@clean.lint.test; ruf=");
	while (strlen(longrec) < 300)
		strcat(longrec, "mailto:forensic-reports@clean.lint.test,");
	strcat(longrec, "mailto:x@clean.lint.test");
	run(dns, "clean.lint.test", NULL, longrec, NULL, &r);
	has(&r, "dmarc-string-long", LINT_ERROR, "RFC 1035 §3.3: one string over 255 octets");
	tap_ok(lint_has(&r, "dmarc-size") == NULL, "under 512 octets: no dmarc-size");
	lint_result_free(&r);
	while (strlen(longrec) < 530)
		strcat(longrec, ",mailto:y@clean.lint.test");
	run(dns, "clean.lint.test", NULL, longrec, NULL, &r);
	has(&r, "dmarc-size", LINT_WARNING, "RFC 1035 §4.2.1: over 512 octets");
	lint_result_free(&r);
	/* a clean record given by hand */
	run(dns, "clean.lint.test", "sel", "v=DMARC1; p=reject; sp=reject; np=reject; rua=mailto:d@clean.lint.test",
	    NULL, &r);
	only(&r, NULL, LINT_OK, "a clean --record");
	lint_result_free(&r);
}

/* test_history - what the store adds */
static void
test_history(struct dns *dns)
{
	struct lint_result r;
	struct lint_history h;
	char *subs[2] = { "news.clean.lint.test", "hr.clean.lint.test" };
	const struct lint_finding *f;

	memset(&h, 0, sizeof(h));
	h.none_since = time(NULL) - 100 * DAY;
	h.last_report = time(NULL) - DAY;
	run(dns, "none.lint.test", NULL, NULL, &h, &r);
	f = lint_has(&r, "dmarc-none-long");
	tap_ok(f != NULL && f->severity == LINT_WARNING && strstr(f->message, "100 days") != NULL,
	    "p=none for 100 days by the reports: dmarc-none-long warning");
	tap_ok(lint_has(&r, "dmarc-none") == NULL, "... instead of the plain p=none notice");
	lint_result_free(&r);

	h.none_since = time(NULL) - 10 * DAY;
	run(dns, "none.lint.test", NULL, NULL, &h, &r);
	tap_ok(lint_has(&r, "dmarc-none-long") == NULL && lint_has(&r, "dmarc-none") != NULL,
	    "p=none for 10 days: only the notice");
	lint_result_free(&r);

	memset(&h, 0, sizeof(h));
	h.sub_senders = subs;
	h.n_sub_senders = 2;
	h.sub_messages = 42;
	run(dns, "norua.lint.test", NULL, "v=DMARC1; p=reject; rua=mailto:d@norua.lint.test", &h, &r);
	f = lint_has(&r, "dmarc-sp-missing");
	tap_ok(f != NULL && f->severity == LINT_WARNING && strstr(f->message, "news.clean.lint.test") != NULL &&
	    strstr(f->message, "42 messages") != NULL, "subdomains send, no sp/np: dmarc-sp-missing");
	lint_result_free(&r);
	run(dns, "clean.lint.test", NULL, NULL, &h, &r);
	tap_ok(lint_has(&r, "dmarc-sp-missing") == NULL, "sp and np published: no dmarc-sp-missing");
	lint_result_free(&r);
}

/* test_history_rows - the store's rows folded into a history (cmd_checkdns.c's callback) */
static void
test_history_rows(void)
{
	struct lint_history h;
	const long long d0 = 1767225600;	/* 2026-01-01 */

	memset(&h, 0, sizeof(h));
	lint_history_row(&h, "ex.test", d0, "ex.test", "none", "ex.test", 10);
	lint_history_row(&h, "ex.test", d0 + 10 * DAY, "ex.test", "quarantine", "ex.test", 10);
	lint_history_row(&h, "ex.test", d0 + 20 * DAY, "ex.test", "none", "news.ex.test", 5);
	lint_history_row(&h, "ex.test", d0 + 30 * DAY, "EX.test", "None", "News.Ex.Test", 2);
	lint_history_row(&h, "ex.test", d0 + 40 * DAY, "ex.test", "none", "hr.ex.test", 1);
	lint_history_row(&h, "ex.test", d0 + 41 * DAY, "sub.ex.test", "reject", "sub.ex.test", 3);
	lint_history_row(&h, "ex.test", d0 + 42 * DAY, "ex.test", "none", "notex.test", 7);
	tap_is_int(h.none_since, d0 + 20 * DAY, "the p=none run starts after the last quarantine report");
	tap_is_int(h.last_report, d0 + 42 * DAY, "the newest report of the domain");
	tap_is_int(h.n_sub_senders, 3, "sending subdomains, case-insensitive, not look-alike domains");
	tap_is_int(h.sub_messages, 11, "their messages counted");
	lint_history_row(&h, "ex.test", d0 + 50 * DAY, "ex.test", "reject", NULL, 1);
	tap_is_int(h.none_since, 0, "a p=reject report ends the run");
	lint_history_free(&h);
}

/* test_spf_more - SPF cases without a zone of their own */
static void
test_spf_more(void)
{
	struct dns_options o;
	struct dns *d;
	struct lint_result r;
	unsigned lookups, voids;

	memset(&o, 0, sizeof(o));
	d = dns_new_static(&o);
	dns_static_add(d, "r.example", DNS_T_TXT, "v=spf1 redirect=_spf.r.example");
	dns_static_add(d, "_spf.r.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 exists:%{i}.x.r.example -all");
	dns_static_add(d, "ra.example", DNS_T_TXT, "v=spf1 -all redirect=nowhere.example");
	dns_static_add(d, "rm.example", DNS_T_TXT, "v=spf1 redirect=nowhere.example");
	dns_static_add(d, "bad.example", DNS_T_TXT, "v=spf1 frobnicate:x -all");
	dns_static_add(d, "dup.example", DNS_T_TXT, "v=spf1 redirect=a.example redirect=b.example");
	dns_static_add(d, "pass-inc.example", DNS_T_TXT, "v=spf1 include:open.example -all");
	dns_static_add(d, "open.example", DNS_T_TXT, "v=spf1 +all");
	dns_static_add(d, "cidr.example", DNS_T_TXT, "v=spf1 a/33 -all");
	dns_static_add(d, "cidr6.example", DNS_T_TXT, "v=spf1 a//64 mx/24//48 ip6:2001:db8::/129 -all");
	dns_static_add(d, "cidr6.example", DNS_T_A, "192.0.2.1");
	dns_static_add(d, "cidr6.example", DNS_T_MX, "10 cidr6.example.");
	dns_static_set_status(d, "tf.example", DNS_T_TXT, DNS_TEMPFAIL);

	memset(&r, 0, sizeof(r));
	lint_spf(d, "r.example", &r, &lookups, &voids);
	tap_is_int(lookups, 2, "RFC 7208 §6.1: redirect counts, exists with a macro counts");
	tap_ok(lint_has(&r, "spf-ok") != NULL, "redirect to a good record: ok");
	lint_result_free(&r);

	lint_spf(d, "ra.example", &r, &lookups, &voids);
	tap_is_int(lookups, 0, "RFC 7208 §6.1: redirect ignored when all is present");
	tap_ok(lint_has(&r, "spf-target-missing") == NULL, "... and not followed");
	lint_result_free(&r);

	lint_spf(d, "rm.example", &r, NULL, NULL);
	has(&r, "spf-target-missing", LINT_ERROR, "RFC 7208 §6.1: redirect to a name without SPF");
	lint_result_free(&r);

	lint_spf(d, "bad.example", &r, NULL, NULL);
	has(&r, "spf-syntax", LINT_ERROR, "RFC 7208 §5: unknown mechanism");
	lint_result_free(&r);

	lint_spf(d, "dup.example", &r, NULL, NULL);
	has(&r, "spf-syntax", LINT_ERROR, "RFC 7208 §6: redirect twice");
	lint_result_free(&r);

	lint_spf(d, "pass-inc.example", &r, NULL, NULL);
	has(&r, "spf-all-pass", LINT_ERROR, "+all in an included record");
	lint_result_free(&r);

	lint_spf(d, "cidr.example", &r, NULL, NULL);
	has(&r, "spf-syntax", LINT_ERROR, "RFC 7208 §5.6: a/33");
	lint_result_free(&r);

	lint_spf(d, "cidr6.example", &r, NULL, NULL);
	has(&r, "spf-syntax", LINT_ERROR, "RFC 7208 §5.6: ip6 /129");
	tap_is_int(r.n, 2, "a//64 and mx/24//48 are fine: only the ip6 error (and no spf-ok)");
	lint_result_free(&r);

	lint_spf(d, "tf.example", &r, NULL, NULL);
	has(&r, "dns-error", LINT_WARNING, "SERVFAIL: dns-error, not spf-missing");
	tap_ok(lint_has(&r, "spf-missing") == NULL, "a temporary failure is never 'missing'");
	lint_result_free(&r);
	dns_free(d);
}

/* test_dnssec - the DO bit, RRSIGs and AD through the DNS layer */
static void
test_dnssec(void)
{
	struct dns_options o;
	struct dns *d;
	struct dns_answer *a;
	struct lint_result r;
	struct lint_options lo;
	char err[256];
	const char *sig = "DNSKEY 13 2 300 20400101000000 20200101000000 12345 sig.lint.test. "
	    "c2lnbmF0dXJlIGJ5dGVzIGZvciB0aGUgdGVzdCBvbmx5IHNpZ25hdHVyZSBieXRlcyBmb3IgdGhlIHRlc3Q=";
	const char *soasig = "SOA 13 2 300 20400101000000 20200101000000 12345 sig.lint.test. "
	    "c2lnbmF0dXJlIGJ5dGVzIGZvciB0aGUgdGVzdCBvbmx5IHNpZ25hdHVyZSBieXRlcyBmb3IgdGhlIHRlc3Q=";

	memset(&o, 0, sizeof(o));
	o.dnssec_ok = true;
	d = dns_new_static(&o);
	tap_ok(dns_static_add(d, "sig.lint.test", DNS_T_SOA,
	    "ns.sig.lint.test. h.sig.lint.test. 1 3600 600 86400 60") == 0 &&
	    dns_static_add(d, "sig.lint.test", DNS_T_DNSKEY,
	    "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==") == 0 &&
	    dns_static_add(d, "sig.lint.test", DNS_T_RRSIG, sig) == 0 &&
	    dns_static_add(d, "sig.lint.test", DNS_T_RRSIG, soasig) == 0,
	    "static backend takes DNSKEY, SOA and RRSIG records");
	a = dns_query(d, "sig.lint.test", DNS_T_DNSKEY);
	tap_ok(a->status == DNS_OK && a->n == 1 && a->rrsig && !a->ad,
	    "DO set: DNSKEY with its RRSIG, no AD from a non-validating server");
	dns_answer_free(a);
	a = dns_query(d, "nothere.sig.lint.test", DNS_T_TXT);
	tap_ok(a->status == DNS_NXDOMAIN && a->rrsig, "RFC 4035 §3.1.3: a signed denial carries RRSIGs");
	dns_answer_free(a);

	memset(&lo, 0, sizeof(lo));
	lo.domain = "sig.lint.test";
	lo.now = time(NULL);
	lint_domain(d, psl, &lo, &r, err, sizeof(err));
	has(&r, "dnssec-unvalidated", LINT_NOTICE, "signed, resolver does not validate");
	lint_result_free(&r);

	dns_static_set_validating(d, true);
	a = dns_query(d, "sig.lint.test", DNS_T_DNSKEY);
	tap_ok(a->status == DNS_OK && a->rrsig && a->ad, "a validating resolver sets AD (RFC 4035 §3.2.3)");
	dns_answer_free(a);
	lint_domain(d, psl, &lo, &r, err, sizeof(err));
	has(&r, "dnssec-validated", LINT_OK, "signed and validated");
	lint_result_free(&r);
	dns_free(d);

	/* without DO: no RRSIGs, no AD, and the same zone reads as unsigned data */
	o.dnssec_ok = false;
	d = dns_new_static(&o);
	dns_static_add(d, "sig.lint.test", DNS_T_TXT, "v=spf1 -all");
	dns_static_add(d, "sig.lint.test", DNS_T_RRSIG, "TXT 13 2 300 20400101000000 20200101000000 12345 "
	    "sig.lint.test. c2lnbmF0dXJl");
	dns_static_set_validating(d, true);
	a = dns_query(d, "sig.lint.test", DNS_T_TXT);
	tap_ok(a->status == DNS_OK && a->n == 1 && !a->rrsig && !a->ad, "without DO: no RRSIG, no AD");
	dns_answer_free(a);
	dns_free(d);
}

/* test_failures - temporary DNS failures never read as "missing" */
static void
test_failures(void)
{
	struct dns_options o;
	struct dns *d;
	struct lint_result r;
	struct lint_options lo;
	const char *sels[1] = { "sel" };
	char err[256];

	memset(&o, 0, sizeof(o));
	d = dns_new_static(&o);
	dns_static_set_status(d, "_dmarc.tf.example", 0, DNS_TEMPFAIL);
	dns_static_set_status(d, "sel._domainkey.tf.example", 0, DNS_TEMPFAIL);
	dns_static_add(d, "tf.example", DNS_T_TXT, "v=spf1 -all");
	memset(&lo, 0, sizeof(lo));
	lo.domain = "tf.example";
	lo.selectors = sels;
	lo.n_selectors = 1;
	lo.now = time(NULL);
	tap_ok(lint_domain(d, psl, &lo, &r, err, sizeof(err)) == 0, "lint_domain runs through SERVFAIL");
	has(&r, "dns-error", LINT_WARNING, "SERVFAIL at _dmarc: dns-error");
	tap_ok(lint_has(&r, "dmarc-missing") == NULL && lint_has(&r, "dkim-missing") == NULL,
	    "SERVFAIL is not 'no record'");
	lint_result_free(&r);

	lo.domain = "Not A Domain";
	tap_ok(lint_domain(d, psl, &lo, &r, err, sizeof(err)) != 0, "a name that is not normalized is refused");
	dns_free(d);
}

int
main(void)
{
	struct dns_options o;
	struct dns *dns;
	char err[256];
	int n;

	log_set_level(LOG_LEVEL_ERR);	/* rua.c's "refused" lines are expected here */
	psl = orgdomain_load(SYSTEM_PSL, err, sizeof(err));
	if (!tap_ok(psl != NULL, "load the system Public Suffix List")) {
		tap_diag("%s", err);
		return tap_done();
	}
	memset(&o, 0, sizeof(o));
	o.cache_entries = 1000;
	o.max_ttl = 3600;
	o.max_neg_ttl = 300;
	o.dnssec_ok = true;
	dns = dns_new_static(&o);
	n = load_zones(dns);
	if (!tap_ok(n >= (int)(sizeof(zcases) / sizeof(zcases[0])), "load the lint zones of t/zones (%d)", n))
		return tap_done();
	test_zones(dns);
	test_clean_details(dns);
	test_records(dns);
	test_history(dns);
	test_history_rows();
	dns_free(dns);
	test_spf_more();
	test_dnssec();
	test_failures();
	orgdomain_free(psl);
	return tap_done();
}
