/*
 * smtp.c - deliver one message: an SMTP client for a relay (RFC 5321,
 * STARTTLS per RFC 3207, AUTH PLAIN/LOGIN per RFC 4954/4616) with a
 * timeout on every step, or a local "sendmail -t -i".
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "smtp.h"
#include "util.h"

#define SMTP_DEFAULT_TIMEOUT	60
#define SMTP_LINE_MAX		4096	/* reply line; RFC 5321 §4.5.3.1.5 says 512, be lenient */
#define SMTP_REPLY_LINES	128	/* lines of one multi-line reply */
#define SMTP_REPLY_KEEP		512	/* bytes of reply text kept for results and errors */
#define SMTP_CHUNK		65536	/* DATA is written in pieces of this size */
#define SENDMAIL_DEFAULT	"/usr/sbin/sendmail"
#define SENDMAIL_STDERR_MAX	2048	/* bytes of sendmail's output kept */

/* One relay session. */
struct conn {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 timeout_ms;
	const char	*peer;		/* "host:port" for messages */
	char		 rbuf[8192];	/* read-ahead; lines are assembled in a struct buf */
	size_t		 rpos, rlen;
	bool		 eof;
	char		*err;
	size_t		 errlen;
	bool		 temp;		/* the failure recorded in err is temporary */
	bool		 timed_out;	/* a read or write timed out: no QUIT at the end */
};

/* What EHLO told us (RFC 5321 §4.1.1.1). */
struct caps {
	bool		 esmtp;
	bool		 starttls;
	bool		 auth_plain;
	bool		 auth_login;
	bool		 size_ext;	/* SIZE announced: MAIL FROM may carry SIZE= */
	unsigned long long size;	/* SIZE (RFC 1870) limit; 0 = none announced */
};

/* fail - record a session failure; returns -1 */
static int __attribute__((format(printf, 3, 4)))
fail(struct conn *c, bool temporary, const char *fmt, ...)
{
	va_list ap;

	c->temp = temporary;
	if (c->err == NULL || c->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* now_ms - monotonic milliseconds */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_fd - poll one fd until deadline; 1 ready, 0 timed out, -1 error */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* sanitize - printable copy of reply text, at most SMTP_REPLY_KEEP bytes */
static char *
sanitize(const char *s, size_t n)
{
	char *o;
	size_t i, k = 0;

	if (n > SMTP_REPLY_KEEP)
		n = SMTP_REPLY_KEEP;
	o = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		o[k++] = ch == '\n' ? ' ' : (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	o[k] = '\0';
	return o;
}

/* smtp_address_valid - an address safe for MAIL/RCPT and headers (see smtp.h) */
bool
smtp_address_valid(const char *a)
{
	const char *at, *p;
	bool dot_ok = false, label = false;

	if (a == NULL || strlen(a) > 254 || (at = strrchr(a, '@')) == NULL)
		return false;
	if (at == a || at - a > 64 || at[1] == '\0')
		return false;
	for (p = a; p < at; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.' && dot_ok) {
			dot_ok = false;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL)))
			return false;
		dot_ok = true;
	}
	if (!dot_ok)
		return false;
	for (p = at + 1; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.') {
			if (!label)
				return false;
			label = false;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return false;
		label = true;
	}
	return label;
}

/* conn_fill - read more bytes into rbuf; 0, or -1 with the failure recorded */
static int
conn_fill(struct conn *c, const char *what)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	c->rpos = c->rlen = 0;
	for (;;) {
		short ev = POLLIN;
		int w;

		if (c->ssl != NULL) {
			int r, e;

			ERR_clear_error();
			r = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));
			if (r > 0) {
				c->rlen = (size_t)r;
				return 0;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN) {
				c->eof = true;
				return fail(c, true, "%s closed the TLS session while we waited for %s",
				    c->peer, what);
			}
			if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e != SSL_ERROR_WANT_READ)
				return fail(c, true, "TLS read from %s failed while waiting for %s: %s",
				    c->peer, what, ERR_reason_error_string(ERR_peek_last_error()) ?
				    ERR_reason_error_string(ERR_peek_last_error()) : "connection lost");
		} else {
			ssize_t r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);

			if (r > 0) {
				c->rlen = (size_t)r;
				return 0;
			}
			if (r == 0) {
				c->eof = true;
				return fail(c, true, "%s closed the connection while we waited for %s",
				    c->peer, what);
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fail(c, true, "read from %s failed while waiting for %s: %s",
				    c->peer, what, strerror(errno));
		}
		if ((w = wait_fd(c->fd, ev, deadline)) == 0) {
			c->timed_out = true;
			return fail(c, true, "timed out after %d s waiting for %s from %s",
			    c->timeout_ms / 1000, what, c->peer);
		}
		if (w < 0)
			return fail(c, true, "poll on %s: %s", c->peer, strerror(errno));
	}
}

/* conn_write - write everything; the timeout counts from the last progress */
static int
conn_write(struct conn *c, const char *p, size_t n, const char *what)
{
	while (n > 0) {
		int64_t deadline = now_ms() + c->timeout_ms;
		short ev = POLLOUT;
		int w;

		if (c->ssl != NULL) {
			int chunk = n > INT32_MAX ? INT32_MAX : (int)n, r, e;

			ERR_clear_error();
			r = SSL_write(c->ssl, p, chunk);
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE)
				return fail(c, true, "TLS write of %s to %s failed: %s", what, c->peer,
				    ERR_reason_error_string(ERR_peek_last_error()) ?
				    ERR_reason_error_string(ERR_peek_last_error()) : "connection lost");
		} else {
			ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);

			if (r > 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fail(c, true, "write of %s to %s failed: %s", what, c->peer,
				    strerror(errno));
		}
		if ((w = wait_fd(c->fd, ev, deadline)) == 0) {
			c->timed_out = true;
			return fail(c, true, "timed out after %d s writing %s to %s",
			    c->timeout_ms / 1000, what, c->peer);
		}
		if (w < 0)
			return fail(c, true, "poll on %s: %s", c->peer, strerror(errno));
	}
	return 0;
}

/* read_line - one reply line without its CRLF (a bare LF is accepted too) */
static int
read_line(struct conn *c, struct buf *line, const char *what)
{
	buf_reset(line);
	for (;;) {
		char *nl;
		size_t take;

		if (c->rpos == c->rlen && conn_fill(c, what) != 0)
			return -1;
		nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
		take = nl != NULL ? (size_t)(nl - (c->rbuf + c->rpos)) : c->rlen - c->rpos;
		if (line->len + take > SMTP_LINE_MAX)
			return fail(c, true, "reply line from %s to %s longer than %d bytes",
			    c->peer, what, SMTP_LINE_MAX);
		buf_append(line, c->rbuf + c->rpos, take);
		c->rpos += take;
		if (nl != NULL) {
			c->rpos++;
			if (line->len > 0 && line->data[line->len - 1] == '\r')
				line->data[--line->len] = '\0';
			return 0;
		}
	}
}

/*
 * read_reply - one (multi-line) reply, RFC 5321 §4.2:
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                   Reply-code [ SP textstring ] CRLF
 * Every line must carry the same code.  text gets the lines' texts, one
 * per line ("\n"-separated).
 */
static int
read_reply(struct conn *c, int *code, struct buf *text, const char *what)
{
	struct buf line;
	int first = -1, lines = 0;

	buf_init(&line, SMTP_LINE_MAX + 1);
	buf_reset(text);
	for (;;) {
		const char *l;
		int cd;

		if (read_line(c, &line, what) != 0)
			goto bad;
		l = buf_str(&line);
		if (line.len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (line.len > 3 && l[3] != ' ' && l[3] != '-')) {
			char *s = sanitize(l, line.len);

			fail(c, true, "malformed reply from %s to %s: \"%.80s\"", c->peer, what, s);
			free(s);
			goto bad;
		}
		cd = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (first >= 0 && cd != first) {
			fail(c, true, "reply from %s to %s changes its code mid-reply", c->peer, what);
			goto bad;
		}
		first = cd;
		if (text->len > 0)
			buf_putc(text, '\n');
		if (line.len > 4)
			buf_append(text, l + 4, line.len - 4);
		if (line.len == 3 || l[3] == ' ')
			break;
		if (++lines >= SMTP_REPLY_LINES) {
			fail(c, true, "reply from %s to %s has more than %d lines", c->peer, what,
			    SMTP_REPLY_LINES);
			goto bad;
		}
	}
	buf_free(&line);
	*code = first;
	return 0;
bad:
	buf_free(&line);
	return -1;
}

/* command - send one command line; the caller made sure it has no CR/LF */
static int
command(struct conn *c, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
command(struct conn *c, const char *what, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return fail(c, true, "out of memory formatting %s", what);
	buf_init(&b, 0);
	buf_append(&b, s, (size_t)n);
	buf_puts(&b, "\r\n");
	OPENSSL_cleanse(s, (size_t)n);	/* may be an AUTH line */
	free(s);
	rc = conn_write(c, b.data, b.len, what);
	OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	return rc;
}

/* transaction - send a command and read its reply */
static int
transaction(struct conn *c, int *code, struct buf *text, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int
transaction(struct conn *c, int *code, struct buf *text, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return fail(c, true, "out of memory formatting %s", what);
	rc = command(c, what, "%s", s);
	OPENSSL_cleanse(s, (size_t)n);
	free(s);
	if (rc != 0)
		return -1;
	return read_reply(c, code, text, what);
}

/* refused - record a negative reply as the session's failure */
static int
refused(struct conn *c, const char *what, int code, const struct buf *text)
{
	char *s = sanitize(buf_str(text), text->len);
	int rc = fail(c, code / 100 != 5, "%s refused %s: %d %s", c->peer, what, code, s);

	free(s);
	return rc;
}

/* parse_caps - the EHLO keywords we use (RFC 3207, RFC 4954 §3, RFC 1870) */
static void
parse_caps(const struct buf *text, struct caps *cp)
{
	const char *p = buf_str(text);

	memset(cp, 0, sizeof(*cp));
	cp->esmtp = true;
	p = strchr(p, '\n');	/* the first line is the greeting text */
	while (p != NULL) {
		const char *l = p + 1, *e = strchr(l, '\n');
		size_t n = e != NULL ? (size_t)(e - l) : strlen(l);
		char *kw = xstrndup(l, n), *t, *save = NULL;

		t = strtok_r(kw, " =", &save);
		if (t != NULL && ascii_strcaseeq(t, "STARTTLS"))
			cp->starttls = true;
		else if (t != NULL && ascii_strcaseeq(t, "AUTH")) {
			while ((t = strtok_r(NULL, " =", &save)) != NULL) {
				if (ascii_strcaseeq(t, "PLAIN"))
					cp->auth_plain = true;
				else if (ascii_strcaseeq(t, "LOGIN"))
					cp->auth_login = true;
			}
		} else if (t != NULL && ascii_strcaseeq(t, "SIZE")) {
			cp->size_ext = true;
			if ((t = strtok_r(NULL, " ", &save)) != NULL) {
				char *end;
				unsigned long long v = strtoull(t, &end, 10);

				if (*end == '\0')
					cp->size = v;
			}
		}
		free(kw);
		p = e;
	}
}

/* ehlo - EHLO, falling back to HELO when the relay knows no ESMTP and we need nothing of it */
static int
ehlo(struct conn *c, const char *helo, bool need_esmtp, struct caps *cp)
{
	struct buf text;
	int code, rc = -1;

	buf_init(&text, 0);
	if (transaction(c, &code, &text, "EHLO", "EHLO %s", helo) != 0)
		goto out;
	if (code == 250) {
		parse_caps(&text, cp);
		rc = 0;
		goto out;
	}
	if (need_esmtp || code / 100 == 4) {
		refused(c, "EHLO", code, &text);
		goto out;
	}
	/* RFC 5321 §3.2: a server that rejects EHLO gets HELO */
	if (transaction(c, &code, &text, "HELO", "HELO %s", helo) != 0)
		goto out;
	if (code != 250) {
		refused(c, "HELO", code, &text);
		goto out;
	}
	memset(cp, 0, sizeof(*cp));
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

/* is_ip_literal - the name is a numeric IPv4 or IPv6 address */
static bool
is_ip_literal(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/*
 * starttls - RFC 3207 §4: STARTTLS, 220, the handshake.  Certificates are
 * checked against the system store (or tls_ca_file) and the relay's name
 * unless tls_allow_untrusted says otherwise.  Any bytes the server sent
 * after its 220 are refused: they would be plaintext injected into the TLS
 * session (the STARTTLS command-injection problem, CVE-2011-0411 family).
 */
static int
starttls(struct conn *c, const struct smtp_config *cfg)
{
	const char *name = cfg->tls_name != NULL ? cfg->tls_name : cfg->host;
	int64_t deadline;

	if (c->rpos != c->rlen)
		return fail(c, true, "%s sent data after its STARTTLS reply; not starting TLS", c->peer);
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return fail(c, true, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (!cfg->tls_allow_untrusted) {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (cfg->tls_ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(c->ctx, cfg->tls_ca_file, NULL) != 1)
				return fail(c, true, "cannot load CA file %s", cfg->tls_ca_file);
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1)
			return fail(c, true, "cannot load the system CA store");
	} else
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return fail(c, true, "cannot set up TLS for %s", c->peer);
	if (is_ip_literal(name)) {
		if (!cfg->tls_allow_untrusted &&
		    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1)
			return fail(c, true, "cannot set the address %s to verify", name);
	} else {
		SSL_set_tlsext_host_name(c->ssl, name);
		if (!cfg->tls_allow_untrusted) {
			SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(c->ssl, name) != 1)
				return fail(c, true, "cannot set the name %s to verify", name);
		}
	}
	deadline = now_ms() + c->timeout_ms;
	for (;;) {
		int r, e, w;
		short ev;

		ERR_clear_error();
		if ((r = SSL_connect(c->ssl)) == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else {
			long vr = SSL_get_verify_result(c->ssl);

			if (!cfg->tls_allow_untrusted && vr != X509_V_OK)
				return fail(c, true, "TLS with %s: certificate not trusted for %s: %s",
				    c->peer, name, X509_verify_cert_error_string(vr));
			return fail(c, true, "TLS handshake with %s failed: %s", c->peer,
			    ERR_reason_error_string(ERR_peek_last_error()) ?
			    ERR_reason_error_string(ERR_peek_last_error()) : "connection lost");
		}
		if ((w = wait_fd(c->fd, ev, deadline)) == 0)
			return fail(c, true, "timed out after %d s in the TLS handshake with %s",
			    c->timeout_ms / 1000, c->peer);
		if (w < 0)
			return fail(c, true, "poll on %s: %s", c->peer, strerror(errno));
	}
	if (!cfg->tls_allow_untrusted && SSL_get_verify_result(c->ssl) != X509_V_OK)
		return fail(c, true, "TLS with %s: certificate not trusted", c->peer);
	return 0;
}

/* b64 - base64 of n bytes (RFC 4648 §4), malloc'd */
static char *
b64(const void *p, size_t n)
{
	char *o = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	return o;
}

/*
 * auth - RFC 4954 AUTH with PLAIN (RFC 4616, initial response) or LOGIN.
 * Only called inside TLS (RFC 4954 §4 and §14: no clear-text passwords
 * over an unprotected channel).  Secrets are wiped after use.
 */
static int
auth(struct conn *c, const struct smtp_config *cfg, const struct caps *cp)
{
	const char *user = cfg->auth_user, *pass = cfg->auth_password ? cfg->auth_password : "";
	struct buf text;
	int code, rc = -1;
	char *enc;

	buf_init(&text, 0);
	if (c->ssl == NULL) {
		fail(c, true, "not sending AUTH to %s over an unencrypted session", c->peer);
		goto out;
	}
	if (cp->auth_plain) {
		size_t ul = strlen(user), pl = strlen(pass);
		char *raw = xmalloc(ul + pl + 2);

		raw[0] = '\0';
		memcpy(raw + 1, user, ul);
		raw[ul + 1] = '\0';
		memcpy(raw + ul + 2, pass, pl);
		enc = b64(raw, ul + pl + 2);
		OPENSSL_cleanse(raw, ul + pl + 2);
		free(raw);
		rc = transaction(c, &code, &text, "AUTH PLAIN", "AUTH PLAIN %s", enc);
		OPENSSL_cleanse(enc, strlen(enc));
		free(enc);
		if (rc != 0)
			goto out;
		rc = -1;
	} else if (cp->auth_login) {
		if (transaction(c, &code, &text, "AUTH LOGIN", "AUTH LOGIN") != 0)
			goto out;
		if (code != 334) {
			refused(c, "AUTH LOGIN", code, &text);
			goto out;
		}
		enc = b64(user, strlen(user));
		rc = transaction(c, &code, &text, "AUTH LOGIN user name", "%s", enc);
		free(enc);
		if (rc != 0)
			goto out;
		rc = -1;
		if (code != 334) {
			refused(c, "AUTH LOGIN user name", code, &text);
			goto out;
		}
		enc = b64(pass, strlen(pass));
		rc = transaction(c, &code, &text, "AUTH LOGIN password", "%s", enc);
		OPENSSL_cleanse(enc, strlen(enc));
		free(enc);
		if (rc != 0)
			goto out;
		rc = -1;
	} else {
		fail(c, true, "%s offers neither AUTH PLAIN nor AUTH LOGIN", c->peer);
		goto out;
	}
	if (code != 235) {
		char *s = sanitize(buf_str(&text), text.len);

		/* our credentials or the relay's setup: worth another try later */
		fail(c, true, "%s refused our AUTH as %s: %d %s", c->peer, user, code, s);
		free(s);
		goto out;
	}
	rc = 0;
out:
	buf_free(&text);
	return rc;
}

/* relay_connect - TCP connection to host:port, each address tried in turn */
static int
relay_connect(struct conn *c, const char *host, unsigned port)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ps[16], last[256] = "no address";
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%u", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
		return fail(c, true, "cannot resolve relay %s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			snprintf(last, sizeof(last), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				snprintf(last, sizeof(last), "%s", strerror(errno));
				close(fd);
				continue;
			}
			rc = wait_fd(fd, POLLOUT, now_ms() + c->timeout_ms);
			if (rc == 0) {
				snprintf(last, sizeof(last), "timed out after %d s", c->timeout_ms / 1000);
				close(fd);
				continue;
			}
			if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
				snprintf(last, sizeof(last), "%s", strerror(soerr != 0 ? soerr : errno));
				close(fd);
				continue;
			}
		}
		c->fd = fd;
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	return fail(c, true, "cannot connect to relay %s: %s", c->peer, last);
}

/*
 * send_body - the message for DATA (RFC 5321 §4.1.1.4, §4.5.2): every line
 * end made CRLF (bare LF and bare CR alike), a "." doubled at the start of
 * a line, and the terminating CRLF "." CRLF.
 */
static int
send_body(struct conn *c, const char *msg, size_t len)
{
	struct buf out;
	bool bol = true;
	size_t i;
	int rc = 0;

	buf_init(&out, SMTP_CHUNK + 16);
	for (i = 0; i < len && rc == 0; i++) {
		char ch = msg[i];

		if (bol && ch == '.')
			buf_putc(&out, '.');
		if (ch == '\r' || ch == '\n') {
			if (ch == '\r' && i + 1 < len && msg[i + 1] == '\n')
				i++;
			buf_append(&out, "\r\n", 2);
			bol = true;
		} else {
			buf_putc(&out, ch);
			bol = false;
		}
		if (out.len >= SMTP_CHUNK) {
			rc = conn_write(c, out.data, out.len, "the message");
			buf_reset(&out);
		}
	}
	if (rc == 0) {
		if (!bol)
			buf_append(&out, "\r\n", 2);
		buf_append(&out, ".\r\n", 3);
		rc = conn_write(c, out.data, out.len, "the message");
	}
	buf_free(&out);
	return rc;
}

/* conn_close - QUIT (when the session is sane), close TLS and the socket */
static void
conn_close(struct conn *c, bool quit)
{
	if (c->fd >= 0 && quit && !c->eof && !c->timed_out) {
		struct buf text;
		int code;
		char *saved = c->err;

		c->err = NULL;	/* a failing QUIT changes nothing */
		buf_init(&text, 0);
		c->timeout_ms = c->timeout_ms > 5000 ? 5000 : c->timeout_ms;
		(void)transaction(c, &code, &text, "QUIT", "QUIT");
		buf_free(&text);
		c->err = saved;
	}
	if (c->ssl != NULL) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->ctx != NULL) {
		SSL_CTX_free(c->ctx);
		c->ctx = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	ERR_clear_error();
}

/* set_reply - remember the last reply in the result */
static void
set_reply(struct smtp_result *res, int code, const struct buf *text)
{
	free(res->reply);
	res->code = code;
	res->reply = sanitize(buf_str(text), text->len);
}

/* relay_send - the SMTP session */
static int
relay_send(const struct smtp_config *cfg, const char *from, char *const *rcpts, size_t n,
    const char *msg, size_t len, struct smtp_result *res, char *err, size_t errlen)
{
	struct conn c;
	struct caps cp;
	struct buf text;
	char helo_buf[256], peer[300];
	const char *helo = cfg->helo;
	unsigned port = cfg->port != 0 ? cfg->port : 25;
	bool quit = true;
	size_t i;
	int code, rc = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.timeout_ms = (int)(cfg->timeout != 0 ? cfg->timeout : SMTP_DEFAULT_TIMEOUT) * 1000;
	c.err = err;
	c.errlen = errlen;
	buf_init(&text, 0);
	if (cfg->host == NULL || cfg->host[0] == '\0') {
		err_set(err, errlen, "no relay host configured");
		res->temporary = true;
		goto out;
	}
	snprintf(peer, sizeof(peer), strchr(cfg->host, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    cfg->host, port);
	c.peer = peer;
	if (helo == NULL) {
		if (gethostname(helo_buf, sizeof(helo_buf) - 1) != 0 || helo_buf[0] == '\0')
			snprintf(helo_buf, sizeof(helo_buf), "localhost");
		helo_buf[sizeof(helo_buf) - 1] = '\0';
		helo = helo_buf;
	}
	if (helo[0] == '\0' || strspn(helo, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_[]:") != strlen(helo)) {
		err_set(err, errlen, "EHLO name \"%.64s\" is not a domain or address literal", helo);
		res->temporary = true;
		goto out;
	}
	if (cfg->auth_user != NULL && cfg->tls == SMTP_TLS_NONE) {
		err_set(err, errlen, "AUTH is configured but TLS is off: refusing to send credentials "
		    "in clear text");
		res->temporary = true;
		goto out;
	}
	if (relay_connect(&c, cfg->host, port) != 0) {
		quit = false;
		goto fail;
	}
	/* RFC 5321 §4.3.1: greeting 220, 554 = no service */
	if (read_reply(&c, &code, &text, "the greeting") != 0)
		goto fail;
	set_reply(res, code, &text);
	if (code != 220) {
		refused(&c, "the session (greeting)", code, &text);
		c.temp = true;
		goto fail;
	}
	if (ehlo(&c, helo, cfg->tls == SMTP_TLS_REQUIRE || cfg->auth_user != NULL, &cp) != 0)
		goto fail;
	if (cfg->tls != SMTP_TLS_NONE) {
		if (cp.starttls) {
			if (transaction(&c, &code, &text, "STARTTLS", "STARTTLS") != 0)
				goto fail;
			set_reply(res, code, &text);
			if (code == 220) {
				if (starttls(&c, cfg) != 0) {
					quit = false;	/* the TLS state is unknown: just close */
					goto fail;
				}
				res->tls = true;
				/* RFC 3207 §4.2: forget what we knew, EHLO again */
				if (ehlo(&c, helo, true, &cp) != 0)
					goto fail;
			} else if (cfg->tls == SMTP_TLS_REQUIRE) {
				refused(&c, "STARTTLS", code, &text);
				c.temp = true;
				goto fail;
			}
		} else if (cfg->tls == SMTP_TLS_REQUIRE) {
			fail(&c, true, "%s does not offer STARTTLS, and TLS is required", c.peer);
			goto fail;
		}
	}
	if (cfg->auth_user != NULL && auth(&c, cfg, &cp) != 0)
		goto fail;
	/* RFC 1870 §6: a message over the announced SIZE would be refused anyway */
	if (cp.size != 0 && (unsigned long long)len > cp.size) {
		fail(&c, false, "message of %zu bytes exceeds the SIZE %llu of %s", len, cp.size, c.peer);
		goto fail;
	}
	if (cp.size_ext) {
		if (transaction(&c, &code, &text, "MAIL FROM", "MAIL FROM:<%s> SIZE=%zu", from, len) != 0)
			goto fail;
	} else if (transaction(&c, &code, &text, "MAIL FROM", "MAIL FROM:<%s>", from) != 0)
		goto fail;
	set_reply(res, code, &text);
	if (code != 250) {
		refused(&c, "MAIL FROM", code, &text);
		goto fail;
	}
	{
		bool any_temp = false;

		for (i = 0; i < n; i++) {
			if (transaction(&c, &code, &text, "RCPT TO", "RCPT TO:<%s>", rcpts[i]) != 0)
				goto fail;
			set_reply(res, code, &text);
			res->rcpt[i].code = code;
			res->rcpt[i].reply = sanitize(buf_str(&text), text.len);
			res->rcpt[i].accepted = code == 250 || code == 251;
			if (res->rcpt[i].accepted)
				res->n_accepted++;
			else if (code / 100 != 5)
				any_temp = true;
		}
		if (res->n_accepted == 0) {
			char *s = sanitize(buf_str(&text), text.len);

			fail(&c, any_temp, "%s refused every recipient (last: %d %s)", c.peer, code, s);
			free(s);
			goto fail;
		}
	}
	if (transaction(&c, &code, &text, "DATA", "DATA") != 0)
		goto fail;
	set_reply(res, code, &text);
	if (code != 354) {
		refused(&c, "DATA", code, &text);
		goto fail;
	}
	if (send_body(&c, msg, len) != 0 || read_reply(&c, &code, &text, "the end of DATA") != 0)
		goto fail;
	set_reply(res, code, &text);
	if (code != 250) {
		refused(&c, "the message", code, &text);
		goto fail;
	}
	res->sent = true;
	rc = 0;
	conn_close(&c, true);
	goto out;
fail:
	if (!res->sent)
		res->temporary = c.temp;
	if (c.eof)
		quit = false;
	conn_close(&c, quit);
out:
	buf_free(&text);
	return rc;
}

/* to_lf - the message with LF line ends (what a local sendmail reads) */
static void
to_lf(const char *msg, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			if (i + 1 < len && msg[i + 1] == '\n')
				i++;
			buf_putc(out, '\n');
		} else
			buf_putc(out, msg[i]);
	}
	if (len > 0 && out->data[out->len - 1] != '\n')
		buf_putc(out, '\n');
}

/*
 * sendmail_send - fork/exec "sendmail -t -i [-f from]" and feed it the
 * message.  -t takes the recipients from To:/Cc:/Bcc: (so rcpts are not
 * put on the command line: with Sendmail's -t they would be *removed*),
 * -i keeps a lone "." from ending the input.  Exit 0 is success,
 * EX_TEMPFAIL (and death by a signal or our timeout) temporary, anything
 * else permanent.
 */
static int
sendmail_send(const struct smtp_config *cfg, const char *from, size_t n,
    const char *msg, size_t len, struct smtp_result *res, char *err, size_t errlen)
{
	const char *path = cfg->sendmail != NULL ? cfg->sendmail : SENDMAIL_DEFAULT;
	int timeout_ms = (int)(cfg->timeout != 0 ? cfg->timeout : SMTP_DEFAULT_TIMEOUT) * 1000;
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, ex[2] = { -1, -1 }, status = 0, rc = -1;
	int exec_errno = 0;
	struct buf data, errout;
	size_t off = 0;
	bool in_open = true, out_open = true, timed_out = false, exited = false;
	int64_t deadline;
	pid_t pid;

	buf_init(&data, 0);
	buf_init(&errout, SENDMAIL_STDERR_MAX);
	if (from[0] != '\0' && from[0] == '-') {
		err_set(err, errlen, "sender address starts with \"-\"");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, outp) != 0 ||
	    pipe2(ex, O_CLOEXEC) != 0) {
		err_set(err, errlen, "socketpair: %s", strerror(errno));
		res->temporary = true;
		goto out;
	}
	to_lf(msg, len, &data);
	if (data.truncated) {
		err_set(err, errlen, "message too large");
		goto out;
	}
	if ((pid = fork()) < 0) {
		err_set(err, errlen, "fork: %s", strerror(errno));
		res->temporary = true;
		goto out;
	}
	if (pid == 0) {
		const char *argv[7];
		int k = 0;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[1], 0) < 0 || dup2(outp[1], 1) < 0 || dup2(outp[1], 2) < 0)
			_exit(EX_OSERR);
		argv[k++] = path;
		argv[k++] = "-t";
		argv[k++] = "-i";
		if (from[0] != '\0') {
			argv[k++] = "-f";
			argv[k++] = from;
		}
		argv[k] = NULL;
		execv(path, (char *const *)argv);
		/* tell the parent why (the pipe closes on a successful exec) */
		k = errno;
		if (write(ex[1], &k, sizeof(k)) < 0)
			_exit(EX_OSERR);
		_exit(EX_UNAVAILABLE);
	}
	close(in[1]);
	close(outp[1]);
	close(ex[1]);
	in[1] = outp[1] = ex[1] = -1;
	fcntl(in[0], F_SETFL, fcntl(in[0], F_GETFL) | O_NONBLOCK);
	fcntl(outp[0], F_SETFL, fcntl(outp[0], F_GETFL) | O_NONBLOCK);

	/* write stdin and drain stdout/stderr together, so neither side blocks */
	deadline = now_ms() + timeout_ms;
	while ((in_open || out_open) && !timed_out) {
		struct pollfd p[2];
		int np = 0, r;
		int64_t left = deadline - now_ms();

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (in_open)
			p[np++] = (struct pollfd){ in[0], POLLOUT, 0 };
		if (out_open)
			p[np++] = (struct pollfd){ outp[0], POLLIN, 0 };
		r = poll(p, (nfds_t)np, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		for (int k = 0; k < np; k++) {
			if (p[k].fd == in[0] && p[k].revents != 0) {
				ssize_t w = send(in[0], data.data + off, data.len - off, MSG_NOSIGNAL);

				if (w > 0)
					off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == data.len) {
					shutdown(in[0], SHUT_WR);
					in_open = false;
				}
				deadline = now_ms() + timeout_ms;	/* progress */
			} else if (p[k].fd == outp[0] && p[k].revents != 0) {
				char tmp[1024];
				ssize_t rd = read(outp[0], tmp, sizeof(tmp));

				if (rd > 0)
					buf_append(&errout, tmp, (size_t)rd);	/* keeps what fits */
				else if (rd == 0 || (errno != EAGAIN && errno != EINTR))
					out_open = false;
			}
		}
	}
	/* reap the child within what is left of the timeout */
	while (!timed_out) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			exited = true;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (now_ms() >= deadline) {
			timed_out = true;
			break;
		}
		usleep(20000);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (read(ex[0], &exec_errno, sizeof(exec_errno)) == (ssize_t)sizeof(exec_errno)) {
		err_set(err, errlen, "cannot run %s: %s", path, strerror(exec_errno));
		res->temporary = true;
		res->code = -1;
		goto out;
	}
	free(res->reply);
	res->reply = sanitize(buf_str(&errout), errout.len);
	while (res->reply[0] != '\0' && res->reply[strlen(res->reply) - 1] == ' ')
		res->reply[strlen(res->reply) - 1] = '\0';
	if (timed_out || !exited) {
		err_set(err, errlen, "%s timed out after %d s and was killed", path, timeout_ms / 1000);
		res->temporary = true;
		res->code = -1;
		goto out;
	}
	if (WIFSIGNALED(status)) {
		err_set(err, errlen, "%s died of signal %d", path, WTERMSIG(status));
		res->temporary = true;
		res->code = -1;
		goto out;
	}
	res->code = WEXITSTATUS(status);
	if (res->code != 0 || off != data.len) {
		err_set(err, errlen, "%s exited with status %d%s%s", path, res->code,
		    res->reply[0] != '\0' ? ": " : "", res->reply);
		res->temporary = res->code == EX_TEMPFAIL || res->code == 0;
		goto out;
	}
	res->sent = true;
	for (size_t i = 0; i < n; i++) {
		res->rcpt[i].accepted = true;
		res->rcpt[i].code = 0;
	}
	res->n_accepted = n;
	rc = 0;
out:
	for (int k = 0; k < 2; k++) {
		if (in[k] >= 0)
			close(in[k]);
		if (outp[k] >= 0)
			close(outp[k]);
		if (ex[k] >= 0)
			close(ex[k]);
	}
	buf_free(&data);
	buf_free(&errout);
	return rc;
}

/* smtp_send - deliver one message by the configured transport */
int
smtp_send(const struct smtp_config *cfg, const char *mail_from, char *const *rcpts, size_t n,
    const char *msg, size_t len, struct smtp_result *res, char *err, size_t errlen)
{
	sigset_t pipe_set, old, pend;
	bool was_pending;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	err_set(err, errlen, "%s", "");
	res->rcpt = xcalloc(n > 0 ? n : 1, sizeof(*res->rcpt));
	res->n_rcpt = n;
	if (mail_from == NULL || (mail_from[0] != '\0' && !smtp_address_valid(mail_from))) {
		err_set(err, errlen, "sender address unusable: \"%.80s\"", mail_from ? mail_from : "");
		return -1;
	}
	if (n == 0) {
		err_set(err, errlen, "no recipients");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!smtp_address_valid(rcpts[i])) {
			err_set(err, errlen, "recipient address unusable: \"%.80s\"",
			    rcpts[i] ? rcpts[i] : "");
			return -1;
		}
	}
	if (msg == NULL || len == 0) {
		err_set(err, errlen, "empty message");
		return -1;
	}

	/* Writes to a dead peer must not kill the process: block SIGPIPE in
	 * this thread for the call (OpenSSL writes with write(2), not send with
	 * MSG_NOSIGNAL) and swallow one we caused. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pend);
	was_pending = sigismember(&pend, SIGPIPE);

	if (cfg->transport == SMTP_TRANSPORT_SENDMAIL)
		rc = sendmail_send(cfg, mail_from, n, msg, len, res, err, errlen);
	else
		rc = relay_send(cfg, mail_from, rcpts, n, msg, len, res, err, errlen);

	if (!was_pending) {
		struct timespec zero = { 0, 0 };

		sigpending(&pend);
		if (sigismember(&pend, SIGPIPE))
			(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* smtp_result_free - release what smtp_send put into a result */
void
smtp_result_free(struct smtp_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->n_rcpt; i++)
		free(res->rcpt[i].reply);
	free(res->rcpt);
	free(res->reply);
	memset(res, 0, sizeof(*res));
}
