/*
 * fuzz_rinput.c - what arrives at a rua mailbox (reports/rinput.c): one
 * report file, one message or an mbox, read from memory by rinput_buffer.
 *
 * The input is classified by its content as dmarc-reports receive does
 * (gzip, zip through libzip, XML, an mbox or a message through GMime), so
 * one harness reaches every container.  The callbacks check what rinput.h
 * promises: every payload handed on is non-empty, at most RXML_MAX_BYTES
 * and readable to its last byte (it is copied into a tight buffer, so ASan
 * sees a length that lies); origins and problems are bounded strings with
 * no control characters (names taken from the input are cleaned).  Each
 * payload then goes through rxml_parse, as "receive" does, so the whole
 * receive path is covered.
 *
 * The report callback asks to stop at the first payload when the input's
 * size is 3 modulo 4: the stop path must free what it opened (zip
 * archives, GMime parsers, inflated buffers) like the normal path, and
 * rinput_buffer must then return -1 with a reason.
 *
 * GMime is set up once, by a first call in LLVMFuzzerInitialize, and never
 * shut down: rinput_shutdown is for the end of the process, and what GMime
 * and GLib keep for the process (the type system, charset tables) stays
 * reachable from their globals, so LeakSanitizer does not count it and no
 * suppression is needed.
 *
 * GLib 2.74 (Debian 12) allocates GObjects from its slice allocator, whose
 * magazines keep every block reachable: a GMime stream or parser that
 * rinput.c forgets to unref would never show as a leak.  The harness runs
 * with G_SLICE=always-malloc so that each object is a malloc LeakSanitizer
 * sees; GLib reads G_SLICE in a constructor, before LLVMFuzzerInitialize,
 * so without it in the environment the harness starts itself again with
 * it (fuzz/run.sh, a replay by hand, a CI job: all the same).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "rinput.h"
#include "rxml.h"
#include "fuzz.h"

#define FUZZ_NAME	"fuzz"

/*
 * The longest origin: the name, "#N" (mbox), " <message-id>", then at most
 * RINPUT_MAX_NESTING containers (":forwarded <id>", ":member"), then the
 * attachment's name, every name taken from the input cut at 200 bytes by
 * rinput.c (RINPUT_MAX_ORIGIN).  Well under this.
 */
#define FUZZ_MAX_ORIGIN	(sizeof(FUZZ_NAME) + 16 + (RINPUT_MAX_NESTING + 2) * 224)
#define FUZZ_MAX_PROBLEM 512	/* rinput.c formats a problem into 512 bytes */

struct seen {
	long	reports;	/* report callbacks */
	long	problems;	/* problem callbacks */
	long	stop_at;	/* report number that returns -1; 0: never */
	bool	stopped;
};

/* check_text - a NUL-terminated string shorter than max, no control characters */
static void
check_text(const char *s, size_t max)
{
	size_t n, i;

	FUZZ_CHECK(s != NULL);
	n = strnlen(s, max);
	FUZZ_CHECK(n < max);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/* check_origin - an origin starts with the name the caller gave */
static void
check_origin(const char *origin)
{
	check_text(origin, FUZZ_MAX_ORIGIN);
	FUZZ_CHECK(strncmp(origin, FUZZ_NAME, strlen(FUZZ_NAME)) == 0);
}

/* on_report - one payload: checked, copied tight, parsed as receive does */
static int
on_report(void *arg, const char *origin, const char *xml, size_t len)
{
	struct seen *s = arg;
	struct rxml_notes notes;
	struct report *r = NULL;
	char err[512], *copy;
	int rc;

	FUZZ_CHECK(!s->stopped);	/* nothing more after a stop */
	check_origin(origin);
	FUZZ_CHECK(xml != NULL);
	FUZZ_CHECK(len > 0 && len <= RXML_MAX_BYTES);
	if ((copy = malloc(len)) == NULL)
		abort();
	memcpy(copy, xml, len);		/* the whole payload must be readable */
	rc = rxml_parse(copy, len, &r, &notes, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == (r != NULL));
	rxml_free(r);
	free(copy);
	if (++s->reports == s->stop_at) {
		s->stopped = true;
		return -1;
	}
	return 0;
}

/* on_problem - something that is not a report, said with its origin */
static void
on_problem(void *arg, const char *origin, const char *msg)
{
	struct seen *s = arg;

	check_origin(origin);
	check_text(msg, FUZZ_MAX_PROBLEM);
	FUZZ_CHECK(msg[0] != '\0');
	s->problems++;
}

/* LLVMFuzzerInitialize - once per process: quiet logs, GMime set up */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char warm[] = "From: a@example.com\n"
	    "Content-Type: text/xml\n\n<feedback/>\n";
	struct seen s = { 0, 0, 0, false };
	struct rinput_cb cb = { on_report, on_problem, &s };
	char err[256];

	(void)argc;
	/* see the top of this file: GLib must not keep GObjects in slices */
	if (getenv("G_SLICE") == NULL || strcmp(getenv("G_SLICE"), "always-malloc") != 0) {
		if (setenv("G_SLICE", "always-malloc", 1) == -1) {
			perror("fuzz: setenv");
			abort();
		}
		execv("/proc/self/exe", *argv);
		perror("fuzz: execv /proc/self/exe");
		abort();
	}
	fuzz_quiet();
	if (rinput_buffer(FUZZ_NAME, warm, sizeof(warm) - 1, &cb, err, sizeof(err)) != 1) {
		fprintf(stderr, "fuzz: rinput_buffer does not read a one-part report mail\n");
		abort();
	}
	return 0;
}

/* LLVMFuzzerTestOneInput - one file, message or mbox */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0, 0, size % 4 == 3 ? 1 : 0, false };
	struct rinput_cb cb = { on_report, on_problem, &s };
	char err[512], *copy = malloc(size > 0 ? size : 1);
	long n;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	err[0] = '\0';
	n = rinput_buffer(FUZZ_NAME, copy, size, &cb, err, sizeof(err));
	if (s.stopped) {
		FUZZ_CHECK(n == -1);
		FUZZ_CHECK(s.reports == s.stop_at);
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		/* rinput_buffer fails only when the handler asks it to */
		FUZZ_CHECK(n >= 0 && n == s.reports);
	}
	/* an input that is not read as a report says why */
	if (n == 0)
		FUZZ_CHECK(s.problems > 0);
	free(copy);
	return 0;
}
