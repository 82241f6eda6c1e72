-- The durable job queue (internal/jobs): webhook and Slack deliveries today,
-- automation runs and SLA checks as they land. One row per job; the
-- idempotency key makes enqueuing the same work twice one job.
-- state: queued (waiting for run_at, also between retries), running (claimed
-- until locked_until), done, failed (a permanent error, not retried), dead
-- (every attempt failed).
CREATE TABLE jobs (
    id BIGINT PRIMARY KEY,
    kind VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    idem_key VARCHAR NOT NULL UNIQUE,
    state VARCHAR NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 0,
    run_at TIMESTAMP NOT NULL,
    locked_by VARCHAR,
    locked_until TIMESTAMP,
    last_error VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- The notification delivery log (internal/notify): one row per attempt.
-- outcome: delivered, retry, failed (refused, not retried), dead (last attempt).
CREATE TABLE notify_deliveries (
    job_id BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    channel VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    status_code BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    error VARCHAR NOT NULL DEFAULT '',
    duration_ms DOUBLE PRECISION NOT NULL,
    at_time TIMESTAMP NOT NULL
);
CREATE INDEX notify_deliveries_job ON notify_deliveries (job_id);
