/*
 * test_dkimverify.c - DKIM verification (milter/dkimverify.c) against the
 * static DNS backend, with messages signed here by libopendkim (the
 * t/dkimsign.c code) using the test keys in $top_srcdir/t/keys.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DKIMSIGN_NO_MAIN
#include "dkimsign.c"

#include "buf.h"
#include "dkimverify.h"
#include "keycache.h"
#include "dns.h"
#include "log.h"
#include "tap.h"
#include "util.h"

#define DOM	"example.com"
#define TPDOM	"example.net"

static struct dns *dns;
static char *key_pem[4], *key_txt[4];
static const char *const selectors[4] = { "rsa2048", "rsa1024", "rsa512", "ed25519" };
enum { K2048, K1024, K512, KED };

static const char base_msg[] =
    "From: Alice <alice@example.com>\n"
    "To: Bob <bob@example.net>\n"
    "Subject: quarterly figures\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
    "Message-ID: <1234@example.com>\n"
    "\n"
    "Hello Bob,\n"
    "\n"
    "here are the   figures.\t \n"
    "-- \n"
    "Alice\n";

/* ---------------------------------------------------------------------- */

/* slurp - a whole file, NUL-terminated; NULL on error */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	size_t len;

	if (f == NULL)
		return NULL;
	b = dkimsign_read(f, &len);
	fclose(f);
	return b;
}

/* chomp - drop trailing line ends */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/*
 * sign - sign msg in a child process.  libopendkim 2.11 leaks the Ed25519
 * private key in sign mode (dkim_free only frees RSA key data); a child
 * that ends with _exit keeps that out of LeakSanitizer's report.
 */
static char *
sign(const char *msg, const char *domain, const char *selector, int key,
    dkim_alg_t alg, dkim_canon_t hc, dkim_canon_t bc, bool length,
    const char *headers, const char *identity)
{
	struct dkimsign_opts so;
	int fd[2], status;
	pid_t pid;
	FILE *f;
	char *out = NULL, err[256];
	size_t outlen;

	memset(&so, 0, sizeof so);
	so.domain = domain;
	so.selector = selector;
	so.key = key_pem[key];
	so.alg = alg;
	so.hcanon = hc;
	so.bcanon = bc;
	so.length = length;
	so.headers = headers;
	so.identity = identity;

	if (pipe(fd) < 0)
		return NULL;
	fflush(stdout);
	if ((pid = fork()) < 0)
		return NULL;
	if (pid == 0) {
		close(fd[0]);
		if (dkimsign_sign(&so, msg, strlen(msg), &out, &outlen, err, sizeof err) < 0) {
			fprintf(stderr, "# sign: %s\n", err);
			_exit(1);
		}
		if (write(fd[1], out, outlen) != (ssize_t)outlen)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	out = f != NULL ? dkimsign_read(f, &outlen) : NULL;
	if (f != NULL)
		fclose(f);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* sign_std - rsa-sha256-style defaults */
static char *
sign_std(const char *msg, const char *selector, int key, dkim_alg_t alg)
{
	return sign(msg, DOM, selector, key, alg, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, false, NULL, NULL);
}

/* replace - a copy of s with the first "from" replaced by "to" */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = s != NULL ? strstr(s, from) : NULL;

	if (p == NULL)
		return NULL;
	return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

/*
 * verify - feed an LF message the way the milter does: header fields
 * split into name and value (value with "\n" where it was folded, and
 * without the space after the colon unless leadspc), body with CRLF in
 * chunks of chunk bytes.
 */
static int
verify(struct dkimverify_lib *vl, const char *msg, bool leadspc, size_t chunk,
    struct dkim_outcome **out, size_t *n, bool *hassig)
{
	struct dkimverify *v;
	const char *p = msg, *eol, *colon;
	char *name, *value, *body;
	size_t vlen, i, bl;
	int rc = 0;

	v = dkimverify_new(vl, "test");
	while (*p != '\0' && *p != '\n') {
		/* one field: this line and the continuation lines */
		eol = p;
		for (;;) {
			eol = strchr(eol, '\n');
			if (eol == NULL) {
				eol = p + strlen(p);
				break;
			}
			if (eol[1] == ' ' || eol[1] == '\t') {
				eol++;
				continue;
			}
			break;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL) {
			dkimverify_free(v);
			return -1;
		}
		name = xstrndup(p, (size_t)(colon - p));
		colon++;
		if (!leadspc && *colon == ' ')
			colon++;
		vlen = (size_t)(eol - colon);
		value = xstrndup(colon, vlen);
		if (dkimverify_header(v, name, value, leadspc) < 0)
			rc = -1;
		free(name);
		free(value);
		p = *eol == '\n' ? eol + 1 : eol;
	}
	if (*p == '\n')
		p++;
	if (dkimverify_eoh(v) < 0)
		rc = -1;
	if (hassig != NULL)
		*hassig = dkimverify_has_signatures(v);

	/* body as CRLF */
	body = xmalloc(2 * strlen(p) + 1);
	for (bl = 0; *p != '\0'; p++) {
		if (*p == '\n')
			body[bl++] = '\r';
		body[bl++] = *p;
	}
	for (i = 0; i < bl; i += chunk)
		if (dkimverify_body(v, (unsigned char *)body + i,
		    bl - i < chunk ? bl - i : chunk) < 0)
			rc = -1;
	free(body);
	if (dkimverify_eom(v, out, n) < 0)
		rc = -1;
	dkimverify_free(v);
	return rc;
}

/* res_name - for diagnostics */
static const char *
res_name(enum auth_res r)
{
	static const char *const names[] = { "none", "pass", "fail", "softfail",
	    "neutral", "temperror", "permerror", "policy" };

	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* check1 - verify and expect exactly one outcome with result want */
static void __attribute__((format(printf, 4, 5)))
check1(struct dkimverify_lib *vl, const char *msg, enum auth_res want,
    const char *fmt, ...)
{
	struct dkim_outcome *o = NULL;
	size_t n = 0;
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (msg == NULL) {
		tap_ok(0, "%s (signing failed)", what);
		return;
	}
	verify(vl, msg, false, 4096, &o, &n, NULL);
	if (!tap_ok(n == 1 && o[0].result == want, "%s", what))
		tap_diag("  n=%zu result=%s reason=%s", n, n ? res_name(o[0].result) : "-",
		    n && o[0].reason ? o[0].reason : "-");
	dkim_outcomes_free(o, n);
}

/* ---------------------------------------------------------------------- */

static struct dkimverify_lib *lib_default, *lib_sha1, *lib_partial, *lib_max1,
    *lib_low, *lib_2048;

/* setup - keys, DNS records and the verifier handles */
static int
setup(void)
{
	const char *top = getenv("top_srcdir");
	struct dkimverify_policy pol;
	struct dns_options dopt;
	char path[1024], err[256], *name, *rec, *p;
	int i;

	if (top == NULL || *top == '\0')
		top = ".";
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/t/keys/%s.pem", top, selectors[i]);
		if ((key_pem[i] = slurp(path)) == NULL) {
			tap_diag("cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(path, sizeof path, "%s/t/keys/%s.txt", top, selectors[i]);
		if ((key_txt[i] = slurp(path)) == NULL) {
			tap_diag("cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		chomp(key_txt[i]);
	}

	memset(&dopt, 0, sizeof dopt);
	dopt.cache_entries = 256;
	dopt.max_ttl = 300;
	dopt.max_neg_ttl = 60;
	dns = dns_new_static(&dopt);
	for (i = 0; i < 4; i++) {
		name = xasprintf("%s._domainkey." DOM, selectors[i]);
		if (dns_static_add(dns, name, DNS_T_TXT, key_txt[i]) < 0) {
			tap_diag("dns_static_add %s failed", name);
			return -1;
		}
		free(name);
	}
	/* third party (RFC 6376 §3.5: d= needs no relation to From) */
	if (dns_static_add(dns, "tp._domainkey." TPDOM, DNS_T_TXT, key_txt[K2048]) < 0 ||
	    /* revoked key: empty p= (RFC 6376 §3.6.1) */
	    dns_static_add(dns, "revoked._domainkey." DOM, DNS_T_TXT, "v=DKIM1; k=rsa; p=") < 0 ||
	    dns_static_set_status(dns, "servfail._domainkey." DOM, DNS_T_TXT, DNS_TEMPFAIL) < 0 ||
	    dns_static_set_status(dns, "nodata._domainkey." DOM, DNS_T_TXT, DNS_OK) < 0) {
		tap_diag("static DNS setup failed");
		return -1;
	}
	/* a record that calls an RSA key ed25519 */
	p = strstr(key_txt[K2048], "p=");
	rec = xasprintf("v=DKIM1; k=ed25519; %s", p != NULL ? p : "");
	if (dns_static_add(dns, "mismatch._domainkey." DOM, DNS_T_TXT, rec) < 0)
		return -1;
	free(rec);
	/* two key records for one selector */
	if (dns_static_add(dns, "twokeys._domainkey." DOM, DNS_T_TXT, key_txt[K2048]) < 0 ||
	    dns_static_add(dns, "twokeys._domainkey." DOM, DNS_T_TXT, key_txt[K1024]) < 0)
		return -1;

	dkimverify_policy_init(&pol);
	if ((lib_default = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	pol.allow_sha1 = true;
	if ((lib_sha1 = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	dkimverify_policy_init(&pol);
	pol.body_length = DKIM_LTAG_REJECT_PARTIAL;
	if ((lib_partial = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	dkimverify_policy_init(&pol);
	pol.max_signatures = 1;
	if ((lib_max1 = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	dkimverify_policy_init(&pol);
	pol.min_key_bits = 512;		/* asks for less than RFC 8301 allows */
	if ((lib_low = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	dkimverify_policy_init(&pol);
	pol.min_key_bits = 2048;
	if ((lib_2048 = dkimverify_lib_new(dns, &pol, err, sizeof err)) == NULL)
		goto fail;
	/* defaults through a NULL policy */
	{
		struct dkimverify_lib *l = dkimverify_lib_new(dns, NULL, err, sizeof err);

		tap_ok(l != NULL, "dkimverify_lib_new with NULL policy");
		dkimverify_lib_free(l);
	}
	tap_ok(dkimverify_lib_new(NULL, NULL, err, sizeof err) == NULL && err[0] != '\0',
	    "dkimverify_lib_new without DNS fails with a message");
	return 0;
fail:
	tap_diag("dkimverify_lib_new: %s", err);
	return -1;
}

/* ---------------------------------------------------------------------- */

/* test_pass_fields - a plain pass and every field of the outcome */
static void
test_pass_fields(void)
{
	char *m = sign(base_msg, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, false, NULL, "alice@example.com");
	struct dkim_outcome *o = NULL;
	size_t n = 0;
	bool hassig = false;

	tap_ok(m != NULL, "signing rsa-sha256 works");
	tap_ok(verify(lib_default, m, false, 4096, &o, &n, &hassig) == 0,
	    "RFC 6376 §6: verification runs without error");
	tap_ok(hassig, "has_signatures is true after eoh for a signed message");
	tap_is_int(n, 1, "one outcome per signature");
	if (n == 1) {
		tap_is_str(res_name(o[0].result), "pass", "RFC 6376 §6.1: rsa-sha256 relaxed/relaxed passes");
		tap_is_str(o[0].domain, DOM, "domain is d=");
		tap_is_str(o[0].selector, "rsa2048", "selector is s=");
		tap_is_str(o[0].algorithm, "rsa-sha256", "algorithm is a=");
		tap_is_str(o[0].identity, "alice@example.com", "identity is i= (RFC 6376 §3.5)");
		tap_is_int(o[0].key_bits, 2048, "key_bits is the RSA key size");
		tap_ok(o[0].reason == NULL, "no reason for a pass");
		tap_ok(o[0].b != NULL && strlen(o[0].b) >= DKIMVERIFY_B_MIN &&
		    strstr(m, o[0].b) != NULL,
		    "RFC 8601 §2.7.1: header.b is a prefix of b= of at least %d characters",
		    DKIMVERIFY_B_MIN);
	}
	dkim_outcomes_free(o, n);
	free(m);
}

/* test_algorithms - canonicalizations, key types and RFC 8301 policy */
static void
test_algorithms(void)
{
	struct dkim_outcome *o = NULL;
	size_t n = 0;
	char *m;

	m = sign(base_msg, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE, false, NULL, NULL);
	check1(lib_default, m, AUTH_PASS, "RFC 6376 §3.4.1/§3.4.3: rsa-sha256 simple/simple passes");
	free(m);
	m = sign(base_msg, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, false, NULL, NULL);
	check1(lib_default, m, AUTH_PASS, "RFC 6376 §3.4: relaxed/simple passes");
	free(m);

	m = sign_std(base_msg, "ed25519", KED, DKIM_SIGN_ED25519SHA256);
	check1(lib_default, m, AUTH_PASS, "RFC 8463 §3: ed25519-sha256 passes");
	if (m != NULL && verify(lib_default, m, false, 4096, &o, &n, NULL) == 0 && n == 1) {
		tap_is_str(o[0].algorithm, "ed25519-sha256", "RFC 8463: algorithm ed25519-sha256");
		tap_is_int(o[0].key_bits, 0, "ed25519: key_bits 0");
	}
	dkim_outcomes_free(o, n);
	o = NULL;
	n = 0;
	free(m);

	m = sign_std(base_msg, "rsa1024", K1024, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PASS, "RFC 8301 §3.2: a 1024-bit RSA key passes");
	check1(lib_2048, m, AUTH_POLICY, "min_key_bits 2048: a 1024-bit key is policy");
	free(m);

	m = sign_std(base_msg, "rsa512", K512, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_POLICY, "RFC 8301 §3.2: a 512-bit RSA key is policy, never pass");
	check1(lib_low, m, AUTH_POLICY, "RFC 8301 §3.2: min_key_bits 512 still refuses 512 bits");
	if (m != NULL && verify(lib_default, m, false, 4096, &o, &n, NULL) == 0 && n == 1) {
		tap_is_int(o[0].key_bits, 512, "short key: key_bits reported");
		tap_ok(o[0].reason != NULL && strstr(o[0].reason, "512") != NULL,
		    "short key: the reason names the size");
	}
	dkim_outcomes_free(o, n);
	o = NULL;
	n = 0;
	free(m);

	m = sign_std(base_msg, "rsa2048", K2048, DKIM_SIGN_RSASHA1);
	check1(lib_default, m, AUTH_POLICY, "RFC 8301 §3.1: rsa-sha1 is policy by default");
	check1(lib_sha1, m, AUTH_PASS, "allow_sha1: rsa-sha1 passes");
	free(m);

	/* k= says ed25519 but the key and a= are RSA */
	m = sign_std(base_msg, "mismatch", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PERMERROR, "RFC 6376 §6.1.2: k= not matching a= is permerror");
	free(m);
}

/* test_failures - tampering and key lookup errors */
static void
test_failures(void)
{
	char *m, *t, *p;

	m = sign_std(base_msg, "rsa2048", K2048, DKIM_SIGN_RSASHA256);
	t = replace(m, "here are the", "here were the");
	check1(lib_default, t, AUTH_FAIL, "RFC 6376 §6.1.3: body changed is fail (body hash)");
	free(t);
	t = replace(m, "Subject: quarterly", "Subject: Quarterly");
	check1(lib_default, t, AUTH_FAIL, "RFC 6376 §6.1.3: signed header changed is fail");
	free(t);
	/* an unsigned header added: still a pass */
	t = replace(m, "Message-ID:", "X-Mailer: test\nMessage-ID:");
	check1(lib_default, t, AUTH_PASS, "RFC 6376 §5.4: an unsigned field added still passes");
	free(t);
	/* h= without From */
	t = replace(m, "h=From:To:", "h=To:");
	if (t == NULL)
		t = replace(m, "h=from:to:", "h=to:");
	check1(lib_default, t, AUTH_PERMERROR, "RFC 6376 §5.4: h= without From is permerror");
	free(t);
	/* b= changed (the signer folds b= onto a line of its own) */
	t = m != NULL ? xstrdup(m) : NULL;
	if (t != NULL && (p = strstr(t, "\tb=")) != NULL)
		p[3] = p[3] == 'A' ? 'B' : 'A';
	check1(lib_default, t, AUTH_FAIL, "RFC 6376 §6.1.3: a changed b= is fail");
	free(t);
	free(m);

	m = sign_std(base_msg, "missing", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PERMERROR, "RFC 6376 §6.1.2: NXDOMAIN key is permerror");
	free(m);
	m = sign_std(base_msg, "nodata", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PERMERROR, "RFC 6376 §6.1.2: key name without TXT is permerror");
	free(m);
	m = sign_std(base_msg, "servfail", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_TEMPERROR, "RFC 6376 §6.1.2: SERVFAIL on the key is temperror");
	free(m);
	m = sign_std(base_msg, "revoked", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PERMERROR, "RFC 6376 §3.6.1: revoked key (empty p=) is permerror");
	free(m);
	m = sign_std(base_msg, "twokeys", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_PERMERROR, "RFC 6376 §3.6.2.2: two key records is permerror");
	free(m);
	/* wrong key for the selector */
	m = sign_std(base_msg, "rsa1024", K2048, DKIM_SIGN_RSASHA256);
	check1(lib_default, m, AUTH_FAIL, "RFC 6376 §6.1.3: signed with another key is fail");
	free(m);
	/* a d= our DNS layer refuses to ask: no key, not a temporary error */
	m = sign(base_msg, "bad..example.com", "x", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, false, NULL, NULL);
	if (m == NULL)
		m = xasprintf("DKIM-Signature: v=1; a=rsa-sha256; d=bad..example.com; s=x;\n"
		    "\th=from; bh=AAAA; b=AAAA\n%s", base_msg);
	check1(lib_default, m, AUTH_PERMERROR, "hostile d= the DNS layer refuses is permerror, not temperror");
	free(m);
}

/* test_multi - several signatures, third party, unsigned */
static void
test_multi(void)
{
	struct dkim_outcome *o = NULL;
	size_t n = 99;
	bool hassig = true;
	char *inner, *outer, *m;

	/* inner signature made with the wrong key (fails), outer good */
	inner = sign_std(base_msg, "rsa1024", K2048, DKIM_SIGN_RSASHA256);
	outer = inner != NULL ? sign_std(inner, "ed25519", KED, DKIM_SIGN_ED25519SHA256) : NULL;
	tap_ok(outer != NULL, "double signing works");
	if (outer != NULL && verify(lib_default, outer, false, 100, &o, &n, NULL) == 0 && n == 2) {
		tap_ok(1, "RFC 6376 §4: two signatures give two outcomes");
		tap_ok(o[0].result == AUTH_PASS && strcmp(o[0].selector, "ed25519") == 0,
		    "first outcome is the top signature (pass)");
		tap_ok(o[1].result == AUTH_FAIL && strcmp(o[1].selector, "rsa1024") == 0,
		    "second outcome is the lower signature (fail)");
		tap_ok(o[0].b != NULL && o[1].b != NULL && strcmp(o[0].b, o[1].b) != 0,
		    "RFC 8601 §2.7.1: header.b tells the signatures apart");
	} else
		tap_ok(0, "RFC 6376 §4: two signatures give two outcomes (n=%zu)", n);
	dkim_outcomes_free(o, n);
	o = NULL;

	/* max_signatures 1: the second is not evaluated */
	n = 0;
	if (outer != NULL && verify(lib_max1, outer, false, 100, &o, &n, NULL) == 0 && n == 2)
		tap_ok(o[0].result == AUTH_PASS && o[1].result == AUTH_POLICY &&
		    o[1].reason != NULL && strstr(o[1].reason, "not evaluated") != NULL,
		    "RFC 6376 §6.1: signatures past max_signatures are reported not evaluated");
	else
		tap_ok(0, "RFC 6376 §6.1: max_signatures (n=%zu)", n);
	dkim_outcomes_free(o, n);
	o = NULL;
	free(inner);
	free(outer);

	m = sign(base_msg, TPDOM, "tp", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, false, NULL, NULL);
	n = 0;
	if (m != NULL && verify(lib_default, m, false, 4096, &o, &n, NULL) == 0 && n == 1)
		tap_ok(o[0].result == AUTH_PASS && strcmp(o[0].domain, TPDOM) == 0,
		    "RFC 6376 §3.5: third-party signature passes with its own d=");
	else
		tap_ok(0, "RFC 6376 §3.5: third-party signature");
	dkim_outcomes_free(o, n);
	o = NULL;
	free(m);

	n = 99;
	tap_ok(verify(lib_default, base_msg, false, 4096, &o, &n, &hassig) == 0 &&
	    n == 0 && o == NULL, "RFC 6376 §6.1: unsigned message gives no outcome");
	tap_ok(!hassig, "has_signatures is false for an unsigned message");
}

/* test_length - l= (RFC 6376 §3.5, §8.2) */
static void
test_length(void)
{
	static const char trailing[] =
	    "From: alice@example.com\n"
	    "Subject: trailing space\n"
	    "\n"
	    "line   with  spaces   \n"
	    "\n"
	    "last line\t\n"
	    "\n"
	    "   \n"
	    "\n";
	char *m, *t;
	int c;

	m = sign(base_msg, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, true, NULL, NULL);
	tap_ok(m != NULL && strstr(m, "l=") != NULL, "signing with l= works");
	check1(lib_partial, m, AUTH_PASS, "RFC 6376 §3.5: l= covering the whole body passes (reject_partial)");
	t = m != NULL ? xasprintf("%sBuy now!\n", m) : NULL;
	check1(lib_default, t, AUTH_PASS, "l= with content appended passes when l= is allowed");
	check1(lib_partial, t, AUTH_POLICY, "RFC 6376 §8.2: l= with content appended is policy (reject_partial)");
	free(t);
	free(m);

	/* a bare CR: libopendkim's count is its own, so l= is judged fail-safe */
	m = sign("From: alice@example.com\nSubject: cr\n\nodd\rline\n", DOM, "rsa2048",
	    K2048, DKIM_SIGN_RSASHA256, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, true, NULL, NULL);
	check1(lib_default, m, AUTH_PASS, "l= over a body with a bare CR passes when l= is allowed");
	check1(lib_partial, m, AUTH_POLICY, "RFC 6376 §8.2: l= over a body with a bare CR is "
	    "policy (reject_partial, fail-safe)");
	free(m);

	/* the canonical length must follow trailing blank lines and WSP */
	for (c = 0; c < 2; c++) {
		dkim_canon_t bc = c == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;

		m = sign(trailing, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
		    DKIM_CANON_RELAXED, bc, true, NULL, NULL);
		check1(lib_partial, m, AUTH_PASS, "RFC 6376 §3.4.%d: l= of a body with trailing "
		    "blank lines and WSP is whole (%s)", c == 0 ? 3 : 4, c == 0 ? "simple" : "relaxed");
		t = m != NULL ? xasprintf("%sx\n", m) : NULL;
		check1(lib_partial, t, AUTH_POLICY, "RFC 6376 §8.2: one more character after l= is "
		    "policy (%s)", c == 0 ? "simple" : "relaxed");
		free(t);
		/* only more empty lines: canonicalization drops them, still whole */
		t = m != NULL ? xasprintf("%s\n\n", m) : NULL;
		check1(lib_partial, t, AUTH_PASS, "RFC 6376 §3.4: extra trailing empty lines "
		    "after l= are not content (%s)", c == 0 ? "simple" : "relaxed");
		free(t);
		free(m);
	}
}

/* test_headers - milter-style header bytes (LEADSPC, folding) */
static void
test_headers(void)
{
	static const char folded[] =
	    "From: Alice <alice@example.com>\n"
	    "To: Bob <bob@example.net>,\n"
	    "  Carol <carol@example.net>\n"
	    "Subject: a subject long enough\n"
	    "\tto be folded over\n"
	    "   three lines\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
	    "\n"
	    "body\n";
	struct dkim_outcome *o = NULL;
	size_t n = 0;
	int c, l;
	char *m, *crlf;

	for (c = 0; c < 2; c++) {
		dkim_canon_t hc = c == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;

		m = sign(folded, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256, hc,
		    DKIM_CANON_SIMPLE, false, NULL, NULL);
		for (l = 0; l < 2; l++) {
			n = 0;
			o = NULL;
			if (m != NULL)
				verify(lib_default, m, l == 1, 3, &o, &n, NULL);
			if (!tap_ok(n == 1 && o[0].result == AUTH_PASS,
			    "RFC 6376 §3.4.%d: folded fields (bare LF from the milter) pass, "
			    "leadspc %s", c == 0 ? 1 : 2, l ? "true" : "false"))
				tap_diag("  n=%zu %s", n, n && o[0].reason ? o[0].reason : "");
			dkim_outcomes_free(o, n);
		}
		free(m);
	}

	/* dkimsign keeps the input's line ends */
	m = sign(base_msg, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, false, NULL, NULL);
	tap_ok(m != NULL && strchr(m, '\r') == NULL, "dkimsign: LF in, LF out");
	free(m);
	crlf = xmalloc(2 * sizeof base_msg);
	for (c = 0, l = 0; base_msg[c] != '\0'; c++) {
		if (base_msg[c] == '\n')
			crlf[l++] = '\r';
		crlf[l++] = base_msg[c];
	}
	crlf[l] = '\0';
	m = sign(crlf, DOM, "rsa2048", K2048, DKIM_SIGN_RSASHA256,
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, false, NULL, NULL);
	{
		bool ok = m != NULL;
		size_t i;

		for (i = 0; ok && m[i] != '\0'; i++)
			if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
				ok = false;
		tap_ok(ok, "dkimsign: CRLF in, CRLF out");
		if (ok) {
			/* same message as LF: the verifier sees the same bytes */
			char *lf = xstrdup(m), *p, *q;

			for (p = q = lf; *p != '\0'; p++)
				if (*p != '\r')
					*q++ = *p;
			*q = '\0';
			check1(lib_default, lf, AUTH_PASS, "dkimsign: a CRLF-signed message verifies");
			free(lf);
		}
	}
	free(m);
	free(crlf);
}

/* test_garbage - hostile DKIM-Signature fields (RFC 6376 §3.5 syntax) */
static void
test_garbage(void)
{
	static const char *const junk[] = {
		"",
		";;;;;;",
		"v=1",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=; b=",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=:; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; l=-1",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; l=99999999999999999999999",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; t=x; x=-5",
		"v=1; a=hmac-md5; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA",
		"v=2; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; c=weird/odd",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; q=ldap",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; i=@other.example",
		"v=1; a=rsa-sha256; d=; s=; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=\xff\xfe; s=\x01; h=from; bh=AAAA; b=AAAA",
		"=====",
		"v=1; a=ed25519-sha256; d=example.com; s=ed25519; h=from; bh=AAAA; b=====",
		"v=1; a=rsa-sha256; d=example.com; s=../../etc; h=from; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=AAAA; z=%%%%",
	};
	struct buf big = BUF_INIT;
	struct dkim_outcome *o = NULL;
	size_t n = 0, i, nj = sizeof junk / sizeof junk[0];
	char *good, *m;
	bool allbad = true, tailpolicy = true;
	int k;

	/* a huge tag value too */
	buf_puts(&big, "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; bh=AAAA; b=");
	for (k = 0; k < 20000; k++)
		buf_puts(&big, "AAAA");
	buf_putc(&big, '\n');
	for (k = 0; k < 49; k++) {
		if (k == 10) {
			buf_puts(&big, "DKIM-Signature:");
			for (i = 0; i < 500; i++)
				buf_printf(&big, " t%zu=v;", i);
			buf_putc(&big, '\n');
			continue;
		}
		buf_printf(&big, "DKIM-Signature: %s\n", junk[(size_t)k % nj]);
	}
	buf_puts(&big, base_msg);
	good = sign_std(buf_str(&big), "rsa2048", K2048, DKIM_SIGN_RSASHA256);
	m = good != NULL ? good : xstrdup(buf_str(&big));
	verify(lib_default, m, false, 4096, &o, &n, NULL);
	tap_is_int(n, DKIMVERIFY_DEFAULT_MAX_SIGS + DKIMVERIFY_MAX_UNEVALUATED,
	    "RFC 6376 §6.1: 51 DKIM-Signature fields are capped at %d outcomes",
	    DKIMVERIFY_DEFAULT_MAX_SIGS + DKIMVERIFY_MAX_UNEVALUATED);
	tap_ok(good != NULL && n > 0 && o[0].result == AUTH_PASS,
	    "the one good signature among the garbage passes");
	for (i = 1; i < n; i++) {
		if (o[i].result == AUTH_PASS)
			allbad = false;
		if (i >= DKIMVERIFY_DEFAULT_MAX_SIGS && o[i].result != AUTH_POLICY)
			tailpolicy = false;
		if (o[i].result != AUTH_POLICY && o[i].result != AUTH_PERMERROR &&
		    o[i].result != AUTH_FAIL)
			allbad = false;
	}
	tap_ok(n > 1 && allbad, "RFC 6376 §3.5: every garbage signature is permerror, fail or policy");
	tap_ok(n > DKIMVERIFY_DEFAULT_MAX_SIGS && tailpolicy,
	    "signatures past max_signatures are policy (not evaluated)");
	for (i = 0; i < n; i++)
		if (o[i].domain != NULL && strchr(o[i].domain, '\xff') != NULL)
			break;
	tap_ok(i == n, "outcome strings hold no 8-bit bytes");
	dkim_outcomes_free(o, n);
	free(m);
	buf_free(&big);

	/* a lone garbage field: permerror, and has_signatures */
	{
		bool hassig = false;

		m = xasprintf("DKIM-Signature: %s\n%s", junk[3], base_msg);
		o = NULL;
		n = 0;
		verify(lib_default, m, false, 4096, &o, &n, &hassig);
		tap_ok(hassig && n == 1 && o[0].result == AUTH_PERMERROR && o[0].reason != NULL,
		    "RFC 6376 §3.5: empty b= is permerror with a reason");
		dkim_outcomes_free(o, n);
		free(m);
	}
}

/* test_api - misuse does not crash */
static void
test_api(void)
{
	struct dkimverify *v = dkimverify_new(lib_default, NULL);
	struct dkim_outcome *o = NULL;
	size_t n = 5;

	tap_ok(dkimverify_eom(v, &o, &n) == 0 && n == 0, "eom with no header at all: no outcome");
	tap_ok(dkimverify_eom(v, &o, &n) == -1 && n == 0 && o == NULL, "second eom is refused");
	dkimverify_free(v);

	/* a field too long to pass whole: every signature is not evaluated */
	{
		struct buf b = BUF_INIT;
		char *m, *eoh;
		size_t i;
		bool hassig = false;

		m = sign_std(base_msg, "rsa2048", K2048, DKIM_SIGN_RSASHA256);
		eoh = m != NULL ? strstr(m, "\n\n") : NULL;
		o = NULL;
		n = 0;
		if (eoh != NULL) {
			/* the signed header, a 300 KB field, then the body */
			buf_append(&b, m, (size_t)(eoh - m) + 1);
			buf_puts(&b, "X-Long: ");
			for (i = 0; i < 300 * 1024 / 8; i++)
				buf_puts(&b, "abcdefg ");
			buf_puts(&b, eoh);
			tap_ok(verify(lib_default, buf_str(&b), false, 4096, &o, &n, &hassig) == -1,
			    "a header field over the size cap makes the handle fail");
			tap_ok(hassig && n == 1 && o[0].result == AUTH_PERMERROR &&
			    o[0].reason != NULL && strstr(o[0].reason, "too long") != NULL,
			    "... and each signature is permerror, not evaluated");
			dkim_outcomes_free(o, n);
		} else
			tap_ok(0, "long field message");
		free(m);
		buf_free(&b);
	}

	dkimverify_free(NULL);
	dkim_outcomes_free(NULL, 0);
	dkimverify_lib_free(NULL);
	tap_ok(1, "free functions accept NULL");
}

/* ---------------------------------------------------------------------- */

#define NTHREADS	8
#define NITER		100

static char *thread_msgs[2];

struct thread_arg {
	int	 id;
	int	 failures;
};

/* worker - verify the same messages over and over on the shared handle */
static void *
worker(void *p)
{
	struct thread_arg *ta = p;
	struct dkim_outcome *o;
	size_t n;
	int i;

	for (i = 0; i < NITER; i++) {
		o = NULL;
		n = 0;
		if (verify(lib_default, thread_msgs[(i + ta->id) % 2], false, 512, &o, &n, NULL) != 0 ||
		    n != 1 || o[0].result != AUTH_PASS)
			ta->failures++;
		dkim_outcomes_free(o, n);
	}
	return NULL;
}

/* test_threads - LIBRARIES §2.2: one library handle shared by threads */
static void
test_threads(void)
{
	pthread_t th[NTHREADS];
	struct thread_arg ta[NTHREADS];
	struct dns_stats st;
	int i, failures = 0, started = 0;

	thread_msgs[0] = sign_std(base_msg, "rsa2048", K2048, DKIM_SIGN_RSASHA256);
	thread_msgs[1] = sign_std(base_msg, "ed25519", KED, DKIM_SIGN_ED25519SHA256);
	if (thread_msgs[0] == NULL || thread_msgs[1] == NULL) {
		tap_ok(0, "threads: signing failed");
		return;
	}
	for (i = 0; i < NTHREADS; i++) {
		ta[i].id = i;
		ta[i].failures = 0;
		if (pthread_create(&th[i], NULL, worker, &ta[i]) == 0)
			started++;
		else
			break;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failures += ta[i].failures;
	}
	tap_is_int(started, NTHREADS, "threads: %d started", NTHREADS);
	tap_is_int(failures, 0, "threads: %d x %d concurrent verifications all pass",
	    NTHREADS, NITER);
	dns_get_stats(dns, &st);
	tap_ok(st.queries >= NTHREADS * NITER, "threads: every key lookup went through our DNS layer "
	    "(%lu queries, %lu cache hits)", st.queries, st.cache_hits);
	free(thread_msgs[0]);
	free(thread_msgs[1]);
}

/*
 * test_keycache - keycache.c stands in for OpenSSL's d2i_PUBKEY_bio in
 * this program as in the milter (every test above ran with it).  The same
 * key is decoded once and then found; another key is another entry.
 */
static void
test_keycache(void)
{
	unsigned long h0, m0, h1, m1;
	char *m_rsa, *m_rsa1024;
	int i;

	m_rsa = sign_std(base_msg, "rsa2048", K2048, DKIM_SIGN_RSASHA256);
	m_rsa1024 = sign_std(base_msg, "rsa1024", K1024, DKIM_SIGN_RSASHA256);
	keycache_flush();
	keycache_stats(&h0, &m0);
	for (i = 0; i < 3; i++)
		check1(lib_default, m_rsa, AUTH_PASS, "key cache: rsa2048 verification %d passes", i + 1);
	keycache_stats(&h1, &m1);
	tap_is_int((int)(m1 - m0), 1, "key cache: the rsa2048 key was decoded once");
	tap_is_int((int)(h1 - h0), 2, "key cache: and found twice");
	check1(lib_default, m_rsa1024, AUTH_PASS, "key cache: rsa1024 verification passes");
	keycache_stats(&h0, &m0);
	tap_is_int((int)(m0 - m1), 1, "key cache: another key is another entry");
	/* a tampered message still fails with the cached key */
	{
		char *bad = replace(m_rsa, "Hello", "Jello");

		check1(lib_default, bad, AUTH_FAIL, "key cache: a changed body fails with the cached key");
		free(bad);
	}
	keycache_flush();
	free(m_rsa);
	free(m_rsa1024);
}

int
main(void)
{
	int i;

	log_init("test_dkimverify");
	if (setup() < 0) {
		tap_ok(0, "setup");
		return tap_done();
	}
	test_pass_fields();
	test_algorithms();
	test_failures();
	test_multi();
	test_length();
	test_headers();
	test_garbage();
	test_api();
	test_threads();
	test_keycache();

	dkimverify_lib_free(lib_default);
	dkimverify_lib_free(lib_sha1);
	dkimverify_lib_free(lib_partial);
	dkimverify_lib_free(lib_max1);
	dkimverify_lib_free(lib_low);
	dkimverify_lib_free(lib_2048);
	dns_free(dns);
	for (i = 0; i < 4; i++) {
		free(key_pem[i]);
		free(key_txt[i]);
	}
	return tap_done();
}
