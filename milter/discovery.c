/*
 * discovery.c - DMARC policy record discovery (RFC 7489 §6.6.3 with the
 * Public Suffix List; RFC 9989 §4.10 DNS Tree Walk), the Organizational
 * Domain from the tree walk (RFC 9989 §4.10.2), and the domain existence
 * test behind np= (RFC 9989 §3.2.13, Appendix A.4).
 *
 * Texts: RFC 7489; for RFC 9989, draft-ietf-dmarc-dmarcbis-41 (the last
 * WG revision, handed to the RFC Editor), whose section numbers are cited.
 *
 * Decisions where the texts leave room, each with its reason:
 *
 * - One walk serves both purposes.  §4.10.1 queries the Author Domain, then
 *   walks from its parent (or the 7-label shortening); §4.10.2 defines the
 *   Organizational Domain of the Author Domain by a walk that starts at the
 *   Author Domain.  Both visit the same names in the same order, so we walk
 *   once from the Author Domain and keep every answer.  The "domain where
 *   the tree walk started" of §4.10.2 rule 2 is therefore the Author Domain:
 *   psd=y at its parent makes the Author Domain its own Organizational
 *   Domain, as Appendix B.4.3 shows for giant.bank.example.
 * - The walk goes on past the Author Domain's own record (unless it has
 *   psd=n or psd=y, §4.10 step 2) because relaxed alignment needs the
 *   Organizational Domain even then (§4.10.1: finding the record there
 *   "does not necessarily mean that the Author Domain is the Organizational
 *   Domain").  At most 8 queries in all.
 * - Several DMARC records at one name: RFC 7489 §6.6.3 step 5 ends
 *   discovery (no look at the Organizational Domain); RFC 9989 §4.10 steps 2
 *   and 6 discard them and the walk goes on.
 * - A DMARC record that does not parse (DMARC_PARSE_INVALID):
 *   at the Author Domain it is DISC_INVALID in both modes (RFC 7489 §6.6.3
 *   step 6, RFC 9989 §4.10.1: "applies no DMARC processing"; the caller
 *   reports permerror).  Higher up in the walk it is not a "valid DMARC
 *   Policy Record", so it neither stops the walk nor takes part in the
 *   §4.10.2 selection (its psd tag cannot be trusted).  But if it sits at
 *   the Organizational Domain the result is DISC_INVALID, not the PSD's
 *   policy (§4.10.1 Note: "PSD policy is not used for Organizational Domains
 *   that have published a DMARC Policy Record"), and if the walk found no
 *   valid record at all, the nearest broken one makes it DISC_INVALID rather
 *   than "no policy": the Domain Owner did publish, and permerror says so.
 * - Temporary DNS failures: RFC 9989 §4.10.1 leaves DNS errors to the Mail
 *   Receiver but separates "no such record" from "a transient DNS error".
 *   Any failure before the walk stops makes the outcome unknowable (a record
 *   there could be the policy, carry psd=n, or be the one with the fewest
 *   labels), so the walk stops at the first one and the result is
 *   DISC_TEMPFAIL.  The one exception: when the Author Domain's own record
 *   was found, that record applies whatever lies above it, so the status is
 *   DISC_FOUND and only org_status says DISC_TEMPFAIL.
 * - DNS_PERMFAIL (FORMERR, NOTIMP, a malformed reply) tells us nothing about
 *   the record, and "no record" would switch DMARC off for whoever can
 *   garble an answer, so it is treated as DISC_TEMPFAIL too.
 * - Single-label names (_dmarc.com) are queried, as in the §4.10 example,
 *   and their records count like any other.  With psd=y the label below is
 *   the Organizational Domain (rule 2).  Without a psd tag such a record can
 *   become the Organizational Domain by rule 3: §11.8 describes exactly this
 *   case and leaves the remedy to the Domain Owner (psd=n); draft-41 has no
 *   rule that ignores records at single-label names.
 * - No valid record anywhere: no policy; "the initial target domain is the
 *   Organizational Domain" (§4.10.2), and org_status says DISC_NONE.
 * - RFC 7489 with an Author Domain that is itself a public suffix: §3.2
 *   step 4 has no "x+1"th label, so there is no Organizational Domain and
 *   nothing more to query.  The RFC 9091 PSD extension is not applied in
 *   this mode; the tree walk covers PSDs.
 * - Existence (np=): RFC 9989 §3.2.13 and Appendix A.4: NXDOMAIN means the
 *   name does not exist (RFC 8020), NODATA means it does, and "if any RR
 *   exists for a domain, then the domain exists".  We ask for type CNAME:
 *   the reply then concerns the name itself, so a name that is a CNAME to a
 *   missing target (NXDOMAIN for an A query, RFC 6604) still exists.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "dmarc_record.h"
#include "dns.h"
#include "orgdomain.h"
#include "util.h"

#define DMARC_PREFIX		"_dmarc."
#define DMARC_PREFIX_LEN	(sizeof(DMARC_PREFIX) - 1)
#define NAME_MAX_OCTETS		253	/* RFC 1035 §2.3.4, presentation form, no final dot */
#define LABEL_MAX_OCTETS	63	/* RFC 1035 §2.3.4 */
#define WALK_LONG_LABELS	8	/* RFC 9989 §4.10 step 4: "If x >= 8" ... */
#define WALK_SHORT_LABELS	7	/* ... "until 7 labels remain" */
#define PARSE_ERR_LEN		512

/* discovery_status_str - a short name for logs */
const char *
discovery_status_str(enum discovery_status st)
{
	switch (st) {
	case DISC_FOUND:
		return "found";
	case DISC_NONE:
		return "none";
	case DISC_INVALID:
		return "invalid";
	case DISC_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

/* name_ok - non-empty, dot-separated non-empty labels of at most 63 octets, at most 253 in all */
static bool
name_ok(const char *d)
{
	size_t i, lab = 0, len;

	if (d == NULL || (len = strlen(d)) == 0 || len > NAME_MAX_OCTETS)
		return false;
	for (i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (i == lab || i - lab > LABEL_MAX_OCTETS)
				return false;
			lab = i + 1;
		}
	}
	return true;
}

/* label_count - labels in a name that passed name_ok */
static unsigned
label_count(const char *d)
{
	unsigned n = 1;

	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

/* suffix - the rightmost k labels of d, a pointer into d (1 <= k <= label_count(d)) */
static const char *
suffix(const char *d, unsigned k)
{
	unsigned n = label_count(d);

	while (n > k) {
		d = strchr(d, '.') + 1;
		n--;
	}
	return d;
}

/* fetch_reset - an empty fetch that says DISC_NONE */
static void
fetch_reset(struct discovery_fetch *f)
{
	memset(f, 0, sizeof(*f));
	f->status = DISC_NONE;
}

/* discovery_fetch_free - release a fetch and leave it empty */
void
discovery_fetch_free(struct discovery_fetch *f)
{
	if (f == NULL)
		return;
	dmarc_record_free(&f->record);
	free(f->comment);
	fetch_reset(f);
}

/*
 * discovery_fetch_at - one TXT query at _dmarc.<domain>, RFC 7489 §6.6.3
 * steps 1-2 and 5, RFC 9989 §4.10 steps 1-2: records not starting with
 * v=DMARC1 are discarded; several DMARC records mean none ("not the first
 * wins"); one is parsed.  A temporary failure is never "no record".
 */
int
discovery_fetch_at(struct dns *dns, const char *domain, struct discovery_fetch *out)
{
	struct dns_answer *a;
	char err[PARSE_ERR_LEN];
	char *qname;
	size_t which = 0;
	int sel;

	fetch_reset(out);
	if (dns == NULL || domain == NULL || *domain == '\0') {
		out->comment = xstrdup("no domain to look a DMARC record up for");
		return -1;
	}
	if (DMARC_PREFIX_LEN + strlen(domain) > NAME_MAX_OCTETS) {
		/* RFC 1035 §2.3.4: such a name cannot exist, so it has no record */
		out->comment = xasprintf("%s%s is too long to exist in the DNS", DMARC_PREFIX, domain);
		return 0;
	}
	qname = xasprintf("%s%s", DMARC_PREFIX, domain);
	a = dns_query(dns, qname, DNS_T_TXT);
	switch (a->status) {
	case DNS_NXDOMAIN:
		out->comment = xasprintf("no DMARC record at %s (NXDOMAIN)", qname);
		break;
	case DNS_TEMPFAIL:
		out->status = DISC_TEMPFAIL;
		out->comment = xasprintf("temporary DNS failure looking up %s: %s", qname,
		    a->error != NULL ? a->error : "unknown");
		break;
	case DNS_PERMFAIL:
		/* nothing learnt about the record: see the top of this file */
		out->status = DISC_TEMPFAIL;
		out->comment = xasprintf("DNS error looking up %s: %s", qname,
		    a->error != NULL ? a->error : "unknown");
		break;
	case DNS_OK:
		sel = dmarc_record_select(a->txt, a->txt_len, a->n, &which);
		if (sel == 0) {
			out->comment = xasprintf("no DMARC record at %s", qname);
			break;
		}
		if (sel < 0) {
			/* RFC 7489 §6.6.3 step 5, RFC 9989 §4.10 step 2 */
			out->multiple = true;
			out->comment = xasprintf("multiple DMARC records at %s", qname);
			break;
		}
		err[0] = '\0';
		switch (dmarc_record_parse(a->txt[which], a->txt_len[which], &out->record,
		    err, sizeof(err))) {
		case DMARC_PARSE_OK:
			out->status = DISC_FOUND;
			if (err[0] != '\0')
				out->comment = xstrdup(err);
			break;
		case DMARC_PARSE_INVALID:
			out->status = DISC_INVALID;
			out->comment = xstrdup(err[0] != '\0' ? err : "invalid DMARC record");
			break;
		case DMARC_PARSE_NOT_DMARC:
		default:
			/* dmarc_record_select and the parser agree on v=DMARC1; be safe */
			dmarc_record_free(&out->record);
			out->comment = xasprintf("no DMARC record at %s", qname);
			break;
		}
		break;
	}
	dns_answer_free(a);
	free(qname);
	return 1;
}

/* result_init - an empty result that says DISC_NONE */
static void
result_init(struct discovery_result *res, enum discovery method)
{
	memset(res, 0, sizeof(*res));
	res->status = DISC_NONE;
	res->org_status = DISC_NONE;
	res->method = method;
}

/* discovery_result_free - release a result and leave it empty */
void
discovery_result_free(struct discovery_result *res)
{
	if (res == NULL)
		return;
	free(res->policy_domain);
	dmarc_record_free(&res->record);
	free(res->org_domain);
	free(res->comment);
	result_init(res, res->method);
}

/* set_comment - replace the result's comment, taking ownership of c */
static void
set_comment(struct discovery_result *res, char *c)
{
	free(res->comment);
	res->comment = c;
}

/* take_fetch - move what a fetch found at name into the result */
static void
take_fetch(struct discovery_result *res, struct discovery_fetch *f, const char *name,
    const char *author)
{
	res->status = f->status;
	if (f->status == DISC_FOUND || f->status == DISC_INVALID) {
		free(res->policy_domain);
		res->policy_domain = xstrdup(name);
		res->from_org = strcmp(name, author) != 0;
	}
	if (f->status == DISC_FOUND) {
		res->record = f->record;
		memset(&f->record, 0, sizeof(f->record));
	}
	set_comment(res, f->comment);
	f->comment = NULL;
}

/*
 * discovery_psl - RFC 7489 §6.6.3:
 *   1-2. TXT at _dmarc.<Author Domain>, non-DMARC records discarded;
 *   3-4. if that set is empty, the same at _dmarc.<Organizational Domain>
 *        (RFC 7489 §3.2, from the PSL), if different;
 *   5.   several records or none: no policy;
 *   6.   invalid p/sp without a valid rua: no policy (the parser decides).
 * A temporary failure at either step is DISC_TEMPFAIL, never "no record".
 */
int
discovery_psl(struct dns *dns, const struct orgdomain *psl, const char *author,
    struct discovery_result *res)
{
	struct discovery_fetch f;
	int q;

	result_init(res, DISCOVERY_PSL);
	if (dns == NULL || psl == NULL || !name_ok(author)) {
		set_comment(res, xstrdup("no usable author domain for DMARC policy discovery"));
		return -1;
	}
	if ((res->org_domain = orgdomain_psl(psl, author)) != NULL)
		res->org_status = DISC_FOUND;

	q = discovery_fetch_at(dns, author, &f);
	res->queries += q > 0 ? (unsigned)q : 0;
	if (f.status != DISC_NONE || f.multiple) {
		/*
		 * Found, invalid, temporary failure (no fallback: OpenDMARC D7),
		 * or several records, which end discovery (step 5): the set at
		 * the Author Domain was not empty, so step 3 does not apply.
		 */
		take_fetch(res, &f, author, author);
		discovery_fetch_free(&f);
		return 0;
	}

	if (res->org_domain == NULL) {
		set_comment(res, xasprintf("no DMARC record at _dmarc.%s, and %s is a public "
		    "suffix (no Organizational Domain)", author, author));
		discovery_fetch_free(&f);
		return 0;
	}
	if (strcmp(res->org_domain, author) == 0) {
		/* the Author Domain is the Organizational Domain: nothing else to ask */
		take_fetch(res, &f, author, author);
		discovery_fetch_free(&f);
		return 0;
	}
	discovery_fetch_free(&f);

	q = discovery_fetch_at(dns, res->org_domain, &f);
	res->queries += q > 0 ? (unsigned)q : 0;
	take_fetch(res, &f, res->org_domain, author);
	discovery_fetch_free(&f);
	return 0;
}

/* One name visited by a DNS Tree Walk. */
struct walk_level {
	const char	*name;		/* a suffix of walk.start */
	unsigned	 labels;
	struct discovery_fetch f;
};

/* A DNS Tree Walk, RFC 9989 §4.10: at most DISCOVERY_MAX_QUERIES names. */
struct walk {
	const char	*start;
	unsigned	 start_labels;
	struct walk_level lv[DISCOVERY_MAX_QUERIES];
	size_t		 n;
	bool		 tempfail;	/* lv[n - 1] failed temporarily; the walk stopped there */
	unsigned	 queries;
};

/*
 * walk_run - RFC 9989 §4.10 steps 1-7 from start (which passed name_ok):
 * query _dmarc.<target>; stop when a single DMARC record with psd=n or
 * psd=y remains (steps 2, 6); else x = labels of the target: x < 8 removes
 * the left-most label, x >= 8 removes labels until 7 remain (step 4); then
 * one label at a time (step 7) until no labels remain.  The shortening
 * happens at most once, so this makes at most 1 + 7 = 8 queries.  Stops at
 * the first temporary failure (see the top of this file).
 */
static void
walk_run(struct dns *dns, const char *start, struct walk *w)
{
	const char *name = start;
	unsigned x = label_count(start);

	memset(w, 0, sizeof(*w));
	w->start = start;
	w->start_labels = x;
	for (;;) {
		struct walk_level *l = &w->lv[w->n++];
		int q;

		l->name = name;
		l->labels = x;
		q = discovery_fetch_at(dns, name, &l->f);
		w->queries += q > 0 ? (unsigned)q : 0;
		if (l->f.status == DISC_TEMPFAIL) {
			w->tempfail = true;
			return;
		}
		if (l->f.status == DISC_FOUND && l->f.record.psd != DMARC_PSD_UNSET)
			return;
		if (x == 1 || w->n == DISCOVERY_MAX_QUERIES)
			return;
		x = x >= WALK_LONG_LABELS ? WALK_SHORT_LABELS : x - 1;
		name = suffix(start, x);
	}
}

/* walk_free - release the answers a walk kept */
static void
walk_free(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		discovery_fetch_free(&w->lv[i].f);
	w->n = 0;
}

/*
 * walk_orgdomain - RFC 9989 §4.10.2: among the names with a valid DMARC
 * Policy Record, from the longest to the shortest,
 *   1. psd=n: this is the Organizational Domain;
 *   2. psd=y, other than at the start of the walk: the domain one label
 *      below it (towards the start) is;
 *   3. otherwise the name with the fewest labels is.
 * "If this process does not determine the Organizational Domain, then the
 * initial target domain is the Organizational Domain": *decided false.
 * Only for a walk that did not end on a temporary failure.  Malloc'd.
 */
static char *
walk_orgdomain(const struct walk *w, bool *decided)
{
	size_t i, last = SIZE_MAX;

	*decided = true;
	for (i = 0; i < w->n; i++) {
		const struct walk_level *l = &w->lv[i];

		if (l->f.status != DISC_FOUND)
			continue;
		if (l->f.record.psd == DMARC_PSD_NO)
			return xstrdup(l->name);
		if (l->f.record.psd == DMARC_PSD_YES && i != 0)
			return xstrdup(suffix(w->start, l->labels + 1));
		last = i;
	}
	if (last != SIZE_MAX)
		return xstrdup(w->lv[last].name);
	*decided = false;
	return xstrdup(w->start);
}

/* walk_find - the level of the walk at name, or NULL when it was not queried */
static struct walk_level *
walk_find(struct walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->lv[i].name, name) == 0)
			return &w->lv[i];
	return NULL;
}

/*
 * discovery_treewalk - RFC 9989 §4.10.1: the DMARC Policy Record is the
 * one found at, in this order of preference, the Author Domain, its
 * Organizational Domain (§4.10.2), its Public Suffix Domain (the psd=y
 * record that ended the walk).  A record not at the Author Domain means
 * sp/np apply (from_org).
 */
int
discovery_treewalk(struct dns *dns, const char *author, struct discovery_result *res)
{
	struct walk w;
	struct walk_level *lv;
	size_t i;
	bool decided;

	result_init(res, DISCOVERY_TREEWALK);
	if (dns == NULL || !name_ok(author)) {
		set_comment(res, xstrdup("no usable author domain for DMARC policy discovery"));
		return -1;
	}
	walk_run(dns, author, &w);
	res->queries = w.queries;
	if (w.tempfail)
		res->org_status = DISC_TEMPFAIL;
	else {
		res->org_domain = walk_orgdomain(&w, &decided);
		res->org_status = decided ? DISC_FOUND : DISC_NONE;
	}

	/* 1. The Author Domain's own record (several are discarded: walk on). */
	lv = &w.lv[0];
	if (lv->f.status != DISC_NONE) {
		take_fetch(res, &lv->f, author, author);
		goto out;
	}
	if (w.tempfail) {
		lv = &w.lv[w.n - 1];
		take_fetch(res, &lv->f, lv->name, author);
		goto out;
	}

	/* 2. The Organizational Domain's record, valid or not (§4.10.1 Note). */
	if (strcmp(res->org_domain, author) != 0 &&
	    (lv = walk_find(&w, res->org_domain)) != NULL &&
	    (lv->f.status == DISC_FOUND || lv->f.status == DISC_INVALID)) {
		take_fetch(res, &lv->f, lv->name, author);
		goto out;
	}

	/* 3. The Public Suffix Domain's record: the psd=y that ended the walk. */
	lv = &w.lv[w.n - 1];
	if (w.n > 1 && lv->f.status == DISC_FOUND && lv->f.record.psd == DMARC_PSD_YES) {
		take_fetch(res, &lv->f, lv->name, author);
		goto out;
	}

	/* No valid record applies: a broken one is permerror, not "none". */
	for (i = 1; i < w.n; i++) {
		if (w.lv[i].f.status == DISC_INVALID) {
			take_fetch(res, &w.lv[i].f, w.lv[i].name, author);
			goto out;
		}
	}
	res->status = DISC_NONE;
	for (i = 0; i < w.n; i++) {
		if (w.lv[i].f.multiple) {
			set_comment(res, xasprintf("no DMARC policy for %s: %s (discarded)",
			    author, w.lv[i].f.comment));
			goto out;
		}
	}
	set_comment(res, xasprintf("no DMARC record for %s or its parent domains", author));
out:
	walk_free(&w);
	return 0;
}

/* discovery_orgdomain_treewalk - RFC 9989 §4.10.2 Organizational Domain of any domain */
char *
discovery_orgdomain_treewalk(struct dns *dns, const char *domain, enum discovery_status *st)
{
	struct walk w;
	char *org;
	bool decided;

	if (st != NULL)
		*st = DISC_NONE;
	if (dns == NULL || !name_ok(domain))
		return NULL;
	walk_run(dns, domain, &w);
	if (w.tempfail) {
		if (st != NULL)
			*st = DISC_TEMPFAIL;
		walk_free(&w);
		return NULL;
	}
	org = walk_orgdomain(&w, &decided);
	if (st != NULL)
		*st = decided ? DISC_FOUND : DISC_NONE;
	walk_free(&w);
	return org;
}

/*
 * discovery_domain_exists - RFC 9989 §3.2.13, Appendix A.4: NXDOMAIN for a
 * query for the name means it does not exist (nor does anything below it,
 * RFC 8020); NOERROR, with data or without (NODATA, an empty non-terminal),
 * means it exists.  Type CNAME, so that the answer is about the name itself
 * and not the end of a CNAME chain (see the top of this file).
 */
int
discovery_domain_exists(struct dns *dns, const char *domain)
{
	struct dns_answer *a;
	int r;

	if (dns == NULL || !name_ok(domain))
		return -1;
	a = dns_query(dns, domain, DNS_T_CNAME);
	switch (a->status) {
	case DNS_OK:
		r = 1;
		break;
	case DNS_NXDOMAIN:
		r = 0;
		break;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
	default:
		r = -1;
		break;
	}
	dns_answer_free(a);
	return r;
}
