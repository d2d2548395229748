/*
 * hostlist.h - lists of clients: IPv4/IPv6 addresses and networks (CIDR)
 * and host names (exact, or ".example.com" for a domain and everything
 * below it).  Used by IgnoreHosts and TrustedHosts.  Immutable once built.
 */
#ifndef DM_HOSTLIST_H
#define DM_HOSTLIST_H

#include <stdbool.h>
#include <stddef.h>

struct hostlist;

/* Parse a list ("127.0.0.1, ::1/128 .example.com"); a value that starts
 * with '/' names a file with one entry per line ('#' comments), as in
 * OpenDMARC.  NULL and err on a bad entry (naming it, and the file line). */
struct hostlist	*hostlist_parse(const char *spec, char *err, size_t errlen);
void		 hostlist_free(struct hostlist *);

/* Does the client (numeric address, and/or host name) match? */
bool		 hostlist_match(const struct hostlist *, const char *addr, const char *hostname);
size_t		 hostlist_count(const struct hostlist *);

#endif
