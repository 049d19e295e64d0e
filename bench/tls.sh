#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# passlink over TLS against nginx over TLS, same certificate, same machine, same run, and write
# bench/results/tls.md (also printed):
#   1. XML-RPC getServerCapabilities (one registered user, known credentials) with keep-alive:
#      wrk -t2 -c64, each connection does one handshake and then only requests;
#   2. new TLS connections per second: the same request with "Connection: close", so every
#      request is a new TCP connection and a full handshake (no session resumption in wrk).
# nginx answers with passlink's own reply to that call (same bytes), so only the work differs.
#
#   bench/tls.sh                      # 3 runs of 10 s per server and workload
#   BENCH_DURATION=3s bench/tls.sh    # quick check
#
# The certificate: an ECDSA P-256 leaf for 127.0.0.1 signed by a throwaway CA, made with the
# openssl command in the temporary directory. TLS 1.3 is what wrk (OpenSSL) and both servers
# agree on. Target (issue 9): >= 25% of nginx's req/s over TLS with keep-alive.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init tls
RESULTS="$RESULTS_DIR/tls.md"
TARGET_RATIO=0.25
EMAIL=bench@example.com
PASSWORD_MD5=cd335034dc1445bc7c767910b638a735

install_tools
command -v openssl >/dev/null 2>&1 || die "openssl is missing (Debian package openssl)"
build_release
make_tmp

# --- certificate --------------------------------------------------------------------------------
CERTS="$TMP/certs"
mkdir -p "$CERTS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$CERTS/ca.key" -out "$CERTS/ca.pem" -subj "/CN=passlink bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$CERTS/key.pem" -out "$CERTS/req.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$CERTS/ext.cnf"
openssl x509 -req -in "$CERTS/req.csr" -CA "$CERTS/ca.pem" -CAkey "$CERTS/ca.key" \
    -CAcreateserial -days 2 -extfile "$CERTS/ext.cnf" -out "$CERTS/cert.pem" 2>/dev/null
# curl (readiness checks, seeding) trusts the throwaway CA; wrk does not verify.
export CURL_CA_BUNDLE="$CERTS/ca.pem"

# --- passlink: TLS serving everything, and a plain status port for the readiness check --------
PORT_STATUS="$(free_port)"
PORT_TLS="$(free_port)"
while [ "$PORT_TLS" = "$PORT_STATUS" ]; do PORT_TLS="$(free_port)"; done
cat >"$TMP/passlink.toml" <<EOF
[storage]
data_dir = "$TMP/data"
[log]
level = "warn"
[[listener]]
address = "127.0.0.1:$PORT_TLS"
serve = ["xmlstorage", "files", "xcp", "reset", "status"]
tls = { cert_file = "$CERTS/cert.pem", key_file = "$CERTS/key.pem" }
[[listener]]
address = "127.0.0.1:$PORT_STATUS"
serve = ["status"]
EOF
start_passlink "$TMP/passlink.toml" "$PORT_STATUS" "$TMP/passlink.log"
URL_PASSLINK="https://127.0.0.1:$PORT_TLS/RPC2"

xmlrpc_register "$URL_PASSLINK" "over TLS"    # REGISTER_BODY, USERNUM, CAPS_BODY
xmlrpc_post "$URL_PASSLINK" "$CAPS_BODY" >"$TMP/caps.body" ||
    { cat "$TMP/passlink.log" >&2; die "getServerCapabilities over TLS failed"; }
grep -qF "$FLERROR_OK" "$TMP/caps.body" || die "getServerCapabilities did not answer flError false"
log "registered usernum $USERNUM over TLS; getServerCapabilities answers flError false"

# --- nginx: the same certificate, passlink's captured reply --------------------------------------
PORT_NGINX="$(free_port)"
while [ "$PORT_NGINX" = "$PORT_TLS" ] || [ "$PORT_NGINX" = "$PORT_STATUS" ]; do PORT_NGINX="$(free_port)"; done
nginx_fixed_reply "$TMP/caps.body" "$TMP/reply.conf" "text/xml"
start_nginx "$(nginx_reply_server "127.0.0.1:$PORT_NGINX ssl" / "$TMP/reply.conf" \
    "ssl_certificate $CERTS/cert.pem" "ssl_certificate_key $CERTS/key.pem" \
    "ssl_protocols TLSv1.2 TLSv1.3")" "https://127.0.0.1:$PORT_NGINX/healthz"
URL_NGINX="https://127.0.0.1:$PORT_NGINX/RPC2"
xmlrpc_post "$URL_NGINX" "$CAPS_BODY" >"$TMP/nginx.body" || die "nginx refused the POST"
cmp -s "$TMP/nginx.body" "$TMP/caps.body" || die "nginx's reply differs from passlink's"

# --- wrk script ---------------------------------------------------------------------------------
# bench/lua/post.lua POSTs the call, with "Connection: close" in the close workload (run_one sets
# BENCH_CONNECTION); bench/lua/check.lua counts the replies that are not a 200 with flError false.
LUA="$REPO/bench/lua/post.lua"
export BENCH_BODY="$CAPS_BODY" BENCH_MARKERS="$FLERROR_OK"

# --- load ---------------------------------------------------------------------------------------
declare -A RPS P50 P99 BAD CHECKED URL
URL=([passlink]="$URL_PASSLINK" [nginx]="$URL_NGINX")
WORKLOAD=""
run_one() {
    local name="$1" i="$2" key e connection=""
    key="$WORKLOAD/$name"
    if [ "$WORKLOAD" = close ]; then connection=close; fi
    BENCH_CONNECTION="$connection" wrk_run "$key" "$i" "${URL[$name]}" -s "$LUA"
    CHECKED[$key]=$(( ${CHECKED[$key]:-0} + ${W_CHECKED:-0} ))
    BAD[$key]=$(( ${BAD[$key]:-0} + ${W_BAD:-0} ))
    for e in "${W_ERRORS[@]}"; do
        PROBLEMS+=("$WORKLOAD $name run $i: $e")
    done
    check_passlink_alive "$WORKLOAD"
}
reset_peak_rss "$PID_PASSLINK" || true
for WORKLOAD in keepalive close; do
    alternate_runs run_one passlink nginx
done
peak_rss_kb="$(proc_kb "$PID_PASSLINK" VmHWM)"
passlink_log_problems "$TMP/passlink.log"

# --- report -------------------------------------------------------------------------------------
med() {
    # shellcheck disable=SC2086  # the entries are space-separated numbers
    median $1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ka_p="$(med "${RPS[keepalive/passlink]}")"
ka_n="$(med "${RPS[keepalive/nginx]}")"
cl_p="$(med "${RPS[close/passlink]}")"
cl_n="$(med "${RPS[close/nginx]}")"
ka_ratio="$(ratio "$ka_p" "$ka_n")"
met="$(awk -v r="$ka_ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "met" : "not met" }')"
if [ "${BAD[keepalive/passlink]}" -ne 0 ] || [ "${BAD[close/passlink]}" -ne 0 ]; then
    met="not met (bad replies)"
fi
mkdir -p "$RESULTS_DIR"
{
    echo "# passlink over TLS vs nginx over TLS (bench/tls.sh)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'); nproc $(nproc), $(cpu_model); passlink commit $COMMIT_SHORT; load average before the runs $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| workload | passlink req/s | p50 | p99 | nginx req/s | p50 | p99 | ratio to nginx | passlink bad replies |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for WORKLOAD in keepalive close; do
        case "$WORKLOAD" in
            keepalive) title="getServerCapabilities over TLS, keep-alive" ;;
            close) title="new TLS connections per second (Connection: close, a handshake per request)" ;;
        esac
        p="$(med "${RPS[$WORKLOAD/passlink]}")"
        n="$(med "${RPS[$WORKLOAD/nginx]}")"
        printf '| %s | %.0f | %s | %s | %.0f | %s | %s | %s | %d of %d |\n' "$title" \
            "$p" "$(fmt_ms "$(med "${P50[$WORKLOAD/passlink]}")")" "$(fmt_ms "$(med "${P99[$WORKLOAD/passlink]}")")" \
            "$n" "$(fmt_ms "$(med "${P50[$WORKLOAD/nginx]}")")" "$(fmt_ms "$(med "${P99[$WORKLOAD/nginx]}")")" \
            "$(ratio "$p" "$n")" "${BAD[$WORKLOAD/passlink]}" "${CHECKED[$WORKLOAD/passlink]}"
    done
    echo
    echo "Medians of $RUNS runs of $DURATION per server and workload, alternating passlink, nginx, ...;"
    echo "wrk -t$THREADS -c$CONNECTIONS --latency; wrk, passlink and nginx share the machine."
    echo
    echo "**Target: passlink >= 25% of nginx's req/s over TLS with keep-alive: $met** (ratio $ka_ratio)."
    echo "New connections per second: passlink $(printf '%.0f' "$cl_p"), nginx $(printf '%.0f' "$cl_n") (ratio $(ratio "$cl_p" "$cl_n"))."
    echo
    echo "- certificate: ECDSA P-256 leaf for 127.0.0.1 from a throwaway CA (openssl), the same files for both servers"
    echo "- passlink: rustls 0.23 (ring), TLS 1.2 and 1.3, handshakes on the worker pool; one [[listener]] with tls, defaults otherwise; peak RSS during the runs $(fmt_mib "$peak_rss_kb")"
    echo "- nginx: $(nginx_version), worker_processes auto, ssl_protocols TLSv1.2 TLSv1.3, the captured reply ($(wc -c <"$TMP/caps.body") bytes) from memory"
    echo "- wrk: $(wrk_version) (OpenSSL; no session resumption, so every new connection is a full handshake)"
    echo "- req/s of each run: keep-alive passlink ${RPS[keepalive/passlink]% }, nginx ${RPS[keepalive/nginx]% }; close passlink ${RPS[close/passlink]% }, nginx ${RPS[close/nginx]% }"
    problems_section
} >"$RESULTS"
echo
cat "$RESULTS"
