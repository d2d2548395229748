/*
 * ar.c - compose the Authentication-Results header field (RFC 8601).
 *
 * The value is built in two steps: first a list of unbreakable units
 * ("spf=pass", "(comment", "words)", "smtp.mailfrom=example.com"), each
 * resinfo's first unit marked to start a new line; then the units are laid
 * out greedily into lines of at most AR_LINE_MAX columns, joined with
 * "\n\t".  Every unit is built from validated pieces (see ar.h), so the
 * layout step never has to look inside them.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "buf.h"
#include "util.h"

/* "Authentication-Results: " as the MTA writes it in front of our value */
#define AR_FIRST_COL	24
#define AR_TAB_COLS	8

struct ar_unit {
	char	*text;
	bool	 newline;	/* starts a resinfo: always begins a new line */
};

struct ar_units {
	struct ar_unit	*u;
	size_t		 n, cap;
};

/* units_add - take ownership of text as the next unit */
static void
units_add(struct ar_units *us, char *text, bool newline)
{
	if (us->n == us->cap) {
		us->cap = us->cap ? us->cap * 2 : 16;
		us->u = xrealloc(us->u, us->cap * sizeof(*us->u));
	}
	us->u[us->n].text = text;
	us->u[us->n].newline = newline;
	us->n++;
}

/* units_free - release the list */
static void
units_free(struct ar_units *us)
{
	size_t i;

	for (i = 0; i < us->n; i++)
		free(us->u[i].text);
	free(us->u);
	us->u = NULL;
	us->n = us->cap = 0;
}

/* is_tspecial - RFC 2045 §5.1 tspecials */
static bool
is_tspecial(unsigned char c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* is_token_char - RFC 2045 §5.1: any US-ASCII CHAR except SPACE, CTLs and tspecials */
static bool
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

/* is_atext - RFC 5322 §3.2.3 atext */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* is_dot_atom - RFC 5322 §3.2.3 dot-atom-text over [s, s+len) */
static bool
is_dot_atom(const char *s, size_t len)
{
	size_t i;
	bool prev_dot = true;	/* no leading dot */

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (is_atext((unsigned char)s[i])) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}

/*
 * is_domain_name - RFC 6376 §3.5 domain-name as RFC 8601 §2.2 uses it in
 * pvalue: sub-domain 1*("." sub-domain), sub-domain = let-dig [Ldh-str].
 */
static bool
is_domain_name(const char *s, size_t len)
{
	size_t i, labels = 1, lablen = 0;
	unsigned char c, prev = '.';

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (prev == '.' || prev == '-')
				return false;
			labels++;
			lablen = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			lablen++;
		} else if (c == '-') {
			if (prev == '.')
				return false;
			lablen++;
		} else {
			return false;
		}
		if (lablen > 63)
			return false;
		prev = c;
	}
	return prev != '.' && prev != '-' && labels >= 2;
}

/*
 * ar_value - append s as an RFC 2045 "value" (RFC 8601 §2.2): a token when
 * it is one, else a quoted-string with '\' and '"' escaped.  Anything that
 * cannot be written faithfully in US-ASCII (control bytes including CR, LF
 * and TAB, DEL, 8-bit bytes), an empty value and an over-long one are
 * refused with -1 and nothing appended: the caller drops the property, so
 * no outside byte can ever end the header field or start another one.
 */
int
ar_value(struct buf *out, const char *s)
{
	size_t i, len;
	bool token = true;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > AR_VALUE_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			return -1;
		if (!is_token_char(c))
			token = false;
	}
	if (token)
		return buf_append(out, s, len);
	buf_putc(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_putc(out, '\\');
		buf_putc(out, s[i]);
	}
	return buf_putc(out, '"');
}

/*
 * addr_pvalue - append an address as an RFC 8601 §2.2 pvalue:
 * "local-part@domain-name" unquoted when the local-part is a dot-atom and
 * the domain a domain-name (or "@domain-name" when the local-part is empty
 * and allow_empty_local is set); just the domain-name when only the
 * local-part is unusual (§2.3 lets the local-part be left out); otherwise
 * the whole string as a value.  -1 when nothing usable is left.
 */
static int
addr_pvalue(struct buf *out, const char *addr, bool allow_empty_local)
{
	const char *at;
	size_t llen, dlen;

	if (addr == NULL || *addr == '\0')
		return -1;
	at = strrchr(addr, '@');
	if (at == NULL)
		return ar_value(out, addr);
	llen = (size_t)(at - addr);
	dlen = strlen(at + 1);
	if (!is_domain_name(at + 1, dlen))
		return ar_value(out, addr);
	if (llen <= 64 && (is_dot_atom(addr, llen) || (llen == 0 && allow_empty_local)))
		return buf_append(out, addr, llen + 1 + dlen);
	return buf_append(out, at + 1, dlen);
}

/* is_fws_byte - bytes a comment may be trimmed of */
static bool
is_fws_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * ar_comment - "(text)" per RFC 5322 §3.2.2: '(' ')' '\' become
 * quoted-pairs; CR, LF and TAB become spaces, other control bytes, DEL and
 * 8-bit bytes '?'; leading and trailing white space is dropped and at most
 * AR_COMMENT_MAX bytes of text are used ("..." marks a cut).
 */
char *
ar_comment(const char *text)
{
	struct buf b;
	size_t i, len;

	if (text == NULL)
		text = "";
	while (is_fws_byte(*text))
		text++;
	len = strlen(text);
	while (len > 0 && is_fws_byte(text[len - 1]))
		len--;
	buf_init(&b, 0);
	buf_putc(&b, '(');
	for (i = 0; i < len && i < AR_COMMENT_MAX; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		else if (c == '(' || c == ')' || c == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, (char)c);
	}
	if (len > AR_COMMENT_MAX)
		buf_puts(&b, "...");
	buf_putc(&b, ')');
	return buf_detach(&b);
}

/*
 * add_comment - a comment as units, one per word, so that it may fold at
 * its own spaces (RFC 5322 §3.2.2 allows FWS inside a comment).  The text
 * is trimmed first, so "(" and ")" are always glued to a word.
 */
static void
add_comment(struct ar_units *us, const char *text)
{
	char *c, *p;
	size_t n;

	if (text == NULL)
		return;
	while (is_fws_byte(*text))
		text++;
	if (*text == '\0')
		return;
	c = ar_comment(text);
	for (p = c; *p != '\0'; ) {
		n = strcspn(p, " ");
		if (n > 0)
			units_add(us, xstrndup(p, n), false);
		p += n;
		while (*p == ' ')
			p++;
	}
	free(c);
}

/* add_prop - "ptype.property=pvalue" when the value is usable, else nothing */
static void
add_prop(struct ar_units *us, const char *name, const char *value)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s=", name);
	if (ar_value(&b, value) == 0)
		units_add(us, buf_detach(&b), false);
	else
		buf_free(&b);
}

/* add_addr_prop - like add_prop, for an address-valued property */
static void
add_addr_prop(struct ar_units *us, const char *name, const char *addr, bool allow_empty_local)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s=", name);
	if (addr_pvalue(&b, addr, allow_empty_local) == 0)
		units_add(us, buf_detach(&b), false);
	else
		buf_free(&b);
}

/* add_method - the methodspec that starts a resinfo (RFC 8601 §2.2) */
static void
add_method(struct ar_units *us, const char *method, enum auth_res r)
{
	units_add(us, xasprintf("%s=%s", method, auth_res_str(r)), true);
}

/* spf_evaluated - did the SPF module fill this outcome? */
static bool
spf_evaluated(const struct spf_outcome *s)
{
	return s->domain != NULL || s->identity != NULL || s->result != AUTH_NONE;
}

/* first_nonempty - the first of a, b, c that is a non-empty string */
static const char *
first_nonempty(const char *a, const char *b, const char *c)
{
	if (a != NULL && *a != '\0')
		return a;
	if (b != NULL && *b != '\0')
		return b;
	if (c != NULL && *c != '\0')
		return c;
	return NULL;
}

/*
 * add_spf - one spf resinfo (RFC 8601 §2.7.2): smtp.mailfrom for the MAIL
 * FROM identity, smtp.helo for the HELO identity (RFC 7208 §2.3, also what
 * is checked for the null sender).
 */
static void
add_spf(struct ar_units *us, const struct ar_input *in, const struct spf_outcome *s, bool helo)
{
	add_method(us, "spf", s->result);
	add_comment(us, s->reason);
	if (helo)
		add_prop(us, "smtp.helo", first_nonempty(in->helo, s->identity, s->domain));
	else
		add_addr_prop(us, "smtp.mailfrom",
		    first_nonempty(in->mail_from, s->identity, s->domain), false);
}

/* add_dkim - one dkim resinfo per signature (RFC 8601 §2.7.1, RFC 6008 header.b) */
static void
add_dkim(struct ar_units *us, const struct dkim_outcome *d)
{
	char bits[32];

	add_method(us, "dkim", d->result);
	if (d->reason != NULL) {
		add_comment(us, d->reason);
	} else if (d->key_bits > 0) {
		snprintf(bits, sizeof(bits), "%u-bit key", d->key_bits);
		add_comment(us, bits);
	}
	add_prop(us, "header.d", d->domain);
	if (d->identity != NULL)
		add_addr_prop(us, "header.i", d->identity, true);
	add_prop(us, "header.s", d->selector);
	add_prop(us, "header.a", d->algorithm);
	add_prop(us, "header.b", d->b);
}

/* policy_word - keyword of a published policy, NULL when unset */
static const char *
policy_word(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_UNSET:
		break;
	}
	return NULL;
}

/*
 * add_dmarc - one dmarc resinfo per author domain: "dmarc=fail
 * (p=reject dis=reject) header.from=example.com policy.dmarc=reject".
 * policy.dmarc is the policy after pct and t= processing (RFC 9989's
 * registration): when the override is sampling or test mode, that is the
 * disposition; a local-policy override does not change it.
 */
static void
add_dmarc(struct ar_units *us, const struct dmarc_outcome *o)
{
	struct buf c;
	const char *pw = o->have_record ? policy_word(o->policy) : NULL;
	const char *applied = pw;

	add_method(us, "dmarc", o->result);
	buf_init(&c, 0);
	if (pw != NULL)
		buf_printf(&c, "p=%s dis=%s", pw, disposition_str(o->disposition));
	if (o->reason != OVR_NONE)
		buf_printf(&c, "%soverride=%s", c.len ? " " : "", override_reason_str(o->reason));
	if (o->comment != NULL && *o->comment != '\0')
		buf_printf(&c, "%s%s", c.len ? " " : "", o->comment);
	if (c.len > 0)
		add_comment(us, buf_str(&c));
	buf_free(&c);
	add_prop(us, "header.from", o->from_domain);
	if (pw != NULL && (o->reason == OVR_SAMPLED_OUT || o->reason == OVR_POLICY_TEST_MODE))
		applied = disposition_str(o->disposition);
	if (applied != NULL)
		add_prop(us, "policy.dmarc", applied);
}

/* layout - fold the units into lines joined by "\n\t" */
static char *
layout(const struct ar_units *us)
{
	struct buf b;
	size_t i, col = AR_FIRST_COL, len;

	buf_init(&b, 0);
	for (i = 0; i < us->n; i++) {
		len = strlen(us->u[i].text);
		if (i > 0) {
			if (us->u[i].newline || col + 1 + len > AR_LINE_MAX) {
				buf_puts(&b, "\n\t");
				col = AR_TAB_COLS;
			} else {
				buf_putc(&b, ' ');
				col++;
			}
		}
		buf_append(&b, us->u[i].text, len);
		col += len;
	}
	return buf_detach(&b);
}

/*
 * ar_compose - the Authentication-Results value for one message (RFC 8601
 * §2.2): "authserv-id; resinfo; resinfo ..." or "authserv-id; none" when
 * nothing was evaluated (§2.2 no-result).
 */
char *
ar_compose(const struct ar_input *in)
{
	struct ar_units us = { NULL, 0, 0 };
	struct buf id;
	const struct verdict *v = in->v;
	size_t i;
	char *out, *prev;

	buf_init(&id, 0);
	if (ar_value(&id, in->authserv_id) != 0) {
		buf_free(&id);
		return NULL;
	}
	units_add(&us, buf_detach(&id), false);

	if (v != NULL) {
		if (spf_evaluated(&v->spf))
			add_spf(&us, in, &v->spf, v->spf.helo_scope);
		if (v->have_spf_helo && spf_evaluated(&v->spf_helo))
			add_spf(&us, in, &v->spf_helo, true);
		for (i = 0; v->dkim != NULL && i < v->n_dkim; i++)
			add_dkim(&us, &v->dkim[i]);
		/* DMARC was evaluated, so DKIM was looked at: say it found nothing */
		if (v->n_dkim == 0 && v->n_dmarc > 0)
			add_method(&us, "dkim", AUTH_NONE);
		for (i = 0; v->dmarc != NULL && i < v->n_dmarc; i++)
			add_dmarc(&us, &v->dmarc[i]);
		/* no usable author domain: DMARC could not be applied */
		if (v->n_dmarc == 0 && v->from_problem) {
			add_method(&us, "dmarc", AUTH_PERMERROR);
			add_comment(&us, v->from_comment != NULL ? v->from_comment : "no usable From");
		}
	}

	if (us.n == 1) {
		/* RFC 8601 §2.2 no-result */
		units_add(&us, xstrdup("none"), false);
	}
	/* each resinfo is introduced by ";" glued to what precedes it */
	for (i = 1; i < us.n; i++) {
		if (us.u[i].newline || (i == 1 && strcmp(us.u[i].text, "none") == 0)) {
			prev = us.u[i - 1].text;
			us.u[i - 1].text = xasprintf("%s;", prev);
			free(prev);
		}
	}
	out = layout(&us);
	units_free(&us);
	return out;
}
