/*
 * test_orgdomain.c - domain normalization, Organizational Domains from the
 * PSL, identifier alignment, and the PSL project's own conformance tests.
 *
 * The list is the Debian publicsuffix package's file, loaded explicitly:
 * the expectations below are those of that list (dated 2023-02-09).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orgdomain.h"
#include "tap.h"

#define TEST_PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * PSL conformance baseline: the number of cases in tests.txt plus
 * test_psl.txt that pass today.  The test fails if fewer pass (a
 * regression); raise it when a TODO below gets fixed.
 */
#define PSL_CONFORMANCE_BASELINE	156

/*
 * Conformance cases we knowingly fail, with the reason.  They still run and
 * are reported as TAP "not ok ... # TODO reason".  (Empty today: every case
 * passes with the 2023 Debian list once both sides are normalized.)
 */
static const struct {
	const char	*input;
	const char	*reason;
} psl_todo[] = {
	{ NULL, NULL }
};

static struct orgdomain *od;

/* ---------------------------------------------------------------- */
/* domain_normalize                                                  */

static const struct {
	const char	*in;
	const char	*want;		/* NULL = must be rejected */
	const char	*what;
} norm_cases[] = {
	{ "Example.COM.", "example.com", "RFC 4343 case folded, one trailing dot stripped" },
	{ "example.com", "example.com", "RFC 4343 canonical name unchanged" },
	{ "EXAMPLE.COM", "example.com", "RFC 4343 upper case folded" },
	{ "com", "com", "RFC 1035 §2.3.1 single label accepted" },
	{ "_dmarc.Example.com", "_dmarc.example.com", "RFC 7489 §6.1 underscore label accepted" },
	{ "ex_ample.com", "ex_ample.com", "RFC 2181 §11 underscore inside a label accepted" },
	{ "-ab.com", "-ab.com", "RFC 2181 §11 DNS allows a leading hyphen (not a hostname rule)" },
	{ "BÜCHER.example", "xn--bcher-kva.example", "RFC 5890 §2.3.2.1 upper-case U-label to A-label" },
	{ "bücher.example.", "xn--bcher-kva.example", "RFC 5890 §2.3.2.1 U-label with trailing dot" },
	{ "Bücher.Example", "xn--bcher-kva.example", "RFC 5890 §2.3.2.1 mixed U-label and ASCII case" },
	{ "XN--BCHER-KVA.example", "xn--bcher-kva.example", "RFC 5891 §5.1 upper-case A-label folded" },
	{ "xn--bcher-kva.EXAMPLE.", "xn--bcher-kva.example", "RFC 5891 §5.1 A-label kept, rest folded" },
	{ "食狮.公司.cn", "xn--85x722f.xn--55qx5d.cn", "RFC 5890 §2.3.2.1 CJK U-labels" },
	{ "faß.de", "xn--fa-hia.de", "RFC 5892 IDNA2008 non-transitional: sharp s kept" },
	{ "☃.com", "xn--n3h.com", "UTS #46 transitional fallback as in libpsl" },
	{ "xn--n3h.com", "xn--n3h.com", "UTS #46 A-label of the fallback accepted" },
	{ "１２３.com", "123.com", "UTS #46 §4 fullwidth digits mapped" },
	{ "ｅｘａｍｐｌｅ。ｃｏｍ", "example.com", "UTS #46 §4 ideographic full stop is a dot" },
	{ "xn--zz.com", NULL, "RFC 3492 invalid punycode rejected" },
	{ "xn--garbage-.com", NULL, "RFC 3492 invalid punycode (trailing delimiter) rejected" },
	{ "xn--a.com", NULL, "RFC 5891 §5.4 A-label decoding to a disallowed code point rejected" },
	{ "xn--.com", NULL, "RFC 3492 empty punycode rejected" },
	{ "", NULL, "RFC 1035 §2.3.1 empty name rejected" },
	{ ".", NULL, "RFC 1035 §2.3.1 root alone rejected" },
	{ ".example.com", NULL, "RFC 1035 §2.3.1 leading dot rejected" },
	{ "example..com", NULL, "RFC 1035 §2.3.1 empty label rejected" },
	{ "example.com..", NULL, "RFC 1035 §2.3.1 two trailing dots rejected" },
	{ "exa mple.com", NULL, "RFC 1035 §2.3.1 space rejected" },
	{ " example.com", NULL, "RFC 1035 §2.3.1 leading space rejected" },
	{ "example.com ", NULL, "RFC 1035 §2.3.1 trailing space rejected" },
	{ "ex\tample.com", NULL, "RFC 1035 §2.3.1 control character rejected" },
	{ "example.com\r\n", NULL, "RFC 1035 §2.3.1 CR LF rejected" },
	{ "ex\x7f" "ample.com", NULL, "RFC 1035 §2.3.1 DEL rejected" },
	{ "user@example.com", NULL, "RFC 1035 §2.3.1 address, not a domain, rejected" },
	{ "*.example.com", NULL, "RFC 1035 §2.3.1 wildcard rejected" },
	{ "[192.0.2.1]", NULL, "RFC 5321 §4.1.3 address literal rejected" },
	{ "exa%mple.com", NULL, "RFC 1035 §2.3.1 percent rejected" },
	{ "\xff.com", NULL, "RFC 3629 invalid UTF-8 rejected" },
	{ "caf\xc3.com", NULL, "RFC 3629 truncated UTF-8 rejected" },
	{ "bü cher.de", NULL, "RFC 5891 §5.4 space inside a U-label rejected" },
	{ "℀.com", NULL, "UTS #46 §4 mapping to a slash (STD3-disallowed) rejected" },
	{ "\xc2\xad.com", NULL, "UTS #46 §4 label of only a soft hyphen (ignored) rejected" },
	{ "a\xc2\xad" "b.com", "ab.com", "UTS #46 §4 soft hyphen inside a label ignored" },
};

/* check_normalize - the table above, plus length limits built at run time */
static void
check_normalize(void)
{
	char err[256], label63[64], name[600], *got;
	size_t i;

	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		err[0] = '\0';
		got = domain_normalize(norm_cases[i].in, err, sizeof(err));
		tap_is_str(got, norm_cases[i].want, "normalize: %s", norm_cases[i].what);
		if (got == NULL)
			tap_ok(err[0] != '\0', "normalize: rejection of case %zu says why (%s)", i, err);
		free(got);
	}

	err[0] = '\0';
	got = domain_normalize(NULL, err, sizeof(err));
	tap_ok(got == NULL && err[0] != '\0', "normalize: NULL input rejected with a reason");

	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(name, sizeof(name), "%s.com", label63);
	got = domain_normalize(name, err, sizeof(err));
	tap_is_str(got, name, "normalize: RFC 1035 §2.3.4 63-octet label accepted");
	free(got);
	snprintf(name, sizeof(name), "%sA.com", label63);
	got = domain_normalize(name, err, sizeof(err));
	tap_ok(got == NULL, "normalize: RFC 1035 §2.3.4 64-octet label rejected");
	free(got);

	/* 63+1+63+1+63+1+61 = 253 octets */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	got = domain_normalize(name, err, sizeof(err));
	tap_ok(got != NULL && strlen(got) == 253, "normalize: RFC 1035 §2.3.4 253-octet name accepted");
	free(got);
	strcat(name, ".");
	got = domain_normalize(name, err, sizeof(err));
	tap_ok(got != NULL && strlen(got) == 253, "normalize: RFC 1035 §2.3.4 253 octets plus root dot accepted");
	free(got);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63);
	got = domain_normalize(name, err, sizeof(err));
	tap_ok(got == NULL, "normalize: RFC 1035 §2.3.4 254-octet name rejected (%s)", err);
	free(got);

	/* a U-label whose A-label exceeds 63 octets */
	snprintf(name, sizeof(name), "ü%.60s.de", label63);
	got = domain_normalize(name, err, sizeof(err));
	tap_ok(got == NULL, "normalize: RFC 5890 §2.3.2.1 U-label with an over-long A-label rejected (%s)", err);
	free(got);

	/* input beyond the raw cap */
	{
		char *big = malloc(DOMAIN_MAX_INPUT + 10);

		memset(big, 'a', DOMAIN_MAX_INPUT + 9);
		big[DOMAIN_MAX_INPUT + 9] = '\0';
		got = domain_normalize(big, err, sizeof(err));
		tap_ok(got == NULL, "normalize: RFC 1035 §2.3.4 input over %d bytes rejected", DOMAIN_MAX_INPUT);
		free(got);
		free(big);
	}

	/* idempotence: normalizing a normalized name changes nothing */
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		char *again;

		if (norm_cases[i].want == NULL)
			continue;
		again = domain_normalize(norm_cases[i].want, err, sizeof(err));
		if (again == NULL || strcmp(again, norm_cases[i].want) != 0 ||
		    !domain_is_normalized(again)) {
			tap_ok(0, "normalize: idempotent on \"%s\"", norm_cases[i].want);
			free(again);
			return;
		}
		free(again);
	}
	tap_ok(1, "normalize: idempotent on every accepted output");
	tap_ok(!domain_is_normalized("Example.com") && !domain_is_normalized("example.com.") &&
	    !domain_is_normalized("") && !domain_is_normalized(NULL),
	    "normalize: domain_is_normalized refuses upper case, trailing dot, empty, NULL");
}

/* ---------------------------------------------------------------- */
/* orgdomain_psl                                                     */

static const struct {
	const char	*in;		/* normalized */
	const char	*want;		/* NULL: a public suffix */
	const char	*what;
} psl_cases[] = {
	{ "a.b.ck", "a.b.ck", "RFC 7489 §3.2 wildcard *.ck: b.ck is a suffix" },
	{ "b.ck", NULL, "RFC 7489 §3.2 wildcard *.ck: b.ck itself is public" },
	{ "x.a.b.ck", "a.b.ck", "RFC 7489 §3.2 wildcard *.ck: deeper name" },
	{ "www.ck", "www.ck", "RFC 7489 §3.2 exception !www.ck is registrable" },
	{ "foo.www.ck", "www.ck", "RFC 7489 §3.2 exception !www.ck under its own name" },
	{ "foo.bar.kawasaki.jp", "foo.bar.kawasaki.jp", "RFC 7489 §3.2 wildcard *.kawasaki.jp" },
	{ "bar.kawasaki.jp", NULL, "RFC 7489 §3.2 wildcard *.kawasaki.jp itself public" },
	{ "city.kawasaki.jp", "city.kawasaki.jp", "RFC 7489 §3.2 exception !city.kawasaki.jp" },
	{ "a.city.kawasaki.jp", "city.kawasaki.jp", "RFC 7489 §3.2 exception, subdomain" },
	{ "foo.github.io", "foo.github.io", "RFC 7489 §3.2 private section counts" },
	{ "a.foo.github.io", "foo.github.io", "RFC 7489 §3.2 private section, subdomain" },
	{ "github.io", NULL, "RFC 7489 §3.2 private-section suffix is public" },
	{ "foo.blogspot.com", "foo.blogspot.com", "RFC 7489 §3.2 private suffix under com" },
	{ "x.com", "x.com", "RFC 7489 §3.2 one-letter label kept (OpenDMARC D1)" },
	{ "a.x.com", "x.com", "RFC 7489 §3.2 one-letter org domain of a subdomain" },
	{ "q.co", "q.co", "RFC 7489 §3.2 one-letter label under co" },
	{ "xa.b.bg", "xa.b.bg", "RFC 7489 §3.2 rule with a one-letter label (b.bg)" },
	{ "b.bg", NULL, "RFC 7489 §3.2 one-letter rule b.bg is public" },
	{ "example.nosuchtld", "example.nosuchtld", "RFC 7489 §3.2 unlisted TLD: default * rule" },
	{ "a.example.nosuchtld", "example.nosuchtld", "RFC 7489 §3.2 unlisted TLD, subdomain" },
	{ "nosuchtld", NULL, "RFC 7489 §3.2 unlisted TLD itself public" },
	{ "com", NULL, "RFC 7489 §3.2 TLD is public" },
	{ "co.uk", NULL, "RFC 7489 §3.2 second-level suffix is public" },
	{ "mail.example.co.uk", "example.co.uk", "RFC 7489 §3.2 two-label suffix" },
	{ "example.com", "example.com", "RFC 7489 §3.2 org domain is itself" },
	{ "a.b.c.d.e.f.g.h.i.example.com", "example.com", "RFC 7489 §3.2 eleven labels" },
	{ "_dmarc.example.com", "example.com", "RFC 7489 §3.2 underscore label" },
	{ "mail.xn--bcher-kva.de", "xn--bcher-kva.de", "RFC 7489 §3.2 A-label org domain" },
	{ "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn", "RFC 7489 §3.2 IDN suffix as A-labels" },
	{ "xn--55qx5d.cn", NULL, "RFC 7489 §3.2 IDN suffix itself public" },
	{ "", NULL, "RFC 7489 §3.2 empty name has none" },
	{ "Example.COM", NULL, "fails closed: not normalized (upper case)" },
	{ "example.com.", NULL, "fails closed: not normalized (trailing dot)" },
};

/* check_psl - the table, and is_public_suffix agreeing with it */
static void
check_psl(void)
{
	size_t i;
	char *got;

	for (i = 0; i < sizeof(psl_cases) / sizeof(psl_cases[0]); i++) {
		got = orgdomain_psl(od, psl_cases[i].in);
		tap_is_str(got, psl_cases[i].want, "psl: %s: %s", psl_cases[i].in, psl_cases[i].what);
		tap_ok(orgdomain_is_public_suffix(od, psl_cases[i].in) == (got == NULL),
		    "psl: is_public_suffix(\"%s\") agrees with orgdomain_psl", psl_cases[i].in);
		free(got);
	}
	tap_ok(orgdomain_psl(od, NULL) == NULL && orgdomain_psl(NULL, "example.com") == NULL,
	    "psl: NULL arguments give NULL");
}

/* ---------------------------------------------------------------- */
/* alignment                                                         */

#define R DMARC_ALIGN_RELAXED
#define S DMARC_ALIGN_STRICT

static const struct {
	enum dmarc_align mode;
	const char	*from;		/* raw, normalized by the test */
	const char	*id;
	bool		 want;
	const char	*what;
} align_cases[] = {
	/* OpenDMARC regressions */
	{ R, "x.com", "evil.com", false, "RFC 7489 §3.1.1 D1: one-letter From does not align with another org" },
	{ R, "q.co", "evil.co", false, "RFC 7489 §3.1.1 D1: one-letter From under co" },
	{ R, "x.com", "x.com", true, "RFC 7489 §3.1.1 D1: one-letter From aligns with itself" },
	{ R, "a.x.com", "x.com", true, "RFC 7489 §3.1.1 D1: one-letter org, child From" },
	{ R, "x.com", "mail.x.com", true, "RFC 7489 §3.1.2 D1: one-letter org, child MAIL FROM" },
	{ R, "xa.b.bg", "xb.b.bg", false, "RFC 7489 §3.1.1 D1: siblings under one-letter rule b.bg" },
	{ R, "a.b.ck", "c.b.ck", false, "RFC 7489 §3.1.1 D2: siblings under wildcard *.ck" },
	{ R, "foo.bar.kawasaki.jp", "baz.bar.kawasaki.jp", false, "RFC 7489 §3.1.1 D2: wildcard *.kawasaki.jp" },
	{ R, "mail.a.b.ck", "a.b.ck", true, "RFC 7489 §3.1.1 D2: same org under a wildcard" },
	{ R, "www.ck", "foo.www.ck", true, "RFC 7489 §3.1.1 exception rule org domain" },
	{ R, "city.kawasaki.jp", "mail.city.kawasaki.jp", true, "RFC 7489 §3.1.1 exception !city.kawasaki.jp" },
	{ R, "foo.github.io", "github.io", false, "RFC 7489 §3.1.1 D3: child of a private suffix vs the suffix" },
	{ R, "github.io", "foo.github.io", false, "RFC 7489 §3.1.1 D3: suffix From vs child d=" },
	{ R, "foo.github.io", "bar.github.io", false, "RFC 7489 §3.1.1 D3: siblings under a private suffix" },
	{ R, "a.foo.github.io", "foo.github.io", true, "RFC 7489 §3.1.1 same org under a private suffix" },
	{ R, "co.uk", "example.co.uk", false, "RFC 7489 §3.1.1 D3: ICANN suffix vs child" },
	{ R, "example.co.uk", "co.uk", false, "RFC 7489 §3.1.1 D3: child vs ICANN suffix" },
	{ R, "com", "example.com", false, "RFC 7489 §3.1.1 D3: TLD vs child" },
	{ S, "a.example.com", "b.example.com", false, "RFC 7489 §3.1.1 D4: strict siblings" },
	{ S, "example.com", "mail.example.com", false, "RFC 7489 §3.1.1 D4: strict parent From, child d=" },
	{ S, "mail.example.com", "example.com", false, "RFC 7489 §3.1.2 D4: strict child From, parent MAIL FROM" },
	{ S, "example.com", "example.com", true, "RFC 7489 §3.1.1 strict identical" },
	{ S, "Example.COM", "example.com", true, "RFC 4343 D5: strict, case differs" },
	{ R, "SUB.EXAMPLE.COM", "example.com", true, "RFC 4343 D5: relaxed, upper-case From" },
	{ R, "sub.example.com", "MAIL.Example.Com", true, "RFC 4343 D5: relaxed, upper-case d=" },
	{ S, "example.com.", "example.com", true, "RFC 1034 §3.1 strict, absolute From" },
	/* the ordinary cases */
	{ R, "mail.example.com", "example.com", true, "RFC 7489 §3.1.1 relaxed child From, parent d=" },
	{ R, "example.com", "mail.example.com", true, "RFC 7489 §3.1.2 relaxed parent From, child MAIL FROM" },
	{ R, "a.example.com", "b.example.com", true, "RFC 7489 §3.1.1 relaxed siblings" },
	{ R, "news.example.com", "foo.example.com", true, "RFC 9989 alignment example: same org domain" },
	{ S, "news.example.com", "news.example.com", true, "RFC 9989 alignment example: identical" },
	{ R, "news.example.com", "foo.example.net", false, "RFC 9989 alignment example: different org" },
	{ R, "example.com", "example.net", false, "RFC 7489 §3.1.1 different TLD" },
	{ R, "example.co.uk", "other.co.uk", false, "RFC 7489 §3.1.1 different org under co.uk" },
	{ R, "mail.example.co.uk", "bounce.example.co.uk", true, "RFC 7489 §3.1.2 same org under co.uk" },
	{ R, "co.uk", "co.uk", true, "RFC 7489 §3.1.1 identical public suffix aligns (relaxed)" },
	{ S, "co.uk", "co.uk", true, "RFC 7489 §3.1.1 identical public suffix aligns (strict)" },
	{ R, "example.com", "notexample.com", false, "RFC 7489 §3.1.1 no substring match" },
	{ R, "example.com", "example.com.evil.com", false, "RFC 7489 §3.1.1 no prefix match" },
	{ S, "example.com", "example.com.evil.com", false, "RFC 7489 §3.1.1 strict, no prefix match" },
	{ R, "example.nosuchtld", "mail.example.nosuchtld", true, "RFC 7489 §3.2 unlisted TLD, same org" },
	{ R, "example.nosuchtld", "other.nosuchtld", false, "RFC 7489 §3.2 unlisted TLD, different org" },
	/* IDN */
	{ S, "bücher.de", "xn--bcher-kva.de", true, "RFC 5890 §2.3.2.1 strict U-label From, A-label d=" },
	{ R, "mail.BÜCHER.de", "xn--bcher-kva.de", true, "RFC 5890 §2.3.2.1 relaxed upper-case U-label From" },
	{ R, "bücher.de", "xn--bcher-kvb.de", false, "RFC 5890 §2.3.2.1 different A-label" },
	{ R, "www.食狮.公司.cn", "xn--85x722f.xn--55qx5d.cn", true, "RFC 5890 §2.3.2.1 IDN suffix, same org" },
	{ R, "食狮.公司.cn", "shishi.xn--55qx5d.cn", false, "RFC 5890 §2.3.2.1 IDN suffix, different org" },
	/* unusable names */
	{ R, "example..com", "example.com", false, "RFC 1035 §2.3.1 malformed From never aligns" },
	{ R, "example.com", "xn--zz.example.com", false, "RFC 3492 bad punycode identifier never aligns" },
	{ S, "", "", false, "RFC 7489 §3.1 empty names never align" },
};

/* check_align - the table, via orgdomain_aligned_psl on normalized names */
static void
check_align(void)
{
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(align_cases) / sizeof(align_cases[0]); i++) {
		char *f = domain_normalize(align_cases[i].from, err, sizeof(err));
		char *d = domain_normalize(align_cases[i].id, err, sizeof(err));
		bool got = f != NULL && d != NULL &&
		    orgdomain_aligned_psl(od, align_cases[i].mode, f, d);

		tap_ok(got == align_cases[i].want, "align %s: %s vs %s: %s",
		    align_cases[i].mode == S ? "strict" : "relaxed",
		    align_cases[i].from, align_cases[i].id, align_cases[i].what);
		free(f);
		free(d);
	}

	/* un-normalized input fails closed rather than guessing */
	tap_ok(!orgdomain_aligned_psl(od, S, "Example.COM", "example.com"),
	    "align: RFC 4343 un-normalized From fails closed (strict)");
	tap_ok(!orgdomain_aligned_psl(od, R, "sub.example.com", "EXAMPLE.COM"),
	    "align: RFC 4343 un-normalized d= fails closed (relaxed)");
	tap_ok(!orgdomain_aligned_psl(od, R, NULL, "example.com") &&
	    !orgdomain_aligned_psl(od, R, "example.com", NULL),
	    "align: RFC 7489 §3.1 NULL names never align");
}

/* org domains computed elsewhere, as the RFC 9989 tree walk will */
static const struct {
	enum dmarc_align mode;
	const char	*from, *from_org, *id, *id_org;
	bool		 want;
	const char	*what;
} with_cases[] = {
	{ R, "mail.example.com", "example.com", "example.com", "example.com", true, "RFC 9989 relaxed, same org domain" },
	{ R, "mail.example.com", "mail.example.com", "example.com", "example.com", false, "RFC 9989 relaxed, tree walk gave different orgs" },
	{ R, "foo.github.io", "foo.github.io", "github.io", "github.io", false, "RFC 9989 psd=y: PSD is its own org, child differs" },
	{ R, "github.io", "github.io", "github.io", "github.io", true, "RFC 9989 identical PSD aligns" },
	{ R, "a.example.com", NULL, "b.example.com", NULL, false, "RFC 7489 §3.1.1 no org domains, different names" },
	{ R, "example.com", NULL, "example.com", NULL, true, "RFC 7489 §3.1.1 no org domains, identical names" },
	{ R, "a.example.com", "", "b.example.com", "", false, "RFC 7489 §3.1.1 empty org domains never match" },
	{ S, "a.example.com", "example.com", "b.example.com", "example.com", false, "RFC 7489 §3.1.1 strict ignores org domains" },
	{ S, "example.com", "example.com", "example.com", "example.com", true, "RFC 7489 §3.1.1 strict identical" },
	{ R, "A.example.com", "example.com", "b.example.com", "example.com", false, "RFC 4343 un-normalized name fails closed" },
};

/* check_with - orgdomain_aligned_with on its own */
static void
check_with(void)
{
	size_t i;

	for (i = 0; i < sizeof(with_cases) / sizeof(with_cases[0]); i++)
		tap_ok(orgdomain_aligned_with(with_cases[i].mode, with_cases[i].from,
		    with_cases[i].from_org, with_cases[i].id, with_cases[i].id_org) == with_cases[i].want,
		    "align_with %s: %s(%s) vs %s(%s): %s",
		    with_cases[i].mode == S ? "strict" : "relaxed",
		    with_cases[i].from, with_cases[i].from_org ? with_cases[i].from_org : "-",
		    with_cases[i].id, with_cases[i].id_org ? with_cases[i].id_org : "-",
		    with_cases[i].what);
}

/* ---------------------------------------------------------------- */
/* the PSL project's tests                                           */

/* psl_todo_reason - why a conformance case is a known failure, or NULL */
static const char *
psl_todo_reason(const char *input)
{
	size_t i;

	for (i = 0; psl_todo[i].input != NULL; i++)
		if (input != NULL && strcmp(psl_todo[i].input, input) == 0)
			return psl_todo[i].reason;
	return NULL;
}

/*
 * parse_arg - one argument of checkPublicSuffix(...): 'quoted' or null.
 * Returns the position after it, or NULL on a syntax error.
 */
static char *
parse_arg(char *p, char **val)
{
	char *e;

	while (*p == ' ')
		p++;
	if (*p == '\'') {
		if ((e = strchr(p + 1, '\'')) == NULL)
			return NULL;
		*e = '\0';
		*val = p + 1;
		return e + 1;
	}
	if (strncmp(p, "null", 4) == 0) {
		*val = NULL;
		return p + 4;
	}
	return NULL;
}

/*
 * run_psl_file - run one conformance file.  Both sides are normalized: the
 * input as the milter would before a lookup, the expectation so that a
 * U-label answer ("食狮.com.cn") compares with our A-label one.  An input
 * that does not normalize (leading dot, "null") has no org domain.
 */
static void
run_psl_file(const char *path, bool js, int *pass, int *total)
{
	char *line = NULL, *p, *in, *want, err[256];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;
	FILE *fp;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if ((fp = fopen(path, "r")) == NULL) {
		tap_ok(0, "PSL conformance: open %s", path);
		return;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		char *got = NULL, *norm_in, *norm_want = NULL;
		const char *todo;
		bool ok;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (line[0] == '\0' || strncmp(line, "//", 2) == 0)
			continue;
		if (js) {
			if ((p = strstr(line, "checkPublicSuffix(")) == NULL ||
			    (p = parse_arg(p + strlen("checkPublicSuffix("), &in)) == NULL ||
			    *p++ != ',' || parse_arg(p, &want) == NULL) {
				tap_ok(0, "PSL conformance: %s:%d parses", base, lineno);
				continue;
			}
		} else {
			in = line;
			if ((p = strchr(line, ' ')) == NULL) {
				tap_ok(0, "PSL conformance: %s:%d parses", base, lineno);
				continue;
			}
			*p++ = '\0';
			want = p;
			if (strcmp(in, "null") == 0)
				in = NULL;
			if (strcmp(want, "null") == 0)
				want = NULL;
		}

		norm_in = in != NULL ? domain_normalize(in, err, sizeof(err)) : NULL;
		if (norm_in != NULL)
			got = orgdomain_psl(od, norm_in);
		if (want != NULL)
			norm_want = domain_normalize(want, err, sizeof(err));
		ok = (want == NULL && got == NULL) ||
		    (got != NULL && norm_want != NULL && strcmp(got, norm_want) == 0);
		(*total)++;
		if (ok)
			(*pass)++;
		if ((todo = psl_todo_reason(in)) != NULL) {
			/* TAP TODO: reported, counted, not a failure */
			printf("%sok %d - PSL conformance %s:%d %s -> %s (RFC 7489 §3.2) # TODO %s\n",
			    ok ? "" : "not ", ++tap_n, base, lineno, in ? in : "null",
			    want ? want : "null", todo);
			if (!ok)
				tap_diag("  got %s", got ? got : "null");
		} else {
			tap_ok(ok, "PSL conformance %s:%d %s -> %s (RFC 7489 §3.2)", base, lineno,
			    in ? in : "null", want ? want : "null");
			if (!ok)
				tap_diag("  got %s", got ? got : "null");
		}
		free(got);
		free(norm_in);
		free(norm_want);
	}
	free(line);
	fclose(fp);
}

/* check_conformance - both files, then the baseline */
static void
check_conformance(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	int pass = 0, total = 0;

	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(path, sizeof(path), "%s/t/data/psl/tests.txt", top);
	run_psl_file(path, false, &pass, &total);
	snprintf(path, sizeof(path), "%s/t/data/psl/test_psl.txt", top);
	run_psl_file(path, true, &pass, &total);
	tap_diag("PSL conformance: %d of %d pass", pass, total);
	tap_ok(pass >= PSL_CONFORMANCE_BASELINE,
	    "PSL conformance: at least %d cases pass (baseline), %d do", PSL_CONFORMANCE_BASELINE, pass);
}

/* ---------------------------------------------------------------- */

/* check_load - loading, errors, and the system default */
static void
check_load(void)
{
	struct orgdomain *d;
	char err[256];
	FILE *fp;
	char tmp[] = "/tmp/test_orgdomain.XXXXXX";
	int fd;

	err[0] = '\0';
	d = orgdomain_load("/nonexistent/psl.dat", err, sizeof(err));
	tap_ok(d == NULL && strstr(err, "/nonexistent/psl.dat") != NULL,
	    "load: a missing file is an error naming it (%s)", err);

	err[0] = '\0';
	d = orgdomain_load("", err, sizeof(err));
	tap_ok(d == NULL && err[0] != '\0', "load: an empty file name is an error");

	/* a file without rules would make every name its own org domain */
	if ((fd = mkstemp(tmp)) >= 0 && (fp = fdopen(fd, "w")) != NULL) {
		fputs("// only a comment\n", fp);
		fclose(fp);
		err[0] = '\0';
		d = orgdomain_load(tmp, err, sizeof(err));
		tap_ok(d == NULL && err[0] != '\0', "load: a list without rules is refused (%s)", err);
		orgdomain_free(d);
		unlink(tmp);
	} else
		tap_ok(0, "load: create a temporary file");

	/* a tiny private list: its own rules apply, nothing else */
	strcpy(tmp, "/tmp/test_orgdomain.XXXXXX");
	if ((fd = mkstemp(tmp)) >= 0 && (fp = fdopen(fd, "w")) != NULL) {
		char *o;

		fputs("com\nco.uk\n*.ck\n!www.ck\n", fp);
		fclose(fp);
		d = orgdomain_load(tmp, err, sizeof(err));
		tap_ok(d != NULL && strcmp(orgdomain_source(d), tmp) == 0 && orgdomain_rules(d) > 0,
		    "load: a private list loads, source is its name, it has rules");
		o = orgdomain_psl(d, "a.b.example.co.uk");
		tap_is_str(o, "example.co.uk", "load: private list applies its rules (RFC 7489 §3.2)");
		free(o);
		o = orgdomain_psl(d, "foo.github.io");
		tap_is_str(o, "github.io", "load: private list lacks github.io, so the default rule applies");
		free(o);
		orgdomain_free(d);
		unlink(tmp);
	} else
		tap_ok(0, "load: create a temporary file");

	d = orgdomain_load(NULL, err, sizeof(err));
	tap_ok(d != NULL, "load: system default list loads (%s)", d ? "" : err);
	if (d != NULL) {
		char *o = orgdomain_psl(d, "mail.example.co.uk");

		tap_ok(orgdomain_source(d)[0] != '\0', "load: system default names its source");
		tap_diag("system default list: %s, dated %lld, %d rules", orgdomain_source(d),
		    (long long)orgdomain_date(d), orgdomain_rules(d));
		tap_is_str(o, "example.co.uk", "load: system default list works (RFC 7489 §3.2)");
		free(o);
		orgdomain_free(d);
	}
	orgdomain_free(NULL);
	tap_ok(1, "load: orgdomain_free(NULL) is harmless");
}

int
main(void)
{
	char err[256];

	od = orgdomain_load(TEST_PSL_FILE, err, sizeof(err));
	if (!tap_ok(od != NULL, "load %s", TEST_PSL_FILE)) {
		tap_diag("%s", err);
		return tap_done();
	}
	tap_is_str(orgdomain_source(od), TEST_PSL_FILE, "source names the file");
	tap_ok(orgdomain_rules(od) > 5000, "the Debian list has thousands of rules (%d)", orgdomain_rules(od));
	tap_ok(orgdomain_date(od) > 0, "the list has a date");

	check_normalize();
	check_psl();
	check_align();
	check_with();
	check_conformance();
	check_load();

	orgdomain_free(od);
	return tap_done();
}
