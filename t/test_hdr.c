/*
 * test_hdr.c - From parsing, Authentication-Results parsing and the
 * DKIM header rebuild (milter/hdr.c).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hdr.h"
#include "tap.h"

/* ---------------------------------------------------------------- From */

/* want: domains joined by "|", or NULL for an expected error; errsub: a
 * substring the error message must contain (NULL: any). */
struct from_case {
	const char	*desc;
	const char	*in;
	const char	*want;
	const char	*errsub;
};

static const struct from_case from_cases[] = {
	/* plain forms */
	{ "§3.4.1 addr-spec", "user@example.com", "example.com", NULL },
	{ "§3.4.1 leading space (HDR_LEADSPC)", " user@example.com", "example.com", NULL },
	{ "§3.4 name-addr", "John Doe <john@example.com>", "example.com", NULL },
	{ "§3.4 angle-addr without display name", "<john@example.com>", "example.com", NULL },
	{ "§3.4 domain returned as written, not lowercased", "A <a@Example.COM>", "Example.COM", NULL },
	{ "§3.2.4 quoted display name with comma", "\"Doe, John\" <john@example.com>", "example.com", NULL },
	{ "§3.2.4 quoted display name with '@'", "\"evil@evil.example\" <a@good.example>", "good.example", NULL },
	{ "§3.2.4 quoted display name with fake angle-addr", "\"x <evil@evil.example>\" <a@good.example>", "good.example", NULL },
	{ "§3.2.4 quoted-pair in display name", "\"a \\\" <evil@evil.example> \\\"\" <a@good.example>", "good.example", NULL },
	{ "§3.2.5 several words as display name", "\"a\" \"b\" c <x@example.com>", "example.com", NULL },
	{ "§4.1 obs-phrase with '.'", "J. Random Hacker <a@example.com>", "example.com", NULL },
	/* RFC 2047 encoded words */
	{ "RFC 2047 encoded-word with angle-addr inside", "=?utf-8?q?<evil@evil.example>?= <a@good.example>", "good.example", NULL },
	{ "RFC 2047 encoded-word with '@' inside", "=?utf-8?q?evil@evil.example?= <a@good.example>", "good.example", NULL },
	{ "RFC 2047 encoded-word with ')' and ',' inside", "=?utf-8?q?a),b?= <a@good.example>", "good.example", NULL },
	{ "RFC 2047 base64 encoded-word", "=?utf-8?b?PGV2aWxAZXZpbC5leGFtcGxlPg==?= <a@good.example>", "good.example", NULL },
	{ "RFC 2047 typical Q encoding", "=?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?= <jose@example.com>", "example.com", NULL },
	{ "RFC 2047 encoded-word cannot be a local-part", "=?utf-8?q?a<b?=@evil.example", NULL, "encoded-word" },
	{ "RFC 2047 encoded-word without address", "=?utf-8?q?<evil@evil.example>?=", NULL, "without an address" },
	/* comments */
	{ "§3.2.2 comment with address before the real one", "(a@evil.example) a@good.example", "good.example", NULL },
	{ "§3.2.2 comment before angle-addr", "(a@evil.example) <a@good.example>", "good.example", NULL },
	{ "§3.2.2 comment after addr-spec", "a@good.example (evil@evil.example)", "good.example", NULL },
	{ "§3.2.2 comment in display name", "Name (x <e@evil.example>) <a@good.example>", "good.example", NULL },
	{ "§3.2.2 nested comments", "(outer (inner a@evil.example) more) a@good.example", "good.example", NULL },
	{ "§3.2.1 quoted-pair parens in comment", "(a \\) b@evil.example \\( c) a@good.example", "good.example", NULL },
	{ "§4.4 CFWS around '@' and '.'", "a(c1)@(c2)good(c3).(c4)example(c5)", "good.example", NULL },
	{ "§4.4 spaces around '@' and '.'", "a @ good . example", "good.example", NULL },
	{ "§3.2.2 unterminated comment", "(unbalanced a@b.example", NULL, "unterminated comment" },
	{ "§3.2.2 stray ')'", "a@b.example)", NULL, "')'" },
	/* groups */
	{ "RFC 6854 group", "Group: a@one.example, b@two.example;", "one.example|two.example", NULL },
	{ "RFC 6854 empty group: no address", "undisclosed-recipients:;", NULL, "no address" },
	{ "RFC 6854 empty group plus mailbox", "a@b.example, undisclosed:;", "b.example", NULL },
	{ "RFC 6854 two groups", "G1: a@b.example;, G2: c@d.example;", "b.example|d.example", NULL },
	{ "§3.4 group not terminated", "G: a@b.example, c@d.example", NULL, "';'" },
	{ "§3.4 nested group", "G: H: a@b.example;;", NULL, "group inside a group" },
	{ "§3.4 stray ';'", "a@b.example;", NULL, "';'" },
	/* lists */
	{ "§3.4 two mailboxes", "Name <a@one.example>, Other <c@two.example>", "one.example|two.example", NULL },
	{ "§3.4 same domain twice collapses", "a@one.example, b@ONE.example", "one.example", NULL },
	{ "§4.4 obs-mbox-list empty elements", ", a@b.example,, c@d.example,", "b.example|d.example", NULL },
	/* obsolete syntax */
	{ "§4.4 obs-route", "<@route1.example,@route2.example:user@good.example>", "good.example", NULL },
	{ "§4.4 obs-route with display name", "Name <@route.example:user@good.example>", "good.example", NULL },
	{ "§4.4 malformed obs-route", "<@route.example user@good.example>", NULL, "route" },
	{ "§4.4 obs-local-part with CFWS", "john (x) . doe @ example.com", "example.com", NULL },
	{ "§3.4.1 quoted local-part with '@'", "\"a@b\"@example.com", "example.com", NULL },
	{ "§3.4.1 quoted local-part with quoted-pair", "\"a\\\"b@evil.example\"@example.com", "example.com", NULL },
	{ "§3.4.1 unquoted space in local-part", "John Doe@example.com", NULL, "local-part" },
	/* folding */
	{ "§3.2.2 folded with CRLF", "Name\r\n <user@example.com>", "example.com", NULL },
	{ "§3.2.2 folded with bare LF (Postfix)", "Name\n\t<user@example.com>", "example.com", NULL },
	{ "§3.2.2 fold inside quoted-string", "\"Doe,\r\n John\" <user@example.com>", "example.com", NULL },
	{ "§2.2.3 line break without WSP", "Name\r\n<user@example.com>", NULL, "line break" },
	{ "§2.2.3 trailing line break tolerated", "user@example.com\r\n", "example.com", NULL },
	/* errors */
	{ "§3.4 trailing garbage", "user@example.com garbage", NULL, "after an address" },
	{ "§3.4 trailing garbage after angle-addr", "Name <a@b.example> x", NULL, "after an address" },
	{ "§3.4 addr-spec followed by angle-addr", "a@b.example <c@d.example>", NULL, NULL },
	{ "§3.2.4 unterminated quoted-string", "\"unbalanced <a@b.example>", NULL, "quoted-string" },
	{ "§3.4 unterminated '<'", "Name <a@b.example", NULL, "'<'" },
	{ "§3.4 stray '>'", "Name a@b.example>", NULL, NULL },
	{ "§3.4 nested '<'", "Name <<a@b.example>>", NULL, NULL },
	{ "§3.4 empty '<>'", "<>", NULL, "<>" },
	{ "§3.4.1 no domain: bare local-part", "user", NULL, "without a domain" },
	{ "§3.4.1 no domain: '@' at the end", "user@", NULL, "missing domain" },
	{ "§3.4.1 no domain in angle-addr", "Name <user>", NULL, "without a domain" },
	{ "§3.4.1 missing local-part", "@example.com", NULL, "local-part" },
	{ "§3.4 display name only", "John Doe", NULL, "without an address" },
	{ "§3.6.2 empty value", "", NULL, "no address" },
	{ "§3.6.2 only white space", "   ", NULL, "no address" },
	{ "§3.6.2 only a comment", "(only a comment)", NULL, "no address" },
	{ "§3.4.1 domain literal has no DMARC domain", "user@[192.0.2.1]", NULL, "domain literal" },
	{ "§3.4.1 domain literal in angle-addr", "N <user@[IPv6:2001:db8::1]>", NULL, "domain literal" },
	{ "§3.4.1 trailing dot in domain", "a@example.com.", NULL, "empty label" },
	{ "§3.4.1 leading dot in domain", "a@.example.com", NULL, NULL },
	{ "§3.4.1 empty label in domain", "a@example..com", NULL, "empty label" },
	{ "§3.4.1 space inside a domain", "user@exa mple.com", NULL, NULL },
	{ "§3.2.3 control character", "a\001b@example.com", NULL, "invalid character" },
	{ "§3.2.3 backslash outside quotes", "a\\b@example.com", NULL, "invalid character" },
	/* UTF-8 (RFC 6532) */
	{ "RFC 6532 §3.2 IDN domain returned as UTF-8", "Jos\xc3\xa9 <jose@ex\xc3\xa4mple.com>", "ex\xc3\xa4mple.com", NULL },
	{ "RFC 6532 §3.2 UTF-8 local-part and domain", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", NULL },
	{ "RFC 6532 §3.1 invalid UTF-8 in domain", "a@b\xff.example", NULL, "UTF-8" },
	{ "RFC 6532 §3.1 overlong UTF-8 in domain", "a@b\xc0\xae.example", NULL, "UTF-8" },
	{ "RFC 6532 8-bit display name tolerated", "\xc4rger <a@b.example>", "b.example", NULL },
};

/* join - domains joined with '|' into b */
static void
join(struct buf *b, char **d, size_t n)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, '|');
		buf_puts(b, d[i]);
	}
}

/* run_from - run one From case */
static void
run_from(const struct from_case *fc)
{
	char **d = NULL, err[256];
	size_t n = 99;
	struct buf b = BUF_INIT;
	int rc;

	rc = hdr_from_domains(fc->in, &d, &n, err, sizeof(err));
	if (fc->want != NULL) {
		join(&b, d, n);
		if (!tap_ok(rc == 0 && strcmp(buf_str(&b), fc->want) == 0,
		    "From: %s", fc->desc))
			tap_diag("  rc %d, got \"%s\", want \"%s\", err \"%s\"",
			    rc, buf_str(&b), fc->want, rc ? err : "");
	} else {
		bool ok = rc == -1 && d == NULL && n == 0 && err[0] != '\0' &&
		    (fc->errsub == NULL || strstr(err, fc->errsub) != NULL);

		if (!tap_ok(ok, "From: %s (error)", fc->desc))
			tap_diag("  rc %d, n %zu, err \"%s\", want error with "
			    "\"%s\"", rc, n, rc ? err : "",
			    fc->errsub ? fc->errsub : "");
	}
	hdr_domains_free(d, n);
	buf_free(&b);
}

/* elapsed - seconds since *t0 */
static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* test_from_limits - caps: addresses, nesting, length, speed */
static void
test_from_limits(void)
{
	struct buf b = BUF_INIT;
	struct timespec t0;
	char **d, err[256];
	size_t n, i;
	int rc;

	/* 100 addresses are fine, 101 are not */
	for (i = 0; i < 100; i++)
		buf_printf(&b, "%su%zu@d%zu.example", i ? ", " : "", i, i % 7);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 7, "From: §3.4 100 addresses accepted, 7 distinct domains");
	hdr_domains_free(d, n);
	buf_puts(&b, ", last@x.example");
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "more than 100") != NULL, "From: 101 addresses refused");

	/* comment nesting: 64 levels are fine, 65 are not */
	buf_reset(&b);
	for (i = 0; i < 64; i++)
		buf_putc(&b, '(');
	for (i = 0; i < 64; i++)
		buf_putc(&b, ')');
	buf_puts(&b, " a@nested.example");
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && strcmp(d[0], "nested.example") == 0,
	    "From: §3.2.2 comments nested 64 deep accepted");
	hdr_domains_free(d, n);
	buf_reset(&b);
	for (i = 0; i < 65; i++)
		buf_putc(&b, '(');
	for (i = 0; i < 65; i++)
		buf_putc(&b, ')');
	buf_puts(&b, " a@nested.example");
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "nested") != NULL, "From: comments nested 65 deep refused");

	/* 100 KB display name: accepted, fast */
	buf_reset(&b);
	buf_putc(&b, '"');
	for (i = 0; i < 100 * 1024; i++)
		buf_putc(&b, (char)('a' + i % 26));
	buf_puts(&b, "\" <a@big.example>");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && strcmp(d[0], "big.example") == 0 &&
	    elapsed(&t0) < 0.5, "From: 100 KB quoted display name parsed quickly");
	hdr_domains_free(d, n);

	/* 100 KB of comments with fake addresses then the real one */
	buf_reset(&b);
	while (b.len < 100 * 1024)
		buf_puts(&b, "(x@evil.example (y)) ");
	buf_puts(&b, "a@good.example");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && strcmp(d[0], "good.example") == 0 &&
	    elapsed(&t0) < 0.5, "From: 100 KB of comments parsed quickly");
	hdr_domains_free(d, n);

	/* 100 KB of addresses: refused at the cap, fast */
	buf_reset(&b);
	while (b.len < 100 * 1024)
		buf_puts(&b, "a@b.example, ");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && elapsed(&t0) < 0.5, "From: 100 KB of addresses refused quickly");

	/* 1 MiB of '(' : refused at the depth cap */
	buf_reset(&b);
	for (i = 0; i < HDR_MAX_VALUE; i++)
		buf_putc(&b, '(');
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && elapsed(&t0) < 0.5, "From: 1 MiB of '(' refused quickly");

	/* 1 MiB of one atom: one linear pass */
	buf_reset(&b);
	for (i = 0; i < HDR_MAX_VALUE - 16; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "@x.example");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && elapsed(&t0) < 0.5, "From: ~1 MiB local-part parsed quickly");
	hdr_domains_free(d, n);

	/* over 1 MiB: refused */
	buf_reset(&b);
	for (i = 0; i < HDR_MAX_VALUE + 1; i++)
		buf_putc(&b, ' ');
	rc = hdr_from_domains(buf_str(&b), &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "longer") != NULL, "From: value over 1 MiB refused");

	rc = hdr_from_domains(NULL, &d, &n, err, sizeof(err));
	tap_ok(rc == -1 && d == NULL && n == 0, "From: NULL value is an error");
	rc = hdr_from_domains("a@b", &d, &n, NULL, 0);
	tap_ok(rc == 0 && n == 1, "From: NULL err buffer allowed");
	hdr_domains_free(d, n);
	rc = hdr_from_domains("nope", &d, &n, err, 8);
	tap_ok(rc == -1 && strlen(err) == 7, "From: error message truncated to errlen");
	buf_free(&b);
}

/* ------------------------------------------------------ Authentication-Results */

/* get_prop - value of ptype.property in r, or NULL */
static const char *
get_prop(const struct hdr_ar_result *r, const char *ptype, const char *prop)
{
	size_t i;

	for (i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].ptype, ptype) == 0 &&
		    strcmp(r->props[i].property, prop) == 0)
			return r->props[i].value;
	return NULL;
}

/* summary - "id/version;method=result[reason](ptype.prop=value)...;..." */
static void
summary(struct buf *b, const struct hdr_ar *ar)
{
	size_t i, k;

	buf_reset(b);
	buf_printf(b, "%s/%u", ar->authserv_id, ar->version);
	if (ar->none)
		buf_puts(b, ";none");
	for (i = 0; i < ar->n_results; i++) {
		const struct hdr_ar_result *r = &ar->results[i];

		buf_printf(b, ";%s", r->method);
		if (r->version != 1)
			buf_printf(b, "/%u", r->version);
		buf_printf(b, "=%s", r->result);
		if (r->reason != NULL)
			buf_printf(b, "[%s]", r->reason);
		for (k = 0; k < r->n_props; k++)
			buf_printf(b, "(%s.%s=%s)", r->props[k].ptype,
			    r->props[k].property, r->props[k].value);
	}
}

struct ar_case {
	const char	*desc;
	const char	*in;
	const char	*want;		/* summary, NULL: parse error */
	const char	*ours;		/* id for hdr_ar_authserv_is */
	bool		 is_ours;
};

static const struct ar_case ar_cases[] = {
	{ "§2.2 basic spf with local@domain pvalue",
	  "example.org; spf=pass smtp.mailfrom=a@b",
	  "example.org/1;spf=pass(smtp.mailfrom=a@b)", "example.org", true },
	{ "§2.2 quoted-string authserv-id",
	  "\"example.org\"; none",
	  "example.org/1;none", "example.org", true },
	{ "§2.2 authres-version",
	  "example.org 1; none",
	  "example.org/1;none", "example.org", true },
	{ "§2.2 authres-version 2 is reported",
	  "example.org 2 (future); none",
	  "example.org/2;none", "example.org", true },
	{ "§2.2 CFWS and comments everywhere",
	  " (c0) example.org (c1) ; (c2) spf (c3) = (c4) pass (c5) smtp (c6) . (c7) mailfrom (c8) = (c9) a@b (c10)",
	  "example.org/1;spf=pass(smtp.mailfrom=a@b)", "example.org", true },
	{ "§2.2 multiple resinfo",
	  "example.org; spf=pass smtp.mailfrom=x.example; dkim=pass header.d=x.example header.s=sel header.b=AbC/+12=; dmarc=pass header.from=x.example",
	  "example.org/1;spf=pass(smtp.mailfrom=x.example);dkim=pass(header.d=x.example)(header.s=sel)(header.b=AbC/+12=);dmarc=pass(header.from=x.example)",
	  "example.org", true },
	{ "§2.2 Gmail header, folded with CRLF",
	  "mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab1/Cd+E;\r\n       spf=pass (google.com: domain of user@example.com designates 2001:db8::1 as permitted sender) smtp.mailfrom=user@example.com;\r\n       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com",
	  "mx.google.com/1;dkim=pass(header.i=@example.com)(header.s=20230601)(header.b=Ab1/Cd+E);spf=pass(smtp.mailfrom=user@example.com);dmarc=pass(header.from=example.com)",
	  "example.org", false },
	{ "§2.2 Microsoft header without authserv-id (lenient, id \"\")",
	  "spf=pass (sender IP is 192.0.2.1)\n smtp.mailfrom=example.com; dkim=pass (signature was verified)\n header.d=example.com;dmarc=pass action=none\n header.from=example.com;compauth=pass reason=100",
	  "/1;spf=pass(smtp.mailfrom=example.com);dkim=pass(header.d=example.com);dmarc=pass(.action=none)(header.from=example.com);compauth=pass[100]",
	  "spf.example", false },
	{ "§2.2 OpenDKIM header, folded with bare LF",
	  " mail.example.org;\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com header.a=rsa-sha256 header.s=sel header.b=Ab/Cd+Ef",
	  "mail.example.org/1;dkim=pass(header.d=example.com)(header.i=@example.com)(header.a=rsa-sha256)(header.s=sel)(header.b=Ab/Cd+Ef)",
	  "MAIL.example.ORG", true },
	{ "§2.2 OpenDMARC header",
	  "mail.example.org; dmarc=pass (p=none dis=none) header.from=example.com",
	  "mail.example.org/1;dmarc=pass(header.from=example.com)", "mail.example.org", true },
	{ "§2.2 reasonspec quoted-string with quoted-pairs",
	  "example.org; dkim=fail reason=\"signature \\\"bad\\\"\" header.d=x.example",
	  "example.org/1;dkim=fail[signature \"bad\"](header.d=x.example)", "example.org", true },
	{ "§2.2 reasonspec token",
	  "example.org; dkim=fail reason=bad header.d=x.example",
	  "example.org/1;dkim=fail[bad](header.d=x.example)", "example.org", true },
	{ "§2.2 method-version",
	  "example.org; dkim/1=pass header.d=x.example; spf / 2 = pass",
	  "example.org/1;dkim=pass(header.d=x.example);spf/2=pass", "example.org", true },
	{ "§2.2 quoted-string pvalue",
	  "example.org; auth=pass smtp.auth=\"john doe\"",
	  "example.org/1;auth=pass(smtp.auth=john doe)", "example.org", true },
	{ "§2.2 pvalue with quoted local-part",
	  "example.org; spf=pass smtp.mailfrom=\"a b\"@example.com",
	  "example.org/1;spf=pass(smtp.mailfrom=\"a b\"@example.com)", "example.org", true },
	{ "§2.2 pvalue \"@domain\" form",
	  "example.org; dkim=pass header.i=@example.com",
	  "example.org/1;dkim=pass(header.i=@example.com)", "example.org", true },
	{ "§2.2 trailing ';' and empty resinfo tolerated",
	  "example.org;; spf=none smtp.helo=h.example;",
	  "example.org/1;spf=none(smtp.helo=h.example)", "example.org", true },
	{ "§2.2 result without properties",
	  "example.org; iprev=pass; arc=none",
	  "example.org/1;iprev=pass;arc=none", "example.org", true },
	{ "§5 authserv-id is compared case-insensitively",
	  "OUR.Example; spf=pass smtp.mailfrom=x",
	  "OUR.Example/1;spf=pass(smtp.mailfrom=x)", "our.example", true },
	{ "§5 our id in a comment is not ours",
	  "evil.example (our.example); spf=pass smtp.mailfrom=x",
	  "evil.example/1;spf=pass(smtp.mailfrom=x)", "our.example", false },
	{ "§5 our id in a leading comment is not ours",
	  "(our.example) evil.example; none",
	  "evil.example/1;none", "our.example", false },
	{ "§5 our id in a property is not ours",
	  "evil.example; spf=pass smtp.mailfrom=our.example",
	  "evil.example/1;spf=pass(smtp.mailfrom=our.example)", "our.example", false },
	{ "§5 our id as a prefix is not ours",
	  "our.example.evil.example; spf=pass",
	  "our.example.evil.example/1;spf=pass", "our.example", false },
	{ "§5 our id as a suffix is not ours",
	  "evil-our.example; spf=pass",
	  "evil-our.example/1;spf=pass", "our.example", false },
	{ "§5 our id with a garbage tail is still ours (removal)",
	  "our.example; garbage !!!",
	  NULL, "our.example", true },
	{ "§5 our id alone is still ours (removal)",
	  "our.example",
	  NULL, "our.example", true },
	{ "§5 our id followed by '=' is still ours (removal)",
	  "our.example=pass",
	  NULL, "our.example", true },
	{ "§5 quoted-pair in quoted authserv-id unescapes to ours",
	  "\"our.exa\\mple\"; none",
	  "our.example/1;none", "our.example", true },
	{ "§5 unterminated quoted authserv-id is not ours",
	  "\"our.example; spf=pass",
	  NULL, "our.example", false },
	{ "§5 unterminated comment before our id is not ours",
	  "(x our.example; spf=pass",
	  NULL, "our.example", false },
	{ "§5 empty configured id never matches",
	  "\"\"; none",
	  "/1;none", "", false },
	{ "§2.2 missing authserv-id",
	  "; spf=pass",
	  NULL, "our.example", false },
	{ "§2.2 empty value", "", NULL, "our.example", false },
	{ "§2.2 garbage", "((( garbage", NULL, "garbage", false },
	{ "§2.2 no-result then results", "example.org; none; spf=pass", NULL, "example.org", true },
	{ "§2.2 results then no-result", "example.org; spf=pass; none", NULL, "example.org", true },
	{ "§2.2 method without '='", "example.org; spf", NULL, "example.org", true },
	{ "§2.2 method without result", "example.org; spf=", NULL, "example.org", true },
	{ "§2.2 property without '='", "example.org; spf=pass smtp", NULL, "example.org", true },
	{ "§2.2 property name missing", "example.org; spf=pass smtp.=x", NULL, "example.org", true },
	{ "§2.2 missing ';' after authserv-id", "example.org spf=pass", NULL, "example.org", true },
	{ "§2.2 stray ')' after result", "example.org; spf=pass)", NULL, "example.org", true },
	{ "§2.2 bad version", "example.org 1x; none", NULL, "example.org", true },
	{ "§2.2 line break without WSP", "example.org;\r\nspf=pass", NULL, "example.org", true },
};

/* run_ar - run one A-R case */
static void
run_ar(const struct ar_case *ac)
{
	struct hdr_ar ar;
	struct buf b = BUF_INIT;
	char err[256];
	int rc;

	rc = hdr_ar_parse(ac->in, &ar, err, sizeof(err));
	if (ac->want != NULL) {
		if (rc == 0)
			summary(&b, &ar);
		if (!tap_ok(rc == 0 && strcmp(buf_str(&b), ac->want) == 0,
		    "A-R: %s", ac->desc))
			tap_diag("  rc %d, got \"%s\"\n#   want \"%s\", err \"%s\"",
			    rc, buf_str(&b), ac->want, rc ? err : "");
	} else {
		if (!tap_ok(rc == -1 && err[0] != '\0' && ar.authserv_id == NULL &&
		    ar.n_results == 0, "A-R: %s (parse error)", ac->desc))
			tap_diag("  rc %d", rc);
	}
	hdr_ar_free(&ar);
	tap_ok(hdr_ar_authserv_is(ac->in, ac->ours) == ac->is_ours,
	    "A-R: %s: authserv_is(\"%s\") is %s", ac->desc, ac->ours,
	    ac->is_ours ? "true" : "false");
	buf_free(&b);
}

/* test_ar_more - details the summary does not show, and caps */
static void
test_ar_more(void)
{
	struct hdr_ar ar;
	struct buf b = BUF_INIT;
	char err[256];
	size_t i;
	int rc;

	rc = hdr_ar_parse("example.org; dkim=pass header.d=x.example header.s=sel header.b=abcdEFGH",
	    &ar, err, sizeof(err));
	tap_ok(rc == 0 && ar.n_results == 1 && !ar.none &&
	    strcmp(get_prop(&ar.results[0], "header", "d"), "x.example") == 0 &&
	    strcmp(get_prop(&ar.results[0], "header", "s"), "sel") == 0 &&
	    strcmp(get_prop(&ar.results[0], "header", "b"), "abcdEFGH") == 0 &&
	    ar.results[0].reason == NULL && ar.results[0].version == 1,
	    "A-R: §2.2 dkim header.d/header.s/header.b read back");
	hdr_ar_free(&ar);
	tap_ok(ar.authserv_id == NULL && ar.results == NULL, "A-R: free resets the struct");
	hdr_ar_free(&ar);	/* twice is harmless */

	/* 64 results are fine, 65 are not */
	buf_puts(&b, "example.org");
	for (i = 0; i < 64; i++)
		buf_printf(&b, "; m%zu=pass", i);
	rc = hdr_ar_parse(buf_str(&b), &ar, err, sizeof(err));
	tap_ok(rc == 0 && ar.n_results == 64, "A-R: 64 results accepted");
	hdr_ar_free(&ar);
	buf_puts(&b, "; last=pass");
	rc = hdr_ar_parse(buf_str(&b), &ar, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "more than") != NULL, "A-R: 65 results refused");

	/* deep comments */
	buf_reset(&b);
	for (i = 0; i < 100; i++)
		buf_putc(&b, '(');
	buf_puts(&b, "our.example");
	rc = hdr_ar_parse(buf_str(&b), &ar, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "nested") != NULL, "A-R: comments nested 100 deep refused");
	tap_ok(!hdr_ar_authserv_is(buf_str(&b), "our.example"), "A-R: deep comment hides nothing");

	/* over 1 MiB */
	buf_reset(&b);
	buf_puts(&b, "our.example; spf=pass smtp.mailfrom=");
	while (b.len <= HDR_MAX_VALUE)
		buf_putc(&b, 'x');
	rc = hdr_ar_parse(buf_str(&b), &ar, err, sizeof(err));
	tap_ok(rc == -1, "A-R: value over 1 MiB refused");
	tap_ok(!hdr_ar_authserv_is(buf_str(&b), "our.example"), "A-R: over-long value is not matched");

	tap_ok(!hdr_ar_authserv_is(NULL, "our.example"), "A-R: NULL value is not ours");
	tap_ok(!hdr_ar_authserv_is("our.example; none", NULL), "A-R: NULL id matches nothing");
	rc = hdr_ar_parse(NULL, &ar, err, sizeof(err));
	tap_ok(rc == -1 && ar.authserv_id == NULL, "A-R: NULL value is an error");
	buf_free(&b);
}

/* ------------------------------------------------------------------ DKIM */

struct dkim_case {
	const char	*desc;
	const char	*name, *value;
	bool		 leadspc;
	const char	*want;
};

static const struct dkim_case dkim_cases[] = {
	{ "leading space kept with HDR_LEADSPC", "From", " a@b.example", true, "From: a@b.example" },
	{ "space restored without HDR_LEADSPC", "From", "a@b.example", false, "From: a@b.example" },
	{ "no space added to a value without one (LEADSPC)", "X", "v", true, "X:v" },
	{ "bare LF fold becomes CRLF", "Subject", " line1\n\tline2", true, "Subject: line1\r\n\tline2" },
	{ "CRLF fold left alone", "Subject", " line1\r\n\tline2", true, "Subject: line1\r\n\tline2" },
	{ "mixed folds", "S", " a\n b\r\n c\n d", true, "S: a\r\n b\r\n c\r\n d" },
	{ "LF at the start of the value", "S", "\n x", true, "S:\r\n x" },
	{ "consecutive LFs", "S", " a\n\n b", true, "S: a\r\n\r\n b" },
	{ "empty value without LEADSPC", "S", "", false, "S: " },
	{ "bare CR is not touched", "S", " a\rb", true, "S: a\rb" },
};

/*
 * hdr_from_salvage: a From field that does not parse still names its
 * domains (the CVE-2021-34555 class: a broken field must not hide
 * example.com's policy).  want is the domains joined with ' ', or NULL.
 */
static const struct {
	const char	*in;
	const char	*want;
} salvage_cases[] = {
	{ "user@example.com, <>",			"example.com" },
	{ "<>, user@example.com",			"example.com" },
	{ "\"unterminated <a@example.com>",		"example.com" },
	{ "(unterminated comment a@example.com",	"example.com" },
	{ "Group: ; user@Example.COM, b@example.com",	"Example.COM" },
	{ "a@example.com, b@example.net, <",		"example.com example.net" },
	{ "a@example.com., <",				"example.com" },
	{ "<>",						NULL },
	{ "a@",						NULL },
	{ "a@[127.0.0.1]",				NULL },
	{ "a@example..com",				NULL },
	{ "<a@.example.com>",				NULL },
	{ "",						NULL },
};

static void
test_from_salvage(void)
{
	struct buf got, big;
	char **d;
	size_t i, j, n;
	int rc;

	for (i = 0; i < sizeof(salvage_cases) / sizeof(salvage_cases[0]); i++) {
		rc = hdr_from_salvage(salvage_cases[i].in, &d, &n);
		buf_init(&got, 0);
		for (j = 0; rc == 0 && j < n; j++)
			buf_printf(&got, "%s%s", j ? " " : "", d[j]);
		if (salvage_cases[i].want == NULL)
			tap_ok(rc == -1 && n == 0, "salvage \"%s\": no domain", salvage_cases[i].in);
		else
			tap_is_str(rc == 0 ? buf_str(&got) : NULL, salvage_cases[i].want,
			    "salvage \"%s\"", salvage_cases[i].in);
		buf_free(&got);
		hdr_domains_free(d, n);
	}
	/* bounded: a field naming thousands of domains gives HDR_FROM_MAX_ADDRS */
	buf_init(&big, 0);
	for (i = 0; i < 5000; i++)
		buf_printf(&big, "u@d%zu.example, ", i);
	buf_puts(&big, "<");
	rc = hdr_from_salvage(buf_str(&big), &d, &n);
	tap_ok(rc == 0 && n == HDR_FROM_MAX_ADDRS, "salvage: at most %d domains (got %zu)",
	    HDR_FROM_MAX_ADDRS, n);
	hdr_domains_free(d, n);
	buf_free(&big);
}

int
main(void)
{
	size_t i;
	char *s;

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++)
		run_from(&from_cases[i]);
	test_from_limits();
	test_from_salvage();
	for (i = 0; i < sizeof(ar_cases) / sizeof(ar_cases[0]); i++)
		run_ar(&ar_cases[i]);
	test_ar_more();
	for (i = 0; i < sizeof(dkim_cases) / sizeof(dkim_cases[0]); i++) {
		s = hdr_dkim_field(dkim_cases[i].name, dkim_cases[i].value,
		    dkim_cases[i].leadspc);
		tap_is_str(s, dkim_cases[i].want, "DKIM field: LIBRARIES.md §2.1 %s",
		    dkim_cases[i].desc);
		free(s);
	}
	return tap_done();
}
