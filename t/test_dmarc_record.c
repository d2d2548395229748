/*
 * test_dmarc_record.c - the DMARC record parser and record selection.
 *
 * Each parse case gives a record, the expected result and a golden
 * summary of the parsed struct that lists only what differs from the
 * defaults (adkim/aspf r, pct 100 unset, ri 86400, psd u, t n, no fo/rf,
 * no rua/ruf), so every case checks every field.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc_record.h"
#include "tap.h"

/* summary - the non-default fields of a parsed record, in a fixed order */
static char *
summary(const struct dmarc_record *r)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_printf(&b, "p=%s", r->p == DMARC_POLICY_UNSET ? "UNSET" : dmarc_policy_str(r->p));
	if (r->sp != DMARC_POLICY_UNSET)
		buf_printf(&b, " sp=%s", dmarc_policy_str(r->sp));
	if (r->np != DMARC_POLICY_UNSET)
		buf_printf(&b, " np=%s", dmarc_policy_str(r->np));
	if (r->adkim != DMARC_ALIGN_RELAXED)
		buf_puts(&b, " adkim=s");
	if (r->aspf != DMARC_ALIGN_RELAXED)
		buf_puts(&b, " aspf=s");
	if (r->pct_set)
		buf_printf(&b, " pct=%u", r->pct);
	else if (r->pct != 100)
		buf_printf(&b, " pct=%u(unset!)", r->pct);
	if (r->psd != DMARC_PSD_UNSET)
		buf_printf(&b, " psd=%s", r->psd == DMARC_PSD_YES ? "y" : "n");
	if (r->testing)
		buf_puts(&b, " t=y");
	if (r->fo != NULL)
		buf_printf(&b, " fo=%s", r->fo);
	if (r->rf != NULL)
		buf_printf(&b, " rf=%s", r->rf);
	if (r->ri != 86400)
		buf_printf(&b, " ri=%u", r->ri);
	for (i = 0; i < r->n_rua; i++)
		buf_printf(&b, "%s%s!%llu", i == 0 ? " rua=" : ",", r->rua[i].uri, r->rua[i].size_limit);
	for (i = 0; i < r->n_ruf; i++)
		buf_printf(&b, "%s%s!%llu", i == 0 ? " ruf=" : ",", r->ruf[i].uri, r->ruf[i].size_limit);
	if (r->p_invalid)
		buf_puts(&b, " p_invalid");
	return buf_detach(&b);
}

/* is_zero - every byte of the struct is 0 */
static int
is_zero(const struct dmarc_record *r)
{
	static const struct dmarc_record z;

	return memcmp(r, &z, sizeof(z)) == 0;
}

#define OK	DMARC_PARSE_OK
#define NOT	DMARC_PARSE_NOT_DMARC
#define INV	DMARC_PARSE_INVALID
#define RUA	"; rua=mailto:d@example.com"
#define RUA_S	" rua=mailto:d@example.com!0"

struct pcase {
	const char	*name;		/* names the RFC section */
	const char	*rec;
	size_t		 len;		/* 0: strlen(rec) */
	enum dmarc_parse want;
	const char	*sum;		/* golden summary when OK */
	const char	*err_has;	/* substring expected in err; "": err empty; NULL: no check */
};

static const struct pcase cases[] = {
	/* v tag and separators */
	{ "RFC 7489 §6.4 p=none", "v=DMARC1; p=none", 0, OK, "p=none", NULL },
	{ "RFC 7489 §6.4 p=quarantine", "v=DMARC1; p=quarantine", 0, OK, "p=quarantine", NULL },
	{ "RFC 7489 §6.4 p=reject", "v=DMARC1; p=reject", 0, OK, "p=reject", NULL },
	{ "RFC 7489 §6.4 no white space", "v=DMARC1;p=reject", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 WSP around = and ;", "v = DMARC1 ; p = reject ;", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 tabs are WSP", "v=DMARC1;\tp=reject\t;\t", 0, OK, "p=reject", NULL },
	{ "RFC 6376 §3.2 FWS between tags", "v=DMARC1;\r\n p=reject", 0, OK, "p=reject", NULL },
	{ "RFC 6376 §3.2 bare CRLF is not FWS", "v=DMARC1; p=reject\r\n", 0, INV, NULL, "invalid p" },
	{ "RFC 9989 §4.8 trailing ;", "v=DMARC1; p=reject;", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 empty tag-spec discarded", "v=DMARC1;; p=reject;;", 0, OK, "p=reject", "empty tag-spec" },
	{ "RFC 9989 §4.7 DMARC1 is case-sensitive", "v=dmarc1; p=reject", 0, NOT, NULL, "not a DMARC" },
	{ "RFC 6376 §3.2 tag names case-sensitive: V", "V=DMARC1; p=reject", 0, NOT, NULL, NULL },
	{ "RFC 9989 §4.7 v must be first", "p=reject; v=DMARC1", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.6.3 xv= is not v=", "xv=DMARC1; p=reject", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.4 no leading WSP before v", " v=DMARC1; p=reject", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.3 v=DMARC10 is not DMARC1", "v=DMARC10; p=reject", 0, NOT, NULL, NULL },
	{ "RFC 9989 §4.7 v value \"DMARC1 p=reject\"", "v=DMARC1 p=reject", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.6.3 empty TXT", "", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.6.3 SPF record", "v=spf1 -all", 0, NOT, NULL, NULL },
	{ "RFC 7489 §6.6.3 v=DMARC1 alone is INVALID", "v=DMARC1", 0, INV, NULL, "no p tag and no valid rua" },
	{ "RFC 7489 §6.6.3 v=DMARC1; alone is INVALID", "v=DMARC1;", 0, INV, NULL, "no p tag" },
	{ "RFC 9989 §4.8 garbage after v", "v=DMARC1; hello world", 0, INV, NULL, "malformed tag-spec" },

	/* p and the rua fallback */
	{ "RFC 7489 §6.6.3 no p, valid rua -> p=none", "v=DMARC1" RUA, 0, OK, "p=none" RUA_S " p_invalid", "no p tag" },
	{ "RFC 9989 §4.10.1 invalid p, valid rua -> p=none", "v=DMARC1; p=rej" RUA, 0, OK, "p=none" RUA_S " p_invalid", "invalid p" },
	{ "RFC 7489 §6.4 no abbreviation p=rej", "v=DMARC1; p=rej", 0, INV, NULL, "invalid p tag and no valid rua" },
	{ "RFC 5234 §2.3 p value case-insensitive", "v=DMARC1; p=REJECT", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 p value must not be empty", "v=DMARC1; p=", 0, INV, NULL, "invalid p" },
	{ "RFC 6376 §3.2 P= is an unknown tag", "v=DMARC1; P=reject", 0, INV, NULL, "unknown tag \"P\"" },
	{ "RFC 6376 §3.2 P= unknown, rua -> p=none", "v=DMARC1; P=reject" RUA, 0, OK, "p=none" RUA_S " p_invalid", NULL },
	{ "RFC 9989 §4.10.1 no p, only a bad rua", "v=DMARC1; rua=bogus", 0, INV, NULL, "rua URI \"bogus\" dropped" },
	{ "RFC 9989 §4.8 p need not follow v", "v=DMARC1" RUA "; p=quarantine", 0, OK, "p=quarantine" RUA_S, NULL },

	/* duplicates and unknown tags */
	{ "RFC 6376 §3.2 duplicate p", "v=DMARC1; p=reject; p=none", 0, INV, NULL, "duplicate tag \"p\"" },
	{ "RFC 6376 §3.2 duplicate rua", "v=DMARC1; p=none" RUA RUA, 0, INV, NULL, "duplicate tag \"rua\"" },
	{ "RFC 6376 §3.2 duplicate v", "v=DMARC1; p=reject; v=DMARC1", 0, INV, NULL, "duplicate tag \"v\"" },
	{ "RFC 6376 §3.2 duplicate unknown tag", "v=DMARC1; p=reject; x=1; x=2", 0, INV, NULL, "duplicate" },
	{ "RFC 6376 §3.2 p and P are different tags", "v=DMARC1; p=reject; P=none", 0, OK, "p=reject", NULL },
	{ "RFC 7489 §6.3 unknown tag ignored", "v=DMARC1; p=reject; foo=bar", 0, OK, "p=reject", "unknown tag \"foo\"" },
	{ "RFC 9989 §4.7 unknown tag before p", "v=DMARC1; foo=bar; p=reject", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 tag-spec without = discarded", "v=DMARC1; p=reject; garbage", 0, OK, "p=reject", "malformed" },
	{ "RFC 9989 §4.8 tag-spec without name discarded", "v=DMARC1; p=reject; =x", 0, OK, "p=reject", "malformed" },

	/* sp, np */
	{ "RFC 7489 §6.3 sp", "v=DMARC1; p=reject; sp=none", 0, OK, "p=reject sp=none", NULL },
	{ "RFC 7489 §6.6.3 invalid sp, no rua", "v=DMARC1; p=reject; sp=bogus", 0, INV, NULL, "invalid sp tag" },
	{ "RFC 7489 §6.6.3 invalid sp, rua -> p=none", "v=DMARC1; p=reject; sp=bogus" RUA, 0, OK, "p=none" RUA_S " p_invalid", NULL },
	{ "RFC 7489 §6.6.3 empty sp is invalid", "v=DMARC1; p=reject; sp=", 0, INV, NULL, "invalid sp" },
	{ "RFC 9989 §4.7 np", "v=DMARC1; p=reject; sp=quarantine; np=none", 0, OK, "p=reject sp=quarantine np=none", NULL },
	{ "RFC 9989 §4.10.1 invalid np, no rua", "v=DMARC1; p=reject; np=x", 0, INV, NULL, "invalid np tag" },
	{ "RFC 9989 §4.10.1 invalid np, rua -> p=none", "v=DMARC1; p=reject; np=x" RUA, 0, OK, "p=none" RUA_S " p_invalid", NULL },

	/* adkim, aspf */
	{ "RFC 7489 §6.3 adkim=s aspf=s", "v=DMARC1; p=none; adkim=s; aspf=s", 0, OK, "p=none adkim=s aspf=s", NULL },
	{ "RFC 7489 §6.3 adkim=r explicit", "v=DMARC1; p=none; adkim=r", 0, OK, "p=none", NULL },
	{ "RFC 5234 §2.3 adkim=S", "v=DMARC1; p=none; adkim=S", 0, OK, "p=none adkim=s", NULL },
	{ "RFC 9989 §4.8 invalid adkim -> default", "v=DMARC1; p=none; adkim=x", 0, OK, "p=none", "invalid adkim" },
	{ "RFC 9989 §4.8 invalid aspf -> default", "v=DMARC1; p=none; aspf=strict", 0, OK, "p=none", "invalid aspf" },

	/* pct */
	{ "RFC 7489 §6.3 pct=0", "v=DMARC1; p=reject; pct=0", 0, OK, "p=reject pct=0", NULL },
	{ "RFC 7489 §6.3 pct=50", "v=DMARC1; p=reject; pct=50", 0, OK, "p=reject pct=50", NULL },
	{ "RFC 7489 §6.3 pct=100", "v=DMARC1; p=reject; pct=100", 0, OK, "p=reject pct=100", NULL },
	{ "RFC 7489 §6.4 pct=007 (1*3DIGIT)", "v=DMARC1; p=reject; pct=007", 0, OK, "p=reject pct=7", NULL },
	{ "RFC 7489 §6.3 pct=101 ignored", "v=DMARC1; p=reject; pct=101", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.3 pct=-1 ignored", "v=DMARC1; p=reject; pct=-1", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.3 pct=abc ignored", "v=DMARC1; p=reject; pct=abc", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.3 pct=5.5 ignored", "v=DMARC1; p=reject; pct=5.5", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.4 pct=0100 ignored", "v=DMARC1; p=reject; pct=0100", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.4 pct= ignored", "v=DMARC1; p=reject; pct=", 0, OK, "p=reject", "invalid pct" },
	{ "RFC 7489 §6.4 pct=+5 ignored", "v=DMARC1; p=reject; pct=+5", 0, OK, "p=reject", "invalid pct" },

	/* psd, t */
	{ "RFC 9989 §4.7 psd=y", "v=DMARC1; p=reject; psd=y", 0, OK, "p=reject psd=y", NULL },
	{ "RFC 9989 §4.7 psd=n", "v=DMARC1; p=reject; psd=n", 0, OK, "p=reject psd=n", NULL },
	{ "RFC 9989 §4.7 psd=u is the default", "v=DMARC1; p=reject; psd=u", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 psd=x ignored", "v=DMARC1; p=reject; psd=x", 0, OK, "p=reject", "invalid psd" },
	{ "RFC 9989 §4.7 t=y", "v=DMARC1; p=reject; t=y", 0, OK, "p=reject t=y", NULL },
	{ "RFC 9989 §4.7 t=n", "v=DMARC1; p=reject; t=n", 0, OK, "p=reject", NULL },
	{ "RFC 9989 §4.8 t=yes ignored", "v=DMARC1; p=reject; t=yes", 0, OK, "p=reject", "invalid t" },

	/* fo */
	{ "RFC 7489 §6.3 fo=1", "v=DMARC1; p=none; fo=1", 0, OK, "p=none fo=1", NULL },
	{ "RFC 9989 §4.8 fo=0:d:s", "v=DMARC1; p=none; fo=0:d:s", 0, OK, "p=none fo=0:d:s", NULL },
	{ "RFC 7489 §6.4 fo WSP around :", "v=DMARC1; p=none; fo=d : s", 0, OK, "p=none fo=d : s", NULL },
	{ "RFC 9989 §4.8 fo=2 ignored", "v=DMARC1; p=none; fo=2", 0, OK, "p=none", "invalid fo" },
	{ "RFC 9989 §4.8 fo=0:1 (exclusive) ignored", "v=DMARC1; p=none; fo=0:1", 0, OK, "p=none", "invalid fo" },
	{ "RFC 9989 §4.8 fo=d:d ignored", "v=DMARC1; p=none; fo=d:d", 0, OK, "p=none", "invalid fo" },
	{ "RFC 9989 §4.8 fo=1: ignored", "v=DMARC1; p=none; fo=1:", 0, OK, "p=none", "invalid fo" },

	/* rf, ri */
	{ "RFC 7489 §6.3 rf=afrf", "v=DMARC1; p=none; rf=afrf", 0, OK, "p=none rf=afrf", NULL },
	{ "RFC 7489 §6.3 rf=iodef ignored, aspf stays r (D8)", "v=DMARC1; p=none; rf=iodef", 0, OK, "p=none", "unregistered rf" },
	{ "RFC 7489 §6.3 rf=iodef before aspf=s", "v=DMARC1; p=reject; rf=iodef; aspf=s", 0, OK, "p=reject aspf=s", NULL },
	{ "RFC 7489 §6.3 rf=afrf:iodef keeps afrf", "v=DMARC1; p=none; rf=afrf:iodef", 0, OK, "p=none rf=afrf", "iodef" },
	{ "RFC 7489 §6.4 rf=a:b: malformed", "v=DMARC1; p=none; rf=afrf:", 0, OK, "p=none", "invalid rf" },
	{ "RFC 7489 §6.3 ri=3600", "v=DMARC1; p=none; ri=3600", 0, OK, "p=none ri=3600", NULL },
	{ "RFC 7489 §6.3 ri=4294967295 (32-bit max)", "v=DMARC1; p=none; ri=4294967295", 0, OK, "p=none ri=4294967295", NULL },
	{ "RFC 7489 §6.3 ri=4294967296 ignored", "v=DMARC1; p=none; ri=4294967296", 0, OK, "p=none", "invalid ri" },
	{ "RFC 7489 §6.4 ri=1h ignored", "v=DMARC1; p=none; ri=1h", 0, OK, "p=none", "invalid ri" },
	{ "RFC 7489 §6.4 ri=-5 ignored", "v=DMARC1; p=none; ri=-5", 0, OK, "p=none", "invalid ri" },

	/* rua, ruf */
	{ "RFC 7489 §6.2 rua !10m", "v=DMARC1; p=none; rua=mailto:a@b.example!10m", 0, OK, "p=none rua=mailto:a@b.example!10485760", NULL },
	{ "RFC 7489 §6.2 rua !10 bytes", "v=DMARC1; p=none; rua=mailto:a@b.example!10", 0, OK, "p=none rua=mailto:a@b.example!10", NULL },
	{ "RFC 7489 §6.2 rua !1k !2G !1t", "v=DMARC1; p=none; rua=mailto:a@x.example!1k,mailto:b@x.example!2G,mailto:c@x.example!1t", 0, OK,
	  "p=none rua=mailto:a@x.example!1024,mailto:b@x.example!2147483648,mailto:c@x.example!1099511627776", NULL },
	{ "RFC 7489 §6.4 rua list of two", "v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.net", 0, OK,
	  "p=none rua=mailto:a@example.com!0,mailto:b@example.net!0", NULL },
	{ "RFC 7489 §6.4 rua WSP around comma", "v=DMARC1; p=none; rua=mailto:a@example.com , mailto:b@example.net", 0, OK,
	  "p=none rua=mailto:a@example.com!0,mailto:b@example.net!0", NULL },
	{ "RFC 9989 §4.7 bad rua dropped, rest kept", "v=DMARC1; p=none; rua=bogus,mailto:b@example.net", 0, OK,
	  "p=none rua=mailto:b@example.net!0", "rua URI \"bogus\" dropped" },
	{ "RFC 7489 §6.4 bad size unit dropped", "v=DMARC1; p=none; rua=mailto:a@example.com!10x", 0, OK, "p=none", "dropped" },
	{ "RFC 7489 §6.4 raw ! must be encoded", "v=DMARC1; p=none; rua=mailto:a@example.com!!10m", 0, OK, "p=none", "dropped" },
	{ "RFC 7489 §6.4 ! without digits", "v=DMARC1; p=none; rua=mailto:a@example.com!", 0, OK, "p=none", "dropped" },
	{ "RFC 9989 §4.7 https rua", "v=DMARC1; p=none; rua=https://report.example/dmarc?x=1", 0, OK, "p=none rua=https://report.example/dmarc?x=1!0", NULL },
	{ "RFC 7489 §6.4 %2C-encoded comma kept", "v=DMARC1; p=none; rua=mailto:a%2Cb@example.com", 0, OK, "p=none rua=mailto:a%2Cb@example.com!0", NULL },
	{ "RFC 7489 §6.4 size fits 64 bits", "v=DMARC1; p=none; rua=mailto:a@example.com!18446744073709551615", 0, OK,
	  "p=none rua=mailto:a@example.com!18446744073709551615", NULL },
	{ "RFC 7489 §6.4 size over 64 bits dropped", "v=DMARC1; p=none; rua=mailto:a@example.com!18446744073709551616", 0, OK, "p=none", "dropped" },
	{ "RFC 7489 §6.4 size*unit over 64 bits dropped", "v=DMARC1; p=none; rua=mailto:a@example.com!18446744073709551615k", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §3 space in URI", "v=DMARC1; p=none; rua=mailto:a b@example.com", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §3.1 empty scheme", "v=DMARC1; p=none; rua=:a@example.com", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §3.1 scheme starts with ALPHA", "v=DMARC1; p=none; rua=1mailto:a@example.com", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §2.1 bad pct-encoding", "v=DMARC1; p=none; rua=mailto:a%zz@example.com", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §3.2.2 [ ] only in authority", "v=DMARC1; p=none; rua=mailto:a[1]@example.com", 0, OK, "p=none", "dropped" },
	{ "RFC 3986 §3.2.2 IP literal", "v=DMARC1; p=none; rua=https://[2001:db8::1]/r", 0, OK, "p=none rua=https://[2001:db8::1]/r!0", NULL },
	{ "RFC 9989 §4.8 empty rua", "v=DMARC1; p=none; rua=", 0, OK, "p=none", "dropped" },
	{ "RFC 9989 §4.8 trailing comma in rua", "v=DMARC1; p=none" RUA ",", 0, OK, "p=none" RUA_S, "dropped" },
	{ "RFC 7489 §6.3 ruf", "v=DMARC1; p=none; ruf=mailto:f@example.com!1m", 0, OK, "p=none ruf=mailto:f@example.com!1048576", NULL },
	{ "RFC 7489 §6.6.3 ruf alone does not rescue p", "v=DMARC1; ruf=mailto:f@example.com", 0, INV, NULL, "no p tag" },

	/* bytes */
	{ "RFC 9989 §4.8 NUL is no dmarc-value char: INVALID", "v=DMARC1; p=reject\0; rua=mailto:a@example.com", 43, INV, NULL, "NUL byte at offset 18" },
	{ "RFC 9989 §4.8 trailing NUL: INVALID", "v=DMARC1; p=reject\0", 19, INV, NULL, "NUL" },
	{ "RFC 9989 §4.8 non-ASCII byte in p", "v=DMARC1; p=reject\xff", 0, INV, NULL, "\\xff" },

	/* everything */
	{ "RFC 9989 §4.7 all tags", "v=DMARC1; p=quarantine; sp=reject; np=reject; psd=n; t=y; adkim=s; aspf=s; "
	  "pct=25; fo=1:d; rf=afrf; ri=600; rua=mailto:a@example.com!5m; ruf=mailto:f@example.com", 0, OK,
	  "p=quarantine sp=reject np=reject adkim=s aspf=s pct=25 psd=n t=y fo=1:d rf=afrf ri=600 "
	  "rua=mailto:a@example.com!5242880 ruf=mailto:f@example.com!0", "" },
};

/* run_parse_cases - the table above */
static void
run_parse_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->rec);
		struct dmarc_record r;
		char err[512];
		enum dmarc_parse got;

		memset(&r, 0xa5, sizeof(r));	/* the parser must not trust the old contents */
		got = dmarc_record_parse(c->rec, len, &r, err, sizeof(err));
		tap_is_int(got, c->want, "%s: result", c->name);
		if (c->want == DMARC_PARSE_OK && got == DMARC_PARSE_OK) {
			char *s = summary(&r);

			tap_is_str(s, c->sum, "%s: fields", c->name);
			tap_ok(r.raw != NULL && strlen(r.raw) == len && memcmp(r.raw, c->rec, len) == 0,
			    "%s: raw kept as published", c->name);
			free(s);
			dmarc_record_free(&r);
		} else if (got != DMARC_PARSE_OK) {
			tap_ok(is_zero(&r), "%s: struct left zeroed", c->name);
			if (got == DMARC_PARSE_INVALID)
				tap_ok(err[0] != '\0', "%s: err explains (%s)", c->name, err);
		} else
			dmarc_record_free(&r);
		if (c->err_has != NULL && c->err_has[0] == '\0')
			tap_is_str(err, "", "%s: nothing noted in err", c->name);
		else if (c->err_has != NULL && !tap_ok(strstr(err, c->err_has) != NULL,
		    "%s: err mentions \"%s\"", c->name, c->err_has))
			tap_diag("  err: %s", err);
	}
}

/* test_limits - the 8 KiB cap, NULL/short err buffers, free */
static void
test_limits(void)
{
	struct dmarc_record r;
	char err[128], tiny[8];
	struct buf b = BUF_INIT;
	const char *rec;

	/* exactly 8192 bytes is fine, one more is refused */
	buf_puts(&b, "v=DMARC1; p=reject; x=");
	while (b.len < 8192)
		buf_putc(&b, 'a');
	rec = buf_str(&b);
	tap_is_int(dmarc_record_parse(rec, b.len, &r, err, sizeof(err)), DMARC_PARSE_OK,
	    "size cap (HACKING.md): an 8192-byte record is parsed");
	tap_ok(r.p == DMARC_POLICY_REJECT && r.raw != NULL && strlen(r.raw) == 8192,
	    "size cap (HACKING.md): the 8192-byte record is complete");
	dmarc_record_free(&r);
	buf_putc(&b, 'a');
	rec = buf_str(&b);
	memset(&r, 0x5a, sizeof(r));
	tap_is_int(dmarc_record_parse(rec, b.len, &r, err, sizeof(err)), DMARC_PARSE_INVALID,
	    "size cap (HACKING.md): an 8193-byte record is refused");
	tap_ok(strstr(err, "too long") != NULL && is_zero(&r), "size cap (HACKING.md): refusal says why, struct zeroed");
	buf_free(&b);

	/* err may be NULL or tiny */
	tap_is_int(dmarc_record_parse("v=DMARC1; p=bogus", 17, &r, NULL, 0), DMARC_PARSE_INVALID,
	    "RFC 7489 §6.6.3 NULL err buffer is allowed");
	tap_is_int(dmarc_record_parse("v=DMARC1; p=bogus", 17, &r, tiny, sizeof(tiny)), DMARC_PARSE_INVALID,
	    "RFC 7489 §6.6.3 tiny err buffer is allowed");
	tap_ok(strlen(tiny) == sizeof(tiny) - 1, "RFC 7489 §6.6.3 tiny err buffer is truncated, terminated");
	tap_is_int(dmarc_record_parse(NULL, 0, &r, err, sizeof(err)), DMARC_PARSE_NOT_DMARC,
	    "RFC 7489 §6.6.3 NULL text is not a DMARC record");

	/* free leaves the struct zeroed and may be repeated */
	rec = "v=DMARC1; p=none; fo=1; rf=afrf; rua=mailto:a@example.com; ruf=mailto:b@example.com";
	tap_is_int(dmarc_record_parse(rec, strlen(rec), &r, err, sizeof(err)), DMARC_PARSE_OK,
	    "RFC 7489 §6.3 record with every allocated field");
	tap_is_str(err, "", "RFC 7489 §6.3 a clean record leaves err empty");
	dmarc_record_free(&r);
	tap_ok(is_zero(&r), "dmarc_record_free zeroes the struct");
	dmarc_record_free(&r);
	tap_ok(is_zero(&r), "dmarc_record_free twice is harmless");
	dmarc_record_free(NULL);

	tap_is_str(dmarc_policy_str(DMARC_POLICY_NONE), "none", "RFC 7489 §6.3 policy string none");
	tap_is_str(dmarc_policy_str(DMARC_POLICY_QUARANTINE), "quarantine", "RFC 7489 §6.3 policy string quarantine");
	tap_is_str(dmarc_policy_str(DMARC_POLICY_REJECT), "reject", "RFC 7489 §6.3 policy string reject");
	tap_is_str(dmarc_policy_str(DMARC_POLICY_UNSET), "", "policy string for UNSET is empty");
}

struct scase {
	const char	*name;
	const char	*txt[4];
	size_t		 len[4];	/* 0: strlen */
	size_t		 n;
	int		 want;
	size_t		 which;
};

static const struct scase scases[] = {
	{ "RFC 7489 §6.6.3 no TXT at all", { NULL }, { 0 }, 0, 0, 0 },
	{ "RFC 7489 §6.6.3 only a verification TXT", { "google-site-verification=abc" }, { 0 }, 1, 0, 0 },
	{ "RFC 7489 §6.6.3 verification TXT + one DMARC", { "google-site-verification=abc", "v=DMARC1; p=reject" }, { 0 }, 2, 1, 1 },
	{ "RFC 7489 §6.6.3 step 5 two DMARC records", { "v=DMARC1; p=reject", "v=DMARC1; p=none" }, { 0 }, 2, -1, 0 },
	{ "RFC 9989 §4.10 broken + good DMARC: both discarded", { "v=DMARC1; p=bogus", "v=DMARC1; p=none" }, { 0 }, 2, -1, 0 },
	{ "RFC 7489 §6.6.3 v=DMARC1 later in the TXT (D6)", { "foo v=DMARC1; p=reject" }, { 0 }, 1, 0, 0 },
	{ "RFC 7489 §6.6.3 D6 decoy + real record", { "x; v=DMARC1; p=reject", "v=DMARC1; p=none" }, { 0 }, 2, 1, 1 },
	{ "RFC 7489 §6.6.3 xv=DMARC1 is not DMARC", { "xv=DMARC1; p=reject" }, { 0 }, 1, 0, 0 },
	{ "RFC 7489 §6.4 leading space is not DMARC", { " v=DMARC1; p=reject", "v=DMARC1; p=none" }, { 0 }, 2, 1, 1 },
	{ "RFC 9989 §4.7 v=DMARC10 is not DMARC1", { "v=DMARC10; p=none", "v=DMARC1" }, { 0 }, 2, 1, 1 },
	{ "RFC 6376 §3.2 V=DMARC1 is not DMARC", { "V=DMARC1; p=none", "v=DMARC1; p=reject" }, { 0 }, 2, 1, 1 },
	{ "RFC 9989 §4.10 NUL after v=DMARC1; still counts", { "v=DMARC1; p=none\0junk", "spf" }, { 21, 3 }, 2, 1, 0 },
	{ "RFC 9989 §4.8 NUL inside DMARC1: not DMARC", { "v=DMARC\0" "1; p=none" }, { 17 }, 1, 0, 0 },
	{ "RFC 7489 §6.6.3 NULL entry skipped", { NULL, "v=DMARC1; p=none" }, { 0 }, 2, 1, 1 },
};

/* run_select_cases - dmarc_record_select */
static void
run_select_cases(void)
{
	size_t i, j;

	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		const struct scase *c = &scases[i];
		char *txt[4];
		size_t len[4], which = 99;
		int got;

		for (j = 0; j < 4; j++) {
			txt[j] = (char *)c->txt[j];
			len[j] = c->len[j] ? c->len[j] : (c->txt[j] ? strlen(c->txt[j]) : 0);
		}
		got = dmarc_record_select(txt, len, c->n, &which);
		tap_is_int(got, c->want, "%s: select", c->name);
		if (c->want == 1)
			tap_is_int(which, c->which, "%s: which", c->name);
		else
			tap_is_int(which, 99, "%s: which untouched", c->name);
	}

	/* len == NULL means C strings */
	{
		char *txt[] = { "spf", "v=DMARC1; p=reject" };
		size_t which = 0;
		struct dmarc_record r;
		char err[128];

		tap_is_int(dmarc_record_select(txt, NULL, 2, &which), 1, "RFC 7489 §6.6.3 select with len NULL");
		tap_is_int(which, 1, "RFC 7489 §6.6.3 select with len NULL picks index 1");
		tap_is_int(dmarc_record_parse(txt[which], strlen(txt[which]), &r, err, sizeof(err)),
		    DMARC_PARSE_OK, "RFC 7489 §6.6.3 the selected record parses");
		dmarc_record_free(&r);
	}
	/* selected but with a NUL: parse says INVALID, never a truncated OK */
	{
		char rec[] = "v=DMARC1; p=none\0; p=reject";
		char *txt[] = { rec };
		size_t len[] = { sizeof(rec) - 1 }, which = 9;
		struct dmarc_record r;
		char err[128];

		tap_is_int(dmarc_record_select(txt, len, 1, &which), 1, "RFC 9989 §4.10 NUL record selected");
		tap_is_int(dmarc_record_parse(txt[which], len[which], &r, err, sizeof(err)),
		    DMARC_PARSE_INVALID, "RFC 9989 §4.8 NUL record does not parse");
	}
}

int
main(void)
{
	run_parse_cases();
	test_limits();
	run_select_cases();
	return tap_done();
}
