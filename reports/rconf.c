/*
 * rconf.c - read dmarc-reports.conf.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvfile.h"
#include "rconf.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

enum ropt_type { R_STRING, R_BOOL, R_FORMAT, R_NAMESERVERS, R_UINT };

struct ropt {
	const char	*name;
	enum ropt_type	 type;
	size_t		 offset;
	const char	*def;
};

#define ROFF(f)	offsetof(struct rconf, f)

static const struct ropt ropts[] = {
	{ "Database",		R_STRING,	ROFF(database),	LOCALSTATEDIR "/lib/dmarc-milter/reports.sqlite" },
	{ "OrgName",		R_STRING,	ROFF(org_name),	NULL },
	{ "ReportEmail",	R_STRING,	ROFF(email),	NULL },
	{ "ExtraContactInfo",	R_STRING,	ROFF(extra_contact_info), NULL },
	{ "ReceiverDomain",	R_STRING,	ROFF(receiver),	NULL },
	{ "ReportFormat",	R_FORMAT,	ROFF(format),	"rfc9990" },
	{ "SMTPRelay",		R_STRING,	ROFF(smtp_relay), "127.0.0.1:25" },
	{ "SMTPStartTLS",	R_BOOL,		ROFF(smtp_starttls), "no" },
	{ "SMTPVerifyCertificate", R_BOOL,	ROFF(smtp_tls_verify), "yes" },
	{ "SMTPCAFile",		R_STRING,	ROFF(smtp_ca_file), NULL },
	{ "SMTPUser",		R_STRING,	ROFF(smtp_user), NULL },
	{ "SMTPPasswordFile",	R_STRING,	ROFF(smtp_password_file), NULL },
	{ "Sendmail",		R_STRING,	ROFF(sendmail),	NULL },
	{ "Nameservers",	R_NAMESERVERS,	ROFF(nameservers), NULL },
	{ "DNSTimeout",		R_UINT,		ROFF(dns_timeout), "5" },
	{ "PublicSuffixList",	R_STRING,	ROFF(psl_file),	DEFAULT_PSL_FILE },
};

#define NROPTS	(sizeof(ropts) / sizeof(ropts[0]))

struct rstate {
	struct rconf	*c;
	unsigned	 seen[NROPTS];
};

/* ropt_set - one value */
static int
ropt_set(struct rconf *c, const struct ropt *o, const char *v, char *err, size_t errlen)
{
	void *field = (char *)c + o->offset;
	char *end;
	unsigned long n;

	switch (o->type) {
	case R_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case R_BOOL:
		if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
		    strcmp(v, "1") == 0)
			*(bool *)field = true;
		else if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
		    strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "\"%s\" is not yes or no", v);
			return -1;
		}
		return 0;
	case R_FORMAT:
		if (strcasecmp(v, "rfc9990") == 0)
			*(enum report_format *)field = REPORT_RFC9990;
		else if (strcasecmp(v, "rfc7489") == 0)
			*(enum report_format *)field = REPORT_RFC7489;
		else {
			snprintf(err, errlen, "\"%s\" is not one of rfc9990|rfc7489", v);
			return -1;
		}
		return 0;
	case R_UINT:
		errno = 0;
		n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 1 || n > 60) {
			snprintf(err, errlen, "\"%s\" is not a number from 1 to 60", v);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case R_NAMESERVERS:
		return config_parse_nameservers(v, c->nameservers, &c->n_nameservers, err, errlen);
	}
	return -1;
}

/* rconf_pair - one line of the file */
static int
rconf_pair(void *arg, unsigned lineno, const char *name, const char *value, char *err, size_t errlen)
{
	struct rstate *st = arg;
	char msg[512];
	size_t i;

	for (i = 0; i < NROPTS; i++)
		if (strcasecmp(name, ropts[i].name) == 0)
			break;
	if (i == NROPTS) {
		snprintf(err, errlen, "unknown option \"%s\"", name);
		return -1;
	}
	if (st->seen[i] != 0) {
		snprintf(err, errlen, "%s given again (first on line %u)", ropts[i].name, st->seen[i]);
		return -1;
	}
	st->seen[i] = lineno;
	if (ropt_set(st->c, &ropts[i], value, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s: %s", ropts[i].name, msg);
		return -1;
	}
	return 0;
}

/* rconf_load - defaults, then the file */
struct rconf *
rconf_load(const char *path, char *err, size_t errlen)
{
	struct rconf *c = xcalloc(1, sizeof(*c));
	struct rstate st;
	char msg[256];
	size_t i;
	FILE *fp;
	int rc;

	for (i = 0; i < NROPTS; i++)
		if (ropts[i].def != NULL && ropt_set(c, &ropts[i], ropts[i].def, msg, sizeof(msg)) != 0)
			abort();	/* a broken built-in default is a bug */
	if (path == NULL)
		return c;
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		rconf_free(c);
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	st.c = c;
	rc = kvfile_read(path, fp, rconf_pair, &st, err, errlen);
	fclose(fp);
	if (rc != 0) {
		rconf_free(c);
		return NULL;
	}
	return c;
}

/* rconf_free - release */
void
rconf_free(struct rconf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NROPTS; i++)
		if (ropts[i].type == R_STRING)
			free(*(char **)((char *)c + ropts[i].offset));
	free(c);
}

/* rconf_dump - "Name value" per option */
void
rconf_dump(const struct rconf *c, FILE *fp)
{
	size_t i, j;

	for (i = 0; i < NROPTS; i++) {
		const void *field = (const char *)c + ropts[i].offset;

		fprintf(fp, "%s ", ropts[i].name);
		switch (ropts[i].type) {
		case R_STRING:
			fprintf(fp, "%s", *(char *const *)field ? *(char *const *)field : "(unset)");
			break;
		case R_BOOL:
			fprintf(fp, "%s", *(const bool *)field ? "yes" : "no");
			break;
		case R_FORMAT:
			fprintf(fp, "%s", *(const enum report_format *)field == REPORT_RFC7489 ? "rfc7489" : "rfc9990");
			break;
		case R_UINT:
			fprintf(fp, "%u", *(const unsigned *)field);
			break;
		case R_NAMESERVERS:
			if (c->n_nameservers == 0)
				fprintf(fp, "(system resolv.conf)");
			for (j = 0; j < c->n_nameservers; j++)
				fprintf(fp, "%s%s:%u", j ? ", " : "", c->nameservers[j].addr, c->nameservers[j].port);
			break;
		}
		fputc('\n', fp);
	}
}
