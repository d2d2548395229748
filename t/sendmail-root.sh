#!/bin/sh
# sendmail-root.sh - create, or reuse, the Debian 12 (bookworm) root that
# t/sendmail_e2e.sh runs Sendmail in.
#
# Debian's sendmail packages conflict with postfix (both provide
# mail-transport-agent), so Sendmail cannot be installed next to the
# Postfix the other tests use.  It runs chrooted instead, in a minimal
# debootstrap'd bookworm with sendmail-bin, sendmail-cf, m4 and make.
#
#   DMARC_SENDMAIL_ROOT     where the root lives
#                           (default /var/tmp/dmarc-milter-sendmail-root:
#                           outside the build tree, which make distcheck
#                           makes read-only, and reused across builds)
#   DMARC_SENDMAIL_MIRROR   the Debian mirror (default: the first bookworm
#                           "main" source in the host's /etc/apt/sources.list
#                           and sources.list.d/*.list / *.sources)
#   DMARC_SENDMAIL_MAX_AGE  days a complete root is reused (default 30); an
#                           older one is rebuilt, and kept if that fails
#
# A root is complete when its stamp file exists; the stamp is written last,
# after every package is in.  A new root is built beside the old one and
# renamed into place, so an interrupted run leaves no half root behind the
# stamp.  Needs root, debootstrap, and the mirror (the only network used).
# Exit status 0: the root is ready; otherwise a message says why not.
set -eu

SUITE=bookworm
PACKAGES="sendmail-bin sendmail-cf m4 make"
STAMP_VERSION=1		# bump when PACKAGES or the set-up below changes
ROOT=${DMARC_SENDMAIL_ROOT:-/var/tmp/dmarc-milter-sendmail-root}
MAX_AGE=${DMARC_SENDMAIL_MAX_AGE:-30}
STAMP=.dmarc-milter-sendmail-root

say() { echo "sendmail-root: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

case "$ROOT" in
/?*) ;;
*) die "DMARC_SENDMAIL_ROOT must be an absolute path other than / (got '$ROOT')" ;;
esac
ROOT=${ROOT%/}
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it)"

# complete DIR: a finished root of this version, with what the test runs
complete() {
	[ -f "$1/$STAMP" ] && grep -qx "version=$STAMP_VERSION" "$1/$STAMP" &&
		[ -x "$1/usr/libexec/sendmail/sendmail" ] && [ -x "$1/usr/bin/m4" ] &&
		[ -f "$1/usr/share/sendmail/cf/m4/cf.m4" ]
}

# recent DIR: its stamp is younger than MAX_AGE days
recent() {
	[ -n "$(find "$1/$STAMP" -mtime -"$MAX_AGE" 2>/dev/null)" ]
}

# mounted_under DIR: is anything mounted at or below DIR?
mounted_under() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

# host_mirror: the host's bookworm mirror, from one-line (.list) and deb822
# (.sources) apt sources; enabled "deb" entries only.
host_mirror() {
	{
		cat /etc/apt/sources.list 2>/dev/null || true
		for f in /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] && cat "$f"
		done
	} | awk -v suite="$SUITE" '
		{ sub(/#.*/, "") }
		$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) == suite) { print $i; exit }
		}'
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: paragraphs of "Field: value", blank-line separated
		awk -v suite="$SUITE" '
			function check() {
				if (done) return
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
				    enabled !~ /^[Nn][Oo]$/ && uris != "") {
					split(uris, u, " "); print u[1]; done = 1; exit
				}
				types = suites = uris = enabled = ""
			}
			/^#/ { next }
			/^[ \t]*$/ { check(); next }
			/^[A-Za-z-]+:/ {
				field = tolower($1); sub(/:.*/, "", field)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (field == "types") types = val
				else if (field == "uris") uris = val
				else if (field == "suites") suites = val
				else if (field == "enabled") enabled = val
				next
			}
			/^[ \t]/ { if (field == "uris") uris = uris " " $1 }
			END { check() }' "$f"
	done
}

mkdir -p "$(dirname "$ROOT")"
# One builder at a time; a second run waits, then finds the root complete.
exec 9> "$ROOT.lock"
if ! flock -n 9; then
	say "another run is building $ROOT; waiting for it"
	flock 9
fi

if complete "$ROOT" && recent "$ROOT"; then
	say "reusing $ROOT (built $(sed -n 's/^built=//p' "$ROOT/$STAMP"))"
	exit 0
fi
if complete "$ROOT"; then
	say "$ROOT is older than $MAX_AGE days: rebuilding it"
elif [ -e "$ROOT" ]; then
	say "$ROOT is incomplete: rebuilding it"
else
	say "creating $ROOT"
fi

command -v debootstrap >/dev/null 2>&1 ||
	die "debootstrap is not installed (apt-get install debootstrap)"
MIRROR=${DMARC_SENDMAIL_MIRROR:-$(host_mirror | head -n 1)}
[ -n "$MIRROR" ] ||
	die "no $SUITE mirror in /etc/apt/sources.list(.d); set DMARC_SENDMAIL_MIRROR"

NEW="$ROOT.new.$$"
# fail MESSAGE: give up on the new root; an old complete root is kept (and
# used) when the rebuild of a stale one fails.
fail() {
	mounted_under "$NEW" || rm -rf "$NEW"
	if complete "$ROOT"; then
		say "WARNING: rebuild failed ($1); keeping the old root $ROOT"
		exit 0
	fi
	die "$1"
}
trap 'mounted_under "$NEW" || rm -rf "$NEW"' EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
say "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes)"
if ! debootstrap --variant=minbase "$SUITE" "$NEW" "$MIRROR" > "$NEW.log" 2>&1; then
	tail -n 20 "$NEW.log" >&2
	mv "$NEW.log" "$ROOT.debootstrap.log" 2>/dev/null || true
	fail "debootstrap failed; its log is $ROOT.debootstrap.log"
fi
rm -f "$NEW.log"
say "debootstrap done in $(( $(date +%s) - start ))s"

# No service may start inside the root while packages are installed
# (invoke-rc.d asks policy-rc.d; 101 = action forbidden).
printf '#!/bin/sh\nexit 101\n' > "$NEW/usr/sbin/policy-rc.d"
chmod 755 "$NEW/usr/sbin/policy-rc.d"
echo mx.test.example > "$NEW/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.0.1\tmx.test.example mx\n' > "$NEW/etc/hosts"

say "apt-get install $PACKAGES (inside the root)"
# A private mount namespace gives the maintainer scripts a /proc that
# vanishes with the namespace, also when this is interrupted; a private
# UTS namespace a qualified host name (Sendmail's scripts ask for one).
if ! unshare --mount --uts sh -c '
	set -e
	hostname mx.test.example
	mount -t proc proc "$1/proc"
	shift
	root=$1; shift
	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin apt-get update -qq
	chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		apt-get install -y -qq --no-install-recommends "$@"
	chroot "$root" apt-get clean
	' sh "$NEW" "$NEW" $PACKAGES > "$NEW.apt.log" 2>&1; then
	tail -n 20 "$NEW.apt.log" >&2
	mv "$NEW.apt.log" "$ROOT.apt.log" 2>/dev/null || true
	fail "installing $PACKAGES in the root failed; the log is $ROOT.apt.log"
fi
rm -f "$NEW.apt.log"
# (/usr/sbin/sendmail is an absolute symbolic link to /etc/alternatives:
# from outside the root, look at the real binary)
[ -x "$NEW/usr/libexec/sendmail/sendmail" ] && [ -f "$NEW/usr/share/sendmail/cf/m4/cf.m4" ] ||
	fail "sendmail is not in the new root after apt-get install"

# Mount points for t/sendmail_e2e.sh, which binds its per-run directory
# and its syslog socket there in a private mount namespace.
mkdir -p "$NEW/srv/dmarc-milter-test"
: > "$NEW/dev/log"

{
	echo "version=$STAMP_VERSION"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "mirror=$MIRROR"
	chroot "$NEW" dpkg-query -W -f='package=${Package} ${Version}\n' $PACKAGES
} > "$NEW/$STAMP"

if [ -e "$ROOT" ]; then
	mounted_under "$ROOT" && fail "something is mounted under $ROOT; not replacing it"
	mv "$ROOT" "$ROOT.old.$$"
	mv "$NEW" "$ROOT"
	rm -rf "$ROOT.old.$$"
else
	mv "$NEW" "$ROOT"
fi
trap - EXIT
say "ready: $ROOT in $(( $(date +%s) - start ))s ($(sed -n 's/^package=sendmail-bin /sendmail-bin /p' "$ROOT/$STAMP"))"
