-- Lead routing. Rule sets are versioned like scoring models; each pool's
-- turn order is kept so round robin survives restarts; every assignment is
-- logged with its reason and the reps considered.
CREATE TABLE routing_rulesets (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL,
    applied_by BIGINT,
    applied_at TIMESTAMP NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE routing_pool_state (
    pool VARCHAR PRIMARY KEY,
    state VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE lead_assignments (
    id BIGINT PRIMARY KEY,
    lead_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    previous_owner_id BIGINT,
    ruleset_id BIGINT,
    rule VARCHAR NOT NULL DEFAULT '',
    pool VARCHAR NOT NULL DEFAULT '',
    method VARCHAR NOT NULL DEFAULT '',
    account_id BIGINT,
    queued BOOLEAN NOT NULL,
    reason VARCHAR NOT NULL,
    considered VARCHAR NOT NULL DEFAULT '[]',
    assigned_at TIMESTAMP NOT NULL,
    assigned_by BIGINT
);
CREATE INDEX lead_assignments_lead ON lead_assignments (lead_id);
CREATE INDEX lead_assignments_owner ON lead_assignments (owner_id, assigned_at);
