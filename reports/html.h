/*
 * html.h - the domain owner's report as one self-contained HTML page: no
 * script, no external resource (styles inline, charts as inline SVG), so
 * it can be mailed, archived and opened anywhere.  It shows the readiness
 * verdict and what blocks it, the KPIs, the DMARC pass rate over time,
 * the sources by authentication status (stacked bars), the remediations
 * seen (before/after), and the source inventory.
 */
#ifndef DM_REPORTS_HTML_H
#define DM_REPORTS_HTML_H

#include <stddef.h>

#include "analyze.h"
#include "buf.h"

/*
 * html_report - append the page for a (and r, which may be NULL) to out.
 * Every value from the reports is escaped.  Returns 0, or -1 with err
 * (out's cap reached).
 */
int	html_report(const struct analysis *a, const struct readiness *r, struct buf *out,
	    char *err, size_t errlen);

#endif
