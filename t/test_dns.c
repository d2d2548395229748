/*
 * test_dns.c - the DNS layer against the static backend (no sockets):
 * status mapping, TXT joining, record parsing, name checks, the cache
 * (hits, negative caching, expiry, size bound, single-flight), the wire
 * format for libopendkim, zone files, and concurrent use.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "buf.h"
#include "dns.h"
#include "tap.h"
#include "util.h"

static const char *zone_text =
    "$ORIGIN example.com.\n"
    "$TTL 300\n"
    "@        600 IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 60\n"
    "@            IN NS  ns.example.com.\n"
    "@            IN MX  10 mx1.example.com.\n"
    "@            IN MX  20 MX2.Example.COM.\n"
    "@            IN TXT \"v=spf1 ip4:192.0.2.0/24 \" \"ip4:198.51.100.0/24 -all\"\n"
    "@            IN TXT \"google-site-verification=abc\"\n"
    "mx1          IN A   192.0.2.1\n"
    "mx1          IN A   192.0.2.2\n"
    "mx1          IN AAAA 2001:db8::1\n"
    "_dmarc       IN TXT \"v=DMARC1; p=reject\"\n"
    "alias        IN CNAME target\n"
    "target   120 IN TXT \"target-text\"\n"
    "a.b.deep     IN A   192.0.2.9\n"
    "*.wild       IN TXT \"wildcard\"\n"
    "mixed    100 IN A   192.0.2.1\n"
    "mixed     50 IN A   192.0.2.2\n"
    "nul          IN TXT \"a\\000b\"\n"
    "nullmx       IN MX  0 .\n";

/* write_file - a temporary file with the given text; returns its path */
static char *
write_file(const char *text)
{
	char *path = xstrdup("/tmp/test_dns.XXXXXX");
	int fd = mkstemp(path);
	FILE *fp;

	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

static const char *status_name[] = { "OK", "NXDOMAIN", "TEMPFAIL", "PERMFAIL" };

/* fmt - "STATUS n: rec|rec" for table comparisons */
static char *
fmt(const struct dns_answer *a)
{
	struct buf b = BUF_INIT;
	char ip[INET6_ADDRSTRLEN];
	size_t i;

	buf_printf(&b, "%s %zu:", status_name[a->status], a->n);
	for (i = 0; i < a->n; i++) {
		buf_puts(&b, i ? "|" : " ");
		switch (a->qtype) {
		case DNS_T_TXT:
			buf_append(&b, a->txt[i], a->txt_len[i]);
			break;
		case DNS_T_A:
		case DNS_T_AAAA:
			inet_ntop(a->addrs[i].family, a->addrs[i].addr, ip, sizeof(ip));
			buf_puts(&b, ip);
			break;
		case DNS_T_MX:
			buf_printf(&b, "%u %s", a->mx[i].pref, a->mx[i].host);
			break;
		default:
			if (a->names != NULL)
				buf_puts(&b, a->names[i]);
			break;
		}
	}
	return buf_detach(&b);
}

struct qcase {
	const char	*name;
	uint16_t	 qtype;
	const char	*want;
	const char	*what;
};

static const struct qcase cases[] = {
	{ "example.com", DNS_T_TXT,
	  "OK 2: v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all|google-site-verification=abc",
	  "RFC 7208 §3.3: strings of one TXT RR joined, several RRs kept separate" },
	{ "example.com", DNS_T_MX, "OK 2: 10 mx1.example.com|20 mx2.example.com",
	  "RFC 1035 §3.3.9: MX preference and host, lowercase, no trailing dot" },
	{ "mx1.example.com", DNS_T_A, "OK 2: 192.0.2.1|192.0.2.2", "RFC 1035 §3.4.1: A records" },
	{ "mx1.example.com", DNS_T_AAAA, "OK 1: 2001:db8::1", "RFC 3596 §2.2: AAAA record" },
	{ "example.com", DNS_T_NS, "OK 1: ns.example.com", "RFC 1035 §3.3.11: NS target" },
	{ "1.2.0.192.in-addr.arpa", DNS_T_PTR, "OK 1: mail.example.com", "RFC 1035 §3.5: PTR target" },
	{ "MX1.Example.COM", DNS_T_A, "OK 2: 192.0.2.1|192.0.2.2", "RFC 4343 §3: names compare case-insensitively" },
	{ "mx1.example.com.", DNS_T_A, "OK 2: 192.0.2.1|192.0.2.2", "RFC 1034 §3.1: trailing dot accepted" },
	{ "_dmarc.example.com", DNS_T_TXT, "OK 1: v=DMARC1; p=reject", "RFC 7489 §6.1: _dmarc TXT" },
	{ "example.com", DNS_T_AAAA, "OK 0:", "RFC 2308 §2.2: NODATA is NOERROR with no records" },
	{ "nosuch.example.com", DNS_T_TXT, "NXDOMAIN 0:", "RFC 2308 §2.1: NXDOMAIN" },
	{ "b.deep.example.com", DNS_T_A, "OK 0:", "RFC 8020 §2: empty non-terminal is NODATA, not NXDOMAIN" },
	{ "alias.example.com", DNS_T_TXT, "OK 1: target-text", "RFC 1034 §3.6.2: CNAME chain followed to the asked type" },
	{ "alias.example.com", DNS_T_CNAME, "OK 1: target.example.com", "RFC 1034 §3.6.2: CNAME asked directly" },
	{ "x.wild.example.com", DNS_T_TXT, "OK 1: wildcard", "RFC 4592 §2.2: wildcard synthesis" },
	{ "x.wild.example.com", DNS_T_A, "OK 0:", "RFC 4592 §2.2: wildcard with other type is NODATA" },
	{ "example.com", DNS_T_SOA, "OK 1: ", "RFC 1035 §3.3.13: other types count records only" },
	{ "servfail.example.com", DNS_T_TXT, "TEMPFAIL 0:", "RFC 1035 §4.1.1: SERVFAIL is a temporary failure" },
	{ "txtfail.example.com", DNS_T_TXT, "TEMPFAIL 0:", "RFC 1035 §4.1.1: SERVFAIL for one type" },
	{ "txtfail.example.com", DNS_T_A, "OK 1: 192.0.2.5", "status for one type leaves the others alone" },
	{ "gone.example.com", DNS_T_A, "NXDOMAIN 0:", "RFC 8020: NXDOMAIN set by status even with data" },
	{ "empty.example.com", DNS_T_MX, "OK 0:", "RFC 2308 §2.2: NODATA set by status" },
	{ "formerr.example.com", DNS_T_TXT, "PERMFAIL 0:", "RFC 1035 §4.1.1: FORMERR is permanent" },
	{ "mixed.example.com", DNS_T_A, "OK 2: 192.0.2.1|192.0.2.2", "RFC 2181 §5.2: differing TTLs in one RRset" },
	{ "nullmx.example.com", DNS_T_MX, "OK 1: 0 ", "RFC 7505 §3: null MX host is the root, given as \"\"" },
	{ "unquoted.example.com", DNS_T_TXT, "OK 1: v=spf1 -all", "unquoted TXT rdata is one string (RFC 7208 §3.3)" },
	{ "outside.example.net", DNS_T_A, "NXDOMAIN 0:", "RFC 2308 §2.1: name outside every zone" },
};

/* check_cases - run the query table */
static void
check_cases(struct dns *d)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer *a = dns_query(d, cases[i].name, cases[i].qtype);
		char *got = fmt(a);

		tap_is_str(got, cases[i].want, "%s (%s/%u)", cases[i].what, cases[i].name, cases[i].qtype);
		free(got);
		dns_answer_free(a);
	}
}

/* new_world - a static backend with the test zone and a few extras */
static struct dns *
new_world(const struct dns_options *o)
{
	struct dns *d = dns_new_static(o);
	char err[256], *path = write_file(zone_text);

	if (dns_static_load_zone(d, path, "example.com", err, sizeof(err)) != 0) {
		printf("Bail out! zone load failed: %s\n", err);
		exit(2);
	}
	unlink(path);
	free(path);
	if (dns_static_add(d, "1.2.0.192.in-addr.arpa", DNS_T_PTR, "mail.example.com.") != 0 ||
	    dns_static_add(d, "unquoted.example.com", DNS_T_TXT, "v=spf1 -all") != 0 ||
	    dns_static_add(d, "txtfail.example.com", DNS_T_A, "192.0.2.5") != 0 ||
	    dns_static_add(d, "gone.example.com", DNS_T_A, "192.0.2.6") != 0 ||
	    dns_static_set_status(d, "servfail.example.com", 0, DNS_TEMPFAIL) != 0 ||
	    dns_static_set_status(d, "txtfail.example.com", DNS_T_TXT, DNS_TEMPFAIL) != 0 ||
	    dns_static_set_status(d, "gone.example.com", 0, DNS_NXDOMAIN) != 0 ||
	    dns_static_set_status(d, "empty.example.com", DNS_T_MX, DNS_OK) != 0 ||
	    dns_static_set_status(d, "formerr.example.com", 0, DNS_PERMFAIL) != 0) {
		printf("Bail out! static setup failed\n");
		exit(2);
	}
	return d;
}

/* test_names - names refused up front, without a query */
static void
test_names(struct dns *d)
{
	static const struct {
		const char *name;
		const char *what;
	} bad[] = {
		{ "", "RFC 1035 §2.3.4: empty name refused" },
		{ ".", "RFC 1035 §2.3.4: root alone refused" },
		{ "a..example.com", "RFC 1035 §2.3.4: empty label refused" },
		{ ".example.com", "RFC 1035 §2.3.4: leading empty label refused" },
		{ "a b.example.com", "RFC 1035 §2.3.1: space refused" },
		{ "a\001b.example.com", "RFC 1035 §2.3.1: control byte refused" },
		{ "ex\xc3\xa4mple.com", "RFC 5890 §2.3.2.1: non-ASCII (U-label) refused" },
		{ "a\\.b.example.com", "backslash escape refused" },
	};
	struct dns_stats before, after;
	struct dns_answer *a;
	char label64[80], name254[300], name253[300];
	size_t i;

	dns_get_stats(d, &before);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = dns_query(d, bad[i].name, DNS_T_TXT);
		tap_ok(a->status == DNS_PERMFAIL && a->error != NULL && a->rcode == -1,
		    "%s", bad[i].what);
		dns_answer_free(a);
	}
	a = dns_query(d, NULL, DNS_T_A);
	tap_ok(a->status == DNS_PERMFAIL, "NULL name refused");
	dns_answer_free(a);

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".example.com");
	a = dns_query(d, label64, DNS_T_A);
	tap_ok(a->status == DNS_PERMFAIL, "RFC 1035 §2.3.4: 64-octet label refused");
	dns_answer_free(a);
	label64[0] = '.';
	a = dns_query(d, label64 + 1, DNS_T_A);
	tap_ok(a->status == DNS_NXDOMAIN, "RFC 1035 §2.3.4: 63-octet label asked");
	dns_answer_free(a);

	/* 4 x 63-octet labels + dots = 255 characters; cut down to 254 / 253 */
	memset(name254, 'b', 254);
	name254[254] = '\0';
	for (i = 63; i < 254; i += 64)
		name254[i] = '.';
	a = dns_query(d, name254, DNS_T_A);
	tap_ok(a->status == DNS_PERMFAIL, "RFC 1035 §2.3.4: 254-character name refused");
	dns_answer_free(a);
	memcpy(name253, name254, 253);
	name253[253] = '\0';
	a = dns_query(d, name253, DNS_T_A);
	tap_ok(a->status == DNS_NXDOMAIN, "RFC 1035 §2.3.4: 253-character name asked");
	dns_answer_free(a);
	strcat(name253, ".");
	a = dns_query(d, name253, DNS_T_A);
	tap_ok(a->status == DNS_NXDOMAIN, "RFC 1035 §2.3.4: 253 characters plus the trailing dot asked");
	dns_answer_free(a);

	dns_get_stats(d, &after);
	tap_is_int(after.upstream - before.upstream, 3, "refused names never reach the backend");
}

/* test_caps - DNS_MAX_RRS, DNS_MAX_TXT_LEN, NUL bytes in TXT */
static void
test_caps(void)
{
	struct dns_options o = { .cache_entries = 0 };
	struct dns *d = dns_new_static(&o);
	struct dns_answer *a;
	char rd[32], *big;
	int i, fails = 0;

	for (i = 0; i < DNS_MAX_RRS + 6; i++) {
		snprintf(rd, sizeof(rd), "10.0.%d.%d", i / 256, i % 256);
		fails += dns_static_add(d, "many.example.org", DNS_T_A, rd) != 0;
	}
	tap_is_int(fails, 0, "70 A records added");
	a = dns_query(d, "many.example.org", DNS_T_A);
	tap_ok(a->status == DNS_OK && a->n == DNS_MAX_RRS && a->truncated,
	    "DNS_MAX_RRS: 70 records capped at 64 and flagged truncated");
	dns_answer_free(a);

	big = xmalloc(DNS_MAX_TXT_LEN + 2);
	memset(big, 'x', DNS_MAX_TXT_LEN + 1);
	big[DNS_MAX_TXT_LEN + 1] = '\0';
	tap_is_int(dns_static_add(d, "big.example.org", DNS_T_TXT, big), 0, "8193-byte TXT added");
	big[DNS_MAX_TXT_LEN] = '\0';
	tap_is_int(dns_static_add(d, "big.example.org", DNS_T_TXT, big), 0, "8192-byte TXT added");
	dns_static_add(d, "big.example.org", DNS_T_TXT, "\"v=spf1 -all\"");
	a = dns_query(d, "big.example.org", DNS_T_TXT);
	tap_ok(a->status == DNS_OK && a->n == 2 && a->truncated && a->error != NULL,
	    "DNS_MAX_TXT_LEN: the over-long record is dropped and noted, the others kept");
	tap_ok(a->n == 2 && a->txt_len[0] + a->txt_len[1] == DNS_MAX_TXT_LEN + 11,
	    "DNS_MAX_TXT_LEN: a record of exactly the cap is kept whole");
	dns_answer_free(a);
	free(big);

	dns_static_add(d, "nul.example.org", DNS_T_TXT, "\"a\\000b\" \"c\"");
	a = dns_query(d, "nul.example.org", DNS_T_TXT);
	tap_ok(a->n == 1 && a->txt_len[0] == 4 && memcmp(a->txt[0], "a\0bc", 5) == 0,
	    "RFC 1035 §3.3: a NUL byte inside TXT kept, length counted");
	dns_answer_free(a);

	tap_ok(dns_static_add(d, "bad.example.org", DNS_T_A, "not-an-address") != 0,
	    "dns_static_add refuses bad rdata");
	tap_ok(dns_static_add(d, "bad.example.org", DNS_T_MX, "10") != 0,
	    "dns_static_add refuses incomplete rdata");
	tap_ok(dns_static_set_status(d, "x.example.org", 0, (enum dns_status)42) != 0,
	    "dns_static_set_status refuses an unknown status");
	dns_free(d);
}

/* test_cache - hits, negative caching and its TTL, errors not cached */
static void
test_cache(void)
{
	struct dns_options o = { .cache_entries = 1000, .max_ttl = 3600, .max_neg_ttl = 30 };
	struct dns *d = new_world(&o);
	struct dns_stats s0, s;
	struct dns_answer *a, *b;

	dns_get_stats(d, &s0);
	a = dns_query(d, "example.com", DNS_T_TXT);
	b = dns_query(d, "EXAMPLE.com.", DNS_T_TXT);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream - s0.upstream, 1, "cache: the second query (other case, trailing dot) is not sent");
	tap_is_int(s.cache_hits - s0.cache_hits, 1, "cache: the second query counts as a hit");
	tap_is_int(s.queries - s0.queries, 2, "cache: both queries counted");
	tap_ok(b->n == 2 && b->txt_len[0] == a->txt_len[0] &&
	    memcmp(a->txt[0], b->txt[0], a->txt_len[0]) == 0, "cache: the hit has the same data");
	tap_ok(a->ttl == 300 && b->ttl <= 300 && b->ttl >= 299, "cache: hit carries the remaining TTL");
	dns_answer_free(a);
	dns_answer_free(b);

	a = dns_query(d, "mixed.example.com", DNS_T_A);
	tap_is_int(a->ttl, 50, "RFC 2181 §5.2: TTL is the minimum over the RRset");
	dns_answer_free(a);
	a = dns_query(d, "alias.example.com", DNS_T_TXT);
	tap_is_int(a->ttl, 120, "RFC 1034 §3.6.2: TTL includes the CNAME chain's minimum");
	dns_answer_free(a);

	dns_get_stats(d, &s0);
	a = dns_query(d, "nosuch.example.com", DNS_T_A);
	tap_is_int(a->ttl, 60, "RFC 2308 §5: negative TTL is min(SOA TTL 600, MINIMUM 60)");
	dns_answer_free(a);
	a = dns_query(d, "nosuch.example.com", DNS_T_A);
	tap_ok(a->status == DNS_NXDOMAIN && a->ttl <= 30, "RFC 2308 §5: NXDOMAIN cached, clamped to max_neg_ttl");
	dns_answer_free(a);
	a = dns_query(d, "example.com", DNS_T_AAAA);
	dns_answer_free(a);
	a = dns_query(d, "example.com", DNS_T_AAAA);
	tap_ok(a->status == DNS_OK && a->n == 0, "RFC 2308 §5: NODATA from the cache still NODATA");
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream - s0.upstream, 2, "RFC 2308 §5: NXDOMAIN and NODATA each asked once");

	dns_get_stats(d, &s0);
	a = dns_query(d, "outside.example.net", DNS_T_A);
	dns_answer_free(a);
	a = dns_query(d, "outside.example.net", DNS_T_A);
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream - s0.upstream, 2, "RFC 2308 §5: a negative answer without SOA is not cached");

	dns_get_stats(d, &s0);
	a = dns_query(d, "servfail.example.com", DNS_T_TXT);
	dns_answer_free(a);
	a = dns_query(d, "servfail.example.com", DNS_T_TXT);
	dns_answer_free(a);
	a = dns_query(d, "formerr.example.com", DNS_T_TXT);
	dns_answer_free(a);
	a = dns_query(d, "formerr.example.com", DNS_T_TXT);
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream - s0.upstream, 4, "TEMPFAIL and PERMFAIL are never cached");
	tap_is_int(s.tempfail - s0.tempfail, 2, "stats: TEMPFAIL answers counted");
	dns_free(d);
}

/* test_expiry - entries expire on the monotonic clock */
static void
test_expiry(void)
{
	struct dns_options o = { .cache_entries = 100, .max_ttl = 1, .max_neg_ttl = 1 };
	struct dns *d = new_world(&o);
	struct dns_stats s0, s;
	struct dns_answer *a;

	a = dns_query(d, "mx1.example.com", DNS_T_A);
	dns_answer_free(a);
	a = dns_query(d, "nosuch.example.com", DNS_T_A);
	dns_answer_free(a);
	dns_get_stats(d, &s0);
	a = dns_query(d, "mx1.example.com", DNS_T_A);
	tap_ok(a->ttl == 1, "max_ttl clamps the positive lifetime");
	dns_answer_free(a);
	a = dns_query(d, "nosuch.example.com", DNS_T_A);
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.cache_hits - s0.cache_hits, 2, "before expiry both answers come from the cache");
	sleep(2);
	dns_get_stats(d, &s0);
	a = dns_query(d, "mx1.example.com", DNS_T_A);
	tap_ok(a->status == DNS_OK && a->n == 2, "after expiry the answer is fetched again");
	dns_answer_free(a);
	a = dns_query(d, "nosuch.example.com", DNS_T_A);
	tap_ok(a->status == DNS_NXDOMAIN, "after expiry NXDOMAIN is fetched again");
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream - s0.upstream, 2, "expired positive and negative entries both went upstream");
	dns_free(d);

	o.max_ttl = 0;
	o.max_neg_ttl = 0;
	d = new_world(&o);
	a = dns_query(d, "mx1.example.com", DNS_T_A);
	dns_answer_free(a);
	a = dns_query(d, "mx1.example.com", DNS_T_A);
	dns_answer_free(a);
	dns_get_stats(d, &s);
	tap_is_int(s.upstream, 2, "max_ttl 0 keeps nothing");
	dns_free(d);
}

/* test_bound - thousands of names never grow the cache past cache_entries */
static void
test_bound(void)
{
	struct dns_options o = { .cache_entries = 100, .max_ttl = 3600, .max_neg_ttl = 3600 };
	struct dns *d = new_world(&o);
	struct dns_stats s0, s;
	char name[64];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		dns_answer_free(dns_query(d, name, DNS_T_A));
	}
	dns_get_stats(d, &s0);
	tap_is_int(s0.upstream, 5000, "5000 distinct names all asked");
	for (i = 4999; i >= 4990; i--) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		dns_answer_free(dns_query(d, name, DNS_T_A));
	}
	dns_get_stats(d, &s);
	tap_ok(s.cache_hits - s0.cache_hits >= 5, "LRU keeps the most recent names (%lu of 10 hit)",
	    s.cache_hits - s0.cache_hits);
	dns_get_stats(d, &s0);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "n%d.example.com", i);
		dns_answer_free(dns_query(d, name, DNS_T_A));
	}
	dns_get_stats(d, &s);
	tap_ok(s.cache_hits - s0.cache_hits <= 100, "cache size bound: at most 100 of 5000 names cached (%lu hits)",
	    s.cache_hits - s0.cache_hits);
	dns_free(d);

	o.cache_entries = 3;		/* fewer entries than shards */
	d = new_world(&o);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "m%d.example.com", i);
		dns_answer_free(dns_query(d, name, DNS_T_A));
	}
	dns_get_stats(d, &s0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "m%d.example.com", i);
		dns_answer_free(dns_query(d, name, DNS_T_A));
	}
	dns_get_stats(d, &s);
	tap_ok(s.cache_hits - s0.cache_hits <= 3, "cache size bound with 3 entries (%lu hits)",
	    s.cache_hits - s0.cache_hits);
	dns_free(d);
}

/* txt_from_wire - the joined strings of answer RR i of a parsed reply */
static size_t
txt_rr_strings(const ldns_pkt *p, size_t i, char *out, size_t outlen, size_t *len)
{
	const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
	size_t k, off = 0;

	for (k = 0; k < ldns_rr_rd_count(rr); k++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, k);
		size_t n = ldns_rdf_size(f) - 1;

		if (off + n <= outlen)
			memcpy(out + off, ldns_rdf_data(f) + 1, n);
		off += n;
	}
	*len = off;
	return ldns_rr_rd_count(rr);
}

/* test_wire - dns_answer_to_wire and back through ldns_wire2pkt */
static void
test_wire(void)
{
	struct dns_options o = { .cache_entries = 0 };
	struct dns *d = new_world(&o);
	struct dns_answer *a;
	unsigned char buf[65536];
	char long_txt[601], got[2048];
	ldns_pkt *p = NULL;
	size_t len, nstr;
	int n, i;

	for (i = 0; i < 600; i++)
		long_txt[i] = (char)('a' + i % 26);
	long_txt[600] = '\0';
	dns_static_add(d, "long.example.com", DNS_T_TXT, long_txt);
	dns_static_add(d, "long.example.com", DNS_T_TXT, "\"short\"");

	a = dns_query(d, "long.example.com", DNS_T_TXT);
	tap_ok(a->n == 2 && a->txt_len[0] == 600, "600-byte TXT added as one record");
	n = dns_answer_to_wire(a, "long.example.com", buf, sizeof(buf));
	tap_ok(n > 0, "RFC 1035 §4.1: TXT answer to wire (%d bytes)", n);
	tap_ok(n > 0 && ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK && p != NULL,
	    "the wire reply parses");
	if (p != NULL) {
		tap_ok(ldns_pkt_qr(p) && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR &&
		    ldns_pkt_qdcount(p) == 1 && ldns_pkt_ancount(p) == 2,
		    "RFC 1035 §4.1.1: QR, NOERROR, one question, two answers");
		nstr = txt_rr_strings(p, 0, got, sizeof(got), &len);
		tap_is_int(nstr, 3, "RFC 1035 §3.3.14: 600 bytes split into 3 character-strings");
		tap_ok(len == 600 && memcmp(got, long_txt, 600) == 0, "the 600 bytes come back unchanged");
		nstr = txt_rr_strings(p, 1, got, sizeof(got), &len);
		tap_ok(nstr == 1 && len == 5 && memcmp(got, "short", 5) == 0, "second TXT RR kept separate");
		tap_ok(ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)),
		    ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0))) == 0 &&
		    ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)) == LDNS_RR_TYPE_TXT,
		    "question and answer owner are the queried name, type TXT");
		ldns_pkt_free(p);
		p = NULL;
	}
	tap_is_int(dns_answer_to_wire(a, "long.example.com", buf, 100), -1, "too small a buffer gives -1");
	tap_is_int(dns_answer_to_wire(a, "bad..name", buf, sizeof(buf)), -1, "a bad qname gives -1");
	dns_answer_free(a);

	a = dns_query(d, "example.com", DNS_T_TXT);
	n = dns_answer_to_wire(a, "example.com", buf, sizeof(buf));
	if (n > 0 && ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK) {
		nstr = txt_rr_strings(p, 0, got, sizeof(got), &len);
		tap_ok(len == a->txt_len[0] && memcmp(got, a->txt[0], len) == 0,
		    "RFC 6376 §3.6.2.2: joined TXT survives the round trip");
		ldns_pkt_free(p);
		p = NULL;
	} else
		tap_ok(0, "RFC 6376 §3.6.2.2: joined TXT survives the round trip");
	dns_answer_free(a);

	{
		static const struct {
			const char *name;
			uint16_t qtype;
			int rcode;
			int ancount;
			const char *what;
		} w[] = {
			{ "nosuch.example.com", DNS_T_TXT, 3, 0, "RFC 1035 §4.1.1: NXDOMAIN is rcode 3, no answers" },
			{ "servfail.example.com", DNS_T_TXT, 2, 0, "RFC 1035 §4.1.1: TEMPFAIL is rcode 2 (SERVFAIL)" },
			{ "example.com", DNS_T_AAAA, 0, 0, "RFC 2308 §2.2: NODATA is NOERROR, no answers" },
			{ "example.com", DNS_T_MX, 0, 2, "MX answers on the wire" },
			{ "mx1.example.com", DNS_T_A, 0, 2, "A answers on the wire" },
			{ "mx1.example.com", DNS_T_AAAA, 0, 1, "AAAA answer on the wire" },
			{ "1.2.0.192.in-addr.arpa", DNS_T_PTR, 0, 1, "PTR answer on the wire" },
		};
		size_t k;

		for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
			a = dns_query(d, w[k].name, w[k].qtype);
			n = dns_answer_to_wire(a, w[k].name, buf, sizeof(buf));
			p = NULL;
			if (n > 0 && ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK) {
				tap_ok((int)ldns_pkt_get_rcode(p) == w[k].rcode &&
				    ldns_pkt_ancount(p) == w[k].ancount, "%s", w[k].what);
				if (w[k].qtype == DNS_T_MX && ldns_pkt_ancount(p) == 2) {
					const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 1);
					char *s = ldns_rdf2str(ldns_rr_rdf(rr, 1));

					tap_ok(ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) == 20 &&
					    s != NULL && strcmp(s, "mx2.example.com.") == 0,
					    "MX preference and host survive the round trip");
					free(s);
				}
				ldns_pkt_free(p);
			} else
				tap_ok(0, "%s", w[k].what);
			dns_answer_free(a);
		}
	}
	dns_free(d);
}

/* test_zone_errors - a bad line is reported with its number */
static void
test_zone_errors(void)
{
	struct dns *d = dns_new_static(NULL);
	struct dns_answer *a;
	char err[512], *path;

	path = write_file("$ORIGIN bad.example.\n$TTL 300\n@ IN TXT \"ok\"\nwww IN A 999.1.2.3\n"
	    "mail IN A 192.0.2.1\n");
	tap_ok(dns_static_load_zone(d, path, NULL, err, sizeof(err)) != 0, "zone with a bad A record refused");
	tap_ok(strstr(err, ":4:") != NULL && strstr(err, path) != NULL,
	    "the error names the file and line 4 (%s)", err);
	unlink(path);
	free(path);
	a = dns_query(d, "bad.example", DNS_T_TXT);
	tap_ok(a->status == DNS_NXDOMAIN, "nothing of a refused zone file is stored");
	dns_answer_free(a);

	path = write_file("$ORIGIN ok.example.\n@ IN SOA ns hostmaster (\n 1 3600 600\n 86400 60 )\n"
	    "$TTL 42\n@ IN TXT \"ok\"\n");
	tap_ok(dns_static_load_zone(d, path, NULL, err, sizeof(err)) == 0, "zone with a multi-line SOA loads");
	a = dns_query(d, "ok.example", DNS_T_TXT);
	tap_ok(a->status == DNS_OK && a->n == 1 && a->ttl == 42, "RFC 2308 §4: $TTL applies to later records");
	dns_answer_free(a);
	unlink(path);
	free(path);

	path = write_file("$ORIGIN bad.example.\n\n; comment\n@ IN TXT \"ok\"\n@ IN NOSUCHTYPE x\n");
	tap_ok(dns_static_load_zone(d, path, NULL, err, sizeof(err)) != 0 && strstr(err, ":5:") != NULL,
	    "unknown type reported on line 5 (%s)", err);
	unlink(path);
	free(path);

	tap_ok(dns_static_load_zone(d, "/nonexistent/zone", NULL, err, sizeof(err)) != 0 &&
	    strstr(err, "/nonexistent/zone") != NULL, "missing zone file reported (%s)", err);
	dns_free(d);
}

/* test_setup - the ldns backend's set-up errors, and refusal before any socket */
static void
test_setup(void)
{
	struct nameserver ns[2] = { { "127.0.0.1", 1 }, { "not-an-ip", 53 } };
	struct dns_options o = { .nameservers = ns, .n_nameservers = 2, .timeout = 1 };
	struct dns *d;
	struct dns_answer *a;
	char err[256] = "";

	tap_ok(dns_new_ldns(&o, err, sizeof(err)) == NULL && strstr(err, "not-an-ip") != NULL,
	    "ldns backend refuses a name server that is not an address (%s)", err);
	o.n_nameservers = 1;
	d = dns_new_ldns(&o, err, sizeof(err));
	tap_ok(d != NULL, "ldns backend set up with 127.0.0.1:1");
	a = dns_query(d, "a..b", DNS_T_A);
	tap_ok(a->status == DNS_PERMFAIL && a->rcode == -1, "ldns backend refuses a bad name without asking");
	dns_answer_free(a);
	tap_ok(dns_static_add(d, "x.example", DNS_T_A, "192.0.2.1") != 0, "dns_static_add refused on the ldns backend");
	dns_free(d);
}

/* ---- concurrency ---- */

struct tcase {
	const char	*name;
	uint16_t	 qtype;
	const char	*want;
};

static const struct tcase tcases[] = {
	{ "example.com", DNS_T_TXT, "OK 2: v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all|google-site-verification=abc" },
	{ "example.com", DNS_T_MX, "OK 2: 10 mx1.example.com|20 mx2.example.com" },
	{ "mx1.example.com", DNS_T_A, "OK 2: 192.0.2.1|192.0.2.2" },
	{ "mx1.example.com", DNS_T_AAAA, "OK 1: 2001:db8::1" },
	{ "nosuch.example.com", DNS_T_TXT, "NXDOMAIN 0:" },
	{ "example.com", DNS_T_AAAA, "OK 0:" },
	{ "servfail.example.com", DNS_T_TXT, "TEMPFAIL 0:" },
	{ "alias.example.com", DNS_T_TXT, "OK 1: target-text" },
	{ "x.wild.example.com", DNS_T_TXT, "OK 1: wildcard" },
};

struct targ {
	struct dns	*d;
	int		 id;
	int		 wrong;
};

/* worker - 500 queries, some repeated, some unique, checked */
static void *
worker(void *p)
{
	struct targ *t = p;
	char name[64];
	int i;

	for (i = 0; i < 500; i++) {
		struct dns_answer *a;
		char *got;

		if (i % 5 == 4) {
			snprintf(name, sizeof(name), "t%d-%d.example.com", t->id, i);
			a = dns_query(t->d, name, DNS_T_A);
			t->wrong += a->status != DNS_NXDOMAIN;
			dns_answer_free(a);
			continue;
		}
		{
			const struct tcase *c = &tcases[(size_t)(i + t->id) % (sizeof(tcases) / sizeof(tcases[0]))];

			a = dns_query(t->d, c->name, c->qtype);
			got = fmt(a);
			t->wrong += strcmp(got, c->want) != 0;
			free(got);
			dns_answer_free(a);
		}
	}
	return NULL;
}

/* test_threads - 8 threads x 500 queries against the static backend + cache */
static void
test_threads(void)
{
	struct dns_options o = { .cache_entries = 64, .max_ttl = 3600, .max_neg_ttl = 3600 };
	struct dns *d = new_world(&o);
	pthread_t th[8];
	struct targ ta[8];
	struct dns_stats s;
	int i, wrong = 0;

	for (i = 0; i < 8; i++) {
		ta[i] = (struct targ){ d, i, 0 };
		pthread_create(&th[i], NULL, worker, &ta[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		wrong += ta[i].wrong;
	}
	dns_get_stats(d, &s);
	tap_is_int(wrong, 0, "8 threads x 500 concurrent queries: every answer right");
	tap_is_int(s.queries, 4000, "stats: 4000 queries counted under contention");
	tap_ok(s.cache_hits + s.upstream == 4000 && s.cache_hits > 0,
	    "stats: every query is a hit or went upstream (%lu hits, %lu upstream)", s.cache_hits, s.upstream);
	dns_free(d);
}

struct sfarg {
	struct dns		*d;
	pthread_barrier_t	*bar;
	enum dns_status		 st;
};

/* sf_worker - everyone asks the same slow name at once */
static void *
sf_worker(void *p)
{
	struct sfarg *a = p;
	struct dns_answer *ans;

	pthread_barrier_wait(a->bar);
	ans = dns_query(a->d, "slow.example.com", DNS_T_TXT);
	a->st = ans->status;
	dns_answer_free(ans);
	return NULL;
}

/* test_single_flight - concurrent identical queries share one upstream query */
static void
test_single_flight(void)
{
	struct dns_options o = { .cache_entries = 100, .max_ttl = 3600, .max_neg_ttl = 3600, .timeout = 1 };
	struct dns *d = dns_new_static(&o);
	pthread_barrier_t bar;
	pthread_t th[4];
	struct sfarg args[4];
	struct dns_stats s;
	int i, ok = 0;

	dns_static_set_timeout(d, "slow.example.com", 0);
	pthread_barrier_init(&bar, NULL, 4);
	for (i = 0; i < 4; i++) {
		args[i] = (struct sfarg){ d, &bar, DNS_OK };
		pthread_create(&th[i], NULL, sf_worker, &args[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += args[i].st == DNS_TEMPFAIL;
	}
	pthread_barrier_destroy(&bar);
	dns_get_stats(d, &s);
	tap_is_int(ok, 4, "simulated timeout gives TEMPFAIL to every waiter");
	tap_is_int(s.upstream, 1, "single-flight: 4 concurrent identical queries, 1 upstream query");
	tap_is_int(s.tempfail, 4, "stats: 4 TEMPFAIL answers");
	dns_free(d);
}

int
main(void)
{
	struct dns_options o = { .cache_entries = 0 };
	struct dns *d = new_world(&o);

	check_cases(d);
	test_names(d);
	dns_free(d);
	test_caps();
	test_cache();
	test_bound();
	test_wire();
	test_zone_errors();
	test_setup();
	test_threads();
	test_single_flight();
	test_expiry();
	return tap_done();
}
