#!/usr/bin/env bash
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

DURATION="${BENCH_DURATION:-10s}"
RUNS=3
THREADS=2
CONNECTIONS=64
# Target from the issue.
TARGET_RATIO=0.30
TARGET_P99_US=5000
# Seed user: MD5 of the password "asdf".
EMAIL=bench@example.com
NAME=Bench
PASSWORD_MD5=912ec803b2ce49e4a541068d495ab570

cd "$(dirname "$0")/.."
REPO="$(pwd)"
RESULTS_DIR="$REPO/bench/results"
RESULTS="$RESULTS_DIR/xmlrpc.md"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'xmlrpc.sh: %s\n' "$*" >&2; exit 1; }

# --- 1. tools -----------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || die "nginx not found after install"
command -v cargo >/dev/null 2>&1 || die "cargo not found"

# --- 2. build -----------------------------------------------------------------------------------
log "cargo build --release --locked"
cargo build --release --locked
PASSLINK="$REPO/target/release/passlink"
[ -x "$PASSLINK" ] || die "$PASSLINK missing after build"

# --- 3. temp dir, cleanup -----------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/passlink-bench.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${PIDS[@]}"; do
        # Give each a few seconds for a clean shutdown, then force it.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port: bind port 0, read what the kernel chose, release it.
free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Wait up to 10 s for URL to answer 2xx; fail early if PID has died.
wait_ready() {
    local url="$1" pid="$2" name="$3" logfile="$4"
    for _ in $(seq 200); do
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$logfile" >&2 || true
            die "$name exited before answering $url"
        fi
        sleep 0.05
    done
    cat "$logfile" >&2 || true
    die "$name did not answer $url within 10 s"
}

write_passlink_config() {
    local file="$1" port="$2" data="$3"
    cat >"$file" <<EOF
[server]
listen = "127.0.0.1:$port"
[storage]
data_dir = "$data"
[log]
level = "warn"
EOF
}

# POST an XML-RPC call (body in $2) to URL $1; prints the reply, fails on non-2xx.
xmlrpc_post() {
    curl -fsS --max-time 5 -H 'Content-Type: text/xml' --data-binary "$2" "$1"
}

# PASSLINK_LOG would override the config's log level; --config overrides PASSLINK_CONFIG.
unset PASSLINK_LOG PASSLINK_CONFIG

# --- passlink ---
PORT_PASSLINK="$(free_port)"
write_passlink_config "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/data"
log "starting passlink on 127.0.0.1:$PORT_PASSLINK"
"$PASSLINK" serve --config "$TMP/passlink.toml" >"$TMP/passlink.log" 2>&1 &
PID_PASSLINK=$!
PIDS+=("$PID_PASSLINK")
wait_ready "http://127.0.0.1:$PORT_PASSLINK/healthz" "$PID_PASSLINK" passlink "$TMP/passlink.log"
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
seeded_rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$PID_PASSLINK/status")"

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
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
# Temp-path directives only for the modules this nginx build has, so that it never creates
# or uses /var/lib/nginx.
nginx_build="$("$NGINX" -V 2>&1)"
temp_paths="client_body_temp_path $TMP/nginx/tmp/client_body;"
for m in proxy fastcgi uwsgi scgi; do
    case "$nginx_build" in
        *"--without-http_${m}_module"*) ;;
        *) temp_paths="$temp_paths
    ${m}_temp_path $TMP/nginx/tmp/$m;" ;;
    esac
done
NGINX_REPLY='<?xml version="1.0"?><methodResponse><params><param><value><string>ok</string></value></param></params></methodResponse>'
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    $temp_paths

    server {
        listen 127.0.0.1:$PORT_NGINX;
        location = /RPC2 {
            default_type text/xml;
            return 200 '$NGINX_REPLY';
        }
    }
}
EOF
log "starting nginx on 127.0.0.1:$PORT_NGINX"
"$NGINX" -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
    >"$TMP/nginx/stdout.log" 2>&1 &
PID_NGINX=$!
PIDS+=("$PID_NGINX")
URL_NGINX="http://127.0.0.1:$PORT_NGINX/RPC2"
wait_ready "$URL_NGINX" "$PID_NGINX" nginx "$TMP/nginx/logs/error.log"
reply="$(xmlrpc_post "$URL_NGINX" "$CAPS_BODY")" || die "nginx refused the POST to /RPC2"
[ "$reply" = "$NGINX_REPLY" ] || { printf '%s\n' "$reply" >&2; die "unexpected nginx reply to the POST"; }
log "nginx answered the POST with its fixed reply"

# --- 6. load ------------------------------------------------------------------------------------
# Latency as wrk prints it ("412.00us", "1.23ms", "2.00s") to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000;
        else if (u == "m") f = 60000000; else { print "bad latency unit: " v > "/dev/stderr"; exit 1 }
        printf "%.1f\n", n * f }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {
    if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A RPS P50 P99
PROBLEMS=()
PASSLINK_ERRORS=0
BAD_REPLIES=0
CHECKED_REPLIES=0
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s post.lua URL"

run_wrk() {
    local name="$1" url="$2" i="$3" out
    out="$TMP/wrk-$name-$i.txt"
    log "wrk run $i/$RUNS: $name"
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --latency -s "$TMP/post.lua" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against $name"; }
    cat "$out"
    local rps p50 p99 line checked bad
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    checked="$(awk -F': ' '/^replies checked:/ {print $2}' "$out")"
    bad="$(awk -F': ' '/^replies without flError false:/ {print $2}' "$out")"
    if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ] || [ -z "$checked" ] || [ -z "$bad" ]; then
        die "could not parse wrk output for $name"
    fi
    RPS[$name]+="$rps "
    P50[$name]+="$(to_us "$p50") "
    P99[$name]+="$(to_us "$p99") "
    while IFS= read -r line; do
        PROBLEMS+=("$name run $i: ${line#"${line%%[![:space:]]*}"}")
        [ "$name" = passlink ] && PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1))
    done < <(grep -E 'Socket errors|Non-2xx' "$out" || true)
    # nginx's fixed reply has no flError: its count is every reply, and is not checked.
    if [ "$name" = passlink ]; then
        CHECKED_REPLIES=$((CHECKED_REPLIES + checked))
        BAD_REPLIES=$((BAD_REPLIES + bad))
        if [ "$bad" -ne 0 ]; then
            PROBLEMS+=("passlink run $i: $bad of $checked replies were not a 200 with flError false")
        fi
    fi
    if ! kill -0 "$PID_PASSLINK" 2>/dev/null; then
        cat "$TMP/passlink.log" >&2
        die "passlink died during the $name run"
    fi
}

for i in $(seq "$RUNS"); do
    run_wrk passlink "$URL_PASSLINK" "$i"
    run_wrk nginx "$URL_NGINX" "$i"
done
# After the load: the server must still answer the call with flError false.
reply="$(xmlrpc_post "$URL_PASSLINK" "$CAPS_BODY" 2>&1)" || true
case "$reply" in
    *"$FLERROR_OK"*) ;;
    *) PROBLEMS+=("passlink: getServerCapabilities did not answer flError false after the load")
       PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1)) ;;
esac
after_rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$PID_PASSLINK/status")"
peak_rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$PID_PASSLINK/status")"
# passlink prints its start banner at INFO whatever the level; anything at WARN or ERROR counts.
if grep -qE ' (WARN|ERROR) ' "$TMP/passlink.log"; then
    log "passlink logged warnings or errors during the run:"
    grep -E ' (WARN|ERROR) ' "$TMP/passlink.log" | tail -n 20 >&2
    PROBLEMS+=("passlink logged $(grep -cE ' (WARN|ERROR) ' "$TMP/passlink.log") WARN/ERROR line(s) during the run (last: $(grep -E ' (WARN|ERROR) ' "$TMP/passlink.log" | tail -n 1))")
fi

# --- 7. report ----------------------------------------------------------------------------------
fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }

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

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes in src/ or Cargo.*"
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
    echo "- passlink: $("$PASSLINK" version 2>/dev/null || echo unknown), commit $commit, config \`[log] level = \"warn\"\`, temp data_dir, other settings default"
    echo "- nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), \`worker_processes auto\`, \`access_log off\`, \`location = /RPC2 { default_type text/xml; return 200 '$NGINX_REPLY'; }\`"
    echo "- wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')"
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
