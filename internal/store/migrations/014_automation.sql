-- Automation (internal/automation). Workflows are versioned like rule sets;
-- enabling is a property of the name, not of a version.
CREATE TABLE automation_workflows (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL DEFAULT '',
    latest BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    team_id BIGINT,
    applied_by BIGINT,
    applied_at TIMESTAMP NOT NULL,
    UNIQUE (name, version)
);

-- The change feed: the store writes one row per audited write of a watched
-- entity in the write's own transaction; the dispatcher turns rows into runs
-- and deletes them in one transaction, so an event is dispatched once.
-- depth counts how many workflow steps led to the write (loop protection).
CREATE TABLE change_events (
    id BIGINT PRIMARY KEY,
    entity VARCHAR NOT NULL,
    entity_id BIGINT NOT NULL,
    action VARCHAR NOT NULL,
    before_json VARCHAR NOT NULL DEFAULT '',
    after_json VARCHAR NOT NULL DEFAULT '',
    actor_id BIGINT,
    depth BIGINT NOT NULL DEFAULT 0,
    cause VARCHAR NOT NULL DEFAULT '',
    at_time TIMESTAMP NOT NULL
);

-- The entities some enabled workflow listens to: the store writes change
-- events for these only, so writes cost nothing extra without workflows.
CREATE TABLE change_watch (
    entity VARCHAR PRIMARY KEY
);

-- One run of a workflow on one record (or on none, for schedules).
-- state: queued (its job will run it), waiting (until run_at), done, failed.
-- pc is the next step of the compiled program; tries counts the attempts of
-- that step.
CREATE TABLE automation_runs (
    id BIGINT PRIMARY KEY,
    workflow VARCHAR NOT NULL,
    workflow_id BIGINT NOT NULL,
    entity VARCHAR NOT NULL DEFAULT '',
    record_id BIGINT,
    owner_id BIGINT,
    event_key VARCHAR NOT NULL UNIQUE,
    event_json VARCHAR NOT NULL DEFAULT '{}',
    depth BIGINT NOT NULL DEFAULT 0,
    state VARCHAR NOT NULL,
    pc BIGINT NOT NULL DEFAULT 0,
    tries BIGINT NOT NULL DEFAULT 0,
    vars_json VARCHAR NOT NULL DEFAULT '{}',
    error VARCHAR NOT NULL DEFAULT '',
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX automation_runs_record ON automation_runs (entity, record_id);
CREATE INDEX automation_runs_workflow ON automation_runs (workflow, id);

-- Every step a run took: what it saw, what it decided, what it did.
CREATE TABLE automation_steps (
    run_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    step VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    attempt BIGINT NOT NULL,
    outcome VARCHAR NOT NULL,
    detail VARCHAR NOT NULL DEFAULT '',
    error VARCHAR NOT NULL DEFAULT '',
    duration_ms DOUBLE PRECISION NOT NULL,
    at_time TIMESTAMP NOT NULL
);
CREATE INDEX automation_steps_run ON automation_steps (run_id, seq);

-- Re-entry: how often each record entered each workflow, and how many of
-- its runs are still going.
CREATE TABLE automation_enrollments (
    workflow VARCHAR NOT NULL,
    record_key VARCHAR NOT NULL,
    entered BIGINT NOT NULL,
    open_runs BIGINT NOT NULL,
    PRIMARY KEY (workflow, record_key)
);

-- State triggers (a deal is stale, a score is above a threshold): who was in
-- the state at the last scan, so that only records entering it start runs.
CREATE TABLE automation_state (
    workflow VARCHAR NOT NULL,
    member_key VARCHAR NOT NULL,
    PRIMARY KEY (workflow, member_key)
);

-- Schedule triggers: the last time each fired for.
CREATE TABLE automation_schedules (
    workflow VARCHAR PRIMARY KEY,
    last_tick TIMESTAMP NOT NULL
);
