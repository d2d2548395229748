/*
 * fuzz_history.c - the history reader (history_parse): the line format
 * dmarc-reports imports, which anyone who can write the history file (or
 * a damaged disk) controls.
 *
 * A line that parses is written back with history_format and must parse
 * again (the writer's output is always readable by the reader); after that
 * first normalisation (caps applied, unknown fields dropped) writing and
 * reading is a fixed point: format(parse(L)) == L.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "history.h"
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

/* reformat - a parsed record back into a line; -1 when the writer refuses it */
static int
reformat(const struct history_record *r, struct buf *out)
{
	struct history_msg m;

	memset(&m, 0, sizeof(m));
	m.when = r->when;
	m.id = r->id;
	m.queue_id = r->queue_id;
	m.reporter = r->reporter;
	m.client_ip = r->client_ip;
	m.helo = r->helo;
	m.mail_from = r->mail_from;
	m.rcpt_domains = (const char *const *)r->rcpt_domains;
	m.n_rcpt_domains = r->n_rcpt_domains;
	return history_format(&m, &r->v, r->action, out);
}

/* LLVMFuzzerTestOneInput - one line */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct history_record r1, r2, r3;
	struct buf l1, l2, l3;
	char err[512];
	char *line;

	if (size > HISTORY_MAX_LINE + 2)
		return 0;
	line = malloc(size > 0 ? size : 1);	/* tight: ASan sees overreads */
	if (line == NULL)
		abort();
	memcpy(line, data, size);
	memset(&r1, 0, sizeof(r1));
	if (history_parse(line, size, &r1, err, sizeof(err)) != 0) {
		free(line);
		return 0;
	}
	free(line);

	buf_init(&l1, HISTORY_MAX_LINE);
	buf_init(&l2, HISTORY_MAX_LINE);
	buf_init(&l3, HISTORY_MAX_LINE);
	if (reformat(&r1, &l1) == 0) {
		memset(&r2, 0, sizeof(r2));
		if (history_parse(buf_str(&l1), l1.len, &r2, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz: the reader refuses the writer's line (%s):\n%s", err,
			    buf_str(&l1));
			abort();
		}
		FUZZ_CHECK(reformat(&r2, &l2) == 0);
		memset(&r3, 0, sizeof(r3));
		FUZZ_CHECK(history_parse(buf_str(&l2), l2.len, &r3, err, sizeof(err)) == 0);
		FUZZ_CHECK(reformat(&r3, &l3) == 0);
		if (l2.len != l3.len || memcmp(buf_str(&l2), buf_str(&l3), l2.len) != 0) {
			fprintf(stderr, "fuzz: format/parse is not a fixed point:\n%s%s",
			    buf_str(&l2), buf_str(&l3));
			abort();
		}
		history_record_free(&r2);
		history_record_free(&r3);
	}
	buf_free(&l1);
	buf_free(&l2);
	buf_free(&l3);
	history_record_free(&r1);
	return 0;
}
