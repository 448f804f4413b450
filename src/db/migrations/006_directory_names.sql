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
