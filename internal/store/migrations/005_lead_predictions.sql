-- Predictive lead scoring trained on the organisation's own decided leads.
-- Every training run is kept with its options and its report (JSON: the
-- chosen model, holdout AUC, Brier score and reliability table, with and
-- without the excluded fields), so a figure shown once can be found again.
CREATE TABLE lead_prediction_runs (
    id BIGINT PRIMARY KEY,
    trained_at TIMESTAMP NOT NULL,
    trained_by BIGINT,
    options VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    auc DOUBLE PRECISION,
    auc_all_fields DOUBLE PRECISION,
    converted BIGINT NOT NULL,
    disqualified BIGINT NOT NULL,
    leads_scored BIGINT NOT NULL,
    report VARCHAR NOT NULL
);

-- Each lead's probability to convert under the latest run, with the largest
-- contributions to it (JSON). A new run replaces every row. decided: the
-- lead's outcome was known, so the run was trained on it.
CREATE TABLE lead_predictions (
    run_id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    decided BOOLEAN NOT NULL,
    factors VARCHAR NOT NULL
);
CREATE INDEX lead_predictions_lead ON lead_predictions (lead_id);
