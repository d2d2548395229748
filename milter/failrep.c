/*
 * failrep.c - DMARC failure reports (RFC 9991, RFC 6591, RFC 5965).
 *
 * See failrep.h for the design: decide and copy on the message thread,
 * rate-limit per destination domain, queue in memory, and let one sender
 * thread verify destinations and talk SMTP to the relay.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ar.h"
#include "buf.h"
#include "config.h"
#include "dns.h"
#include "failrep.h"
#include "log.h"
#include "rua.h"
#include "runtime.h"
#include "session.h"
#include "smtp.h"
#include "util.h"

/* ---------------------------------------------------------------- when */

/* fo_flags - the "fo" tag as published: "0", "1", "d", "s", joined by ":" */
static void
fo_flags(const char *fo, bool *f0, bool *f1, bool *fd, bool *fs)
{
	const char *p;

	*f0 = *f1 = *fd = *fs = false;
	if (fo == NULL) {		/* RFC 9989 §4.7: the default is "0" */
		*f0 = true;
		return;
	}
	for (p = fo; *p != '\0'; p++) {
		switch (*p) {
		case '0': *f0 = true; break;
		case '1': *f1 = true; break;
		case 'd': case 'D': *fd = true; break;
		case 's': case 'S': *fs = true; break;
		default: break;		/* ":" and blanks; the parser checked the rest */
		}
	}
}

/* dkim_failed - a signature that "failed evaluation" (RFC 9989 §4.7 fo=d) */
static bool
dkim_failed(enum auth_res r)
{
	return r == AUTH_FAIL || r == AUTH_PERMERROR || r == AUTH_POLICY;
}

/* failrep_trigger - which fo condition, if any, this outcome meets */
enum failrep_trigger
failrep_trigger(const struct verdict *v, const struct dmarc_outcome *o)
{
	bool f0, f1, fd, fs;
	size_t i;

	if (!o->have_record || o->record.n_ruf == 0)
		return FAILREP_NONE;
	/* RFC 9991 §2: "Report generators MUST NOT consider "ruf" tags in
	 * DMARC Policy Records having a "psd=y" tag". */
	if (o->record.psd == DMARC_PSD_YES)
		return FAILREP_NONE;
	if (o->result != AUTH_PASS && o->result != AUTH_FAIL)
		return FAILREP_NONE;	/* temperror/permerror: nothing was authenticated or not */
	fo_flags(o->record.fo, &f0, &f1, &fd, &fs);
	if (f0 && !o->spf_aligned && !o->dkim_aligned)
		return FAILREP_DMARC;
	if (f1 && (!o->spf_aligned || !o->dkim_aligned))
		return FAILREP_DMARC;
	if (fd)
		for (i = 0; i < v->n_dkim; i++)
			if (dkim_failed(v->dkim[i].result))
				return FAILREP_DKIM;
	if (fs && (v->spf.result == AUTH_FAIL || v->spf.result == AUTH_SOFTFAIL ||
	    v->spf.result == AUTH_PERMERROR))
		return FAILREP_SPF;
	return FAILREP_NONE;
}

/*
 * roughly_aligned - whether d is aligned with the author domain, for
 * choosing which DKIM-* and SPF-DNS fields to fill (RFC 9991 §4 asks for
 * them on "failures of an aligned identifier").  Strict: the same name.
 * Relaxed: the Organizational Domain found by the evaluation or a name
 * below it.  Only the report's content depends on this, never a verdict.
 */
static bool
roughly_aligned(const char *d, const struct dmarc_outcome *o, enum dmarc_align mode)
{
	size_t ld, lo;

	if (d == NULL || o->from_domain == NULL)
		return false;
	if (ascii_strcaseeq(d, o->from_domain))
		return true;
	if (mode == DMARC_ALIGN_STRICT || o->org_domain == NULL)
		return false;
	ld = strlen(d);
	lo = strlen(o->org_domain);
	if (ld == lo)
		return ascii_strcaseeq(d, o->org_domain);
	return ld > lo && d[ld - lo - 1] == '.' && ascii_strcaseeq(d + ld - lo, o->org_domain);
}

/* ---------------------------------------------------------------- content */

/* is_atext - RFC 5322 §3.2.3 atext, and "." inside a dot-atom */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* failrep_redact_value - every local@domain becomes redacted@domain (RFC 6590) */
char *
failrep_redact_value(const char *value)
{
	struct buf b;
	size_t len = strlen(value), i, copied = 0;

	buf_init(&b, 0);
	for (i = 0; i < len; i++) {
		size_t start;

		if (value[i] != '@' || i == 0 || i + 1 >= len)
			continue;
		if (!is_atext((unsigned char)value[i + 1]) || value[i + 1] == '.')
			continue;	/* not followed by a domain */
		start = i;
		if (value[i - 1] == '"') {	/* "quoted local"@domain */
			size_t q = i - 1;

			while (q > copied && value[q - 1] != '"')
				q--;
			if (q == copied || q < 1)
				continue;
			start = q - 1;
		} else {
			while (start > copied && is_atext((unsigned char)value[start - 1]))
				start--;
		}
		if (start == i)
			continue;
		buf_append(&b, value + copied, start - copied);
		buf_puts(&b, "redacted");
		copied = i;
	}
	buf_append(&b, value + copied, len - copied);
	return buf_detach(&b);
}

/* Header fields that name recipients (or carry them, as Received "for"). */
static bool
names_recipients(const char *name)
{
	static const char *const fields[] = {
		"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc", "Delivered-To",
		"X-Original-To", "Envelope-To", "X-Envelope-To", "Apparently-To", "Received",
		"Original-Recipient", "X-Rcpt-To", "X-Forwarded-To", "X-Original-Recipient"
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (ascii_strcaseeq(name, fields[i]))
			return true;
	return false;
}

/*
 * put_header_lines - one header field as it goes into the report: CRLF
 * line ends, every continuation line starting with white space (a value
 * cannot start a new field or end the header), control characters as
 * "?", physical lines kept under 998 octets (RFC 5322 §2.1.1).  Returns
 * whether an 8-bit byte was written.
 */
static bool
put_header_lines(struct buf *b, const char *name, const char *value)
{
	size_t linelen;
	bool eightbit = false;
	const unsigned char *p;

	buf_puts(b, name);
	buf_putc(b, ':');
	linelen = strlen(name) + 1;
	/* One blank after the colon: the MTA's own (SMFIP_HDR_LEADSPC) or ours. */
	if (*value != '\0' && *value != ' ' && *value != '\t') {
		buf_putc(b, ' ');
		linelen++;
	}
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n') {
			if (*p == '\r' && p[1] == '\n')
				p++;
			if (p[1] == '\0')
				break;
			if (p[1] == '\r' || p[1] == '\n')
				continue;	/* an empty line would end the header */
			buf_puts(b, "\r\n");
			linelen = 0;
			if (p[1] != ' ' && p[1] != '\t') {
				buf_putc(b, '\t');
				linelen = 1;
			}
			continue;
		}
		if (linelen >= 990) {
			buf_puts(b, "\r\n\t");
			linelen = 1;
		}
		if (*p >= 0x80)
			eightbit = true;
		buf_putc(b, (*p < 0x20 && *p != '\t') || *p == 0x7f ? '?' : (char)*p);
		linelen++;
	}
	buf_puts(b, "\r\n");
	return eightbit;
}

/* clean - a copy of s fit for one header line: controls and 8-bit bytes as "?" */
static char *
clean(const char *s)
{
	char *c = xstrdup(s != NULL ? s : ""), *p;

	for (p = c; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return c;
}

/* delivery_result - RFC 6591 §3.2.3 from our action */
static const char *
delivery_result(const char *action)
{
	if (action == NULL)
		return "other";
	if (strcmp(action, "accept") == 0)
		return "delivered";
	if (strcmp(action, "quarantine") == 0)
		return "spam";
	if (strcmp(action, "reject") == 0)
		return "reject";
	return "other";
}

/* failrep_input_new - copy what a report needs */
struct failrep_input *
failrep_input_new(const struct config *conf, const struct session *s, const struct verdict *v,
    const struct dmarc_outcome *o, enum failrep_trigger trig, const char *delivery, const char *ar)
{
	struct failrep_input *in = xcalloc(1, sizeof(*in));
	const struct dkim_outcome *sig = NULL;
	struct buf ia, hb;
	size_t i;

	in->reporter = xstrdup(conf->authserv_id);
	in->from = conf->failure_reports_from != NULL ? xstrdup(conf->failure_reports_from) :
	    xasprintf("postmaster@%s", conf->authserv_id);
	in->rules = conf->rules;
	in->policy_domain = xstrdup(o->policy_domain != NULL ? o->policy_domain : o->from_domain);
	in->reported_domain = xstrdup(o->from_domain);
	in->n_ruf = o->record.n_ruf;
	in->ruf = xcalloc(in->n_ruf ? in->n_ruf : 1, sizeof(*in->ruf));
	for (i = 0; i < in->n_ruf; i++) {
		in->ruf[i].uri = xstrdup(o->record.ruf[i].uri);
		in->ruf[i].size_limit = o->record.ruf[i].size_limit;
	}
	in->source_ip = xstrdup(s->client_addr);
	in->mail_from = clean(s->msg.mail_from);
	in->arrival = v->when;
	in->delivery_result = delivery_result(delivery);
	in->auth_results = ar != NULL ? xstrdup(ar) : NULL;

	/* RFC 9991 §4 item 2: the mechanisms that failed to authenticate an
	 * aligned identity, or "none". */
	buf_init(&ia, 32);
	if (!o->dkim_aligned)
		buf_puts(&ia, "dkim");
	if (!o->spf_aligned)
		buf_puts(&ia, ia.len ? ", spf" : "spf");
	if (ia.len == 0)
		buf_puts(&ia, "none");
	in->identity_alignment = buf_detach(&ia);

	switch (trig) {
	case FAILREP_DKIM:
		in->auth_failure = "signature";
		for (i = 0; i < v->n_dkim; i++)
			if (dkim_failed(v->dkim[i].result)) {
				sig = &v->dkim[i];
				break;
			}
		if (sig != NULL && sig->reason != NULL && strstr(sig->reason, "body hash") != NULL)
			in->auth_failure = "bodyhash";
		break;
	case FAILREP_SPF:
		in->auth_failure = "spf";
		break;
	default:
		in->auth_failure = "dmarc";	/* RFC 9991 §4 item 3 */
		break;
	}
	/* RFC 9991 §4 item 1: DKIM-Domain, -Identity, -Selector are REQUIRED
	 * for DKIM failures of an aligned identifier. */
	if (sig == NULL)
		for (i = 0; i < v->n_dkim; i++)
			if (v->dkim[i].result != AUTH_PASS &&
			    roughly_aligned(v->dkim[i].domain, o, o->record.adkim)) {
				sig = &v->dkim[i];
				break;
			}
	if (sig != NULL && sig->domain != NULL) {
		in->dkim_domain = clean(sig->domain);
		in->dkim_identity = sig->identity != NULL ? clean(sig->identity) :
		    xasprintf("@%s", in->dkim_domain);
		in->dkim_selector = clean(sig->selector);
	}
	/* ... and SPF-DNS for an SPF failure of an aligned identifier. */
	if (v->spf.domain != NULL && v->spf.result != AUTH_PASS && v->spf.result != AUTH_NONE &&
	    (trig == FAILREP_SPF || roughly_aligned(v->spf.domain, o, o->record.aspf)))
		in->spf_domain = clean(v->spf.domain);

	buf_init(&hb, 0);
	for (i = 0; i < s->msg.n_headers; i++) {
		const struct header *h = &s->msg.headers[i];
		char *val = NULL;
		size_t before = hb.len;

		if (conf->failure_reports_redact && names_recipients(h->name))
			val = failrep_redact_value(h->value);
		if (put_header_lines(&hb, h->name, val != NULL ? val : h->value))
			in->headers_8bit = true;
		free(val);
		if (hb.len > FAILREP_MAX_HEADER_BYTES) {
			hb.len = before;	/* whole fields only */
			hb.data[hb.len] = '\0';
			in->headers_cut = true;
			break;
		}
	}
	in->headers = buf_detach(&hb);
	return in;
}

/* failrep_input_free - release a copy */
void
failrep_input_free(struct failrep_input *in)
{
	size_t i;

	if (in == NULL)
		return;
	free(in->reporter);
	free(in->from);
	free(in->policy_domain);
	free(in->reported_domain);
	for (i = 0; i < in->n_ruf; i++)
		free(in->ruf[i].uri);
	free(in->ruf);
	free(in->source_ip);
	free(in->mail_from);
	free(in->identity_alignment);
	free(in->auth_results);
	free(in->dkim_domain);
	free(in->dkim_identity);
	free(in->dkim_selector);
	free(in->spf_domain);
	free(in->headers);
	free(in);
}

/*
 * put_field - "Name: value" folded at blanks before 78 columns where it
 * can be; any CR/LF in value (the A-R composer folds with "\n\t") turns
 * into one blank first.  A word too long for a 998-octet line is cut.
 */
static void
put_field(struct buf *b, const char *name, const char *value)
{
	char *flat = xstrdup(value), *w, *save = NULL, *p;
	size_t col;

	for (p = flat; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == '\t')
			*p = ' ';
	buf_puts(b, name);
	buf_putc(b, ':');
	col = strlen(name) + 1;
	for (w = strtok_r(flat, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		size_t wl = strlen(w);

		if (wl > 900)
			wl = 900;
		if (col + 1 + wl > 78 && col > strlen(name) + 1) {
			buf_puts(b, "\r\n");
			col = 0;
		}
		buf_putc(b, col == 0 ? '\t' : ' ');
		buf_append(b, w, wl);
		col += 1 + wl;
	}
	buf_puts(b, "\r\n");
	free(flat);
}

/* failrep_format - the report for one destination */
void
failrep_format(const struct failrep_input *in, const char *to, const char *spf_txt,
    time_t now, const char *unique, struct buf *out)
{
	char date[RFC5322_DATE_LEN], arrival[RFC5322_DATE_LEN], boundary[128];
	char *txt;

	rfc5322_date(now, date, sizeof(date));
	rfc5322_date(in->arrival, arrival, sizeof(arrival));
	snprintf(boundary, sizeof(boundary), "=_dmarc-milter_%s", unique);

	/* RFC 5965 §2: a multipart/report of three parts. */
	buf_printf(out, "From: <%s>\r\n", in->from);
	buf_printf(out, "To: <%s>\r\n", to);
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Subject: DMARC failure report for %s from %s\r\n", in->reported_domain,
	    in->source_ip[0] != '\0' ? in->source_ip : "an unknown address");
	buf_printf(out, "Message-ID: <%s@%s>\r\n", unique, in->reporter);
	buf_puts(out, "MIME-Version: 1.0\r\n");
	/* RFC 3834: automatic, so auto-responders stay quiet (RFC 9991 §5.1 loops) */
	buf_puts(out, "Auto-Submitted: auto-generated\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n", boundary);
	buf_puts(out, "This is a DMARC failure report (RFC 9991) in MIME format.\r\n\r\n");

	/* 1: for people */
	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n", boundary);
	buf_printf(out, "This is an authentication failure report from %s (dmarc-milter).\r\n"
	    "A message claiming to be from %s was received from IP address %s\r\n"
	    "on %s and failed the DMARC checks your domain asked for.\r\n",
	    in->reporter, in->reported_domain, in->source_ip[0] != '\0' ? in->source_ip : "(unknown)",
	    arrival);
	buf_printf(out, "Mechanisms that did not authenticate an aligned identity: %s.\r\n"
	    "What happened to the message: %s.\r\n", in->identity_alignment, in->delivery_result);
	buf_puts(out, "Only the header of the message is included, never its body.\r\n");
	if (in->headers_cut)
		buf_printf(out, "The header was longer than %u bytes and is cut short.\r\n",
		    FAILREP_MAX_HEADER_BYTES);
	buf_puts(out, "\r\n");

	/* 2: for machines (RFC 5965 §3.1, RFC 6591 §3, RFC 9991 §4) */
	buf_printf(out, "--%s\r\nContent-Type: message/feedback-report\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n", boundary);
	buf_puts(out, "Feedback-Type: auth-failure\r\n");
	buf_puts(out, "User-Agent: " PACKAGE_NAME "/" PACKAGE_VERSION "\r\n");
	buf_puts(out, "Version: 1\r\n");
	buf_printf(out, "Auth-Failure: %s\r\n", in->auth_failure);
	buf_printf(out, "Original-Mail-From: <%s>\r\n", in->mail_from);
	buf_printf(out, "Arrival-Date: %s\r\n", arrival);
	if (in->source_ip[0] != '\0')
		buf_printf(out, "Source-IP: %s\r\n", in->source_ip);
	buf_printf(out, "Reported-Domain: %s\r\n", in->reported_domain);
	if (in->auth_results != NULL)	/* RFC 6591 §3.1: REQUIRED */
		put_field(out, "Authentication-Results", in->auth_results);
	buf_printf(out, "Identity-Alignment: %s\r\n", in->identity_alignment);
	buf_printf(out, "Delivery-Result: %s\r\n", in->delivery_result);
	if (in->dkim_domain != NULL) {
		buf_printf(out, "DKIM-Domain: %s\r\n", in->dkim_domain);
		buf_printf(out, "DKIM-Identity: %s\r\n", in->dkim_identity);
		buf_printf(out, "DKIM-Selector: %s\r\n", in->dkim_selector);
	}
	if (in->spf_domain != NULL && spf_txt != NULL) {
		char *v;

		/* RFC 6591 §3.2.5: "txt" : domain : the record as found */
		txt = clean(spf_txt);
		v = xasprintf("txt : %s : %s", in->spf_domain, txt);
		put_field(out, "SPF-DNS", v);
		free(v);
		free(txt);
	}
	buf_puts(out, "\r\n");

	/* 3: the original header (RFC 6591 §3.3: text/rfc822-headers is allowed) */
	buf_printf(out, "--%s\r\nContent-Type: text/rfc822-headers\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", boundary, in->headers_8bit ? "8bit" : "7bit");
	buf_puts(out, in->headers);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* failrep_is_report - a feedback report (RFC 5965) is never reported on */
bool
failrep_is_report(const struct session *s)
{
	size_t i;

	for (i = 0; i < s->msg.n_headers; i++) {
		const char *v = s->msg.headers[i].value;

		if (ascii_strcaseeq(s->msg.headers[i].name, "Content-Type") &&
		    strcasestr(v, "multipart/report") != NULL && strcasestr(v, "feedback-report") != NULL)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- rate limit */

struct rl_entry {
	char		*key;
	time_t		 window;	/* start of the window counted */
	unsigned	 count;
	bool		 refused;	/* a refusal was reported in this window */
	struct rl_entry	*next;
};

#define RL_BUCKETS	1024

struct ratelimit {
	struct rl_entry	*bucket[RL_BUCKETS];
	size_t		 n, max;
};

struct ratelimit *
ratelimit_new(size_t max_keys)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->max = max_keys;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i;

	if (rl == NULL)
		return;
	for (i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry *e = rl->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(rl);
}

/* rl_prune - drop every entry of an older window (when the table is full) */
static void
rl_prune(struct ratelimit *rl, time_t window)
{
	size_t i;

	for (i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry **pp = &rl->bucket[i], *e;

		while ((e = *pp) != NULL) {
			if (e->window != window) {
				*pp = e->next;
				free(e->key);
				free(e);
				rl->n--;
			} else
				pp = &e->next;
		}
	}
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, time_t now, unsigned limit, unsigned window,
    bool *first_refusal)
{
	time_t w = now - now % (time_t)window;
	uint32_t h = 2166136261u;	/* FNV-1a */
	const char *p;
	struct rl_entry *e;

	*first_refusal = false;
	for (p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)ascii_tolower(*p)) * 16777619u;
	for (e = rl->bucket[h % RL_BUCKETS]; e != NULL; e = e->next)
		if (ascii_strcaseeq(e->key, key))
			break;
	if (e == NULL) {
		if (rl->n >= rl->max)
			rl_prune(rl, w);
		if (rl->n >= rl->max) {		/* that many domains in one window: refuse */
			*first_refusal = false;
			return false;
		}
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		e->window = w;
		e->next = rl->bucket[h % RL_BUCKETS];
		rl->bucket[h % RL_BUCKETS] = e;
		rl->n++;
	}
	if (e->window != w) {
		e->window = w;
		e->count = 0;
		e->refused = false;
	}
	if (e->count >= limit) {
		if (!e->refused)
			*first_refusal = true;
		e->refused = true;
		return false;
	}
	e->count++;
	return true;
}

/* ---------------------------------------------------------------- queue */

#define RL_MAX_KEYS	100000

struct item {
	struct failrep_input *in;
	time_t		 next_try;
	unsigned	 tries;
	char		**done;		/* addresses the relay accepted */
	size_t		 n_done;
	struct item	*next;
};

static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct item	*head;
	size_t		 n;
	bool		 running, stopping;
	pthread_t	 tid;
	struct ratelimit *rl;
	struct failrep_stats st;
	time_t		 full_logged;
	unsigned long	 counter;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void
item_free(struct item *it)
{
	size_t i;

	failrep_input_free(it->in);
	for (i = 0; i < it->n_done; i++)
		free(it->done[i]);
	free(it->done);
	free(it);
}

/* unique_token - for Message-ID and boundary: time, pid, counter, 64 random bits */
static void
unique_token(char *out, size_t len)
{
	uint64_t r = 0;
	unsigned long n;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint64_t)(uintptr_t)&r ^ (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
	n = __atomic_add_fetch(&q.counter, 1, __ATOMIC_RELAXED);
	snprintf(out, len, "%llx.%lx.%lx.%016llx", (unsigned long long)time(NULL), (unsigned long)getpid(),
	    n, (unsigned long long)r);
}

/* spf_record - the SPF record of domain (RFC 7208 §4.5), or NULL */
static char *
spf_record(struct dns *dns, const char *domain)
{
	struct dns_answer *a = dns_query(dns, domain, DNS_T_TXT);
	char *r = NULL;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; a->status == DNS_OK && i < a->n; i++) {
		const char *t = a->txt[i];

		if (a->txt_len[i] >= 6 && strncasecmp(t, "v=spf1", 6) == 0 && (t[6] == '\0' || t[6] == ' ')) {
			r = xstrndup(t, a->txt_len[i]);
			break;
		}
	}
	dns_answer_free(a);
	return r;
}

/* count - one more in a counter of q.st (they are read under the same lock) */
static void
count(unsigned long *c)
{
	pthread_mutex_lock(&q.lock);
	(*c)++;
	pthread_mutex_unlock(&q.lock);
}

static bool
item_done(const struct item *it, const char *address)
{
	size_t i;

	for (i = 0; i < it->n_done; i++)
		if (ascii_strcaseeq(it->done[i], address))
			return true;
	return false;
}

/*
 * deliver_item - try every destination not yet served.  Returns true
 * when something is left to try later (a DNS check deferred, or the
 * relay failed temporarily).
 */
static bool
deliver_item(struct item *it)
{
	struct runtime *rt = runtime_acquire();
	struct failrep_input *in = it->in;
	struct rua_dest *dests = NULL;
	struct smtp_config sc;
	char err[512], host[256], *spf = NULL;
	size_t n = 0, i;
	bool again = false;
	unsigned port;

	if (rt == NULL)
		return true;
	memset(&sc, 0, sizeof(sc));
	if (config_parse_hostport(rt->conf->failure_reports_relay, host, sizeof(host), &port,
	    err, sizeof(err)) != 0) {
		log_err("failure report for %s: FailureReportsRelay: %s", in->reported_domain, err);
		runtime_release(rt);
		return true;
	}
	sc.transport = SMTP_TRANSPORT_RELAY;
	sc.host = host;
	sc.port = port;
	sc.helo = rt->conf->authserv_id;
	sc.tls = SMTP_TLS_NONE;		/* the relay is the local MTA; it carries the report on */
	sc.timeout = 30;

	/* RFC 9991 §5: external destinations verified as RFC 9990 §4 says, with "ruf" */
	if (rua_destinations_uris(rt->dns, rt->psl, in->rules, in->policy_domain, in->ruf, in->n_ruf,
	    &dests, &n, err, sizeof(err)) != 0) {
		log_warn("failure report for %s: ruf unusable: %s", in->reported_domain, err);
		runtime_release(rt);
		return false;
	}
	if (in->spf_domain != NULL)
		spf = spf_record(rt->dns, in->spf_domain);
	for (i = 0; i < n; i++) {
		struct smtp_result res;
		struct buf msg;
		char unique[96];
		char *rcpt[1];

		if (dests[i].status == RUA_REFUSED) {
			if (it->tries == 0) {
				log_info("failure report for %s: not sent to %s: %s", in->reported_domain,
				    dests[i].uri, dests[i].reason != NULL ? dests[i].reason : "refused");
				count(&q.st.refused);
			}
			continue;
		}
		if (dests[i].status == RUA_DEFER) {
			again = true;
			continue;
		}
		if (item_done(it, dests[i].address))
			continue;
		unique_token(unique, sizeof(unique));
		buf_init(&msg, 0);
		failrep_format(in, dests[i].address, spf, time(NULL), unique, &msg);
		rcpt[0] = dests[i].address;
		memset(&res, 0, sizeof(res));
		if (smtp_send(&sc, in->from, rcpt, 1, buf_str(&msg), msg.len, &res, err, sizeof(err)) == 0 &&
		    res.n_accepted == 1) {
			it->done = xrealloc(it->done, (it->n_done + 1) * sizeof(*it->done));
			it->done[it->n_done++] = xstrdup(dests[i].address);
			count(&q.st.sent);
			log_info("failure report for %s (%s from %s) sent to %s", in->reported_domain,
			    in->auth_failure, in->source_ip, dests[i].address);
		} else if (res.temporary) {
			again = true;
			log_warn("failure report for %s to %s: relay %s: %s (will retry)", in->reported_domain,
			    dests[i].address, rt->conf->failure_reports_relay, err);
		} else {
			log_warn("failure report for %s to %s: relay %s refused it: %s", in->reported_domain,
			    dests[i].address, rt->conf->failure_reports_relay,
			    res.reply != NULL ? res.reply : err);
		}
		smtp_result_free(&res);
		buf_free(&msg);
	}
	free(spf);
	rua_dests_free(dests, n);
	runtime_release(rt);
	return again;
}

/* sender - the thread: take what is due, deliver, requeue what must wait */
static void *
sender(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct item **pp, *it = NULL, *e;
		time_t now = time(NULL), next = 0;
		bool again;

		for (pp = &q.head; *pp != NULL; pp = &(*pp)->next)
			if ((*pp)->next_try <= now) {
				it = *pp;
				*pp = it->next;
				q.n--;
				break;
			}
		if (it == NULL) {
			struct timespec ts;

			if (q.stopping)
				break;
			for (e = q.head; e != NULL; e = e->next)
				if (next == 0 || e->next_try < next)
					next = e->next_try;
			if (next == 0)
				pthread_cond_wait(&q.cond, &q.lock);
			else {
				ts.tv_sec = next;
				ts.tv_nsec = 0;
				pthread_cond_timedwait(&q.cond, &q.lock, &ts);
			}
			continue;
		}
		pthread_mutex_unlock(&q.lock);
		again = deliver_item(it);
		pthread_mutex_lock(&q.lock);
		if (!again) {
			item_free(it);
			continue;
		}
		now = time(NULL);
		if (q.stopping || now - it->in->arrival > FAILREP_GIVE_UP) {
			log_warn("failure report for %s: dropped after %u tries", it->in->reported_domain,
			    it->tries + 1);
			q.st.dropped++;
			item_free(it);
			continue;
		}
		it->next_try = now + (FAILREP_RETRY_FIRST << (it->tries < 7 ? it->tries : 7));
		if (it->next_try > now + FAILREP_RETRY_MAX)
			it->next_try = now + FAILREP_RETRY_MAX;
		it->tries++;
		it->next = q.head;
		q.head = it;
		q.n++;
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

/* failrep_start - the sender thread (once, after the privileges are dropped) */
int
failrep_start(char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&q.lock);
	if (q.running) {
		pthread_mutex_unlock(&q.lock);
		return 0;
	}
	q.rl = ratelimit_new(RL_MAX_KEYS);
	q.stopping = false;
	if ((rc = pthread_create(&q.tid, NULL, sender, NULL)) != 0) {
		ratelimit_free(q.rl);
		q.rl = NULL;
		pthread_mutex_unlock(&q.lock);
		err_set(err, errlen, "cannot start the failure report sender: %s", strerror(rc));
		return -1;
	}
	q.running = true;
	pthread_mutex_unlock(&q.lock);
	return 0;
}

/* failrep_stop - let the sender finish what is due, for at most grace seconds */
void
failrep_stop(unsigned grace)
{
	struct timespec ts;
	struct item *it, *next;
	size_t left = 0;

	pthread_mutex_lock(&q.lock);
	if (!q.running) {
		pthread_mutex_unlock(&q.lock);
		return;
	}
	q.stopping = true;
	pthread_cond_broadcast(&q.cond);
	pthread_mutex_unlock(&q.lock);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += grace;
	if (pthread_timedjoin_np(q.tid, NULL, &ts) != 0) {
		log_warn("failure report sender still busy after %u seconds; stopping without it", grace);
		return;		/* the process is about to exit; the thread goes with it */
	}
	pthread_mutex_lock(&q.lock);
	for (it = q.head; it != NULL; it = next) {
		next = it->next;
		item_free(it);
		left++;
	}
	q.head = NULL;
	q.n = 0;
	q.st.dropped += left;
	q.running = false;
	ratelimit_free(q.rl);
	q.rl = NULL;
	if (q.st.queued > 0)
		log_info("failure reports: %lu queued, %lu sent, %lu rate-limited, %lu refused, %lu dropped",
		    q.st.queued, q.st.sent, q.st.rate_limited, q.st.refused, q.st.dropped);
	pthread_mutex_unlock(&q.lock);
}

void
failrep_get_stats(struct failrep_stats *st)
{
	pthread_mutex_lock(&q.lock);
	*st = q.st;
	pthread_mutex_unlock(&q.lock);
}

/* keep_destinations - the rate limit, per destination domain; returns how many are left */
static size_t
keep_destinations(const struct config *conf, struct failrep_input *in, time_t now)
{
	size_t i, kept = 0;

	for (i = 0; i < in->n_ruf; i++) {
		char *addr = NULL, *host = NULL, err[256];
		bool ok, first;

		if (rua_parse_mailto(in->ruf[i].uri, &addr, &host, err, sizeof(err)) != 0) {
			log_debug("failure report for %s: ruf %s ignored: %s", in->reported_domain,
			    in->ruf[i].uri, err);
			free(in->ruf[i].uri);
			continue;
		}
		pthread_mutex_lock(&q.lock);
		ok = q.rl != NULL &&
		    ratelimit_take(q.rl, host, now, conf->failure_reports_rate, FAILREP_RATE_WINDOW, &first);
		if (!ok)
			q.st.rate_limited++;
		pthread_mutex_unlock(&q.lock);
		if (!ok && first)
			log_warn("failure reports to %s: FailureReportsRateLimit of %u per hour reached; "
			    "more this hour are not sent", host, conf->failure_reports_rate);
		free(addr);
		free(host);
		if (!ok) {
			free(in->ruf[i].uri);
			continue;
		}
		in->ruf[kept++] = in->ruf[i];
	}
	in->n_ruf = kept;
	return kept;
}

/* failrep_submit - decide, copy, rate-limit and queue (message threads) */
void
failrep_submit(struct runtime *rt, const struct session *s, const struct verdict *v,
    const char *action, const char *qid)
{
	const struct config *conf = rt->conf;
	bool checked_report = false;
	size_t i;

	if (!conf->failure_reports)
		return;
	for (i = 0; i < v->n_dmarc; i++) {
		const struct dmarc_outcome *o = &v->dmarc[i];
		enum failrep_trigger trig = failrep_trigger(v, o);
		struct failrep_input *in;
		struct ar_input ai;
		struct item *it;
		char *ar;

		if (trig == FAILREP_NONE)
			continue;
		if (!checked_report) {
			if (failrep_is_report(s)) {
				log_debug("%s: no failure report about a feedback report", qid);
				return;
			}
			checked_report = true;
		}
		memset(&ai, 0, sizeof(ai));
		ai.authserv_id = conf->authserv_id;
		ai.client_ip = s->client_addr;
		ai.helo = s->helo;
		ai.mail_from = s->msg.mail_from != NULL ? s->msg.mail_from : "";
		ai.v = v;
		ar = ar_compose(&ai);
		in = failrep_input_new(conf, s, v, o, trig, action, ar);
		free(ar);
		if (keep_destinations(conf, in, time(NULL)) == 0) {
			failrep_input_free(in);
			continue;
		}
		it = xcalloc(1, sizeof(*it));
		it->in = in;
		it->next_try = 0;
		pthread_mutex_lock(&q.lock);
		if (!q.running || q.stopping || q.n >= conf->failure_reports_queue) {
			time_t now = time(NULL);

			q.st.dropped++;
			if (q.running && now - q.full_logged >= 60) {
				q.full_logged = now;
				log_warn("%s: failure report for %s dropped: the queue holds %zu already "
				    "(FailureReportsQueueSize)", qid, o->from_domain, q.n);
			}
			pthread_mutex_unlock(&q.lock);
			item_free(it);
			continue;
		}
		/* append: reports go out in arrival order */
		{
			struct item **pp = &q.head;

			while (*pp != NULL)
				pp = &(*pp)->next;
			*pp = it;
		}
		q.n++;
		q.st.queued++;
		pthread_cond_signal(&q.cond);
		pthread_mutex_unlock(&q.lock);
		log_debug("%s: failure report for %s queued (%s)", qid, o->from_domain, in->auth_failure);
	}
}
