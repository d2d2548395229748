/*
 * keycache.h - decoded DKIM public keys kept across messages: keycache.c
 * interposes OpenSSL's d2i_PUBKEY_bio() for libopendkim (see there).
 */
#ifndef DM_KEYCACHE_H
#define DM_KEYCACHE_H

/* Cache hits and misses since start. */
void	keycache_stats(unsigned long *hits, unsigned long *misses);
/* Drop every cached key. */
void	keycache_flush(void);

#endif
