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
