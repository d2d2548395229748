/*
 * deliver.c - the aggregate report message (RFC 9990 §3 "Email",
 * RFC 7489 §7.2.1.1): gzip, MIME, safe headers; and its delivery to the
 * allowed rua destinations through smtp.c.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "buf.h"
#include "deliver.h"
#include "log.h"
#include "orgdomain.h"
#include "smtp.h"
#include "util.h"

#define HDR_FOLD_AT	78	/* RFC 5322 §2.1.1: lines SHOULD be at most 78 characters */
#define B64_LINE	76	/* RFC 2045 §6.8: encoded lines at most 76 characters */
#define UNIQUE_ID_MAX	64

/* deliver_outcome_str - name of an outcome for logs */
const char *
deliver_outcome_str(enum deliver_outcome o)
{
	switch (o) {
	case DELIVER_SENT:
		return "sent";
	case DELIVER_TOO_BIG:
		return "too big";
	case DELIVER_REFUSED:
		return "refused";
	case DELIVER_DEFERRED:
		return "deferred";
	case DELIVER_FAILED:
		return "failed";
	}
	return "?";
}

/* deliver_fits - see deliver.h */
bool
deliver_fits(enum dmarc_rules rules, unsigned long long limit, size_t len)
{
	if (rules != RULES_RFC7489 || limit == 0)
		return true;
	return (unsigned long long)len <= limit;
}

/* is_atext - RFC 5322 §3.2.3 */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* dot_atom_ok - s[0, n) is RFC 5322 dot-atom-text */
static bool
dot_atom_ok(const char *s, size_t n)
{
	bool dot_ok = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '.' && dot_ok) {
			dot_ok = false;
			continue;
		}
		if (!is_atext((unsigned char)s[i]))
			return false;
		dot_ok = true;
	}
	return dot_ok;
}

/*
 * report_id_norm - RFC 9990 §3 "Definition of Report-ID":
 *   ridfmt = (dot-atom-text ["@" dot-atom-text])
 *   ridtxt = ("<" ridfmt ">") / ridfmt
 * Returns the ridfmt (brackets stripped), malloc'd, or NULL.
 */
static char *
report_id_norm(const char *id)
{
	size_t n;
	const char *at;

	if (id == NULL)
		return NULL;
	n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		id++;
		n -= 2;
	}
	if (n == 0 || n > DELIVER_MAX_REPORT_ID)
		return NULL;
	at = memchr(id, '@', n);
	if (at != NULL) {
		size_t l = (size_t)(at - id);

		if (!dot_atom_ok(id, l) || !dot_atom_ok(at + 1, n - l - 1))
			return NULL;
	} else if (!dot_atom_ok(id, n))
		return NULL;
	return xstrndup(id, n);
}

/* fnv1a - 64-bit FNV-1a over a string, continuing from h */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* gzip_xml - RFC 1952 gzip of the XML (zlib, windowBits 15+16); mtime 0
 * in the header, so the same report always compresses the same */
static int
gzip_xml(const char *xml, size_t len, struct buf *out, char *err, size_t errlen)
{
	z_stream zs;
	unsigned char chunk[16384];
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		err_set(err, errlen, "zlib: deflateInit2 failed");
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)xml;
	do {
		size_t feed = len > (1u << 30) ? (1u << 30) : len;

		if (zs.avail_in == 0 && feed > 0) {
			zs.avail_in = (uInt)feed;
			len -= feed;
		}
		zs.next_out = chunk;
		zs.avail_out = sizeof(chunk);
		zr = deflate(&zs, len == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			deflateEnd(&zs);
			err_set(err, errlen, "zlib: deflate failed");
			return -1;
		}
		if (buf_append(out, chunk, sizeof(chunk) - zs.avail_out) != 0) {
			deflateEnd(&zs);
			err_set(err, errlen, "compressed report over %u bytes", DELIVER_MAX_MESSAGE);
			return -1;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	return 0;
}

/* put_base64 - RFC 2045 §6.8 base64, lines of 76 characters ending CRLF */
static void
put_base64(struct buf *out, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[B64_LINE + 2];
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		line[col++] = tab[(v >> 18) & 63];
		line[col++] = tab[(v >> 12) & 63];
		line[col++] = left > 1 ? tab[(v >> 6) & 63] : '=';
		line[col++] = left > 2 ? tab[v & 63] : '=';
		if (col == B64_LINE) {
			line[col++] = '\r';
			line[col++] = '\n';
			buf_append(out, line, col);
			col = 0;
		}
	}
	if (col > 0) {
		line[col++] = '\r';
		line[col++] = '\n';
		buf_append(out, line, col);
	}
}

/*
 * put_header - "Name: value" folded at spaces (RFC 5322 §2.2.3) so lines
 * stay within 78 characters where the words allow; a word longer than
 * that goes on a line of its own (our values are bounded well under 998).
 * The value is ours and holds no CR, LF or control characters.
 */
static void
put_header(struct buf *out, const char *name, const char *value)
{
	const char *p = value;
	size_t col = strlen(name) + 1;
	bool first = true;

	buf_puts(out, name);
	buf_putc(out, ':');
	while (*p != '\0') {
		size_t wl;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		wl = strcspn(p, " ");
		if (!first && col + 1 + wl > HDR_FOLD_AT) {
			buf_puts(out, "\r\n");
			col = 0;
		}
		buf_putc(out, ' ');
		buf_append(out, p, wl);
		col += 1 + wl;
		p += wl;
		first = false;
	}
	buf_puts(out, "\r\n");
}

/* fmt_utc - "YYYY-MM-DD HH:MM:SS UTC" for the text part */
static void
fmt_utc(struct buf *out, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_printf(out, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* norm_domain - a normalized domain name, or NULL with err */
static char *
norm_domain(const char *what, const char *d, char *err, size_t errlen)
{
	char nerr[128], *n;

	if (d == NULL || (n = domain_normalize(d, nerr, sizeof(nerr))) == NULL) {
		err_set(err, errlen, "%s unusable: %s", what, d == NULL ? "none given" : nerr);
		return NULL;
	}
	return n;
}

/*
 * name_parts - the normalized receiver, policy domain and report ID, and
 * the report's file name (RFC 9990 §3), which depends on nothing else.
 * On success the caller frees *org, *dom and *rid.
 */
static int
name_parts(const struct deliver_msg *in, struct buf *filename, char **orgp, char **domp,
    char **ridp, char *err, size_t errlen)
{
	char *org = NULL, *dom = NULL, *rid = NULL, *uid = NULL;

	/* RFC 9990 §3: receiver, policy-domain and the Subject's two names
	 * are domain-names; normalized form has letters, digits, "-", "_"
	 * and dots only */
	if ((org = norm_domain("reporting organisation domain", in->org_domain, err, errlen)) == NULL ||
	    (dom = norm_domain("policy domain", in->domain, err, errlen)) == NULL)
		goto fail;
	if ((rid = report_id_norm(in->report_id)) == NULL) {
		err_set(err, errlen, "report ID \"%.80s\" is not dot-atom-text [\"@\" dot-atom-text] "
		    "of at most %d bytes (RFC 9990 §3)", in->report_id ? in->report_id : "",
		    DELIVER_MAX_REPORT_ID);
		goto fail;
	}
	if (in->unique_id != NULL) {
		size_t ul = strlen(in->unique_id);

		/* RFC 9990 §3: unique-id = 1*(ALPHA / DIGIT) */
		if (ul == 0 || ul > UNIQUE_ID_MAX ||
		    strspn(in->unique_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != ul) {
			err_set(err, errlen, "unique-id must be 1 to %d letters and digits (RFC 9990 §3)",
			    UNIQUE_ID_MAX);
			goto fail;
		}
		uid = xstrdup(in->unique_id);
	} else
		uid = xasprintf("%016llx", (unsigned long long)fnv1a(14695981039346656037ULL, rid));
	if (in->begin < 0 || in->end < in->begin) {
		err_set(err, errlen, "report period %lld..%lld is not a range", (long long)in->begin,
		    (long long)in->end);
		goto fail;
	}

	/* RFC 9990 §3: filename = receiver "!" policy-domain "!" begin-timestamp
	 *   "!" end-timestamp [ "!" unique-id ] "." extension; "xml.gz" for GZIP */
	buf_printf(filename, "%s!%s!%lld!%lld!%s.xml.gz", org, dom, (long long)in->begin,
	    (long long)in->end, uid);

	free(uid);
	*orgp = org;
	*domp = dom;
	*ridp = rid;
	return 0;
fail:
	free(org);
	free(dom);
	free(rid);
	free(uid);
	return -1;
}

/* deliver_filename - the file name alone, as deliver_build would give it */
int
deliver_filename(const struct deliver_msg *in, struct buf *filename, char *err, size_t errlen)
{
	char *org, *dom, *rid;

	buf_free(filename);
	buf_init(filename, 0);
	if (name_parts(in, filename, &org, &dom, &rid, err, errlen) != 0)
		return -1;
	free(org);
	free(dom);
	free(rid);
	return 0;
}

/* deliver_build - see deliver.h */
int
deliver_build(const struct deliver_msg *in, struct buf *msg, struct buf *filename,
    char *err, size_t errlen)
{
	struct buf gz, text, hv;
	char *org = NULL, *dom = NULL, *rid = NULL, boundary[40];
	uint64_t h;
	size_t i;
	int rc = -1;

	buf_init(&gz, DELIVER_MAX_MESSAGE);
	buf_init(&text, 0);
	buf_init(&hv, 0);
	buf_free(msg);
	buf_init(msg, DELIVER_MAX_MESSAGE);
	buf_free(filename);
	buf_init(filename, 0);

	if (in->from == NULL || !smtp_address_valid(in->from)) {
		err_set(err, errlen, "From address unusable: \"%.80s\"", in->from ? in->from : "");
		goto out;
	}
	if (in->n_to == 0) {
		err_set(err, errlen, "no recipients");
		goto out;
	}
	for (i = 0; i < in->n_to; i++) {
		if (!smtp_address_valid(in->to[i])) {
			err_set(err, errlen, "recipient address unusable: \"%.80s\"",
			    in->to[i] ? in->to[i] : "");
			goto out;
		}
	}
	if (name_parts(in, filename, &org, &dom, &rid, err, errlen) != 0)
		goto out;
	if (in->xml == NULL || in->xml_len == 0) {
		err_set(err, errlen, "no report XML");
		goto out;
	}

	/* RFC 9990 §3: the XML "SHOULD be subjected to GZIP compression" and
	 * then "MUST be present using the media type application/gzip" */
	if (gzip_xml(in->xml, in->xml_len, &gz, err, errlen) != 0)
		goto out;

	/* a boundary made of "=_" cannot occur in base64 (RFC 2045 §6.8) */
	h = fnv1a(fnv1a(14695981039346656037ULL, rid), buf_str(filename));
	snprintf(boundary, sizeof(boundary), "=_dmarc_report_%016llx", (unsigned long long)h);

	/* the human-readable part (RFC 9990 §3: a "MAY") */
	buf_puts(&text, "This is a DMARC aggregate report.\r\n\r\n");
	buf_printf(&text, "Report Domain: %s\r\nSubmitter: %s\r\nReport-ID: <%s>\r\n", dom, org, rid);
	buf_puts(&text, "Period: ");
	fmt_utc(&text, in->begin);
	buf_puts(&text, " to ");
	fmt_utc(&text, in->end);
	buf_puts(&text, "\r\n\r\nThe report is attached as gzip-compressed XML:\r\n");
	buf_printf(&text, "%s\r\n", buf_str(filename));
	if (strstr(buf_str(&text), boundary) != NULL) {
		err_set(err, errlen, "MIME boundary collides with the text part");
		goto out;
	}

	/* header fields (RFC 5322 §3.6) */
	buf_printf(&hv, "%s", in->from);
	put_header(msg, "From", buf_str(&hv));
	buf_reset(&hv);
	for (i = 0; i < in->n_to; i++)
		buf_printf(&hv, "%s%s", i > 0 ? ", " : "", in->to[i]);
	put_header(msg, "To", buf_str(&hv));
	{
		char date[RFC5322_DATE_LEN];

		rfc5322_date(in->date != 0 ? in->date : time(NULL), date, sizeof(date));
		put_header(msg, "Date", date);
	}
	buf_reset(&hv);
	/* RFC 9990 §3 dmarc-subject, folded at its FWS */
	buf_printf(&hv, "Report Domain: %s Submitter: %s Report-ID: <%s>", dom, org, rid);
	put_header(msg, "Subject", buf_str(&hv));
	buf_reset(&hv);
	/* RFC 9990 §3: the sender MAY use the ridtxt in the Message-Id */
	buf_printf(&hv, "<%s%s%s>", rid, strchr(rid, '@') != NULL ? "" : "@", strchr(rid, '@') != NULL ? "" : org);
	put_header(msg, "Message-ID", buf_str(&hv));
	buf_reset(&hv);
	put_header(msg, "MIME-Version", "1.0");
	buf_printf(&hv, "multipart/mixed; boundary=\"%s\"", boundary);
	put_header(msg, "Content-Type", buf_str(&hv));
	buf_reset(&hv);
	put_header(msg, "Auto-Submitted", "auto-generated");	/* RFC 3834 §5 */
	buf_puts(msg, "\r\nThis is a multi-part message in MIME format.\r\n");

	/* part 1: text/plain (RFC 2046 §4.1) */
	buf_printf(msg, "\r\n--%s\r\n", boundary);
	put_header(msg, "Content-Type", "text/plain; charset=us-ascii");
	put_header(msg, "Content-Transfer-Encoding", "7bit");
	buf_puts(msg, "\r\n");
	buf_append(msg, text.data, text.len);

	/* part 2: the report (RFC 6713 application/gzip, RFC 2183 filename) */
	buf_printf(msg, "\r\n--%s\r\n", boundary);
	buf_printf(&hv, "application/gzip; name=\"%s\"", buf_str(filename));
	put_header(msg, "Content-Type", buf_str(&hv));
	buf_reset(&hv);
	put_header(msg, "Content-Transfer-Encoding", "base64");
	buf_printf(&hv, "attachment; filename=\"%s\"", buf_str(filename));
	put_header(msg, "Content-Disposition", buf_str(&hv));
	buf_puts(msg, "\r\n");
	put_base64(msg, (const unsigned char *)gz.data, gz.len);
	buf_printf(msg, "\r\n--%s--\r\n", boundary);
	if (msg->truncated) {
		err_set(err, errlen, "report message over %u bytes", DELIVER_MAX_MESSAGE);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		buf_reset(msg);
		buf_reset(filename);
	}
	free(org);
	free(dom);
	free(rid);
	buf_free(&gz);
	buf_free(&text);
	buf_free(&hv);
	return rc;
}

/* deliver_report - see deliver.h */
int
deliver_report(const struct smtp_config *cfg, const struct deliver_msg *tmpl,
    const struct rua_dest *dests, size_t n, struct deliver_result **results,
    char *err, size_t errlen)
{
	struct deliver_result *r = xcalloc(n > 0 ? n : 1, sizeof(*r));
	struct deliver_msg m = *tmpl;
	struct buf msg = BUF_INIT, name = BUF_INIT;
	struct smtp_result res;
	char **to = xcalloc(n > 0 ? n : 1, sizeof(*to));
	size_t *idx = xcalloc(n > 0 ? n : 1, sizeof(*idx));
	size_t i, nc = 0, k;
	char serr[512];
	int sent = 0;
	bool dropped;

	*results = r;
	for (i = 0; i < n; i++) {
		r[i].address = dests[i].address;
		switch (dests[i].status) {
		case RUA_REFUSED:
			r[i].outcome = DELIVER_REFUSED;
			r[i].detail = dests[i].reason != NULL ? xstrdup(dests[i].reason) : NULL;
			break;
		case RUA_DEFER:
			r[i].outcome = DELIVER_DEFERRED;
			r[i].detail = dests[i].reason != NULL ? xstrdup(dests[i].reason) : NULL;
			break;
		case RUA_ALLOWED:
			r[i].outcome = DELIVER_DEFERRED;	/* until we know better */
			idx[nc++] = i;
			break;
		}
	}
	/* build for everyone allowed; drop those over their limit and rebuild
	 * (the message only shrinks, so the rest still fit) */
	do {
		dropped = false;
		if (nc == 0)
			goto done;
		for (k = 0; k < nc; k++)
			to[k] = dests[idx[k]].address;
		m.to = to;
		m.n_to = nc;
		if (deliver_build(&m, &msg, &name, err, errlen) != 0) {
			for (k = 0; k < nc; k++) {
				r[idx[k]].outcome = DELIVER_FAILED;
				r[idx[k]].detail = xstrdup(err != NULL ? err : "message not built");
			}
			sent = -1;
			goto done;
		}
		for (k = 0; k < nc; ) {
			const struct rua_dest *d = &dests[idx[k]];

			if (!deliver_fits(m.rules, d->size_limit, msg.len)) {
				r[idx[k]].outcome = DELIVER_TOO_BIG;
				r[idx[k]].detail = xasprintf("report message of %zu bytes exceeds the "
				    "limit of %llu bytes (RFC 7489 §6.2)", msg.len, d->size_limit);
				memmove(&idx[k], &idx[k + 1], (nc - k - 1) * sizeof(*idx));
				nc--;
				dropped = true;
			} else
				k++;
		}
	} while (dropped);

	if (smtp_send(cfg, m.from, to, nc, msg.data, msg.len, &res, serr, sizeof(serr)) != 0 &&
	    !res.sent) {
		for (k = 0; k < nc; k++) {
			r[idx[k]].outcome = res.temporary ? DELIVER_DEFERRED : DELIVER_FAILED;
			r[idx[k]].detail = xstrdup(serr);
		}
	} else {
		for (k = 0; k < nc; k++) {
			const struct smtp_rcpt *sr = &res.rcpt[k];

			if (sr->accepted) {
				r[idx[k]].outcome = DELIVER_SENT;
				r[idx[k]].detail = xasprintf("%s as %s", res.reply && res.reply[0] ? res.reply : "accepted",
				    buf_str(&name));
				sent++;
			} else {
				r[idx[k]].outcome = sr->code / 100 == 5 ? DELIVER_FAILED : DELIVER_DEFERRED;
				r[idx[k]].detail = xasprintf("recipient refused: %d %s", sr->code,
				    sr->reply ? sr->reply : "");
			}
		}
	}
	smtp_result_free(&res);
done:
	for (i = 0; i < n && sent >= 0; i++)
		log_info("report %s for %s to %s: %s%s%s", tmpl->report_id ? tmpl->report_id : "?",
		    tmpl->domain ? tmpl->domain : "?", r[i].address ? r[i].address : "?",
		    deliver_outcome_str(r[i].outcome), r[i].detail ? ": " : "",
		    r[i].detail ? r[i].detail : "");
	buf_free(&msg);
	buf_free(&name);
	free(to);
	free(idx);
	return sent;
}

/* deliver_results_free - free the array deliver_report made */
void
deliver_results_free(struct deliver_result *r, size_t n)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++)
		free(r[i].detail);
	free(r);
}
