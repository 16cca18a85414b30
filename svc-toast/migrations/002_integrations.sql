-- 002_integrations: Toast POS integrations with their credentials encrypted
-- at rest (Fernet tokens, never plaintext), and the history of health checks.
CREATE TABLE toast.integrations (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id              uuid NOT NULL,
    restaurant_id          text NOT NULL,
    toast_guid             uuid NOT NULL,
    name                   text NOT NULL,
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'paused', 'error', 'disabled')),
    api_client_id          text NOT NULL,
    api_client_secret_enc  text NOT NULL,
    username               text,
    password_enc           text,
    totp_secret_enc        text,
    last_health_status     text CHECK (last_health_status IN ('healthy', 'degraded', 'unhealthy')),
    last_health_at         timestamptz,
    last_menu_sync_at      timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    -- One integration per Toast restaurant: two would share one API login.
    CONSTRAINT integrations_toast_guid_key UNIQUE (toast_guid)
);
CREATE INDEX integrations_client_idx ON toast.integrations (client_id, created_at);
CREATE INDEX integrations_status_idx ON toast.integrations (status);

CREATE TABLE toast.health_checks (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    integration_id uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    status         text NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
    total_ms       integer NOT NULL,
    steps          jsonb NOT NULL,
    error          text,
    checked_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX health_checks_integration_idx ON toast.health_checks (integration_id, checked_at DESC);
