/*
 * orgdomain.h - domain normalization, Organizational Domains from the
 * Public Suffix List (libpsl), and DMARC identifier alignment.
 *
 * Every domain is compared only after domain_normalize(): lowercase
 * A-labels, no trailing dot.  The functions below that take a "_norm"
 * argument expect that canonical form; anything else fails closed
 * (no organisational domain, not aligned) rather than guessing.
 *
 * A struct orgdomain wraps one loaded list.  It is immutable after
 * orgdomain_load() and may be shared by all threads without a lock
 * (libpsl lookups use only the stack; LIBRARIES.md §6.2).  A reload builds
 * a new one; whoever owns the configuration snapshot swaps the pointer and
 * frees the old list when the last user is gone.
 *
 * Alignment is split in two so that the RFC 9989 DNS tree walk can reuse
 * it: orgdomain_aligned_with() takes Organizational Domains computed by
 * any method, orgdomain_aligned_psl() computes them from the PSL.
 */
#ifndef DM_ORGDOMAIN_H
#define DM_ORGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dmarc_record.h"

#define DOMAIN_MAX_LEN		253	/* RFC 1035 §2.3.4: 255 octets on the wire */
#define DOMAIN_MAX_LABEL	63	/* RFC 1035 §2.3.4 */
#define DOMAIN_MAX_INPUT	1024	/* bytes of raw (UTF-8) input looked at */

/*
 * domain_normalize - canonical form of a domain name: one trailing dot
 * stripped, U-labels converted to A-labels (IDNA2008 with UTS #46 mapping,
 * non-transitional, falling back to transitional as libpsl does), ASCII
 * lowercased without the locale.  Rejects empty names and labels, a leading
 * dot, labels over 63 and names over 253 octets, bytes outside
 * letters/digits/hyphen/underscore, and "xn--" labels that are not valid
 * punycode.  Returns a malloc'd string, or NULL with a reason in err.
 */
char		*domain_normalize(const char *in, char *err, size_t errlen);

/* domain_is_normalized - true when s is already what domain_normalize returns for ASCII */
bool		 domain_is_normalized(const char *s);

struct orgdomain;

/*
 * orgdomain_load - load a Public Suffix List.  path names a .dat (or libpsl
 * DAFSA) file that must load; NULL means the system default: the newest of
 * the distribution file and libpsl's built-in list (psl_latest(NULL)).
 */
struct orgdomain *orgdomain_load(const char *path, char *err, size_t errlen);
void		 orgdomain_free(struct orgdomain *);

/* orgdomain_source - the file the list came from, or "built-in" */
const char	*orgdomain_source(const struct orgdomain *);

/*
 * orgdomain_date - date of the list: libpsl's own date for the built-in
 * list, the file's modification time otherwise (libpsl records no date for
 * loaded files); 0 when unknown.
 */
time_t		 orgdomain_date(const struct orgdomain *);

/* orgdomain_rules - number of rules in the list (for the start-up log) */
int		 orgdomain_rules(const struct orgdomain *);

/*
 * orgdomain_psl - Organizational Domain (RFC 7489 §3.2: the longest matching
 * public suffix plus one label; ICANN and PRIVATE sections both count,
 * wildcard and exception rules honoured) of a normalized domain, malloc'd;
 * NULL when the domain is itself a public suffix, empty or not normalized.
 */
char		*orgdomain_psl(const struct orgdomain *, const char *normalized);

/* orgdomain_is_public_suffix - true for a public suffix (and for anything not normalized) */
bool		 orgdomain_is_public_suffix(const struct orgdomain *, const char *normalized);

/*
 * orgdomain_aligned_with - identifier alignment (RFC 7489 §3.1.1, §3.1.2;
 * RFC 9989 "Identifier Alignment Explained") given Organizational Domains
 * found elsewhere (NULL or "" = none, e.g. a public suffix).
 *   strict:  the two names are identical; Organizational Domains are not
 *            consulted.
 *   relaxed: identical names, or both have the same non-empty
 *            Organizational Domain.
 * Names that are NULL, empty or not normalized never align.
 */
bool		 orgdomain_aligned_with(enum dmarc_align, const char *from_norm,
		    const char *from_org, const char *id_norm, const char *id_org);

/* orgdomain_aligned_psl - the same with Organizational Domains from the PSL */
bool		 orgdomain_aligned_psl(const struct orgdomain *, enum dmarc_align,
		    const char *from_norm, const char *id_norm);

#endif
