/*
 * cmd_checkdns.c - "dmarc-reports check-dns DOMAIN": the domain's DMARC,
 * SPF, DKIM and DNSSEC records checked for the classic mistakes (lint.c),
 * with what the store's received reports add (p=none for how long, which
 * subdomains send), shown as a table or JSON.
 *
 * Exit status: 0 when nothing worse than a notice was found, 1 for
 * warnings, 2 for errors; EX_USAGE / EX_CONFIG when it could not run.
 */
#include "autoconf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "commands.h"
#include "dns.h"
#include "lint.h"
#include "log.h"
#include "orgdomain.h"
#include "rconf.h"
#include "store.h"
#include "util.h"

#define HISTORY_DAYS	400		/* how far back the store is read */
#define MAX_SELECTORS	32

/* usage - the synopsis of check-dns */
static int
usage(void)
{
	fprintf(stderr, "usage: dmarc-reports [-c config] check-dns [--dkim-selector S ...] "
	    "[--format table|json] [--record 'v=DMARC1; ...'] DOMAIN\n");
	return EX_USAGE;
}

struct hist_ctx {
	const char		*domain;
	struct lint_history	*h;
};

/* on_row - one record of a received report, into the history */
static int
on_row(const struct store_rcv_row *row, void *arg)
{
	struct hist_ctx *c = arg;

	lint_history_row(c->h, c->domain, row->begin, row->domain, row->p, row->header_from,
	    row->count);
	return 0;
}

/*
 * history_load - what the store knows, when there is a store: a SQLite
 * file that exists (never created here) or a PostgreSQL URI.  Returns 1
 * with *h filled, 0 when there is no store, -1 with err.
 */
static int
history_load(const struct rconf *rc, const char *domain, time_t now, struct lint_history *h,
    char *err, size_t errlen)
{
	struct store *st;
	struct hist_ctx c;
	bool pg;

	memset(h, 0, sizeof(*h));
	if (rc->database == NULL)
		return 0;
	pg = strncmp(rc->database, "postgresql://", 13) == 0 || strncmp(rc->database, "postgres://", 11) == 0;
	if (!pg && access(rc->database, F_OK) != 0)
		return 0;
	if ((st = store_open(rc->database, err, errlen)) == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.domain = domain;
	c.h = h;
	if (store_rcv_rows(st, domain, now - (time_t)HISTORY_DAYS * 86400, now + 86400, on_row, &c,
	    err, errlen) < 0) {
		store_close(st);
		lint_history_free(h);
		return -1;
	}
	store_close(st);
	return 1;
}

/* json_str - a JSON string literal (RFC 8259 §7) */
static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* exit_status - 2 for errors, 1 for warnings, else 0 */
static int
exit_status(const struct lint_result *r)
{
	switch (lint_worst(r)) {
	case LINT_ERROR:
		return 2;
	case LINT_WARNING:
		return 1;
	default:
		return 0;
	}
}

/* print_json - the findings as one JSON object */
static void
print_json(FILE *fp, const char *domain, const struct lint_result *r)
{
	unsigned counts[LINT_ERROR + 1] = { 0 };
	size_t i;
	int s;

	fputs("{\"domain\":", fp);
	json_str(fp, domain);
	fputs(",\"findings\":[", fp);
	for (i = 0; i < r->n; i++) {
		counts[r->f[i].severity]++;
		fputs(i ? ",\n{" : "\n{", fp);
		fputs("\"severity\":", fp);
		json_str(fp, lint_severity_str(r->f[i].severity));
		fputs(",\"code\":", fp);
		json_str(fp, r->f[i].code);
		fputs(",\"message\":", fp);
		json_str(fp, r->f[i].message);
		fputs(",\"fix\":", fp);
		if (r->f[i].fix != NULL)
			json_str(fp, r->f[i].fix);
		else
			fputs("null", fp);
		fputc('}', fp);
	}
	fputs("],\n\"counts\":{", fp);
	for (s = LINT_ERROR; s >= LINT_OK; s--) {
		json_str(fp, lint_severity_str((enum lint_severity)s));
		fprintf(fp, ":%u%s", counts[s], s > LINT_OK ? "," : "");
	}
	fprintf(fp, "},\"exit\":%d}\n", exit_status(r));
}

/* print_table - severity, code, finding, and the fix under it */
static void
print_table(FILE *fp, const char *domain, const struct lint_result *r)
{
	unsigned counts[LINT_ERROR + 1] = { 0 };
	size_t i;

	for (i = 0; i < r->n; i++)
		counts[r->f[i].severity]++;
	fprintf(fp, "check-dns %s: errors %u, warnings %u, notices %u, info %u, ok %u\n\n", domain,
	    counts[LINT_ERROR], counts[LINT_WARNING], counts[LINT_NOTICE], counts[LINT_INFO],
	    counts[LINT_OK]);
	fprintf(fp, "%-8s %-24s %s\n", "SEVERITY", "CODE", "FINDING");
	for (i = 0; i < r->n; i++) {
		fprintf(fp, "%-8s %-24s %s\n", lint_severity_str(r->f[i].severity), r->f[i].code,
		    r->f[i].message);
		if (r->f[i].fix != NULL)
			fprintf(fp, "%-8s %-24s fix: %s\n", "", "", r->f[i].fix);
	}
}

/* cmd_check_dns - dmarc-reports check-dns */
int
cmd_check_dns(const struct rconf *rc, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dkim-selector", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "record", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *selectors[MAX_SELECTORS];
	struct lint_options o;
	struct lint_history hist;
	struct lint_result res;
	struct dns_options dopt;
	struct dns *dns = NULL;
	struct orgdomain *psl = NULL;
	char err[1024], *domain = NULL, *sel_copy[MAX_SELECTORS];
	size_t n_sel = 0, n_copy = 0, i;
	bool json = false;
	int ch, h, rv;

	memset(&o, 0, sizeof(o));
	optind = 0;	/* glibc: 0 starts afresh (main used "+"), options may follow operands */
	while ((ch = getopt_long(argc, argv, "s:f:r:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': {
			/* repeated, or comma-separated */
			char *copy = xstrdup(optarg), *tok, *save = NULL;

			if (n_copy == MAX_SELECTORS) {
				free(copy);
				fprintf(stderr, "dmarc-reports: check-dns: at most %d selectors\n", MAX_SELECTORS);
				rv = EX_USAGE;
				goto out;
			}
			sel_copy[n_copy++] = copy;
			for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
				if (n_sel == MAX_SELECTORS || strchr(tok, '.') == tok ||
				    strlen(tok) > 63 || strspn(tok, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(tok)) {
					fprintf(stderr, "dmarc-reports: check-dns: bad DKIM selector \"%s\"\n", tok);
					rv = EX_USAGE;
					goto out;
				}
				selectors[n_sel++] = tok;
			}
			break;
		}
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") == 0)
				json = false;
			else {
				fprintf(stderr, "dmarc-reports: check-dns: --format table or json\n");
				rv = EX_USAGE;
				goto out;
			}
			break;
		case 'r':
			o.record = optarg;
			break;
		default:
			rv = usage();
			goto out;
		}
	}
	if (optind != argc - 1) {
		rv = usage();
		goto out;
	}
	if ((domain = domain_normalize(argv[optind], err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: check-dns: %s: %s\n", argv[optind], err);
		rv = EX_USAGE;
		goto out;
	}

	rconf_dns_options(rc, &dopt);
	dopt.dnssec_ok = true;		/* for the DNSSEC check: RRSIGs and a meaningful AD bit */
	if ((dns = dns_new_ldns(&dopt, err, sizeof(err))) == NULL ||
	    (psl = orgdomain_load(rc->psl_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: check-dns: %s\n", err);
		rv = EX_CONFIG;
		goto out;
	}

	/* the findings say it all: no "destination refused" log lines from rua.c */
	log_set_level(LOG_LEVEL_ERR);
	o.domain = domain;
	o.selectors = selectors;
	o.n_selectors = n_sel;
	o.now = time(NULL);
	h = history_load(rc, domain, o.now, &hist, err, sizeof(err));
	if (h == 1)
		o.history = &hist;
	if (lint_domain(dns, psl, &o, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: check-dns: %s\n", err);
		lint_history_free(&hist);
		rv = EX_USAGE;
		goto out;
	}
	if (h == 0)
		lint_add(&res, LINT_INFO, "history-none",
		    "Collect aggregate reports with \"dmarc-reports receive\" to have these checked.",
		    "No report store (%s): how long p=none has been published and which subdomains "
		    "send were not checked", rc->database != NULL ? rc->database : "none configured");
	else if (h < 0)
		lint_add(&res, LINT_WARNING, "history-error", "Check the Database setting.",
		    "The report store could not be read: %s", err);
	if (json)
		print_json(stdout, domain, &res);
	else
		print_table(stdout, domain, &res);
	rv = exit_status(&res);
	lint_result_free(&res);
	lint_history_free(&hist);
out:
	for (i = 0; i < n_copy; i++)
		free(sel_copy[i]);
	orgdomain_free(psl);
	dns_free(dns);
	free(domain);
	return rv;
}
