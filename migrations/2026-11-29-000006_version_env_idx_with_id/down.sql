DROP INDEX deployments_version_env_idx;
CREATE INDEX deployments_version_env_idx ON deployments (version_id, environment_id, created_at);
