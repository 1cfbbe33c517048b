ALTER TABLE versions DROP COLUMN build;
