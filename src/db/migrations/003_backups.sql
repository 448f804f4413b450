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
);
CREATE INDEX policy_versions_policy ON policy_versions(policy_id, captured_at);

CREATE TABLE backup_sets (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    origin         TEXT NOT NULL CHECK (origin IN ('manual', 'scheduled', 'before_restore')),
    schedule_id    TEXT,
    created_at     TEXT NOT NULL,
    capture_run_id TEXT REFERENCES runs(id) ON DELETE SET NULL
);
CREATE INDEX backup_sets_tenant ON backup_sets(tenant_id, created_at);

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
