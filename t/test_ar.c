/*
 * test_ar.c - the Authentication-Results writer (RFC 8601) and the result
 * vocabulary (result.c).
 *
 * Besides golden strings, every composed value is checked by
 *   - a byte check: printable US-ASCII only, LF only as part of our own
 *     "\n\t" folds, no CR anywhere;
 *   - a layout check: no physical line over 78 columns (TAB = 8, the first
 *     line counts "Authentication-Results: ") unless a single unit is
 *     longer by itself;
 *   - an independent RFC 8601 §2.2 tokenizer that must find exactly the
 *     method results we meant, with their properties unquoted.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "buf.h"
#include "result.h"
#include "util.h"
#include "tap.h"

/* ------------------------------------------------------------------ */
/* an RFC 8601 tokenizer, written from the ABNF, independent of ar.c   */

#define P_MAX_RES	32
#define P_MAX_PROPS	12

struct pres {
	char	method[64];
	char	result[64];
	int	nprops;
	char	pname[P_MAX_PROPS][130];
	char	pval[P_MAX_PROPS][1024];
};

struct parsed {
	char	authserv[512];
	bool	none;
	int	n;
	struct pres r[P_MAX_RES];
};

static bool
p_tokenc(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* CFWS: blanks and (nested) comments with quoted-pairs */
static int
p_cfws(const char **pp)
{
	const char *p = *pp;
	int depth;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '(')
			break;
		depth = 0;
		do {
			if (*p == '\0')
				return -1;
			if (*p == '\\') {
				if (p[1] == '\0')
					return -1;
				p += 2;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0);
	}
	*pp = p;
	return 0;
}

static int
p_quoted(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p != '"')
		return -1;
	for (p++; *p != '"'; p++) {
		if (*p == '\0')
			return -1;
		if (*p == '\\') {
			p++;
			if (*p == '\0')
				return -1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p;
	}
	out[n] = '\0';
	*pp = p + 1;
	return 0;
}

static int
p_token(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	while (p_tokenc((unsigned char)*p)) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p++;
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	*pp = p;
	return 0;
}

static int
p_keyword(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p++;
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	*pp = p;
	return 0;
}

static bool
p_is_domain(const char *s)
{
	const char *l = s;

	if (*s == '\0' || strchr(s, '.') == NULL)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return strstr(l, "..") == NULL && l[0] != '.' && s[-1] != '.';
}

/* pvalue = value / [ [ local-part ] "@" ] domain-name */
static int
p_pvalue(const char **pp, char *out, size_t cap)
{
	const char *p = *pp, *at;
	size_t n = 0, i;

	if (*p == '"')
		return p_quoted(pp, out, cap);
	while (*p != '\0' && strchr(" \t;()\"", *p) == NULL) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p++;
	}
	out[n] = '\0';
	if (n == 0)
		return -1;
	for (i = 0; i < n && p_tokenc((unsigned char)out[i]); i++)
		;
	if (i < n) {
		at = strrchr(out, '@');
		if (at == NULL || !p_is_domain(at + 1))
			return -1;
		for (i = 0; out + i < at; i++)
			if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f ||
			    strchr("()<>[]:;@\\,\"", out[i]) != NULL)
				return -1;
	}
	*pp = p;
	return 0;
}

/* parse_ar - 0 and *res filled, or -1 on any syntax error */
static int
parse_ar(const char *value, struct parsed *res)
{
	char *u = xstrdup(value), *w = u;
	const char *p;
	struct pres *r;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	/* unfold: every LF must be followed by a TAB; drop the LF */
	for (p = value; *p != '\0'; p++) {
		if (*p == '\r')
			goto out;
		if (*p == '\n') {
			if (p[1] != '\t')
				goto out;
			continue;
		}
		*w++ = *p;
	}
	*w = '\0';
	p = u;
	if (p_cfws(&p) != 0)
		goto out;
	if (*p == '"' ? p_quoted(&p, res->authserv, sizeof(res->authserv)) != 0 :
	    p_token(&p, res->authserv, sizeof(res->authserv)) != 0)
		goto out;
	if (p_cfws(&p) != 0)
		goto out;
	while (isdigit((unsigned char)*p))
		p++;
	if (p_cfws(&p) != 0 || *p != ';')
		goto out;
	p++;
	if (p_cfws(&p) != 0)
		goto out;
	if (strncmp(p, "none", 4) == 0 && !isalnum((unsigned char)p[4]) && p[4] != '=') {
		p += 4;
		if (p_cfws(&p) != 0 || *p != '\0')
			goto out;
		res->none = true;
		rc = 0;
		goto out;
	}
	for (;;) {
		if (res->n == P_MAX_RES)
			goto out;
		r = &res->r[res->n++];
		if (p_keyword(&p, r->method, sizeof(r->method)) != 0 || p_cfws(&p) != 0 || *p++ != '=' ||
		    p_cfws(&p) != 0 || p_keyword(&p, r->result, sizeof(r->result)) != 0 || p_cfws(&p) != 0)
			goto out;
		while (*p != '\0' && *p != ';') {
			char ptype[64], prop[64];

			if (r->nprops == P_MAX_PROPS)
				goto out;
			if (p_keyword(&p, ptype, sizeof(ptype)) != 0 || p_cfws(&p) != 0 || *p++ != '.' ||
			    p_cfws(&p) != 0 || p_keyword(&p, prop, sizeof(prop)) != 0 || p_cfws(&p) != 0 ||
			    *p++ != '=' || p_cfws(&p) != 0 ||
			    p_pvalue(&p, r->pval[r->nprops], sizeof(r->pval[0])) != 0 || p_cfws(&p) != 0)
				goto out;
			snprintf(r->pname[r->nprops], sizeof(r->pname[0]), "%s.%s", ptype, prop);
			r->nprops++;
		}
		if (*p == '\0')
			break;
		p++;	/* ';' */
		if (p_cfws(&p) != 0)
			goto out;
	}
	rc = 0;
out:
	free(u);
	return rc;
}

/* prop - value of a property in a parsed resinfo, NULL when absent */
static const char *
prop(const struct pres *r, const char *name)
{
	int i;

	for (i = 0; i < r->nprops; i++)
		if (strcmp(r->pname[i], name) == 0)
			return r->pval[i];
	return NULL;
}

/* clean_bytes - printable ASCII, LF only in "\n\t", no CR, TAB only after LF */
static bool
clean_bytes(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '\n') {
			if (p[1] != '\t')
				return false;
			p++;
			continue;
		}
		if (*p < 0x20 || *p > 0x7e)
			return false;
	}
	return true;
}

/* max_line - widest physical line (TAB = 8, first line after the field name) */
static size_t
max_line(const char *s)
{
	size_t col = strlen("Authentication-Results: "), max = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			if (col > max)
				max = col;
			col = 0;
		} else if (*s == '\t') {
			col += 8;
		} else {
			col++;
		}
	}
	return col > max ? col : max;
}

/* ------------------------------------------------------------------ */
/* verdict builders                                                    */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
set_spf(struct spf_outcome *s, enum auth_res r, bool helo, const char *domain,
    const char *identity, const char *reason)
{
	s->result = r;
	s->helo_scope = helo;
	s->domain = dup_or_null(domain);
	s->identity = dup_or_null(identity);
	s->reason = dup_or_null(reason);
}

static struct dkim_outcome *
add_dkim(struct verdict *v, enum auth_res r, const char *d, const char *sel, const char *a,
    const char *b, unsigned bits, const char *reason)
{
	struct dkim_outcome *o;

	v->dkim = xrealloc(v->dkim, (v->n_dkim + 1) * sizeof(*v->dkim));
	o = &v->dkim[v->n_dkim++];
	memset(o, 0, sizeof(*o));
	o->result = r;
	o->domain = dup_or_null(d);
	o->selector = dup_or_null(sel);
	o->algorithm = dup_or_null(a);
	o->b = dup_or_null(b);
	o->key_bits = bits;
	o->reason = dup_or_null(reason);
	return o;
}

static struct dmarc_outcome *
add_dmarc(struct verdict *v, enum auth_res r, const char *from, bool have_record,
    enum dmarc_policy pol, enum disposition disp, enum override_reason why, const char *comment)
{
	struct dmarc_outcome *o;

	v->dmarc = xrealloc(v->dmarc, (v->n_dmarc + 1) * sizeof(*v->dmarc));
	o = &v->dmarc[v->n_dmarc++];
	memset(o, 0, sizeof(*o));
	o->result = r;
	o->from_domain = dup_or_null(from);
	o->policy_domain = have_record ? dup_or_null(from) : NULL;
	o->have_record = have_record;
	if (have_record) {
		o->record.p = pol;
		o->record.pct = 100;
		o->record.raw = xasprintf("v=DMARC1; p=%s", pol == DMARC_POLICY_REJECT ? "reject" : "none");
	}
	o->policy = pol;
	o->disposition = disp;
	o->reason = why;
	o->comment = dup_or_null(comment);
	return o;
}

static char *
compose(const char *id, const char *helo, const char *mail_from, const struct verdict *v)
{
	struct ar_input in = { id, "192.0.2.1", helo, mail_from, v };

	return ar_compose(&in);
}

/* check_all - the three generic checks; returns the parse for more */
static int
check_all(const char *what, const char *ar, struct parsed *ps)
{
	int ok = 1;

	if (ar == NULL) {
		tap_ok(0, "%s: composed", what);
		return 0;
	}
	ok &= tap_ok(clean_bytes(ar), "%s: only printable ASCII and our own folds (RFC 5322 §2.2)", what);
	ok &= tap_ok(parse_ar(ar, ps) == 0, "%s: re-parses as RFC 8601 §2.2", what);
	if (!ok)
		tap_diag("value: %s", ar);
	return ok;
}

/* ------------------------------------------------------------------ */

static void
test_vocabulary(void)
{
	static const struct {
		enum auth_res r;
		const char *s;
	} t[] = {
		{ AUTH_NONE, "none" }, { AUTH_PASS, "pass" }, { AUTH_FAIL, "fail" },
		{ AUTH_SOFTFAIL, "softfail" }, { AUTH_NEUTRAL, "neutral" },
		{ AUTH_TEMPERROR, "temperror" }, { AUTH_PERMERROR, "permerror" },
		{ AUTH_POLICY, "policy" },
	};
	enum auth_res r;
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok &= strcmp(auth_res_str(t[i].r), t[i].s) == 0;
		ok &= auth_res_parse(t[i].s, &r) == 0 && r == t[i].r;
	}
	tap_ok(ok, "RFC 8601 §2.7: auth_res_str/auth_res_parse round trip for all 8 results");
	tap_ok(auth_res_parse("TempError", &r) == 0 && r == AUTH_TEMPERROR,
	    "RFC 8601 §2.2: result keywords are case-insensitive");
	tap_ok(auth_res_parse("hardfail", &r) == -1 && auth_res_parse("", &r) == -1 &&
	    auth_res_parse(NULL, &r) == -1, "auth_res_parse refuses unknown keywords");
	tap_ok(strcmp(disposition_str(DISP_NONE), "none") == 0 &&
	    strcmp(disposition_str(DISP_QUARANTINE), "quarantine") == 0 &&
	    strcmp(disposition_str(DISP_REJECT), "reject") == 0,
	    "RFC 9990 DispositionType keywords");
	tap_ok(strcmp(override_reason_str(OVR_SAMPLED_OUT), "sampled_out") == 0 &&
	    strcmp(override_reason_str(OVR_POLICY_TEST_MODE), "policy_test_mode") == 0 &&
	    strcmp(override_reason_str(OVR_LOCAL_POLICY), "local_policy") == 0 &&
	    strcmp(override_reason_str(OVR_TRUSTED_FORWARDER), "trusted_forwarder") == 0 &&
	    strcmp(override_reason_str(OVR_FORWARDED), "forwarded") == 0 &&
	    strcmp(override_reason_str(OVR_MAILING_LIST), "mailing_list") == 0 &&
	    strcmp(override_reason_str(OVR_OTHER), "other") == 0 &&
	    strcmp(override_reason_str(OVR_NONE), "none") == 0,
	    "RFC 7489 / RFC 9990 PolicyOverrideType keywords");
}

static void
test_value_and_comment(void)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
		const char *what;
	} t[] = {
		{ "example.com", "example.com", "a domain is a token" },
		{ "rsa-sha256", "rsa-sha256", "an algorithm is a token" },
		{ "AbC/dE+f", "\"AbC/dE+f\"", "'/' is a tspecial: quoted-string" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"", "'\"' and '\\' escaped as quoted-pairs" },
		{ "x; dkim=pass", "\"x; dkim=pass\"", "';' and '=' quoted" },
		{ "[192.0.2.1]", "\"[192.0.2.1]\"", "address literal quoted" },
		{ "", NULL, "empty value refused" },
		{ "a\r\nX-Injected: 1", NULL, "CR LF refused" },
		{ "tab\there", NULL, "TAB refused" },
		{ "ex\xc3\xa4mple.com", NULL, "8-bit bytes refused" },
		{ "del\x7f", NULL, "DEL refused" },
	};
	struct buf b;
	size_t i;
	int rc;
	char *c, *long_s;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b, 0);
		rc = ar_value(&b, t[i].in);
		if (t[i].out == NULL)
			tap_ok(rc == -1 && b.len == 0, "RFC 8601 §2.2 ar_value: %s", t[i].what);
		else
			tap_ok(rc == 0 && strcmp(buf_str(&b), t[i].out) == 0, "RFC 8601 §2.2 ar_value: %s", t[i].what);
		buf_free(&b);
	}
	long_s = xmalloc(AR_VALUE_MAX + 2);
	memset(long_s, 'a', AR_VALUE_MAX + 1);
	long_s[AR_VALUE_MAX + 1] = '\0';
	buf_init(&b, 0);
	tap_ok(ar_value(&b, long_s) == -1, "ar_value refuses a value over %d bytes", AR_VALUE_MAX);
	long_s[AR_VALUE_MAX] = '\0';
	tap_ok(ar_value(&b, long_s) == 0 && b.len == AR_VALUE_MAX, "ar_value keeps a value of %d bytes",
	    AR_VALUE_MAX);
	buf_free(&b);
	free(long_s);

	c = ar_comment("key (a) \\ b\r\nX-Injected: 1\x01\xff");
	tap_is_str(c, "(key \\(a\\) \\\\ b  X-Injected: 1?\?)",
	    "RFC 5322 §3.2.2 ar_comment: ( ) \\ quoted, CR LF to space, CTL and 8-bit to '?'");
	free(c);
}

static void
test_none(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar;

	ar = compose("mx.example.org", "mail.example.net", "a@example.net", NULL);
	tap_is_str(ar, "mx.example.org; none", "RFC 8601 §2.2 no-result: nothing evaluated (no verdict)");
	free(ar);
	verdict_init(&v);
	ar = compose("mx.example.org", "mail.example.net", "a@example.net", &v);
	tap_is_str(ar, "mx.example.org; none", "RFC 8601 §2.2 no-result: empty verdict");
	if (check_all("none", ar, &ps))
		tap_ok(ps.none && ps.n == 0 && strcmp(ps.authserv, "mx.example.org") == 0,
		    "RFC 8601 §2.2: tokenizer sees authserv-id and none");
	free(ar);
	verdict_free(&v);

	tap_ok(compose(NULL, NULL, NULL, NULL) == NULL, "no authserv-id: no header");
	ar = compose("mx\r\nX-Injected: 1", NULL, NULL, NULL);
	tap_ok(ar == NULL, "authserv-id with CR LF: no header");
	free(ar);
}

static void
test_golden_pass(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar;

	verdict_init(&v);
	set_spf(&v.spf, AUTH_PASS, false, "example.com", "alice@example.com", "sender is authorized");
	add_dkim(&v, AUTH_PASS, "example.com", "sel1", "rsa-sha256", "AbCdEfGh", 2048, NULL);
	add_dmarc(&v, AUTH_PASS, "example.com", true, DMARC_POLICY_REJECT, DISP_NONE, OVR_NONE, NULL);
	v.dmarc[0].spf_aligned = v.dmarc[0].dkim_aligned = true;
	ar = compose("mx.example.org", "mail.example.com", "alice@example.com", &v);
	tap_is_str(ar,
	    "mx.example.org;\n"
	    "\tspf=pass (sender is authorized) smtp.mailfrom=alice@example.com;\n"
	    "\tdkim=pass (2048-bit key) header.d=example.com header.s=sel1\n"
	    "\theader.a=rsa-sha256 header.b=AbCdEfGh;\n"
	    "\tdmarc=pass (p=reject dis=none) header.from=example.com\n"
	    "\tpolicy.dmarc=reject",
	    "RFC 8601 §2.7: golden spf/dkim/dmarc pass");
	if (check_all("pass", ar, &ps)) {
		tap_ok(ps.n == 3 && strcmp(ps.r[0].method, "spf") == 0 && strcmp(ps.r[0].result, "pass") == 0 &&
		    strcmp(ps.r[1].method, "dkim") == 0 && strcmp(ps.r[2].method, "dmarc") == 0,
		    "RFC 8601 §2.2: three resinfos spf, dkim, dmarc");
		tap_is_str(prop(&ps.r[0], "smtp.mailfrom"), "alice@example.com",
		    "RFC 8601 §2.7.2: smtp.mailfrom carries the address");
		tap_is_str(prop(&ps.r[1], "header.b"), "AbCdEfGh", "RFC 6008: header.b");
		tap_is_str(prop(&ps.r[2], "policy.dmarc"), "reject", "RFC 9989: policy.dmarc");
		tap_ok(max_line(ar) <= AR_LINE_MAX, "RFC 5322 §2.1.1: no line over 78 columns (%zu)", max_line(ar));
	}
	free(ar);
	verdict_free(&v);
}

static void
test_results(void)
{
	static const enum auth_res spf_res[] = { AUTH_NONE, AUTH_PASS, AUTH_FAIL, AUTH_SOFTFAIL,
		AUTH_NEUTRAL, AUTH_TEMPERROR, AUTH_PERMERROR };
	static const enum auth_res dkim_res[] = { AUTH_PASS, AUTH_FAIL, AUTH_NEUTRAL,
		AUTH_TEMPERROR, AUTH_PERMERROR, AUTH_POLICY };
	static const enum auth_res dmarc_res[] = { AUTH_NONE, AUTH_PASS, AUTH_FAIL,
		AUTH_TEMPERROR, AUTH_PERMERROR };
	struct verdict v;
	struct parsed ps;
	size_t i;
	char *ar;
	int ok;

	ok = 1;
	for (i = 0; i < sizeof(spf_res) / sizeof(spf_res[0]); i++) {
		verdict_init(&v);
		set_spf(&v.spf, spf_res[i], false, "example.net", "bob@example.net", NULL);
		ar = compose("mx.example.org", "h.example.net", "bob@example.net", &v);
		ok &= ar != NULL && clean_bytes(ar) && parse_ar(ar, &ps) == 0 && ps.n == 1 &&
		    strcmp(ps.r[0].method, "spf") == 0 && strcmp(ps.r[0].result, auth_res_str(spf_res[i])) == 0 &&
		    prop(&ps.r[0], "smtp.mailfrom") != NULL;
		free(ar);
		verdict_free(&v);
	}
	tap_ok(ok, "RFC 8601 §2.7.2: every SPF result (none..permerror) is written and re-parsed");

	ok = 1;
	for (i = 0; i < sizeof(dkim_res) / sizeof(dkim_res[0]); i++) {
		verdict_init(&v);
		add_dkim(&v, dkim_res[i], "example.net", "s", "rsa-sha256", "abcdefgh", 1024,
		    dkim_res[i] == AUTH_PASS ? NULL : "signature did not verify");
		ar = compose("mx.example.org", NULL, "", &v);
		ok &= ar != NULL && clean_bytes(ar) && parse_ar(ar, &ps) == 0 && ps.n == 1 &&
		    strcmp(ps.r[0].method, "dkim") == 0 && strcmp(ps.r[0].result, auth_res_str(dkim_res[i])) == 0 &&
		    strcmp(prop(&ps.r[0], "header.d"), "example.net") == 0;
		free(ar);
		verdict_free(&v);
	}
	tap_ok(ok, "RFC 8601 §2.7.1: every DKIM result (pass..policy) is written and re-parsed");

	ok = 1;
	for (i = 0; i < sizeof(dmarc_res) / sizeof(dmarc_res[0]); i++) {
		verdict_init(&v);
		add_dmarc(&v, dmarc_res[i], "example.net", dmarc_res[i] == AUTH_PASS || dmarc_res[i] == AUTH_FAIL,
		    DMARC_POLICY_QUARANTINE, DISP_NONE, OVR_NONE, NULL);
		ar = compose("mx.example.org", NULL, "", &v);
		ok &= ar != NULL && clean_bytes(ar) && parse_ar(ar, &ps) == 0 && ps.n == 2 &&
		    strcmp(ps.r[0].method, "dkim") == 0 && strcmp(ps.r[0].result, "none") == 0 &&
		    strcmp(ps.r[1].method, "dmarc") == 0 && strcmp(ps.r[1].result, auth_res_str(dmarc_res[i])) == 0 &&
		    strcmp(prop(&ps.r[1], "header.from"), "example.net") == 0;
		if (ar != NULL && !ok)
			tap_diag("%s", ar);
		free(ar);
		verdict_free(&v);
	}
	tap_ok(ok, "RFC 8601 §2.7.7 / RFC 9989: every DMARC result written (with dkim=none when unsigned)");
}

static void
test_multi_dkim(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar;

	verdict_init(&v);
	add_dkim(&v, AUTH_PASS, "example.com", "s2048", "rsa-sha256", "Aaaaaaaa", 2048, NULL);
	add_dkim(&v, AUTH_FAIL, "esp.example", "k1", "ed25519-sha256", "Bbbbbbbb", 0, "body hash mismatch");
	add_dkim(&v, AUTH_POLICY, "old.example", "legacy", "rsa-sha1", "Cccccccc", 1024, "rsa-sha1 not accepted (RFC 8301)");
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("three signatures", ar, &ps)) {
		tap_ok(ps.n == 3 &&
		    strcmp(ps.r[0].result, "pass") == 0 && strcmp(prop(&ps.r[0], "header.d"), "example.com") == 0 &&
		    strcmp(ps.r[1].result, "fail") == 0 && strcmp(prop(&ps.r[1], "header.a"), "ed25519-sha256") == 0 &&
		    strcmp(ps.r[2].result, "policy") == 0 && strcmp(prop(&ps.r[2], "header.s"), "legacy") == 0,
		    "RFC 8601 §2.7.1: one dkim resinfo per signature, in order, with d/s/a");
		tap_ok(strstr(ar, "(rsa-sha1 not accepted \\(RFC 8301\\))") != NULL,
		    "RFC 5322 §3.2.2: parentheses inside a reason are quoted-pairs");
		tap_ok(max_line(ar) <= AR_LINE_MAX, "RFC 5322 §2.1.1: folded to 78 columns (%zu)", max_line(ar));
	}
	free(ar);
	verdict_free(&v);
}

static void
test_null_sender_and_helo(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar;

	verdict_init(&v);
	set_spf(&v.spf, AUTH_PASS, true, "mail.example.net", "mail.example.net", NULL);
	ar = compose("mx.example.org", "mail.example.net", "", &v);
	tap_is_str(ar, "mx.example.org;\n\tspf=pass smtp.helo=mail.example.net",
	    "RFC 7208 §2.3 / RFC 8601 §2.7.2: null sender is reported as smtp.helo");
	free(ar);
	verdict_free(&v);

	verdict_init(&v);
	set_spf(&v.spf, AUTH_SOFTFAIL, false, "example.net", "bob@example.net", NULL);
	set_spf(&v.spf_helo, AUTH_NEUTRAL, true, "mail.example.net", "mail.example.net", NULL);
	v.have_spf_helo = true;
	ar = compose("mx.example.org", "mail.example.net", "bob@example.net", &v);
	if (check_all("mfrom+helo", ar, &ps))
		tap_ok(ps.n == 2 && strcmp(ps.r[0].result, "softfail") == 0 &&
		    strcmp(prop(&ps.r[0], "smtp.mailfrom"), "bob@example.net") == 0 &&
		    strcmp(ps.r[1].result, "neutral") == 0 &&
		    strcmp(prop(&ps.r[1], "smtp.helo"), "mail.example.net") == 0,
		    "RFC 7208 §2.3: separate HELO check is its own spf resinfo");
	free(ar);
	verdict_free(&v);

	/* a local-part that is not a dot-atom: only the domain (RFC 8601 §2.3) */
	verdict_init(&v);
	set_spf(&v.spf, AUTH_PASS, false, "example.net", NULL, NULL);
	ar = compose("mx.example.org", NULL, "\"john doe\"@example.net", &v);
	if (check_all("quoted local-part", ar, &ps))
		tap_is_str(prop(&ps.r[0], "smtp.mailfrom"), "example.net",
		    "RFC 8601 §2.2 pvalue: unusual local-part left out, domain kept");
	free(ar);
	verdict_free(&v);
}

static void
test_dmarc_comments(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar;

	verdict_init(&v);
	add_dkim(&v, AUTH_FAIL, "example.com", "s", "rsa-sha256", NULL, 0, "signature verification failed");
	add_dmarc(&v, AUTH_FAIL, "example.com", true, DMARC_POLICY_REJECT, DISP_REJECT, OVR_NONE, NULL);
	ar = compose("mx.example.org", NULL, "", &v);
	tap_ok(ar != NULL && strstr(ar, "dmarc=fail (p=reject dis=reject) header.from=example.com") != NULL,
	    "RFC 7489 §7.2: dmarc=fail (p=reject dis=reject) header.from=example.com");
	if (check_all("dmarc fail", ar, &ps))
		tap_is_str(prop(&ps.r[1], "policy.dmarc"), "reject", "policy.dmarc is the applied policy");
	free(ar);
	verdict_free(&v);

	verdict_init(&v);
	add_dmarc(&v, AUTH_FAIL, "example.com", true, DMARC_POLICY_REJECT, DISP_QUARANTINE, OVR_SAMPLED_OUT, NULL);
	ar = compose("mx.example.org", NULL, "", &v);
	tap_ok(ar != NULL && strstr(ar, "(p=reject dis=quarantine override=sampled_out)") != NULL,
	    "RFC 7489 §6.6.4: sampled-out message says so in the comment");
	if (check_all("sampled out", ar, &ps))
		tap_is_str(prop(&ps.r[1], "policy.dmarc"), "quarantine",
		    "RFC 9989: policy.dmarc after pct processing");
	free(ar);
	verdict_free(&v);

	verdict_init(&v);
	add_dmarc(&v, AUTH_NONE, "example.com", false, DMARC_POLICY_UNSET, DISP_NONE, OVR_NONE, NULL);
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("no record", ar, &ps))
		tap_ok(ps.n == 2 && strcmp(ps.r[1].result, "none") == 0 && prop(&ps.r[1], "policy.dmarc") == NULL,
		    "RFC 9989: no record, no policy.dmarc");
	free(ar);
	verdict_free(&v);

	verdict_init(&v);
	v.from_problem = true;
	v.from_comment = xstrdup("multiple From addresses");
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("from problem", ar, &ps))
		tap_ok(ps.n == 1 && strcmp(ps.r[0].method, "dmarc") == 0 &&
		    strcmp(ps.r[0].result, "permerror") == 0 && strstr(ar, "(multiple From addresses)") != NULL,
		    "RFC 7489 §6.6.1: unusable From is dmarc=permerror with the reason");
	free(ar);
	verdict_free(&v);

	/* two author domains */
	verdict_init(&v);
	add_dmarc(&v, AUTH_PASS, "a.example", true, DMARC_POLICY_NONE, DISP_NONE, OVR_NONE, NULL);
	add_dmarc(&v, AUTH_FAIL, "b.example", true, DMARC_POLICY_REJECT, DISP_REJECT, OVR_NONE,
	    "multiple DMARC records");
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("two authors", ar, &ps))
		tap_ok(ps.n == 3 && strcmp(prop(&ps.r[1], "header.from"), "a.example") == 0 &&
		    strcmp(prop(&ps.r[2], "header.from"), "b.example") == 0 &&
		    strstr(ar, "multiple DMARC records)") != NULL,
		    "RFC 9989: one dmarc resinfo per author domain, comment kept");
	free(ar);
	verdict_free(&v);
}

static void
test_hostile(void)
{
	static const char evil_helo[] = "evil\"; dkim=pass header.d=paypal.com";
	struct verdict v;
	struct parsed ps;
	char *ar, *big;
	int i, ok;

	/* quote + semicolon: a quoted-string, nothing injected */
	verdict_init(&v);
	set_spf(&v.spf, AUTH_NONE, true, evil_helo, evil_helo, NULL);
	ar = compose("mx.example.org", evil_helo, "", &v);
	if (check_all("hostile HELO quote", ar, &ps)) {
		tap_ok(ps.n == 1 && strcmp(ps.r[0].method, "spf") == 0 && ps.r[0].nprops == 1,
		    "RFC 8601 §2.2: hostile HELO with '\"' and ';' yields exactly one spf resinfo, no dkim");
		tap_is_str(prop(&ps.r[0], "smtp.helo"), evil_helo,
		    "RFC 2045 quoted-string: the HELO comes back byte for byte");
	}
	free(ar);
	verdict_free(&v);

	/* CR LF: the property is dropped */
	verdict_init(&v);
	set_spf(&v.spf, AUTH_NONE, true, "x\r\nX-Injected: 1", "x\r\nX-Injected: 1", "x\r\nX-Injected: 2");
	ar = compose("mx.example.org", "x\r\nX-Injected: 1", "", &v);
	if (check_all("HELO with CRLF", ar, &ps))
		tap_ok(ps.n == 1 && ps.r[0].nprops == 0 && strstr(ar, "\nX-Injected") == NULL &&
		    strchr(ar, '\r') == NULL,
		    "RFC 5322 §2.2: CR LF in HELO and reason never reach the header");
	free(ar);
	verdict_free(&v);

	/* 8-bit bytes (NUL-free): dropped, not mangled */
	verdict_init(&v);
	set_spf(&v.spf, AUTH_NONE, true, "m\xc3\xa4il.example", NULL, NULL);
	ar = compose("mx.example.org", "m\xc3\xa4il.example", "", &v);
	if (check_all("8-bit HELO", ar, &ps))
		tap_ok(ps.n == 1 && prop(&ps.r[0], "smtp.helo") == NULL,
		    "8-bit HELO: smtp.helo dropped rather than replaced");
	free(ar);
	verdict_free(&v);

	/* 2000-byte HELO: over AR_VALUE_MAX, dropped; header stays short */
	big = xmalloc(2001);
	for (i = 0; i < 2000; i++)
		big[i] = (i % 64 == 63) ? '.' : 'a';
	big[2000] = '\0';
	verdict_init(&v);
	set_spf(&v.spf, AUTH_NONE, true, big, big, NULL);
	ar = compose("mx.example.org", big, "", &v);
	if (check_all("2000-byte HELO", ar, &ps))
		tap_ok(prop(&ps.r[0], "smtp.helo") == NULL && strlen(ar) < 200,
		    "RFC 5322 §2.1.1: 2000-byte HELO dropped, no 998-byte line possible");
	free(ar);
	verdict_free(&v);
	free(big);

	/* hostile DKIM fields and reasons */
	verdict_init(&v);
	add_dkim(&v, AUTH_FAIL, "paypal.com; dmarc=pass", "a(b)c\\", "rsa-sha256", "ab/c+d==", 0,
	    "bad ) reason ( with \\ and \"quotes\"");
	add_dkim(&v, AUTH_PASS, "ok.example", "s\x01", "rsa\r\n-sha256", "x\xff", 2048, NULL);
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("hostile DKIM", ar, &ps)) {
		tap_ok(ps.n == 2 && strcmp(ps.r[0].method, "dkim") == 0 && strcmp(ps.r[1].method, "dkim") == 0,
		    "RFC 8601 §2.2: hostile d= cannot add a dmarc resinfo");
		tap_is_str(prop(&ps.r[0], "header.d"), "paypal.com; dmarc=pass", "hostile d= quoted, intact");
		tap_is_str(prop(&ps.r[0], "header.s"), "a(b)c\\", "hostile s= with ( ) \\ quoted, intact");
		tap_is_str(prop(&ps.r[0], "header.b"), "ab/c+d==", "base64 header.b quoted");
		tap_ok(prop(&ps.r[1], "header.s") == NULL && prop(&ps.r[1], "header.a") == NULL &&
		    prop(&ps.r[1], "header.b") == NULL && strcmp(prop(&ps.r[1], "header.d"), "ok.example") == 0,
		    "control and 8-bit bytes: those properties dropped, the rest kept");
	}
	free(ar);
	verdict_free(&v);

	/* hostile envelope sender */
	verdict_init(&v);
	set_spf(&v.spf, AUTH_FAIL, false, "exa mple.com", NULL, NULL);
	ar = compose("mx.example.org", NULL, "a;b@exa mple.com", &v);
	if (check_all("hostile MAIL FROM", ar, &ps))
		tap_is_str(prop(&ps.r[0], "smtp.mailfrom"), "a;b@exa mple.com",
		    "RFC 8601 §2.2: an address that is no pvalue is written as a quoted-string");
	free(ar);
	verdict_free(&v);

	/* every printable byte in a HELO, one at a time, in the three fields */
	ok = 1;
	for (i = 0x20; i < 0x7f; i++) {
		char h[16];

		snprintf(h, sizeof(h), "a%cb", i);
		verdict_init(&v);
		set_spf(&v.spf, AUTH_PASS, true, h, h, h);
		add_dkim(&v, AUTH_PASS, h, h, NULL, NULL, 0, h);
		ar = compose("mx.example.org", h, "", &v);
		ok &= ar != NULL && clean_bytes(ar) && parse_ar(ar, &ps) == 0 && ps.n == 2 &&
		    prop(&ps.r[0], "smtp.helo") != NULL && strcmp(prop(&ps.r[0], "smtp.helo"), h) == 0 &&
		    strcmp(prop(&ps.r[1], "header.d"), h) == 0;
		if (!ok) {
			tap_diag("byte 0x%02x: %s", i, ar != NULL ? ar : "(null)");
			free(ar);
			verdict_free(&v);
			break;
		}
		free(ar);
		verdict_free(&v);
	}
	tap_ok(ok, "RFC 2045: every printable ASCII byte in HELO, d= and s= round-trips through the tokenizer");
}

static void
test_folding(void)
{
	struct verdict v;
	struct parsed ps;
	char *ar, d[128], tok[160];
	int i;

	verdict_init(&v);
	set_spf(&v.spf, AUTH_SOFTFAIL, false, "lists.example.org", "bounce-12345-abcdef@lists.example.org",
	    "domain of transitioning bounce-12345-abcdef@lists.example.org does not designate "
	    "192.0.2.1 as permitted sender");
	for (i = 0; i < 5; i++) {
		snprintf(d, sizeof(d), "signer%d.subdomain.example.org", i);
		add_dkim(&v, AUTH_PASS, d, "selector2024-long", "rsa-sha256", "0123456/", 4096, NULL);
	}
	add_dmarc(&v, AUTH_PASS, "subdomain.example.org", true, DMARC_POLICY_QUARANTINE, DISP_NONE,
	    OVR_LOCAL_POLICY, "forwarded by a trusted list; local policy applied to this message");
	ar = compose("mx-01.inbound.mail.example.org", "a.example", "bounce-12345-abcdef@lists.example.org", &v);
	if (check_all("folding", ar, &ps)) {
		tap_ok(max_line(ar) <= AR_LINE_MAX,
		    "RFC 5322 §2.1.1: long content folds to <= 78 columns (widest %zu)", max_line(ar));
		tap_ok(ps.n == 7, "folding keeps all 7 resinfos");
		tap_ok(strstr(ar, "\n\tspf=softfail") != NULL && strstr(ar, "\n\tdmarc=pass") != NULL,
		    "each resinfo starts a continuation line");
	}
	free(ar);
	verdict_free(&v);

	/* a 120-byte domain is one token: kept whole, on a line of its own */
	memset(d, 0, sizeof(d));
	for (i = 0; i < 120; i++)
		d[i] = (i % 40 == 39) ? '.' : 'x';
	d[119] = 'z';
	snprintf(tok, sizeof(tok), "header.d=%s", d);
	verdict_init(&v);
	add_dkim(&v, AUTH_PASS, d, "s", "rsa-sha256", NULL, 0, NULL);
	ar = compose("mx.example.org", NULL, "", &v);
	if (check_all("long token", ar, &ps)) {
		tap_ok(strstr(ar, tok) != NULL && strcmp(prop(&ps.r[0], "header.d"), d) == 0,
		    "a token longer than a line is kept whole, not broken");
		tap_ok(strstr(ar, "\n\theader.d=") != NULL && max_line(ar) == 8 + strlen(tok),
		    "the long token sits alone on its line (widest line = the token)");
	}
	free(ar);
	verdict_free(&v);
}

int
main(void)
{
	test_vocabulary();
	test_value_and_comment();
	test_none();
	test_golden_pass();
	test_results();
	test_multi_dkim();
	test_null_sender_and_helo();
	test_dmarc_comments();
	test_hostile();
	test_folding();
	return tap_done();
}
