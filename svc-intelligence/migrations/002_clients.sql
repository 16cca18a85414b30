-- 002_clients: the clients whose health svc-intelligence scores, and the
-- signals it scores them from (issue 6): activity, support tickets, payments,
-- projects and quotes. Money is numeric(14, 2), never a float. Every signal
-- belongs to one client and goes with it (ON DELETE CASCADE).
CREATE TABLE intelligence.clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone        text NOT NULL DEFAULT 'UTC',   -- an IANA name, checked by the daemon
    plan            text NOT NULL DEFAULT 'standard' CHECK (plan ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    monthly_revenue numeric(14, 2) NOT NULL DEFAULT 0 CHECK (monthly_revenue >= 0),
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'onboarding', 'paused', 'churned')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clients_created_idx ON intelligence.clients (created_at, id);
CREATE INDEX clients_status_idx ON intelligence.clients (status);
CREATE INDEX clients_plan_idx ON intelligence.clients (plan);

-- Who did what, when.
CREATE TABLE intelligence.activity_log (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id   uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    actor       text NOT NULL,
    action      text NOT NULL,
    occurred_at timestamptz NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_log_client_idx ON intelligence.activity_log (client_id, occurred_at DESC);

CREATE TABLE intelligence.tickets (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    subject           text,
    priority          text NOT NULL DEFAULT 'normal'
                      CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    opened_at         timestamptz NOT NULL,
    first_response_at timestamptz CHECK (first_response_at >= opened_at),
    resolved_at       timestamptz CHECK (resolved_at >= opened_at),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_client_idx ON intelligence.tickets (client_id, opened_at DESC);

-- An invoice: open until paid (paid_at set exactly when status is paid), or void.
CREATE TABLE intelligence.payments (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    invoice    text NOT NULL,
    amount     numeric(14, 2) NOT NULL CHECK (amount > 0),
    due_at     timestamptz NOT NULL,
    paid_at    timestamptz,
    status     text NOT NULL CHECK (status IN ('open', 'paid', 'void')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payments_paid_check CHECK ((status = 'paid') = (paid_at IS NOT NULL)),
    CONSTRAINT payments_invoice_key UNIQUE (client_id, invoice)
);
CREATE INDEX payments_client_idx ON intelligence.payments (client_id, due_at DESC);

CREATE TABLE intelligence.projects (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    name       text,
    status     text NOT NULL DEFAULT 'active'
               CHECK (status IN ('proposed', 'active', 'completed', 'cancelled')),
    value      numeric(14, 2) NOT NULL DEFAULT 0 CHECK (value >= 0),
    started_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_client_idx ON intelligence.projects (client_id, started_at DESC);

CREATE TABLE intelligence.quotes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id  uuid NOT NULL REFERENCES intelligence.clients (id) ON DELETE CASCADE,
    title      text,
    status     text NOT NULL DEFAULT 'sent'
               CHECK (status IN ('draft', 'sent', 'accepted', 'declined', 'expired')),
    value      numeric(14, 2) NOT NULL CHECK (value >= 0),
    issued_at  timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quotes_client_idx ON intelligence.quotes (client_id, issued_at DESC);
