-- An SLA's warning before its due time (sla.warn_before): when to tell the
-- channel the lead is about to breach, and when it was told.
ALTER TABLE lead_assignments ADD COLUMN sla_warn_at TIMESTAMP;
ALTER TABLE lead_assignments ADD COLUMN sla_warned_at TIMESTAMP;
