/*
 * main.c - dmarc-milter start-up: options, configuration, socket, privilege
 * drop, the reload signal thread, and libmilter's main loop.
 *
 * Start-up is the only place allowed to die: every message here says what
 * to fix.  Order matters: the socket is opened before privileges are
 * dropped (it may be a privileged port or a root-owned directory), we
 * daemonize before any thread exists, and SIGUSR1 is blocked before
 * libmilter starts its threads so that only our signal thread receives it.
 * libmilter itself owns SIGHUP, SIGTERM and SIGINT (they stop smfi_main).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <libmilter/mfapi.h>
#include <libpsl.h>
#include <opendkim/dkim.h>
#include <openssl/crypto.h>
#include <spf2/spf.h>

#include "config.h"
#include "failrep.h"
#include "history.h"
#include "keycache.h"
#include "log.h"
#include "milter.h"
#include "offline.h"
#include "opendmarc_compat.h"
#include "runtime.h"
#include "stats.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG	SYSCONFDIR "/dmarc-milter.conf"

static const char *progname = "dmarc-milter";

/* usage - the synopsis, on stderr */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-fnV] [-c config] [-p socket]\n"
	    "       %s [-c config] -t message.eml --client-ip IP [--helo NAME] [--mail-from ADDR] [--rcpt ADDR]\n"
	    "  -c FILE   configuration file (default %s)\n"
	    "  -f        stay in the foreground and log to stderr\n"
	    "  -n        check the configuration, print the effective settings, and exit\n"
	    "            (an OpenDMARC configuration: what each option becomes here)\n"
	    "  -p SOCKET override the Socket option (inet:PORT@ADDR, inet6:PORT@ADDR, unix:PATH)\n"
	    "  -V        print the version and the versions of the linked libraries\n"
	    "  -t FILE   offline check: evaluate FILE as the milter would and print the\n"
	    "            Authentication-Results header and the disposition\n",
	    progname, progname, DEFAULT_CONFIG);
	exit(status);
}

/* lib_versions - every library we link, as seen at run time, "name version" joined by sep */
static void
lib_versions(char *out, size_t len, const char *sep)
{
	unsigned int mj, mn, pl;
	int smj, smn, spl;
	uint32_t dv = dkim_libversion();

	smfi_version(&mj, &mn, &pl);
	SPF_get_lib_version(&smj, &smn, &spl);
	snprintf(out, len, "libmilter %u.%u.%u%slibopendkim %u.%u.%u%slibspf2 %d.%d.%d%sldns %s%s"
	    "libpsl %s (system list %s)%s%s", mj, mn, pl, sep,
	    (dv >> 24) & 0xff, (dv >> 16) & 0xff, (dv >> 8) & 0xff, sep, smj, smn, spl, sep,
	    ldns_version(), sep, psl_get_version(),
	    psl_dist_filename() != NULL && *psl_dist_filename() != '\0' ? psl_dist_filename() : "none",
	    sep, OpenSSL_version(OPENSSL_VERSION));
}

/* print_versions - ours and every library we link */
static void
print_versions(void)
{
	char libs[1024];

	lib_versions(libs, sizeof(libs), "\n  ");
	printf("%s %s\n  %s\n", PACKAGE_NAME, PACKAGE_VERSION, libs);
}

/* print_line - config_dump callback */
static void
print_line(const char *line, void *arg)
{
	(void)arg;
	printf("%s\n", line);
}

/* userid_lookup - UserID "user[:group]": the user's name (malloc'd), uid and gid */
static char *
userid_lookup(const char *spec, uid_t *uid, gid_t *gid)
{
	char *user = xstrdup(spec), *group = strchr(user, ':');
	struct passwd *pw;
	struct group *gr;

	if (group != NULL)
		*group++ = '\0';
	if ((pw = getpwnam(user)) == NULL)
		log_fatal("UserID: no such user \"%s\"", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL)
			log_fatal("UserID: no such group \"%s\"", group);
		*gid = gr->gr_gid;
	}
	return user;
}

/* drop_privileges - switch to "user[:group]" */
static void
drop_privileges(const char *spec)
{
	uid_t uid;
	gid_t gid;
	char *user = userid_lookup(spec, &uid, &gid);

	if (getuid() != 0 && geteuid() != 0) {
		if (getuid() != uid)
			log_fatal("UserID %s: only root can switch users", spec);
		free(user);
		return;
	}
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
		log_fatal("UserID %s: cannot switch: %s", spec, strerror(errno));
	if (setuid(0) == 0)
		log_fatal("UserID %s: could regain root after dropping it", spec);
	log_info("running as user %s (uid %lu, gid %lu)", user, (unsigned long)uid, (unsigned long)gid);
	free(user);
}

/* write_pidfile - our pid, for init scripts */
static void
write_pidfile(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		log_fatal("PidFile %s: cannot create: %s", path, strerror(errno));
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		log_fatal("PidFile %s: cannot write: %s", path, strerror(errno));
}

static const char *config_path;	/* the file to reload on SIGUSR1 */
static const char *socket_override;	/* -p, applied to every load */

/* load_config - the file (or defaults) plus the command-line overrides */
static struct config *
load_config(char *err, size_t errlen)
{
	struct config *c = config_load(config_path, err, errlen);
	char perr[512];

	if (c == NULL || socket_override == NULL)
		return c;
	if (config_check_socket(socket_override, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "-p: %s", perr);
		config_free(c);
		return NULL;
	}
	free(c->socket);
	c->socket = xstrdup(socket_override);
	return c;
}

/*
 * reload - SIGUSR1: read the configuration again.  A bad file is refused and
 * the running one stays in force.  Options that need the socket or the user
 * again cannot change without a restart; we say so.
 */
static void
reload(void)
{
	struct runtime *old = runtime_acquire(), *rt;
	struct config *c;
	char err[1024];

	if ((c = load_config(err, sizeof(err))) == NULL ||
	    (rt = runtime_new(c, err, sizeof(err))) == NULL) {
		config_free(c);
		log_err("reload refused, configuration unchanged: %s", err);
		/* Still reopen the history file: SIGUSR1 also serves logrotate. */
		if (old != NULL && old->history != NULL && history_reopen(old->history) != 0)
			log_err("HistoryFile %s: cannot reopen", old->conf->history_file);
		runtime_release(old);
		return;
	}
	if (strcmp(c->socket, old->conf->socket) != 0)
		log_warn("reload: Socket changed; it takes effect only after a restart");
	if ((c->userid == NULL) != (old->conf->userid == NULL) ||
	    (c->userid != NULL && strcmp(c->userid, old->conf->userid) != 0))
		log_warn("reload: UserID changed; it takes effect only after a restart");
	log_set_level(c->log_level);
	runtime_release(old);
	runtime_install(rt);
	log_info("configuration reloaded from %s", config_path != NULL ? config_path : "built-in defaults");
}

/*
 * socket_permissions - a unix socket gets SocketMode, and belongs to
 * UserID's user and to SocketGroup (or UserID's group), so that the MTA -
 * Postfix runs as "postfix" - can connect while we run unprivileged.
 */
static void
socket_permissions(const struct config *c)
{
	const char *path;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (strncmp(c->socket, "unix:", 5) == 0)
		path = c->socket + 5;
	else if (strncmp(c->socket, "local:", 6) == 0)
		path = c->socket + 6;
	else
		return;
	if (c->userid != NULL && geteuid() == 0)
		free(userid_lookup(c->userid, &uid, &gid));
	if (c->socket_group != NULL) {
		struct group *gr = getgrnam(c->socket_group);

		if (gr == NULL)
			log_fatal("SocketGroup: no such group \"%s\"", c->socket_group);
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0)
		log_fatal("Socket %s: cannot change owner or group: %s", path, strerror(errno));
	if (chmod(path, (mode_t)c->socket_mode) != 0)
		log_fatal("Socket %s: cannot set mode %04o: %s", path, c->socket_mode, strerror(errno));
}

/*
 * tcp_nodelay - turn Nagle's algorithm off on libmilter's listening TCP
 * socket; every accepted connection inherits the option (Linux, the BSDs).
 * At end of message we answer with several small writes (header changes,
 * then the verdict); with Nagle on, each write after the first waits for
 * the MTA to acknowledge the one before, and Postfix delays its ACKs by up
 * to 40 ms or more: every message would stall that long (docs/performance.md).
 * libmilter does not hand out its descriptor, so look for it: at this point
 * the only listening socket we have is the one smfi_opensocket made.
 */
static void
tcp_nodelay(void)
{
	long max = sysconf(_SC_OPEN_MAX);
	int fd, on = 1, listening;
	socklen_t len;
	struct sockaddr_storage ss;

	if (max < 0 || max > 4096)
		max = 4096;
	for (fd = 0; fd < max; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
			log_warn("cannot set TCP_NODELAY on the milter socket: %s", strerror(errno));
		else
			log_debug("TCP_NODELAY set on the listening socket (fd %d)", fd);
	}
}

/*
 * malloc_arenas - fewer malloc arenas than glibc's default.  libmilter
 * gives every MTA connection a thread, and glibc lets threads spread over
 * up to eight arenas per CPU, each keeping the memory its threads freed:
 * at 256 connections that was 10 % of our resident memory for nothing
 * (docs/performance.md).  Two per CPU keep threads from queueing on one
 * arena.  MALLOC_ARENA_MAX in the environment still decides, if set.
 */
static void
malloc_arenas(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (getenv("MALLOC_ARENA_MAX") != NULL || getenv("GLIBC_TUNABLES") != NULL)
		return;
	if (ncpu < 1)
		ncpu = 1;
	if (mallopt(M_ARENA_MAX, (int)(2 * (ncpu < 64 ? ncpu : 64))) != 1)
		log_debug("mallopt(M_ARENA_MAX) refused");
}

/* signal_thread - waits for SIGUSR1 (reload) and SIGUSR2 (statistics), which every other thread blocks */
static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			reload();
		else if (sig == SIGUSR2)
			stats_kick();
	}
	return NULL;
}

static const struct option long_opts[] = {
	{ "client-ip", required_argument, NULL, 'I' },
	{ "helo", required_argument, NULL, 'H' },
	{ "mail-from", required_argument, NULL, 'M' },
	{ "rcpt", required_argument, NULL, 'R' },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	static sigset_t usr1;
	sigset_t blocked;
	struct config *conf;
	struct runtime *rt;
	struct offline_args off;
	char *pidfile = NULL;
	bool foreground = false, check_only = false, explicit_config = false;
	char err[1024];
	pthread_t tid;
	int ch, rc;

	if ((progname = strrchr(argv[0], '/')) != NULL)
		progname++;
	else
		progname = argv[0];
	log_init("dmarc-milter");
	config_path = DEFAULT_CONFIG;

	memset(&off, 0, sizeof(off));
	while ((ch = getopt_long(argc, argv, "c:fhnp:t:V", long_opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			off.message = optarg;
			break;
		case 'I':
			off.client_ip = optarg;
			break;
		case 'H':
			off.helo = optarg;
			break;
		case 'M':
			off.mail_from = optarg;
			break;
		case 'R':
			off.rcpt = optarg;
			break;
		case 'c':
			config_path = optarg;
			explicit_config = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			usage(0);
		case 'n':
			check_only = true;
			break;
		case 'p':
			socket_override = optarg;
			break;
		case 'V':
			print_versions();
			return 0;
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);

	/* Without -c, a missing default file means: run on built-in defaults. */
	if (!explicit_config && access(config_path, F_OK) != 0 && errno == ENOENT)
		config_path = NULL;
	/*
	 * -n on an OpenDMARC configuration: our parser would stop at the first
	 * OpenDMARC-only option; say instead what each option becomes here.
	 */
	if (check_only && explicit_config && opendmarc_looks_like(config_path)) {
		rc = opendmarc_migrate(config_path, stdout, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", progname, err);
			return EX_CONFIG;
		}
		return rc == 0 ? 0 : EX_CONFIG;
	}
	if ((conf = load_config(err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return EX_CONFIG;
	}
	if (off.message != NULL) {
		/* Offline check: the same evaluation, no MTA, no daemon, no history. */
		free(conf->history_file);
		conf->history_file = NULL;
		log_set_level(conf->log_level);
		log_set_stderr(true);
		if ((rt = runtime_new(conf, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s: %s\n", progname, err);
			config_free(conf);
			return EX_CONFIG;
		}
		rc = offline_check(rt, &off, stdout);
		runtime_free(rt);
		return rc;
	}
	if (check_only) {
		printf("# %s: configuration OK\n", config_path != NULL ? config_path : "built-in defaults");
		config_dump(conf, print_line, NULL);
		config_free(conf);
		return 0;
	}

	log_set_level(conf->log_level);
	log_set_stderr(foreground);
	if (conf->syslog && log_set_syslog(true, conf->syslog_facility) != 0)
		log_fatal("SyslogFacility %s: unknown facility", conf->syslog_facility);

	signal(SIGPIPE, SIG_IGN);
	malloc_arenas();
	if (milter_register(conf->socket) != 0)
		log_fatal("smfi_register failed");
	if (smfi_setconn(conf->socket) != MI_SUCCESS)
		log_fatal("Socket %s: not usable", conf->socket);
	if (smfi_opensocket(true) != MI_SUCCESS)
		log_fatal("Socket %s: cannot listen (in use, or no permission?)", conf->socket);
	socket_permissions(conf);
	tcp_nodelay();

	if (!foreground && daemon(0, 0) != 0)
		log_fatal("cannot become a daemon: %s", strerror(errno));
	if (conf->pidfile != NULL) {
		/* our own copy: a reload may free this snapshot */
		pidfile = xstrdup(conf->pidfile);
		write_pidfile(pidfile);
	}
	if (conf->userid != NULL)
		drop_privileges(conf->userid);
	else if (geteuid() == 0)
		log_warn("running as root: set UserID to run unprivileged");
	/*
	 * Everything shared is built as the final user (so the history file is
	 * ours to reopen) and before the first thread: libspf2 and libopendkim
	 * want their global setup done single-threaded.
	 */
	if ((rt = runtime_new(conf, err, sizeof(err))) == NULL)
		log_fatal("%s", err);

	/*
	 * Block our signal and libmilter's before any thread exists: libmilter's
	 * own signal thread sigwaits for SIGHUP/SIGTERM/SIGINT, ours for
	 * SIGUSR1; no other thread may take them with the default action.
	 */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigaddset(&usr1, SIGUSR2);
	blocked = usr1;
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	runtime_install(rt);
	if (pthread_create(&tid, NULL, signal_thread, &usr1) != 0)
		log_fatal("cannot start the signal thread");
	pthread_detach(tid);
	/* Always running: a reload may turn FailureReports on. */
	if (failrep_start(err, sizeof(err)) != 0)
		log_fatal("%s", err);
	if (stats_start(err, sizeof(err)) != 0)
		log_fatal("%s", err);

	{
		char libs[1024];

		lib_versions(libs, sizeof(libs), ", ");
		log_info("%s %s starting: config %s, socket %s; %s", PACKAGE_NAME, PACKAGE_VERSION,
		    config_path != NULL ? config_path : "(built-in defaults)", conf->socket, libs);
	}
	rc = smfi_main();
	/*
	 * libmilter has stopped listening; on SIGTERM (MILTER_STOP) the
	 * connections still open go on.  Finish the messages the MTA is waiting
	 * for, so that each gets its verdict and its history record.
	 */
	if (milter_inflight() > 0) {
		struct runtime *cur = runtime_acquire();	/* conf may have been reloaded and freed */
		unsigned waited = 0, grace = 30 + cur->conf->dns_timeout * (cur->conf->dns_retries + 1) * 4;

		runtime_release(cur);

		log_info("stopping: waiting for %lu message(s) in progress (at most %u s)",
		    milter_inflight(), grace);
		while (milter_inflight() > 0 && waited < grace * 10) {
			usleep(100000);
			waited++;
		}
		if (milter_inflight() > 0)
			log_warn("stopping with %lu message(s) unfinished", milter_inflight());
	}
	log_info("stopping");
	failrep_stop(10);
	stats_stop();
	keycache_flush();
	if (pidfile != NULL && unlink(pidfile) != 0)
		log_warn("PidFile %s: cannot remove: %s", pidfile, strerror(errno));
	free(pidfile);
	return rc == MI_SUCCESS ? 0 : 1;
}
