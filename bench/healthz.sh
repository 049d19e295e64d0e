#!/usr/bin/env bash
# Benchmark passlink's `GET /healthz` against nginx returning a fixed reply, on the same machine
# in the same run, and write the result to bench/results/healthz.md (also printed to stdout).
#
#   bench/healthz.sh                        # 3 runs of 10 s per server
#   BENCH_DURATION=2s bench/healthz.sh      # quick check
#
# It installs wrk and nginx-light (Debian packages) if they are missing, builds passlink with
# `cargo build --release --locked`, and starts both servers on free loopback ports inside a
# temporary directory that is removed on exit. Nothing outside that directory is touched
# (nginx gets its own config, pid file, logs and temp paths there), except the report.
#
# What is measured:
#   - wrk -t2 -c64 --latency against each server, alternating passlink, nginx, passlink, ...
#     (3 runs each); the report gives the median of the 3 runs for req/s, p50 and p99.
#   - passlink's resident memory: VmRSS right after start (before any load) and VmHWM (peak)
#     after all its wrk runs.
#   - passlink's startup time: from launching a fresh process (fresh data dir, so it creates and
#     migrates its database) to the first 200 from /healthz, polled every 5 ms; median of
#     BENCH_STARTUP_RUNS launches (default 5).
set -euo pipefail

DURATION="${BENCH_DURATION:-10s}"
RUNS=3
STARTUP_RUNS="${BENCH_STARTUP_RUNS:-5}"
THREADS=2
CONNECTIONS=64

cd "$(dirname "$0")/.."
REPO="$(pwd)"
RESULTS_DIR="$REPO/bench/results"
RESULTS="$RESULTS_DIR/healthz.md"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'healthz.sh: %s\n' "$*" >&2; exit 1; }

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

# PASSLINK_LOG would override the config's log level; --config overrides PASSLINK_CONFIG.
unset PASSLINK_LOG PASSLINK_CONFIG

# --- passlink ---
PORT_PASSLINK="$(free_port)"
write_passlink_config "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/data"
log "starting passlink on 127.0.0.1:$PORT_PASSLINK"
"$PASSLINK" serve --config "$TMP/passlink.toml" >"$TMP/passlink.log" 2>&1 &
PID_PASSLINK=$!
PIDS+=("$PID_PASSLINK")
URL_PASSLINK="http://127.0.0.1:$PORT_PASSLINK/healthz"
wait_ready "$URL_PASSLINK" "$PID_PASSLINK" passlink "$TMP/passlink.log"
body="$(curl -fsS "$URL_PASSLINK")"
log "passlink /healthz answered: $body"
idle_rss_kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$PID_PASSLINK/status")"

# --- 4. nginx -----------------------------------------------------------------------------------
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
        location = /healthz {
            default_type text/plain;
            return 200 "ok\n";
        }
    }
}
EOF
log "starting nginx on 127.0.0.1:$PORT_NGINX"
"$NGINX" -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
    >"$TMP/nginx/stdout.log" 2>&1 &
PID_NGINX=$!
PIDS+=("$PID_NGINX")
URL_NGINX="http://127.0.0.1:$PORT_NGINX/healthz"
wait_ready "$URL_NGINX" "$PID_NGINX" nginx "$TMP/nginx/logs/error.log"

# --- 5. load ------------------------------------------------------------------------------------
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
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency URL"

run_wrk() {
    local name="$1" url="$2" i="$3" out
    out="$TMP/wrk-$name-$i.txt"
    log "wrk run $i/$RUNS: $name"
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --latency "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against $name"; }
    cat "$out"
    local rps p50 p99 line
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
        die "could not parse wrk output for $name"
    fi
    RPS[$name]+="$rps "
    P50[$name]+="$(to_us "$p50") "
    P99[$name]+="$(to_us "$p99") "
    while IFS= read -r line; do
        PROBLEMS+=("$name run $i: ${line#"${line%%[![:space:]]*}"}")
    done < <(grep -E 'Socket errors|Non-2xx' "$out" || true)
    if ! kill -0 "$PID_PASSLINK" 2>/dev/null; then
        cat "$TMP/passlink.log" >&2
        die "passlink died during the $name run"
    fi
}

for i in $(seq "$RUNS"); do
    run_wrk passlink "$URL_PASSLINK" "$i"
    run_wrk nginx "$URL_NGINX" "$i"
done
# After the load: the server must still answer.
curl -fsS -o /dev/null --max-time 5 "$URL_PASSLINK" || PROBLEMS+=("passlink: /healthz failed after the load")
peak_rss_kb="$(awk '/^VmHWM:/ {print $2}' "/proc/$PID_PASSLINK/status")"
# passlink prints its start banner at INFO whatever the level; anything at WARN or ERROR counts.
if grep -qE ' (WARN|ERROR) ' "$TMP/passlink.log"; then
    log "passlink logged warnings or errors during the run:"
    grep -E ' (WARN|ERROR) ' "$TMP/passlink.log" | tail -n 20 >&2
    PROBLEMS+=("passlink logged $(grep -cE ' (WARN|ERROR) ' "$TMP/passlink.log") WARN/ERROR line(s) during the run (last: $(grep -E ' (WARN|ERROR) ' "$TMP/passlink.log" | tail -n 1))")
fi

# --- 6. startup time ----------------------------------------------------------------------------
log "startup time: $STARTUP_RUNS fresh launches"
startup_ms=()
for i in $(seq "$STARTUP_RUNS"); do
    port="$(free_port)"
    write_passlink_config "$TMP/startup-$i.toml" "$port" "$TMP/startup-data-$i"
    ms="$(python3 - "$PASSLINK" "$TMP/startup-$i.toml" "$port" "$TMP/startup-$i.log" <<'PY'
import socket, subprocess, sys, time

binary, config, port, logfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

def healthy():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(request)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False

with open(logfile, "wb") as log:
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log)
    try:
        while True:
            if healthy():
                elapsed = time.perf_counter() - start
                break
            if proc.poll() is not None:
                sys.exit("passlink exited with status %s before answering" % proc.returncode)
            if time.perf_counter() - start > 10:
                sys.exit("passlink did not answer within 10 s")
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
print("%.1f" % (elapsed * 1000))
PY
)" || { cat "$TMP/startup-$i.log" >&2; die "startup measurement failed"; }
    startup_ms+=("$ms")
done

# --- 7. report ----------------------------------------------------------------------------------
fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }

# The RPS/P50/P99 entries hold space-separated numbers, split on purpose where used.
# shellcheck disable=SC2086
med_rps_nginx="$(median ${RPS[nginx]})"

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes in src/ or Cargo.*"
fi

mkdir -p "$RESULTS_DIR"
{
    echo "# passlink \`GET /healthz\` vs nginx fixed reply"
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
    echo "- req/s of each run: passlink ${RPS[passlink]% }; nginx ${RPS[nginx]% }"
    echo "- passlink idle RSS (right after start, before load): $(fmt_mib "$idle_rss_kb")"
    echo "- passlink peak RSS (VmHWM after the load): $(fmt_mib "$peak_rss_kb")"
    echo "- passlink startup time (launch to first 200 from /healthz, fresh data dir; median of $STARTUP_RUNS): $(median "${startup_ms[@]}") ms (runs: ${startup_ms[*]} ms)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- nproc: $(nproc)"
    echo "- wrk command: \`$WRK_CMD\` (runs alternate passlink, nginx, ...; wrk, passlink and nginx share the machine)"
    echo "- passlink: $("$PASSLINK" version 2>/dev/null || echo unknown), commit $commit, config \`[log] level = \"warn\"\`, other settings default"
    echo "- nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), \`worker_processes auto\`, \`access_log off\`, \`return 200 \"ok\\n\"\`"
    echo "- wrk: $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')"
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
