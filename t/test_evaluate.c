/*
 * test_evaluate.c - the evaluation of one message (evaluate.c) where it
 * reads the Authentication-Results of a trusted gateway (RFC 8601), on the
 * static DNS backend and the system Public Suffix List.
 *
 * Cases found by fuzzing (fuzz/fuzz_message.c) carry the name of their
 * reproducer in fuzz/regress/message/.  Leaks show under
 * ./configure --enable-sanitizers (LeakSanitizer), as in CI step 2.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "evaluate.h"
#include "log.h"
#include "result.h"
#include "runtime.h"
#include "session.h"
#include "util.h"
#include "tap.h"

#define GATEWAY		"192.0.2.200"

struct tcase {
	const char	*name;
	const char	*ar;		/* the gateway's A-R value */
	enum auth_res	 spf;
	const char	*spf_domain;	/* NULL: expected NULL */
	size_t		 n_dkim;
	enum auth_res	 dmarc;
};

static const struct tcase cases[] = {
	{ "RFC 8601 §2.7.2: the gateway's spf and dkim results are used",
	  " gw.example.net; spf=pass smtp.mailfrom=bounce@example.com; dkim=pass header.d=example.com",
	  AUTH_PASS, "example.com", 1, AUTH_PASS },
	{ "an spf pass without smtp.mailfrom or smtp.helo aligns nothing: permerror",
	  " gw.example.net; spf=pass",
	  AUTH_PERMERROR, NULL, 0, AUTH_FAIL },
	/* fuzz/regress/message/leak-upstream-two-spf: the reason of the first
	 * spf resinfo was overwritten (leaked) by the second */
	{ "two spf resinfos, the first without an identity: the second decides, nothing leaks",
	  " gw.example.net; spf=pass; spf=fail smtp.mailfrom=bounce@example.com",
	  AUTH_FAIL, "example.com", 0, AUTH_FAIL },
	{ "two spf resinfos without an identity, then one with: the last decides",
	  " gw.example.net; spf=pass; spf=neutral (no identity); "
	  "spf=pass smtp.mailfrom=bounce@other.example",
	  AUTH_PASS, "other.example", 0, AUTH_FAIL },
	{ "an spf resinfo with an identity is never replaced by a later one",
	  " gw.example.net; spf=fail smtp.mailfrom=a@example.com; spf=pass smtp.mailfrom=b@example.com",
	  AUTH_FAIL, "example.com", 0, AUTH_FAIL },
};

/* run_case - one message from the trusted gateway */
static void
run_case(struct runtime *rt, const struct tcase *c)
{
	struct session *s = session_new(rt, rt->conf);
	struct evaluation *e;
	struct verdict v;

	s->client_family = AF_INET;
	snprintf(s->client_addr, sizeof(s->client_addr), "%s", GATEWAY);
	s->client_host = xstrdup("gw.example.net");
	s->leadspc = true;
	session_set_helo(s, "gw.example.net");
	session_set_mail_from(s, "<bounce@example.com>");
	session_add_header(s, "Authentication-Results", c->ar);
	session_add_header(s, "From", " Alice <alice@example.com>");
	e = evaluation_new(rt, s, "test");
	evaluation_eoh(e);
	evaluation_finish(e, &v);
	tap_ok(evaluation_used_upstream(e), "%s: the gateway's results are used", c->name);
	tap_is_str(auth_res_str(v.spf.result), auth_res_str(c->spf), "%s: spf result", c->name);
	tap_is_str(v.spf.domain, c->spf_domain, "%s: spf domain", c->name);
	tap_is_str(v.spf.reason, "from trusted gw.example.net", "%s: spf reason", c->name);
	tap_is_int(v.n_dkim, c->n_dkim, "%s: dkim results", c->name);
	tap_ok(v.n_dmarc == 1 && v.dmarc[0].result == c->dmarc, "%s: dmarc=%s", c->name,
	    auth_res_str(c->dmarc));
	verdict_free(&v);
	evaluation_free(e);
	session_free(s);
}

int
main(void)
{
	char path[] = "/tmp/test_evaluate.XXXXXX", err[512];
	static const char conf_text[] =
	    "AuthservID mx.example.org\n"
	    "TrustedHosts " GATEWAY "\n"
	    "TrustedAuthservIDs gw.example.net\n"
	    "SamplingSeed 1\n";
	struct dns_options o;
	struct config *conf;
	struct runtime *rt;
	struct dns *dns;
	size_t i;
	int fd;

	log_set_stderr(false);
	if ((fd = mkstemp(path)) < 0 || write(fd, conf_text, sizeof(conf_text) - 1) !=
	    (ssize_t)(sizeof(conf_text) - 1) || close(fd) != 0) {
		printf("Bail out! cannot write %s\n", path);
		return 1;
	}
	conf = config_load(path, err, sizeof(err));
	unlink(path);
	if (conf == NULL) {
		printf("Bail out! config: %s\n", err);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	dns = dns_new_static(&o);
	if (dns_static_add(dns, "_dmarc.example.com", DNS_T_TXT, "v=DMARC1; p=reject") != 0) {
		printf("Bail out! static DNS setup failed\n");
		return 1;
	}
	if ((rt = runtime_new_with_dns(conf, dns, err, sizeof(err))) == NULL) {
		printf("Bail out! runtime: %s\n", err);
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(rt, &cases[i]);
	runtime_free(rt);
	return tap_done();
}
