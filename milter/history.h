/*
 * history.h - history records: the contract between the milter and the
 * report tool (dmarc-reports).  Writer, reader and appender live in this
 * one module so that both programs link the same code.
 *
 * One record per message, one JSON object per line (JSON Lines), "v":1
 * first.  docs/history-format.md documents every field, the versioning
 * rules and the rotation procedure.
 */
#ifndef DM_HISTORY_H
#define DM_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "result.h"

#define HISTORY_VERSION		1
#define HISTORY_MAX_LINE	(512u * 1024)	/* writer never exceeds it, reader refuses more */

/* Caps the writer applies (strings in bytes, cut at a UTF-8 boundary). */
#define HISTORY_MAX_STR		255	/* domains, selectors, ip, queue id, ... */
#define HISTORY_MAX_TAG		64	/* algorithm, action, fo, rf */
#define HISTORY_MAX_TEXT	512	/* addresses, human texts, comments */
#define HISTORY_MAX_URI		256	/* one rua / ruf URI */
#define HISTORY_MAX_RAW		1024	/* the published DMARC record */
#define HISTORY_MAX_RCPT_DOMAINS 32
#define HISTORY_MAX_DKIM	16
#define HISTORY_MAX_DMARC	4
#define HISTORY_MAX_URIS	8	/* per rua / ruf list */

/* What the milter knows about the message besides the verdict. */
struct history_msg {
	time_t		 when;		/* 0: use the verdict's time */
	const char	*id;		/* unique per record (two identical messages in one
					 * second stay two records); NULL when none */
	const char	*queue_id;	/* MTA queue id; NULL when unknown */
	const char	*reporter;	/* authserv-id / reporting organisation */
	const char	*client_ip;	/* "" for a non-IP (local) client */
	const char	*helo;
	const char	*mail_from;	/* envelope sender without <>; "" = null sender */
	const char *const *rcpt_domains;	/* envelope recipient domains */
	size_t		 n_rcpt_domains;
};

/*
 * A record as read back.  All strings are owned (NULL when absent or
 * null); the verdict is rebuilt completely except dkim[].b, which is not
 * recorded (it only serves the A-R header).
 */
struct history_record {
	int		 version;
	time_t		 when;		/* also in v.when */
	char		*id;		/* NULL in records written without one */
	char		*queue_id;
	char		*reporter;
	char		*client_ip;
	char		*helo;
	char		*mail_from;
	char		*mail_from_domain;
	char		*header_from;	/* the deciding author domain */
	char		**rcpt_domains;
	size_t		 n_rcpt_domains;
	char		*action;	/* accept, reject, quarantine, tempfail, ... */
	bool		 truncated;	/* the writer hit one of its caps */
	struct verdict	 v;
};

/*
 * history_format - append one record (one line ending in '\n') to line.
 * action is what the milter did ("accept", "reject", "quarantine",
 * "tempfail"; lowercase letters, '-' and '_').  Returns 0, or -1 with line
 * unchanged when the input is unusable (NULL action, no client_ip).
 */
int	history_format(const struct history_msg *, const struct verdict *,
	    const char *action, struct buf *line_out);

/*
 * history_parse - read one line (the trailing '\n' is optional).  Returns 0
 * and fills *out (free with history_record_free), or -1 with a message in
 * err and *out empty.  Strict about types and required fields, tolerant of
 * unknown fields, refuses v > HISTORY_VERSION.
 */
int	history_parse(const char *line, size_t len, struct history_record *out,
	    char *err, size_t errlen);
void	history_record_free(struct history_record *);

/*
 * The appender.  Thread-safe: any number of threads may history_append()
 * while one thread calls history_reopen(); history_close() only when no
 * other thread uses the handle any more.
 */
struct history_file;

struct history_stats {
	uint64_t	appended;	/* records written completely */
	uint64_t	failed;		/* records not (completely) written */
	uint64_t	short_writes;	/* of which: partial writes */
	uint64_t	reopens;	/* successful reopens */
	uint64_t	reopen_failures;
};

/* Seconds between two log lines about failed appends (the first is logged at once). */
#define HISTORY_ERROR_INTERVAL	60

struct history_file *history_open(const char *path, char *err, size_t errlen);
/* Change that interval (HistoryErrorInterval); 0 logs every failure. */
void	history_set_error_interval(struct history_file *, unsigned seconds);
int	history_append(struct history_file *, const char *line, size_t len);
int	history_reopen(struct history_file *);
void	history_get_stats(struct history_file *, struct history_stats *);
void	history_close(struct history_file *);

#endif
