-- The correlation index ends with the deployment id, the tie-breaker of "the latest deployment
-- of a version in an environment" (`ORDER BY created_at DESC, id DESC LIMIT 1`, SPEC §3).
--
-- Why: without it both backends read every deployment of that version there and sorted them
-- for the tie (SQLite: "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY", a sorter set up per
-- event); with it the newest entry of the index is the answer. Portable SQL.
DROP INDEX deployments_version_env_idx;
CREATE INDEX deployments_version_env_idx ON deployments (version_id, environment_id, created_at, id);
