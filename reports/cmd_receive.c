/*
 * cmd_receive.c - "dmarc-reports receive": take in the aggregate reports
 * that other organisations send to our rua address.
 *
 *	dmarc-reports receive [--quiet] [--syslog] PATH...
 *	dmarc-reports receive [--syslog] -	(one message, an mbox or a report
 *						 file on standard input: a Postfix
 *						 pipe transport, procmail, sieve)
 *
 * What happens to each report is one line on standard output; problems go
 * to standard error.  --syslog sends both to syslog (facility mail) as
 * well, for a pipe transport whose output nobody reads.
 *
 * Every PATH may be a report file (.xml, .xml.gz, .zip: the content
 * decides, not the name), one message, an mbox or a Maildir (rinput.c).
 * Each report found is read (rxml.c) and kept (store_rcv_add), once per
 * (reporting organisation, report id): the same report fetched twice, or
 * sent to two of our rua addresses, is stored once.
 *
 * Exit status, chosen for a pipe transport: 0 when every input was read,
 * even if some of it was not a report or was refused (a mailbox receives
 * junk; bouncing it would only send mail to a reporter's no-reply
 * address): each such case is said on standard error and in syslog;
 * EX_TEMPFAIL when the store failed (the MTA keeps the message and tries
 * again, and a retry is harmless because receive is idempotent);
 * EX_NOINPUT when a named PATH cannot be read at all.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <time.h>

#include "commands.h"
#include "log.h"
#include "rconf.h"
#include "rinput.h"
#include "rxml.h"
#include "store.h"

struct rcv_ctx {
	struct store	*st;
	bool		 quiet;
	bool		 syslog;
	time_t		 now;
	unsigned long	 stored, duplicates, expired, refused, problems;
	bool		 store_failed;
};

/* on_report - one XML payload: read, keep, say what happened */
static int
on_report(void *arg, const char *origin, const char *xml, size_t len)
{
	struct rcv_ctx *c = arg;
	struct rxml_notes notes;
	struct report *rep = NULL;
	unsigned long long messages = 0;
	char err[1024];
	size_t i;
	int rc;

	memset(&notes, 0, sizeof(notes));
	if (rxml_parse(xml, len, &rep, &notes, err, sizeof(err)) != 0) {
		c->refused++;
		log_warn("%s: report refused: %s", origin, err);
		return 0;
	}
	for (i = 0; i < rep->n_rows; i++)
		messages += rep->rows[i].count;
	rc = store_rcv_add(c->st, rep, origin, c->now, err, sizeof(err));
	if (rc < 0) {
		log_err("%s: report %s from %s: store: %s", origin, rep->report_id, rep->org_name, err);
		c->store_failed = true;
		rxml_free(rep);
		return -1;	/* stop: later inputs would fail the same way */
	}
	if (rc == 1)
		c->stored++;
	else if (rc == 2)
		c->expired++;
	else
		c->duplicates++;
	if (!c->quiet)
		printf("%s: report %s from %s for %s, %zu records, %llu messages: %s\n", origin,
		    rep->report_id, rep->org_name, rep->domain, rep->n_rows, messages,
		    rc == 1 ? "stored" : rc == 2 ? "older than the store keeps (expire), not stored" :
		    "already received");
	if (c->syslog)
		syslog(LOG_MAIL | LOG_INFO, "%s: report %s from %s for %s, %zu records, %llu messages: %s",
		    origin, rep->report_id, rep->org_name, rep->domain, rep->n_rows, messages,
		    rc == 1 ? "stored" : rc == 2 ? "expired" : "already received");
	if (notes.skipped_records > 0)
		log_warn("%s: report %s from %s: %u records skipped%s%s", origin, rep->report_id,
		    rep->org_name, notes.skipped_records, notes.first_skipped[0] != '\0' ? ": " : "",
		    notes.first_skipped);
	rxml_free(rep);
	return 0;
}

/* on_problem - not a report, or not readable: said, and the rest goes on */
static void
on_problem(void *arg, const char *origin, const char *msg)
{
	struct rcv_ctx *c = arg;

	c->problems++;
	log_warn("%s: %s", origin, msg);
}

int
cmd_receive(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "syslog", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct rinput_cb cb;
	struct rcv_ctx c;
	char err[1024], expired[64];
	bool unreadable = false;
	int ch, i;

	(void)rc;
	memset(&c, 0, sizeof(c));
	optind = 0;	/* glibc: 0 starts afresh (main used "+"), options may follow operands */
	while ((ch = getopt_long(argc, argv, "q", lo, NULL)) != -1) {
		if (ch == 'q')
			c.quiet = true;
		else if (ch == 's')
			c.syslog = true;
		else {
			fprintf(stderr, "usage: dmarc-reports receive [--quiet] [--syslog] PATH... | -\n");
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: dmarc-reports receive [--quiet] [--syslog] PATH... | -\n");
		return EX_USAGE;
	}
	if (c.syslog && log_set_syslog(true, "mail") != 0) {
		fprintf(stderr, "dmarc-reports: cannot log to syslog\n");
		return EX_SOFTWARE;
	}
	c.st = st;
	c.now = time(NULL);
	memset(&cb, 0, sizeof(cb));
	cb.report = on_report;
	cb.problem = on_problem;
	cb.arg = &c;
	for (i = optind; i < argc && !c.store_failed; i++) {
		if (rinput_path(argv[i], &cb, err, sizeof(err)) < 0 && !c.store_failed) {
			log_err("%s: %s", argv[i], err);
			unreadable = true;
		}
	}
	rinput_shutdown();
	snprintf(expired, sizeof(expired), ", %lu older than the store keeps", c.expired);
	if (c.syslog)
		syslog(LOG_MAIL | LOG_INFO, "%lu reports stored, %lu already received, %lu refused, "
		    "%lu other problems%s", c.stored, c.duplicates, c.refused, c.problems,
		    c.expired > 0 ? expired : "");
	if (!c.quiet || c.refused + c.problems > 0 || c.store_failed)
		printf("%lu reports stored, %lu already received, %lu refused, %lu other problems%s\n",
		    c.stored, c.duplicates, c.refused, c.problems, c.expired > 0 ? expired : "");
	if (c.store_failed)
		return EX_TEMPFAIL;
	return unreadable ? EX_NOINPUT : 0;
}
