-- Display names of settings catalog setting definitions, by definition id, resolved through
-- Graph after capture runs, so a diff can say "Allow Realtime Monitoring" instead of
-- `device_vendor_msft_policy_config_defender_allowrealtimemonitoring`. Definitions are
-- Microsoft's and the same in every tenant: one row per id for all tenants. Never part of a
-- policy's content. A NULL display_name records that Graph had no such definition (404) at
-- checked_at, so it is not asked again at every backup.
CREATE TABLE setting_definitions (
    definition_id TEXT PRIMARY KEY,
    display_name  TEXT,
    description   TEXT,
    checked_at    TEXT NOT NULL
);
