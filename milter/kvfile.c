/*
 * kvfile.c - read "Name value" configuration files.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvfile.h"
#include "util.h"

/* strip_comment - cut at a '#' that starts the line or follows a blank */
static void
strip_comment(char *line)
{
	char *p;

	for (p = line; *p != '\0'; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

/* kvfile_read - see kvfile.h */
int
kvfile_read(const char *path, FILE *fp, kvfile_fn fn, void *arg, char *err, size_t errlen)
{
	char msg[512];
	char *line = NULL, *name, *value;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int rc = 0;

	while (rc == 0 && (n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (n > KVFILE_MAX_LINE) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno, KVFILE_MAX_LINE);
			rc = -1;
		} else if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", path, lineno);
			rc = -1;
		} else {
			strip_comment(line);
			name = str_trim(line);
			if (*name == '\0')
				continue;
			value = name + strcspn(name, " \t");
			if (*value != '\0')
				*value++ = '\0';
			value = str_trim(value);
			if (*value == '\0') {
				snprintf(err, errlen, "%s:%u: %s needs a value", path, lineno, name);
				rc = -1;
			} else if (fn(arg, lineno, name, value, msg, sizeof(msg)) != 0) {
				snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
				rc = -1;
			}
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	return rc;
}
