/*
 * session.h - what the MTA told us about one connection and its messages.
 *
 * The milter callbacks copy the MTA's words in here and nothing more; the
 * evaluation reads them.  Nothing here knows libmilter.
 */
#ifndef DM_SESSION_H
#define DM_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Hard caps on what one message may make us keep (a hostile peer's input). */
#define SESSION_MAX_HEADERS	1000
#define SESSION_MAX_HEADER_BYTES	(1024u * 1024)	/* all header fields together */
#define SESSION_MAX_RCPTS	1000
/*
 * From and Authentication-Results are kept past the two caps above, within
 * their own: padding the header section must neither hide the author from
 * the DMARC check nor a forged A-R from its removal (session.c).
 */
#define SESSION_MAX_KEY_HEADERS	10000
#define SESSION_MAX_KEY_HEADER_BYTES	(1024u * 1024)

struct header {
	char	*name;
	char	*value;
};

struct message {
	char		*mail_from;	/* envelope sender without <> ("" = null sender) */
	char		**rcpts;	/* envelope recipients without <> */
	size_t		 n_rcpts;
	struct header	*headers;	/* in the order received */
	size_t		 n_headers;
	size_t		 header_bytes;
	bool		 headers_truncated;	/* a cap was hit */
	size_t		 n_key_headers;	/* From and A-R kept past the caps */
	size_t		 key_header_bytes;
	bool		 key_truncated;	/* their cap was hit too: later ones dropped */
	size_t		 n_ar_seen;	/* Authentication-Results fields, kept or not */
	char		*queue_id;	/* MTA queue id, from macro "i" */
	char		*auth_authen;	/* SMTP AUTH login, when the client authenticated */
	size_t		 body_bytes;
	struct evaluation *eval;	/* from end of headers to end of message */
	bool		 skip;		/* not evaluated (IgnoreMailFrom, AUTH) */
};

struct runtime;
struct evaluation;

struct session {
	struct runtime	*rt;		/* snapshot held for the whole connection */
	struct config	*conf;		/* rt->conf */
	char		*client_host;	/* name the MTA gave, possibly "[addr]" */
	char		 client_addr[64];	/* numeric, "" when not IP (e.g. local) */
	int		 client_family;	/* AF_INET, AF_INET6 or AF_UNSPEC */
	char		*helo;
	unsigned long	 pflags;	/* protocol flags negotiated with the MTA (milter.c) */
	bool		 leadspc;	/* header values keep their leading space (SMFIP_HDR_LEADSPC) */
	unsigned long	 n_messages;
	bool		 in_message;	/* counted in flight (milter.c) */
	bool		 skip_conn;	/* IgnoreHosts matched, but the MTA wanted no
					 * reply at connect (milter.c): skip every message */
	struct message	 msg;
};

struct session	*session_new(struct runtime *, struct config *);
void		 session_free(struct session *);
void		 session_reset_message(struct session *);
void		 session_set_helo(struct session *, const char *);
void		 session_set_mail_from(struct session *, const char *);
int		 session_add_rcpt(struct session *, const char *);
int		 session_add_header(struct session *, const char *, const char *);
char		*session_strip_angles(const char *);

#endif
