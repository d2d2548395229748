/*
 * test_history.c - history records: writer/reader round trip, hostile
 * strings, strict reading, and the appender under concurrent rotation.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "history.h"
#include "result.h"
#include "util.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_history.XXXXXX";

/* ------------------------------------------------------------------ */
/* building and comparing verdicts                                     */

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
    const char *i, unsigned bits, const char *reason)
{
	struct dkim_outcome *o;

	v->dkim = xrealloc(v->dkim, (v->n_dkim + 1) * sizeof(*v->dkim));
	o = &v->dkim[v->n_dkim++];
	memset(o, 0, sizeof(*o));
	o->result = r;
	o->domain = dup_or_null(d);
	o->selector = dup_or_null(sel);
	o->algorithm = dup_or_null(a);
	o->identity = dup_or_null(i);
	o->key_bits = bits;
	o->reason = dup_or_null(reason);
	return o;
}

static struct dmarc_outcome *
add_dmarc(struct verdict *v, enum auth_res r, const char *from)
{
	struct dmarc_outcome *o;

	v->dmarc = xrealloc(v->dmarc, (v->n_dmarc + 1) * sizeof(*v->dmarc));
	o = &v->dmarc[v->n_dmarc++];
	memset(o, 0, sizeof(*o));
	o->result = r;
	o->from_domain = dup_or_null(from);
	return o;
}

static void
add_uri(struct dmarc_uri **list, size_t *n, const char *uri, unsigned long long limit)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[*n].uri = xstrdup(uri);
	(*list)[*n].size_limit = limit;
	(*n)++;
}

/* rich_verdict - every field of the verdict set to something non-default */
static void
rich_verdict(struct verdict *v)
{
	struct dmarc_outcome *o;
	struct dkim_outcome *d;

	verdict_init(v);
	v->when = 1700000000;
	set_spf(&v->spf, AUTH_SOFTFAIL, false, "bounce.example.com", "b+x@bounce.example.com",
	    "192.0.2.1 is not a designated sender");
	set_spf(&v->spf_helo, AUTH_PASS, true, "mail.example.com", "mail.example.com", "helo ok");
	v->have_spf_helo = true;
	d = add_dkim(v, AUTH_PASS, "example.com", "s2024", "rsa-sha256", "@example.com", 2048, NULL);
	d->b = xstrdup("AbCdEfGh");		/* not recorded */
	add_dkim(v, AUTH_POLICY, "esp.example", "k1", "rsa-sha1", NULL, 1024, "rsa-sha1 refused (RFC 8301)");
	add_dkim(v, AUTH_PERMERROR, NULL, NULL, NULL, NULL, 0, "no d= tag");

	o = add_dmarc(v, AUTH_FAIL, "sub.example.com");
	o->policy_domain = xstrdup("example.com");
	o->org_domain = xstrdup("example.com");
	o->have_record = true;
	o->record.p = DMARC_POLICY_REJECT;
	o->record.sp = DMARC_POLICY_QUARANTINE;
	o->record.np = DMARC_POLICY_REJECT;
	o->record.adkim = DMARC_ALIGN_STRICT;
	o->record.aspf = DMARC_ALIGN_RELAXED;
	o->record.pct = 50;
	o->record.pct_set = true;
	o->record.psd = DMARC_PSD_NO;
	o->record.testing = true;
	o->record.fo = xstrdup("0:d");
	o->record.rf = xstrdup("afrf");
	o->record.ri = 3600;
	add_uri(&o->record.rua, &o->record.n_rua, "mailto:dmarc@example.com", 10ull * 1024 * 1024);
	add_uri(&o->record.rua, &o->record.n_rua, "mailto:agg@thirdparty.example", 0);
	add_uri(&o->record.ruf, &o->record.n_ruf, "mailto:forensic@example.com", 0);
	o->record.raw = xstrdup("v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; pct=50; "
	    "psd=n; t=y; fo=0:d; rf=afrf; ri=3600; rua=mailto:dmarc@example.com!10m,"
	    "mailto:agg@thirdparty.example; ruf=mailto:forensic@example.com");
	o->policy = DMARC_POLICY_QUARANTINE;
	o->spf_aligned = false;
	o->dkim_aligned = true;
	o->disposition = DISP_QUARANTINE;
	o->reason = OVR_POLICY_TEST_MODE;
	o->discovery = DISCOVERY_TREEWALK;
	o->comment = xstrdup("t=y: reject applied as quarantine");

	o = add_dmarc(v, AUTH_PERMERROR, "other.example");
	o->record.pct = 100;
	o->record.ri = 86400;
	o->comment = xstrdup("multiple DMARC records");
	o->discovery = DISCOVERY_PSL;

	v->deciding = 0;
	v->disposition = DISP_QUARANTINE;
	v->n_from_headers = 2;
	v->from_problem = true;
	v->from_comment = xstrdup("two From addresses");
}

static bool
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

#define CHECK(cond, ...) do { if (!(cond)) { snprintf(why, whylen, __VA_ARGS__); return false; } } while (0)

static bool
eq_spf(const struct spf_outcome *a, const struct spf_outcome *b, const char *name, char *why, size_t whylen)
{
	CHECK(a->result == b->result, "%s.result", name);
	CHECK(a->helo_scope == b->helo_scope, "%s.helo_scope", name);
	CHECK(streq(a->domain, b->domain), "%s.domain", name);
	CHECK(streq(a->identity, b->identity), "%s.identity", name);
	CHECK(streq(a->reason, b->reason), "%s.reason", name);
	return true;
}

static bool
eq_uris(const struct dmarc_uri *a, size_t na, const struct dmarc_uri *b, size_t nb, char *why, size_t whylen)
{
	size_t i;

	CHECK(na == nb, "uri count %zu != %zu", na, nb);
	for (i = 0; i < na; i++) {
		CHECK(streq(a[i].uri, b[i].uri), "uri[%zu]", i);
		CHECK(a[i].size_limit == b[i].size_limit, "uri[%zu].size_limit", i);
	}
	return true;
}

static bool
eq_record(const struct dmarc_record *a, const struct dmarc_record *b, char *why, size_t whylen)
{
	CHECK(a->p == b->p && a->sp == b->sp && a->np == b->np, "record p/sp/np");
	CHECK(a->adkim == b->adkim && a->aspf == b->aspf, "record adkim/aspf");
	CHECK(a->pct == b->pct && a->pct_set == b->pct_set, "record pct");
	CHECK(a->psd == b->psd && a->testing == b->testing, "record psd/t");
	CHECK(streq(a->fo, b->fo) && streq(a->rf, b->rf) && a->ri == b->ri, "record fo/rf/ri");
	CHECK(a->p_invalid == b->p_invalid, "record p_invalid");
	CHECK(streq(a->raw, b->raw), "record raw");
	if (!eq_uris(a->rua, a->n_rua, b->rua, b->n_rua, why, whylen))
		return false;
	return eq_uris(a->ruf, a->n_ruf, b->ruf, b->n_ruf, why, whylen);
}

/* eq_verdict - every field the history carries (all but dkim[].b) */
static bool
eq_verdict(const struct verdict *a, const struct verdict *b, char *why, size_t whylen)
{
	size_t i;

	CHECK(a->when == b->when, "when");
	if (!eq_spf(&a->spf, &b->spf, "spf", why, whylen))
		return false;
	CHECK(a->have_spf_helo == b->have_spf_helo, "have_spf_helo");
	if (a->have_spf_helo && !eq_spf(&a->spf_helo, &b->spf_helo, "spf_helo", why, whylen))
		return false;
	CHECK(a->n_dkim == b->n_dkim, "n_dkim %zu != %zu", a->n_dkim, b->n_dkim);
	for (i = 0; i < a->n_dkim; i++) {
		const struct dkim_outcome *x = &a->dkim[i], *y = &b->dkim[i];

		CHECK(x->result == y->result, "dkim[%zu].result", i);
		CHECK(streq(x->domain, y->domain), "dkim[%zu].domain", i);
		CHECK(streq(x->selector, y->selector), "dkim[%zu].selector", i);
		CHECK(streq(x->algorithm, y->algorithm), "dkim[%zu].algorithm", i);
		CHECK(streq(x->identity, y->identity), "dkim[%zu].identity", i);
		CHECK(x->key_bits == y->key_bits, "dkim[%zu].key_bits", i);
		CHECK(streq(x->reason, y->reason), "dkim[%zu].reason", i);
	}
	CHECK(a->n_dmarc == b->n_dmarc, "n_dmarc");
	for (i = 0; i < a->n_dmarc; i++) {
		const struct dmarc_outcome *x = &a->dmarc[i], *y = &b->dmarc[i];

		CHECK(x->result == y->result, "dmarc[%zu].result", i);
		CHECK(streq(x->from_domain, y->from_domain), "dmarc[%zu].from_domain", i);
		CHECK(streq(x->policy_domain, y->policy_domain), "dmarc[%zu].policy_domain", i);
		CHECK(streq(x->org_domain, y->org_domain), "dmarc[%zu].org_domain", i);
		CHECK(x->have_record == y->have_record, "dmarc[%zu].have_record", i);
		if (x->have_record && !eq_record(&x->record, &y->record, why, whylen))
			return false;
		CHECK(x->policy == y->policy, "dmarc[%zu].policy", i);
		CHECK(x->spf_aligned == y->spf_aligned && x->dkim_aligned == y->dkim_aligned,
		    "dmarc[%zu].aligned", i);
		CHECK(x->disposition == y->disposition, "dmarc[%zu].disposition", i);
		CHECK(x->reason == y->reason, "dmarc[%zu].reason", i);
		CHECK(x->discovery == y->discovery, "dmarc[%zu].discovery", i);
		CHECK(streq(x->comment, y->comment), "dmarc[%zu].comment", i);
	}
	CHECK(a->deciding == b->deciding, "deciding");
	CHECK(a->disposition == b->disposition, "disposition");
	CHECK(a->n_from_headers == b->n_from_headers, "n_from_headers");
	CHECK(a->from_problem == b->from_problem, "from_problem");
	CHECK(streq(a->from_comment, b->from_comment), "from_comment");
	return true;
}

/* printable_line - printable ASCII, exactly one '\n', at the end */
static bool
printable_line(const struct buf *b)
{
	size_t i;

	if (b->len == 0 || b->data[b->len - 1] != '\n')
		return false;
	for (i = 0; i + 1 < b->len; i++)
		if ((unsigned char)b->data[i] < 0x20 || (unsigned char)b->data[i] > 0x7e)
			return false;
	return true;
}

/* ------------------------------------------------------------------ */

static void
test_round_trip(void)
{
	static const char *const rcpts[] = { "Example.ORG", "example.net", "example.org", "", NULL };
	struct history_msg m = { 1700000123, NULL, "4XyZ1234", "mx.example.org", "2001:db8::25",
		"mail.example.com", "b+x@Bounce.Example.com", rcpts, 5 };
	struct history_record r;
	struct verdict v;
	struct buf line;
	char err[256], why[128];
	int rc;

	rich_verdict(&v);
	buf_init(&line, 0);
	rc = history_format(&m, &v, "quarantine", &line);
	tap_ok(rc == 0, "history_format succeeds on a full verdict");
	tap_ok(printable_line(&line), "the line is printable ASCII ending in one newline (JSON Lines)");
	tap_ok(strncmp(buf_str(&line), "{\"v\":1,", 7) == 0, "\"v\":1 is the first field");
	rc = history_parse(line.data, line.len, &r, err, sizeof(err));
	tap_ok(rc == 0, "history_parse reads it back%s%s", rc ? ": " : "", rc ? err : "");
	if (rc == 0) {
		v.when = m.when;	/* the message time wins */
		tap_ok(eq_verdict(&v, &r.v, why, sizeof(why)), "round trip: every verdict field equal%s%s",
		    eq_verdict(&v, &r.v, why, sizeof(why)) ? "" : ", differs at ", why);
		tap_is_int(r.version, 1, "version");
		tap_is_int(r.when, 1700000123, "time (unix seconds)");
		tap_is_str(r.queue_id, "4XyZ1234", "queue id");
		tap_is_str(r.reporter, "mx.example.org", "reporter");
		tap_is_str(r.client_ip, "2001:db8::25", "client ip (RFC 9990 source_ip)");
		tap_is_str(r.helo, "mail.example.com", "helo");
		tap_is_str(r.mail_from, "b+x@Bounce.Example.com", "envelope from as given");
		tap_is_str(r.mail_from_domain, "bounce.example.com", "RFC 9990 envelope_from: lowercased domain");
		tap_is_str(r.header_from, "sub.example.com", "RFC 9990 header_from: the deciding author domain");
		tap_ok(r.n_rcpt_domains == 2 && strcmp(r.rcpt_domains[0], "example.org") == 0 &&
		    strcmp(r.rcpt_domains[1], "example.net") == 0,
		    "RFC 9990 envelope_to: recipient domains lowercased, each once, empties skipped");
		tap_is_str(r.action, "quarantine", "action");
		tap_ok(!r.truncated, "no cap hit: not truncated");
		tap_ok(r.v.n_dkim == 3 && r.v.dkim[0].b == NULL, "dkim b= is not recorded");
	}
	history_record_free(&r);
	tap_ok(r.client_ip == NULL && r.v.dkim == NULL, "history_record_free leaves the record empty");
	buf_free(&line);
	verdict_free(&v);

	/* nothing evaluated, null sender, no queue id */
	{
		struct history_msg m2 = { 0, NULL, NULL, NULL, "", NULL, "", NULL, 0 };

		verdict_init(&v);
		v.when = 42;
		buf_init(&line, 0);
		rc = history_format(&m2, &v, "accept", &line);
		tap_ok(rc == 0 && strstr(buf_str(&line), "\"spf\":null") != NULL &&
		    strstr(buf_str(&line), "\"dkim\":[]") != NULL, "empty verdict: spf null, dkim []");
		rc = history_parse(line.data, line.len, &r, err, sizeof(err));
		tap_ok(rc == 0 && eq_verdict(&v, &r.v, why, sizeof(why)) && r.when == 42 &&
		    r.queue_id == NULL && r.helo == NULL && streq(r.mail_from, "") &&
		    r.mail_from_domain == NULL && r.header_from == NULL && r.n_rcpt_domains == 0 &&
		    streq(r.client_ip, ""), "empty verdict, null sender: round trip with nulls");
		history_record_free(&r);
		buf_free(&line);
		verdict_free(&v);
	}
}

static void
test_hostile_strings(void)
{
	static const struct {
		const char *in, *out, *what;
	} t[] = {
		{ "evil\"; \"x\":\"y", NULL, "double quotes" },
		{ "line1\nline2\r\n{\"v\":1}", NULL, "CR and LF" },
		{ "back\\slash\\\\\\", NULL, "backslashes" },
		{ "c\x01\x02\x1b[31m\x1f\x7f", NULL, "control bytes and DEL" },
		{ "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x93\xa7", NULL, "valid UTF-8, U+2028 and an emoji" },
		{ "a\xff" "b", "a\xef\xbf\xbd" "b", "invalid byte 0xff becomes U+FFFD" },
		{ "a\xc3", "a\xef\xbf\xbd", "truncated sequence becomes U+FFFD" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "overlong '/' becomes U+FFFD twice" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "UTF-16 surrogate refused" },
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "above U+10FFFF refused" },
	};
	struct history_record r;
	struct verdict v;
	struct buf line;
	char err[256];
	size_t i;
	int ok;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *want = t[i].out != NULL ? t[i].out : t[i].in;
		struct history_msg m = { 1, NULL, t[i].in, t[i].in, t[i].in, t[i].in, t[i].in, NULL, 0 };

		verdict_init(&v);
		set_spf(&v.spf, AUTH_FAIL, false, t[i].in, t[i].in, t[i].in);
		add_dkim(&v, AUTH_FAIL, t[i].in, t[i].in, t[i].in, t[i].in, 0, t[i].in);
		add_dmarc(&v, AUTH_FAIL, t[i].in)->comment = xstrdup(t[i].in);
		buf_init(&line, 0);
		ok = history_format(&m, &v, "reject", &line) == 0 && printable_line(&line);
		ok = ok && history_parse(line.data, line.len, &r, err, sizeof(err)) == 0;
		ok = ok && streq(r.queue_id, want) && streq(r.helo, want) && streq(r.client_ip, want) &&
		    streq(r.mail_from, want) && streq(r.v.spf.domain, want) && streq(r.v.spf.reason, want) &&
		    streq(r.v.dkim[0].domain, want) && streq(r.v.dkim[0].selector, want) &&
		    streq(r.v.dmarc[0].from_domain, want) && streq(r.v.dmarc[0].comment, want);
		tap_ok(ok, "RFC 8259 §7 / RFC 3629: hostile %s round trip safely on one line", t[i].what);
		if (!ok)
			tap_diag("line: %s err: %s", buf_str(&line), err);
		history_record_free(&r);
		buf_free(&line);
		verdict_free(&v);
	}
}

static void
test_caps(void)
{
	struct history_msg m = { 1, NULL, NULL, NULL, "192.0.2.1", NULL, NULL, NULL, 0 };
	struct history_record r;
	struct verdict v;
	struct buf line;
	char err[256], *big, *worst;
	size_t i;
	int rc;

	big = xmalloc(1001);
	memset(big, 'h', 1000);
	big[1000] = '\0';
	big[254] = '\xc3';	/* a 2-byte character straddling the cap */
	big[255] = '\xa9';
	m.helo = big;
	verdict_init(&v);
	for (i = 0; i < 20; i++)
		add_dkim(&v, AUTH_PASS, "example.com", "s", "rsa-sha256", NULL, 2048, NULL);
	buf_init(&line, 0);
	rc = history_format(&m, &v, "accept", &line);
	rc = rc == 0 ? history_parse(line.data, line.len, &r, err, sizeof(err)) : -1;
	tap_ok(rc == 0 && r.truncated && strlen(r.helo) == 254 && r.v.n_dkim == HISTORY_MAX_DKIM,
	    "caps: 1000-byte HELO cut at a character boundary below 255, 20 signatures to 16, "
	    "\"truncated\":true");
	history_record_free(&r);
	buf_free(&line);
	verdict_free(&v);
	free(big);

	/* the worst case the caps allow still fits HISTORY_MAX_LINE */
	worst = xmalloc(HISTORY_MAX_RAW + 1);
	memset(worst, '\x01', HISTORY_MAX_RAW);	/* each byte becomes \u0001 */
	worst[HISTORY_MAX_RAW] = '\0';
	{
		const char *rc_list[HISTORY_MAX_RCPT_DOMAINS];
		struct dmarc_outcome *o;
		char *rd[HISTORY_MAX_RCPT_DOMAINS];

		for (i = 0; i < HISTORY_MAX_RCPT_DOMAINS; i++) {
			rd[i] = xstrdup(worst);
			rd[i][HISTORY_MAX_STR - 3] = (char)('A' + i % 26);	/* all different */
			rd[i][HISTORY_MAX_STR - 2] = (char)('A' + i / 26);
			rc_list[i] = rd[i];
		}
		m = (struct history_msg){ 1, NULL, worst, worst, worst, worst, worst, rc_list,
			HISTORY_MAX_RCPT_DOMAINS };
		verdict_init(&v);
		set_spf(&v.spf, AUTH_FAIL, false, worst, worst, worst);
		set_spf(&v.spf_helo, AUTH_FAIL, true, worst, worst, worst);
		v.have_spf_helo = true;
		v.from_comment = xstrdup(worst);
		for (i = 0; i < HISTORY_MAX_DKIM; i++)
			add_dkim(&v, AUTH_FAIL, worst, worst, worst, worst, 0, worst);
		for (i = 0; i < HISTORY_MAX_DMARC; i++) {
			size_t k;

			o = add_dmarc(&v, AUTH_FAIL, worst);
			o->policy_domain = xstrdup(worst);
			o->org_domain = xstrdup(worst);
			o->comment = xstrdup(worst);
			o->have_record = true;
			o->record.fo = xstrdup(worst);
			o->record.rf = xstrdup(worst);
			o->record.raw = xstrdup(worst);
			for (k = 0; k < HISTORY_MAX_URIS; k++) {
				add_uri(&o->record.rua, &o->record.n_rua, worst, 0);
				add_uri(&o->record.ruf, &o->record.n_ruf, worst, 0);
			}
		}
		buf_init(&line, 0);
		rc = history_format(&m, &v, "reject", &line);
		tap_ok(rc == 0 && line.len <= HISTORY_MAX_LINE,
		    "worst case under the caps (all control bytes) fits in %u bytes (%zu)",
		    HISTORY_MAX_LINE, line.len);
		rc = rc == 0 ? history_parse(line.data, line.len, &r, err, sizeof(err)) : -1;
		tap_ok(rc == 0 && r.truncated, "and reads back (truncated)%s%s", rc ? ": " : "", rc ? err : "");
		history_record_free(&r);
		buf_free(&line);
		verdict_free(&v);
		for (i = 0; i < HISTORY_MAX_RCPT_DOMAINS; i++)
			free(rd[i]);
	}
	free(worst);
}

static void
test_writer_refuses(void)
{
	struct history_msg m = { 1, NULL, NULL, NULL, "192.0.2.1", NULL, NULL, NULL, 0 };
	struct verdict v;
	struct buf line;

	verdict_init(&v);
	buf_init(&line, 0);
	tap_ok(history_format(&m, &v, NULL, &line) == -1 && line.len == 0, "writer: no action refused");
	tap_ok(history_format(&m, &v, "Reject!\n", &line) == -1 && line.len == 0,
	    "writer: action must be lowercase keyword");
	m.client_ip = NULL;
	tap_ok(history_format(&m, &v, "accept", &line) == -1 && line.len == 0, "writer: client_ip required");
	m.client_ip = "192.0.2.1";
	m.when = -1;
	tap_ok(history_format(&m, &v, "accept", &line) == -1 && line.len == 0, "writer: negative time refused");
	buf_free(&line);
	verdict_free(&v);
}

#define BASE_BODY "\"v\":1,\"time\":1700000000,\"client_ip\":\"192.0.2.1\",\"action\":\"accept\"," \
	"\"disposition\":\"none\",\"spf\":null,"
#define BASE_HEAD "{" BASE_BODY
#define BASE BASE_HEAD "\"dkim\":[],\"dmarc\":[]}"
#define DMARC_OK "{\"result\":\"fail\",\"disposition\":\"reject\",\"record\":{\"p\":\"reject\"}}"

static void
test_reader(void)
{
	static const struct {
		const char *line, *err;	/* err NULL: must parse */
		const char *what;
	} t[] = {
		{ BASE, NULL, "minimal record parses" },
		{ BASE "\n", NULL, "trailing newline accepted" },
		{ "{\"future\":{\"x\":[1,{\"y\":null}]}," BASE_BODY "\"dkim\":[{\"result\":\"pass\",\"new\":1}],"
		    "\"dmarc\":[{\"result\":\"pass\",\"disposition\":\"none\",\"record\":{\"p\":\"none\",\"zz\":[]}}]}",
		    NULL, "unknown fields at every level are ignored (forward compatible)" },
		{ "", "empty line", "empty line" },
		{ "\n", "empty line", "lone newline" },
		{ "hello", "not JSON", "garbage" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[", "not JSON", "truncated line" },
		{ "[1,2]", "JSON object", "array instead of object" },
		{ "{\"v\":2,\"time\":1}", "newer than this reader", "v > 1 refused with a clear message" },
		{ "{\"v\":\"1\"}", "\"v\" must be an integer", "v as a string" },
		{ "{\"v\":0}", "out of range", "v = 0" },
		{ "{\"time\":1}", "required field \"v\"", "v missing" },
		{ "{\"v\":1,\"client_ip\":\"x\"}", "required field \"time\"", "time missing" },
		{ "{\"v\":1,\"time\":\"1700000000\"}", "\"time\" must be an integer", "time as a string" },
		{ "{\"v\":1,\"time\":1.5}", "\"time\" must be an integer", "time as a real" },
		{ "{\"v\":1,\"time\":-5}", "out of range", "negative time" },
		{ "{\"v\":1,\"time\":99999999999999999999}", "not JSON", "integer beyond 64 bits" },
		{ "{\"v\":1,\"time\":1e400}", "not JSON", "real overflow" },
		{ "{\"v\":1,\"time\":253402300800}", "out of range", "time after 9999" },
		{ "{\"v\":1,\"time\":1,\"action\":\"accept\"}", "required field \"client_ip\"", "client_ip missing" },
		{ "{\"v\":1,\"time\":1,\"client_ip\":null}", "must not be null", "client_ip null" },
		{ "{\"v\":1,\"time\":1,\"client_ip\":5}", "\"client_ip\" must be a string", "client_ip number" },
		{ BASE_HEAD "\"dkim\":{},\"dmarc\":[]}", "\"dkim\" must be an array", "dkim object" },
		{ BASE_HEAD "\"dkim\":[5],\"dmarc\":[]}", "dkim[0]: must be an object", "dkim element number" },
		{ BASE_HEAD "\"dkim\":[{\"result\":\"great\"}],\"dmarc\":[]}", "unknown result", "unknown result" },
		{ BASE_HEAD "\"dkim\":[{\"domain\":\"x\"}],\"dmarc\":[]}", "dkim[0]: required field \"result\"",
		    "dkim result missing" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[{\"result\":\"fail\"}]}", "required field \"disposition\"",
		    "dmarc disposition missing" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[{\"result\":\"fail\",\"disposition\":\"reject\","
		    "\"record\":{\"p\":\"block\"}}]}", "\"p\" has an unknown value", "unknown policy keyword" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[{\"result\":\"fail\",\"disposition\":\"reject\","
		    "\"record\":{\"pct\":101}}]}", "out of range", "pct 101" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[{\"result\":\"fail\",\"disposition\":\"reject\","
		    "\"record\":{\"rua\":[{\"size_limit\":1}]}}]}", "dmarc[0].record.rua[0]: required field \"uri\"",
		    "rua element without uri, with its path" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[" DMARC_OK "],\"deciding\":1}", "out of range",
		    "deciding beyond the dmarc array" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[],\"rcpt_domains\":[1]}", "rcpt_domains[0] must be a string",
		    "recipient domain number" },
		{ "{\"v\":1,\"time\":1,\"client_ip\":\"x\",\"action\":\"accept\",\"disposition\":\"none\","
		    "\"dkim\":[],\"dmarc\":[]}", "required field \"spf\"", "spf missing" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[],\"spf_helo\":{\"scope\":\"x\",\"result\":\"pass\"}}",
		    "\"scope\" has an unknown value", "unknown SPF scope" },
		{ "{\"v\":1,\"v\":1}", "not JSON", "duplicate key" },
		{ "{\"v\":1,\"time\":1,\"helo\":\"a\xff\"}", "not JSON", "invalid UTF-8" },
		{ "{\"v\":1,\"time\":1,\"helo\":\"a\\u0000b\"}", "not JSON", "escaped NUL" },
		{ BASE BASE, "not JSON", "two records on one line" },
		{ "{\"v\":1,\n\"time\":1}", "newline inside", "newline inside the record" },
		{ BASE_HEAD "\"dkim\":[],\"dmarc\":[],\"from_problem\":\"yes\"}", "must be true or false",
		    "boolean as string" },
	};
	struct history_record r;
	char err[256];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		rc = history_parse(t[i].line, strlen(t[i].line), &r, err, sizeof(err));
		if (t[i].err == NULL)
			tap_ok(rc == 0, "reader: %s%s%s", t[i].what, rc ? ": " : "", rc ? err : "");
		else if (!tap_ok(rc == -1 && strstr(err, t[i].err) != NULL && r.client_ip == NULL,
		    "reader rejects: %s", t[i].what))
			tap_diag("rc %d, err \"%s\", expected \"%s\"", rc, err, t[i].err);
		history_record_free(&r);
	}
}

static void
test_reader_limits(void)
{
	struct history_record r;
	char err[256], *s;
	size_t n, i;
	int rc;

	/* 100000 nested arrays inside an unknown field */
	n = 100000;
	s = xmalloc(2 * n + 64);
	i = (size_t)sprintf(s, "{\"v\":1,\"x\":");
	memset(s + i, '[', n);
	memset(s + i + n, ']', n);
	strcpy(s + i + 2 * n, "}");
	rc = history_parse(s, strlen(s), &r, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "depth") != NULL, "deep nesting refused without recursion (%s)", err);
	history_record_free(&r);
	free(s);

	/* a 1 MiB line */
	n = 1024 * 1024;
	s = xmalloc(n + 1);
	memset(s, ' ', n);
	memcpy(s, BASE, strlen(BASE));
	s[n] = '\0';
	rc = history_parse(s, n, &r, err, sizeof(err));
	tap_ok(rc == -1 && strstr(err, "line too long") != NULL, "1 MiB line refused: %s", err);
	history_record_free(&r);
	free(s);
}

/* test_fuzz - mutated and truncated records never crash the reader */
static void
test_fuzz(void)
{
	struct history_msg m = { 1700000000, NULL, "Q1", "mx.example.org", "192.0.2.1", "h.example",
		"a@example.com", NULL, 0 };
	struct history_record r;
	struct verdict v;
	struct buf line;
	char err[256], *s;
	unsigned seed = 12345, parsed = 0, refused = 0;
	size_t i, k, nmut, len;

	rich_verdict(&v);
	buf_init(&line, 0);
	history_format(&m, &v, "reject", &line);
	verdict_free(&v);
	s = xmalloc(line.len + 1);
	for (i = 0; i < 20000; i++) {
		memcpy(s, line.data, line.len + 1);
		len = line.len;
		nmut = 1 + (size_t)(rand_r(&seed) % 4);
		for (k = 0; k < nmut; k++)
			s[rand_r(&seed) % len] = (char)(rand_r(&seed) % 256);
		if (i % 3 == 0)
			len = rand_r(&seed) % len;
		if (history_parse(s, len, &r, err, sizeof(err)) == 0)
			parsed++;
		else
			refused++;
		history_record_free(&r);
	}
	tap_ok(parsed + refused == 20000 && refused > 0,
	    "20000 mutated/truncated lines: no crash (%u parsed, %u refused with a message)", parsed, refused);
	free(s);
	buf_free(&line);
}

/* ------------------------------------------------------------------ */
/* the appender                                                        */

#define N_THREADS	16
#define N_PER_THREAD	2000

struct writer_arg {
	struct history_file *hf;
	int id;
	int failures;
	pthread_barrier_t *start;
};

static void *
writer(void *p)
{
	struct writer_arg *a = p;
	struct history_msg m = { 1700000000, NULL, NULL, "mx.example.org", "192.0.2.7", "h.example",
		"a@example.com", NULL, 0 };
	struct verdict v;
	struct buf line;
	char qid[32];
	int i;

	verdict_init(&v);
	set_spf(&v.spf, AUTH_PASS, false, "example.com", "a@example.com", NULL);
	add_dkim(&v, AUTH_PASS, "example.com", "s", "rsa-sha256", NULL, 2048, NULL);
	add_dmarc(&v, AUTH_PASS, "example.com");
	buf_init(&line, 0);
	pthread_barrier_wait(a->start);
	for (i = 0; i < N_PER_THREAD; i++) {
		snprintf(qid, sizeof(qid), "T%02d-%05d", a->id, i);
		m.queue_id = qid;
		buf_reset(&line);
		if (history_format(&m, &v, "accept", &line) != 0 ||
		    history_append(a->hf, line.data, line.len) != 0)
			a->failures++;
	}
	buf_free(&line);
	verdict_free(&v);
	return NULL;
}

struct rotator_arg {
	struct history_file *hf;
	const char *path;
	atomic_int stop;
	int rotations;
	int failures;
};

static void *
rotator(void *p)
{
	struct rotator_arg *a = p;
	char to[512];

	while (!atomic_load(&a->stop)) {
		usleep(2000);
		snprintf(to, sizeof(to), "%s.%d", a->path, a->rotations + 1);
		/* logrotate: rename the live file away, then tell the writer */
		if (rename(a->path, to) != 0 || history_reopen(a->hf) != 0)
			a->failures++;
		else
			a->rotations++;
	}
	return NULL;
}

/* count_file - parse every line of a file; marks seen[thread][seq] */
static int
count_file(const char *path, unsigned char (*seen)[N_PER_THREAD], int *bad)
{
	FILE *f = fopen(path, "r");
	struct history_record r;
	char *ln = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	int count = 0, t, s;

	if (f == NULL)
		return -1;
	while ((n = getline(&ln, &cap, f)) > 0) {
		count++;
		if (history_parse(ln, (size_t)n, &r, err, sizeof(err)) != 0 || r.queue_id == NULL ||
		    sscanf(r.queue_id, "T%d-%d", &t, &s) != 2 || t < 0 || t >= N_THREADS || s < 0 ||
		    s >= N_PER_THREAD) {
			(*bad)++;
		} else {
			seen[t][s]++;
		}
		history_record_free(&r);
	}
	free(ln);
	fclose(f);
	return count;
}

static void
test_appender_concurrent(void)
{
	static unsigned char seen[N_THREADS][N_PER_THREAD];
	struct writer_arg wa[N_THREADS];
	struct rotator_arg ra;
	pthread_t wt[N_THREADS], rt;
	pthread_barrier_t start;
	struct history_stats st;
	struct history_file *hf;
	char path[256], rpath[300], err[256];
	int i, j, total = 0, bad = 0, files = 0, n, wfail = 0, dup = 0, missing = 0;

	snprintf(path, sizeof(path), "%s/history.jsonl", tmpdir);
	hf = history_open(path, err, sizeof(err));
	if (!tap_ok(hf != NULL, "history_open %s", hf != NULL ? path : err))
		return;
	pthread_barrier_init(&start, NULL, N_THREADS + 1);
	ra.hf = hf;
	ra.path = path;
	atomic_init(&ra.stop, 0);
	ra.rotations = ra.failures = 0;
	for (i = 0; i < N_THREADS; i++) {
		wa[i] = (struct writer_arg){ hf, i, 0, &start };
		pthread_create(&wt[i], NULL, writer, &wa[i]);
	}
	pthread_create(&rt, NULL, rotator, &ra);
	pthread_barrier_wait(&start);
	for (i = 0; i < N_THREADS; i++) {
		pthread_join(wt[i], NULL);
		wfail += wa[i].failures;
	}
	atomic_store(&ra.stop, 1);
	pthread_join(rt, NULL);
	history_get_stats(hf, &st);
	history_close(hf);
	pthread_barrier_destroy(&start);

	tap_ok(wfail == 0 && ra.failures == 0, "16 threads x 2000 appends: no call failed (%d, %d)",
	    wfail, ra.failures);
	tap_ok(ra.rotations >= 2, "rotated (rename + history_reopen) while writing: %d times", ra.rotations);
	n = count_file(path, seen, &bad);
	if (n > 0) {
		total += n;
		files++;
	}
	for (i = 1; i <= ra.rotations; i++) {
		snprintf(rpath, sizeof(rpath), "%s.%d", path, i);
		n = count_file(rpath, seen, &bad);
		if (n > 0) {
			total += n;
			files++;
		}
	}
	for (i = 0; i < N_THREADS; i++)
		for (j = 0; j < N_PER_THREAD; j++) {
			if (seen[i][j] == 0)
				missing++;
			else if (seen[i][j] > 1)
				dup++;
		}
	tap_is_int(total, N_THREADS * N_PER_THREAD, "total lines over %d files = 32000 (no loss)", files);
	tap_ok(bad == 0, "every line in every file parses (no tearing): %d bad", bad);
	tap_ok(missing == 0 && dup == 0, "each record exactly once (%d missing, %d duplicated)", missing, dup);
	tap_ok(files >= 2, "records landed in both old and new files (%d files)", files);
	tap_ok(st.appended == N_THREADS * N_PER_THREAD && st.failed == 0 && st.reopens == (uint64_t)ra.rotations,
	    "stats: appended %llu, failed %llu, reopens %llu", (unsigned long long)st.appended,
	    (unsigned long long)st.failed, (unsigned long long)st.reopens);
	for (i = 1; i <= ra.rotations; i++) {
		snprintf(rpath, sizeof(rpath), "%s.%d", path, i);
		unlink(rpath);
	}
	unlink(path);
}

/* tail_is - the file ends with want */
static bool
tail_is(const char *path, const char *want)
{
	char got[64];
	size_t n = strlen(want);
	FILE *f = fopen(path, "r");
	bool ok;

	if (f == NULL)
		return false;
	ok = fseek(f, -(long)n, SEEK_END) == 0 && fread(got, 1, n, f) == n && memcmp(got, want, n) == 0;
	fclose(f);
	return ok;
}

static void
test_appender_errors(void)
{
	struct history_stats st;
	struct history_file *hf;
	struct rlimit old, lim;
	struct stat sb;
	char path[300], dir[256], moved[300], err[256], big[300];
	mode_t um;
	ssize_t n1, n2;

	snprintf(path, sizeof(path), "%s/no/such/dir/history", tmpdir);
	hf = history_open(path, err, sizeof(err));
	tap_ok(hf == NULL && strstr(err, "no/such/dir") != NULL, "history_open error names the path: %s", err);

	snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/history", dir);
	um = umask(022);
	hf = history_open(path, err, sizeof(err));
	umask(um);
	tap_ok(hf != NULL && stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640,
	    "history file is created with mode 0640");
	if (hf == NULL)
		return;

	tap_ok(history_append(hf, "{}", 2) == -1, "append refuses a line without its newline");
	tap_ok(history_append(hf, "{}\n{}\n", 6) == -1, "append refuses two lines in one record");

	/* the directory disappears: reopen fails, the old file stays in use */
	snprintf(moved, sizeof(moved), "%s/moved", tmpdir);
	rename(path, moved);
	rmdir(dir);
	tap_ok(history_reopen(hf) == -1, "reopen fails when the path cannot be created");
	tap_ok(history_append(hf, "{\"x\":1}\n", 8) == 0 && stat(moved, &sb) == 0 && sb.st_size == 8,
	    "after a failed reopen, records still go to the old (renamed) file");

	/*
	 * A short write: a file size limit lets only part of the record in.
	 * The appender must count it, must not write the rest, and cuts the
	 * torn piece off again so that the file keeps complete lines only.
	 */
	memset(big, 'x', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\n';
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 100;
	setrlimit(RLIMIT_FSIZE, &lim);
	n1 = history_append(hf, big, sizeof(big));	/* 92 of 300 bytes fit, then are cut */
	n2 = history_append(hf, big, sizeof(big));	/* the same again */
	setrlimit(RLIMIT_FSIZE, &old);
	if (stat(moved, &sb) != 0)
		sb.st_size = -1;
	tap_ok(n1 == -1 && n2 == -1 && sb.st_size == 8,
	    "short write: reported, the rest never written, the torn piece cut off (file size %lld)",
	    (long long)sb.st_size);
	tap_ok(history_append(hf, "{\"y\":2}\n", 8) == 0 && stat(moved, &sb) == 0 && sb.st_size == 16 &&
	    tail_is(moved, "{\"x\":1}\n{\"y\":2}\n"), "after a short write the file holds complete lines only");
	history_get_stats(hf, &st);
	tap_ok(st.appended == 2 && st.failed == 4 && st.short_writes == 2 && st.reopen_failures == 1,
	    "stats count it: appended %llu failed %llu short %llu reopen_failures %llu",
	    (unsigned long long)st.appended, (unsigned long long)st.failed,
	    (unsigned long long)st.short_writes, (unsigned long long)st.reopen_failures);
	history_close(hf);
	unlink(moved);
}


/*
 * capture_start / capture_end - what the appender logs (to stderr), through
 * a pipe: RLIMIT_FSIZE, which makes the appends fail, would cut a file.
 */
static int saved_stderr = -1, capture_rd = -1;

static void
capture_start(void)
{
	int p[2];

	if (pipe(p) != 0)
		return;
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(p[1], 2);
	close(p[1]);
	capture_rd = p[0];
}

static char *
capture_end(void)
{
	char *text = xcalloc(1, 65536);
	size_t len = 0;
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	while (len < 65535 && (n = read(capture_rd, text + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(capture_rd);
	return text;
}

/* count_lines - lines of text that contain needle */
static int
count_lines(const char *text, const char *needle)
{
	const char *p, *nl;
	int n = 0;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		if (memmem(p, (size_t)(nl - p + 1), needle, strlen(needle)) != NULL)
			n++;
	}
	return n;
}

/* fail_appends - n appends that fail with EFBIG (the file is at the size limit) */
static int
fail_appends(struct history_file *hf, const char *path, int n)
{
	struct rlimit old, lim;
	struct stat sb;
	int i, failed = 0;

	if (stat(path, &sb) != 0)
		return -1;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)sb.st_size;
	setrlimit(RLIMIT_FSIZE, &lim);
	for (i = 0; i < n; i++)
		if (history_append(hf, "{\"z\":3}\n", 8) == -1 && errno == EFBIG)
			failed++;
	setrlimit(RLIMIT_FSIZE, &old);
	return failed;
}

/*
 * test_appender_log - a disk that stays full must not flood the log: the
 * first failure at once, then at most one line per interval with the
 * number lost since the last one, and one line when writing works again.
 */
static void
test_appender_log(void)
{
	struct history_file *hf;
	char path[300], err[256];
	char *text;
	int f1, f2;

	snprintf(path, sizeof(path), "%s/history-log", tmpdir);
	if ((hf = history_open(path, err, sizeof(err))) == NULL) {
		tap_ok(0, "history_open: %s", err);
		return;
	}
	signal(SIGXFSZ, SIG_IGN);
	history_set_error_interval(hf, 1);
	history_append(hf, "{\"a\":1}\n", 8);

	capture_start();
	f1 = fail_appends(hf, path, 5);
	sleep(1);
	f2 = fail_appends(hf, path, 2);
	history_append(hf, "{\"b\":2}\n", 8);
	history_append(hf, "{\"c\":3}\n", 8);
	text = capture_end();
	tap_ok(f1 == 5 && f2 == 2, "appends at the size limit fail with EFBIG (%d, %d)", f1, f2);
	tap_is_int(count_lines(text, "history "), 3,
	    "7 failures and a recovery over two intervals: 3 log lines, not 7");
	tap_is_int(count_lines(text, "write failed: File too large; record lost"), 1,
	    "the first failure is logged at once, with the errno text");
	tap_is_int(count_lines(text, "write failed: File too large; 5 records lost since the last report "
	    "(6 since writing stopped)"), 1,
	    "one line per interval says how many were lost since the last line");
	tap_is_int(count_lines(text, "writing again after 7 records lost"), 1,
	    "one line when writing works again, with the total lost");
	if (count_lines(text, "history ") != 3)
		tap_diag("log was:\n%s", text);
	free(text);

	/* interval 0: every failure is logged; a new outage starts a new count */
	history_set_error_interval(hf, 0);
	capture_start();
	f1 = fail_appends(hf, path, 3);
	history_append(hf, "{\"d\":4}\n", 8);
	text = capture_end();
	tap_ok(f1 == 3 && count_lines(text, "write failed") == 3 &&
	    count_lines(text, "writing again after 3 records lost") == 1,
	    "HistoryErrorInterval 0 logs every failure; the next outage counts from zero");
	free(text);
	history_close(hf);
	unlink(path);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_round_trip();
	test_hostile_strings();
	test_caps();
	test_writer_refuses();
	test_reader();
	test_reader_limits();
	test_fuzz();
	test_appender_concurrent();
	test_appender_errors();
	test_appender_log();
	rmdir(tmpdir);
	return tap_done();
}
