-- wrk script: POSTs BENCH_BODY (environment) as text/xml, with "Connection: BENCH_CONNECTION"
-- when that is set, to the URL given to wrk; the replies are checked by check.lua (BENCH_MARKERS,
-- BENCH_BAD_LABEL). bench/xmlrpc.sh and bench/tls.sh use it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
local connection = os.getenv("BENCH_CONNECTION") or ""
if connection ~= "" then
    wrk.headers["Connection"] = connection
end
wrk.body = assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")

dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "check.lua")
