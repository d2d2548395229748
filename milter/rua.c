/*
 * rua.c - aggregate-report destinations: parse the published rua URIs,
 * keep the mailto ones, and verify external destinations through DNS
 * (RFC 9990 §4, RFC 7489 §7.1).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc_record.h"
#include "dns.h"
#include "log.h"
#include "orgdomain.h"
#include "rua.h"
#include "smtp.h"
#include "util.h"

#define RUA_NAME_MAX	253	/* RFC 1035 §2.3.4 (presentation form, no trailing dot) */

/* is_wsp - RFC 5234 WSP */
static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* is_atext - RFC 5322 §3.2.3 atext */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* hexval - value of a hex digit, -1 otherwise */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* rua_status_str - name of a status for logs */
const char *
rua_status_str(enum rua_status s)
{
	switch (s) {
	case RUA_ALLOWED:
		return "allowed";
	case RUA_REFUSED:
		return "refused";
	case RUA_DEFER:
		return "deferred";
	}
	return "?";
}

/* rua_uris_free - free a URI array from rua_parse_list */
void
rua_uris_free(struct dmarc_uri *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(u[i].uri);
	free(u);
}

/*
 * rua_parse_list - a rua value into URIs.  The grammar lives in
 * dmarc_record.c (RFC 7489 §6.4 dmarc-urilist with the "!" size suffix,
 * RFC 9989 §4.8 obs-dmarc-report-size); we feed it a minimal record so
 * both places agree on what a valid URI is.  Its notes name the dropped
 * elements, and we log them.
 */
int
rua_parse_list(const char *text, struct dmarc_uri **out, size_t *n, char *err, size_t errlen)
{
	struct dmarc_record rec;
	char perr[512];
	char *rtxt;
	size_t len;

	*out = NULL;
	*n = 0;
	if (text == NULL) {
		err_set(err, errlen, "no rua text");
		return -1;
	}
	len = strlen(text);
	if (len > RUA_MAX_TEXT) {
		err_set(err, errlen, "rua text too long (%zu bytes, limit %d)", len, RUA_MAX_TEXT);
		return -1;
	}
	if (strchr(text, ';') != NULL) {
		/* RFC 7489 §6.4: dmarc-value excludes ";" - it ends the tag */
		err_set(err, errlen, "rua text contains \";\": not a single tag value");
		return -1;
	}
	rtxt = xasprintf("v=DMARC1; p=none; rua=%s", text);
	if (dmarc_record_parse(rtxt, strlen(rtxt), &rec, perr, sizeof(perr)) != DMARC_PARSE_OK) {
		err_set(err, errlen, "rua text unusable: %s", perr);
		free(rtxt);
		return -1;
	}
	free(rtxt);
	if (perr[0] != '\0')
		log_info("rua \"%.200s\": %s", text, perr);
	*out = rec.rua;
	*n = rec.n_rua;
	rec.rua = NULL;
	rec.n_rua = 0;
	dmarc_record_free(&rec);
	return 0;
}

/* scheme_is - the URI's scheme equals kw (ASCII case ignored, RFC 3986 §3.1) */
static bool
scheme_is(const char *uri, const char *kw)
{
	size_t n = strlen(kw);

	return ascii_strncaseeq(uri, kw, n) && uri[n] == ':';
}

/*
 * rua_parse_mailto - RFC 6068 §2:
 *   mailtoURI = "mailto:" [ to ] [ hfields ]
 *   to        = addr-spec *("," addr-spec)
 * We take exactly one addr-spec with a dot-atom local part (no quoted
 * strings, no domain literals) and ignore hfields: a "?to=" or "?cc="
 * could otherwise add recipients nobody verified.
 */
int
rua_parse_mailto(const char *uri, char **address, char **host, char *err, size_t errlen)
{
	struct buf dec = BUF_INIT;
	const char *p, *end, *at;
	char nerr[128], *dom;
	size_t i, llen;
	bool dot_ok = false;

	*address = *host = NULL;
	if (uri == NULL || !scheme_is(uri, "mailto")) {
		err_set(err, errlen, "not a mailto URI");
		return -1;
	}
	p = uri + 7;
	end = p + strcspn(p, "?#");
	if (end == p) {
		err_set(err, errlen, "mailto URI without an address");
		return -1;
	}
	buf_init(&dec, RUA_MAX_ADDRESS + 1);
	for (; p < end; p++) {
		char c = *p;

		if (c == '%') {
			if (end - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0) {
				err_set(err, errlen, "bad %%-escape in mailto URI");
				buf_free(&dec);
				return -1;
			}
			c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		}
		if ((unsigned char)c < 0x21 || c == 0x7f) {
			err_set(err, errlen, "control character or space in mailto address");
			buf_free(&dec);
			return -1;
		}
		if (c == ',') {
			err_set(err, errlen, "mailto URI with several addresses (RFC 6068 §2) not supported");
			buf_free(&dec);
			return -1;
		}
		if (buf_putc(&dec, c) != 0) {
			err_set(err, errlen, "mailto address too long (limit %d)", RUA_MAX_ADDRESS);
			buf_free(&dec);
			return -1;
		}
	}
	at = strrchr(buf_str(&dec), '@');
	if (at == NULL || at == dec.data || at[1] == '\0') {
		err_set(err, errlen, "mailto address is not local@domain");
		buf_free(&dec);
		return -1;
	}
	llen = (size_t)(at - dec.data);
	if (llen > 64) {
		err_set(err, errlen, "local part over 64 octets (RFC 5321 §4.5.3.1.1)");
		buf_free(&dec);
		return -1;
	}
	/* RFC 5322 §3.4.1 dot-atom-text: atext runs separated by single dots */
	for (i = 0; i < llen; i++) {
		unsigned char c = (unsigned char)dec.data[i];

		if (c == '.' && dot_ok) {
			dot_ok = false;
			continue;
		}
		if (!is_atext(c)) {
			err_set(err, errlen, "local part of the mailto address is not a dot-atom");
			buf_free(&dec);
			return -1;
		}
		dot_ok = true;
	}
	if (!dot_ok) {
		err_set(err, errlen, "local part of the mailto address is not a dot-atom");
		buf_free(&dec);
		return -1;
	}
	if (at[1] == '[') {
		err_set(err, errlen, "address literals are not supported as report destinations");
		buf_free(&dec);
		return -1;
	}
	if ((dom = domain_normalize(at + 1, nerr, sizeof(nerr))) == NULL) {
		err_set(err, errlen, "bad domain in mailto address: %s", nerr);
		buf_free(&dec);
		return -1;
	}
	*address = xasprintf("%.*s@%s", (int)llen, dec.data, dom);
	buf_free(&dec);
	if (strlen(*address) > RUA_MAX_ADDRESS || !smtp_address_valid(*address)) {
		err_set(err, errlen, "mailto address unusable in SMTP");
		free(*address);
		free(dom);
		*address = NULL;
		return -1;
	}
	*host = dom;
	return 0;
}

/* uri_host - the host of a generic URI's authority (RFC 3986 §3.2.2), malloc'd, or NULL */
static char *
uri_host(const char *uri)
{
	const char *p = strchr(uri, ':'), *s, *e;
	char *raw, *h;

	if (p == NULL || p[1] != '/' || p[2] != '/')
		return NULL;
	s = p + 3;
	e = s + strcspn(s, "/?#");
	for (p = s; p < e; p++)
		if (*p == '@')
			s = p + 1;	/* userinfo */
	if (s < e && *s == '[')
		return xstrndup(s, (size_t)(e - s));	/* IP literal: compared verbatim */
	for (p = s; p < e && *p != ':'; p++)
		;
	raw = xstrndup(s, (size_t)(p - s));
	h = domain_normalize(raw, NULL, 0);
	if (h == NULL)
		h = raw;
	else
		free(raw);
	return h;
}

/*
 * version_end - offset after "v=DMARC1" at the start of a tag-list, 0 if
 * the text does not start with it.  Same rule as the policy record
 * (RFC 9989 §4.7; RFC 9990 §4 step 6: "the "v=DMARC1" tag is mandatory
 * and MUST appear first"); tag names are case-sensitive (RFC 6376 §3.2).
 */
static size_t
version_end(const char *s, size_t len)
{
	size_t i = 1;

	if (len < 8 || s[0] != 'v')
		return 0;
	while (i < len && is_wsp(s[i]))
		i++;
	if (i >= len || s[i] != '=')
		return 0;
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	while (i < len && is_wsp(s[i]))
		i++;
	if (i < len && s[i] != ';')
		return 0;
	return i;
}

/*
 * auth_record - basic parse of one TXT record at the _report._dmarc name
 * (RFC 9990 §4 step 6): v=DMARC1 first, then tag=value pairs; a trailing
 * ";" is optional.  Returns -1 when the record must be discarded (no
 * v=DMARC1, NUL, a duplicate tag), else 0 with *rua and *rua_len set to the
 * rua tag's value when there is one.
 */
static int
auth_record(const char *txt, size_t len, const char **rua, size_t *rua_len)
{
	size_t i;
	bool seen_rua = false;

	*rua = NULL;
	*rua_len = 0;
	if (memchr(txt, '\0', len) != NULL || (i = version_end(txt, len)) == 0)
		return -1;
	while (i < len) {
		const char *semi = memchr(txt + i + 1, ';', len - i - 1);
		size_t end = semi != NULL ? (size_t)(semi - txt) : len;
		size_t s = i + 1, ns, ne, vs, ve;

		i = end;
		while (s < end && is_wsp(txt[s]))
			s++;
		if (s == end)
			continue;
		ns = s;
		while (s < end && (txt[s] == '_' || (txt[s] >= 'a' && txt[s] <= 'z') ||
		    (txt[s] >= 'A' && txt[s] <= 'Z') || (txt[s] >= '0' && txt[s] <= '9')))
			s++;
		ne = s;
		while (s < end && is_wsp(txt[s]))
			s++;
		if (ne == ns || s >= end || txt[s] != '=')
			continue;	/* malformed tag-spec: ignored, as in the policy parser */
		vs = s + 1;
		while (vs < end && is_wsp(txt[vs]))
			vs++;
		ve = end;
		while (ve > vs && is_wsp(txt[ve - 1]))
			ve--;
		if (ne - ns == 1 && txt[ns] == 'v')
			return -1;	/* duplicate v: RFC 6376 §3.2 makes the tag-list invalid */
		if (ne - ns == 3 && memcmp(txt + ns, "rua", 3) == 0) {
			if (seen_rua)
				return -1;	/* duplicate tag */
			seen_rua = true;
			*rua = txt + vs;
			*rua_len = ve - vs;
		}
	}
	return 0;
}

/* dest_add - append a destination (takes ownership of the strings) */
static struct rua_dest *
dest_add(struct rua_dest **v, size_t *n, const char *uri, char *address, char *host,
    unsigned long long limit, enum rua_status st, bool external, bool overridden, char *reason)
{
	struct rua_dest *d;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	d = &(*v)[(*n)++];
	d->uri = xstrdup(uri);
	d->address = address;
	d->host = host;
	d->size_limit = limit;
	d->status = st;
	d->external = external;
	d->overridden = overridden;
	d->reason = reason;
	return d;
}

/*
 * apply_override - RFC 9990 §4 step 9 (RFC 7489 §7.1 step 7): a rua in the
 * authorising record replaces the published URI, but "the overriding URI
 * MUST use the same destination host from the first step"; "if the
 * confirming record includes a URI whose host is again different ... the
 * Mail Receiver ... MUST NOT generate a report to either the original or
 * the override URI."  Returns the number of destinations added, or -1
 * (with *why) when the original must be refused.
 */
static int
apply_override(const char *qname, const char *host, const char *rua, size_t rua_len,
    struct rua_dest **v, size_t *n, char **why)
{
	struct dmarc_uri *ov = NULL;
	size_t n_ov = 0, i, added = 0, start = *n;
	char perr[256], *text = xstrndup(rua, rua_len);

	if (rua_parse_list(text, &ov, &n_ov, perr, sizeof(perr)) != 0) {
		*why = xasprintf("override rua at %s unusable: %s", qname, perr);
		free(text);
		return -1;
	}
	free(text);
	/* first pass: every URI must stay on the destination host */
	for (i = 0; i < n_ov; i++) {
		char *addr = NULL, *h = NULL;

		if (scheme_is(ov[i].uri, "mailto")) {
			if (rua_parse_mailto(ov[i].uri, &addr, &h, perr, sizeof(perr)) != 0) {
				log_info("override rua %.200s at %s ignored: %s", ov[i].uri, qname, perr);
				continue;
			}
		} else if ((h = uri_host(ov[i].uri)) == NULL) {
			log_info("override rua %.200s at %s ignored: unsupported scheme", ov[i].uri, qname);
			continue;
		}
		if (strcmp(h, host) != 0) {
			*why = xasprintf("override rua %.200s at %s is on host %s, not %s: no report to "
			    "either (RFC 9990 §4)", ov[i].uri, qname, h, host);
			free(addr);
			free(h);
			rua_uris_free(ov, n_ov);
			return -1;
		}
		free(addr);
		free(h);
	}
	for (i = 0; i < n_ov; i++) {
		char *addr = NULL, *h = NULL;

		if (!scheme_is(ov[i].uri, "mailto"))
			continue;
		if (rua_parse_mailto(ov[i].uri, &addr, &h, perr, sizeof(perr)) != 0)
			continue;
		dest_add(v, n, ov[i].uri, addr, h, ov[i].size_limit, RUA_ALLOWED, true, true,
		    xasprintf("authorised and overridden by %s", qname));
		added++;
	}
	rua_uris_free(ov, n_ov);
	if (added == 0) {
		*n = start;
		*why = xasprintf("override rua at %s names no usable mailto URI", qname);
		return -1;
	}
	return (int)added;
}

/*
 * verify_external - RFC 9990 §4 steps 1-9 (RFC 7489 §7.1) for one
 * destination host.  Appends the resulting destination(s) to *v.
 */
static void
verify_external(struct dns *dns, enum dmarc_rules rules, const char *pd,
    const struct dmarc_uri *u, char *addr, char *host, struct rua_dest **v, size_t *n)
{
	struct dns_answer *a;
	char *qname, *why = NULL;
	const char *ov = NULL;
	size_t ov_len = 0, i, good = 0;

	/* steps 1-3: "<policy-domain>._report._dmarc.<destination host>",
	 * the policy domain already an A-label (domain_normalize) */
	qname = xasprintf("%s._report._dmarc.%s", pd, host);
	if (strlen(qname) > RUA_NAME_MAX) {
		/* step 4: over DNS limits, no positive determination */
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_REFUSED, true, false,
		    xasprintf("verification name %.64s... exceeds %d octets (RFC 9990 §4 step 4)",
		    qname, RUA_NAME_MAX));
		free(qname);
		return;
	}
	/* step 5 */
	a = dns_query(dns, qname, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL) {
		/* "the Mail Receiver MAY elect to temporarily fail the delivery" */
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_DEFER, true, false,
		    xasprintf("TXT %s: temporary DNS failure (%s)", qname,
		    a->error != NULL ? a->error : "tempfail"));
		goto out;
	}
	if (a->status != DNS_OK || a->n == 0) {
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_REFUSED, true, false,
		    xasprintf("no authorisation record at %s (%s)", qname,
		    a->status == DNS_NXDOMAIN ? "NXDOMAIN" : a->status == DNS_OK ? "NODATA" :
		    a->error != NULL ? a->error : "DNS error"));
		goto out;
	}
	if (rules == RULES_RFC7489 && a->n != 1) {
		/* RFC 7489 §7.1 step 5: "no TXT resource records or multiple TXT
		 * resource records" give no positive determination */
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_REFUSED, true, false,
		    xasprintf("%zu TXT records at %s (RFC 7489 §7.1 step 5 wants exactly one)",
		    a->n, qname));
		goto out;
	}
	/* steps 6-8: keep the records that pass basic parsing */
	for (i = 0; i < a->n; i++) {
		const char *r = NULL;
		size_t rl = 0;

		if (auth_record(a->txt[i], a->txt_len[i], &r, &rl) != 0)
			continue;
		good++;
		if (r != NULL) {
			if (ov == NULL) {
				ov = r;
				ov_len = rl;
			} else if (rl != ov_len || memcmp(r, ov, rl) != 0)
				log_info("%s: several records carry a rua; the first one is used", qname);
		}
	}
	if (good == 0) {
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_REFUSED, true, false,
		    xasprintf("no v=DMARC1 record at %s (RFC 9990 §4 step 7)", qname));
		goto out;
	}
	if (ov == NULL) {
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_ALLOWED, true, false,
		    xasprintf("authorised by %s", qname));
		goto out;
	}
	/* step 9 */
	if (apply_override(qname, host, ov, ov_len, v, n, &why) < 0) {
		dest_add(v, n, u->uri, addr, host, u->size_limit, RUA_REFUSED, true, false, why);
		goto out;
	}
	free(addr);
	free(host);
	dns_answer_free(a);
	free(qname);
	return;
out:
	dns_answer_free(a);
	free(qname);
}

/* dedup_allowed - drop ALLOWED entries whose address an earlier ALLOWED entry has;
 * the stricter size limit wins */
static void
dedup_allowed(struct rua_dest *v, size_t *n)
{
	size_t i, j, k;

	for (i = 0; i < *n; i++) {
		if (v[i].status != RUA_ALLOWED)
			continue;
		for (j = i + 1; j < *n; ) {
			if (v[j].status == RUA_ALLOWED && strcmp(v[i].address, v[j].address) == 0) {
				if (v[j].size_limit != 0 &&
				    (v[i].size_limit == 0 || v[j].size_limit < v[i].size_limit))
					v[i].size_limit = v[j].size_limit;
				free(v[j].uri);
				free(v[j].address);
				free(v[j].host);
				free(v[j].reason);
				for (k = j + 1; k < *n; k++)
					v[k - 1] = v[k];
				(*n)--;
			} else
				j++;
		}
	}
}

/* rua_destinations_uris - destinations of parsed URIs */
int
rua_destinations_uris(struct dns *dns, const struct orgdomain *org, enum dmarc_rules rules,
    const char *policy_domain, const struct dmarc_uri *uris, size_t n_uris,
    struct rua_dest **out, size_t *n, char *err, size_t errlen)
{
	struct rua_dest *v = NULL;
	size_t nv = 0, i;
	char nerr[128], *pd, *pd_org;

	*out = NULL;
	*n = 0;
	if (policy_domain == NULL ||
	    (pd = domain_normalize(policy_domain, nerr, sizeof(nerr))) == NULL) {
		err_set(err, errlen, "policy domain unusable: %s", policy_domain ? nerr : "none given");
		return -1;
	}
	pd_org = orgdomain_psl(org, pd);
	for (i = 0; i < n_uris; i++) {
		const struct dmarc_uri *u = &uris[i];
		char *addr = NULL, *host = NULL, *h_org;

		if (i >= RUA_MAX_URIS) {
			log_info("%s: rua URIs past the first %d ignored", pd, RUA_MAX_URIS);
			break;
		}
		if (!scheme_is(u->uri, "mailto")) {
			/* RFC 9989 §4.7: "URIs involving schemes not supported by Mail
			 * Receivers MUST be ignored" */
			log_info("%s: rua %.200s ignored: only mailto is supported", pd, u->uri);
			continue;
		}
		if (rua_parse_mailto(u->uri, &addr, &host, nerr, sizeof(nerr)) != 0) {
			/* RFC 9990 §3: malformed URIs "SHOULD be ignored" */
			log_info("%s: rua %.200s ignored: %s", pd, u->uri, nerr);
			continue;
		}
		h_org = orgdomain_psl(org, host);
		if (pd_org != NULL && h_org != NULL && strcmp(pd_org, h_org) == 0) {
			/* RFC 9990 §4: the check applies only when the Organizational
			 * Domains differ */
			dest_add(&v, &nv, u->uri, addr, host, u->size_limit, RUA_ALLOWED, false, false, NULL);
		} else
			verify_external(dns, rules, pd, u, addr, host, &v, &nv);
		free(h_org);
	}
	for (i = 0; i < nv; i++)
		if (v[i].status != RUA_ALLOWED)
			log_info("%s: report destination %s %s: %s", pd, v[i].address,
			    rua_status_str(v[i].status), v[i].reason);
	dedup_allowed(v, &nv);
	free(pd_org);
	free(pd);
	*out = v;
	*n = nv;
	return 0;
}

/* rua_destinations - destinations of a rua value as published */
int
rua_destinations(struct dns *dns, const struct orgdomain *org, enum dmarc_rules rules,
    const char *policy_domain, const char *rua_text,
    struct rua_dest **out, size_t *n, char *err, size_t errlen)
{
	struct dmarc_uri *uris;
	size_t nu;
	int rc;

	*out = NULL;
	*n = 0;
	if (rua_parse_list(rua_text, &uris, &nu, err, errlen) != 0)
		return -1;
	rc = rua_destinations_uris(dns, org, rules, policy_domain, uris, nu, out, n, err, errlen);
	rua_uris_free(uris, nu);
	return rc;
}

/* rua_dests_free - free a destination list */
void
rua_dests_free(struct rua_dest *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].uri);
		free(v[i].address);
		free(v[i].host);
		free(v[i].reason);
	}
	free(v);
}
