/*
 * test_rconf.c - dmarc-reports.conf: the options of the domain owners'
 * commands (KnownSource, UnauthorizedSource, Readiness*), their errors,
 * and how a source is matched against the KnownSource list.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rconf.h"
#include "tap.h"
#include "util.h"

static char path[] = "/tmp/dmarc-milter-test-rconf.XXXXXX";

/* load - write text to a temp file and parse it */
static struct rconf *
load(const char *text, char *err, size_t errlen)
{
	static char p[sizeof(path)];
	struct rconf *rc;
	FILE *fp;
	int fd;

	strcpy(p, path);
	if ((fd = mkstemp(p)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(99);
	}
	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	rc = rconf_load(p, err, errlen);
	unlink(p);
	return rc;
}

static const struct {
	const char *text;
	const char *want;	/* in the message */
} bad[] = {
	{ "KnownSource example.com\n", ":1: KnownSource: \"example.com\": want DOMAIN KIND:MATCH LABEL" },
	{ "KnownSource example.com ip:192.0.2.0/24\n", "want DOMAIN KIND:MATCH LABEL" },
	{ "KnownSource example.com host:mx.example.com Office\n", "\"host:\" is not one of ip:, rdns:, dkim:, spf:" },
	{ "KnownSource example.com mcsv.net Mailchimp\n", "want ip:, rdns:, dkim: or spf: before the value" },
	{ "KnownSource example.com ip:192.0.2.300 Office\n", "\"192.0.2.300\" is not an IP address or network" },
	{ "KnownSource example.com ip:192.0.2.0/33 Office\n", "bad prefix length" },
	{ "KnownSource example.com ip:2001:db8::/129 Office\n", "bad prefix length" },
	{ "KnownSource example.com ip:192.0.2.0/ Office\n", "bad prefix length" },
	{ "KnownSource exa<mple.com dkim:x.test X\n", "is not a domain name (or * for every domain)" },
	{ "KnownSource example.com dkim:mc$v.net X\n", "\"mc$v.net\" is not a domain name" },
	{ "UnauthorizedSource example.com spf: X\n", "\"\" is not a domain name" },
	{ "ReadinessPassRate 40\n", "ReadinessPassRate: \"40\" is not a percentage from 50 to 100" },
	{ "ReadinessPassRate 98%\n", "is not a percentage" },
	{ "ReadinessPassRate nan\n", "is not a percentage" },
	{ "ReadinessDays 0\n", "ReadinessDays: \"0\" is not a number from 1 to 365" },
	{ "ReadinessDays 400\n", "is not a number from 1 to 365" },
	{ "ReadinessMinMessages -1\n", "is not a number from 0 to 1000000000" },
	{ "ReadinessDays 14\nReadinessDays 21\n", ":2: ReadinessDays given again (first on line 1)" },
};

int
main(void)
{
	char err[1024];
	struct rconf *rc;
	const struct known_source *k;
	const char *dk[] = { "Bounces.MCSV.net", "other.test" };
	const char *sp[] = { "amazonses.com" };
	struct ks_subject s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = load(bad[i].text, err, sizeof(err));
		if (!tap_ok(rc == NULL && strstr(err, bad[i].want) != NULL, "refused: %s", bad[i].want))
			tap_diag("got: %s", rc == NULL ? err : "(accepted)");
		rconf_free(rc);
	}

	/* the name matching every domain owner's view relies on */
	tap_ok(domain_at_or_below("example.com", "example.com"), "a domain is at or below itself");
	tap_ok(domain_at_or_below("Mail.Example.COM.", "example.com"), "below, case and a trailing dot ignored");
	tap_ok(domain_at_or_below("a.b.example.com", "example.com."), "two labels below");
	tap_ok(!domain_at_or_below("notexample.com", "example.com"), "not across a label boundary");
	tap_ok(!domain_at_or_below("com", "example.com"), "not above");
	tap_ok(!domain_at_or_below("example.com", ""), "an empty domain covers nothing");
	tap_ok(!domain_at_or_below("example.com", "."), "nor does the root written as \".\"");

	rc = load("", err, sizeof(err));
	tap_ok(rc != NULL, "empty file: defaults");
	if (rc == NULL)
		return tap_done();
	tap_ok(rc->readiness_pass_rate == 98.0, "ReadinessPassRate defaults to 98");
	tap_is_int(rc->readiness_days, 14, "ReadinessDays defaults to 14");
	tap_is_int(rc->readiness_min_messages, 100, "ReadinessMinMessages defaults to 100");
	tap_is_int(rc->rdns_cache_days, 7, "ReverseDNSCacheDays defaults to 7");
	tap_is_int(rc->n_known, 0, "no known sources by default");
	rconf_free(rc);

	rc = load("# owners\n"
	    "KnownSource  Example.COM  ip:192.0.2.0/24   Office relay\n"
	    "KnownSource example.com ip:2001:db8:1::/48 Office relay (v6)\n"
	    "KnownSource example.com dkim:mcsv.net Mailchimp newsletters\n"
	    "UnauthorizedSource example.com rdns:spam.test A spammer\n"
	    "KnownSource * spf:amazonses.com SES\n"
	    "KnownSource example.com rdns:Outbound.Protection.Outlook.com Microsoft 365\n"
	    "KnownSource example.com ip:198.51.100.7 One host\n"
	    "ReadinessPassRate 99.5\nReadinessDays 21\nReadinessMinMessages 0\n",
	    err, sizeof(err));
	if (!tap_ok(rc != NULL, "a file with every kind loads"))
		tap_diag("%s", err);
	if (rc == NULL)
		return tap_done();
	tap_is_int(rc->n_known, 7, "seven classified sources, KnownSource repeated");
	tap_ok(rc->readiness_pass_rate == 99.5, "ReadinessPassRate 99.5");
	tap_is_int(rc->readiness_days, 21, "ReadinessDays 21");
	tap_is_int(rc->readiness_min_messages, 0, "ReadinessMinMessages 0");
	tap_is_str(rc->known[0].domain, "example.com", "the domain is lowercased");
	tap_is_str(rc->known[1].label, "Office relay (v6)", "the label is the rest of the line");
	tap_is_int(rc->known[0].line, 2, "the line is remembered");
	tap_ok(rc->known[0].authorized && !rc->known[3].authorized, "KnownSource authorises, UnauthorizedSource does not");

	memset(&s, 0, sizeof(s));
	s.domain = "example.com";
	s.ip = "192.0.2.200";
	k = known_source_match(rc, &s);
	tap_is_str(k != NULL ? k->label : NULL, "Office relay", "192.0.2.200 is in 192.0.2.0/24");
	s.ip = "192.0.3.1";
	tap_ok(known_source_match(rc, &s) == NULL, "192.0.3.1 is not");
	s.ip = "2001:db8:1:ffff::25";
	k = known_source_match(rc, &s);
	tap_is_str(k != NULL ? k->label : NULL, "Office relay (v6)", "an IPv6 address in the /48");
	s.ip = "2001:db8:2::25";
	tap_ok(known_source_match(rc, &s) == NULL, "an IPv6 address outside it");
	s.ip = "198.51.100.7";
	tap_ok(known_source_match(rc, &s) != NULL, "a single address (no prefix) matches itself");
	s.ip = "198.51.100.8";
	tap_ok(known_source_match(rc, &s) == NULL, "and nothing else");
	s.ip = "192.0.2.1";
	s.domain = "mail.example.com";
	tap_ok(known_source_match(rc, &s) != NULL, "a subdomain of the domain is covered");
	s.domain = "example.net";
	tap_ok(known_source_match(rc, &s) == NULL, "another domain is not");
	s.domain = "notexample.com";
	tap_ok(known_source_match(rc, &s) == NULL, "nor a name that merely ends in the same letters");

	memset(&s, 0, sizeof(s));
	s.domain = "example.com";
	s.ip = "203.0.113.9";
	s.dkim_pass = dk;
	s.n_dkim_pass = 2;
	k = known_source_match(rc, &s);
	tap_is_str(k != NULL ? k->label : NULL, "Mailchimp newsletters",
	    "a passing d= below the KnownSource domain matches, case-insensitively");
	s.n_dkim_pass = 0;
	s.ptr = "mail-db5eur01.outbound.protection.outlook.com.";
	k = known_source_match(rc, &s);
	tap_is_str(k != NULL ? k->label : NULL, "Microsoft 365", "rdns: a PTR below the name, trailing dot");
	s.ptr = "host.spam.test";
	k = known_source_match(rc, &s);
	tap_ok(k != NULL && !k->authorized && strcmp(k->label, "A spammer") == 0, "an UnauthorizedSource is found as such");
	s.ptr = NULL;
	s.domain = "other.test";
	s.spf_pass = sp;
	s.n_spf_pass = 1;
	k = known_source_match(rc, &s);
	tap_is_str(k != NULL ? k->label : NULL, "SES", "\"*\" covers every domain");
	rconf_free(rc);
	return tap_done();
}
