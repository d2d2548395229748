/*
 * test_config.c - configuration parsing: every error names file and line,
 * defaults are sane, values land in the right fields.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char tmpl[] = "/tmp/dmarc-milter-test-config.XXXXXX";
static char path[sizeof(tmpl)];

/* load - write text to a temp file and parse it */
static struct config *
load(const char *text, char *err, size_t errlen)
{
	FILE *fp;
	int fd;

	strcpy(path, tmpl);
	if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		exit(99);
	}
	fputs(text, fp);
	fclose(fp);
	err[0] = '\0';
	return config_load(path, err, errlen);
}

/* Cases that must be refused, and a fragment the message must contain. */
static const struct {
	const char *text;
	const char *want;	/* substring of the error, after "FILE:" */
} bad[] = {
	{ "NoSuchOption yes\n", ":1: unknown option \"NoSuchOption\"" },
	{ "# comment\n\nSyslog maybe\n", ":3: Syslog: \"maybe\" is not yes or no" },
	{ "Socket inet:0@127.0.0.1\n", ":1: Socket: \"inet:0@127.0.0.1\": bad port" },
	{ "Socket inet:99999@127.0.0.1\n", "bad port" },
	{ "Socket tcp:25@127.0.0.1\n", "unknown socket type" },
	{ "Socket unix:relative/path\n", "must be absolute" },
	{ "Socket\n", ":1: Socket needs a value" },
	{ "DNSTimeout 0\n", ":1: DNSTimeout: \"0\" is not a number from 1 to 60" },
	{ "DNSTimeout 5s\n", "is not a number" },
	{ "DNSTimeout -1\n", "is not a number" },
	{ "Nameservers 127.0.0.1:0\n", "bad port \"0\" for name server 127.0.0.1" },
	{ "Nameservers ns.example.com\n", "is not a numeric IPv4 or IPv6 address" },
	{ "Nameservers [::1\n", "bad name server" },
	{ "Nameservers 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9\n",
	  "more than 8 name servers" },
	{ "LogLevel verbose\n", "is not one of error, warning, info, debug" },
	{ "SyslogFacility kern\n", "is not a syslog facility" },
	{ "AuthservID bad;id\n", "is not a valid host name" },
	{ "Syslog yes\nsyslog no\n", ":2: Syslog given again (first on line 1)" },
};

int
main(void)
{
	struct config *c;
	char err[1024];
	size_t i;

	/* Built-in defaults. */
	c = config_load(NULL, err, sizeof(err));
	tap_ok(c != NULL, "built-in defaults load");
	tap_is_str(c->socket, "inet:8893@127.0.0.1", "default socket is inet:8893@127.0.0.1");
	tap_ok(!c->syslog, "syslog is off by default");
	tap_is_int(c->n_nameservers, 0, "no name servers configured means the system's");
	tap_is_int(c->dns_timeout, 5, "default DNS timeout");
	tap_ok(c->authserv_id != NULL && c->authserv_id[0] != '\0', "AuthservID defaults to the host name");
	config_free(c);

	/* A missing file is an error naming it. */
	c = config_load("/nonexistent/dmarc-milter.conf", err, sizeof(err));
	tap_ok(c == NULL && strstr(err, "/nonexistent/dmarc-milter.conf: cannot open") != NULL,
	    "missing file: error names it (%s)", err);

	/* Every kind of bad line. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load(bad[i].text, err, sizeof(err));
		tap_ok(c == NULL && strncmp(err, path, strlen(path)) == 0 && strstr(err, bad[i].want) != NULL,
		    "refused with \"%s\" (got: %s)", bad[i].want, err);
		config_free(c);
		unlink(path);
	}

	/* A NUL byte cannot pass through a C string: write it raw. */
	{
		FILE *fp;
		int fd;

		strcpy(path, tmpl);
		if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL)
			return 99;
		fwrite("Syslog yes\0\n", 1, 12, fp);
		fclose(fp);
		c = config_load(path, err, sizeof(err));
		tap_ok(c == NULL && strstr(err, ":1: NUL byte in line") != NULL,
		    "a NUL byte is refused (got: %s)", err);
		config_free(c);
		unlink(path);
	}

	/* Good values land where they belong. */
	c = load("# a full example\n"
	    "socket   inet6:9000@::1   # names are case-insensitive\n"
	    "Syslog on\n"
	    "SyslogFacility local3\n"
	    "LogLevel debug\n"
	    "AuthservID mx.example.org\n"
	    "Nameservers 127.0.0.1:5353, [::1]:5300 192.0.2.53\n"
	    "DNSTimeout 2\n"
	    "DNSRetries 0\n"
	    "PidFile /run/dmarc-milter/pid\n"
	    "UserID dmarc:mail\n", err, sizeof(err));
	tap_ok(c != NULL, "a full configuration loads (%s)", err);
	if (c != NULL) {
		tap_is_str(c->socket, "inet6:9000@::1", "Socket");
		tap_ok(c->syslog, "Syslog on");
		tap_is_str(c->syslog_facility, "local3", "SyslogFacility");
		tap_is_int(c->log_level, LOG_LEVEL_DEBUG, "LogLevel debug");
		tap_is_str(c->authserv_id, "mx.example.org", "AuthservID");
		tap_is_int(c->n_nameservers, 3, "three name servers");
		tap_is_str(c->nameservers[0].addr, "127.0.0.1", "IPv4 with port: address");
		tap_is_int(c->nameservers[0].port, 5353, "IPv4 with port: port");
		tap_is_str(c->nameservers[1].addr, "::1", "bracketed IPv6: address");
		tap_is_int(c->nameservers[1].port, 5300, "bracketed IPv6: port");
		tap_is_int(c->nameservers[2].port, 53, "port defaults to 53");
		tap_is_int(c->dns_timeout, 2, "DNSTimeout");
		tap_is_int(c->dns_retries, 0, "DNSRetries 0 is allowed");
		tap_is_str(c->pidfile, "/run/dmarc-milter/pid", "PidFile");
		tap_is_str(c->userid, "dmarc:mail", "UserID");
	}
	config_free(c);
	unlink(path);

	/* Bare IPv6 without port. */
	c = load("Nameservers 2001:db8::53\n", err, sizeof(err));
	tap_ok(c != NULL && strcmp(c->nameservers[0].addr, "2001:db8::53") == 0 &&
	    c->nameservers[0].port == 53, "bare IPv6 name server");
	config_free(c);
	unlink(path);

	/* A '#' inside a value is not a comment. */
	c = load("PidFile /run/a#b\n", err, sizeof(err));
	tap_ok(c != NULL && strcmp(c->pidfile, "/run/a#b") == 0, "'#' inside a value is kept");
	config_free(c);
	unlink(path);

	/* Snapshots: a reference outlives a newer install. */
	{
		struct config *a = config_load(NULL, err, sizeof(err));
		struct config *b = config_load(NULL, err, sizeof(err));
		struct config *held;

		config_install(a);
		held = config_acquire();
		tap_ok(held == a, "acquire returns the installed snapshot");
		config_install(b);
		tap_ok(config_acquire() == b, "a new install is what new connections get");
		config_release(b);
		tap_is_str(held->socket, "inet:8893@127.0.0.1", "the old snapshot stays readable while held");
		config_release(held);
	}
	return tap_done();
}
