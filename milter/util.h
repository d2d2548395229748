/*
 * util.h - allocation that never returns NULL, and small string helpers.
 *
 * Allocation failure is fatal (log_fatal), so no caller carries an OOM
 * branch; this follows Postfix's mymalloc and OpenSMTPD's xmalloc.
 */
#ifndef DM_UTIL_H
#define DM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* ASCII-only case helpers; the locale must never change what a domain is. */
char	 ascii_tolower(char);
void	 ascii_lowercase(char *);
bool	 ascii_strcaseeq(const char *, const char *);
bool	 ascii_strncaseeq(const char *, const char *, size_t);
/* Is name dom itself or a name below it (label boundary)?  ASCII
 * case-insensitive, one trailing dot on either ignored; an empty dom
 * covers nothing. */
bool	 domain_at_or_below(const char *name, const char *dom);

/* Seconds since the epoch, or ISO 8601 "YYYY-MM-DD[THH:MM:SS][Z|+00:00]"
 * read as UTC; 0, or -1 when s is neither. */
int	 time_parse_utc(const char *s, time_t *out);

/* Format into a caller's error buffer; err may be NULL (nothing written). */
void	 err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Trim leading and trailing white space in place; returns the start. */
char	*str_trim(char *);

/* RFC 5322 §3.3 date-time in UTC, without the locale: "Mon, 23 Nov 2026 10:00:00 +0000" */
#define RFC5322_DATE_LEN	40
void	 rfc5322_date(time_t, char *out, size_t len);

#endif
