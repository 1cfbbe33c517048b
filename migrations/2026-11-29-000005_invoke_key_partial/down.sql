DROP INDEX deployments_invoke_key;
CREATE UNIQUE INDEX deployments_invoke_key ON deployments (version_id, environment_id, invoke_id);
