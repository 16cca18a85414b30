-- 002_auth: who may call Brain. Users with passwords, their refresh tokens,
-- API keys for machines, and the failed logins the login limit counts.
-- Secrets are never stored: passwords as PBKDF2 strings (common/secret.h),
-- refresh tokens and API keys as SHA-256 hex of the random value.

CREATE TABLE gateway.users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role          text NOT NULL CHECK (role IN ('admin', 'manager', 'staff', 'viewer')),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX users_email_key ON gateway.users (lower(email));

-- A family is one login: every token rotated from it shares its family, so
-- the reuse of a spent token (a stolen copy) revokes the whole family.
CREATE TABLE gateway.refresh_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash text NOT NULL UNIQUE,
    user_id    uuid NOT NULL REFERENCES gateway.users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON gateway.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON gateway.refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON gateway.refresh_tokens (expires_at);

CREATE TABLE gateway.api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('admin', 'manager', 'staff', 'viewer')),
    created_by   uuid REFERENCES gateway.users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Failed logins of the last window, per normalised email and per client IP;
-- shared by every gateway replica. Older rows are deleted as new ones come.
CREATE TABLE gateway.login_failures (
    id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    ip    text NOT NULL,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON gateway.login_failures (email, at);
CREATE INDEX login_failures_ip ON gateway.login_failures (ip, at);
CREATE INDEX login_failures_at ON gateway.login_failures (at);
