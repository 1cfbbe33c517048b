-- The history page (`/releases/history`) lists completed releases, the most recently completed
-- first, 25 at a time. With this index both backends read a page in index order (status,
-- then completion time and id, walked backwards) instead of sorting every completed release on
-- every request. Portable SQL, like the other migrations.
CREATE INDEX releases_status_completed_idx ON releases (status, completed_at, id);
