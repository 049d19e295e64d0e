#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Benchmark passlink's XML-RPC `xmlStorageSystem.getServerCapabilities` (one registered user,
# known credentials) against nginx returning a fixed XML-RPC reply, on the same machine in the
# same run, and write the result to bench/results/xmlrpc.md (also printed to stdout).
#
#   bench/xmlrpc.sh                         # 3 runs of 10 s per server
#   BENCH_DURATION=3s bench/xmlrpc.sh       # quick check
#
# It installs wrk and nginx-light (Debian packages) if they are missing, builds passlink with
# `cargo build --release --locked`, and starts both servers on free loopback ports inside a
# temporary directory that is removed on exit. Nothing outside that directory is touched
# (nginx gets its own config, pid file, logs and temp paths there), except the report.
#
# What is measured:
#   - One user is registered with xmlStorageSystem.registerUser (password "asdf", MD5 below);
#     one getServerCapabilities call with its usernum must answer flError false before any load.
#   - wrk -t2 -c64 --latency with a Lua script that POSTs that getServerCapabilities call to
#     /RPC2 as text/xml, against each server, alternating passlink, nginx, passlink, ... (3 runs
#     each); the report gives the median of the 3 runs for req/s, p50 and p99.
#   - The same Lua script runs against both servers. It counts the replies that are not a 200
#     containing `<name>flError</name><value><boolean>0</boolean>`; that count is only meaningful
#     for passlink (nginx's fixed reply has no flError) and must be 0 there.
#   - passlink's resident memory: VmRSS after seeding (before load), VmRSS after all its wrk runs
#     and VmHWM (peak).
#   - The target: getServerCapabilities at least 30% of nginx's req/s with p99 under 5 ms
#     (medians), with no bad replies, non-2xx or socket errors from passlink.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init xmlrpc     # cd to the repo; DURATION (BENCH_DURATION), RUNS=3, THREADS=2, CONNECTIONS=64
RESULTS="$RESULTS_DIR/xmlrpc.md"
# Target from the issue.
TARGET_RATIO=0.30
TARGET_P99_US=5000
# Seed user: MD5 of the password "asdf".
EMAIL=bench@example.com
NAME=Bench
PASSWORD_MD5=912ec803b2ce49e4a541068d495ab570

# --- 1. tools, 2. build, 3. temp dir --------------------------------------------------------------
install_tools
build_release
make_tmp

# POST an XML-RPC call (body in $2) to URL $1; prints the reply, fails on non-2xx.
xmlrpc_post() {
    curl -fsS --max-time 5 -H 'Content-Type: text/xml' --data-binary "$2" "$1"
}

# --- passlink ---
PORT_PASSLINK="$(free_port)"
write_passlink_config "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/data"
start_passlink "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/passlink.log"
URL_PASSLINK="http://127.0.0.1:$PORT_PASSLINK/RPC2"

# --- 4. seed: one user, then one checked getServerCapabilities call ----------------------------
REGISTER_BODY="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.registerUser</methodName><params><param><value>$EMAIL</value></param><param><value>$NAME</value></param><param><value>$PASSWORD_MD5</value></param><param><value><int>5335</int></value></param><param><value>bench</value></param></params></methodCall>"
log "registerUser $EMAIL"
reply="$(xmlrpc_post "$URL_PASSLINK" "$REGISTER_BODY")" ||
    { cat "$TMP/passlink.log" >&2; die "registerUser request failed"; }
USERNUM="$(printf '%s\n' "$reply" |
    sed -n 's/.*<name>usernum<\/name><value><string>\([0-9]\{7\}\)<\/string>.*/\1/p' | head -n 1)"
[ -n "$USERNUM" ] || { printf '%s\n' "$reply" >&2; die "no usernum in the registerUser reply"; }
log "registered usernum $USERNUM"

CAPS_BODY="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities</methodName><params><param><value>$USERNUM</value></param><param><value>$PASSWORD_MD5</value></param></params></methodCall>"
FLERROR_OK='<name>flError</name><value><boolean>0</boolean>'
reply="$(xmlrpc_post "$URL_PASSLINK" "$CAPS_BODY")" ||
    { cat "$TMP/passlink.log" >&2; die "getServerCapabilities request failed"; }
case "$reply" in
    *"$FLERROR_OK"*) log "getServerCapabilities accepted the credentials (flError false)" ;;
    *) printf '%s\n' "$reply" >&2; die "getServerCapabilities did not answer flError false" ;;
esac
seeded_rss_kb="$(proc_kb "$PID_PASSLINK" VmRSS)"

# wrk script: POST the call; count replies that are not a 200 with flError false. Each wrk
# thread has its own Lua state, so done() (main state) sums the threads' counters.
cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = [==[$CAPS_BODY]==]

local ok_marker = [==[$FLERROR_OK]==]
checked = 0
bad = 0

function response(status, headers, body)
    checked = checked + 1
    if status ~= 200 or not string.find(body, ok_marker, 1, true) then
        bad = bad + 1
    end
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local c, b = 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("checked")
        b = b + t:get("bad")
    end
    io.write(string.format("replies checked: %d\n", c))
    io.write(string.format("replies without flError false: %d\n", b))
end
EOF

# --- 5. nginx -----------------------------------------------------------------------------------
PORT_NGINX="$(free_port)"
NGINX_REPLY='<?xml version="1.0"?><methodResponse><params><param><value><string>ok</string></value></param></params></methodResponse>'
URL_NGINX="http://127.0.0.1:$PORT_NGINX/RPC2"
start_nginx "    server {
        listen 127.0.0.1:$PORT_NGINX;
        location = /RPC2 {
            default_type text/xml;
            return 200 '$NGINX_REPLY';
        }
    }" "$URL_NGINX"
reply="$(xmlrpc_post "$URL_NGINX" "$CAPS_BODY")" || die "nginx refused the POST to /RPC2"
[ "$reply" = "$NGINX_REPLY" ] || { printf '%s\n' "$reply" >&2; die "unexpected nginx reply to the POST"; }
log "nginx answered the POST with its fixed reply"

# --- 6. load ------------------------------------------------------------------------------------
declare -A RPS P50 P99 URL
URL=([passlink]="$URL_PASSLINK" [nginx]="$URL_NGINX")
PASSLINK_ERRORS=0
BAD_REPLIES=0
CHECKED_REPLIES=0
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s post.lua URL"
BAD_LABEL="replies without flError false"

run_wrk() {
    local name="$1" i="$2" e
    log "wrk run $i/$RUNS: $name"
    run_wrk_to "$TMP/wrk-$name-$i.txt" "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --latency \
        -s "$TMP/post.lua" "${URL[$name]}"
    if [ -z "$W_CHECKED" ] || [ -z "$W_BAD" ]; then
        die "could not parse wrk output for $name"
    fi
    RPS[$name]+="$W_RPS "
    P50[$name]+="$W_P50 "
    P99[$name]+="$W_P99 "
    for e in "${W_ERRORS[@]}"; do
        PROBLEMS+=("$name run $i: $e")
        [ "$name" = passlink ] && PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1))
    done
    # nginx's fixed reply has no flError: its count is every reply, and is not checked.
    if [ "$name" = passlink ]; then
        CHECKED_REPLIES=$((CHECKED_REPLIES + W_CHECKED))
        BAD_REPLIES=$((BAD_REPLIES + W_BAD))
        if [ "$W_BAD" -ne 0 ]; then
            PROBLEMS+=("passlink run $i: $W_BAD of $W_CHECKED replies were not a 200 with flError false")
        fi
    fi
    check_passlink_alive "$name"
}

alternate_runs run_wrk passlink nginx
# After the load: the server must still answer the call with flError false.
reply="$(xmlrpc_post "$URL_PASSLINK" "$CAPS_BODY" 2>&1)" || true
case "$reply" in
    *"$FLERROR_OK"*) ;;
    *) PROBLEMS+=("passlink: getServerCapabilities did not answer flError false after the load")
       PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1)) ;;
esac
after_rss_kb="$(proc_kb "$PID_PASSLINK" VmRSS)"
peak_rss_kb="$(proc_kb "$PID_PASSLINK" VmHWM)"
passlink_log_problems "$TMP/passlink.log"

# --- 7. report ----------------------------------------------------------------------------------
# The RPS/P50/P99 entries hold space-separated numbers, split on purpose where used.
# shellcheck disable=SC2086
med_rps_nginx="$(median ${RPS[nginx]})"
# shellcheck disable=SC2086
med_rps_passlink="$(median ${RPS[passlink]})"
# shellcheck disable=SC2086
med_p99_passlink="$(median ${P99[passlink]})"
ratio_passlink="$(awk -v a="$med_rps_passlink" -v b="$med_rps_nginx" 'BEGIN { printf "%.2f", a / b }')"
ratio_ok="$(awk -v a="$med_rps_passlink" -v b="$med_rps_nginx" -v t="$TARGET_RATIO" 'BEGIN { print (a / b >= t) ? "yes" : "no" }')"
p99_ok="$(awk -v p="$med_p99_passlink" -v t="$TARGET_P99_US" 'BEGIN { print (p < t) ? "yes" : "no" }')"
clean="yes"
if [ "$BAD_REPLIES" -ne 0 ] || [ "$PASSLINK_ERRORS" -ne 0 ]; then
    clean="no"
fi
if [ "$ratio_ok" = yes ] && [ "$p99_ok" = yes ] && [ "$clean" = yes ]; then
    verdict="MET"
else
    verdict="NOT MET"
fi

mkdir -p "$RESULTS_DIR"
{
    echo "# passlink XML-RPC \`xmlStorageSystem.getServerCapabilities\` vs nginx fixed reply"
    echo
    echo "| server | req/s (median of $RUNS) | p50 | p99 | ratio to nginx |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for name in passlink nginx; do
        # shellcheck disable=SC2086
        rps="$(median ${RPS[$name]})"
        # shellcheck disable=SC2086
        p50="$(median ${P50[$name]})"
        # shellcheck disable=SC2086
        p99="$(median ${P99[$name]})"
        ratio="$(awk -v a="$rps" -v b="$med_rps_nginx" 'BEGIN { printf "%.2f", a / b }')"
        printf '| %s | %.0f | %s | %s | %s |\n' "$name" "$rps" "$(fmt_ms "$p50")" "$(fmt_ms "$p99")" "$ratio"
    done
    echo
    echo "Target (from the issue): XML-RPC getServerCapabilities at least 30% of nginx's req/s with p99 under 5 ms."
    echo
    echo "**$verdict**: passlink at $ratio_passlink of nginx's req/s (needs >= $TARGET_RATIO: $ratio_ok), p99 $(fmt_ms "$med_p99_passlink") (needs < $(fmt_ms "$TARGET_P99_US"): $p99_ok), replies all 200 with flError false and no socket errors: $clean (medians of $RUNS runs)"
    echo
    echo "- req/s of each run: passlink ${RPS[passlink]% }; nginx ${RPS[nginx]% }"
    echo "- p99 of each run (us): passlink ${P99[passlink]% }; nginx ${P99[nginx]% }"
    echo "- passlink replies checked by the wrk script: $CHECKED_REPLIES, of which not a 200 with \`<name>flError</name><value><boolean>0</boolean>\`: $BAD_REPLIES (nginx's fixed reply has no flError; not checked)"
    echo "- passlink RSS after seeding (before load): $(fmt_mib "$seeded_rss_kb"); after the load: $(fmt_mib "$after_rss_kb"); peak (VmHWM): $(fmt_mib "$peak_rss_kb")"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- nproc: $(nproc)"
    echo "- passlink: $("$PASSLINK" version 2>/dev/null || echo unknown), commit $COMMIT, config \`[log] level = \"warn\"\`, temp data_dir, other settings default"
    echo "- nginx: $(nginx_version), \`worker_processes auto\`, \`access_log off\`, \`location = /RPC2 { default_type text/xml; return 200 '$NGINX_REPLY'; }\`"
    echo "- wrk: $(wrk_version)"
    echo
    echo "Commands (wrk, passlink and nginx share the machine; runs alternate passlink, nginx, ...):"
    echo
    echo '```sh'
    echo "# seed (usernum $USERNUM from the reply), then one checked call before the load"
    echo "curl -fsS -H 'Content-Type: text/xml' --data-binary '$REGISTER_BODY' http://127.0.0.1:PORT/RPC2"
    echo "curl -fsS -H 'Content-Type: text/xml' --data-binary '$CAPS_BODY' http://127.0.0.1:PORT/RPC2"
    echo "# load, $RUNS times per server"
    echo "$WRK_CMD   # URL = http://127.0.0.1:PORT/RPC2 (passlink, then nginx)"
    echo '```'
    echo
    echo "post.lua:"
    echo
    echo '```lua'
    cat "$TMP/post.lua"
    echo '```'
    if [ "${#PROBLEMS[@]}" -gt 0 ]; then
        echo
        echo "Problems seen:"
        echo
        for p in "${PROBLEMS[@]}"; do
            echo "- $p"
        done
    fi
} >"$RESULTS"

echo
cat "$RESULTS"
if [ "$BAD_REPLIES" -ne 0 ]; then
    die "$BAD_REPLIES passlink replies were not a 200 with flError false (see $RESULTS)"
fi
