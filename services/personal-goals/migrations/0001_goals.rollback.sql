DROP TABLE goal_upload_skips;
DROP TABLE selection_upload_progresses;
DROP TABLE goal_uploads;
DROP TABLE goals;
DROP FUNCTION goals_reject_overlaps();
DROP TABLE selections;
