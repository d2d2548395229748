/*
 * evaluate.c - one message from envelope to verdict.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dkimverify.h"
#include "dmarc_eval.h"
#include "evaluate.h"
#include "hdr.h"
#include "hostlist.h"
#include "log.h"
#include "orgdomain.h"
#include "runtime.h"
#include "session.h"
#include "spfcheck.h"
#include "util.h"

struct evaluation {
	struct runtime		*rt;
	const struct session	*s;
	char			*jobid;
	struct dkimverify	*dkim;		/* NULL until eoh, or when upstream results are used */
	struct hdr_ar		 upstream;	/* A-R of a trusted gateway */
	bool			 use_upstream;
};

/* sample - pct sampling source for dmarc_eval */
static unsigned
sample(void *arg)
{
	return runtime_sample_percent(arg);
}

/*
 * find_upstream - the Authentication-Results of a trusted gateway.  Only
 * when the connecting client is in TrustedHosts, and only a header whose
 * authserv-id is in TrustedAuthservIDs: a header never earns trust by what
 * it says (the class of OpenDMARC CVE-2019-20790).  The first (topmost)
 * such header is the gateway's own.
 */
static bool
find_upstream(struct evaluation *e)
{
	const struct config *c = e->rt->conf;
	const struct message *m = &e->s->msg;
	char err[256];
	size_t i, j;

	if (c->trusted_hosts == NULL || c->trusted_authserv_ids.n == 0 ||
	    !hostlist_match(c->trusted_hosts, e->s->client_addr, e->s->client_host))
		return false;
	for (i = 0; i < m->n_headers; i++) {
		if (!ascii_strcaseeq(m->headers[i].name, "Authentication-Results"))
			continue;
		for (j = 0; j < c->trusted_authserv_ids.n; j++) {
			if (!hdr_ar_authserv_is(m->headers[i].value, c->trusted_authserv_ids.v[j]))
				continue;
			if (hdr_ar_parse(m->headers[i].value, &e->upstream, err, sizeof(err)) != 0) {
				log_warn("%s: trusted A-R from %s unparsable (%s); checking ourselves",
				    e->jobid, c->trusted_authserv_ids.v[j], err);
				return false;
			}
			return true;
		}
	}
	return false;
}

/* evaluation_new - begin a message */
struct evaluation *
evaluation_new(struct runtime *rt, const struct session *s, const char *jobid)
{
	struct evaluation *e = xcalloc(1, sizeof(*e));

	e->rt = rt;
	e->s = s;
	e->jobid = xstrdup(jobid != NULL ? jobid : "NOQUEUE");
	return e;
}

/* evaluation_eoh - headers complete: find a trusted upstream, or start DKIM */
void
evaluation_eoh(struct evaluation *e)
{
	const struct message *m = &e->s->msg;
	size_t i;

	e->use_upstream = find_upstream(e);
	if (e->use_upstream)
		return;
	e->dkim = dkimverify_new(e->rt->dkim, e->jobid);
	if (e->dkim == NULL)
		return;
	for (i = 0; i < m->n_headers; i++)
		dkimverify_header(e->dkim, m->headers[i].name, m->headers[i].value, e->s->leadspc);
	dkimverify_eoh(e->dkim);
}

/* evaluation_body - feed DKIM */
void
evaluation_body(struct evaluation *e, const unsigned char *p, size_t len)
{
	if (e->dkim != NULL)
		dkimverify_body(e->dkim, p, len);
}

/* prop - a property of an upstream resinfo, e.g. ("header", "d") */
static const char *
prop(const struct hdr_ar_result *r, const char *ptype, const char *property)
{
	size_t i;

	for (i = 0; i < r->n_props; i++)
		if (ascii_strcaseeq(r->props[i].ptype, ptype) &&
		    ascii_strcaseeq(r->props[i].property, property))
			return r->props[i].value;
	return NULL;
}

/* res - an upstream result word; unknown words are permerror, never pass */
static enum auth_res
res(const char *word)
{
	enum auth_res r;

	return auth_res_parse(word, &r) == 0 ? r : AUTH_PERMERROR;
}

/* upstream_results - SPF and DKIM outcomes from the gateway's header */
static void
upstream_results(struct evaluation *e, struct verdict *v)
{
	const struct hdr_ar *ar = &e->upstream;
	const char *p, *at;
	size_t i;

	v->spf.result = AUTH_NONE;
	for (i = 0; i < ar->n_results; i++) {
		const struct hdr_ar_result *r = &ar->results[i];

		if (ascii_strcaseeq(r->method, "spf") && v->spf.domain == NULL) {
			v->spf.result = res(r->result);
			if ((p = prop(r, "smtp", "mailfrom")) != NULL && *p != '\0') {
				at = strrchr(p, '@');
				v->spf.identity = xstrdup(p);
				v->spf.domain = xstrdup(at != NULL ? at + 1 : p);
			} else if ((p = prop(r, "smtp", "helo")) != NULL && *p != '\0') {
				v->spf.identity = xstrdup(p);
				v->spf.domain = xstrdup(p);
				v->spf.helo_scope = true;
			} else if (v->spf.result == AUTH_PASS) {
				v->spf.result = AUTH_PERMERROR;	/* a pass for nothing we can align */
			}
			/* A resinfo without an identity leaves domain NULL, so a later
			 * "spf" one comes here again: replace, do not leak, its reason. */
			free(v->spf.reason);
			v->spf.reason = xasprintf("from trusted %s", ar->authserv_id);
		} else if (ascii_strcaseeq(r->method, "dkim") && v->n_dkim < DKIMVERIFY_DEFAULT_MAX_SIGS) {
			struct dkim_outcome *d;

			v->dkim = xrealloc(v->dkim, (v->n_dkim + 1) * sizeof(*v->dkim));
			d = &v->dkim[v->n_dkim++];
			memset(d, 0, sizeof(*d));
			d->result = res(r->result);
			if ((p = prop(r, "header", "d")) != NULL)
				d->domain = xstrdup(p);
			else if ((p = prop(r, "header", "i")) != NULL && (at = strrchr(p, '@')) != NULL)
				d->domain = xstrdup(at + 1);
			if ((p = prop(r, "header", "s")) != NULL)
				d->selector = xstrdup(p);
			if ((p = prop(r, "header", "a")) != NULL)
				d->algorithm = xstrdup(p);
			if ((p = prop(r, "header", "b")) != NULL)
				d->b = xstrdup(p);
			if (d->domain == NULL && d->result == AUTH_PASS)
				d->result = AUTH_PERMERROR;
			d->reason = xasprintf("from trusted %s", ar->authserv_id);
		}
	}
}

/* add_domain - collect a normalized author domain, once */
static void
add_domain(char ***list, size_t *n, const char *raw, struct buf *problems)
{
	char err[256], *d;
	size_t i;

	if ((d = domain_normalize(raw, err, sizeof(err))) == NULL) {
		buf_printf(problems, "%sFrom domain \"%.64s\" unusable: %s", problems->len ? "; " : "",
		    raw, err);
		return;
	}
	for (i = 0; i < *n; i++) {
		if (strcmp((*list)[i], d) == 0) {
			free(d);
			return;
		}
	}
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = d;
}

/*
 * author_domains - every author domain of the message (RFC 7489 §6.6.1):
 * from every From header and every address in them.  Problems (no From,
 * several, unparsable, several domains) are noted in the verdict; what they
 * lead to is the action's business (RequiredHeaders, RejectMultiValueFrom).
 */
static size_t
author_domains(const struct message *m, struct verdict *v, char ***out)
{
	struct buf problems;
	char **doms, err[256];
	size_t i, j, n, n_from = 0, total = 0;

	buf_init(&problems, 4096);
	*out = NULL;
	for (i = 0; i < m->n_headers; i++) {
		if (!ascii_strcaseeq(m->headers[i].name, "From"))
			continue;
		n_from++;
		if (hdr_from_domains(m->headers[i].value, &doms, &n, err, sizeof(err)) != 0) {
			buf_printf(&problems, "%sFrom header unparsable: %s", problems.len ? "; " : "", err);
			/*
			 * Still evaluate every domain the broken field names: a
			 * mail program may show it, and dropping it would let
			 * "user@example.com, <>" past example.com's p=reject.
			 */
			if (hdr_from_salvage(m->headers[i].value, &doms, &n) != 0)
				continue;
		}
		for (j = 0; j < n; j++)
			add_domain(out, &total, doms[j], &problems);
		hdr_domains_free(doms, n);
	}
	if (n_from == 0)
		buf_puts(&problems, "no From header");
	else if (n_from > 1)
		buf_printf(&problems, "%s%zu From headers", problems.len ? "; " : "", n_from);
	if (total > 1)
		buf_printf(&problems, "%s%zu author domains", problems.len ? "; " : "", total);
	if (problems.len > 0) {
		v->from_problem = true;
		v->from_comment = buf_detach(&problems);
	}
	v->n_from_headers = n_from;
	buf_free(&problems);
	return total;
}

/* evaluation_finish - SPF, DKIM results, DMARC per author domain */
void
evaluation_finish(struct evaluation *e, struct verdict *v)
{
	const struct session *s = e->s;
	const struct config *c = e->rt->conf;
	struct dmarc_env env;
	char **doms;
	size_t i, n;

	verdict_init(v);
	v->when = time(NULL);

	if (e->use_upstream) {
		upstream_results(e, v);
	} else {
		if (s->client_addr[0] != '\0') {
			spfcheck_run(e->rt->spf, s->client_addr, s->helo != NULL ? s->helo : "",
			    s->msg.mail_from != NULL ? s->msg.mail_from : "", &v->spf, NULL);
		} else {
			v->spf.result = AUTH_NONE;
			v->spf.reason = xstrdup("no client IP address (local submission)");
		}
		if (e->dkim != NULL)
			dkimverify_eom(e->dkim, &v->dkim, &v->n_dkim);
	}

	n = author_domains(&s->msg, v, &doms);
	env.dns = e->rt->dns;
	env.psl = e->rt->psl;
	env.rules = c->rules;
	env.sample = sample;
	env.sample_arg = e->rt;
	v->dmarc = n > 0 ? xcalloc(n, sizeof(*v->dmarc)) : NULL;
	for (i = 0; i < n; i++) {
		dmarc_eval(&env, doms[i], &v->spf, v->dkim, v->n_dkim, &v->dmarc[i]);
		v->n_dmarc++;
		free(doms[i]);
	}
	free(doms);

	/*
	 * Several author domains: the strictest outcome applies, never the most
	 * lenient (the class of OpenDMARC CVE-2019-16378).  Among equal
	 * dispositions a failing result decides, so it is the one reported.
	 */
	v->deciding = 0;
	for (i = 1; i < v->n_dmarc; i++) {
		const struct dmarc_outcome *a = &v->dmarc[i], *b = &v->dmarc[v->deciding];

		if (a->disposition > b->disposition ||
		    (a->disposition == b->disposition && a->result == AUTH_FAIL && b->result != AUTH_FAIL))
			v->deciding = i;
	}
	v->disposition = v->n_dmarc > 0 ? v->dmarc[v->deciding].disposition : DISP_NONE;
}

/* evaluation_used_upstream - whether a trusted gateway's results were used */
bool
evaluation_used_upstream(const struct evaluation *e)
{
	return e->use_upstream;
}

/* evaluation_free - release the per-message state */
void
evaluation_free(struct evaluation *e)
{
	if (e == NULL)
		return;
	if (e->dkim != NULL)
		dkimverify_free(e->dkim);
	if (e->use_upstream)
		hdr_ar_free(&e->upstream);
	free(e->jobid);
	free(e);
}
