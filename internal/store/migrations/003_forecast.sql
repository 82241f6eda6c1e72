-- Forecast calls: what each seller or manager submits for a period. Rows are
-- never updated: every submission is a new version, so the history of a call
-- (who said what, when, and why a manager overrode the roll-up) stays.
CREATE TABLE forecast_submissions (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    period VARCHAR NOT NULL,
    version BIGINT NOT NULL,
    commit_amount DECIMAL(18,2) NOT NULL,
    best_case DECIMAL(18,2) NOT NULL,
    pipeline DECIMAL(18,2) NOT NULL,
    rollup_commit DECIMAL(18,2),
    reason VARCHAR NOT NULL DEFAULT '',
    submitted_by BIGINT NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, period, version)
);

-- Daily snapshots: the open pipeline and every method's forecast, per owner
-- (owner_id NULL for organisation-wide methods such as the time series),
-- for the current and next periods. Accuracy is measured from these.
CREATE TABLE forecast_snapshots (
    taken_on DATE NOT NULL,
    period VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    owner_id BIGINT,
    forecast DOUBLE PRECISION NOT NULL,
    lo80 DOUBLE PRECISION,
    hi80 DOUBLE PRECISION,
    open_count BIGINT NOT NULL,
    open_amount DOUBLE PRECISION NOT NULL,
    won_amount DOUBLE PRECISION NOT NULL
);
CREATE INDEX forecast_snapshots_period ON forecast_snapshots (period, method, taken_on);
