/*
 * dmarc_record.c - parse one DMARC policy record, and pick the DMARC
 * record out of the TXT strings found at a _dmarc name.
 *
 * Specifications (cited below by section):
 *   RFC 7489 §6.3 (tags), §6.4 (ABNF), §6.6.3 (policy discovery);
 *   RFC 9989 (DMARCbis, obsoletes 7489) §4.7 (tags), §4.8 (ABNF),
 *     §4.10 and §4.10.1 (discovery).  Section numbers and wording are
 *     those of draft-ietf-dmarc-dmarcbis-41, the text the RFC Editor
 *     published as RFC 9989;
 *   RFC 6376 §3.2, the DKIM tag-list syntax both DMARC RFCs adopt;
 *   RFC 3986 §3 for the syntax of a reporting URI;
 *   RFC 5234 §2.3: quoted ABNF strings ("none", "r", "y", ...) are
 *     case-insensitive; only %s"DMARC1" / %x44.4d.41.52.43.31 is not.
 *
 * Decisions where the texts leave room, each with its reason:
 *
 * - Tag NAMES are case-sensitive (RFC 6376 §3.2: "Tags MUST be
 *   interpreted in a case-sensitive manner"), so "P=reject" is an unknown
 *   tag and is ignored, and "V=DMARC1" is not a DMARC record.  RFC 7489's
 *   ABNF writes "p" as a quoted literal, which RFC 5234 would match in any
 *   case; we follow the explicit MUST, which only ever makes us apply
 *   no policy rather than a stronger one.
 * - Tag VALUES that the ABNF gives as quoted keywords are compared
 *   case-insensitively ("p=Reject" is reject); "DMARC1" is case-sensitive
 *   (RFC 7489 §6.3 "MUST match precisely", RFC 9989 §4.8 %s"DMARC1").
 * - The record must begin with "v" *WSP "=" *WSP "DMARC1" followed by
 *   *WSP and ";" or the end (dmarc-version, RFC 7489 §6.4 / RFC 9989 §4.8).
 *   Leading white space, a longer version ("DMARC10") or more text in the
 *   v value ("v=DMARC1 p=reject") make it a record whose v tag does not
 *   identify DMARC1: "the entire record MUST be ignored" (RFC 9989 §4.7),
 *   so it is NOT_DMARC and dmarc_record_select does not count it.
 * - A tag name that occurs twice makes the whole tag-list invalid
 *   (RFC 6376 §3.2), whatever the tag: DMARC_PARSE_INVALID.
 * - Any other syntax error after the v tag (a tag-spec without "=", an
 *   empty tag-spec, a bad value) is discarded in favour of the default
 *   (RFC 7489 §6.4 SHOULD, RFC 9989 §4.8 MUST) and noted in err.
 * - p may appear anywhere after v (RFC 9989 §4.8; RFC 7489 §6.4 wanted it
 *   second, which no deployed parser enforces).
 * - Missing/invalid p, invalid sp, invalid np: see finish_policy().
 * - pct, rf and ri are "historic" in RFC 9989 §9.3 but still parsed by the
 *   RFC 7489 rules, so that the evaluator can decide whether to honour them.
 *
 * The parser refuses records over DMARC_RECORD_MAX bytes and records that
 * contain a NUL (never truncated silently).  Joining the character-strings
 * of one TXT RR (RFC 9989 §4.5) is the DNS layer's job, not ours.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc_record.h"
#include "util.h"

#define DMARC_RECORD_MAX	8192	/* bytes; longer records are refused */
#define NOTES_CAP		1024	/* bytes of notes kept for err */
#define EXCERPT_MAX		48	/* bytes of a bad value quoted in a note */

enum tag_state {
	TAG_ABSENT = 0,
	TAG_VALID,
	TAG_INVALID
};

struct span {
	const char	*p;
	size_t		 n;
};

struct parse_ctx {
	struct dmarc_record rec;	/* built here, handed over on success */
	enum tag_state	 p_state, sp_state, np_state;
	struct span	*seen;		/* tag names met so far (duplicates) */
	size_t		 n_seen;
	struct buf	 notes;		/* what was ignored, for err */
};

/* is_wsp - RFC 5234 WSP */
static inline int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static inline int
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_hex(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/*
 * skip_fws - skip white space from i: WSP, and FWS (a CRLF followed by
 * WSP), which RFC 6376 §3.2 allows around tags.  A bare CR or LF is not
 * white space and stays a syntax error.
 */
static size_t
skip_fws(const char *s, size_t i, size_t end)
{
	for (;;) {
		if (i < end && is_wsp(s[i]))
			i++;
		else if (i + 2 < end && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2]))
			i += 3;
		else
			return i;
	}
}

/* trim_fws_end - the end of [start, end) without trailing WSP/FWS */
static size_t
trim_fws_end(const char *s, size_t start, size_t end)
{
	int wsp = 0;

	while (end > start) {
		if (is_wsp(s[end - 1])) {
			end--;
			wsp = 1;
		} else if (wsp && end - start >= 2 && s[end - 2] == '\r' && s[end - 1] == '\n') {
			end -= 2;
			wsp = 0;
		} else
			break;
	}
	return end;
}

/* span_caseeq - a span equals a lowercase keyword, ASCII case ignored */
static int
span_caseeq(const char *p, size_t n, const char *kw)
{
	return strlen(kw) == n && ascii_strncaseeq(p, kw, n);
}

/*
 * version_end - if s starts with the DMARC version tag, the offset just
 * after it (where ";" or the end must follow); 0 otherwise.
 *
 * RFC 7489 §6.4 / RFC 9989 §4.8:
 *   dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
 *   dmarc-version = "v" equals %s"DMARC1"
 * RFC 9989 §4.7: the v tag "MUST be the first tag in the list"; "if the
 * value is not "DMARC1", then the entire record MUST be ignored".
 */
static size_t
version_end(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len < 8 || s[0] != 'v')	/* RFC 6376 §3.2: tag names are case-sensitive */
		return 0;
	i = skip_fws(s, 1, len);
	if (i >= len || s[i] != '=')
		return 0;
	i = skip_fws(s, i + 1, len);
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return 0;
	i = skip_fws(s, i + 6, len);
	if (i < len && s[i] != ';')
		return 0;	/* "DMARC10", "DMARC1 p=reject": v is not DMARC1 */
	return i;
}

/* put_excerpt - append at most EXCERPT_MAX bytes of p, non-printables escaped */
static void
put_excerpt(struct buf *b, const char *p, size_t n)
{
	size_t i;

	buf_putc(b, '"');
	for (i = 0; i < n && i < EXCERPT_MAX; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	if (n > EXCERPT_MAX)
		buf_puts(b, "...");
	buf_putc(b, '"');
}

/* note_start - separate a new note from the previous ones */
static void
note_start(struct parse_ctx *pc)
{
	if (pc->notes.len > 0)
		buf_puts(&pc->notes, "; ");
}

/* note_val - note "<what> <quoted value> ignored" */
static void
note_val(struct parse_ctx *pc, const char *what, const char *p, size_t n, const char *outcome)
{
	note_start(pc);
	buf_puts(&pc->notes, what);
	buf_putc(&pc->notes, ' ');
	put_excerpt(&pc->notes, p, n);
	buf_putc(&pc->notes, ' ');
	buf_puts(&pc->notes, outcome);
}

/* parse_policy - dmarc-request: "none" / "quarantine" / "reject", nothing else */
static int
parse_policy(const char *v, size_t n, enum dmarc_policy *out)
{
	if (span_caseeq(v, n, "none"))
		*out = DMARC_POLICY_NONE;
	else if (span_caseeq(v, n, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (span_caseeq(v, n, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return -1;	/* no abbreviations ("rej"), unlike OpenDMARC */
	return 0;
}

/* parse_uint - 1*DIGIT up to max_digits digits, value <= max */
static int
parse_uint(const char *v, size_t n, size_t max_digits, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long x = 0;
	size_t i;

	if (n == 0 || n > max_digits)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit(v[i]))
			return -1;
		d = (unsigned)(v[i] - '0');
		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/*
 * uri_valid - RFC 3986 §3 URI syntax, checked by character classes:
 *   URI    = scheme ":" hier-part [ "?" query ] [ "#" fragment ]
 *   scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
 * the rest made of unreserved, pct-encoded, sub-delims, ":" "@" "/" "?",
 * one "#", and "[" "]" only inside an authority.  RFC 7489 §6.4 and
 * RFC 9989 §4.8: commas and "!" MUST be %-encoded in a dmarc-uri, so a raw
 * one is never part of it.  We also want something after the colon: an
 * empty "mailto:" is no reporting address.
 */
static int
uri_valid(const char *u, size_t n)
{
	size_t i = 0, auth_end = 0;
	int frag = 0;

	if (n == 0 || !is_alpha(u[0]))
		return 0;
	for (i = 1; i < n && u[i] != ':'; i++)
		if (!is_alpha(u[i]) && !is_digit(u[i]) && u[i] != '+' && u[i] != '-' && u[i] != '.')
			return 0;
	if (i >= n)
		return 0;
	i++;			/* the colon */
	if (i >= n)
		return 0;
	if (n - i >= 2 && u[i] == '/' && u[i + 1] == '/') {
		/* authority: up to the next "/", "?" or "#" */
		for (auth_end = i + 2; auth_end < n; auth_end++)
			if (u[auth_end] == '/' || u[auth_end] == '?' || u[auth_end] == '#')
				break;
	}
	for (; i < n; i++) {
		char c = u[i];

		if (is_alpha(c) || is_digit(c))
			continue;
		switch (c) {
		case '-': case '.': case '_': case '~':			/* unreserved */
		case '$': case '&': case '\'': case '(': case ')':	/* sub-delims but , ! */
		case '*': case '+': case ';': case '=':
		case ':': case '@': case '/': case '?':
			continue;
		case '%':
			if (i + 2 >= n || !is_hex(u[i + 1]) || !is_hex(u[i + 2]))
				return 0;
			i += 2;
			continue;
		case '#':
			if (frag)
				return 0;
			frag = 1;
			continue;
		case '[': case ']':
			if (i < auth_end)
				continue;
			return 0;
		default:
			return 0;
		}
	}
	return 1;
}

/*
 * parse_dmarc_uri - one element of a dmarc-urilist, with the optional size
 * limit of RFC 7489 §6.2 / §6.4:
 *   dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]
 *   ; the numeric portion MUST fit within an unsigned 64-bit integer
 * k/m/g/t are powers of two (2^10 ... 2^40, RFC 7489 §6.2).  A limit whose
 * byte count overflows 64 bits is treated as invalid, like the number.
 * RFC 9989 §4.8 keeps the suffix as obs-dmarc-report-size, still valid.
 */
static int
parse_dmarc_uri(const char *e, size_t n, struct dmarc_uri *out)
{
	const char *bang = memchr(e, '!', n);
	size_t ulen = bang != NULL ? (size_t)(bang - e) : n;
	unsigned long long num = 0, mult = 1;

	if (!uri_valid(e, ulen))
		return -1;
	if (bang != NULL) {
		const char *d = bang + 1;
		size_t dn = n - ulen - 1;

		if (dn > 0) {
			switch (ascii_tolower(d[dn - 1])) {
			case 'k': mult = 1ULL << 10; dn--; break;
			case 'm': mult = 1ULL << 20; dn--; break;
			case 'g': mult = 1ULL << 30; dn--; break;
			case 't': mult = 1ULL << 40; dn--; break;
			default: break;
			}
		}
		if (parse_uint(d, dn, 20, UINT64_MAX, &num) != 0)
			return -1;
		if (num > UINT64_MAX / mult)
			return -1;
		num *= mult;
	}
	out->uri = xstrndup(e, ulen);
	out->size_limit = num;
	return 0;
}

/*
 * parse_urilist - rua/ruf (RFC 7489 §6.4, RFC 9989 §4.8):
 *   dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri)
 * An element that is not a valid URI is dropped and noted; the valid ones
 * are kept (RFC 9989 §4.7: "URIs involving schemes not supported by Mail
 * Receivers MUST be ignored", so one bad URI must not cost the others).
 */
static void
parse_urilist(struct parse_ctx *pc, const char *tag, const char *v, size_t n,
    struct dmarc_uri **list, size_t *count)
{
	size_t i = 0;

	for (;;) {
		const char *comma = memchr(v + i, ',', n - i);
		size_t end = comma != NULL ? (size_t)(comma - v) : n;
		size_t s = skip_fws(v, i, end), e = trim_fws_end(v, s, end);
		struct dmarc_uri u;

		if (parse_dmarc_uri(v + s, e - s, &u) == 0) {
			*list = xrealloc(*list, (*count + 1) * sizeof(**list));
			(*list)[(*count)++] = u;
		} else {
			note_start(pc);
			buf_printf(&pc->notes, "%s URI ", tag);
			put_excerpt(&pc->notes, v + s, e - s);
			buf_puts(&pc->notes, " dropped");
		}
		if (comma == NULL)
			break;
		i = end + 1;
	}
}

/*
 * parse_fo - failure-reporting options.  RFC 7489 §6.4:
 *   dmarc-fo = "fo" *WSP "=" *WSP ( "0" / "1" / "d" / "s" )
 *              *(*WSP ":" *WSP ( "0" / "1" / "d" / "s" ))
 * RFC 9989 §4.8 narrows it: "0" and "1" are mutually exclusive and "d",
 * "s" may each appear once.  We accept the intersection (RFC 7489's white
 * space around ":", RFC 9989's uniqueness); an invalid fo is ignored, so
 * the default "0" applies.
 */
static int
parse_fo(const char *v, size_t n)
{
	int have01 = 0, have_d = 0, have_s = 0;
	size_t i = 0;

	for (;;) {
		char c;

		if (i >= n)
			return -1;
		c = ascii_tolower(v[i++]);
		if (c == '0' || c == '1') {
			if (have01++)
				return -1;
		} else if (c == 'd') {
			if (have_d++)
				return -1;
		} else if (c == 's') {
			if (have_s++)
				return -1;
		} else
			return -1;
		i = skip_fws(v, i, n);
		if (i == n)
			return 0;
		if (v[i] != ':')
			return -1;
		i = skip_fws(v, i + 1, n);
	}
}

/*
 * parse_rf - RFC 7489 §6.4: dmarc-rfmt = "rf" *WSP "=" *WSP Keyword
 * *(*WSP ":" Keyword), Keyword from RFC 5321 (Ldh-str).  §6.3: the values
 * "MUST be present in the registry"; "a Mail Receiver observing a different
 * value SHOULD ignore it".  The only registered format is "afrf", so rf is
 * "afrf" when listed and ignored otherwise.  It never touches any other
 * field (OpenDMARC's rf=iodef changed aspf: bug D8).
 */
static int
parse_rf(struct parse_ctx *pc, const char *v, size_t n)
{
	int afrf = 0;
	size_t i = 0;

	for (;;) {
		size_t s = i;

		while (i < n && (is_alpha(v[i]) || is_digit(v[i]) || v[i] == '-'))
			i++;
		if (i == s || v[i - 1] == '-')
			return -1;
		if (span_caseeq(v + s, i - s, "afrf"))
			afrf = 1;
		else
			note_val(pc, "unregistered rf format", v + s, i - s, "ignored");
		i = skip_fws(v, i, n);
		if (i == n)
			break;
		if (v[i] != ':')
			return -1;
		i = skip_fws(v, i + 1, n);
	}
	if (!afrf)
		return -1;
	pc->rec.rf = xstrdup("afrf");
	return 0;
}

/* handle_tag - apply one known tag; returns 0 if name is unknown */
static int
handle_tag(struct parse_ctx *pc, const char *name, size_t nn, const char *v, size_t n)
{
	struct dmarc_record *r = &pc->rec;
	unsigned long long x;
	enum dmarc_policy pol;
	int bad = 0;

	/* RFC 6376 §3.2: tag names compared case-sensitively */
#define TAG(s)	(nn == sizeof(s) - 1 && memcmp(name, s, nn) == 0)
	if (TAG("p")) {
		/* RFC 7489 §6.3, RFC 9989 §4.7; an invalid p is resolved in finish_policy */
		if (parse_policy(v, n, &pol) == 0) {
			r->p = pol;
			pc->p_state = TAG_VALID;
		} else
			pc->p_state = TAG_INVALID, bad = 1;
	} else if (TAG("sp")) {
		if (parse_policy(v, n, &pol) == 0) {
			r->sp = pol;
			pc->sp_state = TAG_VALID;
		} else
			pc->sp_state = TAG_INVALID, bad = 1;
	} else if (TAG("np")) {
		/* RFC 9989 §4.7 (from RFC 9091); RFC 7489 would ignore it as unknown */
		if (parse_policy(v, n, &pol) == 0) {
			r->np = pol;
			pc->np_state = TAG_VALID;
		} else
			pc->np_state = TAG_INVALID, bad = 1;
	} else if (TAG("adkim") || TAG("aspf")) {
		enum dmarc_align *a = name[1] == 'd' ? &r->adkim : &r->aspf;

		if (span_caseeq(v, n, "r"))
			*a = DMARC_ALIGN_RELAXED;
		else if (span_caseeq(v, n, "s"))
			*a = DMARC_ALIGN_STRICT;
		else
			bad = 1;
	} else if (TAG("pct")) {
		/* RFC 7489 §6.4: 1*3DIGIT; §6.3: 0 to 100 inclusive */
		if (parse_uint(v, n, 3, 100, &x) == 0) {
			r->pct = (unsigned)x;
			r->pct_set = true;
		} else
			bad = 1;
	} else if (TAG("psd")) {
		/* RFC 9989 §4.7: y / n / u, default u */
		if (span_caseeq(v, n, "y"))
			r->psd = DMARC_PSD_YES;
		else if (span_caseeq(v, n, "n"))
			r->psd = DMARC_PSD_NO;
		else if (span_caseeq(v, n, "u"))
			r->psd = DMARC_PSD_UNSET;
		else
			bad = 1;
	} else if (TAG("t")) {
		/* RFC 9989 §4.7: y / n, default n */
		if (span_caseeq(v, n, "y"))
			r->testing = true;
		else if (span_caseeq(v, n, "n"))
			r->testing = false;
		else
			bad = 1;
	} else if (TAG("fo")) {
		if (parse_fo(v, n) == 0)
			r->fo = xstrndup(v, n);
		else
			bad = 1;
	} else if (TAG("rf")) {
		if (parse_rf(pc, v, n) != 0)
			bad = 1;
	} else if (TAG("ri")) {
		/* RFC 7489 §6.3: 32-bit unsigned integer */
		if (parse_uint(v, n, 10, UINT32_MAX, &x) == 0)
			r->ri = (unsigned)x;
		else
			bad = 1;
	} else if (TAG("rua")) {
		parse_urilist(pc, "rua", v, n, &r->rua, &r->n_rua);
	} else if (TAG("ruf")) {
		parse_urilist(pc, "ruf", v, n, &r->ruf, &r->n_ruf);
	} else
		return 0;
#undef TAG
	if (bad) {
		note_start(pc);
		buf_printf(&pc->notes, "invalid %.*s value ", (int)nn, name);
		put_excerpt(&pc->notes, v, n);
		buf_puts(&pc->notes, " ignored");
	}
	return 1;
}

/*
 * seen_before - remember a tag name; true if it was there already.
 * RFC 6376 §3.2: "if a tag name does occur more than once, the entire
 * tag-list is invalid."
 */
static int
seen_before(struct parse_ctx *pc, const char *name, size_t nn)
{
	size_t i;

	for (i = 0; i < pc->n_seen; i++)
		if (pc->seen[i].n == nn && memcmp(pc->seen[i].p, name, nn) == 0)
			return 1;
	pc->seen = xrealloc(pc->seen, (pc->n_seen + 1) * sizeof(*pc->seen));
	pc->seen[pc->n_seen].p = name;
	pc->seen[pc->n_seen].n = nn;
	pc->n_seen++;
	return 0;
}

/*
 * parse_tag_spec - one tag-spec in s[start, end) (between separators).
 * RFC 6376 §3.2: tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS],
 * tag-name = ALPHA *ALNUMPUNC.  Returns -1 on a duplicate tag, else 0.
 */
static int
parse_tag_spec(struct parse_ctx *pc, const char *s, size_t start, size_t end, char *why, size_t whylen)
{
	size_t i = skip_fws(s, start, end), e = trim_fws_end(s, i, end);
	size_t nstart = i, nn, vs;

	if (i == e)
		return 0;	/* the trailing [dmarc-sep] */
	if (!is_alpha(s[i])) {
		note_val(pc, "malformed tag-spec", s + i, e - i, "ignored");
		return 0;
	}
	while (i < e && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_'))
		i++;
	nn = i - nstart;
	i = skip_fws(s, i, e);
	if (i >= e || s[i] != '=') {
		note_val(pc, "malformed tag-spec", s + nstart, e - nstart, "ignored");
		return 0;
	}
	vs = skip_fws(s, i + 1, e);
	if (seen_before(pc, s + nstart, nn)) {
		snprintf(why, whylen, "duplicate tag \"%.*s\" (RFC 6376 §3.2: the tag-list is invalid)",
		    (int)(nn > EXCERPT_MAX ? EXCERPT_MAX : nn), s + nstart);
		return -1;
	}
	if (!handle_tag(pc, s + nstart, nn, s + vs, e - vs)) {
		/* RFC 7489 §6.3, RFC 9989 §4.7: unknown tags MUST be ignored */
		note_val(pc, "unknown tag", s + nstart, nn, "ignored");
	}
	return 0;
}

/*
 * finish_policy - what a missing or invalid p, sp or np means.
 *
 * RFC 7489 §6.6.3 step 6: if the record "does not contain a valid "p" tag,
 * or contains an "sp" tag that is not valid", then if "rua" has at least
 * one syntactically valid reporting URI, the receiver SHOULD act as if a
 * record with "p=none" was retrieved; otherwise no DMARC processing.
 * RFC 9989 §4.10.1 says the same as a MUST and adds an invalid "np".
 * (RFC 7489 knows no np and would ignore it: we follow RFC 9989.)
 * RFC 9989 §4.7 also says a record without p "is treated as if it
 * included p=none"; that contradicts §4.10.1 for a record without rua, and
 * we take §4.10.1, which both RFCs share: no p and no rua is INVALID.
 * "As if a record containing p=none" means sp and np go too (UNSET, so
 * they fall back to p); p_invalid says this happened.
 */
static int
finish_policy(struct parse_ctx *pc, char *why, size_t whylen)
{
	struct dmarc_record *r = &pc->rec;
	const char *what;

	if (pc->p_state == TAG_VALID && pc->sp_state != TAG_INVALID && pc->np_state != TAG_INVALID)
		return 0;
	if (pc->p_state == TAG_ABSENT)
		what = "no p tag";
	else if (pc->p_state == TAG_INVALID)
		what = "invalid p tag";
	else if (pc->sp_state == TAG_INVALID)
		what = "invalid sp tag";
	else
		what = "invalid np tag";
	if (r->n_rua == 0) {
		snprintf(why, whylen, "%s and no valid rua URI (RFC 7489 §6.6.3, RFC 9989 §4.10.1)", what);
		return -1;
	}
	r->p = DMARC_POLICY_NONE;
	r->sp = DMARC_POLICY_UNSET;
	r->np = DMARC_POLICY_UNSET;
	r->p_invalid = true;
	note_start(pc);
	buf_printf(&pc->notes, "%s: treated as p=none because rua is valid", what);
	return 0;
}

/* dmarc_record_parse - parse one DMARC record of len bytes */
enum dmarc_parse
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *out,
    char *err, size_t errlen)
{
	struct parse_ctx pc;
	char why[160];
	const char *nul;
	size_t i;
	int failed = 0;

	memset(out, 0, sizeof(*out));
	err_set(err, errlen, "%s", "");
	if ((i = version_end(txt, len)) == 0) {
		err_set(err, errlen, "not a DMARC record (does not start with v=DMARC1)");
		return DMARC_PARSE_NOT_DMARC;
	}
	if (len > DMARC_RECORD_MAX) {
		err_set(err, errlen, "DMARC record too long (%zu bytes, limit %d)", len, DMARC_RECORD_MAX);
		return DMARC_PARSE_INVALID;
	}
	if ((nul = memchr(txt, '\0', len)) != NULL) {
		err_set(err, errlen, "DMARC record contains a NUL byte at offset %zu", (size_t)(nul - txt));
		return DMARC_PARSE_INVALID;
	}

	memset(&pc, 0, sizeof(pc));
	buf_init(&pc.notes, NOTES_CAP);
	pc.rec.pct = 100;	/* RFC 7489 §6.3 defaults */
	pc.rec.ri = 86400;
	seen_before(&pc, "v", 1);
	why[0] = '\0';

	/* i is at ";" or the end; each ";" starts the next tag-spec */
	while (i < len && !failed) {
		const char *semi = memchr(txt + i + 1, ';', len - i - 1);
		size_t end = semi != NULL ? (size_t)(semi - txt) : len;
		size_t s = skip_fws(txt, i + 1, end);

		if (s == end && semi != NULL) {
			/* ";;": not in either grammar; RFC 9989 §4.8 discards it */
			note_start(&pc);
			buf_puts(&pc.notes, "empty tag-spec ignored");
		} else if (parse_tag_spec(&pc, txt, i + 1, end, why, sizeof(why)) != 0)
			failed = 1;
		i = end;
	}
	if (!failed && finish_policy(&pc, why, sizeof(why)) != 0)
		failed = 1;

	free(pc.seen);
	if (failed) {
		if (pc.notes.len > 0)
			err_set(err, errlen, "invalid DMARC record: %s (also: %s)", why, buf_str(&pc.notes));
		else
			err_set(err, errlen, "invalid DMARC record: %s", why);
		buf_free(&pc.notes);
		dmarc_record_free(&pc.rec);
		return DMARC_PARSE_INVALID;
	}
	err_set(err, errlen, "%s", buf_str(&pc.notes));
	buf_free(&pc.notes);
	pc.rec.raw = xstrndup(txt, len);
	*out = pc.rec;
	return DMARC_PARSE_OK;
}

/* free_uris - free a URI array */
static void
free_uris(struct dmarc_uri *u, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(u[i].uri);
	free(u);
}

/* dmarc_record_free - release everything and leave the struct zeroed */
void
dmarc_record_free(struct dmarc_record *r)
{
	if (r == NULL)
		return;
	free(r->fo);
	free(r->rf);
	free(r->raw);
	free_uris(r->rua, r->n_rua);
	free_uris(r->ruf, r->n_ruf);
	memset(r, 0, sizeof(*r));
}

/*
 * dmarc_record_select - the one DMARC record among the TXT strings at a
 * _dmarc name.  RFC 7489 §6.6.3 steps 3 and 5, RFC 9989 §4.10 step 2:
 * records that do not start with a v tag identifying DMARC1 are discarded
 * (a TXT that merely contains "v=DMARC1" further on is not one: OpenDMARC
 * bug D6); if several remain, they are all discarded.  A record that starts
 * right but is otherwise broken still counts: which one is "right" is
 * exactly what the sender left undecided.  len may be NULL for C strings.
 */
int
dmarc_record_select(char *const *txt, const size_t *len, size_t n, size_t *which)
{
	size_t i, found = 0, idx = 0;

	if (txt == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		size_t l;

		if (txt[i] == NULL)
			continue;
		l = len != NULL ? len[i] : strlen(txt[i]);
		if (version_end(txt[i], l) > 0) {
			found++;
			idx = i;
		}
	}
	if (found == 0)
		return 0;
	if (found > 1)
		return -1;
	if (which != NULL)
		*which = idx;
	return 1;
}

/* dmarc_policy_str - the policy as it is written in a record; "" for UNSET */
const char *
dmarc_policy_str(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_UNSET:
	default:
		return "";
	}
}
