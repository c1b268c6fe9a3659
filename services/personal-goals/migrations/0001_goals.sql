-- depends: messaging_0001_tables
-- Personal goals: selections (campaigns), goals, and the resumable upload progress of datasets.

CREATE TABLE selections (
    selection_id text PRIMARY KEY,
    -- New selections are hidden: an admin activates them once the upload is checked.
    status text NOT NULL DEFAULT 'hidden' CHECK (status IN ('active', 'hidden')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE goals (
    goal_id text PRIMARY KEY,
    -- No foreign key: its per-row check would cost a fifth of the bulk insert; uploads only insert
    -- goals of selections they created (rows of any other selection are skipped).
    selection_id text NOT NULL,
    yandex_uid text NOT NULL,
    application text NOT NULL,
    conditions jsonb NOT NULL,
    bonus jsonb NOT NULL,
    starts_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT goals_period_valid CHECK (expires_at > starts_at)
);

-- Serves the overlap checks (a user has a handful of goals per application) and the user read.
-- expires_at is part of the key so both period conditions are checked on the index entry: only a
-- real overlap visits the heap (during a bulk load the heap is far larger than the buffer cache).
CREATE INDEX goals_owner_period_idx ON goals (yandex_uid, application, starts_at, expires_at);

-- The overlap rule, enforced by the database for every writer: a user has no two goals of the same
-- application whose [starts_at, expires_at) periods overlap (touching periods do not overlap).
--
-- Why a trigger and not `EXCLUDE USING gist (yandex_uid WITH =, application WITH =,
-- tstzrange(starts_at, expires_at, '[)') WITH &&)`: measured on this stack, every insert into that
-- btree_gist index costs 120-145 us (text keys in GiST), capping any loader at ~7,000 goals/s, far
-- from the 50,000 goals/s the upload must reach; a btree insert costs ~5 us.
--
-- How it stays correct under concurrency: after each INSERT/UPDATE statement the trigger takes one
-- transaction-level advisory lock per schema, so goal writers check and commit one at a time, then
-- checks the statement's rows against all goals with a fresh snapshot (READ COMMITTED takes one per
-- statement inside the function). A concurrent writer's goals are therefore either committed and
-- seen, or not yet checked: it will wait for our commit and see ours. Snapshots frozen for the whole
-- transaction (REPEATABLE READ, SERIALIZABLE) would defeat this, so such writers are refused.
CREATE FUNCTION goals_reject_overlaps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash record;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'goals are written at READ COMMITTED only (the overlap check must see concurrent commits)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(TG_TABLE_SCHEMA || '.goals_no_overlap', 0));
    -- LATERAL + LIMIT 1: one index probe per written row, whatever the planner thinks of the
    -- (statistics-less) transition table.
    SELECT written.goal_id AS goal_id, other.goal_id AS other_goal_id INTO clash
    FROM written_goals written
    CROSS JOIN LATERAL (
        SELECT g.goal_id FROM goals g
        WHERE g.yandex_uid = written.yandex_uid AND g.application = written.application
          AND g.starts_at < written.expires_at AND written.starts_at < g.expires_at
          AND g.goal_id <> written.goal_id
        LIMIT 1
    ) other
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'goal % overlaps goal % of the same user and application', clash.goal_id, clash.other_goal_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'goals_no_overlap';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER goals_no_overlap_insert AFTER INSERT ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT EXECUTE FUNCTION goals_reject_overlaps();
CREATE TRIGGER goals_no_overlap_update AFTER UPDATE ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT EXECUTE FUNCTION goals_reject_overlaps();

-- One upload per dataset address; `last_row_index` is the number of rows processed so far, i.e.
-- the row the next chunk starts at.
CREATE TABLE goal_uploads (
    table_address text PRIMARY KEY,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'complete', 'failed')),
    total_rows bigint NOT NULL CHECK (total_rows >= 0),
    last_row_index bigint NOT NULL DEFAULT 0 CHECK (last_row_index >= 0),
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The seed's progress table, one row per selection of an upload. A selection is uploaded once:
-- the unique selection_id is what makes a second upload of it a conflict.
CREATE TABLE selection_upload_progresses (
    selection_id text PRIMARY KEY REFERENCES selections,
    table_address text NOT NULL REFERENCES goal_uploads,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'complete', 'failed')),
    last_row_index bigint NOT NULL DEFAULT 0,
    total_rows bigint NOT NULL,
    loaded bigint NOT NULL DEFAULT 0,
    skipped bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX selection_upload_progresses_table_idx ON selection_upload_progresses (table_address);

-- Rows an upload did not load, with why; written in the chunk's transaction.
CREATE TABLE goal_upload_skips (
    table_address text NOT NULL REFERENCES goal_uploads,
    row_index bigint NOT NULL,
    goal_id text,
    selection_id text,
    reason text NOT NULL,
    PRIMARY KEY (table_address, row_index)
);

-- Duplicate goal ids are detected against earlier chunks' skipped rows too.
CREATE INDEX goal_upload_skips_goal_idx ON goal_upload_skips (table_address, goal_id);
