-- The invoke_id uniqueness index covers only the deployments that have an invoke_id.
--
-- Why: NULL invoke_ids never collide anyway (000001_init), so the constraint is the same; but
-- every deployment reported without an invoke_id wrote an entry into this index at a place
-- set by its version and environment, i.e. one more scattered B-tree page per event for the
-- commit to write. Correlation by invoke_id (`d2.invoke_id = ?`) implies the predicate, so
-- both backends still answer it from this index. Portable SQL.
DROP INDEX deployments_invoke_key;
CREATE UNIQUE INDEX deployments_invoke_key ON deployments (version_id, environment_id, invoke_id)
    WHERE invoke_id IS NOT NULL;
