/*
 * fuzz_rxml.c - aggregate reports as receivers send them (reports/rxml.c).
 *
 * The input is one XML document, handed over in a tight copy so ASan sees
 * any read past its end.  A refusal must come with a reason and no report;
 * a report read must keep every promise rxml.h makes (identity present,
 * 0 <= begin <= end, bounded rows, each with an address and non-NULL
 * verdicts, lower-case keywords and domains).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "report.h"
#include "rxml.h"
#include "fuzz.h"

/* LLVMFuzzerInitialize - once per process */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* no_upper - s has no ASCII capital letter (keywords, domains) */
static int
no_upper(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 0;
	return 1;
}

/* check_row - the promises of rxml.h for one row */
static void
check_row(const struct report_row *w)
{
	unsigned char a[sizeof(struct in6_addr)];
	size_t i;

	FUZZ_CHECK(w->source_ip != NULL);
	FUZZ_CHECK(inet_pton(AF_INET, w->source_ip, a) == 1 ||
	    inet_pton(AF_INET6, w->source_ip, a) == 1);
	FUZZ_CHECK(w->count <= RXML_MAX_COUNT);
	FUZZ_CHECK(w->disposition != NULL && w->dkim != NULL && w->spf != NULL);
	FUZZ_CHECK(w->header_from != NULL && no_upper(w->header_from));
	FUZZ_CHECK(no_upper(w->disposition) && no_upper(w->dkim) && no_upper(w->spf));
	FUZZ_CHECK(w->n_dkim <= RXML_MAX_RESULTS && w->n_spf <= RXML_MAX_RESULTS);
	FUZZ_CHECK(w->n_reasons <= RXML_MAX_RESULTS);
	for (i = 0; i < w->n_dkim; i++)
		FUZZ_CHECK(no_upper(w->dkim_results[i].domain) && no_upper(w->dkim_results[i].result));
	for (i = 0; i < w->n_spf; i++)
		FUZZ_CHECK(no_upper(w->spf_results[i].domain) && no_upper(w->spf_results[i].scope));
	for (i = 0; i < w->n_reasons; i++)
		FUZZ_CHECK(w->reasons[i].type != NULL);
}

/* LLVMFuzzerTestOneInput - one document */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rxml_notes notes;
	struct report *r = (struct report *)&notes;	/* must be overwritten */
	char err[512], *copy = malloc(size > 0 ? size : 1);
	size_t i;
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	err[0] = 'x';
	rc = rxml_parse(copy, size, &r, &notes, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(memchr(notes.first, '\0', sizeof(notes.first)) != NULL);
	if (rc == -1) {
		FUZZ_CHECK(r == NULL);
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		FUZZ_CHECK(r != NULL);
		FUZZ_CHECK(r->org_name != NULL && r->org_name[0] != '\0');
		FUZZ_CHECK(r->report_id != NULL && r->report_id[0] != '\0');
		FUZZ_CHECK(r->domain != NULL && r->domain[0] != '\0' && no_upper(r->domain));
		FUZZ_CHECK(r->email != NULL && r->p != NULL && r->adkim != NULL && r->aspf != NULL);
		FUZZ_CHECK(r->begin >= 0 && r->begin <= r->end);
		FUZZ_CHECK(r->pct >= -1 && r->pct <= 100);
		FUZZ_CHECK(r->format == REPORT_RFC9990 || r->format == REPORT_RFC7489);
		FUZZ_CHECK(r->n_rows <= RXML_MAX_RECORDS);
		FUZZ_CHECK((r->n_rows == 0) == (r->rows == NULL));
		for (i = 0; i < r->n_rows; i++)
			check_row(&r->rows[i]);
		rxml_free(r);
	}
	free(copy);
	return 0;
}
