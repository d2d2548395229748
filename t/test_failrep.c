/*
 * test_failrep.c - failure reports (RFC 9991): when the "fo" tag asks for
 * one, what the ARF message says, redaction, and the rate limit.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dmarc_record.h"
#include "failrep.h"
#include "result.h"
#include "session.h"
#include "tap.h"
#include "util.h"

/* set_record - parse a DMARC record into outcome o */
static void
set_record(struct dmarc_outcome *o, const char *txt)
{
	char err[256];

	if (dmarc_record_parse(txt, strlen(txt), &o->record, err, sizeof(err)) != DMARC_PARSE_OK) {
		printf("Bail out! record \"%s\": %s\n", txt, err);
		exit(1);
	}
	o->have_record = true;
}

/* mkverdict - one author domain example.com, record txt, given alignment */
static void
mkverdict(struct verdict *v, const char *txt, enum auth_res res, bool spf_al, bool dkim_al,
    enum auth_res spf, enum auth_res dkim)
{
	struct dmarc_outcome *o;

	verdict_init(v);
	v->when = 1795428000;	/* 2026-11-23 10:00:00 UTC */
	v->n_dmarc = 1;
	v->dmarc = o = xcalloc(1, sizeof(*o));
	o->from_domain = xstrdup("example.com");
	o->org_domain = xstrdup("example.com");
	o->policy_domain = xstrdup("example.com");
	o->result = res;
	o->spf_aligned = spf_al;
	o->dkim_aligned = dkim_al;
	if (txt != NULL)
		set_record(o, txt);
	v->spf.result = spf;
	v->spf.domain = xstrdup("example.com");
	v->spf.identity = xstrdup("bounce@example.com");
	v->n_dkim = 1;
	v->dkim = xcalloc(1, sizeof(*v->dkim));
	v->dkim[0].result = dkim;
	v->dkim[0].domain = xstrdup("mail.example.com");
	v->dkim[0].selector = xstrdup("sel1");
	v->dkim[0].algorithm = xstrdup("rsa-sha256");
	if (dkim != AUTH_PASS)
		v->dkim[0].reason = xstrdup(dkim == AUTH_FAIL ? "body hash did not verify" : "no key");
}

static const struct {
	const char *name;
	const char *record;
	enum auth_res res;
	bool spf_al, dkim_al;
	enum auth_res spf, dkim;
	enum failrep_trigger want;
} trig_cases[] = {
	{ "fo absent = 0: DMARC fail reports (RFC 9989 §4.7)", "v=DMARC1; p=reject; ruf=mailto:f@example.com",
	  AUTH_FAIL, false, false, AUTH_FAIL, AUTH_FAIL, FAILREP_DMARC },
	{ "fo=0: DMARC pass through DKIM only: no report", "v=DMARC1; p=reject; fo=0; ruf=mailto:f@example.com",
	  AUTH_PASS, false, true, AUTH_FAIL, AUTH_PASS, FAILREP_NONE },
	{ "fo=1: one mechanism not aligned: report even on a pass (RFC 9989 §4.7)",
	  "v=DMARC1; p=reject; fo=1; ruf=mailto:f@example.com",
	  AUTH_PASS, false, true, AUTH_FAIL, AUTH_PASS, FAILREP_DMARC },
	{ "fo=1: both aligned: no report", "v=DMARC1; p=reject; fo=1; ruf=mailto:f@example.com",
	  AUTH_PASS, true, true, AUTH_PASS, AUTH_PASS, FAILREP_NONE },
	{ "fo=d: a failed signature on an otherwise passing message",
	  "v=DMARC1; p=none; fo=d; ruf=mailto:f@example.com",
	  AUTH_PASS, true, false, AUTH_PASS, AUTH_FAIL, FAILREP_DKIM },
	{ "fo=d: no failed signature: no report", "v=DMARC1; p=none; fo=d; ruf=mailto:f@example.com",
	  AUTH_PASS, true, true, AUTH_PASS, AUTH_PASS, FAILREP_NONE },
	{ "fo=s: SPF failed, DKIM aligned", "v=DMARC1; p=none; fo=s; ruf=mailto:f@example.com",
	  AUTH_PASS, false, true, AUTH_FAIL, AUTH_PASS, FAILREP_SPF },
	{ "fo=d:s: SPF softfail", "v=DMARC1; p=none; fo=d:s; ruf=mailto:f@example.com",
	  AUTH_PASS, false, true, AUTH_SOFTFAIL, AUTH_PASS, FAILREP_SPF },
	{ "no ruf: no report", "v=DMARC1; p=reject; fo=1",
	  AUTH_FAIL, false, false, AUTH_FAIL, AUTH_FAIL, FAILREP_NONE },
	{ "psd=y: ruf never used (RFC 9991 §2 MUST NOT)", "v=DMARC1; p=reject; psd=y; ruf=mailto:f@example.com",
	  AUTH_FAIL, false, false, AUTH_FAIL, AUTH_FAIL, FAILREP_NONE },
	{ "temperror: no report", "v=DMARC1; p=reject; fo=1; ruf=mailto:f@example.com",
	  AUTH_TEMPERROR, false, false, AUTH_TEMPERROR, AUTH_TEMPERROR, FAILREP_NONE },
	{ "no record: no report", NULL,
	  AUTH_NONE, false, false, AUTH_FAIL, AUTH_FAIL, FAILREP_NONE },
};

static void
test_trigger(void)
{
	size_t i;

	for (i = 0; i < sizeof(trig_cases) / sizeof(trig_cases[0]); i++) {
		struct verdict v;

		mkverdict(&v, trig_cases[i].record, trig_cases[i].res, trig_cases[i].spf_al,
		    trig_cases[i].dkim_al, trig_cases[i].spf, trig_cases[i].dkim);
		tap_is_int(failrep_trigger(&v, &v.dmarc[0]), trig_cases[i].want, "trigger: %s",
		    trig_cases[i].name);
		verdict_free(&v);
	}
}

static void
test_redact(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "Bob <bob@example.net>", "Bob <redacted@example.net>" },
		{ "a.b+tag@x.example, c@y.example", "redacted@x.example, redacted@y.example" },
		{ "\"Bob Smith\"@example.net", "redacted@example.net" },
		{ "from mx (mx [192.0.2.1]) by mx.test for <rcpt@dest.test>; Mon, 1 Jan",
		  "from mx (mx [192.0.2.1]) by mx.test for <redacted@dest.test>; Mon, 1 Jan" },
		{ "undisclosed-recipients:;", "undisclosed-recipients:;" },
		{ "@example.net", "@example.net" },
		{ "trailing@", "trailing@" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = failrep_redact_value(cases[i].in);

		tap_is_str(got, cases[i].want, "redaction (RFC 6590): %s", cases[i].in);
		free(got);
	}
}

/* field - the value of "Name: " in the text, up to the line end, or NULL */
static char *
field(const char *text, const char *name)
{
	char *pat = xasprintf("\r\n%s: ", name), *r = NULL;
	const char *p = strstr(text, pat);

	if (p != NULL) {
		p += strlen(pat);
		r = xstrndup(p, strcspn(p, "\r\n"));
	}
	free(pat);
	return r;
}

static void
test_format(void)
{
	struct config *conf;
	struct session *s;
	struct verdict v;
	struct failrep_input *in;
	struct buf out;
	char err[256], *f;
	const char *p;
	bool bare_lf = false, long_line = false;
	size_t col = 0;

	if ((conf = config_load(NULL, err, sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	free(conf->authserv_id);
	conf->authserv_id = xstrdup("mx.test.example");
	s = session_new(NULL, conf);
	strcpy(s->client_addr, "192.0.2.66");
	session_set_mail_from(s, "<bounce@example.com>");
	session_add_header(s, "From", " Alice <alice@example.com>");
	session_add_header(s, "To", " Bob <bob@dest.test>, carol@dest.test");
	session_add_header(s, "Subject", " hello\r\nInjected: header\r\n\r\nbody?");
	session_add_header(s, "Received", " from x by y for <bob@dest.test>; Mon, 23 Nov 2026");
	s->leadspc = true;

	mkverdict(&v, "v=DMARC1; p=reject; fo=1; ruf=mailto:f@example.com", AUTH_FAIL, false, false,
	    AUTH_FAIL, AUTH_FAIL);
	in = failrep_input_new(conf, s, &v, &v.dmarc[0], FAILREP_DMARC, "reject",
	    "mx.test.example;\n\tdmarc=fail header.from=example.com");
	buf_init(&out, 0);
	failrep_format(in, "f@example.com", "v=spf1 ip4:192.0.2.0/24 -all", v.when + 5, "tok123", &out);

	tap_ok(strncmp(buf_str(&out), "From: <postmaster@mx.test.example>\r\n", 36) == 0,
	    "From defaults to postmaster@AuthservID");
	f = field(buf_str(&out), "To");
	tap_is_str(f, "<f@example.com>", "To is the destination");
	free(f);
	f = field(buf_str(&out), "Content-Type");
	tap_is_str(f, "multipart/report; report-type=feedback-report;", "multipart/report (RFC 5965 §2)");
	free(f);
	f = field(buf_str(&out), "Feedback-Type");
	tap_is_str(f, "auth-failure", "Feedback-Type auth-failure (RFC 6591 §3.1)");
	free(f);
	f = field(buf_str(&out), "Auth-Failure");
	tap_is_str(f, "dmarc", "Auth-Failure: dmarc (RFC 9991 §4 item 3)");
	free(f);
	f = field(buf_str(&out), "Identity-Alignment");
	tap_is_str(f, "dkim, spf", "Identity-Alignment lists both mechanisms (RFC 9991 §4 item 2)");
	free(f);
	f = field(buf_str(&out), "Delivery-Result");
	tap_is_str(f, "reject", "Delivery-Result reject");
	free(f);
	f = field(buf_str(&out), "Source-IP");
	tap_is_str(f, "192.0.2.66", "Source-IP");
	free(f);
	f = field(buf_str(&out), "Reported-Domain");
	tap_is_str(f, "example.com", "Reported-Domain is the author domain");
	free(f);
	f = field(buf_str(&out), "Original-Mail-From");
	tap_is_str(f, "<bounce@example.com>", "Original-Mail-From");
	free(f);
	f = field(buf_str(&out), "DKIM-Domain");
	tap_is_str(f, "mail.example.com", "DKIM-Domain of the aligned failed signature (RFC 9991 §4 item 1)");
	free(f);
	f = field(buf_str(&out), "DKIM-Identity");
	tap_is_str(f, "@mail.example.com", "DKIM-Identity defaults to @d");
	free(f);
	f = field(buf_str(&out), "DKIM-Selector");
	tap_is_str(f, "sel1", "DKIM-Selector");
	free(f);
	f = field(buf_str(&out), "SPF-DNS");
	tap_is_str(f, "txt : example.com : v=spf1 ip4:192.0.2.0/24 -all", "SPF-DNS (RFC 6591 §3.2.5)");
	free(f);
	f = field(buf_str(&out), "Authentication-Results");
	tap_is_str(f, "mx.test.example; dmarc=fail header.from=example.com", "A-R unfolded and refolded");
	free(f);
	f = field(buf_str(&out), "Message-ID");
	tap_is_str(f, "<tok123@mx.test.example>", "Message-ID from the token and AuthservID");
	free(f);
	f = field(buf_str(&out), "To");
	free(f);
	tap_ok(strstr(buf_str(&out), "\r\nTo: Bob <redacted@dest.test>, redacted@dest.test\r\n") != NULL,
	    "recipients redacted in the original header (RFC 6590)");
	tap_ok(strstr(buf_str(&out), "for <redacted@dest.test>") != NULL, "Received \"for\" redacted");
	tap_ok(strstr(buf_str(&out), "\r\nFrom: Alice <alice@example.com>\r\n") != NULL,
	    "the author address is kept");
	tap_ok(strstr(buf_str(&out), "\r\nInjected: header") == NULL &&
	    strstr(buf_str(&out), "Subject: hello\r\n\tInjected: header\r\n\tbody?\r\n") != NULL,
	    "a value cannot start a field or end the header: continuation lines are indented");
	tap_ok(strstr(buf_str(&out), "Hello") == NULL, "no body");
	tap_ok(strstr(buf_str(&out), "\r\n--=_dmarc-milter_tok123--\r\n") != NULL, "closing boundary");
	for (p = buf_str(&out); *p != '\0'; p++) {
		if (*p == '\n' && (p == buf_str(&out) || p[-1] != '\r'))
			bare_lf = true;
		if (*p == '\n')
			col = 0;
		else if (++col > 998)
			long_line = true;
	}
	tap_ok(!bare_lf, "CRLF line ends only");
	tap_ok(!long_line, "no line over 998 octets (RFC 5322 §2.1.1)");
	buf_free(&out);
	failrep_input_free(in);

	/* fo=d: Auth-Failure from the signature's trouble, redaction off */
	conf->failure_reports_redact = false;
	free(conf->failure_reports_from);
	conf->failure_reports_from = xstrdup("dmarc-reports@mx.test.example");
	verdict_free(&v);
	mkverdict(&v, "v=DMARC1; p=none; fo=d; ruf=mailto:f@example.com", AUTH_PASS, true, false,
	    AUTH_PASS, AUTH_FAIL);
	in = failrep_input_new(conf, s, &v, &v.dmarc[0], failrep_trigger(&v, &v.dmarc[0]), "accept", NULL);
	buf_init(&out, 0);
	failrep_format(in, "f@example.com", NULL, v.when, "tok2", &out);
	f = field(buf_str(&out), "Auth-Failure");
	tap_is_str(f, "bodyhash", "fo=d, body hash mismatch: Auth-Failure bodyhash (RFC 6591 §3.2.2)");
	free(f);
	f = field(buf_str(&out), "Identity-Alignment");
	tap_is_str(f, "dkim", "Identity-Alignment: dkim only");
	free(f);
	f = field(buf_str(&out), "Delivery-Result");
	tap_is_str(f, "delivered", "accepted: Delivery-Result delivered");
	free(f);
	tap_ok(strstr(buf_str(&out), "SPF-DNS") == NULL, "SPF passed: no SPF-DNS");
	tap_ok(strstr(buf_str(&out), "To: Bob <bob@dest.test>") != NULL, "FailureReportsRedact no: kept");
	tap_ok(strncmp(buf_str(&out), "From: <dmarc-reports@mx.test.example>", 37) == 0,
	    "FailureReportsFrom used");
	buf_free(&out);
	failrep_input_free(in);
	verdict_free(&v);

	/* a huge header is cut at whole fields */
	{
		char *big = xmalloc(5000);
		int k;

		memset(big, 'x', 4999);
		big[4999] = '\0';
		big[0] = ' ';
		for (k = 0; k < 30; k++)
			session_add_header(s, "X-Big", big);
		free(big);
		mkverdict(&v, "v=DMARC1; p=reject; ruf=mailto:f@example.com", AUTH_FAIL, false, false,
		    AUTH_FAIL, AUTH_FAIL);
		in = failrep_input_new(conf, s, &v, &v.dmarc[0], FAILREP_DMARC, "reject", NULL);
		tap_ok(in->headers_cut && strlen(in->headers) <= FAILREP_MAX_HEADER_BYTES,
		    "original header cut at %u bytes", FAILREP_MAX_HEADER_BYTES);
		buf_init(&out, 0);
		failrep_format(in, "f@example.com", NULL, v.when, "tok3", &out);
		long_line = false;
		col = 0;
		for (p = buf_str(&out); *p != '\0'; p++) {
			if (*p == '\n')
				col = 0;
			else if (++col > 998)
				long_line = true;
		}
		tap_ok(!long_line, "5000-byte header values are wrapped under 998 octets");
		buf_free(&out);
		failrep_input_free(in);
		verdict_free(&v);
	}

	session_add_header(s, "Content-Type", " multipart/report; report-type=feedback-report;\r\n\tboundary=x");
	tap_ok(failrep_is_report(s), "a feedback report is recognised (no report about a report)");
	session_free(s);
	config_free(conf);
}

static void
test_ratelimit(void)
{
	struct ratelimit *rl = ratelimit_new(3);
	bool first, ok;
	int i, n = 0, firsts = 0;

	for (i = 0; i < 10; i++) {
		ok = ratelimit_take(rl, "example.com", 7200 + i, 4, 3600, &first);
		n += ok;
		firsts += first;
	}
	tap_is_int(n, 4, "at most 4 per hour per destination domain");
	tap_is_int(firsts, 1, "the refusal is reported once per window");
	tap_ok(ratelimit_take(rl, "EXAMPLE.net", 7300, 4, 3600, &first), "another domain has its own count");
	tap_ok(!ratelimit_take(rl, "Example.COM", 7400, 4, 3600, &first), "keys are case-insensitive");
	tap_ok(ratelimit_take(rl, "example.com", 10800, 4, 3600, &first), "a new hour starts afresh");
	tap_ok(ratelimit_take(rl, "a.example", 10800, 4, 3600, &first), "third key fits");
	tap_ok(ratelimit_take(rl, "b.example", 10801, 4, 3600, &first),
	    "a full table drops the keys of older windows");
	tap_ok(!ratelimit_take(rl, "c.example", 10802, 4, 3600, &first),
	    "a table full of this window's keys refuses new ones (a hard bound)");
	{
		struct ratelimit *z = ratelimit_new(10);

		tap_ok(!ratelimit_take(z, "example.com", 1, 0, 3600, &first), "limit 0 sends nothing");
		ratelimit_free(z);
	}
	ratelimit_free(rl);
}

int
main(void)
{
	test_trigger();
	test_redact();
	test_format();
	test_ratelimit();
	return tap_done();
}
