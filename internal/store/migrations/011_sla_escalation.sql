-- SLA escalation: when a breached lead was handed to the next rep.
ALTER TABLE lead_assignments ADD COLUMN sla_escalated_at TIMESTAMP;
ALTER TABLE lead_assignments ADD COLUMN sla_escalate_at TIMESTAMP;
