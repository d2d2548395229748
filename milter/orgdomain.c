/*
 * orgdomain.c - domain normalization (libidn2), Organizational Domains from
 * the Public Suffix List (libpsl), and identifier alignment.
 *
 * Why not libopendmarc's PSL code: it drops one-letter labels, mishandles
 * wildcard rules, aligns any parent/child pair and ignores case
 * (LIBRARIES.md §4.2, D1-D5; docs/opendmarc-divergences.md).
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <libpsl.h>

#include "buf.h"
#include "orgdomain.h"
#include "util.h"

struct orgdomain {
	psl_ctx_t	*psl;		/* immutable after load */
	bool		 builtin;	/* psl_builtin(): owned by libpsl */
	char		*source;	/* file name or "built-in" */
	time_t		 date;
	int		 rules;		/* psl_suffix_count(); -1 for DAFSA files */
};

/* is_ldh_ - letter, digit, hyphen or underscore (ASCII, either case) */
static bool
is_ldh_(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * idn_to_alabel - IDNA conversion of one label or name with libidn2:
 * UTS #46 non-transitional processing (IDNA2008 semantics, e.g. "ß" stays
 * "ß"), and if that refuses, transitional processing, which is what libpsl
 * does so that names it knows are not lost.  Returns 0 or the idn2 error.
 */
static int
idn_to_alabel(const char *in, char **out)
{
	int rc;

	*out = NULL;
	rc = idn2_to_ascii_8z(in, out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		free(*out);
		*out = NULL;
		rc = idn2_to_ascii_8z(in, out, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
		if (rc != IDN2_OK) {
			free(*out);
			*out = NULL;
		}
	}
	return rc;
}

/*
 * check_canonical - validate an ASCII name in its final form: non-empty
 * labels of at most 63 octets, at most 253 octets in all (RFC 1035
 * §2.3.4, the presentation form of a 255-octet wire name), only lowercase
 * letters, digits, hyphen and underscore.  NULL when fine, else why not.
 */
static const char *
check_canonical(const char *s)
{
	size_t label = 0, total = 0;
	const unsigned char *p;

	if (*s == '\0')
		return "empty domain name";
	if (*s == '.')
		return "leading dot";
	for (p = (const unsigned char *)s; *p != '\0'; p++, total++) {
		if (total >= DOMAIN_MAX_LEN)
			return "domain name longer than 253 octets";
		if (*p == '.') {
			if (label == 0)
				return "empty label";
			label = 0;
			continue;
		}
		if (!is_ldh_(*p) || (*p >= 'A' && *p <= 'Z'))
			return "character not allowed in a domain name";
		if (++label > DOMAIN_MAX_LABEL)
			return "label longer than 63 octets";
	}
	if (label == 0)
		return "empty label";	/* trailing dot */
	return NULL;
}

/* domain_is_normalized - already in the form domain_normalize returns */
bool
domain_is_normalized(const char *s)
{
	return s != NULL && check_canonical(s) == NULL;
}

/*
 * check_alabel - an ASCII label starting "xn--" must be a valid A-label:
 * punycode that decodes to a valid U-label and encodes back to exactly the
 * same (lowercase) label.  Garbage such as "xn--zz" would otherwise let two
 * spellings of "the same" name compare differently, or a name that no IDN
 * software can display pass as if it were fine.
 */
static int
check_alabel(const char *label, char *err, size_t errlen)
{
	char *out;
	int rc;

	rc = idn_to_alabel(label, &out);
	if (rc != IDN2_OK) {
		err_set(err, errlen, "invalid A-label \"%s\": %s", label, idn2_strerror(rc));
		return -1;
	}
	rc = strcmp(out, label);
	free(out);
	if (rc != 0) {
		err_set(err, errlen, "A-label \"%s\" is not in canonical form", label);
		return -1;
	}
	return 0;
}

/*
 * domain_normalize - canonical form for comparing domains (see orgdomain.h).
 *
 * RFC 9989 "Identifier Alignment Explained": domain name comparisons are
 * case-insensitive (RFC 4343); we lowercase once here, without the locale.
 * Internationalized names are compared as A-labels (RFC 5890 §2.3.2.1),
 * which is also what the DNS holds and what libpsl matches.  Each label is
 * handled on its own: ASCII labels are lowercased and checked (an "xn--"
 * label must be valid punycode), labels with 8-bit bytes go through libidn2,
 * which also lowercases them (UTS #46 mapping), so "BÜCHER" becomes
 * "xn--bcher-kva".  The result is checked once more as a whole.
 */
char *
domain_normalize(const char *in, char *err, size_t errlen)
{
	struct buf out;
	const char *s, *e, *end;
	const char *why;
	size_t n;

	if (in == NULL) {
		err_set(err, errlen, "no domain name");
		return NULL;
	}
	n = strnlen(in, DOMAIN_MAX_INPUT + 1);
	if (n > DOMAIN_MAX_INPUT) {
		err_set(err, errlen, "domain name longer than %d bytes", DOMAIN_MAX_INPUT);
		return NULL;
	}
	if (n > 0 && in[n - 1] == '.')
		n--;			/* an absolute name: strip one dot */
	if (n == 0) {
		err_set(err, errlen, "empty domain name");
		return NULL;
	}
	if (in[0] == '.') {
		err_set(err, errlen, "leading dot in domain name");
		return NULL;
	}

	buf_init(&out, DOMAIN_MAX_INPUT);
	end = in + n;
	for (s = in; s <= end; s = e + 1) {
		bool ascii = true;
		size_t len;
		const char *p;

		for (e = s; e < end && *e != '.'; e++)
			if ((unsigned char)*e >= 0x80)
				ascii = false;
		len = (size_t)(e - s);
		if (len == 0) {
			err_set(err, errlen, "empty label in domain name");
			goto fail;
		}
		if (s != in)
			buf_putc(&out, '.');
		if (ascii) {
			size_t start = out.len;

			if (len > DOMAIN_MAX_LABEL) {
				err_set(err, errlen, "label longer than %d octets", DOMAIN_MAX_LABEL);
				goto fail;
			}
			for (p = s; p < e; p++) {
				if (!is_ldh_((unsigned char)*p)) {
					err_set(err, errlen, "character 0x%02x not allowed in a domain name",
					    (unsigned char)*p);
					goto fail;
				}
				buf_putc(&out, ascii_tolower(*p));
			}
			if (len >= 4 && strncmp(out.data + start, "xn--", 4) == 0 &&
			    check_alabel(out.data + start, err, errlen) != 0)
				goto fail;
		} else {
			char *label = xstrndup(s, len), *alabel;
			int rc = idn_to_alabel(label, &alabel);

			free(label);
			if (rc != IDN2_OK) {
				err_set(err, errlen, "invalid internationalized label: %s",
				    idn2_strerror(rc));
				goto fail;
			}
			if (*alabel == '\0') {	/* e.g. only a soft hyphen, which UTS #46 drops */
				free(alabel);
				err_set(err, errlen, "label empty after IDNA mapping");
				goto fail;
			}
			ascii_lowercase(alabel);
			buf_puts(&out, alabel);
			free(alabel);
		}
	}
	if (out.truncated) {
		err_set(err, errlen, "domain name too long");
		goto fail;
	}
	if ((why = check_canonical(buf_str(&out))) != NULL) {
		err_set(err, errlen, "%s", why);
		goto fail;
	}
	return buf_detach(&out);

fail:
	buf_free(&out);
	return NULL;
}

/*
 * default_source - name the file psl_latest(NULL) chose, by its own rule
 * (libpsl 0.21 src/psl.c): of the distribution file and the file the
 * built-in data came from, the newest one strictly newer than the built-in
 * data wins; ties keep that order.  libpsl does not say which it loaded.
 */
static const char *
default_source(time_t *date)
{
	const char *cand[2], *best = NULL;
	time_t bt = psl_builtin_file_time(), best_mtime = 0;
	struct stat st;
	size_t i;

	cand[0] = psl_dist_filename();
	cand[1] = psl_builtin_filename();
	for (i = 0; i < 2; i++) {
		if (cand[i] == NULL || *cand[i] == '\0' || stat(cand[i], &st) != 0)
			continue;
		if (st.st_mtime > bt && (best == NULL || st.st_mtime > best_mtime)) {
			best = cand[i];
			best_mtime = st.st_mtime;
		}
	}
	*date = best_mtime;
	return best;
}

/* orgdomain_load - load a list from path, or the system default when NULL */
struct orgdomain *
orgdomain_load(const char *path, char *err, size_t errlen)
{
	struct orgdomain *od;
	psl_ctx_t *psl;
	struct stat st;
	FILE *fp;

	if (path != NULL) {
		if (*path == '\0') {
			err_set(err, errlen, "empty public suffix list file name");
			return NULL;
		}
		/*
		 * An explicitly configured file is used as is (not via
		 * psl_latest, which would silently prefer a newer system list)
		 * and must load.
		 */
		if ((fp = fopen(path, "r")) == NULL) {
			err_set(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
		psl = psl_load_fp(fp);
		if (fstat(fileno(fp), &st) != 0)
			st.st_mtime = 0;
		fclose(fp);
		if (psl == NULL) {
			err_set(err, errlen, "%s: not a public suffix list", path);
			return NULL;
		}
		if (psl_suffix_count(psl) == 0) {
			psl_free(psl);
			err_set(err, errlen, "%s: public suffix list has no rules", path);
			return NULL;
		}
		od = xcalloc(1, sizeof(*od));
		od->psl = psl;
		od->source = xstrdup(path);
		od->date = st.st_mtime;
	} else {
		const char *file;
		time_t date;

		if ((psl = psl_latest(NULL)) == NULL) {
			err_set(err, errlen, "no public suffix list: no system file and no built-in list");
			return NULL;
		}
		od = xcalloc(1, sizeof(*od));
		od->psl = psl;
		if (psl == psl_builtin()) {
			od->builtin = true;
			od->source = xstrdup("built-in");
			od->date = psl_builtin_file_time();
		} else if ((file = default_source(&date)) != NULL) {
			od->source = xstrdup(file);
			od->date = date;
		} else {
			od->source = xstrdup("system default");
			od->date = 0;
		}
	}
	od->rules = psl_suffix_count(od->psl);
	return od;
}

/* orgdomain_free - release a list (NULL is fine) */
void
orgdomain_free(struct orgdomain *od)
{
	if (od == NULL)
		return;
	if (!od->builtin)
		psl_free(od->psl);
	free(od->source);
	free(od);
}

/* orgdomain_source - where the list came from */
const char *
orgdomain_source(const struct orgdomain *od)
{
	return od != NULL ? od->source : "(none)";
}

/* orgdomain_date - date of the list, 0 when unknown */
time_t
orgdomain_date(const struct orgdomain *od)
{
	return od != NULL ? od->date : 0;
}

/* orgdomain_rules - number of rules, -1 when libpsl cannot tell */
int
orgdomain_rules(const struct orgdomain *od)
{
	return od != NULL ? od->rules : -1;
}

/*
 * orgdomain_psl - Organizational Domain by RFC 7489 §3.2: the longest
 * public suffix that matches, plus one more label.  Both sections of the
 * list count (DMARC treats private-section entries such as github.io as
 * public suffixes).  libpsl applies wildcard and exception rules and the
 * default "*" rule, so an unlisted TLD is a public suffix and
 * "example.nosuchtld" its own Organizational Domain.
 */
char *
orgdomain_psl(const struct orgdomain *od, const char *normalized)
{
	const char *r;

	if (od == NULL || !domain_is_normalized(normalized))
		return NULL;
	r = psl_registrable_domain(od->psl, normalized);
	return r != NULL && *r != '\0' ? xstrdup(r) : NULL;
}

/* orgdomain_is_public_suffix - the name is a public suffix (fails closed: true when unsure) */
bool
orgdomain_is_public_suffix(const struct orgdomain *od, const char *normalized)
{
	if (od == NULL || !domain_is_normalized(normalized))
		return true;
	return psl_is_public_suffix2(od->psl, normalized, PSL_TYPE_ANY) != 0;
}

/*
 * orgdomain_aligned_with - identifier alignment.
 *
 * RFC 7489 §3.1.1/§3.1.2 and RFC 9989 ("Identifier Alignment Explained"):
 * strict alignment requires the two names to be identical; relaxed
 * alignment requires the same Organizational Domain.  Comparison is
 * case-insensitive (RFC 4343), which normalization already took care of,
 * so plain strcmp is exact.
 *
 * A public suffix has no Organizational Domain under RFC 7489 §3.2 (there
 * is no "x+1"th label).  We decide:
 *   - identical names align in both modes: relaxed is never stricter than
 *     strict, and under RFC 9989 a PSD that publishes psd=y is its own
 *     Organizational Domain;
 *   - otherwise a name without an Organizational Domain aligns with
 *     nothing: "foo.github.io" and "github.io" do not align (libopendmarc
 *     D3 aligned any parent/child pair), nor do "co.uk" and "x.co.uk".
 */
bool
orgdomain_aligned_with(enum dmarc_align mode, const char *from_norm, const char *from_org,
    const char *id_norm, const char *id_org)
{
	if (!domain_is_normalized(from_norm) || !domain_is_normalized(id_norm))
		return false;
	if (strcmp(from_norm, id_norm) == 0)
		return true;
	if (mode == DMARC_ALIGN_STRICT)
		return false;
	if (from_org == NULL || id_org == NULL || *from_org == '\0' || *id_org == '\0')
		return false;
	return strcmp(from_org, id_org) == 0;
}

/* orgdomain_aligned_psl - alignment with Organizational Domains from the PSL */
bool
orgdomain_aligned_psl(const struct orgdomain *od, enum dmarc_align mode, const char *from_norm,
    const char *id_norm)
{
	char *from_org, *id_org;
	bool aligned;

	if (!domain_is_normalized(from_norm) || !domain_is_normalized(id_norm))
		return false;
	if (strcmp(from_norm, id_norm) == 0)
		return true;
	if (mode == DMARC_ALIGN_STRICT)
		return false;		/* strict never consults the PSL */
	from_org = orgdomain_psl(od, from_norm);
	id_org = orgdomain_psl(od, id_norm);
	aligned = orgdomain_aligned_with(mode, from_norm, from_org, id_norm, id_org);
	free(from_org);
	free(id_org);
	return aligned;
}
