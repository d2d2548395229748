/*
 * result.c - names of the result enums, and the verdict's life cycle.
 *
 * The strings are the registered RFC 8601 §2.7 result keywords and the
 * RFC 7489 / RFC 9990 report vocabulary, so the A-R writer, the history
 * writer and the report tool all spell them the same way.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "util.h"

static const char *const auth_res_names[] = {
	[AUTH_NONE] = "none",
	[AUTH_PASS] = "pass",
	[AUTH_FAIL] = "fail",
	[AUTH_SOFTFAIL] = "softfail",
	[AUTH_NEUTRAL] = "neutral",
	[AUTH_TEMPERROR] = "temperror",
	[AUTH_PERMERROR] = "permerror",
	[AUTH_POLICY] = "policy",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* auth_res_str - the RFC 8601 §2.7 keyword of a result */
const char *
auth_res_str(enum auth_res r)
{
	if ((size_t)r < NELEM(auth_res_names) && auth_res_names[r] != NULL)
		return auth_res_names[r];
	return "permerror";	/* never reached with a valid enum */
}

/*
 * auth_res_parse - keyword to enum; 0 on success, -1 when unknown.
 * RFC 8601 §2.2: result keywords are case-insensitive.
 */
int
auth_res_parse(const char *s, enum auth_res *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < NELEM(auth_res_names); i++) {
		if (auth_res_names[i] != NULL && ascii_strcaseeq(s, auth_res_names[i])) {
			*out = (enum auth_res)i;
			return 0;
		}
	}
	return -1;
}

/* disposition_str - RFC 7489 §7.2 / RFC 9990 DispositionType keyword */
const char *
disposition_str(enum disposition d)
{
	switch (d) {
	case DISP_NONE:
		return "none";
	case DISP_QUARANTINE:
		return "quarantine";
	case DISP_REJECT:
		return "reject";
	}
	return "none";
}

/* override_reason_str - RFC 7489 / RFC 9990 PolicyOverrideType keyword ("none" for none) */
const char *
override_reason_str(enum override_reason r)
{
	switch (r) {
	case OVR_NONE:
		return "none";
	case OVR_SAMPLED_OUT:
		return "sampled_out";
	case OVR_POLICY_TEST_MODE:
		return "policy_test_mode";
	case OVR_LOCAL_POLICY:
		return "local_policy";
	case OVR_TRUSTED_FORWARDER:
		return "trusted_forwarder";
	case OVR_FORWARDED:
		return "forwarded";
	case OVR_MAILING_LIST:
		return "mailing_list";
	case OVR_OTHER:
		return "other";
	}
	return "other";
}

/* verdict_init - an empty verdict: nothing evaluated, nothing owned */
void
verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
}

/* spf_outcome_free - release the strings of one SPF outcome */
static void
spf_outcome_free(struct spf_outcome *s)
{
	free(s->domain);
	free(s->identity);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

/*
 * verdict_free - release everything the verdict owns and leave it empty.
 * Each dmarc_outcome's record is handed to dmarc_record_free whether or
 * not have_record is set: a producer that failed half-way may have left
 * allocations in it, and a zeroed record frees nothing.
 */
void
verdict_free(struct verdict *v)
{
	size_t i;

	if (v == NULL)
		return;
	spf_outcome_free(&v->spf);
	spf_outcome_free(&v->spf_helo);
	for (i = 0; v->dkim != NULL && i < v->n_dkim; i++) {
		struct dkim_outcome *d = &v->dkim[i];

		free(d->domain);
		free(d->selector);
		free(d->algorithm);
		free(d->identity);
		free(d->b);
		free(d->reason);
	}
	free(v->dkim);
	for (i = 0; v->dmarc != NULL && i < v->n_dmarc; i++) {
		struct dmarc_outcome *o = &v->dmarc[i];

		free(o->from_domain);
		free(o->policy_domain);
		free(o->org_domain);
		free(o->comment);
		dmarc_record_free(&o->record);
	}
	free(v->dmarc);
	free(v->from_comment);
	verdict_init(v);
}
