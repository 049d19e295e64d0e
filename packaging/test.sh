#!/usr/bin/env bash
# Packaging checks for CI (.ci/run calls this): builds both packages, inspects them, scores the
# unit's hardening, installs the .deb on this machine, runs the unit's ExecStart as the
# passlink user until /healthz answers, then purges and checks that nothing is left.
# Needs root (or passwordless sudo) for dpkg -i.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'packaging/test.sh: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'packaging: ok: %s\n' "$*"; }
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -n); fi

bash packaging/build.sh
deb=target/packages/passlink_0.1.0-1_amd64.deb
rpm=target/packages/passlink-0.1.0-1.x86_64.rpm
[ -f "$deb" ] || fail "no $deb"
[ -f "$rpm" ] || fail "no $rpm"

# --- the .deb ---------------------------------------------------------------------------------
contents="$(dpkg-deb -c "$deb")"
expect_file() { # listing, mode, owner, path
    grep -Eq "^$2 $3 +[0-9]+ [0-9-]+ [0-9:]+ \\./$4\$" <<<"$1" || fail "deb: $4 ($2 $3) missing"
}
expect_file "$contents" '-rwxr-xr-x' '0/0' 'usr/bin/passlink'
expect_file "$contents" '-rw-r-----' '0/0' 'etc/passlink/passlink.toml'
expect_file "$contents" '-rw-r--r--' '0/0' 'lib/systemd/system/passlink.service'
expect_file "$contents" '-rw-r--r--' '0/0' 'usr/lib/sysusers.d/passlink.conf'
expect_file "$contents" '-rw-r--r--' '0/0' 'usr/share/man/man8/passlink.8.gz'
expect_file "$contents" '-rw-r--r--' '0/0' 'usr/share/man/man5/passlink.toml.5.gz'
expect_file "$contents" '-rw-r--r--' '0/0' 'usr/share/bash-completion/completions/passlink'
expect_file "$contents" '-rw-r--r--' '0/0' 'usr/share/zsh/vendor-completions/_passlink'
info="$(dpkg-deb -I "$deb")"
grep -q '^ Depends: .*libc6' <<<"$info" || fail "deb: Depends not resolved from the binary"
[ "$(dpkg-deb -f "$deb" Package)" = passlink ] || fail "deb: package name"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/passlink/passlink.toml ||
    fail "deb: the config is not a conffile"
for script in postinst prerm postrm; do
    grep -q "$script" <<<"$info" || fail "deb: no $script"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'deb-systemd-helper enable' ||
    fail "deb: postinst does not enable the unit"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postrm | grep -q 'rm -rf /var/lib/passlink' ||
    fail "deb: postrm does not remove the state on purge"
ok "deb contents, modes, conffiles and scripts"
lintian_out="$(lintian "$deb" 2>&1 | grep -v 'running with root privileges' || true)"
printf '%s\n' "$lintian_out"
if grep -q '^E:' <<<"$lintian_out"; then fail "lintian reported errors"; fi
ok "lintian: no errors"

# --- the .rpm ---------------------------------------------------------------------------------
listing="$(rpm -qplv "$rpm" 2>/dev/null)"
expect_rpm() { # mode, owner, group, path
    grep -Eq "^$1 +[0-9]+ $2 +$3 .* $4\$" <<<"$listing" || fail "rpm: $4 ($1 $2:$3) missing"
}
expect_rpm '-rwxr-xr-x' root root /usr/bin/passlink
expect_rpm '-rw-r-----' root passlink /etc/passlink/passlink.toml
expect_rpm '-rw-r--r--' root root /usr/lib/systemd/system/passlink.service
expect_rpm '-rw-r--r--' root root /usr/lib/sysusers.d/passlink.conf
expect_rpm '-rw-r--r--' root root /usr/share/man/man8/passlink.8.gz
rpm -qpc "$rpm" 2>/dev/null | grep -qx /etc/passlink/passlink.toml || fail "rpm: config not marked"
scripts="$(rpm -qp --scripts "$rpm" 2>/dev/null)"
for want in 'useradd -r' 'preset passlink.service' 'disable --now passlink.service' \
    'try-restart passlink.service'; do
    grep -q -- "$want" <<<"$scripts" || fail "rpm scripts: no '$want'"
done
ok "rpm files, modes, config and scriptlets"

# --- the unit ----------------------------------------------------------------------------------
score="$(systemd-analyze security --offline=true packaging/passlink.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for passlink.service: \([0-9.]*\).*/\1/p')"
[ -n "$score" ] || fail "no systemd-analyze security score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "security score $score > 2.0"
ok "systemd-analyze security: $score"

# --- install, run, purge ----------------------------------------------------------------------
"${sudo[@]}" dpkg -i "$deb" >/dev/null
getent passwd passlink >/dev/null || fail "no passlink user after install"
[ "$(stat -c '%a %U %G' /etc/passlink/passlink.toml)" = "640 root passlink" ] ||
    fail "config is $(stat -c '%a %U %G' /etc/passlink/passlink.toml), not 640 root passlink"
grep -q '^data_dir = "/var/lib/passlink"$' /etc/passlink/passlink.toml || fail "packaged data_dir"
"${sudo[@]}" systemd-analyze verify /lib/systemd/system/passlink.service ||
    fail "systemd-analyze verify"
grep -qx 'RestartPreventExitStatus=78' /lib/systemd/system/passlink.service ||
    fail "the unit restarts after a configuration error (exit 78)"
ok "installed: user, config 0640 root:passlink, unit verifies, no restart on exit 78"

# No systemd runs here, so the unit's exact ExecStart runs as its User in its WorkingDirectory.
exec_start="$(sed -n 's/^ExecStart=//p' /lib/systemd/system/passlink.service)"
log="$(mktemp)"
# shellcheck disable=SC2086 # the command line is split into words, as systemd does
(cd /var/lib/passlink && exec "${sudo[@]}" runuser -u passlink -- $exec_start) >"$log" 2>&1 &
pid=$!
healthy=no
for _ in $(seq 100); do
    if python3 -c 'import urllib.request,sys
sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:5445/healthz", timeout=1).status == 200 else 1)' 2>/dev/null; then
        healthy=yes
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
"${sudo[@]}" pkill -TERM -u passlink -x passlink || true
wait "$pid" || true
cat "$log"
[ "$healthy" = yes ] || fail "the installed passlink did not answer /healthz"
[ -f /var/lib/passlink/passlink.sqlite3 ] || fail "no database in /var/lib/passlink"
[ "$(stat -c %U /var/lib/passlink/passlink.sqlite3)" = passlink ] || fail "database owner"
ok "ExecStart as passlink answered /healthz, data in /var/lib/passlink"

# The trap a newcomer walks into: a command run as root on the service's data directory would
# leave root-owned files the service cannot open. It is refused (exit 77) with the command
# that works, and that command works.
set +e
out="$("${sudo[@]}" /usr/bin/passlink user list --config /etc/passlink/passlink.toml 2>&1)"
rc=$?
set -e
[ "$rc" = 77 ] || fail "user list as root: exit $rc, not 77: $out"
grep -q 'sudo -u passlink passlink user list' <<<"$out" || fail "user list as root: no hint: $out"
"${sudo[@]}" runuser -u passlink -- /usr/bin/passlink user list --config /etc/passlink/passlink.toml \
    >/dev/null || fail "user list as passlink"
[ -z "$("${sudo[@]}" find /var/lib/passlink -user root)" ] || fail "root-owned files in /var/lib/passlink"
ok "as root on the service's data: refused with the sudo -u passlink hint; as passlink: works"

"${sudo[@]}" dpkg --purge passlink >/dev/null
for path in /usr/bin/passlink /etc/passlink /var/lib/passlink /lib/systemd/system/passlink.service \
    /usr/lib/sysusers.d/passlink.conf /usr/share/man/man8/passlink.8.gz /usr/share/doc/passlink \
    /etc/systemd/system/multi-user.target.wants/passlink.service; do
    [ ! -e "$path" ] || fail "$path left after purge"
done
ok "purged: no file left (the system user stays, as Debian policy asks)"
rm -f "$log"
