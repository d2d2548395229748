/*
 * opendmarc_compat.h - OpenDMARC's configuration options and what each one
 * becomes in dmarc-milter, for postmasters who migrate.
 *
 * The table lists every option OpenDMARC's milter accepts (its option
 * table opendmarc/opendmarc-config.h in 1.4.2, the options its develop
 * branch adds, and the pre-1.3.0 "Forensic" names).  opendmarc_migrate
 * reads an opendmarc.conf and writes a report and a dmarc-milter.conf
 * fragment; docs/opendmarc-migration.md is the same table for people.
 */
#ifndef DM_OPENDMARC_COMPAT_H
#define DM_OPENDMARC_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum compat_status {
	COMPAT_SAME,		/* same name, same meaning */
	COMPAT_RENAMED,		/* another name here, same meaning */
	COMPAT_CHANGED,		/* same name or renamed, the value means something else */
	COMPAT_NOT_NEEDED,	/* nothing to set: dmarc-milter does it anyway, or it is the
				 * service manager's job */
	COMPAT_UNSUPPORTED	/* the feature does not exist here */
};

/* How OpenDMARC reads the value (its CONFIG_TYPE_*). */
enum compat_type {
	COMPAT_T_STRING,
	COMPAT_T_BOOL,		/* only the first character counts: t/y/1 or f/n/0 */
	COMPAT_T_INT		/* strtol(..., 0): 0x.. hexadecimal, 0.. octal */
};

struct compat_entry {
	const char	*opendmarc;	/* the name as OpenDMARC spells it */
	enum compat_status status;
	const char	*ours;		/* our option; NULL when none */
	const char	*note;		/* one or two sentences for the report and the docs */
	enum compat_type type;
};

/* Case-insensitive lookup; NULL if name is not an OpenDMARC option. */
const struct compat_entry *opendmarc_option(const char *name);

/* The whole table (*n entries), in the order of the documentation. */
const struct compat_entry *opendmarc_options(size_t *n);

/* "same", "renamed", "changed", "not needed", "unsupported". */
const char	*compat_status_str(enum compat_status);

/*
 * opendmarc_migrate - read an OpenDMARC configuration file (OpenDMARC's
 * rules: a '#' anywhere starts a comment, the last of repeated options
 * wins, booleans by their first letter) and write to out, per option:
 * file:line, option, value, what it becomes and why; then a
 * dmarc-milter.conf fragment in which every active line has passed our
 * own parser (lines that need a decision are written commented out); then
 * "summary: N same, N renamed, N changed, N not needed, N unsupported,
 * N unknown, N invalid, N refused, N native, N repeated; N cannot be
 * carried over".
 *
 * unknown: neither OpenDMARC's option nor ours.  invalid: a value
 * OpenDMARC itself refuses.  refused: the translated line fails our
 * parser (e.g. an IgnoreHosts file with '!' entries).  native: already a
 * dmarc-milter option.  repeated: an earlier line that a later one
 * overrides.
 *
 * Returns how many options cannot be carried over (unsupported + unknown
 * + invalid + refused), 0 when everything can; -1 with err when the file
 * cannot be read or has a line OpenDMARC would refuse to parse (a name
 * without value).  Translated lines are checked by loading each into
 * config_load through a temporary file under $TMPDIR (or /tmp).
 */
int		 opendmarc_migrate(const char *path, FILE *out, char *err, size_t errlen);

/*
 * opendmarc_looks_like - the file sets at least one option that is
 * OpenDMARC's and not ours, or uses OpenDMARC's HOSTNAME keyword in
 * AuthservID or TrustedAuthservIDs (our parser would take it literally),
 * so "-n -c FILE" should print the migration report instead of a parse
 * error.  False when the file cannot be read.
 */
bool		 opendmarc_looks_like(const char *path);

#endif
