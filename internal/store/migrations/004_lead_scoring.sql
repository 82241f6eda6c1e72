-- Lead scoring. Every applied version of a model's YAML is kept, and scores
-- and why-log lines are keyed by that version, so re-applying a changed
-- model rescores every lead while the old version's scores stay readable.
CREATE TABLE scoring_models (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL,
    applied_by BIGINT,
    applied_at TIMESTAMP NOT NULL,
    scored_at TIMESTAMP,
    UNIQUE (name, version)
);

-- One row per lead and model version: the score as of scored_at.
CREATE TABLE lead_scores (
    model_id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    fit DOUBLE PRECISION NOT NULL,
    engagement DOUBLE PRECISION NOT NULL,
    grade VARCHAR NOT NULL,
    mql BOOLEAN NOT NULL,
    last_engaged_at TIMESTAMP,
    scored_at TIMESTAMP NOT NULL
);
CREATE INDEX lead_scores_lead ON lead_scores (lead_id);

-- The why-log: every point a lead gained or lost under a model version.
-- A lead's score is the sum of its lines.
CREATE TABLE lead_score_log (
    model_id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    part VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    points DOUBLE PRECISION NOT NULL,
    raw_points DOUBLE PRECISION NOT NULL,
    cause VARCHAR NOT NULL,
    event_id BIGINT,
    at_time TIMESTAMP NOT NULL
);
CREATE INDEX lead_score_log_lead ON lead_score_log (lead_id);

-- Scoring one new event reads that lead's events.
CREATE INDEX lead_events_lead ON lead_events (lead_id);

-- ICP segments: saved filters on lead fields.
CREATE TABLE lead_segments (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    description VARCHAR NOT NULL DEFAULT '',
    source VARCHAR NOT NULL,
    updated_by BIGINT,
    updated_at TIMESTAMP NOT NULL
);
