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
};

/* Parse a file (NULL: built-in defaults only).  On error returns NULL and
 * puts a message naming the file and line into err (size errlen). */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);

/* Socket syntax check, shared with the command line (-p). */
int		 config_check_socket(const char *spec, char *err, size_t errlen);

/* Reference-counted current snapshot. */
void		 config_install(struct config *);
struct config	*config_acquire(void);
void		 config_release(struct config *);

/* Write every option with its effective value (for -n -v, and tests). */
void		 config_dump(const struct config *, void (*)(const char *, void *), void *);

#endif
