-- Issue 20, finding 9: imported sets are not backups this server made. `imported_by` (the
-- importer's email) marks a set as imported (its origin reads "import"), `import_source`
-- keeps where the zip came from (JSON: the exported set, its tenant, exported_at), and a
-- version an import added keeps the time of the import in `imported_at`, shown in the history.
ALTER TABLE backup_sets ADD COLUMN imported_by TEXT;
ALTER TABLE backup_sets ADD COLUMN import_source TEXT;
ALTER TABLE policy_versions ADD COLUMN imported_at TEXT;
-- Sets imported before this: their audit event names them, the importer and the source.
UPDATE backup_sets
SET imported_by = (SELECT a.actor FROM audit_events a
                   WHERE a.action = 'backup_set.imported' AND json_extract(a.details, '$.backup_set_id') = backup_sets.id),
    import_source = (SELECT json_extract(a.details, '$.from') FROM audit_events a
                     WHERE a.action = 'backup_set.imported' AND json_extract(a.details, '$.backup_set_id') = backup_sets.id)
WHERE id IN (SELECT json_extract(details, '$.backup_set_id') FROM audit_events WHERE action = 'backup_set.imported');
UPDATE policy_versions
SET imported_at = (SELECT min(s.created_at) FROM backup_items i JOIN backup_sets s ON s.id = i.backup_set_id
                   WHERE i.version_id = policy_versions.id AND s.imported_by IS NOT NULL)
WHERE run_id IS NULL
  AND id IN (SELECT i.version_id FROM backup_items i JOIN backup_sets s ON s.id = i.backup_set_id
             WHERE s.imported_by IS NOT NULL);
