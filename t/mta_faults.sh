#!/bin/bash
# mta_faults.sh - an MTA that misbehaves.  The connection drops in the
# middle of a message, a message is aborted, several come on one
# connection (also after SMFIC_QUIT_NC), the header or body is far larger
# than a real MTA sends, garbage arrives on the wire, and 500 connections
# come at once.  After each case:
# the milter still runs and gives the next normal message its normal
# verdict, every history line is complete (t/historycheck), and only
# messages that reached their end of message have a record, exactly one.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
need_root

HISTORY="$T_DIR/history.jsonl"
start_nsd
CONF="$T_DIR/faults.conf"
milter_conf "$CONF" "RejectFailures yes" "HistoryFile $HISTORY" "DNSTimeout 1" "DNSRetries 0"
start_milter "$CONF"
GOOD=192.0.2.1		# inside the SPF of example.com and example.org
BAD=203.0.113.5		# outside all of them
M="$T_DIR/msg"
mkdir -p "$M"
mkmsg "$M/normal.eml" user@example.com
records=0		# history records the cases so far must have left

# fault NAME KEY=VALUE...: t/miltertest/faults.lua; R is what it wrote
fault() {
	name=$1; shift
	rm -f "$T_DIR/$name.out"
	miltertest_run faults.lua "outfile=$T_DIR/$name.out" "$@" > "$T_DIR/$name.mt" 2>&1
	R=$(cat "$T_DIR/$name.out" 2>/dev/null)
}

# history_ok NAME: exactly $records records, every line complete JSON
history_ok() {
	hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
	like "$hc" "records=$records invalid=0" "$1: $records history records, no torn or invalid line"
	if [ -s "$HISTORY" ]; then
		is "$(tail -c 1 "$HISTORY" | od -An -tx1 | tr -d ' ')" 0a "$1: the history file ends with a whole line"
	fi
}

# alive NAME: the milter runs, and a normal message gets its normal verdict
# (SPF pass, aligned: dmarc=pass) and its one history record
alive() {
	kill -0 "$MILTER_PID" 2>/dev/null
	ok $? "$1: the milter is still running"
	r=$(mt_send "$M/normal.eml" $GOOD user@example.com)
	like "$r" 'reply=a' "$1: the next message is accepted"
	like "$r" 'ar=.*dmarc=pass.*header.from=example.com' "$1: and passes DMARC"
	records=$((records + 1))
	history_ok "$1"
}

# rss: the milter's resident memory in kB
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$MILTER_PID/status"; }
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$MILTER_PID/status"; }

FROM1="User <user@example.com>"

## The MTA closes the connection during a message: no record (no EOM)
fault close-header client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" stop=header
like "$R" 'dropped=yes' "close mid-header: the script dropped the connection after a header field"
alive "close mid-header"
fault close-eoh client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" stop=eoh
like "$R" 'dropped=yes' "close after EOH: dropped"
alive "close after EOH"
fault close-body client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" stop=body body_kb=256
like "$R" 'dropped=yes' "close mid-body: dropped after 256 KiB of body"
alive "close mid-body"

## ... and between messages: message 1 complete (one record), then no QUIT
fault close-between client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" stop=eom-drop
like "$R" '^reply=a' "close between messages: message 1 accepted"
records=$((records + 1))
alive "close between messages"

## Two messages on one connection, each with its own verdict.  ruf.test's
## SPF covers $GOOD, but the MAIL FROM is at example.com: not aligned, and
## p=reject; example.com passes.
FROMX="User <user@ruf.test>"
fault two client_ip=$GOOD mailfrom=user@example.com "from=$FROMX" "from2=$FROM1"
like "$R" '^reply=y' "two messages: message 1 (ruf.test, not aligned) rejected"
like "$R" '2reply=a' "two messages: message 2 accepted"
like "$R" '2ar=.*dmarc=pass.*header.from=example.com' "two messages: message 2 passes for its own author domain"
records=$((records + 2))
hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
like "$(printf '%s\n' "$hc" | tail -n 3 | head -n 1)" ' ruf\.test fail reject reject' "two messages: record 1 is the reject"
like "$(printf '%s\n' "$hc" | tail -n 2 | head -n 1)" ' example\.com pass ' "two messages: record 2 the pass"
alive "two messages"

## SMFIC_ABORT after EOH: the aborted message (From ruf.test, which fails)
## leaves nothing behind; had its From stayed, message 2 would have two
## author domains and be rejected
fault abort client_ip=$GOOD mailfrom=user@example.com "from=$FROMX" stop=abort "from2=$FROM1"
like "$R" '2reply=a' "abort after EOH: the next message on the connection is accepted"
like "$R" '2ar=.*dmarc=pass' "abort after EOH: and passes"
unlike "$R" 'ruf\.test' "abort after EOH: nothing of the aborted message's From is evaluated"
records=$((records + 1))
hc=$("$top_builddir/t/historycheck" "$HISTORY" 2>&1)
like "$(printf '%s\n' "$hc" | tail -n 2 | head -n 1)" ' example\.com pass ' "abort after EOH: one record, for message 2"
alive "abort after EOH"

## Raw protocol: packets written by hand (bash, no helper program)

# be32 N: N as 4 bytes, big-endian, for printf %b
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

# pkt CMD [DATA-FORMAT ARGS...]: one milter packet (length, command, data);
# the data goes through printf, so "\0" in the format is a NUL byte
pkt() {
	c=$1; shift
	if [ $# -gt 0 ]; then printf "$@" > "$T_DIR/pkt.data"; else : > "$T_DIR/pkt.data"; fi
	printf '%b%s' "$(be32 $(( $(stat -c %s "$T_DIR/pkt.data") + 1 )))" "$c"
	cat "$T_DIR/pkt.data"
}

# optneg: version 6, actions ADDHDRS|CHGHDRS|QUARANTINE, steps NR_HDR,
# HDR_LEADSPC, NOUNKNOWN, NODATA (what Postfix offers, roughly)
optneg() { pkt O '\0\0\0\006\0\0\0\061\0\020\003\200'; }
# conn HOST IPV4: SMFIC_CONNECT, family '4', port 25
conn() { pkt C '%s\0004\000\031%s\0' "$1" "$2"; }
# msg FROM-HEADER MAIL-FROM: one complete message, headers to EOM
msg() {
	pkt M '<%s>\0' "$2"; pkt R '<rcpt@dest.test>\0'
	pkt L 'From\0 %s\0' "$1"; pkt L 'Subject\0 raw\0'
	pkt N; pkt B 'Hello.\r\n'; pkt E
}

# raw NAME: send $T_DIR/NAME.in to the milter, read what comes back until
# the milter closes (10 s at most); RAW is the reply commands, one letter
# each ("-" when nothing came)
raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$MILTER_PORT" || { RAW="connect failed"; return; }
	cat "$T_DIR/$1.in" >&3
	timeout 10 cat <&3 > "$T_DIR/$1.reply" 2>/dev/null
	exec 3<&- 3>&-
	RAW=$(od -An -v -tx1 "$T_DIR/$1.reply" | tr -s ' \n' '\n' | sed '/^$/d' | {
		cmds=""
		while read -r a && read -r b && read -r c && read -r d && read -r cmd; do
			cmds="$cmds$(printf "\\x$cmd")"
			n=$(( 0x$a$b$c$d - 1 ))
			while [ $n -gt 0 ] && read -r _; do n=$((n - 1)); done
		done
		echo "${cmds:--}"
	})
	DM=$(grep -ao 'dmarc=[a-z]*' "$T_DIR/$1.reply" | head -n 1)
}

# SMFIC_QUIT_NC: the MTA keeps the milter connection for its next SMTP
# client.  Debian's libmilter (engine.c) takes the state back to HELO after
# any final reply at EOM, and HELO may not go to QUIT_NC nor to CONNECT: it
# ignores the QUIT_NC and the next CONNECT, calls neither xxfi_close nor
# xxfi_connect, and the next message is judged with the first client's
# address (here a pass instead of the reject the second client would get).
# Nothing crashes and each message gets one record; Postfix never sends
# QUIT_NC, Sendmail does not reuse milter connections.
{
	optneg; conn "[$GOOD]" $GOOD; pkt H 'client.example.net\0'
	msg "$FROM1" user@example.com
	pkt K
	conn "[$BAD]" $BAD; pkt H 'other.example.net\0'
	msg "$FROM1" user@example.com
	pkt Q
} > "$T_DIR/quitnc.in"
raw quitnc
# O; connect helo mail rcpt, each header (two), eoh body: c each (over TCP
# the milter answers every command: milter.c tcp_replies); EOM: our header
# (i), accept (a); after QUIT_NC (ignored, as is CONNECT): helo mail rcpt,
# two headers, eoh body, i a
is "$RAW" "Occcccccciacccccccia" "QUIT_NC after EOM: ignored by libmilter, the session goes on (documented above)"
records=$((records + 2))
alive "QUIT_NC"

# garbage: a bad length or an unknown command costs that connection only
printf '%b' "$(be32 0)" > "$T_DIR/len0.in"; optneg >> "$T_DIR/len0.in"
{ printf '%b' "$(be32 2147483648)"; printf 'O'; head -c 1000 /dev/zero; } > "$T_DIR/len2g.in"
{ printf '%b' "$(be32 65537)"; printf 'O'; head -c 65536 /dev/zero; } > "$T_DIR/len64k.in"
{ optneg; pkt Z 'whatever\0'; conn "[$GOOD]" $GOOD; } > "$T_DIR/unknown.in"
{ printf '%b' "$(be32 5)"; printf 'O\0\0\0\006'; conn "[$GOOD]" $GOOD; } > "$T_DIR/shortopt.in"
for g in len0 len2g len64k unknown shortopt; do
	start=$(date +%s)
	raw "$g"
	elapsed=$(( $(date +%s) - start ))
	[ "$elapsed" -lt 10 ]
	ok $? "garbage $g: the milter closes the connection (${elapsed}s)"
	unlike "$RAW" '[acy]' "garbage $g: no verdict, nothing continued (replies: $RAW)"
	alive "garbage $g"
done

# A truncated packet, or commands out of order (EOM before any message):
# libmilter waits for the rest, or ignores what cannot come in that state.
# Such a connection must not hold up the others.
{ optneg; conn "[$GOOD]" $GOOD; pkt H 'client.example.net\0'; pkt M '<a@example.com>\0';
  printf '%b' "$(be32 100)"; printf 'L'; printf 'From\0 trunc'; } > "$T_DIR/shorthdr.in"
{ optneg; pkt E; pkt N; pkt B 'body before anything\r\n'; pkt E; pkt A; pkt E; } > "$T_DIR/order.in"
# MAIL without CONNECT: libmilter goes from OPTNEG to HELO and on to MAIL, so
# the callbacks run on a session that has no connection data
{ optneg; pkt M '<a@example.com>\0'; pkt R '<rcpt@dest.test>\0'; pkt L 'From\0 a@example.com\0';
  pkt N; pkt B 'x\r\n'; pkt E; pkt Q; } > "$T_DIR/noconnect.in"
for g in shorthdr order noconnect; do
	exec 4<>"/dev/tcp/127.0.0.1/$MILTER_PORT"
	cat "$T_DIR/$g.in" >&4
	sleep 0.5
	alive "stalled connection ($g) still open"
	exec 4<&- 4>&-
done
sleep 0.5
alive "after the stalled connections closed"

## Oversized input: caps, and memory that stays bounded

# pktfile CMD FILE: a packet whose data is FILE's contents
pktfile() {
	printf '%b%s' "$(be32 $(( $(stat -c %s "$2") + 1 )))" "$1"
	cat "$2"
}
# bigmsg NAME IP FROM-FILE [PAD-N PAD-SIZE]: a message with PAD-N X-Pad
# fields of PAD-SIZE bytes before the From, whose value is FROM-FILE; sent
# raw (miltertest cannot send fields of 8 KB or more).  RAW, DM as raw().
bigmsg() {
	{ printf 'From\0 '; cat "$3"; printf '\0'; } > "$T_DIR/$1.from"
	{
		optneg; conn "[$2]" "$2"; pkt H 'client.example.net\0'
		pkt M '<user@example.com>\0'; pkt R '<rcpt@dest.test>\0'
		if [ -n "${4:-}" ]; then
			p=$(head -c "$5" /dev/zero | tr '\0' p)
			esc="$(be32 $((5 + 1 + 2 + ${#p} + 1)))LX-Pad\\0 $p\\0"
			for ((i = 0; i < $4; i++)); do printf '%b' "$esc"; done
		fi
		pktfile L "$T_DIR/$1.from"
		pkt N; pkt B 'Hello.\r\n'; pkt E; pkt Q
	} > "$T_DIR/$1.in"
	raw "$1"
}

# One field of 1 MB: more than libmilter takes in one packet
# (MILTER_MAX_DATA_SIZE, 64 KiB): libmilter drops the connection.
head -c 1048576 /dev/zero | tr '\0' 'x' > "$M/huge1m"
bigmsg huge-field $BAD "$M/huge1m"
unlike "$RAW" '[ay]' "a 1 MB From field: no verdict (libmilter refuses a packet over 64 KiB and drops the connection)"
alive "1 MB header field"

echo "User <user@example.com>" | tr -d '\n' > "$M/from1"
rss0=$(rss)
oversized() {
	# 10,000 header fields, the From of a p=reject domain after them: the
	# fields past SESSION_MAX_HEADERS (1,000) are not kept, but From is, so
	# the cap is no way around the policy.
	fault many-fields client_ip=$BAD mailfrom=user@example.com "from=$FROM1" pad_n=10000 pad_size=20
	like "$R" '^reply=y' "10,000 header fields, From last: still rejected (From is kept past the field cap)"
	records=$((records + 1))
	# 20 fields of 60,000 bytes: 1.2 MB, over SESSION_MAX_HEADER_BYTES (1 MiB)
	bigmsg big-header $BAD "$M/from1" 20 60000
	like "$RAW" 'y$' "1.2 MB of header fields, From last: still rejected (From is kept past the byte cap)"
	records=$((records + 1))
	# A forged A-R with our authserv-id after the cap is still removed
	printf 'Authentication-Results: mx.test.example; dmarc=pass header.from=example.com\n' > "$M/forged-ar"
	fault late-ar client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" pad_n=1200 pad_size=20 \
		"hdrfile=$M/forged-ar"
	like "$R" 'ar_deleted=yes' "a forged A-R after 1,200 fields is removed all the same"
	records=$((records + 1))
	# 800 body chunks of 64,000 bytes (51 MB), a real MTA's chunk size
	start=$(date +%s)
	fault big-body client_ip=$GOOD mailfrom=user@example.com "from=$FROM1" body_chunks=800
	like "$R" '^reply=a' "51 MB body: accepted"
	like "$R" 'dmarc=pass' "51 MB body: DMARC passes (SPF)"
	diag "51 MB body took $(( $(date +%s) - start )) s"
	records=$((records + 1))
}
oversized
rss1=$(rss)
oversized
rss2=$(rss)
diag "VmRSS: ${rss0} kB before, ${rss1} kB after one round of oversized input, ${rss2} kB after two; VmHWM $(hwm) kB"
[ $((rss2 - rss1)) -lt $((4096 + RSS_SLACK_KB)) ]
ok $? "memory: a second round of oversized messages grows VmRSS by less than $(( (4096 + RSS_SLACK_KB) / 1024 )) MiB ($((rss2 - rss1)) kB)"
[ "$(hwm)" -lt $((262144 + RSS_SLACK_KB)) ]
ok $? "memory: peak VmRSS stays under $(( 256 + RSS_SLACK_KB / 1024 )) MiB ($(hwm) kB)"
alive "oversized input"

## From fields of extreme size (libmilter's packet limit caps one at 64 KiB)
# 100 KB: over the packet limit, the connection goes
{ head -c 102400 /dev/zero | tr '\0' 'a'; printf '@example.com'; } > "$M/from100k"
bigmsg from100k $BAD "$M/from100k"
unlike "$RAW" '[ay]' "a 100 KB From: libmilter drops the connection, no verdict"
alive "100 KB From"
# 60 KB of addresses (3,000 of them): more than HDR_FROM_MAX_ADDRS (100),
# so the field does not parse, but the domains it names are still
# evaluated (hdr_from_salvage): example.com's p=reject applies
for i in $(seq 1 3000); do printf 'u%d@example.com, ' "$i"; done | sed 's/, $//' > "$M/from3000"
bigmsg from3000 $BAD "$M/from3000"
like "$RAW" 'y$' "3,000 From addresses at example.com: unparsable, but example.com's p=reject applies"
# and 3,000 addresses of a domain without a policy: no DMARC verdict to apply
for i in $(seq 1 2500); do printf 'u%d@norecord.test, ' "$i"; done | sed 's/, $//' > "$M/from3000b"
bigmsg from3000b $BAD "$M/from3000b"
like "$RAW" 'ia$' "2,500 From addresses at a domain without DMARC record: accepted"
is "$DM" "dmarc=none" "2,500 From addresses at a domain without DMARC record: dmarc=none"
records=$((records + 2))
# one address with a 60 KB local part: its domain counts
{ head -c 61440 /dev/zero | tr '\0' 'a'; printf '@example.com'; } > "$M/fromlong"
bigmsg fromlong $BAD "$M/fromlong"
like "$RAW" 'y$' "a 60 KB local part at example.com: example.com's p=reject applies"
records=$((records + 1))
# a 60 KB domain: not a domain name (labels of 63, names of 253 octets)
{ printf 'user@'; head -c 61440 /dev/zero | tr '\0' 'a'; printf '.com'; } > "$M/fromdom"
bigmsg fromdom $BAD "$M/fromdom"
like "$RAW" 'ia$' "a 60 KB domain: accepted (no usable author domain)"
is "$DM" "dmarc=permerror" "a 60 KB domain: dmarc=permerror"
records=$((records + 1))
alive "huge From fields"

## 500 MTA connections at once (contrib/bench/mltload; mkcorpus signs a
## corpus with the test keys, its own leak check off: see t/mltload.sh)
C500="$T_DIR/corpus500"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	"$top_builddir/contrib/bench/mkcorpus" -o "$C500" -n 100 -S 5 -k "$top_srcdir/t/keys" > "$T_DIR/corpus500.sum"
ok $? "500 connections: mkcorpus wrote a corpus of 100 messages"
lines0=$(wc -l < "$HISTORY")
lost0=$(grep -c 'history record not written\|header cap reached' "$T_DIR/milter.log")
out=$("$top_builddir/contrib/bench/mltload" -s "$MILTER_SOCKET" -d "$C500" -c 500 -n 500 -m 1 -t 300 -l c500 -v 2> "$T_DIR/c500.err")
st=$?
is "$st" 0 "500 connections: mltload exits 0 (every message got a verdict)"
like "$out" ' msgs=500 errors=0 ' "500 connections: 500 messages, no error ($(head -c 300 "$T_DIR/c500.err"))"
sum=0
for k in accept reject tempfail quarantine discard; do
	v=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$k=//p")
	sum=$((sum + ${v:-0}))
done
is "$sum" 500 "500 connections: 500 verdicts ($out)"
is "$(( $(wc -l < "$HISTORY") - lines0 ))" 500 "500 connections: 500 new history records"
records=$((records + 500))
is "$(grep -c 'history record not written\|header cap reached' "$T_DIR/milter.log")" "$lost0" \
	"500 connections: no record lost, no header cut"
diag "VmRSS after 500 connections: $(rss) kB, VmHWM $(hwm) kB"
[ "$(hwm)" -lt $((256 * 1024 + RSS_SLACK_KB)) ]
ok $? "500 connections: peak VmRSS stays under $(( 256 + RSS_SLACK_KB / 1024 )) MiB ($(hwm) kB)"
alive "500 connections"

grep -E 'AddressSanitizer|runtime error|SIGSEGV|assertion' "$T_DIR/milter.log" > /dev/null
ok $((! $?)) "the milter's log shows no crash or sanitizer report"

done_testing
