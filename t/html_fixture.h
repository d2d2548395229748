/*
 * html_fixture.h - hand-built analyses for the HTML report's tests: the
 * unit test (t/test_html.c) and the page the browser test renders
 * (t/htmlfixture.c, t/reports_html.sh) use the same ones.
 */
#ifndef DM_T_HTML_FIXTURE_H
#define DM_T_HTML_FIXTURE_H

#include <stddef.h>

#include "analyze.h"
#include "rconf.h"

/* What the tests know about the realistic fixture. */
#define FIX_DAYS	40		/* 2026-03-01 .. 2026-04-09 */
#define FIX_SINCE	1772323200	/* 2026-03-01 00:00:00 UTC */
#define FIX_GAP_DAY	12		/* a day without any report */
#define FIX_SOURCES	8
#define FIX_POLICY_CHANGES 2		/* none -> q pct=5 t=y -> q pct=25 t=y */
#define FIX_HOSTILE_NAME	"<script>alert(1)</script>"
#define FIX_HOSTILE_REPORTER	"Evil \"Corp\" & Sons <x>"
#define FIX_HOSTILE_LABEL	"Botnet ]]> spoofing us"
#define FIX_BAD_UTF8	"bad\xff\x01name.example"

struct fixture {
	struct analysis		 a;
	struct readiness	 r;
	struct known_source	*known;
	size_t			 n_known;
};

/*
 * fixture_realistic - example.com over 40 days: 8 sending systems (known,
 * unauthorized, forwarding, unknown, one with hostile strings), one
 * remediation, two policy changes, a verdict of FIX.
 * fixture_many - n sending systems (for the "others" row).
 * fixture_empty - no report at all for example.org.
 */
struct fixture	*fixture_realistic(void);
struct fixture	*fixture_many(size_t n);
struct fixture	*fixture_empty(void);
void		 fixture_free(struct fixture *);

#endif
