/*
 * log.c - logging to syslog and/or stderr.
 *
 * The destinations are set once at start-up (and on reload, from the signal
 * thread); the flags are read without a lock by the message threads, which is
 * benign: a racing reader sees either the old or the new destination.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

static const char *log_ident = "dmarc-milter";
static volatile bool log_to_stderr = true;
static volatile bool log_to_syslog = false;
static volatile enum log_level log_max = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	int value;
} log_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* log_init - set the program name used in every line */
void
log_init(const char *ident)
{
	log_ident = ident;
}

/* log_set_stderr - copy log lines to stderr (foreground runs) */
void
log_set_stderr(bool on)
{
	log_to_stderr = on;
}

/* log_set_syslog - send log lines to syslog with the named facility */
int
log_set_syslog(bool on, const char *facility)
{
	size_t i;

	if (!on) {
		if (log_to_syslog)
			closelog();
		log_to_syslog = false;
		return 0;
	}
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++) {
		if (strcasecmp(facility, log_facilities[i].name) == 0) {
			openlog(log_ident, LOG_PID | LOG_NDELAY, log_facilities[i].value);
			log_to_syslog = true;
			return 0;
		}
	}
	return -1;
}

/* log_set_level - the most verbose level that is written */
void
log_set_level(enum log_level level)
{
	log_max = level;
}

/* log_level_parse - "error", "warning", "info" or "debug" */
int
log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* log_would - whether a line at this level would be written */
bool
log_would(enum log_level level)
{
	return level <= log_max;
}

/* log_vwrite - format once, send to each destination */
static void
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *tag[] = { "error: ", "warning: ", "", "debug: " };
	char line[4096];

	if (level > log_max)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_syslog)
		syslog(prio[level], "%s%s", tag[level], line);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s%s\n", log_ident, tag[level], line);
}

#define LOG_FUNC(name, level) \
void \
name(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	log_vwrite(level, fmt, ap); \
	va_end(ap); \
}

LOG_FUNC(log_err, LOG_LEVEL_ERR)
LOG_FUNC(log_warn, LOG_LEVEL_WARN)
LOG_FUNC(log_info, LOG_LEVEL_INFO)
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG)

/* log_fatal - log and exit; for start-up and resource failures only */
void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
