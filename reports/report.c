/*
 * report.c - life cycle of one DMARC aggregate report (report.h).
 *
 * The report owns every string and array it points to; report_free gives
 * them all back.  The struct itself belongs to the caller (it may live on
 * the stack, like struct verdict in the milter), so report_free releases
 * the contents and leaves a zeroed report behind that may be reused or
 * freed again.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"

/* report_dkim_clear - release the strings of one DKIM result */
void
report_dkim_clear(struct report_dkim *d)
{
	free(d->domain);
	free(d->selector);
	free(d->result);
	free(d->human_result);
}

/* report_spf_clear - release the strings of one SPF result */
static void
report_spf_clear(struct report_spf *s)
{
	free(s->domain);
	free(s->scope);
	free(s->result);
	free(s->human_result);
}

/* report_row_clear - release everything one row owns */
static void
report_row_clear(struct report_row *r)
{
	size_t i;

	free(r->source_ip);
	free(r->disposition);
	free(r->dkim);
	free(r->spf);
	for (i = 0; i < r->n_reasons && r->reasons != NULL; i++) {
		free(r->reasons[i].type);
		free(r->reasons[i].comment);
	}
	free(r->reasons);
	free(r->envelope_to);
	free(r->envelope_from);
	free(r->header_from);
	for (i = 0; i < r->n_dkim && r->dkim_results != NULL; i++)
		report_dkim_clear(&r->dkim_results[i]);
	free(r->dkim_results);
	for (i = 0; i < r->n_spf && r->spf_results != NULL; i++)
		report_spf_clear(&r->spf_results[i]);
	free(r->spf_results);
}

/*
 * report_free - release everything the report owns and leave it zeroed
 * (format REPORT_RFC9990, no rows); NULL is allowed.
 */
void
report_free(struct report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	free(rep->org_name);
	free(rep->email);
	free(rep->extra_contact_info);
	free(rep->report_id);
	free(rep->error);
	free(rep->generator);
	free(rep->domain);
	free(rep->p);
	free(rep->sp);
	free(rep->np);
	free(rep->adkim);
	free(rep->aspf);
	free(rep->fo);
	free(rep->testing);
	free(rep->discovery_method);
	for (i = 0; i < rep->n_rows && rep->rows != NULL; i++)
		report_row_clear(&rep->rows[i]);
	free(rep->rows);
	memset(rep, 0, sizeof(*rep));
}
