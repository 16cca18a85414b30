-- 008_reports: client health reports rendered by report_generation jobs
-- (issue 6, README "Reports"), kept as JSON and as CSV. One report per job:
-- a job run twice (delivery is at least once) rewrites its own report.
CREATE TABLE intelligence.reports (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    job_id     uuid NOT NULL,
    days       integer NOT NULL CHECK (days BETWEEN 1 AND 365),
    created_at timestamptz NOT NULL,
    json       jsonb NOT NULL CHECK (jsonb_typeof(json) = 'object'),
    csv        text NOT NULL,
    CONSTRAINT reports_job_key UNIQUE (job_id)
);
CREATE INDEX reports_client_idx ON intelligence.reports (client_id, created_at DESC, id DESC);
