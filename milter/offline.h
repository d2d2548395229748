/*
 * offline.h - dmarc-milter -t: evaluate a message file exactly as the
 * milter would (same evaluation, same action, same header text) and print
 * the Authentication-Results header and the disposition.
 */
#ifndef DM_OFFLINE_H
#define DM_OFFLINE_H

#include <stdio.h>

struct runtime;

struct offline_args {
	const char	*message;	/* file, "-" for stdin */
	const char	*client_ip;
	const char	*helo;
	const char	*mail_from;	/* without <>; NULL = from Return-Path or "" */
	const char	*rcpt;
};

/* Returns an exit status: 0 evaluated, 64 usage, 66 unreadable input, 65 bad message. */
int	offline_check(struct runtime *, const struct offline_args *, FILE *out);

#endif
