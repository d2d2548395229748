/*
 * test_opendmarc_compat.c - the OpenDMARC option table and the migration
 * report behind "dmarc-milter -n -c /etc/opendmarc.conf": every OpenDMARC
 * option is known, every target is a real option of ours, values are
 * translated by OpenDMARC's reading rules into lines our parser takes.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "opendmarc_compat.h"
#include "util.h"
#include "tap.h"

/*
 * Test vectors: option names (names only) from OpenDMARC's option table,
 * opendmarc/opendmarc-config.h, master = rel-opendmarc-1-4-2
 * (trusteddomainproject/OpenDMARC bf37d53d); the four its develop branch
 * adds; the four names 1.3.0 renamed.
 */
static const char *const odm_142[] = {
	"AuthservID", "AuthservIDWithJobID", "AutoRestart", "AutoRestartCount",
	"AutoRestartRate", "Background", "BaseDirectory", "ChangeRootDirectory",
	"CopyFailuresTo", "DNSTimeout", "DomainWhitelist", "DomainWhitelistFile",
	"DomainWhitelistSize", "EnableCoredumps", "FailureReports", "FailureReportsBcc",
	"FailureReportsOnNone", "FailureReportsSentBy", "HistoryFile", "HoldQuarantinedMessages",
	"IgnoreAuthenticatedClients", "IgnoreHosts", "IgnoreMailFrom", "MilterDebug",
	"PidFile", "PublicSuffixList", "RecordAllMessages", "RequiredHeaders",
	"RejectFailures", "RejectMultiValueFrom", "ReportCommand", "Socket",
	"SoftwareHeader", "SPFIgnoreResults", "SPFSelfValidate", "Syslog",
	"SyslogFacility", "TestDNSData", "TrustedAuthservIDs", "UMask",
	"Userid",
};
static const char *const odm_develop[] = {
	"IgnoreMailTo", "NoReportsList", "RequiredFrom", "RejectString",
};
static const char *const odm_legacy[] = {
	"ForensicReports", "ForensicReportsBcc", "ForensicReportsOnNone", "ForensicReportsSentBy",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/dmarc-milter-test-odm.XXXXXX";

/* write_file - text into a file under tmpdir; returns its path (static) */
static const char *
write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		exit(99);
	}
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* run_file - opendmarc_migrate on a file; the report comes back in *out */
static int
run_file(const char *path, char **out, char *err, size_t errlen)
{
	size_t len;
	FILE *mem = open_memstream(out, &len);
	int rc;

	if (mem == NULL) {
		perror("open_memstream");
		exit(99);
	}
	err[0] = '\0';
	rc = opendmarc_migrate(path, mem, err, errlen);
	fclose(mem);
	return rc;
}

/* fragment - the dmarc-milter.conf part of a report, starting with its '\n' */
static char *
fragment(const char *report)
{
	const char *b = strstr(report, "--- dmarc-milter.conf fragment");
	const char *e = b != NULL ? strstr(b, "--- end of fragment ---") : NULL;

	if (b == NULL || e == NULL)
		return xstrdup("");
	b = strchr(b, '\n');
	return xstrndup(b, (size_t)(e - b));
}

/* fragment_loads - does config_load take the fragment as a whole? */
static bool
fragment_loads(const char *frag, char *err, size_t errlen)
{
	struct config *c = config_load(write_file("fragment.conf", frag), err, errlen);

	config_free(c);
	return c != NULL;
}

/* Category names in the summary line, in its order. */
static const char *const cats[] = {
	"same", "renamed", "changed", "not needed", "unsupported",
	"unknown", "invalid", "refused", "native", "repeated"
};

/* summary - the counts of the summary line; -1 when it is missing */
static int
summary(const char *report, unsigned n[10], int *bad)
{
	const char *s = strstr(report, "\nsummary: ");

	if (s == NULL)
		return -1;
	return sscanf(s, "\nsummary: %u same, %u renamed, %u changed, %u not needed, %u unsupported, "
	    "%u unknown, %u invalid, %u refused, %u native, %u repeated; %d cannot be carried over",
	    &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8], &n[9], bad) == 11 ? 0 : -1;
}

/* cat_index - position of a category name in the summary */
static int
cat_index(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(cats); i++)
		if (strcmp(cats[i], name) == 0)
			return (int)i;
	return -1;
}

/* in_vectors - is name one of OpenDMARC's, by the vectors above? */
static bool
in_vectors(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(odm_142); i++)
		if (strcmp(name, odm_142[i]) == 0)
			return true;
	for (i = 0; i < NELEM(odm_develop); i++)
		if (strcmp(name, odm_develop[i]) == 0)
			return true;
	for (i = 0; i < NELEM(odm_legacy); i++)
		if (strcmp(name, odm_legacy[i]) == 0)
			return true;
	return false;
}

/* check_vector - every name of a vector is in the table, spelt as OpenDMARC spells it */
static void
check_vector(const char *const *v, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct compat_entry *e = opendmarc_option(v[i]);

		tap_ok(e != NULL && strcmp(e->opendmarc, v[i]) == 0, "%s option %s is in the table", what, v[i]);
	}
}

/* is_our_option - config_load knows the name (any complaint but "unknown option") */
static bool
is_our_option(const char *name)
{
	char text[256], err[1024];
	struct config *c;

	snprintf(text, sizeof(text), "%s probe-value\n", name);
	err[0] = '\0';
	c = config_load(write_file("probe.conf", text), err, sizeof(err));
	config_free(c);
	return c != NULL || strstr(err, "unknown option") == NULL;
}

/* test_table - coverage and consistency of the table */
static void
test_table(void)
{
	const struct compat_entry *t;
	size_t n, i, j;
	bool ok;

	check_vector(odm_142, NELEM(odm_142), "OpenDMARC 1.4.2");
	check_vector(odm_develop, NELEM(odm_develop), "OpenDMARC develop");
	check_vector(odm_legacy, NELEM(odm_legacy), "OpenDMARC pre-1.3.0");

	t = opendmarc_options(&n);
	tap_is_int(n, NELEM(odm_142) + NELEM(odm_develop) + NELEM(odm_legacy),
	    "the table has exactly the options of the vectors");
	for (ok = true, i = 0; i < n; i++)
		if (!in_vectors(t[i].opendmarc)) {
			tap_diag("not an OpenDMARC option: %s", t[i].opendmarc);
			ok = false;
		}
	tap_ok(ok, "every table entry is an OpenDMARC option of the vectors");
	for (ok = true, i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcasecmp(t[i].opendmarc, t[j].opendmarc) == 0)
				ok = false;
	tap_ok(ok, "no option is in the table twice");

	tap_ok(opendmarc_option("userid") == opendmarc_option("Userid") && opendmarc_option("userid") != NULL,
	    "lookup is case-insensitive (OpenDMARC config.c: strcasecmp)");
	tap_ok(opendmarc_option("SOCKET") != NULL, "lookup of SOCKET finds Socket");
	tap_ok(opendmarc_option("LogLevel") == NULL, "LogLevel is ours, not OpenDMARC's");
	tap_ok(opendmarc_option("Nameservers") == NULL, "Nameservers is not OpenDMARC's");
	tap_ok(opendmarc_option("") == NULL, "the empty name is nobody's option");

	tap_ok(!is_our_option("NoSuchOptionAnywhere"), "the probe of our parser can say no");
	tap_ok(is_our_option("Socket"), "the probe of our parser can say yes");
	for (i = 0; i < n; i++) {
		const struct compat_entry *e = &t[i];

		if (e->ours != NULL)
			tap_ok(is_our_option(e->ours), "%s -> %s: a dmarc-milter option", e->opendmarc, e->ours);
		switch (e->status) {
		case COMPAT_SAME:
			tap_ok(e->ours != NULL && strcasecmp(e->ours, e->opendmarc) == 0,
			    "%s: same means our option has the same name", e->opendmarc);
			break;
		case COMPAT_RENAMED:
			tap_ok(e->ours != NULL && strcasecmp(e->ours, e->opendmarc) != 0,
			    "%s: renamed means another name", e->opendmarc);
			break;
		case COMPAT_CHANGED:
			tap_ok(e->ours != NULL, "%s: changed names the option it becomes", e->opendmarc);
			break;
		case COMPAT_NOT_NEEDED:
		case COMPAT_UNSUPPORTED:
			tap_ok(e->ours == NULL, "%s: %s has no option here", e->opendmarc,
			    compat_status_str(e->status));
			break;
		}
		tap_ok(e->note != NULL && strlen(e->note) >= 20, "%s: has an explanation", e->opendmarc);
	}
	tap_is_str(compat_status_str(COMPAT_SAME), "same", "status string same");
	tap_is_str(compat_status_str(COMPAT_RENAMED), "renamed", "status string renamed");
	tap_is_str(compat_status_str(COMPAT_CHANGED), "changed", "status string changed");
	tap_is_str(compat_status_str(COMPAT_NOT_NEEDED), "not needed", "status string not needed");
	tap_is_str(compat_status_str(COMPAT_UNSUPPORTED), "unsupported", "status string unsupported");
}

/*
 * Translation cases: an opendmarc.conf, a line the fragment must hold
 * exactly (NULL: none), a text it must not hold, a category the summary
 * must count once or more, and the return value.
 */
static const struct {
	const char	*desc;
	const char	*conf;
	const char	*line;
	const char	*absent;
	const char	*cat;
	unsigned	 n;
	int		 rc;
} cases[] = {
	/* booleans: OpenDMARC config.c reads the first character only */
	{ "boolean true -> yes", "Syslog true\n", "Syslog\t\t\tyes", NULL, "same", 1, 0 },
	{ "boolean T -> yes", "Syslog T\n", "Syslog\t\t\tyes", NULL, "same", 1, 0 },
	{ "boolean Yeah -> yes (first letter)", "Syslog Yeah\n", "Syslog\t\t\tyes", NULL, "same", 1, 0 },
	{ "boolean 0 -> no", "Syslog 0\n", "Syslog\t\t\tno", NULL, "same", 1, 0 },
	{ "boolean nope -> no (first letter)", "Syslog nope\n", "Syslog\t\t\tno", NULL, "same", 1, 0 },
	{ "boolean maybe is invalid to OpenDMARC", "Syslog maybe\n", NULL, "Syslog", "invalid", 1, 1 },
	{ "boolean on is invalid to OpenDMARC (only t/y/1, f/n/0)", "Syslog on\n", NULL, "Syslog", "invalid", 1, 1 },
	{ "long name: one blank", "IgnoreAuthenticatedClients Y\n", "IgnoreAuthenticatedClients yes", NULL,
	  "same", 1, 0 },
	/* Socket: libmilter's forms as OpenDMARC hands them on */
	{ "Socket local:/path -> unix:/path", "Socket local:/run/x.sock\n", "Socket\t\t\tunix:/run/x.sock", NULL,
	  "same", 1, 0 },
	{ "Socket unix:/path unchanged", "Socket unix:/run/x.sock\n", "Socket\t\t\tunix:/run/x.sock", NULL,
	  "same", 1, 0 },
	{ "Socket bare /path -> unix:/path", "Socket /run/x.sock\n", "Socket\t\t\tunix:/run/x.sock", NULL,
	  "same", 1, 0 },
	{ "Socket \":/path\" -> unix:/path", "Socket :/run/x.sock\n", "Socket\t\t\tunix:/run/x.sock", NULL,
	  "same", 1, 0 },
	{ "Socket inet [IPv4] loses its brackets", "Socket inet:8893@[127.0.0.1]\n",
	  "Socket\t\t\tinet:8893@127.0.0.1", NULL, "same", 1, 0 },
	{ "Socket inet6 [IPv6] keeps its brackets", "Socket inet6:8893@[::1]\n",
	  "Socket\t\t\tinet6:8893@[::1]", NULL, "same", 1, 0 },
	{ "Socket inet:port@name unchanged", "Socket inet:8893@localhost\n", "Socket\t\t\tinet:8893@localhost",
	  NULL, "same", 1, 0 },
	{ "Socket inet:port (every interface) unchanged", "Socket inet:8893\n", "Socket\t\t\tinet:8893", NULL,
	  "same", 1, 0 },
	{ "Socket relative path: commented out", "Socket local:odm.sock\n", "#Socket\t\t\tunix:odm.sock", NULL,
	  "same", 1, 0 },
	{ "Socket relative path made absolute by BaseDirectory",
	  "BaseDirectory /var/lib/odm\nSocket local:odm.sock\n", "Socket\t\t\tunix:/var/lib/odm/odm.sock", NULL,
	  "not needed", 1, 0 },
	{ "Socket of an unknown type is refused by our parser", "Socket tcp:25\n", "#Socket\t\t\ttcp:25", NULL,
	  "refused", 1, 1 },
	/* lists: OpenDMARC splits on commas only */
	{ "IgnoreMailFrom list normalised, commented out (From: vs MAIL FROM)",
	  "IgnoreMailFrom Lists.Example.com,news.example.org , x.example\n",
	  "#IgnoreMailFrom\t\tlists.example.com, news.example.org, x.example", NULL, "changed", 1, 0 },
	{ "TrustedAuthservIDs list, commented out", "TrustedAuthservIDs mx.example.org,mx2.example.org\n",
	  "#TrustedAuthservIDs\tmx.example.org, mx2.example.org", NULL, "changed", 1, 0 },
	/* renamed and reshaped values */
	{ "FailureReportsSentBy -> FailureReportsFrom, address only",
	  "FailureReportsSentBy DMARC <dmarc@example.org>\n", "FailureReportsFrom\tdmarc@example.org", NULL,
	  "renamed", 1, 0 },
	{ "FailureReportsSentBy that is no address is refused", "FailureReportsSentBy nobody\n",
	  "#FailureReportsFrom\tnobody", NULL, "refused", 1, 1 },
	{ "ForensicReports (pre-1.3.0) -> FailureReports", "ForensicReports yes\n", "FailureReports\t\tyes",
	  NULL, "renamed", 1, 0 },
	{ "ForensicReports then FailureReports: the later line is written",
	  "ForensicReports yes\nFailureReports no\n", "FailureReports\t\tno", "FailureReports\t\tyes",
	  "renamed", 1, 0 },
	{ "UMask 077 with a unix socket -> SocketMode 0600", "Socket local:/run/x.sock\nUMask 077\n",
	  "SocketMode\t\t0600", NULL, "changed", 1, 0 },
	{ "UMask 0002 with a unix socket -> SocketMode 0664", "UMask 0002\nSocket local:/run/x.sock\n",
	  "SocketMode\t\t0664", NULL, "changed", 1, 0 },
	{ "UMask with a TCP socket: not needed", "Socket inet:8893@127.0.0.1\nUMask 007\n", NULL, "SocketMode",
	  "not needed", 1, 0 },
	{ "HoldQuarantinedMessages alone did nothing in OpenDMARC -> no", "HoldQuarantinedMessages true\n",
	  "HoldQuarantinedMessages\tno", NULL, "changed", 1, 0 },
	{ "HoldQuarantinedMessages with RejectFailures -> yes",
	  "RejectFailures true\nHoldQuarantinedMessages true\n", "HoldQuarantinedMessages\tyes", NULL, "same", 2, 0 },
	{ "DNSTimeout 0x0a (strtol base 0) -> 10", "DNSTimeout 0x0a\n", "DNSTimeout\t\t10", NULL,
	  "changed", 1, 0 },
	{ "DNSTimeout 010 is octal to OpenDMARC -> 8", "DNSTimeout 010\n", "DNSTimeout\t\t8", NULL,
	  "changed", 1, 0 },
	{ "DNSTimeout 0 (no limit) is not written", "DNSTimeout 0\n", NULL, "DNSTimeout", "changed", 1, 0 },
	{ "DNSTimeout 300 capped at 60", "DNSTimeout 300\n", "DNSTimeout\t\t60", NULL, "changed", 1, 0 },
	{ "DNSTimeout 5s is invalid to OpenDMARC", "DNSTimeout 5s\n", NULL, "DNSTimeout", "invalid", 1, 1 },
	{ "AuthservID HOSTNAME is our default", "AuthservID HOSTNAME\n", NULL, "AuthservID", "not needed", 1, 0 },
	{ "AuthservID name carried over (RFC 8601 section 2.5)", "AuthservID mx.example.org\n",
	  "AuthservID\t\tmx.example.org", NULL, "same", 1, 0 },
	{ "'#' inside a value ends it, as in OpenDMARC", "AuthservID mx.example.org#old name\n",
	  "AuthservID\t\tmx.example.org", "old", "same", 1, 0 },
	{ "SoftwareHeader false: nothing lost", "SoftwareHeader false\n", NULL, "SoftwareHeader",
	  "not needed", 1, 0 },
	{ "SoftwareHeader true: unsupported", "SoftwareHeader true\n", NULL, "SoftwareHeader", "unsupported", 1, 1 },
	{ "CopyFailuresTo: unsupported", "CopyFailuresTo postmaster@example.org\n", NULL, "CopyFailuresTo",
	  "unsupported", 1, 1 },
	{ "AutoRestart: the service manager's job", "AutoRestart true\nAutoRestartRate 10/1h\n", NULL,
	  "AutoRestart", "not needed", 2, 0 },
	{ "ReportCommand sendmail -t: the default relay does it", "ReportCommand /usr/sbin/sendmail -t\n",
	  NULL, "FailureReportsRelay", "not needed", 1, 0 },
	{ "ReportCommand other: relay left for review", "ReportCommand /usr/local/bin/mailer\n",
	  "#FailureReportsRelay\t127.0.0.1:25", NULL, "changed", 1, 0 },
	{ "RequiredFrom (develop) -> RequiredHeaders yes", "RequiredFrom true\n", "RequiredHeaders\t\tyes", NULL,
	  "changed", 1, 0 },
	{ "RequiredFrom folded into RequiredHeaders", "RequiredHeaders false\nRequiredFrom true\n",
	  "RequiredHeaders\t\tyes", "RequiredHeaders\t\tno", "not needed", 1, 0 },
	{ "RejectMultiValueFrom no: changed meaning", "RejectMultiValueFrom no\n", "RejectMultiValueFrom\tno",
	  NULL, "changed", 1, 0 },
	{ "RejectMultiValueFrom yes: same meaning", "RejectMultiValueFrom yes\n", "RejectMultiValueFrom\tyes",
	  NULL, "same", 1, 0 },
	{ "FailureReportsOnNone false with FailureReports: changed",
	  "FailureReports true\nFailureReportsOnNone false\n", NULL, "OnNone", "changed", 1, 0 },
	{ "FailureReportsOnNone true: what we do anyway", "FailureReportsOnNone true\n", NULL, "OnNone",
	  "not needed", 1, 0 },
	{ "HistoryFile: a new file in our format", "HistoryFile /var/run/opendmarc/opendmarc.dat\n",
	  "HistoryFile\t\t/var/log/dmarc-milter/history.jsonl", "opendmarc.dat\n", "changed", 1, 0 },
	{ "Userid -> UserID", "Userid opendmarc:opendmarc\n", "UserID\t\t\topendmarc:opendmarc", NULL,
	  "same", 1, 0 },
	{ "PidFile relative without BaseDirectory: commented out", "PidFile odm.pid\n", "#PidFile\t\todm.pid",
	  NULL, "same", 1, 0 },
	{ "SyslogFacility lowercased", "SyslogFacility LOCAL3\n", "SyslogFacility\t\tlocal3", NULL, "same", 1, 0 },
	{ "SyslogFacility auth is refused by our parser", "SyslogFacility auth\n", "#SyslogFacility\t\tauth",
	  NULL, "refused", 1, 1 },
	/* the file as a whole */
	{ "a repeated option: OpenDMARC uses the last", "Syslog no\nSyslog yes\n", "Syslog\t\t\tyes",
	  "Syslog\t\t\tno", "repeated", 1, 0 },
	{ "an OpenDKIM option is unknown", "Canonicalization relaxed/simple\nSyslog yes\n", NULL,
	  "Canonicalization", "unknown", 1, 1 },
	{ "one of our options is carried over", "LogLevel debug\nSyslog yes\n", "LogLevel\t\tdebug", NULL,
	  "native", 1, 0 },
	{ "our option and a translation that writes it: the later line wins",
	  "SocketMode 0600\nSocket local:/run/x.sock\nUMask 0007\n", "SocketMode\t\t0660", "SocketMode\t\t0600",
	  "native", 1, 0 },
	{ "comments and blank lines only", "# nothing\n\n   \n", NULL, "\n#Syslog", "same", 0, 0 },
};

/* test_cases - one migration per case */
static void
test_cases(void)
{
	char err[1024], *out, *frag, want[512];
	unsigned n[10];
	size_t i;
	int rc, bad, ci;

	for (i = 0; i < NELEM(cases); i++) {
		out = NULL;
		rc = run_file(write_file("case.conf", cases[i].conf), &out, err, sizeof(err));
		frag = fragment(out);
		tap_is_int(rc, cases[i].rc, "%s: return value", cases[i].desc);
		if (cases[i].line != NULL) {
			snprintf(want, sizeof(want), "\n%s\n", cases[i].line);
			if (!tap_ok(strstr(frag, want) != NULL, "%s: fragment line", cases[i].desc))
				tap_diag("want \"%s\" in:%s", cases[i].line, frag);
		}
		if (cases[i].absent != NULL)
			if (!tap_ok(strstr(frag, cases[i].absent) == NULL, "%s: fragment lacks what it must not say",
			    cases[i].desc))
				tap_diag("unwanted \"%s\" in:%s", cases[i].absent, frag);
		ci = cat_index(cases[i].cat);
		if (tap_ok(summary(out, n, &bad) == 0 && ci >= 0, "%s: summary line", cases[i].desc)) {
			tap_is_int(n[ci], cases[i].n, "%s: %s count", cases[i].desc, cases[i].cat);
			tap_is_int(bad, rc, "%s: summary agrees with the return value", cases[i].desc);
		}
		if (!tap_ok(fragment_loads(frag, err, sizeof(err)), "%s: fragment loads in dmarc-milter",
		    cases[i].desc))
			tap_diag("%s", err);
		free(frag);
		free(out);
	}
}

/* test_files - translations that depend on files on disk */
static void
test_files(void)
{
	char conf[1024], err[1024], *out, *frag, want[1024], dir[600], hosts[600];
	struct servent *se;
	unsigned n[10];
	int rc, bad;

	/* PublicSuffixList naming a directory, as Debian's opendmarc.conf does */
	snprintf(dir, sizeof(dir), "%s/psl", tmpdir);
	if (mkdir(dir, 0700) != 0)
		perror(dir);
	snprintf(conf, sizeof(conf), "PublicSuffixList %s\n", dir);
	rc = run_file(write_file("psl.conf", conf), &out, err, sizeof(err));
	frag = fragment(out);
	snprintf(want, sizeof(want), "\nPublicSuffixList\t%s/public_suffix_list.dat\n", dir);
	tap_ok(rc == 0 && strstr(frag, want) != NULL, "PublicSuffixList directory -> the list file in it");
	free(frag);
	free(out);

	/* IgnoreHosts: OpenDMARC's file format, one entry per line */
	snprintf(hosts, sizeof(hosts), "%s", write_file("ignore.hosts",
	    "# our relays\n127.0.0.1\n192.0.2.0/24\n2001:db8::/32\nrelay.example.org\n.example.net\n"));
	snprintf(conf, sizeof(conf), "IgnoreHosts %s\n", hosts);
	rc = run_file(write_file("ih.conf", conf), &out, err, sizeof(err));
	frag = fragment(out);
	snprintf(want, sizeof(want), "\nIgnoreHosts\t\t%s\n", hosts);
	tap_ok(rc == 0 && strstr(frag, want) != NULL, "IgnoreHosts file in OpenDMARC's format carried over");
	tap_ok(fragment_loads(frag, err, sizeof(err)), "IgnoreHosts fragment loads");
	free(frag);
	free(out);

	/* ... but '!' exceptions are OpenDMARC's only */
	snprintf(hosts, sizeof(hosts), "%s", write_file("ignore2.hosts", "192.0.2.0/24\n!192.0.2.7\n"));
	snprintf(conf, sizeof(conf), "IgnoreHosts %s\n", hosts);
	rc = run_file(write_file("ih2.conf", conf), &out, err, sizeof(err));
	tap_is_int(rc, 1, "IgnoreHosts file with a '!' entry cannot be carried over");
	tap_ok(summary(out, n, &bad) == 0 && n[cat_index("refused")] == 1, "... it is counted as refused");
	tap_ok(strstr(out, "!192.0.2.7") != NULL, "... and the report names the entry");
	free(out);

	/* relative IgnoreHosts with BaseDirectory */
	snprintf(conf, sizeof(conf), "BaseDirectory %s\nIgnoreHosts ignore.hosts\n", tmpdir);
	rc = run_file(write_file("ih3.conf", conf), &out, err, sizeof(err));
	frag = fragment(out);
	snprintf(want, sizeof(want), "\nIgnoreHosts\t\t%s/ignore.hosts\n", tmpdir);
	tap_ok(rc == 0 && strstr(frag, want) != NULL, "relative IgnoreHosts made absolute by BaseDirectory");
	free(frag);
	free(out);

	/* a port name: OpenDMARC (libmilter) looks it up in services */
	se = getservbyname("smtp", "tcp");
	rc = run_file(write_file("svc.conf", "Socket inet:smtp@127.0.0.1\n"), &out, err, sizeof(err));
	frag = fragment(out);
	if (se != NULL) {
		snprintf(want, sizeof(want), "\nSocket\t\t\tinet:%d@127.0.0.1\n", ntohs((unsigned short)se->s_port));
		tap_ok(rc == 0 && strstr(frag, want) != NULL, "Socket port name -> its number");
	} else
		tap_ok(rc == 1 && strstr(frag, "#Socket") != NULL,
		    "Socket port name without /etc/services: left for review");
	free(frag);
	free(out);
}

/* test_sample - the Debian-style file in t/data */
static void
test_sample(const char *top)
{
	char path[1024], err[1024], *out, *frag;
	unsigned n[10];
	int rc, bad;

	snprintf(path, sizeof(path), "%s/t/data/opendmarc.conf", top);
	rc = run_file(path, &out, err, sizeof(err));
	if (!tap_ok(rc >= 0, "sample opendmarc.conf is read"))
		tap_diag("%s", err);
	frag = fragment(out);
	tap_is_int(rc, 2, "sample: two options cannot be carried over (SoftwareHeader, DomainWhitelist)");
	if (tap_ok(summary(out, n, &bad) == 0, "sample: summary line")) {
		tap_is_int(n[0], 11, "sample: 11 same");
		tap_is_int(n[1], 1, "sample: 1 renamed");
		tap_is_int(n[2], 2, "sample: 2 changed");
		tap_is_int(n[3], 9, "sample: 9 not needed");
		tap_is_int(n[4], 2, "sample: 2 unsupported");
		tap_is_int(n[5] + n[6] + n[7] + n[8], 0, "sample: nothing unknown, invalid, refused or native");
		tap_is_int(n[9], 1, "sample: 1 repeated (the first Socket)");
	}
	tap_ok(strstr(frag, "\nSocket\t\t\tinet:8893@127.0.0.1\n") != NULL, "sample: the last Socket counts");
	tap_ok(strstr(frag, "SocketMode") == NULL, "sample: UMask does nothing for a TCP socket");
	tap_ok(strstr(frag, "\nFailureReportsFrom\tdmarc-noreply@example.org\n") != NULL,
	    "sample: FailureReportsSentBy renamed, display name dropped");
	tap_ok(strstr(frag, "\nHistoryFile\t\t/var/log/dmarc-milter/history.jsonl\n") != NULL,
	    "sample: history goes to a new file");
	tap_ok(strstr(frag, "\n#TrustedAuthservIDs\t") != NULL, "sample: TrustedAuthservIDs commented out");
	tap_ok(strstr(out, "opendmarc.conf:52: SoftwareHeader yes\n    unsupported") != NULL,
	    "sample: the report names file, line, option and status");
	if (!tap_ok(fragment_loads(frag, err, sizeof(err)), "sample: the fragment loads in dmarc-milter"))
		tap_diag("%s", err);
	tap_ok(opendmarc_looks_like(path), "sample looks like an OpenDMARC file");
	free(frag);
	free(out);

	snprintf(path, sizeof(path), "%s/conf/dmarc-milter.conf", top);
	tap_ok(!opendmarc_looks_like(path), "our own sample configuration does not");
}

/* test_looks_like - which files switch -n to the migration report */
static void
test_looks_like(void)
{
	tap_ok(opendmarc_looks_like(write_file("l1.conf",
	    "PidFile /run/opendmarc/opendmarc.pid\nSocket local:/run/opendmarc/opendmarc.sock\n"
	    "Syslog true\nUMask 0002\nUserID opendmarc\n")), "Debian's default file (UMask) looks like OpenDMARC's");
	tap_ok(opendmarc_looks_like(write_file("l2.conf", "AuthservID HOSTNAME\n")),
	    "the HOSTNAME keyword looks like OpenDMARC");
	tap_ok(!opendmarc_looks_like(write_file("l3.conf", "Socket inet:8893@127.0.0.1\nSyslog yes\n")),
	    "options both have, in our syntax: not OpenDMARC's");
	tap_ok(!opendmarc_looks_like(write_file("l4.conf", "Frobnicate 1\n")), "an unknown option alone: no");
	tap_ok(!opendmarc_looks_like("/nonexistent/dmarc-milter/opendmarc.conf"), "a missing file: no");
}

/* test_errors - files that cannot be migrated at all */
static void
test_errors(void)
{
	char err[1024], *out = NULL;
	int rc;

	rc = run_file("/nonexistent/dmarc-milter/opendmarc.conf", &out, err, sizeof(err));
	tap_is_int(rc, -1, "unreadable file: -1");
	tap_ok(strstr(err, "/nonexistent/dmarc-milter/opendmarc.conf: cannot open") != NULL,
	    "unreadable file: the message names the file");
	free(out);

	out = NULL;
	rc = run_file(write_file("e1.conf", "Syslog yes\nSocket\n"), &out, err, sizeof(err));
	tap_is_int(rc, -1, "an option without value: -1 (OpenDMARC refuses it too)");
	tap_ok(strstr(err, "e1.conf:2: Socket needs a value") != NULL, "... the message names file and line");
	free(out);

	out = NULL;
	rc = run_file(write_file("e2.conf", "Syslog #yes\n"), &out, err, sizeof(err));
	tap_is_int(rc, -1, "a value that is all comment: -1");
	free(out);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");
	char cmd[600];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_table();
	test_cases();
	test_files();
	test_sample(top != NULL && *top != '\0' ? top : ".");
	test_looks_like();
	test_errors();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmpdir);
	return tap_done();
}
