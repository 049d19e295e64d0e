-- The reply check of the bench/lua wrk scripts, which load it last with dofile: counts the
-- replies that are not a 200 containing every marker of BENCH_MARKERS (environment, one marker
-- a line). Each wrk thread has its own Lua state, so done() (main state) sums the threads'
-- counters and prints "replies checked: N" and "LABEL: N", LABEL being BENCH_BAD_LABEL or "bad
-- replies" (what bench/lib.sh's parse_wrk reads). A script that gives each thread a value of its
-- own defines thread_setup(thread, k), called for the k-th thread (from 0) before it starts.
local markers = {}
for m in string.gmatch(os.getenv("BENCH_MARKERS") or "", "[^\n]+") do
    table.insert(markers, m)
end
assert(#markers > 0, "BENCH_MARKERS is not set")
local bad_label = os.getenv("BENCH_BAD_LABEL") or "bad replies"

checked = 0
bad = 0

function response(status, headers, body)
    checked = checked + 1
    local ok = status == 200
    for _, m in ipairs(markers) do
        ok = ok and string.find(body, m, 1, true) ~= nil
    end
    if not ok then
        bad = bad + 1
    end
end

local threads = {}

function setup(thread)
    if thread_setup then
        thread_setup(thread, #threads)
    end
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local c, b = 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("checked")
        b = b + t:get("bad")
    end
    io.write(string.format("replies checked: %d\n", c))
    io.write(string.format("%s: %d\n", bad_label, b))
end
