ALTER TABLE versions DROP COLUMN planned;
