-- depends: 0002_goals_overlap_precheck
-- A stuck upload can be cancelled (its selections too) and its table applied again. Each apply of a
-- table is one generation of its upload: the upload task carries the generation it was enqueued
-- for, so a delivery left over from a cancelled generation does nothing.

ALTER TABLE goal_uploads ADD COLUMN generation integer NOT NULL DEFAULT 1;
ALTER TABLE goal_uploads DROP CONSTRAINT goal_uploads_status_check;
ALTER TABLE goal_uploads ADD CONSTRAINT goal_uploads_status_check
    CHECK (status IN ('pending', 'in_progress', 'complete', 'failed', 'cancelled'));
ALTER TABLE selection_upload_progresses DROP CONSTRAINT selection_upload_progresses_status_check;
ALTER TABLE selection_upload_progresses ADD CONSTRAINT selection_upload_progresses_status_check
    CHECK (status IN ('pending', 'in_progress', 'complete', 'failed', 'cancelled'));
