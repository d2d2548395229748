/*
 * rconf.h - dmarc-reports.conf: where the store is, who we are as a
 * reporter, how reports are delivered.  Same syntax as dmarc-milter.conf.
 */
#ifndef DM_RCONF_H
#define DM_RCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "report.h"

struct rconf {
	char		*database;	/* file path (SQLite) or postgresql:// URI */
	char		*org_name;	/* report_metadata/org_name */
	char		*email;		/* report_metadata/email, and From: of the reports */
	char		*extra_contact_info;
	char		*receiver;	/* the receiver domain in file names; default: domain of email */
	enum report_format format;
	char		*smtp_relay;	/* host[:port] */
	bool		 smtp_starttls;
	bool		 smtp_tls_verify;
	char		*smtp_ca_file;	/* PEM CA certificates for the relay; NULL = system store */
	char		*smtp_user;
	char		*smtp_password_file;
	char		*sendmail;	/* use "sendmail -t -i" at this path instead of SMTP */
	struct nameserver nameservers[CONFIG_MAX_NAMESERVERS];
	size_t		 n_nameservers;
	unsigned	 dns_timeout;
	char		*psl_file;
};

/* Defaults, then the file (NULL: defaults only).  NULL and err on error. */
struct rconf	*rconf_load(const char *path, char *err, size_t errlen);
void		 rconf_free(struct rconf *);
/* Every option with its value, for "dmarc-reports -n". */
void		 rconf_dump(const struct rconf *, FILE *);

#endif
