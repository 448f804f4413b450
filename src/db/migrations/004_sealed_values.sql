-- Secret values captured from a tenant (encrypted OMA-URI values), sealed like client
-- secrets. A version's content holds only the reference `ref`.
CREATE TABLE sealed_values (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ref        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref)
);

-- Graph ids a policy had before a restore re-created it under a new one: references to the
-- old id (in other backed-up objects) are rewritten to the new one.
CREATE TABLE policy_aliases (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    policy_type TEXT NOT NULL,
    graph_id    TEXT NOT NULL,
    policy_id   TEXT NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, policy_type, graph_id)
);
