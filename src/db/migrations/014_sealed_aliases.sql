-- Issue 20, finding 10: a sealed reference is a keyed fingerprint of (tenant, value), the
-- same for equal values, which made it an oracle for guesses. It stays the internal key
-- (change detection); what pages, the API and exports show is its alias: random, one per
-- stored value, mapped back to the reference only inside the tenant that sealed it.
CREATE TABLE sealed_aliases (
    tenant_id TEXT NOT NULL,
    ref       TEXT NOT NULL,
    alias     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref),
    FOREIGN KEY (tenant_id, ref) REFERENCES sealed_values(tenant_id, ref) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sealed_aliases_alias ON sealed_aliases(tenant_id, alias);
INSERT INTO sealed_aliases (tenant_id, ref, alias)
SELECT tenant_id, ref, 'pv-sealed:' || lower(hex(randomblob(16))) FROM sealed_values;
