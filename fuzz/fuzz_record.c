/*
 * fuzz_record.c - DMARC policy records as a TXT lookup returns them.
 *
 * The input is the TXT RRset at a _dmarc name: records separated by a
 * 0xff byte (a byte no DMARC record may contain, so the seeds stay plain
 * text), each possibly with NUL bytes, as dns.c hands them over.
 * dmarc_record_select picks the DMARC one; every record also goes through
 * dmarc_record_parse on its own, and the rua/ruf URIs of a parsed record
 * through rua.c's list and mailto parsers, as dmarc-reports does.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc_record.h"
#include "rua.h"
#include "fuzz.h"

#define MAX_RECORDS	16

/* LLVMFuzzerInitialize - once per process */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

/* check_uris - what the report side does with a parsed record's URIs */
static void
check_uris(const struct dmarc_uri *u, size_t n)
{
	struct dmarc_uri *again;
	size_t i, n_again;
	char err[256], *addr, *host;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(u[i].uri != NULL);
		if (rua_parse_mailto(u[i].uri, &addr, &host, err, sizeof(err)) == 0) {
			FUZZ_CHECK(addr != NULL && host != NULL);
			free(addr);
			free(host);
		}
		/* a URI the record parser accepted is one element of a list */
		if (rua_parse_list(u[i].uri, &again, &n_again, err, sizeof(err)) == 0)
			rua_uris_free(again, n_again);
	}
}

/* parse_one - one TXT record, exactly len bytes (no terminator) */
static void
parse_one(const char *txt, size_t len)
{
	struct dmarc_record r;
	char err[512];
	char *copy = malloc(len > 0 ? len : 1);	/* a tight copy: ASan sees overreads */

	if (copy == NULL)
		abort();
	memcpy(copy, txt, len);
	memset(&r, 0, sizeof(r));
	switch (dmarc_record_parse(copy, len, &r, err, sizeof(err))) {
	case DMARC_PARSE_OK:
		FUZZ_CHECK(r.p != DMARC_POLICY_UNSET);
		FUZZ_CHECK(r.raw != NULL);
		(void)dmarc_policy_str(r.p);
		(void)dmarc_policy_str(r.sp);
		(void)dmarc_policy_str(r.np);
		check_uris(r.rua, r.n_rua);
		check_uris(r.ruf, r.n_ruf);
		if (r.rua != NULL || r.n_rua > 0)
			FUZZ_CHECK(r.rua != NULL && r.n_rua > 0);
		dmarc_record_free(&r);
		break;
	case DMARC_PARSE_INVALID:
		dmarc_record_free(&r);
		break;
	case DMARC_PARSE_NOT_DMARC:
		dmarc_record_free(&r);
		break;
	default:
		FUZZ_CHECK(!"unknown dmarc_record_parse result");
	}
	free(copy);
}

/* LLVMFuzzerTestOneInput - one TXT RRset */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt[MAX_RECORDS];
	size_t len[MAX_RECORDS], n = 0, i, which = (size_t)-1, start = 0;
	int rc;

	for (i = 0; i <= size && n < MAX_RECORDS; i++) {
		if (i == size || data[i] == 0xff) {
			len[n] = i - start;
			txt[n] = malloc(len[n] > 0 ? len[n] : 1);
			if (txt[n] == NULL)
				abort();
			memcpy(txt[n], data + start, len[n]);
			n++;
			start = i + 1;
		}
	}
	rc = dmarc_record_select(txt, len, n, &which);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == 1) {
		FUZZ_CHECK(which < n);
		/* the one selected record is a DMARC record by the parser too */
		{
			struct dmarc_record r;
			char err[256];

			memset(&r, 0, sizeof(r));
			FUZZ_CHECK(dmarc_record_parse(txt[which], len[which], &r, err, sizeof(err)) !=
			    DMARC_PARSE_NOT_DMARC);
			dmarc_record_free(&r);
		}
	}
	for (i = 0; i < n; i++) {
		parse_one(txt[i], len[i]);
		free(txt[i]);
	}
	return 0;
}
