-- depends: messaging_0001_tables
-- Places and their tables (synced from the restaurant service), PDF templates with their visibility,
-- generations (versions) with their table -> object map.

-- The restaurant service owns places; we keep the name, the brand and the tables it sends us.
CREATE TABLE places (
    place_id uuid PRIMARY KEY,
    name text NOT NULL,
    brand_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX places_brand_idx ON places (brand_id);

-- A table that leaves the place keeps its row with removed_at set (history; generations name it).
CREATE TABLE place_tables (
    place_id uuid NOT NULL REFERENCES places (place_id),
    table_id uuid NOT NULL,
    label text NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz,
    PRIMARY KEY (place_id, table_id)
);
CREATE INDEX place_tables_current_idx ON place_tables (place_id) WHERE removed_at IS NULL;

CREATE TABLE templates (
    template_id bigserial PRIMARY KEY,
    name text NOT NULL,
    description text,
    template_link text NOT NULL,                -- S3 key of the PDF in the templates bucket
    -- [[width, height], ...] in points, read from the PDF at upload: settings are checked against
    -- it without fetching the file again.
    page_sizes jsonb NOT NULL,
    settings jsonb NOT NULL,                    -- recommended settings
    visibility text NOT NULL CHECK (visibility IN ('global', 'restaurant', 'brand')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE template_places (
    template_id bigint NOT NULL REFERENCES templates (template_id),
    place_id uuid NOT NULL,
    PRIMARY KEY (template_id, place_id)
);
CREATE INDEX template_places_place_idx ON template_places (place_id);

CREATE TABLE template_brands (
    template_id bigint NOT NULL REFERENCES templates (template_id),
    brand_id uuid NOT NULL,
    PRIMARY KEY (template_id, brand_id)
);
CREATE INDEX template_brands_brand_idx ON template_brands (brand_id);

-- The last version handed out per (place, template): one row lock serialises version numbers, and
-- it rolls back with a generation that is not written, so versions have no gaps.
CREATE TABLE generation_versions (
    place_id uuid NOT NULL,
    template_id bigint NOT NULL,
    last_version bigint NOT NULL,
    PRIMARY KEY (place_id, template_id)
);

CREATE TABLE generations (
    generation_id bigserial PRIMARY KEY,
    place_id uuid NOT NULL REFERENCES places (place_id),
    template_id bigint NOT NULL REFERENCES templates (template_id),
    version bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('created', 'scheduled', 'in-progress', 'done', 'error', 'deleted')),
    author text NOT NULL,
    comment text,
    settings jsonb NOT NULL,                    -- the settings used (template's merged with overrides)
    idempotency_key text NOT NULL,
    body_hash text NOT NULL,                    -- sha256 of the canonical request body
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (place_id, template_id, version),
    UNIQUE (place_id, idempotency_key)
);
CREATE INDEX generations_history_idx ON generations (place_id, generation_id DESC);
CREATE INDEX generations_created_idx ON generations (generation_id) WHERE status = 'created';
CREATE INDEX generations_active_idx ON generations (status) WHERE status IN ('scheduled', 'in-progress');

-- Each failed attempt at rendering a slice, with a message safe for clients (never exception text).
-- Written on its own connection while the failed attempt's transaction still holds the generation's
-- row lock: hence no foreign key (its check would wait for that very lock).
CREATE TABLE generation_failures (
    generation_id bigint NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now(),
    message text NOT NULL
);
CREATE INDEX generation_failures_generation_idx ON generation_failures (generation_id, failed_at);

-- The generation's tables (a snapshot with their labels) and, once rendered, each one's S3 key.
CREATE TABLE generation_tables (
    generation_id bigint NOT NULL REFERENCES generations (generation_id),
    table_id uuid NOT NULL,
    label text NOT NULL,
    object_key text,
    PRIMARY KEY (generation_id, table_id)
);
