/*
 * import.h - read history files (docs/history-format.md), plain or
 * gzip-compressed, into the report store.  Idempotent: importing a file
 * twice, a file that grew since, or its compressed rotated copy adds each
 * record exactly once (see store.c, "Idempotent import").
 */
#ifndef DM_IMPORT_H
#define DM_IMPORT_H

#include <stddef.h>

struct store;

/* Records per transaction: bounds memory and lock time. */
#define IMPORT_BATCH	1000

/* Lines between two on_progress calls. */
#define IMPORT_PROGRESS_LINES	1000

/*
 * Counters ADD UP over calls (zero the struct before the first).  Every
 * line read is in exactly one of: blank, malformed, partial, unreportable,
 * too_old, imported, duplicates.
 */
struct import_stats {
	unsigned long long	lines;		/* lines read */
	unsigned long long	imported;	/* new records stored */
	unsigned long long	duplicates;	/* records the store already had */
	unsigned long long	malformed;	/* lines that do not parse: reported and skipped */
	unsigned long long	blank;		/* empty lines (after a short write), skipped */
	unsigned long long	partial;	/* a last line without '\n' that does not parse yet:
						 * being written; imported next time */
	unsigned long long	unreportable;	/* no DMARC record / policy domain: not stored */
	unsigned long long	too_old;	/* of an expired day: not stored */
	unsigned long long	late;		/* of the imported: their day's report was already built */
	unsigned long long	retries;	/* batches redone after a deadlock / busy database */
	/*
	 * Optional: called for each malformed line with the file name, the
	 * line number (from 1) and history_parse's message.
	 */
	void	(*on_malformed)(void *arg, const char *path, unsigned long long lineno,
		    const char *msg);
	/*
	 * Optional: called every IMPORT_PROGRESS_LINES lines with the counters
	 * so far (imported and duplicates lag by up to one batch), e.g. for a
	 * progress display; it should be cheap.
	 */
	void	(*on_progress)(void *arg, const struct import_stats *);
	void	*arg;		/* for on_malformed and on_progress */
};

/*
 * import_file - import one history file; a name ending in anything works,
 * gzip data is recognised by its magic bytes.  Returns 0 (even when some
 * lines were malformed), or -1 with err when the file cannot be read or
 * the database fails; the batches committed before stay (a re-run is
 * safe).
 */
int	import_file(struct store *, const char *path, struct import_stats *,
	    char *err, size_t errlen);

#endif
