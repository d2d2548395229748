#!/bin/sh
# install-deps.sh - install every build and test dependency of dmarc-milter
# on Debian 12 (bookworm).  Idempotent: packages already present are left as
# they are.  Run as root; as any other user it prints the command to run.
set -eu

PACKAGES="
build-essential autoconf automake libtool pkg-config
libmilter-dev libopendkim-dev libspf2-dev libopendmarc-dev libldns-dev
libpsl-dev libidn2-dev publicsuffix libssl-dev libjansson-dev libyaml-dev
libxml2-dev libsqlite3-dev libpq-dev zlib1g-dev libgmime-3.0-dev libzip-dev
nsd ldnsutils postfix miltertest swaks opendkim-tools valgrind
libxml2-utils procps iproute2 clang postgresql
dpkg-dev debhelper fakeroot debootstrap logrotate
openssl sasl2-bin libsasl2-modules
chromium libpng-dev fonts-dejavu-core
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "dmarc-milter: missing Debian packages:$missing" >&2
	echo "run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix asks debconf how it is to be used; "No configuration" leaves the
# machine's mail system untouched (the tests run a private instance).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
