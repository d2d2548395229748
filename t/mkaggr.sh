#!/bin/sh
# mkaggr.sh - write the aggregate reports a domain owner receives over a
# story of N days, for the owner.test domain (t/reports_owner.sh).
#
#   sh t/mkaggr.sh OUTDIR [DAYS [FIXDAY [ENFORCEDAY [START]]]]
#
# DAYS (default 50) days from START (default 1788220800, 2026-09-01 UTC),
# one report a day from each of three reporters: "google.com" and "Yahoo"
# write RFC 7489 reports (no namespace, with pct), "Outlook.com" writes
# RFC 9990 ones (namespace, testing, np, no pct); Yahoo skips every 7th
# day.  Files are named as receivers name them: ORG!DOMAIN!BEGIN!END.xml.
#
# The sending sources (daily messages, split 5:3:2 between the reporters):
#   own MTAs        192.0.2.10 mta1.owner.test (600), 192.0.2.11
#                   mta2.owner.test (400): SPF and DKIM aligned.
#   marketing       198.51.100.20/21 o1/o2.mail.marketing-platform.test
#                   (200 + 100): DKIM d=owner.test signed by the platform,
#                   SPF passes for its own bounce domain (not aligned).
#   HR tool         198.51.100.40 smtp.hrcloud.test (60): signs with its
#                   own d=hrcloud.test, SPF for hrcloud.test: fails DMARC
#                   until FIXDAY (default 20), then signs d=owner.test.
#   mailing list    198.51.100.60 lists.listhost.test (40): our signature
#                   broken by the list footer, SPF fails; Outlook says
#                   local_policy "arc=pass".
#   spoofers        203.0.113.66 (its PTR claims mta9.owner.test, which
#                   does not point back) (3), 203.0.113.77 no PTR (2):
#                   neither; 203.0.113.200 a botnet (200): neither.
# The policy: p=none until ENFORCEDAY (default 35), then p=quarantine;
# pct=5; t=y.  While quarantine is published the RFC 7489 reporters
# quarantine 5% of the failing mail (the rest: sampled_out), the RFC 9990
# one applies none (policy_test_mode).
set -eu

out=${1:?usage: mkaggr.sh OUTDIR [DAYS [FIXDAY [ENFORCEDAY [START]]]]}
days=${2:-50}
fixday=${3:-20}
enforceday=${4:-35}
start=${5:-1788220800}
mkdir -p "$out"

awk -v out="$out" -v days="$days" -v fixday="$fixday" -v enforceday="$enforceday" \
    -v start="$start" '
function hdr(f, org, email, rid, b, e, rfc9990, q) {
	printf "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" > f
	if (rfc9990) {
		printf "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n  <version>1.0</version>\n" > f
	} else
		printf "<feedback>\n" > f
	printf "  <report_metadata>\n    <org_name>%s</org_name>\n    <email>%s</email>\n", org, email > f
	printf "    <report_id>%s</report_id>\n", rid > f
	printf "    <date_range>\n      <begin>%d</begin>\n      <end>%d</end>\n    </date_range>\n", b, e > f
	printf "  </report_metadata>\n  <policy_published>\n    <domain>owner.test</domain>\n" > f
	if (rfc9990) {
		printf "    <p>%s</p>\n    <sp>%s</sp>\n    <np>%s</np>\n", q ? "quarantine" : "none", \
		    q ? "quarantine" : "none", q ? "quarantine" : "none" > f
		printf "    <testing>%s</testing>\n    <discovery_method>psl</discovery_method>\n", q ? "y" : "n" > f
	} else {
		printf "    <adkim>r</adkim>\n    <aspf>r</aspf>\n    <p>%s</p>\n    <sp>%s</sp>\n", \
		    q ? "quarantine" : "none", q ? "quarantine" : "none" > f
		printf "    <pct>%d</pct>\n", q ? 5 : 100 > f
	}
	printf "  </policy_published>\n" > f
}

# rec - one record; dk "d:result" or "", sp "domain:result"
function rec(f, ip, n, disp, dkim, spf, rtype, rcomment, dk, sp, efrom,   a) {
	if (n <= 0)
		return
	printf "  <record>\n    <row>\n      <source_ip>%s</source_ip>\n      <count>%d</count>\n", ip, n > f
	printf "      <policy_evaluated>\n        <disposition>%s</disposition>\n", disp > f
	printf "        <dkim>%s</dkim>\n        <spf>%s</spf>\n", dkim, spf > f
	if (rtype != "") {
		printf "        <reason>\n          <type>%s</type>\n", rtype > f
		if (rcomment != "")
			printf "          <comment>%s</comment>\n", rcomment > f
		printf "        </reason>\n" > f
	}
	printf "      </policy_evaluated>\n    </row>\n    <identifiers>\n" > f
	printf "      <envelope_from>%s</envelope_from>\n      <header_from>owner.test</header_from>\n", efrom > f
	printf "    </identifiers>\n    <auth_results>\n" > f
	if (dk != "") {
		split(dk, a, ":")
		printf "      <dkim>\n        <domain>%s</domain>\n        <selector>s1</selector>\n", a[1] > f
		printf "        <result>%s</result>\n      </dkim>\n", a[2] > f
	}
	split(sp, a, ":")
	printf "      <spf>\n        <domain>%s</domain>\n        <scope>mfrom</scope>\n", a[1] > f
	printf "        <result>%s</result>\n      </spf>\n", a[2] > f
	printf "    </auth_results>\n  </record>\n" > f
}

# fail - a failing record, as the reporter handles it under the day policy
function fail(f, ip, n, rtype, rcomment, dk, sp, efrom, q, rfc9990,   k) {
	if (!q) {
		rec(f, ip, n, "none", "fail", "fail", rtype, rcomment, dk, sp, efrom)
	} else if (rfc9990) {
		rec(f, ip, n, "none", "fail", "fail", rtype != "" ? rtype : "policy_test_mode", rcomment, dk, sp, efrom)
	} else {
		k = int(n * 5 / 100)
		rec(f, ip, k, "quarantine", "fail", "fail", rtype, rcomment, dk, sp, efrom)
		rec(f, ip, n - k, "none", "fail", "fail", rtype != "" ? rtype : "sampled_out", rcomment, dk, sp, efrom)
	}
}

BEGIN {
	nrep = split("google.com Outlook.com Yahoo", org, " ")
	split("noreply-dmarc-support@google.com dmarcreport@microsoft.com dmarc_support@yahoo.com", email, " ")
	share[1] = 5; share[2] = 3; share[3] = 2
	for (d = 0; d < days; d++) {
		b = start + d * 86400
		e = b + 86399
		q = d >= enforceday
		for (r = 1; r <= nrep; r++) {
			if (r == 3 && d % 7 == 6)
				continue
			rfc9990 = r == 2
			f = out "/" org[r] "!owner.test!" b "!" e ".xml"
			hdr(f, org[r], email[r], org[r] "-owner.test-" b, b, e, rfc9990, q)
			# split a daily count between the reporters, 5:3:2
			#   own MTAs
			rec(f, "192.0.2.10", part(600, r), "none", "pass", "pass", "", "", "owner.test:pass", "owner.test:pass", "owner.test")
			rec(f, "192.0.2.11", part(400, r), "none", "pass", "pass", "", "", "owner.test:pass", "owner.test:pass", "owner.test")
			#   marketing platform
			rec(f, "198.51.100.20", part(200, r), "none", "pass", "fail", "", "", "owner.test:pass", "bounce.marketing-platform.test:pass", "bounce.marketing-platform.test")
			rec(f, "198.51.100.21", part(100, r), "none", "pass", "fail", "", "", "owner.test:pass", "bounce.marketing-platform.test:pass", "bounce.marketing-platform.test")
			#   HR tool
			if (d < fixday)
				fail(f, "198.51.100.40", part(60, r), "", "", "hrcloud.test:pass", "hrcloud.test:pass", "hrcloud.test", q, rfc9990)
			else
				rec(f, "198.51.100.40", part(60, r), "none", "pass", "fail", "", "", "owner.test:pass", "hrcloud.test:pass", "hrcloud.test")
			#   mailing list
			fail(f, "198.51.100.60", part(40, r), rfc9990 ? "local_policy" : "", rfc9990 ? "arc=pass" : "", "owner.test:fail", "owner.test:fail", "owner.test", q, rfc9990)
			#   spoofers
			fail(f, "203.0.113.66", r == 1 ? 3 : 0, "", "", "", "owner.test:fail", "owner.test", q, rfc9990)
			fail(f, "203.0.113.77", r == 2 ? 2 : 0, "", "", "", "owner.test:softfail", "owner.test", q, rfc9990)
			fail(f, "203.0.113.200", part(200, r), "", "", "", "owner.test:fail", "owner.test", q, rfc9990)
			printf "</feedback>\n" > f
			close(f)
		}
	}
}

function part(n, r) {
	if (r == 1)
		return int(n * share[1] / 10)
	if (r == 2)
		return int(n * share[2] / 10)
	return n - int(n * share[1] / 10) - int(n * share[2] / 10)
}
'
