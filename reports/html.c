/*
 * html.c - the domain owner's report as one self-contained page (html.h).
 *
 * The page is polyglot markup: HTML5 that is also well-formed XHTML (every
 * element closed, attributes quoted, only the five XML entities), so a
 * browser renders it and an XML parser can check it strictly.  Nothing
 * external is referenced and there is no script: styles are inline, the
 * charts are inline SVG, so the page can be mailed and archived as is.
 *
 * Every string that comes from the reports or the configuration goes
 * through esc(), which also replaces bytes that are not UTF-8, or not
 * allowed in XML, with U+FFFD: a reverse DNS name or an org_name is
 * whatever a stranger put there.
 *
 * Colours: the statuses use the Okabe-Ito palette (distinguishable with
 * every common colour vision deficiency), and every coloured mark also
 * has a text label or a legend entry, never colour alone.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "analyze.h"
#include "buf.h"
#include "html.h"
#include "rconf.h"
#include "util.h"

#define DAY_SECS	86400
#define TOP_SOURCES	15	/* chart rows before "others" */
#define NAME_CHARS	34	/* chart labels, in characters */
#define LIST_FIRST	3	/* IPs, d= and reporters shown per source */
#define HEADER_REPORTERS 8

/* The status colours, and the status names the page shows. */
static const char *const status_class[AN_AUTH_N] = { "both", "spf", "dkim", "none" };
static const char *const status_label[AN_AUTH_N] = {
	"SPF + DKIM aligned", "SPF aligned only", "DKIM aligned only", "neither (DMARC fail)"
};
static const char *const status_short[AN_AUTH_N] = { "both", "SPF", "DKIM", "none" };

static const char *const month_abbr[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/*
 * The style sheet.  No '<' or '&' in it (it must stay well-formed XML
 * text).  Colours: #0072B2 blue, #56B4E9 sky blue, #E69F00 orange,
 * #D55E00 vermillion, #009E73 bluish green, #CC79A7 reddish purple.
 */
static const char css[] =
	":root{--both:#0072B2;--spf:#56B4E9;--dkim:#E69F00;--none:#D55E00;--pass:#009E73;"
	"--direct:#CC79A7;--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f5f6f8}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	"body{margin:0;background:var(--bg);color:var(--ink);"
	"font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
	"\"Noto Sans\",\"DejaVu Sans\",sans-serif;font-size:15px;line-height:1.45}\n"
	"main{max-width:1120px;margin:0 auto;padding:28px 32px 40px}\n"
	"header h1{font-size:26px;margin:0 0 4px;font-weight:650}\n"
	"header p{margin:2px 0;color:var(--muted)}\n"
	"section{background:#fff;border:1px solid var(--line);border-radius:8px;"
	"padding:18px 22px;margin:18px 0;break-inside:avoid}\n"
	"h2{font-size:18px;margin:0 0 10px;font-weight:650}\n"
	"p.note{color:var(--muted);font-size:13px;margin:6px 0 0}\n"
	"code{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:13px}\n"
	".verdict{border-left:10px solid var(--muted)}\n"
	".verdict.go{border-left-color:var(--pass)}.verdict.wait{border-left-color:var(--dkim)}\n"
	".verdict.fix{border-left-color:var(--none)}.verdict.done{border-left-color:var(--both)}\n"
	".badge{display:inline-block;font-weight:700;font-size:20px;letter-spacing:.06em;"
	"padding:2px 12px;border-radius:6px;color:#fff;background:var(--muted);margin-right:10px}\n"
	".go .badge{background:#00785a}.wait .badge{background:#9a6a00}"
	".fix .badge{background:#b34e00}.done .badge{background:var(--both)}\n"
	".verdict h2{display:flex;align-items:center;font-size:20px}\n"
	".record{background:var(--bg);border:1px solid var(--line);border-radius:6px;"
	"padding:8px 12px;margin:10px 0;overflow-wrap:anywhere}\n"
	".evidence{display:flex;flex-wrap:wrap;gap:8px 28px;margin:10px 0 4px;padding:0;list-style:none}\n"
	".evidence b{font-size:17px}\n"
	".kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:18px 0}\n"
	".kpi{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}\n"
	".kpi .k{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}\n"
	".kpi .v{font-size:26px;font-weight:650;margin:2px 0}\n"
	".kpi .s{font-size:12px;color:var(--muted)}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px}\n"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}\n"
	"th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}\n"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"tr{break-inside:avoid}\n"
	"tr.blocks td{background:#fdf0e6}\n"
	".tag{display:inline-block;font-size:11px;font-weight:600;padding:0 6px;border-radius:4px;"
	"border:1px solid currentColor;white-space:nowrap}\n"
	".tag.known{color:#005a8c}.tag.unauth{color:#7a2e00}.tag.fwd{color:#5b6475}.tag.unknown{color:#9a4a00}\n"
	".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0 0 8px;padding:0;list-style:none;font-size:13px}\n"
	".sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;"
	"vertical-align:-1px}\n"
	".sw.both{background:var(--both)}.sw.spf{background:var(--spf)}.sw.dkim{background:var(--dkim)}"
	".sw.none{background:var(--none)}.sw.pass{background:var(--pass)}.sw.direct{background:var(--direct)}"
	".sw.before{background:#8a8a8a}.sw.after{background:var(--pass)}\n"
	".sw.thr{background:none;border-top:2px dashed #444;height:0;width:18px;border-radius:0}\n"
	".sw.pol{background:none;border-left:2px solid #777;height:12px;width:0;border-radius:0}\n"
	".split{display:flex;height:8px;width:120px;border-radius:2px;overflow:hidden;background:var(--line);margin:3px 0}\n"
	".split span{display:block;height:8px}\n"
	".split .both{background:var(--both)}.split .spf{background:var(--spf)}"
	".split .dkim{background:var(--dkim)}.split .none{background:var(--none)}\n"
	".muted{color:var(--muted)}\n"
	".empty{font-size:18px;padding:28px 22px}\n"
	"svg{display:block;width:100%;height:auto}\n"
	"svg text{font-family:inherit;font-size:12px;fill:var(--ink)}\n"
	"svg .grid{stroke:#e3e6ec;stroke-width:1}\n"
	"svg .axis{stroke:#9aa1ad;stroke-width:1}\n"
	"svg .tick{fill:var(--muted);font-size:11px}\n"
	"svg .thr{stroke:#444;stroke-width:1.5;stroke-dasharray:6 4;fill:none}\n"
	"svg .policy{stroke:#777;stroke-width:1.5}\n"
	"svg .plabel{font-size:11px;fill:#444}\n"
	"svg .line{stroke:var(--pass);stroke-width:3;fill:none;stroke-linejoin:round}\n"
	"svg .direct{stroke:var(--direct);stroke-width:2;fill:none;stroke-linejoin:round}\n"
	"svg .pt{fill:var(--pass);stroke:#fff;stroke-width:1}\n"
	"svg .seg-both{fill:var(--both)}svg .seg-spf{fill:var(--spf)}svg .seg-dkim{fill:var(--dkim)}"
	"svg .seg-none{fill:var(--none)}\n"
	"svg .track{fill:#eef0f3}svg .bar-before{fill:#8a8a8a}svg .bar-after{fill:var(--pass)}\n"
	"svg .fixname{font-weight:650;font-size:13px}\n"
	"footer{color:var(--muted);font-size:12px;margin-top:18px}\n"
	"@media (max-width:900px){.kpis{grid-template-columns:repeat(3,1fr)}}\n"
	"@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}"
	"section,.kpi{border-color:#bbb}.kpis{grid-template-columns:repeat(3,1fr)}"
	"h2{break-after:avoid}}\n";

/* utf8_next - length of the valid UTF-8 sequence at s that XML allows, 0 if none */
static size_t
utf8_next(const unsigned char *s)
{
	unsigned long cp;
	size_t n, i;

	if (s[0] < 0x80)
		return (s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') && s[0] != 0x7f ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF; XML 1.0 §2.2 Char
	 * also excludes U+FFFE, U+FFFF and the C1 controls are discouraged */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

/*
 * esc_n - append s escaped for text and attribute values, at most max
 * characters (0: all); a cut-off string ends in "…".  Bytes that are not
 * a character XML allows become U+FFFD.
 */
static void
esc_n(struct buf *o, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str != NULL ? str : "");
	size_t chars = 0, n;

	while (*s != '\0') {
		if (max > 0 && chars == max) {
			buf_puts(o, "…");
			return;
		}
		chars++;
		switch (*s) {
		case '&':
			buf_puts(o, "&amp;");
			s++;
			continue;
		case '<':
			buf_puts(o, "&lt;");
			s++;
			continue;
		case '>':
			buf_puts(o, "&gt;");
			s++;
			continue;
		case '"':
			buf_puts(o, "&quot;");
			s++;
			continue;
		case '\'':
			buf_puts(o, "&#39;");
			s++;
			continue;
		}
		n = utf8_next(s);
		if (n == 0) {
			buf_puts(o, "\xef\xbf\xbd");	/* U+FFFD */
			s++;
			continue;
		}
		buf_append(o, s, n);
		s += n;
	}
}

/* esc - esc_n without a limit */
static void
esc(struct buf *o, const char *s)
{
	esc_n(o, s, 0);
}

/* fmt_count - 1234567 as "1,234,567" */
static const char *
fmt_count(char *out, size_t len, unsigned long long v)
{
	char digits[32];
	size_t n, i, j = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%llu", v);
	for (i = 0; i < n && j + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[j++] = ',';
		out[j++] = digits[i];
	}
	out[j] = '\0';
	return out;
}

/* put_count - append a count with thousands separators */
static void
put_count(struct buf *o, unsigned long long v)
{
	char s[40];

	buf_puts(o, fmt_count(s, sizeof(s), v));
}

/*
 * put_pct - a percentage for people: one decimal, but "100%" only when it
 * is exactly all (99.96% of a million messages is 400 messages that fail)
 */
static void
put_pct(struct buf *o, double v)
{
	if (v >= 100.0)
		buf_puts(o, "100%");
	else if (v <= 0.0)
		buf_puts(o, "0%");
	else if (v < 0.05)
		buf_puts(o, "&lt;0.1%");
	else if (v > 99.9)
		buf_puts(o, "99.9%");
	else
		buf_printf(o, "%.1f%%", v);
}

/* share - part of a count in percent */
static double
share(unsigned long long part, unsigned long long total)
{
	return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

/* put_date - "2026-03-04" (UTC) */
static void
put_date(struct buf *o, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		buf_puts(o, "?");
		return;
	}
	buf_printf(o, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* put_day_long - "4 Mar 2026" (UTC, no locale) */
static void
put_day_long(struct buf *o, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		buf_puts(o, "?");
		return;
	}
	buf_printf(o, "%d %s %04d", tm.tm_mday, month_abbr[tm.tm_mon], tm.tm_year + 1900);
}

/* put_day_short - "Mar 4" for chart axes */
static void
put_day_short(struct buf *o, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		buf_puts(o, "?");
		return;
	}
	buf_printf(o, "%s %d", month_abbr[tm.tm_mon], tm.tm_mday);
}

/* put_list - the first few strings of a list, "+N more" for the rest */
static void
put_list(struct buf *o, char *const *v, size_t n, size_t first, const char *sep)
{
	size_t i;

	if (n == 0) {
		buf_puts(o, "<span class=\"muted\">—</span>");
		return;
	}
	for (i = 0; i < n && i < first; i++) {
		if (i > 0)
			buf_puts(o, sep);
		esc(o, v[i]);
	}
	if (n > first)
		buf_printf(o, "%s<span class=\"muted\">+%zu more</span>", sep, n - first);
}

/* put_policy - "p=quarantine pct=5 t=y" of a day or of the analysis */
static void
put_policy(struct buf *o, const char *p, int pct, bool testing)
{
	buf_puts(o, "p=");
	esc(o, p != NULL ? p : "?");
	if (pct >= 0 && pct != 100)
		buf_printf(o, " pct=%d", pct);
	if (testing)
		buf_puts(o, " t=y");
}

/* same_policy - two days published the same policy */
static bool
same_policy(const struct an_day *x, const struct an_day *y)
{
	return strcmp(x->p, y->p) == 0 && x->pct == y->pct && x->testing == y->testing;
}

/* put_tag - the classification of a source as a small labelled tag */
static void
put_tag(struct buf *o, const struct an_source *s)
{
	if (s->known != NULL && s->known->authorized)
		buf_puts(o, "<span class=\"tag known\">known</span>");
	else if (s->known != NULL)
		buf_puts(o, "<span class=\"tag unauth\">unauthorized</span>");
	else if (s->forwarder)
		buf_puts(o, "<span class=\"tag fwd\">forwarding</span>");
	else
		buf_puts(o, "<span class=\"tag unknown\">unknown</span>");
}

/* put_classification - the tag, and the owner's label when there is one */
static void
put_classification(struct buf *o, const struct an_source *s)
{
	put_tag(o, s);
	if (s->known != NULL && s->known->label != NULL) {
		buf_puts(o, " ");
		esc(o, s->known->label);
	}
}

/* put_status_legend - the four statuses, as swatches with their names */
static void
put_status_legend(struct buf *o)
{
	int k;

	buf_puts(o, "<ul class=\"legend\">");
	for (k = 0; k < AN_AUTH_N; k++)
		buf_printf(o, "<li><span class=\"sw %s\"></span>%s</li>", status_class[k], status_label[k]);
	buf_puts(o, "</ul>\n");
}

/* page_head - the document up to <main> */
static void
page_head(struct buf *o, const struct analysis *a)
{
	buf_puts(o, "<!DOCTYPE html>\n"
	    "<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n"
	    "<head>\n<meta charset=\"utf-8\"/>\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	    "<meta name=\"generator\" content=\"dmarc-reports\"/>\n<title>DMARC report: ");
	esc(o, a->domain);
	buf_puts(o, ", ");
	put_date(o, a->since);
	buf_puts(o, " to ");
	put_date(o, a->until - DAY_SECS);
	buf_printf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", css);
}

/* page_header - domain, window, reporters, published policy */
static void
page_header(struct buf *o, const struct analysis *a)
{
	size_t i;

	buf_puts(o, "<header>\n<h1>DMARC report for ");
	esc(o, a->domain);
	buf_puts(o, "</h1>\n<p>");
	put_day_long(o, a->since);
	buf_puts(o, " – ");
	put_day_long(o, a->until - DAY_SECS);
	buf_printf(o, " (UTC, %zu days) · ", a->n_days);
	put_count(o, a->reports);
	buf_printf(o, " report%s from ", a->reports == 1 ? "" : "s");
	put_count(o, a->n_reporters);
	buf_printf(o, " reporter%s", a->n_reporters == 1 ? "" : "s");
	if (a->p != NULL) {
		buf_puts(o, " · policy in the reports: <code>");
		put_policy(o, a->p, a->pct, a->testing);
		buf_puts(o, "</code>");
		if (a->policy_since > 0) {
			buf_puts(o, " since ");
			put_date(o, a->policy_since);
		}
	}
	buf_puts(o, "</p>\n");
	if (a->n_reporters > 0) {
		buf_puts(o, "<p class=\"note\">Reported by: ");
		for (i = 0; i < a->n_reporters && i < HEADER_REPORTERS; i++) {
			if (i > 0)
				buf_puts(o, ", ");
			esc(o, a->reporters[i]);
		}
		if (a->n_reporters > HEADER_REPORTERS)
			buf_printf(o, " and %zu more", a->n_reporters - HEADER_REPORTERS);
		buf_puts(o, "</p>\n");
	}
	buf_puts(o, "</header>\n");
}

/* verdict_words - the badge and the headline of a verdict */
static void
verdict_words(enum an_verdict v, const char **cls, const char **word, const char **head)
{
	switch (v) {
	case READY_GO:
		*cls = "go", *word = "GO", *head = "The next step is safe: publish it";
		return;
	case READY_WAIT:
		*cls = "wait", *word = "WAIT", *head = "Not enough evidence yet: keep collecting reports";
		return;
	case READY_FIX:
		*cls = "fix", *word = "FIX", *head = "Fix the sources below before the next step";
		return;
	case READY_DONE:
		*cls = "done", *word = "DONE", *head = "Enforcement is complete: p=reject for all mail";
		return;
	}
	*cls = "wait", *word = "?", *head = "Unknown verdict";
}

/* put_hit_effect - what the next step would do to a hit, in words */
static void
put_hit_effect(struct buf *o, const struct an_hit *h)
{
	if (h->known)
		buf_puts(o, "<b>blocks this step</b>: one of yours, fix its SPF or DKIM first");
	else if (h->unauthorized)
		buf_puts(o, "not yours: enforcement is meant to stop it");
	else if (h->forwarded)
		buf_puts(o, "forwarding or a list: understandable, usually nothing to fix");
	else
		buf_puts(o, "find out what it is: yours (fix it, list it as KnownSource) or not");
}

/* section_verdict - the readiness box: verdict, record, reason, evidence, hits */
static void
section_verdict(struct buf *o, const struct analysis *a, const struct readiness *r)
{
	const char *cls, *word, *head, *what;
	const struct an_hit *h;
	size_t i;

	verdict_words(r->verdict, &cls, &word, &head);
	buf_printf(o, "<section class=\"verdict %s\" id=\"readiness\">\n"
	    "<h2><span class=\"badge\">%s</span>%s</h2>\n", cls, word, head);
	if (r->verdict == READY_DONE) {
		buf_puts(o, "<div class=\"record\">Published: <code>_dmarc.");
		esc(o, a->domain);
		buf_puts(o, " TXT \"v=DMARC1; ");
		esc(o, an_step_record(r->current));
		buf_puts(o, "\"</code></div>\n");
	} else {
		buf_printf(o, "<div class=\"record\">%s <code>_dmarc.",
		    r->verdict == READY_GO ? "Publish:" : "Next step, once ready:");
		esc(o, a->domain);
		buf_puts(o, " TXT \"v=DMARC1; ");
		esc(o, an_step_record(r->next));
		buf_puts(o, "; …\"</code><br/><span class=\"muted\">now: <code>");
		esc(o, an_step_record(r->current));
		buf_puts(o, "</code>; keep your rua= and the other tags as they are</span></div>\n");
	}
	if (r->reason != NULL) {
		buf_puts(o, "<p class=\"reason\">");
		esc(o, r->reason);
		buf_puts(o, "</p>\n");
	}
	buf_printf(o, "<ul class=\"evidence\">\n<li>direct mail passing DMARC: <b>");
	put_pct(o, r->pass_rate);
	buf_puts(o, "</b> (threshold ");
	put_pct(o, r->threshold);
	buf_printf(o, ", %s)</li>\n<li>days with reports: <b>%u of %u</b></li>\n"
	    "<li>at the current step for <b>%u day%s</b></li>\n<li>messages: <b>",
	    r->pass_rate >= r->threshold ? "met" : "not met", r->days_with_data, r->window_days, r->days_at_current,
	    r->days_at_current == 1 ? "" : "s");
	put_count(o, r->messages);
	buf_printf(o, "</b> over the last %u days</li>\n</ul>\n", r->window_days);

	if (r->verdict == READY_DONE)
		goto out;
	what = r->next == STEP_REJECT ? "reject" : "quarantine";
	if (r->n_hits == 0) {
		buf_printf(o, "<p>No source fails DMARC in the window: the next step would %s nothing.</p>\n",
		    what);
		goto out;
	}
	buf_printf(o, "<h3>Mail the next step would %s</h3>\n<table class=\"hits\">\n"
	    "<thead><tr><th>Sending system</th><th class=\"n\">Failing messages</th>"
	    "<th>What it is</th><th>Effect</th></tr></thead>\n<tbody>\n", what);
	for (i = 0; i < r->n_hits; i++) {
		h = &r->hits[i];
		buf_printf(o, "<tr%s><td>", h->known ? " class=\"blocks\"" : "");
		esc(o, h->source != NULL ? h->source->name : "?");
		buf_puts(o, "</td><td class=\"n\">");
		put_count(o, h->messages);
		buf_puts(o, "</td><td>");
		if (h->source != NULL)
			put_classification(o, h->source);
		buf_puts(o, "</td><td>");
		put_hit_effect(o, h);
		buf_puts(o, "</td></tr>\n");
	}
	buf_puts(o, "</tbody>\n</table>\n");
out:
	buf_puts(o, "</section>\n");
}

/* kpi - one tile */
static void
kpi(struct buf *o, const char *key, const char *value_html, const char *sub_html)
{
	buf_printf(o, "<div class=\"kpi\"><div class=\"k\">%s</div><div class=\"v\">%s</div>"
	    "<div class=\"s\">%s</div></div>\n", key, value_html, sub_html);
}

/* section_kpis - the six numbers owners steer by */
static void
section_kpis(struct buf *o, const struct analysis *a)
{
	const struct an_counts *c = &a->total;
	struct buf v = BUF_INIT, s = BUF_INIT;

	buf_puts(o, "<div class=\"kpis\" id=\"kpis\">\n");
	put_count(&v, c->total);
	put_count(&s, a->reports);
	buf_puts(&s, " reports");
	kpi(o, "Messages", buf_str(&v), buf_str(&s));

	buf_reset(&v), buf_reset(&s);
	put_pct(&v, an_pass_rate(c));
	buf_puts(&s, "aligned SPF or DKIM");
	kpi(o, "DMARC pass", buf_str(&v), buf_str(&s));

	buf_reset(&v), buf_reset(&s);
	put_pct(&v, an_spf_rate(c));
	put_count(&s, c->n[AN_BOTH] + c->n[AN_SPF_ONLY]);
	buf_puts(&s, " messages");
	kpi(o, "SPF aligned", buf_str(&v), buf_str(&s));

	buf_reset(&v), buf_reset(&s);
	put_pct(&v, an_dkim_rate(c));
	put_count(&s, c->n[AN_BOTH] + c->n[AN_DKIM_ONLY]);
	buf_puts(&s, " messages");
	kpi(o, "DKIM aligned", buf_str(&v), buf_str(&s));

	buf_reset(&v), buf_reset(&s);
	put_pct(&v, an_unknown_share(c));
	put_count(&s, c->unknown);
	buf_puts(&s, " from unclassified sources");
	kpi(o, "Unknown sources", buf_str(&v), buf_str(&s));

	buf_reset(&v), buf_reset(&s);
	put_pct(&v, an_forwarded_share(c));
	put_count(&s, c->forwarded);
	buf_puts(&s, " failing through forwarding or lists");
	kpi(o, "Forwarded", buf_str(&v), buf_str(&s));
	buf_puts(o, "</div>\n");
	buf_free(&v);
	buf_free(&s);
}

/* Chart 1 geometry (SVG user units; the SVG scales to the page width). */
#define C1_W	1000
#define C1_H	330
#define C1_L	52
#define C1_R	100	/* room for the threshold's label */
#define C1_T	44
#define C1_B	40

/* c1_x - the middle of day i on the time axis */
static double
c1_x(const struct analysis *a, size_t i)
{
	return C1_L + (i + 0.5) * (double)(C1_W - C1_L - C1_R) / (double)a->n_days;
}

/* c1_y - a percentage on the 0-100% axis */
static double
c1_y(double pct)
{
	if (pct < 0.0)
		pct = 0.0;
	else if (pct > 100.0)
		pct = 100.0;
	return C1_T + (100.0 - pct) * (C1_H - C1_T - C1_B) / 100.0;
}

/* c1_path - a line through the days with data, broken where there are none */
static void
c1_path(struct buf *o, const struct analysis *a, const char *cls, double (*rate)(const struct an_counts *))
{
	bool pen = false;
	size_t i;

	buf_printf(o, "<path class=\"%s\" d=\"", cls);
	for (i = 0; i < a->n_days; i++) {
		if (a->days[i].c.total == 0) {
			pen = false;
			continue;
		}
		buf_printf(o, "%s%.1f %.1f ", pen ? "L" : "M", c1_x(a, i), c1_y(rate(&a->days[i].c)));
		pen = true;
	}
	buf_puts(o, "\"/>\n");
}

/* section_passrate - chart 1: DMARC pass rate per day */
static void
section_passrate(struct buf *o, const struct analysis *a, const struct readiness *r)
{
	const struct an_day *d, *last = NULL;
	size_t i, step, nchanges = 0;
	bool near_end;
	double x, y;
	int g;

	buf_puts(o, "<section id=\"passrate\">\n<h2>DMARC pass rate per day</h2>\n"
	    "<ul class=\"legend\"><li><span class=\"sw pass\"></span>all mail</li>"
	    "<li><span class=\"sw direct\"></span>direct mail (without forwarding and unauthorized sources)</li>");
	if (r != NULL)
		buf_puts(o, "<li><span class=\"sw thr\"></span>readiness threshold</li>");
	buf_puts(o, "<li><span class=\"sw pol\"></span>policy change</li></ul>\n");
	buf_printf(o, "<svg id=\"chart-passrate\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	    "viewBox=\"0 0 %d %d\" aria-labelledby=\"c1-title\">\n<title id=\"c1-title\">DMARC pass rate per day for ",
	    C1_W, C1_H);
	esc(o, a->domain);
	buf_puts(o, ", ");
	put_date(o, a->since);
	buf_puts(o, " to ");
	put_date(o, a->until - DAY_SECS);
	buf_puts(o, ": ");
	put_pct(o, an_pass_rate(&a->total));
	buf_puts(o, " overall</title>\n");

	for (g = 0; g <= 100; g += 20) {
		y = c1_y(g);
		buf_printf(o, "<line class=\"%s\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
		    "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n",
		    g == 0 ? "axis" : "grid", C1_L, y, C1_W - C1_R, y, C1_L - 8, y + 4, g);
	}
	/* about eight date labels whatever the window */
	step = a->n_days <= 10 ? 1 : (a->n_days + 7) / 8;
	for (i = 0; i < a->n_days; i += step) {
		x = c1_x(a, i);
		buf_printf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
		    "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
		    x, C1_H - C1_B, x, C1_H - C1_B + 5, x, C1_H - C1_B + 18);
		put_day_short(o, a->days[i].day);
		buf_puts(o, "</text>\n");
	}
	if (r != NULL && r->threshold > 0 && r->threshold <= 100) {
		y = c1_y(r->threshold);
		buf_printf(o, "<line class=\"thr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
		    "<text class=\"plabel\" x=\"%d\" y=\"%.1f\">threshold ",
		    C1_L, y, C1_W - C1_R + 6, y, C1_W - C1_R + 10, y + 4);
		put_pct(o, r->threshold);
		buf_puts(o, "</text>\n");
	}
	/* policy changes: a line at the boundary, the new policy above it,
	 * labels alternating between two heights so neighbours do not overlap */
	for (i = 0; i < a->n_days; i++) {
		d = &a->days[i];
		if (d->p == NULL)
			continue;
		if (last == NULL || !same_policy(last, d)) {
			x = i == 0 ? C1_L : c1_x(a, i) - (double)(C1_W - C1_L - C1_R) / (2.0 * a->n_days);
			if (last != NULL)
				buf_printf(o, "<line class=\"policy\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n",
				    x, C1_T - 4 - (int)(nchanges % 2) * 14, x, C1_H - C1_B);
			/* a label does not fit right of a change near the end */
			near_end = x > C1_W - 230;
			buf_printf(o, "<text class=\"plabel\" x=\"%.1f\" y=\"%d\"%s>",
			    last == NULL ? x : near_end ? x - 4 : x + 4, C1_T - 8 - (int)(nchanges % 2) * 14,
			    near_end ? " text-anchor=\"end\"" : "");
			put_policy(o, d->p, d->pct, d->testing);
			if (last != NULL) {
				buf_puts(o, " from ");
				put_day_short(o, d->day);
			}
			buf_puts(o, "</text>\n");
			nchanges++;
		}
		last = d;
	}
	c1_path(o, a, "direct", an_direct_pass_rate);
	c1_path(o, a, "line", an_pass_rate);
	for (i = 0; i < a->n_days; i++) {
		d = &a->days[i];
		if (d->c.total == 0)
			continue;
		buf_printf(o, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>",
		    c1_x(a, i), c1_y(an_pass_rate(&d->c)));
		put_date(o, d->day);
		buf_puts(o, ": ");
		put_pct(o, an_pass_rate(&d->c));
		buf_puts(o, " of ");
		put_count(o, d->c.total);
		buf_puts(o, " messages pass (direct mail ");
		put_pct(o, an_direct_pass_rate(&d->c));
		buf_puts(o, ")</title></circle>\n");
	}
	buf_puts(o, "</svg>\n<p class=\"note\">Share of the messages reported for each UTC day that "
	    "passed DMARC (aligned SPF or aligned DKIM). Days without reports are gaps.</p>\n</section>\n");
}

/* Chart 2 geometry */
#define C2_W	1000
#define C2_LABEL 262	/* bars start here */
#define C2_BAR	480	/* the widest bar */
#define C2_ROW	30
#define C2_BH	18
#define C2_MINW	2.0	/* the narrowest segment */

/* c2_row - one stacked bar: a sending system (or "others") by status */
static void
c2_row(struct buf *o, size_t row, const char *name, const struct an_source *s,
    const struct an_counts *c, unsigned long long max)
{
	double x = C2_LABEL, w, y = 8 + row * C2_ROW;
	int k;

	buf_printf(o, "<g class=\"row\"><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", C2_LABEL - 10,
	    y + C2_BH - 4);
	esc_n(o, name, NAME_CHARS);
	buf_puts(o, "<title>");
	esc(o, name);
	buf_puts(o, "</title></text>\n");
	for (k = 0; k < AN_AUTH_N; k++) {
		if (c->n[k] == 0)
			continue;
		/* to scale, but a part with messages stays visible */
		w = (double)C2_BAR * (double)c->n[k] / (double)max;
		if (w < C2_MINW)
			w = C2_MINW;
		buf_printf(o, "<rect class=\"seg seg-%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\"><title>",
		    status_class[k], x, y, w, C2_BH);
		esc(o, name);
		buf_puts(o, ": ");
		put_count(o, c->n[k]);
		buf_printf(o, " %s (", status_label[k]);
		put_pct(o, share(c->n[k], c->total));
		buf_puts(o, ")</title></rect>\n");
		x += w;
	}
	buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\">", x + 8, y + C2_BH - 4);
	put_count(o, c->total);
	buf_puts(o, " · ");
	put_pct(o, an_pass_rate(c));
	buf_puts(o, " pass");
	if (s != NULL) {
		if (s->known != NULL)
			buf_puts(o, s->known->authorized ? " · known" : " · unauthorized");
		else if (s->forwarder)
			buf_puts(o, " · forwarding");
		else
			buf_puts(o, " · unknown");
	}
	buf_puts(o, "</text></g>\n");
}

/* section_sources_chart - chart 2: the largest sending systems by status */
static void
section_sources_chart(struct buf *o, const struct analysis *a)
{
	struct an_counts others;
	unsigned long long max = 1;
	size_t i, top, rows;
	char name[64];
	int k;

	top = a->n_sources < TOP_SOURCES ? a->n_sources : TOP_SOURCES;
	memset(&others, 0, sizeof(others));
	for (i = top; i < a->n_sources; i++) {
		for (k = 0; k < AN_AUTH_N; k++)
			others.n[k] += a->sources[i].c.n[k];
		others.total += a->sources[i].c.total;
	}
	for (i = 0; i < top; i++)
		if (a->sources[i].c.total > max)
			max = a->sources[i].c.total;
	if (others.total > max)
		max = others.total;
	rows = top + (a->n_sources > top ? 1 : 0);

	buf_puts(o, "<section id=\"sources-chart\">\n<h2>Sending systems by authentication status</h2>\n");
	put_status_legend(o);
	buf_printf(o, "<svg id=\"chart-sources\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	    "viewBox=\"0 0 %d %zu\" aria-labelledby=\"c2-title\">\n<title id=\"c2-title\">Messages of the "
	    "%zu largest sending systems by authentication status</title>\n",
	    C2_W, 16 + rows * C2_ROW, top);
	for (i = 0; i < top; i++)
		c2_row(o, i, a->sources[i].name, &a->sources[i], &a->sources[i].c, max);
	if (a->n_sources > top) {
		snprintf(name, sizeof(name), "%zu other systems", a->n_sources - top);
		c2_row(o, top, name, NULL, &others, max);
	}
	buf_puts(o, "</svg>\n<p class=\"note\">A sending system is a group of IP addresses that share "
	    "a reverse DNS domain, a DKIM signing domain or an SPF domain.</p>\n</section>\n");
}

/* Chart 3 geometry */
#define C3_W	1000
#define C3_LABEL 200
#define C3_BAR	600
#define C3_BLOCK 92
#define C3_BH	20

/* c3_bar - before or after: a track, the pass rate, and the numbers */
static void
c3_bar(struct buf *o, double y, const char *which, time_t from, time_t to, const struct an_counts *c)
{
	double rate = an_pass_rate(c);

	buf_printf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s (", C3_LABEL - 10, y + C3_BH - 5, which);
	if (from > 0) {
		buf_puts(o, "from ");
		put_day_short(o, from);
	} else {
		buf_puts(o, "to ");
		put_day_short(o, to);
	}
	buf_printf(o, ")</text><rect class=\"track\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/>"
	    "<rect class=\"bar-%s\" x=\"%d\" y=\"%.1f\" width=\"%.2f\" height=\"%d\"><title>%s: ",
	    C3_LABEL, y, C3_BAR, C3_BH, which, C3_LABEL, y, C3_BAR * rate / 100.0, C3_BH, which);
	put_pct(o, rate);
	buf_puts(o, " pass</title></rect>\n");
	buf_printf(o, "<text x=\"%d\" y=\"%.1f\"><tspan font-weight=\"650\">", C3_LABEL + C3_BAR + 10,
	    y + C3_BH - 5);
	put_pct(o, rate);
	buf_puts(o, "</tspan> pass, ");
	put_count(o, c->total);
	buf_puts(o, " messages</text>\n");
}

/* section_fixes - chart 3: the pass rate before and after each remediation */
static void
section_fixes(struct buf *o, const struct analysis *a)
{
	const struct an_fix *f;
	double y;
	size_t i;

	buf_puts(o, "<section id=\"fixes\">\n<h2>Remediations: before and after</h2>\n");
	if (a->n_fixes == 0) {
		buf_puts(o, "<p>No remediation in this window: no sending system went from failing to passing.</p>\n"
		    "</section>\n");
		return;
	}
	buf_puts(o, "<ul class=\"legend\"><li><span class=\"sw before\"></span>pass rate before the change</li>"
	    "<li><span class=\"sw after\"></span>pass rate after the change</li></ul>\n");
	buf_printf(o, "<svg id=\"chart-fixes\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
	    "viewBox=\"0 0 %d %zu\" aria-labelledby=\"c3-title\">\n<title id=\"c3-title\">DMARC pass rate "
	    "of %zu sending system%s before and after a change</title>\n",
	    C3_W, a->n_fixes * C3_BLOCK, a->n_fixes, a->n_fixes == 1 ? "" : "s");
	for (i = 0; i < a->n_fixes; i++) {
		f = &a->fixes[i];
		y = i * C3_BLOCK;
		buf_printf(o, "<g class=\"fix\"><text class=\"fixname\" x=\"0\" y=\"%.1f\">", y + 16);
		esc_n(o, f->source != NULL ? f->source->name : "?", 60);
		buf_puts(o, " <tspan class=\"tick\">changed on ");
		put_date(o, f->changed);
		buf_puts(o, "</tspan></text>\n");
		c3_bar(o, y + 26, "before", 0, f->changed - DAY_SECS, &f->before);
		c3_bar(o, y + 26 + C3_BH + 8, "after", f->changed, 0, &f->after);
		buf_puts(o, "</g>\n");
	}
	buf_puts(o, "</svg>\n<p class=\"note\">A remediation is a sending system that failed DMARC and then "
	    "passed: the day it changed splits its messages in two.</p>\n</section>\n");
}

/* put_split - the status split of a source: a small bar and its numbers */
static void
put_split(struct buf *o, const struct an_counts *c)
{
	bool first = true;
	int k;

	buf_puts(o, "<div class=\"split\" aria-hidden=\"true\">");
	for (k = 0; k < AN_AUTH_N; k++)
		if (c->n[k] > 0)
			buf_printf(o, "<span class=\"%s\" style=\"width:%.2f%%\"></span>", status_class[k],
			    share(c->n[k], c->total));
	buf_puts(o, "</div>");
	for (k = 0; k < AN_AUTH_N; k++) {
		if (c->n[k] == 0)
			continue;
		buf_printf(o, "%s%s ", first ? "" : " · ", status_short[k]);
		put_pct(o, share(c->n[k], c->total));
		first = false;
	}
}

/* section_sources_table - the inventory: every sending system */
static void
section_sources_table(struct buf *o, const struct analysis *a)
{
	const struct an_source *s;
	size_t i, j;

	buf_printf(o, "<section id=\"sources\">\n<h2>All sending systems (%zu)</h2>\n", a->n_sources);
	put_status_legend(o);
	buf_puts(o, "<table>\n<thead><tr><th>Sending system</th><th>Classification</th>"
	    "<th class=\"n\">Messages</th><th>Status split</th><th class=\"n\">Pass</th>"
	    "<th>IP addresses</th><th>DKIM d=</th><th>Reporters</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < a->n_sources; i++) {
		s = &a->sources[i];
		buf_puts(o, "<tr><td>");
		esc(o, s->name);
		buf_puts(o, "</td><td>");
		put_classification(o, s);
		buf_puts(o, "</td><td class=\"n\">");
		put_count(o, s->c.total);
		buf_puts(o, "</td><td>");
		put_split(o, &s->c);
		buf_puts(o, "</td><td class=\"n\">");
		put_pct(o, an_pass_rate(&s->c));
		buf_puts(o, "</td><td>");
		for (j = 0; j < s->n_ips && j < LIST_FIRST; j++) {
			if (j > 0)
				buf_puts(o, "<br/>");
			buf_puts(o, "<code>");
			esc(o, s->ips[j].ip);
			buf_puts(o, "</code>");
		}
		if (s->n_ips > LIST_FIRST)
			buf_printf(o, "<br/><span class=\"muted\">+%zu more</span>", s->n_ips - LIST_FIRST);
		buf_puts(o, "</td><td>");
		put_list(o, s->dkim_domains, s->n_dkim_domains, LIST_FIRST, "<br/>");
		buf_puts(o, "</td><td>");
		put_list(o, s->reporters, s->n_reporters, LIST_FIRST, ", ");
		buf_puts(o, "</td></tr>\n");
	}
	buf_puts(o, "</tbody>\n</table>\n</section>\n");
}

/* page_empty - no data: say so plainly, and what usually causes it */
static void
page_empty(struct buf *o, const struct analysis *a)
{
	buf_puts(o, "<section class=\"empty\" id=\"empty\">\n<h2>No reports received for ");
	esc(o, a->domain);
	buf_puts(o, " in this window</h2>\n<p>Nothing was reported between ");
	put_day_long(o, a->since);
	buf_puts(o, " and ");
	put_day_long(o, a->until - DAY_SECS);
	buf_puts(o, " (UTC).</p>\n<p class=\"note\">Receivers send aggregate reports to the addresses in "
	    "the rua= tag of the domain's DMARC record, usually once a day. Check that the record has "
	    "one, that the mailbox receives them, and that <code>dmarc-reports receive</code> reads "
	    "that mailbox.</p>\n</section>\n");
}

/* page_foot - the footer and the end of the document */
static void
page_foot(struct buf *o)
{
	buf_puts(o, "<footer>Made by dmarc-reports from the aggregate (rua) reports receivers sent. "
	    "DMARC pass means aligned SPF or aligned DKIM (RFC 7489 §3.1). Direct mail leaves out "
	    "forwarded and mailing-list traffic and the sources listed as UnauthorizedSource. "
	    "Days are UTC.</footer>\n</main>\n</body>\n</html>\n");
}

/* html_report - see html.h */
int
html_report(const struct analysis *a, const struct readiness *r, struct buf *out,
    char *err, size_t errlen)
{
	page_head(out, a);
	page_header(out, a);
	if (a->total.total == 0)
		page_empty(out, a);
	else {
		if (r != NULL)
			section_verdict(out, a, r);
		section_kpis(out, a);
		if (a->n_days > 0)
			section_passrate(out, a, r);
		section_sources_chart(out, a);
		section_fixes(out, a);
		section_sources_table(out, a);
	}
	page_foot(out);
	if (out->truncated) {
		err_set(err, errlen, "HTML report for %s: larger than %zu bytes", a->domain,
		    out->cap > 0 ? out->cap : (size_t)BUF_DEFAULT_CAP);
		return -1;
	}
	return 0;
}
