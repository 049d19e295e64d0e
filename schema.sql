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

-- migrate: 2
-- xmlStorageSystem users (owned by src/accounts.rs). `id` is the usernum; AUTOINCREMENT so a
-- removed user's number, and with it their URLs, is never handed to someone else.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL,
    email_key           TEXT NOT NULL UNIQUE,      -- lower-cased email, the lookup key
    name                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,             -- argon2id PHC string of md5hex(password)
    disabled            INTEGER NOT NULL DEFAULT 0,
    client_port         INTEGER,
    user_agent          TEXT NOT NULL DEFAULT '',
    serial_number       TEXT NOT NULL DEFAULT '',
    weblog_title        TEXT NOT NULL DEFAULT '',
    organization        TEXT NOT NULL DEFAULT '',
    url                 TEXT NOT NULL DEFAULT '',
    behind_firewall     INTEGER NOT NULL DEFAULT 0,
    signed_on           INTEGER NOT NULL DEFAULT 0,
    ct_signons          INTEGER NOT NULL DEFAULT 0,
    ct_upstreams        INTEGER NOT NULL DEFAULT 0,
    ct_bytes_upstreamed INTEGER NOT NULL DEFAULT 0,
    ct_file_deletions   INTEGER NOT NULL DEFAULT 0,
    ct_accesses         INTEGER NOT NULL DEFAULT 0,
    last_ip             TEXT NOT NULL DEFAULT '',
    created_at          INTEGER NOT NULL,          -- unix seconds, like every *_at below
    last_access_at      INTEGER,
    last_upstream_at    INTEGER,
    last_signon_at      INTEGER,
    last_signoff_at     INTEGER
) STRICT;

-- Files users upload (owned by src/files.rs), stored in the database so one file holds all
-- state. Every file of one saveMultipleFiles call is written in one transaction.
CREATE TABLE files (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    path       TEXT NOT NULL,                      -- validated, no leading '/'
    content    BLOB NOT NULL,
    size       INTEGER NOT NULL,
    etag       TEXT NOT NULL,                      -- quoted strong validator
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, path)
) STRICT;

-- rssCloud / requestNotification registrations (owned by src/xss.rs). Callbacks only ever go
-- to the registering client's own IP address.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,                      -- the watched URL
    host       TEXT NOT NULL,                      -- the caller's IP address
    port       INTEGER NOT NULL,
    path       TEXT NOT NULL,
    procedure  TEXT NOT NULL,
    protocol   TEXT NOT NULL CHECK (protocol IN ('xml-rpc', 'soap')),
    expires_at INTEGER NOT NULL,
    UNIQUE (url, host, port, path, procedure)
) STRICT;
CREATE INDEX notifications_by_url ON notifications (url);

-- weblogUpdates.ping log (owned by src/xss.rs), listed at /weblogUpdates/changes.xml.
CREATE TABLE weblog_pings (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    url  TEXT NOT NULL UNIQUE,
    at   INTEGER NOT NULL
) STRICT;

-- migrate: 3
-- OpenSRS XCP resellers (owned by src/xcp/resellers.rs). Every request is signed with
-- md5_hex(md5_hex(body || key) || key), so the server must hold the key itself: it is stored
-- as issued, shown once when created or rotated, and never printed or logged after that.
CREATE TABLE resellers (
    id          INTEGER PRIMARY KEY,
    username    TEXT NOT NULL UNIQUE,
    private_key TEXT NOT NULL,
    allowed_ips TEXT NOT NULL DEFAULT '',          -- space-separated CIDRs; empty allows any
    created_at  INTEGER NOT NULL
) STRICT;

-- migrate: 4
-- OpenSRS domain owners (owned by src/xcp/domains.rs). A profile is a domain owner's
-- management login under one reseller; each domain belongs to one reseller and one profile.
CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    reseller_id   INTEGER NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,                   -- argon2id PHC string
    created_at    INTEGER NOT NULL,
    UNIQUE (reseller_id, username)
) STRICT;

CREATE TABLE domains (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,              -- lower case
    reseller_id INTEGER NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    profile_id  INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
) STRICT;
CREATE INDEX domains_by_profile ON domains (profile_id);

CREATE TABLE contacts (
    domain_id  INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'tech')),
    first_name TEXT NOT NULL DEFAULT '',
    last_name  TEXT NOT NULL DEFAULT '',
    org_name   TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (domain_id, role)
) STRICT;

-- At most one sub-user per profile (UNIQUE profile_id). permission is the OpenSRS bitmask:
-- 1 owner, 2 admin, 4 billing, 8 tech, 16 nameservers, 32 rsp_whois_info.
CREATE TABLE subusers (
    id            INTEGER PRIMARY KEY,
    profile_id    INTEGER NOT NULL UNIQUE REFERENCES profiles(id) ON DELETE CASCADE,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    permission    INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

-- XCP session cookies: only a SHA-256 of the cookie is stored.
CREATE TABLE cookies (
    token_hash     BLOB PRIMARY KEY,
    profile_id     INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    subuser_id     INTEGER REFERENCES subusers(id) ON DELETE CASCADE,
    domain_id      INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_access_at INTEGER NOT NULL,
    last_ip        TEXT NOT NULL
) STRICT;

-- migrate: 5
-- The previous successful XCP login of a profile or sub-user: "set cookie" reports it as
-- last_access_time and last_ip, so an owner can notice a login that was not theirs.
ALTER TABLE profiles ADD COLUMN last_login_at INTEGER;
ALTER TABLE profiles ADD COLUMN last_login_ip TEXT;
ALTER TABLE subusers ADD COLUMN last_login_at INTEGER;
ALTER TABLE subusers ADD COLUMN last_login_ip TEXT;
CREATE INDEX cookies_by_profile ON cookies (profile_id);
CREATE INDEX cookies_by_expiry ON cookies (expires_at);
CREATE INDEX cookies_by_subuser ON cookies (subuser_id);
CREATE INDEX cookies_by_domain ON cookies (domain_id);

-- migrate: 6
-- Password reset links (owned by src/reset.rs). Only a SHA-256 of a token is stored. login_kind
-- and login_id name the account: users.id, profiles.id or subusers.id. A row stays after use or
-- voiding (until purged) because the per-login hourly limit counts rows.
CREATE TABLE reset_tokens (
    token_hash   BLOB PRIMARY KEY,
    login_kind   TEXT NOT NULL CHECK (login_kind IN ('user', 'profile', 'subuser')),
    login_id     INTEGER NOT NULL,
    account      TEXT NOT NULL,                 -- what the page calls the account
    csrf         BLOB NOT NULL,                 -- the form's anti-CSRF value
    requester_ip TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER                        -- used or voided
) STRICT;
CREATE INDEX reset_tokens_by_login ON reset_tokens (login_kind, login_id, created_at);

-- mailPasswordToUser only records the request; the mailer thread resolves the address, so the
-- answer takes the same time whether or not the address has an account.
CREATE TABLE reset_requests (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    requester_ip TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

-- The durable outbox (owned by src/mail.rs). A message is enqueued in the same transaction as
-- its token. The body holds the link until the message is delivered or given up, then the
-- link is scrubbed from it.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- migrate: 7
-- Old URLs of imported weblogs (owned by src/redirects.rs): `GET /<prefix>/<rest>` answers 301
-- to `/users/NNNNNNN/<rest>`. A PyCS alias (`alice`) or a Virtuoso weblog folder
-- (`DAV/alice@example.com/blog`), stored percent-decoded, without leading or trailing '/'.
CREATE TABLE redirects (
    prefix     TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX redirects_by_user ON redirects (user_id);

-- migrate: 8
-- A token's purpose: a reset link, or the "this wasn't me" link of a password-changed notice
-- (src/reset/notice.rs), which locks the login and mails a fresh reset link. Only reset links
-- open the reset form, count towards the hourly limit and are voided by a newer link.
ALTER TABLE reset_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reset'
    CHECK (purpose IN ('reset', 'not_me'));

-- migrate: 9
-- The audit trail of credential events (owned by src/audit.rs): who did what to which login,
-- from where, and how it ended. Never a token, a password, an MD5 or a key. `account` is the
-- account as `passlink reset list` names it, or the name a failed login gave; `login_kind` and
-- `login_id` name the login when there is one. Failed logins are counted per account and
-- client address and written at most once a minute each (`count` attempts from `at`).
-- Housekeeping deletes rows older than [audit] keep_days.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    event      TEXT NOT NULL,
    login_kind TEXT,
    login_id   INTEGER,
    account    TEXT NOT NULL,
    client     TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
    detail     TEXT NOT NULL DEFAULT '',
    count      INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at);

-- migrate: 10
-- Languages and reseller brands (src/reset/audience.rs reads them). A login's `language` is
-- the one its owner last chose on a passlink page (a shipped BCP 47 tag such as 'de' or
-- 'pt-BR', checked in code so that a new language needs no migration); NULL until then. Its
-- mails use it first, then its reseller's.
ALTER TABLE users    ADD COLUMN language TEXT;
ALTER TABLE profiles ADD COLUMN language TEXT;
ALTER TABLE subusers ADD COLUMN language TEXT;
-- A reseller's brand (owned by src/xcp/resellers.rs, set by `passlink reseller brand`): what
-- its customers see on reset mails and pages instead of the server's defaults. NULL = unset.
ALTER TABLE resellers ADD COLUMN brand_name TEXT;     -- "Acme Domains"
ALTER TABLE resellers ADD COLUMN mail_from  TEXT;     -- the From: address; the envelope stays [smtp] from
ALTER TABLE resellers ADD COLUMN support    TEXT;     -- an address or an https URL
ALTER TABLE resellers ADD COLUMN accent     TEXT;     -- '#rrggbb'
ALTER TABLE resellers ADD COLUMN language   TEXT;
-- A reseller's own mail texts, per mail and language, checked like [reset] templates_dir's.
CREATE TABLE reseller_templates (
    reseller_id INTEGER NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,                    -- "reset.de.txt", "changed.html", ...
    body        TEXT NOT NULL,
    PRIMARY KEY (reseller_id, name)
) STRICT;
-- The language of a link's mail when the login or its reseller chose it (NULL: the server's
-- default, so the browser decides the page's), and the domain an XCP link was issued for,
-- which the page names.
ALTER TABLE reset_tokens ADD COLUMN language TEXT;
ALTER TABLE reset_tokens ADD COLUMN domain   TEXT;
-- A message's own From: and Reply-To: (a reseller's brand) and its language; NULL = the
-- server's [smtp] from, no Reply-To.
ALTER TABLE outbox ADD COLUMN from_name    TEXT;
ALTER TABLE outbox ADD COLUMN from_address TEXT;
ALTER TABLE outbox ADD COLUMN reply_to     TEXT;
ALTER TABLE outbox ADD COLUMN language     TEXT;
