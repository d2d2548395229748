/*
 * milter.c - libmilter callbacks: copy what the MTA says into the session,
 * and turn the verdict into milter actions.  No policy lives here.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmilter/mfapi.h>

#include "config.h"
#include "log.h"
#include "milter.h"
#include "session.h"
#include "util.h"

/*
 * The protocol flags negotiated on this MTA connection.  Debian's libmilter
 * runs one thread per MTA connection (no worker pool), and the negotiation
 * outlives the session across QUIT_NC, so the flags live per thread.
 */
static __thread unsigned long milter_pflags;

/* sess - the session of a libmilter context */
static struct session *
sess(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* macro_dup - a copy of a macro's value, or NULL */
static char *
macro_dup(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

/*
 * mlfi_negotiate - ask only for what we use.  We need every stage up to the
 * end of message, but never reply per header (SMFIP_NR_HDR) when the MTA
 * can skip that round trip, nor to unknown/DATA commands.
 */
static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NOUNKNOWN | SMFIP_NODATA;

	(void)ctx;
	(void)f2;
	(void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
	if (f1 & SMFIP_NR_HDR)
		want |= SMFIP_NR_HDR;
	if (f1 & SMFIP_HDR_LEADSPC)
		want |= SMFIP_HDR_LEADSPC;	/* exact header bytes, for DKIM */
	*pf1 = f1 & want;
	milter_pflags = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

/* mlfi_connect - new connection: take a config snapshot and the client */
static sfsistat
mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct config *conf = config_acquire();
	struct session *s;

	if (conf == NULL)
		return SMFIS_TEMPFAIL;
	s = session_new(conf);
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
	if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
		session_free(s);
		config_release(conf);
		return SMFIS_TEMPFAIL;
	}
	log_debug("connect from %s [%s]", s->client_host, s->client_addr);
	return SMFIS_CONTINUE;
}

/* mlfi_helo - remember HELO/EHLO */
static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = sess(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	session_set_helo(s, helo != NULL ? helo : "");
	return SMFIS_CONTINUE;
}

/* mlfi_envfrom - a new message starts */
static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = sess(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	session_reset_message(s);
	s->n_messages++;
	session_set_mail_from(s, argv[0] != NULL ? argv[0] : "");
	s->msg.auth_authen = macro_dup(ctx, "{auth_authen}");
	return SMFIS_CONTINUE;
}

/* mlfi_envrcpt - one recipient */
static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session *s = sess(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	if (argv[0] != NULL && session_add_rcpt(s, argv[0]) != 0)
		log_debug("recipient cap reached; further recipients not recorded");
	return SMFIS_CONTINUE;
}

/* mlfi_header - keep the field; with SMFIP_NR_HDR the MTA wants no reply */
static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = sess(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	session_add_header(s, name, value != NULL ? value : "");
	return (milter_pflags & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* mlfi_eoh - end of headers */
static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	return sess(ctx) != NULL ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

/* mlfi_body - body chunk */
static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = sess(ctx);

	(void)chunk;
	if (s == NULL)
		return SMFIS_TEMPFAIL;
	s->msg.body_bytes += len;
	return SMFIS_CONTINUE;
}

/* mlfi_eom - end of message: evaluate and act */
static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct session *s = sess(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	free(s->msg.queue_id);
	s->msg.queue_id = macro_dup(ctx, "i");	/* Postfix sets "i" only from DATA on */
	log_info("%s: accepted from %s [%s] (no policy checks yet)",
	    s->msg.queue_id != NULL ? s->msg.queue_id : "NOQUEUE",
	    s->client_host, s->client_addr);
	session_reset_message(s);
	return SMFIS_ACCEPT;
}

/* mlfi_abort - the MTA dropped the message; the connection lives on */
static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct session *s = sess(ctx);

	if (s != NULL)
		session_reset_message(s);
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
		struct config *conf = s->conf;

		session_free(s);
		config_release(conf);
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
	.xxfi_data = NULL,
	.xxfi_negotiate = mlfi_negotiate,
};

/* milter_register - hand our callbacks to libmilter */
int
milter_register(void)
{
	return smfi_register(milter_desc) == MI_SUCCESS ? 0 : -1;
}
