#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The password blocklist's cost (issue 19): `passlink check-config`, which reads every file the
# config names the way `serve` does, timed with /usr/bin/time -v with and without a
# `[passwords] blocklist_file` of BENCH_BLOCKLIST_ENTRIES (default 1,000,000) Have I Been Pwned
# lines (`SHA1:count`), 5 runs each, alternating; the medians of wall time and peak RSS, and
# their differences: the blocklist's load time and memory. Writes bench/results/blocklist.md.
#
#   bench/blocklist.sh
#   BENCH_BLOCKLIST_ENTRIES=10000 bench/blocklist.sh     # check the script itself
set -euo pipefail

ENTRIES="${BENCH_BLOCKLIST_ENTRIES:-1000000}"
RUNS_EACH=5

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init blocklist
RESULTS="$RESULTS_DIR/blocklist.md"
command -v python3 >/dev/null 2>&1 || die "python3 is needed"
build_release
make_tmp

log "writing $ENTRIES HIBP lines"
python3 - "$TMP/hibp.txt" "$ENTRIES" <<'PY'
import hashlib, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as out:
    for i in range(n):
        out.write(f"{hashlib.sha1(f'pw-{i}'.encode()).hexdigest().upper()}:{i % 1000 + 1}\n")
PY
mkdir -p "$TMP/data"
printf '[storage]\ndata_dir = "%s/data"\n' "$TMP" >"$TMP/plain.toml"
printf '[storage]\ndata_dir = "%s/data"\n[passwords]\nblocklist_file = "%s/hibp.txt"\n' "$TMP" "$TMP" >"$TMP/list.toml"

# run NAME CONFIG: one timed check-config; appends wall seconds and max RSS (KiB).
declare -A WALL RSS
run() {
    local name="$1" config="$2" out="$TMP/time.txt"
    /usr/bin/time -v "$PASSLINK" --config "$config" check-config >/dev/null 2>"$out" ||
        { cat "$out" >&2; die "check-config failed ($name)"; }
    local wall rss
    wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out" | awk -F: '{ print $(NF-1) * 60 + $NF }')"
    rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out")"
    WALL[$name]+="$wall "
    RSS[$name]+="$rss "
}
for _ in $(seq "$RUNS_EACH"); do
    run plain "$TMP/plain.toml"
    run list "$TMP/list.toml"
done
# shellcheck disable=SC2086
{
    wp="$(median ${WALL[plain]})"; wl="$(median ${WALL[list]})"
    rp="$(median ${RSS[plain]})"; rl="$(median ${RSS[list]})"
    echo "# Password blocklist: load time and memory"
    echo
    echo "\`bench/blocklist.sh\`, commit $COMMIT, $(cpu_model), $(nproc) cores; $ENTRIES HIBP lines"
    echo "($(du -h "$TMP/hibp.txt" | cut -f1) on disk). \`passlink check-config\` reads the config's files as"
    echo "\`serve\` does; medians of $RUNS_EACH runs each, alternating."
    echo
    echo "| config | wall time | peak RSS |"
    echo "|---|---:|---:|"
    echo "| no blocklist | ${wp} s | $(fmt_mib "$rp") |"
    echo "| blocklist_file, $ENTRIES entries | ${wl} s | $(fmt_mib "$rl") |"
    echo "| **the blocklist's cost** | $(awk -v a="$wl" -v b="$wp" 'BEGIN { printf "%.2f", a - b }') s | $(fmt_mib "$((rl - rp))") |"
    echo
    echo "Targets (issue 19): at most 2 MiB of memory and 1 s to load for 1,000,000 entries."
} | tee "$RESULTS"
