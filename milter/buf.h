/*
 * buf.h - growable byte string, always NUL-terminated, with a hard cap.
 *
 * Everything that comes from outside (headers, DNS text, SMTP arguments) is
 * collected in a struct buf rather than a fixed char[].  Appends past the cap
 * are refused (return -1, the buffer keeps what fit and is marked
 * truncated), so a hostile peer can never make us grow without bound.
 */
#ifndef DM_BUF_H
#define DM_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;		/* bytes in use, not counting the NUL */
	size_t	 size;		/* bytes allocated */
	size_t	 cap;		/* hard limit on len; 0 = BUF_DEFAULT_CAP */
	bool	 truncated;	/* an append was refused */
};

#define BUF_DEFAULT_CAP	(16u * 1024 * 1024)
#define BUF_INIT	{ NULL, 0, 0, 0, false }

void	 buf_init(struct buf *, size_t cap);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_putc(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
char	*buf_detach(struct buf *);

/* buf_str - the contents as a C string ("" when empty) */
static inline const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

#endif
