-- depends: 0001_segments
-- Identical pending report requests (same user, same period) are one report: the request answers the
-- pending one instead of queueing the same work again. Duplicates already pending (from before this
-- migration) keep the newest; the others end as failed with a stable reason.
UPDATE reports r SET status = 'failed', failure_reason = 'superseded', finished_at = now()
WHERE r.status = 'pending' AND EXISTS (
    SELECT 1 FROM reports newer
    WHERE newer.status = 'pending' AND newer.user_id = r.user_id AND newer.period_from = r.period_from
      AND newer.period_to = r.period_to AND (newer.created_at, newer.report_id) > (r.created_at, r.report_id)
);
CREATE UNIQUE INDEX reports_one_pending_idx ON reports (user_id, period_from, period_to)
WHERE status = 'pending';
