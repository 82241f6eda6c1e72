-- The SLA checks ask, for each assignment due, whether its lead has an
-- outbound activity since (routing/sla.go). PostgreSQL estimates few due
-- assignments and answers with a nested loop: without this index, a scan
-- of every activity per assignment (over 6 minutes at 10M activities and
-- 13,600 assignments). DuckDB hash-joins the same query and needs no index.
CREATE INDEX activities_lead ON activities (lead_id);
