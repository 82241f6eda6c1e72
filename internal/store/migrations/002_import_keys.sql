-- Source-system ids of users, written by imports. Users have no external_id
-- column (they are matched by email), but CRM exports name owners by id
-- (Salesforce OwnerId = User.Id): keeping the ids lets a later import of
-- deals alone still find their owners. One row per (source, id).
CREATE TABLE user_external_ids (
    source VARCHAR NOT NULL,
    external_id VARCHAR NOT NULL,
    user_id BIGINT NOT NULL,
    PRIMARY KEY (source, external_id)
);
