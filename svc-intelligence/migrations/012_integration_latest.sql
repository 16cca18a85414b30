-- 012_integration_latest: each integration's newest health check beside the
-- history, so that system health counts integrations by their last status
-- reading one row per integration (a DISTINCT ON over 300,000 checks took
-- 200 ms). Kept by a statement trigger on integration_checks, whoever
-- inserts: the newest by checked_at wins, and of two checks at the same
-- moment the smaller check_id, as the history is read everywhere else
-- (ORDER BY checked_at DESC, check_id).
CREATE TABLE intelligence.integration_latest (
    integration_id uuid PRIMARY KEY,
    client_id      uuid NOT NULL,
    check_id       uuid NOT NULL,
    status         text NOT NULL,
    checked_at     timestamptz NOT NULL
);

CREATE FUNCTION intelligence.integration_latest_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO intelligence.integration_latest AS l
        (integration_id, client_id, check_id, status, checked_at)
    SELECT DISTINCT ON (n.integration_id) n.integration_id, n.client_id, n.check_id, n.status,
           n.checked_at
    FROM new_checks n
    ORDER BY n.integration_id, n.checked_at DESC, n.check_id
    ON CONFLICT (integration_id) DO UPDATE
    SET client_id = excluded.client_id, check_id = excluded.check_id,
        status = excluded.status, checked_at = excluded.checked_at
    WHERE excluded.checked_at > l.checked_at
       OR (excluded.checked_at = l.checked_at AND excluded.check_id < l.check_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER integration_checks_latest
    AFTER INSERT ON intelligence.integration_checks
    REFERENCING NEW TABLE AS new_checks
    FOR EACH STATEMENT EXECUTE FUNCTION intelligence.integration_latest_keep();

INSERT INTO intelligence.integration_latest (integration_id, client_id, check_id, status, checked_at)
SELECT DISTINCT ON (integration_id) integration_id, client_id, check_id, status, checked_at
FROM intelligence.integration_checks
ORDER BY integration_id, checked_at DESC, check_id;
