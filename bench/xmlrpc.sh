#!/usr/bin/env bash
# Benchmark XML-RPC xmlStorageSystem.getServerCapabilities (known credentials, so the
# verified-credential cache answers) against nginx returning a fixed XML-RPC reply, on the
# same machine in the same run, with the same wrk settings. Writes bench/results/xmlrpc.md.
#
#   bench/xmlrpc.sh                       # 3 alternating runs of 10 s per server
#   BENCH_DURATION=3s bench/xmlrpc.sh     # quick check
#
# Installs wrk and nginx-light if missing; everything else lives in a temporary directory.
set -euo pipefail

DURATION="${BENCH_DURATION:-10s}"
RUNS=3
cd "$(dirname "$0")/.."
REPO="$(pwd)"
RESULTS="$REPO/bench/results/xmlrpc.md"
MD5_ASDF=912ec803b2ce49e4a541068d495ab570

log() { printf '==> %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get update -qq >&2 && apt-get install -y -qq wrk nginx-light >&2
fi

log "building passlink (release)"
cargo build --release --locked -q

TMP="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

wait_ready() {
    for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    log "$2 did not come up"; exit 1
}

# --- passlink ---------------------------------------------------------------------------------
PORT_PL="$(free_port)"
cat >"$TMP/passlink.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT_PL"
[storage]
data_dir = "$TMP/data"
[log]
level = "warn"
EOF
"$REPO/target/release/passlink" serve --config "$TMP/passlink.toml" 2>"$TMP/passlink.log" &
PID_PL=$!
PIDS+=("$PID_PL")
wait_ready "http://127.0.0.1:$PORT_PL/healthz" passlink

call() { curl -fsS -H 'Content-Type: text/xml' --data-binary "$1" "http://127.0.0.1:$PORT_PL/RPC2"; }
REG="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.registerUser</methodName><params><param><value>bench@example.com</value></param><param><value>Bench</value></param><param><value>$MD5_ASDF</value></param><param><value><int>5335</int></value></param><param><value>bench</value></param></params></methodCall>"
USERNUM="$(call "$REG" | sed -n 's/.*<name>usernum<\/name><value><string>\([0-9]\{7\}\)<.*/\1/p')"
[ -n "$USERNUM" ] || { log "registerUser failed"; exit 1; }
BODY="<?xml version=\"1.0\"?><methodCall><methodName>xmlStorageSystem.getServerCapabilities</methodName><params><param><value>$USERNUM</value></param><param><value>$MD5_ASDF</value></param></params></methodCall>"
call "$BODY" | grep -q '<name>flError</name><value><boolean>0</boolean>' || { log "credentials refused"; exit 1; }

# wrk script: POST the call; count replies that are not a successful capabilities struct.
body_lua="${BODY//\"/\\\"}"
cat >"$TMP/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = "$body_lua"
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "<boolean>0</boolean>", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("bad_replies %d\n", bad))
end
EOF

# --- nginx ------------------------------------------------------------------------------------
PORT_NG="$(free_port)"
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/tmp/body;
    server {
        listen 127.0.0.1:$PORT_NG;
        location = /RPC2 {
            default_type text/xml;
            return 200 '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>flError</name><value><boolean>0</boolean></value></member></struct></value></param></params></methodResponse>';
        }
    }
}
EOF
nginx -e "$TMP/nginx/logs/error.log" -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" >/dev/null 2>&1 &
PIDS+=("$!")
wait_ready "http://127.0.0.1:$PORT_NG/RPC2" nginx

# --- load -------------------------------------------------------------------------------------
WRK=(wrk -t2 -c64 -d"$DURATION" --latency -s "$TMP/post.lua")
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.3f", v }'; }
median() { sort -g | awk '{ a[NR]=$1 } END { print a[int((NR+1)/2)] }'; }
declare -A RPS P50 P99 BAD
for i in $(seq "$RUNS"); do
    for server in passlink nginx; do
        port=$PORT_PL; [ "$server" = nginx ] && port=$PORT_NG
        log "run $i: $server"
        out="$("${WRK[@]}" "http://127.0.0.1:$port/RPC2")"
        RPS[$server]+="$(echo "$out" | awk '/^Requests\/sec/ {print $2}') "
        P50[$server]+="$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms) "
        P99[$server]+="$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms) "
        BAD[$server]+="$(echo "$out" | awk '/^bad_replies/ {print $2}') "
    done
done
RSS_PEAK="$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$PID_PL/status")"
RSS_NOW="$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$PID_PL/status")"

med() { tr ' ' '\n' | grep -v '^$' | median; }
pl_rps="$(echo "${RPS[passlink]}" | med)"; ng_rps="$(echo "${RPS[nginx]}" | med)"
pl_p50="$(echo "${P50[passlink]}" | med)"; ng_p50="$(echo "${P50[nginx]}" | med)"
pl_p99="$(echo "${P99[passlink]}" | med)"; ng_p99="$(echo "${P99[nginx]}" | med)"
ratio="$(awk -v a="$pl_rps" -v b="$ng_rps" 'BEGIN { printf "%.2f", a/b }')"
bad_total="$(echo "${BAD[passlink]}" | tr ' ' '\n' | awk '{ s+=$1 } END { print s+0 }')"
met="$(awk -v r="$ratio" -v p="$pl_p99" 'BEGIN { print (r >= 0.30 && p < 5.0) ? "MET" : "NOT MET" }')"

mkdir -p "$(dirname "$RESULTS")"
cat >"$RESULTS" <<EOF
# XML-RPC \`xmlStorageSystem.getServerCapabilities\` vs nginx fixed reply

| server | req/s (median of $RUNS) | p50 | p99 | ratio to nginx |
| --- | ---: | ---: | ---: | ---: |
| passlink | $pl_rps | $pl_p50 ms | $pl_p99 ms | $ratio |
| nginx | $ng_rps | $ng_p50 ms | $ng_p99 ms | 1.00 |

- req/s of each run: passlink ${RPS[passlink]}; nginx ${RPS[nginx]}
- passlink replies that were not a successful capabilities struct: $bad_total
- passlink RSS after the load: $RSS_NOW MiB, peak (VmHWM): $RSS_PEAK MiB
- target (at least 30% of nginx's req/s, p99 under 5 ms): $met
- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), nproc: $(nproc); wrk, passlink and nginx share the machine
- command: \`${WRK[*]} URL\` (passlink and nginx alternate); passlink $(git -C "$REPO" rev-parse --short HEAD), \`[log] level = "warn"\`, known credentials (verified-credential cache)
EOF
cat "$RESULTS"
