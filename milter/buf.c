/*
 * buf.c - growable, capped, always-terminated byte strings.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* buf_init - empty buffer with the given cap (0 = default) */
void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = b->size = 0;
	b->cap = cap ? cap : BUF_DEFAULT_CAP;
	b->truncated = false;
}

/* buf_free - release the storage; the buffer may be reused after buf_init */
void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
	b->truncated = false;
}

/* buf_reset - empty the buffer but keep its storage */
void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* buf_reserve - make room for n more bytes plus the NUL */
static void
buf_reserve(struct buf *b, size_t n)
{
	size_t need = b->len + n + 1, nsize;

	if (need <= b->size)
		return;
	nsize = b->size ? b->size : 64;
	while (nsize < need)
		nsize *= 2;
	b->data = xrealloc(b->data, nsize);
	b->size = nsize;
}

/* buf_append - append n bytes; -1 (keeping what fits) when over the cap */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t cap = b->cap ? b->cap : BUF_DEFAULT_CAP;
	int rc = 0;

	if (n > cap - b->len) {
		n = cap - b->len;
		b->truncated = true;
		rc = -1;
	}
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return rc;
}

/* buf_puts - append a C string */
int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* buf_putc - append one byte */
int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

/* buf_printf - append formatted text */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	rc = buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

/* buf_detach - hand the string to the caller and leave the buffer empty */
char *
buf_detach(struct buf *b)
{
	char *s = b->data != NULL ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->size = 0;
	b->truncated = false;
	return s;
}
