/*
 * stats.h - counters a postmaster can read while the milter runs: what
 * was judged how, what was done, DNS and its cache, history and failure
 * reports.  Kept with atomic increments (no lock on the message path) and
 * written in the Prometheus text exposition format to StatsFile, every
 * StatsInterval seconds and on SIGUSR2, atomically (temporary file and
 * rename), so node_exporter's textfile collector, a cron job or a person
 * with cat can read it.
 *
 * Counters start at zero when the milter starts; they survive a reload
 * (SIGUSR1).  The DNS figures are those of the running configuration: a
 * reload builds a new resolver and cache, and they start again from zero.
 */
#ifndef DM_STATS_H
#define DM_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "result.h"

struct decision;
struct runtime;

/* A message evaluated: its verdict and what the MTA was told. */
void	stats_count_verdict(const struct verdict *, int action);
/* A connection or message not evaluated, and why ("IgnoreHosts", ...). */
enum stats_skip {
	STATS_SKIP_HOST = 0,
	STATS_SKIP_AUTH,
	STATS_SKIP_MAIL_FROM,
	STATS_SKIP_N
};
void	stats_count_skip(enum stats_skip);
/* A history record that could not be written. */
void	stats_count_history_error(void);

/* Write everything in Prometheus text format (rt may be NULL). */
void	stats_write(FILE *, struct runtime *rt);
/* Write to path atomically (path.tmp, then rename).  0, or -1 with errno. */
int	stats_write_file(const char *path, struct runtime *rt);

/* The thread that writes StatsFile every StatsInterval seconds; stats_kick writes now. */
int	stats_start(char *err, size_t errlen);
void	stats_kick(void);
void	stats_stop(void);

#endif
