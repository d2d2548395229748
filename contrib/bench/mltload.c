/*
 * mltload.c - a milter-protocol load generator: it plays the MTA side of
 * the libmilter wire protocol (version 6) against one filter or a chain of
 * filters and measures how fast they answer.  Not a test; a benchmark
 * tool, built by make but not installed.
 *
 * usage: mltload -s SOCKET [-s SOCKET ...] -d CORPUS_DIR [-c CONCURRENCY]
 *            [-n MESSAGES] [-m MSGS_PER_CONNECTION] [-w WARMUP_MESSAGES]
 *            [-t TIMEOUT_SECONDS] [-l LABEL] [-v]
 *
 * SOCKET is inet:PORT@HOST, inet6:PORT@HOST or unix:PATH (libmilter's
 * syntax).  Several -s make a chain, as Postfix chains smtpd_milters: a
 * message goes to the first filter in full; the header changes it answers
 * at end of message (SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER) are
 * applied, and the changed message goes to the next filter; a reject,
 * tempfail or discard ends the message there.  Body replacement and
 * envelope changes are counted as received but not applied.
 *
 * CORPUS_DIR holds envelope.tsv (FILE TAB CLIENT_IP TAB HELO TAB MAIL_FROM
 * TAB RCPT per line; contrib/bench/mkcorpus writes one) and the messages.
 * The whole corpus is read into memory first, so that disk I/O never
 * shows in the figures; -n larger than the corpus cycles through it.
 *
 * One thread per connection slot (-c, at most 512); a slot holds one
 * connection per filter of the chain and sends -m messages on it as one
 * SMTP session with several transactions, as Postfix does: SMFIC_CONNECT
 * and SMFIC_HELO once, with the client and HELO of the session's first
 * message, then SMFIC_MAIL to end of message for each message, and
 * SMFIC_QUIT at the end.  (SMFIC_QUIT_NC cannot separate messages for a
 * libmilter filter: after a final reply at end of message libmilter's
 * state machine (engine.c) is back in its HELO state, from which it
 * silently ignores both SMFIC_QUIT_NC and a new SMFIC_CONNECT, so the MTA
 * would wait for a reply that never comes.)  A message after the first
 * of a session is therefore checked against the session's client
 * address; mkcorpus makes messages whose outcome does not depend on it.
 * The filter's
 * negotiated protocol flags are honoured: stages it does not want are not
 * sent (SMFIP_NO*), replies it will not send are not waited for
 * (SMFIP_NR_*), SMFIR_SKIP ends the body early, header values keep their
 * leading space only with SMFIP_HDR_LEADSPC.  Macros go as Postfix sends
 * them by default: j, {daemon_name}, {daemon_addr}, v, _ before CONNECT;
 * i, {auth_type}, {mail_addr} before MAIL; {rcpt_addr} before RCPT; i
 * before DATA, end of header and end of message.  Each message gets a
 * queue id of its own.
 *
 * Latency is measured per message from its first command (SMFIC_CONNECT,
 * or SMFIC_MAIL later in a session) to the final answer at end of message from the last filter it reached.
 * Opening a connection and the negotiation are outside that time (but
 * inside the wall time), as with an MTA that keeps milter connections.
 *
 * Output: one line on stdout,
 *   label=L sockets=N conc=C msgs=M errors=E secs=S rate=R p50_ms=X
 *   p99_ms=X max_ms=X client_cpu_pct=P accept=A reject=J tempfail=T
 *   quarantine=Q discard=D
 * msgs counts the measured messages (warm-up excluded), rate the ones
 * that got a final answer per second of wall time, client_cpu_pct our own
 * CPU time (user + system, all threads) over that wall time, in percent of
 * one core.  An error (protocol violation, timeout, connection failure) is
 * counted once per message, which is not retried; -v prints each one on
 * stderr.  Exit status 0 without errors, 1 with, 64 for a usage error.
 *
 * Everything read from a filter is bounds-checked: a short or malformed
 * reply is an error for that message, never a crash.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "util.h"

#define MAX_CONC	512
#define MAX_SOCKETS	16
#define MAX_PACKET	(4u * 1024 * 1024)	/* a reply longer than this is broken */
#define RBUF_SIZE	65536
#define EX_USAGE_CODE	64

/* Everything we can do, offered in SMFIC_OPTNEG (libmilter keeps the rest). */
#define OFFER_ACTIONS	SMFI_CURR_ACTS
#define OFFER_PROTO	SMFI_CURR_PROT

/* A header field: value is everything after the colon (leading space
 * kept), a fold as "\n" followed by the continuation's white space. */
struct hdr {
	const char	*name;
	const char	*value;
	char		*owned;		/* non-NULL: a changed field, freed with the copy */
};

struct msg {
	char		*file;
	char		*ip;
	char		*helo;
	char		*mail_from;
	char		*rcpt;
	struct hdr	*hdrs;
	size_t		 n_hdrs;
	char		*body;		/* CRLF line ends */
	size_t		 body_len;
};

struct sockspec {
	char			*name;
	struct sockaddr_storage	 addr;
	socklen_t		 alen;
};

/* The message's header as a filter of the chain sees it. */
struct hdrlist {
	struct hdr	*v;
	size_t		 n;
	size_t		 size;
};

struct obuf {
	unsigned char	*data;
	size_t		 len;
	size_t		 size;
};

/* One connection to one filter. */
struct conn {
	const struct sockspec *sock;
	int		 fd;
	unsigned long	 actions;	/* negotiated SMFIF_* */
	unsigned long	 pflags;	/* negotiated SMFIP_* */
	unsigned	 used;		/* messages sent on it */
	bool		 dirty;		/* a message ended early: start afresh */
	struct obuf	 out;
	unsigned char	*rbuf;		/* RBUF_SIZE bytes read ahead */
	size_t		 rstart;
	size_t		 rend;
	unsigned char	*pkt;		/* the packet last read */
	size_t		 pkt_size;
};

enum outcome {
	OUT_ACCEPT, OUT_REJECT, OUT_TEMPFAIL, OUT_QUARANTINE, OUT_DISCARD, OUT_ERROR,
	OUT_N
};

/* What one filter answered at some stage. */
enum rr {
	RR_CONTINUE, RR_ACCEPT, RR_REJECT, RR_TEMPFAIL, RR_DISCARD, RR_SKIP, RR_ERROR
};

struct slot {
	pthread_t	 tid;
	unsigned	 id;
	struct conn	 conns[MAX_SOCKETS];
	unsigned long	 count[OUT_N];
};

/* Options and the corpus: written by main before any thread starts. */
static struct sockspec	 sockets[MAX_SOCKETS];
static unsigned		 n_sockets;
static struct msg	*corpus;
static size_t		 n_corpus;
static unsigned		 opt_conc = 1;
static unsigned long	 opt_msgs;
static unsigned		 opt_per_conn = 1;
static unsigned long	 opt_warmup;
static unsigned		 opt_timeout = 30;
static const char	*opt_label = "run";
static bool		 opt_verbose;

/* Shared between threads: atomic counters only. */
static unsigned long	 next_warmup;
static unsigned long	 next_msg;
static unsigned long	 qid_seq;
static uint64_t		*latency_ns;	/* per measured message; UINT64_MAX: error */
static pthread_barrier_t phase_barrier;

/* now_ns - monotonic time */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* usage - say how to call us; exit 64 */
static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mltload: %s\n", why);
	fprintf(stderr, "usage: mltload -s SOCKET [-s SOCKET ...] -d CORPUS_DIR [-c CONCURRENCY] "
	    "[-n MESSAGES] [-m MSGS_PER_CONNECTION] [-w WARMUP_MESSAGES] [-t TIMEOUT_SECONDS] "
	    "[-l LABEL] [-v]\n");
	exit(EX_USAGE_CODE);
}

/* die - a fatal error outside the measurement (the corpus, memory) */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("mltload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* number - a decimal option argument in [lo, hi], or a usage error */
static unsigned long
number(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		usage(what);
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		usage(what);
	return v;
}

/*
 * sock_parse - libmilter's socket syntax: inet:PORT@HOST, inet6:PORT@HOST,
 * unix:PATH or local:PATH.  HOST may be a name (resolved once, here).
 */
static int
sock_parse(const char *spec, struct sockspec *ss)
{
	struct addrinfo hints, *res;
	const char *rest, *at;
	char port[16], *host;
	int family, rc;

	memset(ss, 0, sizeof(*ss));
	ss->name = xstrdup(spec);
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss->addr;

		rest = strchr(spec, ':') + 1;
		if (*rest == '\0' || strlen(rest) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, rest, strlen(rest) + 1);
		ss->alen = sizeof(*sun);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		family = AF_INET;
		rest = spec + 5;
	} else if (strncmp(spec, "inet6:", 6) == 0) {
		family = AF_INET6;
		rest = spec + 6;
	} else
		return -1;
	at = strchr(rest, '@');
	if (at == NULL || at == rest || (size_t)(at - rest) >= sizeof(port) || at[1] == '\0')
		return -1;
	memcpy(port, rest, (size_t)(at - rest));
	port[at - rest] = '\0';
	host = xstrdup(at + 1);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {	/* inet6:PORT@[::1] */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	free(host);
	if (rc != 0)
		return -1;
	if (res->ai_addrlen > sizeof(ss->addr)) {
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&ss->addr, res->ai_addr, res->ai_addrlen);
	ss->alen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- the corpus ---- */

/* read_file - a whole file, NUL-terminated */
static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	char *b;
	size_t got = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	b = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s: short read", path);
		got += (size_t)r;
	}
	close(fd);
	b[got] = '\0';
	*len = got;
	return b;
}

/* line_end - length of the line ending at p[i] ("\r\n" or "\n"), 0 if none */
static size_t
line_end(const char *p, size_t len, size_t i)
{
	if (i < len && p[i] == '\n')
		return 1;
	if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
		return 2;
	return 0;
}

/*
 * msg_parse - split a message file into header fields and a CRLF body.
 * Line ends may be CRLF or LF.  A fold becomes "\n" inside the value, as
 * Postfix hands folded fields to milters.
 */
static void
msg_parse(struct msg *m, const char *path, const char *raw, size_t len)
{
	size_t i = 0, cap = 32, j, eol, bl;
	struct obuf v;
	const char *name;
	size_t name_len;
	char *body;

	m->hdrs = xcalloc(cap, sizeof(*m->hdrs));
	m->n_hdrs = 0;
	memset(&v, 0, sizeof(v));
	while (i < len && line_end(raw, len, i) == 0) {
		/* one field: name, colon, value, continuation lines */
		for (j = i; j < len && raw[j] != ':' && raw[j] != '\r' && raw[j] != '\n'; j++)
			;
		if (j >= len || raw[j] != ':' || j == i)
			die("%s: header line without a field name", path);
		name = raw + i;
		name_len = j - i;
		v.len = 0;
		i = j + 1;
		for (;;) {
			for (j = i; j < len && line_end(raw, len, j) == 0; j++)
				;
			if (v.len + (j - i) + 2 > v.size) {
				v.size = (v.len + (j - i) + 2) * 2;
				v.data = xrealloc(v.data, v.size);
			}
			memcpy(v.data + v.len, raw + i, j - i);
			v.len += j - i;
			eol = line_end(raw, len, j);
			i = j + eol;
			if (eol == 0 || i >= len || (raw[i] != ' ' && raw[i] != '\t'))
				break;
			v.data[v.len++] = '\n';
		}
		if (m->n_hdrs == cap) {
			cap *= 2;
			m->hdrs = xrealloc(m->hdrs, cap * sizeof(*m->hdrs));
		}
		m->hdrs[m->n_hdrs].name = xstrndup(name, name_len);
		m->hdrs[m->n_hdrs].value = xstrndup((char *)v.data, v.len);
		m->hdrs[m->n_hdrs].owned = NULL;
		m->n_hdrs++;
	}
	free(v.data);
	i += line_end(raw, len, i);	/* the empty line */
	/* the body, every line end made CRLF */
	body = xmalloc((len - i) * 2 + 1);
	for (bl = 0; i < len; i++) {
		if (raw[i] == '\n' && (bl == 0 || body[bl - 1] != '\r'))
			body[bl++] = '\r';
		body[bl++] = raw[i];
	}
	body[bl] = '\0';
	m->body = body;
	m->body_len = bl;
}

/* corpus_load - envelope.tsv and every message it names */
static void
corpus_load(const char *dir)
{
	char *path, *tsv, *line, *save = NULL, *f[5], *p, *raw;
	size_t len, cap = 256, rlen;
	unsigned long lineno = 0;
	int k;

	path = xasprintf("%s/envelope.tsv", dir);
	tsv = read_file(path, &len);
	corpus = xcalloc(cap, sizeof(*corpus));
	for (line = strtok_r(tsv, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if ((p = strchr(line, '\r')) != NULL)
			*p = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		f[0] = line;
		for (k = 1; k < 5; k++) {
			if ((p = strchr(f[k - 1], '\t')) == NULL)
				die("%s:%lu: want 5 tab-separated fields", path, lineno);
			*p = '\0';
			f[k] = p + 1;
		}
		if (strchr(f[4], '\t') != NULL || *f[0] == '\0' || *f[1] == '\0')
			die("%s:%lu: want 5 tab-separated fields", path, lineno);
		if (n_corpus == cap) {
			cap *= 2;
			corpus = xrealloc(corpus, cap * sizeof(*corpus));
		}
		struct msg *m = &corpus[n_corpus++];
		m->file = f[0][0] == '/' ? xstrdup(f[0]) : xasprintf("%s/%s", dir, f[0]);
		m->ip = xstrdup(f[1]);
		m->helo = xstrdup(f[2]);
		m->mail_from = xstrdup(f[3]);
		m->rcpt = xstrdup(f[4]);
		raw = read_file(m->file, &rlen);
		msg_parse(m, m->file, raw, rlen);
		free(raw);
	}
	if (n_corpus == 0)
		die("%s: no messages", path);
	free(tsv);
	free(path);
}

/* ---- writing commands ---- */

/* ob_put - append bytes to a connection's output */
static void
ob_put(struct obuf *o, const void *p, size_t n)
{
	if (o->len + n > o->size) {
		o->size = (o->len + n) * 2 + 1024;
		o->data = xrealloc(o->data, o->size);
	}
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

/* put32 - a 32-bit value in network byte order */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* get32 - a 32-bit value in network byte order */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* pkt_begin - start a command; returns where its length goes */
static size_t
pkt_begin(struct conn *c, char cmd)
{
	unsigned char hdr[5] = { 0, 0, 0, 0, (unsigned char)cmd };
	size_t at = c->out.len;

	ob_put(&c->out, hdr, sizeof(hdr));
	return at;
}

/* pkt_end - fill in the length of the command started at `at` */
static void
pkt_end(struct conn *c, size_t at)
{
	put32(c->out.data + at, (uint32_t)(c->out.len - at - 4));
}

/* pkt_str - a NUL-terminated string as command data */
static void
pkt_str(struct conn *c, const char *s)
{
	ob_put(&c->out, s, strlen(s) + 1);
}

/* pkt_simple - a command without data */
static void
pkt_simple(struct conn *c, char cmd)
{
	pkt_end(c, pkt_begin(c, cmd));
}

/* put_macros - SMFIC_MACRO for the command `stage`: name/value pairs */
static void
put_macros(struct conn *c, char stage, const char *const *kv, size_t n)
{
	size_t at = pkt_begin(c, SMFIC_MACRO), i;

	ob_put(&c->out, &stage, 1);
	for (i = 0; i + 1 < n; i += 2) {
		pkt_str(c, kv[i]);
		pkt_str(c, kv[i + 1]);
	}
	pkt_end(c, at);
}

/* conn_flush - send what is buffered */
static int
conn_flush(struct conn *c, char *err, size_t errlen)
{
	size_t off = 0;
	ssize_t r;

	while (off < c->out.len) {
		r = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(err, errlen, "write: %s", errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timeout" : strerror(errno));
			return -1;
		}
		off += (size_t)r;
	}
	c->out.len = 0;
	return 0;
}

/* ---- reading replies ---- */

/* conn_fill - read at least `want` bytes ahead (want <= RBUF_SIZE) */
static int
conn_fill(struct conn *c, size_t want, char *err, size_t errlen)
{
	ssize_t r;

	if (c->rend - c->rstart >= want)
		return 0;
	if (c->rstart > 0) {
		memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
		c->rend -= c->rstart;
		c->rstart = 0;
	}
	while (c->rend < want) {
		r = recv(c->fd, c->rbuf + c->rend, RBUF_SIZE - c->rend, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			err_set(err, errlen, "the filter closed the connection");
			return -1;
		}
		if (r < 0) {
			err_set(err, errlen, "read: %s", errno == EAGAIN || errno == EWOULDBLOCK ?
			    "timeout" : strerror(errno));
			return -1;
		}
		c->rend += (size_t)r;
	}
	return 0;
}

/*
 * pkt_read - one reply: its command and data (in c->pkt, NUL-terminated
 * one past the data, which a reply need not be).  A length of 0 or over
 * MAX_PACKET is a protocol error.
 */
static int
pkt_read(struct conn *c, char *cmd, size_t *len, char *err, size_t errlen)
{
	uint32_t n;
	size_t got, take;

	if (conn_fill(c, 4, err, errlen) < 0)
		return -1;
	n = get32(c->rbuf + c->rstart);
	c->rstart += 4;
	if (n == 0 || n > MAX_PACKET) {
		err_set(err, errlen, "reply length %lu out of range", (unsigned long)n);
		return -1;
	}
	if (n + 1 > c->pkt_size) {
		c->pkt_size = n + 1;
		c->pkt = xrealloc(c->pkt, c->pkt_size);
	}
	for (got = 0; got < n; got += take) {
		if (conn_fill(c, 1, err, errlen) < 0)
			return -1;
		take = c->rend - c->rstart;
		if (take > n - got)
			take = n - got;
		memcpy(c->pkt + got, c->rbuf + c->rstart, take);
		c->rstart += take;
	}
	c->pkt[n] = '\0';
	*cmd = (char)c->pkt[0];
	*len = n - 1;
	return 0;
}

/* reply_code - SMFIR_REPLYCODE: "5xy ..." is a reject, "4xy ..." a tempfail */
static enum rr
reply_code(const unsigned char *d, size_t len, char *err, size_t errlen)
{
	if (len >= 3 && (d[0] == '4' || d[0] == '5') && d[1] >= '0' && d[1] <= '9' &&
	    d[2] >= '0' && d[2] <= '9')
		return d[0] == '5' ? RR_REJECT : RR_TEMPFAIL;
	err_set(err, errlen, "SMFIR_REPLYCODE without a 4xx/5xx code");
	return RR_ERROR;
}

/* final_reply - map a final reply command; RR_ERROR if it is none */
static enum rr
final_reply(char cmd, const unsigned char *d, size_t len, char *err, size_t errlen)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		return RR_CONTINUE;
	case SMFIR_ACCEPT:
		return RR_ACCEPT;
	case SMFIR_REJECT:
		return RR_REJECT;
	case SMFIR_TEMPFAIL:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		return RR_TEMPFAIL;
	case SMFIR_DISCARD:
		return RR_DISCARD;
	case SMFIR_REPLYCODE:
		return reply_code(d, len, err, errlen);
	}
	if (cmd >= ' ' && cmd < 127)
		err_set(err, errlen, "unexpected reply '%c'", cmd);
	else
		err_set(err, errlen, "unexpected reply 0x%02x", (unsigned char)cmd);
	return RR_ERROR;
}

/* stage_reply - the filter's answer to one command before end of message */
static enum rr
stage_reply(struct conn *c, const char *stage, bool body, char *err, size_t errlen)
{
	char cmd, why[160];
	size_t len;
	enum rr r;

	if (conn_flush(c, why, sizeof(why)) < 0) {
		err_set(err, errlen, "%s: %s", stage, why);
		return RR_ERROR;
	}
	for (;;) {
		if (pkt_read(c, &cmd, &len, why, sizeof(why)) < 0) {
			err_set(err, errlen, "%s: %s", stage, why);
			return RR_ERROR;
		}
		if (cmd == SMFIR_PROGRESS)
			continue;
		if (cmd == SMFIR_SKIP) {
			if (body && (c->pflags & SMFIP_SKIP))
				return RR_SKIP;
			err_set(err, errlen, "SMFIR_SKIP after %s", stage);
			return RR_ERROR;
		}
		r = final_reply(cmd, c->pkt + 1, len, why, sizeof(why));
		if (r == RR_ERROR)
			err_set(err, errlen, "%s after %s", why, stage);
		return r;
	}
}

/* ---- header changes (chains) ---- */

/* hl_copy - a changeable copy of a message's header */
static void
hl_copy(struct hdrlist *hl, const struct msg *m)
{
	if (hl->size < m->n_hdrs + 1) {
		hl->size = m->n_hdrs + 16;
		hl->v = xrealloc(hl->v, hl->size * sizeof(*hl->v));
	}
	memcpy(hl->v, m->hdrs, m->n_hdrs * sizeof(*hl->v));
	hl->n = m->n_hdrs;
}

/* hl_clear - free the changed fields */
static void
hl_clear(struct hdrlist *hl)
{
	size_t i;

	for (i = 0; i < hl->n; i++) {
		free(hl->v[i].owned);
		hl->v[i].owned = NULL;
	}
	hl->n = 0;
}

/* hl_field - a new field; without SMFIP_HDR_LEADSPC the filter's value
 * has no leading space and the MTA adds one */
static struct hdr
hl_field(const char *name, const char *value, bool leadspc)
{
	struct hdr h;
	size_t nl = strlen(name);

	h.owned = xasprintf("%s%c%s%s", name, '\0', leadspc ? "" : " ", value);
	h.name = h.owned;
	h.value = h.owned + nl + 1;
	return h;
}

/* hl_insert - a field at position idx (past the end: appended) */
static void
hl_insert(struct hdrlist *hl, size_t idx, struct hdr h)
{
	if (hl->n + 1 > hl->size) {
		hl->size = hl->size * 2 + 16;
		hl->v = xrealloc(hl->v, hl->size * sizeof(*hl->v));
	}
	if (idx > hl->n)
		idx = hl->n;
	memmove(&hl->v[idx + 1], &hl->v[idx], (hl->n - idx) * sizeof(*hl->v));
	hl->v[idx] = h;
	hl->n++;
}

/*
 * hl_change - SMFIR_CHGHEADER: the idx-th (from 1) field of that name
 * gets the value, or goes if the value is empty; a missing one is added
 * (sendmail and Postfix both do that).
 */
static void
hl_change(struct hdrlist *hl, uint32_t idx, const char *name, const char *value, bool leadspc)
{
	size_t i, nth = 0;

	for (i = 0; i < hl->n; i++) {
		if (strcasecmp(hl->v[i].name, name) != 0 || ++nth != idx)
			continue;
		free(hl->v[i].owned);
		if (*value == '\0') {
			memmove(&hl->v[i], &hl->v[i + 1], (hl->n - i - 1) * sizeof(*hl->v));
			hl->n--;
		} else
			hl->v[i] = hl_field(name, value, leadspc);
		return;
	}
	if (*value != '\0')
		hl_insert(hl, hl->n, hl_field(name, value, leadspc));
}

/*
 * header_mod - parse SMFIR_ADDHEADER / INSHEADER / CHGHEADER and apply it
 * to hl (NULL: nobody comes after this filter, only check it).  Data:
 * [index (4 bytes)] name NUL value NUL.
 */
static int
header_mod(struct conn *c, char cmd, size_t len, struct hdrlist *hl, char *err, size_t errlen)
{
	const unsigned char *d = c->pkt + 1;
	const char *name, *value, *nul;
	uint32_t idx = 0;
	size_t off = 0;
	bool leadspc = (c->pflags & SMFIP_HDR_LEADSPC) != 0;

	if (cmd != SMFIR_ADDHEADER) {
		if (len < 4) {
			err_set(err, errlen, "short header change '%c'", cmd);
			return -1;
		}
		idx = get32(d);
		off = 4;
	}
	name = (const char *)d + off;
	nul = memchr(name, '\0', len - off);
	if (nul == NULL || nul == name) {
		err_set(err, errlen, "header change '%c' without a field name", cmd);
		return -1;
	}
	value = nul + 1;
	/* the value ends at its NUL or, leniently, at the end of the data
	 * (pkt_read put a NUL one past it) */
	if ((size_t)(value - (const char *)d) > len) {
		err_set(err, errlen, "header change '%c' without a value", cmd);
		return -1;
	}
	if (hl == NULL)
		return 0;
	switch (cmd) {
	case SMFIR_ADDHEADER:
		hl_insert(hl, hl->n, hl_field(name, value, leadspc));
		break;
	case SMFIR_INSHEADER:
		hl_insert(hl, idx, hl_field(name, value, leadspc));
		break;
	case SMFIR_CHGHEADER:
		hl_change(hl, idx, name, value, leadspc);
		break;
	}
	return 0;
}

/* eom_reply - the end-of-message answer: changes, then one final reply */
static enum rr
eom_reply(struct conn *c, struct hdrlist *hl, bool *quarantine, char *err, size_t errlen)
{
	char cmd, why[160];
	size_t len;
	enum rr r;

	if (conn_flush(c, why, sizeof(why)) < 0) {
		err_set(err, errlen, "end of message: %s", why);
		return RR_ERROR;
	}
	for (;;) {
		if (pkt_read(c, &cmd, &len, why, sizeof(why)) < 0) {
			err_set(err, errlen, "end of message: %s", why);
			return RR_ERROR;
		}
		switch (cmd) {
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
			if (header_mod(c, cmd, len, hl, err, errlen) < 0)
				return RR_ERROR;
			continue;
		case SMFIR_QUARANTINE:
			*quarantine = true;
			continue;
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_CHGFROM:
		case SMFIR_REPLBODY:
		case SMFIR_SETSYMLIST:
			continue;	/* taken, not applied */
		case SMFIR_SKIP:
			err_set(err, errlen, "SMFIR_SKIP at end of message");
			return RR_ERROR;
		}
		r = final_reply(cmd, c->pkt + 1, len, why, sizeof(why));
		if (r == RR_ERROR)
			err_set(err, errlen, "%s at end of message", why);
		return r;
	}
}

/* ---- connections ---- */

/* conn_close - QUIT (when polite) and close */
static void
conn_close(struct conn *c, bool quit)
{
	char err[8];

	if (c->fd < 0)
		return;
	if (quit) {
		c->out.len = 0;
		pkt_simple(c, SMFIC_QUIT);
		(void)conn_flush(c, err, sizeof(err));
	}
	close(c->fd);
	c->fd = -1;
	c->out.len = 0;
	c->rstart = c->rend = 0;
	c->used = 0;
	c->dirty = false;
}

/*
 * conn_open - connect and negotiate: we offer protocol version 6, every
 * action and every protocol flag; the filter answers with what it takes.
 */
static int
conn_open(struct conn *c, char *err, size_t errlen)
{
	struct timeval tv;
	unsigned char opt[12];
	size_t at, len;
	char cmd;
	uint32_t ver;
	int one = 1;

	c->fd = socket(c->sock->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err_set(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	tv.tv_sec = (time_t)opt_timeout;
	tv.tv_usec = 0;
	/* SO_SNDTIMEO bounds connect() too (Linux) */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->sock->addr.ss_family != AF_UNIX)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)&c->sock->addr, c->sock->alen) < 0) {
		err_set(err, errlen, "connect: %s", errno == EINPROGRESS || errno == EAGAIN ?
		    "timeout" : strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->out.len = 0;
	c->rstart = c->rend = 0;
	c->used = 0;
	c->dirty = false;
	put32(opt, SMFI_PROT_VERSION);
	put32(opt + 4, OFFER_ACTIONS);
	put32(opt + 8, OFFER_PROTO);
	at = pkt_begin(c, SMFIC_OPTNEG);
	ob_put(&c->out, opt, sizeof(opt));
	pkt_end(c, at);
	if (conn_flush(c, err, errlen) < 0 || pkt_read(c, &cmd, &len, err, errlen) < 0)
		goto fail;
	if (cmd != SMFIC_OPTNEG || len < 12) {
		err_set(err, errlen, "negotiation: bad reply (command 0x%02x, %zu bytes)",
		    (unsigned char)cmd, len);
		goto fail;
	}
	/* any macro lists after the 12 bytes are ignored: we send our set */
	ver = get32(c->pkt + 1);
	c->actions = get32(c->pkt + 5);
	c->pflags = get32(c->pkt + 9) & ~(unsigned long)SMFI_INTERNAL;
	if (ver < 2 || ver > SMFI_PROT_VERSION) {
		err_set(err, errlen, "negotiation: filter speaks protocol version %lu", (unsigned long)ver);
		goto fail;
	}
	if ((c->pflags & ~(unsigned long)OFFER_PROTO) != 0) {
		err_set(err, errlen, "negotiation: filter wants protocol flags 0x%lx we did not offer",
		    c->pflags & ~(unsigned long)OFFER_PROTO);
		goto fail;
	}
	return 0;
fail:
	conn_close(c, false);
	return -1;
}

/* ---- one message through one filter ---- */

/*
 * milter_message - send one message to one filter.  Returns its answer
 * (RR_CONTINUE or RR_ACCEPT: passed on), hl gets its header changes.
 * A non-final answer before end of message marks the connection dirty:
 * it is closed after the message, as the filter's state is then
 * whatever it made of the abandoned transaction.
 */
static enum rr
milter_message(struct conn *c, const struct msg *m, const struct hdrlist *in,
    struct hdrlist *hl, const char *qid, unsigned long seq, bool *quarantine,
    char *err, size_t errlen)
{
	unsigned long pf = c->pflags;
	bool six = strchr(m->ip, ':') != NULL;
	char *underscore;
	unsigned char port[2];
	size_t at, i, off, n;
	enum rr r = RR_CONTINUE;

	/* the SMTP session starts with the first message on the connection */
	if (c->used++ == 0 && !(pf & SMFIP_NOCONNECT)) {
		unsigned p = 1024 + (unsigned)(seq % 60000);

		underscore = xasprintf("unknown [%s]", m->ip);
		const char *mc[] = { "j", "mx.bench.test", "{daemon_name}", "mltload",
		    "{daemon_addr}", "127.0.0.1", "v", "Postfix 3.7.11", "_", underscore };

		put_macros(c, SMFIC_CONNECT, mc, sizeof(mc) / sizeof(mc[0]));
		free(underscore);
		at = pkt_begin(c, SMFIC_CONNECT);
		ob_put(&c->out, "[", 1);
		ob_put(&c->out, m->ip, strlen(m->ip));
		pkt_str(c, "]");
		ob_put(&c->out, six ? "6" : "4", 1);
		port[0] = (unsigned char)(p >> 8);
		port[1] = (unsigned char)p;
		ob_put(&c->out, port, 2);
		pkt_str(c, m->ip);
		pkt_end(c, at);
		if (!(pf & SMFIP_NR_CONN) && (r = stage_reply(c, "CONNECT", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (c->used == 1 && !(pf & SMFIP_NOHELO)) {
		at = pkt_begin(c, SMFIC_HELO);
		pkt_str(c, m->helo);
		pkt_end(c, at);
		if (!(pf & SMFIP_NR_HELO) && (r = stage_reply(c, "HELO", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (!(pf & SMFIP_NOMAIL)) {
		const char *mm[] = { "i", qid, "{auth_type}", "", "{mail_addr}", m->mail_from };

		put_macros(c, SMFIC_MAIL, mm, sizeof(mm) / sizeof(mm[0]));
		at = pkt_begin(c, SMFIC_MAIL);
		ob_put(&c->out, "<", 1);
		ob_put(&c->out, m->mail_from, strlen(m->mail_from));
		pkt_str(c, ">");
		pkt_end(c, at);
		if (!(pf & SMFIP_NR_MAIL) && (r = stage_reply(c, "MAIL", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (!(pf & SMFIP_NORCPT)) {
		const char *mr[] = { "{rcpt_addr}", m->rcpt };

		put_macros(c, SMFIC_RCPT, mr, sizeof(mr) / sizeof(mr[0]));
		at = pkt_begin(c, SMFIC_RCPT);
		ob_put(&c->out, "<", 1);
		ob_put(&c->out, m->rcpt, strlen(m->rcpt));
		pkt_str(c, ">");
		pkt_end(c, at);
		if (!(pf & SMFIP_NR_RCPT) && (r = stage_reply(c, "RCPT", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (!(pf & SMFIP_NODATA)) {
		const char *md[] = { "i", qid };

		put_macros(c, SMFIC_DATA, md, 2);
		pkt_simple(c, SMFIC_DATA);
		if (!(pf & SMFIP_NR_DATA) && (r = stage_reply(c, "DATA", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (!(pf & SMFIP_NOHDRS)) {
		for (i = 0; i < in->n; i++) {
			const char *v = in->v[i].value;

			/* without SMFIP_HDR_LEADSPC the white space after the
			 * colon is the MTA's, not part of the value */
			if (!(pf & SMFIP_HDR_LEADSPC))
				while (*v == ' ' || *v == '\t')
					v++;
			at = pkt_begin(c, SMFIC_HEADER);
			pkt_str(c, in->v[i].name);
			pkt_str(c, v);
			pkt_end(c, at);
			if (!(pf & SMFIP_NR_HDR) && (r = stage_reply(c, "HEADER", false, err, errlen)) != RR_CONTINUE)
				goto early;
		}
	}
	if (!(pf & SMFIP_NOEOH)) {
		const char *me[] = { "i", qid };

		put_macros(c, SMFIC_EOH, me, 2);
		pkt_simple(c, SMFIC_EOH);
		if (!(pf & SMFIP_NR_EOH) && (r = stage_reply(c, "EOH", false, err, errlen)) != RR_CONTINUE)
			goto early;
	}
	if (!(pf & SMFIP_NOBODY)) {
		for (off = 0; off < m->body_len; off += n) {
			n = m->body_len - off;
			if (n > MILTER_CHUNK_SIZE)
				n = MILTER_CHUNK_SIZE;
			at = pkt_begin(c, SMFIC_BODY);
			ob_put(&c->out, m->body + off, n);
			pkt_end(c, at);
			if (!(pf & SMFIP_NR_BODY)) {
				r = stage_reply(c, "BODY", true, err, errlen);
				if (r == RR_SKIP) {
					r = RR_CONTINUE;
					break;
				}
				if (r != RR_CONTINUE)
					goto early;
			}
		}
	}
	{
		const char *mo[] = { "i", qid };

		put_macros(c, SMFIC_BODYEOB, mo, 2);
		pkt_simple(c, SMFIC_BODYEOB);
	}
	return eom_reply(c, hl, quarantine, err, errlen);
early:
	if (r != RR_ERROR)
		c->dirty = true;
	return r;
}

/* ---- the load ---- */

/*
 * slot_message - one message through the chain; returns its outcome.
 * hl is the header as the next filter will see it: the changes a filter
 * answers at end of message are made in place, as all of it was sent.
 */
static enum outcome
slot_message(struct slot *sl, const struct msg *m, struct hdrlist *hl,
    unsigned long seq, uint64_t *lat)
{
	char err[512], qid[32];
	bool quarantine = false;
	enum outcome out = OUT_ACCEPT;
	enum rr r;
	unsigned k;
	uint64_t t0;

	snprintf(qid, sizeof(qid), "%05X%07lX", (unsigned)getpid() & 0xfffff, seq & 0xfffffff);
	err[0] = '\0';
	/* connections first: their set-up is not the message's latency */
	for (k = 0; k < n_sockets; k++)
		if (sl->conns[k].fd < 0 && conn_open(&sl->conns[k], err, sizeof(err)) < 0)
			goto error;
	hl_copy(hl, m);
	t0 = now_ns();
	for (k = 0; k < n_sockets; k++) {
		r = milter_message(&sl->conns[k], m, hl, k + 1 < n_sockets ? hl : NULL,
		    qid, seq, &quarantine, err, sizeof(err));
		if (r == RR_ERROR)
			goto error;
		if (r == RR_REJECT) {
			out = OUT_REJECT;
			break;
		}
		if (r == RR_TEMPFAIL) {
			out = OUT_TEMPFAIL;
			break;
		}
		if (r == RR_DISCARD) {
			out = OUT_DISCARD;
			break;
		}
	}
	*lat = now_ns() - t0;
	if (out == OUT_ACCEPT && quarantine)
		out = OUT_QUARANTINE;
	hl_clear(hl);
	for (k = 0; k < n_sockets; k++)
		if (sl->conns[k].fd >= 0 && (sl->conns[k].dirty || sl->conns[k].used >= opt_per_conn))
			conn_close(&sl->conns[k], true);
	return out;
error:
	if (opt_verbose)
		fprintf(stderr, "mltload: %s (queue id %s): filter %u (%s): %s\n",
		    m->file, qid, k + 1, sockets[k < n_sockets ? k : 0].name, err);
	/* whatever state the chain is in, start afresh */
	hl_clear(hl);
	for (k = 0; k < n_sockets; k++)
		conn_close(&sl->conns[k], false);
	*lat = UINT64_MAX;
	return OUT_ERROR;
}

/* run_phase - take messages from a shared counter until `total` */
static void
run_phase(struct slot *sl, unsigned long *counter, unsigned long total, bool measured,
    struct hdrlist *hl)
{
	unsigned long i, seq;
	enum outcome o;
	uint64_t lat;

	for (;;) {
		i = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
		if (i >= total)
			break;
		seq = __atomic_fetch_add(&qid_seq, 1, __ATOMIC_RELAXED);
		o = slot_message(sl, &corpus[i % n_corpus], hl, seq, &lat);
		if (measured) {
			sl->count[o]++;
			latency_ns[i] = lat;
		}
	}
}

/* slot_main - one connection slot: warm-up, the measured run, goodbye */
static void *
slot_main(void *arg)
{
	struct slot *sl = arg;
	struct hdrlist hl;
	unsigned k;

	memset(&hl, 0, sizeof(hl));
	run_phase(sl, &next_warmup, opt_warmup, false, &hl);
	pthread_barrier_wait(&phase_barrier);	/* warm-up done */
	pthread_barrier_wait(&phase_barrier);	/* main took the start time */
	run_phase(sl, &next_msg, opt_msgs, true, &hl);
	for (k = 0; k < n_sockets; k++)
		conn_close(&sl->conns[k], true);
	free(hl.v);
	return NULL;
}

/* cmp_u64 - qsort order */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* cpu_ns - user + system time of the whole process */
static uint64_t
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	    ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* pct_ms - the nearest-rank percentile of sorted latencies, in ms */
static double
pct_ms(const uint64_t *v, size_t n, double p)
{
	size_t r;

	if (n == 0)
		return 0.0;
	r = (size_t)(p * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)v[r - 1] / 1e6;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	struct slot *slots;
	pthread_attr_t attr;
	unsigned long count[OUT_N], ok_n = 0, i;
	uint64_t t0, t1, c0, c1, *ok_lat;
	double secs;
	char *label, *p;
	unsigned k, s;
	int ch;

	while ((ch = getopt(argc, argv, "c:d:l:m:n:s:t:vw:")) != -1) {
		switch (ch) {
		case 'c':
			opt_conc = (unsigned)number(optarg, 1, MAX_CONC, "-c: 1 to 512 connections");
			break;
		case 'd':
			dir = optarg;
			break;
		case 'l':
			opt_label = optarg;
			break;
		case 'm':
			opt_per_conn = (unsigned)number(optarg, 1, UINT_MAX, "-m: messages per connection, at least 1");
			break;
		case 'n':
			opt_msgs = number(optarg, 1, ULONG_MAX / 2, "-n: messages, at least 1");
			break;
		case 's':
			if (n_sockets == MAX_SOCKETS)
				usage("at most 16 sockets (-s)");
			if (sock_parse(optarg, &sockets[n_sockets]) < 0)
				usage("-s: want inet:PORT@HOST, inet6:PORT@HOST or unix:PATH");
			n_sockets++;
			break;
		case 't':
			opt_timeout = (unsigned)number(optarg, 1, 86400, "-t: timeout in seconds, 1 to 86400");
			break;
		case 'v':
			opt_verbose = true;
			break;
		case 'w':
			opt_warmup = number(optarg, 0, ULONG_MAX / 2, "-w: warm-up messages");
			break;
		default:
			usage(NULL);
		}
	}
	if (optind != argc)
		usage("unexpected arguments");
	if (n_sockets == 0 || dir == NULL)
		usage("-s and -d are required");

	signal(SIGPIPE, SIG_IGN);
	corpus_load(dir);
	if (opt_msgs == 0)
		opt_msgs = n_corpus;
	latency_ns = xcalloc(opt_msgs, sizeof(*latency_ns));

	slots = xcalloc(opt_conc, sizeof(*slots));
	pthread_barrier_init(&phase_barrier, NULL, opt_conc + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (s = 0; s < opt_conc; s++) {
		slots[s].id = s;
		for (k = 0; k < n_sockets; k++) {
			slots[s].conns[k].sock = &sockets[k];
			slots[s].conns[k].fd = -1;
			slots[s].conns[k].rbuf = xmalloc(RBUF_SIZE);
		}
		if (pthread_create(&slots[s].tid, &attr, slot_main, &slots[s]) != 0)
			die("cannot start thread %u of %u", s + 1, opt_conc);
	}
	pthread_barrier_wait(&phase_barrier);
	t0 = now_ns();
	c0 = cpu_ns();
	pthread_barrier_wait(&phase_barrier);
	for (s = 0; s < opt_conc; s++)
		pthread_join(slots[s].tid, NULL);
	t1 = now_ns();
	c1 = cpu_ns();

	memset(count, 0, sizeof(count));
	for (s = 0; s < opt_conc; s++)
		for (k = 0; k < OUT_N; k++)
			count[k] += slots[s].count[k];
	ok_lat = xcalloc(opt_msgs, sizeof(*ok_lat));
	for (i = 0; i < opt_msgs; i++)
		if (latency_ns[i] != UINT64_MAX)
			ok_lat[ok_n++] = latency_ns[i];
	qsort(ok_lat, ok_n, sizeof(*ok_lat), cmp_u64);
	secs = (double)(t1 - t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	/* the label is one token of a space-separated line */
	label = xstrdup(*opt_label != '\0' ? opt_label : "run");
	for (p = label; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '=')
			*p = '_';
	printf("label=%s sockets=%u conc=%u msgs=%lu errors=%lu secs=%.3f rate=%.1f "
	    "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f client_cpu_pct=%.1f "
	    "accept=%lu reject=%lu tempfail=%lu quarantine=%lu discard=%lu\n",
	    label, n_sockets, opt_conc, opt_msgs, count[OUT_ERROR], secs,
	    (double)ok_n / secs, pct_ms(ok_lat, ok_n, 0.50), pct_ms(ok_lat, ok_n, 0.99),
	    ok_n > 0 ? (double)ok_lat[ok_n - 1] / 1e6 : 0.0,
	    100.0 * (double)(c1 - c0) / (double)(t1 - t0 > 0 ? t1 - t0 : 1),
	    count[OUT_ACCEPT], count[OUT_REJECT], count[OUT_TEMPFAIL], count[OUT_QUARANTINE],
	    count[OUT_DISCARD]);
	fflush(stdout);

	/* everything back, so that a leak checker (make check under ASan) sees none */
	for (s = 0; s < opt_conc; s++) {
		for (k = 0; k < n_sockets; k++) {
			free(slots[s].conns[k].rbuf);
			free(slots[s].conns[k].out.data);
			free(slots[s].conns[k].pkt);
		}
	}
	free(slots);
	free(ok_lat);
	free(label);
	free(latency_ns);
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&phase_barrier);
	return count[OUT_ERROR] == 0 ? 0 : 1;
}
