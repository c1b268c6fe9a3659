-- depends: messaging_0001_tables
-- Segments, users, active memberships, opt-outs, membership history and history reports.

-- The rollout bucket of a user for a segment salt, 0..9999. It lives only here (never recomputed in
-- Python), so every path (segment creation, percent change, user registration) agrees on it.
-- hashtextextended is PostgreSQL's own 64-bit hash of text: deterministic, fast, and spreads
-- "<salt>:<user_id>" uniformly, which is all a sticky rollout needs (like murmur3 in Unleash).
CREATE FUNCTION rollout_bucket(salt text, user_id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (((hashtextextended(salt || ':' || user_id::text, 0) % 10000) + 10000) % 10000)::integer
$$;

CREATE TABLE segments (
    id bigserial PRIMARY KEY,
    -- Unique across deleted segments too: a slug is never reused, so history stays unambiguous.
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[A-Z0-9_.-]{1,128}$'),
    -- Rollout size in buckets of 10,000 (percent * 100): 0 means no rollout.
    rollout_buckets integer NOT NULL DEFAULT 0 CHECK (rollout_buckets BETWEEN 0 AND 10000),
    -- Per-segment salt: two 10 % segments pick different users.
    salt text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE users (
    user_id bigint PRIMARY KEY CHECK (user_id > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Active memberships only: a membership that ends is deleted here and recorded in history, so the
-- primary key is the "one active membership per (user, segment)" constraint.
-- No foreign keys on purpose: every insert selects its users from `users` and its segment from
-- `segments` (rows that are never deleted), and a row-level FK check (a FOR KEY SHARE lock on the
-- same segment row per inserted membership) made a 100,000-member rollout three times slower.
CREATE TABLE memberships (
    user_id bigint NOT NULL,
    segment_id bigint NOT NULL,
    source text NOT NULL CHECK (source IN ('manual', 'rollout')),
    started_at timestamptz NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (user_id, segment_id)
);
CREATE INDEX memberships_segment_idx ON memberships (segment_id);
CREATE INDEX memberships_expires_at_idx ON memberships (expires_at) WHERE expires_at IS NOT NULL;

-- An explicit delete keeps the user out of the segment's rollout until an explicit add.
CREATE TABLE opt_outs (
    user_id bigint NOT NULL,
    segment_id bigint NOT NULL REFERENCES segments (id),  -- one row per explicit delete: FK is cheap
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, segment_id)
);

CREATE TABLE membership_history (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    segment_id bigint NOT NULL,
    slug text NOT NULL,
    operation text NOT NULL CHECK (operation IN ('add', 'delete')),
    reason text NOT NULL CHECK (reason IN ('manual', 'ttl', 'segment_deleted', 'rollout')),
    at timestamptz NOT NULL
);
CREATE INDEX membership_history_user_at_idx ON membership_history (user_id, at, id);

CREATE TABLE reports (
    report_id uuid PRIMARY KEY,
    user_id bigint NOT NULL,
    period_from date NOT NULL,
    period_to date NOT NULL CHECK (period_to > period_from),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    object_key text,
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
