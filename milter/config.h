/*
 * config.h - the dmarc-milter configuration: parsed once, then immutable.
 *
 * A struct config is never changed after config_load returns.  Threads take
 * a counted reference with config_acquire for the lifetime of a connection,
 * so a reload (SIGUSR1) can install a new snapshot while connections in
 * flight keep the one they started with.
 */
#ifndef DM_CONFIG_H
#define DM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#define CONFIG_MAX_NAMESERVERS	8

struct hostlist;

/* A list of words (domains, authserv-ids), lowercase. */
struct strlist {
	char		**v;
	size_t		 n;
};

/* Which DMARC rule set applies (DMARCRules). */
enum dmarc_rules {
	RULES_RFC7489 = 0,	/* PSL organisational domain, pct sampling */
	RULES_RFC9989		/* DNS tree walk, np/psd/t, pct ignored */
};

/* What a DMARC temperror does to the message (TemporaryFailures). */
enum tempfail_action {
	TEMPFAIL_ACCEPT = 0,
	TEMPFAIL_TEMPFAIL
};

/* DKIM signatures whose l= covers only part of the body (DKIMBodyLength). */
enum body_length_action {
	BODYLEN_POLICY = 0,	/* not a pass: the rest of the body is unsigned */
	BODYLEN_ALLOW
};

struct nameserver {
	char		addr[64];	/* numeric IPv4 or IPv6 address */
	unsigned	port;
};

struct config {
	/* bookkeeping */
	char		*path;		/* file it came from, NULL = built-in defaults */

	/* daemon */
	char		*socket;	/* libmilter connection spec */
	char		*pidfile;
	char		*userid;	/* user[:group] to switch to */
	unsigned	 socket_mode;	/* unix: socket permissions */
	char		*socket_group;	/* unix: socket group; NULL = UserID's */
	bool		 syslog;
	char		*syslog_facility;
	enum log_level	 log_level;

	/* identity */
	char		*authserv_id;

	/* DNS */
	struct nameserver nameservers[CONFIG_MAX_NAMESERVERS];
	size_t		 n_nameservers;	/* 0 = the system's resolv.conf */
	unsigned	 dns_timeout;	/* seconds per query attempt */
	unsigned	 dns_retries;
	unsigned	 dns_cache_size;	/* entries; 0 = no cache */

	/* DMARC policy */
	enum dmarc_rules rules;
	bool		 reject_failures;	/* p=reject failures get 550 */
	bool		 hold_quarantined;	/* p=quarantine failures go to the MTA's hold queue */
	enum tempfail_action temp_failures;
	bool		 required_headers;	/* reject messages without exactly one From */
	bool		 reject_multi_from;	/* reject a From with several addresses */
	char		*psl_file;
	unsigned	 sampling_seed;		/* pct sampling; 0 = random */

	/* who is skipped or trusted */
	struct hostlist	*ignore_hosts;
	bool		 ignore_auth;		/* skip SMTP-AUTH clients */
	struct strlist	 ignore_mail_from;	/* envelope domains not checked */
	struct hostlist	*trusted_hosts;		/* whose upstream A-R we may believe */
	struct strlist	 trusted_authserv_ids;

	/* DKIM */
	unsigned	 min_key_bits;
	enum body_length_action body_length;

	/* output */
	char		*history_file;		/* NULL: no history */
	unsigned	 history_error_interval;	/* seconds between reports of failed appends */
	char		*stats_file;		/* NULL: no statistics file */
	unsigned	 stats_interval;	/* seconds between writes */

	/* failure reports (RFC 9991) */
	bool		 failure_reports;
	char		*failure_reports_from;	/* NULL: postmaster@AuthservID */
	char		*failure_reports_relay;	/* host[:port] */
	unsigned	 failure_reports_rate;	/* per destination domain per hour */
	bool		 failure_reports_redact;
	unsigned	 failure_reports_queue;	/* reports waiting at most */
};

/* Parse a file (NULL: built-in defaults only).  On error returns NULL and
 * puts a message naming the file and line into err (size errlen). */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);

/* "addr[:port], ..." into at most CONFIG_MAX_NAMESERVERS entries. */
int		 config_parse_nameservers(const char *, struct nameserver *, size_t *n,
		    char *err, size_t errlen);

/* "host[:port]" / "[v6]:port" (port 25 when absent); host and port may be NULL. */
int		 config_parse_hostport(const char *, char *host, size_t hostlen, unsigned *port,
		    char *err, size_t errlen);

/* Socket syntax check, shared with the command line (-p). */
int		 config_check_socket(const char *spec, char *err, size_t errlen);

/* Reference-counted current snapshot. */
void		 config_install(struct config *);
struct config	*config_acquire(void);
void		 config_release(struct config *);

/* Write every option with its effective value (for -n -v, and tests). */
void		 config_dump(const struct config *, void (*)(const char *, void *), void *);

#endif
