/*
 * rinput.h - find the aggregate reports in what arrives at a rua mailbox:
 * report files (.xml, .xml.gz, .zip, whatever their name: the content is
 * looked at) and mail carrying them (one RFC 5322 message, an mbox, a
 * Maildir), so that "dmarc-reports receive" runs from a Postfix pipe
 * transport (message on standard input), procmail/sieve, or cron over a
 * mailbox.
 *
 * MIME is read with GMime, zip archives with libzip, gzip with zlib.  Every
 * payload handed on is bounded: at most RXML_MAX_BYTES once decompressed
 * (a zip or gzip bomb is refused, not inflated), at most RINPUT_MAX_PARTS
 * attachments per message and RINPUT_MAX_MEMBERS members per archive, at
 * most RINPUT_MAX_NESTING containers inside one another.
 *
 * What counts as a container for RINPUT_MAX_NESTING: a gzip stream, a zip
 * archive, a message/rfc822 part (a forwarded report mail).  The message
 * that was read itself and its multipart structure do not count; multipart
 * nesting has its own bound (RINPUT_MAX_MIME_DEPTH).  So a gzip in a zip in
 * a zip in a forwarded mail is read, one more level is refused.
 *
 * A part is handed on when it decodes to gzip, zip or XML: gzip and zip by
 * their magic bytes, XML when the part is declared XML (text/xml,
 * application/xml, *+xml, a name ending in .xml) or its text begins like
 * a report ("<?xml", "<feedback", "<x:feedback"), so that an HTML or text
 * body that happens to start with '<' is not taken for one.  A part that
 * is declared a report (gzip, zip or XML by type or name) and does not
 * decode to one is a problem; other parts are not looked at further.
 *
 * Lenient where receivers are sloppy: bytes after the end of a complete
 * gzip stream (Mimecast sends a CRLF there) are ignored; when they are
 * not white space, the payload is still handed on and a problem says so.
 * A second gzip member is read as gzip(1) does.  Everything is read only:
 * nothing in a Maildir or mbox is moved, renamed or written.
 */
#ifndef DM_REPORTS_RINPUT_H
#define DM_REPORTS_RINPUT_H

#include <stddef.h>

#define RINPUT_MAX_PARTS	64
#define RINPUT_MAX_MEMBERS	64
#define RINPUT_MAX_NESTING	4
#define RINPUT_MAX_MESSAGE	(100u << 20)	/* one mail message as read */
#define RINPUT_MAX_MIME_DEPTH	16		/* multipart inside multipart */

struct rinput_cb {
	/*
	 * One XML payload.  origin names where it came from, for messages
	 * and logs: "PATH", "PATH:member.xml" (zip), "PATH#3" (3rd message of
	 * an mbox) with " <message-id>" and ":attachment-name" appended as
	 * known.  Return 0 to go on, -1 to stop everything (a database
	 * error): rinput_path then returns -1.
	 */
	int	(*report)(void *arg, const char *origin, const char *xml, size_t len);
	/*
	 * Something that is not a report or cannot be read (a message with
	 * no report attached, a broken gzip, a zip bomb, a bad MIME part):
	 * said with its origin, and the rest goes on.
	 */
	void	(*problem)(void *arg, const char *origin, const char *msg);
	void	*arg;
};

/*
 * rinput_path - everything in path: a Maildir (a directory with cur/ and
 * new/: every message in both, in the order of their file names, which
 * begin with the delivery time; read only, nothing moved; tmp/ is not
 * read), another directory (every regular file directly in it, in name
 * order: saved attachments), an mbox (a file that starts with "From "),
 * one message, or a report file.  "-" is standard input (a message, an mbox, or a report
 * file; a pipe is spooled to an unlinked temporary file).  Returns the
 * number of payloads handed to cb->report, or -1 when path cannot be read
 * at all or cb->report asked to stop (err says why).
 */
long	rinput_path(const char *path, const struct rinput_cb *cb, char *err, size_t errlen);

/*
 * rinput_buffer - the same for len bytes already in memory (a file's
 * content, one message); name is the origin to use.
 */
long	rinput_buffer(const char *name, const char *data, size_t len,
	    const struct rinput_cb *cb, char *err, size_t errlen);

/*
 * rinput_shutdown - release what GMime holds (g_mime_shutdown); call once
 * at exit, after the last rinput_path/rinput_buffer.  GMime is set up on
 * first use.  Not thread-safe: dmarc-reports reads its input on one thread.
 */
void	rinput_shutdown(void);

#endif
