/*
 * present.h - the domain owner's views (sources, kpis, readiness) as a
 * terminal table, JSON or CSV.  They print what analyze.c computed and
 * compute nothing of their own.  Values that came from reports are made
 * harmless for each format: control characters never reach a terminal,
 * CSV fields are quoted (RFC 4180) and a text field that a spreadsheet
 * would take for a formula gets a leading apostrophe.
 */
#ifndef DM_REPORTS_PRESENT_H
#define DM_REPORTS_PRESENT_H

#include <stdio.h>

#include "analyze.h"

enum present_format {
	PRESENT_TABLE = 0,
	PRESENT_JSON,
	PRESENT_CSV
};

/* present_format_parse - "table", "json", "csv"; -1 for anything else */
int	present_format_parse(const char *, enum present_format *);

/* Each returns 0, or -1 when writing failed (ferror). */
int	present_sources(const struct analysis *, enum present_format, FILE *);
/* kpis: n analyses (one per domain; JSON: an array when n != 1) */
int	present_kpis(const struct analysis *const *, size_t n, enum present_format, FILE *);
int	present_readiness(const struct analysis *, const struct readiness *, enum present_format,
	    FILE *);

/* present_csv_field - one CSV field, quoted when needed, formula-guarded when text */
void	present_csv_field(FILE *, const char *, int text);

#endif
