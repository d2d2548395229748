/*
 * lint.c - the classic mistakes in the DNS records of a domain that wants
 * DMARC enforcement: the checks behind "dmarc-reports check-dns".
 *
 * Specifications:
 *   RFC 7489 §6.3, §6.4, §6.6.3, §7.1 and RFC 9989 §4.7, §4.8 (DMARC
 *     record, discovery), RFC 9990 §4 (external report destinations);
 *   RFC 7208 §4.5 (one SPF record), §4.6.4 (10 DNS-querying terms, 2 void
 *     lookups, 10 MX names), §5 (mechanisms), §5.5 (ptr: do not use), §6.1
 *     (redirect ignored when "all" is present);
 *   RFC 6376 §3.6.1 (DKIM key record), RFC 8301 §3.2 (RSA keys of at least
 *     1024 bits, 2048 recommended), RFC 8463 (Ed25519);
 *   RFC 4035 §3.2.3 (AD bit), RFC 3225 (DO bit).
 *
 * The DMARC record is parsed by dmarc_record.c, exactly as the milter
 * does; on top of that a second, pickier walk of the raw text names what
 * the parser tolerates (unknown tags, bad values that fall back to the
 * default, URIs joined with the wrong separator), because a receiver that
 * silently ignores a tag is the mistake the domain owner never sees.
 *
 * SPF is walked here rather than through libspf2: libspf2 evaluates for
 * one client IP and stops at the first match, while a lint must count
 * every term a receiver might have to look up, through every include.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "config.h"
#include "dmarc_record.h"
#include "dns.h"
#include "lint.h"
#include "orgdomain.h"
#include "rua.h"
#include "util.h"

#define SPF_MAX_LOOKUPS		10	/* RFC 7208 §4.6.4 */
#define SPF_MAX_VOIDS		2	/* RFC 7208 §4.6.4 */
#define SPF_MAX_MX		10	/* RFC 7208 §4.6.4 */
#define SPF_MAX_DEPTH		16	/* nested include/redirect we follow */
#define SPF_WALK_CAP		40	/* lookups after which the walk stops */
#define TXT_STRING_MAX		255	/* RFC 1035 §3.3: one character-string */
#define UDP_CLASSIC_MAX		512	/* RFC 1035 §4.2.1, without EDNS0 */
#define SHOWN_MAX		5	/* names quoted in one message */
#define DAY			86400

/* ---------------------------------------------------------------- */
/* findings */

/* lint_add - append a finding (fix may be NULL) */
void
lint_add(struct lint_result *r, enum lint_severity sev, const char *code, const char *fix,
    const char *fmt, ...)
{
	struct lint_finding *f;
	va_list ap;
	char *m;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m == NULL)
		m = xstrdup(code);
	r->f = xrealloc(r->f, (r->n + 1) * sizeof(*r->f));
	f = &r->f[r->n++];
	f->severity = sev;
	f->code = code;
	f->message = m;
	f->fix = fix != NULL ? xstrdup(fix) : NULL;
}

/* lint_result_free - release the findings */
void
lint_result_free(struct lint_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->f[i].message);
		free(r->f[i].fix);
	}
	free(r->f);
	r->f = NULL;
	r->n = 0;
}

/* lint_severity_str - the word shown for a severity */
const char *
lint_severity_str(enum lint_severity s)
{
	switch (s) {
	case LINT_OK:
		return "ok";
	case LINT_INFO:
		return "info";
	case LINT_NOTICE:
		return "notice";
	case LINT_WARNING:
		return "warning";
	case LINT_ERROR:
		return "error";
	}
	return "?";
}

/* lint_worst - the highest severity found (LINT_OK for none) */
enum lint_severity
lint_worst(const struct lint_result *r)
{
	enum lint_severity w = LINT_OK;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->f[i].severity > w)
			w = r->f[i].severity;
	return w;
}

/* lint_has - the first finding with a code */
const struct lint_finding *
lint_has(const struct lint_result *r, const char *code)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->f[i].code, code) == 0)
			return &r->f[i];
	return NULL;
}

/* dns_problem - a lookup that failed temporarily or was refused */
static void
dns_problem(struct lint_result *r, const char *name, const char *what, const struct dns_answer *a)
{
	lint_add(r, LINT_WARNING, "dns-error",
	    "Run again later; if it persists, check the name servers of the zone.",
	    "%s lookup of %s failed (%s): not checked", what, name,
	    a->error != NULL ? a->error : "no answer");
}

/* is_void - NXDOMAIN or NODATA (RFC 7208 §4.6.4 "void lookup") */
static bool
is_void(const struct dns_answer *a)
{
	return a->status == DNS_NXDOMAIN || (a->status == DNS_OK && a->n == 0);
}

/* excerpt - at most 60 bytes of untrusted text, printable, for a message */
static char *
excerpt(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 256);
	for (i = 0; i < n && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			buf_printf(&b, "\\x%02x", c);
		else
			buf_putc(&b, (char)c);
	}
	if (n > 60)
		buf_puts(&b, "...");
	return buf_detach(&b);
}

/* ---------------------------------------------------------------- */
/* DMARC: the raw text, tag by tag */

static const char *const dmarc_tags[] = {
	"v", "p", "sp", "np", "adkim", "aspf", "pct", "fo", "rf", "ri",
	"rua", "ruf", "psd", "t", NULL
};

/* wsp - white space the DMARC grammar allows around tags */
static bool
wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* span_is - a span equals a word, ASCII case ignored */
static bool
span_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && ascii_strncaseeq(p, w, n);
}

/* digits_only - 1..max decimal digits */
static bool
digits_only(const char *p, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* span_uint - a span of at most 10 digits as a number (digits_only first) */
static unsigned long long
span_uint(const char *p, size_t n)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < n && i < 10; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	return v;
}

/* fo_valid - RFC 7489 §6.3: colon-separated 0, 1, d, s */
static bool
fo_valid(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		while (i < n && wsp(p[i]))
			i++;
		if (i >= n || (p[i] != '0' && p[i] != '1' && p[i] != 'd' && p[i] != 's'))
			return false;
		i++;
		while (i < n && wsp(p[i]))
			i++;
		if (i < n && p[i++] != ':')
			return false;
		if (i == n && p[n - 1] == ':')
			return false;
	}
	return true;
}

/*
 * lint_uri_list - the rua/ruf value element by element: the separator
 * is "," (RFC 7489 §6.4); a space between two URIs, a URI without
 * "mailto:", or a scheme receivers do not use are the mistakes.
 */
static void
lint_uri_list(struct lint_result *r, const char *dname, const char *tag, const char *v, size_t n)
{
	size_t i = 0, s, e;
	char *x;

	if (n == 0) {
		lint_add(r, LINT_WARNING, "dmarc-uri-separator", "Remove the empty tag or give it a mailto: URI.",
		    "%s: %s= is empty", dname, tag);
		return;
	}
	while (i <= n) {
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (s < e && wsp(v[s]))
			s++;
		while (e > s && wsp(v[e - 1]))
			e--;
		if (s == e) {
			lint_add(r, LINT_WARNING, "dmarc-uri-separator",
			    "Separate URIs with one comma, no empty elements.",
			    "%s: %s= has an empty element (a stray comma)", dname, tag);
		} else {
			size_t k;
			bool space = false;

			for (k = s; k < e; k++)
				if (wsp(v[k]))
					space = true;
			x = excerpt(v + s, e - s);
			if (space)
				lint_add(r, LINT_ERROR, "dmarc-uri-separator",
				    "Separate several URIs with a comma (\",\"), never a space or a semicolon: "
				    "rua=mailto:a@example.com,mailto:b@example.net",
				    "%s: %s= element \"%s\" contains white space: receivers drop it "
				    "(URIs must be separated by commas)", dname, tag, x);
			else if (memchr(v + s, ':', e - s) == NULL)
				lint_add(r, LINT_ERROR, "dmarc-uri-scheme",
				    "Write the address as a URI: mailto:dmarc@example.com",
				    "%s: %s= element \"%s\" has no \"mailto:\": receivers drop it", dname, tag, x);
			else if (!ascii_strncaseeq(v + s, "mailto:", 7))
				lint_add(r, LINT_WARNING, "dmarc-uri-scheme",
				    "Use a mailto: URI; receivers send reports only by mail (RFC 9990).",
				    "%s: %s= element \"%s\" is not a mailto: URI", dname, tag, x);
			else {
				char *uri = xstrndup(v + s, e - s), *bang, *addr = NULL, *host = NULL;
				char err[256];

				if ((bang = strrchr(uri, '!')) != NULL)
					*bang = '\0';
				if (rua_parse_mailto(uri, &addr, &host, err, sizeof(err)) != 0)
					lint_add(r, LINT_ERROR, "dmarc-uri-invalid",
					    "Publish a plain address: mailto:dmarc@example.com (a size limit as !10m).",
					    "%s: %s= element \"%s\" is not a usable mailto URI: %s", dname, tag, x, err);
				else if (bang != NULL && !digits_only(bang + 1, strlen(bang + 1), 20)) {
					size_t l = strlen(bang + 1);

					if (l < 2 || !digits_only(bang + 1, l - 1, 20) ||
					    strchr("kmgtKMGT", bang[1 + l - 1]) == NULL)
						lint_add(r, LINT_ERROR, "dmarc-uri-invalid",
						    "Write a size limit as digits and k, m, g or t: !10m",
						    "%s: %s= element \"%s\" has a bad size limit: receivers drop it",
						    dname, tag, x);
				}
				free(addr);
				free(host);
				free(uri);
			}
			free(x);
		}
		i++;
	}
}

#define HAVE_P		1	/* lint_dmarc_tags: a p tag, valid or not */
#define HAVE_RUA	2	/* a rua tag, valid or not */

/*
 * lint_dmarc_tags - the tag-list after v=DMARC1, tag by tag.  Returns
 * HAVE_P and HAVE_RUA flags.
 */
static int
lint_dmarc_tags(struct lint_result *r, const char *dname, const char *t, size_t len)
{
	size_t i, s, e, ns, ne, vs;
	int have = 0;
	char *x, *y;

	i = 0;
	while (i < len) {
		const char *semi = memchr(t + i, ';', len - i);

		s = i;
		e = semi != NULL ? (size_t)(semi - t) : len;
		i = e + 1;
		while (s < e && wsp(t[s]))
			s++;
		while (e > s && wsp(t[e - 1]))
			e--;
		if (s == e) {
			if (semi != NULL && i < len)
				lint_add(r, LINT_NOTICE, "dmarc-syntax", "Remove the doubled \";\".",
				    "%s: an empty tag (\";;\"): RFC 7489 parsers may reject the record", dname);
			continue;
		}
		for (ns = s; ns < e && t[ns] != '=' && !wsp(t[ns]); ns++)
			;
		ne = ns;
		for (vs = ns; vs < e && wsp(t[vs]); vs++)
			;
		if (vs >= e || t[vs] != '=') {
			x = excerpt(t + s, e - s);
			if (ascii_strncaseeq(t + s, "mailto:", 7))
				lint_add(r, LINT_ERROR, "dmarc-uri-separator",
				    "Separate several URIs with a comma (\",\"), not \";\": "
				    "rua=mailto:a@example.com,mailto:b@example.net",
				    "%s: \"%s\" stands alone after a \";\": receivers ignore it (a second URI "
				    "must follow a comma in the same rua= or ruf=)", dname, x);
			else
				lint_add(r, LINT_WARNING, "dmarc-syntax", "Write every tag as name=value, separated by \";\".",
				    "%s: \"%s\" is not a name=value tag: receivers ignore it", dname, x);
			free(x);
			continue;
		}
		ns = s;
		vs++;
		while (vs < e && wsp(t[vs]))
			vs++;
		{
			const char *v = t + vs, *nm = t + ns;
			size_t vn = e - vs, nn = ne - ns, k;
			bool known = false, bad = false;
			const char *fix = NULL;

			for (k = 0; dmarc_tags[k] != NULL; k++)
				if (strlen(dmarc_tags[k]) == nn && memcmp(dmarc_tags[k], nm, nn) == 0)
					known = true;
			if (!known) {
				x = excerpt(nm, nn);
				for (k = 0; dmarc_tags[k] != NULL; k++)
					if (span_is(nm, nn, dmarc_tags[k]))
						break;
				if (dmarc_tags[k] != NULL)
					lint_add(r, LINT_WARNING, "dmarc-tag-unknown",
					    "Write tag names in lowercase (RFC 6376 §3.2: they are case-sensitive).",
					    "%s: tag \"%s\" is not \"%s\": tag names are case-sensitive, receivers "
					    "ignore it", dname, x, dmarc_tags[k]);
				else
					lint_add(r, LINT_WARNING, "dmarc-tag-unknown",
					    "Remove it, or correct its name (RFC 7489 §6.3, RFC 9989 §4.7 list the tags).",
					    "%s: unknown tag \"%s\": receivers ignore it", dname, x);
				free(x);
				continue;
			}
			if (span_is(nm, nn, "v"))
				continue;	/* a second v= is the parser's "duplicate tag" */
			if (span_is(nm, nn, "p") || span_is(nm, nn, "sp") || span_is(nm, nn, "np")) {
				if (span_is(nm, nn, "p"))
					have |= HAVE_P;
				if (!span_is(v, vn, "none") && !span_is(v, vn, "quarantine") &&
				    !span_is(v, vn, "reject")) {
					x = excerpt(v, vn);
					y = excerpt(nm, nn);
					lint_add(r, LINT_ERROR, "dmarc-tag-value",
					    "Use none, quarantine or reject.",
					    "%s: %s=%s is not none, quarantine or reject: receivers treat the whole "
					    "record as p=none (if rua is valid) or ignore it (RFC 7489 §6.6.3)",
					    dname, y, x);
					free(x);
					free(y);
				}
				continue;
			}
			if (span_is(nm, nn, "rua") || span_is(nm, nn, "ruf")) {
				if (span_is(nm, nn, "rua"))
					have |= HAVE_RUA;
				y = xstrndup(nm, nn);
				lint_uri_list(r, dname, y, v, vn);
				free(y);
				continue;
			}
			if (span_is(nm, nn, "adkim") || span_is(nm, nn, "aspf")) {
				bad = !span_is(v, vn, "r") && !span_is(v, vn, "s");
				fix = "Use r (relaxed) or s (strict).";
			} else if (span_is(nm, nn, "pct")) {
				bad = !digits_only(v, vn, 3) || span_uint(v, vn) > 100;
				fix = "Use a whole number from 0 to 100 (or leave pct out: 100).";
			} else if (span_is(nm, nn, "fo")) {
				bad = !fo_valid(v, vn);
				fix = "Use 0, 1, d or s, several joined by \":\" (fo=1 or fo=d:s).";
			} else if (span_is(nm, nn, "ri")) {
				bad = !digits_only(v, vn, 10) || span_uint(v, vn) > 4294967295ULL;
				fix = "Use a number of seconds (86400 = daily).";
			} else if (span_is(nm, nn, "rf")) {
				bad = !span_is(v, vn, "afrf");
				fix = "Use rf=afrf or leave rf out.";
			} else if (span_is(nm, nn, "t")) {
				bad = !span_is(v, vn, "y") && !span_is(v, vn, "n");
				fix = "Use t=y or t=n (RFC 9989).";
			} else if (span_is(nm, nn, "psd")) {
				bad = !span_is(v, vn, "y") && !span_is(v, vn, "n") && !span_is(v, vn, "u");
				fix = "Use psd=y, n or u (RFC 9989); only public suffix operators publish psd=y.";
			}
			if (bad) {
				x = excerpt(v, vn);
				y = excerpt(nm, nn);
				lint_add(r, LINT_WARNING, "dmarc-tag-value", fix,
				    "%s: %s=%s is not a valid value: receivers use the default instead", dname, y, x);
				free(x);
				free(y);
			}
		}
	}
	return have;
}

/*
 * lint_dmarc_version - why a TXT record at _dmarc that looks like DMARC
 * is not one (RFC 7489 §6.4: it must begin with exactly "v=DMARC1").
 * Returns true when the text looks like a DMARC attempt at all.
 */
static bool
lint_dmarc_version(struct lint_result *r, const char *dname, const char *t, size_t len)
{
	size_t i = 0;
	char *x;
	const char *hit;

	if (len == 0 || (strcasestr(t, "dmarc1") == NULL && strstr(t, "p=") == NULL))
		return false;
	x = excerpt(t, len);
	while (i < len && wsp(t[i]))
		i++;
	if (i == 0 && strncmp(t, "v=DMARC1", 8) == 0)
		lint_add(r, LINT_ERROR, "dmarc-version",
		    "Follow v=DMARC1 with \";\": \"v=DMARC1; p=...\".",
		    "%s: \"%s\": v=DMARC1 is not followed by \";\": receivers ignore the record", dname, x);
	else if (i > 0 && strncmp(t + i, "v=DMARC1", 8) == 0)
		lint_add(r, LINT_ERROR, "dmarc-version", "Remove the white space before v=DMARC1.",
		    "%s: \"%s\" starts with white space: it is not a DMARC record for receivers", dname, x);
	else if (ascii_strncaseeq(t + i, "v=dmarc1", 8) || ascii_strncaseeq(t + i, "v = dmarc1", 10))
		lint_add(r, LINT_ERROR, "dmarc-version",
		    "Write it exactly \"v=DMARC1\" (tag name lowercase, DMARC1 uppercase, RFC 7489 §6.3).",
		    "%s: \"%s\" does not start with exactly v=DMARC1: receivers ignore it", dname, x);
	else if ((hit = strcasestr(t, "v=DMARC1")) != NULL)
		lint_add(r, LINT_ERROR, "dmarc-version", "Move v=DMARC1 to the start: \"v=DMARC1; p=...\".",
		    "%s: \"%s\" has v=DMARC1 at offset %zu, not first: receivers ignore it",
		    dname, x, (size_t)(hit - t));
	else
		lint_add(r, LINT_ERROR, "dmarc-version", "Start the record with \"v=DMARC1;\".",
		    "%s: \"%s\" has no v=DMARC1: receivers ignore it", dname, x);
	free(x);
	return true;
}

/* policy_word - p/sp/np for messages */
static const char *
policy_word(enum dmarc_policy p)
{
	return p == DMARC_POLICY_UNSET ? "(absent)" : dmarc_policy_str(p);
}

/* day_str - a UTC date */
static void
day_str(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

/* lint_rua_auth - external destinations need their _report._dmarc record (RFC 9990 §4) */
static void
lint_rua_auth(struct lint_result *r, struct dns *dns, const struct orgdomain *psl,
    const char *domain, const char *tag, const struct dmarc_uri *u, size_t n)
{
	struct rua_dest *d = NULL;
	size_t nd = 0, i;
	char err[256];

	if (n == 0)
		return;
	if (rua_destinations_uris(dns, psl, RULES_RFC9989, domain, u, n, &d, &nd, err, sizeof(err)) != 0) {
		lint_add(r, LINT_WARNING, "dmarc-uri-invalid", NULL, "_dmarc.%s: %s= not checked: %s",
		    domain, tag, err);
		return;
	}
	for (i = 0; i < nd; i++) {
		char *fix;

		if (!d[i].external)
			continue;
		if (d[i].status == RUA_REFUSED) {
			fix = xasprintf("Ask the operator of %s to publish the TXT record "
			    "\"%s._report._dmarc.%s. IN TXT \\\"v=DMARC1;\\\"\" (RFC 9990 §4), or send "
			    "reports to an address in your own domain.", d[i].host, domain, d[i].host);
			lint_add(r, LINT_ERROR, "dmarc-rua-unauthorized", fix,
			    "_dmarc.%s: %s= destination %s is outside %s and %s._report._dmarc.%s does "
			    "not authorise it: receivers send it no reports (%s)", domain, tag, d[i].address,
			    domain, domain, d[i].host, d[i].reason != NULL ? d[i].reason : "refused");
			free(fix);
		} else if (d[i].status == RUA_DEFER)
			lint_add(r, LINT_WARNING, "dns-error", "Run again later.",
			    "_dmarc.%s: %s= destination %s: its authorisation could not be looked up (%s)",
			    domain, tag, d[i].address, d[i].reason != NULL ? d[i].reason : "DNS");
		else
			lint_add(r, LINT_OK, "dmarc-rua-external",
			    NULL, "_dmarc.%s: %s= destination %s is external and authorised by %s", domain, tag,
			    d[i].address, d[i].reason != NULL ? d[i].reason : "its _report._dmarc record");
	}
	rua_dests_free(d, nd);
}

/*
 * lint_dmarc_text - one DMARC record text (as published, or --record).
 * from_cli: the text was given by hand, so it is the zone-file string
 * itself and its length per character-string can be checked.
 */
static void
lint_dmarc_text(struct lint_result *r, struct dns *dns, const struct orgdomain *psl,
    const struct lint_options *o, const char *text, size_t len, bool from_cli)
{
	struct dmarc_record rec;
	enum dmarc_parse pr;
	char dname[300], err[1024], *clean = NULL, *x;
	const char *t = text;
	size_t i, k;
	bool broken = false;
	int have = 0;

	snprintf(dname, sizeof(dname), "_dmarc.%s", o->domain);

	/* quotes or backslashes that belong to zone-file syntax, published literally */
	if (memchr(t, '"', len) != NULL || memchr(t, '\\', len) != NULL) {
		x = excerpt(t, len);
		lint_add(r, LINT_ERROR, "dmarc-quoted",
		    "Publish the bare text; the quotes belong to the zone-file syntax only "
		    "(in a provider's web form, paste it without quotes).",
		    "%s: the record contains literal quote marks or backslashes: %s", dname, x);
		free(x);
		clean = xmalloc(len + 1);
		for (i = 0, k = 0; i < len; i++)
			if (t[i] != '"' && t[i] != '\\')
				clean[k++] = t[i];
		clean[k] = '\0';
		broken = true;
		/* "a" "b" joins as "a b" here: the space between strings is no part of the text */
		t = clean;
		len = k;
	}
	if (from_cli && len > TXT_STRING_MAX)
		lint_add(r, LINT_ERROR, "dmarc-string-long",
		    "Split it into several quoted strings of at most 255 octets each in the zone file "
		    "(\"v=DMARC1; ...\" \"...\"); they are joined without a space.",
		    "%s: the record is %zu octets: one DNS character-string holds at most 255 "
		    "(RFC 1035 §3.3), so it cannot be published as one string", dname, len);
	if (len > UDP_CLASSIC_MAX)
		lint_add(r, LINT_WARNING, "dmarc-size",
		    "Shorten it: fewer rua/ruf URIs, no default values (pct=100, ri=86400, adkim=r, aspf=r).",
		    "%s: the record is %zu octets: answers over 512 octets need EDNS0 or TCP, which some "
		    "receivers' resolvers do not get through", dname, len);

	pr = dmarc_record_parse(t, len, &rec, err, sizeof(err));
	if (pr == DMARC_PARSE_NOT_DMARC) {
		if (!lint_dmarc_version(r, dname, t, len) && from_cli) {
			x = excerpt(t, len);
			lint_add(r, LINT_ERROR, "dmarc-version", "Start the record with \"v=DMARC1;\".",
			    "%s: \"%s\" is not a DMARC record", dname, x);
			free(x);
		}
		free(clean);
		return;
	}
	/* the pickier walk, from after "v=DMARC1" */
	{
		const char *semi = memchr(t, ';', len);
		size_t start = semi != NULL ? (size_t)(semi - t) + 1 : len;

		have = lint_dmarc_tags(r, dname, t + start, len - start);
		if (!(have & HAVE_P) && pr == DMARC_PARSE_OK)
			lint_add(r, LINT_ERROR, "dmarc-tag-value",
			    "Add p=none (to start monitoring), p=quarantine or p=reject.",
			    "%s: no p= tag: receivers treat the record as p=none because rua is valid, "
			    "others ignore it", dname);
	}
	if (pr == DMARC_PARSE_INVALID) {
		lint_add(r, LINT_ERROR, "dmarc-invalid", "Correct the record; receivers ignore it as it is.",
		    "%s: %s", dname, err);
		free(clean);
		return;
	}

	/* what applies */
	if (rec.p == DMARC_POLICY_NONE && !rec.p_invalid) {
		const struct lint_history *h = o->history;

		if (h != NULL && h->none_since != 0 && o->now - h->none_since >= LINT_NONE_DAYS * DAY) {
			char day[16], *fix;

			day_str(h->none_since, day, sizeof(day));
			fix = xasprintf("Run \"dmarc-reports readiness --domain %s\" and take the next step "
			    "(p=quarantine with a small pct) once the reports show your sources pass.",
			    o->domain);
			lint_add(r, LINT_WARNING, "dmarc-none-long", fix,
			    "%s: p=none since %s (%lld days by the aggregate reports received): monitoring "
			    "only, spoofed mail is still delivered", dname, day,
			    (long long)((o->now - h->none_since) / DAY));
			free(fix);
		} else
			lint_add(r, LINT_NOTICE, "dmarc-none",
			    "Once the aggregate reports show every legitimate source passing, step to "
			    "p=quarantine (dmarc-reports readiness says when).",
			    "%s: p=none: receivers only report, spoofed mail is still delivered", dname);
	}
	if (rec.testing)
		lint_add(r, LINT_NOTICE, "dmarc-testing", "Remove t=y once the policy is meant to apply.",
		    "%s: t=y (testing, RFC 9989): receivers apply one step less than p says", dname);
	if (rec.pct_set && rec.pct < 100)
		lint_add(r, LINT_NOTICE, "dmarc-pct", "Raise pct step by step to 100 (or leave it out).",
		    "%s: pct=%u: the policy applies to %u%% of failing mail only", dname, rec.pct, rec.pct);
	/* a rua tag whose URIs were all dropped has its findings already */
	if (rec.n_rua == 0 && !(have & HAVE_RUA))
		lint_add(r, LINT_NOTICE, "dmarc-rua-missing",
		    "Add rua=mailto:dmarc-reports@<your domain> and point dmarc-reports receive at it.",
		    "%s: no rua=: you receive no aggregate reports, so you cannot see who sends as %s",
		    dname, o->domain);
	lint_rua_auth(r, dns, psl, o->domain, "rua", rec.rua, rec.n_rua);
	lint_rua_auth(r, dns, psl, o->domain, "ruf", rec.ruf, rec.n_ruf);

	/* subdomains that send, and no explicit sp/np (history) */
	if (o->history != NULL && o->history->n_sub_senders > 0 &&
	    (rec.sp == DMARC_POLICY_UNSET || rec.np == DMARC_POLICY_UNSET)) {
		struct buf b;
		size_t n = o->history->n_sub_senders;

		buf_init(&b, 1024);
		for (i = 0; i < n && i < SHOWN_MAX; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", o->history->sub_senders[i]);
		if (n > SHOWN_MAX)
			buf_printf(&b, " and %zu more", n - SHOWN_MAX);
		lint_add(r, LINT_WARNING, "dmarc-sp-missing",
		    "Publish sp= (existing subdomains) and np= (names that do not exist, RFC 9989) "
		    "explicitly, or give each sending subdomain its own _dmarc record.",
		    "%s: %llu messages were reported from subdomains (%s), but the record has no %s%s%s: "
		    "they get p=%s by default", dname, o->history->sub_messages, buf_str(&b),
		    rec.sp == DMARC_POLICY_UNSET ? "sp=" : "",
		    rec.sp == DMARC_POLICY_UNSET && rec.np == DMARC_POLICY_UNSET ? " and no " : "",
		    rec.np == DMARC_POLICY_UNSET ? "np=" : "", dmarc_policy_str(rec.p));
		buf_free(&b);
	}
	if (!broken)
		lint_add(r, LINT_OK, "dmarc-ok", NULL, "%s: p=%s sp=%s np=%s%s%s", dname,
		    dmarc_policy_str(rec.p), policy_word(rec.sp), policy_word(rec.np),
		    rec.n_rua > 0 ? " rua=" : "", rec.n_rua > 0 ? rec.rua[0].uri : "");
	dmarc_record_free(&rec);
	free(clean);
}

/*
 * lint_dmarc - find the record at _dmarc.<domain> (RFC 7489 §6.6.3) and
 * lint it; when there is none, say whether the Organizational Domain's
 * record covers the domain.
 */
static void
lint_dmarc(struct lint_result *r, struct dns *dns, const struct orgdomain *psl,
    const struct lint_options *o)
{
	struct dns_answer *a;
	char name[300];
	size_t i, ndmarc = 0, which = 0;

	if (o->record != NULL) {
		lint_dmarc_text(r, dns, psl, o, o->record, strlen(o->record), true);
		return;
	}
	snprintf(name, sizeof(name), "_dmarc.%s", o->domain);
	a = dns_query(dns, name, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		dns_problem(r, name, "TXT", a);
		dns_answer_free(a);
		return;
	}
	for (i = 0; i < a->n; i++) {
		struct dmarc_record rec;
		char err[512];

		/* the receivers' rule: what does not start with v=DMARC1 does not count */
		if (dmarc_record_parse(a->txt[i], a->txt_len[i], &rec, err, sizeof(err)) !=
		    DMARC_PARSE_NOT_DMARC) {
			ndmarc++;
			which = i;
		}
		dmarc_record_free(&rec);
	}
	if (ndmarc > 1) {
		lint_add(r, LINT_ERROR, "dmarc-multiple", "Delete all but one; merge what they say into it.",
		    "%s: %zu DMARC records: receivers apply none of them (RFC 7489 §6.6.3)", name, ndmarc);
		dns_answer_free(a);
		return;
	}
	if (ndmarc == 1) {
		lint_dmarc_text(r, dns, psl, o, a->txt[which], a->txt_len[which], false);
		dns_answer_free(a);
		return;
	}
	/* none: a near miss (quoted, v= not first, ...) explains itself */
	{
		bool near = false;

		for (i = 0; i < a->n; i++) {
			if (strcasestr(a->txt[i], "dmarc1") == NULL && strstr(a->txt[i], "p=") == NULL)
				continue;	/* some other TXT record at _dmarc */
			lint_dmarc_text(r, dns, psl, o, a->txt[i], a->txt_len[i], false);
			near = true;
		}
		if (near) {
			dns_answer_free(a);
			return;
		}
	}
	dns_answer_free(a);

	{
		char *org = orgdomain_psl(psl, o->domain);
		struct dns_answer *b = NULL;
		struct dmarc_record rec;
		char err[512], oname[300];
		size_t w;
		bool covered = false;

		if (org != NULL && strcmp(org, o->domain) != 0) {
			snprintf(oname, sizeof(oname), "_dmarc.%s", org);
			b = dns_query(dns, oname, DNS_T_TXT);
			if (b->status == DNS_OK && dmarc_record_select(b->txt, b->txt_len, b->n, &w) == 1 &&
			    dmarc_record_parse(b->txt[w], b->txt_len[w], &rec, err, sizeof(err)) == DMARC_PARSE_OK) {
				covered = true;
				lint_add(r, LINT_INFO, "dmarc-inherited",
				    "Nothing to do, unless this domain needs a policy of its own: then publish "
				    "a record at its _dmarc name.",
				    "%s: no DMARC record; the Organizational Domain's record at %s applies: "
				    "sp=%s (np=%s for names that do not exist)", name, oname,
				    dmarc_policy_str(rec.sp != DMARC_POLICY_UNSET ? rec.sp : rec.p),
				    dmarc_policy_str(rec.np != DMARC_POLICY_UNSET ? rec.np :
				    rec.sp != DMARC_POLICY_UNSET ? rec.sp : rec.p));
				dmarc_record_free(&rec);
			}
		}
		if (!covered) {
			char *fix = xasprintf("Publish \"_dmarc.%s. IN TXT \\\"v=DMARC1; p=none; "
			    "rua=mailto:dmarc-reports@%s\\\"\" to start, then step up to p=reject.",
			    o->domain, o->domain);
			bool sub = org != NULL && strcmp(org, o->domain) != 0;

			lint_add(r, LINT_ERROR, "dmarc-missing", fix,
			    "%s: no DMARC record%s%s: receivers apply no DMARC policy to mail from %s",
			    name, sub ? ", and none at the Organizational Domain " : "", sub ? org : "",
			    o->domain);
			free(fix);
		}
		dns_answer_free(b);
		free(org);
	}
}

/* ---------------------------------------------------------------- */
/* SPF */

struct spf_walk {
	struct dns		*dns;
	struct lint_result	*r;
	unsigned		 lookups;	/* DNS-querying terms, RFC 7208 §4.6.4 */
	unsigned		 voids;
	struct buf		 void_names;
	const char		*stack[SPF_MAX_DEPTH];
	size_t			 depth;
	bool			 tempfail;
	bool			 capped;
};

/* spf_select - the v=spf1 records among TXT (RFC 7208 §4.5) */
static size_t
spf_select(const struct dns_answer *a, size_t *which)
{
	size_t i, n = 0;

	for (i = 0; i < a->n; i++) {
		if (a->txt_len[i] >= 6 && ascii_strncaseeq(a->txt[i], "v=spf1", 6) &&
		    (a->txt_len[i] == 6 || a->txt[i][6] == ' ')) {
			if (n++ == 0)
				*which = i;
		}
	}
	return n;
}

/* has_macro - a domain-spec with macros (RFC 7208 §7) cannot be looked up ahead */
static bool
has_macro(const char *s)
{
	return strchr(s, '%') != NULL;
}

/* spf_void - count a void lookup */
static void
spf_void(struct spf_walk *w, const char *name)
{
	w->voids++;
	if (w->void_names.len < 400)
		buf_printf(&w->void_names, "%s%s", w->void_names.len ? ", " : "", name);
}

/* spf_domain_query - one lookup of an a/mx/exists/include target; false on tempfail */
static struct dns_answer *
spf_query(struct spf_walk *w, const char *name, uint16_t type)
{
	struct dns_answer *a = dns_query(w->dns, name, type);

	if (a->status == DNS_TEMPFAIL) {
		if (!w->tempfail)
			dns_problem(w->r, name, type == DNS_T_MX ? "MX" : type == DNS_T_TXT ? "TXT" : "A",
			    a);
		w->tempfail = true;
	}
	return a;
}

static int spf_walk_domain(struct spf_walk *, const char *domain, const char *via, bool top);

/* cidr_ok - "/n" suffixes: ip4 (max4), a/mx (max4 and "//max6") */
static bool
cidr_ok(const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || *s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	return *end == '\0' && v <= max && !(s[0] == '0' && s[1] != '\0');
}

/*
 * spf_term - one term of a record.  Returns 1 for "all" (its qualifier in
 * *allq), 0 for others, -1 for a syntax error (already reported).
 */
static int
spf_term(struct spf_walk *w, const char *domain, char *term, char *allq,
    char **redirect, bool *have_exp)
{
	char q = '+', *name = term, *arg = NULL, *cidr = NULL, *eq, *p;
	size_t nl;

	/* modifier: name "=" value, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	eq = strchr(term, '=');
	p = term + strspn(term, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
	if (eq != NULL && p == eq && eq != term) {
		*eq = '\0';
		if (ascii_strcaseeq(term, "redirect")) {
			if (*redirect != NULL) {
				lint_add(w->r, LINT_ERROR, "spf-syntax", "Keep one redirect= (RFC 7208 §6).",
				    "SPF of %s: redirect= twice: receivers return permerror", domain);
				return -1;
			}
			*redirect = eq + 1;
		} else if (ascii_strcaseeq(term, "exp")) {
			if (*have_exp) {
				lint_add(w->r, LINT_ERROR, "spf-syntax", "Keep one exp= (RFC 7208 §6).",
				    "SPF of %s: exp= twice: receivers return permerror", domain);
				return -1;
			}
			*have_exp = true;
		}
		return 0;	/* unknown modifiers are ignored (RFC 7208 §6) */
	}
	if (*name == '+' || *name == '-' || *name == '~' || *name == '?')
		q = *name++;
	nl = strcspn(name, ":/");
	if (name[nl] == ':') {
		name[nl] = '\0';
		arg = name + nl + 1;
		if ((cidr = strchr(arg, '/')) != NULL)
			*cidr++ = '\0';
	} else if (name[nl] == '/') {
		name[nl] = '\0';
		cidr = name + nl + 1;
	}
	ascii_lowercase(name);
	if (strcmp(name, "all") == 0) {
		if (arg != NULL || cidr != NULL)
			goto syntax;
		*allq = q;
		return 1;
	}
	if (strcmp(name, "ip4") == 0 || strcmp(name, "ip6") == 0) {
		unsigned char buf[16];
		bool v6 = name[2] == '6';

		if (arg == NULL || inet_pton(v6 ? AF_INET6 : AF_INET, arg, buf) != 1 ||
		    (cidr != NULL && !cidr_ok(cidr, v6 ? 128 : 32)))
			goto syntax;
		return 0;
	}
	if (strcmp(name, "a") == 0 || strcmp(name, "mx") == 0 || strcmp(name, "ptr") == 0 ||
	    strcmp(name, "include") == 0 || strcmp(name, "exists") == 0) {
		const char *target = arg != NULL ? arg : domain;

		if (arg != NULL && *arg == '\0')
			goto syntax;
		if ((strcmp(name, "include") == 0 || strcmp(name, "exists") == 0) && (arg == NULL || cidr != NULL))
			goto syntax;
		if (cidr != NULL) {
			/* ip4-cidr-length [ "/" ip6-cidr-length ], or "//" ip6 alone */
			char *c6 = strchr(cidr, '/');

			if (strcmp(name, "ptr") == 0)
				goto syntax;
			if (c6 != NULL)
				*c6++ = '\0';
			if ((*cidr != '\0' && !cidr_ok(cidr, 32)) || (c6 != NULL && !cidr_ok(c6, 128)) ||
			    (*cidr == '\0' && c6 == NULL))
				goto syntax;
		}
		w->lookups++;
		if (strcmp(name, "ptr") == 0) {
			lint_add(w->r, LINT_WARNING, "spf-ptr",
			    "Replace ptr with ip4:/ip6: (or a/mx) for the hosts it was meant to cover.",
			    "SPF of %s: the ptr mechanism is slow and unreliable; RFC 7208 §5.5 says it "
			    "SHOULD NOT be used, and some receivers treat it as not matching", domain);
			return 0;
		}
		if (has_macro(target) || w->lookups > SPF_WALK_CAP) {
			w->capped = w->capped || w->lookups > SPF_WALK_CAP;
			return 0;
		}
		if (strcmp(name, "include") == 0) {
			spf_walk_domain(w, target, "include", false);
		} else if (strcmp(name, "mx") == 0) {
			struct dns_answer *a = spf_query(w, target, DNS_T_MX);

			if (is_void(a))
				spf_void(w, target);
			else if (a->status == DNS_OK && a->n > SPF_MAX_MX)
				lint_add(w->r, LINT_ERROR, "spf-mx-limit",
				    "Use ip4:/ip6: for the mail servers, or a host with fewer MX records.",
				    "SPF of %s: mx%s%s has %zu MX records; more than %d is a permerror "
				    "(RFC 7208 §4.6.4)", domain, arg ? ":" : "", arg ? arg : "", a->n, SPF_MAX_MX);
			dns_answer_free(a);
		} else {
			/* a and exists: the address records of the target */
			struct dns_answer *a4 = spf_query(w, target, DNS_T_A), *a6 = NULL;

			if (strcmp(name, "a") == 0 && is_void(a4))
				a6 = spf_query(w, target, DNS_T_AAAA);
			if (is_void(a4) && (a6 == NULL || is_void(a6)))
				spf_void(w, target);
			dns_answer_free(a4);
			dns_answer_free(a6);
		}
		return 0;
	}
syntax:
	{
		char *x = excerpt(term, strlen(term));

		lint_add(w->r, LINT_ERROR, "spf-syntax",
		    "Correct the term (RFC 7208 §5): mechanisms are all, include:, a, mx, ptr, ip4:, ip6:, "
		    "exists:, each with an optional + - ~ ?.",
		    "SPF of %s: \"%s\" (at \"%c%s\") is not a valid term: receivers return permerror",
		    domain, x, q, name);
		free(x);
	}
	return -1;
}

/*
 * spf_walk_domain - fetch and walk the SPF record of a domain, counting
 * its lookups into w.  via is NULL for the domain itself, else "include"
 * or "redirect".  Returns 0, or -1 when the record is missing, broken or
 * a loop (reported).
 */
static int
spf_walk_domain(struct spf_walk *w, const char *domain, const char *via, bool top)
{
	struct dns_answer *a;
	size_t which = 0, n, i;
	char *rec, *tok, *save = NULL, *redirect = NULL, allq = 0;
	bool have_exp = false, broken = false;
	int rc = 0;

	for (i = 0; i < w->depth; i++) {
		if (ascii_strcaseeq(w->stack[i], domain)) {
			lint_add(w->r, LINT_ERROR, "spf-loop", "Remove the include or redirect that points back.",
			    "SPF of %s: %s:%s leads back to %s: a loop, receivers return permerror",
			    w->stack[w->depth - 1], via, domain, domain);
			return -1;
		}
	}
	if (w->depth >= SPF_MAX_DEPTH) {
		lint_add(w->r, LINT_ERROR, "spf-loop", "Flatten the chain of includes.",
		    "SPF of %s: includes nested more than %d deep", domain, SPF_MAX_DEPTH);
		return -1;
	}
	a = spf_query(w, domain, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		if (a->status == DNS_PERMFAIL)
			dns_problem(w->r, domain, "TXT", a);
		dns_answer_free(a);
		return -1;
	}
	n = a->status == DNS_OK ? spf_select(a, &which) : 0;
	if (n == 0) {
		if (via == NULL)
			lint_add(w->r, LINT_ERROR, "spf-missing",
			    "Publish \"v=spf1 ... -all\" listing the hosts that send as the domain; a domain "
			    "that sends no mail publishes \"v=spf1 -all\".",
			    "%s has no SPF record: SPF gives none, so DMARC depends on DKIM alone", domain);
		else {
			if (is_void(a))
				spf_void(w, domain);
			lint_add(w->r, LINT_ERROR, "spf-target-missing",
			    "Remove it, or correct the domain name (providers document the name to include).",
			    "SPF: %s:%s has no SPF record: receivers return permerror (RFC 7208 §5.2, §6.1)",
			    via, domain);
		}
		dns_answer_free(a);
		return -1;
	}
	if (n > 1) {
		lint_add(w->r, LINT_ERROR, "spf-multiple", "Merge them into one v=spf1 record.",
		    "%s has %zu SPF records: receivers return permerror (RFC 7208 §4.5)", domain, n);
		dns_answer_free(a);
		return -1;
	}
	rec = xstrndup(a->txt[which], a->txt_len[which]);
	dns_answer_free(a);
	w->stack[w->depth++] = domain;
	for (tok = strtok_r(rec + 6, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		int t = spf_term(w, domain, tok, &allq, &redirect, &have_exp);

		if (t < 0)
			broken = true;
	}
	if (allq == '+')
		lint_add(w->r, LINT_ERROR, "spf-all-pass",
		    "Replace +all by -all (or ~all while you are still listing senders).",
		    "SPF of %s: +all lets every host on the Internet pass SPF%s", domain,
		    top ? "" : " (and every record that includes it)");
	else if (top && allq == '?')
		lint_add(w->r, LINT_WARNING, "spf-all-neutral", "End the record with -all (or ~all).",
		    "SPF of %s ends with ?all: mail from anywhere else is neutral, as if there were "
		    "no SPF", domain);
	else if (top && allq == '~')
		lint_add(w->r, LINT_NOTICE, "spf-softfail",
		    "Change ~all to -all once every sender is listed; with DMARC enforcing, ~all versus "
		    "-all matters less, because the DMARC policy decides.",
		    "SPF of %s ends with ~all (softfail): mail from unlisted hosts is only marked", domain);
	else if (top && allq == 0 && redirect == NULL)
		lint_add(w->r, LINT_WARNING, "spf-no-all", "End the record with -all.",
		    "SPF of %s has no \"all\" and no redirect=: unlisted hosts get neutral", domain);
	/* RFC 7208 §6.1: redirect is ignored when the record has "all" */
	if (redirect != NULL && allq == 0 && !broken) {
		w->lookups++;
		if (!has_macro(redirect) && w->lookups <= SPF_WALK_CAP)
			spf_walk_domain(w, redirect, "redirect", top);
	}
	w->depth--;
	free(rec);
	if (broken)
		rc = -1;
	return rc;
}

/* lint_spf - the SPF checks of a domain */
void
lint_spf(struct dns *dns, const char *domain, struct lint_result *r, unsigned *lookups,
    unsigned *voids)
{
	struct spf_walk w;
	size_t before = r->n, i;
	bool bad = false;

	memset(&w, 0, sizeof(w));
	w.dns = dns;
	w.r = r;
	buf_init(&w.void_names, 1024);
	spf_walk_domain(&w, domain, NULL, true);
	if (w.lookups > SPF_MAX_LOOKUPS)
		lint_add(r, LINT_ERROR, "spf-lookups",
		    "Bring it to 10 or fewer: drop includes of services you no longer use, replace a, mx "
		    "and ptr by ip4:/ip6:, or split senders onto subdomains with their own SPF.",
		    "SPF of %s needs %s%u DNS-querying terms (include, a, mx, ptr, exists, redirect, counted "
		    "through nested includes); more than %d is a permerror (RFC 7208 §4.6.4)", domain,
		    w.capped ? "more than " : "", w.lookups, SPF_MAX_LOOKUPS);
	if (w.voids > SPF_MAX_VOIDS)
		lint_add(r, LINT_ERROR, "spf-void-lookups",
		    "Remove the mechanisms whose names do not exist or have no records.",
		    "SPF of %s: %u lookups find no records (%s); more than %d such void lookups is a "
		    "permerror (RFC 7208 §4.6.4)", domain, w.voids, buf_str(&w.void_names), SPF_MAX_VOIDS);
	for (i = before; i < r->n; i++)
		if (r->f[i].severity >= LINT_WARNING)
			bad = true;
	if (!bad && !w.tempfail)
		lint_add(r, LINT_OK, "spf-ok", NULL, "SPF of %s: %u of %d DNS lookups, %u void", domain,
		    w.lookups, SPF_MAX_LOOKUPS, w.voids);
	if (lookups != NULL)
		*lookups = w.lookups;
	if (voids != NULL)
		*voids = w.voids;
	buf_free(&w.void_names);
}

/* ---------------------------------------------------------------- */
/* DKIM */

/* b64_decode - RFC 6376 §3.6.1 base64 with FWS allowed; NULL on a bad character */
static unsigned char *
b64_decode(const char *s, size_t n, size_t *outlen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char *out = xmalloc(n * 3 / 4 + 3);
	unsigned long acc = 0;
	size_t i, bits = 0, o = 0, pad = 0;
	const char *c;

	for (i = 0; i < n; i++) {
		if (wsp(s[i]))
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || s[i] == '\0' || (c = strchr(al, s[i])) == NULL) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned long)(c - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6) {
		free(out);
		return NULL;
	}
	*outlen = o;
	return out;
}

/* dkim_tag - the value of a tag in a DKIM tag-list (first occurrence), or NULL */
static char *
dkim_tag(const char *t, const char *name, bool *first)
{
	size_t nl = strlen(name);
	const char *p = t;
	bool isfirst = true;

	while (*p != '\0') {
		const char *e = strchr(p, ';'), *s = p, *eq;
		size_t len;

		if (e == NULL)
			e = p + strlen(p);
		while (s < e && wsp(*s))
			s++;
		eq = memchr(s, '=', (size_t)(e - s));
		if (eq != NULL) {
			const char *ne = eq;

			while (ne > s && wsp(ne[-1]))
				ne--;
			if ((size_t)(ne - s) == nl && memcmp(s, name, nl) == 0) {
				const char *vs = eq + 1, *ve = e;

				while (vs < ve && wsp(*vs))
					vs++;
				while (ve > vs && wsp(ve[-1]))
					ve--;
				len = (size_t)(ve - vs);
				if (first != NULL)
					*first = isfirst;
				return xstrndup(vs, len);
			}
			isfirst = false;
		}
		p = *e != '\0' ? e + 1 : e;
	}
	return NULL;
}

/* lint_dkim_selector - one selector's key record (RFC 6376 §3.6.1) */
static void
lint_dkim_selector(struct lint_result *r, struct dns *dns, const char *domain, const char *sel)
{
	struct dns_answer *a;
	char name[300], *txt, *v, *k, *p, *t;
	bool first = false;
	unsigned char *der;
	size_t derlen;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel, domain);
	a = dns_query(dns, name, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		dns_problem(r, name, "TXT", a);
		dns_answer_free(a);
		return;
	}
	if (a->n == 0) {
		lint_add(r, LINT_ERROR, "dkim-missing",
		    "Publish the public key your signer shows for this selector, or stop signing with it.",
		    "%s: no DKIM key record: signatures with s=%s fail", name, sel);
		dns_answer_free(a);
		return;
	}
	if (a->n > 1)
		lint_add(r, LINT_WARNING, "dkim-multiple", "Keep one TXT record per selector.",
		    "%s: %zu TXT records: verifiers may pick any (RFC 6376 §3.6.2.2)", name, a->n);
	txt = xstrndup(a->txt[0], a->txt_len[0]);
	dns_answer_free(a);

	v = dkim_tag(txt, "v", &first);
	if (v != NULL && (strcmp(v, "DKIM1") != 0 || !first)) {
		lint_add(r, LINT_ERROR, "dkim-syntax", "Start the record with v=DKIM1; (or leave v= out).",
		    "%s: v=%s%s: verifiers ignore the key (RFC 6376 §3.6.1)", name, v,
		    strcmp(v, "DKIM1") == 0 ? " is not the first tag" : " is not DKIM1");
		free(v);
		free(txt);
		return;
	}
	free(v);
	k = dkim_tag(txt, "k", NULL);
	p = dkim_tag(txt, "p", NULL);
	t = dkim_tag(txt, "t", NULL);
	if (p == NULL) {
		lint_add(r, LINT_ERROR, "dkim-syntax", "Publish the key as p=<base64>.",
		    "%s: no p= tag: not a DKIM key record", name);
		goto out;
	}
	if (*p == '\0') {
		lint_add(r, LINT_WARNING, "dkim-revoked",
		    "If the selector is retired, stop signing with it; else publish its key.",
		    "%s: empty p=: the key is revoked, signatures with s=%s fail", name, sel);
		goto out;
	}
	if (t != NULL) {
		char *f, *save = NULL;

		for (f = strtok_r(t, ":", &save); f != NULL; f = strtok_r(NULL, ":", &save)) {
			while (wsp(*f))
				f++;
			if (f[0] == 'y' && (f[1] == '\0' || wsp(f[1])))
				lint_add(r, LINT_NOTICE, "dkim-testing", "Remove t=y once signing works.",
				    "%s: t=y: the domain is testing DKIM; verifiers may treat its signatures as "
				    "unsigned", name);
			else if (f[0] == 's' && (f[1] == '\0' || wsp(f[1])))
				lint_add(r, LINT_INFO, "dkim-strict", NULL,
				    "%s: t=s: signatures must have i= in %s itself, not a subdomain", name, domain);
		}
	}
	if ((der = b64_decode(p, strlen(p), &derlen)) == NULL) {
		lint_add(r, LINT_ERROR, "dkim-syntax", "Publish the key exactly as the signer printed it.",
		    "%s: p= is not valid base64", name);
		goto out;
	}
	if (k == NULL || strcmp(k, "rsa") == 0) {
		const unsigned char *q = der;
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)derlen);
		int bits;

		if (pk == NULL || EVP_PKEY_base_id(pk) != EVP_PKEY_RSA) {
			EVP_PKEY *pkcs1;

			q = der;
			pkcs1 = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)derlen);
			lint_add(r, LINT_ERROR, "dkim-syntax",
			    "Publish the SubjectPublicKeyInfo (the base64 between \"-----BEGIN PUBLIC KEY-----\" "
			    "lines).",
			    "%s: p= %s", name, pkcs1 != NULL ? "is a bare PKCS#1 RSAPublicKey, not a "
			    "SubjectPublicKeyInfo: many verifiers cannot read it" : "is not an RSA public key");
			EVP_PKEY_free(pkcs1);
			EVP_PKEY_free(pk);
			free(der);
			goto out;
		}
		bits = EVP_PKEY_get_bits(pk);
		EVP_PKEY_free(pk);
		if (bits < 1024)
			lint_add(r, LINT_ERROR, "dkim-key-short",
			    "Generate a 2048-bit key under a new selector, publish it, switch the signer.",
			    "%s: RSA key of %d bits: verifiers MUST NOT accept signatures with keys under "
			    "1024 bits (RFC 8301 §3.2)", name, bits);
		else if (bits < 2048)
			lint_add(r, LINT_WARNING, "dkim-key-weak",
			    "Generate a 2048-bit key under a new selector, publish it, switch the signer.",
			    "%s: RSA key of %d bits: RFC 8301 §3.2 wants 2048; 1024-bit keys are being "
			    "factored", name, bits);
		else
			lint_add(r, LINT_OK, "dkim-ok", NULL, "%s: RSA key of %d bits", name, bits);
	} else if (strcmp(k, "ed25519") == 0) {
		if (derlen != 32)
			lint_add(r, LINT_ERROR, "dkim-syntax", "Publish the raw 32-byte key, base64 (RFC 8463 §4).",
			    "%s: k=ed25519 but p= holds %zu bytes, not 32", name, derlen);
		else
			lint_add(r, LINT_OK, "dkim-ok", NULL,
			    "%s: Ed25519 key (RFC 8463); keep an RSA signature too for verifiers without it",
			    name);
	} else
		lint_add(r, LINT_ERROR, "dkim-syntax", "Use k=rsa or k=ed25519.",
		    "%s: unknown key type k=%s: verifiers ignore the key", name, k);
	free(der);
out:
	free(k);
	free(p);
	free(t);
	free(txt);
}

/* ---------------------------------------------------------------- */
/* DNSSEC */

#define DNSSEC_FIX	"Sign the zone if your DNS provider offers it: it protects these records " \
			"against forged answers and enables DANE for inbound mail."

/*
 * lint_dnssec - ask DNSKEY with the DO bit at the domain, then at its
 * Organizational Domain: AD means the resolver validated; RRSIGs without
 * AD mean signed data from a resolver that does not validate (or one that
 * is authoritative, like a test nsd); neither means unsigned.
 */
static void
lint_dnssec(struct lint_result *r, struct dns *dns, const struct orgdomain *psl, const char *domain)
{
	char *org = orgdomain_psl(psl, domain);
	const char *names[2] = { domain, org };
	bool signed_ = false, validated = false;
	const char *where = domain;
	size_t i;

	for (i = 0; i < 2 && !signed_; i++) {
		struct dns_answer *a;

		if (names[i] == NULL || (i == 1 && strcmp(names[1], domain) == 0))
			continue;
		a = dns_query(dns, names[i], DNS_T_DNSKEY);
		if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
			dns_problem(r, names[i], "DNSKEY", a);
			dns_answer_free(a);
			free(org);
			return;
		}
		if ((a->status == DNS_OK && a->n > 0) || a->rrsig) {
			signed_ = true;
			validated = a->ad;
			where = names[i];
		}
		dns_answer_free(a);
	}
	if (validated)
		lint_add(r, LINT_OK, "dnssec-validated", NULL,
		    "DNSSEC: %s is signed and the resolver validated it (AD)", where);
	else if (signed_)
		lint_add(r, LINT_NOTICE, "dnssec-unvalidated",
		    "Point Nameservers at a validating resolver to have the chain of trust checked "
		    "(and check the DS record at the parent).",
		    "DNSSEC: %s is signed (RRSIGs came back), but the resolver does not validate (no AD "
		    "bit)", where);
	else if (org != NULL && strcmp(org, domain) != 0)
		lint_add(r, LINT_INFO, "dnssec-absent", DNSSEC_FIX, "DNSSEC: neither %s nor %s is signed",
		    domain, org);
	else
		lint_add(r, LINT_INFO, "dnssec-absent", DNSSEC_FIX, "DNSSEC: %s is not signed", domain);
	free(org);
}

/* ---------------------------------------------------------------- */
/* history from the store */

#define MAX_SUB_SENDERS	100	/* distinct sending subdomains remembered */

/* lint_history_row - one record of a received report */
void
lint_history_row(struct lint_history *h, const char *domain, long long begin,
    const char *policy_domain, const char *p, const char *header_from, unsigned long long count)
{
	size_t i;

	if (policy_domain != NULL && ascii_strcaseeq(policy_domain, domain)) {
		if (p != NULL && ascii_strcaseeq(p, "none")) {
			if (h->none_since == 0)
				h->none_since = (time_t)begin;
		} else
			h->none_since = 0;
		if ((time_t)begin > h->last_report)
			h->last_report = (time_t)begin;
	}
	/* a proper subdomain: below the domain, not the domain itself */
	if (header_from != NULL && !ascii_strcaseeq(header_from, domain) &&
	    domain_at_or_below(header_from, domain)) {
		h->sub_messages += count;
		for (i = 0; i < h->n_sub_senders; i++)
			if (ascii_strcaseeq(h->sub_senders[i], header_from))
				return;
		if (h->n_sub_senders < MAX_SUB_SENDERS) {
			h->sub_senders = xrealloc(h->sub_senders, (h->n_sub_senders + 1) * sizeof(*h->sub_senders));
			h->sub_senders[h->n_sub_senders++] = xstrdup(header_from);
		}
	}
}

/* lint_history_free - the sub-sender list */
void
lint_history_free(struct lint_history *h)
{
	size_t i;

	for (i = 0; i < h->n_sub_senders; i++)
		free(h->sub_senders[i]);
	free(h->sub_senders);
	h->sub_senders = NULL;
	h->n_sub_senders = 0;
}

/* ---------------------------------------------------------------- */

/* lint_domain - every check, in the order a domain owner fixes them */
int
lint_domain(struct dns *dns, const struct orgdomain *psl, const struct lint_options *o,
    struct lint_result *res, char *err, size_t errlen)
{
	size_t i;

	memset(res, 0, sizeof(*res));
	if (o == NULL || o->domain == NULL || !domain_is_normalized(o->domain)) {
		err_set(err, errlen, "not a normalized domain name");
		return -1;
	}
	lint_dmarc(res, dns, psl, o);
	lint_spf(dns, o->domain, res, NULL, NULL);
	if (o->n_selectors == 0)
		lint_add(res, LINT_INFO, "dkim-not-checked",
		    "Name the selectors your signers use with --dkim-selector (they cannot be listed "
		    "from the DNS).", "DKIM: no selector given, no key checked");
	for (i = 0; i < o->n_selectors; i++)
		lint_dkim_selector(res, dns, o->domain, o->selectors[i]);
	lint_dnssec(res, dns, psl, o->domain);
	return 0;
}
