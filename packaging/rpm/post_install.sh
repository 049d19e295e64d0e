# %systemd_post passlink.service: on first install, apply the preset (enable or not).
install -d -o passlink -g passlink -m 0700 /var/lib/passlink
if [ $1 -eq 1 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload preset passlink.service >/dev/null 2>&1 || :
fi
exit 0
