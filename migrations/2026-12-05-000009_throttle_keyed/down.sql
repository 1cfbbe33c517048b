DELETE FROM login_throttle;
DROP TABLE server_keys;
