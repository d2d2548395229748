/*
 * dkimverify.c - DKIM verification adapter over libopendkim 2.11.
 *
 * The library does the RFC 6376 work (tag parsing, canonicalization,
 * hashing, RSA/Ed25519 verification).  This module
 *   - plugs libopendkim's resolver hooks into our DNS layer, so the
 *     library never calls res_ninit or reads resolv.conf (LIBRARIES §2.2,
 *     §2.3) and every key lookup is cached and bounded like the others;
 *   - feeds it header fields rebuilt as they were on the wire;
 *   - reads the result of each signature from dkim_getsiglist (the
 *     dkim_eom status is only a summary) and maps it to RFC 8601 results;
 *   - adds the checks the library leaves to its caller (RFC 8301 rsa-sha1
 *     and key size, l= coverage, k= versus a=, a cap on the signatures
 *     evaluated).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/time.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "buf.h"
#include "dkimverify.h"
#include "dns.h"
#include "log.h"
#include "util.h"

/* One header field fed to the library: RFC 5322 has no limit, the milter
 * caps all fields together; this only stops a runaway value. */
#define DKV_MAX_FIELD	(256u * 1024)

struct dkimverify_lib {
	DKIM_LIB		*lib;
	struct dns		*dns;
	struct dkimverify_policy pol;		/* normalized: min_key_bits >= 1024, max_signatures >= 1 */
};

/*
 * Length of the canonicalized body (RFC 6376 §3.4.3 simple, §3.4.4
 * relaxed), so that an l= value can be compared with what the whole body
 * would have been; the library only tells how much it hashed (at most l).
 * For bodies made of CRLF-terminated lines (what SMTP carries) the count
 * equals libopendkim's exactly.  libopendkim treats a bare CR or LF, or a
 * last line without CRLF, in ways of its own, so such a body is marked
 * odd and then judged by its raw length instead (fail-safe).
 */
struct bodylen {
	uint64_t	 raw;		/* bytes fed */
	bool		 odd;		/* bare CR or LF seen */
	uint64_t	 s_total;	/* simple: bytes committed */
	uint64_t	 s_blank;	/* simple: empty lines held back */
	uint64_t	 s_line;	/* simple: bytes of the current line */
	bool		 s_cr;		/* simple: a CR is pending */
	uint64_t	 r_total;	/* relaxed: likewise */
	uint64_t	 r_blank;
	uint64_t	 r_line;
	bool		 r_wsp;		/* relaxed: white space pending (becomes one SP) */
	bool		 r_cr;
};

struct dkimverify {
	struct dkimverify_lib	*vl;
	DKIM			*dkim;
	char			*jobid;		/* the library keeps a pointer to it */
	struct buf		 field;		/* "name:value" being built */
	unsigned		 n_sigfields;	/* DKIM-Signature fields given to the library */
	unsigned		 n_dropped;	/* DKIM-Signature fields past the cap */
	bool			 eoh_done;
	bool			 eom_done;
	DKIM_STAT		 eoh_status;	/* DKIM_STAT_INVALID until dkim_eoh ran */
	DKIM_STAT		 eom_status;
	bool			 failed;	/* the handle became unusable */
	enum auth_res		 fail_res;	/* what unevaluated signatures then get */
	char			*fail_reason;
	bool			 count_body;	/* some signature has l= */
	struct bodylen		 bl;
};

/* ---------------------------------------------------------------------- */
/* DNS hooks                                                               */

struct dkv_query {
	size_t	 len;			/* bytes of the reply in the library's buffer */
};

/*
 * dkv_nxdomain - a minimal NXDOMAIN reply (RFC 1035 §4.1) whose question
 * is "invalid. TXT IN": libopendkim reads only the header, the question's
 * type and class, and the answer count, never the question name.
 */
static int
dkv_nxdomain(int type, unsigned char *buf, size_t buflen)
{
	static const unsigned char q[] = {
		0x00, 0x00,		/* ID */
		0x81, 0x83,		/* QR, RD, RA, RCODE 3 (NXDOMAIN) */
		0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* QD 1, AN/NS/AR 0 */
		7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,
	};

	if (buflen < sizeof q + 4)
		return -1;
	memcpy(buf, q, sizeof q);
	buf[sizeof q] = (unsigned char)((type >> 8) & 0xff);
	buf[sizeof q + 1] = (unsigned char)(type & 0xff);
	buf[sizeof q + 2] = 0x00;	/* class IN */
	buf[sizeof q + 3] = 0x01;
	return (int)(sizeof q + 4);
}

/*
 * dkv_dns_start - answer libopendkim's key query from our DNS layer.
 *
 * The library wants a complete wire-format reply in buf, as res_query
 * would give it.  It checks only NXDOMAIN in the header and would take a
 * SERVFAIL reply with no answers for "no key", so a temporary failure
 * must not be turned into a reply: returning -1 makes it
 * DKIM_STAT_KEYFAIL, reported as temperror (RFC 6376 §6.1.2: a lookup
 * that fails to respond MAY be retried later).  Anything permanent that
 * gives no usable reply (a name our DNS layer refuses to ask, e.g. from a
 * hostile d= or s=; a malformed answer; an answer too big to re-encode)
 * becomes NXDOMAIN: no key, permerror.  Turning those into temperror
 * would let a forged signature keep a message deferred forever.
 */
static int
dkv_dns_start(void *srv, int type, unsigned char *qname, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct dkimverify_lib *vl = srv;
	struct dns_answer *a;
	struct dkv_query *q;
	int len = -1;

	*qh = NULL;
	if (vl == NULL || qname == NULL || type < 0 || type > 0xffff)
		return -1;
	a = dns_query(vl->dns, (const char *)qname, (uint16_t)type);
	if (a->status == DNS_TEMPFAIL) {
		dns_answer_free(a);
		return -1;
	}
	if (a->status == DNS_OK || a->status == DNS_NXDOMAIN)
		len = dns_answer_to_wire(a, (const char *)qname, buf, buflen);
	dns_answer_free(a);
	if (len < 0)
		len = dkv_nxdomain(type, buf, buflen);
	if (len < 0)
		return -1;
	q = xcalloc(1, sizeof *q);
	q->len = (size_t)len;
	*qh = q;
	return 0;
}

/* dkv_dns_waitreply - the answer is already there (dkv_dns_start is synchronous) */
static int
dkv_dns_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes,
    int *error, int *dnssec)
{
	struct dkv_query *q = qh;

	(void)srv;
	(void)to;
	if (q == NULL)
		return DKIM_DNS_ERROR;
	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

/* dkv_dns_cancel - called once per started query, done or not */
static int
dkv_dns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Library                                                                 */

/* dkimverify_policy_init - the defaults */
void
dkimverify_policy_init(struct dkimverify_policy *p)
{
	memset(p, 0, sizeof *p);
	p->min_key_bits = DKIMVERIFY_MIN_KEY_BITS;
	p->body_length = DKIM_LTAG_ALLOW;
	p->allow_sha1 = false;
	p->max_signatures = DKIMVERIFY_DEFAULT_MAX_SIGS;
}

/*
 * dkv_prescreen - before any key is fetched, mark the signatures past the
 * cap as ignored: no DNS and no crypto for them (RFC 6376 §6.1 lets a
 * verifier limit the signatures it evaluates, e.g. against denial of
 * service).
 */
static DKIM_CBSTAT
dkv_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkimverify *v = dkim_get_user_context(dkim);
	unsigned max = DKIMVERIFY_DEFAULT_MAX_SIGS;
	int i;

	if (v != NULL)
		max = v->vl->pol.max_signatures;
	for (i = 0; i < nsigs; i++)
		if ((unsigned)i >= max && sigs[i] != NULL)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* dkv_setopt - set one libopendkim option, filling err on failure */
static int
dkv_setopt(DKIM_LIB *lib, int opt, void *val, size_t len, const char *name,
    char *err, size_t errlen)
{
	if (dkim_options(lib, DKIM_OP_SETOPT, opt, val, len) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim refused option %s", name);
		return -1;
	}
	return 0;
}

/* dkimverify_lib_new - the shared handle; call before threads start */
struct dkimverify_lib *
dkimverify_lib_new(struct dns *dns, const struct dkimverify_policy *pol,
    char *err, size_t errlen)
{
	struct dkimverify_lib *vl;
	uint32_t flags;
	unsigned int bits, timeout;

	if (dns == NULL) {
		snprintf(err, errlen, "DKIM verifier needs a DNS handle");
		return NULL;
	}
	vl = xcalloc(1, sizeof *vl);
	vl->dns = dns;
	if (pol != NULL)
		vl->pol = *pol;
	else
		dkimverify_policy_init(&vl->pol);
	/* RFC 8301 §3.2: keys under 1024 bits are never valid, whatever the
	 * configuration says. */
	if (vl->pol.min_key_bits < DKIMVERIFY_MIN_KEY_BITS)
		vl->pol.min_key_bits = DKIMVERIFY_MIN_KEY_BITS;
	if (vl->pol.max_signatures == 0)
		vl->pol.max_signatures = DKIMVERIFY_DEFAULT_MAX_SIGS;

	vl->lib = dkim_init(NULL, NULL);
	if (vl->lib == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(vl);
		return NULL;
	}

	/*
	 * BADSIGHANDLES: a malformed signature still gets a DKIM_SIGINFO, so
	 * it is reported (permerror) instead of silently vanishing.
	 * DELAYSIGPROC: keys are fetched at dkim_eom, not dkim_eoh, so the
	 * milter's header phase does no DNS.  Not VERIFYONE: every
	 * signature is evaluated, DMARC needs all passing d= domains.
	 */
	flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
	bits = vl->pol.min_key_bits;
	timeout = 10;
	if (dkv_setopt(vl->lib, DKIM_OPTS_FLAGS, &flags, sizeof flags, "FLAGS", err, errlen) < 0 ||
	    dkv_setopt(vl->lib, DKIM_OPTS_MINKEYBITS, &bits, sizeof bits, "MINKEYBITS", err, errlen) < 0 ||
	    dkv_setopt(vl->lib, DKIM_OPTS_TIMEOUT, &timeout, sizeof timeout, "TIMEOUT", err, errlen) < 0) {
		dkim_close(vl->lib);
		free(vl);
		return NULL;
	}

	/*
	 * Our resolver, never the library's: its default shares one
	 * res_state between threads and initializes it lazily without a
	 * lock, and dkim_close would run res_nclose on our handle
	 * (LIBRARIES §2.2, §2.3).
	 */
	dkim_dns_set_init(vl->lib, NULL);
	dkim_dns_set_close(vl->lib, NULL);
	dkim_dns_set_nslist(vl->lib, NULL);
	dkim_dns_set_config(vl->lib, NULL);
	dkim_dns_set_trustanchor(vl->lib, NULL);
	(void)dkim_dns_set_query_service(vl->lib, vl);
	dkim_dns_set_query_start(vl->lib, dkv_dns_start);
	dkim_dns_set_query_waitreply(vl->lib, dkv_dns_waitreply);
	dkim_dns_set_query_cancel(vl->lib, dkv_dns_cancel);

	if (dkim_set_prescreen(vl->lib, dkv_prescreen) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim refused the prescreen callback");
		dkim_close(vl->lib);
		free(vl);
		return NULL;
	}
	if (!dkim_libfeature(vl->lib, DKIM_FEATURE_SHA256))
		log_warn("libopendkim lacks SHA-256: rsa-sha256 signatures will not verify");
	if (!dkim_libfeature(vl->lib, DKIM_FEATURE_ED25519))
		log_warn("libopendkim lacks Ed25519: ed25519-sha256 signatures (RFC 8463) will not verify");
	return vl;
}

/* dkimverify_lib_free - after every thread is done with it */
void
dkimverify_lib_free(struct dkimverify_lib *vl)
{
	if (vl == NULL)
		return;
	(void)dkim_dns_set_query_service(vl->lib, NULL);
	dkim_close(vl->lib);
	free(vl);
}

/* ---------------------------------------------------------------------- */
/* Per message                                                             */

/* dkv_fail - the handle is unusable: every signature gets res and why */
static void
dkv_fail(struct dkimverify *v, enum auth_res res, const char *why)
{
	if (v->failed)
		return;
	v->failed = true;
	v->fail_res = res;
	v->fail_reason = xstrdup(why != NULL && *why != '\0' ? why : "verifier failure");
	log_debug("%s: DKIM: %s", v->jobid, v->fail_reason);
}

/* dkimverify_new - a verifier for one message */
struct dkimverify *
dkimverify_new(struct dkimverify_lib *vl, const char *jobid)
{
	struct dkimverify *v;
	DKIM_STAT st = DKIM_STAT_OK;

	v = xcalloc(1, sizeof *v);
	v->vl = vl;
	v->jobid = xstrdup(jobid != NULL ? jobid : "-");
	buf_init(&v->field, DKV_MAX_FIELD);
	v->eoh_status = DKIM_STAT_INVALID;
	v->eom_status = DKIM_STAT_OK;
	v->dkim = dkim_verify(vl->lib, (const unsigned char *)v->jobid, NULL, &st);
	if (v->dkim == NULL) {
		dkv_fail(v, AUTH_TEMPERROR, "cannot create a libopendkim handle");
		return v;
	}
	(void)dkim_set_user_context(v->dkim, v);
	return v;
}

/* dkv_is_sigfield - is this the DKIM-Signature field (RFC 6376 §3.5)? */
static bool
dkv_is_sigfield(const char *name)
{
	size_t len = strlen(name);

	/* the library ignores white space before the colon, so do we */
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	return len == sizeof DKIM_SIGNHEADER - 1 &&
	    ascii_strncaseeq(name, DKIM_SIGNHEADER, len);
}

/*
 * dkimverify_header - one header field, rebuilt as it was on the wire.
 *
 * Milters get the name and the value apart; the MTA removed the space
 * after the colon unless SMFIP_HDR_LEADSPC was negotiated, and folded
 * lines reach us with bare LF.  Both matter for c=simple header
 * canonicalization (RFC 6376 §3.4.1), so the original bytes are restored:
 * "name:value", " " after the colon when !leadspc, CRLF for each bare LF.
 */
int
dkimverify_header(struct dkimverify *v, const char *name, const char *value,
    bool leadspc)
{
	const char *p;
	DKIM_STAT st;
	bool issig;

	if (v->eoh_done || name == NULL)
		return v->failed ? -1 : 0;
	if (value == NULL)
		value = "";
	issig = dkv_is_sigfield(name);
	if (issig && v->n_sigfields >= v->vl->pol.max_signatures + DKIMVERIFY_MAX_UNEVALUATED) {
		/*
		 * Past the cap the field is not even parsed: each signature
		 * costs a header hash and, with its own l=, a body hash.  A
		 * signature evaluated above that covers this field in h= will
		 * fail; only messages with absurdly many signatures lose.
		 */
		v->n_dropped++;
		return v->failed ? -1 : 0;
	}
	if (v->failed) {
		/* still counted: each signature is reported as not evaluated */
		if (issig)
			v->n_sigfields++;
		return -1;
	}

	buf_reset(&v->field);
	buf_puts(&v->field, name);
	buf_putc(&v->field, ':');
	if (!leadspc)
		buf_putc(&v->field, ' ');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			buf_putc(&v->field, '\r');
		buf_putc(&v->field, *p);
	}
	if (v->field.truncated) {
		/* A field we cannot pass whole would silently change every
		 * hash that covers it; give up on the message instead. */
		if (issig)
			v->n_sigfields++;
		dkv_fail(v, AUTH_PERMERROR, "header field too long to verify");
		return -1;
	}

	st = dkim_header(v->dkim, (u_char *)v->field.data, v->field.len);
	switch (st) {
	case DKIM_STAT_OK:
	case DKIM_STAT_SYNTAX:
		/*
		 * SYNTAX: a malformed field name (not stored; no signature
		 * can cover it) or a malformed DKIM-Signature (stored and
		 * kept with BADSIGHANDLES, reported as permerror).
		 */
		if (issig)
			v->n_sigfields++;
		return 0;
	default:
		if (issig)
			v->n_sigfields++;
		dkv_fail(v, AUTH_TEMPERROR, dkim_getresultstr(st));
		return -1;
	}
}

/* dkimverify_eoh - end of the header: find the signatures (no DNS yet) */
int
dkimverify_eoh(struct dkimverify *v)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i;

	if (v->eoh_done)
		return v->failed ? -1 : 0;
	v->eoh_done = true;
	if (v->failed)
		return -1;

	v->eoh_status = dkim_eoh(v->dkim);
	switch (v->eoh_status) {
	case DKIM_STAT_OK:
		break;
	case DKIM_STAT_NOSIG:		/* advisory: unsigned */
		return 0;
	case DKIM_STAT_SYNTAX: {
		const char *e = dkim_geterror(v->dkim);

		dkv_fail(v, AUTH_PERMERROR, e != NULL && *e != '\0' ? e :
		    "message header not verifiable");
		return -1;
	}
	default:
		dkv_fail(v, AUTH_TEMPERROR, dkim_getresultstr(v->eoh_status));
		return -1;
	}

	/* Count the body only when l= is checked and some signature has it. */
	if (v->vl->pol.body_length == DKIM_LTAG_REJECT_PARTIAL &&
	    dkim_getsiglist(v->dkim, &sigs, &nsigs) == DKIM_STAT_OK && sigs != NULL)
		for (i = 0; i < nsigs; i++)
			if (sigs[i] != NULL &&
			    (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) == 0 &&
			    dkim_sig_gettagvalue(sigs[i], false, (u_char *)"l") != NULL)
				v->count_body = true;
	return 0;
}

/* dkimverify_has_signatures - after eoh: was any DKIM-Signature seen? */
bool
dkimverify_has_signatures(const struct dkimverify *v)
{
	if (v->eoh_status == DKIM_STAT_OK)
		return true;
	if (v->eoh_status == DKIM_STAT_NOSIG)
		return false;
	return v->n_sigfields > 0;	/* eoh not run yet, or failed */
}

/* dkv_bodylen_feed - advance both canonical-length counters (see struct bodylen) */
static void
dkv_bodylen_feed(struct bodylen *b, const unsigned char *p, size_t len)
{
	size_t i;
	unsigned char c;

	b->raw += len;
	for (i = 0; i < len; i++) {
		c = p[i];

		/* simple (RFC 6376 §3.4.3): only trailing empty lines go */
		if (b->s_cr) {
			b->s_cr = false;
			if (c != '\n')
				b->odd = true;
			if (c == '\n') {
				if (b->s_line == 0)
					b->s_blank++;
				else {
					b->s_total += 2 * b->s_blank + b->s_line + 2;
					b->s_blank = 0;
				}
				b->s_line = 0;
				goto relaxed;
			}
			b->s_line++;		/* a bare CR is content */
		}
		if (c == '\r')
			b->s_cr = true;
		else {
			if (c == '\n')
				b->odd = true;
			b->s_line++;
		}

	relaxed:
		/* relaxed (RFC 6376 §3.4.4): WSP runs become one SP, WSP at
		 * line end goes, trailing empty lines go */
		if (b->r_cr) {
			b->r_cr = false;
			if (c == '\n') {
				if (b->r_line == 0)
					b->r_blank++;
				else {
					b->r_total += 2 * b->r_blank + b->r_line + 2;
					b->r_blank = 0;
				}
				b->r_line = 0;
				b->r_wsp = false;
				continue;
			}
			if (b->r_wsp) {
				b->r_line++;
				b->r_wsp = false;
			}
			b->r_line++;		/* a bare CR is content */
		}
		if (c == '\r')
			b->r_cr = true;
		else if (c == ' ' || c == '\t')
			b->r_wsp = true;
		else {
			if (b->r_wsp) {
				b->r_line++;
				b->r_wsp = false;
			}
			b->r_line++;
		}
	}
}

/* dkv_bodylen_odd - is the body one libopendkim may count differently? */
static bool
dkv_bodylen_odd(const struct bodylen *b)
{
	return b->odd || b->s_cr || b->s_line > 0;	/* ... or ends without CRLF */
}

/* dkv_bodylen_total - canonical body length for a body canonicalization */
static uint64_t
dkv_bodylen_total(const struct bodylen *b, dkim_canon_t canon)
{
	uint64_t t;

	if (canon == DKIM_CANON_RELAXED) {
		t = b->r_total;
		if (b->r_line > 0)	/* last line without CRLF: one is added */
			t += 2 * b->r_blank + b->r_line + 2;
		return t;
	}
	t = b->s_total;
	if (b->s_line > 0)		/* as libopendkim: no CRLF added */
		t += 2 * b->s_blank + b->s_line;
	return t == 0 ? 2 : t;		/* an empty body is one CRLF */
}

/* dkimverify_body - one body chunk */
int
dkimverify_body(struct dkimverify *v, const unsigned char *p, size_t len)
{
	DKIM_STAT st;

	if (!v->eoh_done)
		(void)dkimverify_eoh(v);
	if (v->failed)
		return -1;
	if (v->eoh_status != DKIM_STAT_OK || v->eom_done || len == 0 || p == NULL)
		return 0;
	if (v->count_body)
		dkv_bodylen_feed(&v->bl, p, len);
	/* dkim_body only reads the chunk (it copies when it must change it) */
	st = dkim_body(v->dkim, (u_char *)(uintptr_t)p, len);
	if (st != DKIM_STAT_OK) {
		dkv_fail(v, AUTH_TEMPERROR, dkim_getresultstr(st));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Results                                                                 */

/* dkv_field - a copy of a tag value fit for logs and A-R: NULL when
 * absent or empty, anything but printable ASCII replaced by '?' */
static char *
dkv_field(const unsigned char *s, bool lower)
{
	char *c;
	size_t i;

	if (s == NULL || *s == '\0')
		return NULL;
	c = xstrdup((const char *)s);
	for (i = 0; c[i] != '\0'; i++) {
		if ((unsigned char)c[i] <= 0x20 || (unsigned char)c[i] >= 0x7f)
			c[i] = '?';
		else if (lower)
			c[i] = ascii_tolower(c[i]);
	}
	return c;
}

/* dkv_h_has_from - does h= name From (RFC 6376 §5.4: From MUST be signed)?
 * An exact, case-insensitive match of one colon-separated entry;
 * libopendkim's dkim_sig_hdrsigned accepts any prefix ("f"). */
static bool
dkv_h_has_from(const unsigned char *h)
{
	const char *p = (const char *)h, *s, *e;

	if (p == NULL)
		return false;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		s = p;
		while (*p != '\0' && *p != ':')
			p++;
		e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		if (e - s == 4 && ascii_strncaseeq(s, "from", 4))
			return true;
		if (*p == '\0')
			return false;
		p++;
	}
}

/* dkv_b - the b= prefix for A-R header.b (RFC 8601 §2.7.1): at least
 * DKIMVERIFY_B_MIN characters, longer when needed to tell this signature
 * from another one in the message */
static char *
dkv_b(struct dkimverify *v, DKIM_SIGINFO *sig)
{
	const unsigned char *b = dkim_sig_gettagvalue(sig, false, (u_char *)"b");
	size_t full, want, n, i, o;
	char *tmp, *out;

	if (b == NULL || *b == '\0')
		return NULL;
	full = strlen((const char *)b);
	want = DKIMVERIFY_B_MIN;
	tmp = xmalloc(full + 1);
	n = full + 1;
	if (dkim_get_sigsubstring(v->dkim, sig, tmp, &n) == DKIM_STAT_OK && n > want)
		want = n;
	free(tmp);
	out = xmalloc(want + 1);
	for (i = 0, o = 0; b[i] != '\0' && o < want; i++) {
		unsigned char c = b[i];

		/* base64 only (RFC 6376 §3.5 b=; FWS already removed) */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=')
			out[o++] = (char)c;
	}
	out[o] = '\0';
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* dkv_identity - i= decoded (dkim-quoted-printable), NULL when absent */
static char *
dkv_identity(struct dkimverify *v, DKIM_SIGINFO *sig)
{
	const unsigned char *i = dkim_sig_gettagvalue(sig, false, (u_char *)"i");
	unsigned char *tmp;
	size_t len;
	char *r;

	if (i == NULL || *i == '\0')
		return NULL;
	len = strlen((const char *)i) + 1;	/* decoding never grows it */
	tmp = xmalloc(len + 1);
	if (dkim_sig_getidentity(v->dkim, sig, tmp, len) == DKIM_STAT_OK)
		r = dkv_field(tmp, false);
	else
		r = dkv_field(i, false);
	free(tmp);
	return r;
}

/* dkv_keytype_mismatch - k= of the key record (default "rsa", RFC 6376
 * §3.6.1) against the key type of a=.  RFC 6376 §6.1.2: key data not
 * suited to the a= and k= algorithms MUST give PERMFAIL. */
static bool
dkv_keytype_mismatch(DKIM_SIGINFO *sig, const char **kout)
{
	const unsigned char *k = dkim_sig_gettagvalue(sig, true, (u_char *)"k");
	const unsigned char *a = dkim_sig_gettagvalue(sig, false, (u_char *)"a");
	const char *dash;
	size_t alen;

	*kout = (const char *)k;
	if (k == NULL || a == NULL)
		return false;		/* no key record fetched, or no a= */
	dash = strchr((const char *)a, '-');
	alen = dash != NULL ? (size_t)(dash - (const char *)a) : strlen((const char *)a);
	return !(strlen((const char *)k) == alen &&
	    ascii_strncaseeq((const char *)k, (const char *)a, alen));
}

/* dkv_sigerr - libopendkim's text for a signature error */
static const char *
dkv_sigerr(int err)
{
	const char *s = dkim_sig_geterrorstr(err);

	return s != NULL ? s : "signature not verifiable";
}

/* dkv_map - the RFC 8601 result of one signature, with our policy applied */
static void
dkv_map(struct dkimverify *v, DKIM_SIGINFO *sig, struct dkim_outcome *o)
{
	const struct dkimverify_policy *pol = &v->vl->pol;
	unsigned int flags = dkim_sig_getflags(sig), bits = 0;
	int err = dkim_sig_geterror(sig);
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	const char *k;
	bool is_ed25519;

	o->domain = dkv_field(dkim_sig_gettagvalue(sig, false, (u_char *)"d"), true);
	o->selector = dkv_field(dkim_sig_gettagvalue(sig, false, (u_char *)"s"), false);
	o->algorithm = dkv_field(dkim_sig_gettagvalue(sig, false, (u_char *)"a"), true);
	o->identity = dkv_identity(v, sig);
	o->b = dkv_b(v, sig);
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		o->key_bits = bits;
	is_ed25519 = o->algorithm != NULL && strncmp(o->algorithm, "ed25519-", 8) == 0;
	if (is_ed25519)
		o->key_bits = 0;	/* the library reports a byte count or nothing */

	if (flags & DKIM_SIGFLAG_IGNORE) {
		o->result = AUTH_POLICY;
		o->reason = xasprintf("not evaluated: more than %u signatures",
		    pol->max_signatures);
		return;
	}

	if (err == DKIM_SIGERROR_KEYFAIL) {
		o->result = AUTH_TEMPERROR;
		o->reason = xstrdup("key lookup failed temporarily");
		return;
	}
	if (dkv_keytype_mismatch(sig, &k)) {
		o->result = AUTH_PERMERROR;
		o->reason = xasprintf("key type k=%.32s does not match a=%.32s",
		    k, o->algorithm != NULL ? o->algorithm : "");
		return;
	}

	if (DKIM_SIG_CHECK(sig)) {
		/* verified by the library; now our rules */
		if (!dkv_h_has_from(dkim_sig_gettagvalue(sig, false, (u_char *)"h"))) {
			o->result = AUTH_PERMERROR;
			o->reason = xstrdup("From not signed (h=)");
			return;
		}
		(void)dkim_sig_getsignalg(sig, &alg);
		/* RFC 8301 §3.1: rsa-sha1 MUST NOT be used for verifying. */
		if (alg == DKIM_SIGN_RSASHA1 && !pol->allow_sha1) {
			o->result = AUTH_POLICY;
			o->reason = xstrdup("rsa-sha1 is not acceptable (RFC 8301)");
			return;
		}
		/* RFC 8301 §3.2: RSA keys < 1024 bits MUST NOT be valid. */
		if (alg != DKIM_SIGN_ED25519SHA256 && !is_ed25519 &&
		    (o->key_bits == 0 || o->key_bits < pol->min_key_bits)) {
			o->result = AUTH_POLICY;
			o->reason = xasprintf("RSA key of %u bits is shorter than %u",
			    o->key_bits, pol->min_key_bits);
			return;
		}
		if (pol->body_length == DKIM_LTAG_REJECT_PARTIAL) {
			ssize_t signlen = -1;
			dkim_canon_t hc = DKIM_CANON_UNKNOWN, bc = DKIM_CANON_UNKNOWN;
			uint64_t total;

			if (dkim_sig_getcanonlen(v->dkim, sig, NULL, NULL, &signlen) == DKIM_STAT_OK &&
			    signlen >= 0 &&
			    dkim_sig_getcanons(sig, &hc, &bc) == DKIM_STAT_OK) {
				/* odd body: raw length + a CRLF the library may add */
				total = dkv_bodylen_odd(&v->bl) ? v->bl.raw + 2 :
				    dkv_bodylen_total(&v->bl, bc);
				/* RFC 6376 §8.2: content past l= is unsigned */
				if ((uint64_t)signlen < total) {
					o->result = AUTH_POLICY;
					o->reason = xasprintf("l=%lld signs only part of the "
					    "%llu-byte body", (long long)signlen,
					    (unsigned long long)total);
					return;
				}
			}
		}
		o->result = AUTH_PASS;
		o->reason = NULL;
		return;
	}

	switch (err) {
	case DKIM_SIGERROR_BADSIG:
		o->result = AUTH_FAIL;
		o->reason = xstrdup(dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ?
		    "body hash did not verify" : "signature did not verify");
		break;
	case DKIM_SIGERROR_KEYTOOSMALL:
		/* the library's copy of the RFC 8301 §3.2 rule */
		o->result = AUTH_POLICY;
		o->reason = xasprintf("RSA key of %u bits is shorter than %u",
		    o->key_bits, pol->min_key_bits);
		break;
	case DKIM_SIGERROR_UNKNOWN:
	case DKIM_SIGERROR_OK:
		/* never processed: the handle failed at end of message */
		if (v->failed) {
			o->result = v->fail_res;
			o->reason = xasprintf("not evaluated: %s", v->fail_reason);
		} else {
			const char *e = dkim_geterror(v->dkim);

			o->result = v->eom_status == DKIM_STAT_SYNTAX ?
			    AUTH_PERMERROR : AUTH_TEMPERROR;
			o->reason = xasprintf("not evaluated: %s",
			    e != NULL && *e != '\0' ? e : dkim_getresultstr(v->eom_status));
		}
		break;
	default:
		/*
		 * No key (NXDOMAIN or NODATA, RFC 6376 §6.1.2), revoked key
		 * (empty p=, §3.6.1), bad key record, signature syntax (§3.5),
		 * i= outside d=, h= without From (§5.4), expired, l= longer
		 * than the body...: a retry cannot help.
		 */
		o->result = AUTH_PERMERROR;
		o->reason = xstrdup(dkv_sigerr(err));
		break;
	}
	if (o->result != AUTH_PASS && (flags & DKIM_SIGFLAG_TESTKEY) && o->reason != NULL) {
		char *r = xasprintf("%s (key in test mode, t=y)", o->reason);

		free(o->reason);
		o->reason = r;
	}
}

/* dkv_resname - result name for our log line (result.c has the public one) */
static const char *
dkv_resname(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:		return "pass";
	case AUTH_FAIL:		return "fail";
	case AUTH_NEUTRAL:	return "neutral";
	case AUTH_TEMPERROR:	return "temperror";
	case AUTH_PERMERROR:	return "permerror";
	case AUTH_POLICY:	return "policy";
	default:		return "none";
	}
}

/* dkimverify_eom - verify every signature and report each */
int
dkimverify_eom(struct dkimverify *v, struct dkim_outcome **out, size_t *n)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i;
	struct dkim_outcome *o;
	_Bool testkey = 0;
	size_t k;

	*out = NULL;
	*n = 0;
	if (v->eom_done)
		return -1;
	if (!v->eoh_done)
		(void)dkimverify_eoh(v);
	v->eom_done = true;

	if (v->eoh_status != DKIM_STAT_OK && v->failed) {
		/* no signature list to read: report each field we saw */
		if (v->n_sigfields == 0)
			return 0;
		o = xcalloc(v->n_sigfields, sizeof *o);
		for (k = 0; k < v->n_sigfields; k++) {
			o[k].result = v->fail_res;
			o[k].reason = xasprintf("not evaluated: %s", v->fail_reason);
		}
		*out = o;
		*n = v->n_sigfields;
		return 0;
	}
	if (v->eoh_status != DKIM_STAT_OK)
		return 0;		/* unsigned */

	if (!v->failed)
		v->eom_status = dkim_eom(v->dkim, &testkey);
	if (dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK ||
	    sigs == NULL || nsigs <= 0)
		return 0;

	o = xcalloc((size_t)nsigs, sizeof *o);
	for (i = 0; i < nsigs; i++) {
		if (sigs[i] == NULL) {
			o[i].result = AUTH_PERMERROR;
			o[i].reason = xstrdup("signature not parsed");
			continue;
		}
		dkv_map(v, sigs[i], &o[i]);
		log_debug("%s: DKIM d=%s s=%s a=%s: %s%s%s", v->jobid,
		    o[i].domain ? o[i].domain : "-", o[i].selector ? o[i].selector : "-",
		    o[i].algorithm ? o[i].algorithm : "-", dkv_resname(o[i].result),
		    o[i].reason ? ": " : "", o[i].reason ? o[i].reason : "");
	}
	if (v->n_dropped > 0)
		log_info("%s: DKIM: %u DKIM-Signature fields past the limit were ignored",
		    v->jobid, v->n_dropped);
	*out = o;
	*n = (size_t)nsigs;
	return 0;
}

/* dkimverify_free - release a per-message verifier */
void
dkimverify_free(struct dkimverify *v)
{
	if (v == NULL)
		return;
	if (v->dkim != NULL)
		(void)dkim_free(v->dkim);
	buf_free(&v->field);
	free(v->fail_reason);
	free(v->jobid);
	free(v);
}

/* dkim_outcomes_free - free what dkimverify_eom returned */
void
dkim_outcomes_free(struct dkim_outcome *o, size_t n)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(o[i].domain);
		free(o[i].selector);
		free(o[i].algorithm);
		free(o[i].identity);
		free(o[i].b);
		free(o[i].reason);
	}
	free(o);
}
