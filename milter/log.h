/*
 * log.h - logging to syslog and/or stderr.
 *
 * log_fatal is for configuration and resource failures at start-up or when
 * memory runs out; library-like modules return errors instead of calling it.
 */
#ifndef DM_LOG_H
#define DM_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void	log_init(const char *ident);
void	log_set_stderr(bool);
int	log_set_syslog(bool on, const char *facility);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);
bool	log_would(enum log_level);

void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
