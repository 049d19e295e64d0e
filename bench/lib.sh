# shellcheck shell=bash
# Variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
# The parts the bench/*.sh scripts share. A script sources it after `set -euo pipefail` and
# calls bench_init first:
#
#   set -euo pipefail
#   # shellcheck source=lib.sh
#   . "$(dirname "$0")/lib.sh"
#   bench_init NAME           # cd to the repo; DURATION, RUNS, THREADS, CONNECTIONS; log/die
#   install_tools             # wrk, nginx-light, curl, python3 with apt-get when missing; NGINX
#   build_release             # cargo build --release --locked; PASSLINK, COMMIT, SRC_DIRTY
#   make_tmp                  # TMP (removed on exit) and PIDS (stopped on exit)
#   write_passlink_config FILE PORT DATA_DIR [EXTRA_TOML]
#   start_passlink CONFIG PORT LOGFILE        # PID_PASSLINK, once /healthz answers
#   passlink_up                               # the above, plain config, on a free port: PORT_PASSLINK
#   xmlrpc_post URL BODY; xmlrpc_register URL WHAT   # USERNUM, CAPS_BODY for EMAIL/PASSWORD_MD5
#   reseller_add CONFIG NAME; domain_import CONFIG CSV N    # KEY; IMPORT_SECS
#   start_nginx SERVER_BLOCKS READY_URL       # PID_NGINX, its config/pid/logs/temp in $TMP/nginx
#   nginx_fixed_reply FILE OUT CONTENT_TYPE; nginx_reply_server LISTEN MATCH CONF [DIRECTIVE...]
#   nginx_return_server LISTEN PATH TYPE TEXT # a `server` block answering `return 200 TEXT`
#   run_wrk_to OUT WRK_ARGS...                # run wrk, print its output, parse_wrk it (W_*)
#   wrk_run KEY I URL [WRK_ARGS...]           # run_wrk_to with the shared settings; RPS/P50/P99
#   alternate_runs CALLBACK NAME...           # CALLBACK NAME i, RUNS times, names alternating
#   server_table; passlink_medians; problems_section   # the reports' shared parts
#   median, to_us, fmt_ms, fmt_mib, proc_kb PID FIELD, passlink_log_problems LOGFILE
#
# The wrk scripts are in bench/lua/ (post.lua, xcp.lua, and check.lua, which both load),
# parametrised by environment variables.
#
# Nothing here touches anything outside the temporary directory, except apt-get when a tool is
# missing and cargo's target/ directory.

# --- setup ----------------------------------------------------------------------------------------

log() { printf '==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${BENCH_NAME:-bench}.sh" "$*" >&2; exit 1; }

# bench_init NAME: the name used in error messages; cd to the repository; the wrk settings the
# scripts share (BENCH_DURATION overrides the duration); the results directory.
bench_init() {
    BENCH_NAME="$1"
    DURATION="${BENCH_DURATION:-10s}"
    RUNS=3
    THREADS=2
    CONNECTIONS=64
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
    REPO="$(pwd)"
    # BENCH_RESULTS_DIR: somewhere else for trial runs, so the committed table stays.
    RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO/bench/results}"
    PROBLEMS=()
    # PASSLINK_LOG would override the config's log level; --config overrides PASSLINK_CONFIG.
    unset PASSLINK_LOG PASSLINK_CONFIG
}

# --- 1. tools -------------------------------------------------------------------------------------
install_tools() {
    local missing=()
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
}

# --- 2. build -------------------------------------------------------------------------------------
# The files the binary is built from; uncommitted changes in them are named in the reports.
SOURCE_PATHS=(src Cargo.toml Cargo.lock schema.sql)

build_release() {
    # The tree the binary is built from (others may commit or edit while the benchmark runs):
    # looked at before and after the build, dirty if either look saw changes.
    local before after
    before="$(git status --porcelain -- "${SOURCE_PATHS[@]}" 2>/dev/null || true)"
    log "cargo build --release --locked"
    cargo build --release --locked
    PASSLINK="$REPO/target/release/passlink"
    [ -x "$PASSLINK" ] || die "$PASSLINK missing after build"
    after="$(git status --porcelain -- "${SOURCE_PATHS[@]}" 2>/dev/null || true)"
    COMMIT_SHORT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    COMMIT="$COMMIT_SHORT"
    SRC_CHANGES="$(printf '%s\n%s\n' "$before" "$after" | awk 'NF {print $NF}' | sort -u | tr '\n' ' ')"
    SRC_CHANGES="${SRC_CHANGES% }"
    if [ -n "$SRC_CHANGES" ]; then
        SRC_DIRTY=yes
        COMMIT="$COMMIT + uncommitted changes in src/, schema.sql or Cargo.*"
    else
        SRC_DIRTY=no
    fi
}

# --- 3. temp dir, cleanup -------------------------------------------------------------------------
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
    if [ -n "${TMP:-}" ]; then
        rm -rf "$TMP"
    fi
}

make_tmp() {
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/passlink-bench.XXXXXX")"
    PIDS=()
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

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

# --- passlink -------------------------------------------------------------------------------------
# write_passlink_config FILE PORT DATA_DIR [EXTRA]: listen on 127.0.0.1:PORT, data in DATA_DIR,
# log level warn, then EXTRA (more TOML tables) verbatim. BENCH_SERVER_EXTRA (TOML lines) goes
# into [server], for trying settings such as `workers = 16`; the committed tables use defaults.
write_passlink_config() {
    local file="$1" port="$2" data="$3" extra="${4:-}"
    cat >"$file" <<EOF
[server]
listen = "127.0.0.1:$port"
${BENCH_SERVER_EXTRA:-}
[storage]
data_dir = "$data"
[log]
level = "warn"
# The benchmarks measure serving, not the password policy: their seeded passwords are
# formulaic (benchpass-NNNN), which zxcvbn would refuse.
[passwords]
min_score = 0
EOF
    if [ -n "$extra" ]; then
        printf '%s\n' "$extra" >>"$file"
    fi
}

# start_passlink CONFIG PORT LOGFILE: `passlink serve` in the background (stdout and stderr to
# LOGFILE), PID_PASSLINK set and added to PIDS; returns once /healthz answers.
start_passlink() {
    local config="$1" port="$2" logfile="$3"
    log "starting passlink on 127.0.0.1:$port"
    "$PASSLINK" serve --config "$config" >"$logfile" 2>&1 &
    PID_PASSLINK=$!
    PIDS+=("$PID_PASSLINK")
    wait_ready "http://127.0.0.1:$port/healthz" "$PID_PASSLINK" passlink "$logfile"
}

# passlink_up: start_passlink with the plain config of write_passlink_config, $TMP/passlink.toml
# (data in $TMP/data), on a free port, PORT_PASSLINK; its log in $TMP/passlink.log.
passlink_up() {
    PORT_PASSLINK="$(free_port)"
    write_passlink_config "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/data"
    start_passlink "$TMP/passlink.toml" "$PORT_PASSLINK" "$TMP/passlink.log"
}

# Dies, with passlink's log, if passlink is gone; $1 names what was running.
check_passlink_alive() {
    if ! kill -0 "$PID_PASSLINK" 2>/dev/null; then
        cat "${PASSLINK_LOG_FILE:-$TMP/passlink.log}" >&2 || true
        die "passlink died during the $1 run"
    fi
}

# passlink prints its start banner at INFO whatever the level; anything at WARN or ERROR counts,
# except lines matching the extended regex IGNORE if given. Adds one PROBLEMS entry for LOGFILE's
# WARN/ERROR lines, if any.
passlink_log_problems() {
    local logfile="$1" ignore="${2:-}" lines
    lines="$(grep -E ' (WARN|ERROR) ' "$logfile" || true)"
    if [ -n "$ignore" ] && [ -n "$lines" ]; then
        lines="$(printf '%s\n' "$lines" | grep -vE "$ignore" || true)"
    fi
    if [ -n "$lines" ]; then
        log "passlink logged warnings or errors during the run:"
        printf '%s\n' "$lines" | tail -n 20 >&2
        PROBLEMS+=("passlink logged $(printf '%s\n' "$lines" | wc -l) WARN/ERROR line(s) during the run (last: $(printf '%s\n' "$lines" | tail -n 1))")
    fi
}

# --- seeding ------------------------------------------------------------------------------------
# What a getServerCapabilities reply that accepts the credentials contains.
FLERROR_OK='<name>flError</name><value><boolean>0</boolean>'

# xmlrpc_post URL BODY: POSTs the XML-RPC call BODY to URL; prints the reply, fails on non-2xx.
xmlrpc_post() {
    curl -fsS --max-time 5 -H 'Content-Type: text/xml' --data-binary "$2" "$1"
}

# xmlrpc_register URL WHAT: registers EMAIL (name Bench, the password whose MD5 hex is
# PASSWORD_MD5) by xmlStorageSystem.registerUser at URL. Sets REGISTER_BODY (the call), USERNUM
# (from the reply) and CAPS_BODY (a getServerCapabilities call with those credentials); dies,
# with passlink's log, with "registerUser WHAT failed" if the call fails.
xmlrpc_register() {
    local url="$1" what="$2" reply
    REGISTER_BODY="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.registerUser</methodName><params><param><value>$EMAIL</value></param><param><value>Bench</value></param><param><value>$PASSWORD_MD5</value></param><param><value><int>5335</int></value></param><param><value>bench</value></param></params></methodCall>"
    reply="$(xmlrpc_post "$url" "$REGISTER_BODY")" ||
        { cat "$TMP/passlink.log" >&2; die "registerUser $what failed"; }
    USERNUM="$(printf '%s\n' "$reply" |
        sed -n 's/.*<name>usernum<\/name><value><string>\([0-9]\{7\}\)<\/string>.*/\1/p' | head -n 1)"
    [ -n "$USERNUM" ] || { printf '%s\n' "$reply" >&2; die "no usernum in the registerUser reply"; }
    CAPS_BODY="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities</methodName><params><param><value>$USERNUM</value></param><param><value>$PASSWORD_MD5</value></param></params></methodCall>"
}

# reseller_add CONFIG NAME: `passlink reseller add NAME`; KEY set to the private key it prints.
reseller_add() {
    local config="$1" name="$2"
    log "reseller add $name"
    "$PASSLINK" reseller add "$name" --config "$config" >"$TMP/reseller.out" 2>&1 ||
        { cat "$TMP/reseller.out" >&2; die "reseller add failed"; }
    KEY="$(sed -n 's/^private key (shown only now): \([0-9a-f]\{64\}\)$/\1/p' "$TMP/reseller.out")"
    [ -n "$KEY" ] || { cat "$TMP/reseller.out" >&2; die "no private key in the reseller add output"; }
}

# domain_import CONFIG CSV N: `passlink domain import CSV`, which must report N domains;
# IMPORT_SECS set to the seconds it took.
domain_import() {
    local config="$1" csv="$2" n="$3" start
    start="$(date +%s.%N)"
    "$PASSLINK" domain import "$csv" --config "$config" >"$TMP/import.out" 2>&1 ||
        { cat "$TMP/import.out" >&2; die "domain import failed"; }
    IMPORT_SECS="$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')"
    grep -q "imported $n domain(s)" "$TMP/import.out" ||
        { cat "$TMP/import.out" >&2; die "domain import did not report $n domains"; }
    log "imported $n domains in $IMPORT_SECS s"
}

# proc_kb PID FIELD: a kB field of /proc/PID/status (VmRSS, VmHWM), as a number.
proc_kb() {
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# Resets PID's VmHWM to its current RSS (Linux clear_refs 5), so that the next VmHWM is the peak
# of what follows. Returns non-zero where the kernel does not allow it.
reset_peak_rss() {
    { printf '5' >"/proc/$1/clear_refs"; } 2>/dev/null
}

# --- nginx ----------------------------------------------------------------------------------------
# start_nginx SERVER_BLOCKS READY_URL: nginx with its own config, pid file, logs and temp paths in
# $TMP/nginx (it never creates or uses /var/lib/nginx), `worker_processes auto`, `access_log off`,
# and SERVER_BLOCKS (nginx `server { ... }` text) inside `http { }`. PID_NGINX set and added to
# PIDS; returns once READY_URL answers 2xx.
start_nginx() {
    local servers="$1" ready_url="$2" nginx_build temp_paths m
    mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
    # Temp-path directives only for the modules this nginx build has.
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
    # "\$" for the replies of nginx_fixed_reply, where a '\$' would start a variable.
    geo \$dollar { default "\$"; }

$servers
}
EOF
    log "starting nginx ($TMP/nginx/nginx.conf)"
    "$NGINX" -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" \
        >"$TMP/nginx/stdout.log" 2>&1 &
    PID_NGINX=$!
    PIDS+=("$PID_NGINX")
    wait_ready "$ready_url" "$PID_NGINX" nginx "$TMP/nginx/logs/error.log"
}

# nginx_fixed_reply FILE OUT CONTENT_TYPE: writes OUT, an nginx snippet (for a `location`)
# answering 200 with FILE's exact bytes and Content-Type CONTENT_TYPE, from memory, for any
# method (a static file would get 405 for a POST): `default_type TYPE; return 200 '...';` with
# ' and \ escaped and each '$' (which nginx would expand) written as ${dollar}, a variable that
# start_nginx defines as "$". A reply too long for one nginx config token (4 KiB) is cut into
# pieces, each `set` into a variable, and `return 200` joins them.
nginx_fixed_reply() {
    python3 - "$1" "$2" "$3" <<'PY' || die "cannot make an nginx reply from $1"
import sys
src, out, ctype = sys.argv[1], sys.argv[2], sys.argv[3]
reply = open(src, "rb").read().decode("utf-8")

def quote(text):
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("$", "${dollar}")

ctype = ctype.replace("\\", "\\\\").replace('"', '\\"')
with open(out, "w") as f:
    f.write('default_type "' + ctype + '";\n')
    if len(quote(reply).encode()) < 3000:
        f.write("return 200 '" + quote(reply) + "';\n")
    else:
        pieces, piece = [], ""
        for ch in reply:
            if len(quote(piece + ch).encode()) > 2000:
                pieces.append(piece)
                piece = ""
            piece += ch
        pieces.append(piece)
        for n, p in enumerate(pieces, 1):
            f.write("set $fixed_reply_%d '%s';\n" % (n, quote(p)))
        f.write('return 200 "%s";\n' % "".join("${fixed_reply_%d}" % n for n in range(1, len(pieces) + 1)))
PY
}

# nginx_reply_server LISTEN MATCH CONF [DIRECTIVE...]: an nginx `server` block for start_nginx:
# `listen LISTEN;`, each DIRECTIVE (such as ssl_certificate) on a line of its own, /healthz
# answering 200 'ok' (a READY_URL), and `location MATCH` ("= /", "/") answering with CONF, a
# snippet from nginx_fixed_reply.
nginx_reply_server() {
    local listen="$1" match="$2" conf="$3" directive
    shift 3
    echo "    server {"
    echo "        listen $listen;"
    for directive in "$@"; do
        echo "        $directive;"
    done
    echo "        location = /healthz {"
    echo "            return 200 'ok';"
    echo "        }"
    echo "        location $match {"
    echo "            include $conf;"
    echo "        }"
    echo "    }"
}

# nginx_return_server LISTEN PATH TYPE TEXT: an nginx `server` block for start_nginx: `listen
# LISTEN;` and `location = PATH` answering `default_type TYPE; return 200 TEXT;`, TEXT being an
# nginx string as written in the config, quotes included.
nginx_return_server() {
    echo "    server {"
    echo "        listen $1;"
    echo "        location = $2 {"
    echo "            default_type $3;"
    echo "            return 200 $4;"
    echo "        }"
    echo "    }"
}

nginx_version() { "$NGINX" -v 2>&1 | sed 's/^nginx version: //'; }
wrk_version() { wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}'; }
cpu_model() {
    local model
    model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "${model:-unknown}"
}

# --- wrk ------------------------------------------------------------------------------------------
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
fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }

# A wrk duration ("10s", "2m", "1h", "30") in whole seconds.
duration_secs() {
    awk -v d="$1" 'BEGIN {
        n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
        if (u == "" || u == "s") f = 1; else if (u == "m") f = 60; else if (u == "h") f = 3600;
        else { print "bad duration: " d > "/dev/stderr"; exit 1 }
        printf "%d\n", n * f + 0.5 }'
}

# run_wrk_to OUT WRK_ARGS...: runs wrk, output to OUT and stdout, dies if wrk fails; then
# parse_wrk OUT.
run_wrk_to() {
    local out="$1"
    shift
    wrk "$@" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed: wrk $*"; }
    cat "$out"
    parse_wrk "$out"
}

# wrk_run KEY I URL [WRK_ARGS...]: run I of RUNS of wrk -tTHREADS -cCONNECTIONS -dDURATION
# --latency [WRK_ARGS] URL, output in $TMP/wrk-KEY-I.txt (KEY "workload/server" for
# $TMP/wrk-workload-server-I.txt); appends its req/s, p50 and p99 to RPS[KEY], P50[KEY] and
# P99[KEY] (associative arrays the script declares) and leaves W_* as parse_wrk sets them.
# shellcheck disable=SC2004  # RPS/P50/P99 are associative, which shellcheck cannot see here
wrk_run() {
    local key="$1" i="$2" url="$3"
    shift 3
    case "$key" in
        */*) log "${key%/*}: wrk run $i/$RUNS: ${key##*/}" ;;
        *) log "wrk run $i/$RUNS: $key" ;;
    esac
    run_wrk_to "$TMP/wrk-${key//\//-}-$i.txt" "-t$THREADS" "-c$CONNECTIONS" "-d$DURATION" --latency \
        "$@" "$url"
    RPS[$key]+="$W_RPS "
    P50[$key]+="$W_P50 "
    P99[$key]+="$W_P99 "
}

# parse_wrk OUT: reads wrk's output in OUT; dies if it has no req/s, p50 or p99 (wrk needs
# --latency for those). Sets W_RPS, W_P50, W_P99 and W_MAX (us), W_CHECKED and W_BAD (the Lua
# script's "replies checked:" and "$BENCH_BAD_LABEL:" lines, default "bad replies", as
# bench/lua/check.lua prints them; empty without them) and W_ERRORS (the "Socket errors" /
# "Non-2xx" lines).
parse_wrk() {
    local out="$1" p50 p99 max line
    W_RPS="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    p50="$(awk '$1 == "50%" {print $2}' "$out")"
    p99="$(awk '$1 == "99%" {print $2}' "$out")"
    max="$(awk '$1 == "Latency" && $2 != "Distribution" {print $4; exit}' "$out")"
    if [ -z "$W_RPS" ] || [ -z "$p50" ] || [ -z "$p99" ] || [ -z "$max" ]; then
        die "could not parse wrk output in $out"
    fi
    W_P50="$(to_us "$p50")"
    W_P99="$(to_us "$p99")"
    W_MAX="$(to_us "$max")"
    W_CHECKED="$(awk -F': ' '/^replies checked:/ {print $2}' "$out")"
    W_BAD="$(awk -F': ' -v l="${BENCH_BAD_LABEL:-bad replies}" '$1 == l {print $2}' "$out")"
    W_ERRORS=()
    while IFS= read -r line; do
        W_ERRORS+=("${line#"${line%%[![:space:]]*}"}")
    done < <(grep -E 'Socket errors|Non-2xx' "$out" || true)
}

# alternate_runs CALLBACK NAME...: CALLBACK NAME i for i in 1..RUNS, the names alternating
# (passlink, nginx, passlink, ...) so that both see the same machine conditions.
alternate_runs() {
    local callback="$1" i name
    shift
    for i in $(seq "$RUNS"); do
        for name in "$@"; do
            "$callback" "$name" "$i"
        done
    done
}

# --- report ---------------------------------------------------------------------------------------
# The RPS/P50/P99 entries hold space-separated numbers (one per run), split on purpose where used.

# server_table: the Markdown table of the passlink and nginx runs in RPS, P50 and P99: medians
# of req/s, p50 and p99, and the req/s ratio to nginx's.
server_table() {
    local name rps p50 p99 ratio nginx_rps
    # shellcheck disable=SC2086
    nginx_rps="$(median ${RPS[nginx]})"
    echo "| server | req/s (median of $RUNS) | p50 | p99 | ratio to nginx |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for name in passlink nginx; do
        # shellcheck disable=SC2086
        rps="$(median ${RPS[$name]})"
        # shellcheck disable=SC2086
        p50="$(median ${P50[$name]})"
        # shellcheck disable=SC2086
        p99="$(median ${P99[$name]})"
        ratio="$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')"
        printf '| %s | %.0f | %s | %s | %s |\n' "$name" "$rps" "$(fmt_ms "$p50")" "$(fmt_ms "$p99")" "$ratio"
    done
}

# passlink_medians: med_rps_nginx, med_rps_passlink and med_p99_passlink, the medians of the
# runs in RPS and P99, and ratio_passlink, passlink's req/s over nginx's (two decimals).
passlink_medians() {
    # shellcheck disable=SC2086
    med_rps_nginx="$(median ${RPS[nginx]})"
    # shellcheck disable=SC2086
    med_rps_passlink="$(median ${RPS[passlink]})"
    # shellcheck disable=SC2086
    med_p99_passlink="$(median ${P99[passlink]})"
    ratio_passlink="$(awk -v a="$med_rps_passlink" -v b="$med_rps_nginx" 'BEGIN { printf "%.2f", a / b }')"
}

# lua_listing FILE...: each of the bench/lua scripts FILE... as "bench/lua/FILE:" and a Markdown
# code block, a blank line between two.
lua_listing() {
    local f sep=""
    for f in "$@"; do
        printf '%s' "$sep"
        echo "bench/lua/$f:"
        echo
        echo '```lua'
        cat "$REPO/bench/lua/$f"
        echo '```'
        sep=$'\n'
    done
}

# problems_section: "Problems seen:" and the PROBLEMS entries as a Markdown list, if there are any.
problems_section() {
    local p
    if [ "${#PROBLEMS[@]}" -gt 0 ]; then
        echo
        echo "Problems seen:"
        echo
        for p in "${PROBLEMS[@]}"; do
            echo "- $p"
        done
    fi
}
