/*
 * runtime.h - everything shared by the message threads, built from one
 * configuration: the config itself, the DNS layer with its cache, the
 * Public Suffix List, the SPF server, the DKIM library and the history
 * file.  Immutable once built (the sampler and the history file have their
 * own locks); swapped whole on SIGUSR1, reference-counted so that a
 * connection keeps the runtime it started with.
 */
#ifndef DM_RUNTIME_H
#define DM_RUNTIME_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"

struct dns;
struct orgdomain;
struct spfcheck;
struct dkimverify_lib;
struct history_file;

struct runtime {
	struct config		*conf;
	struct dns		*dns;
	struct orgdomain	*psl;
	struct spfcheck		*spf;
	struct dkimverify_lib	*dkim;
	struct history_file	*history;	/* NULL when HistoryFile is unset */
	pthread_mutex_t		 sample_lock;	/* guards sample_state */
	uint64_t		 sample_state;	/* pct sampling PRNG (xorshift64*) */
};

/* Build a runtime that owns conf (freed with it).  NULL and err on failure. */
struct runtime	*runtime_new(struct config *conf, char *err, size_t errlen);
/* Same, but DNS from a ready struct dns (tests, offline checks). */
struct runtime	*runtime_new_with_dns(struct config *conf, struct dns *dns, char *err, size_t errlen);
void		 runtime_free(struct runtime *);

/* The current runtime, counted references. */
void		 runtime_install(struct runtime *);
struct runtime	*runtime_acquire(void);
void		 runtime_release(struct runtime *);

/* A number in [0, 100) for pct sampling (RFC 7489 §6.6.4). */
unsigned	 runtime_sample_percent(struct runtime *);

#endif
