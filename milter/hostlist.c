/*
 * hostlist.c - address/network/host-name lists.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostlist.h"
#include "util.h"

#define HOSTLIST_MAX	100000	/* entries; a bigger list is a mistake */

struct hostentry {
	int		 family;	/* AF_INET, AF_INET6, or AF_UNSPEC for a name */
	unsigned char	 addr[16];
	unsigned	 prefix;	/* bits */
	char		*name;		/* lowercase; leading '.' = suffix match */
};

struct hostlist {
	struct hostentry *e;
	size_t		 n;
};

/*
 * valid_name - host name or ".domain": letters, digits, '-', '_', '.'; the
 * last label is not all digits (RFC 1123 §2.1), so a mistyped address such
 * as 300.1.1.1 is refused rather than taken for a name.
 */
static bool
valid_name(const char *s)
{
	const char *p = (*s == '.') ? s + 1 : s, *last;
	bool digits_only = true;

	if (*p == '\0' || strlen(p) > 253)
		return false;
	for (; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	last = strrchr(s, '.');
	for (p = last != NULL ? last + 1 : s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			digits_only = false;
	return !digits_only;
}

/* hostlist_add - parse one entry; -1 with err */
static int
hostlist_add(struct hostlist *l, const char *tok, char *err, size_t errlen)
{
	struct hostentry e = { AF_UNSPEC, { 0 }, 0, NULL };
	char *copy = xstrdup(tok), *slash = strchr(copy, '/');
	unsigned long bits;
	char *end;

	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, copy, e.addr) == 1) {
		e.family = AF_INET;
		e.prefix = 32;
	} else if (inet_pton(AF_INET6, copy, e.addr) == 1) {
		e.family = AF_INET6;
		e.prefix = 128;
	} else if (slash == NULL && valid_name(copy)) {
		e.name = copy;
		ascii_lowercase(e.name);
		copy = NULL;
	} else {
		snprintf(err, errlen, "\"%s\" is not an address, network or host name", tok);
		free(copy);
		return -1;
	}
	if (slash != NULL) {
		errno = 0;
		bits = strtoul(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno != 0 || bits > e.prefix) {
			snprintf(err, errlen, "\"%s\": bad prefix length", tok);
			free(copy);
			return -1;
		}
		e.prefix = (unsigned)bits;
	}
	free(copy);
	if (l->n >= HOSTLIST_MAX) {
		snprintf(err, errlen, "more than %d entries", HOSTLIST_MAX);
		free(e.name);
		return -1;
	}
	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n++] = e;
	return 0;
}

/* hostlist_add_text - every entry in a comma/blank separated string */
static int
hostlist_add_text(struct hostlist *l, const char *text, char *err, size_t errlen)
{
	char *copy = xstrdup(text), *save = NULL, *tok;
	int rc = 0;

	for (tok = strtok_r(copy, ", \t\r\n", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ", \t\r\n", &save))
		rc = hostlist_add(l, tok, err, errlen);
	free(copy);
	return rc;
}

/* hostlist_add_file - one or more entries per line, '#' comments */
static int
hostlist_add_file(struct hostlist *l, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *hash, msg[256];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, fp) >= 0) {
		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		if ((rc = hostlist_add_text(l, line, msg, sizeof(msg))) != 0)
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
	}
	free(line);
	fclose(fp);
	return rc;
}

/* hostlist_parse - build a list from an inline spec or a file */
struct hostlist *
hostlist_parse(const char *spec, char *err, size_t errlen)
{
	struct hostlist *l = xcalloc(1, sizeof(*l));
	int rc;

	rc = (spec[0] == '/') ? hostlist_add_file(l, spec, err, errlen) :
	    hostlist_add_text(l, spec, err, errlen);
	if (rc != 0) {
		hostlist_free(l);
		return NULL;
	}
	return l;
}

/* hostlist_free - release a list */
void
hostlist_free(struct hostlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	free(l);
}

/* prefix_match - the first bits of a and b agree */
static bool
prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/* name_match - exact, or suffix for a ".domain" entry */
static bool
name_match(const char *entry, const char *host)
{
	size_t hl = strlen(host), el;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (entry[0] != '.')
		return strlen(entry) == hl && ascii_strncaseeq(entry, host, hl);
	el = strlen(entry);
	/* ".example.com" matches example.com itself and anything under it */
	if (hl == el - 1 && ascii_strncaseeq(entry + 1, host, hl))
		return true;
	return hl > el && ascii_strncaseeq(entry, host + hl - el, el);
}

/* hostlist_match - does addr or hostname match any entry */
bool
hostlist_match(const struct hostlist *l, const char *addr, const char *hostname)
{
	unsigned char a4[4], a6[16];
	bool have4 = false, have6 = false;
	size_t i;

	if (l == NULL)
		return false;
	if (addr != NULL && *addr != '\0') {
		have4 = inet_pton(AF_INET, addr, a4) == 1;
		have6 = !have4 && inet_pton(AF_INET6, addr, a6) == 1;
		/* An IPv4-mapped IPv6 address matches IPv4 entries. */
		if (have6 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memcpy(a4, a6 + 12, 4);
			have4 = true;
		}
	}
	for (i = 0; i < l->n; i++) {
		const struct hostentry *e = &l->e[i];

		if (e->family == AF_INET && have4 && prefix_match(e->addr, a4, e->prefix))
			return true;
		if (e->family == AF_INET6 && have6 && prefix_match(e->addr, a6, e->prefix))
			return true;
		if (e->family == AF_UNSPEC && hostname != NULL && *hostname != '\0' &&
		    hostname[0] != '[' && name_match(e->name, hostname))
			return true;
	}
	return false;
}

/* hostlist_count - number of entries */
size_t
hostlist_count(const struct hostlist *l)
{
	return l != NULL ? l->n : 0;
}
