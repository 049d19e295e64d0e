# The system user, before the files that belong to its group are unpacked.
getent group passlink >/dev/null || groupadd -r passlink
getent passwd passlink >/dev/null || \
    useradd -r -g passlink -d /var/lib/passlink -s /sbin/nologin \
        -c "passlink password service" passlink
exit 0
