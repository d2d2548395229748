/*
 * action.c - local policy on top of the DMARC verdict.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "buf.h"
#include "util.h"

/* action_str - word for logs and history */
const char *
action_str(enum action a)
{
	static const char *words[] = { "accept", "quarantine", "reject", "tempfail" };

	return words[a];
}

/*
 * safe_text - reply text built from outside data (a domain): printable
 * ASCII only, and no '%' (libmilter's smfi_setreply treats it as a format
 * character; see LIBRARIES.md §9 item 9).
 */
static char *
safe_text(const char *fmt, const char *arg)
{
	struct buf b;
	const char *p;

	buf_init(&b, 512);
	for (p = fmt; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			const char *q;

			for (q = arg; *q != '\0' && b.len < 300; q++)
				buf_putc(&b, (*q > ' ' && *q < 127 && *q != '%') ? *q : '?');
			p++;
		} else
			buf_putc(&b, *p);
	}
	return buf_detach(&b);
}

/* set - fill a decision */
static void
set(struct decision *d, enum action a, const char *rcode, const char *xcode, char *text,
    const char *why)
{
	d->action = a;
	d->rcode = rcode;
	d->xcode = xcode;
	d->text = text;
	d->why = why;
}

/* action_decide - see action.h */
void
action_decide(const struct config *c, struct verdict *v, struct decision *d)
{
	struct dmarc_outcome *o = v->n_dmarc > 0 ? &v->dmarc[v->deciding] : NULL;
	size_t i;

	memset(d, 0, sizeof(*d));
	set(d, ACTION_ACCEPT, NULL, NULL, NULL, "accepted");

	/* RFC 5322 §3.6: exactly one From field.  RequiredHeaders enforces it. */
	if (c->required_headers && (v->n_from_headers != 1 || (v->from_problem && v->n_dmarc == 0))) {
		set(d, ACTION_REJECT, "550", "5.7.1",
		    xstrdup(v->n_from_headers == 0 ? "Message has no From header (RFC 5322 3.6)" :
		    v->n_from_headers > 1 ? "Message has more than one From header (RFC 5322 3.6)" :
		    "Message has no usable From address (RFC 5322 3.6)"),
		    "required headers");
		return;
	}
	if (c->reject_multi_from && v->n_dmarc > 1) {
		set(d, ACTION_REJECT, "550", "5.7.1",
		    xstrdup("Message has several author domains in From; not accepted"),
		    "several author domains");
		return;
	}
	if (o == NULL)
		return;

	if (o->result == AUTH_TEMPERROR) {
		if (c->temp_failures == TEMPFAIL_TEMPFAIL)
			set(d, ACTION_TEMPFAIL, "451", "4.7.5",
			    safe_text("Temporary failure evaluating DMARC for %s; try again later", o->from_domain),
			    "DMARC temperror");
		return;
	}

	switch (v->disposition) {
	case DISP_REJECT:
		if (c->reject_failures) {
			set(d, ACTION_REJECT, "550", "5.7.1",
			    safe_text("Message rejected: it fails the DMARC policy of %s", o->from_domain),
			    "DMARC reject");
			return;
		}
		break;
	case DISP_QUARANTINE:
		if (c->hold_quarantined) {
			set(d, ACTION_QUARANTINE, NULL, NULL,
			    safe_text("DMARC quarantine policy of %s", o->from_domain), "DMARC quarantine");
			return;
		}
		break;
	case DISP_NONE:
		return;
	}

	/*
	 * The policy asked for more than our configuration does: the message is
	 * delivered, and reports say so (RFC 7489 §7.2: local_policy).
	 */
	d->why = v->disposition == DISP_REJECT ? "DMARC reject not enforced (RejectFailures no)" :
	    "DMARC quarantine not enforced (HoldQuarantinedMessages no)";
	for (i = 0; i < v->n_dmarc; i++) {
		if (v->dmarc[i].disposition != DISP_NONE) {
			v->dmarc[i].disposition = DISP_NONE;
			v->dmarc[i].reason = OVR_LOCAL_POLICY;
		}
	}
	v->disposition = DISP_NONE;
}

/* action_free - release the reply text */
void
action_free(struct decision *d)
{
	free(d->text);
	d->text = NULL;
}

/* put_dkim - "pass(d/s),fail(d/s)" for the log */
static void
put_dkim(struct buf *b, const struct verdict *v)
{
	size_t i;

	if (v->n_dkim == 0) {
		buf_puts(b, " dkim=none");
		return;
	}
	buf_puts(b, " dkim=");
	for (i = 0; i < v->n_dkim; i++)
		buf_printf(b, "%s%s(%s/%s)", i ? "," : "", auth_res_str(v->dkim[i].result),
		    v->dkim[i].domain ? v->dkim[i].domain : "?",
		    v->dkim[i].selector ? v->dkim[i].selector : "?");
}

/*
 * action_summary - the one log line per message: the whole verdict.  The
 * values come from outside; the logger is not a header, but they are
 * still cut short and stripped of control characters.
 */
void
action_summary(const struct verdict *v, const struct decision *d, struct buf *b)
{
	size_t i, start = b->len;

	buf_printf(b, "spf=%s", auth_res_str(v->spf.result));
	if (v->spf.domain != NULL)
		buf_printf(b, "(%s%s)", v->spf.helo_scope ? "helo " : "", v->spf.domain);
	put_dkim(b, v);
	if (v->n_dmarc == 0)
		buf_printf(b, " dmarc=none (%s)", v->from_comment ? v->from_comment : "no author domain");
	for (i = 0; i < v->n_dmarc; i++) {
		const struct dmarc_outcome *o = &v->dmarc[i];

		buf_printf(b, " dmarc=%s header.from=%s", auth_res_str(o->result), o->from_domain);
		if (o->have_record)
			buf_printf(b, " policy_domain=%s p=%s applied=%s", o->policy_domain,
			    dmarc_policy_str(o->record.p), dmarc_policy_str(o->policy));
		buf_printf(b, " disposition=%s", disposition_str(o->disposition));
		if (o->reason != OVR_NONE)
			buf_printf(b, " override=%s", override_reason_str(o->reason));
		if (o->comment != NULL)
			buf_printf(b, " (%s)", o->comment);
	}
	buf_printf(b, " action=%s (%s)", action_str(d->action), d->why);
	for (i = start; i < b->len; i++)
		if ((unsigned char)b->data[i] < ' ' || b->data[i] == 127)
			b->data[i] = '?';
}
