/*
 * test_deliver.c - the report mailer: rua destinations and the external
 * destination check (static DNS), the MIME report message parsed back
 * (base64, gunzip, headers), size limits, and sending: Postfix's
 * smtp-sink as a real relay, a scripted relay in a child process for
 * per-recipient refusals, timeouts, STARTTLS and AUTH, and a fake
 * sendmail script.  Everything runs on 127.0.0.1.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "buf.h"
#include "deliver.h"
#include "dns.h"
#include "log.h"
#include "orgdomain.h"
#include "rua.h"
#include "smtp.h"
#include "tap.h"
#include "util.h"

#define SMTP_SINK	"/usr/sbin/smtp-sink"

static char tmpdir[] = "/tmp/test_deliver.XXXXXX";

static const char xml_text[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
    "  <report_metadata>\n"
    "    <org_name>receiver.example</org_name>\n"
    "    <email>dmarc-reports@receiver.example</email>\n"
    "    <report_id>1700000000.example.com@receiver.example</report_id>\n"
    "    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>\n"
    "  </report_metadata>\n"
    "  <policy_published><domain>example.com</domain><p>reject</p></policy_published>\n"
    "  <record><row><source_ip>192.0.2.1</source_ip><count>3</count></row></record>\n"
    "</feedback>\n";

/* ---------------------------------------------------------------- helpers */

/* slurp - a whole file into a malloc'd string (NULL when unreadable) */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	struct buf b = BUF_INIT;
	char tmp[4096];
	size_t n;

	if (fp == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		buf_append(&b, tmp, n);
	fclose(fp);
	if (len != NULL)
		*len = b.len;
	return buf_detach(&b);
}

/* write_text - create a file with text and mode */
static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0 || chmod(path, mode) != 0) {
		perror(path);
		exit(2);
	}
}

/* free_port - a loopback TCP port nobody listens on right now */
static unsigned
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("free_port");
		exit(2);
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* listen_on - a listening loopback socket; its port in *port */
static int
listen_on(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("listen_on");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* can_connect - something accepts on 127.0.0.1:port */
static int
can_connect(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* b64_decode - decode base64 text, skipping CR/LF; -1 on a bad character */
static int
b64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned v = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		int d;

		if (c == '\r' || c == '\n' || c == '=')
			continue;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '+')
			d = 62;
		else if (c == '/')
			d = 63;
		else
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((v >> bits) & 0xff));
		}
	}
	return 0;
}

/* gunzip - inflate a gzip member (zlib, windowBits 15+16) */
static int
gunzip(const char *p, size_t n, struct buf *out)
{
	z_stream zs;
	unsigned char tmp[4096];
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			inflateEnd(&zs);
			return -1;
		}
		buf_append(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (zr != Z_STREAM_END);
	inflateEnd(&zs);
	return 0;
}

/* header_value - the unfolded value of the first header field "name" in
 * the header block of msg (up to the first empty line); malloc'd or NULL */
static char *
header_value(const char *msg, const char *name)
{
	const char *p = msg, *end = strstr(msg, "\r\n\r\n");
	size_t nl = strlen(name);
	struct buf v = BUF_INIT;

	if (end == NULL)
		return NULL;
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			buf_init(&v, 0);
			p += nl + 1;
			for (;;) {
				buf_append(&v, p, (size_t)(eol - p));
				p = eol + 2;
				if (p >= end + 2 || (*p != ' ' && *p != '\t'))
					break;
				eol = strstr(p, "\r\n");
			}
			{
				char *s = buf_detach(&v), *t = s;

				while (*t == ' ')
					t++;
				memmove(s, t, strlen(t) + 1);
				return s;
			}
		}
		p = eol + 2;
	}
	return NULL;
}

/* param - the quoted value of parameter "name" in a header value, malloc'd or NULL */
static char *
param(const char *hv, const char *name)
{
	char key[64];
	const char *p, *e;

	if (hv == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s=\"", name);
	if ((p = strstr(hv, key)) == NULL)
		return NULL;
	p += strlen(key);
	if ((e = strchr(p, '"')) == NULL)
		return NULL;
	return xstrndup(p, (size_t)(e - p));
}

/* ------------------------------------------------------------------- rua */

static void
test_rua_parse(void)
{
	static const struct {
		const char *text;
		size_t n;
		unsigned long long limit0, limit1;
		const char *what;
	} cases[] = {
		{ "mailto:dmarc@example.com!10m", 1, 10ULL << 20, 0,
		  "RFC 7489 §6.2: \"!10m\" is 10 * 2^20 bytes" },
		{ "mailto:a@example.com , mailto:b@example.com!50k", 2, 0, 50ULL << 10,
		  "RFC 7489 §6.4: comma-separated list with WSP, k = 2^10" },
		{ "mailto:a@example.com,not a uri,mailto:b@example.com", 2, 0, 0,
		  "RFC 9990 §3: a malformed URI is ignored, the others kept" },
		{ "mailto:a@example.com!10x", 0, 0, 0,
		  "RFC 7489 §6.4: a bad size suffix makes the URI invalid" },
		{ "mailto:a@example.com!99999999999999999999999t", 0, 0, 0,
		  "RFC 7489 §6.4: a size that overflows 64 bits is invalid" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmarc_uri *u = NULL;
		size_t n = 0;
		char err[256];
		int rc = rua_parse_list(cases[i].text, &u, &n, err, sizeof(err));

		tap_ok(rc == 0 && n == cases[i].n &&
		    (n < 1 || u[0].size_limit == cases[i].limit0) &&
		    (n < 2 || u[1].size_limit == cases[i].limit1), "%s", cases[i].what);
		rua_uris_free(u, n);
	}
	{
		struct dmarc_uri *u = NULL;
		size_t n = 0;
		char err[256] = "";

		tap_ok(rua_parse_list("mailto:a@example.com; p=none", &u, &n, err, sizeof(err)) == -1 &&
		    strstr(err, ";") != NULL, "RFC 7489 §6.4: \";\" cannot be part of a rua value");
	}
}

static void
test_mailto(void)
{
	static const struct {
		const char *uri, *addr, *host;
		const char *what;
	} cases[] = {
		{ "mailto:dmarc%2Breports@Example.COM", "dmarc+reports@example.com", "example.com",
		  "RFC 6068 §2: %-decoding, domain lowercased" },
		{ "MAILTO:a@example.com?subject=hello&cc=x@evil.example", "a@example.com", "example.com",
		  "RFC 6068 §2: header fields ignored, scheme case-insensitive (RFC 3986 §3.1)" },
		{ "mailto:r@b%C3%BCcher.example", "r@xn--bcher-kva.example", "xn--bcher-kva.example",
		  "RFC 5890: a UTF-8 domain becomes an A-label" },
		{ "mailto:a@example.com%2Cb@example.net", NULL, NULL,
		  "RFC 6068 §2: several addresses in one URI refused" },
		{ "mailto:a%0D%0ABcc:x@example.com", NULL, NULL,
		  "CR/LF hidden in %-escapes refused" },
		{ "mailto:%22a%20b%22@example.com", NULL, NULL,
		  "RFC 5322 §3.4.1: quoted local part refused (dot-atom only)" },
		{ "mailto:a..b@example.com", NULL, NULL,
		  "RFC 5322 §3.4.1: empty atom in the local part refused" },
		{ "mailto:a@[192.0.2.1]", NULL, NULL,
		  "address literal refused as a report destination" },
		{ "mailto:", NULL, NULL, "RFC 6068: mailto without an address refused" },
		{ "mailto:a@exa_mple..com", NULL, NULL, "empty label in the domain refused" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *a = NULL, *h = NULL, err[256];
		int rc = rua_parse_mailto(cases[i].uri, &a, &h, err, sizeof(err));

		if (cases[i].addr != NULL)
			tap_ok(rc == 0 && a != NULL && strcmp(a, cases[i].addr) == 0 &&
			    strcmp(h, cases[i].host) == 0, "%s", cases[i].what);
		else
			tap_ok(rc == -1 && a == NULL && h == NULL, "%s", cases[i].what);
		free(a);
		free(h);
	}
}

/* find_dest - the destination with this address, or NULL */
static const struct rua_dest *
find_dest(const struct rua_dest *v, size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].address, addr) == 0)
			return &v[i];
	return NULL;
}

static void
test_external(const struct orgdomain *org)
{
	struct dns_options o;
	struct dns *d;
	struct dns_stats st;
	struct rua_dest *v = NULL;
	size_t n = 0;
	char err[256];
	int rc;

	memset(&o, 0, sizeof(o));
	d = dns_new_static(&o);
	if (dns_static_add(d, "example.com._report._dmarc.reports.example.net", DNS_T_TXT, "\"v=DMARC1;\"") != 0 ||
	    dns_static_add(d, "example.com._report._dmarc.spf.example.net", DNS_T_TXT, "\"v=spf1 -all\"") != 0 ||
	    dns_static_add(d, "*._report._dmarc.wild.example", DNS_T_TXT, "\"v=DMARC1\"") != 0 ||
	    dns_static_add(d, "example.com._report._dmarc.ovr.example.net", DNS_T_TXT,
	    "\"v=DMARC1; rua=mailto:inbox@ovr.example.net!1m\"") != 0 ||
	    dns_static_add(d, "example.com._report._dmarc.bad.example.net", DNS_T_TXT,
	    "\"v=DMARC1; rua=mailto:victim@elsewhere.example\"") != 0 ||
	    dns_static_add(d, "example.com._report._dmarc.two.example.net", DNS_T_TXT, "\"v=DMARC1\"") != 0 ||
	    dns_static_add(d, "example.com._report._dmarc.two.example.net", DNS_T_TXT, "\"v=DMARC1; x=y\"") != 0 ||
	    dns_static_set_status(d, "example.com._report._dmarc.broken.example.net", 0, DNS_TEMPFAIL) != 0) {
		tap_diag("static DNS setup failed");
		exit(2);
	}

	/* inside the Organizational Domain: no DNS at all */
	rc = rua_destinations(d, org, RULES_RFC9989, "Example.COM",
	    "mailto:dmarc@example.com!10m, mailto:agg@reports.example.com", &v, &n, err, sizeof(err));
	dns_get_stats(d, &st);
	tap_ok(rc == 0 && n == 2 && v[0].status == RUA_ALLOWED && !v[0].external &&
	    v[0].size_limit == (10ULL << 20) && v[1].status == RUA_ALLOWED && st.queries == 0,
	    "RFC 9990 §4: same Organizational Domain needs no check (no DNS query)");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "mail.sub.example.com",
	    "mailto:agg@example.com", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_ALLOWED && !v[0].external,
	    "RFC 9990 §4: a subdomain's record reporting to its Organizational Domain needs no check");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@reports.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_ALLOWED && v[0].external && !v[0].overridden,
	    "RFC 9990 §4 step 8: external destination authorised by v=DMARC1 at "
	    "example.com._report._dmarc.reports.example.net");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@nobody.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_REFUSED && v[0].reason != NULL &&
	    strstr(v[0].reason, "example.com._report._dmarc.nobody.example.net") != NULL,
	    "RFC 9990 §4 step 7: no authorisation record (NXDOMAIN) refuses the destination");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@spf.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_REFUSED,
	    "RFC 9990 §4 step 6: a TXT record not starting with v=DMARC1 authorises nothing");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@broken.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_DEFER,
	    "RFC 9990 §4 step 5: SERVFAIL defers the destination (try again later)");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@wild.example", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_ALLOWED && v[0].external,
	    "RFC 9990 §4: a DNS wildcard *._report._dmarc.<host> authorises any domain");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@ovr.example.net!50m", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_ALLOWED && v[0].overridden &&
	    strcmp(v[0].address, "inbox@ovr.example.net") == 0 && v[0].size_limit == (1ULL << 20),
	    "RFC 9990 §4 step 9: an override rua on the same host replaces the published URI");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@bad.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_REFUSED &&
	    strcmp(v[0].address, "agg@bad.example.net") == 0 &&
	    find_dest(v, n, "victim@elsewhere.example") == NULL,
	    "RFC 9990 §4: an override on another host: no report to either URI");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC7489, "example.com",
	    "mailto:agg@two.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_REFUSED,
	    "RFC 7489 §7.1 step 5: two TXT records give no positive determination");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "mailto:agg@two.example.net", &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && v[0].status == RUA_ALLOWED,
	    "RFC 9990 §4 step 8: at least one v=DMARC1 record of several authorises");
	rua_dests_free(v, n);

	rc = rua_destinations(d, org, RULES_RFC9989, "example.com",
	    "https://reports.example.com/dmarc, mailto:dmarc@example.com, mailto:dmarc@Example.COM!5k",
	    &v, &n, err, sizeof(err));
	tap_ok(rc == 0 && n == 1 && strcmp(v[0].address, "dmarc@example.com") == 0 &&
	    v[0].size_limit == (5ULL << 10),
	    "RFC 9989 §4.7: unsupported scheme ignored; a duplicate address is sent once (stricter limit)");
	rua_dests_free(v, n);

	{
		char pd[260], rua[400];

		/* a 241-octet policy domain: valid, but with "._report._dmarc."
		 * and the destination host the name passes 253 octets */
		snprintf(pd, sizeof(pd), "%s.%s.%s.%s.%s.example.com",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		    "ccccccccccccccccccccccccccccccccccccccccccccc", "ddddddddddddddddddddddddddddddddddddddddddddd",
		    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
		snprintf(rua, sizeof(rua), "mailto:agg@reports.example.net");
		rc = rua_destinations(d, org, RULES_RFC9989, pd, rua, &v, &n, err, sizeof(err));
		tap_ok(rc == 0 && n == 1 && v[0].status == RUA_REFUSED && v[0].reason != NULL &&
		    strstr(v[0].reason, "step 4") != NULL,
		    "RFC 9990 §4 step 4: a verification name over DNS limits refuses");
		rua_dests_free(v, n);
	}

	err[0] = '\0';
	rc = rua_destinations(d, org, RULES_RFC9989, "exa mple.com", "mailto:a@example.com",
	    &v, &n, err, sizeof(err));
	tap_ok(rc == -1 && n == 0 && v == NULL && err[0] != '\0',
	    "a policy domain that is no domain name is an error");
	dns_free(d);
}

/* ------------------------------------------------------------ the message */

static const char *const two_rcpts[] = { "dmarc@example.com", "agg@reports.example.net" };

/* base_msg - a report message description */
static struct deliver_msg
base_msg(void)
{
	struct deliver_msg m;

	memset(&m, 0, sizeof(m));
	m.rules = RULES_RFC9989;
	m.from = "dmarc-noreply@receiver.example";
	m.to = (char *const *)two_rcpts;
	m.n_to = 2;
	m.org_domain = "receiver.example";
	m.domain = "example.com";
	m.report_id = "1700000000.example.com@receiver.example";
	m.begin = 1700000000;
	m.end = 1700086399;
	m.xml = xml_text;
	m.xml_len = sizeof(xml_text) - 1;
	m.date = 1700090000;
	return m;
}

/* check_lines - every line ends in CRLF; max line length */
static int
check_lines(const char *s, size_t n, size_t *maxlen)
{
	size_t i, start = 0;

	*maxlen = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			if (i == 0 || s[i - 1] != '\r')
				return 0;
			if (i - 1 - start > *maxlen)
				*maxlen = i - 1 - start;
			start = i + 1;
		} else if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
			return 0;
	}
	return start == n;
}

static void
test_message(void)
{
	struct deliver_msg m = base_msg();
	struct buf msg = BUF_INIT, name = BUF_INIT, b64 = BUF_INIT, gz = BUF_INIT, xml = BUF_INIT;
	char err[256], *subject, *ctype, *boundary, *mid, *to, *date;
	const char *att, *body_end, *p;
	size_t maxlen = 0;
	int rc;

	rc = deliver_build(&m, &msg, &name, err, sizeof(err));
	if (!tap_ok(rc == 0, "deliver_build: a report message is built"))
		tap_diag("%s", err);
	{
		static const char pfx[] = "receiver.example!example.com!1700000000!1700086399!";
		const char *nm = buf_str(&name);
		size_t pl = sizeof(pfx) - 1;

		tap_ok(strncmp(nm, pfx, pl) == 0 && strlen(nm) == pl + 16 + 7 &&
		    strspn(nm + pl, "0123456789abcdef") == 16 && strcmp(nm + pl + 16, ".xml.gz") == 0,
		    "RFC 9990 §3 filename: receiver!policy-domain!begin!end!unique-id.xml.gz");
	}

	subject = header_value(msg.data, "Subject");
	tap_is_str(subject, "Report Domain: example.com Submitter: receiver.example "
	    "Report-ID: <1700000000.example.com@receiver.example>",
	    "RFC 9990 §3 dmarc-subject (unfolded)");
	mid = header_value(msg.data, "Message-ID");
	tap_is_str(mid, "<1700000000.example.com@receiver.example>",
	    "RFC 9990 §3: Message-ID carries the same ridtxt as the Subject");
	to = header_value(msg.data, "To");
	tap_is_str(to, "dmarc@example.com, agg@reports.example.net", "RFC 5322 §3.6.3: To lists every recipient");
	date = header_value(msg.data, "Date");
	tap_is_str(date, "Wed, 15 Nov 2023 23:13:20 +0000", "RFC 5322 §3.3: Date in UTC, English names");
	ctype = header_value(msg.data, "Content-Type");
	boundary = param(ctype, "boundary");
	{
		char *mv = header_value(msg.data, "MIME-Version");

		tap_ok(ctype != NULL && strncmp(ctype, "multipart/mixed;", 16) == 0 && boundary != NULL &&
		    mv != NULL && strcmp(mv, "1.0") == 0,
		    "RFC 2045/2046: MIME-Version 1.0 and multipart/mixed with a boundary");
		free(mv);
	}
	{
		int lines_ok = check_lines(msg.data, msg.len, &maxlen);

		tap_ok(lines_ok && maxlen <= 998 && maxlen > 0,
		    "RFC 5322 §2.1.1: CRLF line ends only, no line over 998 (longest %zu)", maxlen);
	}

	/* the attachment part */
	att = boundary != NULL ? strstr(msg.data, "Content-Type: application/gzip") : NULL;
	if (att != NULL) {
		const char *hend = strstr(att, "\r\n\r\n");
		char *pct = xstrndup(att, (size_t)(hend - att) + 4), *cd, *fn, *nm, *delim;

		cd = header_value(pct, "Content-Disposition");
		fn = param(cd, "filename");
		nm = param(strstr(pct, "application/gzip"), "name");
		tap_ok(fn != NULL && strcmp(fn, buf_str(&name)) == 0 && nm != NULL &&
		    strcmp(nm, fn) == 0 && strncmp(cd, "attachment;", 11) == 0,
		    "RFC 2183: Content-Disposition attachment with the report's filename");
		tap_ok(strstr(pct, "Content-Transfer-Encoding: base64\r\n") != NULL,
		    "RFC 2045 §6.8: the attachment is base64");
		delim = xasprintf("\r\n--%s--\r\n", boundary);
		body_end = strstr(hend + 4, delim);
		maxlen = 0;
		for (p = hend + 4; body_end != NULL && p < body_end; ) {
			const char *e = strstr(p, "\r\n");

			if ((size_t)(e - p) > maxlen)
				maxlen = (size_t)(e - p);
			p = e + 2;
		}
		tap_ok(body_end != NULL && maxlen <= 76 && maxlen > 0,
		    "RFC 2045 §6.8: base64 lines at most 76 characters (longest %zu)", maxlen);
		buf_init(&b64, 0);
		buf_init(&gz, 0);
		buf_init(&xml, 0);
		tap_ok(body_end != NULL && b64_decode(hend + 4, (size_t)(body_end - hend - 4), &gz) == 0 &&
		    gz.len > 18 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b &&
		    gunzip(gz.data, gz.len, &xml) == 0 && xml.len == sizeof(xml_text) - 1 &&
		    memcmp(xml.data, xml_text, xml.len) == 0,
		    "RFC 1952/RFC 9990 §3: base64-decoded attachment gunzips to the XML");
		free(delim);
		free(cd);
		free(fn);
		free(nm);
		free(pct);
	} else {
		tap_ok(0, "RFC 2183: application/gzip part present");
		tap_ok(0, "base64 part");
		tap_ok(0, "base64 lines");
		tap_ok(0, "gunzip");
	}
	{
		char *tp = strstr(msg.data, "Content-Type: text/plain");

		tap_ok(tp != NULL && tp < att && strstr(tp, "Report-ID: <1700000000.example.com@receiver.example>") != NULL,
		    "RFC 9990 §3: a human-readable text/plain part precedes the report");
	}
	free(subject);
	free(mid);
	free(to);
	free(date);
	free(ctype);
	free(boundary);

	/* a re-send makes the same file name; another report ID another one */
	{
		struct buf msg2 = BUF_INIT, name2 = BUF_INIT;
		struct deliver_msg m2 = base_msg();

		m2.date = 1800000000;
		rc = deliver_build(&m2, &msg2, &name2, err, sizeof(err));
		tap_ok(rc == 0 && strcmp(buf_str(&name), buf_str(&name2)) == 0,
		    "RFC 9990 §3: a re-sent report MUST use the same filename");
		m2.report_id = "<other-id@receiver.example>";
		rc = deliver_build(&m2, &msg2, &name2, err, sizeof(err));
		tap_ok(rc == 0 && strcmp(buf_str(&name), buf_str(&name2)) != 0,
		    "RFC 9990 §3: another report gets another unique-id");
		m2.unique_id = "Run42";
		rc = deliver_build(&m2, &msg2, &name2, err, sizeof(err));
		tap_ok(rc == 0 && strstr(buf_str(&name2), "!Run42.xml.gz") != NULL,
		    "RFC 9990 §3: a caller's unique-id is used as given");
		m2.unique_id = "run-42";
		rc = deliver_build(&m2, &msg2, &name2, err, sizeof(err));
		tap_ok(rc == -1 && msg2.len == 0, "RFC 9990 §3: unique-id = 1*(ALPHA / DIGIT) enforced");
		buf_free(&msg2);
		buf_free(&name2);
	}

	/* a long Subject is folded */
	{
		struct buf msg3 = BUF_INIT, name3 = BUF_INIT;
		struct deliver_msg m3 = base_msg();
		const char *h, *e;
		size_t longest = 0;
		char *subj;

		m3.domain = "a-rather-long-subdomain-name.of-a-long-organisational-domain.example.com";
		m3.org_domain = "reports.mail-receiver-with-a-long-name.example";
		rc = deliver_build(&m3, &msg3, &name3, err, sizeof(err));
		h = strstr(msg3.data, "\r\nSubject:") + 2;
		for (p = h; ; ) {
			e = strstr(p, "\r\n");
			if ((size_t)(e - p) > longest)
				longest = (size_t)(e - p);
			p = e + 2;
			if (*p != ' ')
				break;
		}
		subj = header_value(msg3.data, "Subject");
		tap_ok(rc == 0 && longest <= 78 && p - h > 80 && subj != NULL &&
		    strstr(subj, "Submitter: reports.mail-receiver-with-a-long-name.example Report-ID:") != NULL,
		    "RFC 5322 §2.2.3: the long Subject is folded to lines of at most 78 (%zu)", longest);
		free(subj);
		buf_free(&msg3);
		buf_free(&name3);
	}

	/* hostile input cannot add header fields */
	{
		static const struct {
			const char *domain, *org, *rid, *from, *to0;
			const char *what;
		} bad[] = {
			{ "example.com\r\nBcc: victim@example.org", NULL, NULL, NULL, NULL,
			  "a policy domain with CR/LF is refused (no Bcc: header injected)" },
			{ NULL, "receiver.example\nX-Evil: 1", NULL, NULL, NULL,
			  "a reporting domain with LF is refused" },
			{ NULL, NULL, "id\r\nBcc: victim@example.org", NULL, NULL,
			  "RFC 9990 §3: a report ID with CR/LF is no ridfmt" },
			{ NULL, NULL, "has space@receiver.example", NULL, NULL,
			  "RFC 9990 §3: a report ID with a space is no ridfmt" },
			{ NULL, NULL, NULL, "noreply@receiver.example\r\nBcc: x@example.org", NULL,
			  "a From address with CR/LF is refused" },
			{ NULL, NULL, NULL, NULL, "<a@example.com>",
			  "a recipient with angle brackets is refused" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct deliver_msg mb = base_msg();
			const char *to1[1];
			struct buf mm = BUF_INIT, nn = BUF_INIT;

			if (bad[i].domain)
				mb.domain = bad[i].domain;
			if (bad[i].org)
				mb.org_domain = bad[i].org;
			if (bad[i].rid)
				mb.report_id = bad[i].rid;
			if (bad[i].from)
				mb.from = bad[i].from;
			if (bad[i].to0) {
				to1[0] = bad[i].to0;
				mb.to = (char *const *)to1;
				mb.n_to = 1;
			}
			err[0] = '\0';
			rc = deliver_build(&mb, &mm, &nn, err, sizeof(err));
			tap_ok(rc == -1 && mm.len == 0 && err[0] != '\0', "%s", bad[i].what);
			buf_free(&mm);
			buf_free(&nn);
		}
	}
	buf_free(&msg);
	buf_free(&name);
	buf_free(&b64);
	buf_free(&gz);
	buf_free(&xml);
}

/* -------------------------------------------------------------- sendmail */

static char *fake_sendmail;	/* the script */
static char *fake_out;		/* what it saw */

/* make_fake_sendmail - a script that records argv and stdin, exit status from a file */
static void
make_fake_sendmail(void)
{
	char *text;

	fake_sendmail = xasprintf("%s/sendmail", tmpdir);
	fake_out = xasprintf("%s/sendmail.out", tmpdir);
	text = xasprintf("#!/bin/sh\n"
	    "echo \"ARGS: $*\" > '%s'\n"
	    "cat >> '%s'\n"
	    "st=$(cat '%s/sendmail.status' 2>/dev/null || echo 0)\n"
	    "[ \"$st\" = 0 ] || echo 'fake sendmail: boom' >&2\n"
	    "exit $st\n", fake_out, fake_out, tmpdir);
	write_text(fake_sendmail, text, 0755);
	free(text);
}

/* set_fake_status - what the fake sendmail exits with */
static void
set_fake_status(int st)
{
	char *p = xasprintf("%s/sendmail.status", tmpdir), s[16];

	snprintf(s, sizeof(s), "%d\n", st);
	write_text(p, s, 0644);
	free(p);
}

static void
test_sendmail(void)
{
	struct smtp_config cfg;
	struct smtp_result res;
	char err[512], *seen;
	const char *msg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: t\r\n\r\n.\r\nbody\r\n";
	char *const rc1[] = { (char *)"b@example.com" };
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.transport = SMTP_TRANSPORT_SENDMAIL;
	cfg.sendmail = fake_sendmail;
	cfg.timeout = 10;

	set_fake_status(0);
	rc = smtp_send(&cfg, "a@example.com", rc1, 1, msg, strlen(msg), &res, err, sizeof(err));
	seen = slurp(fake_out, NULL);
	tap_ok(rc == 0 && res.sent && res.n_accepted == 1 && seen != NULL &&
	    strncmp(seen, "ARGS: -t -i -f a@example.com\n", strlen("ARGS: -t -i -f a@example.com\n")) == 0,
	    "sendmail -t -i -f <sender>: exit 0 means sent");
	tap_ok(seen != NULL && strstr(seen, "Subject: t\n\n.\nbody\n") != NULL && strchr(seen, '\r') == NULL,
	    "sendmail gets LF line ends and an undoubled \".\" (-i)");
	free(seen);
	smtp_result_free(&res);

	set_fake_status(75);
	rc = smtp_send(&cfg, "a@example.com", rc1, 1, msg, strlen(msg), &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && res.temporary && res.code == 75,
	    "sendmail exit EX_TEMPFAIL (75): not sent, temporary");
	smtp_result_free(&res);

	set_fake_status(1);
	rc = smtp_send(&cfg, "a@example.com", rc1, 1, msg, strlen(msg), &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && !res.temporary && strstr(err, "boom") != NULL,
	    "sendmail exit 1: not sent, permanent, its stderr in the error (%s)", err);
	smtp_result_free(&res);
	set_fake_status(0);

	cfg.sendmail = "/nonexistent/sendmail";
	rc = smtp_send(&cfg, "a@example.com", rc1, 1, msg, strlen(msg), &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && strstr(err, "cannot run /nonexistent/sendmail") != NULL,
	    "a missing sendmail is reported clearly (%s)", err);
	smtp_result_free(&res);

	cfg.sendmail = fake_sendmail;
	rc = smtp_send(&cfg, "-oQ/tmp@example.com", rc1, 1, msg, strlen(msg), &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent, "a sender starting with \"-\" never reaches sendmail's argv");
	smtp_result_free(&res);
}

/* test_size_limit - RFC 7489 §6.2 limits through deliver_report */
static void
test_size_limit(void)
{
	struct smtp_config cfg;
	struct deliver_msg m = base_msg();
	struct rua_dest d[3];
	struct deliver_result *r = NULL;
	char err[256], *seen;
	int sent;

	tap_ok(!deliver_fits(RULES_RFC7489, 1000, 1001) && deliver_fits(RULES_RFC7489, 1000, 1000) &&
	    deliver_fits(RULES_RFC7489, 0, 1u << 30),
	    "RFC 7489 §6.2: a message over the limit does not fit; 0 = no limit");
	tap_ok(deliver_fits(RULES_RFC9989, 1000, 5000),
	    "RFC 9989 §4.8: obs-dmarc-report-size is ignored under RFC 9989 rules");

	memset(d, 0, sizeof(d));
	d[0].address = (char *)"big@example.com";
	d[0].size_limit = 0;
	d[1].address = (char *)"small@example.com";
	d[1].size_limit = 100;
	d[2].address = (char *)"no@elsewhere.example";
	d[2].status = RUA_REFUSED;
	d[2].reason = (char *)"not authorised";
	memset(&cfg, 0, sizeof(cfg));
	cfg.transport = SMTP_TRANSPORT_SENDMAIL;
	cfg.sendmail = fake_sendmail;
	cfg.timeout = 10;
	set_fake_status(0);
	m.rules = RULES_RFC7489;
	unlink(fake_out);
	sent = deliver_report(&cfg, &m, d, 3, &r, err, sizeof(err));
	seen = slurp(fake_out, NULL);
	tap_ok(sent == 1 && r[0].outcome == DELIVER_SENT && r[1].outcome == DELIVER_TOO_BIG &&
	    r[2].outcome == DELIVER_REFUSED,
	    "RFC 7489 §6.2: over the 100-byte limit: not sent there, sent to the unlimited one");
	tap_ok(seen != NULL && strstr(seen, "\nTo: big@example.com\n") != NULL &&
	    strstr(seen, "small@example.com") == NULL,
	    "the too-big destination is not among the message's recipients");
	free(seen);
	deliver_results_free(r, 3);

	m.rules = RULES_RFC9989;
	sent = deliver_report(&cfg, &m, d, 3, &r, err, sizeof(err));
	tap_ok(sent == 2 && r[1].outcome == DELIVER_SENT,
	    "RFC 9989 rules: the size suffix is ignored, both get the report");
	deliver_results_free(r, 3);
}

/* --------------------------------------------------------------- smtp-sink */

struct sink {
	pid_t		 pid;
	unsigned	 port;
	char		*dir;
};

/* sink_start - run smtp-sink on a free loopback port with extra options */
static int
sink_start(struct sink *s, const char *const *opts)
{
	static int serial;
	const char *argv[32];
	char *tmpl, *addr;
	int k = 0, i;

	s->dir = xasprintf("%s/sink%d", tmpdir, ++serial);
	if (mkdir(s->dir, 0777) != 0 || chmod(s->dir, 0777) != 0)
		return -1;
	s->port = free_port();
	tmpl = xasprintf("%s/%%M.", s->dir);
	addr = xasprintf("127.0.0.1:%u", s->port);
	argv[k++] = SMTP_SINK;
	argv[k++] = "-d";
	argv[k++] = tmpl;
	if (geteuid() == 0) {
		argv[k++] = "-u";
		argv[k++] = "nobody";
	}
	for (i = 0; opts != NULL && opts[i] != NULL && k < 28; i++)
		argv[k++] = opts[i];
	argv[k++] = addr;
	argv[k++] = "10";
	argv[k] = NULL;
	if ((s->pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execv(SMTP_SINK, (char *const *)argv);
		_exit(127);
	}
	free(tmpl);
	free(addr);
	for (i = 0; i < 100; i++) {
		if (can_connect(s->port))
			return 0;
		usleep(50000);
	}
	return -1;
}

/* sink_stop - end the smtp-sink we started */
static void
sink_stop(struct sink *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	free(s->dir);
}

/* sink_dump - the contents of the (single) dump file, waiting up to 3 s */
static char *
sink_dump(const struct sink *s)
{
	int tries;

	for (tries = 0; tries < 60; tries++) {
		DIR *d = opendir(s->dir);
		struct dirent *e;
		char *found = NULL;

		while (d != NULL && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			{
				char *p = xasprintf("%s/%s", s->dir, e->d_name);

				found = slurp(p, NULL);
				free(p);
			}
			break;
		}
		if (d != NULL)
			closedir(d);
		if (found != NULL && strstr(found, "\nEND-OF-TEST\n") != NULL)
			return found;
		free(found);
		usleep(50000);
	}
	return NULL;
}

static const char sink_msg[] =
    "From: dmarc-noreply@receiver.example\r\n"
    "To: dmarc@example.com\r\n"
    "Subject: sink test\r\n"
    "\r\n"
    ".leading dot\r\n"
    ".\r\n"
    "bare LF line\n"
    "END-OF-TEST\r\n";

static void
test_sink(void)
{
	static const char *const r2[] = { "dmarc@example.com", "agg@reports.example.net" };
	struct smtp_config cfg;
	struct smtp_result res;
	struct sink s;
	char err[512], *dump;
	int rc;

	if (access(SMTP_SINK, X_OK) != 0) {
		tap_ok(0, "%s is installed (Debian package postfix)", SMTP_SINK);
		return;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.transport = SMTP_TRANSPORT_RELAY;
	cfg.host = "127.0.0.1";
	cfg.helo = "reporter.receiver.example";
	cfg.timeout = 10;

	/* a plain delivery */
	if (sink_start(&s, NULL) != 0) {
		tap_ok(0, "smtp-sink started");
		return;
	}
	cfg.port = s.port;
	rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 2, sink_msg,
	    sizeof(sink_msg) - 1, &res, err, sizeof(err));
	if (!tap_ok(rc == 0 && res.sent && res.n_accepted == 2 && res.code == 250 && !res.tls,
	    "RFC 5321: smtp-sink took the message (250 to the final dot)"))
		tap_diag("%s", err);
	dump = sink_dump(&s);
	tap_ok(dump != NULL && strstr(dump, "X-Mail-Args: <dmarc-noreply@receiver.example>") != NULL &&
	    strstr(dump, "X-Rcpt-Args: <dmarc@example.com>") != NULL &&
	    strstr(dump, "X-Rcpt-Args: <agg@reports.example.net>") != NULL &&
	    strstr(dump, "X-Helo-Args: reporter.receiver.example") != NULL,
	    "the relay saw MAIL FROM, both RCPT TO and our EHLO name");
	tap_ok(dump != NULL && strstr(dump, "\nSubject: sink test\n") != NULL &&
	    strstr(dump, "\n.leading dot\n.\nbare LF line\nEND-OF-TEST\n") != NULL,
	    "RFC 5321 §4.5.2: dot-stuffing undone by the relay, the lines arrive intact");
	free(dump);
	smtp_result_free(&res);

	/* a whole report through deliver_report */
	{
		struct deliver_msg m = base_msg();
		struct rua_dest d[2];
		struct deliver_result *r = NULL;
		int sent;

		memset(d, 0, sizeof(d));
		d[0].address = (char *)"dmarc@example.com";
		d[1].address = (char *)"agg@reports.example.net";
		sent = deliver_report(&cfg, &m, d, 2, &r, err, sizeof(err));
		tap_ok(sent == 2 && r[0].outcome == DELIVER_SENT && r[1].outcome == DELIVER_SENT,
		    "deliver_report: a report message to two destinations through the relay");
		deliver_results_free(r, 2);
	}

	/* TLS required, relay without STARTTLS */
	cfg.tls = SMTP_TLS_REQUIRE;
	rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 1, sink_msg,
	    sizeof(sink_msg) - 1, &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && res.temporary && strstr(err, "does not offer STARTTLS") != NULL,
	    "RFC 3207: TLS required but no STARTTLS offered: nothing sent (%s)", err);
	smtp_result_free(&res);
	cfg.tls = SMTP_TLS_MAY;
	rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 1, sink_msg,
	    sizeof(sink_msg) - 1, &res, err, sizeof(err));
	tap_ok(rc == 0 && res.sent && !res.tls,
	    "RFC 3207: opportunistic TLS falls back to plain text when STARTTLS is not offered");
	smtp_result_free(&res);
	cfg.tls = SMTP_TLS_NONE;
	cfg.auth_user = "reporter";
	cfg.auth_password = "secret";
	rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 1, sink_msg,
	    sizeof(sink_msg) - 1, &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && strstr(err, "TLS is off") != NULL,
	    "RFC 4954 §4: AUTH without TLS is refused before connecting");
	smtp_result_free(&res);
	cfg.auth_user = cfg.auth_password = NULL;
	sink_stop(&s);

	/* relays that refuse */
	{
		static const struct {
			const char *opt, *cmds;
			bool temporary;
			int code;
			const char *what;
		} refuse[] = {
			{ "-r", "RCPT", true, 450, "RFC 5321 §4.2.2: 4xx to every RCPT: not sent, temporary" },
			{ "-f", "RCPT", false, 500, "RFC 5321 §4.2.2: 5xx to every RCPT: not sent, permanent" },
			{ "-f", "DATA", false, 500, "RFC 5321: 5xx to DATA: not sent" },
			{ "-f", ".", false, 500, "RFC 5321: 5xx to the final dot: not sent" },
			{ "-r", ".", true, 450, "RFC 5321: 4xx to the final dot: not sent, temporary" },
			{ "-f", "MAIL", false, 500, "RFC 5321: 5xx to MAIL FROM: not sent" },
		};
		size_t i;

		for (i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++) {
			const char *opts[] = { refuse[i].opt, refuse[i].cmds, NULL };

			if (sink_start(&s, opts) != 0) {
				tap_ok(0, "smtp-sink %s %s started", refuse[i].opt, refuse[i].cmds);
				continue;
			}
			cfg.port = s.port;
			rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 2,
			    sink_msg, sizeof(sink_msg) - 1, &res, err, sizeof(err));
			tap_ok(rc == -1 && !res.sent && res.temporary == refuse[i].temporary &&
			    res.code == refuse[i].code && err[0] != '\0' &&
			    (strcmp(refuse[i].cmds, "RCPT") != 0 ||
			    (res.rcpt[0].code == refuse[i].code && res.rcpt[1].code == refuse[i].code &&
			    !res.rcpt[0].accepted)),
			    "%s (%s)", refuse[i].what, err);
			smtp_result_free(&res);
			sink_stop(&s);
		}
	}

	/* nobody listening */
	cfg.port = free_port();
	rc = smtp_send(&cfg, "dmarc-noreply@receiver.example", (char *const *)r2, 1, sink_msg,
	    sizeof(sink_msg) - 1, &res, err, sizeof(err));
	tap_ok(rc == -1 && !res.sent && res.temporary && strstr(err, "Connection refused") != NULL &&
	    strstr(err, "127.0.0.1:") != NULL,
	    "connection refused: not sent, temporary, the error names relay and reason (%s)", err);
	smtp_result_free(&res);
}

/* ------------------------------------------------- a scripted fake relay */

static EVP_PKEY *srv_key;
static X509 *srv_cert;
static char *cert_path;

/* make_cert - a self-signed certificate for localhost / 127.0.0.1 */
static void
make_cert(void)
{
	X509_NAME *nm;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *fp;

	srv_key = EVP_EC_gen("P-256");
	srv_cert = X509_new();
	if (srv_key == NULL || srv_cert == NULL) {
		tap_diag("cannot make a test key");
		exit(2);
	}
	X509_set_version(srv_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(srv_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(srv_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(srv_cert), 86400);
	X509_set_pubkey(srv_cert, srv_key);
	nm = X509_get_subject_name(srv_cert);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(srv_cert, nm);
	X509V3_set_ctx(&v3, srv_cert, srv_cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
	X509_add_ext(srv_cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(srv_cert, srv_key, EVP_sha256()) == 0) {
		tap_diag("cannot sign the test certificate");
		exit(2);
	}
	cert_path = xasprintf("%s/relay.pem", tmpdir);
	fp = fopen(cert_path, "w");
	PEM_write_X509(fp, srv_cert);
	fclose(fp);
}

/* One step of a fake relay's script. */
struct step {
	char		 op;	/* S send, R read a line, D read DATA, T start TLS, W wait seconds */
	const char	*arg;
};

struct fake {
	pid_t		 pid;
	unsigned	 port;
	char		*log;	/* the client's lines, one per line */
};

/* fake_io - the fake relay's I/O, over TLS once started */
struct fake_io {
	int	 fd;
	SSL	*ssl;
	FILE	*log;
};

/* fake_getline - one line from the client into line (CRLF stripped); -1 at EOF */
static int
fake_getline(struct fake_io *io, char *line, size_t size)
{
	size_t n = 0;

	for (;;) {
		char c;
		int r = io->ssl != NULL ? SSL_read(io->ssl, &c, 1) : (int)read(io->fd, &c, 1);

		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			line[n++] = c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 0;
}

/* fake_put - send text + CRLF */
static void
fake_put(struct fake_io *io, const char *s)
{
	char *t = xasprintf("%s\r\n", s);

	if (io->ssl != NULL)
		SSL_write(io->ssl, t, (int)strlen(t));
	else if (write(io->fd, t, strlen(t)) < 0)
		_exit(3);
	free(t);
}

/* fake_start - a child that accepts one session and plays the script */
static void
fake_start(struct fake *f, const struct step *script)
{
	int lfd = listen_on(&f->port);

	f->log = xasprintf("%s/fake.%u.log", tmpdir, f->port);
	if ((f->pid = fork()) == 0) {
		struct fake_io io = { -1, NULL, NULL };
		char line[8192];
		SSL_CTX *ctx = NULL;
		size_t i;

		io.log = fopen(f->log, "w");
		io.fd = accept(lfd, NULL, NULL);
		for (i = 0; script[i].op != '\0'; i++) {
			switch (script[i].op) {
			case 'S':
				fake_put(&io, script[i].arg);
				break;
			case 'R':
				if (fake_getline(&io, line, sizeof(line)) != 0)
					goto done;
				fprintf(io.log, "%s\n", line);
				break;
			case 'D':
				for (;;) {
					if (fake_getline(&io, line, sizeof(line)) != 0)
						goto done;
					fprintf(io.log, "DATA|%s\n", line);
					if (strcmp(line, ".") == 0)
						break;
				}
				break;
			case 'T':
				ctx = SSL_CTX_new(TLS_server_method());
				SSL_CTX_use_certificate(ctx, srv_cert);
				SSL_CTX_use_PrivateKey(ctx, srv_key);
				io.ssl = SSL_new(ctx);
				SSL_set_fd(io.ssl, io.fd);
				if (SSL_accept(io.ssl) != 1) {
					fprintf(io.log, "TLS-FAILED\n");
					goto done;
				}
				fprintf(io.log, "TLS-OK\n");
				break;
			case 'W':
				sleep((unsigned)atoi(script[i].arg));
				break;
			}
			fflush(io.log);
		}
done:
		fclose(io.log);
		_exit(0);
	}
	close(lfd);
}

/* fake_finish - wait for the fake relay; its log */
static char *
fake_finish(struct fake *f)
{
	char *log;
	int i;

	for (i = 0; i < 100; i++) {
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid)
			break;
		usleep(50000);
	}
	if (i == 100) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	log = slurp(f->log, NULL);
	free(f->log);
	return log;
}

static void
test_fake_relay(void)
{
	static const char *const r2[] = { "good@example.com", "gone@example.com" };
	static const char msg[] = "Subject: x\r\n\r\nhello\r\n";
	struct smtp_config cfg;
	struct smtp_result res;
	struct fake f;
	char err[512], *log;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.helo = "reporter.example";
	cfg.timeout = 5;

	/* one recipient refused, the other accepted */
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n250-PIPELINING\r\n250 SIZE 100000" },
			{ 'R', NULL }, { 'S', "250 2.1.0 ok" },
			{ 'R', NULL }, { 'S', "250 2.1.5 ok" },
			{ 'R', NULL }, { 'S', "550 5.1.1 no such user" },
			{ 'R', NULL }, { 'S', "354 go" },
			{ 'D', NULL }, { 'S', "250 2.0.0 queued as ABC" },
			{ 'R', NULL }, { 'S', "221 bye" }, { 0, NULL } };

		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 2, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == 0 && res.sent && res.n_accepted == 1 && res.rcpt[0].accepted &&
		    !res.rcpt[1].accepted && res.rcpt[1].code == 550 && res.rcpt[1].reply != NULL &&
		    strstr(res.rcpt[1].reply, "no such user") != NULL,
		    "RFC 5321 §3.3: a refused recipient is reported per recipient, the rest get it");
		tap_ok(log != NULL && strstr(log, "MAIL FROM:<r@example.com> SIZE=21\n") != NULL &&
		    strstr(log, "DATA|hello\nDATA|.\n") != NULL && strstr(log, "QUIT\n") != NULL,
		    "RFC 1870: SIZE= on MAIL FROM when announced; message ends CRLF.CRLF; QUIT");
		free(log);
		smtp_result_free(&res);
	}

	/* the relay stops answering */
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL }, { 'W', "3" }, { 0, NULL } };
		time_t t0 = time(NULL);

		cfg.timeout = 1;
		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == -1 && !res.sent && res.temporary && strstr(err, "timed out") != NULL &&
		    time(NULL) - t0 <= 3,
		    "a relay that stops answering times out (1 s): not sent, temporary (%s)", err);
		free(log);
		smtp_result_free(&res);
		cfg.timeout = 5;
	}

	/* STARTTLS with an untrusted certificate: refused unless allowed */
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN" },
			{ 'R', NULL }, { 'S', "220 2.0.0 go ahead" }, { 'T', NULL }, { 0, NULL } };

		cfg.tls = SMTP_TLS_REQUIRE;
		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == -1 && !res.sent && res.temporary && strstr(err, "certificate") != NULL,
		    "RFC 3207 §4.1: a certificate not in the CA store stops the session (%s)", err);
		free(log);
		smtp_result_free(&res);
	}
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n250-STARTTLS\r\n250 AUTH LOGIN" },
			{ 'R', NULL }, { 'S', "220 2.0.0 go ahead" }, { 'T', NULL },
			{ 'R', NULL }, { 'S', "250-fake\r\n250 AUTH PLAIN LOGIN" },
			{ 'R', NULL }, { 'S', "235 2.7.0 ok" },
			{ 'R', NULL }, { 'S', "250 ok" }, { 'R', NULL }, { 'S', "250 ok" },
			{ 'R', NULL }, { 'S', "354 go" }, { 'D', NULL }, { 'S', "250 queued" },
			{ 'R', NULL }, { 'S', "221 bye" }, { 0, NULL } };

		cfg.tls_allow_untrusted = true;
		cfg.auth_user = "reporter";
		cfg.auth_password = "s3cret";
		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		if (!tap_ok(rc == 0 && res.sent && res.tls && log != NULL && strstr(log, "TLS-OK\n") != NULL,
		    "RFC 3207: STARTTLS to a relay with an allowed untrusted certificate, then sent"))
			tap_diag("%s", err);
		/* base64("\0reporter\0s3cret") */
		tap_ok(log != NULL && strstr(log, "TLS-OK\nEHLO reporter.example\nAUTH PLAIN AHJlcG9ydGVyAHMzY3JldA==\n") != NULL,
		    "RFC 3207 §4.2 EHLO again after TLS; RFC 4616 AUTH PLAIN with the new capabilities");
		free(log);
		smtp_result_free(&res);
		cfg.tls_allow_untrusted = false;
		cfg.auth_user = cfg.auth_password = NULL;
	}
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n250 STARTTLS" },
			{ 'R', NULL }, { 'S', "220 2.0.0 go ahead" }, { 'T', NULL },
			{ 'R', NULL }, { 'S', "250-fake\r\n250 AUTH LOGIN" },
			{ 'R', NULL }, { 'S', "334 VXNlcm5hbWU6" }, { 'R', NULL }, { 'S', "334 UGFzc3dvcmQ6" },
			{ 'R', NULL }, { 'S', "235 2.7.0 ok" },
			{ 'R', NULL }, { 'S', "250 ok" }, { 'R', NULL }, { 'S', "250 ok" },
			{ 'R', NULL }, { 'S', "354 go" }, { 'D', NULL }, { 'S', "250 queued" },
			{ 'R', NULL }, { 'S', "221 bye" }, { 0, NULL } };

		cfg.tls_ca_file = cert_path;
		cfg.host = "localhost";
		cfg.auth_user = "reporter";
		cfg.auth_password = "s3cret";
		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		if (!tap_ok(rc == 0 && res.sent && res.tls,
		    "RFC 3207: certificate verified against a configured CA file and the name localhost"))
			tap_diag("%s", err);
		tap_ok(log != NULL && strstr(log, "AUTH LOGIN\ncmVwb3J0ZXI=\nczNjcmV0\n") != NULL,
		    "RFC 4954: AUTH LOGIN when PLAIN is not offered");
		free(log);
		smtp_result_free(&res);
		cfg.host = "127.0.0.1";
		cfg.tls_name = "wrong.example";
		{
			static const struct step s2[] = {
				{ 'S', "220 fake ESMTP" }, { 'R', NULL },
				{ 'S', "250-fake\r\n250 STARTTLS" },
				{ 'R', NULL }, { 'S', "220 2.0.0 go ahead" }, { 'T', NULL }, { 0, NULL } };

			fake_start(&f, s2);
			cfg.port = f.port;
			rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
			    &res, err, sizeof(err));
			log = fake_finish(&f);
			tap_ok(rc == -1 && !res.sent && strstr(err, "wrong.example") != NULL,
			    "RFC 6125: a trusted certificate for another name is refused (%s)", err);
			free(log);
			smtp_result_free(&res);
		}
		cfg.tls_name = NULL;
		cfg.tls_ca_file = NULL;
		cfg.auth_user = cfg.auth_password = NULL;
	}

	/* plaintext injected after the STARTTLS reply */
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n250 STARTTLS" },
			{ 'R', NULL }, { 'S', "220 2.0.0 go ahead\r\n250 injected" }, { 'W', "1" }, { 0, NULL } };

		cfg.tls = SMTP_TLS_REQUIRE;
		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == -1 && !res.sent && strstr(err, "after its STARTTLS reply") != NULL,
		    "RFC 3207 §4.2 / CVE-2011-0411: data after the 220 to STARTTLS is refused (%s)", err);
		free(log);
		smtp_result_free(&res);
		cfg.tls = SMTP_TLS_NONE;
	}

	/* malformed replies */
	{
		static const struct step s[] = {
			{ 'S', "220 fake ESMTP" }, { 'R', NULL },
			{ 'S', "250-fake\r\n451 changed my mind" }, { 'W', "1" }, { 0, NULL } };

		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == -1 && !res.sent && res.temporary && strstr(err, "changes its code") != NULL,
		    "RFC 5321 §4.2.1: a multi-line reply must keep its code (%s)", err);
		free(log);
		smtp_result_free(&res);
	}
	{
		static const struct step s[] = { { 'S', "554 5.7.1 go away" }, { 'R', NULL },
			{ 'S', "221 bye" }, { 0, NULL } };

		fake_start(&f, s);
		cfg.port = f.port;
		rc = smtp_send(&cfg, "r@example.com", (char *const *)r2, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		log = fake_finish(&f);
		tap_ok(rc == -1 && !res.sent && res.code == 554 && log != NULL && strcmp(log, "QUIT\n") == 0,
		    "RFC 5321 §3.1: a 554 greeting: not sent, only QUIT follows");
		free(log);
		smtp_result_free(&res);
	}

	/* bad recipient addresses never reach the wire */
	{
		static const char *const bad[] = { "x@example.com>\r\nRCPT TO:<victim@example.org" };

		rc = smtp_send(&cfg, "r@example.com", (char *const *)bad, 1, msg, sizeof(msg) - 1,
		    &res, err, sizeof(err));
		tap_ok(rc == -1 && !res.sent && strstr(err, "recipient address unusable") != NULL,
		    "a recipient with CR/LF is refused before any connection");
		smtp_result_free(&res);
	}
}

int
main(void)
{
	struct orgdomain *org;
	char err[256];

	log_set_stderr(true);
	signal(SIGPIPE, SIG_DFL);	/* smtp_send must cope on its own */
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0755) != 0) {
		perror("mkdtemp");
		return 2;
	}
	if ((org = orgdomain_load(NULL, err, sizeof(err))) == NULL) {
		printf("Bail out! cannot load the PSL: %s\n", err);
		return 2;
	}
	make_fake_sendmail();
	make_cert();

	test_rua_parse();
	test_mailto();
	test_external(org);
	test_message();
	test_sendmail();
	test_size_limit();
	test_sink();
	test_fake_relay();

	orgdomain_free(org);
	EVP_PKEY_free(srv_key);
	X509_free(srv_cert);
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			tap_diag("could not remove %s", tmpdir);
		free(cmd);
	}
	free(fake_sendmail);
	free(fake_out);
	free(cert_path);
	return tap_done();
}
