/*
 * fuzz_from.c - the From header parser (hdr_from_domains, and
 * hdr_from_salvage for a field it refuses) and what the
 * milter does with its result: domain_normalize on every domain, and the
 * RFC 6590 redaction failure reports apply to the same value.  The input
 * is one field value as the MTA hands it over (unfolded with "\n").
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failrep.h"
#include "hdr.h"
#include "orgdomain.h"
#include "session.h"
#include "util.h"
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

/* LLVMFuzzerTestOneInput - one From value */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **doms = NULL, err[256], *value, *s;
	size_t i, j, n = 0;

	if (size > HDR_MAX_VALUE)
		return 0;
	value = fuzz_cstr(data, size);
	err[0] = '\0';
	if (hdr_from_domains(value, &doms, &n, err, sizeof(err)) == 0) {
		/* hdr.h: at least one address, at most the cap, no duplicates */
		FUZZ_CHECK(n >= 1 && n <= HDR_FROM_MAX_ADDRS);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(doms[i] != NULL && doms[i][0] != '\0');
			for (j = 0; j < i; j++)
				FUZZ_CHECK(!ascii_strcaseeq(doms[i], doms[j]));
			if ((s = domain_normalize(doms[i], err, sizeof(err))) != NULL) {
				FUZZ_CHECK(domain_is_normalized(s));
				free(s);
			}
		}
		hdr_domains_free(doms, n);
	} else {
		/* a failure always says why */
		FUZZ_CHECK(err[0] != '\0');
		/* the milter then reads the broken field for the domains it names */
		if (hdr_from_salvage(value, &doms, &n) == 0) {
			FUZZ_CHECK(n >= 1 && n <= HDR_FROM_MAX_ADDRS);
			for (i = 0; i < n; i++) {
				FUZZ_CHECK(doms[i] != NULL && doms[i][0] != '\0' && doms[i][0] != '.');
				FUZZ_CHECK(strstr(doms[i], "..") == NULL);
				for (j = 0; j < i; j++)
					FUZZ_CHECK(!ascii_strcaseeq(doms[i], doms[j]));
			}
			hdr_domains_free(doms, n);
		} else {
			FUZZ_CHECK(n == 0);
		}
	}
	s = failrep_redact_value(value);
	FUZZ_CHECK(s != NULL);
	free(s);
	s = session_strip_angles(value);
	free(s);
	free(value);
	return 0;
}
