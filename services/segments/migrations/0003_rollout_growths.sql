-- depends: 0002_one_pending_report
-- A rollout that grows is materialised in bounded batches of users, each its own short transaction,
-- so no lock is held through the whole INSERT ... SELECT (user updates and reads never queue behind
-- it). The growth still to do is kept here: whoever drives it (the request that changed the percent,
-- or the worker after a crash) continues from `next_user_id`.
CREATE TABLE rollout_growths (
    segment_id bigint PRIMARY KEY REFERENCES segments (id),
    from_buckets integer NOT NULL CHECK (from_buckets BETWEEN 0 AND 10000),
    to_buckets integer NOT NULL CHECK (to_buckets BETWEEN 0 AND 10000 AND to_buckets > from_buckets),
    next_user_id bigint NOT NULL DEFAULT 0,  -- users with a larger id are still to be looked at
    started_at timestamptz NOT NULL DEFAULT now()
);
