/*
 * dmarc_eval.h - the DMARC decision for one author domain: discovery,
 * alignment, policy choice and disposition.  A pure function of its inputs
 * and the DNS; it knows nothing of the milter.
 */
#ifndef DM_DMARC_EVAL_H
#define DM_DMARC_EVAL_H

#include "config.h"
#include "result.h"

struct dns;
struct orgdomain;

struct dmarc_env {
	struct dns		*dns;
	const struct orgdomain	*psl;
	enum dmarc_rules	 rules;
	/* A number in [0, 100) for pct sampling; NULL = never sampled out. */
	unsigned		(*sample)(void *);
	void			*sample_arg;
};

/*
 * Evaluate one author domain (normalized: lowercase A-label) against the
 * SPF result for the MAIL FROM identity and every DKIM signature.  Fills
 * out completely (the caller frees it with the verdict).
 */
void	dmarc_eval(const struct dmarc_env *, const char *author_norm,
	    const struct spf_outcome *spf, const struct dkim_outcome *dkim, size_t n_dkim,
	    struct dmarc_outcome *out);

/* The next weaker disposition (RFC 7489 §6.6.4, RFC 9989 t=y). */
enum disposition	dmarc_weaker(enum disposition);

#endif
