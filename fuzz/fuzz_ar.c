/*
 * fuzz_ar.c - Authentication-Results from upstream (RFC 8601): the full
 * parser the trusted-gateway path uses (hdr_ar_parse), the authserv-id
 * test that decides which headers are forged and removed
 * (hdr_ar_authserv_is), and the field rebuilding every header goes
 * through on its way to libopendkim (hdr_dkim_field).
 *
 * The input is one field value as the MTA hands it over.  The first byte
 * picks the leadspc flag of hdr_dkim_field and is also part of the value.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "result.h"
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

/* walk - what evaluate.c reads of a parsed header */
static void
walk(const struct hdr_ar *ar)
{
	enum auth_res r;
	size_t i, j;

	FUZZ_CHECK(ar->authserv_id != NULL);
	FUZZ_CHECK(ar->n_results <= HDR_AR_MAX_RESULTS);
	FUZZ_CHECK(ar->n_results == 0 || ar->results != NULL);
	for (i = 0; i < ar->n_results; i++) {
		const struct hdr_ar_result *res = &ar->results[i];

		FUZZ_CHECK(res->method != NULL && res->result != NULL);
		FUZZ_CHECK(res->n_props <= HDR_AR_MAX_PROPS);
		(void)auth_res_parse(res->result, &r);
		for (j = 0; j < res->n_props; j++)
			FUZZ_CHECK(res->props[j].ptype != NULL && res->props[j].property != NULL &&
			    res->props[j].value != NULL);
	}
}

/* LLVMFuzzerTestOneInput - one Authentication-Results value */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *ids[] = { "mx.example.com", "example.com", "", "mx" };
	struct hdr_ar ar;
	char err[256], *value, *f;
	size_t i;

	if (size > HDR_MAX_VALUE)
		return 0;
	value = fuzz_cstr(data, size);
	memset(&ar, 0, sizeof(ar));
	if (hdr_ar_parse(value, &ar, err, sizeof(err)) == 0) {
		walk(&ar);
		/* the parser and the forged-header test agree on the authserv-id */
		if (ar.authserv_id[0] != '\0')
			FUZZ_CHECK(hdr_ar_authserv_is(value, ar.authserv_id));
		hdr_ar_free(&ar);
	}
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		(void)hdr_ar_authserv_is(value, ids[i]);

	f = hdr_dkim_field("Authentication-Results", value, size > 0 && (data[0] & 1));
	FUZZ_CHECK(f != NULL);
	/* hdr.h: every bare "\n" becomes "\r\n" */
	for (i = 0; f[i] != '\0'; i++)
		if (f[i] == '\n')
			FUZZ_CHECK(i > 0 && f[i - 1] == '\r');
	free(f);
	free(value);
	return 0;
}
