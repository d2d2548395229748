#!/bin/sh
# dns_world.sh - the test DNS world: a real nsd on loopback serves t/zones.
# What the later tests rely on is checked here once: answers, NXDOMAIN vs
# NODATA, multi-string TXT, several TXT at one name, SERVFAIL for a zone
# that failed to load, and that nothing leaks to the machine's resolver.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

T_BROKEN_ZONES="servfail.test"
start_nsd

q() { drill -p "$NSD_PORT" @127.0.0.1 "$@" 2>&1; }

out=$(q TXT _dmarc.example.com)
like "$out" 'rcode: NOERROR' "nsd answers for _dmarc.example.com"
like "$out" 'v=DMARC1; p=reject' "the DMARC record is served"
out=$(q TXT example.com)
is "$(printf '%s\n' "$out" | grep -c '^example.com\..*TXT')" 2 "two TXT records at example.com stay separate"
out=$(q TXT split.example.com)
like "$out" '"v=spf1 ip4:192.0.2.0/24 " "ip4:198.51.100.0/24 -all"' "a TXT record in two character-strings"
out=$(q A nosuchname.example.com)
like "$out" 'rcode: NXDOMAIN' "a missing name is NXDOMAIN"
like "$out" 'SOA' "NXDOMAIN carries the SOA for negative caching"
out=$(q MX _dmarc.example.com)
like "$out" 'rcode: NOERROR' "an existing name without the type is NODATA (NOERROR)"
like "$out" 'ANSWER: 0,' "NODATA has no answer records"
out=$(q TXT anything.servfail.test)
like "$out" 'rcode: SERVFAIL' "a zone that failed to load answers SERVFAIL"
out=$(q TXT example.invalid)
like "$out" 'rcode: REFUSED' "a name outside our zones is refused, not looked up elsewhere"
out=$(q AAAA mx.example.com)
like "$out" '2001:db8::25' "AAAA answers"

done_testing
