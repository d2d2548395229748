/*
 * session.c - connection and message contexts.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "evaluate.h"
#include "session.h"
#include "util.h"

/* session_new - a context for one MTA connection, holding a config reference */
struct session *
session_new(struct runtime *rt, struct config *conf)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->rt = rt;
	s->conf = conf;
	s->client_family = AF_UNSPEC;
	return s;
}

/* session_reset_message - forget the message, keep the connection */
void
session_reset_message(struct session *s)
{
	struct message *m = &s->msg;
	size_t i;

	free(m->mail_from);
	for (i = 0; i < m->n_rcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->queue_id);
	free(m->auth_authen);
	evaluation_free(m->eval);
	memset(m, 0, sizeof(*m));
}

/* session_free - release everything; the caller releases the config */
void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_reset_message(s);
	free(s->client_host);
	free(s->helo);
	free(s);
}

/* session_set_helo - remember the latest HELO/EHLO argument */
void
session_set_helo(struct session *s, const char *helo)
{
	free(s->helo);
	s->helo = xstrdup(helo);
}

/*
 * session_strip_angles - the address inside "<...>", without ESMTP
 * parameters; "<>" gives "".  Sendmail passes the brackets, Postfix too.
 */
char *
session_strip_angles(const char *arg)
{
	const char *p = arg, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '<') {
		p++;
		end = strchr(p, '>');
		if (end == NULL)
			end = p + strlen(p);
	} else
		end = p + strcspn(p, " \t");
	return xstrndup(p, (size_t)(end - p));
}

/* session_set_mail_from - the envelope sender of a new message */
void
session_set_mail_from(struct session *s, const char *arg)
{
	free(s->msg.mail_from);
	s->msg.mail_from = session_strip_angles(arg);
}

/* session_add_rcpt - one envelope recipient; -1 past the cap */
int
session_add_rcpt(struct session *s, const char *arg)
{
	struct message *m = &s->msg;

	if (m->n_rcpts >= SESSION_MAX_RCPTS)
		return -1;
	m->rcpts = xrealloc(m->rcpts, (m->n_rcpts + 1) * sizeof(*m->rcpts));
	m->rcpts[m->n_rcpts++] = session_strip_angles(arg);
	return 0;
}

/* key_header - a field that is kept past the general caps (session.h) */
static bool
key_header(const char *name)
{
	return ascii_strcaseeq(name, "From") || ascii_strcaseeq(name, "Authentication-Results");
}

/*
 * session_add_header - keep one header field; -1 (and flag) past the caps.
 * From and Authentication-Results have caps of their own: a message with
 * thousands of padding fields before its From would otherwise be checked
 * as one without a From (no policy applies), and a forged A-R after the
 * padding would stay in the message.  Once one of them is dropped, every
 * later one is too, so the kept A-R fields are the first ones and
 * milter.c can tell which it has not seen (n_ar_seen).
 */
int
session_add_header(struct session *s, const char *name, const char *value)
{
	struct message *m = &s->msg;
	size_t n = strlen(name) + strlen(value) + 2;
	bool key = key_header(name);

	if (ascii_strcaseeq(name, "Authentication-Results"))
		m->n_ar_seen++;
	if (m->n_headers >= SESSION_MAX_HEADERS ||
	    n > SESSION_MAX_HEADER_BYTES - m->header_bytes) {
		m->headers_truncated = true;
		if (!key || m->key_truncated || m->n_key_headers >= SESSION_MAX_KEY_HEADERS ||
		    n > SESSION_MAX_KEY_HEADER_BYTES - m->key_header_bytes) {
			if (key)
				m->key_truncated = true;
			return -1;
		}
		m->n_key_headers++;
		m->key_header_bytes += n;
	} else if (key && m->key_truncated) {
		return -1;
	} else {
		m->header_bytes += n;
	}
	m->headers = xrealloc(m->headers, (m->n_headers + 1) * sizeof(*m->headers));
	m->headers[m->n_headers].name = xstrdup(name);
	m->headers[m->n_headers].value = xstrdup(value);
	m->n_headers++;
	return 0;
}
