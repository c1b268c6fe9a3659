-- depends: 0001_goals
-- The bulk loader checks a chunk for overlaps itself, set-based, while holding the triggers'
-- advisory lock from before its check until its commit; the triggers' own probe (one per written
-- row, about an eighth of a chunk's time) would only repeat that check. Such a writer says so with
-- `SET LOCAL personal_goals.overlaps_prechecked = on` (transaction-scoped) and the triggers do not
-- fire for its statements. Every other writer fires them exactly as before: it takes the lock (so
-- it waits for the loader's commit) and is checked against the loader's goals.

DROP TRIGGER goals_no_overlap_insert ON goals;
DROP TRIGGER goals_no_overlap_update ON goals;
CREATE TRIGGER goals_no_overlap_insert AFTER INSERT ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT
    WHEN (current_setting('personal_goals.overlaps_prechecked', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION goals_reject_overlaps();
CREATE TRIGGER goals_no_overlap_update AFTER UPDATE ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT
    WHEN (current_setting('personal_goals.overlaps_prechecked', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION goals_reject_overlaps();
