/*
 * hdr.c - header field utilities.
 *
 * 1. hdr_from_domains(): the author domains of a From field.  DMARC's
 *    Author Domain is the domain of the RFC5322.From address (RFC 7489
 *    §3.1, §6.6.1; RFC 9989 keeps this definition).  The parser follows
 *    RFC 5322 §3.2-§3.4 and the obsolete syntax of §4.4 so that what we
 *    evaluate is the address a mail reader would show, never a string that
 *    merely looks like an address inside a display name or a comment.
 * 2. hdr_ar_parse(): RFC 8601 §2.2 Authentication-Results, strict on the
 *    authserv-id and lenient on the result details so that real headers
 *    from Gmail, Microsoft and OpenDKIM/OpenDMARC parse.
 * 3. hdr_dkim_field(): header bytes for libopendkim's dkim_header().
 *
 * Both parsers are single-pass, iterative (comments nest, but only a
 * counter tracks the depth) and linear in the input; values longer than
 * HDR_MAX_VALUE are refused up front.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hdr.h"
#include "util.h"

/*
 * Shared cursor: the value, the current position and the caller's error
 * buffer.  Only the first error is kept.
 */
struct cur {
	const char	*base;
	const char	*p;
	char		*err;
	size_t		 errlen;
	bool		 failed;
};

/* cur_init - start at the beginning of value */
static void
cur_init(struct cur *c, const char *value, char *err, size_t errlen)
{
	c->base = c->p = value;
	c->err = err;
	c->errlen = errlen;
	c->failed = false;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

/* cur_fail_at - record the first error, with its byte offset; returns false */
static bool __attribute__((format(printf, 3, 4)))
cur_fail_at(struct cur *c, const char *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return false;
	c->failed = true;
	if (c->err == NULL || c->errlen == 0)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < c->errlen)
		snprintf(c->err + n, c->errlen - (size_t)n, " at offset %zu",
		    (size_t)(pos - c->base));
	return false;
}

/* value_too_long - refuse values over HDR_MAX_VALUE without reading further */
static bool
value_too_long(const char *value)
{
	return strnlen(value, HDR_MAX_VALUE + 1) > HDR_MAX_VALUE;
}

/*
 * fold_len - length of a line break at p that is part of a fold.
 *
 * RFC 5322 §2.2.3/§3.2.2: a line break inside a field is only legal when
 * followed by WSP.  Milters see "\r\n" or, from Postfix, a bare "\n".  A
 * break at the very end of the value is tolerated as trailing white space.
 * Returns 0 when p is not a legal fold (the caller reports the error).
 */
static size_t
fold_len(const char *p)
{
	size_t n;

	if (p[0] == '\r' && p[1] == '\n')
		n = 2;
	else if (p[0] == '\n')
		n = 1;
	else
		return 0;
	if (p[n] == ' ' || p[n] == '\t' || p[n] == '\0')
		return n;
	return 0;
}

/*
 * skip_comment - skip one comment starting at '(' (RFC 5322 §3.2.2).
 *
 * Comments nest and may contain quoted-pairs; '@', '<' or '"' inside a
 * comment mean nothing.  The nesting depth is a counter capped at
 * HDR_MAX_COMMENT_DEPTH, so there is no recursion.
 */
static bool
skip_comment(struct cur *c)
{
	const char *start = c->p;
	unsigned depth = 0;
	size_t n;

	for (;;) {
		switch (*c->p) {
		case '\0':
			return cur_fail_at(c, start, "unterminated comment");
		case '(':
			if (++depth > HDR_MAX_COMMENT_DEPTH)
				return cur_fail_at(c, c->p,
				    "comments nested deeper than %d",
				    HDR_MAX_COMMENT_DEPTH);
			c->p++;
			break;
		case ')':
			c->p++;
			if (--depth == 0)
				return true;
			break;
		case '\\':	/* quoted-pair, §3.2.1 */
			if (c->p[1] == '\0')
				return cur_fail_at(c, start, "unterminated comment");
			c->p += 2;
			break;
		case '\r':
		case '\n':
			if ((n = fold_len(c->p)) == 0)
				return cur_fail_at(c, c->p,
				    "line break not followed by white space");
			c->p += n;
			break;
		default:
			c->p++;
			break;
		}
	}
}

/* skip_cfws - skip white space, folds and comments (RFC 5322 §3.2.2 CFWS) */
static bool
skip_cfws(struct cur *c)
{
	size_t n;

	for (;;) {
		if (*c->p == ' ' || *c->p == '\t')
			c->p++;
		else if (*c->p == '\r' || *c->p == '\n') {
			if ((n = fold_len(c->p)) == 0)
				return cur_fail_at(c, c->p,
				    "line break not followed by white space");
			c->p += n;
		} else if (*c->p == '(') {
			if (!skip_comment(c))
				return false;
		} else
			return true;
	}
}

/*
 * scan_qstring - move past a quoted-string starting at '"' (RFC 5322
 * §3.2.4, quoted-pairs and folds allowed).  When out is not NULL the
 * semantic content is appended: quoted-pairs unescaped, folds unfolded
 * (§3.2.2: the line break is removed, the WSP kept).
 */
static bool
scan_qstring(struct cur *c, struct buf *out)
{
	const char *start = c->p;
	size_t n;

	c->p++;
	for (;;) {
		switch (*c->p) {
		case '\0':
			return cur_fail_at(c, start, "unterminated quoted-string");
		case '"':
			c->p++;
			return true;
		case '\\':
			if (c->p[1] == '\0')
				return cur_fail_at(c, start,
				    "unterminated quoted-string");
			if (out != NULL)
				buf_putc(out, c->p[1]);
			c->p += 2;
			break;
		case '\r':
		case '\n':
			if ((n = fold_len(c->p)) == 0)
				return cur_fail_at(c, c->p,
				    "line break not followed by white space");
			c->p += n;
			break;
		default:
			if (out != NULL)
				buf_putc(out, *c->p);
			c->p++;
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * RFC 5322 From
 * ------------------------------------------------------------------- */

enum ftok {
	FT_END, FT_ERR,
	FT_ATOM,	/* 1*atext, UTF-8 allowed (RFC 6532 §3.2) */
	FT_QSTR,	/* quoted-string */
	FT_ENCWORD,	/* RFC 2047 encoded-word holding non-atext */
	FT_DLIT,	/* domain-literal "[...]" */
	FT_DOT, FT_AT, FT_LT, FT_GT, FT_COMMA, FT_COLON, FT_SEMI
};

struct fparse {
	struct cur	 c;
	enum ftok	 t;	/* current token */
	const char	*ts;	/* its start */
	size_t		 tl;	/* its length */
	char		**doms;
	size_t		 n, alloc;
	size_t		 naddr;
};

/* is_atext - RFC 5322 §3.2.3 atext, plus UTF8-non-ascii (RFC 6532 §3.2) */
static bool
is_atext(unsigned char ch)
{
	if (ch >= 0x80)
		return true;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* is_2047_token - RFC 2047 §2 token character (charset, encoding) */
static bool
is_2047_token(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f &&
	    strchr("()<>@,;:\"/[]?.=", ch) == NULL;
}

/*
 * encword_len - length of an RFC 2047 §2 encoded-word at p, or 0.
 *
 * encoded-word = "=?" charset "?" encoding "?" encoded-text "?="; the
 * encoded-text is any printable ASCII but '?' and SPACE.  *special is set
 * when the encoded-text holds characters that are not atext, e.g.
 * "=?utf-8?q?<evil@evil.example>?=": RFC 2047 §5(3) forbids those in a
 * phrase, but senders use them and mail readers decode them as part of
 * the display name, so the whole encoded-word must stay one word.
 */
static size_t
encword_len(const char *p, bool *special)
{
	const unsigned char *q = (const unsigned char *)p + 2, *s;
	int part;

	*special = false;
	if (p[0] != '=' || p[1] != '?')
		return 0;
	for (part = 0; part < 2; part++) {	/* charset, encoding */
		for (s = q; is_2047_token(*q); q++)
			;
		if (q == s || *q != '?')
			return 0;
		q++;
	}
	for (; *q > 0x20 && *q < 0x7f && *q != '?'; q++)
		if (!is_atext(*q))
			*special = true;
	if (q[0] != '?' || q[1] != '=')
		return 0;
	return (size_t)((const char *)q + 2 - p);
}

/* scan_dliteral - move past a domain-literal "[...]" (RFC 5322 §3.4.1, §4.4) */
static bool
scan_dliteral(struct cur *c)
{
	const char *start = c->p;
	size_t n;

	c->p++;
	for (;;) {
		switch (*c->p) {
		case '\0':
			return cur_fail_at(c, start, "unterminated domain literal");
		case ']':
			c->p++;
			return true;
		case '[':
			return cur_fail_at(c, c->p, "'[' inside a domain literal");
		case '\\':	/* obs-dtext quoted-pair */
			if (c->p[1] == '\0')
				return cur_fail_at(c, start,
				    "unterminated domain literal");
			c->p += 2;
			break;
		case '\r':
		case '\n':
			if ((n = fold_len(c->p)) == 0)
				return cur_fail_at(c, c->p,
				    "line break not followed by white space");
			c->p += n;
			break;
		default:
			c->p++;
			break;
		}
	}
}

/* fnext - read the next From token, skipping CFWS */
static enum ftok
fnext(struct fparse *fp)
{
	struct cur *c = &fp->c;
	unsigned char ch;
	size_t n;
	bool special;

	if (fp->t == FT_ERR || !skip_cfws(c))
		return fp->t = FT_ERR;
	fp->ts = c->p;
	ch = (unsigned char)*c->p;
	switch (ch) {
	case '\0': fp->t = FT_END; break;
	case '.': fp->t = FT_DOT; c->p++; break;
	case '@': fp->t = FT_AT; c->p++; break;
	case '<': fp->t = FT_LT; c->p++; break;
	case '>': fp->t = FT_GT; c->p++; break;
	case ',': fp->t = FT_COMMA; c->p++; break;
	case ':': fp->t = FT_COLON; c->p++; break;
	case ';': fp->t = FT_SEMI; c->p++; break;
	case '"':
		fp->t = scan_qstring(c, NULL) ? FT_QSTR : FT_ERR;
		break;
	case '[':
		fp->t = scan_dliteral(c) ? FT_DLIT : FT_ERR;
		break;
	case ')':
		cur_fail_at(c, c->p, "unbalanced ')'");
		fp->t = FT_ERR;
		break;
	case ']':
		cur_fail_at(c, c->p, "unbalanced ']'");
		fp->t = FT_ERR;
		break;
	default:
		if (!is_atext(ch)) {
			cur_fail_at(c, c->p, "invalid character 0x%02x", ch);
			fp->t = FT_ERR;
			break;
		}
		/*
		 * An encoded-word counts as one word only when it ends
		 * where an atom would end; "=?a?q?b?=c" is a plain atom.
		 */
		n = encword_len(c->p, &special);
		if (n > 0 && !is_atext((unsigned char)c->p[n])) {
			fp->t = special ? FT_ENCWORD : FT_ATOM;
			c->p += n;
			break;
		}
		while (is_atext((unsigned char)*c->p))
			c->p++;
		fp->t = FT_ATOM;
		break;
	}
	fp->tl = (size_t)(c->p - fp->ts);
	return fp->t;
}

/* ftok_name - a token for error messages (never echoes input) */
static const char *
ftok_name(enum ftok t)
{
	switch (t) {
	case FT_END: return "end of field";
	case FT_ATOM: return "word";
	case FT_QSTR: return "quoted-string";
	case FT_ENCWORD: return "encoded-word";
	case FT_DLIT: return "domain literal";
	case FT_DOT: return "'.'";
	case FT_AT: return "'@'";
	case FT_LT: return "'<'";
	case FT_GT: return "'>'";
	case FT_COMMA: return "','";
	case FT_COLON: return "':'";
	case FT_SEMI: return "';'";
	default: return "error";
	}
}

/* ffail - error at the current token; returns false */
static bool
ffail(struct fparse *fp, const char *what)
{
	return cur_fail_at(&fp->c, fp->ts, "%s", what);
}

/* funexpected - "unexpected X" at the current token; returns false */
static bool
funexpected(struct fparse *fp, const char *where)
{
	if (fp->t == FT_ERR)
		return false;
	return cur_fail_at(&fp->c, fp->ts, "unexpected %s%s", ftok_name(fp->t),
	    where);
}

/*
 * utf8_valid - well-formed UTF-8 (RFC 3629 §4): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  RFC 6532 §3.1 requires UTF-8.
 */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, k, need;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			need = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			need = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			need = 3;
			cp = s[i] & 0x07;
		} else
			return false;
		if (len - i - 1 < need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += need + 1;
	}
	return true;
}

/* from_add - record one address's domain, collapsing duplicates */
static bool
from_add(struct fparse *fp, char *dom, const char *pos)
{
	size_t i;

	if (++fp->naddr > HDR_FROM_MAX_ADDRS) {
		free(dom);
		return cur_fail_at(&fp->c, pos, "more than %d addresses",
		    HDR_FROM_MAX_ADDRS);
	}
	for (i = 0; i < fp->n; i++) {
		if (ascii_strcaseeq(fp->doms[i], dom)) {
			free(dom);
			return true;
		}
	}
	if (fp->n == fp->alloc) {
		fp->alloc = fp->alloc ? fp->alloc * 2 : 4;
		fp->doms = xrealloc(fp->doms, fp->alloc * sizeof(*fp->doms));
	}
	fp->doms[fp->n++] = dom;
	return true;
}

/*
 * from_domain - parse the domain after '@' (RFC 5322 §3.4.1 domain,
 * §4.4 obs-domain: atoms separated by '.', CFWS allowed around each).
 * With keep, the domain is an author domain: a domain-literal is refused
 * because it names no DNS domain to look a DMARC record up for, and the
 * domain is recorded.  Without keep (obs-route) it is only skipped.
 */
static bool
from_domain(struct fparse *fp, bool keep)
{
	const char *start = fp->ts;
	struct buf b;

	if (fp->t == FT_DLIT) {
		if (keep)
			return ffail(fp, "domain literal in author address "
			    "has no DMARC domain");
		fnext(fp);
		return fp->t != FT_ERR;
	}
	if (fp->t != FT_ATOM)
		return fp->t == FT_END ? ffail(fp, "missing domain after '@'") :
		    funexpected(fp, " where a domain was expected");
	buf_init(&b, HDR_MAX_VALUE);
	buf_append(&b, fp->ts, fp->tl);
	while (fnext(fp) == FT_DOT) {
		if (fnext(fp) != FT_ATOM) {
			buf_free(&b);
			return fp->t == FT_ERR ? false :
			    ffail(fp, "empty label in domain");
		}
		buf_putc(&b, '.');
		buf_append(&b, fp->ts, fp->tl);
	}
	if (fp->t == FT_ERR) {
		buf_free(&b);
		return false;
	}
	if (!keep) {
		buf_free(&b);
		return true;
	}
	if (!utf8_valid((const unsigned char *)b.data, b.len)) {
		buf_free(&b);
		return cur_fail_at(&fp->c, start,
		    "domain is not valid UTF-8 (RFC 6532 §3.1)");
	}
	return from_add(fp, buf_detach(&b), start);
}

/* A run of words and dots before '<', '@' or ':' and what it contained. */
struct words {
	size_t		 n;		/* words and dots */
	bool		 first_dot;	/* starts with '.' */
	bool		 encword;	/* holds an FT_ENCWORD */
	bool		 adjacent;	/* two words without '.' between */
	const char	*start;
};

/* from_words - collect words; the caller decides what they were */
static bool
from_words(struct fparse *fp, struct words *w)
{
	bool prev_word = false;

	memset(w, 0, sizeof(*w));
	w->start = fp->ts;
	for (;; fnext(fp), w->n++) {
		switch (fp->t) {
		case FT_ENCWORD:
			w->encword = true;
			/* FALLTHROUGH */
		case FT_ATOM:
		case FT_QSTR:
			if (prev_word)
				w->adjacent = true;
			prev_word = true;
			continue;
		case FT_DOT:
			if (w->n == 0)
				w->first_dot = true;
			prev_word = false;
			continue;
		case FT_ERR:
			return false;
		default:
			return true;
		}
	}
}

/*
 * from_local_ok - are the words a local-part?  RFC 5322 §3.4.1 dot-atom
 * or quoted-string, §4.4 obs-local-part (word *("." word), CFWS between).
 * Deliberately lenient about empty parts ("a..b", "a.@"), which some
 * Japanese mobile carriers send: the local-part plays no role in DMARC.
 * An encoded-word is never a local-part.
 */
static bool
from_local_ok(struct fparse *fp, const struct words *w)
{
	if (w->n == 0)
		return ffail(fp, "missing local-part before '@'");
	if (w->encword)
		return cur_fail_at(&fp->c, w->start,
		    "encoded-word in a local-part");
	if (w->adjacent)
		return cur_fail_at(&fp->c, w->start,
		    "invalid local-part (words without '.'; missing '<'?)");
	return true;
}

/*
 * from_angle - parse an angle-addr after '<' was seen (RFC 5322 §3.4,
 * §4.4 obs-angle-addr with an obs-route that is ignored).
 */
static bool
from_angle(struct fparse *fp)
{
	struct words w;
	int nroute = 0;

	fnext(fp);
	if (fp->t == FT_AT || fp->t == FT_COMMA) {
		/* obs-route = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]) ":" */
		for (;;) {
			while (fp->t == FT_COMMA)
				fnext(fp);
			if (fp->t != FT_AT)
				break;
			fnext(fp);
			if (!from_domain(fp, false))
				return false;
			nroute++;
		}
		if (fp->t == FT_ERR)
			return false;
		if (nroute == 0 || fp->t != FT_COLON)
			return ffail(fp, "malformed source route in '<...>'");
		fnext(fp);
	}
	if (fp->t == FT_GT)
		return ffail(fp, "empty address '<>'");
	if (!from_words(fp, &w))
		return false;
	if (fp->t != FT_AT) {
		if (w.n > 0 && (fp->t == FT_GT || fp->t == FT_END))
			return cur_fail_at(&fp->c, w.start,
			    "address without a domain");
		return funexpected(fp, " inside '<...>'");
	}
	if (!from_local_ok(fp, &w))
		return false;
	fnext(fp);
	if (!from_domain(fp, true))
		return false;
	if (fp->t != FT_GT)
		return fp->t == FT_END ? ffail(fp, "unterminated '<'") :
		    funexpected(fp, " where '>' was expected");
	fnext(fp);
	return fp->t != FT_ERR;
}

static bool from_list(struct fparse *, bool);

/*
 * from_address - one address: name-addr, addr-spec or group (RFC 5322
 * §3.4).  Groups are allowed in From by RFC 6854 §2.1; they may not nest.
 */
static bool
from_address(struct fparse *fp, bool in_group)
{
	struct words w;

	if (!from_words(fp, &w))
		return false;
	switch (fp->t) {
	case FT_LT:
		/* display-name = phrase; obs-phrase = word *(word / "." / CFWS) */
		if (w.n > 0 && w.first_dot)
			return cur_fail_at(&fp->c, w.start,
			    "display name starts with '.'");
		return from_angle(fp);
	case FT_AT:
		if (!from_local_ok(fp, &w))
			return false;
		fnext(fp);
		return from_domain(fp, true);
	case FT_COLON:
		if (in_group)
			return ffail(fp, "group inside a group");
		if (w.n == 0 || w.first_dot)
			return ffail(fp, "group without a display name");
		fnext(fp);
		if (!from_list(fp, true))
			return false;
		fnext(fp);		/* the ';' */
		return fp->t != FT_ERR;
	default:
		if (w.n == 0)
			return funexpected(fp, "");
		if (!w.encword && !w.adjacent && !w.first_dot)
			return cur_fail_at(&fp->c, w.start,
			    "address without a domain");
		return cur_fail_at(&fp->c, w.start,
		    "display name without an address");
	}
}

/*
 * from_list - address-list / mailbox-list (RFC 5322 §3.4), including the
 * empty list elements of §4.4 obs-addr-list and obs-mbox-list.  Inside a
 * group it stops at the closing ';'.
 */
static bool
from_list(struct fparse *fp, bool in_group)
{
	for (;;) {
		switch (fp->t) {
		case FT_ERR:
			return false;
		case FT_END:
			if (in_group)
				return ffail(fp, "group not terminated by ';'");
			return true;
		case FT_SEMI:
			if (in_group)
				return true;
			return funexpected(fp, "");
		case FT_COMMA:
			fnext(fp);
			continue;
		default:
			break;
		}
		if (!from_address(fp, in_group))
			return false;
		if (fp->t != FT_COMMA && fp->t != FT_END &&
		    !(in_group && fp->t == FT_SEMI))
			return funexpected(fp, " after an address");
	}
}

/* hdr_domains_free - free an array from hdr_from_domains() */
void
hdr_domains_free(char **doms, size_t n)
{
	size_t i;

	if (doms == NULL)
		return;
	for (i = 0; i < n; i++)
		free(doms[i]);
	free(doms);
}

/* hdr_from_domains - the author domains of a From value (see hdr.h) */
int
hdr_from_domains(const char *value, char ***domains, size_t *n, char *err,
    size_t errlen)
{
	struct fparse fp;
	bool ok;

	*domains = NULL;
	*n = 0;
	memset(&fp, 0, sizeof(fp));
	cur_init(&fp.c, value != NULL ? value : "", err, errlen);
	if (value == NULL) {
		cur_fail_at(&fp.c, fp.c.p, "no From value");
		return -1;
	}
	if (value_too_long(value)) {
		cur_fail_at(&fp.c, fp.c.p, "From value longer than %u bytes",
		    HDR_MAX_VALUE);
		return -1;
	}
	fp.t = FT_END;
	fnext(&fp);
	ok = from_list(&fp, false);
	if (ok && fp.n == 0)
		ok = cur_fail_at(&fp.c, fp.c.p, "no address in From");
	if (!ok) {
		hdr_domains_free(fp.doms, fp.n);
		return -1;
	}
	*domains = fp.doms;
	*n = fp.n;
	return 0;
}

/* is_salvage_char - a character of a domain name as hdr_from_salvage reads it */
static bool
is_salvage_char(unsigned char ch)
{
	return ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
}

/*
 * hdr_from_salvage - the domains named in a From value that does not parse
 * (see hdr.h).  OpenDMARC gave such a field no author domain and let the
 * message through (CVE-2021-34555 and its kin): "user@example.com, <>"
 * escaped example.com's p=reject.  Reading too many domains is the safe
 * side, since the strictest outcome of all of them applies.
 */
int
hdr_from_salvage(const char *value, char ***domains, size_t *n)
{
	const char *p, *s;
	char **doms = NULL, *d;
	size_t nd = 0, len, i;
	bool dup;

	*domains = NULL;
	*n = 0;
	if (value == NULL)
		return -1;
	for (p = strchr(value, '@'); p != NULL && nd < HDR_FROM_MAX_ADDRS; p = strchr(p, '@')) {
		s = ++p;
		while (is_salvage_char((unsigned char)*p))
			p++;
		len = (size_t)(p - s);
		while (len > 0 && s[len - 1] == '.')	/* "a@example.com." ends a sentence */
			len--;
		if (len == 0 || s[0] == '.' || memmem(s, len, "..", 2) != NULL)
			continue;
		d = xstrndup(s, len);
		dup = false;
		for (i = 0; i < nd && !dup; i++)
			dup = ascii_strcaseeq(doms[i], d);
		if (dup) {
			free(d);
			continue;
		}
		doms = xrealloc(doms, (nd + 1) * sizeof(*doms));
		doms[nd++] = d;
	}
	if (nd == 0)
		return -1;
	*domains = doms;
	*n = nd;
	return 0;
}

/* ---------------------------------------------------------------------
 * RFC 8601 Authentication-Results
 * ------------------------------------------------------------------- */

/*
 * is_mime_token - RFC 2045 §5.1 token character (authserv-id, reason):
 * US-ASCII printable but tspecials; octets >= 0x80 are allowed as well for
 * UTF-8 authserv-ids (RFC 8616 §3).
 */
static bool
is_mime_token(unsigned char ch)
{
	if (ch >= 0x80)
		return true;
	return ch > 0x20 && ch < 0x7f && strchr("()<>@,;:\\\"/[]?=", ch) == NULL;
}

/* is_keyword - RFC 5321 Keyword: Let-dig [Ldh-str]; '_' tolerated */
static bool
is_keyword(unsigned char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '-' || ch == '_');
}

/* ar_keyword - a Keyword at the cursor as a new string, NULL if none */
static char *
ar_keyword(struct cur *c)
{
	const char *s = c->p;

	if (!is_keyword((unsigned char)*c->p, true))
		return NULL;
	while (is_keyword((unsigned char)*c->p, false))
		c->p++;
	return xstrndup(s, (size_t)(c->p - s));
}

/*
 * ar_value - RFC 2045 value = token / quoted-string, as a new string
 * (quoted-string unquoted).  *quoted tells which.  NULL on error.
 */
static char *
ar_value(struct cur *c, bool *quoted)
{
	const char *s = c->p;
	struct buf b;

	*quoted = false;
	if (*c->p == '"') {
		*quoted = true;
		buf_init(&b, HDR_MAX_VALUE);
		if (!scan_qstring(c, &b)) {
			buf_free(&b);
			return NULL;
		}
		return buf_detach(&b);
	}
	while (is_mime_token((unsigned char)*c->p))
		c->p++;
	if (c->p == s) {
		cur_fail_at(c, c->p, "expected a token or quoted-string");
		return NULL;
	}
	return xstrndup(s, (size_t)(c->p - s));
}

/* pvalue_char - may ch continue an unquoted property value? */
static bool
pvalue_char(unsigned char ch)
{
	return ch >= 0x80 || (ch > 0x20 && ch < 0x7f &&
	    strchr(";()\"\\", ch) == NULL);
}

/*
 * ar_pvalue - RFC 8601 §2.2 pvalue = [CFWS] (value / [[local-part] "@"]
 * domain-name) [CFWS].  Lenient: an unquoted value is any run of
 * printable characters up to white space, ';' or a comment, so that
 * base64 "header.b=ab/c+d=" (which is not an RFC 2045 token) parses; an
 * empty value is accepted.  A quoted local-part followed by "@domain" is
 * returned as written; a lone quoted-string is unquoted.
 */
static char *
ar_pvalue(struct cur *c)
{
	const char *s;
	bool quoted;
	char *v;

	if (!skip_cfws(c))
		return NULL;
	s = c->p;
	if (*c->p == '"') {
		if ((v = ar_value(c, &quoted)) == NULL)
			return NULL;
		if (*c->p != '@')
			return v;
		free(v);	/* quoted local-part: keep it as written */
		c->p++;
	}
	while (pvalue_char((unsigned char)*c->p))
		c->p++;
	return xstrndup(s, (size_t)(c->p - s));
}

/* ar_digits - 1*DIGIT as an unsigned (at most 9 digits) */
static bool
ar_digits(struct cur *c, unsigned *out, const char *what)
{
	const char *s = c->p;
	unsigned v = 0;

	while (*c->p >= '0' && *c->p <= '9') {
		if (c->p - s >= 9)
			return cur_fail_at(c, s, "%s too long", what);
		v = v * 10 + (unsigned)(*c->p - '0');
		c->p++;
	}
	if (c->p == s)
		return cur_fail_at(c, c->p, "missing %s", what);
	*out = v;
	return true;
}

/* ar_free_result - release one resinfo */
static void
ar_free_result(struct hdr_ar_result *r)
{
	size_t i;

	free(r->method);
	free(r->result);
	free(r->reason);
	for (i = 0; i < r->n_props; i++) {
		free(r->props[i].ptype);
		free(r->props[i].property);
		free(r->props[i].value);
	}
	free(r->props);
	memset(r, 0, sizeof(*r));
}

/* hdr_ar_free - release everything hdr_ar_parse() allocated */
void
hdr_ar_free(struct hdr_ar *ar)
{
	size_t i;

	if (ar == NULL)
		return;
	free(ar->authserv_id);
	for (i = 0; i < ar->n_results; i++)
		ar_free_result(&ar->results[i]);
	free(ar->results);
	memset(ar, 0, sizeof(*ar));
}

/* ar_add_prop - append a property to r, taking ownership of the strings */
static void
ar_add_prop(struct hdr_ar_result *r, char *ptype, char *property, char *value)
{
	r->props = xrealloc(r->props, (r->n_props + 1) * sizeof(*r->props));
	r->props[r->n_props].ptype = ptype;
	r->props[r->n_props].property = property;
	r->props[r->n_props].value = value;
	r->n_props++;
}

/*
 * ar_resinfo - one resinfo after the ';' (RFC 8601 §2.2):
 *   methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
 *   methodspec = [CFWS] method [CFWS] "=" [CFWS] result
 *   method     = Keyword [ [CFWS] "/" [CFWS] method-version ]
 *   propspec   = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
 * Leniencies for real senders: "reason=" may appear among the
 * properties, and a bare "name=value" (Microsoft's "action=none") is kept
 * as a property with ptype "".
 */
static bool
ar_resinfo(struct cur *c, struct hdr_ar_result *r)
{
	const char *pos;
	char *kw, *prop, *v;

	r->version = 1;
	pos = c->p;
	if ((r->method = ar_keyword(c)) == NULL)
		return cur_fail_at(c, pos, "expected a method");
	if (!skip_cfws(c))
		return false;
	if (*c->p == '/') {
		c->p++;
		if (!skip_cfws(c) || !ar_digits(c, &r->version,
		    "method version") || !skip_cfws(c))
			return false;
	}
	if (*c->p != '=')
		return cur_fail_at(c, c->p, "expected '=' after method");
	c->p++;
	if (!skip_cfws(c))
		return false;
	pos = c->p;
	if ((r->result = ar_keyword(c)) == NULL)
		return cur_fail_at(c, pos, "expected a result");
	for (;;) {
		if (!skip_cfws(c))
			return false;
		if (*c->p == '\0' || *c->p == ';')
			return true;
		pos = c->p;
		if ((kw = ar_keyword(c)) == NULL)
			return cur_fail_at(c, pos, "expected a property");
		if (!skip_cfws(c)) {
			free(kw);
			return false;
		}
		if (*c->p == '.') {
			c->p++;
			if (!skip_cfws(c)) {
				free(kw);
				return false;
			}
			pos = c->p;
			if ((prop = ar_keyword(c)) == NULL) {
				free(kw);
				return cur_fail_at(c, pos, "expected a property "
				    "name after '.'");
			}
			if (!skip_cfws(c) || *c->p != '=') {
				free(kw);
				free(prop);
				return cur_fail_at(c, c->p, "expected '=' after "
				    "property");
			}
		} else if (*c->p == '=') {
			prop = kw;
			kw = NULL;
		} else {
			free(kw);
			return cur_fail_at(c, c->p, "expected '.' or '=' after "
			    "property type");
		}
		c->p++;
		if ((v = ar_pvalue(c)) == NULL) {
			free(kw);
			free(prop);
			return false;
		}
		if (kw == NULL && r->reason == NULL &&
		    ascii_strcaseeq(prop, "reason")) {
			/* reasonspec = "reason" [CFWS] "=" [CFWS] value */
			free(prop);
			r->reason = v;
			continue;
		}
		if (r->n_props >= HDR_AR_MAX_PROPS) {
			free(kw);
			free(prop);
			free(v);
			return cur_fail_at(c, pos, "more than %d properties",
			    HDR_AR_MAX_PROPS);
		}
		ar_add_prop(r, kw != NULL ? kw : xstrdup(""), prop, v);
	}
}

/*
 * ar_authserv_id - [CFWS] authserv-id, the RFC 2045 value (token or
 * quoted-string) RFC 8601 §2.2 begins with.  NULL on error.
 */
static char *
ar_authserv_id(struct cur *c, bool *quoted)
{
	if (!skip_cfws(c))
		return NULL;
	if (*c->p == '\0') {
		cur_fail_at(c, c->p, "missing authserv-id");
		return NULL;
	}
	return ar_value(c, quoted);
}

/*
 * hdr_ar_parse - parse an Authentication-Results value (RFC 8601 §2.2):
 *   authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
 *                     ( no-result / 1*resinfo ) [CFWS]
 *   no-result       = [CFWS] ";" [CFWS] "none"
 * Leniencies: empty resinfo (";;" or a trailing ';') is skipped, and a
 * value that starts with a methodspec ("spf=pass ...", as Microsoft writes
 * it) has no authserv-id: authserv_id is then "", which never equals a
 * configured id, so such results can never be trusted.
 */
int
hdr_ar_parse(const char *value, struct hdr_ar *out, char *err, size_t errlen)
{
	struct cur c;
	struct hdr_ar_result *r;
	const char *start, *pos;
	bool quoted, need_semi = true;
	char *kw;

	memset(out, 0, sizeof(*out));
	out->version = 1;
	cur_init(&c, value != NULL ? value : "", err, errlen);
	if (value == NULL || value_too_long(value)) {
		cur_fail_at(&c, c.p, value == NULL ? "no value" :
		    "value too long");
		return -1;
	}
	if (!skip_cfws(&c))
		goto fail;
	start = c.p;
	if ((out->authserv_id = ar_authserv_id(&c, &quoted)) == NULL)
		goto fail;
	if (!skip_cfws(&c))
		goto fail;
	if (!quoted && (*c.p == '=' || *c.p == '/')) {
		/* no authserv-id: the first token was a method */
		free(out->authserv_id);
		out->authserv_id = xstrdup("");
		c.p = start;
		need_semi = false;
	} else if (*c.p >= '0' && *c.p <= '9') {
		/* authres-version = 1*DIGIT [CFWS] */
		if (!ar_digits(&c, &out->version, "version") || !skip_cfws(&c))
			goto fail;
	}
	if (need_semi && *c.p != ';') {
		cur_fail_at(&c, c.p, *c.p == '\0' ? "no results after "
		    "authserv-id" : "expected ';' after authserv-id");
		goto fail;
	}
	for (;;) {
		if (need_semi) {
			if (!skip_cfws(&c))
				goto fail;
			if (*c.p == '\0')
				break;
			if (*c.p != ';') {
				cur_fail_at(&c, c.p, "expected ';'");
				goto fail;
			}
			c.p++;
			if (!skip_cfws(&c))
				goto fail;
			if (*c.p == '\0' || *c.p == ';')
				continue;	/* empty resinfo */
		}
		need_semi = true;
		if (out->none) {
			cur_fail_at(&c, c.p, "results after 'none'");
			goto fail;
		}
		/* no-result: "none" not followed by "=" or "/" */
		pos = c.p;
		if ((kw = ar_keyword(&c)) != NULL) {
			bool is_none = ascii_strcaseeq(kw, "none");

			free(kw);
			if (!skip_cfws(&c))
				goto fail;
			if (is_none && *c.p != '=' && *c.p != '/') {
				if (out->n_results > 0) {
					cur_fail_at(&c, pos, "'none' after "
					    "results");
					goto fail;
				}
				out->none = true;
				continue;
			}
		}
		c.p = pos;
		if (out->n_results >= HDR_AR_MAX_RESULTS) {
			cur_fail_at(&c, pos, "more than %d results",
			    HDR_AR_MAX_RESULTS);
			goto fail;
		}
		out->results = xrealloc(out->results, (out->n_results + 1) *
		    sizeof(*out->results));
		r = &out->results[out->n_results++];
		memset(r, 0, sizeof(*r));
		if (!ar_resinfo(&c, r))
			goto fail;
	}
	if (out->n_results == 0 && !out->none) {
		cur_fail_at(&c, c.p, "no results");
		goto fail;
	}
	return 0;
fail:
	hdr_ar_free(out);
	return -1;
}

/* hdr_ar_authserv_is - is authserv_id the A-R value's authserv-id? (hdr.h) */
bool
hdr_ar_authserv_is(const char *value, const char *authserv_id)
{
	struct cur c;
	bool quoted, eq;
	char *id;

	if (value == NULL || authserv_id == NULL || *authserv_id == '\0' ||
	    value_too_long(value))
		return false;
	cur_init(&c, value, NULL, 0);
	if ((id = ar_authserv_id(&c, &quoted)) == NULL)
		return false;
	eq = ascii_strcaseeq(id, authserv_id);
	free(id);
	return eq;
}

/* ---------------------------------------------------------------------
 * DKIM
 * ------------------------------------------------------------------- */

/*
 * hdr_dkim_field - "Name:value" for dkim_header() (LIBRARIES.md §2.1
 * step 3).  The MTA removes the space after the colon unless
 * SMFIP_HDR_LEADSPC was negotiated, so it is put back then; and Postfix
 * joins folded lines with a bare "\n", which must become "\r\n" again or
 * "simple" header canonicalization (RFC 6376 §3.4.1) sees other bytes
 * than the signer did.
 */
char *
hdr_dkim_field(const char *name, const char *value, bool leadspc)
{
	size_t nlen = strlen(name), vlen = strlen(value), extra = 0, i;
	char *out, *q;

	for (i = 0; i < vlen; i++)
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			extra++;
	out = xmalloc(nlen + 2 + vlen + extra + 1);
	memcpy(out, name, nlen);
	q = out + nlen;
	*q++ = ':';
	if (!leadspc)
		*q++ = ' ';
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			*q++ = '\r';
		*q++ = value[i];
	}
	*q = '\0';
	return out;
}
