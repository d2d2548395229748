/*
 * dkimsign.c - sign a message with DKIM for the tests (libopendkim's
 * signing API).  TEST TOOL ONLY: it will happily sign with 512-bit keys
 * and rsa-sha1 so that the verifier's refusals can be tested.
 *
 *   dkimsign -d DOMAIN -s SELECTOR -k KEYFILE [-a rsa-sha256|rsa-sha1|ed25519-sha256]
 *            [-c relaxed/relaxed] [-h from:to:subject] [-i IDENTITY] [-l]
 *            [-t UNIXTIME] < message > signed
 *
 * The message is copied unchanged with the DKIM-Signature field put in
 * front of it.  Line ends follow the input: CRLF in, CRLF out; LF in, LF
 * out (the signature is computed over the CRLF form either way, as the
 * message will travel over SMTP, RFC 5321 §2.3.8).
 *
 * t/test_dkimverify.c includes this file with DKIMSIGN_NO_MAIN defined
 * to call dkimsign_sign() directly.
 */
#include "autoconf.h"

#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>

struct dkimsign_opts {
	const char	*domain;
	const char	*selector;
	const char	*key;		/* the private key, PEM text */
	dkim_alg_t	 alg;		/* DKIM_SIGN_RSASHA256, ... */
	dkim_canon_t	 hcanon;
	dkim_canon_t	 bcanon;
	const char	*headers;	/* "from:to:subject"; NULL = the library's RFC 6376 §5.4.1 list */
	const char	*identity;	/* i=, NULL for none */
	bool		 length;	/* add l= (the whole body) */
	unsigned long	 fixed_time;	/* t=, 0 = now */
};

/* dkimsign_grow - append to a malloc'd buffer */
static int
dkimsign_grow(char **b, size_t *len, size_t *size, const char *p, size_t n)
{
	char *nb;
	size_t ns;

	if (*len + n + 1 > *size) {
		ns = (*size ? *size : 1024);
		while (ns < *len + n + 1)
			ns *= 2;
		nb = realloc(*b, ns);
		if (nb == NULL)
			return -1;
		*b = nb;
		*size = ns;
	}
	memcpy(*b + *len, p, n);
	*len += n;
	(*b)[*len] = '\0';
	return 0;
}

/* dkimsign_crlf - the message with every bare LF made CRLF */
static char *
dkimsign_crlf(const char *msg, size_t len, size_t *outlen)
{
	char *o = NULL;
	size_t ol = 0, os = 0, i;

	if (dkimsign_grow(&o, &ol, &os, "", 0) < 0)
		return NULL;
	for (i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			if (dkimsign_grow(&o, &ol, &os, "\r", 1) < 0)
				goto fail;
		if (dkimsign_grow(&o, &ol, &os, &msg[i], 1) < 0)
			goto fail;
	}
	*outlen = ol;
	return o;
fail:
	free(o);
	return NULL;
}

/* dkimsign_split_headers - NULL-terminated array from "a:b:c" */
static char **
dkimsign_split_headers(const char *list, char **store)
{
	char **v, *p, *save = NULL, *tok;
	size_t n = 2;

	for (p = (char *)list; *p != '\0'; p++)
		if (*p == ':')
			n++;
	*store = strdup(list);
	v = calloc(n, sizeof *v);
	if (*store == NULL || v == NULL) {
		free(*store);
		free(v);
		return NULL;
	}
	n = 0;
	for (tok = strtok_r(*store, ":", &save); tok != NULL; tok = strtok_r(NULL, ":", &save))
		v[n++] = tok;
	v[n] = NULL;
	return v;
}

/*
 * dkimsign_sign - sign msg (len bytes) and return the signed message in
 * *out (malloc'd, NUL-terminated).  Returns 0, or -1 with err filled.
 */
static int
dkimsign_sign(const struct dkimsign_opts *so, const char *msg, size_t len,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	DKIM_LIB *lib = NULL;
	DKIM *dkim = NULL;
	DKIM_STAT st;
	char *c = NULL, *hstore = NULL, **hv = NULL, *o = NULL;
	size_t clen = 0, i, start, ol = 0, os = 0, body;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	unsigned int bits = 1;
	uint32_t flags = 0;
	uint64_t fixed;
	bool crlf;
	int ret = -1;

	*out = NULL;
	*outlen = 0;
	/* CRLF in the input?  Look at the first line end. */
	crlf = false;
	for (i = 0; i < len; i++)
		if (msg[i] == '\n') {
			crlf = i > 0 && msg[i - 1] == '\r';
			break;
		}

	lib = dkim_init(NULL, NULL);
	if (lib == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		goto done;
	}
	/* a test tool: allow any key size, so short keys can be tested */
	(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof bits);
	if (so->length)
		flags |= DKIM_LIBFLAGS_SIGNLEN;
	(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
	if (so->fixed_time != 0) {
		fixed = so->fixed_time;
		(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &fixed, sizeof fixed);
	}
	if (so->headers != NULL) {
		hv = dkimsign_split_headers(so->headers, &hstore);
		if (hv == NULL) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    hv != NULL ? (void *)hv : (void *)dkim_should_signhdrs, sizeof(char **)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "bad header list");
		goto done;
	}

	dkim = dkim_sign(lib, (const unsigned char *)"dkimsign", NULL,
	    (dkim_sigkey_t)so->key, (const unsigned char *)so->selector,
	    (const unsigned char *)so->domain, so->hcanon, so->bcanon, so->alg, -1, &st);
	if (dkim == NULL) {
		snprintf(err, errlen, "dkim_sign: %s", dkim_getresultstr(st));
		goto done;
	}
	if (so->identity != NULL &&
	    dkim_set_signer(dkim, (const unsigned char *)so->identity) != DKIM_STAT_OK) {
		snprintf(err, errlen, "bad identity");
		goto done;
	}

	c = dkimsign_crlf(msg, len, &clen);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* header fields: up to the first empty line; a line starting with
	 * WSP continues the field before it (RFC 5322 §2.2.3) */
	start = 0;
	body = clen;
	for (i = 0; i + 1 < clen; ) {
		if (c[i] == '\r' && c[i + 1] == '\n') {
			if (i == start) {		/* the empty line */
				body = i + 2;
				break;
			}
			if (i + 2 < clen && (c[i + 2] == ' ' || c[i + 2] == '\t')) {
				i += 2;
				continue;
			}
			/* SYNTAX: a malformed DKIM-Signature among the fields
			 * (kept and signed like any other) or an unusable field
			 * name (left out); the tests need both */
			st = dkim_header(dkim, (u_char *)c + start, i - start);
			if (st != DKIM_STAT_OK && st != DKIM_STAT_SYNTAX) {
				snprintf(err, errlen, "dkim_header: %s", dkim_getresultstr(st));
				goto done;
			}
			start = i + 2;
			i += 2;
			continue;
		}
		i++;
	}
	if (body == clen && start < clen) {
		snprintf(err, errlen, "message has no empty line after the header");
		goto done;
	}
	if ((st = dkim_eoh(dkim)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_eoh: %s (%s)", dkim_getresultstr(st),
		    dkim_geterror(dkim) ? dkim_geterror(dkim) : "");
		goto done;
	}
	if (body < clen && (st = dkim_body(dkim, (u_char *)c + body, clen - body)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_body: %s", dkim_getresultstr(st));
		goto done;
	}
	if ((st = dkim_eom(dkim, NULL)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_eom: %s (%s)", dkim_getresultstr(st),
		    dkim_geterror(dkim) ? dkim_geterror(dkim) : "");
		goto done;
	}
	st = dkim_getsighdr_d(dkim, sizeof DKIM_SIGNHEADER + 1, &sig, &siglen);
	if (st != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_getsighdr: %s", dkim_getresultstr(st));
		goto done;
	}

	if (dkimsign_grow(&o, &ol, &os, DKIM_SIGNHEADER ": ", sizeof DKIM_SIGNHEADER + 1) < 0)
		goto oom;
	for (i = 0; i < siglen; i++) {
		/* the library folds with CRLF; follow the input */
		if (!crlf && sig[i] == '\r' && i + 1 < siglen && sig[i + 1] == '\n')
			continue;
		if (dkimsign_grow(&o, &ol, &os, (const char *)&sig[i], 1) < 0)
			goto oom;
	}
	if (dkimsign_grow(&o, &ol, &os, crlf ? "\r\n" : "\n", crlf ? 2 : 1) < 0 ||
	    dkimsign_grow(&o, &ol, &os, msg, len) < 0)
		goto oom;
	*out = o;
	*outlen = ol;
	o = NULL;
	ret = 0;
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	free(o);
	free(c);
	free(hv);
	free(hstore);
	if (dkim != NULL)
		(void)dkim_free(dkim);
	if (lib != NULL)
		dkim_close(lib);
	return ret;
}

/* dkimsign_read - read a whole stream into a malloc'd buffer */
static char *
dkimsign_read(FILE *f, size_t *len)
{
	char *b = NULL, chunk[8192];
	size_t l = 0, s = 0, n;

	if (dkimsign_grow(&b, &l, &s, "", 0) < 0)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (dkimsign_grow(&b, &l, &s, chunk, n) < 0) {
			free(b);
			return NULL;
		}
	if (ferror(f)) {
		free(b);
		return NULL;
	}
	*len = l;
	return b;
}

#ifndef DKIMSIGN_NO_MAIN
/* usage - say how to call us and exit */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dkimsign -d domain -s selector -k keyfile "
	    "[-a rsa-sha256|rsa-sha1|ed25519-sha256] [-c hdr/body] [-h h1:h2:...] "
	    "[-i identity] [-l] [-t unixtime] < message > signed\n");
	exit(2);
}

/* canon_parse - "relaxed" or "simple" */
static int
canon_parse(const char *s, size_t n, dkim_canon_t *c)
{
	if (n == 6 && strncmp(s, "simple", 6) == 0)
		*c = DKIM_CANON_SIMPLE;
	else if (n == 7 && strncmp(s, "relaxed", 7) == 0)
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct dkimsign_opts so;
	const char *keyfile = NULL, *slash;
	char *key, *msg, *out, err[256];
	size_t keylen, msglen, outlen;
	FILE *kf;
	int ch;

	memset(&so, 0, sizeof so);
	so.alg = DKIM_SIGN_RSASHA256;
	so.hcanon = DKIM_CANON_RELAXED;
	so.bcanon = DKIM_CANON_RELAXED;
	while ((ch = getopt(argc, argv, "a:c:d:h:i:k:ls:t:")) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "rsa-sha256") == 0)
				so.alg = DKIM_SIGN_RSASHA256;
			else if (strcmp(optarg, "rsa-sha1") == 0)
				so.alg = DKIM_SIGN_RSASHA1;
			else if (strcmp(optarg, "ed25519-sha256") == 0)
				so.alg = DKIM_SIGN_ED25519SHA256;
			else
				usage();
			break;
		case 'c':
			slash = strchr(optarg, '/');
			if (slash == NULL) {
				if (canon_parse(optarg, strlen(optarg), &so.hcanon) < 0)
					usage();
				so.bcanon = DKIM_CANON_SIMPLE;	/* RFC 6376 §3.5 c= default */
			} else if (canon_parse(optarg, (size_t)(slash - optarg), &so.hcanon) < 0 ||
			    canon_parse(slash + 1, strlen(slash + 1), &so.bcanon) < 0)
				usage();
			break;
		case 'd':
			so.domain = optarg;
			break;
		case 'h':
			so.headers = optarg;
			break;
		case 'i':
			so.identity = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'l':
			so.length = true;
			break;
		case 's':
			so.selector = optarg;
			break;
		case 't':
			so.fixed_time = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (so.domain == NULL || so.selector == NULL || keyfile == NULL || optind != argc)
		usage();

	if ((kf = fopen(keyfile, "r")) == NULL) {
		fprintf(stderr, "dkimsign: %s: %s\n", keyfile, strerror(errno));
		return 1;
	}
	key = dkimsign_read(kf, &keylen);
	fclose(kf);
	if (key == NULL) {
		fprintf(stderr, "dkimsign: cannot read %s\n", keyfile);
		return 1;
	}
	so.key = key;
	if ((msg = dkimsign_read(stdin, &msglen)) == NULL) {
		fprintf(stderr, "dkimsign: cannot read the message\n");
		free(key);
		return 1;
	}
	if (dkimsign_sign(&so, msg, msglen, &out, &outlen, err, sizeof err) < 0) {
		fprintf(stderr, "dkimsign: %s\n", err);
		free(msg);
		free(key);
		return 1;
	}
	if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout) != 0) {
		fprintf(stderr, "dkimsign: write error\n");
		free(out);
		free(msg);
		free(key);
		return 1;
	}
	free(out);
	free(msg);
	free(key);
	/*
	 * libopendkim 2.11 leaks the Ed25519 private key in sign mode
	 * (dkim_free frees only RSA key data).  We are about to exit anyway;
	 * _exit keeps a sanitizer build's leak report about the library
	 * from failing the integration tests.
	 */
	if (so.alg == DKIM_SIGN_ED25519SHA256)
		_exit(0);
	return 0;
}
#endif
