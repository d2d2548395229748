/*
 * dns.c - the one DNS layer: a real resolver (ldns) or a static world
 * (records added by hand or from zone files), behind a shared TTL cache.
 *
 * Both backends produce an ldns_pkt (the static one synthesizes it), and
 * one parser turns a reply into a struct dns_answer, so the two can never
 * disagree on rcode mapping, CNAME handling, TXT joining or the caps.
 *
 * Threads: a struct dns is shared.  The ldns backend keeps one resolver per
 * name server per thread (thread-specific data), because ldns mutates a
 * resolver while sending (LIBRARIES.md 5.2).  The static table is guarded
 * by a rwlock.  The cache is sharded, one mutex per shard.  Statistics are
 * atomics.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "log.h"
#include "util.h"

#define DNS_NAME_MAX		253	/* presentation, no trailing dot (RFC 1035 2.3.4) */
#define DNS_LABEL_MAX		63
#define DNS_WIRE_MAX		255
#define DNS_CNAME_MAX		8	/* CNAME hops we follow in one answer */
#define DNS_RESOLVCONF		"/etc/resolv.conf"
#define DNS_RESOLVCONF_MAXNS	3	/* glibc's MAXNS */
#define DNS_EDNS_UDP_SIZE	1232	/* DNS flag day 2020 */
#define DNS_DEFAULT_TIMEOUT	5
#define DNS_STATIC_TTL		3600	/* TTL of records added with dns_static_add */
#define CACHE_SHARDS		16

enum backend {
	BACKEND_LDNS,
	BACKEND_STATIC
};

/* ---- per-thread ldns resolvers ---- */

struct dns_thread {
	struct dns		*dns;
	ldns_resolver		**res;		/* one per name server */
	size_t			 n;
	struct dns_thread	*prev, *next;
};

/* ---- static backend ---- */

enum static_kind {
	SK_SERVFAIL,
	SK_NXDOMAIN,
	SK_NODATA,
	SK_FORMERR,
	SK_TIMEOUT
};

struct static_status {
	uint16_t		 qtype;		/* 0 = every type */
	enum static_kind	 kind;
};

struct static_node {
	struct static_node	*next;
	uint8_t			*key;		/* lowercase wire-format name */
	size_t			 klen;
	ldns_rr_list		*rrs;		/* every record at this name */
	struct static_status	*st;
	size_t			 nst;
	bool			 exists;	/* has data, or is an empty non-terminal */
};

/* ---- cache ---- */

struct centry {
	struct centry		*hnext;
	struct centry		*lprev, *lnext;	/* LRU list, most recent first */
	uint64_t		 hash;
	char			*name;
	uint16_t		 qtype;
	uint64_t		 expires;	/* CLOCK_MONOTONIC, ns */
	struct dns_answer	*ans;
};

/* One upstream query in progress: identical queries wait for its result. */
struct flight {
	struct flight		*next;
	uint64_t		 hash;
	char			*name;
	uint16_t		 qtype;
	bool			 done;
	unsigned		 waiters;
	struct dns_answer	*ans;
};

struct shard {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cv;
	struct centry		**b;
	size_t			 nb;
	struct centry		*lru_head, *lru_tail;
	size_t			 n, cap;
	struct flight		*flights;
};

struct cache {
	struct shard		*shards;
	size_t			 nshards;
};

struct dns {
	enum backend		 backend;
	struct dns_options	 opts;
	struct nameserver	*ns;		/* owned copy */
	size_t			 n_ns;

	/* ldns: thread-specific resolvers; the list lets dns_free find them */
	pthread_key_t		 key;
	bool			 key_ok;
	pthread_mutex_t		 tlock;		/* guards threads */
	struct dns_thread	*threads;

	/* static: written during setup, read by many threads */
	pthread_rwlock_t	 slock;
	struct static_node	**sb;
	size_t			 snb, sn;
	bool			 validating;	/* set AD on signed answers (dnssec_ok) */

	struct cache		*cache;

	atomic_ulong		 st_queries, st_hits, st_upstream, st_tempfail;
};

/* ---------------------------------------------------------------- */
/* names */

/*
 * name_check - refuse names we never ask for, and build the lowercase
 * presentation form (no trailing dot) and the wire form.
 *
 * RFC 1035 2.3.4: at most 63 octets per label, 255 octets in wire form
 * (253 characters in presentation without the trailing dot).  We also
 * refuse empty labels, control characters, space, DEL and bytes >= 0x80
 * (an IDN must reach us as A-labels, RFC 5890), and the backslash, which
 * would be ambiguous with presentation-format escapes.
 */
static const char *
name_check(const char *name, char *out, uint8_t *wire, size_t *wirelen)
{
	size_t len, i, lab = 0, w;

	if (name == NULL)
		return "no name";
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return "empty name";
	if (len > DNS_NAME_MAX)
		return "name longer than 253 characters";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (i == lab)
				return "name has an empty label";
			lab = i + 1;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return "name contains a byte that cannot be in a DNS name";
		if (i - lab >= DNS_LABEL_MAX)
			return "name has a label longer than 63 octets";
	}
	/* build the wire form: length-prefixed labels, lowercase, then root */
	w = 0;
	lab = 0;
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			wire[w++] = (uint8_t)(i - lab);
			for (size_t j = lab; j < i; j++)
				wire[w++] = (uint8_t)ascii_tolower(name[j]);
			lab = i + 1;
		}
	}
	wire[w++] = 0;
	*wirelen = w;
	for (i = 0; i < len; i++)
		out[i] = ascii_tolower(name[i]);
	out[len] = '\0';
	return NULL;
}

/* dname_from_wire - an ldns dname rdf from our wire bytes (NULL on failure) */
static ldns_rdf *
dname_from_wire(const uint8_t *wire, size_t len)
{
	return ldns_dname_new_frm_data((uint16_t)len, wire);
}

/* dname_to_str - lowercase presentation form without the trailing dot */
static char *
dname_to_str(const ldns_rdf *rdf)
{
	char *s, *r;
	size_t len;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return NULL;
	if ((s = ldns_rdf2str(rdf)) == NULL)
		return NULL;
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;			/* the root "." becomes "" (null MX, RFC 7505) */
	r = xstrndup(s, len);
	free(s);
	ascii_lowercase(r);
	return r;
}

/* ---------------------------------------------------------------- */
/* answers */

/* answer_new - an empty answer */
static struct dns_answer *
answer_new(uint16_t qtype, enum dns_status st, int rcode, const char *error)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->qtype = qtype;
	a->status = st;
	a->rcode = rcode;
	a->error = error;
	return a;
}

/* dns_answer_free - release an answer and everything it holds */
void
dns_answer_free(struct dns_answer *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		if (a->txt != NULL)
			free(a->txt[i]);
		if (a->mx != NULL)
			free(a->mx[i].host);
		if (a->names != NULL)
			free(a->names[i]);
	}
	free(a->txt);
	free(a->txt_len);
	free(a->addrs);
	free(a->mx);
	free(a->names);
	free(a);
}

/* answer_copy - deep copy (for the cache) */
static struct dns_answer *
answer_copy(const struct dns_answer *a)
{
	struct dns_answer *c = xmalloc(sizeof(*c));
	size_t i;

	*c = *a;
	c->txt = NULL;
	c->txt_len = NULL;
	c->addrs = NULL;
	c->mx = NULL;
	c->names = NULL;
	if (a->txt != NULL) {
		c->txt = xcalloc(a->n, sizeof(*c->txt));
		c->txt_len = xcalloc(a->n, sizeof(*c->txt_len));
		for (i = 0; i < a->n; i++) {
			c->txt_len[i] = a->txt_len[i];
			c->txt[i] = xmalloc(a->txt_len[i] + 1);
			memcpy(c->txt[i], a->txt[i], a->txt_len[i] + 1);
		}
	}
	if (a->addrs != NULL) {
		c->addrs = xcalloc(a->n, sizeof(*c->addrs));
		memcpy(c->addrs, a->addrs, a->n * sizeof(*c->addrs));
	}
	if (a->mx != NULL) {
		c->mx = xcalloc(a->n, sizeof(*c->mx));
		for (i = 0; i < a->n; i++) {
			c->mx[i].pref = a->mx[i].pref;
			c->mx[i].host = xstrdup(a->mx[i].host);
		}
	}
	if (a->names != NULL) {
		c->names = xcalloc(a->n, sizeof(*c->names));
		for (i = 0; i < a->n; i++)
			c->names[i] = xstrdup(a->names[i]);
	}
	return c;
}

/* rr_usable - does this record have the rdata shape its type promises? */
static bool
rr_usable(const ldns_rr *rr, uint16_t qtype)
{
	const ldns_rdf *f;
	size_t i;

	if (ldns_rr_rd_count(rr) < 1 || (f = ldns_rr_rdf(rr, 0)) == NULL)
		return false;
	switch (qtype) {
	case DNS_T_A:
		return ldns_rdf_get_type(f) == LDNS_RDF_TYPE_A && ldns_rdf_size(f) == 4;
	case DNS_T_AAAA:
		return ldns_rdf_get_type(f) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(f) == 16;
	case DNS_T_MX:
		return ldns_rr_rd_count(rr) == 2 && ldns_rdf_size(f) == 2 &&
		    ldns_rr_rdf(rr, 1) != NULL &&
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 1)) == LDNS_RDF_TYPE_DNAME;
	case DNS_T_PTR:
	case DNS_T_NS:
	case DNS_T_CNAME:
		return ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME;
	case DNS_T_TXT:
		for (i = 0; i < ldns_rr_rd_count(rr); i++) {
			f = ldns_rr_rdf(rr, i);
			if (f == NULL || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_STR ||
			    ldns_rdf_size(f) < 1 ||
			    (size_t)ldns_rdf_data(f)[0] + 1 != ldns_rdf_size(f))
				return false;
		}
		return true;
	default:
		return true;
	}
}

/* txt_joined_len - length of a TXT RR's character-strings joined */
static size_t
txt_joined_len(const ldns_rr *rr)
{
	size_t i, len = 0;

	for (i = 0; i < ldns_rr_rd_count(rr); i++)
		len += ldns_rdf_size(ldns_rr_rdf(rr, i)) - 1;
	return len;
}

/*
 * negative_ttl - how long a negative answer may be cached: RFC 2308 §5,
 * min(SOA TTL, SOA MINIMUM) of the SOA in the authority section.  Without
 * an SOA the answer "SHOULD NOT be cached" (RFC 2308 §5): 0.
 */
static uint32_t
negative_ttl(const ldns_pkt *pkt, const ldns_rdf *name)
{
	ldns_rr_list *auth = ldns_pkt_authority(pkt);
	size_t i;

	for (i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *min;
		uint32_t ttl;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) != 7 ||
		    (min = ldns_rr_rdf(rr, 6)) == NULL || ldns_rdf_size(min) != 4)
			continue;
		/* only an SOA of the name's own zone counts */
		if (ldns_dname_compare(ldns_rr_owner(rr), name) != 0 &&
		    !ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
			continue;
		ttl = ldns_rr_ttl(rr);
		if (ldns_rdf2native_int32(min) < ttl)
			ttl = ldns_rdf2native_int32(min);
		return ttl;
	}
	return 0;
}

/*
 * dnssec_flags - what a reply says about DNSSEC: the AD bit (RFC 4035
 * §3.2.3, set by a validating resolver) and whether RRSIGs came along:
 * over the asked type at the name the CNAME chain ended at, or, for a
 * negative answer, anywhere in the authority section (the signed SOA and
 * NSEC/NSEC3 that deny existence, RFC 4035 §3.1.3).
 */
static void
dnssec_flags(struct dns_answer *a, const ldns_pkt *pkt, const ldns_rdf *cur, uint16_t qtype)
{
	ldns_rr_list *l = ldns_pkt_answer(pkt);
	size_t i;

	a->ad = ldns_pkt_ad(pkt);
	for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l) && !a->rrsig; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		const ldns_rdf *tc;

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    ldns_dname_compare(ldns_rr_owner(rr), cur) == 0 &&
		    (tc = ldns_rr_rrsig_typecovered(rr)) != NULL &&
		    ldns_rdf2rr_type(tc) == (ldns_rr_type)qtype)
			a->rrsig = true;
	}
	if (a->status == DNS_NXDOMAIN || a->n == 0) {
		l = ldns_pkt_authority(pkt);
		for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l) && !a->rrsig; i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_RRSIG)
				a->rrsig = true;
	}
}

/*
 * answer_from_pkt - turn a reply into an answer.
 *
 * rcode mapping: NOERROR -> DNS_OK (n == 0 is NODATA), NXDOMAIN ->
 * DNS_NXDOMAIN, SERVFAIL/REFUSED -> DNS_TEMPFAIL, FORMERR/NOTIMP ->
 * DNS_PERMFAIL; anything else (update rcodes we never asked for) is
 * DNS_TEMPFAIL.  Records whose owner or type is not what we asked are
 * ignored; a CNAME chain (RFC 1034 §3.6.2) is followed inside the answer
 * section, so the records of the asked type at its end are taken.
 *
 * TXT: each RR's character-strings are joined with no separator (RFC 7208
 * §3.3, RFC 6376 §3.6.2.2); several RRs stay separate records.  An RR whose
 * joined text exceeds DNS_MAX_TXT_LEN is dropped (the others are kept) and
 * the answer says so in truncated and error: a huge unrelated TXT record
 * must not hide the SPF or DMARC record next to it.
 */
static struct dns_answer *
answer_from_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, uint16_t qtype, uint32_t *neg_ttl)
{
	struct dns_answer *a;
	ldns_rr_list *ans = ldns_pkt_answer(pkt);
	const ldns_rdf *cur = qname;
	size_t i, nrr, count = 0, hops;
	uint32_t ttl = UINT32_MAX;
	bool seen = false, dropped = false;
	int rcode = ldns_pkt_get_rcode(pkt);

	*neg_ttl = 0;
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		break;
	case LDNS_RCODE_NXDOMAIN:
		break;
	case LDNS_RCODE_SERVFAIL:
		return answer_new(qtype, DNS_TEMPFAIL, rcode, "SERVFAIL");
	case LDNS_RCODE_REFUSED:
		return answer_new(qtype, DNS_TEMPFAIL, rcode, "REFUSED");
	case LDNS_RCODE_FORMERR:
		return answer_new(qtype, DNS_PERMFAIL, rcode, "FORMERR");
	case LDNS_RCODE_NOTIMPL:
		return answer_new(qtype, DNS_PERMFAIL, rcode, "NOTIMP");
	default:
		return answer_new(qtype, DNS_TEMPFAIL, rcode, "unexpected rcode");
	}
	if (ldns_pkt_tc(pkt))
		return answer_new(qtype, DNS_TEMPFAIL, rcode, "reply truncated (TC) and the TCP fallback failed");

	nrr = ans != NULL ? ldns_rr_list_rr_count(ans) : 0;

	/* follow the CNAME chain from the question name */
	for (hops = 0; qtype != DNS_T_CNAME && hops < DNS_CNAME_MAX; hops++) {
		const ldns_rr *cn = NULL;

		for (i = 0; i < nrr; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(ans, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
			    rr_usable(rr, DNS_T_CNAME) &&
			    ldns_dname_compare(ldns_rr_owner(rr), cur) == 0) {
				cn = rr;
				break;
			}
		}
		if (cn == NULL)
			break;
		cur = ldns_rr_rdf(cn, 0);
		if (ldns_rr_ttl(cn) < ttl)
			ttl = ldns_rr_ttl(cn);
	}

	if (rcode == LDNS_RCODE_NXDOMAIN) {
		a = answer_new(qtype, DNS_NXDOMAIN, rcode, NULL);
		*neg_ttl = negative_ttl(pkt, cur);
		a->ttl = *neg_ttl;
		dnssec_flags(a, pkt, cur, qtype);
		return a;
	}

	a = answer_new(qtype, DNS_OK, rcode, NULL);
	for (i = 0; i < nrr; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), cur) != 0 ||
		    !rr_usable(rr, qtype))
			continue;
		seen = true;
		if (ldns_rr_ttl(rr) < ttl)
			ttl = ldns_rr_ttl(rr);
		if (qtype == DNS_T_TXT && txt_joined_len(rr) > DNS_MAX_TXT_LEN) {
			dropped = true;
			continue;
		}
		count++;
	}
	if (count > DNS_MAX_RRS) {
		count = DNS_MAX_RRS;
		a->truncated = true;
	}
	if (dropped) {
		a->truncated = true;
		a->error = "TXT record longer than DNS_MAX_TXT_LEN dropped";
	}
	if (!seen) {
		/* NODATA (RFC 2308 §2.2) */
		*neg_ttl = negative_ttl(pkt, cur);
		a->ttl = *neg_ttl;
		dnssec_flags(a, pkt, cur, qtype);
		return a;
	}
	a->ttl = ttl;

	switch (qtype) {
	case DNS_T_TXT:
		a->txt = xcalloc(count, sizeof(*a->txt));
		a->txt_len = xcalloc(count, sizeof(*a->txt_len));
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		a->addrs = xcalloc(count, sizeof(*a->addrs));
		break;
	case DNS_T_MX:
		a->mx = xcalloc(count, sizeof(*a->mx));
		break;
	case DNS_T_PTR:
	case DNS_T_NS:
	case DNS_T_CNAME:
		a->names = xcalloc(count, sizeof(*a->names));
		break;
	default:
		break;		/* other types: n counts the records, no data */
	}

	for (i = 0; i < nrr && a->n < count; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		size_t k, len, off;
		char *s;

		if (ldns_rr_get_type(rr) != qtype ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), cur) != 0 ||
		    !rr_usable(rr, qtype))
			continue;
		switch (qtype) {
		case DNS_T_TXT:
			if ((len = txt_joined_len(rr)) > DNS_MAX_TXT_LEN)
				continue;
			a->txt[a->n] = xmalloc(len + 1);
			for (k = 0, off = 0; k < ldns_rr_rd_count(rr); k++) {
				const ldns_rdf *f = ldns_rr_rdf(rr, k);

				memcpy(a->txt[a->n] + off, ldns_rdf_data(f) + 1, ldns_rdf_size(f) - 1);
				off += ldns_rdf_size(f) - 1;
			}
			a->txt[a->n][len] = '\0';
			a->txt_len[a->n] = len;
			break;
		case DNS_T_A:
			a->addrs[a->n].family = AF_INET;
			memcpy(a->addrs[a->n].addr, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
			break;
		case DNS_T_AAAA:
			a->addrs[a->n].family = AF_INET6;
			memcpy(a->addrs[a->n].addr, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 16);
			break;
		case DNS_T_MX:
			if ((s = dname_to_str(ldns_rr_rdf(rr, 1))) == NULL)
				continue;
			a->mx[a->n].pref = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
			a->mx[a->n].host = s;
			break;
		case DNS_T_PTR:
		case DNS_T_NS:
		case DNS_T_CNAME:
			if ((s = dname_to_str(ldns_rr_rdf(rr, 0))) == NULL)
				continue;
			a->names[a->n] = s;
			break;
		default:
			break;
		}
		a->n++;
	}
	dnssec_flags(a, pkt, cur, qtype);
	return a;
}

/* ---------------------------------------------------------------- */
/* ldns backend */

/* thread_free - release one thread's resolvers */
static void
thread_free(struct dns_thread *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->res[i] != NULL)
			ldns_resolver_deep_free(t->res[i]);
	free(t->res);
	free(t);
}

/* thread_exit - pthread key destructor: unlink and free this thread's state */
static void
thread_exit(void *p)
{
	struct dns_thread *t = p;
	struct dns *d = t->dns;

	pthread_mutex_lock(&d->tlock);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		d->threads = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&d->tlock);
	thread_free(t);
}

/*
 * resolver_new - one ldns resolver for one name server, configured from
 * the options: recursion desired, no search list, EDNS0 with 1232 bytes,
 * TC fallback to TCP on, servers in the order given.
 */
static ldns_resolver *
resolver_new(const struct dns *d, const struct nameserver *ns)
{
	ldns_resolver *r;
	ldns_rdf *addr;
	unsigned char tmp[16];
	unsigned retry;

	if ((r = ldns_resolver_new()) == NULL)
		return NULL;
	if (inet_pton(AF_INET, ns->addr, tmp) == 1)
		addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, tmp);
	else if (inet_pton(AF_INET6, ns->addr, tmp) == 1)
		addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, tmp);
	else
		addr = NULL;
	if (addr == NULL || ldns_resolver_push_nameserver(r, addr) != LDNS_STATUS_OK) {
		if (addr != NULL)
			ldns_rdf_deep_free(addr);
		ldns_resolver_deep_free(r);
		return NULL;
	}
	ldns_rdf_deep_free(addr);	/* the resolver keeps a copy */
	ldns_resolver_set_port(r, (uint16_t)(ns->port ? ns->port : 53));
	ldns_resolver_set_timeout(r, (struct timeval){
	    d->opts.timeout ? (time_t)d->opts.timeout : DNS_DEFAULT_TIMEOUT, 0 });
	retry = d->opts.retries + 1;		/* ldns counts attempts */
	ldns_resolver_set_retry(r, (uint8_t)(retry > 255 ? 255 : retry));
	ldns_resolver_set_retrans(r, 0);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_dnsrch(r, false);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_usevc(r, false);
	ldns_resolver_set_igntc(r, false);
	ldns_resolver_set_fail(r, false);
	ldns_resolver_set_fallback(r, true);
	ldns_resolver_set_edns_udp_size(r, DNS_EDNS_UDP_SIZE);
	/* DO bit (RFC 3225); ldns validates nothing itself, the AD bit is the resolver's */
	ldns_resolver_set_dnssec(r, d->opts.dnssec_ok);
	if (!ldns_resolver_fallback(r)) {
		ldns_resolver_deep_free(r);
		return NULL;
	}
	return r;
}

/* thread_get - this thread's resolvers, created on first use */
static struct dns_thread *
thread_get(struct dns *d)
{
	struct dns_thread *t;
	size_t i;

	if ((t = pthread_getspecific(d->key)) != NULL)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->dns = d;
	t->n = d->n_ns;
	t->res = xcalloc(t->n, sizeof(*t->res));
	for (i = 0; i < t->n; i++) {
		if ((t->res[i] = resolver_new(d, &d->ns[i])) == NULL) {
			thread_free(t);
			return NULL;
		}
	}
	if (pthread_setspecific(d->key, t) != 0) {
		thread_free(t);
		return NULL;
	}
	pthread_mutex_lock(&d->tlock);
	t->next = d->threads;
	if (t->next != NULL)
		t->next->prev = t;
	d->threads = t;
	pthread_mutex_unlock(&d->tlock);
	return t;
}

/* status_is_malformed - ldns statuses that mean the reply did not parse */
static bool
status_is_malformed(ldns_status s)
{
	switch (s) {
	case LDNS_STATUS_WIRE_INCOMPLETE_HEADER:
	case LDNS_STATUS_WIRE_INCOMPLETE_QUESTION:
	case LDNS_STATUS_WIRE_INCOMPLETE_ANSWER:
	case LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY:
	case LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL:
	case LDNS_STATUS_WIRE_RDATA_ERR:
	case LDNS_STATUS_PACKET_OVERFLOW:
	case LDNS_STATUS_DOMAINNAME_OVERFLOW:
	case LDNS_STATUS_DOMAINNAME_UNDERFLOW:
	case LDNS_STATUS_LABEL_OVERFLOW:
	case LDNS_STATUS_EMPTY_LABEL:
	case LDNS_STATUS_INVALID_POINTER:
	case LDNS_STATUS_RDATA_OVERFLOW:
		return true;
	default:
		return false;
	}
}

/* reply_matches - does the reply answer our query (ID, QR, question)? */
static bool
reply_matches(const ldns_pkt *q, const ldns_pkt *r, const ldns_rdf *qname, uint16_t qtype)
{
	ldns_rr_list *qs = ldns_pkt_question(r);
	const ldns_rr *qr;

	if (ldns_pkt_id(q) != ldns_pkt_id(r) || !ldns_pkt_qr(r))
		return false;
	if (qs == NULL || ldns_rr_list_rr_count(qs) == 0)
		return ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR;	/* error replies may omit it */
	if (ldns_rr_list_rr_count(qs) != 1)
		return false;
	qr = ldns_rr_list_rr(qs, 0);
	return ldns_rr_get_type(qr) == qtype &&
	    ldns_dname_compare(ldns_rr_owner(qr), qname) == 0;
}

/*
 * ldns_lookup - ask the configured name servers in order.  A server that
 * gives no usable answer (no reply, SERVFAIL, REFUSED, FORMERR, a malformed
 * or mismatched reply) makes us ask the next; the last result counts.
 *
 * Each server's RTT is reset first: after one timeout ldns marks a server
 * unreachable for the resolver's life (RTT_INF) and would never ask it
 * again (LIBRARIES.md 5.1).
 */
static struct dns_answer *
ldns_lookup(struct dns *d, const ldns_rdf *qname, uint16_t qtype, uint32_t *neg_ttl)
{
	struct dns_thread *t;
	struct dns_answer *a = NULL;
	size_t i;

	*neg_ttl = 0;
	if ((t = thread_get(d)) == NULL)
		return answer_new(qtype, DNS_TEMPFAIL, -1, "cannot set up a resolver");
	for (i = 0; i < t->n; i++) {
		ldns_resolver *r = t->res[i];
		ldns_pkt *q = NULL, *reply = NULL;
		ldns_status s;
		size_t j;

		for (j = 0; j < ldns_resolver_nameserver_count(r); j++)
			ldns_resolver_set_nameserver_rtt(r, j, LDNS_RESOLV_RTT_MIN);
		dns_answer_free(a);
		a = NULL;
		s = ldns_resolver_prepare_query_pkt(&q, r, qname, (ldns_rr_type)qtype,
		    LDNS_RR_CLASS_IN, LDNS_RD);
		if (s != LDNS_STATUS_OK || q == NULL) {
			a = answer_new(qtype, DNS_TEMPFAIL, -1, "cannot build the query");
			continue;
		}
		s = ldns_resolver_send_pkt(&reply, r, q);
		if (s != LDNS_STATUS_OK || reply == NULL) {
			if (status_is_malformed(s))
				a = answer_new(qtype, DNS_PERMFAIL, -1, "malformed reply");
			else
				a = answer_new(qtype, DNS_TEMPFAIL, -1, "timeout or network error");
		} else if (!reply_matches(q, reply, qname, qtype)) {
			a = answer_new(qtype, DNS_TEMPFAIL, -1, "reply does not match the query");
		} else {
			a = answer_from_pkt(reply, qname, qtype, neg_ttl);
		}
		if (reply != NULL)
			ldns_pkt_free(reply);
		ldns_pkt_free(q);
		if (a->status == DNS_OK || a->status == DNS_NXDOMAIN)
			break;
		*neg_ttl = 0;
	}
	if (a == NULL)
		a = answer_new(qtype, DNS_TEMPFAIL, -1, "no name servers");
	return a;
}

/* resolvconf_read - the nameserver lines of the system resolv.conf */
static int
resolvconf_read(struct dns *d, char *err, size_t errlen)
{
	FILE *fp;
	char line[1024];
	unsigned char tmp[16];

	if ((fp = fopen(DNS_RESOLVCONF, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", DNS_RESOLVCONF, strerror(errno));
		return -1;
	}
	d->ns = xcalloc(DNS_RESOLVCONF_MAXNS, sizeof(*d->ns));
	while (fgets(line, sizeof(line), fp) != NULL && d->n_ns < DNS_RESOLVCONF_MAXNS) {
		char *p = line, *addr;

		p += strspn(p, " \t");
		if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
			continue;
		addr = p + 10 + strspn(p + 10, " \t");
		addr[strcspn(addr, " \t\r\n#;")] = '\0';
		/* a scoped IPv6 address (fe80::1%eth0) is skipped: ldns cannot use it */
		if (strlen(addr) >= sizeof(d->ns[0].addr) ||
		    (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1))
			continue;
		strcpy(d->ns[d->n_ns].addr, addr);
		d->ns[d->n_ns].port = 53;
		d->n_ns++;
	}
	fclose(fp);
	if (d->n_ns == 0) {
		snprintf(err, errlen, "%s has no usable nameserver line; set Nameservers", DNS_RESOLVCONF);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* static backend */

/* hash_bytes - FNV-1a */
static uint64_t
hash_bytes(const void *p, size_t len, uint64_t h)
{
	const unsigned char *s = p;

	while (len-- > 0) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* static_find - the node for a lowercase wire name, or NULL */
static struct static_node *
static_find(const struct dns *d, const uint8_t *key, size_t klen)
{
	struct static_node *n;

	if (d->snb == 0)
		return NULL;
	n = d->sb[hash_bytes(key, klen, 14695981039346656037ULL) % d->snb];
	for (; n != NULL; n = n->next)
		if (n->klen == klen && memcmp(n->key, key, klen) == 0)
			return n;
	return NULL;
}

/* static_node_get - find or create the node for a dname (write lock held) */
static struct static_node *
static_node_get(struct dns *d, const ldns_rdf *name)
{
	struct static_node *n;
	ldns_rdf *c;
	size_t h;

	if ((c = ldns_rdf_clone(name)) == NULL)
		return NULL;
	ldns_dname2canonical(c);
	if ((n = static_find(d, ldns_rdf_data(c), ldns_rdf_size(c))) != NULL) {
		ldns_rdf_deep_free(c);
		return n;
	}
	if (d->sn >= d->snb) {		/* grow: keep chains short */
		size_t nb = d->snb ? d->snb * 2 : 64, i;
		struct static_node **b = xcalloc(nb, sizeof(*b));

		for (i = 0; i < d->snb; i++) {
			while ((n = d->sb[i]) != NULL) {
				d->sb[i] = n->next;
				h = hash_bytes(n->key, n->klen, 14695981039346656037ULL) % nb;
				n->next = b[h];
				b[h] = n;
			}
		}
		free(d->sb);
		d->sb = b;
		d->snb = nb;
	}
	n = xcalloc(1, sizeof(*n));
	n->klen = ldns_rdf_size(c);
	n->key = xmalloc(n->klen);
	memcpy(n->key, ldns_rdf_data(c), n->klen);
	ldns_rdf_deep_free(c);
	if ((n->rrs = ldns_rr_list_new()) == NULL)
		log_fatal("out of memory allocating an ldns_rr_list");
	h = hash_bytes(n->key, n->klen, 14695981039346656037ULL) % d->snb;
	n->next = d->sb[h];
	d->sb[h] = n;
	d->sn++;
	return n;
}

/* static_mark_exists - a name and all its ancestors exist (empty non-terminals) */
static int
static_mark_exists(struct dns *d, const ldns_rdf *name)
{
	ldns_rdf *cur, *up;
	struct static_node *n;

	if ((cur = ldns_rdf_clone(name)) == NULL)
		return -1;
	while (ldns_dname_label_count(cur) > 0) {
		if ((n = static_node_get(d, cur)) == NULL) {
			ldns_rdf_deep_free(cur);
			return -1;
		}
		n->exists = true;
		if ((up = ldns_dname_left_chop(cur)) == NULL) {
			ldns_rdf_deep_free(cur);
			return -1;
		}
		ldns_rdf_deep_free(cur);
		cur = up;
	}
	ldns_rdf_deep_free(cur);
	return 0;
}

/* static_add_rr - store a record (takes ownership of rr; write lock held) */
static int
static_add_rr(struct dns *d, ldns_rr *rr)
{
	struct static_node *n;

	if ((n = static_node_get(d, ldns_rr_owner(rr))) == NULL ||
	    static_mark_exists(d, ldns_rr_owner(rr)) != 0 ||
	    !ldns_rr_list_push_rr(n->rrs, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/*
 * txt_quote - rdata for an unquoted TXT string: one character-string per
 * 255 bytes, quoted, with '"' and '\' escaped.
 */
static char *
txt_quote(const char *s)
{
	size_t len = strlen(s), i, chunk = 0;
	char *out = xmalloc(len * 2 + (len / 255 + 1) * 3 + 1), *p = out;

	*p++ = '"';
	for (i = 0; i < len; i++) {
		if (chunk == 255) {
			*p++ = '"';
			*p++ = ' ';
			*p++ = '"';
			chunk = 0;
		}
		if (s[i] == '"' || s[i] == '\\')
			*p++ = '\\';
		*p++ = s[i];
		chunk++;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/*
 * dns_static_add - add one record in presentation format.  TXT rdata not
 * starting with '"' is taken as one literal string (split every 255 bytes),
 * so "v=spf1 -all" does not silently become two strings joined as
 * "v=spf1-all".
 */
int
dns_static_add(struct dns *d, const char *name, uint16_t qtype, const char *rdata)
{
	ldns_rr *rr = NULL;
	ldns_rdf *root;
	char *type, *text, *quoted = NULL;
	size_t nlen;
	ldns_status s;
	int rc;

	if (d == NULL || d->backend != BACKEND_STATIC || name == NULL || rdata == NULL ||
	    strchr(rdata, '\n') != NULL || strchr(name, '\n') != NULL ||
	    (nlen = strlen(name)) == 0)
		return -1;
	if (qtype == DNS_T_TXT && rdata[strspn(rdata, " \t")] != '"')
		rdata = quoted = txt_quote(rdata);
	if ((type = ldns_rr_type2str((ldns_rr_type)qtype)) == NULL) {
		free(quoted);
		return -1;
	}
	text = xasprintf("%s%s %u IN %s %s", name, name[nlen - 1] == '.' ? "" : ".",
	    DNS_STATIC_TTL, type, rdata);
	free(type);
	free(quoted);
	if ((root = ldns_dname_new_frm_str(".")) == NULL) {
		free(text);
		return -1;
	}
	s = ldns_rr_new_frm_str(&rr, text, DNS_STATIC_TTL, root, NULL);
	ldns_rdf_deep_free(root);
	free(text);
	if (s != LDNS_STATUS_OK || rr == NULL) {
		if (rr != NULL)
			ldns_rr_free(rr);
		return -1;
	}
	if (ldns_rr_get_type(rr) != qtype) {
		ldns_rr_free(rr);
		return -1;
	}
	pthread_rwlock_wrlock(&d->slock);
	rc = static_add_rr(d, rr);
	pthread_rwlock_unlock(&d->slock);
	return rc;
}

/* static_set - record a status for (name, qtype) */
static int
static_set(struct dns *d, const char *name, uint16_t qtype, enum static_kind kind)
{
	ldns_rdf *dn;
	struct static_node *n;
	size_t i;
	int rc = 0;

	if (d == NULL || d->backend != BACKEND_STATIC || name == NULL ||
	    (dn = ldns_dname_new_frm_str(name)) == NULL)
		return -1;
	pthread_rwlock_wrlock(&d->slock);
	if ((n = static_node_get(d, dn)) == NULL)
		rc = -1;
	else if (kind == SK_NODATA && static_mark_exists(d, dn) != 0)
		rc = -1;
	if (rc == 0) {
		for (i = 0; i < n->nst && n->st[i].qtype != qtype; i++)
			;
		if (i == n->nst) {
			n->st = xrealloc(n->st, (n->nst + 1) * sizeof(*n->st));
			n->nst++;
		}
		n->st[i].qtype = qtype;
		n->st[i].kind = kind;
	}
	pthread_rwlock_unlock(&d->slock);
	ldns_rdf_deep_free(dn);
	return rc;
}

/* dns_static_set_status - make a name answer SERVFAIL, NXDOMAIN or NODATA */
int
dns_static_set_status(struct dns *d, const char *name, uint16_t qtype, enum dns_status st)
{
	switch (st) {
	case DNS_TEMPFAIL:
		return static_set(d, name, qtype, SK_SERVFAIL);
	case DNS_NXDOMAIN:
		return static_set(d, name, qtype, SK_NXDOMAIN);
	case DNS_OK:
		return static_set(d, name, qtype, SK_NODATA);
	case DNS_PERMFAIL:
		return static_set(d, name, qtype, SK_FORMERR);
	}
	return -1;
}

/* dns_static_set_validating - AD on signed answers, as a validating resolver sets it */
int
dns_static_set_validating(struct dns *d, bool on)
{
	if (d == NULL || d->backend != BACKEND_STATIC)
		return -1;
	pthread_rwlock_wrlock(&d->slock);
	d->validating = on;
	pthread_rwlock_unlock(&d->slock);
	return 0;
}

/* dns_static_set_timeout - make a name time out (sleep timeout s, TEMPFAIL) */
int
dns_static_set_timeout(struct dns *d, const char *name, uint16_t qtype)
{
	return static_set(d, name, qtype, SK_TIMEOUT);
}

/*
 * dns_static_load_zone - load a zone file as nsd would read it ($ORIGIN,
 * $TTL, relative names, parentheses; no $INCLUDE).  Records without a TTL
 * take the $TTL in force, else 3600.  Parsed one record at a time with
 * ldns_rr_new_frm_fp_l rather than ldns_zone_new_frm_fp_l, which leaks the
 * records read so far when a later line is bad (ldns 1.8.3).  Nothing is
 * stored unless the whole file parses.
 */
int
dns_static_load_zone(struct dns *d, const char *path, const char *origin,
    char *err, size_t errlen)
{
	FILE *fp;
	ldns_rdf *org = NULL, *prev = NULL;
	ldns_rr_list *rrs;
	ldns_rr *rr;
	ldns_status s = LDNS_STATUS_OK;
	uint32_t ttl = DNS_STATIC_TTL;
	int line = 0, rc = 0;	/* ldns counts the newlines it has read */
	size_t i;

	if (d == NULL || d->backend != BACKEND_STATIC || path == NULL) {
		snprintf(err, errlen, "not a static DNS backend");
		return -1;
	}
	if (origin != NULL && ((org = ldns_dname_new_frm_str(origin)) == NULL ||
	    (prev = ldns_rdf_clone(org)) == NULL)) {
		snprintf(err, errlen, "bad origin \"%s\"", origin);
		if (org != NULL)
			ldns_rdf_deep_free(org);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto out;
	}
	if ((rrs = ldns_rr_list_new()) == NULL)
		log_fatal("out of memory allocating an ldns_rr_list");
	while (rc == 0 && !feof(fp)) {
		rr = NULL;
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &org, &prev, &line);
		switch (s) {
		case LDNS_STATUS_OK:
			if (rr != NULL && !ldns_rr_list_push_rr(rrs, rr)) {
				ldns_rr_free(rr);
				snprintf(err, errlen, "%s: out of memory", path);
				rc = -1;
			}
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			snprintf(err, errlen, "%s:%d: $INCLUDE is not supported", path, line);
			rc = -1;
			break;
		default:
			snprintf(err, errlen, "%s:%d: %s", path, line, ldns_get_errorstr_by_id(s));
			rc = -1;
			break;
		}
	}
	fclose(fp);
	if (rc == 0) {
		pthread_rwlock_wrlock(&d->slock);
		for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
			if (rc != 0)
				ldns_rr_free(ldns_rr_list_rr(rrs, i));
			else if (static_add_rr(d, ldns_rr_list_rr(rrs, i)) != 0) {
				snprintf(err, errlen, "%s: out of memory storing records", path);
				rc = -1;
			}
		}
		pthread_rwlock_unlock(&d->slock);
		ldns_rr_list_free(rrs);		/* the records now belong to the table */
	} else
		ldns_rr_list_deep_free(rrs);
out:
	if (org != NULL)
		ldns_rdf_deep_free(org);
	if (prev != NULL)
		ldns_rdf_deep_free(prev);
	return rc;
}

/* static_lookup_node - the node of a dname, or NULL (read lock held) */
static struct static_node *
static_lookup_node(const struct dns *d, const ldns_rdf *name)
{
	ldns_rdf *c;
	struct static_node *n;

	if ((c = ldns_rdf_clone(name)) == NULL)
		return NULL;
	ldns_dname2canonical(c);
	n = static_find(d, ldns_rdf_data(c), ldns_rdf_size(c));
	ldns_rdf_deep_free(c);
	return n;
}

/* static_status_of - the status set for a type, or for every type */
static const struct static_status *
static_status_of(const struct static_node *n, uint16_t qtype)
{
	const struct static_status *any = NULL;
	size_t i;

	for (i = 0; n != NULL && i < n->nst; i++) {
		if (n->st[i].qtype == qtype)
			return &n->st[i];
		if (n->st[i].qtype == 0)
			any = &n->st[i];
	}
	return any;
}

/* static_wildcard - the "*.<closest encloser>" node for a missing name (RFC 4592) */
static struct static_node *
static_wildcard(const struct dns *d, const ldns_rdf *name)
{
	ldns_rdf *cur, *up;
	struct static_node *n, *res = NULL;

	if ((cur = ldns_dname_left_chop(name)) == NULL)
		return NULL;
	while (ldns_dname_label_count(cur) > 0) {
		n = static_lookup_node(d, cur);
		if (n != NULL && n->exists) {
			/* closest encloser found: its wildcard "*.<cur>", if any */
			uint8_t w[DNS_WIRE_MAX + 2];
			ldns_rdf *full;

			if (ldns_rdf_size(cur) + 2 <= DNS_WIRE_MAX) {
				w[0] = 1;
				w[1] = '*';
				memcpy(w + 2, ldns_rdf_data(cur), ldns_rdf_size(cur));
				if ((full = dname_from_wire(w, ldns_rdf_size(cur) + 2)) != NULL) {
					res = static_lookup_node(d, full);
					ldns_rdf_deep_free(full);
				}
			}
			break;
		}
		if ((up = ldns_dname_left_chop(cur)) == NULL)
			break;
		ldns_rdf_deep_free(cur);
		cur = up;
	}
	ldns_rdf_deep_free(cur);
	return res;
}

/*
 * static_push_sigs - with the DO bit, the RRSIGs at a node over a type,
 * into a section (owner rewritten for wildcards); the count pushed
 */
static size_t
static_push_sigs(const struct dns *d, ldns_pkt *pkt, const struct static_node *n, uint16_t type,
    const ldns_rdf *owner, ldns_pkt_section sec)
{
	size_t i, k = 0;

	if (!d->opts.dnssec_ok)
		return 0;
	for (i = 0; i < ldns_rr_list_rr_count(n->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(n->rrs, i);
		const ldns_rdf *tc;
		ldns_rr *c;
		ldns_rdf *o;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    (tc = ldns_rr_rrsig_typecovered(rr)) == NULL ||
		    ldns_rdf2rr_type(tc) != (ldns_rr_type)type ||
		    (c = ldns_rr_clone(rr)) == NULL)
			continue;
		if (owner != NULL && (o = ldns_rdf_clone(owner)) != NULL) {
			ldns_rdf_deep_free(ldns_rr_owner(c));
			ldns_rr_set_owner(c, o);
		}
		if (!ldns_pkt_push_rr(pkt, sec, c)) {
			ldns_rr_free(c);
			continue;
		}
		k++;
	}
	return k;
}

/* static_push_soa - the SOA of the nearest enclosing zone into authority */
static void
static_push_soa(const struct dns *d, ldns_pkt *pkt, const ldns_rdf *name)
{
	ldns_rdf *cur, *up;
	struct static_node *n;
	size_t i;

	if ((cur = ldns_rdf_clone(name)) == NULL)
		return;
	for (;;) {
		n = static_lookup_node(d, cur);
		for (i = 0; n != NULL && i < ldns_rr_list_rr_count(n->rrs); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(n->rrs, i);
			ldns_rr *c;

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
				if ((c = ldns_rr_clone(rr)) != NULL &&
				    !ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, c))
					ldns_rr_free(c);
				if (static_push_sigs(d, pkt, n, DNS_T_SOA, NULL, LDNS_SECTION_AUTHORITY) > 0 &&
				    d->validating)
					ldns_pkt_set_ad(pkt, true);
				ldns_rdf_deep_free(cur);
				return;
			}
		}
		if (ldns_dname_label_count(cur) == 0 || (up = ldns_dname_left_chop(cur)) == NULL)
			break;
		ldns_rdf_deep_free(cur);
		cur = up;
	}
	ldns_rdf_deep_free(cur);
}

/* static_push_rrs - copy the records of a type (owner rewritten for wildcards) */
static size_t
static_push_rrs(ldns_pkt *pkt, const struct static_node *n, uint16_t type, const ldns_rdf *owner)
{
	size_t i, k = 0;

	for (i = 0; i < ldns_rr_list_rr_count(n->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(n->rrs, i);
		ldns_rr *c;
		ldns_rdf *o;

		if (ldns_rr_get_type(rr) != type || (c = ldns_rr_clone(rr)) == NULL)
			continue;
		if (owner != NULL && (o = ldns_rdf_clone(owner)) != NULL) {
			ldns_rdf_deep_free(ldns_rr_owner(c));
			ldns_rr_set_owner(c, o);
		}
		if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, c)) {
			ldns_rr_free(c);
			continue;
		}
		k++;
	}
	return k;
}

/*
 * static_reply - synthesize the reply an authoritative server holding the
 * static data would give: records of the type, a CNAME chain, NODATA for a
 * name that exists with other types (or as an empty non-terminal),
 * wildcards (RFC 4592), else NXDOMAIN; the SOA of the enclosing zone goes
 * into the authority section of negative answers (RFC 2308 §3).
 * *timeout is set for a name configured to time out.
 */
static ldns_pkt *
static_reply(const struct dns *d, const ldns_rdf *qname, uint16_t qtype, bool *timeout)
{
	ldns_pkt *pkt;
	ldns_rdf *cur, *owner;
	const struct static_node *n;
	const struct static_status *st;
	size_t hops;
	int rcode = LDNS_RCODE_NOERROR;
	bool negative = false;

	*timeout = false;
	if ((owner = ldns_rdf_clone(qname)) == NULL)
		return NULL;
	if ((pkt = ldns_pkt_query_new(owner, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, LDNS_RD)) == NULL)
		return NULL;
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	if ((cur = ldns_rdf_clone(qname)) == NULL) {
		ldns_pkt_free(pkt);
		return NULL;
	}
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		const ldns_rdf *synth = NULL;
		ldns_rdf *next = NULL;
		size_t i;

		n = static_lookup_node(d, cur);
		if ((st = static_status_of(n, qtype)) != NULL) {
			switch (st->kind) {
			case SK_SERVFAIL:
				rcode = LDNS_RCODE_SERVFAIL;
				break;
			case SK_FORMERR:
				rcode = LDNS_RCODE_FORMERR;
				break;
			case SK_TIMEOUT:
				*timeout = true;
				break;
			case SK_NXDOMAIN:
				rcode = LDNS_RCODE_NXDOMAIN;
				negative = true;
				break;
			case SK_NODATA:
				negative = true;
				break;
			}
			break;
		}
		if (n == NULL || !n->exists) {
			if ((n = static_wildcard(d, cur)) == NULL || !n->exists) {
				rcode = LDNS_RCODE_NXDOMAIN;
				negative = true;
				break;
			}
			synth = cur;
		}
		if (static_push_rrs(pkt, n, qtype, synth) > 0) {
			if (static_push_sigs(d, pkt, n, qtype, synth, LDNS_SECTION_ANSWER) > 0 &&
			    d->validating)
				ldns_pkt_set_ad(pkt, true);
			break;
		}
		if (qtype == DNS_T_CNAME) {
			negative = true;
			break;
		}
		for (i = 0; i < ldns_rr_list_rr_count(n->rrs); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(n->rrs, i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && rr_usable(rr, DNS_T_CNAME)) {
				next = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
				break;
			}
		}
		if (next == NULL) {
			negative = true;	/* NODATA */
			break;
		}
		static_push_rrs(pkt, n, DNS_T_CNAME, synth);
		ldns_rdf_deep_free(cur);
		cur = next;
	}
	if (negative)
		static_push_soa(d, pkt, cur);
	ldns_rdf_deep_free(cur);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	return pkt;
}

/* static_lookup - answer from the static data */
static struct dns_answer *
static_lookup(struct dns *d, const ldns_rdf *qname, uint16_t qtype, uint32_t *neg_ttl)
{
	ldns_pkt *pkt;
	struct dns_answer *a;
	bool timeout;

	*neg_ttl = 0;
	pthread_rwlock_rdlock(&d->slock);
	pkt = static_reply(d, qname, qtype, &timeout);
	pthread_rwlock_unlock(&d->slock);
	if (pkt == NULL)
		return answer_new(qtype, DNS_TEMPFAIL, -1, "out of memory building the reply");
	if (timeout) {
		ldns_pkt_free(pkt);
		if (d->opts.timeout > 0)
			sleep(d->opts.timeout);
		return answer_new(qtype, DNS_TEMPFAIL, -1, "timeout (simulated)");
	}
	a = answer_from_pkt(pkt, qname, qtype, neg_ttl);
	ldns_pkt_free(pkt);
	return a;
}

/* ---------------------------------------------------------------- */
/* cache */

/* now_ns - CLOCK_MONOTONIC in nanoseconds */
static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* cache_new - shards of at most cap/nshards entries each, so the total stays within cap */
static struct cache *
cache_new(size_t cap)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	size_t i, per;

	c->nshards = cap < CACHE_SHARDS ? cap : CACHE_SHARDS;
	per = cap / c->nshards;
	c->shards = xcalloc(c->nshards, sizeof(*c->shards));
	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_init(&s->mtx, NULL);
		pthread_cond_init(&s->cv, NULL);
		s->cap = per;
		for (s->nb = 16; s->nb < per && s->nb < (1u << 20); s->nb *= 2)
			;
		s->b = xcalloc(s->nb, sizeof(*s->b));
	}
	return c;
}

/* entry_free */
static void
entry_free(struct centry *e)
{
	dns_answer_free(e->ans);
	free(e->name);
	free(e);
}

/* cache_free - free every entry (no thread may use the cache any more) */
static void
cache_free(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct centry *e, *nx;

		for (e = s->lru_head; e != NULL; e = nx) {
			nx = e->lnext;
			entry_free(e);
		}
		free(s->b);
		pthread_mutex_destroy(&s->mtx);
		pthread_cond_destroy(&s->cv);
	}
	free(c->shards);
	free(c);
}

/* lru_unlink / lru_push_front - LRU list upkeep (shard lock held) */
static void
lru_unlink(struct shard *s, struct centry *e)
{
	if (e->lprev != NULL)
		e->lprev->lnext = e->lnext;
	else
		s->lru_head = e->lnext;
	if (e->lnext != NULL)
		e->lnext->lprev = e->lprev;
	else
		s->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
lru_push_front(struct shard *s, struct centry *e)
{
	e->lprev = NULL;
	e->lnext = s->lru_head;
	if (s->lru_head != NULL)
		s->lru_head->lprev = e;
	s->lru_head = e;
	if (s->lru_tail == NULL)
		s->lru_tail = e;
}

/* entry_remove - unlink from hash and LRU and free (shard lock held) */
static void
entry_remove(struct shard *s, struct centry *e)
{
	struct centry **pp = &s->b[(e->hash / CACHE_SHARDS) % s->nb];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	lru_unlink(s, e);
	s->n--;
	entry_free(e);
}

/* entry_find - the entry for (name, qtype) (shard lock held) */
static struct centry *
entry_find(struct shard *s, uint64_t h, const char *name, uint16_t qtype)
{
	struct centry *e = s->b[(h / CACHE_SHARDS) % s->nb];

	for (; e != NULL; e = e->hnext)
		if (e->hash == h && e->qtype == qtype && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* entry_insert - store a copy, evicting the least recently used (shard lock held) */
static void
entry_insert(struct shard *s, uint64_t h, const char *name, uint16_t qtype,
    const struct dns_answer *a, uint32_t ttl)
{
	struct centry *e;
	size_t b;

	if (s->cap == 0)
		return;
	if ((e = entry_find(s, h, name, qtype)) != NULL)
		entry_remove(s, e);
	while (s->n >= s->cap && s->lru_tail != NULL)
		entry_remove(s, s->lru_tail);
	e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->name = xstrdup(name);
	e->qtype = qtype;
	e->expires = now_ns() + (uint64_t)ttl * 1000000000ULL;
	e->ans = answer_copy(a);
	b = (h / CACHE_SHARDS) % s->nb;
	e->hnext = s->b[b];
	s->b[b] = e;
	lru_push_front(s, e);
	s->n++;
}

/* cache_ttl - how long an answer may stay in the cache (0: not at all) */
static uint32_t
cache_ttl(const struct dns *d, const struct dns_answer *a, uint32_t neg_ttl)
{
	if (a->status == DNS_NXDOMAIN || (a->status == DNS_OK && a->n == 0 && !a->truncated))
		return neg_ttl < d->opts.max_neg_ttl ? neg_ttl : d->opts.max_neg_ttl;
	if (a->status == DNS_OK)
		return a->ttl < d->opts.max_ttl ? a->ttl : d->opts.max_ttl;
	return 0;		/* TEMPFAIL and PERMFAIL are never cached */
}

/* ---------------------------------------------------------------- */
/* the shared front */

/* backend_lookup - one upstream query */
static struct dns_answer *
backend_lookup(struct dns *d, const uint8_t *wire, size_t wlen, uint16_t qtype, uint32_t *neg_ttl)
{
	ldns_rdf *qname;
	struct dns_answer *a;

	*neg_ttl = 0;
	atomic_fetch_add(&d->st_upstream, 1);
	if ((qname = dname_from_wire(wire, wlen)) == NULL)
		return answer_new(qtype, DNS_TEMPFAIL, -1, "out of memory");
	if (d->backend == BACKEND_LDNS)
		a = ldns_lookup(d, qname, qtype, neg_ttl);
	else
		a = static_lookup(d, qname, qtype, neg_ttl);
	ldns_rdf_deep_free(qname);
	return a;
}

/* cached_lookup - the cache with single-flight in front of the backend */
static struct dns_answer *
cached_lookup(struct dns *d, const char *name, const uint8_t *wire, size_t wlen, uint16_t qtype)
{
	struct cache *c = d->cache;
	uint64_t h = hash_bytes(&qtype, sizeof(qtype), hash_bytes(name, strlen(name), 14695981039346656037ULL));
	struct shard *s = &c->shards[h % c->nshards];
	struct centry *e;
	struct flight *f, **fp;
	struct dns_answer *a;
	uint64_t now;
	uint32_t neg_ttl;

	pthread_mutex_lock(&s->mtx);
	if ((e = entry_find(s, h, name, qtype)) != NULL) {
		now = now_ns();
		if (now < e->expires) {
			a = answer_copy(e->ans);
			a->ttl = (uint32_t)((e->expires - now + 999999999ULL) / 1000000000ULL);
			lru_unlink(s, e);
			lru_push_front(s, e);
			pthread_mutex_unlock(&s->mtx);
			atomic_fetch_add(&d->st_hits, 1);
			return a;
		}
		entry_remove(s, e);
	}
	for (f = s->flights; f != NULL; f = f->next)
		if (f->hash == h && f->qtype == qtype && strcmp(f->name, name) == 0)
			break;
	if (f != NULL) {
		/* someone is asking already: wait for that answer */
		f->waiters++;
		while (!f->done)
			pthread_cond_wait(&s->cv, &s->mtx);
		a = answer_copy(f->ans);
		if (--f->waiters == 0) {
			dns_answer_free(f->ans);
			free(f->name);
			free(f);
		}
		pthread_mutex_unlock(&s->mtx);
		atomic_fetch_add(&d->st_hits, 1);
		return a;
	}
	f = xcalloc(1, sizeof(*f));
	f->hash = h;
	f->name = xstrdup(name);
	f->qtype = qtype;
	f->next = s->flights;
	s->flights = f;
	pthread_mutex_unlock(&s->mtx);

	a = backend_lookup(d, wire, wlen, qtype, &neg_ttl);

	pthread_mutex_lock(&s->mtx);
	{
		uint32_t ttl = cache_ttl(d, a, neg_ttl);

		if (ttl > 0)
			entry_insert(s, h, name, qtype, a, ttl);
	}
	for (fp = &s->flights; *fp != NULL; fp = &(*fp)->next) {
		if (*fp == f) {
			*fp = f->next;
			break;
		}
	}
	f->done = true;
	if (f->waiters > 0) {
		f->ans = answer_copy(a);
		pthread_cond_broadcast(&s->cv);
	} else {
		free(f->name);
		free(f);
	}
	pthread_mutex_unlock(&s->mtx);
	return a;
}

/* dns_query - look a name up, through the cache */
struct dns_answer *
dns_query(struct dns *d, const char *name, uint16_t qtype)
{
	char lname[DNS_NAME_MAX + 1];
	uint8_t wire[DNS_WIRE_MAX];
	size_t wlen = 0;
	const char *why;
	struct dns_answer *a;
	uint32_t neg_ttl;

	if (d == NULL)
		return answer_new(qtype, DNS_TEMPFAIL, -1, "no DNS handle");
	atomic_fetch_add(&d->st_queries, 1);
	if ((why = name_check(name, lname, wire, &wlen)) != NULL)
		return answer_new(qtype, DNS_PERMFAIL, -1, why);
	if (d->cache != NULL)
		a = cached_lookup(d, lname, wire, wlen, qtype);
	else
		a = backend_lookup(d, wire, wlen, qtype, &neg_ttl);
	if (a->status == DNS_TEMPFAIL)
		atomic_fetch_add(&d->st_tempfail, 1);
	return a;
}

/* dns_get_stats - a snapshot of the counters and of the cache's fill */
void
dns_get_stats(struct dns *d, struct dns_stats *st)
{
	size_t i;

	st->queries = atomic_load(&d->st_queries);
	st->cache_hits = atomic_load(&d->st_hits);
	st->upstream = atomic_load(&d->st_upstream);
	st->tempfail = atomic_load(&d->st_tempfail);
	st->cache_entries = st->cache_capacity = 0;
	for (i = 0; d->cache != NULL && i < d->cache->nshards; i++) {
		struct shard *s = &d->cache->shards[i];

		pthread_mutex_lock(&s->mtx);
		st->cache_entries += s->n;
		st->cache_capacity += s->cap;
		pthread_mutex_unlock(&s->mtx);
	}
}

/* ---------------------------------------------------------------- */
/* wire format for libopendkim */

/* wire_rr - one answer RR for dns_answer_to_wire (NULL on failure) */
static ldns_rr *
wire_rr(const struct dns_answer *a, size_t i, const ldns_rdf *owner)
{
	ldns_rr *rr;
	ldns_rdf *f = NULL, *o;
	size_t off, len;
	uint8_t chunk[256];

	if ((rr = ldns_rr_new()) == NULL)
		return NULL;
	if ((o = ldns_rdf_clone(owner)) == NULL) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	ldns_rr_set_type(rr, (ldns_rr_type)a->qtype);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, a->ttl);
	switch (a->qtype) {
	case DNS_T_TXT:
		/* RFC 1035 3.3.14: character-strings of at most 255 bytes */
		off = 0;
		do {
			len = a->txt_len[i] - off > 255 ? 255 : a->txt_len[i] - off;
			chunk[0] = (uint8_t)len;
			memcpy(chunk + 1, a->txt[i] + off, len);
			off += len;
			if ((f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, len + 1, chunk)) == NULL ||
			    !ldns_rr_push_rdf(rr, f))
				goto fail_rdf;
		} while (off < a->txt_len[i]);
		return rr;
	case DNS_T_A:
	case DNS_T_AAAA:
		if (a->addrs[i].family == AF_INET && a->qtype == DNS_T_A)
			f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, a->addrs[i].addr);
		else if (a->addrs[i].family == AF_INET6 && a->qtype == DNS_T_AAAA)
			f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, a->addrs[i].addr);
		else
			f = NULL;
		if (f == NULL || !ldns_rr_push_rdf(rr, f))
			goto fail_rdf;
		return rr;
	case DNS_T_MX:
		if ((f = ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, (uint16_t)a->mx[i].pref)) == NULL ||
		    !ldns_rr_push_rdf(rr, f))
			goto fail_rdf;
		f = ldns_dname_new_frm_str(a->mx[i].host[0] != '\0' ? a->mx[i].host : ".");
		if (f == NULL || !ldns_rr_push_rdf(rr, f))
			goto fail_rdf;
		return rr;
	case DNS_T_PTR:
	case DNS_T_NS:
	case DNS_T_CNAME:
		f = ldns_dname_new_frm_str(a->names[i][0] != '\0' ? a->names[i] : ".");
		if (f == NULL || !ldns_rr_push_rdf(rr, f))
			goto fail_rdf;
		return rr;
	default:
		ldns_rr_free(rr);
		return NULL;
	}
fail_rdf:
	if (f != NULL)
		ldns_rdf_deep_free(f);
	ldns_rr_free(rr);
	return NULL;
}

/*
 * dns_answer_to_wire - a reply as res_query would return it: header,
 * question and answer RRs (owner = qname).  DNS_NXDOMAIN gives rcode 3,
 * DNS_TEMPFAIL rcode 2 (SERVFAIL), DNS_PERMFAIL the reply's FORMERR/NOTIMP
 * or else FORMERR; none of them carries answers.
 */
int
dns_answer_to_wire(const struct dns_answer *a, const char *qname,
    unsigned char *buf, size_t buflen)
{
	char lname[DNS_NAME_MAX + 1];
	uint8_t wire[DNS_WIRE_MAX];
	size_t wlen = 0, i, size = 0;
	ldns_rdf *owner, *qn;
	ldns_pkt *pkt;
	uint8_t *out = NULL;
	int rcode, rc = -1;

	if (a == NULL || buf == NULL || name_check(qname, lname, wire, &wlen) != NULL)
		return -1;
	if ((owner = dname_from_wire(wire, wlen)) == NULL)
		return -1;
	if ((qn = ldns_rdf_clone(owner)) == NULL) {
		ldns_rdf_deep_free(owner);
		return -1;
	}
	if ((pkt = ldns_pkt_query_new(qn, (ldns_rr_type)a->qtype, LDNS_RR_CLASS_IN, LDNS_RD)) == NULL) {
		ldns_rdf_deep_free(owner);
		return -1;
	}
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	switch (a->status) {
	case DNS_OK:
		rcode = LDNS_RCODE_NOERROR;
		break;
	case DNS_NXDOMAIN:
		rcode = LDNS_RCODE_NXDOMAIN;
		break;
	case DNS_TEMPFAIL:
		rcode = LDNS_RCODE_SERVFAIL;
		break;
	default:
		rcode = a->rcode == LDNS_RCODE_NOTIMPL ? LDNS_RCODE_NOTIMPL : LDNS_RCODE_FORMERR;
		break;
	}
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	if (a->status == DNS_OK) {
		for (i = 0; i < a->n; i++) {
			ldns_rr *rr = wire_rr(a, i, owner);

			if (rr == NULL)
				goto out;
			if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr)) {
				ldns_rr_free(rr);
				goto out;
			}
		}
	}
	if (ldns_pkt2wire(&out, pkt, &size) != LDNS_STATUS_OK || out == NULL ||
	    size > buflen || size > INT32_MAX)
		goto out;
	memcpy(buf, out, size);
	rc = (int)size;
out:
	free(out);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(owner);
	return rc;
}

/* ---------------------------------------------------------------- */
/* setup */

/* dns_alloc - the parts both backends share */
static struct dns *
dns_alloc(enum backend backend, const struct dns_options *o)
{
	struct dns *d = xcalloc(1, sizeof(*d));

	d->backend = backend;
	if (o != NULL)
		d->opts = *o;
	d->opts.nameservers = NULL;
	d->opts.n_nameservers = 0;
	pthread_mutex_init(&d->tlock, NULL);
	pthread_rwlock_init(&d->slock, NULL);
	atomic_init(&d->st_queries, 0);
	atomic_init(&d->st_hits, 0);
	atomic_init(&d->st_upstream, 0);
	atomic_init(&d->st_tempfail, 0);
	if (d->opts.cache_entries > 0)
		d->cache = cache_new(d->opts.cache_entries);
	return d;
}

/* dns_new_ldns - a real resolver; the system resolv.conf is read here, once */
struct dns *
dns_new_ldns(const struct dns_options *o, char *err, size_t errlen)
{
	struct dns *d;
	unsigned char tmp[16];
	size_t i;

	if (o == NULL) {
		snprintf(err, errlen, "no DNS options");
		return NULL;
	}
	for (i = 0; i < o->n_nameservers; i++) {
		if (inet_pton(AF_INET, o->nameservers[i].addr, tmp) != 1 &&
		    inet_pton(AF_INET6, o->nameservers[i].addr, tmp) != 1) {
			snprintf(err, errlen, "name server \"%s\" is not a numeric address",
			    o->nameservers[i].addr);
			return NULL;
		}
		if (o->nameservers[i].port > 65535) {
			snprintf(err, errlen, "bad port %u for name server %s",
			    o->nameservers[i].port, o->nameservers[i].addr);
			return NULL;
		}
	}
	d = dns_alloc(BACKEND_LDNS, o);
	if (o->n_nameservers > 0) {
		d->ns = xcalloc(o->n_nameservers, sizeof(*d->ns));
		memcpy(d->ns, o->nameservers, o->n_nameservers * sizeof(*d->ns));
		d->n_ns = o->n_nameservers;
	} else if (resolvconf_read(d, err, errlen) != 0) {
		dns_free(d);
		return NULL;
	}
	if (pthread_key_create(&d->key, thread_exit) != 0) {
		snprintf(err, errlen, "pthread_key_create failed");
		dns_free(d);
		return NULL;
	}
	d->key_ok = true;
	return d;
}

/* dns_new_static - the static backend (no sockets) */
struct dns *
dns_new_static(const struct dns_options *o)
{
	return dns_alloc(BACKEND_STATIC, o);
}

/* dns_free - release everything; no other thread may still use d */
void
dns_free(struct dns *d)
{
	struct dns_thread *t;
	size_t i;

	if (d == NULL)
		return;
	if (d->key_ok)
		pthread_key_delete(d->key);	/* no destructor runs after this */
	while ((t = d->threads) != NULL) {
		d->threads = t->next;
		thread_free(t);
	}
	for (i = 0; i < d->snb; i++) {
		struct static_node *n;

		while ((n = d->sb[i]) != NULL) {
			d->sb[i] = n->next;
			ldns_rr_list_deep_free(n->rrs);
			free(n->st);
			free(n->key);
			free(n);
		}
	}
	free(d->sb);
	cache_free(d->cache);
	free(d->ns);
	pthread_mutex_destroy(&d->tlock);
	pthread_rwlock_destroy(&d->slock);
	free(d);
}
