-- Issue 20, finding 11: one tenant's Graph (a custom endpoint) named settings for all
-- tenants. Definitions are now kept per source; the shared cache is dropped (it may hold
-- names from a custom endpoint) and read again from Graph by the next backups.
DROP TABLE setting_definitions;
CREATE TABLE setting_definitions (
    source        TEXT NOT NULL,              -- "microsoft", or a custom Graph's origin
    definition_id TEXT NOT NULL,
    display_name  TEXT,
    description   TEXT,
    checked_at    TEXT NOT NULL,
    PRIMARY KEY (source, definition_id)
);
