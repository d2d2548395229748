/*
 * mkcorpus.c - write a corpus of realistic, DKIM-signed test messages and
 * their SMTP envelopes for contrib/bench/mltload.  Not installed.
 *
 * usage: mkcorpus -o DIR -n COUNT [-S SEED] [-k KEYDIR]
 *
 * DIR gets NNNNNN.eml (CRLF line ends) and envelope.tsv, one line per
 * message: FILE TAB CLIENT_IP TAB HELO TAB MAIL_FROM TAB RCPT.  KEYDIR
 * holds the test keys (default $top_srcdir/t/keys, else t/keys).  The
 * output depends on COUNT and SEED only (the signature times are fixed).
 *
 * The mix, against the zones in t/zones served by the test nsd:
 *
 *   ~70 % DMARC pass: From example.com or a subdomain of it (relaxed
 *         alignment to the organisational domain), signed d=example.com,
 *         rsa-sha256 with the 2048-bit key (selector rsa2048) or, one in
 *         seven, ed25519-sha256 (selector ed25519); sent from 192.0.2.0/24
 *         with a MAIL FROM in example.com or bounce.example.com, which
 *         SPF authorises.
 *   ~15 % DMARC fail: From a domain with p=reject (example.com,
 *         relaxed.test, strict.test) or p=quarantine (quarantine.test,
 *         pct100.test with pct=100), signed by the unrelated example.net,
 *         or signed d=example.com and the body changed after signing; sent
 *         from 198.51.100.0/24 or 203.0.113.0/24 with a MAIL FROM in
 *         fail.spf.test, whose SPF record fails every client.
 *   ~15 % no policy: From norecord.test (SPF passes, no DMARC record) or
 *         example.net (signed, no DMARC record).
 *
 * The outcome never depends on the client address: mltload sends several
 * messages of an SMTP session (-m) with the first one's client address.
 *
 * Each message has 15-25 header fields (a Received chain, the author
 * fields, MIME fields, sometimes List-* and others) and a 3-30 KB body
 * (about 19 KB on average) of plain text, or text and HTML in a
 * multipart/alternative.
 *
 * One line on stdout sums it up, with what a milter that enforces the
 * policies (dmarc-milter with RejectFailures and HoldQuarantinedMessages)
 * must answer:
 *   msgs=N pass=P fail=F none=E bytes=B accept=A reject=R quarantine=Q
 *
 * It includes t/dkimsign.c (the test suite's signer on libopendkim) with
 * DKIMSIGN_NO_MAIN, as t/test_dkimverify.c does.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DKIMSIGN_NO_MAIN
#include "dkimsign.c"

#include "buf.h"
#include "util.h"

#define EX_USAGE_CODE	64
#define BASE_TIME	1793491200L	/* 2026-11-01T00:00:00Z: Date and t= */
#define LINE_WIDTH	72

enum kind { K_PASS, K_FAIL, K_NONE };

/* ---- deterministic randomness (splitmix64) ---- */

static uint64_t rng_state;

/* rng - the next 64 random bits */
static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* rnd - uniform in [0, n) */
static unsigned
rnd(unsigned n)
{
	return (unsigned)(rng() % n);
}

/* unit - uniform in [0, 1) */
static double
unit(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

#define PICK(a)	((a)[rnd(sizeof(a) / sizeof((a)[0]))])

/* ---- text ---- */

static const char *const words[] = {
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
	"be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
	"but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
	"can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
	"so", "no", "report", "meeting", "project", "schedule", "budget", "customer",
	"order", "invoice", "delivery", "update", "review", "team", "quarter", "results",
	"please", "attached", "document", "version", "release", "server", "account",
	"payment", "shipping", "address", "contract", "proposal", "agenda", "minutes",
	"deadline", "question", "answer", "support", "ticket", "issue", "change",
	"request", "approval", "manager", "office", "travel", "conference", "training",
	"newsletter", "product", "service", "price", "offer", "discount", "subscription",
	"renewal", "security", "password", "network", "database", "backup", "migration",
	"weekly", "monthly", "annual", "summary", "details", "information", "feedback",
	"survey", "event", "invitation", "reminder", "confirmation", "receipt", "status",
	"next", "week", "today", "tomorrow", "morning", "afternoon", "thanks", "regards",
	"also", "should", "could", "about", "into", "than", "them", "some", "only", "other",
	"new", "time", "these", "two", "may", "first", "then", "do", "any", "like", "my",
	"now", "over", "such", "our", "out", "what", "up", "its", "make", "many", "before",
	"must", "through", "back", "years", "where", "much", "your", "way", "well", "down",
	"after", "most", "also", "made", "did", "many", "those", "same", "work", "number",
	"need", "find", "between", "under", "while", "last", "might", "great", "since",
	"against", "right", "three", "still", "own", "part", "small", "large", "each",
	"system", "process", "plan", "data", "figures", "table", "draft", "final", "copy",
};

static const char *const first_names[] = {
	"Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
	"Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter",
	"Yasmin", "Zoe", "Anna", "Marek", "Sofia", "Lukas", "Chen", "Priya", "Omar", "Lena",
};

static const char *const last_names[] = {
	"Smith", "Jones", "Garcia", "Miller", "Davis", "Martin", "Lopez", "Wilson", "Moore",
	"Taylor", "Thomas", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King",
	"Novak", "Schmidt", "Rossi", "Dubois", "Tanaka", "Kowalski", "Jensen", "Silva",
};

static const char *const mailers[] = {
	"Microsoft Outlook 16.0", "Apple Mail (2.3774.300.61.1.2)", "Thunderbird 128.4.2",
	"Roundcube Webmail/1.6.9", "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
	"Mutt/2.2.12 (2023-09-09)", "Evolution 3.46.4-2",
};

/* sentence - 6 to 18 words, capitalised, with a full stop */
static void
sentence(struct buf *b)
{
	unsigned n = 6 + rnd(13), i;
	const char *w;

	for (i = 0; i < n; i++) {
		w = PICK(words);
		if (i > 0)
			buf_putc(b, ' ');
		if (i == 0) {
			buf_putc(b, (char)(w[0] >= 'a' && w[0] <= 'z' ? w[0] - 32 : w[0]));
			buf_puts(b, w + 1);
		} else
			buf_puts(b, w);
		if (i + 1 < n && i > 2 && rnd(9) == 0)
			buf_putc(b, ',');
	}
	buf_putc(b, rnd(12) == 0 ? '?' : '.');
}

/* paragraph - some sentences, wrapped at LINE_WIDTH with CRLF */
static void
paragraph(struct buf *out, const char *pre, const char *post)
{
	struct buf p = BUF_INIT;
	unsigned n = 2 + rnd(6), i;
	size_t col = 0, start, end;
	const char *s;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&p, ' ');
		sentence(&p);
	}
	buf_puts(out, pre);
	col = strlen(pre);
	s = buf_str(&p);
	for (start = 0; s[start] != '\0'; start = end) {
		while (s[start] == ' ')
			start++;
		for (end = start; s[end] != '\0' && s[end] != ' '; end++)
			;
		if (end == start)
			break;
		if (col > 0 && col + 1 + (end - start) > LINE_WIDTH) {
			buf_puts(out, "\r\n");
			col = 0;
		} else if (col > strlen(pre) || (col > 0 && *pre == '\0')) {
			buf_putc(out, ' ');
			col++;
		}
		buf_append(out, s + start, end - start);
		col += end - start;
	}
	buf_puts(out, post);
	buf_puts(out, "\r\n\r\n");
	buf_free(&p);
}

/* text - about `size` bytes of paragraphs, each wrapped in pre/post */
static void
text(struct buf *out, size_t size, const char *pre, const char *post)
{
	size_t start = out->len;

	while (out->len - start < size)
		paragraph(out, pre, post);
}

/* ---- the messages ---- */

struct domain_choice {
	const char	*from;		/* RFC 5322 From domain */
	const char	*disp;		/* what an enforcing milter does */
};

static const struct domain_choice fail_domains[] = {
	{ "example.com", "reject" },
	{ "relaxed.test", "reject" },
	{ "strict.test", "reject" },
	{ "quarantine.test", "quarantine" },
	{ "pct100.test", "quarantine" },
};

struct keys {
	char	*rsa;
	char	*ed;
};

/* key_read - a PEM file into memory */
static char *
key_read(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), *k;
	size_t len;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "mkcorpus: %s: %s (use -k KEYDIR or set top_srcdir)\n", path, strerror(errno));
		exit(1);
	}
	k = dkimsign_read(f, &len);
	fclose(f);
	if (k == NULL) {
		fprintf(stderr, "mkcorpus: cannot read %s\n", path);
		exit(1);
	}
	free(path);
	return k;
}

/* sign - DKIM-sign msg; exits on failure (a broken tool, not a broken run) */
static char *
sign(const struct keys *k, const char *domain, bool ed, const char *msg, size_t len, size_t *outlen)
{
	struct dkimsign_opts so;
	char err[256], *out;

	memset(&so, 0, sizeof(so));
	so.domain = domain;
	so.selector = ed ? "ed25519" : "rsa2048";
	so.key = ed ? k->ed : k->rsa;
	so.alg = ed ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
	so.hcanon = DKIM_CANON_RELAXED;
	so.bcanon = DKIM_CANON_RELAXED;
	so.fixed_time = BASE_TIME;
	if (dkimsign_sign(&so, msg, len, &out, outlen, err, sizeof(err)) < 0) {
		fprintf(stderr, "mkcorpus: signing failed: %s\n", err);
		exit(1);
	}
	return out;
}

/* optional header fields, chosen at random to reach the field count */
enum opt {
	O_CC, O_REPLYTO, O_INREPLYTO, O_REFERENCES, O_LISTID, O_LISTUNSUB, O_LISTUNSUBPOST,
	O_LISTARCHIVE, O_PRECEDENCE, O_XMAILER, O_CONTENTLANG, O_ORG, O_FEEDBACK, O_XPRIO,
	O_AUTOSUB, O_THREADTOPIC, O_XORIGIP, O_N
};

/*
 * one_message - build message i; fills the envelope and returns what an
 * enforcing milter should do
 */
static enum kind
one_message(const struct keys *k, unsigned long i, struct buf *out, char *ip, size_t iplen,
    char **helo, char **mail_from, char **rcpt, const char **disp)
{
	struct buf a = BUF_INIT, body = BUF_INIT, rec = BUF_INIT;
	enum kind kind;
	const char *from_dom, *sign_dom = NULL, *name_f, *name_l;
	char date[RFC5322_DATE_LEN], *signed_msg = NULL, *p, boundary[40];
	bool ed = false, alter = false, multipart, lst;
	unsigned n_fields, n_recv, n_opt, j, opts[O_N], t, sw;
	size_t size, signed_len = 0;
	double u = unit();
	time_t when = BASE_TIME + (time_t)(i * 37 + rnd(30));

	buf_init(&a, 0);
	if (u < 0.70) {
		kind = K_PASS;
		sw = rnd(10);
		from_dom = sw < 6 ? "example.com" : sw < 8 ? "news.example.com" : "mail.example.com";
		sign_dom = "example.com";
		ed = rnd(7) == 0;
		snprintf(ip, iplen, "192.0.2.%u", 10 + rnd(200));
		*helo = xasprintf("mail-%u.example.com", 1 + rnd(8));
		*mail_from = rnd(2) ? xasprintf("bounce-%08x@bounce.example.com", (unsigned)rng()) :
		    xasprintf("%s@%s", "newsletter", "example.com");
		*disp = "accept";
	} else if (u < 0.85) {
		const struct domain_choice *d = &PICK(fail_domains);

		kind = K_FAIL;
		from_dom = d->from;
		*disp = d->disp;
		if (rnd(2) == 0)
			sign_dom = "example.net";	/* valid, but not aligned */
		else {
			sign_dom = "example.com";	/* broken after signing */
			alter = true;
		}
		snprintf(ip, iplen, rnd(2) ? "198.51.100.%u" : "203.0.113.%u", 1 + rnd(250));
		*helo = xasprintf("host-%u.example.org", rnd(1000));
		*mail_from = xasprintf("billing-%04x@fail.spf.test", rnd(65536));
	} else {
		kind = K_NONE;
		*disp = "accept";
		if (rnd(2) == 0) {
			from_dom = "norecord.test";
			sign_dom = rnd(2) ? "example.net" : NULL;
			snprintf(ip, iplen, "192.0.2.%u", 10 + rnd(200));
			*mail_from = xasprintf("info@norecord.test");
		} else {
			from_dom = "example.net";
			sign_dom = "example.net";
			snprintf(ip, iplen, "203.0.113.%u", 1 + rnd(250));
			*mail_from = xasprintf("notifications@example.net");
		}
		*helo = xasprintf("smtp%u.%s", rnd(4), from_dom);
	}
	*rcpt = xasprintf("user%u@dest.test", rnd(500));

	/* how many fields: 15-25 in all */
	n_fields = 15 + rnd(11);
	n_recv = 2 + rnd(5);
	n_opt = n_fields - 7 - n_recv - (sign_dom != NULL ? 1 : 0);
	for (j = 0; j < O_N; j++)
		opts[j] = j;
	for (j = O_N - 1; j > 0; j--) {		/* shuffle */
		unsigned r = rnd(j + 1), tmp = opts[j];

		opts[j] = opts[r];
		opts[r] = tmp;
	}
	if (n_opt > O_N)
		n_opt = O_N;
	lst = false;
	for (j = 0; j < n_opt; j++)
		if (opts[j] == O_LISTID)
			lst = true;

	/* the author's fields, which the signature covers */
	name_f = PICK(first_names);
	name_l = PICK(last_names);
	rfc5322_date(when, date, sizeof(date));
	buf_printf(&a, "Date: %s\r\n", date);
	buf_printf(&a, "From: %s %s <%c.%s@%s>\r\n", name_f, name_l, name_f[0] + 32, name_l, from_dom);
	buf_printf(&a, "To: %s %s <%s>\r\n", PICK(first_names), PICK(last_names), *rcpt);
	buf_printf(&a, "Subject: %s%s %s %s\r\n", rnd(4) == 0 ? "Re: " : "",
	    lst ? "[announce]" : "Your", PICK(words), PICK(words));
	buf_printf(&a, "Message-ID: <%08x.%06lu.%04x@%s>\r\n", (unsigned)rng(), i, rnd(65536), from_dom);
	for (j = 0; j < n_opt; j++) {
		switch (opts[j]) {
		case O_CC:
			buf_printf(&a, "Cc: %s %s <%s.%s@dest.test>,\r\n %s %s <team@dest.test>\r\n",
			    PICK(first_names), PICK(last_names), "cc", PICK(last_names),
			    PICK(first_names), PICK(last_names));
			break;
		case O_REPLYTO:
			buf_printf(&a, "Reply-To: support@%s\r\n", from_dom);
			break;
		case O_INREPLYTO:
			buf_printf(&a, "In-Reply-To: <%08x@dest.test>\r\n", (unsigned)rng());
			break;
		case O_REFERENCES:
			buf_printf(&a, "References: <%08x@dest.test>\r\n <%08x@%s>\r\n",
			    (unsigned)rng(), (unsigned)rng(), from_dom);
			break;
		case O_LISTID:
			buf_printf(&a, "List-Id: Announcements <announce.%s>\r\n", from_dom);
			break;
		case O_LISTUNSUB:
			buf_printf(&a, "List-Unsubscribe: <mailto:unsubscribe@%s?subject=unsub-%08x>,\r\n"
			    " <https://%s/unsubscribe/%016llx>\r\n", from_dom, (unsigned)rng(), from_dom,
			    (unsigned long long)rng());
			break;
		case O_LISTUNSUBPOST:
			buf_puts(&a, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
			break;
		case O_LISTARCHIVE:
			buf_printf(&a, "List-Archive: <https://lists.%s/archive/>\r\n", from_dom);
			break;
		case O_PRECEDENCE:
			buf_puts(&a, "Precedence: bulk\r\n");
			break;
		case O_XMAILER:
			buf_printf(&a, "X-Mailer: %s\r\n", PICK(mailers));
			break;
		case O_CONTENTLANG:
			buf_puts(&a, "Content-Language: en-US\r\n");
			break;
		case O_ORG:
			buf_printf(&a, "Organization: %s %s Ltd.\r\n", PICK(last_names), PICK(words));
			break;
		case O_FEEDBACK:
			buf_printf(&a, "Feedback-ID: %u:%u:campaign:%s\r\n", rnd(100000), rnd(100), from_dom);
			break;
		case O_XPRIO:
			buf_puts(&a, "X-Priority: 3 (Normal)\r\n");
			break;
		case O_AUTOSUB:
			buf_puts(&a, "Auto-Submitted: auto-generated\r\n");
			break;
		case O_THREADTOPIC:
			buf_printf(&a, "Thread-Topic: %s %s\r\n", PICK(words), PICK(words));
			break;
		case O_XORIGIP:
			buf_printf(&a, "X-Originating-IP: [10.%u.%u.%u]\r\n", rnd(256), rnd(256), 1 + rnd(254));
			break;
		}
	}
	buf_puts(&a, "MIME-Version: 1.0\r\n");

	/* the body: 3-30 KB, about 19 KB on average: 3 KB plus up to 26.5 KB
	 * weighted toward the top (1.5u - 0.5u^2 has mean 7/12); a last
	 * paragraph may overshoot by a few hundred bytes */
	u = unit();
	size = (size_t)(3000.0 + 26500.0 * (1.5 * u - 0.5 * u * u));
	multipart = rnd(10) < 3;
	if (multipart) {
		snprintf(boundary, sizeof(boundary), "=_bench_%08x", (unsigned)rng());
		buf_printf(&a, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n", boundary);
		buf_puts(&body, "This is a multi-part message in MIME format.\r\n\r\n");
		buf_printf(&body, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n", boundary);
		text(&body, size * 2 / 5, "", "");
		buf_printf(&body, "--%s\r\nContent-Type: text/html; charset=us-ascii\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n<html><body>\r\n", boundary);
		text(&body, size * 3 / 5 - 200, "<p>", "</p>");
		buf_printf(&body, "</body></html>\r\n\r\n--%s--\r\n", boundary);
	} else {
		buf_puts(&a, "Content-Type: text/plain; charset=us-ascii; format=flowed\r\n\r\n");
		buf_printf(&body, "Dear %s,\r\n\r\n", PICK(first_names));
		text(&body, size - 200, "", "");
		buf_printf(&body, "-- \r\n%s %s\r\n%s\r\n", name_f, name_l, from_dom);
	}
	buf_append(&a, body.data, body.len);

	if (sign_dom != NULL) {
		signed_msg = sign(k, sign_dom, ed, a.data, a.len, &signed_len);
		if (alter) {
			/* change one letter of the body: the body hash fails */
			p = strstr(signed_msg, "\r\n\r\n");
			for (p = p != NULL ? p + 4 : NULL; p != NULL && *p != '\0'; p++)
				if (*p >= 'a' && *p <= 'y') {
					(*p)++;
					break;
				}
		}
	}

	/* the Received chain, newest first, added on the way (not signed) */
	for (t = 0; t < n_recv; t++) {
		char rdate[RFC5322_DATE_LEN];

		rfc5322_date(when + (time_t)(n_recv - t), rdate, sizeof(rdate));
		if (t == 0)
			buf_printf(&rec, "Received: from %s (%s [%s])\r\n\tby mx-in.dest.test (Postfix) with ESMTPS id %08X\r\n"
			    "\tfor <%s>; %s\r\n", *helo, *helo, ip, (unsigned)rng(), *rcpt, rdate);
		else
			buf_printf(&rec, "Received: from relay%u.internal (relay%u.internal [10.0.%u.%u])\r\n"
			    "\tby %s (Postfix) with ESMTP id %08X; %s\r\n", t, t, rnd(256), 1 + rnd(254),
			    t == 1 ? *helo : "relay.internal", (unsigned)rng(), rdate);
	}
	buf_append(out, rec.data, rec.len);
	if (signed_msg != NULL)
		buf_append(out, signed_msg, signed_len);
	else
		buf_append(out, a.data, a.len);
	free(signed_msg);
	buf_free(&a);
	buf_free(&body);
	buf_free(&rec);
	return kind;
}

/* usage - say how to call us and exit 64 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mkcorpus -o DIR -n COUNT [-S SEED] [-k KEYDIR]\n");
	exit(EX_USAGE_CODE);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *keydir = NULL, *disp;
	char *end, *path, *helo, *mail_from, *rcpt, ip[64], name[32];
	unsigned long n = 0, seed = 1, i, count[3] = { 0, 0, 0 }, acc = 0, rej = 0, quar = 0;
	unsigned long long bytes = 0;
	struct keys k;
	struct buf msg = BUF_INIT;
	FILE *env, *f;
	enum kind kind;
	int ch;

	while ((ch = getopt(argc, argv, "k:n:o:S:")) != -1) {
		switch (ch) {
		case 'k':
			keydir = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || *optarg < '0' || *optarg > '9' || n == 0 || n > 999999)
				usage();
			break;
		case 'o':
			dir = optarg;
			break;
		case 'S':
			errno = 0;
			seed = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || *optarg < '0' || *optarg > '9')
				usage();
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || n == 0 || optind != argc)
		usage();
	if (keydir == NULL)
		keydir = getenv("top_srcdir") != NULL ? xasprintf("%s/t/keys", getenv("top_srcdir")) : "t/keys";
	k.rsa = key_read(keydir, "rsa2048.pem");
	k.ed = key_read(keydir, "ed25519.pem");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mkcorpus: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	path = xasprintf("%s/envelope.tsv", dir);
	if ((env = fopen(path, "w")) == NULL) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		return 1;
	}
	free(path);
	rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
	buf_init(&msg, 0);
	for (i = 0; i < n; i++) {
		buf_reset(&msg);
		kind = one_message(&k, i, &msg, ip, sizeof(ip), &helo, &mail_from, &rcpt, &disp);
		count[kind]++;
		if (strcmp(disp, "reject") == 0)
			rej++;
		else if (strcmp(disp, "quarantine") == 0)
			quar++;
		else
			acc++;
		snprintf(name, sizeof(name), "%06lu.eml", i + 1);
		path = xasprintf("%s/%s", dir, name);
		if ((f = fopen(path, "wb")) == NULL || fwrite(msg.data, 1, msg.len, f) != msg.len ||
		    fclose(f) != 0) {
			fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
			return 1;
		}
		free(path);
		bytes += msg.len;
		fprintf(env, "%s\t%s\t%s\t%s\t%s\n", name, ip, helo, mail_from, rcpt);
		free(helo);
		free(mail_from);
		free(rcpt);
	}
	if (fclose(env) != 0) {
		fprintf(stderr, "mkcorpus: %s/envelope.tsv: %s\n", dir, strerror(errno));
		return 1;
	}
	printf("msgs=%lu pass=%lu fail=%lu none=%lu bytes=%llu accept=%lu reject=%lu quarantine=%lu\n",
	    n, count[K_PASS], count[K_FAIL], count[K_NONE], bytes, acc, rej, quar);
	buf_free(&msg);
	free(k.rsa);
	free(k.ed);
	return 0;
}
