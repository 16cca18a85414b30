-- 004_alerts: alerts raised by the rules of issue 6 (README "Alerts"). One
-- open alert (active or acknowledged) per type and subject: a repeat updates
-- it (occurrences, last_seen_at, message, severity) instead of adding a row;
-- it is resolved when its condition clears. subject names what the alert is
-- about: a client id, an integration id, a sync source, a business id.
CREATE TABLE intelligence.alerts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type            text NOT NULL CHECK (type IN ('score_drop', 'health_critical',
                                                  'job_failure_rate', 'integration_unhealthy',
                                                  'sync_failed', 'usage_over_budget')),
    severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    client_id       uuid REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    message         text NOT NULL CHECK (length(message) BETWEEN 1 AND 1000),
    details         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'acknowledged', 'resolved')),
    occurrences     integer NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    resolved_at     timestamptz,
    CONSTRAINT alerts_ack_check
        CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CONSTRAINT alerts_resolved_check CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX alerts_open_key ON intelligence.alerts (type, subject)
    WHERE status <> 'resolved';
CREATE INDEX alerts_status_idx ON intelligence.alerts (status, severity, created_at DESC);
CREATE INDEX alerts_client_idx ON intelligence.alerts (client_id, created_at DESC);
