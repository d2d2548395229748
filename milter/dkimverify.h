/*
 * dkimverify.h - DKIM signature verification (RFC 6376, RFC 8301,
 * RFC 8463) over libopendkim, with every key lookup going through our DNS
 * layer (dns.h).
 *
 * One struct dkimverify_lib is made at start-up (before any thread runs:
 * libopendkim does not lock its options) and shared by every thread; one
 * struct dkimverify per message is fed the header fields as the milter
 * hands them over, then the body, and at the end gives one struct
 * dkim_outcome (result.h) per DKIM-Signature field, in header order.
 *
 * Local policy on top of the library (RFC 8601 §2.7.1 "policy"):
 *   - rsa-sha1 never passes unless allow_sha1 (RFC 8301 §3.1);
 *   - an RSA key shorter than min_key_bits never passes, and min_key_bits
 *     is never below 1024 (RFC 8301 §3.2);
 *   - l= that leaves part of the body unsigned (RFC 6376 §8.2) is
 *     refused when body_length is DKIM_LTAG_REJECT_PARTIAL;
 *   - only the first max_signatures signatures are evaluated (RFC 6376
 *     §6.1 lets a verifier limit its work); the next ones are reported as
 *     not evaluated, and DKIM-Signature fields beyond
 *     max_signatures + DKIMVERIFY_MAX_UNEVALUATED are not looked at at all.
 */
#ifndef DM_DKIMVERIFY_H
#define DM_DKIMVERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct dns;

/* RFC 8301 §3.2: verifiers MUST NOT consider RSA keys < 1024 bits valid. */
#define DKIMVERIFY_MIN_KEY_BITS		1024
#define DKIMVERIFY_DEFAULT_MAX_SIGS	10
/* Signatures past max_signatures that are still reported (as not evaluated). */
#define DKIMVERIFY_MAX_UNEVALUATED	10
/* Characters of b= kept for A-R header.b (RFC 8601 §2.7.1: at least 8). */
#define DKIMVERIFY_B_MIN		12

enum dkim_ltag_policy {
	DKIM_LTAG_ALLOW = 0,		/* l= is accepted as the library verifies it */
	DKIM_LTAG_REJECT_PARTIAL	/* l= shorter than the body: result policy */
};

struct dkimverify_policy {
	unsigned		 min_key_bits;	/* 0 = 1024; values below 1024 count as 1024 */
	enum dkim_ltag_policy	 body_length;
	bool			 allow_sha1;	/* false: rsa-sha1 is "policy" (RFC 8301 §3.1) */
	unsigned		 max_signatures; /* 0 = DKIMVERIFY_DEFAULT_MAX_SIGS */
};

struct dkimverify_lib;
struct dkimverify;

/* The defaults: 1024 bits, l= allowed, no rsa-sha1, 10 signatures. */
void			 dkimverify_policy_init(struct dkimverify_policy *);

/*
 * Make the shared library handle.  dns must outlive it.  policy may be
 * NULL (defaults).  Returns NULL and fills err on failure.  Call before
 * threads start.
 */
struct dkimverify_lib	*dkimverify_lib_new(struct dns *, const struct dkimverify_policy *,
			    char *err, size_t errlen);
void			 dkimverify_lib_free(struct dkimverify_lib *);

/* A per-message verifier.  jobid (may be NULL) only labels log lines. */
struct dkimverify	*dkimverify_new(struct dkimverify_lib *, const char *jobid);

/*
 * One header field as the milter gives it.  The library sees
 * "name:value", with a " " after the colon only when !leadspc (the MTA
 * ate it unless SMFIP_HDR_LEADSPC was negotiated), and with every bare
 * LF in a folded value turned back into CRLF.  Returns 0, or -1 when the
 * handle can no longer be used (the outcome then says why).
 */
int			 dkimverify_header(struct dkimverify *, const char *name,
			    const char *value, bool leadspc);
/* End of the header; no DNS is done here (keys are fetched at eom). */
int			 dkimverify_eoh(struct dkimverify *);
/* After eoh: does the message carry any DKIM-Signature?  If not, the
 * body need not be fed. */
bool			 dkimverify_has_signatures(const struct dkimverify *);
/* A body chunk, CRLF line ends as received. */
int			 dkimverify_body(struct dkimverify *, const unsigned char *, size_t);
/*
 * End of message: fetch keys, verify, apply local policy.  *out gets one
 * outcome per signature in header order (n = 0 and *out = NULL when the
 * message is unsigned); free with dkim_outcomes_free.  Returns 0, or -1
 * if called twice.
 */
int			 dkimverify_eom(struct dkimverify *, struct dkim_outcome **out, size_t *n);
void			 dkimverify_free(struct dkimverify *);

void			 dkim_outcomes_free(struct dkim_outcome *, size_t);

#endif
