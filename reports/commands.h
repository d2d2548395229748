/*
 * commands.h - the subcommands of dmarc-reports beyond import/send/expire,
 * each in its own file.  argv[0] is the command word; options are parsed
 * with getopt_long from optind = 0 (glibc: a fresh start, so that options
 * may follow operands even though main() parsed with "+").  They return
 * the process exit status (0, 1 for "ran, but found problems", or a
 * sysexits.h code).
 */
#ifndef DM_REPORTS_COMMANDS_H
#define DM_REPORTS_COMMANDS_H

struct rconf;
struct store;

int	cmd_receive(const struct rconf *, struct store *, int argc, char **argv);	/* cmd_receive.c */
int	cmd_sources(const struct rconf *, struct store *, int argc, char **argv);	/* cmd_analyze.c */
int	cmd_kpis(const struct rconf *, struct store *, int argc, char **argv);	/* cmd_analyze.c */
int	cmd_readiness(const struct rconf *, struct store *, int argc, char **argv);	/* cmd_analyze.c */
int	cmd_html(const struct rconf *, struct store *, int argc, char **argv);	/* cmd_analyze.c */
/* check-dns opens the store itself, only when it exists (history checks) */
int	cmd_check_dns(const struct rconf *, int argc, char **argv);		/* cmd_checkdns.c */

#endif
