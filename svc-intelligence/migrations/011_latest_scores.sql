-- 011_latest_scores: each client's newest score beside the history, so that
-- the health summary reads one row per client however long the history
-- grows (issue 6 benchmark: 10,000 clients under 200 ms). Kept by a
-- statement trigger on client_health_scores, whoever inserts (a score on
-- request, a recompute, an event): the newest by (computed_at, id) wins, as
-- the history is read everywhere else.
CREATE TABLE intelligence.client_latest_scores (
    client_id     uuid PRIMARY KEY REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    score_id      bigint NOT NULL,
    overall_score smallint,
    health_status text NOT NULL,
    trend_d7      smallint,
    trend_d30     smallint,
    computed_at   timestamptz NOT NULL
);
CREATE INDEX client_latest_scores_status_idx
    ON intelligence.client_latest_scores (health_status, overall_score);

CREATE FUNCTION intelligence.client_latest_scores_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO intelligence.client_latest_scores AS l
        (client_id, score_id, overall_score, health_status, trend_d7, trend_d30, computed_at)
    SELECT DISTINCT ON (n.client_id) n.client_id, n.id, n.overall_score, n.health_status,
           n.trend_d7, n.trend_d30, n.computed_at
    FROM new_scores n
    ORDER BY n.client_id, n.computed_at DESC, n.id DESC
    ON CONFLICT (client_id) DO UPDATE
    SET score_id = excluded.score_id, overall_score = excluded.overall_score,
        health_status = excluded.health_status, trend_d7 = excluded.trend_d7,
        trend_d30 = excluded.trend_d30, computed_at = excluded.computed_at
    WHERE (excluded.computed_at, excluded.score_id) > (l.computed_at, l.score_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER client_health_scores_latest
    AFTER INSERT ON intelligence.client_health_scores
    REFERENCING NEW TABLE AS new_scores
    FOR EACH STATEMENT EXECUTE FUNCTION intelligence.client_latest_scores_keep();

INSERT INTO intelligence.client_latest_scores
    (client_id, score_id, overall_score, health_status, trend_d7, trend_d30, computed_at)
SELECT DISTINCT ON (client_id) client_id, id, overall_score, health_status, trend_d7, trend_d30,
       computed_at
FROM intelligence.client_health_scores
ORDER BY client_id, computed_at DESC, id DESC;
