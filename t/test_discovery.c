/*
 * test_discovery.c - DMARC policy discovery (RFC 7489 §6.6.3 with the
 * PSL, RFC 9989 §4.10 DNS Tree Walk), Organizational Domains from the tree
 * walk (RFC 9989 §4.10.2) and the np= existence test (RFC 9989 §3.2.13,
 * Appendix A.4), against the static DNS backend.
 *
 * RFC 9989 section numbers are those of draft-ietf-dmarc-dmarcbis-41.
 * The PSL is a small list written to a temporary file, so that the
 * expectations do not depend on the machine's list.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "discovery.h"
#include "dns.h"
#include "orgdomain.h"
#include "tap.h"

#define MAX_ZONE	12
#define ANY_QUERIES	(-1)

static const char test_psl[] =
    "// test list for test_discovery\n"
    "com\n"
    "uk\n"
    "co.uk\n"
    "example\n"
    "*.ck\n"
    "!www.ck\n";

static struct orgdomain *psl;

/*
 * world - a static DNS from lines "name KIND [data]": KIND is a record type
 * (TXT, A, CNAME) with its data, or SERVFAIL, NXDOMAIN, NODATA, FORMERR
 * for every type at that name.
 */
static struct dns *
world(const char *const *zone)
{
	struct dns_options o;
	struct dns *d;
	size_t i;

	memset(&o, 0, sizeof(o));
	d = dns_new_static(&o);
	for (i = 0; zone != NULL && i < MAX_ZONE && zone[i] != NULL; i++) {
		char name[300], kind[16];
		const char *data;
		int off = 0, rc;

		if (sscanf(zone[i], "%299s %15s %n", name, kind, &off) < 2) {
			tap_diag("bad zone line \"%s\"", zone[i]);
			exit(2);
		}
		data = zone[i] + off;
		if (strcmp(kind, "TXT") == 0)
			rc = dns_static_add(d, name, DNS_T_TXT, data);
		else if (strcmp(kind, "A") == 0)
			rc = dns_static_add(d, name, DNS_T_A, data);
		else if (strcmp(kind, "CNAME") == 0)
			rc = dns_static_add(d, name, DNS_T_CNAME, data);
		else if (strcmp(kind, "SERVFAIL") == 0)
			rc = dns_static_set_status(d, name, 0, DNS_TEMPFAIL);
		else if (strcmp(kind, "NXDOMAIN") == 0)
			rc = dns_static_set_status(d, name, 0, DNS_NXDOMAIN);
		else if (strcmp(kind, "NODATA") == 0)
			rc = dns_static_set_status(d, name, 0, DNS_OK);
		else if (strcmp(kind, "FORMERR") == 0)
			rc = dns_static_set_status(d, name, 0, DNS_PERMFAIL);
		else
			rc = -1;
		if (rc != 0) {
			tap_diag("cannot load zone line \"%s\"", zone[i]);
			exit(2);
		}
	}
	return d;
}

/* queries_made - dns_query calls so far */
static unsigned long
queries_made(struct dns *d)
{
	struct dns_stats st;

	dns_get_stats(d, &st);
	return st.queries;
}

/* ---------------------------------------------------------------- */
/* discovery_fetch_at: one _dmarc name                               */

static const struct {
	const char	*what;
	const char	*zone[MAX_ZONE];
	const char	*domain;
	enum discovery_status want;
	bool		 multiple;
	enum dmarc_policy p;		/* checked for FOUND */
	const char	*comment_prefix; /* NULL: not checked */
	int		 queries;
} fetch_cases[] = {
	{ "RFC 7489 §6.6.3 step 1: the one DMARC record is found",
	  { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "example.com", DISC_FOUND, false, DMARC_POLICY_REJECT, NULL, 1 },
	{ "RFC 7489 §6.6.3 step 5: two DMARC records mean none, not the first",
	  { "_dmarc.example.com TXT v=DMARC1; p=reject",
	    "_dmarc.example.com TXT v=DMARC1; p=none", NULL },
	  "example.com", DISC_NONE, true, 0, "multiple DMARC records", 1 },
	{ "RFC 7489 §6.6.3 step 2: a non-DMARC TXT beside the DMARC one is discarded",
	  { "_dmarc.example.com TXT google-site-verification=abc",
	    "_dmarc.example.com TXT v=DMARC1; p=quarantine", NULL },
	  "example.com", DISC_FOUND, false, DMARC_POLICY_QUARANTINE, NULL, 1 },
	{ "RFC 9989 §4.10 step 2: a TXT merely containing v=DMARC1 is not a record (OpenDMARC D6)",
	  { "_dmarc.example.com TXT verify v=DMARC1; p=reject", NULL },
	  "example.com", DISC_NONE, false, 0, "no DMARC record", 1 },
	{ "RFC 2308 §2.1: NXDOMAIN at the _dmarc name is no record",
	  { "example.com A 192.0.2.1", NULL },
	  "example.com", DISC_NONE, false, 0, "no DMARC record", 1 },
	{ "RFC 2308 §2.2: NODATA at the _dmarc name is no record",
	  { "_dmarc.example.com NODATA", NULL },
	  "example.com", DISC_NONE, false, 0, "no DMARC record", 1 },
	{ "RFC 7489 §6.6.3 (temporary DNS error): SERVFAIL is TEMPFAIL, not none",
	  { "_dmarc.example.com SERVFAIL", NULL },
	  "example.com", DISC_TEMPFAIL, false, 0, "temporary DNS failure", 1 },
	{ "RFC 9989 §4.10.1 (DNS errors): FORMERR taught nothing: TEMPFAIL, not none",
	  { "_dmarc.example.com FORMERR", NULL },
	  "example.com", DISC_TEMPFAIL, false, 0, "DNS error", 1 },
	{ "RFC 7489 §6.6.3 step 6: no valid p and no rua is INVALID",
	  { "_dmarc.example.com TXT v=DMARC1; p=bogus", NULL },
	  "example.com", DISC_INVALID, false, 0, "invalid DMARC record", 1 },
	{ "RFC 7489 §6.6.3 step 6.1: invalid p with a valid rua acts as p=none",
	  { "_dmarc.example.com TXT v=DMARC1; p=bogus; rua=mailto:d@example.com", NULL },
	  "example.com", DISC_FOUND, false, DMARC_POLICY_NONE, NULL, 1 },
	{ "RFC 1035 §2.3.4: a _dmarc name over 253 octets cannot exist: none, no query",
	  { NULL },
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	  "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	  "dddddddddddddddddddddddddddddddddddddddddddddddddddddd.com",
	  DISC_NONE, false, 0, "_dmarc.", 0 },
};

static void
test_fetch(void)
{
	size_t i;

	for (i = 0; i < sizeof(fetch_cases) / sizeof(fetch_cases[0]); i++) {
		struct dns *d = world(fetch_cases[i].zone);
		struct discovery_fetch f;
		int q;

		q = discovery_fetch_at(d, fetch_cases[i].domain, &f);
		tap_is_str(discovery_status_str(f.status), discovery_status_str(fetch_cases[i].want),
		    "fetch: %s: status", fetch_cases[i].what);
		tap_is_int(f.multiple, fetch_cases[i].multiple, "fetch: %s: multiple", fetch_cases[i].what);
		tap_is_int(q, fetch_cases[i].queries, "fetch: %s: queries", fetch_cases[i].what);
		if (fetch_cases[i].want == DISC_FOUND)
			tap_is_str(dmarc_policy_str(f.record.p), dmarc_policy_str(fetch_cases[i].p),
			    "fetch: %s: p", fetch_cases[i].what);
		else
			tap_ok(f.record.raw == NULL, "fetch: %s: no record kept", fetch_cases[i].what);
		if (fetch_cases[i].comment_prefix != NULL &&
		    !tap_ok(f.comment != NULL && strncmp(f.comment, fetch_cases[i].comment_prefix,
		    strlen(fetch_cases[i].comment_prefix)) == 0, "fetch: %s: comment", fetch_cases[i].what))
			tap_diag("  comment: %s", f.comment ? f.comment : "(null)");
		discovery_fetch_free(&f);
		tap_ok(f.comment == NULL && f.status == DISC_NONE,
		    "fetch: %s: free leaves it empty", fetch_cases[i].what);
		dns_free(d);
	}

	/* bad arguments */
	{
		struct discovery_fetch f;
		struct dns *d = world(NULL);

		tap_is_int(discovery_fetch_at(d, "", &f), -1, "fetch: empty domain is refused");
		tap_ok(f.status == DISC_NONE && f.comment != NULL, "fetch: empty domain says none");
		discovery_fetch_free(&f);
		tap_is_int(discovery_fetch_at(NULL, "example.com", &f), -1, "fetch: no DNS handle is refused");
		discovery_fetch_free(&f);
		dns_free(d);
	}
}

/* ---------------------------------------------------------------- */
/* discovery_psl and discovery_treewalk                              */

enum mode { PSL, WALK };

static const struct disc_case {
	const char	*what;
	enum mode	 mode;
	const char	*zone[MAX_ZONE];
	const char	*author;
	enum discovery_status want;
	const char	*policy_domain;	/* NULL: must be NULL */
	const char	*org;		/* NULL: must be NULL */
	enum discovery_status org_status;
	bool		 from_org;
	enum dmarc_policy p;		/* checked for FOUND */
	int		 queries;	/* ANY_QUERIES: not checked */
	const char	*comment_has;	/* NULL: not checked */
} disc_cases[] = {
	/* RFC 7489, Organizational Domain from the PSL */
	{ "RFC 7489 §6.6.3 step 1: record at the author domain",
	  PSL, { "_dmarc.example.com TXT v=DMARC1; p=reject",
		 "_dmarc.mail.example.com TXT v=DMARC1; p=quarantine", NULL },
	  "mail.example.com", DISC_FOUND, "mail.example.com", "example.com", DISC_FOUND,
	  false, DMARC_POLICY_QUARANTINE, 1, NULL },
	{ "RFC 7489 §6.6.3 step 3: record only at the Organizational Domain (sp applies)",
	  PSL, { "_dmarc.example.com TXT v=DMARC1; p=reject; sp=none", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 2, NULL },
	{ "RFC 7489 §6.6.3 step 3 (if different): author is the Organizational Domain, no record",
	  PSL, { "example.com A 192.0.2.1", NULL },
	  "example.com", DISC_NONE, NULL, "example.com", DISC_FOUND, false, 0, 1, NULL },
	{ "RFC 7489 §6.6.3 step 5: two records at the author end discovery, no fallback",
	  PSL, { "_dmarc.mail.example.com TXT v=DMARC1; p=reject",
		 "_dmarc.mail.example.com TXT v=DMARC1; p=none",
		 "_dmarc.example.com TXT v=DMARC1; p=quarantine", NULL },
	  "mail.example.com", DISC_NONE, NULL, "example.com", DISC_FOUND, false, 0, 1,
	  "multiple DMARC records" },
	{ "RFC 7489 §6.6.3 step 5: two records at the Organizational Domain: none",
	  PSL, { "_dmarc.example.com TXT v=DMARC1; p=reject",
		 "_dmarc.example.com TXT v=DMARC1; p=none", NULL },
	  "mail.example.com", DISC_NONE, NULL, "example.com", DISC_FOUND, false, 0, 2,
	  "multiple DMARC records" },
	{ "RFC 7489 §6.6.3 step 2: non-DMARC TXT next to the DMARC TXT at the author",
	  PSL, { "_dmarc.example.com TXT v=spf1 -all",
		 "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  false, DMARC_POLICY_REJECT, 1, NULL },
	{ "RFC 7489 §6.6.3 (temporary error): SERVFAIL at the author is TEMPFAIL, no fallback (D7)",
	  PSL, { "_dmarc.mail.example.com SERVFAIL",
		 "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_TEMPFAIL, NULL, "example.com", DISC_FOUND, false, 0, 1,
	  "temporary DNS failure" },
	{ "RFC 7489 §6.6.3 (temporary error): SERVFAIL at the Organizational Domain is TEMPFAIL",
	  PSL, { "_dmarc.example.com SERVFAIL", NULL },
	  "mail.example.com", DISC_TEMPFAIL, NULL, "example.com", DISC_FOUND, false, 0, 2,
	  "_dmarc.example.com" },
	{ "RFC 7489 §6.6.3 step 3: NXDOMAIN at the author, record at the Organizational Domain",
	  PSL, { "_dmarc.mail.example.com NXDOMAIN",
		 "_dmarc.example.com TXT v=DMARC1; p=quarantine", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_QUARANTINE, 2, NULL },
	{ "RFC 7489 §6.6.3 step 6: invalid record at the author: INVALID, no fallback",
	  PSL, { "_dmarc.mail.example.com TXT v=DMARC1; p=bogus",
		 "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_INVALID, "mail.example.com", "example.com", DISC_FOUND,
	  false, 0, 1, "invalid" },
	{ "RFC 7489 §6.6.3 step 6: invalid record at the Organizational Domain: INVALID",
	  PSL, { "_dmarc.example.com TXT v=DMARC1; sp=never", NULL },
	  "mail.example.com", DISC_INVALID, "example.com", "example.com", DISC_FOUND,
	  true, 0, 2, "invalid" },
	{ "RFC 7489 §3.2 step 4: an author that is a public suffix has no Organizational Domain",
	  PSL, { "_dmarc.uk TXT v=DMARC1; p=reject", NULL },
	  "co.uk", DISC_NONE, NULL, NULL, DISC_NONE, false, 0, 1, "public suffix" },
	{ "RFC 7489 §6.6.3: intermediate names are not queried with the PSL",
	  PSL, { "_dmarc.b.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.b.example.com", DISC_NONE, NULL, "example.com", DISC_FOUND, false, 0, 2, NULL },
	{ "RFC 7489 §3.2: wildcard PSL rule *.ck: x.b.ck is its own Organizational Domain",
	  PSL, { "_dmarc.b.ck TXT v=DMARC1; p=reject", NULL },
	  "x.b.ck", DISC_NONE, NULL, "x.b.ck", DISC_FOUND, false, 0, 1, NULL },
	{ "RFC 7489 §6.6.3: deep author, record at the Organizational Domain (2 queries)",
	  PSL, { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.b.c.d.e.f.g.h.i.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 2, NULL },
	{ "RFC 9989 §4.10.1 (DNS errors): FORMERR at the author is TEMPFAIL in PSL mode too",
	  PSL, { "_dmarc.example.com FORMERR", NULL },
	  "example.com", DISC_TEMPFAIL, NULL, "example.com", DISC_FOUND, false, 0, 1, NULL },

	/* RFC 9989 DNS Tree Walk */
	{ "RFC 9989 §4.10.1: record at the author domain; walk goes on for the Org Domain",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  false, DMARC_POLICY_REJECT, 2, NULL },
	{ "RFC 9989 §4.10.1: record only at the Organizational Domain (sp/np apply)",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 3, NULL },
	{ "RFC 9989 §4.10.2 rule 3: records at two levels: the fewest labels is the Org Domain and policy",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=none",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 4, NULL },
	{ "RFC 9989 §4.10.2 rule 1: psd=n at the author: its own Org Domain, walk stops",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=none; psd=n",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_FOUND, "mail.example.com", "mail.example.com", DISC_FOUND,
	  false, DMARC_POLICY_NONE, 1, NULL },
	{ "RFC 9989 §4.10.2 rule 1: psd=n at a parent makes it the Org Domain and policy",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=quarantine; psd=n",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", DISC_FOUND, "mail.example.com", "mail.example.com", DISC_FOUND,
	  true, DMARC_POLICY_QUARANTINE, 2, NULL },
	{ "RFC 9989 §4.10.2 rule 2: psd=y at a parent: the label below it is the Org Domain; PSD policy",
	  WALK, { "_dmarc.bank.example TXT v=DMARC1; p=reject; psd=y", NULL },
	  "mail.giant.bank.example", DISC_FOUND, "bank.example", "giant.bank.example", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 3, NULL },
	{ "RFC 9989 Appendix B.4.3: author record below psd=y: author is the Org Domain, 2 queries",
	  WALK, { "_dmarc.giant.bank.example TXT v=DMARC1; p=quarantine",
		  "_dmarc.bank.example TXT v=DMARC1; p=reject; psd=y", NULL },
	  "giant.bank.example", DISC_FOUND, "giant.bank.example", "giant.bank.example", DISC_FOUND,
	  false, DMARC_POLICY_QUARANTINE, 2, NULL },
	{ "RFC 9989 §4.10.2 rule 2: Org Domain below psd=y has a record: it, not the PSD, applies",
	  WALK, { "_dmarc.giant.bank.example TXT v=DMARC1; p=none",
		  "_dmarc.bank.example TXT v=DMARC1; p=reject; psd=y", NULL },
	  "www.giant.bank.example", DISC_FOUND, "giant.bank.example", "giant.bank.example",
	  DISC_FOUND, true, DMARC_POLICY_NONE, 3, NULL },
	{ "RFC 9989 §4.10.2 rule 2 (other than the start): psd=y at the author: its own Org Domain",
	  WALK, { "_dmarc.bank.example TXT v=DMARC1; p=reject; psd=y", NULL },
	  "bank.example", DISC_FOUND, "bank.example", "bank.example", DISC_FOUND,
	  false, DMARC_POLICY_REJECT, 1, NULL },
	{ "RFC 9989 §4.10.1: no record anywhere: NONE; §4.10.2: the author is its own Org Domain",
	  WALK, { "mail.example.com A 192.0.2.1", NULL },
	  "a.mail.example.com", DISC_NONE, NULL, "a.mail.example.com", DISC_NONE,
	  false, 0, 4, "no DMARC record" },
	{ "RFC 9989 §4.10 steps 3-7: deep author a.b.c.d.e.f.g.h.i.example.com: 8 queries (shortcut)",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.b.c.d.e.f.g.h.i.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 8, NULL },
	{ "RFC 9989 §4.10 step 4: names skipped by the shortcut are never seen (psd=n at 10 labels)",
	  WALK, { "_dmarc.b.c.d.e.f.g.h.i.example.com TXT v=DMARC1; p=none; psd=n",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.b.c.d.e.f.g.h.i.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 8, NULL },
	{ "RFC 9989 §4.10 step 4: the 7-label name right after the author is queried second",
	  WALK, { "_dmarc.e.f.g.h.i.example.com TXT v=DMARC1; p=quarantine; psd=n",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.b.c.d.e.f.g.h.i.example.com", DISC_FOUND, "e.f.g.h.i.example.com",
	  "e.f.g.h.i.example.com", DISC_FOUND, true, DMARC_POLICY_QUARANTINE, 2, NULL },
	{ "RFC 9989 §4.10 step 4 (x >= 8): an 8-label author walks 8,7,...,1: 8 queries",
	  WALK, { NULL },
	  "a.b.c.d.e.f.example.com", DISC_NONE, NULL, "a.b.c.d.e.f.example.com", DISC_NONE,
	  false, 0, 8, NULL },
	{ "RFC 9989 §4.10 step 4 (x < 8): a 7-label author walks 7,...,1: 7 queries",
	  WALK, { NULL },
	  "b.c.d.e.f.example.com", DISC_NONE, NULL, "b.c.d.e.f.example.com", DISC_NONE,
	  false, 0, 7, NULL },
	{ "RFC 9989 Appendix B.4.2: 13-label author: 8 queries, example.com is Org Domain and policy",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=reject",
		  "_dmarc.signing.example.com TXT v=DMARC1; p=none", NULL },
	  "a.b.c.d.e.f.g.h.i.j.k.example.com", DISC_FOUND, "example.com", "example.com",
	  DISC_FOUND, true, DMARC_POLICY_REJECT, 8, NULL },
	{ "RFC 9989 §4.10.2 rule 2: record only at a single-label name with psd=y: the PSD policy",
	  WALK, { "_dmarc.com TXT v=DMARC1; p=reject; psd=y", NULL },
	  "mail.example.com", DISC_FOUND, "com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 3, NULL },
	{ "RFC 9989 §4.10.2 rule 3 and §11.8: record only at a single-label name without psd: it is the Org Domain",
	  WALK, { "_dmarc.com TXT v=DMARC1; p=quarantine", NULL },
	  "mail.example.com", DISC_FOUND, "com", "com", DISC_FOUND,
	  true, DMARC_POLICY_QUARANTINE, 3, NULL },
	{ "RFC 9989 §11.8: psd=n at the Org Domain shields it from a TLD record without psd",
	  WALK, { "_dmarc.com TXT v=DMARC1; p=quarantine",
		  "_dmarc.example.com TXT v=DMARC1; p=reject; psd=n", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 2, NULL },
	{ "RFC 9989 §4.10.1 Note: a TLD psd=y record is not used when the author has a record",
	  WALK, { "_dmarc.com TXT v=DMARC1; p=reject; psd=y",
		  "_dmarc.example.com TXT v=DMARC1; p=none", NULL },
	  "example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  false, DMARC_POLICY_NONE, 2, NULL },
	{ "RFC 9989 §4.10 step 2: two records at the author are discarded and the walk goes on",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=none",
		  "_dmarc.mail.example.com TXT v=DMARC1; p=quarantine",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 3, NULL },
	{ "RFC 9989 §4.10 step 6: two records at the only level with records: none",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=none",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_NONE, NULL, "mail.example.com", DISC_NONE,
	  false, 0, 3, "multiple DMARC records" },
	{ "RFC 9989 §4.10 step 2: non-DMARC TXT at a parent is not a record",
	  WALK, { "_dmarc.example.com TXT v=spf1 -all", NULL },
	  "mail.example.com", DISC_NONE, NULL, "mail.example.com", DISC_NONE, false, 0, 3, NULL },
	{ "RFC 9989 §4.10.1 (transient error): SERVFAIL at the author is TEMPFAIL",
	  WALK, { "_dmarc.mail.example.com SERVFAIL",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_TEMPFAIL, NULL, NULL, DISC_TEMPFAIL, false, 0, 1,
	  "temporary DNS failure" },
	{ "RFC 9989 §4.10.1 (transient error): SERVFAIL at an intermediate step is TEMPFAIL",
	  WALK, { "_dmarc.mail.example.com SERVFAIL",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", DISC_TEMPFAIL, NULL, NULL, DISC_TEMPFAIL, false, 0, 2,
	  "_dmarc.mail.example.com" },
	{ "RFC 9989 §4.10.1: author record applies even when a parent SERVFAILs (org unknown)",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=quarantine",
		  "_dmarc.example.com SERVFAIL", NULL },
	  "mail.example.com", DISC_FOUND, "mail.example.com", NULL, DISC_TEMPFAIL,
	  false, DMARC_POLICY_QUARANTINE, 2, NULL },
	{ "RFC 9989 §4.10.1 (transient error): SERVFAIL at the TLD step is TEMPFAIL too",
	  WALK, { "_dmarc.com SERVFAIL", NULL },
	  "mail.example.com", DISC_TEMPFAIL, NULL, NULL, DISC_TEMPFAIL, false, 0, 3, NULL },
	{ "RFC 9989 §4.10.1: NXDOMAIN at the author, record at the Org Domain",
	  WALK, { "_dmarc.mail.example.com NXDOMAIN",
		  "_dmarc.example.com TXT v=DMARC1; p=quarantine", NULL },
	  "mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_QUARANTINE, 3, NULL },
	{ "RFC 9989 §4.10.1 (no valid p, no rua): invalid record at the author: INVALID",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=bogus",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "mail.example.com", DISC_INVALID, "mail.example.com", "example.com", DISC_FOUND,
	  false, 0, 3, "invalid" },
	{ "RFC 9989 §4.10.1: invalid record at the Org Domain: INVALID",
	  WALK, { "_dmarc.example.com TXT v=DMARC1; p=bogus", NULL },
	  "mail.example.com", DISC_INVALID, "example.com", "mail.example.com", DISC_NONE,
	  true, 0, 3, "invalid" },
	{ "RFC 9989 §4.10.1 Note: invalid record at the Org Domain beats the PSD's policy",
	  WALK, { "_dmarc.giant.bank.example TXT v=DMARC1; p=bogus",
		  "_dmarc.bank.example TXT v=DMARC1; p=none; psd=y", NULL },
	  "mail.giant.bank.example", DISC_INVALID, "giant.bank.example", "giant.bank.example",
	  DISC_FOUND, true, 0, 3, "invalid" },
	{ "RFC 9989 §4.10.2 (valid records only): invalid record between author and Org Domain is skipped",
	  WALK, { "_dmarc.mail.example.com TXT v=DMARC1; p=bogus",
		  "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", DISC_FOUND, "example.com", "example.com", DISC_FOUND,
	  true, DMARC_POLICY_REJECT, 4, NULL },
	{ "RFC 9989 §4.10 step 7: a single-label author makes one query",
	  WALK, { NULL },
	  "localhost", DISC_NONE, NULL, "localhost", DISC_NONE, false, 0, 1, NULL },
	{ "RFC 9989 §4.10.1 (DNS errors): FORMERR at a parent is TEMPFAIL, never none",
	  WALK, { "_dmarc.example.com FORMERR", NULL },
	  "mail.example.com", DISC_TEMPFAIL, NULL, NULL, DISC_TEMPFAIL, false, 0, 2, NULL },
};

static void
test_discovery(void)
{
	size_t i;

	for (i = 0; i < sizeof(disc_cases) / sizeof(disc_cases[0]); i++) {
		const struct disc_case *c = &disc_cases[i];
		struct dns *d = world(c->zone);
		struct discovery_result r;
		unsigned long before = queries_made(d);
		int rc;

		if (c->mode == PSL)
			rc = discovery_psl(d, psl, c->author, &r);
		else
			rc = discovery_treewalk(d, c->author, &r);
		tap_is_int(rc, 0, "%s: returns 0", c->what);
		tap_is_str(discovery_status_str(r.status), discovery_status_str(c->want),
		    "%s: status", c->what);
		tap_is_str(r.policy_domain, c->policy_domain, "%s: policy domain", c->what);
		tap_is_str(r.org_domain, c->org, "%s: organisational domain", c->what);
		tap_is_str(discovery_status_str(r.org_status), discovery_status_str(c->org_status),
		    "%s: org_status", c->what);
		if (c->want == DISC_FOUND || c->want == DISC_INVALID)
			tap_is_int(r.from_org, c->from_org, "%s: from_org", c->what);
		if (c->want == DISC_FOUND)
			tap_is_str(dmarc_policy_str(r.record.p), dmarc_policy_str(c->p), "%s: p", c->what);
		else
			tap_ok(r.record.raw == NULL, "%s: no record kept", c->what);
		if (c->queries != ANY_QUERIES)
			tap_is_int(r.queries, c->queries, "%s: queries", c->what);
		tap_ok(r.queries <= DISCOVERY_MAX_QUERIES && queries_made(d) - before == r.queries,
		    "%s: at most 8 queries, and the count is right", c->what);
		tap_is_int(r.method, c->mode == PSL ? DISCOVERY_PSL : DISCOVERY_TREEWALK,
		    "%s: method", c->what);
		if (c->comment_has != NULL &&
		    !tap_ok(r.comment != NULL && strstr(r.comment, c->comment_has) != NULL,
		    "%s: comment", c->what))
			tap_diag("  comment: %s", r.comment ? r.comment : "(null)");
		discovery_result_free(&r);
		dns_free(d);
	}
}

/* sp/np data survives the move into the result (the caller picks sp or np) */
static void
test_record_moved(void)
{
	static const char *const zone[] = {
		"_dmarc.example.com TXT v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; "
		"rua=mailto:agg@example.com",
		NULL
	};
	struct dns *d = world(zone);
	struct discovery_result r;

	discovery_treewalk(d, "mail.example.com", &r);
	tap_ok(r.status == DISC_FOUND && r.from_org, "RFC 9989 §4.10.1: subdomain policy record found at the parent");
	tap_is_str(dmarc_policy_str(r.record.sp), "quarantine", "RFC 9989 §4.7: sp kept for an existing subdomain");
	tap_is_str(dmarc_policy_str(r.record.np), "none", "RFC 9989 §4.7: np kept for a non-existent subdomain");
	tap_ok(r.record.adkim == DMARC_ALIGN_STRICT, "RFC 9989 §4.7: adkim=s kept");
	tap_ok(r.record.n_rua == 1 && strcmp(r.record.rua[0].uri, "mailto:agg@example.com") == 0,
	    "RFC 9989 §4.7: rua kept");
	discovery_result_free(&r);
	tap_ok(r.policy_domain == NULL && r.org_domain == NULL && r.comment == NULL &&
	    r.record.raw == NULL, "discovery_result_free leaves the result empty");
	discovery_result_free(&r);	/* twice is harmless */

	tap_is_int(discovery_treewalk(d, "", &r), -1, "tree walk refuses an empty author domain");
	tap_is_int(r.status, DISC_NONE, "tree walk on an empty author domain says none");
	discovery_result_free(&r);
	tap_is_int(discovery_treewalk(d, "a..example.com", &r), -1, "tree walk refuses an empty label");
	discovery_result_free(&r);
	tap_is_int(discovery_psl(d, psl, ".example.com", &r), -1, "PSL discovery refuses a leading dot");
	discovery_result_free(&r);
	tap_is_int(discovery_psl(d, NULL, "example.com", &r), -1, "PSL discovery refuses a missing list");
	discovery_result_free(&r);
	dns_free(d);
}

/* ---------------------------------------------------------------- */
/* discovery_orgdomain_treewalk: identifiers for relaxed alignment    */

static const struct {
	const char	*what;
	const char	*zone[MAX_ZONE];
	const char	*domain;
	const char	*want;		/* NULL: must be NULL */
	enum discovery_status st;
	int		 queries;
} org_cases[] = {
	{ "RFC 9989 Appendix B.4.1: DKIM signing.example.com: example.com has the fewest labels",
	  { "_dmarc.example.com TXT v=DMARC1; p=reject",
	    "_dmarc.signing.example.com TXT v=DMARC1; p=none", NULL },
	  "signing.example.com", "example.com", DISC_FOUND, 3 },
	{ "RFC 9989 Appendix B.4.1: the author example.com is its own Org Domain",
	  { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "example.com", "example.com", DISC_FOUND, 2 },
	{ "RFC 9989 §4.10.2 example 1: records at mail.example.com and example.com: example.com",
	  { "_dmarc.mail.example.com TXT v=DMARC1; p=none",
	    "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", "example.com", DISC_FOUND, 4 },
	{ "RFC 9989 §4.10.2 example 2: psd=n at mail.example.com: mail.example.com",
	  { "_dmarc.mail.example.com TXT v=DMARC1; p=none; psd=n",
	    "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "a.mail.example.com", "mail.example.com", DISC_FOUND, 2 },
	{ "RFC 9989 §4.10.2 example 3: only _dmarc.com with psd=y: example.com",
	  { "_dmarc.com TXT v=DMARC1; p=reject; psd=y", NULL },
	  "a.mail.example.com", "example.com", DISC_FOUND, 4 },
	{ "RFC 9989 Appendix B.4.3: SPF mail.giant.bank.example: giant.bank.example",
	  { "_dmarc.giant.bank.example TXT v=DMARC1; p=reject",
	    "_dmarc.bank.example TXT v=DMARC1; p=none; psd=y", NULL },
	  "mail.giant.bank.example", "giant.bank.example", DISC_FOUND, 3 },
	{ "RFC 9989 Appendix B.4.3: DKIM mail.mega.bank.example: mega.bank.example (not aligned)",
	  { "_dmarc.giant.bank.example TXT v=DMARC1; p=reject",
	    "_dmarc.bank.example TXT v=DMARC1; p=none; psd=y", NULL },
	  "mail.mega.bank.example", "mega.bank.example", DISC_FOUND, 3 },
	{ "RFC 9989 §4.10.2 (not determined): no records: the domain itself, NONE",
	  { "other.example A 192.0.2.7", NULL },
	  "mail.other.example", "mail.other.example", DISC_NONE, 3 },
	{ "RFC 9989 §4.10.2: a temporary failure is reported, never \"no org domain\"",
	  { "_dmarc.example.com SERVFAIL", NULL },
	  "mail.example.com", NULL, DISC_TEMPFAIL, 2 },
	{ "RFC 9989 §4.10 step 4: deep identifier: 8 queries",
	  { "_dmarc.example.com TXT v=DMARC1; p=reject", NULL },
	  "z.y.x.w.v.u.t.s.r.q.example.com", "example.com", DISC_FOUND, 8 },
	{ "RFC 9989 §4.10.2 rule 2: psd=y at the identifier itself: it is its own Org Domain",
	  { "_dmarc.bank.example TXT v=DMARC1; p=reject; psd=y", NULL },
	  "bank.example", "bank.example", DISC_FOUND, 1 },
};

static void
test_orgdomain(void)
{
	enum discovery_status st;
	struct dns *d;
	size_t i;
	char *org;

	for (i = 0; i < sizeof(org_cases) / sizeof(org_cases[0]); i++) {
		unsigned long before;

		d = world(org_cases[i].zone);
		before = queries_made(d);
		st = DISC_INVALID;
		org = discovery_orgdomain_treewalk(d, org_cases[i].domain, &st);
		tap_is_str(org, org_cases[i].want, "orgdomain: %s", org_cases[i].what);
		tap_is_str(discovery_status_str(st), discovery_status_str(org_cases[i].st),
		    "orgdomain: %s: status", org_cases[i].what);
		tap_is_int(queries_made(d) - before, org_cases[i].queries,
		    "orgdomain: %s: queries", org_cases[i].what);
		free(org);
		dns_free(d);
	}

	/* relaxed alignment from two walks (RFC 9989 §3.2.10.1, §4.10.2) */
	{
		static const char *const zone[] = {
			"_dmarc.example.com TXT v=DMARC1; p=reject",
			"_dmarc.signing.example.com TXT v=DMARC1; p=none",
			NULL
		};
		enum discovery_status s1, s2;
		char *o1, *o2;

		d = world(zone);
		o1 = discovery_orgdomain_treewalk(d, "example.com", &s1);
		o2 = discovery_orgdomain_treewalk(d, "signing.example.com", &s2);
		tap_ok(s1 == DISC_FOUND && s2 == DISC_FOUND &&
		    orgdomain_aligned_with(DMARC_ALIGN_RELAXED, "example.com", o1, "signing.example.com", o2),
		    "RFC 9989 Appendix B.4.1: signing.example.com is in relaxed alignment with example.com");
		free(o1);
		free(o2);
		o1 = discovery_orgdomain_treewalk(d, "example.com", &s1);
		o2 = discovery_orgdomain_treewalk(d, "evil.com", &s2);
		tap_ok(s2 == DISC_NONE &&
		    !orgdomain_aligned_with(DMARC_ALIGN_RELAXED, "example.com", o1, "evil.com", o2),
		    "RFC 9989 §3.2.10.1: evil.com is not in relaxed alignment with example.com");
		free(o1);
		free(o2);
		dns_free(d);
	}

	d = world(NULL);
	st = DISC_FOUND;
	tap_ok(discovery_orgdomain_treewalk(d, "", &st) == NULL && st == DISC_NONE,
	    "orgdomain: an empty name gives NULL and NONE");
	tap_ok(discovery_orgdomain_treewalk(d, "example.com.", &st) == NULL && st == DISC_NONE,
	    "orgdomain: a name not normalized (trailing dot) gives NULL and NONE");
	dns_free(d);
}

/* ---------------------------------------------------------------- */
/* discovery_domain_exists: np=                                      */

static const struct {
	const char	*what;
	const char	*zone[MAX_ZONE];
	const char	*domain;
	int		 want;
} exists_cases[] = {
	{ "RFC 9989 §3.2.13: NXDOMAIN: the domain does not exist",
	  { "example.com A 192.0.2.1", NULL }, "nope.example.com", 0 },
	{ "RFC 9989 §3.2.13 / RFC 8020: NXDOMAIN set for the name: does not exist",
	  { "gone.example.com NXDOMAIN", NULL }, "gone.example.com", 0 },
	{ "RFC 9989 Appendix A.4: a name with an A record exists",
	  { "www.example.com A 192.0.2.1", NULL }, "www.example.com", 1 },
	{ "RFC 9989 Appendix A.4: any RR makes a domain exist (only TXT: NODATA for others)",
	  { "txt.example.com TXT hello", NULL }, "txt.example.com", 1 },
	{ "RFC 9989 Appendix A.4: NODATA means the name exists",
	  { "empty.example.com NODATA", NULL }, "empty.example.com", 1 },
	{ "RFC 8020 §2 / RFC 9989 Appendix A.4: an empty non-terminal exists",
	  { "_dmarc.sub.example.com TXT v=DMARC1; p=none", NULL }, "sub.example.com", 1 },
	{ "RFC 9989 Appendix A.4: a CNAME to a missing target exists (it has an RR)",
	  { "alias.example.com CNAME missing.example.org.", NULL }, "alias.example.com", 1 },
	{ "RFC 9989 §4.10.1 (DNS errors): SERVFAIL: unknown (-1), never \"does not exist\"",
	  { "flaky.example.com SERVFAIL", NULL }, "flaky.example.com", -1 },
	{ "RFC 9989 §4.10.1 (DNS errors): FORMERR: unknown (-1)",
	  { "odd.example.com FORMERR", NULL }, "odd.example.com", -1 },
	{ "RFC 9989 §3.2.13: invalid name: unknown (-1)",
	  { NULL }, "a..example.com", -1 },
};

static void
test_exists(void)
{
	size_t i;

	for (i = 0; i < sizeof(exists_cases) / sizeof(exists_cases[0]); i++) {
		struct dns *d = world(exists_cases[i].zone);

		tap_is_int(discovery_domain_exists(d, exists_cases[i].domain), exists_cases[i].want,
		    "exists: %s", exists_cases[i].what);
		dns_free(d);
	}
}

int
main(void)
{
	char path[] = "/tmp/test_discovery_psl.XXXXXX";
	char err[256];
	int fd;

	if ((fd = mkstemp(path)) < 0 || write(fd, test_psl, sizeof(test_psl) - 1) !=
	    (ssize_t)(sizeof(test_psl) - 1) || close(fd) != 0) {
		printf("Bail out! cannot write a test PSL\n");
		return 1;
	}
	psl = orgdomain_load(path, err, sizeof(err));
	unlink(path);
	if (psl == NULL) {
		printf("Bail out! cannot load the test PSL: %s\n", err);
		return 1;
	}

	test_fetch();
	test_discovery();
	test_record_moved();
	test_orgdomain();
	test_exists();

	orgdomain_free(psl);
	return tap_done();
}
