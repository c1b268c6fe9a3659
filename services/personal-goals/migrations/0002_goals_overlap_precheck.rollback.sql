-- The trigger function without the pre-checked bypass (as in 0001).

CREATE OR REPLACE FUNCTION goals_reject_overlaps() RETURNS trigger LANGUAGE plpgsql AS $$
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
