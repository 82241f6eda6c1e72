-- When a rep takes leads: their time zone (for a pool's working hours) and
-- their out-of-office periods. Routing passes over a rep who is away.
CREATE TABLE user_availability (
    user_id BIGINT PRIMARY KEY,
    time_zone VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_away (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    away_from TIMESTAMP NOT NULL,
    away_to TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL DEFAULT ''
);
CREATE INDEX user_away_user ON user_away (user_id);
