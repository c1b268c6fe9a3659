-- The triggers as 0001 created them: they fire for every writer.

DROP TRIGGER goals_no_overlap_insert ON goals;
DROP TRIGGER goals_no_overlap_update ON goals;
CREATE TRIGGER goals_no_overlap_insert AFTER INSERT ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT EXECUTE FUNCTION goals_reject_overlaps();
CREATE TRIGGER goals_no_overlap_update AFTER UPDATE ON goals
    REFERENCING NEW TABLE AS written_goals FOR EACH STATEMENT EXECUTE FUNCTION goals_reject_overlaps();
