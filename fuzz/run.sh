#!/bin/sh
# fuzz/run.sh - build the libFuzzer harnesses and run them.
#
#   fuzz/run.sh [-t SECONDS] [-j JOBS] [-r] [-b] [harness...]
#
#   -t SECONDS	fuzz each harness this long (default $FUZZ_SECONDS, else 60)
#   -j JOBS	harnesses run at the same time (default 1)
#   -r		regression mode: no fuzzing; every harness runs once over its
#		seed corpus and fuzz/regress/<name>/ (quick, deterministic)
#   -b		build only
#   harness	from, record, ar, history, config, message, rxml, rinput
#		(default: all)
#
# Environment: srcdir (the source tree, default: this script's parent),
# builddir (the configured build tree with autoconf.h and Makefile, default
# "."), FUZZ_BUILD (objects, binaries, run directories; default
# $builddir/fuzz-build), FUZZ_CC (default clang), FUZZ_CPPFLAGS and
# FUZZ_LIBS (the libraries' flags; default: read from $builddir/Makefile).
#
# The library sources are compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined so coverage reaches them; the
# gcc-built milter/libdmarc.a is not used.  Fuzzing runs on a copy of the
# seed corpus under $FUZZ_BUILD: nothing is ever written to the source
# tree.  Exit status 1 when any harness found a crash, a leak, undefined
# behaviour, a timeout or an out-of-memory; 2 on a usage or build error.

set -u

ALL="from record ar history config message rxml rinput"
seconds=${FUZZ_SECONDS:-60}
jobs=1
mode=fuzz

usage() {
	echo "usage: fuzz/run.sh [-t SECONDS] [-j JOBS] [-r] [-b] [harness...]" >&2
	exit 2
}

while getopts t:j:rbh opt; do
	case $opt in
	t)	seconds=$OPTARG ;;
	j)	jobs=$OPTARG ;;
	r)	mode=regress ;;
	b)	mode=build ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
case $seconds in ''|*[!0-9]*) usage ;; esac
case $jobs in ''|*[!0-9]*|0) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "${srcdir:-$here/..}" && pwd) || exit 2
builddir=$(cd "${builddir:-.}" && pwd) || exit 2
FUZZ_BUILD=${FUZZ_BUILD:-$builddir/fuzz-build}
CC=${FUZZ_CC:-clang}
names=${*:-$ALL}

for n in $names; do
	case " $ALL " in *" $n "*) ;; *) echo "fuzz: unknown harness \"$n\" (have: $ALL)" >&2; exit 2 ;; esac
done
if [ ! -f "$builddir/autoconf.h" ]; then
	echo "fuzz: $builddir is not a configured build tree (no autoconf.h); run configure, or set builddir" >&2
	exit 2
fi
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "fuzz: $CC not found (libFuzzer needs clang; set FUZZ_CC)" >&2
	exit 2
fi

# makevar NAME - a variable of the configure-generated Makefile
makevar() {
	sed -n "s/^$1 = *//p" "$builddir/Makefile" | head -n 1
}

if [ -z "${FUZZ_CPPFLAGS+set}" ] || [ -z "${FUZZ_LIBS+set}" ]; then
	if [ ! -f "$builddir/Makefile" ]; then
		echo "fuzz: no $builddir/Makefile to take the library flags from; set FUZZ_CPPFLAGS and FUZZ_LIBS" >&2
		exit 2
	fi
fi
if [ -z "${FUZZ_CPPFLAGS+set}" ]; then
	FUZZ_CPPFLAGS=
	for v in OPENDKIM_CFLAGS LDNS_CFLAGS LIBPSL_CFLAGS LIBIDN2_CFLAGS JANSSON_CFLAGS LIBSSL_CFLAGS OPENSSL_CFLAGS LIBXML2_CFLAGS \
	    ZLIB_CFLAGS GMIME_CFLAGS LIBZIP_CFLAGS; do
		FUZZ_CPPFLAGS="$FUZZ_CPPFLAGS $(makevar $v)"
	done
fi
if [ -z "${FUZZ_LIBS+set}" ]; then
	FUZZ_LIBS=
	for v in OPENDKIM_LIBS SPF2_LIBS LDNS_LIBS LIBPSL_LIBS LIBIDN2_LIBS JANSSON_LIBS LIBSSL_LIBS OPENSSL_LIBS LIBXML2_LIBS \
	    ZLIB_LIBS GMIME_LIBS LIBZIP_LIBS; do
		FUZZ_LIBS="$FUZZ_LIBS $(makevar $v)"
	done
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -Werror $SAN"
CPPFLAGS="-I$builddir -I$srcdir/milter -I$srcdir/reports -I$srcdir/fuzz -DSYSCONFDIR=\"/etc\" $FUZZ_CPPFLAGS"
obj=$FUZZ_BUILD/obj
bin=$FUZZ_BUILD/bin

# build - objects of the library sources, an archive, one binary per harness
build() {
	mkdir -p "$obj" "$bin" || return 1
	flags="$CC $CFLAGS -fsanitize=fuzzer-no-link $CPPFLAGS"
	stamp=$obj/flags
	# Other flags, another compiler: start over.
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$flags" ]; then
		rm -f "$obj"/*.o "$obj"/*.a
		printf '%s\n' "$flags" >"$stamp"
	fi
	newest_h=$(ls -t "$srcdir"/milter/*.h "$srcdir"/reports/rconf.h "$srcdir"/reports/report.h \
	    "$srcdir"/reports/rxml.h "$srcdir"/reports/rinput.h \
	    "$builddir/autoconf.h" | head -n 1)
	todo=
	for src in "$srcdir"/milter/*.c "$srcdir"/reports/rconf.c "$srcdir"/reports/report.c \
	    "$srcdir"/reports/rxml.c "$srcdir"/reports/rinput.c; do
		case ${src##*/} in main.c|milter.c) continue ;; esac
		o=$obj/$(basename "$src" .c).o
		if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
			todo="$todo $src"
		fi
	done
	if [ -n "$todo" ]; then
		echo "fuzz: compiling$(echo "$todo" | wc -w | sed 's/^/ /') library sources with $CC"
		i=0
		rm -f "$obj/failed"
		for src in $todo; do
			o=$obj/$(basename "$src" .c).o
			# shellcheck disable=SC2086
			{ $flags -c "$src" -o "$o" || { rm -f "$o"; touch "$obj/failed"; }; } &
			i=$((i + 1))
			[ $((i % 2)) -eq 0 ] && wait
		done
		wait
		[ -f "$obj/failed" ] && return 1
		rm -f "$obj/libfuzzdmarc.a"
	fi
	if [ ! -f "$obj/libfuzzdmarc.a" ]; then
		ar rcs "$obj/libfuzzdmarc.a" "$obj"/*.o || return 1
	fi
	for n in $names; do
		src=$srcdir/fuzz/fuzz_$n.c
		out=$bin/fuzz_$n
		if [ ! -f "$out" ] || [ "$src" -nt "$out" ] || [ "$obj/libfuzzdmarc.a" -nt "$out" ] ||
		    [ "$srcdir/fuzz/fuzz.h" -nt "$out" ]; then
			echo "fuzz: linking fuzz_$n"
			# shellcheck disable=SC2086
			$CC $CFLAGS -fsanitize=fuzzer $CPPFLAGS "$src" -o "$out" \
			    "$obj/libfuzzdmarc.a" $FUZZ_LIBS -lpthread || return 1
		fi
	done
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# seeds NAME DIR - the seed corpus and the regression inputs, copied into DIR
seeds() {
	mkdir -p "$2"
	for d in "$srcdir/fuzz/corpus/$1" "$srcdir/fuzz/regress/$1"; do
		[ -d "$d" ] || continue
		for f in "$d"/*; do
			[ -f "$f" ] && cp "$f" "$2/" 2>/dev/null
		done
	done
	chmod -R u+w "$2"	# distcheck's source tree is read-only
}

# fuzz_one NAME - fuzz one harness; the verdict line goes to run/NAME/result
fuzz_one() {
	n=$1
	w=$FUZZ_BUILD/run/$n
	rm -rf "$w"
	mkdir -p "$w/artifacts" "$w/tmp"
	seeds "$n" "$w/corpus"
	dict=
	[ -f "$srcdir/fuzz/dict/$n.dict" ] && dict="-dict=$srcdir/fuzz/dict/$n.dict"
	# shellcheck disable=SC2086
	(cd "$w" && TMPDIR=$w/tmp "$bin/fuzz_$n" -max_total_time="$seconds" -rss_limit_mb=2048 \
	    -detect_leaks=1 -timeout=30 -print_final_stats=1 -artifact_prefix="$w/artifacts/" \
	    $dict "$w/corpus" >"$w/log" 2>&1)
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -n 1)
	cov=$(sed -n 's/.*DONE *cov: *\([0-9]*\).*/\1/p' "$w/log" | tail -n 1)
	[ -n "$cov" ] || cov=$(sed -n 's/.* cov: *\([0-9]*\).*/\1/p' "$w/log" | tail -n 1)
	repro=$(ls "$w/artifacts" 2>/dev/null | head -n 1)
	if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
		echo "fuzz: $n: ${runs:-?} runs, cov ${cov:-?}, OK" >"$w/result"
	else
		{
			echo "fuzz: $n: FAILED (exit $rc) after ${runs:-?} runs, cov ${cov:-?}"
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|fuzz: .*invariant|.*-- timeout|.*out-of-memory)' \
			    "$w/log" | head -n 5 | sed 's/^/fuzz:   /'
			if [ -n "$repro" ]; then
				echo "fuzz:   reproducer: $w/artifacts/$repro"
				echo "fuzz:   replay: $bin/fuzz_$n $w/artifacts/$repro"
			fi
			echo "fuzz:   log: $w/log"
		} >"$w/result"
	fi
	return $rc
}

# regress_one NAME - every seed and regression input once
regress_one() {
	n=$1
	w=$FUZZ_BUILD/regress/$n
	rm -rf "$w"
	mkdir -p "$w/tmp"
	seeds "$n" "$w/in"
	count=$(ls "$w/in" | wc -l)
	if [ "$count" -eq 0 ]; then
		echo "fuzz: $n: no seed inputs" >"$w/result"
		return 1
	fi
	(cd "$w" && TMPDIR=$w/tmp "$bin/fuzz_$n" -rss_limit_mb=2048 -detect_leaks=1 -timeout=30 \
	    "$w"/in/* >"$w/log" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "fuzz: $n: $count inputs, OK" >"$w/result"
	else
		{
			echo "fuzz: $n: FAILED (exit $rc) on one of $count inputs"
			grep -E '^(Running:|==[0-9]+==ERROR|SUMMARY|.*runtime error:|fuzz: .*invariant)' "$w/log" |
			    tail -n 5 | sed 's/^/fuzz:   /'
			echo "fuzz:   log: $w/log"
		} >"$w/result"
	fi
	return $rc
}

build || { echo "fuzz: build failed" >&2; exit 2; }
[ "$mode" = build ] && exit 0

start=$(date +%s)
failed=0
running=0
pids=
for n in $names; do
	if [ "$mode" = regress ]; then
		regress_one "$n" &
		dir=$FUZZ_BUILD/regress/$n
	else
		echo "fuzz: $n: fuzzing for ${seconds}s"
		fuzz_one "$n" &
		dir=$FUZZ_BUILD/run/$n
	fi
	pids="$pids $!:$n:$dir"
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		# wait for the oldest one (POSIX sh has no "wait -n")
		first=${pids# }; first=${first%% *}
		wait "${first%%:*}" || failed=1
		d=${first#*:}; cat "${d#*:}/result"
		pids=${pids#" $first"}
		running=$((running - 1))
	fi
done
for p in $pids; do
	wait "${p%%:*}" || failed=1
	d=${p#*:}; cat "${d#*:}/result"
done
echo "fuzz: $mode done in $(( $(date +%s) - start ))s: $( [ $failed -eq 0 ] && echo OK || echo FAILED)"
exit $failed
