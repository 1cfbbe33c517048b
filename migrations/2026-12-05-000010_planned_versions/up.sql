-- A version added to a release by name before any pipeline reported it (SPEC §4): shown as
-- planned until the first build or deployment event naming it. Every version stored before
-- this migration came from an event, so none is planned.
ALTER TABLE versions ADD COLUMN planned BOOLEAN NOT NULL DEFAULT FALSE;
