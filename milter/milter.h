/*
 * milter.h - the libmilter callbacks.  The only file besides main.c that
 * includes <libmilter/mfapi.h>.
 */
#ifndef DM_MILTER_H
#define DM_MILTER_H

int		milter_register(const char *socket);
/* messages between MAIL and end of message (or abort) right now */
unsigned long	milter_inflight(void);

#endif
