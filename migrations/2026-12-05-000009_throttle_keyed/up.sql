-- Secrets the server keeps in its database, shared by every instance: `throttle` keys the
-- hash that login_throttle stores in place of attempted user names and addresses (a password
-- typed into the name field must not be kept readable). Each is made by the first server that
-- needs it (store::access::server_key).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Subjects were stored verbatim ('user:<name>', 'addr:<ip>'); they are keyed hashes now. The
-- old rows could never match again: forget them (at worst a running lockout ends early).
DELETE FROM login_throttle;
