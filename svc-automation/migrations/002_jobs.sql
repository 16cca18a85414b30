-- 002_jobs: the job queue. PostgreSQL is its truth (DESIGN section 5): which job
-- is ready, who holds it and until when, and every attempt are decided here.
CREATE TABLE automation.jobs (
    id               uuid PRIMARY KEY,
    client_id        uuid NOT NULL,
    job_type         text NOT NULL CHECK (job_type IN ('menu_build', 'menu_sync', 'item_create',
                         'item_update', 'modifier_sync', 'health_check', 'golden_copy',
                         'classification', 'report_generation', 'backup')),
    status           text NOT NULL CHECK (status IN ('pending', 'queued', 'running', 'completed',
                         'failed', 'cancelled')),
    priority         smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    config           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    result           jsonb,
    error            jsonb,
    progress         smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_message text,
    attempt          integer NOT NULL DEFAULT 0,
    -- attempts that do not count against max_attempts: handed back by a stopping
    -- worker, or made before a retry asked for by hand
    attempts_uncounted integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    scheduled_at     timestamptz,
    run_after        timestamptz,
    -- when the job last became queued: the start of its wait for a worker
    queued_at        timestamptz,
    worker_id        text,
    lease_seconds    integer,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    idempotency_key  text UNIQUE,
    -- grows with every change, so live updates can be ordered per job
    seq              bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    duration_seconds double precision
);

-- The claim: ready jobs by priority, then age.
CREATE INDEX jobs_ready ON automation.jobs (priority, created_at) WHERE status = 'queued';
-- Lease expiry and promotion sweeps.
CREATE INDEX jobs_leases ON automation.jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_pending ON automation.jobs (scheduled_at) WHERE status = 'pending';
-- Retries whose back-off ends: workers are woken when it does.
CREATE INDEX jobs_backoff ON automation.jobs (run_after) WHERE status = 'queued' AND run_after IS NOT NULL;
-- Listing, newest first, overall and per client.
CREATE INDEX jobs_created ON automation.jobs (created_at DESC, id DESC);
CREATE INDEX jobs_client_created ON automation.jobs (client_id, created_at DESC);
CREATE INDEX jobs_completed ON automation.jobs (completed_at) WHERE completed_at IS NOT NULL;

CREATE TABLE automation.job_dependencies (
    job_id     uuid NOT NULL REFERENCES automation.jobs (id) ON DELETE CASCADE,
    depends_on uuid NOT NULL REFERENCES automation.jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on),
    CHECK (job_id <> depends_on)
);
CREATE INDEX job_dependencies_depends_on ON automation.job_dependencies (depends_on);

CREATE TABLE automation.job_attempts (
    job_id      uuid NOT NULL REFERENCES automation.jobs (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    worker_id   text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'completed', 'failed',
                    'lost', 'cancelled', 'released')),
    error       jsonb,
    PRIMARY KEY (job_id, attempt)
);
