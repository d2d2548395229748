/*
 * dnsq.c - ask one question through the ldns backend of dns.c and print
 * the answer in a stable text form, for the shell integration tests.
 *
 *	dnsq -s ADDR[:PORT] [-s ...] [-t TIMEOUT] [-r RETRIES] NAME TYPE
 *
 * ADDR is numeric IPv4 or IPv6 ("[2001:db8::1]:5353" with a port); without
 * -s the system resolv.conf is used.  TYPE is A, AAAA, MX, TXT, PTR or NS.
 * Output: "status=<OK|NXDOMAIN|TEMPFAIL|PERMFAIL> rcode=<n> n=<count>",
 * then one line per record: A/AAAA numeric, MX "pref host", PTR/NS the
 * name, TXT the joined strings in double quotes with \ and " escaped (and
 * bytes outside printable ASCII as \DDD).  Notes go to stderr.  Exit 0 when
 * an answer of any status was printed, 2 on a usage or set-up error.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "util.h"

static const struct {
	const char	*name;
	uint16_t	 type;
} types[] = {
	{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
	{ "TXT", DNS_T_TXT }, { "PTR", DNS_T_PTR }, { "NS", DNS_T_NS },
};

static const char *status_name[] = { "OK", "NXDOMAIN", "TEMPFAIL", "PERMFAIL" };

/* usage - say how to call us and exit 2 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dnsq -s ADDR[:PORT] [-s ...] [-t TIMEOUT] [-r RETRIES] NAME TYPE\n"
	    "       TYPE: A AAAA MX TXT PTR NS\n");
	exit(2);
}

/* parse_server - "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353" */
static int
parse_server(const char *arg, struct nameserver *ns)
{
	char tmp[128], *addr = tmp, *port = NULL, *end, *colon;
	unsigned char bin[16];
	unsigned long p;

	if (strlen(arg) >= sizeof(tmp))
		return -1;
	strcpy(tmp, arg);
	if (tmp[0] == '[') {
		char *close = strchr(tmp, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		*close = '\0';
		addr = tmp + 1;
		if (close[1] == ':')
			port = close + 2;
	} else if ((colon = strchr(tmp, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0';
		port = colon + 1;
	}
	if ((inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) ||
	    strlen(addr) >= sizeof(ns->addr))
		return -1;
	strcpy(ns->addr, addr);
	ns->port = 53;
	if (port != NULL) {
		p = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || p == 0 || p > 65535)
			return -1;
		ns->port = (unsigned)p;
	}
	return 0;
}

/* parse_uint - a small decimal number */
static int
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* print_txt - one TXT record, quoted and escaped */
static void
print_txt(const char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\%03u", c);
		else
			putchar(c);
	}
	printf("\"\n");
}

int
main(int argc, char **argv)
{
	struct nameserver ns[CONFIG_MAX_NAMESERVERS];
	struct dns_options o = { .timeout = 5, .retries = 0 };
	struct dns *d;
	struct dns_answer *a;
	char err[256], ip[INET6_ADDRSTRLEN];
	uint16_t qtype = 0;
	size_t i, n_ns = 0;
	int c;

	while ((c = getopt(argc, argv, "s:t:r:")) != -1) {
		switch (c) {
		case 's':
			if (n_ns == CONFIG_MAX_NAMESERVERS) {
				fprintf(stderr, "dnsq: at most %d servers\n", CONFIG_MAX_NAMESERVERS);
				return 2;
			}
			if (parse_server(optarg, &ns[n_ns]) != 0) {
				fprintf(stderr, "dnsq: bad server \"%s\"\n", optarg);
				return 2;
			}
			n_ns++;
			break;
		case 't':
			if (parse_uint(optarg, 300, &o.timeout) != 0 || o.timeout == 0) {
				fprintf(stderr, "dnsq: bad timeout \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_uint(optarg, 10, &o.retries) != 0) {
				fprintf(stderr, "dnsq: bad retries \"%s\"\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ascii_strcaseeq(argv[optind + 1], types[i].name))
			qtype = types[i].type;
	if (qtype == 0)
		usage();

	o.nameservers = n_ns > 0 ? ns : NULL;
	o.n_nameservers = n_ns;
	if ((d = dns_new_ldns(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dnsq: %s\n", err);
		return 2;
	}
	a = dns_query(d, argv[optind], qtype);
	printf("status=%s rcode=%d n=%zu\n", status_name[a->status], a->rcode, a->n);
	for (i = 0; i < a->n; i++) {
		switch (qtype) {
		case DNS_T_A:
		case DNS_T_AAAA:
			inet_ntop(a->addrs[i].family, a->addrs[i].addr, ip, sizeof(ip));
			printf("%s\n", ip);
			break;
		case DNS_T_MX:
			printf("%u %s\n", a->mx[i].pref, a->mx[i].host);
			break;
		case DNS_T_TXT:
			print_txt(a->txt[i], a->txt_len[i]);
			break;
		default:
			printf("%s\n", a->names[i]);
			break;
		}
	}
	if (a->error != NULL)
		fprintf(stderr, "dnsq: %s\n", a->error);
	if (a->truncated)
		fprintf(stderr, "dnsq: some records were dropped (caps)\n");
	fflush(stdout);
	dns_answer_free(a);
	dns_free(d);
	return 0;
}
