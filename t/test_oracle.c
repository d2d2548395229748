/*
 * test_oracle.c - differential test of our identifier alignment against
 * libopendmarc 1.4.2's opendmarc_policy_check_alignment().
 *
 * libopendmarc is only an oracle here (LIBRARIES.md §4.4): both sides load
 * the same Debian PSL file, and on ordinary well-formed names they must
 * agree.  Every disagreement must fall into one of the documented
 * divergence classes (docs/opendmarc-divergences.md):
 *   D1 a one-letter label (opendmarc_reverse_domain drops it)
 *   D2 a name under a wildcard PSL rule ("*.ck" read as "ck")
 *   D3 relaxed mode, a public suffix and its child (parent/child aligned
 *      before the PSL is consulted)
 *   D4 strict mode: the org domain of the second argument is compared
 *      with the first, so an org domain and any of its subdomains "align"
 *   D5 upper case in the input (libopendmarc does not fold case)
 * libopendmarc gets the names as written, we get them normalized, as the
 * milter does.
 *
 * libopendmarc itself calls the function both ways round: (d=, From) when
 * it stores a DKIM result and (From, d=) when it decides the policy; both
 * orders are compared.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Our headers first: <opendmarc/dmarc.h> #defines names such as
 * DMARC_POLICY_NONE that dmarc_record.h declares as enumerators, so it must
 * come after them (and this file must not use those names).
 */
#include "orgdomain.h"
#include "tap.h"

#include <opendmarc/dmarc.h>

#define TEST_PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"

#define R DMARC_ALIGN_RELAXED
#define S DMARC_ALIGN_STRICT

static struct orgdomain *od;

/* wildcard rules ("*.x" -> "x") read from the PSL file, for class D2 */
static char **wild;
static size_t nwild;

static int n_cmp, n_agree, n_class[6];

/* load_wildcards - collect the bases of the list's wildcard rules */
static void
load_wildcards(void)
{
	char *line = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	FILE *fp = fopen(TEST_PSL_FILE, "r");

	if (fp == NULL)
		return;
	while ((n = getline(&line, &cap, fp)) != -1) {
		char *base;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (strncmp(line, "*.", 2) != 0)
			continue;
		if ((base = domain_normalize(line + 2, err, sizeof(err))) == NULL)
			continue;
		wild = realloc(wild, (nwild + 1) * sizeof(*wild));
		wild[nwild++] = base;
	}
	free(line);
	fclose(fp);
}

/* is_under - name equals base or ends in "." base */
static bool
is_under(const char *name, const char *base)
{
	size_t n = strlen(name), b = strlen(base);

	if (n == b)
		return strcmp(name, base) == 0;
	return n > b && name[n - b - 1] == '.' && strcmp(name + n - b, base) == 0;
}

/* under_wildcard - the name falls under a wildcard rule */
static bool
under_wildcard(const char *name)
{
	size_t i;

	for (i = 0; i < nwild; i++)
		if (is_under(name, wild[i]))
			return true;
	return false;
}

/* has_one_letter_label - some label of the name is one octet long */
static bool
has_one_letter_label(const char *name)
{
	const char *p = name, *dot;

	for (;;) {
		dot = strchr(p, '.');
		if ((dot != NULL ? (size_t)(dot - p) : strlen(p)) == 1)
			return true;
		if (dot == NULL)
			return false;
		p = dot + 1;
	}
}

/* has_upper - ASCII upper case anywhere */
static bool
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

enum { CLS_NONE = 0, CLS_D1, CLS_D2, CLS_D3, CLS_D4, CLS_D5 };
static const char *class_name[] = { "unclassified", "D1", "D2", "D3", "D4", "D5" };

/*
 * classify - which documented divergence explains a disagreement.
 * raw_* as given to libopendmarc, f/o normalized (ours).
 */
static int
classify(const char *raw_f, const char *raw_o, const char *f, const char *o,
    enum dmarc_align mode, bool ours, bool theirs, int order)
{
	const char *first = order == 0 ? f : o, *second = order == 0 ? o : f;
	char *org2;
	int c = CLS_NONE;

	if (has_upper(raw_f) || has_upper(raw_o))
		return CLS_D5;
	if (has_one_letter_label(f) || has_one_letter_label(o))
		return CLS_D1;
	if (under_wildcard(f) || under_wildcard(o))
		return CLS_D2;
	org2 = orgdomain_psl(od, second);
	/* D3: a parent/child pair is aligned before the PSL is looked at */
	if (mode == R && theirs && !ours &&
	    ((is_under(f, o) && orgdomain_is_public_suffix(od, o)) ||
	     (is_under(o, f) && orgdomain_is_public_suffix(od, f))))
		c = CLS_D3;
	/* D4: in strict mode the org domain of the second argument is compared with the first */
	else if (mode == S && theirs && !ours && org2 != NULL && strcmp(org2, first) == 0)
		c = CLS_D4;
	free(org2);
	return c;
}

/* opendmarc_aligned - libopendmarc's verdict (0 = aligned) on copies of the names */
static bool
opendmarc_aligned(const char *a, const char *b, enum dmarc_align mode)
{
	u_char x[512], y[512];

	snprintf((char *)x, sizeof(x), "%s", a);
	snprintf((char *)y, sizeof(y), "%s", b);
	return opendmarc_policy_check_alignment(x, y,
	    mode == S ? DMARC_RECORD_A_STRICT : DMARC_RECORD_A_RELAXED) == 0;
}

/*
 * compare - one (From, other, mode) triple, both argument orders.
 * Returns the number of disagreements; each one gets a TAP line asserting
 * that it is classified.  want_class, when not CLS_NONE, is the class a
 * disagreement must have.
 */
static int
compare(const char *raw_f, const char *raw_o, enum dmarc_align mode, int want_class)
{
	char err[256], *f, *o;
	bool ours;
	int order, bad = 0;

	f = domain_normalize(raw_f, err, sizeof(err));
	o = domain_normalize(raw_o, err, sizeof(err));
	if (f == NULL || o == NULL) {
		tap_ok(0, "oracle: inputs %s, %s are well-formed", raw_f, raw_o);
		free(f);
		free(o);
		return 1;
	}
	ours = orgdomain_aligned_psl(od, mode, f, o);
	for (order = 0; order < 2; order++) {
		bool theirs = order == 0 ? opendmarc_aligned(raw_f, raw_o, mode) :
		    opendmarc_aligned(raw_o, raw_f, mode);
		int c;

		n_cmp++;
		if (theirs == ours) {
			n_agree++;
			continue;
		}
		bad++;
		c = classify(raw_f, raw_o, f, o, mode, ours, theirs, order);
		n_class[c]++;
		if (want_class != CLS_NONE)
			tap_ok(c == want_class, "oracle: From %s, id %s, %s, opendmarc(%s): ours %s, "
			    "opendmarc %s: divergence %s (want %s)",
			    raw_f, raw_o, mode == S ? "strict" : "relaxed",
			    order == 0 ? "From, id" : "id, From",
			    ours ? "aligned" : "not aligned", theirs ? "aligned" : "not aligned",
			    class_name[c], class_name[want_class]);
		else
			tap_ok(c != CLS_NONE, "oracle: From %s, id %s, %s, opendmarc(%s): ours %s, "
			    "opendmarc %s: divergence %s",
			    raw_f, raw_o, mode == S ? "strict" : "relaxed",
			    order == 0 ? "From, id" : "id, From",
			    ours ? "aligned" : "not aligned", theirs ? "aligned" : "not aligned",
			    class_name[c]);
	}
	free(f);
	free(o);
	return bad;
}

/* ordinary names: multi-letter labels, lowercase, no wildcard rules */
static const char *orgs[] = { "example", "sample", "acme" };
static const char *sfxs[] = { "com", "org", "co.uk", "com.au", "de" };
static const char *hosts[] = { "", "mail.", "news.mail." };

#define NORGS	(sizeof(orgs) / sizeof(orgs[0]))
#define NSFXS	(sizeof(sfxs) / sizeof(sfxs[0]))
#define NHOSTS	(sizeof(hosts) / sizeof(hosts[0]))

/* check_ordinary - every pair under the same suffix, and across suffixes */
static void
check_ordinary(void)
{
	char f[128], o[128];
	size_t s, s2, a, b, ha, hb;
	int relaxed_bad = 0, strict_bad = 0, before = n_cmp, agree_before = n_agree;
	int pairs = 0;

	for (s = 0; s < NSFXS; s++)
		for (a = 0; a < NORGS; a++)
			for (ha = 0; ha < NHOSTS; ha++)
				for (b = 0; b < NORGS; b++)
					for (hb = 0; hb < NHOSTS; hb++) {
						snprintf(f, sizeof(f), "%s%s.%s", hosts[ha], orgs[a], sfxs[s]);
						snprintf(o, sizeof(o), "%s%s.%s", hosts[hb], orgs[b], sfxs[s]);
						relaxed_bad += compare(f, o, R, CLS_NONE);
						strict_bad += compare(f, o, S, CLS_D4);
						pairs++;
					}
	for (s = 0; s < NSFXS; s++)
		for (s2 = 0; s2 < NSFXS; s2++) {
			if (s == s2)
				continue;
			snprintf(f, sizeof(f), "mail.example.%s", sfxs[s]);
			snprintf(o, sizeof(o), "example.%s", sfxs[s2]);
			relaxed_bad += compare(f, o, R, CLS_NONE);
			strict_bad += compare(f, o, S, CLS_D4);
			pairs++;
		}
	tap_diag("ordinary names: %d pairs, %d comparisons, %d agree", pairs,
	    n_cmp - before, n_agree - agree_before);
	tap_ok(relaxed_bad == 0, "oracle: RFC 7489 §3.1.1 relaxed alignment of ordinary names agrees "
	    "with libopendmarc (%d differ)", relaxed_bad);
	tap_ok(strict_bad > 0, "oracle: RFC 7489 §3.1.1 strict parent/child still differs (D4 present, %d)",
	    strict_bad);
}

/* check_case - upper case given to libopendmarc as written (D5) */
static void
check_case(void)
{
	char f[128], o[128], up[128];
	size_t s, i;

	for (s = 0; s < NSFXS; s++) {
		snprintf(f, sizeof(f), "news.example.%s", sfxs[s]);
		snprintf(o, sizeof(o), "mail.example.%s", sfxs[s]);
		for (i = 0; o[i] != '\0'; i++)
			up[i] = (o[i] >= 'a' && o[i] <= 'z') ? (char)(o[i] - 'a' + 'A') : o[i];
		up[i] = '\0';
		compare(f, up, R, CLS_D5);
		compare(up, f, R, CLS_D5);
		snprintf(f, sizeof(f), "Example.%s", sfxs[s]);
		snprintf(o, sizeof(o), "example.%s", sfxs[s]);
		compare(f, o, S, CLS_D5);
		compare(f, o, R, CLS_D5);
	}
}

/* probes: names chosen to show each divergence; ours must be right */
static const struct {
	const char	*from, *id;
	enum dmarc_align mode;
	bool		 ours;		/* the right answer */
	int		 cls;		/* the class any disagreement must have */
} probes[] = {
	{ "x.com", "evil.com", R, false, CLS_D1 },
	{ "evil.com", "x.com", R, false, CLS_D1 },
	{ "q.co", "evil.co", R, false, CLS_D1 },
	{ "mail.x.com", "x.com", R, true, CLS_D1 },
	{ "xa.b.bg", "xb.b.bg", R, false, CLS_D1 },
	{ "abc.def.ck", "ghi.def.ck", R, false, CLS_D2 },
	{ "foo.bar.kawasaki.jp", "baz.bar.kawasaki.jp", R, false, CLS_D2 },
	{ "www.ck", "mail.www.ck", R, true, CLS_D2 },
	{ "foo.github.io", "github.io", R, false, CLS_D3 },
	{ "github.io", "foo.github.io", R, false, CLS_D3 },
	{ "example.co.uk", "co.uk", R, false, CLS_D3 },
	{ "co.uk", "example.co.uk", R, false, CLS_D3 },
	{ "foo.github.io", "bar.github.io", R, false, CLS_D3 },
	{ "example.com", "mail.example.com", S, false, CLS_D4 },
	{ "mail.example.com", "example.com", S, false, CLS_D4 },
	{ "aa.example.com", "bb.example.com", S, false, CLS_D4 },
	{ "a.example.com", "b.example.com", S, false, CLS_D1 },	/* strict "PASS" here is D1, not D4 */
	{ "SUB.EXAMPLE.COM", "MAIL.EXAMPLE.COM", R, true, CLS_D5 },
	{ "news.example.com", "MAIL.Example.Com", R, true, CLS_D5 },
};

/* check_probes - our answers are right; libopendmarc's divergence is the documented one */
static void
check_probes(void)
{
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char *f = domain_normalize(probes[i].from, err, sizeof(err));
		char *o = domain_normalize(probes[i].id, err, sizeof(err));
		int bad;

		tap_ok(f != NULL && o != NULL &&
		    orgdomain_aligned_psl(od, probes[i].mode, f, o) == probes[i].ours,
		    "oracle probe: RFC 7489 §3.1.1 %s: From %s, id %s: we say %s",
		    probes[i].mode == S ? "strict" : "relaxed", probes[i].from, probes[i].id,
		    probes[i].ours ? "aligned" : "not aligned");
		free(f);
		free(o);
		bad = compare(probes[i].from, probes[i].id, probes[i].mode, probes[i].cls);
		tap_diag("  libopendmarc %s on %s vs %s (probe for %s)", bad ? "diverges" : "agrees",
		    probes[i].from, probes[i].id, class_name[probes[i].cls]);
	}
}

int
main(void)
{
	OPENDMARC_LIB_T lib;
	char err[256];
	int rc;

	od = orgdomain_load(TEST_PSL_FILE, err, sizeof(err));
	if (!tap_ok(od != NULL, "load %s with libpsl", TEST_PSL_FILE)) {
		tap_diag("%s", err);
		return tap_done();
	}
	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)lib.tld_source_file, sizeof(lib.tld_source_file), "%s", TEST_PSL_FILE);
	rc = opendmarc_policy_library_init(&lib);
	if (!tap_ok(rc == 0, "load %s into libopendmarc (status %d)", TEST_PSL_FILE, rc)) {
		orgdomain_free(od);
		return tap_done();
	}
	load_wildcards();
	tap_ok(nwild > 10, "the list has wildcard rules (%zu) for class D2", nwild);

	check_ordinary();
	check_case();
	check_probes();

	tap_diag("oracle: %d of %d comparisons agree with libopendmarc; divergences: "
	    "D1 %d, D2 %d, D3 %d, D4 %d, D5 %d, unclassified %d", n_agree, n_cmp,
	    n_class[CLS_D1], n_class[CLS_D2], n_class[CLS_D3], n_class[CLS_D4], n_class[CLS_D5],
	    n_class[CLS_NONE]);
	tap_ok(n_class[CLS_NONE] == 0, "oracle: every disagreement is a documented divergence");

	opendmarc_policy_library_shutdown(&lib);
	while (nwild > 0)
		free(wild[--nwild]);
	free(wild);
	orgdomain_free(od);
	return tap_done();
}
