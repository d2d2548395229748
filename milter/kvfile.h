/*
 * kvfile.h - the "Name value" file syntax shared by dmarc-milter.conf and
 * dmarc-reports.conf: one pair per line, '#' at the start of a line or
 * after a blank starts a comment, blank lines ignored, lines capped.
 */
#ifndef DM_KVFILE_H
#define DM_KVFILE_H

#include <stddef.h>
#include <stdio.h>

#define KVFILE_MAX_LINE	8192

/*
 * Called for each pair; the value is trimmed and never empty.  Return 0,
 * or -1 with a message in err (without file and line: kvfile adds them).
 */
typedef int (*kvfile_fn)(void *arg, unsigned lineno, const char *name, const char *value,
	    char *err, size_t errlen);

/* Read every pair of fp; -1 with "path:line: message" in err. */
int	kvfile_read(const char *path, FILE *fp, kvfile_fn, void *arg, char *err, size_t errlen);

#endif
