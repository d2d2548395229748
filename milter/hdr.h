/*
 * hdr.h - header field utilities: RFC 5322 From parsing (author domains),
 * RFC 8601 Authentication-Results parsing, and rebuilding a header field
 * for libopendkim.
 *
 * All functions take the field *value* as a milter receives it: possibly
 * with leading white space (SMFIP_HDR_LEADSPC) and folded with "\r\n" or a
 * bare "\n" followed by WSP (Postfix joins continuation lines with "\n").
 * Nothing here keeps global state; everything is thread-safe.
 */
#ifndef DM_HDR_H
#define DM_HDR_H

#include <stdbool.h>
#include <stddef.h>

#define HDR_MAX_VALUE		(1024u * 1024)	/* longest value we parse */
#define HDR_FROM_MAX_ADDRS	100		/* addresses in one From field */
#define HDR_MAX_COMMENT_DEPTH	64		/* nested "(...)" comments */
#define HDR_AR_MAX_RESULTS	64		/* resinfo per A-R field */
#define HDR_AR_MAX_PROPS	64		/* propspec per resinfo */

/*
 * hdr_from_domains - the domains of all addresses in a From field value.
 *
 * Parses the value as an RFC 5322 §3.4 address-list including the
 * obsolete syntax of §4.4 (groups too: RFC 6854).  On success returns 0
 * and a malloc'd array of malloc'd domain strings in order of appearance,
 * exactly as written (comments and CFWS removed, otherwise not
 * normalized), with case-insensitive duplicates collapsed.  Returns -1
 * and a message in err on a syntax error, an address without a domain, a
 * domain literal, an invalid UTF-8 domain, no address at all, or more
 * than HDR_FROM_MAX_ADDRS addresses.  Free the result with
 * hdr_domains_free().
 */
int	 hdr_from_domains(const char *value, char ***domains, size_t *n,
	    char *err, size_t errlen);
void	 hdr_domains_free(char **, size_t);

/*
 * hdr_from_salvage - for a From value that hdr_from_domains() refused:
 * the domain after every '@' in it (letters, digits, '-', '_', '.', UTF-8;
 * no empty label), at most HDR_FROM_MAX_ADDRS, duplicates collapsed.  A
 * broken field must not hide a domain that a reader's mail program may
 * still show.  Returns 0 with at least one domain, -1 with none.
 */
int	 hdr_from_salvage(const char *value, char ***domains, size_t *n);

/* One "ptype.property=value" of a resinfo (RFC 8601 §2.2 propspec). */
struct hdr_ar_prop {
	char	*ptype;		/* "" for a bare "name=value" (Microsoft) */
	char	*property;
	char	*value;		/* quoted-strings unquoted */
};

/* One resinfo: "method[/version]=result [reason=...] props...". */
struct hdr_ar_result {
	char	*method;	/* as written; compare case-insensitively */
	char	*result;
	char	*reason;	/* NULL when absent */
	struct hdr_ar_prop *props;
	size_t	 n_props;
	unsigned version;	/* method-version; 1 when absent */
};

/* A parsed Authentication-Results value (RFC 8601 §2.2). */
struct hdr_ar {
	char	*authserv_id;	/* "" when missing (Microsoft style) */
	unsigned version;	/* authres-version; 1 when absent */
	struct hdr_ar_result *results;
	size_t	 n_results;
	bool	 none;		/* "authserv-id; none" */
};

int	 hdr_ar_parse(const char *value, struct hdr_ar *out, char *err,
	    size_t errlen);
void	 hdr_ar_free(struct hdr_ar *);

/*
 * hdr_ar_authserv_is - does this A-R value carry authserv_id?
 *
 * Only the leading authserv-id (token or quoted-string, after optional
 * CFWS) has to parse; the rest of the value is not looked at, so that a
 * forged header with our id and a garbled tail is still recognised and
 * removed (RFC 8601 §5).  The comparison is exact and ASCII
 * case-insensitive, never a substring match.
 */
bool	 hdr_ar_authserv_is(const char *value, const char *authserv_id);

/*
 * hdr_dkim_field - "Name:value" for dkim_header(): a " " after the colon
 * when the MTA ate it (leadspc false), and every bare "\n" turned into
 * "\r\n".  Returns a malloc'd string.
 */
char	*hdr_dkim_field(const char *name, const char *value, bool leadspc);

#endif
