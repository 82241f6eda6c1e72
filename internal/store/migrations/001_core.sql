-- The core sales data model. Written once in the SQL both engines share.
-- References are checked by the store in the same transaction as the write
-- (with field-level messages), not by FOREIGN KEY clauses: DuckDB's foreign
-- keys forbid updating a referenced row, which a CRM does all day.

CREATE TABLE id_counter (name VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO id_counter VALUES ('id', 0);

CREATE TABLE settings (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
INSERT INTO settings VALUES ('fiscal_year_start_month', '1'), ('corporate_currency', 'USD');

CREATE TABLE teams (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    parent_id BIGINT,
    region VARCHAR NOT NULL DEFAULT '',
    manager_id BIGINT
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    email VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    manager_id BIGINT,
    team_id BIGINT,
    hire_date DATE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    password_hash VARCHAR NOT NULL DEFAULT ''
);

CREATE TABLE api_tokens (
    token_hash VARCHAR PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    token_hash VARCHAR PRIMARY KEY,
    user_id BIGINT NOT NULL,
    csrf_token VARCHAR NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE currencies (code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL);
INSERT INTO currencies VALUES
    ('USD', 'US dollar'), ('EUR', 'Euro'), ('GBP', 'Pound sterling'), ('CAD', 'Canadian dollar'),
    ('AUD', 'Australian dollar'), ('JPY', 'Japanese yen'), ('CHF', 'Swiss franc'), ('SEK', 'Swedish krona'),
    ('NOK', 'Norwegian krone'), ('DKK', 'Danish krone'), ('INR', 'Indian rupee'), ('BRL', 'Brazilian real'),
    ('MXN', 'Mexican peso'), ('SGD', 'Singapore dollar'), ('CNY', 'Chinese yuan'), ('NZD', 'New Zealand dollar');

CREATE TABLE exchange_rates (
    currency VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    rate DECIMAL(18,8) NOT NULL,
    PRIMARY KEY (currency, valid_from)
);

CREATE TABLE stages (
    name VARCHAR PRIMARY KEY,
    stage_order BIGINT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    kind VARCHAR NOT NULL,
    forecast_category VARCHAR NOT NULL
);
INSERT INTO stages VALUES
    ('Prospecting', 1, 0.10, 'open', 'pipeline'),
    ('Qualification', 2, 0.20, 'open', 'pipeline'),
    ('Proposal', 3, 0.50, 'open', 'best_case'),
    ('Negotiation', 4, 0.75, 'open', 'commit'),
    ('Closed Won', 5, 1.00, 'won', 'closed'),
    ('Closed Lost', 6, 0.00, 'lost', 'omitted');

CREATE TABLE accounts (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    name VARCHAR NOT NULL,
    domain VARCHAR NOT NULL DEFAULT '',
    industry VARCHAR NOT NULL DEFAULT '',
    employees BIGINT,
    annual_revenue DECIMAL(18,2),
    country VARCHAR NOT NULL DEFAULT '',
    state VARCHAR NOT NULL DEFAULT '',
    city VARCHAR NOT NULL DEFAULT '',
    postal_code VARCHAR NOT NULL DEFAULT '',
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    owner_id BIGINT,
    parent_id BIGINT,
    segment VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE contacts (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    account_id BIGINT,
    first_name VARCHAR NOT NULL DEFAULT '',
    last_name VARCHAR NOT NULL DEFAULT '',
    email VARCHAR NOT NULL DEFAULT '',
    phone VARCHAR NOT NULL DEFAULT '',
    title VARCHAR NOT NULL DEFAULT '',
    owner_id BIGINT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE leads (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    first_name VARCHAR NOT NULL DEFAULT '',
    last_name VARCHAR NOT NULL DEFAULT '',
    email VARCHAR NOT NULL DEFAULT '',
    company VARCHAR NOT NULL DEFAULT '',
    title VARCHAR NOT NULL DEFAULT '',
    industry VARCHAR NOT NULL DEFAULT '',
    employees BIGINT,
    annual_revenue DECIMAL(18,2),
    country VARCHAR NOT NULL DEFAULT '',
    state VARCHAR NOT NULL DEFAULT '',
    city VARCHAR NOT NULL DEFAULT '',
    source VARCHAR NOT NULL DEFAULT '',
    channel VARCHAR NOT NULL DEFAULT '',
    status VARCHAR NOT NULL,
    owner_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP,
    converted_at TIMESTAMP,
    converted_opportunity_id BIGINT,
    custom_fields VARCHAR NOT NULL DEFAULT '{}'
);

CREATE TABLE lead_events (
    id BIGINT PRIMARY KEY,
    lead_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    detail VARCHAR NOT NULL DEFAULT ''
);

CREATE TABLE products (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    name VARCHAR NOT NULL,
    family VARCHAR NOT NULL DEFAULT '',
    list_price DECIMAL(18,2) NOT NULL,
    currency VARCHAR NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE opportunities (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    name VARCHAR NOT NULL,
    account_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    currency VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    probability DOUBLE PRECISION,
    forecast_category VARCHAR NOT NULL,
    deal_type VARCHAR NOT NULL,
    source VARCHAR NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    expected_close DATE,
    closed_at DATE,
    is_closed BOOLEAN NOT NULL,
    is_won BOOLEAN NOT NULL,
    loss_reason VARCHAR NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE opportunity_history (
    id BIGINT PRIMARY KEY,
    opportunity_id BIGINT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    stage VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    expected_close DATE,
    forecast_category VARCHAR NOT NULL,
    probability DOUBLE PRECISION,
    changed_by BIGINT
);

CREATE TABLE line_items (
    id BIGINT PRIMARY KEY,
    opportunity_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    quantity DECIMAL(18,2) NOT NULL,
    unit_price DECIMAL(18,2) NOT NULL,
    total_price DECIMAL(18,2) NOT NULL
);

CREATE TABLE activities (
    id BIGINT PRIMARY KEY,
    external_id VARCHAR UNIQUE,
    kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL DEFAULT '',
    owner_id BIGINT NOT NULL,
    account_id BIGINT,
    contact_id BIGINT,
    lead_id BIGINT,
    opportunity_id BIGINT,
    occurred_at TIMESTAMP NOT NULL,
    duration_minutes BIGINT NOT NULL DEFAULT 0,
    direction VARCHAR NOT NULL DEFAULT '',
    outcome VARCHAR NOT NULL DEFAULT '',
    captured BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE quotas (
    id BIGINT PRIMARY KEY,
    user_id BIGINT,
    team_id BIGINT,
    period VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    currency VARCHAR NOT NULL
);

CREATE TABLE costs (
    id BIGINT PRIMARY KEY,
    period VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    amount DECIMAL(18,2) NOT NULL,
    currency VARCHAR NOT NULL,
    note VARCHAR NOT NULL DEFAULT ''
);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at_time TIMESTAMP NOT NULL,
    actor_id BIGINT,
    action VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    entity_id BIGINT NOT NULL,
    before_json VARCHAR NOT NULL DEFAULT '',
    after_json VARCHAR NOT NULL DEFAULT ''
);
