-- many.lua - a stream of messages, each from its own author domain, so that
-- every message makes the milter look up names nobody asked for before
-- (t/dns_faults.sh fills the DNS cache with it).  One message per
-- connection, the way Postfix talks to a milter (protocol 6, leading
-- spaces kept, no reply per header).
--
-- Globals from the shell (miltertest -D): socket, first, count (message
-- numbers first .. first+count-1), domain (a format with one %d, e.g.
-- "d%d.many.test"), client_ip, outfile.  outfile gets one line per reply
-- kind: "a N" (accepted), "y N" (a reply code), ..., and "pass N" for the
-- messages whose Authentication-Results say dmarc=pass.

local function check(cond, what)
	if not cond then error(what) end
end

local replies, pass = {}, 0
first, count = tonumber(first), tonumber(count)
for i = first, first + count - 1 do
	local dom = string.format(domain, i)
	local conn = mt.connect(socket, 40, 0.25)
	check(conn ~= nil, "cannot connect to " .. socket)
	mt.set_timeout(60)
	check(mt.negotiate(conn, 6, SMFIP_HDR_LEADSPC + SMFIP_NR_HDR,
		SMFIF_ADDHDRS + SMFIF_CHGHDRS + SMFIF_QUARANTINE) == nil, "negotiation failed")
	check(mt.conninfo(conn, "[" .. client_ip .. "]", client_ip) == nil, "conninfo failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "connect not continued")
	check(mt.helo(conn, "client.example.net") == nil, "helo failed")
	check(mt.mailfrom(conn, "<user@" .. dom .. ">") == nil, "mail failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "mail not continued")
	check(mt.rcptto(conn, "<rcpt@dest.test>") == nil, "rcpt failed")
	check(mt.header(conn, "From", " User <user@" .. dom .. ">") == nil, "header failed")
	check(mt.header(conn, "To", " rcpt@dest.test") == nil, "header failed")
	check(mt.header(conn, "Subject", " message " .. i) == nil, "header failed")
	check(mt.header(conn, "Message-ID", " <" .. i .. "@many.test>") == nil, "header failed")
	check(mt.eoh(conn) == nil, "eoh failed")
	check(mt.bodystring(conn, "Hello.\r\n") == nil, "body failed")
	check(mt.eom(conn) == nil, "eom failed")
	local r = string.char(mt.getreply(conn))
	replies[r] = (replies[r] or 0) + 1
	local ar = mt.getheader(conn, "Authentication-Results", 0)
	if ar ~= nil and ar:find("dmarc=pass", 1, true) then pass = pass + 1 end
	mt.disconnect(conn)
end

local out = assert(io.open(outfile, "w"))
for r, n in pairs(replies) do out:write(r .. " " .. n .. "\n") end
out:write("pass " .. pass .. "\n")
out:close()
