/*
 * keycache.c - decoded DKIM public keys, kept for the next message.
 *
 * libopendkim turns the p= of every DKIM key record into an EVP_PKEY with
 * OpenSSL's d2i_PUBKEY_bio(), once per signature it verifies.  OpenSSL 3.0
 * builds a new decoder context for every such call, walking every provider's
 * decoders: about 1.4 million instructions a call, 29 % of the milter's CPU
 * per DKIM-signed message and four times the RSA verification itself
 * (callgrind; docs/performance.md).  The keys of a domain change rarely, and
 * most mail comes from few signers.
 *
 * This file defines d2i_PUBKEY_bio itself.  It is linked into the
 * dmarc-milter executable, whose definitions come first in the dynamic
 * linker's search order, so libopendkim's calls land here (ELF symbol
 * interposition; nothing else in the process calls it).  A key is looked
 * up by its exact DER bytes: a rotated key is other bytes, hence another
 * entry, and nothing can ever be stale.  A hit returns the cached EVP_PKEY
 * with one more reference (libopendkim frees its reference when done);
 * EVP_PKEYs are safe to share between threads for verification.  A miss, a
 * call with a reuse pointer, or a BIO that is not a memory BIO decodes
 * with d2i_PUBKEY_ex(), exactly as OpenSSL would.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keycache.h"
#include "util.h"

#define KEYCACHE_SLOTS	256		/* distinct keys kept */
#define KEYCACHE_MAX_DER 8192		/* larger "keys" are decoded, never kept */

struct keyslot {
	unsigned char	*der;
	size_t		 len;
	uint64_t	 hash;
	EVP_PKEY	*pkey;
	unsigned long	 used;		/* clock of the last hit, for eviction */
};

static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct keyslot kc_slot[KEYCACHE_SLOTS];
static unsigned long kc_clock, kc_hits, kc_misses;

/* fnv1a - FNV-1a over the DER bytes: a cheap first comparison */
static uint64_t
fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	while (len-- > 0) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* decode - what OpenSSL's d2i_PUBKEY_bio does with the bytes */
static EVP_PKEY *
decode(const unsigned char *der, long len, EVP_PKEY **a)
{
	const unsigned char *p = der;

	return d2i_PUBKEY_ex(a, &p, len, NULL, NULL);
}

/* consume - read LEN bytes off the BIO, as a decode by OpenSSL would */
static void
consume(BIO *bp, long len)
{
	char sink[512];
	int n;

	while (len > 0 && (n = BIO_read(bp, sink, len > (long)sizeof(sink) ?
	    (int)sizeof(sink) : (int)len)) > 0)
		len -= n;
}

/*
 * d2i_PUBKEY_bio - OpenSSL's function of that name (x509.h), with a cache
 * in front for memory BIOs.
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char *data;
	long len;
	uint64_t h;
	size_t i, victim = 0;
	EVP_PKEY *pkey;
	struct keyslot *ks;
	unsigned char *copy;

	if (bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (len = BIO_get_mem_data(bp, &data)) <= 0) {
		/* not what libopendkim hands us: read it all and decode */
		unsigned char buf[KEYCACHE_MAX_DER];
		int n;

		if (bp == NULL || (n = BIO_read(bp, buf, (int)sizeof(buf))) <= 0)
			return NULL;
		return decode(buf, n, a);
	}
	if (a != NULL || len > KEYCACHE_MAX_DER) {
		pkey = decode((const unsigned char *)data, len, a);
		consume(bp, len);
		return pkey;
	}
	copy = xmalloc((size_t)len);
	memcpy(copy, data, (size_t)len);
	consume(bp, len);
	h = fnv1a(copy, (size_t)len);

	pthread_mutex_lock(&kc_lock);
	for (i = 0; i < KEYCACHE_SLOTS; i++) {
		ks = &kc_slot[i];
		if (ks->pkey != NULL && ks->hash == h && ks->len == (size_t)len &&
		    memcmp(ks->der, copy, (size_t)len) == 0) {
			ks->used = ++kc_clock;
			kc_hits++;
			pkey = ks->pkey;
			EVP_PKEY_up_ref(pkey);
			pthread_mutex_unlock(&kc_lock);
			free(copy);
			return pkey;
		}
		if (ks->pkey == NULL || (kc_slot[victim].pkey != NULL && ks->used < kc_slot[victim].used))
			victim = i;
	}
	kc_misses++;
	pthread_mutex_unlock(&kc_lock);

	/* decode outside the lock: it is the slow part */
	if ((pkey = decode(copy, len, NULL)) == NULL) {
		free(copy);
		return NULL;
	}
	pthread_mutex_lock(&kc_lock);
	ks = &kc_slot[victim];
	if (ks->pkey != NULL) {
		EVP_PKEY_free(ks->pkey);
		free(ks->der);
	}
	EVP_PKEY_up_ref(pkey);		/* one reference for the cache, one for the caller */
	ks->pkey = pkey;
	ks->der = copy;
	ks->len = (size_t)len;
	ks->hash = h;
	ks->used = ++kc_clock;
	pthread_mutex_unlock(&kc_lock);
	return pkey;
}

/* keycache_stats - hits and misses so far */
void
keycache_stats(unsigned long *hits, unsigned long *misses)
{
	pthread_mutex_lock(&kc_lock);
	*hits = kc_hits;
	*misses = kc_misses;
	pthread_mutex_unlock(&kc_lock);
}

/* keycache_flush - drop every cached key (at exit, so leak checkers see none) */
void
keycache_flush(void)
{
	size_t i;

	pthread_mutex_lock(&kc_lock);
	for (i = 0; i < KEYCACHE_SLOTS; i++) {
		if (kc_slot[i].pkey != NULL) {
			EVP_PKEY_free(kc_slot[i].pkey);
			free(kc_slot[i].der);
		}
		memset(&kc_slot[i], 0, sizeof(kc_slot[i]));
	}
	pthread_mutex_unlock(&kc_lock);
}
