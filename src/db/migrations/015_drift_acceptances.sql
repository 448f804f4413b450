-- Issue 22, item 4: "Accept" on a drift row takes a backup of the policy as it is now and
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

-- Issue 22, item 11: "Last changed" is Graph's own lastModifiedDateTime of the captured
-- object (it is volatile, so the stored canonical content leaves it out).
ALTER TABLE policy_versions ADD COLUMN modified_at TEXT;
