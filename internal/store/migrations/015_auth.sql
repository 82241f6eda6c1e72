-- API tokens get a name, an expiry, the time of their last use and a
-- revocation that stays (issue 18). Tokens made before this version have no
-- expiry until revoked; every new one expires. A token is named in lists by
-- the first 12 hex digits of its hash: the token itself is never stored.
ALTER TABLE api_tokens ADD COLUMN name VARCHAR DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMP;
ALTER TABLE api_tokens ADD COLUMN revoked_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN created_at TIMESTAMP;

-- Failed logins per account ("email:...") and per address ("addr:..."),
-- shared by every server on the database: past a few failures, each one
-- locks the key for twice as long as the last, up to a cap.
CREATE TABLE login_throttle (
    key VARCHAR PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);
