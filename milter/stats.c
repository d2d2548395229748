/*
 * stats.c - runtime counters, written in Prometheus text format.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "config.h"
#include "dns.h"
#include "failrep.h"
#include "keycache.h"
#include "log.h"
#include "runtime.h"
#include "stats.h"
#include "util.h"

#define N_RES	(AUTH_POLICY + 1)
#define N_ACT	(ACTION_TEMPFAIL + 1)

static struct {
	unsigned long	 messages;
	unsigned long	 dmarc[N_RES];		/* per author domain */
	unsigned long	 spf[N_RES];
	unsigned long	 dkim[N_RES];		/* per signature */
	unsigned long	 action[N_ACT];
	unsigned long	 disposition[DISP_REJECT + 1];	/* as applied */
	unsigned long	 skipped[STATS_SKIP_N];
	unsigned long	 from_problems;
	unsigned long	 history_errors;
	time_t		 started;
} st;

#define INC(x)	__atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

void
stats_count_verdict(const struct verdict *v, int action)
{
	size_t i;

	INC(st.messages);
	for (i = 0; i < v->n_dmarc; i++)
		if ((int)v->dmarc[i].result >= 0 && v->dmarc[i].result < N_RES)
			INC(st.dmarc[v->dmarc[i].result]);
	if (v->spf.result < N_RES)
		INC(st.spf[v->spf.result]);
	for (i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result < N_RES)
			INC(st.dkim[v->dkim[i].result]);
	if (action >= 0 && action < N_ACT)
		INC(st.action[action]);
	if (v->disposition <= DISP_REJECT)
		INC(st.disposition[v->disposition]);
	if (v->from_problem)
		INC(st.from_problems);
}

void
stats_count_skip(enum stats_skip why)
{
	if (why < STATS_SKIP_N)
		INC(st.skipped[why]);
}

void
stats_count_history_error(void)
{
	INC(st.history_errors);
}

/* results - one labelled series per result value */
static void
results(FILE *fp, const char *name, const char *help, unsigned long *v)
{
	int r;

	fprintf(fp, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (r = 0; r < N_RES; r++) {
		if (r == AUTH_SOFTFAIL && strstr(name, "spf") == NULL)
			continue;
		if (r == AUTH_POLICY && strstr(name, "dkim") == NULL)
			continue;
		fprintf(fp, "%s{result=\"%s\"} %lu\n", name, auth_res_str((enum auth_res)r), GET(v[r]));
	}
}

/* stats_write - everything, Prometheus text exposition format 0.0.4 */
void
stats_write(FILE *fp, struct runtime *rt)
{
	static const char *const skip_names[STATS_SKIP_N] = { "IgnoreHosts",
		"IgnoreAuthenticatedClients", "IgnoreMailFrom" };
	struct failrep_stats fr;
	unsigned long kh, km;
	int i;

	fprintf(fp, "# HELP dmarc_milter_start_time_seconds When the milter started (Unix time).\n"
	    "# TYPE dmarc_milter_start_time_seconds gauge\n"
	    "dmarc_milter_start_time_seconds %lld\n", (long long)st.started);
	fprintf(fp, "# HELP dmarc_milter_info Version of the running milter.\n"
	    "# TYPE dmarc_milter_info gauge\n"
	    "dmarc_milter_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	fprintf(fp, "# HELP dmarc_milter_messages_total Messages evaluated.\n"
	    "# TYPE dmarc_milter_messages_total counter\n"
	    "dmarc_milter_messages_total %lu\n", GET(st.messages));
	results(fp, "dmarc_milter_dmarc_results_total", "DMARC results, one per author domain.", st.dmarc);
	results(fp, "dmarc_milter_spf_results_total", "SPF results (MAIL FROM, or HELO for the null sender).",
	    st.spf);
	results(fp, "dmarc_milter_dkim_results_total", "DKIM results, one per signature.", st.dkim);
	fprintf(fp, "# HELP dmarc_milter_actions_total What the MTA was told.\n"
	    "# TYPE dmarc_milter_actions_total counter\n");
	for (i = 0; i < N_ACT; i++)
		fprintf(fp, "dmarc_milter_actions_total{action=\"%s\"} %lu\n", action_str((enum action)i),
		    GET(st.action[i]));
	fprintf(fp, "# HELP dmarc_milter_dispositions_total DMARC disposition applied (as reported).\n"
	    "# TYPE dmarc_milter_dispositions_total counter\n");
	for (i = 0; i <= DISP_REJECT; i++)
		fprintf(fp, "dmarc_milter_dispositions_total{disposition=\"%s\"} %lu\n",
		    disposition_str((enum disposition)i), GET(st.disposition[i]));
	fprintf(fp, "# HELP dmarc_milter_from_problems_total Messages without exactly one usable From.\n"
	    "# TYPE dmarc_milter_from_problems_total counter\n"
	    "dmarc_milter_from_problems_total %lu\n", GET(st.from_problems));
	fprintf(fp, "# HELP dmarc_milter_skipped_total Connections or messages not evaluated, by option.\n"
	    "# TYPE dmarc_milter_skipped_total counter\n");
	for (i = 0; i < STATS_SKIP_N; i++)
		fprintf(fp, "dmarc_milter_skipped_total{reason=\"%s\"} %lu\n", skip_names[i],
		    GET(st.skipped[i]));
	fprintf(fp, "# HELP dmarc_milter_history_errors_total History records that could not be written.\n"
	    "# TYPE dmarc_milter_history_errors_total counter\n"
	    "dmarc_milter_history_errors_total %lu\n", GET(st.history_errors));
	if (rt != NULL && rt->dns != NULL) {
		struct dns_stats ds;

		dns_get_stats(rt->dns, &ds);
		fprintf(fp, "# HELP dmarc_milter_dns_queries_total DNS lookups asked (since the last reload).\n"
		    "# TYPE dmarc_milter_dns_queries_total counter\n"
		    "dmarc_milter_dns_queries_total %lu\n", ds.queries);
		fprintf(fp, "# HELP dmarc_milter_dns_cache_hits_total Lookups answered from the cache.\n"
		    "# TYPE dmarc_milter_dns_cache_hits_total counter\n"
		    "dmarc_milter_dns_cache_hits_total %lu\n", ds.cache_hits);
		fprintf(fp, "# HELP dmarc_milter_dns_upstream_total Lookups sent to a name server.\n"
		    "# TYPE dmarc_milter_dns_upstream_total counter\n"
		    "dmarc_milter_dns_upstream_total %lu\n", ds.upstream);
		fprintf(fp, "# HELP dmarc_milter_dns_tempfail_total Lookups that failed temporarily "
		    "(timeout, SERVFAIL, REFUSED).\n"
		    "# TYPE dmarc_milter_dns_tempfail_total counter\n"
		    "dmarc_milter_dns_tempfail_total %lu\n", ds.tempfail);
		fprintf(fp, "# HELP dmarc_milter_dns_cache_hit_ratio Share of lookups answered from the cache.\n"
		    "# TYPE dmarc_milter_dns_cache_hit_ratio gauge\n"
		    "dmarc_milter_dns_cache_hit_ratio %.4f\n",
		    ds.queries ? (double)ds.cache_hits / (double)ds.queries : 0.0);
		fprintf(fp, "# HELP dmarc_milter_dns_cache_entries Answers in the DNS cache now.\n"
		    "# TYPE dmarc_milter_dns_cache_entries gauge\n"
		    "dmarc_milter_dns_cache_entries %zu\n", ds.cache_entries);
		fprintf(fp, "# HELP dmarc_milter_dns_cache_capacity Most answers the DNS cache keeps.\n"
		    "# TYPE dmarc_milter_dns_cache_capacity gauge\n"
		    "dmarc_milter_dns_cache_capacity %zu\n", ds.cache_capacity);
	}
	keycache_stats(&kh, &km);
	fprintf(fp, "# HELP dmarc_milter_dkim_key_decodes_total DKIM public keys decoded, "
	    "or found decoded in the key cache.\n"
	    "# TYPE dmarc_milter_dkim_key_decodes_total counter\n"
	    "dmarc_milter_dkim_key_decodes_total{cache=\"hit\"} %lu\n"
	    "dmarc_milter_dkim_key_decodes_total{cache=\"miss\"} %lu\n", kh, km);
	failrep_get_stats(&fr);
	fprintf(fp, "# HELP dmarc_milter_failure_reports_total RFC 9991 failure reports, by fate.\n"
	    "# TYPE dmarc_milter_failure_reports_total counter\n"
	    "dmarc_milter_failure_reports_total{state=\"queued\"} %lu\n"
	    "dmarc_milter_failure_reports_total{state=\"sent\"} %lu\n"
	    "dmarc_milter_failure_reports_total{state=\"rate_limited\"} %lu\n"
	    "dmarc_milter_failure_reports_total{state=\"refused\"} %lu\n"
	    "dmarc_milter_failure_reports_total{state=\"dropped\"} %lu\n",
	    fr.queued, fr.sent, fr.rate_limited, fr.refused, fr.dropped);
}

/* stats_write_file - atomically replace path */
int
stats_write_file(const char *path, struct runtime *rt)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp;
	int e;

	if ((fp = fopen(tmp, "w")) == NULL) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	stats_write(fp, rt);
	if (ferror(fp) || fclose(fp) != 0) {
		e = errno;
		unlink(tmp);
		free(tmp);
		errno = e != 0 ? e : EIO;
		return -1;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	return 0;
}

/* ---------------------------------------------------------------- the thread */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool running, stopping, kicked;
static pthread_t tid;

/* write_now - StatsFile of the running configuration, if any */
static void
write_now(void)
{
	static int last_errno;
	struct runtime *rt = runtime_acquire();

	if (rt == NULL)
		return;
	if (rt->conf->stats_file != NULL) {
		if (stats_write_file(rt->conf->stats_file, rt) != 0) {
			if (errno != last_errno)	/* once per kind of trouble, not every interval */
				log_err("StatsFile %s: cannot write: %s", rt->conf->stats_file, strerror(errno));
			last_errno = errno;
		} else
			last_errno = 0;
	}
	runtime_release(rt);
}

static void *
stats_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		struct runtime *rt = runtime_acquire();
		unsigned interval = rt != NULL ? rt->conf->stats_interval : 60;
		struct timespec ts;

		runtime_release(rt);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += interval;
		while (!kicked && !stopping)
			if (pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT)
				break;
		kicked = false;
		pthread_mutex_unlock(&lock);
		write_now();
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
stats_start(char *err, size_t errlen)
{
	int rc;

	st.started = time(NULL);
	if ((rc = pthread_create(&tid, NULL, stats_thread, NULL)) != 0) {
		err_set(err, errlen, "cannot start the statistics thread: %s", strerror(rc));
		return -1;
	}
	running = true;
	return 0;
}

void
stats_kick(void)
{
	pthread_mutex_lock(&lock);
	kicked = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* stats_stop - one last write, then the thread ends */
void
stats_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(tid, NULL);
	running = false;
	write_now();
}
