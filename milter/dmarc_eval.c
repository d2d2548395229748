/*
 * dmarc_eval.c - DMARC evaluation of one author domain (RFC 7489 §6.6,
 * RFC 9989 §4.7-4.10): find the policy, check identifier alignment, pick
 * p/sp/np, apply pct (RFC 7489) or t=y (RFC 9989).
 *
 * What differs between the two rule sets is confined to discovery (PSL vs
 * DNS tree walk), the organisational domain used for relaxed alignment,
 * np, and pct vs t; the rest is one code path.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "dmarc_eval.h"
#include "dns.h"
#include "orgdomain.h"
#include "util.h"

/* dmarc_weaker - one step down: reject → quarantine → none */
enum disposition
dmarc_weaker(enum disposition d)
{
	return d == DISP_REJECT ? DISP_QUARANTINE : DISP_NONE;
}

/* policy_disposition - the disposition a published policy asks for */
static enum disposition
policy_disposition(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_REJECT:
		return DISP_REJECT;
	case DMARC_POLICY_QUARANTINE:
		return DISP_QUARANTINE;
	default:
		return DISP_NONE;
	}
}

/*
 * aligned - is the identifier aligned with the author domain?  Strict is
 * equality of the normalized names and never consults the PSL or the DNS
 * (RFC 7489 §3.1.1/§3.1.2).  Relaxed compares organisational domains: from
 * the PSL (RFC 7489 §3.2) or from a DNS tree walk per identifier (RFC 9989
 * §4.10.2).  *tempfail is set when the tree walk could not tell.
 */
static bool
aligned(const struct dmarc_env *env, enum dmarc_align mode, const char *from,
    const char *from_org, bool from_org_unknown, const char *id_raw, bool *tempfail)
{
	enum discovery_status st;
	char err[256], *id, *id_org;
	bool ok;

	if (id_raw == NULL || (id = domain_normalize(id_raw, err, sizeof(err))) == NULL)
		return false;
	if (mode == DMARC_ALIGN_STRICT || strcmp(id, from) == 0) {
		ok = strcmp(id, from) == 0;
	} else if (env->rules == RULES_RFC7489) {
		ok = orgdomain_aligned_psl(env->psl, mode, from, id);
	} else if (from_org_unknown) {
		/*
		 * The author domain's own organisational domain is unknown (a
		 * DNS temporary failure in its walk): a relaxed comparison with
		 * a different name cannot be decided.
		 */
		*tempfail = true;
		ok = false;
	} else {
		id_org = discovery_orgdomain_treewalk(env->dns, id, &st);
		if (st == DISC_TEMPFAIL)
			*tempfail = true;
		ok = orgdomain_aligned_with(mode, from, from_org, id, id_org);
		free(id_org);
	}
	free(id);
	return ok;
}

/* choose_policy - p, sp or np (RFC 7489 §6.6.3 step 6, RFC 9989 §4.7) */
static enum dmarc_policy
choose_policy(const struct dmarc_env *env, bool from_org, const char *author,
    struct dmarc_outcome *out)
{
	const struct dmarc_record *r = &out->record;

	if (!from_org)
		return r->p;
	/*
	 * RFC 9989 §4.7: np applies to an author domain that does not exist
	 * (and comes from the org or PSD record); otherwise sp, then p.
	 */
	if (env->rules == RULES_RFC9989 && r->np != DMARC_POLICY_UNSET) {
		int exists = discovery_domain_exists(env->dns, author);

		if (exists == 0)
			return r->np;
		if (exists < 0)
			out->comment = xstrdup("existence of the author domain unknown (DNS temporary failure): np not applied");
	}
	return r->sp != DMARC_POLICY_UNSET ? r->sp : r->p;
}

/* dmarc_eval - see dmarc_eval.h */
void
dmarc_eval(const struct dmarc_env *env, const char *author, const struct spf_outcome *spf,
    const struct dkim_outcome *dkim, size_t n_dkim, struct dmarc_outcome *out)
{
	struct discovery_result d;
	bool tempfail = false;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->from_domain = xstrdup(author);
	out->discovery = env->rules == RULES_RFC9989 ? DISCOVERY_TREEWALK : DISCOVERY_PSL;

	if (env->rules == RULES_RFC9989)
		discovery_treewalk(env->dns, author, &d);
	else
		discovery_psl(env->dns, env->psl, author, &d);
	if (d.org_domain != NULL)
		out->org_domain = xstrdup(d.org_domain);
	if (d.policy_domain != NULL)
		out->policy_domain = xstrdup(d.policy_domain);

	switch (d.status) {
	case DISC_TEMPFAIL:
		/* Never mistaken for "no record" (RFC 7489 §6.6.3, temperror). */
		out->result = AUTH_TEMPERROR;
		out->comment = xstrdup(d.comment != NULL ? d.comment : "DNS temporary failure");
		discovery_result_free(&d);
		return;
	case DISC_NONE:
		out->result = AUTH_NONE;
		if (d.comment != NULL)
			out->comment = xstrdup(d.comment);
		discovery_result_free(&d);
		return;
	case DISC_INVALID:
		out->result = AUTH_PERMERROR;
		out->comment = xstrdup(d.comment != NULL ? d.comment : "invalid DMARC record");
		discovery_result_free(&d);
		return;
	case DISC_FOUND:
		break;
	}

	out->have_record = true;
	out->record = d.record;
	memset(&d.record, 0, sizeof(d.record));	/* moved */
	out->policy = choose_policy(env, d.from_org, author, out);

	/* SPF: the MAIL FROM identity, or HELO for the null sender (RFC 7208 §2.4). */
	if (spf != NULL && spf->result == AUTH_PASS)
		out->spf_aligned = aligned(env, out->record.aspf, author, out->org_domain,
		    d.org_status == DISC_TEMPFAIL, spf->domain, &tempfail);
	/* DKIM: any passing signature whose d= aligns (RFC 7489 §3.1.1). */
	for (i = 0; i < n_dkim && !out->dkim_aligned; i++)
		if (dkim[i].result == AUTH_PASS)
			out->dkim_aligned = aligned(env, out->record.adkim, author, out->org_domain,
			    d.org_status == DISC_TEMPFAIL, dkim[i].domain, &tempfail);

	if (out->spf_aligned || out->dkim_aligned) {
		out->result = AUTH_PASS;
		out->disposition = DISP_NONE;
	} else if (tempfail) {
		/*
		 * A passing identifier could not be compared: an organisational
		 * domain was unknown (RFC 9989 §5.3.6: the DNS queries needed
		 * for validation failed).  Without a passing identifier that
		 * needed them, it is a plain fail (§5.3.5).
		 */
		out->result = AUTH_TEMPERROR;
		free(out->comment);
		out->comment = xstrdup("DNS temporary failure while checking alignment");
	} else {
		out->result = AUTH_FAIL;
		out->disposition = policy_disposition(out->policy);
		if (env->rules == RULES_RFC9989 && out->record.testing &&
		    out->disposition != DISP_NONE) {
			/* RFC 9989 t=y: apply the next lower policy. */
			out->disposition = dmarc_weaker(out->disposition);
			out->reason = OVR_POLICY_TEST_MODE;
		} else if (env->rules == RULES_RFC7489 && out->record.pct < 100 &&
		    out->disposition != DISP_NONE && env->sample != NULL &&
		    env->sample(env->sample_arg) >= out->record.pct) {
			/*
			 * RFC 7489 §6.6.4: a message not selected by pct gets the
			 * next policy lower: quarantine, not accept, under reject.
			 */
			out->disposition = dmarc_weaker(out->disposition);
			out->reason = OVR_SAMPLED_OUT;
		}
	}
	discovery_result_free(&d);
}
