-- passlink's SQLite schema, as its history of migrations.
--
-- Each section that starts with a "-- migrate: N" line upgrades a database whose
-- PRAGMA user_version is N-1 to version N. On start (and with `passlink db migrate`) every
-- section above the file's version runs in one transaction, then user_version is set to the
-- last N. Never edit a section that has shipped: append a new one.

-- migrate: 1
-- Facts about this database itself.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
