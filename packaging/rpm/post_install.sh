# The state directory (cargo-generate-rpm cannot make the package own it: packaging/README.md).
install -d -o passlink -g passlink -m 0700 /var/lib/passlink
# %systemd_post passlink.service: on first install, apply the preset (enable or not).
if [ $1 -eq 1 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload preset passlink.service >/dev/null 2>&1 || :
fi
exit 0
