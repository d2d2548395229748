-- faults.lua - an MTA that misbehaves (t/mta_faults.sh, t/cve.sh): drops
-- the connection in the middle of a message, aborts one, sends several on
-- one connection, or sends far more header or body than a real one would.
-- Postfix-style session (protocol 6, SMFIP_HDR_LEADSPC, SMFIP_NR_HDR).
--
-- Globals from the shell (miltertest -D): socket, outfile, client_ip,
-- mailfrom, from (the From value of message 1; "-" for none), and
-- optional:
--   stop      where message 1 ends: "header" (the connection is dropped
--             after its first header fields), "eoh", "body" (dropped after
--             one body chunk), "abort" (SMFIC_ABORT after EOH, then
--             message 2), "eom" (default) or "eom-drop" (EOM, then the
--             connection is dropped without QUIT, before the next MAIL)
--   from2     From of a message 2 on the same connection
--   fromfile  a file whose contents are the From value (for huge ones)
--   hdrfile   a file of extra header fields, one "Name: value" a line,
--             sent before From (after it with from_last=1)
--   pad_n, pad_size  that many X-Pad fields of that many bytes, before From
--   body_chunks  that many body chunks of 64,000 bytes (libmilter takes
--             packets of at most 65,535; default: one line of body)
--
-- miltertest itself crashes on a header value of 8 KB or more: larger
-- fields are sent by the raw client of t/mta_faults.sh.

local function check(cond, what)
	if not cond then error(what) end
end

local out = assert(io.open(outfile, "w"))

local function result(conn, tag)
	out:write(tag .. "reply=" .. string.char(mt.getreply(conn)) .. "\n")
	out:write(tag .. "ar_deleted=" .. (mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") and "yes" or "no") .. "\n")
	local ar = mt.getheader(conn, "Authentication-Results", 0)
	if ar ~= nil then out:write(tag .. "ar=" .. ar:gsub("%s+", " ") .. "\n") end
	out:flush()
end

local function headers_from_file(conn, file)
	local f = assert(io.open(file, "rb"))
	for line in f:lines() do
		local name, value = line:match("^([^:]+):(.*)$")
		if name then
			check(mt.header(conn, name, value) == nil, "header failed")
		end
	end
	f:close()
end

-- one message up to the point where it stops; true when it reached EOM
local function message(conn, fromval, mstop)
	check(mt.mailfrom(conn, "<" .. mailfrom .. ">") == nil, "mail failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "mail not continued")
	check(mt.rcptto(conn, "<rcpt@dest.test>") == nil, "rcpt failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "rcpt not continued")
	check(mt.header(conn, "Subject", " fault test") == nil, "header failed")
	if mstop == "header" then
		return false
	end
	if pad_n ~= nil then
		local pad = " " .. string.rep("p", tonumber(pad_size or "10"))
		for i = 1, tonumber(pad_n) do
			check(mt.header(conn, "X-Pad", pad) == nil, "pad header " .. i .. " failed")
		end
	end
	if hdrfile ~= nil and from_last ~= nil then
		headers_from_file(conn, hdrfile)
	end
	if fromval ~= "-" then
		check(mt.header(conn, "From", " " .. fromval) == nil, "From failed")
	end
	if hdrfile ~= nil and from_last == nil then
		headers_from_file(conn, hdrfile)
	end
	check(mt.eoh(conn) == nil, "eoh failed")
	if mstop == "eoh" then
		return false
	end
	if mstop == "abort" then
		check(mt.abort(conn) == nil, "abort failed")
		return false
	end
	if body_chunks ~= nil then
		local chunk = string.rep(string.rep("b", 62) .. "\r\n", 1000)
		for i = 1, tonumber(body_chunks) do
			check(mt.bodystring(conn, chunk) == nil, "body chunk " .. i .. " failed")
		end
	else
		check(mt.bodystring(conn, "Hello.\r\n") == nil, "body failed")
	end
	if mstop == "body" then
		return false
	end
	check(mt.eom(conn) == nil, "eom failed")
	return true
end

local conn = mt.connect(socket, 40, 0.25)
check(conn ~= nil, "cannot connect to " .. socket)
mt.set_timeout(120)
-- Debian's miltertest takes the protocol steps before the actions (message.lua).
check(mt.negotiate(conn, 6,
	SMFIP_HDR_LEADSPC + SMFIP_NR_HDR,
	SMFIF_ADDHDRS + SMFIF_CHGHDRS + SMFIF_QUARANTINE) == nil, "negotiation failed")
check(mt.conninfo(conn, "[" .. client_ip .. "]", client_ip) == nil, "conninfo failed")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect not continued")
check(mt.helo(conn, "client.example.net") == nil, "helo failed")

local fromval = from
if fromfile ~= nil then
	local f = assert(io.open(fromfile, "rb"))
	fromval = f:read("*a")
	f:close()
end
local mstop = stop or "eom"
if message(conn, fromval, mstop) then
	result(conn, "")
end
if mstop == "eom-drop" or (mstop ~= "eom" and mstop ~= "abort") then
	out:write("dropped=yes\n")
	out:close()
	mt.disconnect(conn, false)	-- abrupt: no SMFIC_QUIT
	return
end
if from2 ~= nil then
	hdrfile, pad_n, body_chunks, from_last = nil, nil, nil, nil
	check(message(conn, from2, "eom"), "message 2 did not reach EOM")
	result(conn, "2")
end
out:close()
mt.disconnect(conn)
