-- accept.lua - a whole SMTP transaction, twice on one connection; every
-- message must be accepted.  Globals from the shell: socket.

local function check(cond, what)
	if not cond then error(what) end
end

local conn = mt.connect(socket, 40, 0.25)
check(conn ~= nil, "cannot connect to " .. socket)

check(mt.conninfo(conn, "client.example.net", "192.0.2.99") == nil, "conninfo failed")
check(mt.getreply(conn) == SMFIR_CONTINUE, "connect not continued")
check(mt.helo(conn, "client.example.net") == nil, "helo failed")
check(mt.getreply(conn) == SMFIR_CONTINUE, "helo not continued")

for i = 1, 2 do
	check(mt.mailfrom(conn, "<user@example.com>") == nil, "mail failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "mail not continued")
	check(mt.rcptto(conn, "<rcpt@dest.test>") == nil, "rcpt failed")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "rcpt not continued")
	check(mt.header(conn, "From", "User <user@example.com>") == nil, "header failed")
	check(mt.header(conn, "Subject", "message " .. i) == nil, "header failed")
	check(mt.eoh(conn) == nil, "eoh failed")
	check(mt.bodystring(conn, "Hello.\r\n") == nil, "body failed")
	check(mt.eom(conn) == nil, "eom failed")
	check(mt.getreply(conn) == SMFIR_ACCEPT, "message " .. i .. " not accepted")
	mt.echo("message " .. i .. " accepted")
end

mt.disconnect(conn)
