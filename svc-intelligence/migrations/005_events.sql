-- 005_events: what svc-intelligence learns from the EVENTS stream (DESIGN
-- section 5) through its durable consumers. Each table has the natural key of
-- its event, so a message delivered twice (at-least-once delivery) changes
-- nothing the second time. No foreign key to clients: an event may name a
-- client before the portal has registered it, and is counted once it is.

-- The final outcome of each job (events.job.*): the event with the highest
-- seq wins, so a late or repeated event never undoes a newer one.
CREATE TABLE intelligence.job_outcomes (
    job_id        uuid PRIMARY KEY,
    client_id     uuid NOT NULL,
    job_type      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
    attempt       integer NOT NULL CHECK (attempt >= 0),
    error_message text,
    seq           bigint NOT NULL,
    finished_at   timestamptz NOT NULL
);
CREATE INDEX job_outcomes_client_idx ON intelligence.job_outcomes (client_id, finished_at DESC);

-- Integration health-check results (events.toast.health.*), keyed by the check.
CREATE TABLE intelligence.integration_checks (
    check_id       uuid PRIMARY KEY,
    integration_id uuid NOT NULL,
    client_id      uuid NOT NULL,
    status         text NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
    total_ms       integer,
    error          text,
    checked_at     timestamptz NOT NULL
);
CREATE INDEX integration_checks_client_idx
    ON intelligence.integration_checks (client_id, checked_at DESC);
CREATE INDEX integration_checks_integration_idx
    ON intelligence.integration_checks (integration_id, checked_at DESC);

-- Finished sync runs (events.sync.run.*), keyed by the run.
CREATE TABLE intelligence.sync_runs (
    run_id      text PRIMARY KEY CHECK (length(run_id) BETWEEN 1 AND 100),
    source_type text NOT NULL,
    client_id   uuid,
    status      text NOT NULL CHECK (status IN ('completed', 'failed', 'partial')),
    counts      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(counts) = 'object'),
    error       text,
    finished_at timestamptz NOT NULL
);
CREATE INDEX sync_runs_client_idx ON intelligence.sync_runs (client_id, finished_at DESC);

-- Provider usage per business, provider and period (events.embedding.usage.*):
-- the figures are running totals for the period, so the latest report wins.
CREATE TABLE intelligence.provider_usage (
    business_id text NOT NULL CHECK (length(business_id) BETWEEN 1 AND 100),
    provider    text NOT NULL CHECK (length(provider) BETWEEN 1 AND 100),
    period      text NOT NULL CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
    client_id   uuid,
    tokens      bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    requests    bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
    cost        numeric(14, 4) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    budget      numeric(14, 2) CHECK (budget >= 0),
    reported_at timestamptz NOT NULL,
    PRIMARY KEY (business_id, provider, period)
);
