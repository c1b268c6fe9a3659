UPDATE selection_upload_progresses SET status = 'failed' WHERE status = 'cancelled';
UPDATE goal_uploads SET status = 'failed' WHERE status = 'cancelled';
ALTER TABLE selection_upload_progresses DROP CONSTRAINT selection_upload_progresses_status_check;
ALTER TABLE selection_upload_progresses ADD CONSTRAINT selection_upload_progresses_status_check
    CHECK (status IN ('pending', 'in_progress', 'complete', 'failed'));
ALTER TABLE goal_uploads DROP CONSTRAINT goal_uploads_status_check;
ALTER TABLE goal_uploads ADD CONSTRAINT goal_uploads_status_check
    CHECK (status IN ('pending', 'in_progress', 'complete', 'failed'));
ALTER TABLE goal_uploads DROP COLUMN generation;
