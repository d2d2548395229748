/*
 * main.c - dmarc-reports: import history records into a store and send
 * DMARC aggregate reports from it (RFC 9990, or RFC 7489 Appendix C); and,
 * for the owners of our own domains, receive the reports others send us,
 * inventory the sources, follow the KPIs, lint the DNS and say when the
 * next enforcement step is safe (commands.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "commands.h"
#include "deliver.h"
#include "dns.h"
#include "import.h"
#include "log.h"
#include "orgdomain.h"
#include "rconf.h"
#include "report.h"
#include "rua.h"
#include "smtp.h"
#include "store.h"
#include "util.h"
#include "xml.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG	SYSCONFDIR "/dmarc-reports.conf"

/* usage - the synopsis */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: dmarc-reports [-c config] [--db database] import HISTORY...\n"
	    "       dmarc-reports [-c config] [--db database] send [--until TIME] [--dry-run --output DIR]\n"
	    "       dmarc-reports [-c config] [--db database] expire --days N [--received-days N]\n"
	    "  for the owners of our domains:\n"
	    "       dmarc-reports [-c config] [--db database] receive [--quiet] [--syslog] PATH...|-\n"
	    "       dmarc-reports [-c config] [--db database] sources --domain D [PERIOD] [--format F] [--no-rdns]\n"
	    "       dmarc-reports [-c config] [--db database] kpis [--domain D] [PERIOD] [--format F] [--no-rdns]\n"
	    "       dmarc-reports [-c config] [--db database] readiness --domain D [--until DAY] [--format F] [--no-rdns]\n"
	    "       dmarc-reports [-c config] [--db database] html --domain D [PERIOD] --output FILE|-\n"
	    "       dmarc-reports [-c config] check-dns DOMAIN [--dkim-selector S]... [--format F]\n"
	    "       dmarc-reports [-c config] -n\n"
	    "  PERIOD is [--since Nd|DAY] [--until DAY] (default: the last 30 full UTC days);\n"
	    "  F is table (default), json or csv (check-dns: table or json).\n");
	exit(status);
}

/*
 * The import progress line, on standard error when it is a terminal only:
 * "\r" and the text, at most PROGRESS_HZ times a second, ended with a
 * newline before anything else is printed and after each file.
 */
#define PROGRESS_HZ	4

struct progress {
	bool		 on;		/* stderr is a terminal */
	bool		 open;		/* a line is shown without its newline */
	int		 width;		/* of the text shown */
	unsigned	 files, done;	/* named, finished */
	unsigned long long before;	/* lines of the finished files */
	double		 start, last;	/* monotonic seconds */
};

/* now_mono - CLOCK_MONOTONIC in seconds */
static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* progress_draw - show the counters; force: even if drawn less than 1/PROGRESS_HZ s ago */
static void
progress_draw(struct progress *p, unsigned long long lines, bool force)
{
	double t = now_mono(), rate;
	unsigned long long total = p->before + lines;
	int w;

	if (!p->on || (!force && t - p->last < 1.0 / PROGRESS_HZ))
		return;
	p->last = t;
	rate = t > p->start ? (double)total / (t - p->start) : 0;
	w = fprintf(stderr, "\rdmarc-reports: %u/%u files done, %llu records, %.0f records/s",
	    p->done, p->files, total, rate);
	/* blank out what is left of a longer previous text */
	if (w >= 0 && w < p->width)
		fprintf(stderr, "%*s", p->width - w, "");
	if (w > p->width)
		p->width = w;
	p->open = true;
}

/* progress_end - end the line shown, if any, with a newline */
static void
progress_end(struct progress *p)
{
	if (p->open)
		fputc('\n', stderr);
	p->open = false;
	p->width = 0;
}

/* on_progress - import_file's callback */
static void
on_progress(void *arg, const struct import_stats *s)
{
	progress_draw(arg, s->lines, false);
}

/* on_malformed - a bad history line: say where, go on */
static void
on_malformed(void *arg, const char *path, unsigned long long lineno, const char *msg)
{
	progress_end(arg);
	fprintf(stderr, "dmarc-reports: %s:%llu: %s (skipped)\n", path, lineno, msg);
}

/* cmd_import - every file named, idempotently */
static int
cmd_import(struct store *st, int argc, char **argv)
{
	struct import_stats s;
	struct progress pr;
	char err[1024];
	int i, rc = 0, ret;

	if (argc < 1)
		usage(EX_USAGE);
	memset(&pr, 0, sizeof(pr));
	pr.on = isatty(STDERR_FILENO) == 1;
	pr.files = (unsigned)argc;
	pr.start = pr.last = now_mono();
	for (i = 0; i < argc; i++) {
		memset(&s, 0, sizeof(s));
		s.on_malformed = on_malformed;
		if (pr.on)
			s.on_progress = on_progress;
		s.arg = &pr;
		ret = import_file(st, argv[i], &s, err, sizeof(err));
		pr.done++;
		/* a file that took long enough to show a line gets its final count */
		if (pr.open)
			progress_draw(&pr, s.lines, true);
		pr.before += s.lines;
		progress_end(&pr);
		if (ret != 0) {
			fprintf(stderr, "dmarc-reports: %s: %s\n", argv[i], err);
			rc = 1;
			continue;
		}
		printf("%s: %llu lines, %llu imported, %llu already imported, %llu malformed, "
		    "%llu without a DMARC policy\n", argv[i], s.lines, s.imported, s.duplicates,
		    s.malformed, s.unreportable);
		if (s.malformed > 0)
			rc = 1;
	}
	return rc;
}

struct send_ctx {
	const struct rconf	*rc;
	struct store		*st;
	struct dns		*dns;
	struct orgdomain	*psl;
	struct smtp_config	 smtp;
	char			*password;
	const char		*outdir;	/* dry run: write files here */
	const char		*org_domain;	/* receiver, in file names */
	unsigned		 built, sent, problems;
	char			**dry_ids;	/* dry run: reports to forget afterwards */
	size_t			 n_dry_ids;
};

/* write_gz - the report as the .xml.gz that would be attached */
static int
write_gz(const char *path, const char *xml, size_t len)
{
	gzFile gz = gzopen(path, "wb9");

	if (gz == NULL)
		return -1;
	if (gzwrite(gz, xml, (unsigned)len) != (int)len) {
		gzclose(gz);
		return -1;
	}
	return gzclose(gz) == Z_OK ? 0 : -1;
}

/* dest_state - a delivery outcome as the store keeps it */
static enum store_dest_state
dest_state(enum deliver_outcome o)
{
	switch (o) {
	case DELIVER_SENT:
		return STORE_DEST_SENT;
	case DELIVER_DEFERRED:
		return STORE_DEST_FAILED;	/* retried on the next run */
	default:
		return STORE_DEST_REFUSED;	/* too big, not authorised, 5xx: never retried */
	}
}

/* emit - one report built by the store: XML, then files or mail */
static int
emit(struct report *r, const char *rua, void *arg)
{
	struct send_ctx *c = arg;
	struct deliver_msg m;
	struct deliver_result *res = NULL;
	struct rua_dest *dests = NULL;
	struct buf xml, name;
	char err[1024], *path;
	size_t n = 0, i;
	int rc = 0;

	/* A domain that asked for no aggregate reports gets none. */
	if (rua == NULL || *rua == '\0')
		return 0;
	buf_init(&xml, DELIVER_MAX_MESSAGE);
	if (report_xml(r, &xml, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: report %s for %s: %s\n", r->report_id, r->domain, err);
		buf_free(&xml);
		c->problems++;
		return -1;
	}
	c->built++;
	memset(&m, 0, sizeof(m));
	m.rules = c->rc->format == REPORT_RFC7489 ? RULES_RFC7489 : RULES_RFC9989;
	m.from = c->rc->email;
	m.org_domain = c->org_domain;
	m.domain = r->domain;
	m.report_id = r->report_id;
	m.begin = r->begin;
	m.end = r->end;
	m.xml = buf_str(&xml);
	m.xml_len = xml.len;

	if (c->outdir != NULL) {
		c->dry_ids = xrealloc(c->dry_ids, (c->n_dry_ids + 1) * sizeof(*c->dry_ids));
		c->dry_ids[c->n_dry_ids++] = xstrdup(r->report_id);
		buf_init(&name, 1024);
		if (deliver_filename(&m, &name, err, sizeof(err)) != 0) {
			fprintf(stderr, "dmarc-reports: report %s: %s\n", r->report_id, err);
			rc = -1;
		} else {
			path = xasprintf("%s/%s", c->outdir, buf_str(&name));
			if (write_gz(path, buf_str(&xml), xml.len) != 0) {
				fprintf(stderr, "dmarc-reports: %s: cannot write: %s\n", path, strerror(errno));
				rc = -1;
			} else
				printf("%s: report %s for %s (%zu records) -> rua %s\n", path, r->report_id,
				    r->domain, r->n_rows, rua);
			free(path);
		}
		buf_free(&name);
		buf_free(&xml);
		if (rc != 0)
			c->problems++;
		return rc;
	}

	/* RFC 9990 §4: every destination checked (external ones by DNS). */
	if (rua_destinations(c->dns, c->psl, m.rules, r->domain, rua, &dests, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: report %s for %s: rua \"%s\": %s\n", r->report_id, r->domain, rua, err);
		buf_free(&xml);
		c->problems++;
		return -1;
	}
	if (deliver_report(&c->smtp, &m, dests, n, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "dmarc-reports: report %s for %s: %s\n", r->report_id, r->domain, err);
		rc = -1;
	}
	for (i = 0; res != NULL && i < n; i++) {
		enum store_dest_state s = dest_state(res[i].outcome);

		printf("report %s for %s to %s: %s%s%s\n", r->report_id, r->domain,
		    res[i].address != NULL ? res[i].address : dests[i].uri, deliver_outcome_str(res[i].outcome),
		    res[i].detail != NULL ? " - " : "", res[i].detail != NULL ? res[i].detail : "");
		/* The store keys destinations by their rua URI (RFC 9990 §4). */
		if (store_report_mark(c->st, r->report_id, dests[i].uri, s, res[i].detail,
		    err, sizeof(err)) != 0) {
			fprintf(stderr, "dmarc-reports: report %s: bookkeeping failed: %s\n", r->report_id, err);
			rc = -1;
		}
		if (res[i].outcome == DELIVER_SENT)
			c->sent++;
		else if (res[i].outcome != DELIVER_REFUSED && res[i].outcome != DELIVER_TOO_BIG)
			c->problems++;
	}
	deliver_results_free(res, n);
	rua_dests_free(dests, n);
	buf_free(&xml);
	return rc;
}

/* read_password - SMTPPasswordFile: first line */
static char *
read_password(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (fp == NULL)
		return NULL;
	if (getline(&line, &cap, fp) < 0) {
		free(line);
		line = NULL;
	} else
		line[strcspn(line, "\r\n")] = '\0';
	fclose(fp);
	return line;
}

/*
 * check_ca_file - SMTPCAFile: readable and holding at least one PEM
 * certificate.  Checked before anything is sent, so that a wrong path is a
 * configuration error and never a silent fall back to the system store.
 */
static int
check_ca_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	X509 *x;
	unsigned n = 0;

	if (fp == NULL) {
		snprintf(err, errlen, "SMTPCAFile %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		X509_free(x);
		n++;
	}
	ERR_clear_error();	/* the read that ended the loop */
	fclose(fp);
	if (n == 0) {
		snprintf(err, errlen, "SMTPCAFile %s: no PEM certificate in it", path);
		return -1;
	}
	return 0;
}

/* cmd_send - build and deliver every report that is due */
static int
cmd_send(const struct rconf *rc, struct store *st, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "until", required_argument, NULL, 'u' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct report_options o;
	struct send_ctx c;
	struct dns_options dopt;
	time_t until = time(NULL);
	bool dry = false;
	const char *at;
	char err[1024], *colon;
	int ch, rv;

	memset(&c, 0, sizeof(c));
	optind = 0;	/* glibc: 0 starts afresh (main used "+"), options may follow operands */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (time_parse_utc(optarg, &until) != 0) {
				fprintf(stderr, "dmarc-reports: --until %s: not ISO 8601 (2026-11-23T00:00:00Z) nor epoch seconds\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'd':
			dry = true;
			break;
		case 'o':
			c.outdir = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	if (dry != (c.outdir != NULL)) {
		fprintf(stderr, "dmarc-reports: --dry-run and --output DIR go together\n");
		return EX_USAGE;
	}
	if (rc->org_name == NULL || rc->email == NULL || (at = strrchr(rc->email, '@')) == NULL ||
	    !smtp_address_valid(rc->email)) {
		fprintf(stderr, "dmarc-reports: send needs OrgName and ReportEmail (an address) in the configuration\n");
		return EX_CONFIG;
	}
	c.rc = rc;
	c.st = st;
	c.org_domain = rc->receiver != NULL ? rc->receiver : at + 1;
	if (!dry) {
		rconf_dns_options(rc, &dopt);
		if ((c.dns = dns_new_ldns(&dopt, err, sizeof(err))) == NULL ||
		    (c.psl = orgdomain_load(rc->psl_file, err, sizeof(err))) == NULL) {
			fprintf(stderr, "dmarc-reports: %s\n", err);
			dns_free(c.dns);
			return EX_CONFIG;
		}
		c.smtp.transport = rc->sendmail != NULL ? SMTP_TRANSPORT_SENDMAIL : SMTP_TRANSPORT_RELAY;
		c.smtp.sendmail = rc->sendmail;
		c.smtp.host = xstrdup(rc->smtp_relay);
		if ((colon = strrchr((char *)c.smtp.host, ':')) != NULL && strchr(colon, ']') == NULL) {
			*colon = '\0';
			c.smtp.port = (unsigned)atoi(colon + 1);
		}
		c.smtp.tls = rc->smtp_starttls ? SMTP_TLS_REQUIRE : SMTP_TLS_NONE;
		c.smtp.tls_allow_untrusted = !rc->smtp_tls_verify;
		if (rc->smtp_ca_file != NULL && check_ca_file(rc->smtp_ca_file, err, sizeof(err)) != 0) {
			fprintf(stderr, "dmarc-reports: %s\n", err);
			free((char *)c.smtp.host);
			orgdomain_free(c.psl);
			dns_free(c.dns);
			return EX_CONFIG;
		}
		c.smtp.tls_ca_file = rc->smtp_ca_file;
		c.smtp.auth_user = rc->smtp_user;
		if (rc->smtp_password_file != NULL &&
		    (c.password = read_password(rc->smtp_password_file)) == NULL) {
			fprintf(stderr, "dmarc-reports: SMTPPasswordFile %s: cannot read\n", rc->smtp_password_file);
			free((char *)c.smtp.host);
			orgdomain_free(c.psl);
			dns_free(c.dns);
			return EX_CONFIG;
		}
		c.smtp.auth_password = c.password;
	}
	memset(&o, 0, sizeof(o));
	o.format = rc->format;
	o.org_name = rc->org_name;
	o.email = rc->email;
	o.extra_contact_info = rc->extra_contact_info;
	o.generator = PACKAGE_NAME " " PACKAGE_VERSION;

	rv = 0;
	if (!dry && store_retry_reports(st, until, &o, emit, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dmarc-reports: retrying unsent reports: %s\n", err);
		rv = 1;
	}
	if (store_build_reports(st, until, &o, emit, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "dmarc-reports: %s\n", err);
		rv = 1;
	}
	/* A dry run leaves no trace: the next run builds the same reports, same ids. */
	for (size_t i = 0; i < c.n_dry_ids; i++) {
		/* 1: forgotten, 0: there was nothing to forget; only -1 is an error */
		if (store_report_forget(st, c.dry_ids[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "dmarc-reports: dry run: %s\n", err);
			rv = 1;
		}
		free(c.dry_ids[i]);
	}
	free(c.dry_ids);
	printf("%u reports built, %u deliveries accepted, %u problems\n", c.built, c.sent, c.problems);
	free((char *)c.smtp.host);
	free(c.password);
	orgdomain_free(c.psl);
	dns_free(c.dns);
	return rv != 0 || c.problems > 0 ? 1 : 0;
}

/* days_arg - a number of days from 1 to 36500, or -1 */
static long
days_arg(const char *opt, const char *v)
{
	char *end;
	long days;

	errno = 0;
	days = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || days < 1 || days > 36500) {
		fprintf(stderr, "dmarc-reports: %s %s: a number of days from 1 to 36500\n", opt, v);
		return -1;
	}
	return days;
}

/*
 * cmd_expire - drop what is older than N days: history records and our
 * reports (--days), and the reports received about our own domains
 * (--received-days, default the same; readiness needs ReadinessDays of
 * them, and check-dns's "p=none for months" looks back 60 days).
 */
static int
cmd_expire(struct store *st, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "days", required_argument, NULL, 'd' },
		{ "received-days", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_expire_stats s;
	unsigned long long received = 0;
	long days = -1, rdays = -1;
	char err[1024];
	time_t now = time(NULL);
	int ch;

	optind = 0;	/* glibc: 0 starts afresh (main used "+"), options may follow operands */
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'd' && (days = days_arg("--days", optarg)) < 0)
			return EX_USAGE;
		else if (ch == 'r' && (rdays = days_arg("--received-days", optarg)) < 0)
			return EX_USAGE;
		else if (ch != 'd' && ch != 'r')
			usage(EX_USAGE);
	}
	if (days < 0)
		usage(EX_USAGE);
	if (rdays < 0)
		rdays = days;
	memset(&s, 0, sizeof(s));
	if (store_expire(st, now - days * 86400, &s, err, sizeof(err)) != 0 ||
	    store_rcv_expire(st, now - rdays * 86400, &received, err, sizeof(err)) != 0) {
		fprintf(stderr, "dmarc-reports: expire: %s\n", err);
		return 1;
	}
	printf("expired %llu records and %llu reports older than %ld days, "
	    "%llu received reports older than %ld days\n", s.messages, s.reports, days, received, rdays);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = DEFAULT_CONFIG, *db = NULL, *cmd;
	bool explicit_config = false, check = false;
	struct rconf *rc;
	struct store *st;
	char err[1024];
	int ch, rv;

	log_init("dmarc-reports");
	log_set_stderr(true);
	log_set_level(LOG_LEVEL_WARN);
	/* "+": global options end at the command word */
	while ((ch = getopt_long(argc, argv, "+c:hnV", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			explicit_config = true;
			break;
		case 'D':
			db = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("dmarc-reports %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (!explicit_config && access(config, F_OK) != 0)
		config = NULL;
	if ((rc = rconf_load(config, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: %s\n", err);
		return EX_CONFIG;
	}
	if (db != NULL) {
		free(rc->database);
		rc->database = xstrdup(db);
	}
	if (check) {
		printf("# %s: configuration OK\n", config != NULL ? config : "built-in defaults");
		rconf_dump(rc, stdout);
		rconf_free(rc);
		return 0;
	}
	if (optind >= argc)
		usage(EX_USAGE);
	cmd = argv[optind];
	if (strcmp(cmd, "check-dns") == 0) {
		/* DNS first; it opens the store itself, only if it exists */
		rv = cmd_check_dns(rc, argc - optind, argv + optind);
		rconf_free(rc);
		return rv;
	}
	if (strcmp(cmd, "import") != 0 && strcmp(cmd, "send") != 0 && strcmp(cmd, "expire") != 0 &&
	    strcmp(cmd, "receive") != 0 && strcmp(cmd, "sources") != 0 && strcmp(cmd, "kpis") != 0 &&
	    strcmp(cmd, "readiness") != 0 && strcmp(cmd, "html") != 0) {
		fprintf(stderr, "dmarc-reports: unknown command \"%s\"\n", cmd);
		usage(EX_USAGE);
	}
	if ((st = store_open(rc->database, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarc-reports: %s: %s\n", rc->database, err);
		rconf_free(rc);
		/* receive runs from an MTA: a store it cannot open now (a full
		 * disk, a database restarting) is a reason to try again later,
		 * not to bounce the report mail */
		return strcmp(cmd, "receive") == 0 ? EX_TEMPFAIL : EX_CONFIG;
	}
	if (strcmp(cmd, "import") == 0)
		rv = cmd_import(st, argc - optind - 1, argv + optind + 1);
	else if (strcmp(cmd, "send") == 0)
		rv = cmd_send(rc, st, argc - optind, argv + optind);
	else if (strcmp(cmd, "receive") == 0)
		rv = cmd_receive(rc, st, argc - optind, argv + optind);
	else if (strcmp(cmd, "sources") == 0)
		rv = cmd_sources(rc, st, argc - optind, argv + optind);
	else if (strcmp(cmd, "kpis") == 0)
		rv = cmd_kpis(rc, st, argc - optind, argv + optind);
	else if (strcmp(cmd, "readiness") == 0)
		rv = cmd_readiness(rc, st, argc - optind, argv + optind);
	else if (strcmp(cmd, "html") == 0)
		rv = cmd_html(rc, st, argc - optind, argv + optind);
	else
		rv = cmd_expire(st, argc - optind, argv + optind);
	store_close(st);
	rconf_free(rc);
	return rv;
}
