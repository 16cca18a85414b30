-- 007_recommendations: actions suggested for a client from its health score's
-- factors and its open alerts (issue 6, README "Recommendations"). At most
-- one open recommendation per client and type: a repeat is not inserted.
-- A decision (accepted or declined) is kept with its time, so the same type
-- is not suggested again too soon (the rules are in recs_rules.c).
-- suggested_action is {job_type, config} when accepting creates a job (its
-- id is then job_id), NULL otherwise.
CREATE TABLE intelligence.recommendations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id        uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    type             text NOT NULL CHECK (type IN ('check_integration', 'review_automation',
                                                   'escalate_account', 'schedule_check_in',
                                                   'follow_up_invoices', 'review_open_tickets',
                                                   'propose_menu_work')),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    impact           text NOT NULL CHECK (impact IN ('low', 'medium', 'high')),
    confidence       numeric(3, 2) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'accepted', 'declined')),
    suggested_action jsonb CHECK (jsonb_typeof(suggested_action) = 'object'),
    decline_reason   text CHECK (length(decline_reason) BETWEEN 1 AND 500),
    job_id           uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_by       text CHECK (length(decided_by) BETWEEN 1 AND 200),
    CONSTRAINT recommendations_decided_check CHECK ((status = 'open') = (decided_at IS NULL)),
    CONSTRAINT recommendations_declined_check
        CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CONSTRAINT recommendations_job_check CHECK (job_id IS NULL OR status = 'accepted')
);
CREATE UNIQUE INDEX recommendations_open_key ON intelligence.recommendations (client_id, type)
    WHERE status = 'open';
-- The latest decisions of a client per type (what suppresses a suggestion).
CREATE INDEX recommendations_client_idx
    ON intelligence.recommendations (client_id, type, decided_at DESC);
CREATE INDEX recommendations_created_idx ON intelligence.recommendations (created_at DESC, id DESC);
