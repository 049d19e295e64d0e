#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Benchmark passlink's OpenSRS XCP `send_password` (one reseller, 1,000 domains, signed
# requests) against nginx returning a fixed OPS reply, on the same machine in the same run, and
# write the result to bench/results/xcp.md (also printed to stdout).
#
#   bench/xcp.sh                            # 3 runs of 10 s per server
#   BENCH_DURATION=3s bench/xcp.sh          # quick check
#
# It installs wrk and nginx-light (Debian packages) if they are missing, builds passlink with
# `cargo build --release --locked`, and starts both servers on free loopback ports inside a
# temporary directory that is removed on exit. Nothing outside that directory is touched
# (nginx gets its own config, pid file, logs and temp paths there), except the report.
#
# What is measured:
#   - Seeding through the CLI, with the server's config, while the server runs: one reseller
#     (`passlink reseller add`, its private key read from the output) and 1,000 domains
#     bench-0001.example ... bench-1000.example in 100 profiles of 10 (`passlink domain import`).
#     One signed send_password for bench-0001.example must answer is_success 1 and
#     response_code 200 before any load.
#   - wrk -t2 -c64 --latency with bench/lua/xcp.lua, which POSTs send_password envelopes to / as
#     text/xml with X-Username and X-Signature, cycling through the 1,000 domains (send_to
#     alternating owner and admin; each thread starts at a different offset). wrk's Lua has no
#     MD5, so the 1,000 {body, signature} pairs are computed beforehand in Python.
#     Runs alternate passlink, nginx, passlink, ... (3 runs each); the report gives the median
#     of the 3 runs for req/s, p50 and p99.
#   - The same Lua script runs against both servers. It counts the replies that are not a 200
#     containing both `<item key="is_success">1</item>` and `<item key="response_code">200</item>`;
#     nginx's fixed reply (tests/fixtures/opensrs/canned-reply.xml) has both, so the count is
#     meaningful for both servers, and must be 0 for passlink.
#   - passlink's resident memory: VmRSS after seeding (before load), VmRSS after all its wrk runs
#     and VmHWM (peak).
#   - The issue's later target, for reference: send_password at least 2,000 req/s with p99 under
#     20 ms (medians), with no bad replies, non-2xx or socket errors from passlink.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init xcp        # cd to the repo; DURATION (BENCH_DURATION), RUNS=3, THREADS=2, CONNECTIONS=64
RESULTS="$RESULTS_DIR/xcp.md"
# Target from the issue (a later milestone; reported for reference).
TARGET_RPS=2000
TARGET_P99_US=20000
# Seed: one reseller, DOMAINS domains in profiles of PER_PROFILE.
RESELLER=benchreseller
DOMAINS=1000
PER_PROFILE=10
BODY_TEMPLATE="$REPO/tests/fixtures/opensrs/net-opensrs-send_password.body.xml"
CANNED_REPLY="$REPO/tests/fixtures/opensrs/canned-reply.xml"

[ -f "$BODY_TEMPLATE" ] || die "$BODY_TEMPLATE missing"
[ -f "$CANNED_REPLY" ] || die "$CANNED_REPLY missing"

# --- 1. tools, 2. build, 3. temp dir --------------------------------------------------------------
install_tools
build_release    # COMMIT: the tree the binary was built from (others may commit meanwhile)
make_tmp

# max_connections_per_ip defaults to 256 (src/config.rs), above wrk's 64 connections from
# 127.0.0.1. The reset-link limits (3 links per login per hour, a per-address bucket) would
# refuse almost every request of the load, so they are raised: what is measured is the cost of
# issuing a link (a token row and an outbox row, one synchronous=FULL commit) while the mailer
# thread writes each mail to the spool directory.
RESET_LIMITS="[reset]
max_per_login_per_hour = 1000000000
ip_burst = 1000000000
ip_refill_per_minute = 1000000000"

# The send_password body for domain $1, send_to $2: the Net::OpenSRS capture with its domain
# and send_to replaced (exact bytes, trailing newline included).
make_body() {
    python3 - "$BODY_TEMPLATE" "$1" "$2" <<'PY'
import sys
template, domain, send_to = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(template, "rb").read()
body = body.replace(b'<item key="domain_name">example.info</item>',
                    b'<item key="domain_name">' + domain.encode() + b'</item>')
body = body.replace(b'<item key="send_to">owner</item>',
                    b'<item key="send_to">' + send_to.encode() + b'</item>')
sys.stdout.buffer.write(body)
PY
}

# md5_hex(md5_hex(FILE ‖ KEY) ‖ KEY) for the body in file $1 and key $2.
sign_file() {
    python3 - "$1" "$2" <<'PY'
import hashlib, sys
body, key = open(sys.argv[1], "rb").read(), sys.argv[2].encode()
inner = hashlib.md5(body + key).hexdigest().encode()
print(hashlib.md5(inner + key).hexdigest())
PY
}

# POST the envelope in file $2, signed with $3 as reseller $RESELLER, to URL $1; prints the
# reply, fails on non-2xx.
xcp_post() {
    curl -fsS --max-time 5 -H 'Content-Type: text/xml' -H "X-Username: $RESELLER" \
        -H "X-Signature: $3" --data-binary "@$2" "$1"
}

SUCCESS_MARKER='<item key="is_success">1</item>'
CODE_MARKER='<item key="response_code">200</item>'
reply_ok() {
    case "$1" in
        *"$SUCCESS_MARKER"*"$CODE_MARKER"* | *"$CODE_MARKER"*"$SUCCESS_MARKER"*) return 0 ;;
        *) return 1 ;;
    esac
}

# --- passlink ---
PORT_PASSLINK="$(free_port)"
CONFIG="$TMP/passlink.toml"
write_passlink_config "$CONFIG" "$PORT_PASSLINK" "$TMP/data" "$RESET_LIMITS"
start_passlink "$CONFIG" "$PORT_PASSLINK" "$TMP/passlink.log"
URL_PASSLINK="http://127.0.0.1:$PORT_PASSLINK/"

# --- 4. seed: one reseller, 1,000 domains, then one checked send_password ---------------------
reseller_add "$CONFIG" "$RESELLER"    # KEY

python3 - "$TMP/domains.csv" "$RESELLER" "$DOMAINS" "$PER_PROFILE" <<'PY'
import sys
path, reseller, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path, "w") as f:
    f.write("domain,reseller,profile,owner_email,admin_email,password\n")
    for i in range(1, n + 1):
        p = (i - 1) // per + 1
        f.write(f"bench-{i:04d}.example,{reseller},benchprofile{p:03d},"
                f"owner-{i:04d}@example.com,admin-{i:04d}@example.com,Benchpass{p:03d}x\n")
PY
log "domain import: $DOMAINS domains in $((DOMAINS / PER_PROFILE)) profiles"
domain_import "$CONFIG" "$TMP/domains.csv" "$DOMAINS"    # IMPORT_SECS

make_body bench-0001.example owner >"$TMP/check.xml"
CHECK_SIG="$(sign_file "$TMP/check.xml" "$KEY")"
reply="$(xcp_post "$URL_PASSLINK" "$TMP/check.xml" "$CHECK_SIG")" ||
    { cat "$TMP/passlink.log" >&2; die "send_password request failed"; }
if reply_ok "$reply"; then
    log "send_password bench-0001.example: is_success 1, response_code 200"
else
    printf '%s\n' "$reply" >&2
    die "send_password bench-0001.example did not answer is_success 1 / response_code 200"
fi
seeded_rss_kb="$(proc_kb "$PID_PASSLINK" VmRSS)"

# wrk scripts. requests.lua: the 1,000 {body, signature} pairs, computed here (wrk's Lua has no
# MD5). bench/lua/xcp.lua: builds each thread's requests once and cycles through them from a
# per-thread offset; bench/lua/check.lua counts replies that are not a 200 with is_success 1 and
# response_code 200.
python3 - "$BODY_TEMPLATE" "$KEY" "$DOMAINS" "$TMP/requests.lua" "$REPO/bench" <<'PY'
import hashlib, sys
template, key, n, out = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, sys.argv[5])
from run_helpers import lua_string  # a Lua quoted string whose value is exactly the bytes
base = open(template, "rb").read()
assert base.count(b'<item key="domain_name">example.info</item>') == 1
assert base.count(b'<item key="send_to">owner</item>') == 1

with open(out, "w") as f:
    f.write("-- {body, X-Signature} for send_password of bench-0001.example ...\n")
    f.write("return {\n")
    for i in range(1, n + 1):
        body = base.replace(b'<item key="domain_name">example.info</item>',
                            b'<item key="domain_name">bench-%04d.example</item>' % i)
        send_to = b"owner" if i % 2 else b"admin"
        body = body.replace(b'<item key="send_to">owner</item>',
                            b'<item key="send_to">' + send_to + b'</item>')
        inner = hashlib.md5(body + key).hexdigest().encode()
        sig = hashlib.md5(inner + key).hexdigest()
        f.write("{%s, %s},\n" % (lua_string(body), lua_string(sig.encode())))
    f.write("}\n")
PY
LUA="$REPO/bench/lua/xcp.lua"
export BENCH_REQUESTS="$TMP/requests.lua" BENCH_USERNAME="$RESELLER" BENCH_THREADS="$THREADS"
export BENCH_MARKERS="$SUCCESS_MARKER
$CODE_MARKER"

# --- 5. nginx -----------------------------------------------------------------------------------
PORT_NGINX="$(free_port)"
# nginx answers 405 to a POST for a static file, so the canned reply is the text of a
# `return 200 '...'`: the file's exact bytes in a single-quoted nginx string (nginx_fixed_reply).
mkdir -p "$TMP/nginx"
nginx_fixed_reply "$CANNED_REPLY" "$TMP/nginx/reply.conf" text/xml
URL_NGINX="http://127.0.0.1:$PORT_NGINX/"
start_nginx "$(nginx_reply_server "127.0.0.1:$PORT_NGINX" "= /" "$TMP/nginx/reply.conf")" \
    "http://127.0.0.1:$PORT_NGINX/healthz"
nginx_status="$(curl -sS --max-time 5 -o "$TMP/nginx-reply.xml" -w '%{http_code} %{content_type}' \
    -H 'Content-Type: text/xml' -H "X-Username: $RESELLER" -H "X-Signature: $CHECK_SIG" \
    --data-binary "@$TMP/check.xml" "$URL_NGINX")" || die "nginx refused the POST to /"
[ "$nginx_status" = "200 text/xml" ] || die "nginx answered the POST with '$nginx_status', not '200 text/xml'"
cmp -s "$TMP/nginx-reply.xml" "$CANNED_REPLY" ||
    { cat "$TMP/nginx-reply.xml" >&2; die "nginx's reply differs from $CANNED_REPLY"; }
log "nginx answered the POST with 200 and the canned reply"

# --- 6. load ------------------------------------------------------------------------------------
declare -A RPS P50 P99 CHECKED BAD URL
URL=([passlink]="$URL_PASSLINK" [nginx]="$URL_NGINX")
CHECKED=([passlink]=0 [nginx]=0)
BAD=([passlink]=0 [nginx]=0)
PASSLINK_ERRORS=0
WRK_CMD="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/lua/xcp.lua URL"

run_wrk() {
    local name="$1" i="$2" e
    wrk_run "$name" "$i" "${URL[$name]}" -s "$LUA"
    if [ -z "$W_CHECKED" ] || [ -z "$W_BAD" ]; then
        die "could not parse wrk output for $name"
    fi
    CHECKED[$name]=$((CHECKED[$name] + W_CHECKED))
    BAD[$name]=$((BAD[$name] + W_BAD))
    if [ "$W_BAD" -ne 0 ]; then
        PROBLEMS+=("$name run $i: $W_BAD of $W_CHECKED replies were not a 200 with is_success 1 and response_code 200")
    fi
    for e in "${W_ERRORS[@]}"; do
        PROBLEMS+=("$name run $i: $e")
        [ "$name" = passlink ] && PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1))
    done
    check_passlink_alive "$name"
}

alternate_runs run_wrk passlink nginx
# After the load: the server must still answer send_password with success.
reply="$(xcp_post "$URL_PASSLINK" "$TMP/check.xml" "$CHECK_SIG" 2>&1)" || true
if ! reply_ok "$reply"; then
    PROBLEMS+=("passlink: send_password did not answer is_success 1 / response_code 200 after the load")
    PASSLINK_ERRORS=$((PASSLINK_ERRORS + 1))
fi
after_rss_kb="$(proc_kb "$PID_PASSLINK" VmRSS)"
peak_rss_kb="$(proc_kb "$PID_PASSLINK" VmHWM)"
passlink_log_problems "$TMP/passlink.log"

# --- 7. report ----------------------------------------------------------------------------------
passlink_medians    # med_rps_nginx, med_rps_passlink, med_p99_passlink, ratio_passlink
rps_ok="$(awk -v a="$med_rps_passlink" -v t="$TARGET_RPS" 'BEGIN { print (a >= t) ? "yes" : "no" }')"
p99_ok="$(awk -v p="$med_p99_passlink" -v t="$TARGET_P99_US" 'BEGIN { print (p < t) ? "yes" : "no" }')"
clean="yes"
if [ "${BAD[passlink]}" -ne 0 ] || [ "$PASSLINK_ERRORS" -ne 0 ]; then
    clean="no"
fi
if [ "$rps_ok" = yes ] && [ "$p99_ok" = yes ] && [ "$clean" = yes ]; then
    verdict="MET"
else
    verdict="NOT MET"
fi

reset_note="each request issues a reset link: a token row and an outbox row in one BEGIN IMMEDIATE transaction (synchronous=FULL), while the mailer thread writes the mails to the spool directory"

mkdir -p "$RESULTS_DIR"
{
    echo "# passlink XCP \`send_password\` vs nginx fixed reply"
    echo
    server_table
    echo
    echo "Target (from the issue, a later milestone; for reference): send_password at least $TARGET_RPS req/s with p99 under $(fmt_ms "$TARGET_P99_US")."
    echo
    echo "**$verdict**: passlink at $(printf '%.0f' "$med_rps_passlink") req/s (needs >= $TARGET_RPS: $rps_ok), p99 $(fmt_ms "$med_p99_passlink") (needs < $(fmt_ms "$TARGET_P99_US"): $p99_ok), replies all 200 with is_success 1 and response_code 200 and no socket errors: $clean (medians of $RUNS runs); passlink/nginx req/s ratio $ratio_passlink"
    echo
    echo "- req/s of each run: passlink ${RPS[passlink]% }; nginx ${RPS[nginx]% }"
    echo "- p50 of each run (us): passlink ${P50[passlink]% }; nginx ${P50[nginx]% }"
    echo "- p99 of each run (us): passlink ${P99[passlink]% }; nginx ${P99[nginx]% }"
    echo "- replies checked by the wrk script (not a 200 containing \`$SUCCESS_MARKER\` and \`$CODE_MARKER\` counts as bad): passlink ${CHECKED[passlink]}, bad ${BAD[passlink]}; nginx ${CHECKED[nginx]}, bad ${BAD[nginx]}"
    echo "- passlink RSS after seeding (before load): $(fmt_mib "$seeded_rss_kb"); after the load: $(fmt_mib "$after_rss_kb"); peak (VmHWM): $(fmt_mib "$peak_rss_kb")"
    echo "- seed: reseller \`$RESELLER\`, $DOMAINS domains bench-0001.example ... bench-$(printf '%04d' "$DOMAINS").example in $((DOMAINS / PER_PROFILE)) profiles of $PER_PROFILE, one \`passlink domain import\` while the server ran (${IMPORT_SECS} s, including one argon2id hash per profile)"
    echo "- reset links: $reset_note"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: nproc $(nproc), $(cpu_model)"
    echo "- passlink: $("$PASSLINK" version 2>/dev/null || echo unknown), commit $COMMIT, config \`[log] level = \"warn\"\`, temp data_dir, other settings default (\`max_connections_per_ip\` 256 > $CONNECTIONS connections)"
    echo "- nginx: $(nginx_version), \`worker_processes auto\`, \`access_log off\`, \`location = / { default_type text/xml; return 200 '<tests/fixtures/opensrs/canned-reply.xml, byte for byte>'; }\`"
    echo "- wrk: $(wrk_version)"
    echo
    echo "Commands (wrk, passlink and nginx share the machine; runs alternate passlink, nginx, ...):"
    echo
    echo '```sh'
    echo "passlink reseller add $RESELLER --config CFG     # prints the private key KEY"
    echo "passlink domain import domains.csv --config CFG  # header: domain,reseller,profile,owner_email,admin_email,password"
    echo "# one checked call before the load; SIG = md5_hex(md5_hex(BODY ‖ KEY) ‖ KEY)"
    echo "curl -fsS -H 'Content-Type: text/xml' -H 'X-Username: $RESELLER' -H 'X-Signature: SIG' --data-binary @body.xml http://127.0.0.1:PORT/"
    echo "# load, $RUNS times per server"
    echo "BENCH_REQUESTS=requests.lua BENCH_USERNAME=$RESELLER BENCH_THREADS=$THREADS \\"
    # shellcheck disable=SC2016  # the $(...) is for the reader's shell
    printf '    BENCH_MARKERS="$(printf %s %s %s)" \\\n' "'%s\n'" "'$SUCCESS_MARKER'" "'$CODE_MARKER'"
    echo "    $WRK_CMD   # URL = http://127.0.0.1:PORT/ (passlink, then nginx)"
    echo '```'
    echo
    echo "requests.lua is generated by Python: \`return { {BODY, SIG}, ... }\`, one pair per domain,"
    echo "BODY being tests/fixtures/opensrs/net-opensrs-send_password.body.xml with \`domain_name\`"
    echo "bench-NNNN.example and \`send_to\` owner (odd NNNN) or admin (even NNNN)."
    echo
    lua_listing xcp.lua check.lua
    problems_section
} >"$RESULTS"

echo
cat "$RESULTS"
if [ "${BAD[passlink]}" -ne 0 ]; then
    die "${BAD[passlink]} passlink replies were not a 200 with is_success 1 and response_code 200 (see $RESULTS)"
fi
