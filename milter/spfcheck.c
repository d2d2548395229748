/*
 * spfcheck.c - SPF (RFC 7208) over libspf2 1.2.10, with our DNS layer and
 * RFC corrections.
 *
 * How the pieces fit:
 *
 *   spfcheck_run() validates its inputs, then for each identity builds a
 *   libspf2 request (HELO before env_from, LIBRARIES.md §3.1) and calls
 *   SPF_request_query_mailfrom() with a per-check accounting context
 *   (struct spf_ctx) made current for this thread.
 *
 *   libspf2 asks for SPF records through our get_spf hook (spf_get_record):
 *   it fetches the TXT RRset, selects the v=spf1 record (§4.5), checks it
 *   against the RFC 7208 §12 ABNF (spf_parse), and hands libspf2 only a
 *   canonical rewrite (spf_rewrite) that libspf2 evaluates the RFC way.
 *
 *   Every other question (A, AAAA, MX, PTR) comes to spf_dns_lookup, which
 *   asks dns_query() and converts the answer.  It also does the counting
 *   that libspf2 gets wrong or does not do (§4.6.4): DNS-querying terms
 *   across include/redirect, void lookups, MX and PTR name limits, a time
 *   limit and a query cap.
 *
 *   When the context decides the result (a limit, a syntax error, a DNS
 *   failure) it records it ("forced"), and every later lookup answers
 *   TRY_AGAIN so that libspf2 stops at once; the forced result then wins
 *   over whatever libspf2 reports.
 *
 * libspf2 must never see anything that makes it call SPF_error(): that
 * abort()s the whole process even with our handler (LIBRARIES.md §3.2).  So
 * the lookup callback never returns NULL, the client address is parsed
 * here, identity domains are validated here, and records that libspf2's
 * compiler could mishandle (over-long terms: CVE-2023-42118, unpatched in
 * Debian 12, LIBRARIES.md §3.4) are refused before compilation.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "orgdomain.h"
#include "result.h"
#include "spfcheck.h"
#include "util.h"

#define SPF_NAME_MAX		253	/* RFC 7208 §7.3, RFC 1035 §2.3.4 */
#define SPF_LABEL_MAX		63
#define SPF_TERM_BUDGET		384	/* compiled bytes one domain-spec may take (libspf2 allows 511) */
#define SPF_REASON_MAX		200	/* bytes of reason text kept */
#define SPF_MARKER_LABEL	"spfck0-"
#define SPF_MAX_MECHS		200	/* libspf2 counts mechanisms in an unsigned char */

struct spfcheck {
	struct dns		*dns;
	SPF_server_t		*srv;
	SPF_dns_server_t	 layer;		/* our DNS layer; destroy == NULL: we own it */
	char			 marker[32];	/* "spfck0-<16 hex>": label for rewritten "/0" terms */
	unsigned		 time_limit;	/* seconds per check */
	unsigned		 max_queries;
};

/*
 * Accounting for one check (one identity).  It lives on the stack of
 * check_identity() and is reached from libspf2's callbacks through the
 * thread-local spf_ctx_cur below.
 */
struct spf_ctx {
	const struct spfcheck	*sc;
	int			 family;	/* AF_INET or AF_INET6 */
	unsigned		 terms;		/* DNS-querying terms so far (§4.6.4) */
	unsigned		 voids;		/* void lookups so far (§4.6.4) */
	unsigned		 queries;	/* dns_query() calls so far */
	unsigned		 fetches;	/* SPF records fetched; the first is the identity's own */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	bool			 forced;	/* the result is decided: forced_res */
	enum auth_res		 forced_res;
	bool			 none;		/* the identity publishes no SPF record */
	char			*reason;	/* why forced or none, malloc'd */
	char			**follow;	/* MX hosts / PTR names libspf2 will look up next, in order */
	size_t			 n_follow;
	size_t			 i_follow;
	bool			 follow_ptr;	/* they came from PTR: a failed lookup is skipped (§5.5) */
	char			*top_record;	/* the identity's own record (for the reason text) */
};

/*
 * The check running on this thread.  libspf2 calls our DNS layer back with
 * nothing of ours but the layer itself (which all threads share), so the
 * per-check context is found here.  Each thread only ever sees its own
 * value: no lock is needed.
 */
static _Thread_local struct spf_ctx *spf_ctx_cur;

static pthread_once_t spf_handlers_once = PTHREAD_ONCE_INIT;

/*
 * ------------------------------------------------------------------------
 * libspf2's message handlers (process-global function pointers)
 * ------------------------------------------------------------------------
 */

/* spf_log_error - libspf2 internal error: it abort()s after us anyway */
static void __attribute__((noreturn))
spf_log_error(const char *file, int line, const char *msg)
{
	log_err("libspf2 internal error (%s:%d): %s", file != NULL ? file : "?",
	    line, msg != NULL ? msg : "");
	abort();
}

/* spf_log_warning - libspf2 warnings and information, only for debugging */
static void
spf_log_warning(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_debug("libspf2: %s", msg != NULL ? msg : "");
}

/* spf_set_handlers - route libspf2's messages to our log, once per process */
static void
spf_set_handlers(void)
{
	SPF_error_handler = spf_log_error;
	SPF_warning_handler = spf_log_warning;
	SPF_info_handler = spf_log_warning;
	SPF_debug_handler = NULL;
}

/*
 * ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------
 */

/* ctx_force - decide the result of the running check (the first decision wins) */
static void __attribute__((format(printf, 3, 4)))
ctx_force(struct spf_ctx *ctx, enum auth_res res, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (ctx->forced)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		log_fatal("out of memory");
	va_end(ap);
	free(ctx->reason);
	ctx->reason = s;
	ctx->forced = true;
	ctx->forced_res = res;
}

/* ctx_follow_clear - forget the expected MX/PTR follow-up lookups */
static void
ctx_follow_clear(struct spf_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->n_follow; i++)
		free(ctx->follow[i]);
	free(ctx->follow);
	ctx->follow = NULL;
	ctx->n_follow = ctx->i_follow = 0;
	ctx->follow_ptr = false;
}

/* ctx_expired - has the check run past its time limit? */
static bool
ctx_expired(const struct spf_ctx *ctx)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ctx->deadline.tv_sec ||
	    (now.tv_sec == ctx->deadline.tv_sec && now.tv_nsec > ctx->deadline.tv_nsec);
}

/*
 * ctx_may_query - account for one DNS query; false (and the result
 * decided) when the time limit or the query cap is exceeded.  RFC 7208
 * §4.6.4: processors SHOULD limit the elapsed time; exceeding it SHOULD be
 * temperror.
 */
static bool
ctx_may_query(struct spf_ctx *ctx)
{
	if (ctx->forced)
		return false;
	if (ctx_expired(ctx)) {
		ctx_force(ctx, AUTH_TEMPERROR, "SPF evaluation took longer than %u s",
		    ctx->sc->time_limit);
		return false;
	}
	if (++ctx->queries > ctx->sc->max_queries) {
		ctx_force(ctx, AUTH_PERMERROR, "more than %u DNS queries",
		    ctx->sc->max_queries);
		return false;
	}
	return true;
}

/*
 * ctx_count_term - one more DNS-querying term (include, a, mx, ptr,
 * exists, redirect).  RFC 7208 §4.6.4: "SPF implementations MUST limit the
 * total number of those terms to 10 during SPF evaluation ... If this
 * limit is exceeded, the implementation MUST return permerror."  libspf2
 * counts per response and so restarts at 0 inside each include.
 */
static bool
ctx_count_term(struct spf_ctx *ctx)
{
	if (++ctx->terms > SPFCHECK_MAX_DNS_TERMS) {
		ctx_force(ctx, AUTH_PERMERROR,
		    "more than %d DNS-querying terms (RFC 7208 4.6.4)", SPFCHECK_MAX_DNS_TERMS);
		return false;
	}
	return true;
}

/*
 * ctx_count_void - a term's lookup found nothing (NXDOMAIN or NODATA).
 * RFC 7208 §4.6.4: implementations SHOULD limit void lookups to two;
 * exceeding the limit produces permerror.  libspf2 has no such limit.
 */
static bool
ctx_count_void(struct spf_ctx *ctx)
{
	if (++ctx->voids > SPFCHECK_MAX_VOID) {
		ctx_force(ctx, AUTH_PERMERROR,
		    "more than %d void DNS lookups (RFC 7208 4.6.4)", SPFCHECK_MAX_VOID);
		return false;
	}
	return true;
}

/*
 * name_prepare - turn a name libspf2 wants to look up into one we may ask:
 * one trailing dot dropped; longer than 253 octets, labels dropped from the
 * left until it fits (RFC 7208 §7.3); then every label 1..63 octets of
 * visible ASCII other than "\\".  Returns a malloc'd name or NULL when it cannot be asked.
 */
static char *
name_prepare(const char *in, size_t len)
{
	const char *p, *end, *dot;

	if (len > 0 && in[len - 1] == '.')
		len--;
	p = in;
	end = in + len;
	while ((size_t)(end - p) > SPF_NAME_MAX) {
		dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			return NULL;
		p = dot + 1;
	}
	if (p == end)
		return NULL;
	{
		const char *l = p, *q;

		for (q = p; q <= end; q++) {
			if (q == end || *q == '.') {
				if (q == l || q - l > SPF_LABEL_MAX)
					return NULL;
				l = q + 1;
			} else if ((unsigned char)*q < 0x21 || (unsigned char)*q > 0x7e ||
			    *q == '\\')
				return NULL;	/* dns.c cannot ask it either */
		}
	}
	return xstrndup(p, (size_t)(end - p));
}

/* strip_marker - if name ends in ".<marker>", cut it off and say so */
static bool
strip_marker(const struct spfcheck *sc, char *name, size_t *len)
{
	size_t ml = strlen(sc->marker);

	if (*len < ml + 1 || name[*len - ml - 1] != '.' ||
	    !ascii_strncaseeq(name + *len - ml, sc->marker, ml))
		return false;
	*len -= ml + 1;
	/* a macro may have expanded to a name with a trailing dot */
	if (*len > 0 && name[*len - 1] == '.')
		(*len)--;
	name[*len] = '\0';
	return true;
}

/* sanitize - printable ASCII copy of untrusted text, at most max bytes */
static char *
sanitize(const char *s, size_t max)
{
	size_t n = strlen(s), i;
	char *r;

	if (n > max)
		n = max;
	r = xstrndup(s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || (unsigned char)r[i] > 0x7e)
			r[i] = '?';
	return r;
}

/*
 * ------------------------------------------------------------------------
 * The RFC 7208 §12 record grammar
 * ------------------------------------------------------------------------
 */

enum spf_mech {
	TM_ALL, TM_INCLUDE, TM_A, TM_MX, TM_PTR, TM_IP4, TM_IP6, TM_EXISTS
};

static const struct {
	const char	*name;
	enum spf_mech	 mech;
} spf_mechs[] = {
	{ "all", TM_ALL }, { "include", TM_INCLUDE }, { "a", TM_A },
	{ "mx", TM_MX }, { "ptr", TM_PTR }, { "ip4", TM_IP4 },
	{ "ip6", TM_IP6 }, { "exists", TM_EXISTS },
};

struct spf_term {
	enum spf_mech	 mech;
	char		 qual;		/* '+', '-', '~' or '?' */
	const char	*spec;		/* domain-spec, NULL when absent */
	size_t		 spec_len;
	int		 cidr4;		/* -1 when absent */
	int		 cidr6;
	unsigned char	 addr[16];	/* ip4 / ip6 network */
	const char	*text;		/* the term as published */
	size_t		 text_len;
};

struct spf_parsed {
	struct spf_term	*terms;		/* the mechanisms, in order */
	size_t		 n;
	const char	*redirect;	/* domain-spec of redirect=, NULL when absent */
	size_t		 redirect_len;
	bool		 has_all;
};

/* is_alpha - ASCII letter (the locale must not matter) */
static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* is_digit - ASCII digit */
static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* is_alnum - ASCII letter or digit */
static bool
is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

/*
 * macro_expand_len - length of the macro-expand at s (which starts with
 * '%'), or 0 when it is not one:
 *   macro-expand = ( "%{" macro-letter transformers *delimiter "}" )
 *                  / "%%" / "%_" / "%-"
 *   macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
 * c, r and t are allowed only in explanation text (RFC 7208 §7.2), which
 * we never expand; crt admits them in an unknown modifier's macro-string,
 * which the ABNF allows and we only check.  A DIGIT transformer MUST be
 * nonzero (§7.3).
 */
static size_t
macro_expand_len(const char *s, size_t n, bool crt, const char **why)
{
	size_t j, k;

	if (n < 2) {
		*why = "'%' at the end of a macro-string";
		return 0;
	}
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{') {
		*why = "invalid '%' escape";
		return 0;
	}
	if (n < 3 || s[2] == '\0' || (strchr("slodiphvSLODIPHV", s[2]) == NULL &&
	    (!crt || strchr("crtCRT", s[2]) == NULL))) {
		*why = "invalid macro letter";
		return 0;
	}
	j = 3;
	k = j;
	while (j < n && is_digit(s[j]))
		j++;
	if (j > k) {
		size_t z = k;

		while (z < j && s[z] == '0')
			z++;
		if (z == j) {
			*why = "macro digit transformer of zero";
			return 0;
		}
	}
	if (j < n && (s[j] == 'r' || s[j] == 'R'))
		j++;
	while (j < n && strchr(".-+,/_=", s[j]) != NULL && s[j] != '\0')
		j++;
	if (j >= n || s[j] != '}') {
		*why = "invalid or unterminated macro";
		return 0;
	}
	return j + 1;
}

/*
 * macro_string_ok - macro-string = *( macro-expand / macro-literal ),
 * macro-literal = %x21-24 / %x26-7E.  Also estimates what libspf2's
 * compiler will need for it (4-byte headers, 4-byte alignment; *costp),
 * and reports where the trailing literal run starts and whether the string
 * ends in a macro-expand.
 */
static bool
macro_string_ok(const char *s, size_t n, bool crt, size_t *tail, bool *ends_macro,
    size_t *costp, const char **why)
{
	size_t i = 0, m, run = 0, cost = 0;

	*tail = 0;
	*ends_macro = false;
	while (i < n) {
		if (s[i] == '%') {
			if ((m = macro_expand_len(s + i, n - i, crt, why)) == 0)
				return false;
			if (s[i + 1] == '{') {
				if (run > 0)
					cost += (4 + run + 3) & ~(size_t)3;
				run = 0;
				cost += 4;
			} else
				run += s[i + 1] == '-' ? 3 : 1;
			i += m;
			*tail = i;
			*ends_macro = true;
			continue;
		}
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			*why = "invalid character";
			return false;
		}
		run++;
		i++;
		*ends_macro = false;
	}
	if (run > 0)
		cost += (4 + run + 3) & ~(size_t)3;
	if (run > 255)
		cost = SIZE_MAX;	/* libspf2 refuses such a literal */
	*costp = cost;
	return true;
}

/*
 * toplabel_ok - toplabel = ( *alphanum ALPHA *alphanum )
 *                        / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;
	size_t i;

	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (is_alpha(s[i]))
			alpha = true;
		else if (s[i] == '-')
			dash = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/*
 * domain_spec_ok - domain-spec = macro-string domain-end
 *                  domain-end  = ( "." toplabel [ "." ] ) / macro-expand
 */
static bool
domain_spec_ok(const char *s, size_t n, const char **why)
{
	size_t tail, end, cost;
	bool ends_macro;
	const char *dot;

	if (n == 0) {
		*why = "empty domain-spec";
		return false;
	}
	if (!macro_string_ok(s, n, false, &tail, &ends_macro, &cost, why))
		return false;
	/* what libspf2's compiler would need for it: keep well away from
	 * its 511-byte buffer (CVE-2023-42118 is an underflow there) */
	if (cost > SPF_TERM_BUDGET) {
		*why = "domain-spec too long";
		return false;
	}
	if (ends_macro)
		return true;
	end = n;
	if (end > tail && s[end - 1] == '.')
		end--;
	dot = NULL;
	for (size_t i = end; i > tail; i--)
		if (s[i - 1] == '.') {
			dot = s + i - 1;
			break;
		}
	if (dot == NULL || !toplabel_ok(dot + 1, (size_t)(s + end - dot - 1))) {
		*why = "domain-spec does not end in a valid top label or a macro";
		return false;
	}
	return true;
}

/*
 * cidr_ok - ip4-cidr-length = "/" ( "0" / %x31-39 0*1DIGIT ), at most 32;
 * ip6-cidr-length = "/" ( "0" / %x31-39 0*2DIGIT ), at most 128.  s points
 * after the "/"; returns the value or -1.
 */
static int
cidr_ok(const char *s, size_t n, int max)
{
	int v = 0;
	size_t i;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * split_dual_cidr - dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
 * at the end of [s, s+*n): sets the values (-1 absent) and shortens *n.
 * A domain-spec never ends in "/" DIGITs (its domain-end is a top label or
 * a macro), so taking them from the end is unambiguous.  Returns false on
 * a malformed length.
 */
static bool
split_dual_cidr(const char *s, size_t *n, int *c4, int *c6)
{
	size_t e = *n, d;

	*c4 = *c6 = -1;
	for (int pass = 0; pass < 2; pass++) {
		d = e;
		while (d > 0 && is_digit(s[d - 1]))
			d--;
		if (d == e || d == 0 || s[d - 1] != '/')
			break;
		if (pass == 0 && d >= 2 && s[d - 2] == '/') {
			if ((*c6 = cidr_ok(s + d, e - d, 128)) < 0)
				return false;
			e = d - 2;
			continue;
		}
		if ((*c4 = cidr_ok(s + d, e - d, 32)) < 0)
			return false;
		e = d - 1;
		break;
	}
	*n = e;
	return true;
}

/* ip4_network_ok - ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros */
static bool
ip4_network_ok(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t st = i;
		int v = 0;

		while (i < n && is_digit(s[i]) && i - st < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == st || v > 255 || (s[st] == '0' && i - st > 1))
			return false;
		out[part] = (unsigned char)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == n;
}

/* ip6_network_ok - ip6-network as in RFC 4291 §2.2 (inet_pton) */
static bool
ip6_network_ok(const char *s, size_t n, unsigned char out[16])
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

/* spf_parsed_free - release a parsed record */
static void
spf_parsed_free(struct spf_parsed *r)
{
	free(r->terms);
	memset(r, 0, sizeof(*r));
}

/*
 * parse_mechanism - one directive = [ qualifier ] mechanism (RFC 7208 §12).
 */
static bool
parse_mechanism(const char *t, size_t n, struct spf_term *m, const char **why)
{
	size_t i = 0, nl, k;
	const char *rest;
	size_t rn;

	memset(m, 0, sizeof(*m));
	m->text = t;
	m->text_len = n;
	m->qual = '+';
	m->cidr4 = m->cidr6 = -1;
	if (n > 0 && strchr("+-~?", t[0]) != NULL) {
		m->qual = t[0];
		i = 1;
	}
	nl = i;
	while (nl < n && is_alnum(t[nl]))
		nl++;
	for (k = 0; k < sizeof(spf_mechs) / sizeof(spf_mechs[0]); k++)
		if (strlen(spf_mechs[k].name) == nl - i &&
		    ascii_strncaseeq(t + i, spf_mechs[k].name, nl - i))
			break;
	if (k == sizeof(spf_mechs) / sizeof(spf_mechs[0])) {
		*why = "unknown mechanism";
		return false;
	}
	m->mech = spf_mechs[k].mech;
	rest = t + nl;
	rn = n - nl;

	switch (m->mech) {
	case TM_ALL:
		if (rn != 0) {
			*why = "\"all\" takes no argument";
			return false;
		}
		return true;
	case TM_INCLUDE:
	case TM_EXISTS:
		if (rn < 2 || rest[0] != ':') {
			*why = "mechanism needs a domain-spec";
			return false;
		}
		m->spec = rest + 1;
		m->spec_len = rn - 1;
		return domain_spec_ok(m->spec, m->spec_len, why);
	case TM_PTR:
		if (rn == 0)
			return true;
		if (rest[0] != ':') {
			*why = "invalid \"ptr\" argument";
			return false;
		}
		m->spec = rest + 1;
		m->spec_len = rn - 1;
		return domain_spec_ok(m->spec, m->spec_len, why);
	case TM_A:
	case TM_MX:
		if (!split_dual_cidr(rest, &rn, &m->cidr4, &m->cidr6)) {
			*why = "invalid CIDR length";
			return false;
		}
		if (rn == 0)
			return true;
		if (rest[0] != ':') {
			*why = "invalid mechanism argument";
			return false;
		}
		m->spec = rest + 1;
		m->spec_len = rn - 1;
		return domain_spec_ok(m->spec, m->spec_len, why);
	case TM_IP4:
	case TM_IP6: {
		const char *slash;
		size_t an;

		if (rn < 2 || rest[0] != ':') {
			*why = "ip4/ip6 needs an address";
			return false;
		}
		rest++;
		rn--;
		slash = memchr(rest, '/', rn);
		an = slash != NULL ? (size_t)(slash - rest) : rn;
		if (m->mech == TM_IP4 ? !ip4_network_ok(rest, an, m->addr)
		    : !ip6_network_ok(rest, an, m->addr)) {
			*why = "invalid IP network";
			return false;
		}
		if (slash != NULL) {
			int c = cidr_ok(slash + 1, rn - an - 1, m->mech == TM_IP4 ? 32 : 128);

			if (c < 0) {
				*why = "invalid CIDR length";
				return false;
			}
			if (m->mech == TM_IP4)
				m->cidr4 = c;
			else
				m->cidr6 = c;
		}
		return true;
	}
	}
	*why = "unknown mechanism";
	return false;
}

/*
 * spf_parse - check one record against the RFC 7208 §12 ABNF:
 *
 *   record    = version terms *SP
 *   version   = "v=spf1"
 *   terms     = *( 1*SP ( directive / modifier ) )
 *   modifier  = redirect / explanation / unknown-modifier
 *   name      = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
 *
 * Anything that does not parse is a syntax error, and RFC 7208 §4.6 says
 * a syntax error anywhere in the record is a permerror, including in terms
 * that would never be evaluated; "redirect" and "exp" may appear at most
 * once each (§6).  Fills *r (mechanisms in order, redirect, has_all) or
 * returns false with a static reason in *why.
 */
static bool
spf_parse(const char *rec, size_t len, struct spf_parsed *r, const char **why)
{
	size_t i, st, cap = 0;
	bool have_exp = false;

	memset(r, 0, sizeof(*r));
	/* RFC 7208 §3.1 / §12: only SP and visible ASCII can appear */
	for (i = 0; i < len; i++)
		if (rec[i] != ' ' && ((unsigned char)rec[i] < 0x21 ||
		    (unsigned char)rec[i] > 0x7e)) {
			*why = "control or non-ASCII character in record";
			return false;
		}
	if (len < 6 || !ascii_strncaseeq(rec, "v=spf1", 6) || (len > 6 && rec[6] != ' ')) {
		*why = "not a v=spf1 record";
		return false;
	}
	i = 6;
	for (;;) {
		while (i < len && rec[i] == ' ')
			i++;
		if (i >= len)
			break;
		st = i;
		while (i < len && rec[i] != ' ')
			i++;

		const char *t = rec + st;
		size_t n = i - st, q = 0;

		/* a modifier: name "=" ... */
		if (is_alpha(t[0])) {
			q = 1;
			while (q < n && (is_alnum(t[q]) || t[q] == '-' || t[q] == '_' || t[q] == '.'))
				q++;
		}
		if (q > 0 && q < n && t[q] == '=') {
			const char *v = t + q + 1;
			size_t vn = n - q - 1, tail, cost;
			bool em;

			if (q == 8 && ascii_strncaseeq(t, "redirect", 8)) {
				if (r->redirect != NULL) {
					*why = "more than one redirect modifier (RFC 7208 6)";
					goto bad;
				}
				if (!domain_spec_ok(v, vn, why))
					goto bad;
				r->redirect = v;
				r->redirect_len = vn;
			} else if (q == 3 && ascii_strncaseeq(t, "exp", 3)) {
				if (have_exp) {
					*why = "more than one exp modifier (RFC 7208 6)";
					goto bad;
				}
				if (!domain_spec_ok(v, vn, why))
					goto bad;
				have_exp = true;
			} else if (!macro_string_ok(v, vn, true, &tail, &em, &cost, why))
				goto bad;
			continue;
		}
		if (r->n == cap) {
			cap = cap ? cap * 2 : 8;
			r->terms = xrealloc(r->terms, cap * sizeof(*r->terms));
		}
		if (!parse_mechanism(t, n, &r->terms[r->n], why))
			goto bad;
		if (r->terms[r->n].mech == TM_ALL)
			r->has_all = true;
		r->n++;
	}
	return true;
bad:
	spf_parsed_free(r);
	return false;
}

/*
 * The values the macros of one record expand to (RFC 7208 §7.3), known
 * when the record is fetched: libspf2 expands them from the same request.
 */
struct macro_env {
	SPF_request_t	*req;
	char		 ip[80];	/* %{i}: dotted IPv4, or IPv6 as dotted nibbles */
};

/* macro_env_init - the request's values, %{i} formatted as libspf2 does */
static void
macro_env_init(struct macro_env *env, SPF_request_t *req)
{
	char *p = env->ip;
	int i;

	env->req = req;
	env->ip[0] = '\0';
	if (req->client_ver == AF_INET)
		inet_ntop(AF_INET, &req->ipv4, env->ip, sizeof(env->ip));
	else if (req->client_ver == AF_INET6) {
		for (i = 0; i < 16; i++)
			p += snprintf(p, sizeof(env->ip) - (size_t)(p - env->ip), "%x.%x.",
			    req->ipv6.s6_addr[i] >> 4, req->ipv6.s6_addr[i] & 0xf);
		if (p > env->ip)
			p[-1] = '\0';
	}
}

/* macro_value - what macro letter c expands to; NULL when unknown */
static const char *
macro_value(struct macro_env *env, char c)
{
	SPF_request_t *req = env->req;

	switch (ascii_tolower(c)) {
	case 'l':
		return req->env_from_lp;
	case 's':
		return req->env_from;
	case 'o':
		return req->env_from_dp;
	case 'd':
		return req->cur_dom;
	case 'h':
		return req->helo_dom;
	case 'i':
		return env->ip;
	case 'v':
		return req->client_ver == AF_INET ? "in-addr" : "ip6";
	case 'p':
		/* the validated client name: libspf2 looks it up (through our
		 * layer, counted like a ptr term) and keeps it in the request */
		return SPF_request_get_client_dom(req);
	default:
		return NULL;
	}
}

/*
 * spec_emit - copy a validated domain-spec for libspf2, working around its
 * DIGIT transformer (RFC 7208 §7.3: "if the value specifies more parts
 * than are available, all the available parts are used").  libspf2 keeps
 * the right N parts by counting dots from the right, and when there are
 * fewer than N dots it drops the first character of the value instead:
 * %{d3} of "a.b.c" becomes ".b.c", %{i9} of "10.2.0.192" "0.2.0.192".  A
 * changed name can miss a "-exists:" block list, so we compute the value
 * (known from the request) and leave the transformer out whenever it asks
 * for at least all parts.  libspf2 refuses values over 128; 128 is kept.
 * An "R" transformer becomes "r" (libspf2 knows only the lowercase one).
 */
static void
spec_emit(struct buf *b, const char *s, size_t n, bool strip_dot, struct macro_env *env)
{
	size_t i = 0;

	if (strip_dot && n > 0 && s[n - 1] == '.')
		n--;
	while (i < n) {
		if (s[i] != '%' || i + 1 >= n || s[i + 1] != '{') {
			if (s[i] == '%') {
				buf_append(b, s + i, 2);
				i += 2;
			} else
				buf_putc(b, s[i++]);
			continue;
		}
		char letter = s[i + 2];
		size_t d, dend, del, j;
		unsigned long v = 0, dots = 0;
		bool rev = false;
		const char *val, *q;

		i += 3;
		d = i;
		while (i < n && is_digit(s[i])) {
			if (v <= 1000)
				v = v * 10 + (unsigned long)(s[i] - '0');
			i++;
		}
		dend = i;
		if (i < n && (s[i] == 'r' || s[i] == 'R')) {
			rev = true;
			i++;
		}
		del = i;
		while (i < n && s[i] != '}')
			i++;
		if (dend > d) {
			/* count what libspf2 will see as dots: the delimiters
			 * (default ".") and any dot in the value */
			val = macro_value(env, letter);
			for (q = val; q != NULL && *q != '\0'; q++) {
				if (*q == '.')
					dots++;
				else
					for (j = del; j < i; j++)
						if (s[j] == *q) {
							dots++;
							break;
						}
			}
			if (val == NULL || v > dots)
				v = 0;		/* all parts */
			else if (v > 128)
				v = 128;
		}
		buf_printf(b, "%%{%c", letter);
		if (v > 0)
			buf_printf(b, "%lu", v);
		if (rev)
			buf_putc(b, 'r');
		buf_append(b, s + del, i - del);
		if (i < n)
			buf_putc(b, s[i++]);
	}
}

/*
 * spf_rewrite - the record libspf2 gets, for a client of the given family:
 * "v=spf1", the mechanisms in order, and redirect= last unless the record
 * has "all" (RFC 7208 §6.1: then redirect MUST be ignored).  exp= and
 * unknown modifiers are left out: we never use the explanation, and
 * unknown modifiers MUST be ignored (§6).  libspf2 moves nothing itself
 * and gives permerror for a redirect before mechanisms.
 *
 * Prefix length 0 (RFC 7208 §5.6: valid, it matches everything of the
 * family) is refused by libspf2's compiler, so:
 *   ip4:x/0 -> ip4:0.0.0.0/1 ip4:128.0.0.0/1 (same qualifier), likewise ip6;
 *   a/0, mx/0 (for the client's family) -> the same term with the name
 *   suffixed by our private marker label and prefix length 1; our DNS
 *   layer strips the marker, asks the real question and, when there is an
 *   address, answers with the two halves of the address space.
 * Only the client family's prefix length is kept for a and mx.
 */
static char *
spf_rewrite(const struct spfcheck *sc, const struct spf_parsed *r, int family,
    struct macro_env *env, size_t *nmech)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b, 0);
	buf_puts(&b, "v=spf1");
	*nmech = r->n;
	for (i = 0; i < r->n; i++) {
		const struct spf_term *t = &r->terms[i];
		char abuf[INET6_ADDRSTRLEN];
		int c;

		buf_printf(&b, " %c", t->qual);
		switch (t->mech) {
		case TM_ALL:
			buf_puts(&b, "all");
			break;
		case TM_INCLUDE:
		case TM_EXISTS:
			buf_puts(&b, t->mech == TM_INCLUDE ? "include:" : "exists:");
			spec_emit(&b, t->spec, t->spec_len, false, env);
			break;
		case TM_PTR:
			buf_puts(&b, "ptr");
			if (t->spec != NULL) {
				buf_putc(&b, ':');
				spec_emit(&b, t->spec, t->spec_len, false, env);
			}
			break;
		case TM_IP4:
			if (t->cidr4 == 0) {
				buf_printf(&b, "ip4:0.0.0.0/1 %cip4:128.0.0.0/1", t->qual);
				(*nmech)++;
				break;
			}
			inet_ntop(AF_INET, t->addr, abuf, sizeof(abuf));
			buf_printf(&b, "ip4:%s", abuf);
			if (t->cidr4 > 0)
				buf_printf(&b, "/%d", t->cidr4);
			break;
		case TM_IP6:
			if (t->cidr6 == 0) {
				buf_printf(&b, "ip6:::/1 %cip6:8000::/1", t->qual);
				(*nmech)++;
				break;
			}
			inet_ntop(AF_INET6, t->addr, abuf, sizeof(abuf));
			buf_printf(&b, "ip6:%s", abuf);
			if (t->cidr6 > 0)
				buf_printf(&b, "/%d", t->cidr6);
			break;
		case TM_A:
		case TM_MX:
			buf_puts(&b, t->mech == TM_A ? "a" : "mx");
			c = family == AF_INET ? t->cidr4 : t->cidr6;
			if (c == 0) {
				buf_putc(&b, ':');
				if (t->spec != NULL)
					spec_emit(&b, t->spec, t->spec_len, true, env);
				else
					buf_puts(&b, "%{d}");
				buf_printf(&b, ".%s%s", sc->marker, family == AF_INET ? "/1" : "//1");
				break;
			}
			if (t->spec != NULL) {
				buf_putc(&b, ':');
				spec_emit(&b, t->spec, t->spec_len, false, env);
			}
			if (c > 0)
				buf_printf(&b, family == AF_INET ? "/%d" : "//%d", c);
			break;
		}
	}
	if (r->redirect != NULL && !r->has_all) {
		(*nmech)++;
		buf_puts(&b, " redirect=");
		spec_emit(&b, r->redirect, r->redirect_len, false, env);
	}
	return buf_detach(&b);
}

/*
 * ------------------------------------------------------------------------
 * The libspf2 DNS layer
 * ------------------------------------------------------------------------
 */

/* rr_new - an empty libspf2 answer (never NULL: libspf2 would abort) */
static SPF_dns_rr_t *
rr_new(SPF_dns_server_t *layer, const char *domain, ns_type type, int herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(layer, domain, type, 0, herrno);

	if (rr == NULL)
		log_fatal("out of memory (libspf2 DNS answer)");
	return rr;
}

/* rr_slot - room for record idx of len bytes */
static void
rr_slot(SPF_dns_rr_t *rr, int idx, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS)
		log_fatal("out of memory (libspf2 DNS answer)");
}

/* rr_add_name - append a host name (MX or PTR target) */
static void
rr_add_name(SPF_dns_rr_t *rr, const char *name)
{
	size_t l = strlen(name);

	rr_slot(rr, rr->num_rr, l + 1);
	memcpy(rr->rr[rr->num_rr]->ptr, name, l + 1);
	rr->num_rr++;
}

/* rr_add_addr - append an A or AAAA record */
static void
rr_add_addr(SPF_dns_rr_t *rr, int family, const unsigned char *addr)
{
	if (family == AF_INET) {
		rr_slot(rr, rr->num_rr, sizeof(struct in_addr));
		memcpy(&rr->rr[rr->num_rr]->a, addr, 4);
	} else {
		rr_slot(rr, rr->num_rr, sizeof(struct in6_addr));
		memcpy(&rr->rr[rr->num_rr]->aaaa, addr, 16);
	}
	rr->num_rr++;
}

/* type_of - our query type for libspf2's, 0 when we do not ask it */
static uint16_t
type_of(ns_type t)
{
	switch (t) {
	case ns_t_a:
		return DNS_T_A;
	case ns_t_aaaa:
		return DNS_T_AAAA;
	case ns_t_mx:
		return DNS_T_MX;
	case ns_t_ptr:
		return DNS_T_PTR;
	case ns_t_txt:
		return DNS_T_TXT;
	default:
		return 0;
	}
}

/*
 * spf_dns_lookup - libspf2's lookup callback.  Must return a new answer,
 * never NULL.  herrno: NETDB_SUCCESS with records, NO_DATA (NODATA),
 * HOST_NOT_FOUND (NXDOMAIN) or TRY_AGAIN (any failure; libspf2 skips a
 * mechanism on NO_RECOVERY, but RFC 7208 §5 says a DNS error is temperror,
 * and TRY_AGAIN also ends the evaluation once our context decided it).
 */
static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
    int should_cache)
{
	const struct spfcheck *sc = layer->hook;
	struct spf_ctx *ctx = spf_ctx_cur;
	struct dns_answer *ans;
	SPF_dns_rr_t *rr;
	uint16_t qtype = type_of(type);
	char *raw, *name;
	size_t rawlen, i;
	bool marked, follow = false, follow_ptr = false;

	(void)should_cache;
	if (domain == NULL)
		domain = "";
	if (ctx == NULL || qtype == 0 || ctx->forced)
		return rr_new(layer, domain, type, TRY_AGAIN);

	rawlen = strnlen(domain, 4 * SPF_NAME_MAX);
	raw = xstrndup(domain, rawlen);
	marked = strip_marker(sc, raw, &rawlen);

	/*
	 * Is this one of the address lookups libspf2 does for the MX hosts or
	 * PTR names we just gave it (they are not terms of their own), or the
	 * first lookup of a new term?
	 */
	if ((qtype == DNS_T_A || qtype == DNS_T_AAAA) && ctx->i_follow < ctx->n_follow &&
	    ascii_strcaseeq(domain, ctx->follow[ctx->i_follow])) {
		follow = true;
		follow_ptr = ctx->follow_ptr;
		ctx->i_follow++;
	} else {
		ctx_follow_clear(ctx);
		if (qtype != DNS_T_TXT && !ctx_count_term(ctx))
			goto tryagain;
	}

	if ((name = name_prepare(raw, rawlen)) == NULL) {
		free(raw);
		if (follow)	/* a host name we cannot ask: no address */
			return rr_new(layer, domain, type, NO_DATA);
		ctx_force(ctx, AUTH_PERMERROR,
		    "a mechanism's domain is not a valid name (after macro expansion)");
		return rr_new(layer, domain, type, TRY_AGAIN);
	}
	free(raw);
	raw = NULL;
	if (!ctx_may_query(ctx)) {
		free(name);
		return rr_new(layer, domain, type, TRY_AGAIN);
	}
	ans = dns_query(sc->dns, name, qtype);
	free(name);

	switch (ans->status) {
	case DNS_OK:
		if (ans->n > 0)
			break;
		/* FALLTHROUGH */
	case DNS_NXDOMAIN:
		if (!follow && qtype != DNS_T_TXT && !ctx_count_void(ctx)) {
			dns_answer_free(ans);
			goto tryagain;
		}
		rr = rr_new(layer, domain, type,
		    ans->status == DNS_NXDOMAIN ? HOST_NOT_FOUND : NO_DATA);
		dns_answer_free(ans);
		return rr;
	case DNS_TEMPFAIL:
	case DNS_PERMFAIL:
	default:
		dns_answer_free(ans);
		/* RFC 7208 §5.5: a DNS error while looking up the address of a
		 * PTR name skips that name; everywhere else it is temperror (§5) */
		return rr_new(layer, domain, type, follow_ptr ? NO_DATA : TRY_AGAIN);
	}

	rr = rr_new(layer, domain, type, NETDB_SUCCESS);
	switch (qtype) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		int fam = qtype == DNS_T_A ? AF_INET : AF_INET6;
		bool any = false;

		for (i = 0; i < ans->n; i++)
			if (ans->addrs[i].family == fam) {
				any = true;
				if (!marked)
					rr_add_addr(rr, fam, ans->addrs[i].addr);
			}
		if (marked && any) {
			/* "/0": one address of the family exists, so every client of
			 * the family matches; with prefix length 1 these two do */
			static const unsigned char lo[16], hi[16] = { 0x80 };

			rr_add_addr(rr, fam, lo);
			rr_add_addr(rr, fam, hi);
		}
		if (rr->num_rr == 0)
			rr->herrno = NO_DATA;
		break;
	}
	case DNS_T_MX:
		/* RFC 7208 §4.6.4: "the evaluation of each MX record MUST NOT
		 * result in querying more than 10 address records ... If this
		 * limit is exceeded, the mx mechanism MUST produce a permerror".
		 * libspf2 looks at the first 10 and may match one of them. */
		if (ans->n > SPFCHECK_MAX_NAMES || ans->truncated) {
			ctx_force(ctx, AUTH_PERMERROR, "more than %d MX records (RFC 7208 4.6.4)",
			    SPFCHECK_MAX_NAMES);
			dns_answer_free(ans);
			rr->herrno = TRY_AGAIN;
			return rr;
		}
		ctx->follow = xcalloc(ans->n, sizeof(char *));
		for (i = 0; i < ans->n; i++) {
			const char *h = ans->mx[i].host != NULL ? ans->mx[i].host : "";

			ctx->follow[i] = marked ? xasprintf("%s.%s", h, sc->marker) : xstrdup(h);
			rr_add_name(rr, ctx->follow[i]);
		}
		ctx->n_follow = ans->n;
		ctx->follow_ptr = false;
		break;
	case DNS_T_PTR:
		/* RFC 7208 §4.6.4: for PTR, "all records other than the first 10
		 * MUST be ignored"; libspf2 gives permerror instead. */
		ctx->n_follow = ans->n > SPFCHECK_MAX_NAMES ? SPFCHECK_MAX_NAMES : ans->n;
		ctx->follow = xcalloc(ctx->n_follow, sizeof(char *));
		for (i = 0; i < ctx->n_follow; i++) {
			ctx->follow[i] = xstrdup(ans->names[i] != NULL ? ans->names[i] : "");
			rr_add_name(rr, ctx->follow[i]);
		}
		ctx->follow_ptr = true;
		break;
	case DNS_T_TXT:
		/* only an explanation would come here; we never ask for one */
		for (i = 0; i < ans->n; i++)
			rr_add_name(rr, ans->txt[i] != NULL ? ans->txt[i] : "");
		break;
	}
	dns_answer_free(ans);
	return rr;

tryagain:
	free(raw);
	return rr_new(layer, domain, type, TRY_AGAIN);
}

/*
 * spf_get_record - libspf2's get_spf hook: find, check and compile the SPF
 * record of spf_request->cur_dom.  The first call of a check is the
 * identity's own record (no record: "none", RFC 7208 §4.5); every later one
 * is an include or redirect target, a DNS-querying term, for which no
 * record is a permerror (§5.2, §6.1).
 */
static SPF_errcode_t
spf_get_record(SPF_server_t *srv, SPF_request_t *req, SPF_response_t *resp,
    SPF_record_t **recp)
{
	struct spf_ctx *ctx = spf_ctx_cur;
	const struct spfcheck *sc;
	struct dns_answer *ans;
	struct spf_parsed parsed;
	struct macro_env env;
	SPF_response_t *scratch;
	size_t nmech;
	SPF_errcode_t err;
	const char *dom = req->cur_dom != NULL ? req->cur_dom : "";
	const char *why;
	char *name, *text;
	size_t i, found = 0, idx = 0;
	bool top;

	*recp = NULL;
	if (ctx == NULL)
		return SPF_response_add_error(resp, SPF_E_DNS_ERROR, "no check context");
	sc = ctx->sc;
	top = ctx->fetches++ == 0;
	ctx_follow_clear(ctx);
	if (!top && !ctx_count_term(ctx))
		return SPF_response_add_error(resp, SPF_E_BIG_DNS, "too many DNS terms");
	if ((name = name_prepare(dom, strnlen(dom, 4 * SPF_NAME_MAX))) == NULL) {
		ctx_force(ctx, AUTH_PERMERROR, "include/redirect target is not a valid domain name");
		return SPF_response_add_error(resp, SPF_E_NOT_SPF, "invalid domain");
	}
	if (!ctx_may_query(ctx)) {
		free(name);
		return SPF_response_add_error(resp, SPF_E_DNS_ERROR, "limit");
	}
	ans = dns_query(sc->dns, name, DNS_T_TXT);

	if (ans->status == DNS_TEMPFAIL || ans->status == DNS_PERMFAIL) {
		/* RFC 7208 §4.4: a server failure or timeout is temperror */
		ctx_force(ctx, AUTH_TEMPERROR, "DNS failure looking up the SPF record of %s", name);
		goto dnserr;
	}
	for (i = 0; ans->status == DNS_OK && i < ans->n; i++) {
		const char *t = ans->txt[i] != NULL ? ans->txt[i] : "";
		size_t l = ans->txt_len != NULL ? ans->txt_len[i] : strlen(t);

		/* RFC 7208 §4.5: records that begin with "v=spf1" followed by SP
		 * or the end of the record */
		if (l >= 6 && ascii_strncaseeq(t, "v=spf1", 6) && (l == 6 || t[6] == ' ')) {
			found++;
			idx = i;
		}
	}
	if (found == 0) {
		if (ans->status == DNS_OK && ans->truncated) {
			ctx_force(ctx, AUTH_PERMERROR, "too many TXT records at %s", name);
			goto dnserr;
		}
		if (top) {
			ctx->none = true;
			free(ctx->reason);
			ctx->reason = ans->status == DNS_NXDOMAIN ?
			    xasprintf("domain %s does not exist", name) :
			    xasprintf("no SPF record at %s", name);
			dns_answer_free(ans);
			free(name);
			resp->result = SPF_RESULT_NONE;
			resp->reason = SPF_REASON_FAILURE;
			return SPF_response_add_error(resp, SPF_E_NOT_SPF, "no SPF record");
		}
		if (ctx_count_void(ctx))
			ctx_force(ctx, AUTH_PERMERROR,
			    "include/redirect target %s has no SPF record (RFC 7208 5.2)", name);
		goto notspf;
	}
	if (found > 1 || ans->truncated) {
		ctx_force(ctx, AUTH_PERMERROR, "more than one SPF record at %s (RFC 7208 4.5)", name);
		goto notspf;
	}

	{
		const char *t = ans->txt[idx];
		size_t l = ans->txt_len != NULL ? ans->txt_len[idx] : strlen(t);

		if (!spf_parse(t, l, &parsed, &why)) {
			ctx_force(ctx, AUTH_PERMERROR, "SPF record of %s: %s (RFC 7208 4.6)", name, why);
			goto notspf;
		}
		if (top) {
			free(ctx->top_record);
			ctx->top_record = xstrndup(t, l);
		}
	}
	macro_env_init(&env, req);
	text = spf_rewrite(sc, &parsed, ctx->family, &env, &nmech);
	spf_parsed_free(&parsed);
	if (ctx->forced) {		/* a %{p} lookup hit a limit */
		free(text);
		goto notspf;
	}

	/* compile with a scratch response: SPF_record_compile fails when the
	 * response it is given already holds an error from earlier */
	if ((scratch = SPF_response_new(req)) == NULL)
		log_fatal("out of memory (libspf2 response)");
	err = nmech > SPF_MAX_MECHS ? SPF_E_BIG_MECH :
	    SPF_record_compile(srv, scratch, recp, text);
	SPF_response_free(scratch);
	/*
	 * libspf2 keeps at most 511 bytes of compiled mechanisms per record and
	 * silently drops the ones that do not fit, "-all" included, while
	 * reporting success: check that every mechanism made it.
	 */
	if (err == SPF_E_SUCCESS && (*recp == NULL || (*recp)->num_mech != nmech))
		err = SPF_E_BIG_MECH;
	if (err != SPF_E_SUCCESS) {
		if (*recp != NULL)
			SPF_record_free(*recp);
		*recp = NULL;
		ctx_force(ctx, AUTH_PERMERROR, "SPF record of %s: libspf2 cannot evaluate it (%s)",
		    name, SPF_strerror(err));
		log_debug("spfcheck: libspf2 refused \"%s\": %s", text, SPF_strerror(err));
		free(text);
		goto notspf;
	}
	free(text);
	dns_answer_free(ans);
	free(name);
	return SPF_E_SUCCESS;

notspf:
	dns_answer_free(ans);
	free(name);
	return SPF_response_add_error(resp, SPF_E_NOT_SPF, "unusable SPF record");
dnserr:
	dns_answer_free(ans);
	free(name);
	return SPF_response_add_error(resp, SPF_E_DNS_ERROR, "DNS failure");
}

/*
 * ------------------------------------------------------------------------
 * Running a check
 * ------------------------------------------------------------------------
 */

/* outcome_set - fill an outcome (strings copied) */
static void
outcome_set(struct spf_outcome *o, enum auth_res res, bool helo_scope,
    const char *domain, const char *identity, const char *reason)
{
	spfcheck_outcome_free(o);
	o->result = res;
	o->helo_scope = helo_scope;
	o->domain = domain != NULL ? sanitize(domain, SPF_NAME_MAX) : NULL;
	o->identity = identity != NULL ? sanitize(identity, 2 * SPF_NAME_MAX) : NULL;
	o->reason = reason != NULL ? sanitize(reason, SPF_REASON_MAX) : NULL;
}

/* result_qual - the qualifier that gives a result */
static char
result_qual(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return '+';
	case SPF_RESULT_FAIL:
		return '-';
	case SPF_RESULT_SOFTFAIL:
		return '~';
	default:
		return '?';
	}
}

/*
 * mech_reason - "matched <term>" when the identity's own record shows
 * which mechanism it must have been: no redirect in play and exactly one
 * mechanism with the result's qualifier.  libspf2 does not say which
 * mechanism matched, so otherwise only the qualifier is named.
 */
static char *
mech_reason(const struct spf_ctx *ctx, SPF_result_t r)
{
	struct spf_parsed p;
	const char *why;
	char q = result_qual(r);
	size_t i, hits = 0, at = 0;

	if (ctx->top_record != NULL &&
	    spf_parse(ctx->top_record, strlen(ctx->top_record), &p, &why)) {
		for (i = 0; i < p.n; i++)
			if (p.terms[i].qual == q) {
				hits++;
				at = i;
			}
		if (hits == 1 && (p.redirect == NULL || p.has_all)) {
			const struct spf_term *t = &p.terms[at];
			size_t skip = (t->text[0] == '+' && q == '+') ? 1 : 0;
			char *s = xasprintf("matched %.*s", (int)(t->text_len - skip), t->text + skip);

			spf_parsed_free(&p);
			return s;
		}
		spf_parsed_free(&p);
	}
	return xasprintf("a mechanism with qualifier \"%c\" matched", q);
}

/*
 * map_result - our result for libspf2's, when our context did not decide
 * it.  LIBRARIES.md §3.1: 1.2.10 leaves SPF_RESULT_INVALID for a record it
 * cannot compile (-> permerror) and for a DNS failure on the record fetch
 * (SPF_E_DNS_ERROR -> temperror).
 */
static enum auth_res
map_result(SPF_response_t *resp, const struct spf_ctx *ctx, char **reason)
{
	SPF_result_t r = SPF_response_result(resp);
	SPF_errcode_t e = SPF_response_errcode(resp);

	switch (r) {
	case SPF_RESULT_PASS:
	case SPF_RESULT_FAIL:
	case SPF_RESULT_SOFTFAIL:
	case SPF_RESULT_NEUTRAL:
		if (SPF_response_reason(resp) == SPF_REASON_DEFAULT)
			*reason = xstrdup("no mechanism matched (RFC 7208 4.7)");
		else if (SPF_response_reason(resp) == SPF_REASON_MECH)
			*reason = mech_reason(ctx, r);
		else {
			/* localhost or local policy: neither may happen here */
			*reason = xasprintf("unexpected libspf2 reason: %s",
			    SPF_strreason(SPF_response_reason(resp)));
			return AUTH_PERMERROR;
		}
		switch (r) {
		case SPF_RESULT_PASS:
			return AUTH_PASS;
		case SPF_RESULT_FAIL:
			return AUTH_FAIL;
		case SPF_RESULT_SOFTFAIL:
			return AUTH_SOFTFAIL;
		default:
			return AUTH_NEUTRAL;
		}
	case SPF_RESULT_NONE:
		*reason = xstrdup("no SPF record");
		return AUTH_NONE;
	case SPF_RESULT_TEMPERROR:
		*reason = xstrdup(SPF_strerror(e));
		return AUTH_TEMPERROR;
	case SPF_RESULT_INVALID:
		*reason = xstrdup(SPF_strerror(e));
		return e == SPF_E_DNS_ERROR ? AUTH_TEMPERROR : AUTH_PERMERROR;
	case SPF_RESULT_PERMERROR:
	default:
		*reason = xstrdup(SPF_strerror(e));
		return AUTH_PERMERROR;
	}
}

/*
 * check_identity - one check_host() (RFC 7208 §4): client address, the
 * HELO text for %{h}, the sender "local@domain" and its normalized domain.
 */
static void
check_identity(const struct spfcheck *sc, int family, const void *addr,
    const char *helo_macro, const char *sender, const char *domain,
    struct spf_outcome *out, bool helo_scope, const char *identity)
{
	struct spf_ctx ctx;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum auth_res res;
	char *reason = NULL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.sc = sc;
	ctx.family = family;
	clock_gettime(CLOCK_MONOTONIC, &ctx.deadline);
	ctx.deadline.tv_sec += sc->time_limit;

	if ((req = SPF_request_new(sc->srv)) == NULL)
		log_fatal("out of memory (libspf2 request)");
	if (family == AF_INET)
		SPF_request_set_ipv4(req, *(const struct in_addr *)addr);
	else
		SPF_request_set_ipv6(req, *(const struct in6_addr *)addr);
	/* LIBRARIES.md §3.1: HELO first, then env_from */
	if (SPF_request_set_helo_dom(req, helo_macro) != SPF_E_SUCCESS ||
	    SPF_request_set_env_from(req, sender) != 0)
		log_fatal("out of memory (libspf2 request)");

	spf_ctx_cur = &ctx;
	(void)SPF_request_query_mailfrom(req, &resp);
	spf_ctx_cur = NULL;

	if (ctx.forced) {
		res = ctx.forced_res;
		reason = xstrdup(ctx.reason);
	} else if (ctx.none) {
		res = AUTH_NONE;
		reason = xstrdup(ctx.reason);
	} else if (resp == NULL) {
		res = AUTH_TEMPERROR;
		reason = xstrdup("libspf2 gave no response");
	} else
		res = map_result(resp, &ctx, &reason);

	outcome_set(out, res, helo_scope, domain, identity, reason);
	log_debug("spfcheck: %s %s: %s (%s)", helo_scope ? "helo" : "mailfrom",
	    out->identity, auth_res_str(res), out->reason);

	free(reason);
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	ctx_follow_clear(&ctx);
	free(ctx.reason);
	free(ctx.top_record);
}

/*
 * identity_domain - the domain of an identity, ready for a check: RFC 7208
 * §4.3 says a malformed domain (label over 63 octets, empty label, ...) or
 * one that is not multi-label gives "none" without any lookup.  Domain
 * literals and bare IP addresses are not domains.  U-labels become A-labels
 * (RFC 8616 §4).  Returns a malloc'd normalized name or NULL.
 */
static char *
identity_domain(const char *in)
{
	char err[128], *d;
	const char *last;
	size_t i;
	bool digits = true;

	if (in == NULL || *in == '\0' || strlen(in) > DOMAIN_MAX_INPUT)
		return NULL;
	if ((d = domain_normalize(in, err, sizeof(err))) == NULL)
		return NULL;
	if ((last = strrchr(d, '.')) == NULL) {
		free(d);
		return NULL;
	}
	for (i = 1; last[i] != '\0'; i++)
		if (!is_digit(last[i]))
			digits = false;
	if (digits) {
		free(d);
		return NULL;
	}
	return d;
}

/*
 * helo_for_macros - the HELO text libspf2 may use for %{h} when it is not
 * a domain: the text as sent if it is printable ASCII (RFC 7208 §7.3 expands
 * it as it is; a name we cannot ask is refused after expansion), else "".
 */
static const char *
helo_for_macros(const char *helo)
{
	size_t i;

	if (helo == NULL || strlen(helo) > SPF_NAME_MAX)
		return "";
	for (i = 0; helo[i] != '\0'; i++)
		if ((unsigned char)helo[i] < 0x20 || (unsigned char)helo[i] > 0x7e)
			return "";
	return helo;
}

/*
 * parse_client - the client address; an IPv4-mapped IPv6 address is
 * treated as IPv4 (RFC 7208 §5).  Returns the family or 0.
 */
static int
parse_client(const char *ip, struct in_addr *a4, struct in6_addr *a6)
{
	if (ip == NULL || strlen(ip) > INET6_ADDRSTRLEN)
		return 0;
	if (inet_pton(AF_INET, ip, a4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, ip, a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(&a4->s_addr, &a6->s6_addr[12], 4);
			return AF_INET;
		}
		return AF_INET6;
	}
	return 0;
}

/* spfcheck_run - see spfcheck.h */
int
spfcheck_run(struct spfcheck *sc, const char *client_ip, const char *helo,
    const char *mail_from, struct spf_outcome *mfrom, struct spf_outcome *helo_out)
{
	struct in_addr a4;
	struct in6_addr a6;
	const void *addr;
	const char *hm, *at, *local, *dom_in;
	char *helo_dom, *dom = NULL, *sender = NULL, *ident = NULL, *lp = NULL;
	int family;
	bool null_sender;

	if (mfrom == NULL)
		return -1;
	memset(mfrom, 0, sizeof(*mfrom));
	if (helo_out != NULL)
		memset(helo_out, 0, sizeof(*helo_out));
	if (helo == NULL)
		helo = "";
	if (mail_from == NULL)
		mail_from = "";
	null_sender = *mail_from == '\0';

	if (sc == NULL || (family = parse_client(client_ip, &a4, &a6)) == 0) {
		const char *why = sc == NULL ? "no SPF checker" : "client address is not an IP address";

		outcome_set(mfrom, AUTH_NONE, null_sender, NULL, NULL, why);
		if (helo_out != NULL)
			outcome_set(helo_out, AUTH_NONE, true, NULL, NULL, why);
		return -1;
	}
	addr = family == AF_INET ? (const void *)&a4 : (const void *)&a6;

	/* libspf2 passes every loopback client without looking (§3.1 of
	 * LIBRARIES.md); that is not an SPF result, so do not ask it */
	if ((family == AF_INET && (ntohl(a4.s_addr) >> 24) == 127) ||
	    (family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a6))) {
		outcome_set(mfrom, AUTH_NONE, null_sender, NULL, NULL, "loopback client, not checked");
		if (helo_out != NULL)
			outcome_set(helo_out, AUTH_NONE, true, NULL, NULL,
			    "loopback client, not checked");
		return 0;
	}

	helo_dom = identity_domain(helo);
	hm = helo_dom != NULL ? helo_dom : helo_for_macros(helo);

	/* MAIL FROM, or for the null sender the HELO identity (RFC 7208 §2.4) */
	if (null_sender) {
		ident = xasprintf("postmaster@%s", helo_dom != NULL ? helo_dom : helo);
		if (helo_dom == NULL)
			outcome_set(mfrom, AUTH_NONE, true, NULL, ident,
			    "null sender and the HELO name is not a domain (RFC 7208 2.4)");
		else
			check_identity(sc, family, addr, hm, ident, helo_dom, mfrom, true, ident);
	} else {
		at = strrchr(mail_from, '@');
		if (at != NULL) {
			dom_in = at + 1;
			lp = xstrndup(mail_from, (size_t)(at - mail_from));
		} else {
			dom_in = mail_from;
			lp = xstrdup("");
		}
		/* RFC 7208 §4.3: no local-part -> "postmaster" */
		local = *lp != '\0' ? lp : "postmaster";
		dom = identity_domain(dom_in);
		if (dom == NULL) {
			ident = xasprintf("%s@%s", local, dom_in);
			outcome_set(mfrom, AUTH_NONE, false, dom_in, ident,
			    "MAIL FROM domain is not a valid domain name (RFC 7208 4.3)");
		} else {
			sender = xasprintf("%s@%s", local, dom);
			check_identity(sc, family, addr, hm, sender, dom, mfrom, false, sender);
		}
	}

	/* the HELO identity on its own (RFC 7208 §2.3) */
	if (helo_out != NULL) {
		if (helo_dom == NULL)
			outcome_set(helo_out, AUTH_NONE, true, NULL, helo,
			    "HELO name is not a domain (RFC 7208 2.3)");
		else if (null_sender)
			outcome_set(helo_out, mfrom->result, true, helo_dom, helo_dom, mfrom->reason);
		else {
			char *hs = xasprintf("postmaster@%s", helo_dom);

			check_identity(sc, family, addr, hm, hs, helo_dom, helo_out, true, helo_dom);
			free(hs);
		}
	}

	free(helo_dom);
	free(dom);
	free(sender);
	free(ident);
	free(lp);
	return 0;
}

/* spfcheck_outcome_free - see spfcheck.h */
void
spfcheck_outcome_free(struct spf_outcome *o)
{
	if (o == NULL)
		return;
	free(o->domain);
	free(o->identity);
	free(o->reason);
	memset(o, 0, sizeof(*o));
}

/* make_marker - "spfck0-" and 16 random hex digits, so no record can name it */
static void
make_marker(char *out, size_t outlen)
{
	unsigned char r[8];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof(r)) {
		/* no entropy: still unguessable enough for a local marker */
		struct timespec ts;
		unsigned long long v;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20) ^
		    (unsigned long long)getpid() << 40;
		memcpy(r, &v, sizeof(r));
	}
	snprintf(out, outlen, SPF_MARKER_LABEL "%02x%02x%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* spfcheck_new - see spfcheck.h */
struct spfcheck *
spfcheck_new(struct dns *dns, const char *receiver_hostname, char *err, size_t errlen)
{
	struct spfcheck *sc;
	SPF_response_t *resp = NULL;
	size_t i;

	if (dns == NULL) {
		snprintf(err, errlen, "spfcheck: no DNS layer");
		return NULL;
	}
	if (receiver_hostname != NULL) {
		if (*receiver_hostname == '\0' || strlen(receiver_hostname) > SPF_NAME_MAX) {
			snprintf(err, errlen, "spfcheck: invalid receiver host name");
			return NULL;
		}
		for (i = 0; receiver_hostname[i] != '\0'; i++)
			if ((unsigned char)receiver_hostname[i] < 0x21 ||
			    (unsigned char)receiver_hostname[i] > 0x7e) {
				snprintf(err, errlen, "spfcheck: invalid receiver host name");
				return NULL;
			}
	}
	pthread_once(&spf_handlers_once, spf_set_handlers);

	sc = xcalloc(1, sizeof(*sc));
	sc->dns = dns;
	sc->time_limit = SPFCHECK_TIME_LIMIT;
	sc->max_queries = SPFCHECK_MAX_QUERIES;
	make_marker(sc->marker, sizeof(sc->marker));

	sc->layer.destroy = NULL;	/* ours: SPF_server_free must not free it */
	sc->layer.lookup = spf_dns_lookup;
	sc->layer.get_spf = spf_get_record;
	sc->layer.get_exp = NULL;
	sc->layer.add_cache = NULL;
	sc->layer.layer_below = NULL;
	sc->layer.name = "dmarc-milter";
	sc->layer.debug = 0;
	sc->layer.hook = sc;

	if ((sc->srv = SPF_server_new_dns(&sc->layer, 0)) == NULL) {
		snprintf(err, errlen, "spfcheck: SPF_server_new_dns failed");
		free(sc);
		return NULL;
	}
	if (receiver_hostname != NULL &&
	    SPF_server_set_rec_dom(sc->srv, receiver_hostname) != SPF_E_SUCCESS)
		goto fail;
	/* no openspf.org link, no macros, no DNS */
	if (SPF_server_set_explanation(sc->srv, "See%_RFC%_7208", &resp) != SPF_E_SUCCESS)
		goto fail;
	if (resp != NULL)
		SPF_response_free(resp);
	resp = NULL;
	/* no local policy, and not the defunct default whitelist */
	if (SPF_server_set_localpolicy(sc->srv, "", 0, &resp) != SPF_E_SUCCESS)
		goto fail;
	if (resp != NULL)
		SPF_response_free(resp);
	resp = NULL;
	SPF_server_set_max_dns_mech(sc->srv, SPFCHECK_MAX_DNS_TERMS);
	SPF_server_set_max_dns_mx(sc->srv, SPFCHECK_MAX_NAMES);
	SPF_server_set_max_dns_ptr(sc->srv, SPFCHECK_MAX_NAMES);
	return sc;
fail:
	if (resp != NULL)
		SPF_response_free(resp);
	snprintf(err, errlen, "spfcheck: cannot configure the libspf2 server");
	SPF_server_free(sc->srv);
	free(sc);
	return NULL;
}

/* spfcheck_set_limits - see spfcheck.h */
void
spfcheck_set_limits(struct spfcheck *sc, unsigned time_limit, unsigned max_queries)
{
	if (sc == NULL)
		return;
	if (time_limit > 0)
		sc->time_limit = time_limit;
	if (max_queries > 0)
		sc->max_queries = max_queries;
}

/* spfcheck_free - release the checker (not the DNS layer it was given) */
void
spfcheck_free(struct spfcheck *sc)
{
	if (sc == NULL)
		return;
	SPF_server_free(sc->srv);
	free(sc);
}
