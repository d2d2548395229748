/*
 * fuzz_message.c - a whole message through the milter's evaluation, with
 * every DNS answer taken from the input.
 *
 * The input is a small zone, a line "%%", then the message (header, blank
 * line, body).  Without "%%" the whole input is the message and the zone
 * is empty (every name NXDOMAIN).  Zone lines:
 *
 *	@rfc9989		DMARCRules rfc9989 (default rfc7489)
 *	@trusted		the client is a trusted gateway whose A-R with
 *				authserv-id gw.example.net is believed
 *	@strict			RejectFailures, RequiredHeaders, RejectMultiValueFrom,
 *				TemporaryFailures tempfail, DKIMBodyLength allow,
 *				HoldQuarantinedMessages, no redaction in failure reports
 *	@ip ADDR		client address (default 192.0.2.1); "@ip" alone: local
 *	@helo NAME		HELO argument (default mail.example.com)
 *	@from ADDR		MAIL FROM argument (default "", the null sender)
 *	@rcpt ADDR		a RCPT TO argument
 *	@rawbody		the body goes to DKIM as it is, not LF -> CRLF
 *	NAME TXT text		the text unquoted (dns.c quotes it)
 *	NAME A|AAAA|MX|PTR|CNAME|NS rdata	presentation format
 *	NAME SERVFAIL|NXDOMAIN|NODATA|FORMERR|TIMEOUT [TYPE]
 *
 * What the milter does at end of message is done here too, without
 * libmilter: action_decide, ar_compose (our A-R must parse with our own
 * A-R parser and carry our authserv-id), action_summary, history_format
 * (the line must parse back), and for failure reports failrep_input_new,
 * the RFC 9990 §4 destination check over the same DNS, and failrep_format.
 *
 * The configurations, the Public Suffix List and the DKIM/SPF libraries'
 * global setup are made once; the DNS and everything on it per input.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "action.h"
#include "ar.h"
#include "buf.h"
#include "config.h"
#include "dkimverify.h"
#include "dns.h"
#include "evaluate.h"
#include "failrep.h"
#include "hdr.h"
#include "history.h"
#include "orgdomain.h"
#include "result.h"
#include "rua.h"
#include "runtime.h"
#include "session.h"
#include "spfcheck.h"
#include "util.h"
#include "fuzz.h"

#define MAX_ZONE_LINES	64
#define MAX_RCPTS	8
#define MAX_MESSAGE	(256u * 1024)
#define BODY_CHUNK	4096		/* smaller than an MTA's, so chunk edges are hit */
#define AUTHSERV_ID	"mx.example.org"
#define GATEWAY_ID	"gw.example.net"

#define OPT_RFC9989	1
#define OPT_TRUSTED	2
#define OPT_STRICT	4
#define N_CONFIGS	8

static struct config	*confs[N_CONFIGS];
static struct orgdomain	*psl;
static bool		 print;		/* FUZZ_MESSAGE_PRINT: show the outcome (seed writing) */

/* make_config - one of the eight configurations */
static struct config *
make_config(unsigned opts)
{
	const char *path = fuzz_tmpfile("message.conf");
	struct config *c;
	struct buf b;
	char err[512];

	buf_init(&b, 0);
	buf_printf(&b, "AuthservID %s\nDNSCacheSize 16\nSamplingSeed 7\n",
	    AUTHSERV_ID);
	buf_printf(&b, "DMARCRules %s\n", opts & OPT_RFC9989 ? "rfc9989" : "rfc7489");
	if (opts & OPT_TRUSTED)
		buf_printf(&b, "TrustedHosts 0.0.0.0/0, ::/0\nTrustedAuthservIDs %s, Other.Example\n",
		    GATEWAY_ID);
	if (opts & OPT_STRICT)
		buf_puts(&b, "RejectFailures yes\nRequiredHeaders yes\nRejectMultiValueFrom yes\n"
		    "TemporaryFailures tempfail\nDKIMBodyLength allow\nHoldQuarantinedMessages yes\n"
		    "FailureReports yes\nFailureReportsRedact no\nFailureReportsFrom dmarc@example.org\n");
	else
		buf_puts(&b, "FailureReports yes\n");
	fuzz_write(path, (const uint8_t *)buf_str(&b), b.len);
	buf_free(&b);
	if ((c = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_message: configuration %u: %s\n", opts, err);
		abort();
	}
	return c;
}

/* LLVMFuzzerInitialize - configurations and the PSL, once per process */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	unsigned i;

	(void)argc;
	(void)argv;
	fuzz_quiet();
	print = getenv("FUZZ_MESSAGE_PRINT") != NULL;
	for (i = 0; i < N_CONFIGS; i++)
		confs[i] = make_config(i);
	if ((psl = orgdomain_load(confs[0]->psl_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_message: %s: %s\n", confs[0]->psl_file, err);
		abort();
	}
	return 0;
}

/* The envelope and options read from the zone part. */
struct env {
	unsigned	 opts;
	char		*ip;		/* NULL: 192.0.2.1 */
	char		*helo;
	char		*mail_from;
	char		*rcpt[MAX_RCPTS];
	size_t		 n_rcpt;
	bool		 rawbody;
};

/* qtype - a type name, 0 for "every type" (empty), -1 when unknown */
static int
qtype(const char *s)
{
	static const struct { const char *name; int type; } t[] = {
		{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "TXT", DNS_T_TXT }, { "MX", DNS_T_MX },
		{ "PTR", DNS_T_PTR }, { "CNAME", DNS_T_CNAME }, { "NS", DNS_T_NS }, { "SOA", DNS_T_SOA },
	};
	size_t i;

	if (*s == '\0')
		return 0;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(s, t[i].name) == 0)
			return t[i].type;
	return -1;
}

/* zone_line - one line of the zone part (NUL-terminated, no newline) */
static void
zone_line(struct dns *dns, struct env *e, char *line)
{
	char *name = line, *kind, *rest;
	int t;

	if (line[0] == '@') {
		if (strcmp(line, "@rfc9989") == 0)
			e->opts |= OPT_RFC9989;
		else if (strcmp(line, "@trusted") == 0)
			e->opts |= OPT_TRUSTED;
		else if (strcmp(line, "@strict") == 0)
			e->opts |= OPT_STRICT;
		else if (strcmp(line, "@rawbody") == 0)
			e->rawbody = true;
		else if (strcmp(line, "@ip") == 0 || strncmp(line, "@ip ", 4) == 0) {
			free(e->ip);
			e->ip = xstrdup(line[3] != '\0' ? line + 4 : "");
		} else if (strncmp(line, "@helo ", 6) == 0) {
			free(e->helo);
			e->helo = xstrdup(line + 6);
		} else if (strncmp(line, "@from ", 6) == 0) {
			free(e->mail_from);
			e->mail_from = xstrdup(line + 6);
		} else if (strncmp(line, "@rcpt ", 6) == 0 && e->n_rcpt < MAX_RCPTS)
			e->rcpt[e->n_rcpt++] = xstrdup(line + 6);
		return;
	}
	if ((kind = strchr(line, ' ')) == NULL)
		return;
	*kind++ = '\0';
	if ((rest = strchr(kind, ' ')) != NULL)
		*rest++ = '\0';
	else
		rest = kind + strlen(kind);
	if (*name == '\0')
		return;
	if (strcmp(kind, "SERVFAIL") == 0 || strcmp(kind, "NXDOMAIN") == 0 ||
	    strcmp(kind, "NODATA") == 0 || strcmp(kind, "FORMERR") == 0 ||
	    strcmp(kind, "TIMEOUT") == 0) {
		if ((t = qtype(rest)) < 0)
			return;
		if (strcmp(kind, "TIMEOUT") == 0)
			(void)dns_static_set_timeout(dns, name, (uint16_t)t);
		else
			(void)dns_static_set_status(dns, name, (uint16_t)t,
			    kind[0] == 'S' ? DNS_TEMPFAIL : kind[0] == 'N' && kind[1] == 'X' ? DNS_NXDOMAIN :
			    kind[0] == 'F' ? DNS_PERMFAIL : DNS_OK);
		return;
	}
	if ((t = qtype(kind)) <= 0)
		return;
	(void)dns_static_add(dns, name, (uint16_t)t, rest);
}

/* read_zone - the part before "%%"; returns the offset of the message */
static size_t
read_zone(struct dns *dns, struct env *e, const uint8_t *data, size_t size)
{
	const uint8_t *sep = NULL;
	size_t i, start = 0, zlen, n = 0;

	/* "%%" on a line of its own */
	for (i = 0; i + 2 <= size; i++)
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '%' && data[i + 1] == '%' &&
		    (i + 2 == size || data[i + 2] == '\n' || data[i + 2] == '\r')) {
			sep = data + i;
			break;
		}
	if (sep == NULL)
		return 0;
	zlen = (size_t)(sep - data);
	for (i = 0; i <= zlen && n < MAX_ZONE_LINES; i++) {
		if (i == zlen || data[i] == '\n') {
			size_t l = i - start;
			char *line;

			if (l > 0 && data[start + l - 1] == '\r')
				l--;
			/* a NUL would cut the line short: dns.c's API takes C strings */
			if (memchr(data + start, '\0', l) == NULL && l > 0) {
				line = xstrndup((const char *)data + start, l);
				zone_line(dns, e, line);
				free(line);
				n++;
			}
			start = i + 1;
		}
	}
	i = zlen + 2;
	while (i < size && data[i] != '\n')
		i++;
	return i < size ? i + 1 : size;
}

/* add_field - one unfolded field; folded lines joined by "\n", CRs dropped */
static void
add_field(struct session *s, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	char *name, *value, *w;
	size_t i;

	if (colon == NULL)
		return;
	name = xstrndup(p, (size_t)(colon - p));
	for (w = name + strlen(name); w > name && (w[-1] == ' ' || w[-1] == '\t'); )
		*--w = '\0';
	value = xmalloc(len + 1);
	w = value;
	i = (size_t)(colon - p) + 1;
	if (!s->leadspc)
		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
	for (; i < len; i++)
		if (p[i] != '\r')
			*w++ = p[i];
	*w = '\0';
	(void)session_add_header(s, name, value);
	free(name);
	free(value);
}

/* split_header - fields into the session as an MTA gives them; returns the body offset */
static size_t
split_header(struct session *s, const char *msg, size_t len)
{
	size_t i = 0, start = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && msg[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && msg[i] == '\r')) {
			if (i > start)
				add_field(s, msg + start, i - start - 1);
			return eol < len ? eol + 1 : len;
		}
		if (i > start && msg[i] != ' ' && msg[i] != '\t') {
			add_field(s, msg + start, i - start - 1);
			start = i;
		}
		i = eol + 1;
	}
	if (len > start)
		add_field(s, msg + start, len - start);
	return len;
}

/* feed_body - to the evaluation in chunks, CRLF line ends unless raw */
static void
feed_body(struct evaluation *ev, const char *p, size_t len, bool raw)
{
	struct buf b;
	size_t i, off;

	buf_init(&b, 0);
	for (i = 0; i < len; i++) {
		if (!raw && p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_putc(&b, '\r');
		buf_putc(&b, p[i]);
	}
	for (off = 0; off < b.len; off += BODY_CHUNK)
		evaluation_body(ev, (const unsigned char *)b.data + off,
		    b.len - off < BODY_CHUNK ? b.len - off : BODY_CHUNK);
	buf_free(&b);
}

/* check_ar - our own header must parse and name us */
static void
check_ar(const char *ar)
{
	struct hdr_ar parsed;
	char err[256];

	memset(&parsed, 0, sizeof(parsed));
	if (hdr_ar_parse(ar, &parsed, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: our A-R does not parse (%s): %s\n", err, ar);
		abort();
	}
	FUZZ_CHECK(ascii_strcaseeq(parsed.authserv_id, AUTHSERV_ID));
	hdr_ar_free(&parsed);
	FUZZ_CHECK(hdr_ar_authserv_is(ar, AUTHSERV_ID));
}

/* check_history - the record the milter would append, read back */
static void
check_history(const struct session *s, const struct verdict *v, const struct decision *d)
{
	struct history_msg hm;
	struct history_record r;
	const char *doms[MAX_RCPTS + 1];
	struct buf line;
	char err[512];
	size_t i;

	for (i = 0; i < s->msg.n_rcpts && i < MAX_RCPTS; i++) {
		const char *at = strrchr(s->msg.rcpts[i], '@');

		doms[i] = at != NULL ? at + 1 : "";
	}
	memset(&hm, 0, sizeof(hm));
	hm.id = "fuzz.1";
	hm.when = v->when;
	hm.queue_id = "QID";
	hm.reporter = s->conf->authserv_id;
	hm.client_ip = s->client_addr;
	hm.helo = s->helo != NULL ? s->helo : "";
	hm.mail_from = s->msg.mail_from != NULL ? s->msg.mail_from : "";
	hm.rcpt_domains = doms;
	hm.n_rcpt_domains = i;
	buf_init(&line, HISTORY_MAX_LINE);
	FUZZ_CHECK(history_format(&hm, v, action_str(d->action), &line) == 0);
	memset(&r, 0, sizeof(r));
	if (history_parse(buf_str(&line), line.len, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: the history line does not parse (%s): %s", err, buf_str(&line));
		abort();
	}
	history_record_free(&r);
	buf_free(&line);
}

/* destinations - the RFC 9990 §4 check dmarc-reports and the report sender make */
static void
destinations(struct runtime *rt, const char *policy_domain, const struct dmarc_uri *u, size_t n,
    const struct failrep_input *in)
{
	struct rua_dest *dests = NULL;
	struct buf msg;
	char err[512];
	size_t nd = 0, i;

	if (rua_destinations_uris(rt->dns, rt->psl, rt->conf->rules, policy_domain, u, n, &dests,
	    &nd, err, sizeof(err)) != 0)
		return;
	for (i = 0; i < nd; i++) {
		FUZZ_CHECK(dests[i].uri != NULL);
		if (dests[i].status != RUA_ALLOWED || in == NULL)
			continue;
		FUZZ_CHECK(dests[i].address != NULL);
		buf_init(&msg, 0);
		failrep_format(in, dests[i].address, "v=spf1 -all", 1700000000, "fuzz.unique", &msg);
		FUZZ_CHECK(msg.len > 0);
		buf_free(&msg);
	}
	rua_dests_free(dests, nd);
}

/* reports - aggregate destinations and failure reports for every outcome */
static void
reports(struct runtime *rt, const struct session *s, const struct verdict *v,
    const struct decision *d, const char *ar)
{
	size_t i;

	for (i = 0; i < v->n_dmarc; i++) {
		const struct dmarc_outcome *o = &v->dmarc[i];
		enum failrep_trigger trig;
		struct failrep_input *in;

		if (o->have_record && o->record.n_rua > 0)
			destinations(rt, o->policy_domain != NULL ? o->policy_domain : o->from_domain,
			    o->record.rua, o->record.n_rua, NULL);
		if ((trig = failrep_trigger(v, o)) == FAILREP_NONE || failrep_is_report(s))
			continue;
		in = failrep_input_new(rt->conf, s, v, o, trig, action_str(d->action), ar);
		destinations(rt, in->policy_domain, in->ruf, in->n_ruf, in);
		failrep_input_free(in);
	}
}

/* LLVMFuzzerTestOneInput - one zone and one message */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_options o;
	struct dkimverify_policy pol;
	struct runtime rt;
	struct env e;
	struct session *s;
	struct evaluation *ev;
	struct verdict v;
	struct decision d;
	struct ar_input in;
	struct buf summary;
	unsigned char tmp[16];
	const char *ip;
	char err[512], *ar;
	size_t off, body, i;

	if (size > MAX_MESSAGE)
		return 0;
	memset(&o, 0, sizeof(o));
	o.cache_entries = 16;
	o.max_ttl = 300;
	o.max_neg_ttl = 60;
	o.timeout = 0;			/* TIMEOUT names answer at once */

	memset(&rt, 0, sizeof(rt));
	rt.dns = dns_new_static(&o);
	memset(&e, 0, sizeof(e));
	off = read_zone(rt.dns, &e, data, size);

	rt.conf = confs[e.opts % N_CONFIGS];
	rt.psl = psl;
	pthread_mutex_init(&rt.sample_lock, NULL);
	rt.sample_state = 0x9e3779b97f4a7c15ull;	/* the same every run: reproducible */
	if ((rt.spf = spfcheck_new(rt.dns, rt.conf->authserv_id, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_message: SPF: %s\n", err);
		abort();
	}
	dkimverify_policy_init(&pol);
	pol.min_key_bits = rt.conf->min_key_bits;
	pol.body_length = rt.conf->body_length == BODYLEN_ALLOW ? DKIM_LTAG_ALLOW :
	    DKIM_LTAG_REJECT_PARTIAL;
	if ((rt.dkim = dkimverify_lib_new(rt.dns, &pol, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_message: DKIM: %s\n", err);
		abort();
	}

	/* the envelope, as milter.c and offline.c fill it */
	s = session_new(&rt, rt.conf);
	ip = e.ip != NULL ? e.ip : "192.0.2.1";
	if (inet_pton(AF_INET, ip, tmp) == 1)
		s->client_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, tmp) == 1)
		s->client_family = AF_INET6;
	else
		ip = "";		/* a local (non-IP) client */
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", ip);
	s->client_host = xstrdup(e.helo != NULL ? e.helo : "unknown");
	s->leadspc = true;
	session_set_helo(s, e.helo != NULL ? e.helo : "mail.example.com");
	session_set_mail_from(s, e.mail_from != NULL ? e.mail_from : "<>");
	for (i = 0; i < e.n_rcpt; i++)
		(void)session_add_rcpt(s, e.rcpt[i]);

	body = off + split_header(s, (const char *)data + off, size - off);
	ev = evaluation_new(&rt, s, "fuzz");
	s->msg.eval = ev;		/* session_free frees it */
	evaluation_eoh(ev);
	feed_body(ev, (const char *)data + body, size - body, e.rawbody);
	evaluation_finish(ev, &v);
	action_decide(rt.conf, &v, &d);
	(void)evaluation_used_upstream(ev);

	memset(&in, 0, sizeof(in));
	in.authserv_id = rt.conf->authserv_id;
	in.client_ip = s->client_addr;
	in.helo = s->helo;
	in.mail_from = s->msg.mail_from != NULL ? s->msg.mail_from : "";
	in.v = &v;
	ar = ar_compose(&in);
	FUZZ_CHECK(ar != NULL);		/* the AuthservID is a valid one */
	check_ar(ar);
	buf_init(&summary, 8192);
	action_summary(&v, &d, &summary);
	if (print)
		fprintf(stderr, "Authentication-Results: %s\nAction: %s\nSummary: %s\n", ar,
		    action_str(d.action), buf_str(&summary));
	buf_free(&summary);
	check_history(s, &v, &d);
	reports(&rt, s, &v, &d, ar);

	free(ar);
	action_free(&d);
	verdict_free(&v);
	session_free(s);
	dkimverify_lib_free(rt.dkim);
	spfcheck_free(rt.spf);
	dns_free(rt.dns);
	pthread_mutex_destroy(&rt.sample_lock);
	free(e.ip);
	free(e.helo);
	free(e.mail_from);
	for (i = 0; i < e.n_rcpt; i++)
		free(e.rcpt[i]);
	return 0;
}
