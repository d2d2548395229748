/*
 * util.c - allocation wrappers and ASCII string helpers.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* xmalloc - malloc that dies on exhaustion */
void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory allocating %zu bytes", n);
	return p;
}

/* xcalloc - calloc that dies on exhaustion or overflow */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		log_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

/* xrealloc - realloc that dies on exhaustion */
void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		log_fatal("out of memory reallocating %zu bytes", n);
	return p;
}

/* xstrdup - strdup that dies on exhaustion */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* xstrndup - copy at most n bytes of s, always terminated */
char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* xasprintf - formatted allocation that dies on exhaustion */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_fatal("out of memory formatting a string");
	return p;
}

/* err_set - format into the caller's err buffer, if there is one */
void
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ascii_tolower - locale-independent tolower */
char
ascii_tolower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ascii_lowercase - lowercase ASCII letters in place */
void
ascii_lowercase(char *s)
{
	for (; *s != '\0'; s++)
		*s = ascii_tolower(*s);
}

/* ascii_strcaseeq - case-insensitive ASCII equality */
bool
ascii_strcaseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_tolower(*a) != ascii_tolower(*b))
			return false;
	return *a == *b;
}

/* ascii_strncaseeq - case-insensitive ASCII equality of at most n bytes */
bool
ascii_strncaseeq(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		if (ascii_tolower(*a) != ascii_tolower(*b))
			return false;
		if (*a == '\0')
			return true;
	}
	return true;
}

/* domain_at_or_below - name is dom or below it (label boundary, a trailing dot ignored) */
bool
domain_at_or_below(const char *name, const char *dom)
{
	size_t n = strlen(name), d = strlen(dom);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (d > 0 && dom[d - 1] == '.')
		d--;
	if (d == 0 || n < d || !ascii_strncaseeq(name + n - d, dom, d))
		return false;
	return n == d || name[n - d - 1] == '.';
}

/* time_parse_utc - epoch seconds, or an ISO 8601 date and time in UTC */
int
time_parse_utc(const char *s, time_t *out)
{
	struct tm tm;
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (*s >= '0' && *s <= '9' && *end == '\0' && errno == 0) {
		*out = (time_t)n;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && (*end == 'T' || *end == ' '))
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0))
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* str_trim - strip leading and trailing blanks in place */
char *
str_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* rfc5322_date - "Mon, 23 Nov 2026 10:00:00 +0000" (RFC 5322 §3.3), UTC, no locale */
void
rfc5322_date(time_t t, char *out, size_t len)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
	    mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
