DROP TABLE login_throttle;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE users;
