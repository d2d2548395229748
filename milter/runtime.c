/*
 * runtime.c - the shared objects built from one configuration, and the
 * counted current snapshot.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dkimverify.h"
#include "dns.h"
#include "history.h"
#include "log.h"
#include "orgdomain.h"
#include "runtime.h"
#include "spfcheck.h"
#include "util.h"

/* runtime_build - the parts after DNS */
static struct runtime *
runtime_build(struct config *conf, struct dns *dns, char *err, size_t errlen)
{
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	struct dkimverify_policy pol;
	char msg[512];

	rt->conf = conf;
	rt->dns = dns;
	pthread_mutex_init(&rt->sample_lock, NULL);
	if (conf->sampling_seed != 0)
		rt->sample_state = conf->sampling_seed;
	else if (getrandom(&rt->sample_state, sizeof(rt->sample_state), 0) != sizeof(rt->sample_state))
		rt->sample_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)rt;
	if (rt->sample_state == 0)
		rt->sample_state = 0x9e3779b97f4a7c15ull;

	if ((rt->psl = orgdomain_load(conf->psl_file, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "PublicSuffixList %s: %s", conf->psl_file, msg);
		goto fail;
	}
	if ((rt->spf = spfcheck_new(dns, conf->authserv_id, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "SPF: %s", msg);
		goto fail;
	}
	dkimverify_policy_init(&pol);
	pol.min_key_bits = conf->min_key_bits;
	pol.body_length = conf->body_length == BODYLEN_ALLOW ? DKIM_LTAG_ALLOW : DKIM_LTAG_REJECT_PARTIAL;
	if ((rt->dkim = dkimverify_lib_new(dns, &pol, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "DKIM: %s", msg);
		goto fail;
	}
	if (conf->history_file != NULL &&
	    (rt->history = history_open(conf->history_file, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "HistoryFile %s: %s", conf->history_file, msg);
		goto fail;
	}
	history_set_error_interval(rt->history, conf->history_error_interval);
	return rt;
fail:
	rt->conf = NULL;	/* the caller keeps conf on failure */
	rt->dns = NULL;		/* and frees dns (runtime_new, runtime_new_with_dns) */
	runtime_free(rt);
	return NULL;
}

/* runtime_new - build everything from a configuration */
struct runtime *
runtime_new(struct config *conf, char *err, size_t errlen)
{
	struct dns_options o;
	struct runtime *rt;
	struct dns *dns;
	char msg[512];

	memset(&o, 0, sizeof(o));
	o.nameservers = conf->nameservers;
	o.n_nameservers = conf->n_nameservers;
	o.timeout = conf->dns_timeout;
	o.retries = conf->dns_retries;
	o.cache_entries = conf->dns_cache_size;
	o.max_ttl = 3600;
	o.max_neg_ttl = 300;
	if ((dns = dns_new_ldns(&o, msg, sizeof(msg))) == NULL) {
		snprintf(err, errlen, "DNS: %s", msg);
		return NULL;
	}
	if ((rt = runtime_build(conf, dns, err, errlen)) == NULL)
		dns_free(dns);
	return rt;
}

/* runtime_new_with_dns - for the offline check and tests; takes dns */
struct runtime *
runtime_new_with_dns(struct config *conf, struct dns *dns, char *err, size_t errlen)
{
	struct runtime *rt = runtime_build(conf, dns, err, errlen);

	if (rt == NULL)
		dns_free(dns);
	return rt;
}

/* runtime_free - release a runtime nobody holds */
void
runtime_free(struct runtime *rt)
{
	if (rt == NULL)
		return;
	if (rt->history != NULL)
		history_close(rt->history);
	if (rt->dkim != NULL)
		dkimverify_lib_free(rt->dkim);
	if (rt->spf != NULL)
		spfcheck_free(rt->spf);
	if (rt->psl != NULL)
		orgdomain_free(rt->psl);
	if (rt->dns != NULL)
		dns_free(rt->dns);
	pthread_mutex_destroy(&rt->sample_lock);
	config_free(rt->conf);
	free(rt);
}

/* runtime_sample_percent - xorshift64* under a short lock */
unsigned
runtime_sample_percent(struct runtime *rt)
{
	uint64_t x;

	pthread_mutex_lock(&rt->sample_lock);
	x = rt->sample_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rt->sample_state = x;
	pthread_mutex_unlock(&rt->sample_lock);
	return (unsigned)(((x * 0x2545f4914f6cdd1dull) >> 32) % 100);
}

/*
 * The current runtime and its reference counts.  runtime_lock guards the
 * list and every refs; it is held only for pointer and counter updates.
 * Retired runtimes are freed when their last connection releases them.
 */
struct snapshot {
	struct runtime	*rt;
	unsigned	 refs;
	struct snapshot	*next;
};

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *snapshots;	/* newest first; the head is current */

/* snapshot_reap - free retired runtimes nobody holds (lock held) */
static void
snapshot_reap(void)
{
	struct snapshot **pp, *s;

	if (snapshots == NULL)
		return;
	pp = &snapshots->next;		/* never the current one */
	while ((s = *pp) != NULL) {
		if (s->refs == 0) {
			*pp = s->next;
			runtime_free(s->rt);
			free(s);
		} else
			pp = &s->next;
	}
}

/* runtime_install - make rt the one new connections get */
void
runtime_install(struct runtime *rt)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));

	s->rt = rt;
	pthread_mutex_lock(&runtime_lock);
	s->next = snapshots;
	snapshots = s;
	snapshot_reap();
	pthread_mutex_unlock(&runtime_lock);
}

/* runtime_acquire - a counted reference to the current runtime */
struct runtime *
runtime_acquire(void)
{
	struct runtime *rt = NULL;

	pthread_mutex_lock(&runtime_lock);
	if (snapshots != NULL) {
		snapshots->refs++;
		rt = snapshots->rt;
	}
	pthread_mutex_unlock(&runtime_lock);
	return rt;
}

/* runtime_release - drop a reference from runtime_acquire */
void
runtime_release(struct runtime *rt)
{
	struct snapshot *s;

	if (rt == NULL)
		return;
	pthread_mutex_lock(&runtime_lock);
	for (s = snapshots; s != NULL; s = s->next) {
		if (s->rt == rt) {
			if (s->refs > 0)
				s->refs--;
			break;
		}
	}
	snapshot_reap();
	pthread_mutex_unlock(&runtime_lock);
}
