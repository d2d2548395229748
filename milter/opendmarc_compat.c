/*
 * opendmarc_compat.c - OpenDMARC's options, what they become here, and the
 * migration report behind "dmarc-milter -n -c /etc/opendmarc.conf".
 *
 * The table was drawn up from OpenDMARC's own option table
 * (opendmarc/opendmarc-config.h, 1.4.2 = master) and its develop branch,
 * and from how opendmarc.c really uses each value, which is not always
 * what the sample file says (DNSTimeout is read and never used;
 * HoldQuarantinedMessages acts only together with RejectFailures;
 * IgnoreMailFrom matches the From: header domain).
 *
 * OpenDMARC's file syntax (its config.c) differs from ours in small ways
 * that the reader below reproduces: a '#' anywhere ends the line, a
 * repeated option silently replaces the earlier one, a boolean is judged
 * by its first character, integers go through strtol(..., 0).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "kvfile.h"
#include "opendmarc_compat.h"
#include "util.h"

/* Where the dmarc-milter package (and its logrotate, unit) keep history. */
#define MIGRATE_HISTORY_FILE	"/var/log/dmarc-milter/history.jsonl"
#define MIGRATE_WIDTH		76	/* wrap report text here */

static const struct compat_entry table[] = {
	/* OpenDMARC 1.4.2, opendmarc-config.h, in its order */
	{ "AuthservID", COMPAT_SAME, "AuthservID",
	  "The authserv-id of the Authentication-Results field we add. OpenDMARC's keyword HOSTNAME is our "
	  "default (this host's name); OpenDMARC's own default was the MTA's name.", COMPAT_T_STRING },
	{ "AuthservIDWithJobID", COMPAT_UNSUPPORTED, NULL,
	  "Downstream filters and mail readers recognise our results by the authserv-id (RFC 8601 section "
	  "2.5); a queue id in it would make it differ per message. The queue id is in our log line and "
	  "history record.",
	  COMPAT_T_BOOL },
	{ "AutoRestart", COMPAT_NOT_NEEDED, NULL,
	  "The service manager restarts the filter: Restart=on-failure in dmarc-milter.service.", COMPAT_T_BOOL },
	{ "AutoRestartCount", COMPAT_NOT_NEEDED, NULL,
	  "Set StartLimitBurst= in a systemd drop-in instead.", COMPAT_T_INT },
	{ "AutoRestartRate", COMPAT_NOT_NEEDED, NULL,
	  "Set StartLimitIntervalSec= and StartLimitBurst= in a systemd drop-in instead.", COMPAT_T_STRING },
	{ "Background", COMPAT_NOT_NEEDED, NULL,
	  "A command-line choice: dmarc-milter detaches unless started with -f (dmarc-milter.service uses -f).",
	  COMPAT_T_BOOL },
	{ "BaseDirectory", COMPAT_NOT_NEEDED, NULL,
	  "dmarc-milter changes to / and wants absolute paths; the migration makes this file's relative paths "
	  "absolute against BaseDirectory.", COMPAT_T_STRING },
	{ "ChangeRootDirectory", COMPAT_UNSUPPORTED, NULL,
	  "No chroot(2): the filter rereads resolv.conf, the Public Suffix List and host lists on reload. "
	  "Confine it with systemd sandboxing (ProtectSystem=, ReadWritePaths=) instead.", COMPAT_T_STRING },
	{ "CopyFailuresTo", COMPAT_UNSUPPORTED, NULL,
	  "dmarc-milter adds no recipients. To copy failing mail somewhere, match our Authentication-Results "
	  "\"dmarc=fail\" with Postfix milter_header_checks and its BCC action, or with Sieve at delivery.",
	  COMPAT_T_STRING },
	{ "DNSTimeout", COMPAT_CHANGED, "DNSTimeout",
	  "Seconds to wait for one DNS answer, 1 to 60. OpenDMARC 1.4 reads the value but never uses it; "
	  "dmarc-milter applies it to every query (see also DNSRetries).", COMPAT_T_INT },
	{ "DomainWhitelist", COMPAT_UNSUPPORTED, NULL,
	  "ARC is not evaluated: an ARC chain sealed by a listed domain never overrides a DMARC failure "
	  "(RFC 8617 is experimental). IgnoreHosts can exempt forwarders you trust.", COMPAT_T_STRING },
	{ "DomainWhitelistFile", COMPAT_UNSUPPORTED, NULL,
	  "ARC is not evaluated (see DomainWhitelist); IgnoreHosts can exempt forwarders you trust.",
	  COMPAT_T_STRING },
	{ "DomainWhitelistSize", COMPAT_NOT_NEEDED, NULL,
	  "Only sized OpenDMARC's hash table for DomainWhitelist.", COMPAT_T_INT },
	{ "EnableCoredumps", COMPAT_NOT_NEEDED, NULL,
	  "Core dumps are set by the service manager and the kernel (LimitCORE=, fs.suid_dumpable); the unit "
	  "starts the filter as its own user, so no setuid blocks them.", COMPAT_T_BOOL },
	{ "FailureReports", COMPAT_SAME, "FailureReports",
	  "Send failure reports (RFC 9991) when a domain's ruf= and fo= ask for them. Unlike OpenDMARC, "
	  "external ruf= addresses must authorise it in DNS, reports are rate-limited per domain and "
	  "recipients' local parts are redacted by default (FailureReportsRedact).", COMPAT_T_BOOL },
	{ "FailureReportsBcc", COMPAT_UNSUPPORTED, NULL,
	  "No extra copy of each report, and no reports for domains without ruf=. With Postfix, "
	  "sender_bcc_maps keyed on the FailureReportsFrom address copies every report.", COMPAT_T_STRING },
	{ "FailureReportsOnNone", COMPAT_NOT_NEEDED, NULL,
	  "dmarc-milter follows ruf= and fo= whatever the policy, p=none included (OpenDMARC's behaviour "
	  "with this option true); reports cannot be limited to quarantine and reject.", COMPAT_T_BOOL },
	{ "FailureReportsSentBy", COMPAT_RENAMED, "FailureReportsFrom",
	  "Sender of failure reports, a plain local@domain address, used here for the From: field and the "
	  "envelope sender. Default: postmaster@AuthservID.", COMPAT_T_STRING },
	{ "HistoryFile", COMPAT_CHANGED, "HistoryFile",
	  "dmarc-milter writes JSON Lines (docs/history-format.md) for dmarc-reports, not OpenDMARC's "
	  "format: opendmarc-import cannot read it and dmarc-reports cannot read OpenDMARC's file, so the "
	  "migration names a new file.", COMPAT_T_STRING },
	{ "HoldQuarantinedMessages", COMPAT_SAME, "HoldQuarantinedMessages",
	  "Put mail failing a p=quarantine policy in the MTA's hold queue. OpenDMARC did so only when "
	  "RejectFailures was true as well; here the option stands alone.", COMPAT_T_BOOL },
	{ "IgnoreAuthenticatedClients", COMPAT_SAME, "IgnoreAuthenticatedClients",
	  "Do not check mail from clients that authenticated with SMTP AUTH.", COMPAT_T_BOOL },
	{ "IgnoreHosts", COMPAT_SAME, "IgnoreHosts",
	  "Clients that are not checked: a file (absolute path) with one address, CIDR network or host name "
	  "per line as in OpenDMARC, or an inline list. '!' exceptions are not supported. Default 127.0.0.0/8 "
	  "and ::1 (OpenDMARC: 127.0.0.1).", COMPAT_T_STRING },
	{ "IgnoreMailFrom", COMPAT_CHANGED, "IgnoreMailFrom",
	  "Domains whose mail is not checked. OpenDMARC compares them with the From: header domain, "
	  "dmarc-milter with the envelope sender (MAIL FROM) domain, so the line is carried over commented "
	  "out for review.", COMPAT_T_STRING },
	{ "MilterDebug", COMPAT_NOT_NEEDED, NULL,
	  "libmilter's internal debug level; for dmarc-milter's own diagnostics use LogLevel debug.",
	  COMPAT_T_INT },
	{ "PidFile", COMPAT_SAME, "PidFile",
	  "Write the process id to this file. Not needed under systemd, which tracks the process itself.",
	  COMPAT_T_STRING },
	{ "PublicSuffixList", COMPAT_SAME, "PublicSuffixList",
	  "The Public Suffix List file for Organizational Domains. A directory (Debian's opendmarc.conf names "
	  "/usr/share/publicsuffix) becomes the list file in it. Without the option OpenDMARC had no list; "
	  "dmarc-milter defaults to Debian's file.", COMPAT_T_STRING },
	{ "RecordAllMessages", COMPAT_NOT_NEEDED, NULL,
	  "Every evaluated message is recorded in HistoryFile; dmarc-reports reports only domains that "
	  "publish rua=.", COMPAT_T_BOOL },
	{ "RequiredHeaders", COMPAT_CHANGED, "RequiredHeaders",
	  "yes: reject mail without exactly one From field with a usable address (RFC 5322 section 3.6). "
	  "OpenDMARC also rejected a missing or repeated Date and repeated To, Cc, Subject and similar "
	  "fields; dmarc-milter checks only From, which DMARC depends on.", COMPAT_T_BOOL },
	{ "RejectFailures", COMPAT_SAME, "RejectFailures",
	  "Reject (550 5.7.1) mail failing a p=reject policy (after pct sampling under the RFC 7489 rules). "
	  "What a temporary DNS failure does is a separate option here, TemporaryFailures.", COMPAT_T_BOOL },
	{ "RejectMultiValueFrom", COMPAT_CHANGED, "RejectMultiValueFrom",
	  "yes: reject a From naming addresses in different domains, as OpenDMARC does. no: OpenDMARC accepted "
	  "such mail unchecked; dmarc-milter evaluates every author domain and applies the strictest result.",
	  COMPAT_T_BOOL },
	{ "ReportCommand", COMPAT_CHANGED, "FailureReportsRelay",
	  "No command runs per report: a sender thread hands reports to an SMTP relay, host[:port], "
	  "by default 127.0.0.1:25.", COMPAT_T_STRING },
	{ "Socket", COMPAT_SAME, "Socket",
	  "Where libmilter listens. local:/path is written unix:/path, brackets around an IPv4 address are "
	  "dropped and a port name becomes its number.", COMPAT_T_STRING },
	{ "SoftwareHeader", COMPAT_UNSUPPORTED, NULL,
	  "No DMARC-Filter header field; the Authentication-Results field and the log show that the filter ran.",
	  COMPAT_T_BOOL },
	{ "SPFIgnoreResults", COMPAT_NOT_NEEDED, NULL,
	  "dmarc-milter never takes SPF results from the message header: it checks SPF itself (RFC 7208).",
	  COMPAT_T_BOOL },
	{ "SPFSelfValidate", COMPAT_NOT_NEEDED, NULL,
	  "dmarc-milter always checks SPF itself, for MAIL FROM or for the HELO name.", COMPAT_T_BOOL },
	{ "Syslog", COMPAT_SAME, "Syslog",
	  "Log through syslog. Under dmarc-milter.service (-f) the log already reaches the journal, so yes "
	  "logs every line twice.", COMPAT_T_BOOL },
	{ "SyslogFacility", COMPAT_SAME, "SyslogFacility",
	  "mail, daemon, user or local0 to local7 (OpenDMARC also took others such as auth).", COMPAT_T_STRING },
	{ "TestDNSData", COMPAT_UNSUPPORTED, NULL,
	  "A test aid (canned DNS answers). For offline checks use dmarc-milter -t; our tests use a static DNS "
	  "backend.", COMPAT_T_STRING },
	{ "TrustedAuthservIDs", COMPAT_CHANGED, "TrustedAuthservIDs",
	  "OpenDMARC took SPF and DKIM results from Authentication-Results fields with these ids; dmarc-milter "
	  "verifies SPF and DKIM itself, and believes an upstream result only from a gateway that is also in "
	  "TrustedHosts. Carried over commented out.", COMPAT_T_STRING },
	{ "UMask", COMPAT_CHANGED, "SocketMode",
	  "Only the unix socket's permissions remain a choice: SocketMode becomes 0666 without the mask's bits. "
	  "The history file is always created 0640.", COMPAT_T_INT },
	{ "Userid", COMPAT_SAME, "UserID",
	  "user[:group] to switch to after opening the socket. dmarc-milter.service already starts the filter "
	  "as user dmarc-milter; another user there stops it at start-up.", COMPAT_T_STRING },

	/* OpenDMARC's develop branch, after 1.4.2 */
	{ "IgnoreMailTo", COMPAT_UNSUPPORTED, NULL,
	  "(OpenDMARC develop branch) Not implemented: mail to your own report addresses is recorded like "
	  "any other.", COMPAT_T_STRING },
	{ "NoReportsList", COMPAT_UNSUPPORTED, NULL,
	  "(OpenDMARC develop branch) No list of suppressed report destinations; FailureReportsRateLimit caps "
	  "reports per destination domain.", COMPAT_T_STRING },
	{ "RequiredFrom", COMPAT_CHANGED, "RequiredHeaders",
	  "(OpenDMARC develop branch) Reject mail without a From domain. RequiredHeaders yes does that and "
	  "also rejects several From fields.", COMPAT_T_BOOL },
	{ "RejectString", COMPAT_UNSUPPORTED, NULL,
	  "(OpenDMARC develop branch) The reject text is fixed: \"Message rejected: it fails the DMARC policy "
	  "of DOMAIN\".", COMPAT_T_STRING },

	/* names OpenDMARC 1.3.0 renamed (and 1.3.0 and later refuse) */
	{ "ForensicReports", COMPAT_RENAMED, "FailureReports",
	  "The name of FailureReports before OpenDMARC 1.3.0.", COMPAT_T_BOOL },
	{ "ForensicReportsBcc", COMPAT_UNSUPPORTED, NULL,
	  "The name of FailureReportsBcc before OpenDMARC 1.3.0: no extra copy of each report; with Postfix, "
	  "sender_bcc_maps keyed on FailureReportsFrom does it.", COMPAT_T_STRING },
	{ "ForensicReportsOnNone", COMPAT_NOT_NEEDED, NULL,
	  "The name of FailureReportsOnNone before OpenDMARC 1.3.0: reports follow ruf= and fo= for every "
	  "policy.", COMPAT_T_BOOL },
	{ "ForensicReportsSentBy", COMPAT_RENAMED, "FailureReportsFrom",
	  "The name of FailureReportsSentBy before OpenDMARC 1.3.0.", COMPAT_T_STRING },
};

#define NTABLE	(sizeof(table) / sizeof(table[0]))

/* opendmarc_option - see opendmarc_compat.h */
const struct compat_entry *
opendmarc_option(const char *name)
{
	size_t i;

	for (i = 0; i < NTABLE; i++)
		if (strcasecmp(name, table[i].opendmarc) == 0)
			return &table[i];
	return NULL;
}

/* opendmarc_options - see opendmarc_compat.h */
const struct compat_entry *
opendmarc_options(size_t *n)
{
	*n = NTABLE;
	return table;
}

/* compat_status_str - see opendmarc_compat.h */
const char *
compat_status_str(enum compat_status s)
{
	switch (s) {
	case COMPAT_SAME:
		return "same";
	case COMPAT_RENAMED:
		return "renamed";
	case COMPAT_CHANGED:
		return "changed";
	case COMPAT_NOT_NEEDED:
		return "not needed";
	case COMPAT_UNSUPPORTED:
		return "unsupported";
	}
	return "?";
}

/*
 * What happened to one line.  The first five are the compat_status values;
 * the others only exist in a migration report.
 */
enum cat {
	CAT_SAME = COMPAT_SAME,
	CAT_RENAMED = COMPAT_RENAMED,
	CAT_CHANGED = COMPAT_CHANGED,
	CAT_NOT_NEEDED = COMPAT_NOT_NEEDED,
	CAT_UNSUPPORTED = COMPAT_UNSUPPORTED,
	CAT_UNKNOWN,		/* neither OpenDMARC's option nor ours */
	CAT_INVALID,		/* a value OpenDMARC itself refuses */
	CAT_REFUSED,		/* the translation fails our parser */
	CAT_NATIVE,		/* already a dmarc-milter option */
	CAT_REPEATED,		/* a later line sets the same option */
	NCAT
};

static const char *const cat_names[NCAT] = {
	"same", "renamed", "changed", "not needed", "unsupported",
	"unknown", "invalid", "refused", "native", "repeated"
};

/* One "Name value" line of the OpenDMARC file and its translation. */
struct mline {
	unsigned	 lineno;
	char		*name;		/* as written */
	char		*value;		/* after OpenDMARC's comment rule */
	const struct compat_entry *e;	/* NULL: not OpenDMARC's */
	const char	*native;	/* our spelling, when ours and not OpenDMARC's */
	unsigned	 repeated_by;	/* line of a later setting of the same option */

	enum cat	 cat;
	char		*out_name;	/* our option to write; NULL: none */
	char		*out_value;
	bool		 review;	/* written commented out: needs a decision */
	unsigned	 superseded_by;	/* line whose translation writes the same option */
	struct buf	 why;		/* why it came out so */
	struct buf	 check;		/* what to verify by hand */
};

struct migration {
	const char	*path;
	struct mline	*v;
	size_t		 n;
	char		**ours;		/* the names of our options */
	size_t		 n_ours;
	const char	*basedir;	/* OpenDMARC's BaseDirectory, if any */
	char		 host[256];	/* what OpenDMARC's HOSTNAME keyword stands for */
	char		*tmppath;	/* scratch file for checking translated lines */
	FILE		*tmp;
	char		 tmperr[256];	/* non-empty: lines could not be checked */
};

/* collect_name - config_dump callback: keep the option name of each line */
static void
collect_name(const char *line, void *arg)
{
	struct migration *m = arg;

	m->ours = xrealloc(m->ours, (m->n_ours + 1) * sizeof(*m->ours));
	m->ours[m->n_ours++] = xstrndup(line, strcspn(line, " \t"));
}

/* ours_load - our option names, straight from config.c's table */
static void
ours_load(struct migration *m)
{
	struct config *c;
	char err[512];

	if ((c = config_load(NULL, err, sizeof(err))) == NULL)
		return;		/* defaults cannot fail to parse; be safe anyway */
	config_dump(c, collect_name, m);
	config_free(c);
}

/* ours_find - our spelling of name, or NULL */
static const char *
ours_find(const struct migration *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_ours; i++)
		if (strcasecmp(name, m->ours[i]) == 0)
			return m->ours[i];
	return NULL;
}

/* odm_bool - a boolean as OpenDMARC's config.c reads it: the first character */
static int
odm_bool(const char *v, bool *out)
{
	if (strchr("tTyY1", v[0]) != NULL && v[0] != '\0')
		*out = true;
	else if (strchr("fFnN0", v[0]) != NULL && v[0] != '\0')
		*out = false;
	else
		return -1;
	return 0;
}

/* odm_int - an integer as OpenDMARC reads it: strtol with base 0 */
static int
odm_int(const char *v, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 0);
	return (errno != 0 || end == v || *end != '\0') ? -1 : 0;
}

/* setting - the line OpenDMARC uses for an option (the last one), or NULL */
static const struct mline *
setting(const struct migration *m, const char *name)
{
	size_t i;

	for (i = m->n; i-- > 0;)
		if (m->v[i].e != NULL && strcasecmp(m->v[i].e->opendmarc, name) == 0)
			return &m->v[i];
	return NULL;
}

/* setting_bool - the boolean value of the first of two names that is set; false when neither */
static bool
setting_bool(const struct migration *m, const char *name, const char *alias)
{
	const struct mline *l = setting(m, name);
	bool b = false;

	if (l == NULL && alias != NULL)
		l = setting(m, alias);
	if (l != NULL && odm_bool(l->value, &b) != 0)
		b = false;
	return b;
}

/* set_out - the line to write */
static void
set_out(struct mline *l, const char *name, const char *value)
{
	char *n = name != NULL ? xstrdup(name) : NULL;	/* name may be l->out_name */
	char *v = value != NULL ? xstrdup(value) : NULL;

	free(l->out_name);
	free(l->out_value);
	l->out_name = n;
	l->out_value = v;
}

/* abs_path - p made absolute against BaseDirectory; NULL when that is not possible */
static char *
abs_path(const struct migration *m, const char *p)
{
	size_t bl;

	if (p[0] == '/')
		return xstrdup(p);
	if (m->basedir == NULL || m->basedir[0] != '/')
		return NULL;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	bl = strlen(m->basedir);
	return xasprintf("%s%s%s", m->basedir, bl > 0 && m->basedir[bl - 1] == '/' ? "" : "/", p);
}

/* xl_path - a file name: absolute as it is, or made so, or left for review */
static void
xl_path(struct migration *m, struct mline *l)
{
	char *p = abs_path(m, l->value);

	if (p == NULL) {
		l->review = true;
		buf_puts(&l->check, "A relative path: OpenDMARC resolved it against its working directory. "
		    "Write the absolute path.");
		return;
	}
	if (strcmp(p, l->value) != 0)
		buf_printf(&l->why, "Made absolute against BaseDirectory %s. ", m->basedir);
	set_out(l, l->out_name, p);
	free(p);
}

/* split_list - OpenDMARC's comma-separated list, trimmed and lowercased, joined by ", " */
static char *
split_list(const struct migration *m, const char *v, bool hostname_keyword)
{
	char *copy = xstrdup(v), *save = NULL, *tok;
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		tok = str_trim(tok);
		if (*tok == '\0')
			continue;
		if (hostname_keyword && strcmp(tok, "HOSTNAME") == 0)
			tok = (char *)m->host;
		buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", tok);
	}
	free(copy);
	if (b.data != NULL)
		ascii_lowercase(b.data);
	return buf_detach(&b);
}

/* socket_is_unix - does a libmilter socket spec name a unix socket? */
static bool
socket_is_unix(const char *spec)
{
	const char *colon = strchr(spec, ':');

	if (spec[0] == '/' || colon == NULL || colon == spec)
		return true;
	return strncasecmp(spec, "unix:", 5) == 0 || strncasecmp(spec, "local:", 6) == 0;
}

/*
 * xl_socket - libmilter's spec as OpenDMARC passes it on (smfi_setconn):
 * "local:", "unix:", ":" or no prefix at all name a unix socket; inet and
 * inet6 take PORT[@HOST], HOST possibly "[numeric]", PORT possibly a
 * service name.  Our config_check_socket wants unix:/absolute, a numeric
 * port, and no brackets around an IPv4 address.
 */
static void
xl_socket(struct migration *m, struct mline *l)
{
	const char *v = l->value, *colon = strchr(v, ':');
	struct buf b = BUF_INIT;

	buf_init(&b, 0);
	if (socket_is_unix(v)) {
		const char *path = (v[0] == '/' || colon == NULL) ? v : colon + 1;
		char *p = abs_path(m, path);

		if (p == NULL) {
			l->review = true;
			buf_puts(&l->check, "A relative socket path: write it absolute (and the MTA's milter "
			    "setting to match).");
			buf_printf(&b, "unix:%s", path);
		} else {
			buf_printf(&b, "unix:%s", p);
			free(p);
		}
	} else if (strncasecmp(v, "inet:", 5) == 0 || strncasecmp(v, "inet6:", 6) == 0) {
		bool six = (v[4] == '6');
		char *rest = xstrdup(colon + 1), *at = strchr(rest, '@'), *port = rest;
		const char *host = NULL;

		if (at != NULL) {
			*at = '\0';
			host = at + 1;
		}
		buf_puts(&b, six ? "inet6:" : "inet:");
		if (*port != '\0' && strspn(port, "0123456789") != strlen(port)) {
			struct servent *se = getservbyname(port, "tcp");

			if (se != NULL) {
				buf_printf(&b, "%d", ntohs((unsigned short)se->s_port));
				buf_printf(&l->why, "Port name \"%s\" written as its number. ", port);
			} else
				buf_puts(&b, port);	/* our parser will say what is wrong */
		} else
			buf_puts(&b, port);
		if (host != NULL) {
			size_t hl = strlen(host);

			if (!six && host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
				buf_printf(&b, "@%.*s", (int)(hl - 2), host + 1);
				buf_puts(&l->why, "Brackets around the IPv4 address dropped. ");
			} else
				buf_printf(&b, "@%s", host);
		} else
			buf_puts(&l->check, "No address: the filter listens on every interface, as "
			    "OpenDMARC did. Add @127.0.0.1 if only the local MTA talks to it.");
		free(rest);
	} else
		buf_puts(&b, v);		/* unknown type: our parser names the problem */
	if (strcmp(buf_str(&b), v) != 0 && socket_is_unix(v))
		buf_puts(&l->why, "Written the way dmarc-milter spells a unix socket. ");
	set_out(l, l->out_name, buf_str(&b));
	buf_free(&b);
}

/* xl_authservid - the HOSTNAME keyword is our default */
static void
xl_authservid(struct migration *m, struct mline *l)
{
	(void)m;
	if (strcmp(l->value, "HOSTNAME") == 0) {	/* case-sensitive, as in opendmarc.c */
		l->cat = CAT_NOT_NEEDED;
		set_out(l, NULL, NULL);
		buf_puts(&l->why, "HOSTNAME means this host's name, which is dmarc-milter's default.");
	}
}

/* xl_background - staying in the foreground is a command-line flag here */
static void
xl_background(struct migration *m, struct mline *l)
{
	bool b = true;

	(void)m;
	if (odm_bool(l->value, &b) == 0 && !b)
		buf_puts(&l->check, "OpenDMARC stayed in the foreground: start dmarc-milter with -f "
		    "(dmarc-milter.service does).");
}

/* xl_dnstimeout - OpenDMARC's 0 meant "no limit"; ours is 1..60 */
static void
xl_dnstimeout(struct migration *m, struct mline *l)
{
	long n = 0;

	(void)m;
	(void)odm_int(l->value, &n);		/* checked by the caller */
	if (n < 1) {
		set_out(l, NULL, NULL);
		buf_puts(&l->why, "0 or less meant no limit, and OpenDMARC 1.4 ignored the option anyway; "
		    "DNSTimeout keeps dmarc-milter's default of 5 seconds.");
	} else if (n > 60) {
		set_out(l, "DNSTimeout", "60");
		buf_puts(&l->why, "dmarc-milter waits at most 60 seconds for one answer.");
	}
}

/* xl_onnone - we report for p=none too; only a file asking for less differs */
static void
xl_onnone(struct migration *m, struct mline *l)
{
	bool b = false;

	(void)odm_bool(l->value, &b);
	if (!b && setting_bool(m, "FailureReports", "ForensicReports")) {
		l->cat = CAT_CHANGED;
		buf_puts(&l->why, "dmarc-milter also sends failure reports for p=none domains that ask for "
		    "them with ruf=; that cannot be turned off.");
	} else if (!b)
		buf_puts(&l->why, "Failure reports are off in this file.");
}

/* xl_sentby - FailureReportsFrom takes a bare address */
static void
xl_sentby(struct migration *m, struct mline *l)
{
	const char *lt = strchr(l->value, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
	char *addr;

	(void)m;
	if (lt == NULL || gt == NULL)
		return;
	addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	set_out(l, l->out_name, str_trim(addr));
	free(addr);
	buf_puts(&l->why, "Only the address is kept: FailureReportsFrom takes a plain local@domain. ");
}

/* xl_history - a new file, in our format */
static void
xl_history(struct migration *m, struct mline *l)
{
	char *old = abs_path(m, l->value);

	set_out(l, "HistoryFile", MIGRATE_HISTORY_FILE);
	buf_printf(&l->why, "OpenDMARC's file %s keeps its own format; dmarc-milter writes JSON Lines to "
	    "%s, the file the dmarc-milter package rotates and dmarc-reports imports.",
	    old != NULL ? old : l->value, MIGRATE_HISTORY_FILE);
	buf_puts(&l->check, "Run opendmarc-import over the old file one last time, then replace the "
	    "opendmarc-import and opendmarc-reports jobs with dmarc-reports.");
	free(old);
}

/* xl_hold - OpenDMARC held quarantined mail only together with RejectFailures */
static void
xl_hold(struct migration *m, struct mline *l)
{
	bool b = false;

	(void)odm_bool(l->value, &b);
	if (b && !setting_bool(m, "RejectFailures", NULL)) {
		l->cat = CAT_CHANGED;
		set_out(l, "HoldQuarantinedMessages", "no");
		buf_puts(&l->why, "OpenDMARC held quarantined mail only when RejectFailures was true too, "
		    "which this file does not set: written as no to keep what happens today. Write yes to "
		    "hold such mail.");
	}
}

/* xl_ignoremailfrom - a list, but matched against another identity here */
static void
xl_ignoremailfrom(struct migration *m, struct mline *l)
{
	char *v = split_list(m, l->value, false);

	set_out(l, l->out_name, v);
	free(v);
	l->review = true;
}

/* xl_milterdebug - our own debug output has its own switch */
static void
xl_milterdebug(struct migration *m, struct mline *l)
{
	long n = 0;

	(void)m;
	if (odm_int(l->value, &n) == 0 && n > 0)
		buf_puts(&l->check, "For dmarc-milter's own debugging output set LogLevel debug.");
}

/* xl_psl - a path; a directory stands for the list file in it */
static void
xl_psl(struct migration *m, struct mline *l)
{
	struct stat st;
	char *p;

	xl_path(m, l);
	if (l->review || l->out_value == NULL)
		return;
	if (stat(l->out_value, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t len = strlen(l->out_value);

		p = xasprintf("%s%spublic_suffix_list.dat", l->out_value,
		    len > 0 && l->out_value[len - 1] == '/' ? "" : "/");
		set_out(l, l->out_name, p);
		free(p);
		buf_puts(&l->why, "A directory: the list file in it. ");
	}
}

/* xl_pidfile - a path, and a hint that systemd does not need it */
static void
xl_pidfile(struct migration *m, struct mline *l)
{
	xl_path(m, l);
	buf_puts(&l->check, "dmarc-milter.service does not need a pid file; drop the line if you run the "
	    "filter under it.");
}

/* xl_reportcommand - sendmail -t is what our default relay does too */
static void
xl_reportcommand(struct migration *m, struct mline *l)
{
	const char *v = l->value, *sp = v + strcspn(v, " \t");
	const char *slash = memrchr(v, '/', (size_t)(sp - v));
	const char *prog = slash != NULL ? slash + 1 : v;

	(void)m;
	if ((size_t)(sp - prog) == 8 && strncmp(prog, "sendmail", 8) == 0 && strstr(sp, "-t") != NULL) {
		l->cat = CAT_NOT_NEEDED;
		set_out(l, NULL, NULL);
		buf_puts(&l->why, "Handing reports to the local MTA is what the default FailureReportsRelay "
		    "127.0.0.1:25 does.");
		return;
	}
	set_out(l, "FailureReportsRelay", "127.0.0.1:25");
	l->review = true;
	buf_printf(&l->check, "Reports went to the command \"%s\": write the host[:port] of the SMTP server "
	    "that should take them.", v);
}

/* xl_requiredheaders - RequiredFrom (develop branch) asks for part of it */
static void
xl_requiredheaders(struct migration *m, struct mline *l)
{
	bool b = false;

	(void)odm_bool(l->value, &b);
	if (!b && setting_bool(m, "RequiredFrom", NULL)) {
		b = true;
		buf_printf(&l->why, "yes because RequiredFrom (line %u) asks for a From domain. ",
		    setting(m, "RequiredFrom")->lineno);
	}
	set_out(l, "RequiredHeaders", b ? "yes" : "no");
	if (!b)
		l->cat = CAT_SAME;	/* "no" means the same in both */
}

/* xl_requiredfrom - folded into RequiredHeaders */
static void
xl_requiredfrom(struct migration *m, struct mline *l)
{
	const struct mline *rh = setting(m, "RequiredHeaders");
	bool b = false;

	(void)odm_bool(l->value, &b);
	if (rh != NULL || !b) {
		l->cat = CAT_NOT_NEEDED;
		set_out(l, NULL, NULL);
		if (rh != NULL)
			buf_printf(&l->why, "Folded into RequiredHeaders (line %u).", rh->lineno);
		else
			buf_puts(&l->why, "Off, as by default.");
	}
}

/* xl_rejectmulti - only "no" means something else */
static void
xl_rejectmulti(struct migration *m, struct mline *l)
{
	bool b = false;

	(void)m;
	(void)odm_bool(l->value, &b);
	if (b)
		l->cat = CAT_SAME;
}

/* xl_syslog - twice is once too many under systemd */
static void
xl_syslog(struct migration *m, struct mline *l)
{
	bool b = false;

	(void)m;
	if (odm_bool(l->value, &b) == 0 && b)
		buf_puts(&l->check, "Under dmarc-milter.service (-f) the log already reaches the journal; "
		    "Syslog yes logs every line twice.");
}

/* xl_lowercase - facility names are case-insensitive on both sides */
static void
xl_lowercase(struct migration *m, struct mline *l)
{
	(void)m;
	if (l->out_value != NULL)
		ascii_lowercase(l->out_value);
}

/* xl_trusted - ids, HOSTNAME resolved; commented out for review */
static void
xl_trusted(struct migration *m, struct mline *l)
{
	char *v = split_list(m, l->value, true);

	set_out(l, l->out_name, v);
	free(v);
	l->review = true;
	buf_puts(&l->check, "Uncomment only for a gateway in front of this MTA that verifies SPF and DKIM, "
	    "and list its address in TrustedHosts too.");
}

/* xl_umask - what remains of a umask is the unix socket's mode */
static void
xl_umask(struct migration *m, struct mline *l)
{
	const struct mline *sock = setting(m, "Socket");
	long mask = 0;
	char mode[16];

	(void)odm_int(l->value, &mask);
	if (sock == NULL || !socket_is_unix(sock->value)) {
		l->cat = CAT_NOT_NEEDED;
		set_out(l, NULL, NULL);
		buf_printf(&l->why, "%s: only a unix socket takes permissions, and the history file is always "
		    "created 0640.", sock == NULL ? "No Socket in this file" : "The socket is TCP");
		return;
	}
	snprintf(mode, sizeof(mode), "%04lo", 0666ul & ~(unsigned long)mask & 0777ul);
	set_out(l, "SocketMode", mode);
	buf_printf(&l->why, "The socket (line %u) gets mode %s, 0666 without the mask's bits; files get "
	    "their own modes.", sock->lineno, mode);
}

/* xl_userid - the packaged unit already runs as dmarc-milter */
static void
xl_userid(struct migration *m, struct mline *l)
{
	size_t ul = strcspn(l->value, ":");

	(void)m;
	if (ul != 12 || strncmp(l->value, "dmarc-milter", 12) != 0)
		buf_puts(&l->check, "dmarc-milter.service starts the filter as user dmarc-milter; there, another "
		    "UserID stops it at start-up. Drop the line or write dmarc-milter.");
}

/* Translations beyond the generic one, by OpenDMARC name. */
static const struct {
	const char	*name;
	void		(*fn)(struct migration *, struct mline *);
} xlates[] = {
	{ "AuthservID",			xl_authservid },
	{ "Background",			xl_background },
	{ "DNSTimeout",			xl_dnstimeout },
	{ "FailureReportsOnNone",	xl_onnone },
	{ "ForensicReportsOnNone",	xl_onnone },
	{ "FailureReportsSentBy",	xl_sentby },
	{ "ForensicReportsSentBy",	xl_sentby },
	{ "HistoryFile",		xl_history },
	{ "HoldQuarantinedMessages",	xl_hold },
	{ "IgnoreHosts",		xl_path },
	{ "IgnoreMailFrom",		xl_ignoremailfrom },
	{ "MilterDebug",		xl_milterdebug },
	{ "PidFile",			xl_pidfile },
	{ "PublicSuffixList",		xl_psl },
	{ "ReportCommand",		xl_reportcommand },
	{ "RequiredFrom",		xl_requiredfrom },
	{ "RequiredHeaders",		xl_requiredheaders },
	{ "RejectMultiValueFrom",	xl_rejectmulti },
	{ "Socket",			xl_socket },
	{ "Syslog",			xl_syslog },
	{ "SyslogFacility",		xl_lowercase },
	{ "TrustedAuthservIDs",		xl_trusted },
	{ "UMask",			xl_umask },
	{ "Userid",			xl_userid },
};

/* translate - decide what one line becomes */
static void
translate(struct migration *m, struct mline *l)
{
	const struct compat_entry *e = l->e;
	const char *v = l->value;
	char num[32];
	bool b = false;
	long n;
	size_t i;

	if (l->repeated_by != 0) {
		l->cat = CAT_REPEATED;
		buf_printf(&l->why, "Line %u sets it again; OpenDMARC uses the last one.", l->repeated_by);
		return;
	}
	if (e == NULL) {
		if (l->native != NULL) {
			l->cat = CAT_NATIVE;
			set_out(l, l->native, v);
			buf_puts(&l->why, "Already a dmarc-milter option.");
		} else {
			l->cat = CAT_UNKNOWN;
			buf_puts(&l->why, "Neither an OpenDMARC nor a dmarc-milter option: OpenDMARC would "
			    "refuse to start with it.");
		}
		return;
	}
	switch (e->type) {
	case COMPAT_T_BOOL:
		if (odm_bool(v, &b) != 0) {
			l->cat = CAT_INVALID;
			buf_printf(&l->why, "\"%s\" is no boolean to OpenDMARC, which reads the first letter "
			    "(t, y, 1 or f, n, 0) and would refuse the file.", v);
			return;
		}
		v = b ? "yes" : "no";
		break;
	case COMPAT_T_INT:
		if (odm_int(v, &n) != 0) {
			l->cat = CAT_INVALID;
			buf_printf(&l->why, "\"%s\" is no integer to OpenDMARC, which would refuse the file.", v);
			return;
		}
		snprintf(num, sizeof(num), "%ld", n);
		v = num;
		break;
	case COMPAT_T_STRING:
		break;
	}
	l->cat = (enum cat)e->status;
	if (e->ours != NULL && e->status != COMPAT_NOT_NEEDED && e->status != COMPAT_UNSUPPORTED)
		set_out(l, e->ours, v);
	if (e->status == COMPAT_UNSUPPORTED && e->type == COMPAT_T_BOOL && !b) {
		l->cat = CAT_NOT_NEEDED;
		buf_puts(&l->why, "Off, as by default: nothing to carry over.");
		return;
	}
	for (i = 0; i < sizeof(xlates) / sizeof(xlates[0]); i++)
		if (strcasecmp(xlates[i].name, e->opendmarc) == 0)
			xlates[i].fn(m, l);
}

/* tmp_open - the scratch file that carries one line into config_load */
static int
tmp_open(struct migration *m)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (m->tmp != NULL)
		return 0;
	if (m->tmperr[0] != '\0')
		return -1;
	m->tmppath = xasprintf("%s/dmarc-milter-migrate.XXXXXX", dir != NULL && *dir == '/' ? dir : "/tmp");
	if ((fd = mkstemp(m->tmppath)) < 0 || (m->tmp = fdopen(fd, "w")) == NULL) {
		snprintf(m->tmperr, sizeof(m->tmperr), "%s: %s", m->tmppath, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(m->tmppath);
		}
		return -1;
	}
	return 0;
}

/* tmp_close - remove the scratch file */
static void
tmp_close(struct migration *m)
{
	if (m->tmp != NULL) {
		fclose(m->tmp);
		unlink(m->tmppath);
	}
	free(m->tmppath);
}

/*
 * check_out - does our own parser take the translated line?  It is loaded
 * alone, on top of the defaults, exactly as dmarc-milter would read it.
 */
static void
check_out(struct migration *m, struct mline *l)
{
	struct config *c;
	char err[1024];
	const char *msg;
	size_t pl;

	if (l->out_name == NULL || l->review || tmp_open(m) != 0)
		return;
	if (ftruncate(fileno(m->tmp), 0) != 0 || fseek(m->tmp, 0, SEEK_SET) != 0 ||
	    fprintf(m->tmp, "%s %s\n", l->out_name, l->out_value) < 0 || fflush(m->tmp) != 0) {
		snprintf(m->tmperr, sizeof(m->tmperr), "%s: %s", m->tmppath, strerror(errno));
		return;
	}
	err[0] = '\0';
	if ((c = config_load(m->tmppath, err, sizeof(err))) != NULL) {
		config_free(c);
		return;
	}
	/* drop "TMPFILE:1: " from the message */
	msg = err;
	pl = strlen(m->tmppath);
	if (strncmp(err, m->tmppath, pl) == 0 && strncmp(err + pl, ":1: ", 4) == 0)
		msg = err + pl + 4;
	l->cat = CAT_REFUSED;
	l->review = true;
	buf_printf(&l->check, "%sdmarc-milter refuses the translated line: %s.", l->check.len > 0 ? " " : "",
	    msg);
}

/* collect_line - kvfile callback: one line of the OpenDMARC file */
static int
collect_line(void *arg, unsigned lineno, const char *name, const char *value, char *err, size_t errlen)
{
	struct migration *m = arg;
	struct mline *l;
	char *v = xstrdup(value), *hash, *t;

	/* OpenDMARC's config.c ends the line at any '#', not only after a blank */
	if ((hash = strchr(v, '#')) != NULL) {
		*hash = '\0';
		t = str_trim(v);
		if (*t == '\0') {
			snprintf(err, errlen, "%s needs a value (OpenDMARC would refuse the file too)", name);
			free(v);
			return -1;
		}
		memmove(v, t, strlen(t) + 1);
	}
	m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	l = &m->v[m->n++];
	memset(l, 0, sizeof(*l));
	buf_init(&l->why, 0);
	buf_init(&l->check, 0);
	l->lineno = lineno;
	l->name = xstrdup(name);
	l->value = v;
	l->e = opendmarc_option(name);
	if (l->e == NULL)
		l->native = ours_find(m, name);
	return 0;
}

/* line_key - what makes two lines set "the same option" */
static const char *
line_key(const struct mline *l)
{
	return l->e != NULL ? l->e->opendmarc : l->native != NULL ? l->native : l->name;
}

/* migration_free - release everything */
static void
migration_free(struct migration *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
		free(m->v[i].out_name);
		free(m->v[i].out_value);
		buf_free(&m->v[i].why);
		buf_free(&m->v[i].check);
	}
	free(m->v);
	for (i = 0; i < m->n_ours; i++)
		free(m->ours[i]);
	free(m->ours);
	tmp_close(m);
}

/* migration_read - our names, then every line of the file */
static int
migration_read(struct migration *m, const char *path, char *err, size_t errlen)
{
	FILE *fp;
	int rc;

	memset(m, 0, sizeof(*m));
	m->path = path;
	ours_load(m);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rc = kvfile_read(path, fp, collect_line, m, err, errlen);
	fclose(fp);
	return rc;
}

/* put_wrapped - text folded at word boundaries, each line starting with indent */
static void
put_wrapped(FILE *out, const char *indent, const char *text)
{
	size_t col = 0, ind = strlen(indent);
	const char *p = text;

	while (*p != '\0') {
		size_t w;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = strcspn(p, " ");
		if (col == 0) {
			fputs(indent, out);
			col = ind;
		} else if (col + 1 + w > MIGRATE_WIDTH) {
			fprintf(out, "\n%s", indent);
			col = ind;
		} else {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += w;
		p += w;
	}
	if (col > 0)
		fputc('\n', out);
}

/* put_conf_line - "Name<tabs>value" aligned like conf/dmarc-milter.conf */
static void
put_conf_line(FILE *out, const char *prefix, const char *name, const char *value)
{
	size_t len = strlen(prefix) + strlen(name);

	fprintf(out, "%s%s", prefix, name);
	if (len >= 24)
		fputc(' ', out);
	else
		for (; len < 24; len = (len / 8 + 1) * 8)
			fputc('\t', out);
	fprintf(out, "%s\n", value);
}

/* report - the per-line part */
static void
report_lines(const struct migration *m, FILE *out)
{
	struct buf t = BUF_INIT;
	size_t i;

	buf_init(&t, 0);
	fprintf(out, "%s is an OpenDMARC configuration. What each option becomes in dmarc-milter:\n\n", m->path);
	for (i = 0; i < m->n; i++) {
		const struct mline *l = &m->v[i];

		fprintf(out, "%s:%u: %s %s\n", m->path, l->lineno, l->name, l->value);
		buf_reset(&t);
		buf_printf(&t, "%s", cat_names[l->cat]);
		if (l->out_name != NULL)
			buf_printf(&t, " -> %s%s %s%s", l->review ? "#" : "", l->out_name, l->out_value,
			    l->superseded_by != 0 ? " (not written: a later line writes it too)" :
			    l->review ? " (commented out: needs your decision)" : "");
		fprintf(out, "    %s\n", buf_str(&t));
		buf_reset(&t);
		if (l->why.len > 0)
			buf_puts(&t, buf_str(&l->why));
		else if (l->e != NULL && l->cat != CAT_SAME)
			buf_puts(&t, l->e->note);
		if (t.len > 0)
			put_wrapped(out, "      ", buf_str(&t));
		if (l->check.len > 0) {
			buf_reset(&t);
			buf_printf(&t, "check: %s", buf_str(&l->check));
			put_wrapped(out, "      ", buf_str(&t));
		}
		if (l->superseded_by != 0)
			fprintf(out, "      line %u writes %s too; the later one is kept.\n", l->superseded_by,
			    l->out_name);
	}
	buf_free(&t);
}

/* report_fragment - the dmarc-milter.conf lines */
static void
report_fragment(const struct migration *m, FILE *out)
{
	struct buf t = BUF_INIT;
	size_t i;

	buf_init(&t, 0);
	fprintf(out, "\n--- dmarc-milter.conf fragment (translated from %s) ---\n", m->path);
	fputs("# Translated from an OpenDMARC configuration by dmarc-milter -n.  Options\n"
	    "# not named here keep dmarc-milter's defaults; see dmarc-milter.conf(5).\n", out);
	if (m->tmperr[0] != '\0')
		fprintf(out, "# NOT CHECKED by our parser (no scratch file: %s)\n", m->tmperr);
	for (i = 0; i < m->n; i++) {
		const struct mline *l = &m->v[i];

		if (l->out_name == NULL || l->superseded_by != 0)
			continue;
		if (l->review || l->check.len > 0) {
			buf_reset(&t);
			buf_printf(&t, "line %u, %s: %s%s", l->lineno, l->name,
			    l->review ? "needs your decision. " : "", buf_str(&l->check));
			put_wrapped(out, "# ", buf_str(&t));
		}
		put_conf_line(out, l->review ? "#" : "", l->out_name, l->out_value);
	}
	fputs("--- end of fragment ---\n", out);
	buf_free(&t);
}

/* opendmarc_migrate - see opendmarc_compat.h */
int
opendmarc_migrate(const char *path, FILE *out, char *err, size_t errlen)
{
	struct migration m;
	const struct mline *bd;
	unsigned count[NCAT];
	size_t i, j;
	int bad;

	if (migration_read(&m, path, err, errlen) != 0) {
		migration_free(&m);
		return -1;
	}
	if (gethostname(m.host, sizeof(m.host)) != 0 || m.host[0] == '\0')
		strcpy(m.host, "localhost");
	m.host[sizeof(m.host) - 1] = '\0';

	/* OpenDMARC keeps the last of repeated options */
	for (i = 0; i < m.n; i++)
		for (j = i + 1; j < m.n; j++)
			if (strcasecmp(line_key(&m.v[i]), line_key(&m.v[j])) == 0)
				m.v[i].repeated_by = m.v[j].lineno;
	if ((bd = setting(&m, "BaseDirectory")) != NULL && bd->repeated_by == 0)
		m.basedir = bd->value;

	for (i = 0; i < m.n; i++) {
		translate(&m, &m.v[i]);
		if (m.v[i].out_value != NULL && strcasestr(m.v[i].out_value, "opendmarc") != NULL)
			buf_printf(&m.v[i].check, "%s%s still names OpenDMARC's files or user; the dmarc-milter "
			    "package uses user dmarc-milter and /run/dmarc-milter%s.",
			    m.v[i].check.len > 0 ? " " : "", m.v[i].out_name,
			    strcasecmp(m.v[i].out_name, "Socket") == 0 ?
			    " (change the MTA's milter setting with the socket)" : "");
		check_out(&m, &m.v[i]);
	}

	/* two lines that write the same option of ours: the later one wins */
	for (i = 0; i < m.n; i++) {
		if (m.v[i].out_name == NULL || m.v[i].review)
			continue;
		for (j = i + 1; j < m.n; j++)
			if (m.v[j].out_name != NULL && !m.v[j].review &&
			    strcasecmp(m.v[i].out_name, m.v[j].out_name) == 0)
				m.v[i].superseded_by = m.v[j].lineno;
	}

	report_lines(&m, out);
	report_fragment(&m, out);

	memset(count, 0, sizeof(count));
	for (i = 0; i < m.n; i++)
		count[m.v[i].cat]++;
	bad = (int)(count[CAT_UNSUPPORTED] + count[CAT_UNKNOWN] + count[CAT_INVALID] + count[CAT_REFUSED]);
	fputs("\nsummary:", out);
	for (i = 0; i < NCAT; i++)
		fprintf(out, "%s %u %s", i > 0 ? "," : "", count[i], cat_names[i]);
	fprintf(out, "; %d cannot be carried over\n", bad);
	migration_free(&m);
	return bad;
}

/* What opendmarc_looks_like needs while reading. */
struct looks {
	struct migration m;		/* only its list of our names */
	bool		 found;
};

/*
 * looks_pair - kvfile callback: is this name OpenDMARC's and not ours, or
 * does a shared option use OpenDMARC's HOSTNAME keyword (which our parser
 * would take for a literal name)?
 */
static int
looks_pair(void *arg, unsigned lineno, const char *name, const char *value, char *err, size_t errlen)
{
	struct looks *lk = arg;

	(void)lineno;
	(void)err;
	(void)errlen;
	if (opendmarc_option(name) != NULL && ours_find(&lk->m, name) == NULL)
		lk->found = true;
	if ((strcasecmp(name, "AuthservID") == 0 || strcasecmp(name, "TrustedAuthservIDs") == 0) &&
	    strstr(value, "HOSTNAME") != NULL)
		lk->found = true;
	return 0;
}

/* opendmarc_looks_like - see opendmarc_compat.h */
bool
opendmarc_looks_like(const char *path)
{
	struct looks lk;
	char err[512];
	FILE *fp;

	memset(&lk, 0, sizeof(lk));
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	ours_load(&lk.m);
	(void)kvfile_read(path, fp, looks_pair, &lk, err, sizeof(err));	/* a bad line ends the look */
	fclose(fp);
	migration_free(&lk.m);
	return lk.found;
}
