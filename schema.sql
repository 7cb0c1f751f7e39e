-- factordesk schema. This file is the truth: a list of migration steps, each
-- applied once in order and recorded in PRAGMA user_version. A shipped step is
-- never edited; a change is a new step appended at the end.
-- Times are INTEGER Unix seconds (UTC). Secrets are sealed or keyed-hashed
-- with a key that is not in this file.

-- step 1: the whole schema
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name            TEXT    NOT NULL DEFAULT '',
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    status          TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash   TEXT,
    phone           TEXT,
    phone_verified  INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    every_login     INTEGER NOT NULL DEFAULT 0 CHECK (every_login IN (0, 1)),
    -- Lockout: only failed attempts with an id above `failures_after` count
    -- (it moves at a success, an unlock or a lock); the count at the last
    -- failure; and the lock itself.
    failures        INTEGER NOT NULL DEFAULT 0,
    failures_after  INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL,
    -- Enrolment grace runs from here: creation, or the last 2FA reset.
    grace_from      INTEGER NOT NULL,
    last_login_at   INTEGER,
    -- Maintained by triggers below, so the console's filters and counts are
    -- answered from indexes at any size.
    active_factors  INTEGER NOT NULL DEFAULT 0,
    factor_kinds    TEXT    NOT NULL DEFAULT '',
    codes_total     INTEGER NOT NULL DEFAULT 0,
    codes_left      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX users_locked_until ON users (locked_until) WHERE locked_until IS NOT NULL;
CREATE INDEX users_status ON users (status, email);
CREATE INDEX users_active_factors ON users (active_factors, grace_from);
CREATE INDEX users_codes_left ON users (codes_total, codes_left);
CREATE INDEX users_created_at ON users (created_at);

CREATE VIRTUAL TABLE users_fts USING fts5 (
    email, name,
    content = 'users', content_rowid = 'id', tokenize = 'trigram'
);
-- Searches of one or two characters match the start of a word (the parts of
-- an email between dots and @, a name's words): trigrams need three.
CREATE VIRTUAL TABLE users_words USING fts5 (
    email, name,
    content = 'users', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2'
);
CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, email, name) VALUES (new.id, new.email, new.name);
    INSERT INTO users_words (rowid, email, name) VALUES (new.id, new.email, new.name);
END;
CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, email, name) VALUES ('delete', old.id, old.email, old.name);
    INSERT INTO users_words (users_words, rowid, email, name) VALUES ('delete', old.id, old.email, old.name);
END;
CREATE TRIGGER users_fts_update AFTER UPDATE OF email, name ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, email, name) VALUES ('delete', old.id, old.email, old.name);
    INSERT INTO users_fts (rowid, email, name) VALUES (new.id, new.email, new.name);
    INSERT INTO users_words (users_words, rowid, email, name) VALUES ('delete', old.id, old.email, old.name);
    INSERT INTO users_words (rowid, email, name) VALUES (new.id, new.email, new.name);
END;

-- AUTOINCREMENT: an id is never reused, so the audit trail's "factor 3"
-- always means one factor.
CREATE TABLE factors (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('totp', 'sms', 'email')),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    label         TEXT    NOT NULL,
    -- E.164 phone for sms, address for email; NULL for totp.
    destination   TEXT,
    -- TOTP secret sealed with the AEAD key; NULL for sms and email.
    secret        BLOB,
    drift_steps   INTEGER NOT NULL DEFAULT 0,
    last_step     INTEGER,
    last_used_at  INTEGER,
    last_used_ip  TEXT,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER
) STRICT;
CREATE INDEX factors_user ON factors (user_id, status);
CREATE INDEX factors_pending ON factors (created_at) WHERE status = 'pending';

CREATE TABLE backup_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL CHECK (position BETWEEN 1 AND 10),
    -- HMAC-SHA256 of the canonical code under the key.
    code_mac    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_ip     TEXT,
    UNIQUE (user_id, code_mac)
) STRICT;

CREATE TABLE devices (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- HMAC of the device token the browser keeps; the token itself is not stored.
    token_mac      BLOB    NOT NULL UNIQUE,
    label          TEXT    NOT NULL,
    last_ip        TEXT    NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    trusted_until  INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
) STRICT;
CREATE INDEX devices_user ON devices (user_id, trusted_until);

CREATE TABLE challenges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Kept when its factor is removed, so it can say it was cancelled.
    factor_id     INTEGER REFERENCES factors (id) ON DELETE SET NULL,
    purpose       TEXT    NOT NULL CHECK (purpose IN ('login', 'export', 'enrol')),
    device_id     INTEGER REFERENCES devices (id) ON DELETE SET NULL,
    ip            TEXT    NOT NULL,
    -- HMAC of the current SMS/email code, and the code sealed (so `keep`
    -- mode can send the same code again); NULL for totp.
    code_mac      BLOB,
    code_sealed   BLOB,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    resends       INTEGER NOT NULL DEFAULT 0,
    last_sent_at  INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'accepted', 'failed', 'cancelled')),
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER
) STRICT;
CREATE INDEX challenges_user ON challenges (user_id, id);
CREATE INDEX challenges_factor ON challenges (factor_id);
CREATE INDEX challenges_device ON challenges (device_id);

-- The simulated SMS gateway and mailbox: what was sent, where, and how it went.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    challenge_id  INTEGER REFERENCES challenges (id) ON DELETE SET NULL,
    factor_id     INTEGER REFERENCES factors (id) ON DELETE SET NULL,
    channel       TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    destination   TEXT    NOT NULL,
    -- The message text, sealed: it holds a live code.
    body          BLOB    NOT NULL,
    code_mac      BLOB,
    status        TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    reason        TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX deliveries_at ON deliveries (created_at);
CREATE INDEX deliveries_user ON deliveries (user_id, created_at);
CREATE INDEX deliveries_challenge ON deliveries (challenge_id);
CREATE INDEX deliveries_factor ON deliveries (factor_id);
CREATE INDEX deliveries_failed ON deliveries (created_at) WHERE status = 'failed';

-- Every second-factor attempt, with what the doctor needs and never the code.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    challenge_id    INTEGER REFERENCES challenges (id) ON DELETE SET NULL,
    factor_id       INTEGER REFERENCES factors (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('totp', 'sms', 'email', 'backup')),
    outcome         TEXT    NOT NULL CHECK (outcome IN ('accepted', 'invalid', 'expired', 'replayed', 'locked')),
    ip              TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    -- A wrong TOTP code: the step, relative to now, it would have matched (±20).
    matched_offset  INTEGER,
    -- A replayed TOTP code: when and from where its step was first used.
    first_used_at   INTEGER,
    first_used_ip   TEXT
) STRICT;
CREATE INDEX attempts_user ON attempts (user_id, at);
CREATE INDEX attempts_failed ON attempts (user_id, id) WHERE outcome IN ('invalid', 'replayed');
CREATE INDEX attempts_challenge ON attempts (challenge_id);
CREATE INDEX attempts_factor ON attempts (factor_id);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    ip          TEXT
) STRICT;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user ON audit (user_id, at);
CREATE INDEX audit_kind ON audit (kind, at);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;

CREATE TABLE policy (
    key         TEXT PRIMARY KEY,
    value       TEXT    NOT NULL,
    changed_at  INTEGER NOT NULL
) STRICT;

-- Maintained per-user counters.
CREATE TRIGGER factors_count_insert AFTER INSERT ON factors BEGIN
    UPDATE users SET
        active_factors = (SELECT count(*) FROM factors WHERE user_id = new.user_id AND status = 'active'),
        factor_kinds = (SELECT coalesce(group_concat(kind, ','), '') FROM
            (SELECT DISTINCT kind FROM factors WHERE user_id = new.user_id AND status = 'active' ORDER BY kind))
    WHERE id = new.user_id;
END;
CREATE TRIGGER factors_count_update AFTER UPDATE OF status ON factors BEGIN
    UPDATE users SET
        active_factors = (SELECT count(*) FROM factors WHERE user_id = new.user_id AND status = 'active'),
        factor_kinds = (SELECT coalesce(group_concat(kind, ','), '') FROM
            (SELECT DISTINCT kind FROM factors WHERE user_id = new.user_id AND status = 'active' ORDER BY kind))
    WHERE id = new.user_id;
END;
CREATE TRIGGER factors_count_delete AFTER DELETE ON factors BEGIN
    UPDATE users SET
        active_factors = (SELECT count(*) FROM factors WHERE user_id = old.user_id AND status = 'active'),
        factor_kinds = (SELECT coalesce(group_concat(kind, ','), '') FROM
            (SELECT DISTINCT kind FROM factors WHERE user_id = old.user_id AND status = 'active' ORDER BY kind))
    WHERE id = old.user_id;
END;
CREATE TRIGGER codes_count_insert AFTER INSERT ON backup_codes BEGIN
    UPDATE users SET codes_total = codes_total + 1,
        codes_left = codes_left + (new.used_at IS NULL)
    WHERE id = new.user_id;
END;
CREATE TRIGGER codes_count_use AFTER UPDATE OF used_at ON backup_codes
    WHEN old.used_at IS NULL AND new.used_at IS NOT NULL BEGIN
    UPDATE users SET codes_left = codes_left - 1 WHERE id = new.user_id;
END;
CREATE TRIGGER codes_count_delete AFTER DELETE ON backup_codes BEGIN
    UPDATE users SET codes_total = codes_total - 1,
        codes_left = codes_left - (old.used_at IS NULL)
    WHERE id = old.user_id;
END;

-- step 2: what a resync spent, kept apart from logins
-- A resync spends the codes read out to the help desk so they cannot be used
-- later. The newest step it spent and when are kept here, not as the factor's
-- last use: a code refused for it then says so, instead of naming a login.
ALTER TABLE factors ADD COLUMN resync_step INTEGER;
ALTER TABLE factors ADD COLUMN resynced_at INTEGER;
-- A replayed TOTP code whose step a resync spent (first_used_at is the resync).
ALTER TABLE attempts ADD COLUMN first_used_by_resync INTEGER NOT NULL DEFAULT 0
    CHECK (first_used_by_resync IN (0, 1));
-- Resyncs before this step recorded their spend as a use from this label.
UPDATE factors SET resync_step = last_step, resynced_at = last_used_at,
    last_step = NULL, last_used_at = NULL, last_used_ip = NULL
    WHERE last_used_ip = 'the help desk (resync)';
UPDATE attempts SET first_used_by_resync = 1, first_used_ip = NULL
    WHERE first_used_ip = 'the help desk (resync)';

-- step 3: a real organisation's size
-- The overview's figures, kept by triggers so that nothing counts a table:
-- users (all, disabled, without an active factor, active without one, the
-- admins among those), users with backup codes by how many are left
-- (codes_left_0 … codes_left_10), factors never confirmed, audit events.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value)
    SELECT 'users', count(*) FROM users
    UNION ALL SELECT 'users_disabled', count(*) FROM users WHERE status = 'disabled'
    UNION ALL SELECT 'users_without_factor', count(*) FROM users WHERE active_factors = 0
    UNION ALL SELECT 'active_without_factor', count(*) FROM users
        WHERE active_factors = 0 AND status = 'active'
    UNION ALL SELECT 'active_admins_without_factor', count(*) FROM users
        WHERE active_factors = 0 AND status = 'active' AND role = 'admin'
    UNION ALL SELECT 'factors_pending', count(*) FROM factors WHERE status = 'pending'
    UNION ALL SELECT 'audit', count(*) FROM audit;
INSERT INTO counters (name, value)
    SELECT 'codes_left_' || codes_left, count(*) FROM users WHERE codes_total > 0
    GROUP BY codes_left;
CREATE TRIGGER counters_user_insert AFTER INSERT ON users BEGIN
    INSERT INTO counters (name, value)
        SELECT column1, 1 FROM (VALUES ('users'),
            (CASE WHEN new.status = 'disabled' THEN 'users_disabled' END),
            (CASE WHEN new.active_factors = 0 THEN 'users_without_factor' END),
            (CASE WHEN new.active_factors = 0 AND new.status = 'active'
                THEN 'active_without_factor' END),
            (CASE WHEN new.active_factors = 0 AND new.status = 'active' AND new.role = 'admin'
                THEN 'active_admins_without_factor' END),
            (CASE WHEN new.codes_total > 0 THEN 'codes_left_' || new.codes_left END))
        WHERE column1 IS NOT NULL
        ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
END;
CREATE TRIGGER counters_user_delete AFTER DELETE ON users BEGIN
    UPDATE counters SET value = value - 1 WHERE name IN ('users',
        CASE WHEN old.status = 'disabled' THEN 'users_disabled' END,
        CASE WHEN old.active_factors = 0 THEN 'users_without_factor' END,
        CASE WHEN old.active_factors = 0 AND old.status = 'active'
            THEN 'active_without_factor' END,
        CASE WHEN old.active_factors = 0 AND old.status = 'active' AND old.role = 'admin'
            THEN 'active_admins_without_factor' END,
        CASE WHEN old.codes_total > 0 THEN 'codes_left_' || old.codes_left END);
END;
CREATE TRIGGER counters_user_update
    AFTER UPDATE OF status, role, active_factors, codes_total, codes_left ON users BEGIN
    UPDATE counters SET value = value - 1 WHERE name IN (
        CASE WHEN old.status = 'disabled' THEN 'users_disabled' END,
        CASE WHEN old.active_factors = 0 THEN 'users_without_factor' END,
        CASE WHEN old.active_factors = 0 AND old.status = 'active'
            THEN 'active_without_factor' END,
        CASE WHEN old.active_factors = 0 AND old.status = 'active' AND old.role = 'admin'
            THEN 'active_admins_without_factor' END,
        CASE WHEN old.codes_total > 0 THEN 'codes_left_' || old.codes_left END);
    INSERT INTO counters (name, value)
        SELECT column1, 1 FROM (VALUES
            (CASE WHEN new.status = 'disabled' THEN 'users_disabled' END),
            (CASE WHEN new.active_factors = 0 THEN 'users_without_factor' END),
            (CASE WHEN new.active_factors = 0 AND new.status = 'active'
                THEN 'active_without_factor' END),
            (CASE WHEN new.active_factors = 0 AND new.status = 'active' AND new.role = 'admin'
                THEN 'active_admins_without_factor' END),
            (CASE WHEN new.codes_total > 0 THEN 'codes_left_' || new.codes_left END))
        WHERE column1 IS NOT NULL
        ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
END;
CREATE TRIGGER counters_factor_insert AFTER INSERT ON factors WHEN new.status = 'pending' BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'factors_pending';
END;
CREATE TRIGGER counters_factor_delete AFTER DELETE ON factors WHEN old.status = 'pending' BEGIN
    UPDATE counters SET value = value - 1 WHERE name = 'factors_pending';
END;
CREATE TRIGGER counters_factor_update AFTER UPDATE OF status ON factors
    WHEN (old.status = 'pending') <> (new.status = 'pending') BEGIN
    UPDATE counters SET value = value + (new.status = 'pending') - (old.status = 'pending')
        WHERE name = 'factors_pending';
END;
CREATE TRIGGER counters_audit_insert AFTER INSERT ON audit BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'audit';
END;

-- Users without a factor: past grace oldest first, still in grace, and the
-- no-2FA filter in email order. Users with backup codes, fewest left first.
-- SMS only, and one factor with no backup code: with the first two, every
-- way onto the readiness report is an index.
DROP INDEX users_active_factors;
CREATE INDEX users_without_factor ON users (status, grace_from) WHERE active_factors = 0;
CREATE INDEX users_without_factor_email ON users (email) WHERE active_factors = 0;
-- The in-grace filter of the Users list: users without a factor whose
-- grace began after a cutoff (recent arrivals), whatever their status.
CREATE INDEX users_without_factor_grace ON users (grace_from) WHERE active_factors = 0;
DROP INDEX users_codes_left;
CREATE INDEX users_codes_left ON users (codes_left, email) WHERE codes_total > 0;
CREATE INDEX users_sms_only ON users (email) WHERE factor_kinds = 'sms';
CREATE INDEX users_single_no_codes ON users (email) WHERE active_factors = 1 AND codes_left = 0;
-- A user's events of one kind, newest first (the doctor's evidence).
CREATE INDEX audit_user_kind ON audit (user_id, kind, at);

-- step 4: regulation
-- What the limits count, one row each: wrong passwords by user ('password',
-- the user's id) and by source address ('address'), and the doctor's code
-- checks by user ('code_check'). Rows older than their window are pruned
-- as new ones come, so a flood leaves no more rows than a limit's worth.
CREATE TABLE throttle (
    id       INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL CHECK (kind IN ('password', 'address', 'code_check')),
    subject  TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;
CREATE INDEX throttle_subject ON throttle (kind, subject, at);
-- Bans: a user's password checks ('password') or an address's ('address')
-- refused until `until`; `count` bans in a row since the last correct
-- password, so each lasts twice the one before.
CREATE TABLE bans (
    kind     TEXT    NOT NULL CHECK (kind IN ('password', 'address')),
    subject  TEXT    NOT NULL,
    until    INTEGER NOT NULL,
    count    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, subject)
) STRICT, WITHOUT ROWID;
-- Failed codes in a row with no success or unlock between, locks or not:
-- at the policy's hard stop 2FA stays locked until an admin unlocks it.
ALTER TABLE users ADD COLUMN streak INTEGER NOT NULL DEFAULT 0;
-- A message held back by the message limit: when the next may go.
ALTER TABLE deliveries ADD COLUMN retry_at INTEGER;

-- step 5: look-alike email addresses
-- The UTS #39 skeleton of each address (Latin "a" and Cyrillic "а" have the
-- same one), so a new address that only looks like an existing user's is
-- found from an index. SQL cannot compute skeletons, nor put an address in
-- its canonical form (Unicode NFC, lower case): Store::migrate does both in
-- Rust for every existing row, in the same transaction as this step.
ALTER TABLE users ADD COLUMN email_skeleton TEXT;
CREATE INDEX users_email_skeleton ON users (email_skeleton) WHERE email_skeleton IS NOT NULL;

-- step 6: a tamper-evident audit trail
-- Each event carries an HMAC-SHA256, under the key kept outside this file,
-- over its fields, its place in the chain (seq) and the MAC of the event
-- before it; `audit_head` holds the chain's end (how many events, the last
-- one's id and MAC) under a MAC of its own, and is updated in the same
-- transaction as each event. Ids are never reused (AUTOINCREMENT), which
-- SQLite cannot add to a table: the table is rebuilt. An event also keeps
-- the operating-system account that wrote it, the real time it was written,
-- and whether the clock had been set (--now, or moved). SQL cannot compute an
-- HMAC: the events already here are chained by factordesk, with the key, in
-- one transaction when it next opens this file. Until then the head is
-- marked unchained, and only then may an event's seq and mac be filled in.
CREATE TABLE audit_head (
    one              INTEGER PRIMARY KEY CHECK (one = 1),
    chained          INTEGER NOT NULL CHECK (chained IN (0, 1)),
    events           INTEGER NOT NULL,
    last_id          INTEGER,
    last_mac         BLOB,
    -- When the chain began (real time), and the events already here then,
    -- which it vouches for from that moment on, not from when they were written.
    started_at       INTEGER,
    adopted          INTEGER NOT NULL DEFAULT 0,
    adopted_last_id  INTEGER,
    mac              BLOB
) STRICT;
INSERT INTO audit_head (one, chained, events) VALUES (1, 0, 0);

CREATE TABLE audit_chained (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    user_id     INTEGER REFERENCES users (id),
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    ip          TEXT,
    -- NULL for the events written before this step: nobody knows.
    os_user     TEXT,
    written_at  INTEGER,
    clock_set   INTEGER CHECK (clock_set IN (0, 1)),
    -- The event's place in the chain (1, 2, …) and its MAC.
    seq         INTEGER,
    mac         BLOB
) STRICT;
INSERT INTO audit_chained (id, at, actor, user_id, kind, detail, ip)
    SELECT id, at, actor, user_id, kind, detail, ip FROM audit ORDER BY id;
DROP TABLE audit;
ALTER TABLE audit_chained RENAME TO audit;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user ON audit (user_id, at);
CREATE INDEX audit_kind ON audit (kind, at);
CREATE INDEX audit_user_kind ON audit (user_id, kind, at);
CREATE TRIGGER counters_audit_insert AFTER INSERT ON audit BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'audit';
END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;
-- No change, but filling in seq and mac once, while the head is unchained.
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    WHEN old.seq IS NOT NULL OR old.mac IS NOT NULL
        OR (SELECT chained FROM audit_head) IS NOT 0
        OR new.id IS NOT old.id OR new.at IS NOT old.at OR new.actor IS NOT old.actor
        OR new.user_id IS NOT old.user_id OR new.kind IS NOT old.kind
        OR new.detail IS NOT old.detail OR new.ip IS NOT old.ip
        OR new.os_user IS NOT old.os_user OR new.written_at IS NOT old.written_at
        OR new.clock_set IS NOT old.clock_set BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_head_stays_chained BEFORE UPDATE OF chained ON audit_head
    WHEN old.chained = 1 BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;

-- step 7: typed facts on audit events
-- What an event establishes, as typed fields (a JSON object: the factor, the
-- reason, a refusal …), which the doctor reads instead of the event's prose;
-- NULL if none, as for every event written before this step. The facts are
-- under the event's MAC (only when present, so older seals still verify),
-- and the append-only trigger is rebuilt to forbid changing them.
ALTER TABLE audit ADD COLUMN facts TEXT;
DROP TRIGGER audit_append_only_update;
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    WHEN old.seq IS NOT NULL OR old.mac IS NOT NULL
        OR (SELECT chained FROM audit_head) IS NOT 0
        OR new.id IS NOT old.id OR new.at IS NOT old.at OR new.actor IS NOT old.actor
        OR new.user_id IS NOT old.user_id OR new.kind IS NOT old.kind
        OR new.detail IS NOT old.detail OR new.ip IS NOT old.ip
        OR new.os_user IS NOT old.os_user OR new.written_at IS NOT old.written_at
        OR new.clock_set IS NOT old.clock_set OR new.facts IS NOT old.facts BEGIN
    SELECT RAISE (ABORT, 'the audit trail is append-only');
END;

-- step 8: counted once, not row by row
-- A user's codes are written and removed a whole batch at a time, yet a
-- trigger per row updated the user (and with it the overview's counters)
-- ten times for each batch written and ten more for each removed. The store
-- now sets a user's totals once, in the same transaction as the batch it
-- writes or removes (store::codes); using a code stays counted by its own
-- trigger, one row at a time.
DROP TRIGGER codes_count_insert;
DROP TRIGGER codes_count_delete;
-- The chain's head already counts the events, in the same transaction as
-- each one (step 6): a second count, by a trigger on every event, goes.
DROP TRIGGER counters_audit_insert;
DELETE FROM counters WHERE name = 'audit';

-- step 9: a new password after a suspected compromise
-- Set by the compromise response, cleared when a new password is set: until
-- then no login gets in on the password alone (the new authenticator must be
-- confirmed and used), and the login that does get in must set a new one.
ALTER TABLE users ADD COLUMN password_change INTEGER NOT NULL DEFAULT 0;
-- A code used twice, the second time from another address than the first: the
-- overview's needs-attention list reads the recent ones along this index.
CREATE INDEX attempts_replayed_elsewhere ON attempts (at)
    WHERE kind = 'totp' AND outcome = 'replayed' AND first_used_by_resync = 0
      AND first_used_ip IS NOT NULL AND first_used_ip <> ip;

-- step 10: addresses of remembered computers, and phone numbers found in any spelling
-- Every address a remembered computer completed a second factor from during
-- its trust period: returning from any of them is not a new address. A new
-- trust period (remembered again after it lapsed or was revoked) starts the
-- list afresh. The address each device was last seen from is known already.
CREATE TABLE device_addresses (
    device_id  INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    ip         TEXT    NOT NULL,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (device_id, ip)
) STRICT, WITHOUT ROWID;
INSERT INTO device_addresses (device_id, ip, first_at, last_at)
    SELECT id, last_ip, last_seen_at, last_seen_at FROM devices;
-- A phone number (E.164, `+14155550123`) without its country calling code
-- (`4155550123`), so `4155550123` and `(415) 555-0123` find it from an
-- index as `+1 415 555 0123` does. Calling codes are prefix-free: 1 and 7
-- are one digit, the ones listed two, every other three (the same list as
-- domain::contact, and a test holds the two together).
ALTER TABLE users ADD COLUMN phone_national TEXT GENERATED ALWAYS AS (
    CASE
        WHEN phone IS NULL OR substr(phone, 1, 1) <> '+' THEN NULL
        WHEN substr(phone, 2, 1) IN ('1', '7') THEN substr(phone, 3)
        WHEN substr(phone, 2, 2) IN ('20', '27', '30', '31', '32', '33', '34', '36', '39',
            '40', '41', '43', '44', '45', '46', '47', '48', '49', '51', '52', '53', '54',
            '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82',
            '84', '86', '90', '91', '92', '93', '94', '95', '98') THEN substr(phone, 4)
        ELSE substr(phone, 5)
    END) VIRTUAL;
CREATE INDEX users_phone ON users (phone) WHERE phone IS NOT NULL;
CREATE INDEX users_phone_national ON users (phone_national) WHERE phone_national IS NOT NULL;
-- Where each message went, as keyed hashes under the key kept outside this
-- file (as codes are): the whole number or address, and a number without
-- its calling code (as users.phone_national). The outbox shows only masked
-- numbers and a stolen file lists nobody's; given a number, an agent finds
-- its messages from these. Messages filed before this step have none.
ALTER TABLE deliveries ADD COLUMN to_mac BLOB;
ALTER TABLE deliveries ADD COLUMN to_national_mac BLOB;
CREATE INDEX deliveries_to ON deliveries (to_mac, created_at) WHERE to_mac IS NOT NULL;
CREATE INDEX deliveries_to_national ON deliveries (to_national_mac, created_at)
    WHERE to_national_mac IS NOT NULL;

-- step 11: how the login simulator plays a person
-- The phone and browser the simulator gives a user: how many seconds their
-- phone's clock is off (negative: slow), and the address they log in from
-- now (NULL: wherever they were last seen). `demo` writes one where a
-- story differs from the data (Bob's phone 90 s slow, Mallory at her own
-- address); a user with none has a phone on time, at their last known
-- address. Nothing here changes how a real login or code is judged.
CREATE TABLE personas (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    phone_skew  INTEGER NOT NULL DEFAULT 0,
    ip          TEXT
) STRICT;

-- step 12: the Users list sorted by a column
-- Each sort is read a page at a time along its own index, the email
-- breaking ties; a user who never logged in has no time and is read as a
-- range of their own (`last_login_at IS NULL`).
CREATE INDEX users_name_email ON users (name, email);
CREATE INDEX users_last_login_email ON users (last_login_at, email);

-- step 13: the audit trail searched by who acted
-- `audit --by ACTOR` and the Audit screen's actor filter read one actor's
-- events newest first along this index, as the user and kind filters do.
CREATE INDEX audit_actor ON audit (actor, at);

-- step 14: temporary access codes
-- The help desk's answer to a lost phone: one code per user, issued with a
-- reason, that works once as a second factor until it expires. Stored as an
-- HMAC under the sealing key (like backup codes), never as the code. Issuing
-- a new one replaces the old row; using it sets used_at. Wrong guesses are
-- counted as any wrong code is (attempts, lockout).
CREATE TABLE temp_codes (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_mac    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    used_at     INTEGER,
    used_ip     TEXT
) STRICT;
-- A temporary access code typed at a challenge is an attempt of its own
-- kind, counted towards the lock as any wrong code is: the attempts table is
-- rebuilt with `temp` among its kinds (rows, ids and indexes kept).
CREATE TABLE attempts_temp (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    challenge_id    INTEGER REFERENCES challenges (id) ON DELETE SET NULL,
    factor_id       INTEGER REFERENCES factors (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('totp', 'sms', 'email', 'backup', 'temp')),
    outcome         TEXT    NOT NULL CHECK (outcome IN ('accepted', 'invalid', 'expired', 'replayed', 'locked')),
    ip              TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    matched_offset  INTEGER,
    first_used_at   INTEGER,
    first_used_ip   TEXT,
    first_used_by_resync INTEGER NOT NULL DEFAULT 0
        CHECK (first_used_by_resync IN (0, 1))
) STRICT;
INSERT INTO attempts_temp (id, user_id, challenge_id, factor_id, kind, outcome, ip, at,
        matched_offset, first_used_at, first_used_ip, first_used_by_resync)
    SELECT id, user_id, challenge_id, factor_id, kind, outcome, ip, at,
        matched_offset, first_used_at, first_used_ip, first_used_by_resync
    FROM attempts ORDER BY id;
-- Ids are not given again: the sequence goes on from the old table's.
UPDATE sqlite_sequence SET seq = max(seq,
        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'attempts'), 0))
    WHERE name = 'attempts_temp';
DROP TABLE attempts;
ALTER TABLE attempts_temp RENAME TO attempts;
CREATE INDEX attempts_user ON attempts (user_id, at);
CREATE INDEX attempts_failed ON attempts (user_id, id) WHERE outcome IN ('invalid', 'replayed');
CREATE INDEX attempts_challenge ON attempts (challenge_id);
CREATE INDEX attempts_factor ON attempts (factor_id);
CREATE INDEX attempts_replayed_elsewhere ON attempts (at)
    WHERE kind = 'totp' AND outcome = 'replayed' AND first_used_by_resync = 0
      AND first_used_ip IS NOT NULL AND first_used_ip <> ip;

-- step 15: secrets from elsewhere, hardware tokens and labels
-- Each OATH secret keeps how its codes are made: an imported one need not
-- be SHA1, 6 digits and 30 s. A counter makes it an HOTP token (RFC 4226),
-- counting presses instead of time: the counter its next code is expected
-- at; NULL for a time-based secret (and for SMS and email). A hardware
-- token's serial number is kept as its seed file named it. The existing
-- secrets are all SHA1, 6 digits, 30 s: the defaults.
ALTER TABLE factors ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'SHA1'
    CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512'));
ALTER TABLE factors ADD COLUMN digits INTEGER NOT NULL DEFAULT 6 CHECK (digits BETWEEN 6 AND 8);
ALTER TABLE factors ADD COLUMN period INTEGER NOT NULL DEFAULT 30 CHECK (period IN (30, 60));
ALTER TABLE factors ADD COLUMN counter INTEGER CHECK (counter >= 0);
ALTER TABLE factors ADD COLUMN serial TEXT;

-- step 16: the Users search walks email order in an index alone
-- A search tests users in email order until its page is full; with the
-- name beside the email (and the rowid, always there) the walk reads
-- this index alone, never a row of the table.
CREATE INDEX users_email_search ON users (email, name);

-- step 17: a searched Users page is read in email order from its key
-- Every user is filed under each key a search asks for: the first one and
-- two characters of each word of the email and the name (one- and
-- two-character terms), and every three characters in a row of either
-- (longer terms), folded as the search folds them. A page is the key's
-- users from where it starts, in email order, so it costs the same at any
-- size. The keys come from factordesk's own functions, fd_word_starts and
-- fd_trigrams (JSON arrays), which every connection factordesk opens
-- defines: a user's email and name are written through factordesk.
CREATE TABLE users_search_starts (
    start TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (start, email)
) WITHOUT ROWID;
CREATE TABLE users_search_trigrams (
    gram  TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (gram, email)
) WITHOUT ROWID;
-- How many users have each trigram: a longer term walks its rarest.
CREATE TABLE users_search_counts (
    gram  TEXT PRIMARY KEY,
    users INTEGER NOT NULL CHECK (users > 0)
) WITHOUT ROWID;
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search_starts (start, email)
        SELECT value, new.email FROM json_each(fd_word_starts(new.email, new.name));
    INSERT INTO users_search_trigrams (gram, email)
        SELECT value, new.email FROM json_each(fd_trigrams(new.email, new.name));
    INSERT INTO users_search_counts (gram, users)
        SELECT value, 1 FROM json_each(fd_trigrams(new.email, new.name)) WHERE TRUE
        ON CONFLICT (gram) DO UPDATE SET users = users + 1;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search_starts WHERE email = old.email
        AND start IN (SELECT value FROM json_each(fd_word_starts(old.email, old.name)));
    DELETE FROM users_search_trigrams WHERE email = old.email
        AND gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
    DELETE FROM users_search_counts WHERE users = 1
        AND gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
    UPDATE users_search_counts SET users = users - 1
        WHERE gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF email, name ON users BEGIN
    DELETE FROM users_search_starts WHERE email = old.email
        AND start IN (SELECT value FROM json_each(fd_word_starts(old.email, old.name)));
    DELETE FROM users_search_trigrams WHERE email = old.email
        AND gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
    DELETE FROM users_search_counts WHERE users = 1
        AND gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
    UPDATE users_search_counts SET users = users - 1
        WHERE gram IN (SELECT value FROM json_each(fd_trigrams(old.email, old.name)));
    INSERT INTO users_search_starts (start, email)
        SELECT value, new.email FROM json_each(fd_word_starts(new.email, new.name));
    INSERT INTO users_search_trigrams (gram, email)
        SELECT value, new.email FROM json_each(fd_trigrams(new.email, new.name));
    INSERT INTO users_search_counts (gram, users)
        SELECT value, 1 FROM json_each(fd_trigrams(new.email, new.name)) WHERE TRUE
        ON CONFLICT (gram) DO UPDATE SET users = users + 1;
END;
INSERT INTO users_search_starts (start, email)
    SELECT j.value, u.email FROM users AS u, json_each(fd_word_starts(u.email, u.name)) AS j
    ORDER BY 1, 2;
INSERT INTO users_search_trigrams (gram, email)
    SELECT j.value, u.email FROM users AS u, json_each(fd_trigrams(u.email, u.name)) AS j
    ORDER BY 1, 2;
INSERT INTO users_search_counts (gram, users)
    SELECT gram, count(*) FROM users_search_trigrams GROUP BY gram;
