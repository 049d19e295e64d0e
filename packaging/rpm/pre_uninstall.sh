# %systemd_preun passlink.service: on erase (not upgrade), disable and stop.
if [ $1 -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now passlink.service >/dev/null 2>&1 || :
fi
exit 0
