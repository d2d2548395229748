/*
 * nullmilter.c - a filter that does nothing, to measure what libmilter and
 * the milter protocol cost by themselves: the ceiling that dmarc-milter's
 * figures from contrib/bench/mltload are compared with.  Not installed.
 *
 * usage: nullmilter -p SOCKET [-l]
 *
 *   default  every callback (connect, helo, envfrom, envrcpt, header, eoh,
 *            body, eom) is registered and answers, SMFIS_CONTINUE up to
 *            SMFIS_ACCEPT at end of message: the MTA waits for a reply to
 *            each header and body chunk, the most round trips a filter
 *            can cost.
 *   -l       lean: negotiate away every stage and every reply the MTA lets
 *            us (SMFIP_NO* and SMFIP_NR_* where offered); only end of
 *            message is answered, with SMFIS_ACCEPT: the least a filter
 *            can cost.
 *
 * SOCKET is libmilter's syntax (inet:PORT@HOST, unix:PATH).  It runs in the
 * foreground; SIGTERM or SIGINT stops it (libmilter's own handling).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define EX_USAGE_CODE	64

/* Everything lean mode declines when the MTA offers it. */
#define LEAN_STEPS	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | \
	SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | \
	SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_UNKN)

/*
 * The negotiated steps travel in the context's private pointer itself, as
 * a number with a marker bit (nothing to allocate or free, and it survives
 * SMFIC_QUIT_NC, after which libmilter reuses the context without a new
 * negotiation).
 */
#define PRIV_MARK	((uintptr_t)1 << 31)

static bool lean;

/* steps - the steps negotiated on this connection (0 if none) */
static unsigned long
steps(SMFICTX *ctx)
{
	uintptr_t p = (uintptr_t)smfi_getpriv(ctx);

	return (p & PRIV_MARK) ? (unsigned long)(p & ~PRIV_MARK) : 0;
}

/* answer - CONTINUE, or no reply where the MTA agreed to expect none */
static sfsistat
answer(SMFICTX *ctx, unsigned long nr)
{
	return (steps(ctx) & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* null_negotiate - default mode takes nothing; lean mode all it may */
static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f0;
	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf1 = lean ? (f1 & LEAN_STEPS) : 0;
	*pf2 = 0;
	*pf3 = 0;
	if (smfi_setpriv(ctx, (void *)(PRIV_MARK | (uintptr_t)(*pf1 & 0x7fffffffUL))) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/* null_connect - SMTP connection: nothing to do */
static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)host;
	(void)sa;
	return answer(ctx, SMFIP_NR_CONN);
}

/* null_helo - HELO/EHLO: nothing to do */
static sfsistat
null_helo(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return answer(ctx, SMFIP_NR_HELO);
}

/* null_envfrom - MAIL FROM: nothing to do */
static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return answer(ctx, SMFIP_NR_MAIL);
}

/* null_envrcpt - RCPT TO: nothing to do */
static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return answer(ctx, SMFIP_NR_RCPT);
}

/* null_data - DATA: nothing to do */
static sfsistat
null_data(SMFICTX *ctx)
{
	return answer(ctx, SMFIP_NR_DATA);
}

/* null_header - one header field: nothing to do */
static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return answer(ctx, SMFIP_NR_HDR);
}

/* null_eoh - end of header: nothing to do */
static sfsistat
null_eoh(SMFICTX *ctx)
{
	return answer(ctx, SMFIP_NR_EOH);
}

/* null_body - one body chunk: nothing to do */
static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)chunk;
	(void)len;
	return answer(ctx, SMFIP_NR_BODY);
}

/* null_unknown - an unknown SMTP command: nothing to do */
static sfsistat
null_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)cmd;
	return answer(ctx, SMFIP_NR_UNKN);
}

/* null_eom - the one answer that always goes back */
static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static struct smfiDesc null_desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = null_connect,
	.xxfi_helo = null_helo,
	.xxfi_envfrom = null_envfrom,
	.xxfi_envrcpt = null_envrcpt,
	.xxfi_header = null_header,
	.xxfi_eoh = null_eoh,
	.xxfi_body = null_body,
	.xxfi_eom = null_eom,
	.xxfi_abort = NULL,
	.xxfi_close = NULL,
	.xxfi_unknown = null_unknown,
	.xxfi_data = null_data,
	.xxfi_negotiate = null_negotiate,
};

/* usage - say how to call us and exit 64 */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nullmilter -p SOCKET [-l]\n");
	exit(EX_USAGE_CODE);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "lp:")) != -1) {
		switch (ch) {
		case 'l':
			lean = true;
			break;
		case 'p':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || optind != argc)
		usage();
	if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_setbacklog(1024) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: bad socket %s\n", sock);
		return EX_USAGE_CODE;
	}
	if (smfi_register(null_desc) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: smfi_register failed\n");
		return 1;
	}
	/* remove a stale unix socket; fail now, not in smfi_main, if we cannot listen */
	if (smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
