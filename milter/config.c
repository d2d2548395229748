/*
 * config.c - parse the key/value configuration file into an immutable struct.
 *
 * Syntax: one "Name value" pair per line; names are case-insensitive; a '#'
 * at the start of a line or after white space starts a comment; blank lines
 * are ignored.  Every option is described once in the option table below,
 * which drives parsing, defaults (parsed by the same code as the file, so a
 * default can never be invalid) and config_dump.  An unknown name, a bad
 * value or an option given twice is an error naming the file and line.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "hostlist.h"
#include "kvfile.h"
#include "smtp.h"
#include "util.h"


enum opt_type {
	OPT_STRING,		/* any non-empty text */
	OPT_BOOL,		/* yes/no, true/false, on/off, 1/0 */
	OPT_UINT,		/* decimal within [min, max] */
	OPT_SOCKET,		/* libmilter socket spec */
	OPT_NAMESERVERS,	/* address[:port], ... */
	OPT_LOGLEVEL,
	OPT_FACILITY,
	OPT_HOSTNAME,		/* a host name, default: this host's name */
	OPT_HOSTLIST,		/* addresses, networks, host names, or /file */
	OPT_WORDLIST,		/* domains or authserv-ids, lowercased */
	OPT_ENUM,		/* one of the words in choices, stored as its index */
	OPT_ADDRESS,		/* a mail address, local@domain (smtp_address_valid) */
	OPT_HOSTPORT,		/* host[:port] or [IPv6]:port */
	OPT_MODE		/* file mode in octal, e.g. 0660 */
};

struct opt {
	const char	*name;
	enum opt_type	 type;
	size_t		 offset;
	const char	*def;		/* default, parsed like a file value; NULL = unset */
	unsigned	 min, max;	/* OPT_UINT bounds */
	const char	*choices;	/* OPT_ENUM: "a|b|c" */
};

#define OFF(f)	offsetof(struct config, f)

static const struct opt opts[] = {
	/* daemon */
	{ "Socket",		OPT_SOCKET,	OFF(socket),		"inet:8893@127.0.0.1", 0, 0, NULL },
	{ "PidFile",		OPT_STRING,	OFF(pidfile),		NULL, 0, 0, NULL },
	{ "UserID",		OPT_STRING,	OFF(userid),		NULL, 0, 0, NULL },
	{ "SocketMode",		OPT_MODE,	OFF(socket_mode),	"0660", 0, 0777, NULL },
	{ "SocketGroup",	OPT_STRING,	OFF(socket_group),	NULL, 0, 0, NULL },
	{ "Syslog",		OPT_BOOL,	OFF(syslog),		"no", 0, 0, NULL },
	{ "SyslogFacility",	OPT_FACILITY,	OFF(syslog_facility),	"mail", 0, 0, NULL },
	{ "LogLevel",		OPT_LOGLEVEL,	OFF(log_level),		"info", 0, 0, NULL },
	/* identity */
	{ "AuthservID",		OPT_HOSTNAME,	OFF(authserv_id),	NULL, 0, 0, NULL },
	/* DNS */
	{ "Nameservers",	OPT_NAMESERVERS, OFF(nameservers),	NULL, 0, 0, NULL },
	{ "DNSTimeout",		OPT_UINT,	OFF(dns_timeout),	"5", 1, 60, NULL },
	{ "DNSRetries",		OPT_UINT,	OFF(dns_retries),	"2", 0, 10, NULL },
	{ "DNSCacheSize",	OPT_UINT,	OFF(dns_cache_size),	"10000", 0, 10000000, NULL },
	/* DMARC policy */
	{ "DMARCRules",		OPT_ENUM,	OFF(rules),		"rfc7489", 0, 0, "rfc7489|rfc9989" },
	{ "RejectFailures",	OPT_BOOL,	OFF(reject_failures),	"no", 0, 0, NULL },
	{ "HoldQuarantinedMessages", OPT_BOOL,	OFF(hold_quarantined),	"no", 0, 0, NULL },
	{ "TemporaryFailures",	OPT_ENUM,	OFF(temp_failures),	"accept", 0, 0, "accept|tempfail" },
	{ "RequiredHeaders",	OPT_BOOL,	OFF(required_headers),	"no", 0, 0, NULL },
	{ "RejectMultiValueFrom", OPT_BOOL,	OFF(reject_multi_from),	"no", 0, 0, NULL },
	{ "PublicSuffixList",	OPT_STRING,	OFF(psl_file),		DEFAULT_PSL_FILE, 0, 0, NULL },
	{ "SamplingSeed",	OPT_UINT,	OFF(sampling_seed),	"0", 0, 4294967295u, NULL },
	/* who is skipped or trusted */
	{ "IgnoreHosts",	OPT_HOSTLIST,	OFF(ignore_hosts),	"127.0.0.0/8, ::1", 0, 0, NULL },
	{ "IgnoreAuthenticatedClients", OPT_BOOL, OFF(ignore_auth),	"no", 0, 0, NULL },
	{ "IgnoreMailFrom",	OPT_WORDLIST,	OFF(ignore_mail_from),	NULL, 0, 0, NULL },
	{ "TrustedHosts",	OPT_HOSTLIST,	OFF(trusted_hosts),	NULL, 0, 0, NULL },
	{ "TrustedAuthservIDs",	OPT_WORDLIST,	OFF(trusted_authserv_ids), NULL, 0, 0, NULL },
	/* DKIM */
	{ "MinimumKeyBits",	OPT_UINT,	OFF(min_key_bits),	"1024", 1024, 16384, NULL },
	{ "DKIMBodyLength",	OPT_ENUM,	OFF(body_length),	"policy", 0, 0, "policy|allow" },
	/* output */
	{ "HistoryFile",	OPT_STRING,	OFF(history_file),	NULL, 0, 0, NULL },
	{ "HistoryErrorInterval", OPT_UINT,	OFF(history_error_interval), "60", 0, 86400, NULL },
	{ "StatsFile",		OPT_STRING,	OFF(stats_file),	NULL, 0, 0, NULL },
	{ "StatsInterval",	OPT_UINT,	OFF(stats_interval),	"60", 1, 86400, NULL },
	/* failure reports (RFC 9991) */
	{ "FailureReports",	OPT_BOOL,	OFF(failure_reports),	"no", 0, 0, NULL },
	{ "FailureReportsFrom",	OPT_ADDRESS,	OFF(failure_reports_from), NULL, 0, 0, NULL },
	{ "FailureReportsRelay", OPT_HOSTPORT,	OFF(failure_reports_relay), "127.0.0.1:25", 0, 0, NULL },
	{ "FailureReportsRateLimit", OPT_UINT,	OFF(failure_reports_rate), "10", 0, 1000000, NULL },
	{ "FailureReportsRedact", OPT_BOOL,	OFF(failure_reports_redact), "yes", 0, 0, NULL },
	{ "FailureReportsQueueSize", OPT_UINT,	OFF(failure_reports_queue), "1000", 1, 1000000, NULL },
};

#define NOPTS	(sizeof(opts) / sizeof(opts[0]))

/* parse_bool - the usual spellings of yes and no */
static int
parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* parse_uint - a decimal number within bounds */
static int
parse_uint(const char *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* parse_port - 1..65535 */
static int
parse_port(const char *v, unsigned *out)
{
	return parse_uint(v, 1, 65535, out);
}

/* valid_hostname - letters, digits, hyphens, dots; RFC 1123 shaped */
static bool
valid_hostname(const char *s)
{
	size_t label = 0, total = 0;

	if (*s == '\0' || *s == '.')
		return false;
	for (; *s != '\0'; s++, total++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return total <= 253;
}

/*
 * config_check_socket - the socket specs libmilter accepts:
 * inet:PORT[@HOST], inet6:PORT[@HOST], unix:PATH, local:PATH or a bare
 * absolute PATH.  libmilter itself only fails when it opens the socket; we
 * check up front so that -n catches the mistake.
 */
int
config_check_socket(const char *spec, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char *port, *at;
	unsigned p;
	int rc = 0;

	if (spec[0] == '/')
		return 0;
	if (colon == NULL) {
		snprintf(err, errlen, "\"%s\": expected inet:PORT@ADDRESS, inet6:PORT@ADDRESS or unix:PATH", spec);
		return -1;
	}
	if (strncasecmp(spec, "unix:", 5) == 0 || strncasecmp(spec, "local:", 6) == 0) {
		if (colon[1] != '/') {
			snprintf(err, errlen, "\"%s\": the socket path must be absolute", spec);
			return -1;
		}
		return 0;
	}
	if (strncasecmp(spec, "inet:", 5) != 0 && strncasecmp(spec, "inet6:", 6) != 0) {
		snprintf(err, errlen, "\"%s\": unknown socket type (use inet, inet6 or unix)", spec);
		return -1;
	}
	port = xstrdup(colon + 1);
	if ((at = strchr(port, '@')) != NULL) {
		*at++ = '\0';
		if (*at == '\0' || (!valid_hostname(at) && strchr(at, ':') == NULL &&
		    strcmp(at, "*") != 0)) {
			snprintf(err, errlen, "\"%s\": bad address \"%s\"", spec, at);
			rc = -1;
		}
	}
	if (rc == 0 && parse_port(port, &p) != 0) {
		snprintf(err, errlen, "\"%s\": bad port \"%s\" (1-65535)", spec, port);
		rc = -1;
	}
	free(port);
	return rc;
}

/*
 * parse_nameserver - "192.0.2.1", "192.0.2.1:5353", "2001:db8::1",
 * "[2001:db8::1]:5353".  Only numeric addresses: resolving a name server's
 * name would need a name server.
 */
static int
parse_nameserver(char *tok, struct nameserver *ns, char *err, size_t errlen)
{
	unsigned char tmp[sizeof(struct in6_addr)];
	char *addr = tok, *port = NULL, *colon;

	if (*tok == '[') {
		char *close = strchr(tok, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			snprintf(err, errlen, "bad name server \"%s\"", tok);
			return -1;
		}
		*close = '\0';
		addr = tok + 1;
		if (close[1] == ':')
			port = close + 2;
	} else if ((colon = strchr(tok, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';		/* exactly one colon: IPv4:port */
		port = colon + 1;
	}
	if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1) {
		snprintf(err, errlen, "name server \"%s\" is not a numeric IPv4 or IPv6 address", addr);
		return -1;
	}
	if (strlen(addr) >= sizeof(ns->addr)) {
		snprintf(err, errlen, "name server address \"%s\" too long", addr);
		return -1;
	}
	strcpy(ns->addr, addr);
	ns->port = 53;
	if (port != NULL && parse_port(port, &ns->port) != 0) {
		snprintf(err, errlen, "bad port \"%s\" for name server %s", port, addr);
		return -1;
	}
	return 0;
}

/* config_parse_nameservers - a list separated by commas and/or blanks */
int
config_parse_nameservers(const char *v, struct nameserver *ns, size_t *n, char *err, size_t errlen)
{
	char *copy = xstrdup(v), *save = NULL, *tok;
	int rc = 0;

	*n = 0;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (*n == CONFIG_MAX_NAMESERVERS) {
			snprintf(err, errlen, "more than %d name servers", CONFIG_MAX_NAMESERVERS);
			rc = -1;
			break;
		}
		if ((rc = parse_nameserver(tok, &ns[*n], err, errlen)) != 0)
			break;
		(*n)++;
	}
	if (rc == 0 && *n == 0) {
		snprintf(err, errlen, "no name server given");
		rc = -1;
	}
	free(copy);
	return rc;
}

/* strlist_free - release a word list */
static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* parse_wordlist - host-name-shaped words separated by commas or blanks */
static int
parse_wordlist(const char *v, struct strlist *out, char *err, size_t errlen)
{
	char *copy = xstrdup(v), *save = NULL, *tok;
	struct strlist l = { NULL, 0 };

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL; tok = strtok_r(NULL, ", \t", &save)) {
		if (!valid_hostname(tok)) {
			snprintf(err, errlen, "\"%s\" is not a domain name", tok);
			strlist_free(&l);
			free(copy);
			return -1;
		}
		l.v = xrealloc(l.v, (l.n + 1) * sizeof(*l.v));
		l.v[l.n] = xstrdup(tok);
		ascii_lowercase(l.v[l.n++]);
	}
	free(copy);
	strlist_free(out);
	*out = l;
	return 0;
}

/* parse_enum - one of "a|b|c" (case-insensitive), stored as its index */
static int
parse_enum(const char *v, const char *choices, void *field, char *err, size_t errlen)
{
	const char *p = choices, *bar;
	int i = 0;

	for (;; i++) {
		size_t len;

		bar = strchr(p, '|');
		len = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (strlen(v) == len && strncasecmp(v, p, len) == 0) {
			*(int *)field = i;
			return 0;
		}
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	snprintf(err, errlen, "\"%s\" is not one of %s", v, choices);
	return -1;
}

/*
 * config_parse_hostport - "host[:port]", "[IPv6]:port" or "[IPv6]": host
 * (brackets removed) into host/hostlen when given, port (25 when absent)
 * into *port when given.
 */
int
config_parse_hostport(const char *v, char *host, size_t hostlen, unsigned *port,
    char *err, size_t errlen)
{
	const char *h = v, *colon = NULL;
	size_t hl;
	unsigned p = 25;

	if (*v == '[') {
		const char *close = strchr(v, ']');

		if (close == NULL || close == v + 1) {
			snprintf(err, errlen, "\"%s\": unbalanced [ ]", v);
			return -1;
		}
		h = v + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "\"%s\": junk after ]", v);
			return -1;
		}
	} else {
		colon = strchr(v, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			snprintf(err, errlen, "\"%s\": write an IPv6 address as [addr]:port", v);
			return -1;
		}
		hl = colon != NULL ? (size_t)(colon - v) : strlen(v);
	}
	if (hl == 0 || hl >= 256) {
		snprintf(err, errlen, "\"%s\": no host", v);
		return -1;
	}
	if (colon != NULL && parse_uint(colon + 1, 1, 65535, &p) != 0) {
		snprintf(err, errlen, "\"%s\": the port is not a number from 1 to 65535", v);
		return -1;
	}
	if (host != NULL) {
		if (hl >= hostlen) {
			snprintf(err, errlen, "\"%s\": host too long", v);
			return -1;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	if (port != NULL)
		*port = p;
	return 0;
}

/* opt_set - parse one value into the struct */
static int
opt_set(struct config *c, const struct opt *o, const char *v, char *err, size_t errlen)
{
	void *field = (char *)c + o->offset;
	char **sp = field;
	enum log_level lvl;

	switch (o->type) {
	case OPT_STRING:
		break;
	case OPT_HOSTNAME:
		if (!valid_hostname(v)) {
			snprintf(err, errlen, "\"%s\" is not a valid host name", v);
			return -1;
		}
		break;
	case OPT_SOCKET:
		if (config_check_socket(v, err, errlen) != 0)
			return -1;
		break;
	case OPT_BOOL:
		if (parse_bool(v, field) != 0) {
			snprintf(err, errlen, "\"%s\" is not yes or no", v);
			return -1;
		}
		return 0;
	case OPT_UINT:
		if (parse_uint(v, o->min, o->max, field) != 0) {
			snprintf(err, errlen, "\"%s\" is not a number from %u to %u", v, o->min, o->max);
			return -1;
		}
		return 0;
	case OPT_LOGLEVEL:
		if (log_level_parse(v, &lvl) != 0) {
			snprintf(err, errlen, "\"%s\" is not one of error, warning, info, debug", v);
			return -1;
		}
		*(enum log_level *)field = lvl;
		return 0;
	case OPT_FACILITY:
		if (strcasecmp(v, "mail") != 0 && strcasecmp(v, "daemon") != 0 &&
		    strcasecmp(v, "user") != 0 &&
		    !(strncasecmp(v, "local", 5) == 0 && v[5] >= '0' && v[5] <= '7' && v[6] == '\0')) {
			snprintf(err, errlen, "\"%s\" is not a syslog facility (mail, daemon, user, local0-local7)", v);
			return -1;
		}
		break;
	case OPT_NAMESERVERS:
		return config_parse_nameservers(v, c->nameservers, &c->n_nameservers, err, errlen);
	case OPT_HOSTLIST: {
		struct hostlist **hl = field, *l;

		if ((l = hostlist_parse(v, err, errlen)) == NULL)
			return -1;
		hostlist_free(*hl);
		*hl = l;
		return 0;
	}
	case OPT_WORDLIST:
		return parse_wordlist(v, field, err, errlen);
	case OPT_ENUM:
		return parse_enum(v, o->choices, field, err, errlen);
	case OPT_ADDRESS:
		if (!smtp_address_valid(v)) {
			snprintf(err, errlen, "\"%s\" is not a plain mail address (local@domain)", v);
			return -1;
		}
		break;
	case OPT_HOSTPORT:
		if (config_parse_hostport(v, NULL, 0, NULL, err, errlen) != 0)
			return -1;
		break;
	case OPT_MODE: {
		unsigned long m;
		char *end;

		errno = 0;
		m = strtoul(v, &end, 8);
		if (*v < '0' || *v > '7' || *end != '\0' || errno != 0 || m > o->max) {
			snprintf(err, errlen, "\"%s\" is not an octal mode from 0 to %o", v, o->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)m;
		return 0;
	}
	}
	free(*sp);
	*sp = xstrdup(v);
	return 0;
}

/* opt_find - case-insensitive lookup in the option table */
static const struct opt *
opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcasecmp(name, opts[i].name) == 0)
			return &opts[i];
	return NULL;
}

/* config_defaults - a struct holding every default */
static struct config *
config_defaults(void)
{
	struct config *c = xcalloc(1, sizeof(*c));
	char err[256], host[256];
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		if (opts[i].def != NULL && opt_set(c, &opts[i], opts[i].def, err, sizeof(err)) != 0)
			log_fatal("built-in default for %s is invalid: %s", opts[i].name, err);
	}
	/* AuthservID defaults to this host's name (RFC 8601 §2.5). */
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0' || !valid_hostname(host))
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	c->authserv_id = xstrdup(host);
	return c;
}

/* The state of one file being read: which options were seen where. */
struct parse_state {
	struct config	*c;
	unsigned	 seen[NOPTS];
};

/* config_pair - one "Name value" line of the file */
static int
config_pair(void *arg, unsigned lineno, const char *name, const char *value, char *err, size_t errlen)
{
	struct parse_state *ps = arg;
	const struct opt *o;
	char msg[512];
	size_t i;

	if ((o = opt_find(name)) == NULL) {
		snprintf(err, errlen, "unknown option \"%s\"", name);
		return -1;
	}
	i = (size_t)(o - opts);
	if (ps->seen[i] != 0) {
		snprintf(err, errlen, "%s given again (first on line %u)", o->name, ps->seen[i]);
		return -1;
	}
	ps->seen[i] = lineno;
	if (opt_set(ps->c, o, value, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s: %s", o->name, msg);
		return -1;
	}
	return 0;
}

/* config_parse_file - apply a file's settings on top of the defaults */
static int
config_parse_file(struct config *c, const char *path, FILE *fp, char *err, size_t errlen)
{
	struct parse_state ps;

	memset(&ps, 0, sizeof(ps));
	ps.c = c;
	return kvfile_read(path, fp, config_pair, &ps, err, errlen);
}

/* config_load - defaults, then the file if one is named */
struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *c = config_defaults();
	FILE *fp;

	if (path == NULL)
		return c;
	c->path = xstrdup(path);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		config_free(c);
		return NULL;
	}
	if (config_parse_file(c, path, fp, err, errlen) != 0) {
		fclose(fp);
		config_free(c);
		return NULL;
	}
	fclose(fp);
	return c;
}

/* config_free - release a snapshot nobody references any more */
void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NOPTS; i++) {
		switch (opts[i].type) {
		case OPT_STRING:
		case OPT_HOSTNAME:
		case OPT_SOCKET:
		case OPT_FACILITY:
		case OPT_ADDRESS:
		case OPT_HOSTPORT:
			free(*(char **)((char *)c + opts[i].offset));
			break;
		case OPT_HOSTLIST:
			hostlist_free(*(struct hostlist **)((char *)c + opts[i].offset));
			break;
		case OPT_WORDLIST:
			strlist_free((struct strlist *)((char *)c + opts[i].offset));
			break;
		default:
			break;
		}
	}
	free(c->path);
	free(c);
}

/*
 * The current snapshot and its reference counts.  config_lock guards
 * current, and the refs of every snapshot; it is held only for pointer and
 * counter updates.
 */
struct snapshot {
	struct config	*conf;
	unsigned	 refs;
	struct snapshot	*next;
};

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snapshots;	/* newest first; the head is current */

/* snapshot_reap - free retired snapshots that no one holds (lock held) */
static void
snapshot_reap(void)
{
	struct snapshot **pp = &snapshots, *s;

	if (*pp == NULL)
		return;
	pp = &(*pp)->next;		/* never the current one */
	while ((s = *pp) != NULL) {
		if (s->refs == 0) {
			*pp = s->next;
			config_free(s->conf);
			free(s);
		} else
			pp = &s->next;
	}
}

/* config_install - make c the snapshot new connections get */
void
config_install(struct config *c)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));

	s->conf = c;
	pthread_mutex_lock(&config_lock);
	s->next = snapshots;
	snapshots = s;
	snapshot_reap();
	pthread_mutex_unlock(&config_lock);
}

/* config_acquire - a counted reference to the current snapshot */
struct config *
config_acquire(void)
{
	struct config *c = NULL;

	pthread_mutex_lock(&config_lock);
	if (snapshots != NULL) {
		snapshots->refs++;
		c = snapshots->conf;
	}
	pthread_mutex_unlock(&config_lock);
	return c;
}

/* config_release - drop a reference taken with config_acquire */
void
config_release(struct config *c)
{
	struct snapshot *s;

	if (c == NULL)
		return;
	pthread_mutex_lock(&config_lock);
	for (s = snapshots; s != NULL; s = s->next) {
		if (s->conf == c) {
			if (s->refs > 0)
				s->refs--;
			break;
		}
	}
	snapshot_reap();
	pthread_mutex_unlock(&config_lock);
}

/* config_dump - "Name value" for every option, in table order */
void
config_dump(const struct config *c, void (*out)(const char *, void *), void *arg)
{
	static const char *levels[] = { "error", "warning", "info", "debug" };
	struct buf b = BUF_INIT;
	size_t i, j;

	buf_init(&b, 0);
	for (i = 0; i < NOPTS; i++) {
		const void *field = (const char *)c + opts[i].offset;

		buf_reset(&b);
		buf_printf(&b, "%s ", opts[i].name);
		switch (opts[i].type) {
		case OPT_BOOL:
			buf_puts(&b, *(const bool *)field ? "yes" : "no");
			break;
		case OPT_UINT:
			buf_printf(&b, "%u", *(const unsigned *)field);
			break;
		case OPT_MODE:
			buf_printf(&b, "%04o", *(const unsigned *)field);
			break;
		case OPT_LOGLEVEL:
			buf_puts(&b, levels[*(const enum log_level *)field]);
			break;
		case OPT_HOSTLIST: {
			const struct hostlist *hl = *(struct hostlist *const *)field;

			if (hl == NULL)
				buf_puts(&b, "(none)");
			else
				buf_printf(&b, "(%zu entries)", hostlist_count(hl));
			break;
		}
		case OPT_WORDLIST: {
			const struct strlist *wl = field;

			if (wl->n == 0)
				buf_puts(&b, "(none)");
			for (j = 0; j < wl->n; j++)
				buf_printf(&b, "%s%s", j ? ", " : "", wl->v[j]);
			break;
		}
		case OPT_ENUM: {
			const char *p = opts[i].choices, *bar;
			int k = *(const int *)field;

			while (k-- > 0 && (bar = strchr(p, '|')) != NULL)
				p = bar + 1;
			buf_append(&b, p, strcspn(p, "|"));
			break;
		}
		case OPT_NAMESERVERS:
			if (c->n_nameservers == 0)
				buf_puts(&b, "(system resolv.conf)");
			for (j = 0; j < c->n_nameservers; j++)
				buf_printf(&b, strchr(c->nameservers[j].addr, ':') ? "%s[%s]:%u" : "%s%s:%u",
				    j ? ", " : "", c->nameservers[j].addr, c->nameservers[j].port);
			break;
		default:
			buf_puts(&b, *(char *const *)field ? *(char *const *)field : "(unset)");
			break;
		}
		out(buf_str(&b), arg);
	}
	buf_free(&b);
}
