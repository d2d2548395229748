/*
 * test_dmarc_eval.c - the DMARC decision for one author domain
 * (dmarc_eval): identifier alignment, the choice of p/sp/np, the
 * disposition with pct (RFC 7489) or t=y (RFC 9989), and the none /
 * temperror / permerror results, under both rule sets, against the static
 * DNS backend and the system Public Suffix List.
 *
 * RFC 9989 section numbers are those of draft-ietf-dmarc-dmarcbis-41, as
 * elsewhere in the tree (§4.7 tags, §4.10 tree walk, §4.10.1 policy
 * discovery, §4.10.2 identifier alignment evaluation, §5.3.5 pass or fail,
 * §5.3.6 apply policy).
 *
 * One TAP line per case; a failing case lists every field that differs.
 * A case with a "todo" is where we believe dmarc_eval.c is wrong: it is
 * printed as a TAP TODO (automake: XFAIL), so it shows without breaking the
 * build, and turns into an XPASS (a failure) once the code is fixed.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dmarc_eval.h"
#include "dns.h"
#include "orgdomain.h"
#include "result.h"
#include "util.h"
#include "tap.h"

#define SYSTEM_PSL	"/usr/share/publicsuffix/public_suffix_list.dat"
#define MAX_ZONE	8
#define MAX_DKIM	3
#define NO_SAMPLER	(-1)

#define R7		RULES_RFC7489
#define R9		RULES_RFC9989

/* A deterministic pct sampler: always returns value, counts its calls. */
struct sampler {
	unsigned	 value;
	unsigned	 calls;
};

/* sample_fixed - the dmarc_env sample() callback */
static unsigned
sample_fixed(void *arg)
{
	struct sampler *s = arg;

	s->calls++;
	return s->value;
}

struct expect {
	enum auth_res	 result;
	const char	*policy_domain;	/* NULL: expected NULL */
	const char	*org_domain;	/* NULL: expected NULL */
	bool		 have_record;
	enum dmarc_policy policy;
	bool		 spf_aligned;
	bool		 dkim_aligned;
	enum disposition disp;
	enum override_reason reason;
	unsigned	 calls;		/* sample() calls expected */
	const char	*comment_has;	/* NULL: comment not checked */
};

struct tcase {
	const char	*name;
	enum dmarc_rules rules;
	const char	*zone[MAX_ZONE];	/* "name KIND [data]", see world() */
	const char	*author;
	struct {
		enum auth_res	 res;
		const char	*domain;
	} spf;
	struct {
		enum auth_res	 res;
		const char	*d;
	} dkim[MAX_DKIM];			/* up to the first d == NULL */
	int		 sample;		/* NO_SAMPLER: env.sample = NULL */
	struct expect	 want;
	const char	*todo;			/* why we think the code is wrong */
};

/* Zones used by several cases. */
#define Z_REJECT	"_dmarc.example.com TXT v=DMARC1; p=reject"
#define Z_STRICT	"_dmarc.example.com TXT v=DMARC1; p=reject; aspf=s; adkim=s"
#define Z_SP_NP		"_dmarc.example.com TXT v=DMARC1; p=reject; sp=quarantine; np=none"
#define Z_NP_ONLY	"_dmarc.example.com TXT v=DMARC1; p=reject; np=quarantine"
#define Z_SUB_EXISTS	"sub.example.com A 192.0.2.1"

static const struct tcase cases[] = {
	/* ---- result: alignment ---- */
	{ "RFC 7489 §3.1.2, §6.6.2: SPF pass for the author domain alone aligns: pass",
	  R7, { Z_REJECT }, "example.com", { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2, §5.3.5: SPF pass for the author domain alone aligns: pass",
	  R9, { Z_REJECT }, "example.com", { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1, §6.6.2: DKIM pass d=author alone aligns (SPF fail): pass",
	  R7, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2, §5.3.5: DKIM pass d=author alone aligns (SPF fail): pass",
	  R9, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.2: SPF and DKIM both aligned: pass, both flags",
	  R7, { Z_REJECT }, "example.com", { AUTH_PASS, "example.com" },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.5: SPF and DKIM both aligned: pass, both flags",
	  R9, { Z_REJECT }, "example.com", { AUTH_PASS, "example.com" },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.2: no identifier at all (SPF fail, no signature): fail, p=reject applied",
	  R7, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.5: no identifier at all (SPF none, no signature): fail, p=reject applied",
	  R9, { Z_REJECT }, "example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: a DKIM pass from a third-party d= (and SPF pass for it) does not align",
	  R7, { Z_REJECT }, "example.com", { AUTH_PASS, "example.net" },
	  { { AUTH_PASS, "example.net" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: a DKIM pass from a third-party d= does not align",
	  R9, { Z_REJECT, "_dmarc.example.net TXT v=DMARC1; p=none" }, "example.com",
	  { AUTH_FAIL, "example.com" }, { { AUTH_PASS, "example.net" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.2: SPF pass for a subdomain aligns in relaxed mode (PSL)",
	  R7, { Z_REJECT }, "example.com", { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: SPF pass for a subdomain aligns in relaxed mode (tree walk)",
	  R9, { Z_REJECT }, "example.com", { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.2: SPF pass for a subdomain does not align with aspf=s",
	  R7, { Z_STRICT }, "example.com", { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: SPF pass for a subdomain does not align with aspf=s",
	  R9, { Z_STRICT }, "example.com", { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: DKIM d=subdomain aligns in relaxed mode",
	  R7, { Z_REJECT }, "example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "mail.example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: DKIM d=subdomain aligns in relaxed mode",
	  R9, { Z_REJECT }, "example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "mail.example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: DKIM d=subdomain does not align with adkim=s",
	  R7, { Z_STRICT }, "example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "mail.example.com" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: DKIM d=subdomain does not align with adkim=s",
	  R9, { Z_STRICT }, "example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "mail.example.com" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: strict: DKIM d= identical (after case folding) aligns",
	  R7, { Z_STRICT }, "example.com", { AUTH_PASS, "Example.COM" },
	  { { AUTH_PASS, "EXAMPLE.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2 (Note): strict: identical names align without any tree walk",
	  R9, { Z_STRICT }, "example.com", { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: a failing DKIM signature for the author domain does not count",
	  R7, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" },
	  { { AUTH_FAIL, "example.com" }, { AUTH_PASS, "example.net" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.4: a failing (or policy-refused) DKIM signature for the author domain does not count",
	  R9, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" },
	  { { AUTH_FAIL, "example.com" }, { AUTH_POLICY, "example.com" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.2: any passing aligned signature counts, not only the first",
	  R7, { Z_REJECT }, "example.com", { AUTH_FAIL, "example.com" },
	  { { AUTH_PASS, "example.net" }, { AUTH_FAIL, "example.com" },
	    { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.2, §4.2: SPF softfail for the author domain never aligns",
	  R7, { Z_REJECT }, "example.com", { AUTH_SOFTFAIL, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.4: SPF softfail for the author domain never aligns",
	  R9, { Z_REJECT }, "example.com", { AUTH_SOFTFAIL, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.2, §4.2: SPF neutral for the author domain never aligns",
	  R7, { Z_REJECT }, "example.com", { AUTH_NEUTRAL, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.4: SPF neutral for the author domain never aligns",
	  R9, { Z_REJECT }, "example.com", { AUTH_NEUTRAL, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.1.1: subdomain author, DKIM d=organisational domain aligns relaxed",
	  R7, { Z_SP_NP, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2: subdomain author, DKIM d=organisational domain aligns relaxed",
	  R9, { Z_SP_NP, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL },
	  { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2 rule 1: psd=n makes the subdomain its own organisational domain: sibling does not align",
	  R9, { Z_REJECT, "_dmarc.a.example.com TXT v=DMARC1; p=reject; psd=n" }, "a.example.com",
	  { AUTH_PASS, "b.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "a.example.com", "a.example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.2: the PSL knows no psd=n: the sibling aligns through example.com",
	  R7, { Z_REJECT, "_dmarc.a.example.com TXT v=DMARC1; p=reject; psd=n" }, "a.example.com",
	  { AUTH_PASS, "b.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "a.example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },

	/* ---- policy choice: p, sp, np ---- */
	{ "RFC 7489 §6.3 p: the record at the author domain gives p",
	  R7, { Z_SP_NP }, "example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1: the record at the author domain gives p (sp/np not used)",
	  R9, { Z_SP_NP }, "example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3 sp, §6.6.3: record from the organisational domain, subdomain author: sp",
	  R7, { Z_SP_NP, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1: record from the organisational domain, existing subdomain author: sp",
	  R9, { Z_SP_NP, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3 sp: sp absent: p applies to the subdomain",
	  R7, { Z_NP_ONLY, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 sp: sp absent, existing subdomain: p applies",
	  R9, { Z_NP_ONLY, Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1, §3.2.13: non-existent (NXDOMAIN) subdomain author: np, not sp",
	  R9, { Z_SP_NP }, "nx.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3 (unknown tags ignored): np is ignored, sp applies to a non-existent subdomain",
	  R7, { Z_SP_NP }, "nx.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 np: non-existent subdomain, np without sp: np",
	  R9, { Z_NP_ONLY }, "nx.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3: np ignored, no sp: p applies to a non-existent subdomain",
	  R7, { Z_NP_ONLY }, "nx.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 np: np and sp absent: p applies to a non-existent subdomain",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=quarantine" }, "nx.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1 (DNS errors): existence unknown (SERVFAIL): sp, with a comment",
	  R9, { Z_SP_NP, "nx.example.com SERVFAIL CNAME" }, "nx.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, "np not applied" }, NULL },
	{ "RFC 7489 §6.6.3 step 1: the subdomain's own record wins over the organisational one (p)",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; sp=reject",
	    "_dmarc.sub.example.com TXT v=DMARC1; p=none" }, "sub.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "sub.example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1, §4.10.2 rule 3: own record gives p; organisational domain is example.com",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject; sp=reject",
	    "_dmarc.sub.example.com TXT v=DMARC1; p=none" }, "sub.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "sub.example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1: a PSD record (psd=y) applies with np to a non-existent organisational domain",
	  R9, { "_dmarc.example TXT v=DMARC1; p=none; np=reject; psd=y" }, "bank.example",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example", "bank.example", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },

	/* ---- disposition ---- */
	{ "RFC 7489 §6.3 p=none: fail, disposition none",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=none" }, "example.com", { AUTH_NONE, NULL },
	  { { 0 } }, 0,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 p=none: fail, disposition none",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=none" }, "example.com", { AUTH_NONE, NULL },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3 p=quarantine: fail, quarantine",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=quarantine" }, "example.com", { AUTH_NONE, NULL },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 p=quarantine: fail, quarantine",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=quarantine" }, "example.com", { AUTH_NONE, NULL },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=100: always applied, sampler not asked",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=100" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 99,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=0: every message sampled out, reject becomes quarantine",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=0" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 0,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_QUARANTINE, OVR_SAMPLED_OUT, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=50, sample 49: selected, reject applied",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=50" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 49,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=50, sample 50: sampled out, reject becomes quarantine (not none)",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=50" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 50,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_QUARANTINE, OVR_SAMPLED_OUT, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=50, sample 49: selected, quarantine applied",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=quarantine; pct=50" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 49,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_QUARANTINE, OVR_NONE, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=50, sample 50: sampled out, quarantine becomes none",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=quarantine; pct=50" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 50,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_NONE, OVR_SAMPLED_OUT, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct applies to the sp policy too (sp=quarantine sampled out: none)",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; sp=quarantine; pct=10", Z_SUB_EXISTS },
	  "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, 10,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_NONE, OVR_SAMPLED_OUT, 1, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=0 and p=none: nothing to weaken, sampler not asked",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=none; pct=0" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 0,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.4: pct=0 but the message passes: no sampling",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=0" }, "example.com",
	  { AUTH_PASS, "example.com" }, { { 0 } }, 0,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.4 (dmarc_eval.h contract): no sampler: never sampled out",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=0" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 (pct removed, unknown tags ignored): pct=0 is ignored, reject applied",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject; pct=0" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 99,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=y: reject is applied as quarantine (policy_test_mode)",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject; t=y" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, 0,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_QUARANTINE, OVR_POLICY_TEST_MODE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=y: quarantine is applied as none (policy_test_mode)",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=quarantine; t=y" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_QUARANTINE, false, false,
	    DISP_NONE, OVR_POLICY_TEST_MODE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=y: no effect on p=none (no override reported)",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=none; t=y" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=y: sp=reject of a subdomain is applied as quarantine",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=none; sp=reject; t=y", Z_SUB_EXISTS },
	  "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_QUARANTINE, OVR_POLICY_TEST_MODE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=n: the policy is applied as published",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject; t=n" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.3 (unknown tags MUST be ignored): t=y has no effect, reject applied",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject; t=y" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.7 t=y: a passing message is not affected",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject; t=y" }, "example.com",
	  { AUTH_NONE, NULL }, { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },

	/* ---- none / temperror / permerror ---- */
	{ "RFC 7489 §6.6.3 step 4: no record anywhere: none (org domain from the PSL)",
	  R7, { Z_SUB_EXISTS }, "sub.example.com", { AUTH_PASS, "sub.example.com" }, { { 0 } }, 0,
	  { AUTH_NONE, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1, §4.10.2: no record anywhere: none, the author is its own org domain",
	  R9, { Z_SUB_EXISTS }, "sub.example.com", { AUTH_PASS, "sub.example.com" }, { { 0 } }, 0,
	  { AUTH_NONE, NULL, "sub.example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.3 step 5: two DMARC records: none (not the first)",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=reject",
	    "_dmarc.example.com TXT v=DMARC1; p=none" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_NONE, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "multiple DMARC records" }, NULL },
	{ "RFC 9989 §4.10 step 2: two DMARC records are discarded: none (not the first)",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=reject",
	    "_dmarc.example.com TXT v=DMARC1; p=none" }, "example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_NONE, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "multiple DMARC records" }, NULL },
	{ "RFC 7489 §6.6.3 step 5: two records at the author domain end discovery (no fallback)",
	  R7, { "_dmarc.sub.example.com TXT v=DMARC1; p=none",
	    "_dmarc.sub.example.com TXT v=DMARC1; p=quarantine", Z_REJECT }, "sub.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_NONE, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "multiple DMARC records" }, NULL },
	{ "RFC 9989 §4.10 step 2, §4.10.1: two records at the author domain are discarded; the walk finds the org record",
	  R9, { "_dmarc.sub.example.com TXT v=DMARC1; p=none",
	    "_dmarc.sub.example.com TXT v=DMARC1; p=quarantine", Z_REJECT }, "sub.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.3 (transient DNS error): SERVFAIL at _dmarc: temperror, even with an aligned pass",
	  R7, { "_dmarc.example.com SERVFAIL" }, "example.com", { AUTH_PASS, "example.com" },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_TEMPERROR, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "temporary DNS failure" }, NULL },
	{ "RFC 9989 §4.10.1 (transient DNS error): SERVFAIL at _dmarc: temperror",
	  R9, { "_dmarc.example.com SERVFAIL" }, "example.com", { AUTH_PASS, "example.com" },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_TEMPERROR, NULL, NULL, false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "temporary DNS failure" }, NULL },
	{ "RFC 7489 §6.6.3: SERVFAIL at the organisational domain's _dmarc: temperror, not none",
	  R7, { "_dmarc.example.com SERVFAIL", Z_SUB_EXISTS }, "sub.example.com",
	  { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_TEMPERROR, NULL, "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, "temporary DNS failure" }, NULL },
	{ "RFC 9989 §4.10.1: a timeout at _dmarc: temperror",
	  R9, { "_dmarc.example.com TIMEOUT" }, "example.com", { AUTH_NONE, NULL },
	  { { 0 } }, NO_SAMPLER,
	  { AUTH_TEMPERROR, NULL, NULL, false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.3 step 6: invalid p and no rua: permerror",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=bogus" }, "example.com",
	  { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PERMERROR, "example.com", "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1: invalid p and no rua: permerror",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=bogus" }, "example.com",
	  { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PERMERROR, "example.com", "example.com", false, DMARC_POLICY_UNSET, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §6.6.3 step 6: invalid p with a valid rua acts as p=none",
	  R7, { "_dmarc.example.com TXT v=DMARC1; p=bogus; rua=mailto:d@example.com" },
	  "example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.1: invalid p with a valid rua acts as p=none (sp ignored)",
	  R9, { "_dmarc.example.com TXT v=DMARC1; p=bogus; sp=reject; rua=mailto:d@example.com",
	    Z_SUB_EXISTS }, "sub.example.com", { AUTH_NONE, NULL }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_NONE, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },

	/* ---- temporary failures while checking alignment (RFC 9989 tree walks) ---- */
	{ "RFC 9989 §5.3.6: tree walk for the SPF identifier hits SERVFAIL, nothing aligns: temperror",
	  R9, { Z_REJECT, "_dmarc.bounce.example.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "bounce.example.com" }, { { 0 } }, 0,
	  { AUTH_TEMPERROR, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_NONE, OVR_NONE, 0, "DNS temporary failure" }, NULL },
	{ "RFC 9989 §5.3.6: tree walk for the DKIM identifier hits SERVFAIL, nothing aligns: temperror",
	  R9, { Z_REJECT, "_dmarc.mail.example.com SERVFAIL" }, "example.com",
	  { AUTH_FAIL, "example.com" }, { { AUTH_PASS, "mail.example.com" } }, 0,
	  { AUTH_TEMPERROR, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_NONE, OVR_NONE, 0, "DNS temporary failure" }, NULL },
	{ "RFC 9989 §5.3.5: the identifier walk fails but DKIM d=author aligns: pass",
	  R9, { Z_REJECT, "_dmarc.bounce.example.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "bounce.example.com" }, { { AUTH_PASS, "example.com" } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, true,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2 (Note): aspf=s needs no tree walk: the SERVFAIL does not matter, fail",
	  R9, { Z_STRICT, "_dmarc.bounce.example.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", "example.com", true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 7489 §3.2: the PSL needs no DNS: the same SERVFAIL is irrelevant, relaxed pass",
	  R7, { Z_REJECT, "_dmarc.bounce.example.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", "example.com", true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.6: author's own org domain unknown (SERVFAIL at _dmarc.com), relaxed subdomain SPF: temperror",
	  R9, { Z_REJECT, "_dmarc.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "bounce.example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_TEMPERROR, "example.com", NULL, true, DMARC_POLICY_REJECT, false, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2 (Note): author's org domain unknown but SPF domain identical: pass",
	  R9, { Z_REJECT, "_dmarc.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "example.com" }, { { 0 } }, NO_SAMPLER,
	  { AUTH_PASS, "example.com", NULL, true, DMARC_POLICY_REJECT, true, false,
	    DISP_NONE, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §4.10.2 (Note: strict needs no walk), §5.3.5: org domain unknown, aspf=s adkim=s, nothing aligns: fail",
	  R9, { Z_STRICT, "_dmarc.com SERVFAIL" }, "example.com",
	  { AUTH_PASS, "example.net" }, { { AUTH_PASS, "mail.example.com" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", NULL, true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
	{ "RFC 9989 §5.3.5: org domain unknown but no passing identifier at all: fail, not temperror",
	  R9, { Z_REJECT, "_dmarc.com SERVFAIL" }, "example.com",
	  { AUTH_FAIL, "example.com" }, { { AUTH_FAIL, "example.com" } }, NO_SAMPLER,
	  { AUTH_FAIL, "example.com", NULL, true, DMARC_POLICY_REJECT, false, false,
	    DISP_REJECT, OVR_NONE, 0, NULL }, NULL },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/*
 * world - a static DNS from lines "name KIND [data]": KIND is TXT or A with
 * its data; SERVFAIL, NXDOMAIN, NODATA or TIMEOUT, for every type at that
 * name, or for one type when data is "TXT" or "CNAME".
 */
static struct dns *
world(const char *const *zone)
{
	struct dns_options o;
	struct dns *d;
	size_t i;

	memset(&o, 0, sizeof(o));	/* no cache, timeout 0: TIMEOUT does not sleep */
	d = dns_new_static(&o);
	if (d == NULL) {
		tap_diag("dns_new_static failed");
		exit(2);
	}
	for (i = 0; i < MAX_ZONE && zone[i] != NULL; i++) {
		char name[300], kind[16];
		const char *data;
		uint16_t qt = 0;
		int off = 0, rc;

		if (sscanf(zone[i], "%299s %15s %n", name, kind, &off) < 2) {
			tap_diag("bad zone line \"%s\"", zone[i]);
			exit(2);
		}
		data = zone[i] + off;
		if (strcmp(data, "TXT") == 0)
			qt = DNS_T_TXT;
		else if (strcmp(data, "CNAME") == 0)
			qt = DNS_T_CNAME;
		if (strcmp(kind, "TXT") == 0)
			rc = dns_static_add(d, name, DNS_T_TXT, data);
		else if (strcmp(kind, "A") == 0)
			rc = dns_static_add(d, name, DNS_T_A, data);
		else if (strcmp(kind, "SERVFAIL") == 0)
			rc = dns_static_set_status(d, name, qt, DNS_TEMPFAIL);
		else if (strcmp(kind, "NXDOMAIN") == 0)
			rc = dns_static_set_status(d, name, qt, DNS_NXDOMAIN);
		else if (strcmp(kind, "NODATA") == 0)
			rc = dns_static_set_status(d, name, qt, DNS_OK);
		else if (strcmp(kind, "TIMEOUT") == 0)
			rc = dns_static_set_timeout(d, name, qt);
		else
			rc = -1;
		if (rc != 0) {
			tap_diag("cannot load zone line \"%s\"", zone[i]);
			exit(2);
		}
	}
	return d;
}

/* str_eq - both NULL, or equal strings */
static bool
str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* S - a printable string for a diagnostic */
static const char *
S(const char *s)
{
	return s != NULL ? s : "(null)";
}

/*
 * check - compare an outcome with what the case expects; print one TAP line
 * (a TODO line for a case with todo) and a diagnostic per differing field.
 */
static void
check(const struct tcase *c, const struct dmarc_outcome *o, unsigned calls)
{
	const struct expect *w = &c->want;
	enum discovery want_disc = c->rules == RULES_RFC9989 ? DISCOVERY_TREEWALK : DISCOVERY_PSL;
	char diag[2048];
	size_t len = 0;
	bool ok;

#define MISMATCH(...) do { \
	if (len < sizeof(diag)) \
		len += (size_t)snprintf(diag + len, sizeof(diag) - len, __VA_ARGS__); \
} while (0)

	diag[0] = '\0';
	if (o->result != w->result)
		MISMATCH("#   result: got %s, expected %s\n", auth_res_str(o->result),
		    auth_res_str(w->result));
	if (!str_eq(o->from_domain, c->author))
		MISMATCH("#   from_domain: got %s, expected %s\n", S(o->from_domain), c->author);
	if (!str_eq(o->policy_domain, w->policy_domain))
		MISMATCH("#   policy_domain: got %s, expected %s\n", S(o->policy_domain),
		    S(w->policy_domain));
	if (!str_eq(o->org_domain, w->org_domain))
		MISMATCH("#   org_domain: got %s, expected %s\n", S(o->org_domain), S(w->org_domain));
	if (o->have_record != w->have_record)
		MISMATCH("#   have_record: got %d, expected %d\n", o->have_record, w->have_record);
	if (o->policy != w->policy)
		MISMATCH("#   policy: got %s, expected %s\n", dmarc_policy_str(o->policy),
		    dmarc_policy_str(w->policy));
	if (o->spf_aligned != w->spf_aligned)
		MISMATCH("#   spf_aligned: got %d, expected %d\n", o->spf_aligned, w->spf_aligned);
	if (o->dkim_aligned != w->dkim_aligned)
		MISMATCH("#   dkim_aligned: got %d, expected %d\n", o->dkim_aligned, w->dkim_aligned);
	if (o->disposition != w->disp)
		MISMATCH("#   disposition: got %s, expected %s\n", disposition_str(o->disposition),
		    disposition_str(w->disp));
	if (o->reason != w->reason)
		MISMATCH("#   reason: got %s, expected %s\n", override_reason_str(o->reason),
		    override_reason_str(w->reason));
	if (o->discovery != want_disc)
		MISMATCH("#   discovery: got %d, expected %d\n", (int)o->discovery, (int)want_disc);
	if (calls != w->calls)
		MISMATCH("#   sample() calls: got %u, expected %u\n", calls, w->calls);
	if (w->comment_has != NULL &&
	    (o->comment == NULL || strstr(o->comment, w->comment_has) == NULL))
		MISMATCH("#   comment: got \"%s\", expected to contain \"%s\"\n", S(o->comment),
		    w->comment_has);
	if (w->have_record && o->have_record && o->record.raw == NULL)
		MISMATCH("#   record.raw: NULL although a record was found\n");
	if (!w->have_record && o->record.raw != NULL)
		MISMATCH("#   record.raw: \"%s\" kept without a record\n", o->record.raw);
#undef MISMATCH

	ok = diag[0] == '\0';
	if (c->todo != NULL) {
		/* TAP TODO: does not count as a failure; an unexpected pass is an XPASS */
		printf("%sok %d - %s: %s # TODO %s\n", ok ? "" : "not ", ++tap_n,
		    c->rules == RULES_RFC9989 ? "RFC9989" : "RFC7489", c->name, c->todo);
		fflush(stdout);
	} else
		tap_ok(ok, "%s: %s", c->rules == RULES_RFC9989 ? "RFC9989" : "RFC7489", c->name);
	if (!ok)
		printf("%s", diag);
	fflush(stdout);
}

/*
 * run_case - build the DNS world and the inputs, evaluate, check; all of it
 * is freed through one struct verdict (verdict_free).
 */
static void
run_case(const struct orgdomain *psl, const struct tcase *c)
{
	struct dns *d = world(c->zone);
	struct sampler smp = { 0, 0 };
	struct dmarc_env env;
	struct verdict v;
	size_t i, n = 0;

	verdict_init(&v);
	v.spf.result = c->spf.res;
	v.spf.domain = c->spf.domain != NULL ? xstrdup(c->spf.domain) : NULL;
	for (n = 0; n < MAX_DKIM && c->dkim[n].d != NULL; n++)
		;
	if (n > 0) {
		v.dkim = xcalloc(n, sizeof(*v.dkim));
		v.n_dkim = n;
		for (i = 0; i < n; i++) {
			v.dkim[i].result = c->dkim[i].res;
			v.dkim[i].domain = xstrdup(c->dkim[i].d);
			v.dkim[i].selector = xstrdup("s1");
			v.dkim[i].algorithm = xstrdup("rsa-sha256");
			if (c->dkim[i].res != AUTH_PASS)
				v.dkim[i].reason = xstrdup("signature did not verify");
		}
	}
	v.dmarc = xcalloc(1, sizeof(*v.dmarc));
	v.n_dmarc = 1;

	memset(&env, 0, sizeof(env));
	env.dns = d;
	env.psl = psl;
	env.rules = c->rules;
	if (c->sample != NO_SAMPLER) {
		smp.value = (unsigned)c->sample;
		env.sample = sample_fixed;
		env.sample_arg = &smp;
	}

	dmarc_eval(&env, c->author, &v.spf, v.dkim, v.n_dkim, &v.dmarc[0]);
	check(c, &v.dmarc[0], smp.calls);

	verdict_free(&v);
	dns_free(d);
}

/* test_weaker - dmarc_weaker: one step down, never below none */
static void
test_weaker(void)
{
	tap_is_str(disposition_str(dmarc_weaker(DISP_REJECT)), "quarantine",
	    "RFC 7489 §6.6.4 / RFC 9989 §4.7 t=y: reject weakens to quarantine");
	tap_is_str(disposition_str(dmarc_weaker(DISP_QUARANTINE)), "none",
	    "RFC 7489 §6.6.4 / RFC 9989 §4.7 t=y: quarantine weakens to none");
	tap_is_str(disposition_str(dmarc_weaker(DISP_NONE)), "none",
	    "RFC 7489 §6.6.4 / RFC 9989 §4.7 t=y: none stays none");
}

/* test_null_inputs - NULL SPF outcome and DKIM list are accepted */
static void
test_null_inputs(const struct orgdomain *psl)
{
	static const char *const zone[MAX_ZONE] = { Z_REJECT };
	struct dns *d = world(zone);
	struct dmarc_outcome o;
	struct dmarc_env env;
	struct spf_outcome spf;

	memset(&env, 0, sizeof(env));
	env.dns = d;
	env.psl = psl;
	env.rules = RULES_RFC7489;
	memset(&spf, 0, sizeof(spf));
	spf.result = AUTH_PASS;
	spf.domain = (char *)"example.com";
	dmarc_eval(&env, "example.com", &spf, NULL, 0, &o);
	tap_is_str(auth_res_str(o.result), "pass",
	    "RFC 7489 §6.6.2: NULL DKIM list with an aligned SPF pass: pass");
	free(o.from_domain);
	free(o.policy_domain);
	free(o.org_domain);
	free(o.comment);
	dmarc_record_free(&o.record);

	dmarc_eval(&env, "example.com", NULL, NULL, 0, &o);
	tap_ok(o.result == AUTH_FAIL && o.disposition == DISP_REJECT && !o.spf_aligned,
	    "RFC 7489 §6.6.2: no SPF outcome at all (NULL) and no DKIM: fail, reject");
	free(o.from_domain);
	free(o.policy_domain);
	free(o.org_domain);
	free(o.comment);
	dmarc_record_free(&o.record);
	dns_free(d);
}

int
main(void)
{
	struct orgdomain *psl;
	char err[256];
	size_t i;

	psl = orgdomain_load(SYSTEM_PSL, err, sizeof(err));
	if (!tap_ok(psl != NULL, "load the system Public Suffix List %s", SYSTEM_PSL)) {
		tap_diag("%s", err);
		return tap_done();
	}
	for (i = 0; i < NCASES; i++)
		run_case(psl, &cases[i]);
	test_weaker();
	test_null_inputs(psl);
	orgdomain_free(psl);
	return tap_done();
}
