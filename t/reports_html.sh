#!/bin/sh
# reports_html.sh - the HTML report in a real browser: Debian's chromium,
# headless, renders the page of a hand-built analysis (t/htmlfixture, the
# same one t/test_html checks as XML), its DOM is dumped and its
# screenshot is read back (t/pngcheck) to see the charts really drawn.
#
# Chromium runs in a network namespace of its own with only loopback
# (unshare -n), so the page cannot have fetched anything, and with
# --no-proxy-server; a page that needed the network would show it.
# HTML_SCREENSHOT=FILE keeps the screenshot of the fixture page,
# HTML_CLI_SCREENSHOT=FILE that of the page dmarc-reports html wrote.
. "$(dirname "$0")/lib.sh"

need_root

CHROMIUM=$(command -v chromium 2>/dev/null)
[ -n "$CHROMIUM" ] || bail "chromium not found: apt-get install chromium (contrib/install-deps.sh)"
command -v unshare >/dev/null 2>&1 || bail "unshare not found (util-linux)"
FIXTURE="$top_builddir/t/htmlfixture"
PNGCHECK="$top_builddir/t/pngcheck"
[ -x "$FIXTURE" ] && [ -x "$PNGCHECK" ] || bail "build t/htmlfixture and t/pngcheck first (make check)"
unshare -n true 2>/dev/null || bail "unshare -n failed: a network namespace is needed to keep chromium off the network"

# The status colours of reports/html.c (Okabe-Ito) and the pass-rate line.
C_BOTH=0072B2 C_SPF=56B4E9 C_DKIM=E69F00 C_NONE=D55E00 C_PASS=009E73 C_DIRECT=CC79A7
TOL=12

# chromium_run OUT-FILE ARGS...: chromium, headless, offline, a fresh
# profile; stdout to OUT-FILE, stderr to $T_DIR/chromium.log.  No D-Bus,
# no crash reporter, no first-run dialogs; 120 s at most.
chromium_run() {
	out=$1
	shift
	HOME="$T_DIR/home" timeout 120 unshare -n sh -c 'ip link set lo up 2>/dev/null; exec "$@"' chromium \
		"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
		--no-default-browser-check --no-proxy-server --disable-background-networking \
		--disable-component-update --disable-sync --disable-features=Translate,MediaRouter \
		--hide-scrollbars --user-data-dir="$T_DIR/chrome" --window-size=1280,2400 \
		"$@" >"$out" 2>>"$T_DIR/chromium.log"
}

# region_count PNG COLOUR X Y W H: pixels of COLOUR in a rectangle
region_count() {
	"$PNGCHECK" "$1" count "$2" "$TOL" "$3" "$4" "$5" "$6"
}

mkdir -p "$T_DIR/home"
is "$(unshare -n sh -c 'ip link set lo up; ip -o link show' 2>&1 | grep -v ': lo:' | wc -l | tr -d ' ')" 0 \
	"chromium's network namespace has no interface but loopback"

# --- 1. the realistic fixture page -------------------------------------
PAGE="$T_DIR/report.html"
"$FIXTURE" "$PAGE" || bail "t/htmlfixture could not write the page"
ok 0 "htmlfixture wrote the page ($(wc -c <"$PAGE") bytes)"

# the page references nothing outside itself (t/test_html checks the
# markup in detail; this is the file chromium is given)
unlike "$(grep -o -i -E '(src|href)="[^"]*"|url\(|@import|<script' "$PAGE")" '.' \
	"the page has no src/href, url(), @import or script"

# render_page HTML PNG DOM: HTML rendered to $T_DIR/PNG, its DOM dumped to $T_DIR/DOM
render_page() {
	chromium_run "$T_DIR/$3" --dump-dom "file://$1"
	rc_dom=$?
	chromium_run /dev/null --screenshot="$T_DIR/$2" "file://$1"
	rc_png=$?
	[ $rc_dom -eq 0 ] && [ $rc_png -eq 0 ] && [ -s "$T_DIR/$2" ]
}

render_page "$PAGE" page.png dom.html
rc=$?
[ $rc -eq 0 ] || { sed 's/^/# chromium: /' "$T_DIR/chromium.log" | tail -n 20; }
ok $rc "chromium rendered the page offline (dump-dom and screenshot)"
[ -s "$T_DIR/page.png" ] || bail "no screenshot: chromium cannot render here (see the log above)"

DOM=$(cat "$T_DIR/dom.html")
is "$(printf '%s' "$DOM" | grep -o '<svg[^>]*role="img"' | wc -l | tr -d ' ')" 3 \
	"the DOM chromium built has the three SVG charts"
is "$(printf '%s' "$DOM" | grep -o '<circle class="pt"' | wc -l | tr -d ' ')" 39 \
	"the pass-rate chart has a point per day with reports"
like "$DOM" '<rect class="seg seg-none"' "the sources chart has its stacked segments"
like "$DOM" '<rect class="bar-after"' "the before/after chart has its bars"
like "$DOM" '<span class="badge">FIX</span>' "the verdict is in the DOM"
like "$DOM" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "chromium read the hostile source name as text"
unlike "$DOM" '<script' "and made no script element of it"

size=$("$PNGCHECK" "$T_DIR/page.png" size)
is "$size" "1280 2400" "the screenshot is 1280x2400"

# Not blank: the page background and ink are far from all of it.
white=$("$PNGCHECK" "$T_DIR/page.png" count FFFFFF 3)
bg=$("$PNGCHECK" "$T_DIR/page.png" count F5F6F8 3)
[ $((white + bg)) -lt $((1280 * 2400 * 95 / 100)) ]
ok $? "the screenshot is not blank (white+background: $((white + bg)) of $((1280 * 2400)) pixels)"

# Each colour drawn where the charts are.  The layout is found in the
# picture itself: the sources chart's widest bar (google.com, aligned
# SPF+DKIM) is the first long run of that blue, the remediation's "after"
# bar the first long run of the pass colour.
for c in $C_PASS $C_BOTH $C_SPF $C_DKIM $C_NONE; do
	n=$("$PNGCHECK" "$T_DIR/page.png" count $c $TOL)
	[ "$n" -ge 400 ]
	ok $? "colour #$c covers at least 400 pixels ($n)"
done
set -- $("$PNGCHECK" "$T_DIR/page.png" hrun $C_BOTH $TOL 300)
[ $# -eq 3 ] || bail "no wide #$C_BOTH bar in the screenshot: the sources chart is not drawn"
bars_y=$1
set -- $("$PNGCHECK" "$T_DIR/page.png" hrun $C_PASS $TOL 400)
[ $# -eq 3 ] || bail "no wide #$C_PASS bar in the screenshot: the before/after chart is not drawn"
after_y=$1
diag "sources chart's first bar at y=$bars_y, the after bar at y=$after_y"
[ "$after_y" -gt $((bars_y + 8 * 28)) ]
ok $? "the before/after chart is below the sources chart's 8 rows"
# the pass-rate line (and its points) above the sources chart
n=$(region_count "$T_DIR/page.png" $C_PASS 0 0 1280 "$bars_y")
[ "$n" -ge 1200 ]
ok $? "the pass-rate line is drawn above the sources chart ($n pixels)"
n=$(region_count "$T_DIR/page.png" $C_DIRECT 0 0 1280 "$bars_y")
[ "$n" -ge 600 ]
ok $? "and the direct-mail line ($n pixels)"
# the stacked bars: every status inside the chart's rows
for c in $C_BOTH $C_SPF $C_DKIM $C_NONE; do
	n=$(region_count "$T_DIR/page.png" $c 0 $((bars_y - 4)) 1280 $((8 * 31)))
	[ "$n" -ge 150 ]
	ok $? "stacked bars: #$c inside the sources chart ($n pixels)"
done
# the after bar: 99.9% of the track, about 600 units wide
set -- $("$PNGCHECK" "$T_DIR/page.png" hrun $C_PASS $TOL 400 "$after_y")
[ $(($3 - $2)) -ge 550 ]
ok $? "before/after: the after bar is nearly full ($(($3 - $2 + 1)) pixels wide)"
cp "$T_DIR/page.png" "${HTML_SCREENSHOT:-/dev/null}" 2>/dev/null

# --- 2. the empty page -----------------------------------------------
"$FIXTURE" -e "$T_DIR/empty.html" || bail "t/htmlfixture -e failed"
render_page "$T_DIR/empty.html" empty.png empty-dom.html
ok $? "chromium rendered the empty page"
like "$(cat "$T_DIR/empty-dom.html")" 'No reports received for example.org in this window' \
	"the empty page says no reports were received"
n=0
for c in $C_BOTH $C_SPF $C_DKIM $C_NONE; do
	n=$((n + $("$PNGCHECK" "$T_DIR/empty.png" count $c 6)))
done
[ "$n" -lt 50 ]
ok $? "the empty page draws no chart ($n status-coloured pixels)"

# --- 3. from the real command line -------------------------------------
# cli_part: the page of a real store.  The six-week story of t/mkaggr.sh
# (the HR tool fixed on day 20, quarantine from day 35) goes through
# "dmarc-reports receive" into SQLite, "dmarc-reports html" writes the
# page (no reverse DNS: this test starts no nsd, the systems are named by
# DKIM and SPF domain), chromium renders it offline.
cli_part() {
	R="$top_builddir/reports/dmarc-reports"
	[ -x "$R" ] || bail "build reports/dmarc-reports first (make check)"
	sh "$top_srcdir/t/mkaggr.sh" "$T_DIR/xml" 50 20 35 > /dev/null || bail "t/mkaggr.sh failed"
	cat > "$T_DIR/r.conf" <<CONF
Database		$T_DIR/owner.sqlite
KnownSource		owner.test ip:192.0.2.0/24 Own MTAs
KnownSource		owner.test ip:198.51.100.20/31 Newsletters
UnauthorizedSource	owner.test ip:203.0.113.128/25 Botnet
CONF
	out=$("$R" -c "$T_DIR/r.conf" receive --quiet "$T_DIR/xml" 2>&1)
	ok $? "receive the story's 143 reports ($out)"
	"$R" -c "$T_DIR/r.conf" html --domain owner.test --since 2026-09-01 --until 2026-10-21 \
		--no-rdns --output "$T_DIR/cli.html" 2>"$T_DIR/cli.err"
	ok $? "dmarc-reports html wrote the page ($(cat "$T_DIR/cli.err"))"
	unlike "$(grep -o -i -E '(src|href)="[^"]*"|url\(|@import|<script' "$T_DIR/cli.html")" '.' \
		"the page of the real store has no src/href, url(), @import or script"
	render_page "$T_DIR/cli.html" cli.png cli-dom.html
	ok $? "chromium rendered it offline"
	DOM=$(cat "$T_DIR/cli-dom.html")
	is "$(printf '%s' "$DOM" | grep -o '<svg[^>]*role="img"' | wc -l | tr -d ' ')" 3 \
		"three SVG charts: pass rate, sources, the HR tool's remediation"
	is "$(printf '%s' "$DOM" | grep -o '<circle class="pt"' | wc -l | tr -d ' ')" 50 \
		"a point for each of the 50 days"
	like "$DOM" 'hrcloud\.test' "the HR tool is on the page"
	like "$DOM" 'p=quarantine' "and the policy change to quarantine"
	for c in $C_PASS $C_BOTH $C_DKIM $C_NONE; do
		n=$("$PNGCHECK" "$T_DIR/cli.png" count $c $TOL)
		[ "$n" -ge 400 ]
		ok $? "the screenshot of the real page shows #$c ($n pixels)"
	done
	set -- $("$PNGCHECK" "$T_DIR/cli.png" hrun $C_BOTH $TOL 300)
	[ $# -eq 3 ]
	ok $? "the own MTAs' aligned bar is drawn wide in the sources chart"
	cp "$T_DIR/cli.png" "${HTML_CLI_SCREENSHOT:-/dev/null}" 2>/dev/null
}
cli_part

done_testing
