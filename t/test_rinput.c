/*
 * test_rinput.c - finding aggregate report payloads in what arrives at a
 * rua mailbox (reports/rinput.c): the real sample reports and mails in
 * t/data/reports/samples, the constructed mails in t/data/reports/mail,
 * an mbox and a Maildir built from them at run time (and the Maildir
 * checked unchanged afterwards), standard input, and hostile input built
 * at run time: a zip bomb (1 GiB of zeros, honest and lying sizes), a gzip
 * bomb, a truncated gzip, a zip with 1000 members, encrypted and unknown
 * compression members, nesting past RINPUT_MAX_NESTING, too many MIME
 * parts, deep multipart nesting, broken base64.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "rinput.h"
#include "rxml.h"
#include "tap.h"
#include "util.h"

#define MAX_SEEN	1100

static char tmpdir[] = "/tmp/test_rinput.XXXXXX";
static char samples[1024], maildata[1024];

/* What the callbacks saw in one run. */
static struct seen {
	int	 npay, nprob;
	char	*porigin[MAX_SEEN];
	size_t	 plen[MAX_SEEN];
	char	 phead[MAX_SEEN][16];
	char	*prorigin[MAX_SEEN];
	char	*prmsg[MAX_SEEN];
	int	 stop_after;	/* report returns -1 at this payload (0 = never) */
} seen;

static void
seen_reset(void)
{
	int i;

	for (i = 0; i < seen.npay; i++)
		free(seen.porigin[i]);
	for (i = 0; i < seen.nprob; i++) {
		free(seen.prorigin[i]);
		free(seen.prmsg[i]);
	}
	memset(&seen, 0, sizeof(seen));
}

static int
cb_report(void *arg, const char *origin, const char *xml, size_t len)
{
	(void)arg;
	if (seen.npay < MAX_SEEN) {
		seen.porigin[seen.npay] = xstrdup(origin);
		seen.plen[seen.npay] = len;
		memcpy(seen.phead[seen.npay], xml, len < 15 ? len : 15);
		seen.phead[seen.npay][len < 15 ? len : 15] = '\0';
	}
	seen.npay++;
	return seen.stop_after != 0 && seen.npay >= seen.stop_after ? -1 : 0;
}

static void
cb_problem(void *arg, const char *origin, const char *msg)
{
	(void)arg;
	if (seen.nprob < MAX_SEEN) {
		seen.prorigin[seen.nprob] = xstrdup(origin);
		seen.prmsg[seen.nprob] = xstrdup(msg);
	}
	seen.nprob++;
}

static const struct rinput_cb cb = { cb_report, cb_problem, NULL };
static char err[512];

/* run_path / run_buf - one call with fresh counters */
static long
run_path(const char *path)
{
	seen_reset();
	err[0] = '\0';
	return rinput_path(path, &cb, err, sizeof(err));
}

static long
run_buf(const char *name, const void *data, size_t len)
{
	seen_reset();
	err[0] = '\0';
	return rinput_buffer(name, data, len, &cb, err, sizeof(err));
}

/* problem_like - some problem message contains needle */
static int
problem_like(const char *needle)
{
	int i;

	for (i = 0; i < seen.nprob && i < MAX_SEEN; i++)
		if (strstr(seen.prmsg[i], needle) != NULL)
			return 1;
	return 0;
}

/* show - the problems, for a failing case */
static void
show(void)
{
	int i;

	for (i = 0; i < seen.nprob && i < 5; i++)
		tap_diag("problem %s: %s", seen.prorigin[i], seen.prmsg[i]);
	for (i = 0; i < seen.npay && i < 5; i++)
		tap_diag("payload %s: %zu bytes", seen.porigin[i], seen.plen[i]);
	if (err[0] != '\0')
		tap_diag("err: %s", err);
}

static int
xml_head(int i)
{
	return strncmp(seen.phead[i], "<?xml", 5) == 0 || strncmp(seen.phead[i], "<feedback", 9) == 0;
}

/* slurp - a whole file into a struct buf */
static int
slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	buf_init(b, 256u << 20);
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
	return 0;
}

static int
spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* base64 - RFC 2045 base64 in 76-column lines */
static void
base64(struct buf *out, const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { a[v >> 18 & 63], a[v >> 12 & 63],
		    i + 1 < n ? a[v >> 6 & 63] : '=', i + 2 < n ? a[v & 63] : '=' };

		buf_append(out, q, 4);
		if ((col += 4) == 76) {
			buf_putc(out, '\n');
			col = 0;
		}
	}
	buf_putc(out, '\n');
}

/* gzip_of - gzip (level 9) of data */
static void
gzip_of(struct buf *out, const void *data, size_t len)
{
	unsigned char chunk[65536];
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = deflate(&z, Z_FINISH);
		buf_append(out, chunk, sizeof(chunk) - z.avail_out);
	} while (ret == Z_OK);
	deflateEnd(&z);
}

/*
 * zeros_deflated - raw deflate of n (a multiple of 1 MiB) bytes of zeros;
 * *crc the CRC-32 of the zeros.  One MiB is deflated once and ended with
 * a full flush, which empties the window and aligns to a byte: the same
 * bytes then stand for every further MiB, so the bomb is built in
 * milliseconds and is never in memory here either.
 */
static void
zeros_deflated(struct buf *out, size_t n, uLong *crc)
{
	static unsigned char zero[1u << 20];
	unsigned char chunk[65536];
	struct buf one;
	z_stream z;
	size_t i;

	buf_init(&one, 1u << 20);
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
	z.next_in = zero;
	z.avail_in = sizeof(zero);
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		deflate(&z, Z_FULL_FLUSH);
		buf_append(&one, chunk, sizeof(chunk) - z.avail_out);
	} while (z.avail_out == 0);
	deflateEnd(&z);
	*crc = crc32(0L, Z_NULL, 0);
	for (i = 0; i < n / sizeof(zero); i++) {
		buf_append(out, one.data, one.len);
		*crc = crc32(*crc, zero, sizeof(zero));
	}
	buf_append(out, "\x03\x00", 2);	/* the last block: fixed Huffman, empty */
	buf_free(&one);
}

/* A minimal zip writer: each member as given (method, flags, sizes may lie). */
struct zipw {
	struct buf	 out;
	struct buf	 cd;
	unsigned	 n;
};

static void
le16(struct buf *b, unsigned v)
{
	unsigned char c[2] = { v & 0xff, v >> 8 & 0xff };

	buf_append(b, c, 2);
}

static void
le32(struct buf *b, unsigned long v)
{
	unsigned char c[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 & 0xff };

	buf_append(b, c, 4);
}

static void
zipw_init(struct zipw *z)
{
	buf_init(&z->out, 256u << 20);
	buf_init(&z->cd, 256u << 20);
	z->n = 0;
}

static void
zipw_add(struct zipw *z, const char *name, unsigned method, unsigned flags,
    const void *data, size_t clen, unsigned long usize, unsigned long crc)
{
	size_t off = z->out.len, nl = strlen(name);

	le32(&z->out, 0x04034b50);
	le16(&z->out, 20);
	le16(&z->out, flags);
	le16(&z->out, method);
	le16(&z->out, 0);
	le16(&z->out, 0x21);
	le32(&z->out, crc);
	le32(&z->out, clen);
	le32(&z->out, usize);
	le16(&z->out, nl);
	le16(&z->out, 0);
	buf_append(&z->out, name, nl);
	buf_append(&z->out, data, clen);

	le32(&z->cd, 0x02014b50);
	le16(&z->cd, 20);
	le16(&z->cd, 20);
	le16(&z->cd, flags);
	le16(&z->cd, method);
	le16(&z->cd, 0);
	le16(&z->cd, 0x21);
	le32(&z->cd, crc);
	le32(&z->cd, clen);
	le32(&z->cd, usize);
	le16(&z->cd, nl);
	le16(&z->cd, 0);
	le16(&z->cd, 0);
	le16(&z->cd, 0);
	le16(&z->cd, 0);
	le32(&z->cd, 0);
	le32(&z->cd, off);
	buf_append(&z->cd, name, nl);
	z->n++;
}

/* zipw_stored - a member stored as it is */
static void
zipw_stored(struct zipw *z, const char *name, const void *data, size_t len)
{
	zipw_add(z, name, 0, 0, data, len, len, crc32(0L, data, (uInt)len));
}

/* zipw_finish - central directory and end record; the archive is in z->out */
static void
zipw_finish(struct zipw *z)
{
	size_t cdoff = z->out.len;

	buf_append(&z->out, z->cd.data, z->cd.len);
	le32(&z->out, 0x06054b50);
	le16(&z->out, 0);
	le16(&z->out, 0);
	le16(&z->out, z->n);
	le16(&z->out, z->n);
	le32(&z->out, z->cd.len);
	le32(&z->out, cdoff);
	le16(&z->out, 0);
	buf_free(&z->cd);
}

static int
ends_with_xml(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

static char *
sample(const char *rel)
{
	return xasprintf("%s/%s", samples, rel);
}

/* The real report mails: exactly one payload each (index.jsonl "bytes"). */
static const struct {
	const char	*file;
	size_t		 bytes;
	const char	*member;	/* in the origin */
} eml_cases[] = {
	{ "parsedmarc/Report_domain-_borschow.com_Submitter-_google.com_Report-ID-_949348866075514174.eml",
	  1064, ":google.com!borschow.com!1549929600!1550015999.zip:" },
	{ "parsedmarc/twilight.eml", 1186, ":google.com!twlnet.com!1549756800!1549843199.zip:" },
	{ "stalwart-mail-auth/100.eml", 1193, ":google.com!stalw.art!1669507200!1669593599.zip:" },
	{ "stalwart-mail-auth/101.eml", 1108, "backschues.net!stalw.art!1667948400!1668034800.xml.gz" },
	{ "stalwart-mail-auth/102.eml", 1017, "mail.ru!stalw.art!1667865600!1667952000.xml.gz" },
	{ "stalwart-mail-auth/103.eml", 1654, "protection.outlook.com!stalw.art!1666483200!1666569600.xml.gz" },
	{ "stalwart-mail-auth/104.eml", 947, "amazonses.com!stalw.art!1663545600!1663632000.xml.gz" },
	/*
	 * Mimecast: index.jsonl calls the attachment undecodable ("Not a
	 * gzipped file (b'\r\n')"): the base64 decodes to one complete gzip
	 * member (CRC and length good) followed by "\r\n", which Python's
	 * gzip takes for the start of a second member.  gzip -d ignores such
	 * trailing bytes, and so do we when they are white space: the 1260
	 * bytes of XML are the report.
	 */
	{ "parsedmarc/mimecast-weird-gzip.eml", 1260, "157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e.xml.gz" },
};

static const struct {
	const char	*file;
	size_t		 bytes;
} file_cases[] = {
	{ "mail-dmarc/test_dmarc.xml.gz", 1101 },
	{ "mail-dmarc/test_dmarc.xml.zip", 1101 },
	{ "parsedmarc/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz", 1146 },
	{ "parsedmarc/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip", 887 },
	{ "mail-dmarc/test_dmarc.xml", 1101 },
	{ "ietf-draft/dmarc-xml-0.2.xml", 1337 },
};

static void
test_samples(void)
{
	size_t i;
	char *p;
	long n;

	for (i = 0; i < sizeof(eml_cases) / sizeof(eml_cases[0]); i++) {
		p = sample(eml_cases[i].file);
		n = run_path(p);
		if (!tap_ok(n == 1 && seen.npay == 1 && seen.nprob == 0, "%s: one payload, no problem", eml_cases[i].file))
			show();
		tap_ok(seen.npay == 1 && seen.plen[0] == eml_cases[i].bytes && xml_head(0),
		    "%s: %zu bytes of XML", eml_cases[i].file, eml_cases[i].bytes);
		tap_ok(seen.npay == 1 && strncmp(seen.porigin[0], p, strlen(p)) == 0 &&
		    strstr(seen.porigin[0], " <") != NULL && strstr(seen.porigin[0], eml_cases[i].member) != NULL,
		    "%s: origin names the file, the Message-ID and the attachment (%s)",
		    eml_cases[i].file, seen.npay > 0 ? seen.porigin[0] : "-");
		free(p);
	}
	for (i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		p = sample(file_cases[i].file);
		n = run_path(p);
		if (!tap_ok(n == 1 && seen.nprob == 0 && seen.plen[0] == file_cases[i].bytes && xml_head(0),
		    "%s: one payload of %zu bytes", file_cases[i].file, file_cases[i].bytes))
			show();
		free(p);
	}
}

/* Every plain .xml sample: handed on as it is, whole (empty.xml is empty). */
static void
test_xml_samples(void)
{
	static const char *const dirs[] = { "ietf-draft", "mail-dmarc", "opendmarc", "parsedmarc", "stalwart-mail-auth" };
	struct dirent *de;
	struct stat sb;
	int files = 0, good = 0;
	size_t i;
	DIR *d;
	char *dir, *p;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		dir = sample(dirs[i]);
		if ((d = opendir(dir)) == NULL) {
			tap_ok(0, "opendir %s", dir);
			free(dir);
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (!ends_with_xml(de->d_name))
				continue;
			p = xasprintf("%s/%s", dir, de->d_name);
			files++;
			if (stat(p, &sb) == 0 && sb.st_size == 0)
				good += run_path(p) == 0 && seen.nprob == 1 && problem_like("empty");
			else if (run_path(p) == 1 && seen.npay == 1 && seen.nprob == 0 &&
			    (off_t)seen.plen[0] == sb.st_size)
				good++;
			else
				tap_diag("%s: %d payloads, %d problems", p, seen.npay, seen.nprob);
			free(p);
		}
		closedir(d);
		free(dir);
	}
	tap_ok(files == 28 && good == files, "the %d plain .xml samples: each handed on whole, the empty one refused (%d good)",
	    files, good);
}

/* The constructed mails in t/data/reports/mail. */
static void
test_constructed(void)
{
	char *p;
	long n;

	p = xasprintf("%s/two-reports.eml", maildata);
	n = run_path(p);
	if (!tap_ok(n == 2 && seen.npay == 2 && seen.nprob == 0, "two report attachments: two payloads"))
		show();
	tap_ok(seen.npay == 2 && seen.plen[0] == 1101 && seen.plen[1] == 887 && xml_head(0) && xml_head(1),
	    "two report attachments: the gzip (1101 bytes) then the zip (887 bytes)");
	tap_ok(seen.npay == 2 && strstr(seen.porigin[1], "<two@receiver.example>:receiver.example!example.com!3!4.zip:"
	    "estadocuenta1.infonacot.gob.mx") != NULL, "zip in a message: origin message-id:attachment:member (%s)",
	    seen.npay == 2 ? seen.porigin[1] : "-");
	free(p);

	p = xasprintf("%s/forwarded.eml", maildata);
	n = run_path(p);
	if (!tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == 1108 && seen.nprob == 0,
	    "forwarded report (message/rfc822): one payload of 1108 bytes"))
		show();
	tap_ok(seen.npay == 1 && strstr(seen.porigin[0], "<fwd@example.com>:forwarded <afe541eab3ec091f@backschues.net>:") != NULL,
	    "forwarded report: origin names both messages (%s)", seen.npay == 1 ? seen.porigin[0] : "-");
	free(p);

	p = xasprintf("%s/no-report.eml", maildata);
	n = run_path(p);
	tap_ok(n == 0 && seen.npay == 0 && seen.nprob == 1, "no report (text + HTML starting with '<'): no payload, one problem");
	tap_ok(seen.nprob == 1 && strcmp(seen.prmsg[0], "no aggregate report in this message") == 0 &&
	    strstr(seen.prorigin[0], "<hello@example.com>") != NULL, "no report: \"no aggregate report in this message\"");
	free(p);

	p = xasprintf("%s/broken-base64.eml", maildata);
	n = run_path(p);
	tap_ok(n == 0 && seen.npay == 0 && seen.nprob == 1, "broken base64: no payload, one problem");
	if (!tap_ok(seen.nprob == 1 && strstr(seen.prmsg[0], "gzip data") != NULL &&
	    strstr(seen.prmsg[0], "broken base64: byte 0x23") != NULL,
	    "broken base64: the problem says the gzip is broken and why (%s)", seen.nprob ? seen.prmsg[0] : "-"))
		show();
	free(p);

	p = xasprintf("%s/inline-qp-xml.eml", maildata);
	n = run_path(p);
	tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == 1101 && seen.nprob == 0 && xml_head(0),
	    "single-part text/xml, quoted-printable: one payload of 1101 bytes");
	free(p);

	p = xasprintf("%s/octet-xml.eml", maildata);
	n = run_path(p);
	tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == 1101 && seen.nprob == 0,
	    "application/octet-stream named .xml, 7bit: one payload, 1101 bytes (the line end before the boundary is the boundary's)");
	free(p);

	p = xasprintf("%s/reports.mbox", maildata);
	n = run_path(p);
	if (!tap_ok(n == 3 && seen.npay == 3 && seen.nprob == 1, "reports.mbox: three payloads, one problem"))
		show();
	tap_ok(seen.npay == 3 && strstr(seen.porigin[0], "reports.mbox#1 <two@") != NULL &&
	    strstr(seen.porigin[2], "reports.mbox#3 <qp@") != NULL &&
	    seen.nprob == 1 && strstr(seen.prorigin[0], "reports.mbox#2 <hello@") != NULL,
	    "reports.mbox: origins number the messages");
	free(p);
}

/* mbox_of - an mbox of the files given, each after a "From " line */
static void
mbox_of(struct buf *mb, const char *const *files, size_t n)
{
	struct buf m;
	size_t i;

	buf_init(mb, 64u << 20);
	for (i = 0; i < n; i++) {
		slurp(files[i], &m);
		buf_puts(mb, "From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n");
		buf_append(mb, m.data, m.len);
		buf_puts(mb, "\n");
		buf_free(&m);
	}
}

static void
test_mbox_stdin(void)
{
	const char *rel[] = { "stalwart-mail-auth/100.eml", "parsedmarc/twilight.eml",
	    NULL, "stalwart-mail-auth/104.eml", "parsedmarc/mimecast-weird-gzip.eml" };
	char *files[5], *path;
	struct buf mb;
	size_t i;
	long n;
	int fd, saved, pfd[2];
	pid_t pid;

	for (i = 0; i < 5; i++)
		files[i] = rel[i] != NULL ? sample(rel[i]) : xasprintf("%s/no-report.eml", maildata);
	mbox_of(&mb, (const char *const *)files, 5);
	path = xasprintf("%s/samples.mbox", tmpdir);
	spew(path, mb.data, mb.len);
	n = run_path(path);
	if (!tap_ok(n == 4 && seen.npay == 4 && seen.nprob == 1, "mbox of five real mails, one without a report: four payloads, one problem"))
		show();
	tap_ok(seen.npay == 4 && seen.plen[0] == 1193 && seen.plen[1] == 1186 && seen.plen[2] == 947 &&
	    seen.plen[3] == 1260, "mbox: the payloads in order, with their sizes");
	tap_ok(seen.nprob == 1 && strstr(seen.prorigin[0], "samples.mbox#3 <hello@example.com>") != NULL &&
	    strcmp(seen.prmsg[0], "no aggregate report in this message") == 0,
	    "mbox: the message without a report is named by its number");

	n = run_buf("buffer", mb.data, mb.len);
	tap_ok(n == 4 && seen.npay == 4 && seen.nprob == 1, "the same mbox from memory (rinput_buffer)");

	/* standard input: a regular file, then a pipe (Postfix pipe transport) */
	fflush(stdout);
	saved = dup(STDIN_FILENO);
	fd = open(path, O_RDONLY);
	dup2(fd, STDIN_FILENO);
	close(fd);
	n = run_path("-");
	dup2(saved, STDIN_FILENO);
	tap_ok(n == 4 && seen.npay == 4 && seen.nprob == 1 && strncmp(seen.porigin[0], "-#1 <", 5) == 0,
	    "mbox on standard input (a file): four payloads, origin \"-#1 <...>\"");

	if (pipe(pfd) == 0 && (pid = fork()) == 0) {
		close(pfd[0]);
		if (write(pfd[1], mb.data, mb.len) != (ssize_t)mb.len)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	dup2(pfd[0], STDIN_FILENO);
	close(pfd[0]);
	n = run_path("-");
	dup2(saved, STDIN_FILENO);
	close(saved);
	waitpid(-1, NULL, 0);
	tap_ok(n == 4 && seen.npay == 4 && seen.nprob == 1, "mbox on standard input (a pipe): four payloads, one problem");

	buf_free(&mb);
	free(path);
	for (i = 0; i < 5; i++)
		free(files[i]);
}

/* Maildir: a snapshot of every file (name, size, mtime, inode, content) */
struct snap {
	char	 list[8192];
	struct buf content;
};

static struct snap *snap_cur;

static int
snap_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	struct buf b;

	(void)flag;
	(void)ftw;
	snprintf(snap_cur->list + strlen(snap_cur->list), sizeof(snap_cur->list) - strlen(snap_cur->list),
	    "%s %lld %lld.%09ld %lu %o\n", path, (long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
	    sb->st_mtim.tv_nsec, (unsigned long)sb->st_ino, (unsigned)sb->st_mode);
	if (S_ISREG(sb->st_mode)) {
		slurp(path, &b);
		buf_append(&snap_cur->content, b.data, b.len);
		buf_free(&b);
	}
	return 0;
}

static void
snapshot(const char *dir, struct snap *s)
{
	s->list[0] = '\0';
	buf_init(&s->content, 16u << 20);
	snap_cur = s;
	nftw(dir, snap_one, 16, FTW_PHYS);
}

static void
copy_file(const char *from, const char *to)
{
	struct buf b;

	slurp(from, &b);
	spew(to, b.data, b.len);
	buf_free(&b);
}

static void
test_maildir(void)
{
	char *md = xasprintf("%s/Maildir", tmpdir), *p, *q;
	struct snap before, after;
	long n;

	p = xasprintf("%s/cur", md);
	mkdir(md, 0700);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/new", md);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/tmp", md);
	mkdir(p, 0700);
	free(p);
	/* names sort across cur/ and new/ by delivery time */
	q = sample("stalwart-mail-auth/102.eml");
	p = xasprintf("%s/cur/1700000001.M1P1.host:2,S", md);
	copy_file(q, p);
	free(p);
	free(q);
	q = xasprintf("%s/no-report.eml", maildata);
	p = xasprintf("%s/new/1700000002.M2P2.host", md);
	copy_file(q, p);
	free(p);
	free(q);
	q = sample("stalwart-mail-auth/103.eml");
	p = xasprintf("%s/cur/1700000003.M3P3.host:2,", md);
	copy_file(q, p);
	free(p);
	free(q);
	q = xasprintf("%s/two-reports.eml", maildata);
	p = xasprintf("%s/new/1700000004.M4P4.host", md);
	copy_file(q, p);
	free(p);
	free(q);
	/* being delivered: not read */
	q = sample("stalwart-mail-auth/104.eml");
	p = xasprintf("%s/tmp/1700000005.M5P5.host", md);
	copy_file(q, p);
	free(p);
	free(q);

	snapshot(md, &before);
	n = run_path(md);
	snapshot(md, &after);
	if (!tap_ok(n == 4 && seen.npay == 4 && seen.nprob == 1, "Maildir: four payloads from cur/ and new/, one problem, tmp/ not read"))
		show();
	tap_ok(seen.npay == 4 && strstr(seen.porigin[0], "/cur/1700000001") != NULL &&
	    strstr(seen.porigin[1], "/cur/1700000003") != NULL && strstr(seen.porigin[2], "/new/1700000004") != NULL &&
	    seen.plen[0] == 1017 && seen.plen[1] == 1654 && seen.plen[2] == 1101 && seen.plen[3] == 887,
	    "Maildir: messages in the order of their names across cur/ and new/");
	tap_ok(seen.nprob == 1 && strstr(seen.prorigin[0], "/new/1700000002") != NULL,
	    "Maildir: the message without a report is named by its path");
	tap_ok(strcmp(before.list, after.list) == 0, "Maildir: no file moved, renamed or touched (names, sizes, mtimes, inodes)");
	tap_ok(before.content.len == after.content.len && memcmp(before.content.data, after.content.data, before.content.len) == 0,
	    "Maildir: contents unchanged");
	buf_free(&before.content);
	buf_free(&after.content);

	p = xasprintf("%s/cur", md);
	seen_reset();
	n = run_path(p);
	if (!tap_ok(n == 2 && seen.npay == 2 && seen.nprob == 0 && strstr(seen.porigin[0], "/cur/1700000001") != NULL &&
	    strstr(seen.porigin[1], "/cur/1700000003") != NULL,
	    "a plain directory (no cur/ and new/): every file in it, in name order"))
		show();
	free(p);
	p = xasprintf("%s/nonexistent", tmpdir);
	n = run_path(p);
	tap_ok(n == -1 && strstr(err, "No such file") != NULL, "a path that does not exist: -1 (%s)", err);
	free(p);

	seen_reset();
	seen.stop_after = 2;
	err[0] = '\0';
	n = rinput_path(md, &cb, err, sizeof(err));
	tap_ok(n == -1 && seen.npay == 2 && strstr(err, "stopped") != NULL,
	    "the report handler returns -1: everything stops, rinput_path returns -1 (%s)", err);
	seen.stop_after = 0;
	free(md);
}

static size_t
maxrss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (size_t)ru.ru_maxrss / 1024;
}

static void
test_bombs(void)
{
	struct buf raw, gz, xml;
	struct zipw z;
	uLong crc;
	size_t gib = (size_t)1 << 30;
	unsigned char trailer[8];
	char *p;
	long n;

	buf_init(&raw, 64u << 20);
	zeros_deflated(&raw, gib, &crc);
	tap_diag("1 GiB of zeros deflates to %zu bytes", raw.len);
	{
		/* the bomb is real: it inflates to 1 GiB (counted, not kept) */
		static unsigned char sink[1u << 20];
		z_stream zs;
		unsigned long long total = 0;
		int ret;

		memset(&zs, 0, sizeof(zs));
		inflateInit2(&zs, -MAX_WBITS);
		zs.next_in = (unsigned char *)raw.data;
		zs.avail_in = (uInt)raw.len;
		do {
			zs.next_out = sink;
			zs.avail_out = sizeof(sink);
			ret = inflate(&zs, Z_NO_FLUSH);
			total += sizeof(sink) - zs.avail_out;
		} while (ret == Z_OK);
		inflateEnd(&zs);
		tap_ok(ret == Z_STREAM_END && total == gib, "the test bomb inflates to 1 GiB (%llu bytes)", total);
	}

	/* zip bomb, honest sizes: refused from the directory, before inflating */
	zipw_init(&z);
	zipw_add(&z, "bomb.xml", 8, 0, raw.data, raw.len, (unsigned long)gib, crc);
	zipw_finish(&z);
	p = xasprintf("%s/bomb.zip", tmpdir);
	spew(p, z.out.data, z.out.len);
	n = run_path(p);
	if (!tap_ok(n == 0 && seen.npay == 0 && problem_like("zip member of 1073741824 bytes, more than 64 MiB: refused"),
	    "zip bomb (1 GiB member): refused"))
		show();
	tap_ok(seen.nprob == 2 && problem_like("no report in this zip archive"), "zip bomb: and no report in the archive");
	free(p);
	buf_free(&z.out);

	/* zip bomb whose directory says 1000 bytes: cut off while inflating */
	zipw_init(&z);
	zipw_add(&z, "liar.xml", 8, 0, raw.data, raw.len, 1000, crc);
	zipw_finish(&z);
	n = run_buf("liar.zip", z.out.data, z.out.len);
	if (!tap_ok(n == 0 && seen.npay == 0 && (problem_like("decompresses to more than 64 MiB") ||
	    problem_like("broken zip member")), "zip bomb with a lying size: refused"))
		show();
	if (seen.nprob > 0)
		tap_diag("%s", seen.prmsg[0]);
	buf_free(&z.out);

	/* gzip bomb: a gzip header, the same deflate stream, CRC and ISIZE */
	buf_init(&gz, 64u << 20);
	buf_append(&gz, "\x1f\x8b\x08\0\0\0\0\0\0\3", 10);
	buf_append(&gz, raw.data, raw.len);
	trailer[0] = crc & 0xff; trailer[1] = crc >> 8 & 0xff; trailer[2] = crc >> 16 & 0xff; trailer[3] = crc >> 24 & 0xff;
	memset(trailer + 4, 0, 4);	/* 2^30 mod 2^32 */
	trailer[7] = 0x40;
	buf_append(&gz, trailer, 8);
	p = xasprintf("%s/bomb.xml.gz", tmpdir);
	spew(p, gz.data, gz.len);
	n = run_path(p);
	if (!tap_ok(n == 0 && seen.npay == 0 && seen.nprob == 1 &&
	    problem_like("gzip data that decompresses to more than 64 MiB: refused"), "gzip bomb: refused"))
		show();
	free(p);

	/* the gzip bomb in a zip in a mail */
	zipw_init(&z);
	zipw_stored(&z, "bomb.xml.gz", gz.data, gz.len);
	zipw_finish(&z);
	{
		struct buf m;

		buf_init(&m, 64u << 20);
		buf_puts(&m, "From: a@b.example\nMessage-ID: <bomb@b.example>\nMIME-Version: 1.0\n"
		    "Content-Type: application/zip; name=\"x.zip\"\nContent-Transfer-Encoding: base64\n\n");
		base64(&m, (unsigned char *)z.out.data, z.out.len);
		n = run_buf("bomb.eml", m.data, m.len);
		tap_ok(n == 0 && seen.npay == 0 && problem_like("decompresses to more than 64 MiB") &&
		    strstr(seen.prorigin[0], "bomb.eml <bomb@b.example>:x.zip:bomb.xml.gz") != NULL,
		    "gzip bomb in a zip in a mail: refused, origin names the way in");
		buf_free(&m);
	}
	buf_free(&z.out);
	buf_free(&gz);
	buf_free(&raw);
	tap_ok(maxrss_mib() < 900, "bombs: the process never grew near 1 GiB (max RSS %zu MiB)", maxrss_mib());

	/* plain XML over RXML_MAX_BYTES */
	buf_init(&xml, RXML_MAX_BYTES + 1024);
	buf_puts(&xml, "<?xml version=\"1.0\"?><feedback>");
	while (xml.len <= RXML_MAX_BYTES)
		buf_puts(&xml, "<!-- padding padding padding padding padding padding padding -->\n");
	n = run_buf("huge.xml", xml.data, xml.len);
	tap_ok(n == 0 && seen.npay == 0 && problem_like("more than 64 MiB: refused"), "XML over 64 MiB: refused");
	buf_free(&xml);
}

static void
test_archives(void)
{
	struct buf x, gz, t, m;
	struct zipw z, z2, z3, z4;
	char name[64];
	char *p;
	long n;
	int i;

	p = sample("mail-dmarc/test_dmarc.xml");
	slurp(p, &x);
	free(p);
	buf_init(&gz, 1u << 20);
	gzip_of(&gz, x.data, x.len);

	/* truncated gzip */
	n = run_buf("cut.xml.gz", gz.data, gz.len / 2);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("truncated gzip data"), "truncated gzip: \"truncated gzip data\"");
	/* broken gzip */
	buf_init(&t, 1u << 20);
	buf_append(&t, gz.data, gz.len);
	t.data[20] ^= 0x55;
	t.data[21] ^= 0x55;
	n = run_buf("bad.xml.gz", t.data, t.len);
	tap_ok(n == 0 && seen.nprob == 1 && (problem_like("broken gzip data") || problem_like("truncated")),
	    "corrupted gzip: refused (%s)", seen.nprob ? seen.prmsg[0] : "-");
	buf_free(&t);
	/* two members, gzip -d style */
	buf_init(&t, 1u << 20);
	gzip_of(&t, x.data, 100);
	gzip_of(&t, x.data + 100, x.len - 100);
	n = run_buf("two.xml.gz", t.data, t.len);
	tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == x.len && seen.nprob == 0, "two gzip members: one payload, both read");
	buf_free(&t);
	/* trailing garbage that is not white space: read, and said */
	buf_init(&t, 1u << 20);
	buf_append(&t, gz.data, gz.len);
	buf_puts(&t, "GARBAGE");
	n = run_buf("tail.xml.gz", t.data, t.len);
	tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == x.len && seen.nprob == 1 &&
	    problem_like("7 bytes of trailing garbage after the gzip data ignored"), "gzip with trailing garbage: read, and said");
	buf_free(&t);
	/* gzip of something that is not a report */
	buf_init(&t, 1u << 20);
	gzip_of(&t, "%PDF-1.4 not xml", 16);
	n = run_buf("pdf.gz", t.data, t.len);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("neither XML, gzip nor zip"), "gzip of a PDF: not a report");
	buf_free(&t);

	/* 1000 members */
	zipw_init(&z);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "r%04d.xml", i);
		zipw_stored(&z, name, x.data, x.len);
	}
	zipw_finish(&z);
	p = xasprintf("%s/many.zip", tmpdir);
	spew(p, z.out.data, z.out.len);
	n = run_path(p);
	tap_ok(n == 0 && seen.npay == 0 && seen.nprob == 1 &&
	    problem_like("zip archive with 1000 members, more than 64: refused"), "zip with 1000 members: refused");
	free(p);
	buf_free(&z.out);

	/* a zip with a README, a directory, two reports (.xml and .xml.gz) */
	zipw_init(&z);
	zipw_stored(&z, "README.txt", "hello", 5);
	zipw_stored(&z, "dir/", "", 0);
	zipw_stored(&z, "dir/a.xml", x.data, x.len);
	zipw_stored(&z, "dir/b.xml.gz", gz.data, gz.len);
	zipw_finish(&z);
	n = run_buf("mixed.zip", z.out.data, z.out.len);
	tap_ok(n == 2 && seen.npay == 2 && seen.nprob == 0 && strcmp(seen.porigin[0], "mixed.zip:dir/a.xml") == 0 &&
	    strcmp(seen.porigin[1], "mixed.zip:dir/b.xml.gz") == 0, "zip with a README, a directory, .xml and .xml.gz: two payloads");
	buf_free(&z.out);

	/* a member named .xml that is not XML */
	zipw_init(&z);
	zipw_stored(&z, "fake.xml", "%PDF-1.4", 8);
	zipw_finish(&z);
	n = run_buf("fake.zip", z.out.data, z.out.len);
	tap_ok(n == 0 && problem_like("neither XML, gzip nor zip") && problem_like("no report in this zip archive"),
	    "zip member named .xml that is not XML: said, and no report");
	buf_free(&z.out);

	/* encrypted member (traditional PKWARE, flag bit 0) */
	zipw_init(&z);
	zipw_add(&z, "secret.xml", 0, 1, x.data, x.len, x.len, crc32(0L, (unsigned char *)x.data, (uInt)x.len));
	zipw_finish(&z);
	n = run_buf("secret.zip", z.out.data, z.out.len);
	tap_ok(n == 0 && problem_like("encrypted zip member: refused") && strcmp(seen.prorigin[0], "secret.zip:secret.xml") == 0,
	    "encrypted zip member: refused");
	buf_free(&z.out);

	/* unknown compression method (98, PPMd) */
	zipw_init(&z);
	zipw_add(&z, "ppmd.xml", 98, 0, x.data, x.len, x.len, crc32(0L, (unsigned char *)x.data, (uInt)x.len));
	zipw_finish(&z);
	n = run_buf("ppmd.zip", z.out.data, z.out.len);
	tap_ok(n == 0 && problem_like("compressed with method 98, which cannot be read: refused"), "zip member with method 98: refused");
	buf_free(&z.out);

	/* CRC mismatch in a stored member */
	zipw_init(&z);
	zipw_add(&z, "crc.xml", 0, 0, x.data, x.len, x.len, 12345);
	zipw_finish(&z);
	n = run_buf("crc.zip", z.out.data, z.out.len);
	tap_ok(n == 0 && problem_like("broken zip member"), "zip member with a wrong CRC: refused (%s)",
	    seen.nprob ? seen.prmsg[0] : "-");
	buf_free(&z.out);

	/* nesting: gzip in zip in zip in zip = 4 containers: read */
	zipw_init(&z);
	zipw_stored(&z, "r.xml.gz", gz.data, gz.len);
	zipw_finish(&z);
	zipw_init(&z2);
	zipw_stored(&z2, "in1.zip", z.out.data, z.out.len);
	zipw_finish(&z2);
	zipw_init(&z3);
	zipw_stored(&z3, "in2.zip", z2.out.data, z2.out.len);
	zipw_finish(&z3);
	n = run_buf("nest4.zip", z3.out.data, z3.out.len);
	tap_ok(n == 1 && seen.npay == 1 && seen.nprob == 0 && strcmp(seen.porigin[0], "nest4.zip:in2.zip:in1.zip:r.xml.gz") == 0,
	    "gzip in zip in zip in zip (4 containers): read (%s)", seen.npay ? seen.porigin[0] : "-");
	zipw_init(&z4);
	zipw_stored(&z4, "in3.zip", z3.out.data, z3.out.len);
	zipw_finish(&z4);
	n = run_buf("nest5.zip", z4.out.data, z4.out.len);
	tap_ok(n == 0 && seen.npay == 0 && problem_like("gzip nested more than 4 containers deep: refused"),
	    "5 containers: refused");
	/* 4 containers counting a forwarded mail: zip in zip in zip in message/rfc822 */
	buf_init(&m, 16u << 20);
	buf_puts(&m, "From: a@b.example\nMessage-ID: <outer@b.example>\nMIME-Version: 1.0\n"
	    "Content-Type: message/rfc822\n\n"
	    "From: c@d.example\nMessage-ID: <inner@d.example>\nMIME-Version: 1.0\n"
	    "Content-Type: application/zip; name=\"n.zip\"\nContent-Transfer-Encoding: base64\n\n");
	base64(&m, (unsigned char *)z3.out.data, z3.out.len);
	n = run_buf("fwdnest.eml", m.data, m.len);
	tap_ok(n == 0 && problem_like("gzip nested more than 4 containers deep: refused"),
	    "gzip in zip in zip in zip in a forwarded mail (5 containers): refused");
	buf_free(&m);
	buf_free(&z.out);
	buf_free(&z2.out);
	buf_free(&z3.out);
	buf_free(&z4.out);

	/* not a zip after all */
	n = run_buf("junk.zip", "PK\3\4 this is not a zip", 22);
	tap_ok(n == 0 && problem_like("not a readable zip archive"), "\"PK\\3\\4\" and junk: \"not a readable zip archive\"");

	buf_free(&gz);
	buf_free(&x);
}

static void
test_content(void)
{
	struct buf m;
	long n;
	int i;

	n = run_buf("empty", "", 0);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("empty"), "empty input: a problem");
	n = run_buf("doc.pdf", "%PDF-1.4\n...", 12);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("neither an aggregate report (XML, gzip, zip) nor mail"),
	    "a PDF: neither report nor mail");
	n = run_buf("bom.xml", "\xef\xbb\xbf\r\n <feedback/>", 17);
	tap_ok(n == 1 && seen.npay == 1 && seen.plen[0] == 17, "XML after a BOM and white space: handed on as it is");
	n = run_buf("text.eml", "Subject: hi\nFrom: a@b.example\n\njust text\n", 42);
	tap_ok(n == 0 && seen.nprob == 1 && strcmp(seen.prmsg[0], "no aggregate report in this message") == 0,
	    "a plain text message: \"no aggregate report in this message\"");
	n = run_buf("html.eml", "From: a@b.example\nContent-Type: text/html\n\n<html><body>hi</body></html>\n", 72);
	tap_ok(n == 0 && seen.nprob == 1 && strcmp(seen.prmsg[0], "no aggregate report in this message") == 0,
	    "an HTML message (starts with '<'): not taken for a report");
	n = run_buf("inline.eml", "From: a@b.example\nContent-Type: text/plain\n\n<?xml version=\"1.0\"?><feedback/>\n", 78);
	tap_ok(n == 1 && seen.npay == 1, "text/plain whose body is a report: handed on");
	n = run_buf("gzempty.eml", "From: a@b.example\nContent-Type: application/gzip; name=x.xml.gz\n\n", 65);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("empty attachment"), "an empty application/gzip attachment: said");
	n = run_buf("gztext.eml", "From: a@b.example\nContent-Type: application/gzip; name=x.xml.gz\n\nhello\n", 71);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("declared application/gzip is not XML, gzip or zip data"),
	    "an application/gzip attachment that is text: said");
	n = run_buf("ctl.eml", "From: a@b.example\nMessage-ID: <a\x01\x1b[31mb@c>\nContent-Type: text/plain\n\nx\n", 68);
	tap_ok(n == 0 && seen.nprob == 1 && strstr(seen.prorigin[0], "<a??[31mb@c>") != NULL,
	    "control characters in a Message-ID do not reach the origin (%s)", seen.nprob ? seen.prorigin[0] : "-");

	/* too many parts: the first RINPUT_MAX_PARTS are looked at */
	buf_init(&m, 16u << 20);
	buf_puts(&m, "From: a@b.example\nMessage-ID: <many@b.example>\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"x\"\n\n");
	for (i = 0; i < 100; i++)
		buf_printf(&m, "--x\nContent-Type: text/xml\n\n<feedback>%d</feedback>\n", i);
	buf_puts(&m, "--x--\n");
	n = run_buf("many.eml", m.data, m.len);
	tap_ok(n == RINPUT_MAX_PARTS && seen.nprob == 1 && problem_like("more than 64 MIME parts"),
	    "100 report parts: %d handed on, the rest refused with a problem", RINPUT_MAX_PARTS);
	buf_free(&m);

	/* multipart nested 1000 deep: GMime survives, we stop looking at 16 */
	buf_init(&m, 16u << 20);
	buf_puts(&m, "From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
	for (i = 1; i < 1000; i++)
		buf_printf(&m, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i - 1, i);
	buf_puts(&m, "--b999\nContent-Type: text/xml\n\n<feedback/>\n");
	for (i = 999; i >= 0; i--)
		buf_printf(&m, "--b%d--\n", i);
	n = run_buf("deep.eml", m.data, m.len);
	tap_ok(n == 0 && seen.nprob == 1 && problem_like("more than 256 multipart containers: not read"),
	    "multipart nested 1000 deep: not parsed at all");
	buf_free(&m);
	/* nested 20 deep: parsed, not looked at past RINPUT_MAX_MIME_DEPTH */
	buf_init(&m, 16u << 20);
	buf_puts(&m, "From: a@b.example\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n");
	for (i = 1; i < 20; i++)
		buf_printf(&m, "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n", i - 1, i);
	buf_puts(&m, "--b19\nContent-Type: text/xml\n\n<feedback/>\n");
	for (i = 19; i >= 0; i--)
		buf_printf(&m, "--b%d--\n", i);
	n = run_buf("deep20.eml", m.data, m.len);
	tap_ok(n == 0 && problem_like("multipart nested more than 16 deep: not looked at") &&
	    problem_like("no aggregate report in this message"), "multipart nested 20 deep: not looked at past 16");
	buf_free(&m);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	const char *top = getenv("top_srcdir");

	if (top == NULL || *top == '\0')
		top = ".";
	snprintf(samples, sizeof(samples), "%s/t/data/reports/samples", top);
	snprintf(maildata, sizeof(maildata), "%s/t/data/reports/mail", top);
	if (access(samples, R_OK) != 0 || access(maildata, R_OK) != 0) {
		printf("Bail out! test data not found under %s/t/data/reports\n", top);
		return 1;
	}
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	test_samples();
	test_xml_samples();
	test_constructed();
	test_mbox_stdin();
	test_maildir();
	test_content();
	test_archives();
	test_bombs();
	seen_reset();
	rinput_shutdown();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
