ALTER TABLE releases DROP COLUMN name_folded;
