#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
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

STARTUP_RUNS="${BENCH_STARTUP_RUNS:-5}"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init healthz    # cd to the repo; DURATION (BENCH_DURATION), RUNS=3, THREADS=2, CONNECTIONS=64
RESULTS="$RESULTS_DIR/healthz.md"

# --- 1. tools, 2. build, 3. temp dir --------------------------------------------------------------
install_tools
build_release
make_tmp

# --- passlink ---
passlink_up    # PORT_PASSLINK
URL_PASSLINK="http://127.0.0.1:$PORT_PASSLINK/healthz"
body="$(curl -fsS "$URL_PASSLINK")"
log "passlink /healthz answered: $body"
idle_rss_kb="$(proc_kb "$PID_PASSLINK" VmRSS)"

# --- 4. nginx -----------------------------------------------------------------------------------
PORT_NGINX="$(free_port)"
URL_NGINX="http://127.0.0.1:$PORT_NGINX/healthz"
start_nginx "$(nginx_return_server "127.0.0.1:$PORT_NGINX" /healthz text/plain '"ok\n"')" "$URL_NGINX"

# --- 5. load ------------------------------------------------------------------------------------
declare -A RPS P50 P99 URL
URL=([passlink]="$URL_PASSLINK" [nginx]="$URL_NGINX")
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency URL"

run_wrk() {
    local name="$1" i="$2" e
    wrk_run "$name" "$i" "${URL[$name]}"
    for e in "${W_ERRORS[@]}"; do
        PROBLEMS+=("$name run $i: $e")
    done
    check_passlink_alive "$name"
}

alternate_runs run_wrk passlink nginx
# After the load: the server must still answer.
curl -fsS -o /dev/null --max-time 5 "$URL_PASSLINK" || PROBLEMS+=("passlink: /healthz failed after the load")
peak_rss_kb="$(proc_kb "$PID_PASSLINK" VmHWM)"
passlink_log_problems "$TMP/passlink.log"

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
mkdir -p "$RESULTS_DIR"
{
    echo "# passlink \`GET /healthz\` vs nginx fixed reply"
    echo
    server_table
    echo
    echo "- req/s of each run: passlink ${RPS[passlink]% }; nginx ${RPS[nginx]% }"
    echo "- passlink idle RSS (right after start, before load): $(fmt_mib "$idle_rss_kb")"
    echo "- passlink peak RSS (VmHWM after the load): $(fmt_mib "$peak_rss_kb")"
    echo "- passlink startup time (launch to first 200 from /healthz, fresh data dir; median of $STARTUP_RUNS): $(median "${startup_ms[@]}") ms (runs: ${startup_ms[*]} ms)"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- nproc: $(nproc)"
    echo "- wrk command: \`$WRK_CMD\` (runs alternate passlink, nginx, ...; wrk, passlink and nginx share the machine)"
    echo "- passlink: $("$PASSLINK" version 2>/dev/null || echo unknown), commit $COMMIT, config \`[log] level = \"warn\"\`, other settings default"
    echo "- nginx: $(nginx_version), \`worker_processes auto\`, \`access_log off\`, \`return 200 \"ok\\n\"\`"
    echo "- wrk: $(wrk_version)"
    problems_section
} >"$RESULTS"

echo
cat "$RESULTS"
