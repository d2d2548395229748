/*
 * history.c - history records: JSON Lines writer and reader (jansson), and
 * the appender that puts one record per write(2) into the history file.
 *
 * Writer: every string from outside is made valid UTF-8 first (each byte
 * that does not belong to a well-formed RFC 3629 sequence becomes U+FFFD),
 * cut to a per-field cap at a character boundary, and handed to jansson,
 * which escapes '"', '\', control characters and (JSON_ENSURE_ASCII)
 * everything beyond US-ASCII.  The line is therefore printable ASCII plus
 * the final '\n', whatever a hostile HELO or d= contained.  The caps
 * bound the line: even if every byte of every capped field needed a
 * 6-byte "\u00XX" escape, the record stays below HISTORY_MAX_LINE (about
 * 400 KiB worst case); the writer checks it anyway.
 *
 * Reader: jansson with JSON_REJECT_DUPLICATES (its parser refuses invalid
 * UTF-8, "\u0000", nesting deeper than 2048 and integers beyond 64 bits);
 * we refuse lines over HISTORY_MAX_LINE before parsing, check the type of
 * every field we know, require the fields a report cannot do without, and
 * ignore fields we do not know (a newer writer may add some; see
 * docs/history-format.md for the versioning rules).
 *
 * Appender: see history_append() and history_reopen() below.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "history.h"
#include "log.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The reader's bound on any array: more than any v1 writer produces (its
 * caps are in history.h) so that a writer may raise its caps without a
 * version bump; memory stays bounded by HISTORY_MAX_LINE anyway.
 */
#define HISTORY_READ_MAX_ARRAY	1024

/* Largest time we accept: 9999-12-31T23:59:59Z. */
#define HISTORY_MAX_TIME	253402300799LL

/* ---------------------------------------------------------------------
 * Vocabulary shared by writer and reader
 */

static const char *const policy_names[] = {
	[DMARC_POLICY_UNSET] = NULL,
	[DMARC_POLICY_NONE] = "none",
	[DMARC_POLICY_QUARANTINE] = "quarantine",
	[DMARC_POLICY_REJECT] = "reject",
};

static const char *const align_names[] = {
	[DMARC_ALIGN_RELAXED] = "r",
	[DMARC_ALIGN_STRICT] = "s",
};

static const char *const psd_names[] = {
	[DMARC_PSD_UNSET] = NULL,
	[DMARC_PSD_YES] = "y",
	[DMARC_PSD_NO] = "n",
};

static const char *const discovery_names[] = {
	[DISCOVERY_PSL] = "psl",
	[DISCOVERY_TREEWALK] = "treewalk",
};

static const char *const disposition_names[] = {
	[DISP_NONE] = "none",
	[DISP_QUARANTINE] = "quarantine",
	[DISP_REJECT] = "reject",
};

#define OVR_LAST	OVR_OTHER

/* ---------------------------------------------------------------------
 * Writer
 */

/*
 * utf8_seq_len - length of the well-formed UTF-8 sequence at s (RFC 3629
 * §4: no overlong forms, no surrogates, nothing above U+10FFFF), 0 when
 * the byte at s does not start one.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (avail < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * utf8_clean - a copy of s that is valid UTF-8 (bad bytes become U+FFFD,
 * one each) and at most cap bytes long, cut at a character boundary;
 * *cut is set when something was left out.
 */
static char *
utf8_clean(const char *s, size_t cap, bool *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;
	struct buf b;

	buf_init(&b, 0);
	while (i < len) {
		n = utf8_seq_len(p + i, len - i);
		if (n == 0) {
			if (b.len + 3 > cap)
				break;
			buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		if (b.len + n > cap)
			break;
		buf_append(&b, p + i, n);
		i += n;
	}
	if (i < len)
		*cut = true;
	return buf_detach(&b);
}

struct jw {
	bool	ok;		/* every set succeeded */
	bool	cut;		/* a cap was applied */
};

/* jw_set - obj[key] = val, remembering any failure (val NULL included) */
static void
jw_set(struct jw *w, json_t *obj, const char *key, json_t *val)
{
	if (val == NULL || json_object_set_new(obj, key, val) != 0)
		w->ok = false;
}

/* jw_append - arr += val, remembering any failure */
static void
jw_append(struct jw *w, json_t *arr, json_t *val)
{
	if (val == NULL || json_array_append_new(arr, val) != 0)
		w->ok = false;
}

/* jw_str - a JSON string of s cleaned and capped, or null for NULL */
static json_t *
jw_str(struct jw *w, const char *s, size_t cap)
{
	json_t *j;
	char *c;

	if (s == NULL)
		return json_null();
	c = utf8_clean(s, cap, &w->cut);
	j = json_string(c);
	free(c);
	return j;
}

/* jw_name - a keyword from a table, null when the table has none */
static json_t *
jw_name(const char *const *names, size_t n, unsigned idx)
{
	if (idx < n && names[idx] != NULL)
		return json_string(names[idx]);
	return json_null();
}

/* spf_evaluated - did the SPF module fill this outcome? */
static bool
spf_evaluated(const struct spf_outcome *s)
{
	return s->domain != NULL || s->identity != NULL || s->reason != NULL ||
	    s->result != AUTH_NONE || s->helo_scope;
}

/* jw_spf - one SPF outcome (RFC 7489 / RFC 9990 SPFAuthResultType) */
static json_t *
jw_spf(struct jw *w, const struct spf_outcome *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jw_set(w, o, "scope", json_string(s->helo_scope ? "helo" : "mfrom"));
	jw_set(w, o, "domain", jw_str(w, s->domain, HISTORY_MAX_STR));
	jw_set(w, o, "identity", jw_str(w, s->identity, HISTORY_MAX_TEXT));
	jw_set(w, o, "result", json_string(auth_res_str(s->result)));
	jw_set(w, o, "human", jw_str(w, s->reason, HISTORY_MAX_TEXT));
	return o;
}

/* jw_dkim - one signature (DKIMAuthResultType) */
static json_t *
jw_dkim(struct jw *w, const struct dkim_outcome *d)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jw_set(w, o, "domain", jw_str(w, d->domain, HISTORY_MAX_STR));
	jw_set(w, o, "selector", jw_str(w, d->selector, HISTORY_MAX_STR));
	jw_set(w, o, "algorithm", jw_str(w, d->algorithm, HISTORY_MAX_TAG));
	jw_set(w, o, "identity", jw_str(w, d->identity, HISTORY_MAX_TEXT));
	jw_set(w, o, "key_bits", json_integer(d->key_bits));
	jw_set(w, o, "result", json_string(auth_res_str(d->result)));
	jw_set(w, o, "human", jw_str(w, d->reason, HISTORY_MAX_TEXT));
	return o;
}

/* jw_uris - a rua / ruf list */
static json_t *
jw_uris(struct jw *w, const struct dmarc_uri *u, size_t n)
{
	json_t *a = json_array(), *o;
	size_t i;

	if (a == NULL)
		return NULL;
	if (n > HISTORY_MAX_URIS) {
		n = HISTORY_MAX_URIS;
		w->cut = true;
	}
	for (i = 0; u != NULL && i < n; i++) {
		o = json_object();
		if (o != NULL) {
			jw_set(w, o, "uri", jw_str(w, u[i].uri != NULL ? u[i].uri : "", HISTORY_MAX_URI));
			/* json_int_t is 64-bit signed; a limit that large means "none" anyway */
			jw_set(w, o, "size_limit", json_integer(u[i].size_limit > (unsigned long long)LLONG_MAX ?
			    LLONG_MAX : (json_int_t)u[i].size_limit));
		}
		jw_append(w, a, o);
	}
	return a;
}

/* jw_record - the published record's tags (PolicyPublishedType and more) */
static json_t *
jw_record(struct jw *w, const struct dmarc_record *r)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jw_set(w, o, "p", jw_name(policy_names, NELEM(policy_names), r->p));
	jw_set(w, o, "sp", jw_name(policy_names, NELEM(policy_names), r->sp));
	jw_set(w, o, "np", jw_name(policy_names, NELEM(policy_names), r->np));
	jw_set(w, o, "adkim", jw_name(align_names, NELEM(align_names), r->adkim));
	jw_set(w, o, "aspf", jw_name(align_names, NELEM(align_names), r->aspf));
	jw_set(w, o, "pct", r->pct_set ? json_integer(r->pct) : json_null());
	jw_set(w, o, "fo", jw_str(w, r->fo, HISTORY_MAX_TAG));
	jw_set(w, o, "rf", jw_str(w, r->rf, HISTORY_MAX_TAG));
	jw_set(w, o, "ri", json_integer(r->ri));
	jw_set(w, o, "psd", jw_name(psd_names, NELEM(psd_names), r->psd));
	jw_set(w, o, "t", json_string(r->testing ? "y" : "n"));
	jw_set(w, o, "p_invalid", json_boolean(r->p_invalid));
	jw_set(w, o, "rua", jw_uris(w, r->rua, r->n_rua));
	jw_set(w, o, "ruf", jw_uris(w, r->ruf, r->n_ruf));
	jw_set(w, o, "raw", jw_str(w, r->raw, HISTORY_MAX_RAW));
	return o;
}

/* jw_dmarc - one DMARC outcome (policy_evaluated plus where it came from) */
static json_t *
jw_dmarc(struct jw *w, const struct dmarc_outcome *d)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jw_set(w, o, "from_domain", jw_str(w, d->from_domain, HISTORY_MAX_STR));
	jw_set(w, o, "policy_domain", jw_str(w, d->policy_domain, HISTORY_MAX_STR));
	jw_set(w, o, "org_domain", jw_str(w, d->org_domain, HISTORY_MAX_STR));
	jw_set(w, o, "discovery", jw_name(discovery_names, NELEM(discovery_names), d->discovery));
	jw_set(w, o, "result", json_string(auth_res_str(d->result)));
	jw_set(w, o, "policy", jw_name(policy_names, NELEM(policy_names), d->policy));
	jw_set(w, o, "spf_aligned", json_boolean(d->spf_aligned));
	jw_set(w, o, "dkim_aligned", json_boolean(d->dkim_aligned));
	jw_set(w, o, "disposition", json_string(disposition_str(d->disposition)));
	jw_set(w, o, "override", json_string(override_reason_str(d->reason)));
	jw_set(w, o, "comment", jw_str(w, d->comment, HISTORY_MAX_TEXT));
	jw_set(w, o, "record", d->have_record ? jw_record(w, &d->record) : json_null());
	return o;
}

/* action_ok - lowercase letters, '-' and '_', 1 to HISTORY_MAX_TAG bytes */
static bool
action_ok(const char *a)
{
	size_t i;

	if (a == NULL || *a == '\0' || strlen(a) > HISTORY_MAX_TAG)
		return false;
	for (i = 0; a[i] != '\0'; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || a[i] == '-' || a[i] == '_'))
			return false;
	return true;
}

/* jw_rcpt_domains - the recipient domains, lowercased, each once */
static json_t *
jw_rcpt_domains(struct jw *w, const struct history_msg *m)
{
	json_t *a = json_array();
	char *seen[HISTORY_MAX_RCPT_DOMAINS];
	size_t i, j, n = 0;
	char *d;

	if (a == NULL)
		return NULL;
	for (i = 0; m->rcpt_domains != NULL && i < m->n_rcpt_domains; i++) {
		if (m->rcpt_domains[i] == NULL || *m->rcpt_domains[i] == '\0')
			continue;
		d = utf8_clean(m->rcpt_domains[i], HISTORY_MAX_STR, &w->cut);
		ascii_lowercase(d);
		for (j = 0; j < n; j++)
			if (strcmp(seen[j], d) == 0)
				break;
		if (j < n) {
			free(d);
			continue;
		}
		if (n == HISTORY_MAX_RCPT_DOMAINS) {
			free(d);
			w->cut = true;
			break;
		}
		seen[n++] = d;
		jw_append(w, a, json_string(d));
	}
	for (j = 0; j < n; j++)
		free(seen[j]);
	return a;
}

/*
 * escape_del - jansson leaves DEL (0x7f) raw, JSON allows it; we want a
 * line of printable ASCII only.  A raw 0x7f can only be inside a string
 * (no JSON punctuation is DEL), so each becomes the escape "\u007f".
 * Takes ownership of text.
 */
static char *
escape_del(char *text)
{
	struct buf b;
	char *p, *q;

	if (strchr(text, 0x7f) == NULL)
		return text;
	buf_init(&b, 0);
	for (p = text; (q = strchr(p, 0x7f)) != NULL; p = q + 1) {
		buf_append(&b, p, (size_t)(q - p));
		buf_puts(&b, "\\u007f");
	}
	buf_puts(&b, p);
	free(text);
	return buf_detach(&b);
}

/*
 * history_format - one record as one line.  "v" comes first so that a
 * reader (or a person with grep) sees the version before anything else;
 * jansson keeps insertion order.
 */
int
history_format(const struct history_msg *m, const struct verdict *v,
    const char *action, struct buf *line_out)
{
	struct jw w = { true, false };
	json_t *root, *arr;
	const char *at, *hfrom = NULL;
	char *dom, *text;
	size_t i, n, tlen;
	time_t when;
	int rc = -1;

	if (m == NULL || v == NULL || m->client_ip == NULL || !action_ok(action))
		return -1;
	when = m->when != 0 ? m->when : v->when;
	if (when < 0 || (long long)when > HISTORY_MAX_TIME)
		return -1;
	if ((root = json_object()) == NULL)
		return -1;

	jw_set(&w, root, "v", json_integer(HISTORY_VERSION));
	jw_set(&w, root, "time", json_integer((json_int_t)when));
	jw_set(&w, root, "id", jw_str(&w, m->id, HISTORY_MAX_STR));
	jw_set(&w, root, "queue_id", jw_str(&w, m->queue_id, HISTORY_MAX_STR));
	jw_set(&w, root, "reporter", jw_str(&w, m->reporter, HISTORY_MAX_STR));
	jw_set(&w, root, "client_ip", jw_str(&w, m->client_ip, HISTORY_MAX_STR));
	jw_set(&w, root, "helo", jw_str(&w, m->helo, HISTORY_MAX_STR));
	jw_set(&w, root, "mail_from", jw_str(&w, m->mail_from, HISTORY_MAX_TEXT));
	at = m->mail_from != NULL ? strrchr(m->mail_from, '@') : NULL;
	if (at != NULL && at[1] != '\0') {
		dom = utf8_clean(at + 1, HISTORY_MAX_STR, &w.cut);
		ascii_lowercase(dom);
		jw_set(&w, root, "mail_from_domain", json_string(dom));
		free(dom);
	} else {
		jw_set(&w, root, "mail_from_domain", json_null());
	}
	jw_set(&w, root, "rcpt_domains", jw_rcpt_domains(&w, m));
	if (v->dmarc != NULL && v->n_dmarc > 0)
		hfrom = v->dmarc[v->deciding < v->n_dmarc ? v->deciding : 0].from_domain;
	jw_set(&w, root, "header_from", jw_str(&w, hfrom, HISTORY_MAX_STR));
	jw_set(&w, root, "action", json_string(action));
	jw_set(&w, root, "disposition", json_string(disposition_str(v->disposition)));
	jw_set(&w, root, "from_headers", json_integer((json_int_t)v->n_from_headers));
	jw_set(&w, root, "from_problem", json_boolean(v->from_problem));
	jw_set(&w, root, "from_comment", jw_str(&w, v->from_comment, HISTORY_MAX_TEXT));

	jw_set(&w, root, "spf", spf_evaluated(&v->spf) ? jw_spf(&w, &v->spf) : json_null());
	jw_set(&w, root, "spf_helo", v->have_spf_helo ? jw_spf(&w, &v->spf_helo) : json_null());

	if ((arr = json_array()) != NULL) {
		n = v->dkim != NULL ? v->n_dkim : 0;
		if (n > HISTORY_MAX_DKIM) {
			n = HISTORY_MAX_DKIM;
			w.cut = true;
		}
		for (i = 0; i < n; i++)
			jw_append(&w, arr, jw_dkim(&w, &v->dkim[i]));
	}
	jw_set(&w, root, "dkim", arr);

	n = v->dmarc != NULL ? v->n_dmarc : 0;
	if ((arr = json_array()) != NULL) {
		if (n > HISTORY_MAX_DMARC) {
			n = HISTORY_MAX_DMARC;
			w.cut = true;
		}
		for (i = 0; i < n; i++)
			jw_append(&w, arr, jw_dmarc(&w, &v->dmarc[i]));
	}
	jw_set(&w, root, "dmarc", arr);
	jw_set(&w, root, "deciding", json_integer(n > 0 && v->deciding < n ? (json_int_t)v->deciding : 0));
	if (w.cut)
		jw_set(&w, root, "truncated", json_true());

	if (!w.ok)
		goto out;
	text = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	text = escape_del(text);
	tlen = strlen(text);
	/* COMPACT output has no newline; check rather than trust */
	if (tlen + 1 <= HISTORY_MAX_LINE && memchr(text, '\n', tlen) == NULL) {
		size_t before = line_out->len;

		if (buf_append(line_out, text, tlen) == 0 && buf_putc(line_out, '\n') == 0) {
			rc = 0;
		} else {
			/* the caller's cap: leave its buffer as it was */
			line_out->len = before;
			if (line_out->data != NULL)
				line_out->data[before] = '\0';
			line_out->truncated = false;
		}
	}
	free(text);
out:
	json_decref(root);
	return rc;
}

/* ---------------------------------------------------------------------
 * Reader
 */

struct jr {
	char	*err;
	size_t	 errlen;
	const char *ctx;	/* "dkim[2]", ... for messages */
	char	 ctxbuf[64];	/* element of a top-level array */
	char	 subbuf[96];	/* element of an array inside it */
};

/* jr_fail - set the error message; always returns -1 */
static int __attribute__((format(printf, 2, 3)))
jr_fail(struct jr *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->err != NULL && r->errlen > 0)
		snprintf(r->err, r->errlen, "%s%s%s", r->ctx != NULL ? r->ctx : "",
		    r->ctx != NULL ? ": " : "", msg);
	return -1;
}

/* jr_type - a short name for a JSON type, for messages */
static const char *
jr_type(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/*
 * jr_get - obj[key]; NULL when absent.  With required set, absence (and
 * null, unless nullable) is an error: *bad is set.
 */
static json_t *
jr_get(struct jr *r, json_t *obj, const char *key, bool required, bool nullable, bool *bad)
{
	json_t *j = json_object_get(obj, key);

	if (j == NULL || (json_is_null(j) && nullable))
		goto missing;
	if (json_is_null(j)) {
		*bad = true;
		jr_fail(r, "field \"%s\" must not be null", key);
		return NULL;
	}
	return j;
missing:
	if (required && j == NULL) {
		*bad = true;
		jr_fail(r, "required field \"%s\" is missing", key);
	}
	return NULL;
}

/* jr_str - optional (or required) string field; null and absent give NULL */
static int
jr_str(struct jr *r, json_t *obj, const char *key, bool required, char **out)
{
	bool bad = false;
	json_t *j = jr_get(r, obj, key, required, !required, &bad);

	*out = NULL;
	if (bad)
		return -1;
	if (j == NULL)
		return 0;
	if (!json_is_string(j))
		return jr_fail(r, "field \"%s\" must be a string, not %s", key, jr_type(j));
	*out = xstrdup(json_string_value(j));
	return 0;
}

/* jr_int - integer field within [min, max]; absent gives def unless required */
static int
jr_int(struct jr *r, json_t *obj, const char *key, bool required, long long min,
    long long max, long long def, long long *out)
{
	bool bad = false;
	json_t *j = jr_get(r, obj, key, required, false, &bad);
	long long n;

	*out = def;
	if (bad)
		return -1;
	if (j == NULL)
		return 0;
	if (!json_is_integer(j))
		return jr_fail(r, "field \"%s\" must be an integer, not %s", key, jr_type(j));
	n = json_integer_value(j);
	if (n < min || n > max)
		return jr_fail(r, "field \"%s\" is out of range (%lld, allowed %lld..%lld)", key, n, min, max);
	*out = n;
	return 0;
}

/* jr_bool - boolean field; absent gives false unless required */
static int
jr_bool(struct jr *r, json_t *obj, const char *key, bool required, bool *out)
{
	bool bad = false;
	json_t *j = jr_get(r, obj, key, required, false, &bad);

	*out = false;
	if (bad)
		return -1;
	if (j == NULL)
		return 0;
	if (!json_is_boolean(j))
		return jr_fail(r, "field \"%s\" must be true or false, not %s", key, jr_type(j));
	*out = json_is_true(j);
	return 0;
}

/*
 * jr_enum - keyword field looked up in names[0..n); a null or absent field
 * gives def (or an error when required); an unknown keyword is an error
 * (a new keyword is an incompatible change: the version is bumped).
 */
static int
jr_enum(struct jr *r, json_t *obj, const char *key, bool required, const char *const *names,
    size_t n, unsigned def, unsigned *out)
{
	bool bad = false;
	json_t *j = jr_get(r, obj, key, required, !required, &bad);
	const char *s;
	size_t i;

	*out = def;
	if (bad)
		return -1;
	if (j == NULL)
		return 0;
	if (!json_is_string(j))
		return jr_fail(r, "field \"%s\" must be a string, not %s", key, jr_type(j));
	s = json_string_value(j);
	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], s) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	}
	return jr_fail(r, "field \"%s\" has an unknown value \"%.40s\"", key, s);
}

/* jr_result - an RFC 8601 result keyword, required */
static int
jr_result(struct jr *r, json_t *obj, const char *key, enum auth_res *out)
{
	char *s;
	int rc;

	if (jr_str(r, obj, key, true, &s) != 0)
		return -1;
	rc = auth_res_parse(s, out);
	if (rc != 0)
		jr_fail(r, "field \"%s\" has an unknown result \"%.40s\"", key, s);
	free(s);
	return rc;
}

/* jr_override - an override reason keyword, "none" when absent */
static int
jr_override(struct jr *r, json_t *obj, const char *key, enum override_reason *out)
{
	char *s;
	int i;

	*out = OVR_NONE;
	if (jr_str(r, obj, key, false, &s) != 0)
		return -1;
	if (s == NULL)
		return 0;
	for (i = OVR_NONE; i <= OVR_LAST; i++) {
		if (strcmp(override_reason_str((enum override_reason)i), s) == 0) {
			*out = (enum override_reason)i;
			free(s);
			return 0;
		}
	}
	jr_fail(r, "field \"%s\" has an unknown value \"%.40s\"", key, s);
	free(s);
	return -1;
}

/* jr_array - required array field with at most max elements */
static json_t *
jr_array(struct jr *r, json_t *obj, const char *key, bool required, size_t max, bool *bad)
{
	json_t *j = jr_get(r, obj, key, required, !required, bad);

	if (j == NULL)
		return NULL;
	if (!json_is_array(j)) {
		*bad = true;
		jr_fail(r, "field \"%s\" must be an array, not %s", key, jr_type(j));
		return NULL;
	}
	if (json_array_size(j) > max) {
		*bad = true;
		jr_fail(r, "field \"%s\" has %zu elements, at most %zu allowed", key,
		    json_array_size(j), max);
		return NULL;
	}
	return j;
}

/* jr_object_at - element i of an array must be an object */
static json_t *
jr_object_at(struct jr *r, json_t *arr, const char *name, size_t i)
{
	json_t *j = json_array_get(arr, i);

	snprintf(r->ctxbuf, sizeof(r->ctxbuf), "%s[%zu]", name, i);
	r->ctx = r->ctxbuf;
	if (!json_is_object(j)) {
		jr_fail(r, "must be an object, not %s", jr_type(j));
		return NULL;
	}
	return j;
}

/* jr_spf - an "spf" / "spf_helo" object */
static int
jr_spf(struct jr *r, json_t *o, struct spf_outcome *s)
{
	static const char *const scopes[] = { "mfrom", "helo" };
	unsigned scope;

	if (jr_enum(r, o, "scope", true, scopes, NELEM(scopes), 0, &scope) != 0 ||
	    jr_str(r, o, "domain", false, &s->domain) != 0 ||
	    jr_str(r, o, "identity", false, &s->identity) != 0 ||
	    jr_result(r, o, "result", &s->result) != 0 ||
	    jr_str(r, o, "human", false, &s->reason) != 0)
		return -1;
	s->helo_scope = scope == 1;
	return 0;
}

/* jr_dkim - one "dkim" element */
static int
jr_dkim(struct jr *r, json_t *o, struct dkim_outcome *d)
{
	long long bits;

	if (jr_str(r, o, "domain", false, &d->domain) != 0 ||
	    jr_str(r, o, "selector", false, &d->selector) != 0 ||
	    jr_str(r, o, "algorithm", false, &d->algorithm) != 0 ||
	    jr_str(r, o, "identity", false, &d->identity) != 0 ||
	    jr_int(r, o, "key_bits", false, 0, 1000000, 0, &bits) != 0 ||
	    jr_result(r, o, "result", &d->result) != 0 ||
	    jr_str(r, o, "human", false, &d->reason) != 0)
		return -1;
	d->key_bits = (unsigned)bits;
	return 0;
}

/* jr_uris - a "rua" / "ruf" array inside dmarc[i].record */
static int
jr_uris(struct jr *r, json_t *rec, const char *key, struct dmarc_uri **out, size_t *n)
{
	bool bad = false;
	json_t *arr = jr_array(r, rec, key, false, HISTORY_READ_MAX_ARRAY, &bad), *o;
	const char *saved = r->ctx;
	long long lim;
	size_t i;

	if (bad)
		return -1;
	if (arr == NULL || json_array_size(arr) == 0)
		return 0;
	*out = xcalloc(json_array_size(arr), sizeof(**out));
	for (i = 0; i < json_array_size(arr); i++) {
		*n = i + 1;
		snprintf(r->subbuf, sizeof(r->subbuf), "%s.record.%s[%zu]",
		    saved != NULL ? saved : "", key, i);
		r->ctx = r->subbuf;
		o = json_array_get(arr, i);
		if (!json_is_object(o))
			return jr_fail(r, "must be an object, not %s", jr_type(o));
		if (jr_str(r, o, "uri", true, &(*out)[i].uri) != 0 ||
		    jr_int(r, o, "size_limit", false, 0, LLONG_MAX, 0, &lim) != 0)
			return -1;
		(*out)[i].size_limit = (unsigned long long)lim;
	}
	r->ctx = saved;
	return 0;
}

/* jr_record - the "record" object of a DMARC outcome */
static int
jr_record(struct jr *r, json_t *o, struct dmarc_record *rec)
{
	static const char *const yn[] = { "n", "y" };
	unsigned p, sp, np, adkim, aspf, psd, t;
	long long pct, ri;
	json_t *jpct;

	if (jr_enum(r, o, "p", false, policy_names, NELEM(policy_names), DMARC_POLICY_UNSET, &p) != 0 ||
	    jr_enum(r, o, "sp", false, policy_names, NELEM(policy_names), DMARC_POLICY_UNSET, &sp) != 0 ||
	    jr_enum(r, o, "np", false, policy_names, NELEM(policy_names), DMARC_POLICY_UNSET, &np) != 0 ||
	    jr_enum(r, o, "adkim", false, align_names, NELEM(align_names), DMARC_ALIGN_RELAXED, &adkim) != 0 ||
	    jr_enum(r, o, "aspf", false, align_names, NELEM(align_names), DMARC_ALIGN_RELAXED, &aspf) != 0 ||
	    jr_enum(r, o, "psd", false, psd_names, NELEM(psd_names), DMARC_PSD_UNSET, &psd) != 0 ||
	    jr_enum(r, o, "t", false, yn, NELEM(yn), 0, &t) != 0)
		return -1;
	rec->p = p;
	rec->sp = sp;
	rec->np = np;
	rec->adkim = adkim;
	rec->aspf = aspf;
	rec->psd = psd;
	rec->testing = t == 1;
	jpct = json_object_get(o, "pct");
	rec->pct_set = jpct != NULL && !json_is_null(jpct);
	if (rec->pct_set) {
		if (jr_int(r, o, "pct", true, 0, 100, 100, &pct) != 0)
			return -1;
	} else {
		pct = 100;
	}
	rec->pct = (unsigned)pct;
	if (jr_int(r, o, "ri", false, 0, 0xffffffffLL, 86400, &ri) != 0)
		return -1;
	rec->ri = (unsigned)ri;
	if (jr_bool(r, o, "p_invalid", false, &rec->p_invalid) != 0 ||
	    jr_str(r, o, "fo", false, &rec->fo) != 0 ||
	    jr_str(r, o, "rf", false, &rec->rf) != 0 ||
	    jr_str(r, o, "raw", false, &rec->raw) != 0 ||
	    jr_uris(r, o, "rua", &rec->rua, &rec->n_rua) != 0 ||
	    jr_uris(r, o, "ruf", &rec->ruf, &rec->n_ruf) != 0)
		return -1;
	return 0;
}

/* jr_dmarc - one "dmarc" element */
static int
jr_dmarc(struct jr *r, json_t *o, struct dmarc_outcome *d)
{
	unsigned disc, pol, disp;
	bool bad = false;
	json_t *rec;

	if (jr_str(r, o, "from_domain", false, &d->from_domain) != 0 ||
	    jr_str(r, o, "policy_domain", false, &d->policy_domain) != 0 ||
	    jr_str(r, o, "org_domain", false, &d->org_domain) != 0 ||
	    jr_enum(r, o, "discovery", false, discovery_names, NELEM(discovery_names), DISCOVERY_PSL, &disc) != 0 ||
	    jr_result(r, o, "result", &d->result) != 0 ||
	    jr_enum(r, o, "policy", false, policy_names, NELEM(policy_names), DMARC_POLICY_UNSET, &pol) != 0 ||
	    jr_bool(r, o, "spf_aligned", false, &d->spf_aligned) != 0 ||
	    jr_bool(r, o, "dkim_aligned", false, &d->dkim_aligned) != 0 ||
	    jr_enum(r, o, "disposition", true, disposition_names, NELEM(disposition_names), DISP_NONE, &disp) != 0 ||
	    jr_override(r, o, "override", &d->reason) != 0 ||
	    jr_str(r, o, "comment", false, &d->comment) != 0)
		return -1;
	d->discovery = disc;
	d->policy = pol;
	d->disposition = disp;
	rec = jr_get(r, o, "record", false, true, &bad);
	if (rec == NULL)
		return 0;
	if (!json_is_object(rec))
		return jr_fail(r, "field \"record\" must be an object, not %s", jr_type(rec));
	d->have_record = true;
	return jr_record(r, rec, &d->record);
}

/* jr_top - the top-level fields */
static int
jr_top(struct jr *r, json_t *root, struct history_record *out)
{
	struct verdict *v = &out->v;
	long long n;
	unsigned disp;
	bool bad = false;
	json_t *arr, *o;
	size_t i;

	if (jr_int(r, root, "time", true, 0, HISTORY_MAX_TIME, 0, &n) != 0)
		return -1;
	out->when = v->when = (time_t)n;
	if (jr_str(r, root, "id", false, &out->id) != 0 ||
	    jr_str(r, root, "queue_id", false, &out->queue_id) != 0 ||
	    jr_str(r, root, "reporter", false, &out->reporter) != 0 ||
	    jr_str(r, root, "client_ip", true, &out->client_ip) != 0 ||
	    jr_str(r, root, "helo", false, &out->helo) != 0 ||
	    jr_str(r, root, "mail_from", false, &out->mail_from) != 0 ||
	    jr_str(r, root, "mail_from_domain", false, &out->mail_from_domain) != 0 ||
	    jr_str(r, root, "header_from", false, &out->header_from) != 0 ||
	    jr_str(r, root, "action", true, &out->action) != 0 ||
	    jr_enum(r, root, "disposition", true, disposition_names, NELEM(disposition_names), DISP_NONE, &disp) != 0 ||
	    jr_bool(r, root, "from_problem", false, &v->from_problem) != 0 ||
	    jr_str(r, root, "from_comment", false, &v->from_comment) != 0 ||
	    jr_bool(r, root, "truncated", false, &out->truncated) != 0)
		return -1;
	v->disposition = disp;
	if (jr_int(r, root, "from_headers", false, 0, 1000000, 0, &n) != 0)
		return -1;
	v->n_from_headers = (size_t)n;

	arr = jr_array(r, root, "rcpt_domains", false, HISTORY_READ_MAX_ARRAY, &bad);
	if (bad)
		return -1;
	if (arr != NULL && json_array_size(arr) > 0) {
		out->rcpt_domains = xcalloc(json_array_size(arr), sizeof(char *));
		for (i = 0; i < json_array_size(arr); i++) {
			o = json_array_get(arr, i);
			if (!json_is_string(o))
				return jr_fail(r, "rcpt_domains[%zu] must be a string, not %s", i, jr_type(o));
			out->rcpt_domains[i] = xstrdup(json_string_value(o));
			out->n_rcpt_domains = i + 1;
		}
	}

	o = jr_get(r, root, "spf", true, true, &bad);
	if (bad)
		return -1;
	if (o != NULL) {
		r->ctx = "spf";
		if (!json_is_object(o))
			return jr_fail(r, "must be an object or null, not %s", jr_type(o));
		if (jr_spf(r, o, &v->spf) != 0)
			return -1;
		r->ctx = NULL;
	}
	o = jr_get(r, root, "spf_helo", false, true, &bad);
	if (o != NULL) {
		r->ctx = "spf_helo";
		if (!json_is_object(o))
			return jr_fail(r, "must be an object or null, not %s", jr_type(o));
		v->have_spf_helo = true;
		if (jr_spf(r, o, &v->spf_helo) != 0)
			return -1;
		r->ctx = NULL;
	}

	arr = jr_array(r, root, "dkim", true, HISTORY_READ_MAX_ARRAY, &bad);
	if (bad)
		return -1;
	if (json_array_size(arr) > 0) {
		v->dkim = xcalloc(json_array_size(arr), sizeof(*v->dkim));
		for (i = 0; i < json_array_size(arr); i++) {
			v->n_dkim = i + 1;
			if ((o = jr_object_at(r, arr, "dkim", i)) == NULL || jr_dkim(r, o, &v->dkim[i]) != 0)
				return -1;
		}
		r->ctx = NULL;
	}

	arr = jr_array(r, root, "dmarc", true, HISTORY_READ_MAX_ARRAY, &bad);
	if (bad)
		return -1;
	if (json_array_size(arr) > 0) {
		v->dmarc = xcalloc(json_array_size(arr), sizeof(*v->dmarc));
		for (i = 0; i < json_array_size(arr); i++) {
			v->n_dmarc = i + 1;
			if ((o = jr_object_at(r, arr, "dmarc", i)) == NULL || jr_dmarc(r, o, &v->dmarc[i]) != 0)
				return -1;
		}
		r->ctx = NULL;
	}
	if (jr_int(r, root, "deciding", false, 0, v->n_dmarc > 0 ? (long long)v->n_dmarc - 1 : 0, 0, &n) != 0)
		return -1;
	v->deciding = (size_t)n;
	return 0;
}

/* history_parse - one line back into a record */
int
history_parse(const char *line, size_t len, struct history_record *out,
    char *err, size_t errlen)
{
	struct jr r = { err, errlen, NULL, { 0 }, { 0 } };
	json_error_t jerr;
	json_t *root;
	long long ver;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	verdict_init(&out->v);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (line == NULL)
		return jr_fail(&r, "no line");
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len == 0)
		return jr_fail(&r, "empty line");
	if (len > HISTORY_MAX_LINE)
		return jr_fail(&r, "line too long (%zu bytes, at most %u)", len, HISTORY_MAX_LINE);
	if (memchr(line, '\n', len) != NULL)
		return jr_fail(&r, "newline inside the record");
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return jr_fail(&r, "not JSON: %s (column %d)", jerr.text, jerr.column);
	if (!json_is_object(root)) {
		jr_fail(&r, "a record is a JSON object, not %s", jr_type(root));
		goto out;
	}
	if (jr_int(&r, root, "v", true, 1, LLONG_MAX, 0, &ver) != 0)
		goto out;
	if (ver > HISTORY_VERSION) {
		jr_fail(&r, "record version %lld is newer than this reader understands (%d); "
		    "upgrade dmarc-reports", ver, HISTORY_VERSION);
		goto out;
	}
	out->version = (int)ver;
	rc = jr_top(&r, root, out);
out:
	json_decref(root);
	if (rc != 0)
		history_record_free(out);
	return rc;
}

/* history_record_free - release a record filled by history_parse */
void
history_record_free(struct history_record *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->id);
	free(r->queue_id);
	free(r->reporter);
	free(r->client_ip);
	free(r->helo);
	free(r->mail_from);
	free(r->mail_from_domain);
	free(r->header_from);
	for (i = 0; r->rcpt_domains != NULL && i < r->n_rcpt_domains; i++)
		free(r->rcpt_domains[i]);
	free(r->rcpt_domains);
	free(r->action);
	verdict_free(&r->v);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------------
 * Appender
 *
 * Atomicity.  Each record is one complete line handed to ONE write(2) on a
 * descriptor opened with O_APPEND.  POSIX (write(2), O_APPEND) requires
 * that setting the offset to the end and writing happen with no
 * intervening modification; on Linux the local filesystems (ext4, xfs,
 * btrfs, tmpfs) also hold the inode lock for the whole write of a regular
 * file, so two writes never interleave, from threads or from processes,
 * whatever their size.  That does not hold on NFS (O_APPEND is emulated
 * by the client) nor for pipes above PIPE_BUF: keep the history on a local
 * filesystem.  A short write (disk full, file size limit) leaves a broken
 * last line; we count and log it and never write the rest with a second
 * call, which could land after another thread's record and tear both.
 * Instead the appender takes the write side of the lock (no write is in
 * flight then) and cuts the file back to its last '\n' (history_cut_tail),
 * so the file again holds complete lines only.  Should that fail (a file
 * we may not read, a torn piece longer than any record, or a record
 * another thread appended after the torn one in the instant between the
 * two locks), the next record is written with a '\n' in front, in its own
 * single write, so the damage stays one broken line.  The reader of the
 * file (dmarc-reports import) reports and skips a line that does not
 * parse, and skips blank lines.
 *
 * Rotation.  history_reopen() opens the path again FIRST (a failure
 * leaves everything as it was: records keep going to the old file), then
 * swaps the descriptor under the write side of a rwlock.  Appenders hold
 * the read side across their write(2), so they never wait for each
 * other; the swap waits until the writes in flight on the old descriptor
 * are done, and the old descriptor is closed only after the swap, when
 * nobody can be using it.  Every record lands, complete, either in the
 * renamed file or in the new one.  The lock prefers writers, so a steady
 * stream of appends cannot starve a reopen.
 *
 * Failure reports.  A full or read-only disk makes every append fail, and
 * a busy server appends many times a second: the first failure is logged
 * at once, then at most one line per error interval (HistoryErrorInterval)
 * says how many records were lost since the last line and why, and one
 * line says when writing works again.  The counts are exact (a mutex, on
 * the failure path only); a working append looks at one atomic flag.
 */

struct history_file {
	char			*path;
	int			 fd;		/* guarded by lock */
	bool			 readable;	/* fd is O_RDWR: the torn tail can be cut */
	pthread_rwlock_t	 lock;
	_Atomic uint64_t	 appended;
	_Atomic uint64_t	 failed;
	_Atomic uint64_t	 short_writes;
	_Atomic uint64_t	 reopens;
	_Atomic uint64_t	 reopen_failures;
	atomic_bool		 broken_tail;	/* a short write left a line without '\n' */

	/* failure reports, guarded by elock (failing is also read without it) */
	pthread_mutex_t		 elock;
	atomic_bool		 failing;	/* the last append failed */
	unsigned		 err_interval;	/* seconds between two reports */
	uint64_t		 err_last;	/* CLOCK_MONOTONIC ms of the last report */
	uint64_t		 err_since_report;	/* records lost since the last report */
	uint64_t		 err_outage;	/* records lost since writing last worked */
};

/*
 * history_open_fd - open the path for appending; the file is created 0640.
 * Read access lets history_cut_tail() find the last complete line; a file
 * we may only write is still used, without that repair.
 */
static int
history_open_fd(const char *path, bool *readable)
{
	int fd;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	*readable = fd >= 0;
	if (fd < 0 && errno == EACCES)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	return fd;
}

/* history_open - open (create) the history file for appending */
struct history_file *
history_open(const char *path, char *err, size_t errlen)
{
	struct history_file *hf;
	pthread_rwlockattr_t attr;
	struct stat st;
	bool readable;
	int fd;

	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no history file name");
		return NULL;
	}
	if ((fd = history_open_fd(path, &readable)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		log_warn("history file %s is not a regular file: records may interleave", path);
	hf = xcalloc(1, sizeof(*hf));
	hf->path = xstrdup(path);
	hf->fd = fd;
	hf->readable = readable;
	hf->err_interval = HISTORY_ERROR_INTERVAL;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&hf->lock, &attr) != 0) {
		pthread_rwlockattr_destroy(&attr);
		snprintf(err, errlen, "%s: cannot create lock", path);
		close(fd);
		free(hf->path);
		free(hf);
		return NULL;
	}
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&hf->elock, NULL);
	return hf;
}

/* history_set_error_interval - seconds between two failure reports (0: report each) */
void
history_set_error_interval(struct history_file *hf, unsigned seconds)
{
	if (hf == NULL)
		return;
	pthread_mutex_lock(&hf->elock);
	hf->err_interval = seconds;
	pthread_mutex_unlock(&hf->elock);
}

/* mono_ms - CLOCK_MONOTONIC milliseconds: a clock that a date change cannot move */
static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * history_note_failure - count one lost record and report it: the first
 * failure at once, later ones at most once per interval, each report with
 * the number lost since the previous one.
 */
static void
history_note_failure(struct history_file *hf, const char *why)
{
	uint64_t now = mono_ms();

	pthread_mutex_lock(&hf->elock);
	hf->err_outage++;
	hf->err_since_report++;
	if (!atomic_load(&hf->failing)) {
		atomic_store(&hf->failing, true);
		log_warn("history %s: %s; record lost (repeated failures are reported "
		    "at most every %u s)", hf->path, why, hf->err_interval);
		hf->err_last = now;
		hf->err_since_report = 0;
	} else if (now - hf->err_last >= (uint64_t)hf->err_interval * 1000) {
		log_warn("history %s: %s; %llu records lost since the last report "
		    "(%llu since writing stopped)", hf->path, why,
		    (unsigned long long)hf->err_since_report, (unsigned long long)hf->err_outage);
		hf->err_last = now;
		hf->err_since_report = 0;
	}
	pthread_mutex_unlock(&hf->elock);
}

/* history_note_success - after failures, say once that writing works again */
static void
history_note_success(struct history_file *hf)
{
	if (!atomic_load_explicit(&hf->failing, memory_order_relaxed))
		return;
	pthread_mutex_lock(&hf->elock);
	if (atomic_load(&hf->failing)) {
		atomic_store(&hf->failing, false);
		log_warn("history %s: writing again after %llu records lost", hf->path,
		    (unsigned long long)hf->err_outage);
		hf->err_outage = 0;
		hf->err_since_report = 0;
	}
	pthread_mutex_unlock(&hf->elock);
}

/*
 * history_cut_tail - after a short write: cut the file back to just after
 * its last '\n', removing the torn record, so that the file holds complete
 * lines only.  Called with the write lock held: no append is in flight, the
 * end of the file stands still.  The torn piece is shorter than a record
 * (plus the '\n' that may lead it), so we look no further back than that.
 * Returns 0 when the file now ends in '\n' (or is empty), -1 otherwise.
 */
static int
history_cut_tail(struct history_file *hf)
{
	char chunk[4096];
	struct stat st;
	off_t end, pos, limit;
	ssize_t n, i;

	if (!hf->readable || fstat(hf->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	end = st.st_size;
	limit = end > (off_t)HISTORY_MAX_LINE + 1 ? end - (off_t)HISTORY_MAX_LINE - 1 : 0;
	for (pos = end; pos > limit; pos -= n) {
		n = pos - limit < (off_t)sizeof(chunk) ? (ssize_t)(pos - limit) : (ssize_t)sizeof(chunk);
		if (pread(hf->fd, chunk, (size_t)n, pos - n) != n)
			return -1;
		for (i = n - 1; i >= 0; i--) {
			if (chunk[i] != '\n')
				continue;
			if (pos - n + i + 1 == end)
				return 0;		/* ends in '\n': nothing torn (any more) */
			return ftruncate(hf->fd, pos - n + i + 1);
		}
	}
	if (limit == 0)
		return ftruncate(hf->fd, 0);	/* the whole file is the torn record */
	return -1;
}

/*
 * history_append - write one record (a complete line ending in '\n', no
 * other '\n') with exactly one write(2).  Returns 0, or -1 when the record
 * was not (completely) written; failures are counted and reported (see
 * "Failure reports" above), and a short write's torn piece is cut off.
 */
int
history_append(struct history_file *hf, const char *line, size_t len)
{
	ssize_t n;
	int saved;
	char *buf = NULL, why[160];
	bool cut = false;

	if (hf == NULL || line == NULL || len == 0 || len > HISTORY_MAX_LINE ||
	    line[len - 1] != '\n' || memchr(line, '\n', len - 1) != NULL) {
		if (hf != NULL)
			atomic_fetch_add_explicit(&hf->failed, 1, memory_order_relaxed);
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_rdlock(&hf->lock);
	if (atomic_exchange(&hf->broken_tail, false)) {
		/*
		 * The file ends in a partial record: start ours on a new line,
		 * with the '\n' in the same single write, so that only the
		 * broken record is lost and not this one too.
		 */
		buf = xmalloc(len + 1);
		buf[0] = '\n';
		memcpy(buf + 1, line, len);
		line = buf;
		len++;
	}
	do {
		/* EINTR with -1 means nothing was written: retrying cannot tear */
		n = write(hf->fd, line, len);
	} while (n < 0 && errno == EINTR);
	saved = errno;
	if (n < 0 && buf != NULL)
		atomic_store(&hf->broken_tail, true);	/* still broken */
	pthread_rwlock_unlock(&hf->lock);
	free(buf);

	if (n >= 0 && (size_t)n == len) {
		atomic_fetch_add_explicit(&hf->appended, 1, memory_order_relaxed);
		history_note_success(hf);
		return 0;
	}
	atomic_fetch_add_explicit(&hf->failed, 1, memory_order_relaxed);
	if (n >= 0) {
		/* disk full, file size limit: the record went in partly */
		atomic_fetch_add_explicit(&hf->short_writes, 1, memory_order_relaxed);
		pthread_rwlock_wrlock(&hf->lock);
		if (history_cut_tail(hf) == 0)
			cut = true;
		else
			atomic_store(&hf->broken_tail, true);
		pthread_rwlock_unlock(&hf->lock);
		snprintf(why, sizeof(why), "short write (%zd of %zu bytes: disk full or file size "
		    "limit), %s", n, len, cut ? "cut back to the last complete line" : "the last line is broken");
		history_note_failure(hf, why);
		saved = EIO;
	} else {
		snprintf(why, sizeof(why), "write failed: %s", strerror(saved));
		history_note_failure(hf, why);
	}
	errno = saved;
	return -1;
}

/*
 * history_reopen - start writing to a new file at the same path (after
 * "mv history history.1", SIGUSR1).  Safe against concurrent appends: see
 * the block comment above.  -1 (logged, counted) leaves the old file in
 * use.
 */
int
history_reopen(struct history_file *hf)
{
	int nfd, ofd, saved;
	bool readable;

	if (hf == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((nfd = history_open_fd(hf->path, &readable)) < 0) {
		saved = errno;
		atomic_fetch_add_explicit(&hf->reopen_failures, 1, memory_order_relaxed);
		log_warn("history %s: reopen failed: %s; still writing to the old file",
		    hf->path, strerror(saved));
		errno = saved;
		return -1;
	}
	pthread_rwlock_wrlock(&hf->lock);
	ofd = hf->fd;
	hf->fd = nfd;
	hf->readable = readable;
	atomic_store(&hf->broken_tail, false);	/* the new file ends cleanly */
	pthread_rwlock_unlock(&hf->lock);
	close(ofd);
	atomic_fetch_add_explicit(&hf->reopens, 1, memory_order_relaxed);
	return 0;
}

/* history_get_stats - the counters, for the stats log line */
void
history_get_stats(struct history_file *hf, struct history_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (hf == NULL)
		return;
	st->appended = atomic_load_explicit(&hf->appended, memory_order_relaxed);
	st->failed = atomic_load_explicit(&hf->failed, memory_order_relaxed);
	st->short_writes = atomic_load_explicit(&hf->short_writes, memory_order_relaxed);
	st->reopens = atomic_load_explicit(&hf->reopens, memory_order_relaxed);
	st->reopen_failures = atomic_load_explicit(&hf->reopen_failures, memory_order_relaxed);
}

/* history_close - close the file; no other thread may use hf any more */
void
history_close(struct history_file *hf)
{
	if (hf == NULL)
		return;
	close(hf->fd);
	pthread_rwlock_destroy(&hf->lock);
	pthread_mutex_destroy(&hf->elock);
	free(hf->path);
	free(hf);
}
