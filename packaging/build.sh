#!/usr/bin/env bash
# Builds the stripped release binary, the man pages and completions, and both packages into
# target/packages/. Installs cargo-deb and cargo-generate-rpm (cargo install --locked) when
# they are missing.
#
#   packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo-deb:cargo-deb cargo-generate-rpm:cargo-generate-rpm; do
    command="${tool%%:*}"
    crate="${tool##*:}"
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "==> cargo install --locked $crate" >&2
        cargo install --locked "$crate"
    fi
done

echo "==> cargo build --release --locked" >&2
cargo build --release --locked

# What the packages ship besides the binary, generated into target/packaging/.
gen=target/packaging
rm -rf "$gen"
mkdir -p "$gen"
cargo run --quiet --locked -p xtask -- "$gen"
gzip -9n "$gen/passlink.8" "$gen/passlink.toml.5"
# The packaged config: the documented defaults, with the data under /var/lib/passlink.
sed 's|^data_dir = "./passlink-data"$|data_dir = "/var/lib/passlink"|' etc/passlink.toml >"$gen/passlink.toml"
grep -q '^data_dir = "/var/lib/passlink"$' "$gen/passlink.toml" ||
    { echo "packaging/build.sh: data_dir not found in etc/passlink.toml" >&2; exit 1; }

out=target/packages
rm -rf "$out"
mkdir -p "$out"
echo "==> cargo deb" >&2
cargo deb --no-build --locked --output "$out/"
echo "==> cargo generate-rpm" >&2
cargo generate-rpm --output "$out/"
ls -l "$out"
