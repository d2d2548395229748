/*
 * test_action.c - local policy on top of the verdict: what the MTA is told,
 * and what the reports will say was applied (RFC 7489 §7.2 overrides).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "buf.h"
#include "config.h"
#include "tap.h"
#include "util.h"

/* verdict - one author domain with a result and a disposition */
static void
verdict(struct verdict *v, size_t n_from, size_t n_dmarc, enum auth_res res, enum disposition disp)
{
	size_t i;

	verdict_init(v);
	v->n_from_headers = n_from;
	v->n_dmarc = n_dmarc;
	v->dmarc = n_dmarc ? xcalloc(n_dmarc, sizeof(*v->dmarc)) : NULL;
	for (i = 0; i < n_dmarc; i++) {
		v->dmarc[i].from_domain = xstrdup(i == 0 ? "example.com" : "example.org");
		v->dmarc[i].result = res;
		v->dmarc[i].disposition = disp;
	}
	v->disposition = disp;
	if (n_from != 1 || n_dmarc == 0) {
		v->from_problem = true;
		v->from_comment = xstrdup("test");
	}
}

static const struct {
	const char *name;
	bool reject, hold, tempfail, required, multi;
	size_t n_from, n_dmarc;
	enum auth_res res;
	enum disposition disp;
	enum action want;
	const char *rcode;
	enum disposition want_disp;
	enum override_reason want_reason;
} cases[] = {
	{ "pass: accept", true, true, true, false, false, 1, 1, AUTH_PASS, DISP_NONE,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_NONE },
	{ "p=reject failure with RejectFailures: 550", true, false, false, false, false, 1, 1, AUTH_FAIL, DISP_REJECT,
	  ACTION_REJECT, "550", DISP_REJECT, OVR_NONE },
	{ "p=reject failure without RejectFailures: accept, local_policy (RFC 7489 §7.2)", false, true, false, false, false, 1, 1, AUTH_FAIL, DISP_REJECT,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_LOCAL_POLICY },
	{ "quarantine with HoldQuarantinedMessages: quarantine", false, true, false, false, false, 1, 1, AUTH_FAIL, DISP_QUARANTINE,
	  ACTION_QUARANTINE, NULL, DISP_QUARANTINE, OVR_NONE },
	{ "quarantine without HoldQuarantinedMessages: accept, local_policy", true, false, false, false, false, 1, 1, AUTH_FAIL, DISP_QUARANTINE,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_LOCAL_POLICY },
	{ "temperror with TemporaryFailures tempfail: 451", true, true, true, false, false, 1, 1, AUTH_TEMPERROR, DISP_NONE,
	  ACTION_TEMPFAIL, "451", DISP_NONE, OVR_NONE },
	{ "temperror with TemporaryFailures accept: accept", true, true, false, false, false, 1, 1, AUTH_TEMPERROR, DISP_NONE,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_NONE },
	{ "no From with RequiredHeaders: 550 (RFC 5322 §3.6)", false, false, false, true, false, 0, 0, AUTH_NONE, DISP_NONE,
	  ACTION_REJECT, "550", DISP_NONE, OVR_NONE },
	{ "two From fields with RequiredHeaders: 550", false, false, false, true, false, 2, 2, AUTH_PASS, DISP_NONE,
	  ACTION_REJECT, "550", DISP_NONE, OVR_NONE },
	{ "no From without RequiredHeaders: accept", false, false, false, false, false, 0, 0, AUTH_NONE, DISP_NONE,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_NONE },
	{ "two author domains with RejectMultiValueFrom: 550", false, false, false, false, true, 1, 2, AUTH_PASS, DISP_NONE,
	  ACTION_REJECT, "550", DISP_NONE, OVR_NONE },
	{ "one author domain with RejectMultiValueFrom: accept", false, false, false, false, true, 1, 1, AUTH_PASS, DISP_NONE,
	  ACTION_ACCEPT, NULL, DISP_NONE, OVR_NONE },
};

int
main(void)
{
	struct config *c;
	struct verdict v;
	struct decision d;
	struct buf b;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = config_load(NULL, err, sizeof(err));
		c->reject_failures = cases[i].reject;
		c->hold_quarantined = cases[i].hold;
		c->temp_failures = cases[i].tempfail ? TEMPFAIL_TEMPFAIL : TEMPFAIL_ACCEPT;
		c->required_headers = cases[i].required;
		c->reject_multi_from = cases[i].multi;
		verdict(&v, cases[i].n_from, cases[i].n_dmarc, cases[i].res, cases[i].disp);
		action_decide(c, &v, &d);
		tap_ok(d.action == cases[i].want && (cases[i].rcode == NULL ? d.rcode == NULL :
		    d.rcode != NULL && strcmp(d.rcode, cases[i].rcode) == 0), "%s (got %s %s)",
		    cases[i].name, action_str(d.action), d.rcode ? d.rcode : "");
		if (v.n_dmarc > 0)
			tap_ok(v.disposition == cases[i].want_disp && v.dmarc[0].reason == cases[i].want_reason,
			    "%s: applied disposition %s, override %s", cases[i].name,
			    disposition_str(v.disposition), override_reason_str(v.dmarc[0].reason));
		if (d.action == ACTION_REJECT || d.action == ACTION_TEMPFAIL)
			tap_ok(d.text != NULL && strpbrk(d.text, "\r\n%") == NULL, "%s: reply text is one safe line", cases[i].name);
		action_free(&d);
		verdict_free(&v);
		config_free(c);
	}

	/* A hostile author domain cannot put CR/LF or '%' into the reply. */
	c = config_load(NULL, err, sizeof(err));
	c->reject_failures = true;
	verdict(&v, 1, 1, AUTH_FAIL, DISP_REJECT);
	free(v.dmarc[0].from_domain);
	v.dmarc[0].from_domain = xstrdup("evil.example\r\n250 ok %s%n");
	action_decide(c, &v, &d);
	tap_ok(d.text != NULL && strpbrk(d.text, "\r\n%") == NULL, "a hostile domain is made safe in the reply: %s", d.text);
	buf_init(&b, 0);
	action_summary(&v, &d, &b);
	tap_ok(strpbrk(buf_str(&b), "\r\n") == NULL, "the log summary is one line");
	buf_free(&b);
	action_free(&d);
	verdict_free(&v);
	config_free(c);
	return tap_done();
}
