-- Secret values captured from a tenant (encrypted OMA-URI values), sealed like client
-- secrets. A version's content holds only the reference `ref`.
CREATE TABLE sealed_values (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ref        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ref)
);
