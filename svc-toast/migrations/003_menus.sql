-- 003_menus: the mirror of each integration's Toast menus (rewritten by every
-- menu sync, in one transaction), Toast's lastUpdated of that copy, and the
-- golden copies: approved snapshots to compare the menu with. Everything goes
-- with its integration (ON DELETE CASCADE). Guids are Toast's, kept as text.
CREATE TABLE toast.menu_sync_state (
    integration_id     uuid PRIMARY KEY REFERENCES toast.integrations (id) ON DELETE CASCADE,
    toast_last_updated text NOT NULL,   -- metadata.lastUpdated as Toast sent it
    sha256             text NOT NULL,   -- of the canonical snapshot stored
    synced_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE toast.menus (
    integration_id uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    guid           text NOT NULL,
    name           text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, guid)
);

CREATE TABLE toast.menu_groups (
    integration_id uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    guid           text NOT NULL,
    menu_guid      text NOT NULL,
    parent_guid    text,            -- NULL for a menu's top-level group
    name           text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, guid)
);

CREATE TABLE toast.items (
    integration_id       uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    guid                 text NOT NULL,
    name                 text,
    price                numeric(18, 4),  -- NULL when the pricing strategy has no base price
    pricing_strategy     text,
    plu                  text,
    sku                  text,
    group_guids          jsonb NOT NULL,  -- sorted: an item may sit in several groups
    modifier_group_guids jsonb NOT NULL,  -- sorted
    visibility           jsonb NOT NULL,  -- sorted
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, guid)
);

CREATE TABLE toast.modifier_groups (
    integration_id uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    guid           text NOT NULL,
    name           text,
    min_selections integer,
    max_selections integer,
    options        jsonb NOT NULL,  -- [{guid, name, price}] in Toast's order
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, guid)
);

CREATE TABLE toast.golden_copies (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    integration_id uuid NOT NULL REFERENCES toast.integrations (id) ON DELETE CASCADE,
    sha256         text NOT NULL,
    snapshot       text NOT NULL,   -- the canonical JSON, byte for byte what sha256 hashes
    counts         jsonb NOT NULL,  -- {menus, groups, items, modifier_groups}
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX golden_copies_integration_idx ON toast.golden_copies (integration_id, created_at DESC);
