/*
 * evaluate.h - the evaluation of one message, shared by the milter and the
 * offline check (dmarc-milter -t): DKIM is fed as the message streams in,
 * SPF and DMARC are decided at the end.  Knows nothing of libmilter.
 */
#ifndef DM_EVALUATE_H
#define DM_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct runtime;
struct session;
struct evaluation;

/* Start evaluating the message currently in the session. */
struct evaluation	*evaluation_new(struct runtime *, const struct session *, const char *jobid);
/* All headers are in the session: start DKIM. */
void			 evaluation_eoh(struct evaluation *);
/* A body chunk (CRLF line ends, as the MTA sends it). */
void			 evaluation_body(struct evaluation *, const unsigned char *, size_t);
/* Decide everything; fills v (the caller frees it with verdict_free). */
void			 evaluation_finish(struct evaluation *, struct verdict *v);
void			 evaluation_free(struct evaluation *);
/* Whether the upstream A-R of a trusted gateway was used (for the log). */
bool			 evaluation_used_upstream(const struct evaluation *);

#endif
