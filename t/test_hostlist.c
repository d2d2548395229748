/*
 * test_hostlist.c - IgnoreHosts/TrustedHosts lists: addresses, networks,
 * names, files, and refusal of bad entries.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostlist.h"
#include "tap.h"

static const struct {
	const char *list, *addr, *host;
	int want;
} cases[] = {
	{ "127.0.0.0/8, ::1", "127.0.0.1", NULL, 1 },
	{ "127.0.0.0/8, ::1", "127.255.1.2", NULL, 1 },
	{ "127.0.0.0/8, ::1", "128.0.0.1", NULL, 0 },
	{ "127.0.0.0/8, ::1", "::1", NULL, 1 },
	{ "127.0.0.0/8, ::1", "::2", NULL, 0 },
	{ "127.0.0.0/8", "::ffff:127.0.0.1", NULL, 1 },		/* IPv4-mapped */
	{ "192.0.2.0/25", "192.0.2.127", NULL, 1 },
	{ "192.0.2.0/25", "192.0.2.128", NULL, 0 },
	{ "192.0.2.1", "192.0.2.1", NULL, 1 },
	{ "192.0.2.1", "192.0.2.10", NULL, 0 },
	{ "0.0.0.0/0", "203.0.113.9", NULL, 1 },
	{ "2001:db8::/32", "2001:db8:ffff::1", NULL, 1 },
	{ "2001:db8::/32", "2001:db9::1", NULL, 0 },
	{ "2001:db8::/33", "2001:db8:8000::1", NULL, 0 },
	{ "gw.example.com", "192.0.2.1", "gw.example.com", 1 },
	{ "gw.example.com", "192.0.2.1", "GW.Example.COM.", 1 },
	{ "gw.example.com", "192.0.2.1", "xgw.example.com", 0 },
	{ ".example.com", "192.0.2.1", "a.b.example.com", 1 },
	{ ".example.com", "192.0.2.1", "example.com", 1 },
	{ ".example.com", "192.0.2.1", "badexample.com", 0 },
	{ ".example.com", "192.0.2.1", "[192.0.2.1]", 0 },	/* Postfix's unknown-name form */
	{ "gw.example.com", "", "", 0 },
};

int
main(void)
{
	char err[512], path[] = "/tmp/dmarc-milter-hostlist.XXXXXX";
	struct hostlist *l;
	size_t i;
	FILE *fp;
	int fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		l = hostlist_parse(cases[i].list, err, sizeof(err));
		tap_ok(l != NULL && hostlist_match(l, cases[i].addr, cases[i].host) == cases[i].want,
		    "\"%s\" %s %s [%s]", cases[i].list, cases[i].want ? "matches" : "does not match",
		    cases[i].addr, cases[i].host ? cases[i].host : "");
		hostlist_free(l);
	}
	tap_ok(!hostlist_match(NULL, "127.0.0.1", NULL), "an empty list matches nothing");

	l = hostlist_parse("192.0.2.0/33", err, sizeof(err));
	tap_ok(l == NULL && strstr(err, "bad prefix length") != NULL, "IPv4 prefix over 32 refused (%s)", err);
	l = hostlist_parse("2001:db8::/129", err, sizeof(err));
	tap_ok(l == NULL && strstr(err, "bad prefix length") != NULL, "IPv6 prefix over 128 refused");
	l = hostlist_parse("host.example/24", err, sizeof(err));
	tap_ok(l == NULL, "a name with a prefix is refused");
	l = hostlist_parse("bad;name", err, sizeof(err));
	tap_ok(l == NULL && strstr(err, "\"bad;name\"") != NULL, "a bad entry is named in the error");

	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		return 99;
	fputs("# gateways\n192.0.2.10   # the SEG\n\n2001:db8::/48, .relay.example\n", fp);
	fclose(fp);
	l = hostlist_parse(path, err, sizeof(err));
	tap_ok(l != NULL && hostlist_count(l) == 3, "a file with comments gives 3 entries");
	tap_ok(hostlist_match(l, "192.0.2.10", NULL) && hostlist_match(l, "2001:db8::5", NULL) &&
	    hostlist_match(l, "10.0.0.1", "mx.relay.example") && !hostlist_match(l, "192.0.2.11", NULL),
	    "entries from the file match");
	hostlist_free(l);
	fp = fopen(path, "w");
	fputs("192.0.2.10\n300.1.1.1\n", fp);
	fclose(fp);
	l = hostlist_parse(path, err, sizeof(err));
	tap_ok(l == NULL && strstr(err, ":2: ") != NULL, "a bad line in the file is named with its number (%s)", err);
	unlink(path);
	l = hostlist_parse("/nonexistent/hosts", err, sizeof(err));
	tap_ok(l == NULL && strstr(err, "cannot open") != NULL, "a missing file is an error");
	return tap_done();
}
