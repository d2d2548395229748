/*
 * action.h - from a verdict to what the MTA is told: accept, quarantine,
 * reject or tempfail, with the SMTP reply, after our local policy
 * (RejectFailures, HoldQuarantinedMessages, TemporaryFailures,
 * RequiredHeaders, RejectMultiValueFrom).  Pure: no libmilter here.
 */
#ifndef DM_ACTION_H
#define DM_ACTION_H

#include "config.h"
#include "result.h"

enum action {
	ACTION_ACCEPT = 0,
	ACTION_QUARANTINE,
	ACTION_REJECT,
	ACTION_TEMPFAIL
};

struct decision {
	enum action	 action;
	const char	*rcode;		/* "550", "451" for reject/tempfail */
	const char	*xcode;		/* "5.7.1", "4.7.5" */
	char		*text;		/* reply or quarantine reason (malloc'd; no CR/LF, no '%') */
	const char	*why;		/* short reason for the log */
};

/*
 * Decide, and record in the verdict the disposition actually applied and
 * why it differs from the policy (RFC 7489 §7.2 PolicyOverrideReason).
 */
void		 action_decide(const struct config *, struct verdict *, struct decision *);
void		 action_free(struct decision *);
const char	*action_str(enum action);

/* The one log line per message: the whole verdict and what was done. */
struct buf;
void		 action_summary(const struct verdict *, const struct decision *, struct buf *);

#endif
