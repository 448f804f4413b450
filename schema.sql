-- policyvault: the whole current schema. A fresh database runs this file and sets
-- PRAGMA user_version to the number in src/db/migrate.rs; an older file runs the numbered
-- upgrade steps there instead. A test builds one database each way and compares them.
--
-- Conventions: ids are TEXT (UUIDv7, so they sort by creation time); timestamps are
-- RFC 3339 UTC TEXT with milliseconds ("2026-11-24T22:10:00.123Z"), which sort as text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,            -- argon2id PHC string
    superadmin    INTEGER NOT NULL DEFAULT 0 CHECK (superadmin IN (0, 1)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
);

-- Server-side sessions: the cookie carries a random token, we keep only its SHA-256.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- API tokens: shown once, stored as SHA-256 (they are 256-bit random, so a fast hash is
-- enough; argon2 is for low-entropy passwords). `prefix` is the token's first characters
-- (`pv_` and 8 of its 43 random ones), shown so tokens can be told apart; it was added by
-- `ALTER TABLE ... ADD COLUMN` (migration 005), whose text SQLite appends as written here.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
, prefix TEXT);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    entra_tenant_id TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    -- XChaCha20-Poly1305: 24-byte nonce followed by the ciphertext; the tenant id is the AAD,
    -- so a ciphertext copied onto another row does not decrypt.
    secret_sealed   BLOB NOT NULL,
    cloud           TEXT NOT NULL CHECK (cloud IN ('global', 'usgov', 'usgovdod', 'china')),
    graph_base_url  TEXT NOT NULL,
    login_base_url  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    secret_updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'owner')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_tenant ON memberships(tenant_id);

-- Append-only and hash-chained: each row's hash covers its content and the previous hash,
-- so editing or deleting a row breaks every hash after it (audit::verify finds where).
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    at        TEXT NOT NULL,
    tenant_id TEXT,                          -- NULL for events of no tenant (logins, users)
    actor     TEXT NOT NULL,                 -- an email, "system", or "cli"
    action    TEXT NOT NULL,
    run_id    TEXT,
    details   TEXT NOT NULL,                 -- JSON object, never a secret
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- Runs: every started operation, its per-item outcomes, and the notifications about it.

CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    -- tenant + kind + target: at most one queued or running run per key (index below).
    dedupe_key      TEXT NOT NULL,
    dry_run         INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1)),
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'partial')),
    initiated_by    TEXT REFERENCES users(id) ON DELETE SET NULL,  -- NULL: the scheduler
    initiator_label TEXT NOT NULL,                                 -- email or "scheduler"
    -- The role the kind needs; re-checked when a worker starts the run.
    required_role   TEXT NOT NULL CHECK (required_role IN ('viewer', 'operator', 'owner')),
    parent_run_id   TEXT REFERENCES runs(id),
    params          TEXT NOT NULL DEFAULT '{}',                    -- kind-specific JSON
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    -- Recomputed from run_items in every transaction that changes an item.
    total           INTEGER NOT NULL DEFAULT 0,
    succeeded       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    error_code      TEXT,
    error_context   TEXT,                                          -- JSON, whitelisted keys
    -- Crash safety: the worker holding the run renews the lease; `attempt` fences its writes.
    lease_owner     TEXT,
    lease_expires_at TEXT,
    attempt         INTEGER NOT NULL DEFAULT 0,
    deadline_at     TEXT,
    before_backup_set_id TEXT
);
CREATE UNIQUE INDEX runs_one_active ON runs(dedupe_key) WHERE status IN ('queued', 'running');
CREATE INDEX runs_tenant ON runs(tenant_id, created_at);
CREATE INDEX runs_status ON runs(status, created_at);

CREATE TABLE run_items (
    id            TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    item_type     TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    label         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
    error_code    TEXT,
    error_context TEXT,
    result        TEXT,                                            -- JSON
    started_at    TEXT,
    finished_at   TEXT,
    UNIQUE (run_id, seq)
);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at    TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

-- Inventory, versions, backup sets and schedules.

-- "Last observed" inventory: one row per Intune object of a supported type.
CREATE TABLE policies (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    policy_type       TEXT NOT NULL,
    graph_id          TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    last_synced_at    TEXT NOT NULL,
    latest_version_id TEXT,
    UNIQUE (tenant_id, policy_type, graph_id)
);
CREATE INDEX policies_tenant ON policies(tenant_id, policy_type, display_name);

-- Content-addressed: identical canonical content is stored once, however many versions,
-- policies or tenants point at it.
CREATE TABLE policy_contents (
    content_hash TEXT PRIMARY KEY,
    content      TEXT NOT NULL
);

-- Immutable snapshots. A capture whose hash equals the policy's latest version stores
-- nothing (the run item says "unchanged").
CREATE TABLE policy_versions (
    id           TEXT PRIMARY KEY,
    policy_id    TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    content_hash TEXT NOT NULL REFERENCES policy_contents(content_hash),
    captured_at  TEXT NOT NULL,
    run_id       TEXT REFERENCES runs(id) ON DELETE SET NULL
, imported_at TEXT, modified_at TEXT);
CREATE INDEX policy_versions_policy ON policy_versions(policy_id, captured_at);

CREATE TABLE backup_sets (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    origin         TEXT NOT NULL CHECK (origin IN ('manual', 'scheduled', 'before_restore')),
    schedule_id    TEXT,
    created_at     TEXT NOT NULL,
    capture_run_id TEXT REFERENCES runs(id) ON DELETE SET NULL
, imported_by TEXT, import_source TEXT);
CREATE INDEX backup_sets_tenant ON backup_sets(tenant_id, created_at);

-- "Accept" on a drift row takes a backup of the policy as it is now and
-- records that, against this baseline, the policy is compared with that accepted state from
-- then on (the newest acceptance of a policy replaces an older one).
CREATE TABLE drift_acceptances (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    baseline_set_id TEXT NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,
    policy_id       TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    accepted_set_id TEXT NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,
    accepted_by     TEXT,
    accepted_at     TEXT NOT NULL,
    UNIQUE (baseline_set_id, policy_id)
);
CREATE INDEX drift_acceptances_accepted ON drift_acceptances(accepted_set_id);

-- Fixed at creation; `version_id` is filled by the capture run.
CREATE TABLE backup_items (
    id            TEXT PRIMARY KEY,
    backup_set_id TEXT NOT NULL REFERENCES backup_sets(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    policy_id     TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    policy_type   TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    version_id    TEXT REFERENCES policy_versions(id),
    UNIQUE (backup_set_id, seq)
);

CREATE TABLE schedules (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    cron          TEXT NOT NULL,          -- 6 fields, seconds first (tokio-cron-scheduler)
    policy_types  TEXT NOT NULL,          -- JSON array; empty = every supported type
    keep_last     INTEGER NOT NULL CHECK (keep_last BETWEEN 1 AND 1000),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    last_fired_at TEXT
);
CREATE INDEX schedules_tenant ON schedules(tenant_id);

-- Secret values captured from a tenant (encrypted OMA-URI values): a version's content holds
-- only the reference `ref` (a keyed fingerprint of the value: equal values, equal refs, so an
-- unchanged secret is not a change), the value itself is sealed here with XChaCha20-Poly1305
-- under the master key, the tenant id and the ref being the AAD. The ref never leaves the
-- database: pages, the API and exports show its alias (`sealed_aliases`, issue 20,
-- finding 10), which an import maps back only in the tenant that sealed it.
CREATE TABLE sealed_values (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ref        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref)
);

-- What pages, the API and exports show for a sealed reference: random per stored value.
CREATE TABLE sealed_aliases (
    tenant_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    alias     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref),
    FOREIGN KEY (tenant_id, ref) REFERENCES sealed_values(tenant_id, ref) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sealed_aliases_alias ON sealed_aliases(tenant_id, alias);

-- Graph ids a policy had before a restore re-created it under a new one: references to the
-- old id (in other backed-up objects) are rewritten to the new one.
CREATE TABLE policy_aliases (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    policy_type TEXT NOT NULL,
    graph_id    TEXT NOT NULL,
    policy_id   TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, policy_type, graph_id)
);

-- Invitations: an owner invites someone without an account by email; the one-time link
-- (shown once to the owner, kept here only as its SHA-256) lets them set a password, which
-- creates the account with the invited role in the tenant. `invited_by` is the inviter's email
-- (for the audit log), `invited_by_user_id` the inviter: using an invitation needs them to be
-- an active owner of the tenant (or a superadmin) still, and disabling, removing or demoting
-- them deletes their pending invitations. NULL only for old invitations whose inviter was not
-- found when the column was added; those cannot be used.
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL COLLATE NOCASE,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'owner')),
    invited_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
, invited_by_user_id TEXT REFERENCES users(id) ON DELETE CASCADE);
CREATE INDEX invites_tenant ON invites(tenant_id);
CREATE INDEX invites_inviter ON invites(invited_by_user_id);

-- Display names of directory objects (groups) that assignments target, resolved through
-- Graph during capture runs, so pages can say "Group: Sales devices" instead of a GUID.
-- Never part of a policy's content: names change without the policy changing.
CREATE TABLE directory_names (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    object_id    TEXT NOT NULL,
    display_name TEXT NOT NULL,
    seen_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);

-- Display names of settings catalog setting definitions, by definition id, resolved through
-- Graph after capture runs, so a diff can say "Allow Realtime Monitoring" instead of
-- `device_vendor_msft_policy_config_defender_allowrealtimemonitoring`. Definitions are
-- Microsoft's and the same in every tenant: one row per id for all tenants on Microsoft's
-- Graph hosts (source "microsoft"); a custom Graph endpoint is a source of its own, so it
-- cannot name settings for other tenants (issue 20, finding 11). Never part of a
-- policy's content. A NULL display_name records that Graph had no such definition (404) at
-- checked_at, so it is not asked again at every backup.
CREATE TABLE setting_definitions (
    source        TEXT NOT NULL,              -- "microsoft", or a custom Graph's origin
    definition_id TEXT NOT NULL,
    display_name  TEXT,
    description   TEXT,
    checked_at    TEXT NOT NULL,
    PRIMARY KEY (source, definition_id)
);
