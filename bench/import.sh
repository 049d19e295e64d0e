#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The import benchmark (issue 18): `passlink import pycs` of 10,000 users and 100,000 files of
# 4 KB into a running server, measuring the import's wall time and peak RSS, and the server's
# p99 for getServerCapabilities throughout. Writes bench/results/import.md (also printed).
#
#   bench/import.sh                                   # 10,000 users, 10 files each
#   BENCH_IMPORT_USERS=500 BENCH_IMPORT_FILES=2 bench/import.sh   # check the script itself
#
# It builds passlink with `cargo build --release --locked`, generates the PyCS export (a
# pycs_users CSV and a www/users/NNNNNNN/ tree of random 4,096-byte files) in a temporary
# directory, starts passlink there, registers one user over XML-RPC, then runs the import
# with /usr/bin/time -v while wrk -t1 -c4 sends that user's getServerCapabilities in windows of
# 5 s, one after another, until the import ends. A second run of the same import (nothing to
# change: every password is verified again) is timed too.
#
# Targets (from the issue): under 5 minutes on two cores, peak RSS under 64 MiB, the server's
# p99 under 50 ms throughout.
set -euo pipefail

USERS="${BENCH_IMPORT_USERS:-10000}"
FILES_PER_USER="${BENCH_IMPORT_FILES:-10}"
WINDOW="${BENCH_IMPORT_WINDOW:-5s}"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init import
RESULTS="$RESULTS_DIR/import.md"
install_tools
build_release
make_tmp

log "generating $USERS users and $((USERS * FILES_PER_USER)) files of 4,096 bytes"
python3 - "$TMP/old" "$USERS" "$FILES_PER_USER" <<'PY'
import hashlib, os, sys
root, users, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
www = os.path.join(root, "www", "users")
os.makedirs(www)
with open(os.path.join(root, "pycs_users.csv"), "w") as csv:
    csv.write("usernum,email,password,name,disabled,alias,flmanila,membersince,weblogtitle\n")
    for i in range(users):
        num = 1000 + i
        md5 = hashlib.md5(f"password-{num}".encode()).hexdigest()
        csv.write(f"{num},user{num}@bench.example,{md5},User {num},0,,0,2004-01-02 03:04:05,\n")
        folder = os.path.join(www, f"{num:07d}", "stories")
        os.makedirs(folder)
        for f in range(per):
            with open(os.path.join(folder, f"{f:04d}.html"), "wb") as out:
                out.write(os.urandom(4096))
PY

passlink_up    # PORT_PASSLINK, PID_PASSLINK
URL="http://127.0.0.1:$PORT_PASSLINK/RPC2"
EMAIL="probe@bench.example" PASSWORD_MD5="$(printf 'probe' | md5sum | cut -d' ' -f1)"
xmlrpc_register "$URL" "the probe user"    # USERNUM (0000001), CAPS_BODY
xmlrpc_post "$URL" "$CAPS_BODY" >/dev/null

# run_import LABEL: the import under /usr/bin/time -v while wrk measures the server in windows.
run_import() {
    local label="$1" windows=0 out
    /usr/bin/time -v "$PASSLINK" --config "$TMP/passlink.toml" import pycs \
        --users "$TMP/old/pycs_users.csv" --www "$TMP/old/www" --json \
        >"$TMP/$label.json" 2>"$TMP/$label.time" &
    local import_pid=$!
    P99S=()
    while kill -0 "$import_pid" 2>/dev/null; do
        out="$TMP/$label-wrk-$windows.txt"
        BENCH_BODY="$CAPS_BODY" BENCH_MARKERS='<name>flError</name><value><boolean>0</boolean>' \
            BENCH_BAD_LABEL="getServerCapabilities" \
            run_wrk_to "$out" -t1 -c4 -d"$WINDOW" --latency -s bench/lua/post.lua "$URL" >/dev/null
        P99S+=("$W_P99")
        if [ "${W_BAD:-0}" != 0 ]; then
            PROBLEMS+=("$label, window $windows: $W_BAD bad getServerCapabilities replies")
        fi
        for e in "${W_ERRORS[@]}"; do
            PROBLEMS+=("$label, window $windows: $e")
        done
        windows=$((windows + 1))
    done
    wait "$import_pid" || { cat "$TMP/$label.time" >&2; die "the import failed"; }
    WALL="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$TMP/$label.time")"
    RSS_KB="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/$label.time")"
    MAX_P99="$(printf '%s\n' "${P99S[@]}" | sort -g | tail -n 1)"
    MEDIAN_P99="$(median "${P99S[@]}")"
    WINDOWS="$windows"
}

log "import (first run)"
run_import first
first=("$WALL" "$RSS_KB" "$MAX_P99" "$MEDIAN_P99" "$WINDOWS")
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["users_imported"], r["files_imported"], r["bytes_imported"])' \
    "$TMP/first.json" >"$TMP/first.counts"
read -r imported_users imported_files imported_bytes <"$TMP/first.counts"
[ "$imported_users" = "$USERS" ] || die "imported $imported_users users, not $USERS"
log "import (second run: nothing to change)"
run_import second
second=("$WALL" "$RSS_KB" "$MAX_P99" "$MEDIAN_P99" "$WINDOWS")
check_passlink_alive passlink
server_hwm="$(proc_kb "$PID_PASSLINK" VmHWM)"

{
    echo "# Import benchmark"
    echo
    echo "\`bench/import.sh\`, commit $COMMIT$([ "$SRC_DIRTY" = yes ] && echo ' (with uncommitted source changes)'), $(cpu_model), $(nproc) cores."
    echo "$USERS PyCS users (each with an MD5 password, hashed with argon2id) and $imported_files files"
    echo "of 4,096 bytes ($imported_bytes bytes) imported into a running passlink; wrk -t1 -c4 sends"
    echo "getServerCapabilities for another user in windows of $WINDOW throughout."
    echo
    echo "| run | wall time | import peak RSS | server p99, worst window | server p99, median window | windows |"
    echo "|---|---|---|---|---|---|"
    echo "| first (everything new) | ${first[0]} | $(fmt_mib "${first[1]}") | $(fmt_ms "${first[2]}") | $(fmt_ms "${first[3]}") | ${first[4]} |"
    echo "| second (nothing to change) | ${second[0]} | $(fmt_mib "${second[1]}") | $(fmt_ms "${second[2]}") | $(fmt_ms "${second[3]}") | ${second[4]} |"
    echo
    echo "Server peak RSS (VmHWM) after both: $(fmt_mib "$server_hwm")."
    echo "Targets: under 5 minutes, import peak RSS under 64 MiB, server p99 under 50 ms."
    problems_section
} | tee "$RESULTS"
