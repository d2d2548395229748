/*
 * cmd_analyze.c - the domain owner's commands over the received reports:
 *
 *	dmarc-reports sources   --domain D [--since 30d] [--until DAY] [--format F] [--no-rdns]
 *	dmarc-reports kpis      [--domain D] [--since 30d] [--until DAY] [--format F] [--no-rdns]
 *	dmarc-reports readiness --domain D [--until DAY] [--format F] [--no-rdns]
 *	dmarc-reports html      --domain D [--since 30d] [--until DAY] [--output FILE] [--no-rdns]
 *
 * Periods are whole UTC days [since, until).  --since takes "30d" (that
 * many days before until), a date "2026-10-01" or epoch seconds; --until
 * names the first day NOT included (a date or epoch seconds; a time within
 * a day includes that day); it defaults to today, so the last day shown
 * is yesterday, the last one receivers have reported.  kpis without
 * --domain shows every domain the store has reports for.  readiness looks
 * at the last max(ReadinessDays, 28) days (--since may lengthen that);
 * html computes the readiness over its period, at least as long.
 * --format is table (default), json or csv.  --no-rdns makes no DNS
 * lookups (the store's cached names are not used either: grouping then
 * goes by DKIM, SPF or IP).
 *
 * Exit status: 0 done (readiness: GO or DONE); 1 readiness WAIT or FIX, so
 * that a script can test it; EX_USAGE bad options; EX_CONFIG the DNS
 * resolver or the Public Suffix List could not be set up; EX_SOFTWARE the
 * store could not be read; EX_IOERR / EX_CANTCREAT the output could not be
 * written.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "buf.h"
#include "commands.h"
#include "dns.h"
#include "html.h"
#include "orgdomain.h"
#include "present.h"
#include "rconf.h"
#include "store.h"
#include "util.h"

#define DAY		86400
#define DEFAULT_DAYS	30
#define MIN_READY_DAYS	28	/* readiness looks back at least this far */
#define HTML_MAX	(64u << 20)

enum { F_DOMAIN_OPTIONAL = 1, F_SINCE = 2, F_FORMAT = 4, F_OUTPUT = 8 };

struct cli {
	const char		*cmd;
	const char		*domain;
	time_t			 since, until;
	bool			 since_set;
	long			 since_days;	/* "30d" */
	enum present_format	 format;
	bool			 rdns;
	const char		*output;
};

/* usage_of - the synopsis of one command */
static int
usage_of(const char *cmd)
{
	if (strcmp(cmd, "sources") == 0)
		fprintf(stderr, "usage: dmarc-reports sources --domain D [--since 30d|DAY] [--until DAY] "
		    "[--format table|json|csv] [--no-rdns]\n");
	else if (strcmp(cmd, "kpis") == 0)
		fprintf(stderr, "usage: dmarc-reports kpis [--domain D] [--since 30d|DAY] [--until DAY] "
		    "[--format table|json|csv] [--no-rdns]\n");
	else if (strcmp(cmd, "readiness") == 0)
		fprintf(stderr, "usage: dmarc-reports readiness --domain D [--until DAY] "
		    "[--format table|json|csv] [--no-rdns]\n");
	else
		fprintf(stderr, "usage: dmarc-reports html --domain D [--since 30d|DAY] [--until DAY] "
		    "[--output FILE] [--no-rdns]\n");
	return EX_USAGE;
}

/* parse_args - the options of every command here */
static int
parse_args(struct cli *c, unsigned flags, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'f' },
		{ "no-rdns", no_argument, NULL, 'N' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	time_t now = time(NULL);
	char *end;
	int ch;

	c->cmd = argv[0];
	c->rdns = true;
	c->format = PRESENT_TABLE;
	c->since_days = DEFAULT_DAYS;
	c->until = now - now % DAY;
	optind = 0;	/* glibc: 0 starts afresh (main used "+"), options may follow operands */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c->domain = optarg;
			break;
		case 's':
			if ((flags & F_SINCE) == 0)
				return usage_of(c->cmd);
			c->since_set = true;
			errno = 0;
			c->since_days = strtol(optarg, &end, 10);
			if (*optarg >= '0' && *optarg <= '9' && strcmp(end, "d") == 0 && errno == 0) {
				if (c->since_days < 1 || c->since_days > 1000) {
					fprintf(stderr, "dmarc-reports: --since %s: from 1d to 1000d\n", optarg);
					return EX_USAGE;
				}
				break;
			}
			c->since_days = 0;
			if (time_parse_utc(optarg, &c->since) != 0) {
				fprintf(stderr, "dmarc-reports: --since %s: want 30d, a day (2026-10-01) or "
				    "epoch seconds\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'u':
			if (time_parse_utc(optarg, &c->until) != 0) {
				fprintf(stderr, "dmarc-reports: --until %s: want a day (2026-10-31) or epoch "
				    "seconds\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'f':
			if ((flags & F_FORMAT) == 0 || present_format_parse(optarg, &c->format) != 0) {
				fprintf(stderr, "dmarc-reports: --format %s: want table, json or csv\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'N':
			c->rdns = false;
			break;
		case 'o':
			if ((flags & F_OUTPUT) == 0)
				return usage_of(c->cmd);
			c->output = optarg;
			break;
		default:
			return usage_of(c->cmd);
		}
	}
	if (optind < argc || (c->domain == NULL && (flags & F_DOMAIN_OPTIONAL) == 0))
		return usage_of(c->cmd);
	/* whole days: a time within a day includes that day */
	if (c->until % DAY != 0)
		c->until += DAY - c->until % DAY;
	if (c->since_days > 0)
		c->since = c->until - (time_t)c->since_days * DAY;
	if (c->since >= c->until) {
		fprintf(stderr, "dmarc-reports: --since is not before --until\n");
		return EX_USAGE;
	}
	return 0;
}

struct env {
	struct dns		*dns;
	struct orgdomain	*psl;
};

/* env_open - the resolver (unless --no-rdns) and the Public Suffix List */
static int
env_open(const struct rconf *rc, const struct cli *c, struct env *e)
{
	struct dns_options dopt;
	char err[1024];

	memset(e, 0, sizeof(*e));
	if ((e->psl = orgdomain_load(rc->psl_file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: %s\n", err);
		return EX_CONFIG;
	}
	if (!c->rdns)
		return 0;
	rconf_dns_options(rc, &dopt);
	if ((e->dns = dns_new_ldns(&dopt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: %s\n", err);
		orgdomain_free(e->psl);
		return EX_CONFIG;
	}
	return 0;
}

static void
env_close(struct env *e)
{
	dns_free(e->dns);
	orgdomain_free(e->psl);
}

/* run - the analysis of one domain over [since, until) */
static struct analysis *
run(const struct rconf *rc, struct store *st, const struct env *e, const struct cli *c,
    const char *domain, time_t since)
{
	struct an_options o;
	struct analysis *a;
	char err[1024];

	memset(&o, 0, sizeof(o));
	o.domain = domain;
	o.since = since;
	o.until = c->until;
	o.rdns = c->rdns;
	o.dns = e->dns;
	o.psl = e->psl;
	o.rc = rc;
	o.now = time(NULL);
	if ((a = analyze(st, &o, err, sizeof(err))) == NULL)
		fprintf(stderr, "dmarc-reports: %s %s: %s\n", c->cmd, domain, err);
	return a;
}

/* ready_since - the start of a readiness analysis: at least max(ReadinessDays, 28) days */
static time_t
ready_since(const struct rconf *rc, const struct cli *c)
{
	unsigned days = rc->readiness_days > MIN_READY_DAYS ? rc->readiness_days : MIN_READY_DAYS;
	time_t s = c->until - (time_t)days * DAY;

	return c->since_set && c->since < s ? c->since : s;
}

/* finish - flush standard output, say when that failed */
static int
finish(int rv, int prc)
{
	if (prc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "dmarc-reports: writing the output failed: %s\n", strerror(errno));
		return EX_IOERR;
	}
	return rv;
}

int
cmd_sources(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	struct cli c;
	struct env e;
	struct analysis *a;
	int rv, prc;

	memset(&c, 0, sizeof(c));
	if ((rv = parse_args(&c, F_SINCE | F_FORMAT, argc, argv)) != 0)
		return rv;
	if ((rv = env_open(rc, &c, &e)) != 0)
		return rv;
	a = run(rc, st, &e, &c, c.domain, c.since);
	env_close(&e);
	if (a == NULL)
		return EX_SOFTWARE;
	prc = present_sources(a, c.format, stdout);
	analysis_free(a);
	return finish(0, prc);
}

int
cmd_kpis(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	struct cli c;
	struct env e;
	struct analysis **as = NULL;
	char **domains = NULL, err[1024];
	size_t n = 0, i, k = 0;
	int rv, prc;

	memset(&c, 0, sizeof(c));
	if ((rv = parse_args(&c, F_DOMAIN_OPTIONAL | F_SINCE | F_FORMAT, argc, argv)) != 0)
		return rv;
	if (c.domain != NULL) {
		domains = xcalloc(1, sizeof(*domains));
		domains[0] = xstrdup(c.domain);
		n = 1;
	} else if (store_rcv_domains(st, &domains, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: kpis: %s\n", err);
		return EX_SOFTWARE;
	}
	if (n == 0) {
		fprintf(stderr, "dmarc-reports: kpis: the store has no received reports\n");
		free(domains);
		return 0;
	}
	if ((rv = env_open(rc, &c, &e)) != 0)
		goto out;
	as = xcalloc(n, sizeof(*as));
	for (k = 0; k < n; k++)
		if ((as[k] = run(rc, st, &e, &c, domains[k], c.since)) == NULL) {
			rv = EX_SOFTWARE;
			break;
		}
	env_close(&e);
	if (rv == 0) {
		prc = present_kpis((const struct analysis *const *)as, n, c.format, stdout);
		rv = finish(0, prc);
	}
	for (i = 0; i < n && as != NULL; i++)
		analysis_free(as[i]);
	free(as);
out:
	for (i = 0; i < n; i++)
		free(domains[i]);
	free(domains);
	return rv;
}

int
cmd_readiness(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	struct cli c;
	struct env e;
	struct analysis *a;
	struct readiness *r;
	char err[1024];
	int rv, prc;

	memset(&c, 0, sizeof(c));
	if ((rv = parse_args(&c, F_SINCE | F_FORMAT, argc, argv)) != 0)
		return rv;
	if ((rv = env_open(rc, &c, &e)) != 0)
		return rv;
	a = run(rc, st, &e, &c, c.domain, ready_since(rc, &c));
	env_close(&e);
	if (a == NULL)
		return EX_SOFTWARE;
	if ((r = readiness(a, rc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: readiness: %s\n", err);
		analysis_free(a);
		return EX_SOFTWARE;
	}
	prc = present_readiness(a, r, c.format, stdout);
	rv = r->verdict == READY_GO || r->verdict == READY_DONE ? 0 : 1;
	readiness_free(r);
	analysis_free(a);
	return finish(rv, prc);
}

/* write_file - the whole page to path, through a temporary file and rename */
static int
write_file(const char *path, const struct buf *b)
{
	char *tmp;
	FILE *fp;

	if (strcmp(path, "-") == 0) {
		fwrite(buf_str(b), 1, b->len, stdout);
		return finish(0, 0);
	}
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fp = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "dmarc-reports: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return EX_CANTCREAT;
	}
	if (fwrite(buf_str(b), 1, b->len, fp) != b->len || fclose(fp) != 0) {
		fprintf(stderr, "dmarc-reports: %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return EX_IOERR;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "dmarc-reports: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return EX_CANTCREAT;
	}
	free(tmp);
	return 0;
}

int
cmd_html(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	struct cli c;
	struct env e;
	struct analysis *a;
	struct readiness *r;
	struct buf page;
	char err[1024];
	time_t since;
	int rv;

	memset(&c, 0, sizeof(c));
	if ((rv = parse_args(&c, F_SINCE | F_OUTPUT, argc, argv)) != 0)
		return rv;
	if ((rv = env_open(rc, &c, &e)) != 0)
		return rv;
	/* readiness needs its window inside the period */
	since = ready_since(rc, &c);
	if (c.since < since)
		since = c.since;
	a = run(rc, st, &e, &c, c.domain, since);
	env_close(&e);
	if (a == NULL)
		return EX_SOFTWARE;
	if ((r = readiness(a, rc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: html: %s\n", err);
		analysis_free(a);
		return EX_SOFTWARE;
	}
	buf_init(&page, HTML_MAX);
	if (html_report(a, r, &page, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: html: %s\n", err);
		rv = EX_SOFTWARE;
	} else
		rv = write_file(c.output != NULL ? c.output : "-", &page);
	buf_free(&page);
	readiness_free(r);
	analysis_free(a);
	return rv;
}
