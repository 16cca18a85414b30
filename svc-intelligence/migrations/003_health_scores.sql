-- 003_health_scores: every computed health score, kept so that trends are
-- real (issue 6). overall_score is NULL exactly when health_status is
-- 'unknown' (no factor had data); factors is the API's factors object.
CREATE TABLE intelligence.client_health_scores (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id     uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    overall_score smallint CHECK (overall_score BETWEEN 0 AND 100),
    health_status text NOT NULL
                  CHECK (health_status IN ('healthy', 'at_risk', 'critical', 'unknown')),
    factors       jsonb NOT NULL CHECK (jsonb_typeof(factors) = 'object'),
    trend_d7      smallint,
    trend_d30     smallint,
    computed_at   timestamptz NOT NULL,
    CONSTRAINT client_health_scores_unknown_check
        CHECK ((health_status = 'unknown') = (overall_score IS NULL))
);
CREATE INDEX client_health_scores_client_idx
    ON intelligence.client_health_scores (client_id, computed_at DESC, id DESC);
