/*
 * offline.c - the offline check: a message file through the milter's own
 * evaluation path.
 *
 * The file is split into header fields the way an MTA hands them to a
 * milter with SMFIP_HDR_LEADSPC: the name, and the value with its leading
 * white space, folded lines joined by "\n".  The body goes to DKIM with
 * CRLF line ends, as the MTA sends it.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "action.h"
#include "ar.h"
#include "buf.h"
#include "evaluate.h"
#include "log.h"
#include "offline.h"
#include "runtime.h"
#include "session.h"
#include "util.h"

#define OFFLINE_MAX_MESSAGE	(64u * 1024 * 1024)

/* read_all - the whole input, capped */
static int
read_all(const char *path, struct buf *b)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (fp == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(b, chunk, n) != 0)
			break;
	if (fp != stdin)
		fclose(fp);
	return b->truncated ? -2 : 0;
}

/* add_field - one unfolded field into the session; LF-only folds */
static void
add_field(struct session *s, const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	char *name, *value, *w;
	size_t i;

	if (colon == NULL)
		return;
	name = xstrndup(p, (size_t)(colon - p));
	/* Postfix strips white space between the name and the colon. */
	for (w = name + strlen(name); w > name && (w[-1] == ' ' || w[-1] == '\t'); )
		*--w = '\0';
	value = xmalloc(len);
	for (i = (size_t)(colon - p) + 1, w = value; i < len; i++)
		if (p[i] != '\r')
			*w++ = p[i];
	*w = '\0';
	session_add_header(s, name, value);
	free(name);
	free(value);
}

/* split - header fields into the session; returns the body offset */
static size_t
split(struct session *s, const char *msg, size_t len)
{
	size_t i = 0, start = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && msg[eol] != '\n')
			eol++;
		/* a blank line ends the header section */
		if (eol == i || (eol == i + 1 && msg[i] == '\r')) {
			if (i > start)
				add_field(s, msg + start, i - start - 1);
			return eol < len ? eol + 1 : len;
		}
		/* a line not starting with WSP starts a new field */
		if (i > start && msg[i] != ' ' && msg[i] != '\t') {
			add_field(s, msg + start, i - start - 1);
			start = i;
		}
		i = eol + 1;
	}
	if (len > start)
		add_field(s, msg + start, len - start);
	return len;
}

/* feed_body - to DKIM with CRLF line ends */
static void
feed_body(struct evaluation *e, const char *p, size_t len)
{
	struct buf b;
	size_t i;

	buf_init(&b, OFFLINE_MAX_MESSAGE * 2);
	for (i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			buf_putc(&b, '\r');
		buf_putc(&b, p[i]);
	}
	if (b.len > 0)
		evaluation_body(e, (const unsigned char *)b.data, b.len);
	buf_free(&b);
}

/* offline_check - see offline.h */
int
offline_check(struct runtime *rt, const struct offline_args *a, FILE *out)
{
	unsigned char tmp[16];
	struct session *s;
	struct buf msg, summary;
	struct evaluation *e;
	struct verdict v;
	struct decision d;
	struct ar_input in;
	size_t body;
	char *ar;
	int rc;

	if (a->client_ip == NULL) {
		fprintf(stderr, "dmarc-milter: -t needs --client-ip\n");
		return 64;
	}
	s = session_new(rt, rt->conf);
	if (inet_pton(AF_INET, a->client_ip, tmp) == 1)
		s->client_family = AF_INET;
	else if (inet_pton(AF_INET6, a->client_ip, tmp) == 1)
		s->client_family = AF_INET6;
	else {
		fprintf(stderr, "dmarc-milter: --client-ip %s: not an IPv4 or IPv6 address\n", a->client_ip);
		session_free(s);
		return 64;
	}
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", a->client_ip);
	s->client_host = xstrdup(a->helo != NULL ? a->helo : "unknown");
	s->leadspc = true;
	session_set_helo(s, a->helo != NULL ? a->helo : "");
	session_set_mail_from(s, a->mail_from != NULL ? a->mail_from : "");
	if (a->rcpt != NULL)
		session_add_rcpt(s, a->rcpt);

	buf_init(&msg, OFFLINE_MAX_MESSAGE);
	if ((rc = read_all(a->message, &msg)) != 0) {
		if (rc == -1)
			fprintf(stderr, "dmarc-milter: %s: %s\n", a->message, strerror(errno));
		else
			fprintf(stderr, "dmarc-milter: %s: larger than %u bytes\n", a->message, OFFLINE_MAX_MESSAGE);
		buf_free(&msg);
		session_free(s);
		return 66;
	}
	body = split(s, buf_str(&msg), msg.len);

	e = evaluation_new(rt, s, "offline");
	evaluation_eoh(e);
	feed_body(e, buf_str(&msg) + body, msg.len - body);
	evaluation_finish(e, &v);
	action_decide(rt->conf, &v, &d);

	in.authserv_id = rt->conf->authserv_id;
	in.client_ip = s->client_addr;
	in.helo = s->helo;
	in.mail_from = s->msg.mail_from;
	in.v = &v;
	ar = ar_compose(&in);
	fprintf(out, "Authentication-Results: %s\n", ar != NULL ? ar : "(none: AuthservID unusable)");
	fprintf(out, "Disposition: %s\n", disposition_str(v.disposition));
	fprintf(out, "Action: %s", action_str(d.action));
	if (d.rcode != NULL)
		fprintf(out, " %s %s %s", d.rcode, d.xcode, d.text);
	else if (d.text != NULL)
		fprintf(out, " (%s)", d.text);
	fprintf(out, "\n");
	buf_init(&summary, 8192);
	action_summary(&v, &d, &summary);
	fprintf(out, "Summary: %s\n", buf_str(&summary));
	buf_free(&summary);

	free(ar);
	action_free(&d);
	verdict_free(&v);
	evaluation_free(e);
	buf_free(&msg);
	session_free(s);
	return 0;
}
