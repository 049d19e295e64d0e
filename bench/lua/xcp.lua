-- wrk script for bench/xcp.sh: signed OPS requests, POSTed to / as text/xml with X-Username
-- BENCH_USERNAME and X-Signature. BENCH_REQUESTS (environment) is a Lua file returning {body,
-- signature} pairs (wrk's Lua has no MD5, so they are computed beforehand). Each thread builds
-- its requests once and cycles through them, thread k of BENCH_THREADS starting k/BENCH_THREADS
-- of the way through the list; the replies are checked by check.lua (BENCH_MARKERS).
local pairs_ = dofile(assert(os.getenv("BENCH_REQUESTS"), "BENCH_REQUESTS is not set"))
local username = assert(os.getenv("BENCH_USERNAME"), "BENCH_USERNAME is not set")
local nthreads = assert(tonumber(os.getenv("BENCH_THREADS")), "BENCH_THREADS is not set")

local reqs = {}
local i = 0

-- Runs in the main state (check.lua's setup), once per thread before it starts.
function thread_setup(thread, k)
    thread:set("offset", math.floor(k * #pairs_ / nthreads))
end

function init(args)
    for n, p in ipairs(pairs_) do
        reqs[n] = wrk.format("POST", "/", {
            ["Content-Type"] = "text/xml",
            ["X-Username"] = username,
            ["X-Signature"] = p[2],
        }, p[1])
    end
    i = offset or 0
end

function request()
    i = i % #reqs + 1
    return reqs[i]
end

dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "check.lua")
