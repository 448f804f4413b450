-- Issue 20, finding 1: an imported graph_id could be a path (`../deviceConfigurations/…/
-- getOmaSettingPlainTextValue(…)`), and a preview of it stored the plain text of an encrypted
-- value in its item. Ids are checked now; this clears what such items hold. An item is
-- about such a policy when its policy's (or its backup item's policy's, or its undo target's)
-- graph id has a character outside the Graph id grammar [A-Za-z0-9_-]. The item keeps its
-- status and error, so the run's counts still equal its items.
UPDATE run_items
SET result = '{"withheld":"cleared on upgrade: the object id was not a Graph id, and the result may have held a value read through it"}'
WHERE result IS NOT NULL
  AND (
    (item_type = 'policy' AND item_id IN (
        SELECT id FROM policies WHERE graph_id = '' OR graph_id GLOB '*[^A-Za-z0-9_-]*'))
    OR (item_type = 'backup_item' AND item_id IN (
        SELECT b.id FROM backup_items b JOIN policies p ON p.id = b.policy_id
        WHERE p.graph_id = '' OR p.graph_id GLOB '*[^A-Za-z0-9_-]*'))
    OR (item_type = 'delete' AND substr(item_id, instr(item_id, ':') + 1) GLOB '*[^A-Za-z0-9_-]*')
  );
