-- Messaging tables of one service schema: transactional outbox, consumer inbox, periodic-job
-- schedules and parked (given-up) messages. Unqualified names: the runner sets search_path.
-- depends:

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    message_id uuid NOT NULL UNIQUE,
    message_type text NOT NULL,
    exchange text NOT NULL,
    routing_key text NOT NULL,
    body bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Tasks re-enqueued with the same key while one is still pending here collapse into one row.
    dedup_key text UNIQUE,
    available_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    publish_attempts integer NOT NULL DEFAULT 0,
    last_error text
);

CREATE INDEX outbox_available_at_idx ON outbox (available_at);

CREATE TABLE inbox (
    consumer text NOT NULL,
    message_id uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

CREATE TABLE schedules (
    name text PRIMARY KEY,
    next_run_at timestamptz NOT NULL,
    period interval NOT NULL,
    last_run_at timestamptz,
    last_owner text
);

CREATE TABLE parked_messages (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    message_id uuid,
    type text,
    task_id text,
    reason text NOT NULL,
    body bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    parked_at timestamptz NOT NULL DEFAULT now()
);

-- One notification per inserting statement wakes the relay; the channel is named after the
-- table's schema so relays of different services sharing one database do not wake each other.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
