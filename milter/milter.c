/*
 * milter.c - libmilter callbacks: copy what the MTA says into the session,
 * hand the message to the evaluation, and turn the decision into milter
 * actions (headers, reply, quarantine).  No policy lives here.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "action.h"
#include "ar.h"
#include "buf.h"
#include "config.h"
#include "evaluate.h"
#include "failrep.h"
#include "hdr.h"
#include "history.h"
#include "hostlist.h"
#include "log.h"
#include "milter.h"
#include "runtime.h"
#include "session.h"
#include "stats.h"
#include "util.h"

#define AR_NAME	"Authentication-Results"

/*
 * The protocol flags negotiated on an MTA connection live in its session,
 * which mlfi_negotiate creates: Debian's libmilter runs a worker pool, so
 * the callbacks of one connection may run on different threads.  After
 * SMFIC_QUIT_NC the MTA connects again on the same context without a new
 * negotiation (and mlfi_close freed the session): that case, and the rare
 * callback with no session, use the flags of the latest negotiation.
 */
static unsigned long last_pflags;

/* sess - the session of a libmilter context */
static struct session *
sess(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/*
 * conn_sess - the session of a connection the MTA has described
 * (mlfi_connect ran).  A peer that sends MAIL without CONNECT gets through
 * libmilter's state machine (it restarts from HELO), and the session that
 * mlfi_negotiate made has no runtime and no configuration yet.
 */
static struct session *
conn_sess(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	return s != NULL && s->rt != NULL ? s : NULL;
}

/* macro_dup - a copy of a macro's value, or NULL */
static char *
macro_dup(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

/*
 * Over TCP the MTA hears from us after every command it sends (tcp_replies).
 * Postfix writes each milter command with its own small write and does not
 * set TCP_NODELAY: a command we leave unanswered (a "no reply" stage, or the
 * DATA macros Postfix sends even when DATA itself is negotiated away) is
 * not ACKed by our kernel at once, and Nagle's algorithm then holds the
 * MTA's next command until that delayed ACK comes, 40 ms or more, on every
 * message (docs/performance.md measured 20 instead of 180 messages a second
 * through Postfix).  A reply carries the ACK at once.  A unix socket has no
 * such delays, and there we save the round trips instead.
 */
static bool tcp_replies;

/*
 * mlfi_negotiate - ask only for what we use, and answer only where we may
 * decide (on a unix socket; see tcp_replies).  Every reply is a round trip
 * the MTA waits for while its SMTP client waits on it: we take the "no
 * reply" flags (SMFIP_NR_*) for HELO, RCPT, each header, end of headers
 * and body, which only collect, and for connect and MAIL too when the
 * configuration cannot make us decide there (no IgnoreHosts; no
 * IgnoreMailFrom or IgnoreAuthenticatedClients).  Then the only answer is
 * the verdict at end of message.  libmilter offers the NR flags even to an
 * MTA without them and answers CONTINUE on our behalf.
 */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_HDR_LEADSPC |
	    SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
	struct runtime *rt;
	struct session *s;

	(void)f2;
	(void)f3;
	if (tcp_replies)
		want = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC;	/* and DATA, answered */
	else if ((rt = runtime_acquire()) != NULL) {
		const struct config *c = rt->conf;

		if (hostlist_count(c->ignore_hosts) == 0)
			want |= SMFIP_NR_CONN;
		if (!c->ignore_auth && c->ignore_mail_from.n == 0)
			want |= SMFIP_NR_MAIL;
		runtime_release(rt);
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;	/* SMFIP_HDR_LEADSPC: the exact header bytes, for DKIM */
	*pf2 = 0;
	*pf3 = 0;
	__atomic_store_n(&last_pflags, *pf1, __ATOMIC_RELAXED);
	/* The session starts here, to carry the flags to every later callback. */
	s = session_new(NULL, NULL);
	s->pflags = *pf1;
	if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
		session_free(s);
		return SMFIS_TEMPFAIL;
	}
	log_debug("negotiate: MTA offers actions 0x%lx steps 0x%lx; we take 0x%lx 0x%lx", f0, f1, *pf0, *pf1);
	return SMFIS_CONTINUE;
}

/*
 * reply - what a callback returns: R, or nothing at all when the MTA agreed
 * that we do not answer at this stage (libmilter would otherwise log that
 * we broke our word, and drop R anyway).
 */
static sfsistat
reply(const struct session *s, unsigned long nr, sfsistat r)
{
	unsigned long pflags = s != NULL ? s->pflags : __atomic_load_n(&last_pflags, __ATOMIC_RELAXED);

	return (pflags & nr) ? SMFIS_NOREPLY : r;
}

/* mlfi_connect - new connection: take a runtime snapshot and the client */
static sfsistat
mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct runtime *rt = runtime_acquire();
	struct session *s = sess(ctx);

	if (rt == NULL)
		return reply(s, SMFIP_NR_CONN, SMFIS_TEMPFAIL);
	if (s == NULL) {	/* a reconnect after QUIT_NC: no negotiation came first */
		s = session_new(NULL, NULL);
		s->pflags = __atomic_load_n(&last_pflags, __ATOMIC_RELAXED);
		if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
			session_free(s);
			runtime_release(rt);
			return reply(NULL, SMFIP_NR_CONN, SMFIS_TEMPFAIL);
		}
	} else if (s->rt != NULL) {	/* never expected: a second connect without close */
		runtime_release(s->rt);
		free(s->client_host);
		s->client_host = NULL;
	}
	s->rt = rt;
	s->conf = rt->conf;
	s->leadspc = (s->pflags & SMFIP_HDR_LEADSPC) != 0;
	s->client_host = xstrdup(host != NULL ? host : "unknown");
	if (sa != NULL && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, s->client_addr, sizeof(s->client_addr));
		s->client_family = AF_INET;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, s->client_addr, sizeof(s->client_addr));
		s->client_family = AF_INET6;
	}
	if (hostlist_match(s->conf->ignore_hosts, s->client_addr, s->client_host)) {
		log_info("%s [%s]: not checked (IgnoreHosts)", s->client_host, s->client_addr);
		stats_count_skip(STATS_SKIP_HOST);
		/* after a reload that added IgnoreHosts, the MTA may not hear us */
		s->skip_conn = true;
		return reply(s, SMFIP_NR_CONN, SMFIS_ACCEPT);
	}
	log_debug("connect from %s [%s]", s->client_host, s->client_addr);
	return reply(s, SMFIP_NR_CONN, SMFIS_CONTINUE);
}

/* mlfi_helo - remember HELO/EHLO */
static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = conn_sess(ctx);

	if (s == NULL)
		return reply(s, SMFIP_NR_HELO, SMFIS_TEMPFAIL);
	session_set_helo(s, helo != NULL ? helo : "");
	return reply(s, SMFIP_NR_HELO, SMFIS_CONTINUE);
}

/* Messages between MAIL and their end, for a shutdown that finishes them. */
static unsigned long inflight;

/* message_begin / message_end - count a message in flight once */
static void
message_begin(struct session *s)
{
	if (!s->in_message) {
		s->in_message = true;
		__atomic_add_fetch(&inflight, 1, __ATOMIC_RELAXED);
	}
}

static void
message_end(struct session *s)
{
	if (s->in_message) {
		s->in_message = false;
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_RELAXED);
	}
}

/* milter_inflight - messages the MTA is still waiting on us for */
unsigned long
milter_inflight(void)
{
	return __atomic_load_n(&inflight, __ATOMIC_RELAXED);
}

/* ignored_sender - is the envelope sender's domain in IgnoreMailFrom? */
static bool
ignored_sender(const struct config *c, const char *mail_from)
{
	const char *at = strrchr(mail_from, '@');
	size_t i;

	if (at == NULL)
		return false;
	for (i = 0; i < c->ignore_mail_from.n; i++)
		if (ascii_strcaseeq(at + 1, c->ignore_mail_from.v[i]))
			return true;
	return false;
}

/* mlfi_envfrom - a new message starts */
static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = conn_sess(ctx);

	if (s == NULL)
		return reply(s, SMFIP_NR_MAIL, SMFIS_TEMPFAIL);
	session_reset_message(s);
	s->n_messages++;
	session_set_mail_from(s, argv[0] != NULL ? argv[0] : "");
	if (s->skip_conn) {	/* IgnoreHosts, decided at connect */
		s->msg.skip = true;
		return reply(s, SMFIP_NR_MAIL, SMFIS_ACCEPT);
	}
	s->msg.auth_authen = macro_dup(ctx, "{auth_authen}");
	if (s->msg.auth_authen != NULL && s->conf->ignore_auth) {
		log_info("%s [%s]: not checked (authenticated as %s, IgnoreAuthenticatedClients)",
		    s->client_host, s->client_addr, s->msg.auth_authen);
		stats_count_skip(STATS_SKIP_AUTH);
		s->msg.skip = true;
		return reply(s, SMFIP_NR_MAIL, SMFIS_ACCEPT);
	}
	if (ignored_sender(s->conf, s->msg.mail_from)) {
		log_info("%s [%s]: not checked (sender <%s> in IgnoreMailFrom)",
		    s->client_host, s->client_addr, s->msg.mail_from);
		stats_count_skip(STATS_SKIP_MAIL_FROM);
		s->msg.skip = true;
		return reply(s, SMFIP_NR_MAIL, SMFIS_ACCEPT);
	}
	message_begin(s);
	return reply(s, SMFIP_NR_MAIL, SMFIS_CONTINUE);
}

/* mlfi_envrcpt - one recipient */
static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = conn_sess(ctx);

	if (s == NULL)
		return reply(s, SMFIP_NR_RCPT, SMFIS_TEMPFAIL);
	if (!s->msg.skip && argv[0] != NULL && session_add_rcpt(s, argv[0]) != 0)
		log_debug("recipient cap reached; further recipients not recorded");
	return reply(s, SMFIP_NR_RCPT, SMFIS_CONTINUE);
}

/*
 * mlfi_data - the DATA command: nothing to do, but over TCP we take it
 * (and answer) rather than leave the DATA macros unanswered (tcp_replies).
 */
static sfsistat
mlfi_data(SMFICTX *ctx)
{
	return reply(sess(ctx), SMFIP_NR_DATA, SMFIS_CONTINUE);
}

/* mlfi_header - keep the field; with SMFIP_NR_HDR the MTA wants no reply */
static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = conn_sess(ctx);
	bool was_truncated;

	if (s == NULL)
		return reply(s, SMFIP_NR_HDR, SMFIS_TEMPFAIL);
	was_truncated = s->msg.headers_truncated;
	if (!s->msg.skip && session_add_header(s, name, value != NULL ? value : "") != 0 &&
	    !was_truncated)
		log_warn("header cap reached (%d fields or %u bytes); the rest but From and "
		    "Authentication-Results is not evaluated", SESSION_MAX_HEADERS, SESSION_MAX_HEADER_BYTES);
	return reply(s, SMFIP_NR_HDR, SMFIS_CONTINUE);
}

/* mlfi_eoh - end of headers: the evaluation starts (DKIM) */
static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct session *s = conn_sess(ctx);

	if (s == NULL)
		return reply(s, SMFIP_NR_EOH, SMFIS_TEMPFAIL);
	if (!s->msg.skip && s->msg.eval == NULL) {
		s->msg.eval = evaluation_new(s->rt, s, NULL);
		evaluation_eoh(s->msg.eval);
	}
	return reply(s, SMFIP_NR_EOH, SMFIS_CONTINUE);
}

/* mlfi_body - body chunk, to DKIM */
static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = conn_sess(ctx);

	if (s == NULL)
		return reply(s, SMFIP_NR_BODY, SMFIS_TEMPFAIL);
	s->msg.body_bytes += len;
	if (s->msg.eval != NULL)
		evaluation_body(s->msg.eval, chunk, len);
	return reply(s, SMFIP_NR_BODY, SMFIS_CONTINUE);
}

/*
 * remove_forged_ar - delete every incoming Authentication-Results that
 * carries our authserv-id (RFC 8601 §5: a forged result from outside).
 * smfi_chgheader counts fields of one name from 1; deleting shifts later
 * ones down, so delete from the last to the first (the order mistake of
 * CVE-2022-48521 removed the wrong fields).
 */
static int
remove_forged_ar(SMFICTX *ctx, struct session *s)
{
	const struct message *m = &s->msg;
	size_t i, nth = 0, *ours = NULL, n = 0;
	int removed = 0;

	for (i = 0; i < m->n_headers; i++) {
		if (!ascii_strcaseeq(m->headers[i].name, AR_NAME))
			continue;
		nth++;
		if (hdr_ar_authserv_is(m->headers[i].value, s->conf->authserv_id)) {
			ours = xrealloc(ours, (n + 1) * sizeof(*ours));
			ours[n++] = nth;
		}
	}
	/*
	 * Fields past the caps of session.h are not kept, so whether they are
	 * ours is unknown: they go too (session.c keeps the first ones, so the
	 * ones not seen are the last).  A foreign A-R is never trusted
	 * downstream of us anyway (RFC 8601 §5 allows removing it).
	 */
	if (m->n_ar_seen > nth)
		log_warn("%zu %s fields past the header cap removed unchecked", m->n_ar_seen - nth, AR_NAME);
	for (i = m->n_ar_seen; i > nth; i--)
		if (smfi_chgheader(ctx, AR_NAME, (int)i, NULL) == MI_SUCCESS)
			removed++;
	while (n > 0) {
		if (smfi_chgheader(ctx, AR_NAME, (int)ours[--n], NULL) == MI_SUCCESS)
			removed++;
		else
			log_warn("cannot remove a forged %s header (not negotiated?)", AR_NAME);
	}
	free(ours);
	return removed;
}

/* add_ar - our Authentication-Results, first in the header (index 0) */
static void
add_ar(SMFICTX *ctx, struct session *s, const struct verdict *v, const char *qid)
{
	struct ar_input in;
	char *value, *field;

	in.authserv_id = s->conf->authserv_id;
	in.client_ip = s->client_addr;
	in.helo = s->helo;
	in.mail_from = s->msg.mail_from != NULL ? s->msg.mail_from : "";
	in.v = v;
	if ((value = ar_compose(&in)) == NULL) {
		log_err("%s: no %s header: AuthservID \"%s\" unusable", qid, AR_NAME, in.authserv_id);
		return;
	}
	/* With SMFIP_HDR_LEADSPC the MTA adds no space after the colon. */
	field = s->leadspc ? xasprintf(" %s", value) : xstrdup(value);
	if (smfi_insheader(ctx, 0, AR_NAME, field) != MI_SUCCESS)
		log_warn("%s: cannot add the %s header", qid, AR_NAME);
	free(field);
	free(value);
}

/*
 * record_id - unique per history record: the process, a counter and the
 * time.  Two identical messages in the same second (no queue id, as with
 * some test clients) stay two records for the report tool.
 */
static char *
record_id(time_t when)
{
	static unsigned long counter;	/* atomic increment: shared by all threads */
	unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

	return xasprintf("%llx.%lx.%lx", (unsigned long long)when, (unsigned long)getpid(), n);
}

/* write_history - one record per evaluated message */
static void
write_history(struct session *s, const struct verdict *v, const struct decision *d, const char *qid)
{
	struct history_msg hm;
	const char **doms;
	struct buf line;
	char *id;
	size_t i;

	if (s->rt->history == NULL)
		return;
	doms = xcalloc(s->msg.n_rcpts + 1, sizeof(*doms));
	for (i = 0; i < s->msg.n_rcpts; i++) {
		const char *at = strrchr(s->msg.rcpts[i], '@');

		doms[i] = at != NULL ? at + 1 : "";
	}
	memset(&hm, 0, sizeof(hm));
	hm.id = id = record_id(v->when);
	hm.when = v->when;
	hm.queue_id = qid;
	hm.reporter = s->conf->authserv_id;
	hm.client_ip = s->client_addr;
	hm.helo = s->helo != NULL ? s->helo : "";
	hm.mail_from = s->msg.mail_from != NULL ? s->msg.mail_from : "";
	hm.rcpt_domains = doms;
	hm.n_rcpt_domains = s->msg.n_rcpts;
	buf_init(&line, HISTORY_MAX_LINE);
	if (history_format(&hm, v, action_str(d->action), &line) != 0) {
		log_err("%s: history record could not be formatted", qid);
		stats_count_history_error();
	} else if (history_append(s->rt->history, buf_str(&line), line.len) != 0) {
		/* history_append logs failures itself, at most once per HistoryErrorInterval */
		log_debug("%s: history record not written to %s", qid, s->conf->history_file);
		stats_count_history_error();
	}
	buf_free(&line);
	free(doms);
	free(id);
}

/* mlfi_eom - end of message: decide and act */
static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct session *s = conn_sess(ctx);
	struct verdict v;
	struct decision d;
	struct buf summary;
	sfsistat rc = SMFIS_ACCEPT;
	const char *qid;
	int removed;

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	if (s->msg.skip || s->skip_conn) {	/* decided earlier; the MTA may not have heard */
		session_reset_message(s);
		message_end(s);
		return SMFIS_ACCEPT;
	}
	free(s->msg.queue_id);
	s->msg.queue_id = macro_dup(ctx, "i");	/* Postfix sets "i" only from DATA on */
	qid = s->msg.queue_id != NULL ? s->msg.queue_id : "NOQUEUE";
	if (s->msg.eval == NULL) {		/* a message with no header section at all */
		s->msg.eval = evaluation_new(s->rt, s, qid);
		evaluation_eoh(s->msg.eval);
	}
	evaluation_finish(s->msg.eval, &v);
	action_decide(s->conf, &v, &d);
	stats_count_verdict(&v, (int)d.action);

	removed = 0;
	switch (d.action) {
	case ACTION_REJECT:
	case ACTION_TEMPFAIL:
		if (smfi_setreply(ctx, (char *)d.rcode, (char *)d.xcode, d.text) != MI_SUCCESS)
			log_warn("%s: reply text not accepted by libmilter", qid);
		rc = d.action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
		break;
	case ACTION_QUARANTINE:
		if (smfi_quarantine(ctx, d.text) != MI_SUCCESS)
			log_warn("%s: the MTA refused to quarantine", qid);
		/* FALLTHROUGH */
	case ACTION_ACCEPT:
		/* Only a message that is delivered needs its headers fixed. */
		removed = remove_forged_ar(ctx, s);
		add_ar(ctx, s, &v, qid);
		break;
	}

	buf_init(&summary, 8192);
	action_summary(&v, &d, &summary);
	log_info("%s: %s [%s]%s%s %s", qid, s->client_host, s->client_addr,
	    removed > 0 ? " removed forged A-R," : "",
	    evaluation_used_upstream(s->msg.eval) ? " results of a trusted gateway," : "",
	    buf_str(&summary));
	buf_free(&summary);

	write_history(s, &v, &d, qid);
	failrep_submit(s->rt, s, &v, action_str(d.action), qid);
	action_free(&d);
	verdict_free(&v);
	session_reset_message(s);
	message_end(s);
	return rc;
}

/* mlfi_abort - the MTA dropped the message; the connection lives on */
static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct session *s = sess(ctx);

	if (s != NULL) {
		session_reset_message(s);
		message_end(s);
	}
	return SMFIS_CONTINUE;
}

/*
 * mlfi_close - always called, possibly with no private data, possibly
 * followed by a new connect on the same context: free and clear priv.
 */
static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct session *s = sess(ctx);

	if (s != NULL) {
		struct runtime *rt = s->rt;

		message_end(s);
		session_free(s);
		runtime_release(rt);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
	.xxfi_name = "dmarc-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = mlfi_connect,
	.xxfi_helo = mlfi_helo,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_unknown = NULL,
	.xxfi_data = mlfi_data,
	.xxfi_negotiate = mlfi_negotiate,
};

/*
 * milter_register - hand our callbacks to libmilter; SOCKET (libmilter's
 * syntax) tells whether the MTA reaches us over TCP (tcp_replies)
 */
int
milter_register(const char *socket)
{
	tcp_replies = socket != NULL && (strncmp(socket, "inet:", 5) == 0 ||
	    strncmp(socket, "inet6:", 6) == 0);
	return smfi_register(milter_desc) == MI_SUCCESS ? 0 : -1;
}
