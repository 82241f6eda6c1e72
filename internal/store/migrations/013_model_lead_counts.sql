-- How many leads a scoring model version scored when it was last applied or
-- rescored: which active model is the general one (the one that scores the
-- most leads) is read from here, not counted over lead_scores each time.
ALTER TABLE scoring_models ADD COLUMN scored_leads BIGINT DEFAULT 0;
UPDATE scoring_models SET scored_leads = (SELECT COUNT(*) FROM lead_scores s WHERE s.model_id = scoring_models.id);
