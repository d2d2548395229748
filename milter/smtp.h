/*
 * smtp.h - hand one finished message to the mail system: either SMTP to a
 * configured relay (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT; RFC 5321,
 * RFC 3207, RFC 4954) or a local "sendmail -t -i".
 *
 * Every connect, read and write has a timeout.  A message counts as sent
 * only when the relay answered 250 to the final "." (or sendmail exited
 * 0).  Nothing here exits or touches global signal handling; SIGPIPE is
 * avoided per call (MSG_NOSIGNAL, a per-thread mask around TLS writes).
 */
#ifndef DM_SMTP_H
#define DM_SMTP_H

#include <stdbool.h>
#include <stddef.h>

enum smtp_transport {
	SMTP_TRANSPORT_RELAY = 0,	/* SMTP to host:port */
	SMTP_TRANSPORT_SENDMAIL		/* sendmail -t -i: recipients come from To: */
};

enum smtp_tls {
	SMTP_TLS_NONE = 0,	/* never STARTTLS */
	SMTP_TLS_MAY,		/* STARTTLS when offered, else plain text */
	SMTP_TLS_REQUIRE	/* STARTTLS or nothing is sent */
};

struct smtp_config {
	enum smtp_transport transport;
	/* relay */
	const char	*host;		/* name or address of the relay */
	unsigned	 port;		/* 0 = 25 */
	const char	*helo;		/* EHLO name; NULL = this host's name */
	enum smtp_tls	 tls;
	bool		 tls_allow_untrusted;	/* skip certificate checks (a local relay with
						 * a self-signed certificate, say) */
	const char	*tls_ca_file;	/* PEM CA bundle; NULL = the system store */
	const char	*tls_name;	/* name the certificate must show; NULL = host */
	const char	*auth_user;	/* AUTH PLAIN/LOGIN, only ever over TLS; NULL = none */
	const char	*auth_password;
	unsigned	 timeout;	/* seconds per connect/read/write; 0 = 60 */
	/* sendmail */
	const char	*sendmail;	/* path; NULL = /usr/sbin/sendmail */
};

/* What the relay said to one RCPT TO. */
struct smtp_rcpt {
	bool		 accepted;	/* 2xx */
	int		 code;		/* reply code; 0 when never asked */
	char		*reply;		/* reply text (one line, sanitized); NULL when never asked */
};

struct smtp_result {
	bool		 sent;		/* 250 to the final "." / sendmail exit 0 */
	bool		 temporary;	/* not sent, and trying again later may work: 4xx, network,
					 * timeout, TLS or AUTH trouble, EX_TEMPFAIL; false for a 5xx
					 * to MAIL, RCPT (all refused), DATA or "." */
	bool		 tls;		/* the session used STARTTLS */
	int		 code;		/* the last reply code (sendmail: exit status); 0 = none */
	char		*reply;		/* the last reply (sendmail: its stderr), sanitized; may be NULL */
	struct smtp_rcpt *rcpt;		/* one per recipient, in the order given */
	size_t		 n_rcpt;
	size_t		 n_accepted;
};

/*
 * smtp_send - send msg (len bytes, an RFC 5322 message; LF or CRLF line
 * ends, converted as the transport needs, dot-stuffed for SMTP) from
 * mail_from ("" = the null path) to rcpts.  Fills *res (free with
 * smtp_result_free).  Returns 0 when sent (to at least one recipient;
 * see res->rcpt for refusals), -1 with err otherwise.
 */
int		 smtp_send(const struct smtp_config *, const char *mail_from,
		    char *const *rcpts, size_t n, const char *msg, size_t len,
		    struct smtp_result *res, char *err, size_t errlen);
void		 smtp_result_free(struct smtp_result *);

/*
 * smtp_address_valid - an address we are willing to put in MAIL/RCPT and
 * in a header: local@domain, dot-atom local part (RFC 5322 §3.4.1) of at
 * most 64 octets, an ASCII domain of letters, digits, "-", "_" and dots,
 * at most 254 octets in all.  Nothing that could end a line or a path.
 */
bool		 smtp_address_valid(const char *);

#endif
