-- message.lua - play one message file through the milter the way Postfix
-- does (protocol 6, header values with their leading space, no reply per
-- header), and write what the milter did to outfile.
--
-- Globals from the shell (miltertest -D): socket, msgfile, outfile,
-- client_ip, client_host, helo, mailfrom, rcpt; optional expect_reply, and
-- auth (the SMTP AUTH login, sent as the {auth_authen} macro).

local function check(cond, what)
	if not cond then error(what) end
end

local f = assert(io.open(msgfile, "rb"))
local data = f:read("*a")
f:close()
data = data:gsub("\r\n", "\n")
local head, body = data:match("^(.-)\n\n(.*)$")
if head == nil then head, body = data, "" end

-- Header fields as a milter sees them with SMFIP_HDR_LEADSPC: the value
-- keeps its leading white space; folded lines are joined by "\n".
local fields = {}
for line in (head .. "\n"):gmatch("(.-)\n") do
	if line:match("^[ \t]") and #fields > 0 then
		fields[#fields].value = fields[#fields].value .. "\n" .. line
	else
		local name, value = line:match("^([^:]+):(.*)$")
		if name then
			name = name:gsub("[ \t]+$", "")
			table.insert(fields, { name = name, value = value })
		end
	end
end

local conn = mt.connect(socket, 40, 0.25)
check(conn ~= nil, "cannot connect to " .. socket)
mt.set_timeout(60)
-- Debian's miltertest takes the protocol steps before the actions, the
-- other way round from its manual page (seen in what the filter is offered).
check(mt.negotiate(conn, 6,
	SMFIP_HDR_LEADSPC + SMFIP_NR_HDR,
	SMFIF_ADDHDRS + SMFIF_CHGHDRS + SMFIF_QUARANTINE) == nil, "negotiation failed")
check(mt.conninfo(conn, client_host, client_ip) == nil, "conninfo failed")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect not continued")
check(mt.helo(conn, helo) == nil, "helo failed")
if auth ~= nil then
	check(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", auth) == nil, "macro failed")
end
check(mt.mailfrom(conn, "<" .. mailfrom .. ">") == nil, "mail failed")
if mt.getreply(conn) == SMFIR_ACCEPT then
	-- accepted unchecked at MAIL (IgnoreMailFrom, AUTH): an MTA sends no more
	local out = assert(io.open(outfile, "w"))
	out:write("reply=a\nstage=mail\nquarantine=no\n")
	out:close()
	mt.disconnect(conn)
	return
end
check(mt.rcptto(conn, "<" .. rcpt .. ">") == nil, "rcpt failed")
for _, h in ipairs(fields) do
	check(mt.header(conn, h.name, h.value) == nil, "header failed")
end
check(mt.eoh(conn) == nil, "eoh failed")
body = body:gsub("\n", "\r\n")
if #body > 0 then
	check(mt.bodystring(conn, body) == nil, "body failed")
end
check(mt.eom(conn) == nil, "eom failed")

local out = assert(io.open(outfile, "w"))
out:write("reply=" .. string.char(mt.getreply(conn)) .. "\n")
-- miltertest compares a reply as a whole (code, enhanced code and text):
-- with expect_reply = "550|5.7.1|text" the exact reply is checked.
if expect_reply ~= nil then
	local code, esc, text = expect_reply:match("^([^|]*)|([^|]*)|(.*)$")
	out:write("reply_match=" .. (mt.eom_check(conn, MT_SMTPREPLY, code, esc, text) and "yes" or "no") .. "\n")
end
out:write("quarantine=" .. (mt.eom_check(conn, MT_QUARANTINE) and "yes" or "no") .. "\n")
out:write("ar_deleted=" .. (mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") and "yes" or "no") .. "\n")
local ar = mt.getheader(conn, "Authentication-Results", 0)
if ar ~= nil then out:write("ar=" .. ar:gsub("%s+", " ") .. "\n") end
out:close()
mt.disconnect(conn)
