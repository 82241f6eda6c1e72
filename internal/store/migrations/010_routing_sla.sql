-- Response-time SLAs: when the routed lead must first be answered, the
-- channel told of a breach, and when the breach was found.
ALTER TABLE lead_assignments ADD COLUMN sla_due_at TIMESTAMP;
ALTER TABLE lead_assignments ADD COLUMN sla_alert VARCHAR;
ALTER TABLE lead_assignments ADD COLUMN sla_breached_at TIMESTAMP;
