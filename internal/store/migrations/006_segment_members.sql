-- Which leads are in which ICP segment, kept with the scores: written when
-- every lead is scored, when one lead is rescored, and when a segment is saved.
CREATE TABLE lead_segment_members (
    segment_id BIGINT NOT NULL,
    lead_id BIGINT NOT NULL
);
CREATE INDEX lead_segment_members_lead ON lead_segment_members (lead_id);
