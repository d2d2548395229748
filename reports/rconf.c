/*
 * rconf.c - read dmarc-reports.conf.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "kvfile.h"
#include "rconf.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

enum ropt_type { R_STRING, R_BOOL, R_FORMAT, R_NAMESERVERS, R_UINT, R_DAYS, R_COUNT, R_PERCENT,
	R_KNOWN, R_UNAUTH };

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
	{ "KnownSource",	R_KNOWN,	ROFF(known),	NULL },	/* repeatable */
	{ "UnauthorizedSource",	R_UNAUTH,	ROFF(known),	NULL },	/* repeatable */
	{ "ReadinessPassRate",	R_PERCENT,	ROFF(readiness_pass_rate), "98" },
	{ "ReadinessDays",	R_DAYS,		ROFF(readiness_days), "14" },
	{ "ReadinessMinMessages", R_COUNT,	ROFF(readiness_min_messages), "100" },
	{ "ReverseDNSCacheDays", R_DAYS,	ROFF(rdns_cache_days), "7" },
};

#define NROPTS	(sizeof(ropts) / sizeof(ropts[0]))

struct rstate {
	struct rconf	*c;
	unsigned	 seen[NROPTS];
};

/* lower - ASCII lowercase in place */
static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* name_ok - a domain name as KnownSource takes it: letters, digits, '-', '.', '_' */
static bool
name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || strlen(s) > 253)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '_'))
			return false;
	return true;
}

/*
 * known_parse - "DOMAIN KIND:MATCH LABEL...": one more KnownSource.  The
 * label is required: the reports show it, and a source nobody can name is
 * not known.
 */
static int
known_parse(struct rconf *c, unsigned line, bool authorized, const char *v, char *err,
    size_t errlen)
{
	struct known_source k;
	char *copy = xstrdup(v), *dom, *what, *label, *colon, *slash, *end;
	unsigned long prefix;
	size_t alen;

	memset(&k, 0, sizeof(k));
	dom = strtok(copy, " \t");
	what = strtok(NULL, " \t");
	label = strtok(NULL, "");
	while (label != NULL && (*label == ' ' || *label == '\t'))
		label++;
	if (dom == NULL || what == NULL || label == NULL || *label == '\0') {
		snprintf(err, errlen, "\"%s\": want DOMAIN KIND:MATCH LABEL, e.g. "
		    "\"example.com dkim:mcsv.net Mailchimp\"", v);
		goto fail;
	}
	lower(dom);
	lower(what);
	if (strcmp(dom, "*") != 0 && !name_ok(dom)) {
		snprintf(err, errlen, "\"%s\" is not a domain name (or * for every domain)", dom);
		goto fail;
	}
	if ((colon = strchr(what, ':')) == NULL) {
		snprintf(err, errlen, "\"%s\": want ip:, rdns:, dkim: or spf: before the value", what);
		goto fail;
	}
	*colon = '\0';
	if (strcmp(what, "ip") == 0)
		k.kind = KS_IP;
	else if (strcmp(what, "rdns") == 0)
		k.kind = KS_RDNS;
	else if (strcmp(what, "dkim") == 0)
		k.kind = KS_DKIM;
	else if (strcmp(what, "spf") == 0)
		k.kind = KS_SPF;
	else {
		snprintf(err, errlen, "\"%s:\" is not one of ip:, rdns:, dkim:, spf:", what);
		goto fail;
	}
	k.match = xstrdup(colon + 1);
	if (k.kind == KS_IP) {
		char addr[64];

		slash = strchr(k.match, '/');
		alen = slash != NULL ? (size_t)(slash - k.match) : strlen(k.match);
		if (alen >= sizeof(addr))
			alen = sizeof(addr) - 1;
		memcpy(addr, k.match, alen);
		addr[alen] = '\0';
		if (inet_pton(AF_INET, addr, k.net) == 1)
			k.family = AF_INET;
		else if (inet_pton(AF_INET6, addr, k.net) == 1)
			k.family = AF_INET6;
		else {
			snprintf(err, errlen, "\"%s\" is not an IP address or network", k.match);
			goto fail;
		}
		k.prefix = k.family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			errno = 0;
			prefix = strtoul(slash + 1, &end, 10);
			if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 ||
			    prefix > k.prefix) {
				snprintf(err, errlen, "\"%s\": bad prefix length", k.match);
				goto fail;
			}
			k.prefix = (unsigned)prefix;
		}
	} else if (!name_ok(k.match)) {
		snprintf(err, errlen, "\"%s\" is not a domain name", k.match);
		goto fail;
	}
	k.domain = xstrdup(dom);
	k.label = xstrdup(label);
	k.line = line;
	k.authorized = authorized;
	c->known = xrealloc(c->known, (c->n_known + 1) * sizeof(*c->known));
	c->known[c->n_known++] = k;
	free(copy);
	return 0;
fail:
	free(k.match);
	free(copy);
	return -1;
}

/* ip_in - is the numeric address ip inside k's network? */
static bool
ip_in(const struct known_source *k, const char *ip)
{
	unsigned char a[16];
	unsigned full, rest;

	if (inet_pton(k->family, ip, a) != 1)
		return false;
	full = k->prefix / 8;
	rest = k->prefix % 8;
	if (memcmp(a, k->net, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ k->net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* any_under - is one of the names equal to dom or below it? */
static bool
any_under(const char *const *names, size_t n, const char *dom)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && domain_at_or_below(names[i], dom))
			return true;
	return false;
}

/* known_source_match - the first KnownSource that covers the subject */
const struct known_source *
known_source_match(const struct rconf *c, const struct ks_subject *s)
{
	for (size_t i = 0; i < c->n_known; i++) {
		const struct known_source *k = &c->known[i];
		bool hit = false;

		if (strcmp(k->domain, "*") != 0 && (s->domain == NULL || !domain_at_or_below(s->domain, k->domain)))
			continue;
		switch (k->kind) {
		case KS_IP:
			hit = s->ip != NULL && ip_in(k, s->ip);
			break;
		case KS_RDNS:
			hit = s->ptr != NULL && domain_at_or_below(s->ptr, k->match);
			break;
		case KS_DKIM:
			hit = any_under(s->dkim_pass, s->n_dkim_pass, k->match);
			break;
		case KS_SPF:
			hit = any_under(s->spf_pass, s->n_spf_pass, k->match);
			break;
		}
		if (hit)
			return k;
	}
	return NULL;
}

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
	case R_DAYS:
	case R_COUNT: {
		unsigned long max = o->type == R_DAYS ? 365 : 1000000000;

		errno = 0;
		n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n > max ||
		    (o->type == R_DAYS && n < 1)) {
			snprintf(err, errlen, "\"%s\" is not a number from %u to %lu", v,
			    o->type == R_DAYS ? 1 : 0, max);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	case R_PERCENT: {
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || d < 50 || d > 100) {
			snprintf(err, errlen, "\"%s\" is not a percentage from 50 to 100", v);
			return -1;
		}
		*(double *)field = d;
		return 0;
	}
	case R_KNOWN:
	case R_UNAUTH:
		/* only from the file: rconf_pair passes the line */
		return -1;
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
	if (ropts[i].type == R_KNOWN || ropts[i].type == R_UNAUTH) {
		if (known_parse(st->c, lineno, ropts[i].type == R_KNOWN, value, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s: %s", ropts[i].name, msg);
			return -1;
		}
		return 0;
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

/* rconf_dns_options - the resolver settings of the configuration */
void
rconf_dns_options(const struct rconf *c, struct dns_options *o)
{
	memset(o, 0, sizeof(*o));
	o->nameservers = c->nameservers;
	o->n_nameservers = c->n_nameservers;
	o->timeout = c->dns_timeout;
	o->retries = 1;
	o->cache_entries = 4096;
	o->max_ttl = 3600;
	o->max_neg_ttl = 300;
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
	for (i = 0; i < c->n_known; i++) {
		free(c->known[i].domain);
		free(c->known[i].match);
		free(c->known[i].label);
	}
	free(c->known);
	free(c);
}

/* rconf_dump - "Name value" per option */
void
rconf_dump(const struct rconf *c, FILE *fp)
{
	size_t i, j;

	for (i = 0; i < NROPTS; i++) {
		const void *field = (const char *)c + ropts[i].offset;

		if (ropts[i].type == R_KNOWN || ropts[i].type == R_UNAUTH) {
			static const char *const kinds[] = { "ip", "rdns", "dkim", "spf" };
			bool want = ropts[i].type == R_KNOWN, any = false;

			for (j = 0; j < c->n_known; j++) {
				if (c->known[j].authorized != want)
					continue;
				any = true;
				fprintf(fp, "%s %s %s:%s %s\n", ropts[i].name, c->known[j].domain,
				    kinds[c->known[j].kind], c->known[j].match, c->known[j].label);
			}
			if (!any)
				fprintf(fp, "%s (none)\n", ropts[i].name);
			continue;
		}
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
		case R_DAYS:
		case R_COUNT:
			fprintf(fp, "%u", *(const unsigned *)field);
			break;
		case R_PERCENT:
			fprintf(fp, "%g", *(const double *)field);
			break;
		case R_KNOWN:
		case R_UNAUTH:
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
