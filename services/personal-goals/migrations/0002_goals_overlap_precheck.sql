-- depends: 0001_goals
-- The bulk loader checks a chunk for overlaps itself, set-based and while holding the trigger's
-- advisory lock from before its check until its commit; the trigger's own probe (one per written
-- row, about an eighth of a chunk's time) would only repeat that check. Such a writer says so with
-- `SET LOCAL personal_goals.overlaps_prechecked = on` (transaction-scoped); the trigger still takes
-- the lock, so every other writer keeps waiting for the loader's commit and then checks against it.
-- Any writer that does not set it is checked exactly as before.

CREATE OR REPLACE FUNCTION goals_reject_overlaps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash record;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'goals are written at READ COMMITTED only (the overlap check must see concurrent commits)'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(TG_TABLE_SCHEMA || '.goals_no_overlap', 0));
    IF current_setting('personal_goals.overlaps_prechecked', true) = 'on' THEN
        RETURN NULL;
    END IF;
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
