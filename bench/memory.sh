#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The memory attacks (issue 15): what hostile clients can make passlink hold, with no login.
# Writes bench/results/memory.md and memory.json and prints the Markdown.
#
#   bench/memory.sh                                   # this tree's release build
#   BENCH_BASELINE_BIN=/path/to/passlink bench/memory.sh   # and another build, same run
#
# Each attack runs against a freshly started passlink (default config, log level warn, a
# temporary data directory), so that one attack's leftovers never count in the next:
#   partial-1    200 connections from 127.0.0.2, each declaring an 8 MiB body and sending all
#                but its last byte, then holding;
#   partial-20   the same, spread over 20 addresses (127.0.0.10 to .29);
#   xmlrpc-i4    six parallel ~6 MB XML-RPC calls of 240,000 <i4> array items, three rounds;
#   soap-int     the same as SOAP (240,000 xsd:int items), three rounds.
# Measured by bench/memory_attacks.py: peak RSS during the attack (VmHWM after clear_refs, and
# VmRSS sampled every 10 ms), RSS 10 s after the attack ends, and the p99 of a good client
# asking for /healthz every 50 ms from 127.0.0.1 while the attack runs.
# With BENCH_BASELINE_BIN the same attacks run against that binary too, alternating, in the same
# run, for a before/after table.
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init memory
RESULTS_MD="$RESULTS_DIR/memory.md"
RESULTS_JSON="$RESULTS_DIR/memory.json"
ATTACKS=(partial-1 partial-20 xmlrpc-i4 soap-int)
if [ -n "${BENCH_ATTACKS:-}" ]; then
    read -r -a ATTACKS <<<"$BENCH_ATTACKS"
fi
BASELINE="${BENCH_BASELINE_BIN:-}"

install_tools
build_release
make_tmp

declare -a BINARIES=("$PASSLINK")
declare -A LABEL=(["$PASSLINK"]="this tree ($COMMIT)")
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || die "BENCH_BASELINE_BIN=$BASELINE is not an executable"
    BINARIES=("$BASELINE" "$PASSLINK")
    LABEL["$BASELINE"]="baseline ($BASELINE)"
fi

results=()
n=0
for attack in "${ATTACKS[@]}"; do
    for bin in "${BINARIES[@]}"; do
        n=$((n + 1))
        port="$(free_port)"
        data="$TMP/data-$n"
        write_passlink_config "$TMP/passlink-$n.toml" "$port" "$data"
        PASSLINK_SAVED="$PASSLINK"
        PASSLINK="$bin"
        start_passlink "$TMP/passlink-$n.toml" "$port" "$TMP/passlink-$n.log"
        PASSLINK="$PASSLINK_SAVED"
        log "attack $attack on ${LABEL[$bin]}"
        out="$TMP/result-$n.json"
        python3 "$REPO/bench/memory_attacks.py" --port "$port" --pid "$PID_PASSLINK" \
            --json "$out" "$attack" >&2 || PROBLEMS+=("$attack: passlink (${LABEL[$bin]}) died")
        python3 - "$out" "${LABEL[$bin]}" <<'PY' >"$out.labelled"
import json, sys
d = json.load(open(sys.argv[1]))
d["binary"] = sys.argv[2]
print(json.dumps(d))
PY
        results+=("$out.labelled")
        kill -TERM "$PID_PASSLINK" 2>/dev/null || true
        wait "$PID_PASSLINK" 2>/dev/null || true
    done
done

mkdir -p "$RESULTS_DIR"
python3 - "$RESULTS_MD" "$RESULTS_JSON" "$COMMIT" "$(cpu_model)" "${results[@]}" <<'PY'
import json, sys, datetime, os
md_path, json_path, commit, cpu = sys.argv[1:5]
rows = [json.load(open(p)) for p in sys.argv[5:]]
mib = lambda kb: f"{kb / 1024:.1f} MiB"
names = {
    "partial-1": "200 partial 8 MiB bodies, one address",
    "partial-20": "200 partial 8 MiB bodies, 20 addresses",
    "xmlrpc-i4": "6 parallel 6 MB XML-RPC calls, 240,000 <i4> each (x3)",
    "soap-int": "6 parallel 6 MB SOAP calls, 240,000 xsd:int each (x3)",
}
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
lines = [
    "# passlink memory attacks (bench/memory.sh)",
    "",
    f"{now}; nproc {os.cpu_count()}, {cpu}; passlink commit {commit}.",
    "",
    "| attack | binary | RSS before | peak RSS | RSS 10 s after | good client p99 (max) | good client failures | what the attack got |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
]
for r in rows:
    detail = r["detail"].get("replies", {})
    got = "; ".join(f"{v}x {k}" for k, v in sorted(detail.items(), key=lambda kv: -kv[1]))
    lines.append(
        f"| {names.get(r['attack'], r['attack'])} | {r['binary']} | {mib(r['rss_before_kb'])} | "
        f"{mib(r['peak_rss_kb'])} | {mib(r['settled_rss_kb'])} | {r['probe_p99_ms']:.1f} ms "
        f"({r['probe_max_ms']:.1f} ms) | {r['probe_failures']} of {r['probe_requests']} | {got} |"
    )
lines += [
    "",
    "Each row is a freshly started passlink with the default config. Peak: the larger of VmHWM "
    "(reset through /proc/PID/clear_refs before the attack) and VmRSS sampled every 10 ms. "
    "The good client asks for /healthz every 50 ms from 127.0.0.1 during the attack, on a new "
    "connection each time.",
]
open(md_path, "w").write("\n".join(lines) + "\n")
open(json_path, "w").write(json.dumps(rows, indent=2) + "\n")
print("\n".join(lines))
PY
if [ "${#PROBLEMS[@]}" -gt 0 ]; then
    printf 'problem: %s\n' "${PROBLEMS[@]}" >&2
    exit 1
fi
