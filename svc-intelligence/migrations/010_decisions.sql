-- 010_decisions: every scheduling decision of POST /decide (issue 6), kept
-- with the request that asked for it and the answer it got, so that a
-- decision can be read back and audited. response is the answer's JSON as
-- returned (decision, scheduled_for, confidence, reasoning, alternatives,
-- risk_factors, recommended_actions); scheduled_for, confidence and
-- decision are copied out of it for filtering. requested_by is the
-- gateway's X-User-Id (NULL when the caller had none).
CREATE TABLE intelligence.decisions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id     uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    context       text NOT NULL CHECK (length(context) BETWEEN 1 AND 200),
    job_type      text,
    decision      text NOT NULL CHECK (decision IN ('schedule', 'run_now', 'defer')),
    request       jsonb NOT NULL CHECK (jsonb_typeof(request) = 'object'),
    response      jsonb NOT NULL CHECK (jsonb_typeof(response) = 'object'),
    scheduled_for timestamptz NOT NULL,
    confidence    numeric(3, 2) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    decided_at    timestamptz NOT NULL DEFAULT now(),
    requested_by  text CHECK (length(requested_by) <= 200)
);
CREATE INDEX decisions_decided_idx ON intelligence.decisions (decided_at DESC, id DESC);
CREATE INDEX decisions_client_idx ON intelligence.decisions (client_id, decided_at DESC);
CREATE INDEX decisions_job_type_idx ON intelligence.decisions (job_type, decided_at DESC);
