#!/usr/bin/env bash
# Builds the stripped release binary, the man pages and completions, and both packages into
# target/packages/: the .deb with cargo-deb (installed with cargo install --locked when
# missing), the .rpm with rpmbuild from packaging/rpm/passlink.spec (Debian's rpm package).
#
#   packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null 2>&1; then
    echo "==> cargo install --locked cargo-deb" >&2
    cargo install --locked cargo-deb
fi
command -v rpmbuild >/dev/null 2>&1 ||
    { echo "packaging/build.sh: no rpmbuild (apt-get install rpm)" >&2; exit 1; }
# The spec's Version is the crate's.
version="$(sed -n 's/^version = "\(.*\)"$/\1/p;T;q' Cargo.toml)"
grep -Eq "^Version: +$version\$" packaging/rpm/passlink.spec ||
    { echo "packaging/build.sh: packaging/rpm/passlink.spec's Version is not $version" >&2; exit 1; }

echo "==> cargo build --release --locked" >&2
# The C the binary links (SQLite, jemalloc) with Debian's hardening (dpkg-buildflags): fortified
# libc calls and a stack protector.
CFLAGS="-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong" cargo build --release --locked

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

# Debian's copyright file (machine-readable format 1.0), generated from LICENSE-MIT and
# LICENSE-APACHE so that it cannot drift from them: the MIT licence in full, the Apache one by
# its path in /usr/share/common-licenses, as Debian policy 12.5 asks (lintian: a full Apache
# text there is an error).
dep5_text() { sed -e 's/[[:space:]]*$//' -e 's/^$/./' -e 's/^/ /' "$1"; }
{
    echo 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'
    echo 'Upstream-Name: passlink'
    echo 'Upstream-Contact: passlink developers <passlink@users.noreply.github.com>'
    echo
    echo 'Files: *'
    echo "Copyright: $(sed -n 's/^Copyright (c) //p' LICENSE-MIT)"
    echo 'License: MIT or Apache-2.0'
    echo
    echo 'License: MIT'
    dep5_text LICENSE-MIT
    echo
    echo 'License: Apache-2.0'
    echo ' Licensed under the Apache License, Version 2.0 (the "License"); you may not'
    echo ' use this software except in compliance with the License.'
    echo ' .'
    echo ' On Debian systems, the complete text of the Apache License, Version 2.0'
    echo ' can be found in "/usr/share/common-licenses/Apache-2.0".'
} >"$gen/copyright"
grep -q '^Copyright: [0-9]' "$gen/copyright" ||
    { echo "packaging/build.sh: no copyright line in LICENSE-MIT" >&2; exit 1; }

out=target/packages
rm -rf "$out"
mkdir -p "$out"
echo "==> cargo deb" >&2
# --strip: cargo already stripped the symbols; this also drops .comment and .note (lintian).
cargo deb --no-build --strip --locked --output "$out/"
# cargo-deb writes no md5sums control file (it has no option for one): unpack the package,
# add DEBIAN/md5sums as dh_md5sums would (every file but the conffiles, paths
# relative to the root, two spaces), and build it again with dpkg-deb. Owners are root for
# every file (--root-owner-group), as cargo-deb wrote them; modes and mtimes are kept.
deb="$(ls "$out"/passlink_*.deb)"
tree=target/deb-tree
rm -rf "$tree"
dpkg-deb --raw-extract "$deb" "$tree"
[ ! -e "$tree/DEBIAN/md5sums" ] ||
    { echo "packaging/build.sh: cargo-deb now writes md5sums: drop the repacking" >&2; exit 1; }
(cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    grep -vxFf <(sed 's|^/||' DEBIAN/conffiles) | xargs -d '\n' md5sum) >"$tree/DEBIAN/md5sums"
chmod 0644 "$tree/DEBIAN/md5sums"
# The folders the extraction made carry today's time; give them cargo-deb's, as the files have.
find "$tree" -type d -exec touch -h -r "$tree/usr/bin/passlink" {} +
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$tree" "$deb" >/dev/null
rm -rf "$tree"
echo "==> rpmbuild -bb packaging/rpm/passlink.spec" >&2
# Nothing is compiled: the spec's %install copies the binary and the generated files from
# target/release and target/packaging (passlink_gen), the rest from the tree (passlink_src).
# Packager is the build's, not the spec's (as Fedora's build system sets it): the maintainer
# the .deb names.
packager="$(sed -n 's/^maintainer = "\(.*\)"$/\1/p;T;q' Cargo.toml)"
[ -n "$packager" ] || { echo "packaging/build.sh: no maintainer in Cargo.toml" >&2; exit 1; }
rm -rf target/rpmbuild
rpmbuild -bb --quiet packaging/rpm/passlink.spec \
    --define "_topdir $PWD/target/rpmbuild" \
    --define "_rpmdir $PWD/$out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "passlink_src $PWD" \
    --define "passlink_gen $PWD/$gen" \
    --define "passlink_bin $PWD/target/release/passlink" \
    --define "packager $packager"
ls -l "$out"
