/*
 * histgen.c - write N synthetic but realistic history records (the
 * milter's JSON Lines, docs/history-format.md) for benchmarking
 * dmarc-reports.  Not a test; not built by make: contrib/bench/
 * reports-bench.sh compiles it against milter/libdmarc.a.
 *
 * The lines are written by history_format(), the milter's own writer, so
 * they are exactly what a production history file holds.  The traffic:
 *
 *   - 500 policy domains (brandNNN.example), Zipf-distributed (a few big
 *     senders, a long tail); 30 % of the mail from a subdomain (sp= or p=
 *     applies); p=none/quarantine/reject mixed, a few t=y; 90 % publish a
 *     rua (some two URIs, one external with a size limit), 10 % none;
 *   - 5000 source IPs (4500 IPv4 in 198.18.0.0/15, 500 IPv6 in
 *     2001:db8::/32, both reserved for documentation and benchmarks);
 *     each domain has its own 1-6 legitimate senders, the rest of the
 *     traffic comes from anywhere in the pool;
 *   - 85 % legitimate mail (DKIM and SPF pass, a few ESP-sent with an
 *     unaligned SPF pass and an extra ESP signature, a few broken
 *     signatures), 7 % forwarded (DKIM survives or not), 8 % spoofed
 *     (no or a foreign signature, SPF fail/softfail/none), so DMARC
 *     passes and fails mix and dispositions follow the policies;
 *   - 1 to 3 DKIM signatures on signed mail;
 *   - times in increasing order, spread evenly over DAYS UTC days from
 *     START (default 2026-11-01T00:00:00Z, 7 days).
 *
 * usage: histgen [-d days] [-s seed] [-t start] N > history.jsonl
 * Deterministic for a given seed.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "dmarc_record.h"
#include "history.h"
#include "result.h"

#define N_DOMAINS	500
#define N_IPS		5000
#define N_IPV4		4500
#define N_ESPS		20
#define MAX_LEGIT	6
#define DEFAULT_START	1793491200LL	/* 2026-11-01T00:00:00Z */

struct dom {
	char		 name[64];
	char		 bounce[80];	/* MAIL FROM domain of its own mail */
	char		 selector[16];
	int		 esp;		/* -1: sends itself */
	unsigned	 legit[MAX_LEGIT];
	unsigned	 n_legit;
	struct dmarc_uri rua[2];
	char		 rua_own[96];
	struct dmarc_record rec;
	char		 raw[256];
};

static struct dom doms[N_DOMAINS];
static double cum[N_DOMAINS];		/* Zipf: cumulative weights, normalised */
static char ips[N_IPS][48];
static uint64_t rng_state;

/* rnd - splitmix64 */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* rnd_below - uniform in [0, n) (the bias is irrelevant here) */
static unsigned
rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* chance - true with probability pct/1000 */
static int
chance(unsigned per_mille)
{
	return rnd_below(1000) < per_mille;
}

/* pick_domain - a domain index, Zipf-distributed */
static unsigned
pick_domain(void)
{
	double u = (double)(rnd() >> 11) / (double)(1ULL << 53);
	unsigned lo = 0, hi = N_DOMAINS - 1;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (cum[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* policy_word - for the raw record text */
static const char *
policy_word(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? "reject" : p == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
}

/* setup - the domains and the IP pool */
static void
setup(void)
{
	double sum = 0;
	unsigned i, k;

	for (i = 0; i < N_IPS; i++) {
		if (i < N_IPV4)
			snprintf(ips[i], sizeof(ips[i]), "198.%u.%u.%u", 18 + (i * 97 % 65536) / 32768,
			    (i * 97 / 256) % 128, 1 + i % 250);
		else
			snprintf(ips[i], sizeof(ips[i]), "2001:db8:%x::%x", (i - N_IPV4) / 50, 1 + i % 50);
	}
	for (i = 0; i < N_DOMAINS; i++) {
		struct dom *d = &doms[i];
		struct dmarc_record *r = &d->rec;
		size_t len;

		sum += 1.0 / (i + 1);
		cum[i] = sum;
		snprintf(d->name, sizeof(d->name), "brand%03u.example", i);
		snprintf(d->selector, sizeof(d->selector), "s%u", 2024 + i % 3);
		d->esp = i % 10 < 3 ? (int)(i % N_ESPS) : -1;
		if (d->esp >= 0)
			snprintf(d->bounce, sizeof(d->bounce), "bounces.esp%02d.example", d->esp);
		else
			snprintf(d->bounce, sizeof(d->bounce), "bounce.brand%03u.example", i);
		d->n_legit = 1 + i % MAX_LEGIT;
		for (k = 0; k < d->n_legit; k++)
			d->legit[k] = (i * 37 + k * 1009) % N_IPS;

		memset(r, 0, sizeof(*r));
		r->p = i % 10 < 4 ? DMARC_POLICY_NONE : i % 10 < 7 ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_REJECT;
		r->sp = i % 7 == 0 ? DMARC_POLICY_NONE : DMARC_POLICY_UNSET;
		r->adkim = i % 11 == 0 ? DMARC_ALIGN_STRICT : DMARC_ALIGN_RELAXED;
		r->aspf = DMARC_ALIGN_RELAXED;
		r->pct = 100;
		r->ri = 86400;
		r->testing = i % 20 == 19;
		r->fo = i % 9 == 0 ? "1" : NULL;
		len = (size_t)snprintf(d->raw, sizeof(d->raw), "v=DMARC1; p=%s", policy_word(r->p));
		if (r->sp != DMARC_POLICY_UNSET)
			len += (size_t)snprintf(d->raw + len, sizeof(d->raw) - len, "; sp=%s", policy_word(r->sp));
		if (r->adkim == DMARC_ALIGN_STRICT)
			len += (size_t)snprintf(d->raw + len, sizeof(d->raw) - len, "; adkim=s");
		if (r->testing)
			len += (size_t)snprintf(d->raw + len, sizeof(d->raw) - len, "; t=y");
		if (r->fo != NULL)
			len += (size_t)snprintf(d->raw + len, sizeof(d->raw) - len, "; fo=1");
		if (i % 10 != 9) {
			snprintf(d->rua_own, sizeof(d->rua_own), "mailto:dmarc@brand%03u.example", i);
			d->rua[0].uri = d->rua_own;
			r->n_rua = 1;
			if (i % 5 == 0) {
				d->rua[1].uri = "mailto:reports@dmarc-vendor.example";
				d->rua[1].size_limit = 10ULL * 1024 * 1024;
				r->n_rua = 2;
			}
			r->rua = d->rua;
			snprintf(d->raw + len, sizeof(d->raw) - len, "; rua=%s%s", d->rua_own,
			    r->n_rua == 2 ? ",mailto:reports@dmarc-vendor.example!10m" : "");
		}
		r->raw = d->raw;
	}
	for (i = 0; i < N_DOMAINS; i++)
		cum[i] /= sum;
}

/* sig - fill one DKIM outcome */
static void
sig(struct dkim_outcome *o, char *domain, char *selector, enum auth_res res)
{
	memset(o, 0, sizeof(*o));
	o->domain = domain;
	o->selector = selector;
	o->algorithm = chance(100) ? "ed25519-sha256" : "rsa-sha256";
	o->key_bits = o->algorithm[0] == 'e' ? 0 : 2048;
	o->result = res;
	o->reason = res == AUTH_PASS ? NULL : res == AUTH_FAIL ? "body hash did not verify" :
	    "key not found";
}

static const char *const rcpts[] = { "receiver.example", "customers.receiver.example", "lists.receiver.example" };
static const char *const subs[] = { "news", "mail", "info", "billing" };

int
main(int argc, char **argv)
{
	static char esp_dom[N_ESPS][32], fwd_dom[50][32], other_dom[64];
	long long start = DEFAULT_START, days = 7, n, i;
	struct history_msg m;
	struct verdict v;
	struct dmarc_outcome dm;
	struct dkim_outcome dk[3];
	struct buf line;
	const char *rcpt[2];
	char hfrom[96], mailfrom[160], id[64], qid[16], helo[96], human[96], *end;
	int ch;
	unsigned k;

	rng_state = 42;
	while ((ch = getopt(argc, argv, "d:s:t:")) != -1) {
		switch (ch) {
		case 'd':
			days = strtoll(optarg, &end, 10);
			if (*end != '\0' || days < 1 || days > 366)
				goto usage;
			break;
		case 's':
			rng_state = strtoull(optarg, &end, 10);
			if (*end != '\0')
				goto usage;
			break;
		case 't':
			start = strtoll(optarg, &end, 10);
			if (*end != '\0' || start < 0)
				goto usage;
			start -= start % 86400;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	n = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || n < 1)
		goto usage;

	setup();
	for (k = 0; k < N_ESPS; k++)
		snprintf(esp_dom[k], sizeof(esp_dom[k]), "esp%02u.example", k);
	for (k = 0; k < 50; k++)
		snprintf(fwd_dom[k], sizeof(fwd_dom[k]), "fwd%02u.example", k);
	buf_init(&line, HISTORY_MAX_LINE);

	for (i = 0; i < n; i++) {
		unsigned di = pick_domain(), ip, kind = rnd_below(1000), nd = 0;
		struct dom *d = &doms[di];
		bool sub = chance(300), dkim_al = false, spf_al = false;
		enum dmarc_policy pol;
		const char *action;

		memset(&v, 0, sizeof(v));
		memset(&m, 0, sizeof(m));
		memset(&dm, 0, sizeof(dm));
		v.when = (time_t)(start + i * days * 86400 / n);
		if (sub)
			snprintf(hfrom, sizeof(hfrom), "%s.%s", subs[rnd_below(4)], d->name);
		else
			snprintf(hfrom, sizeof(hfrom), "%s", d->name);

		if (kind < 850) {
			/* legitimate: one of the domain's own senders */
			ip = d->legit[rnd_below(d->n_legit)];
			snprintf(mailfrom, sizeof(mailfrom), "bounce-%06u@%s", rnd_below(1000000), d->bounce);
			sig(&dk[nd++], d->name, d->selector, chance(20) ? AUTH_FAIL : AUTH_PASS);
			if (d->esp >= 0)
				sig(&dk[nd++], esp_dom[d->esp], "esp", AUTH_PASS);
			if (chance(100))
				sig(&dk[nd++], "relay.receiver-partner.example", "arc", AUTH_PASS);
			v.spf.result = AUTH_PASS;
			spf_al = d->esp < 0;
		} else if (kind < 920) {
			/* forwarded: a mailing list or an alias somewhere in the pool */
			unsigned f = rnd_below(50);

			ip = rnd_below(N_IPS);
			snprintf(mailfrom, sizeof(mailfrom), "srs0=%04x=%s@%s", rnd_below(65536), d->name, fwd_dom[f]);
			sig(&dk[nd++], d->name, d->selector, chance(500) ? AUTH_FAIL : AUTH_PASS);
			if (chance(400))
				sig(&dk[nd++], fwd_dom[f], "list", AUTH_PASS);
			v.spf.result = chance(900) ? AUTH_PASS : AUTH_NONE;
		} else {
			/* spoofed */
			ip = rnd_below(N_IPS);
			snprintf(mailfrom, sizeof(mailfrom), "info@%s", d->name);
			if (chance(300)) {
				snprintf(other_dom, sizeof(other_dom), "spam%03u.example", rnd_below(1000));
				sig(&dk[nd++], other_dom, "default", chance(700) ? AUTH_PASS : AUTH_PERMERROR);
			}
			v.spf.result = chance(600) ? AUTH_FAIL : chance(500) ? AUTH_SOFTFAIL : AUTH_NONE;
		}
		for (k = 0; k < nd; k++)
			if (dk[k].result == AUTH_PASS && (strcmp(dk[k].domain, hfrom) == 0 ||
			    (d->rec.adkim == DMARC_ALIGN_RELAXED && strcmp(dk[k].domain, d->name) == 0)))
				dkim_al = true;
		if (v.spf.result != AUTH_PASS)
			spf_al = false;

		v.spf.domain = strchr(mailfrom, '@') + 1;
		v.spf.identity = mailfrom;
		snprintf(human, sizeof(human), "%s is %sauthorized", ips[ip], v.spf.result == AUTH_PASS ? "" : "not ");
		v.spf.reason = v.spf.result == AUTH_NONE ? NULL : human;
		v.dkim = dk;
		v.n_dkim = nd;

		dm.from_domain = hfrom;
		dm.policy_domain = d->name;
		dm.org_domain = d->name;
		dm.have_record = true;
		dm.record = d->rec;
		dm.discovery = DISCOVERY_PSL;
		pol = sub && d->rec.sp != DMARC_POLICY_UNSET ? d->rec.sp : d->rec.p;
		dm.policy = pol;
		dm.spf_aligned = spf_al;
		dm.dkim_aligned = dkim_al;
		dm.result = dkim_al || spf_al ? AUTH_PASS : AUTH_FAIL;
		dm.disposition = DISP_NONE;
		dm.reason = OVR_NONE;
		if (dm.result == AUTH_FAIL && pol != DMARC_POLICY_NONE) {
			dm.disposition = pol == DMARC_POLICY_REJECT ? DISP_REJECT : DISP_QUARANTINE;
			if (d->rec.testing) {
				/* RFC 9989 t=y: one step weaker */
				dm.disposition = dm.disposition == DISP_REJECT ? DISP_QUARANTINE : DISP_NONE;
				dm.reason = OVR_POLICY_TEST_MODE;
			} else if (kind >= 850 && kind < 920 && chance(300)) {
				dm.disposition = DISP_NONE;
				dm.reason = OVR_MAILING_LIST;
				dm.comment = "known mailing list";
			}
		}
		v.dmarc = &dm;
		v.n_dmarc = 1;
		v.deciding = 0;
		v.disposition = dm.disposition;
		v.n_from_headers = 1;
		action = dm.disposition == DISP_REJECT ? "reject" : dm.disposition == DISP_QUARANTINE ?
		    "quarantine" : "accept";

		snprintf(id, sizeof(id), "%llx.%x.%llx", (long long)v.when, 0x1f2c, i);
		for (k = 0; k < 10; k++)
			qid[k] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"[rnd_below(52)];
		qid[10] = '\0';
		snprintf(helo, sizeof(helo), "out%u.mta.example", ip);
		rcpt[0] = rcpts[rnd_below(3)];
		rcpt[1] = rcpts[rnd_below(3)];
		m.id = id;
		m.queue_id = qid;
		m.reporter = i % 2 ? "mx2.receiver.example" : "mx1.receiver.example";
		m.client_ip = ips[ip];
		m.helo = helo;
		m.mail_from = mailfrom;
		m.rcpt_domains = rcpt;
		m.n_rcpt_domains = chance(80) ? 2 : 1;

		buf_reset(&line);
		if (history_format(&m, &v, action, &line) != 0) {
			fprintf(stderr, "histgen: history_format failed at record %lld\n", i);
			return 1;
		}
		if (fwrite(line.data, 1, line.len, stdout) != line.len) {
			fprintf(stderr, "histgen: write: %s\n", strerror(errno));
			return 1;
		}
	}
	buf_free(&line);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "histgen: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: histgen [-d days] [-s seed] [-t start] N > history.jsonl\n");
	return 64;
}
