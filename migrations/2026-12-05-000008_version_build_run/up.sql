-- The latest build event's run of a version (SPEC §3: invoke_id, status, started_at,
-- completed_at, built_by, built_by_name, built_by_email), as the JSON object
-- domain::catalog::BuildRun writes. One column rather than seven: it is read and written
-- whole, never filtered on, and it is replaced by each build event while the version's
-- own facts are filled once. NULL until the version's first build event.
ALTER TABLE versions ADD COLUMN build TEXT;
