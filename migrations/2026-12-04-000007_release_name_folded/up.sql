-- Release names as searched: folded by the application (Unicode case folding,
-- domain::search::fold), because SQLite's lower() and LIKE fold ASCII only and PostgreSQL's
-- depend on the collation. Filled on every write, and for rows written before this column
-- existed when the server starts (store::releases::fold_missing_names). A name search is a
-- substring match (LIKE '%…%'), which no index serves, so none is made.
ALTER TABLE releases ADD COLUMN name_folded TEXT;
