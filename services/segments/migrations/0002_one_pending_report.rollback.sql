DROP INDEX reports_one_pending_idx;
