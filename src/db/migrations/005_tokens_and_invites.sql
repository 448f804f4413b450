-- API tokens show a short, non-secret prefix of the token (the first characters after `pv_`),
-- so an owner can tell tokens apart; older tokens have none.
ALTER TABLE api_tokens ADD COLUMN prefix TEXT;

-- Invitations: an owner invites someone without an account by email; the one-time link
-- (shown once to the owner, kept here only as its SHA-256) lets them set a password, which
-- creates the account with the invited role in the tenant.
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
);
CREATE INDEX invites_tenant ON invites(tenant_id);
